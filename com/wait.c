/*
 * Host waits: IHostTask::Join's and IHostTaskManager::Sleep's wait, alertable
 * or pumping, with the deadline re-checked on the monotonic clock, and the
 * slot given up around it in cooperative mode.
 *
 * What the CLR passes and does with each result: dotnet/coreclr@ef1e2ab3
 * src/vm/threads.cpp (HostJoinOnThread, UserInterrupt) and
 * docs/contract.md §5.12-5.14.
 */
#include "private.h"

BOOL ht__task_consume_alert(struct host_task *task)
{
    if (!(InterlockedAnd(&task->flags, ~HT__TASK_ALERT_PENDING) & HT__TASK_ALERT_PENDING))
        return FALSE;
    InterlockedIncrement64(&task->interrupted_waits);
    return TRUE;
}

static void pump_messages(void)
{
    MSG msg;

    while (PeekMessageW(&msg, NULL, 0, 0, PM_REMOVE))
    {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
}

static HRESULT wait(struct host_task *self, HANDLE handle, DWORD milliseconds, DWORD option);

HRESULT ht__task_wait(HANDLE handle, DWORD milliseconds, DWORD option)
{
    struct host_task *self = ht__task_current();
    HRESULT hr;

    /* Every host wait gives the slot up while blocked; a task in managed
     * code takes one again after (also if it was preempted before). */
    if (!self || !ht__nest_inside(&self->core))
        return wait(self, handle, milliseconds, option);
    ht__task_slot_give_back(self);
    hr = wait(self, handle, milliseconds, option);
    ht__task_slot_acquire(self);
    return hr;
}

static HRESULT wait_untraced(struct host_task *self, HANDLE handle, DWORD milliseconds, DWORD option);

/* A host wait, as the trace shows it: from its call to its result. */
static HRESULT wait(struct host_task *self, HANDLE handle, DWORD milliseconds, DWORD option)
{
    HRESULT hr;

    ht__trace_wait_begin(self, handle != NULL, option & WAIT_ALERTABLE, milliseconds);
    hr = wait_untraced(self, handle, milliseconds, option);
    ht__trace_wait_end(self, hr);
    return hr;
}

static HRESULT wait_untraced(struct host_task *self, HANDLE handle, DWORD milliseconds, DWORD option)
{
    BOOL alertable = (option & WAIT_ALERTABLE) && self;
    BOOL pump = (option & WAIT_MSGPUMP) != 0;
    ULONGLONG deadline = 0, now;
    HANDLE handles[2];
    DWORD count = 0, alert_index = MAXDWORD, remaining = milliseconds, result;

    if (alertable && ht__task_consume_alert(self))
        return HOST_E_INTERRUPTED;
    if (handle)
        handles[count++] = handle;
    if (alertable)
    {
        alert_index = count;
        handles[count++] = self->alert_event;
    }
    if (milliseconds != INFINITE)
        deadline = ht__platform_now_ns() + (ULONGLONG)milliseconds * 1000000u;

    for (;;)
    {
        /* Test-only: a timeout as early as can be (com/fault.h). */
        if (ht__fault(HT_FAULT_WAIT_EARLY))
            result = WAIT_TIMEOUT;
        else if (pump)
            result = MsgWaitForMultipleObjectsEx(count, handles, remaining, QS_ALLINPUT,
                    MWMO_INPUTAVAILABLE);
        else if (count)
            result = WaitForMultipleObjectsEx(count, handles, FALSE, remaining, FALSE);
        else
        {
            Sleep(remaining);
            result = WAIT_TIMEOUT;
        }

        if (result == WAIT_FAILED)
            return HRESULT_FROM_WIN32(GetLastError());
        if (handle && result == WAIT_OBJECT_0)
            return S_OK;
        if (result == WAIT_OBJECT_0 + alert_index)
        {
            if (ht__task_consume_alert(self))
                return HOST_E_INTERRUPTED;
            /* An alert an earlier wait already consumed left the event set. */
        }
        else if (result == WAIT_OBJECT_0 + count)
            pump_messages();
        /* Otherwise WAIT_TIMEOUT.  A timed wait may end up to a tick
         * early (Microsoft's "Wait Functions" page, on timeouts): it counts
         * only once the deadline has passed; before, the loop waits the
         * remainder. */

        if (milliseconds != INFINITE)
        {
            /* The monotonic clock: Wine's tick count can lag under load. */
            now = ht__platform_now_ns();
            if (now >= deadline)
                return handle ? HOST_E_TIMEOUT : S_OK;
            remaining = (DWORD)((deadline - now + 999999u) / 1000000u);
        }
    }
}
