/* The driver's internal declarations (htd__ prefix). */
#ifndef HOSTTASK_DRIVER_PRIVATE_H
#define HOSTTASK_DRIVER_PRIVATE_H

#define COBJMACROS
#include "htdriver.h"

#include <stdio.h>

/* The calling thread's Thread (the CLR's GetThread()), or NULL. */
struct htd_thread *htd__current_thread(void);
void htd__set_current_thread(struct htd_thread *thread);

/* The runtime the static ICLRTaskManager serves: the last one a host
 * control was set on, while it runs. */
struct htd_runtime *htd__active_runtime(void);

void htd__clr_manager_init(BOOL static_quirk);
void htd__clr_task_init(struct htd_clr_task *task, struct htd_thread *thread);

/* SetupThread for the calling thread (spec 5.4): GetCurrentTask,
 * SetCLRTask, SwitchToTask(0). */
HRESULT htd__attach_current(struct htd_runtime *runtime, const char *role, struct htd_thread **out);
/* The calling thread's Thread, set up on first use. */
HRESULT htd__get_or_attach(struct htd_runtime *runtime, const char *role, struct htd_thread **out);
/* ICLRTask::Reset: release the IHostTask and unbind. */
void htd__thread_reset(struct htd_thread *thread);
/* Adds a Thread to the runtime's thread store. */
struct htd_thread *htd__thread_new(struct htd_runtime *runtime, const char *role, BOOL created);
/* Releases every Thread's IHostTask (the Threads die: spec 5.18). */
void htd__threads_die(struct htd_runtime *runtime);

/* Records what the CLR would do with a host's result. */
void htd__fault(struct htd_runtime *runtime, enum htd_fault_kind kind, HRESULT hr, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

/* The runtime-start affinity bracket and the CLR's lock brackets (spec 5.3, 5.5)
 * on a thread that may have no Thread. */
void htd__clr_lock_bracket(struct htd_runtime *runtime);

static inline void htd__copy_role(char *dst, size_t size, const char *role)
{
    snprintf(dst, size, "%s", role ? role : "");
}

#endif /* HOSTTASK_DRIVER_PRIVATE_H */
