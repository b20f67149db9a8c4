/*
 * Node signatures over a backup's meta (public-key mode): the same content
 * as the meta MAC (meta_mac.c), under the node's Ed25519 signing key:
 *
 *   signer id = first 8 bytes of HKDF-SHA256(IKM = the node's public key,
 *               salt = empty, info = "cassette v2 signing key id")
 *   message   = "cassette v2 meta signature" || 0x00 || lp(fqdn) || lp(backup)
 *               || lp(signer id, 16 lowercase hex)
 *               || for each object in bytewise order of its name:
 *                  lp(name) || SHA-256 (32 bytes)
 *   signature = Ed25519(signing key, message)      (RFC 8032, 64 bytes)
 */
#include "crypto_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define SIG_LABEL "cassette v2 meta signature"
#define SIGNER_INFO "cassette v2 signing key id"

int crypto_signing_key_id(unsigned char id[CRYPTO_KEYID_LEN], const unsigned char pub[CRYPTO_PK_LEN])
{
	return crypto_hkdf(id, CRYPTO_KEYID_LEN, pub, CRYPTO_PK_LEN, NULL, 0,
			   (const unsigned char *)SIGNER_INFO, strlen(SIGNER_INFO));
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(const struct crypto_meta_object *const *)a)->name,
		      (*(const struct crypto_meta_object *const *)b)->name);
}

static unsigned char *put_lp(unsigned char *p, const char *s, size_t len)
{
	p[0] = (unsigned char)(len >> 24);
	p[1] = (unsigned char)(len >> 16);
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)len;
	memcpy(p + 4, s, len);
	return p + 4 + len;
}

/* The message to sign; *out the caller's. */
static int message(unsigned char **out, size_t *len, const unsigned char pub[CRYPTO_PK_LEN],
		   const char *fqdn, const char *backup, const struct crypto_meta_object *objs,
		   size_t n)
{
	const struct crypto_meta_object **sorted;
	unsigned char id[CRYPTO_KEYID_LEN], *buf, *p;
	char hex[2 * CRYPTO_KEYID_LEN + 1];
	size_t i, total;
	int rc;

	*out = NULL;
	if ((rc = crypto_signing_key_id(id, pub)) != 0)
		return rc;
	cst_hex(hex, id, sizeof(id));
	if (strlen(fqdn) > 4096 || strlen(backup) > 4096 || n > 64)
		return cst_error(CST_EINVALID, "meta signature: a field too long");
	if ((sorted = cst_calloc(n ? n : 1, sizeof(*sorted))) == NULL)
		return CST_ENOMEM;
	total = sizeof(SIG_LABEL) + 12 + strlen(fqdn) + strlen(backup) + strlen(hex);
	for (i = 0; i < n; i++) {
		sorted[i] = &objs[i];
		total += 4 + strlen(objs[i].name) + CRYPTO_SHA256_LEN;
	}
	qsort(sorted, n, sizeof(*sorted), by_name);
	for (i = 1; i < n; i++)
		if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
			rc = cst_error(CST_EINVALID, "meta signature: object %s named twice",
				       sorted[i]->name);
			free(sorted);
			return rc;
		}
	if ((buf = cst_malloc(total)) == NULL) {
		free(sorted);
		return CST_ENOMEM;
	}
	memcpy(buf, SIG_LABEL, sizeof(SIG_LABEL));	/* with its NUL: the 0x00 */
	p = put_lp(buf + sizeof(SIG_LABEL), fqdn, strlen(fqdn));
	p = put_lp(p, backup, strlen(backup));
	p = put_lp(p, hex, strlen(hex));
	for (i = 0; i < n; i++) {
		p = put_lp(p, sorted[i]->name, strlen(sorted[i]->name));
		memcpy(p, sorted[i]->sha256, CRYPTO_SHA256_LEN);
		p += CRYPTO_SHA256_LEN;
	}
	free(sorted);
	*out = buf;
	*len = (size_t)(p - buf);
	return 0;
}

int crypto_meta_sign(unsigned char sig[CRYPTO_SIG_LEN], const struct crypto_key *signing,
		     const char *fqdn, const char *backup, const struct crypto_meta_object *objs,
		     size_t n)
{
	unsigned char pub[CRYPTO_PK_LEN], *msg = NULL;
	size_t len = 0;
	int rc;

	if ((rc = crypto_ed25519_public(pub, signing)) == 0 &&
	    (rc = message(&msg, &len, pub, fqdn, backup, objs, n)) == 0)
		rc = crypto_ed25519_sign(sig, signing, msg, len);
	free(msg);
	return rc;
}

int crypto_meta_sig_verify(const unsigned char pub[CRYPTO_PK_LEN], const char *fqdn,
			   const char *backup, const struct crypto_meta_object *objs, size_t n,
			   const unsigned char sig[CRYPTO_SIG_LEN])
{
	unsigned char *msg = NULL;
	size_t len = 0;
	int rc;

	if ((rc = message(&msg, &len, pub, fqdn, backup, objs, n)) == 0)
		rc = crypto_ed25519_verify(pub, msg, len, sig) == 0 ? 0 : CST_EINTEGRITY;
	free(msg);
	return rc;
}
