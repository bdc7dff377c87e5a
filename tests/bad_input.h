/*
 * The bad-input tests' shared fixture (tests/test_bad_input.c): the objects
 * under test, made by objects_setup and checked and released by
 * objects_teardown, and the tests of tests/bad_input_calls.c, which the
 * table's main runs with it.
 */
#ifndef HOSTTASK_TEST_BAD_INPUT_H
#define HOSTTASK_TEST_BAD_INPUT_H

#include "clr_fakes.h"
#include "clr_iids.h"

struct objects
{
    IClassFactory *factory;
    IHostControl *control;
    IHostTaskManager *manager;
    IHostTaskConfig *config;
    IHostTaskStatistics *statistics;
    IHostTask *current;    /* the test thread's own (adopted) task */
    IHostTask *created;    /* made by CreateTask, never started */
};

extern struct objects objects;

/* Out-parameters are seeded with these bytes. */
#define OUT_FILL 0xa5

int objects_setup(void **state);
int objects_teardown(void **state);
#define OBJECTS_TEST(f) cmocka_unit_test_setup_teardown(f, objects_setup, objects_teardown)

/* hr is one of two codes; a failure prints the code. */
#define assert_hr_either(hr, a, b) \
    do \
    { \
        HRESULT hr_ = (hr); \
        if (hr_ != (a) && hr_ != (b)) \
            fail_msg("%s is %#lx, expected %#lx or %#lx", #hr, (unsigned long)hr_, (unsigned long)(a), \
                    (unsigned long)(b)); \
    } while (0)

/* tests/bad_input_calls.c: unbalanced and wrong-thread calls, limits,
 * refused configuration, finished tasks, codes where com/ and
 * docs/contract.md might disagree. */
void test_unbalanced_calls(void **state);
void test_wrong_thread(void **state);
void test_nesting_limit(void **state);
void test_small_capacities(void **state);
void test_config_refusals(void **state);
void test_finished_task(void **state);
void test_stack_guarantee_codes(void **state);
void test_unbalanced_lock_server(void **state);

#endif
