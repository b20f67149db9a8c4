/* meta_auth: a backup's meta/auth.json, written and verified (meta_auth.h). */
#define _GNU_SOURCE
#include "meta_auth.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "storage.h"
#include "util.h"

#define AUTH_VERSION 1
#define AUTH_ALG "HMAC-SHA256"
#define AUTH_SIG "Ed25519"
#define AUTH_MAX (64u << 10)	/* a few hundred bytes in practice */
#define MAX_OBJECTS 32

struct meta_auth {
	char *key;		/* its storage key, for messages */
	char *fqdn, *backup;
	size_t n;
	struct crypto_meta_object objs[MAX_OBJECTS];
	char names[MAX_OBJECTS][64];
};

int meta_auth_one_key(struct meta_auth_key *out, void *arg, const char *alg, const char *key_id,
		      const char *fqdn)
{
	const struct crypto_key *k = arg;
	char have[2 * CRYPTO_KEYID_LEN + 1];

	(void)fqdn;
	out->mac_key = NULL;
	if (strcmp(alg, AUTH_ALG) != 0)
		return cst_error(CST_EAUTH, "signed by the node (%s), not MACed under this run's key",
				 alg);
	cst_hex(have, crypto_key_id(k), CRYPTO_KEYID_LEN);
	if (strcmp(have, key_id) != 0)
		return cst_error(CST_EAUTH, "wrong key: made with key id %s, the configured key has id %s",
				 key_id, have);
	out->mac_key = k;
	return 0;
}

/* ---- writing -------------------------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct crypto_meta_object *)a)->name,
		      ((const struct crypto_meta_object *)b)->name);
}

/* The document: alg, key id, and the MAC or signature (`tag`, hex). */
static int auth_doc(char **out, const char *alg, const char *key_id, const char *tagname,
		    const unsigned char *tag, size_t taglen, const char *fqdn, const char *backup,
		    const struct crypto_meta_object *objs, size_t n)
{
	struct crypto_meta_object sorted[MAX_OBJECTS];
	char hex[2 * CRYPTO_SIG_LEN + 1];
	json_t *doc = NULL, *o = NULL;
	size_t i;

	memcpy(sorted, objs, n * sizeof(*objs));
	qsort(sorted, n, sizeof(*sorted), by_name);
	if ((o = json_object()) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		cst_hex(hex, sorted[i].sha256, CRYPTO_SHA256_LEN);
		if (json_object_set_new(o, sorted[i].name, json_string(hex)) != 0)
			goto nomem;
	}
	cst_hex(hex, tag, taglen);
	doc = json_pack("{s:i,s:s,s:s,s:s,s:s,s:O,s:s}", "version", AUTH_VERSION, "fqdn", fqdn,
			"backup", backup, "alg", alg, "key_id", key_id, "objects", o, tagname, hex);
	if (doc == NULL || (*out = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto nomem;
	json_decref(doc);
	json_decref(o);
	return 0;
nomem:
	json_decref(doc);
	json_decref(o);
	return cst_error(CST_ENOMEM, "out of memory building auth.json");
}

int meta_auth_json(char **out, const struct crypto_key *key, const char *fqdn, const char *backup,
		   const struct crypto_meta_object *objs, size_t n)
{
	unsigned char mac[CRYPTO_META_MAC_LEN];
	char key_id[2 * CRYPTO_KEYID_LEN + 1];
	int rc;

	*out = NULL;
	if (n > MAX_OBJECTS)
		return cst_error(CST_EINVALID, "auth.json: %zu meta objects", n);
	if ((rc = crypto_meta_mac(mac, key, fqdn, backup, objs, n)) != 0)
		return rc;
	cst_hex(key_id, crypto_key_id(key), CRYPTO_KEYID_LEN);
	return auth_doc(out, AUTH_ALG, key_id, "mac", mac, sizeof(mac), fqdn, backup, objs, n);
}

int meta_auth_json_signed(char **out, const struct crypto_key *signing, const char *fqdn,
			  const char *backup, const struct crypto_meta_object *objs, size_t n)
{
	unsigned char sig[CRYPTO_SIG_LEN], pub[CRYPTO_PK_LEN], id[CRYPTO_KEYID_LEN];
	char key_id[2 * CRYPTO_KEYID_LEN + 1];
	int rc;

	*out = NULL;
	if (n > MAX_OBJECTS)
		return cst_error(CST_EINVALID, "auth.json: %zu meta objects", n);
	if ((rc = crypto_ed25519_public(pub, signing)) != 0 ||
	    (rc = crypto_signing_key_id(id, pub)) != 0 ||
	    (rc = crypto_meta_sign(sig, signing, fqdn, backup, objs, n)) != 0)
		return rc;
	cst_hex(key_id, id, CRYPTO_KEYID_LEN);
	return auth_doc(out, AUTH_SIG, key_id, "signature", sig, sizeof(sig), fqdn, backup, objs, n);
}

/* ---- reading ---------------------------------------------------------------------- */

static int bad(const struct meta_auth *a, const char *why)
{
	return cst_error(CST_EINTEGRITY, "%s: authentication failed (%s): the meta of backup %s of "
			 "node %s was changed, or moved from another backup or node, after the backup "
			 "wrote it", a->key, why, a->backup, a->fqdn);
}

static const char *str_field(json_t *doc, const char *name)
{
	json_t *v = json_object_get(doc, name);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Parse and verify the document. */
static int verify_doc(struct meta_auth *a, const char *text, meta_auth_key_fn keys, void *arg)
{
	json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL), *objects, *v;
	struct meta_auth_key key;
	unsigned char tag[CRYPTO_SIG_LEN], id[CRYPTO_KEYID_LEN];
	char have[2 * CRYPTO_KEYID_LEN + 1];
	const char *s, *name, *key_id, *tag_hex, *alg;
	size_t taglen;
	int rc, sig;

	if (!json_is_object(doc)) {
		rc = bad(a, "not a JSON object");
		goto out;
	}
	v = json_object_get(doc, "version");
	if (!json_is_integer(v) || json_integer_value(v) != AUTH_VERSION) {
		rc = cst_error(CST_EUNSUPPORTED, "%s: version is not %d", a->key, AUTH_VERSION);
		goto out;
	}
	if ((alg = str_field(doc, "alg")) == NULL ||
	    (strcmp(alg, AUTH_ALG) != 0 && strcmp(alg, AUTH_SIG) != 0)) {
		rc = cst_error(CST_EUNSUPPORTED, "%s: alg is neither %s nor %s", a->key, AUTH_ALG,
			       AUTH_SIG);
		goto out;
	}
	sig = strcmp(alg, AUTH_SIG) == 0;
	taglen = sig ? CRYPTO_SIG_LEN : CRYPTO_META_MAC_LEN;
	if ((s = str_field(doc, "fqdn")) == NULL || strcmp(s, a->fqdn) != 0 ||
	    (s = str_field(doc, "backup")) == NULL || strcmp(s, a->backup) != 0) {
		rc = bad(a, "it names another backup or node");
		goto out;
	}
	key_id = str_field(doc, "key_id");
	tag_hex = str_field(doc, sig ? "signature" : "mac");
	objects = json_object_get(doc, "objects");
	if (key_id == NULL || strlen(key_id) != 2 * CRYPTO_KEYID_LEN || tag_hex == NULL ||
	    strlen(tag_hex) != 2 * taglen || cst_unhex(tag, taglen, tag_hex) != 0 ||
	    !json_is_object(objects) ||
	    json_object_size(objects) > MAX_OBJECTS) {
		rc = bad(a, "malformed");
		goto out;
	}
	json_object_foreach(objects, name, v) {
		struct crypto_meta_object *o = &a->objs[a->n];

		if (!json_is_string(v) || strlen(name) == 0 || strlen(name) >= sizeof(a->names[0]) ||
		    cst_unhex(o->sha256, CRYPTO_SHA256_LEN, json_string_value(v)) != 0) {
			rc = bad(a, "malformed object entry");
			goto out;
		}
		memcpy(a->names[a->n], name, strlen(name) + 1);
		o->name = a->names[a->n++];
	}
	memset(&key, 0, sizeof(key));
	if ((rc = keys(&key, arg, alg, key_id, a->fqdn)) != 0) {
		rc = cst_error(rc, "%s: %s", a->key, cst_error_msg());
		goto out;
	}
	if (!sig) {
		if ((rc = crypto_meta_mac_verify(key.mac_key, a->fqdn, a->backup, a->objs, a->n, tag)) ==
		    CST_EINTEGRITY)
			rc = bad(a, "MAC does not match");
		goto out;
	}
	if ((rc = crypto_signing_key_id(id, key.pub)) != 0)
		goto out;
	cst_hex(have, id, CRYPTO_KEYID_LEN);
	if (strcmp(have, key_id) != 0) {
		rc = cst_error(CST_EAUTH, "%s: signed by signing key %s, but the key pinned for node %s "
			       "is %s", a->key, key_id, a->fqdn, have);
		goto out;
	}
	if ((rc = crypto_meta_sig_verify(key.pub, a->fqdn, a->backup, a->objs, a->n, tag)) ==
	    CST_EINTEGRITY)
		rc = bad(a, "signature does not verify");
out:
	json_decref(doc);
	return rc;
}

int meta_auth_load(struct meta_auth **out, struct storage *st, const char *prefix,
		   const char *fqdn, const char *backup, meta_auth_key_fn keys, void *arg)
{
	struct meta_auth *a;
	char *text = NULL;
	int rc;

	*out = NULL;
	if ((a = cst_calloc(1, sizeof(*a))) == NULL)
		return CST_ENOMEM;
	if ((a->key = layout_meta_key(prefix, fqdn, backup, META_AUTH_NAME)) == NULL ||
	    (a->fqdn = cst_strdup(fqdn)) == NULL || (a->backup = cst_strdup(backup)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_get_buf(st, a->key, &text, NULL, AUTH_MAX)) == CST_EINVALID)
		rc = bad(a, "too large");
	if (rc != 0 || (rc = verify_doc(a, text, keys, arg)) != 0)
		goto out;
	*out = a;
	a = NULL;
out:
	free(text);
	meta_auth_free(a);
	return rc;
}

int meta_auth_require(struct meta_auth **out, struct storage *st, const char *prefix,
		      const char *fqdn, const char *backup, meta_auth_key_fn keys, void *arg,
		      int allow_unauthenticated)
{
	char *key;
	int rc;

	*out = NULL;
	if (keys == NULL)
		return 0;
	if ((rc = meta_auth_load(out, st, prefix, fqdn, backup, keys, arg)) != CST_ENOTFOUND)
		return rc;
	cst_error_clear();
	if ((key = layout_meta_key(prefix, fqdn, backup, META_AUTH_NAME)) == NULL)
		return CST_ENOMEM;
	if (allow_unauthenticated) {
		fprintf(stderr, "cassette: warning: backup %s of node %s is not authenticated (no %s): "
			"its manifest and tokenmap are trusted as stored (--allow-unauthenticated)\n",
			backup, fqdn, key);
		rc = 0;
	} else {
		rc = cst_error(CST_EINTEGRITY, "%s: not found: backup %s of node %s is not authenticated "
			       "(written by another tool, by cassette before it authenticated its meta, or "
			       "its auth.json was deleted); --allow-unauthenticated trusts its manifest as "
			       "stored", key, backup, fqdn);
	}
	free(key);
	return rc;
}

static const char *what_noun(const char *name)
{
	if (strcmp(name, "manifest.json") == 0)
		return "the manifest";
	if (strcmp(name, "tokenmap.json") == 0)
		return "the tokenmap";
	return "it";
}

int meta_auth_check(const struct meta_auth *a, const char *name, const unsigned char *sha256,
		    const char *what)
{
	size_t i;

	if (a == NULL)
		return 0;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->objs[i].name, name) == 0)
			break;
	if (i == a->n)
		return cst_error(CST_EINTEGRITY, "%s: authentication failed (%s lists no %s): %s was "
				 "not written by the backup", what, a->key, name, what_noun(name));
	/* digests are public: no need for a constant-time compare */
	if (memcmp(a->objs[i].sha256, sha256, CRYPTO_SHA256_LEN) != 0)
		return cst_error(CST_EINTEGRITY, "%s: authentication failed (its SHA-256 is not the one "
				 "%s records): %s was changed after the backup wrote it", what, a->key,
				 what_noun(name));
	return 0;
}

int meta_auth_check_buf(const struct meta_auth *a, const char *name, const void *buf, size_t len,
			const char *what)
{
	unsigned char sha[CRYPTO_SHA256_LEN];
	int rc;

	if (a == NULL)
		return 0;
	if ((rc = crypto_sha256(sha, buf, len)) != 0)
		return rc;
	return meta_auth_check(a, name, sha, what);
}

void meta_auth_free(struct meta_auth *a)
{
	if (a == NULL)
		return;
	free(a->key);
	free(a->fqdn);
	free(a->backup);
	free(a);
}

/* ---- hashing what passes ------------------------------------------------------------ */

int meta_tee_init(struct meta_tee *t, int (*next)(void *, const unsigned char *, size_t), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->next = next;
	t->arg = arg;
	return crypto_sha256_new(&t->h);
}

int meta_tee_sink(void *arg, const unsigned char *buf, size_t len)
{
	struct meta_tee *t = arg;
	int rc;

	if ((rc = crypto_sha256_update(t->h, buf, len)) != 0)
		return rc;
	if (t->rc != 0 || t->next == NULL)
		return 0;
	if ((rc = t->next(t->arg, buf, len)) != 0) {
		t->rc = rc;
		t->msg = cst_strdup(cst_error_msg());
		cst_error_clear();
		if (rc == CST_ENOMEM)	/* no point reading on */
			return rc;
	}
	return 0;
}

int meta_tee_digest(struct meta_tee *t, unsigned char sha256[CRYPTO_SHA256_LEN])
{
	return crypto_sha256_final(t->h, sha256);
}

int meta_tee_rethrow(const struct meta_tee *t)
{
	if (t->rc == 0)
		return 0;
	return cst_error(t->rc, "%s", t->msg ? t->msg : "out of memory");
}

void meta_tee_free(struct meta_tee *t)
{
	crypto_sha256_free(t->h);
	free(t->msg);
	t->h = NULL;
	t->msg = NULL;
}
