/*
 * The storage contract suite: what every backend must do, as one table of
 * cmocka tests. A backend runs it by supplying one fixture; the tests only
 * use the public storage.h API, never the backend's internals.
 */
#ifndef CASSETTE_TEST_STORAGE_CONTRACT_H
#define CASSETTE_TEST_STORAGE_CONTRACT_H

#include "storage.h"

struct contract_backend {
	const char *name; /* the group name in the cmocka output */
	/*
	 * Fill *cfg for a fresh, EMPTY store (a new scratch directory, a new
	 * bucket). Strings in *cfg must live until teardown. *state is handed
	 * to teardown. Return 0, or nonzero to fail the test.
	 */
	int (*setup)(struct storage_config *cfg, void **state);
	/* Remove what setup made. */
	void (*teardown)(void *state);
};

/*
 * Run the whole suite against `backend`, one fresh store per test. The
 * storage testing aids (CASSETTE_STORAGE_TRACE / _FAULTS) are unset first.
 * Returns the number of failed tests.
 */
int contract_run(const struct contract_backend *backend);

#endif
