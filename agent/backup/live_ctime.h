/*
 * live_ctime: the ctime of every live SSTable file, read just before the
 * snapshot is taken. The snapshot's hard links change each inode's ctime, so
 * the hash cache trusts the ctime the live file had before tonight's links
 * (see the hash cache section of docs/FORMAT.md).
 */
#ifndef CASSETTE_LIVE_CTIME_H
#define CASSETTE_LIVE_CTIME_H

struct snapshot;
struct live_ctimes;

/*
 * lstat every regular file in <data_dir>/<ks>/<table>-<id>/ and its
 * .<index>/ subdirectories: a sorted array of (dev, ino, ctime), 24 bytes a
 * file. Directories that cannot be read are skipped (their files are then
 * unknown: a cache miss, never a wrong hit). Fails only for CST_ENOMEM.
 * *out owned by the caller.
 */
int live_ctimes_collect(struct live_ctimes **out, const char *data_dir);
/* Set live_ctime_ns of every snapshot file by (dev, ino); -1 when unknown. */
void live_ctimes_apply(const struct live_ctimes *lc, struct snapshot *snap);
void live_ctimes_free(struct live_ctimes *lc);

/*
 * A snapshot taken by one run and backed up by the next (backup-cluster's
 * two phases) carries its ctimes in a small machine-local file: a magic
 * line, then the entries as they are in memory. save writes it atomically
 * (temp, fsync, rename). load gives *out NULL with rc 0 when the file is
 * missing or not one of ours: the files' ctimes are then unknown, a cache
 * miss for each, never a wrong hit.
 */
int live_ctimes_save(const struct live_ctimes *lc, const char *path);
int live_ctimes_load(struct live_ctimes **out, const char *path);

#endif
