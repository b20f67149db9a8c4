/* publish: meta files, manifest.json, then the index (publish.h). */
#define _GNU_SOURCE
#include "publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "layout.h"
#include "meta.h"
#include "storage.h"
#include "util.h"

static int put_meta(const struct publish *r, const char *name, const char *text, int flags)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(r->st, key, text, strlen(text), flags);
	free(key);
	return rc;
}

static int put_meta_file(const struct publish *r, const char *name, const char *path, int flags)
{
	char *key = layout_meta_key(r->cfg->prefix, r->cfg->fqdn, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_file(r->st, key, path, flags, NULL, NULL);
	free(key);
	return rc;
}

static int put_index_file(const struct publish *r, const char *name, const char *path)
{
	char *key = layout_index_key(r->cfg->prefix, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_file(r->st, key, path, 0, NULL, NULL);
	free(key);
	return rc;
}

static int put_index(const struct publish *r, const char *name, const char *text)
{
	char *key = layout_index_key(r->cfg->prefix, r->name, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(r->st, key, text, strlen(text), 0);
	free(key);
	return rc;
}

int publish_backup(const struct publish *r, int *manifest_written)
{
	const char *fqdn = r->cfg->fqdn;
	const char *tokenmap = r->tokenmap;
	char *version = NULL, *name = NULL;
	char *schema_name = NULL, *token_name = NULL, *man_name = NULL, *diff_name = NULL;
	char *cluster_name = NULL, *cluster_text = NULL;
	const char *schema = r->schema ? r->schema : "-- no schema.cql in the snapshot\n";
	char ts[32];
	int rc;

	if ((rc = meta_server_version_json(&version, r->cfg)) != 0 ||
	    (rc = meta_cluster_marker(&cluster_name, &cluster_text, tokenmap)) != 0)
		goto out;
	if ((rc = put_meta(r, "schema.cql", schema, 0)) != 0 ||
	    (rc = put_meta(r, "tokenmap.json", tokenmap, 0)) != 0 ||
	    (rc = put_meta(r, "server_version.json", version, 0)) != 0 ||
	    (!r->full && (rc = put_meta(r, "differential", "differential", 0)) != 0))
		goto out;
	if ((rc = put_meta_file(r, "manifest.json", r->manifest_path, STORAGE_PUT_NO_OVERWRITE)) != 0)
		goto out;
	*manifest_written = 1;
	schema_name = cst_sprintf("schema_%s.cql", fqdn);
	token_name = cst_sprintf("tokenmap_%s.json", fqdn);
	man_name = cst_sprintf("manifest_%s.json", fqdn);
	diff_name = cst_sprintf("differential_%s", fqdn);
	name = layout_finished_name(fqdn, (int64_t)time(NULL), r->files, r->bytes);
	if (!schema_name || !token_name || !man_name || !diff_name || !name) {
		rc = CST_ENOMEM;
		goto out;
	}
	snprintf(ts, sizeof(ts), "%" PRId64, (int64_t)time(NULL));
	if ((rc = put_index(r, schema_name, schema)) != 0 ||
	    (rc = put_index(r, token_name, tokenmap)) != 0 ||
	    (rc = put_index_file(r, man_name, r->manifest_path)) != 0 ||
	    (!r->full && (rc = put_index(r, diff_name, "differential")) != 0) ||
	    (rc = put_index(r, cluster_name, cluster_text)) != 0)
		goto out;
	rc = put_index(r, name, ts);	/* last: the backup is listed as complete */
out:
	free(version);
	free(name);
	free(schema_name);
	free(token_name);
	free(man_name);
	free(diff_name);
	free(cluster_name);
	free(cluster_text);
	return rc;
}
