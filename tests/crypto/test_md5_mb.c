/*
 * crypto: the multi-lane MD5 kernels and the MD5 hub, against OpenSSL's MD5.
 *
 * Each kernel the CPU has (others are skipped with a message) hashes lanes of
 * different lengths and alignments; the hub is driven by 24 threads with
 * random update sizes, update() and submit()/wait() mixed, each digest
 * checked against OpenSSL.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "md5_mb.h"
#include "util.h"

#define DATA_LEN (8u << 20)
static unsigned char *data;	/* DATA_LEN random bytes, read-only once made */

static uint64_t rnd_next(uint64_t *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static size_t rnd_below(uint64_t *s, size_t n)
{
	return n == 0 ? 0 : (size_t)(rnd_next(s) % n);
}

static void evp_md5(const unsigned char *p, size_t len, unsigned char out[16])
{
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(p, len, out, &n, EVP_md5(), NULL), 1);
	assert_int_equal(n, 16);
}

/* For threads: no cmocka asserts. */
static void evp_md5_quiet(const unsigned char *p, size_t len, unsigned char out[16])
{
	EVP_Digest(p, len, out, NULL, EVP_md5(), NULL);
}

static int setup(void **state)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	(void)state;
	if ((data = malloc(DATA_LEN)) == NULL)
		return -1;
	for (size_t i = 0; i < DATA_LEN; i += 8) {
		uint64_t v = rnd_next(&s);

		memcpy(data + i, &v, 8);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(data);
	return 0;
}

static void hex(const unsigned char d[16], char out[33])
{
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- RFC 1321 ------------------------------------------------------------ */

static const char *const rfc_msg[] = {
	"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
};
static const char *const rfc_md5[] = {
	"d41d8cd98f00b204e9800998ecf8427e", "0cc175b9c0f1b6a831c399e269772661",
	"900150983cd24fb0d6963f7d28e17f72", "f96b697d7cb7938d525a2f31aaf161d0",
	"c3fcd3d76192e4007dfb496cca67e13b", "d174ab98d277d9f5a5611c2c9f419d9f",
	"57edf4a22be3c955ac49da2e2107b67a",
};

static void test_rfc1321(void **state)
{
	struct crypto_md5_hub *hub = NULL;
	unsigned char d[16];
	char h[33];

	(void)state;
	assert_int_equal(crypto_md5_hub_new(&hub), 0);
	for (size_t i = 0; i < sizeof(rfc_msg) / sizeof(rfc_msg[0]); i++) {
		const unsigned char *m = (const unsigned char *)rfc_msg[i];
		size_t len = strlen(rfc_msg[i]);
		uint32_t st[4];
		struct crypto_md5 *c = NULL;

		/* the scalar code directly */
		md5mb_init(st);
		md5mb_compress(st, m, len / 64);
		md5mb_finish(st, len, m + len / 64 * 64, len % 64, d);
		hex(d, h);
		assert_string_equal(h, rfc_md5[i]);
		/* a shared context, one byte at a time and in one call */
		assert_int_equal(crypto_md5_new_shared(&c, hub), 0);
		for (size_t j = 0; j < len; j++)
			assert_int_equal(crypto_md5_update(c, m + j, 1), 0);
		assert_int_equal(crypto_md5_final(c, d), 0);
		hex(d, h);
		assert_string_equal(h, rfc_md5[i]);
		assert_int_equal(crypto_md5_reset(c), 0);
		assert_int_equal(crypto_md5_update(c, m, len), 0);
		assert_int_equal(crypto_md5_final(c, d), 0);
		hex(d, h);
		assert_string_equal(h, rfc_md5[i]);
		crypto_md5_free(c);
	}
	crypto_md5_hub_free(hub);
}

/* ---- kernels --------------------------------------------------------------- */

/*
 * Hash nl messages (msg[l], len[l]) with `isa`'s kernel the way the hub does:
 * the lanes with blocks left are packed at 0 .. n-1 and advanced by the
 * smallest count left (at most `cap`), then each is padded by the scalar code.
 */
static void kernel_digests(enum md5mb_isa isa, unsigned nl, const unsigned char *const msg[],
			   const size_t len[], size_t cap, unsigned char out[][16])
{
	uint32_t h[MD5MB_MAX_LANES][4];
	size_t done[MD5MB_MAX_LANES];	/* blocks hashed */

	for (unsigned l = 0; l < nl; l++) {
		md5mb_init(h[l]);
		done[l] = 0;
	}
	for (;;) {
		uint32_t st[4][MD5MB_MAX_LANES];
		const unsigned char *p[MD5MB_MAX_LANES];
		unsigned idx[MD5MB_MAX_LANES], n = 0;
		size_t step = cap;

		for (unsigned l = 0; l < nl; l++) {
			size_t left = len[l] / 64 - done[l];

			if (left == 0)
				continue;
			if (left < step)
				step = left;
			idx[n] = l;
			p[n] = msg[l] + done[l] * 64;
			for (int i = 0; i < 4; i++)
				st[i][n] = h[l][i];
			n++;
		}
		if (n == 0)
			break;
		md5mb_run(isa, st, p, n, step);
		for (unsigned j = 0; j < n; j++) {
			for (int i = 0; i < 4; i++)
				h[idx[j]][i] = st[i][j];
			done[idx[j]] += step;
		}
	}
	for (unsigned l = 0; l < nl; l++)
		md5mb_finish(h[l], len[l], msg[l] + len[l] / 64 * 64, len[l] % 64, out[l]);
}

static void check_lanes(enum md5mb_isa isa, unsigned nl, const unsigned char *const msg[],
			const size_t len[], size_t cap)
{
	unsigned char got[MD5MB_MAX_LANES][16], want[16];

	kernel_digests(isa, nl, msg, len, cap, got);
	for (unsigned l = 0; l < nl; l++) {
		evp_md5(msg[l], len[l], want);
		if (memcmp(got[l], want, 16) != 0)
			fail_msg("%s: lane %u of %u, length %zu, offset %zu: wrong digest",
				 md5mb_isa_name(isa), l, nl, len[l], (size_t)(msg[l] - data));
	}
}

static void kernel_test(enum md5mb_isa isa)
{
	unsigned lanes = md5mb_isa_lanes(isa);
	const unsigned char *msg[MD5MB_MAX_LANES];
	size_t len[MD5MB_MAX_LANES];
	uint64_t s = 12345 + (uint64_t)isa;

	if (!md5mb_cpu_has(isa)) {
		print_message("SKIP: this CPU has no %s\n", md5mb_isa_name(isa));
		skip();
	}
	if (isa == MD5MB_SCALAR)
		lanes = 4;	/* the scalar kernel runs any count, one after another */
	/* every length 0..320 in every lane, lanes of different lengths and
	 * alignments, full and partial lane counts */
	for (size_t n = 0; n <= 320; n++) {
		for (unsigned l = 0; l < lanes; l++) {
			len[l] = (n + 41 * l) % 321;
			msg[l] = data + (n * 7 + l * 4099) % 65536;
		}
		check_lanes(isa, lanes, msg, len, 64);
		if (lanes > 8)	/* AVX-512 on ymm registers */
			check_lanes(isa, 8, msg, len, 64);
		if (lanes > 3)
			check_lanes(isa, lanes - 3, msg, len, 1);
		check_lanes(isa, 1, msg, len, 3);
	}
	/* random large lengths (up to 256 KiB), random offsets and steps */
	for (int it = 0; it < 40; it++) {
		unsigned nl = 1 + (unsigned)rnd_below(&s, lanes);

		for (unsigned l = 0; l < nl; l++) {
			len[l] = rnd_below(&s, 256u << 10);
			msg[l] = data + rnd_below(&s, DATA_LEN - (256u << 10));
		}
		check_lanes(isa, nl, msg, len, 1 + rnd_below(&s, 200));
	}
}

static void test_kernel_scalar(void **state)
{
	(void)state;
	kernel_test(MD5MB_SCALAR);
}

static void test_kernel_avx2(void **state)
{
	(void)state;
	kernel_test(MD5MB_AVX2);
}

static void test_kernel_avx512(void **state)
{
	(void)state;
	kernel_test(MD5MB_AVX512);
}

/* ---- the hub ----------------------------------------------------------------- */

static void test_isa_env(void **state)
{
	const char *names[] = { "scalar", "avx2", "avx512" };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct crypto_md5_hub *hub = NULL;
		enum md5mb_isa want = (enum md5mb_isa)i;

		while (!md5mb_cpu_has(want))
			want = (enum md5mb_isa)(want - 1);
		assert_int_equal(setenv("CASSETTE_MD5_ISA", names[i], 1), 0);
		assert_int_equal(crypto_md5_hub_new(&hub), 0);
		assert_string_equal(crypto_md5_hub_isa(hub), md5mb_isa_name(want));
		assert_int_equal(crypto_md5_hub_lanes(hub), md5mb_isa_lanes(want));
		crypto_md5_hub_free(hub);
	}
	unsetenv("CASSETTE_MD5_ISA");
}

static void test_shared_contract(void **state)
{
	struct crypto_md5_hub *hub = NULL;
	struct crypto_md5 *c = NULL, *plain = NULL;
	unsigned char d[16], want[16];
	uint64_t before;

	(void)state;
	assert_int_equal(crypto_md5_hub_new(&hub), 0);
	assert_int_equal(crypto_md5_new_shared(&c, hub), 0);
	before = crypto_md5_bytes_hashed();
	assert_int_equal(crypto_md5_update(c, data, 100000), 0);
	assert_int_equal(crypto_md5_bytes_hashed() - before, 100000);
	assert_int_equal(crypto_md5_final(c, d), 0);
	evp_md5(data, 100000, want);
	assert_memory_equal(d, want, 16);
	/* final twice and update after final are errors, as for a plain context */
	assert_int_equal(crypto_md5_final(c, d), CST_EINVALID);
	assert_int_equal(crypto_md5_update(c, data, 1), CST_EINVALID);
	/* reset: a fresh stream (nothing left of the old one, buffered tail included) */
	assert_int_equal(crypto_md5_reset(c), 0);
	assert_int_equal(crypto_md5_update(c, data + 3, 70), 0);
	assert_int_equal(crypto_md5_reset(c), 0);
	assert_int_equal(crypto_md5_update(c, data + 5, 5000), 0);
	assert_int_equal(crypto_md5_final(c, d), 0);
	evp_md5(data + 5, 5000, want);
	assert_memory_equal(d, want, 16);
	/* submit: final() and free() wait for it */
	assert_int_equal(crypto_md5_reset(c), 0);
	assert_int_equal(crypto_md5_submit(c, data + 1, 300000), 0);
	assert_int_equal(crypto_md5_submit(c, data + 300001, 200001), 0);
	assert_int_equal(crypto_md5_final(c, d), 0);
	evp_md5(data + 1, 500001, want);
	assert_memory_equal(d, want, 16);
	assert_int_equal(crypto_md5_submit(c, data, 1), CST_EINVALID);
	assert_int_equal(crypto_md5_reset(c), 0);
	assert_int_equal(crypto_md5_submit(c, data, 1 << 20), 0);
	crypto_md5_free(c);
	/* hub NULL: a plain context */
	assert_int_equal(crypto_md5_new_shared(&plain, NULL), 0);
	assert_int_equal(crypto_md5_update(plain, data, 777), 0);
	assert_int_equal(crypto_md5_final(plain, d), 0);
	evp_md5(data, 777, want);
	assert_memory_equal(d, want, 16);
	assert_int_equal(crypto_md5_final(plain, d), CST_EINVALID);
	assert_int_equal(crypto_md5_reset(plain), 0);
	assert_int_equal(crypto_md5_submit(plain, data, 777), 0);
	crypto_md5_wait(plain);
	assert_int_equal(crypto_md5_final(plain, d), 0);
	assert_memory_equal(d, want, 16);
	crypto_md5_free(plain);
	crypto_md5_free(NULL);
	crypto_md5_hub_free(NULL);
	crypto_md5_hub_free(hub);
}

#define NTHREADS 24
#define STREAMS_PER_THREAD 3

struct worker {
	pthread_t tid;
	struct crypto_md5_hub *hub;
	pthread_barrier_t *start;
	uint64_t seed;
	uint64_t bytes;		/* fed to update() */
	int bad;		/* digests that differ from OpenSSL's */
	int errors;		/* calls that failed */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct crypto_md5 *c = NULL;
	unsigned char *buf = malloc((1u << 20) + 64);

	if (buf == NULL || crypto_md5_new_shared(&c, w->hub) != 0) {
		w->errors++;
		goto out;
	}
	pthread_barrier_wait(w->start);
	for (int k = 0; k < STREAMS_PER_THREAD; k++) {
		size_t total = rnd_below(&w->seed, 3u << 20), off = rnd_below(&w->seed, 1u << 20);
		const unsigned char *m = data + off;
		unsigned char got[16], want[16];
		unsigned int n = 0;

		for (size_t pos = 0; pos < total;) {
			size_t left = total - pos, len;

			switch (rnd_below(&w->seed, 6)) {
			case 0: len = 1; break;
			case 1: len = rnd_below(&w->seed, 200); break;
			case 2: len = rnd_below(&w->seed, 70000); break;
			case 3: len = 64 * rnd_below(&w->seed, 300); break;
			default: len = 1u << 20; break;
			}
			if (len > left)
				len = left;
			switch (rnd_below(&w->seed, 4)) {
			case 0: {
				/* submit, read the same bytes meanwhile, wait; then
				 * scribble over them */
				unsigned char *b = buf + rnd_below(&w->seed, 64), d[16];

				memcpy(b, m + pos, len);
				if (crypto_md5_submit(c, b, len) != 0)
					w->errors++;
				evp_md5_quiet(b, len, d);
				crypto_md5_wait(c);
				memset(b, 0x5a, len);
				break;
			}
			case 1:
				/* submit from the unchanging data; the next call waits */
				if (crypto_md5_submit(c, m + pos, len) != 0)
					w->errors++;
				break;
			case 2: {
				/* from a private buffer, scribbled over at once: update()
				 * must have absorbed it before returning */
				unsigned char *b = buf + rnd_below(&w->seed, 64);

				memcpy(b, m + pos, len);
				if (crypto_md5_update(c, b, len) != 0)
					w->errors++;
				memset(b, 0xa5, len);
				break;
			}
			default:
				if (crypto_md5_update(c, m + pos, len) != 0)
					w->errors++;
				break;
			}
			pos += len;
			w->bytes += len;
		}
		if (crypto_md5_final(c, got) != 0 || crypto_md5_reset(c) != 0)
			w->errors++;
		if (EVP_Digest(m, total, want, &n, EVP_md5(), NULL) != 1 || n != 16)
			w->errors++;
		if (memcmp(got, want, 16) != 0)
			w->bad++;
	}
out:
	crypto_md5_free(c);
	free(buf);
	return NULL;
}

static void hub_threads(const char *isa)
{
	struct crypto_md5_hub *hub = NULL;
	struct worker w[NTHREADS];
	pthread_barrier_t start;
	uint64_t before = crypto_md5_bytes_hashed(), fed = 0, steps, lane_blocks;
	int bad = 0, errors = 0;

	assert_int_equal(setenv("CASSETTE_MD5_ISA", isa, 1), 0);
	assert_int_equal(crypto_md5_hub_new(&hub), 0);
	unsetenv("CASSETTE_MD5_ISA");
	if (strcmp(crypto_md5_hub_isa(hub), isa) != 0) {
		crypto_md5_hub_free(hub);
		print_message("SKIP: this CPU has no %s\n", isa);
		skip();
	}
	assert_int_equal(pthread_barrier_init(&start, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct worker){ .hub = hub, .start = &start,
					.seed = 0x1234567ull * (uint64_t)(i + 1) };
		assert_int_equal(pthread_create(&w[i].tid, NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(w[i].tid, NULL), 0);
		fed += w[i].bytes;
		bad += w[i].bad;
		errors += w[i].errors;
	}
	pthread_barrier_destroy(&start);
	crypto_md5_hub_fill(hub, &steps, &lane_blocks);
	print_message("%s hub: %d threads, %llu MiB, %llu block steps, %.2f lanes filled\n", isa,
		      NTHREADS, (unsigned long long)(fed >> 20), (unsigned long long)steps,
		      steps ? (double)lane_blocks / (double)steps : 0.0);
	crypto_md5_hub_free(hub);
	assert_int_equal(errors, 0);
	assert_int_equal(bad, 0);
	/* each byte counted once */
	assert_int_equal(crypto_md5_bytes_hashed() - before, fed);
}

static void test_hub_threads_scalar(void **state)
{
	(void)state;
	hub_threads("scalar");
}

static void test_hub_threads_avx2(void **state)
{
	(void)state;
	hub_threads("avx2");
}

static void test_hub_threads_avx512(void **state)
{
	(void)state;
	hub_threads("avx512");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321),
		cmocka_unit_test(test_kernel_scalar),
		cmocka_unit_test(test_kernel_avx2),
		cmocka_unit_test(test_kernel_avx512),
		cmocka_unit_test(test_isa_env),
		cmocka_unit_test(test_shared_contract),
		cmocka_unit_test(test_hub_threads_scalar),
		cmocka_unit_test(test_hub_threads_avx2),
		cmocka_unit_test(test_hub_threads_avx512),
	};

	unsetenv("CASSETTE_MD5_ISA");
	return cmocka_run_group_tests(tests, setup, teardown);
}
