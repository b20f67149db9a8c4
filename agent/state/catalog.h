/*
 * catalog: what the listing index says, from one storage listing of
 * <prefix>/index/backup_index/ (nodes, times, mode) and one of
 * <prefix>/index/node_index/ (counts, cluster markers, the damaged and
 * deleting flags). Reads no object at all.
 */
#ifndef CASSETTE_CATALOG_H
#define CASSETTE_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct storage;

struct catalog_node {
	char *fqdn;
	int64_t started, finished;	/* unix seconds; finished = 0 if not */
	uint64_t files, bytes;		/* from the node index, or an old finished
					 * marker; a Medusa backup's only from
					 * catalog_count_manifests() */
	int counted;			/* files and bytes are known */
	int medusa;			/* finished, and neither its marker nor a
					 * node index entry counts it: written by
					 * Medusa (FORMAT.md "Medusa and cassette") */
	uint64_t manifest_size;		/* listed size of manifest_<fqdn>.json; 0 if none */
	int differential;
	int damaged;			/* its manifest is unreadable: the node index's
					 * damaged flag (or an older store's damaged_<fqdn>) */
	int deleting;			/* delete-backup or purge began removing it: the
					 * node index's deleting flag (or deleting_<fqdn>)
					 * (only catalog_load_with_deleting
					 * shows such nodes) */
};

/* A cluster marker (layout.h): the node set of one tokenmap. Each node
 * writes it in its own index folder; a backup's markers are the union over
 * its nodes, one per node set. */
struct catalog_cluster {
	size_t n_nodes;
	uint64_t fingerprint;
	char source[256];	/* the node whose index/node_index/<fqdn>/<backup>/ holds
				 * it; "" = index/backup_index/<backup>/ (stores of
				 * cassette before 0.4) */
};

struct catalog_backup {
	char *name;
	struct catalog_node *nodes;
	size_t n_nodes;
	struct catalog_cluster *clusters;	/* usually one; none before cassette 0.2 */
	size_t n_clusters;
};

struct catalog {
	struct catalog_backup *backups;	/* sorted by first start time, then name */
	size_t n_backups;
};

/* Nodes flagged deleting are left out, and backups left with none. */
int catalog_load(struct catalog **out, struct storage *st, const char *prefix);
/* The same, keeping them (for purge and delete-backup to finish the job). */
int catalog_load_with_deleting(struct catalog **out, struct storage *st, const char *prefix);
/* The same, from the listing of one backup's index folder only: *out holds
 * that backup or no backup at all. */
int catalog_load_backup(struct catalog **out, struct storage *st, const char *prefix,
			const char *name);
void catalog_free(struct catalog *cat);
/*
 * Counts for the finished nodes that have none (Medusa's backups): read
 * each one's index copy manifest_<fqdn>.json, and count its objects and
 * their plaintext bytes (source_size, or size without it). One GET per such
 * node (of `only_fqdn`, when given); a copy that cannot be read or parsed leaves the node uncounted, with
 * one warning on stderr. 0, or CST_ENOMEM.
 */
int catalog_count_manifests(struct catalog *cat, struct storage *st, const char *prefix,
			    const char *only_fqdn /* NULL = every node */);
/* The same for the `how_many` newest finished backups of `fqdn` only (by
 * start time): what report-last-backup and the metrics compare. */
int catalog_count_latest(struct catalog *cat, struct storage *st, const char *prefix, const char *fqdn,
			 size_t how_many);
/* The node entry of `fqdn` in `b`, or NULL. Borrowed. */
const struct catalog_node *catalog_node_of(const struct catalog_backup *b, const char *fqdn);

/*
 * Whether every node of the cluster finished this backup: the finished
 * nodes are exactly the node set of one of its cluster markers. Without any
 * marker (backups of older versions) the cluster is unknown, and the answer
 * is whether every node listed finished. *expected: the nodes the cluster
 * has (the largest marker's count; without one, the nodes listed).
 */
int catalog_cluster_complete(const struct catalog_backup *b, size_t *expected);

#endif
