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

struct storage;
struct manifest_object;
struct manifest_rec;

struct history;

/*
 * Load every finished backup of `fqdn` found in the catalog index and its
 * manifest. A manifest that cannot be read or parsed fails the load: a
 * differential backup must not guess. Manifests are streamed, and only one
 * record per (file, source size, source MD5, key id) is kept, so memory
 * grows with the pool, not with the number of backups. *out owned by the
 * caller.
 */
int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn);
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
 * read-only after history_load()).
 */
const struct manifest_rec *history_find(const struct history *h, const char *ks, const char *cf,
					const char *rel, uint64_t source_size, const char *md5_hex,
					history_filter_fn filter, void *arg);
/* 1 when some manifest references the pool key `key` (also when out of
 * memory: the caller then takes its variant key, which is always safe). */
int history_key_taken(const struct history *h, const char *key);

#endif
