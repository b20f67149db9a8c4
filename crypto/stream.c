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
 * Objects with segment kinds (compressed segments) go through
 * stream_kinds.c; stream_int.h holds what the two share.
 */
#define _POSIX_C_SOURCE 200809L	/* posix_memalign */
#include "crypto_int.h"
#include "stream_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define OBJKEY_INFO "cassette v1 object key"

void stream_put_u32(unsigned char *p, uint32_t v)
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
		stream_put_u32(p, (uint32_t)lens[i]);
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
int stream_ensure_cap(struct crypto_stream *s, size_t need)
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

int stream_call_sink(crypto_sink_fn sink, void *arg, const unsigned char *buf, size_t len)
{
	int rc = sink(arg, buf, len);

	if (rc > 0)
		rc = cst_error(CST_ERROR, "crypto sink returned %d", rc);
	return rc;
}

int stream_counter_ok(const struct crypto_stream *s, int last)
{
	/* Segment numbers are 0 .. 2^32 - 1, so the last may be 2^32 - 1. */
	return s->index < CRYPTO_MAX_SEGMENTS - 1 || (last && s->index == CRYPTO_MAX_SEGMENTS - 1);
}

void stream_make_nonce(unsigned char nonce[NONCE_LEN], const struct crypto_stream *s, int last)
{
	memcpy(nonce, s->hdr.nonce_prefix, CRYPTO_PREFIX_LEN);
	stream_put_u32(nonce + CRYPTO_PREFIX_LEN, (uint32_t)s->index);
	nonce[NONCE_LEN - 1] = last ? 1 : 0;
}

/* Encrypt n bytes at `in` (may be s->buf) into s->buf || tag; emit them. */
static int seal_segment(struct crypto_stream *s, const unsigned char *in, size_t n, int last,
			crypto_sink_fn sink, void *arg)
{
	unsigned char nonce[NONCE_LEN];
	int outl;

	if (s->hdr.flags & CRYPTO_FLAG_SEGMENT_KINDS)
		return stream_seal_kinds(s, in, n, last, sink, arg);
	if (!stream_counter_ok(s, last))
		return cst_error(CST_EINVALID, "encrypt: more than 2^32 segments; use a larger "
				 "segment size than %u", s->hdr.segment_size);
	stream_make_nonce(nonce, s, last);
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(s->ctx, NULL, &outl, s->hdr_bytes, CRYPTO_HEADER_LEN) != 1 ||
	    (n > 0 && EVP_EncryptUpdate(s->ctx, s->buf, &outl, in, (int)n) != 1) ||
	    EVP_EncryptFinal_ex(s->ctx, s->buf + n, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_TAG_LEN, s->buf + n) != 1)
		return cst_error(CST_ERROR, "encrypt: AES-256-GCM failed on segment %llu",
				 (unsigned long long)s->index);
	s->index++;
	return stream_call_sink(sink, arg, s->buf, n + CRYPTO_TAG_LEN);
}

/*
 * Decrypt n ciphertext bytes at `in` with the tag at `tag` into `out` (in
 * place or s->buf) and verify the tag; on failure `out` is wiped.
 */
int stream_aead_open(struct crypto_stream *s, const unsigned char *in, size_t n,
		     const unsigned char *tag, int last, unsigned char *out)
{
	unsigned char nonce[NONCE_LEN];
	int outl, rc = 0;

	if (!stream_counter_ok(s, last)) {
		rc = cst_error(CST_EINTEGRITY, "decrypt: more than 2^32 segments");
		goto out;
	}
	stream_make_nonce(nonce, s, last);
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

	if ((rc = stream_aead_open(s, in, n, tag, last, s->buf)) != 0)
		return rc;
	s->index++;
	s->plain += n;
	return stream_call_sink(sink, arg, s->buf, n);
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
		if ((rc = stream_call_sink(sink, arg, s->hdr_bytes, CRYPTO_HEADER_LEN)) != 0)
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
			if ((rc = stream_ensure_cap(s, s->stride)) != 0 ||
			    (rc = seal_segment(s, in, seg, 0, sink, arg)) != 0)
				goto out;
			n = seg;
		} else {
			n = len < seg - s->fill ? len : seg - s->fill;
			if ((rc = stream_ensure_cap(s, s->fill + n + CRYPTO_TAG_LEN)) != 0)
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
		return stream_kinds_update(s, in, len, sink, arg);
	seg = s->hdr.segment_size;
	while (len > 0) {
		/* A byte follows a buffered full segment: it is not last. */
		if (s->fill == s->stride) {
			if ((rc = open_segment(s, s->buf, seg, s->buf + seg, 0, sink, arg)) != 0)
				goto out;
			s->fill = 0;
		}
		if (s->fill == 0 && len > s->stride) {
			if ((rc = stream_ensure_cap(s, s->stride)) != 0 ||
			    (rc = open_segment(s, in, seg, in + seg, 0, sink, arg)) != 0)
				goto out;
			n = s->stride;
		} else {
			n = len < s->stride - s->fill ? len : s->stride - s->fill;
			if ((rc = stream_ensure_cap(s, s->fill + n)) != 0)
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
		return stream_kinds_final(s, sink, arg);
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
		   (rc = stream_ensure_cap(s, s->fill + CRYPTO_TAG_LEN)) == 0) {
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
