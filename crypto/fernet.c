/* fernet: Medusa's Fernet chunk streams, read only; see fernet.h. */
#include "fernet.h"

#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "crypto_int.h"
#include "util.h"

#define VERSION 0x80
#define TS_LEN 8
#define IV_LEN 16
#define MAC_LEN 32
#define BLOCK 16
#define CT_OFF (1 + TS_LEN + IV_LEN)

struct fernet_key {
	unsigned char sign[16], enc[16];
};

/* ---- the key ------------------------------------------------------------------- */

int fernet_key_parse(struct fernet_key **out, const char *text, const char *what)
{
	char b64[CRYPTO_KEY_B64_LEN];
	unsigned char raw[CRYPTO_KEY_LEN];
	struct fernet_key *k = NULL;
	size_t len, i;
	int rc = 0;

	*out = NULL;
	if (text == NULL)
		return cst_error(CST_EINVALID, "%s is empty", what);
	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	len = strlen(text);
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
			   text[len - 1] == '\r'))
		len--;
	if (len != CRYPTO_KEY_B64_LEN)
		return cst_error(CST_EINVALID, "%s must be 44 characters of base64 (a Fernet key, "
				 "32 bytes), it has %zu", what, len);
	/* URL-safe to standard, without a branch on the key's characters */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		c ^= (unsigned char)((c == '-') * ('-' ^ '+'));
		c ^= (unsigned char)((c == '_') * ('_' ^ '/'));
		b64[i] = (char)c;
	}
	if (crypto_b64_decode_key(raw, b64, len) != 0) {
		rc = cst_error(CST_EINVALID, "%s is not a base64 Fernet key of 32 bytes (44 characters "
			       "ending in '=')", what);
		goto out;
	}
	if ((k = malloc(sizeof(*k))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	memcpy(k->sign, raw, 16);
	memcpy(k->enc, raw + 16, 16);
	*out = k;
out:
	OPENSSL_cleanse(b64, sizeof(b64));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

void fernet_key_free(struct fernet_key *key)
{
	if (key == NULL)
		return;
	OPENSSL_cleanse(key, sizeof(*key));
	free(key);
}

/* ---- one token ------------------------------------------------------------------ */

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Strict, canonical URL-safe base64 with '=' padding; `out` may be `in` (each group of
 * four is read before its three bytes are written). 0 or -1. */
static int b64url_decode(const char *in, size_t len, unsigned char *out, size_t *out_len)
{
	size_t pad, i, o = 0;

	if (len == 0 || len % 4 != 0)
		return -1;
	pad = in[len - 1] != '=' ? 0 : in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, n = 3;
		uint32_t w;

		for (k = 0; k < 4; k++) {
			if (i + 4 == len && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			if ((v[k] = b64url_value((unsigned char)in[i + k])) < 0)
				return -1;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if (i + 4 == len) {
			n = 3 - (int)pad;
			/* canonical only: the bits the padding leaves unused are 0 */
			if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
				return -1;
		}
		out[o++] = (unsigned char)(w >> 16);
		if (n > 1)
			out[o++] = (unsigned char)(w >> 8);
		if (n > 2)
			out[o++] = (unsigned char)w;
	}
	*out_len = o;
	return 0;
}

/* The token's plaintext into out[0..); NULL, or why not. */
static const char *open_token(const struct fernet_key *key, const char *token, size_t len,
			      unsigned char *out, size_t *out_len, int *rc)
{
	unsigned char mac[EVP_MAX_MD_SIZE], *ct;
	unsigned int mac_len = 0;
	size_t raw_len, ct_len, pad, i;
	EVP_CIPHER_CTX *ctx;
	int n1 = 0, n2 = 0, ok;
	unsigned char bad;

	*rc = CST_EINTEGRITY;
	if (b64url_decode(token, len, out, &raw_len) != 0)
		return "is not URL-safe base64";
	if (raw_len < CT_OFF + BLOCK + MAC_LEN || (raw_len - CT_OFF - MAC_LEN) % BLOCK != 0)
		return "is not a whole Fernet token (its length is wrong)";
	/* authenticate first, in constant time; nothing is decrypted before */
	if (HMAC(EVP_sha256(), key->sign, sizeof(key->sign), out, raw_len - MAC_LEN, mac,
		 &mac_len) == NULL || mac_len != MAC_LEN) {
		*rc = CST_ERROR;
		return "cannot compute HMAC-SHA256 (OpenSSL)";
	}
	ok = CRYPTO_memcmp(mac, out + raw_len - MAC_LEN, MAC_LEN) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	if (!ok)
		return "fails Fernet authentication (a wrong key, or the object was altered)";
	if (out[0] != VERSION)
		return "has an unknown Fernet version byte";
	ct = out + CT_OFF;
	ct_len = raw_len - CT_OFF - MAC_LEN;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		*rc = CST_ENOMEM;
		return "out of memory";
	}
	/* in place (in == out is allowed); padding checked below */
	ok = EVP_DecryptInit_ex(ctx, EVP_aes_128_cbc(), NULL, key->enc, out + 1 + TS_LEN) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_DecryptUpdate(ctx, ct, &n1, ct, (int)ct_len) == 1 &&
	     EVP_DecryptFinal_ex(ctx, ct + n1, &n2) == 1 && (size_t)(n1 + n2) == ct_len;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		*rc = CST_ERROR;
		return "cannot decrypt AES-128-CBC (OpenSSL)";
	}
	pad = ct[ct_len - 1];
	bad = (unsigned char)(pad == 0 || pad > BLOCK);
	for (i = 1; !bad && i <= pad; i++)
		bad |= (unsigned char)(ct[ct_len - i] != pad);
	if (bad) {
		OPENSSL_cleanse(ct, ct_len);
		return "has bad PKCS7 padding";
	}
	memmove(out, ct, ct_len - pad);
	*out_len = ct_len - pad;
	OPENSSL_cleanse(out + *out_len, raw_len - *out_len);
	*rc = 0;
	return NULL;
}

int fernet_token_open(const struct fernet_key *key, const char *token, size_t len,
		      unsigned char *out, size_t *out_len)
{
	const char *why;
	int rc;

	if ((why = open_token(key, token, len, out, out_len, &rc)) != NULL)
		return cst_error(rc, "Fernet token %s", why);
	return 0;
}

/* ---- the chunk stream ------------------------------------------------------------- */

struct fernet_reader {
	const struct fernet_key *key;
	char *what;
	unsigned char len_bytes[4];
	size_t n_len;		/* of len_bytes */
	uint32_t need;		/* the chunk's length once known; 0 while reading it */
	unsigned char *buf;	/* the chunk: its token, then its plaintext */
	size_t cap, have;
	uint64_t chunks;	/* verified */
	uint64_t offset;	/* bytes of the object consumed */
	uint64_t chunk_at;	/* where the current chunk's length starts */
	int err;
};

int fernet_reader_new(struct fernet_reader **out, const struct fernet_key *key, const char *what)
{
	struct fernet_reader *r;

	*out = NULL;
	if ((r = cst_calloc(1, sizeof(*r))) == NULL)
		return CST_ENOMEM;
	r->key = key;
	if ((r->what = cst_strdup(what != NULL ? what : "object")) == NULL) {
		free(r);
		return CST_ENOMEM;
	}
	*out = r;
	return 0;
}

static int fail(struct fernet_reader *r, int rc, const char *why)
{
	r->err = cst_error(rc, "%s: Fernet chunk %" PRIu64 " (at byte %" PRIu64 ") %s", r->what,
			   r->chunks, r->chunk_at, why);
	return r->err;
}

/* The 4 length bytes are in: check the length before any allocation. */
static int start_chunk(struct fernet_reader *r)
{
	uint32_t n = (uint32_t)r->len_bytes[0] << 24 | (uint32_t)r->len_bytes[1] << 16 |
		     (uint32_t)r->len_bytes[2] << 8 | r->len_bytes[3];
	char why[160];
	unsigned char *grown;

	if (n < FERNET_MIN_CHUNK || n > FERNET_MAX_CHUNK) {
		snprintf(why, sizeof(why), "has length %" PRIu32 ", outside %u..%u (not a Medusa "
			 "encrypted object, or a damaged one)", n, (unsigned)FERNET_MIN_CHUNK,
			 (unsigned)FERNET_MAX_CHUNK);
		return fail(r, CST_EINTEGRITY, why);
	}
	if (n > r->cap) {
		if ((grown = malloc(n)) == NULL)
			return r->err = CST_ENOMEM;
		if (r->buf != NULL)
			OPENSSL_cleanse(r->buf, r->cap);
		free(r->buf);
		r->buf = grown;
		r->cap = n;
	}
	r->need = n;
	r->have = 0;
	return 0;
}

static int end_chunk(struct fernet_reader *r, crypto_sink_fn sink, void *arg)
{
	const char *why;
	size_t plain;
	int rc;

	if ((why = open_token(r->key, (const char *)r->buf, r->need, r->buf, &plain, &rc)) != NULL)
		return fail(r, rc, why);
	if (plain > FERNET_MAX_PLAIN)	/* cannot happen: the length bound */
		return fail(r, CST_EINTEGRITY, "holds more than 1 MiB");
	if (sink != NULL && (rc = sink(arg, r->buf, plain)) != 0)
		return r->err = rc;
	OPENSSL_cleanse(r->buf, plain);
	r->chunks++;
	r->need = 0;
	r->n_len = 0;
	r->chunk_at = r->offset;
	return 0;
}

int fernet_reader_update(struct fernet_reader *r, const unsigned char *buf, size_t len,
			 crypto_sink_fn sink, void *arg)
{
	size_t take;
	int rc;

	if (r->err != 0)
		return r->err;
	while (len > 0) {
		if (r->need == 0) {
			take = 4 - r->n_len < len ? 4 - r->n_len : len;
			memcpy(r->len_bytes + r->n_len, buf, take);
			r->n_len += take;
			if (r->n_len == 4 && (rc = start_chunk(r)) != 0)
				return rc;
		} else {
			take = r->need - r->have < len ? r->need - r->have : len;
			memcpy(r->buf + r->have, buf, take);
			r->have += take;
		}
		buf += take;
		len -= take;
		r->offset += take;
		if (r->need != 0 && r->have == r->need && (rc = end_chunk(r, sink, arg)) != 0)
			return rc;
	}
	return 0;
}

int fernet_reader_final(struct fernet_reader *r)
{
	char why[128];

	if (r->err != 0)
		return r->err;
	if (r->need != 0) {
		snprintf(why, sizeof(why), "is cut: %zu of its %" PRIu32 " bytes are there (the object "
			 "is truncated)", r->have, r->need);
		return fail(r, CST_EINTEGRITY, why);
	}
	if (r->n_len != 0)
		return fail(r, CST_EINTEGRITY, "is cut inside its 4-byte length (the object is truncated)");
	return 0;
}

uint64_t fernet_reader_chunks(const struct fernet_reader *r)
{
	return r->chunks;
}

void fernet_reader_free(struct fernet_reader *r)
{
	if (r == NULL)
		return;
	if (r->buf != NULL)
		OPENSSL_cleanse(r->buf, r->cap);
	free(r->buf);
	free(r->what);
	free(r);
}
