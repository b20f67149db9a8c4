/*
 * statedb: the node's local state database (SQLite, WAL). Today it holds the
 * hash cache: the source MD5 of each file, keyed by the inode facts that make
 * it safe to trust (device, inode, size, mtime and ctime in ns). It knows
 * nothing of snapshots; agent/hashcache.c decides which ctime is trusted.
 * Since version 2 it also holds the history cache (the node's manifests
 * already read), whose tables history_cache.c reads and writes through
 * statedb_sqlite().
 *
 * One connection, one thread. Every function returns 0 or a negative CST_
 * code with the message (naming the database file) in the error slot.
 */
#ifndef CASSETTE_STATEDB_H
#define CASSETTE_STATEDB_H

#include <stdint.h>

#define STATEDB_SCHEMA_VERSION 2

struct statedb;

struct statedb_key {
	uint64_t dev, ino, size;
	int64_t mtime_ns, ctime_ns;
};

/*
 * Open <dir>/<name>.db, creating `dir` (0700) and the file (0600) when
 * missing. A file that is not a database, fails PRAGMA quick_check or has
 * another schema version is moved aside to <name>.db.corrupt and rebuilt
 * empty, with one warning on stderr: a cache can always be rebuilt. Errors
 * (a directory that cannot be created, a file that cannot be opened or
 * written) leave *out NULL. *out owned by the caller.
 */
int statedb_open(struct statedb **out, const char *dir, const char *name);
/* Close; a replace not committed is rolled back. NULL is a no-op. */
void statedb_close(struct statedb *db);
/* The database file's path. Borrowed. */
const char *statedb_path(const struct statedb *db);

/*
 * 1 with `md5` filled when the row for (k->dev, k->ino) has every other
 * field equal to k's and its checksum is intact; 0 when there is no such
 * row. *bad is set to 1 when a row exists but fails its checksum (corrupt
 * bytes are never taken for an MD5).
 */
int statedb_lookup(struct statedb *db, const struct statedb_key *k, unsigned char md5[16], int *bad);

/* Hold one read transaction over many lookups (one lock, not one a lookup).
 * statedb_read_end() is a no-op without a statedb_read_begin(). */
int statedb_read_begin(struct statedb *db);
void statedb_read_end(struct statedb *db);

/*
 * Replace every row in one transaction: begin (which deletes the old rows
 * inside the transaction), put each row, commit. Nothing changes on disk
 * until the commit succeeds.
 */
int statedb_replace_begin(struct statedb *db);
int statedb_replace_put(struct statedb *db, const struct statedb_key *k, const unsigned char md5[16]);
int statedb_replace_commit(struct statedb *db);

/* The SQLite handle, for the modules that own other tables of the file
 * (history_cache.c). Borrowed; one thread at a time. */
struct sqlite3;
struct sqlite3 *statedb_sqlite(struct statedb *db);

/* Rows in the database (tests and diagnostics). */
int statedb_count(struct statedb *db, uint64_t *n);

#endif
