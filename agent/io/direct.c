/* direct: see direct.h. */
#define _GNU_SOURCE
#include "direct.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

unsigned char *direct_buf_new(size_t cap)
{
	void *p = NULL;

	if (posix_memalign(&p, DIRECT_ALIGN, cap ? cap : DIRECT_ALIGN) != 0) {
		(void)cst_error(CST_ENOMEM, "out of memory");
		return NULL;
	}
	return p;
}

/* Go on through the page cache, from the current end of the file. */
static int buffered(struct direct_out *d)
{
	int fl = fcntl(d->fd, F_GETFL);

	if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_DIRECT) != 0)
		return -1;
	d->direct = 0;
	writeback_init(&d->wb, d->fd);
	d->wb.started = d->wb.written = d->off;
	return 0;
}

void direct_init(struct direct_out *d, int fd, unsigned char *buf, size_t cap, int try_direct)
{
	int fl;

	memset(d, 0, sizeof(*d));
	d->fd = fd;
	d->buf = buf;
	d->cap = cap;
	writeback_init(&d->wb, fd);
	if (try_direct && (fl = fcntl(fd, F_GETFL)) >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0)
		d->direct = 1;
}

/* Write all of p[0, len) at the end of the file. A direct write refused as
 * misaligned (EINVAL) is retried through the page cache. */
static int put(struct direct_out *d, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(d->fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EINVAL && d->direct && buffered(d) == 0)
				continue;
			return -1;
		}
		if (n == 0) {	/* not for a regular file; never spin */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		d->off += (uint64_t)n;
		if (!d->direct)
			writeback_wrote(&d->wb, (size_t)n);
	}
	return 0;
}

int direct_write(struct direct_out *d, const unsigned char *p, size_t len)
{
	while (len > 0) {
		size_t n = d->cap - d->fill;

		if (!d->direct) {
			/* through the page cache: nothing to align, so nothing
			 * to copy; what a refused direct write left buffered
			 * goes first */
			if (d->fill > 0 && put(d, d->buf, d->fill) != 0)
				return -1;
			d->fill = 0;
			return put(d, p, len);
		}
		if (d->fill == 0 && len >= DIRECT_ALIGN &&
		    (uintptr_t)p % DIRECT_ALIGN == 0) {
			/* aligned already (a decrypted segment): straight from
			 * the caller's memory; the end of the file is aligned
			 * while nothing is buffered */
			n = len & ~(size_t)(DIRECT_ALIGN - 1);
			if (put(d, p, n) != 0)
				return -1;
			p += n;
			len -= n;
			continue;
		}
		n = len < n ? len : n;
		memcpy(d->buf + d->fill, p, n);
		d->fill += n;
		p += n;
		len -= n;
		if (d->fill == d->cap) {
			if (put(d, d->buf, d->fill) != 0)
				return -1;
			d->fill = 0;
		}
	}
	return 0;
}

int direct_finish(struct direct_out *d)
{
	size_t whole = d->direct ? d->fill & ~(size_t)(DIRECT_ALIGN - 1) : 0;

	if (whole > 0 && put(d, d->buf, whole) != 0)
		return -1;
	if (d->fill > whole) {
		if (d->direct && buffered(d) != 0)
			return -1;
		if (put(d, d->buf + whole, d->fill - whole) != 0)
			return -1;
	}
	d->fill = 0;
	writeback_finish(&d->wb);
	return 0;
}
