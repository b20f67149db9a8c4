/*
 * hashcache: one backup run's use of the state database's hash cache.
 *
 * The rule (docs/FORMAT.md, "The hash cache"): a file's cached source MD5 is
 * trusted when its device, inode, size and mtime equal the row's and the
 * ctime its live file had before tonight's snapshot equals the ctime recorded
 * after the last run cleared its snapshot. Lookups are done up front, before
 * the encoder threads start; results are written back after the snapshot is
 * cleared, in one transaction. No call ever fails a backup over the cache: a
 * database that cannot be used prints one warning and the run hashes
 * everything.
 */
#ifndef CASSETTE_HASHCACHE_H
#define CASSETTE_HASHCACHE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct snapshot;
struct hashcache;

struct hashcache_counts {
	uint64_t trusted_files, trusted_bytes;	/* unchanged, MD5 from the cache */
	uint64_t hashed_files, hashed_bytes;	/* read to compare with history */
	uint64_t disagreed;			/* --verify-hashes: cache was wrong */
	int state;				/* HASHCACHE_ON, _VERIFY, _OFF */
};
enum { HASHCACHE_ON, HASHCACHE_VERIFY, HASHCACHE_OFF };

/*
 * Open <state_dir>/<fqdn>.db and look up every file of `snap`. With `verify`
 * the cache is looked up but never trusted (--verify-hashes). Fails only for
 * CST_ENOMEM. *out owned by the caller; `snap` must outlive it.
 */
int hashcache_open(struct hashcache **out, const struct config *cfg, const struct snapshot *snap,
		   int verify);
void hashcache_free(struct hashcache *hc);

/* 1 with md5 when file i's cached MD5 may stand for reading it. Encoder
 * threads may call these for distinct i at the same time. */
int hashcache_trusted(struct hashcache *hc, size_t i, unsigned char md5[16]);
/* File i was read and hashed to compare it with earlier backups. */
void hashcache_hashed(struct hashcache *hc, size_t i, const unsigned char md5[16]);
/* After the run: file i's source MD5 (hex) as this backup records it, and
 * whether this run stored it (1) or found it unchanged (0). */
void hashcache_result(struct hashcache *hc, size_t i, const char *md5_hex, int stored);

/* Before the snapshot is cleared: forget files whose snapshot inode changed
 * (ctime included) since it was enumerated: they may have changed after
 * they were read. */
void hashcache_check_snapshot(struct hashcache *hc);
/* After the snapshot is cleared (or kept): record each file whose live inode
 * still matches, with the live ctime as it is now. Replaces every row. */
void hashcache_save(struct hashcache *hc, const struct config *cfg);

void hashcache_counts(const struct hashcache *hc, struct hashcache_counts *out);

#endif
