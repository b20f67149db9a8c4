/*
 * storage: moves bytes between object keys and a place (a local directory,
 * later S3). It knows nothing of crypto, manifests or commands.
 *
 * Keys are '/'-separated UTF-8 strings: not empty, no leading '/', no empty,
 * "." or ".." segment, no control characters, at most 1024 bytes. Spaces and
 * '+' are ordinary characters. Argument checks and the optional trace live in
 * storage.c, once; backends fill one `struct storage_ops` (storage/backend.h).
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
 * provider or a missing required field (the message names it). *out is owned
 * by the caller; free it with storage_close().
 */
int storage_open(struct storage **out, const struct storage_config *cfg);
void storage_close(struct storage *s);
/* The provider name ("local"). Static string. */
const char *storage_provider(const struct storage *s);

/* Store the contents of the local file `path` under `key`, atomically: a
 * reader sees the old object or the whole new one, never a part. */
int storage_put_file(struct storage *s, const char *key, const char *path, int flags);
/* Store a buffer under `key`, atomically. */
int storage_put_buf(struct storage *s, const char *key, const void *buf, size_t len, int flags);
/* Stream an object to `sink`. CST_ENOTFOUND when missing. */
int storage_get(struct storage *s, const char *key, storage_sink_fn sink, void *arg);
/* Read a whole object into memory (NUL-terminated). CST_EINVALID when it is
 * larger than `max`. *out is owned by the caller. */
int storage_get_buf(struct storage *s, const char *key, char **out, size_t *len, size_t max);
/* Size of an object. CST_ENOTFOUND when missing. */
int storage_head(struct storage *s, const char *key, uint64_t *size);
/* Every key that starts with `prefix` (plain string prefix, "" = all). */
int storage_list(struct storage *s, const char *prefix, storage_list_fn cb, void *arg);
/* Remove an object. Removing a missing key is not an error. */
int storage_delete(struct storage *s, const char *key);

/* 1 when `key` follows the key rules above, else 0. */
int storage_key_is_valid(const char *key);

#endif
