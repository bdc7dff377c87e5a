/*
 * A multi-threaded test of the cooperative scheduler (src/scheduler.c),
 * natively (for TSan and ASan+UBSan above all) and for the Windows build
 * under Wine.
 *
 * Deterministic scenarios first, each with exact expectations:
 * - FIFO: one slot, a holder, waiters queued one by one (each seen in
 *   ht__sched_get().waiting before the next starts); the release grants
 *   them in arrival order.
 * - Runaways: a holder past the quantum while someone waits is flagged
 *   once per hold; the prepare callback runs under the scheduler's lock
 *   and fire outside it (a prober thread tries to take the lock
 *   meanwhile).  One that yields within a quantum of the request requeues
 *   behind everyone waiting; one that ignores it is preempted, its slot
 *   going to the head of the queue; it is never preempted sooner than a
 *   quantum after the request.  Either way the punishment is counted at
 *   its next acquisition.  A new head of the queue takes over watching.
 * - Delay-abort: a holder whose prepare answers 0 is never counted,
 *   punished nor preempted, and is flagged once it leaves the region.
 * - Two runaways in two slots.
 * - Disbanding: ht__sched_configure() lets the old scheduler's waiters go
 *   on without a slot; its holders give their slots back to it.
 * - A second runaway after a preemption is watched too; a fire callback
 *   that re-enters the scheduler on its thread, and one that blocks, do
 *   not stop slot hand-off; a slot left in native code is retaken and the
 *   lazy pair reclaims or queues; a lazy Leave racing a preemption leaves
 *   a task without a slot that finds out at its next Leave; replaced
 *   schedulers are freed.
 * Then, for a bounded time (HT_STRESS_SECONDS, default 2.5, split between
 * the phases), eight workers acquire, work, yield, make lazy Leave/Enter
 * pairs and release at random,
 * asked to yield when flagged as runaways (and preempted when too slow):
 * - on 3 slots, then on 1: never more holders than slots, and the
 *   statistics match the per-task counters exactly;
 * - while the main thread switches schedulers (various slot counts, and
 *   off) and resets statistics: never more holders in one scheduler than
 *   its slots, nothing deadlocks, and no slot leaks.
 * Finally ht__sched_shutdown() frees every scheduler (ASan's leak check).
 *
 * Worker threads never call CMocka's assertions (they are not
 * thread-safe): they count failures, print the first ones, and the test
 * asserts none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "test_assert.h"

#include "scheduler.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <time.h>
#endif

#define NWORKERS 8
#define NWAITERS 6                      /* queued in the FIFO scenario */
#define MAX_CONFIGS 4096                /* schedulers of the reconfiguration phase */
#define STRESS_QUANTUM_US 1000u
#define QUANTUM_US 5000u                /* where the runaway ignores the request */
#define REACT_QUANTUM_US 100000u        /* where something must happen within a quantum */
#define REACT_QUANTUM_MS (REACT_QUANTUM_US / 1000u)
#define LONG_QUANTUM_US 10000000u       /* 10 s: nobody is a runaway */
#define TIMEOUT_MS 30000u               /* anything longer is a deadlock */
#define PROBE_BLOCKED_MS 20u            /* how long prepare gives the prober */

static atomic_ulong failures;

#define CHECK(cond, ...) \
    do \
    { \
        if (!(cond) && atomic_fetch_add(&failures, 1) < 10) \
        { \
            fprintf(stderr, "stress_scheduler: %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* ---- A small thread shim; joins time out, so a deadlock fails ---- */

struct thread
{
    void (*fn)(void *arg);
    void *arg;
    void *done;     /* set when fn returns */
#ifdef _WIN32
    HANDLE handle;
#else
    pthread_t handle;
#endif
};

static void thread_body(struct thread *thread)
{
    thread->fn(thread->arg);
    ht__platform_event_set(thread->done);
}

#ifdef _WIN32
static DWORD WINAPI thread_main(void *arg)
{
    thread_body(arg);
    return 0;
}

static void thread_create(struct thread *thread)
{
    thread->handle = CreateThread(NULL, 0, thread_main, thread, 0, NULL);
    assert_non_null(thread->handle);
}

static void thread_wait(struct thread *thread)
{
    assert_int_equal(WaitForSingleObject(thread->handle, INFINITE), WAIT_OBJECT_0);
    CloseHandle(thread->handle);
}

static uint64_t now_ms(void)
{
    return GetTickCount64();
}

static void sleep_ms(unsigned int ms)
{
    Sleep(ms);
}
#else
static void *thread_main(void *arg)
{
    thread_body(arg);
    return NULL;
}

static void thread_create(struct thread *thread)
{
    assert_int_equal(pthread_create(&thread->handle, NULL, thread_main, thread), 0);
}

static void thread_wait(struct thread *thread)
{
    assert_int_equal(pthread_join(thread->handle, NULL), 0);
}

static uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}
#endif

static void thread_start(struct thread *thread, void (*fn)(void *arg), void *arg)
{
    thread->fn = fn;
    thread->arg = arg;
    assert_non_null(thread->done = ht__platform_event_create());
    thread_create(thread);
}

static void thread_join(struct thread *thread)
{
    if (!ht__platform_event_wait(thread->done, TIMEOUT_MS))
        fail_msg("a thread did not finish in %u ms: deadlock", TIMEOUT_MS);
    thread_wait(thread);
    ht__platform_event_destroy(thread->done);
    thread->done = NULL;
}

/* ---- Tasks, and the runaway callbacks ---- */

struct actor
{
    struct ht__sched_task sched;
    int id;
    atomic_int delay_abort;     /* prepare answers 0 */
    atomic_ulong prepares;      /* prepare calls for this holder */
    atomic_ulong flags;         /* ... that answered 1 */
    atomic_ulong fires;
    atomic_int asked;           /* fire asked it to yield */
    void *fired;                /* event: fire ran */
    /* The owner's own; others read them once it has been joined. */
    uint64_t rng;
    int believed;               /* it held a slot after its last call */
    unsigned long acquires;     /* calls made holding no slot */
    unsigned long reacquires;   /* calls made holding one, preempted meanwhile */
    unsigned long yields;       /* calls made holding a slot */
    unsigned long noticed;      /* preemptions it found out about */
    unsigned long slotless;     /* acquisitions that came back without a slot */
    unsigned long natives;      /* lazy Leave/Enter pairs made holding a slot */
    unsigned long native_acquires;  /* ... whose Enter had to take a slot again */
    unsigned long continued;    /* ... while a scheduler was current before */
    atomic_uint *counted;       /* the holder mask it is in */
};

static struct actor *actor_from_sched(struct ht__sched_task *task)
{
    return (struct actor *)((char *)task - offsetof(struct actor, sched));
}

static void actor_init(struct actor *actor, int id)
{
    memset(actor, 0, sizeof(*actor));
    assert_int_equal(ht__sched_task_init(&actor->sched), HT__OK);
    actor->id = id;
    atomic_init(&actor->delay_abort, 0);
    atomic_init(&actor->prepares, 0);
    atomic_init(&actor->flags, 0);
    atomic_init(&actor->fires, 0);
    atomic_init(&actor->asked, 0);
    assert_non_null(actor->fired = ht__platform_event_create());
    actor->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(id + 1);
}

static int holds(struct actor *actor)
{
    return ht__sched_holds(&actor->sched);
}

static void actor_destroy(struct actor *actor)
{
    assert_false(holds(actor));
    ht__sched_task_destroy(&actor->sched);
    ht__platform_event_destroy(actor->fired);
}

/* The prober takes the current scheduler's lock (through ht__sched_get)
 * when asked: from prepare it must not get through, from fire it must. */
static atomic_int probing;
static void *probe_request, *probe_done;
static atomic_ulong probes_requested, probes_completed;
static atomic_int probe_quit;
static struct thread prober;

static void prober_main(void *arg)
{
    struct ht__sched_stats stats;
    unsigned long request;

    for (;;)
    {
        ht__platform_event_wait(probe_request, HT__WAIT_FOREVER);
        if (atomic_load(&probe_quit))
            return;
        request = atomic_load(&probes_requested);
        ht__sched_get(&stats);
        atomic_store(&probes_completed, request);
        ht__platform_event_set(probe_done);
    }
}

/* Asks for a probe and gives it up to ms; returns whether it got through. */
static int probe(uint32_t ms)
{
    unsigned long request = atomic_fetch_add(&probes_requested, 1) + 1;
    uint64_t deadline = now_ms() + ms, now;

    ht__platform_event_set(probe_request);
    /* Short slices: a probe by another thread may take the signal. */
    while (atomic_load(&probes_completed) < request && (now = now_ms()) < deadline)
        ht__platform_event_wait(probe_done, deadline - now < 5 ? (uint32_t)(deadline - now) : 5);
    return atomic_load(&probes_completed) >= request;
}

/* Under the scheduler's lock, for a holder past its quantum. */
static int prepare(struct ht__sched_task *task, void **token)
{
    struct actor *actor = actor_from_sched(task);

    CHECK(ht__sched_holds(task), "prepare for actor %d, which holds no slot", actor->id);
    /* The question before a preemption: only whether it may be touched. */
    if (!token)
        return !atomic_load(&actor->delay_abort);
    CHECK(*token == NULL, "prepare: token not cleared");
    if (atomic_load(&probing))
        CHECK(!probe(PROBE_BLOCKED_MS), "prepare for actor %d: the scheduler's lock is not held", actor->id);
    atomic_fetch_add(&actor->prepares, 1);
    if (atomic_load(&actor->delay_abort))
        return 0;
    atomic_fetch_add(&actor->flags, 1);
    *token = actor;
    return 1;
}

/* The task of the calling thread, for a fire that yields through the
 * host as a CLR's YieldTask may (SwitchToTask or Sleep(0) on the thread
 * that called it): what com/task_manager.c's yield does with it. */
static _Thread_local struct actor *self_actor;
static atomic_int reenter_fire;
/* A fire that blocks until told, as the CLR's YieldTask may until its
 * target yields. */
static atomic_int block_fire;
static void *fire_unblock;
static atomic_int fire_blocked;

/* Outside the lock, on a thread that is no task's (the scheduler's
 * watchdog side). */
static void fire(void *token)
{
    struct actor *actor = token;

    if (atomic_load(&block_fire))
    {
        atomic_store(&fire_blocked, 1);
        CHECK(ht__platform_event_wait(fire_unblock, TIMEOUT_MS), "a blocked fire never unblocked");
        atomic_store(&fire_blocked, 0);
    }
    if (atomic_load(&reenter_fire) && self_actor)
    {
        if (ht__sched_holds(&self_actor->sched))
            ht__sched_yield(&self_actor->sched);
        else
            ht__sched_acquire(&self_actor->sched);
    }
    if (atomic_load(&probing))
        CHECK(probe(TIMEOUT_MS), "fire for actor %d: the scheduler's lock is held", actor->id);
    atomic_fetch_add(&actor->fires, 1);
    atomic_store(&actor->asked, 1);
    ht__platform_event_set(actor->fired);
}

/* ---- Helpers of the scenarios ---- */

static unsigned int bucket_of(uint64_t ns)
{
    unsigned int bucket = 0;

    while (bucket < HT__SCHED_HISTOGRAM - 1 && ns >> (bucket + 1))
        bucket++;
    return bucket;
}

/* What holds in every snapshot, reset or not: the histogram counts the
 * waits, and the longest wait is in its highest bucket. */
static int histogram_consistent(const struct ht__sched_stats *stats)
{
    uint64_t sum = 0;
    int top = -1, i;

    for (i = 0; i < HT__SCHED_HISTOGRAM; i++)
    {
        sum += stats->histogram[i];
        if (stats->histogram[i])
            top = i;
    }
    if (sum != stats->waits)
        return 0;
    if (!stats->waits)
        return !stats->wait_ns && !stats->max_wait_ns;
    return top == (int)bucket_of(stats->max_wait_ns) && stats->max_wait_ns <= stats->wait_ns;
}

static struct ht__sched_stats get_stats(void)
{
    struct ht__sched_stats stats;

    assert_int_equal(ht__sched_get(&stats), 1);
    assert_true(histogram_consistent(&stats));
    assert_le(stats.waits, stats.acquisitions);
    assert_le(stats.held, stats.slots);
    return stats;
}

static void configure(uint32_t slots, uint32_t quantum_us)
{
    assert_int_equal(ht__sched_configure(slots, quantum_us, prepare, fire), HT__OK);
}

/* Polls until n tasks wait for a slot. */
static void wait_for_waiters(uint32_t n)
{
    struct ht__sched_stats stats;
    uint64_t start = now_ms();

    for (;;)
    {
        assert_int_equal(ht__sched_get(&stats), 1);
        if (stats.waiting == n)
            return;
        assert_lt(stats.waiting, n);
        if (now_ms() - start > TIMEOUT_MS)
            fail_msg("%u waiters after %u ms, expected %u", stats.waiting, TIMEOUT_MS, n);
        sleep_ms(1);
    }
}

static void wait_for_count(atomic_ulong *count, unsigned long n)
{
    uint64_t start = now_ms();

    while (atomic_load(count) < n)
    {
        if (now_ms() - start > TIMEOUT_MS)
            fail_msg("count %lu after %u ms, expected %lu", atomic_load(count), TIMEOUT_MS, n);
        sleep_ms(1);
    }
}

static void wait_for_event(void *event)
{
    assert_int_equal(ht__platform_event_wait(event, TIMEOUT_MS), 1);
}

static void acquire(struct actor *actor)
{
    ht__sched_acquire(&actor->sched);
    assert_true(holds(actor));
}

static void release(struct actor *actor)
{
    assert_int_equal(ht__sched_release(&actor->sched), 1);
    assert_false(holds(actor));
}

/* Polls until the actor has lost its slot to a preemption; returns
 * whether it has. */
static int wait_for_preemption(struct actor *actor)
{
    uint64_t start = now_ms();

    while (holds(actor))
    {
        if (now_ms() - start > TIMEOUT_MS)
            return 0;
        sleep_ms(1);
    }
    return 1;
}

/* The order in which waiters got their slots. */
static int order[16];
static atomic_int norder;

static void wait_for_grants(int n)
{
    uint64_t start = now_ms();

    while (atomic_load(&norder) < n)
    {
        if (now_ms() - start > TIMEOUT_MS)
            fail_msg("%d grants after %u ms, expected %d", atomic_load(&norder), TIMEOUT_MS, n);
        sleep_ms(1);
    }
}

static void record_grant(int id)
{
    int i = atomic_fetch_add(&norder, 1);

    CHECK(i < 16, "too many grants");
    if (i < 16)
        order[i] = id;
}

/* What a waiter does once it has its slot. */
enum waiter_mode
{
    RELEASE,        /* releases it at once */
    HOLD,           /* holds it until told (waiter_go) */
    RUNAWAY         /* holds on, ignoring the request to yield, until preempted */
};

/* A task on a thread of its own: acquires, records, releases. */
struct waiter
{
    struct actor actor;
    struct thread thread;
    enum waiter_mode mode;
    void *go;
    /* Read once joined. */
    int held;
    uint64_t granted_ms;
    struct ht__scheduler *scheduler;
};

static void waiter_main(void *arg)
{
    struct waiter *waiter = arg;

    self_actor = &waiter->actor;
    ht__sched_acquire(&waiter->actor.sched);
    waiter->granted_ms = now_ms();
    waiter->held = holds(&waiter->actor);
    waiter->scheduler = waiter->actor.sched.scheduler;
    if (!waiter->held)
        return;
    record_grant(waiter->actor.id);
    if (waiter->mode == HOLD)
        CHECK(ht__platform_event_wait(waiter->go, TIMEOUT_MS), "waiter %d: never told to go", waiter->actor.id);
    if (waiter->mode == RUNAWAY)
    {
        /* Started in a delay-abort region, so that a thread kept off the
         * processor is not preempted before it could look: a runaway now. */
        atomic_store(&waiter->actor.delay_abort, 0);
        CHECK(ht__platform_event_wait(waiter->actor.fired, TIMEOUT_MS), "waiter %d: never asked to yield",
                waiter->actor.id);
        CHECK(wait_for_preemption(&waiter->actor), "waiter %d: never preempted", waiter->actor.id);
        CHECK(ht__sched_release(&waiter->actor.sched) == 0, "waiter %d: released a slot it lost",
                waiter->actor.id);
    }
    else
        CHECK(ht__sched_release(&waiter->actor.sched) == 1, "waiter %d: release", waiter->actor.id);
}

static void waiter_start(struct waiter *waiter, int id, int delay_abort, enum waiter_mode mode)
{
    actor_init(&waiter->actor, id);
    atomic_store(&waiter->actor.delay_abort, delay_abort);
    waiter->mode = mode;
    assert_non_null(waiter->go = ht__platform_event_create());
    waiter->held = -1;
    waiter->scheduler = NULL;
    thread_start(&waiter->thread, waiter_main, waiter);
}

static void waiter_go(struct waiter *waiter)
{
    ht__platform_event_set(waiter->go);
}

static void waiter_join(struct waiter *waiter)
{
    thread_join(&waiter->thread);
    actor_destroy(&waiter->actor);
    ht__platform_event_destroy(waiter->go);
}

static int setup(void **state)
{
    probe_request = ht__platform_event_create();
    probe_done = ht__platform_event_create();
    if (!probe_request || !probe_done)
        return -1;
    thread_start(&prober, prober_main, NULL);
    return 0;
}

static int teardown(void **state)
{
    atomic_store(&probe_quit, 1);
    ht__platform_event_set(probe_request);
    thread_join(&prober);
    ht__platform_event_destroy(probe_request);
    ht__platform_event_destroy(probe_done);
    /* Whatever a failed test left behind. */
    ht__sched_shutdown();
    return 0;
}

/* ---- The scenarios ---- */

static void test_fifo(void **state)
{
    static struct waiter waiters[NWAITERS];
    static struct actor holder;
    struct ht__sched_stats stats;
    uint64_t wait_ns = 0;
    int i;

    configure(1, LONG_QUANTUM_US);
    actor_init(&holder, 100);
    atomic_store(&norder, 0);

    acquire(&holder);
    /* A second acquisition, and a yield nobody waits for, keep the slot. */
    ht__sched_acquire(&holder.sched);
    ht__sched_yield(&holder.sched);
    assert_true(holds(&holder));
    assert_int_equal(atomic_load(&holder.sched.acquisitions), 1);

    for (i = 0; i < NWAITERS; i++)
    {
        waiter_start(&waiters[i], i, 0, RELEASE);
        wait_for_waiters(i + 1);
    }
    stats = get_stats();
    assert_int_equal(stats.held, 1);
    assert_int_equal(stats.acquisitions, 1);
    assert_int_equal(stats.waits, 0);

    release(&holder);
    assert_int_equal(ht__sched_release(&holder.sched), 0);
    for (i = 0; i < NWAITERS; i++)
        waiter_join(&waiters[i]);
    assert_int_equal(atomic_load(&failures), 0);

    assert_int_equal(atomic_load(&norder), NWAITERS);
    for (i = 0; i < NWAITERS; i++)
    {
        assert_int_equal(order[i], i);
        assert_int_equal(waiters[i].held, 1);
        assert_int_equal(atomic_load(&waiters[i].actor.sched.acquisitions), 1);
        wait_ns += atomic_load(&waiters[i].actor.sched.wait_ns);
    }
    stats = get_stats();
    assert_int_equal(stats.slots, 1);
    assert_int_equal(stats.quantum_us, LONG_QUANTUM_US);
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    assert_int_equal(stats.acquisitions, NWAITERS + 1);
    assert_int_equal(stats.waits, NWAITERS);
    assert_int_equal(stats.wait_ns, wait_ns);
    assert_int_equal(atomic_load(&holder.sched.wait_ns), 0);
    assert_int_equal(stats.forced_yields, 0);
    assert_int_equal(stats.punishments, 0);
    assert_int_equal(stats.preemptions, 0);

    /* A reset keeps the configuration. */
    ht__sched_reset_stats();
    stats = get_stats();
    assert_int_equal(stats.slots, 1);
    assert_int_equal(stats.quantum_us, LONG_QUANTUM_US);
    assert_int_equal(stats.acquisitions, 0);
    assert_int_equal(stats.waits, 0);
    assert_int_equal(stats.wait_ns, 0);
    assert_int_equal(stats.max_wait_ns, 0);
    actor_destroy(&holder);
}

/* One slot: the runaway holds on past its quantum while two tasks wait,
 * and ignores the request to yield. */
static void test_runaway_preempted(void **state)
{
    static struct waiter w1, w2;
    static struct actor runaway;
    struct ht__sched_stats stats;
    unsigned long prepares;

    configure(1, QUANTUM_US);
    actor_init(&runaway, 100);
    atomic_store(&norder, 0);
    atomic_store(&probing, 1);

    /* In a delay-abort region until both wait: otherwise a machine that
     * keeps this thread off the processor for two quanta lets w1 preempt
     * the runaway, and w2 find a free slot, before w2 has queued. */
    atomic_store(&runaway.delay_abort, 1);
    acquire(&runaway);
    /* The waiters are in delay-abort regions once they hold, so that the
     * runaway, waiting in turn, never counts one of them however slowly
     * they run. */
    waiter_start(&w1, 1, 1, RELEASE);
    wait_for_waiters(1);
    waiter_start(&w2, 2, 1, RELEASE);
    wait_for_waiters(2);
    assert_true(holds(&runaway));
    atomic_store(&runaway.delay_abort, 0);

    /* The head (w1) finds the runaway, and a quantum later takes its slot. */
    wait_for_event(runaway.fired);
    prepares = atomic_load(&runaway.prepares);
    assert_true(wait_for_preemption(&runaway));
    waiter_join(&w1);
    waiter_join(&w2);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&norder), 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    /* Once per hold: asked once, and never again however long it held on. */
    assert_int_equal(atomic_load(&runaway.prepares), prepares);
    assert_int_equal(atomic_load(&runaway.flags), 1);
    assert_int_equal(atomic_load(&runaway.fires), 1);
    assert_int_equal(atomic_load(&runaway.sched.forced_yields), 1);
    /* They held in delay-abort regions: never counted. */
    assert_int_equal(atomic_load(&w1.actor.flags), 0);
    assert_int_equal(atomic_load(&w2.actor.flags), 0);
    assert_int_equal(atomic_load(&w1.actor.sched.forced_yields), 0);
    assert_int_equal(atomic_load(&w2.actor.sched.forced_yields), 0);
    stats = get_stats();
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    assert_int_equal(stats.forced_yields, 1);
    assert_int_equal(stats.preemptions, 1);
    assert_int_equal(stats.punishments, 0);
    assert_int_equal(stats.acquisitions, 3);
    assert_int_equal(stats.waits, 2);

    /* Preempted: a yield and a release find no slot. */
    ht__sched_yield(&runaway.sched);
    assert_false(holds(&runaway));
    assert_int_equal(ht__sched_release(&runaway.sched), 0);
    assert_int_equal(atomic_load(&runaway.sched.acquisitions), 1);

    /* The punishment is counted at the next acquisition, even with a free
     * slot and nobody waiting: it goes through the queue. */
    acquire(&runaway);
    stats = get_stats();
    assert_int_equal(stats.punishments, 1);
    assert_int_equal(stats.waits, 3);
    assert_int_equal(stats.acquisitions, 4);
    release(&runaway);
    atomic_store(&probing, 0);
    assert_int_equal(atomic_load(&failures), 0);
    actor_destroy(&runaway);
}

/* One slot: the runaway yields as asked, well within the quantum it is
 * given, and queues behind both waiters. */
static void test_runaway_yields(void **state)
{
    static struct waiter w1, w2;
    static struct actor runaway;
    struct ht__sched_stats stats;

    configure(1, REACT_QUANTUM_US);
    actor_init(&runaway, 100);
    atomic_store(&norder, 0);
    atomic_store(&probing, 1);

    acquire(&runaway);
    waiter_start(&w1, 1, 1, RELEASE);
    wait_for_waiters(1);
    waiter_start(&w2, 2, 1, RELEASE);
    wait_for_waiters(2);
    wait_for_event(runaway.fired);
    ht__sched_yield(&runaway.sched);
    assert_true(holds(&runaway));
    record_grant(runaway.id);
    waiter_join(&w1);
    waiter_join(&w2);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&norder), 3);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], runaway.id);
    stats = get_stats();
    assert_int_equal(stats.held, 1);
    assert_int_equal(stats.waiting, 0);
    assert_int_equal(stats.forced_yields, 1);
    assert_int_equal(stats.preemptions, 0);
    /* Counted when the yield acquired again. */
    assert_int_equal(stats.punishments, 1);
    assert_int_equal(stats.acquisitions, 4);
    assert_int_equal(stats.waits, 3);
    assert_int_equal(atomic_load(&runaway.prepares), 1);
    assert_int_equal(atomic_load(&runaway.sched.acquisitions), 2);
    release(&runaway);
    atomic_store(&probing, 0);
    actor_destroy(&runaway);
}

/* A waiter handed the slot becomes a runaway: the task behind it, now the
 * head of the queue, takes over watching, and preempts it. */
static void test_new_head_watches(void **state)
{
    static struct waiter runaway, w;
    static struct actor holder;
    struct ht__sched_stats stats;

    configure(1, QUANTUM_US);
    actor_init(&holder, 100);
    atomic_store(&norder, 0);

    atomic_store(&holder.delay_abort, 1);
    acquire(&holder);
    waiter_start(&runaway, 1, 1, RUNAWAY);
    wait_for_waiters(1);
    waiter_start(&w, 2, 1, RELEASE);
    wait_for_waiters(2);
    release(&holder);
    waiter_join(&runaway);
    waiter_join(&w);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&norder), 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(atomic_load(&runaway.actor.flags), 1);
    assert_int_equal(atomic_load(&runaway.actor.fires), 1);
    assert_int_equal(atomic_load(&runaway.actor.sched.forced_yields), 1);
    assert_int_equal(atomic_load(&holder.flags), 0);
    stats = get_stats();
    assert_int_equal(stats.forced_yields, 1);
    assert_int_equal(stats.preemptions, 1);
    assert_int_equal(stats.punishments, 0);
    assert_int_equal(stats.acquisitions, 3);
    assert_int_equal(stats.waits, 2);
    actor_destroy(&holder);
}

/* A runaway gets a quantum from the request to yield before it can be
 * preempted, even when it was asked late in its hold (it had held its slot
 * for more than a quantum when someone came to wait).  Timing bounds are
 * asserted only when the machine let the test run within them. */
#define GRACE_QUANTUM_MS 300u
static void test_preemption_grace(void **state)
{
    static struct waiter w1, w2;
    static struct actor runaway, other;
    struct ht__sched_stats stats;
    uint64_t fired, elapsed;

    configure(2, GRACE_QUANTUM_MS * 1000u);
    actor_init(&runaway, 100);
    actor_init(&other, 101);
    atomic_store(&norder, 0);

    /* Both wait before the runaway may be asked (a delay-abort region),
     * which is more than a quantum into its hold. */
    atomic_store(&runaway.delay_abort, 1);
    atomic_store(&other.delay_abort, 1);
    acquire(&runaway);
    acquire(&other);
    waiter_start(&w1, 1, 1, HOLD);
    wait_for_waiters(1);
    waiter_start(&w2, 2, 1, RELEASE);
    wait_for_waiters(2);
    sleep_ms(GRACE_QUANTUM_MS + 10);
    atomic_store(&runaway.delay_abort, 0);
    wait_for_event(runaway.fired);
    fired = now_ms();
    /* w1 gets the other slot; the runaway, asked a moment ago, keeps its
     * own for a quantum. */
    release(&other);
    wait_for_grants(1);
    elapsed = now_ms() - fired;
    if (elapsed < GRACE_QUANTUM_MS / 2)
        assert_true(holds(&runaway));
    waiter_go(&w1);
    waiter_join(&w1);
    elapsed = now_ms() - fired;
    waiter_join(&w2);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&norder), 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    stats = get_stats();
    assert_int_equal(stats.forced_yields, 1);
    /* w2 had w1's slot within the quantum: no preemption was needed. */
    if (elapsed < GRACE_QUANTUM_MS / 2)
    {
        assert_true(holds(&runaway));
        assert_int_equal(stats.preemptions, 0);
    }
    ht__sched_release(&runaway.sched);
    actor_destroy(&runaway);
    actor_destroy(&other);
}

/* A holder in a delay-abort region is asked about (prepare) at every
 * check, but never counted, punished nor preempted. */
static void test_delay_abort(void **state)
{
    static struct waiter w1, w2;
    static struct actor holder;
    struct ht__sched_stats stats;
    unsigned long prepares;

    configure(1, QUANTUM_US);
    actor_init(&holder, 100);
    atomic_store(&norder, 0);

    atomic_store(&holder.delay_abort, 1);
    acquire(&holder);
    waiter_start(&w1, 1, 1, RELEASE);
    wait_for_waiters(1);
    /* Three checks: past two quanta. */
    wait_for_count(&holder.prepares, 3);
    assert_true(holds(&holder));
    assert_int_equal(atomic_load(&holder.flags), 0);
    assert_int_equal(atomic_load(&holder.fires), 0);
    assert_int_equal(atomic_load(&holder.sched.forced_yields), 0);
    stats = get_stats();
    assert_int_equal(stats.forced_yields, 0);
    assert_int_equal(stats.preemptions, 0);
    release(&holder);
    waiter_join(&w1);

    /* Not punished: straight to the free slot. */
    acquire(&holder);
    stats = get_stats();
    assert_int_equal(stats.punishments, 0);
    assert_int_equal(stats.waits, 1);

    /* Out of the region while someone waits: flagged once, then
     * preempted, as it ignores the request. */
    waiter_start(&w2, 2, 1, RELEASE);
    wait_for_waiters(1);
    prepares = atomic_load(&holder.prepares);
    wait_for_count(&holder.prepares, prepares + 2);
    atomic_store(&holder.delay_abort, 0);
    wait_for_event(holder.fired);
    prepares = atomic_load(&holder.prepares);
    assert_true(wait_for_preemption(&holder));
    assert_int_equal(atomic_load(&holder.prepares), prepares);
    assert_int_equal(atomic_load(&holder.flags), 1);
    assert_int_equal(atomic_load(&holder.fires), 1);
    assert_int_equal(atomic_load(&holder.sched.forced_yields), 1);
    assert_int_equal(ht__sched_release(&holder.sched), 0);
    waiter_join(&w2);
    stats = get_stats();
    assert_int_equal(stats.forced_yields, 1);
    assert_int_equal(stats.preemptions, 1);
    assert_int_equal(stats.punishments, 0);

    acquire(&holder);
    stats = get_stats();
    assert_int_equal(stats.punishments, 1);
    release(&holder);
    assert_int_equal(atomic_load(&failures), 0);
    actor_destroy(&holder);
}

/* Two slots, two runaways, one waiter: both are flagged before the
 * waiter gets a slot, which is the first preempted one's. */
static void test_two_runaways(void **state)
{
    static struct waiter w;
    static struct actor r1, r2;
    struct ht__sched_stats stats;
    int released;

    configure(2, QUANTUM_US);
    actor_init(&r1, 101);
    actor_init(&r2, 102);
    atomic_store(&norder, 0);
    atomic_store(&probing, 1);

    acquire(&r1);
    acquire(&r2);
    waiter_start(&w, 1, 1, RELEASE);
    wait_for_waiters(1);
    wait_for_event(r1.fired);
    wait_for_event(r2.fired);
    waiter_join(&w);
    assert_int_equal(atomic_load(&norder), 1);
    /* Nobody waits any more: the runaways left hold on. */
    stats = get_stats();
    assert_int_equal(stats.forced_yields, 2);
    assert_true(stats.preemptions == 1 || stats.preemptions == 2);
    assert_int_equal(stats.held, 2 - stats.preemptions);
    assert_int_equal(holds(&r1) + holds(&r2), 2 - stats.preemptions);
    assert_int_equal(atomic_load(&r1.prepares), 1);
    assert_int_equal(atomic_load(&r2.prepares), 1);
    assert_int_equal(atomic_load(&r1.sched.forced_yields), 1);
    assert_int_equal(atomic_load(&r2.sched.forced_yields), 1);

    released = ht__sched_release(&r1.sched);
    released += ht__sched_release(&r2.sched);
    assert_int_equal(released, 2 - stats.preemptions);
    acquire(&r1);
    acquire(&r2);
    stats = get_stats();
    assert_int_equal(stats.held, 2);
    assert_int_equal(stats.punishments, 2);
    release(&r1);
    release(&r2);
    atomic_store(&probing, 0);
    assert_int_equal(atomic_load(&failures), 0);
    actor_destroy(&r1);
    actor_destroy(&r2);
}

/* Switching schedulers: the old one's waiters go on without a slot; its
 * holders return their slots to it, not to the new one. */
static void test_disband(void **state)
{
    static struct waiter waiters[4];
    static struct actor holder, other;
    struct ht__scheduler *old;
    struct ht__sched_stats stats;
    int i;

    configure(1, LONG_QUANTUM_US);
    actor_init(&holder, 100);
    actor_init(&other, 101);
    atomic_store(&norder, 0);

    acquire(&holder);
    old = atomic_load(&ht__scheduler_current);
    for (i = 0; i < 3; i++)
    {
        waiter_start(&waiters[i], i, 0, RELEASE);
        wait_for_waiters(i + 1);
    }
    configure(2, LONG_QUANTUM_US);
    assert_ptr_not_equal(atomic_load(&ht__scheduler_current), old);
    for (i = 0; i < 3; i++)
    {
        waiter_join(&waiters[i]);
        assert_int_equal(waiters[i].held, 0);
        assert_null(waiters[i].scheduler);
        assert_int_equal(atomic_load(&waiters[i].actor.sched.acquisitions), 0);
    }
    assert_int_equal(atomic_load(&norder), 0);
    stats = get_stats();
    assert_int_equal(stats.slots, 2);
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    assert_int_equal(stats.acquisitions, 0);

    /* The holder's slot is the old scheduler's. */
    assert_true(holds(&holder));
    assert_ptr_equal(holder.sched.scheduler, old);
    release(&holder);
    stats = get_stats();
    assert_int_equal(stats.held, 0);

    /* The new one works, and is disbanded in turn by switching off. */
    acquire(&holder);
    acquire(&other);
    assert_ptr_equal(holder.sched.scheduler, atomic_load(&ht__scheduler_current));
    stats = get_stats();
    assert_int_equal(stats.held, 2);
    waiter_start(&waiters[3], 3, 0, RELEASE);
    wait_for_waiters(1);
    assert_int_equal(ht__sched_configure(0, 0, NULL, NULL), HT__OK);
    assert_false(ht__sched_active());
    assert_int_equal(ht__sched_get(&stats), 0);
    assert_int_equal(stats.slots, 0);
    waiter_join(&waiters[3]);
    assert_int_equal(waiters[3].held, 0);
    release(&holder);
    release(&other);

    /* Off: acquiring is a no-op. */
    ht__sched_acquire(&holder.sched);
    assert_false(holds(&holder));
    assert_int_equal(ht__sched_release(&holder.sched), 0);

    /* And on again. */
    configure(1, LONG_QUANTUM_US);
    acquire(&holder);
    stats = get_stats();
    assert_int_equal(stats.held, 1);
    assert_int_equal(stats.acquisitions, 1);
    release(&holder);
    assert_int_equal(atomic_load(&failures), 0);
    actor_destroy(&holder);
    actor_destroy(&other);
}

/* ---- Stress ---- */

/* A scheduler of the reconfiguration phase, and who holds its slots. */
struct config
{
    uint64_t serial;
    uint32_t slots;
    atomic_uint mask;
};

static struct
{
    /* Set before the workers start. */
    uint32_t slots;             /* the only scheduler's, without reconfiguration */
    int reconfiguring;
    atomic_int stop;
    atomic_uint mask;           /* the workers counted as holders, a bit each */
    atomic_int max_holders;
    /* Published by the main thread, one at a time, while reconfiguring. */
    struct config configs[MAX_CONFIGS];
    atomic_int nconfigs;
} stress;

static struct actor workers[NWORKERS];

static int attention(struct actor *actor)
{
    return atomic_load(&actor->sched.attention) != 0;
}

static int popcount(unsigned int x)
{
    int n = 0;

    for (; x; x &= x - 1)
        n++;
    return n;
}

/* The main thread registers a scheduler right after switching to it, so
 * a task may hold a slot of it a moment before: wait for it. */
static struct config *find_config(struct ht__scheduler *scheduler)
{
    uint64_t serial = ht__sched_serial(scheduler);
    uint64_t start = now_ms();
    int i;

    for (;;)
    {
        for (i = atomic_load(&stress.nconfigs) - 1; i >= 0; i--)
            if (stress.configs[i].serial == serial)
                return &stress.configs[i];
        if (now_ms() - start > TIMEOUT_MS)
            return NULL;
        ht__platform_yield();
    }
}

static void register_config(uint32_t slots)
{
    struct ht__scheduler *scheduler = atomic_load(&ht__scheduler_current);
    int n = atomic_load(&stress.nconfigs);

    if (!scheduler)
        return;
    stress.configs[n].serial = ht__sched_serial(scheduler);
    stress.configs[n].slots = slots;
    atomic_init(&stress.configs[n].mask, 0);
    atomic_store(&stress.nconfigs, n + 1);
}

/*
 * Mutual exclusion.  A worker that holds a slot after a call into the
 * scheduler sets its bit in its scheduler's mask, and clears it before its
 * next call: at most `slots` bits are ever set at once.  A preemption
 * takes a slot from a worker without a call, so whoever takes a slot
 * first clears the bits of counted workers that no longer hold one: any
 * slot a preemption freed is either still free, or held by a worker that
 * has not counted itself yet, so the check stays exact.
 */
static void uncount(struct actor *actor)
{
    if (actor->counted)
        atomic_fetch_and(actor->counted, ~(1u << actor->id));
    actor->counted = NULL;
}

static void count(struct actor *actor)
{
    atomic_uint *mask = &stress.mask;
    unsigned int bit = 1u << actor->id, seen;
    uint32_t slots = stress.slots;
    struct config *config;
    int n, max, i;

    actor->believed = holds(actor);
    if (!actor->believed)
        return;
    if (stress.reconfiguring)
    {
        config = find_config(actor->sched.scheduler);
        CHECK(config != NULL, "actor %d holds a slot of a scheduler never configured", actor->id);
        if (!config)
            return;
        mask = &config->mask;
        slots = config->slots;
    }
    seen = atomic_load(mask);
    for (i = 0; i < NWORKERS; i++)
        if (i != actor->id && (seen & 1u << i) && (!holds(&workers[i]) || attention(&workers[i])))
            atomic_fetch_and(mask, ~(1u << i));
    n = popcount(atomic_fetch_or(mask, bit) | bit);
    actor->counted = mask;
    /* Preempted already: it never counted as a holder.  Nor does one
     * asked to yield: preempted, a lazy Leave racing the preemption may
     * leave it running without a slot until its next slow path, as a
     * preempted runaway may (src/scheduler.c). */
    if (!holds(actor) || attention(actor))
    {
        uncount(actor);
        return;
    }
    CHECK(n <= (int)slots, "%d holders of %u slots", n, slots);
    max = atomic_load(&stress.max_holders);
    while (n > max && !atomic_compare_exchange_weak(&stress.max_holders, &max, n))
        ;
}

/* Before every call: the slot it held since its last call may be gone. */
static int notice(struct actor *actor)
{
    if (actor->believed && !holds(actor))
    {
        actor->noticed++;
        actor->believed = 0;
    }
    uncount(actor);
    return actor->believed;
}

static void do_acquire(struct actor *actor)
{
    struct ht__scheduler *before = atomic_load(&ht__scheduler_current);
    uint64_t acquisitions = atomic_load(&actor->sched.acquisitions), delta;
    unsigned long flags = atomic_load(&actor->flags);
    int held = notice(actor), now_holds;

    ht__sched_acquire(&actor->sched);
    now_holds = holds(actor);
    delta = atomic_load(&actor->sched.acquisitions) - acquisitions;
    CHECK(delta <= 1, "actor %d: %llu acquisitions in one call", actor->id, (unsigned long long)delta);
    if (held)
    {
        /* A no-op, unless it was preempted just before (or during). */
        if (delta)
            actor->reacquires++;
        if (delta || !now_holds)
            actor->noticed++;
    }
    else
    {
        actor->acquires++;
        CHECK(delta || stress.reconfiguring, "actor %d: no slot", actor->id);
        if (!delta)
        {
            actor->slotless++;
            if (before)
                actor->continued++;
        }
    }
    if (now_holds)
    {
        CHECK(stress.reconfiguring || actor->sched.scheduler == before, "actor %d: a slot of another scheduler",
                actor->id);
        /* Now and then, a delay-abort region. */
        if (next_random(&actor->rng) % 8 == 0)
            atomic_store(&actor->delay_abort, 1);
    }
    else if (delta)
    {
        /* A new hold preempted at once must have been flagged meanwhile. */
        CHECK(atomic_load(&actor->flags) != flags, "actor %d: no slot after acquiring", actor->id);
    }
    count(actor);
}

static void do_release(struct actor *actor)
{
    int held = notice(actor), released;

    atomic_store(&actor->delay_abort, 0);
    released = ht__sched_release(&actor->sched);
    CHECK(!holds(actor), "actor %d: still holds a slot", actor->id);
    CHECK(released <= held, "actor %d: released a slot it did not hold", actor->id);
    /* Preempted since the check. */
    if (held && !released)
        actor->noticed++;
    actor->believed = 0;
}

static void do_yield(struct actor *actor)
{
    uint64_t acquisitions = atomic_load(&actor->sched.acquisitions);
    int held = notice(actor), now_holds;

    ht__sched_yield(&actor->sched);
    now_holds = holds(actor);
    if (held)
    {
        actor->yields++;
        /* Without a switch, only a preemption leaves it without a slot. */
        if (!now_holds && !stress.reconfiguring)
            actor->noticed++;
    }
    else
        CHECK(!now_holds && atomic_load(&actor->sched.acquisitions) == acquisitions,
                "actor %d: a yield took a slot", actor->id);
    count(actor);
}

/* A P/Invoke from managed code: LeaveRuntime's lazy half (the slot stays,
 * "in native code", unless someone waits), native code for us
 * microseconds, where the slot may be retaken, and EnterRuntime's half
 * (one CAS, or the queue).  Not counted as a holder meanwhile. */
static void do_native(struct actor *actor, uint64_t us)
{
    uint64_t end;
    int held = notice(actor);

    if (held)
    {
        if (!ht__sched_try_leave(&actor->sched))
            ht__sched_release(&actor->sched);
        actor->natives++;
        end = ht__platform_now_ns() + us * 1000;
        while (ht__platform_now_ns() < end)
            ;
        if (!ht__sched_try_enter(&actor->sched))
        {
            actor->native_acquires++;
            ht__sched_acquire(&actor->sched);
        }
    }
    count(actor);
}

/* Managed code (holding a slot) or native code (not), for us
 * microseconds; a runaway asked to yield does so, as the CLR would at its
 * next safe point. */
static void do_work(struct actor *actor, uint64_t us)
{
    uint64_t end = ht__platform_now_ns() + us * 1000;

    do
    {
        if (atomic_exchange(&actor->asked, 0) && holds(actor))
            do_yield(actor);
    } while (ht__platform_now_ns() < end);
}

static void stress_worker(void *arg)
{
    struct actor *actor = arg;
    uint64_t r;

    while (!atomic_load(&stress.stop))
    {
        r = next_random(&actor->rng);
        switch (r % 10)
        {
        case 0: case 1: case 2:
            do_acquire(actor);
            break;
        case 3: case 4:
            do_release(actor);
            break;
        case 5:
            do_yield(actor);
            break;
        case 9:
            do_native(actor, (r >> 8) % 40);
            break;
        case 6: case 7: case 8:
            /* Mostly short, now and then past the quantum. */
            r >>= 8;
            if (r % 100 < 70)
                do_work(actor, (r >> 8) % 50);
            else if (r % 100 < 95)
                do_work(actor, 50 + (r >> 8) % 450);
            else
                do_work(actor, 1000 + (r >> 8) % 2000);
            break;
        default:
            ht__platform_yield();
            break;
        }
        if (r % 64 == 0)
            ht__platform_yield();
    }
    do_release(actor);
}

static void start_workers(struct thread *threads, uint32_t slots, int reconfiguring)
{
    int i;

    stress.slots = slots;
    stress.reconfiguring = reconfiguring;
    atomic_store(&stress.stop, 0);
    atomic_store(&stress.mask, 0);
    atomic_store(&stress.max_holders, 0);
    for (i = 0; i < NWORKERS; i++)
        actor_init(&workers[i], i);
    for (i = 0; i < NWORKERS; i++)
        thread_start(&threads[i], stress_worker, &workers[i]);
}

static void stop_workers(struct thread *threads)
{
    int i;

    atomic_store(&stress.stop, 1);
    for (i = 0; i < NWORKERS; i++)
        thread_join(&threads[i]);
    for (i = 0; i < NWORKERS; i++)
    {
        assert_false(holds(&workers[i]));
        assert_null(workers[i].counted);
    }
}

/* Every runaway flag is one prepare answering 1 and one fire, at most one
 * per hold, and the task's own counter agrees. */
static void check_runaways(const struct actor *actor)
{
    unsigned long flags = atomic_load(&actor->flags);

    assert_int_equal(atomic_load(&actor->sched.forced_yields), flags);
    assert_int_equal(atomic_load(&actor->fires), flags);
    assert_le(flags, ht__sched_acquisitions((struct ht__sched_task *)&actor->sched));
    assert_le(flags, atomic_load(&actor->prepares));
}

static double stress_seconds(void)
{
    const char *env = getenv("HT_STRESS_SECONDS");
    double seconds = env ? atof(env) : 2.5;

    return seconds > 0 ? seconds : 2.5;
}

/* One scheduler, under load from every worker. */
static void stress_slots(uint32_t slots, uint64_t ms)
{
    struct thread threads[NWORKERS];
    struct ht__sched_stats stats;
    uint64_t start, acquisitions = 0, taken = 0, wait_ns = 0, forced_yields = 0;
    unsigned long natives = 0, native_acquires = 0, acquires = 0, reacquires = 0, yields = 0, noticed = 0, samples = 0, pending = 0;
    int i;

    configure(slots, STRESS_QUANTUM_US);
    start_workers(threads, slots, 0);
    start = now_ms();
    while (now_ms() - start < ms)
    {
        /* Snapshots taken while the workers run hold together too. */
        ht__sched_get(&stats);
        CHECK(histogram_consistent(&stats), "an inconsistent histogram");
        CHECK(stats.waits <= stats.acquisitions, "%llu waits, %llu acquisitions",
                (unsigned long long)stats.waits, (unsigned long long)stats.acquisitions);
        CHECK(stats.held <= slots, "%u slots held", stats.held);
        CHECK(stats.waiting <= NWORKERS, "%u waiting", stats.waiting);
        CHECK(stats.punishments <= stats.forced_yields, "%llu punishments, %llu runaways",
                (unsigned long long)stats.punishments, (unsigned long long)stats.forced_yields);
        CHECK(stats.preemptions <= stats.forced_yields, "%llu preemptions, %llu runaways",
                (unsigned long long)stats.preemptions, (unsigned long long)stats.forced_yields);
        samples++;
        sleep_ms(1);
    }
    stop_workers(threads);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&stress.mask), 0);
    assert_le(atomic_load(&stress.max_holders), (int)slots);

    stats = get_stats();
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    for (i = 0; i < NWORKERS; i++)
    {
        acquisitions += ht__sched_acquisitions(&workers[i].sched);
        taken += atomic_load(&workers[i].sched.acquisitions);
        natives += workers[i].natives;
        native_acquires += workers[i].native_acquires;
        wait_ns += atomic_load(&workers[i].sched.wait_ns);
        forced_yields += atomic_load(&workers[i].sched.forced_yields);
        acquires += workers[i].acquires;
        reacquires += workers[i].reacquires;
        yields += workers[i].yields;
        noticed += workers[i].noticed;
        /* Flagged since its last acquisition: punished, not yet counted. */
        pending += (unsigned long)workers[i].sched.punished;
        check_runaways(&workers[i]);
    }
    assert_int_equal(stats.acquisitions, acquisitions);
    /* Every call without a slot got one; a yield may have taken one more;
     * every lazy pair reclaimed its slot or took one. */
    assert_true(acquires + reacquires + native_acquires <= taken
            && taken <= acquires + reacquires + native_acquires + yields);
    assert_int_equal(acquisitions - taken + native_acquires, natives);
    assert_int_equal(stats.wait_ns, wait_ns);
    assert_int_equal(stats.forced_yields, forced_yields);
    assert_int_equal(stats.punishments + pending, forced_yields);
    /* A preemption inside a yield goes unnoticed: it takes a slot again. */
    assert_true(noticed <= stats.preemptions && stats.preemptions <= stats.forced_yields);

    printf("stress_scheduler: %u slot(s): %lu lazy Leave/Enter pairs (%lu took a slot again), %llu retaken\n",
            slots, natives, native_acquires, (unsigned long long)stats.retakes);
    printf("stress_scheduler: %u slot(s): %llu acquisitions, %llu waits (max %llu us), %lu yields, "
            "%llu runaways, %llu punished, %llu preempted (%lu noticed), %d holders at most, %lu samples\n",
            slots, (unsigned long long)stats.acquisitions, (unsigned long long)stats.waits,
            (unsigned long long)(stats.max_wait_ns / 1000), yields, (unsigned long long)stats.forced_yields,
            (unsigned long long)stats.punishments, (unsigned long long)stats.preemptions, noticed,
            atomic_load(&stress.max_holders), samples);
    for (i = 0; i < NWORKERS; i++)
        actor_destroy(&workers[i]);
}

static void test_stress_three_slots(void **state)
{
    stress_slots(3, (uint64_t)(stress_seconds() * 350));
}

static void test_stress_one_slot(void **state)
{
    stress_slots(1, (uint64_t)(stress_seconds() * 200));
}

/* The main thread switches schedulers and resets statistics while the
 * workers run; the workers check mutual exclusion per scheduler. */
static void test_stress_reconfigure(void **state)
{
    static const uint32_t choices[] = { 0, 1, 2, 3, 5 };
    struct thread threads[NWORKERS];
    struct ht__sched_stats stats;
    uint64_t start, ms = (uint64_t)(stress_seconds() * 350), rng = 7, r;
    unsigned long switches = 0, resets = 0, slotless = 0, continued = 0, acquires = 0;
    uint32_t slots;
    int i;

    atomic_store(&stress.nconfigs, 0);
    configure(2, STRESS_QUANTUM_US);
    register_config(2);
    start_workers(threads, 0, 1);
    start = now_ms();
    while (now_ms() - start < ms && atomic_load(&stress.nconfigs) < MAX_CONFIGS - 1)
    {
        r = next_random(&rng);
        slots = choices[r % 5];
        configure(slots, 500 + (uint32_t)((r >> 8) % 2000));
        register_config(slots);
        switches++;
        if ((r >> 24) % 8 == 0)
        {
            ht__sched_reset_stats();
            resets++;
        }
        if (ht__sched_get(&stats))
        {
            CHECK(histogram_consistent(&stats), "an inconsistent histogram");
            CHECK(stats.held <= stats.slots, "%u of %u slots held", stats.held, stats.slots);
            CHECK(stats.waiting <= NWORKERS, "%u waiting", stats.waiting);
        }
        sleep_ms(1);
    }
    /* The last scheduler is never disbanded nor reset: the workers run in
     * it for a while, then stop, and must leave it empty. */
    configure(3, STRESS_QUANTUM_US);
    register_config(3);
    sleep_ms((unsigned int)(ms / 4));
    stop_workers(threads);
    assert_int_equal(atomic_load(&failures), 0);

    stats = get_stats();
    assert_int_equal(stats.slots, 3);
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    for (i = 0; i < atomic_load(&stress.nconfigs); i++)
        assert_int_equal(atomic_load(&stress.configs[i].mask), 0);
    for (i = 0; i < NWORKERS; i++)
    {
        check_runaways(&workers[i]);
        slotless += workers[i].slotless;
        continued += workers[i].continued;
        acquires += workers[i].acquires;
    }

    printf("stress_scheduler: %lu switches, %lu resets; %lu acquisitions, %lu without a slot "
            "(%lu with a scheduler on); the last scheduler: %llu acquisitions, %llu waits, %llu preempted\n",
            switches, resets, acquires, slotless, continued, (unsigned long long)stats.acquisitions,
            (unsigned long long)stats.waits, (unsigned long long)stats.preemptions);
    for (i = 0; i < NWORKERS; i++)
        actor_destroy(&workers[i]);
}

/* One slot, a 1 ms quantum: a runaway is preempted and its slot goes to
 * the head of the queue, which turns runaway in turn.  The task behind it
 * must not wait for that second runaway to end: it is asked to yield and
 * preempted within a few quanta too.  (A head that preempted and took the
 * slot itself once left the new head asleep with nobody watching.) */
static void test_second_runaway_after_preemption(void **state)
{
    static struct waiter second, third;
    static struct actor first;
    uint64_t waited;

    configure(1, 1000u);
    actor_init(&first, 100);
    atomic_store(&norder, 0);
    atomic_store(&first.delay_abort, 1);
    acquire(&first);
    waiter_start(&second, 1, 1, RUNAWAY);
    wait_for_waiters(1);
    waiter_start(&third, 2, 1, RELEASE);
    wait_for_waiters(2);
    atomic_store(&first.delay_abort, 0);
    assert_true(wait_for_preemption(&first));
    waiter_join(&third);
    waiter_join(&second);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&norder), 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(atomic_load(&second.actor.fires), 1);
    /* Fair: two quanta and a request.  A loaded machine may keep a thread
     * off the processor for a while, so the bound is generous; the defect
     * this guards against waited until TIMEOUT_MS. */
    waited = third.granted_ms - second.granted_ms;
    assert_lt(waited, 2000);
    assert_int_equal(ht__sched_release(&first.sched), 0);
    assert_int_equal(get_stats().preemptions, 2);
    actor_destroy(&first);
}

/* A YieldTask that yields through the host on the thread that called it
 * (SwitchToTask, Sleep(0)): the scheduler's queue stays sound and the
 * waiter gets its slot.  (Called on the queue head's own thread, this once
 * queued the head twice, and the next dequeue spun under the lock.) */
static void test_reentrant_yield_request(void **state)
{
    static struct waiter w1;
    static struct actor runaway;

    configure(1, 1000u);
    actor_init(&runaway, 100);
    atomic_store(&norder, 0);
    atomic_store(&reenter_fire, 1);
    atomic_store(&runaway.delay_abort, 1);
    acquire(&runaway);
    waiter_start(&w1, 1, 1, RELEASE);
    wait_for_waiters(1);
    atomic_store(&runaway.delay_abort, 0);
    wait_for_event(runaway.fired);
    assert_true(wait_for_preemption(&runaway));
    waiter_join(&w1);
    atomic_store(&reenter_fire, 0);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(w1.held, 1);
    assert_int_equal(atomic_load(&norder), 1);
    assert_int_equal(get_stats().waiting, 0);
    assert_int_equal(get_stats().held, 0);
    /* Punished: it queues, and with nobody else waiting gets the slot. */
    acquire(&runaway);
    release(&runaway);
    actor_destroy(&runaway);
}

/* The lazy pair: with nobody waiting LeaveRuntime keeps the slot "in
 * native code" and EnterRuntime reclaims it; a task that needs the slot
 * retakes it, and the leaver's Enter then queues.  One whose slot was
 * retaken may also end without coming back. */
static void test_retake_from_native(void **state)
{
    static struct waiter w;
    static struct actor leaver;
    struct ht__sched_stats stats;

    configure(1, LONG_QUANTUM_US);
    actor_init(&leaver, 100);
    atomic_store(&norder, 0);
    acquire(&leaver);
    assert_int_equal(ht__sched_try_leave(&leaver.sched), 1);
    assert_true(holds(&leaver));
    assert_true(ht__sched_in_native(&leaver.sched));
    assert_int_equal(ht__sched_try_enter(&leaver.sched), 1);
    assert_false(ht__sched_in_native(&leaver.sched));
    assert_int_equal(ht__sched_acquisitions(&leaver.sched), 2);
    stats = get_stats();
    assert_int_equal(stats.acquisitions, 2);
    assert_int_equal(stats.held, 1);

    /* Out again; a waiter comes and takes the slot without waiting. */
    assert_int_equal(ht__sched_try_leave(&leaver.sched), 1);
    waiter_start(&w, 1, 0, HOLD);
    wait_for_grants(1);
    assert_false(holds(&leaver));
    stats = get_stats();
    assert_int_equal(stats.retakes, 1);
    assert_int_equal(stats.waits, 0);
    assert_int_equal(stats.held, 1);
    /* Back: the slot is gone, so it takes one through the scheduler (it
     * waits, unless the waiter was done first). */
    assert_int_equal(ht__sched_try_enter(&leaver.sched), 0);
    waiter_go(&w);
    acquire(&leaver);
    waiter_join(&w);
    stats = get_stats();
    assert_le(stats.waits, 1);
    assert_int_equal(stats.acquisitions, 4);

    /* Someone waits when it leaves: the slot goes at once. */
    waiter_start(&w, 2, 0, RELEASE);
    wait_for_waiters(1);
    assert_int_equal(ht__sched_try_leave(&leaver.sched), 0);
    assert_int_equal(ht__sched_release(&leaver.sched), 1);
    waiter_join(&w);

    /* Left in native code, retaken, and the task ends there. */
    acquire(&leaver);
    assert_int_equal(ht__sched_try_leave(&leaver.sched), 1);
    waiter_start(&w, 3, 0, RELEASE);
    waiter_join(&w);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(get_stats().retakes, 2);
    assert_int_equal(ht__sched_release(&leaver.sched), 0);
    stats = get_stats();
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.waiting, 0);
    actor_destroy(&leaver);
    assert_int_equal(ht__sched_configure(0, 0, NULL, NULL), HT__OK);
    assert_int_equal(ht__sched_live(), 0);
}

/* A lazy LeaveRuntime racing the preemption (it read "in managed code"
 * before the watchdog's compare-and-swap, and stores "in native code"
 * after it), made deterministic by storing what that Leave would.  The
 * task runs on without a slot, as a preempted runaway may; nothing counts
 * it as a holder, and its next Leave finds it holds nothing. */
static void test_leave_racing_preemption(void **state)
{
    static struct waiter w;
    static struct actor runaway;
    struct ht__sched_stats stats;
    unsigned int word;

    configure(1, 1000u);
    actor_init(&runaway, 100);
    atomic_store(&norder, 0);
    atomic_store(&runaway.delay_abort, 1);
    acquire(&runaway);
    waiter_start(&w, 1, 1, HOLD);
    wait_for_waiters(1);
    atomic_store(&runaway.delay_abort, 0);
    assert_true(wait_for_preemption(&runaway));
    wait_for_grants(1);
    word = atomic_load(&runaway.sched.word);
    assert_int_equal(word & HT__SLOT_STATE, HT__SLOT_NONE);
    atomic_store(&runaway.sched.word, HT__SLOT_NEXT(word, HT__SLOT_NATIVE));
    /* Its Enter reclaims what it believes is its slot... */
    assert_int_equal(ht__sched_try_enter(&runaway.sched), 1);
    assert_true(holds(&runaway));
    stats = get_stats();
    assert_int_equal(stats.held, 1);
    assert_int_equal(stats.preemptions, 1);
    /* ...and its next Leave goes the slow way and gives back nothing. */
    assert_int_equal(ht__sched_try_leave(&runaway.sched), 0);
    assert_int_equal(ht__sched_release(&runaway.sched), 0);
    assert_false(holds(&runaway));
    assert_int_equal(get_stats().held, 1);
    waiter_go(&w);
    waiter_join(&w);
    /* Punished: through the queue, which is empty now. */
    acquire(&runaway);
    release(&runaway);
    stats = get_stats();
    assert_int_equal(stats.held, 0);
    assert_int_equal(stats.punishments, 1);
    /* Two takes and a reclaim for it, one take for the waiter. */
    assert_int_equal(ht__sched_acquisitions(&runaway.sched), 3);
    assert_int_equal(stats.acquisitions, 4);
    assert_int_equal(atomic_load(&failures), 0);
    actor_destroy(&runaway);
}

/* A yield request that blocks (the CLR's YieldTask may Sleep-loop until
 * its target yields): the watchdog still preempts the runaway a quantum
 * later, and the waiter gets its slot, while the request is blocked. */
static void test_blocking_yield_request(void **state)
{
    static struct waiter w1;
    static struct actor runaway;
    uint64_t start;

    configure(1, 2000u);
    actor_init(&runaway, 100);
    atomic_store(&norder, 0);
    assert_non_null(fire_unblock = ht__platform_event_create());
    atomic_store(&block_fire, 1);
    atomic_store(&runaway.delay_abort, 1);
    acquire(&runaway);
    waiter_start(&w1, 1, 1, RELEASE);
    wait_for_waiters(1);
    atomic_store(&runaway.delay_abort, 0);
    start = now_ms();
    while (!atomic_load(&fire_blocked))
    {
        assert_lt(now_ms() - start, TIMEOUT_MS);
        sleep_ms(1);
    }
    assert_true(wait_for_preemption(&runaway));
    waiter_join(&w1);
    assert_int_equal(w1.held, 1);
    /* The request is still blocked. */
    assert_int_equal(atomic_load(&fire_blocked), 1);
    assert_int_equal(get_stats().preemptions, 1);
    atomic_store(&block_fire, 0);
    ht__platform_event_set(fire_unblock);
    wait_for_event(runaway.fired);
    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(ht__sched_release(&runaway.sched), 0);
    actor_destroy(&runaway);
    /* Switching schedulers joins the yield thread, now free. */
    assert_int_equal(ht__sched_configure(0, 0, NULL, NULL), HT__OK);
    ht__platform_event_destroy(fire_unblock);
}

/* Replaced schedulers are freed once nothing is inside them: switching
 * modes on and off leaves at most the current one alive. */
static void test_replaced_schedulers_freed(void **state)
{
    struct actor actor;
    int i;

    actor_init(&actor, 0);
    for (i = 0; i < 200; i++)
    {
        configure(1 + i % 3, QUANTUM_US);
        if (i % 2)
        {
            acquire(&actor);
            release(&actor);
        }
        assert_int_equal(ht__sched_configure(0, 0, NULL, NULL), HT__OK);
    }
    assert_int_equal(ht__sched_live(), 0);
    /* One held across the switch lives until its holder gives it back. */
    configure(1, QUANTUM_US);
    acquire(&actor);
    configure(2, QUANTUM_US);
    assert_int_equal(ht__sched_live(), 2);
    release(&actor);
    assert_int_equal(ht__sched_live(), 1);
    assert_int_equal(ht__sched_configure(0, 0, NULL, NULL), HT__OK);
    assert_int_equal(ht__sched_live(), 0);
    actor_destroy(&actor);
}

/* Frees the current scheduler and every replaced one: ASan's leak check
 * at exit sees whether it did. */
static void test_shutdown(void **state)
{
    struct ht__sched_stats stats;
    struct actor actor;

    configure(2, QUANTUM_US);
    actor_init(&actor, 0);
    acquire(&actor);
    release(&actor);
    ht__sched_shutdown();
    assert_null(atomic_load(&ht__scheduler_current));
    assert_int_equal(ht__sched_get(&stats), 0);
    ht__sched_acquire(&actor.sched);
    assert_false(holds(&actor));
    assert_int_equal(ht__sched_release(&actor.sched), 0);
    /* Twice is harmless. */
    ht__sched_shutdown();
    actor_destroy(&actor);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_runaway_preempted),
        cmocka_unit_test(test_runaway_yields),
        cmocka_unit_test(test_new_head_watches),
        cmocka_unit_test(test_preemption_grace),
        cmocka_unit_test(test_delay_abort),
        cmocka_unit_test(test_two_runaways),
        cmocka_unit_test(test_disband),
        cmocka_unit_test(test_second_runaway_after_preemption),
        cmocka_unit_test(test_reentrant_yield_request),
        cmocka_unit_test(test_retake_from_native),
        cmocka_unit_test(test_blocking_yield_request),
        cmocka_unit_test(test_leave_racing_preemption),
        cmocka_unit_test(test_replaced_schedulers_freed),
        cmocka_unit_test(test_stress_three_slots),
        cmocka_unit_test(test_stress_one_slot),
        cmocka_unit_test(test_stress_reconfigure),
        cmocka_unit_test(test_shutdown),
    };

    /* HT_STRESS_FILTER=pattern runs only the tests it matches. */
    if (getenv("HT_STRESS_FILTER"))
        cmocka_set_test_filter(getenv("HT_STRESS_FILTER"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
