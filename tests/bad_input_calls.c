/*
 * Bad calls beyond the table of tests/test_bad_input.c: unbalanced and
 * wrong-thread calls, the nesting limit and small capacities, refused
 * configuration, finished tasks, and the codes where com/ and
 * docs/contract.md might disagree.  Run by the table's main, on its fixture.
 */
#include "bad_input.h"

#include <stdio.h>
#include <string.h>

/* ---- Unbalanced calls ---- */

static IHostTaskManager *manager;

static HT_TASK_STATS current_stats(void)
{
    HT_TASK_STATS stats;

    memset(&stats, OUT_FILL, sizeof(stats));
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(objects.statistics, &stats), S_OK);
    return stats;
}

static DWORD WINAPI unbalanced_worker(void *arg)
{
    HT_TASK_STATS stats;
    BOOL strict = *(BOOL *)arg;
    HRESULT refused = strict ? HOST_E_INVALIDOPERATION : S_OK;

    /* Closes with nothing open. */
    assert_hr(IHostTaskManager_EnterRuntime(manager), refused);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), refused);
    /* A close that would skip the other kind's open frame. */
    assert_hr(IHostTaskManager_LeaveRuntime(manager, ~(SIZE_T)0), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), refused);
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_REVERSE_LEAVE], 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNCLOSED_REVERSE_ENTER], 1);
    assert_int_equal(stats.depth, strict ? 2 : 0);
    assert_int_equal(stats.transitions[HT_STAT_ENTER], strict ? 0 : 1);
    assert_int_equal(stats.transitions[HT_STAT_REVERSE_LEAVE], 0);

    /* Affinity and delay-abort: an End with no Begin changes nothing. */
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_int_equal(current_stats().affinityDepth, 1);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_int_equal(current_stats().affinityDepth, 0);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), E_UNEXPECTED);
    assert_true(current_stats().flags & HT_TASK_DELAY_ABORT);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    assert_false(current_stats().flags & HT_TASK_DELAY_ABORT);
    return 0;
}

void test_unbalanced_calls(void **state)
{
    BOOL strict = FALSE;

    manager = objects.manager;
    run_on_thread(unbalanced_worker, &strict);
    strict = TRUE;
    assert_hr(IHostTaskConfig_SetStrict(objects.config, TRUE), S_OK);
    run_on_thread(unbalanced_worker, &strict);
    assert_hr(IHostTaskConfig_SetStrict(objects.config, FALSE), S_OK);
}

/* ---- Wrong-thread calls ---- */

struct first_thread
{
    HANDLE opened, go_on;
};

static DWORD WINAPI first_thread_main(void *arg)
{
    struct first_thread *first = arg;
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    SetEvent(first->opened);
    assert_int_equal(WaitForSingleObject(first->go_on, 10000), WAIT_OBJECT_0);

    /* The other thread's closing calls did not touch this thread's state. */
    stats = current_stats();
    assert_int_equal(stats.depth, 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 0);
    assert_int_equal(stats.affinityDepth, 1);
    assert_true(stats.flags & HT_TASK_DELAY_ABORT);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    assert_int_equal(current_stats().depth, 0);
    return 0;
}

static DWORD WINAPI second_thread_main(void *arg)
{
    HT_TASK_STATS stats;

    /* Closing calls for what another thread opened: this thread has
     * nothing open, so they are unmatched here. */
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 1);
    assert_int_equal(stats.depth, 0);
    assert_int_equal(stats.affinityDepth, 0);
    return 0;
}

void test_wrong_thread(void **state)
{
    struct first_thread first;
    HANDLE thread;
    DWORD code = 0;

    manager = objects.manager;
    first.opened = CreateEventW(NULL, TRUE, FALSE, NULL);
    first.go_on = CreateEventW(NULL, TRUE, FALSE, NULL);
    thread = CreateThread(NULL, 0, first_thread_main, &first, 0, NULL);
    assert_non_null(thread);
    assert_int_equal(WaitForSingleObject(first.opened, 10000), WAIT_OBJECT_0);
    run_on_thread(second_thread_main, NULL);
    SetEvent(first.go_on);
    assert_int_equal(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    GetExitCodeThread(thread, &code);
    assert_int_not_equal(code, HT_WORKER_FAILED);
    CloseHandle(thread);
    CloseHandle(first.opened);
    CloseHandle(first.go_on);
    assert_no_worker_failures();
}

/* ---- Out of range: the nesting limit, small capacities ---- */

static DWORD WINAPI nesting_limit_worker(void *arg)
{
    BOOL reverse_first = *(BOOL *)arg;
    HT_TASK_STATS stats;
    ULONG i;

    /* HT__MAX_FRAMES (65,536) alternations fill every frame. */
    for (i = 0; i < 65536; i++)
    {
        if ((i % 2 == 0) == !reverse_first)
            assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
        else
            assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    }
    if (reverse_first)
    {
        /* One more alternation: counted, and still exactly S_OK, which is
         * all the CLR accepts from ReverseEnterRuntime. */
        assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    }
    else
    {
        /* LeaveRuntime may fail: the CLR then does not make the call. */
        assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), E_OUTOFMEMORY);
    }
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_NESTING_LIMIT], 1);
    assert_int_equal(stats.depth, 65536);
    /* A same-kind call still fits in the top frame. */
    if (reverse_first)
        assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    else
        assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_int_equal(current_stats().depth, 65537);
    /* The thread exits with every frame open: its binding goes with it. */
    return 0;
}

void test_nesting_limit(void **state)
{
    BOOL reverse_first = FALSE;

    manager = objects.manager;
    run_on_thread(nesting_limit_worker, &reverse_first);
    reverse_first = TRUE;
    run_on_thread(nesting_limit_worker, &reverse_first);
}

void test_small_capacities(void **state)
{
    HT_TASK_STATS stats[3];
    HT_TARGET_STATS targets[3];
    UINT count = 0xdeadbeef, i;
    unsigned char fill[sizeof(stats[0])];

    /* Room for one task of at least two: only stats[0] is written. */
    memset(stats, OUT_FILL, sizeof(stats));
    memset(fill, OUT_FILL, sizeof(fill));
    assert_hr(IHostTaskStatistics_GetTaskStats(objects.statistics, 1, stats, &count), S_FALSE);
    assert_ge(count, 2);
    assert_memory_not_equal(&stats[0], fill, sizeof(fill));
    assert_memory_equal(&stats[1], fill, sizeof(fill));
    assert_memory_equal(&stats[2], fill, sizeof(fill));

    /* Three targets with calls, room for one. */
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, TRUE), S_OK);
    assert_hr(IHostTaskStatistics_Reset(objects.statistics), S_OK);
    for (i = 1; i <= 3; i++)
    {
        assert_hr(IHostTaskManager_LeaveRuntime(objects.manager, 0x5000 + i * 16), S_OK);
        assert_hr(IHostTaskManager_EnterRuntime(objects.manager), S_OK);
    }
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, FALSE), S_OK);
    memset(targets, OUT_FILL, sizeof(targets));
    count = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetTargetStats(objects.statistics, 1, targets, &count), S_FALSE);
    assert_int_equal(count, 3);
    assert_in_range(targets[0].target, 0x5010, 0x5030);
    assert_int_equal(targets[0].calls, 1);
    memset(fill, OUT_FILL, sizeof(targets[0]));
    assert_memory_equal(&targets[1], fill, sizeof(targets[0]));
    count = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetTargetStats(objects.statistics, 0, NULL, &count), S_FALSE);
    assert_int_equal(count, 3);
    assert_hr(IHostTaskStatistics_Reset(objects.statistics), S_OK);
    count = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetTargetStats(objects.statistics, 0, NULL, &count), S_OK);
    assert_int_equal(count, 0);
}

/* ---- Refused configuration changes nothing; booleans are normalized ---- */

void test_config_refusals(void **state)
{
    SIZE_T listed[1] = { 0x7000 };
    BOOL value = (BOOL)0xdeadbeef, needs;

    assert_hr(IHostTaskConfig_SetHookPolicy(objects.config, FALSE, 1, listed), S_OK);
    assert_hr(IHostTaskConfig_SetHookPolicy(objects.config, TRUE, 3, NULL), E_POINTER);
    /* The refused call left the policy as it was. */
    assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x7000, &needs), S_OK);
    assert_int_equal(needs, TRUE);
    assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x7010, &needs), S_OK);
    assert_int_equal(needs, FALSE);

    /* Any non-zero BOOL is TRUE, and reads back as exactly TRUE. */
    assert_hr(IHostTaskConfig_SetHookPolicy(objects.config, 7, 0, NULL), S_OK);
    needs = (BOOL)0xdeadbeef;
    assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x7000, &needs), S_OK);
    assert_int_equal(needs, TRUE);
    assert_hr(IHostTaskConfig_SetStrict(objects.config, -1), S_OK);
    assert_hr(IHostTaskConfig_GetStrict(objects.config, &value), S_OK);
    assert_int_equal(value, TRUE);
    assert_hr(IHostTaskConfig_SetStrict(objects.config, FALSE), S_OK);
    value = (BOOL)0xdeadbeef;
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, 2), S_OK);
    assert_hr(IHostTaskConfig_GetProfiling(objects.config, &value), S_OK);
    assert_int_equal(value, TRUE);
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, FALSE), S_OK);
    assert_hr(IHostTaskConfig_GetProfiling(objects.config, &value), S_OK);
    assert_int_equal(value, FALSE);
}

/* ---- Finished tasks ---- */

static DWORD WINAPI adopt_and_exit(void *arg)
{
    assert_hr(IHostTaskManager_GetCurrentTask(manager, (IHostTask **)arg), S_OK);
    return 0;
}

struct bounded_join
{
    IHostTask *task;
    DWORD milliseconds, option;
    HRESULT result;
};

static DWORD WINAPI bounded_join_worker(void *arg)
{
    struct bounded_join *join = arg;

    join->result = IHostTask_Join(join->task, join->milliseconds, join->option);
    return 0;
}

/* Join on a helper thread, given 10 s: a Join that never returns fails
 * here, naming the case, instead of hanging the test. */
static HRESULT join_bounded(IHostTask *task, DWORD milliseconds, DWORD option, const char *what)
{
    struct bounded_join join = { task, milliseconds, option, E_UNEXPECTED };
    HANDLE thread = CreateThread(NULL, 0, bounded_join_worker, &join, 0, NULL);

    assert_non_null(thread);
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        fail_msg("%s: Join did not return within 10 s", what);
    CloseHandle(thread);
    return join.result;
}

void test_finished_task(void **state)
{
    IHostTask *task = NULL;
    int priority = 0x7eadbeef;

    manager = objects.manager;
    run_on_thread(adopt_and_exit, &task);
    assert_non_null(task);
    /* Alert never fails; Join returns at once. */
    assert_hr(IHostTask_Alert(task), S_OK);
    assert_hr_either(IHostTask_Join(task, 0, WAIT_NOTINDEADLOCK), S_OK, HOST_E_ABANDONED);
    assert_hr_either(join_bounded(task, INFINITE, WAIT_ALERTABLE | WAIT_NOTINDEADLOCK,
            "Join(INFINITE) on a finished task"), S_OK, HOST_E_ABANDONED);
    assert_hr(IHostTask_SetPriority(task, 42), E_INVALIDARG);
    /* The task keeps a real handle: its thread's priority stays readable. */
    assert_hr(IHostTask_SetPriority(task, THREAD_PRIORITY_LOWEST), S_OK);
    assert_hr(IHostTask_GetPriority(task, &priority), S_OK);
    assert_int_equal(priority, THREAD_PRIORITY_LOWEST);
    assert_int_equal(IHostTask_Release(task), 0);
}

/* ---- Where com/ and docs/contract.md might disagree ----
 *
 * CMocka skips the teardown of a failed test, so these tests take no
 * fixture: each makes its calls, cleans up, and only then asserts. */

static void get_manager(IHostControl **control)
{
    assert_hr(ht_create_host_control(control), S_OK);
    assert_hr(IHostControl_GetHostManager(*control, &IID_IHostTaskManager, (void **)&manager), S_OK);
}

static void put_manager(IHostControl *control)
{
    IHostTaskManager_Release(manager);
    IHostControl_Release(control);
    manager = NULL;
}

struct results
{
    HRESULT hr[2];
    ULONG value;
};

/* docs/contract.md §3.2, SetStackGuarantee: "Apply to the current thread, or
 * refuse", returning S_OK or E_NOTIMPL, also when the system refuses a
 * guarantee larger than the stack. */
static DWORD WINAPI stack_guarantee_worker(void *arg)
{
    struct results *results = arg;

    results->hr[0] = IHostTaskManager_SetStackGuarantee(manager, 0x7fffffff);
    results->value = 0xdeadbeef;
    results->hr[1] = IHostTaskManager_GetStackGuarantee(manager, &results->value);
    return 0;
}

void test_stack_guarantee_codes(void **state)
{
    struct results results;
    IHostControl *control;

    get_manager(&control);
    run_on_thread(stack_guarantee_worker, &results);
    put_manager(control);
    assert_hr_either(results.hr[0], S_OK, E_NOTIMPL);
    assert_hr_either(results.hr[1], S_OK, E_NOTIMPL);
    /* Written on every path, 0 if unknown. */
    assert_int_not_equal(results.value, 0xdeadbeef);
}

/* COM rules: LockServer(FALSE) with no lock taken must not unpin the
 * module (docs/contract.md §3.0: an unbalanced call changes nothing), or
 * DllCanUnloadNow would answer S_FALSE with nothing alive, and S_OK after
 * a later LockServer(TRUE) while the server is locked. */
void test_unbalanced_lock_server(void **state)
{
    IClassFactory *factory;
    HRESULT hr, unlocked, locked, unlocked_again;

    assert_hr(dll_get_class_object(&CLSID_HostTaskControl, &IID_IClassFactory, (void **)&factory), S_OK);
    assert_hr(dll_can_unload_soon(), S_OK);
    hr = IClassFactory_LockServer(factory, FALSE);
    unlocked = dll_can_unload_now();
    IClassFactory_LockServer(factory, TRUE);
    locked = dll_can_unload_now();
    IClassFactory_LockServer(factory, FALSE);
    unlocked_again = dll_can_unload_now();
    /* Undo what the unbalanced call took, so that later tests see a sane count. */
    if (unlocked != S_OK)
        IClassFactory_LockServer(factory, TRUE);
    IClassFactory_Release(factory);

    assert_hr(hr, E_UNEXPECTED);
    assert_hr(unlocked, S_OK);
    assert_hr(locked, S_FALSE);
    assert_hr(unlocked_again, S_OK);
}
