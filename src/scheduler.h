/*
 * The cooperative scheduler: SQL Server (SQLOS) style slots for managed
 * code.  Portable C11 over the platform layer's mutex and event.
 *
 * A task must hold one of N slots to run managed code.  It takes a slot
 * when it comes into the runtime and gives it back when it goes out to
 * native code or blocks in a host wait, so a native call that blocks never
 * starves the others.  Waiting tasks queue in FIFO order and a releasing
 * task hands its slot straight to the head of the queue.  A task that
 * holds a slot longer than the quantum while others wait is a runaway: it
 * is counted, asked to yield (through a callback; the COM layer calls
 * ICLRTask::YieldTask), and punished: its next acquisition goes through
 * the queue behind everyone waiting.  One that still holds the slot a
 * quantum after being asked (it ignored the request, or it is a thread
 * back in its host's native code, where the CLR makes no call) is
 * preempted: the slot goes to the head of the queue, and the task takes
 * one again at its next transition, wait or yield.
 *
 * No deadlock by construction: every host wait and every call out
 * releases the slot first, slot waits are granted in FIFO order by
 * whoever releases, and a holder that keeps its slot past two quanta while
 * others wait loses it, so no waiter depends on a holder's cooperation.
 */
#ifndef HOSTTASK_SCHEDULER_H
#define HOSTTASK_SCHEDULER_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HT__SCHED_HISTOGRAM 40   /* slot waits by power of two of nanoseconds */

struct ht__scheduler;

/* Per-task scheduling state, embedded in the task. */
struct ht__sched_task
{
    struct ht__sched_task *next;        /* in the wait queue, under the lock */
    struct ht__scheduler *scheduler;    /* the one a slot or a place is held in */
    void *event;                        /* wakes this task's slot wait */
    /* Written under the lock, by the owner, by a granter handing it a slot,
     * or by the queue head preempting it; read by the owner without. */
    atomic_int holds_slot;
    int granted;                        /* under the lock */
    int punished;                       /* under the lock */
    int flagged;                        /* under the lock: counted as a runaway in this hold */
    uint32_t slot;
    uint64_t acquired_ns;
    uint64_t flagged_ns;                /* under the lock: when it was asked to yield */
    atomic_uint_fast64_t wait_ns;
    atomic_uint_fast64_t forced_yields;
    atomic_uint_fast64_t acquisitions;
};

struct ht__sched_stats
{
    uint32_t slots;
    uint32_t held;
    uint32_t waiting;
    uint32_t quantum_us;
    uint64_t acquisitions;
    uint64_t waits;             /* acquisitions that had to queue */
    uint64_t wait_ns;
    uint64_t max_wait_ns;
    uint64_t forced_yields;
    uint64_t punishments;
    uint64_t histogram[HT__SCHED_HISTOGRAM];
    uint64_t preemptions;
};

/* A runaway holder, under the scheduler lock: return 0 to leave it alone
 * (a task in a delay-abort region), else 1 and maybe a token that
 * ht__sched_runaway_fire() is given outside the lock.  With token NULL it
 * only answers, before a preemption: a task that entered a delay-abort
 * region after being asked to yield is not preempted either. */
typedef int (*ht__sched_runaway_prepare)(struct ht__sched_task *task, void **token);
typedef void (*ht__sched_runaway_fire)(void *token);

/* The scheduler new acquisitions go to; NULL in thread-per-task mode. */
extern _Atomic(struct ht__scheduler *) ht__scheduler_current;

/* Switches to a scheduler of `slots` slots (0: thread-per-task mode).  The
 * old one is disbanded: its waiters go on without a slot, and slots held
 * in it are returned to it as their holders release them. */
ht__status ht__sched_configure(uint32_t slots, uint32_t quantum_us, ht__sched_runaway_prepare prepare,
        ht__sched_runaway_fire fire);
int ht__sched_get(struct ht__sched_stats *stats);   /* 0 in thread-per-task mode */
/* Frees every scheduler, current and replaced.  Only when no task can be
 * inside one (the module is unloading). */
void ht__sched_shutdown(void);
void ht__sched_reset_stats(void);

ht__status ht__sched_task_init(struct ht__sched_task *task);
void ht__sched_task_destroy(struct ht__sched_task *task);

/* Takes a slot, waiting in FIFO order if none is free.  No-op in
 * thread-per-task mode or when the task already holds one. */
void ht__sched_acquire(struct ht__sched_task *task);
/* Gives the slot back, to the head of the queue if anyone waits.  Returns
 * whether the task held one. */
int ht__sched_release(struct ht__sched_task *task);
/* A cooperative yield: let every task already waiting run first. */
void ht__sched_yield(struct ht__sched_task *task);

static inline int ht__sched_holds(struct ht__sched_task *task)
{
    return atomic_load_explicit(&task->holds_slot, memory_order_relaxed);
}

static inline int ht__sched_active(void)
{
    return atomic_load_explicit(&ht__scheduler_current, memory_order_relaxed) != NULL;
}

/* Supplied by the platform layer. */
struct ht__mutex;
struct ht__mutex *ht__platform_mutex_create(void);
void ht__platform_mutex_destroy(struct ht__mutex *mutex);
void ht__platform_mutex_lock(struct ht__mutex *mutex);
void ht__platform_mutex_unlock(struct ht__mutex *mutex);
void *ht__platform_event_create(void);     /* auto-reset, unsignaled */
void ht__platform_event_destroy(void *event);
void ht__platform_event_set(void *event);
/* 1 when signaled, 0 when timeout_ms ran out (HT__WAIT_FOREVER: never). */
int ht__platform_event_wait(void *event, uint32_t timeout_ms);
#define HT__WAIT_FOREVER 0xffffffffu

#ifdef __cplusplus
}
#endif

#endif /* HOSTTASK_SCHEDULER_H */
