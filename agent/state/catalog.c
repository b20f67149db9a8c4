/* catalog: group the index listing into backups and nodes. */
#define _GNU_SOURCE
#include "catalog.h"
#include "catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "layout.h"
#include "storage.h"
#include "util.h"

/* A finished marker waits for the listing's end: its name is read against
 * the node names the backup's other entries give (layout.h). */
struct pending {
	size_t backup;
	char *obj;
};

struct scan {
	struct catalog *cat;
	size_t cap;
	const char *index_prefix;
	const char *only;		/* catalog_load_backup's one backup, or NULL */
	struct pending *pend;
	size_t n_pend, cap_pend;
};

static struct catalog_backup *backup_for(struct scan *sc, const char *name, size_t len);

/* A flag object "<what>_<fqdn>" of a node in a backup's index folder. */
static int flag_node(struct scan *sc, const char *rest, size_t name_len, const char *obj,
		     const char *what, int **field_of_node)
{
	size_t wl = strlen(what);
	struct catalog_backup *b;
	struct catalog_node *n;

	*field_of_node = NULL;
	if (strncmp(obj, what, wl) != 0 || obj[wl] != '_' || !config_fqdn_is_valid(obj + wl + 1))
		return 0;
	if ((b = backup_for(sc, rest, name_len)) == NULL ||
	    (n = catalog_node_for(b, obj + wl + 1)) == NULL)
		return CST_ENOMEM;
	if (strcmp(what, "differential") == 0)
		*field_of_node = &n->differential;
	else if (strcmp(what, "damaged") == 0)
		*field_of_node = &n->damaged;
	else
		*field_of_node = &n->deleting;
	return 0;
}

static struct catalog_backup *backup_for(struct scan *sc, const char *name, size_t len)
{
	struct catalog *cat = sc->cat;
	struct catalog_backup *b;

	/* The listing is sorted, so a backup's objects are contiguous. */
	if (cat->n_backups > 0) {
		b = &cat->backups[cat->n_backups - 1];
		if (strlen(b->name) == len && memcmp(b->name, name, len) == 0)
			return b;
	}
	if ((b = cst_grow(cat->backups, &sc->cap, cat->n_backups, sizeof(*b), 64)) == NULL)
		return NULL;
	cat->backups = b;
	b = &cat->backups[cat->n_backups];
	memset(b, 0, sizeof(*b));
	if ((b->name = cst_sprintf("%.*s", (int)len, name)) == NULL)
		return NULL;
	cat->n_backups++;
	return b;
}

struct catalog_node *catalog_node_for(struct catalog_backup *b, const char *fqdn)
{
	struct catalog_node *n, *grown;
	size_t i;

	for (i = 0; i < b->n_nodes; i++)
		if (strcmp(b->nodes[i].fqdn, fqdn) == 0)
			return &b->nodes[i];
	if ((grown = cst_realloc(b->nodes, (b->n_nodes + 1) * sizeof(*grown))) == NULL)
		return NULL;
	b->nodes = grown;
	n = &b->nodes[b->n_nodes];
	memset(n, 0, sizeof(*n));
	if ((n->fqdn = cst_strdup(fqdn)) == NULL)
		return NULL;
	b->n_nodes++;
	return n;
}

int catalog_add_cluster(struct catalog_backup *b, const struct catalog_cluster *cl)
{
	struct catalog_cluster *grown;

	if ((grown = cst_realloc(b->clusters, (b->n_clusters + 1) * sizeof(*grown))) == NULL)
		return CST_ENOMEM;
	b->clusters = grown;
	b->clusters[b->n_clusters++] = *cl;
	return 0;
}

/* "manifest_<fqdn>.json", the index copy of a node's manifest. */
static int is_manifest_copy(const char *obj)
{
	size_t n = strlen(obj);
	char fqdn[256];

	if (n <= 14 || n - 14 >= sizeof(fqdn) || strncmp(obj, "manifest_", 9) != 0 ||
	    strcmp(obj + n - 5, ".json") != 0)
		return 0;
	memcpy(fqdn, obj + 9, n - 14);
	fqdn[n - 14] = '\0';
	return config_fqdn_is_valid(fqdn);
}

static int on_key(void *arg, const char *key, uint64_t size)
{
	struct scan *sc = arg;
	const char *rest = key + strlen(sc->index_prefix), *slash = strchr(rest, '/');
	struct catalog_backup *b;
	struct catalog_node *n;
	struct index_marker m;
	struct catalog_cluster cl;
	char name[130];
	int rc;

	if (slash == NULL || (size_t)(slash - rest) >= sizeof(name))
		return 0;
	memcpy(name, rest, (size_t)(slash - rest));
	name[slash - rest] = '\0';
	if (!config_backup_name_is_valid(name) || strchr(slash + 1, '/') != NULL)
		return 0;	/* not ours; ignore rather than fail a listing */
	if (strncmp(slash + 1, "finished_", 9) == 0) {
		struct pending *p;

		if ((b = backup_for(sc, rest, (size_t)(slash - rest))) == NULL ||
		    (p = cst_grow(sc->pend, &sc->cap_pend, sc->n_pend, sizeof(*p), 64)) == NULL)
			return CST_ENOMEM;
		sc->pend = p;
		p[sc->n_pend].backup = (size_t)(b - sc->cat->backups);
		if ((p[sc->n_pend].obj = cst_strdup(slash + 1)) == NULL)
			return CST_ENOMEM;
		sc->n_pend++;
	} else if (layout_parse_marker(&m, slash + 1) == 0 && config_fqdn_is_valid(m.fqdn)) {
		if ((b = backup_for(sc, rest, (size_t)(slash - rest))) == NULL ||
		    (n = catalog_node_for(b, m.fqdn)) == NULL)
			return CST_ENOMEM;
		if (n->started == 0 || m.ts < n->started)
			n->started = m.ts;
	} else if (layout_parse_cluster(slash + 1, &cl.n_nodes, &cl.fingerprint) == 0) {
		/* where stores of cassette before 0.4 hold it */
		cl.source[0] = '\0';
		if ((b = backup_for(sc, rest, (size_t)(slash - rest))) == NULL)
			return CST_ENOMEM;
		if ((rc = catalog_add_cluster(b, &cl)) != 0)
			return rc;
	} else if (is_manifest_copy(slash + 1)) {
		char fqdn[256];

		snprintf(fqdn, sizeof(fqdn), "%.*s", (int)(strlen(slash + 1) - 14), slash + 10);
		if ((b = backup_for(sc, rest, (size_t)(slash - rest))) == NULL ||
		    (n = catalog_node_for(b, fqdn)) == NULL)
			return CST_ENOMEM;
		n->manifest_size = size;
	} else {
		static const char *const flags[] = { "differential", "damaged", "deleting" };
		size_t i;
		int *field;

		for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			if ((rc = flag_node(sc, rest, (size_t)(slash - rest), slash + 1, flags[i],
					    &field)) != 0)
				return rc;
			if (field != NULL) {
				*field = 1;
				break;
			}
		}
	}
	return 0;
}

/*
 * A finished marker belongs to the longest node name of the backup for
 * which it reads as finished_<fqdn>_<ts> or the old
 * finished_<fqdn>_<ts>_<files>_<bytes>; with none, Medusa's reading (the
 * fqdn is all before the last "_<digits>") names the node.
 */
static int resolve_finished(struct catalog_backup *b, const char *obj)
{
	struct index_marker m, best;
	struct catalog_node *n;
	size_t i, best_len = 0;

	for (i = 0; i < b->n_nodes; i++)
		if (layout_marker_of(&m, obj, b->nodes[i].fqdn) == 0 && m.finished &&
		    strlen(m.fqdn) > best_len) {
			best = m;
			best_len = strlen(m.fqdn);
		}
	if (best_len == 0 && (layout_parse_marker(&best, obj) != 0 || !best.finished ||
			      !config_fqdn_is_valid(best.fqdn)))
		return 0;	/* not ours */
	if ((n = catalog_node_for(b, best.fqdn)) == NULL)
		return CST_ENOMEM;
	n->finished = best.ts;
	if (best.counted && !n->counted) {
		n->files = best.files;
		n->bytes = best.bytes;
		n->counted = 1;
	}
	return 0;
}

static int cmp_names(const void *pa, const void *pb)
{
	return strcmp(((const struct catalog_backup *)pa)->name,
		      ((const struct catalog_backup *)pb)->name);
}

/* Finish the scan: the finished markers, then the node index. */
static int settle(struct scan *sc, struct storage *st, const char *prefix)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < sc->n_pend && rc == 0; i++)
		rc = resolve_finished(&sc->cat->backups[sc->pend[i].backup], sc->pend[i].obj);
	if (rc != 0)
		return rc;
	/* a listing's order is not strcmp's on the names ("b1-2/" < "b1/") */
	if (sc->cat->n_backups > 1)
		qsort(sc->cat->backups, sc->cat->n_backups, sizeof(*sc->cat->backups), cmp_names);
	return catalog_read_node_index(sc->cat, st, prefix, sc->only);
}

static int64_t first_start(const struct catalog_backup *b)
{
	int64_t t = 0;
	size_t i;

	for (i = 0; i < b->n_nodes; i++)
		if (b->nodes[i].started && (t == 0 || b->nodes[i].started < t))
			t = b->nodes[i].started;
	return t;
}

static int cmp_backups(const void *pa, const void *pb)
{
	const struct catalog_backup *a = pa, *b = pb;
	int64_t ta = first_start(a), tb = first_start(b);

	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strcmp(a->name, b->name);
}

/* List `list_prefix` (the index, or one backup's folder of it). */
/* Drop the nodes whose backup is being deleted, and backups left empty. */
static void hide_deleting(struct catalog *cat)
{
	size_t i, j, keep = 0;

	for (i = 0; i < cat->n_backups; i++) {
		struct catalog_backup *b = &cat->backups[i];
		size_t k = 0;

		for (j = 0; j < b->n_nodes; j++) {
			if (b->nodes[j].deleting)
				free(b->nodes[j].fqdn);
			else
				b->nodes[k++] = b->nodes[j];
		}
		b->n_nodes = k;
		if (k == 0) {
			free(b->nodes);
			free(b->clusters);
			free(b->name);
			continue;
		}
		cat->backups[keep++] = *b;
	}
	cat->n_backups = keep;
}

static int load(struct catalog **out, struct storage *st, const char *prefix, const char *name,
		int with_deleting)
{
	struct scan sc;
	char *index_prefix, *list_prefix;
	size_t i;
	int rc;

	*out = NULL;
	memset(&sc, 0, sizeof(sc));
	if ((index_prefix = layout_index_prefix(prefix)) == NULL)
		return CST_ENOMEM;
	list_prefix = name ? cst_sprintf("%s%s/", index_prefix, name) : cst_strdup(index_prefix);
	if (list_prefix == NULL || (sc.cat = cst_calloc(1, sizeof(*sc.cat))) == NULL) {
		free(list_prefix);
		free(index_prefix);
		return CST_ENOMEM;
	}
	sc.index_prefix = index_prefix;
	sc.only = name;
	rc = storage_list(st, list_prefix, on_key, &sc);
	if (rc == 0)
		rc = settle(&sc, st, prefix);
	for (i = 0; i < sc.n_pend; i++)
		free(sc.pend[i].obj);
	free(sc.pend);
	free(list_prefix);
	free(index_prefix);
	if (rc != 0) {
		catalog_free(sc.cat);
		return rc;
	}
	if (!with_deleting)
		hide_deleting(sc.cat);
	if (sc.cat->n_backups > 1)
		qsort(sc.cat->backups, sc.cat->n_backups, sizeof(*sc.cat->backups), cmp_backups);
	*out = sc.cat;
	return 0;
}

int catalog_load(struct catalog **out, struct storage *st, const char *prefix)
{
	return load(out, st, prefix, NULL, 0);
}

int catalog_load_with_deleting(struct catalog **out, struct storage *st, const char *prefix)
{
	return load(out, st, prefix, NULL, 1);
}

int catalog_load_backup(struct catalog **out, struct storage *st, const char *prefix,
			const char *name)
{
	return load(out, st, prefix, name, 0);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int catalog_cluster_complete(const struct catalog_backup *b, size_t *expected)
{
	const char **names;
	size_t i, n = 0;
	uint64_t fp;
	int complete = 0;

	*expected = b->n_nodes;
	for (i = 0; i < b->n_nodes; i++)
		n += b->nodes[i].finished != 0;
	if (b->n_clusters == 0)
		return n == b->n_nodes;
	*expected = 0;
	for (i = 0; i < b->n_clusters; i++)
		if (b->clusters[i].n_nodes > *expected)
			*expected = b->clusters[i].n_nodes;
	if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL)
		return 0;	/* out of memory: not known complete */
	for (i = 0, n = 0; i < b->n_nodes; i++)
		if (b->nodes[i].finished)
			names[n++] = b->nodes[i].fqdn;
	qsort(names, n, sizeof(*names), by_str);
	fp = layout_cluster_fingerprint(names, n);
	for (i = 0; i < b->n_clusters; i++)
		if (b->clusters[i].n_nodes == n && b->clusters[i].fingerprint == fp) {
			complete = 1;
			*expected = n;
		}
	free(names);
	return complete;
}

const struct catalog_node *catalog_node_of(const struct catalog_backup *b, const char *fqdn)
{
	size_t i;

	for (i = 0; i < b->n_nodes; i++)
		if (strcmp(b->nodes[i].fqdn, fqdn) == 0)
			return &b->nodes[i];
	return NULL;
}

void catalog_free(struct catalog *cat)
{
	size_t i, j;

	if (cat == NULL)
		return;
	for (i = 0; i < cat->n_backups; i++) {
		for (j = 0; j < cat->backups[i].n_nodes; j++)
			free(cat->backups[i].nodes[j].fqdn);
		free(cat->backups[i].nodes);
		free(cat->backups[i].clusters);
		free(cat->backups[i].name);
	}
	free(cat->backups);
	free(cat);
}
