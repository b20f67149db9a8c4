/*
 * topology: the cluster as `nodetool ring` and `nodetool status` print it
 * (Cassandra 3.11 to 5.0), and the tokenmap.json made from it.
 *
 * The parser splits lines on blanks and never relies on column offsets or
 * trailing whitespace: 3.x status columns overflow, a rack of 12 or more
 * characters runs into the ring's Status word, loads and ownership may use
 * comma decimals or be '?', addresses may carry a port ("10.0.0.1:7000",
 * "[::1]:7000" with -pp). Anything before the first "Datacenter:" line is
 * skipped (JVM or kubectl chatter); after it, every line must be understood:
 * a line that is not is CST_EINVALID quoting it and its line number. Only
 * Murmur3Partitioner tokens (signed 64-bit integers) are supported; any other
 * token is CST_EUNSUPPORTED naming it.
 */
#ifndef CASSETTE_TOPOLOGY_H
#define CASSETTE_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

struct topo_node {
	char *address;		/* as nodetool printed it */
	char *name;		/* the tokenmap name: the address, until
				 * topology_resolve_names() */
	char *dc;
	char *rack;
	char *host_id;		/* from status; NULL when not given or null */
	int up;			/* 1 up, 0 down, -1 unknown ('?') */
	char state;		/* 'N'ormal, 'J'oining, 'L'eaving, 'M'oving,
				 * 'R'eplacing (status of later versions) */
	int64_t *tokens;	/* ascending; NULL when only status was parsed
				 * (values unknown) */
	size_t n_tokens;	/* with tokens == NULL: the count status printed */
};

struct topology {
	struct topo_node *nodes;	/* data centers in nodetool's order (sorted
					 * by name), nodes in order of first
					 * appearance */
	size_t n_nodes;
};

/*
 * Parse `ring_text` (nodetool ring) and `status_text` (nodetool status), both
 * run without a keyspace. Either may be NULL, not both. The ring gives the
 * tokens; status gives up/down, state and host ids. With both, they must
 * describe the same nodes in the same data centers and racks with the same
 * token counts (status's Tokens column), else CST_EINVALID saying where they
 * disagree; up/down and state come from status (the later call).
 * *out is owned by the caller (topology_free) and NULL on failure.
 */
int topology_parse(struct topology **out, const char *ring_text, const char *status_text);
void topology_free(struct topology *t);

/*
 * Name every node by reverse lookup of its address (getnameinfo with
 * NI_NAMEREQD) after stripping a ":port" or "[v6]:port". An address that is
 * not numeric (nodetool -r printed a host name) is taken as the name. A node
 * whose lookup fails keeps its address as printed: *unresolved (when not
 * NULL) is then a fresh ", "-separated list of those addresses for one
 * warning, else NULL. Returns 0 or CST_ENOMEM.
 */
int topology_resolve_names(struct topology *t, char **unresolved);

/* The node named `name` (borrowed), or NULL. */
const struct topo_node *topology_find(const struct topology *t, const char *name);

/*
 * tokenmap.json, Medusa's shape, keys sorted by name:
 *   {"<name>": {"tokens": [<int>, ...], "is_up": true|false|null,
 *               "rack": "<rack>", "dc": "<dc>"}, ...}
 * tokens ascending, as JSON integers; is_up null when status printed '?'.
 * Two nodes with one name is CST_EINVALID naming both addresses. Every node
 * must have its tokens (the ring was parsed). *out is a fresh compact string.
 */
int topology_tokenmap_json(char **out, const struct topology *t);

#endif
