/*
 * The native stress tests' shim (tests/stress_core.c,
 * tests/stress_scheduler.c, tests/stress_sched_cases.c): threads whose
 * join times out, so that a deadlock fails instead of hanging, a monotonic
 * millisecond clock, sleep, a xorshift generator, and CHECK, the workers'
 * assertion.
 *
 * Worker threads never call CMocka's assertions (they are not
 * thread-safe): CHECK counts a failure in `failures`, prints the first ten,
 * and the test asserts none.  Define STRESS_JOIN_TIMEOUT_MS before
 * including this to change how long a join waits (default 30 s).
 */
#ifndef HOSTTASK_STRESS_SHIM_H
#define HOSTTASK_STRESS_SHIM_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "scheduler.h"

#ifdef _WIN32
#include <windows.h>
#else
#include <pthread.h>
#include <time.h>
#endif

#ifndef STRESS_JOIN_TIMEOUT_MS
#define STRESS_JOIN_TIMEOUT_MS 30000u
#endif

/* Failures CHECK saw, on any thread; each program defines it once. */
extern atomic_ulong failures;

#define CHECK(cond, ...) \
    do \
    { \
        if (!(cond) && atomic_fetch_add(&failures, 1) < 10) \
        { \
            fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr); \
        } \
    } while (0)

static inline uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

struct thread
{
    void (*fn)(void *arg);
    void *arg;
    void *done;     /* set when fn returns */
#ifdef _WIN32
    HANDLE handle;
#else
    pthread_t handle;
#endif
};

static inline void thread_body(struct thread *thread)
{
    thread->fn(thread->arg);
    ht__platform_event_set(thread->done);
}

#ifdef _WIN32
static inline DWORD WINAPI thread_main(void *arg)
{
    thread_body(arg);
    return 0;
}

static inline void thread_create(struct thread *thread)
{
    thread->handle = CreateThread(NULL, 0, thread_main, thread, 0, NULL);
    assert_non_null(thread->handle);
}

static inline void thread_wait(struct thread *thread)
{
    assert_int_equal(WaitForSingleObject(thread->handle, INFINITE), WAIT_OBJECT_0);
    CloseHandle(thread->handle);
}

static inline uint64_t now_ms(void)
{
    return GetTickCount64();
}

static inline void sleep_ms(unsigned int ms)
{
    Sleep(ms);
}
#else
static inline void *thread_main(void *arg)
{
    thread_body(arg);
    return NULL;
}

static inline void thread_create(struct thread *thread)
{
    assert_int_equal(pthread_create(&thread->handle, NULL, thread_main, thread), 0);
}

static inline void thread_wait(struct thread *thread)
{
    assert_int_equal(pthread_join(thread->handle, NULL), 0);
}

static inline uint64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline void sleep_ms(unsigned int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

    nanosleep(&ts, NULL);
}
#endif

static inline void thread_start(struct thread *thread, void (*fn)(void *arg), void *arg)
{
    thread->fn = fn;
    thread->arg = arg;
    assert_non_null(thread->done = ht__platform_event_create());
    thread_create(thread);
}

/* Fails the test, instead of hanging, when the thread does not finish in
 * STRESS_JOIN_TIMEOUT_MS. */
static inline void thread_join(struct thread *thread)
{
    if (!ht__platform_event_wait(thread->done, STRESS_JOIN_TIMEOUT_MS))
        fail_msg("a thread did not finish in %u ms: deadlock", (unsigned int)STRESS_JOIN_TIMEOUT_MS);
    thread_wait(thread);
    ht__platform_event_destroy(thread->done);
    thread->done = NULL;
}

#endif
