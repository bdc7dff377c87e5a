/* Compile-time sizes of hosttask's per-task state (sizes.c). */
#ifndef HOSTTASK_BENCH_SIZES_H
#define HOSTTASK_BENCH_SIZES_H

#include <stddef.h>

size_t bench_sizeof_host_task(void);   /* struct host_task, com/private.h */
size_t bench_sizeof_core_task(void);   /* struct ht__nest, src/core.h, inside it */

#endif /* HOSTTASK_BENCH_SIZES_H */
