/*
 * The server under the CLR the source shows (docs/clr-host.md): every
 * workload of the CLR-style driver, with the runtime's own threads (the
 * finalizer and the AppDomain-unload helper), in thread-per-task mode and
 * in cooperative mode with one and two slots; the contention workload's
 * Monitor, CLR-lock and GC paths; the calls out of managed code that are
 * not P/Invokes; and the fake CLR objects' answers.
 *
 * In cooperative mode the finalizer's idle wait is shortened to 5 ms, so
 * that in every run it reaches the OS wait it makes with no LeaveRuntime,
 * holding the slot its EnterRuntime got, as a real CLR's does after 2 s.
 * Nothing here asserts that no preemption happened: under a real CLR the
 * finalizer and a task blocked on a CLR lock keep their slots until
 * preempted.  Every session is bounded (30 s): a scheduler that cannot get
 * a slot back from such a task fails here instead of hanging, with every
 * thread's state printed.  The scheduler is process-wide, so a session that
 * hangs leaves its threads behind and the later ones fail too: read the
 * first failure.  Thread-per-task sessions run first.
 */
#include "driver_session.h"

#include <string.h>

struct workload_run
{
    const WCHAR *method, *argument;
};

static const struct workload_run workloads[] =
{
    { L"Default", NULL }, { L"PInvoke", L"2000" }, { L"Callbacks", L"6" }, { L"Threads", NULL },
    { L"Interrupt", NULL }, { L"Cpu", L"20" }, { L"Contention", NULL },
};

/* What every run shows of the runtime's own threads, at the report. */
static void check_runtime_threads(struct session *s)
{
    const struct htd_thread_record *finalizer = find_role(s, "finalizer");
    const struct htd_thread_record *helper = find_role(s, "AD-unload helper");
    const HT_TASK_STATS *task;

    assert_true(finalizer->created && finalizer->runtime_thread);
    assert_true(helper->created && helper->runtime_thread);
    /* Created through CreateTask, hosted, waited for through the host. */
    task = task_of(s, finalizer);
    assert_true(task->flags & HT_TASK_CREATED);
    assert_ge(task->transitions[HT_STAT_LEAVE], 1);
    /* The helper's LeaveRuntime(0) is never matched: at the report it has
     * it open, and one more for the wait it sits in. */
    task = task_of(s, helper);
    assert_true(task->flags & HT_TASK_CREATED);
    assert_int_equal(task->depth, 2);
    assert_int_equal(task->transitions[HT_STAT_LEAVE], 2);
    assert_int_equal(task->transitions[HT_STAT_ENTER], 0);
    /* No slot in managed code: it may still hold the slot its thread
     * started with, left "in native code" by its LeaveRuntime(0), until the
     * watchdog retakes it for a waiter (docs/scheduler.md); its nested
     * EnterRuntime calls take none. */
    assert_false((task->flags & HT_TASK_HOLDS_SLOT) && !(task->flags & HT_TASK_SLOT_IN_NATIVE));
}

/* One workload in one mode (slots 0: thread-per-task): it runs to the end,
 * no fault, check ok, the fakes at baseline, the DLL unloadable. */
static void run_mode(const struct workload_run *w, enum htd_pinvoke_style style, UINT slots)
{
    struct session *s = slots ? run_cooperative(w->method, w->argument, style, slots)
            : run_session(w->method, w->argument, style);

    s->timeout_ms = 30000;
    s->options.finalizer_wait_ms = 5;
    finish_session(s, TRUE);
    assert_int_equal(s->report.check_tasks, s->report.task_count);
    check_runtime_threads(s);
    if (slots)
    {
        check_cooperative(s, slots);
        print_message("%ls, %u slot(s): %llu acquisitions, %llu forced yields, %llu preemptions, "
                "finalizer %lld unannounced OS waits\n", w->method, slots,
                (unsigned long long)s->report.scheduler.acquisitions,
                (unsigned long long)s->report.scheduler.forcedYields,
                (unsigned long long)s->report.scheduler.preemptions, find_role(s, "finalizer")->os_blocks);
    }
    else
        assert_int_equal(s->report.scheduler.acquisitions, 0);
    end_session(s);
}

static void test_workloads_thread_per_task(void **state)
{
    unsigned int i;

    for (i = 0; i < ARRAYSIZE(workloads); i++)
        run_mode(&workloads[i], i % 2 ? HTD_PINVOKE_X86 : HTD_PINVOKE_X64, 0);
}

static void test_workloads_one_slot(void **state)
{
    unsigned int i;

    for (i = 0; i < ARRAYSIZE(workloads); i++)
        run_mode(&workloads[i], i % 2 ? HTD_PINVOKE_X64 : HTD_PINVOKE_X86, 1);
}

static void test_workloads_two_slots(void **state)
{
    unsigned int i;

    for (i = 0; i < ARRAYSIZE(workloads); i++)
        run_mode(&workloads[i], i % 2 ? HTD_PINVOKE_X86 : HTD_PINVOKE_X64, 2);
}

/* The contention workload's counts, the same in every mode. */
static void check_contention(struct session *s)
{
    const struct htd_thread_record *waiter;
    const struct htd_target_record *t;
    BOOL x86 = s->options.style == HTD_PINVOKE_X86;
    LONG i;

    finish_session(s, TRUE);
    /* Main, waiter, three contenders, the runtime's two. */
    assert_int_equal(s->report.task_count, 7);
    /* Ten rounds, a GC every other one on the collector. */
    assert_int_equal(s->sim->gcs, 5);
    /* Thread.Interrupt reached the WaitHandle wait as an APC, never as
     * IHostTask::Alert, and became the exception the workload caught. */
    waiter = find_role(s, "waiter");
    assert_int_equal(task_of(s, waiter)->alerts, 0);
    assert_int_equal(waiter->alerts, 0);
    assert_int_equal(waiter->expected_exceptions, 1);
    /* Main: three contenders and the waiter joined, two self-joins timed
     * out (one managed, one the CLR's own with WAIT_NOTINDEADLOCK). */
    assert_int_equal(task_of(s, find_role(s, "main"))->joins, 6);
    for (i = 0; i < s->sim->target_count; i++)
    {
        t = &s->sim->targets[i];
        switch (t->kind)
        {
        case HTD_CALL_COM:
        case HTD_CALL_CALLI:
            /* x64 asks each call, x86 wraps without asking. */
            assert_int_equal(t->hook_queries, x86 ? 0 : 1);
            assert_int_equal(t->wrapped_calls, 1);
            break;
        case HTD_CALL_QCALL:
            /* x64 never hooks it; x86 asks and never wraps. */
            assert_int_equal(t->hook_queries, x86 ? 1 : 0);
            assert_int_equal(t->direct_calls, 1);
            assert_int_equal(t->wrapped_calls, 0);
            break;
        case HTD_CALL_INTERNAL:
            assert_int_equal(t->hook_queries, 0);
            break;
        case HTD_CALL_PINVOKE:
            assert_int_equal(t->hook_queries, x86 ? 1 : t->wrapped_calls + t->direct_calls);
            break;
        }
    }
}

static void test_contention(void **state)
{
    struct session *s = run_session(L"Contention", NULL, HTD_PINVOKE_X64);

    check_contention(s);
    end_session(s);
}

static void test_contention_one_slot(void **state)
{
    struct session *s = run_cooperative(L"Contention", NULL, HTD_PINVOKE_X86, 1);

    s->options.finalizer_wait_ms = 5;
    check_contention(s);
    check_cooperative(s, 1);
    end_session(s);
}

/* ---- The fake CLR objects answer as the CLR's do ---- */

struct objects
{
    ICLRRuntimeHost *runtime;
    HRESULT hr_start, own_yield, yield, yield_again, create, stop;
    ICLRTask *created, *current;
    BOOL finalizer_priority, main_priority;
    LONG asserts;
};

static DWORD WINAPI objects_thread(void *arg)
{
    struct objects *o = arg;
    ICLRTaskManager *manager = &htd_clr_manager()->ICLRTaskManager_iface;
    struct htd_runtime *sim;
    ICLRTask2 *task;

    /* Un-hosted: the Threads exist, no host is involved. */
    htd_runtime_create(NULL, &o->runtime);
    sim = htd_runtime_from(o->runtime);
    o->hr_start = ICLRRuntimeHost_Start(o->runtime);
    ICLRTaskManager_GetCurrentTask(manager, &o->current);
    /* YieldTask on the caller's own Thread; on another's, twice. */
    o->own_yield = ICLRTask_YieldTask(o->current);
    task = &sim->finalizer->clr_task.ICLRTask2_iface;
    o->yield = ICLRTask2_YieldTask(task);
    o->yield_again = ICLRTask2_YieldTask(task);
    /* Priority scheduling: the finalizer always; the main thread, back in
     * the host's code after Start, not. */
    ICLRTask2_NeedsPriorityScheduling(task, &o->finalizer_priority);
    ICLRTask_NeedsPriorityScheduling(o->current, &o->main_priority);
    /* CreateTask on a thread that has a Thread: that Thread, S_OK, an assert. */
    o->create = ICLRTaskManager_CreateTask(manager, &o->created);
    o->asserts = sim->fault_count;
    o->stop = ICLRRuntimeHost_Stop(o->runtime);
    return 0;
}

static void test_clr_objects(void **state)
{
    struct objects o = { 0 };

    run_on_thread(objects_thread, &o);
    assert_hr(o.hr_start, S_OK);
    assert_non_null(o.current);
    assert_hr(o.own_yield, HOST_E_INVALIDOPERATION);
    assert_hr(o.yield, S_OK);
    assert_hr(o.yield_again, S_FALSE);
    assert_true(o.finalizer_priority);
    assert_false(o.main_priority);
    assert_hr(o.create, S_OK);
    assert_ptr_equal(o.created, o.current);
    assert_int_equal(o.asserts, 1);
    assert_int_equal(htd_runtime_from(o.runtime)->faults[0].kind, HTD_FAULT_ASSERT);
    assert_hr(o.stop, S_OK);
    assert_int_equal(ICLRRuntimeHost_Release(o.runtime), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_clr_objects),
        cmocka_unit_test(test_contention),
        cmocka_unit_test(test_workloads_thread_per_task),
        cmocka_unit_test(test_workloads_one_slot),
        cmocka_unit_test(test_workloads_two_slots),
        cmocka_unit_test(test_contention_one_slot),
    };
    int result;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    result = cmocka_run_group_tests(tests, NULL, NULL);
    CoUninitialize();
    return result;
}
