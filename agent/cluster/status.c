/*
 * status and get-last-complete-cluster-backup: a backup seen from the whole
 * cluster. One listing of the index (of one backup's folder, for status) and
 * the cluster marker's few lines; no key, no data object.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cluster_int.h"
#include "commands.h"
#include "storage.h"
#include "util.h"

struct row {
	const char *fqdn;
	const struct catalog_node *n;	/* NULL: missing */
};

static const char *state_of(const struct row *r)
{
	return r->n == NULL ? "missing" : r->n->finished ? "finished" : "started";
}

static json_t *time_or_null(int64_t ts)
{
	return ts ? json_integer(ts) : json_null();
}

static int print_json(const char *name, int complete, const struct row *rows, size_t n)
{
	json_t *nodes = json_array(), *doc;
	char *text;
	size_t i;

	for (i = 0; nodes != NULL && i < n; i++) {
		const struct catalog_node *c = rows[i].n;

		json_array_append_new(nodes, json_pack("{s:s,s:s,s:I,s:I,s:o,s:o,s:b}", "fqdn", rows[i].fqdn,
			"state", state_of(&rows[i]), "files", (json_int_t)(c ? c->files : 0),
			"size", (json_int_t)(c ? c->bytes : 0), "started", time_or_null(c ? c->started : 0),
			"finished", time_or_null(c ? c->finished : 0), "medusa", c ? c->medusa : 0));
	}
	doc = json_pack("{s:s,s:b,s:o}", "name", name, "complete", complete, "nodes", nodes);
	if (doc == NULL || (text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL) {
		json_decref(doc);
		return cst_error(CST_ENOMEM, "out of memory");
	}
	printf("%s\n", text);
	free(text);
	json_decref(doc);
	return 0;
}

static void print_text(const char *name, int complete, const struct row *rows, size_t n)
{
	size_t i, finished = 0, w = 4;
	char s[32], f[32], sz[32];

	for (i = 0; i < n; i++) {
		finished += rows[i].n && rows[i].n->finished;
		if (strlen(rows[i].fqdn) > w)
			w = strlen(rows[i].fqdn);
	}
	printf("backup %s: %s, %zu of %zu node%s finished\n", name,
	       complete ? "complete" : "INCOMPLETE", finished, n, n == 1 ? "" : "s");
	printf("%-*s  %-8s  %-19s  %-19s  %8s  %10s\n", (int)w, "NODE", "STATE", "STARTED (UTC)",
	       "FINISHED (UTC)", "FILES", "SIZE");
	for (i = 0; i < n; i++) {
		const struct catalog_node *c = rows[i].n;

		printf("%-*s  %-8s  %-19s  %-19s  %8" PRIu64 "  %10s\n", (int)w, rows[i].fqdn,
		       state_of(&rows[i]), cmd_fmt_time(s, sizeof(s), c ? c->started : 0),
		       cmd_fmt_time(f, sizeof(f), c ? c->finished : 0), c ? c->files : 0,
		       c ? cmd_human_bytes(sz, sizeof(sz), c->bytes) : "-");
	}
}

static int by_fqdn(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->fqdn, ((const struct row *)b)->fqdn);
}

int cmd_status(const struct config *cfg, const struct status_opts *o)
{
	struct storage *st = NULL;
	struct catalog *cat = NULL;
	const struct catalog_backup *b;
	struct row *rows = NULL;
	char **names = NULL;
	size_t n_names = 0, n = 0, i, expected;
	int rc, complete;

	if ((rc = cmd_open_storage(&st, cfg, 0)) != 0 ||
	    (rc = catalog_load_backup(&cat, st, cfg->prefix, o->name)) != 0 ||
	    (rc = catalog_count_manifests(cat, st, cfg->prefix, NULL)) != 0)
		goto out;
	if (cat->n_backups == 0) {
		rc = cst_error(CST_ENOTFOUND, "no backup '%s' in the index", o->name);
		goto out;
	}
	b = &cat->backups[0];
	if ((rc = cluster_expected_nodes(&names, &n_names, st, cfg, b)) != 0)
		goto out;
	complete = catalog_cluster_complete(b, &expected);
	if ((rows = cst_calloc(n_names + b->n_nodes + 1, sizeof(*rows))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < n_names; i++) {
		rows[n].fqdn = names[i];
		rows[n++].n = catalog_node_of(b, names[i]);
	}
	for (i = 0; i < b->n_nodes; i++) {	/* nodes outside the cluster's map */
		size_t j;

		for (j = 0; j < n_names && strcmp(names[j], b->nodes[i].fqdn) != 0; j++)
			;
		if (j == n_names) {
			rows[n].fqdn = b->nodes[i].fqdn;
			rows[n++].n = &b->nodes[i];
		}
	}
	qsort(rows, n, sizeof(*rows), by_fqdn);
	if (o->json)
		rc = print_json(b->name, complete, rows, n);
	else
		print_text(b->name, complete, rows, n);
out:
	free(rows);
	cluster_names_free(names, n_names);
	catalog_free(cat);
	storage_close(st);
	return rc;
}

int cmd_last_complete_cluster_backup(const struct config *cfg)
{
	struct storage *st = NULL;
	struct catalog *cat = NULL;
	size_t i, expected;
	int rc;

	if ((rc = cmd_open_storage(&st, cfg, 0)) != 0 || (rc = catalog_load(&cat, st, cfg->prefix)) != 0)
		goto out;
	for (i = cat->n_backups; i-- > 0;) {	/* newest first */
		if (cat->backups[i].n_nodes > 0 && catalog_cluster_complete(&cat->backups[i], &expected)) {
			printf("%s\n", cat->backups[i].name);
			goto out;
		}
	}
	rc = cst_error(CST_ENOTFOUND, "no complete cluster backup in the index");
out:
	catalog_free(cat);
	storage_close(st);
	return rc;
}
