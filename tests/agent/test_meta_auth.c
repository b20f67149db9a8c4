/* meta_auth: auth.json written, read back, and every malformed or moved one
 * refused (docs/FORMAT.md, "auth.json"). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "layout.h"
#include "meta_auth.h"
#include "scratch.h"
#include "storage.h"
#include "util.h"

#define FQDN "node1.example"
#define MANIFEST "[]"
#define TOKENMAP "{\"node1.example\":{\"tokens\":[],\"is_up\":true,\"rack\":null,\"dc\":null}}"

struct fixture {
	char *dir;
	struct storage *st;
	struct crypto_key *key, *other;
	char *good;		/* auth.json of backup b1 */
};

static struct crypto_key *key_of(unsigned char first)
{
	unsigned char raw[32];
	struct crypto_key *k = NULL;
	int i;

	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)(first * 7 + i);
	assert_int_equal(crypto_key_from_bytes(&k, raw, sizeof(raw)), 0);
	return k;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct storage_config cfg = { .provider = "local", .create = 1 };
	struct crypto_meta_object o[2];

	f->dir = scratch_new("meta-auth");
	cfg.base_path = f->dir;
	assert_int_equal(storage_open(&f->st, &cfg), 0);
	f->key = key_of(1);
	f->other = key_of(2);
	o[0].name = "tokenmap.json";
	assert_int_equal(crypto_sha256(o[0].sha256, TOKENMAP, strlen(TOKENMAP)), 0);
	o[1].name = "manifest.json";
	assert_int_equal(crypto_sha256(o[1].sha256, MANIFEST, strlen(MANIFEST)), 0);
	assert_int_equal(meta_auth_json(&f->good, f->key, FQDN, "b1", o, 2), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	storage_close(f->st);
	crypto_key_free(f->key);
	crypto_key_free(f->other);
	scratch_remove(f->dir);
	free(f->good);
	free(f);
	return 0;
}

static void put_auth(struct fixture *f, const char *fqdn, const char *backup, const char *text)
{
	char *key = layout_meta_key("", fqdn, backup, META_AUTH_NAME);

	assert_non_null(key);
	assert_int_equal(storage_put_buf(f->st, key, text, strlen(text), 0), 0);
	free(key);
}

/* Load b1 of FQDN under `key`: the code, the message in *msg (a copy). */
static int load(struct fixture *f, const struct crypto_key *key, struct meta_auth **a)
{
	return meta_auth_load(a, f->st, "", FQDN, "b1", meta_auth_one_key, (void *)key);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct meta_auth *a = NULL;

	assert_non_null(strstr(f->good, "{\"version\":1,\"fqdn\":\"node1.example\",\"backup\":\"b1\","
				    "\"alg\":\"HMAC-SHA256\",\"key_id\":\""));
	/* objects sorted by name */
	assert_true(strstr(f->good, "\"manifest.json\"") < strstr(f->good, "\"tokenmap.json\""));
	put_auth(f, FQDN, "b1", f->good);
	assert_int_equal(load(f, f->key, &a), 0);
	assert_int_equal(meta_auth_check_buf(a, "manifest.json", MANIFEST, 2, "m"), 0);
	assert_int_equal(meta_auth_check_buf(a, "tokenmap.json", TOKENMAP, strlen(TOKENMAP), "t"), 0);
	assert_int_equal(meta_auth_check_buf(a, "manifest.json", "[ ]", 3, "the/manifest"), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "the/manifest: authentication failed"));
	assert_int_equal(meta_auth_check_buf(a, "schema.cql", "", 0, "the/schema"), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "lists no schema.cql"));
	/* nothing to check: 0 */
	assert_int_equal(meta_auth_check_buf(NULL, "manifest.json", "x", 1, "m"), 0);
	meta_auth_free(a);
	a = NULL;
	/* another key: wrong key, both ids */
	assert_int_equal(load(f, f->other, &a), CST_EAUTH);
	assert_non_null(strstr(cst_error_msg(), "wrong key"));
	assert_null(a);
}

/* Each edit of the good document: refused, never accepted. */
static void test_malformed(void **state)
{
	static const struct {
		const char *from, *to;
		int rc;
	} edits[] = {
		{ "\"version\":1", "\"version\":2", CST_EUNSUPPORTED },
		{ "\"version\":1", "\"version\":\"1\"", CST_EUNSUPPORTED },
		{ "HMAC-SHA256", "HMAC-SHA512", CST_EUNSUPPORTED },
		{ "\"backup\":\"b1\"", "\"backup\":\"b2\"", CST_EINTEGRITY },
		{ "\"fqdn\":\"node1.example\"", "\"fqdn\":\"node2.example\"", CST_EINTEGRITY },
		{ "\"fqdn\":\"node1.example\",", "", CST_EINTEGRITY },
		{ "\"mac\":\"", "\"mac\":\"00", CST_EINTEGRITY },
		{ "\"mac\":\"", "\"mac\":\"x", CST_EINTEGRITY },
		{ "\"objects\":{", "\"objects\":{\"schema.cql\":\"00\",", CST_EINTEGRITY },
		{ "\"objects\":{", "\"objects\":{\"schema.cql\":"
		  "\"0000000000000000000000000000000000000000000000000000000000000000\",", CST_EINTEGRITY },
		{ "\"manifest.json\"", "\"manifest.jsom\"", CST_EINTEGRITY },
		{ "{\"version\"", "{\"backup\":\"b1\",\"version\"", CST_EINTEGRITY },	/* repeated key */
		{ "{", "[", CST_EINTEGRITY },
	};
	struct fixture *f = *state;
	struct meta_auth *a = NULL;
	size_t i;

	for (i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		const char *at = strstr(f->good, edits[i].from);
		char *doc;

		assert_non_null(at);
		assert_non_null(doc = cst_sprintf("%.*s%s%s", (int)(at - f->good), f->good, edits[i].to,
						  at + strlen(edits[i].from)));
		put_auth(f, FQDN, "b1", doc);
		if (load(f, f->key, &a) != edits[i].rc)
			fail_msg("edit %zu (%s -> %s): got %d (%s), want %d", i, edits[i].from, edits[i].to,
				 cst_error_code(), cst_error_msg(), edits[i].rc);
		assert_null(a);
		assert_non_null(strstr(cst_error_msg(), "node1.example/b1/meta/auth.json"));
		free(doc);
	}
	/* a flipped hex digit of the MAC itself */
	{
		char *doc = cst_strdup(f->good), *mac = strstr(doc, "\"mac\":\"") + 7;

		*mac = *mac == '0' ? '1' : '0';
		put_auth(f, FQDN, "b1", doc);
		assert_int_equal(load(f, f->key, &a), CST_EINTEGRITY);
		assert_non_null(strstr(cst_error_msg(), "MAC does not match"));
		free(doc);
	}
	/* the good one, moved to another backup or node */
	put_auth(f, FQDN, "b2", f->good);
	assert_int_equal(meta_auth_load(&a, f->st, "", FQDN, "b2", meta_auth_one_key, f->key), CST_EINTEGRITY);
	put_auth(f, "node2.example", "b1", f->good);
	assert_int_equal(meta_auth_load(&a, f->st, "", "node2.example", "b1", meta_auth_one_key, f->key),
			 CST_EINTEGRITY);
	assert_null(a);
}

static void test_require(void **state)
{
	struct fixture *f = *state;
	struct meta_auth *a = NULL;

	/* none stored: refused, unless allowed (then NULL: trusted as stored) */
	assert_int_equal(meta_auth_require(&a, f->st, "", FQDN, "b9", meta_auth_one_key, f->key, 0),
			 CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "node1.example/b9/meta/auth.json: not found"));
	assert_non_null(strstr(cst_error_msg(), "--allow-unauthenticated"));
	assert_int_equal(meta_auth_require(&a, f->st, "", FQDN, "b9", meta_auth_one_key, f->key, 1), 0);
	assert_null(a);
	/* no key: nothing to check */
	assert_int_equal(meta_auth_require(&a, f->st, "", FQDN, "b9", NULL, NULL, 0), 0);
	assert_null(a);
	/* present but wrong: refused with the flag too */
	put_auth(f, FQDN, "b1", "{}");
	assert_int_equal(meta_auth_require(&a, f->st, "", FQDN, "b1", meta_auth_one_key, f->key, 1),
			 CST_EUNSUPPORTED);
	assert_null(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_require, setup, teardown),
	};

	return cmocka_run_group_tests_name("meta_auth", tests, NULL, NULL);
}
