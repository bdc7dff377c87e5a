/*
 * Internal declarations of the COM layer: the module, the objects, and the
 * thread-local lookup that puts the calling thread's task on the hot path.
 */
#ifndef HOSTTASK_PRIVATE_H
#define HOSTTASK_PRIVATE_H

#define COBJMACROS
#include <windows.h>
#include <winternl.h>
#include <ole2.h>
#include <corerror.h>
#include <stddef.h>

#include "mscoree_tasks.h"
#include "hosttask_iface.h"
#include "hosttask_classes.h"
#include "../src/core.h"
#include "../src/scheduler.h"
#include "../src/win/clock.h"
#include "fault.h"

/* Test-only fault injection (com/fault.c, com/fault.h).  Off unless the
 * process starts with HOSTTASK_TEST_FAULTS=1; then the system calls below
 * fail on demand, and the heap wrappers count live blocks. */
extern LONG ht__fault_enabled;
void ht__fault_init(void);
BOOL ht__fault_hit(DWORD kind);
IUnknown *ht__fault_interface(void);
static inline BOOL ht__fault(DWORD kind)
{
    return __builtin_expect(ht__fault_enabled, 0) && ht__fault_hit(kind);
}
void *ht__fault_heap_alloc(HANDLE heap, DWORD flags, SIZE_T size);
void *ht__fault_heap_realloc(HANDLE heap, DWORD flags, void *p, SIZE_T size);
BOOL ht__fault_heap_free(HANDLE heap, DWORD flags, void *p);
HANDLE ht__fault_create_event(SECURITY_ATTRIBUTES *sa, BOOL manual, BOOL initial, const WCHAR *name);
HANDLE ht__fault_create_thread(SECURITY_ATTRIBUTES *sa, SIZE_T stack, LPTHREAD_START_ROUTINE start,
        void *param, DWORD flags, DWORD *id);
BOOL ht__fault_duplicate_handle(HANDLE from_process, HANDLE source, HANDLE to_process, HANDLE *target,
        DWORD access, BOOL inherit, DWORD options);
#ifndef HT__FAULT_IMPL
#undef CreateEvent
#define HeapAlloc ht__fault_heap_alloc
#define HeapReAlloc ht__fault_heap_realloc
#define HeapFree ht__fault_heap_free
#define CreateEventW ht__fault_create_event
#define CreateThread ht__fault_create_thread
#define DuplicateHandle ht__fault_duplicate_handle
#endif

/* The public statistics (idl/hosttask_iface.idl) index the core's counters
 * directly: HT_STAT_* are the core's enum values and the arrays have the
 * core's sizes, so that com/task.c and com/task_manager.c can copy them
 * index for index.  A change on either side must change the other. */
#define HT__FIELD_COUNT(type, field) (sizeof(((type *)0)->field) / sizeof(((type *)0)->field[0]))
_Static_assert(HT_STAT_LEAVE == HT__LEAVE && HT_STAT_ENTER == HT__ENTER
                && HT_STAT_REVERSE_ENTER == HT__REVERSE_ENTER && HT_STAT_REVERSE_LEAVE == HT__REVERSE_LEAVE,
        "HT_STAT_* transitions");
_Static_assert(HT_STAT_UNMATCHED_ENTER == HT__UNMATCHED_ENTER
                && HT_STAT_UNMATCHED_REVERSE_LEAVE == HT__UNMATCHED_REVERSE_LEAVE
                && HT_STAT_UNCLOSED_LEAVE == HT__UNCLOSED_LEAVE
                && HT_STAT_UNCLOSED_REVERSE_ENTER == HT__UNCLOSED_REVERSE_ENTER
                && HT_STAT_NESTING_LIMIT == HT__NESTING_LIMIT,
        "HT_STAT_* imbalances");
_Static_assert(HT__FIELD_COUNT(HT_TASK_STATS, transitions) == HT__TRANSITION_KINDS, "HT_TASK_STATS.transitions");
_Static_assert(HT__FIELD_COUNT(HT_TASK_STATS, imbalances) == HT__IMBALANCE_KINDS, "HT_TASK_STATS.imbalances");
_Static_assert(HT__FIELD_COUNT(HT_SCHEDULER_STATS, waitHistogram) == HT__SCHED_HISTOGRAM,
        "HT_SCHEDULER_STATS.waitHistogram");
#undef HT__FIELD_COUNT

/* The HRESULT for a core status, the one place that maps them: a refusal
 * for the state (strict mode, an unbalanced call) is
 * HOST_E_INVALIDOPERATION, "wrong state" in docs/contract.md §2.5; a
 * structure that could not grow is E_OUTOFMEMORY.  Every site in com/
 * maps a status through it but one: ReverseEnterRuntime, which must answer
 * exactly S_OK (docs/contract.md §3.0), lets HT__E_NOMEM through
 * (reverse_enter_runtime_slow in com/task_manager.c). */
static inline HRESULT ht__hresult_from_status(ht__status status)
{
    switch (status)
    {
    case HT__OK:
        return S_OK;
    case HT__E_NOMEM:
        return E_OUTOFMEMORY;
    case HT__E_STATE:
        break;
    }
    return HOST_E_INVALIDOPERATION;
}

/* The module: live objects, LockServer locks and running task threads. */
extern HINSTANCE ht__instance;
extern LONG ht__module_refs;
void ht__module_addref(void);
void ht__module_release(void);

/* The class factory's product and the task manager singleton. */
HRESULT ht__host_control_create(REFIID riid, void **out);
HRESULT ht__task_manager_get(IHostTaskManager **out);
void ht__task_manager_init(void);

/* Registration (com/register.c). */
HRESULT ht__register(BOOL install);

/* Doubly linked lists; winnt.h declares LIST_ENTRY but not its helpers
 * outside the DDK. */
static inline void ht__list_insert_tail(LIST_ENTRY *head, LIST_ENTRY *entry)
{
    entry->Flink = head;
    entry->Blink = head->Blink;
    head->Blink->Flink = entry;
    head->Blink = entry;
}

static inline void ht__list_remove(LIST_ENTRY *entry)
{
    entry->Blink->Flink = entry->Flink;
    entry->Flink->Blink = entry->Blink;
}

/* ---- Tasks (com/task.c) ---- */

/* A task's cooperative-mode state, allocated the first time it needs a
 * slot: thread-per-task mode (the default) never has one. */
struct host_sched
{
    struct ht__sched_task sched;
    struct host_task *task;
};

/* Bits of host_task.flags besides the public HT_TASK_* (which include
 * HT_TASK_DELAY_ABORT); never reported. */
#define HT__TASK_CLAIMED        0x10000   /* Start took it, or it was adopted */
#define HT__TASK_CANCELLED      0x20000   /* released before Start: its thread exits at once */
#define HT__TASK_ALERT_PENDING  0x40000   /* Alert came, no alertable wait has consumed it */
#define HT__TASK_PRIVATE        (HT__TASK_CLAIMED | HT__TASK_CANCELLED | HT__TASK_ALERT_PENDING)

/* One task, one OS thread.  What the task needs only in some uses lives
 * elsewhere: cooperative mode's state in a host_sched, its start routine
 * with its thread until it runs, the statistics baseline from the first
 * Reset, the core's imbalance and profiling counters from their first use. */
struct host_task
{
    IHostTask IHostTask_iface;
    /* COM references: what AddRef and Release report.  The module stays
     * loaded while any task has one. */
    LONG com_refs;
    /* Every hold on the memory: all COM references together count as one,
     * plus the thread's binding (adopted threads) or the task thread's own
     * hold (created tasks).  The object is freed when this reaches zero. */
    LONG holds;
    /* Transition nesting and counters, written by the owning thread only. */
    struct ht__nest core;
    /* Cooperative mode; set by the owning thread only, read by others with
     * acquire, freed with the task.  Next to the core: every LeaveRuntime
     * reads it. */
    struct host_sched *_Atomic sched;
    LIST_ENTRY link;            /* in the registry, under its lock */
    UINT64 id;
    LONG flags;                 /* HT_TASK_* and HT__TASK_*, changed with Interlocked operations */
    LONG affinity_depth;        /* mirror of the thread's depth, for statistics */
    LCID locale, ui_locale;     /* the last ones the CLR set on this thread */
    HANDLE thread;              /* a real handle, also for adopted threads */
    HANDLE alert_event;         /* auto-reset; set by Alert */
    ICLRTask *clr_task;         /* under com/task.c's clr_task_lock: the scheduler reads it from other threads */
    LONG64 sleeps, alerts, interrupted_waits, joins, unknown_options;
    /* The counters at the last IHostTaskStatistics::Reset, subtracted from
     * every snapshot; allocated by the first Reset, under the registry lock. */
    HT_TASK_STATS *baseline;
    /* The event trace's ring (com/trace.c), while tracing has given it one:
     * written to by the owning thread, replaced under the registry lock. */
    struct ht__trace_ring *_Atomic trace;
    /* In com/task.c's deferred_tasks, once a detach left it to be freed. */
    struct host_task *deferred_next;
};

/* The flags, as any thread may read them. */
static inline LONG ht__task_flags(struct host_task *task)
{
    return __atomic_load_n(&task->flags, __ATOMIC_ACQUIRE);
}

/* The task bound to the calling thread, or NULL.  Reads the TEB's TLS slot
 * directly where it can: TlsGetValue costs more than the rest of a
 * transition and also clears the thread's last error, which LeaveRuntime
 * must preserve. */
extern DWORD ht__tls_task;
extern DWORD ht__tls_affinity;
/* Non-NULL once this DLL's DLL_THREAD_DETACH ran on the thread. */
extern DWORD ht__tls_detached;

/* TEB.TlsSlots (winternl.h), read and written relative to the segment
 * register that points at the TEB: one instruction.  (NtCurrentTeb() does
 * the same in two, and trips gcc 12's -Warray-bounds.) */
#if defined(__x86_64__)
_Static_assert(offsetof(TEB, TlsSlots) == 0x1480, "TEB layout");
#define HT__TLS_SLOT_READ(slot, value) \
        __asm__ volatile ("movq %%gs:0x1480(,%1,8), %0" : "=r"(value) : "r"((ULONG_PTR)(slot)))
#define HT__TLS_SLOT_WRITE(slot, value) \
        __asm__ volatile ("movq %0, %%gs:0x1480(,%1,8)" : : "r"(value), "r"((ULONG_PTR)(slot)) : "memory")
#elif defined(__i386__)
_Static_assert(offsetof(TEB, TlsSlots) == 0xe10, "TEB layout");
#define HT__TLS_SLOT_READ(slot, value) \
        __asm__ volatile ("movl %%fs:0xe10(,%1,4), %0" : "=r"(value) : "r"((ULONG_PTR)(slot)))
#define HT__TLS_SLOT_WRITE(slot, value) \
        __asm__ volatile ("movl %0, %%fs:0xe10(,%1,4)" : : "r"(value), "r"((ULONG_PTR)(slot)) : "memory")
#endif

static inline void *ht__tls_get(DWORD slot)
{
    void *value;
    DWORD error;

#ifdef HT__TLS_SLOT_READ
    if (slot < TLS_MINIMUM_AVAILABLE)
    {
        HT__TLS_SLOT_READ(slot, value);
        return value;
    }
#endif
    error = GetLastError();
    value = TlsGetValue(slot);
    SetLastError(error);
    return value;
}

/* FALSE only from TlsSetValue, for a slot beyond the TEB's. */
static inline BOOL ht__tls_set(DWORD slot, void *value)
{
#ifdef HT__TLS_SLOT_WRITE
    if (slot < TLS_MINIMUM_AVAILABLE)
    {
        HT__TLS_SLOT_WRITE(slot, value);
        return TRUE;
    }
#endif
    return TlsSetValue(slot, value);
}

static inline struct host_task *ht__task_current(void)
{
    return ht__tls_get(ht__tls_task);
}

/* The calling thread's task, adopting the thread on first use.  NULL only
 * when memory or handles ran out.  Preserves the thread's last error. */
struct host_task *ht__task_adopt_current(void);

static inline struct host_task *ht__task_current_or_adopt(void)
{
    struct host_task *task = ht__task_current();

    return task ? task : ht__task_adopt_current();
}

HRESULT ht__task_create(DWORD stack_size, LPTHREAD_START_ROUTINE start, void *param,
        IHostTask **out);

/* Host waits.  Returns S_OK when the handle (if any) is signaled, or when a
 * Sleep's time ran out, HOST_E_TIMEOUT when a Join's time ran out,
 * HOST_E_INTERRUPTED when an alert ended an alertable wait. */
HRESULT ht__task_wait(HANDLE handle, DWORD milliseconds, DWORD option);
/* Takes the task's pending alert, if any, counting an interrupted wait. */
BOOL ht__task_consume_alert(struct host_task *task);
/* Counts option bits WAIT_OPTION does not define on the caller's task;
 * they are ignored, since no option may make a wait fail. */
void ht__task_note_options(struct host_task *self, DWORD option);

void ht__tasks_init(void);
void ht__tasks_thread_detach(void);
/* Frees what task threads that ended early and thread detaches left; not
 * under the loader lock. */
void ht__tasks_reap(void);
void ht__tasks_process_detach(void);
HRESULT ht__tasks_stats(UINT capacity, HT_TASK_STATS *stats, UINT *count);
void ht__task_stats(struct host_task *task, HT_TASK_STATS *stats);
void ht__tasks_object_counts(ULONG *live, ULONG *bound_only);
HRESULT ht__tasks_reset_stats(void);

/* Cooperative mode (com/task.c): the callbacks the scheduler uses to ask a
 * runaway to yield, and the slot around a host wait. */
int ht__task_runaway_prepare(struct ht__sched_task *sched, void **token);
void ht__task_runaway_fire(void *token);

/* The task's scheduling state, or NULL: owner only (others load it with
 * acquire). */
static inline struct ht__sched_task *ht__task_sched(struct host_task *task)
{
    struct host_sched *sched = atomic_load_explicit(&task->sched, memory_order_relaxed);

    return sched ? &sched->sched : NULL;
}

static inline int ht__task_holds_slot(struct host_task *task)
{
    struct ht__sched_task *sched = ht__task_sched(task);

    return sched && ht__sched_holds(sched);
}

/* Takes a slot, allocating the task's scheduling state on first use; a
 * task left without memory for it runs without a slot, as in
 * thread-per-task mode.  (com/task.c) */
void ht__task_slot_acquire_slow(struct host_task *task);

/* The task came into the runtime (attach, thread start, EnterRuntime,
 * ReverseEnterRuntime): in cooperative mode it needs a slot, and reclaims
 * the one it left in native code with one compare-and-swap. */
static inline void ht__task_slot_acquire(struct host_task *task)
{
    struct ht__sched_task *sched = ht__task_sched(task);

    if (sched && ht__sched_try_enter(sched))
        return;
    if (ht__sched_active())
        ht__task_slot_acquire_slow(task);
}

/* The task went out to native code (LeaveRuntime, ReverseLeaveRuntime):
 * the slot stays, marked "in native code", while nobody waits, else goes
 * back at once. */
static inline void ht__task_slot_release(struct host_task *task)
{
    struct ht__sched_task *sched = ht__task_sched(task);

    if (sched && !ht__sched_try_leave(sched))
        ht__sched_release(sched);
}

/* A host wait or the thread's end: the slot goes back now, also one left
 * in native code.  Also when it was retaken or preempted meanwhile: the
 * release settles that, and records in the task's trace the yield
 * requests and preemptions it has not (src/scheduler.c: trace_untraced),
 * so that an ended task's trace has them all.  Thread-per-task mode: no
 * scheduler, nothing to do. */
static inline void ht__task_slot_give_back(struct host_task *task)
{
    struct ht__sched_task *sched = ht__task_sched(task);

    if (sched)
        ht__sched_release(sched);
}

/* Runs each(task, context) for every task alive, then done(context)
 * (if not NULL), all under the registry lock. */
void ht__tasks_for_each(void (*each)(struct host_task *task, void *context), void (*done)(void *context),
        void *context);

#include "trace.h"

#endif /* HOSTTASK_PRIVATE_H */
