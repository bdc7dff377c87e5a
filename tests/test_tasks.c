/*
 * IHostTask and CreateTask: start exactly once, alerts, joins, priority,
 * the CLR task link, and their races.  Tests named pitfall_NN are
 * regressions for the public-implementation bugs listed in section 6 of
 * the hosting contract.
 */
#include "clr_fakes.h"

static IHostTaskManager *manager;

struct routine
{
    LONG runs;
    IHostTask *seen;       /* GetCurrentTask on the task's own thread */
    HANDLE started, release;
};

static DWORD WINAPI counting_routine(void *arg)
{
    struct routine *routine = arg;

    InterlockedIncrement(&routine->runs);
    IHostTaskManager_GetCurrentTask(manager, &routine->seen);
    if (routine->started)
        SetEvent(routine->started);
    if (routine->release)
        WaitForSingleObject(routine->release, INFINITE);
    return 42;
}

static void init_routine(struct routine *routine, BOOL wait)
{
    memset(routine, 0, sizeof(*routine));
    routine->started = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (wait)
        routine->release = CreateEventW(NULL, TRUE, FALSE, NULL);
}

static void free_routine(struct routine *routine)
{
    if (routine->seen)
        IHostTask_Release(routine->seen);
    CloseHandle(routine->started);
    if (routine->release)
        CloseHandle(routine->release);
}

/* docs/contract.md pitfall 05: Start is S_OK exactly once and the routine runs once;
 * nothing runs before Start (docs/contract.md §5.11). */
static void pitfall_05_start_once(void **state)
{
    struct fixture *fixture = *state;
    struct routine routine;
    IHostTask *task = SENTINEL;

    manager = fixture->manager;
    init_routine(&routine, FALSE);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, counting_routine, &routine, &task), S_OK);
    assert_non_null(task);
    expect_ref(task, 1);
    assert_int_equal(WaitForSingleObject(routine.started, 100), WAIT_TIMEOUT);
    assert_int_equal(routine.runs, 0);
    assert_hr(IHostTask_SetPriority(task, THREAD_PRIORITY_NORMAL), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_hr(IHostTask_Start(task), HOST_E_INVALIDOPERATION);
    assert_hr(IHostTask_Join(task, 5000, WAIT_ALERTABLE | WAIT_NOTINDEADLOCK), S_OK);
    assert_int_equal(routine.runs, 1);
    /* The routine's thread saw its own task (docs/contract.md §5.11). */
    assert_ptr_equal(routine.seen, task);
    assert_hr(IHostTask_Start(task), HOST_E_INVALIDOPERATION);
    /* Joining an ended task returns at once, again and again. */
    assert_hr(IHostTask_Join(task, 0, 0), S_OK);
    expect_ref(task, 2);
    free_routine(&routine);
    assert_int_equal(IHostTask_Release(task), 0);
}

static void test_create_task_arguments(void **state)
{
    struct fixture *fixture = *state;
    IHostTask *task = SENTINEL;

    assert_hr(IHostTaskManager_CreateTask(fixture->manager, 0, NULL, NULL, &task), E_INVALIDARG);
    assert_null(task);
    assert_hr(IHostTaskManager_CreateTask(fixture->manager, 0, counting_routine, NULL, NULL), E_POINTER);
}

/* docs/contract.md pitfall 06: a failed creation returns E_OUTOFMEMORY and a NULL task
 * and leaves nothing behind. */
static void pitfall_06_creation_failure_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskStatistics *statistics;
    IHostTask *task = SENTINEL;
    ULONG live, bound, live2, bound2;
    DWORD handles, handles2;

    assert_hr(IHostTaskManager_QueryInterface(fixture->manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live, &bound), S_OK);
    handles = open_handles();
    assert_hr(IHostTaskManager_CreateTask(fixture->manager, 0xffffffff, counting_routine, NULL, &task),
            E_OUTOFMEMORY);
    assert_null(task);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live2, &bound2), S_OK);
    handles2 = open_handles();
    assert_int_equal(live2, live);
    assert_int_equal(handles2, handles);
    IHostTaskStatistics_Release(statistics);
}

static DWORD WINAPI stack_probe(void *arg)
{
    MEMORY_BASIC_INFORMATION info;
    volatile int marker = 0;
    NT_TIB *tib;

    /* NtCurrentTeb() trips gcc 12's -Warray-bounds; read the TIB pointer
     * from its own field. */
#ifdef __x86_64__
    __asm__ ("movq %%gs:0x30, %0" : "=r"(tib));
#else
    __asm__ ("movl %%fs:0x18, %0" : "=r"(tib));
#endif
    /* The reservation runs from the allocation base of the stack region up
     * to the TIB's StackBase. */
    assert_int_not_equal(VirtualQuery((void *)&marker, &info, sizeof(info)), 0);
    *(ULONG_PTR *)arg = (ULONG_PTR)tib->StackBase - (ULONG_PTR)info.AllocationBase;
    return 0;
}

static void test_stack_size_honoured(void **state)
{
    struct fixture *fixture = *state;
    ULONG_PTR reserved = 0;
    IHostTask *task;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_CreateTask(manager, 8 << 20, stack_probe, &reserved, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_hr(IHostTask_Join(task, 5000, 0), S_OK);
    assert_ge(reserved, (8 << 20));
    IHostTask_Release(task);
}

static DWORD WINAPI alertable_sleeper(void *arg)
{
    HANDLE *events = arg;
    double start;

    SetEvent(events[0]);
    start = now_ms();
    assert_hr(IHostTaskManager_Sleep(manager, 5000, WAIT_ALERTABLE), HOST_E_INTERRUPTED);
    assert_lt(now_ms() - start, 2500);
    return 0;
}

/* docs/contract.md pitfall 12 and §5.13: Alert ends an alertable Sleep at once. */
static void pitfall_12_alert_ends_alertable_sleep(void **state)
{
    struct fixture *fixture = *state;
    HANDLE events[1];
    IHostTask *task;

    manager = fixture->manager;
    events[0] = CreateEventW(NULL, FALSE, FALSE, NULL);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, alertable_sleeper, events, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(events[0], 5000), WAIT_OBJECT_0);
    Sleep(50);
    assert_hr(IHostTask_Alert(task), S_OK);
    assert_hr(IHostTask_Join(task, 5000, 0), S_OK);
    /* Alert on an ended task: S_OK, no effect, never blocks. */
    assert_hr(IHostTask_Alert(task), S_OK);
    IHostTask_Release(task);
    CloseHandle(events[0]);
}

static DWORD WINAPI non_alertable_sleeper(void *arg)
{
    HANDLE *events = arg;
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;
    double start;

    SetEvent(events[0]);
    assert_int_equal(WaitForSingleObject(events[1], 5000), WAIT_OBJECT_0);
    /* The alert is already pending: a non-alertable Sleep takes its full
     * time and leaves the alert for the next alertable wait. */
    start = now_ms();
    assert_hr(IHostTaskManager_Sleep(manager, 100, 0), S_OK);
    assert_ge(now_ms() - start, 95);
    assert_hr(IHostTaskManager_Sleep(manager, 5000, WAIT_ALERTABLE), HOST_E_INTERRUPTED);
    /* Consumed: the next alertable wait runs its time. */
    assert_hr(IHostTaskManager_Sleep(manager, 10, WAIT_ALERTABLE), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_int_equal(stats.alerts, 1);
    assert_int_equal(stats.interruptedWaits, 1);
    assert_int_equal(stats.sleeps, 3);
    IHostTaskStatistics_Release(statistics);
    return 0;
}

static void test_alert_waits_for_alertable_wait(void **state)
{
    struct fixture *fixture = *state;
    HANDLE events[2];
    IHostTask *task;

    manager = fixture->manager;
    events[0] = CreateEventW(NULL, FALSE, FALSE, NULL);
    events[1] = CreateEventW(NULL, FALSE, FALSE, NULL);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, non_alertable_sleeper, events, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(events[0], 5000), WAIT_OBJECT_0);
    assert_hr(IHostTask_Alert(task), S_OK);
    SetEvent(events[1]);
    assert_hr(IHostTask_Join(task, 5000, 0), S_OK);
    IHostTask_Release(task);
    CloseHandle(events[0]);
    CloseHandle(events[1]);
}

static DWORD WINAPI forever_routine(void *arg)
{
    WaitForSingleObject((HANDLE)arg, INFINITE);
    return 0;
}

struct joiner
{
    IHostTask *target;
    IHostTask *self;
    HANDLE ready;
    HRESULT result;
};

static DWORD WINAPI alertable_joiner(void *arg)
{
    struct joiner *joiner = arg;

    assert_hr(IHostTaskManager_GetCurrentTask(manager, &joiner->self), S_OK);
    SetEvent(joiner->ready);
    joiner->result = IHostTask_Join(joiner->target, INFINITE, WAIT_ALERTABLE | WAIT_NOTINDEADLOCK);
    return 0;
}

/* docs/contract.md pitfall 13: an alertable Join is ended by an alert on the joining
 * task (not the joined one), with HOST_E_INTERRUPTED. */
static void pitfall_13_join_is_alertable(void **state)
{
    struct fixture *fixture = *state;
    struct joiner joiner;
    HANDLE stop, thread;

    manager = fixture->manager;
    stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    memset(&joiner, 0, sizeof(joiner));
    joiner.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, forever_routine, stop, &joiner.target), S_OK);
    assert_hr(IHostTask_Start(joiner.target), S_OK);
    thread = CreateThread(NULL, 0, alertable_joiner, &joiner, 0, NULL);
    assert_int_equal(WaitForSingleObject(joiner.ready, 5000), WAIT_OBJECT_0);
    Sleep(50);
    /* Alerting the joined task does nothing to the joiner... */
    assert_hr(IHostTask_Alert(joiner.target), S_OK);
    assert_int_equal(WaitForSingleObject(thread, 100), WAIT_TIMEOUT);
    /* ... alerting the joiner ends its wait. */
    assert_hr(IHostTask_Alert(joiner.self), S_OK);
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        fail_msg("an alert on the joiner did not end its Join(INFINITE, WAIT_ALERTABLE) within 10 s");
    assert_hr(joiner.result, HOST_E_INTERRUPTED);
    /* A timed join on a running task times out. */
    assert_hr(IHostTask_Join(joiner.target, 20, 0), HOST_E_TIMEOUT);
    SetEvent(stop);
    assert_hr(IHostTask_Join(joiner.target, 5000, 0), S_OK);
    IHostTask_Release(joiner.target);
    IHostTask_Release(joiner.self);
    CloseHandle(thread);
    CloseHandle(stop);
    CloseHandle(joiner.ready);
}

static void test_self_join(void **state)
{
    struct fixture *fixture = *state;
    IHostTask *self;
    LARGE_INTEGER frequency, start, end;
    double elapsed_ms;

    assert_hr(IHostTaskManager_GetCurrentTask(fixture->manager, &self), S_OK);
    /* Waiting for one's own end forever is a deadlock: said so unless told
     * not to (a wait told not to would never end, so it is not tried). */
    assert_hr(IHostTask_Join(self, INFINITE, 0), HOST_E_DEADLOCK);
    assert_hr(IHostTask_Join(self, INFINITE, WAIT_ALERTABLE), HOST_E_DEADLOCK);
    /* A finite self-join (managed Thread.CurrentThread.Join(ms), which
     * passes WAIT_ALERTABLE and never WAIT_NOTINDEADLOCK) waits its time
     * and times out; Join(0) times out at once. */
    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&start);
    assert_hr(IHostTask_Join(self, 100, WAIT_ALERTABLE), HOST_E_TIMEOUT);
    QueryPerformanceCounter(&end);
    elapsed_ms = (double)(end.QuadPart - start.QuadPart) * 1000.0 / (double)frequency.QuadPart;
    assert_ge(elapsed_ms, 90.0);
    assert_hr(IHostTask_Join(self, 0, WAIT_ALERTABLE), HOST_E_TIMEOUT);
    assert_hr(IHostTask_Join(self, 0, 0), HOST_E_TIMEOUT);
    assert_hr(IHostTask_Join(self, 10, WAIT_NOTINDEADLOCK), HOST_E_TIMEOUT);
    IHostTask_Release(self);
}

struct adopted
{
    IHostTask *task;
    HANDLE ready, release;
};

static DWORD WINAPI adopted_thread(void *arg)
{
    struct adopted *adopted = arg;

    assert_hr(IHostTaskManager_GetCurrentTask(manager, &adopted->task), S_OK);
    SetEvent(adopted->ready);
    WaitForSingleObject(adopted->release, INFINITE);
    return 0;
}

/* docs/contract.md pitfall 07: SetPriority and Join act on the task's thread, not the
 * caller's, also for an adopted thread. */
static void pitfall_07_priority_and_join_hit_the_task(void **state)
{
    struct fixture *fixture = *state;
    struct adopted adopted;
    HANDLE thread;
    int priority = 99;

    manager = fixture->manager;
    adopted.ready = CreateEventW(NULL, FALSE, FALSE, NULL);
    adopted.release = CreateEventW(NULL, FALSE, FALSE, NULL);
    thread = CreateThread(NULL, 0, adopted_thread, &adopted, 0, NULL);
    assert_int_equal(WaitForSingleObject(adopted.ready, 5000), WAIT_OBJECT_0);

    assert_hr(IHostTask_SetPriority(adopted.task, THREAD_PRIORITY_BELOW_NORMAL), S_OK);
    assert_int_equal(GetThreadPriority(thread), THREAD_PRIORITY_BELOW_NORMAL);
    assert_int_equal(GetThreadPriority(GetCurrentThread()), THREAD_PRIORITY_NORMAL);
    assert_hr(IHostTask_GetPriority(adopted.task, &priority), S_OK);
    assert_int_equal(priority, THREAD_PRIORITY_BELOW_NORMAL);
    assert_hr(IHostTask_SetPriority(adopted.task, 3), E_INVALIDARG);
    assert_hr(IHostTask_SetPriority(adopted.task, -3), E_INVALIDARG);
    assert_hr(IHostTask_GetPriority(adopted.task, NULL), E_POINTER);
    assert_hr(IHostTask_Start(adopted.task), HOST_E_INVALIDOPERATION);

    assert_hr(IHostTask_Join(adopted.task, 20, 0), HOST_E_TIMEOUT);
    SetEvent(adopted.release);
    assert_hr(IHostTask_Join(adopted.task, 5000, 0), S_OK);
    assert_int_equal(WaitForSingleObject(thread, 5000), WAIT_OBJECT_0);
    /* The binding ended with the thread; the object lives while referenced. */
    assert_hr(IHostTask_Join(adopted.task, 0, 0), S_OK);
    assert_int_equal(IHostTask_Release(adopted.task), 0);
    CloseHandle(thread);
    CloseHandle(adopted.ready);
    CloseHandle(adopted.release);
}

static void test_priority_before_start(void **state)
{
    struct fixture *fixture = *state;
    struct routine routine;
    IHostTask *task;
    int priority = 99;

    manager = fixture->manager;
    init_routine(&routine, TRUE);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, counting_routine, &routine, &task), S_OK);
    assert_hr(IHostTask_SetPriority(task, THREAD_PRIORITY_ABOVE_NORMAL), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(routine.started, 5000), WAIT_OBJECT_0);
    assert_hr(IHostTask_GetPriority(task, &priority), S_OK);
    assert_int_equal(priority, THREAD_PRIORITY_ABOVE_NORMAL);
    SetEvent(routine.release);
    assert_hr(IHostTask_Join(task, 5000, 0), S_OK);
    free_routine(&routine);
    IHostTask_Release(task);
}

static LONG cancelled_runs;

static DWORD WINAPI must_not_run(void *arg)
{
    InterlockedIncrement(&cancelled_runs);
    return 0;
}

/* docs/contract.md pitfalls 04 and 20: the CLR task is AddRef'd when stored, released
 * when replaced, cleared by NULL, released when the task object goes. */
static void pitfall_20_set_clr_task(void **state)
{
    struct fixture *fixture = *state;
    struct fake_clr_task a, b;
    IHostTask *task;
    ULONG live;

    manager = fixture->manager;
    live = manager_live_tasks(manager);
    fake_clr_task_init(&a);
    fake_clr_task_init(&b);
    cancelled_runs = 0;
    assert_hr(IHostTaskManager_CreateTask(manager, 0, must_not_run, NULL, &task), S_OK);
    assert_hr(IHostTask_SetCLRTask(task, NULL), S_OK);
    assert_hr(IHostTask_SetCLRTask(task, FAKE_AS_CLR_TASK(&a)), S_OK);
    assert_int_equal(a.refcount, 2);
    assert_hr(IHostTask_SetCLRTask(task, FAKE_AS_CLR_TASK(&b)), S_OK);
    assert_int_equal(a.refcount, 1);
    assert_int_equal(b.refcount, 2);
    assert_hr(IHostTask_SetCLRTask(task, NULL), S_OK);
    assert_int_equal(b.refcount, 1);
    assert_hr(IHostTask_SetCLRTask(task, FAKE_AS_CLR_TASK(&a)), S_OK);
    /* Never started: releasing it lets its thread run out, without the routine. */
    assert_int_equal(IHostTask_Release(task), 0);
    manager_wait_live_tasks(manager, live);
    assert_int_equal(a.refcount, 1);
    assert_int_equal(cancelled_runs, 0);
}

static void pitfall_10_task_query_interface(void **state)
{
    struct fixture *fixture = *state;
    IHostTask *task;
    IUnknown *unk;
    ULONG live;

    assert_hr(IHostTaskManager_CreateTask(fixture->manager, 0, must_not_run, NULL, &task), S_OK);
    check_interface(task, &IID_IUnknown, TRUE);
    check_interface(task, &IID_IHostTask, TRUE);
    check_interface(task, &IID_IHostTaskManager, FALSE);
    check_interface(task, &IID_ICLRTask, FALSE);
    assert_hr(IHostTask_QueryInterface(task, &IID_IUnknown, (void **)&unk), S_OK);
    assert_ptr_equal(unk, task);
    expect_ref(task, 2);
    IUnknown_Release(unk);
    manager = fixture->manager;
    live = manager_live_tasks(manager);
    assert_int_equal(IHostTask_Release(task), 0);
    manager_wait_live_tasks(manager, live - 1);
}

/* docs/contract.md pitfall 09: no fixed table; 256 tasks live at once. */
static void pitfall_09_many_live_tasks(void **state)
{
    struct fixture *fixture = *state;
    IHostTask *tasks[256];
    HANDLE stop;
    ULONG live;
    int i;

    manager = fixture->manager;
    live = manager_live_tasks(manager);
    stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    for (i = 0; i < 256; i++)
    {
        assert_hr(IHostTaskManager_CreateTask(manager, 0, forever_routine, stop, &tasks[i]), S_OK);
        assert_hr(IHostTask_Start(tasks[i]), S_OK);
    }
    assert_int_equal(manager_live_tasks(manager), live + 256);
    SetEvent(stop);
    for (i = 0; i < 256; i++)
    {
        assert_hr(IHostTask_Join(tasks[i], 10000, 0), S_OK);
        IHostTask_Release(tasks[i]);
    }
    manager_wait_live_tasks(manager, live);
    CloseHandle(stop);
}

struct storm
{
    HANDLE go;
    LONG created;
};

static DWORD WINAPI storm_worker(void *arg)
{
    struct storm *storm = arg;
    IHostTask *task;
    int i;

    WaitForSingleObject(storm->go, INFINITE);
    for (i = 0; i < 100; i++)
    {
        if (IHostTaskManager_CreateTask(manager, 0, must_not_run, NULL, &task) != S_OK)
            continue;
        InterlockedIncrement(&storm->created);
        assert_hr(IHostTask_Start(task), S_OK);
        assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
        IHostTask_Release(task);
    }
    return 0;
}

/* docs/contract.md pitfalls 16 and 17: a CreateTask storm from 8 threads, 800 tasks
 * through their whole life: every one created, every one freed, no handle
 * left behind. */
static void pitfall_16_17_create_storm_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    HANDLE threads[8];
    struct storm storm;
    DWORD handles, handles2;
    ULONG live;
    int i;

    manager = fixture->manager;
    live = manager_live_tasks(manager);
    cancelled_runs = 0;
    storm.go = CreateEventW(NULL, TRUE, FALSE, NULL);
    storm.created = 0;
    for (i = 0; i < 8; i++)
        threads[i] = CreateThread(NULL, 0, storm_worker, &storm, 0, NULL);
    handles = open_handles();
    SetEvent(storm.go);
    assert_int_equal(WaitForMultipleObjects(8, threads, TRUE, 60000), WAIT_OBJECT_0);
    assert_int_equal(storm.created, 800);
    assert_int_equal(cancelled_runs, 800);
    manager_wait_live_tasks(manager, live);
    handles2 = open_handles();
    assert_int_equal(handles2, handles);
    for (i = 0; i < 8; i++)
        CloseHandle(threads[i]);
    CloseHandle(storm.go);
}

struct racer
{
    IHostTask *task;
    LONG interrupted, elapsed, drained;
};

static DWORD WINAPI short_sleeper(void *arg)
{
    struct racer *racer = arg;
    HRESULT hr;
    int i;

    for (i = 0; i < 200; i++)
    {
        hr = IHostTaskManager_Sleep(manager, 1, WAIT_ALERTABLE);
        if (hr == HOST_E_INTERRUPTED)
            racer->interrupted++;
        else if (hr == S_OK)
            racer->elapsed++;
    }
    /* Whatever the race left pending is delivered now: one at most, since
     * alerts that arrive while one is pending merge with it. */
    while (IHostTaskManager_Sleep(manager, 0, WAIT_ALERTABLE) == HOST_E_INTERRUPTED)
        racer->drained++;
    return 0;
}

/* Alert racing the end of a Sleep: every Sleep returns one of the two
 * allowed codes, and no alert is lost. */
static void test_alert_races_sleep_end(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats[64];
    struct racer racer;
    UINT count, i;
    int n;

    manager = fixture->manager;
    memset(&racer, 0, sizeof(racer));
    assert_hr(IHostTaskManager_CreateTask(manager, 0, short_sleeper, &racer, &racer.task), S_OK);
    assert_hr(IHostTask_Start(racer.task), S_OK);
    for (n = 0; n < 200; n++)
    {
        assert_hr(IHostTask_Alert(racer.task), S_OK);
        Sleep(n % 3);
    }
    assert_hr(IHostTask_Join(racer.task, 30000, 0), S_OK);
    /* Every Sleep returned one of the two codes the CLR accepts. */
    assert_int_equal(racer.interrupted + racer.elapsed, 200);
    assert_ge(racer.interrupted, 1);
    assert_le(racer.drained, 1);
    /* The statistics saw exactly the interruptions the task saw. */
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetTaskStats(statistics, 64, stats, &count), S_OK);
    for (i = 0; i < count; i++)
        if (stats[i].alerts == 200)
            break;
    assert_lt(i, count);
    assert_int_equal(stats[i].interruptedWaits, racer.interrupted + racer.drained);
    IHostTaskStatistics_Release(statistics);
    IHostTask_Release(racer.task);
}

struct multi_join
{
    IHostTask *target;
    HANDLE go;
    LONG ok;
};

static DWORD WINAPI plain_joiner(void *arg)
{
    struct multi_join *join = arg;

    WaitForSingleObject(join->go, INFINITE);
    if (IHostTask_Join(join->target, 10000, WAIT_ALERTABLE | WAIT_NOTINDEADLOCK) == S_OK)
        InterlockedIncrement(&join->ok);
    return 0;
}

/* Several threads join the same task: all of them return S_OK when it ends. */
static void test_join_from_several_threads(void **state)
{
    struct fixture *fixture = *state;
    struct multi_join join;
    HANDLE threads[6], stop;
    int i;

    manager = fixture->manager;
    stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    join.go = CreateEventW(NULL, TRUE, FALSE, NULL);
    join.ok = 0;
    assert_hr(IHostTaskManager_CreateTask(manager, 0, forever_routine, stop, &join.target), S_OK);
    assert_hr(IHostTask_Start(join.target), S_OK);
    for (i = 0; i < 6; i++)
        threads[i] = CreateThread(NULL, 0, plain_joiner, &join, 0, NULL);
    SetEvent(join.go);
    Sleep(50);
    assert_int_equal(join.ok, 0);
    SetEvent(stop);
    if (WaitForMultipleObjects(6, threads, TRUE, 15000) != WAIT_OBJECT_0)
        fail_msg("six Joins on a task that ended did not all return within 15 s");
    assert_int_equal(join.ok, 6);
    for (i = 0; i < 6; i++)
        CloseHandle(threads[i]);
    IHostTask_Release(join.target);
    CloseHandle(stop);
    CloseHandle(join.go);
}

/* The last reference released while the task still runs: the task thread
 * keeps its own hold, finishes, and frees everything then. */
static void test_release_while_running(void **state)
{
    struct fixture *fixture = *state;
    struct routine routine;
    IHostTask *task;
    ULONG live;

    manager = fixture->manager;
    live = manager_live_tasks(manager);
    init_routine(&routine, TRUE);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, counting_routine, &routine, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(routine.started, 5000), WAIT_OBJECT_0);
    assert_int_equal(IHostTask_Release(task), 1);   /* routine.seen still holds one */
    IHostTask_Release(routine.seen);
    routine.seen = NULL;
    /* No COM reference left, but the thread is ours: the DLL must stay. */
    assert_int_equal(manager_live_tasks(manager), live + 1);
    assert_hr(dll_can_unload_now(), S_FALSE);
    SetEvent(routine.release);
    manager_wait_live_tasks(manager, live);
    assert_int_equal(routine.runs, 1);
    free_routine(&routine);
}

/* Sleep(0) is the CLR's yield; alertable, it is still a wait an alert
 * ends (dotnet/coreclr@ef1e2ab3 src/vm/threads.cpp (Thread::UserSleep)
 * turns HOST_E_INTERRUPTED into ThreadInterruptedException).  A pending
 * alert is consumed and reported; a non-alertable Sleep(0) leaves it. */
static void test_alertable_yield_consumes_pending_alert(void **state)
{
    struct fixture *fixture = *state;
    IHostTaskStatistics *statistics;
    HT_TASK_STATS stats;
    IHostTask *self;

    manager = fixture->manager;
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &self), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_Reset(statistics), S_OK);
    assert_hr(IHostTask_Alert(self), S_OK);
    assert_hr(IHostTaskManager_Sleep(manager, 0, 0), S_OK);
    assert_hr(IHostTaskManager_Sleep(manager, 0, WAIT_ALERTABLE), HOST_E_INTERRUPTED);
    /* Consumed: the next alertable yield is a plain one. */
    assert_hr(IHostTaskManager_Sleep(manager, 0, WAIT_ALERTABLE), S_OK);
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
    assert_int_equal(stats.alerts, 1);
    assert_int_equal(stats.interruptedWaits, 1);
    IHostTaskStatistics_Release(statistics);
    IHostTask_Release(self);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        FIXTURE_TEST(pitfall_05_start_once),
        FIXTURE_TEST(test_create_task_arguments),
        FIXTURE_TEST(pitfall_06_creation_failure_leaves_nothing),
        FIXTURE_TEST(test_stack_size_honoured),
        FIXTURE_TEST(pitfall_12_alert_ends_alertable_sleep),
        FIXTURE_TEST(test_alertable_yield_consumes_pending_alert),
        FIXTURE_TEST(test_alert_waits_for_alertable_wait),
        FIXTURE_TEST(pitfall_13_join_is_alertable),
        FIXTURE_TEST(test_self_join),
        FIXTURE_TEST(pitfall_07_priority_and_join_hit_the_task),
        FIXTURE_TEST(test_priority_before_start),
        FIXTURE_TEST(pitfall_20_set_clr_task),
        FIXTURE_TEST(pitfall_10_task_query_interface),
        FIXTURE_TEST(pitfall_09_many_live_tasks),
        FIXTURE_TEST(pitfall_16_17_create_storm_leaves_nothing),
        FIXTURE_TEST(test_alert_races_sleep_end),
        FIXTURE_TEST(test_join_from_several_threads),
        FIXTURE_TEST(test_release_while_running),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
