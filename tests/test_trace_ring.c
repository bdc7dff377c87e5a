/*
 * The event trace's ring (src/trace.c): what a snapshot returns, what it
 * counts as dropped, resets, and the scheduler's events; then one writer
 * against several snapshotting readers at full speed, for TSan above all
 * (built natively, also under TSan and ASan, see tests/native).
 *
 * The writer's events carry a check: event n has arg n, kind 1 + n % 15
 * and detail a hash of n, stored by three separate stores, so a torn copy
 * (fields of two different events) fails the check.
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

#include "trace.h"
#include "scheduler.h"

#include <pthread.h>
#include <time.h>

static uint32_t check_of(uint64_t n)
{
    return (uint32_t)((n * 0x9E3779B97F4A7C15ull) >> 32);
}

static void put_numbered(struct ht__trace_ring *ring, uint64_t n)
{
    ht__trace_put(ring, 1 + (unsigned int)(n % 15), check_of(n), n);
}

static void test_fill_and_drop(void **state)
{
    struct ht__trace_ring *ring = ht__trace_ring_create(7, 5);
    struct ht__trace_event events[16];
    struct ht__trace_counts counts;
    uint64_t n, last = 0;

    assert_non_null(ring);
    assert_int_equal(ring->task_id, 7);
    ht__trace_snapshot(ring, events, 16, &counts);
    assert_int_equal(counts.recorded, 0);
    assert_int_equal(counts.copied, 0);

    for (n = 0; n < 3; n++)
        put_numbered(ring, n);
    ht__trace_snapshot(ring, events, 16, &counts);
    assert_int_equal(counts.recorded, 3);
    assert_int_equal(counts.dropped, 0);
    assert_int_equal(counts.kept, 3);
    assert_int_equal(counts.copied, 3);
    for (n = 0; n < 3; n++)
    {
        assert_int_equal(events[n].arg, n);
        assert_int_equal(events[n].kind, 1 + n % 15);
        assert_int_equal(events[n].detail, check_of(n));
        /* The clock never goes back. */
        assert_ge(events[n].time_ns, last);
        last = events[n].time_ns;
    }

    /* Full: the window is 5 events, the oldest go and are counted. */
    for (; n < 12; n++)
        put_numbered(ring, n);
    ht__trace_snapshot(ring, events, 16, &counts);
    assert_int_equal(counts.recorded, 12);
    assert_int_equal(counts.dropped, 7);
    assert_int_equal(counts.kept, 5);
    assert_int_equal(counts.copied, 5);
    for (n = 0; n < 5; n++)
        assert_int_equal(events[n].arg, 7 + n);

    /* Less room than events: the oldest kept ones come first. */
    ht__trace_snapshot(ring, events, 2, &counts);
    assert_int_equal(counts.kept, 5);
    assert_int_equal(counts.copied, 2);
    assert_int_equal(events[0].arg, 7);
    assert_int_equal(events[1].arg, 8);
    ht__trace_ring_free(ring);
}

static void test_reset(void **state)
{
    struct ht__trace_ring *ring = ht__trace_ring_create(1, 4);
    struct ht__trace_event events[8];
    struct ht__trace_counts counts;
    uint64_t n;

    assert_non_null(ring);
    for (n = 0; n < 10; n++)
        put_numbered(ring, n);
    ht__trace_ring_reset(ring);
    ht__trace_snapshot(ring, events, 8, &counts);
    assert_int_equal(counts.recorded, 0);
    assert_int_equal(counts.dropped, 0);
    assert_int_equal(counts.copied, 0);
    put_numbered(ring, 10);
    put_numbered(ring, 11);
    ht__trace_snapshot(ring, events, 8, &counts);
    assert_int_equal(counts.recorded, 2);
    assert_int_equal(counts.dropped, 0);
    assert_int_equal(counts.copied, 2);
    assert_int_equal(events[0].arg, 10);
    for (n = 12; n < 20; n++)
        put_numbered(ring, n);
    ht__trace_snapshot(ring, events, 8, &counts);
    assert_int_equal(counts.recorded, 10);
    assert_int_equal(counts.dropped, 6);
    assert_int_equal(events[0].arg, 16);
    ht__trace_ring_free(ring);
}

static void test_retired_freed(void **state)
{
    struct ht__trace_ring *a = ht__trace_ring_create(1, 1), *b = ht__trace_ring_create(1, 100);

    assert_non_null(a);
    assert_non_null(b);
    /* Window 1 still keeps one event, in a ring of two slots. */
    assert_int_equal(a->mask, 1);
    assert_int_equal(b->mask, 127);
    b->retired = a;
    /* ASan's leak check holds the chain freed. */
    ht__trace_ring_free(b);
}

/* The scheduler's events, through a map like the COM layer's. */
struct fake_task
{
    struct ht__sched_task sched;
    struct ht__trace_ring *ring;
    uint64_t id;
};

static struct fake_task fakes[2];

static struct ht__trace_ring *fake_map(struct ht__sched_task *task, uint64_t *id)
{
    struct fake_task *fake = (struct fake_task *)((char *)task - offsetof(struct fake_task, sched));

    *id = fake->id;
    return fake->ring;
}

static void test_sched_events(void **state)
{
    struct ht__trace_event events[8];
    struct ht__trace_counts counts;

    fakes[0].id = 40;
    fakes[1].id = 41;
    fakes[0].ring = ht__trace_ring_create(40, 8);
    fakes[1].ring = NULL;   /* a task without a ring (no memory): still named */
    assert_non_null(fakes[0].ring);

    /* Off: nothing, even with a map. */
    ht__trace_set_sched_map(fake_map);
    ht__trace_slot_wait_begin(&fakes[0].sched);
    ht__trace_set_on(1);
    ht__trace_slot_wait_begin(&fakes[0].sched);
    ht__trace_yield_request(&fakes[0].sched, &fakes[1].sched);
    ht__trace_preemption(&fakes[0].sched, &fakes[1].sched);
    ht__trace_slot_granted(&fakes[0].sched, 1);
    /* The task with no ring records nothing, and does not crash. */
    ht__trace_slot_wait_begin(&fakes[1].sched);
    ht__trace_set_on(0);
    ht__trace_set_sched_map(NULL);

    ht__trace_snapshot(fakes[0].ring, events, 8, &counts);
    assert_int_equal(counts.copied, 4);
    assert_int_equal(events[0].kind, HT__TRACE_SLOT_WAIT_BEGIN);
    assert_int_equal(events[1].kind, HT__TRACE_YIELD_REQUEST);
    assert_int_equal(events[1].arg, 41);
    assert_int_equal(events[2].kind, HT__TRACE_PREEMPTION);
    assert_int_equal(events[2].arg, 41);
    assert_int_equal(events[3].kind, HT__TRACE_SLOT_GRANTED);
    assert_int_equal(events[3].detail, 1);
    ht__trace_ring_free(fakes[0].ring);
}

/* ---- One writer, several readers ---- */

#define NREADERS 3
#define WINDOW 61        /* small, so the writer laps the readers' copies all the time */

struct stress
{
    struct ht__trace_ring *ring;
    atomic_int stop;
    atomic_uint_fast64_t failures, snapshots, torn_checked;
};

static void report_failure(struct stress *s, const char *format, ...)
{
    va_list args;

    if (atomic_fetch_add(&s->failures, 1) < 5)
    {
        va_start(args, format);
        vfprintf(stderr, format, args);
        va_end(args);
    }
}

static void *writer_main(void *arg)
{
    struct stress *s = arg;
    uint64_t n = 0;

    while (!atomic_load_explicit(&s->stop, memory_order_relaxed))
        put_numbered(s->ring, n++);
    return NULL;
}

static void *reader_main(void *arg)
{
    struct stress *s = arg;
    struct ht__trace_event events[WINDOW];
    struct ht__trace_counts counts;
    uint64_t i, expect, last_recorded = 0;

    while (!atomic_load_explicit(&s->stop, memory_order_relaxed))
    {
        ht__trace_snapshot(s->ring, events, WINDOW, &counts);
        atomic_fetch_add_explicit(&s->snapshots, 1, memory_order_relaxed);
        if (counts.dropped + counts.kept != counts.recorded || counts.kept > WINDOW
                || counts.copied != counts.kept || counts.recorded < last_recorded)
            report_failure(s, "counts: recorded %llu dropped %llu kept %llu copied %llu (before: %llu)\n",
                    (unsigned long long)counts.recorded, (unsigned long long)counts.dropped,
                    (unsigned long long)counts.kept, (unsigned long long)counts.copied,
                    (unsigned long long)last_recorded);
        last_recorded = counts.recorded;
        /* The events kept are dropped .. recorded - 1, each whole. */
        for (i = 0; i < counts.copied; i++)
        {
            expect = counts.dropped + i;
            if (events[i].arg != expect || events[i].kind != 1 + expect % 15
                    || events[i].detail != check_of(expect)
                    || (i && events[i].time_ns < events[i - 1].time_ns))
            {
                report_failure(s, "event %llu of %llu: arg %llu kind %u detail %08x\n", (unsigned long long)i,
                        (unsigned long long)counts.copied, (unsigned long long)events[i].arg, events[i].kind,
                        events[i].detail);
                break;
            }
        }
        atomic_fetch_add_explicit(&s->torn_checked, counts.copied, memory_order_relaxed);
    }
    return NULL;
}

static void test_stress_single_writer(void **state)
{
    static struct stress s;
    pthread_t writer, readers[NREADERS];
    struct timespec pause = { 0, 0 };
    const char *env = getenv("HT_STRESS_SECONDS");
    double seconds = env ? atof(env) : 2.0;
    int i;

    memset(&s, 0, sizeof(s));
    assert_non_null(s.ring = ht__trace_ring_create(3, WINDOW));
    assert_int_equal(pthread_create(&writer, NULL, writer_main, &s), 0);
    for (i = 0; i < NREADERS; i++)
        assert_int_equal(pthread_create(&readers[i], NULL, reader_main, &s), 0);
    pause.tv_sec = (time_t)seconds;
    pause.tv_nsec = (long)((seconds - (double)pause.tv_sec) * 1e9);
    nanosleep(&pause, NULL);
    atomic_store(&s.stop, 1);
    pthread_join(writer, NULL);
    for (i = 0; i < NREADERS; i++)
        pthread_join(readers[i], NULL);
    printf("trace stress: %llu events written, %llu snapshots, %llu events checked\n",
            (unsigned long long)atomic_load(&s.ring->head), (unsigned long long)atomic_load(&s.snapshots),
            (unsigned long long)atomic_load(&s.torn_checked));
    assert_int_equal(atomic_load(&s.failures), 0);
    /* The run proves something only if the writer lapped the window. */
    assert_gt(atomic_load(&s.ring->head), 10 * WINDOW);
    assert_gt(atomic_load(&s.snapshots), 0);
    ht__trace_ring_free(s.ring);
}

/* ---- The scheduler's events under contention ---- */

/* Four tasks contend for one slot with a 200 us quantum, spinning while
 * they hold it, so that the watchdog asks runaways to yield and preempts
 * them; a reader snapshots every ring meanwhile.  Each event must land in
 * the ring of the task whose thread made it, and be made by that thread:
 * the map fails the test when any other thread (the watchdog, the yield
 * thread) asks for a ring.  The watchdog's yield requests and preemptions
 * are recorded by the task concerned, naming itself (src/scheduler.c:
 * trace_untraced), each exactly once: the rings hold as many as the
 * scheduler counted, task by task.  Each ring's slot waits pair up, every
 * one ending before the next begins.  (The rings' fields are atomics, so
 * TSan checks the snapshot's reads and the scheduler's locking here; the
 * map checks the writers.) */
#define SCHED_TASKS 4

static struct fake_task contenders[SCHED_TASKS];
static atomic_int sched_stop;
static atomic_uint_fast64_t sched_failures;
static _Thread_local struct fake_task *contender_self;

static int yes_prepare(struct ht__sched_task *task, void **token)
{
    if (token)
        *token = NULL;
    return 1;
}

static void no_fire(void *token)
{
}

static struct ht__trace_ring *contender_map(struct ht__sched_task *task, uint64_t *id)
{
    struct fake_task *fake = (struct fake_task *)((char *)task - offsetof(struct fake_task, sched));

    /* Only the task's own thread writes its ring. */
    if (contender_self != fake)
        atomic_fetch_add(&sched_failures, 1);
    *id = fake->id;
    return fake->ring;
}

static void *contender_main(void *arg)
{
    struct fake_task *self = arg;
    uint64_t until;

    contender_self = self;

    while (!atomic_load_explicit(&sched_stop, memory_order_relaxed))
    {
        ht__sched_acquire(&self->sched);
        until = ht__platform_now_ns() + 300000;
        while (ht__platform_now_ns() < until)
            ;
        ht__sched_release(&self->sched);
    }
    return NULL;
}

static void *sched_reader_main(void *arg)
{
    static struct ht__trace_event events[SCHED_TASKS][4096];
    struct ht__trace_counts counts;
    atomic_uint_fast64_t *failures = arg;
    uint64_t i, open;
    int t;

    while (!atomic_load_explicit(&sched_stop, memory_order_relaxed))
        for (t = 0; t < SCHED_TASKS; t++)
        {
            ht__trace_snapshot(contenders[t].ring, events[t], 4096, &counts);
            /* From the first SLOT_WAIT_BEGIN on, begins and ends alternate. */
            for (i = 0, open = 2; i < counts.copied; i++)
            {
                if (events[t][i].kind == HT__TRACE_SLOT_WAIT_BEGIN)
                {
                    if (open == 1)
                        atomic_fetch_add(failures, 1);
                    open = 1;
                }
                else if (events[t][i].kind == HT__TRACE_SLOT_GRANTED)
                {
                    if (open == 0)
                        atomic_fetch_add(failures, 1);
                    open = 0;
                }
                else if ((events[t][i].kind != HT__TRACE_YIELD_REQUEST && events[t][i].kind != HT__TRACE_PREEMPTION)
                        || events[t][i].arg != contenders[t].id)
                    atomic_fetch_add(failures, 1);
            }
        }
    return NULL;
}

static void test_sched_contention(void **state)
{
    static atomic_uint_fast64_t failures;
    pthread_t threads[SCHED_TASKS], reader;
    struct ht__trace_event events[4096];
    struct ht__trace_counts counts;
    struct ht__sched_stats stats;
    uint64_t requests = 0, preemptions = 0, waits = 0, task_requests, dropped = 0, i;
    struct timespec pause = { 1, 0 };
    int t;

    atomic_store(&failures, 0);
    atomic_store(&sched_failures, 0);
    atomic_store(&sched_stop, 0);
    assert_int_equal(ht__sched_configure(1, 200, yes_prepare, no_fire), HT__OK);
    for (t = 0; t < SCHED_TASKS; t++)
    {
        contenders[t].id = 100 + t;
        assert_non_null(contenders[t].ring = ht__trace_ring_create(contenders[t].id, 4096));
        assert_int_equal(ht__sched_task_init(&contenders[t].sched), HT__OK);
    }
    ht__trace_set_sched_map(contender_map);
    ht__trace_set_on(1);
    for (t = 0; t < SCHED_TASKS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, contender_main, &contenders[t]), 0);
    assert_int_equal(pthread_create(&reader, NULL, sched_reader_main, &failures), 0);
    nanosleep(&pause, NULL);
    atomic_store(&sched_stop, 1);
    for (t = 0; t < SCHED_TASKS; t++)
        pthread_join(threads[t], NULL);
    pthread_join(reader, NULL);
    ht__trace_set_on(0);
    ht__trace_set_sched_map(NULL);
    /* Every task gave its slot back: the totals stand still. */
    assert_int_equal(ht__sched_get(&stats), 1);
    ht__sched_configure(0, 0, NULL, NULL);

    assert_int_equal(atomic_load(&failures), 0);
    assert_int_equal(atomic_load(&sched_failures), 0);
    for (t = 0; t < SCHED_TASKS; t++)
    {
        ht__trace_snapshot(contenders[t].ring, events, 4096, &counts);
        dropped += counts.dropped;
        for (i = 0, task_requests = 0; i < counts.copied; i++)
        {
            task_requests += events[i].kind == HT__TRACE_YIELD_REQUEST;
            preemptions += events[i].kind == HT__TRACE_PREEMPTION;
            waits += events[i].kind == HT__TRACE_SLOT_WAIT_BEGIN;
        }
        if (!counts.dropped)
            assert_int_equal(task_requests, atomic_load(&contenders[t].sched.forced_yields));
        requests += task_requests;
        ht__sched_task_destroy(&contenders[t].sched);
        ht__trace_ring_free(contenders[t].ring);
    }
    printf("trace under the scheduler: %llu slot waits, %llu yield requests, %llu preemptions in the rings; "
            "the scheduler counted %llu, %llu, %llu; %llu events dropped\n", (unsigned long long)waits,
            (unsigned long long)requests, (unsigned long long)preemptions, (unsigned long long)stats.waits,
            (unsigned long long)stats.forced_yields, (unsigned long long)stats.preemptions,
            (unsigned long long)dropped);
    /* Each recorded once, by the task concerned: as many as counted. */
    if (!dropped)
    {
        assert_int_equal(waits, stats.waits);
        assert_int_equal(requests, stats.forced_yields);
        assert_int_equal(preemptions, stats.preemptions);
    }
    /* The run proves something only if tasks queued and runaways were asked. */
    assert_gt(waits, 0);
    assert_gt(requests, 0);
    ht__sched_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_fill_and_drop),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_retired_freed),
        cmocka_unit_test(test_sched_events),
        cmocka_unit_test(test_stress_single_writer),
        cmocka_unit_test(test_sched_contention),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
