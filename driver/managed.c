/*
 * What the CLR does with the host for each managed operation, and what it
 * does with every result.  Each function names the CLR code it replays
 * (dotnet/coreclr@ef1e2ab3 src/vm, file and function); docs/clr-host.md
 * walks through the same steps in order.
 *
 * A failing HRESULT returned from here is a managed exception on the
 * calling thread; where the CLR would throw or assert because of the
 * host's answer, htd__fault() records it first.
 */
#include "driver_private.h"

#include <string.h>

static IHostTaskManager *host_manager(struct htd_thread *self)
{
    return self->rec.hosted ? self->runtime->task_manager : NULL;
}

static void note_depth(struct htd_thread *self, LONG delta)
{
    self->depth += delta;
    if (self->depth > self->rec.max_depth)
        self->rec.max_depth = self->depth;
}

/* __SwitchToThread(0) on a hosted thread: a pending yield request is
 * satisfied by any yield (it clears TS_YieldRequested), then
 * IHostTaskManager::SwitchToTask(0) (dotnet/coreclr@ef1e2ab3
 * src/vm/hosting.cpp (__DangerousSwitchToThread)). */
void htd__switch_to_task(struct htd_thread *self, IHostTaskManager *manager)
{
    InterlockedExchange(&self->yield_requested, 0);
    self->rec.switches++;
    IHostTaskManager_SwitchToTask(manager, 0);
}

/* The thread comes into the runtime (or back from a host wait inside it):
 * a cooperative host gives it a slot for that. */
static void note_entry(struct htd_thread *self)
{
    self->in_runtime = TRUE;
    self->rec.slot_entries++;
}

/* ---- GC modes ----
 *
 * A thread in cooperative GC mode runs managed code, and a GC must wait for
 * it to reach a safe point; one in preemptive mode (out in native code, in
 * a wait) is no obstacle.  Interleaving: the thread sets coop and then
 * reads gc_pending; the suspender sets gc_pending and then reads every
 * coop (all interlocked, so sequentially consistent): one of them sees the
 * other, so either the thread parks or the suspender waits for it. */

void htd__leave_coop(struct htd_thread *self)
{
    struct htd_runtime *runtime = self->runtime;

    InterlockedExchange(&self->coop, 0);
    /* EnablePreemptiveGC: a pending suspension hears of it. */
    if (InterlockedCompareExchange(&runtime->gc_pending, 0, 0) && runtime->gc_suspend_event)
        SetEvent(runtime->gc_suspend_event);
}

/* Thread::WaitUntilGCComplete: a non-alertable CLREvent wait, so
 * LeaveRuntime(&WaitForSingleObjectEx) ... EnterRuntime (dotnet/coreclr@ef1e2ab3
 * src/vm/threadsuspend.cpp (Thread::RareDisablePreemptiveGC),
 * src/vm/synch.cpp (CLREventWaitHelper2)). */
static void wait_until_gc_complete(struct htd_thread *self)
{
    struct htd_runtime *runtime = self->runtime;

    while (InterlockedCompareExchange(&runtime->gc_pending, 0, 0))
    {
        self->rec.gc_waits++;
        htd__event_wait(self, runtime->gc_done, INFINITE);
    }
}

void htd__enter_coop(struct htd_thread *self)
{
    struct htd_runtime *runtime = self->runtime;

    /* DisablePreemptiveGC: while a GC runs (and this is not its thread),
     * wait for it to end first (Thread::RareDisablePreemptiveGC). */
    for (;;)
    {
        InterlockedExchange(&self->coop, 1);
        if (!InterlockedCompareExchange(&runtime->gc_pending, 0, 0) || runtime->gc_suspender == self)
            return;
        htd__leave_coop(self);
        wait_until_gc_complete(self);
    }
}

/* ---- Thread setup ---- */

/* CLRSetThreadStackGuarantee (dotnet/coreclr@ef1e2ab3 src/vm/threads.cpp
 * (Thread::CommitThreadStack, CLRSetThreadStackGuarantee)): one page plus
 * three on AMD64 (SIZEOF_DEFAULT_STACK_GUARANTEE, EXTRA_PAGES, release
 * build), one page on x86.  Get first; Set only if the guarantee is too
 * small; E_NOTIMPL from the host means the CLR calls the OS itself; any
 * other failure fails the thread's setup (ThrowOutOfMemory in
 * Thread::InitThread) or, at startup, EEStartup (IfFailThrow). */
HRESULT htd__stack_guarantee(struct htd_runtime *runtime)
{
    IHostTaskManager *manager = runtime->task_manager;
    ULONG current = 0, needed = (sizeof(void *) == 8 ? 4 : 1) * 4096;
    HRESULT hr;

    if (!manager)
        return S_OK;
    hr = IHostTaskManager_GetStackGuarantee(manager, &current);
    if (FAILED(hr) || current < needed)
        hr = IHostTaskManager_SetStackGuarantee(manager, needed);
    if (hr == E_NOTIMPL)
    {
        SetThreadStackGuarantee(&needed);
        return S_OK;
    }
    if (FAILED(hr))
        htd__fault(runtime, HTD_FAULT_THROW, hr, "SetStackGuarantee(%lu): thread setup fails", needed);
    return hr;
}

/* Thread::InitThread -> GetCurrentTask (an adopted thread only: a created
 * one has its task already), CommitThreadStack (the stack guarantee), then
 * SetupThreadForHost -> SetCLRTask and SwitchToTask(0) (dotnet/coreclr@ef1e2ab3
 * src/vm/threads.cpp (Thread::InitThread, Thread::SetupThreadForHost)). */
static HRESULT setup_for_host(struct htd_thread *thread)
{
    struct htd_runtime *runtime = thread->runtime;
    IHostTaskManager *manager = runtime->task_manager;
    HRESULT hr;

    thread->rec.os_thread_id = GetCurrentThreadId();
    thread->rec.start_ms = GetTickCount64();
    htd__set_current_thread(thread);
    if (!manager)
        return S_OK;
    if (!thread->rec.created)
    {
        /* SetupThread while a Thread.Start is pending: the attaching thread
         * may be the new one, used early for a DLL_THREAD_ATTACH; the CLR
         * asks the host for its task and releases it at once, before it
         * looks (src/vm/threads.cpp (SetupThread)). */
        if (InterlockedCompareExchange(&runtime->pending_starts, 0, 0))
        {
            IHostTask *pending = NULL;

            IHostTaskManager_GetCurrentTask(manager, &pending);
            if (pending)
                IHostTask_Release(pending);
        }
        /* InitThread: only the pointer counts.  NULL = the host refuses
         * this thread, and an ordinary thread then fails to start with
         * HOST_E_INVALIDOPERATION. */
        hr = IHostTaskManager_GetCurrentTask(manager, &thread->host_task);
        if (!thread->host_task)
        {
            htd__fault(runtime, HTD_FAULT_THROW, hr, "GetCurrentTask gave no task: thread refused");
            htd__set_current_thread(NULL);
            return HOST_E_INVALIDOPERATION;
        }
    }
    thread->rec.hosted = TRUE;
    /* CommitThreadStack, before the host hears of the CLR task. */
    if (FAILED(hr = htd__stack_guarantee(runtime)))
    {
        thread->rec.hosted = FALSE;
        htd__set_current_thread(NULL);
        return E_OUTOFMEMORY;
    }
    /* SetupThreadForHost, on the thread itself: FAILED -> setup throws. */
    if (FAILED(hr = IHostTask_SetCLRTask(thread->host_task, (ICLRTask *)&thread->clr_task.ICLRTask2_iface)))
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "SetCLRTask");
        thread->rec.hosted = FALSE;
        htd__set_current_thread(NULL);
        return hr;
    }
    /* From here the thread runs managed code. */
    note_entry(thread);
    htd__switch_to_task(thread, manager);
    return S_OK;
}

HRESULT htd__attach_current(struct htd_runtime *runtime, const char *role, struct htd_thread **out)
{
    struct htd_thread *thread;
    HRESULT hr;

    *out = NULL;
    if (!(thread = htd__thread_new(runtime, role, FALSE)))
        return E_OUTOFMEMORY;
    if (FAILED(hr = setup_for_host(thread)))
        return hr;
    *out = thread;
    return S_OK;
}

HRESULT htd__get_or_attach(struct htd_runtime *runtime, const char *role, struct htd_thread **out)
{
    struct htd_thread *thread = htd__current_thread();

    /* SetupThreadNoThrow: GetThread() first. */
    if (thread && thread->runtime == runtime)
    {
        *out = thread;
        return S_OK;
    }
    return htd__attach_current(runtime, role, out);
}

void htd_caught(struct htd_thread *self, HRESULT hr)
{
    self->rec.expected_exceptions++;
}

void htd_safe_point(struct htd_thread *self)
{
    IHostTaskManager *manager = host_manager(self);

    /* A GC poll finds a suspension pending: the thread parks until the GC
     * ends (src/vm/threads.cpp (CommonTripThread)). */
    if (self->coop && InterlockedCompareExchange(&self->runtime->gc_pending, 0, 0)
            && self->runtime->gc_suspender != self)
    {
        htd__leave_coop(self);
        htd__enter_coop(self);
    }
    /* Or finds TS_YieldRequested set: the thread yields now
     * (src/vm/threads.cpp (CommonTripThread), src/vm/hosting.cpp
     * (__DangerousSwitchToThread)). */
    if (!manager || !InterlockedCompareExchange(&self->yield_requested, 0, 0))
        return;
    self->rec.safe_point_yields++;
    htd__switch_to_task(self, manager);
}

/* ---- P/Invoke and the other calls out of managed code ---- */

static struct htd_target_record *target_record(struct htd_runtime *runtime, SIZE_T target, const char *name,
        enum htd_call_kind kind)
{
    struct htd_target_record *record = NULL;
    LONG i, count = runtime->target_count;

    /* Appended under the lock and published by the count: lookups need none. */
    for (i = 0; i < count; i++)
        if (runtime->targets[i].target == target)
            return &runtime->targets[i];
    EnterCriticalSection(&runtime->lock);
    for (i = 0; i < runtime->target_count; i++)
        if (runtime->targets[i].target == target)
            record = &runtime->targets[i];
    if (!record && runtime->target_count < HTD_MAX_TARGETS)
    {
        record = &runtime->targets[runtime->target_count];
        memset(record, 0, sizeof(*record));
        record->target = target;
        record->kind = kind;
        record->internal = kind == HTD_CALL_INTERNAL;
        htd__copy_role(record->name, sizeof(record->name), name);
        MemoryBarrier();
        runtime->target_count++;
    }
    LeaveCriticalSection(&runtime->lock);
    return record;
}

/* x86 binds a stub per P/Invoke declaration (NDirectMethodDesc), not per
 * address: the answer is cached with the declaration.  Returns the
 * declaration's cached answer, asking the host the first time. */
static BOOL bind_declaration(struct htd_thread *self, IHostTaskManager *manager, struct htd_target_record *record,
        const char *declaration)
{
    struct htd_runtime *runtime = self->runtime;
    struct htd_declaration *decl = NULL;
    BOOL hook = FALSE;
    HRESULT hr;
    LONG i;

    EnterCriticalSection(&runtime->lock);
    for (i = 0; i < runtime->declaration_count && !decl; i++)
        if (runtime->declarations[i].target == record->target
                && !strcmp(runtime->declarations[i].name, declaration))
            decl = &runtime->declarations[i];
    if (!decl && runtime->declaration_count < HTD_MAX_TARGETS)
    {
        decl = &runtime->declarations[runtime->declaration_count++];
        decl->target = record->target;
        htd__copy_role(decl->name, sizeof(decl->name), declaration);
        hr = IHostTaskManager_CallNeedsHostHook(manager, record->target, &hook);
        if (FAILED(hr))
            htd__fault(runtime, HTD_FAULT_ASSERT, hr, "CallNeedsHostHook(%s)", record->name);
        InterlockedIncrement64(&record->hook_queries);
        decl->needs_hook = hook;
    }
    hook = decl ? decl->needs_hook : TRUE;
    LeaveCriticalSection(&runtime->lock);
    return hook;
}

/* Whether a call is wrapped in LeaveRuntime/EnterRuntime.  x64: every call
 * goes through the static PInvokeStubForHost, whose worker asks the host
 * on each call for P/Invoke, COM, delegate and calli targets, and never
 * for QCalls (dotnet/coreclr@ef1e2ab3 src/vm/frames.cpp
 * (PInvokeStubForHostWorker), src/vm/dllimport.cpp (SetNDirectTarget)).
 * x86: asked once per declaration when its stub is bound, the answer baked
 * into the stub (src/vm/dllimport.cpp (NDirect::NDirectLink),
 * src/vm/i386/cgenx86.cpp); RCW calls and unmanaged calli are always
 * wrapped and never asked (src/vm/stubhelpers.cpp, src/vm/dllimport.cpp);
 * QCalls are asked and never wrapped (src/vm/i386/cgenx86.cpp).  The BOOL
 * is pre-set FALSE and the HRESULT only asserted. */
static BOOL needs_hook(struct htd_thread *self, IHostTaskManager *manager, struct htd_target_record *record,
        const char *declaration)
{
    struct htd_runtime *runtime = self->runtime;
    BOOL hook = FALSE;
    HRESULT hr;

    if (runtime->options.style == HTD_PINVOKE_X86)
    {
        switch (record->kind)
        {
        case HTD_CALL_COM:
        case HTD_CALL_CALLI:
            return TRUE;
        case HTD_CALL_QCALL:
            bind_declaration(self, manager, record, declaration);
            return FALSE;
        default:
            return bind_declaration(self, manager, record, declaration);
        }
    }
    if (record->kind == HTD_CALL_QCALL)
        return FALSE;
    hr = IHostTaskManager_CallNeedsHostHook(manager, record->target, &hook);
    if (FAILED(hr))
        htd__fault(runtime, HTD_FAULT_ASSERT, hr, "CallNeedsHostHook(%s)", record->name);
    InterlockedIncrement64(&record->hook_queries);
    return hook;
}

/* LeaveRuntime(target), the call, EnterRuntime().  Any FAILED Leave is an
 * exception and the target is not called (LeaveRuntimeThrowComplus);
 * a FAILED Enter is an exception after the call.  The CLR keeps the
 * native call's last error across EnterRuntime.  An EnterRuntime that
 * closes a Leave inside another still open (the AD-unload helper's) does
 * not bring the thread back into the runtime. */
HRESULT htd__wrapped_call(struct htd_thread *self, struct htd_target_record *record, htd_native_stub stub,
        void *ctx, ULONG_PTR *result)
{
    struct htd_runtime *runtime = self->runtime;
    IHostTaskManager *manager = runtime->task_manager;
    ULONG_PTR value;
    DWORD error;
    HRESULT hr;

    if (FAILED(hr = IHostTaskManager_LeaveRuntime(manager, record->target)))
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "LeaveRuntime(%s)", record->name);
        return hr;
    }
    self->rec.leave++;
    self->out++;
    self->in_runtime = FALSE;
    note_depth(self, 1);
    value = stub(ctx);
    error = GetLastError();
    hr = IHostTaskManager_EnterRuntime(manager);
    note_depth(self, -1);
    self->out--;
    SetLastError(error);
    if (FAILED(hr))
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "EnterRuntime after %s", record->name);
        return hr;
    }
    /* Counted once the host has counted it (at EnterRuntime). */
    InterlockedIncrement64(&record->wrapped_calls);
    self->rec.native_calls++;
    self->rec.enter++;
    if (!self->out)
        note_entry(self);
    if (result)
        *result = value;
    return S_OK;
}

static HRESULT call_out(struct htd_thread *self, SIZE_T target, const char *name, enum htd_call_kind kind,
        htd_native_stub stub, void *ctx, ULONG_PTR *result)
{
    IHostTaskManager *manager = host_manager(self);
    struct htd_target_record *record = target_record(self->runtime, target, name, kind);
    ULONG_PTR value;
    HRESULT hr;

    if (!record)
        return E_OUTOFMEMORY;
    /* Out of managed code: preemptive GC mode for the call. */
    htd__leave_coop(self);
    /* Un-hosted threads and hosts that say "no hook" get a direct call. */
    if (!manager || !needs_hook(self, manager, record, name))
    {
        value = stub(ctx);
        InterlockedIncrement64(&record->direct_calls);
        if (result)
            *result = value;
        hr = S_OK;
    }
    else
        hr = htd__wrapped_call(self, record, stub, ctx, result);
    htd__enter_coop(self);
    /* The stub's way back to cooperative mode polls for a pending
     * suspension or yield request: a safe point, hook or no hook. */
    if (SUCCEEDED(hr))
        htd_safe_point(self);
    return hr;
}

HRESULT htd_pinvoke(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result)
{
    return call_out(self, target, name, HTD_CALL_PINVOKE, stub, ctx, result);
}

HRESULT htd_com_call(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result)
{
    return call_out(self, target, name, HTD_CALL_COM, stub, ctx, result);
}

HRESULT htd_qcall(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result)
{
    return call_out(self, target, name, HTD_CALL_QCALL, stub, ctx, result);
}

HRESULT htd_calli(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result)
{
    return call_out(self, target, name, HTD_CALL_CALLI, stub, ctx, result);
}

/* ---- Reverse P/Invoke ---- */

HRESULT htd_reverse_call(struct htd_runtime *runtime, htd_managed_fn managed, void *ctx)
{
    IHostTaskManager *manager;
    struct htd_thread *self;
    HRESULT hr, body;
    BOOL was_in_runtime;
    LONG out;

    /* The UM thunk finds the thread's Thread, or sets one up for a thread
     * born in native code (dotnet/coreclr@ef1e2ab3 src/vm/amd64/UMThunkStub.asm,
     * CreateThreadBlockThrow -> SetupThread). */
    if (FAILED(hr = htd__get_or_attach(runtime, "native-born", &self)))
        return hr;
    /* The thunk switches to cooperative GC mode, waiting out a GC in
     * progress, before ReverseEnterRuntime: a thread that then waits there
     * for a scheduler slot holds a GC off. */
    htd__enter_coop(self);
    if (!(manager = host_manager(self)))
    {
        body = managed(self, ctx);
        htd__leave_coop(self);
        return body;
    }

    /* Both Reverse calls of a reverse P/Invoke must return exactly S_OK:
     * the CLR tests "hr != S_OK" and throws, S_FALSE included
     * (src/vm/threads.cpp (ReverseEnterRuntimeHelper,
     * ReverseLeaveRuntimeHelper)). */
    was_in_runtime = self->in_runtime;
    if ((hr = IHostTaskManager_ReverseEnterRuntime(manager)) != S_OK)
    {
        htd__leave_coop(self);
        htd__fault(runtime, HTD_FAULT_THROW, hr, "ReverseEnterRuntime");
        return SUCCEEDED(hr) ? COR_E_EXECUTIONENGINE : hr;
    }
    self->rec.reverse_enter++;
    /* From native code into managed code; a thread the thunk has just set
     * up is in the runtime already.  Calls out of the callback are out of
     * this frame, whatever frames enclose it. */
    if (!was_in_runtime)
        note_entry(self);
    note_depth(self, 1);
    out = self->out;
    self->out = 0;
    body = managed(self, ctx);
    self->out = out;
    /* Preemptive mode again, then ReverseLeaveRuntime; also on the way out
     * of an exception: the unwinder makes the same call
     * (src/vm/exceptionhandling.cpp, UMThunkStub.asm). */
    htd__leave_coop(self);
    hr = IHostTaskManager_ReverseLeaveRuntime(manager);
    note_depth(self, -1);
    /* Back to the native caller: out of the runtime, whatever it was in
     * before the call. */
    self->in_runtime = FALSE;
    if (hr != S_OK)
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "ReverseLeaveRuntime");
        return SUCCEEDED(hr) ? COR_E_EXECUTIONENGINE : hr;
    }
    self->rec.reverse_leave++;
    return body;
}

/* ---- Thread affinity ---- */

HRESULT htd_begin_affinity(struct htd_thread *self)
{
    IHostTaskManager *manager = self->runtime->task_manager;
    HRESULT hr;

    /* Thread.BeginThreadAffinity -> Thread::BeginThreadAffinity: nested,
     * and the CLR only asserts S_OK (src/vm/threads.cpp
     * (Thread::BeginThreadAffinity)). */
    if (manager && (hr = IHostTaskManager_BeginThreadAffinity(manager)) != S_OK)
        htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "BeginThreadAffinity");
    if (++self->affinity > self->rec.max_affinity)
        self->rec.max_affinity = self->affinity;
    return S_OK;
}

HRESULT htd_end_affinity(struct htd_thread *self)
{
    IHostTaskManager *manager = self->runtime->task_manager;
    HRESULT hr;

    if (manager && (hr = IHostTaskManager_EndThreadAffinity(manager)) != S_OK)
        htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "EndThreadAffinity");
    self->affinity--;
    return S_OK;
}

/* ---- Thread.Start ---- */

static DWORD WINAPI managed_thread_start(void *arg)
{
    struct htd_thread *thread = arg;
    struct htd_runtime *runtime = thread->runtime;
    HRESULT hr;

    /* The new thread introduces itself (Thread::HasStarted -> InitThread,
     * SetupThreadForHost): stack guarantee, SetCLRTask, SwitchToTask(0).
     * A release build asks no GetCurrentTask here: the task is known
     * (src/vm/threads.cpp (Thread::InitThread)). */
    hr = setup_for_host(thread);
    InterlockedDecrement(&runtime->pending_starts);
    if (FAILED(hr))
    {
        InterlockedExchange(&thread->started, -1);
        if (thread->start_flags & HTD__START_FINALIZER)
            SetEvent(runtime->finalizer_done);
        if (thread->rec.runtime_thread)
            SetEvent(runtime->runtime_thread_ended[thread->start_flags & HTD__START_FINALIZER ? 0 : 1]);
        return 0;
    }
    InterlockedExchange(&thread->coop, 1);
    InterlockedExchange(&thread->started, 1);

    hr = thread->body(thread, thread->arg);
    thread->result = hr;
    thread->rec.end_ms = GetTickCount64();
    /* An exception nobody caught ends the thread (and, in .NET 2.0+, the
     * process: the driver records it instead). */
    if (FAILED(hr))
        htd__fault(runtime, HTD_FAULT_UNHANDLED, hr, "thread '%s' threw", thread->rec.role);
    htd__leave_coop(thread);
    InterlockedExchange(&thread->ended, 1);
    htd__set_current_thread(NULL);
    if (thread->rec.runtime_thread)
        SetEvent(runtime->runtime_thread_ended[thread->start_flags & HTD__START_FINALIZER ? 0 : 1]);
    return 0;
}

HRESULT htd__start_thread(struct htd_thread *self, struct htd_runtime *runtime, const char *role,
        HRESULT (*body)(struct htd_thread *self, void *arg), void *arg, unsigned int flags, struct htd_thread **out)
{
    IHostTaskManager *manager = runtime->task_manager;
    struct htd_thread *thread;
    HANDLE handle;
    HRESULT hr;

    *out = NULL;
    if (!(thread = htd__thread_new(runtime, role, TRUE)))
        return E_OUTOFMEMORY;
    thread->body = body;
    thread->arg = arg;
    thread->rec.runtime_thread = (flags & HTD__START_RUNTIME) != 0;
    thread->start_flags = flags;
    /* ThreadStore::m_PendingThreadCount: a thread that attaches while this
     * one has not started yet looks for it first (src/vm/threads.cpp
     * (SetupThread)). */
    InterlockedIncrement(&runtime->pending_starts);

    if (!manager)
    {
        /* Un-hosted: the CLR's own CreateThread path. */
        if (!(handle = CreateThread(NULL, 0, managed_thread_start, thread, 0, NULL)))
        {
            InterlockedDecrement(&runtime->pending_starts);
            return E_OUTOFMEMORY;
        }
        CloseHandle(handle);
    }
    else
    {
        /* Thread::CreateNewHostTask: only exactly S_OK creates the thread;
         * anything else makes Thread.Start throw OutOfMemoryException. */
        hr = IHostTaskManager_CreateTask(manager, 0, managed_thread_start, thread, &thread->host_task);
        if (hr != S_OK)
        {
            InterlockedDecrement(&runtime->pending_starts);
            htd__fault(runtime, HTD_FAULT_THROW, hr, "CreateTask for '%s'", role);
            if (thread->host_task)
            {
                /* The CLR drops a task written with a failure, never
                 * stored or released: a leak (src/vm/threads.cpp
                 * (Thread::CreateNewHostTask)).  The driver keeps it and
                 * gives it back at Stop, so that the host's own counts
                 * can still be checked. */
                htd__fault(runtime, HTD_FAULT_ASSERT, hr, "CreateTask failed but wrote a task");
            }
            return E_OUTOFMEMORY;
        }
        thread->rec.hosted = TRUE;
        /* Created suspended: nothing of the new thread may have run yet. */
        if (thread->started)
            htd__fault(runtime, HTD_FAULT_ASSERT, S_OK, "'%s' ran before Start", role);
        /* ThreadNative::StartInner sets the priority first ("== S_OK"
         * becomes a BOOL it ignores); the CLR's own threads are started
         * with none (src/vm/comsynchronizable.cpp (ThreadNative::StartInner),
         * src/vm/finalizerthread.cpp (FinalizerThread::FinalizerThreadCreate)). */
        if (flags & HTD__START_PRIORITY)
            IHostTask_SetPriority(thread->host_task, THREAD_PRIORITY_NORMAL);
        /* Thread::StartThread: anything but S_OK is -1, which StartInner
         * only asserts; it then spins until the thread leaves TS_Unstarted,
         * which it never does: a hang, not an exception
         * (src/vm/threads.cpp (Thread::StartThread),
         * src/vm/comsynchronizable.cpp (ThreadNative::StartInner)).  The
         * driver cannot hang: it records both and unwinds. */
        if ((hr = IHostTask_Start(thread->host_task)) != S_OK)
        {
            InterlockedDecrement(&runtime->pending_starts);
            htd__fault(runtime, HTD_FAULT_ASSERT, hr, "IHostTask::Start for '%s'", role);
            htd__fault(runtime, HTD_FAULT_HANG, hr, "Thread.Start of '%s' would spin forever", role);
            return COR_E_THREADSTART;
        }
    }

    /* Running (or about to): the runtime knows its own threads from here. */
    if (flags & HTD__START_FINALIZER)
        runtime->finalizer = thread;
    else if (flags & HTD__START_RUNTIME)
        runtime->unload_helper = thread;

    /* The creator waits in preemptive mode for the new thread to start,
     * yielding through the host (YIELD_WHILE: __SwitchToThread(0) ->
     * SwitchToTask(0), src/vm/spinlock.h, src/vm/hosting.cpp). */
    if (flags & HTD__START_SPIN)
    {
        if (self)
            htd__leave_coop(self);
        while (!thread->started)
        {
            if (manager && self && self->rec.hosted)
                htd__switch_to_task(self, manager);
            else if (manager)
                IHostTaskManager_SwitchToTask(manager, 0);
            else
                SwitchToThread();
        }
        if (self)
            htd__enter_coop(self);
        if (thread->started < 0)
            return COR_E_THREADSTART;
    }
    *out = thread;
    return S_OK;
}

HRESULT htd_thread_start(struct htd_thread *self, const char *role,
        HRESULT (*body)(struct htd_thread *self, void *arg), void *arg, struct htd_thread **out)
{
    return htd__start_thread(self, self->runtime, role, body, arg, HTD__START_PRIORITY | HTD__START_SPIN, out);
}

/* ---- Interrupt, Sleep, Join ---- */

static void CALLBACK interrupt_apc(ULONG_PTR param)
{
}

void htd_thread_interrupt(struct htd_thread *self, struct htd_thread *thread)
{
    struct htd_runtime *runtime = thread->runtime;
    IHostTask *task = thread->host_task;
    HANDLE handle;
    HRESULT hr;

    /* Thread::UserInterrupt: mark TS_Interrupted; if the thread sits in an
     * interruptible wait, wake it (Thread::Alert): a thread in an OS
     * alertable wait (TSNC_OSAlertableWait: WaitHandle, Monitor) by an APC,
     * any other hosted thread (in Sleep or Join) by IHostTask::Alert,
     * checked with SUCCEEDED (src/vm/threads.cpp (Thread::Alert)). */
    InterlockedExchange(&thread->interrupted, 1);
    if (!thread->interruptible)
        return;
    EnterCriticalSection(&runtime->lock);
    if (thread->os_alertable)
    {
        if ((handle = OpenThread(THREAD_SET_CONTEXT, FALSE, thread->rec.os_thread_id)))
        {
            QueueUserAPC(interrupt_apc, handle, 0);
            CloseHandle(handle);
        }
        LeaveCriticalSection(&runtime->lock);
        return;
    }
    LeaveCriticalSection(&runtime->lock);
    if (task)
    {
        InterlockedIncrement64(&thread->rec.alerts);
        if (FAILED(hr = IHostTask_Alert(task)))
            htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "Alert on '%s'", thread->rec.role);
    }
}

BOOL htd_thread_in_wait(struct htd_thread *thread)
{
    return thread->interruptible != 0;
}

void htd_thread_yield(struct htd_thread *self)
{
    IHostTaskManager *manager = self->runtime->task_manager;

    /* Thread.Yield: a QCall (preemptive mode), __SwitchToThread(0)
     * (src/vm/comsynchronizable.cpp (ThreadNative::YieldThread)). */
    htd__leave_coop(self);
    if (manager && self->rec.hosted)
        htd__switch_to_task(self, manager);
    else if (manager)
        IHostTaskManager_SwitchToTask(manager, 0);
    else
        SwitchToThread();
    htd__enter_coop(self);
}

/* Thread::UserInterruptAPC: a pending Interrupt becomes a
 * ThreadInterruptedException. */
static HRESULT take_interrupt(struct htd_thread *self)
{
    if (InterlockedExchange(&self->interrupted, 0))
        return COR_E_THREADINTERRUPTED;
    return S_OK;
}

HRESULT htd_thread_sleep(struct htd_thread *self, DWORD milliseconds)
{
    IHostTaskManager *manager = host_manager(self);
    ULONGLONG deadline = GetTickCount64() + milliseconds, now;
    HRESULT hr;

    /* Thread::UserSleep: an Interrupt that came first throws at once. */
    InterlockedExchange(&self->interruptible, 1);
    if ((hr = take_interrupt(self)) != S_OK)
    {
        InterlockedExchange(&self->interruptible, 0);
        return hr;
    }
    htd__leave_coop(self);
    for (;;)
    {
        if (!manager)
        {
            hr = SleepEx(milliseconds, TRUE) == WAIT_IO_COMPLETION ? HOST_E_INTERRUPTED : S_OK;
        }
        else
        {
            /* src/vm/hosting.cpp (EESleepEx): Thread.Sleep is alertable.
             * A host wait gives the slot up and takes it back; Sleep(0) is
             * a yield. */
            hr = IHostTaskManager_Sleep(manager, milliseconds, WAIT_ALERTABLE);
            self->rec.sleeps++;
            if (!milliseconds)
                self->rec.switches++;
            else if (self->in_runtime)
                self->rec.slot_entries++;
        }
        if (hr == HOST_E_INTERRUPTED)
        {
            self->rec.interrupted_waits++;
            /* An APC wake: a pending interrupt is thrown; otherwise the
             * sleep goes on for the rest of its time. */
            if ((hr = take_interrupt(self)) != S_OK)
                break;
            now = GetTickCount64();
            if (milliseconds == INFINITE || now < deadline)
            {
                if (milliseconds != INFINITE)
                    milliseconds = (DWORD)(deadline - now);
                continue;
            }
            hr = S_OK;
        }
        else if (hr != S_OK)
        {
            /* EESleepEx asserts on any other code and treats it as S_OK. */
            htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "Sleep(%lu, WAIT_ALERTABLE)", milliseconds);
            hr = S_OK;
        }
        break;
    }
    InterlockedExchange(&self->interruptible, 0);
    htd__enter_coop(self);
    return hr;
}

/* Thread::JoinEx -> DoAppropriateWait -> HostJoinOnThread (src/vm/threads.cpp):
 * IHostTask::Join with the options given, its results as the CLR reads
 * them: S_OK and HOST_E_ABANDONED joined, HOST_E_TIMEOUT not; on
 * HOST_E_INTERRUPTED a pending interrupt is thrown and otherwise the join
 * waits again for the rest of its time (Thread::DoAppropriateWaitWorker);
 * HOST_E_DEADLOCK is thrown into managed code (src/vm/excep.cpp
 * (RaiseDeadLockException)); any other code is an E_FAIL wait result,
 * which ThreadNative::DoJoin asserts on and reads as "not joined"
 * (src/vm/comsynchronizable.cpp (ThreadNative::DoJoin)). */
static HRESULT join(struct htd_thread *self, struct htd_thread *thread, DWORD milliseconds, DWORD option,
        BOOL interruptible, BOOL *joined)
{
    IHostTaskManager *manager = host_manager(self);
    IHostTask *task = thread->host_task;
    ULONGLONG deadline = GetTickCount64() + milliseconds, now;
    HRESULT hr;

    *joined = FALSE;
    if (interruptible)
    {
        InterlockedExchange(&self->interruptible, 1);
        if ((hr = take_interrupt(self)) != S_OK)
        {
            InterlockedExchange(&self->interruptible, 0);
            return hr;
        }
    }
    htd__leave_coop(self);
    if (!manager || !task)
    {
        while (!thread->rec.end_ms && thread->started > 0)
            SwitchToThread();
        *joined = TRUE;
        InterlockedExchange(&self->interruptible, 0);
        htd__enter_coop(self);
        return S_OK;
    }
    for (;;)
    {
        hr = IHostTask_Join(task, milliseconds, option);
        self->rec.joins++;
        if (self->in_runtime)
            self->rec.slot_entries++;
        if (hr != HOST_E_INTERRUPTED)
            break;
        self->rec.interrupted_waits++;
        if (interruptible && (hr = take_interrupt(self)) != S_OK)
            break;
        now = GetTickCount64();
        if (milliseconds != INFINITE)
        {
            if (now >= deadline)
            {
                hr = HOST_E_TIMEOUT;
                break;
            }
            milliseconds = (DWORD)(deadline - now);
        }
    }
    InterlockedExchange(&self->interruptible, 0);
    htd__enter_coop(self);
    switch (hr)
    {
    case S_OK:
    case HOST_E_ABANDONED:          /* "The task died": joined */
        *joined = TRUE;
        return S_OK;
    case HOST_E_TIMEOUT:
        return S_OK;
    case COR_E_THREADINTERRUPTED:
        return hr;
    case HOST_E_DEADLOCK:
        /* Legal without WAIT_NOTINDEADLOCK, which Thread.Join never passes. */
        if (option & WAIT_NOTINDEADLOCK)
            htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "Join returned HOST_E_DEADLOCK with WAIT_NOTINDEADLOCK");
        htd__fault(self->runtime, HTD_FAULT_THROW, hr, "Join on '%s'", thread->rec.role);
        return hr;
    default:
        htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "Join on '%s': unknown host join status", thread->rec.role);
        return S_OK;
    }
}

HRESULT htd_thread_join(struct htd_thread *self, struct htd_thread *thread, DWORD milliseconds, BOOL *joined)
{
    /* ThreadNative::DoJoin: JoinEx(timeout, WaitMode_Alertable |
     * WaitMode_InDeadlock), so HostJoinOnThread passes WAIT_ALERTABLE, and
     * WAIT_MSGPUMP off an MTA (the driver's threads are MTA), never
     * WAIT_NOTINDEADLOCK (src/vm/comsynchronizable.cpp (ThreadNative::DoJoin),
     * src/vm/threads.cpp (HostJoinOnThread)). */
    return join(self, thread, milliseconds, WAIT_ALERTABLE, TRUE, joined);
}

HRESULT htd_internal_join(struct htd_thread *self, struct htd_thread *thread, DWORD milliseconds, BOOL alertable,
        BOOL *joined)
{
    /* Thread::Join(timeout, alertable): WaitMode_InDeadlock unset, so
     * WAIT_NOTINDEADLOCK (the abort poll's self-join, RCW cleanup, the
     * shutdown join: src/vm/threadsuspend.cpp, src/vm/runtimecallablewrapper.cpp,
     * src/vm/ceemain.cpp). */
    return join(self, thread, milliseconds, WAIT_NOTINDEADLOCK | (alertable ? WAIT_ALERTABLE : 0), alertable,
            joined);
}

/* ---- The CLR's own OS waits ---- */

struct wait_args
{
    HANDLE handle;
    DWORD milliseconds;
    BOOL alertable;
};

static ULONG_PTR single_wait_stub(void *ctx)
{
    struct wait_args *args = ctx;

    return WaitForSingleObjectEx(args->handle, args->milliseconds, args->alertable);
}

static ULONG_PTR multiple_wait_stub(void *ctx)
{
    struct wait_args *args = ctx;

    return WaitForMultipleObjectsEx(1, &args->handle, FALSE, args->milliseconds, args->alertable);
}

DWORD htd__event_wait(struct htd_thread *self, HANDLE handle, DWORD milliseconds)
{
    struct wait_args args = { handle, milliseconds, FALSE };
    struct htd_target_record *record;
    ULONG_PTR result = WAIT_FAILED;

    /* A non-alertable CLREvent wait with no sync manager:
     * LeaveRuntime(&WaitForSingleObjectEx), the wait, EnterRuntime, never
     * asking CallNeedsHostHook (src/vm/synch.cpp (CLREventWaitHelper2)). */
    if (!host_manager(self)
            || !(record = target_record(self->runtime, (SIZE_T)&WaitForSingleObjectEx, "WaitForSingleObjectEx",
                    HTD_CALL_INTERNAL)))
        return (DWORD)single_wait_stub(&args);
    if (FAILED(htd__wrapped_call(self, record, single_wait_stub, &args, &result)))
        return WAIT_FAILED;
    return (DWORD)result;
}

HRESULT htd__alertable_wait(struct htd_thread *self, HANDLE handle, DWORD milliseconds, DWORD *result)
{
    struct htd_runtime *runtime = self->runtime;
    struct wait_args args = { handle, milliseconds, TRUE };
    ULONGLONG deadline = GetTickCount64() + milliseconds, now;
    struct htd_target_record *record;
    ULONG_PTR value;
    HRESULT hr;

    /* Thread::DoAppropriateWaitWorker: LeaveRuntime(&WaitForMultipleObjectsEx),
     * an alertable OS wait (TSNC_OSAlertableWait: Thread.Interrupt comes
     * as an APC), EnterRuntime; never asking CallNeedsHostHook.  A wake by
     * an APC throws a pending interrupt, or waits again for the rest of
     * the time (src/vm/threads.cpp (Thread::DoAppropriateWaitWorker)). */
    if (!(record = target_record(runtime, (SIZE_T)&WaitForMultipleObjectsEx, "WaitForMultipleObjectsEx",
            HTD_CALL_INTERNAL)))
        return E_OUTOFMEMORY;
    EnterCriticalSection(&runtime->lock);
    InterlockedExchange(&self->os_alertable, 1);
    LeaveCriticalSection(&runtime->lock);
    InterlockedExchange(&self->interruptible, 1);
    htd__leave_coop(self);
    for (;;)
    {
        if ((hr = take_interrupt(self)) != S_OK)
            break;
        value = WAIT_FAILED;
        if (!host_manager(self))
            value = multiple_wait_stub(&args);
        else if (FAILED(hr = htd__wrapped_call(self, record, multiple_wait_stub, &args, &value)))
            break;
        if (value != WAIT_IO_COMPLETION)
        {
            *result = (DWORD)value;
            hr = value == WAIT_FAILED ? HRESULT_FROM_WIN32(GetLastError()) : S_OK;
            break;
        }
        if ((hr = take_interrupt(self)) != S_OK)
            break;
        now = GetTickCount64();
        if (milliseconds != INFINITE)
        {
            if (now >= deadline)
            {
                *result = WAIT_TIMEOUT;
                break;
            }
            args.milliseconds = (DWORD)(deadline - now);
        }
    }
    InterlockedExchange(&self->interruptible, 0);
    /* No APC may come once the flag is down; one already queued runs now. */
    EnterCriticalSection(&runtime->lock);
    InterlockedExchange(&self->os_alertable, 0);
    LeaveCriticalSection(&runtime->lock);
    SleepEx(0, TRUE);
    htd__enter_coop(self);
    return hr;
}

HRESULT htd_wait_handle(struct htd_thread *self, HANDLE handle, DWORD milliseconds, BOOL *signaled)
{
    DWORD result = WAIT_FAILED;
    HRESULT hr;

    /* WaitHandle.WaitOne: WaitMode_Alertable (src/vm/comwaithandle.cpp
     * (WaitHandleNative::CorWaitOneNative)). */
    *signaled = FALSE;
    if (FAILED(hr = htd__alertable_wait(self, handle, milliseconds, &result)))
        return hr;
    *signaled = result == WAIT_OBJECT_0 || result == WAIT_ABANDONED_0;
    return S_OK;
}
