/*
 * meta_auth: a backup's meta/auth.json (docs/FORMAT.md, "auth.json"): the
 * SHA-256 of each meta object the backup wrote (manifest.json,
 * tokenmap.json, schema.cql, server_version.json, differential) under a MAC
 * that binds them to the backup's name and node. The MAC key derives from
 * the key that encrypts the backup's data objects; readers get that key
 * through a meta_auth_key_fn from the key id auth.json records, so only that
 * lookup changes when keys do.
 */
#ifndef CASSETTE_META_AUTH_H
#define CASSETTE_META_AUTH_H

#include <stddef.h>

#include "crypto.h"

struct storage;

#define META_AUTH_NAME "auth.json"

/*
 * What verifies an auth.json of algorithm `alg`:
 *   "HMAC-SHA256": the key whose id is `key_id` (16 lowercase hex), for the
 *   MAC key (mac_key, borrowed: valid while the callback's arg is);
 *   "Ed25519" (public-key mode): the signing public key the reader trusts
 *   for node `fqdn` (pub); auth.json's key_id must be its signer id.
 * CST_EAUTH ("wrong key", or "not pinned", naming both sides) when the
 * caller holds no such key.
 */
struct meta_auth_key {
	const struct crypto_key *mac_key;
	unsigned char pub[CRYPTO_PK_LEN];
};
typedef int (*meta_auth_key_fn)(struct meta_auth_key *out, void *arg, const char *alg,
				const char *key_id, const char *fqdn);
/* One key, `arg` (a struct crypto_key *): MACs under it only. */
int meta_auth_one_key(struct meta_auth_key *out, void *arg, const char *alg, const char *key_id,
		      const char *fqdn);

/*
 * auth.json for the meta objects `objs` (any order; each name once) of
 * backup `backup` of node `fqdn`, MACed under `key`: compact JSON with the
 * keys in FORMAT.md's order, objects sorted by name. *out is the caller's.
 */
int meta_auth_json(char **out, const struct crypto_key *key, const char *fqdn, const char *backup,
		   const struct crypto_meta_object *objs, size_t n);
/* The same signed with node `fqdn`'s Ed25519 key (public-key mode). */
int meta_auth_json_signed(char **out, const struct crypto_key *signing, const char *fqdn,
			  const char *backup, const struct crypto_meta_object *objs, size_t n);

/* A verified auth.json. */
struct meta_auth;

/*
 * Read <prefix>/<fqdn>/<backup>/meta/auth.json and verify it: version,
 * algorithm, fqdn and backup (a meta folder moved to another backup or node
 * fails), the key id (through `keys`), and the MAC. Errors name the object:
 * CST_ENOTFOUND (none stored), CST_EINTEGRITY (malformed, or it does not
 * authenticate), CST_EAUTH (no key of its id), or a storage error.
 * *out is the caller's (meta_auth_free).
 */
int meta_auth_load(struct meta_auth **out, struct storage *st, const char *prefix,
		   const char *fqdn, const char *backup, meta_auth_key_fn keys, void *arg);
/*
 * What a reader that holds the key requires before it trusts any meta
 * object of the backup (restore-node, restore-cluster, verify --deep):
 * meta_auth_load(); a missing auth.json is refused (CST_EINTEGRITY, naming
 * it and --allow-unauthenticated) unless `allow_unauthenticated`, which
 * prints one warning line and gives 0 with *out NULL. `keys` NULL (no key
 * configured, a plaintext backup): nothing is checked, 0 with *out NULL.
 */
int meta_auth_require(struct meta_auth **out, struct storage *st, const char *prefix,
		      const char *fqdn, const char *backup, meta_auth_key_fn keys, void *arg,
		      int allow_unauthenticated);
/*
 * The meta object `name` ("manifest.json", ...) read from storage key
 * `what` (the object itself or its index copy) hashed to `sha256`: 0 when
 * auth.json lists `name` with that digest, else CST_EINTEGRITY naming
 * `what`. A NULL `a` (nothing to check) is 0.
 */
int meta_auth_check(const struct meta_auth *a, const char *name, const unsigned char *sha256,
		    const char *what);
/* The same for bytes in memory. */
int meta_auth_check_buf(const struct meta_auth *a, const char *name, const void *buf, size_t len,
			const char *what);
void meta_auth_free(struct meta_auth *a);

/*
 * A storage sink that hashes every byte and hands it on to `next` (NULL:
 * only hash). Once `next` fails, the rest is still hashed, so the digest
 * can be checked first: a changed manifest is reported as changed, not as
 * whatever its parser said. The first failure stays in rc and msg.
 */
struct meta_tee {
	struct crypto_sha256 *h;
	int (*next)(void *arg, const unsigned char *buf, size_t len);
	void *arg;
	int rc;			/* next's first failure, 0 none */
	char *msg;		/* its message */
};
int meta_tee_init(struct meta_tee *t, int (*next)(void *, const unsigned char *, size_t), void *arg);
/* storage_sink_fn: arg is the struct meta_tee. Fails only on hashing. */
int meta_tee_sink(void *arg, const unsigned char *buf, size_t len);
/* The digest of everything that passed. */
int meta_tee_digest(struct meta_tee *t, unsigned char sha256[CRYPTO_SHA256_LEN]);
/* next's failure again in the error slot (rc), or 0. */
int meta_tee_rethrow(const struct meta_tee *t);
void meta_tee_free(struct meta_tee *t);

#endif
