/* writeback: see writeback.h. */
#define _GNU_SOURCE
#include "writeback.h"

#include <fcntl.h>

/* Big enough that each request is one large sequential write, small enough
 * that the disk starts within milliseconds of the CPU. */
#define STEP (8u << 20)

void writeback_init(struct writeback *wb, int fd)
{
	wb->fd = fd;
	wb->started = 0;
	wb->written = 0;
}

static void queue(struct writeback *wb)
{
	if (wb->written == wb->started)
		return;
	/* Advice only: a failure here (an fs without it) changes nothing,
	 * and a real write error comes back from the fsync. */
	(void)sync_file_range(wb->fd, (off_t)wb->started, (off_t)(wb->written - wb->started),
			      SYNC_FILE_RANGE_WRITE);
	wb->started = wb->written;
}

void writeback_wrote(struct writeback *wb, size_t n)
{
	wb->written += n;
	if (wb->written - wb->started >= STEP)
		queue(wb);
}

void writeback_finish(struct writeback *wb)
{
	queue(wb);
}
