/*
 * What the local backend's test files share (test_storage_local.c,
 * local_mpu_test.c, local_core.c): a fixture on a scratch directory and
 * helpers that look at the directory itself.
 */
#ifndef CASSETTE_TEST_STORAGE_LOCAL_TEST_H
#define CASSETTE_TEST_STORAGE_LOCAL_TEST_H

#include "contract_int.h"

/* A scratch base directory (no bucket); the testing aids are unset before
 * and after each test. Tests set cfg fields, then lfx_open(). */
struct lfx {
	char *dir;
	struct storage_config cfg;
	struct storage *s;
};

int lfx_setup(void **state);
int lfx_teardown(void **state);
/* (Re)open fx->s from fx->cfg and the environment. */
void lfx_open(struct lfx *fx);

/* dir/rel (caller frees). */
char *path_in(const char *dir, const char *rel);
int exists(const char *dir, const char *rel);
/* Every file and directory under `dir`, relative and sorted, one a line,
 * must be `want`. */
void assert_tree(const char *dir, const char *want);
/* A whole file (caller frees). */
char *read_text(const char *path);

#define LT(f) cmocka_unit_test_setup_teardown(f, lfx_setup, lfx_teardown)

extern const struct CMUnitTest local_mpu_tests[];
extern const size_t local_mpu_count;
extern const struct CMUnitTest core_tests[];
extern const size_t core_count;

#endif
