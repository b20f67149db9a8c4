/*
 * datakeys: a node's data keys as storage holds them, wrapped under master
 * keys (docs/FORMAT.md, "Data keys"):
 *
 *   <prefix>/index/data_keys/<fqdn>/<gen>_<data key id>/master_<master key id>
 *   <prefix>/index/data_keys/<fqdn>/<gen>_<data key id>/x25519_<recipient id>
 *
 * `gen` is 6 decimal digits; the node's newest generation is its current
 * data key. Each wrap object is a small plaintext JSON document. This layer
 * only lists, reads, writes and deletes them; keys.h decides which to use.
 */
#ifndef CASSETTE_DATAKEYS_H
#define CASSETTE_DATAKEYS_H

#include <stddef.h>

#include "crypto.h"

struct storage;

struct dk_entry {
	unsigned gen;
	unsigned char id[CRYPTO_KEYID_LEN];
	char idhex[2 * CRYPTO_KEYID_LEN + 1];
	/* its wraps, ascending: "master_<key id>" or "x25519_<recipient id>" */
	char (*wraps)[7 + 2 * CRYPTO_KEYID_LEN + 1];
	size_t n_wraps;
};

struct dk_list {
	struct dk_entry *v;	/* ascending by (gen, id): the last is the newest */
	size_t n;
};

/* Every data key of node `fqdn`; names that do not parse are ignored. */
int datakeys_list(struct dk_list *out, struct storage *st, const char *prefix, const char *fqdn);
/* The nodes that have data keys: a NULL-terminated array of strings, each
 * and the array freed by the caller. */
int datakeys_nodes(char ***out, struct storage *st, const char *prefix);
void datakeys_list_free(struct dk_list *l);
/* The entry with this id, or NULL. */
const struct dk_entry *datakeys_find(const struct dk_list *l, const unsigned char id[CRYPTO_KEYID_LEN]);
/* The wrap of `e` of kind "master" or "x25519" under key id `hex` (its
 * index), or -1. */
int datakeys_has_wrap(const struct dk_entry *e, const char *kind, const char *hex);

/*
 * Unwrap `e` with the newest master of `ring` it is wrapped under, else with
 * a recipient key of the ring it is wrapped to. CST_EAUTH
 * when none of the ring's keys wraps it (the message names both sides'
 * key ids); CST_EINTEGRITY when a wrap object is altered. `*by`, when not
 * NULL, gets the master used.
 */
int datakeys_unwrap(struct crypto_key **out, const struct crypto_key **by, struct storage *st,
		    const char *prefix, const char *fqdn, const struct dk_entry *e,
		    const struct crypto_keyring *ring, const char *ring_path);
/* Store data key `dk` of generation `gen` wrapped under `master`, create-only
 * (CST_EEXISTS when that wrap exists). */
int datakeys_put(struct storage *st, const char *prefix, const char *fqdn, unsigned gen,
		 const struct crypto_key *dk, const struct crypto_key *master);
/* Store data key `dk` wrapped to a recipient's public key, create-only. */
int datakeys_put_recipient(struct storage *st, const char *prefix, const char *fqdn, unsigned gen,
			   const struct crypto_key *dk, const unsigned char rpub[CRYPTO_PK_LEN]);
/* Delete the wrap `wrap` ("master_<id>", as in e->wraps) of `e`. */
int datakeys_delete_wrap(struct storage *st, const char *prefix, const char *fqdn,
			 const struct dk_entry *e, const char *wrap);

#endif
