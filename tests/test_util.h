/*
 * Shared helpers of the CMocka tests under Wine, after Wine's own test
 * idioms: refcount checks that report the caller's line, QueryInterface
 * checks with sentinels, and a fixture that gets the task manager through
 * DllGetClassObject and checks at the end that everything was released.
 */
#ifndef HOSTTASK_TEST_UTIL_H
#define HOSTTASK_TEST_UTIL_H

#define COBJMACROS
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <hosttask/hosttask.h>
#include <cmocka.h>

#include "handles.h"
#include "test_assert.h"

#define SENTINEL ((void *)(ULONG_PTR)0xdeadbeef)

/* CMocka ends a failed test with a longjmp into the main thread's frame,
 * which on any other thread ends the process with no message.  So the
 * assertion primitives its macros expand to are redirected here: on the
 * main thread they are CMocka's own; on a worker thread a failure is
 * printed, counted, and ends that thread (exit code HT_WORKER_FAILED), and
 * the test fails on the main thread (run_on_thread, the fixture's
 * teardown).  (Linking with --wrap=_fail cannot do this: CMocka's own
 * assertions call _fail inside its object file, past the wrapper.) */
extern LONG ht_worker_failures;
#define HT_WORKER_FAILED 0xfa11
int ht_on_worker_thread(void);
void ht_worker_failed(const char *file, int line, const char *format, ...);

static inline void ht_assert_int_equal(LargestIntegralType a, LargestIntegralType b, const char *file, int line)
{
    if (!ht_on_worker_thread())
        _assert_int_equal(a, b, file, line);
    else if (a != b)
        ht_worker_failed(file, line, "0x%llx != 0x%llx", (unsigned long long)a, (unsigned long long)b);
}

static inline void ht_assert_int_not_equal(LargestIntegralType a, LargestIntegralType b, const char *file,
        int line)
{
    if (!ht_on_worker_thread())
        _assert_int_not_equal(a, b, file, line);
    else if (a == b)
        ht_worker_failed(file, line, "0x%llx == 0x%llx", (unsigned long long)a, (unsigned long long)b);
}

static inline void ht_assert_true(LargestIntegralType result, const char *expression, const char *file,
        int line)
{
    if (!ht_on_worker_thread())
        _assert_true(result, expression, file, line);
    else if (!result)
        ht_worker_failed(file, line, "%s", expression);
}

static inline void ht_fail(const char *file, int line)
{
    if (!ht_on_worker_thread())
        _fail(file, line);
    else
        ht_worker_failed(file, line, "failure");
}

#define _assert_int_equal ht_assert_int_equal
#define _assert_int_not_equal ht_assert_int_not_equal
#define _assert_true ht_assert_true
#define _fail ht_fail

/* Reads a refcount without changing it. */
#define expect_ref(obj, ref) expect_ref_((IUnknown *)(obj), (ref), __FILE__, __LINE__)
static inline void expect_ref_(IUnknown *obj, ULONG expected, const char *file, int line)
{
    ULONG refcount;

    IUnknown_AddRef(obj);
    refcount = IUnknown_Release(obj);
    _assert_int_equal(refcount, expected, file, line);
}

/* QI either succeeds, or fails with E_NOINTERFACE and a NULL out-param. */
#define check_interface(obj, iid, supported) \
        check_interface_((IUnknown *)(obj), (iid), (supported), __FILE__, __LINE__)
static inline void check_interface_(IUnknown *obj, REFIID iid, BOOL supported, const char *file, int line)
{
    IUnknown *unk = SENTINEL;
    HRESULT hr = IUnknown_QueryInterface(obj, iid, (void **)&unk);

    _assert_int_equal((ULONG)hr, (ULONG)(supported ? S_OK : E_NOINTERFACE), file, line);
    if (SUCCEEDED(hr))
        IUnknown_Release(unk);
    else
        _assert_true(unk == NULL, "unk == NULL", file, line);
}

/* The DLL's own exports, by name: ole32 and oleaut32 export functions of
 * the same names, so an import could bind to theirs. */
static inline FARPROC dll_export(const char *name)
{
    HMODULE module = LoadLibraryW(L"hosttask.dll");
    FARPROC proc;

    assert_non_null(module);
    proc = GetProcAddress(module, name);
    assert_non_null(proc);
    return proc;
}

static inline HRESULT dll_can_unload_now(void)
{
    return ((HRESULT (WINAPI *)(void))(void (*)(void))dll_export("DllCanUnloadNow"))();
}

static inline HRESULT dll_get_class_object(REFCLSID clsid, REFIID riid, void **out)
{
    return ((LPFNGETCLASSOBJECT)(void (*)(void))dll_export("DllGetClassObject"))(clsid, riid, out);
}

#define assert_hr(hr, expected) _assert_int_equal((ULONG)(hr), (ULONG)(expected), __FILE__, __LINE__)

/* The fixture's objects: a host control and its task manager. */
struct fixture
{
    IHostControl *control;
    IHostTaskManager *manager;
};

static inline void assert_no_worker_failures(void)
{
    assert_int_equal(InterlockedCompareExchange(&ht_worker_failures, 0, 0), 0);
}

static inline int fixture_setup(void **state)
{
    static struct fixture fixture;

    /* An earlier test's worker failures were reported by that test. */
    InterlockedExchange(&ht_worker_failures, 0);
    assert_hr(ht_create_host_control(&fixture.control), S_OK);
    assert_hr(IHostControl_GetHostManager(fixture.control, &IID_IHostTaskManager,
            (void **)&fixture.manager), S_OK);
    *state = &fixture;
    return 0;
}

/* DllCanUnloadNow, given task threads a moment to run out: a created
 * task's thread holds the module until its last instruction, a little
 * after Join or the last Release returns.  A leak still fails. */
static inline HRESULT dll_can_unload_soon(void)
{
    HRESULT hr;
    int i;

    for (i = 0; i < 500 && (hr = dll_can_unload_now()) != S_OK; i++)
        Sleep(10);
    return hr;
}

/* The manager's live task objects (IHostTaskStatistics::GetObjectCounts). */
static inline ULONG manager_live_tasks(IHostTaskManager *manager)
{
    IHostTaskStatistics *statistics;
    ULONG live, bound;

    assert_hr(IHostTaskManager_QueryInterface(manager, &IID_IHostTaskStatistics, (void **)&statistics), S_OK);
    assert_hr(IHostTaskStatistics_GetObjectCounts(statistics, &live, &bound), S_OK);
    IHostTaskStatistics_Release(statistics);
    return live;
}

/* Waits until the live task count is back to expected: task threads free
 * their objects as they exit, a moment after Join or Release returns. */
static inline void manager_wait_live_tasks(IHostTaskManager *manager, ULONG expected)
{
    int i;

    for (i = 0; i < 500 && manager_live_tasks(manager) != expected; i++)
        Sleep(10);
    assert_int_equal(manager_live_tasks(manager), expected);
}

/* Milliseconds from a monotonic clock finer than GetTickCount64. */
static inline double now_ms(void)
{
    LARGE_INTEGER frequency, now;

    QueryPerformanceFrequency(&frequency);
    QueryPerformanceCounter(&now);
    return (double)now.QuadPart * 1000.0 / (double)frequency.QuadPart;
}

/* Everything released: the control and the manager go, and the DLL could
 * unload (adopted threads' bindings do not keep it). */
static inline int fixture_teardown(void **state)
{
    struct fixture *fixture = *state;

    assert_no_worker_failures();
    assert_int_equal(IHostTaskManager_Release(fixture->manager), 1);
    assert_int_equal(IHostControl_Release(fixture->control), 0);
    assert_hr(dll_can_unload_soon(), S_OK);
    return 0;
}

#define FIXTURE_TEST(f) cmocka_unit_test_setup_teardown(f, fixture_setup, fixture_teardown)

/* Runs fn(arg) on a new plain Win32 thread (a "foreign" thread the host did
 * not create) and waits for it, at most 10 s.  A hang, or a failure on that
 * thread, fails the test naming the case (fn, or what) at the caller's
 * line. */
#define run_on_thread(fn, arg) run_on_thread_((fn), (arg), #fn, __FILE__, __LINE__)
#define run_on_thread_named(fn, arg, what) run_on_thread_((fn), (arg), (what), __FILE__, __LINE__)
static inline void run_on_thread_(
        LPTHREAD_START_ROUTINE fn, void *arg, const char *what, const char *file, int line)
{
    HANDLE thread = CreateThread(NULL, 0, fn, arg, 0, NULL);
    DWORD wait, code = 0;

    _assert_true(thread != NULL, "thread != NULL", file, line);
    wait = WaitForSingleObject(thread, 10000);
    if (wait != WAIT_OBJECT_0)
    {
        print_error("%s:%d: %s did not return within 10 s (wait: 0x%lx)\n", file, line, what, wait);
        _fail(file, line);
    }
    GetExitCodeThread(thread, &code);
    CloseHandle(thread);
    if (code == HT_WORKER_FAILED)
    {
        print_error("%s:%d: %s failed on its thread\n", file, line, what);
        _fail(file, line);
    }
}

/* The process's open handles; fails the test when they cannot be counted
 * (a process always has some). */
static inline DWORD open_handles(void)
{
    DWORD n = ht_handle_count();

    assert_in_range(n, 1, MAXDWORD - 1);
    return n;
}

#endif /* HOSTTASK_TEST_UTIL_H */
