#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "scratch.h"
#include "util.h"

char *scratch_new(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir = cst_sprintf("%s/cassette-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);

	assert_non_null(dir);
	assert_non_null(mkdtemp(dir));
	return dir;
}

void scratch_remove(char *dir)
{
	if (dir == NULL)
		return;
	assert_int_equal(cst_remove_tree(dir), 0);
	free(dir);
}

void scratch_write(const char *dir, const char *rel, const void *buf, size_t len)
{
	char *path = cst_path_join(dir, rel), *slash;

	assert_non_null(path);
	slash = strrchr(path, '/');
	*slash = '\0';
	assert_int_equal(cst_mkdirs(path), 0);
	*slash = '/';
	assert_int_equal(cst_write_file_atomic(path, buf, len, 0644), 0);
	free(path);
}
