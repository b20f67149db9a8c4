/* backup-node: snapshot -> plan -> encrypt -> store -> manifest. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backup_int.h"
#include "catalog.h"
#include "commands.h"
#include "crypto.h"
#include "etag.h"
#include "hashcache.h"
#include "history.h"
#include "journal.h"
#include "keys.h"
#include "layout.h"
#include "lock.h"
#include "metrics.h"
#include "manifest.h"
#include "meta.h"
#include "meta_auth.h"
#include "node_index.h"
#include "pipeline.h"
#include "progress.h"
#include "publish.h"
#include "resume.h"
#include "snapshot.h"
#include "schema.h"
#include "storage.h"
#include "uploads.h"
#include "util.h"

#define MAX_ENCODERS 8

/* An earlier object can stand for this file only if it is stored the way
 * this run would store it: encrypted under the current key, or plaintext when
 * encryption is off. After a key rotation every file is stored again, so each
 * backup can be restored with one key. */
int backup_reusable(void *arg, const struct manifest_object *o)
{
	const struct run *r = arg;

	if (r->key == NULL)
		return o->salt[0] == '\0';
	return o->salt[0] != '\0' && keys_reusable(r->keys, o->key_id);
}

/* The file's MD5 and size: from the hash cache when it can be trusted, else
 * hashed (once: *have says it is known). */
int backup_file_md5(struct run *r, struct pipeline *p, size_t i, unsigned char md5[16],
		    uint64_t *size, int *have)
{
	const struct snap_file *f = &r->snap->files[i];
	char path[PATH_MAX];
	int rc;

	if (*have)
		return 0;
	*size = f->size;
	if (!hashcache_trusted(r->hc, i, md5)) {
		if ((rc = snapshot_file_path(path, sizeof(path), f)) != 0 ||
		    (rc = pipeline_hash_file(p, path, md5, size)) != 0)
			return rc;
		hashcache_hashed(r->hc, i, md5);
	}
	*have = 1;
	return 0;
}

/*
 * An object known only by its multipart ETag (Medusa's, no source MD5) of
 * this file's size: the MD5 and the candidate ETags from one read of the
 * file (a trusted hash cache holds no ETag, so the file is read then too,
 * once). *etag is the prover, NULL when there is no such object.
 */
static int hash_with_etag(struct run *r, struct pipeline *p, size_t i, const struct manifest_rec *eo,
			  struct etag_prover **etag, unsigned char md5[16], uint64_t *size, int *have)
{
	const struct snap_file *f = &r->snap->files[i];
	char path[PATH_MAX];
	int rc;

	*etag = NULL;
	if (etag_prover_new(etag, eo->size, (unsigned)strtoul(eo->etag_tail + 1, NULL, 10), f->rel) != 0) {
		cst_error_clear();	/* no part size fits: it cannot match, store the file */
		return backup_file_md5(r, p, i, md5, size, have);
	}
	if ((rc = snapshot_file_path(path, sizeof(path), f)) != 0 ||
	    (rc = pipeline_hash_file_etag(p, path, md5, size, *etag)) != 0)
		return rc;
	hashcache_hashed(r->hc, i, md5);
	*have = 1;
	return 0;
}

/* Only when an earlier object of the same size could match: the MD5 from the
 * hash cache when it can be trusted, else hash the file. An object known
 * only by its ETag stands for the file when the file gives that ETag: the new
 * entry is that object's, with the file's source_MD5 and source_size. */
static const struct manifest_rec *find_unchanged(struct run *r, struct pipeline *p, size_t i,
						 unsigned char md5[16], uint64_t *size, int *have,
						 int *rc)
{
	const struct snap_file *f = &r->snap->files[i];
	const struct manifest_rec *old = NULL, *eo;
	struct etag_prover *etag = NULL;
	struct manifest_rec *rec;
	char hex[33];

	*rc = 0;
	if (history_find(r->hist, f->keyspace, f->table, f->rel, f->size, NULL, backup_reusable, r) == NULL)
		return NULL;
	eo = history_find_etag(r->hist, f->keyspace, f->table, f->rel, f->size, backup_reusable, r);
	if (eo != NULL && !*have)
		*rc = hash_with_etag(r, p, i, eo, &etag, md5, size, have);
	else
		*rc = backup_file_md5(r, p, i, md5, size, have);
	if (*rc != 0)
		goto out;
	cst_hex(hex, md5, 16);
	old = history_find(r->hist, f->keyspace, f->table, f->rel, *size, hex, backup_reusable, r);
	if (old != NULL || etag == NULL || *size != eo->size)
		goto out;
	if ((*rc = etag_prover_match(etag, eo->md5, NULL)) <= 0)
		goto out;	/* 0: another content, stored again */
	*rc = 0;
	if ((rec = backup_rec_new(r)) == NULL) {
		*rc = CST_ENOMEM;
		goto out;
	}
	*rec = *eo;
	memcpy(rec->source_md5, md5, 16);
	rec->source_size = *size;
	rec->no_source = 0;
	old = rec;
out:
	etag_prover_free(etag);
	return *rc == 0 ? old : NULL;
}

/* A zeroed record that lives until the run ends; NULL when out of memory. */
struct manifest_rec *backup_rec_new(struct run *r)
{
	struct manifest_rec *rec = NULL;
	struct rec_block *b;

	pthread_mutex_lock(&r->lock);
	if ((b = r->recs) == NULL || b->used == REC_BLOCK) {
		if ((b = cst_malloc(sizeof(*b))) != NULL) {
			b->next = r->recs;
			b->used = 0;
			r->recs = b;
		}
	}
	if (b != NULL) {
		rec = &b->recs[b->used++];
		memset(rec, 0, sizeof(*rec));
	}
	pthread_mutex_unlock(&r->lock);
	return rec;
}

static int store_new(struct run *r, struct pipeline *p, const struct snap_file *f,
		     struct file_result *res)
{
	const char *fqdn = r->cfg->fqdn, *prefix = r->cfg->prefix;
	char *key = NULL, *variant = NULL;
	struct stored_object so;
	struct manifest_object obj;
	struct manifest_rec *own;
	int flags = 0, rc;

	if (r->full) {
		key = layout_full_key(prefix, fqdn, r->name, f->keyspace, f->table, f->rel);
	} else {
		key = layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel, NULL);
		variant = layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel, r->name);
		if (key != NULL && history_key_taken(r->hist, key)) {
			/* the name came back with new content: keep the old object */
			free(key);
			key = variant;
			variant = NULL;
		} else {
			/* never overwrite an object no known manifest references
			 * (a crashed run's): it goes to the variant key instead */
			flags = STORAGE_PUT_NO_OVERWRITE;
		}
	}
	if (key == NULL || (!r->full && flags != 0 && variant == NULL) ||
	    (own = backup_rec_new(r)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = pipeline_store(p, f, fqdn, key, variant, flags, &so)) != 0)
		goto out;
	memset(&obj, 0, sizeof(obj));
	obj.path = so.used_variant ? variant : key;
	res->rec = own;
	res->stored = r->full ? STORED_FULL : (so.used_variant || variant == NULL) ? STORED_VARIANT :
		      STORED_POOL;
	snprintf(obj.md5, sizeof(obj.md5), "%s", so.etag);
	obj.size = so.size;
	cst_hex(obj.source_md5, so.source_md5, 16);
	obj.source_size = so.source_size;
	if (so.encrypted) {
		cst_hex(obj.salt, so.salt, 32);
		memcpy(obj.key_id, r->key_id, sizeof(obj.key_id));
	}
	rc = manifest_rec_pack(own, &obj);
	own->path = NULL;
out:
	free(key);
	free(variant);
	return rc;
}

/* The key a stored result went to, or for an unchanged one the file's own
 * pool key (a fresh string, NULL when out of memory). */
static char *result_key(const struct run *r, size_t i)
{
	const struct snap_file *f = &r->snap->files[i];
	const char *prefix = r->cfg->prefix, *fqdn = r->cfg->fqdn;

	if (r->results[i].stored == STORED_FULL)
		return layout_full_key(prefix, fqdn, r->name, f->keyspace, f->table, f->rel);
	return layout_pool_key(prefix, fqdn, f->keyspace, f->table, f->rel,
			       r->results[i].stored == STORED_VARIANT ? r->name : NULL);
}

static int back_up_file(struct run *r, struct pipeline *p, size_t i)
{
	const struct snap_file *f = &r->snap->files[i];
	struct file_result *res = &r->results[i];
	const struct manifest_rec *old = NULL;
	unsigned char md5[16];
	uint64_t size = f->size;
	char hex[33];
	int have = 0, rc = 0;

	if (!r->full && (old = find_unchanged(r, p, i, md5, &size, &have, &rc)) == NULL && rc != 0)
		return rc;
	if (old != NULL) {
		res->rec = old;
		return 0;
	}
	if (r->journaled > 0 && (rc = backup_try_resume(r, p, i, md5, &size, &have)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = store_new(r, p, f, res)) != 0 || r->full)
		return rc;
	/* would an earlier object have stood for it, had storage still held it? */
	cst_hex(hex, res->rec->source_md5, 16);
	if (history_lost(r->hist, f->keyspace, f->table, f->rel, res->rec->source_size, hex,
			 backup_reusable, r)) {
		pthread_mutex_lock(&r->lock);
		r->stored_again++;
		pthread_mutex_unlock(&r->lock);
	}
	return 0;
}

static void fail_run(struct run *r, int rc)
{
	pthread_mutex_lock(&r->lock);
	if (!r->failed) {
		r->failed = 1;
		r->rc = rc;
		snprintf(r->msg, sizeof(r->msg), "%s", cst_error_msg());
	}
	pthread_mutex_unlock(&r->lock);
	uploads_cancel(r->uploads);	/* wakes encoders waiting for a slot */
}

/* An encoder thread: takes the next file until none is left or one failed. */
static void *encoder(void *arg)
{
	struct run *r = arg;
	struct pipeline *p = NULL;
	int rc;

	if ((rc = pipeline_new(&p, r->cfg, r->st, r->uploads, r->key, r->md5hub)) != 0) {
		fail_run(r, rc);
		return NULL;
	}
	pipeline_set_progress(p, r->progress);
	pipeline_set_journal(p, r->journal);
	for (;;) {
		size_t i;

		pthread_mutex_lock(&r->lock);
		i = r->next < r->snap->n_files ? r->order[r->next++] : r->snap->n_files;
		rc = r->failed;
		pthread_mutex_unlock(&r->lock);
		if (rc || i >= r->snap->n_files)
			break;
		if (cassette_interrupted) {
			fail_run(r, cst_error(CST_ERROR, "interrupted"));
			break;
		}
		if ((rc = back_up_file(r, p, i)) != 0) {
			char saved[900];

			snprintf(saved, sizeof(saved), "%s", cst_error_msg());
			fail_run(r, cst_error(rc, "%s.%s/%s: %s", r->snap->files[i].keyspace,
					      r->snap->files[i].table, r->snap->files[i].rel, saved));
			break;
		}
		/* a stored file's bytes were counted as the pipeline read them */
		progress_file_done(r->progress, r->results[i].stored ? 0 : r->snap->files[i].size);
	}
	pipeline_free(p);
	return NULL;
}

static int cmp_larger_first(const void *pa, const void *pb, void *arg)
{
	const struct snap_file *files = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	if (files[a].size != files[b].size)
		return files[a].size > files[b].size ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Largest files first, so that no big file is left for the end while the
 * other cores have nothing to do: one file is encoded by one thread. */
static int plan_order(struct run *r, const struct snapshot *snap)
{
	size_t i;

	if ((r->order = cst_calloc(snap->n_files ? snap->n_files : 1, sizeof(*r->order))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < snap->n_files; i++)
		r->order[i] = i;
	if (snap->n_files > 1)
		qsort_r(r->order, snap->n_files, sizeof(*r->order), cmp_larger_first, snap->files);
	return 0;
}

/*
 * One encoder per core, and more when the MD5 hub hashes several streams at
 * once in SIMD lanes: MD5 is the slowest step of a backup, and its lanes
 * fill only with as many files in flight. Each encoder holds a temp file
 * (a slot), so past the slots more encoders would only wait; and each holds
 * about 2 MiB of buffers, so they stop at MAX_ENCODERS.
 */
static unsigned encoder_count(size_t files, unsigned lanes, unsigned slots)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus > 0 ? (unsigned)cpus : 1;

	if (lanes > 1) {
		unsigned want = slots < lanes ? slots : lanes;

		if (want > n)
			n = want;
	}
	if (n > MAX_ENCODERS)
		n = MAX_ENCODERS;
	if (files < n)
		n = files ? (unsigned)files : 1;
	return n;
}

/*
 * The temp-file slots: concurrent_transfers, the operator's bound on the
 * encrypted temp files on disk at once. Except where the store takes the
 * temp files as its objects (local storage on the same file system): there
 * a temp file is no extra space, it is the object being written, so each
 * encoder gets a slot too and the MD5 lanes can fill.
 */
static unsigned slot_count(const struct run *r, unsigned lanes)
{
	unsigned slots = r->cfg->concurrent_transfers ? r->cfg->concurrent_transfers : 1;

	if (storage_takes_files_from(r->st, r->cfg->encryption_tmp_dir)) {
		unsigned more = lanes < MAX_ENCODERS ? lanes : MAX_ENCODERS;

		if (more > slots)
			slots = more;
	}
	return slots;
}

struct out_file {
	int fd;
	const char *path;
};

static int to_fd(void *arg, const char *buf, size_t len)
{
	const struct out_file *o = arg;

	if (cst_write_all(o->fd, buf, len) != 0)
		return cst_error_errno("cannot write %s", o->path);
	return 0;
}

/* The manifest, in snapshot order, streamed to a temp file: a manifest of
 * 100,000 files is ~30 MB of JSON, which is never held in memory. */
static int write_manifest_file(struct run *r, const struct snapshot *snap)
{
	struct manifest_writer *w = NULL;
	struct manifest_object obj;
	struct out_file of;
	int fd = -1, rc;
	size_t i;

	if ((r->manifest_tmp = cst_sprintf("%s/manifest-XXXXXX", r->workdir)) == NULL)
		return CST_ENOMEM;
	if ((fd = mkstemp(r->manifest_tmp)) < 0) {
		rc = cst_error_errno("cannot create %s", r->manifest_tmp);
		free(r->manifest_tmp);
		r->manifest_tmp = NULL;
		return rc;
	}
	of.fd = fd;
	of.path = r->manifest_tmp;
	if ((rc = manifest_writer_new(&w, to_fd, &of)) != 0)
		goto out;
	for (i = 0; i < snap->n_files; i++) {
		char *key = NULL;

		manifest_rec_unpack(&obj, r->results[i].rec);
		if ((r->results[i].stored || obj.path == NULL) &&
		    (obj.path = key = result_key(r, i)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		rc = manifest_writer_add(w, snap->files[i].keyspace, snap->files[i].table, &obj);
		free(key);
		if (rc != 0)
			goto out;
	}
	rc = manifest_writer_finish(w);
out:
	manifest_writer_free(w);
	if (close(fd) != 0 && rc == 0)
		rc = cst_error_errno("cannot write %s", r->manifest_tmp);
	return rc;
}

/* Back up every file, in parallel; then the manifest, in snapshot order. */
static int run_files(struct run *r, const struct snapshot *snap)
{
	pthread_t threads[MAX_ENCODERS];
	unsigned n, lanes, slots, started = 0, t;
	uint64_t total = 0;
	size_t i;
	int rc;

	r->snap = snap;
	if ((r->results = cst_calloc(snap->n_files, sizeof(*r->results))) == NULL)
		return CST_ENOMEM;
	if ((rc = plan_order(r, snap)) != 0)
		return rc;
	if ((rc = crypto_md5_hub_new(&r->md5hub)) != 0)
		return rc;
	lanes = crypto_md5_hub_lanes(r->md5hub);
	slots = slot_count(r, lanes);
	if ((rc = uploads_new(&r->uploads, r->st, r->cfg->concurrent_transfers, slots)) != 0) {
		crypto_md5_hub_free(r->md5hub);
		r->md5hub = NULL;
		return rc;
	}
	n = encoder_count(snap->n_files, lanes, slots);
	for (i = 0; i < snap->n_files; i++)
		total += snap->files[i].size;
	r->progress = progress_start("backup", snap->n_files, total);
	for (t = 0; t < n; t++) {
		if (pthread_create(&threads[t], NULL, encoder, r) != 0) {
			fail_run(r, cst_error(CST_ERROR, "cannot start encoder threads"));
			break;
		}
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	uploads_free(r->uploads);
	r->uploads = NULL;
	crypto_md5_hub_free(r->md5hub);
	r->md5hub = NULL;
	progress_end(r->progress, !r->failed);
	r->progress = NULL;
	if (r->failed)
		return cst_error(r->rc, "%s", r->msg);
	for (i = 0; i < snap->n_files; i++) {
		const struct file_result *res = &r->results[i];
		char hex[33];

		r->files++;
		r->bytes += snap->files[i].size;
		if (res->stored) {
			r->new_files++;
			r->new_bytes += res->rec->source_size;
			r->stored_bytes += res->rec->size;
		}
		if (res->resumed) {
			r->resumed_files++;
			r->resumed_bytes += res->rec->source_size;
		}
		cst_hex(hex, res->rec->source_md5, 16);
		hashcache_result(r->hc, i, hex, res->stored != 0);
	}
	return write_manifest_file(r, snap);
}

/* Meta files, manifest.json, then the index: publish.h. */
static int write_meta(struct run *r, const struct snapshot *snap, int *manifest_written)
{
	struct publish p;

	memset(&p, 0, sizeof(p));
	p.cfg = r->cfg;
	p.st = r->st;
	p.name = r->name;
	p.full = r->full;
	p.schema = snap->schema;
	p.tokenmap = r->tokenmap;
	p.manifest_path = r->manifest_tmp;
	p.files = r->files;
	p.bytes = r->bytes;
	p.started = r->started;
	p.key = r->key;
	p.sign_key = r->keys ? keys_signing_key(r->keys) : NULL;
	return publish_backup(&p, manifest_written);
}

/* After a failure: remove what this run added and nobody references. */
static void undo(struct run *r, const char *started_key)
{
	size_t i;

	for (i = 0; r->results != NULL && i < r->snap->n_files; i++) {
		char *key;

		if (r->results[i].stored && (key = result_key(r, i)) != NULL) {
			storage_delete(r->st, key);
			free(key);
		}
	}
	if (started_key)
		storage_delete(r->st, started_key);
}

/* The second line: what the hash cache saved (bytes not read). */
static void print_cache_summary(const struct run *r, const struct hashcache_counts *hc)
{
	static const char *const state[] = { "", " (ignored: --verify-hashes)", " (unavailable)" };
	char a[32], b[32];

	printf("hash cache%s: %" PRIu64 " file%s (%s) trusted without reading, %" PRIu64
	       " file%s (%s) hashed to compare", state[hc->state], hc->trusted_files,
	       hc->trusted_files == 1 ? "" : "s", cmd_human_bytes(a, sizeof(a), hc->trusted_bytes),
	       hc->hashed_files, hc->hashed_files == 1 ? "" : "s",
	       cmd_human_bytes(b, sizeof(b), hc->hashed_bytes));
	if (hc->state == HASHCACHE_VERIFY)
		printf(", %" PRIu64 " cached MD5%s wrong", hc->disagreed,
		       hc->disagreed == 1 ? "" : "s");
	printf("\n");
	if (hc->disagreed > 0)
		fprintf(stderr, "cassette: warning: hash cache: %" PRIu64 " cached MD5%s of node %s "
			"did not match the file%s; corrected\n", hc->disagreed,
			hc->disagreed == 1 ? "" : "s", r->cfg->fqdn, hc->disagreed == 1 ? "" : "s");
}

static void print_summary(const struct run *r)
{
	struct hashcache_counts hc;
	char a[32], b[32], c[32];
	uint64_t unchanged = r->files - r->new_files;

	hashcache_counts(r->hc, &hc);
	printf("backup %s of node %s complete (%s): %" PRIu64 " file%s, %s; %" PRIu64
	       " new (%s, %s stored), %" PRIu64 " unchanged (%" PRIu64 " from the hash cache, %"
	       PRIu64 " re-hashed)\n",
	       r->name, r->cfg->fqdn, r->full ? "full" : "differential", r->files,
	       r->files == 1 ? "" : "s", cmd_human_bytes(a, sizeof(a), r->bytes), r->new_files,
	       cmd_human_bytes(b, sizeof(b), r->new_bytes),
	       cmd_human_bytes(c, sizeof(c), r->stored_bytes), unchanged, hc.trusted_files,
	       unchanged - hc.trusted_files);
	print_cache_summary(r, &hc);
	if (r->resumed_files > 0)
		printf("resumed: %" PRIu64 " of the new file%s (%s) were stored by the interrupted run "
		       "and kept, not uploaded again\n", r->resumed_files, r->new_files == 1 ? "" : "s",
		       cmd_human_bytes(a, sizeof(a), r->resumed_bytes));
	if (r->stored_again > 0) {
		struct history_counts hl;

		history_counts(r->hist, &hl);
		fprintf(stderr, "cassette: warning: %" PRIu64 " file%s stored again: the object an "
			"earlier backup of node %s holds for %s is gone (the pool check found %zu "
			"missing, %zu of another size, %zu recorded damaged)\n", r->stored_again,
			r->stored_again == 1 ? "" : "s", r->cfg->fqdn, r->stored_again == 1 ? "it" : "them",
			hl.objects_missing, hl.objects_resized, hl.objects_damaged);
	}
	if (r->prev_bytes > 0 && r->bytes < r->prev_bytes / 2)
		fprintf(stderr, "cassette: warning: backup %s of node %s holds %s, less than half the %s "
			"of the node's last backup: check data_dir, and whether tables were dropped\n",
			r->name, r->cfg->fqdn, cmd_human_bytes(a, sizeof(a), r->bytes),
			cmd_human_bytes(b, sizeof(b), r->prev_bytes));
	if (r->tokens_unknown != NULL)
		fprintf(stderr, "cassette: warning: tokenmap.json holds node %s alone, without tokens (%s): "
			"this backup cannot seed a new cluster\n", r->cfg->fqdn, r->tokens_unknown);
}

/* Snapshots that a killed backup-cluster left between its phases hold
 * disk space until cleared: any run that takes a snapshot clears them. */
static int clear_abandoned(const struct config *cfg, const char *tag)
{
	char *prefix = cst_sprintf("cassette-%s-", cfg->fqdn);
	size_t n = 0;
	int rc;

	if (prefix == NULL)
		return CST_ENOMEM;
	rc = snapshot_clear_abandoned(cfg, cfg->encryption_tmp_dir, prefix, tag, &n);
	free(prefix);
	return rc;
}

/* The byte total of the node's last finished backup, to warn when this
 * one holds less than half of it: from the history's listing, or for a
 * full backup, which loads none, from one of its own. */
static int previous_bytes(struct run *r)
{
	struct catalog *cat = NULL;
	int64_t last = 0;
	size_t i;
	int rc;

	if (r->hist != NULL) {
		struct history_counts hc;

		history_counts(r->hist, &hc);
		r->prev_bytes = hc.last_bytes;
		return 0;
	}
	if ((rc = catalog_load(&cat, r->st, r->cfg->prefix)) != 0)
		return rc;
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_node *n = catalog_node_of(&cat->backups[i], r->cfg->fqdn);

		if (n != NULL && n->finished && !n->damaged && n->finished >= last) {
			last = n->finished;
			r->prev_bytes = n->bytes;
		}
	}
	catalog_free(cat);
	return 0;
}

/*
 * What earlier backups of the node hold, checked against one listing of its
 * pool. Manifests an earlier run read come from the state database (keyed
 * also by where the storage is: another bucket is another history).
 */
static int load_history(struct run *r)
{
	const struct config *cfg = r->cfg;
	struct history_opts ho;
	char *identity;
	int rc;

	/* a cache of manifests read before they were authenticated is not used */
	identity = cst_sprintf("%s\n%s:%u\n%s\n%s\n%s%s", cfg->storage_provider,
			       cfg->host ? cfg->host : "", cfg->port,
			       cfg->bucket_name ? cfg->bucket_name : "",
			       cfg->base_path ? cfg->base_path : "", cfg->prefix,
			       r->key != NULL ? "\nmeta auth 1" : "");
	if (identity == NULL)
		return CST_ENOMEM;
	memset(&ho, 0, sizeof(ho));
	ho.state_dir = cfg->state_dir;
	ho.identity = identity;
	ho.parallel = cfg->concurrent_transfers;
	if (r->key != NULL && keys_signing_key(r->keys) != NULL) {
		ho.auth_keys = keys_meta_key;	/* public-key mode: the node's own signature */
		ho.auth_arg = r->keys;
	} else if (r->key != NULL) {
		ho.auth_keys = meta_auth_one_key;	/* the key of this run's objects */
		ho.auth_arg = (void *)r->key;	/* read only */
	}
	rc = history_load_opts(&r->hist, r->st, cfg->prefix, cfg->fqdn, &ho);
	free(identity);
	if (rc != 0 || (rc = history_check_pool(r->hist, r->st, cfg->prefix, cfg->fqdn)) != 0)
		return rc;
	return 0;
}

/* Phase 1 of a cluster backup: the snapshot only, nothing in storage. */
static int prepare_only(const struct run *r, const char *tag, const char *ctimes)
{
	size_t n = 0;
	int rc;

	if ((rc = snapshot_prepare(r->cfg, tag, ctimes, &n)) != 0)
		return rc;
	printf("snapshot %s of node %s taken (%zu table%s); back it up with: backup-node "
	       "--backup-name %s --use-snapshot\n", tag, r->cfg->fqdn, n, n == 1 ? "" : "s", r->name);
	return 0;
}

/* The node's data key: its newest in storage, or a new one on its first
 * encrypted backup. */
static int data_key(struct run *r)
{
	int made = 0, rc;

	/* after the storage: a passphrase key needs the store's parameters.
	 * made now: the first encrypted backup of the node (or the first since
	 * envelope keys, which stores every file again once) */
	if (!r->cfg->encrypt)
		return 0;
	if ((rc = keys_open(&r->keys, r->cfg, r->st, r->cfg->fqdn, 1)) != 0)
		return rc;
	if ((rc = keys_current(r->keys, 1, &r->key, &made)) != 0)
		return rc;
	cst_hex(r->key_id, crypto_key_id(r->key), CRYPTO_KEYID_LEN);
	return 0;
}

static int backup_node(const struct config *cfg, const struct backup_opts *o)
{
	struct run r;
	struct snapshot *snap = NULL;
	char name[130], *tag = NULL, *started_key = NULL, *started_name = NULL, ts[32];
	char *ctimes = NULL;
	struct node_lock *lock = NULL;
	size_t left = 0;
	int manifest_written = 0, done = 0, orphan = 0, rc;

	memset(&r, 0, sizeof(r));
	pthread_mutex_init(&r.lock, NULL);
	r.cfg = cfg;
	r.full = o->full;
	r.started = (int64_t)time(NULL);
	if ((rc = cmd_backup_name(name, sizeof(name), o->name, r.started)) != 0)
		return rc;
	r.name = name;
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
		cst_error(CST_EINVALID, "%s: [cassandra] data_dir is required for backup-node", cfg->path);
		return CMD_USAGE;
	}
	if (access(cfg->data_dir, R_OK | X_OK) != 0) {
		cst_error_errno("%s: [cassandra] data_dir %s", cfg->path, cfg->data_dir);
		return CMD_USAGE;
	}
	if ((rc = node_lock_take(&lock, cfg, cfg->fqdn, "backup-node")) != 0)
		goto out;
	/* ours alone now: what the work directory holds, a killed run left */
	if ((r.workdir = pipeline_workdir(cfg)) == NULL || (rc = resume_clean_workdir(cfg, &left)) != 0)
		goto out;
	if (left > 0)
		fprintf(stderr, "cassette: removed %zu temp file%s that an interrupted run left in %s\n",
			left, left == 1 ? "" : "s", r.workdir);
	if ((tag = cst_sprintf("cassette-%s", r.name)) == NULL ||
	    (ctimes = cst_sprintf("%s/cassette-%s-%s.ctimes", cfg->encryption_tmp_dir, cfg->fqdn,
				  tag)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = cmd_open_storage(&r.st, cfg, 1)) != 0 || (rc = data_key(&r)) != 0)
		goto out;
	if ((rc = backup_check_name(&r, &orphan)) == CST_EEXISTS) {
		/* finished: a run killed right after its index may have left these */
		char saved[512];

		snprintf(saved, sizeof(saved), "%s", cst_error_msg());
		journal_remove(cfg);
		if (snapshot_discard(cfg, tag) == 0)
			unlink(ctimes);
		cst_error(rc, "%s", saved);
	}
	if (rc != 0)
		goto out;
	/* the history first: a later backup may have taken the orphan's keys */
	if (orphan && ((rc = load_history(&r)) != 0 || (rc = backup_finish_orphan(&r, r.workdir, &done)) != 0))
		goto out;
	if (done) {
		/* the killed run's snapshot and journal went with it */
		journal_remove(cfg);
		if ((rc = snapshot_discard(cfg, tag)) == 0)
			unlink(ctimes);
		goto out;
	}
	if ((rc = meta_tokenmap_json(&r.tokenmap, &r.tokens_unknown, cfg)) != 0)
		goto out;
	if (!o->use_snapshot && (rc = clear_abandoned(cfg, tag)) != 0)
		goto out;
	if (o->snapshot_only) {
		rc = prepare_only(&r, tag, ctimes);
		goto out;
	}
	if (!r.full && r.hist == NULL && (rc = load_history(&r)) != 0)
		goto out;
	if ((rc = previous_bytes(&r)) != 0)
		goto out;
	if ((rc = journal_open(&r.journal, cfg, r.name, r.full, r.key_id, &r.journaled)) != 0)
		goto out;
	if ((left > 0 || journal_found(r.journal)) && (rc = backup_clean_store(&r)) != 0)
		goto out;
	if (r.journaled > 0)
		fprintf(stderr, "cassette: resuming backup %s of node %s: %zu object%s that an interrupted "
			"run stored will be kept where storage still holds them whole\n", r.name, cfg->fqdn,
			r.journaled, r.journaled == 1 ? "" : "s");
	snprintf(ts, sizeof(ts), "%" PRId64, r.started);
	if ((started_name = layout_started_name(cfg->fqdn, r.started)) == NULL ||
	    (started_key = layout_index_key(cfg->prefix, r.name, started_name)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_put_buf(r.st, started_key, ts, strlen(ts), 0)) != 0)
		goto out;
	if (o->use_snapshot) {
		rc = snapshot_open(&snap, cfg, tag, ctimes);
		if (rc == CST_ENOTFOUND)
			unlink(ctimes);	/* no snapshot: its ctimes are of no use */
	} else
		rc = snapshot_take(&snap, cfg, tag);
	if (rc == 0)
		schema_describe(cfg, &snap->schema);	/* or the snapshot's, with a warning */
	if (rc != 0 ||
	    (rc = hashcache_open(&r.hc, cfg, snap, o->verify_hashes)) != 0 ||
	    (rc = run_files(&r, snap)) != 0 || (rc = write_meta(&r, snap, &manifest_written)) != 0)
		goto out;
	journal_done(r.journal);	/* the manifest holds it all now */
	hashcache_check_snapshot(r.hc);
	print_summary(&r);
out:
	if (rc != 0 && !manifest_written && r.st != NULL && cassette_interrupted) {
		/* a reboot, an operator's ^C: keep what is stored for the rerun */
		fprintf(stderr, "cassette: interrupted: the objects stored so far are kept; rerun the same "
			"command to resume backup %s (purge removes them after backup_grace_period_in_days "
			"if it never runs)\n", r.name);
	} else if (rc != 0 && !manifest_written && r.st != NULL) {
		char saved[1024];
		int code = cst_error_code();

		snprintf(saved, sizeof(saved), "%s", cst_error_msg());
		undo(&r, started_key);
		cst_error(code, "%s", saved);
	}
	if (snap != NULL && !o->keep_snapshot && snapshot_clear(snap, cfg) != 0 && rc == 0)
		rc = cst_error_code();
	if (o->use_snapshot && snap != NULL && !snap->taken)
		unlink(ctimes);	/* it went with its snapshot */
	if (rc == 0)
		hashcache_save(r.hc, cfg);	/* after the clear: the ctime next run finds */
	hashcache_free(r.hc);
	snapshot_free(snap);
	history_free(r.hist);
	journal_free(r.journal);
	if (r.manifest_tmp != NULL)
		unlink(r.manifest_tmp);
	free(r.manifest_tmp);
	if (r.workdir != NULL)
		rmdir(r.workdir);	/* empty by now */
	free(r.workdir);
	free(r.tokenmap);
	free(r.tokens_unknown);
	storage_close(r.st);
	keys_free(r.keys);
	while (r.recs != NULL) {
		struct rec_block *next = r.recs->next;

		free(r.recs);
		r.recs = next;
	}
	free(r.results);
	free(r.order);
	pthread_mutex_destroy(&r.lock);
	free(tag);
	free(ctimes);
	free(started_key);
	free(started_name);
	node_lock_release(lock);
	return rc;
}

/* Every run, however it ends, tells the monitoring file how it went (a
 * --snapshot-only phase that worked is no backup yet). */
int cmd_backup_node(const struct config *cfg, const struct backup_opts *o)
{
	int rc = backup_node(cfg, o);

	if (rc != 0 || !o->snapshot_only)
		metrics_record(cfg, NULL, rc == 0, -1);
	return rc;
}
