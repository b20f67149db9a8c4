/* restore-node --in-place, its parts: the table swap (and every way back),
 * the table selection, and the tokens read from a tokenmap. */
#define _GNU_SOURCE
#include <errno.h>
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

#include "scratch.h"
#include "select.h"
#include "swap.h"
#include "tokenmap.h"
#include "util.h"

#define CF "t1-0123456789abcdef0123456789abcdef"
#define CF2 "t2-00000000000000000000000000000002"

static ino_t inode(const char *dir, const char *rel)
{
	char *path = cst_path_join(dir, rel);
	struct stat st;

	assert_non_null(path);
	if (lstat(path, &st) != 0) {
		free(path);
		return 0;
	}
	free(path);
	return st.st_ino;
}

static int exists(const char *dir, const char *rel)
{
	return inode(dir, rel) != 0;
}

/* A live table with data, an index, a snapshot and an incremental backup. */
static char *live_table(void)
{
	char *d = scratch_new("swap");

	scratch_write(d, "ks/" CF "/nb-1-big-Data.db", "old", 3);
	scratch_write(d, "ks/" CF "/.idx/nb-1-big-Data.db", "oldidx", 6);
	scratch_write(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db", "snap", 4);
	scratch_write(d, "ks/" CF "/backups/nb-0-big-Data.db", "inc", 3);
	return d;
}

static struct swap *begin(const char *d, const char *ks, const char *cf)
{
	struct swap_owner owner;
	struct swap *sw = NULL;

	assert_int_equal(swap_owner_of(&owner, d), 0);
	assert_int_equal(swap_check(d, ks, cf), 0);
	assert_int_equal(swap_begin(&sw, d, ks, cf, &owner), 0);
	return sw;
}

static void test_swap_commit(void **state)
{
	char *d = live_table();
	ino_t snap = inode(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db");
	struct swap *sw;
	struct stat st;

	(void)state;
	sw = begin(d, "ks", CF);
	assert_true(exists(d, "ks/.cassette-restore-" CF));
	assert_int_equal(swap_mkdir(sw, ".i2"), 0);
	assert_int_equal(swap_mkdir(sw, ".i2"), 0);
	scratch_write(swap_dir(sw), "nb-2-big-Data.db", "new", 3);
	scratch_write(swap_dir(sw), ".i2/nb-2-big-Data.db", "newidx", 6);
	assert_int_equal(swap_commit(sw), 0);
	assert_true(swap_committed(sw));
	assert_int_equal(swap_abort(sw), 0);	/* a no-op once committed */
	swap_free(sw);
	assert_true(exists(d, "ks/" CF "/nb-2-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/.i2/nb-2-big-Data.db"));
	assert_false(exists(d, "ks/" CF "/nb-1-big-Data.db"));
	assert_false(exists(d, "ks/" CF "/.idx"));
	/* the operator's snapshot and incremental backup moved over, untouched */
	assert_true(snap == inode(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/backups/nb-0-big-Data.db"));
	assert_false(exists(d, "ks/.cassette-restore-" CF));
	assert_false(exists(d, "ks/.cassette-old-" CF));
	assert_int_equal(stat(d, &st), 0);
	scratch_remove(d);
}

/* A failure before the swap: the table is as it was, the temp dir gone. */
static void test_swap_abort_early(void **state)
{
	char *d = live_table();
	ino_t data = inode(d, "ks/" CF "/nb-1-big-Data.db");
	struct swap *sw;

	(void)state;
	sw = begin(d, "ks", CF);
	scratch_write(swap_dir(sw), "nb-2-big-Data.db.cassette-tmp-abcdef", "half", 4);
	assert_int_equal(swap_abort(sw), 0);
	swap_free(sw);
	assert_true(data == inode(d, "ks/" CF "/nb-1-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db"));
	assert_false(exists(d, "ks/.cassette-restore-" CF));
	scratch_remove(d);
}

/* A failure in the middle of the swap (the name for the old dir is taken
 * once snapshots/ and backups/ have moved): all of it goes back. */
static void test_swap_abort_midway(void **state)
{
	char *d = live_table(), *old;
	ino_t data = inode(d, "ks/" CF "/nb-1-big-Data.db");
	ino_t snap = inode(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db");
	struct swap *sw;

	(void)state;
	sw = begin(d, "ks", CF);
	scratch_write(swap_dir(sw), "nb-2-big-Data.db", "new", 3);
	old = cst_sprintf("%s/ks/.cassette-old-" CF, d);
	assert_int_equal(mkdir(old, 0755), 0);
	assert_int_not_equal(swap_commit(sw), 0);
	assert_non_null(strstr(cst_error_msg(), old));
	assert_false(swap_committed(sw));
	assert_int_equal(swap_abort(sw), 0);
	swap_free(sw);
	assert_true(data == inode(d, "ks/" CF "/nb-1-big-Data.db"));
	assert_true(snap == inode(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/backups/nb-0-big-Data.db"));
	assert_false(exists(d, "ks/" CF "/nb-2-big-Data.db"));
	assert_false(exists(d, "ks/.cassette-restore-" CF));
	assert_int_equal(rmdir(old), 0);
	free(old);
	scratch_remove(d);
}

/* A table, and its keyspace, that this node does not have. */
static void test_swap_new_table(void **state)
{
	char *d = scratch_new("swapnew");
	struct swap *sw;

	(void)state;
	sw = begin(d, "ks2", CF2);
	scratch_write(swap_dir(sw), "nb-1-big-Data.db", "x", 1);
	assert_int_equal(swap_abort(sw), 0);
	swap_free(sw);
	assert_false(exists(d, "ks2"));	/* the keyspace dir it made went too */
	sw = begin(d, "ks2", CF2);
	scratch_write(swap_dir(sw), "nb-1-big-Data.db", "x", 1);
	assert_int_equal(swap_commit(sw), 0);
	swap_free(sw);
	assert_true(exists(d, "ks2/" CF2 "/nb-1-big-Data.db"));
	scratch_remove(d);
}

/* Each state a restore killed mid-swap can leave (swap.h's order), and
 * what the next restore makes of it, Cassandra stopped. */
static void test_swap_recover(void **state)
{
	char *d = live_table(), *live, *temp, *old, *live_snaps, *temp_snaps;
	int recovered = -1;

	(void)state;
	live = cst_sprintf("%s/ks/" CF, d);
	temp = cst_sprintf("%s/ks/.cassette-restore-" CF, d);
	old = cst_sprintf("%s/ks/.cassette-old-" CF, d);
	live_snaps = cst_sprintf("%s/snapshots", live);
	temp_snaps = cst_sprintf("%s/snapshots", temp);
	/* nothing left: nothing done */
	assert_int_equal(swap_recover(d, "ks", CF, &recovered), 0);
	assert_int_equal(recovered, 0);
	assert_true(exists(d, "ks/" CF "/nb-1-big-Data.db"));

	/* killed while downloading, after snapshots/ moved: it goes back */
	scratch_write(d, "ks/.cassette-restore-" CF "/nb-1-big-Data.db.cassette-tmp-1", "half", 4);
	assert_int_equal(rename(live_snaps, temp_snaps), 0);
	assert_int_equal(swap_recover(d, "ks", CF, &recovered), 0);
	assert_int_equal(recovered, 1);
	assert_false(exists(d, "ks/.cassette-restore-" CF));
	assert_true(exists(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/backups/nb-0-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/nb-1-big-Data.db"));

	/* killed between the two renames: the table as it was comes back */
	scratch_write(d, "ks/.cassette-restore-" CF "/nb-1-big-Data.db", "NEW", 3);
	assert_int_equal(rename(live_snaps, temp_snaps), 0);
	assert_int_equal(rename(live, old), 0);
	assert_int_equal(swap_recover(d, "ks", CF, &recovered), 0);
	assert_int_equal(recovered, 1);
	assert_false(exists(d, "ks/.cassette-restore-" CF));
	assert_false(exists(d, "ks/.cassette-old-" CF));
	assert_true(exists(d, "ks/" CF "/snapshots/mine/nb-1-big-Data.db"));
	assert_true(exists(d, "ks/" CF "/.idx/nb-1-big-Data.db"));

	/* killed after the swap, before the old dir was gone: the swap stands */
	scratch_write(d, "ks/.cassette-old-" CF "/nb-9-big-Data.db", "OLD", 3);
	assert_int_equal(swap_recover(d, "ks", CF, &recovered), 0);
	assert_int_equal(recovered, 1);
	assert_false(exists(d, "ks/.cassette-old-" CF));
	assert_true(exists(d, "ks/" CF "/nb-1-big-Data.db"));

	/* a new table whose download was killed: the temp dir goes */
	scratch_write(d, "ks/.cassette-restore-" CF2 "/nb-1-big-Data.db", "x", 1);
	assert_int_equal(swap_recover(d, "ks", CF2, &recovered), 0);
	assert_int_equal(recovered, 1);
	assert_false(exists(d, "ks/.cassette-restore-" CF2));
	assert_false(exists(d, "ks/" CF2));

	/* snapshots/ in temp that the live dir cannot take back: never deleted */
	scratch_write(d, "ks/.cassette-restore-" CF "/snapshots/other/x", "x", 1);
	assert_int_equal(swap_recover(d, "ks", CF, &recovered), CST_EEXISTS);
	assert_non_null(strstr(cst_error_msg(), "move it by hand"));
	assert_true(exists(d, "ks/.cassette-restore-" CF "/snapshots/other/x"));
	free(live);
	free(temp);
	free(old);
	free(live_snaps);
	free(temp_snaps);
	scratch_remove(d);
}

static void test_swap_check(void **state)
{
	char *d = live_table(), *path, *target;

	(void)state;
	/* a temp or old dir left by an interrupted restore: swap_recover's,
	 * after stop_cmd; the check before it lets it pass */
	scratch_write(d, "ks/.cassette-old-" CF "/x", "x", 1);
	scratch_write(d, "ks/.cassette-restore-" CF "/x", "x", 1);
	assert_int_equal(swap_check(d, "ks", CF), 0);
	path = cst_sprintf("%s/ks/.cassette-old-" CF, d);
	assert_int_equal(cst_remove_tree(path), 0);
	free(path);
	path = cst_sprintf("%s/ks/.cassette-restore-" CF, d);
	assert_int_equal(cst_remove_tree(path), 0);
	free(path);
	/* a table dir that is a link */
	target = cst_sprintf("%s/elsewhere", d);
	path = cst_sprintf("%s/ks/" CF2, d);
	assert_int_equal(mkdir(target, 0755), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(swap_check(d, "ks", CF2), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "not a directory"));
	free(path);
	free(target);
	/* a keyspace that is a file */
	scratch_write(d, "ksfile", "x", 1);
	assert_int_equal(swap_check(d, "ksfile", CF), CST_EINVALID);
	scratch_remove(d);
}

static void test_swap_owner(void **state)
{
	char *d = scratch_new("owner"), *f;
	struct swap_owner o;

	(void)state;
	assert_int_equal(swap_owner_of(&o, d), 0);
	assert_int_equal(o.uid, geteuid());
	assert_int_equal(o.chown, 0);	/* ours already: nothing to change */
	f = cst_path_join(d, "file");
	scratch_write(d, "file", "x", 1);
	assert_int_equal(swap_owner_of(&o, f), CST_EINVALID);
	free(f);
	scratch_remove(d);
}

static int takes(struct select *s, const char *ks, const char *cf)
{
	return select_table(s, ks, cf);
}

static void test_select(void **state)
{
	const char *ks1[] = { "ks1" }, *ks12[] = { "ks1", "ks2" }, *sys[] = { "system" };
	const char *t2[] = { "t2" }, *q[] = { "ks2.t3", "t2" }, *qid[] = { "ks1." CF };
	const char *bad[] = { "a.b.c" };
	struct select *s;

	(void)state;
	assert_int_equal(select_new(&s, NULL, 0, NULL, 0, 0), 0);
	assert_true(takes(s, "system", "local-7ad54392bcdd35a684174e047860b377"));
	assert_string_equal(select_describe(s), "");
	assert_int_equal(select_check_used(s, "b1"), 0);
	select_free(s);
	/* --keyspace ks1 --table t2: ks1.t2, as it always was */
	assert_int_equal(select_new(&s, ks1, 1, t2, 1, 0), 0);
	assert_true(takes(s, "ks1", "t2-00000000000000000000000000000002"));
	assert_false(takes(s, "ks1", CF));
	assert_false(takes(s, "ks2", "t2-00000000000000000000000000000002"));
	assert_string_equal(select_describe(s), " matching --keyspace ks1 --table t2");
	assert_int_equal(select_check_used(s, "b1"), 0);
	select_free(s);
	/* each bare --table must find a table; each --keyspace a keyspace */
	assert_int_equal(select_new(&s, ks12, 2, t2, 1, 0), 0);
	assert_false(takes(s, "ks1", CF));
	assert_int_equal(select_check_used(s, "b1"), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "--keyspace ks2 matches no table of backup b1"));
	assert_false(takes(s, "ks2", CF));
	assert_int_equal(select_check_used(s, "b1"), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "--table t2 matches no table of backup b1"));
	assert_true(takes(s, "ks2", "t2-00000000000000000000000000000002"));
	assert_int_equal(select_check_used(s, "b1"), 0);
	select_free(s);
	/* repeated: two keyspaces, and ks2.t3 beside bare t2 (in any keyspace) */
	assert_int_equal(select_new(&s, ks12, 2, NULL, 0, 0), 0);
	assert_true(takes(s, "ks1", CF));
	assert_false(takes(s, "ks3", CF));
	assert_int_equal(select_check_used(s, "b1"), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "--keyspace ks2 matches no table of backup b1"));
	assert_true(takes(s, "ks2", CF));
	assert_int_equal(select_check_used(s, "b1"), 0);
	select_free(s);
	assert_int_equal(select_new(&s, NULL, 0, q, 2, 0), 0);
	assert_true(takes(s, "ks2", "t3-00000000000000000000000000000003"));
	assert_false(takes(s, "ks1", "t3-00000000000000000000000000000003"));
	assert_true(takes(s, "ks9", "t2-00000000000000000000000000000002"));
	select_free(s);
	assert_int_equal(select_new(&s, ks12, 1, qid, 1, 0), 0);	/* --keyspace ks1 --table ks1.<dir> */
	assert_true(takes(s, "ks1", CF));
	assert_true(takes(s, "ks1", CF2));
	select_free(s);
	/* onto another host: the system keyspace is never taken */
	assert_int_equal(select_new(&s, NULL, 0, NULL, 0, 1), 0);
	assert_false(takes(s, "system", "local-7ad54392bcdd35a684174e047860b377"));
	assert_false(takes(s, "system", "peers_v2-c4325fbb8e5e3bafbd070f9250ed818e"));
	assert_true(takes(s, "system_schema", "tables-afddfb9dbc1e30688056eed6c302ba09"));
	assert_true(takes(s, "system_auth", "roles-5bc52802de2535edaeab188eecebb090"));
	assert_int_equal(select_skipped(s), 2);
	select_free(s);
	assert_int_equal(select_new(&s, sys, 1, NULL, 0, 1), 0);
	assert_false(takes(s, "system", "local-7ad54392bcdd35a684174e047860b377"));
	assert_int_equal(select_check_used(s, "b1"), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "node-local"));
	select_free(s);
	/* values of the wrong form */
	assert_int_equal(select_new(&s, bad, 1, NULL, 0, 0), CST_EINVALID);
	assert_null(s);
	assert_int_equal(select_new(&s, NULL, 0, bad, 1, 0), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "--table 'a.b.c'"));
}

static int tokens(char **out, size_t *n, const char *json, const char *node)
{
	return tokenmap_tokens(out, n, json, strlen(json), node, "tokenmap.json");
}

static void test_tokenmap(void **state)
{
	char *t = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"tokens\": [-9223372036854775808, 0, "
				"9223372036854775807], \"is_up\": true, \"rack\": \"r1\", \"dc\": \"dc1\"},"
				" \"n2\": {\"tokens\": [5]}}", "n1"), 0);
	assert_string_equal(t, "-9223372036854775808,0,9223372036854775807");
	assert_int_equal(n, 3);
	free(t);
	/* strings, for tokens beyond 64 bits */
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"tokens\": [\"85070591730234615865843651857942052864\","
				" \"-1\"]}}", "n1"), 0);
	assert_string_equal(t, "85070591730234615865843651857942052864,-1");
	assert_int_equal(n, 2);
	free(t);
	/* what cannot seed a new node */
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"tokens\": [], \"is_up\": true}}", "n1"), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "cannot seed a new node"));
	assert_non_null(strstr(cst_error_msg(), "tokenmap.json"));
	assert_null(t);
	assert_int_equal(tokens(&t, &n, "{\"n2\": {\"tokens\": [1]}}", "n1"), CST_ENOTFOUND);
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"is_up\": true}}", "n1"), CST_ENOTFOUND);
	/* malformed */
	assert_int_equal(tokens(&t, &n, "[1]", "n1"), CST_EINVALID);
	assert_int_equal(tokens(&t, &n, "{", "n1"), CST_EINVALID);
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"tokens\": [1.5]}}", "n1"), CST_EINVALID);
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"tokens\": [\"1,2\"]}}", "n1"), CST_EINVALID);
	assert_int_equal(tokens(&t, &n, "{\"n1\": {\"tokens\": \"1\"}}", "n1"), CST_EINVALID);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_commit), cmocka_unit_test(test_swap_abort_early),
		cmocka_unit_test(test_swap_abort_midway), cmocka_unit_test(test_swap_new_table),
		cmocka_unit_test(test_swap_recover),
		cmocka_unit_test(test_swap_check), cmocka_unit_test(test_swap_owner),
		cmocka_unit_test(test_select), cmocka_unit_test(test_tokenmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
