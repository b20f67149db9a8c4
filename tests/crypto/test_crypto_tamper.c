/*
 * crypto: every way of changing a stored object must fail, and no plaintext
 * of a segment that did not verify may reach the sink.
 */
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
#include "crypto_int.h"
#include "crypto_test.h"
#include "util.h"

#define SEG 16
#define PLAIN 70	/* segments 0..3 full, segment 4 holds 6 bytes */
#define NSEG 5
#define OBJ (CRYPTO_HEADER_LEN + PLAIN + NSEG * CRYPTO_TAG_LEN)

struct fixture {
	struct crypto_key *key;
	unsigned char plain[PLAIN];
	unsigned char obj[OBJ];
	unsigned char salt[CRYPTO_SALT_LEN];
	struct obuf o;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct crypto_enc_params p = { .segment_size = SEG };
	struct obuf enc = { 0 };

	assert_non_null(f);
	f->key = test_key(7);
	fill_pattern(f->plain, PLAIN, 70);
	assert_int_equal(encrypt_buf(f->key, &test_id, &p, f->plain, PLAIN, 0, &enc), 0);
	assert_int_equal(enc.len, OBJ);
	memcpy(f->obj, enc.p, OBJ);
	memcpy(f->salt, f->obj + 20, CRYPTO_SALT_LEN);
	obuf_free(&enc);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	crypto_key_free(f->key);
	obuf_free(&f->o);
	free(f);
	return 0;
}

static size_t seg_off(size_t i)
{
	return CRYPTO_HEADER_LEN + i * (SEG + CRYPTO_TAG_LEN);
}

static size_t seg_len(size_t i)
{
	return i + 1 < NSEG ? SEG + CRYPTO_TAG_LEN : PLAIN - (NSEG - 1) * SEG + CRYPTO_TAG_LEN;
}

/* Decrypting `obj` fails with `want`; what reached the sink is whole,
 * verified segments: a prefix of the plaintext in multiples of SEG. */
static void expect_fail(struct fixture *f, const unsigned char *obj, size_t len, int want,
			const struct crypto_identity *id, size_t chunk)
{
	int rc = decrypt_buf(f->key, id, NULL, obj, len, chunk, &f->o);

	if (rc != want)
		fail_msg("length %zu chunk %zu: got %d (%s), want %d", len, chunk, rc,
			 cst_error_msg(), want);
	assert_int_equal(f->o.len % SEG, 0);
	assert_true(f->o.len < PLAIN);
	if (f->o.len > 0)
		assert_memory_equal(f->o.p, f->plain, f->o.len);
}

static void test_untouched_ok(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(decrypt_buf(f->key, &test_id, f->salt, f->obj, OBJ, 0, &f->o), 0);
	assert_int_equal(f->o.len, PLAIN);
	assert_memory_equal(f->o.p, f->plain, PLAIN);
}

/* What flipping a header byte must give (docs/FORMAT.md, "Decrypting"). */
static int header_flip_code(size_t off, const unsigned char *obj)
{
	uint32_t seg;

	if (off < 4 || off == 7 || off >= 59)
		return CST_EINVALID;
	/* byte 6, the flags: the segment-kinds flag set on a flagless object
	 * makes its segments unreadable; any other flag is unknown */
	if (off == 6)
		return obj[6] == CRYPTO_FLAG_SEGMENT_KINDS ? CST_EINTEGRITY : CST_EUNSUPPORTED;
	if (off < 6)
		return CST_EUNSUPPORTED;
	if (off < 12) {
		seg = (uint32_t)obj[8] << 24 | (uint32_t)obj[9] << 16 | (uint32_t)obj[10] << 8 |
		      obj[11];
		return seg >= CRYPTO_MIN_SEGMENT && seg <= CRYPTO_MAX_SEGMENT ?
		       CST_EINTEGRITY : CST_EUNSUPPORTED;
	}
	if (off < 20)
		return CST_EAUTH;	/* key id, checked before decrypting */
	return CST_EINTEGRITY;
}

static void test_flip_every_bit(void **state)
{
	struct fixture *f = *state;
	unsigned char bad[OBJ];
	size_t off, bit, first_bad;

	for (off = 0; off < OBJ; off++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, f->obj, OBJ);
			bad[off] ^= (unsigned char)(1u << bit);
			if (off < CRYPTO_HEADER_LEN) {
				expect_fail(f, bad, OBJ, header_flip_code(off, bad), &test_id, 0);
				assert_int_equal(f->o.len, 0);	/* header is AAD of all */
				continue;
			}
			expect_fail(f, bad, OBJ, CST_EINTEGRITY, &test_id, bit == 3 ? 1 : 0);
			/* Exactly the segments before the damaged one came out. */
			first_bad = (off - CRYPTO_HEADER_LEN) / (SEG + CRYPTO_TAG_LEN);
			assert_int_equal(f->o.len, first_bad * SEG);
		}
	}
}

static void test_truncate_everywhere(void **state)
{
	struct fixture *f = *state;
	size_t len;

	for (len = 0; len < OBJ; len++) {
		expect_fail(f, f->obj, len, CST_EINTEGRITY, &test_id, 0);
		expect_fail(f, f->obj, len, CST_EINTEGRITY, &test_id, 1);
	}
	/* In particular exactly at each segment boundary, and after the header. */
	for (len = 0; len < NSEG; len++)
		expect_fail(f, f->obj, seg_off(len), CST_EINTEGRITY, &test_id, 0);
	expect_fail(f, f->obj, CRYPTO_HEADER_LEN + 15, CST_EINTEGRITY, &test_id, 0);
}

static void test_trailing_bytes(void **state)
{
	struct fixture *f = *state;
	unsigned char big[OBJ + 64];
	size_t extra[] = { 1, 16, 17, SEG + CRYPTO_TAG_LEN, 40 };
	size_t i;

	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		memcpy(big, f->obj, OBJ);
		fill_pattern(big + OBJ, extra[i], (uint32_t)i);
		expect_fail(f, big, OBJ + extra[i], CST_EINTEGRITY, &test_id, 0);
		expect_fail(f, big, OBJ + extra[i], CST_EINTEGRITY, &test_id, 1);
		memset(big + OBJ, 0, extra[i]);
		expect_fail(f, big, OBJ + extra[i], CST_EINTEGRITY, &test_id, 0);
	}
	/* The last segment again after itself. */
	memcpy(big, f->obj, OBJ);
	memcpy(big + OBJ, f->obj + seg_off(NSEG - 1), seg_len(NSEG - 1));
	expect_fail(f, big, OBJ + seg_len(NSEG - 1), CST_EINTEGRITY, &test_id, 0);
}

/* Rebuild the object from segments in the order given by idx[0..n-1]. */
static size_t rearrange(unsigned char *out, const unsigned char *obj, const size_t *idx,
			size_t n)
{
	size_t i, len = CRYPTO_HEADER_LEN;

	memcpy(out, obj, CRYPTO_HEADER_LEN);
	for (i = 0; i < n; i++) {
		memcpy(out + len, obj + seg_off(idx[i]), seg_len(idx[i]));
		len += seg_len(idx[i]);
	}
	return len;
}

static void test_reorder_drop_duplicate(void **state)
{
	struct fixture *f = *state;
	unsigned char bad[OBJ + 2 * (SEG + CRYPTO_TAG_LEN)];
	size_t idx[NSEG + 1], i, j, k, n, len;

	for (i = 0; i < NSEG; i++) {
		for (j = i + 1; j < NSEG; j++) {	/* swap i and j */
			for (k = 0; k < NSEG; k++)
				idx[k] = k == i ? j : k == j ? i : k;
			len = rearrange(bad, f->obj, idx, NSEG);
			expect_fail(f, bad, len, CST_EINTEGRITY, &test_id, 0);
			assert_int_equal(f->o.len, i * SEG);
		}
		for (k = 0, n = 0; k < NSEG; k++)	/* drop i */
			if (k != i)
				idx[n++] = k;
		len = rearrange(bad, f->obj, idx, n);
		expect_fail(f, bad, len, CST_EINTEGRITY, &test_id, 0);
		for (k = 0, n = 0; k < NSEG; k++) {	/* duplicate i */
			idx[n++] = k;
			if (k == i)
				idx[n++] = k;
		}
		len = rearrange(bad, f->obj, idx, n);
		expect_fail(f, bad, len, CST_EINTEGRITY, &test_id, 0);
		expect_fail(f, bad, len, CST_EINTEGRITY, &test_id, 3);
	}
}

/* Segments taken from another encryption of the same plaintext. */
static void test_splice_other_object(void **state)
{
	struct fixture *f = *state;
	struct crypto_enc_params p = { .segment_size = SEG };
	unsigned char bad[OBJ];
	struct obuf other = { 0 };
	size_t i;

	assert_int_equal(encrypt_buf(f->key, &test_id, &p, f->plain, PLAIN, 0, &other), 0);
	for (i = 0; i < NSEG; i++) {
		memcpy(bad, f->obj, OBJ);
		memcpy(bad + seg_off(i), other.p + seg_off(i), seg_len(i));
		expect_fail(f, bad, OBJ, CST_EINTEGRITY, &test_id, 0);
		assert_int_equal(f->o.len, i * SEG);
	}
	memcpy(bad, other.p, CRYPTO_HEADER_LEN);	/* other header, our segments */
	memcpy(bad + CRYPTO_HEADER_LEN, f->obj + CRYPTO_HEADER_LEN, OBJ - CRYPTO_HEADER_LEN);
	expect_fail(f, bad, OBJ, CST_EINTEGRITY, &test_id, 0);
	assert_int_equal(f->o.len, 0);
	obuf_free(&other);
}

static void test_wrong_key(void **state)
{
	struct fixture *f = *state;
	struct crypto_key *other = test_key(8);
	char hex_obj[17], hex_key[17];
	unsigned char bad[OBJ];

	cst_hex(hex_obj, crypto_key_id(f->key), CRYPTO_KEYID_LEN);
	cst_hex(hex_key, crypto_key_id(other), CRYPTO_KEYID_LEN);
	assert_string_not_equal(hex_obj, hex_key);
	assert_int_equal(decrypt_buf(other, &test_id, NULL, f->obj, OBJ, 0, &f->o), CST_EAUTH);
	assert_int_equal(f->o.calls, 0);
	assert_non_null(strstr(cst_error_msg(), "wrong key"));
	assert_non_null(strstr(cst_error_msg(), hex_obj));
	assert_non_null(strstr(cst_error_msg(), hex_key));
	assert_int_equal(decrypt_buf(other, &test_id, NULL, f->obj, OBJ, 1, &f->o), CST_EAUTH);
	assert_int_equal(f->o.calls, 0);
	/* Known before any segment byte: the header alone is enough. */
	assert_int_equal(decrypt_buf(other, &test_id, NULL, f->obj, CRYPTO_HEADER_LEN, 0, &f->o),
			 CST_EAUTH);
	/* A header forged to carry the other key's id still fails. */
	memcpy(bad, f->obj, OBJ);
	memcpy(bad + 12, crypto_key_id(other), CRYPTO_KEYID_LEN);
	assert_int_equal(decrypt_buf(other, &test_id, NULL, bad, OBJ, 0, &f->o), CST_EINTEGRITY);
	assert_int_equal(f->o.calls, 0);
	crypto_key_free(other);
}

static void test_wrong_identity(void **state)
{
	struct fixture *f = *state;
	struct crypto_identity id;
	int i;

	for (i = 0; i < 4; i++) {
		const char **field[4] = { &id.fqdn, &id.keyspace, &id.table, &id.file };
		static const char *others[4] = { "node2.dc1.example.com", "shop2",
						 "orders-00000000000000000000000000000000",
						 ".idx/nb-1-big-Data.db" };

		id = test_id;
		*field[i] = others[i];
		expect_fail(f, f->obj, OBJ, CST_EINTEGRITY, &id, 0);
		assert_int_equal(f->o.calls, 0);
	}
	/* The same bytes split differently between fields is another identity. */
	id = test_id;
	id.fqdn = "node1.dc1.example.coms";
	id.keyspace = "hop";
	expect_fail(f, f->obj, OBJ, CST_EINTEGRITY, &id, 0);
	assert_int_equal(f->o.calls, 0);
}

static void test_expected_salt(void **state)
{
	struct fixture *f = *state;
	unsigned char salt[CRYPTO_SALT_LEN];

	memcpy(salt, f->salt, sizeof(salt));
	salt[31] ^= 1;
	assert_int_equal(decrypt_buf(f->key, &test_id, salt, f->obj, OBJ, 0, &f->o),
			 CST_EINTEGRITY);
	assert_int_equal(f->o.calls, 0);
	assert_non_null(strstr(cst_error_msg(), "salt"));
	assert_int_equal(decrypt_buf(f->key, &test_id, f->salt, f->obj, OBJ, 0, &f->o), 0);
	assert_int_equal(f->o.len, PLAIN);
}

/* ---- objects with valid tags but a wrong layout ---- */

/* One segment to craft: plaintext, counter and last flag as given. */
struct piece {
	size_t off, len;
	uint32_t index;
	int last;
};

/* Encrypt like docs/FORMAT.md says, from the spec rather than stream.c. */
static size_t craft(unsigned char *out, const struct fixture *f, const struct piece *pc,
		    size_t n)
{
	static const char label[] = "cassette v1 object key";
	const char *fields[4] = { test_id.fqdn, test_id.keyspace, test_id.table, test_id.file };
	unsigned char info[512], okey[32], nonce[12], raw[32];
	size_t ilen = sizeof(label), i, len = CRYPTO_HEADER_LEN;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int outl;

	memset(raw, 7, sizeof(raw));
	raw[0] ^= 0x5a;	/* test_key(7) */
	memcpy(info, label, sizeof(label));
	for (i = 0; i < 4; i++) {
		uint32_t l = (uint32_t)strlen(fields[i]);

		info[ilen] = (unsigned char)(l >> 24);
		info[ilen + 1] = (unsigned char)(l >> 16);
		info[ilen + 2] = (unsigned char)(l >> 8);
		info[ilen + 3] = (unsigned char)l;
		memcpy(info + ilen + 4, fields[i], l);
		ilen += 4 + l;
	}
	assert_int_equal(crypto_hkdf(okey, 32, raw, 32, f->salt, 32, info, ilen), 0);
	memcpy(out, f->obj, CRYPTO_HEADER_LEN);
	assert_non_null(ctx);
	for (i = 0; i < n; i++) {
		memcpy(nonce, f->obj + 52, 7);
		nonce[7] = (unsigned char)(pc[i].index >> 24);
		nonce[8] = (unsigned char)(pc[i].index >> 16);
		nonce[9] = (unsigned char)(pc[i].index >> 8);
		nonce[10] = (unsigned char)pc[i].index;
		nonce[11] = pc[i].last ? 1 : 0;
		assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, okey, nonce), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &outl, out, CRYPTO_HEADER_LEN), 1);
		assert_int_equal(EVP_EncryptUpdate(ctx, out + len, &outl, f->plain + pc[i].off,
						   (int)pc[i].len), 1);
		assert_int_equal(EVP_EncryptFinal_ex(ctx, out + len + pc[i].len, &outl), 1);
		assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
						     out + len + pc[i].len), 1);
		len += pc[i].len + CRYPTO_TAG_LEN;
	}
	EVP_CIPHER_CTX_free(ctx);
	return len;
}

static void test_crafted_layouts(void **state)
{
	struct fixture *f = *state;
	unsigned char out[OBJ + 64];
	const struct piece canonical[] = {
		{ 0, 16, 0, 0 }, { 16, 16, 1, 0 }, { 32, 16, 2, 0 }, { 48, 16, 3, 0 },
		{ 64, 6, 4, 1 } };
	const struct piece no_last[] = {
		{ 0, 16, 0, 0 }, { 16, 16, 1, 0 }, { 32, 16, 2, 0 }, { 48, 16, 3, 0 },
		{ 64, 6, 4, 0 } };
	const struct piece early_last[] = {
		{ 0, 16, 0, 0 }, { 16, 16, 1, 1 }, { 32, 16, 2, 0 }, { 48, 16, 3, 0 },
		{ 64, 6, 4, 1 } };
	const struct piece skip[] = {
		{ 0, 16, 0, 0 }, { 16, 16, 2, 0 }, { 32, 16, 3, 0 }, { 48, 16, 4, 0 },
		{ 64, 6, 5, 1 } };
	const struct piece short_middle[] = {
		{ 0, 16, 0, 0 }, { 16, 10, 1, 0 }, { 26, 16, 2, 1 } };
	const struct piece empty_after_full[] = {
		{ 0, 16, 0, 0 }, { 16, 16, 1, 0 }, { 32, 0, 2, 1 } };
	size_t len;

	/* The crafter agrees with the encryptor, so the cases below differ from
	 * a good object only in what they are meant to. */
	len = craft(out, f, canonical, 5);
	assert_int_equal(len, OBJ);
	assert_memory_equal(out, f->obj, OBJ);
	len = craft(out, f, no_last, 5);
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 0);
	assert_int_equal(f->o.len, 4 * SEG);
	len = craft(out, f, early_last, 5);
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 0);
	assert_int_equal(f->o.len, SEG);
	len = craft(out, f, skip, 5);
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 0);
	assert_int_equal(f->o.len, SEG);
	len = craft(out, f, short_middle, 3);
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 0);
	len = craft(out, f, empty_after_full, 3);
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 0);
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 1);
	assert_non_null(strstr(cst_error_msg(), "empty last segment"));
	len = craft(out, f, empty_after_full, 2);	/* 32 bytes, the same without it */
	expect_fail(f, out, len, CST_EINTEGRITY, &test_id, 0);
}

/* An empty plaintext is one empty last segment; it is protected too. */
static void test_empty_object(void **state)
{
	struct fixture *f = *state;
	struct obuf enc = { 0 };
	unsigned char bad[CRYPTO_HEADER_LEN + 2 * CRYPTO_TAG_LEN];
	size_t len, off;
	int rc;

	assert_int_equal(encrypt_buf(f->key, &test_id, NULL, NULL, 0, 0, &enc), 0);
	assert_int_equal(enc.len, CRYPTO_HEADER_LEN + CRYPTO_TAG_LEN);
	assert_int_equal(decrypt_buf(f->key, &test_id, NULL, enc.p, enc.len, 0, &f->o), 0);
	assert_int_equal(f->o.len, 0);
	for (len = 0; len < enc.len; len++)
		expect_fail(f, enc.p, len, CST_EINTEGRITY, &test_id, 0);
	for (off = CRYPTO_HEADER_LEN; off < enc.len; off++) {
		memcpy(bad, enc.p, enc.len);
		bad[off] ^= 0x40;
		expect_fail(f, bad, enc.len, CST_EINTEGRITY, &test_id, 0);
	}
	memcpy(bad, enc.p, enc.len);
	memcpy(bad + enc.len, enc.p + CRYPTO_HEADER_LEN, CRYPTO_TAG_LEN);
	rc = decrypt_buf(f->key, &test_id, NULL, bad, sizeof(bad), 0, &f->o);
	assert_int_equal(rc, CST_EINTEGRITY);
	obuf_free(&enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_untouched_ok, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_every_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trailing_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_drop_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_splice_other_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expected_salt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crafted_layouts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_object, setup, teardown),
	};

	return cmocka_run_group_tests_name("crypto_tamper", tests, NULL, NULL);
}
