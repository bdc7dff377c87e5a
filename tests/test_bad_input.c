/*
 * Bad input to every method of the class factory, IHostControl,
 * IHostTaskManager, IHostTask, IHostTaskConfig and IHostTaskStatistics:
 * NULL, unbalanced, out-of-range and wrong-thread arguments.  Each call
 * must give the HRESULT of the tables of docs/contract.md §3 (or, where
 * they are silent, hosttask's documented choice), set its
 * out-parameters to NULL or 0 on failure (they are seeded with sentinel
 * bytes), change no reference count and leak nothing (expect_ref,
 * DllCanUnloadNow, IHostTaskStatistics::GetObjectCounts).
 *
 * Two codes are hosttask's choice where docs/contract.md names others: a
 * second IHostTask::Start fails with HOST_E_INVALIDOPERATION (without side
 * effects; the CLR starts a task once, docs/contract.md §3.3), and
 * SetLocale/SetUILocale refuse an unknown LCID with E_INVALIDARG (the CLR
 * treats any result but S_OK as "not applied").  test_tasks.c and
 * test_task_manager.c pin both.
 * test_task_manager.c pin both.  The table is here; the other bad calls are
 * in tests/bad_input_calls.c.
 */
#include "bad_input.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- The objects under test ---- */

struct objects objects;
static ULONG setup_live, setup_bound;   /* with both tasks alive and referenced */

static void object_counts(ULONG *live, ULONG *bound)
{
    *live = *bound = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetObjectCounts(objects.statistics, live, bound), S_OK);
}

/* Created tasks' threads end a moment after their last reference goes. */
static void expect_object_counts_soon(ULONG live, ULONG bound)
{
    ULONG l, b;
    int i;

    for (i = 0; i < 500; i++)
    {
        object_counts(&l, &b);
        if (l == live && b == bound)
            break;
        Sleep(10);
    }
    assert_int_equal(l, live);
    assert_int_equal(b, bound);
}

static DWORD WINAPI never_run(void *arg)
{
    fail_msg("a task that was never started ran");
    return 0;
}

int objects_setup(void **state)
{
    assert_hr(dll_get_class_object(&CLSID_HostTaskControl, &IID_IClassFactory, (void **)&objects.factory), S_OK);
    assert_hr(IClassFactory_CreateInstance(objects.factory, NULL, &IID_IHostControl, (void **)&objects.control),
            S_OK);
    assert_hr(IHostControl_GetHostManager(objects.control, &IID_IHostTaskManager, (void **)&objects.manager), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(objects.manager, &IID_IHostTaskConfig, (void **)&objects.config), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(objects.manager, &IID_IHostTaskStatistics,
            (void **)&objects.statistics), S_OK);
    assert_hr(IHostTaskManager_GetCurrentTask(objects.manager, &objects.current), S_OK);
    assert_hr(IHostTaskManager_CreateTask(objects.manager, 0, never_run, NULL, &objects.created), S_OK);
    object_counts(&setup_live, &setup_bound);
    *state = &objects;
    return 0;
}

/* Every reference is back where setup left it, then everything goes. */
int objects_teardown(void **state)
{
    assert_no_worker_failures();
    expect_ref(objects.control, 1);
    expect_ref(objects.manager, 4);   /* control, manager, config, statistics */
    expect_ref(objects.current, 1);
    expect_ref(objects.created, 1);
    assert_int_equal(IHostTask_Release(objects.created), 0);
    assert_int_equal(IHostTask_Release(objects.current), 0);
    /* The created task goes with its thread; the test thread stays bound
     * to its own task, which has no COM reference left. */
    expect_object_counts_soon(setup_live - 1, setup_bound + 1);
    assert_int_equal(IHostTaskStatistics_Release(objects.statistics), 3);
    assert_int_equal(IHostTaskConfig_Release(objects.config), 2);
    assert_int_equal(IHostTaskManager_Release(objects.manager), 1);
    assert_int_equal(IHostControl_Release(objects.control), 0);
    IClassFactory_Release(objects.factory);
    assert_hr(dll_can_unload_soon(), S_OK);
    return 0;
}

/* ---- The table ---- */

/* What a row's out-parameter must hold afterwards. */
enum out_check
{
    OUT_NONE,      /* the row passes no out-parameter */
    OUT_ZERO,      /* failure: NULL or 0 */
    OUT_WRITTEN    /* success: written, whatever the value */
};

struct bad_call
{
    const char *name;
    HRESULT (*call)(struct objects *o, void *out);
    HRESULT expected;
    enum out_check check;
    size_t out_size;    /* bytes of *out the method may write */
};

static const GUID iid_unknown_to_all = {0x0badf00d, 0x1234, 0x5678, {0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78}};
static const CLSID clsid_unknown = {0x0badf00d, 0x4321, 0x8765, {0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78}};

#define ROW(name, expected, check, type) \
    { #name, call_##name, (expected), (check), sizeof(type) }

/* The class factory and the module. */
static HRESULT call_factory_qi_null_out(struct objects *o, void *out)
{ return IClassFactory_QueryInterface(o->factory, &IID_IClassFactory, NULL); }
static HRESULT call_factory_qi_null_iid(struct objects *o, void *out)
{ return IClassFactory_QueryInterface(o->factory, NULL, out); }
static HRESULT call_factory_qi_unknown_iid(struct objects *o, void *out)
{ return IClassFactory_QueryInterface(o->factory, &iid_unknown_to_all, out); }
static HRESULT call_factory_qi_host_control(struct objects *o, void *out)
{ return IClassFactory_QueryInterface(o->factory, &IID_IHostControl, out); }
static HRESULT call_factory_create_null_out(struct objects *o, void *out)
{ return IClassFactory_CreateInstance(o->factory, NULL, &IID_IHostControl, NULL); }
static HRESULT call_factory_create_null_iid(struct objects *o, void *out)
{ return IClassFactory_CreateInstance(o->factory, NULL, NULL, out); }
static HRESULT call_factory_create_outer(struct objects *o, void *out)
{ return IClassFactory_CreateInstance(o->factory, (IUnknown *)o->control, &IID_IUnknown, out); }
static HRESULT call_factory_create_outer_null_out(struct objects *o, void *out)
{ return IClassFactory_CreateInstance(o->factory, (IUnknown *)o->control, &IID_IUnknown, NULL); }
static HRESULT call_factory_create_task_manager(struct objects *o, void *out)
{ return IClassFactory_CreateInstance(o->factory, NULL, &IID_IHostTaskManager, out); }
static HRESULT call_factory_create_unknown_iid(struct objects *o, void *out)
{ return IClassFactory_CreateInstance(o->factory, NULL, &iid_unknown_to_all, out); }
static HRESULT call_class_object_null_out(struct objects *o, void *out)
{ return dll_get_class_object(&CLSID_HostTaskControl, &IID_IClassFactory, NULL); }
static HRESULT call_class_object_null_clsid(struct objects *o, void *out)
{ return dll_get_class_object(NULL, &IID_IClassFactory, out); }
static HRESULT call_class_object_null_iid(struct objects *o, void *out)
{ return dll_get_class_object(&CLSID_HostTaskControl, NULL, out); }
static HRESULT call_class_object_unknown_clsid(struct objects *o, void *out)
{ return dll_get_class_object(&clsid_unknown, &IID_IClassFactory, out); }
static HRESULT call_class_object_host_control(struct objects *o, void *out)
{ return dll_get_class_object(&CLSID_HostTaskControl, &IID_IHostControl, out); }

/* IHostControl */
static HRESULT call_control_qi_null_out(struct objects *o, void *out)
{ return IHostControl_QueryInterface(o->control, &IID_IUnknown, NULL); }
static HRESULT call_control_qi_null_iid(struct objects *o, void *out)
{ return IHostControl_QueryInterface(o->control, NULL, out); }
static HRESULT call_control_qi_task_manager(struct objects *o, void *out)
{ return IHostControl_QueryInterface(o->control, &IID_IHostTaskManager, out); }
static HRESULT call_control_manager_null_out(struct objects *o, void *out)
{ return IHostControl_GetHostManager(o->control, &IID_IHostTaskManager, NULL); }
static HRESULT call_control_manager_null_iid(struct objects *o, void *out)
{ return IHostControl_GetHostManager(o->control, NULL, out); }
static HRESULT call_control_manager_memory(struct objects *o, void *out)
{ return IHostControl_GetHostManager(o->control, &ht_iid_host_memory_manager, out); }
static HRESULT call_control_manager_policy(struct objects *o, void *out)
{ return IHostControl_GetHostManager(o->control, &ht_iid_host_policy_manager, out); }
static HRESULT call_control_manager_unknown_iid(struct objects *o, void *out)
{ return IHostControl_GetHostManager(o->control, &iid_unknown_to_all, out); }
static HRESULT call_control_manager_config(struct objects *o, void *out)
{ return IHostControl_GetHostManager(o->control, &IID_IHostTaskConfig, out); }
static HRESULT call_control_domain_manager_null(struct objects *o, void *out)
{ return IHostControl_SetAppDomainManager(o->control, 0, NULL); }
static HRESULT call_control_domain_manager_max_id(struct objects *o, void *out)
{ return IHostControl_SetAppDomainManager(o->control, 0xffffffff, NULL); }

/* IHostTaskManager */
static HRESULT call_manager_qi_null_out(struct objects *o, void *out)
{ return IHostTaskManager_QueryInterface(o->manager, &IID_IUnknown, NULL); }
static HRESULT call_manager_qi_null_iid(struct objects *o, void *out)
{ return IHostTaskManager_QueryInterface(o->manager, NULL, out); }
static HRESULT call_manager_qi_host_task(struct objects *o, void *out)
{ return IHostTaskManager_QueryInterface(o->manager, &IID_IHostTask, out); }
static HRESULT call_manager_current_task_null(struct objects *o, void *out)
{ return IHostTaskManager_GetCurrentTask(o->manager, NULL); }
static HRESULT call_manager_create_null_out(struct objects *o, void *out)
{ return IHostTaskManager_CreateTask(o->manager, 0, never_run, NULL, NULL); }
static HRESULT call_manager_create_null_start(struct objects *o, void *out)
{ return IHostTaskManager_CreateTask(o->manager, 0, NULL, NULL, out); }
static HRESULT call_manager_create_huge_stack(struct objects *o, void *out)
{ return IHostTaskManager_CreateTask(o->manager, 0xffffffff, never_run, NULL, out); }
static HRESULT call_manager_create_too_big_stack(struct objects *o, void *out)
{ return IHostTaskManager_CreateTask(o->manager, (1u << 30) + 1, never_run, NULL, out); }
static HRESULT call_manager_sleep_all_options(struct objects *o, void *out)
{ return IHostTaskManager_Sleep(o->manager, 0, 0xffffffff); }
static HRESULT call_manager_sleep_unknown_options(struct objects *o, void *out)
{ return IHostTaskManager_Sleep(o->manager, 1, 0xfffffff8); }
static HRESULT call_manager_switch_all_options(struct objects *o, void *out)
{ return IHostTaskManager_SwitchToTask(o->manager, 0xffffffff); }
static HRESULT call_manager_hook_null_out(struct objects *o, void *out)
{ return IHostTaskManager_CallNeedsHostHook(o->manager, 0x1000, NULL); }
static HRESULT call_manager_hook_max_target(struct objects *o, void *out)
{ return IHostTaskManager_CallNeedsHostHook(o->manager, ~(SIZE_T)0, out); }
static HRESULT call_manager_hook_zero_target(struct objects *o, void *out)
{ return IHostTaskManager_CallNeedsHostHook(o->manager, 0, out); }
static HRESULT call_manager_unmatched_enter(struct objects *o, void *out)
{ return IHostTaskManager_EnterRuntime(o->manager); }
static HRESULT call_manager_unmatched_reverse_leave(struct objects *o, void *out)
{ return IHostTaskManager_ReverseLeaveRuntime(o->manager); }
static HRESULT call_manager_unmatched_end_delay_abort(struct objects *o, void *out)
{ return IHostTaskManager_EndDelayAbort(o->manager); }
static HRESULT call_manager_unmatched_end_affinity(struct objects *o, void *out)
{ return IHostTaskManager_EndThreadAffinity(o->manager); }
static HRESULT call_manager_stack_guarantee_null(struct objects *o, void *out)
{ return IHostTaskManager_GetStackGuarantee(o->manager, NULL); }
static HRESULT call_manager_stack_guarantee(struct objects *o, void *out)
{ return IHostTaskManager_GetStackGuarantee(o->manager, out); }
static HRESULT call_manager_clr_manager_null(struct objects *o, void *out)
{ return IHostTaskManager_SetCLRTaskManager(o->manager, NULL); }

/* IHostTask */
static HRESULT call_task_qi_null_out(struct objects *o, void *out)
{ return IHostTask_QueryInterface(o->current, &IID_IUnknown, NULL); }
static HRESULT call_task_qi_null_iid(struct objects *o, void *out)
{ return IHostTask_QueryInterface(o->current, NULL, out); }
static HRESULT call_task_qi_task_manager(struct objects *o, void *out)
{ return IHostTask_QueryInterface(o->created, &IID_IHostTaskManager, out); }
static HRESULT call_task_qi_clr_task(struct objects *o, void *out)
{ return IHostTask_QueryInterface(o->created, &IID_ICLRTask, out); }
static HRESULT call_task_priority_3(struct objects *o, void *out)
{ return IHostTask_SetPriority(o->current, 3); }
static HRESULT call_task_priority_minus_3(struct objects *o, void *out)
{ return IHostTask_SetPriority(o->created, -3); }
static HRESULT call_task_priority_16(struct objects *o, void *out)
{ return IHostTask_SetPriority(o->created, 16); }
static HRESULT call_task_priority_int_min(struct objects *o, void *out)
{ return IHostTask_SetPriority(o->current, INT_MIN); }
static HRESULT call_task_priority_int_max(struct objects *o, void *out)
{ return IHostTask_SetPriority(o->created, INT_MAX); }
static HRESULT call_task_priority_error_return(struct objects *o, void *out)
{ return IHostTask_SetPriority(o->created, THREAD_PRIORITY_ERROR_RETURN); }
static HRESULT call_task_get_priority_null(struct objects *o, void *out)
{ return IHostTask_GetPriority(o->created, NULL); }
static HRESULT call_task_get_priority(struct objects *o, void *out)
{ return IHostTask_GetPriority(o->created, out); }
static HRESULT call_task_clr_task_null(struct objects *o, void *out)
{ return IHostTask_SetCLRTask(o->created, NULL); }
static HRESULT call_task_join_self(struct objects *o, void *out)
{ return IHostTask_Join(o->current, 0, 0); }
static HRESULT call_task_join_self_infinite(struct objects *o, void *out)
{ return IHostTask_Join(o->current, INFINITE, WAIT_ALERTABLE); }
static HRESULT call_task_join_self_not_in_deadlock(struct objects *o, void *out)
{ return IHostTask_Join(o->current, 0, WAIT_NOTINDEADLOCK); }
static HRESULT call_task_join_unstarted_unknown_options(struct objects *o, void *out)
{ return IHostTask_Join(o->created, 0, 0xfffffff8 | WAIT_NOTINDEADLOCK); }

/* IHostTaskConfig */
static HRESULT call_config_qi_null_out(struct objects *o, void *out)
{ return IHostTaskConfig_QueryInterface(o->config, &IID_IHostTaskConfig, NULL); }
static HRESULT call_config_qi_null_iid(struct objects *o, void *out)
{ return IHostTaskConfig_QueryInterface(o->config, NULL, out); }
static HRESULT call_config_qi_host_control(struct objects *o, void *out)
{ return IHostTaskConfig_QueryInterface(o->config, &IID_IHostControl, out); }
static HRESULT call_config_get_strict_null(struct objects *o, void *out)
{ return IHostTaskConfig_GetStrict(o->config, NULL); }
static HRESULT call_config_get_profiling_null(struct objects *o, void *out)
{ return IHostTaskConfig_GetProfiling(o->config, NULL); }
static HRESULT call_config_policy_null_targets(struct objects *o, void *out)
{ return IHostTaskConfig_SetHookPolicy(o->config, TRUE, 5, NULL); }
static HRESULT call_config_policy_max_count_null_targets(struct objects *o, void *out)
{ return IHostTaskConfig_SetHookPolicy(o->config, FALSE, UINT_MAX, NULL); }

/* IHostTaskStatistics */
static HRESULT call_stats_qi_null_out(struct objects *o, void *out)
{ return IHostTaskStatistics_QueryInterface(o->statistics, &IID_IHostTaskStatistics, NULL); }
static HRESULT call_stats_qi_null_iid(struct objects *o, void *out)
{ return IHostTaskStatistics_QueryInterface(o->statistics, NULL, out); }
static HRESULT call_stats_qi_factory(struct objects *o, void *out)
{ return IHostTaskStatistics_QueryInterface(o->statistics, &IID_IClassFactory, out); }
static HRESULT call_stats_tasks_null_count(struct objects *o, void *out)
{ return IHostTaskStatistics_GetTaskStats(o->statistics, 0, NULL, NULL); }
static HRESULT call_stats_tasks_null_array(struct objects *o, void *out)
{ return IHostTaskStatistics_GetTaskStats(o->statistics, 4, NULL, out); }
static HRESULT call_stats_tasks_count_only(struct objects *o, void *out)
{ return IHostTaskStatistics_GetTaskStats(o->statistics, 0, NULL, out); }
static HRESULT call_stats_current_null(struct objects *o, void *out)
{ return IHostTaskStatistics_GetCurrentTaskStats(o->statistics, NULL); }
static HRESULT call_stats_counts_null_both(struct objects *o, void *out)
{ return IHostTaskStatistics_GetObjectCounts(o->statistics, NULL, NULL); }
static HRESULT call_stats_counts_null_live(struct objects *o, void *out)
{ return IHostTaskStatistics_GetObjectCounts(o->statistics, NULL, out); }
static HRESULT call_stats_counts_null_bound(struct objects *o, void *out)
{ return IHostTaskStatistics_GetObjectCounts(o->statistics, out, NULL); }
static HRESULT call_stats_targets_null_count(struct objects *o, void *out)
{ return IHostTaskStatistics_GetTargetStats(o->statistics, 0, NULL, NULL); }
static HRESULT call_stats_targets_null_array(struct objects *o, void *out)
{ return IHostTaskStatistics_GetTargetStats(o->statistics, 4, NULL, out); }
static HRESULT call_stats_targets_count_only(struct objects *o, void *out)
{ return IHostTaskStatistics_GetTargetStats(o->statistics, 0, NULL, out); }

static const struct bad_call bad_calls[] =
{
    ROW(factory_qi_null_out, E_POINTER, OUT_NONE, void *),
    ROW(factory_qi_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(factory_qi_unknown_iid, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(factory_qi_host_control, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(factory_create_null_out, E_POINTER, OUT_NONE, void *),
    ROW(factory_create_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(factory_create_outer, CLASS_E_NOAGGREGATION, OUT_ZERO, void *),
    ROW(factory_create_outer_null_out, E_POINTER, OUT_NONE, void *),
    ROW(factory_create_task_manager, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(factory_create_unknown_iid, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(class_object_null_out, E_POINTER, OUT_NONE, void *),
    ROW(class_object_null_clsid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(class_object_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(class_object_unknown_clsid, CLASS_E_CLASSNOTAVAILABLE, OUT_ZERO, void *),
    ROW(class_object_host_control, E_NOINTERFACE, OUT_ZERO, void *),

    ROW(control_qi_null_out, E_POINTER, OUT_NONE, void *),
    ROW(control_qi_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(control_qi_task_manager, E_NOINTERFACE, OUT_ZERO, void *),
    /* E_INVALIDARG, not E_POINTER: the documented code of GetHostManager. */
    ROW(control_manager_null_out, E_INVALIDARG, OUT_NONE, void *),
    ROW(control_manager_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(control_manager_memory, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(control_manager_policy, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(control_manager_unknown_iid, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(control_manager_config, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(control_domain_manager_null, S_OK, OUT_NONE, void *),
    ROW(control_domain_manager_max_id, S_OK, OUT_NONE, void *),

    ROW(manager_qi_null_out, E_POINTER, OUT_NONE, void *),
    ROW(manager_qi_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(manager_qi_host_task, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(manager_current_task_null, E_POINTER, OUT_NONE, void *),
    ROW(manager_create_null_out, E_POINTER, OUT_NONE, void *),
    ROW(manager_create_null_start, E_INVALIDARG, OUT_ZERO, void *),
    /* docs/contract.md pitfall 06: thread creation fails; nothing leaks. */
    ROW(manager_create_huge_stack, E_OUTOFMEMORY, OUT_ZERO, void *),
    ROW(manager_create_too_big_stack, E_OUTOFMEMORY, OUT_ZERO, void *),
    /* Sleep returns only S_OK or HOST_E_INTERRUPTED, whatever the options. */
    ROW(manager_sleep_all_options, S_OK, OUT_NONE, void *),
    ROW(manager_sleep_unknown_options, S_OK, OUT_NONE, void *),
    ROW(manager_switch_all_options, S_OK, OUT_NONE, void *),
    ROW(manager_hook_null_out, E_POINTER, OUT_NONE, void *),
    ROW(manager_hook_max_target, S_OK, OUT_WRITTEN, BOOL),
    ROW(manager_hook_zero_target, S_OK, OUT_WRITTEN, BOOL),
    /* Unmatched closes: counted, never failed (the call already happened). */
    ROW(manager_unmatched_enter, S_OK, OUT_NONE, void *),
    ROW(manager_unmatched_reverse_leave, S_OK, OUT_NONE, void *),
    ROW(manager_unmatched_end_delay_abort, E_UNEXPECTED, OUT_NONE, void *),
    ROW(manager_unmatched_end_affinity, E_UNEXPECTED, OUT_NONE, void *),
    ROW(manager_stack_guarantee_null, E_POINTER, OUT_NONE, void *),
    ROW(manager_stack_guarantee, S_OK, OUT_WRITTEN, ULONG),
    ROW(manager_clr_manager_null, S_OK, OUT_NONE, void *),

    ROW(task_qi_null_out, E_POINTER, OUT_NONE, void *),
    ROW(task_qi_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(task_qi_task_manager, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(task_qi_clr_task, E_NOINTERFACE, OUT_ZERO, void *),
    /* Only the seven THREAD_PRIORITY_* values. */
    ROW(task_priority_3, E_INVALIDARG, OUT_NONE, void *),
    ROW(task_priority_minus_3, E_INVALIDARG, OUT_NONE, void *),
    ROW(task_priority_16, E_INVALIDARG, OUT_NONE, void *),
    ROW(task_priority_int_min, E_INVALIDARG, OUT_NONE, void *),
    ROW(task_priority_int_max, E_INVALIDARG, OUT_NONE, void *),
    ROW(task_priority_error_return, E_INVALIDARG, OUT_NONE, void *),
    ROW(task_get_priority_null, E_POINTER, OUT_NONE, void *),
    ROW(task_get_priority, S_OK, OUT_WRITTEN, int),
    ROW(task_clr_task_null, S_OK, OUT_NONE, void *),
    /* A task joining itself: a finite join times out (Join(0) at once), an
     * INFINITE one is a deadlock unless told it is not in one. */
    ROW(task_join_self, HOST_E_TIMEOUT, OUT_NONE, void *),
    ROW(task_join_self_infinite, HOST_E_DEADLOCK, OUT_NONE, void *),
    ROW(task_join_self_not_in_deadlock, HOST_E_TIMEOUT, OUT_NONE, void *),
    ROW(task_join_unstarted_unknown_options, HOST_E_TIMEOUT, OUT_NONE, void *),

    ROW(config_qi_null_out, E_POINTER, OUT_NONE, void *),
    ROW(config_qi_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(config_qi_host_control, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(config_get_strict_null, E_POINTER, OUT_NONE, void *),
    ROW(config_get_profiling_null, E_POINTER, OUT_NONE, void *),
    ROW(config_policy_null_targets, E_POINTER, OUT_NONE, void *),
    ROW(config_policy_max_count_null_targets, E_POINTER, OUT_NONE, void *),

    ROW(stats_qi_null_out, E_POINTER, OUT_NONE, void *),
    ROW(stats_qi_null_iid, E_INVALIDARG, OUT_ZERO, void *),
    ROW(stats_qi_factory, E_NOINTERFACE, OUT_ZERO, void *),
    ROW(stats_tasks_null_count, E_POINTER, OUT_NONE, void *),
    ROW(stats_tasks_null_array, E_POINTER, OUT_ZERO, UINT),
    /* Two live tasks at least (this thread's and the created one), no room. */
    ROW(stats_tasks_count_only, S_FALSE, OUT_WRITTEN, UINT),
    ROW(stats_current_null, E_POINTER, OUT_NONE, void *),
    ROW(stats_counts_null_both, E_POINTER, OUT_NONE, void *),
    ROW(stats_counts_null_live, E_POINTER, OUT_ZERO, ULONG),
    ROW(stats_counts_null_bound, E_POINTER, OUT_ZERO, ULONG),
    ROW(stats_targets_null_count, E_POINTER, OUT_NONE, void *),
    ROW(stats_targets_null_array, E_POINTER, OUT_ZERO, UINT),
    ROW(stats_targets_count_only, S_OK, OUT_WRITTEN, UINT),
};

/* A row's failures are reported with its context, row number and name
 * (as Wine's winetest_push_context prefixes its messages), and do not stop
 * the table: every failing row is listed, then the test fails once. */
static unsigned int row_failures;

static void CMOCKA_PRINTF_ATTRIBUTE(3, 4)
        row_failed(size_t index, const struct bad_call *row, const char *format, ...)
{
    char message[256];
    va_list args;

    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    print_error("bad_calls[%u] %s: %s\n", (unsigned)index, row->name, message);
    row_failures++;
}

/* A refcount, read without changing it. */
static ULONG refcount(IUnknown *obj)
{
    IUnknown_AddRef(obj);
    return IUnknown_Release(obj);
}

/* Checks one row; returns 0 if it passed, 1 if not (reported). */
static int check_row(size_t index, const struct bad_call *row)
{
    static const struct
    {
        const char *name;
        size_t offset;
        ULONG expected;
    } refs[] = {
        { "IHostControl", offsetof(struct objects, control), 1 },
        { "IHostTaskManager", offsetof(struct objects, manager), 4 },
        { "the current IHostTask", offsetof(struct objects, current), 1 },
        { "the created IHostTask", offsetof(struct objects, created), 1 },
    };
    unsigned int before = row_failures;
    unsigned char out[32];
    HRESULT hr;
    ULONG live, bound, live_after, bound_after, ref;
    size_t i;
    int all_fill = 1;

    object_counts(&live, &bound);
    memset(out, OUT_FILL, sizeof(out));
    hr = row->call(&objects, out);
    if (hr != row->expected)
        row_failed(index, row, "returned %#lx, expected %#lx", (unsigned long)hr, (unsigned long)row->expected);
    for (i = 0; i < row->out_size; i++)
    {
        if (out[i] != OUT_FILL)
            all_fill = 0;
        if (row->check == OUT_ZERO && out[i])
            row_failed(index, row, "out-parameter byte %u is %#x, not 0", (unsigned)i, out[i]);
    }
    if (row->check == OUT_WRITTEN && all_fill)
        row_failed(index, row, "out-parameter not written");
    if (row->check == OUT_NONE)
        i = 0;
    for (; i < sizeof(out); i++)
        if (out[i] != OUT_FILL)
            row_failed(index, row, "wrote past its out-parameter (byte %u)", (unsigned)i);

    /* Nothing gained or lost a reference, and nothing was left alive. */
    for (i = 0; i < ARRAYSIZE(refs); i++)
    {
        IUnknown *obj = *(IUnknown **)((char *)&objects + refs[i].offset);

        if ((ref = refcount(obj)) != refs[i].expected)
            row_failed(index, row, "%s has %lu references, expected %lu", refs[i].name, ref, refs[i].expected);
    }
    for (i = 0; i < 500; i++)
    {
        object_counts(&live_after, &bound_after);
        if (live_after == live && bound_after == bound)
            break;
        Sleep(10);
    }
    if (live_after != live || bound_after != bound)
        row_failed(index, row, "%lu live tasks (%lu bound only) after, %lu (%lu) before", live_after, bound_after,
                live, bound);
    return row_failures != before;
}

static void test_bad_input_table(void **state)
{
    unsigned int failed_rows = 0;
    size_t i;

    row_failures = 0;
    for (i = 0; i < ARRAYSIZE(bad_calls); i++)
        failed_rows += check_row(i, &bad_calls[i]);
    if (failed_rows)
        fail_msg("%u of %u rows of bad_calls failed (%u failures, listed above)", failed_rows,
                (unsigned)ARRAYSIZE(bad_calls), row_failures);
    /* A BOOL out-parameter is exactly TRUE or FALSE. */
    {
        BOOL needs = (BOOL)0xdeadbeef;

        assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x1234, &needs), S_OK);
        assert_int_equal(needs, TRUE);
    }
}

/* ---- main ---- */

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        OBJECTS_TEST(test_bad_input_table),
        OBJECTS_TEST(test_unbalanced_calls),
        OBJECTS_TEST(test_wrong_thread),
        OBJECTS_TEST(test_nesting_limit),
        OBJECTS_TEST(test_small_capacities),
        OBJECTS_TEST(test_config_refusals),
        OBJECTS_TEST(test_finished_task),
        cmocka_unit_test(test_stack_guarantee_codes),
        cmocka_unit_test(test_unbalanced_lock_server),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
