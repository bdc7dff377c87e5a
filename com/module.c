/*
 * The module: DllMain, the class factory and the four Dll* exports.
 * Follows the in-process server rules of the COM documentation
 * (DllGetClassObject, DllCanUnloadNow, IClassFactory::LockServer).
 */
#include "private.h"

HINSTANCE ht__instance;
LONG ht__module_refs;
/* LockServer(TRUE) calls not yet undone; they are module references too. */
static LONG server_locks;

void ht__module_addref(void)
{
    InterlockedIncrement(&ht__module_refs);
}

void ht__module_release(void)
{
    InterlockedDecrement(&ht__module_refs);
}

/* The factory is one static object: its refcount does not pin the module,
 * LockServer does. */
static HRESULT STDMETHODCALLTYPE factory_QueryInterface(IClassFactory *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!riid)
        return E_INVALIDARG;

    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IClassFactory))
        *out = iface;
    else
        return E_NOINTERFACE;

    IClassFactory_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE factory_AddRef(IClassFactory *iface)
{
    return 2;
}

static ULONG STDMETHODCALLTYPE factory_Release(IClassFactory *iface)
{
    return 1;
}

static HRESULT STDMETHODCALLTYPE factory_CreateInstance(IClassFactory *iface,
        IUnknown *outer, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;

    /* The object keeps no controlling IUnknown, so it cannot be aggregated. */
    if (outer)
        return CLASS_E_NOAGGREGATION;
    if (!riid)
        return E_INVALIDARG;

    return ht__host_control_create(riid, out);
}

static HRESULT STDMETHODCALLTYPE factory_LockServer(IClassFactory *iface, BOOL lock)
{
    LONG locks;

    if (lock)
    {
        InterlockedIncrement(&server_locks);
        ht__module_addref();
        return S_OK;
    }
    /* An unlock with no lock taken would unpin objects that are alive:
     * refuse it and change nothing. */
    do
    {
        if (!(locks = InterlockedCompareExchange(&server_locks, 0, 0)))
            return E_UNEXPECTED;
    } while (InterlockedCompareExchange(&server_locks, locks - 1, locks) != locks);
    ht__module_release();
    return S_OK;
}

static const IClassFactoryVtbl factory_vtbl =
{
    factory_QueryInterface,
    factory_AddRef,
    factory_Release,
    factory_CreateInstance,
    factory_LockServer,
};

static IClassFactory factory = { &factory_vtbl };

HRESULT WINAPI DllGetClassObject(REFCLSID clsid, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!clsid || !riid)
        return E_INVALIDARG;

    if (!IsEqualCLSID(clsid, &CLSID_HostTaskControl))
        return CLASS_E_CLASSNOTAVAILABLE;
    return IClassFactory_QueryInterface(&factory, riid, out);
}

HRESULT WINAPI DllCanUnloadNow(void)
{
    /* Live objects, running task threads and LockServer(TRUE) calls all keep
     * the DLL loaded.  An adopted thread's binding does not: unloading frees
     * those (DLL_PROCESS_DETACH).  Task threads that ended without
     * returning from their routine give their references back first. */
    ht__tasks_reap();
    return InterlockedCompareExchange(&ht__module_refs, 0, 0) ? S_FALSE : S_OK;
}

HRESULT WINAPI DllRegisterServer(void)
{
    return ht__register(TRUE);
}

HRESULT WINAPI DllUnregisterServer(void)
{
    return ht__register(FALSE);
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, void *reserved)
{
    switch (reason)
    {
    case DLL_PROCESS_ATTACH:
        ht__instance = instance;
        ht__fault_init();
        /* Thread-detach notifications stay on: they end adopted threads'
         * bindings when those threads exit. */
        if ((ht__tls_task = TlsAlloc()) == TLS_OUT_OF_INDEXES)
            return FALSE;
        if ((ht__tls_affinity = TlsAlloc()) == TLS_OUT_OF_INDEXES)
        {
            TlsFree(ht__tls_task);
            return FALSE;
        }
        if ((ht__tls_detached = TlsAlloc()) == TLS_OUT_OF_INDEXES)
        {
            TlsFree(ht__tls_affinity);
            TlsFree(ht__tls_task);
            return FALSE;
        }
        ht__tasks_init();
        ht__task_manager_init();
        /* The clock's first calibration sample, so that profiling reads the
         * TSC soon after the host loads the DLL. */
        ht__platform_clock_start();
        break;
    case DLL_THREAD_DETACH:
        ht__tasks_thread_detach();
        break;
    case DLL_PROCESS_DETACH:
        /* With reserved set the process is exiting: other threads are gone
         * mid-flight, so free nothing. */
        if (reserved)
            break;
        ht__tasks_process_detach();
        ht__trace_process_detach();
        TlsFree(ht__tls_detached);
        TlsFree(ht__tls_affinity);
        TlsFree(ht__tls_task);
        break;
    }
    return TRUE;
}
