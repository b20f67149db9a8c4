/*
 * Streaming AEAD over the segment layout of docs/FORMAT.md: AES-256-GCM per
 * segment, nonce = prefix || counter || last flag (STREAM), header as AAD.
 *
 * One EVP_CIPHER_CTX per stream keyed once; per segment only the nonce is
 * set. One segment buffer per stream, grown while the first segment arrives
 * and reused after: a full segment is encrypted or decrypted straight from
 * the caller's input into it, a partial one is gathered in it and processed
 * in place. Whether a segment is the last one is decided by position only: a
 * buffered full segment is known not to be last when a byte after it arrives.
 */
#define _POSIX_C_SOURCE 200809L	/* posix_memalign */
#include "crypto_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define OBJKEY_INFO "cassette v1 object key"
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

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* info = label || 0x00 || for each field: u32 length || bytes. */
static int build_info(struct crypto_stream *s, const struct crypto_identity *id)
{
	const char *fields[4] = { id->fqdn, id->keyspace, id->table, id->file };
	const char *names[4] = { "fqdn", "keyspace", "table", "file" };
	size_t lens[4], total = sizeof(OBJKEY_INFO), i;
	unsigned char *p;
	int rc = 0;

	for (i = 0; i < 4; i++) {
		if (fields[i] == NULL || fields[i][0] == '\0') {
			rc = cst_error(CST_EINVALID, "object identity: %s is empty", names[i]);
			goto out;
		}
		lens[i] = strlen(fields[i]);
		total += 4 + (lens[i] < INFO_MAX ? lens[i] : INFO_MAX);
	}
	if (total > INFO_MAX) {
		rc = cst_error(CST_EINVALID, "object identity too long (%zu bytes encoded, at "
			       "most %d)", total, INFO_MAX);
		goto out;
	}
	if ((s->info = cst_malloc(total)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	/* sizeof counts the NUL, which is the 0x00 separator. */
	memcpy(s->info, OBJKEY_INFO, sizeof(OBJKEY_INFO));
	p = s->info + sizeof(OBJKEY_INFO);
	for (i = 0; i < 4; i++) {
		put_u32(p, (uint32_t)lens[i]);
		memcpy(p + 4, fields[i], lens[i]);
		p += 4 + lens[i];
	}
	s->info_len = total;
out:
	return rc;
}

/* Derive the object key from the header's salt and key the context. */
static int cipher_init(struct crypto_stream *s, const unsigned char *master)
{
	unsigned char okey[CRYPTO_KEY_LEN];
	int rc;

	if ((rc = crypto_hkdf(okey, sizeof(okey), master, CRYPTO_KEY_LEN, s->hdr.salt,
			      CRYPTO_SALT_LEN, s->info, s->info_len)) != 0)
		goto out;
	if (EVP_CipherInit_ex(s->ctx, s->cipher, NULL, okey, NULL, s->decrypt ? 0 : 1) != 1) {
		rc = cst_error(CST_ERROR, "AES-256-GCM: cannot set the key");
		goto out;
	}
	s->stride = (size_t)s->hdr.segment_size + CRYPTO_TAG_LEN;
	if (s->decrypt && (s->hdr.flags & CRYPTO_FLAG_SEGMENT_KINDS))
		s->stride += KIND_OFF + 1;
out:
	OPENSSL_cleanse(okey, sizeof(okey));
	return rc;
}

/* A new stream for `id`; on failure *out may hold a partial one to free. */
static int stream_alloc(struct crypto_stream **out, int decrypt,
			const struct crypto_identity *id)
{
	struct crypto_stream *s;
	int rc = 0;

	if ((*out = s = cst_calloc(1, sizeof(*s))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	s->decrypt = decrypt;
	if (id == NULL) {
		rc = cst_error(CST_EINVALID, "object identity missing");
		goto out;
	}
	if ((rc = build_info(s, id)) != 0)
		goto out;
	if ((s->what = cst_strdup(id->file)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((s->cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL)) == NULL ||
	    (s->ctx = EVP_CIPHER_CTX_new()) == NULL)
		rc = cst_error(CST_ERROR, "AES-256-GCM: not available from OpenSSL");
out:
	return rc;
}

/* Grow the segment buffer to hold `need` bytes (need <= stride). */
static int ensure_cap(struct crypto_stream *s, size_t need)
{
	unsigned char *nbuf;
	size_t ncap;

	if (need <= s->cap)
		return 0;
	ncap = s->cap < BUF_INITIAL ? BUF_INITIAL : s->cap;
	while (ncap < need)
		ncap *= 2;
	if (ncap > s->stride)
		ncap = s->stride;
	/* page-aligned, so a full segment of plaintext can go to the disk by
	 * direct I/O straight from here (agent/direct.h) */
	if (posix_memalign((void **)&nbuf, BUF_ALIGN, ncap) != 0)
		return cst_error(CST_ENOMEM, "out of memory");
	if (s->buf != NULL) {
		memcpy(nbuf, s->buf, s->fill);
		OPENSSL_cleanse(s->buf, s->cap);
		free(s->buf);
	}
	s->buf = nbuf;
	s->cap = ncap;
	return 0;
}

static int call_sink(crypto_sink_fn sink, void *arg, const unsigned char *buf, size_t len)
{
	int rc = sink(arg, buf, len);

	if (rc > 0)
		rc = cst_error(CST_ERROR, "crypto sink returned %d", rc);
	return rc;
}

static int counter_ok(const struct crypto_stream *s, int last)
{
	/* Segment numbers are 0 .. 2^32 - 1, so the last may be 2^32 - 1. */
	return s->index < CRYPTO_MAX_SEGMENTS - 1 || (last && s->index == CRYPTO_MAX_SEGMENTS - 1);
}

static void make_nonce(unsigned char nonce[NONCE_LEN], const struct crypto_stream *s, int last)
{
	memcpy(nonce, s->hdr.nonce_prefix, CRYPTO_PREFIX_LEN);
	put_u32(nonce + CRYPTO_PREFIX_LEN, (uint32_t)s->index);
	nonce[NONCE_LEN - 1] = last ? 1 : 0;
}

static int seal_kinds(struct crypto_stream *s, const unsigned char *in, size_t n, int last,
		      crypto_sink_fn sink, void *arg);

/* Encrypt n bytes at `in` (may be s->buf) into s->buf || tag; emit them. */
static int seal_segment(struct crypto_stream *s, const unsigned char *in, size_t n, int last,
			crypto_sink_fn sink, void *arg)
{
	unsigned char nonce[NONCE_LEN];
	int outl;

	if (s->hdr.flags & CRYPTO_FLAG_SEGMENT_KINDS)
		return seal_kinds(s, in, n, last, sink, arg);
	if (!counter_ok(s, last))
		return cst_error(CST_EINVALID, "encrypt: more than 2^32 segments; use a larger "
				 "segment size than %u", s->hdr.segment_size);
	make_nonce(nonce, s, last);
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(s->ctx, NULL, &outl, s->hdr_bytes, CRYPTO_HEADER_LEN) != 1 ||
	    (n > 0 && EVP_EncryptUpdate(s->ctx, s->buf, &outl, in, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(s->ctx, s->buf + n, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_TAG_LEN, s->buf + n) != 1)
		return cst_error(CST_ERROR, "encrypt: AES-256-GCM failed on segment %llu",
				 (unsigned long long)s->index);
	s->index++;
	return call_sink(sink, arg, s->buf, n + CRYPTO_TAG_LEN);
}

/*
 * Decrypt n ciphertext bytes at `in` with the tag at `tag` into `out` (in
 * place or s->buf) and verify the tag; on failure `out` is wiped.
 */
static int aead_open(struct crypto_stream *s, const unsigned char *in, size_t n,
		     const unsigned char *tag, int last, unsigned char *out)
{
	unsigned char nonce[NONCE_LEN];
	int outl, rc = 0;

	if (!counter_ok(s, last)) {
		rc = cst_error(CST_EINTEGRITY, "decrypt: more than 2^32 segments");
		goto out;
	}
	make_nonce(nonce, s, last);
	if (EVP_DecryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_DecryptUpdate(s->ctx, NULL, &outl, s->hdr_bytes, CRYPTO_HEADER_LEN) != 1 ||
	    (n > 0 && EVP_DecryptUpdate(s->ctx, out, &outl, in, (int)n) != 1) ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, CRYPTO_TAG_LEN,
				(void *)tag) != 1) {
		rc = cst_error(CST_ERROR, "decrypt: AES-256-GCM failed on segment %llu",
			       (unsigned long long)s->index);
		goto out;
	}
	/* The constant-time tag check happens here. */
	if (EVP_DecryptFinal_ex(s->ctx, out + n, &outl) != 1) {
		rc = cst_error(CST_EINTEGRITY, "decrypt: segment %llu%s failed authentication "
			       "(corrupt, tampered, truncated or reordered data, or the wrong "
			       "object identity)", (unsigned long long)s->index,
			       last ? " (the last)" : "");
		goto out;
	}
out:
	if (rc != 0 && n > 0)
		OPENSSL_cleanse(out, n);	/* never keep unauthenticated plaintext */
	return rc;
}

/*
 * Decrypt n ciphertext bytes at `in` (may be s->buf) with the tag at `tag`
 * into s->buf, and emit the plaintext only if the tag verified.
 */
static int open_segment(struct crypto_stream *s, const unsigned char *in, size_t n,
			const unsigned char *tag, int last, crypto_sink_fn sink, void *arg)
{
	int rc;

	if ((rc = aead_open(s, in, n, tag, last, s->buf)) != 0)
		return rc;
	s->index++;
	s->plain += n;
	return call_sink(sink, arg, s->buf, n);
}

/* ---- objects with segment kinds (docs/FORMAT.md, "Compressed segments") -- */

/* The codec given, or the thread's: contexts are reused across objects. */
static int need_codec(struct crypto_stream *s)
{
	if (s->codec == NULL && (s->codec = codec_of_thread()) == NULL)
		return CST_ENOMEM;
	return 0;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Seal piece in[0..n) as length || kind || body || tag: compressed when
 * zstd's output fits the limit of the mode, else raw.
 */
static int seal_kinds(struct crypto_stream *s, const unsigned char *in, size_t n, int last,
		      crypto_sink_fn sink, void *arg)
{
	unsigned char nonce[NONCE_LEN], *z;
	size_t body = 0, limit = 0;
	int outl, rc;

	if (!counter_ok(s, last))
		return cst_error(CST_EINVALID, "encrypt: more than 2^32 segments; use a larger "
				 "segment size than %u", s->hdr.segment_size);
	if ((rc = need_codec(s)) != 0)
		return rc;
	if ((z = codec_seg_buf(s->codec, s->hdr.segment_size)) == NULL)
		return CST_ENOMEM;
	/* auto: saves at least 5% (20 * body <= 19 * n); zstd: at least a byte */
	if (s->compress == CRYPTO_COMPRESS_AUTO)
		limit = n - (n + 19) / 20;
	else if (s->compress == CRYPTO_COMPRESS_ZSTD && n > 0)
		limit = n - 1;
	if ((rc = codec_compress(s->codec, z + 5, limit, in, n, &body)) != 0)
		return rc;
	z[4] = body > 0 ? 1 : 0;
	if (body == 0) {
		if (n > 0)
			memcpy(z + 5, in, n);
		body = n;
	} else {
		s->compressed++;
	}
	put_u32(z, (uint32_t)(1 + body));
	make_nonce(nonce, s, last);
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(s->ctx, NULL, &outl, s->hdr_bytes, CRYPTO_HEADER_LEN) != 1 ||
	    EVP_EncryptUpdate(s->ctx, z + 4, &outl, z + 4, (int)(1 + body)) != 1 ||
	    EVP_EncryptFinal_ex(s->ctx, z + 5 + body, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_TAG_LEN, z + 5 + body) != 1)
		return cst_error(CST_ERROR, "encrypt: AES-256-GCM failed on segment %llu",
				 (unsigned long long)s->index);
	s->index++;
	return call_sink(sink, arg, z, 4 + 1 + body + CRYPTO_TAG_LEN);
}

/* The buffered segment (ciphertext at s->buf + KIND_OFF up to s->seg_end):
 * authenticate, decode by its kind, check the piece's size, emit. */
static int open_kinds(struct crypto_stream *s, int last, crypto_sink_fn sink, void *arg)
{
	unsigned char *ct = s->buf + KIND_OFF;
	size_t n = s->seg_end - KIND_OFF - CRYPTO_TAG_LEN, plen = 0;
	uint32_t seg = s->hdr.segment_size;
	const unsigned char *piece = NULL;
	int rc;

	s->pending = 0;
	s->len_fill = 0;
	s->fill = 0;
	if ((rc = aead_open(s, ct, n, ct + n, last, ct)) != 0)
		return rc;
	if (ct[0] == 0) {
		piece = ct + 1;
		plen = n - 1;
	} else if (ct[0] == 1) {
		if ((rc = need_codec(s)) != 0 ||
		    (rc = codec_decompress(s->codec, ct + 1, n - 1, seg, &piece, &plen, s->what,
					   s->index)) != 0)
			goto out;
	} else {
		rc = cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s has the unknown kind %u",
			       (unsigned long long)s->index, s->what, ct[0]);
		goto out;
	}
	/* the pieces of FORMAT.md: every one but the last is full, the last
	 * is empty only when it is the only one */
	if ((!last && plen != seg) || (last && s->index > 0 && plen == 0)) {
		rc = cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s holds %zu bytes, which "
			       "a%s segment of %u cannot", (unsigned long long)s->index, s->what, plen,
			       last ? " last" : " non-last", seg);
		goto out;
	}
	s->index++;
	s->plain += plen;
	rc = call_sink(sink, arg, piece, plen);
out:
	if (rc != 0)
		OPENSSL_cleanse(ct, n);
	return rc;
}

static int kinds_update(struct crypto_stream *s, const unsigned char *in, size_t len,
			crypto_sink_fn sink, void *arg)
{
	uint32_t seglen;
	size_t n;
	int rc;

	while (len > 0) {
		/* A byte follows a buffered segment: it is not last. */
		if (s->pending && (rc = open_kinds(s, 0, sink, arg)) != 0)
			return rc;
		if (s->len_fill < sizeof(s->lenbuf)) {
			n = sizeof(s->lenbuf) - s->len_fill;
			n = len < n ? len : n;
			memcpy(s->lenbuf + s->len_fill, in, n);
			s->len_fill += n;
			in += n;
			len -= n;
			if (s->len_fill < sizeof(s->lenbuf))
				continue;
			seglen = get_u32(s->lenbuf);
			if (seglen < 1 || seglen > s->hdr.segment_size + 1)
				return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s declares "
						 "%u bytes (1..%u)", (unsigned long long)s->index,
						 s->what, seglen, s->hdr.segment_size + 1);
			s->fill = KIND_OFF;
			s->seg_end = KIND_OFF + seglen + CRYPTO_TAG_LEN;
			if ((rc = ensure_cap(s, s->seg_end)) != 0)
				return rc;
			continue;
		}
		n = s->seg_end - s->fill;
		n = len < n ? len : n;
		memcpy(s->buf + s->fill, in, n);
		s->fill += n;
		in += n;
		len -= n;
		s->pending = s->fill == s->seg_end;
	}
	return 0;
}

static int kinds_final(struct crypto_stream *s, crypto_sink_fn sink, void *arg)
{
	if (s->pending)
		return open_kinds(s, 1, sink, arg);
	if (s->len_fill > 0)
		return cst_error(CST_EINTEGRITY, "decrypt: %s truncated inside segment %llu",
				 s->what, (unsigned long long)s->index);
	return cst_error(CST_EINTEGRITY, "decrypt: %s truncated (no segment after %s)", s->what,
			 s->index == 0 ? "the header" : "the last whole one");
}

void crypto_stream_set_codec(struct crypto_stream *s, struct crypto_codec *codec)
{
	if (s->codec == NULL && codec != NULL)
		s->codec = codec;
}

void crypto_stream_kinds(const struct crypto_stream *s, uint64_t *compressed, uint64_t *segments)
{
	*compressed = s->compressed;
	*segments = s->index;
}

int crypto_encryptor_new(struct crypto_stream **out, const struct crypto_key *key,
			 const struct crypto_identity *id,
			 const struct crypto_enc_params *params)
{
	struct crypto_stream *s = NULL;
	uint32_t seg = CRYPTO_DEFAULT_SEGMENT;
	int rc;

	*out = NULL;
	if (params != NULL && params->segment_size != 0)
		seg = params->segment_size;
	if (seg < CRYPTO_MIN_SEGMENT || seg > CRYPTO_MAX_SEGMENT) {
		rc = cst_error(CST_EINVALID, "encrypt: segment size %u out of range (%u..%u)",
			       seg, CRYPTO_MIN_SEGMENT, CRYPTO_MAX_SEGMENT);
		goto out;
	}
	if ((rc = stream_alloc(&s, 0, id)) != 0)
		goto out;
	s->hdr.version = CRYPTO_VERSION;
	s->hdr.suite = CRYPTO_SUITE_AES256GCM_HKDF;
	s->hdr.segment_size = seg;
	if (params != NULL && params->compress != CRYPTO_COMPRESS_NONE) {
		s->hdr.flags = CRYPTO_FLAG_SEGMENT_KINDS;
		s->compress = params->compress;
		s->codec = params->codec;
	}
	memcpy(s->hdr.key_id, key->id, CRYPTO_KEYID_LEN);
	if (params != NULL && params->salt != NULL)
		memcpy(s->hdr.salt, params->salt, CRYPTO_SALT_LEN);
	else if (RAND_bytes(s->hdr.salt, CRYPTO_SALT_LEN) != 1) {
		rc = cst_error(CST_ERROR, "encrypt: the random generator failed");
		goto out;
	}
	if (params != NULL && params->nonce_prefix != NULL)
		memcpy(s->hdr.nonce_prefix, params->nonce_prefix, CRYPTO_PREFIX_LEN);
	else if (RAND_bytes(s->hdr.nonce_prefix, CRYPTO_PREFIX_LEN) != 1) {
		rc = cst_error(CST_ERROR, "encrypt: the random generator failed");
		goto out;
	}
	crypto_header_encode(s->hdr_bytes, &s->hdr);
	if ((rc = cipher_init(s, key->raw)) != 0)
		goto out;
	*out = s;
	s = NULL;
out:
	crypto_stream_free(s);
	return rc;
}

int crypto_decryptor_new(struct crypto_stream **out, const struct crypto_key *key,
			 const struct crypto_identity *id,
			 const unsigned char *expected_salt)
{
	struct crypto_stream *s = NULL;
	int rc;

	*out = NULL;
	if ((rc = stream_alloc(&s, 1, id)) != 0)
		goto out;
	memcpy(s->master, key->raw, CRYPTO_KEY_LEN);
	memcpy(s->key_id, key->id, CRYPTO_KEYID_LEN);
	if (expected_salt != NULL) {
		memcpy(s->expected_salt, expected_salt, CRYPTO_SALT_LEN);
		s->check_salt = 1;
	}
	*out = s;
	s = NULL;
out:
	crypto_stream_free(s);
	return rc;
}

/* The decryptor has all 64 header bytes: check them and key the cipher. */
static int start_decrypt(struct crypto_stream *s)
{
	char have[2 * CRYPTO_KEYID_LEN + 1], want[2 * CRYPTO_KEYID_LEN + 1];
	int rc;

	if ((rc = crypto_header_parse(&s->hdr, s->hdr_bytes, CRYPTO_HEADER_LEN)) != 0)
		goto out;
	if (memcmp(s->hdr.key_id, s->key_id, CRYPTO_KEYID_LEN) != 0) {
		cst_hex(have, s->hdr.key_id, CRYPTO_KEYID_LEN);
		cst_hex(want, s->key_id, CRYPTO_KEYID_LEN);
		rc = cst_error(CST_EAUTH, "wrong key: the object was encrypted with key id %s, "
			       "the configured key has id %s", have, want);
		goto out;
	}
	if (s->check_salt && CRYPTO_memcmp(s->hdr.salt, s->expected_salt, CRYPTO_SALT_LEN) != 0) {
		rc = cst_error(CST_EINTEGRITY, "decrypt: the object's salt is not the one "
			       "recorded for it (replaced object?)");
		goto out;
	}
	if ((rc = cipher_init(s, s->master)) != 0)
		goto out;
	s->have_header = 1;
out:
	OPENSSL_cleanse(s->master, sizeof(s->master));
	return rc;
}

static int check_open(const struct crypto_stream *s)
{
	if (s->state == ST_OPEN)
		return 0;
	return cst_error(CST_EINVALID, "crypto stream used after %s",
			 s->state == ST_DONE ? "final()" : "an error");
}

static int encrypt_update(struct crypto_stream *s, const unsigned char *in, size_t len,
			  crypto_sink_fn sink, void *arg)
{
	size_t seg = s->hdr.segment_size, n;
	int rc = 0;

	if (!s->have_header) {
		s->have_header = 1;
		if ((rc = call_sink(sink, arg, s->hdr_bytes, CRYPTO_HEADER_LEN)) != 0)
			goto out;
	}
	while (len > 0) {
		/* More input follows a buffered full segment: it is not last. */
		if (s->fill == seg) {
			if ((rc = seal_segment(s, s->buf, seg, 0, sink, arg)) != 0)
				goto out;
			s->fill = 0;
		}
		if (s->fill == 0 && len > seg) {
			if ((rc = ensure_cap(s, s->stride)) != 0 ||
			    (rc = seal_segment(s, in, seg, 0, sink, arg)) != 0)
				goto out;
			n = seg;
		} else {
			n = len < seg - s->fill ? len : seg - s->fill;
			if ((rc = ensure_cap(s, s->fill + n + CRYPTO_TAG_LEN)) != 0)
				goto out;
			memcpy(s->buf + s->fill, in, n);
			s->fill += n;
		}
		in += n;
		len -= n;
		s->plain += n;
	}
out:
	return rc;
}

static int decrypt_update(struct crypto_stream *s, const unsigned char *in, size_t len,
			  crypto_sink_fn sink, void *arg)
{
	size_t n, seg;
	int rc = 0;

	while (len > 0 && !s->have_header) {
		n = CRYPTO_HEADER_LEN - s->hdr_fill;
		n = len < n ? len : n;
		memcpy(s->hdr_bytes + s->hdr_fill, in, n);
		s->hdr_fill += n;
		in += n;
		len -= n;
		if (s->hdr_fill == CRYPTO_HEADER_LEN && (rc = start_decrypt(s)) != 0)
			goto out;
	}
	if (s->have_header && (s->hdr.flags & CRYPTO_FLAG_SEGMENT_KINDS))
		return kinds_update(s, in, len, sink, arg);
	seg = s->hdr.segment_size;
	while (len > 0) {
		/* A byte follows a buffered full segment: it is not last. */
		if (s->fill == s->stride) {
			if ((rc = open_segment(s, s->buf, seg, s->buf + seg, 0, sink, arg)) != 0)
				goto out;
			s->fill = 0;
		}
		if (s->fill == 0 && len > s->stride) {
			if ((rc = ensure_cap(s, s->stride)) != 0 ||
			    (rc = open_segment(s, in, seg, in + seg, 0, sink, arg)) != 0)
				goto out;
			n = s->stride;
		} else {
			n = len < s->stride - s->fill ? len : s->stride - s->fill;
			if ((rc = ensure_cap(s, s->fill + n)) != 0)
				goto out;
			memcpy(s->buf + s->fill, in, n);
			s->fill += n;
		}
		in += n;
		len -= n;
	}
out:
	return rc;
}

int crypto_stream_update(struct crypto_stream *s, const unsigned char *in, size_t len,
			 crypto_sink_fn sink, void *arg)
{
	int rc;

	if ((rc = check_open(s)) != 0)
		return rc;
	if (s->decrypt)
		rc = decrypt_update(s, in, len, sink, arg);
	else
		rc = encrypt_update(s, in, len, sink, arg);
	if (rc != 0)
		s->state = ST_DEAD;
	return rc;
}

static int decrypt_final(struct crypto_stream *s, crypto_sink_fn sink, void *arg)
{
	size_t n;

	if (!s->have_header)
		return cst_error(CST_EINTEGRITY, "decrypt: object truncated inside the header "
				 "(%zu of %d bytes)", s->hdr_fill, CRYPTO_HEADER_LEN);
	if (s->hdr.flags & CRYPTO_FLAG_SEGMENT_KINDS)
		return kinds_final(s, sink, arg);
	if (s->fill < CRYPTO_TAG_LEN)
		return cst_error(CST_EINTEGRITY, "decrypt: object truncated (%zu bytes after "
				 "segment %llu, less than a tag)", s->fill,
				 (unsigned long long)s->index);
	if (s->fill == CRYPTO_TAG_LEN && s->index > 0)
		return cst_error(CST_EINTEGRITY, "decrypt: empty last segment after %llu "
				 "full ones", (unsigned long long)s->index);
	n = s->fill - CRYPTO_TAG_LEN;
	return open_segment(s, s->buf, n, s->buf + n, 1, sink, arg);
}

int crypto_stream_final(struct crypto_stream *s, crypto_sink_fn sink, void *arg)
{
	int rc;

	if ((rc = check_open(s)) != 0)
		return rc;
	if (s->decrypt) {
		rc = decrypt_final(s, sink, arg);
	} else if ((rc = encrypt_update(s, NULL, 0, sink, arg)) == 0 &&
		   (rc = ensure_cap(s, s->fill + CRYPTO_TAG_LEN)) == 0) {
		rc = seal_segment(s, s->buf, s->fill, 1, sink, arg);
	}
	s->fill = 0;
	s->state = rc == 0 ? ST_DONE : ST_DEAD;
	return rc;
}

const struct crypto_header *crypto_stream_header(const struct crypto_stream *s)
{
	if (s->decrypt && !s->have_header)
		return NULL;
	return &s->hdr;
}

uint64_t crypto_stream_plain_bytes(const struct crypto_stream *s)
{
	return s->plain;
}

void crypto_stream_free(struct crypto_stream *s)
{
	if (s == NULL)
		return;
	EVP_CIPHER_CTX_free(s->ctx);	/* cleanses the key schedule */
	EVP_CIPHER_free(s->cipher);
	if (s->buf != NULL) {
		OPENSSL_cleanse(s->buf, s->cap);
		free(s->buf);
	}
	free(s->info);
	free(s->what);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}
