/*
 * The S3 backend against a real S3 server (a throw-away radosgw): the
 * contract suite, then what only S3 has (signatures, buckets, paging,
 * multipart ETags, awscli interop, retries through a fault proxy, https).
 *
 * Run it through tests/support/rgw.sh run -- test_storage_s3 [contract|s3],
 * which starts radosgw and exports CASSETTE_TEST_S3_*.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "backend.h" /* white-box: get() with an offset */
#include "contract.h"
#include "scratch.h"
#include "storage.h"
#include "util.h"

#ifndef CST_TEST_SUPPORT_DIR
#error "CST_TEST_SUPPORT_DIR must name tests/support"
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIB (1024 * 1024)

#define assert_ok(expr)                                                              \
	do {                                                                         \
		int rc_ = (expr);                                                    \
		if (rc_ != 0)                                                        \
			fail_msg("%s = %d (%s)", #expr, rc_, cst_error_msg());       \
	} while (0)

#define assert_rc(expr, want)                                                        \
	do {                                                                         \
		int rc_ = (expr);                                                    \
		if (rc_ != (want))                                                   \
			fail_msg("%s = %d, want %d (%s)", #expr, rc_, (want),        \
				 cst_error_msg());                                   \
	} while (0)

#define assert_msg_has(s)                                                            \
	do {                                                                         \
		if (strstr(cst_error_msg(), (s)) == NULL)                            \
			fail_msg("message '%s' lacks '%s'", cst_error_msg(), (s));   \
	} while (0)

static struct {
	const char *endpoint, *host, *bucket, *key_id, *secret;
	int port;
} env;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- raw S3 requests for the fixture (bucket create / delete, uploads) ---- */

struct membuf {
	char *p;
	size_t len;
};

static size_t membuf_write(char *data, size_t size, size_t n, void *arg)
{
	struct membuf *m = arg;

	m->p = realloc(m->p, m->len + size * n + 1);
	assert_non_null(m->p);
	memcpy(m->p + m->len, data, size * n);
	m->len += size * n;
	m->p[m->len] = '\0';
	return size * n;
}

/* A signed request without a body to http://host:port/PATH; the status. */
static long raw_s3(const char *method, const char *path, struct membuf *out)
{
	struct curl_slist *h = curl_slist_append(
		NULL, "x-amz-content-sha256: "
		      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	struct membuf sink = { 0 };
	char *url = cst_sprintf("%s/%s", env.endpoint, path);
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
	curl_easy_setopt(c, CURLOPT_USERNAME, env.key_id);
	curl_easy_setopt(c, CURLOPT_PASSWORD, env.secret);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, membuf_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out != NULL ? out : &sink);
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
	} else if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	free(sink.p);
	free(url);
	return status;
}

static void cfg_fill(struct storage_config *cfg, const char *bucket)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->provider = "s3";
	cfg->host = env.host;
	cfg->port = env.port;
	cfg->bucket_name = bucket;
	cfg->ssl_verify = 1;
	cfg->region = NULL; /* the default, us-east-1 */
	cfg->access_key_id = env.key_id;
	cfg->secret_access_key = env.secret;
	cfg->retries = 3;
	cfg->retry_base_ms = 5;
}

static int collect_key(void *arg, const char *key, uint64_t size)
{
	struct membuf *m = arg;

	(void)size;
	membuf_write((char *)key, 1, strlen(key) + 1, m);
	return 0;
}

/* A fresh, empty bucket of its own. */
static char *bucket_new(void)
{
	static unsigned n;
	char *name = cst_sprintf("t-%d-%u", (int)getpid(), ++n);

	assert_non_null(name);
	assert_int_equal(raw_s3("PUT", name, NULL), 200);
	return name;
}

/* Empty the bucket (objects, then unfinished uploads) and remove it. */
static void bucket_remove(char *name)
{
	struct storage_config cfg;
	struct storage *s = NULL;
	struct membuf keys = { 0 };
	size_t o;

	cfg_fill(&cfg, name);
	if (storage_open(&s, &cfg) == 0 && storage_list(s, "", collect_key, &keys) == 0)
		for (o = 0; o < keys.len; o += strlen(keys.p + o) + 1)
			storage_delete(s, keys.p + o);
	storage_close(s);
	raw_s3("DELETE", name, NULL); /* best effort: radosgw is thrown away */
	free(keys.p);
	free(name);
}

/* ---- the contract suite ---- */

static int contract_setup(struct storage_config *cfg, void **state)
{
	char *bucket = bucket_new();

	cfg_fill(cfg, bucket);
	cfg->retries = cfg->retry_base_ms = 0; /* the defaults, as the suite asks */
	*state = bucket;
	return 0;
}

static void contract_teardown(void *state)
{
	bucket_remove(state);
}

/* No object and no unfinished multipart upload in the bucket. */
static int contract_check_empty(void *state)
{
	struct membuf objs = { 0 }, ups = { 0 };
	char *q1 = cst_sprintf("%s?list-type=2", (char *)state);
	char *q2 = cst_sprintf("%s?uploads=", (char *)state);
	int bad = 0;

	if (raw_s3("GET", q1, &objs) != 200 || strstr(objs.p, "<Contents>") != NULL) {
		fprintf(stderr, "bucket %s holds objects:\n%s\n", (char *)state, objs.p);
		bad = 1;
	}
	if (raw_s3("GET", q2, &ups) != 200 || strstr(ups.p, "<Upload>") != NULL) {
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

/* ---- the fault proxy ---- */

struct proxy {
	pid_t pid;
	int port;
	char *log;
};

/* Start fault_proxy.py in front of radosgw with `args` (NULL-terminated). */
static void proxy_start(struct proxy *p, const char *dir, const char *const *args)
{
	const char *argv[24] = { "python3", CST_TEST_SUPPORT_DIR "/fault_proxy.py", "--target" };
	char target[64], line[32];
	int fds[2], i = 3, j;
	FILE *f;

	p->log = cst_path_join(dir, "proxy.log");
	snprintf(target, sizeof(target), "%s:%d", env.host, env.port);
	argv[i++] = target;
	argv[i++] = "--log";
	argv[i++] = p->log;
	for (j = 0; args != NULL && args[j] != NULL; j++)
		argv[i++] = args[j];
	argv[i] = NULL;
	assert_int_equal(pipe(fds), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	if (fgets(line, sizeof(line), f) == NULL)
		fail_msg("fault_proxy.py did not start");
	fclose(f);
	p->port = atoi(line);
	assert_true(p->port > 0);
}

static void proxy_stop(struct proxy *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
	free(p->log);
	memset(p, 0, sizeof(*p));
}

/* Lines of the proxy log that hold `what` (all lines for ""). */
static int proxy_count(const struct proxy *p, const char *what)
{
	char line[4096];
	FILE *f = fopen(p->log, "r");
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/* ---- awscli and other commands ---- */

/* Run argv, capturing stdout into *out (may be NULL; then stderr is
 * dropped too, for chatty tools); the exit status. */
static int run_cmd(const char *const *argv, struct membuf *out)
{
	int fds[2], status = -1;
	char buf[4096];
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		if (out == NULL)
			dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) > 0)
		if (out != NULL)
			membuf_write(buf, 1, (size_t)n, out);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void aws_env(void)
{
	setenv("AWS_ACCESS_KEY_ID", env.key_id, 1);
	setenv("AWS_SECRET_ACCESS_KEY", env.secret, 1);
	setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
	setenv("AWS_CONFIG_FILE", "/dev/null", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_PAGER", "", 1);
	setenv("PYTHONIOENCODING", "utf-8", 1);
}

/* /usr/bin/aws --endpoint-url ENDPOINT ARGS... (NULL-terminated); stdout
 * in *out when not NULL. */
static void aws(struct membuf *out, ...)
{
	const char *argv[24] = { "/usr/bin/aws", "--endpoint-url", env.endpoint };
	struct membuf ignored = { 0 };
	const char *a;
	va_list ap;
	int i = 3;

	va_start(ap, out);
	while ((a = va_arg(ap, const char *)) != NULL && i < 23)
		argv[i++] = a;
	va_end(ap);
	argv[i] = NULL;
	aws_env();
	if (run_cmd(argv, out != NULL ? out : &ignored) != 0)
		fail_msg("aws %s %s %s failed", argv[3], argv[4], argv[5] ? argv[5] : "");
	free(ignored.p);
}

/* ---- the S3 fixture: a fresh bucket, a handle on it, a scratch dir ---- */

struct sfx {
	char *bucket;
	char *dir;
	struct storage_config cfg;
	struct storage *s;
	struct proxy px;
};

static int sfx_setup(void **state)
{
	struct sfx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->bucket = bucket_new();
	fx->dir = scratch_new("s3");
	cfg_fill(&fx->cfg, fx->bucket);
	assert_ok(storage_open(&fx->s, &fx->cfg));
	*state = fx;
	return 0;
}

static int sfx_teardown(void **state)
{
	struct sfx *fx = *state;

	storage_close(fx->s);
	proxy_stop(&fx->px);
	bucket_remove(fx->bucket);
	scratch_remove(fx->dir);
	free(fx);
	return 0;
}

/* A second handle on the fixture's bucket through a fresh proxy. */
static struct storage *open_via_proxy(struct sfx *fx, const char *const *args,
				      struct storage_config *cfg)
{
	struct storage *s = NULL;

	proxy_start(&fx->px, fx->dir, args);
	*cfg = fx->cfg;
	cfg->port = fx->px.port;
	assert_ok(storage_open(&s, cfg));
	return s;
}

static void fill_pattern(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed | 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
}

static void md5_hex(char out[33], const void *buf, size_t len)
{
	unsigned char md[16];

	assert_int_equal(EVP_Digest(buf, len, md, NULL, EVP_md5(), NULL), 1);
	cst_hex(out, md, 16);
}

static void assert_content(struct storage *s, const char *key, const void *want, size_t len)
{
	char *got = NULL;
	size_t got_len = 0;

	assert_ok(storage_get_buf(s, key, &got, &got_len, 64 * MIB));
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

/* ---- signatures, buckets, ETags ---- */

static void test_wrong_credentials(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg;
	struct storage *s;
	double t0;

	/* A wrong secret: 403 SignatureDoesNotMatch, at once, never retried. */
	s = open_via_proxy(fx, NULL, &cfg);
	storage_close(s);
	cfg.secret_access_key = "WRONG-SECRET-do-not-print";
	cfg.retries = 5;
	cfg.retry_base_ms = 200;
	assert_ok(storage_open(&s, &cfg));
	t0 = now_s();
	assert_rc(storage_put_buf(s, "auth/k", "x", 1, 0), CST_EAUTH);
	assert_true(now_s() - t0 < 2.0);
	assert_msg_has("s3 PUT ");
	assert_msg_has(fx->bucket);
	assert_msg_has("auth/k");
	assert_msg_has("SignatureDoesNotMatch");
	assert_null(strstr(cst_error_msg(), "WRONG-SECRET"));
	assert_null(strstr(cst_error_msg(), env.secret));
	assert_int_equal(proxy_count(&fx->px, ""), 1);
	assert_rc(storage_get_buf(s, "auth/k", &(char *){ NULL }, NULL, 10), CST_EAUTH);
	assert_int_equal(proxy_count(&fx->px, ""), 2);
	storage_close(s);

	/* An unknown key id. */
	cfg.access_key_id = "AKIDNOBODY";
	assert_ok(storage_open(&s, &cfg));
	assert_rc(storage_put_buf(s, "auth/k", "x", 1, 0), CST_EAUTH);
	assert_msg_has("InvalidAccessKeyId");
	assert_int_equal(proxy_count(&fx->px, ""), 3);
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
	assert_rc(storage_list(s, "", collect_key, &keys), CST_ENOTFOUND);
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
	md5_hex(hex, "hello", 5);
	assert_int_equal(st.size, 5);
	assert_string_equal(st.etag, hex);
	/* If-None-Match: * -> 412 -> CST_EEXISTS, for buffers and files. */
	assert_rc(storage_put_buf(fx->s, "e/k", "other", 5, STORAGE_PUT_NO_OVERWRITE),
		  CST_EEXISTS);
	assert_msg_has("e/k");
	scratch_write(fx->dir, "f", "file body", 9);
	path = cst_path_join(fx->dir, "f");
	assert_rc(storage_put_file(fx->s, "e/k", path, STORAGE_PUT_NO_OVERWRITE), CST_EEXISTS);
	assert_content(fx->s, "e/k", "hello", 5);
	assert_ok(storage_put_file(fx->s, "e/k", path, 0));
	assert_ok(storage_stat(fx->s, "e/k", &st));
	md5_hex(hex, "file body", 9);
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
		assert_content(fx->s, odd_keys[i], odd_keys[i], strlen(odd_keys[i]));
	assert_ok(storage_list(fx->s, "odd/", collect_key, &keys));
	for (o = 0; o < keys.len; prev = o, o += strlen(keys.p + o) + 1, n++)
		if (o > 0)
			assert_true(strcmp(keys.p + prev, keys.p + o) < 0);
	assert_int_equal(n, ARRAY_LEN(odd_keys));

	/* awscli sees the same, literal keys: nothing double-encoded. */
	aws(&out, "s3api", "list-objects-v2", "--bucket", fx->bucket, "--prefix", "odd/",
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
	assert_ok(storage_put_file(fx->s, "interop/blob", path, 0));
	got = cst_sprintf("s3://%s/interop/blob", fx->bucket);
	free(path);
	path = cst_path_join(fx->dir, "blob.aws");
	aws(NULL, "s3", "cp", "--only-show-errors", got, path, (char *)NULL);
	assert_ok(cst_read_file((char **)&out.p, &out.len, path, 2 * MIB));
	assert_int_equal(out.len, len);
	assert_memory_equal(out.p, data, len);
	free(out.p);
	free(got);

	/* ... and we read what awscli wrote. */
	got = cst_sprintf("s3://%s/interop/from aws", fx->bucket);
	aws(NULL, "s3", "cp", "--only-show-errors", path, got, (char *)NULL);
	assert_content(fx->s, "interop/from aws", data, len);
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

	s = open_via_proxy(fx, NULL, &cfg);
	assert_ok(storage_list(s, "page/", page_cb, &pc));
	assert_int_equal(pc.n, NKEYS);
	assert_int_equal(pc.bad, 0);
	/* 1000 keys a page: three pages, each asking for the next. */
	assert_int_equal(proxy_count(&fx->px, "list-type=2"), 3);
	assert_int_equal(proxy_count(&fx->px, "continuation-token="), 2);
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
	assert_ok(storage_upload_commit(u, 3));
	storage_upload_free(u);

	assert_int_equal(EVP_Digest(all, sizeof(all), md, NULL, EVP_md5(), NULL), 1);
	cst_hex(hex, md, 16);
	snprintf(want, sizeof(want), "%s-3", hex);
	assert_ok(storage_stat(fx->s, "mpu/twelve", &st));
	assert_int_equal(st.size, len);
	assert_string_equal(st.etag, want);
	assert_content(fx->s, "mpu/twelve", data, len);

	/* awscli reports the same multipart ETag. */
	aws(&out, "s3api", "head-object", "--bucket", fx->bucket, "--key", "mpu/twelve",
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
	assert_int_equal(raw_s3("GET", q, &out), 200);
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
	assert_rc(storage_upload_commit(u, 1), CST_EINVALID);
	storage_upload_free(u);

	/* NO_OVERWRITE on an existing key: the commit refuses, and the
	 * upload is aborted. */
	assert_ok(storage_put_buf(fx->s, "mpu/exists", "x", 1, 0));
	assert_ok(storage_upload_begin(&u, fx->s, "mpu/exists", STORAGE_PUT_NO_OVERWRITE));
	assert_ok(storage_upload_part(u, 1, path, md5));
	assert_rc(storage_upload_commit(u, 1), CST_EEXISTS);
	assert_msg_has("mpu/exists");
	storage_upload_free(u);
	assert_content(fx->s, "mpu/exists", "x", 1);
	memset(&out, 0, sizeof(out));
	assert_int_equal(raw_s3("GET", q, &out), 200);
	assert_null(strstr(out.p, "<Upload>"));
	free(out.p);
	free(q);
	free(path);
	free(data);
}

/* ---- retries and failures, through the fault proxy ---- */

static void test_retry_rides_out_503(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--fail-first", "3", NULL };
	struct storage_config cfg;
	struct storage *s = open_via_proxy(fx, args, &cfg);
	size_t len = 2 * MIB + 1;
	unsigned char *data = malloc(len);
	char *path;

	/* A body large enough for "Expect: 100-continue": the 503 comes
	 * before the body is sent, and every attempt sends it whole. */
	assert_non_null(data);
	fill_pattern(data, len, 503);
	scratch_write(fx->dir, "big", data, len);
	path = cst_path_join(fx->dir, "big");
	assert_ok(storage_put_file(s, "r/big", path, 0));
	assert_int_equal(proxy_count(&fx->px, " fail"), 3);
	assert_int_equal(proxy_count(&fx->px, "PUT"), 4);
	assert_content(s, "r/big", data, len);
	free(path);
	free(data);
	storage_close(s);
}

static void test_retry_rides_out_500(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--fail-first", "2", "--status", "500", "--code",
			       "InternalError", NULL };
	struct storage_config cfg;
	struct storage *s = open_via_proxy(fx, args, &cfg);
	char *got = NULL;

	assert_ok(storage_put_buf(fx->s, "r/k", "abc", 3, 0));
	assert_ok(storage_get_buf(s, "r/k", &got, NULL, 10));
	assert_string_equal(got, "abc");
	assert_int_equal(proxy_count(&fx->px, "GET"), 3);
	free(got);
	storage_close(s);
}

static void test_server_stays_down(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--fail-all", NULL };
	struct storage_config cfg;
	struct storage *s = open_via_proxy(fx, args, &cfg);
	int rc;

	rc = storage_put_buf(s, "down/k", "x", 1, 0);
	if (rc != CST_EIO && rc != CST_ERETRY)
		fail_msg("rc %d (%s)", rc, cst_error_msg());
	assert_msg_has("s3 PUT ");
	assert_msg_has("down/k");
	assert_msg_has("SlowDown");
	assert_msg_has("503");
	assert_int_equal(proxy_count(&fx->px, ""), 1 + 3); /* cfg.retries = 3 */
	storage_close(s);
}

static void test_connection_resets(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--reset-first", "2", NULL };
	struct storage_config cfg;
	struct storage *s = open_via_proxy(fx, args, &cfg);

	assert_ok(storage_put_buf(s, "reset/k", "after resets", 12, 0));
	assert_int_equal(proxy_count(&fx->px, " reset"), 2);
	assert_content(fx->s, "reset/k", "after resets", 12);
	storage_close(s);
}

static void test_connection_refused(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg = fx->cfg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sa);
	struct storage *s;
	double t0;
	int fd, rc;

	/* A port that was free a moment ago: nothing listens there. */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &slen), 0);
	close(fd);
	cfg.port = ntohs(sa.sin_port);
	assert_ok(storage_open(&s, &cfg));
	t0 = now_s();
	rc = storage_put_buf(s, "refused/k", "x", 1, 0);
	if (rc != CST_EIO && rc != CST_ERETRY)
		fail_msg("rc %d (%s)", rc, cst_error_msg());
	assert_true(now_s() - t0 < 5.0);
	assert_msg_has("refused/k");
	assert_msg_has("Couldn't connect");
	storage_close(s);
}

/* ---- ranged get ---- */

static int append_sink(void *arg, const unsigned char *buf, size_t len)
{
	membuf_write((char *)buf, 1, len, arg);
	return 0;
}

static void test_ranged_get(void **state)
{
	struct sfx *fx = *state;
	struct membuf m = { 0 };
	struct storage_config cfg;
	struct storage *s;
	size_t len = 3 * MIB + 7;
	unsigned char *data = malloc(len);

	assert_ok(storage_put_buf(fx->s, "range/k", "0123456789", 10, 0));
	/* The backend's get(offset), directly. */
	assert_ok(fx->s->ops->get(fx->s, "range/k", 5, append_sink, &m));
	assert_int_equal(m.len, 5);
	assert_memory_equal(m.p, "56789", 5);
	free(m.p);
	memset(&m, 0, sizeof(m));
	/* At the very end: nothing more, and no error. */
	assert_ok(fx->s->ops->get(fx->s, "range/k", 10, append_sink, &m));
	assert_int_equal(m.len, 0);
	assert_rc(fx->s->ops->get(fx->s, "range/k", 11, append_sink, &m), CST_EINVALID);
	assert_rc(fx->s->ops->get(fx->s, "range/none", 3, append_sink, &m), CST_ENOTFOUND);

	/* storage.c resumes a cut transfer where it stopped, with a Range. */
	assert_non_null(data);
	fill_pattern(data, len, 77);
	assert_ok(storage_put_buf(fx->s, "range/big", data, len, 0));
	setenv("CASSETTE_STORAGE_FAULTS", "get:1:cut=1000000", 1);
	s = open_via_proxy(fx, NULL, &cfg);
	unsetenv("CASSETTE_STORAGE_FAULTS");
	assert_content(s, "range/big", data, len);
	assert_int_equal(proxy_count(&fx->px, "range=bytes=1000000-"), 1);
	storage_close(s);
	free(data);
}

/* ---- https ---- */

static void test_https(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg;
	struct storage *s;
	char *cert = cst_path_join(fx->dir, "cert.pem"), *key = cst_path_join(fx->dir, "key.pem");
	const char *gen[] = { "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			      "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
			      "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
			      "-keyout", key, "-out", cert, NULL };
	const char *args[] = { "--tls-cert", cert, "--tls-key", key, NULL };

	assert_int_equal(run_cmd(gen, NULL), 0);
	s = open_via_proxy(fx, args, &cfg);
	storage_close(s);
	cfg.secure = 1;

	/* Verification on, the system CAs: a self-signed server is refused,
	 * at once (not retried). */
	assert_ok(storage_open(&s, &cfg));
	assert_rc(storage_put_buf(s, "tls/k", "x", 1, 0), CST_EAUTH);
	assert_msg_has("certificate");
	storage_close(s);

	/* Trusting that certificate: accepted. */
	cfg.ca_file = cert;
	assert_ok(storage_open(&s, &cfg));
	assert_ok(storage_put_buf(s, "tls/k", "over tls", 8, 0));
	assert_content(s, "tls/k", "over tls", 8);
	storage_close(s);

	/* Verification off (a warning is the agent's business). */
	cfg.ca_file = NULL;
	cfg.ssl_verify = 0;
	assert_ok(storage_open(&s, &cfg));
	assert_content(s, "tls/k", "over tls", 8);
	storage_close(s);
	free(cert);
	free(key);
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
	assert_content(s, "vh/a b+c", "virtual", 7);
	assert_ok(storage_list(s, "vh/", collect_key, &keys));
	assert_string_equal(keys.p, "vh/a b+c");
	assert_ok(storage_stat(s, "vh/a b+c", &st));
	assert_int_equal(st.size, 7);
	/* The same object, path style. */
	assert_content(fx->s, "vh/a b+c", "virtual", 7);
	assert_ok(storage_delete(s, "vh/a b+c"));
	storage_close(s);
	free(keys.p);
}

/* ---- the bandwidth cap and the configuration ---- */

static void test_bandwidth_limit(void **state)
{
	struct sfx *fx = *state;
	struct storage_config cfg = fx->cfg;
	struct storage *s;
	size_t len = 512 * 1024;
	unsigned char *data = calloc(1, len);
	double t0, dt;

	/* 1 MiB/s for 512 KiB up and 512 KiB down: about a second. */
	cfg.max_bandwidth = MIB;
	assert_non_null(data);
	assert_ok(storage_open(&s, &cfg));
	t0 = now_s();
	assert_ok(storage_put_buf(s, "bw/k", data, len, 0));
	assert_content(s, "bw/k", data, len);
	dt = now_s() - t0;
	if (dt < 0.7 || dt > 10)
		fail_msg("1 MiB at 1 MiB/s took %.2f s", dt);
	storage_close(s);
	free(data);
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

#define ST(f) cmocka_unit_test_setup_teardown(f, sfx_setup, sfx_teardown)

static const struct CMUnitTest s3_tests[] = {
	ST(test_wrong_credentials),
	ST(test_missing_bucket),
	ST(test_etag_and_overwrite),
	ST(test_odd_keys_awscli),
	ST(test_list_paging),
	ST(test_multipart),
	ST(test_multipart_abort),
	ST(test_retry_rides_out_503),
	ST(test_retry_rides_out_500),
	ST(test_server_stays_down),
	ST(test_connection_resets),
	ST(test_connection_refused),
	ST(test_ranged_get),
	ST(test_https),
	ST(test_virtual_host_style),
	ST(test_bandwidth_limit),
	ST(test_config_errors),
};

static int env_ok(void)
{
	const char *port = getenv("CASSETTE_TEST_S3_PORT");

	env.endpoint = getenv("CASSETTE_TEST_S3_ENDPOINT");
	env.host = getenv("CASSETTE_TEST_S3_HOST");
	env.bucket = getenv("CASSETTE_TEST_S3_BUCKET");
	env.key_id = getenv("CASSETTE_TEST_S3_KEY_ID");
	env.secret = getenv("CASSETTE_TEST_S3_SECRET");
	env.port = port != NULL ? atoi(port) : 0;
	return env.endpoint && env.host && env.bucket && env.key_id && env.secret && env.port > 0;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "all";
	int failed = 0;

	if (!env_ok()) {
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
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (getenv("CST_TEST_FILTER") != NULL) /* e.g. "test_multipart*" */
		cmocka_set_test_filter(getenv("CST_TEST_FILTER"));
	if (strcmp(what, "contract") == 0 || strcmp(what, "all") == 0)
		failed += contract_run(&s3_backend);
	if (strcmp(what, "s3") == 0 || strcmp(what, "all") == 0)
		failed += cmocka_run_group_tests_name("storage s3", s3_tests, NULL, NULL);
	curl_global_cleanup();
	return failed != 0;
}
