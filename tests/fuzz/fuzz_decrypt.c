/*
 * The object decryptor (crypto/stream.c). Input: one byte that seeds the
 * piece sizes, then a stored object. The key is fixed (bytes 0..31) and the
 * identity is the one `cassette encrypt --label fuzz` binds, so seeds made
 * with that key by the real binary decrypt (tests/fuzz/README.md).
 *
 * - the decryptor gets the object in pieces, then final();
 * - the plaintext it hands out adds up to crypto_stream_plain_bytes(); when
 *   it refuses, what it handed out is whole segments only (verified, and
 *   known not to be the last);
 * - when it accepts an object without segment kinds (with them, size and
 *   bytes are its writer's choices), the size is the one crypto_plain_size() maps the object
 *   to, encrypting the plaintext again with the header's salt, nonce prefix
 *   and segment size gives back the input byte for byte, and the object cut
 *   short (at a place drawn from the input) or with a byte added is refused.
 */
#include "fuzz.h"
#include "crypto.h"

static const struct crypto_identity id = { "-", "-", "-", "fuzz" };
static struct crypto_key *key;

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static int append(void *arg, const unsigned char *in, size_t len)
{
	struct buf *b = arg;

	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len)
			cap *= 2;
		b->p = realloc(b->p, cap);
		FUZZ_CHECK(b->p != NULL);
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, in, len);
	b->len += len;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	size_t i;

	(void)argc, (void)argv;
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)i;
	FUZZ_CHECK(crypto_key_from_bytes(&key, raw, sizeof(raw)) == 0);
	return 0;
}

/* Encrypt `plain` as the header `h` says; it must give `object` back. */
static void reencrypt(const struct crypto_header *h, const struct buf *plain,
		      const uint8_t *object, size_t size)
{
	struct crypto_enc_params params = { .segment_size = h->segment_size, .salt = h->salt,
					    .nonce_prefix = h->nonce_prefix };
	struct crypto_stream *s = NULL;
	struct buf out = { NULL, 0, 0 };

	FUZZ_CHECK(crypto_encryptor_new(&s, key, &id, &params) == 0);
	FUZZ_CHECK(crypto_stream_update(s, plain->p, plain->len, append, &out) == 0);
	FUZZ_CHECK(crypto_stream_final(s, append, &out) == 0);
	FUZZ_CHECK(out.len == size && memcmp(out.p, object, size) == 0);
	crypto_stream_free(s);
	free(out.p);
}

/* Decrypt `size` bytes of `data`, then `extra` (may be NULL) in pieces of
 * `pieces`; the result code, the plaintext into *plain, the stream in *out. */
static int decrypt(struct crypto_stream **out, struct buf *plain, const uint8_t *data,
		   size_t size, const uint8_t *extra, size_t extra_len, struct fuzz_pieces *pieces)
{
	struct crypto_stream *s = NULL;
	const struct crypto_header *h;
	size_t off, n;
	int rc = 0;

	FUZZ_CHECK(crypto_decryptor_new(&s, key, &id, NULL) == 0);
	cst_error_clear();
	for (off = 0; off < size && rc == 0; off += n) {
		n = fuzz_pieces_next(pieces, size - off);
		rc = crypto_stream_update(s, data + off, n, append, plain);
	}
	if (rc == 0 && extra_len > 0)
		rc = crypto_stream_update(s, extra, extra_len, append, plain);
	if (rc == 0)
		rc = crypto_stream_final(s, append, plain);
	fuzz_check_rc(rc);
	FUZZ_CHECK(plain->len == crypto_stream_plain_bytes(s));
	if (rc != 0) {
		h = crypto_stream_header(s);
		FUZZ_CHECK(plain->len == 0 || (h != NULL && plain->len % h->segment_size == 0));
		/* a dead stream stays dead */
		FUZZ_CHECK(crypto_stream_final(s, append, plain) == CST_EINVALID);
	}
	*out = s;
	return rc;
}

/* An accepted object, cut short or lengthened by a byte: refused. */
static void refuse_changed_length(const uint8_t *data, size_t size, struct fuzz_pieces *pieces)
{
	static const uint8_t zero = 0;
	struct crypto_stream *s = NULL;
	struct buf plain = { NULL, 0, 0 };
	size_t cut = (size_t)(fuzz_hash(data, size) % size);

	FUZZ_CHECK(decrypt(&s, &plain, data, cut, NULL, 0, pieces) == CST_EINTEGRITY);
	crypto_stream_free(s);
	plain.len = 0;
	FUZZ_CHECK(decrypt(&s, &plain, data, size, &zero, 1, pieces) == CST_EINTEGRITY);
	crypto_stream_free(s);
	free(plain.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct crypto_stream *s = NULL;
	struct buf plain = { NULL, 0, 0 };
	struct fuzz_pieces pieces;
	const struct crypto_header *h;
	uint64_t want;
	int rc;

	if (size < 1)
		return 0;
	fuzz_pieces_init(&pieces, data[0]);
	data++, size--;
	rc = decrypt(&s, &plain, data, size, NULL, 0, &pieces);
	fuzz_verdict("decrypt", rc);
	if (rc == 0) {
		h = crypto_stream_header(s);
		FUZZ_CHECK(h != NULL);
		/* an object with segment kinds (a seed from the real binary's
		 * compression = auto): its size and bytes depend on its
		 * writer's choices; a cut or grown one is refused all the same */
		if (!(h->flags & CRYPTO_FLAG_SEGMENT_KINDS)) {
			FUZZ_CHECK(crypto_plain_size(&want, size, h->segment_size) == 0 &&
				   want == plain.len);
			reencrypt(h, &plain, data, size);
		}
		refuse_changed_length(data, size, &pieces);
	}
	crypto_stream_free(s);
	free(plain.p);
	return 0;
}
