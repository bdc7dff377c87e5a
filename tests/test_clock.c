/*
 * The Windows build's clock (src/win/platform.c): the invariant TSC scaled
 * against QueryPerformanceCounter, read as QPC until it is calibrated and
 * wherever the TSC is not invariant.  Linked with the core directly, so it
 * can start the calibration again (ht__platform_clock_restart) and drive
 * profiling without the COM layer.
 */
#include "test_util.h"

#include <cpuid.h>
#include <string.h>

#include "core.h"
#include "../src/win/clock.h"

#define MS 1000000ull

/* QPC in nanoseconds, converted here rather than by the code under test. */
static uint64_t qpc_ns(void)
{
    LARGE_INTEGER f, c;

    QueryPerformanceFrequency(&f);
    QueryPerformanceCounter(&c);
    return (uint64_t)(c.QuadPart / f.QuadPart) * 1000000000u
            + (uint64_t)(c.QuadPart % f.QuadPart) * 1000000000u / (uint64_t)f.QuadPart;
}

static int invariant_tsc(void)
{
    unsigned int eax, ebx, ecx, edx;

    return __get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) && (edx & (1u << 8));
}

/* Reads the clock until it has switched to the TSC, for at most 5 s. */
static int wait_for_tsc(void)
{
    uint64_t start = qpc_ns();

    while (!ht__platform_clock_uses_tsc() && qpc_ns() - start < 5000 * MS)
    {
        ht__platform_now_ns();
        Sleep(1);
    }
    return ht__platform_clock_uses_tsc();
}

/* The clock and QPC at (nearly) the same moment: the clock read between
 * two QPC reads, the narrowest of a few such brackets, and its midpoint. */
static void read_both(uint64_t *clock, uint64_t *qpc, uint64_t *width)
{
    uint64_t before, now, after;
    int i;

    *width = UINT64_MAX;
    *clock = *qpc = 0;
    for (i = 0; i < 8; i++)
    {
        before = qpc_ns();
        now = ht__platform_now_ns();
        after = qpc_ns();
        if (after - before < *width)
        {
            *width = after - before;
            *clock = now;
            *qpc = before + *width / 2;
        }
    }
}

static uint64_t distance(uint64_t a, uint64_t b)
{
    return a > b ? a - b : b - a;
}

/* The calibration never makes a reader wait: the first read after a restart
 * is QPC time at once, and the switch comes after enough QPC time for a
 * precise rate, taken by a read that returns as fast as the others.  Those
 * two reads are the ones that could stall (a wait for a second sample would
 * last most of the 50 ms calibration), so they are the ones timed: the
 * reads between them are the plain QPC path.  A preemption can make any
 * one read slow on a loaded machine, so the bound is on the best of five
 * restarts, and it is a tenth of the calibration period. */
static void test_switches_without_stalling(void **state)
{
    uint64_t start, before, after, slowest, best = UINT64_MAX, switched = 0;
    int round;

    if (!invariant_tsc())
        skip();
    for (round = 0; round < 5; round++)
    {
        ht__platform_clock_restart(1);
        start = qpc_ns();
        ht__platform_now_ns();
        slowest = qpc_ns() - start;
        assert_false(ht__platform_clock_uses_tsc());
        while (!ht__platform_clock_uses_tsc() && qpc_ns() - start < 5000 * MS)
        {
            before = qpc_ns();
            ht__platform_now_ns();
            after = qpc_ns();
            if (!switched && ht__platform_clock_uses_tsc())
            {
                switched = after - start;
                if (after - before > slowest)
                    slowest = after - before;
            }
        }
        assert_true(ht__platform_clock_uses_tsc());
        /* At least 10 ms of QPC time between the samples (QPC ticks are
         * 100 ns under Wine: a rate good to 1e-5). */
        assert_ge(switched, 10 * MS);
        if (slowest < best)
            best = slowest;
        switched = 0;
    }
    print_message("slower of the first read and the switching read: %llu ns (best of 5)\n", (unsigned long long)best);
    assert_lt(best, 5 * MS);
}

/* Calibrated, the clock runs at QPC's rate: elapsed times over 150 ms agree
 * within 2%, and both read nearly the same time (the TSC timeline is
 * anchored on a QPC reading, a little ahead of it). */
static void test_agrees_with_qpc(void **state)
{
    uint64_t clock0 = 0, qpc0 = 0, width0, clock1 = 0, qpc1 = 0, width1, clock_elapsed, qpc_elapsed;
    int round;

    if (!invariant_tsc())
        skip();
    ht__platform_clock_restart(1);
    assert_true(wait_for_tsc());
    for (round = 0; round < 2; round++)
    {
        read_both(&clock0, &qpc0, &width0);
        Sleep(150);
        read_both(&clock1, &qpc1, &width1);
        clock_elapsed = clock1 - clock0;
        qpc_elapsed = qpc1 - qpc0;
        print_message("over %llu ns of QPC time the clock measured %llu ns\n",
                (unsigned long long)qpc_elapsed, (unsigned long long)clock_elapsed);
        assert_ge(qpc_elapsed, 140 * MS);
        assert_le(distance(clock_elapsed, qpc_elapsed), qpc_elapsed / 50 + width0 + width1);
        assert_le(distance(clock1, qpc1), 1 * MS + width1);
    }
    assert_true(ht__platform_clock_uses_tsc());
}

/* Without the TSC the clock is QPC itself: every reading falls between the
 * QPC readings around it. */
static void test_qpc_fallback(void **state)
{
    uint64_t start = qpc_ns(), before, now, after;
    unsigned int reads = 0;

    ht__platform_clock_restart(0);
    do
    {
        before = qpc_ns();
        now = ht__platform_now_ns();
        after = qpc_ns();
        assert_le(before, now);
        assert_le(now, after);
        reads++;
    } while (after - start < 120 * MS);
    assert_false(ht__platform_clock_uses_tsc());
    assert_gt(reads, 100);
    ht__platform_clock_restart(1);
    if (invariant_tsc())
        assert_true(wait_for_tsc());
}

/* Two threads read the clock for a while.  Each checks its own readings
 * never go back, and that its reading is never earlier than the latest one
 * any thread had published before it read: monotonic across threads. */
static _Atomic uint64_t latest;

struct reader
{
    uint64_t duration_ns;
    uint64_t reads;
    uint64_t own_backwards;
    uint64_t shared_backwards;
    uint64_t worst_ns;
    int saw_qpc;
    int saw_tsc;
};

static DWORD WINAPI read_clock(void *arg)
{
    struct reader *r = arg;
    uint64_t start = qpc_ns(), seen, now, last = 0;

    for (;;)
    {
        if (!(r->reads % 256))
        {
            if (qpc_ns() - start >= r->duration_ns)
                break;
            if (ht__platform_clock_uses_tsc())
                r->saw_tsc = 1;
            else
                r->saw_qpc = 1;
        }
        seen = atomic_load(&latest);
        now = ht__platform_now_ns();
        if (now < last)
        {
            r->own_backwards++;
            if (last - now > r->worst_ns)
                r->worst_ns = last - now;
        }
        if (now < seen)
        {
            r->shared_backwards++;
            if (seen - now > r->worst_ns)
                r->worst_ns = seen - now;
        }
        last = now;
        while (seen < now && !atomic_compare_exchange_weak(&latest, &seen, now))
            ;
        r->reads++;
    }
    return 0;
}

static void run_readers(uint64_t duration_ns, struct reader r[2])
{
    HANDLE threads[2];
    int i;

    atomic_store(&latest, 0);
    for (i = 0; i < 2; i++)
    {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].duration_ns = duration_ns;
        assert_non_null(threads[i] = CreateThread(NULL, 0, read_clock, &r[i], 0, NULL));
    }
    assert_int_equal(WaitForMultipleObjects(2, threads, TRUE, 30000), WAIT_OBJECT_0);
    for (i = 0; i < 2; i++)
    {
        CloseHandle(threads[i]);
        print_message("thread %d: %llu reads, %llu/%llu backwards (own/shared), worst %llu ns\n", i,
                (unsigned long long)r[i].reads, (unsigned long long)r[i].own_backwards,
                (unsigned long long)r[i].shared_backwards, (unsigned long long)r[i].worst_ns);
        assert_gt(r[i].reads, 1000);
        assert_int_equal(r[i].own_backwards, 0);
        assert_int_equal(r[i].shared_backwards, 0);
    }
}

static void test_monotonic_across_threads(void **state)
{
    struct reader r[2];
    int round;

    /* Across the switch from QPC to the TSC, three times. */
    for (round = 0; round < (invariant_tsc() ? 3 : 1); round++)
    {
        ht__platform_clock_restart(1);
        run_readers(250 * MS, r);
        if (invariant_tsc())
        {
            assert_true(ht__platform_clock_uses_tsc());
            assert_true(r[0].saw_tsc || r[1].saw_tsc);
        }
    }
    /* Calibrated. */
    run_readers(200 * MS, r);
    /* On QPC alone. */
    ht__platform_clock_restart(0);
    run_readers(100 * MS, r);
    assert_false(ht__platform_clock_uses_tsc());
    ht__platform_clock_restart(1);
    if (invariant_tsc())
        assert_true(wait_for_tsc());
}

/* Profiling measures a call out of the runtime with this clock: the native
 * time recorded lies between the QPC time inside the call and the QPC time
 * around it, both once calibrated and for a call during which the clock
 * switches from QPC to the TSC. */
static void profiled_call(size_t target, DWORD sleep_ms, int restart_clock)
{
    struct ht__target_counters targets[8];
    struct ht__nest_counters counters;
    struct ht__nest task;
    uint64_t q0, q1, q2, q3, native_ns = 0;
    size_t n, i;
    int found = 0;

    ht__nest_init(&task);
    ht__targets_reset();
    atomic_store(&ht__profiling, 1);
    if (restart_clock)
        ht__platform_clock_restart(1);
    q0 = qpc_ns();
    assert_int_equal(ht__leave_runtime(&task, target), HT__OK);
    q1 = qpc_ns();
    if (restart_clock)
        assert_false(ht__platform_clock_uses_tsc());
    Sleep(sleep_ms);
    q2 = qpc_ns();
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    q3 = qpc_ns();
    atomic_store(&ht__profiling, 0);
    if (restart_clock && invariant_tsc())
        assert_true(ht__platform_clock_uses_tsc());

    n = ht__targets_snapshot(targets, 8);
    for (i = 0; i < n && i < 8; i++)
    {
        if (targets[i].target == target)
        {
            assert_int_equal(targets[i].calls, 1);
            native_ns = targets[i].native_ns;
            found = 1;
        }
    }
    assert_true(found);
    ht__nest_snapshot(&task, &counters);
    assert_int_equal(counters.native_ns, native_ns);
    print_message("native time %llu ns, QPC %llu ns inside the call, %llu ns around it\n",
            (unsigned long long)native_ns, (unsigned long long)(q2 - q1), (unsigned long long)(q3 - q0));
    assert_ge(native_ns, (q2 - q1) - (q2 - q1) / 50);
    assert_le(native_ns, (q3 - q0) + (q3 - q0) / 50);
    ht__nest_destroy(&task);
}

static void test_profiled_native_time(void **state)
{
    if (invariant_tsc())
        assert_true(wait_for_tsc());
    profiled_call(0x5000, 30, 0);
    /* Left on QPC, back on the TSC: the first read after 50 ms calibrates. */
    profiled_call(0x6000, 80, 1);
    profiled_call(0x7000, 30, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_switches_without_stalling),
        cmocka_unit_test(test_agrees_with_qpc),
        cmocka_unit_test(test_qpc_fallback),
        cmocka_unit_test(test_monotonic_across_threads),
        cmocka_unit_test(test_profiled_native_time),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
