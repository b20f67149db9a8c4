/*
 * swap: one table directory of a data dir replaced by a restored one, so
 * that a failure at any step puts the table back as it was.
 *
 *   <data_dir>/<ks>/.cassette-restore-<cf>/   filled by the caller (the temp dir)
 *   <data_dir>/<ks>/<cf>/                     the live table, if there is one
 *   <data_dir>/<ks>/.cassette-old-<cf>/       the live table, set aside
 *
 * swap_commit() moves the live table's snapshots/ and backups/ into the temp
 * dir (they are the operator's, never deleted), renames the live dir aside
 * and the temp dir into its place, fsyncs the keyspace dir, then removes the
 * old dir. So the disk holds at most one table twice.
 *
 * Ownership and modes: Cassandra runs as its own user and the restore
 * usually as root, so every directory made here gets data_dir's owner and
 * group and mode 0755 (files: 0644, see fetch_params). Those are the modes
 * Cassandra itself gives its table directories and SSTables.
 */
#ifndef CASSETTE_SWAP_H
#define CASSETTE_SWAP_H

#include <sys/types.h>

struct swap_owner {
	int chown;		/* 1: what is made must be given uid:gid */
	uid_t uid;
	gid_t gid;
};

/*
 * The owner of data_dir, which must be a directory. When this process is
 * not root and cannot give a file that owner (another uid, or a group it is
 * not in), CST_EINVALID: the restored files would not be Cassandra's.
 */
int swap_owner_of(struct swap_owner *out, const char *data_dir);

/*
 * Before anything is changed, for each table to restore: the keyspace dir is
 * a directory or absent; the live table dir, if any, is a directory (not a
 * link) on the keyspace dir's file system, with no mount point at snapshots/
 * or backups/; the names fit. (Dirs left by an interrupted restore are
 * swap_recover()'s.) 0, or a CST_ code naming the path.
 */
int swap_check(const char *data_dir, const char *ks, const char *cf);

/*
 * Put right what a restore killed mid-table (SIGKILL, power loss) left in
 * <data_dir>/<ks>: with Cassandra stopped, before that table is restored
 * again. An old dir without a live one is renamed back (the table as it
 * was); an old dir beside a live one is removed (its swap had completed);
 * a temp dir is an unfinished download: the snapshots/ and backups/ a
 * commit had moved into it go back to the live dir, then it is removed.
 * *recovered: whether there was anything. 0, or a CST_ code naming the
 * path (snapshots/ that cannot go back are never deleted).
 */
int swap_recover(const char *data_dir, const char *ks, const char *cf, int *recovered);

struct swap;

/*
 * Make the temp dir (and the keyspace dir if missing), owned as `owner`
 * says. *out is the caller's: swap_commit() or swap_abort(), then
 * swap_free().
 */
int swap_begin(struct swap **out, const char *data_dir, const char *ks, const char *cf,
	       const struct swap_owner *owner);
/* The temp dir to fill (borrowed). */
const char *swap_dir(const struct swap *s);
/* Make <temp dir>/<sub> (an index dir, ".<index>"); existing is fine. */
int swap_mkdir(struct swap *s, const char *sub);
/*
 * fsync the temp dir and its subdirs, move snapshots/ and backups/ over,
 * swap, fsync the keyspace dir, remove the old dir. 0 when all of it was
 * done. On failure, swap_committed() tells whether the new dir was already
 * in place (then only the old dir's removal failed, and the message names
 * it); if not, call swap_abort().
 */
int swap_commit(struct swap *s);
int swap_committed(const struct swap *s);
/*
 * Put the table back as it was before swap_begin(): the live dir and its
 * snapshots/ and backups/ back, the temp dir (and a keyspace dir made here)
 * removed. 0, or a CST_ code whose message says what could not be put back
 * and where it is (or, when only the temp dir could not be removed, that
 * the table is back). A no-op once swap_committed().
 */
int swap_abort(struct swap *s);
/* NULL is a no-op. */
void swap_free(struct swap *s);

#endif
