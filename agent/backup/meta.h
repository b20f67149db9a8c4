/* meta: the small plaintext meta documents of a backup besides the manifest. */
#ifndef CASSETTE_META_H
#define CASSETTE_META_H

struct config;

/* {"<fqdn>": {"tokens": [], "is_up": true, "rack": null, "dc": null}}.
 * Tokens are not read from Cassandra yet (cluster restore will need them). */
int meta_tokenmap_json(char **out, const struct config *cfg);
/* {"server_type": "cassandra", "release_version": "<nodetool version>"};
 * "unknown" in hardlink mode. */
int meta_server_version_json(char **out, const struct config *cfg);

/* The cluster marker of a tokenmap (layout.h): its index object name and
 * content (the node names, sorted, one a line). Both owned by the caller.
 * CST_EINVALID when the tokenmap is not a non-empty JSON object. */
int meta_cluster_marker(char **name, char **content, const char *tokenmap_json);

#endif
