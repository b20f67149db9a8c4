/* history: what a differential run may reuse, from manifests on real storage. */
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
#include <sqlite3.h>

#include "history.h"
#include "layout.h"
#include "manifest.h"
#include "scratch.h"
#include "storage.h"
#include "util.h"

#define FQDN "n1"
#define CF "t-0123456789abcdef0123456789abcdef"
#define POOL FQDN "/data/ks/" CF "/"
#define MD5_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MD5_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define KEY_1 "1111111111111111"
#define KEY_2 "2222222222222222"

static void object(struct manifest_object *o, const char *path, const char *md5, uint64_t size,
		   const char *key_id)
{
	memset(o, 0, sizeof(*o));
	o->path = (char *)path;
	strcpy(o->md5, MD5_B);
	o->size = size + 100;
	strcpy(o->source_md5, md5);
	o->source_size = size;
	if (key_id != NULL) {
		memset(o->salt, 'c', 64);
		strcpy(o->key_id, key_id);
	}
}

/* A backup of node n1: its manifest, and index markers (finished or not). */
static void put_backup_cf(struct storage *st, const char *cf, const char *name, int64_t ts,
			  int finished, const struct manifest_object *objs, size_t n)
{
	struct manifest *m = NULL;
	char *json, *key, *marker;
	size_t i, len;

	assert_int_equal(manifest_new(&m), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(manifest_add(m, "ks", cf, &objs[i]), 0);
	assert_int_equal(manifest_dump(m, &json, &len), 0);
	key = layout_meta_key("", FQDN, name, "manifest.json");
	assert_int_equal(storage_put_buf(st, key, json, len, 0), 0);
	free(key);
	marker = layout_started_name(FQDN, ts);
	key = layout_index_key("", name, marker);
	assert_int_equal(storage_put_buf(st, key, "1", 1, 0), 0);
	free(key);
	free(marker);
	if (finished) {
		marker = layout_finished_name(FQDN, ts + 1);
		(void)n;
		key = layout_index_key("", name, marker);
		assert_int_equal(storage_put_buf(st, key, "1", 1, 0), 0);
		free(key);
		free(marker);
	}
	/* the index copy, whose listed size keys the cache */
	marker = cst_sprintf("manifest_%s.json", FQDN);
	key = layout_index_key("", name, marker);
	assert_int_equal(storage_put_buf(st, key, json, len, 0), 0);
	free(key);
	free(marker);
	free(json);
	manifest_free(m);
}

static void put_backup(struct storage *st, const char *name, int64_t ts, int finished,
		       const struct manifest_object *objs, size_t n)
{
	put_backup_cf(st, CF, name, ts, finished, objs, n);
}

static void counts_are(const struct history *h, size_t cached, size_t read, size_t damaged)
{
	struct history_counts c;

	history_counts(h, &c);
	assert_int_equal(c.manifests_cached, cached);
	assert_int_equal(c.manifests_read, read);
	assert_int_equal(c.manifests_damaged, damaged);
}

static int encrypted_with(void *arg, const struct manifest_object *o)
{
	return o->salt[0] != '\0' && strcmp(o->key_id, arg) == 0;
}

static int plaintext(void *arg, const struct manifest_object *o)
{
	(void)arg;
	return o->salt[0] == '\0';
}

static void test_history(void **state)
{
	char *dir = scratch_new("history");
	struct storage_config cfg = { .provider = "local", .base_path = dir, .create = 1 };
	struct manifest_object b1[4], b2[2], b3[1], b4[1];
	const struct manifest_rec *r;
	struct manifest_object back;
	struct storage *st = NULL;
	struct history *h = NULL;

	(void)state;
	assert_int_equal(storage_open(&st, &cfg), 0);
	object(&b1[0], POOL "nb-1-big-Data.db", MD5_A, 10, KEY_1);
	object(&b1[1], POOL "nb-2-big-Data.db", MD5_A, 20, NULL);
	object(&b1[2], "elsewhere/nb-3-big-Data.db", MD5_A, 30, KEY_1);	/* not this node's */
	object(&b1[3], POOL "nb-4-big-Data.db", MD5_A, 40, KEY_2);
	put_backup(st, "b1", 1000, 1, b1, 4);
	/* the same file and content again under b2's variant key: the newer one wins */
	object(&b2[0], POOL "@b2/nb-1-big-Data.db", MD5_A, 10, KEY_1);
	object(&b2[1], POOL "nb-1-big-Summary.db", MD5_B, 5, KEY_1);
	put_backup(st, "b2", 2000, 1, b2, 2);
	/* a full backup's own object is never reused */
	object(&b3[0], FQDN "/b3/data/ks/" CF "/nb-5-big-Data.db", MD5_A, 50, KEY_1);
	put_backup(st, "b3", 3000, 1, b3, 1);
	/* an unfinished backup is not history */
	object(&b4[0], POOL "nb-6-big-Data.db", MD5_A, 60, KEY_1);
	put_backup(st, "b4", 4000, 0, b4, 1);

	assert_int_equal(history_load(&h, st, "", FQDN), 0);
	assert_int_equal(history_backup_count(h), 3);
	r = history_find(h, "ks", CF, "nb-1-big-Data.db", 10, MD5_A, encrypted_with, KEY_1);
	assert_non_null(r);
	assert_string_equal(r->path, POOL "@b2/nb-1-big-Data.db");
	manifest_rec_unpack(&back, r);	/* the whole entry, as recorded */
	assert_string_equal(back.path, b2[0].path);
	back.path = b2[0].path;
	assert_memory_equal(&back, &b2[0], sizeof(back));
	/* size only, wrong size, wrong MD5, wrong key, plaintext */
	assert_non_null(history_find(h, "ks", CF, "nb-1-big-Data.db", 10, NULL, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks", CF, "nb-1-big-Data.db", 11, NULL, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks", CF, "nb-1-big-Data.db", 10, MD5_B, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks", CF, "nb-1-big-Data.db", 10, MD5_A, encrypted_with, KEY_2));
	assert_null(history_find(h, "ks", CF, "nb-2-big-Data.db", 20, MD5_A, encrypted_with, KEY_1));
	r = history_find(h, "ks", CF, "nb-2-big-Data.db", 20, MD5_A, plaintext, NULL);
	assert_non_null(r);
	assert_null(r->path);	/* at its own pool key: the caller derives it */
	assert_non_null(history_find(h, "ks", CF, "nb-4-big-Data.db", 40, MD5_A, encrypted_with, KEY_2));
	assert_non_null(history_find(h, "ks", CF, "nb-1-big-Summary.db", 5, MD5_B, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks", CF, "nb-3-big-Data.db", 30, MD5_A, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks", CF, "nb-5-big-Data.db", 50, MD5_A, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks", CF, "nb-6-big-Data.db", 60, MD5_A, encrypted_with, KEY_1));
	assert_null(history_find(h, "ks2", CF, "nb-1-big-Data.db", 10, MD5_A, encrypted_with, KEY_1));
	/* every pool key stays taken, the replaced older one too */
	assert_true(history_key_taken(h, POOL "nb-1-big-Data.db"));
	assert_true(history_key_taken(h, POOL "@b2/nb-1-big-Data.db"));
	assert_true(history_key_taken(h, POOL "nb-2-big-Data.db"));
	assert_false(history_key_taken(h, POOL "nb-6-big-Data.db"));
	assert_false(history_key_taken(h, POOL "nb-9-big-Data.db"));
	history_free(h);
	h = NULL;

	/* a damaged manifest is skipped and flagged: its records are not
	 * candidates, the others still are */
	{
		char *key = layout_meta_key("", FQDN, "b2", "manifest.json");

		assert_int_equal(storage_put_buf(st, key, "[{\"keyspace\":", 13, 0), 0);
		free(key);
	}
	assert_int_equal(history_load(&h, st, "", FQDN), 0);
	counts_are(h, 0, 2, 1);
	r = history_find(h, "ks", CF, "nb-1-big-Data.db", 10, MD5_A, encrypted_with, KEY_1);
	assert_non_null(r);
	assert_null(r->path);	/* b1's own key again, not b2's variant */
	assert_null(history_find(h, "ks", CF, "nb-1-big-Summary.db", 5, MD5_B, encrypted_with, KEY_1));
	assert_non_null(history_find(h, "ks", CF, "nb-2-big-Data.db", 20, MD5_A, plaintext, NULL));
	history_free(h);
	h = NULL;
	{
		char *flag = NULL;

		assert_int_equal(storage_get_buf(st, "index/node_index/" FQDN "/b2/damaged", &flag, NULL,
						 4096), 0);
		assert_non_null(strstr(flag, "backup b2 manifest"));
		assert_non_null(strchr(flag, '\n'));
		free(flag);
		/* not in backup_index/, where Medusa's list-backups would assert on it */
		assert_int_equal(storage_get_buf(st, "index/backup_index/b2/damaged_" FQDN, &flag, NULL,
						 4096), CST_ENOTFOUND);
		cst_error_clear();
	}
	/* flagged: skipped without being read again */
	assert_int_equal(history_load(&h, st, "", FQDN), 0);
	counts_are(h, 0, 2, 1);
	history_free(h);
	history_free(NULL);
	storage_close(st);
	scratch_remove(dir);
}

/* A manifest valid up to a bad object contributes nothing: records merge
 * only once the whole manifest parsed. */
static void test_merge_whole(void **state)
{
	char *dir = scratch_new("history");
	struct storage_config cfg = { .provider = "local", .base_path = dir, .create = 1 };
	struct manifest_object b1[2];
	struct storage *st = NULL;
	struct history *h = NULL;
	char *key, *json = NULL, *bad;
	size_t len;
	uint64_t size;

	(void)state;
	assert_int_equal(storage_open(&st, &cfg), 0);
	object(&b1[0], POOL "nb-1-big-Data.db", MD5_A, 10, NULL);
	object(&b1[1], POOL "nb-2-big-Data.db", MD5_A, 20, NULL);
	put_backup(st, "b1", 1000, 1, b1, 2);
	key = layout_meta_key("", FQDN, "b1", "manifest.json");
	assert_int_equal(storage_get_buf(st, key, &json, &len, 1 << 20), 0);
	/* the second object's size becomes a string: object 1 parsed whole first */
	bad = strstr(json, "\"size\":120");
	assert_non_null(bad);
	memcpy(bad, "\"size\":\"12", 11);
	assert_int_equal(storage_put_buf(st, key, json, len, 0), 0);
	assert_int_equal(history_load(&h, st, "", FQDN), 0);
	counts_are(h, 0, 0, 1);
	assert_null(history_find(h, "ks", CF, "nb-1-big-Data.db", 10, MD5_A, plaintext, NULL));
	assert_null(history_find(h, "ks", CF, "nb-2-big-Data.db", 20, MD5_A, plaintext, NULL));
	assert_false(history_key_taken(h, POOL "nb-1-big-Data.db"));
	history_free(h);
	h = NULL;
	/* a storage error is no damaged manifest: the load fails, flags nothing */
	assert_int_equal(storage_delete(st, "index/node_index/" FQDN "/b1/damaged"), 0);
	storage_close(st);
	setenv("CASSETTE_STORAGE_FAULTS", "get:1+:eio", 1);
	assert_int_equal(storage_open(&st, &cfg), 0);
	unsetenv("CASSETTE_STORAGE_FAULTS");
	assert_int_equal(history_load(&h, st, "", FQDN), CST_EIO);
	assert_null(h);
	assert_non_null(strstr(cst_error_msg(), "injected fault"));
	assert_int_equal(storage_head(st, "index/node_index/" FQDN "/b1/damaged", &size), CST_ENOTFOUND);
	free(json);
	free(key);
	storage_close(st);
	scratch_remove(dir);
}

#define CF2 "u-fedcba9876543210fedcba9876543210"

/* What a run would decide from h: a line per lookup, so two histories
 * that answer alike give equal strings. Caller frees. */
static char *answers(const struct history *h)
{
	static const char *const files[] = { "nb-1-big-Data.db", "nb-2-big-Data.db", "nb-4-big-Data.db",
					     "nb-1-big-Summary.db", "nb-7-big-Data.db" };
	static const char *const cfs[] = { CF, CF2 };
	static const uint64_t sizes[] = { 5, 10, 11, 20, 40, 70 };
	static const char *const md5s[] = { MD5_A, MD5_B, NULL };
	static const char *const keys[] = { POOL "nb-1-big-Data.db", POOL "@b2/nb-1-big-Data.db",
					    POOL "@b4/nb-1-big-Data.db", POOL "nb-2-big-Data.db",
					    POOL "nb-7-big-Data.db", FQDN "/data/ks/" CF2 "/nb-7-big-Data.db" };
	char *out = cst_strdup(""), *next;
	size_t f, c, z, m, k;

	for (c = 0; c < 2; c++)
		for (f = 0; f < 5; f++)
			for (z = 0; z < 6; z++)
				for (m = 0; m < 3; m++) {
					const struct manifest_rec *a, *b, *p;

					a = history_find(h, "ks", cfs[c], files[f], sizes[z], md5s[m],
							 encrypted_with, KEY_1);
					b = history_find(h, "ks", cfs[c], files[f], sizes[z], md5s[m],
							 plaintext, NULL);
					p = history_find(h, "ks", cfs[c], files[f], sizes[z], md5s[m],
							 encrypted_with, KEY_2);
					next = cst_sprintf("%s%s %s %s|", out,
							   a ? a->path ? a->path : "own" : "-",
							   b ? b->path ? b->path : "own" : "-",
							   p ? p->path ? p->path : "own" : "-");
					free(out);
					out = next;
				}
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		next = cst_sprintf("%s%d", out, history_key_taken(h, keys[k]));
		free(out);
		out = next;
	}
	assert_non_null(out);
	return out;
}

/* Load with `o` and check the counts and that it answers as `want`. */
static void load_is(struct storage *st, const struct history_opts *o, size_t cached, size_t read,
		    const char *want)
{
	struct history *h = NULL;
	char *got;

	assert_int_equal(history_load_opts(&h, st, "", FQDN, o), 0);
	counts_are(h, cached, read, 0);
	got = answers(h);
	assert_string_equal(got, want);
	free(got);
	history_free(h);
}

/* A fresh load, without the cache, one manifest at a time: the reference. */
static char *fresh(struct storage *st)
{
	struct history *h = NULL;
	char *a;

	assert_int_equal(history_load(&h, st, "", FQDN), 0);
	a = answers(h);
	history_free(h);
	return a;
}

static void sql(const char *db, const char *stmt)
{
	sqlite3 *d = NULL;

	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_exec(d, stmt, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(d);
}

/* The state database's copy: hits, misses and invalidation all answer as
 * a fresh load does. */
static void test_cache(void **state)
{
	char *dir = scratch_new("history"), *sdir = cst_path_join(dir, "state");
	char *dbfile = cst_sprintf("%s/" FQDN ".db", sdir), *ref, *ref2;
	struct storage_config cfg = { .provider = "local", .base_path = dir, .create = 1 };
	struct history_opts o = { sdir, "store-1", 1, NULL, NULL }, par = { NULL, NULL, 4, NULL, NULL };
	struct history_opts other = { sdir, "store-2", 1, NULL, NULL };
	struct manifest_object b1[3], b2[2], b3[1], b4[2];
	struct storage *st = NULL;

	(void)state;
	assert_int_equal(storage_open(&st, &cfg), 0);
	object(&b1[0], POOL "nb-1-big-Data.db", MD5_A, 10, KEY_1);
	object(&b1[1], POOL "nb-2-big-Data.db", MD5_A, 20, NULL);
	object(&b1[2], POOL "nb-4-big-Data.db", MD5_B, 40, KEY_2);
	put_backup(st, "b1", 1000, 1, b1, 3);
	object(&b2[0], POOL "@b2/nb-1-big-Data.db", MD5_A, 10, KEY_1);
	object(&b2[1], POOL "nb-1-big-Summary.db", MD5_B, 5, KEY_1);
	put_backup(st, "b2", 2000, 1, b2, 2);
	object(&b3[0], POOL "nb-1-big-Data.db", MD5_B, 11, KEY_1);
	put_backup(st, "b3", 3000, 1, b3, 1);

	ref = fresh(st);
	load_is(st, &par, 0, 3, ref);	/* in parallel, merged in any order */
	load_is(st, &o, 0, 3, ref);	/* miss: nothing cached yet */
	load_is(st, &o, 3, 0, ref);	/* hit: no manifest read */
	/* a new backup, with a new table: only it is read */
	object(&b4[0], POOL "@b4/nb-1-big-Data.db", MD5_A, 10, KEY_1);
	object(&b4[1], FQDN "/data/ks/" CF2 "/nb-7-big-Data.db", MD5_A, 70, NULL);
	put_backup(st, "b4", 4000, 1, b4, 1);
	put_backup_cf(st, CF2, "b4", 4000, 1, &b4[1], 1);	/* b4's manifest: the CF2 table only */
	ref2 = fresh(st);
	assert_string_not_equal(ref, ref2);
	load_is(st, &o, 3, 1, ref2);
	load_is(st, &o, 4, 0, ref2);
	/* another store under the same node name: not this cache */
	load_is(st, &other, 0, 4, ref2);
	load_is(st, &o, 0, 4, ref2);
	load_is(st, &o, 4, 0, ref2);
	/* a row damaged behind SQLite's back: a warning, and a rebuild */
	sql(dbfile, "UPDATE hist_rec SET own = 1 - own WHERE rel = 'nb-1-big-Summary.db'");
	load_is(st, &o, 0, 4, ref2);
	load_is(st, &o, 4, 0, ref2);
	/* the oldest backup deleted: the cache is stale, and rebuilt */
	assert_int_equal(storage_delete(st, "index/backup_index/b1/started_" FQDN "_1000.timestamp"), 0);
	assert_int_equal(storage_delete(st, "index/backup_index/b1/finished_" FQDN "_1001.timestamp"), 0);
	free(ref);
	ref = fresh(st);
	assert_string_not_equal(ref, ref2);
	load_is(st, &o, 0, 3, ref);
	load_is(st, &o, 3, 0, ref);
	/* a backup in the middle rewritten under the same name (another
	 * finish time): stale too */
	assert_int_equal(storage_delete(st, "index/backup_index/b3/finished_" FQDN "_3001.timestamp"), 0);
	put_backup(st, "b3", 3000, 0, b3, 1);
	assert_int_equal(storage_put_buf(st, "index/backup_index/b3/finished_" FQDN "_3002.timestamp",
					 "1", 1, 0), 0);
	load_is(st, &o, 0, 3, ref);
	/* a backup listed between cached ones (it started earlier): the
	 * cached ones stay, it alone is read, and the answers are a fresh
	 * load's (its record is older than b3's of the same kind) */
	{
		struct manifest_object b25[2];

		object(&b25[0], POOL "@b25/nb-1-big-Data.db", MD5_B, 11, KEY_1);
		object(&b25[1], POOL "nb-2-big-Data.db", MD5_B, 20, NULL);
		put_backup(st, "b25", 2500, 1, b25, 2);
	}
	free(ref);
	ref = fresh(st);
	load_is(st, &o, 3, 1, ref);
	load_is(st, &o, 4, 0, ref);
	/* the database deleted: the same again, every manifest read */
	{
		char *wal = cst_sprintf("%s-wal", dbfile), *shm = cst_sprintf("%s-shm", dbfile);

		unlink(dbfile);
		unlink(wal);
		unlink(shm);
		free(wal);
		free(shm);
	}
	load_is(st, &o, 0, 4, ref);
	load_is(st, &o, 4, 0, ref);
	free(ref);
	free(ref2);
	free(dbfile);
	free(sdir);
	storage_close(st);
	scratch_remove(dir);
}

/* Store an object of `size` bytes under `key`. */
static void put_object(struct storage *st, const char *key, size_t size)
{
	char *buf = calloc(1, size + 1);

	assert_int_equal(storage_put_buf(st, key, buf, size, 0), 0);
	free(buf);
}

/* One listing of the pool: a record whose object is missing, of another
 * size or recorded damaged by verify is no candidate; its key stays taken. */
static void test_pool(void **state)
{
	char *dir = scratch_new("history");
	struct storage_config cfg = { .provider = "local", .base_path = dir, .create = 1 };
	struct manifest_object b1[4], b2[1];
	struct history_counts c;
	struct storage *st = NULL;
	struct history *h = NULL;
	const struct manifest_rec *r;
	size_t i;

	(void)state;
	assert_int_equal(storage_open(&st, &cfg), 0);
	object(&b1[0], POOL "nb-1-big-Data.db", MD5_A, 10, NULL);
	object(&b1[1], POOL "nb-2-big-Data.db", MD5_A, 20, NULL);
	object(&b1[2], POOL "nb-3-big-Data.db", MD5_A, 30, NULL);
	object(&b1[3], POOL "nb-4-big-Data.db", MD5_A, 40, NULL);
	put_backup(st, "b1", 1000, 1, b1, 4);
	object(&b2[0], POOL "@b2/nb-5-big-Data.db", MD5_A, 50, NULL);
	put_backup(st, "b2", 2000, 1, b2, 1);
	for (i = 1; i < 4; i++)
		put_object(st, b1[i].path, b1[i].size);
	put_object(st, b2[0].path, b2[0].size);
	/* nb-1 missing; nb-2 of another size; nb-3 recorded damaged */
	put_object(st, b1[1].path, b1[1].size - 1);
	assert_int_equal(storage_put_buf(st, "index/damaged_objects/" FQDN "/data/ks/" CF "/nb-3-big-Data.db",
					 "tag mismatch\n", 13, 0), 0);

	assert_int_equal(history_load(&h, st, "", FQDN), 0);
	/* before the check every record is a candidate */
	assert_non_null(history_find(h, "ks", CF, "nb-1-big-Data.db", 10, MD5_A, plaintext, NULL));
	assert_int_equal(history_check_pool(h, st, "", FQDN), 0);
	history_counts(h, &c);
	assert_int_equal(c.objects_missing, 1);
	assert_int_equal(c.objects_resized, 1);
	assert_int_equal(c.objects_damaged, 1);
	for (i = 0; i < 3; i++) {
		const char *rel = b1[i].path + strlen(POOL);

		assert_null(history_find(h, "ks", CF, rel, b1[i].source_size, NULL, plaintext, NULL));
		assert_null(history_find(h, "ks", CF, rel, b1[i].source_size, MD5_A, plaintext, NULL));
		assert_true(history_lost(h, "ks", CF, rel, b1[i].source_size, MD5_A, plaintext, NULL));
		assert_false(history_lost(h, "ks", CF, rel, b1[i].source_size, MD5_B, plaintext, NULL));
		assert_true(history_key_taken(h, b1[i].path));	/* immutability holds */
	}
	assert_non_null(history_find(h, "ks", CF, "nb-4-big-Data.db", 40, MD5_A, plaintext, NULL));
	assert_false(history_lost(h, "ks", CF, "nb-4-big-Data.db", 40, MD5_A, plaintext, NULL));
	r = history_find(h, "ks", CF, "nb-5-big-Data.db", 50, MD5_A, plaintext, NULL);
	assert_non_null(r);
	assert_string_equal(r->path, b2[0].path);
	/* a variant key recorded damaged: checked again, it goes too */
	assert_int_equal(storage_put_buf(st, "index/damaged_objects/" FQDN "/data/ks/" CF "/@b2/nb-5-big-Data.db",
					 "x\n", 2, 0), 0);
	assert_int_equal(history_check_pool(h, st, "", FQDN), 0);
	history_counts(h, &c);
	assert_int_equal(c.objects_damaged, 2);
	assert_null(history_find(h, "ks", CF, "nb-5-big-Data.db", 50, MD5_A, plaintext, NULL));
	assert_true(history_key_taken(h, b2[0].path));
	history_free(h);
	storage_close(st);
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history),
		cmocka_unit_test(test_merge_whole),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_pool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
