/*
 * Every failure point of every public method that allocates, creates an
 * event, a thread or a handle, or binds a thread, in the COM layer and in
 * the portable core.  Runs with HOSTTASK_TEST_FAULTS=1
 * (tests/CMakeLists.txt), which opens the DLL's test-only fault injection
 * (com/fault.h): each call, with a failure at each of its failure points in
 * turn, returns its documented HRESULT, out-pointers are NULL, no object,
 * handle, heap block or module reference is left, and the same call works
 * once the fault is gone.
 *
 * main runs these and the lifetime cases of tests/test_faults_lifetimes.c
 * in one group; the fixture is tests/faults.h's.
 */
#include "faults.h"

/* ---- Every failure point of every method that has one ---- */

struct counts
{
    ULONG live;
    DWORD handles;
    LONG heap_blocks, module_refs;
};

static void get_counts(struct counts *c)
{
    c->live = manager_live_tasks(manager);
    c->handles = open_handles();
    assert_hr(IHostTaskFaults_GetCounts(faults, &c->heap_blocks, &c->module_refs), S_OK);
}

/* Task threads give their objects back a moment after Join or Release. */
/* Heap blocks a successful run keeps by design (a replaced hook policy,
 * see docs/api.md), set by the run, owed once by the next check. */
static LONG retained_blocks;

static void expect_counts(const struct counts *before, const char *what, ULONG point)
{
    struct counts now, want = *before;
    int i;

    want.heap_blocks += retained_blocks;
    retained_blocks = 0;
    for (i = 0; i < 500; i++)
    {
        get_counts(&now);
        if (!memcmp(&now, &want, sizeof(now)))
            return;
        Sleep(10);
    }
    fail_msg("%s, failure point %lu: left tasks %lu -> %lu, handles %lu -> %lu, heap blocks %ld -> %ld, "
            "module references %ld -> %ld", what, point, before->live, now.live, before->handles,
            now.handles, before->heap_blocks, now.heap_blocks, before->module_refs, now.module_refs);
}

/* A scenario makes one call that can fail, checks that a failure left its
 * out-pointers NULL (or zeroed), undoes a success, and returns the call's
 * result.  Scenarios marked foreign run on a fresh thread, which the call
 * adopts. */
struct scenario
{
    const char *name;
    HRESULT (*run)(void);
    BOOL foreign;
    HRESULT failure;        /* the documented failure; S_OK where none may be reported */
    void (*prepare)(void), (*finish)(void);     /* around each run, outside the fault */
};

static HRESULT sc_create_host_control(void)
{
    IHostControl *control = SENTINEL;
    HRESULT hr = ht_create_host_control(&control);

    if (FAILED(hr))
        assert_null(control);
    else
        IHostControl_Release(control);
    return hr;
}

static HRESULT sc_create_task(void)
{
    IHostTask *task = SENTINEL;
    HRESULT hr = IHostTaskManager_CreateTask(manager, 0, sleeper_routine, NULL, &task);

    if (FAILED(hr))
    {
        assert_null(task);
        return hr;
    }
    assert_hr(IHostTask_Start(task), S_OK);
    assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
    IHostTask_Release(task);
    return hr;
}

static HRESULT sc_create_task_never_started(void)
{
    IHostTask *task = SENTINEL;
    HRESULT hr = IHostTaskManager_CreateTask(manager, 0, sleeper_routine, NULL, &task);

    if (FAILED(hr))
        assert_null(task);
    else
        IHostTask_Release(task);
    return hr;
}

static HRESULT sc_get_current_task(void)
{
    IHostTask *task = SENTINEL;
    HRESULT hr = IHostTaskManager_GetCurrentTask(manager, &task);

    if (FAILED(hr))
        assert_null(task);
    else
        IHostTask_Release(task);
    return hr;
}

static HRESULT sc_leave_runtime(void)
{
    HRESULT hr = IHostTaskManager_LeaveRuntime(manager, 1);

    if (SUCCEEDED(hr))
        assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    return hr;
}

static HRESULT sc_reverse_enter_runtime(void)
{
    HRESULT hr = IHostTaskManager_ReverseEnterRuntime(manager);

    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    return hr;
}

static HRESULT sc_begin_delay_abort(void)
{
    HRESULT hr = IHostTaskManager_BeginDelayAbort(manager);

    if (SUCCEEDED(hr))
        assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    return hr;
}

static HRESULT sc_set_locale(void)
{
    return IHostTaskManager_SetLocale(manager, GetThreadLocale());
}

static HRESULT sc_current_task_stats(void)
{
    IHostTaskStatistics *s = statistics();
    HT_TASK_STATS stats;
    HRESULT hr;

    memset(&stats, 0xcc, sizeof(stats));
    hr = IHostTaskStatistics_GetCurrentTaskStats(s, &stats);
    if (FAILED(hr))
        assert_int_equal(stats.taskId, 0);
    IHostTaskStatistics_Release(s);
    return hr;
}

static HRESULT sc_target_stats(void)
{
    IHostTaskStatistics *s = statistics();
    UINT count = 99;
    HRESULT hr = IHostTaskStatistics_GetTargetStats(s, 0, NULL, &count);

    if (FAILED(hr))
        assert_int_equal(count, 0);
    IHostTaskStatistics_Release(s);
    return hr;
}

/* A fresh thread's first Reset allocates its task's baseline. */
static HRESULT sc_adopt_and_reset(void)
{
    IHostTaskStatistics *s = statistics();
    HRESULT hr = sc_get_current_task();

    if (SUCCEEDED(hr))
        hr = IHostTaskStatistics_Reset(s);
    IHostTaskStatistics_Release(s);
    return hr;
}

static IHostControl *sweep_control;

static HRESULT sc_set_app_domain_manager(void)
{
    IUnknown *unknown = (IUnknown *)manager;
    HRESULT hr;
    int i;

    /* Five domains: the first allocates the table, the fifth grows it. */
    for (i = 1, hr = S_OK; i <= 5 && SUCCEEDED(hr); i++)
        hr = IHostControl_SetAppDomainManager(sweep_control, i, unknown);
    return hr;
}

/* A fresh control for each run, made and released outside the fault. */
static void new_sweep_control(void)
{
    assert_hr(ht_create_host_control(&sweep_control), S_OK);
}

static void release_sweep_control(void)
{
    assert_int_equal(IHostControl_Release(sweep_control), 0);
    sweep_control = NULL;
}

/* Cooperative mode, one slot, around the run: a task made then has its
 * scheduling state allocated with it. */
static void cooperative_on(void)
{
    IHostTaskConfig *config;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_SetScheduler(config, 1, 0), S_OK);
    IHostTaskConfig_Release(config);
}

static void cooperative_off(void)
{
    IHostTaskConfig *config;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_SetScheduler(config, 0, 0), S_OK);
    IHostTaskConfig_Release(config);
}

struct foreign_call
{
    HRESULT (*run)(void);
    HRESULT hr;
};

static DWORD WINAPI foreign_worker(void *arg)
{
    struct foreign_call *call = arg;

    call->hr = call->run();
    return 0;
}

/* One run with a fault armed at failure point n (0: none); reports whether it fired. */
static HRESULT run_scenario(const struct scenario *scenario, ULONG n, BOOL *fired)
{
    struct foreign_call call = { scenario->run, E_UNEXPECTED };
    ULONG calls;

    if (scenario->prepare)
        scenario->prepare();
    assert_hr(IHostTaskFaults_Arm(faults, HT_FAULT_ALL, n), S_OK);
    if (!scenario->foreign)
        call.hr = scenario->run();
    else
        run_on_thread_named(foreign_worker, &call, scenario->name);
    assert_hr(IHostTaskFaults_GetState(faults, fired, &calls), S_OK);
    assert_hr(IHostTaskFaults_Arm(faults, 0, 0), S_OK);
    if (scenario->finish)
        scenario->finish();
    return call.hr;
}

static const struct scenario scenarios[] =
{
    { "ht_create_host_control", sc_create_host_control, FALSE, E_OUTOFMEMORY, NULL, NULL },
    { "CreateTask, Start, Join", sc_create_task, FALSE, E_OUTOFMEMORY, NULL, NULL },
    { "CreateTask, Release", sc_create_task_never_started, FALSE, E_OUTOFMEMORY, NULL, NULL },
    { "CreateTask, Release, cooperative mode", sc_create_task_never_started, FALSE, E_OUTOFMEMORY,
      cooperative_on, cooperative_off },
    { "CreateTask on a new thread", sc_create_task, TRUE, E_OUTOFMEMORY, NULL, NULL },
    { "GetCurrentTask on a new thread", sc_get_current_task, TRUE, E_OUTOFMEMORY, NULL, NULL },
    { "LeaveRuntime on a new thread", sc_leave_runtime, TRUE, E_OUTOFMEMORY, NULL, NULL },
    /* The calls into the runtime cannot fail: the CLR would throw. */
    { "ReverseEnterRuntime on a new thread", sc_reverse_enter_runtime, TRUE, S_OK, NULL, NULL },
    { "BeginDelayAbort on a new thread", sc_begin_delay_abort, TRUE, E_OUTOFMEMORY, NULL, NULL },
    /* The locale is set; only its record on a task is lost. */
    { "SetLocale on a new thread", sc_set_locale, TRUE, S_OK, NULL, NULL },
    { "GetCurrentTaskStats on a new thread", sc_current_task_stats, TRUE, E_OUTOFMEMORY, NULL, NULL },
    { "GetTargetStats", sc_target_stats, FALSE, E_OUTOFMEMORY, NULL, NULL },
    { "GetCurrentTask and Reset on a new thread", sc_adopt_and_reset, TRUE, E_OUTOFMEMORY, NULL, NULL },
    { "SetAppDomainManager", sc_set_app_domain_manager, FALSE, E_OUTOFMEMORY, new_sweep_control,
      release_sweep_control },
};

static ULONG sweep(const struct scenario *scenario)
{
    struct counts before;
    BOOL fired;
    ULONG n;
    HRESULT hr;

    for (n = 1; n < 1000; n++)
    {
        get_counts(&before);
        hr = run_scenario(scenario, n, &fired);
        if (!fired)
        {
            if (FAILED(hr))
                fail_msg("%s failed with 0x%lx, no fault injected", scenario->name, hr);
            expect_counts(&before, scenario->name, 0);
            return n - 1;
        }
        if (hr != scenario->failure)
            fail_msg("%s, failure point %lu: 0x%lx, not 0x%lx", scenario->name, n, hr, scenario->failure);
        expect_counts(&before, scenario->name, n);
        /* With the fault gone, the same call works. */
        hr = run_scenario(scenario, 0, &fired);
        if (FAILED(hr))
            fail_msg("%s after failure point %lu: 0x%lx", scenario->name, n, hr);
        expect_counts(&before, scenario->name, n);
    }
    fail_msg("%s: more than 1000 failure points?", scenario->name);
    return 0;
}

static void test_every_failure_point(void **state)
{
    ULONG total = 0, points;
    int i;

    for (i = 0; i < (int)ARRAYSIZE(scenarios); i++)
    {
        points = sweep(&scenarios[i]);
        print_message("%-45s %lu failure points\n", scenarios[i].name, points);
        total += points;
    }
    print_message("failure points covered: %lu\n", total);
    assert_gt(total, 0);
}

/* ---- The portable core's failure points (src/, through the platform
 * layer's heap, events and threads: src/win/platform.c) ---- */

static IHostTaskConfig *config(void)
{
    IHostTaskConfig *c;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskConfig, (void **)&c), S_OK);
    return c;
}

static BOOL needs_hook(SIZE_T target)
{
    BOOL needs = 9;

    assert_hr(IHostTaskManager_CallNeedsHostHook(manager, target, &needs), S_OK);
    return needs;
}

static LONG heap_blocks_now(void)
{
    LONG blocks, refs;

    assert_hr(IHostTaskFaults_GetCounts(faults, &blocks, &refs), S_OK);
    return blocks;
}

/* The policy: a list (with a duplicate and address 0) that the default
 * does not need a hook, and the sweep runs it from the default policy, then
 * from itself. */
static HRESULT sc_set_hook_policy(void)
{
    static const SIZE_T targets[] = { 0x1000, 0x2000, 0x3000, 0x1000, 0 };
    IHostTaskConfig *c = config();
    BOOL before = needs_hook(0x4000);
    LONG blocks = heap_blocks_now();
    HRESULT hr = IHostTaskConfig_SetHookPolicy(c, FALSE, ARRAYSIZE(targets), targets);

    /* In force, or the old one stays. */
    assert_int_equal(needs_hook(0x4000), FAILED(hr) ? before : FALSE);
    if (SUCCEEDED(hr))
    {
        assert_int_equal(needs_hook(0x2000), TRUE);
        /* The policy's second buffer, the first time: it is reused after. */
        blocks = heap_blocks_now() - blocks;
        assert_in_range(blocks, 0, 1);
        retained_blocks += blocks;
    }
    IHostTaskConfig_Release(c);
    return hr;
}

static HRESULT sc_set_scheduler_on(void)
{
    IHostTaskConfig *c = config();
    HRESULT hr = IHostTaskConfig_SetScheduler(c, 2, 0);

    IHostTaskConfig_Release(c);
    return hr;
}

static HRESULT sc_set_scheduler_off(void)
{
    IHostTaskConfig *c = config();
    HRESULT hr = IHostTaskConfig_SetScheduler(c, 0, 0);

    IHostTaskConfig_Release(c);
    return hr;
}

/* Opens frames of alternating kinds, past the task's inline frames (the
 * array grows at its 3rd and 9th frame), and closes them again; a refused
 * opening closes what was opened.  Starting with a reverse call, the array
 * grows in LeaveRuntime, which reports it; starting with LeaveRuntime, it
 * grows in ReverseEnterRuntime, which must answer exactly S_OK
 * (docs/contract.md) and lets the call through uncounted in the nesting. */
static HRESULT nest(BOOL reverse_first)
{
    HRESULT hr = S_OK;
    int i, opened = 0;
    BOOL reverse[12];

    for (i = 0; i < 12 && SUCCEEDED(hr); i++)
    {
        reverse[i] = (i % 2) != reverse_first;
        hr = reverse[i] ? IHostTaskManager_ReverseEnterRuntime(manager) : IHostTaskManager_LeaveRuntime(manager, 0x100 + i);
        if (SUCCEEDED(hr))
            opened++;
    }
    while (opened--)
        assert_hr(reverse[opened] ? IHostTaskManager_ReverseLeaveRuntime(manager) : IHostTaskManager_EnterRuntime(manager),
                S_OK);
    return hr;
}

static HRESULT nest_reverse_first(void)
{
    return nest(TRUE);
}

static HRESULT nest_leave_first(void)
{
    return nest(FALSE);
}

static HRESULT sc_deep_nesting(void)
{
    HRESULT hr = sc_get_current_task();

    return SUCCEEDED(hr) ? nest_reverse_first() : hr;
}

/* An adopted thread that outlives the fault: made in a scenario's
 * prepare, it runs the scenario's calls on request and ends in finish, its
 * task (and everything the core gave it) with it. */
static struct
{
    HANDLE thread, request, done;
    HRESULT (*call)(void);
    HRESULT hr;
} worker;

static DWORD WINAPI worker_main(void *arg)
{
    IHostTask *task;

    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    IHostTask_Release(task);
    SetEvent(worker.done);
    for (;;)
    {
        WaitForSingleObject(worker.request, INFINITE);
        if (!worker.call)
            return 0;
        worker.hr = worker.call();
        SetEvent(worker.done);
    }
}

static HRESULT on_worker(HRESULT (*call)(void))
{
    worker.call = call;
    SetEvent(worker.request);
    if (WaitForSingleObject(worker.done, 10000) != WAIT_OBJECT_0)
        fail_msg("a call on the adopted thread did not return within 10 s");
    return worker.hr;
}

static void worker_start(void)
{
    assert_non_null(worker.request = CreateEventW(NULL, FALSE, FALSE, NULL));
    assert_non_null(worker.done = CreateEventW(NULL, FALSE, FALSE, NULL));
    assert_non_null(worker.thread = CreateThread(NULL, 0, worker_main, NULL, 0, NULL));
    assert_int_equal(WaitForSingleObject(worker.done, 10000), WAIT_OBJECT_0);
}

static void worker_stop(void)
{
    worker.call = NULL;
    SetEvent(worker.request);
    assert_int_equal(WaitForSingleObject(worker.thread, 10000), WAIT_OBJECT_0);
    CloseHandle(worker.thread);
    CloseHandle(worker.request);
    CloseHandle(worker.done);
}

static void set_profiling(BOOL on)
{
    IHostTaskConfig *c = config();

    assert_hr(IHostTaskConfig_SetProfiling(c, on), S_OK);
    IHostTaskConfig_Release(c);
}

static HRESULT pinvoke(void)
{
    HRESULT hr = IHostTaskManager_LeaveRuntime(manager, 0x7000);

    if (SUCCEEDED(hr))
        assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    return hr;
}

static void profiled_prepare(void)
{
    set_profiling(TRUE);
    worker_start();
}

static void profiled_finish(void)
{
    worker_stop();
    set_profiling(FALSE);
}

/* The first profiled call of a task allocates its profile: a failure
 * loses that call's profile, never the call. */
static HRESULT sc_profiled_pinvoke(void)
{
    return on_worker(pinvoke);
}

static IHostTaskTrace *trace(void)
{
    IHostTaskTrace *t;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskTrace, (void **)&t), S_OK);
    return t;
}

static void trace_finish(void)
{
    IHostTaskTrace *t = trace();

    assert_hr(IHostTaskTrace_SetBufferSize(t, 0), S_OK);
    worker_stop();
    assert_hr(IHostTaskTrace_Reset(t), S_OK);   /* frees the ended worker's buffer */
    IHostTaskTrace_Release(t);
}

/* Tracing on (a buffer for the live worker), a traced transition on it,
 * and the first read of the trace (its scratch buffer). */
static HRESULT sc_trace(void)
{
    IHostTaskTrace *t = trace();
    HT_TRACE_INFO info;
    HRESULT hr = IHostTaskTrace_SetBufferSize(t, 16);

    if (SUCCEEDED(hr))
    {
        assert_hr(on_worker(pinvoke), S_OK);
        memset(&info, 0xcc, sizeof(info));
        hr = IHostTaskTrace_GetTrace(t, 0, NULL, 0, NULL, &info);
        if (FAILED(hr))
            assert_int_equal(info.tasks, 0);
        else
            assert_ge(info.events, 2);
    }
    IHostTaskTrace_Release(t);
    return hr == S_FALSE ? S_OK : hr;
}

static HRESULT sc_deep_reverse_nesting(void)
{
    return on_worker(nest_leave_first);
}

static const struct scenario core_scenarios[] =
{
    { "SetHookPolicy with a list", sc_set_hook_policy, FALSE, E_OUTOFMEMORY, NULL, NULL },
    { "SetScheduler on", sc_set_scheduler_on, FALSE, E_OUTOFMEMORY, NULL, cooperative_off },
    { "SetScheduler replacing one", sc_set_scheduler_on, FALSE, E_OUTOFMEMORY, cooperative_on, cooperative_off },
    { "SetScheduler off", sc_set_scheduler_off, FALSE, E_OUTOFMEMORY, cooperative_on, NULL },
    { "Nesting past the inline frames on a new thread", sc_deep_nesting, TRUE, E_OUTOFMEMORY, NULL, NULL },
    { "Nesting, growing in ReverseEnterRuntime", sc_deep_reverse_nesting, FALSE, S_OK, worker_start, worker_stop },
    { "SetProfiling, a profiled P/Invoke", sc_profiled_pinvoke, FALSE, S_OK, profiled_prepare, profiled_finish },
    { "SetBufferSize, a traced P/Invoke, GetTrace", sc_trace, FALSE, E_OUTOFMEMORY, worker_start, trace_finish },
};

static void test_every_core_failure_point(void **state)
{
    IHostTaskTrace *t = trace();
    ULONG total = 0, points;
    int i;

    /* Tasks that outlive a run (this thread's, if it was adopted) get
     * their trace buffer now, so that a run's SetBufferSize only empties
     * theirs. */
    assert_hr(IHostTaskTrace_SetBufferSize(t, 16), S_OK);
    assert_hr(IHostTaskTrace_SetBufferSize(t, 0), S_OK);
    IHostTaskTrace_Release(t);
    for (i = 0; i < (int)ARRAYSIZE(core_scenarios); i++)
    {
        points = sweep(&core_scenarios[i]);
        print_message("%-45s %lu failure points\n", core_scenarios[i].name, points);
        assert_true(points > 0 || core_scenarios[i].run == sc_set_scheduler_off);
        total += points;
    }
    print_message("core failure points covered: %lu\n", total);
}

/* Replaced hook policies are reused, not kept: 10,000 replacements, of
 * sizes up to 64 targets, keep two buffers and the ones they outgrew (7
 * capacities, 0 and 4 to 128 slots, each: 16 blocks at most), where the
 * old scheme kept one per call. */
static void test_hook_policy_retention(void **state)
{
    IHostTaskConfig *c = config();
    SIZE_T targets[64];
    LONG blocks;
    int i;

    for (i = 0; i < 64; i++)
        targets[i] = 0x10000 + i * 16;
    assert_hr(IHostTaskConfig_SetHookPolicy(c, TRUE, 0, NULL), S_OK);
    blocks = heap_blocks_now();
    for (i = 0; i < 10000; i++)
    {
        assert_hr(IHostTaskConfig_SetHookPolicy(c, i & 1, (i * 37) % 65, targets), S_OK);
        assert_int_equal(needs_hook(0x9999), i & 1);
    }
    IHostTaskConfig_Release(c);
    blocks = heap_blocks_now() - blocks;
    print_message("10,000 SetHookPolicy calls kept %ld heap blocks\n", blocks);
    assert_in_range(blocks, 0, 2 + 2 * 7);
}

/* The manager's own creation: with no manager alive, a new host control
 * creates it. */
static void test_manager_creation_failures(void **state)
{
    IHostControl *control;
    LONG blocks, refs, blocks_after, refs_after;
    BOOL fired;
    ULONG n, calls;
    HRESULT hr;

    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskFaults, (void **)&faults), S_OK);
    /* The fault interface is static: it outlives the manager. */
    assert_int_equal(IHostTaskManager_Release(manager), 1);
    assert_int_equal(IHostControl_Release(control), 0);
    manager = NULL;
    for (n = 1; ; n++)
    {
        IHostTaskFaults_GetCounts(faults, &blocks, &refs);
        control = SENTINEL;
        IHostTaskFaults_Arm(faults, HT_FAULT_ALL, n);
        hr = ht_create_host_control(&control);
        IHostTaskFaults_GetState(faults, &fired, &calls);
        IHostTaskFaults_Arm(faults, 0, 0);
        if (!fired)
            break;
        assert_hr(hr, E_OUTOFMEMORY);
        assert_null(control);
        IHostTaskFaults_GetCounts(faults, &blocks_after, &refs_after);
        assert_int_equal(blocks_after, blocks);
        assert_int_equal(refs_after, refs);
    }
    print_message("ht_create_host_control, creating the manager: %lu failure points\n", n - 1);
    assert_hr(hr, S_OK);
    /* The control and the manager. */
    assert_int_equal(n - 1, 2);
    assert_int_equal(IHostControl_Release(control), 0);
    faults = NULL;
    assert_hr(dll_can_unload_soon(), S_OK);
}


int main(void)
{
    const struct CMUnitTest tests[] =
    {
        TEST(test_routine_calls_exit_thread),
        TEST(test_routine_calls_free_library_and_exit_thread),
        TEST(test_routine_terminated),
        TEST(test_no_adoption_after_thread_detach),
        TEST(test_failed_tls_binding),
        TEST(test_clr_task_not_released_under_loader_lock),
        TEST(test_waits_that_end_early_wait_the_rest),
        TEST(test_task_sees_itself_started),
        TEST(test_every_failure_point),
        TEST(test_every_core_failure_point),
        TEST(test_hook_policy_retention),
        TEST(test_racing_set_scheduler),
        cmocka_unit_test(test_manager_creation_failures),
        cmocka_unit_test(test_creation_during_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
