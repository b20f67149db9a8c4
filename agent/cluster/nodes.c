/* cluster: the node list, from this host's nodetool. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_int.h"
#include "config.h"
#include "meta.h"
#include "util.h"

static int by_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* TEMPORARY until the topology parser lands: the tokenmap's keys. */
int cluster_topology_names(char ***out, size_t *n, const struct config *cfg)
{
	char *text = NULL, **names = NULL;
	json_t *doc = NULL, *v;
	const char *key;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if ((rc = meta_tokenmap_json(&text, cfg)) != 0)
		return rc;
	doc = json_loads(text, 0, NULL);
	free(text);
	if (!json_is_object(doc) || json_object_size(doc) == 0) {
		json_decref(doc);
		return cst_error(CST_EINVALID, "nodetool gave no nodes");
	}
	if ((names = cst_calloc(json_object_size(doc), sizeof(*names))) == NULL) {
		json_decref(doc);
		return CST_ENOMEM;
	}
	json_object_foreach(doc, key, v) {
		if ((names[k] = cst_strdup(key)) == NULL) {
			cluster_names_free(names, k);
			json_decref(doc);
			return CST_ENOMEM;
		}
		k++;
	}
	json_decref(doc);
	qsort(names, k, sizeof(*names), by_str);
	*out = names;
	*n = k;
	return 0;
}
