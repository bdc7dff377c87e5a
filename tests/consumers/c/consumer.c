/*
 * A C consumer of an installed hosttask, built out of tree against
 * hosttask.pc with -Wall -Wextra -Werror (tests/consumers/run.sh).  It
 * uses the interfaces the way C code does, through COBJMACROS, and the
 * C API in <hosttask/hosttask.h>.
 *
 *   consumer_c DLLPATH
 *
 * DLLPATH is the installed hosttask.dll, registered with regsvr32 before
 * the run.  The host control is made twice: registration-free, with
 * ht_create_host_control_from(DLLPATH), and through COM, with
 * CoCreateInstance.  Both get the same round trip.  Exit code 0 means
 * every check passed.
 */
#define COBJMACROS
#include <hosttask/hosttask.h>

#include <stdio.h>

static int failures;

#define CHECK(cond) check_((cond), #cond, __LINE__)
static void check_(int ok, const char *what, int line)
{
    if (!ok)
    {
        fprintf(stderr, "consumer.c:%d: check failed: %s\n", line, what);
        failures++;
    }
}

#define CHECK_HR(expr, expected) check_hr_((expr), (expected), #expr, __LINE__)
static void check_hr_(HRESULT hr, HRESULT expected, const char *what, int line)
{
    if (hr != expected)
    {
        fprintf(stderr, "consumer.c:%d: %s returned 0x%08lx, expected 0x%08lx\n", line, what,
                (unsigned long)hr, (unsigned long)expected);
        failures++;
    }
}

/* The address a P/Invoke would call; only used as an identifier. */
static SIZE_T target(void)
{
    return (SIZE_T)(ULONG_PTR)&GetTickCount;
}

/* What a CLR host and the CLR do with a host control, in short: get the
 * task manager, make one transition pair on this thread, read the
 * counters, let go of everything.  The control's last Release returns 0. */
static void round_trip(IHostControl *control, const char *route)
{
    IHostTaskManager *manager = NULL;
    HT_TASK_STATS stats[16];
    HT_TARGET_STATS targets[16];
    BOOL hook = FALSE;
    UINT count = 0, i;
    int found = 0;

    printf("%s: round trip\n", route);
    CHECK_HR(ht_set_strict(control, TRUE), S_OK);
    CHECK_HR(ht_set_hook_policy(control, TRUE, 0, NULL), S_OK);
    CHECK_HR(ht_set_profiling(control, TRUE), S_OK);
    CHECK_HR(ht_reset_stats(control), S_OK);

    CHECK_HR(IHostControl_GetHostManager(control, &IID_IHostTaskManager, (void **)&manager), S_OK);
    CHECK(manager != NULL);
    if (!manager)
        return;
    CHECK_HR(IHostTaskManager_CallNeedsHostHook(manager, target(), &hook), S_OK);
    CHECK(hook == TRUE);
    CHECK_HR(IHostTaskManager_LeaveRuntime(manager, target()), S_OK);
    GetTickCount();
    CHECK_HR(IHostTaskManager_EnterRuntime(manager), S_OK);
    /* Strict mode: an Enter with no Leave open is refused. */
    CHECK_HR(IHostTaskManager_EnterRuntime(manager), HOST_E_INVALIDOPERATION);

    CHECK_HR(ht_get_task_stats(control, 16, stats, &count), S_OK);
    for (i = 0; i < count && i < 16; i++)
    {
        if (stats[i].threadId != GetCurrentThreadId())
            continue;
        found = 1;
        CHECK(stats[i].transitions[HT_STAT_LEAVE] == 1);
        CHECK(stats[i].transitions[HT_STAT_ENTER] == 1);
        CHECK(stats[i].depth == 0);
        CHECK(stats[i].flags & HT_TASK_ADOPTED);
    }
    CHECK(found);
    found = 0;
    CHECK_HR(ht_get_target_stats(control, 16, targets, &count), S_OK);
    for (i = 0; i < count && i < 16; i++)
        if (targets[i].target == target())
            found = targets[i].calls == 1;
    CHECK(found);

    CHECK_HR(ht_set_profiling(control, FALSE), S_OK);
    CHECK_HR(ht_set_strict(control, FALSE), S_OK);
    /* The control keeps its own reference to the manager. */
    CHECK(IHostTaskManager_Release(manager) >= 1);
    CHECK(IHostControl_Release(control) == 0);
}

/* DllCanUnloadNow of the loaded hosttask.dll: S_OK once nothing holds it. */
static HRESULT can_unload_now(void)
{
    HMODULE module = GetModuleHandleW(L"hosttask.dll");
    HRESULT (WINAPI *can_unload)(void);

    if (!module)
        return E_FAIL;
    can_unload = (HRESULT (WINAPI *)(void))(void (*)(void))GetProcAddress(module, "DllCanUnloadNow");
    return can_unload ? can_unload() : E_FAIL;
}

int main(int argc, char **argv)
{
    IHostControl *control = NULL;
    WCHAR path[MAX_PATH];
    CLSID clsid;
    HRESULT hr;

    if (argc != 2 || !MultiByteToWideChar(CP_ACP, 0, argv[1], -1, path, MAX_PATH))
    {
        fprintf(stderr, "usage: consumer_c DLLPATH\n");
        return 2;
    }

    /* Registration-free. */
    CHECK_HR(ht_create_host_control_from(path, &control), S_OK);
    CHECK(control != NULL);
    if (control)
        round_trip(control, "ht_create_host_control_from");
    CHECK_HR(can_unload_now(), S_OK);

    /* Registered: by ProgID, then CoCreateInstance, as a CLR host does. */
    hr = CoInitializeEx(NULL, COINIT_MULTITHREADED);
    CHECK(SUCCEEDED(hr));
    CHECK_HR(CLSIDFromProgID(L"HostTask.HostControl", &clsid), S_OK);
    CHECK(IsEqualCLSID(&clsid, &CLSID_HostTaskControl));
    control = NULL;
    CHECK_HR(CoCreateInstance(&CLSID_HostTaskControl, NULL, CLSCTX_INPROC_SERVER, &IID_IHostControl,
            (void **)&control), S_OK);
    CHECK(control != NULL);
    if (control)
        round_trip(control, "CoCreateInstance");
    CHECK_HR(can_unload_now(), S_OK);
    if (SUCCEEDED(hr))
        CoUninitialize();

    printf("consumer_c: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
