#include "CAllocator.h"

// <stdlib.h> first: it defines __GLIBC__ on glibc systems.
#include <stdlib.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

int gateway_release_free_memory(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}
