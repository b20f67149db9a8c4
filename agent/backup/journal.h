/*
 * journal: what an interrupted backup already stored, so that rerunning the
 * same command resumes it instead of uploading again.
 *
 * One file per node, <state_dir>/<fqdn>.journal (it must survive a reboot,
 * unlike encryption_tmp_dir). Its first line names the backup it belongs to:
 *
 *   cassette journal 1 <backup> full|differential <key id hex or ->\n
 *
 * then one line per object, written with one write(2) just BEFORE the store
 * makes the object visible (the single put, or the multipart commit), when
 * everything about it is known:
 *
 *   <ks>\t<cf>\t<rel>\t<key>\t<variant or ->\t<size>\t<source_size>\t
 *   <source md5 hex>\t<salt hex or ->\t<fnv64 hex of the line before it>\n
 *
 * So a SIGKILL or a power cut at any moment leaves a record for every object
 * that may exist, and never an object without one. A record proves nothing
 * by itself: the resumed run uses it only after storage shows an object at
 * one of its two keys with its size and, for an encrypted object, its salt
 * in the header (a plaintext object: its MD5), and the snapshot file hashes
 * to its source MD5. A torn last line fails its checksum and is ignored.
 *
 * The file goes when the backup finishes. A backup of another name, or a
 * change of mode or key, starts it over (the older records are dropped with
 * a message: their objects are orphans that purge collects).
 */
#ifndef CASSETTE_JOURNAL_H
#define CASSETTE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct config;

struct journal_rec {
	const char *ks, *cf, *rel;
	const char *key;
	const char *variant;		/* NULL when the put had none */
	uint64_t size, source_size;
	char source_md5[33];
	char salt[65];			/* "" for a plaintext object */
};

struct journal;

/*
 * Open the node's journal for backup `name`. `key_id` is "" without
 * encryption. Records of this very backup are loaded (*resumed gets their
 * count); anything else in the file is dropped. A journal that cannot be
 * written prints one warning and gives a journal that records nothing (the
 * backup goes on; only a resume would store more again).
 */
int journal_open(struct journal **out, const struct config *cfg, const char *name, int full,
		 const char *key_id, size_t *resumed);
/* Record an object about to become visible under `key` (or, when taken,
 * `variant`). Thread-safe. A failed write is a failed backup: the promise
 * above would not hold. */
int journal_intent(struct journal *j, const struct journal_rec *rec);
/* The records for this file and source size, newest last; NULL when none.
 * *n gets their count. Borrowed until journal_free(). */
const struct journal_rec *const *journal_find(const struct journal *j, const char *ks,
					      const char *cf, const char *rel,
					      uint64_t source_size, size_t *n);
/* 1 when the file was there at open: some run of this node did not finish
 * (this backup's, or another's whose records were dropped). */
int journal_found(const struct journal *j);
/* Remove the node's journal without opening it (a backup found finished). */
void journal_remove(const struct config *cfg);
/* The backup finished: remove the file. */
void journal_done(struct journal *j);
void journal_free(struct journal *j);

#endif
