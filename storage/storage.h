/*
 * storage: moves bytes between object keys and a place (a local directory,
 * later S3). It knows nothing of crypto, manifests or commands.
 *
 * Keys are '/'-separated, valid UTF-8 strings: not empty, no leading '/', no
 * empty, "." or ".." segment, no control characters, at most 1024 bytes.
 * Spaces and '+' are ordinary characters. Every call returns 0 or a negative
 * CST_ code with the error slot naming the operation and the key; a bad
 * argument (invalid key, NULL pointer, unknown flag) is CST_EINVALID. A
 * backend may refuse keys it cannot store (local: see storage/local.c).
 *
 * Argument checks and two testing aids live in storage.c, once; backends fill
 * one `struct storage_ops` (storage/backend.h). The aids, read at open:
 *   CASSETTE_STORAGE_TRACE=file   append "<op> <key-or-prefix>\n" per call
 *                                 (put_file, put_buf, get, head, list, delete;
 *                                 get_buf is a get)
 *   CASSETTE_STORAGE_FAULTS=op:N[+],...   fail the Nth call of op (1-based),
 *                                 once, or with '+' that and every later one,
 *                                 with CST_EIO "injected fault: <op> <key>"
 * Calls rejected by the argument checks are neither traced nor counted.
 */
#ifndef CASSETTE_STORAGE_H
#define CASSETTE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

struct storage;

/* Everything a backend may need; strings are borrowed during open(). */
struct storage_config {
	const char *provider;	 /* "local" */
	const char *base_path;	 /* local: root directory (created if missing) */
	const char *bucket_name; /* local: optional subdirectory of base_path */
	int create;		 /* local: create the root when missing (writers);
				  * else a missing root is CST_ENOTFOUND, so a
				  * mistyped path is not read as "no backups" */
};

/* Byte sink for get(): return 0 to go on, a negative CST_ code to stop. */
typedef int (*storage_sink_fn)(void *arg, const unsigned char *buf, size_t len);
/* Listing callback, called in ascending byte order of key. Same return rule. */
typedef int (*storage_list_fn)(void *arg, const char *key, uint64_t size);

enum {
	/* Fail with CST_EEXISTS instead of replacing an existing object. */
	STORAGE_PUT_NO_OVERWRITE = 1 << 0,
};

/*
 * Open the backend named by cfg->provider. CST_EINVALID for an unknown
 * provider, a missing or bad field (the message names it) or a malformed
 * CASSETTE_STORAGE_FAULTS; a trace file that cannot be opened fails too.
 * *out is owned by the caller (NULL on failure); free it with storage_close().
 */
int storage_open(struct storage **out, const struct storage_config *cfg);
/* NULL is a no-op. */
void storage_close(struct storage *s);
/* The provider name ("local"), NULL for a NULL handle. Static string. */
const char *storage_provider(const struct storage *s);

/* Store the contents of the local file `path` under `key`, atomically: a
 * reader sees the old object or the whole new one, never a part. A missing
 * `path` is CST_ENOTFOUND (naming it); with STORAGE_PUT_NO_OVERWRITE an
 * existing object is CST_EEXISTS and stays as it was. */
int storage_put_file(struct storage *s, const char *key, const char *path, int flags);
/* Store a buffer under `key`, atomically. `buf` may be NULL when len is 0. */
int storage_put_buf(struct storage *s, const char *key, const void *buf, size_t len, int flags);
/* Stream an object to `sink`, in chunks (none for an empty object).
 * CST_ENOTFOUND when missing; a negative code from the sink stops the read
 * and is returned unchanged, with the sink's message. */
int storage_get(struct storage *s, const char *key, storage_sink_fn sink, void *arg);
/* Read a whole object into memory (NUL-terminated; `len`, when not NULL,
 * excludes the NUL). CST_EINVALID when it is larger than `max`. *out is owned
 * by the caller and NULL on failure. */
int storage_get_buf(struct storage *s, const char *key, char **out, size_t *len, size_t max);
/* Size of an object. CST_ENOTFOUND when missing. */
int storage_head(struct storage *s, const char *key, uint64_t *size);
/* Every key that starts with `prefix` (plain string prefix, "" = all; "a/b"
 * matches "a/b/c" and "a/bc"), in ascending bytewise order with its size. No
 * match is an empty listing. The prefix may not hold control characters or
 * exceed 1024 bytes (CST_EINVALID). A negative code from `cb` stops the
 * listing and is returned unchanged. */
int storage_list(struct storage *s, const char *prefix, storage_list_fn cb, void *arg);
/* Remove an object. Removing a missing key is not an error. */
int storage_delete(struct storage *s, const char *key);

/* 1 when `key` follows the key rules above, else 0. */
int storage_key_is_valid(const char *key);

#endif
