/*
 * hosttask-bench: what hosttask costs, measured against references in the
 * same run.
 *
 *   hosttask-bench [--quick] [--reps N] [--json FILE]
 *
 * Every timed figure is the median of several repetitions, and each is
 * printed next to a reference measured in the same process, interleaved
 * with it, because absolute figures under Wine on a shared machine drift
 * from run to run while ratios hold (toolchain guide, section 8):
 *
 *   floor     an object in another DLL (bench_peer.dll) whose methods are
 *             empty, called through its vtable by the very same loop;
 *   baseline  an object in that DLL that tracks tasks the way the public
 *             implementations do: a thread-id map under a CRITICAL_SECTION.
 *
 * hosttask itself is the real hosttask.dll, loaded with
 * ht_create_host_control(); its IHostTaskManager comes from
 * IHostControl::GetHostManager, as the CLR gets it.
 *
 * --quick runs every measurement with few iterations: it proves the
 * benchmark works (ctest bench_quick) and says nothing about speed.  The
 * exit code is 0 when every measurement ran and the JSON was written, whether
 * or not the targets were met; timings never fail a run.
 */
#include "bench.h"

struct options opt;
static LONG64 qpc_frequency;
IHostControl *control;
IHostTaskManager *hosttask, *floor_obj, *baseline;
static int failures;

void fail(const char *format, ...)
{
    va_list args;

    va_start(args, format);
    fprintf(stderr, "hosttask-bench: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    failures++;
}

static LONG64 qpc(void)
{
    LARGE_INTEGER now;

    QueryPerformanceCounter(&now);
    return now.QuadPart;
}

static double seconds(LONG64 ticks)
{
    return (double)ticks / (double)qpc_frequency;
}

/* ---- The timed loops ----
 *
 * One loop per call shape, shared by hosttask, the floor and the baseline,
 * so that the only difference between them is the object.  The calls go
 * through a vtable into another DLL, which the compiler can neither inline
 * nor drop; the HRESULTs are ORed and checked, the hook answers counted and
 * checked, so every call's result is used. */

typedef HRESULT (*loop_fn)(IHostTaskManager *obj, const SIZE_T *targets, LONG64 n, LONG64 *hooked);

static __attribute__((noinline)) HRESULT loop_pairs(IHostTaskManager *obj, const SIZE_T *targets,
        LONG64 n, LONG64 *hooked)
{
    SIZE_T target = targets[0];
    HRESULT acc = S_OK;
    LONG64 i;

    for (i = 0; i < n; i++)
    {
        acc |= obj->lpVtbl->LeaveRuntime(obj, target);
        acc |= obj->lpVtbl->EnterRuntime(obj);
    }
    return acc;
}

/* The same P/Invokes made from managed code a native caller entered (a
 * callback, or a host thread running managed code): a ReverseEnterRuntime
 * stays open around them. */
static __attribute__((noinline)) HRESULT loop_pairs_in_callback(IHostTaskManager *obj, const SIZE_T *targets,
        LONG64 n, LONG64 *hooked)
{
    HRESULT acc = obj->lpVtbl->ReverseEnterRuntime(obj);

    acc |= loop_pairs(obj, targets, n, hooked);
    return acc | obj->lpVtbl->ReverseLeaveRuntime(obj);
}

static __attribute__((noinline)) HRESULT loop_reverse_pairs(IHostTaskManager *obj, const SIZE_T *targets,
        LONG64 n, LONG64 *hooked)
{
    HRESULT acc = S_OK;
    LONG64 i;

    for (i = 0; i < n; i++)
    {
        acc |= obj->lpVtbl->ReverseEnterRuntime(obj);
        acc |= obj->lpVtbl->ReverseLeaveRuntime(obj);
    }
    return acc;
}

static __attribute__((noinline)) HRESULT loop_hook(IHostTaskManager *obj, const SIZE_T *targets,
        LONG64 n, LONG64 *hooked)
{
    HRESULT acc = S_OK;
    LONG64 i, count = 0;
    BOOL needs_hook;

    for (i = 0; i < n; i++)
    {
        acc |= obj->lpVtbl->CallNeedsHostHook(obj, targets[i & (TARGETS - 1)], &needs_hook);
        count += needs_hook;
    }
    *hooked = count;
    return acc;
}

/* Not a method: what profiling pays for each time stamp it takes. */
static __attribute__((noinline)) HRESULT loop_clock(IHostTaskManager *obj, const SIZE_T *targets,
        LONG64 n, LONG64 *hooked)
{
    LARGE_INTEGER now;
    LONG64 i, sum = 0;

    for (i = 0; i < n; i++)
    {
        QueryPerformanceCounter(&now);
        sum += now.QuadPart;
    }
    *hooked = sum;
    return sum ? S_OK : E_FAIL;
}

/* A case: one loop on one object, with its operations' count per iteration. */
struct bench_case
{
    struct series *s;
    loop_fn loop;
    IHostTaskManager *obj;
    const SIZE_T *targets;
    int ops;                  /* calls per iteration; the series is per iteration */
    LONG64 expect_hooked;     /* -1: do not check; else hooked answers per iteration, 0 or 1 */
    BOOL profiling;           /* hosttask's profiling on while it runs */
    BOOL tracing;             /* hosttask's event trace on while it runs */
};

static void set_profiling(BOOL on)
{
    HRESULT hr = ht_set_profiling(control, on);

    if (FAILED(hr))
        fail("ht_set_profiling(%d): 0x%08lx", on, (unsigned long)hr);
}

/* Seconds for n iterations, or a negative number if a call failed. */
static double run_case(struct bench_case *c, LONG64 n)
{
    LONG64 t0, t1, hooked = 0;
    HRESULT hr;

    if (c->profiling)
        set_profiling(TRUE);
    if (c->tracing && FAILED(hr = ht_set_trace_buffer(control, 4096)))
        fail("ht_set_trace_buffer: 0x%08lx", (unsigned long)hr);
    t0 = qpc();
    hr = c->loop(c->obj, c->targets, n, &hooked);
    t1 = qpc();
    if (c->profiling)
        set_profiling(FALSE);
    if (c->tracing)
        ht_set_trace_buffer(control, 0);
    if (hr != S_OK)
    {
        fail("%s: a call returned 0x%08lx", c->s->name, (unsigned long)hr);
        return -1;
    }
    if (c->expect_hooked >= 0 && hooked != c->expect_hooked * n)
    {
        fail("%s: %lld of %lld calls answered TRUE, expected %lld", c->s->name, (long long)hooked,
                (long long)n, (long long)(c->expect_hooked * n));
        return -1;
    }
    return seconds(t1 - t0);
}

/* Finds the iteration count that takes about opt.run_seconds (and warms
 * the caches, the branch predictors and the task's state up). */
static void calibrate(struct bench_case *c)
{
    LONG64 n = 1000;
    double t;

    for (;;)
    {
        if ((t = run_case(c, n)) < 0)
        {
            c->s->iterations = 0;
            return;
        }
        if (t >= opt.run_seconds / 8 || n >= ((LONG64)1 << 40))
            break;
        n *= 4;
    }
    n = (LONG64)(n * (opt.run_seconds / (t > 0 ? t : 1e-9)));
    c->s->iterations = n < 1000 ? 1000 : n;
}

static void sample(struct bench_case *c)
{
    double t;

    if (!c->s->iterations)
        return;
    if ((t = run_case(c, c->s->iterations)) >= 0)
        series_add(c->s, t * 1e9 / (double)c->s->iterations);
}

static void run_cases(struct bench_case *cases, int count)
{
    int i, r;

    for (i = 0; i < count; i++)
        calibrate(&cases[i]);
    /* Interleaved: a slow moment of the machine hits every case alike. */
    for (r = 0; r < opt.reps; r++)
        for (i = 0; i < count; i++)
            sample(&cases[(i + r) % count]);
}

/* ---- Scaling: one loop on k threads at once ---- */

struct worker
{
    struct bench_case *c;
    LONG64 n;
    HANDLE ready, go;
    LONG64 t0, t1;
    HRESULT hr;
};

static DWORD WINAPI worker_thread(void *arg)
{
    struct worker *w = arg;
    LONG64 hooked;

    /* Warm up: hosttask and the baseline adopt the thread here. */
    w->hr = w->c->loop(w->c->obj, w->c->targets, 1000, &hooked);
    SetEvent(w->ready);
    WaitForSingleObject(w->go, INFINITE);
    w->t0 = qpc();
    w->hr |= w->c->loop(w->c->obj, w->c->targets, w->n, &hooked);
    w->t1 = qpc();
    return 0;
}

/* Aggregate iterations per second of k threads, each running n iterations,
 * from the first start to the last end; negative on failure. */
static double run_threads(struct bench_case *c, int k, LONG64 n)
{
    struct worker w[2];
    HANDLE threads[2], ready[2], go;
    LONG64 first = 0, last = 0;
    double result = -1;
    int i, started = 0;

    if (!(go = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return -1;
    for (i = 0; i < k; i++)
    {
        w[i].c = c;
        w[i].n = n;
        w[i].go = go;
        w[i].hr = S_OK;
        if (!(ready[i] = w[i].ready = CreateEventW(NULL, TRUE, FALSE, NULL)))
            break;
        if (!(threads[i] = CreateThread(NULL, 0, worker_thread, &w[i], 0, NULL)))
        {
            CloseHandle(ready[i]);
            break;
        }
        started++;
    }
    if (started == k && WaitForMultipleObjects(k, ready, TRUE, 60000) == WAIT_OBJECT_0)
    {
        SetEvent(go);
        WaitForMultipleObjects(k, threads, TRUE, INFINITE);
        result = 0;
        for (i = 0; i < k; i++)
        {
            if (w[i].hr != S_OK)
                result = -1;
            if (!i || w[i].t0 < first)
                first = w[i].t0;
            if (!i || w[i].t1 > last)
                last = w[i].t1;
        }
        if (!result && last > first)
            result = (double)k * (double)n / seconds(last - first);
    }
    else
        SetEvent(go);
    for (i = 0; i < started; i++)
    {
        WaitForSingleObject(threads[i], INFINITE);
        CloseHandle(threads[i]);
        CloseHandle(ready[i]);
    }
    CloseHandle(go);
    if (result < 0)
        fail("%s: %d-thread run failed", c->s->name, k);
    return result;
}

/* ---- Task lifecycle ---- */

DWORD WINAPI empty_routine(void *arg)
{
    return 0;
}

static BOOL lifecycle_hosttask(LONG64 n)
{
    IHostTask *task;
    HRESULT hr;
    LONG64 i;

    for (i = 0; i < n; i++)
    {
        if ((hr = IHostTaskManager_CreateTask(hosttask, 0, empty_routine, NULL, &task)) != S_OK)
        {
            fail("CreateTask: 0x%08lx", (unsigned long)hr);
            return FALSE;
        }
        if ((hr = IHostTask_Start(task)) != S_OK || (hr = IHostTask_Join(task, INFINITE, 0)) != S_OK)
        {
            fail("Start or Join: 0x%08lx", (unsigned long)hr);
            IHostTask_Release(task);
            return FALSE;
        }
        IHostTask_Release(task);
    }
    return TRUE;
}

static BOOL lifecycle_win32(LONG64 n)
{
    HANDLE thread;
    LONG64 i;

    for (i = 0; i < n; i++)
    {
        if (!(thread = CreateThread(NULL, 0, empty_routine, NULL, 0, NULL)))
        {
            fail("CreateThread: %lu", GetLastError());
            return FALSE;
        }
        if (WaitForSingleObject(thread, INFINITE) != WAIT_OBJECT_0)
            fail("WaitForSingleObject: %lu", GetLastError());
        CloseHandle(thread);
    }
    return TRUE;
}

/* Microseconds per cycle, or negative on failure. */
static double time_lifecycle(BOOL (*fn)(LONG64), LONG64 n)
{
    LONG64 t0 = qpc();

    if (!fn(n))
        return -1;
    return seconds(qpc() - t0) * 1e6 / (double)n;
}

/* ---- The measurements ---- */

static SIZE_T pair_targets[TARGETS], listed_targets[TARGETS], unlisted_targets[TARGETS];

static void make_targets(void)
{
    /* Addresses shaped like P/Invoke targets: 16-byte aligned, spread over
     * a DLL-sized range above a real module's base. */
    SIZE_T base = (SIZE_T)GetModuleHandleW(L"kernel32.dll");
    int i;

    for (i = 0; i < TARGETS; i++)
    {
        listed_targets[i] = base + 0x1000 + (SIZE_T)(i % POLICY_TARGETS) * 0x70;
        unlisted_targets[i] = base + 0x1000 + (SIZE_T)(POLICY_TARGETS + i) * 0x70;
        pair_targets[i] = (SIZE_T)&GetTickCount;
    }
}

/* The median over repetitions of a[r] / b[r]: each repetition measures
 * both close together in time, so the ratio does not take in how the
 * machine drifted between repetitions.  Ratio of medians as a fallback. */
static double ratio_median(const struct series *a, const struct series *b)
{
    struct series ratios;
    int i;

    if (a->n != b->n || !a->n)
        return median(a) / median(b);
    ratios.n = a->n;
    for (i = 0; i < a->n; i++)
        ratios.v[i] = a->v[i] / b->v[i];
    return median(&ratios);
}

/* A row comparing a hosttask series with a reference series. */
static struct row *compare_row(const char *item, const char *what, const struct series *ht, const char *reference,
        const struct series *ref, BOOL ref_over_ht, const char *ratio_means)
{
    struct row *r = add_row(item, what, median(ht), "ns");

    r->spread = spread(ht);
    row_reference(r, reference, median(ref), ref_over_ht ? ratio_median(ref, ht) : ratio_median(ht, ref),
            ratio_means);
    return r;
}

/* Other hosttask builds measured side by side with this one (--with). */
#define MAX_EXTRA 4
struct extra_build
{
    const char *name;
    const WCHAR *path;
    IHostControl *control;
    IHostTaskManager *manager;
};
static struct extra_build extras[MAX_EXTRA];
static int nextras;

static void measure_single_thread(void)
{
    enum { PF, PH, PB, PP, CF, CH, RF, RH, RB, RP, HF, HH, QPC, PT, NCASES };
    struct bench_case c[NCASES + 3 * MAX_EXTRA] =
    {
        [PF] = { series_new("pair.floor", "ns/pair"), loop_pairs, floor_obj, pair_targets, 2, -1, FALSE },
        [PH] = { series_new("pair.hosttask", "ns/pair"), loop_pairs, hosttask, pair_targets, 2, -1, FALSE },
        [PB] = { series_new("pair.baseline", "ns/pair"), loop_pairs, baseline, pair_targets, 2, -1, FALSE },
        [PP] = { series_new("pair.hosttask.profiling", "ns/pair"), loop_pairs, hosttask, pair_targets, 2, -1, TRUE },
        [CF] = { series_new("pair.callback.floor", "ns/pair"), loop_pairs_in_callback, floor_obj, pair_targets, 2, -1, FALSE },
        [CH] = { series_new("pair.callback.hosttask", "ns/pair"), loop_pairs_in_callback, hosttask, pair_targets, 2, -1, FALSE },
        [RF] = { series_new("reverse.floor", "ns/pair"), loop_reverse_pairs, floor_obj, pair_targets, 2, -1, FALSE },
        [RH] = { series_new("reverse.hosttask", "ns/pair"), loop_reverse_pairs, hosttask, pair_targets, 2, -1, FALSE },
        [RB] = { series_new("reverse.baseline", "ns/pair"), loop_reverse_pairs, baseline, pair_targets, 2, -1, FALSE },
        [RP] = { series_new("reverse.hosttask.profiling", "ns/pair"), loop_reverse_pairs, hosttask, pair_targets, 2, -1, TRUE },
        [HF] = { series_new("hook.floor", "ns/call"), loop_hook, floor_obj, unlisted_targets, 1, 1, FALSE },
        [HH] = { series_new("hook.hosttask.default", "ns/call"), loop_hook, hosttask, unlisted_targets, 1, 1, FALSE },
        [QPC] = { series_new("clock.QueryPerformanceCounter", "ns/call"), loop_clock, NULL, NULL, 1, -1, FALSE },
        [PT] = { series_new("pair.hosttask.tracing", "ns/pair"), loop_pairs, hosttask, pair_targets, 2, -1, FALSE, TRUE },
    };
    enum { PF2, LISTED, UNLISTED, NCASES2 };
    struct bench_case c2[NCASES2] =
    {
        [PF2] = { series_new("hook.floor.policy", "ns/call"), loop_hook, floor_obj, listed_targets, 1, 1, FALSE },
        [LISTED] = { series_new("hook.hosttask.1000.listed", "ns/call"), loop_hook, hosttask, listed_targets, 1, 0, FALSE },
        [UNLISTED] = { series_new("hook.hosttask.1000.unlisted", "ns/call"), loop_hook, hosttask, unlisted_targets, 1, 1, FALSE },
    };
    static char names[MAX_EXTRA][3][64];
    static const char *kinds[3] = { "pair", "reverse", "hook" };
    char what[80];
    struct row *r;
    HRESULT hr;
    int i, k, ncases = NCASES;

    for (i = 0; i < nextras; i++)
        for (k = 0; k < 3; k++)
        {
            struct bench_case *x = &c[ncases++];

            snprintf(names[i][k], sizeof(names[i][k]), "%s.%s", kinds[k], extras[i].name);
            x->s = series_new(names[i][k], k == 2 ? "ns/call" : "ns/pair");
            x->loop = k == 0 ? loop_pairs : k == 1 ? loop_reverse_pairs : loop_hook;
            x->obj = extras[i].manager;
            x->targets = k == 2 ? unlisted_targets : pair_targets;
            x->ops = k == 2 ? 1 : 2;
            x->expect_hooked = k == 2 ? 1 : -1;
            x->profiling = FALSE;
        }

    /* The default policy: no ht_set_hook_policy call at all. */
    run_cases(c, ncases);
    /* Every call wrapped except POLICY_TARGETS targets. */
    if (FAILED(hr = ht_set_hook_policy(control, TRUE, POLICY_TARGETS, listed_targets)))
        fail("ht_set_hook_policy: 0x%08lx", (unsigned long)hr);
    run_cases(c2, NCASES2);
    ht_set_hook_policy(control, TRUE, 0, NULL);

    r = compare_row("1", "LeaveRuntime+EnterRuntime pair", c[PH].s, "floor: empty pair in another DLL", c[PF].s,
            FALSE, "hosttask/floor");
    row_target(r, "<=", 1.5);
    r = compare_row("1", "LeaveRuntime+EnterRuntime pair", c[PH].s, "baseline: tid map + CRITICAL_SECTION",
            c[PB].s, TRUE, "baseline/hosttask");
    row_target(r, ">=", 5);
    compare_row("1", "  the same, inside a callback", c[CH].s, "floor: empty pair in another DLL", c[CF].s,
            FALSE, "hosttask/floor");
    r = compare_row("2", "ReverseEnter+ReverseLeave pair", c[RH].s, "floor: empty pair in another DLL", c[RF].s,
            FALSE, "hosttask/floor");
    row_target(r, "<=", 1.5);
    r = compare_row("2", "ReverseEnter+ReverseLeave pair", c[RH].s, "baseline: tid map + CRITICAL_SECTION",
            c[RB].s, TRUE, "baseline/hosttask");
    row_target(r, ">=", 5);
    r = compare_row("3", "CallNeedsHostHook, default policy", c[HH].s, "floor: empty call, same signature",
            c[HF].s, FALSE, "hosttask/floor");
    row_target(r, "<=", 2);
    r = compare_row("3", "CallNeedsHostHook, 1000 targets, listed", c2[LISTED].s,
            "floor: empty call, same signature", c2[PF2].s, FALSE, "hosttask/floor");
    row_target(r, "<=", 2);
    r = compare_row("3", "CallNeedsHostHook, 1000 targets, not listed", c2[UNLISTED].s,
            "floor: empty call, same signature", c2[PF2].s, FALSE, "hosttask/floor");
    row_target(r, "<=", 2);

    /* The --with builds, as information: same loops, same floors. */
    for (i = 0; i < nextras; i++)
    {
        struct bench_case *x = &c[NCASES + 3 * i];

        snprintf(what, sizeof(what), "  %s: Leave+Enter pair", extras[i].name);
        compare_row("1", what, x[0].s, "floor: empty pair in another DLL", c[PF].s, FALSE, "build/floor");
        snprintf(what, sizeof(what), "  %s: ReverseEnter+ReverseLeave pair", extras[i].name);
        compare_row("2", what, x[1].s, "floor: empty pair in another DLL", c[RF].s, FALSE, "build/floor");
        snprintf(what, sizeof(what), "  %s: CallNeedsHostHook, default", extras[i].name);
        compare_row("3", what, x[2].s, "floor: empty call, same signature", c[HF].s, FALSE, "build/floor");
    }

    /* Item 7 comes last in the table, but is measured here, interleaved. */
    compare_row("7", "Leave+Enter pair, profiling on", c[PP].s, "same, profiling off", c[PH].s, FALSE, "on/off");
    compare_row("7", "ReverseEnter+ReverseLeave pair, profiling on", c[RP].s, "same, profiling off", c[RH].s,
            FALSE, "on/off");
    compare_row("7", "  QueryPerformanceCounter, one call", c[QPC].s, "floor: empty call, same signature",
            c[HF].s, FALSE, "clock/floor");
    /* The event trace (docs/trace.md): off, on (a ring that wraps), and
     * profiling for scale, each against the empty pair. */
    compare_row("9", "Leave+Enter pair, tracing off", c[PH].s, "floor: empty pair in another DLL", c[PF].s, FALSE,
            "hosttask/floor");
    compare_row("9", "Leave+Enter pair, tracing on", c[PT].s, "floor: empty pair in another DLL", c[PF].s, FALSE,
            "hosttask/floor");
    compare_row("9", "Leave+Enter pair, profiling on", c[PP].s, "floor: empty pair in another DLL", c[PF].s, FALSE,
            "hosttask/floor");
}

/* Item 8: cooperative mode's lazy slot.  One slot, no other task: the
 * first EnterRuntime takes the slot, and from then on LeaveRuntime marks
 * it "in native code" and EnterRuntime reclaims it with one
 * compare-and-swap.  Against the empty pair, interleaved. */
static void measure_cooperative(void)
{
    enum { PF, PC, NCASES };
    struct bench_case c[NCASES] =
    {
        [PF] = { series_new("pair.floor.cooperative", "ns/pair"), loop_pairs, floor_obj, pair_targets, 2, -1, FALSE },
        [PC] = { series_new("pair.hosttask.cooperative", "ns/pair"), loop_pairs, hosttask, pair_targets, 2, -1, FALSE },
    };
    HT_SCHEDULER_STATS stats;
    struct row *r;
    HRESULT hr;

    if (FAILED(hr = ht_set_scheduler(control, 1, 0)))
    {
        fail("ht_set_scheduler(1): 0x%08lx", (unsigned long)hr);
        return;
    }
    run_cases(c, NCASES);
    /* Nobody else waited: every pair after the first reclaimed the slot. */
    if (SUCCEEDED(ht_get_scheduler_stats(control, &stats)) && (stats.waits || stats.retakes))
        fail("cooperative pair: %llu waits, %llu retakes with no other task", (unsigned long long)stats.waits,
                (unsigned long long)stats.retakes);
    ht_set_scheduler(control, 0, 0);
    r = compare_row("8", "Leave+Enter pair, cooperative mode, free slot", c[PC].s,
            "floor: empty pair in another DLL", c[PF].s, FALSE, "hosttask/floor");
    row_target(r, "<=", 4);
}

static void measure_scaling(void)
{
    struct bench_case c[3] =
    {
        { series_new("scaling.hosttask.1", "ns/pair"), loop_pairs, hosttask, pair_targets, 2, -1, FALSE, FALSE },
        { series_new("scaling.floor.1", "ns/pair"), loop_pairs, floor_obj, pair_targets, 2, -1, FALSE, FALSE },
        { series_new("scaling.baseline.1", "ns/pair"), loop_pairs, baseline, pair_targets, 2, -1, FALSE, FALSE },
    };
    struct series *two[3] =
    {
        series_new("scaling.hosttask.2", "ns/pair, wall time over both threads' pairs"),
        series_new("scaling.floor.2", "ns/pair, wall time over both threads' pairs"),
        series_new("scaling.baseline.2", "ns/pair, wall time over both threads' pairs"),
    };
    static const char *names[3] = { "hosttask", "floor", "baseline" };
    char what[80];
    double one_rate, two_rate;
    struct row *r;
    int i, rep;

    for (i = 0; i < 3; i++)
    {
        calibrate(&c[i]);
        two[i]->iterations = c[i].s->iterations;
    }
    for (rep = 0; rep < opt.reps; rep++)
    {
        for (i = 0; i < 3; i++)
        {
            int k = (i + rep) % 3;

            if (!c[k].s->iterations)
                continue;
            if ((one_rate = run_threads(&c[k], 1, c[k].s->iterations)) > 0)
                series_add(c[k].s, 1e9 / one_rate);
            if ((two_rate = run_threads(&c[k], 2, c[k].s->iterations)) > 0)
                series_add(two[k], 1e9 / two_rate);
        }
    }
    for (i = 0; i < 3; i++)
    {
        /* Throughput ratio: aggregate pairs per second on two threads over
         * pairs per second on one, both on fresh threads; the series hold
         * ns per pair, so the ratio is one's over two's. */
        one_rate = 1e3 / median(c[i].s);
        two_rate = 1e3 / median(two[i]);
        snprintf(what, sizeof(what), "%s pairs, 2 threads, M pairs/s total", names[i]);
        r = add_row("4", what, two_rate, "M/s");
        r->spread = spread(two[i]);
        row_reference(r, "same, 1 thread, M pairs/s", one_rate, ratio_median(c[i].s, two[i]), "2 threads/1 thread");
        if (!i)
            row_target(r, ">=", 1.9);
    }
}

static void measure_lifecycle(void)
{
    struct series *ht = series_new("lifecycle.hosttask", "us/task");
    struct series *win = series_new("lifecycle.win32", "us/thread");
    LONG64 n;
    double t;
    struct row *r;
    int rep;

    /* Calibrate on the plain version; both run the same count. */
    if ((t = time_lifecycle(lifecycle_win32, 20)) <= 0 || time_lifecycle(lifecycle_hosttask, 20) <= 0)
        return;
    n = (LONG64)(opt.lifecycle_seconds / (t * 1e-6));
    if (n < 20)
        n = 20;
    ht->iterations = win->iterations = n;
    for (rep = 0; rep < opt.reps; rep++)
    {
        if (rep % 2)
        {
            series_add(win, time_lifecycle(lifecycle_win32, n));
            series_add(ht, time_lifecycle(lifecycle_hosttask, n));
        }
        else
        {
            series_add(ht, time_lifecycle(lifecycle_hosttask, n));
            series_add(win, time_lifecycle(lifecycle_win32, n));
        }
    }
    r = add_row("5", "CreateTask+Start+Join+Release", t = median(ht), "us");
    r->spread = spread(ht);
    row_reference(r, "CreateThread+WaitForSingleObject+Close", median(win), ratio_median(ht, win), "hosttask/win32");
    row_target(r, "<=", 1.2);
}

static BOOL part(const char *name)
{
    const char *p = opt.only;
    size_t n = strlen(name);

    if (!p)
        return TRUE;
    while ((p = strstr(p, name)))
    {
        if ((p == opt.only || p[-1] == ',') && (p[n] == ',' || !p[n]))
            return TRUE;
        p += n;
    }
    return FALSE;
}

static void usage(void)
{
    printf("usage: hosttask-bench [--quick] [--reps N] [--tasks N] [--only LIST] [--with NAME=DLL] [--json FILE]\n"
           "  --quick     few iterations: proves the benchmark runs, measures nothing\n"
           "  --reps N    repetitions per figure (default 9, quick 3); medians are reported\n"
           "  --tasks N   live tasks in the memory measurement (default 10000, quick 200)\n"
           "  --only LIST measure only these parts: calls (items 1, 2, 3, 7, 9), scaling (4),\n"
           "              lifecycle (5), memory (6), cooperative (8); comma-separated\n"
           "  --with NAME=DLL  also measure another hosttask build's transitions and hook\n"
           "              calls, side by side in the same process (a copy of hosttask.dll\n"
           "              under another file name); up to 4\n"
           "  --json FILE also write the results as JSON\n");
}

int main(int argc, char **argv)
{
    struct cpu_times cpu_before, cpu_after;
    struct machine machine;
    LARGE_INTEGER frequency;
    HRESULT hr;
    int i;

    opt.reps = -1;
    opt.tasks = -1;
    for (i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--quick"))
            opt.quick = TRUE;
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            opt.json = argv[++i];
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            opt.reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--tasks") && i + 1 < argc)
            opt.tasks = atol(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            opt.only = argv[++i];
        else if (!strcmp(argv[i], "--with") && i + 1 < argc && nextras < MAX_EXTRA && strchr(argv[i + 1], '='))
        {
            static WCHAR paths[MAX_EXTRA][MAX_PATH];
            char *arg = argv[++i], *eq = strchr(arg, '=');

            *eq = 0;
            extras[nextras].name = arg;
            MultiByteToWideChar(CP_ACP, 0, eq + 1, -1, paths[nextras], MAX_PATH);
            extras[nextras].path = paths[nextras];
            nextras++;
        }
        else
        {
            usage();
            return !strcmp(argv[i], "--help") ? 0 : 2;
        }
    }
    if (opt.reps < 0)
        opt.reps = opt.quick ? 3 : 9;
    if (opt.reps < 1 || opt.reps > MAX_REPS)
    {
        fprintf(stderr, "hosttask-bench: --reps takes 1 to %d\n", MAX_REPS);
        return 2;
    }
    if (opt.tasks < 0)
        opt.tasks = opt.quick ? 200 : 10000;
    if (opt.tasks < 1)
        opt.tasks = 1;
    opt.run_seconds = opt.quick ? 0.004 : 0.15;
    opt.lifecycle_seconds = opt.quick ? 0.01 : 0.4;
    opt.memory_reps = opt.quick ? 1 : 3;

    QueryPerformanceFrequency(&frequency);
    qpc_frequency = frequency.QuadPart;
    describe_machine(&machine);
    read_load(machine.load_before, sizeof(machine.load_before));
    read_cpu_times(&cpu_before);

    if (FAILED(hr = ht_create_host_control(&control))
            || FAILED(hr = IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&hosttask)))
    {
        fprintf(stderr, "hosttask-bench: cannot create hosttask's task manager: 0x%08lx\n", (unsigned long)hr);
        return 1;
    }
    for (i = 0; i < nextras; i++)
        if (FAILED(hr = ht_create_host_control_from(extras[i].path, &extras[i].control))
                || FAILED(hr = IHostControl_GetHostManager(extras[i].control, &IID_IHostTaskManager,
                        (void **)&extras[i].manager)))
        {
            fprintf(stderr, "hosttask-bench: --with %s: cannot create its task manager: 0x%08lx\n",
                    extras[i].name, (unsigned long)hr);
            return 1;
        }
    floor_obj = bench_peer_floor();
    baseline = bench_peer_baseline();
    make_targets();

    printf("hosttask-bench, %s mode: %d repetitions per figure, medians; %s, %lu processors, Wine %s, "
           "load %s\n", opt.quick ? "quick" : "full", opt.reps, machine.cpu, machine.processors,
           machine.wine, machine.load_before);
    if (opt.quick)
        printf("quick mode: too few iterations for the figures to mean anything\n");
    fflush(stdout);

    if (part("calls"))
        measure_single_thread();
    if (part("cooperative"))
        measure_cooperative();
    if (part("scaling"))
        measure_scaling();
    if (part("lifecycle"))
        measure_lifecycle();
    /* Before the memory part: its thousands of threads are load of its own. */
    read_load(machine.load_after, sizeof(machine.load_after));
    read_cpu_times(&cpu_after);
    cpu_usage(&cpu_before, &cpu_after, &machine);
    if (part("memory"))
        measure_memory();

    sort_rows();
    printf("\n");
    print_table(stdout);
    printf("\nload after the timed parts: %s", machine.load_after);
    if (machine.busy_percent >= 0)
        printf("; over them the machine was %.0f%% busy, this benchmark included (one busy processor "
               "of %lu is %.0f%%), %.0f%% stolen by the hypervisor", machine.busy_percent, machine.processors,
               100.0 / (machine.processors ? machine.processors : 1), machine.steal_percent);
    printf("\n");
    if (opt.json)
        write_json(opt.json, &machine);

    IHostTaskManager_Release(hosttask);
    IHostControl_Release(control);
    for (i = 0; i < nextras; i++)
    {
        IHostTaskManager_Release(extras[i].manager);
        IHostControl_Release(extras[i].control);
    }
    if (!nrows)
        fail("no results");
    if (failures)
        fprintf(stderr, "hosttask-bench: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
