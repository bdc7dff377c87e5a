/*
 * A multi-threaded stress test of the portable core (src/), for TSan
 * natively and for the Windows build under Wine.
 *
 * Eight worker threads, for a few seconds (HT_STRESS_SECONDS, default 3):
 * - each runs random valid and invalid transition sequences on a task of
 *   its own, attaching (ht__nest_init) and destroying tasks as it goes;
 * - each publishes its current task, and snapshots the other workers'
 *   tasks while their owners run, under a per-slot lock that only the
 *   snapshot and the owner's unpublishing take (as com/ does with its
 *   registry): the snapshot must never see a torn state;
 * - worker 0 replaces the CallNeedsHostHook policy while all of them look
 *   targets up; every policy answers the probe targets the same way;
 * - profiling is switched on and off, so transitions record per-target
 *   times while workers also call ht__target_record, snapshot the target
 *   table and (worker 1) reset it.
 * In the first phase strict mode is off, and every consistent snapshot
 * satisfies an equality between its counters; in the second the main
 * thread switches strict mode on and off, and only an inequality holds.
 * A last phase records known counts into the target table from all
 * threads at once and checks them exactly.
 *
 * Workers never call CMocka's assertions (they are not thread-safe): they
 * count failures, print the first ones, and the test asserts none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "test_assert.h"

#include "core.h"

#define STRESS_JOIN_TIMEOUT_MS 120000u
#include "stress_shim.h"

atomic_ulong failures;   /* CHECK's count (tests/stress_shim.h) */

#ifdef _WIN32
typedef CRITICAL_SECTION lock_t;
#define lock_init(l) InitializeCriticalSection(l)
#define lock_free(l) DeleteCriticalSection(l)
#define lock_take(l) EnterCriticalSection(l)
#define lock_drop(l) LeaveCriticalSection(l)
#else
typedef pthread_mutex_t lock_t;
#define lock_init(l) pthread_mutex_init(l, NULL)
#define lock_free(l) pthread_mutex_destroy(l)
#define lock_take(l) pthread_mutex_lock(l)
#define lock_drop(l) pthread_mutex_unlock(l)
#endif

#define NWORKERS 8
#define MAX_DEPTH 200            /* workers close frames beyond this */
#define MAX_POLICIES 2000        /* replaced policies stay allocated until the end */
#define NPROBES 32               /* targets every policy answers the same way */
#define NRANDOM 512              /* targets policies list at random */
#define NPROFILED 256            /* targets of LeaveRuntime and ht__target_record */
#define FINAL_RECORDS 20000      /* per thread, in the exact phase */

enum phase
{
    PHASE_LENIENT = 1,   /* strict mode stays off */
    PHASE_STRICT,        /* the main thread switches strict mode */
    PHASE_STOP
};

struct slot
{
    lock_t lock;
    struct ht__nest *task;   /* the owner's current task, or NULL */
    unsigned long generation;
};

static struct slot slots[NWORKERS];
static atomic_int phase;
static atomic_int acks;          /* workers that have seen PHASE_STRICT */
static atomic_ulong total_ops, total_snapshots, unread_snapshots, total_lookups, total_policies, total_tasks;

/* Probes: hooked targets never need the hook (default TRUE, listed), and
 * unhooked ones always do (default FALSE, listed), in every policy. */
static size_t hooked[NPROBES], unhooked[NPROBES], random_targets[NRANDOM], profiled[NPROFILED];

/* ---- Workers, each given its index ---- */

typedef void (*thread_fn)(int index);
struct indexed_start
{
    thread_fn fn;
    int index;
};

static void start_indexed(void *arg)
{
    struct indexed_start *start = arg;

    start->fn(start->index);
}

static void run_threads(thread_fn fn)
{
    struct indexed_start starts[NWORKERS];
    struct thread threads[NWORKERS];
    int i;

    for (i = 0; i < NWORKERS; i++)
    {
        starts[i].fn = fn;
        starts[i].index = i;
        thread_start(&threads[i], start_indexed, &starts[i]);
    }
    for (i = 0; i < NWORKERS; i++)
        thread_join(&threads[i]);
}

/* ---- Checks on one snapshot ---- */

static uint64_t opens(const struct ht__nest_counters *c)
{
    return c->transitions[HT__LEAVE] + c->transitions[HT__REVERSE_ENTER];
}

static uint64_t closes(const struct ht__nest_counters *c)
{
    return c->transitions[HT__ENTER] + c->transitions[HT__REVERSE_LEAVE]
            + c->imbalances[HT__UNCLOSED_LEAVE] + c->imbalances[HT__UNCLOSED_REVERSE_ENTER];
}

/* Every write section of the core keeps depth = opens - closes, where
 * closes counts discarded frames: a torn read breaks it.  A strict-mode
 * refusal counts an unclosed frame it did not discard, so while strict
 * mode may have been on, only closes >= opens - depth holds. */
static void check_counters(const struct ht__nest_counters *c, int exact, const char *who)
{
    CHECK(c->depth <= c->max_depth, "%s: depth %llu > max_depth %llu", who, (unsigned long long)c->depth,
            (unsigned long long)c->max_depth);
    CHECK(c->depth <= opens(c), "%s: depth %llu > opens %llu", who, (unsigned long long)c->depth,
            (unsigned long long)opens(c));
    if (exact)
        CHECK(c->depth == opens(c) - closes(c), "%s: depth %llu, opens %llu, closes %llu", who,
                (unsigned long long)c->depth, (unsigned long long)opens(c), (unsigned long long)closes(c));
    else
        CHECK(c->depth + closes(c) >= opens(c), "%s: depth %llu, opens %llu, closes %llu", who,
                (unsigned long long)c->depth, (unsigned long long)opens(c), (unsigned long long)closes(c));
    CHECK(c->imbalances[HT__NESTING_LIMIT] == 0, "%s: nesting limit hit", who);
}

/* Later snapshots of one task never go back. */
static void check_monotonic(const struct ht__nest_counters *before, const struct ht__nest_counters *after)
{
    int i;

    CHECK(after->max_depth >= before->max_depth, "max_depth went back");
    CHECK(after->native_ns >= before->native_ns, "native_ns went back");
    for (i = 0; i < HT__TRANSITION_KINDS; i++)
        CHECK(after->transitions[i] >= before->transitions[i], "transitions[%d] went back", i);
    for (i = 0; i < HT__IMBALANCE_KINDS; i++)
        CHECK(after->imbalances[i] >= before->imbalances[i], "imbalances[%d] went back", i);
}

static int profiled_target(size_t target)
{
    int i;

    for (i = 0; i < NPROFILED; i++)
        if (profiled[i] == target)
            return 1;
    return 0;
}

static void check_targets_snapshot(void)
{
    struct ht__target_counters *out = malloc((HT__TARGET_SLOTS + 1) * sizeof(*out));
    size_t n, i, j;

    CHECK(out != NULL, "out of memory");
    if (!out)
        return;
    n = ht__targets_snapshot(out, HT__TARGET_SLOTS + 1);
    CHECK(n <= NPROFILED + 1, "%zu targets listed", n);
    for (i = 0; i < n && i <= HT__TARGET_SLOTS; i++)
    {
        CHECK(out[i].calls, "target %#zx with no calls", out[i].target);
        CHECK(!out[i].target || profiled_target(out[i].target), "target %#zx never recorded", out[i].target);
        for (j = 0; j < i; j++)
            CHECK(out[j].target != out[i].target, "target %#zx listed twice", out[i].target);
    }
    free(out);
}

/* ---- The workers ---- */

/* What each policy answers for the random targets: policy k (from 0)
 * hooks target i iff policy_answer[k][i]; published (policy_published =
 * k + 1) after ht__hook_policy_set installs it, and filled in before. */
static _Atomic unsigned char policy_answer[MAX_POLICIES + 1][NRANDOM];
static atomic_ulong policy_published, policy_filled;

/* A lookup racing a replacement may see any policy from the one published
 * before it began (first - 1) to the last one filled in when it ended
 * (filled - 1): a policy is filled in before it is installed. */
static int answer_possible(size_t index, unsigned long first, unsigned long filled, int answer)
{
    unsigned long k;

    for (k = first ? first - 1 : 0; k < filled; k++)
        if (atomic_load_explicit(&policy_answer[k][index], memory_order_relaxed) == answer)
            return 1;
    return 0;
}

static void check_hooks(uint64_t *rng)
{
    unsigned long first, last;
    size_t index;
    int i, answer;

    for (i = 0; i < 8; i++)
    {
        answer = ht__call_needs_hook(hooked[next_random(rng) % NPROBES]);
        CHECK(answer == 0, "a hooked probe needs the hook: %d", answer);
        answer = ht__call_needs_hook(unhooked[next_random(rng) % NPROBES]);
        CHECK(answer == 1, "an unhooked probe needs no hook: %d", answer);
        index = next_random(rng) % NRANDOM;
        first = atomic_load_explicit(&policy_published, memory_order_acquire);
        answer = ht__call_needs_hook(random_targets[index]);
        last = atomic_load_explicit(&policy_filled, memory_order_acquire);
        CHECK(answer_possible(index, first, last, answer),
                "target %#zx: answer %d from no policy installed while it was asked", random_targets[index], answer);
    }
    atomic_fetch_add_explicit(&total_lookups, 24, memory_order_relaxed);
}

static void replace_policy(uint64_t *rng)
{
    size_t list[NPROBES + NRANDOM];
    size_t n = 0, i, j, extra = next_random(rng) % NRANDOM;
    int hook_by_default = (int)(next_random(rng) & 1);
    unsigned long k = atomic_load_explicit(&policy_published, memory_order_relaxed);

    for (i = 0; i < NPROBES; i++)
        list[n++] = hook_by_default ? hooked[i] : unhooked[i];
    for (i = 0; i < NRANDOM; i++)
        atomic_store_explicit(&policy_answer[k][i], (unsigned char)hook_by_default, memory_order_relaxed);
    for (i = 0; i < extra; i++)
    {
        list[n++] = random_targets[j = next_random(rng) % NRANDOM];
        atomic_store_explicit(&policy_answer[k][j], (unsigned char)!hook_by_default, memory_order_relaxed);
    }
    atomic_store_explicit(&policy_filled, k + 1, memory_order_release);
    CHECK(ht__hook_policy_set(hook_by_default, list, n) == HT__OK, "ht__hook_policy_set failed");
    atomic_store_explicit(&policy_published, k + 1, memory_order_release);
    atomic_fetch_add_explicit(&total_policies, 1, memory_order_relaxed);
}

static void observe(int self, uint64_t *rng, int exact, unsigned long *generations,
        struct ht__nest_counters *last)
{
    int i = (int)(next_random(rng) % NWORKERS);
    struct ht__nest_counters c;
    struct slot *slot = &slots[i];
    char who[32];

    if (i == self)
        return;
    lock_take(&slot->lock);
    if (slot->task)
    {
        /* A snapshot gives up, with a zeroed copy, on an owner stopped in
         * the middle of one update for longer than its patience (src/nesting.c,
         * ht__nest_snapshot): under TSan on a loaded machine a descheduled
         * owner is that.  Such a copy says nothing about the counters, so
         * it is counted and not compared. */
        if (!ht__nest_snapshot(slot->task, &c))
            atomic_fetch_add_explicit(&unread_snapshots, 1, memory_order_relaxed);
        else
        {
            snprintf(who, sizeof(who), "snapshot of worker %d", i);
            check_counters(&c, exact, who);
            if (generations[i] == slot->generation)
                check_monotonic(&last[i], &c);
            generations[i] = slot->generation;
            last[i] = c;
            atomic_fetch_add_explicit(&total_snapshots, 1, memory_order_relaxed);
        }
    }
    lock_drop(&slot->lock);
}

struct owned
{
    struct ht__nest *task;
    uint64_t leaves, reverse_enters;   /* opens the core accepted */
};

static void attach(int self, struct owned *own)
{
    struct slot *slot = &slots[self];

    own->task = malloc(sizeof(*own->task));
    CHECK(own->task != NULL, "out of memory");
    if (!own->task)
        return;
    ht__nest_init(own->task);
    own->leaves = own->reverse_enters = 0;
    lock_take(&slot->lock);
    slot->task = own->task;
    slot->generation++;
    lock_drop(&slot->lock);
    atomic_fetch_add_explicit(&total_tasks, 1, memory_order_relaxed);
}

/* The thread exits: unpublish (no snapshot can be running once the lock
 * is ours), then destroy, open frames and all. */
static void detach(int self, struct owned *own)
{
    struct slot *slot = &slots[self];

    lock_take(&slot->lock);
    slot->task = NULL;
    lock_drop(&slot->lock);
    ht__nest_destroy(own->task);
    free(own->task);
    own->task = NULL;
}

static void check_own(struct owned *own, int exact)
{
    struct ht__nest_counters c;

    ht__nest_snapshot(own->task, &c);
    check_counters(&c, exact, "own snapshot");
    CHECK(c.transitions[HT__LEAVE] == own->leaves, "%llu leaves counted, %llu accepted",
            (unsigned long long)c.transitions[HT__LEAVE], (unsigned long long)own->leaves);
    CHECK(c.transitions[HT__REVERSE_ENTER] == own->reverse_enters, "%llu reverse enters counted, %llu accepted",
            (unsigned long long)c.transitions[HT__REVERSE_ENTER], (unsigned long long)own->reverse_enters);
}

static void run_ops(struct owned *own, uint64_t *rng, int count)
{
    struct ht__nest *task = own->task;
    uint64_t r;
    int i, n;

    for (i = 0; i < count; i++)
    {
        r = next_random(rng);
        /* Keep the nesting bounded: past MAX_DEPTH, only close. */
        if (ht__nest_depth(task) > MAX_DEPTH)
            r = (r & ~(uint64_t)7) | 4 | (r & 1);
        switch (r & 7)
        {
        case 0: case 1:
            if (ht__leave_runtime(task, profiled[(r >> 8) % NPROFILED]) == HT__OK)
                own->leaves++;
            break;
        case 2: case 3:
            if (ht__reverse_enter_runtime(task) == HT__OK)
                own->reverse_enters++;
            break;
        case 4:
            ht__enter_runtime(task);
            break;
        case 5:
            ht__reverse_leave_runtime(task);
            break;
        case 6:
            /* A run of one kind: one frame, however long. */
            for (n = (int)((r >> 8) % 64); n > 0; n--)
                if (ht__leave_runtime(task, profiled[(r >> 16) % NPROFILED]) == HT__OK)
                    own->leaves++;
            break;
        default:
            /* Alternation: a P/Invoke, a callback, a P/Invoke, ... */
            for (n = (int)((r >> 8) % 32); n > 0; n--)
            {
                if (ht__leave_runtime(task, profiled[(r >> 16) % NPROFILED]) == HT__OK)
                    own->leaves++;
                if (ht__reverse_enter_runtime(task) == HT__OK)
                    own->reverse_enters++;
            }
            break;
        }
    }
    atomic_fetch_add_explicit(&total_ops, (unsigned long)count, memory_order_relaxed);
}

static void worker(int self)
{
    uint64_t rng = 0x9E3779B97F4A7C15ull * (uint64_t)(self + 1);
    unsigned long generations[NWORKERS] = {0};
    struct ht__nest_counters last[NWORKERS];
    struct owned own = {0};
    unsigned long iteration;
    int p, acked = 0, exact, i;

    memset(last, 0, sizeof(last));
    for (iteration = 0; (p = atomic_load(&phase)) != PHASE_STOP; iteration++)
    {
        if (p == PHASE_STRICT && !acked)
        {
            acked = 1;
            atomic_fetch_add(&acks, 1);
        }
        /* Exact checks only while no strict-mode refusal can have happened. */
        exact = !acked;

        if (!own.task)
            attach(self, &own);
        if (!own.task)
            break;
        run_ops(&own, &rng, 16 + (int)(next_random(&rng) % 64));
        check_own(&own, exact);
        if (next_random(&rng) % 16 == 0)
            detach(self, &own);

        for (i = 0; i < 4; i++)
            observe(self, &rng, exact, generations, last);
        check_hooks(&rng);
        for (i = 0; i < 4; i++)
            ht__target_record(profiled[next_random(&rng) % NPROFILED], next_random(&rng) % 1000);
        if (iteration % 32 == (unsigned long)self)
            check_targets_snapshot();

        switch (self)
        {
        case 0:
            if (iteration % 8 == 0 && atomic_load(&total_policies) < MAX_POLICIES)
                replace_policy(&rng);
            break;
        case 1:
            if (iteration % 64 == 0)
                ht__targets_reset();
            break;
        case 2:
            if (iteration % 16 == 0)
                atomic_store(&ht__profiling, !atomic_load(&ht__profiling));
            break;
        }
    }
    if (own.task)
        detach(self, &own);
}

/* Every thread records known counts at once; nobody resets. */
static void record_known(int self)
{
    int i;

    for (i = 0; i < FINAL_RECORDS; i++)
        ht__target_record(profiled[(i * 7 + self) % NPROFILED], 3);
}

static void check_known_records(void)
{
    static struct ht__target_counters out[HT__TARGET_SLOTS + 1];
    uint64_t expected[NPROFILED] = {0}, overflow = 0, total = 0;
    unsigned char listed[NPROFILED] = {0};
    size_t n, i;
    int self, j, overflow_index = -1;

    for (self = 0; self < NWORKERS; self++)
        for (j = 0; j < FINAL_RECORDS; j++)
            expected[(j * 7 + self) % NPROFILED]++;
    n = ht__targets_snapshot(out, HT__TARGET_SLOTS + 1);
    assert_le(n, NPROFILED + 1);
    for (i = 0; i < n; i++)
    {
        total += out[i].calls;
        assert_int_equal(out[i].native_ns, 3 * out[i].calls);
        if (!out[i].target)
        {
            overflow_index = (int)i;
            continue;
        }
        for (j = 0; j < NPROFILED && profiled[j] != out[i].target; j++)
            ;
        assert_lt(j, NPROFILED);
        assert_false(listed[j]);
        listed[j] = 1;
        assert_int_equal(out[i].calls, expected[j]);
    }
    /* Targets whose probe window was full count in the overflow bucket. */
    for (j = 0; j < NPROFILED; j++)
        if (!listed[j])
            overflow += expected[j];
    if (overflow)
        assert_int_equal(out[overflow_index].calls, overflow);
    else
        assert_int_equal(overflow_index, -1);
    assert_int_equal(total, (uint64_t)NWORKERS * FINAL_RECORDS);
}

static void test_stress(void **state)
{
    const char *env = getenv("HT_STRESS_SECONDS");
    double seconds = env ? atof(env) : 3.0;
    uint64_t start, lenient_ms = (uint64_t)(seconds * 600), strict_ms = (uint64_t)(seconds * 400);
    struct indexed_start starts[NWORKERS];
    struct thread threads[NWORKERS];
    uint64_t rng = 42;
    unsigned long toggles = 0;
    int i;

    for (i = 0; i < NPROBES; i++)
    {
        hooked[i] = i ? 0x10000000 + (size_t)i * 64 : 0;
        unhooked[i] = 0x20000000 + (size_t)i * 64;
    }
    for (i = 0; i < NRANDOM; i++)
        random_targets[i] = 0x30000000 + (size_t)i * 8;
    for (i = 0; i < NPROFILED; i++)
        profiled[i] = 0x40000000 + (size_t)i * 16;
    for (i = 0; i < NWORKERS; i++)
        lock_init(&slots[i].lock);
    replace_policy(&rng);
    atomic_store(&ht__strict, 0);
    atomic_store(&phase, PHASE_LENIENT);

    start = now_ms();
    for (i = 0; i < NWORKERS; i++)
    {
        starts[i].fn = worker;
        starts[i].index = i;
        thread_start(&threads[i], start_indexed, &starts[i]);
    }
    sleep_ms((unsigned int)lenient_ms);

    /* Strict mode changes only once every worker has stopped exact checks. */
    atomic_store(&phase, PHASE_STRICT);
    start = now_ms();
    while (atomic_load(&acks) < NWORKERS && now_ms() - start < 60000)
        sleep_ms(1);
    assert_int_equal(atomic_load(&acks), NWORKERS);
    start = now_ms();
    while (now_ms() - start < strict_ms)
    {
        atomic_store(&ht__strict, (int)(++toggles & 1));
        sleep_ms(1);
    }
    atomic_store(&phase, PHASE_STOP);
    for (i = 0; i < NWORKERS; i++)
        thread_join(&threads[i]);
    atomic_store(&ht__strict, 0);
    atomic_store(&ht__profiling, 0);

    printf("stress_core: %lu operations on %lu tasks, %lu snapshots (%lu more given up on a stopped owner), "
            "%lu lookups, %lu policies, %lu strict toggles\n", atomic_load(&total_ops), atomic_load(&total_tasks),
            atomic_load(&total_snapshots), atomic_load(&unread_snapshots), atomic_load(&total_lookups),
            atomic_load(&total_policies), toggles);
    assert_int_equal(atomic_load(&failures), 0);
    /* Giving up is for an owner stopped mid-update: most snapshots read. */
    assert_gt(atomic_load(&total_snapshots), atomic_load(&unread_snapshots));

    ht__targets_reset();
    run_threads(record_known);
    check_known_records();

    ht__hook_policy_clear();
    ht__targets_reset();
    for (i = 0; i < NWORKERS; i++)
        lock_free(&slots[i].lock);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_stress),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
