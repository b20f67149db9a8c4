/* Unit tests of the cluster layer's pure parts: the node command line
 * (remote_argv, shell quoting), the restore plan from a host list, and the
 * cluster marker that tells from one listing whether every node finished. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "catalog.h"
#include "config.h"
#include "layout.h"
#include "meta.h"
#include "plan.h"
#include "remote.h"
#include "util.h"

static void test_quote(void **state)
{
	char *q;

	(void)state;
	q = remote_shell_quote("plain");
	assert_string_equal(q, "'plain'");
	free(q);
	q = remote_shell_quote("it's a $HOME `x`");
	assert_string_equal(q, "'it'\\''s a $HOME `x`'");
	free(q);
	q = remote_shell_quote("");
	assert_string_equal(q, "''");
	free(q);
}

static void argv_is(char **argv, const char *const *want)
{
	size_t i;

	for (i = 0; want[i]; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

static void test_default_ssh(void **state)
{
	struct config cfg;
	const char *args[] = { "backup-node", "--backup-name", "n'1", NULL };
	const char *want[] = { "ssh", "-o", "BatchMode=yes", "-p", "2222", "-l", "cassandra", "-i",
			       "/etc/cassette/id", "db-3.example",
			       "'/opt/cassette' 'backup-node' '--backup-name' 'n'\\''1'", NULL };
	const char *bare[] = { "ssh", "-o", "BatchMode=yes", "db-3.example", "'cassette' 'x'", NULL };
	const char *x[] = { "x", NULL };
	char **argv = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = "c.ini";
	cfg.ssh_port = 2222;
	cfg.ssh_username = "cassandra";
	cfg.ssh_key_file = "/etc/cassette/id";
	cfg.cassette_cmd = "/opt/cassette";
	assert_int_equal(remote_argv(&argv, &cfg, "db-3.example", args), 0);
	argv_is(argv, want);
	remote_argv_free(argv);

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = "c.ini";
	cfg.cassette_cmd = "cassette";
	assert_int_equal(remote_argv(&argv, &cfg, "db-3.example", x), 0);
	argv_is(argv, bare);
	remote_argv_free(argv);
}

static void test_template(void **state)
{
	struct config cfg;
	const char *args[] = { "status", NULL };
	const char *want[] = { "env", "CASSETTE_CONFIG=/etc/cassette/n2.ini", "sh", "-c",
			       "'sudo' '-u' 'cassandra' 'cassette' 'status'", NULL };
	char **argv = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.path = "c.ini";
	cfg.remote_command = "env  CASSETTE_CONFIG=/etc/cassette/{host}.ini\tsh -c";
	cfg.cassette_cmd = "sudo -u cassandra cassette";
	assert_int_equal(remote_argv(&argv, &cfg, "n2", args), 0);
	argv_is(argv, want);
	remote_argv_free(argv);

	cfg.remote_command = "ssh node1";	/* every node would run on node1 */
	assert_int_equal(remote_argv(&argv, &cfg, "n2", args), CST_EINVALID);
	assert_null(argv);
	assert_non_null(strstr(cst_error_msg(), "{host}"));
	cfg.remote_command = "   ";
	assert_int_equal(remote_argv(&argv, &cfg, "n2", args), CST_EINVALID);
}

/* Three sources in two racks, as a tokenmap would give them. */
static const struct plan_source SRC[] = {
	{ "node1", "dc1", "r1", 16, 1 },
	{ "node2", "dc1", "r2", 16, 1 },
	{ "node3", "dc1", "r1", 16, 1 },
};

static const char *plan_error(const char *list, int allow_incomplete, const struct plan_source *src)
{
	struct plan *p = NULL;

	if (plan_build(&p, src ? src : SRC, 3, list, "hosts.txt", allow_incomplete) == 0) {
		plan_free(p);
		return NULL;
	}
	assert_null(p);
	return cst_error_msg();
}

static void test_plan_host_list(void **state)
{
	struct plan *p = NULL;

	(void)state;
	assert_int_equal(plan_build(&p, SRC, 3,
				    "# seed,target,source\n\nFalse, 10.0.0.7 ,node1\r\n"
				    "true,10.0.0.5,node3\nFALSE,10.0.0.6,node2\n",
				    "hosts.txt", 0), 0);
	assert_int_equal(p->n, 3);
	/* seeds first, then by target */
	assert_string_equal(p->entries[0].target, "10.0.0.5");
	assert_true(p->entries[0].seed);
	assert_string_equal(p->entries[0].source->name, "node3");
	assert_int_equal(p->entries[0].line, 4);
	assert_string_equal(p->entries[1].target, "10.0.0.6");
	assert_string_equal(p->entries[1].source->name, "node2");
	assert_string_equal(p->entries[2].target, "10.0.0.7");
	assert_false(p->entries[2].seed);
	plan_free(p);

	/* in place: every source onto itself */
	assert_int_equal(plan_build(&p, SRC, 3, NULL, NULL, 0), 0);
	assert_int_equal(p->n, 3);
	assert_string_equal(p->entries[1].target, "node2");
	assert_ptr_equal(p->entries[1].source, &SRC[1]);
	plan_free(p);
}

static void test_plan_refusals(void **state)
{
	struct plan_source tokenless[3], unfinished[3];
	struct plan *p = NULL;

	(void)state;
	assert_non_null(strstr(plan_error("True,a,node1\nFalse,b,node2\nFalse,c,node3\nFalse,d,node3\n", 0,
					  NULL), "hosts.txt:4: source 'node3' appears twice (also line 3)"));
	assert_non_null(strstr(plan_error("True,a,node1\nFalse,b,node9\nFalse,c,node3\n", 0, NULL),
			       "hosts.txt:2: unknown host 'node9'"));
	assert_non_null(strstr(plan_error("True,a,node1\nFalse,a,node2\nFalse,c,node3\n", 0, NULL),
			       "hosts.txt:2: target 'a' appears twice (also line 1)"));
	assert_non_null(strstr(plan_error("True,a,node1\nFalse,c,node3\n", 0, NULL),
			       "hosts.txt: no target for source node 'node2'"));
	assert_non_null(strstr(plan_error("Yes,a,node1\n", 0, NULL), "hosts.txt:1: is_seed must be"));
	assert_non_null(strstr(plan_error("True,a\n", 0, NULL), "hosts.txt:1: expected"));
	assert_non_null(strstr(plan_error("True,a,node1,x\n", 0, NULL), "more than three fields"));
	assert_non_null(strstr(plan_error("True,a b,node1\n", 0, NULL), "not a valid target host"));
	/* node2 (rack r2) onto node1, which is rack r1 */
	assert_non_null(strstr(plan_error("True,node1,node2\nFalse,node2,node1\nFalse,node3,node3\n", 0,
					  NULL), "hosts.txt:1: target node1 (dc dc1, rack r1, 16 tokens) "
					  "cannot take source node2"));
	/* racks agree: node1 and node3 swap */
	assert_null(plan_error("True,node3,node1\nFalse,node2,node2\nFalse,node1,node3\n", 0, NULL));
	/* a tokenmap without tokens only restores in place */
	memcpy(tokenless, SRC, sizeof(tokenless));
	tokenless[1].n_tokens = 0;
	assert_non_null(strstr(plan_error("True,a,node1\nFalse,b,node2\nFalse,c,node3\n", 0, tokenless),
			       "source node2 has no tokens"));
	assert_int_equal(plan_build(&p, tokenless, 3, NULL, NULL, 0), 0);
	plan_free(p);
	/* a node that did not finish: refused, or left out with allow_incomplete */
	memcpy(unfinished, SRC, sizeof(unfinished));
	unfinished[2].finished = 0;
	assert_non_null(strstr(plan_error(NULL, 0, unfinished), "node3 did not finish"));
	assert_int_equal(plan_build(&p, unfinished, 3, "True,a,node1\nFalse,b,node2\nFalse,c,node3\n",
				    "hosts.txt", 1), 0);
	assert_int_equal(p->n, 2);
	plan_free(p);
	assert_int_equal(plan_build(&p, unfinished, 3, NULL, NULL, 1), 0);
	assert_int_equal(p->n, 2);
	assert_string_equal(p->entries[1].target, "node2");
	plan_free(p);
	/* nothing finished: never a "successful" restore of nothing */
	unfinished[0].finished = unfinished[1].finished = 0;
	assert_non_null(strstr(plan_error(NULL, 1, unfinished), "nothing to restore"));
}

static void test_cluster_marker(void **state)
{
	char *name = NULL, *text = NULL;
	size_t n = 0;
	uint64_t fp = 0;
	struct catalog_node nodes[3];
	struct catalog_cluster cl;
	struct catalog_backup b;
	size_t expected;

	(void)state;
	assert_int_equal(meta_cluster_marker(&name, &text,
		"{\"n3\":{\"tokens\":[]},\"n1\":{\"tokens\":[]},\"n2\":{\"tokens\":[]}}"), 0);
	assert_string_equal(text, "n1\nn2\nn3\n");
	/* FNV-1a 64 of "n1\nn2\nn3\n", computed independently */
	assert_string_equal(name, "cluster_3_a908acee0aa276a7");
	assert_int_equal(layout_parse_cluster(name, &n, &fp), 0);
	assert_int_equal(n, 3);
	assert_true(fp == 0xa908acee0aa276a7ull);
	assert_int_equal(layout_parse_cluster("cluster_3_A908ACEE0AA276A7", &n, &fp), CST_EINVALID);
	assert_int_equal(layout_parse_cluster("cluster_0_a908acee0aa276a7", &n, &fp), CST_EINVALID);
	assert_int_equal(layout_parse_cluster("cluster_3_a908acee0aa276a", &n, &fp), CST_EINVALID);
	free(name);
	free(text);
	assert_int_equal(meta_cluster_marker(&name, &text, "[]"), CST_EINVALID);
	assert_null(name);
	assert_null(text);

	/* complete only when the finished nodes are exactly the marker's */
	memset(nodes, 0, sizeof(nodes));
	nodes[0].fqdn = "n2";
	nodes[1].fqdn = "n1";
	nodes[2].fqdn = "n3";
	nodes[0].finished = nodes[1].finished = 100;
	cl.n_nodes = 3;
	cl.fingerprint = 0xa908acee0aa276a7ull;
	memset(&b, 0, sizeof(b));
	b.nodes = nodes;
	b.n_nodes = 3;
	b.clusters = &cl;
	b.n_clusters = 1;
	assert_false(catalog_cluster_complete(&b, &expected));
	assert_int_equal(expected, 3);
	nodes[2].finished = 101;
	assert_true(catalog_cluster_complete(&b, &expected));
	b.n_nodes = 2;		/* n3 never started at all */
	assert_false(catalog_cluster_complete(&b, &expected));
	b.n_clusters = 0;	/* no marker: every listed node finished */
	assert_true(catalog_cluster_complete(&b, &expected));
	assert_int_equal(expected, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_default_ssh),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_plan_host_list),
		cmocka_unit_test(test_plan_refusals),
		cmocka_unit_test(test_cluster_marker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
