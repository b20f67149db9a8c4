/*
 * history: reading this node's finished backups (from the catalog index)
 * and their manifests into the record store of history.c.
 *
 * Each manifest is streamed into its own buffer of pending records, and
 * merged only once all of it parsed: a manifest cut short or with a bad
 * entry contributes nothing. Merging keeps the newest record of each kind
 * whatever the merge order (history_add_rec), so manifests are fetched in
 * parallel and merged as each completes. Those an earlier run already read
 * come from the state database instead (history_cache.c).
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
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
	int rc = manifest_reader_feed(l->reader, buf, len);

	if (rc != 0)
		l->reader_rc = rc;
	return rc;
}

enum { FETCH_MERGED = 1, FETCH_DAMAGED, FETCH_MISSING };

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
	if ((rc = manifest_reader_new(&l.reader, origin, &sink)) != 0)
		goto out;
	rc = storage_get(st, key, to_reader, &l);
	if (rc == 0 && (rc = manifest_reader_finish(l.reader)) != 0)
		l.reader_rc = rc;
	if (rc == 0) {
		if ((rc = merge(&l, order)) == 0)
			*state = FETCH_MERGED;
	} else if (rc == CST_ENOTFOUND && l.reader_rc == 0) {
		*state = FETCH_MISSING;
		rc = 0;
	} else if (rc == l.reader_rc && rc != CST_ENOMEM) {
		*state = FETCH_DAMAGED;	/* the message stays in the error slot */
		rc = 0;
	}
out:
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

struct fetch_result {
	int state;
	char *why;		/* damaged or missing: the message */
};

struct fetcher {
	struct history *h;
	struct storage *st;
	const char *prefix, *fqdn;
	const struct history_seq *seq;
	const size_t *todo;		/* positions in seq to fetch */
	size_t n_todo;
	struct fetch_result *res;
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
		if (rc == 0 && state != FETCH_MERGED &&
		    (f->res[i].why = cst_strdup(cst_error_msg())) == NULL)
			rc = CST_ENOMEM;
		f->res[i].state = state;
		cst_error_clear();
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
	}
	return NULL;
}

/* Fetch seq[todo[...]], `parallel` at a time, into f->res. */
static int fetch_all(struct fetcher *f, unsigned parallel)
{
	pthread_t threads[MAX_FETCHERS];
	unsigned t, started = 0, want;

	f->next = 0;
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
		return cst_error(f->rc, "%s", f->msg);
	return 0;
}

/* ---- the damaged flag ------------------------------------------------------ */

static void flag_damaged(struct storage *st, const char *prefix, const char *fqdn,
			 const char *backup, const char *why)
{
	char *name = cst_sprintf("damaged_%s", fqdn), *key = NULL, *line = NULL;

	if (name != NULL && (key = layout_index_key(prefix, backup, name)) != NULL &&
	    (line = cst_sprintf("%s\n", why)) != NULL &&
	    storage_put_buf(st, key, line, strlen(line), 0) != 0)
		fprintf(stderr, "cassette: warning: cannot flag backup %s damaged: %s\n", backup,
			cst_error_msg());
	cst_error_clear();
	free(name);
	free(key);
	free(line);
}

/* ---- the load ------------------------------------------------------------ */

/* This node's finished backups, oldest first, without those flagged
 * damaged (warned about here). Borrowed from `cat`. */
static int usable_backups(struct history_seq **out, size_t *n_out, struct history *h,
			  const struct catalog *cat, const char *fqdn)
{
	struct history_seq *seq;
	size_t i, n = 0;

	*out = NULL;
	*n_out = 0;
	if ((seq = cst_calloc(cat->n_backups ? cat->n_backups : 1, sizeof(*seq))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		const struct catalog_node *nd = catalog_node_of(b, fqdn);

		if (nd == NULL || nd->finished == 0)
			continue;
		if (nd->damaged) {
			fprintf(stderr, "cassette: warning: backup %s of node %s is flagged damaged "
				"(its manifest is unreadable): none of its objects is reused; "
				"delete-backup removes it\n", b->name, fqdn);
			h->counts.manifests_damaged++;
			continue;
		}
		seq[n].name = b->name;
		seq[n].started = nd->started;
		seq[n].finished = nd->finished;
		seq[n].size = nd->manifest_size;
		n++;
	}
	*out = seq;
	*n_out = n;
	return 0;
}

/* Warnings and flags for the manifests that could not be read, in backup
 * order; *merged gets the backups that were (or were cached), for the
 * cache. */
static void report(struct history *h, struct storage *st, const char *prefix, const char *fqdn,
		   const struct history_seq *seq, const unsigned char *cached,
		   struct fetch_result *res, size_t n, struct history_seq *merged, size_t *n_merged)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (cached[i]) {
			merged[(*n_merged)++] = seq[i];
		} else if (res[i].state == FETCH_MERGED) {
			merged[(*n_merged)++] = seq[i];
			h->counts.manifests_read++;
		} else if (res[i].state == FETCH_DAMAGED) {
			fprintf(stderr, "cassette: warning: %s; backup %s skipped (none of its objects is "
				"reused) and flagged damaged\n", res[i].why, seq[i].name);
			flag_damaged(st, prefix, fqdn, seq[i].name, res[i].why);
			h->counts.manifests_damaged++;
		} else if (res[i].state == FETCH_MISSING) {
			fprintf(stderr, "cassette: warning: backup %s of node %s: %s (deleted since the "
				"listing?); skipped\n", seq[i].name, fqdn, res[i].why);
		}
	}
}

/* Orders were positions in seq; make them positions among the backups
 * merged, which is what the cache records (a skipped manifest leaves no
 * gap a later run would not see). Monotonic, so newest stays newest. */
static int renumber(struct history *h, const unsigned char *cached, const struct fetch_result *res,
		    size_t n, int *append)
{
	uint32_t *rank = cst_calloc(n ? n : 1, sizeof(*rank)), r = 0;
	size_t i;

	if (rank == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		rank[i] = r;
		if (cached[i] || res[i].state == FETCH_MERGED)
			r++;
	}
	for (i = 0; i < h->n_entries; i++)
		if (h->entries[i].order < n)
			h->entries[i].order = rank[h->entries[i].order];
	/* the cached backups come first: their positions did not move, and
	 * the cache is only added to */
	*append = 1;
	for (i = 0; i < n && cached[i]; i++)
		;
	for (; *append && i < n; i++)
		if (cached[i])
			*append = 0;
	free(rank);
	return 0;
}

/* The cache, when configured: read into the empty h, cached[i] set for
 * the backups it held. */
static int cache_read(struct history_cache **c, struct history *h, const struct history_opts *o,
		      const char *fqdn, const struct history_seq *seq, size_t n,
		      unsigned char *cached)
{
	size_t n_cached = 0;
	int rc;

	if (o == NULL || o->state_dir == NULL)
		return 0;
	if ((rc = history_cache_open(c, o->state_dir, fqdn, o->identity ? o->identity : "")) != 0)
		return rc;
	if (*c == NULL)
		return 0;
	if ((rc = history_cache_read(*c, h, seq, n, cached, &n_cached)) != 0)
		return rc;
	history_mark_clean(h);
	h->counts.manifests_cached = n_cached;
	return 0;
}

int history_load_opts(struct history **out, struct storage *st, const char *prefix,
		      const char *fqdn, const struct history_opts *o)
{
	struct catalog *cat = NULL;
	struct history *h = NULL;
	struct history_cache *cache = NULL;
	struct history_seq *seq = NULL, *merged = NULL;
	unsigned char *cached = NULL;
	size_t *todo = NULL;
	struct fetcher f;
	size_t i, n = 0, n_merged = 0;
	int rc, append;

	*out = NULL;
	memset(&f, 0, sizeof(f));
	pthread_mutex_init(&f.lock, NULL);
	if ((rc = history_new(&h, prefix, fqdn)) != 0 || (rc = catalog_load(&cat, st, prefix)) != 0 ||
	    (rc = usable_backups(&seq, &n, h, cat, fqdn)) != 0)
		goto out;
	if ((f.res = cst_calloc(n ? n : 1, sizeof(*f.res))) == NULL ||
	    (merged = cst_calloc(n ? n : 1, sizeof(*merged))) == NULL ||
	    (cached = cst_calloc(n ? n : 1, 1)) == NULL ||
	    (todo = cst_calloc(n ? n : 1, sizeof(*todo))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = cache_read(&cache, h, o, fqdn, seq, n, cached)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (!cached[i])
			todo[f.n_todo++] = i;
	f.h = h;
	f.st = st;
	f.prefix = prefix;
	f.fqdn = fqdn;
	f.seq = seq;
	f.todo = todo;
	if ((rc = fetch_all(&f, o ? o->parallel : 1)) != 0)
		goto out;
	report(h, st, prefix, fqdn, seq, cached, f.res, n, merged, &n_merged);
	if ((rc = renumber(h, cached, f.res, n, &append)) != 0)
		goto out;
	if (cache != NULL && (rc = history_cache_write(cache, h, merged, n_merged, append)) != 0)
		goto out;
	history_seal(h, n_merged);
	*out = h;
	h = NULL;
out:
	for (i = 0; f.res != NULL && i < n; i++)
		free(f.res[i].why);
	free(f.res);
	pthread_mutex_destroy(&f.lock);
	history_cache_close(cache);
	free(seq);
	free(merged);
	free(cached);
	free(todo);
	catalog_free(cat);
	history_free(h);
	return rc;
}

int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn)
{
	return history_load_opts(out, st, prefix, fqdn, NULL);
}
