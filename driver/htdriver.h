/*
 * The CLR-style driver: a simulated .NET Framework runtime that drives a
 * task-hosting host as the CLR's source shows it does (docs/clr-host.md),
 * for machines where no real CLR can run (Wine).
 *
 * It is an ICLRRuntimeHost.  A host program does what it would do with the
 * real runtime (SetHostControl before Start, ExecuteInDefaultAppDomain,
 * Stop); only where the ICLRRuntimeHost comes from differs.  The "managed
 * code" it runs is a workload written in C against the functions below,
 * each of which makes the host calls the CLR makes for the managed
 * operation it stands for (P/Invoke, callback, Thread.Start, Join, Sleep,
 * Interrupt, thread affinity, Monitor and WaitHandle waits, CLR-internal
 * locks, GC suspension, COM calls, QCalls) and treats every result the way
 * the CLR does: where the CLR would throw or assert, the driver records a
 * fault and the workload sees a failing HRESULT.  Start creates the
 * runtime's own threads (the finalizer and the AppDomain-unload helper) as
 * the CLR does.
 *
 * Everything the driver did is recorded per managed thread and per P/Invoke
 * target, so that tests and the launcher can hold the host's statistics
 * against it.  The fake CLR objects it hands the host (ICLRTaskManager,
 * ICLRTask2) keep real reference counts for the same reason.
 *
 * Sources cited in the code: dotnet/coreclr at ef1e2ab3 (src/vm:
 * corhost.cpp, ceemain.cpp, threads.cpp, threadsuspend.cpp, hosting.cpp,
 * frames.cpp, dllimport.cpp, crst.cpp, synch.cpp, syncblk.cpp,
 * finalizerthread.cpp, appdomain.cpp, comsynchronizable.cpp) and
 * Microsoft's hosting reference pages (dotnet/docs
 * docs/framework/unmanaged-api/hosting/); docs/clr-host.md has the
 * protocol step by step.
 */
#ifndef HOSTTASK_HTDRIVER_H
#define HOSTTASK_HTDRIVER_H

#include <hosttask/hosttask.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The P/Invoke stub shapes of the two architectures: dotnet/coreclr@ef1e2ab3
 * src/vm/frames.cpp (PInvokeStubForHostWorker) for x64,
 * src/vm/dllimport.cpp (NDirect::... SetNDirectTarget) and
 * src/vm/i386/cgenx86.cpp for x86. */
enum htd_pinvoke_style
{
    HTD_PINVOKE_X64,   /* CallNeedsHostHook before every call */
    HTD_PINVOKE_X86    /* CallNeedsHostHook once per P/Invoke declaration, when its stub is bound */
};

struct htd_options
{
    enum htd_pinvoke_style style;
    /* The real CLR's ICLRTaskManager is a static object whose AddRef and
     * Release return 1 (corhost.cpp).  TRUE mimics that; FALSE returns the
     * real count.  Either way the driver counts internally. */
    BOOL static_manager;
    /* The finalizer's first idle wait, made through LeaveRuntime/EnterRuntime
     * before it blocks in the OS with no LeaveRuntime at all: 0 means the
     * CLR's 2000 ms (src/vm/finalizerthread.cpp
     * (FinalizerThread::WaitForFinalizerEvent)).  Tests shorten it to reach
     * the unannounced wait within a short run. */
    DWORD finalizer_wait_ms;
};

#define HTD_MAX_THREADS 64
#define HTD_MAX_TARGETS 64
#define HTD_MAX_FAULTS 32
#define HTD_MANAGER_IIDS 9

/* Methods of the fake ICLRTask2 the host may call, for the call counts. */
enum htd_task_method
{
    HTD_TASK_SWITCHIN, HTD_TASK_SWITCHOUT, HTD_TASK_GETMEMSTATS, HTD_TASK_RESET, HTD_TASK_EXITTASK,
    HTD_TASK_ABORT, HTD_TASK_RUDEABORT, HTD_TASK_NEEDSPRIORITYSCHEDULING, HTD_TASK_YIELDTASK,
    HTD_TASK_LOCKSHELD, HTD_TASK_SETTASKIDENTIFIER, HTD_TASK_BEGINPREVENTASYNCABORT,
    HTD_TASK_ENDPREVENTASYNCABORT, HTD_TASK_QUERYINTERFACE, HTD_TASK_METHODS
};

enum htd_manager_method
{
    HTD_MGR_CREATETASK, HTD_MGR_GETCURRENTTASK, HTD_MGR_SETUILOCALE, HTD_MGR_SETLOCALE,
    HTD_MGR_GETCURRENTTASKTYPE, HTD_MGR_QUERYINTERFACE, HTD_MGR_METHODS
};

/* The CLR's static ICLRTaskManager (corhost.cpp s_CLRTaskManager): one per
 * process, shared by every simulated runtime, never freed. */
struct htd_clr_manager
{
    ICLRTaskManager ICLRTaskManager_iface;
    LONG refcount;              /* 1 = the CLR's own; more = the host's references */
    LONG over_released;         /* Releases that would have gone below the CLR's own */
    LONG calls[HTD_MGR_METHODS];
};

/* The CLR's ICLRTask2 (the Thread object), one per managed thread. */
struct htd_clr_task
{
    ICLRTask2 ICLRTask2_iface;
    LONG refcount;              /* 1 = the CLR's own; more = the host's references */
    LONG over_released;
    LONG calls[HTD_TASK_METHODS];
    TASKID identifier;
    LONG prevent_async_abort;
    LONG abort_requested;
    struct htd_thread *thread;
};

/* What the driver did on one managed thread, as the host should count it:
 * every call below was made on this thread and answered S_OK (or, for
 * waits, the code named). */
struct htd_thread_record
{
    char role[24];
    DWORD os_thread_id;
    BOOL created;               /* Thread.Start through CreateTask; FALSE: adopted by SetupThread */
    BOOL hosted;                /* GetCurrentTask/CreateTask gave a task: transitions are reported */
    LONG64 leave, enter, reverse_enter, reverse_leave;
    LONG64 sleeps;              /* IHostTaskManager::Sleep calls */
    LONG64 alerts;              /* IHostTask::Alert calls on this thread's task (from any thread) */
    LONG64 interrupted_waits;   /* Sleep/Join that returned HOST_E_INTERRUPTED */
    LONG64 joins;               /* IHostTask::Join calls this thread made */
    LONG64 native_calls;        /* wrapped P/Invokes (a subset of leave) */
    LONG max_depth;             /* deepest transition nesting the driver reached */
    LONG max_affinity;
    LONG64 expected_exceptions; /* ThreadInterruptedException and the like, caught by the workload */
    ULONGLONG start_ms, end_ms; /* GetTickCount64 at setup and at the end of the body */
    /* Cooperative scheduling (docs/scheduler.md), as the CLR's side sees it. */
    LONG64 slot_entries;        /* times the thread came into the runtime from outside it (attach,
                                 * EnterRuntime, ReverseEnterRuntime from native code) or back from
                                 * a host wait (Sleep > 0, Join) while in it: a cooperative host
                                 * takes a slot for each, so this bounds its acquisitions from below */
    LONG64 switches;            /* SwitchToTask calls (and Sleep(0)): yields, each of which may
                                 * requeue the task for its slot once more */
    LONG64 safe_point_yields;   /* yields made at a safe point because the host had called
                                 * ICLRTask::YieldTask (a subset of switches) */
    BOOL runtime_thread;        /* one of the CLR's own (finalizer, AD-unload helper): it runs
                                 * while a host takes its report */
    LONG64 os_blocks;           /* OS waits made inside the runtime with no LeaveRuntime (a
                                 * contended CLR lock, the finalizer's idle wait): the slot
                                 * stays with the task until the host preempts it */
    LONG64 monitor_waits;       /* contended Monitor.Enter that blocked (LeaveRuntime'd) */
    LONG64 gc_waits;            /* times it waited for a GC to end (WaitUntilGCComplete) */
};

/* One managed thread: the CLR's Thread object. */
struct htd_thread
{
    struct htd_clr_task clr_task;
    struct htd_runtime *runtime;
    IHostTask *host_task;       /* one reference, released when the Thread dies (Stop) */
    struct htd_thread_record rec;
    HRESULT (*body)(struct htd_thread *self, void *arg);
    void *arg;
    HRESULT result;             /* what the body returned */
    volatile LONG started;      /* 1 when set up, -1 when setup failed */
    volatile LONG interruptible;/* TS_Interruptible: in Thread.Sleep/Join */
    volatile LONG interrupted;  /* TS_Interrupted: Thread.Interrupt pending */
    LONG depth;                 /* open transitions, for max_depth */
    LONG affinity;
    volatile LONG yield_requested;  /* TS_YieldRequested: the host called YieldTask */
    BOOL in_runtime;            /* in managed code (not out in a P/Invoke or back in native code) */
    LONG out;                   /* LeaveRuntime calls not yet matched by EnterRuntime */
    volatile LONG coop;         /* cooperative GC mode: a GC must wait for it to reach a safe point */
    volatile LONG os_wait;      /* in an OS wait inside the runtime with no LeaveRuntime */
    volatile LONG os_alertable; /* TSNC_OSAlertableWait: Thread.Interrupt wakes it by APC */
    volatile LONG ended;        /* the body returned: its OS thread is on its way out */
    unsigned int start_flags;   /* how it was started (driver_private.h HTD__START_*) */
};

/* A CLR-internal lock (Crst) when the host has no IHostSyncManager: an OS
 * critical section (src/vm/crst.cpp (CrstBase::InitWorker, CrstBase::Enter,
 * CrstBase::SpinEnter)). */
struct htd_crst
{
    CRITICAL_SECTION section;
    const char *name;
};

/* A managed object's lock (Monitor.Enter/Exit): the AwareLock of its sync
 * block, with an OS auto-reset event to block on when there is no
 * IHostSyncManager (src/vm/syncblk.cpp (AwareLock::EnterEpilogHelper),
 * src/vm/synch.cpp (CLREvent::CreateMonitorEvent)). */
struct htd_monitor
{
    volatile LONG owner;        /* the OS thread id of the owner, 0 when free */
    volatile LONG waiters;
    HANDLE event;
};

/* What kind of call out of managed code a target is called by. */
enum htd_call_kind
{
    HTD_CALL_PINVOKE,           /* [DllImport] */
    HTD_CALL_INTERNAL,          /* the CLR's own OS call (a wait): always wrapped, never asked */
    HTD_CALL_COM,               /* a COM method through an RCW */
    HTD_CALL_CALLI,             /* an unmanaged calli (a native function pointer) */
    HTD_CALL_QCALL              /* a QCall into the runtime's native helpers */
};

/* One P/Invoke target: what its stub did. */
struct htd_target_record
{
    SIZE_T target;
    char name[48];
    enum htd_call_kind kind;
    LONG64 hook_queries;        /* CallNeedsHostHook calls for it */
    LONG64 wrapped_calls;       /* calls made between LeaveRuntime and EnterRuntime */
    LONG64 direct_calls;        /* calls the host said need no hook */
    BOOL internal;              /* a CLR-internal OS call: always wrapped, never asked */
};

/* x86: one P/Invoke declaration (NDirectMethodDesc), bound once. */
struct htd_declaration
{
    SIZE_T target;
    char name[48];
    BOOL needs_hook;
};

enum htd_fault_kind
{
    HTD_FAULT_THROW,            /* the CLR would throw a managed exception */
    HTD_FAULT_ASSERT,           /* the CLR would assert (checked build) and carry on */
    HTD_FAULT_UNHANDLED,        /* an exception no workload code caught */
    HTD_FAULT_HANG              /* the CLR would hang here (the driver unwinds instead) */
};

struct htd_fault
{
    enum htd_fault_kind kind;
    HRESULT hr;
    char what[96];
};

struct htd_runtime
{
    ICLRRuntimeHost ICLRRuntimeHost_iface;
    ICLRControl ICLRControl_iface;
    LONG refcount;
    struct htd_options options;
    CRITICAL_SECTION lock;
    LONG started;               /* g_fEEStarted */
    LONG start_count;           /* CorHost2::m_RefCount */
    IHostControl *host_control; /* AddRef'd at the end of SetHostControl, released by Stop */
    IHostTaskManager *task_manager;     /* the accepted manager: the CLR keeps it for good */
    IUnknown *other_managers[HTD_MANAGER_IIDS]; /* any other manager a host hands out, kept too */

    /* The handshake as it happened: the IIDs asked, in order, and the answers. */
    GUID asked[HTD_MANAGER_IIDS * 2];
    HRESULT answers[HTD_MANAGER_IIDS * 2];
    LONG asked_count;
    LONG clr_manager_given_after;       /* asked_count when SetCLRTaskManager was called; -1: never */

    struct htd_thread *threads[HTD_MAX_THREADS];
    LONG thread_count;
    struct htd_target_record targets[HTD_MAX_TARGETS];
    LONG target_count;
    struct htd_declaration declarations[HTD_MAX_TARGETS];
    LONG declaration_count;
    volatile LONG pending_starts;       /* ThreadStore::m_PendingThreadCount */
    struct htd_fault faults[HTD_MAX_FAULTS];
    LONG fault_count;

    /* The runtime's own threads, created at Start (src/vm/ceemain.cpp
     * (EEStartupHelper)), ended at Stop. */
    struct htd_thread *finalizer, *unload_helper;
    HANDLE finalizer_event;     /* hEventFinalizer: work for the finalizer (auto-reset) */
    HANDLE finalizer_done;      /* hEventFinalizerDone (manual) */
    HANDLE unload_event;        /* g_pUnloadStartEvent (auto-reset) */
    HANDLE runtime_thread_ended[2];
    volatile LONG quit;         /* FinalizerThread::fQuitFinalizer, and the same for the helper */
    volatile LONG unload_helper_up;     /* g_fADUnloadWorkerOK: 1 up, -1 failed */
    /* GC suspension (src/vm/threadsuspend.cpp (Thread::SuspendRuntime)). */
    struct htd_crst thread_store_lock;  /* ThreadStore::s_pThreadStore->m_Crst */
    volatile LONG gc_pending;   /* g_TrapReturningThreads for a GC */
    struct htd_thread *volatile gc_suspender;
    HANDLE gc_suspend_event;    /* g_pGCSuspendEvent (auto-reset) */
    HANDLE gc_done;             /* the GC-done event WaitUntilGCComplete waits on (manual) */
    LONG64 gcs;
    BOOL resources;             /* the events and locks above exist */

    /* The last ExecuteInDefaultAppDomain. */
    WCHAR assembly[MAX_PATH], type[128], method[64], argument[128];
    ULONGLONG run_start_ms, run_end_ms;
};

/* The CLR's static task manager, shared by all runtimes. */
struct htd_clr_manager *htd_clr_manager(void);

/* Creates a simulated runtime, like ICLRRuntimeInfo::GetInterface(
 * CLSID_CLRRuntimeHost, IID_ICLRRuntimeHost) would.  options may be NULL
 * (x64 style, counting manager). */
HRESULT htd_runtime_create(const struct htd_options *options, ICLRRuntimeHost **out);

/* The simulated runtime behind an ICLRRuntimeHost, or NULL for a real one. */
struct htd_runtime *htd_runtime_from(ICLRRuntimeHost *host);

/* TRUE when no fake CLR object is referenced by the host any more and none
 * was over-released; otherwise FALSE and a description in why. */
BOOL htd_fakes_at_baseline(struct htd_runtime *runtime, char *why, size_t size);

/* The type every workload lives in, and the workloads. */
#define HTD_WORKLOAD_TYPE L"HostTask.Simulated.Workloads"
struct htd_workload
{
    const WCHAR *method;        /* the METHOD argument of ExecuteInDefaultAppDomain */
    const char *name;           /* the --simulate=NAME of the launcher */
    const char *description;
    /* Runs on the thread that called ExecuteInDefaultAppDomain; argument
     * may be NULL.  Returns the method's return value in *ret; a failing
     * HRESULT is an exception that left the method. */
    HRESULT (*run)(struct htd_thread *self, const WCHAR *argument, DWORD *ret);
};
extern const struct htd_workload htd_workloads[];
extern const unsigned int htd_workload_count;
const struct htd_workload *htd_find_workload(const char *name);

/* ---- "Managed code": what workloads are written against ---- */

/* A P/Invoke to target (the real address of a native function), made
 * through stub(ctx), which calls it.  Wraps it per the runtime's style.
 * Returns S_OK or the exception the CLR would throw (the call is then not
 * made when LeaveRuntime failed). */
typedef ULONG_PTR (*htd_native_stub)(void *ctx);
HRESULT htd_pinvoke(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub,
        void *ctx, ULONG_PTR *result);

/* A native-to-managed callback (reverse P/Invoke), called from native code
 * on any thread: finds the calling thread's Thread or sets one up,
 * then ReverseEnterRuntime, managed(self, ctx), ReverseLeaveRuntime. */
typedef HRESULT (*htd_managed_fn)(struct htd_thread *self, void *ctx);
HRESULT htd_reverse_call(struct htd_runtime *runtime, htd_managed_fn managed, void *ctx);

/* Thread.Start: a new managed thread running body(thread, arg). */
HRESULT htd_thread_start(struct htd_thread *self, const char *role,
        HRESULT (*body)(struct htd_thread *self, void *arg), void *arg, struct htd_thread **out);
/* Thread.Join(ms): *joined FALSE when the time ran out.  COR_E_THREADINTERRUPTED
 * when interrupted, HOST_E_DEADLOCK when the host says the join is one. */
HRESULT htd_thread_join(struct htd_thread *self, struct htd_thread *thread, DWORD milliseconds, BOOL *joined);
/* A CLR-internal join (Thread::Join(timeout, alertable)): WAIT_NOTINDEADLOCK,
 * plus WAIT_ALERTABLE when alertable, e.g. the abort poll's self-join
 * Join(10, TRUE).  *joined FALSE when the time ran out. */
HRESULT htd_internal_join(struct htd_thread *self, struct htd_thread *thread, DWORD milliseconds, BOOL alertable,
        BOOL *joined);
/* Thread.Sleep(ms).  COR_E_THREADINTERRUPTED when interrupted. */
HRESULT htd_thread_sleep(struct htd_thread *self, DWORD milliseconds);
/* Thread.Interrupt. */
void htd_thread_interrupt(struct htd_thread *self, struct htd_thread *thread);
/* Thread.Yield and the CLR's spin loops: SwitchToTask(0). */
void htd_thread_yield(struct htd_thread *self);
/* TRUE while thread is blocked in an interruptible wait (Thread.ThreadState
 * has WaitSleepJoin). */
BOOL htd_thread_in_wait(struct htd_thread *thread);
/* Thread.BeginThreadAffinity / EndThreadAffinity; the CLR's own locks too. */
HRESULT htd_begin_affinity(struct htd_thread *self);
HRESULT htd_end_affinity(struct htd_thread *self);
/* WaitHandle.WaitOne: the CLR's own OS wait, alertable, between LeaveRuntime
 * and EnterRuntime.  *signaled FALSE on timeout; COR_E_THREADINTERRUPTED when
 * Thread.Interrupt (an APC) ended it. */
HRESULT htd_wait_handle(struct htd_thread *self, HANDLE handle, DWORD milliseconds, BOOL *signaled);
/* Monitor.Enter / Monitor.Exit on a managed object's lock.  Contended:
 * SwitchToTask(0) spins, then an alertable OS wait between LeaveRuntime
 * and EnterRuntime. */
HRESULT htd_monitor_init(struct htd_monitor *monitor);
void htd_monitor_delete(struct htd_monitor *monitor);
HRESULT htd_monitor_enter(struct htd_thread *self, struct htd_monitor *monitor);
void htd_monitor_exit(struct htd_thread *self, struct htd_monitor *monitor);
/* A CLR-internal lock: thread affinity for as long as it is held,
 * SwitchToTask(0) spins, then an OS block with no LeaveRuntime. */
void htd_crst_init(struct htd_crst *crst, const char *name);
void htd_crst_delete(struct htd_crst *crst);
void htd_crst_enter(struct htd_thread *self, struct htd_crst *crst);
void htd_crst_leave(struct htd_thread *self, struct htd_crst *crst);
/* A GC (GC.Collect(), or an allocation that triggers one): suspends the
 * runtime, collects, resumes, and hands the finalizer its work. */
HRESULT htd_gc_collect(struct htd_thread *self);
/* A call through a runtime-callable wrapper (a COM object's method): x64
 * asks CallNeedsHostHook each call, x86 wraps it without asking. */
HRESULT htd_com_call(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result);
/* A QCall (e.g. the body of Thread.Yield's helpers): x64 never hooks it;
 * x86 asks CallNeedsHostHook once and never wraps it. */
HRESULT htd_qcall(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result);
/* An unmanaged calli (a call through a native function pointer): x64 asks
 * each call; x86 wraps it without asking. */
HRESULT htd_calli(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result);
/* Marks an exception the workload caught and expected. */
void htd_caught(struct htd_thread *self, HRESULT hr);
/* A safe point (a GC poll: a loop's back-edge, the return from a P/Invoke).
 * A pending GC parks the thread here until it ends; if the host asked this
 * thread to yield (ICLRTask::YieldTask), it does so here: SwitchToTask(0).
 * htd_pinvoke has one after every call; workloads put one in every loop
 * that may run long. */
void htd_safe_point(struct htd_thread *self);

/* The record of a target (NULL when the workload never called it). */
const struct htd_target_record *htd_find_target(struct htd_runtime *runtime, SIZE_T target);

/* Text for an HRESULT the CLR hosting API uses ("HOST_E_INTERRUPTED", ...),
 * or NULL. */
const char *htd_hresult_name(HRESULT hr);

#ifdef __cplusplus
}
#endif

#endif /* HOSTTASK_HTDRIVER_H */
