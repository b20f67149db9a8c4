/* history: what a differential run may reuse, from manifests on real storage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

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
static void put_backup(struct storage *st, const char *name, int64_t ts, int finished,
		       const struct manifest_object *objs, size_t n)
{
	struct manifest *m = NULL;
	char *json, *key, *marker;
	size_t i, len;

	assert_int_equal(manifest_new(&m), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(manifest_add(m, "ks", CF, &objs[i]), 0);
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
		marker = layout_finished_name(FQDN, ts + 1, n, 0);
		key = layout_index_key("", name, marker);
		assert_int_equal(storage_put_buf(st, key, "1", 1, 0), 0);
		free(key);
		free(marker);
	}
	free(json);
	manifest_free(m);
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

	/* a damaged manifest fails the load, naming it */
	{
		char *key = layout_meta_key("", FQDN, "b2", "manifest.json");

		assert_int_equal(storage_put_buf(st, key, "[{\"keyspace\":", 13, 0), 0);
		free(key);
	}
	assert_int_equal(history_load(&h, st, "", FQDN), CST_EINVALID);
	assert_null(h);
	assert_non_null(strstr(cst_error_msg(), "backup b2 manifest"));
	history_free(NULL);
	storage_close(st);
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_history) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
