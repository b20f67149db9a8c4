/* tokenmap: a node's tokens; see tokenmap.h. */
#define _GNU_SOURCE
#include "tokenmap.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Cassandra's limits: num_tokens is at most a few hundred in practice; the
 * cap keeps a hostile document from making a huge line. */
#define MAX_TOKENS 16384
#define MAX_TOKEN_LEN 48	/* "-170141183460469231731687303715884105728" is 40 */

static int token_text(char *buf, size_t cap, const json_t *v)
{
	const char *s, *p;

	if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return 0;
	}
	if (!json_is_string(v) || (s = json_string_value(v)) == NULL)
		return -1;
	p = s + (s[0] == '-');
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(s) >= cap)
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int tokenmap_tokens(char **out, size_t *n, const char *json, size_t len, const char *node,
		    const char *origin)
{
	char tok[MAX_TOKEN_LEN + 1], *text = NULL, *p;
	json_t *doc, *entry, *tokens;
	json_error_t jerr;
	size_t i, count;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if ((doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return cst_error(CST_EINVALID, "%s is not valid JSON (line %d: %s)", origin, jerr.line,
				 jerr.text);
	if (!json_is_object(doc)) {
		rc = cst_error(CST_EINVALID, "%s is not a tokenmap (a JSON object of nodes)", origin);
		goto out;
	}
	entry = json_object_get(doc, node);
	tokens = json_object_get(entry, "tokens");
	if (entry == NULL || tokens == NULL || (json_is_array(tokens) && json_array_size(tokens) == 0)) {
		rc = cst_error(CST_ENOTFOUND, "%s records no tokens for node %s: this backup cannot seed "
			       "a new node", origin, node);
		goto out;
	}
	if (!json_is_object(entry) || !json_is_array(tokens) ||
	    (count = json_array_size(tokens)) > MAX_TOKENS) {
		rc = cst_error(CST_EINVALID, "%s: \"%s\".tokens is not a list of at most %d tokens",
			       origin, node, MAX_TOKENS);
		goto out;
	}
	if ((text = p = cst_malloc(count * (MAX_TOKEN_LEN + 1) + 1)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < count; i++) {
		if (token_text(tok, sizeof(tok), json_array_get(tokens, i)) != 0) {
			rc = cst_error(CST_EINVALID, "%s: token %zu of node %s is not an integer", origin,
				       i + 1, node);
			goto out;
		}
		if (i > 0)
			*p++ = ',';
		p = stpcpy(p, tok);
	}
	*out = text;
	*n = count;
	text = NULL;
out:
	free(text);
	json_decref(doc);
	return rc;
}
