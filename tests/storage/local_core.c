/*
 * The storage core's own tests, run on the local backend: retries with
 * backoff, resumed get and list, which codes are never retried, the extended
 * fault grammar, the hooks under threads, and the rate limiter. Faults and
 * the trace (storage.h) stand in for a flaky store, and the trace counts the
 * backend calls.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h" /* storage_throttle(), for the limiter's own tests */
#include "local_test.h"
#include "scratch.h"

/* ---- helpers ---- */

/* Open fx->s with these aids, fast backoff and `retries`; the environment
 * is read at open only, so it is cleared again at once. Returns the trace
 * path (caller frees). */
static char *open_with(struct lfx *fx, const char *faults, unsigned retries)
{
	char *trace = path_in(fx->dir, "trace.log");

	unlink(trace);
	setenv("CASSETTE_STORAGE_TRACE", trace, 1);
	setenv("CASSETTE_STORAGE_FAULTS", faults, 1);
	fx->cfg.base_path = fx->dir;
	fx->cfg.bucket_name = "b";
	fx->cfg.retries = retries;
	fx->cfg.retry_base_ms = 1;
	lfx_open(fx);
	unsetenv("CASSETTE_STORAGE_TRACE");
	unsetenv("CASSETTE_STORAGE_FAULTS");
	return trace;
}

/* Lines of the trace that start with `prefix`. */
static size_t count_lines(const char *trace, const char *prefix)
{
	char *text = read_text(trace), *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
	free(text);
	return n;
}

/* The backoff delays of the trace, in order; returns how many. */
static size_t backoffs(const char *trace, unsigned long *ms, size_t max)
{
	char *text = read_text(trace), *line, *save = NULL;
	size_t n = 0;

	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "backoff ", 8) == 0 && n < max)
			assert_int_equal(sscanf(line, "backoff %lu ", &ms[n++]), 1);
	free(text);
	return n;
}

/* A sink that insists on every byte exactly once, in order. */
struct ordered_sink {
	const unsigned char *want;
	size_t len, got;
	int fail_rc;
};

static int ordered_sink_fn(void *arg, const unsigned char *buf, size_t len)
{
	struct ordered_sink *o = arg;

	if (o->fail_rc != 0)
		return cst_error(o->fail_rc, "sink refuses");
	if (len > o->len - o->got || memcmp(buf, o->want + o->got, len) != 0)
		fail_msg("bytes at %zu..%zu are not the object's", o->got, o->got + len);
	o->got += len;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- retries ---- */

static void test_retry_then_success(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "put_buf:1-3:retry", 5);
	unsigned long ms[8];
	size_t i, n;

	assert_ok(storage_put_buf(fx->s, "k", "value", 5, 0));
	assert_content(fx->s, "k", "value");
	assert_int_equal(count_lines(trace, "put_buf k"), 4);
	n = backoffs(trace, ms, 8);
	assert_int_equal(n, 3);
	/* Full jitter: each delay in [0, base * 2^k]. */
	for (i = 0; i < n; i++)
		if (ms[i] > 1ul << i)
			fail_msg("backoff %zu was %lu ms, more than %lu", i, ms[i], 1ul << i);
	assert_int_equal(count_lines(trace, "backoff "), 3);
	free(trace);
}

static void test_retry_gives_up(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "put_buf:1-3:retry", 2);
	uint64_t size;

	assert_rc(storage_put_buf(fx->s, "k", "value", 5, 0), CST_EIO);
	assert_non_null(strstr(cst_error_msg(), "gave up after 3 attempts"));
	assert_non_null(strstr(cst_error_msg(), "injected fault: put_buf k"));
	assert_int_equal(count_lines(trace, "put_buf k"), 3);
	assert_int_equal(count_lines(trace, "backoff "), 2);
	assert_rc(storage_head(fx->s, "k", &size), CST_ENOTFOUND);
	/* Call 4 is past the rule. */
	assert_ok(storage_put_buf(fx->s, "k", "value", 5, 0));
	free(trace);
}

/* retries = 0 means the default, 5. */
static void test_retry_default_count(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "put_buf:1-5:retry", 0);

	assert_ok(storage_put_buf(fx->s, "k", "v", 1, 0));
	assert_int_equal(count_lines(trace, "put_buf "), 6);
	free(trace);
	trace = open_with(fx, "put_buf:1-6:retry", 0);
	assert_rc(storage_put_buf(fx->s, "k", "v", 1, 0), CST_EIO);
	assert_non_null(strstr(cst_error_msg(), "gave up after 6 attempts"));
	free(trace);
}

/* Every delay stays within base * 2^k; and they are random, not the bound. */
static void test_backoff_jitter(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "put_buf:1-5:retry,put_buf:7-11:retry,put_buf:13-17:retry", 5);
	unsigned long ms[32];
	size_t i, n, below = 0;

	assert_ok(storage_put_buf(fx->s, "a", "1", 1, 0));
	assert_ok(storage_put_buf(fx->s, "b", "2", 1, 0));
	assert_ok(storage_put_buf(fx->s, "c", "3", 1, 0));
	n = backoffs(trace, ms, 32);
	assert_int_equal(n, 15);
	for (i = 0; i < n; i++) {
		/* base 1 (open_with), the k-th retry of each put */
		unsigned long bound = 1ul << (i % 5);

		if (ms[i] > bound)
			fail_msg("delay %zu: %lu ms > %lu", i, ms[i], bound);
		below += ms[i] < bound;
	}
	/* 15 draws all at their bound would be no jitter at all. */
	assert_true(below > 0);
	free(trace);
}

/* Codes other than CST_ERETRY reach the caller after one backend call. */
static void test_not_retried(void **state)
{
	struct lfx *fx = *state;
	static const struct {
		const char *kind;
		int code;
	} kinds[] = {
		{ "auth", CST_EAUTH },	   { "notfound", CST_ENOTFOUND },
		{ "invalid", CST_EINVALID }, { "eio", CST_EIO },
		{ "integrity", CST_EINTEGRITY },
	};
	char spec[64], *trace;
	size_t i;

	for (i = 0; i < ARRAY_LEN(kinds); i++) {
		snprintf(spec, sizeof(spec), "put_buf:1:%s,stat:1:%s", kinds[i].kind,
			 kinds[i].kind);
		trace = open_with(fx, spec, 5);
		assert_rc(storage_put_buf(fx->s, "k", "v", 1, 0), kinds[i].code);
		assert_string_equal(cst_error_msg(), "injected fault: put_buf k");
		{
			struct storage_stat st;

			assert_rc(storage_stat(fx->s, "k", &st), kinds[i].code);
		}
		assert_int_equal(count_lines(trace, "put_buf "), 1);
		assert_int_equal(count_lines(trace, "stat "), 1);
		assert_int_equal(count_lines(trace, "backoff "), 0);
		free(trace);
	}

	/* Real failures of the backend, likewise. */
	trace = open_with(fx, "delete:99", 5);
	{
		char *got = NULL;

		assert_rc(storage_get_buf(fx->s, "missing", &got, NULL, 10), CST_ENOTFOUND);
		put_str(fx->s, "once", "1");
		assert_rc(storage_put_buf(fx->s, "once", "2", 1, STORAGE_PUT_NO_OVERWRITE),
			  CST_EEXISTS);
		assert_rc(storage_put_buf(fx->s, "x.cassette-tmp-1", "2", 1, 0), CST_EINVALID);
	}
	assert_int_equal(count_lines(trace, "get missing"), 1);
	assert_int_equal(count_lines(trace, "put_buf once"), 2);
	assert_int_equal(count_lines(trace, "put_buf x.cassette-tmp-1"), 1);
	assert_int_equal(count_lines(trace, "backoff "), 0);
	free(trace);
}

/* A callback's CST_ERETRY is the caller's answer, not a transient failure. */
static void test_callback_retry_is_final(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "delete:99", 5);
	struct ordered_sink o = { .want = (const unsigned char *)"abc", .len = 3,
				  .fail_rc = CST_ERETRY };

	put_str(fx->s, "k", "abc");
	assert_rc(storage_get(fx->s, "k", ordered_sink_fn, &o), CST_ERETRY);
	assert_string_equal(cst_error_msg(), "sink refuses");
	assert_int_equal(count_lines(trace, "get k"), 1);
	assert_int_equal(count_lines(trace, "backoff "), 0);
	free(trace);
}

/* ---- resume ---- */

static void test_get_resumes(void **state)
{
	struct lfx *fx = *state;
	size_t len = 3 * MIB + 333;
	unsigned char *data = pattern(len, 5);
	struct ordered_sink o = { .want = data, .len = len };
	char *trace = open_with(fx, "get:1-2:cut=1000", 2), *got = NULL;
	size_t got_len = 0;

	assert_ok(storage_put_buf(fx->s, "obj", data, len, 0));
	assert_ok(storage_get(fx->s, "obj", ordered_sink_fn, &o));
	assert_int_equal(o.got, len);
	assert_int_equal(count_lines(trace, "get obj"), 3);
	assert_int_equal(count_lines(trace, "backoff "), 2);
	free(trace);

	/* A cut inside a chunk, then one right after the resume point. */
	trace = open_with(fx, "get:1:cut=1500000,get:2:cut=1", 2);
	assert_ok(storage_get_buf(fx->s, "obj", &got, &got_len, len));
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
	assert_int_equal(count_lines(trace, "get obj"), 3);
	free(got);
	free(trace);
	free(data);
}

/* An attempt that moved data starts the backoff over; one that did not,
 * counts. */
static void test_get_progress_resets_budget(void **state)
{
	struct lfx *fx = *state;
	unsigned char *data = pattern(5000, 6);
	struct ordered_sink o = { .want = data, .len = 5000 };
	char *trace = open_with(fx, "get:1+:cut=1000", 1);

	assert_ok(storage_put_buf(fx->s, "obj", data, 5000, 0));
	assert_ok(storage_get(fx->s, "obj", ordered_sink_fn, &o));
	assert_int_equal(o.got, 5000);
	assert_int_equal(count_lines(trace, "get obj"), 5);
	free(trace);

	/* cut=0: no progress, so retries=1 gives up after two attempts, and
	 * the sink saw nothing. */
	trace = open_with(fx, "get:1+:cut=0", 1);
	o.got = 0;
	assert_rc(storage_get(fx->s, "obj", ordered_sink_fn, &o), CST_EIO);
	assert_non_null(strstr(cst_error_msg(), "gave up after 2 attempts"));
	assert_non_null(strstr(cst_error_msg(), "cut at byte 0"));
	assert_int_equal(o.got, 0);
	free(trace);
	free(data);
}

struct keys_seen {
	char text[256];
	size_t n;
};

static int keys_cb(void *arg, const char *key, uint64_t size)
{
	struct keys_seen *k = arg;
	size_t o = strlen(k->text);

	snprintf(k->text + o, sizeof(k->text) - o, "%s:%llu\n", key, (unsigned long long)size);
	k->n++;
	return 0;
}

static void test_list_resumes(void **state)
{
	struct lfx *fx = *state;
	static const char *const want = "a:1\nb:2\nc/d:3\ne:4\nf:5\n";
	struct keys_seen k = { "", 0 };
	char *trace = open_with(fx, "list:1:cut=2,list:2:cut=1", 3);

	put_str(fx->s, "e", "4444");
	put_str(fx->s, "a", "1");
	put_str(fx->s, "c/d", "333");
	put_str(fx->s, "f", "55555");
	put_str(fx->s, "b", "22");
	assert_ok(storage_list(fx->s, "", keys_cb, &k));
	assert_string_equal(k.text, want);
	assert_int_equal(k.n, 5);
	assert_int_equal(count_lines(trace, "list "), 3);
	free(trace);
}

static int entry_keys_cb(void *arg, const struct storage_entry *e)
{
	return keys_cb(arg, e->key, e->size);
}

/* storage_list_entries() is the same call: its attempts are traced and
 * faulted as "list", and a cut listing resumes after the last key. */
static void test_list_entries_resumes(void **state)
{
	struct lfx *fx = *state;
	struct keys_seen k = { "", 0 };
	char *trace = open_with(fx, "list:1:cut=1,list:2:cut=2", 3);

	put_str(fx->s, "c", "333");
	put_str(fx->s, "a", "1");
	put_str(fx->s, "b", "22");
	put_str(fx->s, "d", "4444");
	assert_ok(storage_list_entries(fx->s, "", entry_keys_cb, &k));
	assert_string_equal(k.text, "a:1\nb:2\nc:3\nd:4\n");
	assert_int_equal(count_lines(trace, "list "), 3);
	free(trace);
	/* Faults other than a cut fail it as they fail storage_list(). */
	trace = open_with(fx, "list:1+:auth", 3);
	assert_rc(storage_list_entries(fx->s, "", entry_keys_cb, &k), CST_EAUTH);
	assert_non_null(strstr(cst_error_msg(), "injected fault: list"));
	free(trace);
}

/* ---- the fault grammar ---- */

static void test_fault_grammar(void **state)
{
	struct lfx *fx = *state;
	static const char *const bad[] = {
		"get:1:cut=x", "put_buf:1:cut=5", "stat:1:cut=1", "get:3-2", "get:1-", "get:-",
		"get:1:bogus", "get:1-2+", "get:1:", "get:0-2", "get:1:cut=", "stat:1:retry:eio",
		"get:1:RETRY", "upload:1", "get:1:cut=-1", "get:1-2-3",
	};
	static const char *const good[] = {
		"put_buf:1-3:retry", "get:1:cut=1000", "stat:1:auth", "upload_part:2+:retry",
		"list:1:cut=3", "head:2-2:notfound", "upload_commit:1:integrity",
		"upload_abort:1", "upload_begin:1:invalid", "delete:4:eio", "get:1+:cut=0",
	};
	struct storage *s;
	size_t i;

	fx->cfg.base_path = fx->dir;
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		setenv("CASSETTE_STORAGE_FAULTS", bad[i], 1);
		s = (struct storage *)fx;
		if (storage_open(&s, &fx->cfg) != CST_EINVALID)
			fail_msg("CASSETTE_STORAGE_FAULTS='%s' was accepted", bad[i]);
		assert_null(s);
		assert_non_null(strstr(cst_error_msg(), bad[i]));
	}
	for (i = 0; i < ARRAY_LEN(good); i++) {
		setenv("CASSETTE_STORAGE_FAULTS", good[i], 1);
		s = NULL;
		if (storage_open(&s, &fx->cfg) != 0)
			fail_msg("CASSETTE_STORAGE_FAULTS='%s': %s", good[i], cst_error_msg());
		storage_close(s);
	}
	unsetenv("CASSETTE_STORAGE_FAULTS");
}

/* head and stat are separate ops for the trace and the faults. */
static void test_stat_and_head_apart(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "stat:1", 5), *text;
	struct storage_stat st;
	uint64_t size = 0;

	put_str(fx->s, "k", "abc");
	assert_rc(storage_stat(fx->s, "k", &st), CST_EIO);
	assert_ok(storage_head(fx->s, "k", &size));
	assert_int_equal(size, 3);
	assert_ok(storage_stat(fx->s, "k", &st));
	assert_int_equal(st.size, 3);
	assert_string_equal(st.etag, ""); /* local keeps no MD5 */
	text = read_text(trace);
	assert_string_equal(text, "put_buf k\nstat k\nhead k\nstat k\n");
	free(text);
	free(trace);
}

/* ---- hooks under threads ---- */

#define HT_THREADS 8
#define HT_PUTS 25

struct hook_job {
	struct storage *s;
	int t, rc;
	char msg[256];
};

static void *hook_thread(void *arg)
{
	struct hook_job *j = arg;
	char key[32];
	int i;

	for (i = 0; i < HT_PUTS && j->rc == 0; i++) {
		snprintf(key, sizeof(key), "t%d/k%d", j->t, i);
		if ((j->rc = storage_put_buf(j->s, key, key, strlen(key), 0)) != 0)
			snprintf(j->msg, sizeof(j->msg), "%s", cst_error_msg());
	}
	return NULL;
}

/* Each failing call number is used once, and every trace line is whole. */
static void test_hooks_under_threads(void **state)
{
	struct lfx *fx = *state;
	char *trace = open_with(fx, "put_buf:1-8:retry", 10), *text, *line, *save = NULL;
	struct hook_job jobs[HT_THREADS];
	pthread_t tids[HT_THREADS];
	size_t puts = 0, backoff = 0;
	int t, i, k;
	unsigned long ms;

	for (t = 0; t < HT_THREADS; t++) {
		jobs[t] = (struct hook_job){ .s = fx->s, .t = t };
		assert_int_equal(pthread_create(&tids[t], NULL, hook_thread, &jobs[t]), 0);
	}
	for (t = 0; t < HT_THREADS; t++)
		pthread_join(tids[t], NULL);
	for (t = 0; t < HT_THREADS; t++)
		if (jobs[t].rc != 0)
			fail_msg("thread %d: %s", t, jobs[t].msg);
	text = read_text(trace);
	for (line = strtok_r(text, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "put_buf t%d/k%d", &t, &k) == 2)
			puts++;
		else if (sscanf(line, "backoff %lu put_buf t%d/k%d", &ms, &t, &k) == 3)
			backoff++;
		else
			fail_msg("malformed trace line '%s'", line);
	}
	assert_int_equal(puts, HT_THREADS * HT_PUTS + 8);
	assert_int_equal(backoff, 8);
	for (t = 0; t < HT_THREADS; t++)
		for (i = 0; i < HT_PUTS; i++) {
			char key[32];

			snprintf(key, sizeof(key), "t%d/k%d", t, i);
			assert_content(fx->s, key, key);
		}
	free(text);
	free(trace);
}

/* ---- the rate limiter ---- */

static void open_limited(struct lfx *fx, uint64_t rate)
{
	fx->cfg.max_bandwidth = rate;
	lfx_open(fx);
}

static void assert_took(double t0, double min, const char *what)
{
	double took = now_s() - t0;

	print_message("%s: %.3f s\n", what, took);
	if (took < min)
		fail_msg("%s took %.3f s, less than %.3f s", what, took, min);
}

/* No limit, no wait: an absurd amount passes at once (a hang fails the
 * test by its timeout). */
static void test_throttle_unlimited(void **state)
{
	struct lfx *fx = *state;

	storage_throttle(NULL, 1);
	lfx_open(fx);
	storage_throttle(fx->s, SIZE_MAX);
	storage_throttle(fx->s, 0);
}

/* The bucket starts empty: 4 MiB at 16 MiB/s take 0.25 s, in steps or
 * in one call. */
static void test_throttle_rate(void **state)
{
	struct lfx *fx = *state;
	double t0;
	int i;

	open_limited(fx, 16 * MIB);
	t0 = now_s();
	for (i = 0; i < 64; i++)
		storage_throttle(fx->s, 64 * 1024);
	assert_took(t0, 0.2, "4 MiB in 64 KiB steps at 16 MiB/s");

	open_limited(fx, 16 * MIB);
	t0 = now_s();
	storage_throttle(fx->s, 4 * MIB);
	assert_took(t0, 0.2, "4 MiB in one call at 16 MiB/s");
}

/* An idle handle saves up a quarter second at most: after 0.5 s idle,
 * 8 MiB at 16 MiB/s still wait for (8 - 4) MiB. */
static void test_throttle_burst_is_small(void **state)
{
	struct lfx *fx = *state;
	struct timespec idle = { 0, 500000000L };
	double t0;

	open_limited(fx, 16 * MIB);
	nanosleep(&idle, NULL);
	t0 = now_s();
	storage_throttle(fx->s, 8 * MIB);
	assert_took(t0, 0.2, "8 MiB after 0.5 s idle at 16 MiB/s");
}

static void *throttle_thread(void *arg)
{
	int i;

	for (i = 0; i < 16; i++)
		storage_throttle(arg, 64 * 1024);
	return NULL;
}

/* Threads share one bucket: 4 x 1 MiB at 16 MiB/s take 0.25 s, not 1/16. */
static void test_throttle_shared(void **state)
{
	struct lfx *fx = *state;
	pthread_t tids[4];
	double t0;
	int i;

	open_limited(fx, 16 * MIB);
	t0 = now_s();
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&tids[i], NULL, throttle_thread, fx->s), 0);
	for (i = 0; i < 4; i++)
		pthread_join(tids[i], NULL);
	assert_took(t0, 0.2, "4 threads x 1 MiB at 16 MiB/s");
}

/* The local backend's data paths pay the limit: put_buf, put_file, get. */
static void test_throttle_local_paths(void **state)
{
	struct lfx *fx = *state;
	unsigned char *data = pattern(4 * MIB, 8);
	struct ordered_sink o = { .want = data, .len = 4 * MIB };
	char *src = path_in(fx->dir, "src");
	double t0;

	scratch_write(fx->dir, "src", data, 4 * MIB);
	fx->cfg.bucket_name = "b";
	open_limited(fx, 16 * MIB);
	t0 = now_s();
	assert_ok(storage_put_buf(fx->s, "k", data, 4 * MIB, 0));
	assert_took(t0, 0.2, "put_buf of 4 MiB at 16 MiB/s");

	open_limited(fx, 16 * MIB);
	t0 = now_s();
	assert_ok(storage_put_file(fx->s, "k2", src, 0, NULL, NULL));
	assert_took(t0, 0.2, "put_file of 4 MiB at 16 MiB/s");

	open_limited(fx, 16 * MIB);
	t0 = now_s();
	assert_ok(storage_get(fx->s, "k2", ordered_sink_fn, &o));
	assert_int_equal(o.got, 4 * MIB);
	assert_took(t0, 0.2, "get of 4 MiB at 16 MiB/s");
	free(src);
	free(data);
}

const struct CMUnitTest core_tests[] = {
	LT(test_retry_then_success),
	LT(test_retry_gives_up),
	LT(test_retry_default_count),
	LT(test_backoff_jitter),
	LT(test_not_retried),
	LT(test_callback_retry_is_final),
	LT(test_get_resumes),
	LT(test_get_progress_resets_budget),
	LT(test_list_resumes),
	LT(test_list_entries_resumes),
	LT(test_fault_grammar),
	LT(test_stat_and_head_apart),
	LT(test_hooks_under_threads),
	LT(test_throttle_unlimited),
	LT(test_throttle_rate),
	LT(test_throttle_burst_is_small),
	LT(test_throttle_shared),
	LT(test_throttle_local_paths),
};

const size_t core_count = ARRAY_LEN(core_tests);
