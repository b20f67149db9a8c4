/*
 * node_index: each node's own list of its finished backups, so that a
 * differential backup finds them with one listing of its own folder, whose
 * size grows with its own backups only, not with the whole cluster's index
 * (nine objects per node per backup).
 *
 *   <prefix>/index/node_index/<fqdn>/<backup>/finished_<started>_<finished>_<files>_<bytes>_<manifest size>
 *   <prefix>/index/node_index/<fqdn>/<backup>/cluster_<n>_<fp>  (layout.h; the node's tokenmap)
 *   <prefix>/index/node_index/<fqdn>/<backup>/damaged        (content: one line why)
 *   <prefix>/index/node_index/<fqdn>/<backup>/deleting       (content: who began removing it)
 *
 * These names live here, not in index/backup_index/, because Medusa's
 * list-backups asserts on any name there it does not know. The cluster
 * marker is written before the backup's finished marker, the finished entry
 * right after it; delete-backup and purge write `deleting` first, then
 * remove the backup's other entries, and `deleting` last. docs/FORMAT.md
 * has the rules.
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
	int deleting;		/* only inside node_index_load */
};

#define NODE_INDEX_DAMAGED "damaged"
#define NODE_INDEX_DELETING "deleting"

/* One listing of the node's folder: its finished backups, oldest first
 * (by start time, then name), without those flagged `deleting`. Malformed
 * names are skipped. *out owned by
 * the caller (node_index_free). */
int node_index_load(struct node_backup **out, size_t *n, struct storage *st, const char *prefix,
		    const char *fqdn);
void node_index_free(struct node_backup *v, size_t n);
/* "<prefix>/index/node_index/" (caller frees), or NULL with CST_ENOMEM. */
char *node_index_root(const char *prefix);
/* "<prefix>/index/node_index/<fqdn>/<backup>/<name>" (caller frees), or NULL
 * with CST_ENOMEM. */
char *node_index_key(const char *prefix, const char *fqdn, const char *backup, const char *name);
/* Write entry `name` of the backup with content `text`: 0 or a CST_ code. */
int node_index_put_text(struct storage *st, const char *prefix, const char *fqdn,
			const char *backup, const char *name, const char *text);
/* Parse an entry name "finished_<started>_<finished>_<files>_<bytes>_<msize>"
 * into b's numbers (b->name untouched, NULL); 0 or CST_EINVALID. */
int node_index_parse_entry(struct node_backup *b, const char *name);
int node_index_put(struct storage *st, const char *prefix, const char *fqdn,
		   const struct node_backup *b);
int node_index_flag_damaged(struct storage *st, const char *prefix, const char *fqdn,
			    const char *backup, const char *why);
/* Every entry of the backup but its `deleting` flag (idempotent). *n, when
 * not NULL, grows by the objects removed (dry_run: counted, not removed). */
int node_index_remove(struct storage *st, const char *prefix, const char *fqdn, const char *backup,
		      int dry_run, size_t *n);

#endif
