/*
 * stream_int: what crypto/stream.c (the segment stream) and
 * crypto/stream_kinds.c (objects with segment kinds, FORMAT.md "Compressed
 * segments") share: the stream's state and the per-segment helpers.
 */
#ifndef CASSETTE_STREAM_INT_H
#define CASSETTE_STREAM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto_int.h"

#define NONCE_LEN 12
/* docs/FORMAT.md caps the encoded identity (older OpenSSL 3.0 HKDF does too). */
#define INFO_MAX 1024
/* The segment buffer starts this small so tiny objects stay cheap. */
#define BUF_INITIAL 4096
#define BUF_ALIGN 4096

enum { ST_OPEN, ST_DONE, ST_DEAD };

struct crypto_stream {
	int decrypt;
	int state;
	int have_header;	/* encryptor: header sent; decryptor: parsed */
	EVP_CIPHER *cipher;
	EVP_CIPHER_CTX *ctx;
	struct crypto_header hdr;
	unsigned char hdr_bytes[CRYPTO_HEADER_LEN];
	size_t hdr_fill;	/* decryptor: header bytes received */
	unsigned char *info;	/* HKDF info for the identity */
	size_t info_len;
	/* decryptor, until the header arrives */
	unsigned char master[CRYPTO_KEY_LEN];
	unsigned char key_id[CRYPTO_KEYID_LEN];
	unsigned char expected_salt[CRYPTO_SALT_LEN];
	int check_salt;
	/* the segment buffer: at most segment_size + tag bytes */
	unsigned char *buf;
	size_t cap;
	size_t fill;
	size_t stride;		/* segment_size + CRYPTO_TAG_LEN */
	uint64_t index;		/* next segment number */
	uint64_t plain;
	/* objects with segment kinds (hdr.flags): zstd, per-segment lengths */
	enum crypto_compress compress;	/* encryptor */
	struct crypto_codec *codec;	/* borrowed; NULL until needed */
	char *what;			/* the identity's file, for messages */
	uint64_t compressed;		/* encryptor: segments kept compressed */
	unsigned char lenbuf[4];	/* decryptor: the next segment's length */
	size_t len_fill;
	size_t seg_end;			/* decryptor: fill at its tag's end */
	int pending;			/* decryptor: a whole segment is buffered */
};

/* A decryptor gathers a segment of an object with kinds at this offset of
 * its buffer, so that after the kind byte a raw piece is page-aligned. */
#define KIND_OFF (BUF_ALIGN - 1)

void stream_put_u32(unsigned char *p, uint32_t v);
/* Grow the segment buffer to hold `need` bytes (need <= stride). */
int stream_ensure_cap(struct crypto_stream *s, size_t need);
/* The sink's answer, a positive one turned into CST_ERROR. */
int stream_call_sink(crypto_sink_fn sink, void *arg, const unsigned char *buf, size_t len);
/* Segment s->index may be used (the last may be number 2^32 - 1). */
int stream_counter_ok(const struct crypto_stream *s, int last);
/* nonce = prefix || u32(s->index) || last flag */
void stream_make_nonce(unsigned char nonce[NONCE_LEN], const struct crypto_stream *s, int last);
/* Decrypt and verify n bytes at `in` with the tag at `tag` into `out`
 * (wiped on failure). */
int stream_aead_open(struct crypto_stream *s, const unsigned char *in, size_t n,
		     const unsigned char *tag, int last, unsigned char *out);

/* stream_kinds.c: seal one piece as length || kind || body || tag; take
 * ciphertext in; the end of the object. */
int stream_seal_kinds(struct crypto_stream *s, const unsigned char *in, size_t n, int last,
		      crypto_sink_fn sink, void *arg);
int stream_kinds_update(struct crypto_stream *s, const unsigned char *in, size_t len,
			crypto_sink_fn sink, void *arg);
int stream_kinds_final(struct crypto_stream *s, crypto_sink_fn sink, void *arg);

#endif
