/*
 * The scheduler stress test's deterministic scenarios, each with exact
 * expectations (listed in tests/stress_scheduler.c); run by its main.
 */
#include "stress_sched.h"

/* ---- The scenarios ---- */

void test_fifo(void **state)
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
void test_runaway_preempted(void **state)
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
void test_runaway_yields(void **state)
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
void test_new_head_watches(void **state)
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
void test_preemption_grace(void **state)
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
void test_delay_abort(void **state)
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
void test_two_runaways(void **state)
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
void test_disband(void **state)
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

void test_second_runaway_after_preemption(void **state)
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
void test_reentrant_yield_request(void **state)
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
void test_retake_from_native(void **state)
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
void test_leave_racing_preemption(void **state)
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
void test_blocking_yield_request(void **state)
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
void test_replaced_schedulers_freed(void **state)
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
