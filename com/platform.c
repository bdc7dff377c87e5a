/* The platform layer of the Windows build of the core. */
#include <windows.h>

#include "../src/core.h"

void ht__platform_yield(void)
{
    SwitchToThread();
}
