/* keys: master keys from the keyring, data keys from storage (keys.h). */
#define _GNU_SOURCE
#include "keys.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "datakeys.h"
#include "meta_auth.h"
#include "storage.h"
#include "util.h"

struct resolved {
	unsigned char id[CRYPTO_KEYID_LEN];
	struct crypto_key *key;
	int via_recipient;	/* unwrapped with a recipient key: anyone can wrap one */
};

/* Public-key mode, on a node that backs up (keys.h). */
struct writer {
	unsigned char rpub[CRYPTO_PK_LEN];
	char ridhex[2 * CRYPTO_KEYID_LEN + 1];
	struct crypto_key *signing;
	unsigned char spub[CRYPTO_PK_LEN];
};

struct keyset {
	struct crypto_keyring *ring;
	char *ring_path;
	struct storage *st;		/* borrowed; NULL: masters only */
	char *prefix, *fqdn;
	struct dk_list list;
	int listed;
	struct resolved *v;
	size_t n, cap;
	const struct crypto_key *current;
	struct writer *pk;	/* NULL: not in public-key mode */
	pthread_mutex_t lock;	/* over list, listed, v, n: fetch threads resolve */
};

int keys_open_ring(struct keyset **out, struct crypto_keyring *ring, const char *ring_path,
		   const struct config *cfg, struct storage *st, const char *fqdn)
{
	struct keyset *ks;

	*out = NULL;
	if ((ks = cst_calloc(1, sizeof(*ks))) == NULL) {
		crypto_keyring_free(ring);
		return CST_ENOMEM;
	}
	ks->ring = ring;
	ks->st = st;
	pthread_mutex_init(&ks->lock, NULL);
	if ((ks->ring_path = cst_strdup(ring_path)) == NULL ||
	    (ks->prefix = cst_strdup(cfg->prefix ? cfg->prefix : "")) == NULL ||
	    (ks->fqdn = cst_strdup(fqdn)) == NULL) {
		keys_free(ks);
		return CST_ENOMEM;
	}
	*out = ks;
	return 0;
}

/* A writer's recipient and signing key ([storage] recipient_public_key_file,
 * node_signing_key_file). */
static int open_writer(struct keyset *ks, const struct config *cfg)
{
	unsigned char rid[CRYPTO_KEYID_LEN];
	struct writer *w;
	int rc;

	if ((w = ks->pk = cst_calloc(1, sizeof(*w))) == NULL)
		return CST_ENOMEM;
	if (cfg->node_signing_key_file == NULL || cfg->node_signing_key_file[0] == '\0') {
		cst_error(CST_EINVALID, "%s: [storage] recipient_public_key_file needs "
			  "node_signing_key_file too: the node signs its backups' meta (make one with "
			  "cassette keygen --node-signing)", cfg->path);
		return CMD_USAGE;
	}
	if (crypto_public_key_load(w->rpub, cfg->recipient_public_key_file, "x25519-public") != 0 ||
	    crypto_typed_key_load(&w->signing, cfg->node_signing_key_file, "ed25519-private") != 0)
		return CMD_USAGE;
	if ((rc = crypto_recipient_id(rid, w->rpub)) != 0 ||
	    (rc = crypto_ed25519_public(w->spub, w->signing)) != 0)
		return rc;
	cst_hex(w->ridhex, rid, CRYPTO_KEYID_LEN);
	return 0;
}

int keys_open(struct keyset **out, const struct config *cfg, struct storage *st, const char *fqdn,
	      int may_create)
{
	struct crypto_keyring *ring = NULL;
	const char *source = NULL;
	int writer = may_create && cfg->recipient_public_key_file != NULL &&
		     cfg->recipient_public_key_file[0] != '\0';
	int rc;

	*out = NULL;
	/* a node in public-key mode may hold no master key at all */
	if (writer && !config_has_key(cfg)) {
		if ((rc = crypto_keyring_empty(&ring)) != 0)
			return rc;
		source = "(none: public-key mode)";
	} else if ((rc = cmd_load_keyring(&ring, &source, cfg, st,
					  CMD_KEY_REQUIRED | (may_create ? CMD_KEY_MAY_CREATE : 0))) != 0)
		return rc;
	if ((rc = keys_open_ring(out, ring, source, cfg, st, fqdn)) != 0 || !writer)
		return rc;
	if ((rc = open_writer(*out, cfg)) != 0) {
		keys_free(*out);
		*out = NULL;
	}
	return rc;
}

const struct crypto_key *keys_signing_key(const struct keyset *ks)
{
	return ks->pk ? ks->pk->signing : NULL;
}

void keys_free(struct keyset *ks)
{
	size_t i;

	if (ks == NULL)
		return;
	for (i = 0; i < ks->n; i++)
		crypto_key_free(ks->v[i].key);
	free(ks->v);
	if (ks->pk != NULL) {
		crypto_key_free(ks->pk->signing);
		free(ks->pk);
	}
	datakeys_list_free(&ks->list);
	crypto_keyring_free(ks->ring);
	free(ks->ring_path);
	free(ks->prefix);
	free(ks->fqdn);
	pthread_mutex_destroy(&ks->lock);
	free(ks);
}


const struct crypto_keyring *keys_ring(const struct keyset *ks)
{
	return ks->ring;
}

const char *keys_ring_path(const struct keyset *ks)
{
	return ks->ring_path;
}

static int list(struct keyset *ks)
{
	int rc;

	if (ks->listed || ks->st == NULL)
		return 0;
	if ((rc = datakeys_list(&ks->list, ks->st, ks->prefix, ks->fqdn)) != 0)
		return cst_error(rc, "cannot list the data keys of node %s: %s", ks->fqdn,
				 cst_error_msg());
	ks->listed = 1;
	return 0;
}

static const struct crypto_key *find_resolved(const struct keyset *ks, const unsigned char *id)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (memcmp(ks->v[i].id, id, CRYPTO_KEYID_LEN) == 0)
			return ks->v[i].key;
	return NULL;
}

static int keep(struct keyset *ks, struct crypto_key *key, int via_recipient)
{
	struct resolved *v = cst_grow(ks->v, &ks->cap, ks->n, sizeof(*v), 4);

	if (v == NULL) {
		crypto_key_free(key);
		return CST_ENOMEM;
	}
	ks->v = v;
	memcpy(v[ks->n].id, crypto_key_id(key), CRYPTO_KEYID_LEN);
	v[ks->n].via_recipient = via_recipient;
	v[ks->n++].key = key;
	return 0;
}

static const struct crypto_key *find(const struct keyset *ks, const unsigned char *id)
{
	const struct crypto_key *k = find_resolved(ks, id);

	return k ? k : crypto_keyring_find(ks->ring, id);
}

static void ring_ids(char *buf, size_t len, const struct crypto_keyring *ring)
{
	char hex[2 * CRYPTO_KEYID_LEN + 1];
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < crypto_keyring_count(ring) && used + sizeof(hex) + 2 < len; i++) {
		cst_hex(hex, crypto_key_id(crypto_keyring_key(ring, i)), CRYPTO_KEYID_LEN);
		used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "", hex);
	}
}

static int resolve(struct keyset *ks, const unsigned char *id, const struct crypto_key **out)
{
	char hex[2 * CRYPTO_KEYID_LEN + 1], have[CRYPTO_KEYRING_MAX * 18 + 1];
	struct crypto_key *key = NULL;
	const struct crypto_key *by = NULL;
	const struct dk_entry *e;
	int rc;

	*out = NULL;
	if ((*out = find(ks, id)) != NULL)
		return 0;
	if ((rc = list(ks)) != 0)
		return rc;
	if ((e = datakeys_find(&ks->list, id)) != NULL) {
		if ((rc = datakeys_unwrap(&key, &by, ks->st, ks->prefix, ks->fqdn, e, ks->ring,
					  ks->ring_path)) != 0 ||
		    (rc = keep(ks, key, crypto_keyring_find(ks->ring, crypto_key_id(by)) != by)) != 0)
			return rc;
		*out = key;
		return 0;
	}
	cst_hex(hex, id, CRYPTO_KEYID_LEN);
	ring_ids(have, sizeof(have), ks->ring);
	return cst_error(CST_EAUTH, "wrong key: key id %s is neither a data key of node %s in storage "
			 "nor a key in key file %s (key ids %s)", hex, ks->fqdn, ks->ring_path, have);
}

int keys_resolve(struct keyset *ks, const unsigned char id[CRYPTO_KEYID_LEN],
		 const struct crypto_key **out)
{
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = resolve(ks, id, out);
	pthread_mutex_unlock(&ks->lock);
	return rc;
}

/* Public-key mode: a fresh data key for every run, wrapped to the
 * recipient and forgotten when the run ends: the node never holds a key
 * that reads a backup it took before. */
static int current_pk(struct keyset *ks, const struct crypto_key **out, int *made)
{
	unsigned gen = ks->list.n > 0 ? ks->list.v[ks->list.n - 1].gen + 1 : 1;
	struct crypto_key *dk = NULL;
	int rc;

	if ((rc = crypto_key_generate(&dk)) != 0)
		return rc;
	if ((rc = datakeys_put_recipient(ks->st, ks->prefix, ks->fqdn, gen, dk, ks->pk->rpub)) != 0) {
		crypto_key_free(dk);
		return cst_error(rc, "cannot store the data key of this run of node %s: %s", ks->fqdn,
				 cst_error_msg());
	}
	if ((rc = keep(ks, dk, 0)) != 0)
		return rc;
	*out = ks->current = dk;
	*made = 1;
	return 0;	/* the list stays: it holds the keys of the earlier runs */
}

static int current(struct keyset *ks, int create, const struct crypto_key **out, int *made)
{
	const struct crypto_key *master = crypto_keyring_newest(ks->ring);
	struct crypto_key *dk = NULL;
	int rc;

	*out = NULL;
	*made = 0;
	if ((rc = list(ks)) != 0)
		return rc;
	if (ks->pk != NULL)
		return current_pk(ks, out, made);
	if (ks->list.n > 0) {
		if ((rc = resolve(ks, ks->list.v[ks->list.n - 1].id, out)) == 0)
			ks->current = *out;
		else if (rc == CST_EAUTH)
			rc = cst_error(rc, "%s (add the key that wraps it to the keyring; if it is lost, "
				       "rotate-key --reencrypt gives the node a new data key)",
				       cst_error_msg());
		return rc;
	}
	if (!create)
		return cst_error(CST_ENOTFOUND, "node %s has no data key in storage", ks->fqdn);
	if (master == NULL)
		return cst_error(CST_EINVALID, "key file %s holds no master key to wrap node %s's data "
				 "key under (a recipient's private key restores; to back up with it, set "
				 "recipient_public_key_file)", ks->ring_path, ks->fqdn);
	if ((rc = crypto_key_generate(&dk)) != 0)
		return rc;
	if ((rc = datakeys_put(ks->st, ks->prefix, ks->fqdn, 1, dk, master)) != 0) {
		crypto_key_free(dk);
		return cst_error(rc, "cannot store the new data key of node %s: %s", ks->fqdn,
				 cst_error_msg());
	}
	if ((rc = keep(ks, dk, 0)) != 0)
		return rc;
	*out = ks->current = dk;
	*made = 1;
	ks->listed = 0;		/* the list no longer shows all */
	datakeys_list_free(&ks->list);
	return 0;
}

int keys_current(struct keyset *ks, int create, const struct crypto_key **out, int *made)
{
	int rc;

	pthread_mutex_lock(&ks->lock);
	rc = current(ks, create, out, made);
	pthread_mutex_unlock(&ks->lock);
	return rc;
}

int keys_reusable(struct keyset *ks, const char *key_id)
{
	unsigned char id[CRYPTO_KEYID_LEN];
	const struct dk_entry *e;
	int yes;

	if (ks->current == NULL || cst_unhex(id, sizeof(id), key_id) != 0)
		return 0;
	if (memcmp(id, crypto_key_id(ks->current), CRYPTO_KEYID_LEN) == 0)
		return 1;
	if (ks->pk == NULL)
		return 0;
	pthread_mutex_lock(&ks->lock);
	yes = (e = datakeys_find(&ks->list, id)) != NULL && datakeys_has_wrap(e, "x25519", ks->pk->ridhex) >= 0;
	pthread_mutex_unlock(&ks->lock);
	return yes;
}

int keys_meta_key(struct meta_auth_key *out, void *arg, const char *alg, const char *key_id,
		  const char *fqdn)
{
	struct keyset *ks = arg;
	unsigned char id[CRYPTO_KEYID_LEN];
	const unsigned char *pub;
	size_t i;
	int rc, via = 0;

	out->mac_key = NULL;
	if (strcmp(alg, "Ed25519") == 0) {
		if (ks->pk != NULL && strcmp(fqdn, ks->fqdn) == 0)
			pub = ks->pk->spub;	/* a node reads its own backups */
		else if ((pub = crypto_keyring_node_key(ks->ring, fqdn)) == NULL)
			return cst_error(CST_EAUTH, "node %s's signing key is not pinned in key file %s: add "
					 "its line 'ed25519-public %s <key>' (keygen --node-signing "
					 "wrote it)", fqdn, ks->ring_path, fqdn);
		memcpy(out->pub, pub, CRYPTO_PK_LEN);
		return 0;
	}
	if (cst_unhex(id, sizeof(id), key_id) != 0)
		return cst_error(CST_EINTEGRITY, "key id '%s' is not 16 hex digits", key_id);
	if ((rc = keys_resolve(ks, id, &out->mac_key)) != 0)
		return rc;
	pthread_mutex_lock(&ks->lock);
	for (i = 0; i < ks->n; i++)
		if (ks->v[i].key == out->mac_key)
			via = ks->v[i].via_recipient;
	pthread_mutex_unlock(&ks->lock);
	if (via) {
		out->mac_key = NULL;
		return cst_error(CST_EAUTH, "MACed under a data key wrapped to a recipient, which anyone "
				 "holding the recipient's public key can make: a backup of the "
				 "public-key mode is signed by its node");
	}
	return 0;
}
