/*
 * nodetool ring and status output (agent/backup/topology_parse.c) into
 * tokenmap.json (topology.c), and back through the restore's tokenmap reader
 * (agent/restore/tokenmap.c).
 *
 * Input: ring output, a NUL byte, status output. Without a NUL the whole
 * input is tried as ring output alone and as status output alone (so real
 * nodetool output is a seed as it is). With one, each part alone and the
 * two together.
 *
 * - what is accepted keeps topology.h's promises (tokens ascending and
 *   distinct, a place for every node);
 * - every node of an accepted ring's tokenmap.json reads back with
 *   tokenmap_tokens(): the same tokens in the same order.
 */
#include "fuzz.h"

#include <inttypes.h>

#include "tokenmap.h"
#include "topology.h"

static void check_nodes(const struct topology *t, int have_tokens)
{
	size_t i, j;

	for (i = 0; i < t->n_nodes; i++) {
		const struct topo_node *n = &t->nodes[i];

		FUZZ_CHECK(n->address != NULL && n->name != NULL && n->dc != NULL && n->rack != NULL);
		FUZZ_CHECK(n->up >= -1 && n->up <= 1 && n->state != 0);
		FUZZ_CHECK(n->n_tokens > 0);
		if (have_tokens) {
			FUZZ_CHECK(n->tokens != NULL);
			for (j = 1; j < n->n_tokens; j++)
				FUZZ_CHECK(n->tokens[j - 1] < n->tokens[j]);
		}
		FUZZ_CHECK(topology_find(t, n->name) != NULL);
	}
}

/* tokenmap.json of `t`, read back node by node. */
static void tokenmap_roundtrip(const struct topology *t)
{
	char *json = NULL, *tokens, *want, *p;
	size_t i, j, n;
	int rc;

	cst_error_clear();
	rc = topology_tokenmap_json(&json, t);
	fuzz_verdict("tokenmap.json", rc);
	fuzz_check_rc(rc);
	if (rc != 0)
		return;	/* two nodes of one name, a name that is not UTF-8 */
	for (i = 0; i < t->n_nodes; i++) {
		const struct topo_node *node = &t->nodes[i];

		cst_error_clear();
		rc = tokenmap_tokens(&tokens, &n, json, strlen(json), node->name, "tokenmap.json");
		if (rc != 0)
			fprintf(stderr, "node %s: %s\n", node->name, cst_error_msg());
		FUZZ_CHECK(rc == 0 && n == node->n_tokens);
		want = p = malloc(node->n_tokens * 22 + 1);
		FUZZ_CHECK(want != NULL);
		*p = '\0';
		for (j = 0; j < node->n_tokens; j++)
			p += sprintf(p, "%s%" PRId64, j ? "," : "", node->tokens[j]);
		FUZZ_CHECK(strcmp(tokens, want) == 0);
		free(want);
		free(tokens);
	}
	free(json);
}

static void parse(const char *ring, const char *status)
{
	struct topology *t = NULL;
	int rc;

	cst_error_clear();
	rc = topology_parse(&t, ring, status);
	fuzz_verdict(ring && status ? "ring + status" : ring ? "ring" : "status", rc);
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (t != NULL));
	if (rc != 0)
		return;
	check_nodes(t, ring != NULL);
	if (ring != NULL)
		tokenmap_roundtrip(t);
	topology_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	size_t first = strlen(text);

	if (first == size) {
		parse(text, NULL);
		parse(NULL, text);
	} else {
		parse(text, NULL);
		parse(NULL, text + first + 1);
		parse(text, text + first + 1);
	}
	free(text);
	return 0;
}
