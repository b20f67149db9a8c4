/*
 * What the contract suite's files share (contract.c, contract_mpu.c,
 * contract_conc.c). Private to the suite; fixtures include contract.h only.
 */
#ifndef CASSETTE_TEST_STORAGE_CONTRACT_INT_H
#define CASSETTE_TEST_STORAGE_CONTRACT_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "contract.h"
#include "storage.h"
#include "util.h"
#include "storage_test.h"


/* One test's world: a fresh store from the fixture, an open handle on it,
 * and a local scratch directory for source files. */
struct fx {
	const struct contract_backend *b;
	void *bstate;
	struct storage_config cfg;
	struct storage *s;
	char *src_dir;
};

int fx_setup(void **state);
int fx_teardown(void **state);
/* The fixture's emptiness check, when it has one. */
void assert_store_empty(struct fx *fx);

void put_str(struct storage *s, const char *key, const char *content);
void assert_content(struct storage *s, const char *key, const char *want);
/* The listing of `prefix` as "key:size\n" lines must be `want`. */
void assert_listing(struct storage *s, const char *prefix, const char *want);
/* Deterministic bytes that differ at every offset in a long run. */
/* A fresh buffer of `len` pattern bytes (caller frees). */
unsigned char *pattern(size_t len, uint32_t seed);
/* Write buf to fx->src_dir/name; returns the path (caller frees). */
char *src_file(struct fx *fx, const char *name, const void *buf, size_t len);
void md5_of(unsigned char out[16], const void *buf, size_t len);
/* The object's content must be exactly want[0..len), read with a sink. */
void assert_object(struct storage *s, const char *key, const unsigned char *want, size_t len);

/* A sink that compares against an expected buffer as the bytes pass. */
struct compare_sink {
	const unsigned char *want;
	size_t want_len, got, calls;
	int fail_rc; /* nonzero: fail every call with this code */
};
int compare_sink_fn(void *arg, const unsigned char *buf, size_t len);

extern const struct CMUnitTest contract_mpu_tests[];
extern const size_t contract_mpu_count;
extern const struct CMUnitTest contract_conc_tests[];
extern const size_t contract_conc_count;

#endif
