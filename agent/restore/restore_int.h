/*
 * restore: what restore.c (the plan, the key, --target-dir) shares with
 * inplace.c (--in-place). Private to agent/restore/.
 */
#ifndef CASSETTE_RESTORE_INT_H
#define CASSETTE_RESTORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "fetch.h"
#include "util.h"

struct meta_auth;
struct select;

/* A table of the plan. */
struct rs_table {
	struct fetch_table ft;	/* first: a job's tab points here */
	size_t first, n_jobs;	/* its jobs, once grouped by table (in place) */
	uint64_t bytes;		/* their source bytes */
};

struct restore {
	const struct config *cfg;
	const struct restore_opts *o;
	const char *target;		/* --target-dir, or data_dir in place */
	int in_place;
	struct storage *st;
	struct keyset *keys;		/* NULL when every object is plaintext */
	struct fernet_key *medusa_key;	/* NULL: no object is Medusa-encrypted */
	const char *medusa_object;	/* the first that is (in names), else NULL */
	struct meta_auth *auth;		/* the backup's auth.json; NULL: nothing to check */
	struct select *sel;
	struct rs_table **tables;	/* each (keyspace, table) once, in manifest order */
	size_t n_tables, cap_tables;
	struct rs_table *cur;		/* the table being read; NULL: not restored */
	struct fetch_job *jobs;		/* in manifest order */
	size_t n_jobs, cap_jobs;
	struct cst_strpool names;
	uint64_t bytes;
	int encrypted;			/* some object is */
	char **dirs;		/* --target-dir: each destination directory once, sorted */
	size_t n_dirs, cap_dirs;
	char **created;		/* --target-dir: directories this restore made, parents first */
	size_t n_created, cap_created;
	size_t n_renamed;	/* --target-dir: jobs[0..n_renamed) are in place */
};

/* Read the manifest into the plan and check it whole (names, paths, one
 * destination per file; with --target-dir, none may exist), then load and
 * check the key when an object is encrypted (Medusa's Fernet key when one
 * is Medusa-encrypted). With a key configured, the
 * manifest must be the one meta/auth.json authenticates (rs->auth keeps it
 * for the tokenmap), else --allow-unauthenticated when there is none.
 * Nothing is written. 0, or a CST_ code / CMD_USAGE with the message set. */
int restore_prepare(struct restore *rs);
/* Rename a proven temp file to its destination, never over an existing
 * file. 0, or -1 with errno set. */
int restore_place(const char *tmp, const char *dest);
/* The workers of a fetch of n_jobs files. */
unsigned restore_workers(const struct restore *rs, size_t n_jobs);

/* restore-node --in-place (inplace.c), after the plan's object is set up. */
int restore_in_place(struct restore *rs);

/* preflight.c: the checks before stop_cmd, each 0 or a CST_ code (or
 * CMD_USAGE) with a message that ends "nothing was changed". */
/* data_dir, stop_cmd and start_cmd are set (CMD_USAGE otherwise). */
int preflight_config(const struct config *cfg);
/* The source node's tokens from its backup's meta/tokenmap.json
 * (tokenmap.h): *tokens is the caller's. */
int preflight_tokens(const struct restore *rs, char **tokens, size_t *n_tokens);
/* Each table's directories (swap_check) and file names; warns on stderr
 * about another directory of a table's name with another id. */
int preflight_tables(const struct restore *rs);
/* Warns on stderr when this node's own system.local holds data. */
void preflight_own_tokens(const char *data_dir);

/* Remove the restore temp files (FETCH_TMP_SUFFIX) in `dir`, not below it;
 * *n grows by their count. A missing dir holds none. */
int restore_clean_tmp(const char *dir, size_t *n);

#endif
