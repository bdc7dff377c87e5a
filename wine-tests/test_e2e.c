/*
 * End to end: the registered server, created by ProgID, driven through the
 * CLR's handshake and transition protocol (docs/clr-host.md, "The order of
 * calls the CLR makes": steps 1, 2, 4, 7 and 8), with refcounts checked
 * after every step that changes them.
 *
 *   test_e2e registered DLLPATH   after regsvr32
 *   test_e2e unregistered         after regsvr32 /u
 */
#include "clr_fakes.h"
#include "clr_iids.h"

#include <stdio.h>

static const char *dll_path;
static IHostTaskManager *manager;

#define PAIRS 1000000

static void check_registry(void)
{
    WCHAR key[128], value[MAX_PATH], expected[MAX_PATH];
    DWORD size;
    int i;

    /* InprocServer32 = this DLL, ThreadingModel Both, and both ProgIDs. */
    lstrcpyW(key, L"CLSID\\{6B1F2C55-8E0A-4C53-9D3B-7A41E2C0F100}\\InprocServer32");
    size = sizeof(value);
    assert_int_equal(RegGetValueW(HKEY_CLASSES_ROOT, key, L"ThreadingModel", RRF_RT_REG_SZ, NULL, value, &size), 0);
    assert_true(!lstrcmpW(value, L"Both"));
    size = sizeof(value);
    assert_int_equal(RegGetValueW(HKEY_CLASSES_ROOT, key, NULL, RRF_RT_REG_SZ, NULL, value, &size), 0);
    /* The registered path is the DLL's Windows path: Z: plus the Unix one. */
    expected[0] = 'Z';
    expected[1] = ':';
    for (i = 0; dll_path[i] && i < MAX_PATH - 3; i++)
        expected[i + 2] = dll_path[i] == '/' ? '\\' : dll_path[i];
    expected[i + 2] = 0;
    assert_true(!lstrcmpiW(value, expected));
    size = sizeof(value);
    assert_int_equal(RegGetValueW(HKEY_CLASSES_ROOT, L"HostTask.HostControl\\CurVer", NULL, RRF_RT_REG_SZ,
            NULL, value, &size), 0);
    assert_true(!lstrcmpW(value, L"HostTask.HostControl.1"));
}

static DWORD WINAPI pinvoke_worker(void *arg)
{
    SIZE_T target = (SIZE_T)&GetCurrentProcessId;
    IHostTask *task = NULL;
    HT_TASK_STATS *stats = arg;
    IHostTaskStatistics *statistics;
    BOOL hook;
    int i;

    /* Thread attach (docs/clr-host.md step 4), then the x64 P/Invoke shape (step 7). */
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    assert_non_null(task);
    assert_hr(IHostTaskManager_SwitchToTask(manager, 0), S_OK);
    for (i = 0; i < PAIRS; i++)
    {
        IHostTaskManager_CallNeedsHostHook(manager, target, &hook);
        if (IHostTaskManager_LeaveRuntime(manager, target) != S_OK)
            fail_msg("LeaveRuntime failed at %d", i);
        GetCurrentProcessId();
        if (IHostTaskManager_EnterRuntime(manager) != S_OK)
            fail_msg("EnterRuntime failed at %d", i);
    }
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, stats), S_OK);
    IHostTaskStatistics_Release(statistics);
    expect_ref(task, 1);
    IHostTask_Release(task);
    return 0;
}

static void test_registered(void **state)
{
    struct fake_clr_manager clr_manager;
    struct fake_clr_task clr_task;
    IHostControl *control = NULL;
    IHostTask *task = NULL;
    HT_TASK_STATS stats[2];
    HANDLE threads[2];
    void *out;
    CLSID clsid;
    int i;

    check_registry();
    assert_hr(CLSIDFromProgID(L"HostTask.HostControl", &clsid), S_OK);
    assert_true(IsEqualCLSID(&clsid, &CLSID_HostTaskControl));
    assert_hr(CoCreateInstance(&clsid, NULL, CLSCTX_INPROC_SERVER, &IID_IHostControl, (void **)&control), S_OK);
    expect_ref(control, 1);

    /* docs/contract.md §5.1-5.2, CorHost2::SetHostControl: every manager in order; the
     * task manager is handed the CLR's manager at once, before #3. */
    fake_clr_manager_init(&clr_manager);
    for (i = 0; i < 9; i++)
    {
        out = SENTINEL;
        if (!ht_clr_manager_iids[i])
        {
            assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, &out), S_OK);
            manager = out;
            assert_non_null(manager);
            expect_ref(manager, 2);
            IHostTaskManager_SetCLRTaskManager(manager, &clr_manager.ICLRTaskManager_iface);
            assert_int_equal(clr_manager.refcount, 2);
            continue;
        }
        assert_hr(IHostControl_GetHostManager(control, ht_clr_manager_iids[i], &out), E_NOINTERFACE);
        assert_null(out);
    }
    /* The CLR AddRefs the control it keeps. */
    IHostControl_AddRef(control);
    expect_ref(control, 2);

    /* Runtime start (5.3): an affinity bracket on a thread with no task. */
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);

    /* Thread attach on the main thread (5.4). */
    fake_clr_task_init(&clr_task);
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    expect_ref(task, 1);
    assert_hr(IHostTask_SetCLRTask(task, FAKE_AS_CLR_TASK(&clr_task)), S_OK);
    assert_int_equal(clr_task.refcount, 2);
    assert_hr(IHostTaskManager_SwitchToTask(manager, 0), S_OK);

    /* A P/Invoke whose native code calls back into managed code (5.7). */
    assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&EnumWindows), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&GetTickCount), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);

    /* Two threads, a million transition pairs each, counted exactly. */
    for (i = 0; i < 2; i++)
        threads[i] = CreateThread(NULL, 0, pinvoke_worker, &stats[i], 0, NULL);
    assert_int_equal(WaitForMultipleObjects(2, threads, TRUE, 120000), WAIT_OBJECT_0);
    for (i = 0; i < 2; i++)
    {
        CloseHandle(threads[i]);
        assert_int_equal(stats[i].transitions[HT_STAT_LEAVE], PAIRS);
        assert_int_equal(stats[i].transitions[HT_STAT_ENTER], PAIRS);
        assert_int_equal(stats[i].depth, 0);
        assert_int_equal(stats[i].maxDepth, 1);
    }
    assert_int_not_equal(stats[0].taskId, stats[1].taskId);

    /* Task release when the Thread dies (5.18), teardown (5.19). */
    assert_hr(IHostTask_SetCLRTask(task, NULL), S_OK);
    assert_int_equal(clr_task.refcount, 1);
    assert_int_equal(IHostTask_Release(task), 0);
    /* Stop releases the control the CLR kept; the host releases its own. */
    assert_int_equal(IHostControl_Release(control), 1);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_int_equal(IHostTaskManager_Release(manager), 0);
    assert_int_equal(clr_manager.refcount, 1);
    assert_hr(dll_can_unload_now(), S_OK);
}

static void test_unregistered(void **state)
{
    CLSID clsid;
    void *out = SENTINEL;

    assert_true(FAILED(CLSIDFromProgID(L"HostTask.HostControl", &clsid)));
    assert_true(FAILED(CLSIDFromProgID(L"HostTask.HostControl.1", &clsid)));
    assert_hr(CoCreateInstance(&CLSID_HostTaskControl, NULL, CLSCTX_INPROC_SERVER, &IID_IHostControl, &out),
            REGDB_E_CLASSNOTREG);
    assert_null(out);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest registered[] = { cmocka_unit_test(test_registered) };
    const struct CMUnitTest unregistered[] = { cmocka_unit_test(test_unregistered) };
    int result;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (argc == 3 && !strcmp(argv[1], "registered"))
    {
        dll_path = argv[2];
        result = cmocka_run_group_tests(registered, NULL, NULL);
    }
    else if (argc == 2 && !strcmp(argv[1], "unregistered"))
        result = cmocka_run_group_tests(unregistered, NULL, NULL);
    else
    {
        fprintf(stderr, "usage: test_e2e registered DLLPATH | unregistered\n");
        result = 2;
    }
    CoUninitialize();
    return result;
}
