/*
 * hosttask-sched-bench: the cooperative scheduler against thread-per-task
 * measured in one run, each figure the median of several
 * repetitions, ratios next to the absolute figures.
 *
 *  1. Throughput: 64 tasks (CreateTask) that each alternate CPU-bound
 *     managed work with a blocking native call (LeaveRuntime, Sleep(1),
 *     EnterRuntime), on one slot per processor and thread-per-task; and
 *     the 99th percentile of the time from wanting a slot to getting it,
 *     against the fair-share wait, (tasks - slots) x work / slots.
 *     Twice, with two kinds of work:
 *     - CPU work: a loop of a fixed number of iterations, calibrated to
 *       500 us on the idle main thread before each repetition.  The same
 *       work in both modes, whoever runs it and however often the OS
 *       takes the processor away meanwhile.
 *     - Wall-clock work: spinning until 500 us have passed, the first
 *       version of this benchmark.  A thread the OS takes off the
 *       processor mid-spin still finishes on time, so it is credited with
 *       work it did not do: thread-per-task, 64 runnable threads on a few
 *       processors, is credited far more of that than cooperative mode,
 *       which keeps one runnable task per processor (docs/scheduler.md,
 *       "Where throughput goes").  Kept for comparison with earlier runs.
 *     Beside each throughput, the processors' idle time during the run
 *     (GetSystemTimes: under Wine it comes from /proc/stat, in steps of
 *     10 ms): a processor idle while tasks wait for slots is what
 *     cooperative mode loses against thread-per-task (docs/scheduler.md,
 *     "Where throughput goes").  And each processor's speed (the CPU-work
 *     loop's turns per microsecond on a thread bound to it): on a VM they
 *     may differ, which makes the calibration, done wherever the main
 *     thread runs, differ between runs.
 *  2. Slot hand-off latency: two tasks on one slot taking turns (each
 *     leaves the runtime while the other waits for the slot), against two
 *     threads passing an event, and passing a WaitOnAddress word (the
 *     cheapest wake there is, and what the slot waits use).
 *
 *   hosttask-sched-bench [--quick] [--json FILE]
 *
 * Not a test: ctest runs it once with --quick to prove it works, and never
 * looks at the timings.
 */
#define COBJMACROS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <hosttask/hosttask.h>
#include <synchapi.h>

#include "work_loop.h"

#define TASKS 64
#define REPS 5

static IHostControl *control;
static IHostTaskManager *manager;
static LONG64 frequency;
static int rounds = 20, work_us = 500, switches = 2000;

static double now_s(void)
{
    LARGE_INTEGER t;

    QueryPerformanceCounter(&t);
    return (double)t.QuadPart / (double)frequency;
}

static void spin_us(int us)
{
    double end = now_s() + us / 1e6;
    volatile unsigned int x = 0;

    while (now_s() < end)
        x++;
}

struct speed_probe
{
    double speed;
    BOOL bound; /* set before the thread runs: measure, or return at once */
};

static DWORD WINAPI calibrate_thread(void *arg)
{
    struct speed_probe *probe = arg;

    if (probe->bound)
        probe->speed = work_loop_calibrate(now_s);
    return 0;
}

/* Each processor's loop speed, on a thread bound to it; 0 for a processor
 * outside the process's affinity mask, or one the thread could not be
 * bound to.  Processor i is bit i of the mask (one processor group).
 * Returns how many were measured. */
#define MAX_PROCESSORS ((int)(8 * sizeof(DWORD_PTR)))
static int processor_speeds(double *speed, int n)
{
    struct speed_probe probe;
    DWORD_PTR process, system;
    HANDLE thread;
    int i;

    if (!GetProcessAffinityMask(GetCurrentProcess(), &process, &system))
        process = 0;
    if (n > MAX_PROCESSORS)
        n = MAX_PROCESSORS;
    for (i = 0; i < n; i++)
    {
        probe.speed = 0;
        probe.bound = FALSE;
        if ((process >> i & 1)
                && (thread = CreateThread(NULL, 0, calibrate_thread, &probe, CREATE_SUSPENDED, NULL)))
        {
            probe.bound = SetThreadAffinityMask(thread, (DWORD_PTR)1 << i) != 0;
            ResumeThread(thread);
            WaitForSingleObject(thread, INFINITE);
            CloseHandle(thread);
        }
        speed[i] = probe.speed;
    }
    return n;
}

static LONG64 work_loops;   /* nonzero: CPU work of that many turns; 0: wall-clock */

static void work(void)
{
    if (work_loops)
        work_loop(work_loops);
    else
        spin_us(work_us);
}

static void check(HRESULT hr, const char *what)
{
    if (hr != S_OK)
    {
        fprintf(stderr, "hosttask-sched-bench: %s failed: 0x%08lx\n", what, (unsigned long)hr);
        exit(1);
    }
}

/* ---- 1. Throughput ---- */

/* Every EnterRuntime's duration in the last run: the time from wanting a
 * slot to getting it, exactly (the scheduler's histogram only bounds it). */
#define MAX_ROUNDS 20
static double enter_s[TASKS * MAX_ROUNDS];
static LONG nenter;

static DWORD WINAPI mixed_task(void *arg)
{
    double t0;
    int i;

    for (i = 0; i < rounds; i++)
    {
        work();             /* managed code: holds the slot */
        check(IHostTaskManager_LeaveRuntime(manager, (SIZE_T)&Sleep), "LeaveRuntime");
        Sleep(1);           /* a blocking native call: no slot */
        t0 = now_s();
        check(IHostTaskManager_EnterRuntime(manager), "EnterRuntime");
        enter_s[InterlockedIncrement(&nenter) - 1] = now_s() - t0;
    }
    return 0;
}

/* The q-quantile of the EnterRuntime times of the last run. */
static double enter_quantile_s(double q)
{
    int n = (int)nenter;

    if (!n)
        return 0;
    qsort(enter_s, n, sizeof(enter_s[0]), compare_doubles);
    return enter_s[(int)(q * (n - 1) + 0.5)];
}

static ULONGLONG idle_100ns(void)
{
    FILETIME idle, kernel, user;

    if (!GetSystemTimes(&idle, &kernel, &user))
        return 0;
    return ((ULONGLONG)idle.dwHighDateTime << 32) | idle.dwLowDateTime;
}

/* Seconds for TASKS tasks of `rounds` rounds each; *idle_s: the
 * processors' idle seconds meanwhile. */
static double run_mixed(double *idle_s)
{
    IHostTask *tasks[TASKS];
    double start, end;
    ULONGLONG idle;
    int i;

    nenter = 0;
    idle = idle_100ns();
    start = now_s();
    for (i = 0; i < TASKS; i++)
    {
        check(IHostTaskManager_CreateTask(manager, 0, mixed_task, NULL, &tasks[i]), "CreateTask");
        check(IHostTask_Start(tasks[i]), "Start");
    }
    for (i = 0; i < TASKS; i++)
    {
        check(IHostTask_Join(tasks[i], INFINITE, 0), "Join");
        IHostTask_Release(tasks[i]);
    }
    end = now_s();
    /* Signed, and never below 0: a failed read answers 0. */
    *idle_s = (double)(LONGLONG)(idle_100ns() - idle) / 1e7;
    if (*idle_s < 0)
        *idle_s = 0;
    return end - start;
}

/* The upper bound of the q-quantile of the slot waits, from the histogram. */
static double wait_quantile_s(const HT_SCHEDULER_STATS *s, double q)
{
    UINT64 total = 0, seen = 0, rank;
    int i;

    for (i = 0; i < 40; i++)
        total += s->waitHistogram[i];
    if (!total)
        return 0;
    rank = (UINT64)(q * (double)total + 0.999999);
    for (i = 0; i < 40; i++)
    {
        seen += s->waitHistogram[i];
        if (seen >= rank)
        {
            double top = (double)(1ull << (i + 1)) / 1e9, max = (double)s->maxWaitNs / 1e9;

            return top < max ? top : max;
        }
    }
    return (double)s->maxWaitNs / 1e9;
}

/* ---- 2. Hand-off latency ----
 *
 * Both measure the same thing: the time from one thread giving way (just
 * before LeaveRuntime, or SetEvent) to the other running (just after its
 * EnterRuntime, or WaitForSingleObject, returns), with the other already
 * waiting.  On one slot, two tasks take turns: each enters (taking the
 * slot), waits until the other is queued for it, notes the time and leaves
 * (handing the slot over), then enters again, behind the other. */

static IHostTaskStatistics *statistics;
static volatile double handoff_t0;
static double handoff_sum;
static LONG handoff_count;

static void scheduler_stats(HT_SCHEDULER_STATS *s)
{
    check(IHostTaskStatistics_GetSchedulerStats(statistics, s), "GetSchedulerStats");
}

/* Whether the calling task holds its slot: a preemption may have taken it. */
static BOOL holds_slot(void)
{
    HT_TASK_STATS self;

    check(IHostTaskStatistics_GetCurrentTaskStats(statistics, &self), "GetCurrentTaskStats");
    return (self.flags & HT_TASK_HOLDS_SLOT) != 0;
}

/* The quantum of the hand-off measurement: long enough that no holder is
 * preempted while the machine keeps it off the processor, since the
 * figure is the hand-off, not a preemption. */
#define HANDOFF_QUANTUM_US 1000000u

static DWORD WINAPI turn_task(void *arg)
{
    HT_SCHEDULER_STATS s;
    BOOL holds;
    int i;

    check(IHostTaskManager_LeaveRuntime(manager, 0), "LeaveRuntime");
    for (i = 0; i < switches; i++)
    {
        check(IHostTaskManager_EnterRuntime(manager), "EnterRuntime");
        if (handoff_t0 > 0)
        {
            handoff_sum += now_s() - handoff_t0;
            handoff_count++;
            handoff_t0 = 0;
        }
        /* Wait until the other task is queued (it may be done).  If a
         * preemption took this task's slot, the other one runs and waits
         * for this one to queue: stop waiting, and queue. */
        scheduler_stats(&s);
        holds = TRUE;
        while (!s.waiting && InterlockedCompareExchange((LONG *)arg, 0, 0) < 1 && (holds = holds_slot()))
        {
            SwitchToThread();
            scheduler_stats(&s);
        }
        if (s.waiting && holds)
            handoff_t0 = now_s();
        check(IHostTaskManager_LeaveRuntime(manager, 0), "LeaveRuntime");
    }
    InterlockedIncrement((LONG *)arg);
    check(IHostTaskManager_EnterRuntime(manager), "EnterRuntime");
    return 0;
}

static double run_handoff(void)
{
    IHostTask *a, *b;
    LONG done = 0;

    handoff_sum = 0;
    handoff_count = 0;
    handoff_t0 = 0;
    check(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), "QI");
    check(IHostTaskManager_CreateTask(manager, 0, turn_task, &done, &a), "CreateTask");
    check(IHostTaskManager_CreateTask(manager, 0, turn_task, &done, &b), "CreateTask");
    check(IHostTask_Start(a), "Start");
    check(IHostTask_Start(b), "Start");
    check(IHostTask_Join(a, INFINITE, 0), "Join");
    check(IHostTask_Join(b, INFINITE, 0), "Join");
    IHostTask_Release(a);
    IHostTask_Release(b);
    IHostTaskStatistics_Release(statistics);
    return handoff_count ? handoff_sum / handoff_count : 0;
}

struct ping
{
    HANDLE mine, theirs;
};

static volatile double ping_t0;
static double ping_sum;
static LONG ping_count;

static DWORD WINAPI ping_thread(void *arg)
{
    struct ping *p = arg;
    int i;

    for (i = 0; i < switches; i++)
    {
        WaitForSingleObject(p->mine, INFINITE);
        if (ping_t0 > 0)
        {
            ping_sum += now_s() - ping_t0;
            ping_count++;
        }
        ping_t0 = now_s();
        SetEvent(p->theirs);
    }
    return 0;
}

/* The same with WaitOnAddress: each thread waits for the word to turn to
 * its number, then hands it to the other. */
static volatile LONG turn_word;

struct address_ping
{
    LONG mine, theirs;
};

static DWORD WINAPI address_ping_thread(void *arg)
{
    struct address_ping *p = arg;
    LONG seen;
    int i;

    for (i = 0; i < switches; i++)
    {
        while ((seen = turn_word) != p->mine)
            WaitOnAddress(&turn_word, &seen, sizeof(seen), INFINITE);
        if (ping_t0 > 0)
        {
            ping_sum += now_s() - ping_t0;
            ping_count++;
        }
        ping_t0 = now_s();
        InterlockedExchange(&turn_word, p->theirs);
        WakeByAddressSingle((void *)&turn_word);
    }
    return 0;
}

static double run_address_ping_pong(void)
{
    struct address_ping p1 = { 1, 2 }, p2 = { 2, 1 };
    HANDLE threads[2];

    ping_sum = 0;
    ping_count = 0;
    ping_t0 = 0;
    turn_word = 0;
    threads[0] = CreateThread(NULL, 0, address_ping_thread, &p1, 0, NULL);
    threads[1] = CreateThread(NULL, 0, address_ping_thread, &p2, 0, NULL);
    InterlockedExchange(&turn_word, 1);
    WakeByAddressAll((void *)&turn_word);
    WaitForMultipleObjects(2, threads, TRUE, INFINITE);
    CloseHandle(threads[0]);
    CloseHandle(threads[1]);
    return ping_count ? ping_sum / ping_count : 0;
}

static double run_ping_pong(void)
{
    HANDLE e1 = CreateEventW(NULL, FALSE, FALSE, NULL), e2 = CreateEventW(NULL, FALSE, FALSE, NULL);
    struct ping p1 = { e1, e2 }, p2 = { e2, e1 };
    HANDLE threads[2];

    ping_sum = 0;
    ping_count = 0;
    ping_t0 = 0;
    threads[0] = CreateThread(NULL, 0, ping_thread, &p1, 0, NULL);
    threads[1] = CreateThread(NULL, 0, ping_thread, &p2, 0, NULL);
    SetEvent(e1);
    WaitForMultipleObjects(2, threads, TRUE, INFINITE);
    CloseHandle(threads[0]);
    CloseHandle(threads[1]);
    CloseHandle(e1);
    CloseHandle(e2);
    return ping_count ? ping_sum / ping_count : 0;
}

int main(int argc, char **argv)
{
    double coop[REPS], tpt[REPS], p99[REPS], p50[REPS], p99_bound[REPS], handoff[REPS], ping[REPS], address[REPS];
    double coop_cpu[REPS], tpt_cpu[REPS], p99_cpu[REPS], rate[REPS];
    double m_coop, m_tpt, m_p99, m_p50, m_p99_bound, m_handoff, m_ping, m_address, work, fair_ms;
    double m_coop_cpu, m_tpt_cpu, m_p99_cpu, m_rate;
    double idle_coop[REPS], idle_tpt[REPS], idle_coop_cpu[REPS], idle_tpt_cpu[REPS];
    double m_idle_coop, m_idle_tpt, m_idle_coop_cpu, m_idle_tpt_cpu;
    double speed[MAX_PROCESSORS], fastest = 0, slowest = 0;
    int nspeed;
    SYSTEM_INFO system;
    UINT slots;
    HT_SCHEDULER_STATS stats;
    const char *json = NULL;
    FILE *out;
    int i, reps = REPS;
    LARGE_INTEGER f;

    for (i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--quick"))
        {
            rounds = 3;     /* at most MAX_ROUNDS */
            switches = 100;
            reps = 1;
        }
        else if (!strcmp(argv[i], "--json") && i + 1 < argc)
            json = argv[++i];
        else
        {
            fprintf(stderr, "usage: hosttask-sched-bench [--quick] [--json FILE]\n");
            return 2;
        }
    }
    QueryPerformanceFrequency(&f);
    frequency = f.QuadPart;
    check(ht_create_host_control(&control), "ht_create_host_control");
    check(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), "GetHostManager");
    GetSystemInfo(&system);
    slots = system.dwNumberOfProcessors ? system.dwNumberOfProcessors : 1;
    nspeed = processor_speeds(speed, (int)slots);
    for (i = 0; i < nspeed; i++)
    {
        if (speed[i] > fastest)
            fastest = speed[i];
        if (speed[i] > 0 && (slowest == 0 || speed[i] < slowest))
            slowest = speed[i];
    }

    for (i = 0; i < reps; i++)
    {
        /* CPU work, calibrated afresh: the machine's speed may drift
         * between repetitions, never within one. */
        rate[i] = work_loop_calibrate(now_s);
        work_loops = (LONG64)(rate[i] * work_us);
        check(ht_set_scheduler(control, 0, 0), "thread-per-task");
        tpt_cpu[i] = run_mixed(&idle_tpt_cpu[i]);
        check(ht_set_scheduler(control, slots, 0), "one slot per processor");
        coop_cpu[i] = run_mixed(&idle_coop_cpu[i]);
        p99_cpu[i] = enter_quantile_s(0.99);
        /* Wall-clock work. */
        work_loops = 0;
        check(ht_set_scheduler(control, 0, 0), "thread-per-task");
        tpt[i] = run_mixed(&idle_tpt[i]);
        check(ht_set_scheduler(control, slots, 0), "one slot per processor");
        coop[i] = run_mixed(&idle_coop[i]);
        check(ht_get_scheduler_stats(control, &stats), "scheduler stats");
        p99[i] = enter_quantile_s(0.99);
        p50[i] = enter_quantile_s(0.5);
        p99_bound[i] = wait_quantile_s(&stats, 0.99);
        check(ht_set_scheduler(control, 1, HANDOFF_QUANTUM_US), "1 slot");
        handoff[i] = run_handoff();
        check(ht_set_scheduler(control, 0, 0), "thread-per-task");
        ping[i] = run_ping_pong();
        address[i] = run_address_ping_pong();
    }
    m_tpt = median_of(tpt, reps);
    m_coop = median_of(coop, reps);
    m_p99 = median_of(p99, reps);
    m_p99_bound = median_of(p99_bound, reps);
    m_p50 = median_of(p50, reps);
    m_handoff = median_of(handoff, reps);
    m_ping = median_of(ping, reps);
    m_address = median_of(address, reps);
    m_tpt_cpu = median_of(tpt_cpu, reps);
    m_coop_cpu = median_of(coop_cpu, reps);
    m_p99_cpu = median_of(p99_cpu, reps);
    m_rate = median_of(rate, reps);
    m_idle_coop = median_of(idle_coop, reps);
    m_idle_tpt = median_of(idle_tpt, reps);
    m_idle_coop_cpu = median_of(idle_coop_cpu, reps);
    m_idle_tpt_cpu = median_of(idle_tpt_cpu, reps);
    work = (double)TASKS * rounds;
    /* Each task waits, per round, for the others' work on the slots. */
    fair_ms = (double)(TASKS > (int)slots ? TASKS - (int)slots : 0) * work_us / 1000.0 / slots;

    printf("hosttask-sched-bench: %d tasks x %d rounds of %d us CPU + a blocking Sleep(1) P/Invoke; "
            "median of %d\n", TASKS, rounds, work_us, reps);
    printf("%-46s %14s %14s %8s\n", "measure", "value", "reference", "ratio");
    printf("%u slots (one per processor), quantum %u ms\n", slots, HT_SCHEDULER_DEFAULT_QUANTUM_US / 1000u);
    printf("CPU work: a loop of %.0f turns (%.0f a microsecond, calibrated)\n", m_rate * work_us, m_rate);
    printf("each processor's speed (turns a microsecond):");
    for (i = 0; i < nspeed; i++)
        printf(" %.0f", speed[i]);
    printf("; the slowest %.2fx the fastest\n", fastest > 0 ? slowest / fastest : 0);
    printf("%-46s %11.0f /s %11.0f /s %7.2fx\n", "throughput, cooperative vs thread-per-task (rounds/s)",
            work / m_coop_cpu, work / m_tpt_cpu, m_tpt_cpu / m_coop_cpu);
    printf("%-46s %11.0f ms %11.0f ms\n", "  processors idle meanwhile (coarse: OS ticks)", m_idle_coop_cpu * 1e3,
            m_idle_tpt_cpu * 1e3);
    printf("%-46s %11.3f ms %11.3f ms %7.2fx\n", "p99 slot wait vs fair-share wait", m_p99_cpu * 1e3,
            fair_ms, fair_ms > 0 ? m_p99_cpu * 1e3 / fair_ms : 0);
    printf("Wall-clock work (spin until 500 us have passed: credits a descheduled thread)\n");
    printf("%-46s %11.0f /s %11.0f /s %7.2fx\n", "throughput, cooperative vs thread-per-task (rounds/s)",
            work / m_coop, work / m_tpt, m_tpt / m_coop);
    printf("%-46s %11.0f ms %11.0f ms\n", "  processors idle meanwhile (coarse: OS ticks)", m_idle_coop * 1e3,
            m_idle_tpt * 1e3);
    printf("%-46s %11.3f ms %11.3f ms %7.2fx\n", "p99 slot wait vs fair-share wait", m_p99 * 1e3,
            fair_ms, fair_ms > 0 ? m_p99 * 1e3 / fair_ms : 0);
    printf("%-46s %11.3f ms %14s %8s\n", "  p99 from the scheduler's histogram (bound)", m_p99_bound * 1e3, "", "");
    printf("%-46s %11.3f ms %11.3f ms %7.2fx\n", "  p99 vs median slot wait (fairness)", m_p99 * 1e3, m_p50 * 1e3,
            m_p50 > 0 ? m_p99 / m_p50 : 0);
    printf("%-46s %11.2f us %11.2f us %7.2fx\n", "slot hand-off vs event ping-pong", m_handoff * 1e6,
            m_ping * 1e6, m_handoff / m_ping);
    printf("%-46s %11.2f us %11.2f us %7.2fx\n", "slot hand-off vs WaitOnAddress ping-pong", m_handoff * 1e6,
            m_address * 1e6, m_address > 0 ? m_handoff / m_address : 0);

    if (json)
    {
        if (!(out = fopen(json, "w")))
            return 1;
        fprintf(out,
                "{\"tasks\": %d, \"rounds\": %d, \"workUs\": %d, \"repetitions\": %d,\n"
                " \"throughputCooperative\": %.1f, \"throughputThreadPerTask\": %.1f, \"throughputRatio\": %.4f,\n"
                " \"p99SlotWaitMs\": %.4f, \"handoffUs\": %.3f, \"pingPongUs\": %.3f, \"handoffRatio\": %.4f,\n"
                " \"slots\": %u, \"quantumMs\": %.3f, \"waitOnAddressPingPongUs\": %.3f,"
                " \"handoffVsWaitOnAddress\": %.4f, \"fairWaitMs\": %.4f, \"p99SlotWaitBoundMs\": %.4f,\n"
                " \"medianSlotWaitMs\": %.4f, \"loopsPerUs\": %.2f, \"throughputCooperativeCpuWork\": %.1f,\n"
                " \"throughputThreadPerTaskCpuWork\": %.1f, \"throughputRatioCpuWork\": %.4f,"
                " \"p99SlotWaitCpuWorkMs\": %.4f,\n",
                TASKS, rounds, work_us, reps, work / m_coop, work / m_tpt, m_tpt / m_coop, m_p99 * 1e3,
                m_handoff * 1e6, m_ping * 1e6, m_handoff / m_ping, slots, HT_SCHEDULER_DEFAULT_QUANTUM_US / 1000.0,
                m_address * 1e6, m_address > 0 ? m_handoff / m_address : 0, fair_ms, m_p99_bound * 1e3,
                m_p50 * 1e3, m_rate, work / m_coop_cpu, work / m_tpt_cpu, m_tpt_cpu / m_coop_cpu, m_p99_cpu * 1e3);
        fprintf(out, " \"idleCooperativeCpuWorkMs\": %.1f, \"idleThreadPerTaskCpuWorkMs\": %.1f,\n",
                m_idle_coop_cpu * 1e3, m_idle_tpt_cpu * 1e3);
        fprintf(out, " \"idleCooperativeMs\": %.1f, \"idleThreadPerTaskMs\": %.1f,\n", m_idle_coop * 1e3,
                m_idle_tpt * 1e3);
        fprintf(out, " \"processorSpeedRatio\": %.4f, \"processorLoopsPerUs\": [",
                fastest > 0 ? slowest / fastest : 0);
        for (i = 0; i < nspeed; i++)
            fprintf(out, "%s%.2f", i ? ", " : "", speed[i]);
        fprintf(out, "]}\n");
        fclose(out);
    }
    check(ht_set_scheduler(control, 0, 0), "thread-per-task");
    IHostTaskManager_Release(manager);
    IHostControl_Release(control);
    return 0;
}
