/*
 * The portable core of hosttask: per-task transition state and counters.
 *
 * Plain C11, no Windows headers.  The COM layer (com/) finds the calling
 * thread's task through thread-local storage and hands it to the functions
 * here; the native build (Linux) does the same with _Thread_local in its
 * tests.  Nothing in this file takes a lock: a task's state is written only
 * by the thread that owns the task, and read by others only through
 * ht__nest_snapshot(), which never stops the writer.
 */
#ifndef HOSTTASK_CORE_H
#define HOSTTASK_CORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Results of core operations; the COM layer maps them to HRESULTs. */
typedef enum ht__status
{
    HT__OK = 0,
    HT__E_STATE,   /* refused: wrong state (strict mode, unbalanced call) */
    HT__E_NOMEM    /* refused: the nesting could not grow */
} ht__status;

/* The four transitions, in the order the counters keep them. */
enum ht__transition
{
    HT__LEAVE,           /* LeaveRuntime: managed code calls out to native */
    HT__ENTER,           /* EnterRuntime: the native call returned */
    HT__REVERSE_ENTER,   /* ReverseEnterRuntime: native code calls into managed */
    HT__REVERSE_LEAVE,   /* ReverseLeaveRuntime: back to the native caller */
    HT__TRANSITION_KINDS
};

/* Imbalances the default (lenient) mode absorbs and counts. */
enum ht__imbalance
{
    HT__UNMATCHED_ENTER,          /* EnterRuntime with no LeaveRuntime open at all */
    HT__UNMATCHED_REVERSE_LEAVE,  /* ReverseLeaveRuntime with no ReverseEnterRuntime open */
    HT__UNCLOSED_LEAVE,           /* LeaveRuntime frames a ReverseLeaveRuntime had to discard */
    HT__UNCLOSED_REVERSE_ENTER,   /* ReverseEnterRuntime frames an EnterRuntime had to discard */
    HT__NESTING_LIMIT,            /* an opening call refused at HT__MAX_FRAMES */
    HT__IMBALANCE_KINDS
};

/* A frame is a run of opening calls of one kind, run-length encoded as
 * count << 1 | kind, so that a stream of unmatched calls of one kind costs
 * one frame, not one per call.  Only alternating nesting (P/Invoke, callback,
 * P/Invoke, ...) takes new frames, and a real thread runs out of stack long
 * before it could nest HT__MAX_FRAMES times.
 *
 * The innermost frame lives in the task itself (top), the ones under it in
 * an array that alternates kinds.  A stream of P/Invokes then only ever
 * touches top, also inside a callback.  A top whose count is 0 stands for
 * no frame: the innermost open frame is then the array's last, or there is
 * none.  Its kind keeps which way the last transition went: into managed
 * code (HT__FRAME_OUT, after an EnterRuntime) or out to native code
 * (HT__FRAME_IN, after a ReverseLeaveRuntime, and the state of a new task). */
#define HT__FRAME_OUT 0u   /* opened by LeaveRuntime, closed by EnterRuntime */
#define HT__FRAME_IN 1u    /* opened by ReverseEnterRuntime, closed by ReverseLeaveRuntime */
#define HT__INLINE_FRAMES 2
#define HT__MAX_FRAMES 65536u   /* runs, top included: the array holds one fewer */
#define HT__FRAME_MAX_COUNT 0x7fffffffu
#define HT__FRAME_FULL (HT__FRAME_MAX_COUNT << 1)   /* a top at or above it has a full run */

/* Global switches.  ht__strict is read on the imbalanced (slow) paths
 * only; ht__profiling by every LeaveRuntime (a read of a line nobody writes
 * while it stays set). */
extern atomic_int ht__strict;
extern atomic_int ht__profiling;

/* An open LeaveRuntime while profiling: what it called and since when. */
struct ht__profile_frame
{
    size_t target;
    uint64_t start_ns;
    uint64_t depth;     /* the nesting depth this LeaveRuntime opened */
};

/* What a balanced task never needs: imbalance counters and profiling.
 * Allocated by the owner on first use and kept until ht__nest_destroy(). */
struct ht__nest_cold
{
    atomic_uint_fast64_t imbalances[HT__IMBALANCE_KINDS];
    /* Wall time from each outermost LeaveRuntime to its EnterRuntime
     * (callbacks inside included), measured while profiling is on. */
    atomic_uint_fast64_t native_ns;
    uint32_t profile_capacity;
    struct ht__profile_frame *profile;
};

struct ht__nest
{
    /* Odd while a slow path updates several counters at once; snapshots
     * wait for an even value.  The fast paths update one counter each and
     * leave it alone (see ht__nest_snapshot). */
    atomic_uint seq;
    uint32_t top;           /* the innermost frame, see above */
    uint16_t nframes;       /* frames under top, in frames[] */
    uint16_t capacity;      /* of frames[] */
    uint32_t nprofile;      /* open profiled LeaveRuntime calls, in cold->profile */
    uint64_t below;         /* calls open in frames[]: the depth is below + (top >> 1) */
    /* Counters, written by the owner only and never decreasing; atomic so
     * that snapshots read them without a data race.  Relaxed accesses
     * compile to plain moves.  The depth is not stored: a snapshot derives
     * it as opens - closes - discarded. */
    atomic_uint_fast64_t max_depth;
    atomic_uint_fast64_t transitions[HT__TRANSITION_KINDS];
    atomic_uint_fast64_t discarded;     /* frames closed by a lenient close of an outer one */
    uint32_t *frames;
    uint32_t inline_frames[HT__INLINE_FRAMES];
    /* Published by the owner with a release store; snapshots load it. */
    _Atomic(struct ht__nest_cold *) cold;
};

/* A consistent copy of one task's counters. */
struct ht__nest_counters
{
    uint64_t depth;
    uint64_t max_depth;
    uint64_t transitions[HT__TRANSITION_KINDS];
    uint64_t imbalances[HT__IMBALANCE_KINDS];
    uint64_t native_ns;
};

void ht__nest_init(struct ht__nest *task);
void ht__nest_destroy(struct ht__nest *task);
/* 1 with a consistent copy; 0, the copy zeroed, when one update of the
 * owner lasted past the snapshot's patience (about 10 ms): an owner
 * suspended or killed mid-update, which a snapshot must not wait for. */
int ht__nest_snapshot(const struct ht__nest *task, struct ht__nest_counters *out);
/* The owner's cold block, allocated on first use; NULL if memory ran out. */
struct ht__nest_cold *ht__nest_cold(struct ht__nest *task);

/* Slow paths of the inline functions below. */
ht__status ht__nest_open_slow(struct ht__nest *task, unsigned int kind, enum ht__transition what);
ht__status ht__nest_close_slow(struct ht__nest *task, unsigned int kind, enum ht__transition what);

/* Profiling (src/profile.c): the slow halves of LeaveRuntime and of the
 * closing calls, taken only while profiling or while profiled frames are open. */
void ht__profile_open(struct ht__nest *task, size_t target);
void ht__profile_close(struct ht__nest *task);

/* Per-target totals, across all tasks. */
struct ht__target_counters
{
    size_t target;
    uint64_t calls;
    uint64_t native_ns;
};
#define HT__TARGET_SLOTS 4096
/* Copies up to capacity targets that have calls; returns how many have. */
size_t ht__targets_snapshot(struct ht__target_counters *out, size_t capacity);
void ht__targets_reset(void);
void ht__target_record(size_t target, uint64_t native_ns);

/* Supplied by the platform layer. */
void ht__platform_yield(void);        /* give up the processor briefly */
uint64_t ht__platform_now_ns(void);   /* a monotonic clock */
/* The core's heap.  malloc, realloc and free natively; the process heap on
 * Windows, where the test-only fault injection (com/fault.c) can make it
 * fail.  ht__platform_alloc zero-fills; realloc of NULL allocates; free of
 * NULL does nothing. */
void *ht__platform_alloc(size_t size);
void *ht__platform_realloc(void *p, size_t size);
void ht__platform_free(void *p);
/* Test-only, Windows platform layer (src/win/platform.c): when set (by
 * com/fault.c, when the DLL loads with fault injection on, before any
 * other thread), fault_hook is asked before every heap block, event and
 * thread the platform layer makes, with one of the kinds below, and a
 * nonzero answer fails it; heap_hook is told of every block made (+1) and
 * freed (-1). */
#define HT__PLATFORM_FAULT_HEAP 0x01
#define HT__PLATFORM_FAULT_EVENT 0x02
#define HT__PLATFORM_FAULT_THREAD 0x04
extern int (*ht__platform_fault_hook)(unsigned int kind);
extern void (*ht__platform_heap_hook)(int delta);

#define HT__LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define HT__STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
/* Single writer, so no read-modify-write instruction is needed. */
#define HT__BUMP(x, n) HT__STORE(x, HT__LOAD(x) + (n))

/* A slow path's update of several counters.  The owner is the only
 * writer of seq: begin returns the odd value it stored, end stores the
 * next even one. */
static inline unsigned int ht__nest_write_begin(struct ht__nest *task)
{
    unsigned int seq = atomic_load_explicit(&task->seq, memory_order_relaxed) + 1;

    atomic_store_explicit(&task->seq, seq, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    return seq;
}

static inline void ht__nest_write_end(struct ht__nest *task, unsigned int seq)
{
    atomic_store_explicit(&task->seq, seq + 1, memory_order_release);
}

/* Open frames (runs of one kind): what HT__MAX_FRAMES limits. */
static inline uint32_t ht__nest_runs(const struct ht__nest *task)
{
    return task->nframes + (task->top >= 2);
}

/* Calls open now.  Owner only; others take a snapshot. */
static inline uint64_t ht__nest_depth(const struct ht__nest *task)
{
    return task->below + (task->top >> 1);
}

/* Whether the owner runs managed code now: its innermost open frame is a
 * ReverseEnterRuntime, or the top is empty after a transition into the
 * runtime.  (An empty top over a frame always agrees with that frame: a
 * run ends by a close, which goes the other way.)  Owner only. */
static inline int ht__nest_inside(const struct ht__nest *task)
{
    return (int)((task->top & 1u) ^ (task->top < 2));
}

/* The owner's thread comes into the runtime (the CLR starts or attaches
 * it) or leaves it: how the next wait finds it, when no frame is open
 * (open frames say it themselves). */
static inline void ht__nest_set_inside(struct ht__nest *task, int inside)
{
    if (task->top < 2 && !task->nframes)
        task->top = inside ? HT__FRAME_OUT : HT__FRAME_IN;
}

/* The fast half of ht__nest_open: 1 when the frame is open, 0 when only
 * the slow path can open it (nothing changed then): the innermost frame
 * is of the other kind, or its run is full. */
static inline int ht__nest_try_open(struct ht__nest *task, unsigned int kind, enum ht__transition what)
{
    uint32_t top = task->top;
    uint64_t depth;

    if ((top & 1u) != kind || top >= HT__FRAME_FULL)
        return 0;
    task->top = top + 2;
    depth = task->below + (top >> 1) + 1;
    if (depth > HT__LOAD(task->max_depth))
        HT__STORE(task->max_depth, depth);
    /* Release: a snapshot that sees this call sees its max_depth. */
    atomic_store_explicit(&task->transitions[what], HT__LOAD(task->transitions[what]) + 1, memory_order_release);
    return 1;
}

/* Opens a frame: LeaveRuntime (HT__FRAME_OUT) or ReverseEnterRuntime (HT__FRAME_IN). */
static inline ht__status ht__nest_open(struct ht__nest *task, unsigned int kind,
        enum ht__transition what)
{
    return ht__nest_try_open(task, kind, what) ? HT__OK : ht__nest_open_slow(task, kind, what);
}

/* The fast half of ht__nest_close: 1 when the innermost frame was of this
 * kind and is closed, 0 when only the slow path can close it (nothing
 * changed then): an imbalance, or an empty top over the frame to close. */
static inline int ht__nest_try_close(struct ht__nest *task, unsigned int kind, enum ht__transition what)
{
    uint32_t top = task->top;

    if ((top & 1u) != kind || top < 2)
        return 0;
    task->top = top - 2;
    atomic_store_explicit(&task->transitions[what], HT__LOAD(task->transitions[what]) + 1, memory_order_release);
    return 1;
}

/* Closes the innermost frame: EnterRuntime (HT__FRAME_OUT) or ReverseLeaveRuntime (HT__FRAME_IN). */
static inline ht__status ht__nest_close(struct ht__nest *task, unsigned int kind,
        enum ht__transition what)
{
    return ht__nest_try_close(task, kind, what) ? HT__OK : ht__nest_close_slow(task, kind, what);
}

static inline ht__status ht__leave_runtime(struct ht__nest *task, size_t target)
{
    ht__status status = ht__nest_open(task, HT__FRAME_OUT, HT__LEAVE);

    if (status == HT__OK && atomic_load_explicit(&ht__profiling, memory_order_relaxed))
        ht__profile_open(task, target);
    return status;
}

static inline ht__status ht__enter_runtime(struct ht__nest *task)
{
    ht__status status = ht__nest_close(task, HT__FRAME_OUT, HT__ENTER);

    if (task->nprofile)
        ht__profile_close(task);
    return status;
}

static inline ht__status ht__reverse_enter_runtime(struct ht__nest *task)
{
    return ht__nest_open(task, HT__FRAME_IN, HT__REVERSE_ENTER);
}

static inline ht__status ht__reverse_leave_runtime(struct ht__nest *task)
{
    ht__status status = ht__nest_close(task, HT__FRAME_IN, HT__REVERSE_LEAVE);

    /* It may have discarded LeaveRuntime frames a lost EnterRuntime left. */
    if (task->nprofile)
        ht__profile_close(task);
    return status;
}

/* ---- CallNeedsHostHook policy ---- */

/* An open-addressing set of targets that get the opposite of the default
 * answer, in one of two buffers that take turns (src/hook_policy.c): a new
 * policy is written into the buffer that is not current, then published.
 * Buffers are reused, never freed before ht__hook_policy_clear(), so what
 * is kept is bounded (two buffers, plus the ones each outgrew: smaller
 * powers of two) however often the policy changes.
 *
 * Readers take no lock and write nothing: one acquire load of the current
 * buffer, then a seqlock read of it.  The writer makes a buffer's seq odd
 * while it rewrites it; a reader that read seq even, then the fields, then
 * the same seq again, read a policy as it stood between its two reads.
 * Otherwise it loads the current buffer again.  The interleavings:
 * - the reader's buffer stays current throughout: the writer never touches
 *   the current buffer, seq does not move, the answer is that policy's;
 * - the writer publishes the other buffer meanwhile: the reader's one is
 *   unchanged until the next write rewrites it, so either seq did not move
 *   (the answer is the policy current when the reader began) or it did;
 * - the buffer is rewritten under the reader (it was preempted for two
 *   writes): seq moves (odd, then even, a different value), the reader
 *   retries; whatever it read meanwhile (stale or half-written slots) was
 *   read through atomic loads, and every index is masked by the mask it
 *   read, which the writer only ever sets to that buffer's capacity - 1 or
 *   less, and the probe stops after mask + 1 slots, so it stays in bounds
 *   and ends even if no slot is empty;
 * - the writer is preempted mid-rewrite (seq odd): that buffer is not
 *   current, so a reader that sees it odd reloads the current one, which
 *   is complete: readers never wait for the writer.
 * A reader retries only when a write happened during its read, so it ends
 * unless the policy is replaced without pause.  seq wrapping round to the
 * same value during one read would take 2^31 writes meanwhile.
 * tests/stress_core.c checks the answers under TSan. */
struct ht__hook_policy
{
    atomic_uint seq;                    /* even: stable; odd: being rewritten */
    atomic_int default_needs_hook;      /* 0 or 1 */
    atomic_int zero_listed;             /* 0 or 1: target 0 is in the list */
    atomic_size_t mask;                 /* slots - 1, or 0 for an empty list */
    size_t capacity;                    /* slots allocated: fixed */
    size_t count;                       /* distinct targets listed (not for readers) */
    struct ht__hook_policy *outgrown;   /* writer only: kept until clear */
    atomic_size_t slots[];
};

extern _Atomic(struct ht__hook_policy *) ht__hook_policy_current;

/* Serialised inside (concurrent callers wait for each other). */
ht__status ht__hook_policy_set(int default_needs_hook, const size_t *targets, size_t count);
/* Frees every buffer.  Only when no reader can run. */
void ht__hook_policy_clear(void);
/* Buffers held now, current, spare and outgrown (for tests). */
size_t ht__hook_policy_buffers(void);

static inline size_t ht__hook_hash(size_t target)
{
    uint64_t h = (uint64_t)target * 0x9E3779B97F4A7C15ull;

    return (size_t)(h >> 32);
}

/* TRUE when calls to target must be wrapped in LeaveRuntime/EnterRuntime.
 * See struct ht__hook_policy for why this read is consistent. */
static inline int ht__call_needs_hook(size_t target)
{
    const struct ht__hook_policy *policy;
    unsigned int seq;
    size_t mask, i, n, slot;
    int answer;

    for (;;)
    {
        if (!(policy = atomic_load_explicit(&ht__hook_policy_current, memory_order_acquire)))
            return 1;
        seq = atomic_load_explicit(&policy->seq, memory_order_acquire);
        if (seq & 1)
            continue;
        answer = atomic_load_explicit(&policy->default_needs_hook, memory_order_relaxed);
        if (!target)
            answer ^= atomic_load_explicit(&policy->zero_listed, memory_order_relaxed);
        else if ((mask = atomic_load_explicit(&policy->mask, memory_order_relaxed)))
        {
            for (i = ht__hook_hash(target) & mask, n = 0; n <= mask; i = (i + 1) & mask, n++)
            {
                slot = atomic_load_explicit(&policy->slots[i], memory_order_relaxed);
                if (slot == target)
                {
                    answer ^= 1;
                    break;
                }
                if (!slot)
                    break;
            }
        }
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&policy->seq, memory_order_relaxed) == seq)
            return answer & 1;
    }
}

#ifdef __cplusplus
}
#endif

#endif /* HOSTTASK_CORE_H */
