/*
 * Master keys: key files, key ids, key generation, and the HKDF every key in
 * this module is derived with. Key bytes only ever live in struct crypto_key
 * and in stack buffers that are wiped before returning.
 */
#define _GNU_SOURCE
#include "crypto_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#define KEYID_INFO "cassette v1 key id"
/* A key file is one 44-character line; anything much larger is not one. */
#define KEYFILE_MAX 256

int crypto_hkdf(unsigned char *out, size_t outlen, const unsigned char *ikm, size_t ikmlen,
		const unsigned char *salt, size_t saltlen, const unsigned char *info,
		size_t infolen)
{
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *p = params;
	int rc = CST_ERROR;

	if ((kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		cst_error(CST_ERROR, "HKDF: not available from OpenSSL");
		goto out;
	}
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikmlen);
	/* RFC 5869: an absent salt is HashLen zero bytes, the same HMAC key as
	 * an empty one. OpenSSL wants absent rather than empty. */
	if (saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt,
							 saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, infolen);
	*p = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, out, outlen, params) <= 0) {
		cst_error(CST_ERROR, "HKDF: derivation failed (info of %zu bytes)", infolen);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		OPENSSL_cleanse(out, outlen);
	EVP_KDF_CTX_free(kctx);	/* the provider wipes its copy of the key */
	EVP_KDF_free(kdf);
	return rc;
}

/*
 * A master key lives on a page of its own: left out of core dumps
 * (MADV_DONTDUMP), locked in memory where the limits allow (never in swap),
 * and while one exists the process is not dumpable (PR_SET_DUMPABLE 0: no
 * core file, no ptrace attach by the same user, /proc/<pid>/mem closed).
 * The process stays non-dumpable once a key was loaded: a short-lived
 * command has no use for the way back.
 */
#define KEY_PAGE 4096
_Static_assert(sizeof(struct crypto_key) <= KEY_PAGE, "a key fits its page");

static struct crypto_key *key_page_new(void)
{
	void *p = mmap(NULL, KEY_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* best effort each: an old kernel or a low RLIMIT_MEMLOCK only
	 * weakens the defence, it does not stop the backup */
	(void)madvise(p, KEY_PAGE, MADV_DONTDUMP);
	(void)mlock(p, KEY_PAGE);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return p;
}

int crypto_key_from_bytes(struct crypto_key **out, const unsigned char *raw, size_t len)
{
	struct crypto_key *k = NULL;
	int rc;

	*out = NULL;
	if (raw == NULL || len != CRYPTO_KEY_LEN) {
		rc = cst_error(CST_EINVALID, "a key is %d bytes, not %zu", CRYPTO_KEY_LEN, len);
		goto out;
	}
	if ((k = key_page_new()) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	memcpy(k->raw, raw, CRYPTO_KEY_LEN);
	if ((rc = crypto_hkdf(k->id, sizeof(k->id), k->raw, sizeof(k->raw), NULL, 0,
			      (const unsigned char *)KEYID_INFO, strlen(KEYID_INFO))) != 0)
		goto out;
	*out = k;
	k = NULL;
out:
	crypto_key_free(k);
	return rc;
}

void crypto_key_free(struct crypto_key *key)
{
	if (key == NULL)
		return;
	OPENSSL_cleanse(key, sizeof(*key));
	munlock(key, KEY_PAGE);
	munmap(key, KEY_PAGE);
}

const unsigned char *crypto_key_id(const struct crypto_key *key)
{
	return key->id;
}

/*
 * Value of a base64 digit, or -1. Branch- and table-free, so decoding a key
 * leaks nothing through timing or the cache (the technique of BoringSSL's
 * and libsodium's constant-time decoders).
 */
static int b64_value(int c)
{
	int v = -1;

	v += ((('A' - 1 - c) & (c - 'Z' - 1)) >> 8) & (c - 'A' + 1);
	v += ((('a' - 1 - c) & (c - 'z' - 1)) >> 8) & (c - 'a' + 27);
	v += ((('0' - 1 - c) & (c - '9' - 1)) >> 8) & (c - '0' + 53);
	v += ((('+' - 1 - c) & (c - '+' - 1)) >> 8) & 63;
	v += ((('/' - 1 - c) & (c - '/' - 1)) >> 8) & 64;
	return v;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Strict decoding of exactly one padded 44-character line into 32 bytes:
 * 43 digits, one '=', and zero pad bits (so each key has one spelling).
 */
int crypto_b64_decode_key(unsigned char raw[CRYPTO_KEY_LEN], const char *text, size_t len)
{
	int v[CRYPTO_KEY_B64_LEN - 1], bad = 0;
	unsigned int a, b, c, d;
	size_t i, q;

	while (len > 0 && is_space(text[0]))
		text++, len--;
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len != CRYPTO_KEY_B64_LEN || text[len - 1] != '=')
		return CST_EINVALID;
	for (i = 0; i < CRYPTO_KEY_B64_LEN - 1; i++) {
		v[i] = b64_value((unsigned char)text[i]);
		bad |= v[i];
	}
	bad |= -(v[CRYPTO_KEY_B64_LEN - 2] & 3);
	for (q = 0; q < 10; q++) {
		a = (unsigned)v[4 * q] & 63;
		b = (unsigned)v[4 * q + 1] & 63;
		c = (unsigned)v[4 * q + 2] & 63;
		d = (unsigned)v[4 * q + 3] & 63;
		raw[3 * q] = (unsigned char)(a << 2 | b >> 4);
		raw[3 * q + 1] = (unsigned char)(b << 4 | c >> 2);
		raw[3 * q + 2] = (unsigned char)(c << 6 | d);
	}
	a = (unsigned)v[40] & 63;
	b = (unsigned)v[41] & 63;
	c = (unsigned)v[42] & 63;
	raw[30] = (unsigned char)(a << 2 | b >> 4);
	raw[31] = (unsigned char)(b << 4 | c >> 2);
	OPENSSL_cleanse(v, sizeof(v));
	if (bad < 0) {
		OPENSSL_cleanse(raw, CRYPTO_KEY_LEN);
		return CST_EINVALID;
	}
	return 0;
}

static const char *access_word(mode_t mode)
{
	if (mode & 044)
		return "readable";
	if (mode & 022)
		return "writable";
	return "executable";
}

/* Read at most cap - 1 bytes of an open secret file into text. */
static int read_secret_text(char *text, size_t cap, size_t *len, int fd, const char *what,
			    const char *path)
{
	ssize_t n;

	*len = 0;
	for (;;) {
		n = read(fd, text + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cst_error_errno("cannot read %s %s", what, path);
		if (n == 0)
			return 0;
		*len += (size_t)n;
		if (*len >= cap)
			return cst_error(CST_EINVALID, "%s %s is too large", what, path);
	}
}

int crypto_read_secret_file(char *text, size_t cap, size_t *len, const char *path,
			    const char *what)
{
	struct stat st;
	int fd, rc;

	*len = 0;
	/* O_NONBLOCK: a FIFO must not hang us before the regular-file check. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
		return cst_error_errno("cannot open %s %s", what, path);
	if (fstat(fd, &st) != 0)
		rc = cst_error_errno("cannot stat %s %s", what, path);
	else if (!S_ISREG(st.st_mode))
		rc = cst_error(CST_EINVALID, "%s %s is not a regular file", what, path);
	else if ((st.st_mode & 077) != 0)
		rc = cst_error(CST_EINVALID, "%s %s is %s by group or others (mode %04o); chmod 600 it",
			       what, path, access_word(st.st_mode),
			       (unsigned int)(st.st_mode & 07777));
	else
		rc = read_secret_text(text, cap, len, fd, what, path);
	close(fd);
	if (rc != 0) {
		OPENSSL_cleanse(text, cap);
		*len = 0;
	}
	return rc;
}

int crypto_key_load_file(struct crypto_key **out, const char *path)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	char text[KEYFILE_MAX + 1];
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((rc = crypto_read_secret_file(text, sizeof(text), &len, path, "key file")) != 0)
		goto out;
	if (crypto_b64_decode_key(raw, text, len) != 0) {
		rc = cst_error(CST_EINVALID,
			       "key file %s does not hold a key (one line of base64 that "
			       "decodes to exactly %d bytes)", path, CRYPTO_KEY_LEN);
		goto out;
	}
	rc = crypto_key_from_bytes(out, raw, sizeof(raw));
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int crypto_keygen_b64(char out[CRYPTO_KEY_B64_LEN + 1])
{
	unsigned char raw[CRYPTO_KEY_LEN];
	int rc = 0;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		rc = cst_error(CST_ERROR, "keygen: the random generator failed");
		goto out;
	}
	if (EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw)) != CRYPTO_KEY_B64_LEN) {
		rc = cst_error(CST_ERROR, "keygen: base64 encoding failed");
		goto out;
	}
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	if (rc != 0)
		OPENSSL_cleanse(out, CRYPTO_KEY_B64_LEN + 1);
	return rc;
}
