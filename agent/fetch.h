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

struct crypto_key;
struct manifest_object;
struct progress;
struct storage;

struct fetch_job {
	const char *keyspace, *table;		/* borrowed from the manifest */
	const struct manifest_object *obj;	/* borrowed */
	char *rel;				/* path below the table directory */
	char *dest;				/* where the file goes; its directory exists */
	char *tmp;	/* set by fetch_all() once the temp file exists; owned by the
			 * caller, who renames or removes it and frees the name */
};

struct fetch_params {
	struct storage *st;		/* shared by the workers (thread safe) */
	const struct crypto_key *key;	/* NULL when every object is plaintext */
	const char *fqdn;		/* the identity objects were encrypted under */
	unsigned workers;		/* threads; at most the number of jobs is used */
	struct progress *progress;	/* NULL: none */
};

/*
 * Fetch every job, in parallel. Returns 0 when each temp file holds its
 * proven, fsynced plaintext (mode 0644). Otherwise the first failure: one
 * line in this thread's error slot naming the file and its object (or
 * "interrupted" after SIGINT/SIGTERM); the other workers stop at their next
 * chunk. Either way each job's tmp names the temp file it created, if any.
 */
int fetch_all(struct fetch_job *jobs, size_t n_jobs, const struct fetch_params *p);

/* How many workers a restore uses (`remote`: the storage is not a local
 * directory); see fetch.c for why. At least 1, at most n_jobs and 32. */
unsigned fetch_worker_count(int remote, unsigned concurrent_transfers, size_t n_jobs);

#endif
