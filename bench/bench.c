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
 * exit code is 0 when every measurement ran and the JSON is valid, whether
 * or not the targets were met; timings never fail a run.
 */
#define COBJMACROS
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cpuid.h>
#include <hosttask/hosttask.h>
#include <winternl.h>

#include "peer.h"
#include "handles.h"
#include "sizes.h"

#define MAX_REPS 31
#define TARGETS 1024          /* the hook loops cycle through this many targets */
#define POLICY_TARGETS 1000   /* registered with ht_set_hook_policy */
#define TASK_STACK (64 * 1024)

struct options
{
    BOOL quick;
    int reps;
    const char *json;
    double run_seconds;       /* one timed run of a loop */
    double lifecycle_seconds; /* one timed run of the lifecycle loops */
    LONG tasks;               /* live tasks in the memory measurement */
    int memory_reps;
    const char *only;         /* NULL, or a comma-separated list of parts */
};

static struct options opt;
static LONG64 qpc_frequency;
static IHostControl *control;
static IHostTaskManager *hosttask, *floor_obj, *baseline;
static int failures;

static void fail(const char *format, ...)
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

/* ---- Samples ---- */

struct series
{
    const char *name;
    const char *unit;
    LONG64 iterations;        /* per sample */
    int n;
    double v[MAX_REPS];
};

#define MAX_SERIES 64
static struct series *all_series[MAX_SERIES];
static int nseries;

static struct series *series_new(const char *name, const char *unit)
{
    struct series *s = calloc(1, sizeof(*s));

    if (!s || nseries == MAX_SERIES)
    {
        fprintf(stderr, "hosttask-bench: out of series\n");
        exit(2);
    }
    s->name = name;
    s->unit = unit;
    all_series[nseries++] = s;
    return s;
}

static void series_add(struct series *s, double value)
{
    if (s->n < MAX_REPS)
        s->v[s->n++] = value;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(const struct series *s)
{
    double v[MAX_REPS];

    if (!s->n)
        return NAN;
    memcpy(v, s->v, s->n * sizeof(*v));
    qsort(v, s->n, sizeof(*v), compare_double);
    return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

/* (max - min) / median, in percent: how much the repetitions disagreed. */
static double spread(const struct series *s)
{
    double lo = INFINITY, hi = -INFINITY, m = median(s);
    int i;

    for (i = 0; i < s->n; i++)
    {
        lo = s->v[i] < lo ? s->v[i] : lo;
        hi = s->v[i] > hi ? s->v[i] : hi;
    }
    return s->n && m > 0 ? (hi - lo) / m * 100 : NAN;
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

static DWORD WINAPI empty_routine(void *arg)
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

/* ---- Memory ----
 *
 * Host state per task = what the process's heaps hold with N live hosttask
 * tasks, minus what they hold with N live plain Win32 threads running the
 * same routine with the same stack, over N.  The threads themselves
 * (stacks, TEBs, Wine's per-thread data) are in both and cancel out;
 * the thread's handle is in both too.  Kernel objects (hosttask's
 * per-task alert event) live in wineserver, not in the process: they are
 * reported as handles. */

struct heap_block
{
    void *data;
    SIZE_T size;
};

struct memory_snapshot
{
    SIZE_T heap_busy;         /* every busy heap block, data plus the allocator's overhead */
    SIZE_T heap_committed;    /* committed bytes of the heaps' regions */
    SIZE_T private_committed; /* MEM_PRIVATE, MEM_COMMIT address space */
    DWORD handles;
    struct heap_block *blocks;
    SIZE_T nblocks, capacity;
};

static void memory_snapshot(struct memory_snapshot *m)
{
    MEMORY_BASIC_INFORMATION info;
    PROCESS_HEAP_ENTRY entry;
    HANDLE heaps[256];
    DWORD nheaps, h;
    char *p = NULL;

    m->heap_busy = m->heap_committed = m->private_committed = 0;
    m->nblocks = 0;
    while (VirtualQuery(p, &info, sizeof(info)) == sizeof(info))
    {
        if (info.State == MEM_COMMIT && info.Type == MEM_PRIVATE)
            m->private_committed += info.RegionSize;
        p = (char *)info.BaseAddress + info.RegionSize;
        if (!info.RegionSize)
            break;
    }
    m->handles = ht_handle_count();
    nheaps = GetProcessHeaps(ARRAYSIZE(heaps), heaps);
    for (h = 0; h < nheaps && h < ARRAYSIZE(heaps); h++)
    {
        if (!HeapLock(heaps[h]))
            continue;
        entry.lpData = NULL;
        while (HeapWalk(heaps[h], &entry))
        {
            if (entry.wFlags & PROCESS_HEAP_REGION)
                m->heap_committed += entry.Region.dwCommittedSize;
            else if (entry.wFlags & PROCESS_HEAP_ENTRY_BUSY)
            {
                m->heap_busy += entry.cbData + entry.cbOverhead;
                if (m->nblocks < m->capacity)
                {
                    m->blocks[m->nblocks].data = entry.lpData;
                    m->blocks[m->nblocks].size = entry.cbData;
                    m->nblocks++;
                }
            }
        }
        HeapUnlock(heaps[h]);
    }
}

static int compare_block(const void *a, const void *b)
{
    const struct heap_block *x = a, *y = b;

    return x->data < y->data ? -1 : x->data > y->data;
}

static int compare_size(const void *a, const void *b)
{
    SIZE_T x = *(const SIZE_T *)a, y = *(const SIZE_T *)b;

    return x < y ? -1 : x > y;
}

/* Sorts the blocks of after that are not in before by size, into the spare
 * half of after's buffer; returns how many. */
static SIZE_T new_blocks(struct memory_snapshot *before, struct memory_snapshot *after, SIZE_T **sizes)
{
    SIZE_T i, j = 0, n = 0, *fresh = (SIZE_T *)(after->blocks + after->nblocks);

    *sizes = fresh;
    if (after->nblocks > after->capacity / 2)
        return 0;
    qsort(before->blocks, before->nblocks, sizeof(*before->blocks), compare_block);
    qsort(after->blocks, after->nblocks, sizeof(*after->blocks), compare_block);
    for (i = 0; i < after->nblocks; i++)
    {
        while (j < before->nblocks && before->blocks[j].data < after->blocks[i].data)
            j++;
        if (j < before->nblocks && before->blocks[j].data == after->blocks[i].data
                && before->blocks[j].size == after->blocks[i].size)
            continue;
        fresh[n++] = after->blocks[i].size;
    }
    qsort(fresh, n, sizeof(*fresh), compare_size);
    return n;
}

static SIZE_T count_size(const SIZE_T *sizes, SIZE_T n, SIZE_T size)
{
    SIZE_T count = 0, i;

    for (i = 0; i < n; i++)
        count += sizes[i] == size;
    return count;
}

/* The block size whose count grew most from the plain threads' round to
 * hosttask's: the size of one task's allocation, if each allocates one. */
static SIZE_T task_block_size(struct memory_snapshot *ht_before, struct memory_snapshot *ht_during,
        struct memory_snapshot *win_before, struct memory_snapshot *win_during, SIZE_T *count)
{
    SIZE_T *ht_sizes, *win_sizes, nht, nwin, i, k, run, best = 0, best_extra = 0, extra;

    nht = new_blocks(ht_before, ht_during, &ht_sizes);
    nwin = new_blocks(win_before, win_during, &win_sizes);
    *count = 0;
    for (i = 0; i < nht; i = k)
    {
        for (k = i, run = 0; k < nht && ht_sizes[k] == ht_sizes[i]; k++)
            run++;
        extra = run - (run < count_size(win_sizes, nwin, ht_sizes[i]) ? run : count_size(win_sizes, nwin, ht_sizes[i]));
        if (extra > best_extra)
        {
            best_extra = extra;
            best = ht_sizes[i];
        }
    }
    *count = best_extra;
    return best;
}

struct live_context
{
    HANDLE hold;              /* manual reset: set when the tasks may end */
    HANDLE all_running;       /* set by the last task to start */
    LONG running, target;
};

static DWORD WINAPI live_routine(void *arg)
{
    struct live_context *ctx = arg;

    if (InterlockedIncrement(&ctx->running) == ctx->target)
        SetEvent(ctx->all_running);
    WaitForSingleObject(ctx->hold, INFINITE);
    return 0;
}

enum memory_mode
{
    /* N tasks whose threads all run (blocked in their routine). */
    TASKS_RUNNING,
    /* N tasks started and joined one after the other, each still
     * referenced, as the CLR keeps an IHostTask until its Thread object
     * dies; plain threads likewise ended, their handles kept open. */
    TASKS_ENDED
};

enum round_status
{
    ROUND_OK,
    ROUND_NO_RESOURCES,       /* a thread could not be created: retry with fewer */
    ROUND_FAILED
};

struct memory_result
{
    struct memory_snapshot before, during, after;
    ULONG live_tasks;
};

static enum round_status memory_round(BOOL use_hosttask, enum memory_mode mode, LONG n,
        struct memory_result *r)
{
    enum round_status status = ROUND_FAILED;
    struct live_context ctx;
    IHostTaskStatistics *statistics;
    IHostTask **tasks = NULL;
    HANDLE *threads = NULL;
    ULONG bound_only;
    LONG i, created = 0;
    HRESULT hr;

    r->live_tasks = 0;
    ctx.running = 0;
    ctx.target = n;
    ctx.hold = CreateEventW(NULL, TRUE, FALSE, NULL);
    ctx.all_running = CreateEventW(NULL, TRUE, FALSE, NULL);
    /* Allocated before the first snapshot, so that they are in every one. */
    if (use_hosttask)
        tasks = calloc(n, sizeof(*tasks));
    else
        threads = calloc(n, sizeof(*threads));
    if (!ctx.hold || !ctx.all_running || (!tasks && !threads))
    {
        fail("memory: out of resources before starting");
        goto done;
    }

    memory_snapshot(&r->before);
    status = ROUND_OK;
    for (i = 0; i < n; i++)
    {
        if (use_hosttask)
        {
            if ((hr = IHostTaskManager_CreateTask(hosttask, TASK_STACK,
                    mode == TASKS_RUNNING ? live_routine : empty_routine, &ctx, &tasks[i])) != S_OK)
            {
                status = ROUND_NO_RESOURCES;
                break;
            }
            created++;
            if ((hr = IHostTask_Start(tasks[i])) != S_OK)
            {
                fail("memory: Start %ld: 0x%08lx", i + 1, (unsigned long)hr);
                status = ROUND_FAILED;
                break;
            }
            if (mode == TASKS_ENDED && (hr = IHostTask_Join(tasks[i], INFINITE, 0)) != S_OK)
            {
                fail("memory: Join %ld: 0x%08lx", i + 1, (unsigned long)hr);
                status = ROUND_FAILED;
                break;
            }
        }
        else
        {
            if (!(threads[i] = CreateThread(NULL, TASK_STACK, mode == TASKS_RUNNING ? live_routine : empty_routine,
                    &ctx, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL)))
            {
                status = ROUND_NO_RESOURCES;
                break;
            }
            created++;
            if (mode == TASKS_ENDED && WaitForSingleObject(threads[i], INFINITE) != WAIT_OBJECT_0)
            {
                fail("memory: WaitForSingleObject %ld: %lu", i + 1, GetLastError());
                status = ROUND_FAILED;
                break;
            }
        }
    }
    if (status == ROUND_OK && mode == TASKS_RUNNING && WaitForSingleObject(ctx.all_running, 300000) != WAIT_OBJECT_0)
    {
        fail("memory: the tasks did not all start");
        status = ROUND_FAILED;
    }
    if (status == ROUND_OK)
    {
        memory_snapshot(&r->during);
        if (use_hosttask && SUCCEEDED(ht_get_manager_interface(control, &IID_IHostTaskStatistics,
                (void **)&statistics)))
        {
            IHostTaskStatistics_GetObjectCounts(statistics, &r->live_tasks, &bound_only);
            IHostTaskStatistics_Release(statistics);
        }
    }

    SetEvent(ctx.hold);
    for (i = 0; i < created; i++)
    {
        if (use_hosttask)
        {
            if ((hr = IHostTask_Join(tasks[i], INFINITE, 0)) != S_OK)
                fail("memory: Join: 0x%08lx", (unsigned long)hr);
            IHostTask_Release(tasks[i]);
        }
        else
        {
            WaitForSingleObject(threads[i], INFINITE);
            CloseHandle(threads[i]);
        }
    }
    memory_snapshot(&r->after);
done:
    free(tasks);
    free(threads);
    if (ctx.hold)
        CloseHandle(ctx.hold);
    if (ctx.all_running)
        CloseHandle(ctx.all_running);
    return status;
}

/* Wine gives every thread about four file descriptors (its pipes to
 * wineserver), so RLIMIT_NOFILE caps the threads a process can have.
 * Returns the soft limit, or 0 when it cannot be read (not Wine). */
static long open_files_limit(void)
{
    char line[256];
    long limit = 0;
    FILE *f = fopen("Z:\\proc\\self\\limits", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, "Max open files", 14))
            limit = strtol(line + 14, NULL, 10);
    fclose(f);
    return limit;
}

/* ---- Results ---- */

struct row
{
    const char *item;
    char what[80];
    double value;
    const char *unit;
    char reference[56];
    double reference_value;
    double ratio;             /* NAN: none */
    const char *ratio_means;  /* how the ratio is formed */
    const char *op;           /* "<=", ">=", or NULL: information only */
    double target;
    double judged;            /* the figure the target applies to */
    double spread;            /* of the hosttask figure, percent */
};

#define MAX_ROWS 40
static struct row rows[MAX_ROWS];
static int nrows;

static struct row *add_row(const char *item, const char *what, double value, const char *unit)
{
    struct row *r = &rows[nrows < MAX_ROWS - 1 ? nrows++ : nrows];

    memset(r, 0, sizeof(*r));
    r->item = item;
    snprintf(r->what, sizeof(r->what), "%s", what);
    r->value = value;
    r->unit = unit;
    r->reference_value = NAN;
    r->ratio = NAN;
    r->judged = NAN;
    r->spread = NAN;
    if (!isfinite(value))
        fail("no result for %s", what);
    return r;
}

static void row_reference(struct row *r, const char *reference, double value, double ratio,
        const char *ratio_means)
{
    snprintf(r->reference, sizeof(r->reference), "%s", reference);
    r->reference_value = value;
    r->ratio = ratio;
    r->ratio_means = ratio_means;
    r->judged = ratio;
}

static void row_target(struct row *r, const char *op, double target)
{
    r->op = op;
    r->target = target;
}

static const char *row_result(const struct row *r)
{
    if (!r->op)
        return "info";
    if (!isfinite(r->judged))
        return "n/a";
    if (!strcmp(r->op, "<="))
        return r->judged <= r->target ? "MET" : "MISSED";
    return r->judged >= r->target ? "MET" : "MISSED";
}

static void format_number(char *buf, size_t size, double v)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else if (fabs(v) >= 1000)
        snprintf(buf, size, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "%.2f", v);
}

/* In item order; rows of one item keep the order they were added in. */
static void sort_rows(void)
{
    struct row r;
    int i, j;

    for (i = 1; i < nrows; i++)
    {
        r = rows[i];
        for (j = i; j > 0 && strcmp(rows[j - 1].item, r.item) > 0; j--)
            rows[j] = rows[j - 1];
        rows[j] = r;
    }
}

static void print_table(FILE *out)
{
    char value[32], ref[32], ratio[48], target[32], spread_text[16];
    int i;

    fprintf(out, "%-4s %-50s %9s %-7s %6s  %-36s %9s  %-24s %-8s %s\n", "item", "measurement", "hosttask",
            "unit", "spread", "reference", "ref", "ratio", "target", "result");
    for (i = 0; i < nrows; i++)
    {
        const struct row *r = &rows[i];

        format_number(value, sizeof(value), r->value);
        format_number(ref, sizeof(ref), r->reference_value);
        if (isfinite(r->ratio))
            snprintf(ratio, sizeof(ratio), "%.2fx %s", r->ratio, r->ratio_means ? r->ratio_means : "");
        else
            snprintf(ratio, sizeof(ratio), "-");
        if (r->op)
            snprintf(target, sizeof(target), "%s %g", r->op, r->target);
        else
            snprintf(target, sizeof(target), "-");
        if (isfinite(r->spread))
            snprintf(spread_text, sizeof(spread_text), "%.0f%%", r->spread);
        else
            snprintf(spread_text, sizeof(spread_text), "-");
        fprintf(out, "%-4s %-50s %9s %-7s %6s  %-36s %9s  %-24s %-8s %s\n", r->item, r->what, value, r->unit,
                spread_text, r->reference[0] ? r->reference : "-", ref, ratio, target, row_result(r));
    }
}

/* ---- JSON: written into a buffer, checked, then saved ---- */

struct buffer
{
    char *data;
    size_t len, cap;
};

static void put(struct buffer *b, const char *format, ...)
{
    va_list args;
    int n;

    for (;;)
    {
        va_start(args, format);
        n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, format, args);
        va_end(args);
        if (n < 0)
            return;
        if (b->data && b->len + n < b->cap)
        {
            b->len += n;
            return;
        }
        b->cap = (b->cap + n + 1) * 2;
        if (!(b->data = realloc(b->data, b->cap)))
        {
            fprintf(stderr, "hosttask-bench: out of memory\n");
            exit(2);
        }
    }
}

static void put_string(struct buffer *b, const char *s)
{
    put(b, "\"");
    for (; s && *s; s++)
    {
        if (*s == '"' || *s == '\\')
            put(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            put(b, "\\u%04x", (unsigned char)*s);
        else
            put(b, "%c", *s);
    }
    put(b, "\"");
}

/* JSON has no NaN: a missing figure is null. */
static void put_number(struct buffer *b, double v)
{
    if (isfinite(v))
        put(b, "%.6g", v);
    else
        put(b, "null");
}

/* A strict JSON syntax check (RFC 8259), so that a broken writer fails the
 * run instead of the consumer. */
struct parser
{
    const char *p, *end;
};

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static BOOL parse_value(struct parser *ps, int depth);

static BOOL parse_literal(struct parser *ps, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n))
        return FALSE;
    ps->p += n;
    return TRUE;
}

static BOOL parse_string(struct parser *ps)
{
    int i;

    if (ps->p >= ps->end || *ps->p++ != '"')
        return FALSE;
    while (ps->p < ps->end && *ps->p != '"')
    {
        if ((unsigned char)*ps->p < 0x20)
            return FALSE;
        if (*ps->p++ == '\\')
        {
            if (ps->p >= ps->end)
                return FALSE;
            if (*ps->p == 'u')
            {
                for (i = 1; i <= 4; i++)
                    if (ps->p + i >= ps->end || !strchr("0123456789abcdefABCDEF", ps->p[i]) || !ps->p[i])
                        return FALSE;
                ps->p += 5;
            }
            else if (strchr("\"\\/bfnrt", *ps->p) && *ps->p)
                ps->p++;
            else
                return FALSE;
        }
    }
    return ps->p++ < ps->end;
}

static BOOL parse_digits(struct parser *ps)
{
    const char *start = ps->p;

    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    return ps->p > start;
}

static BOOL parse_number(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '-')
        ps->p++;
    if (ps->p < ps->end && *ps->p == '0')
        ps->p++;
    else if (!parse_digits(ps))
        return FALSE;
    if (ps->p < ps->end && *ps->p == '.')
    {
        ps->p++;
        if (!parse_digits(ps))
            return FALSE;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E'))
    {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (!parse_digits(ps))
            return FALSE;
    }
    return TRUE;
}

static BOOL parse_members(struct parser *ps, int depth, BOOL object)
{
    char close = object ? '}' : ']';

    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close)
    {
        ps->p++;
        return TRUE;
    }
    for (;;)
    {
        skip_space(ps);
        if (object)
        {
            if (!parse_string(ps))
                return FALSE;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p++ != ':')
                return FALSE;
        }
        if (!parse_value(ps, depth + 1))
            return FALSE;
        skip_space(ps);
        if (ps->p >= ps->end)
            return FALSE;
        if (*ps->p == close)
        {
            ps->p++;
            return TRUE;
        }
        if (*ps->p++ != ',')
            return FALSE;
    }
}

static BOOL parse_value(struct parser *ps, int depth)
{
    skip_space(ps);
    if (ps->p >= ps->end || depth > 64)
        return FALSE;
    switch (*ps->p)
    {
    case '{':
        return parse_members(ps, depth, TRUE);
    case '[':
        return parse_members(ps, depth, FALSE);
    case '"':
        return parse_string(ps);
    case 't':
        return parse_literal(ps, "true");
    case 'f':
        return parse_literal(ps, "false");
    case 'n':
        return parse_literal(ps, "null");
    default:
        return parse_number(ps);
    }
}

static BOOL json_valid(const char *text, size_t len)
{
    struct parser ps = { text, text + len };

    if (!len || *text != '{' || !parse_value(&ps, 0))
        return FALSE;
    skip_space(&ps);
    return ps.p == ps.end;
}

struct machine
{
    char cpu[49];
    DWORD processors;
    char load_before[64], load_after[64];
    /* The whole machine over the timed parts (items 1-5), from the Linux
     * side: how busy it was, this benchmark included, and how much time
     * the hypervisor stole.  Negative when unknown. */
    double busy_percent, steal_percent;
    const char *wine;
};

static void build_json(struct buffer *b, const struct machine *m)
{
    int i, j;

    put(b, "{\n  \"benchmark\": \"hosttask\",\n  \"mode\": \"%s\",\n  \"repetitions\": %d,\n",
            opt.quick ? "quick" : "full", opt.reps);
    put(b, "  \"machine\": {\"cpu\": ");
    put_string(b, m->cpu);
    put(b, ", \"processors\": %lu, \"wine\": ", m->processors);
    put_string(b, m->wine);
    put(b, ", \"load_before\": ");
    put_string(b, m->load_before);
    put(b, ", \"load_after\": ");
    put_string(b, m->load_after);
    put(b, ", \"timed_parts_busy_percent\": ");
    put_number(b, m->busy_percent >= 0 ? m->busy_percent : NAN);
    put(b, ", \"timed_parts_steal_percent\": ");
    put_number(b, m->steal_percent >= 0 ? m->steal_percent : NAN);
    put(b, "},\n  \"rows\": [\n");
    for (i = 0; i < nrows; i++)
    {
        const struct row *r = &rows[i];

        put(b, "    {\"item\": ");
        put_string(b, r->item);
        put(b, ", \"measurement\": ");
        put_string(b, r->what);
        put(b, ", \"value\": ");
        put_number(b, r->value);
        put(b, ", \"unit\": ");
        put_string(b, r->unit);
        put(b, ", \"spread_percent\": ");
        put_number(b, r->spread);
        put(b, ", \"reference\": ");
        if (r->reference[0])
            put_string(b, r->reference);
        else
            put(b, "null");
        put(b, ", \"reference_value\": ");
        put_number(b, r->reference_value);
        put(b, ", \"ratio\": ");
        put_number(b, r->ratio);
        put(b, ", \"ratio_means\": ");
        if (r->ratio_means)
            put_string(b, r->ratio_means);
        else
            put(b, "null");
        put(b, ", \"target\": ");
        if (r->op)
        {
            put(b, "{\"op\": ");
            put_string(b, r->op);
            put(b, ", \"value\": ");
            put_number(b, r->target);
            put(b, ", \"applies_to\": ");
            put_number(b, r->judged);
            put(b, "}");
        }
        else
            put(b, "null");
        put(b, ", \"result\": ");
        put_string(b, row_result(r));
        put(b, "}%s\n", i + 1 < nrows ? "," : "");
    }
    put(b, "  ],\n  \"series\": [\n");
    for (i = 0; i < nseries; i++)
    {
        const struct series *s = all_series[i];

        put(b, "    {\"name\": ");
        put_string(b, s->name);
        put(b, ", \"unit\": ");
        put_string(b, s->unit);
        put(b, ", \"iterations_per_sample\": %lld, \"median\": ", (long long)s->iterations);
        put_number(b, median(s));
        put(b, ", \"samples\": [");
        for (j = 0; j < s->n; j++)
        {
            if (j)
                put(b, ", ");
            put_number(b, s->v[j]);
        }
        put(b, "]}%s\n", i + 1 < nseries ? "," : "");
    }
    put(b, "  ]\n}\n");
}

static BOOL write_json(const char *path, const struct machine *m)
{
    struct buffer b = { NULL, 0, 0 };
    char *check;
    FILE *f;
    long size;
    BOOL ok = FALSE;

    build_json(&b, m);
    if (!json_valid(b.data, b.len))
    {
        fail("the JSON written is invalid");
        free(b.data);
        return FALSE;
    }
    if (!(f = fopen(path, "wb")) || fwrite(b.data, 1, b.len, f) != b.len || fclose(f))
    {
        fail("cannot write %s", path);
        free(b.data);
        return FALSE;
    }
    /* Read back: what is on disk is what was checked. */
    if ((f = fopen(path, "rb")))
    {
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (size == (long)b.len && (check = malloc(size)))
        {
            ok = fread(check, 1, size, f) == (size_t)size && !memcmp(check, b.data, size);
            free(check);
        }
        fclose(f);
    }
    if (!ok)
        fail("%s does not hold what was written", path);
    free(b.data);
    return ok;
}

/* ---- The machine ---- */

/* The first line of /proc/stat: jiffies per state, all CPUs together. */
struct cpu_times
{
    unsigned long long total, idle, steal;
    BOOL ok;
};

static void read_cpu_times(struct cpu_times *t)
{
    unsigned long long v[10] = { 0 };
    FILE *f = fopen("Z:\\proc\\stat", "r");
    int i, n;

    memset(t, 0, sizeof(*t));
    if (!f)
        return;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
            &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 8)
        return;
    /* user nice system idle iowait irq softirq steal (guest time is in user) */
    for (i = 0; i < 8; i++)
        t->total += v[i];
    t->idle = v[3] + v[4];
    t->steal = v[7];
    t->ok = TRUE;
}

static void cpu_usage(const struct cpu_times *a, const struct cpu_times *b, struct machine *m)
{
    double total = (double)(b->total - a->total);

    m->busy_percent = m->steal_percent = -1;
    if (!a->ok || !b->ok || total <= 0)
        return;
    m->busy_percent = 100.0 * (total - (double)(b->idle - a->idle)) / total;
    m->steal_percent = 100.0 * (double)(b->steal - a->steal) / total;
}

static void read_load(char *buf, size_t size)
{
    /* Wine maps the Unix root to Z:; best effort, for the record only. */
    FILE *f = fopen("Z:\\proc\\loadavg", "r");
    char *nl;

    snprintf(buf, size, "unknown");
    if (!f)
        return;
    if (fgets(buf, (int)size, f) && (nl = strchr(buf, '\n')))
        *nl = 0;
    fclose(f);
}

static void describe_machine(struct machine *m)
{
    unsigned int regs[12], leaf;
    const char *(CDECL *wine_get_version)(void);
    SYSTEM_INFO info;
    char *p;

    memset(m, 0, sizeof(*m));
    snprintf(m->cpu, sizeof(m->cpu), "unknown");
    if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004)
    {
        for (leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &regs[leaf * 4], &regs[leaf * 4 + 1], &regs[leaf * 4 + 2],
                    &regs[leaf * 4 + 3]);
        memcpy(m->cpu, regs, 48);
        m->cpu[48] = 0;
        for (p = m->cpu; *p == ' '; p++)
            ;
        memmove(m->cpu, p, strlen(p) + 1);
    }
    GetSystemInfo(&info);
    m->processors = info.dwNumberOfProcessors;
    wine_get_version = (void *)GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version");
    m->wine = wine_get_version ? wine_get_version() : "not Wine";
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

struct memory_figures
{
    struct series *heap, *heap_ht, *heap_win, *committed, *committed_ht, *committed_win, *handles, *leak;
    SIZE_T block_size, block_count;
    LONG n;
};

static double per_task(SIZE_T during, SIZE_T before, LONG n)
{
    return ((double)during - (double)before) / (double)n;
}

static void memory_figures_init(struct memory_figures *f, const char *mode)
{
    static char names[2][8][64];
    static int used;
    char (*name)[64] = names[used++ % 2];

    snprintf(name[0], 64, "memory.%s.heap_bytes_per_task", mode);
    snprintf(name[1], 64, "memory.%s.hosttask.heap_bytes_per_task", mode);
    snprintf(name[2], 64, "memory.%s.win32.heap_bytes_per_thread", mode);
    snprintf(name[3], 64, "memory.%s.private_committed_per_task", mode);
    snprintf(name[4], 64, "memory.%s.hosttask.private_committed_per_task", mode);
    snprintf(name[5], 64, "memory.%s.win32.private_committed_per_thread", mode);
    snprintf(name[6], 64, "memory.%s.handles_per_task", mode);
    snprintf(name[7], 64, "memory.%s.heap_bytes_left_per_task", mode);
    f->heap = series_new(name[0], "bytes");
    f->heap_ht = series_new(name[1], "bytes");
    f->heap_win = series_new(name[2], "bytes");
    f->committed = series_new(name[3], "bytes");
    f->committed_ht = series_new(name[4], "bytes");
    f->committed_win = series_new(name[5], "bytes");
    f->handles = series_new(name[6], "handles");
    f->leak = series_new(name[7], "bytes");
    f->block_size = f->block_count = 0;
    f->n = 0;
}

/* Warm-up and repetitions of one mode with n tasks; ROUND_NO_RESOURCES if
 * n threads cannot all exist at once. */
static enum round_status memory_rounds(enum memory_mode mode, LONG n, struct memory_figures *f,
        struct memory_result *ht, struct memory_result *win)
{
    enum round_status status;
    int rep;

    f->n = n;
    /* Round -1 warms up: the first N threads of a process commit more
     * (Wine grows internal tables once), which would be charged to
     * whichever variant came first. */
    for (rep = -1; rep < opt.memory_reps; rep++)
    {
        /* Alternate which goes first: Wine frees an ended thread's stack
         * lazily, so a round may see some of the previous round's go. */
        if (rep % 2)
        {
            if ((status = memory_round(TRUE, mode, n, ht)) == ROUND_OK)
                status = memory_round(FALSE, mode, n, win);
        }
        else if ((status = memory_round(FALSE, mode, n, win)) == ROUND_OK)
            status = memory_round(TRUE, mode, n, ht);
        if (status != ROUND_OK)
            return status;
        if (rep < 0)
            continue;
        series_add(f->heap_ht, per_task(ht->during.heap_busy, ht->before.heap_busy, n));
        series_add(f->heap_win, per_task(win->during.heap_busy, win->before.heap_busy, n));
        series_add(f->heap, per_task(ht->during.heap_busy, ht->before.heap_busy, n)
                - per_task(win->during.heap_busy, win->before.heap_busy, n));
        series_add(f->committed_ht, per_task(ht->during.private_committed, ht->before.private_committed, n));
        series_add(f->committed_win, per_task(win->during.private_committed, win->before.private_committed, n));
        series_add(f->committed, per_task(ht->during.private_committed, ht->before.private_committed, n)
                - per_task(win->during.private_committed, win->before.private_committed, n));
        if (ht->during.handles != MAXDWORD && ht->before.handles != MAXDWORD
                && win->during.handles != MAXDWORD && win->before.handles != MAXDWORD)
            series_add(f->handles, per_task(ht->during.handles, ht->before.handles, n)
                    - per_task(win->during.handles, win->before.handles, n));
        series_add(f->leak, per_task(ht->after.heap_busy, ht->before.heap_busy, n));
        f->block_size = task_block_size(&ht->before, &ht->during, &win->before, &win->during, &f->block_count);
        if (ht->live_tasks < (ULONG)n)
            fail("memory: %lu live tasks, expected at least %ld", ht->live_tasks, n);
    }
    f->heap->iterations = f->heap_ht->iterations = f->heap_win->iterations = n;
    f->committed->iterations = f->committed_ht->iterations = f->committed_win->iterations = n;
    f->handles->iterations = f->leak->iterations = n;
    return ROUND_OK;
}

static void measure_memory(void)
{
    struct memory_figures ended, running;
    struct memory_result *ht, *win;
    struct heap_block *buffers;
    SIZE_T capacity = 4 * ((SIZE_T)opt.tasks + 65536);
    long limit = open_files_limit();
    enum round_status status;
    char what[80];
    struct row *r;
    LONG n;
    int i;

    memory_figures_init(&ended, "ended");
    memory_figures_init(&running, "running");
    ht = calloc(1, sizeof(*ht));
    win = calloc(1, sizeof(*win));
    /* Outside every heap, so the walks do not count their own buffers. */
    buffers = VirtualAlloc(NULL, 6 * capacity * sizeof(*buffers), MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE);
    /* Room for every handle on the machine, a few times over. */
    if (!ht || !win || !buffers || !ht_handle_buffer_reserve(16 * ((SIZE_T)opt.tasks + 65536)))
    {
        fail("memory: no buffers");
        return;
    }
    {
        struct memory_snapshot *s[6] = { &ht->before, &ht->during, &ht->after,
                                         &win->before, &win->during, &win->after };

        for (i = 0; i < 6; i++)
        {
            s[i]->blocks = buffers + i * capacity;
            s[i]->capacity = capacity;
        }
    }

    /* 10,000 task objects alive at once, their threads run one at a time:
     * possible under any descriptor limit. */
    if (memory_rounds(TASKS_ENDED, opt.tasks, &ended, ht, win) != ROUND_OK)
        fail("memory: %ld tasks with ended threads could not be created", opt.tasks);

    /* As many running threads as Wine's descriptors allow, up to the same
     * number: the first try stays under the limit, halving after that. */
    n = opt.tasks;
    if (limit > 0 && n > (limit - 1000) / 4 * 9 / 10)
        n = (LONG)((limit - 1000) / 4 * 9 / 10);
    for (; n >= 50; n /= 2)
        if ((status = memory_rounds(TASKS_RUNNING, n, &running, ht, win)) != ROUND_NO_RESOURCES)
            break;
    if (n < opt.tasks)
        printf("memory: %ld threads at once is as many as this process may have (%ld open files; Wine "
               "takes about 4 per thread): running tasks measured with %ld\n", (long)opt.tasks, limit, (long)n);

    snprintf(what, sizeof(what), "host state/task, heap: %ld tasks, threads ended", (long)ended.n);
    r = add_row("6", what, median(ended.heap), "bytes");
    r->spread = spread(ended.heap);
    r->judged = r->value;
    row_target(r, "<=", 256);
    snprintf(what, sizeof(what), "host state/task, heap: %ld tasks, threads running", (long)running.n);
    r = add_row("6", what, median(running.heap), "bytes");
    r->spread = spread(running.heap);
    r->judged = r->value;
    row_target(r, "<=", 256);
    r = add_row("6", "  heap growth per hosttask task, running", median(running.heap_ht), "bytes");
    row_reference(r, "per plain thread, running", median(running.heap_win), NAN, NULL);
    snprintf(what, sizeof(what), "  extra heap blocks of one size: %lu of", (unsigned long)running.block_count);
    add_row("6", what, (double)running.block_size, "bytes");
    add_row("6", "  sizeof(struct host_task), com/private.h", (double)bench_sizeof_host_task(), "bytes");
    add_row("6", "  sizeof(struct ht__nest), src/core.h, in it", (double)bench_sizeof_core_task(), "bytes");
    r = add_row("6", "  private committed per task, beyond a thread", median(running.committed), "bytes");
    r->spread = spread(running.committed);
    r = add_row("6", "  private committed per hosttask task", median(running.committed_ht), "bytes");
    row_reference(r, "per plain thread, running", median(running.committed_win), NAN, NULL);
    add_row("6", "  kernel handles per task, beyond a thread", median(running.handles), "handles");
    add_row("6", "  heap still held per task after Release", median(running.leak), "bytes");
    VirtualFree(buffers, 0, MEM_RELEASE);
    ht_handle_buffer_free();
    free(ht);
    free(win);
}

/* Whether --only selected this part (every part without --only). */
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
