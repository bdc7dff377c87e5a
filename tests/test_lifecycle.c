/*
 * Lifecycle at scale (issue: "Lifecycle and limits"): 10,000 tasks
 * created, started, joined and released, and 10,000 short-lived foreign
 * threads that called GetCurrentTask and a transition pair.  Afterwards
 * the process handle count and the count of live task objects are back
 * where they started, and DllCanUnloadNow returns S_OK.
 */
#include "test_util.h"

#define ROUNDS 10000

static IHostTaskManager *manager;
static LONG routine_runs;

static DWORD WINAPI routine(void *arg)
{
    InterlockedIncrement(&routine_runs);
    return 0;
}

static DWORD WINAPI foreign_thread(void *arg)
{
    IHostTask *task = NULL;

    if (IHostTaskManager_GetCurrentTask(manager, &task) != S_OK || !task)
        return 1;
    if (IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&GetTickCount) != S_OK
            || IHostTaskManager_EnterRuntime(manager) != S_OK)
        return 2;
    IHostTask_Release(task);
    return 0;
}

static void counts(IHostTaskStatistics *statistics, ULONG *live, DWORD *handles)
{
    ULONG bound;

    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, live, &bound), S_OK);
    *handles = open_handles();
}

static void test_ten_thousand_of_each(void **state)
{
    IHostTaskStatistics *statistics;
    IHostControl *control;
    IHostTask *task;
    HANDLE thread;
    DWORD handles_before, handles_after, code;
    ULONG live_before, live_after;
    int i, tries;

    assert_hr(ht_create_host_control(&control), S_OK);
    assert_hr(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    counts(statistics, &live_before, &handles_before);

    for (i = 0; i < ROUNDS; i++)
    {
        if (IHostTaskManager_CreateTask(manager, 0, routine, NULL, &task) != S_OK)
            fail_msg("CreateTask failed at %d", i);
        if (IHostTask_Start(task) != S_OK || IHostTask_Join(task, 10000, 0) != S_OK)
            fail_msg("Start or Join failed at %d", i);
        IHostTask_Release(task);
    }
    assert_int_equal(routine_runs, ROUNDS);

    for (i = 0; i < ROUNDS; i++)
    {
        thread = CreateThread(NULL, 0, foreign_thread, NULL, 0, NULL);
        if (!thread || WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
            fail_msg("foreign thread %d did not finish", i);
        GetExitCodeThread(thread, &code);
        if (code)
            fail_msg("foreign thread %d failed with %lu", i, code);
        CloseHandle(thread);
    }

    /* Task threads free their objects a moment after Join returns. */
    for (tries = 0; tries < 500; tries++)
    {
        counts(statistics, &live_after, &handles_after);
        if (live_after == live_before && handles_after == handles_before)
            break;
        Sleep(10);
    }
    assert_int_equal(live_after, live_before);
    assert_int_equal(handles_after, handles_before);

    IHostTaskStatistics_Release(statistics);
    assert_int_equal(IHostTaskManager_Release(manager), 1);
    assert_int_equal(IHostControl_Release(control), 0);
    assert_hr(dll_can_unload_soon(), S_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_ten_thousand_of_each),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
