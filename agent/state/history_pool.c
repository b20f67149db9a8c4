/*
 * history: what storage still holds of the records. One listing of the
 * node's pool marks each record whose object is there with its recorded
 * size; one listing of index/damaged_objects/<fqdn>/ (what verify found
 * bad) unmarks those. A record left unmarked is no candidate for reuse
 * (history_find skips it); its key stays taken.
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage.h"
#include "util.h"

struct pool_scan {
	struct history *h;
	size_t skip;		/* bytes before "<fqdn>/..." in a damaged record */
	const char *node_dir;	/* "<prefix>/<fqdn>/" for the damaged records */
};

/*
 * The entries of object `key` (a pool key): the file's entries at its own
 * key (path NULL) or whose path is `key`: marked present (listed with
 * `size`) or gone (another size; or `damaged`, a verify record).
 */
static void each_entry_of(struct history *h, const char *key, uint64_t size, int damaged)
{
	size_t n = strlen(h->node_pool), first, i;
	char buf[1100], *ks, *cf, *rel;
	int variant;

	if (strncmp(key, h->node_pool, n) != 0 || strlen(key + n) >= sizeof(buf))
		return;
	strcpy(buf, key + n);
	ks = buf;
	if ((cf = strchr(ks, '/')) == NULL)
		return;
	*cf++ = '\0';
	if ((rel = strchr(cf, '/')) == NULL)
		return;
	*rel++ = '\0';
	if ((variant = rel[0] == '@') && (rel = strchr(rel, '/')) != NULL)
		rel++;
	if (rel == NULL)
		return;
	first = history_first_of(h, ks, cf, rel);
	for (i = first; history_same_file(h, first, i); i++) {
		struct entry *e = &h->entries[i];

		if (variant ? (e->rec.path == NULL || strcmp(e->rec.path, key) != 0) :
			      e->rec.path != NULL)
			continue;
		if (damaged) {
			if (!e->gone)
				h->counts.objects_damaged++;
			e->gone = 1;
		} else if (e->rec.size == size) {
			e->present = 1;
		} else {
			e->gone = 1;
			h->counts.objects_resized++;
		}
	}
}

static int on_pool_key(void *arg, const char *key, uint64_t size)
{
	struct pool_scan *sc = arg;

	each_entry_of(sc->h, key, size, 0);
	return 0;
}

/* index/damaged_objects/<fqdn>/<rest> stands for <prefix>/<fqdn>/<rest>. */
static int on_damaged_key(void *arg, const char *key, uint64_t size)
{
	struct pool_scan *sc = arg;
	char *obj;

	(void)size;
	if ((obj = cst_sprintf("%s%s", sc->node_dir, key + sc->skip)) == NULL)
		return CST_ENOMEM;
	each_entry_of(sc->h, obj, 0, 1);
	free(obj);
	return 0;
}

int history_check_pool(struct history *h, struct storage *st, const char *prefix,
		       const char *fqdn)
{
	struct pool_scan sc = { h, 0, NULL };
	char *damaged = NULL, *node_dir = NULL;
	size_t i;
	int rc;

	for (i = 0; i < h->n_entries; i++)
		h->entries[i].present = h->entries[i].gone = 0;
	h->counts.objects_missing = h->counts.objects_resized = h->counts.objects_damaged = 0;
	if (h->n_entries == 0)
		return 0;	/* nothing to check: no listing */
	if ((rc = storage_list(st, h->node_pool, on_pool_key, &sc)) != 0)
		return rc;
	for (i = 0; i < h->n_entries; i++) {
		struct entry *e = &h->entries[i];

		if (!e->present && !e->gone) {
			e->gone = 1;
			h->counts.objects_missing++;
		}
	}
	/* "<prefix>/index/damaged_objects/<fqdn>/", as docs/FORMAT.md spells it */
	damaged = prefix[0] ? cst_sprintf("%s/index/damaged_objects/%s/", prefix, fqdn) :
			      cst_sprintf("index/damaged_objects/%s/", fqdn);
	node_dir = prefix[0] ? cst_sprintf("%s/%s/", prefix, fqdn) : cst_sprintf("%s/", fqdn);
	if (damaged == NULL || node_dir == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	sc.skip = strlen(damaged);
	sc.node_dir = node_dir;
	rc = storage_list(st, damaged, on_damaged_key, &sc);
out:
	free(damaged);
	free(node_dir);
	return rc;
}
