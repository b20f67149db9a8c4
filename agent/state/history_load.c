/*
 * history: reading this node's finished backups (from the catalog index)
 * and their manifests, streamed, into the record store of history.c.
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "util.h"

/* ---- loading one manifest ------------------------------------------------- */

struct load {
	struct history *h;
	const char *prefix, *fqdn, *backup;
	uint32_t order;
	char *ks, *cf, *pool;		/* the current table and its pool folder */
	uint32_t table;
};

static int on_table(void *arg, const char *ks, const char *cf)
{
	struct load *l = arg;
	char *key;

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
	return history_table_add(l->h, ks, cf, &l->table);
}

static int on_object(void *arg, const struct manifest_object *o)
{
	struct load *l = arg;
	struct manifest_rec r;
	const char *path;
	char *rel = NULL;
	int own, rc;

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
	if ((rc = manifest_rec_pack(&r, o)) != 0)
		goto out;
	/* The own key, when history_key_taken() can find its table again. */
	own = strcmp(o->path + strlen(l->pool), rel) == 0 && strchr(l->ks, '/') == NULL &&
	      strchr(l->cf, '/') == NULL;
	r.path = NULL;
	if (!own && (r.path = path = history_key_intern(l->h, o->path)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	rc = history_add_rec(l->h, l->table, rel, &r, l->order, own);
out:
	free(rel);
	return rc;
}

/* The storage sink: every byte of the manifest into the reader. */
static int to_reader(void *arg, const unsigned char *buf, size_t len)
{
	return manifest_reader_feed(arg, buf, len);
}

static int load_manifest(struct history *h, struct storage *st, const char *prefix,
			 const char *fqdn, const char *backup, uint32_t order)
{
	struct load l = { h, prefix, fqdn, backup, order, NULL, NULL, NULL, 0 };
	struct manifest_sink sink = { on_table, on_object, &l };
	struct manifest_reader *r = NULL;
	char *key = NULL, *origin = NULL;
	int rc;

	if ((key = layout_meta_key(prefix, fqdn, backup, "manifest.json")) == NULL ||
	    (origin = cst_sprintf("backup %s manifest", backup)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = manifest_reader_new(&r, origin, &sink)) != 0 ||
	    (rc = storage_get(st, key, to_reader, r)) != 0 || (rc = manifest_reader_finish(r)) != 0)
		goto out;
out:
	manifest_reader_free(r);
	free(key);
	free(origin);
	free(l.ks);
	free(l.cf);
	free(l.pool);
	return rc;
}

int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn)
{
	struct catalog *cat = NULL;
	struct history *h = NULL;
	size_t i, n_backups = 0;
	int rc;

	*out = NULL;
	if ((rc = history_new(&h, prefix, fqdn)) != 0)
		goto out;
	if ((rc = catalog_load(&cat, st, prefix)) != 0)
		goto out;
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		const struct catalog_node *n = catalog_node_of(b, fqdn);

		if (n == NULL || n->finished == 0)
			continue;
		if ((rc = load_manifest(h, st, prefix, fqdn, b->name, (uint32_t)i)) != 0)
			goto out;
		n_backups++;
	}
	history_seal(h, n_backups);
	*out = h;
	h = NULL;
out:
	catalog_free(cat);
	history_free(h);
	return rc;
}
