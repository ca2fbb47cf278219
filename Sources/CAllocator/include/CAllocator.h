#ifndef C_ALLOCATOR_H
#define C_ALLOCATOR_H

/// Asks the C allocator to return its free heap pages to the system; 1 when it released any.
/// glibc's malloc_trim; elsewhere it does nothing.
int gateway_release_free_memory(void);

#endif
