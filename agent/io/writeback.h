/*
 * writeback: start the disk on a file's bytes while the file is still being
 * written. The kernel only begins writeback once a tenth of memory is dirty,
 * so without this a large file's bytes all wait in the page cache for its
 * fsync, and the disk sits idle while the CPU encrypts. Each step asks for
 * writeback of what was written since the last one
 * (sync_file_range(SYNC_FILE_RANGE_WRITE): it queues the I/O and returns), so
 * the fsync at the end finds little left and the disk overlaps the CPU.
 * Durability still comes from that fsync alone; errors surface there too.
 */
#ifndef CASSETTE_WRITEBACK_H
#define CASSETTE_WRITEBACK_H

#include <stddef.h>
#include <stdint.h>

struct writeback {
	int fd;
	uint64_t started;	/* bytes [0, started) are queued */
	uint64_t written;
};

void writeback_init(struct writeback *wb, int fd);
/* `n` more bytes were written at the end of the file. */
void writeback_wrote(struct writeback *wb, size_t n);
/* The file is complete: queue the rest (before its fsync, or before handing
 * it to a thread that will fsync it). */
void writeback_finish(struct writeback *wb);

#endif
