/*
 * history: this node's earlier manifests, as a lookup of what storage
 * already holds: by file (keyspace, table, rel) and by object key.
 */
#ifndef CASSETTE_HISTORY_H
#define CASSETTE_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct storage;
struct manifest_object;

struct history;

/*
 * Load every finished backup of `fqdn` found in the catalog index and its
 * manifest. A manifest that cannot be read or parsed fails the load: a
 * differential backup must not guess. *out owned by the caller.
 */
int history_load(struct history **out, struct storage *st, const char *prefix, const char *fqdn);
void history_free(struct history *h);
size_t history_backup_count(const struct history *h);

/* Accepts or refuses an earlier object as a stand-in for the file. */
typedef int (*history_filter_fn)(void *arg, const struct manifest_object *obj);

/*
 * The most recent object recorded for this file (ks, cf, rel) with this
 * source size and, when `md5_hex` is not NULL, this source MD5, that
 * `filter` accepts. NULL when none. Borrowed. Safe to call from several
 * threads at once (the history is read-only after history_load()).
 */
const struct manifest_object *history_find(const struct history *h, const char *ks, const char *cf,
					   const char *rel, uint64_t source_size, const char *md5_hex,
					   history_filter_fn filter, void *arg);
/* 1 when some manifest references `key`. */
int history_key_taken(const struct history *h, const char *key);

#endif
