/*
 * The module: DllGetClassObject, the class factory, LockServer and
 * DllCanUnloadNow, and COM identity of the objects it makes.
 */
#include "test_util.h"

static IClassFactory *get_factory(void)
{
    IClassFactory *factory = SENTINEL;

    assert_hr(dll_get_class_object(&CLSID_HostTaskControl, &IID_IClassFactory, (void **)&factory), S_OK);
    assert_non_null(factory);
    return factory;
}

static void test_class_object(void **state)
{
    IClassFactory *factory;
    void *out = SENTINEL;

    assert_hr(dll_get_class_object(&CLSID_CLRRuntimeHost, &IID_IClassFactory, &out), CLASS_E_CLASSNOTAVAILABLE);
    assert_null(out);
    out = SENTINEL;
    assert_hr(dll_get_class_object(&CLSID_HostTaskControl, &IID_IHostControl, &out), E_NOINTERFACE);
    assert_null(out);
    assert_hr(dll_get_class_object(&CLSID_HostTaskControl, &IID_IClassFactory, NULL), E_POINTER);

    factory = get_factory();
    check_interface(factory, &IID_IUnknown, TRUE);
    check_interface(factory, &IID_IClassFactory, TRUE);
    check_interface(factory, &IID_IHostControl, FALSE);
    IClassFactory_Release(factory);
    /* The static factory does not pin the module; LockServer does. */
    assert_hr(dll_can_unload_now(), S_OK);
}

static void test_no_aggregation(void **state)
{
    IClassFactory *factory = get_factory();
    IUnknown *outer = (IUnknown *)factory, *out = SENTINEL;

    assert_hr(IClassFactory_CreateInstance(factory, outer, &IID_IUnknown, (void **)&out), CLASS_E_NOAGGREGATION);
    assert_null(out);
    out = SENTINEL;
    assert_hr(IClassFactory_CreateInstance(factory, NULL, &IID_IClassFactory, (void **)&out), E_NOINTERFACE);
    assert_null(out);
    assert_hr(IClassFactory_CreateInstance(factory, NULL, &IID_IHostControl, NULL), E_POINTER);
    IClassFactory_Release(factory);
    /* The refused instance was freed again. */
    assert_hr(dll_can_unload_now(), S_OK);
}

static void test_lock_server(void **state)
{
    IClassFactory *factory = get_factory();

    assert_hr(IClassFactory_LockServer(factory, TRUE), S_OK);
    assert_hr(IClassFactory_LockServer(factory, TRUE), S_OK);
    assert_hr(dll_can_unload_now(), S_FALSE);
    assert_hr(IClassFactory_LockServer(factory, FALSE), S_OK);
    assert_hr(dll_can_unload_now(), S_FALSE);
    assert_hr(IClassFactory_LockServer(factory, FALSE), S_OK);
    assert_hr(dll_can_unload_now(), S_OK);
    IClassFactory_Release(factory);
}

static void test_objects_pin_module(void **state)
{
    IClassFactory *factory = get_factory();
    IHostControl *control, *control2;
    IHostTaskManager *manager, *manager2;
    IUnknown *unk, *unk2;

    assert_hr(IClassFactory_CreateInstance(factory, NULL, &IID_IHostControl, (void **)&control), S_OK);
    IClassFactory_Release(factory);
    expect_ref(control, 1);
    assert_hr(dll_can_unload_now(), S_FALSE);

    /* COM identity: IUnknown is the same pointer from every interface. */
    assert_hr(IHostControl_QueryInterface(control, &IID_IUnknown, (void **)&unk), S_OK);
    assert_hr(IUnknown_QueryInterface(unk, &IID_IUnknown, (void **)&unk2), S_OK);
    assert_ptr_equal(unk, unk2);
    expect_ref(control, 3);
    IUnknown_Release(unk2);
    IUnknown_Release(unk);

    /* One task manager per process, shared by every host control. */
    assert_hr(ht_create_host_control(&control2), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(IHostControl_GetHostManager(control2, &IID_IHostTaskManager, (void **)&manager2), S_OK);
    assert_ptr_equal(manager, manager2);
    IHostTaskManager_Release(manager2);
    IHostTaskManager_Release(manager);
    assert_int_equal(IHostControl_Release(control2), 0);

    assert_int_equal(IHostControl_Release(control), 0);
    assert_hr(dll_can_unload_now(), S_OK);
}

static void test_manager_outlives_control(void **state)
{
    IHostControl *control;
    IHostTaskManager *manager;

    /* The CLR keeps the task manager and releases the control in Stop. */
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_hr(dll_can_unload_now(), S_FALSE);
    expect_ref(manager, 1);
    assert_hr(IHostTaskManager_SwitchToTask(manager, 0), S_OK);
    assert_int_equal(IHostTaskManager_Release(manager), 0);
    assert_hr(dll_can_unload_now(), S_OK);
}

static DWORD WINAPI refcount_worker(void *arg)
{
    IHostControl *control = arg;
    int i;

    for (i = 0; i < 100000; i++)
    {
        IHostControl_AddRef(control);
        IHostControl_Release(control);
    }
    return 0;
}

static void test_refcount_is_atomic(void **state)
{
    IHostControl *control;
    HANDLE threads[8];
    int i;

    /* docs/contract.md pitfall 21: a non-atomic ++count loses updates under contention. */
    assert_hr(ht_create_host_control(&control), S_OK);
    for (i = 0; i < 8; i++)
        threads[i] = CreateThread(NULL, 0, refcount_worker, control, 0, NULL);
    assert_int_equal(WaitForMultipleObjects(8, threads, TRUE, 30000), WAIT_OBJECT_0);
    for (i = 0; i < 8; i++)
        CloseHandle(threads[i]);
    expect_ref(control, 1);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_hr(dll_can_unload_now(), S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_class_object),
        cmocka_unit_test(test_no_aggregation),
        cmocka_unit_test(test_lock_server),
        cmocka_unit_test(test_objects_pin_module),
        cmocka_unit_test(test_manager_outlives_control),
        cmocka_unit_test(test_refcount_is_atomic),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
