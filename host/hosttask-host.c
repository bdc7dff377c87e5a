/*
 * hosttask-host: a small CLR host.  For now it plays the CLR's side of the
 * handshake against the registered server (CoCreateInstance by ProgID),
 * runs a transition workload on a few threads and prints each task's
 * counters.
 */
#define COBJMACROS
#include <stdio.h>
#include <hosttask/hosttask.h>

#define WORKERS 4
#define PAIRS 100000

static IHostTaskManager *manager;
/* Each worker's task, kept past the thread's end so the report can show it. */
static IHostTask *tasks[WORKERS];

static DWORD WINAPI worker(void *arg)
{
    IHostTask **task = &tasks[(INT_PTR)arg];
    SIZE_T target = (SIZE_T)&GetTickCount;
    BOOL hook;
    int i;

    IHostTaskManager_GetCurrentTask(manager, task);
    for (i = 0; i < PAIRS; i++)
    {
        IHostTaskManager_CallNeedsHostHook(manager, target, &hook);
        if (!hook)
            continue;
        IHostTaskManager_LeaveRuntime(manager, target);
        GetTickCount();
        if (i % 10 == 0)
        {
            /* A native callback into managed code. */
            IHostTaskManager_ReverseEnterRuntime(manager);
            IHostTaskManager_ReverseLeaveRuntime(manager);
        }
        IHostTaskManager_EnterRuntime(manager);
    }
    return 0;
}

int wmain(int argc, WCHAR **argv)
{
    IHostControl *control = NULL;
    HANDLE threads[WORKERS];
    HT_TASK_STATS stats[64];
    UINT count = 0, i;
    CLSID clsid;
    HRESULT hr;

    CoInitializeEx(NULL, COINIT_MULTITHREADED);
    if (FAILED(hr = CLSIDFromProgID(L"HostTask.HostControl", &clsid))
            || FAILED(hr = CoCreateInstance(&clsid, NULL, CLSCTX_INPROC_SERVER, &IID_IHostControl,
                    (void **)&control)))
    {
        fprintf(stderr, "hosttask-host: HostTask.HostControl is not registered (0x%08lx); "
                "run regsvr32 hosttask.dll first\n", (unsigned long)hr);
        return 2;
    }
    if (FAILED(hr = IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager)))
    {
        fprintf(stderr, "hosttask-host: GetHostManager failed (0x%08lx)\n", (unsigned long)hr);
        return 2;
    }
    for (i = 0; i < WORKERS; i++)
        threads[i] = CreateThread(NULL, 0, worker, (void *)(INT_PTR)i, 0, NULL);
    WaitForMultipleObjects(WORKERS, threads, TRUE, INFINITE);
    ht_get_task_stats(control, ARRAYSIZE(stats), stats, &count);
    printf("%-6s %-8s %10s %10s %10s %10s %6s %10s\n", "task", "thread", "leave", "enter",
            "rev-enter", "rev-leave", "max", "imbalance");
    for (i = 0; i < count && i < ARRAYSIZE(stats); i++)
        printf("%-6llu %-8lu %10llu %10llu %10llu %10llu %6llu %10llu\n",
                (unsigned long long)stats[i].taskId, stats[i].threadId,
                (unsigned long long)stats[i].transitions[HT_STAT_LEAVE],
                (unsigned long long)stats[i].transitions[HT_STAT_ENTER],
                (unsigned long long)stats[i].transitions[HT_STAT_REVERSE_ENTER],
                (unsigned long long)stats[i].transitions[HT_STAT_REVERSE_LEAVE],
                (unsigned long long)stats[i].maxDepth,
                (unsigned long long)(stats[i].imbalances[0] + stats[i].imbalances[1]
                        + stats[i].imbalances[2] + stats[i].imbalances[3] + stats[i].imbalances[4]));
    for (i = 0; i < WORKERS; i++)
    {
        CloseHandle(threads[i]);
        if (tasks[i])
            IHostTask_Release(tasks[i]);
    }
    IHostTaskManager_Release(manager);
    IHostControl_Release(control);
    CoUninitialize();
    return 0;
}
