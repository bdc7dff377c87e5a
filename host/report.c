/*
 * The transition report: collection, the cross-check against the CLR-style
 * driver, the tables, the summary line and the JSON (host/report.schema.json).
 */
#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS 1024
/* The host's target table (HT_TARGET_SLOTS in src/core.h) and its
 * overflow bucket, target 0. */
#define HT_TARGET_SLOTS_REPORTED 4097

HRESULT report_collect(struct report *report, IHostControl *control)
{
    HT_TARGET_STATS *targets;
    UINT count = 0, i;
    HRESULT hr;

    if (!(report->tasks = calloc(MAX_TASKS, sizeof(*report->tasks))))
        return E_OUTOFMEMORY;
    {
        HT_TASK_STATS *stats = calloc(MAX_TASKS, sizeof(*stats));

        if (!stats)
            return E_OUTOFMEMORY;
        hr = ht_get_task_stats(control, MAX_TASKS, stats, &count);
        if (FAILED(hr))
        {
            free(stats);
            return hr;
        }
        report->task_count = count < MAX_TASKS ? count : MAX_TASKS;
        for (i = 0; i < report->task_count; i++)
            report->tasks[i].stats = stats[i];
        free(stats);
    }

    /* Targets exist only while profiling; without it the table is empty. */
    count = 0;
    if (!(targets = calloc(HT_TARGET_SLOTS_REPORTED, sizeof(*targets))))
        return E_OUTOFMEMORY;
    hr = ht_get_target_stats(control, HT_TARGET_SLOTS_REPORTED, targets, &count);
    if (FAILED(hr))
        count = 0;
    if (count > HT_TARGET_SLOTS_REPORTED)
        count = HT_TARGET_SLOTS_REPORTED;
    if (!(report->targets = calloc(count ? count : 1, sizeof(*report->targets))))
    {
        free(targets);
        return E_OUTOFMEMORY;
    }
    report->target_count = count;
    for (i = 0; i < count; i++)
    {
        report->targets[i].stats = targets[i];
        report_resolve_symbol((SIZE_T)targets[i].target, report->targets[i].symbol,
                sizeof(report->targets[i].symbol));
    }
    free(targets);
    return S_OK;
}

void report_free(struct report *report)
{
    free(report->tasks);
    free(report->targets);
    report->tasks = NULL;
    report->targets = NULL;
}

/* ---- The cross-check ---- */

static void mismatch(struct report *report, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct report *report, const char *format, ...)
{
    va_list args;

    if (report->mismatch_count < ARRAYSIZE(report->mismatches))
    {
        va_start(args, format);
        vsnprintf(report->mismatches[report->mismatch_count], sizeof(report->mismatches[0]), format, args);
        va_end(args);
    }
    report->mismatch_count++;
}

static void check_value(struct report *report, const struct htd_thread_record *rec, const char *what,
        UINT64 reported, LONG64 done)
{
    if (reported != (UINT64)done)
        mismatch(report, "task of '%s' (thread %04lx): %s %llu, the driver made %lld", rec->role,
                rec->os_thread_id, what, (unsigned long long)reported, (long long)done);
}

void report_check(struct report *report, struct htd_runtime *runtime)
{
    const struct htd_thread_record *rec;
    const struct htd_target_record *target;
    struct report_task *task;
    UINT i, matches;
    LONG t;

    report->checked = TRUE;
    report->fault_count = runtime->fault_count < HTD_MAX_FAULTS ? (UINT)runtime->fault_count : HTD_MAX_FAULTS;
    memcpy(report->faults, runtime->faults, report->fault_count * sizeof(report->faults[0]));

    /* Each hosted Thread against the one task on its OS thread.  Thread ids
     * are unique while the threads are known: the driver keeps every task
     * referenced until Stop. */
    for (t = 0; t < runtime->thread_count; t++)
    {
        rec = &runtime->threads[t]->rec;
        if (!rec->hosted)
            continue;
        task = NULL;
        for (i = 0, matches = 0; i < report->task_count; i++)
            if (report->tasks[i].stats.threadId == rec->os_thread_id)
            {
                task = &report->tasks[i];
                matches++;
            }
        if (matches != 1)
        {
            mismatch(report, "thread '%s' (%04lx): %u tasks on that thread", rec->role, rec->os_thread_id, matches);
            continue;
        }
        report->check_tasks++;
        snprintf(task->role, sizeof(task->role), "%s", rec->role);
        if (!(task->stats.flags & (rec->created ? HT_TASK_CREATED : HT_TASK_ADOPTED)))
            mismatch(report, "task of '%s': flags 0x%lx, expected %s", rec->role, task->stats.flags,
                    rec->created ? "created" : "adopted");
        check_value(report, rec, "LeaveRuntime", task->stats.transitions[HT_STAT_LEAVE], rec->leave);
        check_value(report, rec, "EnterRuntime", task->stats.transitions[HT_STAT_ENTER], rec->enter);
        check_value(report, rec, "ReverseEnterRuntime", task->stats.transitions[HT_STAT_REVERSE_ENTER],
                rec->reverse_enter);
        check_value(report, rec, "ReverseLeaveRuntime", task->stats.transitions[HT_STAT_REVERSE_LEAVE],
                rec->reverse_leave);
        check_value(report, rec, "sleeps", task->stats.sleeps, rec->sleeps);
        check_value(report, rec, "alerts", task->stats.alerts, rec->alerts);
        check_value(report, rec, "interrupted waits", task->stats.interruptedWaits, rec->interrupted_waits);
        check_value(report, rec, "joins", task->stats.joins, rec->joins);
        check_value(report, rec, "open transitions", task->stats.depth, 0);
        check_value(report, rec, "max depth", task->stats.maxDepth, rec->max_depth);
        for (i = 0; i < ARRAYSIZE(task->stats.imbalances); i++)
            check_value(report, rec, "imbalances", task->stats.imbalances[i], 0);
    }

    /* Per target: the host's calls are the driver's wrapped calls. */
    if (!report->profiling)
        return;
    for (t = 0; t < runtime->target_count; t++)
    {
        target = &runtime->targets[t];
        for (i = 0; i < report->target_count; i++)
            if ((SIZE_T)report->targets[i].stats.target == target->target)
                break;
        if (i == report->target_count)
        {
            if (target->wrapped_calls)
                mismatch(report, "target %s: not reported, the driver made %lld wrapped calls", target->name,
                        (long long)target->wrapped_calls);
            continue;
        }
        report->check_targets++;
        if (report->targets[i].stats.calls != (UINT64)target->wrapped_calls)
            mismatch(report, "target %s: %llu calls, the driver made %lld", target->name,
                    (unsigned long long)report->targets[i].stats.calls, (long long)target->wrapped_calls);
    }
    for (i = 0; i < report->target_count; i++)
        if (!htd_find_target(runtime, (SIZE_T)report->targets[i].stats.target))
            mismatch(report, "target %s: %llu calls the driver never made", report->targets[i].symbol,
                    (unsigned long long)report->targets[i].stats.calls);
}

/* ---- Text ---- */

static const char *task_kind(const HT_TASK_STATS *stats)
{
    if (stats->flags & HT_TASK_CREATED)
        return "created";
    if (stats->flags & HT_TASK_ADOPTED)
        return "adopted";
    return "?";
}

static int compare_calls(const void *a, const void *b)
{
    const struct report_target *x = a, *y = b;

    if (x->stats.calls != y->stats.calls)
        return x->stats.calls < y->stats.calls ? 1 : -1;
    return strcmp(x->symbol, y->symbol);
}

static int compare_time(const void *a, const void *b)
{
    const struct report_target *x = a, *y = b;

    if (x->stats.nativeTimeNs != y->stats.nativeTimeNs)
        return x->stats.nativeTimeNs < y->stats.nativeTimeNs ? 1 : -1;
    return strcmp(x->symbol, y->symbol);
}

struct totals
{
    UINT created, adopted;
    UINT64 transitions[4], imbalances, native_ns, sleeps, alerts, interrupted, joins;
};

static void sum(const struct report *report, struct totals *t)
{
    UINT i, k;

    memset(t, 0, sizeof(*t));
    for (i = 0; i < report->task_count; i++)
    {
        const HT_TASK_STATS *s = &report->tasks[i].stats;

        if (s->flags & HT_TASK_CREATED)
            t->created++;
        else
            t->adopted++;
        for (k = 0; k < 4; k++)
            t->transitions[k] += s->transitions[k];
        for (k = 0; k < ARRAYSIZE(s->imbalances); k++)
            t->imbalances += s->imbalances[k];
        t->native_ns += s->nativeTimeNs;
        t->sleeps += s->sleeps;
        t->alerts += s->alerts;
        t->interrupted += s->interruptedWaits;
        t->joins += s->joins;
    }
}

static void print_targets(const struct report *report, FILE *out, unsigned int top, BOOL by_time)
{
    struct report_target *sorted;
    UINT i;

    if (!report->target_count)
        return;
    if (!(sorted = malloc(report->target_count * sizeof(*sorted))))
        return;
    memcpy(sorted, report->targets, report->target_count * sizeof(*sorted));
    qsort(sorted, report->target_count, sizeof(*sorted), by_time ? compare_time : compare_calls);
    fprintf(out, "\nTop P/Invoke targets by %s\n", by_time ? "native time" : "calls");
    fprintf(out, "%12s %12s %10s  %s\n", "calls", "native ms", "us/call", "target");
    for (i = 0; i < report->target_count && i < top; i++)
        fprintf(out, "%12llu %12.3f %10.3f  %s\n", (unsigned long long)sorted[i].stats.calls,
                sorted[i].stats.nativeTimeNs / 1e6,
                sorted[i].stats.calls ? sorted[i].stats.nativeTimeNs / 1e3 / sorted[i].stats.calls : 0.0,
                sorted[i].symbol);
    free(sorted);
}

void report_print(const struct report *report, FILE *out, unsigned int top)
{
    UINT i;

    if (report->simulated)
        fprintf(out, "Runtime: simulated (the CLR-style driver, %s P/Invoke stubs)\n", report->pinvoke_style);
    else
        fprintf(out, "Runtime: .NET Framework %s\n", report->clr_version);
    fprintf(out, "Host control: %s%s\n", report->server, report->profiling ? "" : " (profiling off)");
    fprintf(out, "Method: [%ls] %ls.%ls(%ls%ls%ls) returned %lu (0x%08lx) in %.1f ms\n", report->assembly,
            report->type, report->method, report->has_argument ? L"\"" : L"", report->has_argument ? report->argument : L"",
            report->has_argument ? L"\"" : L"", report->return_value, (unsigned long)report->execute_hr,
            report->wall_ms);

    fprintf(out, "\nTasks\n");
    fprintf(out, "%5s %6s %-8s %10s %10s %8s %8s %7s %10s %6s %6s %5s %5s %4s %6s %-12s\n", "task", "thread",
            "kind", "leave", "enter", "r-enter", "r-leave", "depth", "native ms", "sleeps", "alerts", "intr",
            "joins", "aff", "dabort", "role");
    for (i = 0; i < report->task_count; i++)
    {
        const HT_TASK_STATS *s = &report->tasks[i].stats;
        char depth[24];

        snprintf(depth, sizeof(depth), "%llu/%llu", (unsigned long long)s->depth, (unsigned long long)s->maxDepth);
        fprintf(out, "%5llu %6lu %-8s %10llu %10llu %8llu %8llu %7s %10.3f %6llu %6llu %5llu %5llu %4lu %6s %-12s%s\n",
                (unsigned long long)s->taskId, s->threadId, task_kind(s),
                (unsigned long long)s->transitions[HT_STAT_LEAVE], (unsigned long long)s->transitions[HT_STAT_ENTER],
                (unsigned long long)s->transitions[HT_STAT_REVERSE_ENTER],
                (unsigned long long)s->transitions[HT_STAT_REVERSE_LEAVE], depth, s->nativeTimeNs / 1e6,
                (unsigned long long)s->sleeps, (unsigned long long)s->alerts,
                (unsigned long long)s->interruptedWaits, (unsigned long long)s->joins, s->affinityDepth,
                (s->flags & HT_TASK_DELAY_ABORT) ? "yes" : "no", report->tasks[i].role,
                (s->flags & HT_TASK_ENDED) ? " (ended)" : "");
    }
    print_targets(report, out, top, FALSE);
    print_targets(report, out, top, TRUE);

    if (report->checked)
    {
        fprintf(out, "\n");
        for (i = 0; i < report->fault_count; i++)
            fprintf(out, "CLR %s: %s: 0x%08lx%s%s\n",
                    report->faults[i].kind == HTD_FAULT_THROW ? "exception"
                    : report->faults[i].kind == HTD_FAULT_ASSERT ? "assert" : "unhandled exception",
                    report->faults[i].what, (unsigned long)report->faults[i].hr,
                    htd_hresult_name(report->faults[i].hr) ? " " : "",
                    htd_hresult_name(report->faults[i].hr) ? htd_hresult_name(report->faults[i].hr) : "");
        for (i = 0; i < report->mismatch_count && i < ARRAYSIZE(report->mismatches); i++)
            fprintf(out, "Mismatch: %s\n", report->mismatches[i]);
        if (!report->mismatch_count)
            fprintf(out, "Check: the report matches what the driver did (%u tasks, %u targets, exact counts)\n",
                    report->check_tasks, report->check_targets);
    }
}

void report_print_summary(const struct report *report, FILE *out, int exit_code)
{
    struct totals t;

    sum(report, &t);
    fprintf(out, "hosttask-host: %u tasks (%u created, %u adopted), %llu transitions "
            "(%llu leave, %llu enter, %llu reverse-enter, %llu reverse-leave), %u P/Invoke targets, "
            "%.3f ms native, %llu sleeps, %llu alerts, %llu interrupted waits, %llu joins, %llu imbalances, "
            "check %s, exit %d\n",
            report->task_count, t.created, t.adopted,
            (unsigned long long)(t.transitions[0] + t.transitions[1] + t.transitions[2] + t.transitions[3]),
            (unsigned long long)t.transitions[0], (unsigned long long)t.transitions[1],
            (unsigned long long)t.transitions[2], (unsigned long long)t.transitions[3], report->target_count,
            t.native_ns / 1e6, (unsigned long long)t.sleeps, (unsigned long long)t.alerts,
            (unsigned long long)t.interrupted, (unsigned long long)t.joins, (unsigned long long)t.imbalances,
            !report->checked ? "n/a" : report->mismatch_count ? "FAILED" : "ok", exit_code);
}

/* ---- JSON ---- */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
    {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_wstring(FILE *f, const WCHAR *s)
{
    char utf8[1024];

    if (!WideCharToMultiByte(CP_UTF8, 0, s, -1, utf8, sizeof(utf8), NULL, NULL))
        utf8[0] = 0;
    json_string(f, utf8);
}

static void json_hresult(FILE *f, HRESULT hr)
{
    fprintf(f, "\"0x%08lx\"", (unsigned long)hr);
}

BOOL report_write_json(const struct report *report, const WCHAR *path, int exit_code)
{
    struct totals t;
    FILE *f;
    UINT i;

    if (!(f = _wfopen(path, L"w")))
        return FALSE;
    sum(report, &t);
    fprintf(f, "{\n  \"format\": \"hosttask-report/1\",\n");
    fprintf(f, "  \"runtime\": {\"kind\": \"%s\", \"version\": ", report->simulated ? "simulated" : "clr");
    if (report->simulated || !report->clr_version)
        fprintf(f, "null");
    else
        json_string(f, report->clr_version);
    fprintf(f, ", \"pinvokeStyle\": ");
    if (report->simulated)
        json_string(f, report->pinvoke_style);
    else
        fprintf(f, "null");
    fprintf(f, "},\n  \"hostControl\": ");
    json_string(f, report->server);
    fprintf(f, ",\n  \"profiling\": %s,\n", report->profiling ? "true" : "false");
    fprintf(f, "  \"method\": {\"assembly\": ");
    json_wstring(f, report->assembly);
    fprintf(f, ", \"type\": ");
    json_wstring(f, report->type);
    fprintf(f, ", \"name\": ");
    json_wstring(f, report->method);
    fprintf(f, ", \"argument\": ");
    if (report->has_argument)
        json_wstring(f, report->argument);
    else
        fprintf(f, "null");
    fprintf(f, ", \"hresult\": ");
    json_hresult(f, report->execute_hr);
    fprintf(f, ", \"returnValue\": %lu, \"wallMs\": %.3f},\n", report->return_value, report->wall_ms);

    fprintf(f, "  \"tasks\": [");
    for (i = 0; i < report->task_count; i++)
    {
        const HT_TASK_STATS *s = &report->tasks[i].stats;

        fprintf(f, "%s\n    {\"taskId\": %llu, \"threadId\": %lu, \"kind\": \"%s\", \"ended\": %s, \"role\": ",
                i ? "," : "", (unsigned long long)s->taskId, s->threadId, task_kind(s),
                (s->flags & HT_TASK_ENDED) ? "true" : "false");
        if (report->tasks[i].role[0])
            json_string(f, report->tasks[i].role);
        else
            fprintf(f, "null");
        fprintf(f, ", \"transitions\": {\"leave\": %llu, \"enter\": %llu, \"reverseEnter\": %llu, "
                "\"reverseLeave\": %llu}, ", (unsigned long long)s->transitions[HT_STAT_LEAVE],
                (unsigned long long)s->transitions[HT_STAT_ENTER],
                (unsigned long long)s->transitions[HT_STAT_REVERSE_ENTER],
                (unsigned long long)s->transitions[HT_STAT_REVERSE_LEAVE]);
        fprintf(f, "\"imbalances\": {\"unmatchedEnter\": %llu, \"unmatchedReverseLeave\": %llu, "
                "\"unclosedLeave\": %llu, \"unclosedReverseEnter\": %llu, \"nestingLimit\": %llu}, ",
                (unsigned long long)s->imbalances[HT_STAT_UNMATCHED_ENTER],
                (unsigned long long)s->imbalances[HT_STAT_UNMATCHED_REVERSE_LEAVE],
                (unsigned long long)s->imbalances[HT_STAT_UNCLOSED_LEAVE],
                (unsigned long long)s->imbalances[HT_STAT_UNCLOSED_REVERSE_ENTER],
                (unsigned long long)s->imbalances[HT_STAT_NESTING_LIMIT]);
        fprintf(f, "\"depth\": %llu, \"maxDepth\": %llu, \"nativeTimeNs\": %llu, \"sleeps\": %llu, "
                "\"alerts\": %llu, \"interruptedWaits\": %llu, \"joins\": %llu, \"affinityDepth\": %lu, "
                "\"delayAbort\": %s, \"priority\": %d}",
                (unsigned long long)s->depth, (unsigned long long)s->maxDepth,
                (unsigned long long)s->nativeTimeNs, (unsigned long long)s->sleeps,
                (unsigned long long)s->alerts, (unsigned long long)s->interruptedWaits,
                (unsigned long long)s->joins, s->affinityDepth,
                (s->flags & HT_TASK_DELAY_ABORT) ? "true" : "false", s->priority);
    }
    fprintf(f, "\n  ],\n  \"targets\": [");
    for (i = 0; i < report->target_count; i++)
    {
        const struct report_target *target = &report->targets[i];

        fprintf(f, "%s\n    {\"address\": \"0x%llx\", \"symbol\": ", i ? "," : "",
                (unsigned long long)target->stats.target);
        json_string(f, target->symbol);
        fprintf(f, ", \"calls\": %llu, \"nativeTimeNs\": %llu}", (unsigned long long)target->stats.calls,
                (unsigned long long)target->stats.nativeTimeNs);
    }
    fprintf(f, "\n  ],\n  \"check\": {\"performed\": %s, \"ok\": %s, \"tasks\": %u, \"targets\": %u, "
            "\"mismatches\": [", report->checked ? "true" : "false",
            report->checked && !report->mismatch_count ? "true" : "false", report->check_tasks,
            report->check_targets);
    for (i = 0; i < report->mismatch_count && i < ARRAYSIZE(report->mismatches); i++)
    {
        fprintf(f, "%s", i ? ", " : "");
        json_string(f, report->mismatches[i]);
    }
    fprintf(f, "]},\n  \"faults\": [");
    for (i = 0; i < report->fault_count; i++)
    {
        fprintf(f, "%s\n    {\"kind\": \"%s\", \"hresult\": ", i ? "," : "",
                report->faults[i].kind == HTD_FAULT_THROW ? "throw"
                : report->faults[i].kind == HTD_FAULT_ASSERT ? "assert" : "unhandled");
        json_hresult(f, report->faults[i].hr);
        fprintf(f, ", \"what\": ");
        json_string(f, report->faults[i].what);
        fprintf(f, "}");
    }
    fprintf(f, "%s],\n", report->fault_count ? "\n  " : "");
    fprintf(f, "  \"summary\": {\"tasks\": %u, \"created\": %u, \"adopted\": %u, \"transitions\": %llu, "
            "\"targets\": %u, \"nativeTimeNs\": %llu, \"sleeps\": %llu, \"alerts\": %llu, "
            "\"interruptedWaits\": %llu, \"joins\": %llu, \"imbalances\": %llu, \"exitCode\": %d}\n}\n",
            report->task_count, t.created, t.adopted,
            (unsigned long long)(t.transitions[0] + t.transitions[1] + t.transitions[2] + t.transitions[3]),
            report->target_count, (unsigned long long)t.native_ns, (unsigned long long)t.sleeps,
            (unsigned long long)t.alerts, (unsigned long long)t.interrupted, (unsigned long long)t.joins,
            (unsigned long long)t.imbalances, exit_code);
    return fclose(f) == 0;
}
