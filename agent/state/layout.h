/*
 * layout: where things live in storage (Medusa's layout) and which names
 * read back from storage or manifests are safe to use on disk.
 *
 *   <prefix>/<fqdn>/<backup>/meta/{schema.cql,tokenmap.json,server_version.json,
 *                                  differential,manifest.json}
 *   <prefix>/<fqdn>/data/<ks>/<cf>/[@<backup>/]<rel>      differential pool
 *   <prefix>/<fqdn>/<backup>/data/<ks>/<cf>/<rel>         full backups
 *   <prefix>/index/backup_index/<backup>/<index object>   listing index
 *   <prefix>/index/key_params.json                       passphrase key parameters
 * <rel> is "<file>" or ".<index>/<file>". "@<backup>/" marks a second
 * object for a file name whose first key is already taken (immutability).
 */
#ifndef CASSETTE_LAYOUT_H
#define CASSETTE_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

/* All return a fresh string (caller frees) or NULL with CST_ENOMEM set. */
char *layout_meta_key(const char *prefix, const char *fqdn, const char *backup, const char *name);
char *layout_pool_key(const char *prefix, const char *fqdn, const char *ks, const char *cf,
		      const char *rel, const char *variant_backup /* NULL = first key */);
char *layout_full_key(const char *prefix, const char *fqdn, const char *backup, const char *ks,
		      const char *cf, const char *rel);
char *layout_index_prefix(const char *prefix);	/* ".../index/backup_index/" */
char *layout_index_key(const char *prefix, const char *backup, const char *name);
/* The store's key-parameters object (a passphrase key's salt and costs):
 * "<prefix>/index/key_params.json". */
char *layout_key_params_key(const char *prefix);

/* Name rules for what comes from disk or from a manifest. 1 = valid. */
int layout_keyspace_is_valid(const char *ks);
int layout_table_dir_is_valid(const char *cf);	/* "<name>-<32 hex>" */
int layout_index_dir_is_valid(const char *dir);	/* ".<name>" */
int layout_rel_is_valid(const char *rel);	/* "<file>" or ".<idx>/<file>" */
/* Cassandra's in-flight files that are never backed up. */
int layout_file_is_temporary(const char *name);

/*
 * The <rel> of a manifest object, from its storage key. The key must be
 * under the node's pool or the backup's data folder for (ks, cf); anything
 * else is CST_EINVALID (a manifest must not steer writes elsewhere).
 */
int layout_rel_from_key(char **rel, const char *key, const char *prefix, const char *fqdn,
			const char *backup, const char *ks, const char *cf);

/*
 * Index markers: started_<fqdn>_<ts>.timestamp, and the finished marker in
 * Medusa's form finished_<fqdn>_<ts>.timestamp. Stores of cassette before
 * 0.4 hold finished_<fqdn>_<ts>_<files>_<bytes>.timestamp, still read. An
 * fqdn may end in "_<digits>", so a finished name is only read for sure
 * against a known node name (layout_marker_of); docs/FORMAT.md has the rule.
 */
struct index_marker {
	int finished;		/* 0 = started marker */
	int counted;		/* the old finished form: files and bytes are set */
	char fqdn[256];
	int64_t ts;
	uint64_t files, bytes;	/* old finished form only */
};
char *layout_started_name(const char *fqdn, int64_t ts);
char *layout_finished_name(const char *fqdn, int64_t ts);
/*
 * 0 when `name` is a marker; CST_EINVALID otherwise. The fqdn is the name up
 * to the last "_<digits>" group, as Medusa reads it: right for a started
 * marker and a finished marker of Medusa's form, not for the old form.
 */
int layout_parse_marker(struct index_marker *out, const char *name);
/* 0 when `name` is a started or finished marker (either form) of node
 * `fqdn`; CST_EINVALID otherwise. */
int layout_marker_of(struct index_marker *out, const char *name, const char *fqdn);

/*
 * The cluster marker cluster_<nodes>_<16 hex>: which nodes a backup's
 * tokenmap holds, so the listings tell whether every node of the cluster
 * finished. Each node writes it in index/node_index/<fqdn>/<backup>/
 * (node_index.h); stores before 0.4 hold it in the backup_index folder. The hex is the FNV-1a 64-bit hash of the node names in strcmp
 * order, each followed by '\n' (an identity, not a security check: the
 * object's content is those lines). `sorted` must be sorted and distinct.
 */
uint64_t layout_cluster_fingerprint(const char *const *sorted, size_t n);
char *layout_cluster_name(size_t n, uint64_t fingerprint);
/* 0 when `name` is a cluster marker; CST_EINVALID otherwise. */
int layout_parse_cluster(const char *name, size_t *n, uint64_t *fingerprint);

#endif
