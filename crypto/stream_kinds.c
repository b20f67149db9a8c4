/* stream_kinds: objects with segment kinds (docs/FORMAT.md, "Compressed
 * segments"): per-segment lengths, a kind byte, zstd frames. */
#include "stream_int.h"
#include "util.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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
int stream_seal_kinds(struct crypto_stream *s, const unsigned char *in, size_t n, int last,
		      crypto_sink_fn sink, void *arg)
{
	unsigned char nonce[NONCE_LEN], *z;
	size_t body = 0, limit = 0;
	int outl, rc;

	if (!stream_counter_ok(s, last))
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
	stream_put_u32(z, (uint32_t)(1 + body));
	stream_make_nonce(nonce, s, last);
	if (EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, nonce) != 1 ||
	    EVP_EncryptUpdate(s->ctx, NULL, &outl, s->hdr_bytes, CRYPTO_HEADER_LEN) != 1 ||
	    EVP_EncryptUpdate(s->ctx, z + 4, &outl, z + 4, (int)(1 + body)) != 1 ||
	    EVP_EncryptFinal_ex(s->ctx, z + 5 + body, &outl) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, CRYPTO_TAG_LEN, z + 5 + body) != 1)
		return cst_error(CST_ERROR, "encrypt: AES-256-GCM failed on segment %llu",
				 (unsigned long long)s->index);
	s->index++;
	return stream_call_sink(sink, arg, z, 4 + 1 + body + CRYPTO_TAG_LEN);
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
	if ((rc = stream_aead_open(s, ct, n, ct + n, last, ct)) != 0)
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
	rc = stream_call_sink(sink, arg, piece, plen);
out:
	if (rc != 0)
		OPENSSL_cleanse(ct, n);
	return rc;
}

int stream_kinds_update(struct crypto_stream *s, const unsigned char *in, size_t len,
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
			if ((rc = stream_ensure_cap(s, s->seg_end)) != 0)
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

int stream_kinds_final(struct crypto_stream *s, crypto_sink_fn sink, void *arg)
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

