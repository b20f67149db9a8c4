/* fetch: restore's worker pool; see fetch.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "config.h"
#include "direct.h"
#include "etag.h"
#include "fernet.h"
#include "fetch.h"
#include "manifest.h"
#include "progress.h"
#include "keys.h"
#include "storage.h"
#include "util.h"

#define MAX_WORKERS 32
/* Each worker's direct-write buffer: together at most 8 MiB, each 256 KiB to
 * 1 MiB (four local workers get 1 MiB; 32 on S3 get 256 KiB, so a restore
 * stays well under 64 MiB). A direct write of 256 KiB already keeps a disk
 * busy with a few in flight. */
#define OUT_BUDGET (8u << 20)
#define OUT_MIN (256u << 10)
#define OUT_MAX (1u << 20)
/* Returned by a sink to abandon a download once another worker failed; the
 * first failure's message is what gets reported. */
#define STOPPED CST_ERROR

struct pool {
	const struct fetch_params *p;
	struct fetch_job **order;	/* largest first */
	size_t n, next;
	pthread_mutex_t lock;
	atomic_int stop;		/* a worker failed, or a signal came */
	int rc;				/* the first failure */
	char msg[1024];
	size_t out_cap;			/* each worker's direct-write buffer */
};

/* One file in flight: where its plaintext goes. */
struct sink {
	struct pool *pool;
	int fd;
	struct direct_out out;		/* of fd */
	const char *path;
};

/* One object in flight through fetch_object(): what its bytes must add up to. */
struct proof {
	struct crypto_stream *dec;	/* NULL for plaintext objects */
	struct fernet_reader *fr;	/* Medusa's encrypted objects */
	struct crypto_md5 *md5;		/* NULL: no MD5 to prove */
	struct etag_prover *etag;	/* a multipart ETag to prove (no source MD5) */
	crypto_sink_fn out;
	void *arg;
	uint64_t stored, plain;
	int out_failed;			/* the caller's sink stopped it */
	int dec_failed;			/* the decryptor refused the bytes */
};

/*
 * Local storage: a download is CPU (AES-GCM, a few GB/s a core) and disk
 * work, and each file ends in an fsync that waits for the disk: two workers
 * a core, so one core decrypts while the other's file is being synced. S3: a
 * GET spends most of its time waiting on the network, and
 * concurrent_transfers is what the operator sized for the link, so at least
 * that many are in flight. Each worker holds one segment buffer (1 MiB by
 * default) and one temp file, so the cap bounds memory and open files
 * whatever the backup's size.
 */
unsigned fetch_worker_count(int remote, unsigned concurrent_transfers, size_t n_jobs)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = cpus > 0 ? 2 * (unsigned)cpus : 2;

	if (remote && concurrent_transfers > n)
		n = concurrent_transfers;
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	if (n_jobs < n)
		n = n_jobs > 0 ? (unsigned)n_jobs : 1;
	return n;
}

char *fetch_dest(const char *target_dir, const struct fetch_job *j)
{
	if (j->tab->dir != NULL)
		return cst_sprintf("%s/%s", j->tab->dir, fetch_rel(j));
	return cst_sprintf("%s/%s/%s/%s", target_dir, j->tab->keyspace, j->tab->columnfamily,
			   fetch_rel(j));
}

/* dest's temp name: dest with its last component cut to what fits NAME_MAX
 * beside FETCH_TMP_SUFFIX and the 6-byte `tag` ("XXXXXX" for mkstemp). A
 * file name of 255 bytes backs up, so it must restore. */
static char *tmp_name(const char *dest, const char *tag)
{
	const char *slash = strrchr(dest, '/'), *base = slash != NULL ? slash + 1 : dest;
	size_t keep = strlen(base), room = NAME_MAX - (sizeof(FETCH_TMP_SUFFIX) - 1) - 6;

	if (keep > room)
		keep = room;
	return cst_sprintf("%.*s%.*s" FETCH_TMP_SUFFIX "%s", (int)(base - dest), dest, (int)keep, base,
			   tag);
}

char *fetch_tmp(const char *target_dir, const struct fetch_job *j)
{
	char *dest, *tmp;

	if (j->tmp_tag[0] == '\0' || (dest = fetch_dest(target_dir, j)) == NULL)
		return NULL;
	tmp = tmp_name(dest, j->tmp_tag);
	free(dest);
	return tmp;
}

static void fail(struct pool *pool, int rc)
{
	pthread_mutex_lock(&pool->lock);
	if (pool->rc == 0) {
		pool->rc = rc;
		snprintf(pool->msg, sizeof(pool->msg), "%s", cst_error_msg());
	}
	pthread_mutex_unlock(&pool->lock);
	atomic_store(&pool->stop, 1);
}

static int stopping(struct pool *pool)
{
	if (cassette_interrupted)
		atomic_store(&pool->stop, 1);
	return atomic_load(&pool->stop);
}

/* A failed write of a restored file: a full disk names the target, the one
 * thing the operator must change. */
static int write_error(const struct pool *pool, const char *tmp)
{
	if (errno == ENOSPC || errno == EDQUOT)
		return cst_error(CST_EIO, "restore target %s is full (%s) writing %s",
				 pool->p->target_dir, strerror(errno), tmp);
	return cst_error_errno("cannot write %s", tmp);
}

static int write_plain(void *arg, const unsigned char *buf, size_t len)
{
	struct sink *s = arg;

	if (stopping(s->pool))
		return cst_error(STOPPED, "stopped");
	if (direct_write(&s->out, buf, len) != 0)
		return write_error(s->pool, s->path);
	progress_add_bytes(s->pool->p->progress, len);
	return 0;
}

/* Verified plaintext: hashed, counted, handed on. */
static int to_out(void *arg, const unsigned char *buf, size_t len)
{
	struct proof *pr = arg;
	int rc;

	if (pr->md5 && (rc = crypto_md5_update(pr->md5, buf, len)) != 0)
		return rc;
	if (pr->etag && (rc = etag_prover_update(pr->etag, buf, len)) != 0)
		return rc;
	pr->plain += len;
	if (pr->out != NULL && (rc = pr->out(pr->arg, buf, len)) != 0) {
		pr->out_failed = 1;
		return rc;
	}
	return 0;
}

static int from_storage(void *arg, const unsigned char *buf, size_t len)
{
	struct proof *pr = arg;
	int rc;

	pr->stored += len;
	if (pr->fr != NULL) {
		if ((rc = fernet_reader_update(pr->fr, buf, len, to_out, pr)) != 0 && !pr->out_failed)
			pr->dec_failed = 1;
		return rc;
	}
	if (pr->dec == NULL)
		return to_out(pr, buf, len);
	if ((rc = crypto_stream_update(pr->dec, buf, len, to_out, pr)) != 0 && !pr->out_failed)
		pr->dec_failed = 1;
	return rc;
}

static int prove_sizes(const struct manifest_rec *obj, const struct proof *pr, int *fault)
{
	if (pr->stored != obj->size) {
		*fault = FETCH_FAULT_SIZE;
		return cst_error(CST_EINTEGRITY, "object %s is %" PRIu64 " bytes, the manifest says %" PRIu64,
				 obj->path, pr->stored, obj->size);
	}
	if (pr->plain != obj->source_size) {
		*fault = FETCH_FAULT_SOURCE_SIZE;
		return cst_error(CST_EINTEGRITY, "%s decodes to %" PRIu64 " bytes, the manifest says %" PRIu64,
				 obj->path, pr->plain, obj->source_size);
	}
	return 0;
}

static int prove_md5(const struct manifest_rec *obj, struct crypto_md5 *h, int *fault)
{
	unsigned char md5[16];
	char hex[33], want[33];
	int rc;

	if ((rc = crypto_md5_final(h, md5)) != 0)
		return rc;
	if (memcmp(md5, obj->source_md5, sizeof(md5)) != 0) {
		cst_hex(hex, md5, sizeof(md5));
		cst_hex(want, obj->source_md5, sizeof(md5));
		*fault = FETCH_FAULT_SOURCE_MD5;
		return cst_error(CST_EINTEGRITY, "object %s has MD5 %s, the manifest says %s",
				 obj->path, hex, want);
	}
	return 0;
}

/* An object known only by its multipart ETag (Medusa's, without
 * source_MD5): the bytes must give that ETag under one candidate part size. */
static int prove_etag(const struct manifest_rec *obj, struct etag_prover *e, int *fault)
{
	char hex[33];
	int rc;

	if ((rc = etag_prover_match(e, obj->md5, NULL)) < 0)
		return rc;
	if (rc == 0) {
		cst_hex(hex, obj->md5, sizeof(obj->md5));
		*fault = FETCH_FAULT_MD5;
		return cst_error(CST_EINTEGRITY, "object %s does not give its multipart ETag %s%s "
				 "under any part size tried (docs/FORMAT.md, \"Medusa and cassette\")",
				 obj->path, hex, obj->etag_tail);
	}
	return 0;
}

int fetch_medusa_key(struct fernet_key **out, const struct config *cfg, const char *backup,
		     const char *object)
{
	*out = NULL;
	if (cfg->medusa_key_base64 == NULL) {
		cst_error(CST_EAUTH, "backup %s holds objects encrypted by Medusa (%s, ...) and no key "
			  "is configured: set [storage] key_secret_base64 to Medusa's key", backup, object);
		return CMD_USAGE;
	}
	return fernet_key_parse(out, cfg->medusa_key_base64, "[storage] key_secret_base64");
}

/* A Medusa object whose first token fails: most likely the key. */
static int fernet_failed(const struct manifest_rec *rec, const struct proof *pr, int rc)
{
	char saved[700];

	if (rc != CST_EINTEGRITY || fernet_reader_chunks(pr->fr) != 0 ||
	    strstr(cst_error_msg(), "authentication") == NULL)
		return rc;
	snprintf(saved, sizeof(saved), "%s", cst_error_msg());
	return cst_error(rc, "%s; is [storage] key_secret_base64 the key Medusa wrote %s with?", saved,
			 rec->path);
}

int fetch_object(struct storage *st, struct keyset *keys, const struct fernet_key *medusa_key,
		 const struct crypto_identity *id, const struct manifest_rec *rec, struct crypto_md5 *md5, crypto_sink_fn out, void *arg,
		 int *fault)
{
	struct proof pr;
	int rc, ignored;

	if (fault == NULL)
		fault = &ignored;
	*fault = FETCH_FAULT_NONE;
	memset(&pr, 0, sizeof(pr));
	pr.out = out;
	pr.arg = arg;
	if (rec->encrypted) {
		const struct crypto_key *key = NULL;

		if (keys == NULL)
			rc = cst_error(CST_EAUTH, "object %s is encrypted and no key is loaded", rec->path);
		else if ((rc = keys_resolve(keys, rec->key_id, &key)) != 0)
			rc = cst_error(rc, "object %s: %s", rec->path, cst_error_msg());
		if (rc != 0) {
			*fault = FETCH_FAULT_AUTH;
			goto out;
		}
		if ((rc = crypto_decryptor_new(&pr.dec, key, id, rec->salt)) != 0)
			goto out;
	} else if (rec->fernet) {
		if (medusa_key == NULL) {
			*fault = FETCH_FAULT_AUTH;
			rc = cst_error(CST_EAUTH, "object %s is encrypted by Medusa and no key is "
				       "configured: set [storage] key_secret_base64", rec->path);
			goto out;
		}
		if ((rc = fernet_reader_new(&pr.fr, medusa_key, rec->path)) != 0)
			goto out;
	}
	if (rec->no_source) {
		/* no plaintext MD5 to prove: the store's multipart ETag instead */
		md5 = NULL;
		if ((rc = etag_prover_new(&pr.etag, rec->size, (unsigned)strtoul(rec->etag_tail + 1, NULL, 10),
					  rec->path)) != 0) {
			if (rc == CST_EINTEGRITY)
				*fault = FETCH_FAULT_MD5;
			goto out;
		}
	}
	pr.md5 = md5;
	if (md5 != NULL && (rc = crypto_md5_reset(md5)) != 0)
		goto out;
	if ((rc = storage_get(st, rec->path, from_storage, &pr)) != 0) {
		if (rc == CST_ENOTFOUND && !pr.out_failed)
			*fault = FETCH_FAULT_MISSING;
		else if (pr.dec_failed)
			*fault = FETCH_FAULT_AUTH;
		if (pr.dec_failed && pr.fr != NULL)
			rc = fernet_failed(rec, &pr, rc);
		goto out;
	}
	/* A cut or grown object: its size says more than the tag that fails. */
	if (pr.stored != rec->size) {
		rc = prove_sizes(rec, &pr, fault);
		goto out;
	}
	if (pr.dec != NULL && (rc = crypto_stream_final(pr.dec, to_out, &pr)) != 0) {
		if (!pr.out_failed)
			*fault = FETCH_FAULT_AUTH;
		goto out;
	}
	if (pr.fr != NULL && (rc = fernet_reader_final(pr.fr)) != 0) {
		*fault = FETCH_FAULT_AUTH;
		goto out;
	}
	if ((rc = prove_sizes(rec, &pr, fault)) != 0 || (md5 != NULL && (rc = prove_md5(rec, md5, fault)) != 0) ||
	    (pr.etag != NULL && (rc = prove_etag(rec, pr.etag, fault)) != 0))
		goto out;
out:
	etag_prover_free(pr.etag);
	crypto_stream_free(pr.dec);
	fernet_reader_free(pr.fr);
	return rc;
}

/* Name the file and its object once, in front of the cause. */
static int name_failure(const struct fetch_job *j, int rc)
{
	char saved[900];

	if (rc == CST_ENOMEM || strstr(cst_error_msg(), j->rec.path) != NULL)
		return rc;
	snprintf(saved, sizeof(saved), "%s", cst_error_msg());
	return cst_error(rc, "%s.%s/%s (object %s): %s", j->tab->keyspace, j->tab->columnfamily,
			 fetch_rel(j), j->rec.path, saved);
}

static int fetch_one(struct pool *pool, struct fetch_job *j, struct crypto_md5 *md5,
		     unsigned char *outbuf)
{
	const struct fetch_params *p = pool->p;
	struct crypto_identity id = { p->fqdn, j->tab->keyspace, j->tab->columnfamily, fetch_rel(j) };
	char *dest = NULL, *tmp = NULL;
	struct sink s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.pool = pool;
	s.fd = -1;
	if ((dest = fetch_dest(p->target_dir, j)) == NULL ||
	    (tmp = tmp_name(dest, "XXXXXX")) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((s.fd = mkstemp(tmp)) < 0) {
		rc = write_error(pool, tmp);
		goto out;
	}
	memcpy(j->tmp_tag, tmp + strlen(tmp) - 6, sizeof(j->tmp_tag));
	direct_init(&s.out, s.fd, outbuf, pool->out_cap, 1);
	s.path = tmp;
	/* the AEAD tags prove an encrypted object; a plaintext one or one of
	 * Medusa's (Fernet binds no chunk order), its MD5 */
	if ((rc = fetch_object(p->st, p->keys, p->medusa_key, &id, &j->rec, j->rec.encrypted ? NULL : md5,
			       write_plain, &s, NULL)) != 0)
		goto out;
	if (direct_finish(&s.out) != 0 || fchmod(s.fd, 0644) != 0)
		rc = write_error(pool, tmp);
	else if (p->chown && fchown(s.fd, p->uid, p->gid) != 0)
		rc = cst_error_errno("cannot give %s owner %u:%u", tmp, (unsigned)p->uid, (unsigned)p->gid);
	else if (fsync(s.fd) != 0)
		rc = write_error(pool, tmp);
out:
	if (s.fd >= 0 && close(s.fd) != 0 && rc == 0)
		rc = write_error(pool, tmp);
	free(dest);
	free(tmp);
	return rc != 0 ? name_failure(j, rc) : 0;
}

static void *worker(void *arg)
{
	struct pool *pool = arg;
	struct crypto_md5 *md5 = NULL;
	unsigned char *outbuf;
	int rc;

	if ((outbuf = direct_buf_new(pool->out_cap)) == NULL) {
		fail(pool, CST_ENOMEM);
		return NULL;
	}
	if ((rc = crypto_md5_new(&md5)) != 0) {
		fail(pool, rc);
		free(outbuf);
		return NULL;
	}
	for (;;) {
		struct fetch_job *j = NULL;

		pthread_mutex_lock(&pool->lock);
		if (pool->next < pool->n)
			j = pool->order[pool->next++];
		pthread_mutex_unlock(&pool->lock);
		if (j == NULL || stopping(pool))
			break;
		if ((rc = fetch_one(pool, j, md5, outbuf)) != 0) {
			/* a download abandoned for a signal is not this file's fault */
			fail(pool, cassette_interrupted ? cst_error(CST_ERROR, "interrupted") : rc);
			break;
		}
		progress_file_done(pool->p->progress, 0);
	}
	crypto_md5_free(md5);
	explicit_bzero(outbuf, pool->out_cap);	/* it held plaintext */
	free(outbuf);
	return NULL;
}

static int larger_first(const void *a, const void *b)
{
	const struct fetch_job *x = *(const struct fetch_job *const *)a;
	const struct fetch_job *y = *(const struct fetch_job *const *)b;

	if (x->rec.source_size != y->rec.source_size)
		return x->rec.source_size > y->rec.source_size ? -1 : 1;
	return x < y ? -1 : x > y;	/* then in manifest order */
}

int fetch_all(struct fetch_job *jobs, size_t n_jobs, const struct fetch_params *p)
{
	pthread_t threads[MAX_WORKERS];
	unsigned n = p->workers, started = 0, t;
	struct pool pool;
	size_t i;

	memset(&pool, 0, sizeof(pool));
	if ((pool.order = cst_calloc(n_jobs ? n_jobs : 1, sizeof(*pool.order))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n_jobs; i++)
		pool.order[i] = &jobs[i];
	/* the biggest files start first, so none of them is left for the end */
	qsort(pool.order, n_jobs, sizeof(*pool.order), larger_first);
	pool.p = p;
	pool.n = n_jobs;
	pthread_mutex_init(&pool.lock, NULL);
	atomic_init(&pool.stop, 0);
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	if (n > n_jobs)
		n = n_jobs ? (unsigned)n_jobs : 1;
	pool.out_cap = OUT_BUDGET / n;
	pool.out_cap = pool.out_cap < OUT_MIN ? OUT_MIN : pool.out_cap > OUT_MAX ? OUT_MAX : pool.out_cap;
	pool.out_cap &= ~(size_t)(DIRECT_ALIGN - 1);
	for (t = 0; t < n; t++) {
		if (pthread_create(&threads[t], NULL, worker, &pool) != 0) {
			fail(&pool, cst_error(CST_ERROR, "cannot start restore threads"));
			break;
		}
		started++;
	}
	for (t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	if (pool.rc == 0 && cassette_interrupted)
		fail(&pool, cst_error(CST_ERROR, "interrupted"));
	if (pool.rc == 0 && pool.next < pool.n)	/* cannot happen: every worker drains */
		fail(&pool, cst_error(CST_ERROR, "restore stopped before every file was fetched"));
	pthread_mutex_destroy(&pool.lock);
	free(pool.order);
	if (pool.rc != 0)
		return cst_error(pool.rc, "%s", pool.msg);
	return 0;
}
