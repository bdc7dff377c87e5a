/*
 * IHostTaskManager, with hosttask's IHostTaskConfig and IHostTaskStatistics
 * on the same object.
 *
 * Behaviour follows the IHostTaskManager pages of dotnet/docs
 * (docs/framework/unmanaged-api/hosting/ihosttaskmanager-*) and, where the
 * docs are silent, what the CLR does with each result in dotnet/coreclr
 * ef1e2ab3 src/vm (threads.cpp, hosting.cpp, corhost.cpp).  One task
 * manager serves the process: every host control hands out the same one.
 */
#include "private.h"

#include <stdlib.h>
#include <string.h>

struct task_manager
{
    IHostTaskManager IHostTaskManager_iface;
    IHostTaskConfig IHostTaskConfig_iface;
    IHostTaskStatistics IHostTaskStatistics_iface;
    struct ht__trace_iface trace;   /* IHostTaskTrace, com/trace.c */
    LONG refcount;
    ICLRTaskManager *clr_manager;   /* swapped atomically by SetCLRTaskManager */
};

/* The singleton.  Its 1 -> 0 edge is settled under this lock, so that
 * ht__task_manager_get() never revives an object being freed. */
static CRITICAL_SECTION singleton_lock;
static struct task_manager *singleton;

static HRESULT configure_scheduler(UINT slots, UINT quantum_us);

static inline struct task_manager *impl_from_IHostTaskManager(IHostTaskManager *iface)
{
    return CONTAINING_RECORD(iface, struct task_manager, IHostTaskManager_iface);
}

static inline struct task_manager *impl_from_IHostTaskConfig(IHostTaskConfig *iface)
{
    return CONTAINING_RECORD(iface, struct task_manager, IHostTaskConfig_iface);
}

static inline struct task_manager *impl_from_IHostTaskStatistics(IHostTaskStatistics *iface)
{
    return CONTAINING_RECORD(iface, struct task_manager, IHostTaskStatistics_iface);
}

static HRESULT STDMETHODCALLTYPE task_manager_QueryInterface(IHostTaskManager *iface,
        REFIID riid, void **out)
{
    struct task_manager *manager = impl_from_IHostTaskManager(iface);

    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!riid)
        return E_INVALIDARG;

    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IHostTaskManager))
        *out = &manager->IHostTaskManager_iface;
    else if (IsEqualIID(riid, &IID_IHostTaskConfig))
        *out = &manager->IHostTaskConfig_iface;
    else if (IsEqualIID(riid, &IID_IHostTaskStatistics))
        *out = &manager->IHostTaskStatistics_iface;
    else if (IsEqualIID(riid, &IID_IHostTaskTrace))
        *out = &manager->trace.IHostTaskTrace_iface;
    else if (IsEqualIID(riid, &IID_IHostTaskFaults) && (*out = ht__fault_interface()))
        ;   /* test-only, see com/fault.h */
    else
        return E_NOINTERFACE;

    IUnknown_AddRef((IUnknown *)*out);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE task_manager_AddRef(IHostTaskManager *iface)
{
    struct task_manager *manager = impl_from_IHostTaskManager(iface);

    return InterlockedIncrement(&manager->refcount);
}

static ULONG STDMETHODCALLTYPE task_manager_Release(IHostTaskManager *iface)
{
    struct task_manager *manager = impl_from_IHostTaskManager(iface);
    ULONG refcount = InterlockedDecrement(&manager->refcount);
    ICLRTaskManager *clr_manager;
    BOOL destroy = FALSE;

    if (refcount)
        return refcount;

    /* The teardown is atomic with creation: the process-wide settings are
     * cleared under the lock that ht__task_manager_get() takes to create
     * the next manager, so a manager created now starts after the clear
     * and keeps what its clients configure (and its hook policy, which
     * CallNeedsHostHook reads without a lock, is never freed under it). */
    EnterCriticalSection(&singleton_lock);
    if (singleton == manager && !manager->refcount)
    {
        singleton = NULL;
        destroy = TRUE;
        /* Test-only: a window for a creation to race into (com/fault.h). */
        if (ht__fault(HT_FAULT_TEARDOWN_PAUSE))
            Sleep(300);
        /* No caller can be inside CallNeedsHostHook without a reference. */
        ht__hook_policy_clear();
        atomic_store(&ht__strict, 0);
        atomic_store(&ht__profiling, 0);
        ht__hooks_set(HT__HOOK_PROFILING, 0);
        ht__trace_stop();
        ht__targets_reset();
        configure_scheduler(0, 0);
    }
    LeaveCriticalSection(&singleton_lock);
    if (destroy)
    {
        /* Outside the lock: the CLR's Release may call back into the host. */
        if ((clr_manager = manager->clr_manager))
            ICLRTaskManager_Release(clr_manager);
        /* What thread detaches and early thread ends left to give back
         * (CLR tasks among them) goes with the manager, before the DLL may unload. */
        ht__tasks_reap();
        HeapFree(GetProcessHeap(), 0, manager);
        /* Last: DllCanUnloadNow may answer S_OK as soon as this reaches zero. */
        ht__module_release();
    }
    return 0;
}

static HRESULT STDMETHODCALLTYPE task_manager_GetCurrentTask(IHostTaskManager *iface, IHostTask **out)
{
    struct host_task *task;

    if (!out)
        return E_POINTER;
    /* Adopt a thread we did not create: the CLR source notes SQL Server does. */
    if (!(task = ht__task_current_or_adopt()))
    {
        *out = NULL;
        return E_OUTOFMEMORY;
    }
    *out = &task->IHostTask_iface;
    IHostTask_AddRef(*out);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_CreateTask(IHostTaskManager *iface,
        DWORD stack_size, LPTHREAD_START_ROUTINE start, void *param, IHostTask **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!start)
        return E_INVALIDARG;
    return ht__task_create(stack_size, start, param, out);
}

/* SwitchToTask and Sleep(0): the cooperative yields.  A slot holder lets
 * every task already waiting for a slot run first; a task in managed code
 * that was preempted queues for a slot again; anyone else gives up the
 * processor. */
static void yield(struct host_task *task)
{
    if (!task || !ht__nest_inside(&task->core))
        SwitchToThread();
    else if (ht__task_holds_slot(task))
        ht__sched_yield(ht__task_sched(task));
    else if (ht__sched_active())
        ht__task_slot_acquire_slow(task);   /* preempted: back in the queue */
    else
        SwitchToThread();
}

static HRESULT STDMETHODCALLTYPE task_manager_Sleep(IHostTaskManager *iface, DWORD milliseconds,
        DWORD option)
{
    struct host_task *task = ht__task_current();

    if (task)
        InterlockedIncrement64(&task->sleeps);
    /* Unknown option bits are ignored (and counted): the CLR asserts on
     * anything but S_OK and HOST_E_INTERRUPTED, so no option can make
     * Sleep fail. */
    ht__task_note_options(task, option);
    if (!milliseconds)
    {
        if ((option & WAIT_ALERTABLE) && task && ht__task_consume_alert(task))
            return HOST_E_INTERRUPTED;
        yield(task);
        return S_OK;
    }
    return ht__task_wait(NULL, milliseconds, option) == HOST_E_INTERRUPTED ? HOST_E_INTERRUPTED : S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_SwitchToTask(IHostTaskManager *iface, DWORD option)
{
    yield(ht__task_current());
    return S_OK;
}

/* Locales apply to the calling thread, as the CLR's own SetLocale does when
 * no host is present, and are recorded on its task for the statistics. */
static HRESULT STDMETHODCALLTYPE task_manager_SetUILocale(IHostTaskManager *iface, LCID lcid)
{
    LANGID language = LANGIDFROMLCID(lcid);
    struct host_task *task;

    if (!IsValidLocale(lcid, LCID_SUPPORTED))
        return E_INVALIDARG;
    if (SetThreadUILanguage(language) != language)
        return E_FAIL;
    if ((task = ht__task_current_or_adopt()))
        task->ui_locale = lcid;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_SetLocale(IHostTaskManager *iface, LCID lcid)
{
    struct host_task *task;

    if (!IsValidLocale(lcid, LCID_SUPPORTED))
        return E_INVALIDARG;
    if (!SetThreadLocale(lcid))
        return HRESULT_FROM_WIN32(GetLastError());
    if ((task = ht__task_current_or_adopt()))
        task->locale = lcid;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_CallNeedsHostHook(IHostTaskManager *iface,
        SIZE_T target, BOOL *needs_hook)
{
    if (!needs_hook)
        return E_POINTER;
    *needs_hook = ht__call_needs_hook(target);
    return S_OK;
}

/* Each transition is two functions.  The method is the fast path: no
 * call but tail calls, so it needs no stack frame and saves no register.
 * It gives up, changing nothing, on anything unusual (no task yet, a TLS
 * slot beyond the TEB's, nesting to grow, an imbalance, profiling, a
 * scheduler slot to take or give back) and tail-calls the complete
 * version, which starts over. */

/* The calling thread's task from its TEB slot; NULL when it has none or
 * the slot is beyond the TEB's (the slow paths look again). */
static inline struct host_task *task_current_fast(void)
{
#ifdef HT__TLS_SLOT_READ
    DWORD slot = ht__tls_task;
    void *value;

    if (slot >= TLS_MINIMUM_AVAILABLE)
        return NULL;
    HT__TLS_SLOT_READ(slot, value);
    return value;
#else
    return ht__task_current();
#endif
}

static __attribute__((noinline)) HRESULT leave_runtime_slow(SIZE_T target)
{
    struct host_task *task = ht__task_current_or_adopt();
    ht__status status;

    if (!task)
        return E_OUTOFMEMORY;
    ht__trace_leave(task, target);
    if ((status = ht__leave_runtime(&task->core, target)) != HT__OK)
        return ht__hresult_from_status(status);
    /* Going out to native code, which may block: the slot goes back. */
    ht__task_slot_release(task);
    return S_OK;
}

/* The frame is open; the slot goes back now: someone waits, or the task
 * was asked to yield or preempted. */
static __attribute__((noinline)) HRESULT slot_release(struct host_task *task)
{
    ht__sched_release(ht__task_sched(task));
    return S_OK;
}

/* The frame is closed; the task needs a slot again. */
static __attribute__((noinline)) HRESULT slot_acquire(struct host_task *task)
{
    ht__task_slot_acquire(task);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_LeaveRuntime(IHostTaskManager *iface, SIZE_T target)
{
    struct host_task *task = task_current_fast();
    struct ht__sched_task *sched;

    if (!task || atomic_load_explicit(&ht__transition_hooks, memory_order_relaxed)
            || !ht__nest_try_open(&task->core, HT__FRAME_OUT, HT__LEAVE))
        return leave_runtime_slow(target);
    /* Cooperative mode: the slot stays, marked "in native code", unless
     * someone waits.  A Leave nested in an open one finds nothing held. */
    if ((sched = ht__task_sched(task)) && !ht__sched_try_leave(sched))
        return slot_release(task);
    return S_OK;
}

static __attribute__((noinline)) HRESULT enter_runtime_slow(void)
{
    struct host_task *task = ht__task_current_or_adopt();
    ht__status status;

    /* The native call has already returned: failing now only throws into
     * managed code, so only strict mode refuses (a close answers HT__OK or
     * HT__E_STATE, src/nesting.c). */
    if (!task)
        return S_OK;
    ht__trace_enter(task);
    if ((status = ht__enter_runtime(&task->core)) != HT__OK)
        return ht__hresult_from_status(status);
    /* Back into managed code: in cooperative mode, only with a slot.  An
     * Enter that closes a Leave nested in one still open stays out (the
     * CLR's AppDomain-unload helper calls LeaveRuntime(0) once and never
     * matches it, then waits with nested Leave/Enter pairs:
     * dotnet/coreclr@ef1e2ab3 src/vm/appdomain.cpp
     * (AppDomain::ADUnloadThreadStart), src/vm/synch.cpp (CLREventWaitHelper2)). */
    if (ht__nest_inside(&task->core))
        ht__task_slot_acquire(task);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_EnterRuntime(IHostTaskManager *iface)
{
    struct host_task *task = task_current_fast();
    struct ht__sched_task *sched;

    if (!task || task->core.nprofile || ht__trace_on() || !ht__nest_try_close(&task->core, HT__FRAME_OUT, HT__ENTER))
        return enter_runtime_slow();
    /* Cooperative mode: reclaim the slot left in native code, one
     * compare-and-swap.  Not for an Enter that closes a nested Leave (see
     * enter_runtime_slow).  (A slot left in native code in a scheduler
     * since switched off stays there until a later transition in
     * cooperative mode, or the task's end, gives it back.) */
    if (!ht__sched_active() || !ht__nest_inside(&task->core)
            || ((sched = ht__task_sched(task)) && ht__sched_try_enter(sched)))
        return S_OK;
    return slot_acquire(task);
}

static __attribute__((noinline)) HRESULT reverse_leave_runtime_slow(void)
{
    struct host_task *task = ht__task_current_or_adopt();
    ht__status status;

    /* Exactly S_OK: the CLR throws on anything else, even S_FALSE; only
     * strict mode refuses (a close answers HT__OK or HT__E_STATE). */
    if (!task)
        return S_OK;
    ht__trace_reverse_leave(task);
    if ((status = ht__reverse_leave_runtime(&task->core)) != HT__OK)
        return ht__hresult_from_status(status);
    /* Back to the native caller. */
    ht__task_slot_release(task);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_ReverseLeaveRuntime(IHostTaskManager *iface)
{
    struct host_task *task = task_current_fast();
    struct ht__sched_task *sched;

    if (!task || task->core.nprofile || ht__trace_on() || !ht__nest_try_close(&task->core, HT__FRAME_IN, HT__REVERSE_LEAVE))
        return reverse_leave_runtime_slow();
    if ((sched = ht__task_sched(task)) && !ht__sched_try_leave(sched))
        return slot_release(task);
    return S_OK;
}

static __attribute__((noinline)) HRESULT reverse_enter_runtime_slow(void)
{
    struct host_task *task = ht__task_current_or_adopt();
    ht__status status;

    if (!task)
        return S_OK;
    ht__trace_reverse_enter(task);
    /* The one status not mapped by ht__hresult_from_status: at the nesting
     * limit, or with no memory to grow the nesting (HT__E_NOMEM, counted
     * as HT_STAT_NESTING_LIMIT), the call is let through with S_OK, not
     * refused with E_OUTOFMEMORY: the CLR throws on anything but exactly
     * S_OK from ReverseEnterRuntime (docs/contract.md §3.0, and §3.2's
     * ReverseEnterRuntime row). */
    if ((status = ht__reverse_enter_runtime(&task->core)) != HT__OK && status != HT__E_NOMEM)
        return ht__hresult_from_status(status);
    ht__task_slot_acquire(task);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_ReverseEnterRuntime(IHostTaskManager *iface)
{
    struct host_task *task = task_current_fast();
    struct ht__sched_task *sched;

    if (!task || ht__trace_on() || !ht__nest_try_open(&task->core, HT__FRAME_IN, HT__REVERSE_ENTER))
        return reverse_enter_runtime_slow();
    if (!ht__sched_active() || ((sched = ht__task_sched(task)) && ht__sched_try_enter(sched)))
        return S_OK;
    return slot_acquire(task);
}

static HRESULT STDMETHODCALLTYPE task_manager_BeginDelayAbort(IHostTaskManager *iface)
{
    struct host_task *task = ht__task_current_or_adopt();

    if (!task)
        return E_OUTOFMEMORY;
    /* Not nestable (docs): a second Begin is refused and changes nothing. */
    return InterlockedOr(&task->flags, HT_TASK_DELAY_ABORT) & HT_TASK_DELAY_ABORT ? E_UNEXPECTED : S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_EndDelayAbort(IHostTaskManager *iface)
{
    struct host_task *task = ht__task_current();

    if (!task)
        return E_UNEXPECTED;
    return InterlockedAnd(&task->flags, ~HT_TASK_DELAY_ABORT) & HT_TASK_DELAY_ABORT ? S_OK : E_UNEXPECTED;
}

static void set_affinity_depth(LONG_PTR depth)
{
    struct host_task *task = ht__task_current();

    ht__tls_set(ht__tls_affinity, (void *)depth);
    if (task)
        InterlockedExchange(&task->affinity_depth, (LONG)depth);
    ht__trace_affinity(task, depth);
}

static HRESULT STDMETHODCALLTYPE task_manager_BeginThreadAffinity(IHostTaskManager *iface)
{
    /* A depth in the thread's own TLS slot: works on threads with no task,
     * takes no lock and allocates nothing.  The CLR nests these. */
    set_affinity_depth((LONG_PTR)ht__tls_get(ht__tls_affinity) + 1);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_EndThreadAffinity(IHostTaskManager *iface)
{
    LONG_PTR depth = (LONG_PTR)ht__tls_get(ht__tls_affinity);

    if (!depth)
        return E_UNEXPECTED;
    set_affinity_depth(depth - 1);
    return S_OK;
}

/* Stack guarantees are real: the thread's own SetThreadStackGuarantee, so
 * that the CLR's request takes effect on the thread it runs on.  Where the
 * system refuses, E_NOTIMPL (the only other code docs/contract.md §3.2 allows) makes the CLR
 * call SetThreadStackGuarantee itself and see the system's own answer. */
static HRESULT STDMETHODCALLTYPE task_manager_SetStackGuarantee(IHostTaskManager *iface, ULONG guarantee)
{
    ULONG value = guarantee;

    return SetThreadStackGuarantee(&value) ? S_OK : E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE task_manager_GetStackGuarantee(IHostTaskManager *iface, ULONG *guarantee)
{
    ULONG value = 0;

    if (!guarantee)
        return E_POINTER;
    /* Zero asks for the current value without changing it. */
    if (!SetThreadStackGuarantee(&value))
    {
        *guarantee = 0;
        return E_NOTIMPL;
    }
    *guarantee = value;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_manager_SetCLRTaskManager(IHostTaskManager *iface,
        ICLRTaskManager *clr_manager)
{
    struct task_manager *manager = impl_from_IHostTaskManager(iface);
    ICLRTaskManager *previous;

    if (clr_manager)
        ICLRTaskManager_AddRef(clr_manager);
    if ((previous = InterlockedExchangePointer((void **)&manager->clr_manager, clr_manager)))
        ICLRTaskManager_Release(previous);
    return S_OK;
}

static const IHostTaskManagerVtbl task_manager_vtbl =
{
    /* IUnknown */
    task_manager_QueryInterface,
    task_manager_AddRef,
    task_manager_Release,
    /* IHostTaskManager, in IDL order */
    task_manager_GetCurrentTask,
    task_manager_CreateTask,
    task_manager_Sleep,
    task_manager_SwitchToTask,
    task_manager_SetUILocale,
    task_manager_SetLocale,
    task_manager_CallNeedsHostHook,
    task_manager_LeaveRuntime,
    task_manager_EnterRuntime,
    task_manager_ReverseLeaveRuntime,
    task_manager_ReverseEnterRuntime,
    task_manager_BeginDelayAbort,
    task_manager_EndDelayAbort,
    task_manager_BeginThreadAffinity,
    task_manager_EndThreadAffinity,
    task_manager_SetStackGuarantee,
    task_manager_GetStackGuarantee,
    task_manager_SetCLRTaskManager,
};

/* ---- IHostTaskConfig ---- */

static HRESULT STDMETHODCALLTYPE config_QueryInterface(IHostTaskConfig *iface, REFIID riid, void **out)
{
    return task_manager_QueryInterface(&impl_from_IHostTaskConfig(iface)->IHostTaskManager_iface, riid, out);
}

static ULONG STDMETHODCALLTYPE config_AddRef(IHostTaskConfig *iface)
{
    return task_manager_AddRef(&impl_from_IHostTaskConfig(iface)->IHostTaskManager_iface);
}

static ULONG STDMETHODCALLTYPE config_Release(IHostTaskConfig *iface)
{
    return task_manager_Release(&impl_from_IHostTaskConfig(iface)->IHostTaskManager_iface);
}

static HRESULT STDMETHODCALLTYPE config_SetStrict(IHostTaskConfig *iface, BOOL strict)
{
    atomic_store(&ht__strict, strict ? 1 : 0);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE config_GetStrict(IHostTaskConfig *iface, BOOL *strict)
{
    if (!strict)
        return E_POINTER;
    *strict = atomic_load(&ht__strict) ? TRUE : FALSE;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE config_SetHookPolicy(IHostTaskConfig *iface, BOOL default_needs_hook,
        UINT count, const SIZE_T *targets)
{
    if (count && !targets)
        return E_POINTER;
    /* SIZE_T is unsigned long on i686 and size_t unsigned int: the same
     * size and representation, but distinct types to the compiler. */
    return ht__hresult_from_status(ht__hook_policy_set(default_needs_hook, (const size_t *)targets, count));
}

static HRESULT STDMETHODCALLTYPE config_SetProfiling(IHostTaskConfig *iface, BOOL on)
{
    atomic_store(&ht__profiling, on ? 1 : 0);
    ht__hooks_set(HT__HOOK_PROFILING, on);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE config_GetProfiling(IHostTaskConfig *iface, BOOL *on)
{
    if (!on)
        return E_POINTER;
    *on = atomic_load(&ht__profiling) ? TRUE : FALSE;
    return S_OK;
}

static UINT processors(void)
{
    SYSTEM_INFO info;

    GetSystemInfo(&info);
    return info.dwNumberOfProcessors ? info.dwNumberOfProcessors : 1;
}

/* Settings are kept to answer GetScheduler; the scheduler itself is in the
 * core.  The lock makes installing and recording one step, so that two
 * racing SetScheduler calls cannot leave GetScheduler reporting one's
 * slots, or settings the core does not run. */
static SRWLOCK scheduler_lock = SRWLOCK_INIT;
static UINT scheduler_slots, scheduler_quantum_us;

static HRESULT configure_scheduler(UINT slots, UINT quantum_us)
{
    ht__status status;

    if (slots == HT_SCHEDULER_AUTO)
        slots = processors();
    if (!quantum_us)
        quantum_us = HT_SCHEDULER_DEFAULT_QUANTUM_US;
    /* More slots than a thousand threads' worth, or a quantum over ten
     * seconds, is a mistake rather than a policy. */
    if (slots > 1024 || quantum_us > 10000000)
        return E_INVALIDARG;
    AcquireSRWLockExclusive(&scheduler_lock);
    status = ht__sched_configure(slots, quantum_us, ht__task_runaway_prepare, ht__task_runaway_fire);
    if (status != HT__OK)
    {
        ReleaseSRWLockExclusive(&scheduler_lock);
        return ht__hresult_from_status(status);
    }
    /* Test-only: a window for another SetScheduler (com/fault.h). */
    if (ht__fault(HT_FAULT_SCHEDULER_PAUSE))
        Sleep(300);
    scheduler_slots = slots;
    scheduler_quantum_us = slots ? quantum_us : 0;
    ReleaseSRWLockExclusive(&scheduler_lock);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE config_SetScheduler(IHostTaskConfig *iface, UINT slots, UINT quantum_us)
{
    return configure_scheduler(slots, quantum_us);
}

static HRESULT STDMETHODCALLTYPE config_GetScheduler(IHostTaskConfig *iface, UINT *slots, UINT *quantum_us)
{
    if (!slots || !quantum_us)
    {
        if (slots)
            *slots = 0;
        if (quantum_us)
            *quantum_us = 0;
        return E_POINTER;
    }
    AcquireSRWLockShared(&scheduler_lock);
    *slots = scheduler_slots;
    *quantum_us = scheduler_quantum_us;
    ReleaseSRWLockShared(&scheduler_lock);
    return S_OK;
}

static const IHostTaskConfigVtbl config_vtbl =
{
    config_QueryInterface,
    config_AddRef,
    config_Release,
    config_SetStrict,
    config_GetStrict,
    config_SetHookPolicy,
    config_SetProfiling,
    config_GetProfiling,
    config_SetScheduler,
    config_GetScheduler,
};

/* ---- IHostTaskStatistics ---- */

static HRESULT STDMETHODCALLTYPE statistics_QueryInterface(IHostTaskStatistics *iface, REFIID riid, void **out)
{
    return task_manager_QueryInterface(&impl_from_IHostTaskStatistics(iface)->IHostTaskManager_iface, riid, out);
}

static ULONG STDMETHODCALLTYPE statistics_AddRef(IHostTaskStatistics *iface)
{
    return task_manager_AddRef(&impl_from_IHostTaskStatistics(iface)->IHostTaskManager_iface);
}

static ULONG STDMETHODCALLTYPE statistics_Release(IHostTaskStatistics *iface)
{
    return task_manager_Release(&impl_from_IHostTaskStatistics(iface)->IHostTaskManager_iface);
}

static HRESULT STDMETHODCALLTYPE statistics_GetTaskStats(IHostTaskStatistics *iface, UINT capacity,
        HT_TASK_STATS *stats, UINT *count)
{
    if (!count)
        return E_POINTER;
    *count = 0;
    if (capacity && !stats)
        return E_POINTER;
    return ht__tasks_stats(capacity, stats, count);
}

static HRESULT STDMETHODCALLTYPE statistics_GetCurrentTaskStats(IHostTaskStatistics *iface, HT_TASK_STATS *stats)
{
    struct host_task *task;

    if (!stats)
        return E_POINTER;
    if (!(task = ht__task_current_or_adopt()))
    {
        memset(stats, 0, sizeof(*stats));
        return E_OUTOFMEMORY;
    }
    ht__task_stats(task, stats);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE statistics_GetObjectCounts(IHostTaskStatistics *iface, ULONG *live,
        ULONG *bound_only)
{
    ULONG a, b;

    if (!live || !bound_only)
    {
        if (live)
            *live = 0;
        if (bound_only)
            *bound_only = 0;
        return E_POINTER;
    }
    ht__tasks_object_counts(&a, &b);
    *live = a;
    *bound_only = b;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE statistics_GetTargetStats(IHostTaskStatistics *iface, UINT capacity,
        HT_TARGET_STATS *stats, UINT *count)
{
    struct ht__target_counters *targets;
    size_t n, i;

    if (!count)
        return E_POINTER;
    *count = 0;
    if (capacity && !stats)
        return E_POINTER;
    if (!(targets = HeapAlloc(GetProcessHeap(), 0, (HT__TARGET_SLOTS + 1) * sizeof(*targets))))
        return E_OUTOFMEMORY;
    n = ht__targets_snapshot(targets, HT__TARGET_SLOTS + 1);
    for (i = 0; i < n && i < capacity; i++)
    {
        stats[i].target = targets[i].target;
        stats[i].calls = targets[i].calls;
        stats[i].nativeTimeNs = targets[i].native_ns;
    }
    HeapFree(GetProcessHeap(), 0, targets);
    *count = (UINT)n;
    return n > capacity ? S_FALSE : S_OK;
}

static HRESULT STDMETHODCALLTYPE statistics_Reset(IHostTaskStatistics *iface)
{
    ht__sched_reset_stats();
    return ht__tasks_reset_stats();
}

static HRESULT STDMETHODCALLTYPE statistics_GetSchedulerStats(IHostTaskStatistics *iface,
        HT_SCHEDULER_STATS *stats)
{
    struct ht__sched_stats s;
    int i;

    if (!stats)
        return E_POINTER;
    memset(stats, 0, sizeof(*stats));
    if (!ht__sched_get(&s))
        return S_OK;
    stats->slots = s.slots;
    stats->held = s.held;
    stats->waiting = s.waiting;
    stats->quantumUs = s.quantum_us;
    stats->acquisitions = s.acquisitions;
    stats->waits = s.waits;
    stats->waitNs = s.wait_ns;
    stats->maxWaitNs = s.max_wait_ns;
    stats->forcedYields = s.forced_yields;
    stats->punishments = s.punishments;
    stats->preemptions = s.preemptions;
    stats->retakes = s.retakes;
    stats->nativeHoldNs = s.native_hold_ns;
    for (i = 0; i < HT__SCHED_HISTOGRAM; i++)
        stats->waitHistogram[i] = s.histogram[i];
    return S_OK;
}

static const IHostTaskStatisticsVtbl statistics_vtbl =
{
    statistics_QueryInterface,
    statistics_AddRef,
    statistics_Release,
    statistics_GetTaskStats,
    statistics_GetCurrentTaskStats,
    statistics_GetObjectCounts,
    statistics_GetTargetStats,
    statistics_Reset,
    statistics_GetSchedulerStats,
};

void ht__task_manager_init(void)
{
    InitializeCriticalSection(&singleton_lock);
}

/* The registered server's setting (a host using the C API calls
 * ht_set_scheduler instead): HOSTTASK_SCHEDULER=SLOTS[,QUANTUM_US] in the
 * environment, or SchedulerSlots and SchedulerQuantumUs (REG_DWORD) under
 * Software\hosttask in HKEY_CURRENT_USER, then HKEY_LOCAL_MACHINE.  SLOTS
 * is a number, "auto" (one per processor) or 0 (thread-per-task). */
static void configure_from_settings(void)
{
    static const HKEY roots[] = { HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE };
    DWORD slots = 0, quantum = 0, size, length;
    char text[64], *end;
    int i;

    length = GetEnvironmentVariableA("HOSTTASK_SCHEDULER", text, sizeof(text));
    if (length && length < sizeof(text))
    {
        if (!_strnicmp(text, "auto", 4))
        {
            slots = HT_SCHEDULER_AUTO;
            end = text + 4;
        }
        else
            slots = strtoul(text, &end, 10);
        if (*end == ',')
            quantum = strtoul(end + 1, NULL, 10);
    }
    else
    {
        for (i = 0; i < 2; i++)
        {
            size = sizeof(slots);
            if (RegGetValueA(roots[i], "Software\\hosttask", "SchedulerSlots", RRF_RT_REG_DWORD, NULL,
                    &slots, &size))
                continue;
            size = sizeof(quantum);
            if (RegGetValueA(roots[i], "Software\\hosttask", "SchedulerQuantumUs", RRF_RT_REG_DWORD, NULL,
                    &quantum, &size))
                quantum = 0;
            break;
        }
    }
    if (slots)
        configure_scheduler(slots, quantum);
}

HRESULT ht__task_manager_get(IHostTaskManager **out)
{
    struct task_manager *manager;

    *out = NULL;
    EnterCriticalSection(&singleton_lock);
    if ((manager = singleton))
        task_manager_AddRef(&manager->IHostTaskManager_iface);
    else if ((manager = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*manager))))
    {
        manager->IHostTaskManager_iface.lpVtbl = &task_manager_vtbl;
        manager->IHostTaskConfig_iface.lpVtbl = &config_vtbl;
        manager->IHostTaskStatistics_iface.lpVtbl = &statistics_vtbl;
        ht__trace_iface_init(&manager->trace, &manager->IHostTaskManager_iface);
        manager->refcount = 1;
        ht__module_addref();
        singleton = manager;
        configure_from_settings();
    }
    LeaveCriticalSection(&singleton_lock);
    if (!manager)
        return E_OUTOFMEMORY;
    *out = &manager->IHostTaskManager_iface;
    return S_OK;
}
