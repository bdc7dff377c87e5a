/*
 * The four transitions through the COM interface: the CLR's nesting around
 * a P/Invoke with a callback, unmatched calls (lenient by default, refused
 * in strict mode), GetLastError preservation, and CallNeedsHostHook.
 */
#include "test_util.h"

static IHostTaskManager *manager;

static HT_TASK_STATS current_stats(void)
{
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    IHostTaskStatistics_Release(statistics);
    return stats;
}

static DWORD WINAPI nested_sequence(void *arg)
{
    HT_TASK_STATS stats;
    SIZE_T target = (SIZE_T)&GetTickCount;

    /* docs/contract.md §5.7: LeaveRuntime(fn) -> ReverseEnterRuntime -> managed work with
     * its own P/Invoke -> ReverseLeaveRuntime -> EnterRuntime. */
    assert_hr(IHostTaskManager_LeaveRuntime(manager, target), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, target), S_OK);
    stats = current_stats();
    assert_int_equal(stats.depth, 3);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);

    stats = current_stats();
    assert_int_equal(stats.depth, 0);
    assert_int_equal(stats.maxDepth, 3);
    assert_int_equal(stats.transitions[HT_STAT_LEAVE], 2);
    assert_int_equal(stats.transitions[HT_STAT_ENTER], 2);
    assert_int_equal(stats.transitions[HT_STAT_REVERSE_ENTER], 1);
    assert_int_equal(stats.transitions[HT_STAT_REVERSE_LEAVE], 1);
    assert_int_equal(stats.threadId, GetCurrentThreadId());
    assert_true(stats.flags & HT_TASK_ADOPTED);
    return 0;
}

static void test_nested_sequence(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    run_on_thread(nested_sequence, NULL);
}

static DWORD WINAPI unmatched_calls(void *arg)
{
    HT_TASK_STATS stats;

    /* A native-born thread: Reverse calls only, and they need not pair up.
     * Exactly S_OK every time: the CLR throws on anything else. */
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_REVERSE_LEAVE], 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 1);
    assert_int_equal(stats.depth, 1);
    assert_int_equal(stats.transitions[HT_STAT_REVERSE_ENTER], 2);
    assert_int_equal(stats.transitions[HT_STAT_REVERSE_LEAVE], 1);
    return 0;
}

static void test_unmatched_calls_are_absorbed(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    run_on_thread(unmatched_calls, NULL);
}

static DWORD WINAPI strict_calls(void *arg)
{
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_EnterRuntime(manager), HOST_E_INVALIDOPERATION);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), HOST_E_INVALIDOPERATION);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    /* Would skip the open reverse frame: refused, nothing changes. */
    assert_hr(IHostTaskManager_EnterRuntime(manager), HOST_E_INVALIDOPERATION);
    stats = current_stats();
    assert_int_equal(stats.depth, 2);
    assert_int_equal(stats.transitions[HT_STAT_ENTER], 0);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_int_equal(current_stats().depth, 0);
    return 0;
}

static void test_strict_mode(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskConfig *config;
    BOOL strict = 2;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_GetStrict(config, &strict), S_OK);
    assert_int_equal(strict, FALSE);
    assert_hr(ht_set_strict(fixture->control, TRUE), S_OK);
    assert_hr(IHostTaskConfig_GetStrict(config, &strict), S_OK);
    assert_int_equal(strict, TRUE);
    run_on_thread(strict_calls, NULL);
    assert_hr(ht_set_strict(fixture->control, FALSE), S_OK);
    assert_hr(IHostTaskConfig_GetStrict(config, NULL), E_POINTER);
    IHostTaskConfig_Release(config);
}

static DWORD WINAPI last_error_worker(void *arg)
{
    /* The first call adopts the thread (allocation, handles): the error
     * code the native callee will see must survive that too. */
    SetLastError(0x1234);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    assert_int_equal(GetLastError(), 0x1234);
    SetLastError(0x4321);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_int_equal(GetLastError(), 0x4321);
    SetLastError(0x5555);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    assert_int_equal(GetLastError(), 0x5555);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    return 0;
}

static void test_last_error_preserved(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    run_on_thread(last_error_worker, NULL);
}

static void test_call_needs_host_hook(void **state)
{
    struct fixture *fixture = *state;
    SIZE_T targets[2] = { (SIZE_T)&GetTickCount, (SIZE_T)&Sleep };
    BOOL hook;

    /* docs/contract.md pitfall 19: TRUE means "wrap the call"; the default wraps all. */
    hook = 7;
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[0], &hook), S_OK);
    assert_int_equal(hook, TRUE);
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[0], NULL), E_POINTER);

    assert_hr(ht_set_hook_policy(fixture->control, TRUE, 1, targets), S_OK);
    hook = 7;
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[0], &hook), S_OK);
    assert_int_equal(hook, FALSE);
    hook = 7;
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[1], &hook), S_OK);
    assert_int_equal(hook, TRUE);

    assert_hr(ht_set_hook_policy(fixture->control, FALSE, 1, targets + 1), S_OK);
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[0], &hook), S_OK);
    assert_int_equal(hook, FALSE);
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[1], &hook), S_OK);
    assert_int_equal(hook, TRUE);
    assert_hr(ht_set_hook_policy(fixture->control, FALSE, 3, NULL), E_POINTER);
    assert_hr(ht_set_hook_policy(fixture->control, TRUE, 0, NULL), S_OK);
    assert_hr(IHostTaskManager_CallNeedsHostHook(fixture->manager, targets[0], &hook), S_OK);
    assert_int_equal(hook, TRUE);
}

static DWORD WINAPI transition_only(void *arg)
{
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    return 0;
}

static void test_binding_ends_with_thread(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskStatistics *statistics;
    ULONG live, bound, live_before, bound_before;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live_before, &bound_before), S_OK);
    /* Each thread is adopted by its first transition, and its task freed
     * when it exits, without anybody calling us. */
    run_on_thread(transition_only, NULL);
    run_on_thread(transition_only, NULL);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live, &bound), S_OK);
    assert_int_equal(live, live_before);
    assert_int_equal(bound, bound_before);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, NULL, &bound), E_POINTER);
    assert_int_equal(bound, 0);
    IHostTaskStatistics_Release(statistics);
}

static DWORD WINAPI profiled_calls(void *arg)
{
    int i;

    /* Three calls to Sleep (about 20 ms each) and 1000 to GetTickCount; one
     * GetTickCount call is nested inside a callback inside a Sleep call. */
    for (i = 0; i < 3; i++)
    {
        assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&Sleep), S_OK);
        Sleep(20);
        if (!i)
        {
            assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
            assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&GetTickCount), S_OK);
            assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
            assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
        }
        assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    }
    for (i = 0; i < 999; i++)
    {
        assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&GetTickCount), S_OK);
        assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    }
    *(HT_TASK_STATS *)arg = current_stats();
    return 0;
}

static void test_profiling(void **state)
{
    struct fixture *fixture = *state;
    HT_TARGET_STATS targets[16];
    HT_TASK_STATS task_stats;
    UINT count = 99, i, found = 0;

    manager = fixture->manager;
    assert_hr(ht_set_profiling(fixture->control, TRUE), S_OK);
    assert_hr(ht_reset_stats(fixture->control), S_OK);
    run_on_thread(profiled_calls, &task_stats);
    assert_hr(ht_set_profiling(fixture->control, FALSE), S_OK);

    /* Native time is at least the sleeps, and counted once per outermost call. */
    assert_ge(task_stats.nativeTimeNs, 55 * 1000000ull);
    assert_lt(task_stats.nativeTimeNs, 5000 * 1000000ull);
    assert_hr(ht_get_target_stats(fixture->control, 16, targets, &count), S_OK);
    assert_int_equal(count, 2);
    for (i = 0; i < count; i++)
    {
        if (targets[i].target == (SIZE_T)&Sleep)
        {
            assert_int_equal(targets[i].calls, 3);
            assert_ge(targets[i].nativeTimeNs, 55 * 1000000ull);
            found |= 1;
        }
        else if (targets[i].target == (SIZE_T)&GetTickCount)
        {
            assert_int_equal(targets[i].calls, 1000);
            assert_lt(targets[i].nativeTimeNs, task_stats.nativeTimeNs);
            found |= 2;
        }
    }
    assert_int_equal(found, 3);
    /* Too small a buffer: the count, and S_FALSE. */
    assert_hr(ht_get_target_stats(fixture->control, 1, targets, &count), S_FALSE);
    assert_int_equal(count, 2);

    /* Reset starts the targets from zero. */
    assert_hr(ht_reset_stats(fixture->control), S_OK);
    assert_hr(ht_get_target_stats(fixture->control, 16, targets, &count), S_OK);
    assert_int_equal(count, 0);
}

static DWORD WINAPI reset_worker(void *arg)
{
    HANDLE *events = arg;
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_LeaveRuntime(manager, 1), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    SetEvent(events[0]);
    assert_int_equal(WaitForSingleObject(events[1], 10000), WAIT_OBJECT_0);
    stats = current_stats();
    assert_int_equal(stats.transitions[HT_STAT_LEAVE], 0);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 1), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    stats = current_stats();
    assert_int_equal(stats.transitions[HT_STAT_LEAVE], 1);
    assert_int_equal(stats.transitions[HT_STAT_ENTER], 1);
    return 0;
}

static void test_reset_running_task(void **state)
{
    struct fixture *fixture = *state;
    HANDLE events[2], thread;

    manager = fixture->manager;
    events[0] = CreateEventW(NULL, FALSE, FALSE, NULL);
    events[1] = CreateEventW(NULL, FALSE, FALSE, NULL);
    thread = CreateThread(NULL, 0, reset_worker, events, 0, NULL);
    assert_int_equal(WaitForSingleObject(events[0], 10000), WAIT_OBJECT_0);
    /* Reset another thread's counters while it lives. */
    assert_hr(ht_reset_stats(fixture->control), S_OK);
    SetEvent(events[1]);
    assert_int_equal(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    CloseHandle(thread);
    CloseHandle(events[0]);
    CloseHandle(events[1]);
}

static void test_new_manager_starts_from_zero(void **state)
{
    IHostControl *control;
    HT_TARGET_STATS targets[4];
    UINT count = 99;
    BOOL on = TRUE;
    IHostTaskConfig *config;

    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(ht_set_profiling(control, TRUE), S_OK);
    assert_hr(ht_set_strict(control, TRUE), S_OK);
    run_on_thread(transition_only, NULL);
    assert_hr(ht_get_target_stats(control, 4, targets, &count), S_OK);
    assert_int_equal(count, 1);
    IHostTaskManager_Release(manager);
    assert_int_equal(IHostControl_Release(control), 0);

    /* The manager went with its last reference; the next one starts clean:
     * no targets, profiling and strict mode off. */
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(ht_get_target_stats(control, 4, targets, &count), S_OK);
    assert_int_equal(count, 0);
    assert_hr(ht_get_manager_interface(control, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_GetProfiling(config, &on), S_OK);
    assert_int_equal(on, FALSE);
    assert_hr(IHostTaskConfig_GetStrict(config, &on), S_OK);
    assert_int_equal(on, FALSE);
    IHostTaskConfig_Release(config);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_hr(dll_can_unload_soon(), S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        FIXTURE_TEST(test_nested_sequence),
        FIXTURE_TEST(test_unmatched_calls_are_absorbed),
        FIXTURE_TEST(test_strict_mode),
        FIXTURE_TEST(test_last_error_preserved),
        FIXTURE_TEST(test_call_needs_host_hook),
        FIXTURE_TEST(test_binding_ends_with_thread),
        FIXTURE_TEST(test_profiling),
        FIXTURE_TEST(test_reset_running_task),
        cmocka_unit_test(test_new_manager_starts_from_zero),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
