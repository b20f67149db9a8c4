/*
 * The S3 tests' harness (see s3_harness.h).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "s3_harness.h"
#include "scratch.h"

struct s3env s3env;

double s3t_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- raw S3 requests for the fixture (bucket create / delete, uploads) ---- */

size_t s3t_membuf_write(char *data, size_t size, size_t n, void *arg)
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
long s3t_raw_s3(const char *method, const char *path, struct membuf *out)
{
	struct curl_slist *h = curl_slist_append(
		NULL, "x-amz-content-sha256: "
		      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	struct membuf sink = { 0 };
	char *url = cst_sprintf("%s/%s", s3env.endpoint, path);
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
	curl_easy_setopt(c, CURLOPT_USERNAME, s3env.key_id);
	curl_easy_setopt(c, CURLOPT_PASSWORD, s3env.secret);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3t_membuf_write);
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

void s3t_cfg_fill(struct storage_config *cfg, const char *bucket)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->provider = "s3";
	cfg->host = s3env.host;
	cfg->port = s3env.port;
	cfg->bucket_name = bucket;
	cfg->ssl_verify = 1;
	cfg->region = NULL; /* the default, us-east-1 */
	cfg->access_key_id = s3env.key_id;
	cfg->secret_access_key = s3env.secret;
	cfg->retries = 3;
	cfg->retry_base_ms = 5;
}

int s3t_collect_key(void *arg, const char *key, uint64_t size)
{
	struct membuf *m = arg;

	(void)size;
	s3t_membuf_write((char *)key, 1, strlen(key) + 1, m);
	return 0;
}

/* A fresh, empty bucket of its own. */
char *s3t_bucket_new(void)
{
	static unsigned n;
	char *name = cst_sprintf("t-%d-%u", (int)getpid(), ++n);

	assert_non_null(name);
	assert_int_equal(s3t_raw_s3("PUT", name, NULL), 200);
	return name;
}

/* Empty the bucket and remove it. */
void s3t_bucket_remove(char *name)
{
	struct storage_config cfg;
	struct storage *s = NULL;
	struct membuf keys = { 0 };
	size_t o;

	s3t_cfg_fill(&cfg, name);
	if (storage_open(&s, &cfg) == 0 && storage_list(s, "", s3t_collect_key, &keys) == 0)
		for (o = 0; o < keys.len; o += strlen(keys.p + o) + 1)
			storage_delete(s, keys.p + o);
	storage_close(s);
	s3t_raw_s3("DELETE", name, NULL); /* best effort: radosgw is thrown away */
	free(keys.p);
	free(name);
}

/* ---- the fault proxy ---- */

/* Start fault_proxy.py in front of radosgw with `args` (NULL-terminated). */
void s3t_proxy_start(struct proxy *p, const char *dir, const char *const *args)
{
	const char *argv[24] = { "python3", CST_TEST_SUPPORT_DIR "/fault_proxy.py", "--target" };
	char target[64], line[32];
	int fds[2], i = 3, j;
	FILE *f;

	p->log = cst_path_join(dir, "proxy.log");
	snprintf(target, sizeof(target), "%s:%d", s3env.host, s3env.port);
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

void s3t_proxy_stop(struct proxy *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
	free(p->log);
	memset(p, 0, sizeof(*p));
}

/* Lines of the proxy log that hold `what` (all lines for ""). */
int s3t_proxy_count(const struct proxy *p, const char *what)
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
int s3t_run_cmd(const char *const *argv, struct membuf *out)
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
			s3t_membuf_write(buf, 1, (size_t)n, out);
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void aws_env(void)
{
	setenv("AWS_ACCESS_KEY_ID", s3env.key_id, 1);
	setenv("AWS_SECRET_ACCESS_KEY", s3env.secret, 1);
	setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
	setenv("AWS_CONFIG_FILE", "/dev/null", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	setenv("AWS_PAGER", "", 1);
	setenv("PYTHONIOENCODING", "utf-8", 1);
}

/* /usr/bin/aws --endpoint-url ENDPOINT ARGS... (NULL-terminated); stdout
 * in *out when not NULL. */
void s3t_aws(struct membuf *out, ...)
{
	const char *argv[24] = { "/usr/bin/aws", "--endpoint-url", s3env.endpoint };
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
	if (s3t_run_cmd(argv, out != NULL ? out : &ignored) != 0)
		fail_msg("aws %s %s %s failed", argv[3], argv[4], argv[5] ? argv[5] : "");
	free(ignored.p);
}

/* ---- the S3 fixture: a fresh bucket, a handle on it, a scratch dir ---- */

int s3t_sfx_setup(void **state)
{
	struct sfx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->bucket = s3t_bucket_new();
	fx->dir = scratch_new("s3");
	s3t_cfg_fill(&fx->cfg, fx->bucket);
	assert_ok(storage_open(&fx->s, &fx->cfg));
	*state = fx;
	return 0;
}

int s3t_sfx_teardown(void **state)
{
	struct sfx *fx = *state;

	storage_close(fx->s);
	s3t_proxy_stop(&fx->px);
	s3t_bucket_remove(fx->bucket);
	scratch_remove(fx->dir);
	free(fx);
	return 0;
}

/* A second handle on the fixture's bucket through a fresh proxy. */
struct storage *s3t_open_via_proxy(struct sfx *fx, const char *const *args,
				      struct storage_config *cfg)
{
	struct storage *s = NULL;

	s3t_proxy_start(&fx->px, fx->dir, args);
	*cfg = fx->cfg;
	cfg->port = fx->px.port;
	assert_ok(storage_open(&s, cfg));
	return s;
}

void s3t_md5_hex(char out[33], const void *buf, size_t len)
{
	unsigned char md[16];

	assert_int_equal(EVP_Digest(buf, len, md, NULL, EVP_md5(), NULL), 1);
	cst_hex(out, md, 16);
}

void s3t_assert_content(struct storage *s, const char *key, const void *want, size_t len)
{
	char *got = NULL;
	size_t got_len = 0;

	assert_ok(storage_get_buf(s, key, &got, &got_len, 64 * MIB));
	assert_int_equal(got_len, len);
	assert_memory_equal(got, want, len);
	free(got);
}

int s3t_env_ok(void)
{
	const char *port = getenv("CASSETTE_TEST_S3_PORT");

	s3env.endpoint = getenv("CASSETTE_TEST_S3_ENDPOINT");
	s3env.host = getenv("CASSETTE_TEST_S3_HOST");
	s3env.bucket = getenv("CASSETTE_TEST_S3_BUCKET");
	s3env.key_id = getenv("CASSETTE_TEST_S3_KEY_ID");
	s3env.secret = getenv("CASSETTE_TEST_S3_SECRET");
	s3env.port = port != NULL ? atoi(port) : 0;
	return s3env.endpoint && s3env.host && s3env.bucket && s3env.key_id && s3env.secret &&
	       s3env.port > 0;
}

