/* catalog_count: counts for finished nodes that have none (catalog.h). */
#define _GNU_SOURCE
#include "catalog.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "storage.h"
#include "util.h"

#define MANIFEST_COPY_MAX (256u << 20)

/* Objects and plaintext bytes of a Medusa-shaped manifest; 0 or -1. */
static int count_json(const char *text, size_t len, uint64_t *files, uint64_t *bytes)
{
	json_error_t err;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err), *t, *objs, *o, *sz;
	size_t i, j;
	int rc = -1;

	*files = *bytes = 0;
	if (!json_is_array(doc))
		goto out;
	json_array_foreach(doc, i, t) {
		if (!json_is_array(objs = json_object_get(t, "objects")))
			goto out;
		json_array_foreach(objs, j, o) {
			sz = json_object_get(o, "source_size");
			if (sz == NULL || json_is_null(sz))	/* Medusa writes null for plaintext */
				sz = json_object_get(o, "size");
			if (!json_is_integer(sz) || json_integer_value(sz) < 0)
				goto out;
			(*files)++;
			*bytes += (uint64_t)json_integer_value(sz);
		}
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

static int count_node(struct catalog_node *n, const char *backup, struct storage *st,
		      const char *prefix)
{
	char *name = cst_sprintf("manifest_%s.json", n->fqdn), *key = NULL, *text = NULL;
	size_t len = 0;
	int rc = 0;

	if (name == NULL || (key = layout_index_key(prefix, backup, name)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (storage_get_buf(st, key, &text, &len, MANIFEST_COPY_MAX) != 0) {
		fprintf(stderr, "cassette: warning: cannot count the files of backup %s of node %s: %s\n",
			backup, n->fqdn, cst_error_msg());
		cst_error_clear();
	} else if (count_json(text, len, &n->files, &n->bytes) != 0) {
		fprintf(stderr, "cassette: warning: cannot count the files of backup %s of node %s: "
			"%s is not a manifest\n", backup, n->fqdn, key);
		n->files = n->bytes = 0;
	} else {
		n->counted = 1;
	}
out:
	free(text);
	free(key);
	free(name);
	return rc;
}

int catalog_count_manifests(struct catalog *cat, struct storage *st, const char *prefix,
			    const char *only_fqdn)
{
	size_t i, j;
	int rc;

	for (i = 0; i < cat->n_backups; i++)
		for (j = 0; j < cat->backups[i].n_nodes; j++) {
			struct catalog_node *n = &cat->backups[i].nodes[j];

			if (n->finished && !n->counted && !n->deleting &&
			    (only_fqdn == NULL || strcmp(n->fqdn, only_fqdn) == 0) &&
			    (rc = count_node(n, cat->backups[i].name, st, prefix)) != 0)
				return rc;
		}
	return 0;
}

int catalog_count_latest(struct catalog *cat, struct storage *st, const char *prefix, const char *fqdn,
			 size_t how_many)
{
	size_t i, seen = 0;
	int rc;

	for (i = cat->n_backups; i-- > 0 && seen < how_many;) {
		struct catalog_node *n = (struct catalog_node *)catalog_node_of(&cat->backups[i], fqdn);

		if (n == NULL || !n->finished || n->deleting)
			continue;
		seen++;
		if (!n->counted && (rc = count_node(n, cat->backups[i].name, st, prefix)) != 0)
			return rc;
	}
	return 0;
}
