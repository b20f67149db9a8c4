/* history: index of the node's earlier manifests for differential backups. */
#define _GNU_SOURCE
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "util.h"

#define MANIFEST_MAX (1u << 30)

struct entry {
	char *file;		/* "ks/cf/rel" */
	const struct manifest_object *obj;
	size_t order;		/* backup order; higher = more recent */
};

struct history {
	struct manifest **manifests;
	size_t n_manifests;
	struct entry *entries;		/* sorted by file, then recency */
	size_t n_entries, cap;
	const char **keys;		/* sorted object keys */
	size_t n_keys;
};

static int add_manifest_entries(struct history *h, const struct manifest *m, size_t order,
				const char *prefix, const char *fqdn, const char *backup)
{
	size_t t, o;

	for (t = 0; t < manifest_table_count(m); t++) {
		const struct manifest_table *tab = manifest_table_at(m, t);

		for (o = 0; o < tab->n_objects; o++) {
			char *rel = NULL;
			struct entry *e;

			/* Objects outside this node's layout are never reused. */
			if (layout_rel_from_key(&rel, tab->objects[o].path, prefix, fqdn, backup,
						tab->keyspace, tab->columnfamily) != 0) {
				cst_error_clear();
				continue;
			}
			if ((e = cst_grow(h->entries, &h->cap, h->n_entries, sizeof(*e), 1024)) == NULL) {
				free(rel);
				return CST_ENOMEM;
			}
			h->entries = e;
			e = &h->entries[h->n_entries];
			e->file = cst_sprintf("%s/%s/%s", tab->keyspace, tab->columnfamily, rel);
			free(rel);
			if (e->file == NULL)
				return CST_ENOMEM;
			e->obj = &tab->objects[o];
			e->order = order;
			h->n_entries++;
		}
	}
	return 0;
}

static int cmp_entries(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c = strcmp(a->file, b->file);

	if (c != 0)
		return c;
	return a->order > b->order ? -1 : a->order < b->order;
}

static int cmp_strs(const void *pa, const void *pb)
{
	return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

static int build_indexes(struct history *h)
{
	size_t i;

	if (h->n_entries > 1)
		qsort(h->entries, h->n_entries, sizeof(*h->entries), cmp_entries);
	if ((h->keys = cst_calloc(h->n_entries, sizeof(*h->keys))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < h->n_entries; i++)
		h->keys[i] = h->entries[i].obj->path;
	h->n_keys = h->n_entries;
	if (h->n_keys > 1)
		qsort(h->keys, h->n_keys, sizeof(*h->keys), cmp_strs);
	return 0;
}

int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn)
{
	struct catalog *cat = NULL;
	struct history *h;
	char *key = NULL, *json = NULL, *origin = NULL;
	size_t i, len;
	int rc;

	*out = NULL;
	if ((h = cst_calloc(1, sizeof(*h))) == NULL)
		return CST_ENOMEM;
	if ((rc = catalog_load(&cat, st, prefix)) != 0)
		goto out;
	if ((h->manifests = cst_calloc(cat->n_backups, sizeof(*h->manifests))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		const struct catalog_node *n = catalog_node_of(b, fqdn);
		struct manifest *m = NULL;

		if (n == NULL || n->finished == 0)
			continue;
		if ((key = layout_meta_key(prefix, fqdn, b->name, "manifest.json")) == NULL ||
		    (origin = cst_sprintf("backup %s manifest", b->name)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		if ((rc = storage_get_buf(st, key, &json, &len, MANIFEST_MAX)) != 0 ||
		    (rc = manifest_parse(&m, json, len, origin)) != 0)
			goto out;
		h->manifests[h->n_manifests++] = m;
		if ((rc = add_manifest_entries(h, m, i, prefix, fqdn, b->name)) != 0)
			goto out;
		free(key);
		free(json);
		free(origin);
		key = json = origin = NULL;
	}
	if ((rc = build_indexes(h)) != 0)
		goto out;
	*out = h;
	h = NULL;
out:
	free(key);
	free(json);
	free(origin);
	catalog_free(cat);
	history_free(h);
	return rc;
}

size_t history_backup_count(const struct history *h)
{
	return h->n_manifests;
}

const struct manifest_object *history_find(const struct history *h, const char *ks, const char *cf,
					   const char *rel, uint64_t source_size, const char *md5_hex,
					   history_filter_fn filter, void *arg)
{
	size_t lo = 0, hi = h->n_entries;
	char file[1024];

	if ((size_t)snprintf(file, sizeof(file), "%s/%s/%s", ks, cf, rel) >= sizeof(file))
		return NULL;
	while (lo < hi) {	/* first entry >= file */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(h->entries[mid].file, file) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < h->n_entries && strcmp(h->entries[lo].file, file) == 0; lo++) {
		const struct manifest_object *o = h->entries[lo].obj;

		if (o->source_size == source_size && (md5_hex == NULL || strcmp(o->source_md5, md5_hex) == 0) &&
		    filter(arg, o))
			return o;
	}
	return NULL;
}

int history_key_taken(const struct history *h, const char *key)
{
	return h->n_keys > 0 && bsearch(&key, h->keys, h->n_keys, sizeof(*h->keys), cmp_strs) != NULL;
}

void history_free(struct history *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n_entries; i++)
		free(h->entries[i].file);
	for (i = 0; i < h->n_manifests; i++)
		manifest_free(h->manifests[i]);
	free(h->manifests);
	free(h->entries);
	free(h->keys);
	free(h);
}
