/*
 * resume: what a rerun of an interrupted backup finds and puts right.
 *
 * - The node's work directory (pipeline_workdir()) holds the temp files of
 *   the run that holds the node's lock: whatever is there when a run starts,
 *   a killed run left.
 * - A journal record (journal.h) names an object that may exist: it is
 *   reused only when storage holds, at the key, exactly that object.
 */
#ifndef CASSETTE_RESUME_H
#define CASSETTE_RESUME_H

#include <stddef.h>

struct config;
struct journal_rec;
struct storage;
struct storage_stat;

/* Empty the work directory, creating it (0700) when missing. *n gets the
 * number of files removed. */
int resume_clean_workdir(const struct config *cfg, size_t *n);

/*
 * 1 when storage holds the journaled object at `key` (the record's key or
 * variant): the size the record says and, for an encrypted object, the
 * record's salt in its header; for a plaintext one, bytes whose MD5 is the
 * record's source MD5 (the ETag when it is a plain MD5, else read through).
 * *got gets the object's size and ETag. 0 when it is missing or another
 * object; a negative code when storage failed.
 */
int resume_object_is_ours(struct storage *st, const struct journal_rec *rec, const char *key,
			  struct storage_stat *got);

#endif
