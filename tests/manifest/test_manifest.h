/* Shared helpers and test list for the manifest cmocka binary. */
#ifndef CASSETTE_TEST_MANIFEST_H
#define CASSETTE_TEST_MANIFEST_H

#include <stddef.h>

#include "manifest.h"

#define TM_ORIGIN "backup b1 manifest"

/* A deterministic, valid object: hex fields derived from `seed`. */
void tm_object(struct manifest_object *o, const char *path, unsigned seed, int salted);
/* Three tables, six objects, some salted, one multipart ETag. Caller frees. */
struct manifest *tm_sample(void);
/* Dump `m`; the returned string is NUL-terminated and owned by the caller. */
char *tm_dump(const struct manifest *m, size_t *len);
/* Every table and object field equal, in order. */
void tm_assert_equal(const struct manifest *a, const struct manifest *b);
/* Parse must fail with CST_EINVALID and one line naming TM_ORIGIN and `where`. */
void tm_assert_rejected(const char *json, size_t len, const char *where);

void test_malformed(void **state);
void test_nul_in_string(void **state);
void test_deep_nesting(void **state);
void test_hostile_names_one_line(void **state);
void test_truncations(void **state);
void test_mutations(void **state);
void test_scale(void **state);
void test_many_tables(void **state);
void test_reader_pieces(void **state);
void test_reader_key_order(void **state);
void test_writer(void **state);
void test_rec_pack(void **state);

#endif
