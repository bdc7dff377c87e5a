/*
 * hosttask: the public C API.
 *
 * hosttask.dll is an in-process COM server that implements the .NET
 * Framework task-hosting interfaces (IHostControl, IHostTaskManager,
 * IHostTask).  A CLR host gets its IHostControl either through COM
 * (CoCreateInstance of CLSID_HostTaskControl, "HostTask.HostControl") or,
 * without registration, with ht_create_host_control() below, and passes it
 * to ICLRRuntimeHost::SetHostControl before ICLRRuntimeHost::Start.
 *
 * The DLL exports only the four Dll* entry points.  Everything else here
 * is inline code over hosttask's own interfaces, IHostTaskConfig,
 * IHostTaskStatistics and IHostTaskTrace, which the task manager answers to QueryInterface.
 * Link with libhosttask_guids.a (the IIDs and the CLSID), ole32 and uuid.
 * Works from C (no COBJMACROS needed) and from C++.
 */
#ifndef HOSTTASK_HOSTTASK_H
#define HOSTTASK_HOSTTASK_H

#include <windows.h>
#include <ole2.h>
#include <corerror.h>

#include "mscoree_tasks.h"
#include "hosttask_iface.h"
#include "hosttask_classes.h"

/* C++ code that defines CINTERFACE gets the C declarations of the
 * interfaces (lpVtbl), but REFIID stays a C++ reference. */
#if defined(__cplusplus) && !defined(CINTERFACE)
#define HT__CALL(obj, method, ...) ((obj)->method(__VA_ARGS__))
#define HT__CALL0(obj, method) ((obj)->method())
#else
#define HT__CALL(obj, method, ...) ((obj)->lpVtbl->method((obj), __VA_ARGS__))
#define HT__CALL0(obj, method) ((obj)->lpVtbl->method(obj))
#endif
#ifdef __cplusplus
#define HT__REF(guid) (guid)
extern "C" {
#else
#define HT__REF(guid) (&(guid))
#endif

/* The body of every wrapper below: gets the task manager's `type`
 * interface from control as `var`, returns what `call` (a call on var)
 * returns, and releases var; or returns why it could not get it. */
#define HT__VIA(control, type, var, call) \
    do \
    { \
        type *var; \
        HRESULT hr_ = ht_get_manager_interface((control), HT__REF(IID_##type), (void **)&var); \
        if (SUCCEEDED(hr_)) \
        { \
            hr_ = call; \
            HT__CALL0(var, Release); \
        } \
        return hr_; \
    } while (0)

/* Loads hosttask.dll (path, or "hosttask.dll" on the DLL search path when
 * path is NULL) and creates a host control from it with no registry
 * involved: registration-free use.  The DLL stays loaded for the rest of
 * the process, as if it were imported.  *out receives one reference. */
static inline HRESULT ht_create_host_control_from(const WCHAR *path, IHostControl **out)
{
    LPFNGETCLASSOBJECT get_class_object;
    IClassFactory *factory;
    HMODULE module;
    HRESULT hr;

    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!(module = LoadLibraryW(path ? path : L"hosttask.dll")))
        return HRESULT_FROM_WIN32(GetLastError());
    /* Through GetProcAddress, not an import: ole32 and oleaut32 export a
     * DllGetClassObject of their own, and link order would pick one. */
    get_class_object = (LPFNGETCLASSOBJECT)(void (*)(void))GetProcAddress(module, "DllGetClassObject");
    if (!get_class_object)
        return HRESULT_FROM_WIN32(GetLastError());
    hr = get_class_object(HT__REF(CLSID_HostTaskControl), HT__REF(IID_IClassFactory), (void **)&factory);
    if (FAILED(hr))
        return hr;
    hr = HT__CALL(factory, CreateInstance, NULL, HT__REF(IID_IHostControl), (void **)out);
    HT__CALL0(factory, Release);
    return hr;
}

static inline HRESULT ht_create_host_control(IHostControl **out)
{
    return ht_create_host_control_from(NULL, out);
}

/* The task manager of a host control, as any of its interfaces
 * (IID_IHostTaskManager, IID_IHostTaskConfig, IID_IHostTaskStatistics,
 * IID_IHostTaskTrace). */
static inline HRESULT ht_get_manager_interface(IHostControl *control, REFIID riid, void **out)
{
    IHostTaskManager *manager;
    HRESULT hr;

    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!control)
        return E_INVALIDARG;
    hr = HT__CALL(control, GetHostManager, HT__REF(IID_IHostTaskManager), (void **)&manager);
    if (FAILED(hr))
        return hr;
    hr = HT__CALL(manager, QueryInterface, riid, out);
    HT__CALL0(manager, Release);
    return hr;
}

/* Strict mode: an unbalanced transition (EnterRuntime with no LeaveRuntime
 * open, ReverseLeaveRuntime with no ReverseEnterRuntime open, or one that
 * would skip the other kind's open frames) returns HOST_E_INVALIDOPERATION
 * and leaves the nesting as it was.  Off by default, because the CLR itself
 * makes unmatched calls on threads born in native code.  Process-wide. */
static inline HRESULT ht_set_strict(IHostControl *control, BOOL strict)
{
    HT__VIA(control, IHostTaskConfig, config, HT__CALL(config, SetStrict, strict));
}

/* CallNeedsHostHook policy: every target gets default_needs_hook, except
 * the count addresses in targets, which get the opposite.  The default
 * policy wraps every call (TRUE, no exceptions).  Lookups are lock-free. */
static inline HRESULT ht_set_hook_policy(IHostControl *control, BOOL default_needs_hook,
        UINT count, const SIZE_T *targets)
{
    HT__VIA(control, IHostTaskConfig, config, HT__CALL(config, SetHookPolicy, default_needs_hook, count, targets));
}

/* Copies the counters of up to capacity live tasks, each one consistent,
 * without stopping any task.  *count receives the number of live tasks;
 * S_FALSE when that is more than capacity. */
static inline HRESULT ht_get_task_stats(IHostControl *control, UINT capacity, HT_TASK_STATS *stats,
        UINT *count)
{
    if (count)
        *count = 0;
    HT__VIA(control, IHostTaskStatistics, statistics, HT__CALL(statistics, GetTaskStats, capacity, stats, count));
}

/* Profiling: per-target calls and native time (ht_get_target_stats), and
 * each task's time outside the runtime.  Costs a clock read per transition,
 * so it is off by default.  Process-wide. */
static inline HRESULT ht_set_profiling(IHostControl *control, BOOL on)
{
    HT__VIA(control, IHostTaskConfig, config, HT__CALL(config, SetProfiling, on));
}

/* Copies up to capacity P/Invoke targets with calls (profiling only), in no
 * order; *count receives how many have calls, S_FALSE when more than capacity. */
static inline HRESULT ht_get_target_stats(IHostControl *control, UINT capacity, HT_TARGET_STATS *stats,
        UINT *count)
{
    if (count)
        *count = 0;
    HT__VIA(control, IHostTaskStatistics, statistics,
            HT__CALL(statistics, GetTargetStats, capacity, stats, count));
}

/* Cooperative mode (SQL Server style): slots tasks must hold to run managed
 * code, given up on every call out to native code and every host wait,
 * handed over in FIFO order; holders past the quantum while others wait
 * are asked to yield (ICLRTask::YieldTask) and requeued.  slots:
 * HT_SCHEDULER_AUTO for one per processor, 0 for thread-per-task (the
 * default); quantum_us 0 for HT_SCHEDULER_DEFAULT_QUANTUM_US (4 ms).
 * Process-wide; tasks switch at their next transition. */
static inline HRESULT ht_set_scheduler(IHostControl *control, UINT slots, UINT quantum_us)
{
    HT__VIA(control, IHostTaskConfig, config, HT__CALL(config, SetScheduler, slots, quantum_us));
}

/* The cooperative scheduler's counters; all zero in thread-per-task mode. */
static inline HRESULT ht_get_scheduler_stats(IHostControl *control, HT_SCHEDULER_STATS *stats)
{
    HT__VIA(control, IHostTaskStatistics, statistics, HT__CALL(statistics, GetSchedulerStats, stats));
}

/* Starts every task's and target's counters from zero, without stopping
 * any task (maxDepth excepted: a high-water mark since the task began). */
static inline HRESULT ht_reset_stats(IHostControl *control)
{
    HT__VIA(control, IHostTaskStatistics, statistics, HT__CALL0(statistics, Reset));
}

/* The event trace (docs/trace.md): per task a buffer of the last `events`
 * events (1 to HT_TRACE_MAX_BUFFER), time-stamped with the clock profiling
 * reads, recorded with no lock and no allocation; a full buffer forgets
 * its oldest events and counts them.  0 turns tracing off (the buffers
 * stay, to be read).  Costs nothing while off.  Process-wide. */
static inline HRESULT ht_set_trace_buffer(IHostControl *control, UINT events)
{
    HT__VIA(control, IHostTaskTrace, trace, HT__CALL(trace, SetBufferSize, events));
}

/* Takes the trace of every task that has a buffer, live or ended, without
 * stopping any: up to task_capacity tasks and event_capacity events, each
 * task's events oldest first (tasks[i].firstEvent, .eventCount).  S_FALSE
 * when either did not fit; *info says how many there were. */
static inline HRESULT ht_get_trace(IHostControl *control, UINT task_capacity, HT_TRACE_TASK *tasks,
        UINT event_capacity, HT_TRACE_EVENT *events, HT_TRACE_INFO *info)
{
    HT__VIA(control, IHostTaskTrace, trace,
            HT__CALL(trace, GetTrace, task_capacity, tasks, event_capacity, events, info));
}

/* Starts the trace afresh, without stopping any task. */
static inline HRESULT ht_reset_trace(IHostControl *control)
{
    HT__VIA(control, IHostTaskTrace, trace, HT__CALL0(trace, Reset));
}

#ifdef __cplusplus
}
#endif

/* The helpers above are this header's own: a user's code never sees them. */
#undef HT__CALL
#undef HT__CALL0
#undef HT__REF
#undef HT__VIA

#endif /* HOSTTASK_HOSTTASK_H */
