/* meta: tokenmap.json and server_version.json. */
#define _GNU_SOURCE
#include "meta.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "snapshot.h"
#include "util.h"

static int dump(char **out, json_t *doc)
{
	if (doc == NULL)
		return cst_error(CST_ENOMEM, "out of memory building JSON");
	*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out ? 0 : cst_error(CST_ENOMEM, "out of memory building JSON");
}

int meta_tokenmap_json(char **out, const struct config *cfg)
{
	return dump(out, json_pack("{s:{s:[],s:b,s:n,s:n}}", cfg->fqdn, "tokens", "is_up", 1,
				   "rack", "dc"));
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
