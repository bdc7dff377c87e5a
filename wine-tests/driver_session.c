/* Driver sessions: see driver_session.h. */
#include "driver_session.h"
#include "clr_iids.h"

/* ---- A spy IHostControl: records the handshake, can hand out a task
 * manager that answers badly ---- */



struct bad_manager
{
    IHostTaskManager IHostTaskManager_iface;
    LONG refcount;
    IHostTaskManager *inner;
    enum bad bad;
    LONG create_calls;
};

static inline struct bad_manager *bad_impl(IHostTaskManager *iface)
{
    return CONTAINING_RECORD(iface, struct bad_manager, IHostTaskManager_iface);
}

static HRESULT STDMETHODCALLTYPE bad_QueryInterface(IHostTaskManager *iface, REFIID riid, void **out)
{
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IHostTaskManager))
        return E_NOINTERFACE;
    *out = iface;
    IHostTaskManager_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE bad_AddRef(IHostTaskManager *iface)
{
    return InterlockedIncrement(&bad_impl(iface)->refcount);
}

static ULONG STDMETHODCALLTYPE bad_Release(IHostTaskManager *iface)
{
    struct bad_manager *manager = bad_impl(iface);
    LONG refcount = InterlockedDecrement(&manager->refcount);

    if (!refcount)
    {
        IHostTaskManager_Release(manager->inner);
        HeapFree(GetProcessHeap(), 0, manager);
    }
    return refcount;
}

#define INNER(iface) (bad_impl(iface)->inner)
static HRESULT STDMETHODCALLTYPE bad_GetCurrentTask(IHostTaskManager *iface, IHostTask **task)
{
    return IHostTaskManager_GetCurrentTask(INNER(iface), task);
}

static DWORD WINAPI nothing_routine(void *arg)
{
    return 0;
}

static HRESULT STDMETHODCALLTYPE bad_CreateTask(IHostTaskManager *iface, DWORD stack, LPTHREAD_START_ROUTINE start,
        void *param, IHostTask **task)
{
    HRESULT hr;

    /* A task already started on a routine of its own: the CLR's Start then
     * fails (HOST_E_INVALIDOPERATION, a second Start), and its routine
     * never runs. */
    if (bad_impl(iface)->bad == BAD_START_FAIL && InterlockedIncrement(&bad_impl(iface)->create_calls) > 2)
    {
        if (SUCCEEDED(hr = IHostTaskManager_CreateTask(INNER(iface), stack, nothing_routine, NULL, task)))
            IHostTask_Start(*task);
        return hr;
    }
    /* The runtime's own threads (finalizer, AD-unload helper) are created
     * at Start: only Thread.Start's calls fail. */
    if (bad_impl(iface)->bad == BAD_CREATE_TASK_FAIL && InterlockedIncrement(&bad_impl(iface)->create_calls) > 2)
    {
        *task = NULL;
        return E_FAIL;
    }
    return IHostTaskManager_CreateTask(INNER(iface), stack, start, param, task);
}

static HRESULT STDMETHODCALLTYPE bad_Sleep(IHostTaskManager *iface, DWORD ms, DWORD option)
{
    HRESULT hr = IHostTaskManager_Sleep(INNER(iface), ms, option);

    return bad_impl(iface)->bad == BAD_SLEEP_TIMEOUT ? HOST_E_TIMEOUT : hr;
}

static HRESULT STDMETHODCALLTYPE bad_SwitchToTask(IHostTaskManager *iface, DWORD option)
{
    return IHostTaskManager_SwitchToTask(INNER(iface), option);
}

static HRESULT STDMETHODCALLTYPE bad_SetUILocale(IHostTaskManager *iface, LCID lcid)
{
    return IHostTaskManager_SetUILocale(INNER(iface), lcid);
}

static HRESULT STDMETHODCALLTYPE bad_SetLocale(IHostTaskManager *iface, LCID lcid)
{
    return IHostTaskManager_SetLocale(INNER(iface), lcid);
}

static HRESULT STDMETHODCALLTYPE bad_CallNeedsHostHook(IHostTaskManager *iface, SIZE_T target, BOOL *hook)
{
    return IHostTaskManager_CallNeedsHostHook(INNER(iface), target, hook);
}

static HRESULT STDMETHODCALLTYPE bad_LeaveRuntime(IHostTaskManager *iface, SIZE_T target)
{
    if (bad_impl(iface)->bad == BAD_LEAVE_OOM && target == (SIZE_T)GetProcAddress(GetModuleHandleW(L"kernel32.dll"),
            "GetTickCount"))
        return E_OUTOFMEMORY;
    return IHostTaskManager_LeaveRuntime(INNER(iface), target);
}

static HRESULT STDMETHODCALLTYPE bad_EnterRuntime(IHostTaskManager *iface)
{
    return IHostTaskManager_EnterRuntime(INNER(iface));
}

static HRESULT STDMETHODCALLTYPE bad_ReverseLeaveRuntime(IHostTaskManager *iface)
{
    return IHostTaskManager_ReverseLeaveRuntime(INNER(iface));
}

static HRESULT STDMETHODCALLTYPE bad_ReverseEnterRuntime(IHostTaskManager *iface)
{
    HRESULT hr = IHostTaskManager_ReverseEnterRuntime(INNER(iface));

    /* The host did count it; the CLR still throws on S_FALSE.  Close it
     * again so that the host's nesting stays balanced. */
    if (bad_impl(iface)->bad == BAD_REVERSE_ENTER_S_FALSE && hr == S_OK)
    {
        IHostTaskManager_ReverseLeaveRuntime(INNER(iface));
        return S_FALSE;
    }
    return hr;
}

static HRESULT STDMETHODCALLTYPE bad_BeginDelayAbort(IHostTaskManager *iface)
{
    return IHostTaskManager_BeginDelayAbort(INNER(iface));
}

static HRESULT STDMETHODCALLTYPE bad_EndDelayAbort(IHostTaskManager *iface)
{
    return IHostTaskManager_EndDelayAbort(INNER(iface));
}

static HRESULT STDMETHODCALLTYPE bad_BeginThreadAffinity(IHostTaskManager *iface)
{
    return IHostTaskManager_BeginThreadAffinity(INNER(iface));
}

static HRESULT STDMETHODCALLTYPE bad_EndThreadAffinity(IHostTaskManager *iface)
{
    return IHostTaskManager_EndThreadAffinity(INNER(iface));
}

static HRESULT STDMETHODCALLTYPE bad_SetStackGuarantee(IHostTaskManager *iface, ULONG guarantee)
{
    if (bad_impl(iface)->bad == BAD_STACK_GUARANTEE)
        return E_FAIL;
    return IHostTaskManager_SetStackGuarantee(INNER(iface), guarantee);
}

static HRESULT STDMETHODCALLTYPE bad_GetStackGuarantee(IHostTaskManager *iface, ULONG *guarantee)
{
    if (bad_impl(iface)->bad == BAD_STACK_GUARANTEE)
    {
        *guarantee = 0;
        return S_OK;
    }
    return IHostTaskManager_GetStackGuarantee(INNER(iface), guarantee);
}

static HRESULT STDMETHODCALLTYPE bad_SetCLRTaskManager(IHostTaskManager *iface, ICLRTaskManager *manager)
{
    return IHostTaskManager_SetCLRTaskManager(INNER(iface), manager);
}

static const IHostTaskManagerVtbl bad_vtbl =
{
    bad_QueryInterface, bad_AddRef, bad_Release, bad_GetCurrentTask, bad_CreateTask, bad_Sleep,
    bad_SwitchToTask, bad_SetUILocale, bad_SetLocale, bad_CallNeedsHostHook, bad_LeaveRuntime,
    bad_EnterRuntime, bad_ReverseLeaveRuntime, bad_ReverseEnterRuntime, bad_BeginDelayAbort,
    bad_EndDelayAbort, bad_BeginThreadAffinity, bad_EndThreadAffinity, bad_SetStackGuarantee,
    bad_GetStackGuarantee, bad_SetCLRTaskManager,
};



static inline struct spy_control *spy_impl(IHostControl *iface)
{
    return CONTAINING_RECORD(iface, struct spy_control, IHostControl_iface);
}

static HRESULT STDMETHODCALLTYPE spy_QueryInterface(IHostControl *iface, REFIID riid, void **out)
{
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown) && !IsEqualIID(riid, &IID_IHostControl))
        return E_NOINTERFACE;
    *out = iface;
    IHostControl_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE spy_AddRef(IHostControl *iface)
{
    return InterlockedIncrement(&spy_impl(iface)->refcount);
}

static ULONG STDMETHODCALLTYPE spy_Release(IHostControl *iface)
{
    return InterlockedDecrement(&spy_impl(iface)->refcount);
}

static HRESULT STDMETHODCALLTYPE spy_GetHostManager(IHostControl *iface, REFIID riid, void **out)
{
    struct spy_control *spy = spy_impl(iface);
    struct bad_manager *bad;
    HRESULT hr = IHostControl_GetHostManager(spy->inner, riid, out);
    LONG n = spy->asked_count;

    if (n < 32)
    {
        spy->asked[n] = *riid;
        spy->answers[n] = hr;
        spy->asked_count = n + 1;
    }
    if (hr == S_OK && spy->bad != BAD_NONE && IsEqualIID(riid, &IID_IHostTaskManager))
    {
        bad = HeapAlloc(GetProcessHeap(), 0, sizeof(*bad));
        bad->IHostTaskManager_iface.lpVtbl = &bad_vtbl;
        bad->refcount = 1;
        bad->inner = *out;
        bad->bad = spy->bad;
        bad->create_calls = 0;
        *out = &bad->IHostTaskManager_iface;
    }
    return hr;
}

static HRESULT STDMETHODCALLTYPE spy_SetAppDomainManager(IHostControl *iface, DWORD id, IUnknown *manager)
{
    return IHostControl_SetAppDomainManager(spy_impl(iface)->inner, id, manager);
}

static const IHostControlVtbl spy_vtbl =
{
    spy_QueryInterface, spy_AddRef, spy_Release, spy_GetHostManager, spy_SetAppDomainManager,
};

/* ---- Sessions ---- */

/* What a host program does, on its own main thread. */
static DWORD WINAPI session_thread(void *arg)
{
    struct session *s = arg;
    IHostControl *real = NULL, *control;
    double start;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(s->hr_create = ht_create_host_control_from(NULL, &real)))
        return 1;
    s->real = real;
    s->spy.IHostControl_iface.lpVtbl = &spy_vtbl;
    s->spy.refcount = 1;
    s->spy.inner = real;
    s->spy.bad = s->bad;
    control = &s->spy.IHostControl_iface;

    ht_set_profiling(real, s->profiling);
    /* Like every setting, before the runtime sees the host. */
    if (s->slots)
        s->hr_scheduler = ht_set_scheduler(real, s->slots, s->quantum_us);
    /* The host's target table outlives task managers: start from zero. */
    ht_reset_stats(real);
    if (s->exclude_target && !s->second_run)
        ht_set_hook_policy(real, TRUE, 1, &s->exclude_target);

    if (FAILED(s->hr_create = htd_runtime_create(&s->options, &s->runtime)))
        return 1;
    s->sim = htd_runtime_from(s->runtime);
    s->hr_null = ICLRRuntimeHost_SetHostControl(s->runtime, NULL);
    s->hr_set = ICLRRuntimeHost_SetHostControl(s->runtime, control);
    s->asked_after_first_set = s->spy.asked_count;
    s->manager_refs_after_set = htd_clr_manager()->refcount - 1;
    s->control_refs_after_set = s->spy.refcount;
    s->hr_set_again = ICLRRuntimeHost_SetHostControl(s->runtime, control);
    s->hr_start = ICLRRuntimeHost_Start(s->runtime);
    s->hr_set_after_start = ICLRRuntimeHost_SetHostControl(s->runtime, control);

    start = now_ms();
    s->hr_execute = ICLRRuntimeHost_ExecuteInDefaultAppDomain(s->runtime, L"hosttask-simulated",
            HTD_WORKLOAD_TYPE, s->method, s->argument, &s->ret);
    if (s->second_run)
    {
        memcpy(s->targets_after_first, s->sim->targets, sizeof(s->targets_after_first));
        s->target_count_after_first = s->sim->target_count;
        ht_set_hook_policy(real, TRUE, 1, &s->exclude_target);
        s->hr_execute2 = ICLRRuntimeHost_ExecuteInDefaultAppDomain(s->runtime, L"hosttask-simulated",
                HTD_WORKLOAD_TYPE, s->method, s->argument, &s->ret2);
    }
    s->wall_ms = now_ms() - start;

    s->report.profiling = s->profiling;
    report_note_driver(&s->report, s->sim);
    report_collect(&s->report, real);
    report_check(&s->report, s->sim);

    s->hr_stop = ICLRRuntimeHost_Stop(s->runtime);
    s->hr_stop_again = ICLRRuntimeHost_Stop(s->runtime);
    s->control_refs_after_stop = s->spy.refcount;
    ht_set_hook_policy(real, TRUE, 0, NULL);
    s->real = NULL;
    s->control_final = IHostControl_Release(real);
    CoUninitialize();
    return 0;
}

struct session *run_session(const WCHAR *method, const WCHAR *argument, enum htd_pinvoke_style style)
{
    struct session *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->options.style = style;
    s->method = method;
    s->argument = argument;
    s->profiling = TRUE;
    return s;
}

void finish_session(struct session *s, BOOL expect_clean)
{
    HANDLE thread = CreateThread(NULL, 0, session_thread, s, 0, NULL);
    const GUID *iid;
    char why[160];
    int i;

    assert_non_null(thread);
    /* Bounded: a deadlocked session fails here instead of hanging, and says
     * where every managed thread was. */
    if (WaitForSingleObject(thread, s->timeout_ms ? s->timeout_ms : 60000) != WAIT_OBJECT_0)
    {
        print_error("%ls did not end in %lu ms; GC pending %ld\n", s->method,
                s->timeout_ms ? s->timeout_ms : 60000, s->sim ? s->sim->gc_pending : 0);
        for (i = 0; s->sim && i < s->sim->thread_count; i++)
            print_error("  '%s' (%04lx): started %ld ended %ld in_runtime %d out %ld coop %ld os_wait %ld "
                    "interruptible %ld leave %lld enter %lld\n", s->sim->threads[i]->rec.role,
                    s->sim->threads[i]->rec.os_thread_id, s->sim->threads[i]->started, s->sim->threads[i]->ended,
                    s->sim->threads[i]->in_runtime, s->sim->threads[i]->out, s->sim->threads[i]->coop,
                    s->sim->threads[i]->os_wait, s->sim->threads[i]->interruptible,
                    s->sim->threads[i]->rec.leave, s->sim->threads[i]->rec.enter);
        if (s->real)
        {
            HT_SCHEDULER_STATS sched;
            HT_TASK_STATS tasks[HTD_MAX_THREADS];
            UINT count = 0, t;

            if (SUCCEEDED(ht_get_scheduler_stats(s->real, &sched)))
                print_error("  scheduler: %u slots, %u held, %u waiting, %llu forced yields, %llu preemptions\n",
                        sched.slots, sched.held, sched.waiting, (unsigned long long)sched.forcedYields,
                        (unsigned long long)sched.preemptions);
            if (SUCCEEDED(ht_get_task_stats(s->real, HTD_MAX_THREADS, tasks, &count)))
                for (t = 0; t < count && t < HTD_MAX_THREADS; t++)
                    print_error("  task on %04lx: flags 0x%lx, depth %llu, %llu acquisitions, %llu forced yields\n",
                            tasks[t].threadId, tasks[t].flags, (unsigned long long)tasks[t].depth,
                            (unsigned long long)tasks[t].slotAcquisitions,
                            (unsigned long long)tasks[t].forcedYields);
        }
        fail_msg("session hung");
    }
    CloseHandle(thread);
    assert_hr(s->hr_create, S_OK);
    assert_hr(s->hr_scheduler, S_OK);

    /* The handshake (docs/clr-host.md steps 1-2): NULL refused, all nine managers asked
     * in the CLR's order, only the task manager taken, the CLR's task
     * manager handed over before the third is asked, the control kept with
     * one reference; a second SetHostControl asks only the empty slots and
     * takes no second reference; after Start: E_ACCESSDENIED. */
    assert_hr(s->hr_null, E_INVALIDARG);
    assert_hr(s->hr_set, S_OK);
    assert_int_equal(s->asked_after_first_set, 9);
    assert_int_equal(s->sim->clr_manager_given_after, 2);
    assert_int_equal(s->manager_refs_after_set, 1);
    assert_int_equal(s->control_refs_after_set, 2);
    for (i = 0; i < 9; i++)
    {
        iid = ht_clr_manager_iids[i] ? ht_clr_manager_iids[i] : &IID_IHostTaskManager;
        assert_true(IsEqualIID(&s->spy.asked[i], iid));
        assert_hr(s->spy.answers[i], ht_clr_manager_iids[i] ? E_NOINTERFACE : S_OK);
    }
    assert_hr(s->hr_set_again, S_OK);
    assert_int_equal(s->spy.asked_count, 17);
    for (i = 9; i < 17; i++)
    {
        assert_false(IsEqualIID(&s->spy.asked[i], &IID_IHostTaskManager));
        assert_true(IsEqualIID(&s->spy.asked[i], ht_clr_manager_iids[i - 9 + (i > 9)]));
    }
    assert_hr(s->hr_start, s->expect_start);
    assert_hr(s->hr_set_after_start, E_ACCESSDENIED);

    /* Stop releases the one reference the runtime took (none more for the
     * second SetHostControl); a second Stop has nothing left to stop. */
    assert_hr(s->hr_stop, S_OK);
    assert_hr(s->hr_stop_again, E_UNEXPECTED);
    assert_int_equal(s->control_refs_after_stop, 1);
    assert_int_equal(s->control_final, 0);

    if (expect_clean)
    {
        assert_hr(s->hr_execute, S_OK);
        assert_int_equal(s->ret, 0);
        assert_int_equal(s->sim->fault_count, 0);
        /* Every count the host reports is what the driver did. */
        if (s->report.mismatch_count)
            fail_msg("report mismatch: %s", s->report.mismatches[0]);
    }

    /* Nothing keeps the DLL (the runtime's own threads end in Stop, and
     * their tasks go a moment later), and the fake CLR objects are back
     * where they started, none over-released. */
    assert_hr(dll_can_unload_soon(), S_OK);
    if (!htd_fakes_at_baseline(s->sim, why, sizeof(why)))
        fail_msg("%s", why);
}

void end_session(struct session *s)
{
    assert_int_equal(ICLRRuntimeHost_Release(s->runtime), 0);
    report_free(&s->report);
    free(s);
}

const struct htd_thread_record *find_role(struct session *s, const char *role)
{
    LONG i;

    for (i = 0; i < s->sim->thread_count; i++)
        if (!strcmp(s->sim->threads[i]->rec.role, role))
            return &s->sim->threads[i]->rec;
    fail_msg("no thread '%s'", role);
    return NULL;
}

const HT_TASK_STATS *task_of(struct session *s, const struct htd_thread_record *rec)
{
    UINT i;

    for (i = 0; i < s->report.task_count; i++)
        if (s->report.tasks[i].stats.threadId == rec->os_thread_id)
            return &s->report.tasks[i].stats;
    fail_msg("no task for '%s'", rec->role);
    return NULL;
}

const struct report_target *target_of(struct session *s, SIZE_T address)
{
    UINT i;

    for (i = 0; i < s->report.target_count; i++)
        if ((SIZE_T)s->report.targets[i].stats.target == address)
            return &s->report.targets[i];
    return NULL;
}

SIZE_T export_address(const WCHAR *dll, const char *name)
{
    return (SIZE_T)GetProcAddress(GetModuleHandleW(dll), name);
}


BOOL has_fault(struct session *s, enum htd_fault_kind kind, HRESULT hr, const char *what)
{
    LONG i;

    for (i = 0; i < s->sim->fault_count && i < HTD_MAX_FAULTS; i++)
        if (s->sim->faults[i].kind == kind && s->sim->faults[i].hr == hr && strstr(s->sim->faults[i].what, what))
            return TRUE;
    return FALSE;
}

struct session *run_cooperative(const WCHAR *method, const WCHAR *argument, enum htd_pinvoke_style style,
        UINT slots)
{
    struct session *s = run_session(method, argument, style);

    s->slots = slots;
    s->timeout_ms = 30000;
    return s;
}

/* The scheduler as the report saw it, with the session's main thread
 * (the host's, attached by Start) still in managed code. */
void check_cooperative(struct session *s, UINT slots)
{
    const HT_SCHEDULER_STATS *sched = &s->report.scheduler;
    const HT_TASK_STATS *host_main;
    UINT64 acquisitions = 0;
    LONG flags;
    UINT t;

    assert_int_equal(sched->slots, slots);
    assert_int_equal(sched->quantumUs, HT_SCHEDULER_DEFAULT_QUANTUM_US);
    /* The main thread holds one; the finalizer may hold another, in its
     * idle OS wait, until it is preempted; of the rest, only the runtime's
     * own two may be waiting (an idle wait ending just then). */
    assert_in_range(sched->held, 1, slots);
    assert_le(sched->waiting, 2);
    assert_le(sched->punishments, sched->forcedYields);
    /* Unless the watchdog preempted it as a runaway: it then runs on
     * without a slot until its next host call (docs/scheduler.md). */
    host_main = task_of(s, find_role(s, "main"));
    assert_true((host_main->flags & HT_TASK_HOLDS_SLOT) || (host_main->forcedYields && sched->preemptions));
    /* The AD-unload helper stays off the scheduler: no slot in managed
     * code (the one its thread started with may stay with it, left in
     * native code by its LeaveRuntime(0), until a waiter needs it). */
    flags = task_of(s, find_role(s, "AD-unload helper"))->flags;
    assert_false((flags & HT_TASK_HOLDS_SLOT) && !(flags & HT_TASK_SLOT_IN_NATIVE));
    /* The tasks' acquisitions add up (each task's against the driver's
     * entries into the runtime is report_check's, at the report's time:
     * the runtime's own threads go on after it).  The report reads the
     * scheduler's totals before and after the tasks; the finalizer may
     * take a slot in between, so the sum lies between the two. */
    for (t = 0; t < s->report.task_count; t++)
        acquisitions += s->report.tasks[t].stats.slotAcquisitions;
    assert_in_range(acquisitions, s->report.scheduler_before.acquisitions, sched->acquisitions);
}

LONG64 yield_task_calls(struct session *s)
{
    LONG64 calls = 0;
    UINT t;

    /* As report_check counted them, when the report was taken: the
     * runtime's own threads run on until Stop. */
    for (t = 0; t < s->report.task_count; t++)
        calls += s->report.tasks[t].yield_task_calls;
    return calls;
}

