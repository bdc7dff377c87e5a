/*
 * libFuzzer target for the portable core (src/): random sequences of
 * operations on several tasks, each result compared with a reference model
 * written independently here.
 *
 * The model keeps a plain explicit stack with one entry per open call (no
 * run-length encoding), finds the frame a closing call closes by scanning
 * it, and ties each profiled LeaveRuntime to its own stack entry: the entry
 * leaving the stack, closed or discarded, is the end of that call.  The
 * core keeps runs of frames and a separate profile stack ordered by depth;
 * the two must agree after every operation on every counter.
 *
 * What is fuzzed: the four transitions (with targets), strict mode on and
 * off, profiling on and off, snapshots, tasks attached (ht__nest_init) and
 * exited (ht__nest_destroy), bursts that reach the nesting limit, the
 * per-target table (records, snapshots, resets) and the CallNeedsHostHook
 * policy.  Affinity and delay-abort live in com/, not in the core, so they
 * are not modelled here.
 *
 * The fuzzer supplies the core's platform layer itself: a clock that moves
 * only when the input says so, which makes every measured time exact.
 *
 * Input format: a stream of operations.  The low 5 bits of an operation's
 * first byte choose the operation, bits 5-6 the task it applies to; some
 * operations read more bytes.  Running out of bytes ends the input.
 */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NTASKS 4
/* Model stacks are capped so that one input costs bounded memory and time:
 * four times the frame limit is enough to reach HT__MAX_FRAMES. */
#define MODEL_MAX_ENTRIES (4u * HT__MAX_FRAMES)

/* ---- The platform layer: a clock the input drives ---- */

static uint64_t fake_now;

void ht__platform_yield(void)
{
}

uint64_t ht__platform_now_ns(void)
{
    return fake_now;
}

/* ---- Targets ---- */

/* 0, a few ordinary addresses, and a cluster whose hashes share one home
 * slot of the per-target table, more of them than a probe sequence visits,
 * so that some land in the overflow bucket. */
#define NORMAL_TARGETS 15
#define COLLIDING_TARGETS 72
#define NTARGETS (1 + NORMAL_TARGETS + COLLIDING_TARGETS)
static size_t targets[NTARGETS];

static void init_targets(void)
{
    size_t i, n = 0, t, home = 0;

    targets[n++] = 0;
    for (i = 0; i < NORMAL_TARGETS; i++)
        targets[n++] = 0x401000 + i * 0x40;
    for (t = 0x7ff000000000ull; n < NTARGETS; t += 16)
    {
        size_t slot = ht__hook_hash(t) % HT__TARGET_SLOTS;

        if (n == 1 + NORMAL_TARGETS)
            home = slot;
        if (slot == home)
            targets[n++] = t;
    }
}

static int target_index(size_t target)
{
    int i;

    for (i = 0; i < NTARGETS; i++)
        if (targets[i] == target)
            return i;
    return -1;
}

/* ---- Failure reporting ---- */

static unsigned long op_number;

#define CHECK(cond, ...) \
    do \
    { \
        if (!(cond)) \
        { \
            fprintf(stderr, "fuzz_core: operation %lu: check failed: %s: ", op_number, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
            abort(); \
        } \
    } while (0)

/* ---- The reference model ---- */

struct entry
{
    unsigned char kind;      /* HT__FRAME_OUT or HT__FRAME_IN */
    unsigned char profiled;  /* a LeaveRuntime made while profiling */
    unsigned char target;    /* index into targets[] */
    uint64_t start;
};

struct model_task
{
    int attached;
    struct entry *stack;
    size_t n, capacity;
    size_t open[2];          /* entries of each kind */
    uint32_t runs;           /* alternations of kind: what the core calls frames */
    uint32_t profiled;       /* profiled entries on the stack */
    uint64_t max_depth;
    uint64_t transitions[HT__TRANSITION_KINDS];
    uint64_t imbalances[HT__IMBALANCE_KINDS];
    uint64_t native_ns;
};

struct model_target
{
    uint64_t calls;
    uint64_t native_ns;
};

static struct ht__nest tasks[NTASKS];
static struct model_task models[NTASKS];
static struct model_target model_targets[NTARGETS];
/* Targets the table has shown in a slot of their own: keys are never
 * removed, so such a target must keep that slot in every later snapshot. */
static unsigned char has_slot[NTARGETS];
static int model_strict, model_profiling;
static int policy_set, policy_default;
static unsigned char policy_listed[NTARGETS];

/* Whether the target table may hold calls: resetting and reading its
 * 4,096 slots costs more than a short input, so it is skipped when not. */
static int targets_dirty = 1;

static void model_record(int target, uint64_t elapsed)
{
    targets_dirty = 1;
    model_targets[target].calls++;
    model_targets[target].native_ns += elapsed;
}

static int model_push(struct model_task *m, unsigned int kind, enum ht__transition what, int target)
{
    int new_run = !m->n || m->stack[m->n - 1].kind != kind;
    struct entry *e;

    if (new_run && m->runs == HT__MAX_FRAMES)
    {
        m->imbalances[HT__NESTING_LIMIT]++;
        return HT__E_NOMEM;
    }
    if (m->n == m->capacity)
    {
        m->capacity = m->capacity ? m->capacity * 2 : 64;
        if (!(m->stack = realloc(m->stack, m->capacity * sizeof(*m->stack))))
            abort();
    }
    e = &m->stack[m->n++];
    e->kind = kind;
    e->profiled = what == HT__LEAVE && model_profiling && m->profiled < HT__MAX_FRAMES;
    e->target = (unsigned char)target;
    e->start = fake_now;
    m->profiled += e->profiled;
    m->open[kind]++;
    m->runs += new_run;
    if (m->n > m->max_depth)
        m->max_depth = m->n;
    m->transitions[what]++;
    return HT__OK;
}

/* Takes the top entry off; returns the time of a profiled LeaveRuntime
 * that ends with it, or -1. */
static int64_t model_pop(struct model_task *m)
{
    struct entry *e = &m->stack[--m->n];

    m->open[e->kind]--;
    if (!m->n || m->stack[m->n - 1].kind != e->kind)
        m->runs--;
    if (!e->profiled)
        return -1;
    m->profiled--;
    model_record(e->target, fake_now - e->start);
    return (int64_t)(fake_now - e->start);
}

static int model_close(struct model_task *m, unsigned int kind, enum ht__transition what)
{
    enum ht__imbalance unmatched = kind == HT__FRAME_OUT ? HT__UNMATCHED_ENTER : HT__UNMATCHED_REVERSE_LEAVE;
    enum ht__imbalance unclosed = kind == HT__FRAME_OUT ? HT__UNCLOSED_REVERSE_ENTER : HT__UNCLOSED_LEAVE;
    int64_t elapsed, outermost = -1;

    if (!m->open[kind])
    {
        /* Nothing of this kind open: refused (strict) or absorbed. */
        m->imbalances[unmatched]++;
        return model_strict ? HT__E_STATE : HT__OK;
    }
    if (m->stack[m->n - 1].kind != kind && model_strict)
    {
        m->imbalances[unclosed]++;
        return HT__E_STATE;
    }
    /* Entries of the other kind above ours: their closing calls never came. */
    while (m->stack[m->n - 1].kind != kind)
    {
        m->imbalances[unclosed]++;
        if ((elapsed = model_pop(m)) >= 0)
            outermost = elapsed;
    }
    if ((elapsed = model_pop(m)) >= 0)
        outermost = elapsed;
    m->transitions[what]++;
    /* The task's time outside the runtime ends with its outermost profiled call. */
    if (outermost >= 0 && !m->profiled)
        m->native_ns += (uint64_t)outermost;
    return HT__OK;
}

static void model_attach(int t)
{
    struct model_task *m = &models[t];
    struct entry *stack = m->stack;
    size_t capacity = m->capacity;

    memset(m, 0, sizeof(*m));
    m->stack = stack;
    m->capacity = capacity;
    m->attached = 1;
}

/* ---- Comparisons ---- */

static void compare_task(int t)
{
    struct model_task *m = &models[t];
    struct ht__nest *task = &tasks[t];
    struct ht__nest_counters c;
    int i;

    memset(&c, 0xa5, sizeof(c));
    ht__nest_snapshot(task, &c);
    CHECK(!(atomic_load(&task->seq) & 1u), "task %d left mid-update", t);
    CHECK(c.depth == m->n, "task %d: depth %llu, model %zu", t, (unsigned long long)c.depth, m->n);
    CHECK(c.max_depth == m->max_depth, "task %d: max_depth %llu, model %llu", t,
            (unsigned long long)c.max_depth, (unsigned long long)m->max_depth);
    CHECK(ht__nest_runs(task) == m->runs, "task %d: runs %u, model %u", t, ht__nest_runs(task), m->runs);
    CHECK(task->nframes <= task->capacity, "task %d: nframes %u, capacity %u", t, task->nframes,
            task->capacity);
    CHECK(ht__nest_depth(task) == m->n, "task %d: owner's depth %llu, model %zu", t,
            (unsigned long long)ht__nest_depth(task), m->n);
    CHECK((task->frames == task->inline_frames) == (task->capacity == HT__INLINE_FRAMES),
            "task %d: frames storage and capacity %u disagree", t, task->capacity);
    CHECK(task->nprofile == m->profiled, "task %d: nprofile %u, model %u", t, task->nprofile, m->profiled);
    for (i = 0; i < HT__TRANSITION_KINDS; i++)
        CHECK(c.transitions[i] == m->transitions[i], "task %d: transitions[%d] %llu, model %llu", t, i,
                (unsigned long long)c.transitions[i], (unsigned long long)m->transitions[i]);
    for (i = 0; i < HT__IMBALANCE_KINDS; i++)
        CHECK(c.imbalances[i] == m->imbalances[i], "task %d: imbalances[%d] %llu, model %llu", t, i,
                (unsigned long long)c.imbalances[i], (unsigned long long)m->imbalances[i]);
    CHECK(c.native_ns == m->native_ns, "task %d: native_ns %llu, model %llu", t,
            (unsigned long long)c.native_ns, (unsigned long long)m->native_ns);
}

static void compare_targets(void)
{
    static struct ht__target_counters out[HT__TARGET_SLOTS + 2];
    unsigned char listed[NTARGETS] = {0};
    uint64_t overflow_calls = model_targets[0].calls, overflow_ns = model_targets[0].native_ns;
    size_t n, i;
    int t, overflow_seen = 0;

    n = ht__targets_snapshot(out, HT__TARGET_SLOTS + 2);
    CHECK(n <= HT__TARGET_SLOTS + 1, "%zu targets", n);
    for (i = 0; i < n; i++)
    {
        CHECK(out[i].calls, "target %#zx listed with no calls", out[i].target);
        if (!out[i].target)
        {
            CHECK(!overflow_seen, "two overflow buckets");
            overflow_seen = 1;
            continue;
        }
        t = target_index(out[i].target);
        CHECK(t > 0, "target %#zx was never recorded", out[i].target);
        CHECK(!listed[t], "target %#zx listed twice", out[i].target);
        listed[t] = has_slot[t] = 1;
        CHECK(out[i].calls == model_targets[t].calls && out[i].native_ns == model_targets[t].native_ns,
                "target %#zx: %llu calls, %llu ns; model %llu, %llu", out[i].target,
                (unsigned long long)out[i].calls, (unsigned long long)out[i].native_ns,
                (unsigned long long)model_targets[t].calls, (unsigned long long)model_targets[t].native_ns);
    }
    /* Whatever is not in a slot of its own is in the overflow bucket. */
    for (t = 1; t < NTARGETS; t++)
    {
        if (listed[t] || !model_targets[t].calls)
            continue;
        CHECK(!has_slot[t], "target %#zx lost its slot", targets[t]);
        overflow_calls += model_targets[t].calls;
        overflow_ns += model_targets[t].native_ns;
    }
    for (i = 0; i < n; i++)
        if (!out[i].target)
            break;
    CHECK(overflow_seen == !!overflow_calls, "overflow bucket %s, model %llu calls",
            overflow_seen ? "listed" : "not listed", (unsigned long long)overflow_calls);
    if (overflow_seen)
        CHECK(out[i].calls == overflow_calls && out[i].native_ns == overflow_ns,
                "overflow: %llu calls, %llu ns; model %llu, %llu", (unsigned long long)out[i].calls,
                (unsigned long long)out[i].native_ns, (unsigned long long)overflow_calls,
                (unsigned long long)overflow_ns);
}

static void check_hook(int t)
{
    int expected = !policy_set ? 1 : policy_listed[t] ? !policy_default : policy_default;
    int got = ht__call_needs_hook(targets[t]);

    CHECK(got == expected, "CallNeedsHostHook(%#zx) = %d, model %d", targets[t], got, expected);
}

/* ---- The operations ---- */

struct input
{
    const uint8_t *p, *end;
};

static int next(struct input *in, unsigned int *value)
{
    if (in->p == in->end)
        return 0;
    *value = *in->p++;
    return 1;
}

static void attach(int t)
{
    if (models[t].attached)
        ht__nest_destroy(&tasks[t]);
    ht__nest_init(&tasks[t]);
    model_attach(t);
}

/* One transition on task t, compared with the model. */
static void transition(int t, int which, int target)
{
    struct ht__nest *task = &tasks[t];
    struct model_task *m = &models[t];
    int got, expected;

    if (!m->attached)
        attach(t);
    switch (which)
    {
    case HT__LEAVE:
        if (m->n >= MODEL_MAX_ENTRIES)
            return;
        got = ht__leave_runtime(task, targets[target]);
        expected = model_push(m, HT__FRAME_OUT, HT__LEAVE, target);
        break;
    case HT__REVERSE_ENTER:
        if (m->n >= MODEL_MAX_ENTRIES)
            return;
        got = ht__reverse_enter_runtime(task);
        expected = model_push(m, HT__FRAME_IN, HT__REVERSE_ENTER, target);
        break;
    case HT__ENTER:
        got = ht__enter_runtime(task);
        expected = model_close(m, HT__FRAME_OUT, HT__ENTER);
        break;
    default:
        got = ht__reverse_leave_runtime(task);
        expected = model_close(m, HT__FRAME_IN, HT__REVERSE_LEAVE);
        break;
    }
    CHECK(got == expected, "task %d, transition %d: status %d, model %d", t, which, got, expected);
}

static void set_policy(struct input *in)
{
    unsigned int b, v, count, i;
    size_t *list;
    int status;

    if (!next(in, &b))
        return;
    count = b >> 1;
    if (!(list = malloc((count + 1) * sizeof(*list))))
        abort();
    memset(policy_listed, 0, sizeof(policy_listed));
    for (i = 0; i < count && next(in, &v); i++)
    {
        list[i] = targets[v % NTARGETS];
        policy_listed[v % NTARGETS] = 1;
    }
    /* An odd default on purpose: any non-zero value means TRUE. */
    status = ht__hook_policy_set((b & 1) ? (int)b : 0, i ? list : NULL, i);
    CHECK(status == HT__OK, "ht__hook_policy_set: %d", status);
    policy_set = 1;
    policy_default = b & 1;
    free(list);
    for (i = 0; i < NTARGETS; i++)
        check_hook((int)i);
}

/* Calls bursts may make per input: four times the frame limit. */
static unsigned int burst_budget;

static void burst(int t, struct input *in)
{
    unsigned int lo, hi, mode, n, i, which;

    if (!next(in, &lo) || !next(in, &hi) || !next(in, &mode))
        return;
    /* Up to 256 calls, or with a marker byte up to 65,536: enough to reach
     * the nesting limit, and rare enough not to slow the fuzzer down. */
    n = (lo + 1) * (hi == 0xff ? 256 : 1);
    if (n > burst_budget)
        n = burst_budget;
    burst_budget -= n;
    /* mode: bit 0 close instead of open, bit 1 alternate kinds, bit 2 the
     * first kind, bits 3-7 the target. */
    for (i = 0; i < n; i++)
    {
        which = ((mode >> 2) ^ ((mode & 2) ? i : 0)) & 1;
        if (mode & 1)
            transition(t, which ? HT__REVERSE_LEAVE : HT__ENTER, 0);
        else
            transition(t, which ? HT__REVERSE_ENTER : HT__LEAVE, (int)((mode >> 3) % NTARGETS));
    }
}

static void reset_globals(void)
{
    int t;

    atomic_store(&ht__strict, 0);
    atomic_store(&ht__profiling, 0);
    model_strict = model_profiling = 0;
    ht__hook_policy_clear();
    policy_set = 0;
    if (targets_dirty)
    {
        ht__targets_reset();
        memset(model_targets, 0, sizeof(model_targets));
        targets_dirty = 0;
    }
    fake_now = 1000;
    burst_budget = 4 * HT__MAX_FRAMES;
    for (t = 0; t < NTASKS; t++)
        models[t].attached = 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    init_targets();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, data + size };
    unsigned int b, v, v2;
    int t, op;

    reset_globals();
    for (op_number = 0; next(&in, &b); op_number++)
    {
        op = b & 31;
        t = (b >> 5) & (NTASKS - 1);
        switch (op)
        {
        case 0: case 1: case 2: case 3: case 4:
            if (next(&in, &v))
                transition(t, HT__LEAVE, (int)(v % NTARGETS));
            break;
        case 5: case 6: case 7: case 8:
            transition(t, HT__ENTER, 0);
            break;
        case 9: case 10: case 11: case 12:
            transition(t, HT__REVERSE_ENTER, 0);
            break;
        case 13: case 14: case 15: case 16:
            transition(t, HT__REVERSE_LEAVE, 0);
            break;
        case 17:
            model_strict = !model_strict;
            atomic_store(&ht__strict, model_strict);
            break;
        case 18:
            model_profiling = !model_profiling;
            atomic_store(&ht__profiling, model_profiling);
            break;
        case 19:
            compare_targets();
            break;
        case 20:
            attach(t);
            break;
        case 21:
            /* The thread exits: its task goes, open calls and all. */
            if (models[t].attached)
            {
                ht__nest_destroy(&tasks[t]);
                CHECK(ht__nest_runs(&tasks[t]) == 0 && tasks[t].nprofile == 0, "task %d not empty after destroy", t);
                models[t].attached = 0;
            }
            break;
        case 22:
            if (next(&in, &v) && next(&in, &v2))
                fake_now += v | v2 << 8;
            break;
        case 23:
            fake_now += 1 + t;
            break;
        case 24:
            ht__targets_reset();
            memset(model_targets, 0, sizeof(model_targets));
            break;
        case 25:
            burst(t, &in);
            break;
        case 26:
            set_policy(&in);
            break;
        case 27:
            if (next(&in, &v))
                check_hook((int)(v % NTARGETS));
            break;
        case 28:
            if (next(&in, &v) && next(&in, &v2))
            {
                ht__target_record(targets[v % NTARGETS], v2);
                model_record((int)(v % NTARGETS), v2);
            }
            break;
        case 29:
            transition(t, HT__LEAVE, 0);
            break;
        default:
            transition(t, op == 30 ? HT__ENTER : HT__REVERSE_LEAVE, 0);
            break;
        }
        for (t = 0; t < NTASKS; t++)
            if (models[t].attached)
                compare_task(t);
    }

    if (targets_dirty)
        compare_targets();
    for (t = 0; t < NTASKS; t++)
    {
        if (!models[t].attached)
            continue;
        compare_task(t);
        ht__nest_destroy(&tasks[t]);
        models[t].attached = 0;
    }
    ht__hook_policy_clear();
    return 0;
}
