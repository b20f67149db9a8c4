/*
 * history: this node's earlier manifests, as a lookup of what the node's
 * differential pool already holds: by file (keyspace, table, rel) and by
 * object key. Only pool objects count: an object in a full backup's own
 * folder is never reused (it goes when that backup is deleted).
 */
#ifndef CASSETTE_HISTORY_H
#define CASSETTE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "meta_auth.h"

struct storage;
struct manifest_object;
struct manifest_rec;

struct history;

struct history_counts {
	size_t manifests_cached;	/* taken from the state database */
	size_t manifests_read;		/* fetched from storage */
	size_t manifests_damaged;	/* skipped: not parseable or not valid */
	size_t manifests_unauth;	/* skipped: no auth.json, or another key's */
	size_t objects_missing;		/* history_check_pool(): referenced, not listed */
	size_t objects_resized;		/* listed with another size */
	size_t objects_damaged;		/* recorded in index/damaged_objects/ */
	/* The node's newest finished backup (not flagged damaged) in the
	 * index the load listed: its finish time (0: none) and byte total. */
	int64_t last_finished;
	uint64_t last_bytes;
};

struct history_opts {
	/* The state database's directory, for the cache of manifests already
	 * read; NULL: no cache. */
	const char *state_dir;
	/* Where the storage is (provider, endpoint, bucket, prefix): a cache
	 * written for another store is not used. */
	const char *identity;
	/* Manifests fetched at once when not cached; 0 = 1. */
	unsigned parallel;
	/* With a key (meta_auth.h): a manifest counts only when its
	 * meta/auth.json authenticates it under a key of this lookup. One
	 * without auth.json, or of a key the lookup does not hold, is not read
	 * (one warning counts them); one that fails authentication is skipped
	 * and flagged damaged, as an unreadable one. NULL: every manifest. */
	meta_auth_key_fn auth_keys;
	void *auth_arg;
};

/*
 * Load every finished backup of `fqdn` found in the catalog index and its
 * manifest (meta/manifest.json). Manifests are streamed; each is parsed
 * into its own buffer and merged only once the whole of it parsed, so
 * memory holds the pool plus one manifest per fetch in flight. Only one
 * record per (file, source size, source MD5, key id) is kept, so memory
 * grows with the pool, not with the number of backups.
 *
 * A manifest that does not parse or validate is skipped, with one warning
 * on stderr naming it; none of its records is a candidate for reuse, and
 * the flag index/node_index/<fqdn>/<backup>/damaged is written (once: a backup
 * flagged damaged is skipped without reading). A storage error (other than
 * a manifest gone since the listing) fails the load: a differential backup
 * must not guess.
 *
 * With o->state_dir, manifests already read by an earlier run come from the
 * state database (keyed by backup name, start and finish times and the
 * listed size of its index copy); only the others are fetched,
 * o->parallel at a time. The database only saves reading: without it, or
 * with one that is damaged or stale, the result is the same. *out owned by
 * the caller.
 */
int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn);
int history_load_opts(struct history **out, struct storage *st, const char *prefix,
		      const char *fqdn, const struct history_opts *o);
/*
 * One listing of the node's pool <prefix>/<fqdn>/data/ and one of
 * <prefix>/index/damaged_objects/<fqdn>/ (records that verify writes):
 * every record whose object is missing, has another size than recorded or
 * is recorded damaged is no candidate for history_find() any more (its key
 * stays taken). Counts in history_counts(). 0, or the listing's error.
 * Call once, after the load, before the lookups.
 */
int history_check_pool(struct history *h, struct storage *st, const char *prefix,
		       const char *fqdn);
void history_counts(const struct history *h, struct history_counts *out);
void history_free(struct history *h);
size_t history_backup_count(const struct history *h);

/* Accepts or refuses an earlier object as a stand-in for the file. It must
 * decide on the object's salt presence and key_id only: of the objects with
 * equal file, sizes, MD5 and key id only the newest is kept. */
typedef int (*history_filter_fn)(void *arg, const struct manifest_object *obj);

/*
 * The most recent pool object recorded for this file (ks, cf, rel) with this
 * source size and, when `md5_hex` is not NULL, this source MD5, that
 * `filter` accepts. NULL when none. Borrowed, with its path, until
 * history_free(). Its path is NULL when the object is at the file's own pool
 * key, layout_pool_key(prefix, fqdn, ks, cf, rel, NULL): the caller knows it
 * and the history need not keep 100,000 of them. Safe to call from several threads at once (the history is
 * read-only after history_load() and history_check_pool()).
 */
const struct manifest_rec *history_find(const struct history *h, const char *ks, const char *cf,
					const char *rel, uint64_t source_size, const char *md5_hex,
					history_filter_fn filter, void *arg);
/*
 * The most recent pool object for this file whose manifest entry has no
 * source MD5, only a multipart ETag (Medusa's: manifest_rec.no_source), of
 * this size, that `filter` accepts; NULL when none. The caller proves the
 * file against its ETag (etag.h) before it reuses it. Borrowed and
 * thread-safe as history_find().
 */
const struct manifest_rec *history_find_etag(const struct history *h, const char *ks, const char *cf,
					     const char *rel, uint64_t source_size,
					     history_filter_fn filter, void *arg);
/* 1 when some manifest references the pool key `key` (also when out of
 * memory: the caller then takes its variant key, which is always safe). */
int history_key_taken(const struct history *h, const char *key);
/* 1 when history_find() would have found a record with these (md5_hex
 * required) but history_check_pool() found its object missing, of another
 * size or damaged: the file is stored again for that reason. Thread-safe
 * as history_find(). */
int history_lost(const struct history *h, const char *ks, const char *cf, const char *rel,
		 uint64_t source_size, const char *md5_hex, history_filter_fn filter, void *arg);

#endif
