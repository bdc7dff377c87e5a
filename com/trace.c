/*
 * The event trace in the COM layer: each task's ring (src/trace.h), the
 * ended tasks' rings kept for the trace, and IHostTaskTrace on the task
 * manager.  docs/trace.md describes what is recorded where.
 *
 * Rings are written by their task's own thread only (and, before that
 * thread runs, by the thread that creates the task).  Everything else here
 * (giving tasks rings, taking the trace, resetting) runs under the task
 * registry's lock, so a ring is never freed while anything reads it: a
 * live task's rings go with the task, under the same lock.
 */
#include "private.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(HT__TRACE_LEAVE == HT_TRACE_LEAVE && HT__TRACE_ENTER == HT_TRACE_ENTER
        && HT__TRACE_REVERSE_ENTER == HT_TRACE_REVERSE_ENTER && HT__TRACE_REVERSE_LEAVE == HT_TRACE_REVERSE_LEAVE
        && HT__TRACE_WAIT_BEGIN == HT_TRACE_WAIT_BEGIN && HT__TRACE_WAIT_END == HT_TRACE_WAIT_END
        && HT__TRACE_SLOT_WAIT_BEGIN == HT_TRACE_SLOT_WAIT_BEGIN && HT__TRACE_SLOT_GRANTED == HT_TRACE_SLOT_GRANTED
        && HT__TRACE_YIELD_REQUEST == HT_TRACE_YIELD_REQUEST && HT__TRACE_PREEMPTION == HT_TRACE_PREEMPTION
        && HT__TRACE_ALERT == HT_TRACE_ALERT && HT__TRACE_AFFINITY == HT_TRACE_AFFINITY
        && HT__TRACE_TASK_CREATE == HT_TRACE_TASK_CREATE && HT__TRACE_TASK_START == HT_TRACE_TASK_START
        && HT__TRACE_TASK_END == HT_TRACE_TASK_END && HT__TRACE_KINDS == HT_TRACE_TASK_END + 1
        && HT__TRACE_WAIT_JOIN == HT_TRACE_WAIT_JOIN && HT__TRACE_WAIT_ALERTABLE == HT_TRACE_WAIT_ALERTABLE,
        "the core's trace kinds are the public ones");

/* Ended tasks' rings kept at most, the oldest going first (counted). */
#define MAX_ENDED 1024

/* Guards what follows; taken inside the registry lock, never around it. */
static SRWLOCK trace_lock = SRWLOCK_INIT;
static UINT buffer_events;              /* 0: off */
static struct ht__trace_ring *ended_first, *ended_last;
static UINT ended_count;
static UINT64 ended_dropped;

static UINT current_size(void)
{
    UINT size;

    AcquireSRWLockShared(&trace_lock);
    size = buffer_events;
    ReleaseSRWLockShared(&trace_lock);
    return size;
}

/* The scheduler's task is embedded in the COM task (struct host_sched). */
static struct ht__trace_ring *sched_map(struct ht__sched_task *sched, uint64_t *id)
{
    struct host_task *task = CONTAINING_RECORD(sched, struct host_sched, sched)->task;

    *id = task->id;
    return atomic_load_explicit(&task->trace, memory_order_acquire);
}

void ht__trace_task_born(struct host_task *task, BOOL adopted)
{
    UINT size = current_size();
    struct ht__trace_ring *ring;

    /* Best effort, like profiling: a task without memory for a ring runs
     * untraced. */
    if (!size || !(ring = ht__trace_ring_create(task->id, size)))
        return;
    ht__trace_put(ring, HT__TRACE_TASK_CREATE, adopted ? 1u : 0u, 0);
    atomic_store_explicit(&task->trace, ring, memory_order_release);
}

static void free_ended(void)
{
    struct ht__trace_ring *ring, *next;

    for (ring = ended_first; ring; ring = next)
    {
        next = ring->next;
        ht__trace_ring_free(ring);
    }
    ended_first = ended_last = NULL;
    ended_count = 0;
}

void ht__trace_task_ended(struct host_task *task)
{
    struct ht__trace_ring *ring = atomic_load_explicit(&task->trace, memory_order_acquire), *oldest;

    if (!ring)
        return;
    atomic_store_explicit(&task->trace, NULL, memory_order_relaxed);
    ring->thread_id = task->thread ? GetThreadId(task->thread) : 0;
    ring->flags = (uint32_t)(ht__task_flags(task) & ~HT__TASK_PRIVATE) | HT_TASK_ENDED;
    ring->next = NULL;
    AcquireSRWLockExclusive(&trace_lock);
    if (ended_last)
        ended_last->next = ring;
    else
        ended_first = ring;
    ended_last = ring;
    if (++ended_count > MAX_ENDED)
    {
        oldest = ended_first;
        ended_first = oldest->next;
        ended_count--;
        ended_dropped++;
        ht__trace_ring_free(oldest);
    }
    ReleaseSRWLockExclusive(&trace_lock);
}

void ht__trace_stop(void)
{
    ht__trace_set_on(0);
    AcquireSRWLockExclusive(&trace_lock);
    buffer_events = 0;
    ReleaseSRWLockExclusive(&trace_lock);
}

void ht__trace_process_detach(void)
{
    ht__trace_set_on(0);
    free_ended();
    ht__trace_set_sched_map(NULL);
}

/* ---- SetBufferSize ---- */

struct resize
{
    UINT size;
    UINT failed;
};

/* Under the registry lock: the task's new ring replaces the old one,
 * which its owner may be writing to right now, so the old one is kept
 * (retired) until the task goes. */
static void give_ring(struct host_task *task, void *context)
{
    struct resize *resize = context;
    struct ht__trace_ring *ring = atomic_load_explicit(&task->trace, memory_order_relaxed);

    /* The same size: the same ring, started afresh. */
    if (ring && ring->window == resize->size)
    {
        ht__trace_ring_reset(ring);
        return;
    }
    if (!(ring = ht__trace_ring_create(task->id, resize->size)))
    {
        resize->failed++;
        return;
    }
    ring->retired = atomic_load_explicit(&task->trace, memory_order_relaxed);
    atomic_store_explicit(&task->trace, ring, memory_order_release);
}

static void set_size(void *context)
{
    struct resize *resize = context;

    AcquireSRWLockExclusive(&trace_lock);
    buffer_events = resize->size;
    ReleaseSRWLockExclusive(&trace_lock);
}

/* ---- GetTrace ---- */

struct take
{
    UINT task_capacity, event_capacity;
    HT_TRACE_TASK *tasks;
    HT_TRACE_EVENT *events;
    HT_TRACE_INFO *info;
    UINT events_out;
    struct ht__trace_event *scratch;
    uint64_t scratch_size;
    BOOL no_memory;
};

static void take_ring(struct take *take, const struct ht__trace_ring *ring, DWORD thread_id, DWORD flags)
{
    struct ht__trace_counts counts;
    HT_TRACE_TASK *out = NULL;
    struct ht__trace_event *scratch;
    uint64_t room, i;

    if (take->info->tasks < take->task_capacity)
        out = &take->tasks[take->info->tasks];
    take->info->tasks++;
    if (take->scratch_size < ring->window)
    {
        if (!(scratch = ht__platform_realloc(take->scratch, (size_t)ring->window * sizeof(*scratch))))
        {
            take->no_memory = TRUE;
            return;
        }
        take->scratch = scratch;
        take->scratch_size = ring->window;
    }
    ht__trace_snapshot(ring, take->scratch, ring->window, &counts);
    take->info->events += counts.copied;
    take->info->dropped += counts.dropped;
    room = take->event_capacity - take->events_out;
    if (room > counts.copied)
        room = counts.copied;
    if (out)
    {
        out->taskId = ring->task_id;
        out->threadId = thread_id;
        out->flags = flags;
        out->recorded = counts.recorded;
        out->dropped = counts.dropped;
        out->firstEvent = take->events_out;
        out->eventCount = (UINT)room;
    }
    else
        room = 0;
    for (i = 0; i < room; i++)
    {
        HT_TRACE_EVENT *e = &take->events[take->events_out + i];

        e->timeNs = take->scratch[i].time_ns;
        e->taskId = ring->task_id;
        e->arg = take->scratch[i].arg;
        e->kind = take->scratch[i].kind;
        e->detail = take->scratch[i].detail;
    }
    take->events_out += (UINT)room;
}

static void take_task(struct host_task *task, void *context)
{
    struct ht__trace_ring *ring = atomic_load_explicit(&task->trace, memory_order_acquire);

    if (ring)
        take_ring(context, ring, GetThreadId(task->thread), (DWORD)(ht__task_flags(task) & ~HT__TASK_PRIVATE));
}

static void take_ended(void *context)
{
    struct take *take = context;
    struct ht__trace_ring *ring;

    AcquireSRWLockShared(&trace_lock);
    for (ring = ended_first; ring; ring = ring->next)
        take_ring(take, ring, ring->thread_id, ring->flags);
    take->info->endedTasksDropped = ended_dropped;
    take->info->bufferEvents = buffer_events;
    ReleaseSRWLockShared(&trace_lock);
}

/* ---- Reset ---- */

static void reset_task(struct host_task *task, void *context)
{
    struct ht__trace_ring *ring = atomic_load_explicit(&task->trace, memory_order_acquire);

    if (ring)
        ht__trace_ring_reset(ring);
}

static void reset_ended(void *context)
{
    AcquireSRWLockExclusive(&trace_lock);
    free_ended();
    ended_dropped = 0;
    ReleaseSRWLockExclusive(&trace_lock);
}

/* ---- IHostTaskTrace ---- */

static inline struct ht__trace_iface *impl_from_IHostTaskTrace(IHostTaskTrace *iface)
{
    return CONTAINING_RECORD(iface, struct ht__trace_iface, IHostTaskTrace_iface);
}

static HRESULT STDMETHODCALLTYPE trace_QueryInterface(IHostTaskTrace *iface, REFIID riid, void **out)
{
    IHostTaskManager *outer = impl_from_IHostTaskTrace(iface)->outer;

    return outer->lpVtbl->QueryInterface(outer, riid, out);
}

static ULONG STDMETHODCALLTYPE trace_AddRef(IHostTaskTrace *iface)
{
    IHostTaskManager *outer = impl_from_IHostTaskTrace(iface)->outer;

    return outer->lpVtbl->AddRef(outer);
}

static ULONG STDMETHODCALLTYPE trace_Release(IHostTaskTrace *iface)
{
    IHostTaskManager *outer = impl_from_IHostTaskTrace(iface)->outer;

    return outer->lpVtbl->Release(outer);
}

static HRESULT STDMETHODCALLTYPE trace_SetBufferSize(IHostTaskTrace *iface, UINT events)
{
    struct resize resize = { events, 0 };

    if (events > HT_TRACE_MAX_BUFFER)
        return E_INVALIDARG;
    if (!events)
    {
        ht__trace_set_on(0);
        set_size(&resize);
        return S_OK;
    }
    ht__trace_set_sched_map(sched_map);
    /* The size first, then the live tasks, all under the registry lock:
     * a task born meanwhile gets its ring from task_alloc. */
    ht__tasks_for_each(give_ring, set_size, &resize);
    ht__trace_set_on(1);
    return resize.failed ? E_OUTOFMEMORY : S_OK;
}

static HRESULT STDMETHODCALLTYPE trace_GetBufferSize(IHostTaskTrace *iface, UINT *events)
{
    if (!events)
        return E_POINTER;
    *events = current_size();
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE trace_GetTrace(IHostTaskTrace *iface, UINT task_capacity, HT_TRACE_TASK *tasks,
        UINT event_capacity, HT_TRACE_EVENT *events, HT_TRACE_INFO *info)
{
    struct take take;

    if (!info)
        return E_POINTER;
    memset(info, 0, sizeof(*info));
    if ((task_capacity && !tasks) || (event_capacity && !events))
        return E_POINTER;
    memset(&take, 0, sizeof(take));
    take.task_capacity = task_capacity;
    take.event_capacity = event_capacity;
    take.tasks = tasks;
    take.events = events;
    take.info = info;
    ht__tasks_for_each(take_task, take_ended, &take);
    ht__platform_free(take.scratch);
    info->nowNs = ht__platform_now_ns();
    if (take.no_memory)
    {
        memset(info, 0, sizeof(*info));
        return E_OUTOFMEMORY;
    }
    return info->tasks > task_capacity || info->events > take.events_out ? S_FALSE : S_OK;
}

static HRESULT STDMETHODCALLTYPE trace_Reset(IHostTaskTrace *iface)
{
    ht__tasks_for_each(reset_task, reset_ended, NULL);
    return S_OK;
}

static const IHostTaskTraceVtbl trace_vtbl =
{
    trace_QueryInterface,
    trace_AddRef,
    trace_Release,
    trace_SetBufferSize,
    trace_GetBufferSize,
    trace_GetTrace,
    trace_Reset,
};

void ht__trace_iface_init(struct ht__trace_iface *trace, IHostTaskManager *outer)
{
    trace->IHostTaskTrace_iface.lpVtbl = &trace_vtbl;
    trace->outer = outer;
}
