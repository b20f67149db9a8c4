/*
 * keys: the keys a command works with. The master keys come from the
 * configured keyring ([storage] key_secret_file or $CASSETTE_KEY_FILE);
 * a node's data keys come from storage, unwrapped with them (datakeys.h).
 * Objects are encrypted under a data key; objects written before envelope
 * keys (store format version 1) under a master key itself, and both are
 * found by the key id in the manifest and in each object's header.
 */
#ifndef CASSETTE_KEYS_H
#define CASSETTE_KEYS_H

#include "crypto.h"

struct config;
struct storage;
struct keyset;

/*
 * Load the configured master keys (a keyring file, or a passphrase: see
 * cmd_load_keyring) for node `fqdn`'s objects in `st` (st may be NULL: then
 * only master keys are found, and no passphrase works). `may_create`: a
 * writing command, which may store a passphrase's key parameters. Returns 0,
 * CMD_USAGE (no key configured, or a key or passphrase file that is missing,
 * too open or malformed: the message says which) or a CST_ code.
 */
int keys_open(struct keyset **out, const struct config *cfg, struct storage *st, const char *fqdn,
	      int may_create);
/* The same with a keyring already loaded (taken, freed on failure too);
 * `ring_path` names it in messages. */
int keys_open_ring(struct keyset **out, struct crypto_keyring *ring, const char *ring_path,
		   const struct config *cfg, struct storage *st, const char *fqdn);
void keys_free(struct keyset *ks);

/* A meta_auth_key_fn (meta_auth.h) over a keyset: for a MAC the key of id
 * `key_id` (through keys_resolve(); refused when it is a data key unwrapped
 * with a recipient key, which anyone could have made), for a signature the
 * node's pinned key in the keyring (or this node's own). */
struct meta_auth_key;
int keys_meta_key(struct meta_auth_key *out, void *arg, const char *alg, const char *key_id,
		  const char *fqdn);

/* Public-key mode ([storage] recipient_public_key_file on a node that backs
 * up, with node_signing_key_file): the node's signing key, else NULL. */
const struct crypto_key *keys_signing_key(const struct keyset *ks);
/* Whether an earlier object under key id `key_id` (hex) may be reused by
 * this run: it is under the current data key; in public-key mode also under
 * any data key of the node wrapped to the configured recipient. */
int keys_reusable(struct keyset *ks, const char *key_id);

const struct crypto_keyring *keys_ring(const struct keyset *ks);
const char *keys_ring_path(const struct keyset *ks);

/*
 * The key with id `id`: one of the node's data keys, unwrapped with the
 * keyring (once; later calls find it), or a master key of the keyring
 * (version-1 objects). CST_EAUTH ("wrong key: ..." naming both sides' key
 * ids) when neither; CST_EINTEGRITY when its wrap object was altered.
 * Thread safe; the key lives as long as the keyset.
 */
int keys_resolve(struct keyset *ks, const unsigned char id[CRYPTO_KEYID_LEN],
		 const struct crypto_key **out);

/*
 * The node's current data key, for new objects: its newest in storage. When
 * the node has none, a fresh one is made and stored wrapped under the
 * keyring's newest key (only with `create`; else CST_ENOTFOUND). In
 * public-key mode every run makes a fresh one, wrapped to the recipient.
 * *made says whether it was made now.
 */
int keys_current(struct keyset *ks, int create, const struct crypto_key **out, int *made);

#endif
