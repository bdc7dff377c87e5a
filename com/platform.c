/* The platform layer of the Windows build of the core. */
#include <windows.h>

#include "../src/core.h"

void ht__platform_yield(void)
{
    SwitchToThread();
}

uint64_t ht__platform_now_ns(void)
{
    static LONG64 frequency;
    LARGE_INTEGER now, f;
    LONG64 hz = frequency;

    if (!hz)
    {
        QueryPerformanceFrequency(&f);
        frequency = hz = f.QuadPart;
    }
    QueryPerformanceCounter(&now);
    /* Split to keep the product in 64 bits for any realistic uptime. */
    return (uint64_t)(now.QuadPart / hz) * 1000000000u + (uint64_t)(now.QuadPart % hz) * 1000000000u / (uint64_t)hz;
}

#include "../src/scheduler.h"

struct ht__mutex
{
    CRITICAL_SECTION section;
};

struct ht__mutex *ht__platform_mutex_create(void)
{
    struct ht__mutex *mutex = HeapAlloc(GetProcessHeap(), 0, sizeof(*mutex));

    /* A short spin first: the scheduler's lock is held for a few dozen
     * instructions, and sleeping in the kernel costs far more. */
    if (mutex)
        InitializeCriticalSectionAndSpinCount(&mutex->section, 4000);
    return mutex;
}

void ht__platform_mutex_destroy(struct ht__mutex *mutex)
{
    DeleteCriticalSection(&mutex->section);
    HeapFree(GetProcessHeap(), 0, mutex);
}

void ht__platform_mutex_lock(struct ht__mutex *mutex)
{
    EnterCriticalSection(&mutex->section);
}

void ht__platform_mutex_unlock(struct ht__mutex *mutex)
{
    LeaveCriticalSection(&mutex->section);
}

void *ht__platform_event_create(void)
{
    return CreateEventW(NULL, FALSE, FALSE, NULL);
}

void ht__platform_event_destroy(void *event)
{
    CloseHandle(event);
}

void ht__platform_event_set(void *event)
{
    SetEvent(event);
}

int ht__platform_event_wait(void *event, uint32_t timeout_ms)
{
    return WaitForSingleObject(event, timeout_ms == HT_WAIT_FOREVER ? INFINITE : timeout_ms) == WAIT_OBJECT_0;
}
