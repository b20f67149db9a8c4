/* swap: replace one table directory; see swap.h. */
#define _GNU_SOURCE
#include "swap.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define TEMP_PREFIX ".cassette-restore-"
#define OLD_PREFIX ".cassette-old-"
#define MAX_SUBDIRS 64

/* What a table dir holds that is not the table's data: kept across a swap. */
static const char *const kept_names[] = { "snapshots", "backups" };
#define N_KEPT (sizeof(kept_names) / sizeof(kept_names[0]))

struct swap {
	struct swap_owner owner;
	char *ks_dir, *live, *temp, *old;
	int made_ks_dir;		/* the keyspace dir is this swap's */
	char *subdirs[MAX_SUBDIRS];	/* made in temp */
	size_t n_subdirs;
	int moved[N_KEPT];		/* kept_names[i] is in temp now */
	int live_aside;			/* live was renamed to old */
	int new_in_place;		/* temp was renamed to live */
	int committed;
};

static int in_group(gid_t gid)
{
	gid_t groups[256];
	int i, n = getgroups(256, groups);

	if (gid == getegid())
		return 1;
	for (i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

int swap_owner_of(struct swap_owner *out, const char *data_dir)
{
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (stat(data_dir, &st) != 0)
		return cst_error_errno("[cassandra] data_dir %s", data_dir);
	if (!S_ISDIR(st.st_mode))
		return cst_error(CST_EINVALID, "[cassandra] data_dir %s is not a directory", data_dir);
	out->uid = st.st_uid;
	out->gid = st.st_gid;
	out->chown = st.st_uid != geteuid() || st.st_gid != getegid();
	if (geteuid() != 0 && (st.st_uid != geteuid() || !in_group(st.st_gid)))
		return cst_error(CST_EINVALID, "data_dir %s belongs to %u:%u and this restore runs as "
				 "uid %u, which cannot give restored files that owner: run it as root "
				 "or as the data dir's owner", data_dir, (unsigned)st.st_uid,
				 (unsigned)st.st_gid, (unsigned)geteuid());
	return 0;
}

/* A new directory of mode 0755 (whatever the umask) and the right owner. */
static int make_dir(const char *path, const struct swap_owner *owner)
{
	if (mkdir(path, 0755) != 0)
		return cst_error_errno("cannot create directory %s", path);
	if (chmod(path, 0755) != 0 || (owner->chown && lchown(path, owner->uid, owner->gid) != 0)) {
		rmdir(path);
		return cst_error_errno("cannot set the owner and mode of %s", path);
	}
	return 0;
}

/* 1 when path exists (not followed), 0 when not, or a CST_ code. */
static int present(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : cst_error_errno("cannot stat %s", path);
}

/* The keyspace dir's checks, past its own: see swap.h. */
static int check_table(const char *ks_dir, const struct stat *kst, const char *cf)
{
	char *path = NULL;
	struct stat st;
	size_t i;
	int rc = 0;

	/* A temp or old dir left by an interrupted restore is put right by
	 * swap_recover(), once Cassandra is stopped. */
	if ((path = cst_sprintf("%s/%s", ks_dir, cf)) == NULL)
		goto out;
	if (lstat(path, &st) != 0) {
		rc = errno == ENOENT ? 0 : cst_error_errno("cannot stat %s", path);
		goto out;
	}
	if (!S_ISDIR(st.st_mode) || st.st_dev != kst->st_dev) {
		rc = cst_error(CST_EINVALID, "%s is %s: a restore in place replaces table directories "
			       "by renaming them; nothing was changed", path,
			       S_ISDIR(st.st_mode) ? "a mount point" : "not a directory (a symbolic link?)");
		goto out;
	}
	for (i = 0; i < N_KEPT; i++) {
		free(path);
		if ((path = cst_sprintf("%s/%s/%s", ks_dir, cf, kept_names[i])) == NULL)
			goto out;
		if (lstat(path, &st) == 0 && st.st_dev != kst->st_dev) {
			rc = cst_error(CST_EINVALID, "%s is a mount point: a restore in place moves it "
				       "into the restored table directory; nothing was changed", path);
			goto out;
		}
	}
out:
	if (path == NULL && rc == 0)
		rc = CST_ENOMEM;
	free(path);
	return rc;
}

/* Move temp's snapshots/ and backups/ (moved there by a commit that never
 * finished) back into live, then remove temp. */
static int recover_temp(const char *live, const char *temp, int live_exists)
{
	char *from = NULL, *to = NULL;
	size_t i;
	int rc = 0, p;

	for (i = 0; rc == 0 && i < N_KEPT; i++) {
		free(from);
		free(to);
		from = cst_sprintf("%s/%s", temp, kept_names[i]);
		to = cst_sprintf("%s/%s", live, kept_names[i]);
		if (from == NULL || to == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		if ((p = present(from)) <= 0) {
			rc = p;
			continue;
		}
		if (!live_exists || (p = present(to)) != 0)
			rc = p < 0 ? p : cst_error(CST_EEXISTS, "%s holds %s, which an interrupted restore "
				   "moved there, and %s cannot take it back; move it by hand",
				   temp, kept_names[i], live);
		else if (rename(from, to) != 0)
			rc = cst_error_errno("cannot move %s back to %s", from, to);
	}
	if (rc == 0)
		rc = cst_remove_tree(temp);
	free(from);
	free(to);
	return rc;
}

int swap_recover(const char *data_dir, const char *ks, const char *cf, int *recovered)
{
	char *ks_dir = cst_path_join(data_dir, ks), *live = NULL, *temp = NULL, *old = NULL;
	int rc = 0, has_live, has_temp, has_old;

	*recovered = 0;
	if (ks_dir == NULL || (live = cst_path_join(ks_dir, cf)) == NULL ||
	    (temp = cst_sprintf("%s/" TEMP_PREFIX "%s", ks_dir, cf)) == NULL ||
	    (old = cst_sprintf("%s/" OLD_PREFIX "%s", ks_dir, cf)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((has_live = present(live)) < 0 || (has_temp = present(temp)) < 0 ||
	    (has_old = present(old)) < 0) {
		rc = cst_error_code();
		goto out;
	}
	if (!has_temp && !has_old)
		goto out;
	*recovered = 1;
	/* The order of a swap (swap.h): kept dirs into temp, live -> old,
	 * temp -> live, fsync, remove old. So old without live: the table as
	 * it was, renamed aside; old with live: the swap was done. */
	if (has_old && !has_live) {
		if (rename(old, live) != 0) {
			rc = cst_error_errno("cannot rename %s back to %s", old, live);
			goto out;
		}
		has_live = 1;
	} else if (has_old && (rc = cst_remove_tree(old)) != 0) {
		goto out;
	}
	/* temp: a download that was never swapped in (the table as before is
	 * live, or there was none) */
	if (has_temp && (rc = recover_temp(live, temp, has_live)) != 0)
		goto out;
	rc = cst_fsync_dir(ks_dir);
out:
	free(ks_dir);
	free(live);
	free(temp);
	free(old);
	return rc;
}

int swap_check(const char *data_dir, const char *ks, const char *cf)
{
	struct stat kst;
	char *ks_dir;
	int rc = 0;

	if (strlen(cf) + strlen(TEMP_PREFIX) > 255)
		return cst_error(CST_EINVALID, "table directory name %s.%s is too long to restore in "
				 "place", ks, cf);
	if ((ks_dir = cst_path_join(data_dir, ks)) == NULL)
		return CST_ENOMEM;
	if (stat(ks_dir, &kst) != 0)	/* a new keyspace: nothing there to check */
		rc = errno == ENOENT ? 0 : cst_error_errno("cannot stat %s", ks_dir);
	else if (!S_ISDIR(kst.st_mode))
		rc = cst_error(CST_EINVALID, "%s is not a directory; nothing was changed", ks_dir);
	else if (access(ks_dir, W_OK) != 0)
		rc = cst_error_errno("cannot restore into %s", ks_dir);
	else
		rc = check_table(ks_dir, &kst, cf);
	free(ks_dir);
	return rc;
}

int swap_begin(struct swap **out, const char *data_dir, const char *ks, const char *cf,
	       const struct swap_owner *owner)
{
	struct swap *s;
	int rc;

	*out = NULL;
	if ((s = cst_calloc(1, sizeof(*s))) == NULL)
		return CST_ENOMEM;
	s->owner = *owner;
	if ((s->ks_dir = cst_path_join(data_dir, ks)) == NULL ||
	    (s->live = cst_sprintf("%s/%s", s->ks_dir, cf)) == NULL ||
	    (s->temp = cst_sprintf("%s/" TEMP_PREFIX "%s", s->ks_dir, cf)) == NULL ||
	    (s->old = cst_sprintf("%s/" OLD_PREFIX "%s", s->ks_dir, cf)) == NULL) {
		rc = CST_ENOMEM;
		goto fail;
	}
	if (access(s->ks_dir, F_OK) != 0 && errno == ENOENT) {
		if ((rc = make_dir(s->ks_dir, owner)) != 0 || (rc = cst_fsync_dir(data_dir)) != 0)
			goto fail;
		s->made_ks_dir = 1;
	}
	if ((rc = make_dir(s->temp, owner)) != 0)
		goto fail;
	*out = s;
	return 0;
fail:
	if (s->made_ks_dir)
		rmdir(s->ks_dir);
	swap_free(s);
	return rc;
}

const char *swap_dir(const struct swap *s)
{
	return s->temp;
}

int swap_mkdir(struct swap *s, const char *sub)
{
	char *path;
	size_t i;
	int rc;

	for (i = 0; i < s->n_subdirs; i++)
		if (strcmp(s->subdirs[i], sub) == 0)
			return 0;
	if (s->n_subdirs == MAX_SUBDIRS)
		return cst_error(CST_EINVALID, "%s: more than %d index directories", s->live, MAX_SUBDIRS);
	if ((path = cst_path_join(s->temp, sub)) == NULL || (s->subdirs[s->n_subdirs] = cst_strdup(sub)) == NULL) {
		free(path);
		return CST_ENOMEM;
	}
	if ((rc = make_dir(path, &s->owner)) != 0)
		free(s->subdirs[s->n_subdirs]);
	else
		s->n_subdirs++;
	free(path);
	return rc;
}

/* rename, never over anything: -1 with errno EEXIST then. Where the file
 * system has no RENAME_NOREPLACE, the check before is all there is (the
 * data dir is Cassandra's, and Cassandra is stopped). */
static int rename_new(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

/* Move <from>/<name> to <to>/<name>, never over anything. 0 when moved,
 * 1 when <from>/<name> does not exist. */
static int move_entry(const char *from, const char *to, const char *name)
{
	char *src = cst_path_join(from, name), *dst = cst_path_join(to, name);
	int rc = 0;

	if (src == NULL || dst == NULL)
		rc = CST_ENOMEM;
	else if (rename_new(src, dst) == 0)
		rc = 0;
	else if (errno == ENOENT && access(src, F_OK) != 0)
		rc = 1;
	else
		rc = cst_error_errno("cannot move %s to %s", src, dst);
	free(src);
	free(dst);
	return rc;
}

static int sync_temp(struct swap *s)
{
	char *path;
	size_t i;
	int rc = 0;

	for (i = 0; i < s->n_subdirs && rc == 0; i++) {
		if ((path = cst_path_join(s->temp, s->subdirs[i])) == NULL)
			return CST_ENOMEM;
		rc = cst_fsync_dir(path);
		free(path);
	}
	return rc ? rc : cst_fsync_dir(s->temp);
}

int swap_commit(struct swap *s)
{
	struct stat st;
	size_t i;
	int rc, live = lstat(s->live, &st) == 0;

	if ((rc = sync_temp(s)) != 0)
		return rc;
	for (i = 0; i < N_KEPT && live; i++) {
		if ((rc = move_entry(s->live, s->temp, kept_names[i])) < 0)
			return rc;
		s->moved[i] = rc == 0;
	}
	if (live && rename_new(s->live, s->old) != 0)
		return cst_error_errno("cannot rename %s to %s", s->live, s->old);
	s->live_aside = live;
	if (rename_new(s->temp, s->live) != 0)
		return cst_error_errno("cannot rename %s to %s", s->temp, s->live);
	s->new_in_place = 1;
	if ((rc = cst_fsync_dir(s->ks_dir)) != 0)
		return rc;
	/* the new table is durably in place: from here on there is no way back */
	s->committed = 1;
	if (s->live_aside && (rc = cst_remove_tree(s->old)) != 0)
		return cst_error(rc, "the table is restored, but its old directory %s could not be "
				 "removed: %s", s->old, cst_error_msg());
	return 0;
}

int swap_committed(const struct swap *s)
{
	return s->committed;
}

int swap_abort(struct swap *s)
{
	int rc = 0, stuck = 0;
	size_t i;

	if (s == NULL || s->committed)
		return 0;
	if (s->new_in_place && rename(s->live, s->temp) != 0)
		return cst_error_errno("the restored directory is at %s and the old one at %s: could "
				       "not rename them back", s->live, s->old);
	s->new_in_place = 0;
	if (s->live_aside && rename_new(s->old, s->live) != 0)
		return cst_error_errno("could not rename %s back to %s", s->old, s->live);
	s->live_aside = 0;
	for (i = 0; i < N_KEPT; i++) {
		if (s->moved[i] && move_entry(s->temp, s->live, kept_names[i]) != 0) {
			rc = cst_error(CST_EIO, "%s/%s could not be put back (it is in %s): %s", s->live,
				       kept_names[i], s->temp, cst_error_msg());
			stuck = 1;
			continue;
		}
		s->moved[i] = 0;
	}
	/* the temp dir goes only once nothing of the operator's is in it */
	if (!stuck && cst_remove_tree(s->temp) != 0)
		rc = cst_error(CST_EIO, "the table is back as it was, but its temp dir %s could not be "
			       "removed: %s", s->temp, cst_error_msg());
	if (rc == 0 && (!s->made_ks_dir || rmdir(s->ks_dir) != 0))	/* rmdir: only if empty */
		rc = cst_fsync_dir(s->ks_dir);
	return rc;
}

void swap_free(struct swap *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_subdirs; i++)
		free(s->subdirs[i]);
	free(s->ks_dir);
	free(s->live);
	free(s->temp);
	free(s->old);
	free(s);
}
