/*
 * The machine the figures were taken on: processor, Wine, load and busy time
 * (bench/bench.h).
 */
#include "bench.h"

/* ---- The machine ---- */

void read_cpu_times(struct cpu_times *t)
{
    unsigned long long v[10] = { 0 };
    FILE *f = fopen("Z:\\proc\\stat", "r");
    int i, n;

    memset(t, 0, sizeof(*t));
    if (!f)
        return;
    n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
            &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 8)
        return;
    /* user nice system idle iowait irq softirq steal (guest time is in user) */
    for (i = 0; i < 8; i++)
        t->total += v[i];
    t->idle = v[3] + v[4];
    t->steal = v[7];
    t->ok = TRUE;
}

void cpu_usage(const struct cpu_times *a, const struct cpu_times *b, struct machine *m)
{
    double total = (double)(b->total - a->total);

    m->busy_percent = m->steal_percent = -1;
    if (!a->ok || !b->ok || total <= 0)
        return;
    m->busy_percent = 100.0 * (total - (double)(b->idle - a->idle)) / total;
    m->steal_percent = 100.0 * (double)(b->steal - a->steal) / total;
}

void read_load(char *buf, size_t size)
{
    /* Wine maps the Unix root to Z:; best effort, for the record only. */
    FILE *f = fopen("Z:\\proc\\loadavg", "r");
    char *nl;

    snprintf(buf, size, "unknown");
    if (!f)
        return;
    if (fgets(buf, (int)size, f) && (nl = strchr(buf, '\n')))
        *nl = 0;
    fclose(f);
}

void describe_machine(struct machine *m)
{
    unsigned int regs[12], leaf;
    const char *(CDECL *wine_get_version)(void);
    SYSTEM_INFO info;
    char *p;

    memset(m, 0, sizeof(*m));
    snprintf(m->cpu, sizeof(m->cpu), "unknown");
    if (__get_cpuid_max(0x80000000, NULL) >= 0x80000004)
    {
        for (leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002 + leaf, &regs[leaf * 4], &regs[leaf * 4 + 1], &regs[leaf * 4 + 2],
                    &regs[leaf * 4 + 3]);
        memcpy(m->cpu, regs, 48);
        m->cpu[48] = 0;
        for (p = m->cpu; *p == ' '; p++)
            ;
        memmove(m->cpu, p, strlen(p) + 1);
    }
    GetSystemInfo(&info);
    m->processors = info.dwNumberOfProcessors;
    wine_get_version = (void *)GetProcAddress(GetModuleHandleW(L"ntdll.dll"), "wine_get_version");
    m->wine = wine_get_version ? wine_get_version() : "not Wine";
}
