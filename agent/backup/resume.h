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

/*
 * A run killed after it stored meta/manifest.json and before its finished
 * marker left a manifest that no index lists, so nothing kept its objects
 * meanwhile: a purge may have collected them and a later backup stored the
 * same first pool keys again. *sound is 1 only when every object it names
 * is still the one it recorded (resume_object_is_ours(), and no finished
 * backup in `hist` references a first pool key of it); *why says what is
 * not. A manifest that does not parse is not sound. A storage error fails.
 */
struct history;
int resume_orphan_manifest_sound(struct storage *st, const struct config *cfg, const char *name,
				 const struct history *hist, int *sound, char *why, size_t why_len);

#endif
