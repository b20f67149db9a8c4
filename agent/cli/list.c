/* list-backups: two listings of the index (backup_index/ and node_index/),
 * plus the index copy of the manifest of each Medusa backup (which counts
 * nothing in its names); no key, no data object read. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "commands.h"
#include "storage.h"
#include "util.h"

struct totals {
	size_t nodes, complete;
	int64_t started, finished;	/* finished = 0 unless every node finished */
	uint64_t files, bytes;
	int differential;
	int medusa;			/* a node's backup was written by Medusa */
	int damaged;			/* a node's manifest is unreadable (damaged flag) */
	int cluster_damaged;		/* ... of any node of the backup */
	int cluster_complete;		/* every node of the cluster finished */
	size_t cluster_finished, cluster_nodes;
};

static void sum(struct totals *t, const struct catalog_backup *b, const char *only_fqdn)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < b->n_nodes; i++) {
		const struct catalog_node *n = &b->nodes[i];

		if (only_fqdn && strcmp(n->fqdn, only_fqdn) != 0)
			continue;
		t->nodes++;
		if (n->started && (t->started == 0 || n->started < t->started))
			t->started = n->started;
		if (n->finished) {
			t->complete++;
			if (n->finished > t->finished)
				t->finished = n->finished;
		}
		t->files += n->files;
		t->bytes += n->bytes;
		t->differential |= n->differential;
		t->damaged |= n->damaged;
		t->medusa |= n->medusa;
	}
	if (t->complete != t->nodes)
		t->finished = 0;
	t->cluster_complete = catalog_cluster_complete(b, &t->cluster_nodes);
	for (i = 0; i < b->n_nodes; i++) {
		t->cluster_finished += b->nodes[i].finished != 0;
		t->cluster_damaged |= b->nodes[i].damaged;
	}
}

static int print_json(const struct catalog *cat, const char *only_fqdn)
{
	json_t *arr = json_array();
	size_t i, j;
	char *text;

	if (arr == NULL)
		return CST_ENOMEM;
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		struct totals t;
		json_t *nodes = json_array(), *item;

		sum(&t, b, only_fqdn);
		if (t.nodes == 0 || nodes == NULL) {
			json_decref(nodes);
			continue;
		}
		for (j = 0; j < b->n_nodes; j++) {
			const struct catalog_node *n = &b->nodes[j];

			if (only_fqdn && strcmp(n->fqdn, only_fqdn) != 0)
				continue;
			json_array_append_new(nodes, json_pack("{s:s,s:I,s:o,s:b,s:b,s:I,s:I,s:b}", "fqdn",
				n->fqdn, "started", (json_int_t)n->started,
				"finished", n->finished ? json_integer(n->finished) : json_null(),
				"complete", n->finished != 0, "damaged", n->damaged,
				"files", (json_int_t)n->files, "size", (json_int_t)n->bytes,
				"medusa", n->medusa));
		}
		item = json_pack("{s:s,s:I,s:o,s:b,s:b,s:s,s:I,s:I,s:b,s:o,s:{s:b,s:I,s:I}}", "name",
				 b->name, "started", (json_int_t)t.started,
				 "finished", t.finished ? json_integer(t.finished) : json_null(),
				 "complete", t.complete == t.nodes, "damaged", t.damaged,
				 "mode", t.differential ? "differential" : "full",
				 "files", (json_int_t)t.files, "size", (json_int_t)t.bytes,
				 "medusa", t.medusa, "nodes", nodes,
				 "cluster", "complete", t.cluster_complete,
				 "nodes_finished", (json_int_t)t.cluster_finished,
				 "nodes", (json_int_t)t.cluster_nodes);
		json_array_append_new(arr, item);
	}
	text = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(arr);
	if (text == NULL)
		return cst_error(CST_ENOMEM, "out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

static void print_text(const struct catalog *cat, const char *only_fqdn)
{
	char s[32], f[32], sz[32], cluster[48];
	size_t i, shown = 0;

	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_backup *b = &cat->backups[i];
		struct totals t;

		sum(&t, b, only_fqdn);
		if (t.nodes == 0)
			continue;
		if (shown++ == 0)
			printf("%-24s %-19s  %-19s  %-12s %8s %10s  %s\n", "NAME", "STARTED (UTC)",
			       "FINISHED (UTC)", "MODE", "FILES", "SIZE", "CLUSTER (NODES FINISHED)");
		/* a damaged manifest cannot be restored: the word says so */
		snprintf(cluster, sizeof(cluster), "%s (%zu/%zu)",
			 t.cluster_damaged ? "damaged" : t.cluster_complete ? "complete" : "incomplete",
			 t.cluster_finished, t.cluster_nodes);
		printf("%-24s %-19s  %-19s  %-12s %8" PRIu64 " %10s  %s\n", b->name,
		       cmd_fmt_time(s, sizeof(s), t.started),
		       t.finished ? cmd_fmt_time(f, sizeof(f), t.finished) : "incomplete",
		       t.differential ? "differential" : "full", t.files,
		       cmd_human_bytes(sz, sizeof(sz), t.bytes), cluster);
	}
	if (shown == 0)
		printf("no backups%s%s\n", only_fqdn ? " of node " : "", only_fqdn ? only_fqdn : "");
}

int cmd_list_backups(const struct config *cfg, const struct list_opts *o)
{
	struct storage *st = NULL;
	struct catalog *cat = NULL;
	const char *only = o->show_all ? NULL : cfg->fqdn;
	int rc;

	if ((rc = cmd_open_storage(&st, cfg, 0)) != 0 || (rc = catalog_load(&cat, st, cfg->prefix)) != 0 ||
	    (rc = catalog_count_manifests(cat, st, cfg->prefix, only)) != 0)
		goto out;
	if (o->json)
		rc = print_json(cat, only);
	else
		print_text(cat, only);
out:
	catalog_free(cat);
	storage_close(st);
	return rc;
}
