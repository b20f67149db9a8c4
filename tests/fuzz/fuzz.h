/*
 * What the libFuzzer targets of tests/fuzz share: a check that aborts (a
 * crash to libFuzzer, so the input is kept as an artifact), the error rule
 * every parser must keep, and piece sizes drawn from the input for the
 * streaming APIs. Header-only: each target is one .c file.
 */
#ifndef CASSETTE_FUZZ_H
#define CASSETTE_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* strdup, mkdtemp, pwrite in a C11 build */
#endif

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* A broken promise of the code under test: report it and crash. */
#define FUZZ_CHECK(cond)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
				#cond);                                                    \
			abort();                                                           \
		}                                                                          \
	} while (0)

/* FUZZ_VERBOSE=1 in the environment: each parser's verdict on stderr, for
 * checking by hand that a seed is accepted (or refused for the right reason). */
static inline void fuzz_verdict(const char *what, int rc)
{
	static int verbose = -1;

	if (verbose < 0)
		verbose = getenv("FUZZ_VERBOSE") != NULL && getenv("FUZZ_VERBOSE")[0] == '1';
	if (verbose)
		fprintf(stderr, "%s: %s\n", what, rc == 0 ? "accepted" : cst_error_msg());
}

/*
 * The error rule of util.h: 0, or one of the CST_ codes with a message in
 * the error slot. Call cst_error_clear() before the call that returned rc.
 */
static inline void fuzz_check_rc(int rc)
{
	if (rc == 0)
		return;
	if (rc > 0 || rc < CST_EUNSUPPORTED) {
		fprintf(stderr, "return code %d is no CST_ code\n", rc);
		abort();
	}
	if (cst_error_msg()[0] == '\0') {
		fprintf(stderr, "failure %d (%s) without a message\n", rc, cst_error_name(rc));
		abort();
	}
}

/* The input as a NUL-terminated string (a NUL inside ends it early). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * For a parser that takes a path: the input written to a file of mode 0600
 * (as a key or credentials file must be) in a private directory under
 * $TMPDIR, made on the first call and removed at exit. Returns its path; the
 * same file is rewritten for every input.
 */
struct fuzz_file {
	char dir[256], path[300];
	int fd;
};

static inline struct fuzz_file *fuzz_file_state(void)
{
	static struct fuzz_file f = { "", "", -1 };

	return &f;
}

static inline void fuzz_file_remove(void)
{
	struct fuzz_file *f = fuzz_file_state();

	close(f->fd);
	unlink(f->path);
	rmdir(f->dir);
}

static inline const char *fuzz_input_file(const uint8_t *data, size_t size)
{
	struct fuzz_file *f = fuzz_file_state();
	const char *tmp = getenv("TMPDIR");

	if (f->fd < 0) {
		snprintf(f->dir, sizeof(f->dir), "%s/cst-fuzz-XXXXXX",
			 tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
		FUZZ_CHECK(mkdtemp(f->dir) != NULL);
		snprintf(f->path, sizeof(f->path), "%s/input", f->dir);
		f->fd = open(f->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		FUZZ_CHECK(f->fd >= 0);
		atexit(fuzz_file_remove);
	}
	FUZZ_CHECK(ftruncate(f->fd, 0) == 0);
	FUZZ_CHECK(pwrite(f->fd, data, size, 0) == (ssize_t)size);
	return f->path;
}

/*
 * Piece sizes for feeding a stream, a function of `seed` (taken from the
 * input), so a crash replays exactly: single bytes, small pieces, and
 * pieces around the sizes the code buffers by.
 */
struct fuzz_pieces {
	uint64_t state;
};

static inline void fuzz_pieces_init(struct fuzz_pieces *p, uint64_t seed)
{
	p->state = seed * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
}

/* The next piece, 1..left bytes (0 when left is 0). */
static inline size_t fuzz_pieces_next(struct fuzz_pieces *p, size_t left)
{
	uint64_t x;
	size_t n;

	if (left == 0)
		return 0;
	/* xorshift64* */
	p->state ^= p->state >> 12;
	p->state ^= p->state << 25;
	p->state ^= p->state >> 27;
	x = p->state * 0x2545f4914f6cdd1dull;
	switch (x & 3) {
	case 0: n = 1; break;
	case 1: n = 1 + (size_t)((x >> 8) % 16); break;
	case 2: n = 1 + (size_t)((x >> 8) % 4096); break;
	default: n = left; break;
	}
	return n < left ? n : left;
}

/* FNV-1a of the input: a seed for the pieces when the input has no byte to spare. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ull;

	while (size-- > 0)
		h = (h ^ *data++) * 1099511628211ull;
	return h;
}

#endif
