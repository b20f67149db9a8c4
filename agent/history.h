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

/*
 * Objects recorded for this file with this source size, most recent first.
 * *objs points into the history (borrowed); *n may be 0.
 */
void history_candidates(const struct history *h, const char *ks, const char *cf, const char *rel,
			uint64_t source_size, const struct manifest_object *const **objs, size_t *n);
/* 1 when some manifest references `key`. */
int history_key_taken(const struct history *h, const char *key);

#endif
