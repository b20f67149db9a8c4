/* Unit tests of the state database (the hash cache's rows) and of the live
 * ctime walk that feeds it. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <fcntl.h>

#include "config.h"
#include "hashcache.h"
#include "live_ctime.h"
#include "scratch.h"
#include "snapshot.h"
#include "statedb.h"
#include "util.h"

static const unsigned char MD5_A[16] = "0123456789abcde";
static const unsigned char MD5_B[16] = "fedcba987654321";

static struct statedb_key key(uint64_t ino)
{
	struct statedb_key k = { 2049, ino, 1000 + ino, 1700000000123456789, 1700000001987654321 };

	return k;
}

static void put_rows(struct statedb *db, int n)
{
	int i;

	assert_int_equal(statedb_replace_begin(db), 0);
	for (i = 1; i <= n; i++) {
		struct statedb_key k = key((uint64_t)i);

		assert_int_equal(statedb_replace_put(db, &k, i % 2 ? MD5_A : MD5_B), 0);
	}
	assert_int_equal(statedb_replace_commit(db), 0);
}

static uint64_t rows(struct statedb *db)
{
	uint64_t n;

	assert_int_equal(statedb_count(db, &n), 0);
	return n;
}

static void test_roundtrip_and_modes(void **state)
{
	char *dir = scratch_new("statedb"), *sdir = cst_path_join(dir, "state"), *path;
	struct statedb *db = NULL;
	struct statedb_key k;
	unsigned char md5[16];
	struct stat st;
	int bad = 0;

	(void)state;
	assert_int_equal(statedb_open(&db, sdir, "node1"), 0);
	put_rows(db, 2);
	statedb_close(db);
	path = cst_sprintf("%s/node1.db", sdir);
	assert_int_equal(stat(sdir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(statedb_open(&db, sdir, "node1"), 0);
	assert_int_equal(rows(db), 2);
	k = key(1);
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 1);
	assert_memory_equal(md5, MD5_A, 16);
	k = key(2);
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 1);
	assert_memory_equal(md5, MD5_B, 16);
	/* every field is part of the trust: one differing is a miss */
	k = key(1); k.size++;
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	k = key(1); k.mtime_ns++;
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	k = key(1); k.ctime_ns--;
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	k = key(1); k.dev++;
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	k = key(3);
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	assert_int_equal(bad, 0);

	/* a replace not committed changes nothing; a committed one replaces all */
	assert_int_equal(statedb_replace_begin(db), 0);
	statedb_close(db);
	assert_int_equal(statedb_open(&db, sdir, "node1"), 0);
	assert_int_equal(rows(db), 2);
	put_rows(db, 1);
	assert_int_equal(rows(db), 1);
	k = key(2);
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	statedb_close(db);

	/* another node name: another file */
	assert_int_equal(statedb_open(&db, sdir, "node2"), 0);
	assert_int_equal(rows(db), 0);
	statedb_close(db);
	free(path);
	free(sdir);
	scratch_remove(dir);
}

static void test_garbage_is_rebuilt(void **state)
{
	char *dir = scratch_new("statedb"), *path = cst_sprintf("%s/n.db", dir);
	char *aside = cst_sprintf("%s/n.db.corrupt", dir);
	unsigned char junk[8192];
	struct statedb *db = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	scratch_write(dir, "n.db", junk, sizeof(junk));
	assert_int_equal(statedb_open(&db, dir, "n"), 0);
	assert_non_null(db);
	assert_int_equal(rows(db), 0);
	assert_int_equal(access(aside, F_OK), 0);
	put_rows(db, 3);
	statedb_close(db);
	assert_int_equal(statedb_open(&db, dir, "n"), 0);
	assert_int_equal(rows(db), 3);
	statedb_close(db);
	free(path);
	free(aside);
	scratch_remove(dir);
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *s = NULL;

	assert_int_equal(sqlite3_open(path, &s), SQLITE_OK);
	assert_int_equal(sqlite3_exec(s, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(s);
}

static void test_unknown_version_is_rebuilt(void **state)
{
	char *dir = scratch_new("statedb"), *path = cst_sprintf("%s/n.db", dir);
	struct statedb *db = NULL;

	(void)state;
	assert_int_equal(statedb_open(&db, dir, "n"), 0);
	put_rows(db, 2);
	statedb_close(db);
	exec_sql(path, "PRAGMA user_version = 99");
	assert_int_equal(statedb_open(&db, dir, "n"), 0);
	assert_int_equal(rows(db), 0);
	statedb_close(db);
	free(path);
	scratch_remove(dir);
}

/* A row changed behind SQLite's back (valid pages, wrong bytes) is refused. */
static void test_row_checksum(void **state)
{
	char *dir = scratch_new("statedb"), *path = cst_sprintf("%s/n.db", dir);
	struct statedb *db = NULL;
	struct statedb_key k = key(1);
	unsigned char md5[16];
	int bad = 0;

	(void)state;
	assert_int_equal(statedb_open(&db, dir, "n"), 0);
	put_rows(db, 2);
	statedb_close(db);
	exec_sql(path, "UPDATE file_md5 SET md5 = x'00112233445566778899aabbccddeeff' WHERE ino = 1");
	assert_int_equal(statedb_open(&db, dir, "n"), 0);
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 0);
	assert_int_equal(bad, 1);
	k = key(2);
	bad = 0;
	assert_int_equal(statedb_lookup(db, &k, md5, &bad), 1);
	assert_int_equal(bad, 0);
	statedb_close(db);
	free(path);
	scratch_remove(dir);
}

static void test_unusable_dir(void **state)
{
	char *dir = scratch_new("statedb"), *sdir = cst_sprintf("%s/file/state", dir);
	struct statedb *db = (struct statedb *)1;

	(void)state;
	scratch_write(dir, "file", "x", 1);
	assert_int_not_equal(statedb_open(&db, sdir, "n"), 0);
	assert_null(db);
	assert_non_null(strstr(cst_error_msg(), sdir));
	free(sdir);
	scratch_remove(dir);
}

#define CF "t1-0123456789abcdef0123456789abcdef"

static void snap_file_of(struct snap_file *f, const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	memset(f, 0, sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->ctime_ns = 12345;
}

/* The walk sees live files of tables and index dirs, not snapshots/ or
 * backups/, and hands each snapshot file the ctime of its live inode. */
static void test_live_ctimes(void **state)
{
	char *dir = scratch_new("livectime");
	char *p_live = cst_sprintf("%s/ks/%s/nb-1-big-Data.db", dir, CF);
	char *p_idx = cst_sprintf("%s/ks/%s/.idx/nb-1-big-Data.db", dir, CF);
	char *p_snap = cst_sprintf("%s/ks/%s/snapshots/old/nb-9-big-Data.db", dir, CF);
	char *p_bad = cst_sprintf("%s/ks/not-a-table/nb-1-big-Data.db", dir);
	struct snap_file files[4];
	struct snapshot snap;
	struct live_ctimes *lc = NULL;
	struct stat st;

	(void)state;
	scratch_write(dir, "ks/" CF "/nb-1-big-Data.db", "live", 4);
	scratch_write(dir, "ks/" CF "/.idx/nb-1-big-Data.db", "index", 5);
	scratch_write(dir, "ks/" CF "/snapshots/old/nb-9-big-Data.db", "snap", 4);
	scratch_write(dir, "ks/not-a-table/nb-1-big-Data.db", "odd", 3);
	snap_file_of(&files[0], p_live);
	snap_file_of(&files[1], p_idx);
	snap_file_of(&files[2], p_snap);
	snap_file_of(&files[3], p_bad);
	memset(&snap, 0, sizeof(snap));
	snap.files = files;
	snap.n_files = 4;
	assert_int_equal(live_ctimes_collect(&lc, dir), 0);
	live_ctimes_apply(lc, &snap);
	assert_int_equal(lstat(p_live, &st), 0);
	assert_true(files[0].live_ctime_ns == (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
	assert_int_equal(lstat(p_idx, &st), 0);
	assert_true(files[1].live_ctime_ns == (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec);
	assert_true(files[2].live_ctime_ns == -1);
	assert_true(files[3].live_ctime_ns == -1);
	live_ctimes_free(lc);
	live_ctimes_apply(NULL, &snap);
	assert_true(files[0].live_ctime_ns == -1);
	free(p_live);
	free(p_idx);
	free(p_snap);
	free(p_bad);
	scratch_remove(dir);
}

static int64_t ctime_ns_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
}

/* New bytes in place, mtime put back; loops until the ctime moved (the
 * kernel's ctime clock ticks in milliseconds). */
static void rewrite_in_place(const char *path)
{
	int64_t before = ctime_ns_of(path);
	struct stat st;
	struct timespec ts[2];
	int fd;

	assert_int_equal(lstat(path, &st), 0);
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	assert_true((fd = open(path, O_WRONLY)) >= 0);
	assert_int_equal(pwrite(fd, "Z", 1, 0), 1);
	do
		assert_int_equal(futimens(fd, ts), 0);
	while (ctime_ns_of(path) == before);
	close(fd);
}

static size_t index_of(const struct snapshot *snap, const char *rel)
{
	size_t i;

	for (i = 0; i < snap->n_files; i++)
		if (strcmp(snap->files[i].rel, rel) == 0)
			return i;
	fail_msg("%s not in the snapshot", rel);
	return 0;
}

/* One run records; the next trusts only what nobody touched. */
static void test_hashcache_rules(void **state)
{
	char *dir = scratch_new("hashcache"), *data = cst_path_join(dir, "data"), *ini, *text;
	char *live2 = cst_sprintf("%s/ks/%s/nb-2-big-Data.db", data, CF);
	const char *md5_hex = "00112233445566778899aabbccddeeff";
	struct config *cfg = NULL;
	struct snapshot *snap = NULL;
	struct hashcache *hc = NULL;
	struct hashcache_counts n;
	unsigned char md5[16];
	size_t i, one, two;

	(void)state;
	scratch_write(data, "ks/" CF "/nb-1-big-Data.db", "DATA-ONE", 8);
	scratch_write(data, "ks/" CF "/nb-2-big-Data.db", "DATA-TWO", 8);
	scratch_write(data, "ks/" CF "/.idx/nb-1-big-Data.db", "INDEX", 5);
	text = cst_sprintf("[cassandra]\ndata_dir = %s\nsnapshot_mode = hardlink\n[storage]\n"
			   "base_path = %s/store\nfqdn = n1\nstate_dir = %s/state\n", data, dir, dir);
	scratch_write(dir, "c.ini", text, strlen(text));
	ini = cst_path_join(dir, "c.ini");
	assert_int_equal(config_load(&cfg, ini), 0);

	/* run 1: nothing cached; every file's MD5 recorded after the clear */
	assert_int_equal(snapshot_take(&snap, cfg, "r1"), 0);
	assert_int_equal(snap->n_files, 3);
	for (i = 0; i < snap->n_files; i++)
		assert_true(snap->files[i].live_ctime_ns > 0);
	assert_int_equal(hashcache_open(&hc, cfg, snap, 0), 0);
	for (i = 0; i < snap->n_files; i++) {
		assert_int_equal(hashcache_trusted(hc, i, md5), 0);
		hashcache_result(hc, i, md5_hex, 1);
	}
	hashcache_check_snapshot(hc);
	assert_int_equal(snapshot_clear(snap, cfg), 0);
	hashcache_save(hc, cfg);
	hashcache_free(hc);
	snapshot_free(snap);

	/* run 2: all trusted; file two is changed after its snapshot was listed */
	assert_int_equal(snapshot_take(&snap, cfg, "r2"), 0);
	assert_int_equal(hashcache_open(&hc, cfg, snap, 0), 0);
	for (i = 0; i < snap->n_files; i++) {
		assert_int_equal(hashcache_trusted(hc, i, md5), 1);
		assert_memory_equal(md5, "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff", 16);
		hashcache_result(hc, i, md5_hex, 0);
	}
	hashcache_counts(hc, &n);
	assert_int_equal(n.trusted_files, 3);
	assert_int_equal(n.hashed_files, 0);
	rewrite_in_place(live2);	/* same inode as the snapshot's file */
	hashcache_check_snapshot(hc);
	assert_int_equal(snapshot_clear(snap, cfg), 0);
	hashcache_save(hc, cfg);
	hashcache_free(hc);
	snapshot_free(snap);

	/* run 3: file two has no row; --verify-hashes trusts nothing */
	assert_int_equal(snapshot_take(&snap, cfg, "r3"), 0);
	one = index_of(snap, "nb-1-big-Data.db");
	two = index_of(snap, "nb-2-big-Data.db");
	assert_int_equal(hashcache_open(&hc, cfg, snap, 0), 0);
	assert_int_equal(hashcache_trusted(hc, one, md5), 1);
	assert_int_equal(hashcache_trusted(hc, two, md5), 0);
	hashcache_free(hc);
	assert_int_equal(hashcache_open(&hc, cfg, snap, 1), 0);
	assert_int_equal(hashcache_trusted(hc, one, md5), 0);
	memset(md5, 0x5a, sizeof(md5));
	hashcache_hashed(hc, one, md5);	/* the file says otherwise: counted */
	hashcache_counts(hc, &n);
	assert_int_equal(n.state, HASHCACHE_VERIFY);
	assert_int_equal(n.hashed_files, 1);
	assert_int_equal(n.disagreed, 1);
	hashcache_free(hc);
	assert_int_equal(snapshot_clear(snap, cfg), 0);
	snapshot_free(snap);

	config_free(cfg);
	free(ini);
	free(text);
	free(live2);
	free(data);
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_and_modes),
		cmocka_unit_test(test_garbage_is_rebuilt),
		cmocka_unit_test(test_unknown_version_is_rebuilt),
		cmocka_unit_test(test_row_checksum),
		cmocka_unit_test(test_unusable_dir),
		cmocka_unit_test(test_live_ctimes),
		cmocka_unit_test(test_hashcache_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
