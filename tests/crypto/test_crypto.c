/*
 * crypto: known-answer vectors from the independent Python reference, size
 * arithmetic, streaming in any chunk size, header parsing, MD5.
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
#include "crypto_test.h"
#include "util.h"

/* Encryptor output: header, then full segments, then the last one. */
static void check_enc_calls(const struct obuf *o, size_t plain, uint32_t seg)
{
	size_t nseg = plain == 0 ? 1 : (plain + seg - 1) / seg, i;

	assert_int_equal(o->calls, 1 + nseg);
	assert_int_equal(o->call_len[0], CRYPTO_HEADER_LEN);
	for (i = 1; i < nseg; i++)
		assert_int_equal(o->call_len[i], (size_t)seg + CRYPTO_TAG_LEN);
	assert_int_equal(o->call_len[nseg], plain - (nseg - 1) * seg + CRYPTO_TAG_LEN);
}

/* Decryptor output: one call per segment, each whole. */
static void check_dec_calls(const struct obuf *o, size_t plain, uint32_t seg)
{
	size_t nseg = plain == 0 ? 1 : (plain + seg - 1) / seg, i;

	assert_int_equal(o->calls, nseg);
	for (i = 0; i + 1 < nseg; i++)
		assert_int_equal(o->call_len[i], seg);
	assert_int_equal(o->call_len[nseg - 1], plain - (nseg - 1) * seg);
}

static void sha256(unsigned char out[32], const unsigned char *p, size_t len)
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(p, len, out, &n, EVP_sha256(), NULL), 1);
	assert_int_equal(n, 32);
}

static void test_vectors_key_id(void **state)
{
	struct crypto_key *k = NULL;
	struct vec *v;
	size_t n, i;

	(void)state;
	vec_load(&v, &n);
	for (i = 0; i < n; i++) {
		assert_int_equal(crypto_key_from_bytes(&k, v[i].key, sizeof(v[i].key)), 0);
		assert_memory_equal(crypto_key_id(k), v[i].key_id, CRYPTO_KEYID_LEN);
		crypto_key_free(k);
	}
	vec_free(v, n);
}

static void test_vectors_encrypt(void **state)
{
	struct obuf o = { 0 };
	struct crypto_key *k = NULL;
	unsigned char digest[32];
	struct vec *v;
	size_t n, i;

	(void)state;
	vec_load(&v, &n);
	for (i = 0; i < n; i++) {
		struct crypto_identity id = vec_identity(&v[i]);
		struct crypto_enc_params p = { .segment_size = v[i].segment_size, .salt = v[i].salt, .nonce_prefix = v[i].prefix };

		print_message("vector %s\n", v[i].name);
		assert_int_equal(crypto_key_from_bytes(&k, v[i].key, sizeof(v[i].key)), 0);
		assert_int_equal(encrypt_buf(k, &id, &p, v[i].plain, v[i].plain_len, 0, &o), 0);
		assert_int_equal(o.len, v[i].object_len);
		assert_int_equal(o.len, crypto_object_size(v[i].plain_len, v[i].segment_size));
		if (v[i].object != NULL) {
			assert_memory_equal(o.p, v[i].object, o.len);
		} else {
			assert_memory_equal(o.p, v[i].object_header, CRYPTO_HEADER_LEN);
			sha256(digest, o.p, o.len);
			assert_memory_equal(digest, v[i].object_sha256, 32);
		}
		check_enc_calls(&o, v[i].plain_len, v[i].segment_size);
		crypto_key_free(k);
	}
	obuf_free(&o);
	vec_free(v, n);
}

static void test_vectors_decrypt(void **state)
{
	static const size_t chunks[] = { 0, 1, 13 };
	struct obuf enc = { 0 }, o = { 0 };
	struct crypto_key *k = NULL;
	const unsigned char *obj;
	size_t n, i, c, objlen;
	struct vec *v;

	(void)state;
	vec_load(&v, &n);
	for (i = 0; i < n; i++) {
		struct crypto_identity id = vec_identity(&v[i]);
		struct crypto_enc_params p = { .segment_size = v[i].segment_size, .salt = v[i].salt, .nonce_prefix = v[i].prefix };

		print_message("vector %s\n", v[i].name);
		assert_int_equal(crypto_key_from_bytes(&k, v[i].key, sizeof(v[i].key)), 0);
		obj = v[i].object;
		objlen = v[i].object_len;
		if (obj == NULL) {	/* only a digest is stored: re-create it */
			assert_int_equal(encrypt_buf(k, &id, &p, v[i].plain, v[i].plain_len, 0,
						     &enc), 0);
			obj = enc.p;
			objlen = enc.len;
		}
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			if (chunks[c] == 1 && objlen > 100000)
				continue;
			assert_int_equal(decrypt_buf(k, &id, v[i].salt, obj, objlen, chunks[c],
						     &o), 0);
			assert_int_equal(o.len, v[i].plain_len);
			if (o.len > 0)
				assert_memory_equal(o.p, v[i].plain, o.len);
			check_dec_calls(&o, v[i].plain_len, v[i].segment_size);
		}
		crypto_key_free(k);
	}
	obuf_free(&enc);
	obuf_free(&o);
	vec_free(v, n);
}

static void test_stream_header_and_counters(void **state)
{
	unsigned char plain[100], zero[CRYPTO_SALT_LEN] = { 0 };
	struct crypto_key *k = test_key(1);
	struct crypto_enc_params p = { .segment_size = 16, .salt = NULL, .nonce_prefix = NULL };
	struct crypto_stream *e = NULL, *d = NULL, *e2 = NULL;
	const struct crypto_header *h;
	struct obuf enc = { 0 }, o = { 0 };

	(void)state;
	fill_pattern(plain, sizeof(plain), 1);
	assert_int_equal(crypto_encryptor_new(&e, k, &test_id, &p), 0);
	h = crypto_stream_header(e);
	assert_non_null(h);
	assert_int_equal(h->version, CRYPTO_VERSION);
	assert_int_equal(h->suite, CRYPTO_SUITE_AES256GCM_HKDF);
	assert_int_equal(h->segment_size, 16);
	assert_memory_equal(h->key_id, crypto_key_id(k), CRYPTO_KEYID_LEN);
	/* A random salt: not zero, and another encryptor draws another. */
	assert_memory_not_equal(h->salt, zero, CRYPTO_SALT_LEN);
	assert_int_equal(crypto_encryptor_new(&e2, k, &test_id, NULL), 0);
	assert_int_equal(crypto_stream_header(e2)->segment_size, CRYPTO_DEFAULT_SEGMENT);
	assert_memory_not_equal(crypto_stream_header(e2)->salt, h->salt, CRYPTO_SALT_LEN);
	crypto_stream_free(e2);

	assert_int_equal(crypto_stream_update(e, plain, 40, obuf_sink, &enc), 0);
	assert_int_equal(crypto_stream_plain_bytes(e), 40);
	assert_int_equal(crypto_stream_update(e, plain + 40, 60, obuf_sink, &enc), 0);
	assert_int_equal(crypto_stream_final(e, obuf_sink, &enc), 0);
	assert_int_equal(crypto_stream_plain_bytes(e), 100);
	/* final() twice, or update() after it, is misuse. */
	assert_int_equal(crypto_stream_final(e, obuf_sink, &enc), CST_EINVALID);
	assert_int_equal(crypto_stream_update(e, plain, 1, obuf_sink, &enc), CST_EINVALID);

	assert_int_equal(crypto_decryptor_new(&d, k, &test_id, h->salt), 0);
	assert_null(crypto_stream_header(d));
	assert_int_equal(crypto_stream_update(d, enc.p, 63, obuf_sink, &o), 0);
	assert_null(crypto_stream_header(d));
	assert_int_equal(crypto_stream_update(d, enc.p + 63, 1, obuf_sink, &o), 0);
	assert_non_null(crypto_stream_header(d));
	assert_memory_equal(crypto_stream_header(d)->salt, h->salt, CRYPTO_SALT_LEN);
	assert_memory_equal(crypto_stream_header(d)->nonce_prefix, h->nonce_prefix,
			    CRYPTO_PREFIX_LEN);
	/* Exactly one segment: not released until a byte after it proves it
	 * is not the last one. */
	assert_int_equal(crypto_stream_update(d, enc.p + 64, 32, obuf_sink, &o), 0);
	assert_int_equal(o.len, 0);
	assert_int_equal(crypto_stream_update(d, enc.p + 96, 1, obuf_sink, &o), 0);
	assert_int_equal(o.len, 16);
	assert_int_equal(crypto_stream_plain_bytes(d), 16);
	assert_int_equal(crypto_stream_update(d, enc.p + 97, enc.len - 97, obuf_sink, &o), 0);
	assert_int_equal(crypto_stream_final(d, obuf_sink, &o), 0);
	assert_int_equal(crypto_stream_plain_bytes(d), 100);
	assert_memory_equal(o.p, plain, 100);

	crypto_stream_free(e);
	crypto_stream_free(d);
	crypto_stream_free(NULL);
	crypto_key_free(k);
	crypto_key_free(NULL);
	obuf_free(&enc);
	obuf_free(&o);
}

static void test_sizes(void **state)
{
	static const uint32_t segs[] = { 16, 17, 64, 1000 };
	uint64_t plain, stored, got, expect_plain, max;
	unsigned char *valid;
	size_t s;

	(void)state;
	for (s = 0; s < sizeof(segs) / sizeof(segs[0]); s++) {
		max = crypto_object_size(5000, segs[s]);
		valid = calloc(max + 1, 1);
		assert_non_null(valid);
		for (plain = 0; plain <= 5000; plain++) {
			stored = crypto_object_size(plain, segs[s]);
			assert_int_equal(stored, 64 + plain + 16 * (plain == 0 ? 1 :
						  (plain + segs[s] - 1) / segs[s]));
			assert_int_equal(crypto_plain_size(&got, stored, segs[s]), 0);
			assert_int_equal(got, plain);
			valid[stored] = 1;
		}
		/* Every other stored size is refused. */
		for (stored = 0; stored <= max; stored++) {
			int rc = crypto_plain_size(&got, stored, segs[s]);

			if (valid[stored]) {
				assert_int_equal(rc, 0);
			} else {
				assert_int_equal(rc, CST_EINVALID);
				assert_int_equal(got, 0);
			}
		}
		free(valid);
	}
	/* An extra empty segment after a full one is not a size a writer makes. */
	assert_int_equal(crypto_plain_size(&got, 64 + 32 + 16, 16), CST_EINVALID);
	assert_int_equal(crypto_plain_size(&got, 64 + 32, 16), 0);
	assert_int_equal(got, 16);

	/* The 2^32-segment limit, at the largest segment size too. */
	expect_plain = (uint64_t)1 << 36;	/* 2^32 segments of 16 */
	stored = crypto_object_size(expect_plain, 16);
	assert_int_equal(stored, 64 + expect_plain + 16 * ((uint64_t)1 << 32));
	assert_int_equal(crypto_plain_size(&got, stored, 16), 0);
	assert_int_equal(got, expect_plain);
	assert_int_equal(crypto_object_size(expect_plain + 1, 16), 0);
	assert_int_equal(crypto_plain_size(&got, stored + 17, 16), CST_EINVALID);
	expect_plain = (uint64_t)CRYPTO_MAX_SEGMENT << 32;
	stored = crypto_object_size(expect_plain, CRYPTO_MAX_SEGMENT);
	assert_int_not_equal(stored, 0);
	assert_int_equal(crypto_plain_size(&got, stored, CRYPTO_MAX_SEGMENT), 0);
	assert_int_equal(got, expect_plain);
	assert_int_equal(crypto_object_size(expect_plain + 1, CRYPTO_MAX_SEGMENT), 0);
	assert_int_equal(crypto_plain_size(&got, UINT64_MAX, CRYPTO_MAX_SEGMENT), CST_EINVALID);
	/* Segment size out of range. */
	assert_int_equal(crypto_object_size(10, 0), 0);
	assert_int_equal(crypto_object_size(10, 15), 0);
	assert_int_equal(crypto_object_size(10, CRYPTO_MAX_SEGMENT + 1), 0);
	assert_int_equal(crypto_plain_size(&got, 100, 15), CST_EINVALID);
	assert_int_equal(crypto_plain_size(&got, 100, 0), CST_EINVALID);
}

/* Every chunk size gives the same bytes and the same segment calls. */
static void test_chunking(void **state)
{
	static const size_t sizes[] = { 0, 1, 63, 64, 65, 127, 128, 129, 200, 1000, 131075 };
	static const size_t chunks[] = { 1, 7, 63, 64, 65, 65536 };
	unsigned char salt[CRYPTO_SALT_LEN], prefix[CRYPTO_PREFIX_LEN], *plain;
	struct crypto_enc_params p = { .segment_size = 64, .salt = salt, .nonce_prefix = prefix };
	struct obuf ref = { 0 }, enc = { 0 }, dec = { 0 };
	struct crypto_key *k = test_key(2);
	size_t s, c;

	(void)state;
	fill_pattern(salt, sizeof(salt), 10);
	fill_pattern(prefix, sizeof(prefix), 11);
	plain = malloc(131075);
	assert_non_null(plain);
	fill_pattern(plain, 131075, 12);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		assert_int_equal(encrypt_buf(k, &test_id, &p, plain, sizes[s], 0, &ref), 0);
		assert_int_equal(ref.len, crypto_object_size(sizes[s], 64));
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			assert_int_equal(encrypt_buf(k, &test_id, &p, plain, sizes[s], chunks[c],
						     &enc), 0);
			assert_int_equal(enc.len, ref.len);
			assert_memory_equal(enc.p, ref.p, ref.len);
			check_enc_calls(&enc, sizes[s], 64);
			assert_int_equal(decrypt_buf(k, &test_id, salt, ref.p, ref.len, chunks[c],
						     &dec), 0);
			assert_int_equal(dec.len, sizes[s]);
			if (sizes[s] > 0)
				assert_memory_equal(dec.p, plain, sizes[s]);
			check_dec_calls(&dec, sizes[s], 64);
		}
	}
	free(plain);
	obuf_free(&ref);
	obuf_free(&enc);
	obuf_free(&dec);
	crypto_key_free(k);
}

/* Random sizes, segment sizes and chunk sizes; the seed is printed. */
static void test_random_roundtrip(void **state)
{
	static const uint32_t segs[] = { 16, 100, 4096, 65536, CRYPTO_DEFAULT_SEGMENT,
					 CRYPTO_MAX_SEGMENT };
	const size_t maxlen = 3 * CRYPTO_DEFAULT_SEGMENT + 100;
	struct obuf enc = { 0 }, dec = { 0 };
	struct crypto_key *k = test_key(3);
	unsigned int seed = 20240611;
	unsigned char *plain;
	size_t len, chunk;
	uint32_t seg;
	int i;

	(void)state;
	print_message("seed %u\n", seed);
	srandom(seed);
	plain = malloc(maxlen);
	assert_non_null(plain);
	fill_pattern(plain, maxlen, 13);
	for (i = 0; i < 60; i++) {
		struct crypto_enc_params p = { .segment_size = 0, .salt = NULL, .nonce_prefix = NULL };

		seg = segs[random() % (sizeof(segs) / sizeof(segs[0]))];
		len = (size_t)random() % (i % 4 == 0 ? maxlen : 5000);
		chunk = 1 + (size_t)random() % (i % 2 ? 100 : 300000);
		if (len / chunk > 100000)
			chunk = len / 1000 + 1;
		p.segment_size = seg == CRYPTO_DEFAULT_SEGMENT ? 0 : seg;
		assert_int_equal(encrypt_buf(k, &test_id, &p, plain, len, chunk, &enc), 0);
		assert_int_equal(enc.len, crypto_object_size(len, seg));
		assert_int_equal(decrypt_buf(k, &test_id, NULL, enc.p, enc.len, chunk + 3, &dec),
				 0);
		assert_int_equal(dec.len, len);
		if (len > 0)
			assert_memory_equal(dec.p, plain, len);
	}
	free(plain);
	obuf_free(&enc);
	obuf_free(&dec);
	crypto_key_free(k);
}

static void header_bytes(unsigned char h[CRYPTO_HEADER_LEN])
{
	memset(h, 0, CRYPTO_HEADER_LEN);
	memcpy(h, "CSTE", 4);
	h[4] = 1;
	h[5] = 1;
	h[10] = 0x10;	/* segment size 4096 */
	fill_pattern(h + 12, 47, 5);
}

static void set_seg(unsigned char *h, uint32_t seg)
{
	h[8] = (unsigned char)(seg >> 24);
	h[9] = (unsigned char)(seg >> 16);
	h[10] = (unsigned char)(seg >> 8);
	h[11] = (unsigned char)seg;
}

static void test_header_parse(void **state)
{
	unsigned char h[CRYPTO_HEADER_LEN];
	struct crypto_header out;
	size_t i;

	(void)state;
	header_bytes(h);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), 0);
	assert_int_equal(out.version, 1);
	assert_int_equal(out.suite, 1);
	assert_int_equal(out.segment_size, 4096);
	assert_memory_equal(out.key_id, h + 12, 8);
	assert_memory_equal(out.salt, h + 20, 32);
	assert_memory_equal(out.nonce_prefix, h + 52, 7);
	for (i = 0; i < CRYPTO_HEADER_LEN; i++)
		assert_int_equal(crypto_header_parse(&out, h, i), CST_EINVALID);
	h[0] = 'X';
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "magic"));
	header_bytes(h);
	h[3] = 'e';
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EINVALID);
	header_bytes(h);
	h[4] = 2;
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	assert_non_null(strstr(cst_error_msg(), "version 2"));
	h[4] = 0;
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	header_bytes(h);
	h[5] = 2;
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	assert_non_null(strstr(cst_error_msg(), "suite 2"));
	for (i = 7; i < CRYPTO_HEADER_LEN; i++) {
		if (i == 8)
			i = 59;
		header_bytes(h);
		h[i] = 0x80;
		assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EINVALID);
	}
	/* byte 6 holds the flags: the segment-kinds flag parses, others are
	 * unknown (a later version's) */
	header_bytes(h);
	h[6] = CRYPTO_FLAG_SEGMENT_KINDS;
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), 0);
	assert_int_equal(out.flags, CRYPTO_FLAG_SEGMENT_KINDS);
	for (i = 1; i < 8; i++) {
		h[6] = (unsigned char)(1u << i);
		assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
		assert_non_null(strstr(cst_error_msg(), "flags"));
	}
	header_bytes(h);
	set_seg(h, 0);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	set_seg(h, 15);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	set_seg(h, CRYPTO_MAX_SEGMENT + 1);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	set_seg(h, UINT32_MAX);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), CST_EUNSUPPORTED);
	set_seg(h, 16);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), 0);
	assert_int_equal(out.segment_size, 16);
	set_seg(h, CRYPTO_MAX_SEGMENT);
	assert_int_equal(crypto_header_parse(&out, h, sizeof(h)), 0);
	assert_int_equal(out.segment_size, CRYPTO_MAX_SEGMENT);
}

static void test_bad_params(void **state)
{
	char longname[1100];
	struct crypto_key *k = test_key(4);
	struct crypto_stream *s = (struct crypto_stream *)&s;
	struct crypto_enc_params p = { .segment_size = 15, .salt = NULL, .nonce_prefix = NULL };
	struct crypto_identity id;
	struct obuf enc = { 0 }, dec = { 0 };
	int f;

	(void)state;
	assert_int_equal(crypto_encryptor_new(&s, k, &test_id, &p), CST_EINVALID);
	assert_null(s);
	p.segment_size = CRYPTO_MAX_SEGMENT + 1;
	assert_int_equal(crypto_encryptor_new(&s, k, &test_id, &p), CST_EINVALID);
	assert_null(s);
	for (f = 0; f < 4; f++) {
		const char **field[4] = { &id.fqdn, &id.keyspace, &id.table, &id.file };

		id = test_id;
		*field[f] = "";
		assert_int_equal(crypto_encryptor_new(&s, k, &id, NULL), CST_EINVALID);
		assert_null(s);
		assert_int_equal(crypto_decryptor_new(&s, k, &id, NULL), CST_EINVALID);
		assert_null(s);
		*field[f] = NULL;
		assert_int_equal(crypto_encryptor_new(&s, k, &id, NULL), CST_EINVALID);
		assert_null(s);
	}
	/* Identity length: up to 1024 bytes of encoded info, then refused. */
	id = test_id;
	memset(longname, 'x', sizeof(longname));
	longname[1024 - 23 - 16 - strlen(id.fqdn) - strlen(id.keyspace) - strlen(id.table)] = 0;
	id.file = longname;
	assert_int_equal(encrypt_buf(k, &id, NULL, (const unsigned char *)"x", 1, 0, &enc), 0);
	assert_int_equal(decrypt_buf(k, &id, NULL, enc.p, enc.len, 0, &dec), 0);
	assert_int_equal(dec.len, 1);
	longname[strlen(longname) + 1] = '\0';
	longname[strlen(longname)] = 'x';
	assert_int_equal(crypto_encryptor_new(&s, k, &id, NULL), CST_EINVALID);
	assert_non_null(strstr(cst_error_msg(), "too long"));
	assert_null(s);
	obuf_free(&enc);
	obuf_free(&dec);
	crypto_key_free(k);
}

static int sink_positive(void *arg, const unsigned char *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 5;
}

/* A failing sink stops the stream with its code; the stream is then dead. */
static void test_sink_error(void **state)
{
	unsigned char plain[100];
	struct crypto_enc_params p = { .segment_size = 16, .salt = NULL, .nonce_prefix = NULL };
	struct crypto_key *k = test_key(5);
	struct crypto_stream *s = NULL;
	struct obuf enc = { 0 }, o = { 0 };
	size_t call;

	(void)state;
	fill_pattern(plain, sizeof(plain), 7);
	assert_int_equal(encrypt_buf(k, &test_id, &p, plain, sizeof(plain), 0, &enc), 0);
	for (call = 1; call <= 8; call++) {	/* header + 7 segments */
		o.fail_at_call = call;
		assert_int_equal(encrypt_buf(k, &test_id, &p, plain, sizeof(plain), 0, &o),
				 CST_EIO);
		assert_int_equal(o.calls, call);
	}
	for (call = 1; call <= 7; call++) {
		o.fail_at_call = call;
		assert_int_equal(decrypt_buf(k, &test_id, NULL, enc.p, enc.len, 0, &o), CST_EIO);
		assert_int_equal(o.calls, call);
	}
	obuf_reset(&o);
	o.fail_at_call = 1;
	assert_int_equal(crypto_decryptor_new(&s, k, &test_id, NULL), 0);
	assert_int_equal(crypto_stream_update(s, enc.p, enc.len, obuf_sink, &o), CST_EIO);
	o.fail_at_call = 0;
	assert_int_equal(crypto_stream_update(s, enc.p, 1, obuf_sink, &o), CST_EINVALID);
	assert_int_equal(crypto_stream_final(s, obuf_sink, &o), CST_EINVALID);
	assert_int_equal(o.calls, 1);
	crypto_stream_free(s);
	/* A sink breaking the contract with a positive value still stops it. */
	assert_int_equal(crypto_encryptor_new(&s, k, &test_id, &p), 0);
	assert_int_equal(crypto_stream_update(s, plain, 1, sink_positive, NULL), CST_ERROR);
	assert_non_null(strstr(cst_error_msg(), "sink returned 5"));
	crypto_stream_free(s);
	obuf_free(&enc);
	obuf_free(&o);
	crypto_key_free(k);
}

static void md5_hex(char out[33], const char *s, size_t chunk)
{
	struct crypto_md5 *h = NULL;
	unsigned char d[16];
	size_t len = strlen(s), off;

	assert_int_equal(crypto_md5_new(&h), 0);
	for (off = 0; off < len; off += chunk)
		assert_int_equal(crypto_md5_update(h, s + off, len - off < chunk ? len - off : chunk),
				 0);
	assert_int_equal(crypto_md5_final(h, d), 0);
	cst_hex(out, d, 16);
	crypto_md5_free(h);
}

static void test_md5(void **state)
{
	struct crypto_md5 *h = NULL;
	unsigned char d[16];
	char hex[33];

	(void)state;
	md5_hex(hex, "", 1);
	assert_string_equal(hex, "d41d8cd98f00b204e9800998ecf8427e");
	md5_hex(hex, "abc", 1);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	md5_hex(hex, "abc", 3);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	md5_hex(hex, "The quick brown fox jumps over the lazy dog", 5);
	assert_string_equal(hex, "9e107d9d372bb6826bd81d3542a419d6");
	/* Reuse after reset(); update() after final() without reset is misuse. */
	assert_int_equal(crypto_md5_new(&h), 0);
	assert_int_equal(crypto_md5_update(h, "xyz", 3), 0);
	assert_int_equal(crypto_md5_final(h, d), 0);
	assert_int_equal(crypto_md5_update(h, "abc", 3), CST_EINVALID);
	assert_int_equal(crypto_md5_reset(h), 0);
	assert_int_equal(crypto_md5_update(h, "abc", 3), 0);
	assert_int_equal(crypto_md5_final(h, d), 0);
	cst_hex(hex, d, 16);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	crypto_md5_free(h);
	crypto_md5_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_key_id),
		cmocka_unit_test(test_vectors_encrypt),
		cmocka_unit_test(test_vectors_decrypt),
		cmocka_unit_test(test_stream_header_and_counters),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_chunking),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_header_parse),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_md5),
	};

	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
