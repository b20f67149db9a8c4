/* Unit tests of the direct-I/O writer (agent/io/direct.c): whatever the sizes
 * and chunking, the file holds exactly the bytes appended; aligned input
 * goes out by direct writes (O_DIRECT stays set, which it would not after a
 * refused write); a buffer the kernel refuses mid-file falls back to the page
 * cache without losing a byte; a writer kept on the page cache needs no
 * buffer; and a write error reaches the caller. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "direct.h"
#include "scratch.h"

#define CAP (64u * 1024)

static unsigned char *pattern(size_t len)
{
	unsigned char *p = NULL;
	size_t i;

	/* page-aligned, like a decrypted segment */
	assert_int_equal(posix_memalign((void **)&p, DIRECT_ALIGN, len + DIRECT_ALIGN), 0);
	for (i = 0; i < len + DIRECT_ALIGN; i++)
		p[i] = (unsigned char)((i * 2654435761u) >> 13);
	return p;
}

/* Does this directory's file system take O_DIRECT at all? */
static int fs_takes_direct(const char *dir)
{
	char *path;
	int fd, ok;

	assert_true(asprintf(&path, "%s/probe", dir) > 0);
	fd = open(path, O_CREAT | O_WRONLY | O_DIRECT, 0600);
	ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	unlink(path);
	free(path);
	return ok;
}

/* Does it refuse a direct write of a length that is not block-aligned, as
 * block file systems do? (tmpfs takes any.) */
static int fs_refuses_misaligned(const char *dir)
{
	unsigned char *buf = pattern(DIRECT_ALIGN);
	char *path;
	int fd, refused = 0;

	assert_true(asprintf(&path, "%s/probe", dir) > 0);
	if ((fd = open(path, O_CREAT | O_WRONLY | O_DIRECT, 0600)) >= 0) {
		refused = write(fd, buf, 5000 - DIRECT_ALIGN) < 0 && errno == EINVAL;
		close(fd);
	}
	unlink(path);
	free(path);
	free(buf);
	return refused;
}

static void check_file(const char *path, const unsigned char *want, size_t len)
{
	unsigned char *got = malloc(len + 1);
	struct stat st;
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_non_null(got);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	n = read(fd, got, len + 1);
	assert_int_equal((size_t)n, len);
	assert_memory_equal(got, want, len);
	close(fd);
	free(got);
}

/* Write `len` bytes of `src` in chunks of `chunk` (0: random sizes), through
 * a writer of `cap` bytes; returns whether O_DIRECT was still set before the
 * tail. */
static int write_file(const char *path, const unsigned char *src, size_t len, size_t chunk,
		      size_t cap, int try_direct)
{
	unsigned char *buf = direct_buf_new(cap);
	struct direct_out d;
	size_t off = 0;
	int fd, still;

	assert_non_null(buf);
	assert_true(((uintptr_t)buf % DIRECT_ALIGN) == 0);
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	assert_true(fd >= 0);
	direct_init(&d, fd, buf, cap, try_direct);
	srand(7);
	while (off < len) {
		size_t n = chunk ? chunk : 1 + (size_t)rand() % (3 * cap);

		n = n < len - off ? n : len - off;
		assert_int_equal(direct_write(&d, src + off, n), 0);
		off += n;
	}
	still = d.direct;
	assert_int_equal(direct_finish(&d), 0);
	assert_int_equal(d.off, len);
	assert_int_equal(fsync(fd), 0);
	assert_int_equal(close(fd), 0);
	free(buf);
	return still;
}

static const size_t sizes[] = { 0, 1, 4095, 4096, 4097, CAP - 1, CAP, CAP + 1,
				3 * CAP + 17, 5 * CAP, 5 * CAP + 4096 };

static void test_every_size_and_chunking(void **state)
{
	const size_t chunks[] = { 0, 1000, 4096, CAP, 3 * CAP + 5 };
	char *dir = scratch_new("direct"), *path;
	unsigned char *src = pattern(6 * CAP);
	size_t i, c;
	int t;

	(void)state;
	assert_true(asprintf(&path, "%s/f", dir) > 0);
	for (t = 0; t < 2; t++)
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
			for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
				write_file(path, src, sizes[i], chunks[c], CAP, t);
				check_file(path, src, sizes[i]);
			}
	free(path);
	free(src);
	scratch_remove(dir);
}

/* Through the page cache the writer needs no buffer at all (a backup's temp
 * files that an upload reads back): every write goes straight out. */
static void test_buffered_needs_no_buffer(void **state)
{
	const size_t chunks[] = { 0, 1, 4096, CAP + 16 };
	char *dir = scratch_new("direct"), *path;
	unsigned char *src = pattern(6 * CAP);
	struct direct_out d;
	size_t i, c, off, n;
	int fd;

	(void)state;
	assert_true(asprintf(&path, "%s/f", dir) > 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
			assert_true(fd >= 0);
			direct_init(&d, fd, NULL, 0, 0);
			for (off = 0; off < sizes[i]; off += n) {
				n = chunks[c] ? chunks[c] : 1 + (off * 7919) % (2 * CAP);
				n = n < sizes[i] - off ? n : sizes[i] - off;
				assert_int_equal(direct_write(&d, src + off, n), 0);
				assert_int_equal(d.off, off + n);	/* out already */
			}
			assert_int_equal(direct_finish(&d), 0);
			assert_int_equal(close(fd), 0);
			check_file(path, src, sizes[i]);
		}
	free(path);
	free(src);
	scratch_remove(dir);
}

/* Aligned input of aligned sizes goes straight out by direct writes; input
 * that is not aligned is gathered and still goes out direct. */
static void test_direct_writes_happen(void **state)
{
	char *dir = scratch_new("direct"), *path;
	unsigned char *src = pattern(6 * CAP);

	(void)state;
	if (!fs_takes_direct(dir)) {
		printf("# skipped: %s does not take O_DIRECT\n", dir);
		free(src);
		scratch_remove(dir);
		skip();
	}
	assert_true(asprintf(&path, "%s/f", dir) > 0);
	assert_true(write_file(path, src, 5 * CAP + 123, CAP, CAP, 1));
	check_file(path, src, 5 * CAP + 123);
	assert_true(write_file(path, src, 4 * CAP, 4096, CAP, 1));
	check_file(path, src, 4 * CAP);
	/* aligned start, ragged length: the aligned part direct, the rest kept */
	assert_true(write_file(path, src, 5 * CAP + 5, CAP + 100, CAP, 1));
	check_file(path, src, 5 * CAP + 5);
	/* misaligned source: gathered in the writer's buffer */
	assert_true(write_file(path, src + 1, 3 * CAP + 9, 1000, CAP, 1));
	check_file(path, src + 1, 3 * CAP + 9);
	free(path);
	free(src);
	scratch_remove(dir);
}

/* A buffer of 5000 bytes makes the first direct write one of a length a
 * block file system refuses (EINVAL): the writer goes on through the page
 * cache and the file is still exact. */
static void test_refused_direct_write_falls_back(void **state)
{
	char *dir = scratch_new("direct"), *path;
	unsigned char *src = pattern(6 * CAP);

	(void)state;
	assert_true(asprintf(&path, "%s/f", dir) > 0);
	if (fs_refuses_misaligned(dir))
		assert_false(write_file(path, src, 4 * CAP + 77, 777, 5000, 1));
	else	/* nothing to fall back from; the bytes must still be right */
		(void)write_file(path, src, 4 * CAP + 77, 777, 5000, 1);
	check_file(path, src, 4 * CAP + 77);
	free(path);
	free(src);
	scratch_remove(dir);
}

static void test_write_error_reaches_caller(void **state)
{
	char *dir = scratch_new("direct"), *path;
	unsigned char *src = pattern(CAP), *buf = direct_buf_new(CAP);
	struct direct_out d;
	int fd;

	(void)state;
	assert_true(asprintf(&path, "%s/f", dir) > 0);
	scratch_write(dir, "f", "x", 1);
	fd = open(path, O_RDONLY);	/* writes fail with EBADF */
	assert_true(fd >= 0);
	direct_init(&d, fd, buf, CAP, 1);
	errno = 0;
	assert_int_equal(direct_write(&d, src, CAP), -1);
	assert_int_equal(errno, EBADF);
	/* through the page cache, every write goes out at once */
	direct_init(&d, fd, NULL, 0, 0);
	errno = 0;
	assert_int_equal(direct_write(&d, src, 10), -1);
	assert_int_equal(errno, EBADF);
	/* a direct writer's tail waits for direct_finish */
	direct_init(&d, fd, buf, CAP, 1);
	assert_int_equal(direct_write(&d, src, 10), 0);	/* only buffered so far */
	errno = 0;
	assert_int_equal(direct_finish(&d), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
	free(buf);
	free(path);
	free(src);
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_size_and_chunking),
		cmocka_unit_test(test_buffered_needs_no_buffer),
		cmocka_unit_test(test_direct_writes_happen),
		cmocka_unit_test(test_refused_direct_write_falls_back),
		cmocka_unit_test(test_write_error_reaches_caller),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
