/*
 * The fault-injection test's fixture and the helpers both of its files use
 * (declared in tests/faults.h).
 */
#include "faults.h"

IHostTaskManager *manager;
IHostTaskFaults *faults;

IHostTaskStatistics *statistics(void)
{
    IHostTaskStatistics *s;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&s), S_OK);
    return s;
}

int faults_setup(void **state)
{
    fixture_setup(state);
    manager = ((struct fixture *)*state)->manager;
    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskFaults, (void **)&faults), S_OK);
    return 0;
}

int faults_teardown(void **state)
{
    IHostTaskFaults_Arm(faults, 0, 0);
    faults = NULL;
    return fixture_teardown(state);
}

/* Runs fn on a new thread and waits at most 10 s for it, so that a hang
 * fails with the name of the case. */
void run_bounded(LPTHREAD_START_ROUTINE fn, void *arg, const char *what)
{
    HANDLE thread = CreateThread(NULL, 0, fn, arg, 0, NULL);
    DWORD code = 0;

    assert_non_null(thread);
    if (WaitForSingleObject(thread, 10000) != WAIT_OBJECT_0)
        fail_msg("%s did not return within 10 s", what);
    GetExitCodeThread(thread, &code);
    CloseHandle(thread);
    if (code == HT_WORKER_FAILED)
        fail_msg("%s failed on its thread", what);
}

DWORD WINAPI sleeper_routine(void *arg)
{
    WaitForSingleObject(arg, 10000);
    return 0;
}
