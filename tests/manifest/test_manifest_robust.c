/* manifest: damaged and hostile documents, and scale. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "test_manifest.h"
#include "util.h"

#define HEX32 "0123456789abcdef0123456789abcdef"
#define HEX64 HEX32 HEX32
#define PRE "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":["
#define POST "]}]"
#define OBJ(fields) PRE "{\"path\":\"p\"," fields "}" POST
#define SRC ",\"source_MD5\":\"" HEX32 "\",\"source_size\":1"

struct bad_case {
	const char *json;
	const char *where;
};

static const struct bad_case bad_cases[] = {
	{ "", "JSON error at line 1" },
	{ "   \n", "JSON error at line 2" },
	{ "{}", "top level must be an array" },
	{ "\"text\"", "JSON error" },
	{ "[1]", "table 1: must be a JSON object" },
	{ "[{\"columnfamily\":\"t\",\"objects\":[]}]", "table 1: \"keyspace\"" },
	{ "[{\"keyspace\":\"\",\"columnfamily\":\"t\",\"objects\":[]}]", "table 1: \"keyspace\"" },
	{ "[{\"keyspace\":5,\"columnfamily\":\"t\",\"objects\":[]}]", "table 1: \"keyspace\"" },
	{ "[{\"keyspace\":\"k\",\"objects\":[]}]", "table 1: \"columnfamily\"" },
	{ "[{\"keyspace\":\"k\",\"columnfamily\":null,\"objects\":[]}]", "table 1: \"columnfamily\"" },
	{ "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":{}}]", "table 1 (k.t): \"objects\"" },
	{ "[{\"keyspace\":\"k\",\"columnfamily\":\"t\"}]", "table 1 (k.t): \"objects\"" },
	{ PRE "[]" POST, "table 1 (k.t) object 1: must be a JSON object" },
	{ PRE "{\"path\":5,\"MD5\":\"" HEX32 "\",\"size\":1}" POST, "object 1: \"path\"" },
	{ PRE "{\"path\":\"\",\"MD5\":\"" HEX32 "\",\"size\":1}" POST, "object 1: \"path\"" },
	{ PRE "{\"MD5\":\"" HEX32 "\",\"size\":1}" POST, "object 1: \"path\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":-1"), "object 1: \"size\" must be a non-negative integer" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1.5"), "object 1: \"size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1e3"), "object 1: \"size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":\"12\""), "object 1: \"size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":null"), "object 1: \"size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":true"), "object 1: \"size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\""), "object 1: \"size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":99999999999999999999"), "JSON error at line 1" },
	{ OBJ("\"MD5\":\"0123456789abcdef0123456789abcde\",\"size\":1"), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "0\",\"size\":1"), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\",\"size\":1"), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\",\"size\":1" SRC), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "-123456\",\"size\":1" SRC), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "-\",\"size\":1" SRC), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 HEX32 "-1\",\"size\":1" SRC), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":12,\"size\":1"), "object 1: \"MD5\"" },
	{ OBJ("\"size\":1"), "object 1: \"MD5\"" },
	/* an ETag without source_* is Medusa's plaintext: never with a salt, parts >= 1 */
	{ OBJ("\"MD5\":\"" HEX32 "-3\",\"size\":1,\"salt\":\"" HEX64 "\",\"key_id\":\"" "0123456789abcdef\""),
	  "object 1: an encrypted object needs \"source_MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "-0\",\"size\":1"), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "-00\",\"size\":1"), "object 1: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "-3\",\"size\":1,\"source_MD5\":null"), "together" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1,\"source_MD5\":\"" HEX32 "\""), "together" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1,\"source_size\":1"), "together" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1,\"source_MD5\":\"abc\",\"source_size\":1"),
	  "object 1: \"source_MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1,\"source_MD5\":\"" HEX32 "-2\",\"source_size\":1"),
	  "object 1: \"source_MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1,\"source_MD5\":\"" HEX32 "\",\"source_size\":-5"),
	  "object 1: \"source_size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1,\"source_MD5\":\"" HEX32 "\",\"source_size\":2.0"),
	  "object 1: \"source_size\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":\"" HEX32
	      "0123456789abcdef0123456789abcde\""), "object 1: \"salt\" must be 64 hex" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":\"" HEX64 "0\""), "object 1: \"salt\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":\"\""), "object 1: \"salt\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":\"" HEX32
	      "0123456789abcdef0123456789abcdeg\""), "object 1: \"salt\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":null"), "object 1: \"salt\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":\"" HEX64 "\""), "given together" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"key_id\":\"0123456789abcdef\""),
	  "given together" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1" SRC ",\"salt\":\"" HEX64 "\",\"key_id\":\"0123\""),
	  "object 1: \"key_id\" must be 16 hex" },
	/* the position counts tables and objects from 1 */
	{ "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":[]},{\"keyspace\":\"k2\","
	  "\"columnfamily\":\"t2\",\"objects\":[{\"path\":\"a\",\"MD5\":\"" HEX32 "\",\"size\":1},"
	  "{\"path\":\"b\",\"MD5\":\"" HEX32 "\",\"size\":1},{\"path\":\"c\",\"size\":1}]}]",
	  "table 2 (k2.t2) object 3: \"MD5\"" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1") "x", "JSON error" },
	{ OBJ("\"MD5\":\"" HEX32 "\",\"size\":1") "[]", "JSON error" },
	{ "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":[{\"path\":\"p\",\"MD5\":",
	  "JSON error" },
	{ "[{\"keyspace\":\"k\xc3\",\"columnfamily\":\"t\",\"objects\":[]}]", "JSON error" },
	{ "[{\"keyspace\":\"k\",\"columnfamily\":\"t\",\"objects\":[],}]", "JSON error" },
};

void test_malformed(void **state)
{
	const char *ok = OBJ("\"MD5\":\"" HEX32 "\",\"size\":1");
	struct manifest *m = NULL;
	size_t i;

	(void)state;
	/* the shared frame is valid, so each rejection is the case's own fault */
	assert_int_equal(manifest_parse(&m, ok, strlen(ok), TM_ORIGIN), 0);
	manifest_free(m);
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		tm_assert_rejected(bad_cases[i].json, strlen(bad_cases[i].json), bad_cases[i].where);
	/* no origin: still a message, never a crash */
	cst_error_clear();
	assert_int_equal(manifest_parse(&m, "{}", 2, NULL), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "manifest: "));
	assert_int_equal(manifest_parse(&m, NULL, 5, TM_ORIGIN), CST_EINVALID);
	assert_int_equal(manifest_parse(NULL, "[]", 2, TM_ORIGIN), CST_EINVALID);
	/* len is honoured: the text after it is not read */
	assert_int_equal(manifest_parse(&m, "[]garbage", 2, TM_ORIGIN), 0);
	manifest_free(m);
}

void test_nul_in_string(void **state)
{
	const char raw[] = PRE "{\"path\":\"a\0b\",\"MD5\":\"" HEX32 "\",\"size\":1}" POST;
	const char *md5 = OBJ("\"MD5\":\"" HEX32 "\\u0000zz\",\"size\":1");
	const char *ks = "[{\"keyspace\":\"k\\u0000\",\"columnfamily\":\"t\",\"objects\":[]}]";
	char *doc;

	(void)state;
	doc = cst_sprintf(PRE "{\"path\":\"a\\u0000b\",\"MD5\":\"%s\",\"size\":1}" POST, HEX32);
	assert_non_null(doc);
	tm_assert_rejected(doc, strlen(doc), "line 1");
	free(doc);
	tm_assert_rejected(raw, sizeof(raw) - 1, "JSON error");
	tm_assert_rejected(md5, strlen(md5), "JSON error");
	tm_assert_rejected(ks, strlen(ks), "JSON error");
	/* a C caller passing sizeof() includes the terminator */
	tm_assert_rejected("[]", 3, "JSON error");
}

static char *repeat(const char *a, size_t na, const char *b, size_t nb)
{
	char *s = malloc(na + nb + 1);
	size_t i;

	assert_non_null(s);
	for (i = 0; i < na; i++)
		s[i] = a[0];
	for (i = 0; i < nb; i++)
		s[na + i] = b[0];
	s[na + nb] = '\0';
	return s;
}

void test_deep_nesting(void **state)
{
	char *open = repeat("[", 10000, "", 0);
	char *closed = repeat("[", 10000, "]", 10000);
	char *inner;

	(void)state;
	tm_assert_rejected(open, strlen(open), "JSON error");
	tm_assert_rejected(closed, strlen(closed), "JSON error");
	tm_assert_rejected(closed + 9998, 4, "table 1: must be a JSON object");
	inner = cst_sprintf(PRE "{\"path\":\"p\",\"MD5\":\"%s\",\"size\":1,\"x\":%s}" POST, HEX32,
			    closed);
	assert_non_null(inner);
	tm_assert_rejected(inner, strlen(inner), "JSON error");
	free(inner);
	free(open);
	free(closed);
}

static void assert_one_printable_line(const char *msg, size_t max)
{
	const char *p;

	for (p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("control byte 0x%02x in \"%s\"", (unsigned char)*p, msg);
	}
	if (strlen(msg) > max)
		fail_msg("message of %zu bytes", strlen(msg));
}

void test_hostile_names_one_line(void **state)
{
	const char *ctl = "[{\"keyspace\":\"k\\nx\\u001b[31m\",\"columnfamily\":\"t\\r\","
			  "\"objects\":[{\"path\":\"p\"}]}]";
	char *longname, *doc;

	(void)state;
	tm_assert_rejected(ctl, strlen(ctl), "table 1 (k?x?[31m.t?) object 1: \"MD5\"");
	assert_one_printable_line(cst_error_msg(), 400);
	longname = repeat("a", 10000, "", 0);
	doc = cst_sprintf("[{\"keyspace\":\"%s\",\"columnfamily\":\"%s\",\"objects\":[1]}]",
			  longname, longname);
	assert_non_null(doc);
	tm_assert_rejected(doc, strlen(doc), "...) object 1: must be a JSON object");
	assert_one_printable_line(cst_error_msg(), 400);
	free(doc);
	/* jansson quotes the offending token; a raw control byte must not pass */
	tm_assert_rejected("[\x1b[2J\x07]", 7, "JSON error");
	assert_one_printable_line(cst_error_msg(), 400);
	tm_assert_rejected("[\"\x01\"]", 5, "JSON error");
	assert_one_printable_line(cst_error_msg(), 400);
	free(longname);
}

/* Parse exactly `len` bytes from a heap copy, so ASan sees any over-read. */
static int parse_exact(const char *src, size_t len, struct manifest **m)
{
	char *buf = malloc(len ? len : 1);
	int r;

	assert_non_null(buf);
	memcpy(buf, src, len);
	r = manifest_parse(m, buf, len, TM_ORIGIN);
	free(buf);
	return r;
}

/* Accepted means it round-trips; rejected means EINVALID and a proper message. */
static int check_outcome(int r, struct manifest *m)
{
	struct manifest *again = NULL;
	char *s;
	size_t n;

	if (r != 0) {
		assert_int_equal(r, CST_EINVALID);
		assert_null(m);
		assert_ptr_equal(strstr(cst_error_msg(), TM_ORIGIN ": "), cst_error_msg());
		assert_one_printable_line(cst_error_msg(), 1024);
		return 0;
	}
	s = tm_dump(m, &n);
	assert_int_equal(manifest_parse(&again, s, n, TM_ORIGIN), 0);
	tm_assert_equal(m, again);
	manifest_free(again);
	manifest_free(m);
	free(s);
	return 1;
}

void test_truncations(void **state)
{
	struct manifest *full = tm_sample(), *m = NULL;
	size_t n, len, accepted = 0;
	char *s;
	int r;

	(void)state;
	s = tm_dump(full, &n);
	assert_true(n > 500);
	for (len = 0; len < n; len++) {
		m = NULL;
		r = parse_exact(s, len, &m);
		accepted += check_outcome(r, m);
	}
	/* every strict prefix of an array lacks its closing ']' */
	assert_int_equal(accepted, 0);
	m = NULL;
	r = parse_exact(s, n, &m);
	assert_int_equal(check_outcome(r, m), 1);
	free(s);
	manifest_free(full);
}

static uint32_t rnd(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

void test_mutations(void **state)
{
	static const char interesting[] = "[]{}\",:\\0123456789-.eEaAfFzZ \n\x7f\x80\xff";
	struct manifest *full = tm_sample(), *m;
	size_t n, i, accepted = 0;
	uint32_t seed = 0x9e3779b9u;
	char *s, *buf;
	int r;

	(void)state;
	s = tm_dump(full, &n);
	buf = malloc(n);
	assert_non_null(buf);
	for (i = 0; i < 2000; i++) {
		size_t pos = rnd(&seed) % n;
		uint32_t pick = rnd(&seed);

		memcpy(buf, s, n);
		if (pick & 1)
			buf[pos] = interesting[(pick >> 1) % (sizeof(interesting) - 1)];
		else
			buf[pos] = (char)(pick >> 8);
		m = NULL;
		cst_error_clear();
		r = parse_exact(buf, n, &m);
		accepted += check_outcome(r, m);
	}
	print_message("mutations: %zu accepted, %zu rejected\n", accepted, 2000 - accepted);
	/* both paths were exercised */
	assert_true(accepted > 0);
	assert_true(accepted < 2000);
	free(buf);
	free(s);
	manifest_free(full);
}

#define SCALE_N 100000

void test_scale(void **state)
{
	const struct manifest_table *t;
	struct manifest *m = NULL, *p = NULL;
	struct manifest_object o;
	uint64_t want = 0;
	char path[128];
	clock_t c0, c1, c2, c3;
	size_t n, i;
	char *s;

	(void)state;
	assert_int_equal(manifest_new(&m), 0);
	c0 = clock();
	for (i = 0; i < SCALE_N; i++) {
		snprintf(path, sizeof(path), "n1/data/ks/big-%s/nb-%zu-big-Data.db", HEX32, i);
		tm_object(&o, path, (unsigned)i, i % 2);
		want += o.source_size;
		assert_int_equal(manifest_add(m, "ks", "big-" HEX32, &o), 0);
	}
	c1 = clock();
	s = tm_dump(m, &n);
	c2 = clock();
	assert_int_equal(manifest_parse(&p, s, n, TM_ORIGIN), 0);
	c3 = clock();
	print_message("scale: add %.3fs dump %.3fs (%zu bytes) parse %.3fs\n",
		      (double)(c1 - c0) / CLOCKS_PER_SEC, (double)(c2 - c1) / CLOCKS_PER_SEC, n,
		      (double)(c3 - c2) / CLOCKS_PER_SEC);
	assert_int_equal(manifest_table_count(p), 1);
	assert_int_equal(manifest_object_count(p), SCALE_N);
	assert_int_equal(manifest_source_bytes(p), want);
	assert_int_equal(manifest_source_bytes(m), want);
	t = manifest_table_at(p, 0);
	assert_int_equal(t->n_objects, SCALE_N);
	assert_string_equal(t->objects[0].path, "n1/data/ks/big-" HEX32 "/nb-0-big-Data.db");
	assert_string_equal(t->objects[SCALE_N - 1].path,
			    "n1/data/ks/big-" HEX32 "/nb-99999-big-Data.db");
	tm_object(&o, "x", 77777, 1);
	assert_string_equal(t->objects[77777].md5, o.md5);
	assert_string_equal(t->objects[77777].salt, o.salt);
	assert_int_equal(t->objects[77777].size, o.size);
	assert_string_equal(t->objects[77776].salt, "");
	tm_assert_equal(m, p);
	free(s);
	manifest_free(m);
	manifest_free(p);
}

#define MANY_TABLES 5000

void test_many_tables(void **state)
{
	const struct manifest_table *t;
	struct manifest *m = NULL, *p = NULL;
	struct manifest_object o;
	char ks[32], cf[32], path[64];
	size_t i, round, n;
	char *s;

	(void)state;
	assert_int_equal(manifest_new(&m), 0);
	/* interleaved, so every add after the first round finds an older table */
	for (round = 0; round < 3; round++) {
		for (i = 0; i < MANY_TABLES; i++) {
			snprintf(ks, sizeof(ks), "ks%zu", i % 7);
			snprintf(cf, sizeof(cf), "t%zu", i);
			snprintf(path, sizeof(path), "%zu/%zu", i, round);
			tm_object(&o, path, (unsigned)(i + round), 0);
			assert_int_equal(manifest_add(m, ks, cf, &o), 0);
		}
	}
	assert_int_equal(manifest_table_count(m), MANY_TABLES);
	assert_int_equal(manifest_object_count(m), 3 * MANY_TABLES);
	for (i = 0; i < MANY_TABLES; i++) {
		t = manifest_table_at(m, i);
		snprintf(ks, sizeof(ks), "ks%zu", i % 7);
		snprintf(cf, sizeof(cf), "t%zu", i);
		assert_string_equal(t->keyspace, ks);
		assert_string_equal(t->columnfamily, cf);
		assert_int_equal(t->n_objects, 3);
		for (round = 0; round < 3; round++) {
			snprintf(path, sizeof(path), "%zu/%zu", i, round);
			assert_string_equal(t->objects[round].path, path);
		}
	}
	s = tm_dump(m, &n);
	assert_int_equal(manifest_parse(&p, s, n, TM_ORIGIN), 0);
	tm_assert_equal(m, p);
	free(s);
	manifest_free(m);
	manifest_free(p);
}
