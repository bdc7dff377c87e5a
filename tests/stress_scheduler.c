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
 *
 * The random stress and main are here; the deterministic scenarios are in
 * tests/stress_sched_cases.c, the actors and helpers they share in
 * tests/stress_sched_common.c (tests/stress_sched.h), the thread shim in
 * tests/stress_shim.h.
 */
#include "stress_sched.h"

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
    assert_in_range(
            taken, acquires + reacquires + native_acquires, acquires + reacquires + native_acquires + yields);
    assert_int_equal(acquisitions - taken + native_acquires, natives);
    assert_int_equal(stats.wait_ns, wait_ns);
    assert_int_equal(stats.forced_yields, forced_yields);
    assert_int_equal(stats.punishments + pending, forced_yields);
    /* A preemption inside a yield goes unnoticed: it takes a slot again. */
    assert_le(noticed, stats.preemptions);
    assert_le(stats.preemptions, stats.forced_yields);

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
