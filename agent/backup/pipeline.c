/* pipeline: read once; hash and encrypt as the bytes pass; cut into parts. */
#define _GNU_SOURCE
#include "pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crypto.h"
#include "direct.h"
#include "etag.h"
#include "journal.h"
#include "progress.h"
#include "snapshot.h"
#include "storage.h"
#include "uploads.h"
#include "util.h"

#define READ_CHUNK (1u << 20)
/* Each encoder's direct-write buffer, when its temp files are the store's
 * objects (local storage): MAX_ENCODERS of them stay a few MiB, and a
 * direct write of this size keeps the disk busy with a few in flight. */
#define OUT_CAP (256u << 10)
#define MIN_PART (8ull << 20)
#define MAX_PARTS 9000ull

struct pipeline {
	const struct config *cfg;
	struct storage *st;
	struct uploads *up;
	const struct crypto_key *key;
	char *tmpdir;
	int whole;			/* the store takes temp files as they are */
	struct crypto_md5 *md5_src, *md5_part;
	struct crypto_codec *codec;	/* zstd, reused by every object */
	unsigned char *buf;
	unsigned char *outbuf;		/* direct writes (p->whole), or NULL */
	struct progress *progress;	/* NULL: none */
	struct journal *journal;	/* NULL: none */
};

/* The object being written: its current part file and the parts so far. */
struct writer {
	struct pipeline *p;
	struct upload_batch batch;
	struct storage_upload *mpu;	/* NULL: one whole object */
	const char *key, *variant;
	int flags;
	uint64_t part_size;		/* bytes per part (multipart) */
	int fd;
	struct direct_out out;		/* of fd */
	char *path;			/* current temp file */
	uint64_t in_part, total;
	unsigned parts;			/* submitted */
	int hash_parts;			/* MD5 each part for the store (see md5_plan) */
	const unsigned char *whole_md5;	/* a whole object's MD5 for the store, or NULL */
};

/* A failed write in encryption_tmp_dir: a full disk names the directory
 * and the option, the one thing the operator must change. */
static int tmp_error(const char *dir, const char *what)
{
	if (errno == ENOSPC || errno == EDQUOT)
		return cst_error(CST_EIO, "encryption_tmp_dir %s is full (%s): give it room for "
				 "concurrent_transfers encrypted files, or point it elsewhere", dir,
				 strerror(errno));
	return cst_error_errno("%s encryption_tmp_dir %s", what, dir);
}

int pipeline_new(struct pipeline **out, const struct config *cfg, struct storage *st,
		 struct uploads *up, const struct crypto_key *key, struct crypto_md5_hub *md5hub)
{
	struct pipeline *p;
	int rc = 0;

	*out = NULL;
	if ((p = cst_calloc(1, sizeof(*p))) == NULL)
		return CST_ENOMEM;
	p->cfg = cfg;
	p->st = st;
	p->up = up;
	p->key = key;
	if ((p->tmpdir = pipeline_workdir(cfg)) == NULL)
		goto out;
	if ((rc = cst_mkdirs(p->tmpdir)) != 0) {
		free(p->tmpdir);
		p->tmpdir = NULL;
		goto out;
	}
	{
		char *dir = cst_sprintf("%s/enc-XXXXXX", p->tmpdir);

		free(p->tmpdir);
		p->tmpdir = dir;
	}
	if (p->tmpdir == NULL || (p->buf = cst_malloc(READ_CHUNK)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (mkdtemp(p->tmpdir) == NULL) {
		rc = tmp_error(cfg->encryption_tmp_dir, "cannot create a temp directory in");
		free(p->tmpdir);
		p->tmpdir = NULL;
		goto out;
	}
	if ((rc = crypto_md5_new_shared(&p->md5_src, md5hub)) != 0 ||
	    (rc = crypto_md5_new_shared(&p->md5_part, md5hub)) != 0 ||
	    (rc = crypto_codec_new(&p->codec)) != 0)
		goto out;
	/* Local storage on the temp dir's file system links each temp file in
	 * as the object: cutting it into parts would only add the copy that
	 * joins them. */
	p->whole = storage_takes_files_from(st, p->tmpdir);
	/* Those temp files are written past the page cache, as a restore's
	 * files are (direct.h): nothing reads them back soon. Temp files an
	 * upload sends on are read back at once, so they keep the cache. */
	if (p->whole && (p->outbuf = direct_buf_new(OUT_CAP)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	*out = p;
	p = NULL;
out:
	pipeline_free(p);
	return rc;
}

void pipeline_set_progress(struct pipeline *p, struct progress *progress)
{
	p->progress = progress;
}

void pipeline_set_journal(struct pipeline *p, struct journal *j)
{
	p->journal = j;
}

char *pipeline_workdir(const struct config *cfg)
{
	char *dir = cst_sprintf("%s/cassette-%s.work", cfg->encryption_tmp_dir, cfg->fqdn);

	if (dir == NULL)
		cst_error(CST_ENOMEM, "out of memory");
	return dir;
}

void pipeline_free(struct pipeline *p)
{
	if (p == NULL)
		return;
	if (p->tmpdir != NULL) {
		cst_remove_tree(p->tmpdir);
		free(p->tmpdir);
	}
	crypto_md5_free(p->md5_src);
	crypto_md5_free(p->md5_part);
	crypto_codec_free(p->codec);
	free(p->buf);
	if (p->outbuf != NULL) {
		explicit_bzero(p->outbuf, OUT_CAP);	/* a plaintext backup's bytes */
		free(p->outbuf);
	}
	free(p);
}

static ssize_t read_some(int fd, unsigned char *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

int pipeline_hash_file(struct pipeline *p, const char *path, unsigned char md5[16], uint64_t *size)
{
	return pipeline_hash_file_etag(p, path, md5, size, NULL);
}

int pipeline_hash_file_etag(struct pipeline *p, const char *path, unsigned char md5[16], uint64_t *size,
			    struct etag_prover *etag)
{
	uint64_t total = 0;
	ssize_t n;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return cst_error_errno("cannot open %s", path);
	if ((rc = crypto_md5_reset(p->md5_src)) != 0)
		goto out;
	while ((n = read_some(fd, p->buf, READ_CHUNK)) > 0) {
		if ((rc = crypto_md5_update(p->md5_src, p->buf, (size_t)n)) != 0 ||
		    (etag != NULL && (rc = etag_prover_update(etag, p->buf, (size_t)n)) != 0))
			goto out;
		total += (uint64_t)n;
	}
	if (n < 0) {
		rc = cst_error_errno("cannot read %s", path);
		goto out;
	}
	rc = crypto_md5_final(p->md5_src, md5);
	*size = total;
out:
	close(fd);
	return rc;
}

/* ---- the writer: temp part files handed to the upload pool --------------- */

static int open_part(struct writer *w)
{
	int rc;

	if ((rc = uploads_reserve(w->p->up)) != 0)
		return rc;
	if ((w->path = cst_sprintf("%s/part-XXXXXX", w->p->tmpdir)) == NULL) {
		uploads_release(w->p->up);
		return CST_ENOMEM;
	}
	if ((w->fd = mkstemp(w->path)) < 0) {
		rc = tmp_error(w->p->cfg->encryption_tmp_dir, "cannot create a temp file in");
		free(w->path);
		w->path = NULL;
		uploads_release(w->p->up);
		return rc;
	}
	w->in_part = 0;
	direct_init(&w->out, w->fd, w->p->outbuf, OUT_CAP, w->p->outbuf != NULL);
	return w->hash_parts ? crypto_md5_reset(w->p->md5_part) : 0;
}

/* Close the current part and queue it; the pool owns the file afterwards. */
static int submit_part(struct writer *w)
{
	unsigned char md5[16];
	const unsigned char *sum = NULL;
	char *path = w->path;
	int rc = 0;

	w->path = NULL;
	if (w->hash_parts) {
		rc = crypto_md5_final(w->p->md5_part, md5);
		sum = md5;
	} else if (w->mpu == NULL) {
		sum = w->whole_md5;
	}
	/* buffered bytes: the disk starts while the store takes them */
	if (direct_finish(&w->out) != 0 && rc == 0)
		rc = tmp_error(w->p->cfg->encryption_tmp_dir, "cannot write a temp file in");
	if (close(w->fd) != 0 && rc == 0)
		rc = tmp_error(w->p->cfg->encryption_tmp_dir, "cannot write a temp file in");
	w->fd = -1;
	if (rc != 0) {
		unlink(path);
		free(path);
		uploads_release(w->p->up);
		return rc;
	}
	w->parts++;
	if (w->mpu == NULL)
		return uploads_put(w->p->up, &w->batch, w->key, w->variant, w->flags, path, sum);
	return uploads_part(w->p->up, &w->batch, w->mpu, w->parts, path, sum);
}

static int write_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct writer *w = arg;
	int rc;

	while (len > 0) {
		size_t n = len;

		if (w->fd < 0 && (rc = open_part(w)) != 0)
			return rc;
		if (w->mpu != NULL && n > w->part_size - w->in_part)
			n = (size_t)(w->part_size - w->in_part);
		if (w->hash_parts && (rc = crypto_md5_update(w->p->md5_part, buf, n)) != 0)
			return rc;
		if (direct_write(&w->out, buf, n) != 0)
			return tmp_error(w->p->cfg->encryption_tmp_dir, "cannot write a temp file in");
		w->in_part += n;
		w->total += n;
		buf += n;
		len -= n;
		if (w->mpu != NULL && w->in_part == w->part_size && (rc = submit_part(w)) != 0)
			return rc;
	}
	return 0;
}

/* Journal an object just before the store makes it visible (journal.h). */
static int note_intent(struct pipeline *p, const struct snap_file *f, const char *key,
		       const char *variant, uint64_t size, const struct stored_object *out)
{
	struct journal_rec rec;

	if (p->journal == NULL)
		return 0;
	memset(&rec, 0, sizeof(rec));
	rec.ks = f->keyspace;
	rec.cf = f->table;
	rec.rel = f->rel;
	rec.key = key;
	rec.variant = variant;
	rec.size = size;
	rec.source_size = out->source_size;
	cst_hex(rec.source_md5, out->source_md5, 16);
	if (out->encrypted)
		cst_hex(rec.salt, out->salt, 32);
	return journal_intent(p->journal, &rec);
}

/* "...Data.db" with a "...CompressionInfo.db" beside it: Cassandra
 * compressed it already (LZ4 by default), zstd would only spend CPU. */
static int compressed_by_cassandra(const char *path)
{
	static const char data[] = "Data.db", info[] = "CompressionInfo.db";
	size_t len = strlen(path), base;
	char other[PATH_MAX];

	if (len < sizeof(data) - 1 || strcmp(path + len - (sizeof(data) - 1), data) != 0)
		return 0;
	base = len - (sizeof(data) - 1);
	if (base + sizeof(info) > sizeof(other))
		return 0;
	memcpy(other, path, base);
	memcpy(other + base, info, sizeof(info));
	return access(other, F_OK) == 0;
}

enum crypto_compress pipeline_compression(const struct config *cfg, const char *path)
{
	if (!cfg->encrypt || cfg->compression == CRYPTO_COMPRESS_NONE)
		return CRYPTO_COMPRESS_NONE;
	if (cfg->compression == CRYPTO_COMPRESS_AUTO && compressed_by_cassandra(path))
		return CRYPTO_COMPRESS_NONE;
	return (enum crypto_compress)cfg->compression;
}

/* Read the file once, feeding the source MD5 and (encrypted or not) the writer. */
static int encode(struct pipeline *p, int src, const struct snap_file *f, const char *path,
		  const char *fqdn, struct writer *w, struct stored_object *out)
{
	struct crypto_identity id = { fqdn, f->keyspace, f->table, f->rel };
	struct crypto_enc_params params = { .segment_size = p->cfg->segment_size,
					    .compress = pipeline_compression(p->cfg, path),
					    .codec = p->codec };
	struct crypto_stream *enc = NULL;
	ssize_t n;
	int rc = 0;

	if (p->key != NULL && (rc = crypto_encryptor_new(&enc, p->key, &id, &params)) != 0)
		return rc;
	while ((n = read_some(src, p->buf, READ_CHUNK)) > 0) {
		/* The MD5 is queued on the hub, where it shares SIMD lanes with
		 * the other encoders' MD5s, while this thread encrypts the same
		 * bytes; the buffer is reused only after the wait. */
		if ((rc = crypto_md5_submit(p->md5_src, p->buf, (size_t)n)) != 0)
			goto out;
		rc = enc ? crypto_stream_update(enc, p->buf, (size_t)n, write_sink, w)
			 : write_sink(w, p->buf, (size_t)n);
		crypto_md5_wait(p->md5_src);
		if (rc != 0)
			goto out;
		out->source_size += (uint64_t)n;
		progress_add_bytes(p->progress, (uint64_t)n);
	}
	if (n < 0) {
		rc = cst_error_errno("cannot read %s", path);
		goto out;
	}
	/* Known now, before the last part goes: a plaintext whole object
	 * hands it to the store as the stored bytes' MD5. */
	if ((rc = crypto_md5_final(p->md5_src, out->source_md5)) != 0)
		goto out;
	if (enc != NULL) {
		if ((rc = crypto_stream_final(enc, write_sink, w)) != 0)
			goto out;
		memcpy(out->salt, crypto_stream_header(enc)->salt, sizeof(out->salt));
		out->encrypted = 1;
	}
	if (w->fd < 0 && w->parts == 0 && (rc = open_part(w)) != 0)	/* empty plaintext */
		goto out;
	/* a whole object becomes visible with this put: journal it first */
	if (w->fd >= 0 && w->mpu == NULL &&
	    (rc = note_intent(p, f, w->key, (w->flags & STORAGE_PUT_NO_OVERWRITE) ? w->variant : NULL,
			      w->total, out)) != 0)
		goto out;
	if (w->fd >= 0)
		rc = submit_part(w);
out:
	crypto_stream_free(enc);
	return rc;
}

static uint64_t part_size_for(uint64_t stored)
{
	uint64_t part = (stored + MAX_PARTS - 1) / MAX_PARTS;

	part = (part + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	return part < MIN_PART ? MIN_PART : part;
}

/* Stores refuse an existing key only when a multipart upload completes,
 * after every part was sent: look first, so a taken key costs one HEAD. The
 * create-only commit stays as the guard (the per-node lock makes the race
 * between the look and the commit ours alone). */
static int begin_multipart(struct writer *w, const char *key, const char *variant, int flags,
			   int *used_variant)
{
	struct storage_stat st;
	int rc;

	if ((flags & STORAGE_PUT_NO_OVERWRITE) && variant != NULL) {
		rc = storage_stat(w->p->st, key, &st);
		if (rc == 0) {
			*used_variant = 1;
			return storage_upload_begin(&w->mpu, w->p->st, variant,
						    flags & ~STORAGE_PUT_NO_OVERWRITE);
		}
		if (rc != CST_ENOTFOUND)
			return rc;
		cst_error_clear();
	}
	return storage_upload_begin(&w->mpu, w->p->st, key, flags);
}

/*
 * Which MD5s the store gets, so each plaintext byte is hashed once (the
 * source MD5) unless the store's transport checks nothing else:
 * - a plaintext whole object: its bytes are the source, so the source MD5
 *   goes along for free (unless the store has no use for it);
 * - a part, or an encrypted object: its MD5 would cost a second pass, made
 *   only when the store says nothing else checks the bytes on the way
 *   (STORAGE_MD5_ALWAYS: S3 over plain http). Otherwise the store's own
 *   ETag stands for the stored bytes, and the AEAD tags prove them.
 */
static void md5_plan(struct writer *w, const struct stored_object *out, int encrypted)
{
	int use = storage_md5_use(w->p->st);

	w->hash_parts = use == STORAGE_MD5_ALWAYS && (encrypted || w->mpu != NULL);
	w->whole_md5 = !encrypted && use != STORAGE_MD5_NEVER ? out->source_md5 : NULL;
}

/* The manifest's MD5 of the stored object: the store's ETag; where the store
 * keeps none (local), the source MD5 for plaintext, whose stored bytes are
 * the source, and "" for encrypted objects, whose AEAD tags prove them. */
static int record_etag(struct stored_object *out, const struct storage_stat *got,
		       uint64_t sent, const char *key)
{
	if (got->size != sent)
		return cst_error(CST_EINTEGRITY, "storage holds %llu bytes of %s, %llu were sent",
				 (unsigned long long)got->size, key, (unsigned long long)sent);
	if (got->etag[0] != '\0') {
		if (strlen(got->etag) >= sizeof(out->etag))
			return cst_error(CST_EINVALID, "the store's ETag '%s' of %s is no MD5",
					 got->etag, key);
		memcpy(out->etag, got->etag, strlen(got->etag) + 1);
	} else if (!out->encrypted) {
		cst_hex(out->etag, out->source_md5, 16);
	} else {
		out->etag[0] = '\0';
	}
	out->size = sent;
	return 0;
}

int pipeline_store(struct pipeline *p, const struct snap_file *f, const char *fqdn,
		   const char *key, const char *variant, int flags, struct stored_object *out)
{
	struct writer w;
	struct storage_stat got;
	uint64_t stored = f->size, least;
	int src = -1, rc, wrc, placed = 0;
	char path[PATH_MAX];

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	memset(&got, 0, sizeof(got));
	w.p = p;
	w.fd = -1;
	w.key = key;
	w.variant = variant;
	/* Part files are never touched once submitted: the store may keep
	 * them instead of copying (local, on the same file system). */
	w.flags = flags | STORAGE_PUT_HANDOVER;
	uploads_batch_init(&w.batch);
	if ((rc = snapshot_file_path(path, sizeof(path), f)) != 0)
		goto out;
	/* the most it can take (compressed segments: every one raw) picks
	 * whole or multipart, and the part size */
	if (p->key != NULL &&
	    (rc = crypto_object_size_range(&least, &stored, f->size, p->cfg->segment_size,
					   pipeline_compression(p->cfg, path) != CRYPTO_COMPRESS_NONE)) != 0) {
		rc = cst_error(rc, "%s: %llu bytes is too large for segments of %u", path,
			       (unsigned long long)f->size, p->cfg->segment_size);
		goto out;
	}
	if ((src = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("cannot open %s", path);
		goto out;
	}
	if ((rc = crypto_md5_reset(p->md5_src)) != 0)
		goto out;
	if (stored > p->cfg->multipart_threshold && !p->whole) {
		w.part_size = part_size_for(stored);
		if ((rc = begin_multipart(&w, key, variant, w.flags, &out->used_variant)) != 0)
			goto out;
	}
	md5_plan(&w, out, p->key != NULL);
	rc = encode(p, src, f, path, fqdn, &w, out);
	if (w.fd >= 0) {	/* failed mid-part: the part never reached the pool */
		close(w.fd);
		unlink(w.path);
		free(w.path);
		uploads_release(p->up);
	}
	wrc = uploads_wait(&w.batch);	/* always: nothing may be in flight below */
	if (rc == 0)
		rc = wrc;
	if (rc == 0 && out->source_size != f->size)
		rc = cst_error(CST_EINVALID, "%s changed during the backup (%llu bytes, snapshot had %llu)",
			       path, (unsigned long long)out->source_size, (unsigned long long)f->size);
	if (w.mpu == NULL) {
		placed = wrc == 0 && w.parts > 0;
		out->used_variant = w.batch.used_variant;
		got = w.batch.put;
	} else if (rc == 0 && (rc = note_intent(p, f, out->used_variant ? variant : key, NULL, w.total,
						out)) == 0) {
		rc = storage_upload_commit(w.mpu, w.parts, &got);
		/* integrity: in place, but not what was sent */
		placed = rc == 0 || rc == CST_EINTEGRITY;
	}
	if (rc == 0)
		rc = record_etag(out, &got, w.total, out->used_variant ? variant : key);
	/* Sent, then found wrong: the object is this run's, and must go. */
	if (rc != 0 && placed)
		storage_delete(p->st, out->used_variant ? variant : key);
out:
	storage_upload_free(w.mpu);	/* aborts unless committed */
	uploads_batch_destroy(&w.batch);
	if (src >= 0)
		close(src);
	return rc;
}
