/* backup-node: snapshot -> plan -> encrypt -> store -> manifest. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "history.h"
#include "layout.h"
#include "manifest.h"
#include "meta.h"
#include "pipeline.h"
#include "snapshot.h"
#include "storage.h"
#include "util.h"

struct run {
	const struct config *cfg;
	const char *name;
	int full;
	struct storage *st;
	struct crypto_key *key;
	char key_id[2 * CRYPTO_KEYID_LEN + 1];	/* hex; "" without a key */
	struct history *hist;
	struct pipeline *pipe;
	struct manifest *man;
	char **uploaded;	/* new objects, deleted if the backup fails */
	size_t n_uploaded, cap_uploaded;
	int64_t started;
	uint64_t files, bytes, new_files, new_bytes, stored_bytes;
};

static int remember_upload(struct run *r, const char *key)
{
	char **grown = cst_grow(r->uploaded, &r->cap_uploaded, r->n_uploaded, sizeof(*grown), 64);

	if (grown == NULL)
		return CST_ENOMEM;
	r->uploaded = grown;
	if ((r->uploaded[r->n_uploaded] = cst_strdup(key)) == NULL)
		return CST_ENOMEM;
	r->n_uploaded++;
	return 0;
}

static int add_object(struct run *r, const struct snap_file *f, const char *key,
		      const struct stored_object *so)
{
	struct manifest_object obj;

	memset(&obj, 0, sizeof(obj));
	obj.path = (char *)key;
	cst_hex(obj.md5, so->md5, 16);
	obj.size = so->size;
	cst_hex(obj.source_md5, so->source_md5, 16);
	obj.source_size = so->source_size;
	if (so->encrypted) {
		cst_hex(obj.salt, so->salt, 32);
		memcpy(obj.key_id, r->key_id, sizeof(obj.key_id));
	}
	return manifest_add(r->man, f->keyspace, f->table, &obj);
}

/* An earlier object can stand for this file only if it is stored the way
 * this run would store it: encrypted under the current key, or plaintext when
 * encryption is off. After a key rotation every file is stored again, so each
 * backup can be restored with one key. */
static int reusable(const struct run *r, const struct manifest_object *o)
{
	if (r->key == NULL)
		return o->salt[0] == '\0';
	return o->salt[0] != '\0' && strcmp(o->key_id, r->key_id) == 0;
}

static const struct manifest_object *find_unchanged(struct run *r, const struct snap_file *f,
						    int *rc)
{
	const struct manifest_object *const *cands;
	unsigned char md5[16];
	char hex[33];
	uint64_t size;
	size_t n, i;

	*rc = 0;
	history_candidates(r->hist, f->keyspace, f->table, f->rel, f->size, &cands, &n);
	for (i = 0; i < n; i++)
		if (reusable(r, cands[i]))
			break;
	if (i == n)
		return NULL;
	if ((*rc = pipeline_hash_file(r->pipe, f->path, md5, &size)) != 0)
		return NULL;
	cst_hex(hex, md5, 16);
	for (i = 0; i < n; i++)
		if (reusable(r, cands[i]) && size == cands[i]->source_size &&
		    strcmp(cands[i]->source_md5, hex) == 0)
			return cands[i];
	return NULL;
}

static int store_new(struct run *r, const struct snap_file *f)
{
	const char *fqdn = r->cfg->fqdn, *prefix = r->cfg->prefix;
	struct stored_object so;
	char *key = NULL;
	int flags = 0, rc;

	if (r->full) {
		key = layout_full_key(prefix, fqdn, r->name, f->keyspace, f->table, f->rel);
	} else if (history_key_taken(r->hist, (key = layout_pool_key(prefix, fqdn, f->keyspace,
								       f->table, f->rel, NULL)))) {
		free(key);	/* the name was reused with new content: keep the old object */
		key = layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel, r->name);
	} else {
		flags = STORAGE_PUT_NO_OVERWRITE;
	}
	if (key == NULL)
		return CST_ENOMEM;
	rc = pipeline_store(r->pipe, f, fqdn, key, flags, &so);
	if (rc == CST_EEXISTS && flags != 0) {
		/* An object no known manifest references (a crashed run's, or one
		 * whose index entry is missing): never overwrite it. */
		free(key);
		if ((key = layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel, r->name)) == NULL)
			return CST_ENOMEM;
		rc = pipeline_store(r->pipe, f, fqdn, key, 0, &so);
	}
	if (rc == 0 && (rc = remember_upload(r, key)) == 0)
		rc = add_object(r, f, key, &so);
	if (rc == 0) {
		r->new_files++;
		r->new_bytes += so.source_size;
		r->stored_bytes += so.size;
	}
	free(key);
	return rc;
}

static int back_up_file(struct run *r, const struct snap_file *f)
{
	const struct manifest_object *old = NULL;
	int rc = 0;

	r->files++;
	r->bytes += f->size;
	if (!r->full && (old = find_unchanged(r, f, &rc)) == NULL && rc != 0)
		return rc;
	if (old != NULL)
		return manifest_add(r->man, f->keyspace, f->table, old);
	return store_new(r, f);
}

static int put_meta(struct run *r, const char *name, const char *text, int flags)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(r->st, key, text, strlen(text), flags);
	free(key);
	return rc;
}

static int put_index(struct run *r, const char *name, const char *text)
{
	char *key = layout_index_key(r->cfg->prefix, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(r->st, key, text, strlen(text), 0);
	free(key);
	return rc;
}

/* Meta files, schema first and manifest.json last; then the index. */
static int write_meta(struct run *r, const struct snapshot *snap, int *manifest_written)
{
	const char *fqdn = r->cfg->fqdn;
	char *manifest = NULL, *tokenmap = NULL, *version = NULL, *name = NULL;
	char *schema_name = NULL, *token_name = NULL, *man_name = NULL, *diff_name = NULL;
	const char *schema = snap->schema ? snap->schema : "-- no schema.cql in the snapshot\n";
	char ts[32];
	size_t len;
	int rc;

	if ((rc = meta_tokenmap_json(&tokenmap, r->cfg)) != 0 ||
	    (rc = meta_server_version_json(&version, r->cfg)) != 0 ||
	    (rc = manifest_dump(r->man, &manifest, &len)) != 0)
		goto out;
	if ((rc = put_meta(r, "schema.cql", schema, 0)) != 0 ||
	    (rc = put_meta(r, "tokenmap.json", tokenmap, 0)) != 0 ||
	    (rc = put_meta(r, "server_version.json", version, 0)) != 0 ||
	    (!r->full && (rc = put_meta(r, "differential", "differential", 0)) != 0))
		goto out;
	if ((rc = put_meta(r, "manifest.json", manifest, STORAGE_PUT_NO_OVERWRITE)) != 0)
		goto out;
	*manifest_written = 1;
	schema_name = cst_sprintf("schema_%s.cql", fqdn);
	token_name = cst_sprintf("tokenmap_%s.json", fqdn);
	man_name = cst_sprintf("manifest_%s.json", fqdn);
	diff_name = cst_sprintf("differential_%s", fqdn);
	name = layout_finished_name(fqdn, (int64_t)time(NULL), r->files, r->bytes);
	if (!schema_name || !token_name || !man_name || !diff_name || !name) {
		rc = CST_ENOMEM;
		goto out;
	}
	snprintf(ts, sizeof(ts), "%" PRId64, (int64_t)time(NULL));
	if ((rc = put_index(r, schema_name, schema)) != 0 ||
	    (rc = put_index(r, token_name, tokenmap)) != 0 ||
	    (rc = put_index(r, man_name, manifest)) != 0 ||
	    (!r->full && (rc = put_index(r, diff_name, "differential")) != 0))
		goto out;
	rc = put_index(r, name, ts);	/* last: the backup is listed as complete */
out:
	free(manifest);
	free(tokenmap);
	free(version);
	free(name);
	free(schema_name);
	free(token_name);
	free(man_name);
	free(diff_name);
	return rc;
}

static int take_lock(const struct config *cfg, int *fd)
{
	char *path;
	int rc = 0;

	if ((rc = cst_mkdirs(cfg->encryption_tmp_dir)) != 0)
		return rc;
	if ((path = cst_sprintf("%s/cassette-%s.lock", cfg->encryption_tmp_dir, cfg->fqdn)) == NULL)
		return CST_ENOMEM;
	if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		rc = cst_error_errno("cannot open lock file %s", path);
	else if (flock(*fd, LOCK_EX | LOCK_NB) != 0)
		rc = cst_error(CST_EEXISTS, "another backup of node %s is running (lock %s)",
			       cfg->fqdn, path);
	free(path);
	return rc;
}

static int run_files(struct run *r, const struct snapshot *snap)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < snap->n_files; i++) {
		if (cassette_interrupted)
			return cst_error(CST_ERROR, "interrupted");
		rc = back_up_file(r, &snap->files[i]);
	}
	return rc;
}

/* After a failure: remove what this run added and nobody references. */
static void undo(struct run *r, const char *started_key)
{
	size_t i;

	for (i = 0; i < r->n_uploaded; i++)
		storage_delete(r->st, r->uploaded[i]);
	if (started_key)
		storage_delete(r->st, started_key);
}

static int check_name_free(struct run *r)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, "manifest.json");
	uint64_t size;
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_head(r->st, key, &size);
	free(key);
	if (rc == 0)
		return cst_error(CST_EEXISTS, "backup '%s' already exists for node %s", r->name,
				 r->cfg->fqdn);
	if (rc == CST_ENOTFOUND) {
		cst_error_clear();
		return 0;
	}
	return rc;
}

static void print_summary(const struct run *r)
{
	char a[32], b[32], c[32];

	printf("backup %s of node %s complete (%s): %" PRIu64 " files, %s; %" PRIu64
	       " new (%s, %s stored), %" PRIu64 " unchanged\n",
	       r->name, r->cfg->fqdn, r->full ? "full" : "differential", r->files,
	       cmd_human_bytes(a, sizeof(a), r->bytes), r->new_files,
	       cmd_human_bytes(b, sizeof(b), r->new_bytes),
	       cmd_human_bytes(c, sizeof(c), r->stored_bytes), r->files - r->new_files);
}

int cmd_backup_node(const struct config *cfg, const struct backup_opts *o)
{
	struct run r;
	struct snapshot *snap = NULL;
	char name[32], *tag = NULL, *started_key = NULL, *started_name = NULL, ts[32];
	int lock_fd = -1, manifest_written = 0, rc;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.full = o->full;
	r.started = (int64_t)time(NULL);
	if (o->name == NULL) {
		struct tm tm;
		time_t now = (time_t)r.started;

		gmtime_r(&now, &tm);
		strftime(name, sizeof(name), "%Y%m%d%H%M%S", &tm);
		r.name = name;
	} else if (!config_backup_name_is_valid(o->name)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not valid: use letters, digits, '.', '_' "
			  "and '-' (at most 128, starting with a letter or digit; not 'data' or 'index')",
			  o->name);
		return CMD_USAGE;
	} else {
		r.name = o->name;
	}
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
		cst_error(CST_EINVALID, "%s: [cassandra] data_dir is required for backup-node", cfg->path);
		return CMD_USAGE;
	}
	if (access(cfg->data_dir, R_OK | X_OK) != 0) {
		cst_error_errno("%s: [cassandra] data_dir %s", cfg->path, cfg->data_dir);
		return CMD_USAGE;
	}
	if (cfg->encrypt && (rc = cmd_load_key(&r.key, cfg, 1)) != 0)
		return rc;
	if (r.key != NULL)
		cst_hex(r.key_id, crypto_key_id(r.key), CRYPTO_KEYID_LEN);
	if ((rc = take_lock(cfg, &lock_fd)) != 0 || (rc = cmd_open_storage(&r.st, cfg, 1)) != 0 ||
	    (rc = check_name_free(&r)) != 0 || (rc = manifest_new(&r.man)) != 0)
		goto out;
	if (!r.full && (rc = history_load(&r.hist, r.st, cfg->prefix, cfg->fqdn)) != 0)
		goto out;
	if ((rc = pipeline_new(&r.pipe, cfg, r.st, r.key)) != 0)
		goto out;
	snprintf(ts, sizeof(ts), "%" PRId64, r.started);
	if ((started_name = layout_started_name(cfg->fqdn, r.started)) == NULL ||
	    (started_key = layout_index_key(cfg->prefix, r.name, started_name)) == NULL ||
	    (tag = cst_sprintf("cassette-%s", r.name)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_put_buf(r.st, started_key, ts, strlen(ts), 0)) != 0)
		goto out;
	if ((rc = snapshot_take(&snap, cfg, tag)) != 0 || (rc = run_files(&r, snap)) != 0 ||
	    (rc = write_meta(&r, snap, &manifest_written)) != 0)
		goto out;
	print_summary(&r);
out:
	if (rc != 0 && !manifest_written && r.st != NULL) {
		char saved[1024];
		int code = cst_error_code();

		snprintf(saved, sizeof(saved), "%s", cst_error_msg());
		undo(&r, started_key);
		cst_error(code, "%s", saved);
	}
	if (snap != NULL && !o->keep_snapshot && snapshot_clear(snap, cfg) != 0 && rc == 0)
		rc = cst_error_code();
	snapshot_free(snap);
	pipeline_free(r.pipe);
	history_free(r.hist);
	manifest_free(r.man);
	storage_close(r.st);
	crypto_key_free(r.key);
	while (r.n_uploaded > 0)
		free(r.uploaded[--r.n_uploaded]);
	free(r.uploaded);
	free(tag);
	free(started_key);
	free(started_name);
	if (lock_fd >= 0)
		close(lock_fd);
	return rc;
}
