/*
 * Private to crypto/: the key struct, HKDF and the header encoding shared by
 * key.c, header.c and stream.c. Not installed, not for other modules.
 */
#ifndef CASSETTE_CRYPTO_INT_H
#define CASSETTE_CRYPTO_INT_H

#include "crypto.h"

struct crypto_key {
	unsigned char raw[CRYPTO_KEY_LEN];
	unsigned char id[CRYPTO_KEYID_LEN];
};

/*
 * HKDF-SHA256 (RFC 5869) via EVP_KDF. An empty salt (saltlen 0) is the RFC's
 * "not provided". Writes outlen bytes to out; on failure out is wiped.
 * Returns 0 or CST_ERROR.
 */
int crypto_hkdf(unsigned char *out, size_t outlen, const unsigned char *ikm, size_t ikmlen,
		const unsigned char *salt, size_t saltlen, const unsigned char *info,
		size_t infolen);

/* Strict decoding of one padded 44-character base64 line (surrounding
 * whitespace allowed) into exactly 32 bytes; CST_EINVALID otherwise (raw
 * wiped). Constant time in the characters. */
int crypto_b64_decode_key(unsigned char raw[CRYPTO_KEY_LEN], const char *text, size_t len);
/* Read a secret file (a key file, a keyring) whole into text (at most
 * cap - 1 bytes): refused unless it is a regular file that group and others
 * cannot access. Messages say "<what> <path>", never the content. On
 * failure text is wiped. */
int crypto_read_secret_file(char *text, size_t cap, size_t *len, const char *path,
			    const char *what);
/*
 * scrypt (RFC 7914) of outlen bytes, without the minimum costs of
 * crypto_key_from_passphrase() so the RFC's test vectors (N = 16 .. 16384)
 * can be checked; the maximum costs still hold (CST_EINVALID). On failure
 * out is wiped. Returns 0, CST_EINVALID or CST_ERROR.
 */
int crypto_scrypt_raw(unsigned char *out, size_t outlen, const unsigned char *pass,
		      size_t passlen, const unsigned char *salt, size_t saltlen, uint64_t N,
		      uint32_t r, uint32_t p);

/* The AAD of a wrapped data key (FORMAT.md): "cassette v2 data key" ||
 * 0x00 || u32(len(fqdn)) || fqdn || data key id || the wrapping key's id (a
 * master key id or a recipient id), into buf; its length. fqdn at most
 * 1024 bytes (the callers check). */
#define CRYPTO_WRAP_AAD_MAX (21 + 4 + 1024 + 2 * CRYPTO_KEYID_LEN)
size_t crypto_wrap_aad(unsigned char *buf, const char *fqdn, const unsigned char *dk_id,
		       const unsigned char *wrapper_id);

/* AES-256-GCM of one 32-byte key (wrap.c): seal writes ct (32) and tag
 * (16) under the AAD given. open reads ct || tag (48 bytes) under the AAD
 * of (fqdn, dk_id, wrapper_id) and gives the key, which must have id dk_id;
 * else CST_EINTEGRITY. Nothing of the key is left on the stack. */
int crypto_gcm_seal_key(const unsigned char *kek, const unsigned char *nonce,
			const unsigned char *aad, size_t aadlen, const unsigned char *key,
			unsigned char *ct, unsigned char *tag);
int crypto_open_wrapped(struct crypto_key **out, const unsigned char *kek, const unsigned char *nonce,
			const char *fqdn, const unsigned char *dk_id, const unsigned char *wrapper_id,
			const unsigned char *ct);

/* Serialize a header (version, suite and segment size taken as given). */
void crypto_header_encode(unsigned char out[CRYPTO_HEADER_LEN], const struct crypto_header *h);

/* Largest number of segments an object may have (2^32). */
#define CRYPTO_MAX_SEGMENTS ((uint64_t)1 << 32)

/* codec.c, for stream.c. The calling thread's codec (made at its first
 * use, freed at the thread's end), or NULL with the error set. */
struct crypto_codec *codec_of_thread(void);
/* codec.c, for stream.c. A buffer of segment_size + CRYPTO_SEGHDR_LEN bytes
 * for one sealed segment of an object with kinds; NULL when out of memory. */
unsigned char *codec_seg_buf(struct crypto_codec *c, uint32_t segment_size);
/* zstd level 1 of src[0..n) into dst, only if it fits in `limit` bytes:
 * *out is its length, or 0 when it does not fit (or limit or n is 0).
 * 0 or a CST_ code. */
int codec_compress(struct crypto_codec *c, unsigned char *dst, size_t limit, const unsigned char *src,
		   size_t n, size_t *out);
/* Decompress the body of segment `index` of `what`: exactly one zstd frame
 * that declares its content size, at most segment_size bytes, into the codec's buffer (*piece,
 * *len; valid until the next call). CST_EINTEGRITY otherwise: a frame that
 * declares or produces more is refused as a bomb, nothing is allocated for
 * it. */
int codec_decompress(struct crypto_codec *c, const unsigned char *src, size_t n, uint32_t segment_size,
		     const unsigned char **piece, size_t *len, const char *what, uint64_t index);

#endif
