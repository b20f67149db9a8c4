/*
 * The object format under attack (crypto/stream.c). Random bytes never carry
 * a valid GCM tag, so the decrypt target only sees refusals past the first
 * segment; here the target encrypts a plaintext of the input's and then
 * changes the object as the input says, the way someone who can write to the
 * bucket would: flip a byte, cut it short, swap two segments, repeat one.
 *
 * Input: byte 0 seeds the piece sizes; byte 1 the segment size (16 << (b % 5),
 * 16..256 bytes) and the compression (b / 5 % 3: none, auto, zstd; with
 * auto and zstd the object has segment kinds, so segments of their own
 * lengths, some zstd frames); byte 2 the number of changes (b % 4); then 5
 * bytes per change (kind, two 16-bit big-endian positions); the rest is the
 * plaintext.
 *
 * - an unchanged object decrypts to the plaintext;
 * - a changed one is refused, and what the decryptor handed out before is a
 *   prefix of the plaintext made of whole segments.
 */
#include "fuzz.h"
#include "crypto.h"

static const struct crypto_identity id = { "-", "-", "-", "fuzz" };
static struct crypto_key *key;

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void reserve(struct buf *b, size_t len)
{
	size_t cap = b->cap ? b->cap : 256;

	if (len <= b->cap)
		return;
	while (cap < len)
		cap *= 2;
	b->p = realloc(b->p, cap);
	FUZZ_CHECK(b->p != NULL);
	b->cap = cap;
}

static int append(void *arg, const unsigned char *in, size_t len)
{
	struct buf *b = arg;

	reserve(b, b->len + len);
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

static void encrypt(struct buf *obj, const uint8_t *plain, size_t len, uint32_t seg,
		    enum crypto_compress compress)
{
	static const unsigned char salt[CRYPTO_SALT_LEN] = { 1, 2, 3 };
	static const unsigned char prefix[CRYPTO_PREFIX_LEN] = { 4, 5, 6 };
	struct crypto_enc_params params = { .segment_size = seg, .salt = salt, .nonce_prefix = prefix,
					    .compress = compress };
	struct crypto_stream *s = NULL;

	FUZZ_CHECK(crypto_encryptor_new(&s, key, &id, &params) == 0);
	FUZZ_CHECK(crypto_stream_update(s, plain, len, append, obj) == 0);
	FUZZ_CHECK(crypto_stream_final(s, append, obj) == 0);
	crypto_stream_free(s);
}

/* Where the segments of obj start (at most 64 are tracked; a segment of an
 * object with kinds is u32 length || length bytes || tag). */
struct segs {
	size_t at[65], n;
};

static void find_segments(struct segs *sg, const struct buf *obj, size_t stride, int kinds)
{
	size_t pos = CRYPTO_HEADER_LEN, len;

	sg->n = 0;
	while (pos < obj->len && sg->n < 64) {
		if (kinds) {
			if (obj->len - pos < 4)
				break;
			len = 4 + ((size_t)obj->p[pos] << 24 | (size_t)obj->p[pos + 1] << 16 |
				   (size_t)obj->p[pos + 2] << 8 | obj->p[pos + 3]) + CRYPTO_TAG_LEN;
		} else {
			len = stride;
		}
		if (len > obj->len - pos)
			break;
		sg->at[sg->n++] = pos;
		pos += len;
	}
	sg->at[sg->n] = pos;	/* the end of the last whole segment */
}

/* Apply one change to obj; stride = segment_size + tag (objects without kinds). */
static void change(struct buf *obj, const uint8_t *op, size_t stride, int kinds)
{
	size_t a = (size_t)op[1] << 8 | op[2], b = (size_t)op[3] << 8 | op[4];
	struct segs sg;
	unsigned char *tmp;

	find_segments(&sg, obj, stride, kinds);
	switch (op[0] % 4) {
	case 0:	/* flip bits of one byte */
		if (obj->len > 0)
			obj->p[a % obj->len] ^= (unsigned char)(b | 1);
		break;
	case 1:	/* cut short */
		if (obj->len > 0)
			obj->len = a % obj->len;
		break;
	case 2:	/* swap two whole segments (of any lengths: x before y) */
		if (sg.n >= 2 && a % sg.n != b % sg.n) {
			size_t i = a % sg.n < b % sg.n ? a % sg.n : b % sg.n;
			size_t j = a % sg.n < b % sg.n ? b % sg.n : a % sg.n;
			size_t xl = sg.at[i + 1] - sg.at[i], yl = sg.at[j + 1] - sg.at[j];
			size_t span = sg.at[j + 1] - sg.at[i], mid = sg.at[j] - sg.at[i + 1];

			tmp = malloc(span);
			FUZZ_CHECK(tmp != NULL);
			memcpy(tmp, obj->p + sg.at[j], yl);
			memcpy(tmp + yl, obj->p + sg.at[i + 1], mid);
			memcpy(tmp + yl + mid, obj->p + sg.at[i], xl);
			memcpy(obj->p + sg.at[i], tmp, span);
			free(tmp);
		}
		break;
	default: /* repeat a whole segment after itself */
		if (sg.n >= 1) {
			size_t at = sg.at[a % sg.n], len = sg.at[a % sg.n + 1] - at;

			reserve(obj, obj->len + len);
			memmove(obj->p + at + len, obj->p + at, obj->len - at);
			obj->len += len;
		}
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf obj = { NULL, 0, 0 }, orig = { NULL, 0, 0 }, out = { NULL, 0, 0 };
	struct crypto_stream *s = NULL;
	struct fuzz_pieces pieces;
	const uint8_t *plain, *ops;
	size_t n_ops, plain_len, off, n, i;
	enum crypto_compress compress;
	uint32_t seg;
	int rc = 0;

	if (size < 3)
		return 0;
	fuzz_pieces_init(&pieces, data[0]);
	seg = 16u << (data[1] % 5);
	compress = (enum crypto_compress)(data[1] / 5 % 3);
	n_ops = data[2] % 4;
	if (size < 3 + 5 * n_ops)
		return 0;
	ops = data + 3;
	plain = ops + 5 * n_ops;
	plain_len = size - 3 - 5 * n_ops;

	encrypt(&obj, plain, plain_len, seg, compress);
	append(&orig, obj.p, obj.len);
	for (i = 0; i < n_ops; i++)
		change(&obj, ops + 5 * i, seg + CRYPTO_TAG_LEN, compress != CRYPTO_COMPRESS_NONE);

	FUZZ_CHECK(crypto_decryptor_new(&s, key, &id, NULL) == 0);
	cst_error_clear();
	for (off = 0; off < obj.len && rc == 0; off += n) {
		n = fuzz_pieces_next(&pieces, obj.len - off);
		rc = crypto_stream_update(s, obj.p + off, n, append, &out);
	}
	if (rc == 0)
		rc = crypto_stream_final(s, append, &out);
	fuzz_verdict("decrypt", rc);
	fuzz_check_rc(rc);
	if (obj.len == orig.len && memcmp(obj.p, orig.p, obj.len) == 0) {
		FUZZ_CHECK(rc == 0);
		FUZZ_CHECK(out.len == plain_len && (plain_len == 0 || memcmp(out.p, plain, plain_len) == 0));
	} else {
		FUZZ_CHECK(rc != 0);
		FUZZ_CHECK(out.len % seg == 0 && out.len <= plain_len);
		FUZZ_CHECK(out.len == 0 || memcmp(out.p, plain, out.len) == 0);
	}
	crypto_stream_free(s);
	free(obj.p);
	free(orig.p);
	free(out.p);
	return 0;
}
