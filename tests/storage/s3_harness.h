/*
 * What the S3 backend's test files share (test_storage_s3.c,
 * test_storage_s3_net.c, s3_harness.c): the radosgw that rgw.sh started,
 * raw signed requests for the fixture, fresh buckets, the fault proxy,
 * awscli, and a fixture with a bucket and a handle of its own per test.
 */
#ifndef CASSETTE_TEST_STORAGE_S3_HARNESS_H
#define CASSETTE_TEST_STORAGE_S3_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>
#include <cmocka.h>

#include "storage.h"
#include "util.h"
#include "storage_test.h"

#ifndef CST_TEST_SUPPORT_DIR
#error "CST_TEST_SUPPORT_DIR must name tests/support"
#endif


#define assert_msg_has(s)                                                            \
	do {                                                                         \
		if (strstr(cst_error_msg(), (s)) == NULL)                            \
			fail_msg("message '%s' lacks '%s'", cst_error_msg(), (s));   \
	} while (0)

/* The radosgw of tests/support/rgw.sh run (CASSETTE_TEST_S3_*). */
struct s3env {
	const char *endpoint, *host, *bucket, *key_id, *secret;
	int port;
};
extern struct s3env s3env;
/* Fill s3env from the environment; 0 when something is missing. */
int s3t_env_ok(void);

struct membuf {
	char *p;
	size_t len;
};

struct proxy {
	pid_t pid;
	int port;
	char *log;
};

struct sfx {
	char *bucket;
	char *dir;
	struct storage_config cfg;
	struct storage *s;
	struct proxy px;
};

double s3t_now_s(void);
/* A curl write callback appending to a struct membuf (NUL-terminated). */
size_t s3t_membuf_write(char *data, size_t size, size_t n, void *arg);
/* A signed request without a body to ENDPOINT/path; the HTTP status (0 when
 * none came). The answer's body goes to *out when not NULL. */
long s3t_raw_s3(const char *method, const char *path, struct membuf *out);
/* A config for `bucket` on s3env (region left to the default; 3 retries
 * from 5 ms, so failing tests fail fast). */
void s3t_cfg_fill(struct storage_config *cfg, const char *bucket);
/* A listing callback appending "key\0" to a struct membuf. */
int s3t_collect_key(void *arg, const char *key, uint64_t size);
/* A new, empty bucket (caller frees the name with s3t_bucket_remove). */
char *s3t_bucket_new(void);
/* Empty the bucket and remove it (best effort); frees `name`. */
void s3t_bucket_remove(char *name);

/* tests/support/fault_proxy.py in front of radosgw, with `args`
 * (NULL-terminated, may be NULL); it logs to dir/proxy.log. */
void s3t_proxy_start(struct proxy *p, const char *dir, const char *const *args);
void s3t_proxy_stop(struct proxy *p);
/* Lines of the proxy log holding `what` ("" = all requests). */
int s3t_proxy_count(const struct proxy *p, const char *what);

/* Run argv (argv[0] a full path); its stdout into *out, or, with out NULL,
 * stdout and stderr dropped. The exit status. */
int s3t_run_cmd(const char *const *argv, struct membuf *out);
/* /usr/bin/aws --endpoint-url ENDPOINT ARGS... (NULL-terminated) with the
 * test credentials; fails the test when it fails. */
void s3t_aws(struct membuf *out, ...);

/* The per-test fixture: a fresh bucket, a handle on it, a scratch dir. */
int s3t_sfx_setup(void **state);
int s3t_sfx_teardown(void **state);
/* A second handle on the fixture's bucket through a fresh proxy (fx->px);
 * *cfg receives its config. */
struct storage *s3t_open_via_proxy(struct sfx *fx, const char *const *args,
				   struct storage_config *cfg);

void s3t_md5_hex(char out[33], const void *buf, size_t len);
void s3t_assert_content(struct storage *s, const char *key, const void *want, size_t len);

#define ST(f) cmocka_unit_test_setup_teardown(f, s3t_sfx_setup, s3t_sfx_teardown)

/* test_storage_s3_net.c: retries, failures, ranges, https, bandwidth. */
extern const struct CMUnitTest s3_net_tests[];
extern const size_t s3_net_count;

#endif
