/* Shared by every CMocka test under Wine: failures on worker threads (see
 * test_util.h). */
#include "test_util.h"

#include <stdio.h>

LONG ht_worker_failures;
static DWORD main_thread;

/* Runs before main: the thread that runs the tests is the main one. */
static void __attribute__((constructor)) note_main_thread(void)
{
    main_thread = GetCurrentThreadId();
}

int ht_on_worker_thread(void)
{
    return GetCurrentThreadId() != main_thread;
}

void ht_worker_failed(const char *file, int line, const char *format, ...)
{
    va_list args;

    fprintf(stderr, "[  WORKER  ] --- %s:%d: error on thread %lu: ", file, line, GetCurrentThreadId());
    va_start(args, format);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\n");
    fflush(stderr);
    InterlockedIncrement(&ht_worker_failures);
    ExitThread(HT_WORKER_FAILED);
}
