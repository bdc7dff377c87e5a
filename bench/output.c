/*
 * The results: rows, the printed table and the JSON, written with the
 * project's JSON writer (common/json.h).
 */
#include "bench.h"

/* ---- Results ---- */

#define MAX_ROWS 40
static struct row rows[MAX_ROWS];
int nrows;

struct row *add_row(const char *item, const char *what, double value, const char *unit)
{
    struct row *r = &rows[nrows < MAX_ROWS - 1 ? nrows++ : nrows];

    memset(r, 0, sizeof(*r));
    r->item = item;
    snprintf(r->what, sizeof(r->what), "%s", what);
    r->value = value;
    r->unit = unit;
    r->reference_value = NAN;
    r->ratio = NAN;
    r->judged = NAN;
    r->spread = NAN;
    if (!isfinite(value))
        fail("no result for %s", what);
    return r;
}

void row_reference(struct row *r, const char *reference, double value, double ratio,
        const char *ratio_means)
{
    snprintf(r->reference, sizeof(r->reference), "%s", reference);
    r->reference_value = value;
    r->ratio = ratio;
    r->ratio_means = ratio_means;
    r->judged = ratio;
}

void row_target(struct row *r, const char *op, double target)
{
    r->op = op;
    r->target = target;
}

static const char *row_result(const struct row *r)
{
    if (!r->op)
        return "info";
    if (!isfinite(r->judged))
        return "n/a";
    if (!strcmp(r->op, "<="))
        return r->judged <= r->target ? "MET" : "MISSED";
    return r->judged >= r->target ? "MET" : "MISSED";
}

static void format_number(char *buf, size_t size, double v)
{
    if (!isfinite(v))
        snprintf(buf, size, "-");
    else if (fabs(v) >= 1000)
        snprintf(buf, size, "%.0f", v);
    else if (fabs(v) >= 100)
        snprintf(buf, size, "%.1f", v);
    else
        snprintf(buf, size, "%.2f", v);
}

/* In item order; rows of one item keep the order they were added in. */
void sort_rows(void)
{
    struct row r;
    int i, j;

    for (i = 1; i < nrows; i++)
    {
        r = rows[i];
        for (j = i; j > 0 && strcmp(rows[j - 1].item, r.item) > 0; j--)
            rows[j] = rows[j - 1];
        rows[j] = r;
    }
}

void print_table(FILE *out)
{
    char value[32], ref[32], ratio[48], target[32], spread_text[16];
    int i;

    fprintf(out, "%-4s %-50s %9s %-7s %6s  %-36s %9s  %-24s %-8s %s\n", "item", "measurement", "hosttask",
            "unit", "spread", "reference", "ref", "ratio", "target", "result");
    for (i = 0; i < nrows; i++)
    {
        const struct row *r = &rows[i];

        format_number(value, sizeof(value), r->value);
        format_number(ref, sizeof(ref), r->reference_value);
        if (isfinite(r->ratio))
            snprintf(ratio, sizeof(ratio), "%.2fx %s", r->ratio, r->ratio_means ? r->ratio_means : "");
        else
            snprintf(ratio, sizeof(ratio), "-");
        if (r->op)
            snprintf(target, sizeof(target), "%s %g", r->op, r->target);
        else
            snprintf(target, sizeof(target), "-");
        if (isfinite(r->spread))
            snprintf(spread_text, sizeof(spread_text), "%.0f%%", r->spread);
        else
            snprintf(spread_text, sizeof(spread_text), "-");
        fprintf(out, "%-4s %-50s %9s %-7s %6s  %-36s %9s  %-24s %-8s %s\n", r->item, r->what, value, r->unit,
                spread_text, r->reference[0] ? r->reference : "-", ref, ratio, target, row_result(r));
    }
}

/* ---- JSON, with the project's writer (common/json.h) ---- */

static void build_json(FILE *f, const struct machine *m)
{
    int i, j;

    fprintf(f, "{\n  \"benchmark\": \"hosttask\",\n  \"mode\": \"%s\",\n  \"repetitions\": %d,\n",
            opt.quick ? "quick" : "full", opt.reps);
    fprintf(f, "  \"machine\": {\"cpu\": ");
    json_string(f, m->cpu);
    fprintf(f, ", \"processors\": %lu, \"wine\": ", m->processors);
    json_string(f, m->wine);
    fprintf(f, ", \"load_before\": ");
    json_string(f, m->load_before);
    fprintf(f, ", \"load_after\": ");
    json_string(f, m->load_after);
    fprintf(f, ", \"timed_parts_busy_percent\": ");
    json_number(f, m->busy_percent >= 0 ? m->busy_percent : NAN);
    fprintf(f, ", \"timed_parts_steal_percent\": ");
    json_number(f, m->steal_percent >= 0 ? m->steal_percent : NAN);
    fprintf(f, "},\n  \"rows\": [\n");
    for (i = 0; i < nrows; i++)
    {
        const struct row *r = &rows[i];

        fprintf(f, "    {\"item\": ");
        json_string(f, r->item);
        fprintf(f, ", \"measurement\": ");
        json_string(f, r->what);
        fprintf(f, ", \"value\": ");
        json_number(f, r->value);
        fprintf(f, ", \"unit\": ");
        json_string(f, r->unit);
        fprintf(f, ", \"spread_percent\": ");
        json_number(f, r->spread);
        fprintf(f, ", \"reference\": ");
        json_string_or_null(f, r->reference[0] ? r->reference : NULL);
        fprintf(f, ", \"reference_value\": ");
        json_number(f, r->reference_value);
        fprintf(f, ", \"ratio\": ");
        json_number(f, r->ratio);
        fprintf(f, ", \"ratio_means\": ");
        json_string_or_null(f, r->ratio_means);
        fprintf(f, ", \"target\": ");
        if (r->op)
        {
            fprintf(f, "{\"op\": ");
            json_string(f, r->op);
            fprintf(f, ", \"value\": ");
            json_number(f, r->target);
            fprintf(f, ", \"applies_to\": ");
            json_number(f, r->judged);
            fprintf(f, "}");
        }
        else
            fprintf(f, "null");
        fprintf(f, ", \"result\": ");
        json_string(f, row_result(r));
        fprintf(f, "}%s\n", i + 1 < nrows ? "," : "");
    }
    fprintf(f, "  ],\n  \"series\": [\n");
    for (i = 0; i < nseries; i++)
    {
        const struct series *s = all_series[i];

        fprintf(f, "    {\"name\": ");
        json_string(f, s->name);
        fprintf(f, ", \"unit\": ");
        json_string(f, s->unit);
        fprintf(f, ", \"iterations_per_sample\": %lld, \"median\": ", (long long)s->iterations);
        json_number(f, median(s));
        fprintf(f, ", \"samples\": [");
        for (j = 0; j < s->n; j++)
        {
            if (j)
                fprintf(f, ", ");
            json_number(f, s->v[j]);
        }
        fprintf(f, "]}%s\n", i + 1 < nseries ? "," : "");
    }
    fprintf(f, "  ]\n}\n");
}

/* bench/check_json.cmake parses what is written (ctest bench_quick_json). */
BOOL write_json(const char *path, const struct machine *m)
{
    FILE *f;
    BOOL ok;

    if (!(f = fopen(path, "wb")))
    {
        fail("cannot write %s", path);
        return FALSE;
    }
    build_json(f, m);
    ok = !ferror(f);
    if (fclose(f) || !ok)
    {
        fail("cannot write %s", path);
        return FALSE;
    }
    return TRUE;
}
