/*
 * topology: nodetool ring and status as real clusters printed them (the
 * samples in ../shared/fixtures/nodetool/, read in place; the tests that need
 * them skip with a message when CASSETTE_SHARED is not set or lacks them),
 * hand-made lines for what no sample shows (joining and '?' nodes, long
 * racks, IPv6, other partitioners, broken lines), the fake nodetool's
 * output, names and tokenmap.json.
 */
#define _GNU_SOURCE
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "scratch.h"
#include "topology.h"
#include "util.h"

/* ---- helpers ------------------------------------------------------------ */

/* A sample's text (caller frees), or skip() the test with a message. */
static char *fixture(const char *name)
{
	const char *shared = getenv("CASSETTE_SHARED");
	char *path, *text = NULL;

	if (shared == NULL || shared[0] == '\0') {
		printf("# skipped: CASSETTE_SHARED is not set (the nodetool samples are in "
		       "../shared/fixtures/nodetool)\n");
		skip();
	}
	path = cst_sprintf("%s/fixtures/nodetool/%s", shared, name);
	assert_non_null(path);
	if (cst_read_file(&text, NULL, path, 1 << 20) != 0) {
		printf("# skipped: %s: %s\n", path, cst_error_msg());
		free(path);
		skip();
	}
	free(path);
	return text;
}

static struct topology *parse_ok(const char *ring, const char *status)
{
	struct topology *t = NULL;
	int rc = topology_parse(&t, ring, status);

	if (rc != 0)
		fail_msg("topology_parse: %s", cst_error_msg());
	assert_non_null(t);
	return t;
}

/* topology_parse fails with `code` and a message containing `want`. */
static void parse_fails(const char *ring, const char *status, int code, const char *want)
{
	struct topology *t = NULL;
	int rc = topology_parse(&t, ring, status);

	assert_null(t);
	if (rc != code || strstr(cst_error_msg(), want) == NULL)
		fail_msg("expected %d with '%s', got %d: '%s'", code, want, rc, cst_error_msg());
}

static const struct topo_node *node(const struct topology *t, const char *address)
{
	size_t i;

	for (i = 0; i < t->n_nodes; i++)
		if (strcmp(t->nodes[i].address, address) == 0)
			return &t->nodes[i];
	fail_msg("no node %s", address);
	return NULL;
}

static void assert_sorted(const struct topo_node *n)
{
	size_t i;

	assert_non_null(n->tokens);
	for (i = 1; i < n->n_tokens; i++)
		assert_true(n->tokens[i - 1] < n->tokens[i]);
}

static size_t total_tokens(const struct topology *t)
{
	size_t i, sum = 0;

	for (i = 0; i < t->n_nodes; i++)
		sum += t->nodes[i].n_tokens;
	return sum;
}

static char *tokenmap(const struct topology *t)
{
	char *json = NULL;

	if (topology_tokenmap_json(&json, t) != 0)
		fail_msg("topology_tokenmap_json: %s", cst_error_msg());
	return json;
}

/* ---- real samples: ring and status of one cluster ------------------------ */

/* 4.0.3, `nodetool -pp ring` and `-pp status`: two nodes on one IP, by port. */
static void test_4_0_pp_pair(void **state)
{
	char *ring = fixture("4.0-ring-zyake-pp.txt"), *status = fixture("4.0-status-zyake-pp.txt");
	struct topology *t = parse_ok(ring, status);
	const struct topo_node *a = node(t, "127.0.0.1:7000"), *b = node(t, "127.0.0.1:8000");
	char *json;

	(void)state;
	assert_int_equal(t->n_nodes, 2);
	assert_string_equal(a->dc, "datacenter1");
	assert_string_equal(a->rack, "rack1");
	assert_string_equal(b->rack, "rack1");
	/* status's Tokens column (16) agrees with the ring's rows */
	assert_int_equal(a->n_tokens, 16);
	assert_int_equal(b->n_tokens, 16);
	assert_sorted(a);
	assert_sorted(b);
	assert_true(a->tokens[0] == -8782219492892387546LL);	/* the first row */
	assert_true(b->tokens[0] == -8183755801935648719LL);
	assert_true(b->tokens[15] == 9004567555828459807LL);	/* the wrap-around line's */
	assert_true(a->tokens[15] == 8045501285120120772LL);
	assert_string_equal(a->host_id, "9147128a-dd9e-4909-966d-f849e6ce2206");
	assert_string_equal(b->host_id, "373bdbea-ec2b-4647-aedb-6e31adda7732");
	assert_int_equal(a->up, 1);
	assert_int_equal(a->state, 'N');
	/* named by address as nodetool printed it, port included */
	json = tokenmap(t);
	assert_non_null(strstr(json, "{\"127.0.0.1:7000\":{\"tokens\":[-8782219492892387546,"
				     "-7804074040376273470,"));
	assert_non_null(strstr(json, ",8607244703479747016,9004567555828459807],\"is_up\":true,"
				     "\"rack\":\"rack1\",\"dc\":\"datacenter1\"}}"));
	assert_non_null(topology_find(t, "127.0.0.1:8000"));
	free(json);
	topology_free(t);
	free(ring);
	free(status);
}

/* The same ring with another cluster's status: they must not be merged. */
static void test_ring_and_status_disagree(void **state)
{
	char *ring = fixture("4.0-ring-zyake-pp.txt");
	char *status = fixture("3.11-status-pdesai5839-cassandra_cluster.txt");
	char *five = fixture("5.0-status-crystalloide-tp00-TP01d-down.txt");
	char *ring5 = fixture("5.0-ring-crystalloide-tp00-TP05-vnodes.txt");

	(void)state;
	parse_fails(ring, status, CST_EINVALID,
		    "nodetool ring and nodetool status disagree: status lists 172.17.0.3, the ring does not");
	/* 5.0 ring of .151/.152 (Rack1, Rack2), status of the later 4-node cluster */
	parse_fails(ring5, five, CST_EINVALID, "disagree: status lists 192.168.100.154");
	free(ring);
	free(status);
	free(five);
	free(ring5);
}

/* ---- real samples: ring alone -------------------------------------------- */

/* 3.6-3.11, complete: 6 nodes x 256 vnodes, 3 racks, comma decimals, the vnode
 * warning and the final "\n  " tail. */
static void test_3x_ring_vnodes_racks(void **state)
{
	char *ring = fixture("3.x-ring-cstar-vnodes-racks.txt");
	struct topology *t = parse_ok(ring, NULL);
	const struct topo_node *n1 = node(t, "127.0.0.1"), *n6 = node(t, "127.0.0.6");
	size_t i;

	(void)state;
	assert_int_equal(t->n_nodes, 6);
	assert_int_equal(total_tokens(t), 6 * 256);
	for (i = 0; i < t->n_nodes; i++) {
		assert_int_equal(t->nodes[i].n_tokens, 256);
		assert_sorted(&t->nodes[i]);
		assert_string_equal(t->nodes[i].dc, "dc1");
		assert_null(t->nodes[i].host_id);
		assert_int_equal(t->nodes[i].up, 1);
	}
	assert_string_equal(n1->rack, "rack1");
	assert_string_equal(node(t, "127.0.0.3")->rack, "rack2");
	assert_string_equal(node(t, "127.0.0.4")->rack, "rack2");
	assert_string_equal(n6->rack, "rack3");
	assert_true(n1->tokens[0] == -9220405148763025228LL);
	assert_true(n1->tokens[255] == 9160353659556275854LL);	/* the wrap-around token */
	assert_true(n6->tokens[0] == -9218877016184579374LL);
	assert_true(node(t, "127.0.0.2")->tokens[255] == 9160073937338790296LL);
	/* nodes in order of first appearance */
	assert_string_equal(t->nodes[0].address, "127.0.0.1");
	assert_string_equal(t->nodes[1].address, "127.0.0.6");
	topology_free(t);
	free(ring);
}

/* 3.11, one token per node, a Down node, comma decimals, the last line cut
 * (no trailing blank line, no tail, no final newline). */
static void test_3_11_ring_single_token_down(void **state)
{
	char *ring = fixture("3.11-ring-cstar-singletoken-down.txt");
	struct topology *t = parse_ok(ring, NULL);
	char *json;

	(void)state;
	assert_int_equal(t->n_nodes, 3);
	assert_int_equal(node(t, "127.0.0.1")->n_tokens, 1);
	assert_true(node(t, "127.0.0.1")->tokens[0] == INT64_MIN);
	assert_true(node(t, "127.0.0.2")->tokens[0] == -3074457345618258603LL);
	assert_true(node(t, "127.0.0.3")->tokens[0] == 3074457345618258602LL);
	assert_int_equal(node(t, "127.0.0.1")->up, 1);
	assert_int_equal(node(t, "127.0.0.3")->up, 0);
	json = tokenmap(t);
	assert_string_equal(json,
		"{\"127.0.0.1\":{\"tokens\":[-9223372036854775808],\"is_up\":true,\"rack\":\"rack1\","
		"\"dc\":\"datacenter1\"},"
		"\"127.0.0.2\":{\"tokens\":[-3074457345618258603],\"is_up\":true,\"rack\":\"rack1\","
		"\"dc\":\"datacenter1\"},"
		"\"127.0.0.3\":{\"tokens\":[3074457345618258602],\"is_up\":false,\"rack\":\"rack1\","
		"\"dc\":\"datacenter1\"}}");
	free(json);
	topology_free(t);
	free(ring);
}

/* 5.0.6: the port-inclusive address width, no padding, no tail. */
static void test_5_0_ring_vnodes(void **state)
{
	char *ring = fixture("5.0-ring-crystalloide-tp00-TP05-vnodes.txt");
	struct topology *t = parse_ok(ring, NULL);
	const struct topo_node *a = node(t, "192.168.100.151"), *b = node(t, "192.168.100.152");

	(void)state;
	assert_int_equal(t->n_nodes, 2);
	assert_string_equal(t->nodes[0].address, "192.168.100.152");	/* the first row */
	assert_string_equal(a->rack, "Rack1");
	assert_string_equal(b->rack, "Rack2");
	assert_int_equal(a->n_tokens, 16);
	assert_int_equal(b->n_tokens, 16);
	assert_true(b->tokens[0] == -8872101526672461030LL);
	assert_true(a->tokens[0] == -8418581942234628294LL);
	assert_true(a->tokens[15] == 8956661515134890508LL);
	assert_true(b->tokens[15] == 8316221955893437552LL);
	topology_free(t);
	free(ring);
}

/* 4.1.3, edited by its author: a "...." line stands for the cut rows. */
static void test_4_1_ring_partial(void **state)
{
	char *ring = fixture("4.1-ring-crystalloide-gitpod-axonops-PARTIAL.txt");

	(void)state;
	parse_fails(ring, NULL, CST_EINVALID, "nodetool ring: line 7 is not understood: '....'");
	free(ring);
}

/* ---- real samples: status alone ----------------------------------------- */

/* 3.11.16: the 3.x fixed widths, rows not sorted. */
static void test_3_11_status(void **state)
{
	char *status = fixture("3.11-status-pdesai5839-cassandra_cluster.txt");
	struct topology *t = parse_ok(NULL, status);

	(void)state;
	assert_int_equal(t->n_nodes, 3);
	assert_string_equal(t->nodes[0].address, "172.17.0.3");
	assert_string_equal(t->nodes[1].address, "172.17.0.2");
	assert_string_equal(t->nodes[2].address, "172.17.0.4");
	assert_int_equal(t->nodes[1].n_tokens, 256);
	assert_null(t->nodes[1].tokens);	/* status gives the count, not the tokens */
	assert_string_equal(t->nodes[1].host_id, "da66c9b9-b30d-48b9-b87b-63382a036dcd");
	assert_string_equal(t->nodes[2].rack, "rack1");
	assert_string_equal(t->nodes[2].dc, "datacenter1");
	assert_int_equal(t->nodes[2].up, 1);
	assert_int_equal(t->nodes[2].state, 'N');
	topology_free(t);
	free(status);
}

/* 3.x: two data centers with no blank line between, 10-character loads
 * overflowing the 9-wide column. */
static void test_3x_status_multidc_overflow(void **state)
{
	char *status = fixture("3.x-status-k8ssandra-operator-docs-multidc.txt");
	struct topology *t = parse_ok(NULL, status);
	size_t i;

	(void)state;
	assert_int_equal(t->n_nodes, 6);
	for (i = 0; i < 6; i++) {
		assert_string_equal(t->nodes[i].dc, i < 3 ? "dc1" : "dc2");
		assert_string_equal(t->nodes[i].rack, "default");
		assert_int_equal(t->nodes[i].n_tokens, 256);
	}
	assert_string_equal(t->nodes[0].address, "172.18.0.10");
	assert_string_equal(t->nodes[0].host_id, "9e3e48ee-529e-4b2a-9bf2-39575d32f578");
	assert_string_equal(t->nodes[3].address, "172.18.0.16");
	assert_string_equal(t->nodes[5].host_id, "3efa6a2f-47d1-49e3-ba93-0a58870e7c0f");
	topology_free(t);
	free(status);
}

/* 4.1.3: two data centers sharing column widths, the Rack column padded. */
static void test_4_1_status_multidc(void **state)
{
	char *status = fixture("4.1-status-crystalloide-Cassandra-multidc.txt");
	struct topology *t = parse_ok(NULL, status);

	(void)state;
	assert_int_equal(t->n_nodes, 4);
	assert_string_equal(node(t, "172.18.0.3")->dc, "Nord");
	assert_string_equal(node(t, "172.18.0.3")->rack, "Winterfell");
	assert_string_equal(node(t, "172.18.0.4")->dc, "Terres-de-la-Couronne");
	assert_string_equal(node(t, "172.18.0.5")->rack, "Port-Real");	/* "Port-Real " */
	assert_int_equal(node(t, "172.18.0.5")->n_tokens, 16);
	assert_string_equal(node(t, "172.18.0.2")->host_id, "4742bcf7-15eb-4229-a6e4-b97ad18201b4");
	topology_free(t);
	free(status);
}

/* 5.0.6: a DN node, four racks, rows not sorted. */
static void test_5_0_status_down(void **state)
{
	char *status = fixture("5.0-status-crystalloide-tp00-TP01d-down.txt");
	struct topology *t = parse_ok(NULL, status);
	const struct topo_node *down = node(t, "192.168.100.151");

	(void)state;
	assert_int_equal(t->n_nodes, 4);
	assert_string_equal(t->nodes[0].address, "192.168.100.154");
	assert_int_equal(down->up, 0);
	assert_int_equal(down->state, 'N');
	assert_string_equal(down->rack, "Rack1");
	assert_int_equal(node(t, "192.168.100.154")->up, 1);
	assert_string_equal(node(t, "192.168.100.153")->rack, "Rack3");
	assert_string_equal(node(t, "192.168.100.154")->rack, "Rack4");
	topology_free(t);
	free(status);
}

/* 5.0: two data centers, the second one's only node down. */
static void test_5_0_status_multidc_down(void **state)
{
	char *status = fixture("5.0-status-crystalloide-tp00-TP09-multidc-down.txt");
	struct topology *t = parse_ok(NULL, status);
	const struct topo_node *down = node(t, "192.168.100.152");

	(void)state;
	assert_int_equal(t->n_nodes, 3);
	assert_string_equal(down->dc, "Terres-de-la-Couronne");
	assert_string_equal(down->rack, "Port-Real");
	assert_int_equal(down->up, 0);
	assert_string_equal(node(t, "192.168.100.153")->dc, "Nord");
	assert_int_equal(node(t, "192.168.100.153")->up, 1);
	topology_free(t);
	free(status);
}

/* The samples of other commands are not ring or status output. */
static void test_other_commands_refused(void **state)
{
	char *info = fixture("4.1-info-crystalloide-gitpod-axonops.txt");
	char *dc = fixture("3.11-describecluster-cstar.txt");

	(void)state;
	parse_fails(info, NULL, CST_EINVALID, "nodetool ring: no 'Datacenter:' line");
	parse_fails(NULL, dc, CST_EINVALID, "nodetool status: no 'Datacenter:' line");
	free(info);
	free(dc);
}

/* ---- hand-made: what no sample shows ------------------------------------ */

/* 4.1 layout; .3 is joining (no ownership yet), .4 is neither up nor down. */
static const char ring_41[] =
	"\n"
	"Datacenter: dc1\n"
	"==========\n"
	"Address          Rack        Status State   Load            Owns                Token                                       \n"
	"                                                                                300                                         \n"
	"10.0.0.1         r1          Up     Normal  1,5 MiB         50,00%              -300                                        \n"
	"10.0.0.3         r2          Up     Joining 12 bytes        ?                   -100                                        \n"
	"10.0.0.2         r2          Up     Normal  1.48 MiB        50.00%              100                                         \n"
	"10.0.0.4         us-east-1-rack-a?      Normal  ?               ?                   200                                         \n"
	"10.0.0.1         r1          Up     Normal  1,5 MiB         50,00%              300                                         \n"
	"\n"
	"  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n"
	"  To view status related info of a node use \"nodetool status\" instead.\n"
	"\n"
	"\n"
	"  ";
static const char status_41[] =
	"Picked up JAVA_TOOL_OPTIONS: -Dcom.sun.jndi.rmiURLParsing=legacy\n"
	"Datacenter: dc1\n"
	"===============\n"
	"Status=Up/Down\n"
	"|/ State=Normal/Leaving/Joining/Moving\n"
	"--  Address   Load      Tokens  Owns  Host ID                               Rack             \n"
	"UJ  10.0.0.3  12 bytes  1       ?                                           r2               \n"
	"UN  10.0.0.1  1,5 MiB   2       ?     11111111-2222-4333-8444-555555555555  r1               \n"
	"?N  10.0.0.4  ?         1       ?     aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee  us-east-1-rack-a \n"
	"DN  10.0.0.2  1.48 MiB  1       ?     null                                  r2               \n"
	"\n"
	"Note: Non-system keyspaces don't have the same replication settings, effective ownership "
	"information is meaningless\n";

static void test_joining_unknown_long_rack(void **state)
{
	struct topology *t = parse_ok(ring_41, status_41);
	const struct topo_node *j = node(t, "10.0.0.3"), *q = node(t, "10.0.0.4");
	char *json;

	(void)state;
	assert_int_equal(t->n_nodes, 4);
	assert_int_equal(j->state, 'J');
	assert_int_equal(j->up, 1);
	assert_true(j->tokens[0] == -100);
	assert_null(j->host_id);		/* the empty cell of 4.0+ */
	assert_null(node(t, "10.0.0.2")->host_id);	/* 3.x's "null" */
	assert_int_equal(node(t, "10.0.0.2")->up, 0);	/* status wins over the ring */
	assert_int_equal(q->up, -1);
	assert_string_equal(q->rack, "us-east-1-rack-a");	/* ran into "?" */
	assert_string_equal(q->host_id, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
	json = tokenmap(t);
	assert_string_equal(json,
		"{\"10.0.0.1\":{\"tokens\":[-300,300],\"is_up\":true,\"rack\":\"r1\",\"dc\":\"dc1\"},"
		"\"10.0.0.2\":{\"tokens\":[100],\"is_up\":false,\"rack\":\"r2\",\"dc\":\"dc1\"},"
		"\"10.0.0.3\":{\"tokens\":[-100],\"is_up\":true,\"rack\":\"r2\",\"dc\":\"dc1\"},"
		"\"10.0.0.4\":{\"tokens\":[200],\"is_up\":null,\"rack\":\"us-east-1-rack-a\",\"dc\":\"dc1\"}}");
	free(json);
	topology_free(t);
}

/* A rack of 12 or more characters runs into the ring's Status word. */
static void test_ring_long_rack(void **state)
{
	const char *ring =
		"Datacenter: eu-central\n"
		"==========\n"
		"Address     Rack        Status State   Load            Owns                Token\n"
		"\n"
		"10.1.0.1    eu-central-1cUp     Normal  2 GiB           100.00%             0\n";
	struct topology *t = parse_ok(ring, NULL);

	(void)state;
	assert_string_equal(t->nodes[0].rack, "eu-central-1c");
	assert_int_equal(t->nodes[0].up, 1);
	assert_int_equal(t->nodes[0].n_tokens, 1);
	topology_free(t);
	/* shorter than 12 it cannot have: "rack1Up" is a rack missing its Status */
	parse_fails("Datacenter: d\n==========\nAddress  Rack  Status State   Load  Owns  Token\n\n"
		    "10.1.0.1  rack1Up     Normal  2 GiB           100.00%             0\n",
		    NULL, CST_EINVALID, "line 5 is not understood: '10.1.0.1  rack1Up");
}

/* -pp with IPv6: "[addr]:port"; status's token-per-node layout (one node of
 * one token: tokens <= data centers). */
static void test_ipv6_and_token_per_node(void **state)
{
	const char *ring =
		"\n"
		"Datacenter: datacenter1\n"
		"==========\n"
		"Address                   Rack        Status State   Load            Owns                Token                                       \n"
		"\n"
		"[0:0:0:0:0:0:0:1]:7000    rack1       Up     Normal  95.4 KiB        100.00%             -4611686018427387904                        \n"
		"\n"
		"\n"
		"  ";
	const char *status =
		"Datacenter: datacenter1\n"
		"=======================\n"
		"Status=Up/Down\n"
		"|/ State=Normal/Leaving/Joining/Moving\n"
		"--  Address                 Load      Owns (effective)  Host ID                               Token                 Rack \n"
		"UN  [0:0:0:0:0:0:0:1]:7000  95.4 KiB  100.0%            6a1b5e3c-8f6d-4e8e-9a7c-0c7f1d2e3a4b  -4611686018427387904  rack1\n"
		"\n";
	struct topology *t = parse_ok(ring, status);

	(void)state;
	assert_int_equal(t->n_nodes, 1);
	assert_string_equal(t->nodes[0].address, "[0:0:0:0:0:0:0:1]:7000");
	assert_true(t->nodes[0].tokens[0] == -4611686018427387904LL);
	assert_string_equal(t->nodes[0].host_id, "6a1b5e3c-8f6d-4e8e-9a7c-0c7f1d2e3a4b");
	topology_free(t);
	/* the status token must be the ring's */
	{
		char *other = strdup(status);
		char *p = strstr(other, "-4611686018427387904");

		p[1] = '5';
		parse_fails(ring, other, CST_EINVALID, "has token -4611686018427387904 in the ring, "
			    "-5611686018427387904 in status");
		free(other);
	}
}

/* Other partitioners' tokens are refused, naming the partitioner. */
static void test_other_partitioners(void **state)
{
	const char *head = "Datacenter: dc1\n==========\n"
			   "Address   Rack   Status State   Load   Owns   Token\n";
	char *text;

	(void)state;
	/* RandomPartitioner: 0 .. 2^127 */
	text = cst_sprintf("%s\n10.0.0.1  rack1  Up  Normal  1 KiB  100%%  "
			   "85070591730234615865843651857942052864\n", head);
	parse_fails(text, NULL, CST_EUNSUPPORTED, "token 85070591730234615865843651857942052864 "
		    "does not fit a signed 64-bit integer (RandomPartitioner?): only "
		    "Murmur3Partitioner is supported");
	free(text);
	/* ByteOrderedPartitioner: hex bytes */
	text = cst_sprintf("%s\n10.0.0.1  rack1  Up  Normal  1 KiB  100%%  6b6579a0\n", head);
	parse_fails(text, NULL, CST_EUNSUPPORTED, "nodetool ring: line 5: token '6b6579a0' is not a "
		    "Murmur3 token (ByteOrderedPartitioner?): only Murmur3Partitioner is supported");
	free(text);
	/* ... on the wrap-around line too */
	text = cst_sprintf("%s  170141183460469231731687303715884105727\n", head);
	parse_fails(text, NULL, CST_EUNSUPPORTED, "line 4: token 170141183460469231731687303715884105727");
	free(text);
	parse_fails(NULL, "Datacenter: d\n=============\n--  Address  Load  Owns  Host ID  Token  Rack\n"
		    "UN  10.0.0.1  1 KiB  100.0%  null  0x1f  r1\n", CST_EUNSUPPORTED, "'0x1f'");
}

/* Broken input: each error names the command, the line and quotes it. */
static void test_malformed(void **state)
{
	static const char ring_head[] = "Datacenter: dc1\n==========\n"
					"Address   Rack   Status State   Load   Owns   Token\n";
	static const char status_head[] = "Datacenter: dc1\n===============\nStatus=Up/Down\n"
					  "|/ State=Normal/Leaving/Joining/Moving\n"
					  "--  Address   Load  Tokens  Owns  Host ID  Rack\n";
	char *text;

	(void)state;
	parse_fails(NULL, NULL, CST_EINVALID, "neither ring nor status");
	parse_fails("", NULL, CST_EINVALID, "nodetool ring: no 'Datacenter:' line in its 0 lines");
	parse_fails("error: No nodes present in the cluster.\n", NULL, CST_EINVALID,
		    "no 'Datacenter:' line in its 1 line of output");
	parse_fails("Datacenter: dc1\n==========\n", NULL, CST_EINVALID,
		    "nodetool ring: the output ends in the header of data center dc1 (line 2)");
	parse_fails("Datacenter: dc1\nAddress Rack Status\n", NULL, CST_EINVALID,
		    "line 2 is not understood (expected a line of '='): 'Address Rack Status'");
	parse_fails("Datacenter: dc1\n==========\n10.0.0.1  r1  Up  Normal  1 KiB  1%  5\n", NULL,
		    CST_EINVALID, "line 3 is not understood (expected the header");
	parse_fails("Datacenter: dc1\n==========\nAddress  Rack  Token\n\n\n", NULL, CST_EINVALID,
		    "line 5: data center dc1 lists no node");
	/* a row cut short, a Load without its unit, a Status that is no status */
	text = cst_sprintf("%s\n10.0.0.1  r1  Up  Normal\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "nodetool ring: line 5 is not understood: "
		    "'10.0.0.1  r1  Up  Normal'");
	free(text);
	text = cst_sprintf("%s\n10.0.0.1  r1  Up  Normal  1,5  50%%  5\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "line 5 is not understood");
	free(text);
	text = cst_sprintf("%s\n10.0.0.1  r1  Sleeping  Normal  1 KiB  50%%  5\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "line 5 is not understood");
	free(text);
	/* after the table: only blank lines, the vnode warning and notes */
	text = cst_sprintf("%s\n10.0.0.1  r1  Up  Normal  1 KiB  50%%  5\n\nsomething else\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "line 7 is not understood: 'something else'");
	free(text);
	/* a token twice; a node in two racks; a wrong wrap-around token */
	text = cst_sprintf("%s  5\n10.0.0.1  r1  Up  Normal  1 KiB  50%%  5\n"
			   "10.0.0.2  r1  Up  Normal  1 KiB  50%%  5\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "nodetool ring: token 5 is listed twice (10.0.0.1 and 10.0.0.2)");
	free(text);
	text = cst_sprintf("%s  6\n10.0.0.1  r1  Up  Normal  1 KiB  50%%  5\n"
			   "10.0.0.1  r2  Up  Normal  1 KiB  50%%  6\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "line 6: 10.0.0.1 is in data center dc1, rack r1, and in "
		    "data center dc1, rack r2");
	free(text);
	text = cst_sprintf("%s  7\n10.0.0.1  r1  Up  Normal  1 KiB  50%%  5\n"
			   "10.0.0.2  r1  Up  Normal  1 KiB  50%%  6\n", ring_head);
	parse_fails(text, NULL, CST_EINVALID, "line 4: the wrap-around token 7 is not the largest token "
		    "of data center dc1 (6)");
	free(text);
	/* status: a node twice, a bad code, a bad host id, a missing column */
	text = cst_sprintf("%sUN  10.0.0.1  1 KiB  1  ?  r1\nUN  10.0.0.1  1 KiB  1  ?  r1\n", status_head);
	parse_fails(NULL, text, CST_EINVALID, "nodetool status: line 7: 10.0.0.1 is listed twice");
	free(text);
	text = cst_sprintf("%sXN  10.0.0.1  1 KiB  1  ?  r1\n", status_head);
	parse_fails(NULL, text, CST_EINVALID, "nodetool status: line 6 is not understood: 'XN  10.0.0.1");
	free(text);
	text = cst_sprintf("%sUN  10.0.0.1  1 KiB  1  ?  not-a-host-id  r1\n", status_head);
	parse_fails(NULL, text, CST_EINVALID, "line 6 is not understood");
	free(text);
	text = cst_sprintf("%sUN  10.0.0.1  1 KiB  ?  r1\n", status_head);
	parse_fails(NULL, text, CST_EINVALID, "line 6 is not understood");
	free(text);
	/* the ring and status of different token counts */
	text = cst_sprintf("%sUN  10.0.0.1  1 KiB  2  ?  r1\n", status_head);
	parse_fails("Datacenter: dc1\n==========\nAddress  Rack  Token\n\n10.0.0.1  r1  Up  Normal  1 KiB  ?  5\n",
		    text, CST_EINVALID, "disagree: 10.0.0.1 has 1 token in the ring, 2 in status");
	free(text);
	/* a long line is quoted cut, control characters replaced */
	text = cst_sprintf("%s\n10.0.0.1\t\x01%0300d\n", ring_head, 7);
	parse_fails(text, NULL, CST_EINVALID, "line 5 is not understood: '10.0.0.1?\?000");
	assert_non_null(strstr(cst_error_msg(), "000...'"));
	free(text);
}

/* ---- names and tokenmap.json -------------------------------------------- */

static void test_names(void **state)
{
	const char *ring =
		"Datacenter: dc1\n==========\nAddress  Rack  Status State   Load  Owns  Token\n"
		"  30\n"
		"127.0.0.1:7000      r1  Up  Normal  1 KiB  ?  10\n"
		"db2.example:7000    r1  Up  Normal  1 KiB  ?  20\n"
		"127.0.0.1:9000      r1  Up  Normal  1 KiB  ?  30\n";
	struct topology *t = parse_ok(ring, NULL);
	char host[NI_MAXHOST], *unresolved = (char *)"unset", *json = NULL;
	struct sockaddr_in sin;
	int found;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	found = getnameinfo((struct sockaddr *)&sin, sizeof(sin), host, sizeof(host), NULL, 0,
			    NI_NAMEREQD) == 0;
	assert_int_equal(topology_resolve_names(t, &unresolved), 0);
	/* a name nodetool printed (-r) is kept, without its port */
	assert_string_equal(node(t, "db2.example:7000")->name, "db2.example");
	assert_non_null(topology_find(t, "db2.example"));
	assert_null(topology_find(t, "db2.example:7000"));
	if (found) {
		/* two nodes on 127.0.0.1: one name for both is an error naming both */
		printf("# 127.0.0.1 is %s here\n", host);
		assert_null(unresolved);
		assert_string_equal(node(t, "127.0.0.1:7000")->name, host);
		assert_int_equal(topology_tokenmap_json(&json, t), CST_EINVALID);
		assert_null(json);
		assert_non_null(strstr(cst_error_msg(), "are both named"));
		assert_non_null(strstr(cst_error_msg(), "127.0.0.1:7000 and 127.0.0.1:9000"));
	} else {
		/* no name: each keeps its address, and the warning lists them */
		printf("# 127.0.0.1 has no host name here\n");
		assert_string_equal(unresolved, "127.0.0.1:7000, 127.0.0.1:9000");
		assert_string_equal(node(t, "127.0.0.1:7000")->name, "127.0.0.1:7000");
		free(unresolved);
	}
	topology_free(t);
}

/* Status alone has no token values: no tokenmap from it. */
static void test_tokenmap_needs_ring(void **state)
{
	const char *status =
		"Datacenter: dc1\n===============\nStatus=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n"
		"--  Address   Load   Tokens  Owns  Host ID  Rack\nUN  10.0.0.1  1 KiB  16  ?  r1\n\n";
	struct topology *t = parse_ok(NULL, status);
	char *json = NULL;

	(void)state;
	assert_int_equal(t->nodes[0].n_tokens, 16);
	assert_int_equal(topology_tokenmap_json(&json, t), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "no tokens known for 10.0.0.1"));
	topology_free(t);
}

/* ---- the fake nodetool -------------------------------------------------- */

static char *fake(const char *cluster, const char *command, int *status)
{
	char *cmd = cst_sprintf("bash %s/tests/support/fake-nodetool --cluster %s /nonexistent %s 2>&1",
				CASSETTE_SRC, cluster, command);
	char *out = cst_calloc(1, 1 << 20);
	FILE *f;
	size_t n;

	assert_non_null(cmd);
	assert_non_null(out);
	assert_non_null(f = popen(cmd, "r"));
	n = fread(out, 1, (1 << 20) - 1, f);
	out[n] = '\0';
	*status = pclose(f);
	free(cmd);
	return out;
}

static struct topology *fake_cluster(const char *dir, const char *text)
{
	char *path = cst_path_join(dir, "cluster"), *ring, *status;
	struct topology *t;
	int rc1, rc2;

	scratch_write(dir, "cluster", text, strlen(text));
	ring = fake(path, "ring", &rc1);
	status = fake(path, "status", &rc2);
	if (rc1 != 0 || rc2 != 0)
		fail_msg("fake-nodetool failed: %s%s", ring, status);
	t = parse_ok(ring, status);
	free(ring);
	free(status);
	free(path);
	return t;
}

static void test_fake_nodetool(void **state)
{
	char *dir = scratch_new("topology"), *json, *out;
	struct topology *t;
	int rc;

	(void)state;
	t = fake_cluster(dir, "# three nodes, two data centers\n"
			      "10.0.0.1 dc1 r1 up 100,-5,9000000000000000000\n"
			      "10.0.0.2 dc1 r2 down -9223372036854775808,42   # a down node\n"
			      "\n"
			      "10.0.0.3 dc-2 rack-with-a-long-name up 7,-7\n");
	assert_int_equal(t->n_nodes, 3);
	json = tokenmap(t);
	assert_string_equal(json,
		"{\"10.0.0.1\":{\"tokens\":[-5,100,9000000000000000000],\"is_up\":true,\"rack\":\"r1\","
		"\"dc\":\"dc1\"},"
		"\"10.0.0.2\":{\"tokens\":[-9223372036854775808,42],\"is_up\":false,\"rack\":\"r2\","
		"\"dc\":\"dc1\"},"
		"\"10.0.0.3\":{\"tokens\":[-7,7],\"is_up\":true,\"rack\":\"rack-with-a-long-name\","
		"\"dc\":\"dc-2\"}}");
	assert_non_null(node(t, "10.0.0.1")->host_id);
	free(json);
	topology_free(t);
	/* one node of one token: status's token-per-node layout; an IPv6 address */
	t = fake_cluster(dir, "0:0:0:0:0:0:0:1 datacenter1 rack1 up -1\n");
	assert_string_equal(t->nodes[0].address, "0:0:0:0:0:0:0:1");
	assert_true(t->nodes[0].tokens[0] == -1);
	topology_free(t);
	/* 16 vnodes on four nodes with ports in their names */
	{
		char text[4096];
		size_t len = 0;
		int i, j;

		for (i = 0; i < 4; i++) {
			len += (size_t)snprintf(text + len, sizeof(text) - len, "10.9.0.%d:700%d dc%d r%d up ",
						i, i, i % 2, i);
			for (j = 0; j < 16; j++)
				len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%lld", j ? "," : "",
							(long long)(j * 1000000000000000LL + i - 8000000000000000000LL));
			len += (size_t)snprintf(text + len, sizeof(text) - len, "\n");
		}
		t = fake_cluster(dir, text);
		assert_int_equal(t->n_nodes, 4);
		assert_int_equal(node(t, "10.9.0.3:7003")->n_tokens, 16);
		assert_string_equal(node(t, "10.9.0.3:7003")->dc, "dc1");
		assert_true(node(t, "10.9.0.3:7003")->tokens[15] == 15000000000000000LL + 3 - 8000000000000000000LL);
		assert_sorted(node(t, "10.9.0.2:7002"));
		topology_free(t);
	}
	/* without --cluster: exit 1 with a message */
	{
		char *cmd = cst_sprintf("bash %s/tests/support/fake-nodetool /nonexistent ring 2>&1", CASSETTE_SRC);
		FILE *f = popen(cmd, "r");
		char line[256] = "";

		assert_non_null(fgets(line, sizeof(line), f));
		assert_int_equal(WEXITSTATUS(pclose(f)), 1);
		assert_non_null(strstr(line, "ring needs --cluster FILE"));
		free(cmd);
	}
	scratch_write(dir, "bad", "10.0.0.1 dc1 r1 sideways 5\n", 27);
	{
		char *path = cst_path_join(dir, "bad");

		out = fake(path, "status", &rc);
		assert_int_equal(WEXITSTATUS(rc), 1);
		assert_non_null(strstr(out, "'sideways' is not up or down"));
		free(out);
		free(path);
	}
	scratch_remove(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_4_0_pp_pair),
		cmocka_unit_test(test_ring_and_status_disagree),
		cmocka_unit_test(test_3x_ring_vnodes_racks),
		cmocka_unit_test(test_3_11_ring_single_token_down),
		cmocka_unit_test(test_5_0_ring_vnodes),
		cmocka_unit_test(test_4_1_ring_partial),
		cmocka_unit_test(test_3_11_status),
		cmocka_unit_test(test_3x_status_multidc_overflow),
		cmocka_unit_test(test_4_1_status_multidc),
		cmocka_unit_test(test_5_0_status_down),
		cmocka_unit_test(test_5_0_status_multidc_down),
		cmocka_unit_test(test_other_commands_refused),
		cmocka_unit_test(test_joining_unknown_long_rack),
		cmocka_unit_test(test_ring_long_rack),
		cmocka_unit_test(test_ipv6_and_token_per_node),
		cmocka_unit_test(test_other_partitioners),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_tokenmap_needs_ring),
		cmocka_unit_test(test_fake_nodetool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
