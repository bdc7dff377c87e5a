/*
 * IHostTask, the task registry and thread binding (host waits: com/wait.c).
 *
 * Behaviour follows the IHostTask pages of dotnet/docs
 * (docs/framework/unmanaged-api/hosting/ihosttask-*) and what the CLR does
 * with each result in dotnet/coreclr ef1e2ab3 src/vm/threads.cpp
 * (StartThread, HostJoinOnThread, UserInterrupt).  One task is one OS
 * thread: tasks never move between threads.
 */
#include "private.h"

#include <string.h>

/* A created task's thread, from CreateTask until its end is accounted
 * for: handed to the thread as its parameter, and listed in
 * running_threads.  It holds what the thread holds: a hold on the task,
 * a module reference and a pin on the DLL (GetModuleHandleExW).  The
 * thread gives them back with its last instructions in this module; a
 * thread that never gets there (its routine called ExitThread or
 * FreeLibraryAndExitThread, or TerminateThread ended it) leaves its record
 * listed, and reap_threads() gives them back once the thread handle is
 * signaled, when no instruction of the thread can run in the DLL. */
struct task_start
{
    LIST_ENTRY link;
    struct host_task *task;
    LPTHREAD_START_ROUTINE start;
    void *param;
    HMODULE pin;
};

/* Reservations above this are refused as if the address space ran out; no
 * managed thread needs a gigabyte of stack, and a 64-bit process would
 * otherwise grant it. */
#define HT__MAX_STACK (1u << 30)

DWORD ht__tls_task = TLS_OUT_OF_INDEXES;
DWORD ht__tls_affinity = TLS_OUT_OF_INDEXES;
DWORD ht__tls_detached = TLS_OUT_OF_INDEXES;

/* The registry: every task object alive, for statistics and for unloading.
 * Taken only when a task is born or freed and when statistics are read,
 * never on a transition and never across a wait. */
static CRITICAL_SECTION registry_lock;
static LIST_ENTRY registry = { &registry, &registry };
static LONG live_tasks;
static LONG64 next_task_id;
/* Guards every task's clr_task: SetCLRTask swaps it (once or twice in a
 * task's life), the scheduler takes a reference to it for a runaway. */
static SRWLOCK clr_task_lock = SRWLOCK_INIT;
/* The records of created tasks' threads (struct task_start), under
 * threads_lock; never taken under the registry lock nor the other way. */
static SRWLOCK threads_lock = SRWLOCK_INIT;
static LIST_ENTRY running_threads = { &running_threads, &running_threads };
/* Tasks whose destruction a thread's detach left for later, because it
 * would release their CLR task under the loader lock (deferred_next). */
static struct host_task *_Atomic deferred_tasks;
/* Set by DLL_PROCESS_DETACH (com/module.c), under the loader lock. */
static BOOL process_detaching;
/* Set by a detach that saw a created task's thread end inside its routine. */
static LONG early_exits;

static inline struct host_task *impl_from_IHostTask(IHostTask *iface)
{
    return CONTAINING_RECORD(iface, struct host_task, IHostTask_iface);
}

void ht__tasks_init(void)
{
    InitializeCriticalSection(&registry_lock);
}

static void task_destroy(struct host_task *task)
{
    struct host_sched *sched = atomic_load_explicit(&task->sched, memory_order_acquire);
    ICLRTask *clr_task;

    /* In a thread's DLL_THREAD_DETACH the loader lock is held, and
     * ICLRTask::Release runs the CLR's code, which must not run there
     * (Microsoft's "Dynamic-Link Library Best Practices"): the task waits
     * for the next call outside it (reap_deferred). */
    if (task->clr_task && !process_detaching && ht__tls_get(ht__tls_detached))
    {
        task->deferred_next = atomic_load_explicit(&deferred_tasks, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&deferred_tasks, &task->deferred_next, task,
                memory_order_release, memory_order_relaxed))
            ;
        return;
    }

    EnterCriticalSection(&registry_lock);
    ht__list_remove(&task->link);
    ht__trace_task_ended(task);
    LeaveCriticalSection(&registry_lock);

    if (sched)
    {
        ht__sched_task_destroy(&sched->sched);
        HeapFree(GetProcessHeap(), 0, sched);
    }
    /* In DLL_PROCESS_DETACH (the loader lock again) the reference is
     * dropped without the call. */
    if ((clr_task = task->clr_task) && !process_detaching)
        ICLRTask_Release(clr_task);
    if (task->thread)
        CloseHandle(task->thread);
    if (task->alert_event)
        CloseHandle(task->alert_event);
    HeapFree(GetProcessHeap(), 0, task->baseline);
    ht__nest_destroy(&task->core);
    HeapFree(GetProcessHeap(), 0, task);
    InterlockedDecrement(&live_tasks);
}

/* Sets bit (HT__TASK_CLAIMED or HT__TASK_CANCELLED) if neither is set
 * yet: a created task is started or cancelled, once. */
static BOOL task_claim(struct host_task *task, LONG bit)
{
    LONG old = ht__task_flags(task), seen;

    for (;;)
    {
        if (old & (HT__TASK_CLAIMED | HT__TASK_CANCELLED))
            return FALSE;
        if ((seen = InterlockedCompareExchange(&task->flags, old | bit, old)) == old)
            return TRUE;
        old = seen;
    }
}

static void task_drop_hold(struct host_task *task)
{
    if (!InterlockedDecrement(&task->holds))
        task_destroy(task);
}

static HRESULT STDMETHODCALLTYPE task_QueryInterface(IHostTask *iface, REFIID riid, void **out)
{
    if (!out)
        return E_POINTER;
    *out = NULL;
    if (!riid)
        return E_INVALIDARG;

    if (IsEqualIID(riid, &IID_IUnknown) || IsEqualIID(riid, &IID_IHostTask))
        *out = iface;
    else
        return E_NOINTERFACE;

    IHostTask_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE task_AddRef(IHostTask *iface)
{
    struct host_task *task = impl_from_IHostTask(iface);
    LONG refs = InterlockedIncrement(&task->com_refs);

    /* All COM references together are one hold, and one module reference. */
    if (refs == 1)
    {
        InterlockedIncrement(&task->holds);
        ht__module_addref();
    }
    return refs;
}

static ULONG STDMETHODCALLTYPE task_Release(IHostTask *iface)
{
    struct host_task *task = impl_from_IHostTask(iface);
    LONG refs = InterlockedDecrement(&task->com_refs);

    if (!refs)
    {
        /* Nobody can Start it any more: let the suspended thread run out. */
        if (task_claim(task, HT__TASK_CANCELLED))
            ResumeThread(task->thread);
        task_drop_hold(task);
        /* Last: DllCanUnloadNow may answer S_OK as soon as this reaches zero. */
        ht__module_release();
    }
    return refs;
}

static HRESULT STDMETHODCALLTYPE task_Start(IHostTask *iface)
{
    struct host_task *task = impl_from_IHostTask(iface);
    DWORD previous;

    /* Exactly once, and only for a task CreateTask made (an adopted one
     * is claimed from birth). */
    if (!task_claim(task, HT__TASK_CLAIMED))
        return HOST_E_INVALIDOPERATION;

    /* ResumeThread fails only with (DWORD)-1; the previous suspend count of a
     * CREATE_SUSPENDED thread is 1, and any count is a successful resume. */
    /* Started before the thread runs: the routine's own statistics show it. */
    InterlockedOr(&task->flags, HT_TASK_STARTED);
    previous = ResumeThread(task->thread);
    if (previous == (DWORD)-1)
    {
        InterlockedAnd(&task->flags, ~(HT__TASK_CLAIMED | HT_TASK_STARTED));
        return E_FAIL;
    }
    /* Test-only: the thread runs ahead of Start's return (com/fault.h). */
    if (ht__fault(HT_FAULT_START_PAUSE))
        Sleep(300);
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_Alert(IHostTask *iface)
{
    struct host_task *task = impl_from_IHostTask(iface);

    /* Never blocks: the flag is the alert, the event only wakes a waiter.
     * An alert on a finished task is kept and harmless. */
    InterlockedIncrement64(&task->alerts);
    ht__trace_alert(ht__task_current(), task);
    InterlockedOr(&task->flags, HT__TASK_ALERT_PENDING);
    SetEvent(task->alert_event);
    return S_OK;
}

void ht__task_note_options(struct host_task *self, DWORD option)
{
    if (self && (option & ~(DWORD)(WAIT_MSGPUMP | WAIT_ALERTABLE | WAIT_NOTINDEADLOCK)))
        InterlockedIncrement64(&self->unknown_options);
}

static HRESULT STDMETHODCALLTYPE task_Join(IHostTask *iface, DWORD milliseconds, DWORD option)
{
    struct host_task *task = impl_from_IHostTask(iface);
    struct host_task *self = ht__task_current();

    if (self)
        InterlockedIncrement64(&self->joins);
    ht__task_note_options(self, option);
    /* A task joining itself waits for its own end, which never comes
     * while it waits.  A finite self-join is a timed, interruptible wait
     * like any other and ends with HOST_E_TIMEOUT, as it would with no
     * host: managed Thread.CurrentThread.Join(100) returns false after
     * 100 ms, and Join(0) at once.  Managed Thread.Join passes
     * WAIT_ALERTABLE (plus WAIT_MSGPUMP off an MTA) and never
     * WAIT_NOTINDEADLOCK (dotnet/coreclr@ef1e2ab3
     * src/vm/comsynchronizable.cpp (ThreadNative::DoJoin),
     * src/vm/threads.cpp (HostJoinOnThread)), and the CLR throws
     * HOST_E_DEADLOCK into managed code (src/vm/excep.cpp
     * (RaiseDeadLockException)); so only an INFINITE self-join not
     * marked WAIT_NOTINDEADLOCK is a deadlock the host reports. */
    if (self == task && milliseconds == INFINITE && !(option & WAIT_NOTINDEADLOCK))
        return HOST_E_DEADLOCK;
    return ht__task_wait(task->thread, milliseconds, option);
}

static BOOL valid_priority(int priority)
{
    switch (priority)
    {
    case THREAD_PRIORITY_IDLE:
    case THREAD_PRIORITY_LOWEST:
    case THREAD_PRIORITY_BELOW_NORMAL:
    case THREAD_PRIORITY_NORMAL:
    case THREAD_PRIORITY_ABOVE_NORMAL:
    case THREAD_PRIORITY_HIGHEST:
    case THREAD_PRIORITY_TIME_CRITICAL:
        return TRUE;
    }
    return FALSE;
}

static HRESULT STDMETHODCALLTYPE task_SetPriority(IHostTask *iface, int priority)
{
    struct host_task *task = impl_from_IHostTask(iface);

    if (!valid_priority(priority))
        return E_INVALIDARG;
    /* The task's own thread, suspended or running; never the caller's. */
    if (!SetThreadPriority(task->thread, priority))
        return HRESULT_FROM_WIN32(GetLastError());
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_GetPriority(IHostTask *iface, int *priority)
{
    struct host_task *task = impl_from_IHostTask(iface);
    int value;

    if (!priority)
        return E_POINTER;
    if ((value = GetThreadPriority(task->thread)) == THREAD_PRIORITY_ERROR_RETURN)
    {
        *priority = THREAD_PRIORITY_NORMAL;
        return HRESULT_FROM_WIN32(GetLastError());
    }
    *priority = value;
    return S_OK;
}

static HRESULT STDMETHODCALLTYPE task_SetCLRTask(IHostTask *iface, ICLRTask *clr_task)
{
    struct host_task *task = impl_from_IHostTask(iface);
    ICLRTask *previous;

    /* Kept as given: the CLR's task refuses IID_IUnknown, so never QI it. */
    if (clr_task)
        ICLRTask_AddRef(clr_task);
    AcquireSRWLockExclusive(&clr_task_lock);
    previous = task->clr_task;
    task->clr_task = clr_task;
    ReleaseSRWLockExclusive(&clr_task_lock);
    if (previous)
        ICLRTask_Release(previous);
    /* On the task's own thread this is the CLR attaching it: the task comes
     * into the runtime, and in cooperative mode needs a slot. */
    if (clr_task && ht__task_current() == task)
    {
        ht__nest_set_inside(&task->core, 1);
        ht__task_slot_acquire(task);
    }
    return S_OK;
}

static const IHostTaskVtbl task_vtbl =
{
    /* IUnknown */
    task_QueryInterface,
    task_AddRef,
    task_Release,
    /* IHostTask, in IDL order */
    task_Start,
    task_Alert,
    task_Join,
    task_SetPriority,
    task_GetPriority,
    task_SetCLRTask,
};

/* The task's cooperative-mode state.  By the task's creator before the thread runs, or by the
 * owning thread. */
static BOOL task_sched_alloc(struct host_task *task)
{
    struct host_sched *sched;

    if (!(sched = HeapAlloc(GetProcessHeap(), 0, sizeof(*sched))))
        return FALSE;
    if (ht__sched_task_init(&sched->sched) != HT__OK)
    {
        HeapFree(GetProcessHeap(), 0, sched);
        return FALSE;
    }
    sched->task = task;
    atomic_store_explicit(&task->sched, sched, memory_order_release);
    return TRUE;
}

void ht__task_slot_acquire_slow(struct host_task *task)
{
    /* On EnterRuntime's path, which keeps the thread's last error;
     * creating the slot event sets it. */
    DWORD error = GetLastError();

    if (atomic_load_explicit(&task->sched, memory_order_relaxed) || task_sched_alloc(task))
        ht__sched_acquire(ht__task_sched(task));
    SetLastError(error);
}

/* A task object with no COM reference yet, holding one hold for its
 * thread, with its first flags (set before statistics can see it). */
static struct host_task *task_alloc(LONG flags)
{
    struct host_task *task;

    if (!(task = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, sizeof(*task))))
        return NULL;
    if (!(task->alert_event = CreateEventW(NULL, FALSE, FALSE, NULL)))
    {
        HeapFree(GetProcessHeap(), 0, task);
        return NULL;
    }
    /* In cooperative mode already: the scheduling state now, so that a
     * lack of memory fails the creation, where the caller hears of it.  A
     * task born before the mode was set gets it at its first slot. */
    if (ht__sched_active() && !task_sched_alloc(task))
    {
        CloseHandle(task->alert_event);
        HeapFree(GetProcessHeap(), 0, task);
        return NULL;
    }
    task->IHostTask_iface.lpVtbl = &task_vtbl;
    task->flags = flags;
    task->holds = 1;
    task->id = (UINT64)InterlockedIncrement64(&next_task_id);
    ht__nest_init(&task->core);
    InterlockedIncrement(&live_tasks);

    EnterCriticalSection(&registry_lock);
    ht__list_insert_tail(&registry, &task->link);
    ht__trace_task_born(task, (flags & HT_TASK_ADOPTED) != 0);
    LeaveCriticalSection(&registry_lock);
    return task;
}

static void reap_deferred(void);

struct host_task *ht__task_adopt_current(void)
{
    struct host_task *task;
    DWORD error = GetLastError();

    /* Past this DLL's DLL_THREAD_DETACH (a later DLL's detach, a fiber-local
     * storage callback) nothing would ever unbind a new task: refused. */
    if (ht__tls_get(ht__tls_detached))
        return NULL;
    /* A thread's first call: a moment to free what detaches left. */
    reap_deferred();
    if ((task = task_alloc(HT_TASK_ADOPTED | HT_TASK_STARTED | HT__TASK_CLAIMED)))
    {
        /* The pseudo-handle would name whichever thread uses it: Join and
         * SetPriority from another thread need a real one. */
        if (!DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(),
                &task->thread, 0, FALSE, DUPLICATE_SAME_ACCESS))
        {
            task->thread = NULL;
            task_drop_hold(task);
            SetLastError(error);
            return NULL;
        }
        task->affinity_depth = (LONG)(LONG_PTR)ht__tls_get(ht__tls_affinity);
        /* A task that cannot be bound is unregistered at once: left
         * registered, it would never be unbound, and every later call on
         * the thread would adopt another. */
        if (ht__fault(HT_FAULT_TLS) || !ht__tls_set(ht__tls_task, task))
        {
            task_drop_hold(task);
            SetLastError(error);
            return NULL;
        }
        ht__trace_task_start(task);
    }
    SetLastError(error);
    return task;
}

/* Ends the calling thread's binding.  An adopted thread's binding is a
 * hold, dropped here; a created task's thread gives its hold back with
 * its record (task_thread, reap_threads).  The object lives on while
 * referenced. */
static void unbind_current(void)
{
    struct host_task *task = ht__task_current();

    if (!task)
        return;
    /* Task exit gives the slot back. */
    ht__nest_set_inside(&task->core, 0);
    ht__task_slot_give_back(task);
    ht__trace_task_end(task);
    ht__tls_set(ht__tls_task, NULL);
    InterlockedOr(&task->flags, HT_TASK_ENDED);
    if (ht__task_flags(task) & HT_TASK_ADOPTED)
        task_drop_hold(task);
}

void ht__tasks_thread_detach(void)
{
    /* From here on the thread is never adopted again, and a task destroyed
     * here keeps its CLR task for later (task_destroy). */
    struct host_task *task = ht__task_current();

    ht__tls_set(ht__tls_detached, (void *)1);
    if (task && (ht__task_flags(task) & HT_TASK_CREATED))
        InterlockedExchange(&early_exits, 1);
    unbind_current();
}

/* Destroys the tasks a detach left (task_destroy).  Never under the loader lock. */
static void reap_deferred(void)
{
    struct host_task *task, *next;

    if (!atomic_load_explicit(&deferred_tasks, memory_order_relaxed))
        return;
    for (task = atomic_exchange_explicit(&deferred_tasks, NULL, memory_order_acquire); task; task = next)
    {
        next = task->deferred_next;
        task_destroy(task);
    }
}

/* Gives back what the threads of created tasks that ended without their
 * epilogue held (struct task_start).  A listed record whose thread handle
 * is signaled is one: the epilogue unlists its record first.  Never under
 * the loader lock (FreeLibrary).  Costs a wait call per running task
 * thread, so it runs only where a caller asks about lifetimes
 * (DllCanUnloadNow, object counts, statistics) and from CreateTask when a
 * detach saw a task thread end early. */
void ht__tasks_reap(void)
{
    LIST_ENTRY done = { &done, &done }, *entry, *next;
    struct task_start *record;
    struct host_task *task;

    reap_deferred();
    InterlockedExchange(&early_exits, 0);
    AcquireSRWLockExclusive(&threads_lock);
    for (entry = running_threads.Flink; entry != &running_threads; entry = next)
    {
        next = entry->Flink;
        record = CONTAINING_RECORD(entry, struct task_start, link);
        if (WaitForSingleObject(record->task->thread, 0) != WAIT_OBJECT_0)
            continue;
        ht__list_remove(entry);
        ht__list_insert_tail(&done, entry);
    }
    ReleaseSRWLockExclusive(&threads_lock);

    while ((entry = done.Flink) != &done)
    {
        ht__list_remove(entry);
        record = CONTAINING_RECORD(entry, struct task_start, link);
        task = record->task;
        /* TerminateThread: no detach ran, the task never heard it ended.
         * (A slot it held is the scheduler's to retake: com/task.c cannot
         * give it back for a dead owner.) */
        InterlockedOr(&task->flags, HT_TASK_ENDED);
        FreeLibrary(record->pin);
        HeapFree(GetProcessHeap(), 0, record);
        task_drop_hold(task);
        ht__module_release();
    }
}

static DWORD WINAPI task_thread(void *arg)
{
    struct task_start *record = arg;
    struct host_task *task = record->task;
    HMODULE pin;
    DWORD result = 0;

    /* Bound before the routine runs, so GetCurrentTask finds this task. */
    ht__tls_set(ht__tls_task, task);
    /* Resumed by Start, or by the last Release of a task never started. */
    if (!(ht__task_flags(task) & HT__TASK_CANCELLED))
    {
        /* The routine is managed code (the CLR's thread start): in
         * cooperative mode it runs holding a slot. */
        ht__nest_set_inside(&task->core, 1);
        ht__task_slot_acquire(task);
        ht__trace_task_start(task);
        result = record->start(record->param);
    }

    unbind_current();
    /* The epilogue: unlisted first, so that reap_threads never takes a
     * record whose thread still runs here. */
    AcquireSRWLockExclusive(&threads_lock);
    ht__list_remove(&record->link);
    ReleaseSRWLockExclusive(&threads_lock);
    pin = record->pin;
    HeapFree(GetProcessHeap(), 0, record);
    task_drop_hold(task);
    ht__module_release();
    /* The pin goes with the thread's last instruction in this module. */
    FreeLibraryAndExitThread(pin, result);
}

HRESULT ht__task_create(DWORD stack_size, LPTHREAD_START_ROUTINE start, void *param,
        IHostTask **out)
{
    struct task_start *begin;
    struct host_task *task;
    HMODULE pin;

    if (InterlockedCompareExchange(&early_exits, 0, 0))
        ht__tasks_reap();
    if (!(begin = HeapAlloc(GetProcessHeap(), 0, sizeof(*begin))))
        return E_OUTOFMEMORY;
    if (!(task = task_alloc(HT_TASK_CREATED)))
    {
        HeapFree(GetProcessHeap(), 0, begin);
        return E_OUTOFMEMORY;
    }
    begin->task = task;
    begin->start = start;
    begin->param = param;

    /* The thread keeps the DLL mapped until its very last instruction. */
    if (!GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS, (const WCHAR *)task_thread, &pin))
    {
        HeapFree(GetProcessHeap(), 0, begin);
        task_drop_hold(task);
        return E_OUTOFMEMORY;
    }
    if (stack_size > HT__MAX_STACK
            || !(task->thread = CreateThread(NULL, stack_size, task_thread, begin,
                    CREATE_SUSPENDED | STACK_SIZE_PARAM_IS_A_RESERVATION, NULL)))
    {
        FreeLibrary(pin);
        HeapFree(GetProcessHeap(), 0, begin);
        task_drop_hold(task);
        return E_OUTOFMEMORY;
    }
    /* The running thread counts as a module reference until it ends. */
    begin->pin = pin;
    ht__module_addref();
    AcquireSRWLockExclusive(&threads_lock);
    ht__list_insert_tail(&running_threads, &begin->link);
    ReleaseSRWLockExclusive(&threads_lock);

    *out = &task->IHostTask_iface;
    IHostTask_AddRef(*out);
    return S_OK;
}

/* The raw counters, since the task began. */
static void task_raw_stats(struct host_task *task, HT_TASK_STATS *stats)
{
    struct host_sched *sched = atomic_load_explicit(&task->sched, memory_order_acquire);
    struct ht__nest_counters counters;
    int i, priority;

    int read = ht__nest_snapshot(&task->core, &counters);

    memset(stats, 0, sizeof(*stats));
    stats->taskId = task->id;
    /* Not stored: statistics are read seldom, tasks live long. */
    stats->threadId = GetThreadId(task->thread);
    stats->flags = (DWORD)(ht__task_flags(task) & ~HT__TASK_PRIVATE);
    /* The owner stopped in the middle of an update (suspended, killed):
     * its nesting counters are not waited for, under the registry lock
     * that every task's birth and end takes, and are reported as 0. */
    if (!read)
        stats->flags |= HT_TASK_UNREAD;
    stats->depth = counters.depth;
    stats->maxDepth = counters.max_depth;
    for (i = 0; i < HT__TRANSITION_KINDS; i++)
        stats->transitions[i] = counters.transitions[i];
    for (i = 0; i < HT__IMBALANCE_KINDS; i++)
        stats->imbalances[i] = counters.imbalances[i];
    stats->sleeps = (UINT64)InterlockedCompareExchange64(&task->sleeps, 0, 0);
    stats->alerts = (UINT64)InterlockedCompareExchange64(&task->alerts, 0, 0);
    stats->interruptedWaits = (UINT64)InterlockedCompareExchange64(&task->interrupted_waits, 0, 0);
    stats->joins = (UINT64)InterlockedCompareExchange64(&task->joins, 0, 0);
    stats->nativeTimeNs = counters.native_ns;
    stats->affinityDepth = (DWORD)task->affinity_depth;
    stats->unknownOptions = (UINT64)InterlockedCompareExchange64(&task->unknown_options, 0, 0);
    if (sched)
    {
        stats->slotWaitNs = atomic_load(&sched->sched.wait_ns);
        stats->forcedYields = atomic_load(&sched->sched.forced_yields);
        stats->slotAcquisitions = ht__sched_acquisitions(&sched->sched);
        if (ht__sched_holds(&sched->sched))
            stats->flags |= HT_TASK_HOLDS_SLOT;
        if (ht__sched_in_native(&sched->sched))
            stats->flags |= HT_TASK_SLOT_IN_NATIVE;
    }
    stats->locale = task->locale;
    stats->uiLocale = task->ui_locale;
    priority = GetThreadPriority(task->thread);
    stats->priority = priority == THREAD_PRIORITY_ERROR_RETURN ? THREAD_PRIORITY_NORMAL : priority;
}

/* Callers hold the registry lock, which guards the baseline. */
static void task_stats_locked(struct host_task *task, HT_TASK_STATS *stats)
{
    const HT_TASK_STATS *base = task->baseline;
    int i;

    task_raw_stats(task, stats);
    if (!base)
        return;
    if (!(stats->flags & HT_TASK_UNREAD))
    {
        for (i = 0; i < HT__TRANSITION_KINDS; i++)
            stats->transitions[i] -= base->transitions[i];
        for (i = 0; i < HT__IMBALANCE_KINDS; i++)
            stats->imbalances[i] -= base->imbalances[i];
        stats->nativeTimeNs -= base->nativeTimeNs;
    }
    stats->sleeps -= base->sleeps;
    stats->alerts -= base->alerts;
    stats->interruptedWaits -= base->interruptedWaits;
    stats->joins -= base->joins;
    stats->unknownOptions -= base->unknownOptions;
    stats->slotWaitNs -= base->slotWaitNs;
    stats->forcedYields -= base->forcedYields;
    stats->slotAcquisitions -= base->slotAcquisitions;
}

void ht__task_stats(struct host_task *task, HT_TASK_STATS *stats)
{
    EnterCriticalSection(&registry_lock);
    task_stats_locked(task, stats);
    LeaveCriticalSection(&registry_lock);
}

HRESULT ht__tasks_reset_stats(void)
{
    LIST_ENTRY *entry;
    struct host_task *task;
    HT_TASK_STATS now;
    HRESULT hr = S_OK;

    EnterCriticalSection(&registry_lock);
    for (entry = registry.Flink; entry != &registry; entry = entry->Flink)
    {
        task = CONTAINING_RECORD(entry, struct host_task, link);
        if (!task->baseline && !(task->baseline = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY,
                sizeof(*task->baseline))))
        {
            hr = E_OUTOFMEMORY;
            continue;
        }
        task_raw_stats(task, &now);
        /* Unread nesting counters keep their last baseline. */
        if (now.flags & HT_TASK_UNREAD)
        {
            memcpy(now.transitions, task->baseline->transitions, sizeof(now.transitions));
            memcpy(now.imbalances, task->baseline->imbalances, sizeof(now.imbalances));
            now.nativeTimeNs = task->baseline->nativeTimeNs;
        }
        *task->baseline = now;
    }
    LeaveCriticalSection(&registry_lock);
    ht__targets_reset();
    return hr;
}

HRESULT ht__tasks_stats(UINT capacity, HT_TASK_STATS *stats, UINT *count)
{
    LIST_ENTRY *entry;
    UINT n = 0;

    ht__tasks_reap();
    EnterCriticalSection(&registry_lock);
    for (entry = registry.Flink; entry != &registry; entry = entry->Flink, n++)
        if (n < capacity)
            task_stats_locked(CONTAINING_RECORD(entry, struct host_task, link), &stats[n]);
    LeaveCriticalSection(&registry_lock);
    *count = n;
    return n > capacity ? S_FALSE : S_OK;
}

void ht__tasks_for_each(void (*each)(struct host_task *task, void *context), void (*done)(void *context),
        void *context)
{
    LIST_ENTRY *entry;

    EnterCriticalSection(&registry_lock);
    for (entry = registry.Flink; entry != &registry; entry = entry->Flink)
        each(CONTAINING_RECORD(entry, struct host_task, link), context);
    if (done)
        done(context);
    LeaveCriticalSection(&registry_lock);
}

void ht__tasks_object_counts(ULONG *live, ULONG *bound_only)
{
    LIST_ENTRY *entry;
    ULONG n = 0;

    ht__tasks_reap();
    EnterCriticalSection(&registry_lock);
    for (entry = registry.Flink; entry != &registry; entry = entry->Flink)
        if (!CONTAINING_RECORD(entry, struct host_task, link)->com_refs)
            n++;
    *live = (ULONG)live_tasks;
    LeaveCriticalSection(&registry_lock);
    *bound_only = n;
}

/* Under the scheduler's lock, for a holder past its quantum: the holder
 * cannot release its slot (nor so end) while the lock is held, so the
 * object is alive.  Takes a reference to its CLR task for the call. */
int ht__task_runaway_prepare(struct ht__sched_task *sched, void **token)
{
    struct host_task *task = CONTAINING_RECORD(sched, struct host_sched, sched)->task;
    ICLRTask *clr_task;

    /* A task in a delay-abort region is never the one asked to yield, nor
     * preempted (token NULL: the question before a preemption). */
    if (ht__task_flags(task) & HT_TASK_DELAY_ABORT)
        return 0;
    if (!token)
        return 1;
    AcquireSRWLockShared(&clr_task_lock);
    if ((clr_task = task->clr_task))
        ICLRTask_AddRef(clr_task);
    ReleaseSRWLockShared(&clr_task_lock);
    *token = clr_task;
    return 1;
}

/* On the scheduler's yield thread, which is no task's and never enters
 * the runtime, outside every lock: the CLR says YieldTask must not be
 * called from a managed thread, and it may suspend the target and
 * Sleep(1)-loop until the target yields, blocking this thread
 * (dotnet/coreclr@ef1e2ab3 src/vm/threads.cpp (Thread::YieldTask)).  The
 * watchdog preempts on its own meanwhile.  S_FALSE (a request already
 * pending) and HOST_E_INVALIDOPERATION (called on the target's own
 * thread, which this thread never is) need nothing more: a task that
 * does not yield is preempted a quantum after the request either way. */
void ht__task_runaway_fire(void *token)
{
    ICLRTask *clr_task = token;

    ICLRTask_YieldTask(clr_task);
    ICLRTask_Release(clr_task);
}

void ht__tasks_process_detach(void)
{
    LIST_ENTRY *entry;
    struct host_task *task;

    /* FreeLibrary after DllCanUnloadNow said S_OK: no task has a COM
     * reference or a running thread of ours, so what is left are adopted
     * threads' bindings.  Their threads never hear of it: the TLS slot goes
     * with the module. */
    process_detaching = TRUE;
    reap_deferred();
    while ((entry = registry.Flink) != &registry)
    {
        task = CONTAINING_RECORD(entry, struct host_task, link);
        task->holds = 1;
        task_drop_hold(task);
    }
    DeleteCriticalSection(&registry_lock);
    ht__sched_shutdown();
}
