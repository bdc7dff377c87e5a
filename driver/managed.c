/*
 * What the CLR does with the host for each managed operation, and what it
 * does with every result.  Each function names the CLR code it replays
 * (dotnet/coreclr ef1e2ab3 src/vm) and the step of spec section 5.
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

/* __SwitchToThread on a hosted thread: a pending yield request is
 * satisfied by any yield (it clears TS_YieldRequested), then
 * IHostTaskManager::SwitchToTask(0). */
static void switch_to_task(struct htd_thread *self, IHostTaskManager *manager)
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

/* ---- Thread setup (spec 5.4) ---- */

/* threads.cpp Thread::InitThread -> GetCurrentTask, then SetupThread ->
 * SetupThreadForHost -> SetCLRTask and SwitchToTask(0). */
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
        /* InitThread: only the pointer counts.  NULL = the host refuses
         * this thread, and an ordinary thread then fails to start with
         * HOST_E_INVALIDOPERATION (spec 3.2). */
        hr = IHostTaskManager_GetCurrentTask(manager, &thread->host_task);
        if (!thread->host_task)
        {
            htd__fault(runtime, HTD_FAULT_THROW, hr, "GetCurrentTask gave no task: thread refused");
            htd__set_current_thread(NULL);
            return HOST_E_INVALIDOPERATION;
        }
    }
    thread->rec.hosted = TRUE;
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
    switch_to_task(thread, manager);
    return S_OK;
}

/* CLRSetThreadStackGuarantee (threads.cpp, spec 5.16): ask the host first;
 * E_NOTIMPL from both means the CLR sets it itself. */
static void stack_guarantee(struct htd_thread *thread)
{
    IHostTaskManager *manager = host_manager(thread);
    ULONG guarantee = 0xdeadbeef, needed = 64 * 1024;
    HRESULT hr;

    if (!manager)
        return;
    hr = IHostTaskManager_GetStackGuarantee(manager, &guarantee);
    if (SUCCEEDED(hr) && guarantee >= needed)
        return;
    hr = IHostTaskManager_SetStackGuarantee(manager, needed);
    if (hr == E_NOTIMPL)
        SetThreadStackGuarantee(&needed);
    else if (FAILED(hr))
        htd__fault(thread->runtime, HTD_FAULT_THROW, hr, "SetStackGuarantee(%lu)", needed);
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
    stack_guarantee(thread);
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

    /* A GC poll finds TS_YieldRequested set: the thread yields now. */
    if (!manager || !InterlockedCompareExchange(&self->yield_requested, 0, 0))
        return;
    self->rec.safe_point_yields++;
    switch_to_task(self, manager);
}

/* ---- P/Invoke (spec 5.6, 5.10) ---- */

static struct htd_target_record *target_record(struct htd_runtime *runtime, SIZE_T target, const char *name,
        BOOL internal)
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
        record->internal = internal;
        htd__copy_role(record->name, sizeof(record->name), name);
        MemoryBarrier();
        runtime->target_count++;
    }
    LeaveCriticalSection(&runtime->lock);
    return record;
}

/* Whether calls to target are wrapped: x64 asks the host before every call
 * (dllimport.cpp, the IL stub's CallNeedsHostHook); x86 asks once, when the
 * stub is bound, and keeps the answer (frames.cpp PInvokeStubForHostWorker,
 * i386/cgenx86.cpp).  The BOOL is pre-set FALSE and the HRESULT only
 * asserted (spec 3.2). */
static BOOL needs_hook(struct htd_thread *self, IHostTaskManager *manager, struct htd_target_record *record)
{
    struct htd_runtime *runtime = self->runtime;
    BOOL hook = FALSE;
    HRESULT hr;

    if (runtime->options.style == HTD_PINVOKE_X86)
    {
        if (record->bound)
            return record->needs_hook;
        EnterCriticalSection(&runtime->lock);
        if (!record->bound)
        {
            hr = IHostTaskManager_CallNeedsHostHook(manager, record->target, &hook);
            if (FAILED(hr))
                htd__fault(runtime, HTD_FAULT_ASSERT, hr, "CallNeedsHostHook(%s)", record->name);
            InterlockedIncrement64(&record->hook_queries);
            record->needs_hook = hook;
            MemoryBarrier();
            record->bound = TRUE;
        }
        LeaveCriticalSection(&runtime->lock);
        return record->needs_hook;
    }
    hr = IHostTaskManager_CallNeedsHostHook(manager, record->target, &hook);
    if (FAILED(hr))
        htd__fault(runtime, HTD_FAULT_ASSERT, hr, "CallNeedsHostHook(%s)", record->name);
    InterlockedIncrement64(&record->hook_queries);
    return hook;
}

/* LeaveRuntime(target), the call, EnterRuntime().  Any FAILED Leave is an
 * exception and the target is not called (LeaveRuntimeThrowComplus);
 * a FAILED Enter is an exception after the call.  The CLR keeps the
 * native call's last error across EnterRuntime. */
static HRESULT wrapped_call(struct htd_thread *self, IHostTaskManager *manager, struct htd_target_record *record,
        htd_native_stub stub, void *ctx, ULONG_PTR *result)
{
    struct htd_runtime *runtime = self->runtime;
    ULONG_PTR value;
    DWORD error;
    HRESULT hr;

    if (FAILED(hr = IHostTaskManager_LeaveRuntime(manager, record->target)))
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "LeaveRuntime(%s)", record->name);
        return hr;
    }
    self->rec.leave++;
    self->in_runtime = FALSE;
    note_depth(self, 1);
    value = stub(ctx);
    error = GetLastError();
    InterlockedIncrement64(&record->wrapped_calls);
    self->rec.native_calls++;
    hr = IHostTaskManager_EnterRuntime(manager);
    note_depth(self, -1);
    SetLastError(error);
    if (FAILED(hr))
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "EnterRuntime after %s", record->name);
        return hr;
    }
    self->rec.enter++;
    note_entry(self);
    if (result)
        *result = value;
    return S_OK;
}

HRESULT htd_pinvoke(struct htd_thread *self, SIZE_T target, const char *name, htd_native_stub stub, void *ctx,
        ULONG_PTR *result)
{
    IHostTaskManager *manager = host_manager(self);
    struct htd_target_record *record = target_record(self->runtime, target, name, FALSE);
    ULONG_PTR value;
    HRESULT hr;

    if (!record)
        return E_OUTOFMEMORY;
    /* Un-hosted threads and hosts that say "no hook" get a direct call. */
    if (!manager || !needs_hook(self, manager, record))
    {
        value = stub(ctx);
        InterlockedIncrement64(&record->direct_calls);
        if (result)
            *result = value;
        hr = S_OK;
    }
    else
        hr = wrapped_call(self, manager, record, stub, ctx, result);
    /* The stub's way back to cooperative mode polls for a pending
     * suspension or yield request: a safe point, hook or no hook. */
    if (SUCCEEDED(hr))
        htd_safe_point(self);
    return hr;
}

/* ---- Reverse P/Invoke (spec 5.7-5.9) ---- */

HRESULT htd_reverse_call(struct htd_runtime *runtime, htd_managed_fn managed, void *ctx)
{
    IHostTaskManager *manager;
    struct htd_thread *self;
    HRESULT hr, body;
    BOOL was_in_runtime;

    /* The UM thunk (amd64/UMThunkStub.asm) finds the thread's Thread, or
     * sets one up for a thread born in native code (spec 5.8). */
    if (FAILED(hr = htd__get_or_attach(runtime, "native-born", &self)))
        return hr;
    if (!(manager = host_manager(self)))
        return managed(self, ctx);

    /* Both Reverse calls must return exactly S_OK: the CLR tests
     * "hr != S_OK" and throws, S_FALSE included. */
    was_in_runtime = self->in_runtime;
    if ((hr = IHostTaskManager_ReverseEnterRuntime(manager)) != S_OK)
    {
        htd__fault(runtime, HTD_FAULT_THROW, hr, "ReverseEnterRuntime");
        return SUCCEEDED(hr) ? COR_E_EXECUTIONENGINE : hr;
    }
    self->rec.reverse_enter++;
    /* From native code into managed code; a thread the thunk has just set
     * up is in the runtime already. */
    if (!was_in_runtime)
        note_entry(self);
    note_depth(self, 1);
    body = managed(self, ctx);
    /* Also on the way out of an exception: the unwinder makes the same
     * call (spec 5.9, exceptionhandling.cpp). */
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

/* ---- Thread affinity (spec 5.5) ---- */

HRESULT htd_begin_affinity(struct htd_thread *self)
{
    IHostTaskManager *manager = self->runtime->task_manager;
    HRESULT hr;

    /* Thread.BeginThreadAffinity -> Thread::BeginThreadAffinity: nested,
     * and the CLR only asserts S_OK. */
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

/* ---- Thread.Start (spec 5.11) ---- */

static DWORD WINAPI managed_thread_start(void *arg)
{
    struct htd_thread *thread = arg;
    IHostTaskManager *manager = thread->runtime->task_manager;
    IHostTask *current = NULL;
    HRESULT hr;

    /* The new thread introduces itself (Thread::HasStarted ->
     * SetupThreadForHost): SetCLRTask, SwitchToTask(0). */
    if (FAILED(hr = setup_for_host(thread)))
    {
        InterlockedExchange(&thread->started, -1);
        return 0;
    }
    /* SetupThread's check that the host gives back the task it created
     * (the path that calls GetCurrentTask and releases at once, spec 5.18). */
    if (manager)
    {
        IHostTaskManager_GetCurrentTask(manager, &current);
        if (current != thread->host_task)
            htd__fault(thread->runtime, HTD_FAULT_ASSERT, S_OK,
                    "GetCurrentTask on a new thread is not the task CreateTask made");
        if (current)
            IHostTask_Release(current);
    }
    stack_guarantee(thread);
    InterlockedExchange(&thread->started, 1);

    hr = thread->body(thread, thread->arg);
    thread->result = hr;
    thread->rec.end_ms = GetTickCount64();
    /* An exception nobody caught ends the thread (and, in .NET 2.0+, the
     * process: the driver records it instead). */
    if (FAILED(hr))
        htd__fault(thread->runtime, HTD_FAULT_UNHANDLED, hr, "thread '%s' threw", thread->rec.role);
    htd__set_current_thread(NULL);
    return 0;
}

HRESULT htd_thread_start(struct htd_thread *self, const char *role,
        HRESULT (*body)(struct htd_thread *self, void *arg), void *arg, struct htd_thread **out)
{
    struct htd_runtime *runtime = self->runtime;
    IHostTaskManager *manager = runtime->task_manager;
    struct htd_thread *thread;
    HANDLE handle;
    HRESULT hr;

    *out = NULL;
    if (!(thread = htd__thread_new(runtime, role, TRUE)))
        return E_OUTOFMEMORY;
    thread->body = body;
    thread->arg = arg;

    if (!manager)
    {
        /* Un-hosted: the CLR's own CreateThread path. */
        if (!(handle = CreateThread(NULL, 0, managed_thread_start, thread, 0, NULL)))
            return E_OUTOFMEMORY;
        CloseHandle(handle);
    }
    else
    {
        /* Thread::CreateNewHostTask: only exactly S_OK creates the thread;
         * anything else makes Thread.Start throw OutOfMemoryException. */
        hr = IHostTaskManager_CreateTask(manager, 0, managed_thread_start, thread, &thread->host_task);
        if (hr != S_OK)
        {
            htd__fault(runtime, HTD_FAULT_THROW, hr, "CreateTask for '%s'", role);
            if (thread->host_task)
            {
                /* Kept by the Thread until it dies, like any other. */
                htd__fault(runtime, HTD_FAULT_ASSERT, hr, "CreateTask failed but wrote a task");
            }
            return E_OUTOFMEMORY;
        }
        thread->rec.hosted = TRUE;
        /* Created suspended: nothing of the new thread may have run yet. */
        if (thread->started)
            htd__fault(runtime, HTD_FAULT_ASSERT, S_OK, "'%s' ran before Start", role);
        /* ThreadNative::Start sets the priority first (Thread::SetThreadPriority:
         * "== S_OK" becomes a BOOL, not an error). */
        IHostTask_SetPriority(thread->host_task, THREAD_PRIORITY_NORMAL);
        /* Thread::StartThread: only S_OK started it. */
        if ((hr = IHostTask_Start(thread->host_task)) != S_OK)
        {
            htd__fault(runtime, HTD_FAULT_THROW, hr, "IHostTask::Start for '%s'", role);
            return COR_E_THREADSTART;
        }
    }

    /* The creator waits for the new thread to signal that it started,
     * yielding through the host (spec 5.11: __SwitchToThread -> SwitchToTask). */
    while (!thread->started)
    {
        if (manager)
            switch_to_task(self, manager);
        else
            SwitchToThread();
    }
    if (thread->started < 0)
        return COR_E_THREADSTART;
    *out = thread;
    return S_OK;
}

/* ---- Interrupt, Sleep, Join (spec 5.12, 5.13) ---- */

void htd_thread_interrupt(struct htd_thread *self, struct htd_thread *thread)
{
    IHostTask *task = thread->host_task;
    HRESULT hr;

    /* Thread::UserInterrupt: mark TS_Interrupted; if the thread sits in an
     * interruptible wait, wake it: with a host, Thread::Alert ->
     * IHostTask::Alert (checked with SUCCEEDED). */
    InterlockedExchange(&thread->interrupted, 1);
    if (thread->interruptible && task)
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

    if (manager && self->rec.hosted)
        switch_to_task(self, manager);
    else if (manager)
        IHostTaskManager_SwitchToTask(manager, 0);
    else
        SwitchToThread();
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
    for (;;)
    {
        if (!manager)
        {
            hr = SleepEx(milliseconds, TRUE) == WAIT_IO_COMPLETION ? HOST_E_INTERRUPTED : S_OK;
        }
        else
        {
            /* hosting.cpp EESleepEx: Thread.Sleep is alertable.  A host
             * wait gives the slot up and takes it back; Sleep(0) is a yield. */
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
    return hr;
}

HRESULT htd_thread_join(struct htd_thread *self, struct htd_thread *thread, DWORD milliseconds, BOOL *joined)
{
    IHostTaskManager *manager = host_manager(self);
    IHostTask *task = thread->host_task;
    DWORD option;
    HRESULT hr;

    *joined = FALSE;
    InterlockedExchange(&self->interruptible, 1);
    if ((hr = take_interrupt(self)) != S_OK)
    {
        InterlockedExchange(&self->interruptible, 0);
        return hr;
    }
    if (!manager || !task)
    {
        while (!thread->rec.end_ms && thread->started > 0)
            SwitchToThread();
        *joined = TRUE;
        InterlockedExchange(&self->interruptible, 0);
        return S_OK;
    }
    /* Thread::JoinEx -> DoAppropriateWait -> HostJoinOnThread: alertable,
     * not in a deadlock (WaitMode_InDeadlock unset), no message pump on an
     * MTA thread. */
    option = WAIT_ALERTABLE | WAIT_NOTINDEADLOCK;
    hr = IHostTask_Join(task, milliseconds, option);
    self->rec.joins++;
    if (self->in_runtime)
        self->rec.slot_entries++;
    InterlockedExchange(&self->interruptible, 0);
    switch (hr)
    {
    case S_OK:
    case HOST_E_ABANDONED:          /* "The task died": joined */
        *joined = TRUE;
        return S_OK;
    case HOST_E_TIMEOUT:
        return S_OK;
    case HOST_E_INTERRUPTED:
        self->rec.interrupted_waits++;
        /* UserInterruptAPC: throws if an Interrupt is pending; a plain
         * wake reads as WAIT_IO_COMPLETION, i.e. not joined. */
        return take_interrupt(self);
    case HOST_E_DEADLOCK:
        /* Only legal without WAIT_NOTINDEADLOCK; RaiseDeadLockException. */
        htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "Join returned HOST_E_DEADLOCK with WAIT_NOTINDEADLOCK");
        htd__fault(self->runtime, HTD_FAULT_THROW, hr, "Join on '%s'", thread->rec.role);
        return hr;
    default:
        /* "Unknown host join status": an assert, then E_FAIL as a wait result. */
        htd__fault(self->runtime, HTD_FAULT_ASSERT, hr, "Join on '%s'", thread->rec.role);
        return E_FAIL;
    }
}

/* ---- The CLR's own OS waits (spec 5.10) ---- */

static ULONG_PTR wait_stub(void *ctx)
{
    void **args = ctx;

    return WaitForMultipleObjectsEx(1, (HANDLE *)args[0], FALSE, (DWORD)(ULONG_PTR)args[1], FALSE);
}

HRESULT htd_wait_handle(struct htd_thread *self, HANDLE handle, DWORD milliseconds, BOOL *signaled)
{
    IHostTaskManager *manager = host_manager(self);
    struct htd_target_record *record;
    void *args[2] = { &handle, (void *)(ULONG_PTR)milliseconds };
    ULONG_PTR result = WAIT_FAILED;
    HRESULT hr;

    *signaled = FALSE;
    /* Without a sync manager the CLR waits on the OS itself, wrapped in
     * LeaveRuntime/EnterRuntime and never asking CallNeedsHostHook
     * (threads.cpp Thread::DoAppropriateWaitWorker). */
    if (!(record = target_record(self->runtime, (SIZE_T)&WaitForMultipleObjectsEx, "WaitForMultipleObjectsEx", TRUE)))
        return E_OUTOFMEMORY;
    if (!manager)
        result = wait_stub(args);
    else if (FAILED(hr = wrapped_call(self, manager, record, wait_stub, args, &result)))
        return hr;
    if (result == WAIT_FAILED)
        return HRESULT_FROM_WIN32(GetLastError());
    *signaled = result == WAIT_OBJECT_0;
    return S_OK;
}
