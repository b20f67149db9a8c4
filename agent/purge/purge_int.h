/*
 * purge internals shared by purge.c (the commands), remove.c (removing one
 * backup of one node, in an order a rerun can finish) and gc.c (the node's
 * unreferenced objects). Not for other files.
 */
#ifndef CASSETTE_PURGE_INT_H
#define CASSETTE_PURGE_INT_H

#include <stddef.h>
#include <stdint.h>

struct catalog;
struct config;
struct storage;

struct purge_stats {
	uint64_t objects, bytes;
};

struct purge_run {
	const struct config *cfg;
	struct storage *st;
	int dry_run;			/* count and print, delete nothing */
	int64_t now;
	const char *command;		/* "purge" or "delete-backup", for the deleting flag */
	/* Backups this run removed (or, dry, would remove), "<fqdn>\n<name>"
	 * each: GC does not count their manifests. */
	char **gone;
	size_t n_gone, cap_gone;
	size_t backups;			/* removed, for the summary */
	struct purge_stats total;
};

/* Keys with sizes, collected from a listing. */
struct purge_keys {
	char **keys;
	uint64_t *sizes;
	size_t n, cap;
};
int purge_keys_add(struct purge_keys *k, const char *key, uint64_t size);
void purge_keys_free(struct purge_keys *k);
/* Delete every key (unless dry), adding to *s. */
int purge_keys_delete(struct purge_run *p, const struct purge_keys *k, struct purge_stats *s);

/*
 * Remove backup `name` of node `fqdn`: the flag
 * index/node_index/<fqdn>/<name>/deleting first, then the node's other
 * node index entries, <prefix>/<fqdn>/<name>/, then its entries in
 * index/backup_index/<name>/ (and the cluster markers older stores hold
 * there when no other node is left in it), the flag last. Rerun after any interruption, it finishes. Prints one line;
 * `why` (may be NULL) says why it goes. Records it in p->gone.
 */
int purge_remove_backup(struct purge_run *p, const char *fqdn, const char *name, const char *why);
/* 1 when this run removed (or would remove) backup `name` of `fqdn`. */
int purge_is_gone(const struct purge_run *p, const char *fqdn, const char *name);
/* Finish every removal of node `fqdn` that a deleting flag in `cat` shows
 * was interrupted. */
int purge_finish_interrupted(struct purge_run *p, const struct catalog *cat, const char *fqdn);

/*
 * Garbage-collect node `fqdn`: delete the objects under <prefix>/<fqdn>/
 * that no remaining finished manifest of the node references and no
 * remaining backup of the node holds in its own folder, once they are at
 * least grace_period_days old (by the listing's mtime); and the
 * damaged_objects records of objects that are gone. A remaining manifest
 * that cannot be read skips the GC with a warning naming its backup (the
 * run still succeeds); a storage failure fails it.
 */
int purge_gc_node(struct purge_run *p, const char *fqdn);

/* What killed runs of this node left on this host and unfinished uploads
 * in its storage folder (leftovers.c); counts printed. Under the lock. */
struct catalog;
int purge_leftovers(struct purge_run *p, const struct catalog *cat);

#endif
