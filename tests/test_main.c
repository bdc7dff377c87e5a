/* Shared by every CMocka test under Wine: worker-thread failures (see
 * test_util.h). */
#include "test_util.h"

#include <stdio.h>

LONG ht_worker_failures;
static DWORD main_thread;

void __wrap__fail(const char *file, int line)
{
    if (!main_thread)
        main_thread = GetCurrentThreadId();
    if (GetCurrentThreadId() == main_thread)
        __real__fail(file, line);
    fprintf(stderr, "[  WORKER  ] --- %s:%d: error: failure on thread %lu\n", file, line, GetCurrentThreadId());
    fflush(stderr);
    InterlockedIncrement(&ht_worker_failures);
    ExitThread(HT_WORKER_FAILED);
}

/* Runs before main: the thread that runs the tests is the main one. */
static void __attribute__((constructor)) note_main_thread(void)
{
    main_thread = GetCurrentThreadId();
}
