/* cluster: the node list, from this host's nodetool. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "config.h"
#include "meta.h"
#include "topology.h"
#include "util.h"

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int cluster_topology_names(char ***out, size_t *n, const struct config *cfg)
{
	struct topology *t = NULL;
	char **names = NULL;
	size_t i;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = meta_topology(&t, cfg)) != 0)
		return cst_error(rc, "cannot read the cluster's nodes from this host's nodetool: %s",
				 cst_error_msg());
	if (t->n_nodes == 0) {
		rc = cst_error(CST_EINVALID, "this host's nodetool lists no node");
		goto out;
	}
	if ((names = cst_calloc(t->n_nodes, sizeof(*names))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < t->n_nodes; i++) {
		if ((names[i] = cst_strdup(t->nodes[i].name)) == NULL) {
			cluster_names_free(names, i);
			rc = CST_ENOMEM;
			goto out;
		}
	}
	qsort(names, t->n_nodes, sizeof(*names), by_str);
	*out = names;
	*n = t->n_nodes;
out:
	topology_free(t);
	return rc;
}
