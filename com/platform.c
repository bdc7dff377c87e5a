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
