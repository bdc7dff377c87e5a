/*
 * IHostControl: what a CLR host passes to ICLRRuntimeHost::SetHostControl.
 *
 * Follows dotnet/docs ihostcontrol-gethostmanager-method.md and
 * ihostcontrol-setappdomainmanager-method.md, and what
 * CorHost2::SetHostControl (dotnet/coreclr ef1e2ab3 src/vm/corhost.cpp)
 * accepts: S_OK with a non-NULL, AddRef'd pointer, or a refusal with NULL.
 */
#include "private.h"

struct domain_manager
{
    DWORD domain_id;
    IUnknown *manager;
};

struct host_control
{
    IHostControl IHostControl_iface;
    LONG refcount;
    IHostTaskManager *task_manager;
    CRITICAL_SECTION lock;          /* guards domains; never held across a call out */
    struct domain_manager *domains;
    SIZE_T domain_count, domain_capacity;
};

static inline struct host_control *impl_from_IHostControl(IHostControl *iface)
{
    return CONTAINING_RECORD(iface, struct host_control, IHostControl_iface);
}

static HRESULT STDMETHODCALLTYPE host_control_QueryInterface(IHostControl *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!riid)
        return E_INVALIDARG;

    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IHostControl))
        *out = iface;
    else
        return E_NOINTERFACE;

    IHostControl_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE host_control_AddRef(IHostControl *iface)
{
    struct host_control *control = impl_from_IHostControl(iface);

    return InterlockedIncrement(&control->refcount);
}

static ULONG STDMETHODCALLTYPE host_control_Release(IHostControl *iface)
{
    struct host_control *control = impl_from_IHostControl(iface);
    ULONG refcount = InterlockedDecrement(&control->refcount);
    SIZE_T i;

    if (!refcount)
    {
        for (i = 0; i < control->domain_count; i++)
            IUnknown_Release(control->domains[i].manager);
        HeapFree(GetProcessHeap(), 0, control->domains);
        DeleteCriticalSection(&control->lock);
        IHostTaskManager_Release(control->task_manager);
        HeapFree(GetProcessHeap(), 0, control);
        /* Last: DllCanUnloadNow may answer S_OK as soon as this reaches zero. */
        ht__module_release();
    }
    return refcount;
}

static HRESULT STDMETHODCALLTYPE host_control_GetHostManager(IHostControl *iface, REFIID riid, void **out)
{
    struct host_control *control = impl_from_IHostControl(iface);

    /* E_INVALIDARG, not E_POINTER: the documented code for this method. */
    if (!out)
        return E_INVALIDARG;
    *out = NULL;
    if (!riid)
        return E_INVALIDARG;

    /* Every other manager (memory, sync, thread pool, ...) is refused: the
     * CLR then does that work itself. */
    if (!IsEqualIID(riid, &IID_IHostTaskManager))
        return E_NOINTERFACE;

    /* The same object every time, one reference per call: the CLR keeps the
     * first and, under spin-lock contention, asks again and releases. */
    *out = control->task_manager;
    IHostTaskManager_AddRef(control->task_manager);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE host_control_SetAppDomainManager(IHostControl *iface,
        DWORD domain_id, IUnknown *manager)
{
    struct host_control *control = impl_from_IHostControl(iface);
    struct domain_manager *domains;
    IUnknown *previous = NULL;
    SIZE_T i, capacity;
    HRESULT hr = S_OK;

    if (manager)
        IUnknown_AddRef(manager);

    EnterCriticalSection(&control->lock);
    for (i = 0; i < control->domain_count; i++)
        if (control->domains[i].domain_id == domain_id)
            break;
    if (i < control->domain_count)
    {
        previous = control->domains[i].manager;
        if (manager)
            control->domains[i].manager = manager;
        else
            control->domains[i] = control->domains[--control->domain_count];
    }
    else if (manager)
    {
        if (control->domain_count == control->domain_capacity)
        {
            capacity = control->domain_capacity ? control->domain_capacity * 2 : 4;
            domains = control->domains
                    ? HeapReAlloc(GetProcessHeap(), 0, control->domains, capacity * sizeof(*domains))
                    : HeapAlloc(GetProcessHeap(), 0, capacity * sizeof(*domains));
            if (domains)
            {
                control->domains = domains;
                control->domain_capacity = capacity;
            }
        }
        if (control->domain_count < control->domain_capacity)
        {
            control->domains[control->domain_count].domain_id = domain_id;
            control->domains[control->domain_count++].manager = manager;
        }
        else
        {
            previous = manager;
            hr = E_OUTOFMEMORY;
        }
    }
    LeaveCriticalSection(&control->lock);

    /* Released outside the lock: a manager's Release may call anywhere. */
    if (previous)
        IUnknown_Release(previous);
    return hr;
}

static const IHostControlVtbl host_control_vtbl =
{
    /* IUnknown */
    host_control_QueryInterface,
    host_control_AddRef,
    host_control_Release,
    /* IHostControl, in IDL order */
    host_control_GetHostManager,
    host_control_SetAppDomainManager,
};

HRESULT ht__host_control_create(REFIID riid, void **out)
{
    struct host_control *control;
    HRESULT hr;

    *out = NULL;
    if (!(control = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*control))))
        return E_OUTOFMEMORY;
    if (FAILED(hr = ht__task_manager_get(&control->task_manager)))
    {
        HeapFree(GetProcessHeap(), 0, control);
        return hr;
    }
    control->IHostControl_iface.lpVtbl = &host_control_vtbl;
    control->refcount = 1;
    InitializeCriticalSection(&control->lock);
    ht__module_addref();

    /* The caller gets exactly the interface it asked for; dropping our own
     * reference frees the object again if that interface is refused. */
    hr = IHostControl_QueryInterface(&control->IHostControl_iface, riid, out);
    IHostControl_Release(&control->IHostControl_iface);
    return hr;
}
