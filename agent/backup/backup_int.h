/*
 * backup_int.h: what the files of backup-node share (backup.c: the run,
 * the encoders, the manifest and the summary; backup_resume.c: the name
 * check, the orphan manifest and the journal's objects of a killed run).
 * Private to agent/backup/.
 */
#ifndef CASSETTE_BACKUP_INT_H
#define CASSETTE_BACKUP_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "manifest.h"

struct catalog_node;
struct config;
struct crypto_md5_hub;
struct hashcache;
struct history;
struct journal;
struct pipeline;
struct progress;
struct snap_file;
struct snapshot;
struct storage;
struct uploads;

/* Small: a node may have 100,000 files. An unchanged file points at the
 * history's record, which outlives the run. A stored one owns a packed
 * record without a path: its key follows from the file and `stored`
 * (result_key()). */
enum { STORED_FULL = 1, STORED_POOL, STORED_VARIANT };
struct file_result {
	const struct manifest_rec *rec;
	int stored;			/* 0, or the STORED_* key this run created */
	int resumed;			/* stored by an interrupted run of this backup */
};

/* The records of stored files, 1,024 to an allocation. */
#define REC_BLOCK 1024
struct rec_block {
	struct rec_block *next;
	size_t used;
	struct manifest_rec recs[REC_BLOCK];
};

struct run {
	const struct config *cfg;
	const char *name;
	int full;
	struct storage *st;
	struct keyset *keys;		/* NULL without encryption */
	const struct crypto_key *key;	/* the node's current data key (keys's) */
	char key_id[2 * CRYPTO_KEYID_LEN + 1];	/* hex; "" without a key */
	struct history *hist;
	struct journal *journal;	/* what an interrupted run of this backup stored */
	size_t journaled;		/* its records */
	struct hashcache *hc;		/* lookups done before the threads start */
	struct uploads *uploads;
	struct crypto_md5_hub *md5hub;	/* the encoders' MD5s, hashed side by side */
	struct progress *progress;	/* NULL when not shown */
	char *workdir;			/* pipeline_workdir(): this node's temp files */
	char *manifest_tmp;		/* the manifest, written to a temp file */
	char *tokenmap;			/* read before the snapshot, as Medusa does */
	char *tokens_unknown;		/* why the tokenmap holds no tokens, or NULL */
	const struct snapshot *snap;
	struct file_result *results;	/* one per snapshot file */
	/* shared by the encoder threads */
	pthread_mutex_t lock;
	struct rec_block *recs;		/* where stored results' records live */
	size_t next;			/* into order[] */
	size_t *order;			/* file indexes, largest first */
	int failed;
	int rc;
	char msg[1024];
	int64_t started;
	uint64_t files, bytes, new_files, new_bytes, stored_bytes;
	uint64_t resumed_files, resumed_bytes;	/* kept from an interrupted run */
	uint64_t prev_bytes;		/* the node's last finished backup's total; 0 none */
	int64_t orphan_started;		/* a killed run's start, whose manifest is stored */
	uint64_t stored_again;		/* their earlier object was missing or damaged */
};

/* An earlier object can stand for a file (history_filter_fn). */
int backup_reusable(void *arg, const struct manifest_object *o);
/* The file's MD5 and size, from the hash cache or hashed, once (*have). */
int backup_file_md5(struct run *r, struct pipeline *p, size_t i, unsigned char md5[16],
		    uint64_t *size, int *have);
/* A zeroed record that lives until the run ends; NULL when out of memory. */
struct manifest_rec *backup_rec_new(struct run *r);

/* backup_resume.c */
/* The name is free (0), interrupted (0, *orphan when its manifest is
 * stored), or finished (CST_EEXISTS). */
int backup_check_name(struct run *r, int *orphan);
/* Complete the index of a sound orphan manifest (*done), or drop it. */
int backup_finish_orphan(struct run *r, const char *workdir, int *done);
/* A journaled object of a killed run of this backup, still whole in
 * storage, taken for file i: 1; 0 when none fits; or a negative code. */
int backup_try_resume(struct run *r, struct pipeline *p, size_t i, unsigned char md5[16],
		      uint64_t *size, int *have);
/* Abort the uploads a killed run of this node left unfinished. */
int backup_clean_store(struct run *r);

#endif
