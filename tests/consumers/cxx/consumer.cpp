/*
 * A C++ consumer of an installed hosttask, built out of tree with
 * find_package(hosttask) and -Wall -Wextra -Werror
 * (tests/consumers/run.sh).  It uses the interfaces the way C++ code does,
 * with method calls and __uuidof, and the C API in <hosttask/hosttask.h>.
 *
 *   consumer_cxx
 *
 * The build copies hosttask.dll next to the exe; the test registers that
 * copy with regsvr32 before the run.  The host control is made twice:
 * registration-free, with ht_create_host_control() (the DLL search path
 * finds the copy), and through COM, with CoCreateInstance.  Both get the
 * same round trip.  Exit code 0 means every check passed.
 */
#include <hosttask/hosttask.h>

#include <cstdio>
#include <cwchar>

namespace {

int failures;

#define CHECK(cond) check_((cond), #cond, __LINE__)
void check_(bool ok, const char *what, int line)
{
    if (!ok)
    {
        std::fprintf(stderr, "consumer.cpp:%d: check failed: %s\n", line, what);
        failures++;
    }
}

#define CHECK_HR(expr, expected) check_hr_((expr), (expected), #expr, __LINE__)
void check_hr_(HRESULT hr, HRESULT expected, const char *what, int line)
{
    if (hr != expected)
    {
        std::fprintf(stderr, "consumer.cpp:%d: %s returned 0x%08lx, expected 0x%08lx\n", line, what,
                     static_cast<unsigned long>(hr), static_cast<unsigned long>(expected));
        failures++;
    }
}

// The address a P/Invoke would call; only used as an identifier.
SIZE_T target()
{
    return reinterpret_cast<SIZE_T>(&GetTickCount);
}

// Get the task manager, make one transition pair on this thread, read the
// counters, let go of everything.  The control's last Release returns 0.
void round_trip(IHostControl *control, const char *route)
{
    IHostTaskManager *manager = nullptr;
    IHostTaskStatistics *statistics = nullptr;
    HT_TASK_STATS stats = {};
    BOOL hook = FALSE;

    std::printf("%s: round trip\n", route);
    CHECK_HR(ht_set_hook_policy(control, TRUE, 0, nullptr), S_OK);
    CHECK_HR(ht_reset_stats(control), S_OK);

    CHECK_HR(control->GetHostManager(IID_PPV_ARGS(&manager)), S_OK);
    CHECK(manager != nullptr);
    if (!manager)
        return;
    CHECK_HR(manager->CallNeedsHostHook(target(), &hook), S_OK);
    CHECK(hook == TRUE);
    CHECK_HR(manager->LeaveRuntime(target()), S_OK);
    GetTickCount();
    CHECK_HR(manager->EnterRuntime(), S_OK);
    // A callback inside the call: the reverse pair answers exactly S_OK.
    CHECK_HR(manager->LeaveRuntime(target()), S_OK);
    CHECK_HR(manager->ReverseEnterRuntime(), S_OK);
    CHECK_HR(manager->ReverseLeaveRuntime(), S_OK);
    CHECK_HR(manager->EnterRuntime(), S_OK);

    CHECK_HR(manager->QueryInterface(IID_PPV_ARGS(&statistics)), S_OK);
    if (statistics)
    {
        CHECK_HR(statistics->GetCurrentTaskStats(&stats), S_OK);
        CHECK(stats.threadId == GetCurrentThreadId());
        CHECK(stats.transitions[HT_STAT_LEAVE] == 2);
        CHECK(stats.transitions[HT_STAT_ENTER] == 2);
        CHECK(stats.transitions[HT_STAT_REVERSE_ENTER] == 1);
        CHECK(stats.transitions[HT_STAT_REVERSE_LEAVE] == 1);
        CHECK(stats.depth == 0);
        statistics->Release();
    }

    // The control keeps its own reference to the manager.
    CHECK(manager->Release() >= 1);
    CHECK(control->Release() == 0);
}

// The directory of this exe, with its trailing backslash.
bool exe_dir(WCHAR *dir, DWORD size)
{
    DWORD len = GetModuleFileNameW(nullptr, dir, size);
    WCHAR *slash;

    if (!len || len >= size || !(slash = std::wcsrchr(dir, L'\\')))
        return false;
    slash[1] = 0;
    return true;
}

// DllCanUnloadNow of the loaded hosttask.dll, which must be the copy next
// to the exe: S_OK once nothing holds it.
HRESULT can_unload_now()
{
    WCHAR dir[MAX_PATH], path[MAX_PATH];
    HMODULE module = GetModuleHandleW(L"hosttask.dll");
    HRESULT (WINAPI *can_unload)();

    if (!module || !exe_dir(dir, MAX_PATH) || !GetModuleFileNameW(module, path, MAX_PATH))
        return E_FAIL;
    CHECK(!_wcsnicmp(path, dir, std::wcslen(dir)));
    can_unload = reinterpret_cast<HRESULT (WINAPI *)()>(
            reinterpret_cast<void (*)()>(GetProcAddress(module, "DllCanUnloadNow")));
    return can_unload ? can_unload() : E_FAIL;
}

} // namespace

int main()
{
    IHostControl *control = nullptr;
    HRESULT hr;

    CHECK(__uuidof(IHostTaskManager) == IID_IHostTaskManager);
    CHECK(__uuidof(IHostTaskStatistics) == IID_IHostTaskStatistics);

    // Registration-free, from the DLL search path.
    CHECK_HR(ht_create_host_control(&control), S_OK);
    CHECK(control != nullptr);
    if (control)
        round_trip(control, "ht_create_host_control");
    CHECK_HR(can_unload_now(), S_OK);

    // Registered.
    hr = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    CHECK(SUCCEEDED(hr));
    control = nullptr;
    CHECK_HR(CoCreateInstance(CLSID_HostTaskControl, nullptr, CLSCTX_INPROC_SERVER, IID_PPV_ARGS(&control)),
             S_OK);
    CHECK(control != nullptr);
    if (control)
        round_trip(control, "CoCreateInstance");
    CHECK_HR(can_unload_now(), S_OK);
    if (SUCCEEDED(hr))
        CoUninitialize();

    std::printf("consumer_cxx: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
