/* cluster: what the cluster commands share (not a public API). */
#ifndef CASSETTE_CLUSTER_INT_H
#define CASSETTE_CLUSTER_INT_H

#include <stddef.h>

struct catalog_backup;
struct config;
struct storage;

/* The nodes a backup's cluster has: the names in the cluster marker that
 * its finished nodes match, else in its largest marker; without any marker
 * (older backups), the nodes listed. Sorted; *out and each name owned by
 * the caller (cluster_names_free). */
int cluster_expected_nodes(char ***out, size_t *n, struct storage *st, const struct config *cfg,
			   const struct catalog_backup *b);
void cluster_names_free(char **names, size_t n);

/* The cluster's nodes, by name, from this host's own nodetool (ring and
 * status, named as tokenmap.json names them). Sorted. */
int cluster_topology_names(char ***out, size_t *n, const struct config *cfg);

#endif
