/* datakeys: wrapped data keys in storage (datakeys.h). */
#define _GNU_SOURCE
#include "datakeys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "storage.h"
#include "util.h"

#define HEX (2 * CRYPTO_KEYID_LEN)
#define WRAP_B64 ((CRYPTO_WRAP_LEN + 2) / 3 * 4)
#define PKWRAP_B64 ((CRYPTO_PKWRAP_LEN + 2) / 3 * 4)
#define WRAP_OBJECT_MAX 4096

static char *node_dir(const char *prefix, const char *fqdn)
{
	return cst_sprintf("%s%sindex/data_keys/%s/", prefix, prefix[0] ? "/" : "", fqdn);
}

/* wrap: "master_<id>" or "x25519_<id>" */
static char *wrap_key(const char *prefix, const char *fqdn, unsigned gen, const char *dkhex,
		      const char *wrap)
{
	return cst_sprintf("%s%sindex/data_keys/%s/%06u_%s/%s", prefix, prefix[0] ? "/" : "",
			   fqdn, gen, dkhex, wrap);
}

static int is_hexid(const char *s, size_t len)
{
	size_t i;

	if (len != HEX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

struct scan {
	size_t plen;
	struct dk_list *l;
	size_t cap;
};

/* "<gen 6 digits>_<16 hex>/{master,x25519}_<16 hex>" */
static int on_key(void *arg, const char *key, uint64_t size)
{
	struct scan *sc = arg;
	const char *n = key + sc->plen;
	struct dk_entry *e;
	char *end;
	unsigned long gen;

	(void)size;
	if (strlen(n) != 6 + 1 + HEX + 1 + 7 + HEX || n[6] != '_' || n[7 + HEX] != '/' ||
	    (strncmp(n + 8 + HEX, "master_", 7) != 0 && strncmp(n + 8 + HEX, "x25519_", 7) != 0) ||
	    !is_hexid(n + 7, HEX) || !is_hexid(n + 15 + HEX, HEX))
		return 0;
	errno = 0;
	gen = strtoul(n, &end, 10);
	if (errno != 0 || end != n + 6)
		return 0;
	e = sc->l->n > 0 ? &sc->l->v[sc->l->n - 1] : NULL;
	if (e == NULL || e->gen != gen || memcmp(e->idhex, n + 7, HEX) != 0) {
		if ((e = cst_grow(sc->l->v, &sc->cap, sc->l->n, sizeof(*e), 8)) == NULL)
			return CST_ENOMEM;
		sc->l->v = e;
		e = &sc->l->v[sc->l->n++];
		memset(e, 0, sizeof(*e));
		e->gen = (unsigned)gen;
		memcpy(e->idhex, n + 7, HEX);
		(void)cst_unhex(e->id, CRYPTO_KEYID_LEN, e->idhex);
	}
	if ((e->wraps = realloc(e->wraps, (e->n_wraps + 1) * sizeof(*e->wraps))) == NULL)
		return CST_ENOMEM;
	memcpy(e->wraps[e->n_wraps], n + 8 + HEX, 7 + HEX + 1);
	e->n_wraps++;
	return 0;
}

int datakeys_list(struct dk_list *out, struct storage *st, const char *prefix, const char *fqdn)
{
	struct scan sc = { 0, out, 0 };
	char *dir = node_dir(prefix, fqdn);
	int rc;

	memset(out, 0, sizeof(*out));
	if (dir == NULL)
		return CST_ENOMEM;
	sc.plen = strlen(dir);
	rc = storage_list(st, dir, on_key, &sc);
	free(dir);
	if (rc != 0)
		datakeys_list_free(out);
	return rc;
}

struct nodes_scan {
	size_t plen;
	char **v;
	size_t n, cap;
};

static int on_node(void *arg, const char *key, uint64_t size)
{
	struct nodes_scan *sc = arg;
	const char *n = key + sc->plen, *slash = strchr(n, '/');
	size_t len;

	(void)size;
	if (slash == NULL)
		return 0;
	len = (size_t)(slash - n);
	if (sc->n > 0 && strlen(sc->v[sc->n - 1]) == len && memcmp(sc->v[sc->n - 1], n, len) == 0)
		return 0;
	char **v = cst_grow(sc->v, &sc->cap, sc->n + 1, sizeof(*sc->v), 8);

	if (v == NULL)
		return CST_ENOMEM;
	sc->v = v;
	if ((sc->v[sc->n] = strndup(n, len)) == NULL)
		return CST_ENOMEM;
	sc->v[++sc->n] = NULL;
	return 0;
}

int datakeys_nodes(char ***out, struct storage *st, const char *prefix)
{
	struct nodes_scan sc = { 0, NULL, 0, 0 };
	char *dir = cst_sprintf("%s%sindex/data_keys/", prefix, prefix[0] ? "/" : "");
	size_t i;
	int rc;

	*out = NULL;
	if (dir == NULL)
		return CST_ENOMEM;
	sc.plen = strlen(dir);
	if ((sc.v = calloc(1, sizeof(*sc.v))) == NULL)
		rc = CST_ENOMEM;
	else
		rc = storage_list(st, dir, on_node, &sc);
	free(dir);
	if (rc != 0) {
		for (i = 0; sc.v && i < sc.n; i++)
			free(sc.v[i]);
		free(sc.v);
		return rc;
	}
	*out = sc.v;
	return 0;
}

void datakeys_list_free(struct dk_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].wraps);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

const struct dk_entry *datakeys_find(const struct dk_list *l, const unsigned char id[CRYPTO_KEYID_LEN])
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (memcmp(l->v[i].id, id, CRYPTO_KEYID_LEN) == 0)
			return &l->v[i];
	return NULL;
}

int datakeys_has_wrap(const struct dk_entry *e, const char *kind, const char *hex)
{
	size_t i;

	for (i = 0; i < e->n_wraps; i++)
		if (strncmp(e->wraps[i], kind, 6) == 0 && strcmp(e->wraps[i] + 7, hex) == 0)
			return (int)i;
	return -1;
}

/* Parse a wrap object (x: an X25519 one); checks that it names what its
 * key says. out gets CRYPTO_WRAP_LEN or CRYPTO_PKWRAP_LEN bytes. */
static int parse_wrap(unsigned char *out, int x, const char *text, size_t len, const char *key,
		      const char *fqdn, const struct dk_entry *e, const char *mhex)
{
	unsigned char buf[PKWRAP_B64];
	const char *f = NULL, *d = NULL, *m = NULL, *w = NULL;
	const char *idname = x ? "recipient_id" : "master_key_id";
	size_t want = x ? CRYPTO_PKWRAP_LEN : CRYPTO_WRAP_LEN, b64len = x ? PKWRAP_B64 : WRAP_B64;
	json_error_t jerr;
	json_t *j = json_loadb(text, len, 0, &jerr);
	int version = 0, rc = 0, n;

	if (j == NULL || json_unpack(j, "{s:i, s:s, s:s, s:s, s:s}", "version", &version, "fqdn", &f,
				     "data_key_id", &d, idname, &m, "wrapped", &w) != 0)
		rc = cst_error(CST_EINTEGRITY, "%s: not a wrapped data key", key);
	else if (version != 1)
		rc = cst_error(CST_EUNSUPPORTED, "%s: wrapped key version %d is not supported", key,
			       version);
	else if (strcmp(f, fqdn) != 0 || strcmp(d, e->idhex) != 0 || strcmp(m, mhex) != 0)
		rc = cst_error(CST_EINTEGRITY, "%s: names another node or key than its place", key);
	else if (strlen(w) != b64len ||
		 (n = EVP_DecodeBlock(buf, (const unsigned char *)w, (int)b64len)) < (int)want)
		rc = cst_error(CST_EINTEGRITY, "%s: the wrapped key is not %zu bytes of base64", key,
			       want);
	else
		memcpy(out, buf, want);
	json_decref(j);
	return rc;
}

/* x: `master` is a recipient's private key and hex its recipient id */
static int unwrap_one(struct crypto_key **out, struct storage *st, const char *prefix,
		      const char *fqdn, const struct dk_entry *e, const struct crypto_key *master,
		      int x, const char *hex)
{
	unsigned char wrapped[CRYPTO_PKWRAP_LEN];
	char name[8 + HEX], *key, *text = NULL;
	size_t len = 0;
	int rc;

	snprintf(name, sizeof(name), "%s_%s", x ? "x25519" : "master", hex);
	if ((key = wrap_key(prefix, fqdn, e->gen, e->idhex, name)) == NULL)
		return CST_ENOMEM;
	if ((rc = storage_get_buf(st, key, &text, &len, WRAP_OBJECT_MAX)) == 0 &&
	    (rc = parse_wrap(wrapped, x, text, len, key, fqdn, e, hex)) == 0 &&
	    (rc = x ? crypto_unwrap_as_recipient(out, master, wrapped, fqdn, e->id) :
		      crypto_unwrap_key(out, master, wrapped, fqdn, e->id)) != 0)
		rc = cst_error(rc, "%s: %s", key, cst_error_msg());
	free(text);
	free(key);
	return rc;
}

int datakeys_unwrap(struct crypto_key **out, const struct crypto_key **by, struct storage *st,
		    const char *prefix, const char *fqdn, const struct dk_entry *e,
		    const struct crypto_keyring *ring, const char *ring_path)
{
	char mhex[HEX + 1], have[CRYPTO_KEYRING_MAX * (HEX + 2)] = "", *wraps = NULL;
	size_t i, n = crypto_keyring_count(ring);
	int rc;

	*out = NULL;
	for (i = n; i-- > 0;) {
		const struct crypto_key *m = crypto_keyring_key(ring, i);

		cst_hex(mhex, crypto_key_id(m), CRYPTO_KEYID_LEN);
		if (datakeys_has_wrap(e, "master", mhex) < 0)
			continue;
		if ((rc = unwrap_one(out, st, prefix, fqdn, e, m, 0, mhex)) == 0 && by != NULL)
			*by = m;
		return rc;
	}
	for (i = 0; i < e->n_wraps; i++) {
		unsigned char rid[CRYPTO_KEYID_LEN];
		const struct crypto_key *r;

		if (strncmp(e->wraps[i], "x25519_", 7) != 0 ||
		    cst_unhex(rid, sizeof(rid), e->wraps[i] + 7) != 0 ||
		    (r = crypto_keyring_recipient(ring, rid)) == NULL)
			continue;
		if ((rc = unwrap_one(out, st, prefix, fqdn, e, r, 1, e->wraps[i] + 7)) == 0 && by != NULL)
			*by = r;
		return rc;
	}
	for (i = 0; i < n; i++) {
		cst_hex(mhex, crypto_key_id(crypto_keyring_key(ring, i)), CRYPTO_KEYID_LEN);
		strcat(strcat(have, i ? ", " : ""), mhex);
	}
	for (i = 0; i < e->n_wraps; i++) {
		char *more = cst_sprintf("%s%s%s", wraps ? wraps : "", i ? ", " : "", e->wraps[i]);

		free(wraps);
		if ((wraps = more) == NULL)
			return CST_ENOMEM;
	}
	rc = cst_error(CST_EAUTH, "wrong key: data key %s of node %s is wrapped under %s only; key "
		       "file %s holds %s%s", e->idhex, fqdn, wraps ? wraps : "(none)", ring_path,
		       have[0] ? have : "no master key",
		       crypto_keyring_recipient_count(ring) ? " and recipient keys of other ids" : "");
	free(wraps);
	return rc;
}

/* Store a wrap object: kind "master" (idname "master_key_id") or "x25519"
 * ("recipient_id"), create-only. */
static int put_wrap(struct storage *st, const char *prefix, const char *fqdn, unsigned gen,
		    const struct crypto_key *dk, const char *kind, const char *idname,
		    const unsigned char *wid, const unsigned char *wrapped, size_t len)
{
	char b64[PKWRAP_B64 + 1], dhex[HEX + 1], whex[HEX + 1], name[8 + HEX], *key = NULL, *text = NULL;
	json_t *j = NULL;
	int rc;

	cst_hex(dhex, crypto_key_id(dk), CRYPTO_KEYID_LEN);
	cst_hex(whex, wid, CRYPTO_KEYID_LEN);
	EVP_EncodeBlock((unsigned char *)b64, wrapped, (int)len);
	snprintf(name, sizeof(name), "%s_%s", kind, whex);
	if ((key = wrap_key(prefix, fqdn, gen, dhex, name)) == NULL ||
	    (j = json_pack("{s:i, s:s, s:s, s:s, s:s}", "version", 1, "fqdn", fqdn, "data_key_id",
			   dhex, idname, whex, "wrapped", b64)) == NULL ||
	    (text = json_dumps(j, JSON_INDENT(1))) == NULL)
		rc = CST_ENOMEM;
	else
		rc = storage_put_buf(st, key, text, strlen(text), STORAGE_PUT_NO_OVERWRITE);
	json_decref(j);
	free(text);
	free(key);
	return rc;
}

int datakeys_put(struct storage *st, const char *prefix, const char *fqdn, unsigned gen,
		 const struct crypto_key *dk, const struct crypto_key *master)
{
	unsigned char wrapped[CRYPTO_WRAP_LEN];
	int rc;

	if ((rc = crypto_wrap_key(wrapped, master, dk, fqdn)) != 0)
		return rc;
	return put_wrap(st, prefix, fqdn, gen, dk, "master", "master_key_id", crypto_key_id(master),
			wrapped, sizeof(wrapped));
}

int datakeys_put_recipient(struct storage *st, const char *prefix, const char *fqdn, unsigned gen,
			   const struct crypto_key *dk, const unsigned char rpub[CRYPTO_PK_LEN])
{
	unsigned char wrapped[CRYPTO_PKWRAP_LEN], rid[CRYPTO_KEYID_LEN];
	int rc;

	if ((rc = crypto_recipient_id(rid, rpub)) != 0 ||
	    (rc = crypto_wrap_to_recipient(wrapped, rpub, dk, fqdn)) != 0)
		return rc;
	return put_wrap(st, prefix, fqdn, gen, dk, "x25519", "recipient_id", rid, wrapped,
			sizeof(wrapped));
}

int datakeys_delete_wrap(struct storage *st, const char *prefix, const char *fqdn,
			 const struct dk_entry *e, const char *wrap)
{
	char *key = wrap_key(prefix, fqdn, e->gen, e->idhex, wrap);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_delete(st, key);
	free(key);
	return rc;
}
