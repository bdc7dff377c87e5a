/*
 * IHostControl: GetHostManager for every manager the CLR asks for,
 * SetAppDomainManager, and the task manager's QueryInterface and
 * SetCLRTaskManager reference discipline.
 */
#include "clr_fakes.h"
#include "clr_iids.h"

/* docs/contract.md pitfalls 01 and 02: a refused IID must clear *ppObject and return
 * E_NOINTERFACE; only IHostTaskManager gives S_OK. */
static void test_get_host_manager_refusals(void **state)
{
    struct fixture *fixture = *state;
    void *out;
    int i;

    for (i = 0; i < 9; i++)
    {
        if (!ht_clr_manager_iids[i])
            continue;
        out = SENTINEL;
        assert_hr(IHostControl_GetHostManager(fixture->control, ht_clr_manager_iids[i], &out), E_NOINTERFACE);
        assert_null(out);
    }
    out = SENTINEL;
    assert_hr(IHostControl_GetHostManager(fixture->control, &IID_IUnknown, &out), E_NOINTERFACE);
    assert_null(out);
    out = SENTINEL;
    assert_hr(IHostControl_GetHostManager(fixture->control, &IID_IHostTask, &out), E_NOINTERFACE);
    assert_null(out);
    /* E_INVALIDARG, as documented for this method, for a NULL out-pointer. */
    assert_hr(IHostControl_GetHostManager(fixture->control, &IID_IHostTaskManager, NULL), E_INVALIDARG);
}

/* docs/contract.md pitfall 03: the same manager every time, AddRef'd every time. */
static void test_get_host_manager_same_object(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskManager *a = SENTINEL, *b = SENTINEL;

    expect_ref(fixture->manager, 2);   /* the control's and the fixture's */
    assert_hr(IHostControl_GetHostManager(fixture->control, &IID_IHostTaskManager, (void **)&a), S_OK);
    expect_ref(fixture->manager, 3);
    assert_hr(IHostControl_GetHostManager(fixture->control, &IID_IHostTaskManager, (void **)&b), S_OK);
    expect_ref(fixture->manager, 4);
    assert_ptr_equal(a, fixture->manager);
    assert_ptr_equal(b, fixture->manager);
    IHostTaskManager_Release(a);
    IHostTaskManager_Release(b);
    expect_ref(fixture->manager, 2);
}

/* docs/contract.md pitfall 10: QueryInterface matrix and a stable IUnknown. */
static void test_query_interface(void **state)
{
    struct fixture *fixture = *state;
    IUnknown *unk, *unk2;
    IHostTaskConfig *config;

    check_interface(fixture->control, &IID_IUnknown, TRUE);
    check_interface(fixture->control, &IID_IHostControl, TRUE);
    check_interface(fixture->control, &IID_IHostTaskManager, FALSE);
    check_interface(fixture->control, &IID_IClassFactory, FALSE);
    expect_ref(fixture->control, 1);

    check_interface(fixture->manager, &IID_IUnknown, TRUE);
    check_interface(fixture->manager, &IID_IHostTaskManager, TRUE);
    check_interface(fixture->manager, &IID_IHostTaskConfig, TRUE);
    check_interface(fixture->manager, &IID_IHostTaskStatistics, TRUE);
    check_interface(fixture->manager, &IID_IHostControl, FALSE);
    check_interface(fixture->manager, &IID_IHostTask, FALSE);
    expect_ref(fixture->manager, 2);

    /* IUnknown from a secondary interface is the primary one. */
    assert_hr(IHostTaskManager_QueryInterface(fixture->manager, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_QueryInterface(config, &IID_IUnknown, (void **)&unk), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(fixture->manager, &IID_IUnknown, (void **)&unk2), S_OK);
    assert_ptr_equal(unk, unk2);
    assert_ptr_equal(unk, fixture->manager);
    expect_ref(fixture->manager, 5);
    IUnknown_Release(unk);
    IUnknown_Release(unk2);
    IHostTaskConfig_Release(config);
    assert_hr(IHostTaskManager_QueryInterface(fixture->manager, &IID_IUnknown, NULL), E_POINTER);
}

/* docs/contract.md pitfall 04: the CLR's task manager is AddRef'd when stored and
 * released exactly once when replaced or when the manager goes. */
static void test_set_clr_task_manager(void **state)
{
    struct fake_clr_manager a, b;
    IHostControl *control;
    IHostTaskManager *manager;

    fake_clr_manager_init(&a);
    fake_clr_manager_init(&b);
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(IHostTaskManager_SetCLRTaskManager(manager, &a.ICLRTaskManager_iface), S_OK);
    assert_int_equal(a.refcount, 2);
    assert_hr(IHostTaskManager_SetCLRTaskManager(manager, &b.ICLRTaskManager_iface), S_OK);
    assert_int_equal(a.refcount, 1);
    assert_int_equal(b.refcount, 2);
    assert_hr(IHostTaskManager_SetCLRTaskManager(manager, NULL), S_OK);
    assert_int_equal(b.refcount, 1);
    assert_hr(IHostTaskManager_SetCLRTaskManager(manager, &a.ICLRTaskManager_iface), S_OK);
    assert_int_equal(a.refcount, 2);
    IHostTaskManager_Release(manager);
    assert_int_equal(IHostControl_Release(control), 0);
    /* The manager went with its last reference and released the CLR's. */
    assert_int_equal(a.refcount, 1);
    assert_int_equal(b.refcount, 1);
    assert_hr(dll_can_unload_now(), S_OK);
}

static void test_set_app_domain_manager(void **state)
{
    struct fake_unknown a, b, c;
    IHostControl *control;

    fake_unknown_init(&a);
    fake_unknown_init(&b);
    fake_unknown_init(&c);
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_SetAppDomainManager(control, 1, &a.IUnknown_iface), S_OK);
    assert_hr(IHostControl_SetAppDomainManager(control, 2, &b.IUnknown_iface), S_OK);
    assert_int_equal(a.refcount, 2);
    assert_int_equal(b.refcount, 2);
    /* Replacing domain 1's manager releases the old one. */
    assert_hr(IHostControl_SetAppDomainManager(control, 1, &c.IUnknown_iface), S_OK);
    assert_int_equal(a.refcount, 1);
    assert_int_equal(c.refcount, 2);
    /* NULL forgets it, and must not crash for an unknown domain. */
    assert_hr(IHostControl_SetAppDomainManager(control, 2, NULL), S_OK);
    assert_int_equal(b.refcount, 1);
    assert_hr(IHostControl_SetAppDomainManager(control, 99, NULL), S_OK);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_int_equal(c.refcount, 1);
    assert_hr(dll_can_unload_now(), S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        FIXTURE_TEST(test_get_host_manager_refusals),
        FIXTURE_TEST(test_get_host_manager_same_object),
        FIXTURE_TEST(test_query_interface),
        cmocka_unit_test(test_set_clr_task_manager),
        cmocka_unit_test(test_set_app_domain_manager),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
