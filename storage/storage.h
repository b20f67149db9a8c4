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
 * Argument checks, retries and two testing aids live in the core
 * (storage.c), once; backends fill one `struct storage_ops`
 * (storage/backend.h). Every call except open and close may run concurrently
 * on one handle.
 *
 * Retries: a transient failure (CST_ERETRY from the backend) is retried up
 * to cfg->retries times, sleeping a random time in [0, retry_base_ms * 2^k]
 * (at most 20 s) before the (k+1)-th retry. Other codes, and every code a
 * sink or listing callback returns, are never retried. When the retries run
 * out the call fails with CST_EIO: "storage <op> <key>: gave up after N
 * attempts: <the last attempt's message>". A get or list that fails after
 * delivering something resumes after the last byte or key delivered (each
 * byte and key reaches the callback once, in order), and such progress
 * starts the backoff over.
 *
 * The testing aids, read from the environment at open (the end-to-end tests
 * rely on this grammar):
 *
 *   CASSETTE_STORAGE_TRACE=file
 *     Append one line per backend attempt, so a retried call shows once per
 *     attempt:  "<op> <key-or-prefix>\n". Before each retry's sleep also
 *     "backoff <ms> <op> <key-or-prefix>\n". Lines are written whole, with
 *     O_APPEND, so threads and processes may share the file.
 *
 *   CASSETTE_STORAGE_FAULTS=rule[,rule...]
 *     rule  = op ":" calls [":" kind]
 *     calls = N        the Nth attempt of op (1-based, counted per handle)
 *           | N "+"    the Nth and every later one
 *           | N "-" M  the Nth through the Mth (N <= M)
 *     kind  = eio (the default) | retry | auth | notfound | invalid | integrity
 *             fail the attempt before it reaches the backend with CST_EIO,
 *             CST_ERETRY, CST_EAUTH, ... and "injected fault: <op> <key>";
 *           | "kill"     SIGKILL the process before the attempt reaches
 *             the backend; "killafter": right after the backend answered
 *             (a crash at that point: the tests of resuming use them);
 *           | "cut=" B   (get and list only) let the backend run, but after
 *             B bytes (get) or B keys (list) of this attempt fail it with
 *             CST_ERETRY, as a connection dropped mid-transfer would; when
 *             the attempt delivers no more than B, it succeeds.
 *     N, M have 1 to 9 digits, B 1 to 18. The first matching rule applies.
 *     Example: "put_buf:1-3:retry,get:1:cut=1000,delete:2+".
 *
 *   Ops: put_file, put_buf, get (get_buf too), head, stat, list, delete,
 *   upload_begin, upload_part, upload_commit, upload_abort (the abort that
 *   storage_upload_free() runs for an upload not committed), clean_uploads.
 *   The key of an upload_* line is the upload's key; clean_uploads shows
 *   its prefix.
 *
 * Calls rejected by the argument checks are neither traced nor counted.
 * A malformed CASSETTE_STORAGE_FAULTS fails storage_open() with
 * CST_EINVALID naming the entry.
 */
#ifndef CASSETTE_STORAGE_H
#define CASSETTE_STORAGE_H

#include <stddef.h>
#include <stdint.h>

struct storage;

/* Everything a backend may need; strings are borrowed during open() (the
 * backend copies what it keeps, and wipes the secret when it closes). */
struct storage_config {
	const char *provider;	 /* "local" or "s3" */
	const char *base_path;	 /* local: root directory */
	const char *bucket_name; /* local: optional subdirectory of base_path; s3: the bucket */
	int create;		 /* local: create the root when missing (writers);
				  * else a missing root is CST_ENOTFOUND, so a
				  * mistyped path is not read as "no backups" */
	/* s3 */
	const char *host;	 /* "s3.amazonaws.com" style host name or IP */
	int port;		 /* 0 = 443 when secure, 80 otherwise */
	int secure;		 /* https */
	int ssl_verify;		 /* verify the server certificate and host name (default on) */
	const char *ca_file;	 /* optional CA bundle for ssl_verify */
	const char *region;	 /* SigV4 region, e.g. "us-east-1" */
	const char *access_key_id;
	const char *secret_access_key;
	int virtual_host_style;	 /* bucket.host/key instead of host/bucket/key */
	/* every provider */
	uint64_t max_bandwidth;	 /* bytes per second for the whole handle, up and
				  * down together; 0 = unlimited */
	unsigned retries;	 /* attempts after the first for retryable
				  * failures; 0 = the default (5) */
	unsigned retry_base_ms;	 /* first backoff delay; 0 = the default (200) */
};

/* Byte sink for get(): return 0 to go on, a negative CST_ code to stop. */
typedef int (*storage_sink_fn)(void *arg, const unsigned char *buf, size_t len);
/* Listing callback, called in ascending byte order of key. Same return rule. */
typedef int (*storage_list_fn)(void *arg, const char *key, uint64_t size);

/* One object of a listing, as storage_list_entries() delivers it. The
 * strings are borrowed for the callback only. */
struct storage_entry {
	const char *key;
	uint64_t size;
	int64_t mtime;		/* when the object was written, unix seconds; 0 unknown
				 * (local: the file's mtime; S3: LastModified) */
	const char *etag;	/* as storage_stat() reports it; "" when none (local) */
};
typedef int (*storage_entry_fn)(void *arg, const struct storage_entry *e);

enum {
	/* Fail with CST_EEXISTS instead of replacing an existing object. */
	STORAGE_PUT_NO_OVERWRITE = 1 << 0,
	/* put_file and upload_begin (for its parts): the caller hands the
	 * source files over. It never changes them afterwards (it may delete
	 * them), so the store may keep a file itself instead of copying it:
	 * the local backend hard-links it into place when it is on the same
	 * file system and no MD5 is to be checked. */
	STORAGE_PUT_HANDOVER = 1 << 1,
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

/* What storage_stat() reports, and what a put_file or an upload commit
 * reports about the object it just stored. */
struct storage_stat {
	uint64_t size;
	/* The object's MD5 as lowercase hex, or an S3 multipart ETag
	 * "<32 hex>-<parts>", as the store reports it; "" when the store keeps
	 * none (the local backend). */
	char etag[64];
};

/*
 * What a body's MD5 is worth to this handle's store, for a caller that would
 * have to compute it only to hand it to put_file or upload_part (the store
 * never hashes a body itself to check it):
 *   STORAGE_MD5_NEVER    the bytes cross no network (local): a check would
 *                        cost a hash pass and catch nothing;
 *   STORAGE_MD5_IF_KNOWN the transport authenticates every byte (S3 over
 *                        TLS): give the MD5 when it is at hand anyway;
 *   STORAGE_MD5_ALWAYS   nothing else checks the bytes on the way (S3 over
 *                        plain http): give it, so the server refuses a body
 *                        that was changed in transit.
 */
enum storage_md5_use {
	STORAGE_MD5_NEVER,
	STORAGE_MD5_IF_KNOWN,
	STORAGE_MD5_ALWAYS,
};
/* The handle's storage_md5_use; STORAGE_MD5_NEVER for NULL. */
int storage_md5_use(const struct storage *s);

/* 1 when a file under the local directory `dir`, put with
 * STORAGE_PUT_HANDOVER, becomes the object itself without a copy (the local
 * backend, on the same file system): a caller then gains nothing by cutting
 * a large object into multipart parts, which the local backend must join by
 * copying. 0 otherwise (S3; another file system; `dir` missing). */
int storage_takes_files_from(struct storage *s, const char *dir);

/*
 * Store the contents of the local file `path` under `key`, atomically: a
 * reader sees the old object or the whole new one, never a part. A missing
 * `path` is CST_ENOTFOUND (naming it); with STORAGE_PUT_NO_OVERWRITE an
 * existing object is CST_EEXISTS and stays as it was.
 * `md5`, when not NULL, is the file's MD5: the store checks what it received
 * against it (S3: Content-MD5; local: hashed as it is copied), a mismatch is
 * CST_EINTEGRITY and nothing is kept. `out`, when not NULL, gets the size the
 * store took and the ETag it reports for the new object (S3: the server's,
 * the MD5 of what it received; local: ""), with no extra request.
 */
int storage_put_file(struct storage *s, const char *key, const char *path, int flags,
		     const unsigned char *md5, struct storage_stat *out);
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
/* The first `len` bytes of an object into `buf` (*got: how many; fewer when
 * the object is shorter), stopping the transfer there: an encrypted
 * object's header without reading its body. CST_ENOTFOUND when missing. */
int storage_get_head(struct storage *s, const char *key, void *buf, size_t len, size_t *got);
/* Size of an object. CST_ENOTFOUND when missing. */
int storage_head(struct storage *s, const char *key, uint64_t *size);
/* Every key that starts with `prefix` (plain string prefix, "" = all; "a/b"
 * matches "a/b/c" and "a/bc"), in ascending bytewise order with its size. No
 * match is an empty listing. The prefix may not hold control characters or
 * exceed 1024 bytes (CST_EINVALID). A negative code from `cb` stops the
 * listing and is returned unchanged. */
int storage_list(struct storage *s, const char *prefix, storage_list_fn cb, void *arg);
/* The same listing, each key with its size, write time and ETag: what
 * retention needs to tell old objects from young ones without a request per
 * object. Same order, checks, retries, resume, trace and faults (op "list")
 * as storage_list(), which is this call reporting key and size only. */
int storage_list_entries(struct storage *s, const char *prefix, storage_entry_fn cb, void *arg);
/* Remove an object. Removing a missing key is not an error. */
int storage_delete(struct storage *s, const char *key);

/* Size and ETag of an object. CST_ENOTFOUND when missing. storage_head() is
 * the same call reporting the size only (traced as "head", not "stat"). */
int storage_stat(struct storage *s, const char *key, struct storage_stat *out);

/*
 * Multipart upload, for objects too large for one request. Parts are local
 * files; part numbers run 1..10000 and every part but the last must be at
 * least 5 MiB (S3's rule; checked here for every backend), none above 5 GiB.
 * Different parts of one upload may be sent from different threads at once.
 * `md5`, when not NULL, is the part's MD5, checked as for put_file (S3 sends
 * it as Content-MD5): a mismatch is CST_EINTEGRITY and the part is not kept.
 * Without it the S3 backend builds the upload from the part ETags the server
 * answered. Sending a part again replaces it.
 * The 5 MiB rule is checked at commit, since only then is the last part
 * known: commit refuses (CST_EINVALID, naming the part) a small part before
 * the last, a part of 1..n never sent, a part above n that was sent, or a
 * part still being sent. Such a refusal leaves the upload open, to fix and
 * commit again; a commit the store fails closes it (then only free).
 * Freeing an upload that was not committed aborts it: nothing is left in the
 * store. The local backend implements the same calls, so callers need no
 * special case.
 */
struct storage_upload;
int storage_upload_begin(struct storage_upload **out, struct storage *s, const char *key,
			 int flags);
int storage_upload_part(struct storage_upload *u, unsigned part_no, const char *path,
			const unsigned char md5[16]);
/* Complete with parts 1..n, all of which must have been sent. After commit
 * the object is visible whole; free the upload afterwards. `out`, when not
 * NULL, gets the object's size and ETag as the store reports them (S3: the
 * multipart ETag "<32 hex>-<n>" of the parts it received, checked against
 * the part ETags; local: ""); a size other than the sum of the parts is
 * CST_EINTEGRITY. */
int storage_upload_commit(struct storage_upload *u, unsigned n_parts, struct storage_stat *out);
void storage_upload_free(struct storage_upload *u);

/*
 * What a process that died mid-write left under `prefix` (a folder, ending in
 * '/'): multipart uploads begun and never committed or aborted (S3: listed
 * with ListMultipartUploads and aborted; local: their staging directories),
 * and the local backend's temp files of puts that never finished. Only for a
 * caller that knows no writer is active there (cassette: the node's lock).
 * *n gets how many were removed.
 */
int storage_clean_uploads(struct storage *s, const char *prefix, size_t *n);

/* 1 when `key` follows the key rules above, else 0. */
int storage_key_is_valid(const char *key);

#endif
