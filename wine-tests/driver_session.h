/*
 * Sessions of the CLR-style driver against hosttask, shared by the driver
 * tests (test_driver.c, test_driver_clr.c): a spy IHostControl that records
 * the handshake and can hand out a task manager that answers badly, and a
 * host program's whole run (SetHostControl, Start, ExecuteInDefaultAppDomain,
 * the report, Stop) on a fresh OS thread, checked from the test's thread.
 */
#ifndef HOSTTASK_DRIVER_SESSION_H
#define HOSTTASK_DRIVER_SESSION_H

/* The tests' shared helpers (assert_hr, expect_ref, now_ms,
 * dll_can_unload_soon, run_on_thread, the value-printing relational asserts);
 * it needs tests/test_main.c linked. */
#include "test_util.h"

#include <stdio.h>

#include "htdriver.h"
#include "report.h"

enum bad
{
    BAD_NONE,
    BAD_REVERSE_ENTER_S_FALSE,      /* ReverseEnterRuntime: S_FALSE (the CLR throws) */
    BAD_SLEEP_TIMEOUT,              /* Sleep: HOST_E_TIMEOUT (the CLR asserts) */
    BAD_CREATE_TASK_FAIL,           /* CreateTask after the runtime's own two: E_FAIL (Thread.Start throws) */
    BAD_LEAVE_OOM,                  /* LeaveRuntime(GetTickCount): E_OUTOFMEMORY (the call is not made) */
    BAD_START_FAIL,                 /* IHostTask::Start after the runtime's own two fails (the CLR would hang) */
    BAD_STACK_GUARANTEE             /* GetStackGuarantee: 0; SetStackGuarantee: E_FAIL (startup fails) */
};

struct spy_control
{
    IHostControl IHostControl_iface;
    LONG refcount;
    IHostControl *inner;
    enum bad bad;
    GUID asked[32];
    HRESULT answers[32];
    LONG asked_count;
};

struct session
{
    /* In. */
    struct htd_options options;
    const WCHAR *method, *argument;
    enum bad bad;
    BOOL profiling;
    BOOL second_run;                /* run the method twice, the hook policy changed in between */
    SIZE_T exclude_target;          /* the hook policy: wrap all but this (0: all) */
    UINT slots, quantum_us;         /* cooperative mode (ht_set_scheduler) when slots is not 0 */
    DWORD timeout_ms;               /* for the whole session; 0: 60 s */
    HRESULT expect_start;           /* what ICLRRuntimeHost::Start must return (0: S_OK) */
    /* Out. */
    HRESULT hr_scheduler;
    IHostControl *volatile real;    /* the host control while the session runs (for a hang's dump) */
    ICLRRuntimeHost *runtime;
    struct htd_runtime *sim;
    struct spy_control spy;
    HRESULT hr_create, hr_null, hr_set, hr_set_again, hr_start, hr_set_after_start, hr_execute, hr_execute2,
            hr_stop, hr_stop_again;
    LONG asked_after_first_set;
    LONG manager_refs_after_set;    /* the fake ICLRTaskManager's host references */
    ULONG control_refs_after_set, control_refs_after_stop, control_final;
    DWORD ret, ret2;
    double wall_ms;
    struct report report;
    struct htd_target_record targets_after_first[HTD_MAX_TARGETS];
    LONG target_count_after_first;
};

/* The LeaveRuntime/EnterRuntime pairs the thread that starts and stops the
 * runtime makes on its own: its wait for the finalizer at Start, and its
 * waits for the finalizer and the AD-unload helper to end at Stop. */
#define MAIN_RUNTIME_WAITS 3

struct session *run_session(const WCHAR *method, const WCHAR *argument, enum htd_pinvoke_style style);
void finish_session(struct session *s, BOOL expect_clean);
void end_session(struct session *s);
const struct htd_thread_record *find_role(struct session *s, const char *role);
const HT_TASK_STATS *task_of(struct session *s, const struct htd_thread_record *rec);
const struct report_target *target_of(struct session *s, SIZE_T address);
SIZE_T export_address(const WCHAR *dll, const char *name);
BOOL has_fault(struct session *s, enum htd_fault_kind kind, HRESULT hr, const char *what);
struct session *run_cooperative(const WCHAR *method, const WCHAR *argument, enum htd_pinvoke_style style,
        UINT slots);
void check_cooperative(struct session *s, UINT slots);
LONG64 yield_task_calls(struct session *s);

#endif /* HOSTTASK_DRIVER_SESSION_H */
