/*
 * node_index: each node's own list of its finished backups, so that a
 * differential backup finds them with one listing of its own folder, whose
 * size grows with its own backups only, not with the whole cluster's index
 * (nine objects per node per backup).
 *
 *   <prefix>/index/node_index/<fqdn>/<backup>/finished_<started>_<finished>_<files>_<bytes>_<manifest size>
 *   <prefix>/index/node_index/<fqdn>/<backup>/damaged        (content: one line why)
 *
 * The finished entry is written right after the backup's finished marker;
 * delete-backup and purge remove the backup's entries right after its
 * deleting_ flag. docs/FORMAT.md has the rules.
 */
#ifndef CASSETTE_NODE_INDEX_H
#define CASSETTE_NODE_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct storage;

struct node_backup {
	char *name;
	int64_t started, finished;
	uint64_t files, bytes, manifest_size;
	int damaged;
};

/* One listing of the node's folder: its finished backups, oldest first
 * (by start time, then name). Malformed names are skipped. *out owned by
 * the caller (node_index_free). */
int node_index_load(struct node_backup **out, size_t *n, struct storage *st, const char *prefix,
		    const char *fqdn);
void node_index_free(struct node_backup *v, size_t n);
/* "<prefix>/index/node_index/" (caller frees), or NULL with CST_ENOMEM. */
char *node_index_root(const char *prefix);
/* Parse an entry name "finished_<started>_<finished>_<files>_<bytes>_<msize>"
 * into b's numbers (b->name untouched, NULL); 0 or CST_EINVALID. */
int node_index_parse_entry(struct node_backup *b, const char *name);
int node_index_put(struct storage *st, const char *prefix, const char *fqdn,
		   const struct node_backup *b);
int node_index_flag_damaged(struct storage *st, const char *prefix, const char *fqdn,
			    const char *backup, const char *why);
/* Every entry of the backup (idempotent). *n, when not NULL, grows by the
 * objects removed (dry_run: counted, not removed). */
int node_index_remove(struct storage *st, const char *prefix, const char *fqdn, const char *backup,
		      int dry_run, size_t *n);

#endif
