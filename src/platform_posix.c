/* The platform layer of the native (POSIX) build of the core. */
#include "core.h"

#include <sched.h>

void ht__platform_yield(void)
{
    sched_yield();
}
