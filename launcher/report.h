/*
 * hosttask-host's transition report: the host's statistics (per task, per
 * P/Invoke target), targets resolved to module!export, printed as tables
 * and written as JSON (launcher/report.schema.json), and, for a simulated
 * runtime, held against what the CLR-style driver says it did.
 */
#ifndef HOSTTASK_HOST_REPORT_H
#define HOSTTASK_HOST_REPORT_H

#include <stdio.h>
#include <hosttask/hosttask.h>
#include "htdriver.h"

struct report_task
{
    HT_TASK_STATS stats;
    char role[24];              /* from the driver's record; empty for a real runtime */
    /* The CLR's side of cooperative scheduling, known for a simulated
     * runtime only: ICLRTask::YieldTask calls the host made on this task's
     * CLR task, and the yields its managed code then made at safe points. */
    BOOL has_clr;
    LONG64 yield_task_calls, safe_point_yields;
};

struct report_target
{
    HT_TARGET_STATS stats;
    char symbol[160];
};

struct report
{
    /* What ran. */
    BOOL simulated;
    const char *pinvoke_style;  /* simulated only */
    const char *clr_version;
    const char *server;         /* "registered" or the --dll path */
    WCHAR assembly[MAX_PATH], type[128], method[64], argument[128];
    BOOL has_argument;
    HRESULT execute_hr;
    DWORD return_value;
    double wall_ms;
    BOOL profiling;

    UINT task_count;
    struct report_task *tasks;
    UINT target_count;
    struct report_target *targets;
    /* The scheduler's counters (slots 0: thread-per-task mode), read after
     * the tasks, and once more before them (scheduler_before): what ran
     * meanwhile lies between the two. */
    HT_SCHEDULER_STATS scheduler, scheduler_before;

    /* The simulated runtime's cross-check and faults. */
    BOOL checked;
    UINT check_tasks, check_targets;
    UINT mismatch_count;
    char mismatches[16][160];
    UINT fault_count;
    struct htd_fault faults[HTD_MAX_FAULTS];
    /* The fake CLR tasks' YieldTask calls and safe-point yields, read just
     * before the host's statistics (report_note_driver): the host counts a
     * forced yield before it calls YieldTask, so these never exceed it. */
    BOOL driver_noted;
    LONG64 yield_task_calls[HTD_MAX_THREADS], safe_point_yields[HTD_MAX_THREADS];
};

/* Resolves an address to "module!export", "module!#ordinal",
 * "module+0xoffset" or "0xaddress", walking the export directory of the
 * module that contains it. */
void report_resolve_symbol(SIZE_T address, char *out, size_t size);

/* An upper bound of the fraction-quantile (0.99: p99) of the scheduler's
 * slot waits, from its power-of-two histogram: the top of the bucket the
 * quantile falls in, capped at the longest wait.  0 when nothing waited. */
UINT64 report_wait_quantile_ns(const HT_SCHEDULER_STATS *scheduler, double fraction);

/* Reads what of the driver's record races the host's counters (YieldTask
 * calls), to be called right before report_collect. */
void report_note_driver(struct report *report, struct htd_runtime *runtime);
/* Fills the task and target tables from the host control's statistics. */
HRESULT report_collect(struct report *report, IHostControl *control);
/* Holds the tables against the driver's records: exact counts, except that
 * the runtime's own threads (finalizer, AD-unload helper), which run while
 * the report is taken, may have one transition counted on one side only. */
void report_check(struct report *report, struct htd_runtime *runtime);
void report_print(const struct report *report, FILE *out, unsigned int top);
/* The one-line summary, also the last line of report_print. */
void report_print_summary(const struct report *report, FILE *out, int exit_code);
BOOL report_write_json(const struct report *report, const WCHAR *path, int exit_code);
void report_free(struct report *report);

#endif /* HOSTTASK_HOST_REPORT_H */
