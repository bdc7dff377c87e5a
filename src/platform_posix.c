/* The platform layer of the native (POSIX) build of the core. */
#include "core.h"

#include <sched.h>

void ht__platform_yield(void)
{
    sched_yield();
}

#include <time.h>

uint64_t ht__platform_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
