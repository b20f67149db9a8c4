/* crypto: the Fernet chunk-stream reader (Medusa's encrypted objects). */
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
#include <openssl/hmac.h>

#include "fernet.h"
#include "util.h"

/* The published vector of the Fernet spec (github.com/fernet/spec,
 * generate.json / verify.json). */
#define SPEC_KEY "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4="
#define SPEC_KEY_STD "cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4="
#define SPEC_TOKEN "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA=="

static struct fernet_key *spec_key(void)
{
	struct fernet_key *k = NULL;

	assert_int_equal(fernet_key_parse(&k, SPEC_KEY, "test key"), 0);
	return k;
}

/* A token made here (not by the reader's code): raw key bytes of the spec
 * key, IV 0..15, `version`, and PKCS7 padding spoiled when `bad_pad`. The
 * base64 text is returned (caller frees). */
static char *make_token(const unsigned char *plain, size_t len, unsigned char version, int bad_pad)
{
	unsigned char keyraw[32], *raw, *enc;
	size_t ct_len = (len / 16 + 1) * 16, raw_len = 25 + ct_len + 32, i;
	unsigned int mlen;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1, n2;
	char *b64;

	assert_int_equal(EVP_DecodeBlock(keyraw, (const unsigned char *)SPEC_KEY_STD, 44), 33);
	raw = malloc(raw_len);
	enc = malloc(len + 32);
	assert_non_null(raw);
	assert_non_null(enc);
	memcpy(enc, plain, len);
	for (i = len; i < len + 32; i++)
		enc[i] = (unsigned char)(ct_len - len);
	if (bad_pad)
		enc[ct_len - 1] = 0;
	raw[0] = version;
	memset(raw + 1, 0, 8);
	for (i = 0; i < 16; i++)
		raw[9 + i] = (unsigned char)i;
	assert_true(EVP_EncryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, keyraw + 16, raw + 9) == 1);
	assert_true(EVP_CIPHER_CTX_set_padding(ctx, 0) == 1);
	assert_true(EVP_EncryptUpdate(ctx, raw + 25, &n1, enc, (int)ct_len) == 1);
	assert_true(EVP_EncryptFinal_ex(ctx, raw + 25 + n1, &n2) == 1);
	EVP_CIPHER_CTX_free(ctx);
	assert_non_null(HMAC(EVP_sha256(), keyraw, 16, raw, raw_len - 32, raw + raw_len - 32, &mlen));
	b64 = malloc(4 * ((raw_len + 2) / 3) + 1);
	assert_non_null(b64);
	EVP_EncodeBlock((unsigned char *)b64, raw, (int)raw_len);
	for (i = 0; b64[i]; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	free(raw);
	free(enc);
	return b64;
}

/* Append one chunk (u32 BE length || token) to a growing stream. */
static void add_chunk(unsigned char **s, size_t *n, const char *tok)
{
	size_t t = strlen(tok);

	*s = realloc(*s, *n + 4 + t);
	assert_non_null(*s);
	(*s)[*n] = (unsigned char)(t >> 24);
	(*s)[*n + 1] = (unsigned char)(t >> 16);
	(*s)[*n + 2] = (unsigned char)(t >> 8);
	(*s)[*n + 3] = (unsigned char)t;
	memcpy(*s + *n + 4, tok, t);
	*n += 4 + t;
}

struct got {
	unsigned char *buf;
	size_t len;
};

static int collect(void *arg, const unsigned char *buf, size_t len)
{
	struct got *g = arg;

	g->buf = realloc(g->buf, g->len + len + 1);
	if (g->buf == NULL)
		return CST_ENOMEM;
	memcpy(g->buf + g->len, buf, len);
	g->len += len;
	return 0;
}

/* Read a whole stream fed `step` bytes at a time; the result code. */
static int read_stream(const unsigned char *s, size_t n, size_t step, struct got *g)
{
	struct fernet_key *k = spec_key();
	struct fernet_reader *r = NULL;
	size_t off = 0, take;
	int rc = 0;

	memset(g, 0, sizeof(*g));
	assert_int_equal(fernet_reader_new(&r, k, "obj/x-Data.db"), 0);
	while (rc == 0 && off < n) {
		take = n - off < step ? n - off : step;
		rc = fernet_reader_update(r, s + off, take, collect, g);
		off += take;
	}
	if (rc == 0)
		rc = fernet_reader_final(r);
	fernet_reader_free(r);
	fernet_key_free(k);
	return rc;
}

static void test_spec_vector(void **state)
{
	struct fernet_key *k = spec_key(), *k2 = NULL;
	unsigned char out[128];
	size_t len = 0;

	(void)state;
	assert_int_equal(fernet_token_open(k, SPEC_TOKEN, strlen(SPEC_TOKEN), out, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	/* the same key in the standard alphabet, and with surrounding blanks */
	assert_int_equal(fernet_key_parse(&k2, "  " SPEC_KEY_STD "\n", "k"), 0);
	assert_int_equal(fernet_token_open(k2, SPEC_TOKEN, strlen(SPEC_TOKEN), out, &len), 0);
	assert_memory_equal(out, "hello", 5);
	fernet_key_free(k2);
	fernet_key_free(k);
}

static void test_key_refused(void **state)
{
	struct fernet_key *k = (struct fernet_key *)1;

	(void)state;
	assert_int_equal(fernet_key_parse(&k, "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4", "k"),
			 CST_EINVALID);	/* 43: no padding */
	assert_null(k);
	assert_int_equal(fernet_key_parse(&k, SPEC_KEY "A", "the key"), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "the key"));
	assert_null(strstr(cst_error_msg(), "cw_0x"));	/* never the value */
	assert_int_equal(fernet_key_parse(&k, "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e*", "k"),
			 CST_EINVALID);
	assert_int_equal(fernet_key_parse(&k, "", "k"), CST_EINVALID);
	assert_int_equal(fernet_key_parse(&k, NULL, "k"), CST_EINVALID);
}

static void test_token_tamper(void **state)
{
	struct fernet_key *k = spec_key();
	char tok[sizeof(SPEC_TOKEN)], *t;
	static unsigned char out[2 << 20];
	size_t i, len;

	(void)state;
	/* every character of the text changed (to another base64 letter) fails */
	for (i = 0; i + 2 < strlen(SPEC_TOKEN); i++) {
		memcpy(tok, SPEC_TOKEN, sizeof(tok));
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(fernet_token_open(k, tok, strlen(tok), out, &len), 0);
	}
	memcpy(tok, SPEC_TOKEN, sizeof(tok));
	tok[10] = '+';	/* the standard alphabet is not a token's */
	assert_int_equal(fernet_token_open(k, tok, strlen(tok), out, &len), CST_EINTEGRITY);
	assert_int_equal(fernet_token_open(k, SPEC_TOKEN, strlen(SPEC_TOKEN) - 4, out, &len),
			 CST_EINTEGRITY);
	/* checks after the HMAC: version, padding; and a token made here opens */
	t = make_token((const unsigned char *)"hello", 5, 0x80, 0);
	assert_int_equal(fernet_token_open(k, t, strlen(t), out, &len), 0);
	assert_int_equal(len, 5);
	free(t);
	t = make_token((const unsigned char *)"hello", 5, 0x81, 0);
	assert_int_equal(fernet_token_open(k, t, strlen(t), out, &len), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "version"));
	free(t);
	t = make_token((const unsigned char *)"0123456789abcdef", 16, 0x80, 1);
	assert_int_equal(fernet_token_open(k, t, strlen(t), out, &len), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "padding"));
	free(t);
	t = make_token((const unsigned char *)"", 0, 0x80, 0);	/* the smallest token */
	assert_int_equal(strlen(t), FERNET_MIN_CHUNK);
	assert_int_equal(fernet_token_open(k, t, strlen(t), out, &len), 0);
	assert_int_equal(len, 0);
	free(t);
	fernet_key_free(k);
}

static void test_stream(void **state)
{
	unsigned char *s = NULL, *big = malloc(FERNET_MAX_PLAIN + 16);
	char *t1, *t2;
	size_t n = 0, steps[] = { 1, 3, 4, 5, 1000, 1 << 22 }, i;
	struct got g;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < FERNET_MAX_PLAIN + 16; i++)
		big[i] = (unsigned char)(i * 7 + 1);
	t1 = make_token(big, FERNET_MAX_PLAIN, 0x80, 0);	/* a full 1 MiB chunk */
	assert_int_equal(strlen(t1), FERNET_MAX_CHUNK);
	add_chunk(&s, &n, t1);
	add_chunk(&s, &n, SPEC_TOKEN);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		assert_int_equal(read_stream(s, n, steps[i], &g), 0);
		assert_int_equal(g.len, FERNET_MAX_PLAIN + 5);
		assert_memory_equal(g.buf, big, FERNET_MAX_PLAIN);
		assert_memory_equal(g.buf + FERNET_MAX_PLAIN, "hello", 5);
		free(g.buf);
	}
	/* no chunk at all: the empty file */
	assert_int_equal(read_stream(s, 0, 1, &g), 0);
	assert_int_equal(g.len, 0);
	free(g.buf);
	/* a chunk of more than 1 MiB is refused by its length, before it is read */
	t2 = make_token(big, FERNET_MAX_PLAIN + 16, 0x80, 0);
	free(s);
	s = NULL;
	n = 0;
	add_chunk(&s, &n, t2);
	assert_int_equal(read_stream(s, 4, 4, &g), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "obj/x-Data.db: Fernet chunk 0 (at byte 0) has length"));
	free(g.buf);
	free(t2);
	free(t1);
	free(s);
	free(big);
}

static void test_stream_damage(void **state)
{
	unsigned char *s = NULL, *bad;
	size_t n = 0, cut, one;
	struct got g;

	(void)state;
	add_chunk(&s, &n, SPEC_TOKEN);
	one = n;
	add_chunk(&s, &n, SPEC_TOKEN);
	/* cut anywhere: inside a length, inside a token, or the control (whole) */
	for (cut = 1; cut < n; cut++) {
		int rc = read_stream(s, cut, 7, &g);

		free(g.buf);
		if (cut == one)
			assert_int_equal(rc, 0);	/* a whole chunk: only the MD5 sees it */
		else
			assert_int_equal(rc, CST_EINTEGRITY);
	}
	assert_int_equal(read_stream(s, one + 2, 100, &g), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "Fernet chunk 1 (at byte 104) is cut inside its 4-byte length"));
	free(g.buf);
	assert_int_equal(read_stream(s, one + 50, 100, &g), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "is cut: 46 of its 100 bytes"));
	free(g.buf);
	/* a flipped byte anywhere fails (a length, or the token's text) */
	bad = malloc(n + 8);
	assert_non_null(bad);
	for (cut = 0; cut < n; cut++) {
		memcpy(bad, s, n);
		bad[cut] ^= 0x01;
		assert_int_not_equal(read_stream(bad, n, 64, &g), 0);
		free(g.buf);
	}
	/* trailing garbage: a zero length, a lone byte */
	memcpy(bad, s, n);
	memset(bad + n, 0, 4);
	assert_int_equal(read_stream(bad, n + 4, 64, &g), CST_EINTEGRITY);
	free(g.buf);
	assert_int_equal(read_stream(bad, n + 1, 64, &g), CST_EINTEGRITY);
	free(g.buf);
	/* a plaintext file: its first 4 bytes are no chunk length */
	assert_int_equal(read_stream((const unsigned char *)"plaintext of an SSTable", 23, 64, &g),
			 CST_EINTEGRITY);
	free(g.buf);
	free(bad);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_vector),
		cmocka_unit_test(test_key_refused),
		cmocka_unit_test(test_token_tamper),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_damage),
	};

	return cmocka_run_group_tests_name("crypto_fernet", tests, NULL, NULL);
}
