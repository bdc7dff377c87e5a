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
 */
#include "clr_fakes.h"
#include "clr_iids.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- The objects under test ---- */

struct objects
{
    IClassFactory *factory;
    IHostControl *control;
    IHostTaskManager *manager;
    IHostTaskConfig *config;
    IHostTaskStatistics *statistics;
    IHostTask *current;    /* the test thread's own (adopted) task */
    IHostTask *created;    /* made by CreateTask, never started */
};

static struct objects objects;
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

static int objects_setup(void **state)
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
static int objects_teardown(void **state)
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

/* hr is one of two codes; a failure prints the code. */
#define assert_hr_either(hr, a, b) \
    do \
    { \
        HRESULT hr_ = (hr); \
        if (hr_ != (a) && hr_ != (b)) \
            fail_msg("%s is %#lx, expected %#lx or %#lx", #hr, (unsigned long)hr_, (unsigned long)(a), \
                    (unsigned long)(b)); \
    } while (0)

#define OBJECTS_TEST(f) cmocka_unit_test_setup_teardown(f, objects_setup, objects_teardown)

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

#define OUT_FILL 0xa5
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

/* ---- Unbalanced calls ---- */

static IHostTaskManager *manager;

static HT_TASK_STATS current_stats(void)
{
    HT_TASK_STATS stats;

    memset(&stats, OUT_FILL, sizeof(stats));
    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(objects.statistics, &stats), S_OK);
    return stats;
}

static DWORD WINAPI unbalanced_worker(void *arg)
{
    HT_TASK_STATS stats;
    BOOL strict = *(BOOL *)arg;
    HRESULT refused = strict ? HOST_E_INVALIDOPERATION : S_OK;

    /* Closes with nothing open. */
    assert_hr(IHostTaskManager_EnterRuntime(manager), refused);
    assert_hr(IHostTaskManager_ReverseLeaveRuntime(manager), refused);
    /* A close that would skip the other kind's open frame. */
    assert_hr(IHostTaskManager_LeaveRuntime(manager, ~(SIZE_T)0), S_OK);
    assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EnterRuntime(manager), refused);
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_REVERSE_LEAVE], 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNCLOSED_REVERSE_ENTER], 1);
    assert_int_equal(stats.depth, strict ? 2 : 0);
    assert_int_equal(stats.transitions[HT_STAT_ENTER], strict ? 0 : 1);
    assert_int_equal(stats.transitions[HT_STAT_REVERSE_LEAVE], 0);

    /* Affinity and delay-abort: an End with no Begin changes nothing. */
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_int_equal(current_stats().affinityDepth, 1);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_int_equal(current_stats().affinityDepth, 0);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), E_UNEXPECTED);
    assert_true(current_stats().flags & HT_TASK_DELAY_ABORT);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    assert_false(current_stats().flags & HT_TASK_DELAY_ABORT);
    return 0;
}

static void test_unbalanced_calls(void **state)
{
    BOOL strict = FALSE;

    manager = objects.manager;
    run_on_thread(unbalanced_worker, &strict);
    strict = TRUE;
    assert_hr(IHostTaskConfig_SetStrict(objects.config, TRUE), S_OK);
    run_on_thread(unbalanced_worker, &strict);
    assert_hr(IHostTaskConfig_SetStrict(objects.config, FALSE), S_OK);
}

/* ---- Wrong-thread calls ---- */

struct first_thread
{
    HANDLE opened, go_on;
};

static DWORD WINAPI first_thread_main(void *arg)
{
    struct first_thread *first = arg;
    HT_TASK_STATS stats;

    assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    assert_hr(IHostTaskManager_BeginThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_BeginDelayAbort(manager), S_OK);
    SetEvent(first->opened);
    assert_int_equal(WaitForSingleObject(first->go_on, 10000), WAIT_OBJECT_0);

    /* The other thread's closing calls did not touch this thread's state. */
    stats = current_stats();
    assert_int_equal(stats.depth, 1);
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 0);
    assert_int_equal(stats.affinityDepth, 1);
    assert_true(stats.flags & HT_TASK_DELAY_ABORT);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), S_OK);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), S_OK);
    assert_int_equal(current_stats().depth, 0);
    return 0;
}

static DWORD WINAPI second_thread_main(void *arg)
{
    HT_TASK_STATS stats;

    /* Closing calls for what another thread opened: this thread has
     * nothing open, so they are unmatched here. */
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    assert_hr(IHostTaskManager_EndThreadAffinity(manager), E_UNEXPECTED);
    assert_hr(IHostTaskManager_EndDelayAbort(manager), E_UNEXPECTED);
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_UNMATCHED_ENTER], 1);
    assert_int_equal(stats.depth, 0);
    assert_int_equal(stats.affinityDepth, 0);
    return 0;
}

static void test_wrong_thread(void **state)
{
    struct first_thread first;
    HANDLE thread;
    DWORD code = 0;

    manager = objects.manager;
    first.opened = CreateEventW(NULL, TRUE, FALSE, NULL);
    first.go_on = CreateEventW(NULL, TRUE, FALSE, NULL);
    thread = CreateThread(NULL, 0, first_thread_main, &first, 0, NULL);
    assert_non_null(thread);
    assert_int_equal(WaitForSingleObject(first.opened, 10000), WAIT_OBJECT_0);
    run_on_thread(second_thread_main, NULL);
    SetEvent(first.go_on);
    assert_int_equal(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    GetExitCodeThread(thread, &code);
    assert_int_not_equal(code, HT_WORKER_FAILED);
    CloseHandle(thread);
    CloseHandle(first.opened);
    CloseHandle(first.go_on);
    assert_no_worker_failures();
}

/* ---- Out of range: the nesting limit, small capacities ---- */

static DWORD WINAPI nesting_limit_worker(void *arg)
{
    BOOL reverse_first = *(BOOL *)arg;
    HT_TASK_STATS stats;
    ULONG i;

    /* HT__MAX_FRAMES (65,536) alternations fill every frame. */
    for (i = 0; i < 65536; i++)
    {
        if ((i % 2 == 0) == !reverse_first)
            assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
        else
            assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    }
    if (reverse_first)
    {
        /* One more alternation: counted, and still exactly S_OK, which is
         * all the CLR accepts from ReverseEnterRuntime. */
        assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    }
    else
    {
        /* LeaveRuntime may fail: the CLR then does not make the call. */
        assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), E_OUTOFMEMORY);
    }
    stats = current_stats();
    assert_int_equal(stats.imbalances[HT_STAT_NESTING_LIMIT], 1);
    assert_int_equal(stats.depth, 65536);
    /* A same-kind call still fits in the top frame. */
    if (reverse_first)
        assert_hr(IHostTaskManager_LeaveRuntime(manager, 0x1000), S_OK);
    else
        assert_hr(IHostTaskManager_ReverseEnterRuntime(manager), S_OK);
    assert_int_equal(current_stats().depth, 65537);
    /* The thread exits with every frame open: its binding goes with it. */
    return 0;
}

static void test_nesting_limit(void **state)
{
    BOOL reverse_first = FALSE;

    manager = objects.manager;
    run_on_thread(nesting_limit_worker, &reverse_first);
    reverse_first = TRUE;
    run_on_thread(nesting_limit_worker, &reverse_first);
}

static void test_small_capacities(void **state)
{
    HT_TASK_STATS stats[3];
    HT_TARGET_STATS targets[3];
    UINT count = 0xdeadbeef, i;
    unsigned char fill[sizeof(stats[0])];

    /* Room for one task of at least two: only stats[0] is written. */
    memset(stats, OUT_FILL, sizeof(stats));
    memset(fill, OUT_FILL, sizeof(fill));
    assert_hr(IHostTaskStatistics_GetTaskStats(objects.statistics, 1, stats, &count), S_FALSE);
    assert_ge(count, 2);
    assert_memory_not_equal(&stats[0], fill, sizeof(fill));
    assert_memory_equal(&stats[1], fill, sizeof(fill));
    assert_memory_equal(&stats[2], fill, sizeof(fill));

    /* Three targets with calls, room for one. */
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, TRUE), S_OK);
    assert_hr(IHostTaskStatistics_Reset(objects.statistics), S_OK);
    for (i = 1; i <= 3; i++)
    {
        assert_hr(IHostTaskManager_LeaveRuntime(objects.manager, 0x5000 + i * 16), S_OK);
        assert_hr(IHostTaskManager_EnterRuntime(objects.manager), S_OK);
    }
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, FALSE), S_OK);
    memset(targets, OUT_FILL, sizeof(targets));
    count = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetTargetStats(objects.statistics, 1, targets, &count), S_FALSE);
    assert_int_equal(count, 3);
    assert_in_range(targets[0].target, 0x5010, 0x5030);
    assert_int_equal(targets[0].calls, 1);
    memset(fill, OUT_FILL, sizeof(targets[0]));
    assert_memory_equal(&targets[1], fill, sizeof(targets[0]));
    count = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetTargetStats(objects.statistics, 0, NULL, &count), S_FALSE);
    assert_int_equal(count, 3);
    assert_hr(IHostTaskStatistics_Reset(objects.statistics), S_OK);
    count = 0xdeadbeef;
    assert_hr(IHostTaskStatistics_GetTargetStats(objects.statistics, 0, NULL, &count), S_OK);
    assert_int_equal(count, 0);
}

/* ---- Refused configuration changes nothing; booleans are normalized ---- */

static void test_config_refusals(void **state)
{
    SIZE_T listed[1] = { 0x7000 };
    BOOL value = (BOOL)0xdeadbeef, needs;

    assert_hr(IHostTaskConfig_SetHookPolicy(objects.config, FALSE, 1, listed), S_OK);
    assert_hr(IHostTaskConfig_SetHookPolicy(objects.config, TRUE, 3, NULL), E_POINTER);
    /* The refused call left the policy as it was. */
    assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x7000, &needs), S_OK);
    assert_int_equal(needs, TRUE);
    assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x7010, &needs), S_OK);
    assert_int_equal(needs, FALSE);

    /* Any non-zero BOOL is TRUE, and reads back as exactly TRUE. */
    assert_hr(IHostTaskConfig_SetHookPolicy(objects.config, 7, 0, NULL), S_OK);
    needs = (BOOL)0xdeadbeef;
    assert_hr(IHostTaskManager_CallNeedsHostHook(objects.manager, 0x7000, &needs), S_OK);
    assert_int_equal(needs, TRUE);
    assert_hr(IHostTaskConfig_SetStrict(objects.config, -1), S_OK);
    assert_hr(IHostTaskConfig_GetStrict(objects.config, &value), S_OK);
    assert_int_equal(value, TRUE);
    assert_hr(IHostTaskConfig_SetStrict(objects.config, FALSE), S_OK);
    value = (BOOL)0xdeadbeef;
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, 2), S_OK);
    assert_hr(IHostTaskConfig_GetProfiling(objects.config, &value), S_OK);
    assert_int_equal(value, TRUE);
    assert_hr(IHostTaskConfig_SetProfiling(objects.config, FALSE), S_OK);
    assert_hr(IHostTaskConfig_GetProfiling(objects.config, &value), S_OK);
    assert_int_equal(value, FALSE);
}

/* ---- Finished tasks ---- */

static DWORD WINAPI adopt_and_exit(void *arg)
{
    assert_hr(IHostTaskManager_GetCurrentTask(manager, (IHostTask **)arg), S_OK);
    return 0;
}

struct bounded_join
{
    IHostTask *task;
    DWORD milliseconds, option;
    HRESULT result;
};

static DWORD WINAPI bounded_join_worker(void *arg)
{
    struct bounded_join *join = arg;

    join->result = IHostTask_Join(join->task, join->milliseconds, join->option);
    return 0;
}

/* Join on a helper thread, given 10 s: a Join that never returns fails
 * here, naming the case, instead of hanging the test. */
static HRESULT join_bounded(IHostTask *task, DWORD milliseconds, DWORD option, const char *what)
{
    struct bounded_join join = { task, milliseconds, option, E_UNEXPECTED };
    HANDLE thread = CreateThread(NULL, 0, bounded_join_worker, &join, 0, NULL);

    assert_non_null(thread);
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        fail_msg("%s: Join did not return within 10 s", what);
    CloseHandle(thread);
    return join.result;
}

static void test_finished_task(void **state)
{
    IHostTask *task = NULL;
    int priority = 0x7eadbeef;

    manager = objects.manager;
    run_on_thread(adopt_and_exit, &task);
    assert_non_null(task);
    /* Alert never fails; Join returns at once. */
    assert_hr(IHostTask_Alert(task), S_OK);
    assert_hr_either(IHostTask_Join(task, 0, WAIT_NOTINDEADLOCK), S_OK, HOST_E_ABANDONED);
    assert_hr_either(join_bounded(task, INFINITE, WAIT_ALERTABLE | WAIT_NOTINDEADLOCK,
            "Join(INFINITE) on a finished task"), S_OK, HOST_E_ABANDONED);
    assert_hr(IHostTask_SetPriority(task, 42), E_INVALIDARG);
    /* The task keeps a real handle: its thread's priority stays readable. */
    assert_hr(IHostTask_SetPriority(task, THREAD_PRIORITY_LOWEST), S_OK);
    assert_hr(IHostTask_GetPriority(task, &priority), S_OK);
    assert_int_equal(priority, THREAD_PRIORITY_LOWEST);
    assert_int_equal(IHostTask_Release(task), 0);
}

/* ---- Where com/ and docs/contract.md might disagree ----
 *
 * CMocka skips the teardown of a failed test, so these tests take no
 * fixture: each makes its calls, cleans up, and only then asserts. */

static void get_manager(IHostControl **control)
{
    assert_hr(ht_create_host_control(control), S_OK);
    assert_hr(IHostControl_GetHostManager(*control, &IID_IHostTaskManager, (void **)&manager), S_OK);
}

static void put_manager(IHostControl *control)
{
    IHostTaskManager_Release(manager);
    IHostControl_Release(control);
    manager = NULL;
}

struct results
{
    HRESULT hr[2];
    ULONG value;
};

/* docs/contract.md §3.2, SetStackGuarantee: "Apply to the current thread, or
 * refuse", returning S_OK or E_NOTIMPL, also when the system refuses a
 * guarantee larger than the stack. */
static DWORD WINAPI stack_guarantee_worker(void *arg)
{
    struct results *results = arg;

    results->hr[0] = IHostTaskManager_SetStackGuarantee(manager, 0x7fffffff);
    results->value = 0xdeadbeef;
    results->hr[1] = IHostTaskManager_GetStackGuarantee(manager, &results->value);
    return 0;
}

static void test_stack_guarantee_codes(void **state)
{
    struct results results;
    IHostControl *control;

    get_manager(&control);
    run_on_thread(stack_guarantee_worker, &results);
    put_manager(control);
    assert_hr_either(results.hr[0], S_OK, E_NOTIMPL);
    assert_hr_either(results.hr[1], S_OK, E_NOTIMPL);
    /* Written on every path, 0 if unknown. */
    assert_int_not_equal(results.value, 0xdeadbeef);
}

/* COM rules: LockServer(FALSE) with no lock taken must not unpin the
 * module (docs/contract.md §3.0: an unbalanced call changes nothing), or
 * DllCanUnloadNow would answer S_FALSE with nothing alive, and S_OK after
 * a later LockServer(TRUE) while the server is locked. */
static void test_unbalanced_lock_server(void **state)
{
    IClassFactory *factory;
    HRESULT hr, unlocked, locked, unlocked_again;

    assert_hr(dll_get_class_object(&CLSID_HostTaskControl, &IID_IClassFactory, (void **)&factory), S_OK);
    assert_hr(dll_can_unload_soon(), S_OK);
    hr = IClassFactory_LockServer(factory, FALSE);
    unlocked = dll_can_unload_now();
    IClassFactory_LockServer(factory, TRUE);
    locked = dll_can_unload_now();
    IClassFactory_LockServer(factory, FALSE);
    unlocked_again = dll_can_unload_now();
    /* Undo what the unbalanced call took, so that later tests see a sane count. */
    if (unlocked != S_OK)
        IClassFactory_LockServer(factory, TRUE);
    IClassFactory_Release(factory);

    assert_hr(hr, E_UNEXPECTED);
    assert_hr(unlocked, S_OK);
    assert_hr(locked, S_FALSE);
    assert_hr(unlocked_again, S_OK);
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
