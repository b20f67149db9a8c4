/*
 * The local-directory backend: key k is the file root/k. Writes go to a temp
 * file beside the object, are fsynced, then renamed (or linked, to refuse an
 * overwrite) into place and the directory is fsynced, so a reader sees the
 * old object or the whole new one and a crash leaves at most a temp file,
 * which listing skips.
 *
 * What a directory cannot hold, and S3 can: a key that is also a "directory"
 * of other keys ("a" beside "a/b"), a segment longer than NAME_MAX, and the
 * temp marker ".cassette-tmp-" inside a key. Those are CST_EINVALID here.
 * Only regular files are objects; symlinks, directories and the rest are
 * "not found" and never listed.
 *
 * The write path (put, put_buf, put_file) lives in local_put.c, listing in
 * local_list.c and the multipart emulation in local_mpu.c.
 * The handle holds nothing but the root, so every call may run in several
 * threads at once; temp names are unique (mkstemp), and a put or upload
 * whose directory a concurrent delete pruned creates it again. The data
 * paths (put, get, upload_part) pay the handle's bandwidth limit, so the
 * limit behaves as it would against a remote store. stat has no ETag.
 */
#define _GNU_SOURCE
#include "local_int.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- open / close ---- */

static int local_open(struct storage **out, const struct storage_config *cfg)
{
	struct local_storage *ls = NULL;
	char *root = NULL;
	int rc = 0;

	*out = NULL;
	if (cfg->base_path == NULL || *cfg->base_path == '\0') {
		rc = cst_error(CST_EINVALID, "local storage: base_path is not set");
		goto out;
	}
	if (cfg->bucket_name != NULL && *cfg->bucket_name != '\0') {
		if (!cst_name_is_safe(cfg->bucket_name)) {
			rc = cst_error(CST_EINVALID,
				       "local storage: invalid bucket_name '%s' (must be one "
				       "path component)", cfg->bucket_name);
			goto out;
		}
		root = cst_path_join(cfg->base_path, cfg->bucket_name);
	} else {
		root = cst_strdup(cfg->base_path);
	}
	if (root == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (cfg->create) {
		if ((rc = cst_mkdirs(root)) != 0)
			goto out;
	} else {
		struct stat st;

		if (stat(root, &st) != 0) {
			rc = cst_error_errno("local storage: %s (base_path%s) does not exist", root,
					     cfg->bucket_name && *cfg->bucket_name ? " + bucket_name" : "");
			goto out;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc = cst_error(CST_EINVALID, "local storage: %s is not a directory", root);
			goto out;
		}
	}
	if ((ls = cst_calloc(1, sizeof(*ls))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	/* Absolute, so a later chdir() cannot move the store. */
	if ((ls->root = realpath(root, NULL)) == NULL) {
		rc = cst_error_errno("local storage: cannot resolve %s", root);
		goto out;
	}
	ls->parent.ops = &storage_local_ops;
	ls->parent.md5_use = STORAGE_MD5_NEVER;
	*out = &ls->parent;
	ls = NULL;
out:
	if (ls != NULL) {
		free(ls->root);
		free(ls);
	}
	free(root);
	return rc;
}

static void local_close(struct storage *s)
{
	struct local_storage *ls = local_of(s);

	free(ls->root);
	free(ls);
}

/* ---- paths ---- */

/* The keys a directory tree cannot store faithfully (see the top). */
int local_check_key(const char *op, const char *key)
{
	const char *seg = key, *slash;
	size_t n;

	if (strstr(key, TMP_MARK) != NULL)
		return cst_error(CST_EINVALID, "storage %s %s: local storage reserves '%s' in keys",
				 op, key, TMP_MARK);
	for (;;) {
		slash = strchr(seg, '/');
		n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		if (n > NAME_MAX)
			return cst_error(CST_EINVALID,
					 "storage %s %s: local storage allows at most %d bytes "
					 "between slashes", op, key, NAME_MAX);
		if (slash == NULL)
			return 0;
		seg = slash + 1;
	}
}

int local_object_path(char **out, struct local_storage *ls, const char *op, const char *key)
{
	int rc;

	*out = NULL;
	if ((rc = local_check_key(op, key)) != 0)
		return rc;
	if ((*out = cst_path_join(ls->root, key)) == NULL)
		return CST_ENOMEM;
	return 0;
}

static int not_found(const char *key)
{
	return cst_error(CST_ENOTFOUND, "object not found: %s", key);
}

/* ---- get / stat / delete ---- */

static int local_get(struct storage *s, const char *key, uint64_t offset, storage_sink_fn sink,
		     void *arg)
{
	unsigned char *buf = NULL;
	char *path = NULL;
	struct stat st;
	ssize_t n;
	int fd = -1, rc;

	if ((rc = local_object_path(&path, local_of(s), "get", key)) != 0)
		goto out;
	/* O_NOFOLLOW: a symlink is not an object. O_NONBLOCK: nor is a FIFO,
	 * and opening one must not hang. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			rc = not_found(key);
		else
			rc = cst_error_errno("storage get %s: cannot open %s", key, path);
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = cst_error_errno("storage get %s: cannot stat %s", key, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = not_found(key);
		goto out;
	}
	/* A resumed get starts where the last one stopped; past the end is
	 * an empty rest. */
	if (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) < 0) {
		rc = cst_error_errno("storage get %s: cannot seek to %llu in %s", key,
				     (unsigned long long)offset, path);
		goto out;
	}
	if ((buf = cst_malloc(LOCAL_CHUNK)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (;;) {
		if ((n = read(fd, buf, LOCAL_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			rc = cst_error_errno("storage get %s: cannot read %s", key, path);
			goto out;
		}
		if (n == 0)
			break;
		storage_throttle(s, (size_t)n);
		/* The sink's code and message go back to the caller as is. */
		if ((rc = sink(arg, buf, (size_t)n)) < 0)
			goto out;
		rc = 0;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(path);
	return rc;
}

/* The size; no ETag, as nothing here keeps an MD5 (etag stays ""). */
static int local_stat(struct storage *s, const char *key, struct storage_stat *out)
{
	char *path = NULL;
	struct stat st;
	int rc;

	if ((rc = local_object_path(&path, local_of(s), "stat", key)) != 0)
		goto out;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = not_found(key);
		else
			rc = cst_error_errno("storage stat %s: cannot stat %s", key, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = not_found(key);
		goto out;
	}
	out->size = (uint64_t)st.st_size;
	out->etag[0] = '\0';
out:
	free(path);
	return rc;
}

/* Deepest first, up to but not including the root. Stops at the first rmdir
 * that fails: a non-empty directory ends the walk, and a concurrent put that
 * loses its directory recreates it. */
void local_prune_parents(char *path, size_t key_off)
{
	char *slash;

	while ((slash = strrchr(path + key_off, '/')) != NULL) {
		*slash = '\0';
		if (rmdir(path) != 0)
			break;
	}
}

static int local_del(struct storage *s, const char *key)
{
	char *path = NULL;
	int rc;

	if ((rc = local_object_path(&path, local_of(s), "delete", key)) != 0)
		goto out;
	/* Missing is success; so is a directory, which is no object. */
	if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
		rc = cst_error_errno("storage delete %s: cannot remove %s", key, path);
		goto out;
	}
	local_prune_parents(path, strlen(path) - strlen(key));
out:
	free(path);
	return rc;
}

/* Hard links need one file system. */
static int local_takes_files_from(struct storage *s, const char *dir)
{
	struct stat a, b;

	return stat(dir, &a) == 0 && stat(local_of(s)->root, &b) == 0 && a.st_dev == b.st_dev;
}

const struct storage_ops storage_local_ops = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.put_file = local_put_file,
	.put_buf = local_put_buf,
	.get = local_get,
	.stat = local_stat,
	.list = local_list,
	.del = local_del,
	.takes_files_from = local_takes_files_from,
	.mpu_begin = local_mpu_begin,
	.mpu_part = local_mpu_part,
	.mpu_commit = local_mpu_commit,
	.mpu_abort = local_mpu_abort,
	.mpu_free = local_mpu_free,
	.clean_uploads = local_mpu_clean,
};
