/*
 * hosttask-host --html: one self-contained page (no script, no style
 * sheet, font or image from anywhere else) with an SVG timeline of the
 * trace, a row per task, and the report's tables.
 *
 * The timeline is PLOT_W pixels wide for the whole run.  Each task's row
 * is the run cut into segments, each in one state (managed code, native
 * code, a host wait, a slot wait); a segment a pixel wide or more is a
 * rectangle of its own, with its target and duration in its <title>
 * (the browser's tooltip).  Segments narrower than a pixel are coalesced
 * with their neighbours until the group spans a pixel: one rectangle in
 * the colour of the state that took most of its time, its <title> saying
 * how many segments it holds and the time in each state.  Nothing is
 * left out: every nanosecond of every row is in some rectangle.
 */
#include "trace_out.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_W 230
#define PLOT_W 1000
/* Room right of the plot for the last tick's label, centred on the plot's end. */
#define AXIS_MARGIN 40
#define ROW_H 22
#define BAR_H 14
#define AXIS_H 28

enum state { ST_MANAGED, ST_NATIVE, ST_HOST_WAIT, ST_SLOT_WAIT, ST_KINDS };

static const char *const state_colour[ST_KINDS] = { "#43a047", "#1e88e5", "#fb8c00", "#e53935" };
static const char *const state_name[ST_KINDS] = { "managed code", "native code (P/Invoke)", "host wait (Sleep, Join)",
        "slot wait (cooperative mode)" };
static const char *const state_class[ST_KINDS] = { "managed", "native", "hostwait", "slotwait" };

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++)
    {
        switch (*s)
        {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f); break;
        }
    }
}

static void html_wtext(FILE *f, const WCHAR *s)
{
    char utf8[1024];

    if (!WideCharToMultiByte(CP_UTF8, 0, s, -1, utf8, sizeof(utf8), NULL, NULL))
        utf8[0] = 0;
    html_text(f, utf8);
}

/* Durations in the unit that reads best. */
static void format_duration(UINT64 ns, char *out, size_t size)
{
    if (ns < 10000)
        snprintf(out, size, "%llu ns", (unsigned long long)ns);
    else if (ns < 10000000)
        snprintf(out, size, "%.1f us", ns / 1e3);
    else
        snprintf(out, size, "%.3f ms", ns / 1e6);
}

/* The row being drawn, and its pending group of sub-pixel segments. */
struct row
{
    FILE *f;
    struct trace *trace;
    double y;
    double ns_per_px;
    BOOL grouping;
    UINT64 group_start, group_end;
    UINT64 group_ns[ST_KINDS];
    UINT group_count;
};

static double x_of(const struct row *row, UINT64 time_ns)
{
    return LABEL_W + (time_ns - row->trace->first_ns) / row->ns_per_px;
}

static void rect(struct row *row, UINT64 start, UINT64 end, enum state state)
{
    double x0 = x_of(row, start), x1 = x_of(row, end);

    fprintf(row->f, "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%d\" fill=\"%s\">",
            state_class[state], x0, row->y, x1 - x0, BAR_H, state_colour[state]);
}

static void flush_group(struct row *row)
{
    enum state dominant = ST_MANAGED;
    char text[32];
    int s;

    if (!row->grouping)
        return;
    for (s = 1; s < ST_KINDS; s++)
        if (row->group_ns[s] > row->group_ns[dominant])
            dominant = (enum state)s;
    rect(row, row->group_start, row->group_end, dominant);
    fprintf(row->f, "<title>%u segments, each under a pixel, coalesced (%.3f to %.3f ms):", row->group_count,
            trace_ms(row->trace, row->group_start), trace_ms(row->trace, row->group_end));
    for (s = 0; s < ST_KINDS; s++)
        if (row->group_ns[s])
        {
            format_duration(row->group_ns[s], text, sizeof(text));
            fprintf(row->f, " %s %s;", state_name[s], text);
        }
    fprintf(row->f, "</title></rect>\n");
    row->grouping = FALSE;
    memset(row->group_ns, 0, sizeof(row->group_ns));
    row->group_count = 0;
}

static enum state state_of(const struct trace_span *span)
{
    if (!span)
        return ST_MANAGED;
    switch (span->kind)
    {
    case SPAN_PINVOKE: return ST_NATIVE;
    case SPAN_HOST_WAIT: return ST_HOST_WAIT;
    case SPAN_SLOT_WAIT: return ST_SLOT_WAIT;
    default: return ST_MANAGED;
    }
}

/* One segment [start, end) in the state of span (NULL: managed code
 * outside any span). */
static void segment(struct row *row, UINT64 start, UINT64 end, const struct trace_span *span)
{
    enum state state = state_of(span);
    char name[192], text[32], what[256];

    if (end <= start)
        return;
    if ((end - start) / row->ns_per_px < 1.0)
    {
        if (!row->grouping)
        {
            row->grouping = TRUE;
            row->group_start = start;
        }
        row->group_end = end;
        row->group_ns[state] += end - start;
        row->group_count++;
        if ((row->group_end - row->group_start) / row->ns_per_px >= 1.0)
            flush_group(row);
        return;
    }
    flush_group(row);
    rect(row, start, end, state);
    format_duration(end - start, text, sizeof(text));
    if (!span)
        snprintf(what, sizeof(what), "managed code");
    else if (span->kind == SPAN_PINVOKE)
        snprintf(what, sizeof(what), "P/Invoke %s", trace_symbol(row->trace, span->arg));
    else if (span->kind == SPAN_CALLBACK)
        snprintf(what, sizeof(what), "callback: managed code");
    else if (span->kind == SPAN_HOST_WAIT)
    {
        if (span->arg == INFINITE)
            snprintf(name, sizeof(name), "%s", span->detail & HT_TRACE_WAIT_JOIN ? "Join" : "Sleep");
        else
            snprintf(name, sizeof(name), "%s %llu ms", span->detail & HT_TRACE_WAIT_JOIN ? "Join" : "Sleep",
                    (unsigned long long)span->arg);
        if (span->unfinished)
            snprintf(what, sizeof(what), "host wait: %s, unfinished", name);
        else
            snprintf(what, sizeof(what), "host wait: %s, result 0x%08lx", name, (unsigned long)span->hr);
    }
    else
        snprintf(what, sizeof(what), "slot wait%s", span->unfinished ? ", unfinished" : "");
    fprintf(row->f, "<title>");
    html_text(row->f, what);
    fprintf(row->f, ", %s (%.3f to %.3f ms)</title></rect>\n", text, trace_ms(row->trace, start),
            trace_ms(row->trace, end));
}

/* A task's row: its spans flattened into segments by a sweep that keeps
 * the spans open at each moment on a stack (spans of a task nest). */
static void draw_track(struct row *row, const struct trace_track *track)
{
    const struct trace_span **stack;
    const struct trace_span *span;
    UINT64 begin = ~(UINT64)0, end, now;
    UINT depth = 0, i;

    if (track->start_ns)
        begin = track->start_ns;
    if (track->span_count && track->spans[0].start_ns < begin)
        begin = track->spans[0].start_ns;
    if (begin == ~(UINT64)0)
        begin = track->task->eventCount ? row->trace->events[track->task->firstEvent].timeNs : row->trace->last_ns;
    end = track->end_ns ? track->end_ns : row->trace->last_ns;
    if (!(stack = calloc(track->span_count + 1, sizeof(*stack))))
        return;
    now = begin;
    for (i = 0; i < track->span_count; i++)
    {
        span = &track->spans[i];
        while (depth && stack[depth - 1]->end_ns <= span->start_ns)
        {
            segment(row, now, stack[depth - 1]->end_ns, stack[depth - 1]);
            if (stack[depth - 1]->end_ns > now)
                now = stack[depth - 1]->end_ns;
            depth--;
        }
        segment(row, now, span->start_ns, depth ? stack[depth - 1] : NULL);
        if (span->start_ns > now)
            now = span->start_ns;
        stack[depth++] = span;
    }
    while (depth)
    {
        segment(row, now, stack[depth - 1]->end_ns, stack[depth - 1]);
        if (stack[depth - 1]->end_ns > now)
            now = stack[depth - 1]->end_ns;
        depth--;
    }
    segment(row, now, end, NULL);
    flush_group(row);
    free(stack);
}

static void draw_instants(struct row *row, const struct trace_track *track)
{
    const struct trace_instant *instant;
    const char *name, *colour;
    double x;
    UINT i;

    for (i = 0; i < track->instant_count; i++)
    {
        instant = &track->instants[i];
        x = x_of(row, instant->time_ns);
        name = instant->kind == HT_TRACE_YIELD_REQUEST ? "yield request"
                : instant->kind == HT_TRACE_PREEMPTION ? "preemption" : "alert";
        colour = instant->kind == HT_TRACE_YIELD_REQUEST ? "#6a1b9a"
                : instant->kind == HT_TRACE_PREEMPTION ? "#000000" : "#fdd835";
        fprintf(row->f, "<path class=\"instant\" d=\"M%.2f %.1f l-4 -6 h8 z\" fill=\"%s\" stroke=\"#333\" "
                "stroke-width=\"0.5\"><title>%s at %.3f ms, by task %llu</title></path>\n", x, row->y + 3, colour,
                name, trace_ms(row->trace, instant->time_ns), (unsigned long long)instant->by);
    }
}

/* A tick step of 1, 2 or 5 times a power of ten, for about ten ticks. */
static double tick_step(double total_ms)
{
    double step = 1e-6;

    while (total_ms / step > 10)
    {
        if (total_ms / (step * 2) <= 10)
            return step * 2;
        if (total_ms / (step * 5) <= 10)
            return step * 5;
        step *= 10;
    }
    return step;
}

static void draw_axis(FILE *f, const struct trace *trace, double ns_per_px, double height)
{
    double total_ms = (trace->last_ns - trace->first_ns) / 1e6, step = tick_step(total_ms), t, x;

    fprintf(f, "<g class=\"axis\">\n<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#555\"/>\n", LABEL_W,
            AXIS_H - 6, LABEL_W + PLOT_W, AXIS_H - 6);
    for (t = 0; t <= total_ms + step * 1e-9; t += step)
    {
        x = LABEL_W + t * 1e6 / ns_per_px;
        fprintf(f, "<line x1=\"%.2f\" y1=\"%d\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%.2f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%g ms</text>\n",
                x, AXIS_H - 6, x, height, x, AXIS_H - 10, t);
    }
    fprintf(f, "</g>\n");
}

static void draw_legend(FILE *f)
{
    int s;

    fprintf(f, "<p class=\"legend\">");
    for (s = 0; s < ST_KINDS; s++)
        fprintf(f, "<span><svg width=\"14\" height=\"14\"><rect width=\"14\" height=\"14\" fill=\"%s\"/></svg> %s</span>\n",
                state_colour[s], state_name[s]);
    fprintf(f, "<span><svg width=\"10\" height=\"8\"><path d=\"M5 8 l-4 -6 h8 z\" fill=\"#6a1b9a\"/></svg> yield "
            "request</span>\n<span><svg width=\"10\" height=\"8\"><path d=\"M5 8 l-4 -6 h8 z\" fill=\"#000\"/></svg> "
            "preemption</span>\n<span><svg width=\"10\" height=\"8\"><path d=\"M5 8 l-4 -6 h8 z\" fill=\"#fdd835\" "
            "stroke=\"#333\" stroke-width=\"0.5\"/></svg> alert</span></p>\n");
}

static void draw_timeline(FILE *f, struct trace *trace)
{
    UINT64 span_ns = trace->last_ns > trace->first_ns ? trace->last_ns - trace->first_ns : 1;
    double height = AXIS_H + trace->task_count * ROW_H + 4;
    struct row row;
    UINT i;

    memset(&row, 0, sizeof(row));
    row.f = f;
    row.trace = trace;
    row.ns_per_px = (double)span_ns / PLOT_W;
    fprintf(f, "<svg id=\"timeline\" width=\"%d\" height=\"%.0f\" "
            "font-family=\"sans-serif\">\n", LABEL_W + PLOT_W + AXIS_MARGIN, height);
    draw_axis(f, trace, row.ns_per_px, height);
    for (i = 0; i < trace->task_count; i++)
    {
        const struct trace_track *track = &trace->tracks[i];

        row.y = AXIS_H + i * ROW_H + (ROW_H - BAR_H) / 2.0;
        fprintf(f, "<g class=\"task-row\" data-task=\"%llu\">\n<text x=\"4\" y=\"%.1f\" font-size=\"12\">",
                (unsigned long long)track->task->taskId, row.y + BAR_H - 3);
        html_text(f, track->name);
        if (track->task->dropped)
            fprintf(f, " [%llu dropped]", (unsigned long long)track->task->dropped);
        fprintf(f, "</text>\n");
        draw_track(&row, track);
        draw_instants(&row, track);
        fprintf(f, "</g>\n");
    }
    fprintf(f, "</svg>\n");
}

static void draw_tables(FILE *f, struct trace *trace, const struct report *report)
{
    const HT_SCHEDULER_STATS *s = &report->scheduler;
    UINT i;

    fprintf(f, "<h2>Tasks</h2>\n<table>\n<tr><th>task</th><th>role</th><th>thread</th><th>leave</th><th>enter</th>"
            "<th>r-enter</th><th>r-leave</th><th>max depth</th><th>native ms</th><th>sleeps</th><th>joins</th>"
            "<th>alerts</th><th>slot acq.</th><th>slot wait ms</th><th>forced yields</th><th>events</th>"
            "<th>dropped</th></tr>\n");
    for (i = 0; i < report->task_count; i++)
    {
        const HT_TASK_STATS *t = &report->tasks[i].stats;
        const HT_TRACE_TASK *traced = NULL;
        UINT k;

        for (k = 0; k < trace->task_count; k++)
            if (trace->tasks[k].taskId == t->taskId)
                traced = &trace->tasks[k];
        fprintf(f, "<tr><td>%llu</td><td>", (unsigned long long)t->taskId);
        html_text(f, report->tasks[i].role[0] ? report->tasks[i].role : "-");
        fprintf(f, "</td><td>0x%lx</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                "<td>%.3f</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%.3f</td><td>%llu</td>",
                t->threadId, (unsigned long long)t->transitions[HT_STAT_LEAVE],
                (unsigned long long)t->transitions[HT_STAT_ENTER],
                (unsigned long long)t->transitions[HT_STAT_REVERSE_ENTER],
                (unsigned long long)t->transitions[HT_STAT_REVERSE_LEAVE], (unsigned long long)t->maxDepth,
                t->nativeTimeNs / 1e6, (unsigned long long)t->sleeps, (unsigned long long)t->joins,
                (unsigned long long)t->alerts, (unsigned long long)t->slotAcquisitions, t->slotWaitNs / 1e6,
                (unsigned long long)t->forcedYields);
        if (traced)
            fprintf(f, "<td>%llu</td><td>%llu</td></tr>\n", (unsigned long long)traced->recorded,
                    (unsigned long long)traced->dropped);
        else
            fprintf(f, "<td>-</td><td>-</td></tr>\n");
    }
    fprintf(f, "</table>\n");

    fprintf(f, "<h2>P/Invoke targets</h2>\n");
    if (!report->target_count)
        fprintf(f, "<p>None recorded%s.</p>\n", report->profiling ? "" : " (profiling off)");
    else
    {
        fprintf(f, "<table>\n<tr><th>target</th><th>calls</th><th>native ms</th><th>us/call</th></tr>\n");
        for (i = 0; i < report->target_count; i++)
        {
            const struct report_target *target = &report->targets[i];

            fprintf(f, "<tr><td>");
            html_text(f, target->symbol);
            fprintf(f, "</td><td>%llu</td><td>%.3f</td><td>%.3f</td></tr>\n", (unsigned long long)target->stats.calls,
                    target->stats.nativeTimeNs / 1e6,
                    target->stats.calls ? target->stats.nativeTimeNs / 1e3 / target->stats.calls : 0.0);
        }
        fprintf(f, "</table>\n");
    }

    fprintf(f, "<h2>Scheduler</h2>\n");
    if (!s->slots)
        fprintf(f, "<p>Thread-per-task (no slots).</p>\n");
    else
        fprintf(f, "<table>\n<tr><th>slots</th><th>quantum us</th><th>acquisitions</th><th>waits</th>"
                "<th>wait ms</th><th>max wait ms</th><th>p99 wait ms</th><th>forced yields</th><th>punishments</th>"
                "<th>preemptions</th><th>retakes</th><th>native hold ms</th></tr>\n<tr><td>%u</td><td>%u</td><td>%llu</td>"
                "<td>%llu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>"
                "<td>%.3f</td></tr>\n</table>\n", s->slots,
                s->quantumUs, (unsigned long long)s->acquisitions, (unsigned long long)s->waits, s->waitNs / 1e6,
                s->maxWaitNs / 1e6, report_wait_quantile_ns(s, 0.99) / 1e6, (unsigned long long)s->forcedYields,
                (unsigned long long)s->punishments, (unsigned long long)s->preemptions,
                (unsigned long long)s->retakes, s->nativeHoldNs / 1e6);

    fprintf(f, "<h2>Checks</h2>\n<ul>\n");
    if (report->checked)
        fprintf(f, "<li>Report against the driver: %s (%u tasks, %u targets).</li>\n",
                report->mismatch_count ? "MISMATCH" : "matches", report->check_tasks, report->check_targets);
    if (trace->checked)
        fprintf(f, "<li>Trace against the driver: %s (%u tasks).</li>\n",
                trace->mismatch_count ? "MISMATCH" : "matches", trace->check_tasks);
    for (i = 0; i < report->mismatch_count && i < ARRAYSIZE(report->mismatches); i++)
    {
        fprintf(f, "<li>");
        html_text(f, report->mismatches[i]);
        fprintf(f, "</li>\n");
    }
    for (i = 0; i < trace->mismatch_count && i < ARRAYSIZE(trace->mismatches); i++)
    {
        fprintf(f, "<li>");
        html_text(f, trace->mismatches[i]);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "<li>Trace: %llu events kept, %llu dropped by full buffers (%u events per task).</li>\n</ul>\n",
            (unsigned long long)trace->info.events, (unsigned long long)trace->info.dropped,
            trace->info.bufferEvents);
}

BOOL trace_write_html(struct trace *trace, const struct report *report, const WCHAR *path)
{
    FILE *f;

    if (!(f = _wfopen(path, L"w")))
        return FALSE;
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>hosttask timeline: ");
    html_wtext(f, report->type);
    fprintf(f, ".");
    html_wtext(f, report->method);
    fprintf(f, "</title>\n<style>\nbody { font-family: sans-serif; margin: 16px; color: #222; }\n"
            "table { border-collapse: collapse; font-size: 12px; margin-bottom: 12px; }\n"
            "th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }\n"
            "th { background: #f3f3f3; }\ntd:first-child, td:nth-child(2) { text-align: left; }\n"
            ".legend span { margin-right: 18px; font-size: 13px; }\n.legend svg { vertical-align: middle; }\n"
            "h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 20px; }\n</style>\n</head>\n<body>\n");
    fprintf(f, "<h1>hosttask timeline: ");
    html_wtext(f, report->type);
    fprintf(f, ".");
    html_wtext(f, report->method);
    fprintf(f, "</h1>\n<p>%s runtime, %s, %.1f ms; method returned %lu (0x%08lx). %u tasks traced, %.3f ms "
            "from the first event to the last. Hover over a bar for its target and duration.</p>\n",
            report->simulated ? "Simulated" : "CLR", report->scheduler.slots ? "cooperative mode" : "thread-per-task",
            report->wall_ms, report->return_value, (unsigned long)report->execute_hr, trace->task_count,
            (trace->last_ns - trace->first_ns) / 1e6);
    draw_legend(f);
    draw_timeline(f, trace);
    draw_tables(f, trace, report);
    fprintf(f, "</body>\n</html>\n");
    return fclose(f) == 0;
}
