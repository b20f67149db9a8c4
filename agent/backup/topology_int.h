/*
 * topology internals shared by topology_parse.c (the line parsers) and
 * topology.c (merging, names, JSON). Not for other files.
 */
#ifndef CASSETTE_TOPOLOGY_INT_H
#define CASSETTE_TOPOLOGY_INT_H

#include "topology.h"

/* One command's output alone: the ring (tokens set, host ids NULL) or status
 * (tokens NULL and n_tokens the Tokens column, or the one token of the
 * token-per-node layout). *out owned by the caller, NULL on failure. */
int topo_parse_ring(struct topology **out, const char *text);
int topo_parse_status(struct topology **out, const char *text);

/* A Murmur3 token: an optional '-' and decimal digits that fit int64.
 * 0, or CST_EUNSUPPORTED saying which partitioner's token it looks like
 * (`what` and `line` name where it was read). */
int topo_token(int64_t *out, const char *s, const char *what, int line);

#endif
