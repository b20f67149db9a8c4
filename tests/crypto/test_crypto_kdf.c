/*
 * crypto: passphrase keys (crypto/kdf.c). The RFC 7914 vectors go through
 * crypto_scrypt_raw(), which skips the minimum costs: the RFC's largest
 * vector below a gigabyte is N = 16384, under our minimum of 2^15, and its
 * N = 2^20 vector would take 1 GiB and seconds on a shared CI machine. The
 * public call is then checked at N = 2^15 against a key id computed
 * independently (Python's hashlib.scrypt and hmac).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "crypto_int.h"
#include "util.h"

struct vector {
	const char *pass, *salt;
	uint64_t N;
	uint32_t r, p;
	const char *hex;	/* 64 bytes */
};

/* RFC 7914, section 12. */
static const struct vector rfc7914[] = {
	{ "", "", 16, 1, 1,
	  "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"
	  "fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906" },
	{ "password", "NaCl", 1024, 8, 16,
	  "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
	  "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640" },
	{ "pleaseletmein", "SodiumChloride", 16384, 8, 1,
	  "7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2"
	  "d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887" },
};

static void test_rfc7914_vectors(void **state)
{
	unsigned char got[64], want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rfc7914) / sizeof(rfc7914[0]); i++) {
		const struct vector *v = &rfc7914[i];

		print_message("RFC 7914 vector %zu (N=%llu)\n", i + 1, (unsigned long long)v->N);
		assert_int_equal(cst_unhex(want, sizeof(want), v->hex), 0);
		assert_int_equal(crypto_scrypt_raw(got, sizeof(got), (const unsigned char *)v->pass,
						   strlen(v->pass), (const unsigned char *)v->salt,
						   strlen(v->salt), v->N, v->r, v->p), 0);
		assert_memory_equal(got, want, sizeof(want));
		/* PBKDF2's blocks do not depend on the length asked for: a
		 * 32-byte key is the first half of the vector. */
		assert_int_equal(crypto_scrypt_raw(got, 32, (const unsigned char *)v->pass,
						   strlen(v->pass), (const unsigned char *)v->salt,
						   strlen(v->salt), v->N, v->r, v->p), 0);
		assert_memory_equal(got, want, 32);
	}
	/* a control: one bit of the passphrase changes the output */
	assert_int_equal(crypto_scrypt_raw(got, sizeof(got), (const unsigned char *)"pleaseletmeim", 13,
					   (const unsigned char *)"SodiumChloride", 14, 16384, 8, 1), 0);
	assert_int_equal(cst_unhex(want, sizeof(want), rfc7914[2].hex), 0);
	assert_memory_not_equal(got, want, sizeof(want));
}

#define PASS "correct horse battery staple"

static void salt_seq(unsigned char salt[32])
{
	for (int i = 0; i < 32; i++)
		salt[i] = (unsigned char)i;
}

static void test_key_from_passphrase(void **state)
{
	struct crypto_key *k = NULL, *k2 = NULL;
	unsigned char salt[32], raw[32], id[8];

	(void)state;
	salt_seq(salt);
	assert_int_equal(crypto_key_from_passphrase(&k, (const unsigned char *)PASS, strlen(PASS),
						    salt, sizeof(salt), 1u << 15, 8, 1), 0);
	/* Python: hashlib.scrypt(PASS, salt=bytes(range(32)), n=2**15, r=8, p=1,
	 * dklen=32), then HKDF-SHA256(that, salt="", info="cassette v1 key id")[:8] */
	assert_int_equal(cst_unhex(id, 8, "8c53db62a666aff6"), 0);
	assert_memory_equal(crypto_key_id(k), id, 8);
	/* the same as a key made from the raw scrypt bytes */
	assert_int_equal(cst_unhex(raw, 32, "450fa69545f7a2062c718965069c38be"
				   "27c1789f5e8cf9b00acb95fdcc54c43d"), 0);
	assert_int_equal(crypto_key_from_bytes(&k2, raw, sizeof(raw)), 0);
	assert_memory_equal(crypto_key_id(k), crypto_key_id(k2), 8);
	crypto_key_free(k2);
	/* another salt, another key */
	salt[0] ^= 1;
	assert_int_equal(crypto_key_from_passphrase(&k2, (const unsigned char *)PASS, strlen(PASS),
						    salt, sizeof(salt), 1u << 15, 8, 1), 0);
	assert_memory_not_equal(crypto_key_id(k), crypto_key_id(k2), 8);
	crypto_key_free(k2);
	crypto_key_free(k);
}

struct costs {
	uint64_t N;
	uint32_t r, p;
	const char *msg;	/* part of the message */
};

static void test_costs_refused(void **state)
{
	static const struct costs bad[] = {
		{ 1u << 14, 8, 1, "N=16384, r=8, p=1 are below the minimum N=32768, r=8, p=1" },
		{ 1u << 15, 7, 1, "r=7" },
		{ 1u << 15, 4, 0, "p=0 are below" },
		{ 1u << 15, 8, 0, "p=0 are below" },
		{ 0, 8, 1, "below the minimum" },
		{ 3u << 15, 8, 1, "N=98304 is not a power of two" },
		{ (1u << 15) + 1, 8, 1, "not a power of two" },
		{ (uint64_t)1 << 23, 8, 1, "above the maximum" },
		{ (uint64_t)1 << 63, 8, 1, "above the maximum" },
		{ 1u << 15, 33, 1, "r=33, p=1 are above the maximum" },
		{ 1u << 15, 8, 17, "p=17 are above the maximum" },
		{ 1u << 15, 8, UINT32_MAX, "above the maximum" },
		/* each within its own bound, 2 GiB together */
		{ 1u << 21, 8, 1, "N=2097152, r=8, p=1 are above the maximum" },
		{ 1u << 19, 32, 1, "above the maximum" },
	};
	static const struct costs good[] = {
		{ 1u << 15, 8, 1, NULL },
		{ 1u << 17, 8, 1, NULL },
		{ 1u << 20, 8, 16, NULL },	/* exactly 1 GiB */
		{ 1u << 15, 32, 16, NULL },
		{ 1u << 18, 32, 1, NULL },	/* 1 GiB too */
	};
	struct crypto_key *k;
	unsigned char salt[32];
	size_t i;

	(void)state;
	salt_seq(salt);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("refused: N=%llu r=%u p=%u\n", (unsigned long long)bad[i].N,
			      (unsigned)bad[i].r, (unsigned)bad[i].p);
		assert_int_equal(crypto_scrypt_check_costs(bad[i].N, bad[i].r, bad[i].p), CST_EINVALID);
		if (strstr(cst_error_msg(), bad[i].msg) == NULL)
			fail_msg("message '%s' lacks '%s'", cst_error_msg(), bad[i].msg);
		k = (struct crypto_key *)&k;
		assert_int_equal(crypto_key_from_passphrase(&k, (const unsigned char *)PASS, strlen(PASS),
							    salt, sizeof(salt), bad[i].N, bad[i].r,
							    bad[i].p), CST_EINVALID);
		assert_null(k);
	}
	/* the controls: the bounds themselves are allowed (checked, not run) */
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(crypto_scrypt_check_costs(good[i].N, good[i].r, good[i].p), 0);
	/* the raw call keeps the upper bounds: no 2 GiB allocation */
	{
		unsigned char out[32];

		assert_int_equal(crypto_scrypt_raw(out, sizeof(out), (const unsigned char *)"x", 1, salt,
						   sizeof(salt), 1u << 21, 8, 1), CST_EINVALID);
	}
}

static void test_empty_refused(void **state)
{
	struct crypto_key *k = NULL;
	unsigned char salt[32];

	(void)state;
	salt_seq(salt);
	assert_int_equal(crypto_key_from_passphrase(&k, (const unsigned char *)"", 0, salt,
						    sizeof(salt), 1u << 15, 8, 1), CST_EINVALID);
	assert_null(k);
	assert_int_equal(crypto_key_from_passphrase(&k, (const unsigned char *)PASS, strlen(PASS),
						    salt, 0, 1u << 15, 8, 1), CST_EINVALID);
	assert_null(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7914_vectors),
		cmocka_unit_test(test_key_from_passphrase),
		cmocka_unit_test(test_costs_refused),
		cmocka_unit_test(test_empty_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
