/*
 * catalog: what the listing index says, from ONE storage listing of
 * <prefix>/index/backup_index/. Reads no object at all.
 */
#ifndef CASSETTE_CATALOG_H
#define CASSETTE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct storage;

struct catalog_node {
	char *fqdn;
	int64_t started, finished;	/* unix seconds; finished = 0 if not */
	uint64_t files, bytes;		/* from the finished marker */
	int differential;
};

struct catalog_backup {
	char *name;
	struct catalog_node *nodes;
	size_t n_nodes;
};

struct catalog {
	struct catalog_backup *backups;	/* sorted by first start time, then name */
	size_t n_backups;
};

int catalog_load(struct catalog **out, struct storage *st, const char *prefix);
void catalog_free(struct catalog *cat);
/* The node entry of `fqdn` in `b`, or NULL. Borrowed. */
const struct catalog_node *catalog_node_of(const struct catalog_backup *b, const char *fqdn);

#endif
