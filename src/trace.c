/*
 * The event trace's rings (see trace.h): the snapshot that reads a ring
 * while its owner writes, and the scheduler's events.
 */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

atomic_int ht__tracing;
atomic_int ht__transition_hooks;

static _Atomic(ht__trace_sched_map) sched_map;

struct ht__trace_ring *ht__trace_ring_create(uint64_t task_id, uint32_t window)
{
    struct ht__trace_ring *ring;
    uint64_t slots = 2;

    if (!window)
        window = 1;
    /* A power of two above the window: one slot more than the events kept
     * is what lets a snapshot tell a slot being overwritten (see below). */
    while (slots < (uint64_t)window + 1)
        slots <<= 1;
    if (!(ring = ht__platform_alloc(sizeof(*ring) + slots * sizeof(ring->slots[0]))))
        return NULL;
    ring->mask = slots - 1;
    ring->window = window;
    ring->task_id = task_id;
    return ring;
}

void ht__trace_ring_free(struct ht__trace_ring *ring)
{
    struct ht__trace_ring *retired;

    while (ring)
    {
        retired = ring->retired;
        ht__platform_free(ring);
        ring = retired;
    }
}

void ht__trace_ring_reset(struct ht__trace_ring *ring)
{
    /* Release: a snapshot that loads this base (acquire) then loads a head
     * no older than the one read here, so it never sees base > head. */
    atomic_store_explicit(&ring->base, atomic_load_explicit(&ring->head, memory_order_acquire),
            memory_order_release);
}

/*
 * The snapshot, against a writer that never waits.
 *
 * Event i lives in slots[i & mask] from the put that wrote it until the put
 * of event i + slots overwrites it.  The snapshot:
 *
 *  1. loads base (acquire), then head (acquire): every event below head is
 *     complete in memory as far as this thread can see (the put's release
 *     store of head);
 *  2. copies the events it wants, [first, head), with relaxed loads;
 *  3. fences with acquire and loads head again: head2.
 *
 * A copied slot may be torn: the owner overwrote it, wholly or in part,
 * during step 2.  Suppose some field copied for event i came from the put
 * of a later event j = i + k * slots (k >= 1).  That put began with a
 * release fence after its own earlier store of head = j; the field was
 * stored after the fence and read before this thread's acquire fence, so
 * the two fences synchronise, and the load of head2 sees at least j.  So
 * any event i <= head2 - slots may be torn, and any event above it is
 * whole.  The snapshot keeps only events i >= head2 - window, and since
 * window <= slots - 1, those are all above head2 - slots: whatever it
 * keeps is whole, and while the owner is idle (head2 == head) it keeps the
 * whole window.  The events it cannot keep are reported as dropped, as
 * the ring's own overwrites are.
 *
 * Nothing here writes to the ring, so any number of snapshots may run at
 * once, and the owner never waits for one.
 */
void ht__trace_snapshot(const struct ht__trace_ring *ring, struct ht__trace_event *out, uint64_t capacity,
        struct ht__trace_counts *counts)
{
    uint64_t base = atomic_load_explicit(&ring->base, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&ring->head, memory_order_acquire);
    uint64_t first, n, i, head2, start, skip, word;
    const struct ht__trace_slot *slot;

    first = head > ring->window ? head - ring->window : 0;
    if (first < base)
        first = base;
    n = head - first;
    if (n > capacity)
        n = capacity;
    for (i = 0; i < n; i++)
    {
        slot = &ring->slots[(first + i) & ring->mask];
        out[i].time_ns = atomic_load_explicit(&slot->time_ns, memory_order_relaxed);
        out[i].arg = atomic_load_explicit(&slot->arg, memory_order_relaxed);
        word = atomic_load_explicit(&slot->word, memory_order_relaxed);
        out[i].kind = (uint32_t)word;
        out[i].detail = (uint32_t)(word >> 32);
    }
    atomic_thread_fence(memory_order_acquire);
    head2 = atomic_load_explicit(&ring->head, memory_order_relaxed);

    /* The first event known whole. */
    start = head2 > ring->window ? head2 - ring->window : 0;
    if (start < first)
        start = first;
    if (start > head)
        start = head;
    skip = start - first;
    if (skip > n)
        skip = n;
    if (skip)
        memmove(out, out + skip, (size_t)(n - skip) * sizeof(*out));
    counts->recorded = head - base;
    counts->dropped = start - base;
    counts->kept = head - start;
    counts->copied = n - skip;
}

void ht__hooks_set(int bit, int on)
{
    if (on)
        atomic_fetch_or(&ht__transition_hooks, bit);
    else
        atomic_fetch_and(&ht__transition_hooks, ~bit);
}

void ht__trace_set_on(int on)
{
    atomic_store(&ht__tracing, on ? 1 : 0);
    ht__hooks_set(HT__HOOK_TRACING, on);
}

void ht__trace_set_sched_map(ht__trace_sched_map map)
{
    atomic_store(&sched_map, map);
}

void ht__trace_sched_event(struct ht__sched_task *self, unsigned int kind, unsigned int detail,
        struct ht__sched_task *other)
{
    ht__trace_sched_map map = atomic_load_explicit(&sched_map, memory_order_acquire);
    struct ht__trace_ring *ring;
    uint64_t id = 0, other_id = 0;

    if (!map || !(ring = map(self, &id)))
        return;
    if (other)
        map(other, &other_id);
    ht__trace_put(ring, kind, detail, other_id);
}
