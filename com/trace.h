/*
 * The event trace in the COM layer (com/trace.c): each task's ring, the
 * task manager's IHostTaskTrace, and the one-line emission points the
 * other files call.  Included by private.h, after struct host_task.
 */
#ifndef HOSTTASK_COM_TRACE_H
#define HOSTTASK_COM_TRACE_H

#include "../src/trace.h"

/* IHostTaskTrace on the task manager, forwarding IUnknown to it. */
struct ht__trace_iface
{
    IHostTaskTrace IHostTaskTrace_iface;
    IHostTaskManager *outer;    /* the same object: no reference */
};
void ht__trace_iface_init(struct ht__trace_iface *trace, IHostTaskManager *outer);

/* A task is born, under the registry lock (com/task.c task_alloc): its
 * ring if tracing is on, and its first event.  adopted: the calling
 * thread is the task's own. */
void ht__trace_task_born(struct host_task *task, BOOL adopted);
/* A task goes, under the registry lock (task_destroy): its ring is kept
 * with the ended tasks' for the trace.  No thread writes to it any more. */
void ht__trace_task_ended(struct host_task *task);
/* The task manager went: tracing stops.  Module unload: everything goes. */
void ht__trace_stop(void);
void ht__trace_process_detach(void);

/* One event on the calling thread's own task (owner only), if tracing is
 * on and the task has a ring. */
static inline void ht__trace_task(struct host_task *task, unsigned int kind, unsigned int detail, UINT64 arg)
{
    struct ht__trace_ring *ring;

    if (ht__trace_on() && task && (ring = atomic_load_explicit(&task->trace, memory_order_acquire)))
        ht__trace_put(ring, kind, detail, arg);
}

/* The emission points, one line each where they sit (see docs/trace.md
 * for where each is recorded). */
#define ht__trace_leave(task, target) ht__trace_task((task), HT__TRACE_LEAVE, 0, (UINT64)(target))
#define ht__trace_enter(task) ht__trace_task((task), HT__TRACE_ENTER, 0, 0)
#define ht__trace_reverse_enter(task) ht__trace_task((task), HT__TRACE_REVERSE_ENTER, 0, 0)
#define ht__trace_reverse_leave(task) ht__trace_task((task), HT__TRACE_REVERSE_LEAVE, 0, 0)
#define ht__trace_wait_begin(self, join, alertable, ms) ht__trace_task((self), HT__TRACE_WAIT_BEGIN, \
        ((join) ? HT__TRACE_WAIT_JOIN : 0u) | ((alertable) ? HT__TRACE_WAIT_ALERTABLE : 0u), (ms))
#define ht__trace_wait_end(self, hr) ht__trace_task((self), HT__TRACE_WAIT_END, 0, (UINT64)(ULONG)(hr))
#define ht__trace_alert(self, target) ht__trace_task((self), HT__TRACE_ALERT, 0, (target)->id)
#define ht__trace_affinity(task, depth) ht__trace_task((task), HT__TRACE_AFFINITY, 0, (UINT64)(depth))
#define ht__trace_task_start(task) ht__trace_task((task), HT__TRACE_TASK_START, 0, 0)
#define ht__trace_task_end(task) ht__trace_task((task), HT__TRACE_TASK_END, 0, 0)

#endif /* HOSTTASK_COM_TRACE_H */
