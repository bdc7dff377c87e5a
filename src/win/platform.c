/* The platform layer of the Windows build of the core. */
#include <windows.h>
#include <cpuid.h>
#include <x86intrin.h>

#include "../core.h"
#include "clock.h"

void ht__platform_yield(void)
{
    SwitchToThread();
}

int (*ht__platform_fault_hook)(unsigned int kind);
void (*ht__platform_heap_hook)(int delta);

static int fault(unsigned int kind)
{
    return __builtin_expect(ht__platform_fault_hook != NULL, 0) && ht__platform_fault_hook(kind);
}

void *ht__platform_alloc(size_t size)
{
    void *p;

    if (fault(HT__PLATFORM_FAULT_HEAP))
        return NULL;
    if ((p = HeapAlloc(GetProcessHeap(), HEAP_ZERO_MEMORY, size ? size : 1)) && ht__platform_heap_hook)
        ht__platform_heap_hook(1);
    return p;
}

void *ht__platform_realloc(void *p, size_t size)
{
    if (!p)
        return ht__platform_alloc(size);
    if (fault(HT__PLATFORM_FAULT_HEAP))
        return NULL;
    return HeapReAlloc(GetProcessHeap(), 0, p, size ? size : 1);
}

void ht__platform_free(void *p)
{
    if (!p)
        return;
    if (ht__platform_heap_hook)
        ht__platform_heap_hook(-1);
    HeapFree(GetProcessHeap(), 0, p);
}

/*
 * The monotonic clock, read on every profiled LeaveRuntime and EnterRuntime
 * and by the scheduler.
 *
 * QueryPerformanceCounter is a system call under Wine 8 (about 170 ns), so
 * where the processor's time-stamp counter is invariant (CPUID 0x80000007,
 * EDX bit 8: one rate whatever the power state) the clock reads the TSC and
 * scales it to nanoseconds against QPC:
 *
 *  - an anchor sample, a QPC reading bracketed by two TSC readings, is
 *    taken at DLL attach (or at the first read, in programs that link the
 *    core statically);
 *  - until CALIBRATION_NS of QPC time have passed, reads return QPC time;
 *  - the first read after that takes a second sample, derives the rate
 *    (nanoseconds per tick, in fixed point with 32 fractional bits) and
 *    publishes it with a release store of a pointer to a struct that is
 *    never written again, so no reader can see half of it;
 *  - from then on a read is an lfence, an rdtsc and a multiply.
 *
 * Nothing waits: the calibration steps are taken by whichever reader wins
 * a try-lock, and any other reader meanwhile reads QPC.  Where the TSC is
 * not invariant, or the calibration gives an implausible rate, the clock
 * stays on QPC.
 *
 * Monotonic across the switch: the TSC timeline starts at the calibration
 * sample's QPC reading plus one QPC tick and LEAD_NS, at the TSC reading
 * taken before that QPC call, so it is ahead of QPC from the sample on (by
 * under 20 us); and a reader that went to QPC returns its QPC value only if
 * the rate was still unpublished after it read that value.  So no QPC value
 * returned is later than a TSC value returned after it.  LEAD_NS covers the
 * rate's error (bounded by the sample check below to about 1/4096) should
 * the calibrating thread be preempted between its sample and publishing.
 *
 * Monotonic across threads afterwards: the lfence keeps rdtsc from running
 * ahead of the loads before it (a time another thread returned and this
 * one read is never later than this one's next reading), and the invariant
 * TSC is taken to be synchronised across processors; a reading a few ticks
 * behind the anchor counts as the anchor.
 */
#define CALIBRATION_NS 50000000u
#define LEAD_NS 16000u
#define SAMPLE_TRIES 3

static _Atomic uint64_t qpc_frequency;

static uint64_t qpc_hz(void)
{
    uint64_t hz = atomic_load_explicit(&qpc_frequency, memory_order_relaxed);
    LARGE_INTEGER f;

    if (!hz)
    {
        QueryPerformanceFrequency(&f);
        hz = (uint64_t)f.QuadPart;
        atomic_store_explicit(&qpc_frequency, hz, memory_order_relaxed);
    }
    return hz;
}

static uint64_t qpc_ns(void)
{
    uint64_t hz = qpc_hz(), ticks;
    LARGE_INTEGER now;

    QueryPerformanceCounter(&now);
    ticks = (uint64_t)now.QuadPart;
    /* Split to keep the product in 64 bits for any realistic uptime. */
    return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz;
}

static inline uint64_t read_tsc(void)
{
    /* rdtsc does not wait for earlier instructions, loads included.  (The
     * TSC is used only where it is invariant, so on processors that all
     * have SSE2's lfence, the i686 build included.) */
    __asm__ __volatile__("lfence" ::: "memory");
    return __rdtsc();
}

/* (a * b) >> 32, exact whenever the result fits in 64 bits. */
static inline uint64_t mul_shift32(uint64_t a, uint64_t b)
{
#ifdef __SIZEOF_INT128__
    return (uint64_t)(((unsigned __int128)a * b) >> 32);
#else
    uint64_t a_lo = (uint32_t)a, a_hi = a >> 32, b_lo = (uint32_t)b, b_hi = b >> 32;

    return (a_hi * b_hi << 32) + a_hi * b_lo + a_lo * b_hi + (a_lo * b_lo >> 32);
#endif
}

/* The TSC timeline: ns0 at tsc0, mult nanoseconds per 2^32 ticks. */
struct tsc_scale
{
    uint64_t tsc0;
    uint64_t ns0;
    uint64_t mult;
};

static inline uint64_t tsc_to_ns(const struct tsc_scale *scale, uint64_t tsc)
{
    int64_t ticks = (int64_t)(tsc - scale->tsc0);

    return scale->ns0 + (ticks > 0 ? mul_shift32((uint64_t)ticks, scale->mult) : 0);
}

/* NULL until calibrated; then &published_scale, written before. */
static const struct tsc_scale *_Atomic tsc_clock;
static struct tsc_scale published_scale;

/* The calibration's state; the anchor is used only under clock_busy. */
enum clock_state
{
    CLOCK_UNSTARTED,
    CLOCK_ANCHORED,
    CLOCK_SETTLED      /* calibrated, or staying on QPC */
};

struct sample
{
    uint64_t tsc;      /* read just before the QPC call */
    uint64_t width;    /* ticks to the TSC reading just after it */
    uint64_t ns;       /* QPC time */
};

static atomic_int clock_state, clock_busy, tsc_refused;
static struct sample anchor;

static int invariant_tsc(void)
{
    unsigned int eax, ebx, ecx, edx;

    /* __get_cpuid checks that the leaf exists (and, on i686, that CPUID does). */
    return __get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) && (edx & (1u << 8));
}

/* The narrowest of a few brackets: a preemption or a move to another
 * processor inside one widens only that one. */
static struct sample take_sample(void)
{
    struct sample best = { 0, UINT64_MAX, 0 }, s;
    int i;

    for (i = 0; i < SAMPLE_TRIES; i++)
    {
        s.tsc = read_tsc();
        s.ns = qpc_ns();
        s.width = read_tsc() - s.tsc;
        if (s.width < best.width)
            best = s;
    }
    return best;
}

/* One step of the calibration, under clock_busy; now is a QPC time read
 * before clock_busy was taken. */
static void calibrate(uint64_t now)
{
    uint64_t ticks, ns, mult, hz;
    struct sample s;

    switch (atomic_load_explicit(&clock_state, memory_order_relaxed))
    {
    case CLOCK_UNSTARTED:
        if (atomic_load_explicit(&tsc_refused, memory_order_relaxed) || !invariant_tsc())
        {
            atomic_store_explicit(&clock_state, CLOCK_SETTLED, memory_order_relaxed);
            return;
        }
        anchor = take_sample();
        atomic_store_explicit(&clock_state, CLOCK_ANCHORED, memory_order_relaxed);
        return;
    case CLOCK_ANCHORED:
        /* (now is earlier than the anchor if another thread took it after
         * this one read QPC.) */
        if (now < anchor.ns || now - anchor.ns < CALIBRATION_NS)
            return;
        break;
    default:
        return;
    }

    s = take_sample();
    /* Between the brackets' midpoints. */
    ticks = s.tsc + s.width / 2 - (anchor.tsc + anchor.width / 2);
    ns = s.ns - anchor.ns;
    /* Brackets wider than 1/4096 of the interval (a preemption, a move
     * between processors): start again from this sample. */
    if ((int64_t)ticks <= 0 || anchor.width + s.width > ticks >> 12)
    {
        anchor = s;
        return;
    }
    /* ns << 32 must fit in 64 bits: a long interval loses low bits of
     * both, keeping 32 significant ones at least. */
    while (ns >> 32)
    {
        ns >>= 1;
        ticks >>= 1;
    }
    mult = ticks ? ((ns << 32) + ticks / 2) / ticks : 0;
    /* A TSC between 10 MHz and 100 GHz, or this is no clock to trust. */
    if (mult < (1ull << 32) / 100 || mult > (100ull << 32))
    {
        atomic_store_explicit(&clock_state, CLOCK_SETTLED, memory_order_relaxed);
        return;
    }
    hz = qpc_hz();
    published_scale.tsc0 = s.tsc;
    published_scale.ns0 = s.ns + (1000000000u + hz - 1) / hz + LEAD_NS;
    published_scale.mult = mult;
    atomic_store_explicit(&tsc_clock, &published_scale, memory_order_release);
    atomic_store_explicit(&clock_state, CLOCK_SETTLED, memory_order_relaxed);
}

/* Until the TSC is calibrated: QPC, and a calibration step if no other
 * thread is taking one.  Out of line, so the TSC path needs no frame. */
static __attribute__((noinline)) uint64_t now_ns_calibrating(void)
{
    const struct tsc_scale *scale;
    uint64_t now = qpc_ns();
    int idle = 0;

    if (atomic_load_explicit(&clock_state, memory_order_relaxed) != CLOCK_SETTLED
            && !atomic_load_explicit(&clock_busy, memory_order_relaxed)
            && atomic_compare_exchange_strong_explicit(&clock_busy, &idle, 1, memory_order_acquire,
                    memory_order_relaxed))
    {
        calibrate(now);
        atomic_store_explicit(&clock_busy, 0, memory_order_release);
    }
    /* Published since this call began: others may already have returned
     * TSC times, which can run behind QPC by the rate's error, so do the
     * same. */
    if ((scale = atomic_load_explicit(&tsc_clock, memory_order_acquire)))
        return tsc_to_ns(scale, read_tsc());
    return now;
}

uint64_t ht__platform_now_ns(void)
{
    const struct tsc_scale *scale = atomic_load_explicit(&tsc_clock, memory_order_acquire);

    if (scale)
        return tsc_to_ns(scale, read_tsc());
    return now_ns_calibrating();
}

void ht__platform_clock_start(void)
{
    ht__platform_now_ns();
}

int ht__platform_clock_uses_tsc(void)
{
    return atomic_load_explicit(&tsc_clock, memory_order_acquire) != NULL;
}

void ht__platform_clock_restart(int allow_tsc)
{
    atomic_store(&tsc_clock, NULL);
    atomic_store(&tsc_refused, !allow_tsc);
    atomic_store(&clock_state, CLOCK_UNSTARTED);
}

#include "../scheduler.h"

struct ht__mutex
{
    CRITICAL_SECTION section;
};

struct ht__mutex *ht__platform_mutex_create(void)
{
    struct ht__mutex *mutex = ht__platform_alloc(sizeof(*mutex));

    /* A short spin first: the scheduler's lock is held for a few dozen
     * instructions, and sleeping in the kernel costs far more. */
    if (mutex)
        InitializeCriticalSectionAndSpinCount(&mutex->section, 4000);
    return mutex;
}

void ht__platform_mutex_destroy(struct ht__mutex *mutex)
{
    DeleteCriticalSection(&mutex->section);
    ht__platform_free(mutex);
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
    if (fault(HT__PLATFORM_FAULT_EVENT))
        return NULL;
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
    return WaitForSingleObject(event, timeout_ms == HT__WAIT_FOREVER ? INFINITE : timeout_ms) == WAIT_OBJECT_0;
}

/*
 * Futex-class waits: WaitOnAddress and WakeByAddressSingle (Windows 8 and
 * later; Wine implements them over ntdll's RtlWaitOnAddress).  Looked up
 * at first use, in the API set DLL that exports them or in kernelbase, so
 * that the DLL still loads where they are missing; there a wait polls
 * every millisecond, slow but never stuck.  The wake only looks the
 * address up among its waiters and never reads the memory.
 */
typedef BOOL (WINAPI *wait_on_address_fn)(volatile void *, void *, SIZE_T, DWORD);
typedef void (WINAPI *wake_by_address_fn)(void *);

static wait_on_address_fn wait_on_address;
static wake_by_address_fn wake_by_address;
static atomic_int address_api_state;   /* 0 unknown, 1 present, 2 missing */

static int address_api(void)
{
    static const char *const dlls[] = { "api-ms-win-core-synch-l1-2-0.dll", "kernelbase.dll", "kernel32.dll" };
    int state = atomic_load_explicit(&address_api_state, memory_order_acquire);
    HMODULE module;
    FARPROC wait, wake;
    unsigned int i;

    if (state)
        return state == 1;
    for (i = 0, state = 2; i < sizeof(dlls) / sizeof(dlls[0]) && state == 2; i++)
    {
        if (!(module = GetModuleHandleA(dlls[i])) && !(module = LoadLibraryA(dlls[i])))
            continue;
        wait = GetProcAddress(module, "WaitOnAddress");
        wake = GetProcAddress(module, "WakeByAddressSingle");
        if (wait && wake)
        {
            /* Racing first users store the same values. */
            wait_on_address = (wait_on_address_fn)(void (*)(void))wait;
            wake_by_address = (wake_by_address_fn)(void (*)(void))wake;
            state = 1;
        }
    }
    atomic_store_explicit(&address_api_state, state, memory_order_release);
    return state == 1;
}

void ht__platform_wait_address(atomic_uint *address, unsigned int expected, uint32_t timeout_ms)
{
    if (address_api())
        wait_on_address((volatile void *)address, &expected, sizeof(expected),
                timeout_ms == HT__WAIT_FOREVER ? INFINITE : timeout_ms);
    else if (atomic_load(address) == expected)
        Sleep(1);
}

void ht__platform_wake_address(atomic_uint *address)
{
    if (address_api())
        wake_by_address((void *)address);
}

struct thread_start
{
    void (*fn)(void *arg);
    void *arg;
    HANDLE thread;
};

static DWORD WINAPI thread_main(void *arg)
{
    struct thread_start *start = arg;

    start->fn(start->arg);
    return 0;
}

void *ht__platform_thread_start(void (*fn)(void *arg), void *arg)
{
    struct thread_start *start = ht__platform_alloc(sizeof(*start));

    if (!start)
        return NULL;
    start->fn = fn;
    start->arg = arg;
    if (fault(HT__PLATFORM_FAULT_THREAD) || !(start->thread = CreateThread(NULL, 0, thread_main, start, 0, NULL)))
    {
        ht__platform_free(start);
        return NULL;
    }
    return start;
}

void ht__platform_thread_join(void *thread)
{
    struct thread_start *start = thread;

    WaitForSingleObject(start->thread, INFINITE);
    CloseHandle(start->thread);
    ht__platform_free(start);
}
