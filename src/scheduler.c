/*
 * The cooperative scheduler (see scheduler.h and docs/scheduler.md).
 *
 * The slot path is shaped after Go's runtime (src/runtime/proc.go:
 * entersyscall, exitsyscall, sysmon's retake).  A task's slot word holds
 * its state, NONE, RUNNING or NATIVE, and a generation:
 *
 * - LeaveRuntime, when nobody waits, marks the slot NATIVE with one plain
 *   store (ht__sched_try_leave) and keeps it; EnterRuntime takes it back
 *   with one compare-and-swap (ht__sched_try_enter).  When someone waits
 *   (the scheduler's hot word, read by every Leave, is nonzero), Leave
 *   gives the slot back at once through the lock, to the head of the queue.
 * - A task that finds no free slot retakes a NATIVE slot (a CAS from
 *   NATIVE to NONE) before it queues; the watchdog thread retakes the
 *   NATIVE slots that a Leave racing with a new waiter left behind.
 * - The watchdog, a thread that never enters the runtime, sleeps while
 *   nobody waits.  While someone does, it looks at the holders every tick:
 *   it retakes NATIVE slots, finds runaways (a slot word unchanged for a
 *   quantum in RUNNING), has them asked to yield on the yield thread (also
 *   no task's: the CLR's ICLRTask::YieldTask may block its caller until
 *   the target yields, dotnet/coreclr@ef1e2ab3 src/vm/threads.cpp
 *   (Thread::YieldTask)), and preempts those that still run a quantum
 *   after the request.
 * - Slot waits block on the task's grant word with a futex-class wait.  A
 *   granter does everything under the lock and wakes after unlocking; the
 *   woken task reads its grant word and runs, touching no lock.
 *
 * Who writes a task's slot word, and why the unlocked writes are safe:
 * - The owner, unlocked: RUNNING -> NATIVE by a plain store (Leave) and
 *   NATIVE -> RUNNING by CAS (Enter).  Under the lock: anything, in its
 *   slow paths (release, acquire).
 * - Others, only under the lock and only on a task in holders[]: a
 *   granter NONE -> RUNNING for a queued task (whose owner is asleep in
 *   its slot wait and writes nothing); a retake NATIVE -> NONE by CAS; a
 *   preemption RUNNING -> NONE by CAS, with attention set first.
 * Interleavings:
 * - Enter's CAS against a retake's CAS, both from NATIVE(g): exactly one
 *   wins.  If the retake wins, Enter sees NONE and queues; if Enter wins,
 *   the retake's CAS fails and the slot stays with its owner.
 * - Leave's store against a preemption's CAS, both from RUNNING(g): if the
 *   CAS lands between Leave's load and its store, the store overwrites
 *   NONE with NATIVE(g+1).  The slot was handed on already (the task is no
 *   longer in holders[]), so the task runs on without one: a "ghost", which
 *   is exactly what a preempted runaway is allowed to be.  Nobody else acts
 *   on a ghost (only tasks in holders[] are retaken or preempted), and it
 *   finds out at its next Leave, which sees attention (set before the CAS,
 *   and published by the lock's release to the owner's later loads at the
 *   latest when it takes any lock) and goes the slow way, where the lock
 *   and holders[] tell it that it holds nothing.
 * - Leave reading hot == 0 while a waiter queues: the waiter finds the
 *   slot RUNNING and sleeps, then Leave stores NATIVE.  The waiter woke the
 *   watchdog when it queued, and the watchdog retakes the NATIVE slot at
 *   its next look, within a tick.
 * - A grantee that sees its grant word before the granter's wake returns,
 *   and may free the word: the wake never reads it (scheduler.h).
 */
#include "scheduler.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 16
#define MAX_WAKES 64

struct holder
{
    struct ht__sched_task *task;
    unsigned int seen;      /* its slot word at the watchdog's last look */
    uint64_t since_ns;      /* when the watchdog first saw that word */
};

struct ht__scheduler
{
    struct ht__scheduler_hot h;     /* first: the lazy Leave reads it (scheduler.h) */
    atomic_int refs;                /* current, plus each task whose scheduler it is */
    uint64_t serial;                /* tells it from a later one at the same address */
    struct ht__mutex *lock;
    int disbanded;
    uint32_t slots, held;
    uint64_t quantum_ns;
    uint32_t tick_ms;
    struct holder *holders;         /* [slots] */
    struct ht__sched_task *head, *tail;
    ht__sched_runaway_prepare prepare;
    ht__sched_runaway_fire fire;
    struct ht__sched_stats stats;   /* under the lock */
    /* The watchdog and the yield thread.  Each sleeps on its word; a
     * waker changes the word under the lock, wakes after unlocking. */
    void *watchdog, *yielder;
    atomic_uint watchdog_word, yielder_word;
    int watchdog_sleeping, yielder_sleeping;    /* under the lock */
    int stop;                                   /* under the lock */
    struct request
    {
        void *token;
        struct ht__sched_task *task;
    } requests[MAX_TOKENS];                     /* yield requests, a ring under the lock */
    unsigned int token_first, ntokens;
};

_Atomic(struct ht__scheduler *) ht__scheduler_current;
/* Guards loading ht__scheduler_current together with taking a reference
 * to it, against a switch freeing it in between.  Held for a few
 * instructions, on slow paths only. */
static atomic_flag current_lock = ATOMIC_FLAG_INIT;
static atomic_int live;
static atomic_uint_fast64_t serials;

int ht__sched_live(void)
{
    return atomic_load(&live);
}

uint64_t ht__sched_serial(const struct ht__scheduler *s)
{
    return s->serial;
}

static void current_lock_take(void)
{
    while (atomic_flag_test_and_set_explicit(&current_lock, memory_order_acquire))
        ht__platform_yield();
}

static void current_lock_drop(void)
{
    atomic_flag_clear_explicit(&current_lock, memory_order_release);
}

static void free_scheduler(struct ht__scheduler *s)
{
    if (s->lock)
        ht__platform_mutex_destroy(s->lock);
    ht__platform_free(s->holders);
    ht__platform_free(s);
    atomic_fetch_sub(&live, 1);
}

static void unref(struct ht__scheduler *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free_scheduler(s);
}

/* The current scheduler with a reference for the caller, or NULL. */
static struct ht__scheduler *current_ref(void)
{
    struct ht__scheduler *s;

    current_lock_take();
    if ((s = atomic_load_explicit(&ht__scheduler_current, memory_order_acquire)))
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    current_lock_drop();
    return s;
}

/* ---- Under the lock ---- */

static void take_slot(struct ht__scheduler *s, struct ht__sched_task *task, uint64_t now)
{
    unsigned int word = atomic_load_explicit(&task->word, memory_order_relaxed);
    uint32_t i;

    for (i = 0; s->holders[i].task; i++)
        ;
    word = HT__SLOT_NEXT(word, HT__SLOT_RUNNING);
    s->holders[i].task = task;
    s->holders[i].seen = word;
    s->holders[i].since_ns = now;
    s->held++;
    task->slot = i;
    task->flagged = 0;
    atomic_store_explicit(&task->attention, 0, memory_order_relaxed);
    atomic_store_explicit(&task->word, word, memory_order_release);
    s->stats.acquisitions++;
    atomic_fetch_add_explicit(&task->acquisitions, 1, memory_order_relaxed);
}

/* The reclaims the task made since the last fold go into the scheduler's
 * total.  The owner may be adding one meanwhile only while it holds the
 * slot in holders[]: ht__sched_get() adds those of holders. */
static void fold(struct ht__scheduler *s, struct ht__sched_task *task)
{
    uint64_t reclaims = atomic_load_explicit(&task->reclaims, memory_order_relaxed);

    s->stats.acquisitions += reclaims - task->folded;
    task->folded = reclaims;
}

static void drop_slot(struct ht__scheduler *s, struct ht__sched_task *task)
{
    fold(s, task);
    s->holders[task->slot].task = NULL;
    s->held--;
}

static int is_holder(struct ht__scheduler *s, struct ht__sched_task *task)
{
    return task->slot < s->slots && s->holders[task->slot].task == task;
}

/* Whether a task that may be another scheduler's now holds a slot here:
 * its own fields are under its scheduler's lock, so only holders[] is read. */
static int holds_here(struct ht__scheduler *s, struct ht__sched_task *task)
{
    uint32_t i;

    for (i = 0; i < s->slots; i++)
        if (s->holders[i].task == task)
            return 1;
    return 0;
}

static void enqueue(struct ht__scheduler *s, struct ht__sched_task *task, uint64_t now)
{
    atomic_store_explicit(&task->grant, 0, memory_order_relaxed);
    task->next = NULL;
    task->queued = 1;
    task->queued_ns = now;
    if (s->tail)
        s->tail->next = task;
    else
        s->head = task;
    s->tail = task;
    s->stats.waiting++;
    atomic_fetch_add_explicit(&s->h.hot, 1, memory_order_relaxed);
}

static struct ht__sched_task *dequeue_head(struct ht__scheduler *s)
{
    struct ht__sched_task *task = s->head;

    if (!(s->head = task->next))
        s->tail = NULL;
    task->next = NULL;
    task->queued = 0;
    s->stats.waiting--;
    atomic_fetch_sub_explicit(&s->h.hot, 1, memory_order_relaxed);
    return task;
}

/* A slot wait, counted by whoever ends it: the granter, so that the woken
 * task touches no lock.  (It leaves out the wake-up's latency.) */
static void record_wait(struct ht__scheduler *s, struct ht__sched_task *task, uint64_t waited)
{
    unsigned int bucket = 0;

    while (bucket < HT__SCHED_HISTOGRAM - 1 && waited >> (bucket + 1))
        bucket++;
    s->stats.waits++;
    s->stats.wait_ns += waited;
    if (waited > s->stats.max_wait_ns)
        s->stats.max_wait_ns = waited;
    s->stats.histogram[bucket]++;
    atomic_fetch_add_explicit(&task->wait_ns, waited, memory_order_relaxed);
}

/* Hands free slots to the head of the queue; the tasks to wake after
 * unlocking go to wakes[]. */
static unsigned int grant_free(struct ht__scheduler *s, uint64_t now, struct ht__sched_task **wakes,
        unsigned int n)
{
    struct ht__sched_task *task;

    while (!s->disbanded && s->head && s->held < s->slots && n < MAX_WAKES)
    {
        task = dequeue_head(s);
        record_wait(s, task, now > task->queued_ns ? now - task->queued_ns : 0);
        take_slot(s, task, now);
        atomic_store_explicit(&task->grant, 1, memory_order_release);
        wakes[n++] = task;
    }
    return n;
}

static void wake_all(struct ht__sched_task **wakes, unsigned int n)
{
    unsigned int i;

    for (i = 0; i < n; i++)
        ht__platform_wake_address(&wakes[i]->grant);
}

/* Takes a slot held in native code back, if there is one (the head of the
 * queue, if any, has waited since queued_ns for it). */
static int retake_native(struct ht__scheduler *s, uint64_t now)
{
    struct ht__sched_task *holder;
    unsigned int word;
    uint32_t i;

    for (i = 0; i < s->slots; i++)
    {
        if (!(holder = s->holders[i].task))
            continue;
        word = atomic_load_explicit(&holder->word, memory_order_relaxed);
        if ((word & HT__SLOT_STATE) != HT__SLOT_NATIVE)
            continue;
        /* Against the owner's Enter, which CASes from the same word. */
        if (!atomic_compare_exchange_strong_explicit(&holder->word, &word, HT__SLOT_NEXT(word, HT__SLOT_NONE),
                memory_order_relaxed, memory_order_relaxed))
            continue;
        drop_slot(s, holder);
        s->stats.retakes++;
        if (s->head && now > s->head->queued_ns)
            s->stats.native_hold_ns += now - s->head->queued_ns;
        return 1;
    }
    return 0;
}

static void wake_thread(atomic_uint *word, int *sleeping, int *wake)
{
    if (*sleeping)
    {
        atomic_fetch_add_explicit(word, 1, memory_order_relaxed);
        *sleeping = 0;
        *wake = 1;
    }
}

/* The watchdog's look at the holders, while someone waits. */
static void watch(struct ht__scheduler *s, uint64_t now, int *wake_yielder)
{
    struct ht__sched_task *task;
    struct holder *holder;
    unsigned int word;
    void *token;
    uint32_t i;

    /* As many slots as the waiters need beyond the free ones. */
    while (s->stats.waiting > s->slots - s->held && retake_native(s, now))
        ;
    for (i = 0; i < s->slots; i++)
    {
        holder = &s->holders[i];
        if (!(task = holder->task))
            continue;
        word = atomic_load_explicit(&task->word, memory_order_relaxed);
        if (word != holder->seen)
        {
            /* A transition since the last look: the quantum starts over. */
            holder->seen = word;
            holder->since_ns = now;
            continue;
        }
        if ((word & HT__SLOT_STATE) != HT__SLOT_RUNNING || now - holder->since_ns <= s->quantum_ns)
            continue;
        if (task->flagged)
        {
            /* Asked a quantum ago and still running: preempt it.  The
             * quantum counts from the request. */
            if (now - task->flagged_ns <= s->quantum_ns || (s->prepare && !s->prepare(task, NULL)))
                continue;
            atomic_store_explicit(&task->attention, 1, memory_order_relaxed);
            /* Against the owner's Leave, a plain store: see the top. */
            if (!atomic_compare_exchange_strong_explicit(&task->word, &word, HT__SLOT_NEXT(word, HT__SLOT_NONE),
                    memory_order_relaxed, memory_order_relaxed))
                continue;
            drop_slot(s, task);
            s->stats.preemptions++;
            task->untraced_preemptions++;   /* traced by the task itself: see trace_untraced() */
            continue;
        }
        if (s->ntokens == MAX_TOKENS)
            continue;   /* asked at the next look */
        token = NULL;
        if (s->prepare && !s->prepare(task, &token))
            continue;
        task->flagged = 1;
        task->flagged_ns = now;
        task->punished = 1;
        atomic_store_explicit(&task->attention, 1, memory_order_relaxed);
        s->stats.forced_yields++;
        task->untraced_yields++;            /* likewise */
        atomic_fetch_add_explicit(&task->forced_yields, 1, memory_order_relaxed);
        if (token && s->yielder)
        {
            s->requests[(s->token_first + s->ntokens) % MAX_TOKENS].token = token;
            s->requests[(s->token_first + s->ntokens++) % MAX_TOKENS].task = task;
            wake_thread(&s->yielder_word, &s->yielder_sleeping, wake_yielder);
        }
    }
}

/* ---- The scheduler's threads: never a task's, never in the runtime ---- */

static void watchdog_main(void *arg)
{
    struct ht__scheduler *s = arg;
    struct ht__sched_task *wakes[MAX_WAKES];
    unsigned int word, n;
    int wake_yielder;
    uint32_t timeout;

    ht__platform_mutex_lock(s->lock);
    while (!s->stop)
    {
        wake_yielder = 0;
        n = 0;
        if (s->head)
        {
            uint64_t now = ht__platform_now_ns();

            watch(s, now, &wake_yielder);
            n = grant_free(s, now, wakes, 0);
        }
        /* Nobody waits: sleep until a waiter wakes it. */
        timeout = s->head ? s->tick_ms : HT__WAIT_FOREVER;
        s->watchdog_sleeping = !s->head;
        word = atomic_load_explicit(&s->watchdog_word, memory_order_relaxed);
        ht__platform_mutex_unlock(s->lock);
        wake_all(wakes, n);
        if (wake_yielder)
            ht__platform_wake_address(&s->yielder_word);
        ht__platform_wait_address(&s->watchdog_word, word, timeout);
        ht__platform_mutex_lock(s->lock);
    }
    ht__platform_mutex_unlock(s->lock);
}

/* Calls fire for each yield request, outside the lock: the CLR's
 * YieldTask may block until its target yields, and the watchdog goes on
 * preempting meanwhile. */
static void yielder_main(void *arg)
{
    struct ht__scheduler *s = arg;
    struct ht__sched_task *task;
    unsigned int word;
    void *token;

    ht__platform_mutex_lock(s->lock);
    for (;;)
    {
        if (s->ntokens)
        {
            token = s->requests[s->token_first].token;
            task = s->requests[s->token_first].task;
            s->token_first = (s->token_first + 1) % MAX_TOKENS;
            s->ntokens--;
            /* The quantum before a preemption counts from the request
             * itself, which this thread may make a while after the flag.
             * (A holder is alive: it gives its slot back under the lock.
             * Should the address be another task's holding here now, that
             * one, if flagged, gets a little longer.)  Not from its return: a
             * YieldTask that blocks must not hold the preemption off. */
            if (holds_here(s, task) && task->flagged)
                task->flagged_ns = ht__platform_now_ns();
            ht__platform_mutex_unlock(s->lock);
            s->fire(token);
            ht__platform_mutex_lock(s->lock);
            continue;
        }
        if (s->stop)
            break;
        s->yielder_sleeping = 1;
        word = atomic_load_explicit(&s->yielder_word, memory_order_relaxed);
        ht__platform_mutex_unlock(s->lock);
        ht__platform_wait_address(&s->yielder_word, word, HT__WAIT_FOREVER);
        ht__platform_mutex_lock(s->lock);
    }
    ht__platform_mutex_unlock(s->lock);
}

/* ---- Configuration ---- */

static void disband(struct ht__scheduler *old)
{
    struct ht__sched_task *waiter, *wakes[MAX_WAKES];
    unsigned int n;
    int more = 1;

    ht__platform_mutex_lock(old->lock);
    old->disbanded = 1;
    old->stop = 1;
    atomic_fetch_or_explicit(&old->h.hot, HT__SCHED_DISBANDED, memory_order_relaxed);
    atomic_fetch_add_explicit(&old->watchdog_word, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&old->yielder_word, 1, memory_order_relaxed);
    ht__platform_mutex_unlock(old->lock);
    ht__platform_wake_address(&old->watchdog_word);
    ht__platform_wake_address(&old->yielder_word);
    if (old->watchdog)
        ht__platform_thread_join(old->watchdog);
    if (old->yielder)
        ht__platform_thread_join(old->yielder);
    /* Its waiters go on without a slot. */
    while (more)
    {
        ht__platform_mutex_lock(old->lock);
        for (n = 0; old->head && n < MAX_WAKES; n++)
        {
            waiter = dequeue_head(old);
            atomic_store_explicit(&waiter->grant, 2, memory_order_release);
            wakes[n] = waiter;
        }
        more = old->head != NULL;
        ht__platform_mutex_unlock(old->lock);
        wake_all(wakes, n);
    }
    unref(old);
}

ht__status ht__sched_configure(uint32_t slots, uint32_t quantum_us, ht__sched_runaway_prepare prepare,
        ht__sched_runaway_fire fire)
{
    struct ht__scheduler *s = NULL, *old;

    if (slots)
    {
        if (!(s = ht__platform_alloc(sizeof(*s))))
            return HT__E_NOMEM;
        atomic_fetch_add(&live, 1);
        atomic_init(&s->refs, 1);
        s->serial = atomic_fetch_add(&serials, 1) + 1;
        if (!(s->holders = ht__platform_alloc((size_t)slots * sizeof(*s->holders)))
                || !(s->lock = ht__platform_mutex_create()))
        {
            free_scheduler(s);
            return HT__E_NOMEM;
        }
        s->slots = slots;
        s->quantum_ns = (uint64_t)(quantum_us ? quantum_us : 1) * 1000u;
        /* Timed waits have millisecond granularity under Wine: look twice
         * a quantum, at most every millisecond, at least every 10. */
        s->tick_ms = (uint32_t)(s->quantum_ns / 2000000u);
        s->tick_ms = s->tick_ms < 1 ? 1 : s->tick_ms > 10 ? 10 : s->tick_ms;
        s->prepare = prepare;
        s->fire = fire;
        s->stats.slots = slots;
        s->stats.quantum_us = quantum_us ? quantum_us : 1;
        if (!(s->watchdog = ht__platform_thread_start(watchdog_main, s))
                || (fire && !(s->yielder = ht__platform_thread_start(yielder_main, s))))
        {
            atomic_fetch_add(&s->refs, 1);
            disband(s);
            unref(s);
            return HT__E_NOMEM;
        }
    }

    current_lock_take();
    old = atomic_exchange_explicit(&ht__scheduler_current, s, memory_order_acq_rel);
    current_lock_drop();
    if (old)
        disband(old);
    return HT__OK;
}

void ht__sched_shutdown(void)
{
    ht__sched_configure(0, 0, NULL, NULL);
}

int ht__sched_get(struct ht__sched_stats *stats)
{
    struct ht__scheduler *s = current_ref();
    struct ht__sched_task *task;
    uint32_t i;

    memset(stats, 0, sizeof(*stats));
    if (!s)
        return 0;
    ht__platform_mutex_lock(s->lock);
    *stats = s->stats;
    stats->held = s->held;
    for (i = 0; i < s->slots; i++)
        if ((task = s->holders[i].task))
            stats->acquisitions += atomic_load_explicit(&task->reclaims, memory_order_relaxed) - task->folded;
    ht__platform_mutex_unlock(s->lock);
    unref(s);
    return 1;
}

void ht__sched_reset_stats(void)
{
    struct ht__scheduler *s = current_ref();
    struct ht__sched_task *task;
    uint32_t waiting, i;

    if (!s)
        return;
    ht__platform_mutex_lock(s->lock);
    waiting = s->stats.waiting;
    memset(&s->stats, 0, sizeof(s->stats));
    s->stats.slots = s->slots;
    s->stats.quantum_us = (uint32_t)(s->quantum_ns / 1000u);
    s->stats.waiting = waiting;
    for (i = 0; i < s->slots; i++)
        if ((task = s->holders[i].task))
            task->folded = atomic_load_explicit(&task->reclaims, memory_order_relaxed);
    ht__platform_mutex_unlock(s->lock);
    unref(s);
}

ht__status ht__sched_task_init(struct ht__sched_task *task)
{
    memset(task, 0, sizeof(*task));
    return HT__OK;
}

/* Maybe not on the task's thread: records nothing in its trace. */
static int release(struct ht__sched_task *task, int owner);

void ht__sched_task_destroy(struct ht__sched_task *task)
{
    release(task, 0);
}

/* ---- The owner's slow paths ---- */

/* The trace's yield requests and preemptions.  The watchdog and the yield
 * thread make them, but they are no task's and a trace ring has one
 * writer, its task's own thread (src/trace.h, src/trace.c): so the
 * watchdog only counts them in the task concerned (untraced_*, under the
 * lock), and that task's thread, in its next slow path (the Leave that
 * sees its attention, the acquire that finds its slot gone, a host wait,
 * a yield, its end), takes the counts under the lock and puts the events
 * in its own ring, naming itself.  Each is recorded once, late by up to
 * one transition: the trace shows where the task found out.  Every
 * release and settle by the owner takes the counts, and a task's end
 * releases (com/task.c: unbind_current), so an ended task's trace has
 * exactly its forced yields and preemptions (launcher/trace_out.c:
 * trace_check).  Under the lock; the owner only. */
static void take_untraced(struct ht__sched_task *task, uint32_t untraced[2])
{
    untraced[0] = task->untraced_yields;
    untraced[1] = task->untraced_preemptions;
    task->untraced_yields = 0;
    task->untraced_preemptions = 0;
}

/* After the lock, on the owner's thread. */
static void trace_untraced(struct ht__sched_task *task, const uint32_t untraced[2])
{
    uint32_t i;

    for (i = 0; i < untraced[0]; i++)
        ht__trace_yield_request(task, task);
    for (i = 0; i < untraced[1]; i++)
        ht__trace_preemption(task, task);
}


/* The task holds no slot in its scheduler any more (retaken, preempted,
 * let go, or released): forget it, under its lock. */
static void settle(struct ht__sched_task *task)
{
    struct ht__scheduler *s = task->scheduler;
    uint32_t untraced[2];

    ht__platform_mutex_lock(s->lock);
    if (is_holder(s, task))
        drop_slot(s, task);
    fold(s, task);      /* a ghost's reclaims */
    task->flagged = 0;
    take_untraced(task, untraced);
    atomic_store_explicit(&task->attention, 0, memory_order_relaxed);
    atomic_store_explicit(&task->word,
            HT__SLOT_NEXT(atomic_load_explicit(&task->word, memory_order_relaxed), HT__SLOT_NONE),
            memory_order_relaxed);
    ht__platform_mutex_unlock(s->lock);
    trace_untraced(task, untraced);
    task->scheduler = NULL;
    unref(s);
}

void ht__sched_acquire(struct ht__sched_task *task)
{
    struct ht__scheduler *s;
    struct ht__sched_task *wakes[MAX_WAKES];
    unsigned int n = 0;
    uint64_t now;
    int wake_watchdog = 0;

    if (ht__sched_try_enter(task))
        return;
    /* Re-entered from a callback on the thread of a task that is queued
     * (none runs there in this design, but a queue must never hold a task
     * twice): the wait in progress takes the slot. */
    if (task->queued)
        return;
    if (task->scheduler)
        settle(task);
    if (!(s = current_ref()))
        return;
    ht__platform_mutex_lock(s->lock);
    if (s->disbanded)
    {
        ht__platform_mutex_unlock(s->lock);
        unref(s);
        return;
    }
    task->scheduler = s;
    now = ht__platform_now_ns();
    if (!s->head && (s->held < s->slots || retake_native(s, now)))
    {
        /* Quantum punishment: a runaway goes through the queue, which is
         * empty: it waits for nobody, but it is counted. */
        if (task->punished)
        {
            task->punished = 0;
            s->stats.punishments++;
            record_wait(s, task, 0);
            /* A slot wait to the statistics, so one to the trace too
             * (launcher/trace_out.c: trace_check counts them). */
            ht__trace_slot_wait_begin(task);
            take_slot(s, task, now);
            ht__platform_mutex_unlock(s->lock);
            ht__trace_slot_granted(task, 1);
            return;
        }
        take_slot(s, task, now);
        ht__platform_mutex_unlock(s->lock);
        return;
    }
    if (task->punished)
    {
        task->punished = 0;
        s->stats.punishments++;
    }
    enqueue(s, task, now);
    ht__trace_slot_wait_begin(task);
    /* Slots may be free behind a queue (a preemption just now). */
    n = grant_free(s, now, wakes, 0);
    wake_thread(&s->watchdog_word, &s->watchdog_sleeping, &wake_watchdog);
    ht__platform_mutex_unlock(s->lock);
    wake_all(wakes, n);
    if (wake_watchdog)
        ht__platform_wake_address(&s->watchdog_word);

    while (!atomic_load_explicit(&task->grant, memory_order_acquire))
        ht__platform_wait_address(&task->grant, 0, HT__WAIT_FOREVER);
    /* Granted (1) with a slot, or let go (2) without one. */
    ht__trace_slot_granted(task, atomic_load_explicit(&task->grant, memory_order_relaxed) == 1);
    if (atomic_load_explicit(&task->grant, memory_order_relaxed) == 2)
    {
        /* Disbanded: on without a slot. */
        task->scheduler = NULL;
        unref(s);
    }
}

void (*ht__sched_grant_hook)(struct ht__sched_task *grantee);

/* owner: called on the task's own thread, which may write its trace. */
static int release(struct ht__sched_task *task, int owner)
{
    struct ht__scheduler *s = task->scheduler;
    struct ht__sched_task *wakes[MAX_WAKES];
    unsigned int word, n = 0, i;
    uint32_t untraced[2] = { 0, 0 };
    int held;

    if (!s)
        return 0;
    ht__platform_mutex_lock(s->lock);
    word = atomic_load_explicit(&task->word, memory_order_relaxed);
    /* Retaken or preempted (a ghost, if its Leave raced the preemption):
     * the slot is someone else's already. */
    held = (word & HT__SLOT_STATE) != HT__SLOT_NONE && is_holder(s, task);
    if (held)
    {
        drop_slot(s, task);
        n = grant_free(s, ht__platform_now_ns(), wakes, 0);
        if (owner && ht__sched_grant_hook)
            for (i = 0; i < n; i++)
                ht__sched_grant_hook(wakes[i]);
    }
    fold(s, task);      /* a ghost's reclaims */
    task->flagged = 0;
    if (owner)
        take_untraced(task, untraced);
    atomic_store_explicit(&task->attention, 0, memory_order_relaxed);
    atomic_store_explicit(&task->word, HT__SLOT_NEXT(word, HT__SLOT_NONE), memory_order_relaxed);
    ht__platform_mutex_unlock(s->lock);
    wake_all(wakes, n);
    trace_untraced(task, untraced);
    task->scheduler = NULL;
    unref(s);
    return held;
}

int ht__sched_release(struct ht__sched_task *task)
{
    return release(task, 1);
}

void ht__sched_yield(struct ht__sched_task *task)
{
    struct ht__scheduler *s = task->scheduler;
    int waiting;

    if (!s || !ht__sched_holds(task))
        return;
    ht__platform_mutex_lock(s->lock);
    waiting = s->head != NULL || task->punished || !is_holder(s, task);
    ht__platform_mutex_unlock(s->lock);
    /* Nobody waits: keep the slot, unless punished, which requeues. */
    if (waiting)
    {
        ht__sched_release(task);
        ht__sched_acquire(task);
    }
}
