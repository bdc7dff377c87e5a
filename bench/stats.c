/*
 * Samples: a named series of figures, its median and spread (bench/bench.h).
 */
#include "bench.h"

/* ---- Samples ---- */

struct series *all_series[MAX_SERIES];
int nseries;

struct series *series_new(const char *name, const char *unit)
{
    struct series *s = calloc(1, sizeof(*s));

    if (!s || nseries == MAX_SERIES)
    {
        fprintf(stderr, "hosttask-bench: out of series\n");
        exit(2);
    }
    s->name = name;
    s->unit = unit;
    all_series[nseries++] = s;
    return s;
}

void series_add(struct series *s, double value)
{
    if (s->n < MAX_REPS)
        s->v[s->n++] = value;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double median(const struct series *s)
{
    double v[MAX_REPS];

    if (!s->n)
        return NAN;
    memcpy(v, s->v, s->n * sizeof(*v));
    qsort(v, s->n, sizeof(*v), compare_double);
    return s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
}

/* (max - min) / median, in percent: how much the repetitions disagreed. */
double spread(const struct series *s)
{
    double lo = INFINITY, hi = -INFINITY, m = median(s);
    int i;

    for (i = 0; i < s->n; i++)
    {
        lo = s->v[i] < lo ? s->v[i] : lo;
        hi = s->v[i] > hi ? s->v[i] : hi;
    }
    return s->n && m > 0 ? (hi - lo) / m * 100 : NAN;
}
