/*
 * publish: what makes a stored backup visible, in the order that makes it
 * atomic (docs/FORMAT.md, "Write order of a backup"): the meta files,
 * manifest.json create-only, then the index copies, the cluster marker (in
 * the node index) and last the finished marker.
 */
#ifndef CASSETTE_PUBLISH_H
#define CASSETTE_PUBLISH_H

#include <stdint.h>

#include "meta_auth.h"

struct config;
struct crypto_key;
struct storage;

struct publish {
	const struct config *cfg;
	struct storage *st;
	const char *name;		/* the backup */
	int full;			/* else differential */
	const char *schema;		/* NULL: a placeholder comment */
	const char *tokenmap;		/* tokenmap.json's text */
	const char *manifest_path;	/* the manifest, in a local file */
	uint64_t files, bytes;		/* for the finished marker */
	int64_t started;		/* for the node's own index entry */
	/* The key of the data objects, whose MAC key signs meta/auth.json;
	 * NULL (encryption = none): no auth.json. */
	const struct crypto_key *key;
	/* public-key mode: the node's signing key signs auth.json instead */
	const struct crypto_key *sign_key;
};

/* meta/auth.json (with a key) goes just before manifest.json: the SHA-256
 * of each meta object under the MAC (meta_auth.h).
 * 0, or the first storage error. *manifest_written is set once
 * manifest.json is stored: from then on the backup exists and must not be
 * undone, even when a later index write fails. */
int publish_backup(const struct publish *p, int *manifest_written);

/* A run was killed after it stored manifest.json but before its finished
 * marker: write the index from the stored meta files (the manifest through
 * a temp file in `workdir`, counted as it passes). *files and *bytes get
 * the totals of the finished marker. With `keys` (meta_auth.h: the run's
 * data key, or in public-key mode the node's signature), the meta files must be
 * the ones meta/auth.json authenticates: when they are not (or it is
 * missing), nothing is written, *unauthentic is set and the error slot
 * says why (the caller drops the manifest and takes the backup again). */
int publish_complete_index(const struct config *cfg, struct storage *st, const char *name,
			   int64_t started, const char *workdir, meta_auth_key_fn keys, void *arg,
			   uint64_t *files, uint64_t *bytes, int *unauthentic);

#endif
