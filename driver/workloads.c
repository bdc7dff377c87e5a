/*
 * The simulated runtime's "managed code": static int Method(string) of the
 * type HostTask.Simulated.Workloads, run by ExecuteInDefaultAppDomain.
 *
 * Each workload is what a small C# program would do, written against the
 * driver's managed operations: [DllImport]s into real Win32 and CRT
 * functions (bound by LoadLibrary/GetProcAddress, as NDirect binding does),
 * native functions that call back into managed code, Thread.Start, Join,
 * Sleep, Interrupt and thread-affinity regions.  The driver records every
 * host call, so what a workload did is known exactly; the return value is
 * the number of things that did not go as a correct host makes them go.
 */
#include "driver_private.h"

#include <objbase.h>
#include <stdlib.h>
#include <string.h>

/* ---- [DllImport] declarations ---- */

struct dllimport
{
    const WCHAR *dll;
    const char *entry;
    SIZE_T address;
};

enum
{
    IMP_GETTICKCOUNT, IMP_GETCURRENTTHREADID, IMP_QUERYPERFORMANCECOUNTER, IMP_SLEEP, IMP_SETEVENT,
    IMP_ENUMSYSTEMLOCALESEX, IMP_GETLOCALEINFOEX, IMP_QSORT, IMP_COUNT
};

static struct dllimport imports[IMP_COUNT] =
{
    { L"kernel32.dll", "GetTickCount", 0 },
    { L"kernel32.dll", "GetCurrentThreadId", 0 },
    { L"kernel32.dll", "QueryPerformanceCounter", 0 },
    { L"kernel32.dll", "Sleep", 0 },
    { L"kernel32.dll", "SetEvent", 0 },
    { L"kernel32.dll", "EnumSystemLocalesEx", 0 },
    { L"kernel32.dll", "GetLocaleInfoEx", 0 },
    { L"msvcrt.dll", "qsort", 0 },
};

/* NDirect binding: the target is whatever GetProcAddress gives (a
 * forwarded export resolves into the module that implements it). */
static HRESULT bind_imports(void)
{
    HMODULE module;
    int i;

    for (i = 0; i < IMP_COUNT; i++)
    {
        if (imports[i].address)
            continue;
        if (!(module = LoadLibraryW(imports[i].dll)))
            return HRESULT_FROM_WIN32(GetLastError());
        if (!(imports[i].address = (SIZE_T)GetProcAddress(module, imports[i].entry)))
            return COR_E_MISSINGMETHOD;
    }
    return S_OK;
}

#define CALL(imp, type) ((type)(void (*)(void))imports[imp].address)

static HRESULT pinvoke(struct htd_thread *self, int imp, htd_native_stub stub, void *ctx, ULONG_PTR *result)
{
    return htd_pinvoke(self, imports[imp].address, imports[imp].entry, stub, ctx, result);
}

static ULONG_PTR stub_GetTickCount(void *ctx)
{
    return CALL(IMP_GETTICKCOUNT, DWORD (WINAPI *)(void))();
}

static ULONG_PTR stub_GetCurrentThreadId(void *ctx)
{
    return CALL(IMP_GETCURRENTTHREADID, DWORD (WINAPI *)(void))();
}

static ULONG_PTR stub_QueryPerformanceCounter(void *ctx)
{
    return CALL(IMP_QUERYPERFORMANCECOUNTER, BOOL (WINAPI *)(LARGE_INTEGER *))(ctx);
}

static ULONG_PTR stub_Sleep(void *ctx)
{
    CALL(IMP_SLEEP, void (WINAPI *)(DWORD))((DWORD)(ULONG_PTR)ctx);
    return 0;
}

static ULONG_PTR stub_SetEvent(void *ctx)
{
    return CALL(IMP_SETEVENT, BOOL (WINAPI *)(HANDLE))(ctx);
}

struct locale_ctx
{
    int limit, seen;
    HRESULT hr;
    WCHAR name[LOCALE_NAME_MAX_LENGTH];
};

struct locale_info_args
{
    const WCHAR *name;
    WCHAR buffer[128];
};

static ULONG_PTR stub_GetLocaleInfoEx(void *ctx)
{
    struct locale_info_args *args = ctx;

    return CALL(IMP_GETLOCALEINFOEX, int (WINAPI *)(LPCWSTR, LCTYPE, LPWSTR, int))(args->name,
            LOCALE_SENGLISHLANGUAGENAME, args->buffer, ARRAYSIZE(args->buffer));
}

/* The managed delegate EnumSystemLocalesEx calls back: a callback inside
 * a P/Invoke, with a P/Invoke of its own inside. */
static HRESULT managed_locale(struct htd_thread *self, void *arg)
{
    struct locale_ctx *ctx = arg;
    struct locale_info_args info = { .name = ctx->name };

    ctx->seen++;
    return pinvoke(self, IMP_GETLOCALEINFOEX, stub_GetLocaleInfoEx, &info, NULL);
}

/* The reverse P/Invoke thunk the CLR makes for that delegate. */
static BOOL CALLBACK locale_thunk(LPWSTR name, DWORD flags, LPARAM param)
{
    struct locale_ctx *ctx = (struct locale_ctx *)param;
    struct htd_thread *self = htd__current_thread();

    lstrcpynW(ctx->name, name, ARRAYSIZE(ctx->name));
    if (FAILED(ctx->hr = htd_reverse_call(self->runtime, managed_locale, ctx)))
        return FALSE;
    return ctx->seen < ctx->limit;
}

static ULONG_PTR stub_EnumSystemLocalesEx(void *ctx)
{
    return CALL(IMP_ENUMSYSTEMLOCALESEX, BOOL (WINAPI *)(LOCALE_ENUMPROCEX, DWORD, LPARAM, LPVOID))(
            locale_thunk, LOCALE_ALL, (LPARAM)ctx, NULL);
}

/* EnumSystemLocalesEx with a delegate that stops after limit locales. */
static HRESULT enum_locales(struct htd_thread *self, int limit)
{
    struct locale_ctx ctx = { .limit = limit };
    HRESULT hr;

    if (FAILED(hr = pinvoke(self, IMP_ENUMSYSTEMLOCALESEX, stub_EnumSystemLocalesEx, &ctx, NULL)))
        return hr;
    return ctx.hr;
}

/* qsort with a managed comparison delegate: each comparison is a reverse
 * P/Invoke on the calling thread. */
struct compare_ctx
{
    const void *a, *b;
    int result;
};

static HRESULT managed_compare(struct htd_thread *self, void *arg)
{
    struct compare_ctx *ctx = arg;
    int a = *(const int *)ctx->a, b = *(const int *)ctx->b;

    ctx->result = (a > b) - (a < b);
    return S_OK;
}

static int __cdecl compare_thunk(const void *a, const void *b)
{
    struct compare_ctx ctx = { a, b, 0 };
    struct htd_thread *self = htd__current_thread();

    /* A native caller cannot take an exception: a failed transition
     * compares equal, and the driver has recorded the fault. */
    if (FAILED(htd_reverse_call(self->runtime, managed_compare, &ctx)))
        return 0;
    return ctx.result;
}

struct sort_args
{
    int *values;
    size_t count;
};

static ULONG_PTR stub_qsort(void *ctx)
{
    struct sort_args *args = ctx;

    CALL(IMP_QSORT, void (__cdecl *)(void *, size_t, size_t, int (__cdecl *)(const void *, const void *)))(
            args->values, args->count, sizeof(int), compare_thunk);
    return 0;
}

static HRESULT sort_numbers(struct htd_thread *self, int count, int *failures)
{
    int values[64], i;
    struct sort_args args = { values, (size_t)count };
    HRESULT hr;

    if (count > (int)ARRAYSIZE(values))
        count = ARRAYSIZE(values);
    for (i = 0; i < count; i++)
        values[i] = (i * 37 + 11) % count;
    if (FAILED(hr = pinvoke(self, IMP_QSORT, stub_qsort, &args, NULL)))
        return hr;
    for (i = 1; i < count; i++)
        if (values[i - 1] > values[i])
        {
            (*failures)++;
            break;
        }
    return S_OK;
}

/* ---- A native library function that calls back from its own thread ---- */

struct native_thread_args
{
    struct htd_runtime *runtime;
    int callbacks;
    HRESULT hr;
};

static HRESULT managed_native_callback(struct htd_thread *self, void *arg)
{
    /* Managed work on a thread born in native code: one P/Invoke. */
    return pinvoke(self, IMP_GETCURRENTTHREADID, stub_GetCurrentThreadId, NULL, NULL);
}

static DWORD WINAPI native_thread(void *arg)
{
    struct native_thread_args *args = arg;
    int i;

    /* The native library calls its registered managed callback several
     * times from a thread of its own. */
    for (i = 0; i < args->callbacks; i++)
        if (FAILED(args->hr = htd_reverse_call(args->runtime, managed_native_callback, NULL)))
            break;
    return 0;
}

/* Not exported: the report shows it as module+offset. */
static ULONG_PTR __attribute__((noinline)) native_run_callback_thread(void *arg)
{
    HANDLE thread = CreateThread(NULL, 0, native_thread, arg, 0, NULL);

    if (!thread)
        return FALSE;
    WaitForSingleObject(thread, INFINITE);
    CloseHandle(thread);
    return TRUE;
}

static HRESULT run_native_thread(struct htd_thread *self, int callbacks, int *failures)
{
    struct native_thread_args args = { self->runtime, callbacks, S_OK };
    ULONG_PTR ok = FALSE;
    HRESULT hr;

    if (FAILED(hr = htd_pinvoke(self, (SIZE_T)native_run_callback_thread, "native_run_callback_thread",
            native_run_callback_thread, &args, &ok)))
        return hr;
    if (!ok)
        (*failures)++;
    return args.hr;
}

/* ---- Workload pieces ---- */

static int parse_scale(const WCHAR *argument, int fallback, int max)
{
    int value;

    if (!argument || !*argument)
        return fallback;
    value = _wtoi(argument);
    if (value < 1)
        return fallback;
    return value > max ? max : value;
}

struct worker_args
{
    int index, scale;
    int failures;
};

static HRESULT pinvoke_loop(struct htd_thread *self, int count)
{
    LARGE_INTEGER counter;
    HRESULT hr;
    int i;

    for (i = 0; i < count; i++)
    {
        if (FAILED(hr = pinvoke(self, IMP_GETTICKCOUNT, stub_GetTickCount, NULL, NULL)))
            return hr;
        if (i % 2 == 0 && FAILED(hr = pinvoke(self, IMP_GETCURRENTTHREADID, stub_GetCurrentThreadId, NULL, NULL)))
            return hr;
        if (i % 4 == 0 && FAILED(hr = pinvoke(self, IMP_QUERYPERFORMANCECOUNTER, stub_QueryPerformanceCounter,
                &counter, NULL)))
            return hr;
        /* The loop's back-edge. */
        htd_safe_point(self);
    }
    return S_OK;
}

/* A compute thread: P/Invokes, callbacks, a blocking native call, nested
 * affinity, and two Thread.Sleep(1). */
static HRESULT worker_body(struct htd_thread *self, void *arg)
{
    struct worker_args *args = arg;
    HRESULT hr;
    int i;

    if (FAILED(hr = pinvoke_loop(self, 1000 * args->index * args->scale)))
        return hr;
    if (FAILED(hr = enum_locales(self, 4 * args->index)))
        return hr;
    if (FAILED(hr = sort_numbers(self, 16 + 8 * args->index, &args->failures)))
        return hr;
    /* A region that must stay on this OS thread, nested. */
    htd_begin_affinity(self);
    htd_begin_affinity(self);
    for (i = 0; i < args->index; i++)
        if (FAILED(hr = pinvoke(self, IMP_SLEEP, stub_Sleep, (void *)(ULONG_PTR)2, NULL)))
            break;
    htd_end_affinity(self);
    htd_end_affinity(self);
    if (FAILED(hr))
        return hr;
    for (i = 0; i < 2; i++)
        if (FAILED(hr = htd_thread_sleep(self, 1)))
            return hr;
    return S_OK;
}

struct sleeper_args
{
    DWORD milliseconds;
    BOOL interrupted;
};

/* try { Thread.Sleep(ms); } catch (ThreadInterruptedException) { ... } */
static HRESULT sleeper_body(struct htd_thread *self, void *arg)
{
    struct sleeper_args *args = arg;
    HRESULT hr = htd_thread_sleep(self, args->milliseconds);

    if (hr == COR_E_THREADINTERRUPTED)
    {
        htd_caught(self, hr);
        args->interrupted = TRUE;
        return S_OK;
    }
    return hr;
}

struct blocker_args
{
    HANDLE event;
    BOOL signaled;
};

/* WaitHandle.WaitOne() on an event the main thread sets. */
static HRESULT blocker_body(struct htd_thread *self, void *arg)
{
    struct blocker_args *args = arg;

    return htd_wait_handle(self, args->event, 30000, &args->signaled);
}

struct joiner_args
{
    struct htd_thread *target;
    BOOL interrupted, joined;
};

/* try { target.Join(); } catch (ThreadInterruptedException) { ... } */
static HRESULT joiner_body(struct htd_thread *self, void *arg)
{
    struct joiner_args *args = arg;
    HRESULT hr = htd_thread_join(self, args->target, INFINITE, &args->joined);

    if (hr == COR_E_THREADINTERRUPTED)
    {
        htd_caught(self, hr);
        args->interrupted = TRUE;
        return S_OK;
    }
    return hr;
}

/* Waits (yielding, like SpinWait) until thread blocks interruptibly. */
static void wait_until_blocked(struct htd_thread *self, struct htd_thread *thread)
{
    while (!htd_thread_in_wait(thread) && !thread->rec.end_ms)
        htd_thread_yield(self);
}

static HRESULT join(struct htd_thread *self, struct htd_thread *thread, int *failures)
{
    BOOL joined;
    HRESULT hr;

    if (!thread)
        return S_OK;
    if (FAILED(hr = htd_thread_join(self, thread, INFINITE, &joined)))
        return hr;
    if (!joined)
        (*failures)++;
    return S_OK;
}

/* Thread.Sleep + Thread.Interrupt and Join + Thread.Interrupt, and a
 * Join(0) that times out. */
static HRESULT interrupt_scenario(struct htd_thread *self, int *failures)
{
    struct sleeper_args sleeper_args = { 5000, FALSE };
    struct blocker_args blocker_args = { NULL, FALSE };
    struct joiner_args joiner_args = { NULL, FALSE, FALSE };
    struct htd_thread *sleeper = NULL, *blocker = NULL, *joiner = NULL;
    BOOL joined = TRUE;
    HRESULT hr;

    if (!(blocker_args.event = CreateEventW(NULL, TRUE, FALSE, NULL)))
        return HRESULT_FROM_WIN32(GetLastError());
    if (FAILED(hr = htd_thread_start(self, "sleeper", sleeper_body, &sleeper_args, &sleeper)))
        goto done;
    if (FAILED(hr = htd_thread_start(self, "blocker", blocker_body, &blocker_args, &blocker)))
        goto done;
    joiner_args.target = blocker;
    if (FAILED(hr = htd_thread_start(self, "joiner", joiner_body, &joiner_args, &joiner)))
        goto done;

    wait_until_blocked(self, sleeper);
    htd_thread_interrupt(self, sleeper);

    /* blocker.Join(0): still running, so false. */
    if (FAILED(hr = htd_thread_join(self, blocker, 0, &joined)))
        goto done;
    if (joined)
        (*failures)++;

    wait_until_blocked(self, joiner);
    htd_thread_interrupt(self, joiner);

    if (FAILED(hr = pinvoke(self, IMP_SETEVENT, stub_SetEvent, blocker_args.event, NULL)))
        goto done;

done:
    if (SUCCEEDED(hr))
    {
        if (FAILED(hr = join(self, sleeper, failures)) || FAILED(hr = join(self, joiner, failures))
                || FAILED(hr = join(self, blocker, failures)))
            goto out;
        if (!sleeper_args.interrupted)
            (*failures)++;
        if (!joiner_args.interrupted || joiner_args.joined)
            (*failures)++;
        if (!blocker_args.signaled)
            (*failures)++;
    }
out:
    CloseHandle(blocker_args.event);
    return hr;
}

/* ---- The workloads ---- */

#define WORKERS 3

static HRESULT start_workers(struct htd_thread *self, struct worker_args *args, struct htd_thread **threads,
        int count, int scale)
{
    char role[24];
    HRESULT hr;
    int i;

    for (i = 0; i < count; i++)
    {
        args[i].index = i + 1;
        args[i].scale = scale;
        args[i].failures = 0;
        snprintf(role, sizeof(role), "worker %d", i + 1);
        if (FAILED(hr = htd_thread_start(self, role, worker_body, &args[i], &threads[i])))
            return hr;
    }
    return S_OK;
}

static HRESULT join_workers(struct htd_thread *self, struct worker_args *args, struct htd_thread **threads,
        int count, int *failures)
{
    HRESULT hr = S_OK;
    int i;

    for (i = 0; i < count; i++)
    {
        if (FAILED(hr = join(self, threads[i], failures)))
            return hr;
        *failures += args[i].failures;
        if (threads[i] && FAILED(threads[i]->result))
            (*failures)++;
    }
    return hr;
}

static HRESULT run_default(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    struct htd_thread *workers[WORKERS] = { NULL };
    struct worker_args args[WORKERS];
    int failures = 0, scale = parse_scale(argument, 1, 1000);
    HRESULT hr;

    if (FAILED(hr = bind_imports()))
        return hr;
    htd_begin_affinity(self);
    htd_begin_affinity(self);
    hr = pinvoke_loop(self, 100);
    htd_end_affinity(self);
    htd_end_affinity(self);
    if (FAILED(hr))
        return hr;

    if (FAILED(hr = start_workers(self, args, workers, WORKERS, scale)))
        return hr;
    if (FAILED(hr = interrupt_scenario(self, &failures)))
        return hr;
    if (FAILED(hr = run_native_thread(self, 3, &failures)))
        return hr;
    if (FAILED(hr = enum_locales(self, 2)))
        return hr;
    if (FAILED(hr = join_workers(self, args, workers, WORKERS, &failures)))
        return hr;
    *ret = failures + (DWORD)self->runtime->fault_count;
    return S_OK;
}

static HRESULT run_pinvoke(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    int count = parse_scale(argument, 10000, 100000000);
    HRESULT hr;
    int i;

    if (FAILED(hr = bind_imports()))
        return hr;
    for (i = 0; i < count; i++)
        if (FAILED(hr = pinvoke(self, IMP_GETTICKCOUNT, stub_GetTickCount, NULL, NULL)))
            return hr;
    *ret = (DWORD)self->runtime->fault_count;
    return S_OK;
}

static HRESULT run_callbacks(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    int failures = 0, count = parse_scale(argument, 8, 64);
    HRESULT hr;

    if (FAILED(hr = bind_imports()))
        return hr;
    if (FAILED(hr = enum_locales(self, count)))
        return hr;
    if (FAILED(hr = sort_numbers(self, count, &failures)))
        return hr;
    if (FAILED(hr = run_native_thread(self, count, &failures)))
        return hr;
    *ret = failures + (DWORD)self->runtime->fault_count;
    return S_OK;
}

static HRESULT run_threads(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    struct htd_thread *workers[WORKERS] = { NULL };
    struct worker_args args[WORKERS];
    int failures = 0, scale = parse_scale(argument, 1, 1000);
    HRESULT hr;

    if (FAILED(hr = bind_imports()))
        return hr;
    if (FAILED(hr = start_workers(self, args, workers, WORKERS, scale)))
        return hr;
    if (FAILED(hr = join_workers(self, args, workers, WORKERS, &failures)))
        return hr;
    *ret = failures + (DWORD)self->runtime->fault_count;
    return S_OK;
}

/* ---- Pure computation: the runaways a cooperative host must catch ---- */

struct cruncher_args
{
    DWORD milliseconds;         /* of computation, not counting time spent yielded */
    BOOL polite;                /* Thread.Yield() after each millisecond of it */
    UINT64 value;
};

/* for (...) { x = f(x); } with no P/Invoke, no allocation, no wait: the
 * code SQL Server's scheduler must force to yield (docs/scheduler.md).  The
 * clock that bounds it is the simulation's own, not a P/Invoke the
 * managed code makes. */
static HRESULT cruncher_body(struct htd_thread *self, void *arg)
{
    struct cruncher_args *args = arg;
    LARGE_INTEGER frequency, start, now;
    LONGLONG budget, worked = 0, since_yield = 0;
    UINT64 x = args->value | 1;
    int i;

    QueryPerformanceFrequency(&frequency);
    budget = frequency.QuadPart * args->milliseconds / 1000;
    while (worked < budget)
    {
        QueryPerformanceCounter(&start);
        for (i = 0; i < 4096; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        QueryPerformanceCounter(&now);
        worked += now.QuadPart - start.QuadPart;
        since_yield += now.QuadPart - start.QuadPart;
        /* The loop's back-edge: the JIT's GC poll, where a yield the host
         * asked for (YieldTask) is made. */
        htd_safe_point(self);
        if (args->polite && since_yield >= frequency.QuadPart / 1000)
        {
            since_yield = 0;
            htd_thread_yield(self);
        }
    }
    args->value = x;
    return S_OK;
}

struct native_caller_args
{
    int calls;
    DWORD milliseconds;
};

/* Blocking native calls: Sleep(ms) as a P/Invoke, calls times. */
static HRESULT native_caller_body(struct htd_thread *self, void *arg)
{
    struct native_caller_args *args = arg;
    HRESULT hr;
    int i;

    for (i = 0; i < args->calls; i++)
        if (FAILED(hr = pinvoke(self, IMP_SLEEP, stub_Sleep, (void *)(ULONG_PTR)args->milliseconds, NULL)))
            return hr;
    return S_OK;
}

#define CRUNCHERS 3
#define NATIVE_CALLERS 2

static HRESULT run_cpu(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    struct cruncher_args crunch[CRUNCHERS + 1];
    struct native_caller_args native = { 10, 2 };
    struct htd_thread *threads[CRUNCHERS + 1 + NATIVE_CALLERS] = { NULL };
    int failures = 0, milliseconds = parse_scale(argument, 40, 10000), i;
    char role[24];
    HRESULT hr;
    BOOL joined;

    if (FAILED(hr = bind_imports()))
        return hr;
    for (i = 0; i <= CRUNCHERS; i++)
    {
        crunch[i].milliseconds = milliseconds;
        crunch[i].polite = i == CRUNCHERS;
        crunch[i].value = 0x9e3779b97f4a7c15ull * (i + 1);
        if (i < CRUNCHERS)
            snprintf(role, sizeof(role), "cruncher %d", i + 1);
        else
            snprintf(role, sizeof(role), "yielder");
        if (FAILED(hr = htd_thread_start(self, role, cruncher_body, &crunch[i], &threads[i])))
            return hr;
    }
    for (i = 0; i < NATIVE_CALLERS; i++)
    {
        snprintf(role, sizeof(role), "native caller %d", i + 1);
        if (FAILED(hr = htd_thread_start(self, role, native_caller_body, &native,
                &threads[CRUNCHERS + 1 + i])))
            return hr;
    }
    for (i = 0; i < (int)ARRAYSIZE(threads); i++)
    {
        if (FAILED(hr = htd_thread_join(self, threads[i], INFINITE, &joined)))
            return hr;
        if (!joined || FAILED(threads[i]->result))
            failures++;
    }
    for (i = 0; i <= CRUNCHERS; i++)
        if (crunch[i].value == 0)
            failures++;
    *ret = failures + (DWORD)self->runtime->fault_count;
    return S_OK;
}

/* ---- Contention: managed locks, the CLR's own locks, GC ---- */

struct contention
{
    struct htd_monitor monitor;     /* lock (shared) { ... } */
    struct htd_crst crst;           /* a CLR-internal lock (say, a class loader's) */
    LONG shared, internal;
    int rounds;
};

struct contender_args
{
    struct contention *c;
    BOOL collector;                 /* calls GC.Collect() every other round */
};

/* lock (obj) { n = shared; Sleep(1) as a P/Invoke; shared = n + 1; }, then
 * the CLR's own work under one of its locks (a millisecond in the OS with
 * no LeaveRuntime: the runtime does not announce it), and, on the
 * collector, a GC. */
static HRESULT contender_body(struct htd_thread *self, void *arg)
{
    struct contender_args *args = arg;
    struct contention *c = args->c;
    HRESULT hr;
    LONG n;
    int i;

    for (i = 0; i < c->rounds; i++)
    {
        if (FAILED(hr = htd_monitor_enter(self, &c->monitor)))
            return hr;
        n = c->shared;
        hr = pinvoke(self, IMP_SLEEP, stub_Sleep, (void *)(ULONG_PTR)1, NULL);
        c->shared = n + 1;
        htd_monitor_exit(self, &c->monitor);
        if (FAILED(hr))
            return hr;

        htd_crst_enter(self, &c->crst);
        n = c->internal;
        Sleep(1);
        c->internal = n + 1;
        htd_crst_leave(self, &c->crst);

        if (args->collector && i % 2 == 0 && FAILED(hr = htd_gc_collect(self)))
            return hr;
        htd_safe_point(self);
    }
    return S_OK;
}

struct waiter_args
{
    HANDLE event;
    BOOL interrupted, signaled;
};

/* try { event.WaitOne(); } catch (ThreadInterruptedException) { ... } */
static HRESULT waiter_body(struct htd_thread *self, void *arg)
{
    struct waiter_args *args = arg;
    HRESULT hr = htd_wait_handle(self, args->event, 30000, &args->signaled);

    if (hr == COR_E_THREADINTERRUPTED)
    {
        htd_caught(self, hr);
        args->interrupted = TRUE;
        return S_OK;
    }
    return hr;
}

static ULONG_PTR stub_stream_write(void *ctx)
{
    IStream *stream = ctx;
    ULONG written = 0;
    DWORD value = 42;

    return SUCCEEDED(IStream_Write(stream, &value, sizeof(value), &written)) && written == sizeof(value);
}

static ULONG_PTR __attribute__((noinline)) qcall_tick(void *ctx)
{
    return (ULONG_PTR)GetTickCount64();
}

static ULONG_PTR stub_calli(void *ctx)
{
    return ((DWORD (WINAPI *)(void))ctx)();
}

/* The other ways out of managed code: a COM method through an RCW, a
 * QCall, an unmanaged calli; and the two kinds of self-join:
 * Thread.CurrentThread.Join(50) (managed: WAIT_ALERTABLE), which must
 * time out, and the CLR's abort-poll self-join Join(10, TRUE)
 * (WAIT_NOTINDEADLOCK | WAIT_ALERTABLE). */
static HRESULT other_calls(struct htd_thread *self, int *failures)
{
    FARPROC pid = GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "GetCurrentProcessId");
    IStream *stream = NULL;
    ULONG_PTR value = 0;
    BOOL joined = TRUE;
    HRESULT hr;

    if (FAILED(hr = CreateStreamOnHGlobal(NULL, TRUE, &stream)))
        return hr;
    hr = htd_com_call(self, (SIZE_T)stream->lpVtbl->Write, "IStream::Write", stub_stream_write, stream, &value);
    IStream_Release(stream);
    if (FAILED(hr))
        return hr;
    if (!value)
        (*failures)++;
    if (FAILED(hr = htd_qcall(self, (SIZE_T)qcall_tick, "qcall_tick", qcall_tick, NULL, &value)))
        return hr;
    if (FAILED(hr = htd_calli(self, (SIZE_T)pid, "calli GetCurrentProcessId", stub_calli, (void *)pid, &value)))
        return hr;
    if (value != GetCurrentProcessId())
        (*failures)++;
    if (FAILED(hr = htd_thread_join(self, self, 50, &joined)))
        return hr;
    if (joined)
        (*failures)++;
    joined = TRUE;
    if (FAILED(hr = htd_internal_join(self, self, 10, TRUE, &joined)))
        return hr;
    if (joined)
        (*failures)++;
    return S_OK;
}

#define CONTENDERS 3

static HRESULT run_contention(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    struct contender_args args[CONTENDERS];
    struct htd_thread *threads[CONTENDERS] = { NULL }, *waiter = NULL;
    struct waiter_args waiter_args = { NULL, FALSE, FALSE };
    struct contention c;
    int failures = 0, i;
    char role[24];
    HRESULT hr;
    BOOL joined;

    if (FAILED(hr = bind_imports()))
        return hr;
    memset(&c, 0, sizeof(c));
    c.rounds = parse_scale(argument, 10, 1000);
    if (FAILED(hr = htd_monitor_init(&c.monitor)))
        return hr;
    htd_crst_init(&c.crst, "contention");
    if (!(waiter_args.event = CreateEventW(NULL, TRUE, FALSE, NULL)))
    {
        hr = HRESULT_FROM_WIN32(GetLastError());
        goto done;
    }
    if (FAILED(hr = htd_thread_start(self, "waiter", waiter_body, &waiter_args, &waiter)))
        goto done;
    for (i = 0; i < CONTENDERS; i++)
    {
        args[i].c = &c;
        args[i].collector = i == 0;
        snprintf(role, sizeof(role), "contender %d", i + 1);
        if (FAILED(hr = htd_thread_start(self, role, contender_body, &args[i], &threads[i])))
            goto done;
    }
    if (FAILED(hr = other_calls(self, &failures)))
        goto done;
    /* Thread.Interrupt of a thread in WaitHandle.WaitOne: an APC. */
    wait_until_blocked(self, waiter);
    htd_thread_interrupt(self, waiter);
    for (i = 0; i < CONTENDERS; i++)
    {
        if (FAILED(hr = htd_thread_join(self, threads[i], INFINITE, &joined)))
            goto done;
        if (!joined || FAILED(threads[i]->result))
            failures++;
    }
    if (FAILED(hr = htd_thread_join(self, waiter, INFINITE, &joined)))
        goto done;
    if (!joined || !waiter_args.interrupted || waiter_args.signaled)
        failures++;
    if (c.shared != CONTENDERS * c.rounds || c.internal != CONTENDERS * c.rounds)
        failures++;
    if (!self->runtime->gcs)
        failures++;
    *ret = failures + (DWORD)self->runtime->fault_count;
done:
    if (waiter_args.event)
        CloseHandle(waiter_args.event);
    htd_crst_delete(&c.crst);
    htd_monitor_delete(&c.monitor);
    return hr;
}

static HRESULT run_interrupt(struct htd_thread *self, const WCHAR *argument, DWORD *ret)
{
    int failures = 0;
    HRESULT hr;

    if (FAILED(hr = bind_imports()))
        return hr;
    if (FAILED(hr = interrupt_scenario(self, &failures)))
        return hr;
    *ret = failures + (DWORD)self->runtime->fault_count;
    return S_OK;
}

const struct htd_workload htd_workloads[] =
{
    { L"Default", "default", "3 worker threads (P/Invokes, locale and qsort callbacks, blocking native "
            "calls, nested affinity, sleeps), Sleep/Join interrupted by Thread.Interrupt, a timed-out "
            "Join, a native-born thread calling back; the runtime's finalizer and AD-unload helper", run_default },
    { L"PInvoke", "pinvoke", "ARGUMENT (default 10000) P/Invokes of GetTickCount on the calling thread",
            run_pinvoke },
    { L"Callbacks", "callbacks", "native code calling managed code: EnumSystemLocalesEx, qsort, and a "
            "native-born thread", run_callbacks },
    { L"Threads", "threads", "3 worker threads started through CreateTask and joined", run_threads },
    { L"Interrupt", "interrupt", "Thread.Sleep and Thread.Join ended by Thread.Interrupt, a Join(0) that "
            "times out", run_interrupt },
    { L"Cpu", "cpu", "3 threads computing ARGUMENT (default 40) ms each with no P/Invoke (runaways for a "
            "cooperative scheduler), one computing as long but calling Thread.Yield every ms, 2 threads "
            "making 10 blocking native calls (Sleep(2)) each", run_cpu },
    { L"Contention", "contention", "3 threads contending ARGUMENT (default 10) rounds each for a Monitor "
            "(held across a P/Invoke) and a CLR-internal lock (held across an unannounced OS wait), one "
            "of them calling GC.Collect() every other round; a WaitHandle wait ended by Thread.Interrupt "
            "(an APC); a COM call, a QCall, a calli; two timed self-joins", run_contention },
};
const unsigned int htd_workload_count = ARRAYSIZE(htd_workloads);

const struct htd_workload *htd_find_workload(const char *name)
{
    unsigned int i;

    for (i = 0; i < htd_workload_count; i++)
        if (!_stricmp(name, htd_workloads[i].name))
            return &htd_workloads[i];
    return NULL;
}
