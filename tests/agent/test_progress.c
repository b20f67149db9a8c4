/* Unit tests of the progress line: the pure formatting (rate, time left,
 * human bytes) with injected times, the on/off rules, and what reaches
 * stderr when it is forced on. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "progress.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)

static const char *fmt(const char *what, uint64_t files, uint64_t files_total, uint64_t bytes,
		       uint64_t bytes_total, double elapsed)
{
	static char buf[256];
	struct progress_state s = { files, files_total, bytes, bytes_total, elapsed };
	size_t n = progress_format(buf, sizeof(buf), what, &s);

	assert_int_equal(n, strlen(buf));
	return buf;
}

static void test_format(void **state)
{
	(void)state;
	/* nothing measured yet: no rate, no estimate */
	assert_string_equal(fmt("restore", 0, 40, 0, 4 * GIB, 0),
			    "restore: 0/40 files, 0 B of 4.0 GiB (0%), 0 B/s, -- left");
	/* 1 GiB of 4 in 2 s: 512 MiB/s, 3 GiB to go = 6 s */
	assert_string_equal(fmt("restore", 10, 40, GIB, 4 * GIB, 2.0),
			    "restore: 10/40 files, 1.0 GiB of 4.0 GiB (25%), 512.0 MiB/s, 6s left");
	/* 3 MiB in 10 s of 603 MiB: 600 MiB at 0.3 MiB/s = 2000 s */
	assert_string_equal(fmt("backup", 1, 2, 3 * MIB, 603 * MIB, 10.0),
			    "backup: 1/2 files, 3.0 MiB of 603.0 MiB (0%), 307.2 KiB/s, 33m20s left");
	/* slow: hours */
	assert_string_equal(fmt("backup", 0, 9, 1024, 1024 * 10001, 1.0),
			    "backup: 0/9 files, 1.0 KiB of 9.8 MiB (0%), 1.0 KiB/s, 2h46m left");
	/* done: 100% and nothing left, whatever the clock says */
	assert_string_equal(fmt("restore", 40, 40, 4 * GIB, 4 * GIB, 8.0),
			    "restore: 40/40 files, 4.0 GiB of 4.0 GiB (100%), 512.0 MiB/s, 0s left");
	/* only empty files: the share comes from the file count */
	assert_string_equal(fmt("restore", 1, 4, 0, 0, 1.0),
			    "restore: 1/4 files, 0 B of 0 B (25%), 0 B/s, -- left");
	assert_string_equal(fmt("restore", 4, 4, 0, 0, 1.0),
			    "restore: 4/4 files, 0 B of 0 B (100%), 0 B/s, 0s left");
	/* bytes all done but a file still open (an empty one): not finished */
	assert_string_equal(fmt("restore", 3, 4, 100, 100, 1.0),
			    "restore: 3/4 files, 100 B of 100 B (100%), 100 B/s, 0s left");
}

static void test_truncated(void **state)
{
	struct progress_state s = { 1, 2, 3, 4, 1.0 };
	char buf[10];

	(void)state;
	assert_int_equal(progress_format(buf, sizeof(buf), "restore", &s), 9);
	assert_string_equal(buf, "restore: ");
}

static void test_duration(void **state)
{
	char b[16];

	(void)state;
	assert_string_equal(progress_duration(b, sizeof(b), -3), "0s");
	assert_string_equal(progress_duration(b, sizeof(b), 0.4), "0s");
	assert_string_equal(progress_duration(b, sizeof(b), 59.4), "59s");
	assert_string_equal(progress_duration(b, sizeof(b), 59.6), "1m00s");
	assert_string_equal(progress_duration(b, sizeof(b), 61), "1m01s");
	assert_string_equal(progress_duration(b, sizeof(b), 3599), "59m59s");
	assert_string_equal(progress_duration(b, sizeof(b), 3600), "1h00m");
	assert_string_equal(progress_duration(b, sizeof(b), 99 * 3600 + 59 * 60), "99h59m");
	assert_string_equal(progress_duration(b, sizeof(b), 100 * 3600), "99h+");
	assert_string_equal(progress_duration(b, sizeof(b), 1e30), "99h+");
}

static void test_enabled(void **state)
{
	(void)state;
	progress_set_mode(PROGRESS_AUTO);
	setenv("CASSETTE_PROGRESS", "1", 1);
	assert_true(progress_enabled());
	setenv("CASSETTE_PROGRESS", "0", 1);
	assert_false(progress_enabled());
	progress_set_mode(PROGRESS_ON);	/* the option wins over the environment */
	assert_true(progress_enabled());
	setenv("CASSETTE_PROGRESS", "1", 1);
	progress_set_mode(PROGRESS_OFF);
	assert_false(progress_enabled());
	assert_null(progress_start("restore", 1, 1));
	/* NULL is a no-op everywhere */
	progress_add_bytes(NULL, 1);
	progress_file_done(NULL, 1);
	progress_end(NULL, 1);
	progress_set_mode(PROGRESS_AUTO);
	unsetenv("CASSETTE_PROGRESS");
	assert_int_equal(progress_enabled(), isatty(STDERR_FILENO));
}

/* Run a forced-on line with stderr sent to a file; return what reached it. */
static char *captured(int completed)
{
	char path[] = "/tmp/cassette-progress-XXXXXX", *text;
	struct progress *p;
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	long n;
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	progress_set_mode(PROGRESS_ON);
	p = progress_start("restore", 2, 3 * MIB);
	assert_non_null(p);
	progress_add_bytes(p, MIB);
	progress_file_done(p, 0);
	progress_file_done(p, 2 * MIB);
	progress_end(p, completed);
	progress_set_mode(PROGRESS_AUTO);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unlink(path);
	return text;
}

static void test_drawn(void **state)
{
	const char *start = "\rrestore: 0/2 files, 0 B of 3.0 MiB (0%), 0 B/s, -- left";
	char *done = captured(1), *erased = captured(0), *last;

	(void)state;
	/* drawn at once, and completed on a line of its own */
	assert_memory_equal(done, start, strlen(start));
	last = strrchr(done, '\r');
	assert_non_null(last);
	assert_true(strncmp(last, "\rrestore: 2/2 files, 3.0 MiB of 3.0 MiB (100%), ", 48) == 0);
	assert_non_null(strstr(last, "/s, 0s left"));
	assert_int_equal(done[strlen(done) - 1], '\n');
	/* a failure blanks it instead and leaves the cursor at its start */
	assert_memory_equal(erased, start, strlen(start));
	assert_null(strchr(erased, '\n'));
	last = strrchr(erased, '\r');
	assert_string_equal(last, "\r");
	assert_int_equal(erased[strlen(erased) - 2], ' ');
	free(done);
	free(erased);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_enabled),
		cmocka_unit_test(test_drawn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
