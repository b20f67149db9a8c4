/* yaml_tokens: a cassandra.yaml takes over another node's tokens, and every
 * other byte stays; the file edit keeps the original and the file's mode. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "scratch.h"
#include "util.h"
#include "yaml_tokens.h"

#define TOKENS "-9223372036854775808,-3074457345618258603,3074457345618258602"

/* The head of Cassandra 4.1's cassandra.yaml, as shipped, plus a seed
 * provider (nested lines) below the keys we set. */
static const char yaml_41[] =
	"# Cassandra storage config YAML\n"
	"\n"
	"# NOTE:\n"
	"#   See https://cassandra.apache.org/doc/latest/configuration/ for\n"
	"#   full explanations of configuration directives\n"
	"# /NOTE\n"
	"\n"
	"# The name of the cluster. This is mainly used to prevent machines in\n"
	"# one logical cluster from joining another.\n"
	"cluster_name: 'Test Cluster'\n"
	"\n"
	"# This defines the number of tokens randomly assigned to this node on the ring\n"
	"# The more tokens, relative to other nodes, the larger the proportion of data\n"
	"# that this node will store. You probably want all nodes to have the same number\n"
	"# of tokens assuming they have equal hardware capability.\n"
	"#\n"
	"# If you leave this unspecified, Cassandra will use the default of 1 token for legacy compatibility,\n"
	"# and will use the initial_token as described below.\n"
	"#\n"
	"# Specifying initial_token will override this setting on the node's initial start,\n"
	"# on subsequent starts, this setting will apply even if initial token is set.\n"
	"#\n"
	"# See https://cassandra.apache.org/doc/latest/getting_started/production.html#tokens for\n"
	"# best practice information about num_tokens.\n"
	"#\n"
	"num_tokens: 16\n"
	"\n"
	"# Triggers automatic allocation of num_tokens tokens for this node. The allocation\n"
	"# algorithm attempts to choose tokens in a way that optimizes replicated load over\n"
	"# the nodes in the datacenter for the replica factor.\n"
	"#\n"
	"# allocate_tokens_for_keyspace: KEYSPACE\n"
	"\n"
	"# Replica factor is explicitly set, regardless of keyspace or datacenter.\n"
	"# This is the replica factor within the datacenter, like NTS.\n"
	"allocate_tokens_for_local_replication_factor: 3\n"
	"\n"
	"# initial_token allows you to specify tokens manually.  While you can use it with\n"
	"# vnodes (num_tokens > 1, above) -- in which case you should provide a \n"
	"# comma-separated list -- it's primarily used when adding nodes to legacy clusters \n"
	"# that do not have vnodes enabled.\n"
	"# initial_token:\n"
	"\n"
	"# May either be \"true\" or \"false\" to enable globally\n"
	"hinted_handoff_enabled: true\n"
	"\n"
	"seed_provider:\n"
	"  # Addresses of hosts that are deemed contact points.\n"
	"  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
	"    parameters:\n"
	"      # seeds is actually a comma-delimited list of addresses.\n"
	"      - seeds: \"127.0.0.1:7000\"\n"
	"\n"
	"# the num_tokens below is nested, not ours\n"
	"some_map:\n"
	"  num_tokens: 4\n"
	"endpoint_snitch: SimpleSnitch\n";

static char *edit(const char *text, const char *tokens, size_t n)
{
	char *out = NULL;
	size_t len = 0;

	assert_int_equal(yaml_tokens_edit(&out, &len, text, strlen(text), tokens, n), 0);
	assert_int_equal(strlen(out), len);
	return out;
}

/* text with `from` replaced by `to`, once (it must be there) */
static char *replaced(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);

	assert_non_null(at);
	return cst_sprintf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static void test_real_yaml(void **state)
{
	char *out, *step, *want;

	(void)state;
	out = edit(yaml_41, TOKENS, 3);
	/* num_tokens replaced where it stood; the commented initial_token kept;
	 * the absent keys appended; every other byte as it was */
	step = replaced(yaml_41, "\nnum_tokens: 16\n", "\nnum_tokens: 3\n");
	want = cst_sprintf("%sinitial_token: " TOKENS "\nauto_bootstrap: false\n", step);
	assert_string_equal(out, want);
	assert_non_null(strstr(out, "\n# initial_token:\n"));
	assert_non_null(strstr(out, "\n  num_tokens: 4\n"));
	free(step);
	free(want);
	/* a second edit changes nothing */
	step = edit(out, TOKENS, 3);
	assert_string_equal(step, out);
	free(step);
	free(out);
}

static void test_keys_in_place(void **state)
{
	static const char text[] =
		"cluster_name: x\n"
		"initial_token: 5\n"
		"num_tokens : 256   # trailing comment\n"
		"auto_bootstrap: true\n"
		"#auto_bootstrap: true\n"
		"initial_tokens: not ours\n"
		"tail: 1\n";
	char *out;

	(void)state;
	out = edit(text, "1,2", 2);
	assert_string_equal(out,
			    "cluster_name: x\n"
			    "initial_token: 1,2\n"
			    "num_tokens: 2\n"
			    "auto_bootstrap: false\n"
			    "#auto_bootstrap: true\n"
			    "initial_tokens: not ours\n"
			    "tail: 1\n");
	free(out);
}

/* A value on the lines below its key goes with it; comments and blank lines
 * that lead to the next key stay. A file without a final newline keeps
 * its last line whole. */
static void test_continuations(void **state)
{
	static const char text[] =
		"initial_token:\n"
		"  - 1\n"
		"  - 2\n"
		"\n"
		"# next\n"
		"num_tokens:\n"
		"- 7\n"
		"end: true";
	char *out;

	(void)state;
	out = edit(text, "-3", 1);
	assert_string_equal(out,
			    "initial_token: -3\n"
			    "\n"
			    "# next\n"
			    "num_tokens: 1\n"
			    "end: true\n"
			    "auto_bootstrap: false\n");
	free(out);
	out = edit("", "9", 1);
	assert_string_equal(out, "initial_token: 9\nnum_tokens: 1\nauto_bootstrap: false\n");
	free(out);
	out = edit("num_tokens: 8", "9", 1);
	assert_string_equal(out, "num_tokens: 1\ninitial_token: 9\nauto_bootstrap: false\n");
	free(out);
}

static char *slurp(const char *path)
{
	char *text = NULL;
	size_t len;

	assert_int_equal(cst_read_file(&text, &len, path, 1 << 20), 0);
	return text;
}

static void test_apply_file(void **state)
{
	char *dir = scratch_new("yaml"), *path, *kept = NULL, *copy, *link_path, *text;
	struct stat st;

	(void)state;
	path = cst_path_join(dir, "cassandra.yaml");
	scratch_write(dir, "cassandra.yaml", yaml_41, strlen(yaml_41));
	assert_int_equal(chmod(path, 0640), 0);
	/* the config names a link to it: the file itself is edited */
	link_path = cst_path_join(dir, "link.yaml");
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(yaml_tokens_check(link_path), 0);
	assert_int_equal(yaml_tokens_apply(link_path, "b1", TOKENS, 3, &kept), 0);
	copy = cst_sprintf("%s.cassette-b1", path);
	assert_string_equal(kept, copy);
	text = slurp(copy);
	assert_string_equal(text, yaml_41);
	free(text);
	text = slurp(path);
	assert_non_null(strstr(text, "\ninitial_token: " TOKENS "\n"));
	free(text);
	assert_int_equal(lstat(link_path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	free(kept);
	/* again: already so, nothing written, nothing kept */
	assert_int_equal(yaml_tokens_apply(path, "b1", TOKENS, 3, &kept), 0);
	assert_null(kept);
	/* other tokens: the edited file is kept too, beside the first copy */
	assert_int_equal(yaml_tokens_apply(path, "b1", "1", 1, &kept), 0);
	free(copy);
	copy = cst_sprintf("%s.cassette-b1.1", path);
	assert_string_equal(kept, copy);
	free(kept);
	text = slurp(path);
	assert_non_null(strstr(text, "\ninitial_token: 1\nauto_bootstrap: false\n"));
	free(text);
	text = slurp(copy);	/* the file as the first edit left it */
	assert_non_null(strstr(text, "\ninitial_token: " TOKENS "\n"));
	free(text);
	free(copy);
	free(path);
	free(link_path);
	/* refused: missing, or a directory */
	path = cst_path_join(dir, "missing.yaml");
	assert_int_equal(yaml_tokens_check(path), CST_ENOTFOUND);
	assert_non_null(strstr(cst_error_msg(), "missing.yaml"));
	free(path);
	assert_int_not_equal(yaml_tokens_check(dir), 0);
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_yaml), cmocka_unit_test(test_keys_in_place),
		cmocka_unit_test(test_continuations), cmocka_unit_test(test_apply_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
