/* meta: the cluster marker, from a tokenmap. */
#define _GNU_SOURCE
#include "meta.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "util.h"

static int by_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int meta_cluster_marker(char **name, char **content, const char *tokenmap_json)
{
	json_t *doc = json_loads(tokenmap_json, 0, NULL);
	const char **names = NULL, *key;
	json_t *value;
	size_t n = 0, len = 0, i;
	char *text = NULL;
	int rc = 0;

	*name = *content = NULL;
	if (!json_is_object(doc) || json_object_size(doc) == 0) {
		rc = cst_error(CST_EINVALID, "tokenmap.json is not an object of nodes");
		goto out;
	}
	if ((names = cst_calloc(json_object_size(doc), sizeof(*names))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	json_object_foreach(doc, key, value) {
		names[n++] = key;
		len += strlen(key) + 1;
	}
	qsort(names, n, sizeof(*names), by_str);
	if ((text = cst_malloc(len + 1)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0, len = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		memcpy(text + len, names[i], l);
		text[len + l] = '\n';
		len += l + 1;
	}
	text[len] = '\0';
	if ((*name = layout_cluster_name(n, layout_cluster_fingerprint(names, n))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	*content = text;
	text = NULL;
out:
	free(text);
	free(names);
	json_decref(doc);
	return rc;
}
