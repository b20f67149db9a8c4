/*
 * crypto: objects with segment kinds (docs/FORMAT.md, "Compressed
 * segments"): round trips of raw and compressed segments in one object,
 * the modes' keep rules (auto: 5%), tampering with the header flag, a
 * segment's length or kind, and the decompression limit (a bomb).
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

#include <zstd.h>

#include "crypto.h"
#include "crypto_int.h"
#include "crypto_test.h"
#include "util.h"

#define SEG 4096

/* Text rows: very compressible. */
static void text(unsigned char *p, size_t n, unsigned start)
{
	char row[16];
	size_t k;

	while (n > 0) {
		snprintf(row, sizeof(row), "row %06u\n", start++);
		k = strlen(row) < n ? strlen(row) : n;
		memcpy(p, row, k);
		p += k;
		n -= k;
	}
}

struct enc_result {
	struct obuf o;
	uint64_t compressed, segments;
};

/* Encrypt with `mode`, feeding `chunk` bytes at a time (0: all at once). */
static void enc(struct enc_result *r, const struct crypto_key *k, enum crypto_compress mode,
		const unsigned char *in, size_t len, size_t chunk)
{
	struct crypto_enc_params p = { .segment_size = SEG, .compress = mode };
	struct crypto_stream *s = NULL;
	size_t off = 0, n;

	obuf_reset(&r->o);
	assert_int_equal(crypto_encryptor_new(&s, k, &test_id, &p), 0);
	while (off < len) {
		n = chunk == 0 || chunk > len - off ? len - off : chunk;
		assert_int_equal(crypto_stream_update(s, in + off, n, obuf_sink, &r->o), 0);
		off += n;
	}
	assert_int_equal(crypto_stream_final(s, obuf_sink, &r->o), 0);
	crypto_stream_kinds(s, &r->compressed, &r->segments);
	crypto_stream_free(s);
}

/* 3 text segments, 2 of noise, 1 text, and a partial text one. */
#define MIXED (6 * SEG + 1000)
static void mixed(unsigned char *p)
{
	text(p, 3 * SEG, 0);
	fill_pattern(p + 3 * SEG, 2 * SEG, 7);	/* incompressible */
	text(p + 5 * SEG, SEG + 1000, 5000);
}

static void test_round_trip_mixed(void **state)
{
	static const size_t chunks[] = { 0, 1, 13, SEG, SEG + 1, 3 * SEG + 5 };
	struct crypto_key *k = test_key(1);
	unsigned char *plain = malloc(MIXED);
	struct enc_result r = { 0 };
	struct obuf d = { 0 };
	size_t c, dc, sizes[] = { 0, 1, SEG - 1, SEG, SEG + 1, MIXED };
	int mode;

	(void)state;
	assert_non_null(plain);
	mixed(plain);
	for (mode = CRYPTO_COMPRESS_AUTO; mode <= CRYPTO_COMPRESS_ZSTD; mode++) {
		for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			enc(&r, k, (enum crypto_compress)mode, plain, MIXED, chunks[c]);
			assert_int_equal(r.o.p[6], CRYPTO_FLAG_SEGMENT_KINDS);
			assert_int_equal(r.segments, 7);
			assert_int_equal(r.compressed, 5);	/* the noise stays raw */
			assert_true(r.o.len < MIXED);
			for (dc = 0; dc < 3; dc++) {
				assert_int_equal(decrypt_buf(k, &test_id, NULL, r.o.p, r.o.len,
							     chunks[dc], &d), 0);
				assert_int_equal(d.len, MIXED);
				assert_memory_equal(d.p, plain, MIXED);
			}
		}
		/* sizes around a segment, the empty object included */
		for (c = 0; c < sizeof(sizes) / sizeof(sizes[0]); c++) {
			uint64_t lo, hi;

			enc(&r, k, (enum crypto_compress)mode, plain, sizes[c], 0);
			assert_int_equal(crypto_object_size_range(&lo, &hi, sizes[c], SEG, 1), 0);
			assert_true(r.o.len >= lo && r.o.len <= hi);
			assert_int_equal(decrypt_buf(k, &test_id, NULL, r.o.p, r.o.len, 7, &d), 0);
			assert_int_equal(d.len, sizes[c]);
			if (sizes[c] > 0)
				assert_memory_equal(d.p, plain, sizes[c]);
		}
	}
	/* none: a flagless object, exactly the format without compression */
	enc(&r, k, CRYPTO_COMPRESS_NONE, plain, MIXED, 0);
	assert_int_equal(r.o.p[6], 0);
	assert_int_equal(r.o.len, crypto_object_size(MIXED, SEG));
	assert_int_equal(r.compressed, 0);
	obuf_free(&r.o);
	obuf_free(&d);
	free(plain);
	crypto_key_free(k);
}

/* A piece that zstd shrinks by about 2%: auto keeps it raw, zstd does not. */
static void test_keep_rules(void **state)
{
	struct crypto_key *k = test_key(2);
	unsigned char plain[SEG], z[2 * SEG];
	struct enc_result r = { 0 };
	struct obuf d = { 0 };
	size_t clen;

	(void)state;
	fill_pattern(plain, SEG - 192, 9);
	text(plain + SEG - 192, 192, 0);
	clen = ZSTD_compress(z, sizeof(z), plain, SEG, 1);
	assert_false(ZSTD_isError(clen));
	print_message("zstd -1: %zu of %d bytes\n", clen, SEG);
	/* the premise: saves something, but less than 5% */
	assert_true(clen < SEG && 20 * clen > 19 * SEG);
	enc(&r, k, CRYPTO_COMPRESS_AUTO, plain, SEG, 0);
	assert_int_equal(r.compressed, 0);
	assert_int_equal(r.o.len, CRYPTO_HEADER_LEN + CRYPTO_SEGHDR_LEN + SEG);
	enc(&r, k, CRYPTO_COMPRESS_ZSTD, plain, SEG, 0);
	assert_int_equal(r.compressed, 1);
	assert_true(r.o.len < CRYPTO_HEADER_LEN + CRYPTO_SEGHDR_LEN + SEG);
	assert_int_equal(decrypt_buf(k, &test_id, NULL, r.o.p, r.o.len, 0, &d), 0);
	assert_memory_equal(d.p, plain, SEG);
	/* control: text saves far more than 5%, and auto keeps it */
	text(plain, SEG, 0);
	enc(&r, k, CRYPTO_COMPRESS_AUTO, plain, SEG, 0);
	assert_int_equal(r.compressed, 1);
	/* noise saves nothing: both keep it raw */
	fill_pattern(plain, SEG, 3);
	enc(&r, k, CRYPTO_COMPRESS_ZSTD, plain, SEG, 0);
	assert_int_equal(r.compressed, 0);
	obuf_free(&r.o);
	obuf_free(&d);
	crypto_key_free(k);
}

static void expect_refused(const struct crypto_key *k, const unsigned char *obj, size_t len,
			   const unsigned char *plain, const char *what)
{
	struct obuf d = { 0 };
	int rc = decrypt_buf(k, &test_id, NULL, obj, len, 0, &d);

	if (rc == 0)
		fail_msg("%s: accepted", what);
	/* whatever came out is a prefix of whole verified pieces */
	assert_int_equal(d.len % SEG, 0);
	if (d.len > 0)
		assert_memory_equal(d.p, plain, d.len);
	obuf_free(&d);
}

static void test_tamper(void **state)
{
	struct crypto_key *k = test_key(3);
	unsigned char *plain = malloc(MIXED), *bad;
	struct enc_result r = { 0 }, flagless = { 0 };
	struct obuf d = { 0 };
	size_t off, len;
	char what[64];

	(void)state;
	assert_non_null(plain);
	mixed(plain);
	enc(&r, k, CRYPTO_COMPRESS_AUTO, plain, MIXED, 0);
	len = r.o.len;
	assert_non_null(bad = malloc(len + 1));
	/* the header flag cleared: the header (AAD) differs, the segments are
	 * parsed as fixed-size ones: refused */
	memcpy(bad, r.o.p, len);
	bad[6] = 0;
	assert_int_equal(decrypt_buf(k, &test_id, NULL, bad, len, 0, &d), CST_EINTEGRITY);
	assert_int_equal(d.len, 0);
	/* ... and set on a flagless object */
	enc(&flagless, k, CRYPTO_COMPRESS_NONE, plain, MIXED, 0);
	flagless.o.p[6] = CRYPTO_FLAG_SEGMENT_KINDS;
	assert_int_equal(decrypt_buf(k, &test_id, NULL, flagless.o.p, flagless.o.len, 0, &d),
			 CST_EINTEGRITY);
	assert_int_equal(d.len, 0);
	/* segment 0's kind byte (the first byte after its length) flipped */
	memcpy(bad, r.o.p, len);
	bad[CRYPTO_HEADER_LEN + 4] ^= 0x01;
	assert_int_equal(decrypt_buf(k, &test_id, NULL, bad, len, 0, &d), CST_EINTEGRITY);
	assert_int_equal(d.len, 0);
	/* every byte flipped, one at a time */
	for (off = 0; off < len; off++) {
		memcpy(bad, r.o.p, len);
		bad[off] ^= 0x40;
		snprintf(what, sizeof(what), "byte %zu flipped", off);
		expect_refused(k, bad, len, plain, what);
	}
	/* cut anywhere, or a byte appended */
	for (off = 0; off < len; off += (off < 200 ? 1 : 97)) {
		snprintf(what, sizeof(what), "cut at %zu", off);
		expect_refused(k, r.o.p, off, plain, what);
	}
	memcpy(bad, r.o.p, len);
	bad[len] = 0;
	expect_refused(k, bad, len + 1, plain, "a byte appended");
	/* control: the untouched object decrypts */
	assert_int_equal(decrypt_buf(k, &test_id, NULL, r.o.p, len, 0, &d), 0);
	assert_int_equal(d.len, MIXED);
	free(bad);
	free(plain);
	obuf_free(&r.o);
	obuf_free(&flagless.o);
	obuf_free(&d);
	crypto_key_free(k);
}

/* The decompression limit, on codec_decompress itself (the crosscheck does
 * it through a whole object from the reference writer). */
static void test_bomb(void **state)
{
	struct crypto_codec *c = NULL;
	unsigned char *big = calloc(1, 4 * SEG), frame[2 * SEG], two[4 * SEG];
	const unsigned char *piece;
	size_t flen, f2, plen;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_inBuffer in;
	ZSTD_outBuffer out;

	(void)state;
	assert_non_null(big);
	assert_int_equal(crypto_codec_new(&c), 0);
	/* declares 2 * SEG: refused before anything is decompressed */
	flen = ZSTD_compress(frame, sizeof(frame), big, 2 * SEG, 1);
	assert_false(ZSTD_isError(flen));
	assert_int_equal(codec_decompress(c, frame, flen, SEG, &piece, &plen, "x.db", 3), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "decompression bomb"));
	assert_non_null(strstr(cst_error_msg(), "x.db"));
	assert_non_null(strstr(cst_error_msg(), "segment 3"));
	/* declares SEG + 1: refused too */
	flen = ZSTD_compress(frame, sizeof(frame), big, SEG + 1, 1);
	assert_int_equal(codec_decompress(c, frame, flen, SEG, &piece, &plen, "x.db", 0), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "bomb"));
	/* a frame that declares no size (streamed): refused */
	assert_false(ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0)));
	in = (ZSTD_inBuffer){ big, 4 * SEG, 0 };
	out = (ZSTD_outBuffer){ frame, sizeof(frame), 0 };
	assert_int_equal(ZSTD_compressStream2(cc, &out, &in, ZSTD_e_end), 0);
	assert_true(ZSTD_getFrameContentSize(frame, out.pos) == ZSTD_CONTENTSIZE_UNKNOWN);
	assert_int_equal(codec_decompress(c, frame, out.pos, SEG, &piece, &plen, "x.db", 0), CST_EINTEGRITY);
	assert_non_null(strstr(cst_error_msg(), "declare"));
	/* exactly SEG: accepted (the control) */
	text(big, SEG, 0);
	flen = ZSTD_compress(frame, sizeof(frame), big, SEG, 1);
	assert_int_equal(codec_decompress(c, frame, flen, SEG, &piece, &plen, "x.db", 0), 0);
	assert_int_equal(plen, SEG);
	assert_memory_equal(piece, big, SEG);
	/* two frames in one body: refused */
	memcpy(two, frame, flen);
	f2 = ZSTD_compress(two + flen, sizeof(two) - flen, big, 10, 1);
	assert_int_equal(codec_decompress(c, two, flen + f2, SEG, &piece, &plen, "x.db", 0), CST_EINTEGRITY);
	/* no zstd frame at all */
	assert_int_equal(codec_decompress(c, big, 100, SEG, &piece, &plen, "x.db", 0), CST_EINTEGRITY);
	ZSTD_freeCCtx(cc);
	crypto_codec_free(c);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_mixed),
		cmocka_unit_test(test_keep_rules),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_bomb),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
