/*
 * verify: the checks of each object. Existence and size come from listings
 * (one pass per folder, not a request per object); the ETag (S3) and the
 * header need one request per object, the deep check reads the object whole.
 * Those run in parallel, concurrent_transfers at a time on S3.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "verify_int.h"

#define MAX_WORKERS 32

void verify_flag(struct verify_item *it, int problem, const char *fmt, ...)
{
	va_list ap;
	char *nl;

	free(it->detail);
	it->detail = NULL;
	it->problem = (uint8_t)problem;
	va_start(ap, fmt);
	if (vasprintf(&it->detail, fmt, ap) < 0)
		it->detail = NULL;
	va_end(ap);
	while (it->detail && (nl = strchr(it->detail, '\n')) != NULL)
		*nl = ' ';	/* one line, in the report and in the record */
}

/* ---- the listings ---------------------------------------------------------- */

struct listing {
	struct verify_item **sorted;	/* by key */
	size_t n;
};

static int by_path(const void *a, const void *b)
{
	const struct verify_item *x = *(const struct verify_item *const *)a;
	const struct verify_item *y = *(const struct verify_item *const *)b;

	return strcmp(x->job.rec.path, y->job.rec.path);
}

static int on_listed(void *arg, const char *key, uint64_t size)
{
	struct listing *l = arg;
	size_t lo = 0, hi = l->n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(l->sorted[mid]->job.rec.path, key);
		if (c == 0) {
			/* a key the manifest names more than once: each entry */
			while (mid > 0 && strcmp(l->sorted[mid - 1]->job.rec.path, key) == 0)
				mid--;
			for (; mid < l->n && strcmp(l->sorted[mid]->job.rec.path, key) == 0; mid++) {
				l->sorted[mid]->listed = 1;
				l->sorted[mid]->listed_size = size;
			}
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int verify_listing(struct verify *v)
{
	const struct config *cfg = v->cfg;
	const char *sep = cfg->prefix[0] ? "/" : "";
	char *folder[2] = { NULL, NULL };
	struct listing l = { NULL, 0 };
	size_t i, f;
	int rc = 0;

	if ((l.sorted = cst_calloc(v->n_items ? v->n_items : 1, sizeof(*l.sorted))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < v->n_items; i++)
		if (v->items[i].problem == VP_OK)
			l.sorted[l.n++] = &v->items[i];
	qsort(l.sorted, l.n, sizeof(*l.sorted), by_path);
	folder[0] = cst_sprintf("%s%s%s/data/", cfg->prefix, sep, cfg->fqdn);
	folder[1] = cst_sprintf("%s%s%s/%s/data/", cfg->prefix, sep, cfg->fqdn, v->o->name);
	if (folder[0] == NULL || folder[1] == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (f = 0; f < 2 && rc == 0; f++) {
		size_t len = strlen(folder[f]);

		/* a folder that no object of the manifest is in is not listed */
		for (i = 0; i < l.n; i++)
			if (strncmp(l.sorted[i]->job.rec.path, folder[f], len) == 0)
				break;
		if (i < l.n)
			rc = storage_list(v->st, folder[f], on_listed, &l);
	}
	if (rc != 0)
		goto out;
	for (i = 0; i < l.n; i++) {
		struct verify_item *it = l.sorted[i];

		if (!it->listed)
			verify_flag(it, VP_MISSING, "no object %s", it->job.rec.path);
		else if (it->listed_size != it->job.rec.size)
			verify_flag(it, VP_SIZE, "object %s is %" PRIu64 " bytes, the manifest says %" PRIu64,
				    it->job.rec.path, it->listed_size, it->job.rec.size);
	}
out:
	free(folder[0]);
	free(folder[1]);
	free(l.sorted);
	return rc;
}

/* ---- one object -------------------------------------------------------------- */

/* The 64-byte header against the manifest: key id, salt, and the stored size
 * that its segment size gives for source_size. */
static int check_header(struct verify *v, struct verify_item *it)
{
	const struct manifest_rec *rec = &it->job.rec;
	struct crypto_header hdr;
	unsigned char head[CRYPTO_HEADER_LEN];
	size_t head_len;
	char got[2 * CRYPTO_KEYID_LEN + 1], want[2 * CRYPTO_KEYID_LEN + 1];
	uint64_t expect, least;
	int rc;

	rc = storage_get_head(v->st, rec->path, head, sizeof(head), &head_len);
	if (rc == CST_ENOTFOUND) {
		verify_flag(it, VP_MISSING, "no object %s", rec->path);
		return 0;
	}
	if (rc != 0)
		return rc;
	if ((rc = crypto_header_parse(&hdr, head, head_len)) != 0) {
		verify_flag(it, VP_HEADER, "%s", cst_error_msg());
		return 0;
	}
	if (memcmp(hdr.key_id, rec->key_id, CRYPTO_KEYID_LEN) != 0) {
		cst_hex(got, hdr.key_id, CRYPTO_KEYID_LEN);
		cst_hex(want, rec->key_id, CRYPTO_KEYID_LEN);
		verify_flag(it, VP_KEY_ID, "the header's key id is %s, the manifest says %s", got, want);
		return 0;
	}
	if (memcmp(hdr.salt, rec->salt, CRYPTO_SALT_LEN) != 0) {
		verify_flag(it, VP_HEADER, "the header's salt is not the manifest's");
		return 0;
	}
	if (!(hdr.flags & CRYPTO_FLAG_SEGMENT_KINDS)) {
		expect = crypto_object_size(rec->source_size, hdr.segment_size);
		if (expect != it->listed_size)
			verify_flag(it, VP_SIZE, "object is %" PRIu64 " bytes, but %" PRIu64 " plaintext bytes "
				    "in segments of %" PRIu32 " make %" PRIu64, it->listed_size,
				    rec->source_size, hdr.segment_size, expect);
		return 0;
	}
	/* compressed segments: the stored size is the manifest's, and within
	 * what the plaintext's segments can take */
	crypto_object_size_range(&least, &expect, rec->source_size, hdr.segment_size, 1);
	if (it->listed_size != rec->size)
		verify_flag(it, VP_SIZE, "object is %" PRIu64 " bytes, the manifest says %" PRIu64,
			    it->listed_size, rec->size);
	else if (it->listed_size < least || it->listed_size > expect)
		verify_flag(it, VP_SIZE, "object is %" PRIu64 " bytes, but %" PRIu64 " plaintext bytes in "
			    "compressed segments of %" PRIu32 " take %" PRIu64 " to %" PRIu64,
			    it->listed_size, rec->source_size, hdr.segment_size, least, expect);
	return 0;
}

/* The store's ETag against the manifest's MD5 (the same string, multipart
 * ETags included). */
static int check_etag(struct verify *v, struct verify_item *it)
{
	struct manifest_object obj;
	struct storage_stat ss;
	int rc;

	manifest_rec_unpack(&obj, &it->job.rec);
	if (obj.md5[0] == '\0')
		return 0;
	if ((rc = storage_stat(v->st, obj.path, &ss)) == CST_ENOTFOUND) {
		verify_flag(it, VP_MISSING, "no object %s", obj.path);
		return 0;
	}
	if (rc != 0)
		return rc;
	if (ss.etag[0] == '\0')
		return 0;
	if (strcasecmp(ss.etag, obj.md5) != 0)
		verify_flag(it, VP_MD5, "the store's ETag is %s, the manifest's MD5 %s", ss.etag, obj.md5);
	return 1;	/* compared */
}

static int check_deep(struct verify *v, struct verify_item *it, struct crypto_md5 *md5)
{
	const struct fetch_job *j = &it->job;
	struct crypto_identity id = { v->cfg->fqdn, j->tab->keyspace, j->tab->columnfamily, fetch_rel(j) };
	int rc, fault;

	rc = fetch_object(v->st, v->keys, v->medusa_key, &id, &j->rec, md5, NULL, NULL, &fault);
	if (rc == 0)
		return 0;
	switch (fault) {
	case FETCH_FAULT_MISSING: verify_flag(it, VP_MISSING, "no object %s", j->rec.path); break;
	case FETCH_FAULT_SIZE: verify_flag(it, VP_SIZE, "%s", cst_error_msg()); break;
	case FETCH_FAULT_AUTH:
		if (rc == CST_EAUTH)
			verify_flag(it, VP_KEY_ID, "%s", cst_error_msg());
		else
			verify_flag(it, VP_AUTH, "%s", cst_error_msg());
		break;
	case FETCH_FAULT_SOURCE_SIZE: verify_flag(it, VP_SOURCE_SIZE, "%s", cst_error_msg()); break;
	case FETCH_FAULT_SOURCE_MD5: verify_flag(it, VP_SOURCE_MD5, "%s", cst_error_msg()); break;
	case FETCH_FAULT_MD5: verify_flag(it, VP_MD5, "%s", cst_error_msg()); break;
	default: return rc;
	}
	return 0;
}

/* ---- the workers --------------------------------------------------------------- */

struct pool {
	struct verify *v;
	size_t next;
	pthread_mutex_t lock;
	atomic_int stop;
	int rc;
	char msg[1024];
	size_t n_deep, n_headers, n_etags;
};

static void check_one(struct pool *p, struct verify_item *it, struct crypto_md5 *md5)
{
	struct verify *v = p->v;
	int rc = 0, deep = 0, header = 0, etag = 0;

	if (it->deep) {
		rc = check_deep(v, it, md5);
		deep = 1;
	} else {
		if (v->remote && (rc = check_etag(v, it)) > 0) {
			etag = 1;
			rc = 0;
		}
		if (rc == 0 && it->problem == VP_OK && it->job.rec.encrypted) {
			rc = check_header(v, it);
			header = 1;
		}
	}
	/* a failure of the store, not of the object: it could not be checked */
	if (rc == CST_ENOMEM) {
		pthread_mutex_lock(&p->lock);
		if (p->rc == 0) {
			p->rc = rc;
			snprintf(p->msg, sizeof(p->msg), "%s", cst_error_msg());
		}
		pthread_mutex_unlock(&p->lock);
		atomic_store(&p->stop, 1);
	} else if (rc != 0) {
		verify_flag(it, VP_UNREAD, "%s", cst_error_msg());
	}
	pthread_mutex_lock(&p->lock);
	p->n_deep += deep;
	p->n_headers += header;
	p->n_etags += etag;
	pthread_mutex_unlock(&p->lock);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	struct crypto_md5 *md5 = NULL;
	int rc;

	if ((rc = crypto_md5_new(&md5)) != 0) {
		pthread_mutex_lock(&p->lock);
		if (p->rc == 0) {
			p->rc = rc;
			snprintf(p->msg, sizeof(p->msg), "%s", cst_error_msg());
		}
		pthread_mutex_unlock(&p->lock);
		atomic_store(&p->stop, 1);
		return NULL;
	}
	for (;;) {
		struct verify_item *it = NULL;

		if (cassette_interrupted)
			atomic_store(&p->stop, 1);
		pthread_mutex_lock(&p->lock);
		while (p->next < p->v->n_items && p->v->items[p->next].problem != VP_OK)
			p->next++;
		if (p->next < p->v->n_items)
			it = &p->v->items[p->next++];
		pthread_mutex_unlock(&p->lock);
		if (it == NULL || atomic_load(&p->stop))
			break;
		check_one(p, it, md5);
	}
	crypto_md5_free(md5);
	return NULL;
}

int verify_objects(struct verify *v)
{
	pthread_t threads[MAX_WORKERS];
	unsigned n, t, started = 0;
	struct pool p;

	memset(&p, 0, sizeof(p));
	p.v = v;
	pthread_mutex_init(&p.lock, NULL);
	atomic_init(&p.stop, 0);
	n = fetch_worker_count(v->remote, v->cfg->concurrent_transfers, v->n_items);
	if (n > MAX_WORKERS)
		n = MAX_WORKERS;
	for (t = 0; t < n; t++) {
		if (pthread_create(&threads[t], NULL, worker, &p) != 0)
			break;
		started++;
	}
	if (started == 0)
		worker(&p);	/* no thread to be had: check them here */
	for (t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_destroy(&p.lock);
	v->n_deep = p.n_deep;
	v->n_headers = p.n_headers;
	v->n_etags = p.n_etags;
	if (p.rc != 0)
		return cst_error(p.rc, "%s", p.msg);
	if (cassette_interrupted)
		return cst_error(CST_ERROR, "interrupted");
	return 0;
}

/* ---- the records ---------------------------------------------------------------- */

/* <prefix>/index/damaged_objects/<fqdn>/<rest> for <prefix>/<fqdn>/<rest>. */
static char *record_key(const struct config *cfg, const char *object)
{
	const char *sep = cfg->prefix[0] ? "/" : "";
	char *node = cst_sprintf("%s%s%s/", cfg->prefix, sep, cfg->fqdn);
	char *key = NULL;

	if (node == NULL)
		return NULL;
	if (strncmp(object, node, strlen(node)) == 0)
		key = cst_sprintf("%s%sindex/damaged_objects/%s/%s", cfg->prefix, sep, cfg->fqdn,
				  object + strlen(node));
	else
		cst_error(CST_EINVALID, "object %s is not under %s", object, node);
	free(node);
	return key;
}

int verify_record_damage(struct verify *v)
{
	size_t i;
	int first = 0, rc;

	for (i = 0; i < v->n_items; i++) {
		struct verify_item *it = &v->items[i];
		char *key, *line;

		/* only an object known bad; not one that could not be read */
		if (it->problem == VP_OK || it->problem == VP_LAYOUT || it->problem == VP_UNREAD)
			continue;
		if ((key = record_key(v->cfg, it->job.rec.path)) == NULL) {
			rc = cst_error_code();
			goto next;
		}
		if ((line = cst_sprintf("%s: %s\n", verify_problem_name(it->problem),
					it->detail ? it->detail : "")) == NULL) {
			free(key);
			rc = CST_ENOMEM;
			goto next;
		}
		rc = storage_put_buf(v->st, key, line, strlen(line), 0);
		free(key);
		free(line);
		if (rc == 0) {
			it->recorded = 1;
			v->n_recorded++;
		}
next:
		if (rc != 0 && first == 0)
			first = rc;
	}
	return first;
}
