/* statedb: SQLite file per node holding the hash cache and the history cache. */
#define _GNU_SOURCE
#include "statedb.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct statedb {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put;
	int in_txn, in_read;
};

/* A row carries a checksum of all its fields, so bytes damaged in a way
 * SQLite's own checks miss are a cache miss, never a wrong MD5. */
static int64_t row_sum(const struct statedb_key *k, const unsigned char md5[16])
{
	uint64_t v[5] = { k->dev, k->ino, k->size, (uint64_t)k->mtime_ns, (uint64_t)k->ctime_ns };
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a 64 */
	const unsigned char *b = (const unsigned char *)v;
	size_t i;

	for (i = 0; i < sizeof(v); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	for (i = 0; i < 16; i++)
		h = (h ^ md5[i]) * 0x100000001b3ull;
	return (int64_t)h;
}

static int db_error(struct statedb *db, const char *what)
{
	int code = sqlite3_errcode(db->db) == SQLITE_NOMEM ? CST_ENOMEM : CST_EIO;

	return cst_error(code, "state db %s: %s: %s", db->path, what, sqlite3_errmsg(db->db));
}

static int is_corruption(int sqlite_rc)
{
	sqlite_rc &= 0xff;
	return sqlite_rc == SQLITE_NOTADB || sqlite_rc == SQLITE_CORRUPT;
}

/* The directory, 0700 when we create it (an existing one is left as it is). */
static int make_dir(const char *dir)
{
	struct stat st;
	char *parent, *slash;
	int rc = 0;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno == ENOENT) {
		if ((parent = cst_strdup(dir)) == NULL)
			return CST_ENOMEM;
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
			*slash = '\0';
			rc = cst_mkdirs(parent);
		}
		free(parent);
		if (rc != 0)
			return rc;
		if (mkdir(dir, 0700) == 0)
			return 0;
	}
	if (errno != EEXIST)
		return cst_error_errno("cannot create state_dir %s", dir);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return cst_error(CST_EINVALID, "state_dir %s is not a directory", dir);
	return 0;
}

/* Create the file 0600 ourselves: SQLite gives its -wal and -shm files the
 * mode of the database file. */
static int make_file(const char *path)
{
	struct stat st;
	int fd, rc = 0;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return cst_error_errno("cannot open state db %s", path);
	if (fstat(fd, &st) != 0)
		rc = cst_error_errno("cannot stat state db %s", path);
	else if (!S_ISREG(st.st_mode))
		rc = cst_error(CST_EINVALID, "state db %s is not a regular file", path);
	else if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)
		rc = cst_error_errno("cannot make state db %s private", path);
	close(fd);
	return rc;
}

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS file_md5 ("
	" dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,"
	" mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, md5 BLOB NOT NULL,"
	" sum INTEGER NOT NULL, PRIMARY KEY (dev, ino)) WITHOUT ROWID;";

/* Version 2: the history cache (agent/state/history_cache.c). */
static const char schema_v2_sql[] =
	"CREATE TABLE IF NOT EXISTS hist_meta (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS hist_backup (pos INTEGER PRIMARY KEY, name TEXT NOT NULL,"
	" started INTEGER NOT NULL, finished INTEGER NOT NULL, size INTEGER NOT NULL,"
	" sum INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hist_table (id INTEGER PRIMARY KEY, ks TEXT NOT NULL,"
	" cf TEXT NOT NULL, sum INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hist_key (key TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS hist_rec (tbl INTEGER NOT NULL, rel TEXT NOT NULL,"
	" kind BLOB NOT NULL, rec BLOB NOT NULL, path TEXT, own INTEGER NOT NULL,"
	" ord INTEGER NOT NULL, sum INTEGER NOT NULL, PRIMARY KEY (tbl, rel, kind)) WITHOUT ROWID;";

/* *corrupt is set when what is on disk is not a usable cache. */
static int check_and_migrate(struct statedb *db, int *corrupt)
{
	sqlite3_stmt *s = NULL;
	int rc, version = -1, ok = 0;

	/* WAL: readers never block the writer, and a crash mid-commit leaves
	 * the last committed state. synchronous = NORMAL in WAL mode can lose
	 * the last commit on power loss but never corrupts the file; a lost
	 * commit leaves rows whose ctime no longer matches (a re-hash), never
	 * a wrong MD5, so the fsync per commit buys nothing here.
	 * The cache is read up front in one pass and written in one pass at
	 * the end: a 512 KiB page cache does that as fast as the default
	 * 2 MiB, which a backup of 100,000 files holds all run long. */
	if ((rc = sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
			       "PRAGMA cache_size=-512;", NULL, NULL, NULL)) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_prepare_v2(db->db, "PRAGMA quick_check", -1, &s, NULL)) != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		ok += strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0 ? 1 : 2;
	sqlite3_finalize(s);
	s = NULL;
	if (rc != SQLITE_DONE)
		goto fail;
	if (ok != 1) {
		*corrupt = 1;
		return cst_error(CST_EINTEGRITY, "state db %s fails PRAGMA quick_check", db->path);
	}
	if ((rc = sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &s, NULL)) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (version == 0 || version == 1) {
		char sql[2048];

		/* 0: a new file; 1: the hash cache alone, whose rows stay */
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; %s %s PRAGMA user_version=%d; COMMIT;",
			 schema_sql, schema_v2_sql, STATEDB_SCHEMA_VERSION);
		if ((rc = sqlite3_exec(db->db, sql, NULL, NULL, NULL)) != SQLITE_OK) {
			sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	} else if (version != STATEDB_SCHEMA_VERSION) {
		*corrupt = 1;
		return cst_error(CST_EUNSUPPORTED, "state db %s has schema version %d, not %d",
				 db->path, version, STATEDB_SCHEMA_VERSION);
	}
	if ((rc = sqlite3_prepare_v2(db->db, "SELECT size, mtime_ns, ctime_ns, md5, sum FROM file_md5 "
				     "WHERE dev = ?1 AND ino = ?2", -1, &db->get, NULL)) != SQLITE_OK ||
	    (rc = sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO file_md5 VALUES "
				     "(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &db->put, NULL)) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	*corrupt = is_corruption(rc);
	return db_error(db, "cannot open");
}

static void close_handle(struct statedb *db)
{
	sqlite3_finalize(db->get);
	sqlite3_finalize(db->put);
	db->get = db->put = NULL;
	sqlite3_close(db->db);
	db->db = NULL;
}

static int open_once(struct statedb *db, int *corrupt)
{
	int rc;

	*corrupt = 0;
	if ((rc = make_file(db->path)) != 0)
		return rc;
	if (sqlite3_open_v2(db->path, &db->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		rc = db_error(db, "cannot open");
		close_handle(db);
		return rc;
	}
	sqlite3_extended_result_codes(db->db, 0);
	sqlite3_busy_timeout(db->db, 10000);
	if ((rc = check_and_migrate(db, corrupt)) != 0)
		close_handle(db);
	return rc;
}

/* Move the damaged file aside (one copy kept for a post-mortem) with its
 * WAL and shared-memory files, so the next open starts empty. */
static int move_aside(const char *path)
{
	char *aside = cst_sprintf("%s.corrupt", path), *wal = cst_sprintf("%s-wal", path);
	char *shm = cst_sprintf("%s-shm", path);
	int rc = 0;

	if (aside == NULL || wal == NULL || shm == NULL)
		rc = CST_ENOMEM;
	else if (rename(path, aside) != 0)
		rc = cst_error_errno("cannot move state db %s aside", path);
	if (rc == 0) {
		unlink(wal);
		unlink(shm);
	}
	free(aside);
	free(wal);
	free(shm);
	return rc;
}

int statedb_open(struct statedb **out, const char *dir, const char *name)
{
	struct statedb *db;
	int rc, corrupt = 0;

	*out = NULL;
	if ((rc = make_dir(dir)) != 0)
		return rc;
	if ((db = cst_calloc(1, sizeof(*db))) == NULL)
		return CST_ENOMEM;
	if ((db->path = cst_sprintf("%s/%s.db", dir, name)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = open_once(db, &corrupt)) != 0 && corrupt) {
		fprintf(stderr, "cassette: warning: %s; moved aside to %s.corrupt and rebuilt "
			"(this run hashes every file)\n", cst_error_msg(), db->path);
		if ((rc = move_aside(db->path)) == 0)
			rc = open_once(db, &corrupt);
	}
out:
	if (rc != 0) {
		statedb_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

void statedb_close(struct statedb *db)
{
	if (db == NULL)
		return;
	if ((db->in_txn || db->in_read) && db->db != NULL)
		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
	close_handle(db);
	free(db->path);
	free(db);
}

const char *statedb_path(const struct statedb *db)
{
	return db->path;
}

struct sqlite3 *statedb_sqlite(struct statedb *db)
{
	return db->db;
}

int statedb_lookup(struct statedb *db, const struct statedb_key *k, unsigned char md5[16], int *bad)
{
	struct statedb_key got = *k;
	int rc, found = 0;

	sqlite3_reset(db->get);
	sqlite3_bind_int64(db->get, 1, (sqlite3_int64)k->dev);
	sqlite3_bind_int64(db->get, 2, (sqlite3_int64)k->ino);
	rc = sqlite3_step(db->get);
	if (rc == SQLITE_ROW) {
		const void *blob = sqlite3_column_blob(db->get, 3);

		got.size = (uint64_t)sqlite3_column_int64(db->get, 0);
		got.mtime_ns = sqlite3_column_int64(db->get, 1);
		got.ctime_ns = sqlite3_column_int64(db->get, 2);
		if (blob == NULL || sqlite3_column_bytes(db->get, 3) != 16) {
			*bad = 1;
		} else {
			memcpy(md5, blob, 16);
			if (sqlite3_column_int64(db->get, 4) != row_sum(&got, md5))
				*bad = 1;
			else
				found = got.size == k->size && got.mtime_ns == k->mtime_ns &&
					got.ctime_ns == k->ctime_ns;
		}
		rc = SQLITE_DONE;
	}
	sqlite3_reset(db->get);
	if (rc != SQLITE_DONE)
		return db_error(db, "lookup failed");
	if (!found)
		memset(md5, 0, 16);
	return found;
}

int statedb_read_begin(struct statedb *db)
{
	if (sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, "cannot start a read");
	db->in_read = 1;
	return 0;
}

void statedb_read_end(struct statedb *db)
{
	if (db != NULL && db->in_read)
		sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
	if (db != NULL)
		db->in_read = 0;
}

int statedb_replace_begin(struct statedb *db)
{
	if (sqlite3_exec(db->db, "BEGIN IMMEDIATE; DELETE FROM file_md5;", NULL, NULL, NULL) != SQLITE_OK) {
		int rc = db_error(db, "cannot start an update");

		sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	db->in_txn = 1;
	return 0;
}

int statedb_replace_put(struct statedb *db, const struct statedb_key *k, const unsigned char md5[16])
{
	int rc;

	sqlite3_reset(db->put);
	sqlite3_bind_int64(db->put, 1, (sqlite3_int64)k->dev);
	sqlite3_bind_int64(db->put, 2, (sqlite3_int64)k->ino);
	sqlite3_bind_int64(db->put, 3, (sqlite3_int64)k->size);
	sqlite3_bind_int64(db->put, 4, k->mtime_ns);
	sqlite3_bind_int64(db->put, 5, k->ctime_ns);
	sqlite3_bind_blob(db->put, 6, md5, 16, SQLITE_STATIC);
	sqlite3_bind_int64(db->put, 7, row_sum(k, md5));
	rc = sqlite3_step(db->put);
	sqlite3_reset(db->put);
	return rc == SQLITE_DONE ? 0 : db_error(db, "cannot write");
}

int statedb_replace_commit(struct statedb *db)
{
	if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(db, "cannot commit");	/* still in_txn: close rolls back */
	db->in_txn = 0;
	return 0;
}

int statedb_count(struct statedb *db, uint64_t *n)
{
	sqlite3_stmt *s = NULL;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(db->db, "SELECT count(*) FROM file_md5", -1, &s, NULL) != SQLITE_OK)
		return db_error(db, "cannot count");
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : db_error(db, "cannot count");
}
