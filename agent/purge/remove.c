/*
 * remove: one backup of one node, in an order that a rerun finishes after
 * any interruption (purge_int.h, docs/FORMAT.md "Deleting a backup"):
 *
 *   1. the flag index/node_index/<fqdn>/<backup>/deleting: from here on no
 *      listing shows the node in this backup, and the next purge or
 *      delete-backup finishes the job; then the node's other entries there
 *      (node_index.h: its counts, cluster marker, damaged flag);
 *   2. every object under <prefix>/<fqdn>/<backup>/ (meta/ first in key
 *      order is no matter: the flag already hides the backup);
 *   3. the node's entries in index/backup_index/<backup>/, and the cluster
 *      markers there (stores before 0.4) once no other node is left in it;
 *   4. the flag, last (and an older store's deleting_<fqdn> with it).
 *
 * Pool objects are not touched here: GC removes the ones no remaining
 * manifest references.
 */
#define _GNU_SOURCE
#include "purge_int.h"
#include "node_index.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "commands.h"
#include "config.h"
#include "latest.h"
#include "layout.h"
#include "storage.h"
#include "util.h"

/* ---- keys ---- */

int purge_keys_add(struct purge_keys *k, const char *key, uint64_t size)
{
	char **keys;
	uint64_t *sizes;
	size_t cap = k->cap;

	if (k->n == k->cap) {
		cap = k->cap ? k->cap * 2 : 64;
		if ((keys = cst_realloc(k->keys, cap * sizeof(*keys))) == NULL)
			return CST_ENOMEM;
		k->keys = keys;
		if ((sizes = cst_realloc(k->sizes, cap * sizeof(*sizes))) == NULL)
			return CST_ENOMEM;
		k->sizes = sizes;
		k->cap = cap;
	}
	if ((k->keys[k->n] = cst_strdup(key)) == NULL)
		return CST_ENOMEM;
	k->sizes[k->n++] = size;
	return 0;
}

void purge_keys_free(struct purge_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->keys[i]);
	free(k->keys);
	free(k->sizes);
	memset(k, 0, sizeof(*k));
}

int purge_keys_delete(struct purge_run *p, const struct purge_keys *k, struct purge_stats *s)
{
	size_t i;
	int rc;

	for (i = 0; i < k->n; i++) {
		if (cassette_interrupted)
			return cst_error(CST_EIO, "interrupted; run it again to finish");
		if (!p->dry_run && (rc = storage_delete(p->st, k->keys[i])) != 0)
			return rc;
		s->objects++;
		s->bytes += k->sizes[i];
	}
	return 0;
}

static int collect(void *arg, const struct storage_entry *e)
{
	return purge_keys_add(arg, e->key, e->size);
}

/* ---- the index entries of one node ---- */

/* 1 when index object `obj` of a backup belongs to node `fqdn` (an older
 * store's deleting_ flag aside). */
static int entry_of_node(const char *obj, const char *fqdn)
{
	static const char *const kinds[][2] = {
		{ "manifest_", ".json" }, { "schema_", ".cql" }, { "tokenmap_", ".json" },
		{ "differential_", "" }, { "damaged_", "" },
	};
	struct index_marker m;
	size_t i, kl, fl = strlen(fqdn);

	if (layout_marker_of(&m, obj, fqdn) == 0)
		return 1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		kl = strlen(kinds[i][0]);
		if (strncmp(obj, kinds[i][0], kl) == 0 && strncmp(obj + kl, fqdn, fl) == 0 &&
		    strcmp(obj + kl + fl, kinds[i][1]) == 0)
			return 1;
	}
	return 0;
}

struct index_scan {
	const char *folder, *fqdn, *flag;
	struct purge_keys mine, clusters, old_flag;
	int others;	/* entries of other nodes (or unknown ones) left */
};

static int on_index(void *arg, const struct storage_entry *e)
{
	struct index_scan *sc = arg;
	const char *obj = e->key + strlen(sc->folder);
	size_t n;
	uint64_t fp;

	if (strcmp(obj, sc->flag) == 0)
		return purge_keys_add(&sc->old_flag, e->key, e->size);
	if (entry_of_node(obj, sc->fqdn))
		return purge_keys_add(&sc->mine, e->key, e->size);
	if (layout_parse_cluster(obj, &n, &fp) == 0)
		return purge_keys_add(&sc->clusters, e->key, e->size);
	sc->others = 1;
	return 0;
}

/* ---- one backup ---- */

static int remember(struct purge_run *p, const char *fqdn, const char *name)
{
	char **v;
	size_t cap = p->cap_gone;

	if (p->n_gone == p->cap_gone) {
		cap = cap ? cap * 2 : 16;
		if ((v = cst_realloc(p->gone, cap * sizeof(*v))) == NULL)
			return CST_ENOMEM;
		p->gone = v;
		p->cap_gone = cap;
	}
	if ((p->gone[p->n_gone] = cst_sprintf("%s\n%s", fqdn, name)) == NULL)
		return CST_ENOMEM;
	p->n_gone++;
	return 0;
}

int purge_is_gone(const struct purge_run *p, const char *fqdn, const char *name)
{
	size_t i, fl = strlen(fqdn);

	for (i = 0; i < p->n_gone; i++)
		if (strncmp(p->gone[i], fqdn, fl) == 0 && p->gone[i][fl] == '\n' &&
		    strcmp(p->gone[i] + fl + 1, name) == 0)
			return 1;
	return 0;
}

int purge_remove_backup(struct purge_run *p, const char *fqdn, const char *name, const char *why)
{
	const char *prefix = p->cfg->prefix;
	const char *sep = *prefix ? "/" : "";
	struct index_scan sc = { 0 };
	struct purge_keys folder_keys = { 0 };
	struct purge_stats s = { 0, 0 };
	char *folder = NULL, *index_folder = NULL, *flag = NULL, *flag_key = NULL, *text = NULL;
	char size[32];
	int rc;

	folder = cst_sprintf("%s%s%s/%s/", prefix, sep, fqdn, name);
	index_folder = cst_sprintf("%s%sindex/backup_index/%s/", prefix, sep, name);
	flag = cst_sprintf("deleting_%s", fqdn);	/* where stores before 0.4 hold it */
	flag_key = node_index_key(prefix, fqdn, name, NODE_INDEX_DELETING);
	text = cst_sprintf("%s (pid %ld) began removing this node's backup at %" PRId64 "\n",
			   p->command, (long)getpid(), p->now);
	if (!folder || !index_folder || !flag || !flag_key || !text) {
		rc = CST_ENOMEM;
		goto out;
	}
	sc.folder = index_folder;
	sc.fqdn = fqdn;
	sc.flag = flag;
	/* 1. The flag: the backup is going, and a rerun knows it. */
	if (!p->dry_run && (rc = storage_put_buf(p->st, flag_key, text, strlen(text), 0)) != 0)
		goto out;
	/* The node's own entries (node_index.h) but the flag go too. */
	{
		size_t gone = 0;

		if ((rc = node_index_remove(p->st, prefix, fqdn, name, p->dry_run, &gone)) != 0)
			goto out;
		s.objects += gone;
	}
	/* 2. Its own folder: meta/, and a full backup's data/. */
	if ((rc = storage_list_entries(p->st, folder, collect, &folder_keys)) != 0 ||
	    (rc = purge_keys_delete(p, &folder_keys, &s)) != 0)
		goto out;
	/* 3. Its backup_index entries; old cluster markers with the last node. */
	if ((rc = storage_list_entries(p->st, index_folder, on_index, &sc)) != 0 ||
	    (rc = purge_keys_delete(p, &sc.mine, &s)) != 0 ||
	    (!sc.others && (rc = purge_keys_delete(p, &sc.clusters, &s)) != 0))
		goto out;
	/* 4. The flag, last. */
	if ((rc = purge_keys_delete(p, &sc.old_flag, &s)) != 0 ||
	    (!p->dry_run && (rc = storage_delete(p->st, flag_key)) != 0))
		goto out;
	/* Medusa's latest_backup pointer must not name a backup that is gone. */
	if (!p->dry_run && (rc = latest_backup_after_removal(p->st, prefix, fqdn, name)) != 0)
		goto out;
	if ((rc = remember(p, fqdn, name)) != 0)
		goto out;
	p->backups++;
	p->total.objects += s.objects;
	p->total.bytes += s.bytes;
	printf("%s backup %s of node %s%s%s%s: %" PRIu64 " objects, %s\n",
	       p->dry_run ? "would remove" : "removed", name, fqdn, why ? " (" : "", why ? why : "",
	       why ? ")" : "", s.objects, cmd_human_bytes(size, sizeof(size), s.bytes));
	fflush(stdout);
out:
	purge_keys_free(&folder_keys);
	purge_keys_free(&sc.mine);
	purge_keys_free(&sc.clusters);
	purge_keys_free(&sc.old_flag);
	free(folder);
	free(index_folder);
	free(flag);
	free(flag_key);
	free(text);
	return rc;
}

int purge_finish_interrupted(struct purge_run *p, const struct catalog *cat, const char *fqdn)
{
	size_t i;
	int rc;

	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_node *n = catalog_node_of(&cat->backups[i], fqdn);

		if (n != NULL && n->deleting && !purge_is_gone(p, fqdn, cat->backups[i].name) &&
		    (rc = purge_remove_backup(p, fqdn, cat->backups[i].name,
					      "an earlier removal was interrupted")) != 0)
			return rc;
	}
	return 0;
}
