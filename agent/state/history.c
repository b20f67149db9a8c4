/*
 * history: what this node's earlier manifests say storage holds, kept small.
 *
 * A differential run needs two answers: for a file, the newest earlier pool
 * object with a given source size and MD5 that is stored the way this run
 * would store it; and whether a pool key is taken. So each manifest is
 * streamed (never held whole) and only this is kept:
 *   - one packed record per (file, source size, source MD5, key id): the
 *     newest object with those, since older ones could only answer the same;
 *   - which pool keys are referenced, for history_key_taken(). Nearly every
 *     pool object sits at its file's own key (<pool>/<ks>/<cf>/<rel>), which
 *     follows from the file: that is one bit on the file's record, and the
 *     record keeps no path (rec.path NULL). Only the other keys (variants,
 *     "<pool>/<ks>/<cf>/@<backup>/<rel>") are kept as strings, interned.
 * A node of 100,000 unchanged files costs about the same after 1 or 30
 * backups, ~15 MB. This file is that store and its lookups; history_load.c
 * reads the manifests into it.
 */
#define _GNU_SOURCE
#include "history_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "manifest.h"
#include "util.h"

#define POOL_BLOCK (1u << 20)

/* ---- small helpers ------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

#define FNV0 14695981039346656037ULL

/* Open-addressing tables are kept at most half full. */
static int rehash_needed(size_t n, size_t cap)
{
	return (n + 1) * 2 > cap;
}

/* ---- tables ------------------------------------------------------------- */

static uint64_t table_hash(const char *ks, const char *cf)
{
	return fnv(fnv(fnv(FNV0, ks, strlen(ks)), "\n", 1), cf, strlen(cf));
}

static int table_is(const char *name, const char *ks, const char *cf)
{
	size_t n = strlen(ks);

	return strncmp(name, ks, n) == 0 && name[n] == '\n' && strcmp(name + n + 1, cf) == 0;
}

/* The slot of (ks, cf) in by_table: its id + 1, or 0 where it would go. */
static size_t table_slot(const struct history *h, const char *ks, const char *cf)
{
	size_t mask = h->by_table_cap - 1, i;

	for (i = table_hash(ks, cf) & mask; h->by_table[i] != 0; i = (i + 1) & mask) {
		if (table_is(h->tables[h->by_table[i] - 1], ks, cf))
			break;
	}
	return i;
}

static int table_grow(struct history *h)
{
	size_t cap = h->by_table_cap ? h->by_table_cap * 2 : 64, t, i;
	uint32_t *nt = cst_calloc(cap, sizeof(*nt));

	if (nt == NULL)
		return CST_ENOMEM;
	for (t = 0; t < h->n_tables; t++) {
		const char *name = h->tables[t], *nl = strchr(name, '\n');
		uint64_t hv = fnv(fnv(fnv(FNV0, name, (size_t)(nl - name)), "\n", 1), nl + 1,
				  strlen(nl + 1));

		for (i = hv & (cap - 1); nt[i] != 0; i = (i + 1) & (cap - 1))
			;
		nt[i] = (uint32_t)t + 1;
	}
	free(h->by_table);
	h->by_table = nt;
	h->by_table_cap = cap;
	return 0;
}

int history_table_add(struct history *h, const char *ks, const char *cf, uint32_t *id)
{
	char **p;
	size_t i;

	if (rehash_needed(h->n_tables, h->by_table_cap) && table_grow(h) != 0)
		return CST_ENOMEM;
	i = table_slot(h, ks, cf);
	if (h->by_table[i] != 0) {
		*id = h->by_table[i] - 1;
		return 0;
	}
	if (h->n_tables >= HISTORY_MAX_TABLES)
		return cst_error(CST_ENOMEM, "history: too many tables");
	if ((p = cst_grow(h->tables, &h->cap_tables, h->n_tables, sizeof(*p), 64)) == NULL)
		return CST_ENOMEM;
	h->tables = p;
	if ((h->tables[h->n_tables] = cst_sprintf("%s\n%s", ks, cf)) == NULL)
		return CST_ENOMEM;
	h->by_table[i] = (uint32_t)++h->n_tables;
	*id = (uint32_t)h->n_tables - 1;
	return 0;
}

/* ---- pool keys ---------------------------------------------------------- */

const char *history_key_intern(struct history *h, const char *key)
{
	size_t i, mask;

	if (rehash_needed(h->n_keys, h->keys_cap)) {
		size_t cap = h->keys_cap ? h->keys_cap * 2 : 1024, k;
		const char **nt = cst_calloc(cap, sizeof(*nt));

		if (nt == NULL)
			return NULL;
		for (k = 0; k < h->keys_cap; k++) {
			if (h->keys[k] == NULL)
				continue;
			for (i = fnv(FNV0, h->keys[k], strlen(h->keys[k])) & (cap - 1); nt[i] != NULL;
			     i = (i + 1) & (cap - 1))
				;
			nt[i] = h->keys[k];
		}
		free(h->keys);
		h->keys = nt;
		h->keys_cap = cap;
	}
	mask = h->keys_cap - 1;
	for (i = fnv(FNV0, key, strlen(key)) & mask; h->keys[i] != NULL; i = (i + 1) & mask) {
		if (strcmp(h->keys[i], key) == 0)
			return h->keys[i];
	}
	if ((h->keys[i] = cst_strpool_dup(&h->strings, key)) == NULL)
		return NULL;
	h->n_keys++;
	if (!h->sealed) {	/* for the cache: what to add to it */
		const char **nk = cst_grow(h->new_keys, &h->cap_new_keys, h->n_new_keys,
					   sizeof(*nk), 256);

		if (nk == NULL)
			return NULL;
		h->new_keys = nk;
		h->new_keys[h->n_new_keys++] = h->keys[i];
	}
	return h->keys[i];
}

/* ---- records ------------------------------------------------------------ */

/* What makes two records interchangeable for history_find(). */
static uint64_t rec_hash(uint32_t table, const char *rel, const struct manifest_rec *r)
{
	uint64_t hv = fnv(FNV0, &table, sizeof(table));

	hv = fnv(hv, rel, strlen(rel) + 1);
	hv = fnv(hv, &r->source_size, sizeof(r->source_size));
	/* an ETag-only record (Medusa's multipart, no source MD5): its ETag */
	hv = fnv(hv, r->no_source ? r->md5 : r->source_md5, sizeof(r->source_md5));
	hv = fnv(hv, &r->encrypted, 1);
	return fnv(hv, r->key_id, sizeof(r->key_id));
}

static int rec_same(const struct entry *e, uint32_t table, const char *rel,
		    const struct manifest_rec *r)
{
	return e->table == table && e->rec.source_size == r->source_size &&
	       e->rec.encrypted == r->encrypted && e->rec.no_source == r->no_source &&
	       memcmp(e->rec.source_md5, r->source_md5, sizeof(r->source_md5)) == 0 &&
	       (!r->no_source || (memcmp(e->rec.md5, r->md5, sizeof(r->md5)) == 0 &&
				  strcmp(e->rec.etag_tail, r->etag_tail) == 0)) &&
	       memcmp(e->rec.key_id, r->key_id, sizeof(r->key_id)) == 0 && strcmp(e->rel, rel) == 0;
}

static int grow_by_key(struct history *h)
{
	size_t cap = h->by_key_cap ? h->by_key_cap * 2 : 1024, k, i;
	uint32_t *nt = cst_calloc(cap, sizeof(*nt));

	if (nt == NULL)
		return CST_ENOMEM;
	for (k = 0; k < h->n_entries; k++) {
		const struct entry *e = &h->entries[k];

		for (i = rec_hash(e->table, e->rel, &e->rec) & (cap - 1); nt[i] != 0; i = (i + 1) & (cap - 1))
			;
		nt[i] = (uint32_t)k + 1;
	}
	free(h->by_key);
	h->by_key = nt;
	h->by_key_cap = cap;
	return 0;
}

int history_add_rec(struct history *h, uint32_t table, const char *rel,
		    const struct manifest_rec *r, uint32_t order, int own)
{
	size_t i, mask;
	struct entry *e;

	if (rehash_needed(h->n_entries, h->by_key_cap) && grow_by_key(h) != 0)
		return CST_ENOMEM;
	mask = h->by_key_cap - 1;
	for (i = rec_hash(table, rel, r) & mask; h->by_key[i] != 0; i = (i + 1) & mask) {
		e = &h->entries[h->by_key[i] - 1];
		if (rec_same(e, table, rel, r)) {
			if (own && !e->own_taken)
				e->own_taken = e->dirty = 1;
			if (order < e->order)
				return 0;	/* a newer manifest was merged first */
			e->rec = *r;	/* e->rel is equal and stays */
			e->order = order;
			e->dirty = 1;
			return 0;
		}
	}
	if (h->n_entries >= UINT32_MAX - 1)
		return cst_error(CST_ENOMEM, "history: too many objects");
	if ((e = cst_grow(h->entries, &h->cap_entries, h->n_entries, sizeof(*e), 1024)) == NULL)
		return CST_ENOMEM;
	h->entries = e;
	e = &h->entries[h->n_entries];
	e->rec = *r;
	e->rel = r->path ? r->path + strlen(r->path) - strlen(rel) : cst_strpool_dup(&h->strings, rel);
	if (e->rel == NULL)
		return CST_ENOMEM;
	e->table = table;
	e->own_taken = own != 0;
	e->dirty = 1;
	e->present = e->gone = 0;
	e->order = order;
	h->by_key[i] = (uint32_t)++h->n_entries;
	return 0;
}

/* ---- building, for history_load.c ----------------------------------------- */

int history_new(struct history **out, const char *prefix, const char *fqdn)
{
	struct history *h;

	*out = NULL;
	if ((h = cst_calloc(1, sizeof(*h))) == NULL)
		return CST_ENOMEM;
	cst_strpool_init(&h->strings, POOL_BLOCK);
	/* "<prefix>/<fqdn>/data/", as layout_pool_key() spells it */
	if ((h->node_pool = layout_pool_key(prefix, fqdn, "k", "c", "r", NULL)) == NULL) {
		history_free(h);
		return CST_ENOMEM;
	}
	h->node_pool[strlen(h->node_pool) - strlen("k/c/r")] = '\0';
	*out = h;
	return 0;
}

static int cmp_entries(const void *pa, const void *pb)
{
	const struct entry *a = pa, *b = pb;
	int c;

	if (a->table != b->table)
		return a->table < b->table ? -1 : 1;
	if ((c = strcmp(a->rel, b->rel)) != 0)
		return c;
	return a->order > b->order ? -1 : a->order < b->order;
}

void history_mark_clean(struct history *h)
{
	size_t i;

	for (i = 0; i < h->n_entries; i++)
		h->entries[i].dirty = 0;
	h->n_new_keys = 0;
}

void history_seal(struct history *h, size_t n_backups)
{
	h->n_backups = n_backups;
	h->sealed = 1;
	free(h->new_keys);
	h->new_keys = NULL;
	h->n_new_keys = h->cap_new_keys = 0;
	free(h->by_key);	/* only needed while loading */
	h->by_key = NULL;
	h->by_key_cap = 0;
	if (h->n_entries > 0 && h->n_entries < h->cap_entries) {
		struct entry *e = realloc(h->entries, h->n_entries * sizeof(*e));

		if (e != NULL) {	/* else the larger array stays */
			h->entries = e;
			h->cap_entries = h->n_entries;
		}
	}
	if (h->n_entries > 1)
		qsort(h->entries, h->n_entries, sizeof(*h->entries), cmp_entries);
}

/* ---- lookups ------------------------------------------------------------ */

size_t history_backup_count(const struct history *h)
{
	return h->n_backups;
}

size_t history_first_of(const struct history *h, const char *ks, const char *cf, const char *rel)
{
	size_t lo = 0, hi = h->n_entries, slot;
	uint32_t table;

	if (h->by_table_cap == 0 || h->by_table[slot = table_slot(h, ks, cf)] == 0)
		return h->n_entries;
	table = h->by_table[slot] - 1;
	while (lo < hi) {	/* first entry >= (table, rel) */
		size_t mid = lo + (hi - lo) / 2;
		const struct entry *e = &h->entries[mid];

		if (e->table < table || (e->table == table && strcmp(e->rel, rel) < 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < h->n_entries && h->entries[lo].table == table && strcmp(h->entries[lo].rel, rel) == 0)
		return lo;
	return h->n_entries;
}

int history_same_file(const struct history *h, size_t first, size_t i)
{
	return i < h->n_entries && h->entries[i].table == h->entries[first].table &&
	       strcmp(h->entries[i].rel, h->entries[first].rel) == 0;
}

/* The newest entry of the file with these that `filter` accepts, among
 * those whose `gone` bit is `gone`; NULL when none. */
static const struct entry *find(const struct history *h, const char *ks, const char *cf,
				const char *rel, uint64_t source_size, const char *md5_hex,
				history_filter_fn filter, void *arg, int gone)
{
	size_t first = history_first_of(h, ks, cf, rel), i;
	unsigned char md5[16];

	if (md5_hex != NULL && cst_unhex(md5, sizeof(md5), md5_hex) != 0) {
		cst_error_clear();
		return NULL;
	}
	for (i = first; history_same_file(h, first, i); i++) {
		const struct entry *e = &h->entries[i];
		struct manifest_object o;

		/* md5_hex NULL: any record of the size; an ETag-only record has no
		 * source MD5, so it never matches one */
		if (e->rec.source_size != source_size || e->gone != (unsigned)gone ||
		    (md5_hex != NULL && (e->rec.no_source || memcmp(e->rec.source_md5, md5, sizeof(md5)) != 0)))
			continue;
		manifest_rec_unpack(&o, &e->rec);
		if (filter(arg, &o))
			return e;
	}
	return NULL;
}

const struct manifest_rec *history_find(const struct history *h, const char *ks, const char *cf,
					const char *rel, uint64_t source_size, const char *md5_hex,
					history_filter_fn filter, void *arg)
{
	const struct entry *e = find(h, ks, cf, rel, source_size, md5_hex, filter, arg, 0);

	return e ? &e->rec : NULL;
}

const struct manifest_rec *history_find_etag(const struct history *h, const char *ks, const char *cf,
					     const char *rel, uint64_t source_size,
					     history_filter_fn filter, void *arg)
{
	size_t first = history_first_of(h, ks, cf, rel), i;
	const struct entry *best = NULL;

	for (i = first; history_same_file(h, first, i); i++) {
		const struct entry *e = &h->entries[i];
		struct manifest_object o;

		if (!e->rec.no_source || e->rec.source_size != source_size || e->gone ||
		    (best != NULL && e->order < best->order))
			continue;
		manifest_rec_unpack(&o, &e->rec);
		if (filter(arg, &o))
			best = e;
	}
	return best ? &best->rec : NULL;
}

int history_lost(const struct history *h, const char *ks, const char *cf, const char *rel,
		 uint64_t source_size, const char *md5_hex, history_filter_fn filter, void *arg)
{
	return md5_hex != NULL && find(h, ks, cf, rel, source_size, md5_hex, filter, arg, 1) != NULL;
}

void history_counts(const struct history *h, struct history_counts *out)
{
	*out = h->counts;
}

/* 1 when `key` is the own key of a file some manifest stored there. */
static int own_key_taken(const struct history *h, const char *key)
{
	size_t n = strlen(h->node_pool), first, i;
	char *ks, *cf, *rel;
	int taken = 0;

	if (strncmp(key, h->node_pool, n) != 0 || (ks = strdup(key + n)) == NULL)
		return 1;	/* out of memory: the run's variant key, always safe */
	if ((cf = strchr(ks, '/')) != NULL && (rel = strchr(cf + 1, '/')) != NULL && rel[1] != '@') {
		*cf++ = '\0';
		*rel++ = '\0';
		first = history_first_of(h, ks, cf, rel);
		for (i = first; !taken && history_same_file(h, first, i); i++)
			taken = h->entries[i].own_taken;
	}
	free(ks);
	return taken;
}

int history_key_taken(const struct history *h, const char *key)
{
	size_t i, mask;

	if (h->keys_cap > 0) {
		mask = h->keys_cap - 1;
		for (i = fnv(FNV0, key, strlen(key)) & mask; h->keys[i] != NULL; i = (i + 1) & mask) {
			if (strcmp(h->keys[i], key) == 0)
				return 1;
		}
	}
	return own_key_taken(h, key);
}

/* Everything but node_pool. */
static void release(struct history *h)
{
	size_t i;

	cst_strpool_free(&h->strings);
	for (i = 0; i < h->n_tables; i++)
		free(h->tables[i]);
	free(h->tables);
	free(h->by_table);
	free(h->entries);
	free(h->by_key);
	free(h->keys);
	free(h->new_keys);
}

void history_reset(struct history *h)
{
	char *pool = h->node_pool;
	struct history_counts counts = h->counts;

	release(h);
	memset(h, 0, sizeof(*h));
	h->node_pool = pool;
	h->counts = counts;
	cst_strpool_init(&h->strings, POOL_BLOCK);
}

void history_free(struct history *h)
{
	if (h == NULL)
		return;
	release(h);
	free(h->node_pool);
	free(h);
}
