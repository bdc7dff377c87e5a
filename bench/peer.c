/*
 * bench_peer.dll: the reference objects the benchmark measures hosttask
 * against.  They live in a DLL of their own so that every call the
 * benchmark makes crosses a module boundary through a vtable, exactly as a
 * call into hosttask.dll does.  Both objects implement the whole
 * IHostTaskManager vtable, so the benchmark's timing loops are one and the
 * same code for hosttask, the floor and the baseline.
 *
 * The floor: every method empty.  It is the cost of the call itself.
 *
 * The baseline: tasks tracked the way the public IHostTaskManager
 * implementations track them (C++ thread-per-task wrappers; see
 * docs/contract.md §6): a map from thread id
 * to task, behind one process-wide CRITICAL_SECTION, looked up on every
 * transition.  The map here is a hash table, which is faster than the
 * std::map those hosts use, so the baseline errs on the fast side.
 */
#define COBJMACROS
#include <windows.h>
#include <corerror.h>

#include "mscoree_tasks.h"
#include "peer.h"

/* ---- The floor ---- */

static HRESULT STDMETHODCALLTYPE floor_QueryInterface(IHostTaskManager *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    return E_NOINTERFACE;
}

/* Static objects: reference counts do not apply. */
static ULONG STDMETHODCALLTYPE floor_AddRef(IHostTaskManager *iface)
{
    return 2;
}

static ULONG STDMETHODCALLTYPE floor_Release(IHostTaskManager *iface)
{
    return 1;
}

static HRESULT STDMETHODCALLTYPE floor_GetCurrentTask(IHostTaskManager *iface, IHostTask **out)
{
    *out = NULL;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_CreateTask(IHostTaskManager *iface, DWORD stack_size,
        LPTHREAD_START_ROUTINE start, void *param, IHostTask **out)
{
    *out = NULL;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_Sleep(IHostTaskManager *iface, DWORD milliseconds, DWORD option)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_SwitchToTask(IHostTaskManager *iface, DWORD option)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_SetUILocale(IHostTaskManager *iface, LCID lcid)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_SetLocale(IHostTaskManager *iface, LCID lcid)
{
    return E_NOTIMPL;
}

/* Writes its out-parameter, as any implementation of this method must:
 * the caller reads it after every call. */
static HRESULT STDMETHODCALLTYPE floor_CallNeedsHostHook(IHostTaskManager *iface, SIZE_T target,
        BOOL *needs_hook)
{
    *needs_hook = TRUE;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE floor_LeaveRuntime(IHostTaskManager *iface, SIZE_T target)
{
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE floor_EnterRuntime(IHostTaskManager *iface)
{
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE floor_ReverseLeaveRuntime(IHostTaskManager *iface)
{
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE floor_ReverseEnterRuntime(IHostTaskManager *iface)
{
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE floor_BeginDelayAbort(IHostTaskManager *iface)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_EndDelayAbort(IHostTaskManager *iface)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_BeginThreadAffinity(IHostTaskManager *iface)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_EndThreadAffinity(IHostTaskManager *iface)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_SetStackGuarantee(IHostTaskManager *iface, ULONG guarantee)
{
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_GetStackGuarantee(IHostTaskManager *iface, ULONG *guarantee)
{
    *guarantee = 0;
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE floor_SetCLRTaskManager(IHostTaskManager *iface, ICLRTaskManager *manager)
{
    return E_NOTIMPL;
}

static const IHostTaskManagerVtbl floor_vtbl =
{
    floor_QueryInterface,
    floor_AddRef,
    floor_Release,
    floor_GetCurrentTask,
    floor_CreateTask,
    floor_Sleep,
    floor_SwitchToTask,
    floor_SetUILocale,
    floor_SetLocale,
    floor_CallNeedsHostHook,
    floor_LeaveRuntime,
    floor_EnterRuntime,
    floor_ReverseLeaveRuntime,
    floor_ReverseEnterRuntime,
    floor_BeginDelayAbort,
    floor_EndDelayAbort,
    floor_BeginThreadAffinity,
    floor_EndThreadAffinity,
    floor_SetStackGuarantee,
    floor_GetStackGuarantee,
    floor_SetCLRTaskManager,
};

static IHostTaskManager floor_object = { &floor_vtbl };

/* ---- The baseline ---- */

struct baseline_task
{
    struct baseline_task *next;     /* in its bucket */
    DWORD thread_id;
    LONG64 leave_depth, reverse_depth;
    LONG64 transitions[4];
};

#define BUCKETS 256

static CRITICAL_SECTION map_lock;
static struct baseline_task *buckets[BUCKETS];

/* The caller holds map_lock.  Adopts the thread on first use, as
 * GetCurrentTask-on-demand hosts do; NULL only when memory ran out. */
static struct baseline_task *find_task(DWORD thread_id)
{
    struct baseline_task **bucket = &buckets[(thread_id >> 2) % BUCKETS], *task;

    for (task = *bucket; task; task = task->next)
        if (task->thread_id == thread_id)
            return task;
    if (!(task = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*task))))
        return NULL;
    task->thread_id = thread_id;
    task->next = *bucket;
    *bucket = task;
    return task;
}

/* Inlined into each method with constant arguments, as hand-written
 * methods would be. */
static inline HRESULT transition(int what, int reverse, int delta)
{
    struct baseline_task *task;
    HRESULT hr = S_OK;

    EnterCriticalSection(&map_lock);
    if ((task = find_task(GetCurrentThreadId())))
    {
        if (reverse)
            task->reverse_depth += delta;
        else
            task->leave_depth += delta;
        task->transitions[what]++;
    }
    else
        hr = E_OUTOFMEMORY;
    LeaveCriticalSection(&map_lock);
    return hr;
}

static HRESULT STDMETHODCALLTYPE baseline_LeaveRuntime(IHostTaskManager *iface, SIZE_T target)
{
    return transition(0, 0, 1);
}

static HRESULT STDMETHODCALLTYPE baseline_EnterRuntime(IHostTaskManager *iface)
{
    return transition(1, 0, -1);
}

static HRESULT STDMETHODCALLTYPE baseline_ReverseEnterRuntime(IHostTaskManager *iface)
{
    return transition(2, 1, 1);
}

static HRESULT STDMETHODCALLTYPE baseline_ReverseLeaveRuntime(IHostTaskManager *iface)
{
    return transition(3, 1, -1);
}

static const IHostTaskManagerVtbl baseline_vtbl =
{
    floor_QueryInterface,
    floor_AddRef,
    floor_Release,
    floor_GetCurrentTask,
    floor_CreateTask,
    floor_Sleep,
    floor_SwitchToTask,
    floor_SetUILocale,
    floor_SetLocale,
    floor_CallNeedsHostHook,
    baseline_LeaveRuntime,
    baseline_EnterRuntime,
    baseline_ReverseLeaveRuntime,
    baseline_ReverseEnterRuntime,
    floor_BeginDelayAbort,
    floor_EndDelayAbort,
    floor_BeginThreadAffinity,
    floor_EndThreadAffinity,
    floor_SetStackGuarantee,
    floor_GetStackGuarantee,
    floor_SetCLRTaskManager,
};

static IHostTaskManager baseline_object = { &baseline_vtbl };

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    if (reason == DLL_PROCESS_ATTACH)
    {
        InitializeCriticalSection(&map_lock);
        /* Nothing here needs per-thread notifications; without them the
         * thread lifecycle figures carry no cost of this DLL's. */
        DisableThreadLibraryCalls(instance);
    }
    return TRUE;
}

IHostTaskManager *bench_peer_floor(void)
{
    return &floor_object;
}

IHostTaskManager *bench_peer_baseline(void)
{
    return &baseline_object;
}
