/*
 * The cooperative scheduler: SQL Server (SQLOS) style slots for managed
 * code.  Portable C11 over the platform layer's mutex, futex-class wait
 * and threads.
 *
 * A task must hold one of N slots to run managed code.  It takes a slot
 * when it comes into the runtime.  Going out to native code it keeps the
 * slot, marked "in native code", while nobody waits (reclaiming it on the
 * way back with one compare-and-swap), and hands it to the head of the
 * queue at once when someone does; a task that needs a slot retakes one
 * left in native code.  A host wait gives the slot back.  So a native
 * call that blocks never starves the others.  Waiting tasks queue in FIFO
 * order and a releasing task hands its slot straight to the head of the
 * queue.  A watchdog thread of the scheduler's own watches while anyone
 * waits: a task that holds a slot in managed code longer than the quantum
 * is a runaway: it is counted, asked to yield (through a callback, on the
 * scheduler's yield thread; the COM layer calls ICLRTask::YieldTask), and
 * punished: its next acquisition goes through the queue behind everyone
 * waiting.  One that still holds the slot a quantum after being asked (it
 * ignored the request, or it is a thread back in its host's native code,
 * where the CLR makes no call) is preempted: the slot goes to the head of
 * the queue, and the task takes one again at its next transition, wait or
 * yield.
 *
 * No deadlock by construction: every host wait gives the slot back, every
 * call out gives it to whoever waits (or lets it be retaken), slot waits
 * are granted in FIFO order, and a holder that keeps its slot past two
 * quanta while others wait loses it, so no waiter depends on a holder's
 * cooperation.  See src/scheduler.c for the lock-free states.
 */
#ifndef HOSTTASK_SCHEDULER_H
#define HOSTTASK_SCHEDULER_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HT__SCHED_HISTOGRAM 40   /* slot waits by power of two of nanoseconds */

struct ht__scheduler;

/* The slot word's states (its low two bits; the rest is a generation
 * that every change advances, so the watchdog can tell a state it saw
 * before from a new one without reading a clock). */
#define HT__SLOT_NONE 0u        /* holds no slot */
#define HT__SLOT_RUNNING 1u     /* holds a slot, in managed code */
#define HT__SLOT_NATIVE 2u      /* holds a slot, out in native code: others may retake it */
#define HT__SLOT_STATE 3u
#define HT__SLOT_NEXT(word, state) (((word) & ~HT__SLOT_STATE) + 4u + (state))

/* Per-task scheduling state, embedded in the task. */
struct ht__sched_task
{
    /* The slot word (see src/scheduler.c for who may change it, when). */
    atomic_uint word;
    /* Nonzero when the owner's next LeaveRuntime must take the slow path:
     * it was asked to yield, or preempted.  Set by the watchdog under the
     * scheduler's lock, cleared by the owner under it. */
    atomic_int attention;
    /* The futex word of a slot wait: 0 while queued, 1 granted, 2 let go
     * (the scheduler was replaced). */
    atomic_uint grant;
    /* Owner only: the scheduler it holds a slot in, or queues in, or lost
     * one in (it holds a reference to it until it finds out). */
    struct ht__scheduler *scheduler;
    struct ht__sched_task *next;        /* in the wait queue, under the lock */
    int queued;                         /* under the lock */
    int punished;                       /* under the lock */
    int flagged;                        /* under the lock: counted as a runaway in this hold */
    uint32_t slot;                      /* under the lock: its index in holders[] */
    uint64_t flagged_ns;                /* under the lock: when it was asked to yield */
    uint64_t queued_ns;                 /* under the lock: when it queued */
    atomic_uint_fast64_t wait_ns;
    atomic_uint_fast64_t forced_yields;
    /* Slots taken through the scheduler, and reclaimed from native code by
     * EnterRuntime's compare-and-swap (owner only; a plain increment).
     * The task's acquisitions are their sum (ht__sched_acquisitions). */
    atomic_uint_fast64_t acquisitions;
    atomic_uint_fast64_t reclaims;
    uint64_t folded;                    /* under the lock: reclaims counted in the scheduler's total */
    /* Under the lock: yield requests and preemptions the watchdog made of
     * this task that its own thread has not put in its trace yet (the
     * trace's ring has one writer, the task's thread: src/trace.h). */
    uint32_t untraced_yields;
    uint32_t untraced_preemptions;
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
    uint64_t retakes;           /* slots taken back from tasks in native code */
    uint64_t native_hold_ns;    /* time such slots sat held in native code while a task waited */
};

/* A runaway holder, under the scheduler lock: return 0 to leave it alone
 * (a task in a delay-abort region), else 1 and maybe a token that
 * ht__sched_runaway_fire() is given outside the lock, on the scheduler's
 * yield thread, which is no task's and never enters the runtime.  With
 * token NULL it only answers, before a preemption: a task that entered a
 * delay-abort region after being asked to yield is not preempted either. */
typedef int (*ht__sched_runaway_prepare)(struct ht__sched_task *task, void **token);
typedef void (*ht__sched_runaway_fire)(void *token);

/* The scheduler new acquisitions go to; NULL in thread-per-task mode. */
extern _Atomic(struct ht__scheduler *) ht__scheduler_current;

/* Switches to a scheduler of `slots` slots (0: thread-per-task mode).  The
 * old one is disbanded: its waiters go on without a slot, its threads are
 * stopped and joined, and slots held in it are returned to it as their
 * holders release them; it is freed when the last is.  Not from the fire
 * callback, nor from a thread the old scheduler's fire callback may be
 * waiting for: the switch joins the yield thread. */
ht__status ht__sched_configure(uint32_t slots, uint32_t quantum_us, ht__sched_runaway_prepare prepare,
        ht__sched_runaway_fire fire);
int ht__sched_get(struct ht__sched_stats *stats);   /* 0 in thread-per-task mode */
/* Switches to thread-per-task mode and frees what no task holds. */
void ht__sched_shutdown(void);
void ht__sched_reset_stats(void);
/* Scheduler objects alive, current and replaced (for tests). */
int ht__sched_live(void);
/* A number no other scheduler object of the process had (for tests: a
 * freed scheduler's address may be reused).  Only for one the caller
 * holds a slot in or is configuring. */
uint64_t ht__sched_serial(const struct ht__scheduler *s);

ht__status ht__sched_task_init(struct ht__sched_task *task);
/* Any thread: gives back a slot still held, records nothing. */
void ht__sched_task_destroy(struct ht__sched_task *task);

/* Takes a slot, waiting in FIFO order if none is free; reclaims one left
 * in native code.  No-op in thread-per-task mode or when the task holds
 * one in managed code. */
void ht__sched_acquire(struct ht__sched_task *task);
/* Gives the slot back, to the head of the queue if anyone waits (also one
 * left in native code).  Returns whether the task held one.  On the task's
 * own thread: it records the task's untraced yield requests and
 * preemptions in its trace (src/scheduler.c: trace_untraced). */
int ht__sched_release(struct ht__sched_task *task);
/* A cooperative yield: let every task already waiting run first. */
void ht__sched_yield(struct ht__sched_task *task);
/* For measurement only (bench/native_sched.c, which places the woken task
 * on the releasing thread's processor): when set, ht__sched_release()
 * calls it with each task it hands its slot to, under the scheduler's
 * lock, after the grant is published and before the wake (a grantee that
 * sees its grant early may run before the call).  Never set in the DLL. */
extern void (*ht__sched_grant_hook)(struct ht__sched_task *grantee);

static inline int ht__sched_holds(struct ht__sched_task *task)
{
    return (atomic_load_explicit(&task->word, memory_order_relaxed) & HT__SLOT_STATE) != HT__SLOT_NONE;
}

/* Read by every lazy LeaveRuntime: tasks waiting, plus this bit once the
 * scheduler is disbanded.  Nonzero sends the slot back at once. */
#define HT__SCHED_DISBANDED 0x40000000u
struct ht__scheduler_hot
{
    atomic_uint hot;
};

/* LeaveRuntime's half: 1 when done (no slot in managed code to give back,
 * or it is now marked "in native code", lazily), 0 when the caller must
 * call ht__sched_release() (someone waits, or the task was asked to yield,
 * preempted, or its scheduler disbanded).  No lock, no clock, no
 * read-modify-write: one plain store.  See src/scheduler.c for the
 * interleavings with the watchdog. */
static inline int ht__sched_try_leave(struct ht__sched_task *task)
{
    unsigned int word = atomic_load_explicit(&task->word, memory_order_relaxed);

    if ((word & HT__SLOT_STATE) != HT__SLOT_RUNNING)
        return 1;
    if (atomic_load_explicit(&task->attention, memory_order_relaxed)
            | atomic_load_explicit(&((struct ht__scheduler_hot *)task->scheduler)->hot, memory_order_relaxed))
        return 0;
    atomic_store_explicit(&task->word, HT__SLOT_NEXT(word, HT__SLOT_NATIVE), memory_order_release);
    return 1;
}

/* EnterRuntime's half: 1 when the task holds a slot in managed code now
 * (it reclaimed the one it left in native code with one compare-and-swap),
 * 0 when it must call ht__sched_acquire() (cooperative mode permitting). */
static inline int ht__sched_try_enter(struct ht__sched_task *task)
{
    unsigned int word = atomic_load_explicit(&task->word, memory_order_relaxed);

    if ((word & HT__SLOT_STATE) == HT__SLOT_RUNNING)
        return 1;
    if ((word & HT__SLOT_STATE) != HT__SLOT_NATIVE
            || !atomic_compare_exchange_strong_explicit(&task->word, &word, HT__SLOT_NEXT(word, HT__SLOT_RUNNING),
                    memory_order_acquire, memory_order_relaxed))
        return 0;
    /* Single writer while it holds the slot: no read-modify-write. */
    atomic_store_explicit(&task->reclaims, atomic_load_explicit(&task->reclaims, memory_order_relaxed) + 1,
            memory_order_relaxed);
    return 1;
}

/* Whether the slot the task holds is marked "in native code". */
static inline int ht__sched_in_native(struct ht__sched_task *task)
{
    return (atomic_load_explicit(&task->word, memory_order_relaxed) & HT__SLOT_STATE) == HT__SLOT_NATIVE;
}

/* Slots the task took, reclaims from native code included. */
static inline uint64_t ht__sched_acquisitions(struct ht__sched_task *task)
{
    return atomic_load_explicit(&task->acquisitions, memory_order_relaxed)
            + atomic_load_explicit(&task->reclaims, memory_order_relaxed);
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
/* A futex-class wait: returns when *address may differ from expected, or
 * after timeout_ms (HT__WAIT_FOREVER: never), or spuriously.  The wake
 * never reads the memory, so waking an address whose waiter has returned
 * and freed it is harmless. */
void ht__platform_wait_address(atomic_uint *address, unsigned int expected, uint32_t timeout_ms);
void ht__platform_wake_address(atomic_uint *address);
/* A thread that runs fn(arg); NULL if none could be created. */
void *ht__platform_thread_start(void (*fn)(void *arg), void *arg);
void ht__platform_thread_join(void *thread);

#ifdef __cplusplus
}
#endif

#endif /* HOSTTASK_SCHEDULER_H */
