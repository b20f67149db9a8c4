/*
 * Envelope keys: a data key (32 random bytes, a struct crypto_key like a
 * master key) encrypts a node's objects; master keys only wrap data keys.
 *
 *   wrapped = salt (32) || nonce (12) || AES-256-GCM(kek, nonce, dk, aad) (32) || tag (16)
 *   kek     = HKDF-SHA256(IKM = master, salt = salt, info = "cassette v2 key wrap")
 *   aad     = "cassette v2 data key" || 0x00 || u32(len(fqdn)) || fqdn
 *             || data key id (8) || master key id (8)
 *
 * The AAD binds the wrap to its node and to both key ids, so a wrapped key
 * moved to another node, or relabelled, fails to unwrap.
 */
#include "crypto_int.h"
#include "util.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define WRAP_INFO "cassette v2 key wrap"
#define WRAP_AAD "cassette v2 data key"
#define FQDN_MAX 1024
_Static_assert(sizeof(WRAP_AAD) + 4 + FQDN_MAX + 2 * CRYPTO_KEYID_LEN == CRYPTO_WRAP_AAD_MAX, "the AAD fits");

int crypto_key_generate(struct crypto_key **out)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	int rc;

	*out = NULL;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return cst_error(CST_ERROR, "the random generator failed");
	rc = crypto_key_from_bytes(out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}

size_t crypto_wrap_aad(unsigned char *buf, const char *fqdn, const unsigned char *dk_id,
		       const unsigned char *master_id)
{
	size_t n = sizeof(WRAP_AAD), f = strlen(fqdn);	/* the label and its 0x00 */

	memcpy(buf, WRAP_AAD, n);
	buf[n++] = (unsigned char)(f >> 24);
	buf[n++] = (unsigned char)(f >> 16);
	buf[n++] = (unsigned char)(f >> 8);
	buf[n++] = (unsigned char)f;
	memcpy(buf + n, fqdn, f);
	n += f;
	memcpy(buf + n, dk_id, CRYPTO_KEYID_LEN);
	n += CRYPTO_KEYID_LEN;
	memcpy(buf + n, master_id, CRYPTO_KEYID_LEN);
	return n + CRYPTO_KEYID_LEN;
}

static int derive_kek(unsigned char kek[CRYPTO_KEY_LEN], const struct crypto_key *master,
		      const unsigned char *salt)
{
	return crypto_hkdf(kek, CRYPTO_KEY_LEN, master->raw, CRYPTO_KEY_LEN, salt, CRYPTO_SALT_LEN,
			   (const unsigned char *)WRAP_INFO, strlen(WRAP_INFO));
}

int crypto_wrap_key(unsigned char out[CRYPTO_WRAP_LEN], const struct crypto_key *master,
		    const struct crypto_key *dk, const char *fqdn)
{
	unsigned char kek[CRYPTO_KEY_LEN], aad[CRYPTO_WRAP_AAD_MAX];
	unsigned char *salt = out, *nonce = out + CRYPTO_SALT_LEN, *ct = nonce + 12;
	int rc;

	if (strlen(fqdn) > FQDN_MAX)
		return cst_error(CST_EINVALID, "node name too long to wrap a key for");
	if (RAND_bytes(salt, CRYPTO_SALT_LEN + 12) != 1)
		return cst_error(CST_ERROR, "the random generator failed");
	if ((rc = derive_kek(kek, master, salt)) == 0)
		rc = crypto_gcm_seal_key(kek, nonce, aad, crypto_wrap_aad(aad, fqdn, dk->id, master->id),
					 dk->raw, ct, ct + CRYPTO_KEY_LEN);
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

int crypto_unwrap_key(struct crypto_key **out, const struct crypto_key *master,
		      const unsigned char in[CRYPTO_WRAP_LEN], const char *fqdn,
		      const unsigned char dk_id[CRYPTO_KEYID_LEN])
{
	unsigned char kek[CRYPTO_KEY_LEN];
	const unsigned char *nonce = in + CRYPTO_SALT_LEN;
	int rc;

	*out = NULL;
	if (strlen(fqdn) > FQDN_MAX)
		return cst_error(CST_EINVALID, "node name too long to unwrap a key for");
	if ((rc = derive_kek(kek, master, in)) == 0)
		rc = crypto_open_wrapped(out, kek, nonce, fqdn, dk_id, master->id, nonce + 12);
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

/* enc 1: seal in (32 bytes) into out and the tag; enc 0: open, tag given. */
static int gcm(int enc, const unsigned char *kek, const unsigned char *nonce,
	       const unsigned char *aad, size_t aadlen, const unsigned char *in, unsigned char *out,
	       unsigned char *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, ok;

	if (c == NULL)
		return CST_ENOMEM;
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, kek, nonce, enc) == 1 &&
	     EVP_CipherUpdate(c, NULL, &len, aad, (int)aadlen) == 1 &&
	     EVP_CipherUpdate(c, out, &len, in, CRYPTO_KEY_LEN) == 1 && len == CRYPTO_KEY_LEN &&
	     (enc || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN, tag) == 1);
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + len, &len) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		OPENSSL_cleanse(out, CRYPTO_KEY_LEN);
	return ok ? 0 : enc ? CST_ERROR : CST_EINTEGRITY;
}

int crypto_gcm_seal_key(const unsigned char *kek, const unsigned char *nonce,
			const unsigned char *aad, size_t aadlen, const unsigned char *key,
			unsigned char *ct, unsigned char *tag)
{
	int rc = gcm(1, kek, nonce, aad, aadlen, key, ct, tag);

	return rc == CST_ERROR ? cst_error(rc, "wrapping a data key failed (OpenSSL)") : rc;
}

int crypto_open_wrapped(struct crypto_key **out, const unsigned char *kek, const unsigned char *nonce,
			const char *fqdn, const unsigned char *dk_id, const unsigned char *wrapper_id,
			const unsigned char *ct)
{
	unsigned char raw[CRYPTO_KEY_LEN], aad[CRYPTO_WRAP_AAD_MAX];
	int rc;

	*out = NULL;
	if (gcm(0, kek, nonce, aad, crypto_wrap_aad(aad, fqdn, dk_id, wrapper_id), ct, raw,
		(unsigned char *)ct + CRYPTO_KEY_LEN) != 0)
		return cst_error(CST_EINTEGRITY, "the wrapped key failed authentication");
	rc = crypto_key_from_bytes(out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc == 0 && CRYPTO_memcmp((*out)->id, dk_id, CRYPTO_KEYID_LEN) != 0) {
		crypto_key_free(*out);
		*out = NULL;
		rc = cst_error(CST_EINTEGRITY, "the unwrapped key is not the one named");
	}
	return rc;
}
