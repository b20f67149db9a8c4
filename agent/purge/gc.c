/*
 * gc: a node's objects that nothing needs any more (purge_int.h).
 *
 * References are every `path` of every remaining finished manifest of the
 * node, streamed (a manifest may be 30 MB), kept as 64-bit hashes: a
 * collision can only keep an object that could have gone, never remove one
 * that is needed. Then ONE listing of <prefix>/<fqdn>/ with write times:
 *   - <prefix>/<fqdn>/data/...        the pool: goes when unreferenced;
 *   - <prefix>/<fqdn>/<backup>/...    kept while the index knows <backup>
 *                                     for this node; a folder the index no
 *                                     longer knows is a leftover and goes;
 * and only once at least backup_grace_period_in_days old, so the objects of
 * a backup running meanwhile (not in any manifest yet) stay.
 */
#define _GNU_SOURCE
#include "purge_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "commands.h"
#include "config.h"
#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "util.h"

#define DAY 86400

/* ---- a set of 64-bit key hashes (open addressing; 0 = empty) ---- */

struct refset {
	uint64_t *v;
	size_t n, cap;	/* cap: a power of two */
};

static uint64_t key_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	/* A final mix: FNV's low bits are weak for keys that share a long
	 * prefix, and the table indexes by them. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

static int refset_has(const struct refset *r, uint64_t h)
{
	size_t i;

	if (r->cap == 0)
		return 0;
	for (i = h & (r->cap - 1); r->v[i] != 0; i = (i + 1) & (r->cap - 1))
		if (r->v[i] == h)
			return 1;
	return 0;
}

static void refset_put(struct refset *r, uint64_t h)
{
	size_t i;

	for (i = h & (r->cap - 1); r->v[i] != 0; i = (i + 1) & (r->cap - 1))
		if (r->v[i] == h)
			return;
	r->v[i] = h;
	r->n++;
}

static int refset_add(struct refset *r, const char *key)
{
	uint64_t h = key_hash(key), *old = r->v;
	size_t i, old_cap = r->cap;

	if ((r->n + 1) * 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;

		if ((r->v = cst_calloc(cap, sizeof(*r->v))) == NULL) {
			r->v = old;
			return CST_ENOMEM;
		}
		r->cap = cap;
		r->n = 0;
		for (i = 0; i < old_cap; i++)
			if (old[i] != 0)
				refset_put(r, old[i]);
		free(old);
	}
	refset_put(r, h);
	return 0;
}

/* ---- the remaining manifests ---- */

static int on_object(void *arg, const struct manifest_object *o)
{
	return refset_add(arg, o->path);
}

static int to_reader(void *arg, const unsigned char *buf, size_t len)
{
	return manifest_reader_feed(arg, buf, len);
}

static int add_manifest(struct refset *refs, struct storage *st, const char *prefix,
			const char *fqdn, const char *backup)
{
	struct manifest_sink sink = { NULL, on_object, refs };
	struct manifest_reader *r = NULL;
	char *key = NULL, *origin = NULL;
	int rc;

	if ((key = layout_meta_key(prefix, fqdn, backup, "manifest.json")) == NULL ||
	    (origin = cst_sprintf("backup %s manifest", backup)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = manifest_reader_new(&r, origin, &sink)) != 0 ||
	    (rc = storage_get(st, key, to_reader, r)) != 0)
		goto out;
	rc = manifest_reader_finish(r);
out:
	manifest_reader_free(r);
	free(key);
	free(origin);
	return rc;
}

/*
 * Every path of every remaining finished manifest of `fqdn`. *blocked set
 * (with the warning printed) when one cannot be read: then nothing may go.
 */
static int load_refs(struct purge_run *p, const struct catalog *cat, const char *fqdn,
		     struct refset *refs, int *blocked)
{
	char why[512];
	size_t i;
	int rc;

	*blocked = 0;
	for (i = 0; i < cat->n_backups; i++) {
		const char *name = cat->backups[i].name;
		const struct catalog_node *n = catalog_node_of(&cat->backups[i], fqdn);

		if (n == NULL || n->deleting || n->finished == 0 || purge_is_gone(p, fqdn, name))
			continue;
		if (n->damaged) {
			snprintf(why, sizeof(why), "it is flagged damaged in its index");
		} else {
			rc = add_manifest(refs, p->st, p->cfg->prefix, fqdn, name);
			if (rc == 0)
				continue;
			/* Unreadable for good: another read gives the same. A
			 * store that fails (network, auth) fails the run. */
			if (rc != CST_EINVALID && rc != CST_ENOTFOUND && rc != CST_EINTEGRITY)
				return rc;
			snprintf(why, sizeof(why), "%s", cst_error_msg());
		}
		fprintf(stderr, "cassette: warning: backup %s of node %s: its manifest cannot be read "
			"(%s). Which objects it needs is unknown, so no object of node %s is "
			"garbage-collected; delete it first: cassette delete-backup --backup-name %s\n",
			name, fqdn, why, fqdn, name);
		*blocked = 1;
		return 0;
	}
	return 0;
}

/* ---- the listing ---- */

struct scan {
	struct purge_run *p;
	const struct catalog *cat;
	const char *fqdn;
	size_t node_len;		/* of "<prefix>/<fqdn>/" */
	const struct refset *refs;
	int64_t oldest_young;		/* mtime at or above which an object is young */
	struct purge_keys doomed;
	uint64_t young, young_bytes, kept_unknown_time;
	/* the damaged_objects records (<rest>, sorted) and which still have
	 * their object afterwards */
	struct purge_keys records;
	unsigned char *record_alive;
	size_t record_prefix_len;
};

/* 1 when the folder <prefix>/<fqdn>/<name>/ is not GC's: the index knows
 * backup `name` for this node, or this run removed it (and counted its
 * objects: a dry run finds them still there). */
static int known_backup(const struct scan *sc, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sc->cat->n_backups; i++) {
		const struct catalog_backup *b = &sc->cat->backups[i];

		if (strlen(b->name) == len && memcmp(b->name, name, len) == 0)
			return catalog_node_of(b, sc->fqdn) != NULL;
	}
	return 0;
}

static int by_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void record_survives(struct scan *sc, const char *rest)
{
	char **hit;

	if (sc->records.n == 0)
		return;
	hit = bsearch(&rest, sc->records.keys, sc->records.n, sizeof(char *), by_key);
	if (hit != NULL)
		sc->record_alive[hit - sc->records.keys] = 1;
}

static int on_node_key(void *arg, const struct storage_entry *e)
{
	struct scan *sc = arg;
	const char *rest = e->key + sc->node_len, *slash = strchr(rest, '/');
	size_t seg = slash ? (size_t)(slash - rest) : strlen(rest);
	int pool = seg == 4 && memcmp(rest, "data", 4) == 0;

	if (pool ? refset_has(sc->refs, key_hash(e->key)) : known_backup(sc, rest, seg)) {
		record_survives(sc, rest);
		return 0;
	}
	/* Unreferenced, or a folder no backup owns any more. */
	if (e->mtime == 0) {
		sc->kept_unknown_time++;
	} else if (e->mtime >= sc->oldest_young) {
		sc->young++;
		sc->young_bytes += e->size;
	} else {
		return purge_keys_add(&sc->doomed, e->key, e->size);
	}
	record_survives(sc, rest);
	return 0;
}

static int on_record(void *arg, const struct storage_entry *e)
{
	struct scan *sc = arg;

	return purge_keys_add(&sc->records, e->key + sc->record_prefix_len, e->size);
}

/* Delete the records whose object is gone. */
static int drop_records(struct scan *sc, const char *record_prefix, uint64_t *n)
{
	char *key;
	size_t i;
	int rc = 0;

	for (i = 0; i < sc->records.n && rc == 0; i++) {
		if (sc->record_alive[i])
			continue;
		if ((key = cst_sprintf("%s%s", record_prefix, sc->records.keys[i])) == NULL)
			return CST_ENOMEM;
		if (!sc->p->dry_run)
			rc = storage_delete(sc->p->st, key);
		(*n)++;
		free(key);
	}
	return rc;
}

int purge_gc_node(struct purge_run *p, const char *fqdn)
{
	const char *prefix = p->cfg->prefix, *sep = *prefix ? "/" : "";
	struct catalog *cat = NULL;
	struct refset refs = { 0 };
	struct scan sc = { 0 };
	struct purge_stats s = { 0, 0 };
	char *node = NULL, *record_prefix = NULL, size[32], young[32];
	uint64_t records_dropped = 0;
	int blocked, rc;

	/* A node named "index" with an empty prefix would be the index itself. */
	if (strcmp(fqdn, "index") == 0)
		return cst_error(CST_EINVALID, "node %s: its objects share the folder of the index, "
				 "so none is garbage-collected", fqdn);
	node = cst_sprintf("%s%s%s/", prefix, sep, fqdn);
	record_prefix = cst_sprintf("%s%sindex/damaged_objects/%s/", prefix, sep, fqdn);
	if (node == NULL || record_prefix == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = catalog_load_with_deleting(&cat, p->st, prefix)) != 0 ||
	    (rc = load_refs(p, cat, fqdn, &refs, &blocked)) != 0 || blocked)
		goto out;
	sc.p = p;
	sc.cat = cat;
	sc.fqdn = fqdn;
	sc.node_len = strlen(node);
	sc.refs = &refs;
	sc.oldest_young = p->now - (int64_t)p->cfg->grace_period_days * DAY + 1;
	sc.record_prefix_len = strlen(record_prefix);
	/* The records first: they are few, and the node listing marks which
	 * still have their object. */
	if ((rc = storage_list_entries(p->st, record_prefix, on_record, &sc)) != 0)
		goto out;
	if (sc.records.n > 0 && (sc.record_alive = cst_calloc(sc.records.n, 1)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_list_entries(p->st, node, on_node_key, &sc)) != 0 ||
	    (rc = purge_keys_delete(p, &sc.doomed, &s)) != 0 ||
	    (rc = drop_records(&sc, record_prefix, &records_dropped)) != 0)
		goto out;
	p->total.objects += s.objects;
	p->total.bytes += s.bytes;
	printf("node %s: %s %" PRIu64 " unreferenced objects, %s", fqdn,
	       p->dry_run ? "would garbage-collect" : "garbage-collected", s.objects,
	       cmd_human_bytes(size, sizeof(size), s.bytes));
	if (sc.young > 0)
		printf("; kept %" PRIu64 " younger than backup_grace_period_in_days (%u), %s",
		       sc.young, p->cfg->grace_period_days,
		       cmd_human_bytes(young, sizeof(young), sc.young_bytes));
	if (sc.kept_unknown_time > 0)
		printf("; kept %" PRIu64 " whose write time the store does not tell",
		       sc.kept_unknown_time);
	if (records_dropped > 0)
		printf("; %s %" PRIu64 " damaged-object records", p->dry_run ? "would drop" : "dropped",
		       records_dropped);
	printf("\n");
	fflush(stdout);
out:
	catalog_free(cat);
	free(refs.v);
	purge_keys_free(&sc.doomed);
	purge_keys_free(&sc.records);
	free(sc.record_alive);
	free(node);
	free(record_prefix);
	return rc;
}
