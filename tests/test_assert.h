/*
 * Relational assertions that print both sides: assert_lt, assert_le,
 * assert_gt, assert_ge and assert_in_range.  assert_true(a < b) says only
 * that the expression was false; these say what a and b were, with the
 * expressions and the file:line, as Wine's ok() messages do:
 *
 *   test_clock.c:115: assert_lt(best, 5 * MS): best = 7300123, 5 * MS = 5000000
 *
 * Each operand is evaluated once, in its own type, and the comparison is
 * the C comparison of the two, exactly as assert_true(a < b) would make it
 * (so -Wsign-compare, which would now see two variables where the
 * expression had a constant, is off inside the macro).
 * Signed integer types print as signed, every other integer type (enums
 * too) as unsigned, floating-point values with %g.  Plain CMocka only: the Windows tests (tests/test_util.h, which
 * includes this) and the native ones (tests/test_core.c) both use it; under
 * test_util.h a failure on a worker thread is reported by its _fail.
 */
#ifndef HOSTTASK_TEST_ASSERT_H
#define HOSTTASK_TEST_ASSERT_H

#include <stdio.h>

/* clang-format 14 cannot lay out _Generic lists or _Pragma statements in
 * macros: laid out by hand. */
/* clang-format off */

/* One operand as text, into buf. */
#define HT__ASSERT_KIND(v) _Generic((v), float: 2, double: 2, long double: 2, char: 1, signed char: 1, \
        short: 1, int: 1, long: 1, long long: 1, default: 0)
#define HT__ASSERT_FORMAT(buf, v) \
    ht__assert_format((buf), sizeof(buf), HT__ASSERT_KIND(v), \
            _Generic((v), float: (double)(v), double: (v), long double: (double)(v), default: 0.0), \
            _Generic((v), float: 0LL, double: 0LL, long double: 0LL, default: (long long)(v)), \
            _Generic((v), float: 0ULL, double: 0ULL, long double: 0ULL, default: (unsigned long long)(v)))

static inline const char *ht__assert_format(char *buf, size_t size, int kind, double f, long long s,
        unsigned long long u)
{
    if (kind == 2)
        snprintf(buf, size, "%g", f);
    else if (kind == 1)
        snprintf(buf, size, "%lld", s);
    else if (u > 0xffff)
        snprintf(buf, size, "%llu (0x%llx)", u, u);
    else
        snprintf(buf, size, "%llu", u);
    return buf;
}

#define HT__ASSERT_REL(name, a, op, b) \
    do \
    { \
        __typeof__(a) ht__a = (a); \
        __typeof__(b) ht__b = (b); \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wsign-compare\"") \
        int ht__ok = ht__a op ht__b; \
        _Pragma("GCC diagnostic pop") \
        if (!ht__ok) \
        { \
            char ht__sa[64], ht__sb[64]; \
            print_error("%s:%d: " name "(%s, %s): %s = %s, %s = %s\n", __FILE__, __LINE__, #a, #b, #a, \
                    HT__ASSERT_FORMAT(ht__sa, ht__a), #b, HT__ASSERT_FORMAT(ht__sb, ht__b)); \
            _fail(__FILE__, __LINE__); \
        } \
    } while (0)

#define assert_lt(a, b) HT__ASSERT_REL("assert_lt", a, <, b)
#define assert_le(a, b) HT__ASSERT_REL("assert_le", a, <=, b)
#define assert_gt(a, b) HT__ASSERT_REL("assert_gt", a, >, b)
#define assert_ge(a, b) HT__ASSERT_REL("assert_ge", a, >=, b)

/* minimum <= value <= maximum, in the operands' own types.  Replaces
 * CMocka's, which converts all three to an unsigned type (a negative value
 * passes as a huge one) and prints no expression. */
#undef assert_in_range
#define assert_in_range(value, minimum, maximum) \
    do \
    { \
        __typeof__(value) ht__v = (value); \
        __typeof__(minimum) ht__lo = (minimum); \
        __typeof__(maximum) ht__hi = (maximum); \
        _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wsign-compare\"") \
        int ht__ok = ht__lo <= ht__v && ht__v <= ht__hi; \
        _Pragma("GCC diagnostic pop") \
        if (!ht__ok) \
        { \
            char ht__sv[64], ht__slo[64], ht__shi[64]; \
            print_error("%s:%d: assert_in_range(%s, %s, %s): %s = %s, not in [%s, %s]\n", __FILE__, __LINE__, \
                    #value, #minimum, #maximum, #value, HT__ASSERT_FORMAT(ht__sv, ht__v), \
                    HT__ASSERT_FORMAT(ht__slo, ht__lo), HT__ASSERT_FORMAT(ht__shi, ht__hi)); \
            _fail(__FILE__, __LINE__); \
        } \
    } while (0)

/* clang-format on */

#endif
