/*
 * MD5 for source checksums (differential backups compare them) and S3
 * Content-MD5 -- an integrity checksum against accidental corruption only,
 * never a security primitive here.
 *
 * MD5 is the slowest step of a backup (about 0.7 GB/s a core, against
 * several GB/s for AES-GCM), so every byte fed to any context is counted:
 * the tests use the count to prove each plaintext byte is hashed once.
 *
 * A plain context is OpenSSL's MD5. A shared one (crypto_md5_new_shared()
 * with a hub) hashes with md5_mb.c's kernels through the hub (md5_hub.c), so
 * the updates of many threads share SIMD lanes.
 */
#include "crypto.h"
#include "md5_mb.h"
#include "util.h"

#include <stdatomic.h>
#include <stdlib.h>

static _Atomic uint64_t bytes_hashed;

uint64_t crypto_md5_bytes_hashed(void)
{
	return atomic_load_explicit(&bytes_hashed, memory_order_relaxed);
}

#include <openssl/evp.h>

struct crypto_md5 {
	EVP_MD *md;		/* plain: OpenSSL */
	EVP_MD_CTX *ctx;
	struct md5_hub_stream *shared;	/* shared: hashed through a hub */
	int finished;	/* final() called; reset() before the next update() */
};

int crypto_md5_new(struct crypto_md5 **out)
{
	struct crypto_md5 *h = NULL;
	int rc = 0;

	*out = NULL;
	if ((h = cst_calloc(1, sizeof(*h))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((h->md = EVP_MD_fetch(NULL, "MD5", NULL)) == NULL) {
		rc = cst_error(CST_EUNSUPPORTED, "MD5 is not available from OpenSSL "
			       "(FIPS mode?)");
		goto out;
	}
	if ((h->ctx = EVP_MD_CTX_new()) == NULL) {
		rc = cst_error(CST_ENOMEM, "MD5: out of memory");
		goto out;
	}
	if ((rc = crypto_md5_reset(h)) != 0)
		goto out;
	*out = h;
	h = NULL;
out:
	crypto_md5_free(h);
	return rc;
}

int crypto_md5_new_shared(struct crypto_md5 **out, struct crypto_md5_hub *hub)
{
	struct crypto_md5 *h = NULL;
	int rc = 0;

	if (hub == NULL)
		return crypto_md5_new(out);
	*out = NULL;
	if ((h = cst_calloc(1, sizeof(*h))) == NULL)
		return CST_ENOMEM;
	if ((rc = md5_hub_stream_new(&h->shared, hub)) != 0) {
		free(h);
		return rc;
	}
	*out = h;
	return 0;
}

int crypto_md5_update(struct crypto_md5 *h, const void *buf, size_t len)
{
	if (h->finished)
		return cst_error(CST_EINVALID, "MD5: update() after final() without reset()");
	if (h->shared != NULL)
		md5_hub_stream_update(h->shared, buf, len);
	else if (EVP_DigestUpdate(h->ctx, buf, len) != 1)
		return cst_error(CST_ERROR, "MD5: update failed");
	atomic_fetch_add_explicit(&bytes_hashed, len, memory_order_relaxed);
	return 0;
}

int crypto_md5_submit(struct crypto_md5 *h, const void *buf, size_t len)
{
	if (h->shared == NULL)
		return crypto_md5_update(h, buf, len);
	if (h->finished)
		return cst_error(CST_EINVALID, "MD5: update() after final() without reset()");
	md5_hub_stream_submit(h->shared, buf, len);
	atomic_fetch_add_explicit(&bytes_hashed, len, memory_order_relaxed);
	return 0;
}

void crypto_md5_wait(struct crypto_md5 *h)
{
	if (h->shared != NULL)
		md5_hub_stream_wait(h->shared);
}

int crypto_md5_final(struct crypto_md5 *h, unsigned char out[16])
{
	unsigned int len = 0;

	if (h->finished)
		return cst_error(CST_EINVALID, "MD5: final() twice without reset()");
	h->finished = 1;
	if (h->shared != NULL) {
		md5_hub_stream_final(h->shared, out);
		return 0;
	}
	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 || len != 16)
		return cst_error(CST_ERROR, "MD5: final failed");
	return 0;
}

int crypto_md5_reset(struct crypto_md5 *h)
{
	if (h->shared != NULL)
		md5_hub_stream_reset(h->shared);
	else if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1)
		return cst_error(CST_ERROR, "MD5: init failed");
	h->finished = 0;
	return 0;
}

void crypto_md5_free(struct crypto_md5 *h)
{
	if (h == NULL)
		return;
	md5_hub_stream_free(h->shared);
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	free(h);
}
