/*
 * The event trace: per task a bounded ring of time-stamped events (what the
 * task did, when), written by the task's own thread without a lock or an
 * allocation, read by anyone at any time without stopping the writer.
 *
 * Opt-in: while it is off (ht__tracing 0) no transition pays anything but
 * the load of that flag on the path profiling already takes out of line.
 * The time stamps are ht__platform_now_ns(), the clock profiling reads
 * (src/win/platform.c: the invariant TSC, scaled against QPC).
 *
 * The ring (struct ht__trace_ring) keeps the last `window` events; when it
 * is full the oldest one goes, and a snapshot says how many went.
 */
#ifndef HOSTTASK_TRACE_H
#define HOSTTASK_TRACE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What happened.  The numbers are the public HT_TRACE_* of
 * idl/hosttask_iface.idl (com/trace.c checks that they agree). */
enum ht__trace_kind
{
    HT__TRACE_LEAVE = 1,          /* LeaveRuntime; arg: the target */
    HT__TRACE_ENTER,              /* EnterRuntime */
    HT__TRACE_REVERSE_ENTER,      /* ReverseEnterRuntime: a callback into managed code */
    HT__TRACE_REVERSE_LEAVE,      /* ReverseLeaveRuntime */
    HT__TRACE_WAIT_BEGIN,         /* a host wait (Sleep, Join); arg: timeout in ms; detail: HT__TRACE_WAIT_* */
    HT__TRACE_WAIT_END,           /* arg: the wait's HRESULT */
    HT__TRACE_SLOT_WAIT_BEGIN,    /* cooperative mode: queued for a slot */
    HT__TRACE_SLOT_GRANTED,       /* the slot wait ended; detail: 1 with a slot, 0 without (scheduler disbanded) */
    HT__TRACE_YIELD_REQUEST,      /* the watchdog asked this task to yield; arg: its own task id (src/scheduler.c: trace_untraced) */
    HT__TRACE_PREEMPTION,         /* the watchdog preempted this task; arg: its own task id */
    HT__TRACE_ALERT,              /* this task alerted another; arg: its task id */
    HT__TRACE_AFFINITY,           /* Begin/EndThreadAffinity; arg: the depth now */
    HT__TRACE_TASK_CREATE,        /* recorded by the creating thread; detail: 1 adopted */
    HT__TRACE_TASK_START,         /* the task's thread runs its routine (or was adopted) */
    HT__TRACE_TASK_END,           /* the task's thread is done */
    HT__TRACE_KINDS
};

/* HT__TRACE_WAIT_BEGIN's detail. */
#define HT__TRACE_WAIT_JOIN      0x1u   /* a Join (else a Sleep) */
#define HT__TRACE_WAIT_ALERTABLE 0x2u

/* Whether tracing is on.  Read by the fast paths of EnterRuntime,
 * ReverseEnterRuntime and ReverseLeaveRuntime; written only by
 * ht__trace_set_on(). */
extern atomic_int ht__tracing;

/* What sends LeaveRuntime's fast path to its slow path, in one word so
 * that it costs the one load profiling alone cost: HT__HOOK_PROFILING
 * while profiling is on, HT__HOOK_TRACING while tracing is.  Each bit is
 * set and cleared with an atomic OR/AND by its own switch. */
#define HT__HOOK_PROFILING 0x1
#define HT__HOOK_TRACING   0x2
extern atomic_int ht__transition_hooks;
void ht__hooks_set(int bit, int on);

struct ht__trace_slot
{
    /* Atomic so that a reader copying a slot the writer is overwriting is
     * no data race; relaxed accesses compile to plain moves. */
    atomic_uint_fast64_t time_ns;
    atomic_uint_fast64_t arg;
    atomic_uint_fast64_t word;      /* kind | detail << 32 */
};

struct ht__trace_ring
{
    /* Events ever written: the next one goes to slots[head & mask].
     * Written by the owner only (release), read by snapshots (acquire). */
    atomic_uint_fast64_t head;
    /* Where the trace starts since the last reset: events below it are
     * neither reported nor counted as dropped.  Written by resets. */
    atomic_uint_fast64_t base;
    uint64_t mask;                  /* slots - 1 */
    uint64_t window;                /* events kept: at most slots - 1, see ht__trace_snapshot */
    uint64_t task_id;
    uint32_t thread_id;             /* set by the COM layer when the task ends */
    uint32_t flags;                 /* likewise: the task's last flags */
    struct ht__trace_ring *retired; /* a ring this one replaced, kept until the task goes */
    struct ht__trace_ring *next;    /* on the list of ended tasks' rings */
    struct ht__trace_slot slots[];
};

/* A ring keeping the last `window` events (at least 1) of task_id; NULL
 * when memory ran out.  Freed with ht__trace_ring_free(), retired ones too. */
struct ht__trace_ring *ht__trace_ring_create(uint64_t task_id, uint32_t window);
void ht__trace_ring_free(struct ht__trace_ring *ring);

/* One event, owner only.  No lock, no allocation; never fails (a full
 * ring forgets its oldest event). */
static inline void ht__trace_put(struct ht__trace_ring *ring, unsigned int kind, unsigned int detail, uint64_t arg)
{
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
    struct ht__trace_slot *slot = &ring->slots[head & ring->mask];
    uint64_t now = ht__platform_now_ns();

    /* Release fence, then the slot's stores: a snapshot that reads any of
     * them (and then fences with acquire) also sees the head stored by the
     * previous put, which says this slot's old event is going (see
     * ht__trace_snapshot).  Both are compiler barriers only on x86. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&slot->time_ns, now, memory_order_relaxed);
    atomic_store_explicit(&slot->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&slot->word, (uint64_t)kind | (uint64_t)detail << 32, memory_order_relaxed);
    /* Release: a snapshot that sees the new head sees the whole event. */
    atomic_store_explicit(&ring->head, head + 1, memory_order_release);
}

/* One event as a snapshot returns it. */
struct ht__trace_event
{
    uint64_t time_ns;
    uint64_t arg;
    uint32_t kind;
    uint32_t detail;
};

/* What a snapshot of one ring found. */
struct ht__trace_counts
{
    uint64_t recorded;      /* events written since the last reset */
    uint64_t dropped;       /* of them, the oldest ones no longer in the ring */
    uint64_t kept;          /* recorded - dropped: how many the ring holds */
    uint64_t copied;        /* how many were copied (at most the capacity given) */
};

/* Copies the ring's events, oldest first, up to capacity (the oldest
 * ones kept when they do not all fit), without stopping the writer: any
 * thread, any time.  Each copied event is one the owner wrote, whole. */
void ht__trace_snapshot(const struct ht__trace_ring *ring, struct ht__trace_event *out, uint64_t capacity,
        struct ht__trace_counts *counts);
/* Starts the ring's trace afresh: later snapshots report only events
 * written after this.  Any thread. */
void ht__trace_ring_reset(struct ht__trace_ring *ring);

/* Tracing's switch.  The rings themselves belong to the COM layer's tasks. */
void ht__trace_set_on(int on);

static inline int ht__trace_on(void)
{
    return atomic_load_explicit(&ht__tracing, memory_order_relaxed);
}

/* ---- Events from the scheduler (src/scheduler.c) ---- */

/* The scheduler's per-task state is embedded in the COM layer's task,
 * which owns the ring: the COM layer says where a scheduler task's ring
 * is, and its task id (NULL/0 when it has none).  Unset: nothing is
 * recorded (the native tests' scheduler). */
struct ht__sched_task;
typedef struct ht__trace_ring *(*ht__trace_sched_map)(struct ht__sched_task *task, uint64_t *task_id);
void ht__trace_set_sched_map(ht__trace_sched_map map);

/* Out of line: they run on the scheduler's slow paths only.  `self` is
 * the calling thread's own task, whose ring it writes; `other` the task
 * the event names (for a yield request or a preemption, self: the
 * watchdog that made it is no task, see src/scheduler.c: trace_untraced). */
void ht__trace_sched_event(struct ht__sched_task *self, unsigned int kind, unsigned int detail,
        struct ht__sched_task *other);

/* One-line emission points, each a no-op while tracing is off. */
#define HT__TRACE_SCHED(self, kind, detail, other) \
        do { if (ht__trace_on()) ht__trace_sched_event((self), (kind), (detail), (other)); } while (0)
#define ht__trace_slot_wait_begin(self) HT__TRACE_SCHED(self, HT__TRACE_SLOT_WAIT_BEGIN, 0, NULL)
#define ht__trace_slot_granted(self, held) HT__TRACE_SCHED(self, HT__TRACE_SLOT_GRANTED, (held) ? 1u : 0u, NULL)
#define ht__trace_yield_request(self, holder) HT__TRACE_SCHED(self, HT__TRACE_YIELD_REQUEST, 0, holder)
#define ht__trace_preemption(self, holder) HT__TRACE_SCHED(self, HT__TRACE_PREEMPTION, 0, holder)

#ifdef __cplusplus
}
#endif

#endif /* HOSTTASK_TRACE_H */
