/* etag: multipart ETags recomputed in one pass, against OpenSSL's MD5 used
 * directly (the S3 rule: MD5 of the concatenated part MD5s). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "etag.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)

/* The reference: S3's ETag of buf in parts of `part` bytes. */
static void ref_etag(const unsigned char *buf, size_t len, size_t part, unsigned char out[16],
		     unsigned *parts)
{
	unsigned char *cat = malloc((len / part + 1) * 16);
	size_t off = 0, n = 0;

	assert_non_null(cat);
	do {
		size_t take = len - off < part ? len - off : part;

		assert_int_equal(EVP_Digest(buf + off, take, cat + 16 * n, NULL, EVP_md5(), NULL), 1);
		off += take;
		n++;
	} while (off < len);
	assert_int_equal(EVP_Digest(cat, 16 * n, out, NULL, EVP_md5(), NULL), 1);
	*parts = (unsigned)n;
	free(cat);
}

static unsigned char *pattern(size_t len)
{
	unsigned char *b = malloc(len ? len : 1);
	uint32_t x = 2463534242u;
	size_t i;

	assert_non_null(b);
	for (i = 0; i < len; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	return b;
}

/* Feed in uneven pieces; the match result and the part size found. */
static int prove(const unsigned char *buf, size_t len, unsigned parts, const unsigned char want[16],
		 uint64_t *ps)
{
	struct etag_prover *e = NULL;
	size_t off = 0, step = 1000003;
	int rc;

	assert_int_equal(etag_prover_new(&e, len, parts, "obj"), 0);
	while (off < len) {
		size_t take = len - off < step ? len - off : step;

		assert_int_equal(etag_prover_update(e, buf + off, take), 0);
		off += take;
		step = step * 7 % 3000017 + 1;
	}
	rc = etag_prover_match(e, want, ps);
	etag_prover_free(e);
	return rc;
}

static void test_candidates(void **state)
{
	uint64_t c[ETAG_MAX_CANDIDATES];

	(void)state;
	assert_int_equal(etag_candidates(17 * MIB + 5, 3, c), 2);
	assert_true(c[0] == 8 * MIB && c[1] == 6 * MIB);	/* boto3's, the smallest whole MiB */
	assert_int_equal(etag_candidates(16 * MIB, 2, c), 1);
	assert_true(c[0] == 8 * MIB);
	/* 100 GiB: 8 MiB would be 12,800 parts; s3transfer doubles to 16 MiB */
	assert_true(etag_candidates(100 * 1024 * MIB, 6400, c) >= 1 && c[0] == 16 * MIB);
	/* 1 GiB in 4 parts: 256 MiB, a power of two */
	assert_int_equal(etag_candidates(1024 * MIB, 4, c), 1);
	assert_true(c[0] == 256 * MIB);
	assert_int_equal(etag_candidates(12345, 1, c), 1);
	assert_true(c[0] == ETAG_WHOLE);
	assert_int_equal(etag_candidates(0, 1, c), 1);
	assert_int_equal(etag_candidates(5, 10, c), 0);		/* 10 parts of 5 bytes: impossible */
	assert_int_equal(etag_candidates(17 * MIB, 0, c), 0);
	assert_int_equal(etag_candidates(17 * MIB + 5, 99999, c), 0);	/* below a whole MiB a part */
}

static void test_prove(void **state)
{
	size_t len = 17 * MIB + 5;
	unsigned char *buf = pattern(len), want[16], got[16];
	uint64_t ps = 0;
	unsigned parts;

	(void)state;
	ref_etag(buf, len, 8 * MIB, want, &parts);
	assert_int_equal(parts, 3);
	assert_int_equal(etag_of_buffer(buf, len, 8 * MIB, got, &parts), 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(parts, 3);
	assert_int_equal(prove(buf, len, 3, want, &ps), 1);
	assert_true(ps == 8 * MIB);
	/* the smallest whole MiB (6 MiB parts) is found too */
	ref_etag(buf, len, 6 * MIB, want, &parts);
	assert_int_equal(parts, 3);
	assert_int_equal(prove(buf, len, 3, want, &ps), 1);
	assert_true(ps == 6 * MIB);
	/* controls: a flipped byte; the right digest with the wrong part count;
	 * a part size not tried (7 MiB) */
	ref_etag(buf, len, 8 * MIB, want, &parts);
	buf[9 * MIB] ^= 0xff;
	assert_int_equal(prove(buf, len, 3, want, NULL), 0);
	buf[9 * MIB] ^= 0xff;
	assert_int_equal(prove(buf, len, 4, want, NULL), 0);
	ref_etag(buf, len, 7 * MIB, want, &parts);
	assert_int_equal(parts, 3);
	assert_int_equal(prove(buf, len, 3, want, NULL), 0);
	free(buf);
}

static void test_boundaries(void **state)
{
	size_t len = 16 * MIB;
	unsigned char *buf = pattern(len), want[16];
	struct etag_prover *e = NULL;
	unsigned parts;

	(void)state;
	/* exactly two full parts: no empty third */
	ref_etag(buf, len, 8 * MIB, want, &parts);
	assert_int_equal(parts, 2);
	assert_int_equal(prove(buf, len, 2, want, NULL), 1);
	/* one part of any size, and the empty object (one empty part) */
	ref_etag(buf, 3000, 3000, want, &parts);
	assert_int_equal(prove(buf, 3000, 1, want, NULL), 1);
	ref_etag(buf, 0, 1, want, &parts);
	assert_int_equal(parts, 1);
	assert_int_equal(prove(buf, 0, 1, want, NULL), 1);
	/* no part size gives 99999 parts of 16 MiB: refused up front, naming the object */
	assert_int_equal(etag_prover_new(&e, len, 99999, "ks/obj"), CST_EINTEGRITY);
	assert_null(e);
	assert_non_null(strstr(cst_error_msg(), "ks/obj"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidates),
		cmocka_unit_test(test_prove),
		cmocka_unit_test(test_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
