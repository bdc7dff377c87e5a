/*
 * The transition report: collection, the cross-check against the CLR-style
 * driver, the tables, the summary line and the JSON (launcher/report.schema.json).
 */
#include "report.h"
#include "json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TASKS 1024
/* The host's target table (HT__TARGET_SLOTS in src/core.h) and its
 * overflow bucket, target 0. */
#define HT_TARGET_SLOTS_REPORTED 4097

HRESULT report_collect(struct report *report, IHostControl *control)
{
    HT_TARGET_STATS *targets;
    UINT count = 0, i;
    HRESULT hr;

    if (!(report->tasks = calloc(MAX_TASKS, sizeof(*report->tasks))))
        return E_OUTOFMEMORY;
    if (FAILED(ht_get_scheduler_stats(control, &report->scheduler_before)))
        memset(&report->scheduler_before, 0, sizeof(report->scheduler_before));
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

    /* The scheduler's counters; all zero in thread-per-task mode (and from
     * a server that predates the scheduler, which refuses the call). */
    if (FAILED(ht_get_scheduler_stats(control, &report->scheduler)))
        memset(&report->scheduler, 0, sizeof(report->scheduler));

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

UINT64 report_wait_quantile_ns(const HT_SCHEDULER_STATS *scheduler, double fraction)
{
    UINT64 total = 0, seen = 0, rank, top;
    unsigned int i, n = ARRAYSIZE(scheduler->waitHistogram);

    for (i = 0; i < n; i++)
        total += scheduler->waitHistogram[i];
    if (!total)
        return 0;
    /* The rank of the quantile, rounded up: ceil(fraction * total). */
    rank = (UINT64)(fraction * (double)total);
    if ((double)rank < fraction * (double)total)
        rank++;
    if (!rank)
        rank = 1;
    for (i = 0; i < n - 1; i++)
    {
        seen += scheduler->waitHistogram[i];
        if (seen >= rank)
            break;
    }
    /* Bucket i holds waits of 2^i to 2^(i+1) ns (bucket 0 from 0); the last
     * one is open-ended. */
    top = i < n - 1 ? (2ull << i) - 1 : scheduler->maxWaitNs;
    return top < scheduler->maxWaitNs ? top : scheduler->maxWaitNs;
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

/* The runtime's own threads (finalizer, AD-unload helper) run while the
 * report is taken: the finalizer's idle wait may end between the host's
 * snapshot and the driver's reading, so one transition of theirs may be
 * counted on one side only.  Their counts are held to within one. */
static void check_near(struct report *report, const struct htd_thread_record *rec, const char *what,
        UINT64 reported, LONG64 done)
{
    if (!rec->runtime_thread)
        check_value(report, rec, what, reported, done);
    else if ((LONG64)reported < done - 1 || (LONG64)reported > done + 1)
        mismatch(report, "task of '%s' (thread %04lx): %s %llu, the driver made %lld (within one)", rec->role,
                rec->os_thread_id, what, (unsigned long long)reported, (long long)done);
}

/* Cooperative scheduling on one Thread's task.  How often a task waits,
 * yields or is caught past its quantum depends on timing, so those are held
 * to bounds; whether it holds a slot, and every count in thread-per-task
 * mode, are exact. */
void report_note_driver(struct report *report, struct htd_runtime *runtime)
{
    LONG t;

    for (t = 0; t < runtime->thread_count && t < HTD_MAX_THREADS; t++)
    {
        /* The yields first: each follows a YieldTask call. */
        report->safe_point_yields[t] = runtime->threads[t]->rec.safe_point_yields;
        MemoryBarrier();
        report->yield_task_calls[t] = runtime->threads[t]->clr_task.calls[HTD_TASK_YIELDTASK];
    }
    report->driver_noted = TRUE;
}

static void check_slots(struct report *report, const struct htd_thread *thread, LONG index,
        struct report_task *task)
{
    const struct htd_thread_record *rec = &thread->rec;
    const HT_TASK_STATS *stats = &task->stats;
    BOOL holds = (stats->flags & HT_TASK_HOLDS_SLOT) != 0, managed, expected;

    task->has_clr = TRUE;
    /* Read before the host's counters when the caller could (the host goes
     * on asking a holder to yield while the report is taken). */
    task->yield_task_calls = report->driver_noted ? report->yield_task_calls[index]
            : thread->clr_task.calls[HTD_TASK_YIELDTASK];
    task->safe_point_yields = report->driver_noted ? report->safe_point_yields[index] : rec->safe_point_yields;
    /* The managed code yields at a safe point only when asked. */
    if (task->safe_point_yields > task->yield_task_calls)
        mismatch(report, "task of '%s': %lld yields at safe points, for %lld YieldTask calls", rec->role,
                (long long)task->safe_point_yields, (long long)task->yield_task_calls);
    if (!report->scheduler.slots)
    {
        check_value(report, rec, "slot acquisitions in thread-per-task mode", stats->slotAcquisitions, 0);
        check_value(report, rec, "slot wait ns in thread-per-task mode", stats->slotWaitNs, 0);
        check_value(report, rec, "forced yields in thread-per-task mode", stats->forcedYields, 0);
        if (task->yield_task_calls)
            mismatch(report, "task of '%s': %lld YieldTask calls in thread-per-task mode", rec->role,
                    (long long)task->yield_task_calls);
        if (holds)
            mismatch(report, "task of '%s' holds a slot in thread-per-task mode", rec->role);
        return;
    }
    /* Each entry into the runtime takes a slot; each yield may take one
     * more, and so may a task preempted in an OS wait the runtime did not
     * announce, at its next host call.  The runtime's own threads may have
     * one entry in flight (check_near). */
    if (stats->slotAcquisitions + (rec->runtime_thread ? 1 : 0) < (UINT64)rec->slot_entries
            || stats->slotAcquisitions > (UINT64)(rec->slot_entries + rec->switches + rec->os_blocks
                    + (rec->runtime_thread ? 1 : 0)))
        mismatch(report, "task of '%s': %llu slot acquisitions, for %lld entries into the runtime and %lld "
                "yields", rec->role, (unsigned long long)stats->slotAcquisitions, (long long)rec->slot_entries,
                (long long)rec->switches);
    /* The host counts a runaway before it calls YieldTask (and counts one
     * that has no CLR task yet without calling anything). */
    if (stats->forcedYields < (UINT64)task->yield_task_calls)
        mismatch(report, "task of '%s': %llu forced yields counted, %lld YieldTask calls made", rec->role,
                (unsigned long long)stats->forcedYields, (long long)task->yield_task_calls);
    /* A task holds a slot in managed code (one left in native code is
     * marked so) exactly while its thread is in managed code, unless it was
     * preempted in an OS wait the runtime did not announce (the finalizer's
     * idle wait), or it is one of the runtime's own with a transition in
     * flight. */
    managed = holds && !(stats->flags & HT_TASK_SLOT_IN_NATIVE);
    expected = !(stats->flags & HT_TASK_ENDED) && thread->in_runtime;
    if (rec->runtime_thread && (thread->os_wait || stats->flags & HT_TASK_ENDED))
        expected = managed;
    /* A runaway the watchdog preempted runs on in managed code without a
     * slot until its next host call (docs/scheduler.md): a task that was
     * asked to yield may be found so when the scheduler has preempted. */
    if (expected && !managed && stats->forcedYields && report->scheduler.preemptions)
        expected = FALSE;
    if (managed != expected && !(rec->runtime_thread && !thread->os_wait && (UINT64)thread->depth != stats->depth))
        mismatch(report, "task of '%s' %s a slot, but its thread is %s", rec->role,
                holds ? "holds" : "does not hold", thread->in_runtime ? "in managed code" : "outside the runtime");
}

/* The scheduler's totals are its tasks' sums, exactly, when nothing ran
 * while the report was taken (the totals read before and after the tasks
 * agree).  The runtime's own threads may run: the finalizer's idle wait may
 * end and queue for a slot, and the watchdog then counts the slot's
 * holder past its quantum.  The server updates a total and the task's own
 * under its lock, so the sums then lie between the totals read before and
 * after; slots held may move.  Only the runtime's own threads may be
 * waiting. */
#define BETWEEN(sum, field) (live ? (sum) < b->field || (sum) > s->field : (sum) != s->field)
static void check_scheduler_totals(struct report *report, UINT runtime_threads)
{
    const HT_SCHEDULER_STATS *s = &report->scheduler, *b = &report->scheduler_before;
    UINT64 acquisitions = 0, forced = 0, wait_ns = 0, waits = 0;
    UINT i, held = 0;
    BOOL live = memcmp(s, b, sizeof(*s)) != 0;

    if (!s->slots)
        return;
    for (i = 0; i < report->task_count; i++)
    {
        acquisitions += report->tasks[i].stats.slotAcquisitions;
        forced += report->tasks[i].stats.forcedYields;
        wait_ns += report->tasks[i].stats.slotWaitNs;
        if (report->tasks[i].stats.flags & HT_TASK_HOLDS_SLOT)
            held++;
    }
    for (i = 0; i < ARRAYSIZE(s->waitHistogram); i++)
        waits += s->waitHistogram[i];
    if (BETWEEN(acquisitions, acquisitions))
        mismatch(report, "scheduler: %llu acquisitions, its tasks' add up to %llu",
                (unsigned long long)s->acquisitions, (unsigned long long)acquisitions);
    if (BETWEEN(forced, forcedYields))
        mismatch(report, "scheduler: %llu forced yields, its tasks' add up to %llu",
                (unsigned long long)s->forcedYields, (unsigned long long)forced);
    if (BETWEEN(wait_ns, waitNs))
        mismatch(report, "scheduler: %llu ns of slot waits, its tasks' add up to %llu",
                (unsigned long long)s->waitNs, (unsigned long long)wait_ns);
    if (waits != s->waits || s->waits > s->acquisitions)
        mismatch(report, "scheduler: %llu waits, %llu in the histogram, %llu acquisitions",
                (unsigned long long)s->waits, (unsigned long long)waits, (unsigned long long)s->acquisitions);
    if (s->punishments > s->forcedYields)
        mismatch(report, "scheduler: %llu punishments for %llu forced yields", (unsigned long long)s->punishments,
                (unsigned long long)s->forcedYields);
    /* Each retake takes a slot some acquisition gave; native hold time is
     * counted only at a retake (src/scheduler.c: retake_native). */
    if (s->retakes > s->acquisitions || (!s->retakes && s->nativeHoldNs))
        mismatch(report, "scheduler: %llu retakes (%llu ns held in native code) for %llu acquisitions",
                (unsigned long long)s->retakes, (unsigned long long)s->nativeHoldNs,
                (unsigned long long)s->acquisitions);
    if ((live ? held > s->slots || s->held > s->slots : s->held != held) || s->waiting > runtime_threads)
        mismatch(report, "scheduler: %u slots held (%u tasks say so), %u tasks waiting, with every thread done "
                "but %u of the runtime's own", s->held, held, s->waiting, runtime_threads);
}
#undef BETWEEN

void report_check(struct report *report, struct htd_runtime *runtime)
{
    const struct htd_thread_record *rec;
    const struct htd_target_record *target;
    struct report_task *task;
    UINT i, matches, runtime_threads = 0;
    LONG64 slack;
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
        if (rec->runtime_thread && !runtime->threads[t]->ended)
            runtime_threads++;
        snprintf(task->role, sizeof(task->role), "%s", rec->role);
        if (!(task->stats.flags & (rec->created ? HT_TASK_CREATED : HT_TASK_ADOPTED)))
            mismatch(report, "task of '%s': flags 0x%lx, expected %s", rec->role, task->stats.flags,
                    rec->created ? "created" : "adopted");
        check_near(report, rec, "LeaveRuntime", task->stats.transitions[HT_STAT_LEAVE], rec->leave);
        check_near(report, rec, "EnterRuntime", task->stats.transitions[HT_STAT_ENTER], rec->enter);
        check_value(report, rec, "ReverseEnterRuntime", task->stats.transitions[HT_STAT_REVERSE_ENTER],
                rec->reverse_enter);
        check_value(report, rec, "ReverseLeaveRuntime", task->stats.transitions[HT_STAT_REVERSE_LEAVE],
                rec->reverse_leave);
        check_value(report, rec, "sleeps", task->stats.sleeps, rec->sleeps);
        check_value(report, rec, "alerts", task->stats.alerts, rec->alerts);
        check_value(report, rec, "interrupted waits", task->stats.interruptedWaits, rec->interrupted_waits);
        check_value(report, rec, "joins", task->stats.joins, rec->joins);
        /* Open: none but the runtime's own (the AD-unload helper's
         * LeaveRuntime(0) stays open for good). */
        check_near(report, rec, "open transitions", task->stats.depth, runtime->threads[t]->depth);
        check_near(report, rec, "max depth", task->stats.maxDepth, rec->max_depth);
        for (i = 0; i < ARRAYSIZE(task->stats.imbalances); i++)
            check_value(report, rec, "imbalances", task->stats.imbalances[i], 0);
        check_slots(report, runtime->threads[t], t, task);
    }
    check_scheduler_totals(report, runtime_threads);

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
        /* The runtime's own threads wait on the CLR's internal targets, one
         * call each possibly in flight (check_near). */
        slack = target->internal ? runtime_threads : 0;
        if ((LONG64)report->targets[i].stats.calls < target->wrapped_calls - slack
                || (LONG64)report->targets[i].stats.calls > target->wrapped_calls + slack)
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
    UINT64 slot_acquisitions, slot_wait_ns, forced_yields;
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
        t->slot_acquisitions += s->slotAcquisitions;
        t->slot_wait_ns += s->slotWaitNs;
        t->forced_yields += s->forcedYields;
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

static void print_scheduler_mode(const struct report *report, FILE *out)
{
    const HT_SCHEDULER_STATS *s = &report->scheduler;

    if (!s->slots)
        fprintf(out, "Scheduler: thread-per-task (no slots)\n");
    else
        fprintf(out, "Scheduler: cooperative, %u slot%s, quantum %u us\n", s->slots, s->slots == 1 ? "" : "s",
                s->quantumUs);
}

/* Cooperative mode only: each task's slots, then the scheduler's totals. */
static void print_slots(const struct report *report, FILE *out)
{
    const HT_SCHEDULER_STATS *s = &report->scheduler;
    char yield_calls[24], safe_point[24];
    UINT i;

    if (!s->slots)
        return;
    fprintf(out, "\nSlots per task\n");
    fprintf(out, "%5s %6s %12s %12s %7s %9s %10s %5s %-12s\n", "task", "thread", "acquisitions", "slot wait ms",
            "forced", "YieldTask", "safe-point", "holds", "role");
    for (i = 0; i < report->task_count; i++)
    {
        const struct report_task *task = &report->tasks[i];
        const HT_TASK_STATS *t = &task->stats;

        /* The CLR's side is known only when the driver plays it. */
        snprintf(yield_calls, sizeof(yield_calls), task->has_clr ? "%lld" : "-", (long long)task->yield_task_calls);
        snprintf(safe_point, sizeof(safe_point), task->has_clr ? "%lld" : "-", (long long)task->safe_point_yields);
        fprintf(out, "%5llu %6lu %12llu %12.3f %7llu %9s %10s %5s %-12s%s\n", (unsigned long long)t->taskId,
                t->threadId, (unsigned long long)t->slotAcquisitions, t->slotWaitNs / 1e6,
                (unsigned long long)t->forcedYields, yield_calls, safe_point,
                (t->flags & HT_TASK_HOLDS_SLOT) ? "yes" : "no", task->role, (t->flags & HT_TASK_ENDED) ? " (ended)" : "");
    }
    fprintf(out, "\nScheduler totals\n");
    fprintf(out, "  %llu acquisitions, %llu of them queued (%.1f%%): %.3f ms waiting in all, max %.3f ms, "
            "p99 <= %.3f ms\n",
            (unsigned long long)s->acquisitions, (unsigned long long)s->waits,
            s->acquisitions ? 100.0 * s->waits / s->acquisitions : 0.0, s->waitNs / 1e6, s->maxWaitNs / 1e6,
            report_wait_quantile_ns(s, 0.99) / 1e6);
    fprintf(out, "  %llu forced yields (runaways past the quantum), %llu punishments (requeued behind every "
            "waiter), %llu preemptions (still holding a quantum after being asked); now %u held, %u waiting\n",
            (unsigned long long)s->forcedYields, (unsigned long long)s->punishments,
            (unsigned long long)s->preemptions, s->held, s->waiting);
    fprintf(out, "  %llu retakes (slots left in native code given to a waiter), %.3f ms held in native code "
            "while a task waited\n", (unsigned long long)s->retakes, s->nativeHoldNs / 1e6);
}

void report_print(const struct report *report, FILE *out, unsigned int top)
{
    UINT i;

    if (report->simulated)
        fprintf(out, "Runtime: simulated (the CLR-style driver, %s P/Invoke stubs)\n", report->pinvoke_style);
    else
        fprintf(out, "Runtime: .NET Framework %s\n", report->clr_version);
    fprintf(out, "Host control: %s%s\n", report->server, report->profiling ? "" : " (profiling off)");
    print_scheduler_mode(report, out);
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
    print_slots(report, out);
    print_targets(report, out, top, FALSE);
    print_targets(report, out, top, TRUE);

    if (report->checked)
    {
        fprintf(out, "\n");
        for (i = 0; i < report->fault_count; i++)
            fprintf(out, "CLR %s: %s: 0x%08lx%s%s\n",
                    report->faults[i].kind == HTD_FAULT_THROW ? "exception"
                    : report->faults[i].kind == HTD_FAULT_ASSERT ? "assert"
                    : report->faults[i].kind == HTD_FAULT_HANG ? "hang" : "unhandled exception",
                    report->faults[i].what, (unsigned long)report->faults[i].hr,
                    htd_hresult_name(report->faults[i].hr) ? " " : "",
                    htd_hresult_name(report->faults[i].hr) ? htd_hresult_name(report->faults[i].hr) : "");
        for (i = 0; i < report->mismatch_count && i < ARRAYSIZE(report->mismatches); i++)
            fprintf(out, "Mismatch: %s\n", report->mismatches[i]);
        if (!report->mismatch_count)
            fprintf(out, "Check: the report matches what the driver did (%u tasks, %u targets, exact counts; "
                    "the runtime's own threads within one)\n",
                    report->check_tasks, report->check_targets);
    }
}

void report_print_summary(const struct report *report, FILE *out, int exit_code)
{
    const HT_SCHEDULER_STATS *s = &report->scheduler;
    char scheduler[192] = "";
    struct totals t;

    sum(report, &t);
    if (s->slots)
        snprintf(scheduler, sizeof(scheduler), ", scheduler %u slot%s: %llu acquisitions, %llu waits (%.3f ms), "
                "%llu forced yields, %llu punishments", s->slots, s->slots == 1 ? "" : "s",
                (unsigned long long)s->acquisitions, (unsigned long long)s->waits, s->waitNs / 1e6,
                (unsigned long long)s->forcedYields, (unsigned long long)s->punishments);
    fprintf(out, "hosttask-host: %u tasks (%u created, %u adopted), %llu transitions "
            "(%llu leave, %llu enter, %llu reverse-enter, %llu reverse-leave), %u P/Invoke targets, "
            "%.3f ms native, %llu sleeps, %llu alerts, %llu interrupted waits, %llu joins, %llu imbalances%s, "
            "check %s, exit %d\n",
            report->task_count, t.created, t.adopted,
            (unsigned long long)(t.transitions[0] + t.transitions[1] + t.transitions[2] + t.transitions[3]),
            (unsigned long long)t.transitions[0], (unsigned long long)t.transitions[1],
            (unsigned long long)t.transitions[2], (unsigned long long)t.transitions[3], report->target_count,
            t.native_ns / 1e6, (unsigned long long)t.sleeps, (unsigned long long)t.alerts,
            (unsigned long long)t.interrupted, (unsigned long long)t.joins, (unsigned long long)t.imbalances,
            scheduler, !report->checked ? "n/a" : report->mismatch_count ? "FAILED" : "ok", exit_code);
}

/* ---- JSON ---- */

static void json_scheduler(FILE *f, const HT_SCHEDULER_STATS *s)
{
    UINT i;

    fprintf(f, "  \"scheduler\": {\"mode\": \"%s\", \"slots\": %u, \"quantumUs\": %u, \"acquisitions\": %llu, "
            "\"waits\": %llu, \"waitNs\": %llu, \"maxWaitNs\": %llu, \"p99WaitNs\": %llu, \"forcedYields\": %llu, "
            "\"punishments\": %llu, \"preemptions\": %llu, \"retakes\": %llu, \"nativeHoldNs\": %llu, \"held\": %u, "
            "\"waiting\": %u,\n    \"waitHistogram\": [",
            s->slots ? "cooperative" : "thread-per-task", s->slots, s->quantumUs, (unsigned long long)s->acquisitions,
            (unsigned long long)s->waits, (unsigned long long)s->waitNs, (unsigned long long)s->maxWaitNs,
            (unsigned long long)report_wait_quantile_ns(s, 0.99), (unsigned long long)s->forcedYields,
            (unsigned long long)s->punishments, (unsigned long long)s->preemptions, (unsigned long long)s->retakes,
            (unsigned long long)s->nativeHoldNs, s->held, s->waiting);
    for (i = 0; i < ARRAYSIZE(s->waitHistogram); i++)
        fprintf(f, "%s%llu", i ? ", " : "", (unsigned long long)s->waitHistogram[i]);
    fprintf(f, "]},\n");
}

BOOL report_write_json(const struct report *report, const WCHAR *path, int exit_code)
{
    struct totals t;
    FILE *f;
    UINT i;

    if (!(f = _wfopen(path, L"w")))
        return FALSE;
    sum(report, &t);
    fprintf(f, "{\n  \"format\": \"hosttask-report/2\",\n");
    fprintf(f, "  \"runtime\": {\"kind\": \"%s\", \"version\": ", report->simulated ? "simulated" : "clr");
    json_string_or_null(f, report->simulated ? NULL : report->clr_version);
    fprintf(f, ", \"pinvokeStyle\": ");
    json_string_or_null(f, report->simulated ? report->pinvoke_style : NULL);
    fprintf(f, "},\n  \"hostControl\": ");
    json_string(f, report->server);
    fprintf(f, ",\n  \"profiling\": ");
    json_bool(f, report->profiling);
    fprintf(f, ",\n  \"method\": {\"assembly\": ");
    json_wstring(f, report->assembly);
    fprintf(f, ", \"type\": ");
    json_wstring(f, report->type);
    fprintf(f, ", \"name\": ");
    json_wstring(f, report->method);
    fprintf(f, ", \"argument\": ");
    json_wstring_or_null(f, report->has_argument ? report->argument : NULL);
    fprintf(f, ", \"hresult\": ");
    json_hresult(f, report->execute_hr);
    fprintf(f, ", \"returnValue\": %lu, \"wallMs\": %.3f},\n", report->return_value, report->wall_ms);

    fprintf(f, "  \"tasks\": [");
    for (i = 0; i < report->task_count; i++)
    {
        const HT_TASK_STATS *s = &report->tasks[i].stats;

        fprintf(f, "%s\n    {\"taskId\": %llu, \"threadId\": %lu, \"kind\": \"%s\", \"ended\": ", i ? "," : "",
                (unsigned long long)s->taskId, s->threadId, task_kind(s));
        json_bool(f, s->flags & HT_TASK_ENDED);
        fprintf(f, ", \"role\": ");
        json_string_or_null(f, report->tasks[i].role[0] ? report->tasks[i].role : NULL);
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
        fprintf(f,
                "\"depth\": %llu, \"maxDepth\": %llu, \"nativeTimeNs\": %llu, \"sleeps\": %llu, "
                "\"alerts\": %llu, \"interruptedWaits\": %llu, \"joins\": %llu, \"affinityDepth\": %lu, "
                "\"delayAbort\": ",
                (unsigned long long)s->depth, (unsigned long long)s->maxDepth, (unsigned long long)s->nativeTimeNs,
                (unsigned long long)s->sleeps, (unsigned long long)s->alerts,
                (unsigned long long)s->interruptedWaits, (unsigned long long)s->joins, s->affinityDepth);
        json_bool(f, s->flags & HT_TASK_DELAY_ABORT);
        fprintf(f,
                ", \"priority\": %d, \"slotAcquisitions\": %llu, \"slotWaitNs\": %llu, \"forcedYields\": %llu, "
                "\"holdsSlot\": ",
                s->priority, (unsigned long long)s->slotAcquisitions, (unsigned long long)s->slotWaitNs,
                (unsigned long long)s->forcedYields);
        json_bool(f, s->flags & HT_TASK_HOLDS_SLOT);
        fprintf(f, ", \"clr\": ");
        if (report->tasks[i].has_clr)
            fprintf(f, "{\"yieldTaskCalls\": %lld, \"safePointYields\": %lld}}",
                    (long long)report->tasks[i].yield_task_calls, (long long)report->tasks[i].safe_point_yields);
        else
            fprintf(f, "null}");
    }
    fprintf(f, "\n  ],\n");
    json_scheduler(f, &report->scheduler);
    fprintf(f, "  \"targets\": [");
    for (i = 0; i < report->target_count; i++)
    {
        const struct report_target *target = &report->targets[i];

        fprintf(f, "%s\n    {\"address\": \"0x%llx\", \"symbol\": ", i ? "," : "",
                (unsigned long long)target->stats.target);
        json_string(f, target->symbol);
        fprintf(f, ", \"calls\": %llu, \"nativeTimeNs\": %llu}", (unsigned long long)target->stats.calls,
                (unsigned long long)target->stats.nativeTimeNs);
    }
    fprintf(f, "\n  ],\n  \"check\": {\"performed\": ");
    json_bool(f, report->checked);
    fprintf(f, ", \"ok\": ");
    json_bool(f, report->checked && !report->mismatch_count);
    fprintf(f, ", \"tasks\": %u, \"targets\": %u, \"mismatches\": [", report->check_tasks, report->check_targets);
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
                : report->faults[i].kind == HTD_FAULT_ASSERT ? "assert"
                : report->faults[i].kind == HTD_FAULT_HANG ? "hang" : "unhandled");
        json_hresult(f, report->faults[i].hr);
        fprintf(f, ", \"what\": ");
        json_string(f, report->faults[i].what);
        fprintf(f, "}");
    }
    fprintf(f, "%s],\n", report->fault_count ? "\n  " : "");
    fprintf(f, "  \"summary\": {\"tasks\": %u, \"created\": %u, \"adopted\": %u, \"transitions\": %llu, "
            "\"targets\": %u, \"nativeTimeNs\": %llu, \"sleeps\": %llu, \"alerts\": %llu, "
            "\"interruptedWaits\": %llu, \"joins\": %llu, \"imbalances\": %llu, \"slotAcquisitions\": %llu, "
            "\"slotWaitNs\": %llu, \"forcedYields\": %llu, \"exitCode\": %d}\n}\n",
            report->task_count, t.created, t.adopted,
            (unsigned long long)(t.transitions[0] + t.transitions[1] + t.transitions[2] + t.transitions[3]),
            report->target_count, (unsigned long long)t.native_ns, (unsigned long long)t.sleeps,
            (unsigned long long)t.alerts, (unsigned long long)t.interrupted, (unsigned long long)t.joins,
            (unsigned long long)t.imbalances, (unsigned long long)t.slot_acquisitions,
            (unsigned long long)t.slot_wait_ns, (unsigned long long)t.forced_yields, exit_code);
    return fclose(f) == 0;
}
