/*
 * The compile-time sizes of hosttask's per-task state, read from the COM
 * layer's private header.  Only sizeof is taken here: nothing of the
 * DLL's code or data is linked into the benchmark.  The measured figures
 * (heap walks in bench.c) are the ones the targets are judged on; these
 * explain them.
 */
#include "../com/private.h"

#include "sizes.h"

size_t bench_sizeof_host_task(void)
{
    return sizeof(struct host_task);
}

size_t bench_sizeof_core_task(void)
{
    return sizeof(struct ht__nest);
}
