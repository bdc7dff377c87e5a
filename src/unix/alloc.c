/* The core's heap on POSIX systems (src/core.h, ht__platform_alloc): the C
 * library's.  A file of its own so that the fuzz target, which brings its
 * own clock instead of src/unix/platform.c, links the same allocator. */
#include "../core.h"

#include <stdlib.h>

void *ht__platform_alloc(size_t size)
{
    return calloc(1, size ? size : 1);
}

void *ht__platform_realloc(void *p, size_t size)
{
    return realloc(p, size ? size : 1);
}

void ht__platform_free(void *p)
{
    free(p);
}
