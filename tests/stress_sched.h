/*
 * The scheduler stress test's shared parts (tests/stress_scheduler.c, the
 * random stress; tests/stress_sched_cases.c, the deterministic scenarios):
 * actors, the runaway callbacks and their prober, the scenarios' helpers
 * (tests/stress_sched_common.c), on the thread shim of tests/stress_shim.h.
 */
#ifndef HOSTTASK_STRESS_SCHED_H
#define HOSTTASK_STRESS_SCHED_H

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

#define STRESS_JOIN_TIMEOUT_MS TIMEOUT_MS
#include "stress_shim.h"

/* ---- Tasks, and the runaway callbacks (tests/stress_sched_common.c) ---- */

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

extern atomic_int probing;
extern void *probe_request, *probe_done;
extern atomic_ulong probes_requested, probes_completed;
extern atomic_int probe_quit;
extern struct thread prober;
extern _Thread_local struct actor *self_actor;
extern atomic_int reenter_fire;
extern atomic_int block_fire;
extern void *fire_unblock;
extern atomic_int fire_blocked;
extern int order[16];
extern atomic_int norder;

struct actor *actor_from_sched(struct ht__sched_task *task);
void actor_init(struct actor *actor, int id);
int holds(struct actor *actor);
void actor_destroy(struct actor *actor);
void prober_main(void *arg);
int probe(uint32_t ms);
int prepare(struct ht__sched_task *task, void **token);
void fire(void *token);
unsigned int bucket_of(uint64_t ns);
int histogram_consistent(const struct ht__sched_stats *stats);
struct ht__sched_stats get_stats(void);
void configure(uint32_t slots, uint32_t quantum_us);
void wait_for_waiters(uint32_t n);
void wait_for_count(atomic_ulong *count, unsigned long n);
void wait_for_event(void *event);
void acquire(struct actor *actor);
void release(struct actor *actor);
int wait_for_preemption(struct actor *actor);
void wait_for_grants(int n);
void record_grant(int id);
void waiter_main(void *arg);
void waiter_start(struct waiter *waiter, int id, int delay_abort, enum waiter_mode mode);
void waiter_go(struct waiter *waiter);
void waiter_join(struct waiter *waiter);
int setup(void **state);
int teardown(void **state);

/* ---- tests/stress_sched_cases.c ---- */

void test_fifo(void **state);
void test_runaway_preempted(void **state);
void test_runaway_yields(void **state);
void test_new_head_watches(void **state);
void test_preemption_grace(void **state);
void test_delay_abort(void **state);
void test_two_runaways(void **state);
void test_disband(void **state);
void test_second_runaway_after_preemption(void **state);
void test_reentrant_yield_request(void **state);
void test_retake_from_native(void **state);
void test_leave_racing_preemption(void **state);
void test_blocking_yield_request(void **state);
void test_replaced_schedulers_freed(void **state);

#endif
