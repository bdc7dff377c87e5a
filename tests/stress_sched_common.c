/*
 * The scheduler stress test's actors, runaway callbacks, prober and
 * scenario helpers (declared in tests/stress_sched.h).
 */
#include "stress_sched.h"

/* Failures CHECK saw (tests/stress_shim.h). */
atomic_ulong failures;

/* ---- Tasks, and the runaway callbacks ---- */

struct actor *actor_from_sched(struct ht__sched_task *task)
{
    return (struct actor *)((char *)task - offsetof(struct actor, sched));
}

void actor_init(struct actor *actor, int id)
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

int holds(struct actor *actor)
{
    return ht__sched_holds(&actor->sched);
}

void actor_destroy(struct actor *actor)
{
    assert_false(holds(actor));
    ht__sched_task_destroy(&actor->sched);
    ht__platform_event_destroy(actor->fired);
}

/* The prober takes the current scheduler's lock (through ht__sched_get)
 * when asked: from prepare it must not get through, from fire it must. */
atomic_int probing;
void *probe_request, *probe_done;
atomic_ulong probes_requested, probes_completed;
atomic_int probe_quit;
struct thread prober;

void prober_main(void *arg)
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
int probe(uint32_t ms)
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
int prepare(struct ht__sched_task *task, void **token)
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
_Thread_local struct actor *self_actor;
atomic_int reenter_fire;
/* A fire that blocks until told, as the CLR's YieldTask may until its
 * target yields. */
atomic_int block_fire;
void *fire_unblock;
atomic_int fire_blocked;

/* Outside the lock, on a thread that is no task's (the scheduler's
 * watchdog side). */
void fire(void *token)
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

unsigned int bucket_of(uint64_t ns)
{
    unsigned int bucket = 0;

    while (bucket < HT__SCHED_HISTOGRAM - 1 && ns >> (bucket + 1))
        bucket++;
    return bucket;
}

/* What holds in every snapshot, reset or not: the histogram counts the
 * waits, and the longest wait is in its highest bucket. */
int histogram_consistent(const struct ht__sched_stats *stats)
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

struct ht__sched_stats get_stats(void)
{
    struct ht__sched_stats stats;

    assert_int_equal(ht__sched_get(&stats), 1);
    assert_true(histogram_consistent(&stats));
    assert_le(stats.waits, stats.acquisitions);
    assert_le(stats.held, stats.slots);
    return stats;
}

void configure(uint32_t slots, uint32_t quantum_us)
{
    assert_int_equal(ht__sched_configure(slots, quantum_us, prepare, fire), HT__OK);
}

/* Polls until n tasks wait for a slot. */
void wait_for_waiters(uint32_t n)
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

void wait_for_count(atomic_ulong *count, unsigned long n)
{
    uint64_t start = now_ms();

    while (atomic_load(count) < n)
    {
        if (now_ms() - start > TIMEOUT_MS)
            fail_msg("count %lu after %u ms, expected %lu", atomic_load(count), TIMEOUT_MS, n);
        sleep_ms(1);
    }
}

void wait_for_event(void *event)
{
    assert_int_equal(ht__platform_event_wait(event, TIMEOUT_MS), 1);
}

void acquire(struct actor *actor)
{
    ht__sched_acquire(&actor->sched);
    assert_true(holds(actor));
}

void release(struct actor *actor)
{
    assert_int_equal(ht__sched_release(&actor->sched), 1);
    assert_false(holds(actor));
}

/* Polls until the actor has lost its slot to a preemption; returns
 * whether it has. */
int wait_for_preemption(struct actor *actor)
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
int order[16];
atomic_int norder;

void wait_for_grants(int n)
{
    uint64_t start = now_ms();

    while (atomic_load(&norder) < n)
    {
        if (now_ms() - start > TIMEOUT_MS)
            fail_msg("%d grants after %u ms, expected %d", atomic_load(&norder), TIMEOUT_MS, n);
        sleep_ms(1);
    }
}

void record_grant(int id)
{
    int i = atomic_fetch_add(&norder, 1);

    CHECK(i < 16, "too many grants");
    if (i < 16)
        order[i] = id;
}

void waiter_main(void *arg)
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

void waiter_start(struct waiter *waiter, int id, int delay_abort, enum waiter_mode mode)
{
    actor_init(&waiter->actor, id);
    atomic_store(&waiter->actor.delay_abort, delay_abort);
    waiter->mode = mode;
    assert_non_null(waiter->go = ht__platform_event_create());
    waiter->held = -1;
    waiter->scheduler = NULL;
    thread_start(&waiter->thread, waiter_main, waiter);
}

void waiter_go(struct waiter *waiter)
{
    ht__platform_event_set(waiter->go);
}

void waiter_join(struct waiter *waiter)
{
    thread_join(&waiter->thread);
    actor_destroy(&waiter->actor);
    ht__platform_event_destroy(waiter->go);
}

int setup(void **state)
{
    probe_request = ht__platform_event_create();
    probe_done = ht__platform_event_create();
    if (!probe_request || !probe_done)
        return -1;
    thread_start(&prober, prober_main, NULL);
    return 0;
}

int teardown(void **state)
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
