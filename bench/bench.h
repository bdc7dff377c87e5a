/*
 * hosttask-bench's parts (bench/bench.c: the timed loops, the measurements
 * and main; bench/stats.c: samples; bench/memory.c: the memory
 * measurement; bench/output.c: the table and the JSON; bench/machine.c:
 * the machine the figures were taken on).
 */
#ifndef HOSTTASK_BENCH_H
#define HOSTTASK_BENCH_H

#define COBJMACROS
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cpuid.h>
#include <hosttask/hosttask.h>
#include <winternl.h>

#include "peer.h"
#include "handles.h"
#include "sizes.h"
#include "json.h"

#define MAX_REPS 31
#define TARGETS 1024          /* the hook loops cycle through this many targets */
#define POLICY_TARGETS 1000   /* registered with ht_set_hook_policy */
#define TASK_STACK (64 * 1024)

struct options
{
    BOOL quick;
    int reps;
    const char *json;
    double run_seconds;       /* one timed run of a loop */
    double lifecycle_seconds; /* one timed run of the lifecycle loops */
    LONG tasks;               /* live tasks in the memory measurement */
    int memory_reps;
    const char *only;         /* NULL, or a comma-separated list of parts */
};

/* ---- bench/bench.c ---- */

extern struct options opt;
extern IHostControl *control;
extern IHostTaskManager *hosttask, *floor_obj, *baseline;
void fail(const char *format, ...);
DWORD WINAPI empty_routine(void *arg);

/* ---- bench/stats.c: samples ---- */

struct series
{
    const char *name;
    const char *unit;
    LONG64 iterations;        /* per sample */
    int n;
    double v[MAX_REPS];
};

#define MAX_SERIES 64
extern struct series *all_series[MAX_SERIES];
extern int nseries;
struct series *series_new(const char *name, const char *unit);
void series_add(struct series *s, double value);
double median(const struct series *s);
double spread(const struct series *s);

/* ---- bench/output.c: results, the table, the JSON ---- */

struct row
{
    const char *item;
    char what[80];
    double value;
    const char *unit;
    char reference[56];
    double reference_value;
    double ratio;             /* NAN: none */
    const char *ratio_means;  /* how the ratio is formed */
    const char *op;           /* "<=", ">=", or NULL: information only */
    double target;
    double judged;            /* the figure the target applies to */
    double spread;            /* of the hosttask figure, percent */
};

struct machine
{
    char cpu[49];
    DWORD processors;
    char load_before[64], load_after[64];
    /* The whole machine over the timed parts (items 1-5), from the Linux
     * side: how busy it was, this benchmark included, and how much time
     * the hypervisor stole.  Negative when unknown. */
    double busy_percent, steal_percent;
    const char *wine;
};

extern int nrows;
struct row *add_row(const char *item, const char *what, double value, const char *unit);
void row_reference(struct row *r, const char *reference, double value, double ratio,
        const char *ratio_means);
void row_target(struct row *r, const char *op, double target);
void sort_rows(void);
void print_table(FILE *out);
BOOL write_json(const char *path, const struct machine *m);

/* ---- bench/machine.c ---- */

/* The first line of /proc/stat: jiffies per state, all CPUs together. */
struct cpu_times
{
    unsigned long long total, idle, steal;
    BOOL ok;
};

void read_cpu_times(struct cpu_times *t);
void cpu_usage(const struct cpu_times *a, const struct cpu_times *b, struct machine *m);
void read_load(char *buf, size_t size);
void describe_machine(struct machine *m);

/* ---- bench/memory.c ---- */

void measure_memory(void);

#endif
