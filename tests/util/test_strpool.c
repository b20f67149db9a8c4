/* util: the string pool (cst_strpool) that history, snapshot and restore use. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

/* Many strings across many blocks all keep their contents until the free. */
static void test_many_strings(void **state)
{
	struct cst_strpool p;
	char **got, want[32];
	size_t i, n = 5000;

	(void)state;
	cst_strpool_init(&p, 256);
	got = calloc(n, sizeof(*got));
	assert_non_null(got);
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "string-%zu", i);
		got[i] = cst_strpool_dup(&p, want);
		assert_non_null(got[i]);
	}
	for (i = 0; i < n; i++) {
		snprintf(want, sizeof(want), "string-%zu", i);
		assert_string_equal(got[i], want);
	}
	free(got);
	cst_strpool_free(&p);
	assert_null(p.head);
}

/* Strings that fit share a block, packed one after the other; one that does
 * not fit starts a new block. */
static void test_packed(void **state)
{
	struct cst_strpool p;
	char *a, *b, *c;

	(void)state;
	cst_strpool_init(&p, 16);
	a = cst_strpool_dup(&p, "abc");		/* 4 bytes */
	b = cst_strpool_dup(&p, "defgh");	/* 6 bytes */
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_equal(b, a + 4);
	c = cst_strpool_dup(&p, "ijklmnop");	/* 9 bytes: 6 left, a new block */
	assert_non_null(c);
	assert_true((uintptr_t)c < (uintptr_t)a || (uintptr_t)c >= (uintptr_t)a + 16);
	assert_string_equal(a, "abc");
	assert_string_equal(b, "defgh");
	assert_string_equal(c, "ijklmnop");
	cst_strpool_free(&p);
}

/* A string larger than the block size gets a block of its own. */
static void test_larger_than_block(void **state)
{
	struct cst_strpool p;
	char big[1000], *s, *t;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cst_strpool_init(&p, 8);
	t = cst_strpool_dup(&p, "tiny");
	s = cst_strpool_dup(&p, big);
	assert_non_null(t);
	assert_non_null(s);
	assert_string_equal(s, big);
	assert_string_equal(t, "tiny");
	assert_string_equal(cst_strpool_dup(&p, ""), "");
	cst_strpool_free(&p);
}

/* dupn copies exactly n bytes and terminates them, even from inside a
 * longer string or past a NUL. */
static void test_dupn(void **state)
{
	struct cst_strpool p;
	const char src[] = "keyspace/table\0hidden";
	char *s;

	(void)state;
	cst_strpool_init(&p, 0);
	s = cst_strpool_dupn(&p, src, 8);
	assert_non_null(s);
	assert_string_equal(s, "keyspace");
	s = cst_strpool_dupn(&p, src, sizeof(src) - 1);
	assert_non_null(s);
	assert_memory_equal(s, src, sizeof(src) - 1);
	assert_int_equal(s[sizeof(src) - 1], '\0');
	s = cst_strpool_dupn(&p, src, 0);
	assert_non_null(s);
	assert_string_equal(s, "");
	cst_strpool_free(&p);
}

/* A zeroed pool works (default block size), free leaves it reusable, and
 * free(NULL) and a double free are no-ops. */
static void test_zeroed_and_reuse(void **state)
{
	struct cst_strpool p;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_string_equal(cst_strpool_dup(&p, "one"), "one");
	cst_strpool_free(&p);
	cst_strpool_free(&p);
	assert_string_equal(cst_strpool_dup(&p, "two"), "two");
	cst_strpool_free(&p);
	cst_strpool_free(NULL);
}

/* Sizes that would overflow the block arithmetic fail cleanly, before any
 * byte of the source is read. */
static void test_overflow(void **state)
{
	struct cst_strpool p;
	const char *src = "x";

	(void)state;
	cst_strpool_init(&p, 64);
	cst_error_clear();
	assert_null(cst_strpool_dupn(&p, src, SIZE_MAX));
	assert_int_equal(cst_error_code(), CST_ENOMEM);
	cst_error_clear();
	assert_null(cst_strpool_dupn(&p, src, SIZE_MAX - 8));
	assert_int_equal(cst_error_code(), CST_ENOMEM);
	assert_null(p.head);
	/* the pool still works afterwards */
	assert_string_equal(cst_strpool_dup(&p, "after"), "after");
	cst_strpool_free(&p);
}

#define T(name) cmocka_unit_test(test_##name)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(many_strings), T(packed), T(larger_than_block), T(dupn), T(zeroed_and_reuse),
		T(overflow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
