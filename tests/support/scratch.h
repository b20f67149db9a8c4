/* Test support: a scratch directory per test, removed afterwards. */
#ifndef CASSETTE_TEST_SCRATCH_H
#define CASSETTE_TEST_SCRATCH_H

/* Create a fresh directory under $TMPDIR (or /tmp). Caller frees the string
 * and removes the tree with scratch_remove(). Aborts the test on failure. */
char *scratch_new(const char *tag);
void scratch_remove(char *dir);
/* Write a file with `len` bytes of content (creating parent dirs). */
void scratch_write(const char *dir, const char *rel, const void *buf, size_t len);

#endif
