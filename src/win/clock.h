/*
 * The Windows build's clock (src/win/platform.c), beyond the core's
 * ht__platform_now_ns(): starting it at DLL attach, and hooks for the tests.
 */
#ifndef HOSTTASK_CLOCK_H
#define HOSTTASK_CLOCK_H

/* Takes the first calibration sample now (a few QPC reads, no waiting),
 * so the TSC takes over CALIBRATION_NS after the DLL is loaded. */
void ht__platform_clock_start(void);

/* Whether ht__platform_now_ns() now reads the TSC (calibrated) rather than
 * QueryPerformanceCounter. */
int ht__platform_clock_uses_tsc(void);

/* Tests only: forgets the calibration and starts again, allowed to use the
 * TSC or kept on QPC.  No other thread may be reading the clock. */
void ht__platform_clock_restart(int allow_tsc);

#endif
