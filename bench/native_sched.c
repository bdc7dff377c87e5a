/*
 * native_sched_bench: hosttask-sched-bench's throughput workload on the
 * portable core's scheduler, natively (Linux threads and futexes, no Wine,
 * no COM), to tell what the scheduler costs from what Wine does.
 *
 * 64 threads each run 20 rounds of 500 us of CPU work (a loop of a number
 * of turns calibrated on this machine) and a 1 ms sleep, in three modes:
 *
 *  - free: no scheduler, as thread-per-task mode;
 *  - cooperative: one slot per processor, each round's sleep between a
 *    LeaveRuntime and an EnterRuntime (ht__sched_try_leave or
 *    ht__sched_release, ht__sched_try_enter or ht__sched_acquire, as
 *    com/task_manager.c does);
 *  - placed (with --place): the same, and each task that a release hands a
 *    slot to is first bound to the releasing thread's processor
 *    (sched_setaffinity through ht__sched_grant_hook), then unbound once it
 *    runs.  That is an experiment, not something hosttask does: it shows
 *    how much of the gap to free mode is where the kernel puts the woken
 *    task (docs/scheduler.md, "Where throughput goes").
 *
 * For each mode: rounds per second, and the processors' idle time during
 * the run from /proc/stat (in the kernel's clock ticks, usually 10 ms),
 * each the median of 5 repetitions; and the runaways the scheduler asked
 * to yield and preempted over all repetitions (with the DLL's 4 ms
 * quantum, a task that waits long for a processor after its grant may be
 * one).
 *
 *   native_sched_bench [--quick] [--place]
 *
 * Not a test: ctest runs it once with --quick to prove it works, and never
 * looks at the timings.
 */
#define _GNU_SOURCE
#include "scheduler.h"
#include "work_loop.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TASKS 64
#define REPS 5
#define WORK_US 500
/* The DLL's default quantum (HT_SCHEDULER_DEFAULT_QUANTUM_US, which
 * com/task_manager.c passes for 0): the core itself takes 0 as 1 us. */
#define QUANTUM_US 4000

enum mode
{
    FREE,
    COOPERATIVE,
    PLACED,
    MODES
};

static const char *const mode_names[MODES] = { "free (thread-per-task)", "cooperative", "cooperative, placed" };

struct task
{
    struct ht__sched_task sched; /* first: the grant hook's argument is its address */
    pid_t tid;
    atomic_int bound; /* the grant hook bound it to a processor */
    pthread_t thread;
};

static int rounds = 20, reps = REPS;
static long long work_loops;
static enum mode mode;
static cpu_set_t all_processors;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The processors' idle time so far, in seconds (/proc/stat's idle column
 * of the "cpu" line, in clock ticks). */
static double idle_s(void)
{
    unsigned long long user, nice, system, idle = 0;
    FILE *f = fopen("/proc/stat", "r");

    if (f)
    {
        if (fscanf(f, "cpu %llu %llu %llu %llu", &user, &nice, &system, &idle) != 4)
            idle = 0;
        fclose(f);
    }
    return (double)idle / (double)sysconf(_SC_CLK_TCK);
}

/* The grant hook of the placed mode: on the releasing task's thread, under
 * the scheduler's lock, before the grantee is woken. */
static void bind_to_this_processor(struct ht__sched_task *grantee)
{
    struct task *task = (struct task *)grantee;
    cpu_set_t one;
    int cpu = sched_getcpu();

    if (cpu < 0)
        return;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (!sched_setaffinity(task->tid, sizeof(one), &one))
        atomic_store(&task->bound, 1);
}

/* After a slot wait: a grantee the hook bound may run anywhere again.  (A
 * grantee that saw its grant before the hook bound it stays bound until
 * its next grant: rare, and harmless to the figure.) */
static void unbind(struct task *task)
{
    if (atomic_exchange(&task->bound, 0))
        sched_setaffinity(0, sizeof(all_processors), &all_processors);
}

static void enter(struct task *task)
{
    if (mode != FREE && !ht__sched_try_enter(&task->sched))
    {
        ht__sched_acquire(&task->sched);
        unbind(task);
    }
}

static void leave(struct task *task)
{
    if (mode != FREE && !ht__sched_try_leave(&task->sched))
        ht__sched_release(&task->sched);
}

static void *task_main(void *arg)
{
    struct task *task = arg;
    struct timespec ms = { 0, 1000000 };
    int i;

    task->tid = (pid_t)syscall(SYS_gettid);
    if (mode != FREE)
    {
        ht__sched_acquire(&task->sched); /* the thread's start takes a slot */
        unbind(task);
    }
    for (i = 0; i < rounds; i++)
    {
        work_loop(work_loops); /* managed code: holds the slot */
        leave(task);
        nanosleep(&ms, NULL); /* a blocking native call */
        enter(task);
    }
    if (mode != FREE)
        ht__sched_release(&task->sched);
    return NULL;
}

/* Seconds for TASKS tasks of `rounds` rounds each; *idle: the processors'
 * idle seconds meanwhile; *runaways gains the scheduler's forced yields
 * and preemptions. */
static double run(enum mode m, int slots, double *idle, uint64_t *runaways)
{
    static struct task tasks[TASKS];
    struct ht__sched_stats stats;
    double start, end, idle0;
    int i;

    mode = m;
    ht__sched_grant_hook = m == PLACED ? bind_to_this_processor : NULL;
    if (ht__sched_configure(m == FREE ? 0 : (uint32_t)slots, QUANTUM_US, NULL, NULL) != HT__OK)
    {
        fprintf(stderr, "native_sched_bench: ht__sched_configure failed\n");
        exit(1);
    }
    memset(tasks, 0, sizeof(tasks));
    idle0 = idle_s();
    start = now_s();
    for (i = 0; i < TASKS; i++)
    {
        ht__sched_task_init(&tasks[i].sched);
        if (pthread_create(&tasks[i].thread, NULL, task_main, &tasks[i]))
        {
            fprintf(stderr, "native_sched_bench: pthread_create failed\n");
            exit(1);
        }
    }
    for (i = 0; i < TASKS; i++)
        pthread_join(tasks[i].thread, NULL);
    end = now_s();
    *idle = idle_s() - idle0;
    if (ht__sched_get(&stats))
        *runaways += stats.forced_yields + stats.preemptions;
    for (i = 0; i < TASKS; i++)
        ht__sched_task_destroy(&tasks[i].sched);
    return end - start;
}

int main(int argc, char **argv)
{
    double seconds[MODES][REPS], idle[MODES][REPS], m_seconds[MODES], m_idle[MODES];
    uint64_t runaways[MODES] = { 0 };
    int i, r, slots, modes = COOPERATIVE + 1;
    enum mode m;

    for (i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--quick"))
        {
            rounds = 3;
            reps = 1;
        }
        else if (!strcmp(argv[i], "--place"))
            modes = PLACED + 1;
        else
        {
            fprintf(stderr, "usage: native_sched_bench [--quick] [--place]\n");
            return 2;
        }
    }
    if (sched_getaffinity(0, sizeof(all_processors), &all_processors) || !(slots = CPU_COUNT(&all_processors)))
        slots = 1;
    for (r = 0; r < reps; r++)
    {
        /* Calibrated afresh each repetition, as hosttask-sched-bench does. */
        work_loops = (long long)(work_loop_calibrate(now_s) * WORK_US);
        for (m = FREE; m < (enum mode)modes; m++)
            seconds[m][r] = run(m, slots, &idle[m][r], &runaways[m]);
    }
    for (m = FREE; m < (enum mode)modes; m++)
    {
        m_seconds[m] = median_of(seconds[m], reps);
        m_idle[m] = median_of(idle[m], reps);
    }
    ht__sched_shutdown();

    printf("native_sched_bench: %d tasks x %d rounds of %d us CPU + a 1 ms sleep, %d slots, quantum %d ms; "
           "median of %d\n",
            TASKS, rounds, WORK_US, slots, QUANTUM_US / 1000, reps);
    printf("%-28s %12s %12s %10s %10s\n", "mode", "rounds/s", "vs free", "idle", "runaways");
    for (m = FREE; m < (enum mode)modes; m++)
        printf("%-28s %10.0f/s %11.2fx %7.0f ms %10llu\n", mode_names[m], TASKS * rounds / m_seconds[m],
                m_seconds[FREE] / m_seconds[m], m_idle[m] * 1e3, (unsigned long long)runaways[m]);
    return 0;
}
