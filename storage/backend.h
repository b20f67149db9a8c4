/*
 * storage/backend.h: the contract between storage.c and one backend. Private
 * to the storage module: nothing outside storage/ includes it.
 *
 * A backend fills one constant `struct storage_ops` and embeds `struct
 * storage` as the FIRST member of its own handle, so storage.c can hand the
 * same pointer to every method:
 *
 *	struct local_storage { struct storage parent; char *root; };
 *
 * storage.c has already checked every argument before a method runs: keys
 * satisfy storage_key_is_valid(), pointers are non-NULL (buf only when len is
 * 0), flags hold only known bits, and a list prefix has no control
 * characters. Methods return 0 or a negative CST_ code with the error slot set
 * naming the operation and the key; a negative code from a sink or listing
 * callback is returned unchanged (its message is the callback's).
 */
#ifndef CASSETTE_STORAGE_BACKEND_H
#define CASSETTE_STORAGE_BACKEND_H

#include "storage.h"

struct storage_hooks;

struct storage_ops {
	const char *name; /* the storage_provider value, e.g. "local" */

	/* Allocate the backend handle (zeroed: parent.hooks must start NULL),
	 * set parent.ops, and return it in *out. On failure *out stays NULL.
	 * Missing or bad config fields are CST_EINVALID naming the field. */
	int (*open)(struct storage **out, const struct storage_config *cfg);
	/* Free everything open() allocated. Never called with NULL. */
	void (*close)(struct storage *s);

	/* `md5` may be NULL; `out` is never NULL (zeroed by storage.c). */
	int (*put_file)(struct storage *s, const char *key, const char *path, int flags,
			const unsigned char *md5, struct storage_stat *out);
	int (*put_buf)(struct storage *s, const char *key, const void *buf, size_t len,
		       int flags);
	/* Deliver bytes from `offset` on (0 = the whole object; storage.c
	 * resumes a failed transfer at the next undelivered byte). CST_ENOTFOUND
	 * when missing; the sink's negative code unchanged; CST_ERETRY for a
	 * transient failure. */
	int (*get)(struct storage *s, const char *key, uint64_t offset, storage_sink_fn sink,
		   void *arg);
	int (*stat)(struct storage *s, const char *key, struct storage_stat *out);
	/* Calls cb in ascending bytewise order of key, with size, mtime and
	 * etag filled as storage.h says; a missing prefix is an empty listing. */
	int (*list)(struct storage *s, const char *prefix, storage_entry_fn cb, void *arg);
	/* A missing key is success. */
	int (*del)(struct storage *s, const char *key);
	/* storage_takes_files_from(); NULL means never. */
	int (*takes_files_from)(struct storage *s, const char *dir);

	/*
	 * Multipart upload. `*upload` is the backend's own state (an S3 upload
	 * id, a local staging directory). storage.c has checked part numbers
	 * and the 5 MiB minimum, and serialises nothing (part()'s md5 may be
	 * NULL; commit()'s out is never NULL, zeroed): part() may run in
	 * several threads at once for distinct parts of one upload. abort()
	 * must leave nothing behind and is called at most once, instead of
	 * commit() or after a failed commit(). free_upload() releases the state.
	 */
	int (*mpu_begin)(struct storage *s, const char *key, int flags, void **upload);
	int (*mpu_part)(struct storage *s, void *upload, unsigned part_no, const char *path,
			const unsigned char md5[16]);
	int (*mpu_commit)(struct storage *s, void *upload, unsigned n_parts,
			  struct storage_stat *out);
	int (*mpu_abort)(struct storage *s, void *upload);
	void (*mpu_free)(struct storage *s, void *upload);
	/* Abort every upload under `prefix` that was begun and never
	 * committed or aborted (its process died), and remove the temp files
	 * of puts that never finished. *n gets how many. */
	int (*clean_uploads)(struct storage *s, const char *prefix, size_t *n);
};

struct storage {
	const struct storage_ops *ops;
	/* Owned by storage.c (trace file and fault counters); NULL when the
	 * testing aids are off. Backends never touch it. */
	struct storage_hooks *hooks;
	/* Owned by storage.c: the shared rate limiter (see storage_throttle). */
	struct storage_limiter *limiter;
	unsigned retries, retry_base_ms;
	/* Set by the backend's open(): an enum storage_md5_use. */
	int md5_use;
};

/*
 * The bandwidth limit: a token bucket shared by every transfer of a handle
 * (storage.c creates it from cfg->max_bandwidth). A backend calls it from its
 * data paths before moving `n` bytes; it sleeps as needed. NULL-safe: with no
 * limit configured it returns at once.
 */
void storage_throttle(struct storage *s, size_t n);

extern const struct storage_ops storage_local_ops;
extern const struct storage_ops storage_s3_ops;

#endif
