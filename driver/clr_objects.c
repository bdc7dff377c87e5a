/*
 * The CLR's side of a managed thread, faked: ICLRTaskManager and
 * ICLRTask2.  They behave as the CLR's objects do (dotnet/coreclr@ef1e2ab3
 * src/vm/corhost.cpp (CCLRTaskManager), src/vm/threads.cpp (Thread's
 * ICLRTask methods)), and keep real reference
 * counts and per-method call counts, so that tests see the host's
 * AddRef/Release discipline and every call it makes back into the CLR.
 */
#include "driver_private.h"

#include <string.h>

/* ---- ICLRTaskManager: the CLR's static s_CLRTaskManager ---- */

static struct htd_clr_manager manager;
static BOOL manager_static_quirk;

static HRESULT STDMETHODCALLTYPE manager_QueryInterface(ICLRTaskManager *iface, REFIID riid, void **out)
{
    InterlockedIncrement(&manager.calls[HTD_MGR_QUERYINTERFACE]);
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_ICLRTaskManager))
        return E_NOINTERFACE;
    *out = iface;
    ICLRTaskManager_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE manager_AddRef(ICLRTaskManager *iface)
{
    LONG refcount = InterlockedIncrement(&manager.refcount);

    /* The real object is static: its AddRef and Release return 1. */
    return manager_static_quirk ? 1 : (ULONG)refcount;
}

static ULONG STDMETHODCALLTYPE manager_Release(ICLRTaskManager *iface)
{
    LONG refcount = InterlockedDecrement(&manager.refcount);

    if (refcount < 1)
    {
        /* Never below the CLR's own reference: count the host's mistake. */
        InterlockedIncrement(&manager.refcount);
        InterlockedIncrement(&manager.over_released);
        refcount = 1;
    }
    return manager_static_quirk ? 1 : (ULONG)refcount;
}

static HRESULT STDMETHODCALLTYPE manager_CreateTask(ICLRTaskManager *iface, ICLRTask **task)
{
    struct htd_thread *thread;
    HRESULT hr;

    InterlockedIncrement(&manager.calls[HTD_MGR_CREATETASK]);
    if (!task)
        return E_POINTER;
    *task = NULL;
    /* Meant for a thread with no Thread yet: it sets up the calling thread,
     * which calls the host's GetCurrentTask and SetCLRTask re-entrantly.
     * On a thread that has one, a checked build asserts and
     * SetupThreadNoThrow returns that Thread, S_OK (src/vm/corhost.cpp
     * (CCLRTaskManager::CreateTask)). */
    if ((thread = htd__current_thread()))
    {
        htd__fault(thread->runtime, HTD_FAULT_ASSERT, S_OK, "ICLRTaskManager::CreateTask on a thread with a Thread");
        /* Handed out like a new one: no AddRef. */
        *task = (ICLRTask *)&thread->clr_task.ICLRTask2_iface;
        return S_OK;
    }
    if (!htd__active_runtime())
        return HOST_E_CLRNOTAVAILABLE;
    if (FAILED(hr = htd__attach_current(htd__active_runtime(), "CLR-created", &thread)))
        return hr;
    *task = (ICLRTask *)&thread->clr_task.ICLRTask2_iface;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE manager_GetCurrentTask(ICLRTaskManager *iface, ICLRTask **task)
{
    struct htd_thread *thread = htd__current_thread();

    InterlockedIncrement(&manager.calls[HTD_MGR_GETCURRENTTASK]);
    if (!task)
        return E_POINTER;
    /* The current Thread or NULL, S_OK, and no AddRef (src/vm/corhost.cpp
     * (CCLRTaskManager::GetCurrentTask)). */
    *task = thread ? (ICLRTask *)&thread->clr_task.ICLRTask2_iface : NULL;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE manager_SetUILocale(ICLRTaskManager *iface, LCID lcid)
{
    InterlockedIncrement(&manager.calls[HTD_MGR_SETUILOCALE]);
    return htd__current_thread() ? S_OK : HOST_E_INVALIDOPERATION;
}

static HRESULT STDMETHODCALLTYPE manager_SetLocale(ICLRTaskManager *iface, LCID lcid)
{
    InterlockedIncrement(&manager.calls[HTD_MGR_SETLOCALE]);
    return htd__current_thread() ? S_OK : HOST_E_INVALIDOPERATION;
}

static HRESULT STDMETHODCALLTYPE manager_GetCurrentTaskType(ICLRTaskManager *iface, ETaskType *type)
{
    InterlockedIncrement(&manager.calls[HTD_MGR_GETCURRENTTASKTYPE]);
    if (!type)
        return E_POINTER;
    /* Always S_OK: TT_USER for a thread with a Thread, TT_UNKNOWN otherwise. */
    *type = htd__current_thread() ? TT_USER : TT_UNKNOWN;
    return S_OK;
}

static const ICLRTaskManagerVtbl manager_vtbl =
{
    manager_QueryInterface,
    manager_AddRef,
    manager_Release,
    manager_CreateTask,
    manager_GetCurrentTask,
    manager_SetUILocale,
    manager_SetLocale,
    manager_GetCurrentTaskType,
};

struct htd_clr_manager *htd_clr_manager(void)
{
    return &manager;
}

void htd__clr_manager_init(BOOL static_quirk)
{
    /* One object for the process, like the CLR's; initialised once. */
    if (!manager.ICLRTaskManager_iface.lpVtbl)
    {
        manager.refcount = 1;
        manager.ICLRTaskManager_iface.lpVtbl = &manager_vtbl;
    }
    manager_static_quirk = static_quirk;
}

/* ---- ICLRTask2: the CLR's Thread ---- */

static inline struct htd_clr_task *impl_from_ICLRTask2(ICLRTask2 *iface)
{
    return CONTAINING_RECORD(iface, struct htd_clr_task, ICLRTask2_iface);
}

static HRESULT STDMETHODCALLTYPE clr_task_QueryInterface(ICLRTask2 *iface, REFIID riid, void **out)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_QUERYINTERFACE]);
    if (!out)
        return E_POINTER;
    *out = NULL;
    /* Only ICLRTask and ICLRTask2: the CLR's Thread refuses IID_IUnknown. */
    if (!IsEqualIID(riid, &IID_ICLRTask) && !IsEqualIID(riid, &IID_ICLRTask2))
        return E_NOINTERFACE;
    *out = iface;
    ICLRTask2_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE clr_task_AddRef(ICLRTask2 *iface)
{
    return InterlockedIncrement(&impl_from_ICLRTask2(iface)->refcount);
}

static ULONG STDMETHODCALLTYPE clr_task_Release(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);
    LONG refcount = InterlockedDecrement(&task->refcount);

    if (refcount < 1)
    {
        InterlockedIncrement(&task->refcount);
        InterlockedIncrement(&task->over_released);
        refcount = 1;
    }
    return refcount;
}

static HRESULT STDMETHODCALLTYPE clr_task_SwitchIn(ICLRTask2 *iface, HANDLE thread)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);
    struct htd_thread *current = htd__current_thread();

    InterlockedIncrement(&task->calls[HTD_TASK_SWITCHIN]);
    /* A Thread already bound here, other than this one. */
    if (current && current != task->thread)
        return HOST_E_INVALIDOPERATION;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_SwitchOut(ICLRTask2 *iface)
{
    InterlockedIncrement(&impl_from_ICLRTask2(iface)->calls[HTD_TASK_SWITCHOUT]);
    /* threads.cpp: fiber mode is gone, SwitchOut is not implemented. */
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE clr_task_GetMemStats(ICLRTask2 *iface, COR_GC_THREAD_STATS *stats)
{
    InterlockedIncrement(&impl_from_ICLRTask2(iface)->calls[HTD_TASK_GETMEMSTATS]);
    if (!stats)
        return E_POINTER;
    /* No GC here: nothing allocated, nothing promoted. */
    stats->PerThreadAllocation = 0;
    stats->Flags = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_Reset(ICLRTask2 *iface, BOOL full)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_RESET]);
    /* docs/contract.md §4 (threads.cpp Thread::Reset): E_FAIL before the runtime
     * started; own thread only, not for threads the CLR created. */
    if (!task->thread->runtime->started)
        return E_FAIL;
    if (htd__current_thread() != task->thread || task->thread->rec.created)
        return E_UNEXPECTED;
    /* Releases the IHostTask and unbinds the thread: the CLR asks
     * GetCurrentTask again the next time this thread runs managed code. */
    htd__thread_reset(task->thread);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_ExitTask(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_EXITTASK]);
    if (htd__current_thread() != task->thread)
        return HOST_E_INVALIDOPERATION;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_Abort(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_ABORT]);
    InterlockedExchange(&task->abort_requested, 1);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_RudeAbort(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_RUDEABORT]);
    InterlockedExchange(&task->abort_requested, 2);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_NeedsPriorityScheduling(ICLRTask2 *iface, BOOL *needs)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);
    struct htd_thread *thread = task->thread;

    InterlockedIncrement(&task->calls[HTD_TASK_NEEDSPRIORITYSCHEDULING]);
    if (!needs)
        return E_POINTER;
    /* TRUE in cooperative GC mode (running managed code) and on the
     * finalizer (src/vm/threads.cpp (Thread::NeedsPriorityScheduling)). */
    *needs = InterlockedCompareExchange(&thread->coop, 0, 0) || thread == thread->runtime->finalizer;
    return S_OK;
}

/* Called by a cooperative host, from another thread, for a task that has
 * held its slot past the quantum.  Thread::YieldTask (dotnet/coreclr@ef1e2ab3
 * src/vm/threads.cpp): HOST_E_INVALIDOPERATION for the calling thread's own
 * task, S_FALSE while a request is pending, S_OK for a thread not started
 * yet; otherwise it sets TS_YieldRequested, and the thread yields at its
 * next yield point (a GC poll: CommonTripThread, RareDisablePreemptiveGC,
 * or the redirection of a thread in JIT code, src/vm/threadsuspend.cpp
 * (CheckForAndDoRedirectForYieldTask)) by __SwitchToThread(0), which
 * clears the flag and calls IHostTaskManager::SwitchToTask(0)
 * (src/vm/hosting.cpp (__DangerousSwitchToThread)).  The real call
 * suspends the target and, for one in cooperative mode outside JIT code,
 * sleeps until it has yielded; the comment there: "YieldTask should not be
 * called from a managed thread, as it can lead to deadlocks".  The fake
 * never blocks: the driver's managed code is always "JIT code", which the
 * CLR redirects and returns.  See htd_safe_point(). */
static HRESULT STDMETHODCALLTYPE clr_task_YieldTask(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);
    struct htd_thread *thread = task->thread;

    InterlockedIncrement(&task->calls[HTD_TASK_YIELDTASK]);
    if (htd__current_thread() == thread)
        return HOST_E_INVALIDOPERATION;
    if (!thread->started)
        return S_OK;
    if (InterlockedCompareExchange(&thread->yield_requested, 1, 0))
        return S_FALSE;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_LocksHeld(ICLRTask2 *iface, SIZE_T *count)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_LOCKSHELD]);
    if (!count)
        return E_POINTER;
    *count = 0;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_SetTaskIdentifier(ICLRTask2 *iface, TASKID id)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_SETTASKIDENTIFIER]);
    task->identifier = id;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_BeginPreventAsyncAbort(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_BEGINPREVENTASYNCABORT]);
    InterlockedIncrement(&task->prevent_async_abort);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE clr_task_EndPreventAsyncAbort(ICLRTask2 *iface)
{
    struct htd_clr_task *task = impl_from_ICLRTask2(iface);

    InterlockedIncrement(&task->calls[HTD_TASK_ENDPREVENTASYNCABORT]);
    InterlockedDecrement(&task->prevent_async_abort);
    return S_OK;
}

static const ICLRTask2Vtbl clr_task_vtbl =
{
    clr_task_QueryInterface,
    clr_task_AddRef,
    clr_task_Release,
    clr_task_SwitchIn,
    clr_task_SwitchOut,
    clr_task_GetMemStats,
    clr_task_Reset,
    clr_task_ExitTask,
    clr_task_Abort,
    clr_task_RudeAbort,
    clr_task_NeedsPriorityScheduling,
    clr_task_YieldTask,
    clr_task_LocksHeld,
    clr_task_SetTaskIdentifier,
    clr_task_BeginPreventAsyncAbort,
    clr_task_EndPreventAsyncAbort,
};

void htd__clr_task_init(struct htd_clr_task *task, struct htd_thread *thread)
{
    memset(task, 0, sizeof(*task));
    task->ICLRTask2_iface.lpVtbl = &clr_task_vtbl;
    task->refcount = 1;
    task->thread = thread;
}
