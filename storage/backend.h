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

	int (*put_file)(struct storage *s, const char *key, const char *path, int flags);
	int (*put_buf)(struct storage *s, const char *key, const void *buf, size_t len,
		       int flags);
	/* CST_ENOTFOUND when missing; the sink's negative code unchanged. */
	int (*get)(struct storage *s, const char *key, storage_sink_fn sink, void *arg);
	int (*head)(struct storage *s, const char *key, uint64_t *size);
	/* Calls cb in ascending bytewise order of key; a missing prefix is an
	 * empty listing. */
	int (*list)(struct storage *s, const char *prefix, storage_list_fn cb, void *arg);
	/* A missing key is success. */
	int (*del)(struct storage *s, const char *key);

	/*
	 * Optional methods go below. A backend that lacks one leaves it NULL
	 * and storage.c checks before calling (CST_EUNSUPPORTED, or a generic
	 * fallback built on the methods above). Reserved for the S3 backend:
	 *
	 *	multipart_begin(s, key, &upload)
	 *	multipart_part(upload, part_no, buf, len)
	 *	multipart_commit(upload)
	 *	multipart_abort(upload)
	 */
};

struct storage {
	const struct storage_ops *ops;
	/* Owned by storage.c (trace file and fault counters); NULL when the
	 * testing aids are off. Backends never touch it. */
	struct storage_hooks *hooks;
};

extern const struct storage_ops storage_local_ops;

#endif
