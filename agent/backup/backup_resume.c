/*
 * backup_resume: what backup-node does about a killed run of the same
 * backup (docs/FORMAT.md, "Resuming an interrupted backup"): the name
 * check, a manifest stored without its index, and the journaled objects
 * that storage still holds whole.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_int.h"
#include "catalog.h"
#include "commands.h"
#include "config.h"
#include "history.h"
#include "journal.h"
#include "latest.h"
#include "layout.h"
#include "keys.h"
#include "meta_auth.h"
#include "node_index.h"
#include "publish.h"
#include "resume.h"
#include "snapshot.h"
#include "storage.h"
#include "util.h"

/* Which of this run's keys `key` is (STORED_*), or 0 when none: a record
 * pointing elsewhere, or at a pool key that a manifest references, is not
 * this backup's object. */
static int own_key_kind(const struct run *r, const struct snap_file *f, const char *key)
{
	const char *prefix = r->cfg->prefix, *fqdn = r->cfg->fqdn;
	char *k;
	int kind = 0;

	if (r->full) {
		if ((k = layout_full_key(prefix, fqdn, r->name, f->keyspace, f->table, f->rel)) != NULL &&
		    strcmp(k, key) == 0)
			kind = STORED_FULL;
		free(k);
		return kind;
	}
	if ((k = layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel, r->name)) != NULL &&
	    strcmp(k, key) == 0)
		kind = STORED_VARIANT;
	free(k);
	if (kind != 0)
		return kind;
	if ((k = layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel, NULL)) != NULL &&
	    strcmp(k, key) == 0 && !history_key_taken(r->hist, key))
		kind = STORED_POOL;
	free(k);
	return kind;
}

/* A journaled object of an interrupted run of this backup that storage
 * still holds, for this very file: kept instead of stored again. 1 when
 * taken, 0 when none fits, or a negative code. */
int backup_try_resume(struct run *r, struct pipeline *p, size_t i, unsigned char md5[16],
		      uint64_t *size, int *have)
{
	const struct snap_file *f = &r->snap->files[i];
	const struct journal_rec *const *c;
	size_t n, k;
	char hex[33];
	int rc;

	if ((c = journal_find(r->journal, f->keyspace, f->table, f->rel, f->size, &n)) == NULL)
		return 0;
	for (k = n; k-- > 0;) {
		const struct journal_rec *jr = c[k];
		const char *keys[2] = { jr->key, jr->variant };
		struct storage_stat got;
		struct manifest_object obj;
		struct manifest_rec *own;
		size_t t;

		if (jr->source_size != f->size || (jr->salt[0] != '\0') != (r->key != NULL))
			continue;
		if ((rc = backup_file_md5(r, p, i, md5, size, have)) != 0)
			return rc;
		cst_hex(hex, md5, 16);
		if (*size != jr->source_size || strcmp(hex, jr->source_md5) != 0)
			continue;
		for (t = 0; t < 2; t++) {
			int kind;

			if (keys[t] == NULL || (kind = own_key_kind(r, f, keys[t])) == 0)
				continue;
			if ((rc = resume_object_is_ours(r->st, jr, keys[t], &got)) < 0)
				return rc;
			if (rc == 0)
				continue;
			if ((own = backup_rec_new(r)) == NULL)
				return CST_ENOMEM;
			memset(&obj, 0, sizeof(obj));
			obj.path = (char *)keys[t];
			if (got.etag[0] != '\0' && strlen(got.etag) < sizeof(obj.md5))
				memcpy(obj.md5, got.etag, strlen(got.etag) + 1);
			else if (jr->salt[0] == '\0')
				snprintf(obj.md5, sizeof(obj.md5), "%s", jr->source_md5);
			obj.size = got.size;
			snprintf(obj.source_md5, sizeof(obj.source_md5), "%s", jr->source_md5);
			obj.source_size = jr->source_size;
			if (jr->salt[0] != '\0') {
				snprintf(obj.salt, sizeof(obj.salt), "%s", jr->salt);
				memcpy(obj.key_id, r->key_id, sizeof(obj.key_id));
			}
			if ((rc = manifest_rec_pack(own, &obj)) != 0)
				return rc;
			own->path = NULL;
			r->results[i].rec = own;
			r->results[i].stored = kind;
			r->results[i].resumed = 1;
			return 1;
		}
	}
	return 0;
}

/* A run killed between its finished marker and its node index entry left
 * the backup out of the node's own list: put it there (best effort). */
/* The run that lost its node entry lost its latest_backup pointer too. */
static void backfill_latest(struct run *r)
{
	char *name = cst_sprintf("tokenmap_%s.json", r->cfg->fqdn), *key = NULL, *text = NULL;

	if (name != NULL && (key = layout_index_key(r->cfg->prefix, r->name, name)) != NULL &&
	    storage_get_buf(r->st, key, &text, NULL, 64u << 20) == 0)
		(void)latest_backup_set(r->st, r->cfg->prefix, r->cfg->fqdn, r->name, text);
	cst_error_clear();
	free(text);
	free(key);
	free(name);
}

static void backfill_node_entry(struct run *r, const struct catalog_node *n)
{
	struct node_backup *v = NULL, b;
	size_t count = 0, i;
	int found = 0;

	if (node_index_load(&v, &count, r->st, r->cfg->prefix, r->cfg->fqdn) != 0) {
		cst_error_clear();
		return;
	}
	for (i = 0; i < count; i++)
		found |= strcmp(v[i].name, r->name) == 0;
	node_index_free(v, count);
	if (found)
		return;
	memset(&b, 0, sizeof(b));
	b.name = (char *)r->name;
	b.started = n->started;
	b.finished = n->finished;
	b.files = n->files;
	b.bytes = n->bytes;
	b.manifest_size = n->manifest_size;
	if (node_index_put(r->st, r->cfg->prefix, r->cfg->fqdn, &b) != 0)
		cst_error_clear();
	else
		backfill_latest(r);
}

/* The name is free, or its backup was interrupted: resume it. A finished
 * one is refused (CST_EEXISTS). A run killed after its manifest but before
 * its finished marker left a manifest no index lists: *orphan says so
 * (finish_orphan() decides what becomes of it). */
int backup_check_name(struct run *r, int *orphan)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, "manifest.json");
	struct catalog *cat = NULL;
	const struct catalog_node *n = NULL;
	uint64_t size;
	int rc;

	*orphan = 0;
	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_head(r->st, key, &size);
	free(key);
	if (rc == CST_ENOTFOUND) {
		cst_error_clear();
		return 0;
	}
	if (rc != 0 || (rc = catalog_load_backup(&cat, r->st, r->cfg->prefix, r->name)) != 0)
		return rc;
	/* a finished marker carries no counts: a node entry to backfill takes
	 * them from the manifest's index copy */
	if ((rc = catalog_count_manifests(cat, r->st, r->cfg->prefix, r->cfg->fqdn)) != 0) {
		catalog_free(cat);
		return rc;
	}
	if (cat->n_backups > 0)
		n = catalog_node_of(&cat->backups[0], r->cfg->fqdn);
	if (n != NULL && n->finished) {
		backfill_node_entry(r, n);
		catalog_free(cat);
		return cst_error(CST_EEXISTS, "backup '%s' of node %s already finished; choose another "
				 "name", r->name, r->cfg->fqdn);
	}
	*orphan = 1;
	r->orphan_started = n != NULL && n->started ? n->started : r->started;
	catalog_free(cat);
	return 0;
}

/* The orphan manifest goes (its auth.json with it: the rerun writes both). */
static int drop_orphan(struct run *r)
{
	static const char *const names[] = { "manifest.json", META_AUTH_NAME };
	char *key;
	size_t i;
	int rc = 0;

	for (i = 0; i < 2 && rc == 0; i++) {
		if ((key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, names[i])) == NULL)
			return CST_ENOMEM;
		if ((rc = storage_delete(r->st, key)) == CST_ENOTFOUND) {
			cst_error_clear();
			rc = 0;
		}
		free(key);
	}
	return rc;
}

/* The orphan manifest of a killed run: when every object it names is still
 * the one it recorded, only the index is missing: it is written, and *done
 * says there is nothing more to do. Otherwise the manifest goes and the
 * backup is taken again (resuming from the journal). */
int backup_finish_orphan(struct run *r, const char *workdir, int *done)
{
	char why[512], human[32];
	uint64_t files = 0, bytes = 0;
	meta_auth_key_fn keys = NULL;
	void *arg = NULL;
	int sound = 0, unauthentic = 0, rc;

	*done = 0;
	if ((rc = resume_orphan_manifest_sound(r->st, r->cfg, r->name, r->hist, &sound, why,
					       sizeof(why))) != 0)
		return rc;
	if (!sound) {
		fprintf(stderr, "cassette: backup %s of node %s stored a manifest before it was "
			"interrupted, but %s: the manifest is dropped and the backup taken again\n",
			r->name, r->cfg->fqdn, why);
		return drop_orphan(r);
	}
	fprintf(stderr, "cassette: backup %s of node %s stored its manifest but was interrupted "
		"before its index: completing the index\n", r->name, r->cfg->fqdn);
	if (r->keys != NULL && keys_signing_key(r->keys) != NULL) {
		keys = keys_meta_key;	/* public-key mode: signed by this node */
		arg = r->keys;
	} else if (r->key != NULL) {
		keys = meta_auth_one_key;
		arg = (void *)r->key;
	}
	if ((rc = publish_complete_index(r->cfg, r->st, r->name, r->orphan_started, workdir, keys, arg,
					 &files, &bytes, &unauthentic)) != 0 && unauthentic) {
		/* not the meta this backup wrote: never published */
		fprintf(stderr, "cassette: backup %s of node %s: %s: the manifest is dropped and the "
			"backup taken again\n", r->name, r->cfg->fqdn, cst_error_msg());
		cst_error_clear();
		return drop_orphan(r);
	}
	if (rc != 0)
		return rc;
	printf("backup %s of node %s complete: %" PRIu64 " file%s, %s (its index completed)\n", r->name,
	       r->cfg->fqdn, files, files == 1 ? "" : "s", cmd_human_bytes(human, sizeof(human), bytes));
	*done = 1;
	return 0;
}

/* A run of this node died: its uploads begun and never finished go (the
 * node's lock says no other writer is there). */
int backup_clean_store(struct run *r)
{
	const char *prefix = r->cfg->prefix;
	char *node = prefix[0] ? cst_sprintf("%s/%s/", prefix, r->cfg->fqdn) :
				 cst_sprintf("%s/", r->cfg->fqdn);
	size_t n = 0;
	int rc;

	if (node == NULL)
		return CST_ENOMEM;
	rc = storage_clean_uploads(r->st, node, &n);
	if (rc == 0 && n > 0)
		fprintf(stderr, "cassette: removed %zu unfinished upload%s that an interrupted run left "
			"under %s\n", n, n == 1 ? "" : "s", node);
	free(node);
	return rc;
}
