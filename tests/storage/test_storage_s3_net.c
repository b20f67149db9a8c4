/*
 * The S3 backend when the network misbehaves: retries through the fault
 * proxy (503s, 500s, resets, a server that stays down), a refused
 * connection, ranged gets and resume, https with certificate checks, and
 * the bandwidth cap.
 */
#define _GNU_SOURCE
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "backend.h" /* white-box: get() with an offset */
#include "s3_harness.h"
#include "scratch.h"

/* ---- retries and failures, through the fault proxy ---- */

static void test_retry_rides_out_503(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--fail-first", "3", NULL };
	struct storage_config cfg;
	struct storage *s = s3t_open_via_proxy(fx, args, &cfg);
	size_t len = 2 * MIB + 1;
	unsigned char *data = malloc(len);
	char *path;

	/* A body large enough for "Expect: 100-continue": the 503 comes
	 * before the body is sent, and every attempt sends it whole. */
	assert_non_null(data);
	fill_pattern(data, len, 503);
	scratch_write(fx->dir, "big", data, len);
	path = cst_path_join(fx->dir, "big");
	assert_ok(storage_put_file(s, "r/big", path, 0, NULL, NULL));
	assert_int_equal(s3t_proxy_count(&fx->px, " fail"), 3);
	assert_int_equal(s3t_proxy_count(&fx->px, "PUT"), 4);
	s3t_assert_content(s, "r/big", data, len);
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
	struct storage *s = s3t_open_via_proxy(fx, args, &cfg);
	char *got = NULL;

	assert_ok(storage_put_buf(fx->s, "r/k", "abc", 3, 0));
	assert_ok(storage_get_buf(s, "r/k", &got, NULL, 10));
	assert_string_equal(got, "abc");
	assert_int_equal(s3t_proxy_count(&fx->px, "GET"), 3);
	free(got);
	storage_close(s);
}

static void test_server_stays_down(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--fail-all", NULL };
	struct storage_config cfg;
	struct storage *s = s3t_open_via_proxy(fx, args, &cfg);
	int rc;

	rc = storage_put_buf(s, "down/k", "x", 1, 0);
	if (rc != CST_EIO && rc != CST_ERETRY)
		fail_msg("rc %d (%s)", rc, cst_error_msg());
	assert_msg_has("s3 PUT ");
	assert_msg_has("down/k");
	assert_msg_has("SlowDown");
	assert_msg_has("503");
	assert_int_equal(s3t_proxy_count(&fx->px, ""), 1 + 3); /* cfg.retries = 3 */
	storage_close(s);
}

static void test_connection_resets(void **state)
{
	struct sfx *fx = *state;
	const char *args[] = { "--reset-first", "2", NULL };
	struct storage_config cfg;
	struct storage *s = s3t_open_via_proxy(fx, args, &cfg);

	assert_ok(storage_put_buf(s, "reset/k", "after resets", 12, 0));
	assert_int_equal(s3t_proxy_count(&fx->px, " reset"), 2);
	s3t_assert_content(fx->s, "reset/k", "after resets", 12);
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
	t0 = s3t_now_s();
	rc = storage_put_buf(s, "refused/k", "x", 1, 0);
	if (rc != CST_EIO && rc != CST_ERETRY)
		fail_msg("rc %d (%s)", rc, cst_error_msg());
	assert_true(s3t_now_s() - t0 < 5.0);
	assert_msg_has("refused/k");
	assert_msg_has("Couldn't connect");
	storage_close(s);
}

/* ---- ranged get ---- */

static int append_sink(void *arg, const unsigned char *buf, size_t len)
{
	s3t_membuf_write((char *)buf, 1, len, arg);
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
	s = s3t_open_via_proxy(fx, NULL, &cfg);
	unsetenv("CASSETTE_STORAGE_FAULTS");
	s3t_assert_content(s, "range/big", data, len);
	assert_int_equal(s3t_proxy_count(&fx->px, "range=bytes=1000000-"), 1);
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

	assert_int_equal(s3t_run_cmd(gen, NULL), 0);
	s = s3t_open_via_proxy(fx, args, &cfg);
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
	s3t_assert_content(s, "tls/k", "over tls", 8);
	storage_close(s);

	/* Verification off (a warning is the agent's business). */
	cfg.ca_file = NULL;
	cfg.ssl_verify = 0;
	assert_ok(storage_open(&s, &cfg));
	s3t_assert_content(s, "tls/k", "over tls", 8);
	storage_close(s);
	free(cert);
	free(key);
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
	t0 = s3t_now_s();
	assert_ok(storage_put_buf(s, "bw/k", data, len, 0));
	s3t_assert_content(s, "bw/k", data, len);
	dt = s3t_now_s() - t0;
	if (dt < 0.7 || dt > 10)
		fail_msg("1 MiB at 1 MiB/s took %.2f s", dt);
	storage_close(s);
	free(data);
}

const struct CMUnitTest s3_net_tests[] = {
	ST(test_retry_rides_out_503),
	ST(test_retry_rides_out_500),
	ST(test_server_stays_down),
	ST(test_connection_resets),
	ST(test_connection_refused),
	ST(test_ranged_get),
	ST(test_https),
	ST(test_bandwidth_limit),
};
const size_t s3_net_count = sizeof(s3_net_tests) / sizeof(s3_net_tests[0]);
