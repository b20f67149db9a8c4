/*
 * Typed key files of the public-key mode, one line each:
 *
 *   x25519-private <base64>         a recipient's private key (secret: 0600)
 *   x25519-public <base64>          its public key, for the nodes
 *   ed25519-private <base64>        a node's signing key (secret: 0600)
 *   ed25519-public <fqdn> <base64>  its public key, pinned in the restore
 *                                   host's keyring
 *
 * The private lines are also keyring lines (keyring.c reads x25519-private
 * and ed25519-public there).
 */
#define _GNU_SOURCE
#include "crypto_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define LINE_MAX_LEN 512

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "<type> [<fqdn>] <b64>" in text: the base64's span, and the fqdn's. */
static int split(const char *text, size_t len, const char *type, int with_fqdn, const char **fqdn,
		 size_t *flen, const char **b64, size_t *blen)
{
	size_t t = strlen(type), i = 0, a;

	while (len > 0 && is_blank(text[len - 1]))
		len--;
	while (i < len && is_blank(text[i]))
		i++;
	if (len - i < t + 1 || memcmp(text + i, type, t) != 0 || !is_blank(text[i + t]))
		return -1;
	for (i += t; i < len && is_blank(text[i]); i++)
		;
	if (with_fqdn) {
		for (a = i; i < len && !is_blank(text[i]); i++)
			;
		*fqdn = text + a;
		*flen = i - a;
		for (; i < len && is_blank(text[i]); i++)
			;
		if (*flen == 0 || *flen > 253)
			return -1;
	}
	*b64 = text + i;
	*blen = len - i;
	return memchr(*b64, '\n', *blen) || memchr(*b64, ' ', *blen) ? -1 : 0;
}

int crypto_typed_key_load(struct crypto_key **out, const char *path, const char *type)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	char text[LINE_MAX_LEN + 1];
	const char *b64 = NULL;
	size_t len = 0, blen = 0;
	int rc;

	*out = NULL;
	if ((rc = crypto_read_secret_file(text, sizeof(text), &len, path, "key file")) != 0)
		return rc;
	if (split(text, len, type, 0, NULL, NULL, &b64, &blen) != 0 ||
	    crypto_b64_decode_key(raw, b64, blen) != 0)
		rc = cst_error(CST_EINVALID, "key file %s does not hold one line '%s <base64 key>'", path,
			       type);
	else
		rc = crypto_key_from_bytes(out, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int crypto_public_key_load(unsigned char pub[CRYPTO_PK_LEN], const char *path, const char *type)
{
	char text[LINE_MAX_LEN + 1];
	const char *b64 = NULL;
	size_t len = 0, blen = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return cst_error_errno("cannot open public key file %s", path);
	while ((n = read(fd, text + len, sizeof(text) - 1 - len)) > 0 && len < sizeof(text) - 1)
		len += (size_t)n;
	close(fd);
	if (n < 0)
		return cst_error_errno("cannot read public key file %s", path);
	if (split(text, len, type, 0, NULL, NULL, &b64, &blen) != 0 ||
	    crypto_b64_decode_key(pub, b64, blen) != 0)
		return cst_error(CST_EINVALID, "public key file %s does not hold one line '%s <base64 "
				 "key>'", path, type);
	return 0;
}

int crypto_pk_keygen(struct crypto_pk_pair *out, int signing, const char *fqdn)
{
	unsigned char raw[CRYPTO_KEY_LEN], pub[CRYPTO_PK_LEN];
	char b64[CRYPTO_KEY_B64_LEN + 1], pb64[CRYPTO_KEY_B64_LEN + 1];
	struct crypto_key *k = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (signing && (fqdn == NULL || fqdn[0] == '\0' || strlen(fqdn) > 253 || strpbrk(fqdn, " \t\n")))
		return cst_error(CST_EINVALID, "a node signing key needs the node's name (--fqdn)");
	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		rc = cst_error(CST_ERROR, "the random generator failed");
		goto out;
	}
	if ((rc = crypto_key_from_bytes(&k, raw, sizeof(raw))) != 0 ||
	    (rc = signing ? crypto_ed25519_public(pub, k) : crypto_x25519_public(pub, k)) != 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
	EVP_EncodeBlock((unsigned char *)pb64, pub, sizeof(pub));
	snprintf(out->priv, sizeof(out->priv), "%s %s\n", signing ? "ed25519-private" : "x25519-private",
		 b64);
	if (signing)
		snprintf(out->pub, sizeof(out->pub), "ed25519-public %s %s\n", fqdn, pb64);
	else
		snprintf(out->pub, sizeof(out->pub), "x25519-public %s\n", pb64);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(b64, sizeof(b64));
	crypto_key_free(k);
	return rc;
}
