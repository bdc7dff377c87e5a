/*
 * The event trace through IHostTaskTrace and the C API: what each call
 * records on its task, in order; a full buffer forgetting its oldest
 * events and counting them; ended tasks kept; reset; off; bad input.
 */
#include "test_util.h"

#include <stdlib.h>

static IHostTaskManager *manager;
static IHostControl *control;

#define MAX_EVENTS 4096
#define MAX_TASKS 64

struct taken
{
    HT_TRACE_INFO info;
    HT_TRACE_TASK tasks[MAX_TASKS];
    HT_TRACE_EVENT events[MAX_EVENTS];
};

static struct taken *take(void)
{
    static struct taken t;

    assert_hr(ht_get_trace(control, MAX_TASKS, t.tasks, MAX_EVENTS, t.events, &t.info), S_OK);
    return &t;
}

static const HT_TRACE_TASK *find_thread(const struct taken *t, DWORD thread_id)
{
    UINT i;

    for (i = 0; i < t->info.tasks; i++)
        if (t->tasks[i].threadId == thread_id)
            return &t->tasks[i];
    return NULL;
}

static void expect_kinds(const struct taken *t, const HT_TRACE_TASK *task, const UINT *kinds, UINT n)
{
    UINT i;

    assert_non_null(task);
    assert_int_equal(task->eventCount, n);
    for (i = 0; i < n; i++)
    {
        const HT_TRACE_EVENT *e = &t->events[task->firstEvent + i];

        assert_int_equal(e->kind, kinds[i]);
        assert_int_equal(e->taskId, task->taskId);
        if (i)
            assert_ge(e->timeNs, e[-1].timeNs);
    }
}

static DWORD WINAPI sequence(void *arg)
{
    SIZE_T target = (SIZE_T)&GetTickCount;

    assert_hr(IHostTaskManager_LeaveRuntime(manager, target), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_Sleep(manager, 1, WAIT_ALERTABLE), S_OK);
    *(DWORD *)arg = GetCurrentThreadId();
    return 0;
}

/* Every call on an adopted thread, in order, and the thread's end: the
 * task is gone, its trace is kept. */
static void test_sequence(void **state)
{
    static const UINT kinds[] =
    {
        HT_TRACE_TASK_CREATE, HT_TRACE_TASK_START, HT_TRACE_LEAVE, HT_TRACE_REVERSE_ENTER, HT_TRACE_REVERSE_LEAVE,
        HT_TRACE_ENTER, HT_TRACE_AFFINITY, HT_TRACE_AFFINITY, HT_TRACE_WAIT_BEGIN, HT_TRACE_WAIT_END,
        HT_TRACE_TASK_END,
    };
    struct fixture *fixture = *state;
    const HT_TRACE_TASK *task;
    const HT_TRACE_EVENT *e;
    struct taken *t;
    DWORD thread_id = 0;
    UINT size = 0;

    manager = fixture->manager;
    control = fixture->control;
    assert_hr(ht_set_trace_buffer(control, 64), S_OK);
    assert_hr(ht_reset_trace(control), S_OK);
    run_on_thread(sequence, &thread_id);

    t = take();
    assert_int_equal(t->info.bufferEvents, 64);
    task = find_thread(t, thread_id);
    expect_kinds(t, task, kinds, ARRAYSIZE(kinds));
    assert_true(task->flags & HT_TASK_ENDED);
    assert_true(task->flags & HT_TASK_ADOPTED);
    assert_int_equal(task->recorded, ARRAYSIZE(kinds));
    assert_int_equal(task->dropped, 0);
    e = &t->events[task->firstEvent];
    assert_int_equal(e[0].detail, 1);                   /* adopted */
    assert_int_equal(e[2].arg, (SIZE_T)&GetTickCount);  /* the target */
    assert_int_equal(e[6].arg, 1);                      /* affinity depth */
    assert_int_equal(e[7].arg, 0);
    assert_int_equal(e[8].detail, HT_TRACE_WAIT_ALERTABLE);
    assert_int_equal(e[8].arg, 1);                      /* ms */
    assert_int_equal(e[9].arg, S_OK);
    assert_ge(t->info.nowNs, e[10].timeNs);

    {
        IHostTaskTrace *trace;

        assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskTrace, (void **)&trace), S_OK);
        assert_hr(IHostTaskTrace_GetBufferSize(trace, &size), S_OK);
        assert_int_equal(size, 64);
        IHostTaskTrace_Release(trace);
    }
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
}

static DWORD WINAPI pairs(void *arg)
{
    UINT i, n = *(UINT *)arg;

    for (i = 0; i < n; i++)
    {
        assert_hr(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)i + 1), S_OK);
        assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    }
    *(DWORD *)arg = GetCurrentThreadId();
    return 0;
}

/* A full buffer keeps the newest events and counts the rest. */
static void test_full_buffer(void **state)
{
    struct fixture *fixture = *state;
    const HT_TRACE_TASK *task;
    const HT_TRACE_EVENT *e;
    struct taken *t;
    UINT arg = 100, i;

    manager = fixture->manager;
    control = fixture->control;
    assert_hr(ht_set_trace_buffer(control, 10), S_OK);
    assert_hr(ht_reset_trace(control), S_OK);
    run_on_thread(pairs, &arg);
    t = take();
    task = find_thread(t, arg);
    assert_non_null(task);
    /* create, start, 200 transitions, end */
    assert_int_equal(task->recorded, 203);
    assert_int_equal(task->dropped, 193);
    assert_int_equal(task->eventCount, 10);
    e = &t->events[task->firstEvent];
    /* The last: ... Leave(99) Enter Leave(100) Enter End. */
    assert_int_equal(e[9].kind, HT_TRACE_TASK_END);
    assert_int_equal(e[7].kind, HT_TRACE_LEAVE);
    assert_int_equal(e[7].arg, 100);
    for (i = 0; i < 9; i++)
        assert_int_equal(e[i].kind, i % 2 ? HT_TRACE_LEAVE : HT_TRACE_ENTER);
    assert_ge(t->info.dropped, 193);
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
}

static DWORD WINAPI task_routine(void *arg)
{
    return 7;
}

/* A created task: create, start, end on its own track; the joiner's
 * wait is a Join; an Alert is on the alerter's track, naming the task. */
static void test_created_task(void **state)
{
    static const UINT kinds[] = { HT_TRACE_TASK_CREATE, HT_TRACE_TASK_START, HT_TRACE_TASK_END };
    struct fixture *fixture = *state;
    const HT_TRACE_TASK *task = NULL, *self;
    const HT_TRACE_EVENT *e;
    IHostTask *created, *current;
    HT_TASK_STATS stats;
    struct taken *t;
    UINT i;

    manager = fixture->manager;
    control = fixture->control;
    assert_hr(ht_set_trace_buffer(control, 32), S_OK);
    assert_hr(ht_reset_trace(control), S_OK);
    /* The main thread's own task, for Join and Alert to be recorded on. */
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &current), S_OK);
    IHostTask_Release(current);
    assert_hr(IHostTaskManager_CreateTask(manager, 0, task_routine, NULL, &created), S_OK);
    assert_hr(IHostTask_Start(created), S_OK);
    assert_hr(IHostTask_Join(created, INFINITE, 0), S_OK);
    assert_hr(IHostTask_Alert(created), S_OK);

    t = take();
    {
        IHostTaskStatistics *statistics;

        assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
        assert_hr(IHostTaskStatistics_GetCurrentTaskStats(statistics, &stats), S_OK);
        IHostTaskStatistics_Release(statistics);
    }
    self = find_thread(t, GetCurrentThreadId());
    assert_non_null(self);
    assert_int_equal(self->taskId, stats.taskId);
    for (i = 0; i < t->info.tasks; i++)
        if (t->tasks[i].taskId != self->taskId && (t->tasks[i].flags & HT_TASK_CREATED))
            task = &t->tasks[i];
    expect_kinds(t, task, kinds, ARRAYSIZE(kinds));
    assert_int_equal(t->events[task->firstEvent].detail, 0);
    /* The main thread: Join's wait, then the Alert naming the task. */
    assert_ge(self->eventCount, 3);
    e = &t->events[self->firstEvent + self->eventCount - 3];
    assert_int_equal(e[0].kind, HT_TRACE_WAIT_BEGIN);
    assert_int_equal(e[0].detail, HT_TRACE_WAIT_JOIN);
    assert_int_equal(e[1].kind, HT_TRACE_WAIT_END);
    assert_int_equal(e[1].arg, S_OK);
    assert_int_equal(e[2].kind, HT_TRACE_ALERT);
    assert_int_equal(e[2].arg, task->taskId);
    IHostTask_Release(created);
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
}

/* Off records nothing; reset forgets; bad input is refused. */
static void test_off_reset_bad_input(void **state)
{
    struct fixture *fixture = *state;
    HT_TRACE_TASK tasks[2];
    HT_TRACE_EVENT events[2];
    HT_TRACE_INFO info;
    const HT_TRACE_TASK *self;
    struct taken *t;
    UINT64 recorded;

    manager = fixture->manager;
    control = fixture->control;
    assert_hr(ht_set_trace_buffer(control, HT_TRACE_MAX_BUFFER + 1), E_INVALIDARG);
    assert_hr(ht_set_trace_buffer(control, 16), S_OK);
    assert_hr(ht_reset_trace(control), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 1), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    t = take();
    self = find_thread(t, GetCurrentThreadId());
    assert_non_null(self);
    /* A thread adopted earlier got its buffer from SetBufferSize. */
    assert_int_equal(self->recorded, 2);
    recorded = self->recorded;

    /* Off: the buffer stays, nothing more is recorded. */
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 1), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    t = take();
    assert_int_equal(t->info.bufferEvents, 0);
    self = find_thread(t, GetCurrentThreadId());
    assert_non_null(self);
    assert_int_equal(self->recorded, recorded);

    assert_hr(ht_reset_trace(control), S_OK);
    t = take();
    self = find_thread(t, GetCurrentThreadId());
    assert_non_null(self);
    assert_int_equal(self->recorded, 0);
    assert_int_equal(self->eventCount, 0);

    /* Too little room: S_FALSE, and info says how much there was. */
    assert_hr(ht_set_trace_buffer(control, 16), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 1), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(ht_get_trace(control, 2, tasks, 1, events, &info), S_FALSE);
    assert_ge(info.events, 2);
    assert_hr(ht_get_trace(control, 0, NULL, 0, NULL, &info), info.tasks ? S_FALSE : S_OK);
    assert_hr(ht_get_trace(control, 2, NULL, 0, NULL, &info), E_POINTER);
    assert_hr(ht_get_trace(control, 0, NULL, 2, NULL, &info), E_POINTER);
    assert_hr(ht_get_trace(control, 0, NULL, 0, NULL, NULL), E_POINTER);
    {
        IHostTaskTrace *trace;

        assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskTrace, (void **)&trace), S_OK);
        assert_hr(IHostTaskTrace_GetBufferSize(trace, NULL), E_POINTER);
        /* The same object: its IUnknown is the manager's. */
        check_interface(trace, &IID_IHostTaskStatistics, TRUE);
        IHostTaskTrace_Release(trace);
    }
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
}

static UINT64 target_calls(SIZE_T target)
{
    HT_TARGET_STATS stats[64];
    UINT count = 0, i;

    assert_true(SUCCEEDED(ht_get_target_stats(control, ARRAYSIZE(stats), stats, &count)));
    for (i = 0; i < count && i < ARRAYSIZE(stats); i++)
        if (stats[i].target == target)
            return stats[i].calls;
    return 0;
}

/* Profiling and tracing send LeaveRuntime down the same slow path: each
 * keeps working when the other is switched off. */
static void test_with_profiling(void **state)
{
    struct fixture *fixture = *state;
    const SIZE_T target = 0x7e57;
    const HT_TRACE_TASK *self;
    struct taken *t;
    UINT64 before;

    manager = fixture->manager;
    control = fixture->control;
    assert_hr(ht_set_profiling(control, TRUE), S_OK);
    assert_hr(ht_set_trace_buffer(control, 16), S_OK);
    assert_hr(ht_reset_trace(control), S_OK);
    before = target_calls(target);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, target), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_int_equal(target_calls(target), before + 1);

    /* Tracing off: profiling still times the call. */
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, target), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_int_equal(target_calls(target), before + 2);

    /* Profiling off, tracing on: the call is traced, not timed. */
    assert_hr(ht_set_profiling(control, FALSE), S_OK);
    assert_hr(ht_set_trace_buffer(control, 16), S_OK);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, target), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_int_equal(target_calls(target), before + 2);
    t = take();
    self = find_thread(t, GetCurrentThreadId());
    assert_non_null(self);
    /* The same size: the buffer started afresh, with the last pair only. */
    assert_int_equal(self->recorded, 2);
    assert_int_equal(t->events[self->firstEvent].kind, HT_TRACE_LEAVE);
    assert_int_equal(t->events[self->firstEvent].arg, target);
    assert_hr(ht_set_trace_buffer(control, 0), S_OK);
}

/* The interface's slots and the structures' layout, the same on x64 and
 * i686: a consumer built against this header calls the right method. */
static void test_abi(void **state)
{
    assert_int_equal(offsetof(IHostTaskTraceVtbl, SetBufferSize) / sizeof(void *), 3);
    assert_int_equal(offsetof(IHostTaskTraceVtbl, GetBufferSize) / sizeof(void *), 4);
    assert_int_equal(offsetof(IHostTaskTraceVtbl, GetTrace) / sizeof(void *), 5);
    assert_int_equal(offsetof(IHostTaskTraceVtbl, Reset) / sizeof(void *), 6);
    assert_int_equal(sizeof(IHostTaskTraceVtbl), 7 * sizeof(void *));
    assert_int_equal(sizeof(HT_TRACE_EVENT), 32);
    assert_int_equal(offsetof(HT_TRACE_EVENT, kind), 24);
    assert_int_equal(sizeof(HT_TRACE_TASK), 40);
    assert_int_equal(offsetof(HT_TRACE_TASK, firstEvent), 32);
    assert_int_equal(sizeof(HT_TRACE_INFO), 40);
    assert_int_equal(offsetof(HT_TRACE_INFO, nowNs), 32);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_abi),
        FIXTURE_TEST(test_sequence),
        FIXTURE_TEST(test_full_buffer),
        FIXTURE_TEST(test_created_task),
        FIXTURE_TEST(test_off_reset_bad_input),
        FIXTURE_TEST(test_with_profiling),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
