/*
 * The fault-injection test's shared parts (tests/test_faults.c, the sweeps
 * of every failure point, and main; tests/test_faults_lifetimes.c, the
 * lifetime cases): the fixture, which also opens the DLL's test-only fault
 * interface (com/fault.h; HOSTTASK_TEST_FAULTS=1, tests/CMakeLists.txt),
 * and what both use (tests/faults_common.c).
 */
#ifndef HOSTTASK_FAULTS_H
#define HOSTTASK_FAULTS_H

#include "test_util.h"
#include "../com/fault.h"

/* The fixture's task manager and the fault interface, set by faults_setup. */
extern IHostTaskManager *manager;
extern IHostTaskFaults *faults;

IHostTaskStatistics *statistics(void);
int faults_setup(void **state);
int faults_teardown(void **state);

#define TEST(f) cmocka_unit_test_setup_teardown(f, faults_setup, faults_teardown)

/* A task routine that waits up to 10 s for its argument, an event (or for
 * nothing, given NULL). */
DWORD WINAPI sleeper_routine(void *arg);

/* Starts fn(arg) on a new thread, which arms a fault and makes the call
 * it pauses, and waits (at most about 1 s) until the fault has fired.
 * Returns the thread's handle. */
HANDLE start_until_fired(LPTHREAD_START_ROUTINE fn, void *arg);

/* The lifetime cases (tests/test_faults_lifetimes.c), run by test_faults.c's main. */
void test_routine_calls_exit_thread(void **state);
void test_routine_calls_free_library_and_exit_thread(void **state);
void test_routine_terminated(void **state);
void test_no_adoption_after_thread_detach(void **state);
void test_failed_tls_binding(void **state);
void test_clr_task_not_released_under_loader_lock(void **state);
void test_waits_that_end_early_wait_the_rest(void **state);
void test_creation_during_teardown(void **state);
void test_racing_set_scheduler(void **state);
void test_task_sees_itself_started(void **state);

#endif /* HOSTTASK_FAULTS_H */
