/*
 * Per-task transition nesting: the slow paths (growth, imbalance) and
 * snapshots.  The fast paths are inline in core.h.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

atomic_int ht__strict;

void ht__nest_init(struct ht__nest *task)
{
    memset(task, 0, sizeof(*task));
    atomic_init(&task->seq, 0);
    atomic_init(&task->cold, NULL);
    /* A new task is outside the runtime until it comes in. */
    task->top = HT__FRAME_IN;
    task->frames = task->inline_frames;
    task->capacity = HT__INLINE_FRAMES;
}

void ht__nest_destroy(struct ht__nest *task)
{
    struct ht__nest_cold *cold = atomic_load_explicit(&task->cold, memory_order_relaxed);

    if (cold)
    {
        ht__platform_free(cold->profile);
        ht__platform_free(cold);
        atomic_store_explicit(&task->cold, NULL, memory_order_relaxed);
    }
    task->nprofile = 0;
    if (task->frames != task->inline_frames)
        ht__platform_free(task->frames);
    task->frames = task->inline_frames;
    task->capacity = HT__INLINE_FRAMES;
    task->nframes = 0;
    task->top = HT__FRAME_IN;
}

struct ht__nest_cold *ht__nest_cold(struct ht__nest *task)
{
    struct ht__nest_cold *cold = atomic_load_explicit(&task->cold, memory_order_relaxed);

    if (!cold && (cold = ht__platform_alloc(sizeof(*cold))))
        atomic_store_explicit(&task->cold, cold, memory_order_release);
    return cold;
}

/* With no memory for the cold block the count is lost; the call itself
 * goes on as it would have. */
static void count_imbalance(struct ht__nest *task, enum ht__imbalance what, uint64_t n)
{
    struct ht__nest_cold *cold = ht__nest_cold(task);
    unsigned int seq;

    if (!cold)
        return;
    seq = ht__nest_write_begin(task);
    HT__BUMP(cold->imbalances[what], n);
    ht__nest_write_end(task, seq);
}

/* Brings the innermost frame of the array up into an empty top. */
static void pop_frame(struct ht__nest *task)
{
    task->top = task->frames[--task->nframes];
    task->below -= task->top >> 1;
}

ht__status ht__nest_open_slow(struct ht__nest *task, unsigned int kind, enum ht__transition what)
{
    uint32_t n = task->nframes, capacity;
    uint32_t *frames;

    if (task->top < 2)
    {
        /* An empty top of the other kind: the run under it continues if it
         * is ours and not full, else a new one starts. */
        if (n && (task->frames[n - 1] & 1u) == kind && task->frames[n - 1] < HT__FRAME_FULL)
            pop_frame(task);
        else
            task->top = kind;
    }
    else
    {
        /* The innermost frame is of the other kind, or its run is full:
         * it goes under, into the array, and a new run starts. */
        if (n >= HT__MAX_FRAMES - 1)
        {
            /* Refuse rather than grow without bound: see HT__MAX_FRAMES. */
            count_imbalance(task, HT__NESTING_LIMIT, 1);
            return HT__E_NOMEM;
        }
        if (n == task->capacity)
        {
            capacity = task->capacity * 4;
            if (capacity > HT__MAX_FRAMES - 1)
                capacity = HT__MAX_FRAMES - 1;
            if (task->frames == task->inline_frames)
            {
                if ((frames = ht__platform_alloc(capacity * sizeof(*frames))))
                    memcpy(frames, task->inline_frames, sizeof(task->inline_frames));
            }
            else
                frames = ht__platform_realloc(task->frames, capacity * sizeof(*frames));
            if (!frames)
            {
                count_imbalance(task, HT__NESTING_LIMIT, 1);
                return HT__E_NOMEM;
            }
            task->frames = frames;
            task->capacity = (uint16_t)capacity;
        }
        task->frames[n] = task->top;
        task->nframes = (uint16_t)(n + 1);
        task->below += task->top >> 1;
        task->top = kind;
    }
    /* A run of our kind on top, with room: the fast path opens it. */
    return ht__nest_try_open(task, kind, what) ? HT__OK : HT__E_STATE;
}

ht__status ht__nest_close_slow(struct ht__nest *task, unsigned int kind, enum ht__transition what)
{
    uint32_t n, top, i;
    uint64_t discarded;
    struct ht__nest_cold *cold;
    unsigned int seq;
    enum ht__imbalance unmatched = kind == HT__FRAME_OUT ? HT__UNMATCHED_ENTER : HT__UNMATCHED_REVERSE_LEAVE;
    enum ht__imbalance unclosed = kind == HT__FRAME_OUT ? HT__UNCLOSED_REVERSE_ENTER : HT__UNCLOSED_LEAVE;

    /* An empty top stands for nothing: look at the frame under it.  (The
     * direction it kept is the one that frame implies.) */
    if (task->top < 2 && task->nframes)
        pop_frame(task);
    if (ht__nest_try_close(task, kind, what))
        return HT__OK;

    /* The innermost frame is of the other kind, or there is none.  Find the
     * innermost frame this call can close, in the array. */
    n = task->nframes;
    top = task->top;
    for (i = n; i > 0; i--)
        if ((task->frames[i - 1] & 1u) == kind)
            break;

    if (atomic_load_explicit(&ht__strict, memory_order_relaxed))
    {
        /* Strict mode refuses and changes nothing but the diagnostic. */
        count_imbalance(task, i ? unclosed : unmatched, 1);
        return HT__E_STATE;
    }
    if (!i)
    {
        count_imbalance(task, unmatched, 1);
        /* With nothing open at all, the call still says which way the
         * thread went. */
        if (top < 2)
            task->top = kind;
        return HT__OK;
    }

    /* A frame of our kind lies under frames of the other kind: the calls that
     * should have closed those never came (an unwind that skipped them, or a
     * native-born thread).  Close them all, count them, then close ours. */
    discarded = top >> 1;
    for (; n > i; n--)
        discarded += task->frames[n - 1] >> 1;
    task->nframes = (uint16_t)n;
    task->below -= discarded - (top >> 1);
    pop_frame(task);
    cold = ht__nest_cold(task);
    seq = ht__nest_write_begin(task);
    HT__BUMP(task->discarded, discarded);
    if (cold)
        HT__BUMP(cold->imbalances[unclosed], discarded);
    ht__nest_write_end(task, seq);
    return ht__nest_try_close(task, kind, what) ? HT__OK : HT__E_STATE;
}

/* Reads the counters twice, until the two reads agree and no slow path
 * was under way.  Every counter only grows, so two equal reads show that
 * nothing changed in between: the copy is the task's state at that
 * moment.  The fast paths thus need no sequence counter: one store each. */
static void read_counters(struct ht__nest *t, struct ht__nest_counters *out)
{
    struct ht__nest_cold *cold;
    uint64_t opens, closes;
    int i;

    /* The transitions first, with acquire: max_depth is then at least the
     * depth they imply. */
    for (i = 0; i < HT__TRANSITION_KINDS; i++)
        out->transitions[i] = atomic_load_explicit(&t->transitions[i], memory_order_acquire);
    out->max_depth = HT__LOAD(t->max_depth);
    opens = out->transitions[HT__LEAVE] + out->transitions[HT__REVERSE_ENTER];
    closes = out->transitions[HT__ENTER] + out->transitions[HT__REVERSE_LEAVE] + HT__LOAD(t->discarded);
    out->depth = opens - closes;
    cold = atomic_load_explicit(&t->cold, memory_order_acquire);
    for (i = 0; i < HT__IMBALANCE_KINDS; i++)
        out->imbalances[i] = cold ? HT__LOAD(cold->imbalances[i]) : 0;
    out->native_ns = cold ? HT__LOAD(cold->native_ns) : 0;
}

/* How long a snapshot waits for one update to end.  An update is a few
 * stores; one that lasts this long is an owner suspended or killed in the
 * middle of it, which may never end. */
#define SNAPSHOT_PATIENCE_NS 10000000u

int ht__nest_snapshot(const struct ht__nest *task, struct ht__nest_counters *out)
{
    struct ht__nest *t = (struct ht__nest *)task;
    struct ht__nest_counters again;
    unsigned int before, after, spins = 0, stuck = 0;
    uint64_t now, give_up = 0;

    for (;;)
    {
        before = atomic_load_explicit(&t->seq, memory_order_acquire);
        if (!(before & 1u))
        {
            read_counters(t, out);
            atomic_thread_fence(memory_order_acquire);
            read_counters(t, &again);
            atomic_thread_fence(memory_order_acquire);
            after = atomic_load_explicit(&t->seq, memory_order_relaxed);
            if (after == before && !memcmp(out, &again, sizeof(again)))
                return 1;
        }
        /* The owner is between two stores; it will be done in a moment.
         * Only the same update lasting past the patience gives up: counters
         * that keep changing mean an owner that runs, and two reads then
         * agree soon. */
        if (++spins % 64 == 0)
        {
            if (before & 1u)
            {
                now = ht__platform_now_ns();
                if (before != stuck)
                {
                    stuck = before;
                    give_up = now + SNAPSHOT_PATIENCE_NS;
                }
                else if (now >= give_up)
                {
                    memset(out, 0, sizeof(*out));
                    return 0;
                }
            }
            ht__platform_yield();
        }
    }
}
