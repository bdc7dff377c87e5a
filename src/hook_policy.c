/* The CallNeedsHostHook policy: two reused buffers (see struct
 * ht__hook_policy in core.h for the readers' side and the argument). */
#include "core.h"

_Atomic(struct ht__hook_policy *) ht__hook_policy_current;
/* Writer only, under writer_lock: the two buffers that take turns, and
 * the ones they outgrew. */
static struct ht__hook_policy *buffers[2], *outgrown;
static atomic_flag writer_lock = ATOMIC_FLAG_INIT;

static void writer_take(void)
{
    while (atomic_flag_test_and_set_explicit(&writer_lock, memory_order_acquire))
        ht__platform_yield();
}

static void writer_drop(void)
{
    atomic_flag_clear_explicit(&writer_lock, memory_order_release);
}

static void write_policy(struct ht__hook_policy *policy, int default_needs_hook, const size_t *targets,
        size_t count, size_t slots)
{
    unsigned int seq = atomic_load_explicit(&policy->seq, memory_order_relaxed) + 1;
    size_t mask = slots ? slots - 1 : 0, i, j, slot;
    int zero_listed = 0;

    policy->count = 0;

    /* Odd before any field changes (the release fence orders the store of
     * seq before the stores below, for a reader that sees any of them). */
    atomic_store_explicit(&policy->seq, seq, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&policy->default_needs_hook, !!default_needs_hook, memory_order_relaxed);
    atomic_store_explicit(&policy->mask, mask, memory_order_relaxed);
    for (i = 0; i < slots; i++)
        atomic_store_explicit(&policy->slots[i], 0, memory_order_relaxed);
    for (i = 0; i < count; i++)
    {
        if (!targets[i])
        {
            zero_listed = 1;
            continue;
        }
        for (j = ht__hook_hash(targets[i]) & mask;
                (slot = atomic_load_explicit(&policy->slots[j], memory_order_relaxed)) && slot != targets[i];
                j = (j + 1) & mask)
            ;
        if (!slot)
        {
            atomic_store_explicit(&policy->slots[j], targets[i], memory_order_relaxed);
            policy->count++;
        }
    }
    atomic_store_explicit(&policy->zero_listed, zero_listed, memory_order_relaxed);
    atomic_store_explicit(&policy->seq, seq + 1, memory_order_release);
}

ht__status ht__hook_policy_set(int default_needs_hook, const size_t *targets, size_t count)
{
    struct ht__hook_policy *current, *policy;
    size_t slots = 0;
    int spare;

    if (count)
    {
        /* At most half full, so that probes stay short. */
        for (slots = 4; slots < count * 2; slots *= 2)
            if (slots > ((size_t)-1 >> 2) / sizeof(size_t))
                return HT__E_NOMEM;
    }
    writer_take();
    current = atomic_load_explicit(&ht__hook_policy_current, memory_order_relaxed);
    spare = buffers[0] == current;
    policy = buffers[spare];
    if (!policy || policy->capacity < slots)
    {
        /* A reader may still be in the one outgrown: it is kept. */
        if (!(policy = ht__platform_alloc(sizeof(*policy) + slots * sizeof(policy->slots[0]))))
        {
            writer_drop();
            return HT__E_NOMEM;
        }
        policy->capacity = slots;
        if (buffers[spare])
        {
            buffers[spare]->outgrown = outgrown;
            outgrown = buffers[spare];
        }
        buffers[spare] = policy;
    }
    write_policy(policy, default_needs_hook, targets, count, slots);
    atomic_store_explicit(&ht__hook_policy_current, policy, memory_order_release);
    writer_drop();
    return HT__OK;
}

void ht__hook_policy_clear(void)
{
    struct ht__hook_policy *policy, *next;

    writer_take();
    atomic_store_explicit(&ht__hook_policy_current, NULL, memory_order_release);
    ht__platform_free(buffers[0]);
    ht__platform_free(buffers[1]);
    buffers[0] = buffers[1] = NULL;
    for (policy = outgrown; policy; policy = next)
    {
        next = policy->outgrown;
        ht__platform_free(policy);
    }
    outgrown = NULL;
    writer_drop();
}

size_t ht__hook_policy_buffers(void)
{
    const struct ht__hook_policy *policy;
    size_t n;

    writer_take();
    n = !!buffers[0] + !!buffers[1];
    for (policy = outgrown; policy; policy = policy->outgrown)
        n++;
    writer_drop();
    return n;
}
