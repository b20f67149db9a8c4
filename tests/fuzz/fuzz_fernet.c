/*
 * Medusa's Fernet chunk streams (crypto/fernet.c), which cassette reads from
 * storage it does not trust. Byte 0 of the input picks the mode (b % 3),
 * byte 1 seeds the piece sizes:
 *
 * 0  the rest is a stored object, fed to the streaming reader in pieces.
 *    Random bytes never carry a valid HMAC, so this reaches the framing,
 *    the length bounds and the base64 checks.
 * 1  the rest is cut into up to 4 token bodies (byte 2.. gives the cuts),
 *    each `version || timestamp || IV || ciphertext` as the input has it;
 *    the target signs each with the key, base64-encodes and frames it, so
 *    the reader gets past the HMAC to the version, CBC and PKCS7 checks.
 *    Every chunk the reader accepts must decode the same through
 *    fernet_token_open(), and their plaintexts concatenated are exactly
 *    what the reader handed out.
 * 2  the rest is a key_secret_base64 value for fernet_key_parse().
 *
 * Everywhere: util.h's error rule, and no chunk gives more than
 * FERNET_MAX_PLAIN bytes. The key is the bytes 0..31.
 */
#include "fuzz.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "fernet.h"

static struct fernet_key *key;
static const unsigned char sign_key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void append(struct buf *b, const void *in, size_t len)
{
	if (b->len + len > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		FUZZ_CHECK(b->p != NULL);
	}
	if (len > 0)
		memcpy(b->p + b->len, in, len);
	b->len += len;
}

static int collect(void *arg, const unsigned char *in, size_t len)
{
	FUZZ_CHECK(len <= FERNET_MAX_PLAIN);
	append(arg, in, len);
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	/* the bytes 0..31 in URL-safe base64 */
	(void)argc, (void)argv;
	FUZZ_CHECK(fernet_key_parse(&key, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "fuzz key") == 0);
	return 0;
}

/* body signed, base64url'd and framed onto obj; the token text into tok. */
static void frame(struct buf *obj, struct buf *tok, const uint8_t *body, size_t len)
{
	unsigned char *raw = malloc(len + 32), *b64 = malloc(4 * ((len + 32 + 2) / 3) + 1);
	unsigned int maclen = 0;
	unsigned char be[4];
	size_t i, n;

	FUZZ_CHECK(raw != NULL && b64 != NULL);
	if (len > 0)
		memcpy(raw, body, len);
	FUZZ_CHECK(HMAC(EVP_sha256(), sign_key, sizeof(sign_key), raw, len, raw + len, &maclen) != NULL);
	n = (size_t)EVP_EncodeBlock(b64, raw, (int)(len + 32));
	for (i = 0; i < n; i++)
		b64[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	be[0] = (unsigned char)(n >> 24), be[1] = (unsigned char)(n >> 16);
	be[2] = (unsigned char)(n >> 8), be[3] = (unsigned char)n;
	append(obj, be, 4);
	append(obj, b64, n);
	tok->len = 0;
	append(tok, b64, n);
	free(raw);
	free(b64);
}

static int feed(const struct buf *obj, struct fuzz_pieces *pieces, struct buf *out)
{
	struct fernet_reader *r = NULL;
	size_t off, n;
	int rc;

	FUZZ_CHECK(fernet_reader_new(&r, key, "fuzz object") == 0);
	cst_error_clear();
	for (rc = 0, off = 0; off < obj->len && rc == 0; off += n) {
		n = fuzz_pieces_next(pieces, obj->len - off);
		rc = fernet_reader_update(r, obj->p + off, n, collect, out);
	}
	if (rc == 0)
		rc = fernet_reader_final(r);
	fuzz_verdict("fernet_reader", rc);
	fuzz_check_rc(rc);
	fernet_reader_free(r);
	return rc;
}

/* Mode 1: signed tokens; each accepted one must open alone the same way. */
static void signed_tokens(const uint8_t *data, size_t size, struct fuzz_pieces *pieces)
{
	struct buf obj = { NULL, 0, 0 }, tok = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct buf each = { NULL, 0, 0 };
	size_t cuts = 1, per, i, len, plain;
	unsigned char *one = NULL;
	int all_open = 1, rc;

	if (size > 0) {
		cuts = 1 + data[0] % 4;
		data++, size--;
	}
	per = size / cuts;
	for (i = 0; i < cuts; i++) {
		len = i + 1 < cuts ? per : size - per * i;
		frame(&obj, &tok, data + per * i, len);
		one = realloc(one, tok.len + 1);
		FUZZ_CHECK(one != NULL);
		cst_error_clear();
		rc = fernet_token_open(key, (const char *)tok.p, tok.len, one, &plain);
		fuzz_check_rc(rc);
		if (rc != 0 || tok.len < FERNET_MIN_CHUNK || tok.len > FERNET_MAX_CHUNK)
			all_open = 0;
		else if (all_open)
			append(&each, one, plain);
	}
	rc = feed(&obj, pieces, &out);
	/* the reader accepts exactly when every token opens alone, and then
	 * hands out what they give, in order */
	FUZZ_CHECK((rc == 0) == all_open);
	if (rc == 0)
		FUZZ_CHECK(out.len == each.len && (out.len == 0 || memcmp(out.p, each.p, out.len) == 0));
	free(one);
	free(obj.p);
	free(tok.p);
	free(out.p);
	free(each.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_pieces pieces;
	struct buf obj = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct fernet_key *k = NULL;
	char *text;
	int rc;

	if (size < 2)
		return 0;
	fuzz_pieces_init(&pieces, data[1]);
	switch (data[0] % 3) {
	case 0:
		obj.p = (unsigned char *)(uintptr_t)(data + 2);
		obj.len = size - 2;
		feed(&obj, &pieces, &out);
		free(out.p);
		break;
	case 1:
		signed_tokens(data + 2, size - 2, &pieces);
		break;
	default:
		text = fuzz_strndup(data + 2, size - 2);
		cst_error_clear();
		rc = fernet_key_parse(&k, text, "key_secret_base64");
		fuzz_verdict("fernet_key_parse", rc);
		fuzz_check_rc(rc);
		FUZZ_CHECK((rc == 0) == (k != NULL));
		/* the message never shows the value */
		FUZZ_CHECK(rc == 0 || strlen(text) < 8 || strstr(cst_error_msg(), text) == NULL);
		fernet_key_free(k);
		free(text);
		break;
	}
	return 0;
}
