/*
 * Public-key mode: X25519 to wrap data keys to a recipient that only the
 * holder of the private key can unwrap, and Ed25519 for nodes to sign their
 * meta. Private keys are struct crypto_key (32 raw bytes on a key page);
 * public keys are 32 plain bytes.
 *
 *   recipient id = first 8 bytes of HKDF-SHA256(IKM = recipient public key,
 *                  salt = empty, info = "cassette v2 recipient id")
 *   wrapped = ephemeral public (32) || nonce (12) || ct (32) || tag (16)
 *   shared  = X25519(ephemeral private, recipient public)
 *   kek     = HKDF-SHA256(IKM = shared, salt = ephemeral public || recipient public,
 *                         info = "cassette v2 x25519 wrap")
 *   aad     = "cassette v2 data key" || 0x00 || u32(len(fqdn)) || fqdn
 *             || data key id (8) || recipient id (8)
 */
#include "crypto_int.h"
#include "util.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define RID_INFO "cassette v2 recipient id"
#define XWRAP_INFO "cassette v2 x25519 wrap"
#define FQDN_MAX 1024

static int public_of(unsigned char pub[CRYPTO_PK_LEN], const struct crypto_key *priv, int type)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(type, NULL, priv->raw, CRYPTO_KEY_LEN);
	size_t len = CRYPTO_PK_LEN;
	int ok = k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 && len == CRYPTO_PK_LEN;

	EVP_PKEY_free(k);
	return ok ? 0 : cst_error(CST_ERROR, "%s: no public key (OpenSSL)",
				  type == EVP_PKEY_X25519 ? "X25519" : "Ed25519");
}

int crypto_x25519_public(unsigned char pub[CRYPTO_PK_LEN], const struct crypto_key *priv)
{
	return public_of(pub, priv, EVP_PKEY_X25519);
}

int crypto_ed25519_public(unsigned char pub[CRYPTO_PK_LEN], const struct crypto_key *priv)
{
	return public_of(pub, priv, EVP_PKEY_ED25519);
}

int crypto_recipient_id(unsigned char id[CRYPTO_KEYID_LEN], const unsigned char pub[CRYPTO_PK_LEN])
{
	return crypto_hkdf(id, CRYPTO_KEYID_LEN, pub, CRYPTO_PK_LEN, NULL, 0,
			   (const unsigned char *)RID_INFO, strlen(RID_INFO));
}

/* kek from an X25519 exchange between `mine` and the peer's public key */
static int exchange_kek(unsigned char kek[CRYPTO_KEY_LEN], const unsigned char *mine,
			const unsigned char *peer, const unsigned char *eph_pub,
			const unsigned char *rpub)
{
	EVP_PKEY *a = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, mine, CRYPTO_KEY_LEN);
	EVP_PKEY *b = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, CRYPTO_PK_LEN);
	EVP_PKEY_CTX *c = a ? EVP_PKEY_CTX_new(a, NULL) : NULL;
	unsigned char shared[32], salt[2 * CRYPTO_PK_LEN];
	size_t len = sizeof(shared);
	int rc = CST_ERROR;

	if (c != NULL && EVP_PKEY_derive_init(c) == 1 && b != NULL &&
	    EVP_PKEY_derive_set_peer(c, b) == 1 && EVP_PKEY_derive(c, shared, &len) == 1 &&
	    len == sizeof(shared)) {
		memcpy(salt, eph_pub, CRYPTO_PK_LEN);
		memcpy(salt + CRYPTO_PK_LEN, rpub, CRYPTO_PK_LEN);
		rc = crypto_hkdf(kek, CRYPTO_KEY_LEN, shared, sizeof(shared), salt, sizeof(salt),
				 (const unsigned char *)XWRAP_INFO, strlen(XWRAP_INFO));
	} else {
		/* an all-zero shared secret (a small-order peer key) lands here too */
		cst_error(CST_EINTEGRITY, "X25519 key exchange failed");
		rc = CST_EINTEGRITY;
	}
	OPENSSL_cleanse(shared, sizeof(shared));
	EVP_PKEY_CTX_free(c);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	return rc;
}

int crypto_wrap_to_recipient(unsigned char out[CRYPTO_PKWRAP_LEN],
			     const unsigned char rpub[CRYPTO_PK_LEN], const struct crypto_key *dk,
			     const char *fqdn)
{
	unsigned char eph[CRYPTO_KEY_LEN], kek[CRYPTO_KEY_LEN], rid[CRYPTO_KEYID_LEN];
	unsigned char aad[CRYPTO_WRAP_AAD_MAX];
	unsigned char *nonce = out + CRYPTO_PK_LEN, *ct = nonce + 12;
	struct crypto_key *ek = NULL;
	int rc;

	if (strlen(fqdn) > FQDN_MAX)
		return cst_error(CST_EINVALID, "node name too long to wrap a key for");
	if (RAND_bytes(eph, sizeof(eph)) != 1 || RAND_bytes(nonce, 12) != 1)
		return cst_error(CST_ERROR, "the random generator failed");
	if ((rc = crypto_key_from_bytes(&ek, eph, sizeof(eph))) != 0 ||
	    (rc = crypto_x25519_public(out, ek)) != 0 || (rc = crypto_recipient_id(rid, rpub)) != 0 ||
	    (rc = exchange_kek(kek, eph, rpub, out, rpub)) != 0)
		goto out;
	rc = crypto_gcm_seal_key(kek, nonce, aad, crypto_wrap_aad(aad, fqdn, dk->id, rid), dk->raw, ct,
				 ct + CRYPTO_KEY_LEN);
out:
	OPENSSL_cleanse(eph, sizeof(eph));
	OPENSSL_cleanse(kek, sizeof(kek));
	crypto_key_free(ek);
	return rc;
}

int crypto_unwrap_as_recipient(struct crypto_key **out, const struct crypto_key *rpriv,
			       const unsigned char in[CRYPTO_PKWRAP_LEN], const char *fqdn,
			       const unsigned char dk_id[CRYPTO_KEYID_LEN])
{
	unsigned char rpub[CRYPTO_PK_LEN], kek[CRYPTO_KEY_LEN], rid[CRYPTO_KEYID_LEN];
	const unsigned char *nonce = in + CRYPTO_PK_LEN;
	int rc;

	*out = NULL;
	if (strlen(fqdn) > FQDN_MAX)
		return cst_error(CST_EINVALID, "node name too long to unwrap a key for");
	if ((rc = crypto_x25519_public(rpub, rpriv)) != 0 || (rc = crypto_recipient_id(rid, rpub)) != 0)
		return rc;
	if ((rc = exchange_kek(kek, rpriv->raw, in, in, rpub)) == 0)
		rc = crypto_open_wrapped(out, kek, nonce, fqdn, dk_id, rid, nonce + 12);
	OPENSSL_cleanse(kek, sizeof(kek));
	return rc;
}

int crypto_ed25519_sign(unsigned char sig[CRYPTO_SIG_LEN], const struct crypto_key *priv,
			const unsigned char *msg, size_t len)
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv->raw, CRYPTO_KEY_LEN);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t siglen = CRYPTO_SIG_LEN;
	int ok = k != NULL && c != NULL && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
		 EVP_DigestSign(c, sig, &siglen, msg, len) == 1 && siglen == CRYPTO_SIG_LEN;

	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok ? 0 : cst_error(CST_ERROR, "Ed25519 signing failed (OpenSSL)");
}

int crypto_ed25519_verify(const unsigned char pub[CRYPTO_PK_LEN], const unsigned char *msg,
			  size_t len, const unsigned char sig[CRYPTO_SIG_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CRYPTO_PK_LEN);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = k != NULL && c != NULL && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
		 EVP_DigestVerify(c, sig, CRYPTO_SIG_LEN, msg, len) == 1;

	EVP_MD_CTX_free(c);
	EVP_PKEY_free(k);
	return ok ? 0 : cst_error(CST_EINTEGRITY, "the Ed25519 signature does not verify");
}
