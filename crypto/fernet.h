/*
 * fernet: reads the objects of Cassandra Medusa's client-side encryption
 * (docs/FORMAT.md, "Medusa's encrypted objects (read only)"). cassette
 * never writes this format.
 *
 * An object is a sequence of chunks, each
 *   u32 big-endian length || that many bytes of a Fernet token,
 * the token in URL-safe base64 with '=' padding, as Python's
 * cryptography.fernet.Fernet.encrypt() returns it. Decoded, a token is
 *   0x80 || u64 BE timestamp || IV (16) || AES-128-CBC ciphertext (PKCS7)
 *   || HMAC-SHA256 (32) over everything before it,
 * under the 32-byte key: its first 16 bytes sign, its last 16 encrypt.
 * Each token holds at most 1 MiB of plaintext (Medusa's chunk size).
 * Nothing binds a chunk to its position or to its object: the caller must
 * check the whole plaintext against a digest it trusts (the manifest's
 * source_MD5 and source_size).
 */
#ifndef CASSETTE_FERNET_H
#define CASSETTE_FERNET_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define FERNET_KEY_LEN 32
/* The most plaintext one chunk may hold (Medusa writes 1 MiB chunks). */
#define FERNET_MAX_PLAIN (1u << 20)
/* version + timestamp + IV + HMAC */
#define FERNET_OVERHEAD (1 + 8 + 16 + 32)
/* The decoded token of FERNET_MAX_PLAIN bytes (PKCS7 adds a whole block). */
#define FERNET_MAX_RAW (FERNET_OVERHEAD + FERNET_MAX_PLAIN + 16)
/* Its base64 text: the largest chunk length accepted. */
#define FERNET_MAX_CHUNK (4 * ((FERNET_MAX_RAW + 2) / 3))
/* The token of an empty plaintext (one block of padding), in base64. */
#define FERNET_MIN_CHUNK (4 * ((FERNET_OVERHEAD + 16 + 2) / 3))

/* A Fernet key (opaque; wiped by fernet_key_free()). */
struct fernet_key;

/*
 * Parse a key as Medusa's key_secret_base64 holds it: 44 characters of
 * padded base64 ending in '=' (Fernet.generate_key()), surrounding
 * whitespace allowed, decoding to exactly 32 bytes. The URL-safe alphabet
 * ('-', '_') and the standard one ('+', '/') are both accepted, even mixed,
 * because both name the same bytes and Medusa's Python decoder accepts
 * both. CST_EINVALID naming `what` (never the value) otherwise. Every
 * intermediate buffer is wiped. *out is the caller's (NULL on failure).
 */
int fernet_key_parse(struct fernet_key **out, const char *text, const char *what);
/* Wipe and free. NULL is a no-op. */
void fernet_key_free(struct fernet_key *key);

/*
 * Decode one token (its base64 text) into `out` (room for at least
 * len * 3 / 4 bytes): the HMAC is checked in constant time before anything
 * is decrypted, then the version byte, the CBC length and the PKCS7 padding.
 * The timestamp is not checked (Medusa sets no time-to-live). 0 with
 * *out_len set, CST_EINTEGRITY (not base64, too short, bad HMAC, version or
 * padding; one line without `what`, the caller names the object) or
 * CST_ERROR (OpenSSL).
 */
int fernet_token_open(const struct fernet_key *key, const char *token, size_t len,
		      unsigned char *out, size_t *out_len);

/* A streaming reader of one object: memory holds one chunk. */
struct fernet_reader;

/* `key` is borrowed for the reader's life; `what` (copied) names the object
 * in messages. */
int fernet_reader_new(struct fernet_reader **out, const struct fernet_key *key, const char *what);
/*
 * Feed the next bytes of the stored object. Each chunk's plaintext goes to
 * `sink` once its token verified. A chunk length of 0 or above
 * FERNET_MAX_CHUNK (or below FERNET_MIN_CHUNK) is refused before anything
 * is allocated for it. Errors (CST_EINTEGRITY, or the sink's code) name
 * `what`, the chunk number (from 0) and its byte offset; they are sticky.
 * Plaintext emitted before an error must be discarded.
 */
int fernet_reader_update(struct fernet_reader *r, const unsigned char *buf, size_t len,
			 crypto_sink_fn sink, void *arg);
/* End of the object: CST_EINTEGRITY when it stops inside a length or a
 * token. An object of no chunk is the empty plaintext. */
int fernet_reader_final(struct fernet_reader *r);
/* Chunks verified so far. */
uint64_t fernet_reader_chunks(const struct fernet_reader *r);
/* Wipe the buffers (they held plaintext) and free. NULL is a no-op. */
void fernet_reader_free(struct fernet_reader *r);

#endif
