/*
 * verify: what verify.c (the command: the manifest, the report) shares with
 * check.c (the checks of each object). Private to agent/verify/.
 */
#ifndef CASSETTE_VERIFY_INT_H
#define CASSETTE_VERIFY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "fetch.h"
#include "util.h"

/* What is wrong with one file of the backup; the report's words are
 * verify_problem_name(). */
enum verify_problem {
	VP_OK,
	VP_MISSING,	/* no object under its key */
	VP_SIZE,	/* stored size is not the manifest's, or not the segment arithmetic's */
	VP_MD5,		/* the store's ETag is not the manifest's MD5 */
	VP_KEY_ID,	/* the header's key id is not the manifest's key_id */
	VP_HEADER,	/* not a cassette header, or another salt than the manifest's */
	VP_AUTH,	/* fails authentication (an AEAD tag, with the key) */
	VP_SOURCE_SIZE,	/* decodes to another size than source_size */
	VP_SOURCE_MD5,	/* decodes to another MD5 than source_MD5 */
	VP_LAYOUT,	/* the manifest names a key outside the node's backups */
	VP_UNREAD,	/* could not be checked (storage failure, out of memory) */
	VP_KEY_MISSING,	/* its data key is not in the store */
};
const char *verify_problem_name(int problem);

struct verify_item {
	struct fetch_job job;	/* rec (rec.path pooled), tab, rel: the file and its object */
	uint64_t listed_size;
	uint8_t listed;		/* the listing has its key */
	uint8_t deep;		/* selected for the deep check */
	uint8_t problem;	/* enum verify_problem */
	uint8_t recorded;	/* its damaged_objects record was written */
	char *detail;		/* why, one line (NULL when sound) */
};

struct verify {
	const struct config *cfg;
	const struct verify_opts *o;
	struct storage *st;
	struct keyset *keys;		/* only for the deep check of encrypted objects */
	struct fernet_key *medusa_key;	/* the deep check of Medusa-encrypted ones */
	const char *medusa_object;	/* the first of them (in names), else NULL */
	int remote;			/* the store reports ETags (S3) */
	struct fetch_table **tables;	/* each (keyspace, table) once */
	size_t n_tables, cap_tables;
	struct fetch_table *cur;	/* the table being read */
	int cur_valid;			/* its names are safe */
	struct verify_item *items;	/* in manifest order */
	size_t n_items, cap_items;
	struct cst_strpool names;
	uint64_t bytes;			/* source bytes */
	int encrypted;			/* some object is */
	/* what was checked */
	size_t n_deep, n_headers, n_etags, n_bad, n_recorded;
};

/* Set a file's problem and its one-line detail (printf style). */
void verify_flag(struct verify_item *it, int problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* check.c: every object's existence and size, from one listing of the node's
 * pool and one of the backup's own data folder. 0 or a CST_ code. */
int verify_listing(struct verify *v);
/* check.c: the checks of each object that the listing passed, in parallel:
 * the deep check of those selected, else the ETag (S3) and the header
 * (encrypted). 0 (each file's problem set) or a CST_ code (interrupted,
 * out of memory). */
int verify_objects(struct verify *v);
/* datakeys_check.c: each encrypted object's data key is in the store (for
 * backups with meta/auth.json). 0 or a CST_ code. */
int verify_data_keys(struct verify *v);
/* check.c: the damaged_objects record of each bad object (FORMAT.md). 0 or
 * the first storage failure (the others are still tried). */
int verify_record_damage(struct verify *v);

#endif
