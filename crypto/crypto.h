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

/* ---- keyrings ------------------------------------------------------------- */

/*
 * A keyring: the master keys a host holds, oldest first (docs/FORMAT.md,
 * "Keyrings"). The newest wraps new data keys; any of them unwraps. Opaque;
 * every key is wiped by crypto_keyring_free().
 */
struct crypto_keyring;
#define CRYPTO_KEYRING_MAX 64
/* "<16 hex key id> <44 base64>" */
#define CRYPTO_KEYRING_LINE_LEN (2 * CRYPTO_KEYID_LEN + 1 + CRYPTO_KEY_B64_LEN)

/* Load a keyring file (or a key file of one bare base64 line), refused like a
 * key file when group or others may access it. A line's key id must be its
 * key's; no key twice. CST_EINVALID with the line number, never the content. */
int crypto_keyring_load_file(struct crypto_keyring **out, const char *path);
/* The same from memory; `what` names the source in messages. */
int crypto_keyring_parse(struct crypto_keyring **out, const char *text, size_t len,
			 const char *what);
/* A keyring of no key (a node in public-key mode holds none). */
int crypto_keyring_empty(struct crypto_keyring **out);
/* A keyring of one key; takes `key` (freed on failure too). */
int crypto_keyring_from_key(struct crypto_keyring **out, struct crypto_key *key);
/* The number of master keys. */
size_t crypto_keyring_count(const struct crypto_keyring *kr);
/* Key i, 0 the oldest; NULL past the end. Borrowed. */
const struct crypto_key *crypto_keyring_key(const struct crypto_keyring *kr, size_t i);
/* The newest master key; NULL in a keyring of recipient keys only. */
const struct crypto_key *crypto_keyring_newest(const struct crypto_keyring *kr);
/* Public-key mode: the recipient private keys (by recipient id), and the
 * pinned signing keys of nodes (NULL when the node is not pinned). */
size_t crypto_keyring_recipient_count(const struct crypto_keyring *kr);
const struct crypto_key *crypto_keyring_recipient(const struct crypto_keyring *kr,
						  const unsigned char id[CRYPTO_KEYID_LEN]);
const unsigned char *crypto_keyring_node_key(const struct crypto_keyring *kr, const char *fqdn);
/* The key with this id, or NULL. */
const struct crypto_key *crypto_keyring_find(const struct crypto_keyring *kr,
					     const unsigned char id[CRYPTO_KEYID_LEN]);
void crypto_keyring_free(struct crypto_keyring *kr);
/* A fresh random key as a keyring line (no newline) into out. */
int crypto_keyring_line_new(char out[CRYPTO_KEYRING_LINE_LEN + 1]);

/* ---- envelope: data keys wrapped under master keys ------------------------- */

/* salt (32) || nonce (12) || wrapped key (32) || GCM tag (16) */
#define CRYPTO_WRAP_LEN (CRYPTO_SALT_LEN + 12 + CRYPTO_KEY_LEN + CRYPTO_TAG_LEN)

/* A fresh random key (a data key). */
int crypto_key_generate(struct crypto_key **out);
/* Wrap data key `dk` of node `fqdn` under `master`. 0 or a CST_ code. */
int crypto_wrap_key(unsigned char out[CRYPTO_WRAP_LEN], const struct crypto_key *master,
		    const struct crypto_key *dk, const char *fqdn);
/* Unwrap: CST_EINTEGRITY when `in` is not a wrap of the data key `dk_id` of
 * node `fqdn` under `master` (altered, moved, or another master). */
int crypto_unwrap_key(struct crypto_key **out, const struct crypto_key *master,
		      const unsigned char in[CRYPTO_WRAP_LEN], const char *fqdn,
		      const unsigned char dk_id[CRYPTO_KEYID_LEN]);
/* ---- passphrase keys (crypto/kdf.c) ------------------------------------ */

/* scrypt costs: below the minimum a passphrase key is too cheap to guess;
 * above the maximum a tampered parameters object would make us allocate
 * without bound (128*N*r bytes of working memory). */
#define CRYPTO_SCRYPT_MIN_N ((uint64_t)1 << 15)
#define CRYPTO_SCRYPT_MIN_R 8u
#define CRYPTO_SCRYPT_MIN_P 1u
#define CRYPTO_SCRYPT_MAX_N ((uint64_t)1 << 22)
#define CRYPTO_SCRYPT_MAX_R 32u
#define CRYPTO_SCRYPT_MAX_P 16u
#define CRYPTO_SCRYPT_MAX_MEM ((uint64_t)1 << 30)

/*
 * 0 when (N, r, p) are allowed: N a power of two from 2^15 to 2^22, r from 8
 * to 32, p from 1 to 16, and 128*N*r at most 1 GiB. Otherwise CST_EINVALID
 * with a message that gives the three costs and the bound they break.
 */
int crypto_scrypt_check_costs(uint64_t N, uint32_t r, uint32_t p);
/*
 * A master key from a passphrase: scrypt(pass, salt, N, r, p) of 32 bytes
 * (OpenSSL's EVP_KDF "SCRYPT"), made a key as by crypto_key_from_bytes()
 * (its own locked page, its key id). Costs are checked first
 * (crypto_scrypt_check_costs()); an empty passphrase or salt is
 * CST_EINVALID; CST_ERROR when OpenSSL fails (out of memory). The derived
 * bytes are wiped. *out is owned by the caller (NULL on failure).
 */
int crypto_key_from_passphrase(struct crypto_key **out, const unsigned char *pass, size_t passlen,
			       const unsigned char *salt, size_t saltlen, uint64_t N, uint32_t r,
			       uint32_t p);
/* len bytes from OpenSSL's random generator (a salt). 0 or CST_ERROR. */
int crypto_random_bytes(unsigned char *out, size_t len);

/* ---- public-key mode: X25519 recipients, Ed25519 node signatures -------- */

#define CRYPTO_PK_LEN 32
#define CRYPTO_SIG_LEN 64
/* ephemeral public (32) || nonce (12) || wrapped key (32) || GCM tag (16) */
#define CRYPTO_PKWRAP_LEN (CRYPTO_PK_LEN + 12 + CRYPTO_KEY_LEN + CRYPTO_TAG_LEN)

/* Private keys are 32 random bytes in a struct crypto_key (keygen makes
 * them like any key); these give the public halves. */
int crypto_x25519_public(unsigned char pub[CRYPTO_PK_LEN], const struct crypto_key *priv);
int crypto_ed25519_public(unsigned char pub[CRYPTO_PK_LEN], const struct crypto_key *priv);
/* The id of a recipient's public key (docs/FORMAT.md, "Public-key mode"). */
int crypto_recipient_id(unsigned char id[CRYPTO_KEYID_LEN], const unsigned char pub[CRYPTO_PK_LEN]);
/* Wrap data key `dk` of node `fqdn` to the recipient's public key (a fresh
 * ephemeral X25519 key each time); only the private key unwraps it. */
int crypto_wrap_to_recipient(unsigned char out[CRYPTO_PKWRAP_LEN],
			     const unsigned char rpub[CRYPTO_PK_LEN], const struct crypto_key *dk,
			     const char *fqdn);
/* CST_EINTEGRITY when `in` is not a wrap of data key `dk_id` of `fqdn` to
 * this private key's public key. */
int crypto_unwrap_as_recipient(struct crypto_key **out, const struct crypto_key *rpriv,
			       const unsigned char in[CRYPTO_PKWRAP_LEN], const char *fqdn,
			       const unsigned char dk_id[CRYPTO_KEYID_LEN]);
int crypto_ed25519_sign(unsigned char sig[CRYPTO_SIG_LEN], const struct crypto_key *priv,
			const unsigned char *msg, size_t len);
/* A typed secret key file, one line "<type> <base64>" (type
 * "ed25519-private" or "x25519-private"), refused like a key file when group
 * or others may access it. */
int crypto_typed_key_load(struct crypto_key **out, const char *path, const char *type);
/* A public key file, one line "<type> <base64>" ("x25519-public"). */
int crypto_public_key_load(unsigned char pub[CRYPTO_PK_LEN], const char *path, const char *type);
/* A new key pair as its two file lines (each ending in a newline): signing 0
 * an X25519 recipient, 1 an Ed25519 node signing key for node `fqdn`. The
 * caller wipes priv. */
struct crypto_pk_pair {
	char priv[128];
	char pub[384];
};
int crypto_pk_keygen(struct crypto_pk_pair *out, int signing, const char *fqdn);
/* 0, or CST_EINTEGRITY when the signature does not verify. */
int crypto_ed25519_verify(const unsigned char pub[CRYPTO_PK_LEN], const unsigned char *msg,
			  size_t len, const unsigned char sig[CRYPTO_SIG_LEN]);

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

/* Header flag (byte 6): the segments carry a kind byte and a length and may
 * be zstd-compressed (docs/FORMAT.md, "Compressed segments"). */
#define CRYPTO_FLAG_SEGMENT_KINDS 0x01u
/* The per-segment overhead of such an object: length (4), kind (1), tag. */
#define CRYPTO_SEGHDR_LEN (4 + 1 + CRYPTO_TAG_LEN)

struct crypto_header {
	uint8_t version;
	uint8_t suite;
	uint8_t flags;		/* 0, or CRYPTO_FLAG_SEGMENT_KINDS */
	uint32_t segment_size;
	unsigned char key_id[CRYPTO_KEYID_LEN];
	unsigned char salt[CRYPTO_SALT_LEN];
	unsigned char nonce_prefix[CRYPTO_PREFIX_LEN];
};

/*
 * Parse the first CRYPTO_HEADER_LEN bytes of an object. Returns 0,
 * CST_EINVALID (not a cassette object: bad magic, short, reserved bytes not
 * zero) or CST_EUNSUPPORTED (unknown version, suite or header flag, segment
 * size out of range).
 */
int crypto_header_parse(struct crypto_header *out, const unsigned char *buf, size_t len);
/* Stored size of an object for a plaintext of `plain` bytes; 0 when the
 * segment size is out of range or it would take more than 2^32 segments. */
uint64_t crypto_object_size(uint64_t plain, uint32_t segment_size);
/* Inverse: plaintext size of a stored object of `stored` bytes; CST_EINVALID
 * (and *out = 0) when no plaintext size maps to it or the segment size is out
 * of range. */
int crypto_plain_size(uint64_t *out, uint64_t stored, uint32_t segment_size);
/* The sizes an object of `plain` bytes may have when stored: exactly
 * crypto_object_size() without segment kinds (`kinds` 0), a range with them
 * (compressed segments: from header and per-segment overhead alone up to
 * every segment raw). An object with kinds does not give its plaintext size
 * from its stored size; the manifest's source_size says it. CST_EINVALID
 * (both 0) when the segment size is out of range or too many segments. */
int crypto_object_size_range(uint64_t *min, uint64_t *max, uint64_t plain, uint32_t segment_size,
			     int kinds);

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

/*
 * Compression of an encryptor's segments (docs/FORMAT.md, "Compressed
 * segments"). NONE writes a flagless object, byte for byte the format
 * before compression. AUTO and ZSTD write an object with segment kinds:
 * each segment is compressed with zstd level 1 and kept compressed when it
 * saves at least 5% (AUTO) or at least one byte (ZSTD), else stored raw.
 */
enum crypto_compress { CRYPTO_COMPRESS_NONE = 0, CRYPTO_COMPRESS_AUTO, CRYPTO_COMPRESS_ZSTD };

/*
 * zstd contexts and buffers, kept by one thread across the objects it
 * encodes or decodes so that no segment allocates. A stream given none uses
 * its thread's own (made at the first compressed segment, freed when the
 * thread ends). Its buffers grow to the largest segment size seen. Free it
 * after the streams that use it.
 */
struct crypto_codec;
int crypto_codec_new(struct crypto_codec **out);
void crypto_codec_free(struct crypto_codec *c);

/* Optional parameters for a new encryptor. Zeroed = defaults. */
struct crypto_enc_params {
	uint32_t segment_size;			/* 0 = CRYPTO_DEFAULT_SEGMENT */
	const unsigned char *salt;		/* NULL = random; test vectors only */
	const unsigned char *nonce_prefix;	/* NULL = random; test vectors only */
	enum crypto_compress compress;		/* 0 = NONE: a flagless object */
	struct crypto_codec *codec;		/* NULL = the stream's own */
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
/* A decryptor uses `codec` (borrowed; it must outlive the stream) for
 * compressed segments instead of making its own. Call before the first
 * update(). */
void crypto_stream_set_codec(struct crypto_stream *s, struct crypto_codec *codec);
/* Segments an encryptor stored compressed, and all it sealed so far. */
void crypto_stream_kinds(const struct crypto_stream *s, uint64_t *compressed, uint64_t *segments);
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
/* Public-key mode: the node signs the same content with its Ed25519 key
 * (FORMAT.md, "auth.json"). The signer id names a signing public key. */
int crypto_signing_key_id(unsigned char id[CRYPTO_KEYID_LEN], const unsigned char pub[CRYPTO_PK_LEN]);
int crypto_meta_sign(unsigned char sig[CRYPTO_SIG_LEN], const struct crypto_key *signing,
		     const char *fqdn, const char *backup, const struct crypto_meta_object *objs,
		     size_t n);
/* 0, CST_EINTEGRITY (no message set) when the signature does not verify. */
int crypto_meta_sig_verify(const unsigned char pub[CRYPTO_PK_LEN], const char *fqdn,
			   const char *backup, const struct crypto_meta_object *objs, size_t n,
			   const unsigned char sig[CRYPTO_SIG_LEN]);
/* The same, compared with `mac` in constant time: 0 when equal,
 * CST_EINTEGRITY (no message set: the caller names the object) when not,
 * or the error of crypto_meta_mac(). */
int crypto_meta_mac_verify(const struct crypto_key *key, const char *fqdn, const char *backup,
			   const struct crypto_meta_object *objs, size_t n,
			   const unsigned char mac[CRYPTO_META_MAC_LEN]);

#endif
