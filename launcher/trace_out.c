/*
 * The timeline: the server's event trace as spans per task, its check
 * against the CLR-style driver, and the Chrome Trace Event Format file
 * ("Trace Event Format", Google's document that Perfetto, chrome://tracing
 * and speedscope read: the JSON Object Format, complete events "X",
 * instant events "i", metadata events "M").  launcher/trace.schema.json
 * describes what this file writes.
 */
#include "trace_out.h"
#include "json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACE_TASKS 4096

double trace_ms(const struct trace *trace, UINT64 time_ns)
{
    return time_ns > trace->first_ns ? (time_ns - trace->first_ns) / 1e6 : 0.0;
}

const char *trace_symbol(struct trace *trace, UINT64 target)
{
    struct trace_symbol *grown;
    UINT i;

    for (i = 0; i < trace->symbol_count; i++)
        if (trace->symbols[i].target == (SIZE_T)target)
            return trace->symbols[i].name;
    if (trace->symbol_count == trace->symbol_capacity)
    {
        UINT capacity = trace->symbol_capacity ? trace->symbol_capacity * 2 : 32;

        if (!(grown = realloc(trace->symbols, capacity * sizeof(*grown))))
            return "?";
        trace->symbols = grown;
        trace->symbol_capacity = capacity;
    }
    trace->symbols[trace->symbol_count].target = (SIZE_T)target;
    report_resolve_symbol((SIZE_T)target, trace->symbols[trace->symbol_count].name,
            sizeof(trace->symbols[0].name));
    return trace->symbols[trace->symbol_count++].name;
}

static struct trace_track *find_track(struct trace *trace, UINT64 task_id)
{
    UINT i;

    for (i = 0; i < trace->task_count; i++)
        if (trace->tracks[i].task->taskId == task_id)
            return &trace->tracks[i];
    return NULL;
}

static void add_instant(struct trace_track *track, UINT64 time_ns, UINT kind, UINT64 by)
{
    struct trace_instant *grown;

    if (track->instant_count == track->instant_capacity)
    {
        UINT capacity = track->instant_capacity ? track->instant_capacity * 2 : 8;

        if (!(grown = realloc(track->instants, capacity * sizeof(*grown))))
            return;
        track->instants = grown;
        track->instant_capacity = capacity;
    }
    track->instants[track->instant_count].time_ns = time_ns;
    track->instants[track->instant_count].kind = kind;
    track->instants[track->instant_count++].by = by;
}

/* The spans of one task, from its events: a stack of the open ones.  A
 * closing event closes the innermost open span of its kind and any opened
 * inside it that never closed (the server's lenient mode does the same);
 * with none open, it is counted as unmatched (its opening was dropped). */
static BOOL build_track(struct trace *trace, struct trace_track *track)
{
    const HT_TRACE_EVENT *events = &trace->events[track->task->firstEvent];
    UINT n = track->task->eventCount, i, depth = 0, *open, at, k;
    enum trace_span_kind kind;
    struct trace_span *span;

    if (!(track->spans = calloc(n ? n : 1, sizeof(*track->spans))) || !(open = calloc(n ? n : 1, sizeof(*open))))
        return FALSE;
    for (i = 0; i < n; i++)
    {
        const HT_TRACE_EVENT *e = &events[i];

        if (e->kind <= HT_TRACE_TASK_END)
            track->counts[e->kind]++;
        switch (e->kind)
        {
        case HT_TRACE_LEAVE:
        case HT_TRACE_REVERSE_ENTER:
        case HT_TRACE_WAIT_BEGIN:
        case HT_TRACE_SLOT_WAIT_BEGIN:
            span = &track->spans[track->span_count];
            span->kind = e->kind == HT_TRACE_LEAVE ? SPAN_PINVOKE : e->kind == HT_TRACE_REVERSE_ENTER ? SPAN_CALLBACK
                    : e->kind == HT_TRACE_WAIT_BEGIN ? SPAN_HOST_WAIT : SPAN_SLOT_WAIT;
            span->start_ns = e->timeNs;
            span->arg = e->arg;
            span->detail = e->kind == HT_TRACE_WAIT_BEGIN ? e->detail : 0;
            span->depth = depth;
            span->unfinished = TRUE;
            open[depth++] = track->span_count++;
            break;
        case HT_TRACE_ENTER:
        case HT_TRACE_REVERSE_LEAVE:
        case HT_TRACE_WAIT_END:
        case HT_TRACE_SLOT_GRANTED:
            kind = e->kind == HT_TRACE_ENTER ? SPAN_PINVOKE : e->kind == HT_TRACE_REVERSE_LEAVE ? SPAN_CALLBACK
                    : e->kind == HT_TRACE_WAIT_END ? SPAN_HOST_WAIT : SPAN_SLOT_WAIT;
            for (at = depth; at && track->spans[open[at - 1]].kind != kind; at--)
                ;
            if (!at)
            {
                track->unmatched++;
                break;
            }
            for (k = at - 1; k < depth; k++)
                track->spans[open[k]].end_ns = e->timeNs;
            span = &track->spans[open[at - 1]];
            span->unfinished = FALSE;
            if (kind == SPAN_HOST_WAIT)
                span->hr = (HRESULT)(ULONG)e->arg;
            else if (kind == SPAN_SLOT_WAIT)
                span->detail = e->detail;
            depth = at - 1;
            break;
        case HT_TRACE_TASK_START:
            track->start_ns = e->timeNs;
            break;
        case HT_TRACE_TASK_END:
            track->end_ns = e->timeNs;
            break;
        case HT_TRACE_YIELD_REQUEST:
        case HT_TRACE_PREEMPTION:
        case HT_TRACE_ALERT:
        {
            struct trace_track *other = find_track(trace, e->arg);

            /* On the track of the task it concerned; kept on the maker's
             * when that one is not in the trace. */
            add_instant(other ? other : track, e->timeNs, e->kind, track->task->taskId);
            break;
        }
        }
    }
    /* Still open when the trace was taken. */
    while (depth)
        track->spans[open[--depth]].end_ns = trace->last_ns;
    free(open);
    return TRUE;
}

static void name_track(struct trace_track *track, const struct report *report)
{
    UINT i;

    track->report = NULL;
    for (i = 0; report && i < report->task_count; i++)
        if (report->tasks[i].stats.taskId == track->task->taskId)
            track->report = &report->tasks[i];
    if (track->report && track->report->role[0])
        snprintf(track->name, sizeof(track->name), "%s (thread 0x%lx)", track->report->role, track->task->threadId);
    else
        snprintf(track->name, sizeof(track->name), "task %llu (thread 0x%lx)",
                (unsigned long long)track->task->taskId, track->task->threadId);
}

HRESULT trace_collect(struct trace *trace, IHostControl *control, const struct report *report)
{
    UINT task_capacity = 64, event_capacity = 1 << 16, i, tries;
    HRESULT hr = E_FAIL;

    memset(trace, 0, sizeof(*trace));
    /* The tasks keep running: room for what the last call said, and more. */
    for (tries = 0; tries < 8; tries++)
    {
        free(trace->tasks);
        free(trace->events);
        trace->tasks = malloc(task_capacity * sizeof(*trace->tasks));
        trace->events = malloc(event_capacity * sizeof(*trace->events));
        if (!trace->tasks || !trace->events)
            return E_OUTOFMEMORY;
        hr = ht_get_trace(control, task_capacity, trace->tasks, event_capacity, trace->events, &trace->info);
        if (hr != S_FALSE)
            break;
        task_capacity = trace->info.tasks + trace->info.tasks / 4 + 16;
        if (task_capacity > MAX_TRACE_TASKS)
            task_capacity = MAX_TRACE_TASKS;
        event_capacity = (UINT)(trace->info.events + trace->info.events / 4 + 4096);
    }
    if (FAILED(hr))
        return hr;
    trace->task_count = trace->info.tasks < task_capacity ? trace->info.tasks : task_capacity;
    for (i = 0; i < trace->task_count; i++)
        trace->event_count += trace->tasks[i].eventCount;

    trace->first_ns = ~(UINT64)0;
    for (i = 0; i < trace->event_count; i++)
    {
        if (trace->events[i].timeNs < trace->first_ns)
            trace->first_ns = trace->events[i].timeNs;
        if (trace->events[i].timeNs > trace->last_ns)
            trace->last_ns = trace->events[i].timeNs;
    }
    if (!trace->event_count)
        trace->first_ns = trace->last_ns = trace->info.nowNs;

    if (!(trace->tracks = calloc(trace->task_count ? trace->task_count : 1, sizeof(*trace->tracks))))
        return E_OUTOFMEMORY;
    for (i = 0; i < trace->task_count; i++)
    {
        trace->tracks[i].task = &trace->tasks[i];
        name_track(&trace->tracks[i], report);
    }
    for (i = 0; i < trace->task_count; i++)
        if (!build_track(trace, &trace->tracks[i]))
            return E_OUTOFMEMORY;
    return hr;
}

void trace_free(struct trace *trace)
{
    UINT i;

    for (i = 0; trace->tracks && i < trace->task_count; i++)
    {
        free(trace->tracks[i].spans);
        free(trace->tracks[i].instants);
    }
    free(trace->tracks);
    free(trace->tasks);
    free(trace->events);
    free(trace->symbols);
    memset(trace, 0, sizeof(*trace));
}

/* ---- The check ---- */

static void mismatch(struct trace *trace, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct trace *trace, const char *format, ...)
{
    va_list args;

    if (trace->mismatch_count < ARRAYSIZE(trace->mismatches))
    {
        va_start(args, format);
        vsnprintf(trace->mismatches[trace->mismatch_count], sizeof(trace->mismatches[0]), format, args);
        va_end(args);
    }
    trace->mismatch_count++;
}

static UINT count_instants(const struct trace_track *track, UINT kind)
{
    UINT i, n = 0;

    for (i = 0; i < track->instant_count; i++)
        n += track->instants[i].kind == kind;
    return n;
}

/* The runtime's own threads (finalizer, AD-unload helper) run while the
 * trace is taken: the finalizer's idle wait may end between the host's copy
 * of a ring and the driver's reading, so one transition of theirs may be seen
 * on one side only.  Their counts are held to within slack, as the report's
 * check holds them (launcher/report.c, check_near); every other thread's
 * exactly. */
static void expect_near(struct trace *trace, const struct trace_track *track, const char *what, UINT64 traced,
        LONG64 done, LONG64 slack)
{
    if ((LONG64)traced < done - slack || (LONG64)traced > done + slack)
        mismatch(trace, "%s: %llu %s in the trace, the driver made %lld%s", track->name, (unsigned long long)traced,
                what, (long long)done, slack ? " (within one)" : "");
}

static void expect(struct trace *trace, const struct trace_track *track, const char *what, UINT64 traced, LONG64 done)
{
    expect_near(trace, track, what, traced, done, 0);
}

void trace_check(struct trace *trace, const struct report *report, struct htd_runtime *runtime)
{
    const struct htd_thread_record *rec;
    const struct trace_track *track;
    UINT64 slot_waits = 0, preemptions = 0, calls;
    UINT i, k, joins, sleeps, matches, yields, live_tasks = 0;
    LONG64 slack, runtime_threads = 0;
    LONG t;

    trace->checked = TRUE;
    for (i = 0; i < trace->task_count; i++)
    {
        track = &trace->tracks[i];
        if (track->task->dropped)
            mismatch(trace, "%s: %llu events dropped (buffer of %u): the trace cannot be checked", track->name,
                    (unsigned long long)track->task->dropped, trace->info.bufferEvents);
        if (track->unmatched)
            mismatch(trace, "%s: %u spans end that never began", track->name, track->unmatched);
        for (k = 0; k < track->span_count; k++)
            if (track->spans[k].unfinished && (track->task->flags & HT_TASK_ENDED))
            {
                mismatch(trace, "%s: a span still open when the task ended", track->name);
                break;
            }
        slot_waits += track->counts[HT_TRACE_SLOT_WAIT_BEGIN];
        if (track->counts[HT_TRACE_SLOT_WAIT_BEGIN] != track->counts[HT_TRACE_SLOT_GRANTED])
            mismatch(trace, "%s: %u slot waits, %u ended", track->name, track->counts[HT_TRACE_SLOT_WAIT_BEGIN],
                    track->counts[HT_TRACE_SLOT_GRANTED]);
        preemptions += count_instants(track, HT_TRACE_PREEMPTION);
        /* Every runaway the scheduler counted was asked to yield, once.  The
         * task records the request itself when it next gives its slot back
         * or finds it gone (src/scheduler.c, take_untraced): an ended task
         * has recorded all of them, a live one (the finalizer in its raw
         * idle wait, docs/scheduler.md) may not have yet. */
        if (track->report)
        {
            yields = count_instants(track, HT_TRACE_YIELD_REQUEST);
            if ((track->task->flags & HT_TASK_ENDED) ? yields != track->report->stats.forcedYields
                    : yields > track->report->stats.forcedYields)
                mismatch(trace, "%s: %u yield requests, %llu forced yields counted", track->name, yields,
                        (unsigned long long)track->report->stats.forcedYields);
        }
        if (!(track->task->flags & HT_TASK_ENDED))
            live_tasks++;
    }
    if (report->scheduler.slots && slot_waits != report->scheduler.waits)
        mismatch(trace, "%llu slot waits in the trace, the scheduler counted %llu", (unsigned long long)slot_waits,
                (unsigned long long)report->scheduler.waits);
    /* The same for preemptions: exact once every task has ended. */
    if (live_tasks ? preemptions > report->scheduler.preemptions : preemptions != report->scheduler.preemptions)
        mismatch(trace, "%llu preemptions in the trace, the scheduler counted %llu", (unsigned long long)preemptions,
                (unsigned long long)report->scheduler.preemptions);
    if (!runtime)
        return;

    /* Each hosted Thread against the one track on its OS thread. */
    for (t = 0; t < runtime->thread_count; t++)
    {
        rec = &runtime->threads[t]->rec;
        if (!rec->hosted)
            continue;
        track = NULL;
        for (i = 0, matches = 0; i < trace->task_count; i++)
            if (trace->tracks[i].task->threadId == rec->os_thread_id)
            {
                track = &trace->tracks[i];
                matches++;
            }
        if (matches != 1)
        {
            mismatch(trace, "thread '%s' (%04lx): %u tracks on that thread", rec->role, rec->os_thread_id, matches);
            continue;
        }
        trace->check_tasks++;
        slack = rec->runtime_thread ? 1 : 0;
        runtime_threads += rec->runtime_thread ? 1 : 0;
        expect_near(trace, track, "LeaveRuntime", track->counts[HT_TRACE_LEAVE], rec->leave, slack);
        expect_near(trace, track, "EnterRuntime", track->counts[HT_TRACE_ENTER], rec->enter, slack);
        expect(trace, track, "ReverseEnterRuntime", track->counts[HT_TRACE_REVERSE_ENTER], rec->reverse_enter);
        expect(trace, track, "ReverseLeaveRuntime", track->counts[HT_TRACE_REVERSE_LEAVE], rec->reverse_leave);
        expect(trace, track, "alerts", count_instants(track, HT_TRACE_ALERT), rec->alerts);
        for (k = 0, joins = 0, sleeps = 0; k < track->span_count; k++)
            if (track->spans[k].kind == SPAN_HOST_WAIT)
            {
                if (track->spans[k].detail & HT_TRACE_WAIT_JOIN)
                    joins++;
                else
                    sleeps++;
            }
        expect(trace, track, "joins", joins, rec->joins);
        /* Sleep(0) is a yield, not a wait: the driver counts it among both
         * its sleeps and its switches. */
        if ((LONG64)sleeps > rec->sleeps || (LONG64)sleeps + rec->switches < rec->sleeps)
            mismatch(trace, "%s: %u sleeps in the trace, the driver made %lld (%lld yields among its calls)",
                    track->name, sleeps, (long long)rec->sleeps, (long long)rec->switches);
        if (track->counts[HT_TRACE_TASK_CREATE] != 1
                || trace->events[track->task->firstEvent].kind != HT_TRACE_TASK_CREATE
                || trace->events[track->task->firstEvent].detail != (rec->created ? 0u : 1u))
            mismatch(trace, "%s: its first event is not its %s", track->name, rec->created ? "creation" : "adoption");
    }
    /* Per target: its P/Invokes, across tasks. */
    for (t = 0; t < runtime->target_count; t++)
    {
        for (i = 0, calls = 0; i < trace->task_count; i++)
        {
            track = &trace->tracks[i];
            for (k = 0; k < track->span_count; k++)
                calls += track->spans[k].kind == SPAN_PINVOKE && track->spans[k].arg == runtime->targets[t].target;
        }
        /* The runtime's own threads wait on the CLR's internal targets, one
         * call each possibly in flight (expect_near). */
        slack = runtime->targets[t].internal ? runtime_threads : 0;
        if ((LONG64)calls < runtime->targets[t].wrapped_calls - slack
                || (LONG64)calls > runtime->targets[t].wrapped_calls + slack)
            mismatch(trace, "target %s: %llu P/Invokes in the trace, the driver made %lld", runtime->targets[t].name,
                    (unsigned long long)calls, (long long)runtime->targets[t].wrapped_calls);
    }
}

/* ---- Chrome Trace Event Format ---- */

static const char *const span_category[SPAN_KINDS] = { "pinvoke", "callback", "host-wait", "slot-wait" };

static const char *instant_name(UINT kind)
{
    return kind == HT_TRACE_YIELD_REQUEST ? "yield request" : kind == HT_TRACE_PREEMPTION ? "preemption" : "alert";
}

/* Microseconds from the first event, to the nanosecond. */
static void json_us(FILE *f, const struct trace *trace, UINT64 time_ns)
{
    UINT64 ns = time_ns > trace->first_ns ? time_ns - trace->first_ns : 0;

    fprintf(f, "%llu.%03u", (unsigned long long)(ns / 1000), (unsigned int)(ns % 1000));
}

static void span_name(struct trace *trace, const struct trace_span *span, char *out, size_t size)
{
    switch (span->kind)
    {
    case SPAN_PINVOKE:
        snprintf(out, size, "%s", trace_symbol(trace, span->arg));
        break;
    case SPAN_CALLBACK:
        snprintf(out, size, "callback");
        break;
    case SPAN_HOST_WAIT:
        if (span->arg == INFINITE)
            snprintf(out, size, "%s", span->detail & HT_TRACE_WAIT_JOIN ? "Join" : "Sleep");
        else
            snprintf(out, size, "%s %llu ms", span->detail & HT_TRACE_WAIT_JOIN ? "Join" : "Sleep",
                    (unsigned long long)span->arg);
        break;
    default:
        snprintf(out, size, "slot wait");
        break;
    }
}

static void write_span(FILE *f, struct trace *trace, const struct trace_track *track, const struct trace_span *span)
{
    char name[192];

    span_name(trace, span, name, sizeof(name));
    fprintf(f, ",\n{\"ph\": \"X\", \"pid\": 1, \"tid\": %llu, \"ts\": ", (unsigned long long)track->task->taskId);
    json_us(f, trace, span->start_ns);
    fprintf(f, ", \"dur\": ");
    json_us(f, trace, trace->first_ns + (span->end_ns - span->start_ns));
    fprintf(f, ", \"cat\": \"%s\", \"name\": ", span_category[span->kind]);
    json_string(f, name);
    fprintf(f, ", \"args\": {");
    switch (span->kind)
    {
    case SPAN_PINVOKE:
        fprintf(f, "\"target\": \"0x%llx\"", (unsigned long long)span->arg);
        break;
    case SPAN_HOST_WAIT:
        fprintf(f, "\"alertable\": ");
        json_bool(f, span->detail & HT_TRACE_WAIT_ALERTABLE);
        fprintf(f, ", \"result\": ");
        if (span->unfinished)
            fprintf(f, "null");
        else
            json_hresult(f, span->hr);
        break;
    case SPAN_SLOT_WAIT:
        fprintf(f, "\"granted\": ");
        json_bool(f, span->detail);
        break;
    default:
        break;
    }
    fprintf(f, "%s\"depth\": %u, \"unfinished\": ", span->kind == SPAN_CALLBACK ? "" : ", ", span->depth);
    json_bool(f, span->unfinished);
    fprintf(f, "}}");
}

static void write_instant(FILE *f, const struct trace *trace, UINT64 tid, UINT64 time_ns, const char *cat,
        const char *name, UINT64 by)
{
    fprintf(f, ",\n{\"ph\": \"i\", \"s\": \"t\", \"pid\": 1, \"tid\": %llu, \"ts\": ", (unsigned long long)tid);
    json_us(f, trace, time_ns);
    fprintf(f, ", \"cat\": \"%s\", \"name\": \"%s\", \"args\": {\"by\": %llu}}", cat, name, (unsigned long long)by);
}

static void write_other_data(FILE *f, const struct trace *trace, const struct report *report)
{
    const HT_SCHEDULER_STATS *s = &report->scheduler;
    UINT i;

    fprintf(f, "\"otherData\": {\"format\": \"hosttask-trace/1\", \"runtime\": \"%s\", \"method\": ",
            report->simulated ? "simulated" : "clr");
    json_wstring(f, report->method);
    fprintf(f, ", \"type\": ");
    json_wstring(f, report->type);
    fprintf(f, ", \"hresult\": ");
    json_hresult(f, report->execute_hr);
    fprintf(f, ", \"returnValue\": %lu, \"wallMs\": %.3f, \"profiling\": ", report->return_value, report->wall_ms);
    json_bool(f, report->profiling);
    fprintf(f,
            ",\n  \"trace\": {\"bufferEvents\": %u, \"tasks\": %u, \"events\": %llu, \"dropped\": %llu, "
            "\"endedTasksDropped\": %llu, \"startNs\": %llu, \"checked\": ",
            trace->info.bufferEvents, trace->info.tasks, (unsigned long long)trace->info.events,
            (unsigned long long)trace->info.dropped, (unsigned long long)trace->info.endedTasksDropped,
            (unsigned long long)trace->first_ns);
    json_bool(f, trace->checked);
    fprintf(f, ", \"mismatches\": %u},\n", trace->mismatch_count);
    fprintf(f, "  \"scheduler\": {\"mode\": \"%s\", \"slots\": %u, \"quantumUs\": %u, \"acquisitions\": %llu, "
            "\"waits\": %llu, \"waitNs\": %llu, \"maxWaitNs\": %llu, \"forcedYields\": %llu, \"punishments\": %llu, "
            "\"preemptions\": %llu},\n", s->slots ? "cooperative" : "thread-per-task", s->slots, s->quantumUs,
            (unsigned long long)s->acquisitions, (unsigned long long)s->waits, (unsigned long long)s->waitNs,
            (unsigned long long)s->maxWaitNs, (unsigned long long)s->forcedYields,
            (unsigned long long)s->punishments, (unsigned long long)s->preemptions);
    fprintf(f, "  \"tasks\": [");
    for (i = 0; i < report->task_count; i++)
    {
        const HT_TASK_STATS *t = &report->tasks[i].stats;

        fprintf(f, "%s\n    {\"taskId\": %llu, \"threadId\": %lu, \"role\": ", i ? "," : "",
                (unsigned long long)t->taskId, t->threadId);
        json_string_or_null(f, report->tasks[i].role[0] ? report->tasks[i].role : NULL);
        fprintf(f, ", \"leave\": %llu, \"enter\": %llu, \"reverseEnter\": %llu, \"reverseLeave\": %llu, "
                "\"sleeps\": %llu, \"joins\": %llu, \"alerts\": %llu, \"nativeTimeNs\": %llu, \"slotAcquisitions\": %llu, "
                "\"slotWaitNs\": %llu, \"forcedYields\": %llu}",
                (unsigned long long)t->transitions[HT_STAT_LEAVE], (unsigned long long)t->transitions[HT_STAT_ENTER],
                (unsigned long long)t->transitions[HT_STAT_REVERSE_ENTER],
                (unsigned long long)t->transitions[HT_STAT_REVERSE_LEAVE], (unsigned long long)t->sleeps,
                (unsigned long long)t->joins, (unsigned long long)t->alerts, (unsigned long long)t->nativeTimeNs,
                (unsigned long long)t->slotAcquisitions, (unsigned long long)t->slotWaitNs,
                (unsigned long long)t->forcedYields);
    }
    fprintf(f, "\n  ]}\n");
}

BOOL trace_write_json(struct trace *trace, const struct report *report, const WCHAR *path)
{
    const struct trace_track *track;
    char process[512];
    FILE *f;
    UINT i, k;

    if (!(f = _wfopen(path, L"w")))
        return FALSE;
    snprintf(process, sizeof(process), "hosttask-host: %ls.%ls%s", report->type, report->method,
            report->simulated ? " (simulated)" : "");
    fprintf(f, "{\"traceEvents\": [\n{\"ph\": \"M\", \"pid\": 1, \"name\": \"process_name\", \"args\": {\"name\": ");
    json_string(f, process);
    fprintf(f, "}}");
    for (i = 0; i < trace->task_count; i++)
    {
        track = &trace->tracks[i];
        fprintf(f, ",\n{\"ph\": \"M\", \"pid\": 1, \"tid\": %llu, \"name\": \"thread_name\", \"args\": {\"name\": ",
                (unsigned long long)track->task->taskId);
        json_string(f, track->name);
        fprintf(f, "}},\n{\"ph\": \"M\", \"pid\": 1, \"tid\": %llu, \"name\": \"thread_sort_index\", "
                "\"args\": {\"sort_index\": %u}}", (unsigned long long)track->task->taskId, i);
    }
    for (i = 0; i < trace->task_count; i++)
    {
        track = &trace->tracks[i];
        if (track->start_ns)
            write_instant(f, trace, track->task->taskId, track->start_ns, "task", "task start", track->task->taskId);
        for (k = 0; k < track->span_count; k++)
            write_span(f, trace, track, &track->spans[k]);
        for (k = 0; k < track->instant_count; k++)
            write_instant(f, trace, track->task->taskId, track->instants[k].time_ns,
                    track->instants[k].kind == HT_TRACE_ALERT ? "alert" : "scheduler",
                    instant_name(track->instants[k].kind), track->instants[k].by);
        if (track->end_ns)
            write_instant(f, trace, track->task->taskId, track->end_ns, "task", "task end", track->task->taskId);
    }
    fprintf(f, "\n],\n\"displayTimeUnit\": \"ns\",\n");
    write_other_data(f, trace, report);
    fprintf(f, "}\n");
    return fclose(f) == 0;
}

int trace_output(const struct report *report, IHostControl *control, struct htd_runtime *runtime,
        const WCHAR *json, const WCHAR *html, FILE *out)
{
    struct trace trace;
    HRESULT hr;
    int result = 0;
    UINT i;

    if (FAILED(hr = trace_collect(&trace, control, report)))
    {
        fprintf(stderr, "hosttask-host: no trace (0x%08lx)\n", (unsigned long)hr);
        trace_free(&trace);
        return 1;
    }
    if (runtime)
        trace_check(&trace, report, runtime);
    fprintf(out, "\nTrace: %u tasks, %llu events (%llu dropped by full buffers of %u)", trace.task_count,
            (unsigned long long)trace.info.events, (unsigned long long)trace.info.dropped, trace.info.bufferEvents);
    if (trace.checked)
        fprintf(out, ", %s what the driver did (%u tasks)\n", trace.mismatch_count ? "does NOT match" : "matches",
                trace.check_tasks);
    else
        fprintf(out, "\n");
    for (i = 0; i < trace.mismatch_count && i < ARRAYSIZE(trace.mismatches); i++)
        fprintf(out, "Trace mismatch: %s\n", trace.mismatches[i]);
    if (trace.mismatch_count)
        result = 2;
    if (json && !trace_write_json(&trace, report, json))
    {
        fprintf(stderr, "hosttask-host: could not write %ls\n", json);
        result = result ? result : 1;
    }
    if (html && !trace_write_html(&trace, report, html))
    {
        fprintf(stderr, "hosttask-host: could not write %ls\n", html);
        result = result ? result : 1;
    }
    trace_free(&trace);
    return result;
}
