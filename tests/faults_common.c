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
