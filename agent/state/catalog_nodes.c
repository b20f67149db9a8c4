/* catalog_nodes: what the node index adds to a catalog (catalog_int.h). */
#define _GNU_SOURCE
#include "catalog.h"
#include "catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "layout.h"
#include "node_index.h"
#include "storage.h"
#include "util.h"

static int by_backup_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct catalog_backup *)elem)->name);
}

struct node_scan {
	struct catalog *cat;
	size_t plen;
	const char *only;	/* catalog_load_backup's one backup, or NULL */
	/* deleting flags of backups the backup_index listing no longer holds
	 * (a removal stopped between its steps 3 and 4), "<fqdn>\n<backup>" */
	char **orphans;
	size_t n_orphans, cap_orphans;
};

static int add_orphan(struct node_scan *ns, const char *host, const char *name)
{
	char **grown;

	if ((grown = cst_grow(ns->orphans, &ns->cap_orphans, ns->n_orphans, sizeof(*grown), 4)) == NULL)
		return CST_ENOMEM;
	ns->orphans = grown;
	if ((grown[ns->n_orphans] = cst_sprintf("%s\n%s", host, name)) == NULL)
		return CST_ENOMEM;
	ns->n_orphans++;
	return 0;
}

/*
 * <prefix>/index/node_index/<fqdn>/<backup>/<entry>: finished_... gives the
 * counts; damaged and deleting flag the node; cluster_<n>_<fp> is one of
 * the backup's cluster markers (the union over its nodes).
 */
static int on_node_entry(void *arg, const char *key, uint64_t size)
{
	struct node_scan *ns = arg;
	const char *fqdn = key + ns->plen, *s1 = strchr(fqdn, '/'), *s2, *entry;
	struct catalog_backup *b;
	struct catalog_node *n = NULL;
	struct catalog_cluster cl;
	struct node_backup e;
	char name[130], host[256];
	size_t i;

	(void)size;
	if (s1 == NULL || (s2 = strchr(s1 + 1, '/')) == NULL || strchr(s2 + 1, '/') != NULL ||
	    (size_t)(s1 - fqdn) >= sizeof(host) || (size_t)(s2 - s1 - 1) >= sizeof(name))
		return 0;
	entry = s2 + 1;
	snprintf(host, sizeof(host), "%.*s", (int)(s1 - fqdn), fqdn);
	snprintf(name, sizeof(name), "%.*s", (int)(s2 - s1 - 1), s1 + 1);
	if (!config_fqdn_is_valid(host) || !config_backup_name_is_valid(name) ||
	    (ns->only != NULL && strcmp(name, ns->only) != 0))
		return 0;
	b = bsearch(name, ns->cat->backups, ns->cat->n_backups, sizeof(*b), by_backup_name);
	if (strcmp(entry, NODE_INDEX_DELETING) == 0) {
		if (b == NULL)
			return add_orphan(ns, host, name);
		if ((n = catalog_node_for(b, host)) == NULL)
			return CST_ENOMEM;
		n->deleting = 1;
		return 0;
	}
	if (b == NULL)
		return 0;
	if (layout_parse_cluster(entry, &cl.n_nodes, &cl.fingerprint) == 0) {
		snprintf(cl.source, sizeof(cl.source), "%s", host);
		return catalog_add_cluster(b, &cl);
	}
	for (i = 0; i < b->n_nodes && n == NULL; i++)
		if (strcmp(b->nodes[i].fqdn, host) == 0)
			n = &b->nodes[i];
	if (n == NULL)
		return 0;
	if (strcmp(entry, NODE_INDEX_DAMAGED) == 0) {
		n->damaged = 1;
	} else if (node_index_parse_entry(&e, entry) == 0) {
		n->files = e.files;
		n->bytes = e.bytes;
		n->counted = 1;
	}
	return 0;
}

/* The deleting flags whose backup the listing lost: the node, flagged, in
 * a backup of its own (purge and delete-backup finish the removal). */
static int settle_orphans(struct node_scan *ns)
{
	struct catalog *cat = ns->cat;
	struct catalog_backup *b;
	struct catalog_node *n;
	size_t i, j, cap = cat->n_backups;

	for (i = 0; i < ns->n_orphans; i++) {
		char *host = ns->orphans[i], *name = strchr(host, '\n') + 1;

		for (j = 0, b = NULL; j < cat->n_backups && b == NULL; j++)
			if (strcmp(cat->backups[j].name, name) == 0)
				b = &cat->backups[j];
		if (b == NULL) {
			if ((b = cst_grow(cat->backups, &cap, cat->n_backups, sizeof(*b), 4)) == NULL)
				return CST_ENOMEM;
			cat->backups = b;
			b = &cat->backups[cat->n_backups];
			memset(b, 0, sizeof(*b));
			if ((b->name = cst_strdup(name)) == NULL)
				return CST_ENOMEM;
			cat->n_backups++;
		}
		name[-1] = '\0';
		if ((n = catalog_node_for(b, host)) == NULL)
			return CST_ENOMEM;
		n->deleting = 1;
	}
	return 0;
}

/* Several nodes write the same marker: keep one per node set, preferably
 * of a node that is not being removed (its copy goes first). */
static void dedup_clusters(struct catalog_backup *b)
{
	size_t i, j, kept = 0;

	for (i = 0; i < b->n_clusters; i++) {
		const struct catalog_cluster *c = &b->clusters[i];
		const struct catalog_node *src = c->source[0] ? catalog_node_of(b, c->source) : NULL;
		int going = src != NULL && src->deleting;

		for (j = 0; j < kept; j++)
			if (b->clusters[j].n_nodes == c->n_nodes &&
			    b->clusters[j].fingerprint == c->fingerprint)
				break;
		if (j == kept)
			b->clusters[kept++] = *c;
		else if (!going && b->clusters[j].source[0] != '\0' &&
			 (src = catalog_node_of(b, b->clusters[j].source)) != NULL && src->deleting)
			b->clusters[j] = *c;
	}
	b->n_clusters = kept;
}

int catalog_read_node_index(struct catalog *cat, struct storage *st, const char *prefix,
			    const char *only)
{
	struct node_scan ns;
	char *root;
	size_t i, j;
	int rc;

	memset(&ns, 0, sizeof(ns));
	ns.cat = cat;
	ns.only = only;
	if ((root = node_index_root(prefix)) == NULL)
		return CST_ENOMEM;
	ns.plen = strlen(root);
	rc = storage_list(st, root, on_node_entry, &ns);
	free(root);
	if (rc == 0)
		rc = settle_orphans(&ns);
	for (i = 0; i < ns.n_orphans; i++)
		free(ns.orphans[i]);
	free(ns.orphans);
	for (i = 0; i < cat->n_backups; i++) {
		dedup_clusters(&cat->backups[i]);
		for (j = 0; j < cat->backups[i].n_nodes; j++) {
			struct catalog_node *nd = &cat->backups[i].nodes[j];

			nd->medusa = nd->finished != 0 && !nd->counted;
		}
	}
	return rc;
}
