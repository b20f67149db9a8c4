/* Helpers shared by the crypto test binaries. */
#ifndef CASSETTE_TEST_CRYPTO_H
#define CASSETTE_TEST_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

/* A sink that records everything it is given, and every call's length. */
struct obuf {
	unsigned char *p;
	size_t len, cap;
	size_t calls;
	size_t *call_len;	/* length of each call, `calls` entries */
	size_t call_cap;
	size_t fail_at_call;	/* 0 = never; else return CST_EIO on that call */
};

void obuf_reset(struct obuf *o);
void obuf_free(struct obuf *o);
int obuf_sink(void *arg, const unsigned char *buf, size_t len);

/* One known-answer vector from vectors/cassette-v1.txt. */
struct vec {
	char *name, *fqdn, *keyspace, *table, *file;
	unsigned char key[CRYPTO_KEY_LEN], key_id[CRYPTO_KEYID_LEN];
	unsigned char salt[CRYPTO_SALT_LEN], prefix[CRYPTO_PREFIX_LEN];
	uint32_t segment_size;
	unsigned char *plain;
	size_t plain_len;
	unsigned char *object;	/* NULL for rule-generated vectors */
	size_t object_len;
	unsigned char object_header[CRYPTO_HEADER_LEN];
	unsigned char object_sha256[32];
};

/* Load every vector (asserts on any parse error). */
void vec_load(struct vec **out, size_t *n);
void vec_free(struct vec *v, size_t n);
struct crypto_identity vec_identity(const struct vec *v);

/* Encrypt / decrypt a whole buffer feeding `chunk` bytes per update
 * (0 = all at once). The output goes to `o` (reset first). Returns the
 * first non-zero code, or 0. */
int encrypt_buf(const struct crypto_key *key, const struct crypto_identity *id,
		const struct crypto_enc_params *params, const unsigned char *in, size_t len,
		size_t chunk, struct obuf *o);
int decrypt_buf(const struct crypto_key *key, const struct crypto_identity *id,
		const unsigned char *salt, const unsigned char *in, size_t len, size_t chunk,
		struct obuf *o);

/* Deterministic test bytes. */
void fill_pattern(unsigned char *p, size_t len, uint32_t seed);
/* A key made from a one-byte seed (asserts). */
struct crypto_key *test_key(unsigned char seed);
/* The identity most tests use. */
extern const struct crypto_identity test_id;

#endif
