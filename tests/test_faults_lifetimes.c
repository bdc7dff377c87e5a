/*
 * Lifetimes under failure and under hostile hosts, with the DLL's test-only
 * fault injection (com/fault.h; the fixture is tests/faults.h's, main is
 * tests/test_faults.c's):
 *
 * - task routines that end their thread themselves (ExitThread,
 *   FreeLibraryAndExitThread) or are ended (TerminateThread);
 * - adoption after the DLL's thread detach, a failed TLS binding, a CLR
 *   task released at thread exit, timed waits that end early;
 * - a manager created while the last one is torn down, two SetScheduler
 *   calls racing, a task that runs before its Start returns.
 */
#include "faults.h"
#include "clr_fakes.h"

/* ---- Task routines that end their own thread ---- */

struct ender
{
    int how;        /* 0 ExitThread, 1 FreeLibraryAndExitThread, 2 wait to be terminated */
    HANDLE running; /* set by the routine */
    HANDLE self;    /* the routine's thread, for TerminateThread */
};

static DWORD WINAPI ending_routine(void *arg)
{
    struct ender *ender = arg;

    ender->self = OpenThread(THREAD_TERMINATE | SYNCHRONIZE, FALSE, GetCurrentThreadId());
    SetEvent(ender->running);
    if (ender->how == 0)
        ExitThread(7);
    if (ender->how == 1)
        FreeLibraryAndExitThread(LoadLibraryW(L"hosttask.dll"), 7);
    Sleep(INFINITE);
    return 0;
}

static void check_thread_ending(int how)
{
    ULONG live = manager_live_tasks(manager);
    DWORD handles = open_handles();
    struct ender ender = { how, CreateEventW(NULL, TRUE, FALSE, NULL), NULL };
    IHostTask *task;

    assert_hr(IHostTaskManager_CreateTask(manager, 0, ending_routine, &ender, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_int_equal(WaitForSingleObject(ender.running, 10000), WAIT_OBJECT_0);
    assert_non_null(ender.self);
    if (how == 2)
        assert_true(TerminateThread(ender.self, 7));
    assert_int_equal(WaitForSingleObject(ender.self, 10000), WAIT_OBJECT_0);
    assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
    assert_int_equal(IHostTask_Release(task), 0);
    CloseHandle(ender.self);
    CloseHandle(ender.running);
    /* The task, its thread's module reference and the DLL pin are all given back. */
    manager_wait_live_tasks(manager, live);
    assert_int_equal(open_handles(), handles);
    assert_hr(dll_can_unload_soon(), S_FALSE); /* the fixture's objects still live */
}

void test_routine_calls_exit_thread(void **state)
{
    check_thread_ending(0);
}

void test_routine_calls_free_library_and_exit_thread(void **state)
{
    check_thread_ending(1);
}

void test_routine_terminated(void **state)
{
    check_thread_ending(2);
}

/* ---- Adoption ---- */

/* The DLL's entry point, found from its PE header (DllMain is not exported).
 * clang-format 14 lays out WINAPI in a function pointer as a call: laid out
 * by hand. */
/* clang-format off */
static BOOL call_dll_entry(DWORD reason)
{
    HMODULE module = GetModuleHandleW(L"hosttask.dll");
    IMAGE_DOS_HEADER *dos = (IMAGE_DOS_HEADER *)module;
    IMAGE_NT_HEADERS *nt = (IMAGE_NT_HEADERS *)((BYTE *)module + dos->e_lfanew);
    BOOL (WINAPI *entry)(HINSTANCE, DWORD, void *);

    entry = (BOOL (WINAPI *)(HINSTANCE, DWORD, void *))(void (*)(void))
            ((BYTE *)module + nt->OptionalHeader.AddressOfEntryPoint);
    return entry(module, reason, NULL);
}
/* clang-format on */

static DWORD WINAPI adopt_after_detach_worker(void *arg)
{
    IHostTask *task = SENTINEL;

    /* What another DLL's detach or a fiber-local storage callback would
     * do after hosttask's detach: a call that would adopt the thread. */
    assert_true(call_dll_entry(DLL_THREAD_DETACH));
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), E_OUTOFMEMORY);
    assert_null(task);
    assert_hr(IHostTaskManager_LeaveRuntime(manager, 1), E_OUTOFMEMORY);
    assert_hr(IHostTaskManager_EnterRuntime(manager), S_OK);
    return 0;
}

/* Adopting after the thread's detach would register a task nothing ever
 * unbinds: refused, and nothing is left. */
void test_no_adoption_after_thread_detach(void **state)
{
    ULONG live = manager_live_tasks(manager);

    run_on_thread(adopt_after_detach_worker, NULL);
    assert_int_equal(manager_live_tasks(manager), live);
}

static DWORD WINAPI tls_failure_worker(void *arg)
{
    IHostTask *task = SENTINEL, *again;
    ULONG live = manager_live_tasks(manager);
    BOOL fired;
    ULONG calls;

    IHostTaskFaults_Arm(faults, HT_FAULT_TLS, 1);
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), E_OUTOFMEMORY);
    IHostTaskFaults_GetState(faults, &fired, &calls);
    assert_true(fired);
    assert_null(task);
    /* The unbound task is not left registered. */
    assert_int_equal(manager_live_tasks(manager), live);
    /* The next call adopts, once: the same task every time after. */
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    assert_hr(IHostTaskManager_GetCurrentTask(manager, &again), S_OK);
    assert_ptr_equal(task, again);
    assert_int_equal(manager_live_tasks(manager), live + 1);
    IHostTask_Release(again);
    IHostTask_Release(task);
    return 0;
}

void test_failed_tls_binding(void **state)
{
    ULONG live = manager_live_tasks(manager);

    run_on_thread(tls_failure_worker, NULL);
    manager_wait_live_tasks(manager, live);
}

/* ---- A CLR task released at thread exit ---- */

static LONG detach_thread_id, released_in_detach;
static ICLRTask2Vtbl watched_vtbl;

static ULONG STDMETHODCALLTYPE watched_Release(ICLRTask2 *iface)
{
    if ((LONG)GetCurrentThreadId() == InterlockedCompareExchange(&detach_thread_id, 0, 0))
        InterlockedIncrement(&released_in_detach);
    return fake_task_vtbl.Release(iface);
}

static DWORD WINAPI clr_task_worker(void *arg)
{
    struct fake_clr_task *fake = arg;
    IHostTask *task;

    assert_hr(IHostTaskManager_GetCurrentTask(manager, &task), S_OK);
    assert_hr(IHostTask_SetCLRTask(task, FAKE_AS_CLR_TASK(fake)), S_OK);
    IHostTask_Release(task);
    /* From here on, a Release on this thread is one in its detach. */
    InterlockedExchange(&detach_thread_id, (LONG)GetCurrentThreadId());
    return 0;
}

/* A task freed by its thread's detach runs under the loader lock, where
 * ICLRTask::Release must not be called: the release waits for the next
 * call outside it. */
void test_clr_task_not_released_under_loader_lock(void **state)
{
    struct fake_clr_task fake;
    ULONG live = manager_live_tasks(manager);

    fake_clr_task_init(&fake);
    watched_vtbl = fake_task_vtbl;
    watched_vtbl.Release = watched_Release;
    fake.ICLRTask2_iface.lpVtbl = &watched_vtbl;
    released_in_detach = 0;
    run_on_thread(clr_task_worker, &fake);
    InterlockedExchange(&detach_thread_id, 0);
    assert_int_equal(released_in_detach, 0);
    /* Released by the next call that can (here GetObjectCounts). */
    manager_wait_live_tasks(manager, live);
    assert_int_equal(fake.refcount, 1);
}

/* ---- Timed waits that end early ---- */

/* Windows may end a timed wait up to a tick early; the fault makes the
 * first wait end at once.  Sleep and Join still last their time. */
void test_waits_that_end_early_wait_the_rest(void **state)
{
    HANDLE stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    IHostTask *task;
    double start;

    start = now_ms();
    IHostTaskFaults_Arm(faults, HT_FAULT_WAIT_EARLY, 1);
    assert_hr(IHostTaskManager_Sleep(manager, 60, 0), S_OK);
    if (now_ms() - start < 59.5)
        fail_msg("Sleep(60) returned after %.2f ms", now_ms() - start);

    assert_hr(IHostTaskManager_CreateTask(manager, 0, sleeper_routine, stop, &task), S_OK);
    assert_hr(IHostTask_Start(task), S_OK);
    start = now_ms();
    IHostTaskFaults_Arm(faults, HT_FAULT_WAIT_EARLY, 1);
    assert_hr(IHostTask_Join(task, 60, 0), HOST_E_TIMEOUT);
    if (now_ms() - start < 59.5)
        fail_msg("Join(60) timed out after %.2f ms", now_ms() - start);
    SetEvent(stop);
    assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
    IHostTask_Release(task);
    CloseHandle(stop);
}

/* ---- The manager's teardown and the next manager's creation ---- */

static DWORD WINAPI last_release_worker(void *arg)
{
    IHostControl *control = arg;

    IHostTaskFaults_Arm(faults, HT_FAULT_TEARDOWN_PAUSE, 1);
    assert_int_equal(IHostControl_Release(control), 0);
    return 0;
}

/* A manager created while the last one is being torn down keeps what its
 * clients set: the teardown is atomic with the creation.  The fault holds
 * the teardown midway for 300 ms; a creation in that window used to have
 * its strict mode and hook policy cleared (and the policy freed under
 * CallNeedsHostHook). */
void test_creation_during_teardown(void **state)
{
    static const SIZE_T listed[] = { 0x1234 };
    IHostTaskConfig *config;
    IHostControl *control, *next;
    HANDLE thread;
    BOOL strict, needs_hook;

    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskFaults, (void **)&faults), S_OK);
    assert_int_equal(IHostTaskManager_Release(manager), 1);
    manager = NULL;

    thread = start_until_fired(last_release_worker, control);
    /* The teardown is under way: a new manager, configured at once. */
    assert_hr(ht_create_host_control(&next), S_OK);
    assert_hr(ht_get_manager_interface(next, &IID_IHostTaskConfig, (void **)&config), S_OK);
    assert_hr(IHostTaskConfig_SetStrict(config, TRUE), S_OK);
    assert_hr(IHostTaskConfig_SetHookPolicy(config, FALSE, 1, listed), S_OK);
    assert_int_equal(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    CloseHandle(thread);

    assert_hr(IHostTaskConfig_GetStrict(config, &strict), S_OK);
    assert_true(strict);
    assert_hr(ht_get_manager_interface(next, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(IHostTaskManager_CallNeedsHostHook(manager, 0x1234, &needs_hook), S_OK);
    assert_true(needs_hook);
    assert_hr(IHostTaskManager_CallNeedsHostHook(manager, 0x5678, &needs_hook), S_OK);
    assert_false(needs_hook);
    IHostTaskManager_Release(manager);
    manager = NULL;
    IHostTaskConfig_Release(config);
    assert_int_equal(IHostControl_Release(next), 0);
    faults = NULL;
    assert_hr(dll_can_unload_soon(), S_OK);
}

/* ---- Two SetScheduler calls racing ---- */

static DWORD WINAPI set_scheduler_worker(void *arg)
{
    IHostTaskConfig *config = arg;

    IHostTaskFaults_Arm(faults, HT_FAULT_SCHEDULER_PAUSE, 1);
    assert_hr(IHostTaskConfig_SetScheduler(config, 1, 1000), S_OK);
    return 0;
}

/* GetScheduler reports what the core runs: the fault holds the first
 * SetScheduler between installing its settings and recording them, while
 * a second one installs and records its own. */
void test_racing_set_scheduler(void **state)
{
    IHostTaskStatistics *s = statistics();
    HT_SCHEDULER_STATS stats;
    IHostTaskConfig *config;
    UINT slots, quantum;
    HANDLE thread;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskConfig, (void **)&config), S_OK);
    thread = start_until_fired(set_scheduler_worker, config);
    assert_hr(IHostTaskConfig_SetScheduler(config, 2, 2000), S_OK);
    assert_int_equal(WaitForSingleObject(thread, 10000), WAIT_OBJECT_0);
    CloseHandle(thread);

    assert_hr(IHostTaskConfig_GetScheduler(config, &slots, &quantum), S_OK);
    assert_hr(IHostTaskStatistics_GetSchedulerStats(s, &stats), S_OK);
    assert_int_equal(slots, stats.slots);
    assert_int_equal(quantum, stats.quantumUs);
    assert_hr(IHostTaskConfig_SetScheduler(config, 0, 0), S_OK);
    IHostTaskConfig_Release(config);
    IHostTaskStatistics_Release(s);
}

/* ---- A task sees itself started ---- */

static DWORD WINAPI own_flags_routine(void *arg)
{
    IHostTaskStatistics *s = statistics();
    HT_TASK_STATS stats;

    assert_hr(IHostTaskStatistics_GetCurrentTaskStats(s, &stats), S_OK);
    IHostTaskStatistics_Release(s);
    *(DWORD *)arg = stats.flags;
    return 0;
}

/* The fault holds Start for 300 ms after it resumed the thread, so the
 * routine runs before Start returns: it must see HT_TASK_STARTED. */
void test_task_sees_itself_started(void **state)
{
    IHostTask *task;
    DWORD flags = 0;

    assert_hr(IHostTaskManager_CreateTask(manager, 0, own_flags_routine, &flags, &task), S_OK);
    IHostTaskFaults_Arm(faults, HT_FAULT_START_PAUSE, 1);
    assert_hr(IHostTask_Start(task), S_OK);
    assert_hr(IHostTask_Join(task, 10000, 0), S_OK);
    IHostTask_Release(task);
    if (!(flags & HT_TASK_STARTED))
        fail_msg("the routine saw its flags 0x%lx, without HT_TASK_STARTED", flags);
}
