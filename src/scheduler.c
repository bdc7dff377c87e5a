/*
 * The cooperative scheduler (see scheduler.h).  One lock per scheduler
 * guards its slots, its queue and its statistics; it is never held while a
 * task waits or while a callback runs.
 */
#include "scheduler.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 16

struct ht__scheduler
{
    struct ht__mutex *lock;
    struct ht__scheduler *retired;      /* kept until ht__sched_shutdown() */
    int disbanded;
    uint32_t slots, held;
    uint64_t quantum_ns;
    struct ht__sched_task **holders;    /* [slots]: who holds each slot */
    struct ht__sched_task *head, *tail;
    ht__sched_runaway_prepare prepare;
    ht__sched_runaway_fire fire;
    struct ht__sched_stats stats;
};

_Atomic(struct ht__scheduler *) ht__scheduler_current;
/* A task may still be inside a scheduler that was just replaced (it loaded
 * the pointer before the switch), so replaced schedulers are never freed
 * while the module lives: modes change at start-up, not per call. */
static _Atomic(struct ht__scheduler *) retired;

static void free_scheduler(struct ht__scheduler *s)
{
    if (s->lock)
        ht__platform_mutex_destroy(s->lock);
    free(s->holders);
    free(s);
}

ht__status ht__sched_configure(uint32_t slots, uint32_t quantum_us, ht__sched_runaway_prepare prepare,
        ht__sched_runaway_fire fire)
{
    struct ht__scheduler *s = NULL, *old;
    struct ht__sched_task *waiter;

    if (slots)
    {
        if (!(s = calloc(1, sizeof(*s))) || !(s->holders = calloc(slots, sizeof(*s->holders)))
                || !(s->lock = ht__platform_mutex_create()))
        {
            if (s)
                free_scheduler(s);
            return HT__E_NOMEM;
        }
        s->slots = slots;
        s->quantum_ns = (uint64_t)(quantum_us ? quantum_us : 1) * 1000u;
        s->prepare = prepare;
        s->fire = fire;
        s->stats.slots = slots;
        s->stats.quantum_us = quantum_us ? quantum_us : 1;
    }

    if (!(old = atomic_exchange_explicit(&ht__scheduler_current, s, memory_order_acq_rel)))
        return HT__OK;
    /* Disband the old one: its waiters go on without a slot; its holders
     * return their slots to it as usual. */
    ht__platform_mutex_lock(old->lock);
    old->disbanded = 1;
    for (waiter = old->head; waiter; waiter = waiter->next)
        ht__platform_event_set(waiter->event);
    ht__platform_mutex_unlock(old->lock);
    old->retired = atomic_load_explicit(&retired, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&retired, &old->retired, old,
            memory_order_release, memory_order_relaxed))
        ;
    return HT__OK;
}

void ht__sched_shutdown(void)
{
    struct ht__scheduler *s, *next;

    if ((s = atomic_exchange_explicit(&ht__scheduler_current, NULL, memory_order_acq_rel)))
        free_scheduler(s);
    for (s = atomic_exchange_explicit(&retired, NULL, memory_order_acquire); s; s = next)
    {
        next = s->retired;
        free_scheduler(s);
    }
}

int ht__sched_get(struct ht__sched_stats *stats)
{
    struct ht__scheduler *s = atomic_load_explicit(&ht__scheduler_current, memory_order_acquire);

    memset(stats, 0, sizeof(*stats));
    if (!s)
        return 0;
    ht__platform_mutex_lock(s->lock);
    *stats = s->stats;
    stats->held = s->held;
    ht__platform_mutex_unlock(s->lock);
    return 1;
}

void ht__sched_reset_stats(void)
{
    struct ht__scheduler *s = atomic_load_explicit(&ht__scheduler_current, memory_order_acquire);
    uint32_t waiting;

    if (!s)
        return;
    ht__platform_mutex_lock(s->lock);
    waiting = s->stats.waiting;
    memset(&s->stats, 0, sizeof(s->stats));
    s->stats.slots = s->slots;
    s->stats.quantum_us = (uint32_t)(s->quantum_ns / 1000u);
    s->stats.waiting = waiting;
    ht__platform_mutex_unlock(s->lock);
}

ht__status ht__sched_task_init(struct ht__sched_task *task)
{
    memset(task, 0, sizeof(*task));
    if (!(task->event = ht__platform_event_create()))
        return HT__E_NOMEM;
    return HT__OK;
}

void ht__sched_task_destroy(struct ht__sched_task *task)
{
    ht__sched_release(task);
    if (task->event)
        ht__platform_event_destroy(task->event);
    task->event = NULL;
}

/* Under the lock. */
static void take_slot(struct ht__scheduler *s, struct ht__sched_task *task, uint64_t now)
{
    uint32_t i;

    for (i = 0; s->holders[i]; i++)
        ;
    s->holders[i] = task;
    s->held++;
    task->slot = i;
    atomic_store_explicit(&task->holds_slot, 1, memory_order_relaxed);
    task->flagged = 0;
    task->acquired_ns = now;
    task->scheduler = s;
    s->stats.acquisitions++;
    atomic_fetch_add_explicit(&task->acquisitions, 1, memory_order_relaxed);
}

/* Under the lock. */
static void dequeue(struct ht__scheduler *s, struct ht__sched_task *task)
{
    struct ht__sched_task **link;

    for (link = &s->head; *link && *link != task; link = &(*link)->next)
        ;
    if (!*link)
        return;
    *link = task->next;
    if (s->tail == task)
    {
        for (s->tail = s->head; s->tail && s->tail->next; s->tail = s->tail->next)
            ;
    }
    task->next = NULL;
    s->stats.waiting--;
}

/* Under the lock, by the head of the queue: counts and punishes holders
 * past their quantum, and collects the tokens of those to ask to yield. */
static unsigned int find_runaways(struct ht__scheduler *s, uint64_t now, void **tokens)
{
    struct ht__sched_task *holder;
    unsigned int n = 0;
    void *token;
    uint32_t i;

    for (i = 0; i < s->slots && n < MAX_TOKENS; i++)
    {
        holder = s->holders[i];
        if (!holder || now - holder->acquired_ns <= s->quantum_ns)
            continue;
        if (holder->flagged)
        {
            /* Asked a quantum ago and still holding: preempt it.  The
             * caller, the head of the queue, takes the slot at once.  The
             * quantum counts from the request, which a head that came
             * late makes long after the slot was taken. */
            if (now - holder->flagged_ns > s->quantum_ns && (!s->prepare || s->prepare(holder, NULL)))
            {
                s->holders[i] = NULL;
                s->held--;
                atomic_store_explicit(&holder->holds_slot, 0, memory_order_relaxed);
                s->stats.preemptions++;
                ht__trace_preemption(s->head, holder);   /* the caller: the head */
            }
            continue;
        }
        token = NULL;
        if (s->prepare && !s->prepare(holder, &token))
            continue;
        holder->flagged = 1;
        holder->flagged_ns = now;
        holder->punished = 1;
        s->stats.forced_yields++;
        ht__trace_yield_request(s->head, holder);   /* the caller: the head */
        atomic_fetch_add_explicit(&holder->forced_yields, 1, memory_order_relaxed);
        if (token)
            tokens[n++] = token;
    }
    return n;
}

static void record_wait(struct ht__scheduler *s, struct ht__sched_task *task, uint64_t waited)
{
    unsigned int bucket = 0;

    while (bucket < HT__SCHED_HISTOGRAM - 1 && waited >> (bucket + 1))
        bucket++;
    s->stats.waits++;
    s->stats.wait_ns += waited;
    if (waited > s->stats.max_wait_ns)
        s->stats.max_wait_ns = waited;
    s->stats.histogram[bucket]++;
    atomic_fetch_add_explicit(&task->wait_ns, waited, memory_order_relaxed);
}

void ht__sched_acquire(struct ht__sched_task *task)
{
    struct ht__scheduler *s;
    void *tokens[MAX_TOKENS];
    unsigned int n, i;
    uint64_t start;
    uint32_t quantum_ms;
    int head, freed;

    if (ht__sched_holds(task) || !(s = atomic_load_explicit(&ht__scheduler_current, memory_order_acquire)))
        return;

    ht__platform_mutex_lock(s->lock);
    if (s->disbanded)
    {
        ht__platform_mutex_unlock(s->lock);
        return;
    }
    if (!task->punished && !s->head && s->held < s->slots)
    {
        take_slot(s, task, ht__platform_now_ns());
        ht__platform_mutex_unlock(s->lock);
        return;
    }
    /* Quantum punishment: a runaway queues behind everyone waiting. */
    if (task->punished)
    {
        task->punished = 0;
        s->stats.punishments++;
    }
    task->granted = 0;
    task->next = NULL;
    if (s->tail)
        s->tail->next = task;
    else
        s->head = task;
    s->tail = task;
    s->stats.waiting++;
    ht__trace_slot_wait_begin(task);
    start = ht__platform_now_ns();
    quantum_ms = (uint32_t)((s->quantum_ns + 999999u) / 1000000u);

    for (;;)
    {
        if (task->granted)
            break;
        if (s->disbanded)
        {
            dequeue(s, task);
            break;
        }
        if (s->head == task && s->held < s->slots)
        {
            dequeue(s, task);
            take_slot(s, task, ht__platform_now_ns());
            break;
        }
        /* The head watches the holders for runaways while it waits. */
        head = s->head == task;
        n = head ? find_runaways(s, ht__platform_now_ns(), tokens) : 0;
        /* A preemption freed a slot: take it at once, after the calls. */
        freed = head && s->held < s->slots;
        ht__platform_mutex_unlock(s->lock);
        for (i = 0; i < n; i++)
            s->fire(tokens[i]);
        if (!freed)
            ht__platform_event_wait(task->event, head ? quantum_ms : HT__WAIT_FOREVER);
        ht__platform_mutex_lock(s->lock);
    }
    record_wait(s, task, ht__platform_now_ns() - start);
    ht__trace_slot_granted(task, ht__sched_holds(task));
    ht__platform_mutex_unlock(s->lock);
}

int ht__sched_release(struct ht__sched_task *task)
{
    struct ht__scheduler *s = task->scheduler;
    struct ht__sched_task *next;

    if (!ht__sched_holds(task))
        return 0;
    ht__platform_mutex_lock(s->lock);
    /* Preempted since the check: the slot is someone else's already. */
    if (!atomic_load_explicit(&task->holds_slot, memory_order_relaxed))
    {
        ht__platform_mutex_unlock(s->lock);
        return 0;
    }
    s->holders[task->slot] = NULL;
    s->held--;
    atomic_store_explicit(&task->holds_slot, 0, memory_order_relaxed);
    /* Hand the slot straight to the head of the queue: FIFO, and no herd. */
    if (!s->disbanded && (next = s->head) && s->held < s->slots)
    {
        dequeue(s, next);
        take_slot(s, next, ht__platform_now_ns());
        next->granted = 1;
        ht__platform_event_set(next->event);
        /* The new head takes over watching for runaways. */
        if (s->head)
            ht__platform_event_set(s->head->event);
    }
    ht__platform_mutex_unlock(s->lock);
    return 1;
}

void ht__sched_yield(struct ht__sched_task *task)
{
    struct ht__scheduler *s = task->scheduler;
    int waiting;

    if (!ht__sched_holds(task))
        return;
    ht__platform_mutex_lock(s->lock);
    waiting = s->head != NULL || task->punished;
    ht__platform_mutex_unlock(s->lock);
    /* Nobody waits: keep the slot, unless punished, which requeues. */
    if (waiting)
    {
        ht__sched_release(task);
        ht__sched_acquire(task);
    }
}
