/* The CallNeedsHostHook policy: building and retiring the lock-free sets. */
#include "core.h"

#include <stdlib.h>

_Atomic(struct ht__hook_policy *) ht__hook_policy_current;
static _Atomic(struct ht__hook_policy *) retired;

ht__status ht__hook_policy_set(int default_needs_hook, const size_t *targets, size_t count)
{
    struct ht__hook_policy *policy, *old;
    size_t slots = 0, i, j;

    if (count)
    {
        /* At most half full, so that probes stay short. */
        for (slots = 4; slots < count * 2; slots *= 2)
            if (slots > ((size_t)-1 >> 2) / sizeof(size_t))
                return HT__E_NOMEM;
    }
    if (!(policy = ht__platform_alloc(sizeof(*policy) + slots * sizeof(size_t))))
        return HT__E_NOMEM;
    policy->default_needs_hook = !!default_needs_hook;
    policy->mask = slots ? slots - 1 : 0;
    for (i = 0; i < count; i++)
    {
        if (!targets[i])
        {
            policy->zero_listed = 1;
            continue;
        }
        for (j = ht__hook_hash(targets[i]) & policy->mask; policy->slots[j] && policy->slots[j] != targets[i];
                j = (j + 1) & policy->mask)
            ;
        if (!policy->slots[j])
        {
            policy->slots[j] = targets[i];
            policy->count++;
        }
    }

    old = atomic_exchange_explicit(&ht__hook_policy_current, policy, memory_order_acq_rel);
    if (old)
    {
        old->retired = atomic_load_explicit(&retired, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&retired, &old->retired, old,
                memory_order_release, memory_order_relaxed))
            ;
    }
    return HT__OK;
}

void ht__hook_policy_clear(void)
{
    struct ht__hook_policy *policy, *next;

    ht__platform_free(atomic_exchange_explicit(&ht__hook_policy_current, NULL, memory_order_acq_rel));
    for (policy = atomic_exchange_explicit(&retired, NULL, memory_order_acquire); policy; policy = next)
    {
        next = policy->retired;
        ht__platform_free(policy);
    }
}
