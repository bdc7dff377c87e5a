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

    /* Spec 5.7: LeaveRuntime(fn) -> ReverseEnterRuntime -> managed work with
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

    /* Spec pitfall 19: TRUE means "wrap the call"; the default wraps all. */
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
