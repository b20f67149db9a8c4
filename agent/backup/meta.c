/* meta: tokenmap.json (the cluster's topology) and server_version.json. */
#define _GNU_SOURCE
#include "meta.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snapshot.h"
#include "topology.h"
#include "util.h"

static int dump(char **out, json_t *doc)
{
	if (doc == NULL)
		return cst_error(CST_ENOMEM, "out of memory building JSON");
	*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out ? 0 : cst_error(CST_ENOMEM, "out of memory building JSON");
}

#define NAMES_SHOWN 10	/* names an error lists before "and N more" */

/* The own-name check failed: say which names there are. */
static int not_in_cluster(const struct topology *t, const struct config *cfg)
{
	char *names = NULL, *longer;
	size_t i;
	int rc;

	for (i = 0; i < t->n_nodes && i < NAMES_SHOWN; i++) {
		longer = names ? cst_sprintf("%s, %s", names, t->nodes[i].name) :
				 cst_strdup(t->nodes[i].name);
		free(names);
		if ((names = longer) == NULL)
			return CST_ENOMEM;
	}
	rc = cst_error(CST_EINVALID, "this node's name %s ([storage] fqdn or --fqdn) is not in the "
		       "cluster nodetool reports, whose nodes are named %s%s (%s)", cfg->fqdn, names,
		       t->n_nodes > NAMES_SHOWN ? " and more" : "",
		       cfg->resolve_ip_addresses ? "host names by reverse lookup of their addresses, "
		       "[cassandra] resolve_ip_addresses = true" :
		       "their addresses as nodetool prints them, [cassandra] resolve_ip_addresses = false");
	free(names);
	return rc;
}

/* nodetool could not be asked (hardlink mode): this node alone, no tokens. */
static int alone(char **out, char **tokens_unknown, const struct config *cfg)
{
	if ((*tokens_unknown = cst_strdup(cst_error_msg())) == NULL)
		return CST_ENOMEM;
	cst_error_clear();
	return dump(out, json_pack("{s:{s:[],s:b,s:n,s:n}}", cfg->fqdn, "tokens", "is_up", 1,
				   "rack", "dc"));
}

/* nodetool ring + status, or CST_ERROR naming the command that failed. */
static int ask_nodetool(char **ring, char **status, const struct config *cfg)
{
	const char *ring_args[] = { "ring", NULL }, *status_args[] = { "status", NULL };
	int rc;

	*ring = *status = NULL;
	if ((rc = nodetool_run(cfg, ring, ring_args)) != 0 ||
	    (rc = nodetool_run(cfg, status, status_args)) != 0) {
		free(*ring);
		*ring = NULL;
	}
	return rc;
}

static int build(struct topology **out, const char *ring, const char *status,
		 const struct config *cfg)
{
	char *unresolved = NULL;
	int rc;

	if ((rc = topology_parse(out, ring, status)) != 0)
		return rc;
	if (cfg->resolve_ip_addresses && (rc = topology_resolve_names(*out, &unresolved)) != 0) {
		topology_free(*out);
		*out = NULL;
		return rc;
	}
	if (unresolved != NULL)
		fprintf(stderr, "cassette: warning: reverse lookup found no host name for %s: "
			"tokenmap.json names each by its address\n", unresolved);
	free(unresolved);
	return 0;
}

int meta_topology(struct topology **out, const struct config *cfg)
{
	char *ring = NULL, *status = NULL;
	int rc;

	*out = NULL;
	if ((rc = ask_nodetool(&ring, &status, cfg)) == 0)
		rc = build(out, ring, status, cfg);
	free(ring);
	free(status);
	return rc;
}

int meta_tokenmap_json(char **out, char **tokens_unknown, const struct config *cfg)
{
	char *ring = NULL, *status = NULL;
	struct topology *t = NULL;
	int rc;

	*out = NULL;
	*tokens_unknown = NULL;
	if ((rc = ask_nodetool(&ring, &status, cfg)) != 0) {
		if (cfg->snapshot_mode == SNAPSHOT_HARDLINK && rc != CST_ENOMEM)
			rc = alone(out, tokens_unknown, cfg);
		goto out;
	}
	if ((rc = build(&t, ring, status, cfg)) != 0)
		goto out;
	if (topology_find(t, cfg->fqdn) == NULL) {
		rc = not_in_cluster(t, cfg);
		goto out;
	}
	rc = topology_tokenmap_json(out, t);
out:
	if (rc != 0) {
		free(*tokens_unknown);
		*tokens_unknown = NULL;
	}
	topology_free(t);
	free(ring);
	free(status);
	return rc;
}

/* "ReleaseVersion: 4.0.3\n" -> "4.0.3" */
static char *parse_version(char *text)
{
	char *p = strstr(text, "ReleaseVersion:"), *end;

	if (p == NULL)
		return NULL;
	p += strlen("ReleaseVersion:");
	p += strspn(p, " \t");
	end = p + strcspn(p, "\r\n");
	*end = '\0';
	return *p ? p : NULL;
}

int meta_server_version_json(char **out, const struct config *cfg)
{
	const char *args[] = { "version", NULL };
	const char *version = "unknown";
	char *text = NULL;
	int rc;

	if (cfg->snapshot_mode == SNAPSHOT_NODETOOL) {
		char *v;

		if ((rc = nodetool_run(cfg, &text, args)) != 0)
			return rc;
		if ((v = parse_version(text)) != NULL)
			version = v;
	}
	rc = dump(out, json_pack("{s:s,s:s}", "server_type", "cassandra", "release_version", version));
	free(text);
	return rc;
}
