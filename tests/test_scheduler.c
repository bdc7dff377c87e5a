/*
 * Cooperative mode: slots, FIFO hand-off, slots given up in native code and
 * host waits, runaways asked to yield and punished, delay-abort regions
 * spared, Alert during a slot wait, and the ways to turn it on.
 */
#include "clr_fakes.h"

#include <tlhelp32.h>

static IHostTaskManager *manager;

/* The calling thread's task's counters. */
static HT_TASK_STATS task_stats(void)
{
    IHostTaskStatistics *statistics;
    HT_TASK_STATS result;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &result), S_OK);
    IHostTaskStatistics_Release(statistics);
    return result;
}

static HT_SCHEDULER_STATS scheduler_stats(struct fixture *fixture)
{
    HT_SCHEDULER_STATS stats;

    assert_hr(ht_get_scheduler_stats(fixture->control, &stats), S_OK);
    return stats;
}

/* One task's timeline. */
struct runner
{
    IHostTask *task;
    double started, ended, spin;
    struct fake_clr_task clr;
    BOOL yield_when_asked, delay_abort, attach;
    BOOL delay_abort_when_asked;   /* enters a delay-abort region once asked to yield */
    HT_TASK_STATS stats;      /* its own, at the end */
    HANDLE ready;
};

static DWORD WINAPI spinner(void *arg)
{
    struct runner *runner = arg;
    double end;

    runner->started = now_ms();
    if (runner->attach)
    {
        IHostTask *self;

        /* The CLR attaching the thread: SetCLRTask on its own thread. */
        assert_hr(IHostTaskManager_GetCurrentTask(manager, &self), S_OK);
        assert_hr(IHostTask_SetCLRTask(self, FAKE_AS_CLR_TASK(&runner->clr)), S_OK);
        IHostTask_Release(self);
    }
    if (runner->delay_abort)
        assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    /* Ready only once attached and inside its region: the test's other
     * task must not find it a runaway before. */
    if (runner->ready)
        SetEvent(runner->ready);
    /* Managed code that never yields by itself, until the CLR is asked to
     * make it yield (YieldTask), when the CLR's own safe point calls
     * SwitchToTask, as the CLR does. */
    /* Until spin ms have passed, or the test sets spin to 0. */
    end = now_ms();
    while (now_ms() < end + *(volatile double *)&runner->spin)
    {
        if (runner->delay_abort_when_asked && InterlockedCompareExchange(&runner->clr.yields, 0, 0) > 0)
        {
            InterlockedExchange(&runner->clr.yields, -1000);
            assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
            runner->delay_abort = TRUE;
        }
        if (runner->yield_when_asked && InterlockedCompareExchange(&runner->clr.yields, 0, 0))
        {
            InterlockedExchange(&runner->clr.yields, -1000);
            assert_hr(IHostTaskManager_SwitchToTask(manager, 0), S_OK);
        }
    }
    runner->stats = task_stats();
    if (runner->delay_abort)
        assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    if (runner->attach)
    {
        IHostTask *self;

        assert_hr(IHostTaskManager_GetCurrentTask(manager, &self), S_OK);
        assert_hr(IHostTask_SetCLRTask(self, NULL), S_OK);
        IHostTask_Release(self);
    }
    runner->ended = now_ms();
    return 0;
}

static void start_runner(struct runner *runner, double spin)
{
    runner->spin = spin;
    fake_clr_task_init(&runner->clr);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, spinner, runner, &runner->task), S_OK);
    assert_hr(IHostTask_Start(runner->task), S_OK);
}

static void finish_runner(struct runner *runner)
{
    assert_hr(IHostTask_Join(runner->task, 30000, 0), S_OK);
    assert_int_equal(IHostTask_Release(runner->task), 0);
    assert_int_equal(runner->clr.refcount, 1);
}

static void test_default_is_thread_per_task(void **state)
{
    struct fixture *fixture = *state;
    HT_SCHEDULER_STATS stats = scheduler_stats(fixture);
    UINT slots = 99, quantum = 99;
    IHostTaskConfig *config;

    assert_int_equal(stats.slots, 0);
    assert_hr(IHostTaskManager_QueryInterface(fixture->manager, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_GetScheduler(config, &slots, &quantum), S_OK);
    assert_int_equal(slots, 0);
    assert_int_equal(quantum, 0);
    /* Auto: one slot per processor; default quantum. */
    assert_hr(ht_set_scheduler(fixture->control, HT_SCHEDULER_AUTO, 0), S_OK);
    assert_hr(IHostTaskConfig_GetScheduler(config, &slots, &quantum), S_OK);
    assert_ge(slots, 1);
    assert_int_equal(quantum, HT_SCHEDULER_DEFAULT_QUANTUM_US);
    assert_int_equal(scheduler_stats(fixture).slots, slots);
    assert_hr(ht_set_scheduler(fixture->control, 5000, 0), E_INVALIDARG);
    assert_hr(IHostTaskConfig_GetScheduler(config, NULL, &quantum), E_POINTER);
    assert_int_equal(quantum, 0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    assert_int_equal(scheduler_stats(fixture).slots, 0);
    IHostTaskConfig_Release(config);
}

/* One slot: the second task runs only when the first gives its slot up
 * (the quantum is long enough that nobody is a runaway here).  The first
 * runs until told, once the second is seen waiting: no bound on how fast
 * the machine is. */
static void test_one_slot_serializes_managed_code(void **state)
{
    struct fixture *fixture = *state;
    struct runner a = {0}, b = {0};
    HT_SCHEDULER_STATS stats;
    double seen_waiting;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 1000000), S_OK);
    a.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&a, 1000000);
    assert_int_equal(WaitForSingleObject(a.ready, 5000), WAIT_OBJECT_0);
    start_runner(&b, 1);
    while (!scheduler_stats(fixture).waiting)
        Sleep(1);
    seen_waiting = now_ms();
    Sleep(10);
    *(volatile double *)&a.spin = 0;
    finish_runner(&a);
    finish_runner(&b);
    assert_ge(b.started, a.ended - 1.0);
    assert_true(a.stats.flags & HT_TASK_HOLDS_SLOT);
    /* b queued before it was seen waiting and got the slot after a ended. */
    assert_ge(b.stats.slotWaitNs + 1000000ull, (UINT64)((a.ended - seen_waiting) * 1e6));
    stats = scheduler_stats(fixture);
    assert_int_equal(stats.slots, 1);
    assert_ge(stats.waits, 1);
    assert_int_equal(stats.forcedYields, 0);
    assert_int_equal(stats.preemptions, 0);
    assert_ge(stats.maxWaitNs, b.stats.slotWaitNs);
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    CloseHandle(a.ready);
}

/* A runaway that cannot be asked to yield (no CLR task) is counted, and
 * preempted a quantum later: the waiter runs to its end while the
 * runaway still runs (until told). */
static void test_runaway_without_clr_task_preempted(void **state)
{
    struct fixture *fixture = *state;
    struct runner a = {0}, b = {0};
    HT_SCHEDULER_STATS stats;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    a.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&a, 1000000);
    assert_int_equal(WaitForSingleObject(a.ready, 5000), WAIT_OBJECT_0);
    start_runner(&b, 10);
    finish_runner(&b);
    assert_true(*(volatile double *)&a.ended == 0);
    *(volatile double *)&a.spin = 0;
    finish_runner(&a);
    assert_lt(b.ended, a.ended);
    assert_ge(a.stats.forcedYields, 1);
    assert_false(a.stats.flags & HT_TASK_HOLDS_SLOT);
    stats = scheduler_stats(fixture);
    assert_ge(stats.forcedYields, 1);
    assert_ge(stats.preemptions, 1);
    assert_int_equal(stats.held, 0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    CloseHandle(a.ready);
}

/* A runaway with a CLR task is asked to yield; when it does (SwitchToTask),
 * the waiter runs, and the runaway queues behind it. */
static void test_runaway_asked_to_yield(void **state)
{
    struct fixture *fixture = *state;
    struct runner a = {0}, b = {0};
    HT_SCHEDULER_STATS stats;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    a.attach = TRUE;
    a.yield_when_asked = TRUE;
    a.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&a, 1000000);
    assert_int_equal(WaitForSingleObject(a.ready, 5000), WAIT_OBJECT_0);
    start_runner(&b, 10);
    finish_runner(&b);
    /* b did not wait for a to end. */
    assert_true(*(volatile double *)&a.ended == 0);
    *(volatile double *)&a.spin = 0;
    finish_runner(&a);
    assert_lt(b.ended, a.ended);
    assert_ge(a.stats.forcedYields, 1);
    stats = scheduler_stats(fixture);
    assert_ge(stats.forcedYields, 1);
    assert_ge(stats.punishments, 1);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    CloseHandle(a.ready);
}

/* Asked to yield, a task enters a delay-abort region instead: it is not
 * preempted while inside it. */
static void test_delay_abort_after_request_not_preempted(void **state)
{
    struct fixture *fixture = *state;
    struct runner a = {0}, b = {0};

    manager = fixture->manager;
    /* A quantum from the request long enough for a loaded machine to let
     * it see the request and enter its region. */
    assert_hr(ht_set_scheduler(fixture->control, 1, 20000), S_OK);
    a.attach = TRUE;
    a.delay_abort_when_asked = TRUE;
    a.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&a, 150);
    assert_int_equal(WaitForSingleObject(a.ready, 5000), WAIT_OBJECT_0);
    start_runner(&b, 1);
    finish_runner(&a);
    finish_runner(&b);
    assert_true(a.delay_abort);
    assert_int_equal(a.stats.forcedYields, 1);
    assert_int_equal(scheduler_stats(fixture).preemptions, 0);
    assert_ge(b.started, a.ended - 1.0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    CloseHandle(a.ready);
}

/* A task inside a delay-abort region is never the one asked to yield. */
static void test_delay_abort_spared(void **state)
{
    struct fixture *fixture = *state;
    struct runner a = {0}, b = {0};

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 2000), S_OK);
    a.attach = TRUE;
    a.delay_abort = TRUE;
    a.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&a, 80);
    assert_int_equal(WaitForSingleObject(a.ready, 5000), WAIT_OBJECT_0);
    start_runner(&b, 1);
    finish_runner(&a);
    finish_runner(&b);
    assert_int_equal(a.stats.forcedYields, 0);
    assert_int_equal(a.clr.yields, 0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    CloseHandle(a.ready);
}

struct chain
{
    IHostTask *next;          /* the task to join, or NULL */
    LONG done;
};

static DWORD WINAPI chained(void *arg)
{
    struct chain *chain = arg;

    /* Host waits give the slot up: sleeping and joining while another task
     * needs the only slot cannot deadlock. */
    assert_hr(IHostTaskManager_Sleep(manager, 5, 0), S_OK);
    if (chain->next)
        assert_hr(IHostTask_Join(chain->next, 20000, WAIT_ALERTABLE | WAIT_NOTINDEADLOCK), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&GetTickCount), S_OK);
    GetTickCount();
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_SwitchToTask(manager, 0), S_OK);
    InterlockedExchange(&chain->done, 1);
    return 0;
}

static void test_waits_on_each_other_one_slot(void **state)
{
    struct fixture *fixture = *state;
    struct chain chains[8];
    IHostTask *tasks[8];
    int i;

    manager = fixture->manager;
    /* A quantum long enough that no preemption can be what saves them. */
    assert_hr(ht_set_scheduler(fixture->control, 1, 1000000), S_OK);
    /* Task i joins task i+1; they start in reverse order of need. */
    for (i = 7; i >= 0; i--)
    {
        chains[i].next = i < 7 ? tasks[i + 1] : NULL;
        chains[i].done = 0;
        assert_hr(IHostTaskManager_CreateTask(manager, 0, chained, &chains[i], &tasks[i]), S_OK);
    }
    for (i = 0; i < 8; i++)
        assert_hr(IHostTask_Start(tasks[i]), S_OK);
    for (i = 0; i < 8; i++)
    {
        assert_hr(IHostTask_Join(tasks[i], 20000, 0), S_OK);
        assert_int_equal(chains[i].done, 1);
    }
    for (i = 0; i < 8; i++)
        IHostTask_Release(tasks[i]);
    assert_int_equal(scheduler_stats(fixture).preemptions, 0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

static DWORD WINAPI blocked_in_native(void *arg)
{
    HANDLE *events = arg;

    /* A P/Invoke that blocks: the slot goes back at LeaveRuntime. */
    assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&WaitForSingleObject), S_OK);
    SetEvent(events[0]);
    WaitForSingleObject(events[1], INFINITE);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_true(task_stats().flags & HT_TASK_HOLDS_SLOT);
    return 0;
}

static void test_native_block_does_not_starve(void **state)
{
    struct fixture *fixture = *state;
    struct runner others[3] = {{0}};
    HANDLE events[2];
    IHostTask *blocked;
    int i;

    manager = fixture->manager;
    /* A quantum long enough that no preemption can be what saves them. */
    assert_hr(ht_set_scheduler(fixture->control, 1, 1000000), S_OK);
    events[0] = CreateEventW(NULL, FALSE, FALSE, NULL);
    events[1] = CreateEventW(NULL, TRUE, FALSE, NULL);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, blocked_in_native, events, &blocked), S_OK);
    assert_hr(IHostTask_Start(blocked), S_OK);
    assert_int_equal(WaitForSingleObject(events[0], 5000), WAIT_OBJECT_0);
    /* Every other task wants the only slot, and all of them get it. */
    for (i = 0; i < 3; i++)
        start_runner(&others[i], 5);
    for (i = 0; i < 3; i++)
        finish_runner(&others[i]);
    assert_hr(IHostTask_Join(blocked, 0, 0), HOST_E_TIMEOUT);
    SetEvent(events[1]);
    assert_hr(IHostTask_Join(blocked, 10000, 0), S_OK);
    IHostTask_Release(blocked);
    CloseHandle(events[0]);
    CloseHandle(events[1]);
    assert_int_equal(scheduler_stats(fixture).preemptions, 0);
    /* The blocked task kept its slot "in native code" until the first
     * other task took it back. */
    assert_ge(scheduler_stats(fixture).retakes, 1);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

struct native_leaver
{
    HANDLE left, go;
    BOOL exit_in_native;        /* ends its thread in native code */
    HT_TASK_STATS out, nested, back;
};

static DWORD WINAPI native_leaver(void *arg)
{
    struct native_leaver *n = arg;
    int i;

    /* Nobody waits: LeaveRuntime keeps the slot, marked in native code. */
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0), S_OK);
    n->out = task_stats();
    SetEvent(n->left);
    assert_int_equal(WaitForSingleObject(n->go, 30000), WAIT_OBJECT_0);
    /* Nested Leave/Enter pairs inside the open Leave, as the CLR's
     * AppDomain-unload helper waits: no slot taken, none given. */
    for (i = 0; i < 10; i++)
    {
        assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&WaitForSingleObjectEx), S_OK);
        assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    }
    n->nested = task_stats();
    if (n->exit_in_native)
        return 0;
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    n->back = task_stats();
    return 0;
}

/* A slot left in native code is retaken by a task that needs it; the
 * leaver's nested Leave/Enter pairs take no slot meanwhile (they would
 * wait for the holder to end), and its outer EnterRuntime queues for one. */
static void test_retake_from_native_and_nested_enter(void **state)
{
    struct fixture *fixture = *state;
    struct native_leaver n = {0};
    struct runner holder = {0};
    HT_SCHEDULER_STATS stats;
    IHostTask *task;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 1000000), S_OK);
    n.left = CreateEventW(NULL, FALSE, FALSE, NULL);
    n.go = CreateEventW(NULL, FALSE, FALSE, NULL);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, native_leaver, &n, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(n.left, 5000), WAIT_OBJECT_0);
    assert_true(n.out.flags & HT_TASK_HOLDS_SLOT);
    assert_true(n.out.flags & HT_TASK_SLOT_IN_NATIVE);
    assert_int_equal(scheduler_stats(fixture).held, 1);

    /* The holder takes the slot back from native code at once, and holds
     * it until the leaver's nested pairs are done. */
    holder.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    holder.attach = TRUE;
    holder.delay_abort = TRUE;
    start_runner(&holder, 1000000);
    assert_int_equal(WaitForSingleObject(holder.ready, 5000), WAIT_OBJECT_0);
    stats = scheduler_stats(fixture);
    assert_int_equal(stats.retakes, 1);
    assert_int_equal(stats.held, 1);
    assert_int_equal(stats.waits, 0);
    SetEvent(n.go);
    /* Its outer EnterRuntime waits for the holder. */
    while (!scheduler_stats(fixture).waiting)
        Sleep(1);
    assert_false(n.nested.flags & HT_TASK_HOLDS_SLOT);
    assert_int_equal(n.nested.slotAcquisitions, 1);
    *(volatile double *)&holder.spin = 0;   /* ends the holder's loop */
    finish_runner(&holder);
    assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
    assert_true(n.back.flags & HT_TASK_HOLDS_SLOT);
    assert_false(n.back.flags & HT_TASK_SLOT_IN_NATIVE);
    assert_int_equal(n.back.slotAcquisitions, 2);
    IHostTask_Release(task);
    stats = scheduler_stats(fixture);
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.preemptions, 0);
    CloseHandle(holder.ready);
    CloseHandle(n.left);
    CloseHandle(n.go);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

/* A task whose slot was retaken in native code ends there: nothing is
 * given back twice, and the slot stays with the task that retook it. */
static void test_task_exits_while_retaken(void **state)
{
    struct fixture *fixture = *state;
    struct native_leaver n = {0};
    struct runner holder = {0}, after = {0};
    IHostTask *task;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 1000000), S_OK);
    n.left = CreateEventW(NULL, FALSE, FALSE, NULL);
    n.go = CreateEventW(NULL, FALSE, FALSE, NULL);
    n.exit_in_native = TRUE;
    assert_hr(IHostTaskManager_CreateTask(manager, 0, native_leaver, &n, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(n.left, 5000), WAIT_OBJECT_0);
    holder.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&holder, 1000000);
    assert_int_equal(WaitForSingleObject(holder.ready, 5000), WAIT_OBJECT_0);
    assert_int_equal(scheduler_stats(fixture).retakes, 1);
    SetEvent(n.go);
    assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
    assert_int_equal(IHostTask_Release(task), 0);
    /* The holder still holds the only slot: a third task waits for it. */
    assert_int_equal(scheduler_stats(fixture).held, 1);
    start_runner(&after, 1);
    while (!scheduler_stats(fixture).waiting)
        Sleep(1);
    *(volatile double *)&holder.spin = 0;
    finish_runner(&holder);
    finish_runner(&after);
    assert_int_equal(scheduler_stats(fixture).held, 0);
    assert_int_equal(scheduler_stats(fixture).preemptions, 0);
    CloseHandle(holder.ready);
    CloseHandle(n.left);
    CloseHandle(n.go);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

/* A CLR task whose YieldTask yields through the host on the thread that
 * calls it (SwitchToTask, Sleep(0)).  The scheduler calls YieldTask from
 * a thread of its own, never a task's: the queue stays sound, and the
 * waiter gets the slot by preemption. */
static LONG yield_caller;

static HRESULT STDMETHODCALLTYPE reentrant_yield(ICLRTask2 *iface)
{
    InterlockedIncrement(&fake_task_impl(iface)->yields);
    InterlockedExchange(&yield_caller, (LONG)GetCurrentThreadId());
    assert_hr(IHostTaskManager_SwitchToTask(manager, 0), S_OK);
    assert_hr(IHostTaskManager_Sleep(manager, 0, 0), S_OK);
    return S_OK;
}

static void test_reentrant_yield_task(void **state)
{
    struct fixture *fixture = *state;
    static ICLRTask2Vtbl vtbl;
    struct runner a = {0}, b = {0};

    manager = fixture->manager;
    vtbl = fake_task_vtbl;
    vtbl.YieldTask = reentrant_yield;
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    a.attach = TRUE;
    a.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    a.spin = 1000000;
    fake_clr_task_init(&a.clr);
    a.clr.ICLRTask2_iface.lpVtbl = &vtbl;
    assert_hr(IHostTaskManager_CreateTask(manager, 0, spinner, &a, &a.task), S_OK);
    assert_hr(IHostTask_Start(a.task), S_OK);
    assert_int_equal(WaitForSingleObject(a.ready, 5000), WAIT_OBJECT_0);
    start_runner(&b, 1);
    /* a ignores the request: b gets the slot by preemption. */
    assert_hr(IHostTask_Join(b.task, 30000, 0), S_OK);
    *(volatile double *)&a.spin = 0;
    finish_runner(&a);
    finish_runner(&b);
    assert_ge(a.clr.yields, 1);
    /* Not on either task's thread. */
    assert_true(yield_caller != 0);
    assert_true((DWORD)yield_caller != a.stats.threadId);
    assert_true((DWORD)yield_caller != b.stats.threadId);
    assert_ge(scheduler_stats(fixture).preemptions, 1);
    assert_int_equal(scheduler_stats(fixture).waiting, 0);
    CloseHandle(a.ready);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

/* Threads of this process now. */
static int process_threads(void)
{
    HANDLE snapshot = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    THREADENTRY32 entry;
    int n = 0;

    assert_true(snapshot != INVALID_HANDLE_VALUE);
    entry.dwSize = sizeof(entry);
    if (Thread32First(snapshot, &entry))
        do
            n += entry.th32OwnerProcessID == GetCurrentProcessId();
        while (Thread32Next(snapshot, &entry));
    CloseHandle(snapshot);
    return n;
}

/* Each scheduler has its watchdog and yield threads; replacing it joins
 * them, switching to thread-per-task mode leaves none, and the fixture's
 * teardown then finds the DLL free to unload. */
static void test_scheduler_threads_stopped(void **state)
{
    struct fixture *fixture = *state;
    int before = process_threads();

    assert_hr(ht_set_scheduler(fixture->control, 2, 4000), S_OK);
    assert_int_equal(process_threads(), before + 2);
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    assert_int_equal(process_threads(), before + 2);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    assert_int_equal(process_threads(), before);
    /* Left on: the task manager's last release stops them (teardown). */
    assert_hr(ht_set_scheduler(fixture->control, 3, 4000), S_OK);
}

static DWORD WINAPI alerted_waiter(void *arg)
{
    double start = now_ms();

    /* This task waited for its slot while alerted: the alert is kept, and
     * its first alertable wait ends at once. */
    assert_hr(IHostTaskManager_Sleep(manager, 5000, WAIT_ALERTABLE), HOST_E_INTERRUPTED);
    assert_lt(now_ms() - start, 1000);
    *(double *)arg = start;
    return 0;
}

static void test_alert_during_slot_wait(void **state)
{
    struct fixture *fixture = *state;
    struct runner holder = {0};
    IHostTask *waiter;
    double waiter_started = 0;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    /* In a delay-abort region, so never preempted: the waiter surely
     * still waits for its slot when the alert comes. */
    holder.attach = TRUE;
    holder.delay_abort = TRUE;
    holder.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    start_runner(&holder, 150);
    assert_int_equal(WaitForSingleObject(holder.ready, 5000), WAIT_OBJECT_0);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, alerted_waiter, &waiter_started, &waiter), S_OK);
    assert_hr(IHostTask_Start(waiter), S_OK);
    Sleep(30);
    assert_hr(IHostTask_Alert(waiter), S_OK);
    finish_runner(&holder);
    assert_hr(IHostTask_Join(waiter, 10000, 0), S_OK);
    /* It ran only once the holder was done. */
    assert_ge(waiter_started, holder.ended - 1.0);
    IHostTask_Release(waiter);
    CloseHandle(holder.ready);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

static DWORD WINAPI sleeper_without_slot(void *arg)
{
    HANDLE *events = arg;

    assert_true(task_stats().flags & HT_TASK_HOLDS_SLOT);
    SetEvent(events[0]);
    /* Sleeps until the test alerts it, however loaded the machine is. */
    assert_hr(IHostTaskManager_Sleep(manager, INFINITE, WAIT_ALERTABLE), HOST_E_INTERRUPTED);
    assert_true(task_stats().flags & HT_TASK_HOLDS_SLOT);
    return 0;
}

/* A sleeping task does not hold its slot. */
static void test_sleep_gives_slot_up(void **state)
{
    struct fixture *fixture = *state;
    HANDLE events[1];
    IHostTask *sleeper;
    struct runner other = {0};

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    events[0] = CreateEventW(NULL, FALSE, FALSE, NULL);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, sleeper_without_slot, events, &sleeper), S_OK);
    assert_hr(IHostTask_Start(sleeper), S_OK);
    assert_int_equal(WaitForSingleObject(events[0], 5000), WAIT_OBJECT_0);
    /* other runs to its end while the sleeper sleeps: the only slot is free. */
    start_runner(&other, 5);
    finish_runner(&other);
    assert_hr(IHostTask_Join(sleeper, 0, 0), HOST_E_TIMEOUT);
    assert_hr(IHostTask_Alert(sleeper), S_OK);
    assert_hr(IHostTask_Join(sleeper, 5000, 0), S_OK);
    /* Had the sleeper kept its slot, other would have got it only by
     * preempting it. */
    assert_int_equal(scheduler_stats(fixture).preemptions, 0);
    assert_int_equal(scheduler_stats(fixture).forcedYields, 0);
    IHostTask_Release(sleeper);
    CloseHandle(events[0]);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

struct parked
{
    struct fake_clr_task clr;
    HANDLE attached, release;
};

static DWORD WINAPI parked_holder(void *arg)
{
    struct parked *parked = arg;
    IHostTask *self;

    /* A host thread the CLR sets up (SetCLRTask on its own thread takes a
     * slot), which then returns to its host's native code and blocks
     * there: the CLR makes no call on the way out, so nothing gives the
     * slot back. */
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &self), S_OK);
    assert_hr(IHostTask_SetCLRTask(self, FAKE_AS_CLR_TASK(&parked->clr)), S_OK);
    assert_true(task_stats().flags & HT_TASK_HOLDS_SLOT);
    SetEvent(parked->attached);
    WaitForSingleObject(parked->release, INFINITE);
    /* Preempted meanwhile: it holds no slot now. */
    assert_false(task_stats().flags & HT_TASK_HOLDS_SLOT);
    assert_hr(IHostTask_SetCLRTask(self, NULL), S_OK);
    IHostTask_Release(self);
    return 0;
}

/* A holder that ignores the request to yield loses its slot a quantum
 * later, so waiters never depend on its cooperation. */
static void test_parked_holder_is_preempted(void **state)
{
    struct fixture *fixture = *state;
    struct runner other = {0};
    struct parked parked;
    HT_SCHEDULER_STATS stats;
    HANDLE thread;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 1, 4000), S_OK);
    fake_clr_task_init(&parked.clr);
    parked.attached = CreateEventW(NULL, FALSE, FALSE, NULL);
    parked.release = CreateEventW(NULL, FALSE, FALSE, NULL);
    thread = CreateThread(NULL, 0, parked_holder, &parked, 0, NULL);
    assert_int_equal(WaitForSingleObject(parked.attached, 5000), WAIT_OBJECT_0);
    start_runner(&other, 5);
    /* It runs to its end while the holder is still parked. */
    assert_hr(IHostTask_Join(other.task, 5000, 0), S_OK);
    finish_runner(&other);
    assert_lt(other.stats.slotWaitNs, 1000 * 1000000ull);
    stats = scheduler_stats(fixture);
    assert_ge(stats.preemptions, 1);
    assert_ge(stats.forcedYields, 1);
    assert_ge(parked.clr.yields, 1);
    SetEvent(parked.release);
    assert_int_equal(WaitForSingleObject(thread, 5000), WAIT_OBJECT_0);
    assert_int_equal(parked.clr.refcount, 1);
    CloseHandle(thread);
    CloseHandle(parked.attached);
    CloseHandle(parked.release);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
}

/* The registered server's settings: environment, then registry. */
static void test_settings_for_registered_server(void **state)
{
    IHostControl *control;
    IHostTaskConfig *config;
    UINT slots, quantum;
    DWORD value;

    SetEnvironmentVariableA("HOSTTASK_SCHEDULER", "3,2000");
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(ht_get_manager_interface(control, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_GetScheduler(config, &slots, &quantum), S_OK);
    assert_int_equal(slots, 3);
    assert_int_equal(quantum, 2000);
    IHostTaskConfig_Release(config);
    assert_int_equal(IHostControl_Release(control), 0);
    SetEnvironmentVariableA("HOSTTASK_SCHEDULER", NULL);

    value = 2;
    assert_int_equal(RegSetKeyValueA(HKEY_CURRENT_USER, "Software\\hosttask", "SchedulerSlots", REG_DWORD,
            &value, sizeof(value)), 0);
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(ht_get_manager_interface(control, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_GetScheduler(config, &slots, &quantum), S_OK);
    assert_int_equal(slots, 2);
    assert_int_equal(quantum, HT_SCHEDULER_DEFAULT_QUANTUM_US);
    IHostTaskConfig_Release(config);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_int_equal(RegDeleteTreeA(HKEY_CURRENT_USER, "Software\\hosttask"), 0);

    /* Nothing set: thread-per-task. */
    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(ht_get_manager_interface(control, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_GetScheduler(config, &slots, &quantum), S_OK);
    assert_int_equal(slots, 0);
    IHostTaskConfig_Release(config);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_hr(dll_can_unload_soon(), S_OK);
}

/* A task born in thread-per-task mode, which then goes cooperative. */
struct late_comer
{
    HANDLE ready, go;
    DWORD last_error;
    HT_TASK_STATS stats;
};

static DWORD WINAPI late_comer(void *arg)
{
    struct late_comer *late = arg;

    SetEvent(late->ready);
    assert_int_equal(WaitForSingleObject(late->go, 30000), WAIT_OBJECT_0);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0), S_OK);
    /* The first slot makes the task's scheduling state: EnterRuntime
     * still keeps the thread's last error. */
    SetLastError(0xdead);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    late->last_error = GetLastError();
    late->stats = task_stats();
    return 0;
}

/* A task has its thread and its alert event, and no more handles in
 * either mode: slot waits block on an address (WaitOnAddress), not on an
 * event.  One born before the mode was set takes a slot at its first
 * EnterRuntime after. */
static void test_scheduler_state_only_when_cooperative(void **state)
{
    struct fixture *fixture = *state;
    struct late_comer late = {0};
    IHostTask *task, *unstarted;
    DWORD before;

    manager = fixture->manager;
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    late.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    late.go = CreateEventW(NULL, FALSE, FALSE, NULL);
    before = open_handles();
    assert_hr(IHostTaskManager_CreateTask(manager, 0, late_comer, &late, &task), S_OK);
    assert_int_equal(open_handles() - before, 2);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(late.ready, 5000), WAIT_OBJECT_0);

    assert_hr(ht_set_scheduler(fixture->control, 1, 1000000), S_OK);
    SetEvent(late.go);
    assert_hr(IHostTask_Join(task, 30000, 0), S_OK);
    assert_int_equal(IHostTask_Release(task), 0);
    assert_int_equal(late.last_error, 0xdead);
    assert_int_equal(late.stats.slotAcquisitions, 1);
    assert_true(late.stats.flags & HT_TASK_HOLDS_SLOT);
    assert_int_equal(scheduler_stats(fixture).acquisitions, 1);
    assert_int_equal(scheduler_stats(fixture).held, 0);

    /* Born in cooperative mode: no slot event. */
    before = open_handles();
    assert_hr(IHostTaskManager_CreateTask(manager, 0, late_comer, &late, &unstarted), S_OK);
    assert_int_equal(open_handles() - before, 2);
    assert_int_equal(IHostTask_Release(unstarted), 0);
    assert_hr(ht_set_scheduler(fixture->control, 0, 0), S_OK);
    CloseHandle(late.ready);
    CloseHandle(late.go);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        FIXTURE_TEST(test_default_is_thread_per_task),
        FIXTURE_TEST(test_one_slot_serializes_managed_code),
        FIXTURE_TEST(test_runaway_without_clr_task_preempted),
        FIXTURE_TEST(test_runaway_asked_to_yield),
        FIXTURE_TEST(test_delay_abort_spared),
        FIXTURE_TEST(test_delay_abort_after_request_not_preempted),
        FIXTURE_TEST(test_waits_on_each_other_one_slot),
        FIXTURE_TEST(test_native_block_does_not_starve),
        FIXTURE_TEST(test_alert_during_slot_wait),
        FIXTURE_TEST(test_sleep_gives_slot_up),
        FIXTURE_TEST(test_parked_holder_is_preempted),
        FIXTURE_TEST(test_retake_from_native_and_nested_enter),
        FIXTURE_TEST(test_task_exits_while_retaken),
        FIXTURE_TEST(test_reentrant_yield_task),
        FIXTURE_TEST(test_scheduler_threads_stopped),
        FIXTURE_TEST(test_scheduler_state_only_when_cooperative),
        cmocka_unit_test(test_settings_for_registered_server),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
