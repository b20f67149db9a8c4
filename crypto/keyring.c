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
 * Public-key mode adds two kinds of lines:
 *
 *   x25519-private <base64 of 32 bytes>          a recipient's private key
 *   ed25519-public <fqdn> <base64 of 32 bytes>   a node's pinned signing key
 */
#define _GNU_SOURCE
#include "crypto_int.h"
#include "util.h"

#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/* 64 keys of 62 characters, with room for comments. */
#define KEYRING_FILE_MAX (16 * 1024)

struct recipient {
	struct crypto_key *priv;
	unsigned char id[CRYPTO_KEYID_LEN];
};

struct pin {
	char *fqdn;
	unsigned char pub[CRYPTO_PK_LEN];
};

struct crypto_keyring {
	struct crypto_key *keys[CRYPTO_KEYRING_MAX];
	size_t n;
	struct recipient rec[CRYPTO_KEYRING_MAX];
	size_t n_rec;
	struct pin *pins;
	size_t n_pins, cap_pins;
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

static int add_recipient(struct crypto_keyring *kr, const char *b64, size_t len, const char *what,
			 unsigned line)
{
	unsigned char raw[CRYPTO_KEY_LEN], pub[CRYPTO_PK_LEN];
	struct crypto_key *k = NULL;
	size_t i;
	int rc;

	if (kr->n_rec == CRYPTO_KEYRING_MAX)
		return cst_error(CST_EINVALID, "%s: more than %d recipient keys", what, CRYPTO_KEYRING_MAX);
	if ((rc = crypto_b64_decode_key(raw, b64, len)) != 0) {
		rc = cst_error(CST_EINVALID, "%s line %u does not hold a key (base64 that decodes to "
			       "exactly %d bytes)", what, line, CRYPTO_KEY_LEN);
		goto out;
	}
	if ((rc = crypto_key_from_bytes(&k, raw, sizeof(raw))) != 0 ||
	    (rc = crypto_x25519_public(pub, k)) != 0 || (rc = crypto_recipient_id(kr->rec[kr->n_rec].id, pub)) != 0)
		goto out;
	for (i = 0; i < kr->n_rec; i++)
		if (memcmp(kr->rec[i].id, kr->rec[kr->n_rec].id, CRYPTO_KEYID_LEN) == 0) {
			rc = cst_error(CST_EINVALID, "%s line %u: that recipient key is there twice", what,
				       line);
			goto out;
		}
	kr->rec[kr->n_rec++].priv = k;
	k = NULL;
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	crypto_key_free(k);
	return rc;
}

static int add_pin(struct crypto_keyring *kr, const char *fqdn, size_t flen, const char *b64,
		   size_t len, const char *what, unsigned line)
{
	unsigned char raw[CRYPTO_KEY_LEN];
	struct pin *v;
	size_t i;

	if (flen == 0 || flen > 253)
		return cst_error(CST_EINVALID, "%s line %u: 'ed25519-public <node name> <base64 key>'",
				 what, line);
	if (crypto_b64_decode_key(raw, b64, len) != 0)
		return cst_error(CST_EINVALID, "%s line %u does not hold a public key (base64 of %d "
				 "bytes)", what, line, CRYPTO_PK_LEN);
	for (i = 0; i < kr->n_pins; i++)
		if (strlen(kr->pins[i].fqdn) == flen && memcmp(kr->pins[i].fqdn, fqdn, flen) == 0)
			return cst_error(CST_EINVALID, "%s line %u: node %.*s is pinned twice", what, line,
					 (int)flen, fqdn);
	if ((v = cst_grow(kr->pins, &kr->cap_pins, kr->n_pins, sizeof(*v), 8)) == NULL)
		return CST_ENOMEM;
	kr->pins = v;
	if ((v[kr->n_pins].fqdn = strndup(fqdn, flen)) == NULL)
		return CST_ENOMEM;
	memcpy(v[kr->n_pins++].pub, raw, CRYPTO_PK_LEN);
	return 0;
}

/* The next blank-separated token of s[*i, len): its start and length. */
static size_t token(const char *s, size_t len, size_t *i, const char **tok)
{
	size_t a = *i, b;

	while (a < len && is_blank(s[a]))
		a++;
	for (b = a; b < len && !is_blank(s[b]); b++)
		;
	*tok = s + a;
	*i = b;
	return b - a;
}

#define IS(t, n, word) ((n) == strlen(word) && memcmp((t), (word), (n)) == 0)

/* One line: blank, a comment, "<id> <key>", a bare key (allowed only when
 * it is the file's one key line; checked by the caller), or a typed line. */
static int parse_line(struct crypto_keyring *kr, const char *s, size_t len, const char *what,
		      unsigned line, int *bare)
{
	const char *t[4];
	size_t n[4], i = 0, k;

	for (k = 0; k < 4; k++)
		n[k] = token(s, len, &i, &t[k]);
	if (n[0] == 0 || t[0][0] == '#')
		return 0;
	if (n[3] != 0)
		return cst_error(CST_EINVALID, "%s line %u has too many fields", what, line);
	if (IS(t[0], n[0], "x25519-private") && n[1] != 0 && n[2] == 0)
		return add_recipient(kr, t[1], n[1], what, line);
	if (IS(t[0], n[0], "ed25519-public") && n[2] != 0)
		return add_pin(kr, t[1], n[1], t[2], n[2], what, line);
	if (n[2] != 0)
		return cst_error(CST_EINVALID, "%s line %u is not a key line ('<key id> <key>', "
				 "'x25519-private <key>' or 'ed25519-public <node> <key>')", what, line);
	if (n[1] == 0) {
		*bare = 1;
		return add_key(kr, t[0], n[0], NULL, 0, what, line);
	}
	return add_key(kr, t[1], n[1], t[0], n[0], what, line);
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
	if (rc == 0 && kr->n == 0 && kr->n_rec == 0)
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
	return kr->n > 0 ? kr->keys[kr->n - 1] : NULL;
}

size_t crypto_keyring_recipient_count(const struct crypto_keyring *kr)
{
	return kr->n_rec;
}

const struct crypto_key *crypto_keyring_recipient(const struct crypto_keyring *kr,
						  const unsigned char id[CRYPTO_KEYID_LEN])
{
	size_t i;

	for (i = 0; i < kr->n_rec; i++)
		if (memcmp(kr->rec[i].id, id, CRYPTO_KEYID_LEN) == 0)
			return kr->rec[i].priv;
	return NULL;
}

const unsigned char *crypto_keyring_node_key(const struct crypto_keyring *kr, const char *fqdn)
{
	size_t i;

	for (i = 0; i < kr->n_pins; i++)
		if (strcmp(kr->pins[i].fqdn, fqdn) == 0)
			return kr->pins[i].pub;
	return NULL;
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
	for (i = 0; i < kr->n_rec; i++)
		crypto_key_free(kr->rec[i].priv);
	for (i = 0; i < kr->n_pins; i++)
		free(kr->pins[i].fqdn);
	free(kr->pins);
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

int crypto_keyring_empty(struct crypto_keyring **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : CST_ENOMEM;
}
