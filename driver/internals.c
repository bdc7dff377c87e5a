/*
 * The CLR's inside, as far as a host can see it: its own locks (Crst),
 * managed object locks (Monitor), GC suspension, and the threads the
 * runtime starts for itself (the finalizer and the AppDomain-unload
 * helper).  Each replays the host calls the CLR makes there, and the OS
 * waits it makes with no host call at all (dotnet/coreclr@ef1e2ab3 src/vm,
 * file and function cited at each).
 */
#include "driver_private.h"

/* ---- CLR-internal locks (Crst) ---- */

void htd_crst_init(struct htd_crst *crst, const char *name)
{
    InitializeCriticalSection(&crst->section);
    crst->name = name;
}

void htd_crst_delete(struct htd_crst *crst)
{
    DeleteCriticalSection(&crst->section);
}

/* With no IHostSyncManager a Crst is an OS critical section.  Entering it
 * begins thread affinity (held until Leave), tries, spins up to
 * dwRepetitions (10) times with __SwitchToThread(0), i.e. SwitchToTask(0),
 * then blocks in UnsafeEnterCriticalSection with no LeaveRuntime: the task
 * keeps its scheduler slot while it waits (src/vm/crst.cpp
 * (CrstBase::InitWorker, CrstBase::Enter, CrstBase::SpinEnter)). */
void htd_crst_enter(struct htd_thread *self, struct htd_crst *crst)
{
    IHostTaskManager *manager = self->rec.hosted ? self->runtime->task_manager : NULL;
    LONG was_coop = self->coop;
    int i;

    htd_begin_affinity(self);
    if (TryEnterCriticalSection(&crst->section))
        return;
    /* Contended: a lock taken in preemptive mode (a GC may run meanwhile). */
    if (was_coop)
        htd__leave_coop(self);
    for (i = 0; i < 10; i++)
    {
        if (TryEnterCriticalSection(&crst->section))
            goto entered;
        if (manager)
            htd__switch_to_task(self, manager);
        else
            SwitchToThread();
    }
    InterlockedExchange(&self->os_wait, 1);
    self->rec.os_blocks++;
    EnterCriticalSection(&crst->section);
    InterlockedExchange(&self->os_wait, 0);
entered:
    if (was_coop)
        htd__enter_coop(self);
}

void htd_crst_leave(struct htd_thread *self, struct htd_crst *crst)
{
    LeaveCriticalSection(&crst->section);
    htd_end_affinity(self);
}

/* ---- Monitor ---- */

HRESULT htd_monitor_init(struct htd_monitor *monitor)
{
    monitor->owner = 0;
    monitor->waiters = 0;
    if (!(monitor->event = CreateEventW(NULL, FALSE, FALSE, NULL)))
        return HRESULT_FROM_WIN32(GetLastError());
    return S_OK;
}

void htd_monitor_delete(struct htd_monitor *monitor)
{
    CloseHandle(monitor->event);
}

/* Monitor.Enter on a contended lock: spins, yielding with
 * __SwitchToThread(0) (SwitchToTask(0)) while others wait, then blocks in
 * m_SemEvent.Wait(INFINITE, TRUE): DoAppropriateWait, i.e.
 * LeaveRuntime(&WaitForMultipleObjectsEx), an alertable OS wait,
 * EnterRuntime (src/vm/syncblk.cpp (AwareLock::Contention,
 * AwareLock::EnterEpilogHelper), src/vm/threads.cpp
 * (Thread::DoAppropriateWaitWorker)).  Interleaving: an owner that exits
 * clears owner, then reads waiters; a waiter raises waiters, then tries
 * owner (all interlocked): either the exit sees the waiter and signals the
 * auto-reset event (which stays set until a waiter takes it), or the
 * waiter's try sees the lock free. */
HRESULT htd_monitor_enter(struct htd_thread *self, struct htd_monitor *monitor)
{
    IHostTaskManager *manager = self->rec.hosted ? self->runtime->task_manager : NULL;
    LONG me = (LONG)GetCurrentThreadId();
    DWORD result;
    HRESULT hr = S_OK;
    int i;

    if (!InterlockedCompareExchange(&monitor->owner, me, 0))
        return S_OK;
    htd__leave_coop(self);
    for (i = 0; i < 4; i++)
    {
        if (manager)
            htd__switch_to_task(self, manager);
        else
            SwitchToThread();
        if (!InterlockedCompareExchange(&monitor->owner, me, 0))
        {
            htd__enter_coop(self);
            return S_OK;
        }
    }
    InterlockedIncrement(&monitor->waiters);
    while (InterlockedCompareExchange(&monitor->owner, me, 0))
    {
        self->rec.monitor_waits++;
        if (FAILED(hr = htd__alertable_wait(self, monitor->event, INFINITE, &result)))
            break;
    }
    InterlockedDecrement(&monitor->waiters);
    htd__enter_coop(self);
    return hr;
}

void htd_monitor_exit(struct htd_thread *self, struct htd_monitor *monitor)
{
    InterlockedExchange(&monitor->owner, 0);
    if (InterlockedCompareExchange(&monitor->waiters, 0, 0))
        SetEvent(monitor->event);
}

/* ---- GC suspension ---- */

/* Any thread but self still in cooperative mode? */
static BOOL others_in_coop(struct htd_runtime *runtime, struct htd_thread *self)
{
    LONG i, count = runtime->thread_count;

    for (i = 0; i < count; i++)
        if (runtime->threads[i] != self && InterlockedCompareExchange(&runtime->threads[i]->coop, 0, 0))
            return TRUE;
    return FALSE;
}

/* GCHeap::GarbageCollect -> Thread::SuspendRuntime: the suspender takes
 * the thread store lock (a Crst: affinity, spins, an unannounced OS
 * block), raises the trap, and waits for every thread in cooperative mode
 * to reach a safe point, with g_pGCSuspendEvent->Wait(PING_JIT_TIMEOUT = 10,
 * FALSE): LeaveRuntime(&WaitForSingleObjectEx) ... EnterRuntime each time,
 * the lock held throughout (src/vm/threadsuspend.cpp
 * (Thread::SuspendRuntime), src/vm/synch.cpp (CLREventWaitHelper2)).
 * Then the collection, RestartEE, the lock released, and the finalizer
 * given its work (src/vm/finalizerthread.cpp
 * (FinalizerThread::EnableFinalization)). */
HRESULT htd_gc_collect(struct htd_thread *self)
{
    struct htd_runtime *runtime = self->runtime;

    /* The thread store lock is taken in preemptive mode. */
    htd__leave_coop(self);
    htd_crst_enter(self, &runtime->thread_store_lock);
    runtime->gc_suspender = self;
    ResetEvent(runtime->gc_done);
    InterlockedExchange(&runtime->gc_pending, 1);
    InterlockedExchange(&self->coop, 1);
    while (others_in_coop(runtime, self))
        htd__event_wait(self, runtime->gc_suspend_event, 10);
    runtime->gcs++;
    InterlockedExchange(&runtime->gc_pending, 0);
    runtime->gc_suspender = NULL;
    SetEvent(runtime->gc_done);
    htd_crst_leave(self, &runtime->thread_store_lock);
    SetEvent(runtime->finalizer_event);
    htd_safe_point(self);
    return S_OK;
}

/* ---- The finalizer ---- */

/* FinalizerThread::WaitForFinalizerEvent with no memory or sync manager:
 * a 2 s CLREvent wait through LeaveRuntime/EnterRuntime, then, if nothing
 * came, WaitForMultipleObjectsEx(..., INFINITE, FALSE) with no
 * LeaveRuntime at all: the finalizer sits in the OS inside the runtime and
 * keeps whatever scheduler slot its EnterRuntime gave it
 * (src/vm/finalizerthread.cpp (FinalizerThread::WaitForFinalizerEvent)). */
static void wait_for_finalizer_event(struct htd_thread *self)
{
    struct htd_runtime *runtime = self->runtime;
    DWORD idle = runtime->options.finalizer_wait_ms ? runtime->options.finalizer_wait_ms : 2000;

    if (htd__event_wait(self, runtime->finalizer_event, idle) != WAIT_TIMEOUT)
        return;
    InterlockedExchange(&self->os_wait, 1);
    self->rec.os_blocks++;
    WaitForMultipleObjectsEx(1, &runtime->finalizer_event, FALSE, INFINITE, FALSE);
    InterlockedExchange(&self->os_wait, 0);
}

/* FinalizerThread::FinalizerThreadWorker: until told to quit, preemptive
 * mode, wait for work, raise its own priority once (Thread::SetThreadPriority
 * -> IHostTask::SetPriority(THREAD_PRIORITY_HIGHEST)), cooperative mode,
 * run the finalizers (the simulation has none: a safe point), signal
 * hEventFinalizerDone (src/vm/finalizerthread.cpp). */
static HRESULT finalizer_body(struct htd_thread *self, void *arg)
{
    struct htd_runtime *runtime = self->runtime;
    BOOL boosted = FALSE;

    while (!runtime->quit)
    {
        htd__leave_coop(self);
        wait_for_finalizer_event(self);
        if (!boosted && self->host_task)
        {
            IHostTask_SetPriority(self->host_task, THREAD_PRIORITY_HIGHEST);
            boosted = TRUE;
        }
        htd__enter_coop(self);
        if (runtime->quit)
            break;
        htd_safe_point(self);
        SetEvent(runtime->finalizer_done);
    }
    return S_OK;
}

/* ---- The AppDomain-unload helper ---- */

/* AppDomain::ADUnloadThreadStart: when task-hosted, LeaveRuntime(0) once,
 * never matched ("ADUnload helper thread is critical.  We do not want it
 * to share scheduler with other tasks."), then it tells its creator it is
 * up and waits for work with g_pUnloadStartEvent->Wait(timeout, FALSE): a
 * CLREvent wait, i.e. LeaveRuntime(&WaitForSingleObjectEx)/EnterRuntime
 * nested inside the open LeaveRuntime(0) (src/vm/appdomain.cpp
 * (AppDomain::ADUnloadThreadStart)). */
static ULONG_PTR stay_outside(void *ctx)
{
    struct htd_thread *self = ctx;
    struct htd_runtime *runtime = self->runtime;

    InterlockedExchange(&runtime->unload_helper_up, 1);
    while (!runtime->quit)
        htd__event_wait(self, runtime->unload_event, INFINITE);
    return 0;
}

static HRESULT unload_helper_body(struct htd_thread *self, void *arg)
{
    struct htd_runtime *runtime = self->runtime;
    IHostTaskManager *manager = self->rec.hosted ? runtime->task_manager : NULL;
    HRESULT hr;

    htd__leave_coop(self);
    if (!manager)
    {
        stay_outside(self);
        return S_OK;
    }
    if (FAILED(hr = IHostTaskManager_LeaveRuntime(manager, 0)))
    {
        /* EX_CATCH: the helper fails to start and its creator hears so. */
        htd__fault(runtime, HTD_FAULT_THROW, hr, "LeaveRuntime(0) on the AD-unload helper");
        InterlockedExchange(&runtime->unload_helper_up, -1);
        return S_OK;
    }
    self->rec.leave++;
    self->out++;
    self->in_runtime = FALSE;
    self->depth++;
    if (self->depth > self->rec.max_depth)
        self->rec.max_depth = self->depth;
    /* The thread ends (at Stop) with that LeaveRuntime still open. */
    stay_outside(self);
    return S_OK;
}

/* ---- Start and stop ---- */

BOOL htd__runtime_resources_init(struct htd_runtime *runtime)
{
    if (runtime->resources)
        return TRUE;
    runtime->finalizer_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    runtime->finalizer_done = CreateEventW(NULL, TRUE, FALSE, NULL);
    runtime->unload_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    runtime->gc_suspend_event = CreateEventW(NULL, FALSE, FALSE, NULL);
    runtime->gc_done = CreateEventW(NULL, TRUE, TRUE, NULL);
    runtime->runtime_thread_ended[0] = CreateEventW(NULL, TRUE, FALSE, NULL);
    runtime->runtime_thread_ended[1] = CreateEventW(NULL, TRUE, FALSE, NULL);
    htd_crst_init(&runtime->thread_store_lock, "ThreadStore");
    runtime->resources = TRUE;
    return runtime->finalizer_event && runtime->finalizer_done && runtime->unload_event
            && runtime->gc_suspend_event && runtime->gc_done && runtime->runtime_thread_ended[0]
            && runtime->runtime_thread_ended[1];
}

void htd__runtime_resources_free(struct htd_runtime *runtime)
{
    HANDLE *handles[] =
    {
        &runtime->finalizer_event, &runtime->finalizer_done, &runtime->unload_event, &runtime->gc_suspend_event,
        &runtime->gc_done, &runtime->runtime_thread_ended[0], &runtime->runtime_thread_ended[1],
    };
    unsigned int i;

    if (!runtime->resources)
        return;
    for (i = 0; i < ARRAYSIZE(handles); i++)
        if (*handles[i])
        {
            CloseHandle(*handles[i]);
            *handles[i] = NULL;
        }
    htd_crst_delete(&runtime->thread_store_lock);
    runtime->resources = FALSE;
}

/* EEStartupHelper, when the runtime is task-hosted: FinalizerThreadCreate
 * (CreateTask and Start, no SetPriority; then FinalizerThreadWait(INFINITE):
 * EnableFinalization and an alertable wait on hEventFinalizerDone, i.e.
 * LeaveRuntime(&WaitForMultipleObjectsEx)/EnterRuntime), then
 * AppDomain::CreateADUnloadWorker (CreateTask and Start, then YIELD_WHILE
 * until the helper is up: SwitchToTask(0)) (src/vm/ceemain.cpp
 * (EEStartupHelper), src/vm/finalizerthread.cpp
 * (FinalizerThread::FinalizerThreadCreate, FinalizerThread::FinalizerThreadWait),
 * src/vm/appdomain.cpp (AppDomain::CreateADUnloadWorker)). */
HRESULT htd__runtime_threads_start(struct htd_runtime *runtime, struct htd_thread *starter)
{
    IHostTaskManager *manager = runtime->task_manager;
    struct htd_thread *thread;
    DWORD result;
    HRESULT hr;

    if (FAILED(hr = htd__start_thread(starter, runtime, "finalizer", finalizer_body, NULL,
            HTD__START_RUNTIME | HTD__START_FINALIZER, &thread)))
        return hr;
    ResetEvent(runtime->finalizer_done);
    SetEvent(runtime->finalizer_event);
    if (FAILED(hr = htd__alertable_wait(starter, runtime->finalizer_done, INFINITE, &result)))
        return hr;
    if (thread->started < 0)
        return E_FAIL;

    if (FAILED(hr = htd__start_thread(starter, runtime, "AD-unload helper", unload_helper_body, NULL,
            HTD__START_RUNTIME, &thread)))
        return hr;
    htd__leave_coop(starter);
    while (!runtime->unload_helper_up && thread->started >= 0)
    {
        if (manager && starter->rec.hosted)
            htd__switch_to_task(starter, manager);
        else
            SwitchToThread();
    }
    htd__enter_coop(starter);
    return runtime->unload_helper_up > 0 ? S_OK : E_FAIL;
}

/* The real CLR leaves its own threads to the process's end; EEShutDown
 * has the finalizer make a last pass while the shutting-down thread waits
 * on a CLREvent (src/vm/ceemain.cpp (EEShutDownHelper)).  The driver ends
 * both threads so that their tasks end and the host can be unloaded: it
 * sets the quit flag, wakes them, and waits for them, through
 * LeaveRuntime/EnterRuntime when the stopping thread is a hosted Thread. */
void htd__runtime_threads_stop(struct htd_runtime *runtime)
{
    struct htd_thread *self = htd__current_thread();
    HANDLE ended[2];
    DWORD count = 0, i;

    if (runtime->finalizer && runtime->finalizer->started >= 0)
        ended[count++] = runtime->runtime_thread_ended[0];
    if (runtime->unload_helper && runtime->unload_helper->started >= 0)
        ended[count++] = runtime->runtime_thread_ended[1];
    if (!count)
        return;
    InterlockedExchange(&runtime->quit, 1);
    SetEvent(runtime->finalizer_event);
    SetEvent(runtime->unload_event);
    for (i = 0; i < count; i++)
    {
        if (self && self->runtime == runtime && self->rec.hosted && runtime->task_manager)
            htd__event_wait(self, ended[i], INFINITE);
        else
            WaitForSingleObject(ended[i], INFINITE);
    }
    runtime->finalizer = runtime->unload_helper = NULL;
}
