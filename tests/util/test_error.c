/* The error slot: a new message may quote the one it replaces. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util.h"

static void test_quote_previous(void **state)
{
	(void)state;
	cst_error(CST_EIO, "disk full while writing %s", "ks.t/nb-1-big-Data.db");
	cst_error(CST_EIO, "table ks.t failed: %s; nothing was changed", cst_error_msg());
	assert_string_equal(cst_error_msg(), "table ks.t failed: disk full while writing "
			    "ks.t/nb-1-big-Data.db; nothing was changed");
	errno = ENOENT;
	cst_error_errno("cannot open %s (%s)", "x", cst_error_msg());
	assert_string_equal(cst_error_msg(), "cannot open x (table ks.t failed: disk full while "
			    "writing ks.t/nb-1-big-Data.db; nothing was changed): No such file or directory");
	assert_int_equal(cst_error_code(), CST_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_quote_previous) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
