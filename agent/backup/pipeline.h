/*
 * pipeline: one file from the snapshot to storage in a single read. Source
 * MD5 and encryption happen as the bytes pass; the ciphertext is cut into
 * temp files (one per multipart part, or one for a small object) handed to
 * the upload pool. Each plaintext byte is hashed once, for the source MD5;
 * the stored bytes get a second MD5 only when the store's transport checks
 * nothing else (S3 over plain http, see storage_md5_use()).
 */
#ifndef CASSETTE_PIPELINE_H
#define CASSETTE_PIPELINE_H

#include <stdint.h>

#include "crypto.h"

struct config;
struct crypto_key;
struct crypto_md5_hub;
struct journal;
struct progress;
struct snap_file;
struct storage;
struct uploads;

struct pipeline;

struct stored_object {
	unsigned char source_md5[16];
	uint64_t source_size;
	char etag[49];			/* the manifest's MD5: the store's ETag
					 * (MD5 hex, or "<32 hex>-<parts>");
					 * where it keeps none (local), the
					 * source MD5 of a plaintext object and
					 * "" for an encrypted one */
	uint64_t size;
	unsigned char salt[32];
	int encrypted;
	int used_variant;		/* stored under the variant key */
};

/* One per encoding thread. `key` NULL means store plaintext. The MD5s go
 * through `md5hub`, shared by the encoders so that their streams are hashed
 * side by side (NULL: each on its own). Creates a private directory in
 * pipeline_workdir(), removed by pipeline_free(). */
int pipeline_new(struct pipeline **out, const struct config *cfg, struct storage *st,
		 struct uploads *up, const struct crypto_key *key, struct crypto_md5_hub *md5hub);
void pipeline_free(struct pipeline *p);
/* Count the plaintext bytes pipeline_store() reads, as they pass, on
 * `progress` (NULL: none). pipeline_hash_file() does not count. */
void pipeline_set_progress(struct pipeline *p, struct progress *progress);

/* Journal each object just before it becomes visible (journal.h); NULL:
 * none. */
void pipeline_set_journal(struct pipeline *p, struct journal *j);
/* The node's work directory for temp files, <encryption_tmp_dir>/
 * cassette-<fqdn>.work: only the run holding the node's lock writes there,
 * so what it finds there at its start a killed run left. A fresh string,
 * NULL when out of memory. */
char *pipeline_workdir(const struct config *cfg);

/* How the file at `path` (in the snapshot) is stored: CRYPTO_COMPRESS_NONE
 * (a flagless object) when encryption or compression is off, and with
 * compression = auto for a Data.db that has a CompressionInfo.db beside it
 * (Cassandra compressed it); else the configured mode. */
enum crypto_compress pipeline_compression(const struct config *cfg, const char *path);

/* MD5 and size of a local file (the file is read once). */
int pipeline_hash_file(struct pipeline *p, const char *path, unsigned char md5[16], uint64_t *size);
/* The same, feeding `etag` (NULL: none) every byte of the same read. */
struct etag_prover;
int pipeline_hash_file_etag(struct pipeline *p, const char *path, unsigned char md5[16], uint64_t *size,
			    struct etag_prover *etag);

/*
 * Encrypt `f` (identity: fqdn + its keyspace, table, rel) and store it under
 * `key`; with STORAGE_PUT_NO_OVERWRITE and `key` taken, under `variant`.
 * Objects above the multipart threshold go up as parts, in parallel. Returns
 * after the object is complete in storage. Temp files are gone afterwards,
 * on success and on failure, and a failed multipart upload is aborted.
 */
int pipeline_store(struct pipeline *p, const struct snap_file *f, const char *fqdn,
		   const char *key, const char *variant, int flags, struct stored_object *out);

#endif
