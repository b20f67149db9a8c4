/*
 * direct: write a new file past the page cache (O_DIRECT) where the file
 * system allows it. A restore writes whole nodes, and a backup to local
 * storage writes whole stores, that nobody reads back soon: copying each
 * byte into freshly allocated page-cache pages cost more CPU than decrypting
 * or encrypting it (and on a VM whose freed memory goes back to the host,
 * each of those pages faults in again from the host first). Bytes are
 * gathered in an aligned buffer of the caller's and written a buffer at a
 * time, so each write is aligned in memory, offset and length; input that
 * is aligned already goes out from where it is.
 *
 * Where O_DIRECT is refused (when it is set, or by the first write: a file
 * system without it, a block size over DIRECT_ALIGN), the file goes on
 * through the page cache with writeback (writeback.h), from where it was;
 * the bytes are the same either way. The tail (under DIRECT_ALIGN bytes) is
 * always written through the page cache. Durability comes from the caller's
 * fsync, as before.
 */
#ifndef CASSETTE_DIRECT_H
#define CASSETTE_DIRECT_H

#include <stddef.h>
#include <stdint.h>

#include "writeback.h"

/* Memory, offset and length alignment asked of direct writes: the largest
 * logical block size in common use. */
#define DIRECT_ALIGN 4096u

struct direct_out {
	int fd;
	int direct;		/* O_DIRECT is set on fd */
	unsigned char *buf;	/* the caller's, DIRECT_ALIGN-aligned */
	size_t cap, fill;
	uint64_t off;		/* bytes written to fd */
	struct writeback wb;	/* once it is buffered */
};

/* An aligned buffer for direct_init (free() it); NULL, with the error set,
 * when memory is short. */
unsigned char *direct_buf_new(size_t cap);

/* Start writing the new, empty file `fd` through `buf` (`cap` bytes, a
 * multiple of DIRECT_ALIGN for direct writes to happen). `try_direct` 0
 * keeps the page cache: every write then goes straight to write(2), with
 * writeback, and `buf` is never touched (it may be NULL, `cap` 0). */
void direct_init(struct direct_out *d, int fd, unsigned char *buf, size_t cap, int try_direct);
/* Append `len` bytes. 0, or -1 with errno set. */
int direct_write(struct direct_out *d, const unsigned char *p, size_t len);
/* Write what is buffered; the file then holds every byte appended. 0, or -1
 * with errno set. The fsync is the caller's. */
int direct_finish(struct direct_out *d);

#endif
