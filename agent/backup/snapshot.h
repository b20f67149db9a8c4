/*
 * snapshot: take a snapshot of every table under data_dir (nodetool, or
 * Cassandra's hard links done in-process), enumerate its files, clear it.
 */
#ifndef CASSETTE_SNAPSHOT_H
#define CASSETTE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "util.h"

/* keyspace, table and dir are shared by the files of one table, and rels
 * live in a string pool: only snapshot_free() frees them. A node may hold
 * 100,000 files: the path is not kept, snapshot_file_path() builds it. */
struct snap_file {
	char *keyspace;
	char *table;		/* table directory name "<table>-<id>" */
	char *dir;		/* the table's snapshot directory */
	char *rel;		/* "<file>" or ".<index>/<file>", under dir */
	uint64_t size;
	dev_t dev;
	ino_t ino;
	int64_t mtime_ns, ctime_ns;
	int64_t live_ctime_ns;	/* the live file's ctime before the snapshot
				 * linked it; -1 unknown (see live_ctime.h) */
};

struct snapshot {
	char *tag;
	struct snap_file *files;	/* sorted by keyspace, table, rel */
	size_t n_files;
	char *schema;			/* the tables' schema.cql, concatenated */
	int taken;			/* the snapshot exists on disk */
	struct cst_strpool rels;	/* where the rels live (snapshot_free) */
};

/* The file's absolute path, "<dir>/<rel>", into buf: 0, or CST_EINVALID
 * naming it when it does not fit in len bytes. */
int snapshot_file_path(char *buf, size_t len, const struct snap_file *f);

/* Snapshot every table as `tag`. Refuses an existing tag (CST_EEXISTS).
 * On failure anything it created is removed. *out owned by the caller. */
int snapshot_take(struct snapshot **out, const struct config *cfg, const char *tag);
/* The distinct snapshot tags under data_dir that start with `prefix`
 * (*tags: an array of strings, each and the array freed by the caller). */
int snapshot_tags(const struct config *cfg, const char *prefix, char ***tags, size_t *n);
/* Clear snapshot `tag` if a killed run left it (with a message). */
int snapshot_discard(const struct config *cfg, const char *tag);
/*
 * The two phases of a cluster backup, which takes every node's snapshot
 * close together in time and backs them up afterwards:
 * snapshot_prepare() takes snapshot `tag` and leaves it on disk, with the
 * live files' ctimes (for the hash cache) saved in `ctimes_path`. A snapshot
 * of the same tag left by an earlier first phase is cleared and retaken.
 * *n_tables: how many tables it holds. On failure nothing is left.
 * snapshot_open() enumerates an existing snapshot (CST_ENOTFOUND when no
 * table has it) as snapshot_take() would; snapshot_clear() removes it. A
 * missing or unreadable ctimes file only costs hashing: see live_ctime.h.
 */
int snapshot_prepare(const struct config *cfg, const char *tag, const char *ctimes_path,
		     size_t *n_tables);
int snapshot_open(struct snapshot **out, const struct config *cfg, const char *tag,
		  const char *ctimes_path);
/*
 * A first phase whose second never came (backup-cluster killed between
 * them) leaves its snapshot and its ctimes file "<dir>/<prefix><tag>.ctimes".
 * Clear each such snapshot, except `keep`, and remove its file, with one
 * line on stderr each. *n: how many. Only the first error is returned; the
 * others are still tried.
 */
int snapshot_clear_abandoned(const struct config *cfg, const char *dir, const char *prefix,
			     const char *keep, size_t *n);
/* Remove the snapshot from disk (nodetool clearsnapshot, or rm). */
int snapshot_clear(struct snapshot *snap, const struct config *cfg);
void snapshot_free(struct snapshot *snap);

/* Run `nodetool_cmd ARGS...` (NULL-terminated). With `out`, stdout is
 * captured (at most 64 MiB) and owned by the caller. A non-zero exit is
 * CST_ERROR naming the command. */
int nodetool_run(const struct config *cfg, char **out, const char *const *args);
/* Run `cmdline ARGS...` (split on blanks, no shell; `option` names it in
 * messages, e.g. "[cassandra] cqlsh_cmd") with stdin from /dev/null, stdout
 * captured into *out (at most 64 MiB, owned by the caller) and stderr kept.
 * A child still running after timeout_s seconds is killed. CST_ERROR names
 * the cause: cannot run, timed out, or the exit status with the first line
 * the command printed on stderr. */
int command_capture(const char *cmdline, const char *option, const char *const *args,
		    unsigned timeout_s, char **out);

#endif
