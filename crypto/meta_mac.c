/*
 * The MAC over a backup's meta objects (docs/FORMAT.md, "auth.json"), and
 * the SHA-256 that names each object in it. The MAC key is derived from
 * the key that encrypts the backup's data objects, so only its holder can
 * write a MAC that verifies.
 */
#include "crypto_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#define MAC_KEY_INFO "cassette v1 meta mac key"
#define MAC_LABEL "cassette v1 meta auth"

/* ---- SHA-256 ---------------------------------------------------------------- */

struct crypto_sha256 {
	EVP_MD_CTX *ctx;
};

int crypto_sha256_new(struct crypto_sha256 **out)
{
	struct crypto_sha256 *h;

	*out = NULL;
	if ((h = cst_calloc(1, sizeof(*h))) == NULL)
		return CST_ENOMEM;
	if ((h->ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
		crypto_sha256_free(h);
		return cst_error(CST_ERROR, "SHA-256: not available from OpenSSL");
	}
	*out = h;
	return 0;
}

int crypto_sha256_update(struct crypto_sha256 *h, const void *buf, size_t len)
{
	if (len > 0 && EVP_DigestUpdate(h->ctx, buf, len) != 1)
		return cst_error(CST_ERROR, "SHA-256: update failed");
	return 0;
}

int crypto_sha256_final(struct crypto_sha256 *h, unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(h->ctx, out, &n) != 1 || n != CRYPTO_SHA256_LEN)
		return cst_error(CST_ERROR, "SHA-256: final failed");
	return 0;
}

void crypto_sha256_free(struct crypto_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int crypto_sha256(unsigned char out[CRYPTO_SHA256_LEN], const void *buf, size_t len)
{
	struct crypto_sha256 *h = NULL;
	int rc;

	if ((rc = crypto_sha256_new(&h)) == 0 && (rc = crypto_sha256_update(h, buf, len)) == 0)
		rc = crypto_sha256_final(h, out);
	crypto_sha256_free(h);
	return rc;
}

/* ---- the MAC ------------------------------------------------------------------ */

static int by_name(const void *a, const void *b)
{
	const struct crypto_meta_object *x = *(const struct crypto_meta_object *const *)a;
	const struct crypto_meta_object *y = *(const struct crypto_meta_object *const *)b;

	return strcmp(x->name, y->name);
}

static int mac_update(EVP_MAC_CTX *m, const void *buf, size_t len)
{
	return EVP_MAC_update(m, buf, len) == 1 ? 0 : cst_error(CST_ERROR, "HMAC: update failed");
}

/* u32 big-endian length, then the bytes. */
static int mac_lp(EVP_MAC_CTX *m, const char *s)
{
	size_t len = strlen(s);
	unsigned char be[4];
	int rc;

	if (len > UINT32_MAX)
		return cst_error(CST_EINVALID, "meta MAC: a field of %zu bytes", len);
	be[0] = (unsigned char)(len >> 24);
	be[1] = (unsigned char)(len >> 16);
	be[2] = (unsigned char)(len >> 8);
	be[3] = (unsigned char)len;
	if ((rc = mac_update(m, be, 4)) != 0)
		return rc;
	return mac_update(m, s, len);
}

int crypto_meta_mac(unsigned char out[CRYPTO_META_MAC_LEN], const struct crypto_key *key,
		    const char *fqdn, const char *backup, const struct crypto_meta_object *objs,
		    size_t n)
{
	static const char label[] = MAC_LABEL;	/* its NUL is the 0x00 after it */
	const struct crypto_meta_object **sorted = NULL;
	unsigned char mac_key[32];
	char key_id[2 * CRYPTO_KEYID_LEN + 1];
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *m = NULL;
	OSSL_PARAM params[2];
	size_t i, outlen = 0;
	int rc;

	if ((sorted = cst_calloc(n ? n : 1, sizeof(*sorted))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < n; i++)
		sorted[i] = &objs[i];
	qsort(sorted, n, sizeof(*sorted), by_name);
	for (i = 1; i < n; i++)
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			rc = cst_error(CST_EINVALID, "meta MAC: object %s named twice", sorted[i]->name);
			goto out;
		}
	if ((rc = crypto_hkdf(mac_key, sizeof(mac_key), key->raw, sizeof(key->raw), NULL, 0,
			      (const unsigned char *)MAC_KEY_INFO, strlen(MAC_KEY_INFO))) != 0)
		goto out;
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (m = EVP_MAC_CTX_new(mac)) == NULL) {
		rc = cst_error(CST_ERROR, "HMAC: not available from OpenSSL");
		goto out;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m, mac_key, sizeof(mac_key), params) != 1) {
		rc = cst_error(CST_ERROR, "HMAC: init failed");
		goto out;
	}
	cst_hex(key_id, key->id, CRYPTO_KEYID_LEN);
	if ((rc = mac_update(m, label, sizeof(label))) != 0 || (rc = mac_lp(m, fqdn)) != 0 ||
	    (rc = mac_lp(m, backup)) != 0 || (rc = mac_lp(m, key_id)) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if ((rc = mac_lp(m, sorted[i]->name)) != 0 ||
		    (rc = mac_update(m, sorted[i]->sha256, CRYPTO_SHA256_LEN)) != 0)
			goto out;
	if (EVP_MAC_final(m, out, &outlen, CRYPTO_META_MAC_LEN) != 1 || outlen != CRYPTO_META_MAC_LEN)
		rc = cst_error(CST_ERROR, "HMAC: final failed");
out:
	OPENSSL_cleanse(mac_key, sizeof(mac_key));
	EVP_MAC_CTX_free(m);
	EVP_MAC_free(mac);
	free(sorted);
	if (rc != 0)
		OPENSSL_cleanse(out, CRYPTO_META_MAC_LEN);
	return rc;
}

int crypto_meta_mac_verify(const struct crypto_key *key, const char *fqdn, const char *backup,
			   const struct crypto_meta_object *objs, size_t n,
			   const unsigned char mac[CRYPTO_META_MAC_LEN])
{
	unsigned char want[CRYPTO_META_MAC_LEN];
	int rc;

	if ((rc = crypto_meta_mac(want, key, fqdn, backup, objs, n)) != 0)
		return rc;
	rc = CRYPTO_memcmp(want, mac, CRYPTO_META_MAC_LEN) == 0 ? 0 : CST_EINTEGRITY;
	OPENSSL_cleanse(want, sizeof(want));
	return rc;
}
