/*
 * Keyrings: the master keys a host holds, oldest first. The newest wraps new
 * data keys; any of them unwraps. A keyring file is text:
 *
 *   # comment lines and blank lines are ignored
 *   <key id: 16 lowercase hex> <key: 44 characters of padded base64>
 *   ...                                    (the last key line is the newest)
 *
 * A file of one bare base64 line (a key file of version 1) is a keyring of
 * that one key. The key id written beside a key must be the key's own: a
 * line pasted from another key, or a typo, is refused by line number.
 */
#include "crypto_int.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* 64 keys of 62 characters, with room for comments. */
#define KEYRING_FILE_MAX (16 * 1024)

struct crypto_keyring {
	struct crypto_key *keys[CRYPTO_KEYRING_MAX];
	size_t n;
};

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int parse_id(unsigned char id[CRYPTO_KEYID_LEN], const char *s, size_t len)
{
	size_t i;

	if (len != 2 * CRYPTO_KEYID_LEN)
		return CST_EINVALID;
	for (i = 0; i < CRYPTO_KEYID_LEN; i++) {
		int hi = hex_digit(s[2 * i]), lo = hex_digit(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return CST_EINVALID;
		id[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

static int add_key(struct crypto_keyring *kr, const char *text, size_t len,
		   const char *idtext, size_t idlen, const char *what, unsigned line)
{
	unsigned char raw[CRYPTO_KEY_LEN], id[CRYPTO_KEYID_LEN];
	char got[2 * CRYPTO_KEYID_LEN + 1];
	struct crypto_key *k = NULL;
	size_t i;
	int rc;

	if (kr->n == CRYPTO_KEYRING_MAX)
		return cst_error(CST_EINVALID, "%s: more than %d keys", what, CRYPTO_KEYRING_MAX);
	if (idtext != NULL && parse_id(id, idtext, idlen) != 0)
		return cst_error(CST_EINVALID, "%s line %u: a key line is '<key id: 16 lowercase hex> "
				 "<key: 44 characters of base64>'", what, line);
	rc = crypto_b64_decode_key(raw, text, len);
	if (rc != 0) {
		rc = cst_error(CST_EINVALID, "%s line %u does not hold a key (base64 that decodes to "
			       "exactly %d bytes)", what, line, CRYPTO_KEY_LEN);
		goto out;
	}
	if ((rc = crypto_key_from_bytes(&k, raw, sizeof(raw))) != 0)
		goto out;
	cst_hex(got, k->id, CRYPTO_KEYID_LEN);
	if (idtext != NULL && CRYPTO_memcmp(id, k->id, CRYPTO_KEYID_LEN) != 0) {
		rc = cst_error(CST_EINVALID, "%s line %u: the key id %.16s is not its key's (that is %s)",
			       what, line, idtext, got);
		goto out;
	}
	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->keys[i]->id, k->id, CRYPTO_KEYID_LEN) == 0) {
			rc = cst_error(CST_EINVALID, "%s line %u: key %s is there twice", what, line, got);
			goto out;
		}
	kr->keys[kr->n++] = k;
	k = NULL;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	crypto_key_free(k);
	return rc;
}

/* One line: blank, a comment, "<id> <key>", or a bare key (allowed only
 * when it is the file's one key line; checked by the caller). */
static int parse_line(struct crypto_keyring *kr, const char *s, size_t len, const char *what,
		      unsigned line, int *bare)
{
	size_t a = 0, b;

	while (a < len && is_blank(s[a]))
		a++;
	while (len > a && is_blank(s[len - 1]))
		len--;
	if (a == len || s[a] == '#')
		return 0;
	for (b = a; b < len && !is_blank(s[b]); b++)
		;
	if (b == len) {
		*bare = 1;
		return add_key(kr, s + a, len - a, NULL, 0, what, line);
	}
	return add_key(kr, s + b, len - b, s + a, b - a, what, line);
}

int crypto_keyring_parse(struct crypto_keyring **out, const char *text, size_t len,
			 const char *what)
{
	struct crypto_keyring *kr;
	unsigned line = 0;
	size_t i = 0;
	int bare = 0, rc = 0;

	*out = NULL;
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return CST_ENOMEM;
	while (i < len && rc == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;

		line++;
		if (memchr(text + i, '\0', end - i) != NULL)
			rc = cst_error(CST_EINVALID, "%s line %u holds a NUL byte", what, line);
		else
			rc = parse_line(kr, text + i, end - i, what, line, &bare);
		i = end + 1;
	}
	if (rc == 0 && kr->n == 0)
		rc = cst_error(CST_EINVALID, "%s holds no key (a key line is '<key id> <base64 key>'; "
			       "make one with cassette keygen)", what);
	if (rc == 0 && bare && kr->n > 1)
		rc = cst_error(CST_EINVALID, "%s: in a keyring of several keys each line is "
			       "'<key id> <base64 key>'", what);
	if (rc != 0) {
		crypto_keyring_free(kr);
		return rc;
	}
	*out = kr;
	return 0;
}

int crypto_keyring_load_file(struct crypto_keyring **out, const char *path)
{
	char *text, *what;
	size_t len = 0;
	int rc;

	*out = NULL;
	if ((text = malloc(KEYRING_FILE_MAX + 1)) == NULL)
		return CST_ENOMEM;
	if ((what = cst_sprintf("key file %s", path)) == NULL) {
		free(text);
		return CST_ENOMEM;
	}
	if ((rc = crypto_read_secret_file(text, KEYRING_FILE_MAX + 1, &len, path, "key file")) == 0)
		rc = crypto_keyring_parse(out, text, len, what);
	OPENSSL_cleanse(text, KEYRING_FILE_MAX + 1);
	free(text);
	free(what);
	return rc;
}

int crypto_keyring_from_key(struct crypto_keyring **out, struct crypto_key *key)
{
	*out = NULL;
	if ((*out = calloc(1, sizeof(**out))) == NULL) {
		crypto_key_free(key);
		return CST_ENOMEM;
	}
	(*out)->keys[0] = key;
	(*out)->n = 1;
	return 0;
}

size_t crypto_keyring_count(const struct crypto_keyring *kr)
{
	return kr->n;
}

const struct crypto_key *crypto_keyring_key(const struct crypto_keyring *kr, size_t i)
{
	return i < kr->n ? kr->keys[i] : NULL;
}

const struct crypto_key *crypto_keyring_newest(const struct crypto_keyring *kr)
{
	return kr->keys[kr->n - 1];
}

const struct crypto_key *crypto_keyring_find(const struct crypto_keyring *kr,
					     const unsigned char id[CRYPTO_KEYID_LEN])
{
	size_t i;

	for (i = 0; i < kr->n; i++)
		if (memcmp(kr->keys[i]->id, id, CRYPTO_KEYID_LEN) == 0)
			return kr->keys[i];
	return NULL;
}

void crypto_keyring_free(struct crypto_keyring *kr)
{
	size_t i;

	if (kr == NULL)
		return;
	for (i = 0; i < kr->n; i++)
		crypto_key_free(kr->keys[i]);
	free(kr);
}

int crypto_keyring_line_new(char out[CRYPTO_KEYRING_LINE_LEN + 1])
{
	char b64[CRYPTO_KEY_B64_LEN + 1];
	unsigned char raw[CRYPTO_KEY_LEN];
	struct crypto_key *k = NULL;
	int rc;

	if ((rc = crypto_keygen_b64(b64)) != 0)
		goto out;
	if ((rc = crypto_b64_decode_key(raw, b64, CRYPTO_KEY_B64_LEN)) != 0 ||
	    (rc = crypto_key_from_bytes(&k, raw, sizeof(raw))) != 0)
		goto out;
	cst_hex(out, k->id, CRYPTO_KEYID_LEN);
	out[2 * CRYPTO_KEYID_LEN] = ' ';
	memcpy(out + 2 * CRYPTO_KEYID_LEN + 1, b64, CRYPTO_KEY_B64_LEN + 1);
out:
	OPENSSL_cleanse(b64, sizeof(b64));
	OPENSSL_cleanse(raw, sizeof(raw));
	crypto_key_free(k);
	return rc;
}
