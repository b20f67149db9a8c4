/*
 * report-last-backup: what a monitoring system asks every hour. From one
 * listing of the index: the node's last finished backup and the cluster's
 * last complete one, their age, files and bytes. Exit 1 when the node's is
 * older than [monitoring] max_backup_age_hours, or there is none. No key.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "commands.h"
#include "metrics.h"
#include "storage.h"
#include "util.h"

struct cluster_last {
	const struct catalog_backup *b;
	int64_t finished;		/* its last node's finish */
	size_t nodes;
	uint64_t files, bytes;
};

/* The newest backup that every node of its cluster finished. */
static void last_cluster(struct cluster_last *out, const struct catalog *cat)
{
	size_t i, j, expected;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		int64_t fin = 0;

		if (!catalog_cluster_complete(b, &expected))
			continue;
		for (j = 0; j < b->n_nodes; j++)
			if (b->nodes[j].finished > fin)
				fin = b->nodes[j].finished;
		if (out->b != NULL && fin < out->finished)
			continue;
		out->b = b;
		out->finished = fin;
		out->nodes = 0;
		out->files = out->bytes = 0;
		for (j = 0; j < b->n_nodes; j++)
			if (b->nodes[j].finished) {
				out->nodes++;
				out->files += b->nodes[j].files;
				out->bytes += b->nodes[j].bytes;
			}
	}
}

static int print_json(const struct config *cfg, const struct metrics_last *l, const struct cluster_last *c,
		      int64_t now, int ok)
{
	json_t *root, *node = json_null(), *cluster = json_null(), *prev = json_null();
	char *text;

	if (l->prev != NULL)
		prev = json_pack("{s:s,s:I,s:I}", "name", l->prev_backup->name,
				 "finished", (json_int_t)l->prev->finished, "bytes", (json_int_t)l->prev->bytes);
	if (l->node != NULL)
		node = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:b,s:o}", "name", l->backup->name,
				 "started", (json_int_t)l->node->started,
				 "finished", (json_int_t)l->node->finished,
				 "age_seconds", (json_int_t)(now - l->node->finished),
				 "files", (json_int_t)l->node->files, "bytes", (json_int_t)l->node->bytes,
				 "shrunk", l->shrunk, "previous", prev);
	else
		json_decref(prev);
	if (c->b != NULL)
		cluster = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "name", c->b->name,
				    "finished", (json_int_t)c->finished,
				    "age_seconds", (json_int_t)(now - c->finished), "nodes", (json_int_t)c->nodes,
				    "files", (json_int_t)c->files, "bytes", (json_int_t)c->bytes);
	root = json_pack("{s:s,s:I,s:b,s:o,s:o}", "node", cfg->fqdn,
			 "max_backup_age_hours", (json_int_t)cfg->monitor_max_age_hours, "ok", ok,
			 "last_backup", node, "last_cluster_backup", cluster);
	if (root == NULL)
		return cst_error(CST_ENOMEM, "out of memory");
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		return cst_error(CST_ENOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

static void print_text(const struct config *cfg, const struct metrics_last *l, const struct cluster_last *c,
		       int64_t now)
{
	char when[32], size[32];

	if (l->node == NULL)
		printf("node %s: no finished backup\n", cfg->fqdn);
	else
		printf("node %s: last backup %s, finished %s UTC, %" PRId64 " s ago, %" PRIu64 " files, %s\n",
		       cfg->fqdn, l->backup->name, cmd_fmt_time(when, sizeof(when), l->node->finished),
		       now - l->node->finished, l->node->files,
		       cmd_human_bytes(size, sizeof(size), l->node->bytes));
	if (c->b != NULL)
		printf("cluster: last complete backup %s, finished %s UTC, %" PRId64 " s ago, %zu node%s, "
		       "%" PRIu64 " files, %s\n", c->b->name, cmd_fmt_time(when, sizeof(when), c->finished),
		       now - c->finished, c->nodes, c->nodes == 1 ? "" : "s", c->files,
		       cmd_human_bytes(size, sizeof(size), c->bytes));
	else
		printf("cluster: no complete cluster backup\n");
}

int cmd_report_last_backup(const struct config *cfg, const struct report_opts *o)
{
	struct storage *st = NULL;
	struct catalog *cat = NULL;
	struct metrics_last last;
	struct cluster_last cl;
	char a[32], b[32];
	int64_t now = (int64_t)time(NULL), limit = (int64_t)cfg->monitor_max_age_hours * 3600;
	int ok, rc;

	if ((rc = cmd_open_storage(&st, cfg, 0)) != 0 || (rc = catalog_load(&cat, st, cfg->prefix)) != 0 ||
	    (rc = catalog_count_latest(cat, st, cfg->prefix, cfg->fqdn, 2)) != 0)
		goto out;
	metrics_last_backup(&last, cat, cfg->fqdn);
	last_cluster(&cl, cat);
	ok = last.node != NULL && (limit == 0 || now - last.node->finished <= limit);
	if (last.shrunk)
		fprintf(stderr, "cassette: warning: backup %s of node %s holds %s, less than half the %s of "
			"backup %s before it: is data_dir right, or was data dropped?\n", last.backup->name,
			cfg->fqdn, cmd_human_bytes(a, sizeof(a), last.node->bytes),
			cmd_human_bytes(b, sizeof(b), last.prev->bytes), last.prev_backup->name);
	if ((rc = o->json ? print_json(cfg, &last, &cl, now, ok) : (print_text(cfg, &last, &cl, now), 0)) != 0)
		goto out;
	if (o->prometheus != NULL && (rc = metrics_write_from(cfg, cat, o->prometheus)) != 0)
		goto out;
	if (last.node == NULL)
		rc = cst_error(CST_ENOTFOUND, "node %s has no finished backup", cfg->fqdn);
	else if (!ok)
		rc = cst_error(CST_ERROR, "the last backup of node %s (%s) finished %" PRId64 " s ago, more "
			       "than [monitoring] max_backup_age_hours = %u", cfg->fqdn, last.backup->name,
			       now - last.node->finished, cfg->monitor_max_age_hours);
out:
	catalog_free(cat);
	storage_close(st);
	return rc;
}
