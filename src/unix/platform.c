/* The platform layer of the native (POSIX) build of the core. */
#include "../core.h"

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

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "../scheduler.h"

struct ht__mutex
{
    pthread_mutex_t mutex;
};

struct ht__mutex *ht__platform_mutex_create(void)
{
    struct ht__mutex *mutex = malloc(sizeof(*mutex));

    if (mutex && pthread_mutex_init(&mutex->mutex, NULL))
    {
        free(mutex);
        return NULL;
    }
    return mutex;
}

void ht__platform_mutex_destroy(struct ht__mutex *mutex)
{
    pthread_mutex_destroy(&mutex->mutex);
    free(mutex);
}

void ht__platform_mutex_lock(struct ht__mutex *mutex)
{
    pthread_mutex_lock(&mutex->mutex);
}

void ht__platform_mutex_unlock(struct ht__mutex *mutex)
{
    pthread_mutex_unlock(&mutex->mutex);
}

/* The time timeout_ms from now on the given clock. */
static struct timespec deadline_in(clockid_t clock, uint32_t timeout_ms)
{
    struct timespec deadline;

    clock_gettime(clock, &deadline);
    deadline.tv_sec += timeout_ms / 1000u;
    deadline.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
    {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

/* An auto-reset event: a flag under a mutex, and a condition variable. */
struct event
{
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    int signaled;
};

void *ht__platform_event_create(void)
{
    struct event *event = calloc(1, sizeof(*event));
    pthread_condattr_t attr;

    if (!event)
        return NULL;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_mutex_init(&event->mutex, NULL);
    pthread_cond_init(&event->cond, &attr);
    pthread_condattr_destroy(&attr);
    return event;
}

void ht__platform_event_destroy(void *opaque)
{
    struct event *event = opaque;

    pthread_cond_destroy(&event->cond);
    pthread_mutex_destroy(&event->mutex);
    free(event);
}

void ht__platform_event_set(void *opaque)
{
    struct event *event = opaque;

    pthread_mutex_lock(&event->mutex);
    event->signaled = 1;
    pthread_cond_signal(&event->cond);
    pthread_mutex_unlock(&event->mutex);
}

int ht__platform_event_wait(void *opaque, uint32_t timeout_ms)
{
    struct event *event = opaque;
    struct timespec deadline;
    int signaled, rc = 0;

    deadline = deadline_in(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&event->mutex);
    while (!event->signaled && rc != ETIMEDOUT)
        rc = timeout_ms == HT__WAIT_FOREVER ? pthread_cond_wait(&event->cond, &event->mutex)
                                           : pthread_cond_timedwait(&event->cond, &event->mutex, &deadline);
    signaled = event->signaled;
    event->signaled = 0;
    pthread_mutex_unlock(&event->mutex);
    return signaled;
}

/* Futex-class waits: the futex itself on Linux; elsewhere a condition
 * variable shared by every address, which never touches the address
 * either. */
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void ht__platform_wait_address(atomic_uint *address, unsigned int expected, uint32_t timeout_ms)
{
    struct timespec timeout = { (time_t)(timeout_ms / 1000u), (long)(timeout_ms % 1000u) * 1000000L };

    syscall(SYS_futex, (unsigned int *)address, FUTEX_WAIT_PRIVATE, expected,
            timeout_ms == HT__WAIT_FOREVER ? NULL : &timeout, NULL, 0);
}

void ht__platform_wake_address(atomic_uint *address)
{
    syscall(SYS_futex, (unsigned int *)address, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
#else
static pthread_mutex_t address_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t address_cond = PTHREAD_COND_INITIALIZER;

void ht__platform_wait_address(atomic_uint *address, unsigned int expected, uint32_t timeout_ms)
{
    struct timespec deadline;

    deadline = deadline_in(CLOCK_REALTIME, timeout_ms);
    pthread_mutex_lock(&address_mutex);
    if (atomic_load(address) == expected)
    {
        if (timeout_ms == HT__WAIT_FOREVER)
            pthread_cond_wait(&address_cond, &address_mutex);
        else
            pthread_cond_timedwait(&address_cond, &address_mutex, &deadline);
    }
    pthread_mutex_unlock(&address_mutex);
}

void ht__platform_wake_address(atomic_uint *address)
{
    (void)address;
    pthread_mutex_lock(&address_mutex);
    pthread_cond_broadcast(&address_cond);
    pthread_mutex_unlock(&address_mutex);
}
#endif

struct thread_start
{
    pthread_t thread;
    void (*fn)(void *arg);
    void *arg;
};

static void *thread_main(void *arg)
{
    struct thread_start *start = arg;

    start->fn(start->arg);
    return NULL;
}

void *ht__platform_thread_start(void (*fn)(void *arg), void *arg)
{
    struct thread_start *start = malloc(sizeof(*start));

    if (!start)
        return NULL;
    start->fn = fn;
    start->arg = arg;
    if (pthread_create(&start->thread, NULL, thread_main, start))
    {
        free(start);
        return NULL;
    }
    return start;
}

void ht__platform_thread_join(void *thread)
{
    struct thread_start *start = thread;

    pthread_join(start->thread, NULL);
    free(start);
}
