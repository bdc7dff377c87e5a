/*
 * Counting fakes of the CLR's objects, for refcount checks: a
 * ICLRTaskManager and an ICLRTask2 whose AddRef/Release keep a real count,
 * and a plain IUnknown.  Every other method fails the test: the host must
 * not call into the CLR where the protocol does not say so.
 */
#ifndef HOSTTASK_CLR_FAKES_H
#define HOSTTASK_CLR_FAKES_H

#include "test_util.h"

struct fake_unknown
{
    IUnknown IUnknown_iface;
    LONG refcount;
};

static HRESULT STDMETHODCALLTYPE fake_unknown_QueryInterface(IUnknown *iface, REFIID riid, void **out)
{
    *out = NULL;
    if (!IsEqualIID(riid, &IID_IUnknown))
        return E_NOINTERFACE;
    *out = iface;
    IUnknown_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE fake_unknown_AddRef(IUnknown *iface)
{
    return InterlockedIncrement(&CONTAINING_RECORD(iface, struct fake_unknown, IUnknown_iface)->refcount);
}

static ULONG STDMETHODCALLTYPE fake_unknown_Release(IUnknown *iface)
{
    LONG refcount = InterlockedDecrement(&CONTAINING_RECORD(iface, struct fake_unknown, IUnknown_iface)->refcount);

    assert_ge(refcount, 0);
    return refcount;
}

static const IUnknownVtbl fake_unknown_vtbl =
{
    fake_unknown_QueryInterface, fake_unknown_AddRef, fake_unknown_Release,
};

static inline void fake_unknown_init(struct fake_unknown *fake)
{
    fake->IUnknown_iface.lpVtbl = &fake_unknown_vtbl;
    fake->refcount = 1;
}

/* ICLRTaskManager */
struct fake_clr_manager
{
    ICLRTaskManager ICLRTaskManager_iface;
    LONG refcount;
};

static HRESULT STDMETHODCALLTYPE fake_manager_QueryInterface(ICLRTaskManager *iface, REFIID riid, void **out)
{
    fail_msg("unexpected call: %s", __func__);
    return E_NOTIMPL;
}

static ULONG STDMETHODCALLTYPE fake_manager_AddRef(ICLRTaskManager *iface)
{
    return InterlockedIncrement(&CONTAINING_RECORD(iface, struct fake_clr_manager, ICLRTaskManager_iface)->refcount);
}

static ULONG STDMETHODCALLTYPE fake_manager_Release(ICLRTaskManager *iface)
{
    LONG refcount = InterlockedDecrement(&CONTAINING_RECORD(iface, struct fake_clr_manager, ICLRTaskManager_iface)->refcount);

    assert_ge(refcount, 0);
    return refcount;
}

static HRESULT STDMETHODCALLTYPE fake_manager_CreateTask(ICLRTaskManager *iface, ICLRTask **task)
{
    fail_msg("unexpected call: %s", __func__);
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fake_manager_GetCurrentTask(ICLRTaskManager *iface, ICLRTask **task)
{
    fail_msg("unexpected call: %s", __func__);
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fake_manager_SetUILocale(ICLRTaskManager *iface, LCID lcid)
{
    fail_msg("unexpected call: %s", __func__);
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fake_manager_SetLocale(ICLRTaskManager *iface, LCID lcid)
{
    fail_msg("unexpected call: %s", __func__);
    return E_NOTIMPL;
}

static HRESULT STDMETHODCALLTYPE fake_manager_GetCurrentTaskType(ICLRTaskManager *iface, ETaskType *type)
{
    fail_msg("unexpected call: %s", __func__);
    return E_NOTIMPL;
}

static const ICLRTaskManagerVtbl fake_manager_vtbl =
{
    fake_manager_QueryInterface, fake_manager_AddRef, fake_manager_Release,
    fake_manager_CreateTask, fake_manager_GetCurrentTask, fake_manager_SetUILocale,
    fake_manager_SetLocale, fake_manager_GetCurrentTaskType,
};

static inline void fake_clr_manager_init(struct fake_clr_manager *fake)
{
    fake->ICLRTaskManager_iface.lpVtbl = &fake_manager_vtbl;
    fake->refcount = 1;
}

/* ICLRTask2, refusing IID_IUnknown like the real CLR Thread object. */
struct fake_clr_task
{
    ICLRTask2 ICLRTask2_iface;
    LONG refcount;
    LONG yields;
};

static inline struct fake_clr_task *fake_task_impl(ICLRTask2 *iface)
{
    return CONTAINING_RECORD(iface, struct fake_clr_task, ICLRTask2_iface);
}

static HRESULT STDMETHODCALLTYPE fake_task_QueryInterface(ICLRTask2 *iface, REFIID riid, void **out)
{
    *out = NULL;
    if (!IsEqualIID(riid, &IID_ICLRTask) && !IsEqualIID(riid, &IID_ICLRTask2))
        return E_NOINTERFACE;
    *out = iface;
    ICLRTask2_AddRef(iface);
    return S_OK;
}

static ULONG STDMETHODCALLTYPE fake_task_AddRef(ICLRTask2 *iface)
{
    return InterlockedIncrement(&fake_task_impl(iface)->refcount);
}

static ULONG STDMETHODCALLTYPE fake_task_Release(ICLRTask2 *iface)
{
    LONG refcount = InterlockedDecrement(&fake_task_impl(iface)->refcount);

    assert_ge(refcount, 0);
    return refcount;
}

#define FAKE_TASK_UNEXPECTED(name, ...) \
    static HRESULT STDMETHODCALLTYPE fake_task_##name(ICLRTask2 *iface, ##__VA_ARGS__) \
    { \
        fail_msg("unexpected call: ICLRTask::%s", #name); \
        return E_NOTIMPL; \
    }
FAKE_TASK_UNEXPECTED(SwitchIn, HANDLE thread)
FAKE_TASK_UNEXPECTED(SwitchOut)
FAKE_TASK_UNEXPECTED(GetMemStats, COR_GC_THREAD_STATS *stats)
FAKE_TASK_UNEXPECTED(Reset, BOOL full)
FAKE_TASK_UNEXPECTED(ExitTask)
FAKE_TASK_UNEXPECTED(Abort)
FAKE_TASK_UNEXPECTED(RudeAbort)
FAKE_TASK_UNEXPECTED(NeedsPriorityScheduling, BOOL *needs)
FAKE_TASK_UNEXPECTED(LocksHeld, SIZE_T *count)
FAKE_TASK_UNEXPECTED(SetTaskIdentifier, TASKID id)
FAKE_TASK_UNEXPECTED(BeginPreventAsyncAbort)
FAKE_TASK_UNEXPECTED(EndPreventAsyncAbort)

static HRESULT STDMETHODCALLTYPE fake_task_YieldTask(ICLRTask2 *iface)
{
    InterlockedIncrement(&fake_task_impl(iface)->yields);
    return S_OK;
}

static const ICLRTask2Vtbl fake_task_vtbl =
{
    fake_task_QueryInterface, fake_task_AddRef, fake_task_Release,
    fake_task_SwitchIn, fake_task_SwitchOut, fake_task_GetMemStats, fake_task_Reset,
    fake_task_ExitTask, fake_task_Abort, fake_task_RudeAbort, fake_task_NeedsPriorityScheduling,
    fake_task_YieldTask, fake_task_LocksHeld, fake_task_SetTaskIdentifier,
    fake_task_BeginPreventAsyncAbort, fake_task_EndPreventAsyncAbort,
};

static inline void fake_clr_task_init(struct fake_clr_task *fake)
{
    fake->ICLRTask2_iface.lpVtbl = &fake_task_vtbl;
    fake->refcount = 1;
    fake->yields = 0;
}

#define FAKE_AS_CLR_TASK(fake) ((ICLRTask *)&(fake)->ICLRTask2_iface)

#endif /* HOSTTASK_CLR_FAKES_H */
