/*
 * history: which of this node's backups to read (the catalog index), from
 * the state database (history_cache.c) or from storage (history_fetch.c);
 * what to say about those that cannot be read.
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "layout.h"
#include "manifest.h"
#include "node_index.h"
#include "storage.h"
#include "util.h"

/* ---- the damaged flag ------------------------------------------------------ */

static void flag_damaged(struct storage *st, const char *prefix, const char *fqdn,
			 const char *backup, const char *why)
{
	/* in the node's own index: Medusa's list-backups refuses names it
	 * does not know in backup_index/ */
	if (node_index_flag_damaged(st, prefix, fqdn, backup, why) != 0)
		fprintf(stderr, "cassette: warning: cannot flag backup %s damaged: %s\n", backup,
			cst_error_msg());
	cst_error_clear();
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

/* The same from the node's own index (node_index.h). Borrowed from `nb`. */
static int usable_from_node_index(struct history_seq **out, size_t *n_out, struct history *h,
				  const struct node_backup *nb, size_t n_nb, const char *fqdn)
{
	struct history_seq *seq;
	size_t i, n = 0;

	*out = NULL;
	*n_out = 0;
	if ((seq = cst_calloc(n_nb ? n_nb : 1, sizeof(*seq))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n_nb; i++) {
		if (nb[i].damaged) {
			fprintf(stderr, "cassette: warning: backup %s of node %s is flagged damaged "
				"(its manifest is unreadable): none of its objects is reused; "
				"delete-backup removes it\n", nb[i].name, fqdn);
			h->counts.manifests_damaged++;
			continue;
		}
		if (nb[i].finished >= h->counts.last_finished) {
			h->counts.last_finished = nb[i].finished;
			h->counts.last_bytes = nb[i].bytes;
		}
		seq[n].name = nb[i].name;
		seq[n].started = nb[i].started;
		seq[n].finished = nb[i].finished;
		seq[n].size = nb[i].manifest_size;
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
		   struct history_fetch_result *res, size_t n, struct history_seq *merged, size_t *n_merged)
{
	const char *first_unauth = NULL, *why = NULL;
	size_t i, n_unauth = 0;

	for (i = 0; i < n; i++) {
		if (res[i].state == HISTORY_FETCH_UNAUTH && n_unauth++ == 0) {
			first_unauth = seq[i].name;
			why = res[i].why;
		}
		if (cached[i]) {
			merged[(*n_merged)++] = seq[i];
		} else if (res[i].state == HISTORY_FETCH_MERGED) {
			merged[(*n_merged)++] = seq[i];
			h->counts.manifests_read++;
		} else if (res[i].state == HISTORY_FETCH_DAMAGED) {
			fprintf(stderr, "cassette: warning: %s; backup %s skipped (none of its objects is "
				"reused) and flagged damaged\n", res[i].why, seq[i].name);
			flag_damaged(st, prefix, fqdn, seq[i].name, res[i].why);
			h->counts.manifests_damaged++;
		} else if (res[i].state == HISTORY_FETCH_MISSING) {
			fprintf(stderr, "cassette: warning: backup %s of node %s: %s (deleted since the "
				"listing?); skipped\n", seq[i].name, fqdn, res[i].why);
		}
	}
	h->counts.manifests_unauth = n_unauth;
	if (n_unauth > 0)
		fprintf(stderr, "cassette: warning: %zu earlier backup%s of node %s %s not authenticated "
			"under this key (first: %s: %s): none of %s objects is reused\n", n_unauth,
			n_unauth == 1 ? "" : "s", fqdn, n_unauth == 1 ? "is" : "are", first_unauth, why,
			n_unauth == 1 ? "its" : "their");
}

/* Orders were positions in seq; make them positions among the backups
 * merged, which is what the cache records (a skipped manifest leaves no
 * gap a later run would not see). Monotonic, so newest stays newest. */
static int renumber(struct history *h, const unsigned char *cached, const struct history_fetch_result *res,
		    size_t n, int *append)
{
	uint32_t *rank = cst_calloc(n ? n : 1, sizeof(*rank)), r = 0;
	size_t i;

	if (rank == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++) {
		rank[i] = r;
		if (cached[i] || res[i].state == HISTORY_FETCH_MERGED)
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
	struct history_fetch_result *res = NULL;
	unsigned char *cached = NULL;
	size_t *todo = NULL;
	struct node_backup *nb = NULL;
	size_t i, n = 0, n_merged = 0, n_todo = 0, n_nb = 0;
	int rc, append;

	*out = NULL;
	if ((rc = history_new(&h, prefix, fqdn)) != 0 ||
	    (rc = node_index_load(&nb, &n_nb, st, prefix, fqdn)) != 0)
		goto out;
	if (o != NULL) {
		h->auth_keys = o->auth_keys;
		h->auth_arg = o->auth_arg;
	}
	if (n_nb > 0) {
		/* the node's own list: one listing that grows with its backups only */
		if ((rc = usable_from_node_index(&seq, &n, h, nb, n_nb, fqdn)) != 0)
			goto out;
	} else {
		/* none yet (backups of cassette before 0.3 have no entries): the
		 * whole index, once; the backup this run makes starts the list */
		if ((rc = catalog_load(&cat, st, prefix)) != 0 ||
		    (rc = usable_backups(&seq, &n, h, cat, fqdn)) != 0)
			goto out;
		for (i = 0; i < cat->n_backups; i++) {
			const struct catalog_node *cn = catalog_node_of(&cat->backups[i], fqdn);

			if (cn != NULL && cn->finished && !cn->damaged &&
			    cn->finished >= h->counts.last_finished) {
				h->counts.last_finished = cn->finished;
				h->counts.last_bytes = cn->bytes;
			}
		}
	}
	if ((res = cst_calloc(n ? n : 1, sizeof(*res))) == NULL ||
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
			todo[n_todo++] = i;
	if ((rc = history_fetch(h, st, prefix, fqdn, seq, todo, n_todo, o ? o->parallel : 1,
				res)) != 0)
		goto out;
	report(h, st, prefix, fqdn, seq, cached, res, n, merged, &n_merged);
	if ((rc = renumber(h, cached, res, n, &append)) != 0)
		goto out;
	if (cache != NULL && (rc = history_cache_write(cache, h, merged, n_merged, append)) != 0)
		goto out;
	history_seal(h, n_merged);
	*out = h;
	h = NULL;
out:
	for (i = 0; res != NULL && i < n; i++)
		free(res[i].why);
	free(res);
	history_cache_close(cache);
	free(seq);
	free(merged);
	free(cached);
	free(todo);
	catalog_free(cat);
	node_index_free(nb, n_nb);
	history_free(h);
	return rc;
}

int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn)
{
	return history_load_opts(out, st, prefix, fqdn, NULL);
}
