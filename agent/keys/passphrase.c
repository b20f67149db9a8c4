/*
 * keys/passphrase: the passphrase file, the store's key-parameters object,
 * and the master key scrypt derives from the two.
 */
#define _GNU_SOURCE
#include "passphrase.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "layout.h"
#include "storage.h"
#include "util.h"

/* A key-parameters object is one short line; anything larger is not one. */
#define KEY_PARAMS_MAX 4096

static const char *access_word(mode_t mode)
{
	if (mode & 044)
		return "readable";
	if (mode & 022)
		return "writable";
	return "executable";
}

/* Up to cap bytes of fd into buf; stops at the first newline or EOF. */
static int read_first_line(unsigned char *buf, size_t cap, size_t *n, int fd, const char *path)
{
	ssize_t got;

	*n = 0;
	while (*n < cap && memchr(buf, '\n', *n) == NULL) {
		got = read(fd, buf + *n, cap - *n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return cst_error_errno("cannot read passphrase file %s", path);
		if (got == 0)
			break;
		*n += (size_t)got;
	}
	return 0;
}

int passphrase_read_file(unsigned char *buf, size_t *len, const char *path)
{
	/* room for a longest line and its "\r\n" */
	unsigned char text[PASSPHRASE_MAX + 2];
	const unsigned char *nl;
	struct stat st;
	size_t n = 0, l = 0;
	int fd = -1, rc;

	*len = 0;
	/* O_NONBLOCK: a FIFO must not hang us before the regular-file check. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
		rc = cst_error_errno("cannot open passphrase file %s", path);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = cst_error_errno("cannot stat passphrase file %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cst_error(CST_EINVALID, "passphrase file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rc = cst_error(CST_EINVALID,
			       "passphrase file %s is %s by group or others (mode %04o); chmod 600 it",
			       path, access_word(st.st_mode), (unsigned int)(st.st_mode & 07777));
		goto out;
	}
	if ((rc = read_first_line(text, sizeof(text), &n, fd, path)) != 0)
		goto out;
	if ((nl = memchr(text, '\n', n)) != NULL) {
		l = (size_t)(nl - text);
		if (l > 0 && text[l - 1] == '\r')
			l--;
	} else {
		l = n;	/* no newline: the whole file, or a line too long */
	}
	if (l == 0) {
		rc = cst_error(CST_EINVALID, "passphrase file %s is empty (its first line is the "
			       "passphrase)", path);
		goto out;
	}
	if (l > PASSPHRASE_MAX) {
		rc = cst_error(CST_EINVALID, "passphrase file %s: the passphrase (its first line) is "
			       "longer than %d bytes", path, PASSPHRASE_MAX);
		goto out;
	}
	memcpy(buf, text, l);
	*len = l;
	rc = 0;
out:
	cst_wipe(text, sizeof(text));
	if (rc != 0)
		cst_wipe(buf, PASSPHRASE_MAX);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* An integer field from 0 to max (the cost check says what is too low). */
static int get_uint(uint64_t *out, json_t *doc, const char *name, uint64_t max, const char *object)
{
	json_t *v = json_object_get(doc, name);
	json_int_t n;

	if (v == NULL || !json_is_integer(v))
		return cst_error(CST_EINTEGRITY, "key parameters %s: \"%s\" is missing or not an "
				 "integer", object, name);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return cst_error(CST_EINTEGRITY, "key parameters %s: \"%s\" = %lld is out of range",
				 object, name, (long long)n);
	*out = (uint64_t)n;
	return 0;
}

/* A hex string field of exactly len bytes. */
static int get_hex(unsigned char *out, size_t len, json_t *doc, const char *name, const char *object)
{
	json_t *v = json_object_get(doc, name);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (s == NULL || strlen(s) != 2 * len || cst_unhex(out, len, s) != 0)
		return cst_error(CST_EINTEGRITY, "key parameters %s: \"%s\" is not %zu hex digits",
				 object, name, 2 * len);
	return 0;
}

static int check_fields(json_t *doc, const char *object)
{
	static const char *known[] = { "version", "kdf", "N", "r", "p", "salt", "key_id" };
	const char *name;
	json_t *v;
	size_t i;

	json_object_foreach(doc, name, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(name, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0]))
			return cst_error(CST_EINTEGRITY, "key parameters %s: unknown field \"%.64s\"",
					 object, name);
	}
	return 0;
}

int key_params_parse(struct key_params *out, const char *text, size_t len, const char *object)
{
	json_error_t jerr;
	json_t *doc, *v;
	json_int_t version;
	uint64_t r = 0, p = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL || !json_is_object(doc)) {
		rc = cst_error(CST_EINTEGRITY, "key parameters %s: not a JSON object (%s)", object,
			       doc == NULL ? jerr.text : "another JSON value");
		goto out;
	}
	if ((rc = check_fields(doc, object)) != 0)
		goto out;
	v = json_object_get(doc, "version");
	if (!json_is_integer(v)) {
		rc = cst_error(CST_EINTEGRITY, "key parameters %s: \"version\" is missing or not an "
			       "integer", object);
		goto out;
	}
	if ((version = json_integer_value(v)) != 1) {
		rc = cst_error(CST_EUNSUPPORTED, "key parameters %s: version %lld is not supported "
			       "(this cassette reads version 1)", object, (long long)version);
		goto out;
	}
	v = json_object_get(doc, "kdf");
	if (!json_is_string(v)) {
		rc = cst_error(CST_EINTEGRITY, "key parameters %s: \"kdf\" is missing or not a string",
			       object);
		goto out;
	}
	if (strcmp(json_string_value(v), "scrypt") != 0) {
		rc = cst_error(CST_EUNSUPPORTED, "key parameters %s: kdf \"%.32s\" is not supported "
			       "(this cassette knows \"scrypt\")", object, json_string_value(v));
		goto out;
	}
	if ((rc = get_uint(&out->N, doc, "N", UINT64_MAX >> 1, object)) != 0 ||
	    (rc = get_uint(&r, doc, "r", UINT32_MAX, object)) != 0 ||
	    (rc = get_uint(&p, doc, "p", UINT32_MAX, object)) != 0 ||
	    (rc = get_hex(out->salt, sizeof(out->salt), doc, "salt", object)) != 0 ||
	    (rc = get_hex(out->key_id, sizeof(out->key_id), doc, "key_id", object)) != 0)
		goto out;
	out->r = (uint32_t)r;
	out->p = (uint32_t)p;
	if (crypto_scrypt_check_costs(out->N, out->r, out->p) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", cst_error_msg());
		rc = cst_error(CST_EINTEGRITY, "key parameters %s: %s; refused", object, why);
		goto out;
	}
out:
	json_decref(doc);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}

char *key_params_format(const struct key_params *kp)
{
	char salt[2 * KEY_PARAMS_SALT_LEN + 1], id[2 * CRYPTO_KEYID_LEN + 1];

	cst_hex(salt, kp->salt, sizeof(kp->salt));
	cst_hex(id, kp->key_id, sizeof(kp->key_id));
	return cst_sprintf("{\"version\": 1, \"kdf\": \"scrypt\", \"N\": %" PRIu64 ", \"r\": %u, "
			   "\"p\": %u, \"salt\": \"%s\", \"key_id\": \"%s\"}\n", kp->N,
			   (unsigned)kp->r, (unsigned)kp->p, salt, id);
}

/* New parameters for this passphrase, stored create-only: 0 (and the key
 * in *out), CST_EEXISTS when another writer was first, or an error. */
static int create_params(struct crypto_key **out, struct storage *st, const char *object,
			 const unsigned char *pass, size_t passlen)
{
	struct key_params kp;
	char *text = NULL, id[2 * CRYPTO_KEYID_LEN + 1];
	int rc;

	memset(&kp, 0, sizeof(kp));
	kp.N = KEY_PARAMS_DEFAULT_N;
	kp.r = KEY_PARAMS_DEFAULT_R;
	kp.p = KEY_PARAMS_DEFAULT_P;
	if ((rc = crypto_random_bytes(kp.salt, sizeof(kp.salt))) != 0 ||
	    (rc = crypto_key_from_passphrase(out, pass, passlen, kp.salt, sizeof(kp.salt), kp.N, kp.r,
					     kp.p)) != 0)
		goto out;
	memcpy(kp.key_id, crypto_key_id(*out), CRYPTO_KEYID_LEN);
	if ((text = key_params_format(&kp)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_put_buf(st, object, text, strlen(text), STORAGE_PUT_NO_OVERWRITE)) != 0)
		goto out;
	cst_hex(id, kp.key_id, sizeof(kp.key_id));
	fprintf(stderr, "cassette: created the store's key parameters %s (scrypt N=%" PRIu64
		", r=%u, p=%u; key id %s)\n", object, kp.N, (unsigned)kp.r, (unsigned)kp.p, id);
out:
	free(text);
	if (rc != 0) {
		crypto_key_free(*out);
		*out = NULL;
	}
	return rc;
}

/* The key from stored parameters, checked against their key id. */
static int derive_checked(struct crypto_key **out, const char *text, size_t len, const char *object,
			  const unsigned char *pass, size_t passlen, const char *path)
{
	struct key_params kp;
	char got[2 * CRYPTO_KEYID_LEN + 1], want[2 * CRYPTO_KEYID_LEN + 1];
	int rc;

	if ((rc = key_params_parse(&kp, text, len, object)) != 0 ||
	    (rc = crypto_key_from_passphrase(out, pass, passlen, kp.salt, sizeof(kp.salt), kp.N, kp.r,
					     kp.p)) != 0)
		return rc;
	if (memcmp(crypto_key_id(*out), kp.key_id, CRYPTO_KEYID_LEN) != 0) {
		cst_hex(got, crypto_key_id(*out), CRYPTO_KEYID_LEN);
		cst_hex(want, kp.key_id, CRYPTO_KEYID_LEN);
		crypto_key_free(*out);
		*out = NULL;
		return cst_error(CST_EAUTH, "wrong key: the passphrase in %s gives key id %s, but the "
				 "store's key parameters (%s) belong to key id %s", path, got, object,
				 want);
	}
	return 0;
}

int passphrase_master_key(struct crypto_key **out, const struct config *cfg, struct storage *st,
			  int may_create)
{
	const char *path = config_passphrase_file(cfg);
	unsigned char pass[PASSPHRASE_MAX];
	char *object = NULL, *text = NULL;
	size_t passlen = 0, len = 0;
	int attempt, rc;

	*out = NULL;
	if (path == NULL)
		return cst_error(CST_EINVALID, "no passphrase file configured");
	if ((rc = passphrase_read_file(pass, &passlen, path)) != 0) {
		/* missing or unreadable too: the node's setup, as for key files */
		char why[512];

		snprintf(why, sizeof(why), "%s", cst_error_msg());
		return cst_error(CST_EINVALID, "%s", why);
	}
	if ((object = layout_key_params_key(cfg->prefix)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (attempt = 0; attempt < 2; attempt++) {
		rc = storage_get_buf(st, object, &text, &len, KEY_PARAMS_MAX);
		if (rc == 0) {
			rc = derive_checked(out, text, len, object, pass, passlen, path);
			goto out;
		}
		if (rc == CST_EINVALID) {
			rc = cst_error(CST_EINTEGRITY, "key parameters %s: larger than %d bytes, not "
				       "key parameters", object, KEY_PARAMS_MAX);
			goto out;
		}
		if (rc != CST_ENOTFOUND)
			goto out;
		if (!may_create) {
			rc = cst_error(CST_ENOTFOUND, "no key parameters in the store (%s): a passphrase "
				       "key needs them, and the first backup-node with a passphrase "
				       "writes them; is this the right store and prefix?", object);
			goto out;
		}
		/* CST_EEXISTS: another node was first; read and use its own */
		if ((rc = create_params(out, st, object, pass, passlen)) != CST_EEXISTS)
			goto out;
	}
	rc = cst_error(CST_ERROR, "key parameters %s: created by another node and then gone", object);
out:
	cst_wipe(pass, sizeof(pass));
	free(text);
	free(object);
	return rc;
}
