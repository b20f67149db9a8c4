/*
 * history internals shared by history.c (the packed record store and its
 * lookups), history_load.c (reading earlier manifests into it),
 * history_cache.c (the state database's copy of it) and history_pool.c (the
 * pool listing that checks it). Not for other files.
 */
#ifndef CASSETTE_HISTORY_INT_H
#define CASSETTE_HISTORY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"
#include "manifest.h"
#include "meta_auth.h"
#include "util.h"

struct storage;

#define HISTORY_MAX_TABLES ((1u << 28) - 1)

struct entry {
	struct manifest_rec rec;	/* rec.path interned, NULL at the own key */
	const char *rel;		/* in strings, or the suffix of rec.path */
	uint32_t table : 28;		/* index in tables */
	uint32_t own_taken : 1;		/* some manifest references the own key */
	uint32_t dirty : 1;		/* changed since the cache was read */
	uint32_t present : 1;		/* the pool listing holds it, same size */
	uint32_t gone : 1;		/* missing, another size or recorded damaged */
	uint32_t order;			/* backup order; higher = more recent */
};

/* An open-addressing set of indices or pointers: 0 / NULL is empty. */
struct history {
	size_t n_backups;
	struct entry *entries;		/* sorted by table, rel, then newest first */
	size_t n_entries, cap_entries;
	uint32_t *by_key;		/* entry index + 1, by (table, rel, sizes, MD5, key id) */
	size_t by_key_cap;
	const char **keys;		/* interned pool keys other than own keys */
	size_t n_keys, keys_cap;
	const char **new_keys;		/* interned since the cache was read */
	size_t n_new_keys, cap_new_keys;
	char *node_pool;		/* "<prefix>/<fqdn>/data/" */
	char **tables;			/* "ks\n cf" names, index = table id */
	size_t n_tables, cap_tables;
	uint32_t *by_table;		/* table id + 1 */
	size_t by_table_cap;
	struct cst_strpool strings;	/* interned keys, rels not in a key */
	int sealed;
	struct history_counts counts;
	/* With a key: only manifests that meta/auth.json authenticates count
	 * (meta_auth.h); NULL: every one (encryption = none). */
	meta_auth_key_fn auth_keys;
	void *auth_arg;
};

/* An empty history of node `fqdn` under `prefix`. 0 or CST_ENOMEM; *out
 * owned by the caller (history_free). */
int history_new(struct history **out, const char *prefix, const char *fqdn);
/* The id of (ks, cf) in *id, a new one when it is unknown. 0 or CST_ENOMEM. */
int history_table_add(struct history *h, const char *ks, const char *cf, uint32_t *id);
/* The interned copy of `key`, added when new; NULL when out of memory. */
const char *history_key_intern(struct history *h, const char *key);
/* Keep `r` as the newest record of its kind: it replaces an equal record of
 * a lower order (so manifests may be merged in any order and give what
 * oldest-first would). `rel` is borrowed: a new entry keeps the suffix of
 * r->path, or a copy. `own` says r is at the file's own pool key. 0 or
 * CST_ENOMEM. */
int history_add_rec(struct history *h, uint32_t table, const char *rel,
		    const struct manifest_rec *r, uint32_t order, int own);
/* Empty again, as history_new() left it (a cache read that went wrong). */
void history_reset(struct history *h);
/* The cache was read into h: what is there now is not new. */
void history_mark_clean(struct history *h);
/* Loading is over (n_backups were read): drop the loading index, give back
 * the growth slack and sort for the lookups. */
void history_seal(struct history *h, size_t n_backups);
/* The first entry of the file (ks, cf, rel) once sealed; n_entries when
 * there is none. */
size_t history_first_of(const struct history *h, const char *ks, const char *cf, const char *rel);
/* 1 when entry i is of the same file as entry `first`. */
int history_same_file(const struct history *h, size_t first, size_t i);

/*
 * Fetch the manifests of seq[todo[0..n_todo)], `parallel` at a time
 * (history_fetch.c), merging each whole one into h at its position in seq.
 * res[i] (of seq's size, zeroed) says how seq[i] went; a damaged or missing
 * manifest is not a failure (res[i].why, owned by the caller, says why).
 * 0, or the first storage error or CST_ENOMEM.
 */
enum { HISTORY_FETCH_MERGED = 1, HISTORY_FETCH_DAMAGED, HISTORY_FETCH_MISSING,
       HISTORY_FETCH_UNAUTH	/* no auth.json, or of another key: not read */ };
struct history_fetch_result {
	int state;
	char *why;
};
struct history_seq;
int history_fetch(struct history *h, struct storage *st, const char *prefix, const char *fqdn,
		  const struct history_seq *seq, const size_t *todo, size_t n_todo, unsigned parallel,
		  struct history_fetch_result *res);

/*
 * The state database's copy (history_cache.c). `seq` is the node's usable
 * backups in order, as this run sees them. history_cache_read() fills the
 * empty history `h` from the database when every backup it holds is still
 * in seq, unchanged and in the same order; sets cached[i] for those (orders
 * are positions in seq) and says in *n_cached how many (0: nothing usable,
 * h left empty). history_cache_write() stores h and its backups `seq[0..n)`:
 * only what changed when `append` (the cached backups are the first ones
 * of seq and positions did not move), else every row again. Neither fails
 * a run: a problem is one warning (returned 0) and the cache is not used;
 * only CST_ENOMEM is returned.
 */
struct history_seq {
	const char *name;
	int64_t started, finished;
	uint64_t size;		/* of the index copy manifest_<fqdn>.json */
};
struct history_cache;
int history_cache_open(struct history_cache **out, const char *state_dir, const char *fqdn,
		       const char *identity);
int history_cache_read(struct history_cache *c, struct history *h, const struct history_seq *seq,
		       size_t n, unsigned char *cached, size_t *n_cached);
int history_cache_write(struct history_cache *c, struct history *h, const struct history_seq *seq,
			size_t n, int append);
void history_cache_close(struct history_cache *c);

/* A cache row's fields (history_cache_row.c): the bytes that make two
 * records of a file interchangeable (`kind`), the whole record (`rec`;
 * decode: 0, or -1 for bytes no record gives), and each table's row sum. */
#define HCACHE_KIND_LEN 33
#define HCACHE_REC_LEN 97
void hcache_kind(unsigned char out[HCACHE_KIND_LEN], const struct manifest_rec *r);
void hcache_rec_encode(unsigned char out[HCACHE_REC_LEN], const struct manifest_rec *r);
int hcache_rec_decode(struct manifest_rec *r, const unsigned char in[HCACHE_REC_LEN]);
int64_t hcache_backup_sum(const struct history_seq *b);
int64_t hcache_table_sum(uint64_t id, const char *ks, const char *cf);
int64_t hcache_rec_sum(uint64_t tbl, const char *rel, const unsigned char *kind,
		       const unsigned char *rec, const char *path, uint64_t own, uint64_t ord);

#endif
