/* hashcache: the trusted-ctime rule over statedb, for one backup run. */
#define _GNU_SOURCE
#include "hashcache.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "snapshot.h"
#include "statedb.h"
#include "util.h"

enum {
	F_CACHED = 1,	/* the cache holds an MD5 for this inode as it is */
	F_TRUSTED = 2,	/* the cached MD5 stood for reading the file */
	F_HASHED = 4,	/* read to compare */
	F_RESULT = 8,	/* md5[] holds the MD5 this backup records */
	F_STORED = 16,	/* this run stored it */
	F_STALE = 32,	/* the inode changed during the run: not recorded */
	F_WRONG = 64	/* --verify-hashes: the cached MD5 was not the file's */
};

struct hashcache {
	const struct snapshot *snap;
	struct statedb *db;		/* NULL: running without the cache */
	int verify, warned;
	unsigned char (*md5)[16];	/* per file: cached, then the result */
	unsigned char *flags;
};

#define RUN_WITHOUT "running without it (every file is hashed)"
#define NOT_SAVED "not updated (the next run hashes every file)"

/* The first problem with the cache is worth a line; the rest add nothing. */
static void warn_off(struct hashcache *hc, const char *what, const char *consequence)
{
	if (!hc->warned)
		fprintf(stderr, "cassette: warning: hash cache: %s; %s\n", what, consequence);
	hc->warned = 1;
	statedb_close(hc->db);
	hc->db = NULL;
}

static void key_of(struct statedb_key *k, const struct snap_file *f, int64_t ctime_ns)
{
	k->dev = (uint64_t)f->dev;
	k->ino = (uint64_t)f->ino;
	k->size = f->size;
	k->mtime_ns = f->mtime_ns;
	k->ctime_ns = ctime_ns;
}

static void look_up_all(struct hashcache *hc)
{
	uint64_t bad_rows = 0;
	size_t i;

	if (hc->db != NULL && statedb_read_begin(hc->db) != 0) {
		warn_off(hc, cst_error_msg(), RUN_WITHOUT);
		return;
	}
	for (i = 0; hc->db != NULL && i < hc->snap->n_files; i++) {
		const struct snap_file *f = &hc->snap->files[i];
		struct statedb_key k;
		int bad = 0, rc;

		if (f->live_ctime_ns < 0)
			continue;
		key_of(&k, f, f->live_ctime_ns);
		if ((rc = statedb_lookup(hc->db, &k, hc->md5[i], &bad)) < 0) {
			memset(hc->flags, 0, hc->snap->n_files);
			warn_off(hc, cst_error_msg(), RUN_WITHOUT);
			return;
		}
		if (rc == 1)
			hc->flags[i] |= F_CACHED;
		bad_rows += (uint64_t)bad;
	}
	statedb_read_end(hc->db);
	if (bad_rows > 0 && !hc->warned) {
		fprintf(stderr, "cassette: warning: hash cache: %llu rows of %s fail their checksum; "
			"ignored (those files are hashed)\n", (unsigned long long)bad_rows,
			statedb_path(hc->db));
		hc->warned = 1;
	}
}

int hashcache_open(struct hashcache **out, const struct config *cfg, const struct snapshot *snap,
		   int verify)
{
	struct hashcache *hc;
	size_t n = snap->n_files ? snap->n_files : 1;
	int rc;

	*out = NULL;
	if ((hc = cst_calloc(1, sizeof(*hc))) == NULL)
		return CST_ENOMEM;
	hc->snap = snap;
	hc->verify = verify;
	if ((hc->md5 = cst_calloc(n, sizeof(*hc->md5))) == NULL ||
	    (hc->flags = cst_calloc(n, 1)) == NULL) {
		hashcache_free(hc);
		return CST_ENOMEM;
	}
	if ((rc = statedb_open(&hc->db, cfg->state_dir, cfg->fqdn)) == CST_ENOMEM) {
		hashcache_free(hc);
		return rc;
	}
	if (rc != 0)
		warn_off(hc, cst_error_msg(), RUN_WITHOUT);
	cst_error_clear();
	look_up_all(hc);
	*out = hc;
	return 0;
}

void hashcache_free(struct hashcache *hc)
{
	if (hc == NULL)
		return;
	statedb_close(hc->db);
	free(hc->md5);
	free(hc->flags);
	free(hc);
}

int hashcache_trusted(struct hashcache *hc, size_t i, unsigned char md5[16])
{
	if (hc == NULL || hc->verify || !(hc->flags[i] & F_CACHED))
		return 0;
	memcpy(md5, hc->md5[i], 16);
	hc->flags[i] |= F_TRUSTED;
	return 1;
}

void hashcache_hashed(struct hashcache *hc, size_t i, const unsigned char md5[16])
{
	if (hc == NULL)
		return;
	hc->flags[i] |= F_HASHED;
	if ((hc->flags[i] & F_CACHED) && memcmp(hc->md5[i], md5, 16) != 0)
		hc->flags[i] |= F_WRONG;
}

void hashcache_result(struct hashcache *hc, size_t i, const char *md5_hex, int stored)
{
	unsigned char md5[16];

	if (hc == NULL)
		return;
	if (stored)
		hc->flags[i] |= F_STORED;
	if (md5_hex == NULL || cst_unhex(md5, 16, md5_hex) != 0) {
		cst_error_clear();
		return;		/* no MD5 to record: the row is dropped */
	}
	if ((hc->flags[i] & F_CACHED) && !(hc->flags[i] & F_HASHED) && memcmp(hc->md5[i], md5, 16) != 0)
		hc->flags[i] |= F_WRONG;	/* a stored file the pipeline hashed */
	memcpy(hc->md5[i], md5, 16);
	hc->flags[i] |= F_RESULT;
}

static int same_inode(const struct stat *st, const struct snap_file *f)
{
	return S_ISREG(st->st_mode) && (uint64_t)st->st_dev == (uint64_t)f->dev &&
	       (uint64_t)st->st_ino == (uint64_t)f->ino && (uint64_t)st->st_size == f->size &&
	       (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec == f->mtime_ns;
}

static int64_t ctime_of(const struct stat *st)
{
	return (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
}

void hashcache_check_snapshot(struct hashcache *hc)
{
	size_t i;

	if (hc == NULL || hc->db == NULL)
		return;
	for (i = 0; i < hc->snap->n_files; i++) {
		const struct snap_file *f = &hc->snap->files[i];
		char path[PATH_MAX];
		struct stat st;

		if (snapshot_file_path(path, sizeof(path), f) != 0) {
			cst_error_clear();
			hc->flags[i] |= F_STALE;
		} else if (lstat(path, &st) != 0 || !same_inode(&st, f) || ctime_of(&st) != f->ctime_ns) {
			hc->flags[i] |= F_STALE;
		}
	}
}

void hashcache_save(struct hashcache *hc, const struct config *cfg)
{
	size_t i;
	int rc;

	if (hc == NULL || hc->db == NULL)
		return;
	if ((rc = statedb_replace_begin(hc->db)) != 0) {
		warn_off(hc, cst_error_msg(), NOT_SAVED);
		return;
	}
	for (i = 0; i < hc->snap->n_files; i++) {
		const struct snap_file *f = &hc->snap->files[i];
		struct statedb_key k;
		struct stat st;
		char *live;

		if ((hc->flags[i] & (F_RESULT | F_STALE)) != F_RESULT)
			continue;
		if ((live = cst_sprintf("%s/%s/%s/%s", cfg->data_dir, f->keyspace, f->table,
					f->rel)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		/* the live file as we leave it: its ctime is the one the next
		 * run must find before it takes its snapshot */
		if (lstat(live, &st) == 0 && same_inode(&st, f)) {
			key_of(&k, f, ctime_of(&st));
			rc = statedb_replace_put(hc->db, &k, hc->md5[i]);
		}
		free(live);
		if (rc != 0)
			break;
	}
	if (rc == 0)
		rc = statedb_replace_commit(hc->db);
	if (rc != 0)
		warn_off(hc, cst_error_msg(), NOT_SAVED);	/* rolled back: old rows no longer match */
	cst_error_clear();
}

void hashcache_counts(const struct hashcache *hc, struct hashcache_counts *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	if (hc == NULL) {
		out->state = HASHCACHE_OFF;
		return;
	}
	out->state = hc->verify ? HASHCACHE_VERIFY : hc->db == NULL && hc->warned ? HASHCACHE_OFF
									  : HASHCACHE_ON;
	for (i = 0; i < hc->snap->n_files; i++) {
		unsigned f = hc->flags[i];

		if ((f & F_TRUSTED) && !(f & F_STORED)) {
			out->trusted_files++;
			out->trusted_bytes += hc->snap->files[i].size;
		}
		if (f & F_HASHED) {
			out->hashed_files++;
			out->hashed_bytes += hc->snap->files[i].size;
		}
		if (f & F_WRONG)
			out->disagreed++;
	}
}
