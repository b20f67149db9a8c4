/* Helpers shared by every storage test binary (the contract suite and the
 * backend-specific tests): assertion macros that print the error slot, and a
 * deterministic byte pattern (defined in contract.c). */
#ifndef CASSETTE_STORAGE_TEST_H
#define CASSETTE_STORAGE_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "util.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define MIB ((size_t)1 << 20)

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

/* xorshift bytes from `seed`: the same seed always gives the same bytes. */
void fill_pattern(unsigned char *buf, size_t len, uint32_t seed);

#endif
