/*
 * history internals shared by history.c (the packed record store and its
 * lookups) and history_load.c (reading earlier manifests into it). Not for
 * other files.
 */
#ifndef CASSETTE_HISTORY_INT_H
#define CASSETTE_HISTORY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "history.h"

/* An empty history of node `fqdn` under `prefix`. 0 or CST_ENOMEM; *out
 * owned by the caller (history_free). */
int history_new(struct history **out, const char *prefix, const char *fqdn);
/* The id of (ks, cf) in *id, a new one when it is unknown. 0 or CST_ENOMEM. */
int history_table_add(struct history *h, const char *ks, const char *cf, uint32_t *id);
/* The interned copy of `key`, added when new; NULL when out of memory. */
const char *history_key_intern(struct history *h, const char *key);
/* Keep `r` as the newest record of its kind (manifests come oldest first).
 * `rel` is borrowed: a new entry keeps the suffix of r->path, or a copy.
 * `own` says r is at the file's own pool key. 0 or CST_ENOMEM. */
int history_add_rec(struct history *h, uint32_t table, const char *rel,
		    const struct manifest_rec *r, uint32_t order, int own);
/* Loading is over (n_backups were read): drop the loading index, give back
 * the growth slack and sort for the lookups. */
void history_seal(struct history *h, size_t n_backups);

#endif
