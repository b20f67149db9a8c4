/* Unit tests of the agent's stages: layout (the name rules that guard the
 * disk), snapshot (hard links, enumeration, clearing) and config. */
#define _GNU_SOURCE
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

#include "config.h"
#include "layout.h"
#include "scratch.h"
#include "snapshot.h"
#include "storage.h"
#include "uploads.h"
#include "util.h"
#include <pthread.h>
#include <time.h>

#define CF "t1-0123456789abcdef0123456789abcdef"

static void test_rel_rules(void **state)
{
	(void)state;
	assert_true(layout_rel_is_valid("nb-1-big-Data.db"));
	assert_true(layout_rel_is_valid(".idx_v/nb-1-big-Data.db"));
	assert_true(layout_rel_is_valid("nb-3gll_1kke_3qdyo2i4kzfpt3cqcy-big-Data.db"));
	assert_false(layout_rel_is_valid(""));
	assert_false(layout_rel_is_valid(".."));
	assert_false(layout_rel_is_valid("../x"));
	assert_false(layout_rel_is_valid("a/b"));
	assert_false(layout_rel_is_valid(".idx/../x"));
	assert_false(layout_rel_is_valid(".idx/.."));
	assert_false(layout_rel_is_valid(".idx/a/b"));
	assert_false(layout_rel_is_valid("/etc/passwd"));
	assert_false(layout_rel_is_valid(".hidden"));
	assert_false(layout_rel_is_valid("@b1"));
	assert_false(layout_rel_is_valid("tmp-nb-1-big-Data.db"));
	assert_false(layout_rel_is_valid("nb_txn_compaction_1.log"));
	assert_false(layout_rel_is_valid("x\ny"));
	assert_true(layout_table_dir_is_valid(CF));
	assert_false(layout_table_dir_is_valid("t1-0123456789ABCDEF0123456789abcdef"));
	assert_false(layout_table_dir_is_valid("t1-0123"));
	assert_false(layout_table_dir_is_valid("../t1-0123456789abcdef0123456789abcdef"));
	assert_false(layout_table_dir_is_valid("-0123456789abcdef0123456789abcdef"));
	assert_true(layout_keyspace_is_valid("system_schema"));
	assert_false(layout_keyspace_is_valid(".."));
	assert_false(layout_keyspace_is_valid("a/b"));
	assert_false(layout_keyspace_is_valid(""));
}

static void rel_of(const char *key, const char *want)
{
	char *rel = NULL;
	int rc = layout_rel_from_key(&rel, key, "pre/fix", "n1", "b1", "ks", CF);

	if (want == NULL) {
		assert_int_equal(rc, CST_EINVALID);
		assert_null(rel);
	} else {
		assert_int_equal(rc, 0);
		assert_string_equal(rel, want);
	}
	free(rel);
}

static void test_rel_from_key(void **state)
{
	(void)state;
	rel_of("pre/fix/n1/data/ks/" CF "/nb-1-big-Data.db", "nb-1-big-Data.db");
	rel_of("pre/fix/n1/data/ks/" CF "/@b0/nb-1-big-Data.db", "nb-1-big-Data.db");
	rel_of("pre/fix/n1/data/ks/" CF "/.i/nb-1-big-Data.db", ".i/nb-1-big-Data.db");
	rel_of("pre/fix/n1/b1/data/ks/" CF "/nb-1-big-Data.db", "nb-1-big-Data.db");
	/* another backup's full folder, another node, another table, escapes */
	rel_of("pre/fix/n1/b2/data/ks/" CF "/nb-1-big-Data.db", NULL);
	rel_of("pre/fix/n2/data/ks/" CF "/nb-1-big-Data.db", NULL);
	rel_of("pre/fix/n1/data/ks/t2-0123456789abcdef0123456789abcdef/x", NULL);
	rel_of("pre/fix/n1/data/ks/" CF "/../../../../etc/passwd", NULL);
	rel_of("pre/fix/n1/data/ks/" CF "/@b0/../x", NULL);
	rel_of("pre/fix/n1/data/ks/" CF "/@b0", NULL);
	rel_of("pre/fix/n1/data/ks/" CF "/", NULL);
	rel_of("n1/data/ks/" CF "/nb-1-big-Data.db", NULL);
}

static void test_markers(void **state)
{
	struct index_marker m;
	char *name;

	(void)state;
	name = layout_finished_name("host_with_underscores.example", 1700000000);
	assert_string_equal(name, "finished_host_with_underscores.example_1700000000.timestamp");
	assert_int_equal(layout_parse_marker(&m, name), 0);
	assert_true(m.finished);
	assert_false(m.counted);
	assert_string_equal(m.fqdn, "host_with_underscores.example");
	assert_int_equal(m.ts, 1700000000);
	assert_int_equal(layout_marker_of(&m, name, "host_with_underscores.example"), 0);
	assert_false(m.counted);
	assert_int_equal(m.ts, 1700000000);
	free(name);
	/* the old form, read against its node's name (which ends in digits) */
	assert_int_equal(layout_marker_of(&m, "finished_node_7_1700000000_42_123456789.timestamp",
					  "node_7"), 0);
	assert_true(m.finished);
	assert_true(m.counted);
	assert_string_equal(m.fqdn, "node_7");
	assert_int_equal(m.ts, 1700000000);
	assert_int_equal(m.files, 42);
	assert_int_equal(m.bytes, 123456789);
	/* Medusa's form of node "node_7_1" against node "node_7": two groups */
	assert_int_equal(layout_marker_of(&m, "finished_node_7_1_1700000000.timestamp", "node_7"),
			 CST_EINVALID);
	assert_int_equal(layout_marker_of(&m, "finished_node_7_1_1700000000.timestamp", "node_7_1"), 0);
	assert_false(m.counted);
	assert_int_equal(layout_marker_of(&m, "started_node_7_5_6.timestamp", "node_7"), CST_EINVALID);
	assert_int_equal(layout_marker_of(&m, "started_node_7_5.timestamp", "node_7"), 0);
	assert_int_equal(layout_marker_of(&m, "started_node_75.timestamp", "node_7"), CST_EINVALID);
	assert_int_equal(layout_marker_of(&m, "finished_node_7__5.timestamp", "node_7"), CST_EINVALID);
	name = layout_started_name("10.0.0.1", 5);
	assert_int_equal(layout_parse_marker(&m, name), 0);
	assert_false(m.finished);
	assert_string_equal(m.fqdn, "10.0.0.1");
	assert_int_equal(m.ts, 5);
	free(name);
	assert_int_equal(layout_parse_marker(&m, "started_n1.timestamp"), CST_EINVALID);
	assert_int_equal(layout_parse_marker(&m, "finished_n1.timestamp"), CST_EINVALID);
	assert_int_equal(layout_parse_marker(&m, "started__5.timestamp"), CST_EINVALID);
	assert_int_equal(layout_parse_marker(&m, "started_n1_5.json"), CST_EINVALID);
	assert_int_equal(layout_parse_marker(&m, "manifest_n1.json"), CST_EINVALID);
	assert_int_equal(layout_parse_marker(&m, "started_n1_99999999999999999999.timestamp"), CST_EINVALID);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(config_backup_name_is_valid("20261122031500"));
	assert_true(config_backup_name_is_valid("nightly-1.a_b"));
	assert_false(config_backup_name_is_valid("data"));
	assert_false(config_backup_name_is_valid("index"));
	assert_false(config_backup_name_is_valid("-x"));
	assert_false(config_backup_name_is_valid("a/b"));
	assert_false(config_backup_name_is_valid(".."));
	assert_false(config_backup_name_is_valid("a b"));
	assert_true(config_fqdn_is_valid("cass-1.dc1.example.com"));
	assert_true(config_fqdn_is_valid("127.0.0.1:7000"));
	assert_false(config_fqdn_is_valid("a/b"));
	assert_false(config_fqdn_is_valid(".hidden"));
	assert_false(config_fqdn_is_valid(""));
}

/* ---- snapshot ------------------------------------------------------------- */

struct snapfix {
	char *dir, *data, *ini;
	struct config *cfg;
};

static int snap_setup(void **state)
{
	struct snapfix *f = calloc(1, sizeof(*f));
	char *text;

	f->dir = scratch_new("snap");
	f->data = cst_path_join(f->dir, "data");
	scratch_write(f->data, "ks/" CF "/nb-1-big-Data.db", "DATA1", 5);
	scratch_write(f->data, "ks/" CF "/nb-1-big-TOC.txt", "toc", 3);
	scratch_write(f->data, "ks/" CF "/nb-2-big-Data.db", "", 0);
	scratch_write(f->data, "ks/" CF "/tmp-nb-3-big-Data.db", "x", 1);
	scratch_write(f->data, "ks/" CF "/tmplink-nb-3-big-Index.db", "x", 1);
	scratch_write(f->data, "ks/" CF "/nb-4-big-Index.db.tmp", "x", 1);
	scratch_write(f->data, "ks/" CF "/nb_txn_compaction_0a1b.log", "x", 1);
	scratch_write(f->data, "ks/" CF "/.idx1/nb-1-big-Data.db", "IDX", 3);
	scratch_write(f->data, "ks/" CF "/snapshots/other/nb-0-big-Data.db", "old", 3);
	scratch_write(f->data, "ks/" CF "/backups/nb-0-big-Data.db", "inc", 3);
	scratch_write(f->data, "ks/not-a-table/file", "x", 1);
	scratch_write(f->data, "ks2/t2-ffffffffffffffffffffffffffffffff/me-1-big-Data.db", "ME", 2);
	scratch_write(f->data, "stray.txt", "x", 1);
	f->ini = cst_path_join(f->dir, "c.ini");
	text = cst_sprintf("[cassandra]\ndata_dir = %s\nsnapshot_mode = hardlink\n"
			   "[storage]\nbase_path = %s/store\nfqdn = n1\n", f->data, f->dir);
	scratch_write(f->dir, "c.ini", text, strlen(text));
	free(text);
	assert_int_equal(config_load(&f->cfg, f->ini), 0);
	*state = f;
	return 0;
}

static int snap_teardown(void **state)
{
	struct snapfix *f = *state;

	config_free(f->cfg);
	free(f->data);
	free(f->ini);
	scratch_remove(f->dir);
	free(f);
	return 0;
}

static int exists(const char *data, const char *rel)
{
	char *p = cst_path_join(data, rel);
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static void test_hardlink_snapshot(void **state)
{
	struct snapfix *f = *state;
	struct snapshot *s = NULL;
	struct stat a, b;
	char *p1, *p2, *man = NULL, path[4096];
	size_t i, len;

	assert_int_equal(snapshot_take(&s, f->cfg, "t1"), 0);
	assert_non_null(s);
	/* exactly the live components, sorted: .idx1 sorts first */
	assert_int_equal(s->n_files, 5);
	assert_string_equal(s->files[0].rel, ".idx1/nb-1-big-Data.db");
	assert_string_equal(s->files[1].rel, "nb-1-big-Data.db");
	assert_string_equal(s->files[2].rel, "nb-1-big-TOC.txt");
	assert_string_equal(s->files[3].rel, "nb-2-big-Data.db");
	assert_int_equal(s->files[3].size, 0);
	assert_string_equal(s->files[4].keyspace, "ks2");
	assert_string_equal(s->files[4].table, "t2-ffffffffffffffffffffffffffffffff");
	for (i = 0; i < 4; i++) {
		assert_string_equal(s->files[i].keyspace, "ks");
		assert_string_equal(s->files[i].table, CF);
	}
	/* hard links, not copies */
	p1 = cst_path_join(f->data, "ks/" CF "/nb-1-big-Data.db");
	p2 = cst_path_join(f->data, "ks/" CF "/snapshots/t1/nb-1-big-Data.db");
	assert_int_equal(stat(p1, &a), 0);
	assert_int_equal(stat(p2, &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(snapshot_file_path(path, sizeof(path), &s->files[1]), 0);
	assert_string_equal(path, p2);
	free(p1);
	free(p2);
	assert_false(exists(f->data, "ks/" CF "/snapshots/t1/tmp-nb-3-big-Data.db"));
	assert_false(exists(f->data, "ks/" CF "/snapshots/t1/nb_txn_compaction_0a1b.log"));
	/* Cassandra's snapshot manifest lists the Data.db files */
	p1 = cst_path_join(f->data, "ks/" CF "/snapshots/t1/manifest.json");
	assert_int_equal(cst_read_file(&man, &len, p1, 4096), 0);
	assert_string_equal(man, "{\"files\":[\".idx1/nb-1-big-Data.db\",\"nb-1-big-Data.db\",\"nb-2-big-Data.db\"]}\n");
	free(man);
	free(p1);
	assert_null(s->schema);

	/* the same tag again (a killed run's: the caller holds the node's lock)
	 * is replaced by a fresh snapshot of the same files */
	{
		struct snapshot *again = NULL;
		char *gone = cst_path_join(f->data, "ks/" CF "/snapshots/t1/left-by-killed-run");

		assert_non_null(gone);
		assert_int_equal(cst_write_file_atomic(gone, "x", 1, 0644), 0);
		assert_int_equal(snapshot_take(&again, f->cfg, "t1"), 0);
		assert_non_null(again);
		assert_int_equal(again->n_files, s->n_files);
		assert_false(exists(f->data, "ks/" CF "/snapshots/t1/left-by-killed-run"));
		assert_true(exists(f->data, "ks/" CF "/snapshots/t1/nb-1-big-Data.db"));
		snapshot_free(again);
		free(gone);
	}
	assert_int_equal(snapshot_clear(s, f->cfg), 0);
	assert_false(exists(f->data, "ks/" CF "/snapshots/t1"));
	assert_true(exists(f->data, "ks/" CF "/snapshots/other/nb-0-big-Data.db"));
	assert_false(exists(f->data, "ks2/t2-ffffffffffffffffffffffffffffffff/snapshots"));
	assert_true(exists(f->data, "ks/" CF "/nb-1-big-Data.db"));
	snapshot_free(s);
}

static void test_schema_collected(void **state)
{
	struct snapfix *f = *state;
	struct snapshot *s = NULL;

	/* a nodetool-made snapshot carries schema.cql per table: simulate one by
	 * running the fake nodetool, as the real command would be run */
	free(f->cfg->nodetool_cmd);
	f->cfg->nodetool_cmd = cst_sprintf("%s/tests/support/fake-nodetool %s", CASSETTE_SRC, f->data);
	f->cfg->snapshot_mode = SNAPSHOT_NODETOOL;
	assert_int_equal(snapshot_take(&s, f->cfg, "n1"), 0);
	assert_int_equal(s->n_files, 5);
	assert_non_null(s->schema);
	assert_non_null(strstr(s->schema, "CREATE TABLE IF NOT EXISTS ks.t1"));
	assert_non_null(strstr(s->schema, "CREATE TABLE IF NOT EXISTS ks2.t2"));
	assert_int_equal(snapshot_clear(s, f->cfg), 0);
	assert_false(exists(f->data, "ks/" CF "/snapshots/n1"));
	snapshot_free(s);
}

static void test_nodetool_failure_cleans_up(void **state)
{
	struct snapfix *f = *state;
	struct snapshot *s = NULL;

	free(f->cfg->nodetool_cmd);
	f->cfg->nodetool_cmd = cst_strdup("/bin/false");
	f->cfg->snapshot_mode = SNAPSHOT_NODETOOL;
	assert_int_equal(snapshot_take(&s, f->cfg, "x"), CST_ERROR);
	assert_null(s);
	assert_non_null(strstr(cst_error_msg(), "/bin/false snapshot"));
	free(f->cfg->nodetool_cmd);
	f->cfg->nodetool_cmd = cst_strdup("/nonexistent/nodetool");
	assert_int_equal(snapshot_take(&s, f->cfg, "x"), CST_ERROR);
	assert_null(s);
	/* one error line from the parent, with the exec's own reason */
	assert_non_null(strstr(cst_error_msg(), "cannot run /nonexistent/nodetool ([cassandra] "
			       "nodetool_cmd): No such file or directory"));
}

/* ---- uploads: the temp-file slots ----------------------------------------- */

struct reserver {
	struct uploads *u;
	int rc;
	volatile int got;
};

static void *reserve_thread(void *arg)
{
	struct reserver *r = arg;

	r->rc = uploads_reserve(r->u);
	r->got = 1;
	return NULL;
}

static void test_upload_slots(void **state)
{
	char *dir = scratch_new("uploads");
	struct storage_config cfg = { .provider = "local", .base_path = dir, .create = 1 };
	struct timespec pause = { 0, 200 * 1000 * 1000 };
	struct upload_batch b;
	struct storage *st = NULL;
	struct reserver r;
	pthread_t t;
	char *path;
	uint64_t size;

	(void)state;
	assert_int_equal(storage_open(&st, &cfg), 0);
	memset(&r, 0, sizeof(r));
	assert_int_equal(uploads_new(&r.u, st, 2, 2), 0);
	/* two slots: the third reservation waits until a file is sent */
	assert_int_equal(uploads_reserve(r.u), 0);
	assert_int_equal(uploads_reserve(r.u), 0);
	assert_int_equal(pthread_create(&t, NULL, reserve_thread, &r), 0);
	nanosleep(&pause, NULL);
	assert_int_equal(r.got, 0);	/* a slow thread cannot make this fail */
	scratch_write(dir, "tmp/one", "hello", 5);
	path = cst_path_join(dir, "tmp/one");
	uploads_batch_init(&b);
	assert_int_equal(uploads_put(r.u, &b, "obj/one", NULL, 0, path, NULL), 0);
	assert_int_equal(uploads_wait(&b), 0);
	pthread_join(t, NULL);
	assert_int_equal(r.got, 1);
	assert_int_equal(r.rc, 0);
	assert_int_equal(storage_head(st, "obj/one", &size), 0);
	assert_int_equal(size, 5);
	assert_false(exists(dir, "tmp/one"));	/* the pool deleted the temp file */
	/* NO_OVERWRITE onto a taken key lands on the variant, same bytes */
	scratch_write(dir, "tmp/two", "world", 5);
	assert_int_equal(uploads_put(r.u, &b, "obj/one", "obj/@v/one", STORAGE_PUT_NO_OVERWRITE,
				     cst_path_join(dir, "tmp/two"), NULL), 0);
	assert_int_equal(uploads_wait(&b), 0);
	assert_int_equal(b.used_variant, 1);
	assert_int_equal(storage_head(st, "obj/@v/one", &size), 0);
	/* a failed put is reported to the waiter with its message */
	scratch_write(dir, "tmp/three", "x", 1);
	assert_int_equal(uploads_put(r.u, &b, "obj/one", NULL, STORAGE_PUT_NO_OVERWRITE,
				     cst_path_join(dir, "tmp/three"), NULL), 0);
	assert_int_equal(uploads_wait(&b), CST_EEXISTS);
	assert_false(exists(dir, "tmp/three"));
	/* after cancel, waiting for a slot fails at once */
	uploads_release(r.u);
	uploads_release(r.u);
	uploads_cancel(r.u);
	assert_int_equal(uploads_reserve(r.u), CST_ERROR);
	uploads_batch_destroy(&b);
	uploads_free(r.u);
	storage_close(st);
	scratch_remove(dir);
}

/* backup-cluster's two phases: prepare leaves the snapshot and the live
 * ctimes; open enumerates it with those ctimes, as snapshot_take would. */
static void test_snapshot_phases(void **state)
{
	struct snapfix *f = *state;
	struct snapshot *s = (struct snapshot *)1, *ref = NULL;
	char *ctimes = cst_path_join(f->dir, "t2.ctimes");
	size_t n = 0, i;

	assert_int_equal(snapshot_open(&s, f->cfg, "t2", ctimes), CST_ENOTFOUND);
	assert_null(s);
	assert_non_null(strstr(cst_error_msg(), "--snapshot-only"));
	assert_int_equal(snapshot_prepare(f->cfg, "t2", ctimes, &n), 0);
	assert_int_equal(n, 2);
	assert_true(exists(f->data, "ks/" CF "/snapshots/t2/nb-1-big-Data.db"));
	assert_int_equal(access(ctimes, F_OK), 0);
	/* a first phase run again replaces its own snapshot */
	assert_int_equal(snapshot_prepare(f->cfg, "t2", ctimes, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(snapshot_open(&s, f->cfg, "t2", ctimes), 0);
	assert_int_equal(s->n_files, 5);
	for (i = 0; i < s->n_files; i++)
		assert_true(s->files[i].live_ctime_ns > 0);
	/* the same files as one snapshot_take of the same data */
	assert_int_equal(snapshot_take(&ref, f->cfg, "t3"), 0);
	assert_int_equal(ref->n_files, s->n_files);
	for (i = 0; i < s->n_files; i++) {
		assert_string_equal(ref->files[i].rel, s->files[i].rel);
		assert_true(ref->files[i].ino == s->files[i].ino);
	}
	assert_int_equal(snapshot_clear(ref, f->cfg), 0);
	snapshot_free(ref);
	assert_int_equal(snapshot_clear(s, f->cfg), 0);
	snapshot_free(s);
	assert_false(exists(f->data, "ks/" CF "/snapshots/t2"));
	/* a ctimes file that is not ours: the ctimes are unknown, no failure */
	scratch_write(f->dir, "t2.ctimes", "garbage", 7);
	assert_int_equal(snapshot_prepare(f->cfg, "t4", ctimes, &n), 0);
	scratch_write(f->dir, "t2.ctimes", "garbage", 7);
	assert_int_equal(snapshot_open(&s, f->cfg, "t4", ctimes), 0);
	for (i = 0; i < s->n_files; i++)
		assert_true(s->files[i].live_ctime_ns == -1);
	assert_int_equal(snapshot_clear(s, f->cfg), 0);
	snapshot_free(s);
	free(ctimes);
}

/* A backup-cluster killed between its phases: the next run clears the
 * snapshots it left (those with a ctimes file), never another one. */
static void test_abandoned_snapshots(void **state)
{
	struct snapfix *f = *state;
	char *a = cst_path_join(f->dir, "p-cassette-a.ctimes");
	char *b = cst_path_join(f->dir, "p-cassette-b.ctimes");
	char *gone = cst_path_join(f->dir, "p-cassette-gone.ctimes");
	char *foreign = cst_path_join(f->dir, "p-x.ctimes");
	size_t n = 9;

	assert_int_equal(snapshot_prepare(f->cfg, "cassette-a", a, &n), 0);
	assert_int_equal(snapshot_prepare(f->cfg, "cassette-b", b, &n), 0);
	scratch_write(f->dir, "p-cassette-gone.ctimes", "x", 1);
	scratch_write(f->dir, "p-x.ctimes", "x", 1);
	assert_int_equal(snapshot_clear_abandoned(f->cfg, f->dir, "p-", "cassette-b", &n), 0);
	assert_int_equal(n, 1);
	assert_false(exists(f->data, "ks/" CF "/snapshots/cassette-a"));
	assert_false(exists(f->data, "ks2/t2-ffffffffffffffffffffffffffffffff/snapshots/cassette-a"));
	assert_true(exists(f->data, "ks/" CF "/snapshots/cassette-b/nb-1-big-Data.db"));
	assert_true(exists(f->data, "ks/" CF "/snapshots/other/nb-0-big-Data.db"));
	assert_int_equal(access(a, F_OK), -1);
	assert_int_equal(access(b, F_OK), 0);
	assert_int_equal(access(gone, F_OK), -1);	/* its snapshot was gone already */
	assert_int_equal(access(foreign, F_OK), 0);	/* not one of our tags */
	/* nothing left: a second pass clears nothing */
	assert_int_equal(snapshot_clear_abandoned(f->cfg, f->dir, "p-", "cassette-b", &n), 0);
	assert_int_equal(n, 0);
	free(a);
	free(b);
	free(gone);
	free(foreign);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rel_rules),
		cmocka_unit_test(test_rel_from_key),
		cmocka_unit_test(test_markers),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_hardlink_snapshot, snap_setup, snap_teardown),
		cmocka_unit_test_setup_teardown(test_schema_collected, snap_setup, snap_teardown),
		cmocka_unit_test_setup_teardown(test_nodetool_failure_cleans_up, snap_setup, snap_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_phases, snap_setup, snap_teardown),
		cmocka_unit_test_setup_teardown(test_abandoned_snapshots, snap_setup, snap_teardown),
		cmocka_unit_test(test_upload_slots),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
