/*
 * history: fetching manifests from storage into the record store.
 *
 * Each manifest is streamed into its own buffer of pending records, and
 * merged only once all of it parsed: a manifest cut short or with a bad
 * entry contributes nothing, and memory holds the pool plus one manifest
 * per fetch in flight. Merging keeps the newest record of each kind
 * whatever the merge order (history_add_rec), so manifests are fetched in
 * parallel and each is merged as soon as it is complete.
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "util.h"

#define MAX_FETCHERS 64

/* A record waiting for its manifest to parse whole. Strings are offsets in
 * the manifest's text buffer (which moves as it grows). */
struct pending {
	struct manifest_rec rec;	/* rec.path NULL */
	uint32_t table;
	int own;
	size_t rel, path;		/* offsets; path = 0: the own key */
};

/* One manifest being read. */
struct one {
	struct history *h;
	pthread_mutex_t *lock;		/* over h */
	const char *prefix, *fqdn, *backup;
	char *ks, *cf, *pool;		/* the current table and its pool folder */
	uint32_t table;
	struct pending *recs;
	size_t n_recs, cap_recs;
	char *text;			/* text[0] unused: offset 0 means none */
	size_t n_text, cap_text;
	struct manifest_reader *reader;
	int reader_rc;			/* the reader's own failure, if any */
	struct crypto_sha256 *sha;	/* with auth: of every byte read */
};

static int text_add(struct one *l, const char *s, size_t *off)
{
	size_t n = strlen(s) + 1;
	char *t;

	if (l->n_text == 0)
		n++;	/* keep offset 0 for "none" */
	while (l->n_text + n > l->cap_text) {
		size_t cap = l->cap_text ? l->cap_text * 2 : 4096;

		if ((t = cst_realloc(l->text, cap)) == NULL)
			return CST_ENOMEM;
		l->text = t;
		l->cap_text = cap;
	}
	if (l->n_text == 0)
		l->text[l->n_text++] = '\0';
	*off = l->n_text;
	memcpy(l->text + l->n_text, s, strlen(s) + 1);
	l->n_text += strlen(s) + 1;
	return 0;
}

static int on_table(void *arg, const char *ks, const char *cf)
{
	struct one *l = arg;
	char *key;
	int rc;

	free(l->ks);
	free(l->cf);
	free(l->pool);
	l->cf = l->pool = NULL;
	if ((l->ks = cst_strdup(ks)) == NULL || (l->cf = cst_strdup(cf)) == NULL)
		return CST_ENOMEM;
	if ((key = layout_pool_key(l->prefix, l->fqdn, ks, cf, "x", NULL)) == NULL)
		return CST_ENOMEM;
	key[strlen(key) - 1] = '\0';	/* ".../data/<ks>/<cf>/" */
	l->pool = key;
	/* a table of a manifest that then fails to parse is an unused name */
	pthread_mutex_lock(l->lock);
	rc = history_table_add(l->h, ks, cf, &l->table);
	pthread_mutex_unlock(l->lock);
	return rc;
}

static int on_object(void *arg, const struct manifest_object *o)
{
	struct one *l = arg;
	struct pending *p;
	char *rel = NULL;
	int rc;

	/* Only pool objects are reused: an object under another backup's own
	 * folder (a full backup) goes when that backup is deleted, and a
	 * restore accepts only the pool and the backup's own folder. Objects
	 * outside this node's layout are never reused. */
	if (strncmp(o->path, l->pool, strlen(l->pool)) != 0)
		return 0;
	/* Medusa's Fernet objects are never reused: this run stores its own copy.
	 * An object known only by its multipart ETag (no_source) is kept: the
	 * backup proves a file against that ETag (history_find_etag). */
	if (o->fernet)
		return 0;
	if (layout_rel_from_key(&rel, o->path, l->prefix, l->fqdn, l->backup, l->ks, l->cf) != 0) {
		cst_error_clear();
		return 0;
	}
	if ((p = cst_grow(l->recs, &l->cap_recs, l->n_recs, sizeof(*p), 256)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	l->recs = p;
	p = &l->recs[l->n_recs];
	memset(p, 0, sizeof(*p));
	if ((rc = manifest_rec_pack(&p->rec, o)) != 0)
		goto out;
	p->rec.path = NULL;
	p->table = l->table;
	/* The own key, when history_key_taken() can find its table again. */
	p->own = strcmp(o->path + strlen(l->pool), rel) == 0 && strchr(l->ks, '/') == NULL &&
		 strchr(l->cf, '/') == NULL;
	if ((rc = text_add(l, rel, &p->rel)) != 0 || (!p->own && (rc = text_add(l, o->path, &p->path)) != 0))
		goto out;
	l->n_recs++;
out:
	free(rel);
	return rc;
}

/* The whole manifest parsed: its records into the history. */
static int merge(struct one *l, uint32_t order)
{
	size_t i;
	int rc = 0;

	pthread_mutex_lock(l->lock);
	for (i = 0; rc == 0 && i < l->n_recs; i++) {
		struct pending *p = &l->recs[i];

		if (p->path != 0 && (p->rec.path = history_key_intern(l->h, l->text + p->path)) == NULL)
			rc = CST_ENOMEM;
		else
			rc = history_add_rec(l->h, p->table, l->text + p->rel, &p->rec, order, p->own);
	}
	pthread_mutex_unlock(l->lock);
	return rc;
}

/* The storage sink: every byte of the manifest into the reader. */
static int to_reader(void *arg, const unsigned char *buf, size_t len)
{
	struct one *l = arg;
	int rc;

	if (l->sha != NULL && (rc = crypto_sha256_update(l->sha, buf, len)) != 0)
		return rc;
	if ((rc = manifest_reader_feed(l->reader, buf, len)) != 0)
		l->reader_rc = rc;
	return rc;
}

/* With a key, auth.json first: *state is set (rc 0) when the manifest is
 * not to be read; else *auth is what it must hash to. */
static int load_auth(struct meta_auth **auth, struct one *l, struct storage *st, int *state)
{
	struct history *h = l->h;
	int rc;

	*auth = NULL;
	if (h->auth_keys == NULL)
		return 0;
	rc = meta_auth_load(auth, st, l->prefix, l->fqdn, l->backup, h->auth_keys, h->auth_arg);
	if (rc == CST_ENOTFOUND || rc == CST_EAUTH || rc == CST_EUNSUPPORTED) {
		*state = HISTORY_FETCH_UNAUTH;	/* the message stays in the error slot */
		return 0;
	}
	if (rc == CST_EINTEGRITY) {
		*state = HISTORY_FETCH_DAMAGED;
		return 0;
	}
	return rc;
}

/*
 * Read backup `backup`'s manifest and merge it at `order`. *state says how
 * it went; a damaged or missing manifest is not a failure (0 returned, the
 * reason in the error slot), a storage error or CST_ENOMEM is.
 */
static int fetch_one(struct history *h, pthread_mutex_t *lock, struct storage *st,
		     const char *prefix, const char *fqdn, const char *backup, uint32_t order,
		     int *state)
{
	struct one l;
	struct manifest_sink sink = { on_table, on_object, &l };
	struct meta_auth *auth = NULL;
	unsigned char sha[CRYPTO_SHA256_LEN];
	char *key = NULL, *origin = NULL;
	int rc;

	memset(&l, 0, sizeof(l));
	l.h = h;
	l.lock = lock;
	l.prefix = prefix;
	l.fqdn = fqdn;
	l.backup = backup;
	*state = 0;
	if ((key = layout_meta_key(prefix, fqdn, backup, "manifest.json")) == NULL ||
	    (origin = cst_sprintf("backup %s manifest", backup)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = load_auth(&auth, &l, st, state)) != 0 || *state != 0)
		goto out;
	if ((rc = manifest_reader_new(&l.reader, origin, &sink)) != 0 ||
	    (auth != NULL && (rc = crypto_sha256_new(&l.sha)) != 0))
		goto out;
	rc = storage_get(st, key, to_reader, &l);
	if (rc == 0 && (rc = manifest_reader_finish(l.reader)) != 0)
		l.reader_rc = rc;
	/* not the bytes auth.json authenticates: a damaged one, never merged */
	if (rc == 0 && auth != NULL &&
	    ((rc = crypto_sha256_final(l.sha, sha)) != 0 ||
	     (rc = meta_auth_check(auth, "manifest.json", sha, key)) != 0))
		l.reader_rc = rc;
	if (rc == 0) {
		if ((rc = merge(&l, order)) == 0)
			*state = HISTORY_FETCH_MERGED;
	} else if (rc == CST_ENOTFOUND && l.reader_rc == 0) {
		*state = HISTORY_FETCH_MISSING;
		rc = 0;
	} else if (rc == l.reader_rc && rc != CST_ENOMEM) {
		*state = HISTORY_FETCH_DAMAGED;	/* the message stays in the error slot */
		rc = 0;
	}
out:
	meta_auth_free(auth);
	crypto_sha256_free(l.sha);
	manifest_reader_free(l.reader);
	free(l.recs);
	free(l.text);
	free(key);
	free(origin);
	free(l.ks);
	free(l.cf);
	free(l.pool);
	return rc;
}

/* ---- fetching in parallel ------------------------------------------------- */

struct fetcher {
	struct history *h;
	struct storage *st;
	const char *prefix, *fqdn;
	const struct history_seq *seq;
	const size_t *todo;		/* positions in seq to fetch */
	size_t n_todo;
	struct history_fetch_result *res;
	pthread_mutex_t lock;		/* over h, next, failed */
	size_t next;
	int failed, rc;
	char msg[1024];
};

static void *fetch_thread(void *arg)
{
	struct fetcher *f = arg;

	for (;;) {
		size_t i;
		int rc, state = 0;

		pthread_mutex_lock(&f->lock);
		i = f->failed || f->next >= f->n_todo ? SIZE_MAX : f->todo[f->next++];
		pthread_mutex_unlock(&f->lock);
		if (i == SIZE_MAX)
			break;
		rc = fetch_one(f->h, &f->lock, f->st, f->prefix, f->fqdn, f->seq[i].name, (uint32_t)i,
			       &state);
		if (rc == 0 && state != HISTORY_FETCH_MERGED &&
		    (f->res[i].why = cst_strdup(cst_error_msg())) == NULL)
			rc = CST_ENOMEM;
		f->res[i].state = state;
		if (rc != 0) {
			pthread_mutex_lock(&f->lock);
			if (!f->failed) {
				f->failed = 1;
				f->rc = rc;
				snprintf(f->msg, sizeof(f->msg), "%s", cst_error_msg());
			}
			pthread_mutex_unlock(&f->lock);
			break;
		}
		cst_error_clear();	/* a damaged one's message is in why */
	}
	return NULL;
}

int history_fetch(struct history *h, struct storage *st, const char *prefix, const char *fqdn,
		  const struct history_seq *seq, const size_t *todo, size_t n_todo, unsigned parallel,
		  struct history_fetch_result *res)
{
	pthread_t threads[MAX_FETCHERS];
	unsigned t, started = 0, want;
	struct fetcher fetcher, *f = &fetcher;
	int rc = 0;

	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->h = h;
	f->st = st;
	f->prefix = prefix;
	f->fqdn = fqdn;
	f->seq = seq;
	f->todo = todo;
	f->n_todo = n_todo;
	f->res = res;
	want = parallel ? parallel : 1;
	if (want > MAX_FETCHERS)
		want = MAX_FETCHERS;
	if (f->n_todo < want)
		want = (unsigned)f->n_todo;
	if (want <= 1) {
		fetch_thread(f);
	} else {
		for (t = 0; t < want; t++) {
			if (pthread_create(&threads[t], NULL, fetch_thread, f) != 0)
				break;
			started++;
		}
		if (started == 0)
			fetch_thread(f);
		for (t = 0; t < started; t++)
			pthread_join(threads[t], NULL);
	}
	if (f->failed)
		rc = cst_error(f->rc, "%s", f->msg);
	pthread_mutex_destroy(&f->lock);
	return rc;
}
