/*
 * md5_mb_speed: MD5 throughput, for people (not a test; nothing here is
 * asserted on speed). Prints MB/s (10^6 bytes a second, wall clock) of
 *   - OpenSSL's MD5, one stream;
 *   - each kernel the CPU has, with 1 lane and with all its lanes (AVX-512
 *     also with 8: that runs on ymm registers);
 *   - the hub, T threads each updating its own stream in 1 MiB updates (-u);
 *   - T threads that also encrypt each chunk with AES-256-GCM (what a
 *     backup's encoder does): OpenSSL MD5, the hub's update(), and the hub's
 *     submit() / encrypt / wait().
 * Each also as MB per CPU second of the process (steadier on a shared
 * machine; for the hub it is the MD5 cost a backup pays in CPU).
 * Every digest is checked against OpenSSL's (exit 1 on a mismatch).
 *
 * usage: md5_mb_speed [-u KiB per hub update, default 1024] [MiB per stream, default 32]
 *                     [thread counts..., default 1 2 8 16 24]
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "md5_mb.h"

#define CHUNK (1u << 20)

static unsigned char *data;	/* max(CHUNK, upd) + 64 random bytes, hashed over and over */
static size_t upd = CHUNK;	/* bytes a hub thread's update */
static size_t mib = 32;
static int failed;

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU seconds of the whole process: on a shared machine, bytes per CPU
 * second vary less than bytes per wall second. */
static double cpu(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* The updates of a hub thread's stream (about `mib` MiB in all). */
static size_t n_updates(void)
{
	size_t n = mib * CHUNK / upd;

	return n > 0 ? n : 1;
}

/* The MD5 of n copies of data[off .. off + len), by OpenSSL. */
static void reference(size_t off, size_t len, size_t n, unsigned char out[16])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int dn = 0;

	EVP_DigestInit_ex(c, EVP_md5(), NULL);
	for (size_t i = 0; i < n; i++)
		EVP_DigestUpdate(c, data + off, len);
	EVP_DigestFinal_ex(c, out, &dn);
	EVP_MD_CTX_free(c);
}

static void report(const char *what, double bytes, double secs, double cpus, const char *extra)
{
	printf("%-40s %7.0f MB/s %7.0f MB/cpu-s %s\n", what, bytes / secs / 1e6, bytes / cpus / 1e6,
	       extra);
	fflush(stdout);
}

static void bench_openssl(void)
{
	unsigned char d[16];
	double t = now(), c = cpu();

	reference(0, CHUNK, mib, d);
	report("openssl MD5, 1 stream", (double)mib * CHUNK, now() - t, cpu() - c, "");
}

static void bench_kernel(enum md5mb_isa isa, unsigned nl)
{
	uint32_t st[4][MD5MB_MAX_LANES];
	const unsigned char *p[MD5MB_MAX_LANES];
	unsigned char got[16], want[16];
	char what[64];
	double t, c;

	if (!md5mb_cpu_has(isa))
		return;
	for (unsigned l = 0; l < nl; l++) {
		uint32_t h[4];

		md5mb_init(h);
		for (int i = 0; i < 4; i++)
			st[i][l] = h[i];
		p[l] = data + l;	/* lanes at different, unaligned offsets */
	}
	t = now();
	c = cpu();
	for (size_t i = 0; i < mib; i++)
		for (size_t b = 0; b < CHUNK / 64; b += 64)
			md5mb_run(isa, st, (const unsigned char *const *)(const void *)p, nl, 64);
	t = now() - t;
	c = cpu() - c;
	snprintf(what, sizeof(what), "kernel %s, %u lane%s", md5mb_isa_name(isa), nl,
		 nl == 1 ? "" : "s");
	report(what, (double)mib * CHUNK * nl, t, c, "");
	/* every call hashed the same 4 KiB at p[l]: check the first and last
	 * lanes against OpenSSL hashing that sequence */
	for (unsigned l = 0; l < nl; l++) {
		uint32_t h[4] = { st[0][l], st[1][l], st[2][l], st[3][l] };
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		unsigned int n = 0;

		EVP_DigestInit_ex(ctx, EVP_md5(), NULL);
		for (size_t i = 0; i < mib * (CHUNK / 64 / 64); i++)
			EVP_DigestUpdate(ctx, data + l, 64 * 64);
		EVP_DigestFinal_ex(ctx, want, &n);
		EVP_MD_CTX_free(ctx);
		md5mb_finish(h, (uint64_t)mib * CHUNK, NULL, 0, got);
		if (memcmp(got, want, 16) != 0) {
			fprintf(stderr, "%s lane %u: wrong digest\n", what, l);
			failed = 1;
		}
		if (l == 0 && nl > 2)
			l = nl - 2;	/* first and last lanes are enough */
	}
}

/* What each hub thread does with each 1 MiB chunk. */
enum mode {
	MD5_ONLY,	/* crypto_md5_update() on the hub */
	PLAIN_GCM,	/* OpenSSL MD5 (a plain context), then AES-256-GCM */
	HUB_GCM,	/* hub update(), then AES-256-GCM */
	HUB_ASYNC_GCM,	/* hub submit(), AES-256-GCM of the same bytes, wait() */
};
static const char *const mode_name[] = { "", " +gcm, plain md5", " +gcm", " +gcm, submit/wait" };

struct worker {
	pthread_t tid;
	struct crypto_md5_hub *hub;
	pthread_barrier_t *start;
	enum mode mode;
	size_t off;
	unsigned char md5[16];
	int rc;
};

static int gcm_chunk(EVP_CIPHER_CTX *gcm, unsigned char *out, const unsigned char *in)
{
	int n = 0;

	return EVP_EncryptUpdate(gcm, out, &n, in, (int)upd) == 1 ? 0 : -1;
}

static void *worker_main(void *arg)
{
	static const unsigned char key[32], iv[12];
	struct worker *w = arg;
	struct crypto_md5 *c = NULL;
	EVP_CIPHER_CTX *gcm = NULL;
	unsigned char *out = NULL;
	const unsigned char *in = data + w->off;

	w->rc = crypto_md5_new_shared(&c, w->mode == PLAIN_GCM ? NULL : w->hub);
	if (w->rc == 0 && w->mode != MD5_ONLY &&
	    ((gcm = EVP_CIPHER_CTX_new()) == NULL || (out = malloc(upd + 16)) == NULL ||
	     EVP_EncryptInit_ex(gcm, EVP_aes_256_gcm(), NULL, key, iv) != 1))
		w->rc = -1;
	pthread_barrier_wait(w->start);
	for (size_t i = 0; i < n_updates() && w->rc == 0; i++) {
		switch (w->mode) {
		case MD5_ONLY:
			w->rc = crypto_md5_update(c, in, upd);
			break;
		case PLAIN_GCM:
		case HUB_GCM:
			if ((w->rc = crypto_md5_update(c, in, upd)) == 0)
				w->rc = gcm_chunk(gcm, out, in);
			break;
		case HUB_ASYNC_GCM:
			if ((w->rc = crypto_md5_submit(c, in, upd)) == 0)
				w->rc = gcm_chunk(gcm, out, in);
			crypto_md5_wait(c);
			break;
		}
	}
	if (w->rc == 0)
		w->rc = crypto_md5_final(c, w->md5);
	crypto_md5_free(c);
	EVP_CIPHER_CTX_free(gcm);
	free(out);
	return NULL;
}

static void bench_hub(unsigned nthreads, enum mode mode)
{
	static unsigned char ref[64][16];
	static int have_ref[64];
	struct crypto_md5_hub *hub = NULL;
	struct worker *w = calloc(nthreads, sizeof(*w));
	pthread_barrier_t start;
	uint64_t steps, lane_blocks;
	char what[80], extra[64] = "";
	double t, c;

	if (w == NULL || crypto_md5_hub_new(&hub) != 0) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	pthread_barrier_init(&start, NULL, nthreads + 1);
	for (unsigned i = 0; i < nthreads; i++) {
		w[i].hub = hub;
		w[i].start = &start;
		w[i].mode = mode;
		w[i].off = i % 64;
		pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
	}
	pthread_barrier_wait(&start);
	t = now();
	c = cpu();
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(w[i].tid, NULL);
	t = now() - t;
	c = cpu() - c;
	crypto_md5_hub_fill(hub, &steps, &lane_blocks);
	snprintf(what, sizeof(what), "%s %s, %u thr%s", mode == PLAIN_GCM ? "no hub" : "hub",
		 mode == PLAIN_GCM ? "" : crypto_md5_hub_isa(hub), nthreads, mode_name[mode]);
	if (mode != PLAIN_GCM)
		snprintf(extra, sizeof(extra), "(%.1f lanes filled)",
			 steps ? (double)lane_blocks / (double)steps : 0.0);
	report(what, (double)n_updates() * upd * nthreads, t, c, extra);
	for (unsigned i = 0; i < nthreads; i++) {
		if (!have_ref[w[i].off]) {
			reference(w[i].off, upd, n_updates(), ref[w[i].off]);
			have_ref[w[i].off] = 1;
		}
		if (w[i].rc != 0 || memcmp(w[i].md5, ref[w[i].off], 16) != 0) {
			fprintf(stderr, "%s: thread %u: wrong digest or error\n", what, i);
			failed = 1;
		}
	}
	pthread_barrier_destroy(&start);
	crypto_md5_hub_free(hub);
	free(w);
}

int main(int argc, char **argv)
{
	unsigned threads[] = { 1, 2, 8, 16, 24 };

	size_t data_len;

	if (argc > 2 && strcmp(argv[1], "-u") == 0) {
		upd = strtoul(argv[2], NULL, 10) << 10;
		argc -= 2;
		argv += 2;
	}
	if (upd == 0)
		upd = 1;
	if (argc > 1)
		mib = strtoul(argv[1], NULL, 10);
	if (mib == 0)
		mib = 1;
	data_len = (upd > CHUNK ? upd : CHUNK) + 64;
	if ((data = malloc(data_len)) == NULL)
		return 1;
	srand(1);
	for (size_t i = 0; i < data_len; i++)
		data[i] = (unsigned char)rand();
	printf("%zu MiB a stream, hub threads update %zu KiB at a time\n", mib, upd >> 10);
	bench_openssl();
	for (int isa = MD5MB_SCALAR; isa <= MD5MB_AVX512; isa++) {
		unsigned lanes = md5mb_isa_lanes((enum md5mb_isa)isa);

		bench_kernel((enum md5mb_isa)isa, 1);
		if (lanes > 8)
			bench_kernel((enum md5mb_isa)isa, 8);	/* ymm registers */
		if (lanes > 1)
			bench_kernel((enum md5mb_isa)isa, lanes);
	}
	for (int m = MD5_ONLY; m <= HUB_ASYNC_GCM; m++) {
		if (argc > 2) {
			for (int i = 2; i < argc; i++)
				bench_hub((unsigned)strtoul(argv[i], NULL, 10), (enum mode)m);
		} else {
			for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++)
				bench_hub(threads[i], (enum mode)m);
		}
	}
	return failed;
}
