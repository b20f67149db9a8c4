/*
 * The S3 backend against a real S3 server (a throw-away radosgw): the
 * contract suite, then what only S3 has (signatures, buckets, paging,
 * multipart ETags, awscli interop, virtual-host style), then the network
 * tests of test_storage_s3_net.c.
 *
 * Usage: test_storage_s3 [contract|s3|all]. Run by CTest through
 * tests/support/rgw.sh run, which starts radosgw and exports
 * CASSETTE_TEST_S3_*; run by hand without them, it wraps itself the same
 * way. CST_TEST_FILTER=pattern runs only the matching tests.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "contract.h"
#include "s3_harness.h"
#include "scratch.h"

/* ---- the contract suite ---- */

static int contract_setup(struct storage_config *cfg, void **state)
{
	char *bucket = s3t_bucket_new();

	s3t_cfg_fill(cfg, bucket);
	cfg->retries = cfg->retry_base_ms = 0; /* the defaults, as the suite asks */
	*state = bucket;
	return 0;
}

static void contract_teardown(void *state)
{
	s3t_bucket_remove(state);
}

/* No object and no unfinished multipart upload in the bucket. */
static int contract_check_empty(void *state)
{
	struct membuf objs = { 0 }, ups = { 0 };
	char *q1 = cst_sprintf("%s?list-type=2", (char *)state);
	char *q2 = cst_sprintf("%s?uploads=", (char *)state);
	int bad = 0;

	if (s3t_raw_s3("GET", q1, &objs) != 200 || strstr(objs.p, "<Contents>") != NULL) {
		fprintf(stderr, "bucket %s holds objects:\n%s\n", (char *)state, objs.p);
		bad = 1;
	}
	if (s3t_raw_s3("GET", q2, &ups) != 200 || strstr(ups.p, "<Upload>") != NULL) {
		fprintf(stderr, "bucket %s holds unfinished uploads:\n%s\n", (char *)state,
			ups.p);
		bad = 1;
	}
	free(objs.p);
	free(ups.p);
	free(q1);
	free(q2);
	return bad;
}

static const struct contract_backend s3_backend = {
	.name = "s3 (radosgw)",
	.setup = contract_setup,
	.teardown = contract_teardown,
	.check_empty = contract_check_empty,
};

/* ---- signatures, buckets, ETags ---- */

static void test_wrong_credentials(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg;
	struct storage *s;
	double t0;

	/* A wrong secret: 403 SignatureDoesNotMatch, at once, never retried. */
	s = s3t_open_via_proxy(fx, NULL, &cfg);
	storage_close(s);
	cfg.secret_access_key = "WRONG-SECRET-do-not-print";
	cfg.retries = 5;
	cfg.retry_base_ms = 200;
	assert_ok(storage_open(&s, &cfg));
	t0 = s3t_now_s();
	assert_rc(storage_put_buf(s, "auth/k", "x", 1, 0), CST_EAUTH);
	assert_true(s3t_now_s() - t0 < 2.0);
	assert_msg_has("s3 PUT ");
	assert_msg_has(fx->bucket);
	assert_msg_has("auth/k");
	assert_msg_has("SignatureDoesNotMatch");
	assert_null(strstr(cst_error_msg(), "WRONG-SECRET"));
	assert_null(strstr(cst_error_msg(), s3env.secret));
	assert_int_equal(s3t_proxy_count(&fx->px, ""), 1);
	assert_rc(storage_get_buf(s, "auth/k", &(char *){ NULL }, NULL, 10), CST_EAUTH);
	assert_int_equal(s3t_proxy_count(&fx->px, ""), 2);
	storage_close(s);

	/* An unknown key id. */
	cfg.access_key_id = "AKIDNOBODY";
	assert_ok(storage_open(&s, &cfg));
	assert_rc(storage_put_buf(s, "auth/k", "x", 1, 0), CST_EAUTH);
	assert_msg_has("InvalidAccessKeyId");
	assert_int_equal(s3t_proxy_count(&fx->px, ""), 3);
	storage_close(s);
}

static void test_missing_bucket(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg = fx->cfg;
	struct storage *s;
	struct storage_stat st;
	struct membuf keys = { 0 };

	cfg.bucket_name = "no-such-bucket-here";
	assert_ok(storage_open(&s, &cfg));
	assert_rc(storage_put_buf(s, "k", "x", 1, 0), CST_ENOTFOUND);
	assert_msg_has("bucket no-such-bucket-here does not exist");
	assert_rc(storage_list(s, "", s3t_collect_key, &keys), CST_ENOTFOUND);
	assert_msg_has("bucket no-such-bucket-here does not exist");
	assert_rc(storage_get_buf(s, "k", &(char *){ NULL }, NULL, 10), CST_ENOTFOUND);
	assert_rc(storage_stat(s, "k", &st), CST_ENOTFOUND);
	assert_rc(storage_delete(s, "k"), CST_ENOTFOUND);
	storage_close(s);
}

static void test_etag_and_overwrite(void **state)
{
	struct sfx *fx = *state;
	struct storage_stat st;
	char hex[33], *path;

	assert_ok(storage_put_buf(fx->s, "e/k", "hello", 5, STORAGE_PUT_NO_OVERWRITE));
	assert_ok(storage_stat(fx->s, "e/k", &st));
	s3t_md5_hex(hex, "hello", 5);
	assert_int_equal(st.size, 5);
	assert_string_equal(st.etag, hex);
	/* If-None-Match: * -> 412 -> CST_EEXISTS, for buffers and files. */
	assert_rc(storage_put_buf(fx->s, "e/k", "other", 5, STORAGE_PUT_NO_OVERWRITE),
		  CST_EEXISTS);
	assert_msg_has("e/k");
	scratch_write(fx->dir, "f", "file body", 9);
	path = cst_path_join(fx->dir, "f");
	assert_rc(storage_put_file(fx->s, "e/k", path, STORAGE_PUT_NO_OVERWRITE, NULL, NULL), CST_EEXISTS);
	s3t_assert_content(fx->s, "e/k", "hello", 5);
	assert_ok(storage_put_file(fx->s, "e/k", path, 0, NULL, NULL));
	assert_ok(storage_stat(fx->s, "e/k", &st));
	s3t_md5_hex(hex, "file body", 9);
	assert_string_equal(st.etag, hex);
	assert_rc(storage_stat(fx->s, "e/none", &st), CST_ENOTFOUND);
	assert_msg_has("e/none");
	free(path);
}

/* ---- keys, listing, interop ---- */

static const char *const odd_keys[] = {
	"odd/with space/a b", "odd/plus+and=equals", "odd/tilde~/~x", "odd/100%/%41%2F",
	"odd/caf\xc3\xa9/\xe2\x98\x83 snow", "odd/amp&lt;/<a>&'\"", "odd/q?x=1#frag",
};

static void test_odd_keys_awscli(void **state)
{
	struct sfx *fx = *state;
	struct membuf keys = { 0 }, out = { 0 };
	size_t i, o, prev = 0, n = 0, len = MIB + 123;
	unsigned char *data = malloc(len);
	char *path, *got, *field;

	for (i = 0; i < ARRAY_LEN(odd_keys); i++)
		assert_ok(storage_put_buf(fx->s, odd_keys[i], odd_keys[i], strlen(odd_keys[i]), 0));
	for (i = 0; i < ARRAY_LEN(odd_keys); i++)
		s3t_assert_content(fx->s, odd_keys[i], odd_keys[i], strlen(odd_keys[i]));
	assert_ok(storage_list(fx->s, "odd/", s3t_collect_key, &keys));
	for (o = 0; o < keys.len; prev = o, o += strlen(keys.p + o) + 1, n++)
		if (o > 0)
			assert_true(strcmp(keys.p + prev, keys.p + o) < 0);
	assert_int_equal(n, ARRAY_LEN(odd_keys));

	/* awscli sees the same, literal keys: nothing double-encoded. */
	s3t_aws(&out, "s3api", "list-objects-v2", "--bucket", fx->bucket, "--prefix", "odd/",
	    "--query", "Contents[].Key", "--output", "json", (char *)NULL);
	for (i = 0; i < ARRAY_LEN(odd_keys); i++) {
		field = cst_sprintf("\"%s\"", odd_keys[i]);
		if (strchr(odd_keys[i], '"') == NULL && strstr(out.p, field) == NULL)
			fail_msg("aws does not list '%s':\n%s", odd_keys[i], out.p);
		free(field);
	}
	free(out.p);
	memset(&out, 0, sizeof(out));

	/* aws s3 cp fetches what we wrote, byte for byte ... */
	assert_non_null(data);
	fill_pattern(data, len, 42);
	scratch_write(fx->dir, "blob", data, len);
	path = cst_path_join(fx->dir, "blob");
	assert_ok(storage_put_file(fx->s, "interop/blob", path, 0, NULL, NULL));
	got = cst_sprintf("s3://%s/interop/blob", fx->bucket);
	free(path);
	path = cst_path_join(fx->dir, "blob.aws");
	s3t_aws(NULL, "s3", "cp", "--only-show-errors", got, path, (char *)NULL);
	assert_ok(cst_read_file((char **)&out.p, &out.len, path, 2 * MIB));
	assert_int_equal(out.len, len);
	assert_memory_equal(out.p, data, len);
	free(out.p);
	free(got);

	/* ... and we read what awscli wrote. */
	got = cst_sprintf("s3://%s/interop/from aws", fx->bucket);
	s3t_aws(NULL, "s3", "cp", "--only-show-errors", path, got, (char *)NULL);
	s3t_assert_content(fx->s, "interop/from aws", data, len);
	free(got);
	free(path);
	free(data);
	free(keys.p);
}

struct put_job {
	struct storage *s;
	int first, step, n;
	int del; /* delete the keys instead */
	int rc;
	char msg[256];
};

static void *put_worker(void *arg)
{
	struct put_job *j = arg;
	char key[64], body[16];
	int i;

	for (i = j->first; i < j->n && j->rc == 0; i += j->step) {
		snprintf(key, sizeof(key), "page/%05d", i);
		snprintf(body, sizeof(body), "%d", i);
		j->rc = j->del ? storage_delete(j->s, key)
			       : storage_put_buf(j->s, key, body, strlen(body), 0);
		if (j->rc != 0)
			snprintf(j->msg, sizeof(j->msg), "%s", cst_error_msg());
	}
	return NULL;
}

/* NTHREADS threads on one handle, each taking every NTHREADS-th key. */
static void run_put_jobs(struct storage *s, int nkeys, int del)
{
	enum { NTHREADS = 8 };
	struct put_job jobs[NTHREADS];
	pthread_t th[NTHREADS];
	int i;

	for (i = 0; i < NTHREADS; i++) {
		jobs[i] = (struct put_job){ .s = s, .first = i, .step = NTHREADS, .n = nkeys,
					    .del = del };
		assert_int_equal(pthread_create(&th[i], NULL, put_worker, &jobs[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rc != 0)
			fail_msg("thread %d: %d %s", i, jobs[i].rc, jobs[i].msg);
	}
}

struct page_check {
	int n, bad;
	char last[64];
};

static int page_cb(void *arg, const char *key, uint64_t size)
{
	struct page_check *c = arg;
	char want[64];

	snprintf(want, sizeof(want), "page/%05d", c->n);
	if (strcmp(key, want) != 0 || size != (uint64_t)snprintf(NULL, 0, "%d", c->n))
		c->bad++;
	c->n++;
	return 0;
}

static void test_list_paging(void **state)
{
	struct sfx *fx = *state;
	enum { NKEYS = 2500 };
	struct page_check pc = { 0 };
	struct storage_config cfg;
	struct storage *s;

	run_put_jobs(fx->s, NKEYS, 0);
	/* Neighbours the prefix must leave out. */
	assert_ok(storage_put_buf(fx->s, "pagf", "x", 1, 0));
	assert_ok(storage_put_buf(fx->s, "pag", "x", 1, 0));

	s = s3t_open_via_proxy(fx, NULL, &cfg);
	assert_ok(storage_list(s, "page/", page_cb, &pc));
	assert_int_equal(pc.n, NKEYS);
	assert_int_equal(pc.bad, 0);
	/* 1000 keys a page: three pages, each asking for the next. */
	assert_int_equal(s3t_proxy_count(&fx->px, "list-type=2"), 3);
	assert_int_equal(s3t_proxy_count(&fx->px, "continuation-token="), 2);
	storage_close(s);
	run_put_jobs(fx->s, NKEYS, 1);
	pc.n = 0;
	assert_ok(storage_list(fx->s, "page/", page_cb, &pc));
	assert_int_equal(pc.n, 0);
}

/* ---- multipart ---- */

struct part_job {
	struct storage_upload *u;
	unsigned no;
	char *path;
	unsigned char md5[16];
	int rc;
	char msg[256];
};

static void *part_worker(void *arg)
{
	struct part_job *j = arg;

	if ((j->rc = storage_upload_part(j->u, j->no, j->path, j->md5)) != 0)
		snprintf(j->msg, sizeof(j->msg), "%s", cst_error_msg());
	return NULL;
}

static void test_multipart(void **state)
{
	struct sfx *fx = *state;
	const size_t sizes[3] = { 5 * MIB, 5 * MIB, 2 * MIB }, len = 12 * MIB;
	unsigned char *data = malloc(len), all[3 * 16], md[16];
	struct part_job jobs[3];
	pthread_t th[3];
	struct storage_upload *u = NULL;
	struct storage_stat st;
	struct membuf out = { 0 };
	char name[16], hex[33], want[48], quoted[64];
	size_t off = 0;
	int i;

	assert_non_null(data);
	fill_pattern(data, len, 12);
	assert_ok(storage_upload_begin(&u, fx->s, "mpu/twelve", STORAGE_PUT_NO_OVERWRITE));
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "part%d", i + 1);
		scratch_write(fx->dir, name, data + off, sizes[i]);
		jobs[i] = (struct part_job){ .u = u, .no = (unsigned)i + 1,
					     .path = cst_path_join(fx->dir, name) };
		assert_int_equal(EVP_Digest(data + off, sizes[i], jobs[i].md5, NULL, EVP_md5(),
					    NULL), 1);
		memcpy(all + 16 * i, jobs[i].md5, 16);
		off += sizes[i];
	}
	/* The parts go up at once, the last first. */
	for (i = 2; i >= 0; i--)
		assert_int_equal(pthread_create(&th[i], NULL, part_worker, &jobs[i]), 0);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		if (jobs[i].rc != 0)
			fail_msg("part %d: %d %s", i + 1, jobs[i].rc, jobs[i].msg);
	}
	assert_ok(storage_upload_commit(u, 3, NULL));
	storage_upload_free(u);

	assert_int_equal(EVP_Digest(all, sizeof(all), md, NULL, EVP_md5(), NULL), 1);
	cst_hex(hex, md, 16);
	snprintf(want, sizeof(want), "%s-3", hex);
	assert_ok(storage_stat(fx->s, "mpu/twelve", &st));
	assert_int_equal(st.size, len);
	assert_string_equal(st.etag, want);
	s3t_assert_content(fx->s, "mpu/twelve", data, len);

	/* awscli reports the same multipart ETag. */
	s3t_aws(&out, "s3api", "head-object", "--bucket", fx->bucket, "--key", "mpu/twelve",
	    "--query", "ETag", "--output", "text", (char *)NULL);
	snprintf(quoted, sizeof(quoted), "\"%s\"\n", want);
	assert_string_equal(out.p, quoted);
	free(out.p);
	for (i = 0; i < 3; i++)
		free(jobs[i].path);
	free(data);
}

static void test_multipart_abort(void **state)
{
	struct sfx *fx = *state;
	struct storage_upload *u = NULL;
	struct membuf out = { 0 };
	unsigned char md5[16];
	char *path, *q;
	size_t len = 5 * MIB;
	unsigned char *data = malloc(len);

	assert_non_null(data);
	fill_pattern(data, len, 3);
	scratch_write(fx->dir, "p1", data, len);
	path = cst_path_join(fx->dir, "p1");
	assert_int_equal(EVP_Digest(data, len, md5, NULL, EVP_md5(), NULL), 1);

	/* Freed without commit: aborted, nothing left on the server. */
	assert_ok(storage_upload_begin(&u, fx->s, "mpu/aborted", 0));
	assert_ok(storage_upload_part(u, 1, path, md5));
	storage_upload_free(u);
	q = cst_sprintf("%s?uploads=", fx->bucket);
	assert_int_equal(s3t_raw_s3("GET", q, &out), 200);
	if (strstr(out.p, "<Upload>") != NULL)
		fail_msg("an upload is left:\n%s", out.p);
	free(out.p);

	/* A part whose MD5 is not its content is refused by the server. */
	assert_ok(storage_upload_begin(&u, fx->s, "mpu/bad", 0));
	md5[0] ^= 1;
	assert_rc(storage_upload_part(u, 1, path, md5), CST_EINTEGRITY);
	assert_msg_has("BadDigest");
	md5[0] ^= 1;
	/* Commit with a part missing. */
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EINVALID);
	storage_upload_free(u);

	/* NO_OVERWRITE on an existing key: the commit refuses, and the
	 * upload is aborted. */
	assert_ok(storage_put_buf(fx->s, "mpu/exists", "x", 1, 0));
	assert_ok(storage_upload_begin(&u, fx->s, "mpu/exists", STORAGE_PUT_NO_OVERWRITE));
	assert_ok(storage_upload_part(u, 1, path, md5));
	assert_rc(storage_upload_commit(u, 1, NULL), CST_EEXISTS);
	assert_msg_has("mpu/exists");
	storage_upload_free(u);
	s3t_assert_content(fx->s, "mpu/exists", "x", 1);
	memset(&out, 0, sizeof(out));
	assert_int_equal(s3t_raw_s3("GET", q, &out), 200);
	assert_null(strstr(out.p, "<Upload>"));
	free(out.p);
	free(q);
	free(path);
	free(data);
}

/* ---- virtual-host style: http://BUCKET.localhost:PORT/KEY ---- */

static void test_virtual_host_style(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg = fx->cfg;
	struct membuf keys = { 0 };
	struct storage_stat st;
	struct storage *s;

	/* rgw.sh sets "rgw dns name = localhost"; curl resolves *.localhost. */
	cfg.host = "localhost";
	cfg.virtual_host_style = 1;
	assert_ok(storage_open(&s, &cfg));
	assert_ok(storage_put_buf(s, "vh/a b+c", "virtual", 7, 0));
	s3t_assert_content(s, "vh/a b+c", "virtual", 7);
	assert_ok(storage_list(s, "vh/", s3t_collect_key, &keys));
	assert_string_equal(keys.p, "vh/a b+c");
	assert_ok(storage_stat(s, "vh/a b+c", &st));
	assert_int_equal(st.size, 7);
	/* The same object, path style. */
	s3t_assert_content(fx->s, "vh/a b+c", "virtual", 7);
	assert_ok(storage_delete(s, "vh/a b+c"));
	storage_close(s);
	free(keys.p);
}

static void test_config_errors(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg;
	struct storage *s = NULL;
	static const struct {
		const char *field;
		size_t off;
		const char *value;
	} bad[] = {
		{ "bucket_name", offsetof(struct storage_config, bucket_name), NULL },
		{ "bucket_name", offsetof(struct storage_config, bucket_name), "a/b" },
		{ "host", offsetof(struct storage_config, host), NULL },
		{ "host", offsetof(struct storage_config, host), "http://example.com" },
		{ "host", offsetof(struct storage_config, host), "example.com:9000" },
		{ "access_key_id", offsetof(struct storage_config, access_key_id), "" },
		{ "secret_access_key", offsetof(struct storage_config, secret_access_key), NULL },
		{ "region", offsetof(struct storage_config, region), "us east" },
		{ "ca_file", offsetof(struct storage_config, ca_file), "/nonexistent/ca.pem" },
	};
	size_t i;

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		cfg = fx->cfg;
		memcpy((char *)&cfg + bad[i].off, &bad[i].value, sizeof(const char *));
		assert_rc(storage_open(&s, &cfg), CST_EINVALID);
		assert_null(s);
		assert_msg_has(bad[i].field);
	}
	cfg = fx->cfg;
	cfg.port = 70000;
	assert_rc(storage_open(&s, &cfg), CST_EINVALID);
	assert_msg_has("port");
	/* An explicit region works as the default did. */
	cfg = fx->cfg;
	cfg.region = "us-east-1";
	assert_ok(storage_open(&s, &cfg));
	assert_string_equal(storage_provider(s), "s3");
	assert_ok(storage_put_buf(s, "cfg/k", "x", 1, 0));
	storage_close(s);
}

static const struct CMUnitTest s3_tests[] = {
	ST(test_wrong_credentials),
	ST(test_missing_bucket),
	ST(test_etag_and_overwrite),
	ST(test_odd_keys_awscli),
	ST(test_list_paging),
	ST(test_multipart),
	ST(test_multipart_abort),
	ST(test_virtual_host_style),
	ST(test_config_errors),
};

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int failed = 0;

	if (!s3t_env_ok()) {
		/* Run by hand: wrap ourselves in a radosgw of our own. */
		const char *wrap[] = { "bash", CST_TEST_SUPPORT_DIR "/rgw.sh", "run", "--",
				       argv[0], what, NULL };

		if (getenv("CST_S3_WRAPPED") == NULL) {
			setenv("CST_S3_WRAPPED", "1", 1);
			execvp(wrap[0], (char *const *)wrap);
		}
		fprintf(stderr, "test_storage_s3: no S3 server: run it through "
				"tests/support/rgw.sh run -- %s [contract|s3]\n", argv[0]);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN); /* as the agent does; see storage/s3.c */
	unsetenv("CASSETTE_STORAGE_TRACE");
	unsetenv("CASSETTE_STORAGE_FAULTS");
	/* curl and awscli would send 127.0.0.1 through a proxy named here. */
	unsetenv("http_proxy");
	unsetenv("https_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("CST_TEST_FILTER") != NULL) /* e.g. "test_multipart*" */
		cmocka_set_test_filter(getenv("CST_TEST_FILTER"));
	if (strcmp(what, "contract") == 0 || strcmp(what, "all") == 0)
		failed += contract_run(&s3_backend);
	if (strcmp(what, "s3") == 0 || strcmp(what, "all") == 0) {
		failed += cmocka_run_group_tests_name("storage s3", s3_tests, NULL, NULL);
		failed += _cmocka_run_group_tests("storage s3 net", s3_net_tests, s3_net_count,
						  NULL, NULL);
	}
	curl_global_cleanup();
	return failed != 0;
}
