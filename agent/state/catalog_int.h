/*
 * catalog internals shared by catalog.c (the backup_index listing) and
 * catalog_nodes.c (the node index listing). Not for other files.
 */
#ifndef CASSETTE_CATALOG_INT_H
#define CASSETTE_CATALOG_INT_H

#include "catalog.h"

struct storage;

/* The node `fqdn` of `b`, added when missing; NULL with CST_ENOMEM set. */
struct catalog_node *catalog_node_for(struct catalog_backup *b, const char *fqdn);
/* Append a cluster marker to `b`: 0 or CST_ENOMEM. */
int catalog_add_cluster(struct catalog_backup *b, const struct catalog_cluster *cl);
/*
 * One listing of <prefix>/index/node_index/ into `cat`, whose backups are
 * sorted by name: the counts, the cluster markers (one per node set), the
 * damaged and deleting flags; a deleting flag of a backup `cat` lacks adds
 * it (unsorted, at the end). `only`: the one backup to read, or NULL. Then
 * marks the finished nodes without counts as Medusa's. 0 or a CST_ code.
 */
int catalog_read_node_index(struct catalog *cat, struct storage *st, const char *prefix,
			    const char *only);

#endif
