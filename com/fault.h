/*
 * Test-only fault injection: the hidden interface a test reaches through
 * the task manager's QueryInterface, and only when the process started
 * with HOSTTASK_TEST_FAULTS=1 in its environment (read once, when the DLL
 * loads).  Otherwise QueryInterface answers E_NOINTERFACE and the checks
 * in com/ cost one predicted branch on paths that already make a system
 * call; the transition fast paths make none.  The DLL exports nothing new.
 *
 * Included by com/private.h and by tests; needs only <windows.h>.
 */
#ifndef HOSTTASK_FAULT_H
#define HOSTTASK_FAULT_H

/* What can be made to fail (bits of IHostTaskFaults::Arm's kinds). */
#define HT_FAULT_HEAP       0x01    /* HeapAlloc, HeapReAlloc, the core's ht__platform_alloc/realloc: NULL */
#define HT_FAULT_EVENT      0x02    /* CreateEventW, ht__platform_event_create: NULL */
#define HT_FAULT_THREAD     0x04    /* CreateThread, ht__platform_thread_start: NULL */
#define HT_FAULT_DUPLICATE  0x08    /* DuplicateHandle: FALSE */
#define HT_FAULT_TLS        0x10    /* binding the adopted thread's TLS slot: fails */
#define HT_FAULT_ALL        0x1f
#define HT_FAULT_WAIT_EARLY 0x20    /* a host wait's WAIT_TIMEOUT comes at once, as if early */
#define HT_FAULT_TEARDOWN_PAUSE 0x40 /* the task manager's teardown pauses 300 ms midway */
#define HT_FAULT_SCHEDULER_PAUSE 0x80 /* SetScheduler pauses 300 ms between installing and recording */
#define HT_FAULT_START_PAUSE 0x100  /* IHostTask::Start pauses 300 ms after resuming the thread */

/* {6f1d7a40-0c55-4b8e-9d43-1a6e5b0f2c71} */
static const GUID IID_IHostTaskFaults =
        { 0x6f1d7a40, 0x0c55, 0x4b8e, { 0x9d, 0x43, 0x1a, 0x6e, 0x5b, 0x0f, 0x2c, 0x71 } };

typedef struct IHostTaskFaults IHostTaskFaults;
typedef struct IHostTaskFaultsVtbl
{
    HRESULT (STDMETHODCALLTYPE *QueryInterface)(IHostTaskFaults *iface, REFIID riid, void **out);
    ULONG (STDMETHODCALLTYPE *AddRef)(IHostTaskFaults *iface);
    ULONG (STDMETHODCALLTYPE *Release)(IHostTaskFaults *iface);
    /* The nth call (from 1) of any kind in kinds, from now, fails; 0 disarms. */
    HRESULT (STDMETHODCALLTYPE *Arm)(IHostTaskFaults *iface, DWORD kinds, ULONG nth);
    /* Whether the armed fault fired, and how many calls of the armed kinds were seen. */
    HRESULT (STDMETHODCALLTYPE *GetState)(IHostTaskFaults *iface, BOOL *fired, ULONG *calls);
    /* Heap blocks the COM layer and the core hold, and the module's references. */
    HRESULT (STDMETHODCALLTYPE *GetCounts)(IHostTaskFaults *iface, LONG *heap_blocks, LONG *module_refs);
} IHostTaskFaultsVtbl;

struct IHostTaskFaults
{
    const IHostTaskFaultsVtbl *lpVtbl;
};

#define IHostTaskFaults_Arm(p, k, n) (p)->lpVtbl->Arm(p, k, n)
#define IHostTaskFaults_GetState(p, f, c) (p)->lpVtbl->GetState(p, f, c)
#define IHostTaskFaults_GetCounts(p, b, m) (p)->lpVtbl->GetCounts(p, b, m)

#endif /* HOSTTASK_FAULT_H */
