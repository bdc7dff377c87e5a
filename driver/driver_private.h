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

/* SetupThread for the calling thread: GetCurrentTask, the stack
 * guarantee, SetCLRTask, SwitchToTask(0) (dotnet/coreclr@ef1e2ab3
 * src/vm/threads.cpp (SetupThread, Thread::InitThread)). */
HRESULT htd__attach_current(struct htd_runtime *runtime, const char *role, struct htd_thread **out);
/* The calling thread's Thread, set up on first use. */
HRESULT htd__get_or_attach(struct htd_runtime *runtime, const char *role, struct htd_thread **out);
/* ICLRTask::Reset: release the IHostTask and unbind. */
void htd__thread_reset(struct htd_thread *thread);
/* Adds a Thread to the runtime's thread store. */
struct htd_thread *htd__thread_new(struct htd_runtime *runtime, const char *role, BOOL created);
/* Releases every Thread's IHostTask (the Threads die: src/vm/threads.cpp
 * (Thread::~Thread)). */
void htd__threads_die(struct htd_runtime *runtime);

/* CLRSetThreadStackGuarantee on the calling thread: S_OK, or the failure
 * that fails the thread's setup (recorded). */
HRESULT htd__stack_guarantee(struct htd_runtime *runtime);

/* Cooperative GC mode off / on (on waits out a GC in progress). */
void htd__leave_coop(struct htd_thread *self);
void htd__enter_coop(struct htd_thread *self);
/* __SwitchToThread(0): SwitchToTask(0), clearing a yield request. */
void htd__switch_to_task(struct htd_thread *self, IHostTaskManager *manager);
/* LeaveRuntime(record's target), stub(ctx), EnterRuntime (hosted threads). */
HRESULT htd__wrapped_call(struct htd_thread *self, struct htd_target_record *record, htd_native_stub stub,
        void *ctx, ULONG_PTR *result);
/* A non-alertable CLREvent wait (Leave/Enter around WaitForSingleObjectEx):
 * the wait's result. */
DWORD htd__event_wait(struct htd_thread *self, HANDLE handle, DWORD milliseconds);
/* An alertable wait (Leave/Enter around WaitForMultipleObjectsEx, APC
 * interrupts): COR_E_THREADINTERRUPTED or S_OK with the wait's result. */
HRESULT htd__alertable_wait(struct htd_thread *self, HANDLE handle, DWORD milliseconds, DWORD *result);

/* Thread creation: Thread.Start and the runtime's own threads. */
#define HTD__START_PRIORITY  0x1    /* SetPriority before Start (Thread.Start) */
#define HTD__START_SPIN      0x2    /* the creator spins until the thread runs */
#define HTD__START_RUNTIME   0x4    /* one of the CLR's own threads */
#define HTD__START_FINALIZER 0x8    /* the finalizer */
HRESULT htd__start_thread(struct htd_thread *self, struct htd_runtime *runtime, const char *role,
        HRESULT (*body)(struct htd_thread *self, void *arg), void *arg, unsigned int flags, struct htd_thread **out);

/* The runtime's own threads: created at Start, ended at Stop. */
HRESULT htd__runtime_threads_start(struct htd_runtime *runtime, struct htd_thread *starter);
void htd__runtime_threads_stop(struct htd_runtime *runtime);
BOOL htd__runtime_resources_init(struct htd_runtime *runtime);
void htd__runtime_resources_free(struct htd_runtime *runtime);

/* Records what the CLR would do with a host's result. */
void htd__fault(struct htd_runtime *runtime, enum htd_fault_kind kind, HRESULT hr, const char *format, ...)
        __attribute__((format(printf, 4, 5)));

/* A CLR lock's affinity bracket (src/vm/threads.cpp (LockThreadStore),
 * src/vm/crst.cpp (CrstBase::Enter)) on a thread that may have no Thread. */
void htd__clr_lock_bracket(struct htd_runtime *runtime);

static inline void htd__copy_role(char *dst, size_t size, const char *role)
{
    snprintf(dst, size, "%s", role ? role : "");
}

#endif /* HOSTTASK_DRIVER_PRIVATE_H */
