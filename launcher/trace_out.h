/*
 * hosttask-host's timeline: the server's event trace (IHostTaskTrace),
 * turned into spans per task, held against what the CLR-style driver did,
 * and written as a Chrome Trace Event Format file (--trace, this file's
 * trace_out.c) or a self-contained HTML page (--html, html.c).
 */
#ifndef HOSTTASK_HOST_TRACE_OUT_H
#define HOSTTASK_HOST_TRACE_OUT_H

#include "report.h"

/* Events each task's buffer keeps when the launcher traces. */
#define TRACE_DEFAULT_BUFFER 65535u

enum trace_span_kind
{
    SPAN_PINVOKE,       /* LeaveRuntime .. EnterRuntime: native code */
    SPAN_CALLBACK,      /* ReverseEnterRuntime .. ReverseLeaveRuntime: managed code again */
    SPAN_HOST_WAIT,     /* a Sleep or Join, inside hosttask */
    SPAN_SLOT_WAIT,     /* cooperative mode: queued for a slot */
    SPAN_KINDS
};

struct trace_span
{
    UINT64 start_ns, end_ns;
    UINT64 arg;             /* P/Invoke: the target; host wait: the timeout in ms */
    HRESULT hr;             /* host wait: its result */
    enum trace_span_kind kind;
    UINT detail;            /* host wait: HT_TRACE_WAIT_*; slot wait: 1 if granted */
    UINT depth;             /* spans open around it on its task */
    BOOL unfinished;        /* still open when the trace was taken (or its end was lost) */
};

/* One instant: a yield request, a preemption or an alert, on the track of
 * the task it concerned. */
struct trace_instant
{
    UINT64 time_ns;
    UINT kind;              /* HT_TRACE_YIELD_REQUEST, _PREEMPTION, _ALERT */
    UINT64 by;              /* the task that made it */
};

struct trace_track
{
    const HT_TRACE_TASK *task;
    const struct report_task *report;   /* NULL when the report has no such task */
    char name[64];                      /* "role (thread 0x1a4)" or "task 3 (thread 0x1a4)" */
    UINT64 start_ns, end_ns;            /* its thread's start and end; 0 when not in the trace */
    struct trace_span *spans;           /* in order of start */
    UINT span_count;
    struct trace_instant *instants;
    UINT instant_count, instant_capacity;
    UINT unmatched;                     /* closing events with nothing open (an earlier one dropped) */
    UINT counts[HT_TRACE_TASK_END + 1]; /* events by kind */
};

struct trace_symbol
{
    SIZE_T target;
    char name[160];
};

struct trace
{
    HT_TRACE_INFO info;
    UINT task_count, event_count;
    HT_TRACE_TASK *tasks;
    HT_TRACE_EVENT *events;
    struct trace_track *tracks;         /* [task_count] */
    UINT64 first_ns, last_ns;           /* the events' time range */
    struct trace_symbol *symbols;       /* a cache of module!export names */
    UINT symbol_count, symbol_capacity;
    BOOL checked;
    UINT check_tasks;
    UINT mismatch_count;
    char mismatches[16][160];
};

/* Takes the trace (every task's events) and builds the tracks. */
HRESULT trace_collect(struct trace *trace, IHostControl *control, const struct report *report);
/* Holds the trace against the driver's records and the report's counters:
 * per task, events of each kind as many as the calls the driver made, per
 * target as many P/Invokes, every span closed. */
void trace_check(struct trace *trace, const struct report *report, struct htd_runtime *runtime);
/* A target as module!export (cached). */
const char *trace_symbol(struct trace *trace, UINT64 target);
/* Milliseconds from the trace's first event. */
double trace_ms(const struct trace *trace, UINT64 time_ns);
BOOL trace_write_json(struct trace *trace, const struct report *report, const WCHAR *path);
BOOL trace_write_html(struct trace *trace, const struct report *report, const WCHAR *path);
void trace_free(struct trace *trace);
/* The launcher's --trace and --html: takes the trace, checks it against
 * the driver (runtime, if simulated), prints a line (and any mismatch) to
 * out, writes the files asked for.  0: done; 1: a file could not be
 * written; 2: the trace does not match what the driver did. */
int trace_output(const struct report *report, IHostControl *control, struct htd_runtime *runtime,
        const WCHAR *json, const WCHAR *html, FILE *out);

#endif /* HOSTTASK_HOST_TRACE_OUT_H */
