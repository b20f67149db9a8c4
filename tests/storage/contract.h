/*
 * The storage contract suite: what every backend must do, as one table of
 * cmocka tests. A backend runs it by supplying one fixture; the tests only
 * use the public storage.h API, never the backend's internals.
 *
 * What a fixture must provide (see struct contract_backend):
 *   - setup(): a fresh, EMPTY store per test and a config that opens it.
 *     The suite opens its own handles from that config, several at times
 *     (and may set max_bandwidth on a copy); the strings must live until
 *     teardown. Leave retries and retry_base_ms 0 unless the store needs
 *     otherwise.
 *   - teardown(): remove what setup made.
 *   - check_empty() (optional, may be NULL): after tests that must leave
 *     nothing behind (aborted multipart uploads, refused commits, deleted
 *     keys), report anything the listing cannot show: temp files, staging
 *     directories, pending multipart uploads (S3: ListMultipartUploads).
 *
 * What the store must allow: objects of up to 25 MiB; multipart uploads
 * with 5 MiB parts; 8 threads calling one handle at once. The suite writes
 * its source files (about 30 MiB at most) under $TMPDIR, and one test takes
 * about half a second by design (the bandwidth limit).
 *
 * Link: cst_storage_contract (tests/storage/CMakeLists.txt) holds the suite.
 */
#ifndef CASSETTE_TEST_STORAGE_CONTRACT_H
#define CASSETTE_TEST_STORAGE_CONTRACT_H

#include "storage.h"

struct contract_backend {
	const char *name; /* the group name in the cmocka output */
	/*
	 * Fill *cfg for a fresh, EMPTY store (a new scratch directory, a new
	 * bucket). Strings in *cfg must live until teardown. *state is handed
	 * to teardown and check_empty. Return 0, or nonzero to fail the test.
	 */
	int (*setup)(struct storage_config *cfg, void **state);
	/* Remove what setup made. */
	void (*teardown)(void *state);
	/*
	 * Optional. Return 0 when the store holds nothing at all: no object,
	 * no temp file, no staging area, no unfinished multipart upload.
	 * Otherwise print what is left (to stderr) and return nonzero.
	 */
	int (*check_empty)(void *state);
};

/*
 * Run the whole suite against `backend`, one fresh store per test. The
 * storage testing aids (CASSETTE_STORAGE_TRACE / _FAULTS) are unset first.
 * Returns the number of failed tests.
 */
int contract_run(const struct contract_backend *backend);

#endif
