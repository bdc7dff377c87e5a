/*
 * Opt-in profiling: time outside the runtime per task, and calls and time
 * per P/Invoke target.  It costs a clock read on each LeaveRuntime and
 * EnterRuntime, so it is off unless a host turns it on.
 */
#include "core.h"

#include <stdlib.h>

atomic_int ht__profiling;

/* The per-target table: open addressing, keys claimed with a CAS and never
 * removed, counters added atomically.  Targets that find no slot within
 * MAX_PROBES are added to the overflow slot, reported as target 0. */
#define MAX_PROBES 64

struct target_slot
{
    _Atomic size_t target;
    atomic_uint_fast64_t calls;
    atomic_uint_fast64_t native_ns;
};

static struct target_slot slots[HT__TARGET_SLOTS];
static struct target_slot overflow;

void ht__target_record(size_t target, uint64_t native_ns)
{
    struct target_slot *slot = &overflow;
    size_t i, n, key;

    if (target)
    {
        for (i = ht__hook_hash(target) % HT__TARGET_SLOTS, n = 0; n < MAX_PROBES; n++, i = (i + 1) % HT__TARGET_SLOTS)
        {
            key = atomic_load_explicit(&slots[i].target, memory_order_acquire);
            if (!key)
            {
                if (atomic_compare_exchange_strong_explicit(&slots[i].target, &key, target,
                        memory_order_acq_rel, memory_order_acquire) || key == target)
                {
                    slot = &slots[i];
                    break;
                }
            }
            if (key == target)
            {
                slot = &slots[i];
                break;
            }
        }
    }
    atomic_fetch_add_explicit(&slot->calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&slot->native_ns, native_ns, memory_order_relaxed);
}

size_t ht__targets_snapshot(struct ht__target_counters *out, size_t capacity)
{
    struct ht__target_counters c;
    size_t i, n = 0;

    for (i = 0; i <= HT__TARGET_SLOTS; i++)
    {
        struct target_slot *slot = i < HT__TARGET_SLOTS ? &slots[i] : &overflow;

        c.target = atomic_load_explicit(&slot->target, memory_order_acquire);
        if (!c.target && slot != &overflow)
            continue;
        c.calls = atomic_load_explicit(&slot->calls, memory_order_relaxed);
        c.native_ns = atomic_load_explicit(&slot->native_ns, memory_order_relaxed);
        if (!c.calls)
            continue;
        if (n < capacity)
            out[n] = c;
        n++;
    }
    return n;
}

void ht__targets_reset(void)
{
    size_t i;

    for (i = 0; i < HT__TARGET_SLOTS; i++)
    {
        atomic_store_explicit(&slots[i].calls, 0, memory_order_relaxed);
        atomic_store_explicit(&slots[i].native_ns, 0, memory_order_relaxed);
    }
    atomic_store_explicit(&overflow.calls, 0, memory_order_relaxed);
    atomic_store_explicit(&overflow.native_ns, 0, memory_order_relaxed);
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
        if (!(frames = realloc(cold->profile, capacity * sizeof(*frames))))
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
