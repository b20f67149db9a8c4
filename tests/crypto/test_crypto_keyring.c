/* crypto: keyrings (parsing, refusals) and data-key wrapping (binding). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "util.h"

/* base64 of 00 01 .. 1f, and of 20 21 .. 3f */
#define K1 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define K2 "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="

static void id_of(char out[17], const char *b64)
{
	struct crypto_keyring *kr = NULL;

	assert_int_equal(crypto_keyring_parse(&kr, b64, strlen(b64), "t"), 0);
	cst_hex(out, crypto_key_id(crypto_keyring_key(kr, 0)), CRYPTO_KEYID_LEN);
	crypto_keyring_free(kr);
}

static int parse(const char *text, struct crypto_keyring **kr)
{
	*kr = NULL;
	return crypto_keyring_parse(kr, text, strlen(text), "ring");
}

static void test_keyring_forms(void **state)
{
	struct crypto_keyring *kr;
	char id1[17], id2[17], text[512];

	(void)state;
	id_of(id1, K1);
	id_of(id2, K2);
	/* a bare key file is a keyring of one */
	assert_int_equal(parse(K1 "\n", &kr), 0);
	assert_int_equal(crypto_keyring_count(kr), 1);
	crypto_keyring_free(kr);
	/* comments, blank lines, CRLF; the last line is the newest */
	snprintf(text, sizeof(text), "# ring\r\n\n%s %s\r\n  # x\n%s\t%s  \n", id1, K1, id2, K2);
	assert_int_equal(parse(text, &kr), 0);
	assert_int_equal(crypto_keyring_count(kr), 2);
	assert_ptr_equal(crypto_keyring_newest(kr), crypto_keyring_key(kr, 1));
	assert_ptr_equal(crypto_keyring_find(kr, crypto_key_id(crypto_keyring_key(kr, 0))),
			 crypto_keyring_key(kr, 0));
	crypto_keyring_free(kr);
}

static void test_keyring_refused(void **state)
{
	struct crypto_keyring *kr;
	char id1[17], id2[17], text[512];

	(void)state;
	id_of(id1, K1);
	id_of(id2, K2);
	assert_int_equal(parse("", &kr), CST_EINVALID);
	assert_null(kr);
	assert_int_equal(parse("# only a comment\n", &kr), CST_EINVALID);
	/* a key under another key's id */
	snprintf(text, sizeof(text), "%s %s\n", id2, K1);
	assert_int_equal(parse(text, &kr), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "line 1"));
	assert_null(strstr(cst_error_msg(), K1));
	/* twice the same key */
	snprintf(text, sizeof(text), "%s %s\n%s %s\n", id1, K1, id1, K1);
	assert_int_equal(parse(text, &kr), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "twice"));
	/* bare keys in a ring of several */
	snprintf(text, sizeof(text), "%s\n%s %s\n", K1, id2, K2);
	assert_int_equal(parse(text, &kr), CST_EINVALID);
	/* bad id, bad key, a third field, a NUL */
	assert_int_equal(parse("0011 " K1 "\n", &kr), CST_EINVALID);
	snprintf(text, sizeof(text), "%s %.43s\n", id1, K1);
	assert_int_equal(parse(text, &kr), CST_EINVALID);
	snprintf(text, sizeof(text), "%s %s extra\n", id1, K1);
	assert_int_equal(parse(text, &kr), CST_EINVALID);
	assert_int_equal(crypto_keyring_parse(&kr, K1 "\0\n", sizeof(K1) + 1, "ring"), CST_EINVALID);
}

static void test_keyring_line_new(void **state)
{
	char line[CRYPTO_KEYRING_LINE_LEN + 1], id[17];
	struct crypto_keyring *kr;

	(void)state;
	assert_int_equal(crypto_keyring_line_new(line), 0);
	assert_int_equal(strlen(line), CRYPTO_KEYRING_LINE_LEN);
	assert_int_equal(parse(line, &kr), 0);
	cst_hex(id, crypto_key_id(crypto_keyring_key(kr, 0)), CRYPTO_KEYID_LEN);
	assert_memory_equal(line, id, 16);
	crypto_keyring_free(kr);
}

static void test_wrap_binding(void **state)
{
	unsigned char w[CRYPTO_WRAP_LEN], bad[CRYPTO_WRAP_LEN];
	struct crypto_key *m1 = NULL, *m2 = NULL, *dk = NULL, *other = NULL, *got = NULL;
	size_t i;

	(void)state;
	assert_int_equal(crypto_key_generate(&m1), 0);
	assert_int_equal(crypto_key_generate(&m2), 0);
	assert_int_equal(crypto_key_generate(&dk), 0);
	assert_int_equal(crypto_key_generate(&other), 0);
	assert_int_equal(crypto_wrap_key(w, m1, dk, "n1.example"), 0);
	assert_int_equal(crypto_unwrap_key(&got, m1, w, "n1.example", crypto_key_id(dk)), 0);
	assert_memory_equal(crypto_key_id(got), crypto_key_id(dk), CRYPTO_KEYID_LEN);
	crypto_key_free(got);
	/* another node, another master, another data key id */
	assert_int_equal(crypto_unwrap_key(&got, m1, w, "n2.example", crypto_key_id(dk)), CST_EINTEGRITY);
	assert_null(got);
	assert_int_equal(crypto_unwrap_key(&got, m2, w, "n1.example", crypto_key_id(dk)), CST_EINTEGRITY);
	assert_int_equal(crypto_unwrap_key(&got, m1, w, "n1.example", crypto_key_id(other)),
			 CST_EINTEGRITY);
	/* every byte of the wrap matters */
	for (i = 0; i < CRYPTO_WRAP_LEN; i++) {
		memcpy(bad, w, sizeof(bad));
		bad[i] ^= 0x01;
		assert_int_equal(crypto_unwrap_key(&got, m1, bad, "n1.example", crypto_key_id(dk)),
				 CST_EINTEGRITY);
	}
	/* two wraps of one key differ (fresh salt and nonce) */
	assert_int_equal(crypto_wrap_key(bad, m1, dk, "n1.example"), 0);
	assert_memory_not_equal(bad, w, sizeof(w));
	crypto_key_free(m1);
	crypto_key_free(m2);
	crypto_key_free(dk);
	crypto_key_free(other);
}

static void test_recipient_wrap(void **state)
{
	unsigned char rpub[CRYPTO_PK_LEN], opub[CRYPTO_PK_LEN], w[CRYPTO_PKWRAP_LEN], bad[CRYPTO_PKWRAP_LEN];
	struct crypto_key *r = NULL, *other = NULL, *dk = NULL, *got = NULL;
	size_t i;

	(void)state;
	assert_int_equal(crypto_key_generate(&r), 0);
	assert_int_equal(crypto_key_generate(&other), 0);
	assert_int_equal(crypto_key_generate(&dk), 0);
	assert_int_equal(crypto_x25519_public(rpub, r), 0);
	assert_int_equal(crypto_x25519_public(opub, other), 0);
	assert_int_equal(crypto_wrap_to_recipient(w, rpub, dk, "n1.example"), 0);
	assert_int_equal(crypto_unwrap_as_recipient(&got, r, w, "n1.example", crypto_key_id(dk)), 0);
	assert_memory_equal(crypto_key_id(got), crypto_key_id(dk), CRYPTO_KEYID_LEN);
	crypto_key_free(got);
	assert_int_equal(crypto_unwrap_as_recipient(&got, other, w, "n1.example", crypto_key_id(dk)),
			 CST_EINTEGRITY);
	assert_int_equal(crypto_unwrap_as_recipient(&got, r, w, "n2.example", crypto_key_id(dk)),
			 CST_EINTEGRITY);
	for (i = 0; i < CRYPTO_PKWRAP_LEN; i++) {
		memcpy(bad, w, sizeof(bad));
		bad[i] ^= 0x80;
		assert_int_not_equal(crypto_unwrap_as_recipient(&got, r, bad, "n1.example",
								crypto_key_id(dk)), 0);
		assert_null(got);
	}
	/* a small-order ephemeral key (all zero) gives no key */
	memset(bad, 0, CRYPTO_PK_LEN);
	memcpy(bad + CRYPTO_PK_LEN, w + CRYPTO_PK_LEN, CRYPTO_PKWRAP_LEN - CRYPTO_PK_LEN);
	assert_int_equal(crypto_unwrap_as_recipient(&got, r, bad, "n1.example", crypto_key_id(dk)),
			 CST_EINTEGRITY);
	crypto_key_free(r);
	crypto_key_free(other);
	crypto_key_free(dk);
}

static void test_signatures(void **state)
{
	struct crypto_meta_object objs[2] = { { "manifest.json", { 1 } }, { "tokenmap.json", { 2 } } };
	unsigned char pub[CRYPTO_PK_LEN], opub[CRYPTO_PK_LEN], sig[CRYPTO_SIG_LEN];
	struct crypto_key *k = NULL, *o = NULL;

	(void)state;
	assert_int_equal(crypto_key_generate(&k), 0);
	assert_int_equal(crypto_key_generate(&o), 0);
	assert_int_equal(crypto_ed25519_public(pub, k), 0);
	assert_int_equal(crypto_ed25519_public(opub, o), 0);
	assert_int_equal(crypto_meta_sign(sig, k, "n1", "b1", objs, 2), 0);
	assert_int_equal(crypto_meta_sig_verify(pub, "n1", "b1", objs, 2, sig), 0);
	assert_int_equal(crypto_meta_sig_verify(opub, "n1", "b1", objs, 2, sig), CST_EINTEGRITY);
	assert_int_equal(crypto_meta_sig_verify(pub, "n2", "b1", objs, 2, sig), CST_EINTEGRITY);
	assert_int_equal(crypto_meta_sig_verify(pub, "n1", "b2", objs, 2, sig), CST_EINTEGRITY);
	assert_int_equal(crypto_meta_sig_verify(pub, "n1", "b1", objs, 1, sig), CST_EINTEGRITY);
	objs[1].sha256[5] ^= 1;
	assert_int_equal(crypto_meta_sig_verify(pub, "n1", "b1", objs, 2, sig), CST_EINTEGRITY);
	objs[1].name = "manifest.json";	/* a name twice */
	assert_int_equal(crypto_meta_sign(sig, k, "n1", "b1", objs, 2), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "named twice"));
	crypto_key_free(k);
	crypto_key_free(o);
}

static void test_keyring_typed(void **state)
{
	struct crypto_pk_pair rp, sp;
	struct crypto_keyring *kr;
	unsigned char rpub[CRYPTO_PK_LEN], rid[CRYPTO_KEYID_LEN];
	char text[1024];

	(void)state;
	assert_int_equal(crypto_pk_keygen(&rp, 0, NULL), 0);
	assert_int_equal(crypto_pk_keygen(&sp, 1, "n1.example"), 0);
	assert_int_equal(crypto_pk_keygen(&sp, 1, NULL), CST_EINVALID);
	assert_int_equal(crypto_pk_keygen(&sp, 1, "n1.example"), 0);
	snprintf(text, sizeof(text), "# host\n%s%s", rp.priv, sp.pub);
	assert_int_equal(parse(text, &kr), 0);
	assert_int_equal(crypto_keyring_count(kr), 0);
	assert_null(crypto_keyring_newest(kr));
	assert_int_equal(crypto_keyring_recipient_count(kr), 1);
	assert_non_null(crypto_keyring_node_key(kr, "n1.example"));
	assert_null(crypto_keyring_node_key(kr, "n2.example"));
	/* the recipient is found by the id of its public key */
	{
		char b64[64];

		assert_int_equal(sscanf(rp.pub, "x25519-public %63s", b64), 1);
		assert_int_equal(EVP_DecodeBlock(rpub, (unsigned char *)b64, 44), 33);
	}
	assert_int_equal(crypto_recipient_id(rid, rpub), 0);
	assert_non_null(crypto_keyring_recipient(kr, rid));
	crypto_keyring_free(kr);
	/* a pin given twice, a pin without its key */
	snprintf(text, sizeof(text), "%s%s", sp.pub, sp.pub);
	assert_int_equal(parse(text, &kr), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "pinned twice"));
	assert_int_equal(parse("ed25519-public n1 short\n", &kr), CST_EINVALID);
	cst_wipe(&rp, sizeof(rp));
	cst_wipe(&sp, sizeof(sp));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring_forms),
		cmocka_unit_test(test_keyring_refused),
		cmocka_unit_test(test_keyring_line_new),
		cmocka_unit_test(test_wrap_binding),
		cmocka_unit_test(test_recipient_wrap),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_keyring_typed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
