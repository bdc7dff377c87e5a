/*
 * The simulated runtime: ICLRRuntimeHost and ICLRControl, as CorHost2 in
 * dotnet/coreclr@ef1e2ab3 src/vm/corhost.cpp implements them for the .NET
 * Framework (FEATURE_INCLUDE_ALL_INTERFACES), and the thread store.
 *
 * What it does not simulate (no assemblies, app domains other than the
 * default one, ClickOnce) it says so with the code the CLR would return.
 */
#include "driver_private.h"

#include <stdarg.h>
#include <string.h>

/* CorHost2's app domain id of the default domain (DefaultADID). */
#define DEFAULT_DOMAIN_ID 1

static INIT_ONCE tls_once = INIT_ONCE_STATIC_INIT;
static DWORD tls_thread = TLS_OUT_OF_INDEXES;
static struct htd_runtime *volatile active_runtime;

static BOOL CALLBACK tls_init(INIT_ONCE *once, void *param, void **context)
{
    tls_thread = TlsAlloc();
    return tls_thread != TLS_OUT_OF_INDEXES;
}

struct htd_thread *htd__current_thread(void)
{
    DWORD error = GetLastError();
    struct htd_thread *thread;

    /* GetThread() preserves the last error: P/Invoke stubs read it after. */
    InitOnceExecuteOnce(&tls_once, tls_init, NULL, NULL);
    thread = TlsGetValue(tls_thread);
    SetLastError(error);
    return thread;
}

void htd__set_current_thread(struct htd_thread *thread)
{
    InitOnceExecuteOnce(&tls_once, tls_init, NULL, NULL);
    TlsSetValue(tls_thread, thread);
}

struct htd_runtime *htd__active_runtime(void)
{
    return active_runtime;
}

void htd__fault(struct htd_runtime *runtime, enum htd_fault_kind kind, HRESULT hr, const char *format, ...)
{
    struct htd_fault *fault;
    va_list args;
    LONG index = InterlockedIncrement(&runtime->fault_count) - 1;

    if (index >= HTD_MAX_FAULTS)
        return;
    fault = &runtime->faults[index];
    fault->kind = kind;
    fault->hr = hr;
    va_start(args, format);
    vsnprintf(fault->what, sizeof(fault->what), format, args);
    va_end(args);
}

const char *htd_hresult_name(HRESULT hr)
{
    switch (hr)
    {
    case S_OK: return "S_OK";
    case S_FALSE: return "S_FALSE";
    case E_NOTIMPL: return "E_NOTIMPL";
    case E_NOINTERFACE: return "E_NOINTERFACE";
    case E_POINTER: return "E_POINTER";
    case E_FAIL: return "E_FAIL";
    case E_UNEXPECTED: return "E_UNEXPECTED";
    case E_ACCESSDENIED: return "E_ACCESSDENIED";
    case E_OUTOFMEMORY: return "E_OUTOFMEMORY";
    case E_INVALIDARG: return "E_INVALIDARG";
    case HOST_E_DEADLOCK: return "HOST_E_DEADLOCK";
    case HOST_E_INTERRUPTED: return "HOST_E_INTERRUPTED";
    case HOST_E_INVALIDOPERATION: return "HOST_E_INVALIDOPERATION";
    case HOST_E_CLRNOTAVAILABLE: return "HOST_E_CLRNOTAVAILABLE";
    case HOST_E_TIMEOUT: return "HOST_E_TIMEOUT";
    case HOST_E_NOT_OWNER: return "HOST_E_NOT_OWNER";
    case HOST_E_ABANDONED: return "HOST_E_ABANDONED";
    case COR_E_THREADINTERRUPTED: return "COR_E_THREADINTERRUPTED";
    case COR_E_THREADSTART: return "COR_E_THREADSTART";
    case COR_E_TYPELOAD: return "COR_E_TYPELOAD";
    case COR_E_MISSINGMETHOD: return "COR_E_MISSINGMETHOD";
    case COR_E_EXECUTIONENGINE: return "COR_E_EXECUTIONENGINE";
    case COR_E_CANNOTUNLOADAPPDOMAIN: return "COR_E_CANNOTUNLOADAPPDOMAIN";
    case COR_E_APPDOMAINUNLOADED: return "COR_E_APPDOMAINUNLOADED";
    case CLR_E_SHIM_RUNTIMELOAD: return "CLR_E_SHIM_RUNTIMELOAD";
    case REGDB_E_CLASSNOTREG: return "REGDB_E_CLASSNOTREG";
    case CO_E_CLASSSTRING: return "CO_E_CLASSSTRING";
    case HRESULT_FROM_WIN32(ERROR_MOD_NOT_FOUND): return "ERROR_MOD_NOT_FOUND";
    case HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND): return "ERROR_PROC_NOT_FOUND";
    }
    return NULL;
}

/* ---- The thread store ---- */

struct htd_thread *htd__thread_new(struct htd_runtime *runtime, const char *role, BOOL created)
{
    struct htd_thread *thread;

    if (!(thread = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*thread))))
        return NULL;
    htd__clr_task_init(&thread->clr_task, thread);
    thread->runtime = runtime;
    thread->rec.created = created;
    htd__copy_role(thread->rec.role, sizeof(thread->rec.role), role);

    /* ThreadStore::AddThread under the thread store lock, a CLR lock and so
     * an affinity bracket (src/vm/threads.cpp (ThreadStore::AddThread),
     * src/vm/threadsuspend.cpp (ThreadStore::LockThreadStore)). */
    htd__clr_lock_bracket(runtime);
    EnterCriticalSection(&runtime->lock);
    if (runtime->thread_count < HTD_MAX_THREADS)
        runtime->threads[runtime->thread_count++] = thread;
    else
    {
        HeapFree(GetProcessHeap(), 0, thread);
        thread = NULL;
    }
    LeaveCriticalSection(&runtime->lock);
    return thread;
}

void htd__threads_die(struct htd_runtime *runtime)
{
    IHostTask *task;
    LONG i;

    /* Each IHostTask is Released once, when its Thread dies
     * (src/vm/threads.cpp (Thread::~Thread -> ReleaseHostTask)); the CLR
     * never calls SetCLRTask(NULL).  At shutdown every Thread dies. */
    for (i = 0; i < runtime->thread_count; i++)
        if ((task = InterlockedExchangePointer((void **)&runtime->threads[i]->host_task, NULL)))
            IHostTask_Release(task);
}

void htd__thread_reset(struct htd_thread *thread)
{
    IHostTask *task = InterlockedExchangePointer((void **)&thread->host_task, NULL);

    htd__set_current_thread(NULL);
    if (task)
        IHostTask_Release(task);
}

BOOL htd_fakes_at_baseline(struct htd_runtime *runtime, char *why, size_t size)
{
    struct htd_clr_manager *manager = htd_clr_manager();
    struct htd_clr_task *task;
    LONG i;

    if (manager->refcount != 1 || manager->over_released)
    {
        snprintf(why, size, "ICLRTaskManager: %ld host references, %ld over-releases",
                manager->refcount - 1, manager->over_released);
        return FALSE;
    }
    for (i = 0; i < runtime->thread_count; i++)
    {
        task = &runtime->threads[i]->clr_task;
        if (task->refcount != 1 || task->over_released)
        {
            snprintf(why, size, "ICLRTask of thread %ld (%s): %ld host references, %ld over-releases",
                    i, runtime->threads[i]->rec.role, task->refcount - 1, task->over_released);
            return FALSE;
        }
    }
    snprintf(why, size, "at baseline");
    return TRUE;
}

/* ---- ICLRRuntimeHost ---- */

static inline struct htd_runtime *impl_from_ICLRRuntimeHost(ICLRRuntimeHost *iface)
{
    return CONTAINING_RECORD(iface, struct htd_runtime, ICLRRuntimeHost_iface);
}

static inline struct htd_runtime *impl_from_ICLRControl(ICLRControl *iface)
{
    return CONTAINING_RECORD(iface, struct htd_runtime, ICLRControl_iface);
}

static BOOL runtime_active(struct htd_runtime *runtime)
{
    /* IsRuntimeActive(): started and not shut down. */
    return runtime->started && runtime->start_count > 0;
}

static HRESULT STDMETHODCALLTYPE runtime_QueryInterface(ICLRRuntimeHost *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_ICLRRuntimeHost))
        return E_NOINTERFACE;
    *out = iface;
    ICLRRuntimeHost_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE runtime_AddRef(ICLRRuntimeHost *iface)
{
    return InterlockedIncrement(&impl_from_ICLRRuntimeHost(iface)->refcount);
}

/* Gives back every host object the runtime holds.  The CLR releases the
 * IHostControl in Stop and never releases host managers
 * (src/vm/corhost.cpp (CorHost2::Stop)); a stopped CLR cannot start again,
 * so the driver gives those back too, which lets tests see the host's own
 * counts return to zero.  The runtime's own threads end first. */
static void release_host_objects(struct htd_runtime *runtime)
{
    IHostTaskManager *manager;
    IHostControl *control;
    IUnknown *other;
    int i;

    htd__runtime_threads_stop(runtime);
    htd__threads_die(runtime);
    if ((control = InterlockedExchangePointer((void **)&runtime->host_control, NULL)))
        IHostControl_Release(control);
    if ((manager = InterlockedExchangePointer((void **)&runtime->task_manager, NULL)))
        IHostTaskManager_Release(manager);
    for (i = 0; i < HTD_MANAGER_IIDS; i++)
        if ((other = InterlockedExchangePointer((void **)&runtime->other_managers[i], NULL)))
            IUnknown_Release(other);
    InterlockedCompareExchangePointer((void **)&active_runtime, NULL, runtime);
}

static ULONG STDMETHODCALLTYPE runtime_Release(ICLRRuntimeHost *iface)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);
    LONG refcount = InterlockedDecrement(&runtime->refcount);
    struct htd_thread *thread;
    LONG i;

    if (refcount)
        return refcount;
    release_host_objects(runtime);
    for (i = 0; i < runtime->thread_count; i++)
    {
        thread = runtime->threads[i];
        /* A host that still holds a Thread's ICLRTask keeps it valid: the
         * memory is left alone rather than freed under it. */
        if (thread->clr_task.refcount == 1)
            HeapFree(GetProcessHeap(), 0, thread);
    }
    htd__runtime_resources_free(runtime);
    DeleteCriticalSection(&runtime->lock);
    HeapFree(GetProcessHeap(), 0, runtime);
    return 0;
}

void htd__clr_lock_bracket(struct htd_runtime *runtime)
{
    IHostTaskManager *manager = runtime->task_manager;
    struct htd_thread *thread;
    HRESULT hr;

    if (!manager)
        return;
    /* A CLR critical section with no sync manager is entered inside
     * Begin/EndThreadAffinity, also on threads with no Thread (skipped only
     * on GC-special and debugger-helper threads): src/vm/crst.cpp
     * (CrstBase::Enter, CrstBase::Leave), src/vm/threads.cpp
     * (Thread::BeginThreadAffinity).  The CLR only asserts S_OK. */
    if ((hr = IHostTaskManager_BeginThreadAffinity(manager)) != S_OK)
        htd__fault(runtime, HTD_FAULT_ASSERT, hr, "BeginThreadAffinity (CLR lock)");
    if ((thread = htd__current_thread()) && ++thread->affinity > thread->rec.max_affinity)
        thread->rec.max_affinity = thread->affinity;
    if ((hr = IHostTaskManager_EndThreadAffinity(manager)) != S_OK)
        htd__fault(runtime, HTD_FAULT_ASSERT, hr, "EndThreadAffinity (CLR lock)");
    if (thread)
        thread->affinity--;
}

static HRESULT STDMETHODCALLTYPE runtime_Start(ICLRRuntimeHost *iface)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);
    IHostTaskManager *manager = runtime->task_manager;
    struct htd_thread *thread;
    HRESULT hr, end;

    /* CorHost2::Start: a second Start of a running runtime only counts. */
    if (runtime->started)
    {
        if (!runtime->start_count)
            return HOST_E_CLRNOTAVAILABLE;
        InterlockedIncrement(&runtime->start_count);
        return S_OK;
    }
    InterlockedExchange(&runtime->started, 1);
    InterlockedExchange(&runtime->start_count, 1);

    if (!htd__runtime_resources_init(runtime))
        return E_OUTOFMEMORY;
    /* EnsureEEStarted: a direct host BeginThreadAffinity, all of EEStartup,
     * EndThreadAffinity, on a thread that has no task yet
     * (src/vm/ceemain.cpp (EnsureEEStarted)).  Inside: InitThreadManager's
     * stack guarantee (CLRSetThreadStackGuarantee(STSGuarantee_Force),
     * IfFailThrow) before any task exists, SetupThread for the starting
     * thread, then the finalizer and the AppDomain-unload helper
     * (src/vm/threads.cpp (InitThreadManager), src/vm/ceemain.cpp
     * (EEStartupHelper)). */
    if (manager && (hr = IHostTaskManager_BeginThreadAffinity(manager)) != S_OK)
        htd__fault(runtime, HTD_FAULT_ASSERT, hr, "BeginThreadAffinity (runtime start)");
    if (SUCCEEDED(hr = htd__stack_guarantee(runtime))
            && SUCCEEDED(hr = htd__get_or_attach(runtime, "main", &thread)))
    {
        hr = htd__runtime_threads_start(runtime, thread);
        /* Back to the host's native code. */
        htd__leave_coop(thread);
    }
    if (manager && (end = IHostTaskManager_EndThreadAffinity(manager)) != S_OK)
        htd__fault(runtime, HTD_FAULT_ASSERT, end, "EndThreadAffinity (runtime start)");
    return hr;
}

static HRESULT STDMETHODCALLTYPE runtime_Stop(ICLRRuntimeHost *iface)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);
    LONG count;

    /* CorHost2::Stop: E_UNEXPECTED before Start; S_FALSE while other Starts
     * are outstanding; the last one shuts down and releases the host control. */
    if (!runtime->started)
        return E_UNEXPECTED;
    do
    {
        if (!(count = runtime->start_count))
            return E_UNEXPECTED;
    } while (InterlockedCompareExchange(&runtime->start_count, count - 1, count) != count);
    if (count > 1)
        return S_FALSE;
    release_host_objects(runtime);
    return S_OK;
}

static HRESULT ask_manager(struct htd_runtime *runtime, IHostControl *control, REFIID riid, int slot)
{
    void *object = NULL;
    HRESULT hr;
    LONG index;

    hr = IHostControl_GetHostManager(control, riid, &object);
    index = runtime->asked_count;
    if (index < (LONG)ARRAYSIZE(runtime->asked))
    {
        runtime->asked[index] = *riid;
        runtime->answers[index] = hr;
        runtime->asked_count = index + 1;
    }
    /* Accepted only with exactly S_OK and a non-NULL pointer (corhost.cpp:
     * "GetHostManager(...) == S_OK && manager != NULL"). */
    if (hr == S_OK && object)
    {
        if (slot == 1)
        {
            runtime->task_manager = object;
            /* Right after the task manager is accepted, before the next
             * manager is asked for; the result is ignored
             * (src/vm/corhost.cpp (CorHost2::SetHostControl)). */
            runtime->clr_manager_given_after = runtime->asked_count;
            IHostTaskManager_SetCLRTaskManager(runtime->task_manager,
                    &htd_clr_manager()->ICLRTaskManager_iface);
        }
        else
        {
            /* The CLR would start using it (CreateMalloc, SetCLRSyncManager,
             * ...); the simulation cannot, but keeps it like the CLR does. */
            runtime->other_managers[slot] = object;
            htd__fault(runtime, HTD_FAULT_ASSERT, hr, "host offered a manager the simulation cannot use "
                    "(GetHostManager #%d)", slot + 1);
        }
        return S_OK;
    }
    if (object)
        /* A pointer with a refusal: the CLR's first test fails and it never
         * releases the object (a leak in the host's favour). */
        htd__fault(runtime, HTD_FAULT_ASSERT, hr, "GetHostManager #%d refused but wrote a pointer", slot + 1);
    return hr;
}

/* The §2.3 IIDs in the order CorHost2::SetHostControl asks; NULL marks
 * IID_IHostTaskManager. */
static const GUID manager_iids[HTD_MANAGER_IIDS] =
{
    {0x7bc698d1, 0xf9e3, 0x4460, {0x9c, 0xde, 0xd0, 0x42, 0x48, 0xe9, 0xfa, 0x25}}, /* IHostMemoryManager */
    {0x997ff24c, 0x43b7, 0x4352, {0x86, 0x67, 0x0d, 0xc0, 0x4f, 0xaf, 0xd3, 0x54}}, /* IHostTaskManager */
    {0x983d50e2, 0xcb15, 0x466b, {0x80, 0xfc, 0x84, 0x5d, 0xc6, 0xe8, 0xc5, 0xfd}}, /* IHostThreadpoolManager */
    {0x8bde9d80, 0xec06, 0x41d6, {0x83, 0xe6, 0x22, 0x58, 0x0e, 0xff, 0xcc, 0x20}}, /* IHostIoCompletionManager */
    {0x234330c7, 0x5f10, 0x4f20, {0x96, 0x15, 0x51, 0x22, 0xda, 0xb7, 0xa0, 0xac}}, /* IHostSyncManager */
    {0x613dabd7, 0x62b2, 0x493e, {0x9e, 0x65, 0xc1, 0xe3, 0x2a, 0x1e, 0x0c, 0x5e}}, /* IHostAssemblyManager */
    {0x5d4ec34e, 0xf248, 0x457b, {0xb6, 0x03, 0x25, 0x5f, 0xaa, 0xba, 0x0d, 0x21}}, /* IHostGCManager */
    {0x75ad2468, 0xa349, 0x4d02, {0xa7, 0x64, 0x76, 0xa6, 0x8a, 0xee, 0x0c, 0x4f}}, /* IHostSecurityManager */
    {0x7ae49844, 0xb1e3, 0x4683, {0xba, 0x7c, 0x1e, 0x82, 0x12, 0xea, 0x3b, 0x79}}, /* IHostPolicyManager */
};

static volatile LONG set_host_control_busy;   /* corhost.cpp's static fOneOnly */

static HRESULT STDMETHODCALLTYPE runtime_SetHostControl(ICLRRuntimeHost *iface, IHostControl *control)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);
    IHostTaskManager *spin_manager;
    int i;

    /* CorHost2::SetHostControl's pre-checks (a v1 host would get
     * HOST_E_INVALIDOPERATION; this runtime is always v2). */
    if (!control)
        return E_INVALIDARG;
    if (runtime->started)
        return E_ACCESSDENIED;

    /* One caller at a time.  While another holds the spin lock, each spin
     * yields through the host: the accepted task manager's SwitchToTask(0),
     * or one fetched from this control and released at once
     * (src/vm/corhost.cpp (CorHost2::SetHostControl)). */
    while (InterlockedExchange(&set_host_control_busy, 1) == 1)
    {
        if (runtime->task_manager)
            IHostTaskManager_SwitchToTask(runtime->task_manager, 0);
        else if (IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&spin_manager) == S_OK
                && spin_manager)
        {
            IHostTaskManager_SwitchToTask(spin_manager, 0);
            IHostTaskManager_Release(spin_manager);
        }
        else
            SwitchToThread();
    }

    /* Every manager in order; a slot once filled is never asked again.
     * Refusals are not errors: the CLR then does that work itself. */
    for (i = 0; i < HTD_MANAGER_IIDS; i++)
    {
        if (i == 1 ? runtime->task_manager != NULL : runtime->other_managers[i] != NULL)
            continue;
        ask_manager(runtime, control, &manager_iids[i], i);
    }
    if (runtime->task_manager)
        active_runtime = runtime;

    /* The CLR keeps the first control it is given, with a reference. */
    if (!runtime->host_control)
    {
        runtime->host_control = control;
        IHostControl_AddRef(control);
    }
    InterlockedExchange(&set_host_control_busy, 0);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE runtime_GetCLRControl(ICLRRuntimeHost *iface, ICLRControl **out)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);

    if (!out)
        return E_POINTER;
    *out = &runtime->ICLRControl_iface;
    ICLRControl_AddRef(*out);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE runtime_UnloadAppDomain(ICLRRuntimeHost *iface, DWORD domain_id, BOOL wait)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);

    if (!runtime_active(runtime))
        return HOST_E_CLRNOTAVAILABLE;
    /* The simulation has the default domain only, which never unloads. */
    return domain_id == DEFAULT_DOMAIN_ID ? COR_E_CANNOTUNLOADAPPDOMAIN : COR_E_APPDOMAINUNLOADED;
}

static HRESULT STDMETHODCALLTYPE runtime_ExecuteInAppDomain(ICLRRuntimeHost *iface, DWORD domain_id,
        FExecuteInAppDomainCallback callback, void *cookie)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);
    struct htd_thread *thread;
    HRESULT hr;

    if (!runtime_active(runtime))
        return HOST_E_CLRNOTAVAILABLE;
    if (!callback)
        return E_POINTER;
    if (domain_id != DEFAULT_DOMAIN_ID)
        return COR_E_APPDOMAINUNLOADED;
    if (FAILED(hr = htd__get_or_attach(runtime, "main", &thread)))
        return hr;
    /* The callback is an unmanaged function the CLR calls in preemptive
     * mode: no transition calls around it (corhost.cpp ExecuteInAppDomainHelper). */
    return callback(cookie);
}

static HRESULT STDMETHODCALLTYPE runtime_GetCurrentAppDomainId(ICLRRuntimeHost *iface, DWORD *domain_id)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);

    if (!runtime_active(runtime))
        return HOST_E_CLRNOTAVAILABLE;
    if (!domain_id)
        return E_POINTER;
    if (!htd__current_thread())
        return E_UNEXPECTED;
    *domain_id = DEFAULT_DOMAIN_ID;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE runtime_ExecuteApplication(ICLRRuntimeHost *iface, LPCWSTR name,
        DWORD manifest_count, LPCWSTR *manifests, DWORD data_count, LPCWSTR *data, int *ret)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);

    if (runtime->started)
        return E_UNEXPECTED;
    if (!name)
        return E_POINTER;
    /* ClickOnce activation needs manifests and assemblies; a simulation has none. */
    return E_NOTIMPL;
}

static void copy_text(WCHAR *dst, size_t count, const WCHAR *src)
{
    lstrcpynW(dst, src ? src : L"", (int)count);
}

static HRESULT STDMETHODCALLTYPE runtime_ExecuteInDefaultAppDomain(ICLRRuntimeHost *iface, LPCWSTR assembly,
        LPCWSTR type, LPCWSTR method, LPCWSTR argument, DWORD *ret)
{
    struct htd_runtime *runtime = impl_from_ICLRRuntimeHost(iface);
    const struct htd_workload *workload = NULL;
    struct htd_thread *thread;
    DWORD value = 0;
    unsigned int i;
    HRESULT hr;

    /* CorHost2::ExecuteInDefaultAppDomain: the runtime must run, the three
     * names must be there, the calling thread gets a Thread. */
    if (!runtime_active(runtime))
        return HOST_E_CLRNOTAVAILABLE;
    if (!assembly || !type || !method)
        return E_POINTER;
    if (FAILED(hr = htd__get_or_attach(runtime, "main", &thread)))
        return hr;

    copy_text(runtime->assembly, ARRAYSIZE(runtime->assembly), assembly);
    copy_text(runtime->type, ARRAYSIZE(runtime->type), type);
    copy_text(runtime->method, ARRAYSIZE(runtime->method), method);
    copy_text(runtime->argument, ARRAYSIZE(runtime->argument), argument);

    /* The "assembly" is this driver: any path loads it.  The type and the
     * method (static int M(string)) are looked up by name. */
    if (lstrcmpW(type, HTD_WORKLOAD_TYPE))
        return COR_E_TYPELOAD;
    for (i = 0; i < htd_workload_count; i++)
        if (!lstrcmpW(method, htd_workloads[i].method))
            workload = &htd_workloads[i];
    if (!workload)
        return COR_E_MISSINGMETHOD;

    runtime->run_start_ms = GetTickCount64();
    /* Managed code runs in cooperative GC mode. */
    htd__enter_coop(thread);
    hr = workload->run(thread, argument, &value);
    htd__leave_coop(thread);
    runtime->run_end_ms = GetTickCount64();
    thread->rec.end_ms = runtime->run_end_ms;
    /* EX_CATCH_HRESULT: an exception that leaves the method becomes the
     * call's result. */
    if (FAILED(hr))
    {
        htd__fault(runtime, HTD_FAULT_UNHANDLED, hr, "%ls.%ls threw", type, method);
        return hr;
    }
    if (ret)
        *ret = value;
    return S_OK;
}

static const ICLRRuntimeHostVtbl runtime_vtbl =
{
    runtime_QueryInterface,
    runtime_AddRef,
    runtime_Release,
    runtime_Start,
    runtime_Stop,
    runtime_SetHostControl,
    runtime_GetCLRControl,
    runtime_UnloadAppDomain,
    runtime_ExecuteInAppDomain,
    runtime_GetCurrentAppDomainId,
    runtime_ExecuteApplication,
    runtime_ExecuteInDefaultAppDomain,
};

/* ---- ICLRControl (corhost.cpp CCorCLRControl) ---- */

static HRESULT STDMETHODCALLTYPE control_QueryInterface(ICLRControl *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_ICLRControl))
        return E_NOINTERFACE;
    *out = iface;
    ICLRControl_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE control_AddRef(ICLRControl *iface)
{
    return runtime_AddRef(&impl_from_ICLRControl(iface)->ICLRRuntimeHost_iface);
}

static ULONG STDMETHODCALLTYPE control_Release(ICLRControl *iface)
{
    return runtime_Release(&impl_from_ICLRControl(iface)->ICLRRuntimeHost_iface);
}

static HRESULT STDMETHODCALLTYPE control_GetCLRManager(ICLRControl *iface, REFIID riid, void **out)
{
    struct htd_runtime *runtime = impl_from_ICLRControl(iface);

    if (!out)
        return E_INVALIDARG;
    /* After start no manager is handed out (src/vm/corhost.cpp
     * (CCorCLRControl::GetCLRManager)). */
    if (runtime->started)
        return HOST_E_INVALIDOPERATION;
    /* The same static object SetCLRTaskManager gives, without a reference. */
    if (IsEqualIID(riid, &IID_ICLRTaskManager))
    {
        *out = &htd_clr_manager()->ICLRTaskManager_iface;
        return S_OK;
    }
    return E_NOINTERFACE;
}

static HRESULT STDMETHODCALLTYPE control_SetAppDomainManagerType(ICLRControl *iface, LPCWSTR assembly,
        LPCWSTR type)
{
    struct htd_runtime *runtime = impl_from_ICLRControl(iface);

    /* Only before start; the simulation has no managed AppDomainManager to load. */
    return runtime->started ? HOST_E_INVALIDOPERATION : S_OK;
}

static const ICLRControlVtbl control_vtbl =
{
    control_QueryInterface,
    control_AddRef,
    control_Release,
    control_GetCLRManager,
    control_SetAppDomainManagerType,
};

HRESULT htd_runtime_create(const struct htd_options *options, ICLRRuntimeHost **out)
{
    struct htd_runtime *runtime;

    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!(runtime = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*runtime))))
        return E_OUTOFMEMORY;
    runtime->ICLRRuntimeHost_iface.lpVtbl = &runtime_vtbl;
    runtime->ICLRControl_iface.lpVtbl = &control_vtbl;
    runtime->refcount = 1;
    if (options)
        runtime->options = *options;
    runtime->clr_manager_given_after = -1;
    InitializeCriticalSection(&runtime->lock);
    htd__clr_manager_init(runtime->options.static_manager);
    *out = &runtime->ICLRRuntimeHost_iface;
    return S_OK;
}

struct htd_runtime *htd_runtime_from(ICLRRuntimeHost *host)
{
    if (!host || host->lpVtbl != &runtime_vtbl)
        return NULL;
    return impl_from_ICLRRuntimeHost(host);
}

const struct htd_target_record *htd_find_target(struct htd_runtime *runtime, SIZE_T target)
{
    LONG i;

    for (i = 0; i < runtime->target_count; i++)
        if (runtime->targets[i].target == target)
            return &runtime->targets[i];
    return NULL;
}
