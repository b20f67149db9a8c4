/*
 * The storage contract, part three: one handle used from many threads at
 * once, and the bandwidth limit. Threads never call cmocka's assertions
 * (they are not thread-safe); each records its first failure and the main
 * thread reports it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contract_int.h"

#define THREADS 8
#define ITER 12
#define SHARED_BASE 4096
#define FIXED_LEN (512 * 1024 + 3)

struct worker {
	struct storage *s;
	pthread_barrier_t *go;
	int t;
	char *src[ITER]; /* put_file sources for odd i */
	const unsigned char *fixed;
	char err[512];
};

static size_t own_len(int t, int i)
{
	return 3000 + 101 * (size_t)i + (size_t)t;
}

static uint32_t own_seed(int t, int i)
{
	return 1000u * (uint32_t)t + (uint32_t)i + 1;
}

static unsigned char *own_bytes(int t, int i)
{
	unsigned char *b = malloc(own_len(t, i));

	if (b != NULL)
		fill_pattern(b, own_len(t, i), own_seed(t, i));
	return b;
}

/* Record the first failure; returns -1 so callers can `return wfail(...)`. */
static int wfail(struct worker *w, const char *what, int rc)
{
	if (w->err[0] == '\0')
		snprintf(w->err, sizeof(w->err), "thread %d: %s: %d (%s)", w->t, what, rc,
			 rc != 0 ? cst_error_msg() : "");
	return -1;
}

/* get_buf `key` and compare it with want[0..len). */
static int check_get(struct worker *w, const char *key, const unsigned char *want, size_t len)
{
	char *got = NULL;
	size_t n = 0;
	int rc, bad;

	if ((rc = storage_get_buf(w->s, key, &got, &n, 1 << 20)) != 0)
		return wfail(w, key, rc);
	bad = n != len || memcmp(got, want, len) != 0;
	free(got);
	return bad ? wfail(w, "content differs", 0) : 0;
}

struct count {
	size_t n;
	int t;
	int bad;
	char last[64];
};

static int count_cb(void *arg, const char *key, uint64_t size)
{
	struct count *c = arg;
	int i;

	if (strcmp(c->last, key) >= 0 || sscanf(key, "conc/t%*d/k%d", &i) != 1 ||
	    size != own_len(c->t, i))
		c->bad = 1;
	snprintf(c->last, sizeof(c->last), "%s", key);
	c->n++;
	return 0;
}

static int check_list(struct worker *w, size_t want)
{
	struct count c = { .t = w->t };
	char prefix[32];
	int rc;

	snprintf(prefix, sizeof(prefix), "conc/t%d/", w->t);
	if ((rc = storage_list(w->s, prefix, count_cb, &c)) != 0)
		return wfail(w, "list", rc);
	if (c.bad || c.n != want)
		return wfail(w, "listing is wrong", 0);
	return 0;
}

/* "conc/shared" is overwritten by every thread; a read sees one version,
 * whole: the length names the writer, the bytes must be its bytes. */
static int shared_round(struct worker *w)
{
	unsigned char buf[SHARED_BASE + THREADS];
	char *got = NULL;
	size_t n = 0;
	int rc, bad;

	fill_pattern(buf, SHARED_BASE + (size_t)w->t, 7000u + (uint32_t)w->t);
	if ((rc = storage_put_buf(w->s, "conc/shared", buf, SHARED_BASE + (size_t)w->t, 0)) != 0)
		return wfail(w, "put conc/shared", rc);
	if ((rc = storage_get_buf(w->s, "conc/shared", &got, &n, 1 << 20)) != 0)
		return wfail(w, "get conc/shared", rc);
	bad = n < SHARED_BASE || n >= SHARED_BASE + THREADS;
	if (!bad) {
		fill_pattern(buf, n, 7000u + (uint32_t)(n - SHARED_BASE));
		bad = memcmp(got, buf, n) != 0;
	}
	free(got);
	return bad ? wfail(w, "conc/shared is torn", 0) : 0;
}

static int one_round(struct worker *w, int i)
{
	unsigned char *want = own_bytes(w->t, i);
	struct storage_stat st;
	char key[48];
	int rc = -1;

	snprintf(key, sizeof(key), "conc/t%d/k%02d", w->t, i);
	if (want == NULL)
		return wfail(w, "out of memory", 0);
	if (i % 2 == 0)
		rc = storage_put_buf(w->s, key, want, own_len(w->t, i), 0);
	else
		rc = storage_put_file(w->s, key, w->src[i], 0, NULL, NULL);
	if (rc != 0)
		rc = wfail(w, key, rc);
	else if (check_get(w, key, want, own_len(w->t, i)) != 0 ||
		 check_get(w, "conc/fixed", w->fixed, FIXED_LEN) != 0 ||
		 check_list(w, (size_t)i + 1) != 0 || shared_round(w) != 0)
		rc = -1;
	else if ((rc = storage_stat(w->s, key, &st)) != 0 || st.size != own_len(w->t, i))
		rc = wfail(w, "stat", rc);
	free(want);
	return rc;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char key[48];
	int i, rc;

	pthread_barrier_wait(w->go);
	for (i = 0; i < ITER; i++)
		if (one_round(w, i) != 0)
			return NULL;
	/* Then half of them go again. */
	for (i = 1; i < ITER; i += 2) {
		snprintf(key, sizeof(key), "conc/t%d/k%02d", w->t, i);
		if ((rc = storage_delete(w->s, key)) != 0) {
			wfail(w, key, rc);
			return NULL;
		}
	}
	check_list(w, ITER / 2);
	return NULL;
}

static int total_cb(void *arg, const char *key, uint64_t size)
{
	(void)key;
	(void)size;
	(*(size_t *)arg)++;
	return 0;
}

static void test_threads_share_a_handle(void **state)
{
	struct fx *fx = *state;
	unsigned char *fixed = pattern(FIXED_LEN, 99), *b;
	struct worker w[THREADS];
	pthread_t tids[THREADS];
	pthread_barrier_t go;
	char name[32];
	size_t total = 0;
	int t, i;

	assert_ok(storage_put_buf(fx->s, "conc/fixed", fixed, FIXED_LEN, 0));
	assert_int_equal(pthread_barrier_init(&go, NULL, THREADS), 0);
	memset(w, 0, sizeof(w));
	for (t = 0; t < THREADS; t++) {
		w[t].s = fx->s;
		w[t].go = &go;
		w[t].t = t;
		w[t].fixed = fixed;
		for (i = 1; i < ITER; i += 2) {
			snprintf(name, sizeof(name), "t%d-%d", t, i);
			b = own_bytes(t, i);
			assert_non_null(b);
			w[t].src[i] = src_file(fx, name, b, own_len(t, i));
			free(b);
		}
	}
	for (t = 0; t < THREADS; t++)
		assert_int_equal(pthread_create(&tids[t], NULL, worker_main, &w[t]), 0);
	for (t = 0; t < THREADS; t++)
		pthread_join(tids[t], NULL);
	pthread_barrier_destroy(&go);
	for (t = 0; t < THREADS; t++)
		if (w[t].err[0] != '\0')
			fail_msg("%s", w[t].err);
	assert_ok(storage_list(fx->s, "conc/", total_cb, &total));
	assert_int_equal(total, THREADS * ITER / 2 + 2);
	for (t = 0; t < THREADS; t++)
		for (i = 0; i < ITER; i++)
			free(w[t].src[i]);
	free(fixed);
}

/* ---- the bandwidth limit ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * 4 MiB up and 4 MiB down through a 16 MiB/s limit. The bucket holds a
 * quarter second (4 MiB), so even a full bucket leaves 4 MiB to pace:
 * at least 0.25 s. Only a lower bound: a slow machine is never a failure.
 */
static void test_bandwidth_limit(void **state)
{
	struct fx *fx = *state;
	struct storage_config cfg = fx->cfg;
	unsigned char *data = pattern(4 * MIB, 123);
	struct storage *s = NULL;
	double t0, took;

	cfg.max_bandwidth = 16 * MIB;
	assert_ok(storage_open(&s, &cfg));
	t0 = now_s();
	assert_ok(storage_put_buf(s, "bw/obj", data, 4 * MIB, 0));
	assert_object(s, "bw/obj", data, 4 * MIB);
	took = now_s() - t0;
	print_message("8 MiB through 16 MiB/s took %.3f s\n", took);
	if (took < 0.2)
		fail_msg("8 MiB through a 16 MiB/s limit took only %.3f s", took);
	storage_close(s);
	free(data);
}

#define CT(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

const struct CMUnitTest contract_conc_tests[] = {
	CT(test_threads_share_a_handle),
	CT(test_bandwidth_limit),
};

const size_t contract_conc_count = ARRAY_LEN(contract_conc_tests);
