/*
 * Per-task transition nesting: the slow paths (growth, imbalance) and
 * snapshots.  The fast paths are inline in core.h.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

atomic_int ht__strict;

void ht__task_init(struct ht__task *task)
{
    memset(task, 0, sizeof(*task));
    atomic_init(&task->seq, 0);
    task->frames = task->inline_frames;
    task->capacity = HT_INLINE_FRAMES;
}

void ht__task_destroy(struct ht__task *task)
{
    free(task->profile);
    task->profile = NULL;
    task->nprofile = task->profile_capacity = 0;
    if (task->frames != task->inline_frames)
        free(task->frames);
    task->frames = task->inline_frames;
    task->capacity = HT_INLINE_FRAMES;
    task->nframes = 0;
}

static void count_imbalance(struct ht__task *task, enum ht__imbalance what, uint64_t n)
{
    ht__task_write_begin(task);
    HT_BUMP(task->imbalances[what], n);
    ht__task_write_end(task);
}

ht__status ht__task_open_slow(struct ht__task *task, unsigned int kind, enum ht__transition what)
{
    uint32_t n = task->nframes, capacity;
    uint32_t *frames;

    if (n == task->capacity)
    {
        /* Refuse rather than grow without bound: see HT_MAX_FRAMES. */
        if (task->capacity >= HT_MAX_FRAMES)
        {
            count_imbalance(task, HT_NESTING_LIMIT, 1);
            return HT_E_NOMEM;
        }
        capacity = task->capacity * 4;
        if (capacity > HT_MAX_FRAMES)
            capacity = HT_MAX_FRAMES;
        if (task->frames == task->inline_frames)
        {
            if ((frames = malloc(capacity * sizeof(*frames))))
                memcpy(frames, task->inline_frames, sizeof(task->inline_frames));
        }
        else
            frames = realloc(task->frames, capacity * sizeof(*frames));
        if (!frames)
        {
            count_imbalance(task, HT_NESTING_LIMIT, 1);
            return HT_E_NOMEM;
        }
        task->frames = frames;
        task->capacity = capacity;
    }
    /* A full run of one kind, or a frame of the other kind: open a new one.
     * ht__task_open() then takes the fast path. */
    return ht__task_open(task, kind, what);
}

ht__status ht__task_close_slow(struct ht__task *task, unsigned int kind, enum ht__transition what)
{
    uint32_t n = task->nframes, i;
    uint64_t discarded = 0;
    enum ht__imbalance unmatched = kind == HT_FRAME_OUT ? HT_UNMATCHED_ENTER : HT_UNMATCHED_REVERSE_LEAVE;
    enum ht__imbalance unclosed = kind == HT_FRAME_OUT ? HT_UNCLOSED_REVERSE_ENTER : HT_UNCLOSED_LEAVE;

    /* The innermost frame is of the other kind, or there is none.  Find the
     * innermost frame this call can close. */
    for (i = n; i > 0; i--)
        if ((task->frames[i - 1] & 1u) == kind)
            break;

    if (atomic_load_explicit(&ht__strict, memory_order_relaxed))
    {
        /* Strict mode refuses and changes nothing but the diagnostic. */
        count_imbalance(task, i ? unclosed : unmatched, 1);
        return HT_E_STATE;
    }
    if (!i)
    {
        count_imbalance(task, unmatched, 1);
        return HT_OK;
    }

    /* A frame of our kind lies under frames of the other kind: the calls that
     * should have closed those never came (an unwind that skipped them, or a
     * native-born thread).  Close them all, count them, then close ours. */
    for (; n > i; n--)
        discarded += task->frames[n - 1] >> 1;
    task->nframes = n;
    ht__task_write_begin(task);
    HT_STORE(task->depth, HT_LOAD(task->depth) - discarded);
    HT_BUMP(task->imbalances[unclosed], discarded);
    ht__task_write_end(task);
    return ht__task_close(task, kind, what);
}

void ht__task_snapshot(const struct ht__task *task, struct ht__task_counters *out)
{
    struct ht__task *t = (struct ht__task *)task;
    unsigned int before, after, spins = 0;
    int i;

    for (;;)
    {
        before = atomic_load_explicit(&t->seq, memory_order_acquire);
        if (!(before & 1u))
        {
            out->depth = HT_LOAD(t->depth);
            out->max_depth = HT_LOAD(t->max_depth);
            for (i = 0; i < HT_TRANSITION_KINDS; i++)
                out->transitions[i] = HT_LOAD(t->transitions[i]);
            for (i = 0; i < HT_IMBALANCE_KINDS; i++)
                out->imbalances[i] = HT_LOAD(t->imbalances[i]);
            out->native_ns = HT_LOAD(t->native_ns);
            atomic_thread_fence(memory_order_acquire);
            after = atomic_load_explicit(&t->seq, memory_order_relaxed);
            if (after == before)
                return;
        }
        /* The owner is between two stores; it will be done in a moment. */
        if (++spins % 64 == 0)
            ht__platform_yield();
    }
}
