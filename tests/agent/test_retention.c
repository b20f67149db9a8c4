/*
 * purge's retention choice (agent/purge/retention.h): which backups go for a
 * given age limit, count limit, grace period and clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "retention.h"

#define DAY 86400
#define NOW ((int64_t)1800000000)

/* The verdicts as one string, a letter per backup in array order:
 * K keep, A age, C count, X abandoned. */
static const char *verdicts(struct retention_backup *v, size_t n, unsigned age, unsigned count,
			    unsigned grace)
{
	static char out[64];
	struct retention_rules r = { age, count, grace };
	size_t i;

	retention_choose(v, n, NOW, &r);
	for (i = 0; i < n && i + 1 < sizeof(out); i++)
		out[i] = "KACX"[v[i].verdict];
	out[i] = '\0';
	return out;
}

/* Backups finished 1, 2, ... days ago, the newest first in time order
 * reversed: v[0] is the oldest. */
static void nightly(struct retention_backup *v, size_t n)
{
	static char names[16][24];
	size_t i;

	memset(v, 0, n * sizeof(*v));
	for (i = 0; i < n; i++) {
		snprintf(names[i], sizeof(names[i]), "b%02zu", i);
		v[i].name = names[i];
		v[i].finished = NOW - (int64_t)(n - i) * DAY;
		v[i].started = v[i].finished - 600;
	}
}

static void test_no_limits_keep_all(void **state)
{
	struct retention_backup v[5];

	(void)state;
	nightly(v, 5);
	assert_string_equal(verdicts(v, 5, 0, 0, 10), "KKKKK");
}

static void test_count(void **state)
{
	struct retention_backup v[5];

	(void)state;
	nightly(v, 5);
	assert_string_equal(verdicts(v, 5, 0, 2, 10), "CCCKK");
	assert_string_equal(verdicts(v, 5, 0, 1, 10), "CCCCK");
	assert_string_equal(verdicts(v, 5, 0, 5, 10), "KKKKK");
	assert_string_equal(verdicts(v, 5, 0, 9, 10), "KKKKK");
}

static void test_count_by_finish_time_not_order(void **state)
{
	struct retention_backup v[3];

	(void)state;
	nightly(v, 3);
	/* The array's order is no clue: the finish times decide. */
	v[0].finished = NOW - 1;
	assert_string_equal(verdicts(v, 3, 0, 1, 10), "KCC");
	/* Equal finish times: the name breaks the tie (b02 > b01). */
	v[0].finished = v[1].finished = v[2].finished = NOW - DAY;
	assert_string_equal(verdicts(v, 3, 0, 1, 10), "CCK");
}

static void test_age(void **state)
{
	struct retention_backup v[5];

	(void)state;
	nightly(v, 5);	/* finished 5, 4, 3, 2, 1 days ago */
	assert_string_equal(verdicts(v, 5, 3, 0, 10), "AAKKK");
	/* Exactly max_age old is not older than it. */
	assert_string_equal(verdicts(v, 5, 4, 0, 10), "AKKKK");
	/* Both limits: a backup goes when either says so (count named first). */
	assert_string_equal(verdicts(v, 5, 4, 2, 10), "CCCKK");
	assert_string_equal(verdicts(v, 5, 3, 4, 10), "CAKKK");
	assert_string_equal(verdicts(v, 5, 1, 4, 10), "CAAAK");
}

static void test_newest_survives_age(void **state)
{
	struct retention_backup v[3];

	(void)state;
	nightly(v, 3);
	/* Backups stopped a month ago: the last one stays. */
	v[0].finished -= 30 * DAY;
	v[1].finished -= 30 * DAY;
	v[2].finished -= 30 * DAY;
	assert_string_equal(verdicts(v, 3, 7, 0, 10), "AAK");
}

static void test_damaged(void **state)
{
	struct retention_backup v[4];

	(void)state;
	nightly(v, 4);
	/* The newest is damaged: it keeps no slot, and the newest sound one
	 * is the one that always stays. */
	v[3].damaged = 1;
	assert_string_equal(verdicts(v, 4, 0, 1, 10), "CCKK");
	v[3].finished -= 40 * DAY;	/* now the oldest, and old: age takes it */
	assert_string_equal(verdicts(v, 4, 30, 0, 10), "KKKA");
	assert_string_equal(verdicts(v, 4, 1, 0, 10), "AAKA");
}

static void test_unfinished(void **state)
{
	struct retention_backup v[4];

	(void)state;
	nightly(v, 4);
	v[0].finished = 0;			/* started 4 days ago */
	v[1].finished = 0;
	v[1].started = NOW - 11 * DAY;		/* beyond the grace period */
	v[2].finished = 0;
	v[2].started = 0;			/* only leftovers, no marker */
	/* They never count as finished backups, and go only when abandoned. */
	assert_string_equal(verdicts(v, 4, 0, 1, 10), "KXXK");
	assert_string_equal(verdicts(v, 4, 0, 0, 3), "XXXK");
	assert_string_equal(verdicts(v, 4, 0, 0, 0), "XXXK");
	assert_string_equal(retention_reason(RETAIN_ABANDONED),
			    "abandoned: started, never finished, older than the grace period");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_limits_keep_all),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_count_by_finish_time_not_order),
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_newest_survives_age),
		cmocka_unit_test(test_damaged),
		cmocka_unit_test(test_unfinished),
	};

	return cmocka_run_group_tests_name("retention", tests, NULL, NULL);
}
