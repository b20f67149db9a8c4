/*
 * crypto: keys, the encrypted object format and hashing. It only transforms
 * bytes; it knows nothing of storage, manifests or commands.
 *
 * Object format (docs/FORMAT.md is the normative text):
 *   header (64 bytes, authenticated as AAD of every segment)
 *   segment 0 .. n-1: ciphertext (segment_size bytes, the last one shorter or
 *   equal, possibly empty) followed by a 16-byte GCM tag.
 * Per-object key = HKDF-SHA256(master, salt, info = label || identity).
 * Nonce = nonce_prefix(7) || segment counter (u32 BE) || last flag (1 byte).
 */
#ifndef CASSETTE_CRYPTO_H
#define CASSETTE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN 32
#define CRYPTO_KEYID_LEN 8
#define CRYPTO_SALT_LEN 32
#define CRYPTO_PREFIX_LEN 7
#define CRYPTO_TAG_LEN 16
#define CRYPTO_HEADER_LEN 64
#define CRYPTO_VERSION 1
#define CRYPTO_SUITE_AES256GCM_HKDF 1
#define CRYPTO_DEFAULT_SEGMENT (1u << 20)
#define CRYPTO_MIN_SEGMENT 16u
#define CRYPTO_MAX_SEGMENT (1u << 30)
/* Length of a base64 key line without the newline. */
#define CRYPTO_KEY_B64_LEN 44

/* ---- keys ------------------------------------------------------------ */

/* The master key and its key id. Opaque; wiped by crypto_key_free(). */
struct crypto_key;

/*
 * Load a key file: one line of padded base64 (44 characters) that decodes to
 * exactly 32 bytes (surrounding whitespace allowed). Refused with CST_EINVALID
 * when group or others have any permission on it (mode & 077; the message
 * says "chmod 600 it"), when it is not a regular file, or when it does not
 * decode to exactly 32 bytes; CST_ENOTFOUND when it does not exist, CST_EIO
 * when it cannot be read. The message names the path, never the content.
 * Every intermediate buffer is wiped. *out is owned by the caller (NULL on
 * failure).
 */
int crypto_key_load_file(struct crypto_key **out, const char *path);
/* Build a key from raw bytes (len must be 32, else CST_EINVALID). For tests
 * and keygen. *out is owned by the caller (NULL on failure). */
int crypto_key_from_bytes(struct crypto_key **out, const unsigned char *raw, size_t len);
/* Wipe and free. NULL is a no-op. */
void crypto_key_free(struct crypto_key *key);
/* The key id: first 8 bytes of HKDF-SHA256(ikm = key, salt = empty,
 * info = "cassette v1 key id"). Borrowed pointer to 8 bytes. */
const unsigned char *crypto_key_id(const struct crypto_key *key);
/* Fresh random key (RAND_bytes) as a base64 line (44 chars + NUL, no
 * newline) into out[45]. Returns 0 or CST_ERROR (out wiped). */
int crypto_keygen_b64(char out[CRYPTO_KEY_B64_LEN + 1]);

/* ---- object identity --------------------------------------------------- */

/*
 * What an object is the encryption of. Every field is a non-empty string.
 * `file` is the path relative to the table directory ("nb-1-big-Data.db" or
 * ".idx/nb-1-big-Data.db"). Decrypting with any other identity fails.
 * Encoded (docs/FORMAT.md) it is at most 1024 bytes; a longer or empty
 * field is CST_EINVALID.
 */
struct crypto_identity {
	const char *fqdn;
	const char *keyspace;
	const char *table;	/* table directory name: "<table>-<32 hex id>" */
	const char *file;
};

/* ---- header (no key needed) --------------------------------------------- */

struct crypto_header {
	uint8_t version;
	uint8_t suite;
	uint32_t segment_size;
	unsigned char key_id[CRYPTO_KEYID_LEN];
	unsigned char salt[CRYPTO_SALT_LEN];
	unsigned char nonce_prefix[CRYPTO_PREFIX_LEN];
};

/*
 * Parse the first CRYPTO_HEADER_LEN bytes of an object. Returns 0,
 * CST_EINVALID (not a cassette object: bad magic, short, reserved bytes not
 * zero) or CST_EUNSUPPORTED (unknown version or suite, segment size out of
 * range).
 */
int crypto_header_parse(struct crypto_header *out, const unsigned char *buf, size_t len);
/* Stored size of an object for a plaintext of `plain` bytes; 0 when the
 * segment size is out of range or it would take more than 2^32 segments. */
uint64_t crypto_object_size(uint64_t plain, uint32_t segment_size);
/* Inverse: plaintext size of a stored object of `stored` bytes; CST_EINVALID
 * (and *out = 0) when no plaintext size maps to it or the segment size is out
 * of range. */
int crypto_plain_size(uint64_t *out, uint64_t stored, uint32_t segment_size);

/* ---- streaming AEAD ------------------------------------------------------ */

/*
 * Output sink: called with each piece of output in order. An encryptor
 * passes the 64-byte header, then one whole segment (ciphertext || tag) per
 * call; a decryptor one whole verified segment's plaintext per call (0 bytes
 * for the empty segment of an empty object). Return 0 to go on or a negative
 * CST_ code to stop; that code is returned by the stream call. The buffer is
 * only valid during the call.
 */
typedef int (*crypto_sink_fn)(void *arg, const unsigned char *buf, size_t len);

struct crypto_stream;

/* Optional parameters for a new encryptor. Zeroed = defaults. */
struct crypto_enc_params {
	uint32_t segment_size;			/* 0 = CRYPTO_DEFAULT_SEGMENT */
	const unsigned char *salt;		/* NULL = random; test vectors only */
	const unsigned char *nonce_prefix;	/* NULL = random; test vectors only */
};

/*
 * Start encrypting one object. The header is emitted to the sink on the first
 * update() or on final(). *out is owned by the caller (NULL on failure).
 * Errors: CST_EINVALID (segment size out of range, bad identity), CST_ENOMEM,
 * CST_ERROR (OpenSSL).
 */
int crypto_encryptor_new(struct crypto_stream **out, const struct crypto_key *key,
			 const struct crypto_identity *id,
			 const struct crypto_enc_params *params);
/*
 * Start decrypting one object. `expected_salt` (may be NULL) is the salt the
 * manifest recorded: a header with another salt fails with CST_EINTEGRITY.
 * A header whose key id is not `key`'s fails with CST_EAUTH ("wrong key",
 * both key ids in hex) before any decryption is tried. The stream keeps a
 * copy of the key until the header arrived; `key` may be freed after this.
 * *out is owned by the caller (NULL on failure).
 */
int crypto_decryptor_new(struct crypto_stream **out, const struct crypto_key *key,
			 const struct crypto_identity *id,
			 const unsigned char *expected_salt);
/*
 * Feed bytes (plaintext to an encryptor, the stored object to a decryptor).
 * Output goes to `sink` one whole segment at a time; a decryptor emits a
 * segment only after its tag verified, and only once a byte after it showed
 * it is not the last one (final() releases the last). Errors: CST_EINTEGRITY
 * (tag, order, trailing bytes, salt mismatch), CST_EAUTH (wrong key),
 * CST_EINVALID (not a cassette object; an encryptor past 2^32 segments),
 * CST_EUNSUPPORTED (unknown version, suite or segment size), or the sink's
 * code. After an error the stream is dead: further calls are CST_EINVALID.
 * Plaintext a decryptor emitted before an error must be discarded.
 */
int crypto_stream_update(struct crypto_stream *s, const unsigned char *in, size_t len,
			 crypto_sink_fn sink, void *arg);
/* Flush the last segment (flagged last). A decryptor fails with
 * CST_EINTEGRITY when the object is truncated (anywhere, even inside the
 * header or exactly at a segment boundary). Only a 0 from a decryptor's
 * final() means the whole plaintext was authentic. */
int crypto_stream_final(struct crypto_stream *s, crypto_sink_fn sink, void *arg);
/* Header of the stream (encryptor: after new(); decryptor: after it has seen
 * 64 bytes, else NULL). Borrowed. */
const struct crypto_header *crypto_stream_header(const struct crypto_stream *s);
/* Plaintext bytes so far: accepted by an encryptor, verified and emitted by
 * a decryptor. */
uint64_t crypto_stream_plain_bytes(const struct crypto_stream *s);
/* Wipe keys and free. NULL is a no-op. Freeing without final() abandons. */
void crypto_stream_free(struct crypto_stream *s);

/* ---- hashing -------------------------------------------------------------- */

/* MD5 (for S3 Content-MD5/ETag, not security). All return 0 or a CST_ code;
 * new() gives CST_EUNSUPPORTED where OpenSSL has no MD5 (FIPS). *out is owned
 * by the caller; free(NULL) is a no-op. */
struct crypto_md5;
int crypto_md5_new(struct crypto_md5 **out);
int crypto_md5_update(struct crypto_md5 *h, const void *buf, size_t len);
/* Writes 16 bytes; the context can be reused after crypto_md5_reset(). */
int crypto_md5_final(struct crypto_md5 *h, unsigned char out[16]);
int crypto_md5_reset(struct crypto_md5 *h);
void crypto_md5_free(struct crypto_md5 *h);
/* Bytes fed to every crypto_md5 context of the process so far (for tests
 * and benchmarks: MD5 is the slowest step). Thread-safe. */
uint64_t crypto_md5_bytes_hashed(void);

/*
 * An MD5 hub hashes the streams of many threads together, one stream a SIMD
 * lane: 16 lanes with AVX-512, 8 with AVX2, else 1 (then a shared context is
 * just a portable-C MD5). The kernel is the best the CPU has, lowered (never
 * raised) by CASSETTE_MD5_ISA=scalar|avx2|avx512 when the hub is made.
 *
 * A thread whose update() finds other threads' updates in flight joins them:
 * one of the callers hashes up to `lanes` streams at once while the others
 * wait, so lanes only fill when that many threads are in update() together.
 * update() returns once its bytes are hashed (the buffer may be reused).
 * Updates under 1 KiB are hashed by the caller alone.
 */
struct crypto_md5_hub;
int crypto_md5_hub_new(struct crypto_md5_hub **out);
/* NULL ok. Every context made on the hub must be freed first. */
void crypto_md5_hub_free(struct crypto_md5_hub *hub);
unsigned crypto_md5_hub_lanes(const struct crypto_md5_hub *hub);
/* "avx512", "avx2" or "scalar". */
const char *crypto_md5_hub_isa(const struct crypto_md5_hub *hub);
/* For benchmarks: the hub's kernel steps so far (a step = one 64-byte block
 * in each lane in use) and the blocks they hashed; lane_blocks / steps is the
 * mean number of lanes filled. Blocks hashed by their own thread (updates
 * under 1 KiB, partial blocks) are not counted. */
void crypto_md5_hub_fill(struct crypto_md5_hub *hub, uint64_t *steps, uint64_t *lane_blocks);
/*
 * A context whose update()s are absorbed by `hub` together with other
 * threads' (hub NULL: a plain one, as crypto_md5_new()). Each context is used
 * by one thread at a time; any number of threads may share a hub.
 * update/final/reset/free and crypto_md5_bytes_hashed() work as for a plain
 * context.
 */
int crypto_md5_new_shared(struct crypto_md5 **out, struct crypto_md5_hub *hub);
/*
 * update() in two halves, so a thread can work on the same buffer (encrypt
 * it, say) while its MD5 is pending: submit() takes the bytes (buffering a
 * partial block at once) and queues the whole blocks; wait() returns when
 * they are hashed. Until then buf must stay unchanged and readable. Any
 * other call on the context (update, submit, final, reset, free) waits
 * first. More streams in the queue fill more lanes; threads that submitted
 * and went on do not hash, the ones in wait() (or update()) do.
 * On a plain context submit() is update() and wait() does nothing.
 */
int crypto_md5_submit(struct crypto_md5 *h, const void *buf, size_t len);
void crypto_md5_wait(struct crypto_md5 *h);

/* ---- meta authentication (docs/FORMAT.md, "auth.json") -------------------- */

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_META_MAC_LEN 32

/* SHA-256, streaming (the meta objects a restore reads are hashed as they
 * pass). All return 0 or CST_ERROR / CST_ENOMEM; free(NULL) is a no-op. */
struct crypto_sha256;
int crypto_sha256_new(struct crypto_sha256 **out);
int crypto_sha256_update(struct crypto_sha256 *h, const void *buf, size_t len);
int crypto_sha256_final(struct crypto_sha256 *h, unsigned char out[CRYPTO_SHA256_LEN]);
void crypto_sha256_free(struct crypto_sha256 *h);
/* One buffer at once. */
int crypto_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *buf, size_t len);

/* One meta object of a backup: its name ("manifest.json") and the SHA-256
 * of its bytes. */
struct crypto_meta_object {
	const char *name;
	unsigned char sha256[CRYPTO_SHA256_LEN];
};

/*
 * The meta MAC of a backup (FORMAT.md): HMAC-SHA256 under
 *   mac_key = HKDF-SHA256(key, salt = empty, info = "cassette v1 meta mac key")
 * over "cassette v1 meta auth" || 0x00 || lp(fqdn) || lp(backup) ||
 * lp(key id of `key`, 16 lowercase hex) || for each object in bytewise
 * order of its name: lp(name) || sha256, where lp(s) = u32(len(s)) || s.
 * `key` is the key that encrypts the backup's data objects; objs may come
 * in any order (a name given twice is CST_EINVALID). 0 or a CST_ code
 * (out wiped). The MAC key is wiped before returning.
 */
int crypto_meta_mac(unsigned char out[CRYPTO_META_MAC_LEN], const struct crypto_key *key,
		    const char *fqdn, const char *backup, const struct crypto_meta_object *objs,
		    size_t n);
/* The same, compared with `mac` in constant time: 0 when equal,
 * CST_EINTEGRITY (no message set: the caller names the object) when not,
 * or the error of crypto_meta_mac(). */
int crypto_meta_mac_verify(const struct crypto_key *key, const char *fqdn, const char *backup,
			   const struct crypto_meta_object *objs, size_t n,
			   const unsigned char mac[CRYPTO_META_MAC_LEN]);

#endif
