/*
 * hosttask driven by the CLR-style driver (driver/), end to end: the
 * simulated runtime's handshake, its workloads in both P/Invoke styles,
 * the host's statistics held against what the driver did, the CLR's
 * treatment of bad host results, and the AddRef/Release discipline on the
 * fake CLR objects.
 *
 * The same sessions run in cooperative mode too (`test_driver scheduler`):
 * the counts the driver can know stay exact, the scheduler's own are held
 * to their invariants, and a CPU-bound workload shows runaways forced to
 * yield through the fake ICLRTask::YieldTask.
 *
 * Every session runs on a fresh OS thread, as a host's main thread would:
 * the thread's adopted task (and the fake ICLRTask it holds) goes when the
 * thread ends, so refcounts can be checked at baseline afterwards.  Only
 * the test's main thread asserts: the session's thread records what it
 * saw, and the test checks it when that thread has ended.
 */
#include "driver_session.h"

/* ---- Tests ---- */

/* The default workload's counts, the same in every mode. */
static void check_default_counts(struct session *s)
{
    const struct htd_thread_record *rec;
    const struct htd_target_record *t;
    const struct report_target *target;
    const HT_TASK_STATS *task;
    char role[24];
    UINT64 native_total = 0;
    LONG i;
    int w;

    finish_session(s, TRUE);
    /* The workload's eight, and the runtime's own two. */
    assert_int_equal(s->report.task_count, 10);
    assert_int_equal(s->report.check_tasks, 10);
    assert_int_equal(s->report.check_targets, 11);

    /* The workload's shape, in numbers: worker w makes 1750w P/Invokes in
     * its loop, EnumSystemLocalesEx with 4w callbacks each making one
     * P/Invoke, one qsort, w blocking Sleep(2)s, two Thread.Sleep(1)s. */
    for (w = 1; w <= 3; w++)
    {
        snprintf(role, sizeof(role), "worker %d", w);
        rec = find_role(s, role);
        task = task_of(s, rec);
        assert_true(task->flags & HT_TASK_CREATED);
        assert_int_equal(task->transitions[HT_STAT_LEAVE], 1755 * w + 2);
        assert_int_equal(task->transitions[HT_STAT_ENTER], 1755 * w + 2);
        assert_ge(task->transitions[HT_STAT_REVERSE_ENTER], (UINT64)4 * w + 15);
        assert_int_equal(task->sleeps, 2);
        assert_int_equal(task->maxDepth, 3);
        /* Plausible times: w Sleep(2)s inside, and no more than it lived. */
        assert_ge(task->nativeTimeNs, (UINT64)w * 2 * 1000000 * 9 / 10);
        assert_le(task->nativeTimeNs, (rec->end_ms - rec->start_ms + 20) * 1000000);
    }
    rec = find_role(s, "sleeper");
    task = task_of(s, rec);
    assert_int_equal(task->sleeps, 1);
    assert_int_equal(task->alerts, 1);
    assert_int_equal(task->interruptedWaits, 1);
    assert_int_equal(rec->expected_exceptions, 1);
    /* Interrupted well before its 5 s. */
    assert_lt(rec->end_ms - rec->start_ms, 2000);
    rec = find_role(s, "joiner");
    task = task_of(s, rec);
    assert_int_equal(task->joins, 1);
    assert_int_equal(task->alerts, 1);
    assert_int_equal(task->interruptedWaits, 1);
    rec = find_role(s, "main");
    task = task_of(s, rec);
    assert_true(task->flags & HT_TASK_ADOPTED);
    assert_int_equal(task->joins, 7);
    rec = find_role(s, "native-born");
    task = task_of(s, rec);
    assert_true(task->flags & HT_TASK_ADOPTED);
    assert_true(task->flags & HT_TASK_ENDED);
    assert_int_equal(task->transitions[HT_STAT_REVERSE_ENTER], 3);
    assert_int_equal(task->transitions[HT_STAT_LEAVE], 3);

    /* Targets: module!export, calls exact, times plausible. */
    target = target_of(s, export_address(L"kernel32.dll", "Sleep"));
    assert_non_null(target);
    assert_int_equal(target->stats.calls, 6);
    assert_ge(target->stats.nativeTimeNs, 6 * 2 * 1000000 * 9 / 10);
    assert_true(strstr(target->symbol, "!") != NULL);
    target = target_of(s, export_address(L"msvcrt.dll", "qsort"));
    assert_non_null(target);
    assert_string_equal(target->symbol, "msvcrt.dll!qsort");
    assert_int_equal(target->stats.calls, 3);
    for (i = 0; i < (LONG)s->report.target_count; i++)
        native_total += s->report.targets[i].stats.nativeTimeNs;
    /* Eight threads at most, each no longer than the run. */
    assert_le(native_total, (UINT64)((s->wall_ms + 50) * 1e6 * 8));

    /* The hook protocol per style: x64 asks before every call, x86 once per
     * target; the CLR's own waits are never asked about. */
    for (i = 0; i < s->sim->target_count; i++)
    {
        t = &s->sim->targets[i];
        if (t->internal)
            assert_int_equal(t->hook_queries, 0);
        else if (s->options.style == HTD_PINVOKE_X86)
            assert_int_equal(t->hook_queries, 1);
        else
            assert_int_equal(t->hook_queries, t->wrapped_calls + t->direct_calls);
        assert_int_equal(t->direct_calls, 0);
    }
}

static void check_default(struct session *s)
{
    check_default_counts(s);
    end_session(s);
}

static void test_default_x64(void **state)
{
    check_default(run_session(L"Default", NULL, HTD_PINVOKE_X64));
}

static void test_default_x86(void **state)
{
    check_default(run_session(L"Default", NULL, HTD_PINVOKE_X86));
}

/* The CLR's real ICLRTaskManager: static, AddRef/Release return 1.  The
 * host must still balance its own references. */
static void test_static_manager(void **state)
{
    struct session *s = run_session(L"Callbacks", L"5", HTD_PINVOKE_X64);

    s->options.static_manager = TRUE;
    finish_session(s, TRUE);
    assert_int_equal(htd_clr_manager()->refcount, 1);
    assert_int_equal(find_role(s, "native-born")->reverse_enter, 5);
    end_session(s);
}

/* A target the host says needs no hook: x64 asks every time and follows a
 * policy change at once; x86 asked once, at bind, and keeps the answer. */
static void check_policy(enum htd_pinvoke_style style)
{
    struct session *s = run_session(L"PInvoke", L"1000", style);
    SIZE_T tick = export_address(L"kernel32.dll", "GetTickCount");
    const struct htd_target_record *first, *second;

    s->exclude_target = tick;
    s->second_run = TRUE;
    finish_session(s, TRUE);
    assert_hr(s->hr_execute2, S_OK);
    for (first = s->targets_after_first; first->target != tick; first++)
        assert_lt(first - s->targets_after_first, s->target_count_after_first);
    second = htd_find_target(s->sim, tick);
    assert_int_equal(first->target, tick);
    assert_int_equal(first->wrapped_calls, 1000);
    if (style == HTD_PINVOKE_X64)
    {
        assert_int_equal(second->hook_queries, 2000);
        assert_int_equal(second->wrapped_calls, 1000);
        assert_int_equal(second->direct_calls, 1000);
        assert_int_equal(find_role(s, "main")->leave, 1000 + MAIN_RUNTIME_WAITS);
    }
    else
    {
        assert_int_equal(second->hook_queries, 1);
        assert_int_equal(second->wrapped_calls, 2000);
        assert_int_equal(second->direct_calls, 0);
        assert_int_equal(find_role(s, "main")->leave, 2000 + MAIN_RUNTIME_WAITS);
    }
    assert_int_equal(target_of(s, tick)->stats.calls, second->wrapped_calls);
    end_session(s);
}

static void test_policy_x64(void **state)
{
    check_policy(HTD_PINVOKE_X64);
}

static void test_policy_x86(void **state)
{
    check_policy(HTD_PINVOKE_X86);
}

/* What the CLR does with answers a correct host never gives. */
static void test_bad_reverse_enter(void **state)
{
    struct session *s = run_session(L"Callbacks", L"4", HTD_PINVOKE_X64);

    s->bad = BAD_REVERSE_ENTER_S_FALSE;
    finish_session(s, FALSE);
    /* S_FALSE is not S_OK: an exception, the delegate never runs, and it
     * leaves the method. */
    assert_true(has_fault(s, HTD_FAULT_THROW, S_FALSE, "ReverseEnterRuntime"));
    assert_hr(s->hr_execute, COR_E_EXECUTIONENGINE);
    assert_true(has_fault(s, HTD_FAULT_UNHANDLED, COR_E_EXECUTIONENGINE, "Callbacks"));
    assert_int_equal(find_role(s, "main")->reverse_enter, 0);
    end_session(s);
}

static void test_bad_sleep(void **state)
{
    struct session *s = run_session(L"Threads", NULL, HTD_PINVOKE_X64);
    LONG i, asserts = 0;

    s->bad = BAD_SLEEP_TIMEOUT;
    finish_session(s, FALSE);
    /* EESleepEx asserts on anything but S_OK/HOST_E_INTERRUPTED and goes
     * on: two Thread.Sleep per worker, three workers. */
    for (i = 0; i < s->sim->fault_count; i++)
        if (s->sim->faults[i].kind == HTD_FAULT_ASSERT && s->sim->faults[i].hr == HOST_E_TIMEOUT)
            asserts++;
    assert_int_equal(asserts, 6);
    assert_hr(s->hr_execute, S_OK);
    assert_int_equal(s->ret, 6);
    end_session(s);
}

static void test_bad_create_task(void **state)
{
    struct session *s = run_session(L"Threads", NULL, HTD_PINVOKE_X64);

    s->bad = BAD_CREATE_TASK_FAIL;
    finish_session(s, FALSE);
    /* Only exactly S_OK creates a thread: Thread.Start throws OutOfMemory. */
    assert_true(has_fault(s, HTD_FAULT_THROW, E_FAIL, "CreateTask"));
    assert_hr(s->hr_execute, E_OUTOFMEMORY);
    end_session(s);
}

/* A Start that fails: the CLR only asserts and then spins forever waiting
 * for the thread; the driver records both and unwinds. */
static void test_bad_start(void **state)
{
    struct session *s = run_session(L"Threads", NULL, HTD_PINVOKE_X64);

    s->bad = BAD_START_FAIL;
    finish_session(s, FALSE);
    assert_true(has_fault(s, HTD_FAULT_ASSERT, HOST_E_INVALIDOPERATION, "IHostTask::Start"));
    assert_true(has_fault(s, HTD_FAULT_HANG, HOST_E_INVALIDOPERATION, "would spin forever"));
    assert_false(has_fault(s, HTD_FAULT_THROW, HOST_E_INVALIDOPERATION, "Start"));
    assert_hr(s->hr_execute, COR_E_THREADSTART);
    end_session(s);
}

/* A stack guarantee the host cannot set: at startup the CLR's
 * IfFailThrow fails Start, before any thread is set up. */
static void test_bad_stack_guarantee(void **state)
{
    struct session *s = run_session(L"PInvoke", L"10", HTD_PINVOKE_X64);

    s->bad = BAD_STACK_GUARANTEE;
    s->expect_start = E_FAIL;
    finish_session(s, FALSE);
    assert_true(has_fault(s, HTD_FAULT_THROW, E_FAIL, "SetStackGuarantee"));
    /* Nor can a thread be set up afterwards: the guarantee comes before
     * SetCLRTask, and its failure is OutOfMemory (Thread::InitThread). */
    assert_hr(s->hr_execute, E_OUTOFMEMORY);
    assert_ge(s->sim->thread_count, 1);
    assert_false(s->sim->threads[0]->rec.hosted);
    assert_int_equal(s->sim->threads[0]->clr_task.refcount, 1);
    end_session(s);
}

static void test_bad_leave(void **state)
{
    struct session *s = run_session(L"PInvoke", L"10", HTD_PINVOKE_X64);
    const struct htd_target_record *t;

    s->bad = BAD_LEAVE_OOM;
    finish_session(s, FALSE);
    /* A failed LeaveRuntime is an exception and the target is not called. */
    assert_true(has_fault(s, HTD_FAULT_THROW, E_OUTOFMEMORY, "LeaveRuntime(GetTickCount)"));
    assert_hr(s->hr_execute, E_OUTOFMEMORY);
    t = htd_find_target(s->sim, export_address(L"kernel32.dll", "GetTickCount"));
    assert_non_null(t);
    assert_int_equal(t->wrapped_calls, 0);
    /* The main thread's only LeaveRuntimes: its waits at Start and Stop. */
    assert_int_equal(find_role(s, "main")->leave, MAIN_RUNTIME_WAITS);
    end_session(s);
}

/* The rest of ICLRRuntimeHost, answered as CorHost2 answers. */
static void test_runtime_methods(void **state)
{
    ICLRRuntimeHost *runtime;
    ICLRControl *clr_control;
    void *manager = NULL;
    DWORD value = 0, id = 0;

    assert_hr(htd_runtime_create(NULL, &runtime), S_OK);
    assert_hr(ICLRRuntimeHost_Stop(runtime), E_UNEXPECTED);
    assert_hr(ICLRRuntimeHost_ExecuteInDefaultAppDomain(runtime, L"a", HTD_WORKLOAD_TYPE, L"Default", NULL, &value),
            HOST_E_CLRNOTAVAILABLE);
    assert_hr(ICLRRuntimeHost_GetCurrentAppDomainId(runtime, &id), HOST_E_CLRNOTAVAILABLE);
    assert_hr(ICLRRuntimeHost_GetCLRControl(runtime, &clr_control), S_OK);
    assert_hr(ICLRControl_GetCLRManager(clr_control, &IID_ICLRTaskManager, &manager), S_OK);
    assert_ptr_equal(manager, &htd_clr_manager()->ICLRTaskManager_iface);
    assert_hr(ICLRControl_GetCLRManager(clr_control, &IID_IUnknown, &manager), E_NOINTERFACE);
    assert_hr(ICLRControl_GetCLRManager(clr_control, &IID_ICLRTaskManager, NULL), E_INVALIDARG);
    ICLRControl_Release(clr_control);
    expect_ref(runtime, 1);
    assert_int_equal(ICLRRuntimeHost_Release(runtime), 0);
}

static DWORD WINAPI started_runtime_thread(void *arg)
{
    struct session *s = arg;
    ICLRControl *clr_control;
    void *manager;
    DWORD value, id = 0;

    /* No host control at all: the runtime runs un-hosted. */
    htd_runtime_create(NULL, &s->runtime);
    s->hr_start = ICLRRuntimeHost_Start(s->runtime);
    s->hr_null = ICLRRuntimeHost_ExecuteInDefaultAppDomain(s->runtime, L"a", L"No.Such.Type", L"Default", NULL, &value);
    s->hr_set = ICLRRuntimeHost_ExecuteInDefaultAppDomain(s->runtime, L"a", HTD_WORKLOAD_TYPE, L"NoSuchMethod", NULL,
            &value);
    s->hr_set_again = ICLRRuntimeHost_ExecuteInDefaultAppDomain(s->runtime, L"a", NULL, L"Default", NULL, &value);
    s->hr_execute = ICLRRuntimeHost_ExecuteInDefaultAppDomain(s->runtime, L"a", HTD_WORKLOAD_TYPE, L"PInvoke", L"5",
            &s->ret);
    s->hr_execute2 = ICLRRuntimeHost_GetCurrentAppDomainId(s->runtime, &id);
    s->ret2 = id;
    ICLRRuntimeHost_GetCLRControl(s->runtime, &clr_control);
    s->hr_set_after_start = ICLRControl_GetCLRManager(clr_control, &IID_ICLRTaskManager, &manager);
    ICLRControl_Release(clr_control);
    s->hr_stop = ICLRRuntimeHost_Stop(s->runtime);
    return 0;
}

static void test_runtime_started(void **state)
{
    struct session s = { 0 };

    run_on_thread(started_runtime_thread, &s);
    assert_hr(s.hr_start, S_OK);
    assert_hr(s.hr_null, COR_E_TYPELOAD);
    assert_hr(s.hr_set, COR_E_MISSINGMETHOD);
    assert_hr(s.hr_set_again, E_POINTER);
    assert_hr(s.hr_execute, S_OK);
    assert_int_equal(s.ret, 0);
    assert_hr(s.hr_execute2, S_OK);
    assert_int_equal(s.ret2, 1);
    assert_hr(s.hr_set_after_start, HOST_E_INVALIDOPERATION);
    assert_hr(s.hr_stop, S_OK);
    /* Un-hosted: every P/Invoke was a direct call. */
    assert_int_equal(htd_find_target(htd_runtime_from(s.runtime),
            export_address(L"kernel32.dll", "GetTickCount"))->direct_calls, 5);
    assert_int_equal(ICLRRuntimeHost_Release(s.runtime), 0);
}

/* P/Invoke targets resolve through the export directory. */
static void test_symbols(void **state)
{
    char symbol[160];

    report_resolve_symbol(export_address(L"msvcrt.dll", "qsort"), symbol, sizeof(symbol));
    assert_string_equal(symbol, "msvcrt.dll!qsort");
    report_resolve_symbol(export_address(L"kernel32.dll", "SetEvent") , symbol, sizeof(symbol));
    assert_true(strstr(symbol, "!SetEvent") != NULL);
    report_resolve_symbol((SIZE_T)test_symbols, symbol, sizeof(symbol));
    assert_true(strstr(symbol, "test_driver.exe+0x") == symbol);
    report_resolve_symbol(0, symbol, sizeof(symbol));
    assert_string_equal(symbol, "(other targets)");
}

/* ---- Cooperative mode (the scheduler) ---- */

/* The default workload under 1 and 2 slots, in both P/Invoke styles: every
 * count exactly as in thread-per-task mode, no fault, the fakes back at
 * baseline, the DLL unloadable (check_default_counts, finish_session). */
static void check_default_cooperative(enum htd_pinvoke_style style, UINT slots)
{
    struct session *s = run_cooperative(L"Default", NULL, style, slots);

    check_default_counts(s);
    check_cooperative(s, slots);
    end_session(s);
}

static void test_sched_default_x64_1(void **state)
{
    check_default_cooperative(HTD_PINVOKE_X64, 1);
}

static void test_sched_default_x86_1(void **state)
{
    check_default_cooperative(HTD_PINVOKE_X86, 1);
}

static void test_sched_default_x64_2(void **state)
{
    check_default_cooperative(HTD_PINVOKE_X64, 2);
}

static void test_sched_default_x86_2(void **state)
{
    check_default_cooperative(HTD_PINVOKE_X86, 2);
}

/* The CPU-bound workload's counts the driver knows exactly. */
static void check_cpu_counts(struct session *s)
{
    const struct htd_thread_record *rec;
    const HT_TASK_STATS *task;
    char role[24];
    int i;

    finish_session(s, TRUE);
    /* The workload's seven, and the runtime's own two. */
    assert_int_equal(s->report.task_count, 9);
    for (i = 1; i <= 3; i++)
    {
        snprintf(role, sizeof(role), "cruncher %d", i);
        task = task_of(s, find_role(s, role));
        assert_int_equal(task->transitions[HT_STAT_LEAVE], 0);
        assert_int_equal(task->transitions[HT_STAT_ENTER], 0);
    }
    for (i = 1; i <= 2; i++)
    {
        snprintf(role, sizeof(role), "native caller %d", i);
        rec = find_role(s, role);
        task = task_of(s, rec);
        assert_int_equal(task->transitions[HT_STAT_LEAVE], 10);
        assert_int_equal(task->transitions[HT_STAT_ENTER], 10);
        /* Ten Sleep(2)s: at least 18 ms in native code. */
        assert_ge(task->nativeTimeNs, 18 * 1000000ull);
    }
    assert_int_equal(task_of(s, find_role(s, "main"))->joins, 6);
}

/* One slot, three threads computing with no P/Invoke: each is caught past
 * the quantum while others wait, asked to yield through the CLR's
 * ICLRTask::YieldTask, yields at its next safe point and is requeued. */
static void test_sched_cpu_1(void **state)
{
    struct session *s = run_cooperative(L"Cpu", L"40", HTD_PINVOKE_X64, 1);
    const HT_SCHEDULER_STATS *sched = &s->report.scheduler;
    LONG64 safe_point_yields = 0, crunchers_forced = 0;
    char role[24];
    LONG i;

    check_cpu_counts(s);
    check_cooperative(s, 1);
    assert_gt(sched->forcedYields, 0);
    assert_gt(sched->punishments, 0);
    assert_gt(yield_task_calls(s), 0);
    assert_le(yield_task_calls(s), (LONG64)sched->forcedYields);
    for (i = 0; i < (LONG)s->report.task_count; i++)
        safe_point_yields += s->report.tasks[i].safe_point_yields;
    assert_gt(safe_point_yields, 0);
    assert_le(safe_point_yields, yield_task_calls(s));
    for (i = 1; i <= 3; i++)
    {
        snprintf(role, sizeof(role), "cruncher %ld", i);
        crunchers_forced += task_of(s, find_role(s, role))->forcedYields;
    }
    assert_gt(crunchers_forced, 0);
    /* One slot: every other task waited for it at some point. */
    assert_gt(sched->waits, 0);
    assert_gt(sched->maxWaitNs, 0);
    assert_le(report_wait_quantile_ns(sched, 0.99), sched->maxWaitNs);
    assert_ge(report_wait_quantile_ns(sched, 0.99), report_wait_quantile_ns(sched, 0.5));
    end_session(s);
}

/* Two slots, x86 stubs: the same exact counts and invariants. */
static void test_sched_cpu_x86_2(void **state)
{
    struct session *s = run_cooperative(L"Cpu", L"20", HTD_PINVOKE_X86, 2);

    check_cpu_counts(s);
    check_cooperative(s, 2);
    assert_le(yield_task_calls(s), (LONG64)s->report.scheduler.forcedYields);
    end_session(s);
}

/* The same workload in thread-per-task mode: nobody is asked to yield,
 * and no task has a slot count. */
static void test_sched_cpu_thread_per_task(void **state)
{
    struct session *s = run_session(L"Cpu", L"20", HTD_PINVOKE_X64);
    UINT t;

    check_cpu_counts(s);
    assert_int_equal(s->report.scheduler.slots, 0);
    assert_int_equal(s->report.scheduler.acquisitions, 0);
    assert_int_equal(yield_task_calls(s), 0);
    for (t = 0; t < s->report.task_count; t++)
    {
        assert_int_equal(s->report.tasks[t].stats.slotAcquisitions, 0);
        assert_int_equal(s->report.tasks[t].stats.forcedYields, 0);
        assert_false(s->report.tasks[t].stats.flags & HT_TASK_HOLDS_SLOT);
    }
    end_session(s);
}

/* Callbacks from native code (locales, qsort, a native-born thread) and
 * the interrupt scenario under one slot: every count exact. */
static void test_sched_callbacks_interrupt_1(void **state)
{
    struct session *s = run_cooperative(L"Callbacks", L"6", HTD_PINVOKE_X64, 1);

    finish_session(s, TRUE);
    check_cooperative(s, 1);
    assert_int_equal(find_role(s, "native-born")->reverse_enter, 6);
    end_session(s);
    s = run_cooperative(L"Interrupt", NULL, HTD_PINVOKE_X86, 1);
    finish_session(s, TRUE);
    check_cooperative(s, 1);
    assert_int_equal(task_of(s, find_role(s, "sleeper"))->interruptedWaits, 1);
    assert_int_equal(task_of(s, find_role(s, "joiner"))->interruptedWaits, 1);
    end_session(s);
}

/* ---- A host thread back in native code with the slot it got at attach ----
 *
 * The CLR sets up (SetCLRTask) the host's own thread that calls Start or
 * ExecuteInDefaultAppDomain, and the server gives it a slot then; but when
 * that call returns to the host, nothing tells the server the thread is
 * back in native code (no LeaveRuntime, no ReverseLeaveRuntime), and it
 * never reaches a safe point, so YieldTask cannot make it yield.  With one
 * slot, a host that starts the runtime on one thread and runs managed code
 * on another, waiting for it natively, would wait until the first thread
 * ended.  The server preempts a holder that keeps its slot a quantum after
 * being asked to yield, so the second thread runs while the first waits.
 * Bounded: the first thread waits 3 s at most, then ends. */
struct host_threads
{
    ICLRRuntimeHost *runtime;
    IHostControl *control;
    HANDLE second;
    HRESULT hr_start, hr_execute;
    DWORD ret, waited;
};

static DWORD WINAPI second_host_thread(void *arg)
{
    struct host_threads *h = arg;

    h->hr_execute = ICLRRuntimeHost_ExecuteInDefaultAppDomain(h->runtime, L"hosttask-simulated", HTD_WORKLOAD_TYPE,
            L"PInvoke", L"10", &h->ret);
    return 0;
}

static DWORD WINAPI first_host_thread(void *arg)
{
    struct host_threads *h = arg;

    ICLRRuntimeHost_SetHostControl(h->runtime, h->control);
    /* Start sets this thread up: it gets a task, a CLR task and a slot. */
    if (FAILED(h->hr_start = ICLRRuntimeHost_Start(h->runtime)))
        return 1;
    /* Back in the host's native code: run a method on another thread and
     * wait for it, as a host with a worker thread does. */
    h->second = CreateThread(NULL, 0, second_host_thread, h, 0, NULL);
    h->waited = WaitForSingleObject(h->second, 3000);
    return 0;
}

static void test_sched_host_thread_gives_slot_back(void **state)
{
    struct host_threads h = { 0 };
    char why[160];

    assert_hr(ht_create_host_control_from(NULL, &h.control), S_OK);
    assert_hr(ht_set_scheduler(h.control, 1, 0), S_OK);
    assert_hr(htd_runtime_create(NULL, &h.runtime), S_OK);
    run_on_thread(first_host_thread, &h);
    /* The first thread has ended, so its slot is back: the second finishes. */
    assert_int_equal(WaitForSingleObject(h.second, 10000), WAIT_OBJECT_0);
    CloseHandle(h.second);
    assert_hr(h.hr_start, S_OK);
    assert_hr(h.hr_execute, S_OK);
    assert_int_equal(h.ret, 0);
    assert_hr(ICLRRuntimeHost_Stop(h.runtime), S_OK);
    assert_int_equal(IHostControl_Release(h.control), 0);
    /* The runtime's own threads end in Stop and their tasks go a moment
     * later (a CLR task freed in its thread's detach is released at the
     * next call outside the loader lock, com/task.c: task_destroy), so the
     * fakes are held to their baseline once the DLL could unload, as
     * wine-tests/driver_session.c does. */
    assert_hr(dll_can_unload_soon(), S_OK);
    if (!htd_fakes_at_baseline(htd_runtime_from(h.runtime), why, sizeof(why)))
        fail_msg("%s", why);
    assert_int_equal(ICLRRuntimeHost_Release(h.runtime), 0);
    assert_hr(dll_can_unload_soon(), S_OK);
    /* The second thread ran while the first waited in native code. */
    assert_int_equal(h.waited, WAIT_OBJECT_0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest scheduler_tests[] =
    {
        cmocka_unit_test(test_sched_default_x64_1),
        cmocka_unit_test(test_sched_default_x86_1),
        cmocka_unit_test(test_sched_default_x64_2),
        cmocka_unit_test(test_sched_default_x86_2),
        cmocka_unit_test(test_sched_cpu_1),
        cmocka_unit_test(test_sched_cpu_x86_2),
        cmocka_unit_test(test_sched_cpu_thread_per_task),
        cmocka_unit_test(test_sched_callbacks_interrupt_1),
        cmocka_unit_test(test_sched_host_thread_gives_slot_back),
    };
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_runtime_methods),
        cmocka_unit_test(test_runtime_started),
        cmocka_unit_test(test_symbols),
        cmocka_unit_test(test_default_x64),
        cmocka_unit_test(test_default_x86),
        cmocka_unit_test(test_static_manager),
        cmocka_unit_test(test_policy_x64),
        cmocka_unit_test(test_policy_x86),
        cmocka_unit_test(test_bad_reverse_enter),
        cmocka_unit_test(test_bad_sleep),
        cmocka_unit_test(test_bad_create_task),
        cmocka_unit_test(test_bad_start),
        cmocka_unit_test(test_bad_stack_guarantee),
        cmocka_unit_test(test_bad_leave),
    };
    int result;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (argc > 1 && !strcmp(argv[1], "scheduler"))
        result = cmocka_run_group_tests_name("scheduler", scheduler_tests, NULL, NULL);
    else
        result = cmocka_run_group_tests(tests, NULL, NULL);
    CoUninitialize();
    return result;
}
