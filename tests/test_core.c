/*
 * The portable core: transition nesting, imbalance handling, strict mode,
 * the nesting limit, snapshots and the CallNeedsHostHook policy.  Builds
 * natively (Linux) and for Windows (run under Wine).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "test_assert.h"

#include "core.h"

static struct ht__nest_counters counters_of(struct ht__nest *task)
{
    struct ht__nest_counters c;

    ht__nest_snapshot(task, &c);
    return c;
}

static void test_balanced_nesting(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;

    ht__nest_init(&task);
    /* A P/Invoke whose native code calls back into managed code, which
     * makes another P/Invoke: the CLR's nesting around a callback. */
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    c = counters_of(&task);
    assert_int_equal(c.depth, 3);
    assert_int_equal(ht__nest_runs(&task), 3);
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    assert_int_equal(ht__enter_runtime(&task), HT__OK);

    c = counters_of(&task);
    assert_int_equal(c.depth, 0);
    assert_int_equal(c.max_depth, 3);
    assert_int_equal(c.transitions[HT__LEAVE], 2);
    assert_int_equal(c.transitions[HT__ENTER], 2);
    assert_int_equal(c.transitions[HT__REVERSE_ENTER], 1);
    assert_int_equal(c.transitions[HT__REVERSE_LEAVE], 1);
    for (int i = 0; i < HT__IMBALANCE_KINDS; i++)
        assert_int_equal(c.imbalances[i], 0);
    assert_int_equal(ht__nest_runs(&task), 0);
    ht__nest_destroy(&task);
}

static void test_deep_nesting_grows(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;
    int i;

    ht__nest_init(&task);
    /* 10,000 alternations: far past the inline frames, no small limit. */
    for (i = 0; i < 5000; i++)
    {
        assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
        assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    }
    assert_int_equal(ht__nest_runs(&task), 10000);
    assert_ge(task.capacity, 9999);
    for (i = 0; i < 5000; i++)
    {
        assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
        assert_int_equal(ht__enter_runtime(&task), HT__OK);
    }
    c = counters_of(&task);
    assert_int_equal(c.depth, 0);
    assert_int_equal(c.max_depth, 10000);
    assert_int_equal(c.imbalances[HT__NESTING_LIMIT], 0);
    ht__nest_destroy(&task);
}

static void test_same_kind_runs_take_one_frame(void **state)
{
    struct ht__nest task;
    int i;

    ht__nest_init(&task);
    /* A native-born thread whose ReverseLeaveRuntime calls never come:
     * a million unmatched opens cost one frame, not a million. */
    for (i = 0; i < 1000000; i++)
        assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_int_equal(ht__nest_runs(&task), 1);
    assert_ptr_equal(task.frames, task.inline_frames);
    assert_int_equal(counters_of(&task).depth, 1000000);
    for (i = 0; i < 1000000; i++)
        assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    assert_int_equal(ht__nest_runs(&task), 0);
    ht__nest_destroy(&task);
}

static void test_unmatched_close_is_counted(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;

    ht__nest_init(&task);
    /* Nothing open: the call is absorbed, counted, and changes nothing. */
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    c = counters_of(&task);
    assert_int_equal(c.imbalances[HT__UNMATCHED_ENTER], 1);
    assert_int_equal(c.imbalances[HT__UNMATCHED_REVERSE_LEAVE], 2);
    assert_int_equal(c.transitions[HT__ENTER], 0);
    assert_int_equal(c.transitions[HT__REVERSE_LEAVE], 0);
    assert_int_equal(c.depth, 0);
    assert_int_equal(ht__nest_runs(&task), 0);

    /* Only the other kind open: a ReverseLeaveRuntime cannot close a
     * LeaveRuntime frame, so the frame stays. */
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    c = counters_of(&task);
    assert_int_equal(c.imbalances[HT__UNMATCHED_REVERSE_LEAVE], 3);
    assert_int_equal(c.depth, 1);
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    assert_int_equal(counters_of(&task).depth, 0);
    ht__nest_destroy(&task);
}

static void test_skipped_frames_are_discarded(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;

    ht__nest_init(&task);
    /* Leave, then two callbacks whose ReverseLeaveRuntime never came; the
     * EnterRuntime closes the Leave and discards the two reverse frames. */
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    c = counters_of(&task);
    assert_int_equal(c.depth, 0);
    assert_int_equal(c.imbalances[HT__UNCLOSED_REVERSE_ENTER], 2);
    assert_int_equal(c.transitions[HT__ENTER], 1);
    assert_int_equal(ht__nest_runs(&task), 0);

    /* The mirror image: ReverseLeaveRuntime discards an open Leave. */
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    c = counters_of(&task);
    assert_int_equal(c.depth, 0);
    assert_int_equal(c.imbalances[HT__UNCLOSED_LEAVE], 1);
    ht__nest_destroy(&task);
}

static void test_strict_mode_refuses_and_keeps_state(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;

    ht__nest_init(&task);
    atomic_store(&ht__strict, 1);
    assert_int_equal(ht__enter_runtime(&task), HT__E_STATE);
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__E_STATE);
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    /* Would discard the reverse frame: refused, nesting unchanged. */
    assert_int_equal(ht__enter_runtime(&task), HT__E_STATE);
    c = counters_of(&task);
    assert_int_equal(c.depth, 2);
    assert_int_equal(ht__nest_runs(&task), 2);
    assert_int_equal(c.transitions[HT__ENTER], 0);
    assert_int_equal(c.imbalances[HT__UNMATCHED_ENTER], 1);
    assert_int_equal(c.imbalances[HT__UNMATCHED_REVERSE_LEAVE], 1);
    assert_int_equal(c.imbalances[HT__UNCLOSED_REVERSE_ENTER], 1);
    /* Balanced calls still work. */
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    atomic_store(&ht__strict, 0);
    ht__nest_destroy(&task);
}

static void test_nesting_limit(void **state)
{
    struct ht__nest task;
    uint32_t i;

    ht__nest_init(&task);
    for (i = 0; i < HT__MAX_FRAMES; i++)
        assert_int_equal(i % 2 ? ht__reverse_enter_runtime(&task) : ht__leave_runtime(&task, 0x1000), HT__OK);
    /* One more alternation is refused and counted; a same-kind run still
     * fits in the top frame. */
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__E_NOMEM);
    assert_int_equal(counters_of(&task).imbalances[HT__NESTING_LIMIT], 1);
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_int_equal(ht__nest_runs(&task), HT__MAX_FRAMES);
    assert_int_equal(counters_of(&task).depth, HT__MAX_FRAMES + 1);
    ht__nest_destroy(&task);
}

/* A thread the CLR entered from native code (a callback, or a host thread
 * running managed code) makes P/Invokes: they reuse the innermost frame
 * and never touch the array, and each transition says where the thread
 * is, which the scheduler reads around waits. */
static void test_pinvokes_inside_a_callback(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;
    int i;

    ht__nest_init(&task);
    assert_false(ht__nest_inside(&task));
    assert_int_equal(ht__reverse_enter_runtime(&task), HT__OK);
    assert_true(ht__nest_inside(&task));
    for (i = 0; i < 1000; i++)
    {
        assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
        assert_false(ht__nest_inside(&task));
        assert_int_equal(ht__nest_depth(&task), 2);
        assert_int_equal(ht__enter_runtime(&task), HT__OK);
        assert_true(ht__nest_inside(&task));
        assert_int_equal(ht__nest_runs(&task), 1);
        assert_int_equal(task.nframes, 1);
    }
    assert_int_equal(ht__reverse_leave_runtime(&task), HT__OK);
    assert_false(ht__nest_inside(&task));
    assert_int_equal(ht__nest_runs(&task), 0);

    c = counters_of(&task);
    assert_int_equal(c.depth, 0);
    assert_int_equal(c.max_depth, 2);
    assert_int_equal(c.transitions[HT__LEAVE], 1000);
    assert_int_equal(c.transitions[HT__ENTER], 1000);
    assert_int_equal(c.transitions[HT__REVERSE_ENTER], 1);
    assert_int_equal(c.transitions[HT__REVERSE_LEAVE], 1);
    for (i = 0; i < HT__IMBALANCE_KINDS; i++)
        assert_int_equal(c.imbalances[i], 0);

    /* A thread the CLR started runs managed code with no frame open. */
    ht__nest_set_inside(&task, 1);
    assert_true(ht__nest_inside(&task));
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_false(ht__nest_inside(&task));
    /* With a frame open, the frames decide. */
    ht__nest_set_inside(&task, 1);
    assert_false(ht__nest_inside(&task));
    assert_int_equal(ht__enter_runtime(&task), HT__OK);
    assert_true(ht__nest_inside(&task));
    ht__nest_destroy(&task);
}

/* A snapshot never returns a state taken while the writer is mid-update,
 * and does not wait without bound for an owner stopped there (suspended
 * or killed): the writer's sequence, driven by hand. */
static void test_snapshot_during_an_update(void **state)
{
    struct ht__nest task;
    struct ht__nest_counters c;
    unsigned int seq;

    ht__nest_init(&task);
    assert_int_equal(ht__leave_runtime(&task, 0x1000), HT__OK);
    assert_int_equal(ht__nest_snapshot(&task, &c), 1);
    assert_int_equal(c.transitions[HT__LEAVE], 1);

    /* Mid-update: one counter written, the sequence odd. */
    seq = ht__nest_write_begin(&task);
    HT__BUMP(task.transitions[HT__LEAVE], 5);
    memset(&c, 0xcc, sizeof(c));
    assert_int_equal(ht__nest_snapshot(&task, &c), 0);
    assert_int_equal(c.transitions[HT__LEAVE], 0);
    assert_int_equal(c.depth, 0);
    assert_int_equal(c.max_depth, 0);

    /* The update ends: the next snapshot has all of it. */
    ht__nest_write_end(&task, seq);
    assert_int_equal(ht__nest_snapshot(&task, &c), 1);
    assert_int_equal(c.transitions[HT__LEAVE], 6);
    assert_int_equal(c.depth, 6);
    ht__nest_destroy(&task);
}

/* Profiling's per-target table is emptied by a Reset, keys too: once
 * full, it would otherwise lump every new target into target 0 for the
 * life of the process. */
static void test_target_keys_reset(void **state)
{
    struct ht__target_counters *out = malloc((HT__TARGET_SLOTS + 1) * sizeof(*out));
    size_t i, n, found = 0;

    assert_non_null(out);
    ht__targets_reset();
    for (i = 1; i <= 8 * HT__TARGET_SLOTS; i++)
        ht__target_record(0x50000000 + i * 16, 1);
    n = ht__targets_snapshot(out, HT__TARGET_SLOTS + 1);
    assert_int_equal(n, HT__TARGET_SLOTS + 1);      /* full, and an overflow */

    ht__targets_reset();
    assert_int_equal(ht__targets_snapshot(out, HT__TARGET_SLOTS + 1), 0);
    ht__target_record(0x7000000, 5);
    n = ht__targets_snapshot(out, HT__TARGET_SLOTS + 1);
    for (i = 0; i < n; i++)
        if (out[i].target == 0x7000000 && out[i].calls == 1 && out[i].native_ns == 5)
            found++;
    assert_int_equal(n, 1);
    assert_int_equal(found, 1);
    ht__targets_reset();
    free(out);
}

static void test_hook_policy(void **state)
{
    size_t targets[1000];
    size_t i;

    /* Default: every target needs the hook (TRUE = wrap the call). */
    assert_true(ht__call_needs_hook(0x1234));
    assert_true(ht__call_needs_hook(0));

    for (i = 0; i < 1000; i++)
        targets[i] = 0x10000 + i * 16;
    assert_int_equal(ht__hook_policy_set(1, targets, 1000), HT__OK);
    for (i = 0; i < 1000; i++)
    {
        assert_false(ht__call_needs_hook(targets[i]));
        assert_true(ht__call_needs_hook(targets[i] + 8));
    }
    assert_int_equal(atomic_load(&ht__hook_policy_current)->count, 1000);

    /* The inverse policy: hook only the listed targets, 0 among them. */
    targets[0] = 0;
    assert_int_equal(ht__hook_policy_set(0, targets, 2), HT__OK);
    assert_true(ht__call_needs_hook(0));
    assert_true(ht__call_needs_hook(targets[1]));
    assert_false(ht__call_needs_hook(targets[2]));

    /* An empty list gives the default to everything. */
    assert_int_equal(ht__hook_policy_set(0, NULL, 0), HT__OK);
    assert_false(ht__call_needs_hook(targets[1]));

    ht__hook_policy_clear();
    assert_true(ht__call_needs_hook(targets[1]));
}

/* Replacing the policy reuses two buffers: 10,000 replacements of every
 * size up to 1,000 targets keep two buffers and the smaller ones they
 * outgrew (capacities 4 to 2,048: 10 powers of two each), not one per
 * replacement; and each answers as it should. */
static void test_hook_policy_retention(void **state)
{
    static size_t targets[1000];
    size_t i, n;

    for (i = 0; i < 1000; i++)
        targets[i] = 0x10000 + i * 16;
    for (i = 0; i < 10000; i++)
    {
        n = (i * 7919) % 1001;
        assert_int_equal(ht__hook_policy_set((int)(i & 1), targets, n), HT__OK);
        assert_int_equal(ht__call_needs_hook(targets[n / 2]), (n ? !(i & 1) : (int)(i & 1)));
        assert_int_equal(ht__call_needs_hook(targets[999] + 8), (int)(i & 1));
    }
    assert_int_equal(atomic_load(&ht__hook_policy_current)->count, n);
    assert_le(ht__hook_policy_buffers(), 2 * 10);
    ht__hook_policy_clear();
    assert_int_equal(ht__hook_policy_buffers(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] =
    {
        cmocka_unit_test(test_balanced_nesting),
        cmocka_unit_test(test_deep_nesting_grows),
        cmocka_unit_test(test_same_kind_runs_take_one_frame),
        cmocka_unit_test(test_unmatched_close_is_counted),
        cmocka_unit_test(test_skipped_frames_are_discarded),
        cmocka_unit_test(test_strict_mode_refuses_and_keeps_state),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_pinvokes_inside_a_callback),
        cmocka_unit_test(test_snapshot_during_an_update),
        cmocka_unit_test(test_target_keys_reset),
        cmocka_unit_test(test_hook_policy),
        cmocka_unit_test(test_hook_policy_retention),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
