/*
 * The generated header against the tables of docs/contract.md §2: every
 * IID, and every method's slot (0-based vtable index).  A method in the
 * wrong slot would call the wrong function with no error anywhere, so this
 * is the ABI test.
 */
#include "test_util.h"

#define SLOT(vtbl, method) (offsetof(vtbl, method) / sizeof(void *))

static void check_iid(REFIID iid, const char *expected)
{
    WCHAR buffer[40];
    char text[40];
    int i;

    assert_int_equal(StringFromGUID2(iid, buffer, 40), 39);
    for (i = 0; i < 39; i++)
        text[i] = (char)buffer[i];
    text[39] = 0;
    assert_string_equal(text, expected);
}

static void test_iids(void **state)
{
    check_iid(&IID_IHostTaskManager, "{997FF24C-43B7-4352-8667-0DC04FAFD354}");
    check_iid(&IID_IHostTask, "{C2275828-C4B1-4B55-82C9-92135F74DF1A}");
    check_iid(&IID_ICLRTaskManager, "{4862EFBE-3AE5-44F8-8FEB-346190EE8A34}");
    check_iid(&IID_ICLRTask, "{28E66A4A-9906-4225-B231-9187C3EB8611}");
    check_iid(&IID_ICLRTask2, "{28E66A4A-9906-4225-B231-9187C3EB8612}");
    /* From the stock mscoree.h; Microsoft's IDL comment says ...073D..., wrongly. */
    check_iid(&IID_IHostControl, "{02CA073C-7079-4860-880A-C2F7A449C991}");
    check_iid(&IID_ICLRControl, "{9065597E-D1A1-4FB2-B6BA-7E1FCE230F61}");
    check_iid(&IID_ICLRRuntimeHost, "{90F1A06C-7712-4762-86B5-7A5EBA6BDB02}");
    check_iid(&CLSID_CLRRuntimeHost, "{90F1A06E-7712-4762-86B5-7A5EBA6BDB02}");
}

static void test_host_task_manager_slots(void **state)
{
    assert_int_equal(SLOT(IHostTaskManagerVtbl, QueryInterface), 0);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, AddRef), 1);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, Release), 2);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, GetCurrentTask), 3);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, CreateTask), 4);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, Sleep), 5);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, SwitchToTask), 6);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, SetUILocale), 7);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, SetLocale), 8);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, CallNeedsHostHook), 9);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, LeaveRuntime), 10);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, EnterRuntime), 11);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, ReverseLeaveRuntime), 12);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, ReverseEnterRuntime), 13);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, BeginDelayAbort), 14);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, EndDelayAbort), 15);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, BeginThreadAffinity), 16);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, EndThreadAffinity), 17);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, SetStackGuarantee), 18);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, GetStackGuarantee), 19);
    assert_int_equal(SLOT(IHostTaskManagerVtbl, SetCLRTaskManager), 20);
    assert_int_equal(sizeof(IHostTaskManagerVtbl), 21 * sizeof(void *));
}

static void test_host_task_slots(void **state)
{
    assert_int_equal(SLOT(IHostTaskVtbl, Start), 3);
    assert_int_equal(SLOT(IHostTaskVtbl, Alert), 4);
    assert_int_equal(SLOT(IHostTaskVtbl, Join), 5);
    assert_int_equal(SLOT(IHostTaskVtbl, SetPriority), 6);
    assert_int_equal(SLOT(IHostTaskVtbl, GetPriority), 7);
    assert_int_equal(SLOT(IHostTaskVtbl, SetCLRTask), 8);
    assert_int_equal(sizeof(IHostTaskVtbl), 9 * sizeof(void *));
}

static void test_clr_task_slots(void **state)
{
    assert_int_equal(SLOT(ICLRTask2Vtbl, SwitchIn), 3);
    assert_int_equal(SLOT(ICLRTask2Vtbl, SwitchOut), 4);
    assert_int_equal(SLOT(ICLRTask2Vtbl, GetMemStats), 5);
    assert_int_equal(SLOT(ICLRTask2Vtbl, Reset), 6);
    assert_int_equal(SLOT(ICLRTask2Vtbl, ExitTask), 7);
    assert_int_equal(SLOT(ICLRTask2Vtbl, Abort), 8);
    assert_int_equal(SLOT(ICLRTask2Vtbl, RudeAbort), 9);
    assert_int_equal(SLOT(ICLRTask2Vtbl, NeedsPriorityScheduling), 10);
    assert_int_equal(SLOT(ICLRTask2Vtbl, YieldTask), 11);
    assert_int_equal(SLOT(ICLRTask2Vtbl, LocksHeld), 12);
    assert_int_equal(SLOT(ICLRTask2Vtbl, SetTaskIdentifier), 13);
    assert_int_equal(SLOT(ICLRTask2Vtbl, BeginPreventAsyncAbort), 14);
    assert_int_equal(SLOT(ICLRTask2Vtbl, EndPreventAsyncAbort), 15);
    assert_int_equal(sizeof(ICLRTaskVtbl), 14 * sizeof(void *));
    assert_int_equal(sizeof(ICLRTask2Vtbl), 16 * sizeof(void *));
}

static void test_clr_task_manager_slots(void **state)
{
    assert_int_equal(SLOT(ICLRTaskManagerVtbl, CreateTask), 3);
    assert_int_equal(SLOT(ICLRTaskManagerVtbl, GetCurrentTask), 4);
    assert_int_equal(SLOT(ICLRTaskManagerVtbl, SetUILocale), 5);
    assert_int_equal(SLOT(ICLRTaskManagerVtbl, SetLocale), 6);
    assert_int_equal(SLOT(ICLRTaskManagerVtbl, GetCurrentTaskType), 7);
    assert_int_equal(sizeof(ICLRTaskManagerVtbl), 8 * sizeof(void *));
}

static void test_stock_interface_slots(void **state)
{
    assert_int_equal(SLOT(IHostControlVtbl, GetHostManager), 3);
    assert_int_equal(SLOT(IHostControlVtbl, SetAppDomainManager), 4);
    assert_int_equal(SLOT(ICLRControlVtbl, GetCLRManager), 3);
    assert_int_equal(SLOT(ICLRControlVtbl, SetAppDomainManagerType), 4);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, Start), 3);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, Stop), 4);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, SetHostControl), 5);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, GetCLRControl), 6);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, UnloadAppDomain), 7);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, ExecuteInAppDomain), 8);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, GetCurrentAppDomainId), 9);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, ExecuteApplication), 10);
    assert_int_equal(SLOT(ICLRRuntimeHostVtbl, ExecuteInDefaultAppDomain), 11);
}

static void test_types(void **state)
{
    /* TASKID is 64-bit on x86 too; it changes SetTaskIdentifier's stack layout. */
    assert_int_equal(sizeof(TASKID), 8);
    assert_int_equal(sizeof(CONNID), 4);
    assert_int_equal(WAIT_MSGPUMP, 1);
    assert_int_equal(WAIT_ALERTABLE, 2);
    assert_int_equal(WAIT_NOTINDEADLOCK, 4);
    assert_int_equal(TT_USER, 0x100);
    assert_int_equal(TT_THREADPOOL_WAIT, 0x200);
    assert_int_equal((unsigned int)TT_UNKNOWN, 0x80000000u);
    assert_int_equal(offsetof(COR_GC_THREAD_STATS, Flags), 8);
    assert_int_equal(COR_GC_THREAD_HAS_PROMOTED_BYTES, 1);
    assert_int_equal((ULONG)HOST_E_DEADLOCK, 0x80131020);
    assert_int_equal((ULONG)HOST_E_INTERRUPTED, 0x80131021);
    assert_int_equal((ULONG)HOST_E_INVALIDOPERATION, 0x80131022);
    assert_int_equal((ULONG)HOST_E_TIMEOUT, 0x80131024);
    assert_int_equal((ULONG)HOST_E_ABANDONED, 0x80131026);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_iids),
        cmocka_unit_test(test_host_task_manager_slots),
        cmocka_unit_test(test_host_task_slots),
        cmocka_unit_test(test_clr_task_slots),
        cmocka_unit_test(test_clr_task_manager_slots),
        cmocka_unit_test(test_stock_interface_slots),
        cmocka_unit_test(test_types),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
