/*
 * Test-only fault injection (see com/fault.h): the system calls com/
 * makes that can fail, wrapped, and the hidden interface that arms them.
 * com/private.h redirects HeapAlloc, HeapReAlloc, HeapFree, CreateEventW,
 * CreateThread and DuplicateHandle here for every file of com/ but this one;
 * the core's platform layer (src/win/platform.c) asks the same countdown
 * through ht__platform_fault_hook for its heap blocks, events and threads.
 */
#define HT__FAULT_IMPL
#include "private.h"

LONG ht__fault_enabled;
static LONG armed_kinds, countdown, fired, calls;
/* Live blocks from the heap wrappers: counted only while enabled, which is
 * from the DLL's load on. */
static LONG heap_blocks;

_Static_assert(HT__PLATFORM_FAULT_HEAP == HT_FAULT_HEAP && HT__PLATFORM_FAULT_EVENT == HT_FAULT_EVENT
        && HT__PLATFORM_FAULT_THREAD == HT_FAULT_THREAD, "the core's fault kinds are IHostTaskFaults' kinds");

/* The core's platform layer (src/win/platform.c) asks these. */
static int platform_fault(unsigned int kind)
{
    return ht__fault_hit(kind);
}

static void platform_heap(int delta)
{
    InterlockedExchangeAdd(&heap_blocks, delta);
}

void ht__fault_init(void)
{
    char value[8];
    DWORD length = GetEnvironmentVariableA("HOSTTASK_TEST_FAULTS", value, sizeof(value));

    if (length == 1 && value[0] == '1')
    {
        ht__fault_enabled = 1;
        ht__platform_fault_hook = platform_fault;
        ht__platform_heap_hook = platform_heap;
    }
}

BOOL ht__fault_hit(DWORD kind)
{
    if (!(InterlockedCompareExchange(&armed_kinds, 0, 0) & kind))
        return FALSE;
    InterlockedIncrement(&calls);
    if (InterlockedDecrement(&countdown))
        return FALSE;
    InterlockedExchange(&armed_kinds, 0);
    InterlockedExchange(&fired, 1);
    return TRUE;
}

void *ht__fault_heap_alloc(HANDLE heap, DWORD flags, SIZE_T size)
{
    void *p;

    if (ht__fault(HT_FAULT_HEAP))
        return NULL;
    if ((p = HeapAlloc(heap, flags, size)) && ht__fault_enabled)
        InterlockedIncrement(&heap_blocks);
    return p;
}

void *ht__fault_heap_realloc(HANDLE heap, DWORD flags, void *p, SIZE_T size)
{
    if (ht__fault(HT_FAULT_HEAP))
        return NULL;
    return HeapReAlloc(heap, flags, p, size);
}

BOOL ht__fault_heap_free(HANDLE heap, DWORD flags, void *p)
{
    if (p && ht__fault_enabled)
        InterlockedDecrement(&heap_blocks);
    return HeapFree(heap, flags, p);
}

HANDLE ht__fault_create_event(SECURITY_ATTRIBUTES *sa, BOOL manual, BOOL initial, const WCHAR *name)
{
    if (ht__fault(HT_FAULT_EVENT))
    {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    return CreateEventW(sa, manual, initial, name);
}

HANDLE ht__fault_create_thread(SECURITY_ATTRIBUTES *sa, SIZE_T stack, LPTHREAD_START_ROUTINE start,
        void *param, DWORD flags, DWORD *id)
{
    if (ht__fault(HT_FAULT_THREAD))
    {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return NULL;
    }
    return CreateThread(sa, stack, start, param, flags, id);
}

BOOL ht__fault_duplicate_handle(HANDLE from_process, HANDLE source, HANDLE to_process, HANDLE *target,
        DWORD access, BOOL inherit, DWORD options)
{
    if (ht__fault(HT_FAULT_DUPLICATE))
    {
        SetLastError(ERROR_NOT_ENOUGH_MEMORY);
        return FALSE;
    }
    return DuplicateHandle(from_process, source, to_process, target, access, inherit, options);
}

/* The interface: one static object, like the class factory; its
 * references do not pin the module. */
static HRESULT STDMETHODCALLTYPE faults_QueryInterface(IHostTaskFaults *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!riid)
        return E_INVALIDARG;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IHostTaskFaults))
        return E_NOINTERFACE;
    *out = iface;
    return S_OK;
}

static ULONG STDMETHODCALLTYPE faults_AddRef(IHostTaskFaults *iface)
{
    return 2;
}

static ULONG STDMETHODCALLTYPE faults_Release(IHostTaskFaults *iface)
{
    return 1;
}

static HRESULT STDMETHODCALLTYPE faults_Arm(IHostTaskFaults *iface, DWORD kinds, ULONG nth)
{
    InterlockedExchange(&armed_kinds, 0);
    InterlockedExchange(&fired, 0);
    InterlockedExchange(&calls, 0);
    InterlockedExchange(&countdown, (LONG)nth);
    if (nth)
        InterlockedExchange(&armed_kinds, (LONG)kinds);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE faults_GetState(IHostTaskFaults *iface, BOOL *was_fired, ULONG *seen)
{
    if (!was_fired || !seen)
        return E_POINTER;
    *was_fired = InterlockedCompareExchange(&fired, 0, 0);
    *seen = (ULONG)InterlockedCompareExchange(&calls, 0, 0);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE faults_GetCounts(IHostTaskFaults *iface, LONG *blocks, LONG *module_refs)
{
    if (!blocks || !module_refs)
        return E_POINTER;
    *blocks = InterlockedCompareExchange(&heap_blocks, 0, 0);
    *module_refs = InterlockedCompareExchange(&ht__module_refs, 0, 0);
    return S_OK;
}

static const IHostTaskFaultsVtbl faults_vtbl =
{
    faults_QueryInterface,
    faults_AddRef,
    faults_Release,
    faults_Arm,
    faults_GetState,
    faults_GetCounts,
};

static IHostTaskFaults faults = { &faults_vtbl };

IUnknown *ht__fault_interface(void)
{
    return ht__fault_enabled ? (IUnknown *)&faults : NULL;
}
