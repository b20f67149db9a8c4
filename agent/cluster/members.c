/* cluster: which nodes a backup's cluster has, from its cluster markers. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "cluster_int.h"
#include "config.h"
#include "layout.h"
#include "node_index.h"
#include "storage.h"
#include "util.h"

void cluster_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The marker's lines, each a valid node name. */
static int parse_lines(char ***out, size_t *n, char *text, const char *key)
{
	char **names = NULL, *line, *save = NULL;
	size_t cap = 0;

	*n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char **grown;

		if (!config_fqdn_is_valid(line)) {
			cluster_names_free(names, *n);
			return cst_error(CST_EINTEGRITY, "%s names an invalid node '%.64s'", key, line);
		}
		if ((grown = cst_grow(names, &cap, *n, sizeof(*names), 8)) == NULL ||
		    (grown[*n] = cst_strdup(line)) == NULL) {
			cluster_names_free(grown ? grown : names, *n);
			return CST_ENOMEM;
		}
		names = grown;
		(*n)++;
	}
	*out = names;
	return 0;
}

/* The marker to read: the one the finished nodes match, else the largest. */
static const struct catalog_cluster *pick(const struct catalog_backup *b)
{
	const struct catalog_cluster *best = NULL;
	size_t i, expected;

	if (catalog_cluster_complete(b, &expected)) {
		for (i = 0; i < b->n_clusters; i++)
			if (b->clusters[i].n_nodes == expected)
				best = &b->clusters[i];
	}
	if (best != NULL)
		return best;
	for (i = 0; i < b->n_clusters; i++)
		if (best == NULL || b->clusters[i].n_nodes > best->n_nodes)
			best = &b->clusters[i];
	return best;
}

static int read_marker(char ***out, size_t *n, struct storage *st, const struct config *cfg,
		       const struct catalog_backup *b, const struct catalog_cluster *c)
{
	char *name = layout_cluster_name(c->n_nodes, c->fingerprint), *key = NULL, *text = NULL;
	size_t len = 0, i;
	const char **check = NULL;
	int rc;

	if (name != NULL)
		key = c->source[0] ? node_index_key(cfg->prefix, c->source, b->name, name) :
				     layout_index_key(cfg->prefix, b->name, name);
	if (name == NULL || key == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_get_buf(st, key, &text, &len, 1u << 20)) != 0 ||
	    (rc = parse_lines(out, n, text, key)) != 0)
		goto out;
	/* The name says what the content must be. */
	if ((check = cst_calloc(*n ? *n : 1, sizeof(*check))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < *n; i++)
		check[i] = (*out)[i];
	qsort(check, *n, sizeof(*check), by_str);
	if (*n != c->n_nodes || layout_cluster_fingerprint(check, *n) != c->fingerprint)
		rc = cst_error(CST_EINTEGRITY, "%s does not hold the nodes its name says", key);
out:
	if (rc != 0 && *out != NULL) {
		cluster_names_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	free(check);
	free(text);
	free(key);
	free(name);
	return rc;
}

int cluster_expected_nodes(char ***out, size_t *n, struct storage *st, const struct config *cfg,
			   const struct catalog_backup *b)
{
	const struct catalog_cluster *c = pick(b);
	size_t i;

	*out = NULL;
	*n = 0;
	if (c != NULL) {
		int rc = read_marker(out, n, st, cfg, b, c);

		if (rc == 0)
			qsort(*out, *n, sizeof(**out), by_str);
		return rc;
	}
	if ((*out = cst_calloc(b->n_nodes ? b->n_nodes : 1, sizeof(**out))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < b->n_nodes; i++) {
		if (((*out)[i] = cst_strdup(b->nodes[i].fqdn)) == NULL) {
			cluster_names_free(*out, i);
			*out = NULL;
			return CST_ENOMEM;
		}
	}
	*n = b->n_nodes;
	qsort(*out, *n, sizeof(**out), by_str);
	return 0;
}
