/*
 * IHostTaskManager besides the transitions: GetCurrentTask, Sleep,
 * SwitchToTask, locales, thread affinity, delay-abort, stack guarantee.
 * Tests named pitfall_NN are regressions for the public-implementation
 * bugs listed in section 6 of the hosting contract.
 */
#include "clr_fakes.h"

static IHostTaskManager *manager;

static void test_get_current_task(void **state)
{
    struct fixture *fixture = *state;
    IHostTask *a = SENTINEL, *b = SENTINEL;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_GetCurrentTask(manager, NULL), E_POINTER);
    /* docs/contract.md pitfall 03: +1 reference per call, also when the task exists. */
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &a), S_OK);
    assert_non_null(a);
    expect_ref(a, 1);
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &b), S_OK);
    assert_ptr_equal(a, b);
    expect_ref(a, 2);
    check_interface(a, &IID_IUnknown, TRUE);
    check_interface(a, &IID_IHostTask, TRUE);
    check_interface(a, &IID_IHostTaskManager, FALSE);
    check_interface(a, &IID_ICLRTask, FALSE);
    expect_ref(a, 2);
    IHostTask_Release(b);
    IHostTask_Release(a);
}

static DWORD WINAPI get_task_worker(void *arg)
{
    IHostTask **out = arg;

    assert_hr(IHostTaskManager_GetCurrentTask(manager, out), S_OK);
    return 0;
}

/* docs/contract.md pitfall 07: the GetCurrentThread() pseudo-handle as the key would give
 * every thread the same task. */
static void pitfall_07_threads_get_distinct_tasks(void **state)
{
    struct fixture *fixture = *state;
    IHostTask *mine, *theirs = NULL, *other = NULL;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &mine), S_OK);
    run_on_thread(get_task_worker, &theirs);
    run_on_thread(get_task_worker, &other);
    assert_non_null(theirs);
    assert_non_null(other);
    assert_ptr_not_equal(mine, theirs);
    assert_ptr_not_equal(theirs, other);
    /* The threads are gone; the tasks live while referenced. */
    expect_ref(theirs, 1);
    assert_int_equal(IHostTask_Release(theirs), 0);
    assert_int_equal(IHostTask_Release(other), 0);
    IHostTask_Release(mine);
}

/* docs/contract.md pitfall 11: a timed-out Sleep is S_OK whatever the options, never
 * HOST_E_TIMEOUT or RPC_S_CALLPENDING. */
static void pitfall_11_sleep_timeout_is_s_ok(void **state)
{
    struct fixture *fixture = *state;
    DWORD options[] = { 0, WAIT_MSGPUMP, WAIT_ALERTABLE, WAIT_MSGPUMP | WAIT_ALERTABLE,
                        WAIT_NOTINDEADLOCK, 0x80 /* unknown bits are ignored */ };
    double start;
    int i;

    for (i = 0; i < (int)ARRAYSIZE(options); i++)
    {
        start = now_ms();
        assert_hr(IHostTaskManager_Sleep(fixture->manager, 10, options[i]), S_OK);
        if (now_ms() - start < 9.5)
            fail_msg("Sleep(10, 0x%lx) returned after %.2f ms", options[i], now_ms() - start);
    }
    assert_hr(IHostTaskManager_Sleep(fixture->manager, 0, 0), S_OK);
    assert_hr(IHostTaskManager_Sleep(fixture->manager, 0, WAIT_ALERTABLE), S_OK);
    assert_hr(IHostTaskManager_SwitchToTask(fixture->manager, 0), S_OK);
}

static DWORD WINAPI unknown_options_worker(void *arg)
{
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;
    IHostTask *task;

    /* Sleep does not adopt a thread; the counts go to the caller's task. */
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    IHostTask_Release(task);
    assert_hr(IHostTaskManager_Sleep(manager, 1, 0x80), S_OK);
    assert_hr(IHostTaskManager_Sleep(manager, 1, WAIT_ALERTABLE | 0x100), S_OK);
    assert_hr(IHostTaskManager_Sleep(manager, 1, WAIT_ALERTABLE | WAIT_MSGPUMP | WAIT_NOTINDEADLOCK), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_int_equal(stats.unknownOptions, 2);
    assert_int_equal(stats.sleeps, 3);
    IHostTaskStatistics_Release(statistics);
    return 0;
}

/* Unknown option bits are ignored, and counted on the caller's task. */
static void test_unknown_options_counted(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    run_on_thread(unknown_options_worker, NULL);
}

struct lock_sleeper
{
    IHostTask *task;
    UINT64 task_id;
    HANDLE ready;
    HRESULT result;
};

/* Sleeps a minute, alertably: the test ends the sleep with an alert. */
static DWORD WINAPI sleeping_task_free_of_lock(void *arg)
{
    struct lock_sleeper *sleeper = arg;
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_GetCurrentTask(manager, &sleeper->task), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    IHostTaskStatistics_Release(statistics);
    sleeper->task_id = stats.taskId;
    SetEvent(sleeper->ready);
    sleeper->result = IHostTaskManager_Sleep(manager, 60000, WAIT_ALERTABLE);
    return 0;
}

static DWORD WINAPI dummy_routine(void *arg)
{
    return 0;
}

/* The sleeper's Sleep count, once it has one (its Sleep has begun). */
static UINT64 sleeps_of(UINT64 task_id)
{
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats[64];
    UINT count, i;
    UINT64 sleeps = 0;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    IHostTaskStatistics_GetTaskStats(statistics, 64, stats, &count);
    for (i = 0; i < count && i < 64; i++)
        if (stats[i].taskId == task_id)
            sleeps = stats[i].sleeps;
    IHostTaskStatistics_Release(statistics);
    return sleeps;
}

/* The calls a sleeping task must not block, once its Sleep has begun. */
static DWORD WINAPI calls_beside_a_sleeper(void *arg)
{
    struct lock_sleeper *sleeper = arg;
    IHostTask *task, *created;
    int i;

    for (i = 0; i < 1000 && !sleeps_of(sleeper->task_id); i++)
        Sleep(1);
    assert_int_equal(sleeps_of(sleeper->task_id), 1);

    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, dummy_routine, NULL, &created), S_OK);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTask_Start(created), S_OK);
    assert_hr(IHostTask_Join(created, 5000, 0), S_OK);
    IHostTask_Release(created);
    IHostTask_Release(task);
    return 0;
}

/* docs/contract.md pitfall 08: no process-wide lock is held across a wait.  A task
 * sleeps for a minute; beside it, the calls that take the registry and
 * start a thread must finish (given 10 s, not the minute), and then an
 * alert ends the sleep.  No timing threshold: a lock held across the
 * sleep would hold the calls for the whole minute. */
static void pitfall_08_no_lock_across_sleep(void **state)
{
    struct fixture *fixture = *state;
    struct lock_sleeper sleeper = { NULL, 0, NULL, E_UNEXPECTED };
    HANDLE thread, calls;

    manager = fixture->manager;
    sleeper.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    thread = CreateThread(NULL, 0, sleeping_task_free_of_lock, &sleeper, 0, NULL);
    assert_int_equal(WaitForSingleObject(sleeper.ready, 10000), WAIT_OBJECT_0);
    calls = CreateThread(NULL, 0, calls_beside_a_sleeper, &sleeper, 0, NULL);
    if (WaitForSingleObject(calls, 10000) != WAIT_OBJECT_0)
        fail_msg("statistics, GetCurrentTask, CreateTask, Start or Join blocked while another task slept");
    CloseHandle(calls);
    assert_no_worker_failures();
    /* The sleeper was still asleep all along: only the alert ends it. */
    assert_int_equal(WaitForSingleObject(thread, 0), WAIT_TIMEOUT);
    assert_hr(IHostTask_Alert(sleeper.task), S_OK);
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        fail_msg("an alert did not end Sleep(60000, WAIT_ALERTABLE) within 10 s");
    assert_hr(sleeper.result, HOST_E_INTERRUPTED);
    IHostTask_Release(sleeper.task);
    CloseHandle(thread);
    CloseHandle(sleeper.ready);
}

static DWORD WINAPI affinity_worker(void *arg)
{
    /* The CLR brackets its locks on threads with no task: nested, S_OK each. */
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    return 0;
}

static void test_thread_affinity(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;
    ULONG live, bound, live2, bound2;
    int i;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live, &bound), S_OK);
    run_on_thread(affinity_worker, NULL);
    /* Affinity alone does not adopt a thread. */
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live2, &bound2), S_OK);
    assert_int_equal(live2, live);

    /* Deep nesting, and the depth shows in the task's statistics. */
    for (i = 0; i < 1000; i++)
        assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_int_equal(stats.affinityDepth, 1000);
    for (i = 0; i < 1000; i++)
        assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_int_equal(stats.affinityDepth, 0);
    IHostTaskStatistics_Release(statistics);
}

static DWORD WINAPI delay_abort_worker(void *arg)
{
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    /* docs/contract.md §5.17: not nested; an extra Begin or End is refused, changing nothing. */
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_true(stats.flags & HT_TASK_DELAY_ABORT);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_false(stats.flags & HT_TASK_DELAY_ABORT);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    IHostTaskStatistics_Release(statistics);
    return 0;
}

static void test_delay_abort(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    run_on_thread(delay_abort_worker, NULL);
}

static DWORD WINAPI stack_guarantee_worker(void *arg)
{
    ULONG guarantee = 0xdeadbeef;

    /* docs/contract.md pitfall 14: the value is always written. */
    assert_hr(IHostTaskManager_GetStackGuarantee(manager, &guarantee), S_OK);
    assert_int_not_equal(guarantee, 0xdeadbeef);
    /* docs/contract.md §5.16: what the CLR does when the guarantee is too small. */
    assert_hr(IHostTaskManager_SetStackGuarantee(manager, 64 * 1024), S_OK);
    guarantee = 0xdeadbeef;
    assert_hr(IHostTaskManager_GetStackGuarantee(manager, &guarantee), S_OK);
    assert_int_equal(guarantee, 64 * 1024);
    assert_hr(IHostTaskManager_GetStackGuarantee(manager, NULL), E_POINTER);
    return 0;
}

static void pitfall_14_stack_guarantee_written(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    run_on_thread(stack_guarantee_worker, NULL);
}

static DWORD WINAPI locale_worker(void *arg)
{
    LCID german = MAKELCID(MAKELANGID(LANG_GERMAN, SUBLANG_GERMAN), SORT_DEFAULT);
    LCID french = MAKELCID(MAKELANGID(LANG_FRENCH, SUBLANG_FRENCH), SORT_DEFAULT);
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;

    /* Applied to the calling thread, and recorded on its task.  (Wine's
     * GetThreadUILanguage is a stub, so the UI language is checked through
     * the task's record only.) */
    assert_hr(IHostTaskManager_SetLocale(manager, german), S_OK);
    assert_int_equal(GetThreadLocale(), german);
    assert_hr(IHostTaskManager_SetUILocale(manager, french), S_OK);
    assert_hr(IHostTaskManager_SetLocale(manager, 0x7fff0000), E_INVALIDARG);
    assert_int_equal(GetThreadLocale(), german);
    assert_hr(IHostTaskManager_SetUILocale(manager, 0x7fff0000), E_INVALIDARG);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_int_equal(stats.locale, german);
    assert_int_equal(stats.uiLocale, french);
    IHostTaskStatistics_Release(statistics);
    return 0;
}

static void test_locales(void **state)
{
    struct fixture *fixture = *state;
    LCID before = GetThreadLocale();

    manager = fixture->manager;
    run_on_thread(locale_worker, NULL);
    /* Only that thread's locale changed. */
    assert_int_equal(GetThreadLocale(), before);
}

static LONG timer_fired;

static VOID CALLBACK note_timer(HWND hwnd, UINT message, UINT_PTR id, DWORD time)
{
    InterlockedIncrement(&timer_fired);
}

static DWORD WINAPI sta_pump_worker(void *arg)
{
    UINT_PTR timer;

    /* docs/contract.md pitfall 18: WAIT_MSGPUMP on an STA thread pumps, and still
     * returns S_OK when the time runs out. */
    assert_hr(CoInitializeEx(NULL, COINIT_APARTMENTTHREADED), S_OK);
    timer = SetTimer(NULL, 0, 10, note_timer);
    assert_int_not_equal(timer, 0);
    assert_hr(IHostTaskManager_Sleep(manager, 200, WAIT_MSGPUMP), S_OK);
    assert_gt(InterlockedCompareExchange(&timer_fired, 0, 0), 0);
    KillTimer(NULL, timer);
    CoUninitialize();
    return 0;
}

static void pitfall_18_msgpump_on_sta(void **state)
{
    struct fixture *fixture = *state;

    manager = fixture->manager;
    timer_fired = 0;
    run_on_thread(sta_pump_worker, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        FIXTURE_TEST(test_get_current_task),
        FIXTURE_TEST(pitfall_07_threads_get_distinct_tasks),
        FIXTURE_TEST(pitfall_11_sleep_timeout_is_s_ok),
        FIXTURE_TEST(test_unknown_options_counted),
        FIXTURE_TEST(pitfall_08_no_lock_across_sleep),
        FIXTURE_TEST(test_thread_affinity),
        FIXTURE_TEST(test_delay_abort),
        FIXTURE_TEST(pitfall_14_stack_guarantee_written),
        FIXTURE_TEST(test_locales),
        FIXTURE_TEST(pitfall_18_msgpump_on_sta),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
