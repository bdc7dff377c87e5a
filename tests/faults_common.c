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

DWORD WINAPI sleeper_routine(void *arg)
{
    WaitForSingleObject(arg, 10000);
    return 0;
}

HANDLE start_until_fired(LPTHREAD_START_ROUTINE fn, void *arg)
{
    HANDLE thread = CreateThread(NULL, 0, fn, arg, 0, NULL);
    BOOL fired = FALSE;
    ULONG calls;
    int i;

    assert_non_null(thread);
    for (i = 0; i < 1000 && !fired; i++)
    {
        IHostTaskFaults_GetState(faults, &fired, &calls);
        if (!fired)
            Sleep(1);
    }
    assert_true(fired);
    return thread;
}
