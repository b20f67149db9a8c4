/*
 * fetch: the download half of restore-node. A pool of worker threads takes
 * the files of a checked plan, largest first, and streams each object from
 * storage through its own decryptor (or MD5 context, for a plaintext
 * object) into a temp file beside the file's destination, then proves it
 * against the manifest and fsyncs it. Renaming into place is the caller's.
 */
#ifndef CASSETTE_FETCH_H
#define CASSETTE_FETCH_H

#include <stddef.h>

#include <stdint.h>
#include <sys/types.h>

#include "crypto.h"
#include "manifest.h"

struct progress;
struct storage;

/* FETCH_TMP_SUFFIX "XXXXXX", beside the destination (whose name is cut to
 * fit NAME_MAX first). */
#define FETCH_TMP_SUFFIX ".cassette-tmp-"

struct fetch_table {
	char *keyspace, *columnfamily;	/* the names in the backup (and the objects' identity) */
	char *dir;	/* where the table's files go; NULL: <target_dir>/<keyspace>/<columnfamily> */
};

/*
 * One file to restore, packed (a node may have 100,000): the names are
 * derived, not kept. Its destination is <table dir>/<rel> (see struct
 * fetch_table), its temp file the destination + FETCH_TMP_SUFFIX + tmp_tag.
 */
struct fetch_job {
	struct manifest_rec rec;	/* rec.path: the storage key, the caller's */
	const struct fetch_table *tab;	/* the caller's */
	uint32_t rel;			/* rec.path + rel: the path below the table dir */
	char tmp_tag[7];	/* set by fetch_all() once the temp file exists, "" before;
				 * the caller renames or removes that file */
};

static inline const char *fetch_rel(const struct fetch_job *j)
{
	return j->rec.path + j->rel;
}
/* The job's destination, and its temp file (NULL when it has none); the
 * caller frees. NULL with CST_ENOMEM set when out of memory. `target_dir`
 * is not used for a table with its own dir. */
char *fetch_dest(const char *target_dir, const struct fetch_job *j);
char *fetch_tmp(const char *target_dir, const struct fetch_job *j);

struct keyset;
struct fernet_key;
struct config;

/*
 * The Fernet key of Medusa's encrypted objects ([storage] key_secret_base64)
 * for a command that must read `object`, the first of them in backup
 * `backup`: CMD_USAGE naming both and the key to set when none is
 * configured, CST_EINVALID when it is not a Fernet key. *out is the
 * caller's (fernet_key_free).
 */
int fetch_medusa_key(struct fernet_key **out, const struct config *cfg, const char *backup,
		     const char *object);

struct fetch_params {
	struct storage *st;		/* shared by the workers (thread safe) */
	struct keyset *keys;		/* NULL when every object is plaintext */
	const struct fernet_key *medusa_key;	/* NULL: no Medusa-encrypted object */
	const char *fqdn;		/* the identity objects were encrypted under */
	const char *target_dir;		/* each job's directory exists below it */
	unsigned workers;		/* threads; at most the number of jobs is used */
	struct progress *progress;	/* NULL: none */
	int chown;			/* 1: give each file this owner and group */
	uid_t uid;
	gid_t gid;
};

/*
 * Fetch every job, in parallel. Returns 0 when each temp file holds its
 * proven, fsynced plaintext (mode 0644). Otherwise the first failure: one
 * line in this thread's error slot naming the file and its object (or
 * "interrupted" after SIGINT/SIGTERM); the other workers stop at their next
 * chunk. Either way each job's tmp_tag tells the temp file it created, if any.
 */
int fetch_all(struct fetch_job *jobs, size_t n_jobs, const struct fetch_params *p);

/* What fetch_object() found wrong with an object, for a caller that reports
 * by kind (verify). NONE: it passed, or failed for another reason (storage,
 * memory, the caller's sink). */
enum fetch_fault {
	FETCH_FAULT_NONE,
	FETCH_FAULT_MISSING,		/* no such object */
	FETCH_FAULT_SIZE,		/* stored size is not the manifest's size */
	FETCH_FAULT_AUTH,		/* a tag, the header, the salt or the key id failed */
	FETCH_FAULT_SOURCE_SIZE,	/* plaintext size is not source_size */
	FETCH_FAULT_SOURCE_MD5,		/* plaintext MD5 is not source_MD5 */
	FETCH_FAULT_MD5,		/* the bytes do not give the multipart ETag "MD5"
					 * (an object without source_MD5) */
};

/*
 * Read one object and prove it against its record, as a restore does: the
 * stored size; for an encrypted object every AEAD tag under `id` and the
 * record's salt (`keys` needed: the record's key id is looked up there); for
 * one of Medusa's (rec->fernet) every Fernet token's HMAC under `medusa_key`
 * (NULL: refused, naming [storage] key_secret_base64); the plaintext size;
 * and, when `md5` is not NULL (it is reset first), the plaintext's MD5
 * against source_MD5 (a Medusa-encrypted object needs it: nothing else
 * binds its chunks' order). An object without a source MD5 (rec->no_source,
 * Medusa's multipart upload) is proven by its multipart ETag instead, each
 * candidate part size hashed in the same pass (etag.h); `md5` is not used
 * then. Each
 * piece of plaintext goes to `out` (NULL: dropped) as it passes, an
 * encrypted object's only once its tag verified; whatever `out` took must
 * be discarded unless the call returns 0. A non-zero code from `out` stops
 * the read and is returned. 0, or a CST_ code with one line naming the
 * object; *fault (NULL: not wanted) says which check failed.
 */
int fetch_object(struct storage *st, struct keyset *keys, const struct fernet_key *medusa_key,
		 const struct crypto_identity *id, const struct manifest_rec *rec, struct crypto_md5 *md5, crypto_sink_fn out, void *arg,
		 int *fault);

/* How many workers a restore uses (`remote`: the storage is not a local
 * directory); see fetch.c for why. At least 1, at most n_jobs and 32. */
unsigned fetch_worker_count(int remote, unsigned concurrent_transfers, size_t n_jobs);

#endif
