/* latest: index/latest_backup/<fqdn>/ (latest.h). */
#define _GNU_SOURCE
#include "latest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "layout.h"
#include "storage.h"
#include "util.h"

static char *latest_key(const char *prefix, const char *fqdn, const char *name)
{
	return cst_sprintf("%s%sindex/latest_backup/%s/%s", prefix, prefix[0] ? "/" : "", fqdn, name);
}

int latest_backup_set(struct storage *st, const char *prefix, const char *fqdn, const char *name,
		      const char *tokenmap)
{
	char *tk = latest_key(prefix, fqdn, "tokenmap.json");
	char *nk = latest_key(prefix, fqdn, "backup_name.txt");
	int rc;

	if (tk == NULL || nk == NULL)
		rc = CST_ENOMEM;
	else if ((rc = storage_put_buf(st, tk, tokenmap, strlen(tokenmap), 0)) == 0)
		rc = storage_put_buf(st, nk, name, strlen(name), 0);
	free(tk);
	free(nk);
	return rc;
}

/* The node's newest finished backup not flagged damaged; NULL if none. */
static const struct catalog_backup *newest(const struct catalog *cat, const char *fqdn)
{
	const struct catalog_backup *best = NULL;
	int64_t t = 0;
	size_t i;

	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_node *n = catalog_node_of(&cat->backups[i], fqdn);

		if (n != NULL && n->finished && !n->damaged && (best == NULL || n->finished >= t)) {
			best = &cat->backups[i];
			t = n->finished;
		}
	}
	return best;
}

int latest_backup_after_removal(struct storage *st, const char *prefix, const char *fqdn,
				const char *removed)
{
	struct catalog *cat = NULL;
	const struct catalog_backup *b;
	char *tk = latest_key(prefix, fqdn, "tokenmap.json");
	char *nk = latest_key(prefix, fqdn, "backup_name.txt");
	char *name = NULL, *copy = NULL, *copy_key = NULL, *tokenmap = NULL;
	size_t len = 0;
	int rc;

	if (tk == NULL || nk == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_get_buf(st, nk, &name, &len, 4096)) == CST_ENOTFOUND) {
		cst_error_clear();
		rc = 0;
		goto out;
	}
	if (rc != 0 || len != strlen(removed) || memcmp(name, removed, len) != 0)
		goto out;
	if ((rc = catalog_load(&cat, st, prefix)) != 0)
		goto out;
	if ((b = newest(cat, fqdn)) == NULL) {
		if ((rc = storage_delete(st, nk)) == 0)
			rc = storage_delete(st, tk);
		goto out;
	}
	if ((copy = cst_sprintf("tokenmap_%s.json", fqdn)) == NULL ||
	    (copy_key = layout_index_key(prefix, b->name, copy)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_get_buf(st, copy_key, &tokenmap, &len, 64u << 20)) != 0)
		goto out;
	if (memchr(tokenmap, '\0', len) != NULL) {
		rc = cst_error(CST_EINVALID, "%s holds a NUL byte", copy_key);
		goto out;
	}
	rc = latest_backup_set(st, prefix, fqdn, b->name, tokenmap);
out:
	catalog_free(cat);
	free(tk);
	free(nk);
	free(name);
	free(copy);
	free(copy_key);
	free(tokenmap);
	return rc;
}
