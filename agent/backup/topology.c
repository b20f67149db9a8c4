/*
 * topology: ring and status merged into one cluster, its names, and
 * tokenmap.json. topology_parse.c reads the two outputs.
 */
#define _GNU_SOURCE
#include "topology_int.h"

#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

#define UNRESOLVED_SHOWN 10	/* addresses a warning names before "and N more" */

void topology_free(struct topology *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n_nodes; i++) {
		struct topo_node *n = &t->nodes[i];

		free(n->address);
		free(n->name);
		free(n->dc);
		free(n->rack);
		free(n->host_id);
		free(n->tokens);
	}
	free(t->nodes);
	free(t);
}

static struct topo_node *by_address(const struct topology *t, const char *address)
{
	size_t i;

	for (i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i].address, address) == 0)
			return &t->nodes[i];
	return NULL;
}

#define DISAGREE "nodetool ring and nodetool status disagree: "

/* One node as the ring (r) and status (s) printed it. */
static int check_pair(const struct topo_node *r, const struct topo_node *s)
{
	if (r == NULL)
		return cst_error(CST_EINVALID, DISAGREE "status lists %s, the ring does not",
				 s->address);
	if (strcmp(r->dc, s->dc) != 0 || strcmp(r->rack, s->rack) != 0)
		return cst_error(CST_EINVALID, DISAGREE "%s is in data center %s, rack %s in the "
				 "ring but in data center %s, rack %s in status", s->address, r->dc,
				 r->rack, s->dc, s->rack);
	if (r->n_tokens != s->n_tokens)
		return cst_error(CST_EINVALID, DISAGREE "%s has %zu token%s in the ring, %zu in "
				 "status", s->address, r->n_tokens, r->n_tokens == 1 ? "" : "s",
				 s->n_tokens);
	if (s->tokens != NULL && s->tokens[0] != r->tokens[0])
		return cst_error(CST_EINVALID, DISAGREE "%s has token %lld in the ring, %lld in "
				 "status", s->address, (long long)r->tokens[0],
				 (long long)s->tokens[0]);
	return 0;
}

/* Status into the ring: the same nodes, places and token counts; status's
 * up/down, state and host id (status ran after the ring). */
static int merge(struct topology *ring, struct topology *status)
{
	size_t i;
	int rc;

	for (i = 0; i < status->n_nodes; i++) {
		struct topo_node *s = &status->nodes[i], *r = by_address(ring, s->address);

		if ((rc = check_pair(r, s)) != 0)
			return rc;
		r->up = s->up;
		r->state = s->state;
		r->host_id = s->host_id;
		s->host_id = NULL;
	}
	for (i = 0; i < ring->n_nodes; i++)
		if (by_address(status, ring->nodes[i].address) == NULL)
			return cst_error(CST_EINVALID, DISAGREE "the ring lists %s, status does not",
					 ring->nodes[i].address);
	return 0;
}

int topology_parse(struct topology **out, const char *ring_text, const char *status_text)
{
	struct topology *ring = NULL, *status = NULL;
	int rc;

	*out = NULL;
	if (ring_text == NULL && status_text == NULL)
		return cst_error(CST_EINVALID, "topology_parse: neither ring nor status output");
	if ((ring_text != NULL && (rc = topo_parse_ring(&ring, ring_text)) != 0) ||
	    (status_text != NULL && (rc = topo_parse_status(&status, status_text)) != 0))
		goto out;
	if (ring != NULL && status != NULL && (rc = merge(ring, status)) != 0)
		goto out;
	if (ring != NULL) {
		*out = ring;
		ring = NULL;
	} else {
		*out = status;
		status = NULL;
	}
out:
	topology_free(ring);
	topology_free(status);
	return rc;
}

const struct topo_node *topology_find(const struct topology *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i].name, name) == 0)
			return &t->nodes[i];
	return NULL;
}

/* ---- names -------------------------------------------------------------- */

/* The host part of an address: "10.0.0.1:7000" -> "10.0.0.1",
 * "[::1]:7000" -> "::1"; a bare IPv6 address or a name stays as it is. */
static void host_of(char *buf, size_t len, const char *address)
{
	const char *colon = strchr(address, ':'), *end;

	if (address[0] == '[' && (end = strchr(address, ']')) != NULL)
		snprintf(buf, len, "%.*s", (int)(end - address - 1), address + 1);
	else if (colon != NULL && strchr(colon + 1, ':') == NULL)
		snprintf(buf, len, "%.*s", (int)(colon - address), address);
	else
		snprintf(buf, len, "%s", address);
}

/* The node's name by reverse lookup into `name`: 1 found, 0 not (the lookup
 * failed), -1 the host is not a numeric address (it is a name: copied). */
static int reverse_lookup(char *name, size_t len, const char *address)
{
	struct addrinfo hints, *ai = NULL;
	char host[NI_MAXHOST];
	int rc;

	host_of(host, sizeof(host), address);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &ai) != 0) {
		snprintf(name, len, "%s", host);
		return -1;
	}
	rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, name, (socklen_t)len, NULL, 0, NI_NAMEREQD);
	freeaddrinfo(ai);
	return rc == 0;
}

/* Append `address` to the ", " list in *list; *shown counts them. */
static int list_add(char **list, size_t *shown, const char *address)
{
	char *longer;

	if (++*shown > UNRESOLVED_SHOWN)
		return 0;
	longer = *list ? cst_sprintf("%s, %s", *list, address) : cst_strdup(address);
	if (longer == NULL)
		return CST_ENOMEM;
	free(*list);
	*list = longer;
	return 0;
}

int topology_resolve_names(struct topology *t, char **unresolved)
{
	char name[NI_MAXHOST], *list = NULL, *copy;
	size_t i, failed = 0;
	int rc = 0;

	if (unresolved != NULL)
		*unresolved = NULL;
	for (i = 0; i < t->n_nodes; i++) {
		struct topo_node *n = &t->nodes[i];

		if (reverse_lookup(name, sizeof(name), n->address) == 0) {
			if ((rc = list_add(&list, &failed, n->address)) != 0)
				goto out;
			continue;
		}
		if ((copy = cst_strdup(name)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		free(n->name);
		n->name = copy;
	}
	if (failed > UNRESOLVED_SHOWN) {
		if ((copy = cst_sprintf("%s and %zu more", list, failed - UNRESOLVED_SHOWN)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		free(list);
		list = copy;
	}
	if (unresolved != NULL) {
		*unresolved = list;
		list = NULL;
	}
out:
	free(list);
	return rc;
}

/* ---- tokenmap.json ------------------------------------------------------ */

static int cmp_name(const void *a, const void *b, void *arg)
{
	const struct topo_node *nodes = arg;

	return strcmp(nodes[*(const size_t *)a].name, nodes[*(const size_t *)b].name);
}

static json_t *node_json(const struct topo_node *n)
{
	json_t *obj = json_object(), *tokens = json_array();
	size_t i;
	int bad = obj == NULL || tokens == NULL;

	for (i = 0; !bad && i < n->n_tokens; i++)
		bad = json_array_append_new(tokens, json_integer((json_int_t)n->tokens[i])) != 0;
	if (bad || json_object_set_new(obj, "tokens", tokens) != 0) {
		json_decref(tokens);
		json_decref(obj);
		return NULL;
	}
	if (json_object_set_new(obj, "is_up", n->up == 1 ? json_true() : n->up == 0 ? json_false() :
				json_null()) != 0 ||
	    json_object_set_new(obj, "rack", json_string(n->rack)) != 0 ||
	    json_object_set_new(obj, "dc", json_string(n->dc)) != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

int topology_tokenmap_json(char **out, const struct topology *t)
{
	json_t *doc = NULL;
	size_t *order = NULL, i;
	int rc = 0;

	*out = NULL;
	if ((order = cst_calloc(t->n_nodes ? t->n_nodes : 1, sizeof(*order))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < t->n_nodes; i++) {
		order[i] = i;
		if (t->nodes[i].tokens == NULL) {
			rc = cst_error(CST_EINVALID, "no tokens known for %s (nodetool ring was not read)",
				       t->nodes[i].address);
			goto out;
		}
	}
	qsort_r(order, t->n_nodes, sizeof(*order), cmp_name, t->nodes);
	for (i = 1; i < t->n_nodes; i++) {
		const struct topo_node *a = &t->nodes[order[i - 1]], *b = &t->nodes[order[i]];

		if (strcmp(a->name, b->name) == 0) {
			rc = cst_error(CST_EINVALID, "two nodes of the cluster are both named %s: %s and %s "
				       "(with [cassandra] resolve_ip_addresses = false they are named "
				       "by address)", a->name, a->address, b->address);
			goto out;
		}
	}
	if ((doc = json_object()) == NULL) {
		rc = cst_error(CST_ENOMEM, "out of memory building JSON");
		goto out;
	}
	for (i = 0; i < t->n_nodes; i++) {
		const struct topo_node *n = &t->nodes[order[i]];

		if (json_object_set_new(doc, n->name, node_json(n)) != 0) {
			rc = cst_error(CST_EINVALID, "cannot put node %s into tokenmap.json (out of memory, "
				       "or a name that is not UTF-8)", n->address);
			goto out;
		}
	}
	if ((*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		rc = cst_error(CST_ENOMEM, "out of memory building JSON");
out:
	json_decref(doc);
	free(order);
	return rc;
}
