/*
 * Opt-in profiling: time outside the runtime per task, and calls and time
 * per P/Invoke target.  It costs a clock read on each LeaveRuntime and
 * EnterRuntime, so it is off unless a host turns it on.
 */
#include "core.h"

#include <stdlib.h>

atomic_int ht__profiling;

/* The per-target table: open addressing, keys claimed with a CAS,
 * counters added atomically.  Targets that find no slot within MAX_PROBES
 * are added to the overflow slot, reported as target 0.
 *
 * Keys are never removed from a table in use: a Reset (and the task
 * manager's teardown) switches to the other, empty table and clears the
 * old one once no thread can still be using it, so that the keys of one
 * period do not fill the table for the life of the process.  Recorders and
 * snapshots announce themselves in one of two counters (users), chosen by
 * the low bit of phase.  The interleaving argument: a user that loaded the
 * old table's pointer did so after its increment, and before the switch
 * (S); the resetter, after S, waits for users[0] and then users[1] to be
 * seen at zero (C0, C1 > S).  The user's count stays up from before S to
 * its decrement, so it decremented before the C of its counter: once both
 * waits end, nobody holds the old table.  Flipping phase before each wait
 * sends new users to the other counter, so each wait ends once the users
 * already in it finish (they never block: a few atomic additions). */
#define MAX_PROBES 64

struct target_slot
{
    _Atomic size_t target;
    atomic_uint_fast64_t calls;
    atomic_uint_fast64_t native_ns;
};

struct target_table
{
    struct target_slot slots[HT__TARGET_SLOTS];
    struct target_slot overflow;
};

static struct target_table tables[2];
static _Atomic(struct target_table *) current = &tables[0];
static atomic_uint phase;
static atomic_uint users[2];
static atomic_flag resetting = ATOMIC_FLAG_INIT;

static struct target_table *table_enter(unsigned int *index)
{
    *index = atomic_load(&phase) & 1u;
    atomic_fetch_add(&users[*index], 1);
    return atomic_load(&current);
}

static void table_leave(unsigned int index)
{
    atomic_fetch_sub(&users[index], 1);
}

void ht__target_record(size_t target, uint64_t native_ns)
{
    unsigned int index;
    struct target_table *table = table_enter(&index);
    struct target_slot *slot = &table->overflow;
    size_t i, n, key;

    if (target)
    {
        for (i = ht__hook_hash(target) % HT__TARGET_SLOTS, n = 0; n < MAX_PROBES; n++, i = (i + 1) % HT__TARGET_SLOTS)
        {
            key = atomic_load_explicit(&table->slots[i].target, memory_order_acquire);
            if (!key)
            {
                if (atomic_compare_exchange_strong_explicit(&table->slots[i].target, &key, target,
                        memory_order_acq_rel, memory_order_acquire) || key == target)
                {
                    slot = &table->slots[i];
                    break;
                }
            }
            if (key == target)
            {
                slot = &table->slots[i];
                break;
            }
        }
    }
    atomic_fetch_add_explicit(&slot->calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slot->native_ns, native_ns, memory_order_relaxed);
    table_leave(index);
}

size_t ht__targets_snapshot(struct ht__target_counters *out, size_t capacity)
{
    struct ht__target_counters c;
    unsigned int index;
    struct target_table *table = table_enter(&index);
    size_t i, n = 0;

    for (i = 0; i <= HT__TARGET_SLOTS; i++)
    {
        struct target_slot *slot = i < HT__TARGET_SLOTS ? &table->slots[i] : &table->overflow;

        c.target = atomic_load_explicit(&slot->target, memory_order_acquire);
        if (!c.target && slot != &table->overflow)
            continue;
        c.calls = atomic_load_explicit(&slot->calls, memory_order_relaxed);
        c.native_ns = atomic_load_explicit(&slot->native_ns, memory_order_relaxed);
        if (!c.calls)
            continue;
        if (n < capacity)
            out[n] = c;
        n++;
    }
    table_leave(index);
    return n;
}

static void wait_for_users(void)
{
    unsigned int old = atomic_fetch_add(&phase, 1) & 1u;

    while (atomic_load(&users[old]))
        ht__platform_yield();
}

void ht__targets_reset(void)
{
    struct target_table *old;
    size_t i;

    while (atomic_flag_test_and_set(&resetting))
        ht__platform_yield();
    old = atomic_load(&current);
    atomic_store(&current, old == &tables[0] ? &tables[1] : &tables[0]);
    wait_for_users();
    wait_for_users();
    /* Nobody uses the old table now: empty it for the next switch. */
    for (i = 0; i < HT__TARGET_SLOTS; i++)
    {
        atomic_store_explicit(&old->slots[i].target, 0, memory_order_relaxed);
        atomic_store_explicit(&old->slots[i].calls, 0, memory_order_relaxed);
        atomic_store_explicit(&old->slots[i].native_ns, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&old->overflow.calls, 0, memory_order_relaxed);
    atomic_store_explicit(&old->overflow.native_ns, 0, memory_order_relaxed);
    atomic_flag_clear(&resetting);
}

void ht__profile_open(struct ht__nest *task, size_t target)
{
    struct ht__nest_cold *cold = ht__nest_cold(task);
    struct ht__profile_frame *frames;
    uint32_t capacity;

    /* Profiling is best effort: no memory, no sample. */
    if (!cold)
        return;
    if (task->nprofile == cold->profile_capacity)
    {
        if (cold->profile_capacity >= HT__MAX_FRAMES)
            return;
        capacity = cold->profile_capacity ? cold->profile_capacity * 2 : 8;
        if (!(frames = ht__platform_realloc(cold->profile, capacity * sizeof(*frames))))
            return;
        cold->profile = frames;
        cold->profile_capacity = capacity;
    }
    frames = &cold->profile[task->nprofile++];
    frames->target = target;
    frames->depth = ht__nest_depth(task);
    frames->start_ns = ht__platform_now_ns();
}

void ht__profile_close(struct ht__nest *task)
{
    /* nprofile is not 0, so the cold block exists. */
    struct ht__nest_cold *cold = atomic_load_explicit(&task->cold, memory_order_relaxed);
    uint64_t depth = ht__nest_depth(task), now = 0, elapsed;
    struct ht__profile_frame *frame;
    unsigned int seq;

    /* Every profiled LeaveRuntime deeper than the nesting now has ended:
     * the one just closed, and any a lenient close discarded with it. */
    while (task->nprofile && (frame = &cold->profile[task->nprofile - 1])->depth > depth)
    {
        if (!now)
            now = ht__platform_now_ns();
        elapsed = now - frame->start_ns;
        task->nprofile--;
        ht__target_record(frame->target, elapsed);
        if (!task->nprofile)
        {
            seq = ht__nest_write_begin(task);
            HT__BUMP(cold->native_ns, elapsed);
            ht__nest_write_end(task, seq);
        }
    }
}
