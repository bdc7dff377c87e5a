/*
 * The CPU work of the scheduler benchmarks, shared by hosttask-sched-bench
 * (bench/sched_bench.c, under Wine) and native_sched_bench
 * (bench/native_sched.c, natively), so that both do the same work and
 * calibrate it the same way; and the median they report.  Portable C: each
 * includer passes its own clock.
 */
#ifndef HT_BENCH_WORK_LOOP_H
#define HT_BENCH_WORK_LOOP_H

#include <stdlib.h>

/* CPU work: n turns of a loop the compiler cannot remove. */
static inline void work_loop(long long n)
{
    volatile unsigned int x = 0;
    long long i;

    for (i = 0; i < n; i++)
        x++;
}

/* Loop turns per microsecond: the fastest of several timed runs of at
 * least 250 us, so that a run the OS interrupted does not count.  now_s:
 * a monotonic clock in seconds. */
static inline double work_loop_calibrate(double (*now_s)(void))
{
    double best = 0, t, rate;
    long long n = 1 << 16;
    int i;

    for (i = 0; i < 20; i++)
    {
        t = now_s();
        work_loop(n);
        t = now_s() - t;
        if (t < 250e-6)
        {
            n *= 2; /* too short to time well: longer next time */
            continue;
        }
        if ((rate = (double)n / (t * 1e6)) > best)
            best = rate;
    }
    return best;
}

static inline int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* Sorts v; the middle value (the upper one of an even count). */
static inline double median_of(double *v, int n)
{
    qsort(v, n, sizeof(*v), compare_doubles);
    return v[n / 2];
}

#endif
