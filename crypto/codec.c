/*
 * zstd for the segments of an object with segment kinds (docs/FORMAT.md,
 * "Compressed segments"): level 1 with a bounded output, so that a segment
 * is kept compressed only when it saves enough; one-shot decompression into
 * a buffer of the segment size, so that no segment ever expands past it (a
 * bomb is refused, never allocated for). One codec per thread, reused.
 */
#define _POSIX_C_SOURCE 200809L	/* posix_memalign */
#include "crypto_int.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <zstd.h>
#include <zstd_errors.h>

#define ALIGN 4096
#define ZSTD_LEVEL 1

struct crypto_codec {
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	unsigned char *seg;	/* an encryptor's sealed segment: len || kind || body || tag */
	size_t seg_cap;
	unsigned char *plain;	/* a decompressed piece, page-aligned */
	size_t plain_cap;
};

int crypto_codec_new(struct crypto_codec **out)
{
	if ((*out = cst_calloc(1, sizeof(**out))) == NULL)
		return CST_ENOMEM;
	return 0;
}

static void drop(unsigned char **buf, size_t *cap)
{
	if (*buf != NULL) {
		OPENSSL_cleanse(*buf, *cap);
		free(*buf);
	}
	*buf = NULL;
	*cap = 0;
}

void crypto_codec_free(struct crypto_codec *c)
{
	if (c == NULL)
		return;
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	drop(&c->seg, &c->seg_cap);
	drop(&c->plain, &c->plain_cap);
	free(c);
}

static int grow(unsigned char **buf, size_t *cap, size_t need)
{
	unsigned char *nbuf;

	if (need <= *cap)
		return 0;
	if (posix_memalign((void **)&nbuf, ALIGN, need) != 0)
		return cst_error(CST_ENOMEM, "out of memory");
	drop(buf, cap);
	*buf = nbuf;
	*cap = need;
	return 0;
}

/* The calling thread's codec, for streams given none: freed when the
 * thread ends. Each use is whole within one call of a stream (the sealed
 * segment and the decompressed piece are handed to the sink and done
 * with), so streams of one thread may share it. */
static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;
static int thread_key_ok;

static void thread_free(void *c)
{
	crypto_codec_free(c);
}

static void thread_init(void)
{
	thread_key_ok = pthread_key_create(&thread_key, thread_free) == 0;
}

struct crypto_codec *codec_of_thread(void)
{
	struct crypto_codec *c;

	pthread_once(&thread_once, thread_init);
	if (!thread_key_ok) {
		cst_error(CST_ERROR, "cannot make a thread-specific key for zstd contexts");
		return NULL;
	}
	if ((c = pthread_getspecific(thread_key)) != NULL)
		return c;
	if (crypto_codec_new(&c) != 0)
		return NULL;
	if (pthread_setspecific(thread_key, c) != 0) {
		crypto_codec_free(c);
		cst_error(CST_ERROR, "cannot keep the thread's zstd contexts");
		return NULL;
	}
	return c;
}

unsigned char *codec_seg_buf(struct crypto_codec *c, uint32_t segment_size)
{
	if (grow(&c->seg, &c->seg_cap, (size_t)segment_size + CRYPTO_SEGHDR_LEN) != 0)
		return NULL;
	return c->seg;
}

int codec_compress(struct crypto_codec *c, unsigned char *dst, size_t limit, const unsigned char *src,
		   size_t n, size_t *out)
{
	size_t r;

	*out = 0;
	if (limit == 0 || n == 0)
		return 0;
	if (c->cctx == NULL) {
		if ((c->cctx = ZSTD_createCCtx()) == NULL)
			return cst_error(CST_ENOMEM, "zstd: out of memory");
		/* one frame with its content size and no checksum: the AEAD
		 * tag proves the bytes */
		if (ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, ZSTD_LEVEL)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_contentSizeFlag, 1)))
			return cst_error(CST_ERROR, "zstd: cannot set the compression parameters");
	}
	r = ZSTD_compress2(c->cctx, dst, limit, src, n);
	if (ZSTD_isError(r)) {
		/* did not fit in `limit`: it does not pay, the piece stays raw */
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return 0;
		return cst_error(CST_ERROR, "zstd: %s", ZSTD_getErrorName(r));
	}
	*out = r;
	return 0;
}

int codec_decompress(struct crypto_codec *c, const unsigned char *src, size_t n, uint32_t segment_size,
		     const unsigned char **piece, size_t *len, const char *what, uint64_t index)
{
	static const unsigned char magic[4] = { 0x28, 0xb5, 0x2f, 0xfd };	/* ZSTD_MAGICNUMBER, LE */
	unsigned long long declared;
	size_t r;

	*piece = NULL;
	*len = 0;
	if (n < sizeof(magic) || memcmp(src, magic, sizeof(magic)) != 0)
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s is marked compressed but "
				 "holds no zstd frame", (unsigned long long)index, what);
	declared = ZSTD_getFrameContentSize(src, n);
	if (declared == ZSTD_CONTENTSIZE_ERROR)
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s: invalid zstd frame header",
				 (unsigned long long)index, what);
	if (declared == ZSTD_CONTENTSIZE_UNKNOWN)
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s: its zstd frame does not "
				 "declare its size", (unsigned long long)index, what);
	if (declared > segment_size)
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s declares %llu bytes, more "
				 "than the segment size %u: refused as a decompression bomb",
				 (unsigned long long)index, what, declared, segment_size);
	r = ZSTD_findFrameCompressedSize(src, n);
	if (ZSTD_isError(r) || r != n)
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s is not exactly one zstd "
				 "frame", (unsigned long long)index, what);
	if (grow(&c->plain, &c->plain_cap, segment_size) != 0)
		return CST_ENOMEM;
	if (c->dctx == NULL && (c->dctx = ZSTD_createDCtx()) == NULL)
		return cst_error(CST_ENOMEM, "zstd: out of memory");
	/* one shot into a flat buffer of the segment size: zstd keeps no
	 * window of its own, and output past the buffer is an error */
	r = ZSTD_decompressDCtx(c->dctx, c->plain, segment_size, src, n);
	if (ZSTD_isError(r)) {
		if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
			return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s expands past the "
					 "segment size %u: refused as a decompression bomb",
					 (unsigned long long)index, what, segment_size);
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s: corrupt zstd frame (%s)",
				 (unsigned long long)index, what, ZSTD_getErrorName(r));
	}
	if (r != declared)	/* zstd checks it too */
		return cst_error(CST_EINTEGRITY, "decrypt: segment %llu of %s: its zstd frame gives %zu "
				 "bytes, not the %llu it declares", (unsigned long long)index, what, r,
				 declared);
	*piece = c->plain;
	*len = r;
	return 0;
}
