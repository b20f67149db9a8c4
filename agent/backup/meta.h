/* meta: the small plaintext meta documents of a backup besides the manifest. */
#ifndef CASSETTE_META_H
#define CASSETTE_META_H

struct config;
struct topology;

/* The cluster as "<nodetool_cmd> ring" and "status" show it, named as in
 * tokenmap.json (below); no own-name check and no fallback. *out owned by
 * the caller (topology_free). */
int meta_topology(struct topology **out, const struct config *cfg);

/*
 * tokenmap.json: every node of the cluster, from "<nodetool_cmd> ring" and
 * "<nodetool_cmd> status" (see topology.h), named by reverse lookup of its
 * address unless [cassandra] resolve_ip_addresses is false:
 *   {"<name>": {"tokens": [<int>, ...], "is_up": true, "rack": "r1", "dc": "dc1"}, ...}
 * Addresses without a host name keep their address (one warning on stderr).
 * This node's name (cfg->fqdn) must be one of the names, else CST_EINVALID
 * naming it and the names found.
 * In snapshot_mode = hardlink, when nodetool fails (no Cassandra running),
 * the map holds this node alone with its tokens unknown,
 *   {"<fqdn>": {"tokens": [], "is_up": true, "rack": null, "dc": null}},
 * and *tokens_unknown is a fresh message saying why (else NULL): such a
 * backup cannot seed a new cluster. *out is a fresh string.
 */
int meta_tokenmap_json(char **out, char **tokens_unknown, const struct config *cfg);
/* {"server_type": "cassandra", "release_version": "<nodetool version>"};
 * "unknown" in hardlink mode. */
int meta_server_version_json(char **out, const struct config *cfg);

/* The cluster marker of a tokenmap (layout.h): its node index entry name and
 * content (the node names, sorted, one a line). Both owned by the caller.
 * CST_EINVALID when the tokenmap is not a non-empty JSON object. */
int meta_cluster_marker(char **name, char **content, const char *tokenmap_json);

#endif
