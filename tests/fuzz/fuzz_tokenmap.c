/*
 * The restore's tokenmap.json reader (agent/restore/tokenmap.c), which reads
 * a document from storage that another node or another tool (Medusa) wrote.
 * Input: the node's name, a newline, the document.
 *
 * What it accepts must be what cassandra.yaml's initial_token takes: n
 * integers (an optional '-' and digits) joined by ',' -- and then the yaml
 * edit (agent/restore/yaml_tokens.c) must put exactly that line in.
 */
#include "fuzz.h"
#include "tokenmap.h"
#include "yaml_tokens.h"

static const char yaml[] = "cluster_name: 'fuzz'\n"
			   "num_tokens: 16\n"
			   "# initial_token:\n"
			   "seed_provider:\n"
			   "  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n";

static void check_list(const char *tokens, size_t n)
{
	const char *p = tokens;
	size_t count = 0;

	for (;;) {
		if (*p == '-')
			p++;
		FUZZ_CHECK(*p >= '0' && *p <= '9');
		p += strspn(p, "0123456789");
		count++;
		if (*p == '\0')
			break;
		FUZZ_CHECK(*p == ',');
		p++;
	}
	FUZZ_CHECK(count == n);
}

static void yaml_edit(const char *tokens, size_t n)
{
	char *out = NULL, *line, want[64];
	size_t len = 0;

	FUZZ_CHECK(yaml_tokens_edit(&out, &len, yaml, sizeof(yaml) - 1, tokens, n) == 0);
	FUZZ_CHECK(out != NULL && strlen(out) == len);
	line = strstr(out, "\ninitial_token: ");
	FUZZ_CHECK(line != NULL);
	line += strlen("\ninitial_token: ");
	FUZZ_CHECK(strncmp(line, tokens, strlen(tokens)) == 0 && line[strlen(tokens)] == '\n');
	snprintf(want, sizeof(want), "\nnum_tokens: %zu\n", n);
	FUZZ_CHECK(strstr(out, want) != NULL);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char *node, *tokens = NULL;
	size_t n = 0, skip;
	int rc;

	if (nl == NULL)
		return 0;
	node = fuzz_strndup(data, (size_t)(nl - data));
	skip = (size_t)(nl - data) + 1;
	cst_error_clear();
	rc = tokenmap_tokens(&tokens, &n, (const char *)data + skip, size - skip, node,
			     "tokenmap.json");
	fuzz_verdict("tokenmap_tokens", rc);
	fuzz_check_rc(rc);
	FUZZ_CHECK((rc == 0) == (tokens != NULL));
	if (rc == 0) {
		FUZZ_CHECK(n > 0);
		check_list(tokens, n);
		yaml_edit(tokens, n);
	}
	free(tokens);
	free(node);
	return 0;
}
