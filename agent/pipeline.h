/*
 * pipeline: one file from the snapshot to storage in a single read:
 * source MD5, encryption and the stored object's MD5 as the bytes pass,
 * into a private temp file, then one storage put.
 */
#ifndef CASSETTE_PIPELINE_H
#define CASSETTE_PIPELINE_H

#include <stdint.h>

struct config;
struct crypto_key;
struct snap_file;
struct storage;

struct pipeline;

struct stored_object {
	unsigned char source_md5[16];
	uint64_t source_size;
	unsigned char md5[16];		/* of the stored bytes */
	uint64_t size;
	unsigned char salt[32];
	int encrypted;
};

/* `key` NULL means store plaintext. Creates a private directory under
 * cfg->encryption_tmp_dir, removed by pipeline_free(). */
int pipeline_new(struct pipeline **out, const struct config *cfg, struct storage *st,
		 const struct crypto_key *key);
void pipeline_free(struct pipeline *p);

/* MD5 and size of a local file (the file is read once). */
int pipeline_hash_file(struct pipeline *p, const char *path, unsigned char md5[16], uint64_t *size);

/*
 * Encrypt `f` (identity: fqdn + its keyspace, table, rel) and store it under
 * `key` with storage flags. The temp file is gone afterwards, on success and
 * on failure. A file whose size differs from the snapshot's record fails.
 */
int pipeline_store(struct pipeline *p, const struct snap_file *f, const char *fqdn,
		   const char *key, int flags, struct stored_object *out);

#endif
