/* crypto: the meta MAC of auth.json (docs/FORMAT.md) and SHA-256. */
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
#include "util.h"

/* The vector of FORMAT.md, "auth.json" (ref_cassette.py auth-vector). */
#define V_FQDN "node1.example"
#define V_BACKUP "20261207-0100"
#define V_TOKENMAP "{\"node1.example\":{\"tokens\":[0],\"is_up\":true,\"rack\":\"r1\",\"dc\":\"dc1\"}}"
#define V_MANIFEST "[]"
#define V_SCHEMA "-- no schema.cql in the snapshot\n"
#define V_MAC "318f2dc502960fac5f49707b9e7094eac8711ec1d3df2bcacc1f3d270d42de3d"
#define V_SHA_MANIFEST "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"

static struct crypto_key *seq_key(unsigned char first)
{
	unsigned char raw[32];
	struct crypto_key *k = NULL;
	int i;

	for (i = 0; i < 32; i++)
		raw[i] = (unsigned char)(first + i);
	assert_int_equal(crypto_key_from_bytes(&k, raw, sizeof(raw)), 0);
	return k;
}

/* The vector's three objects, in the order given (not sorted). */
static void vector_objects(struct crypto_meta_object o[3])
{
	o[0].name = "tokenmap.json";
	assert_int_equal(crypto_sha256(o[0].sha256, V_TOKENMAP, strlen(V_TOKENMAP)), 0);
	o[1].name = "manifest.json";
	assert_int_equal(crypto_sha256(o[1].sha256, V_MANIFEST, strlen(V_MANIFEST)), 0);
	o[2].name = "schema.cql";
	assert_int_equal(crypto_sha256(o[2].sha256, V_SCHEMA, strlen(V_SCHEMA)), 0);
}

static void test_vector(void **state)
{
	struct crypto_key *k = seq_key(0);
	struct crypto_meta_object o[3], swapped[3];
	unsigned char mac[CRYPTO_META_MAC_LEN], mac2[CRYPTO_META_MAC_LEN];
	char hex[2 * CRYPTO_META_MAC_LEN + 1];

	(void)state;
	vector_objects(o);
	cst_hex(hex, o[1].sha256, CRYPTO_SHA256_LEN);
	assert_string_equal(hex, V_SHA_MANIFEST);
	assert_int_equal(crypto_meta_mac(mac, k, V_FQDN, V_BACKUP, o, 3), 0);
	cst_hex(hex, mac, sizeof(mac));
	assert_string_equal(hex, V_MAC);
	/* the order given does not matter: the MAC sorts by name */
	swapped[0] = o[2];
	swapped[1] = o[0];
	swapped[2] = o[1];
	assert_int_equal(crypto_meta_mac(mac2, k, V_FQDN, V_BACKUP, swapped, 3), 0);
	assert_memory_equal(mac, mac2, sizeof(mac));
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, V_BACKUP, o, 3, mac), 0);
	crypto_key_free(k);
}

/* Every input is bound: each change gives another MAC, and verify refuses. */
static void test_binds_everything(void **state)
{
	struct crypto_key *k = seq_key(0), *other = seq_key(1);
	struct crypto_meta_object o[3];
	unsigned char mac[CRYPTO_META_MAC_LEN];

	(void)state;
	vector_objects(o);
	assert_int_equal(crypto_meta_mac(mac, k, V_FQDN, V_BACKUP, o, 3), 0);
	assert_int_equal(crypto_meta_mac_verify(other, V_FQDN, V_BACKUP, o, 3, mac), CST_EINTEGRITY);
	assert_int_equal(crypto_meta_mac_verify(k, "node2.example", V_BACKUP, o, 3, mac), CST_EINTEGRITY);
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, "20261207-0200", o, 3, mac), CST_EINTEGRITY);
	/* lengths are prefixed: moving a byte between fqdn and backup changes it */
	assert_int_equal(crypto_meta_mac_verify(k, "node1.exampl", "e" V_BACKUP, o, 3, mac),
			 CST_EINTEGRITY);
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, V_BACKUP, o, 2, mac), CST_EINTEGRITY);
	o[1].sha256[31] ^= 0x01;
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, V_BACKUP, o, 3, mac), CST_EINTEGRITY);
	o[1].sha256[31] ^= 0x01;
	o[1].name = "manifest.jsom";
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, V_BACKUP, o, 3, mac), CST_EINTEGRITY);
	o[1].name = "manifest.json";
	mac[0] ^= 0x80;
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, V_BACKUP, o, 3, mac), CST_EINTEGRITY);
	mac[0] ^= 0x80;
	assert_int_equal(crypto_meta_mac_verify(k, V_FQDN, V_BACKUP, o, 3, mac), 0);
	/* a name given twice is refused */
	o[2].name = "manifest.json";
	assert_int_equal(crypto_meta_mac(mac, k, V_FQDN, V_BACKUP, o, 3), CST_EINVALID);
	cst_error_clear();
	crypto_key_free(k);
	crypto_key_free(other);
}

static void test_sha256_streaming(void **state)
{
	static const char abc[] = "abc";
	struct crypto_sha256 *h = NULL;
	unsigned char one[32], parts[32];
	char hex[65];

	(void)state;
	assert_int_equal(crypto_sha256(one, abc, 3), 0);
	cst_hex(hex, one, 32);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(crypto_sha256_new(&h), 0);
	assert_int_equal(crypto_sha256_update(h, "a", 1), 0);
	assert_int_equal(crypto_sha256_update(h, "", 0), 0);
	assert_int_equal(crypto_sha256_update(h, "bc", 2), 0);
	assert_int_equal(crypto_sha256_final(h, parts), 0);
	assert_memory_equal(one, parts, 32);
	crypto_sha256_free(h);
	crypto_sha256_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_binds_everything),
		cmocka_unit_test(test_sha256_streaming),
	};

	return cmocka_run_group_tests_name("crypto_meta_mac", tests, NULL, NULL);
}
