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
 * Listing lives in local_list.c and the multipart emulation in local_mpu.c.
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
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_SUFFIX TMP_MARK "XXXXXX"
/* put retries creating the temp file when a concurrent delete prunes the
 * directory between our mkdir and our mkstemp. */
#define PUT_ATTEMPTS 4

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

/* ---- put ---- */

static int parent_is_object(const char *op, const char *key)
{
	return cst_error(CST_EINVALID, "storage %s %s: a parent of the key is an object", op,
			 key);
}

int local_make_parents(const char *op, const char *key, const char *dir)
{
	int rc = cst_mkdirs(dir);

	/* cst_mkdirs keeps errno: ENOTDIR means a file sits on the path. */
	if (rc == CST_EEXISTS || (rc != 0 && errno == ENOTDIR))
		rc = parent_is_object(op, key);
	return rc;
}

static int prefix_conflict(const char *op, const char *key)
{
	return cst_error(CST_EINVALID, "storage %s %s: the key is a prefix of other objects",
			 op, key);
}

/* link() refused because `path` exists: an object, or a directory holding
 * other keys. */
static int exists_conflict(const char *op, const char *key, const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return prefix_conflict(op, key);
	return cst_error(CST_EEXISTS, "storage %s %s: object exists", op, key);
}

int local_temp_name(char **tmp, char **dir, const char *path, const char *suffix)
{
	const char *base = strrchr(path, '/') + 1;
	size_t dirlen = (size_t)(base - path) - 1, baselen = strlen(base);
	/* Long basenames are cut so the name still fits NAME_MAX. */
	size_t keep = NAME_MAX - strlen(suffix);

	*tmp = *dir = NULL;
	if ((*dir = cst_sprintf("%.*s", (int)(dirlen > 0 ? dirlen : 1), path)) == NULL ||
	    (*tmp = cst_sprintf("%.*s%.*s%s", (int)(base - path), path,
				(int)(baselen < keep ? baselen : keep), base, suffix)) == NULL) {
		free(*dir);
		*dir = NULL;
		return CST_ENOMEM;
	}
	return 0;
}

int local_link_over(const char *src, const char *reserved)
{
	char *lnk = cst_sprintf("%sL", reserved);
	int rc = 0;

	if (lnk == NULL)
		return CST_ENOMEM;
	if (link(src, lnk) != 0) {
		/* Another file system, one without hard links, or a name at
		 * NAME_MAX already: copy. */
		if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOTSUP ||
		    errno == EOPNOTSUPP || errno == ENAMETOOLONG || errno == EEXIST)
			rc = 1;
		else
			rc = cst_error_errno("cannot link %s to %s", src, lnk);
	} else if (rename(lnk, reserved) != 0) {
		rc = cst_error_errno("cannot rename %s to %s", lnk, reserved);
		unlink(lnk);
	}
	free(lnk);
	return rc;
}

int local_put(struct storage *s, const char *op, const char *key, int flags,
	      local_fill_fn fill, void *arg, const char *take)
{
	char *path = NULL, *tmp = NULL, *dir = NULL;
	int fd = -1, rc, attempt, have_tmp = 0;

	if ((rc = local_object_path(&path, local_of(s), op, key)) != 0 ||
	    (rc = local_temp_name(&tmp, &dir, path, TMP_SUFFIX)) != 0)
		goto out;
	/* Fast path: the directory exists. Create parents only on ENOENT. */
	for (attempt = 1;; attempt++) {
		memcpy(tmp + strlen(tmp) - 6, "XXXXXX", 6);
		if ((fd = mkostemp(tmp, O_CLOEXEC)) >= 0)
			break;
		if (errno == ENOTDIR) {
			rc = parent_is_object(op, key);
			goto out;
		}
		if (errno != ENOENT || attempt == PUT_ATTEMPTS) {
			rc = cst_error_errno("storage %s %s: cannot create %s", op, key, tmp);
			goto out;
		}
		if ((rc = local_make_parents(op, key, dir)) != 0)
			goto out;
	}
	have_tmp = 1;
	if (take != NULL) {
		/* The caller's file itself becomes the object: no copy. */
		close(fd);
		fd = -1;
		if ((rc = local_link_over(take, tmp)) != 0)
			goto out;	/* 1: the caller copies instead */
		if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0) {
			rc = cst_error_errno("storage %s %s: cannot open %s", op, key, tmp);
			goto out;
		}
	}
	if (fchmod(fd, 0644) != 0) {
		rc = cst_error_errno("storage %s %s: cannot chmod %s", op, key, tmp);
		goto out;
	}
	if (take == NULL && (rc = fill(s, fd, key, tmp, arg)) != 0)
		goto out;
	if (fsync(fd) != 0) {
		rc = cst_error_errno("storage %s %s: cannot fsync %s", op, key, tmp);
		goto out;
	}
	rc = close(fd);
	fd = -1;
	if (rc != 0) {
		rc = cst_error_errno("storage %s %s: cannot write %s", op, key, tmp);
		goto out;
	}
	if (flags & STORAGE_PUT_NO_OVERWRITE) {
		/* link() fails on an existing name, atomically; rename() would
		 * replace it. */
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST ? exists_conflict(op, key, path) :
			     cst_error_errno("storage %s %s: cannot link %s to %s", op, key,
					     tmp, path);
			goto out;
		}
		/* The object is in place; a temp left by a failed unlink is
		 * skipped by list and harmless. */
		unlink(tmp);
		have_tmp = 0;
	} else if (rename(tmp, path) != 0) {
		rc = errno == EISDIR ? prefix_conflict(op, key) :
		     cst_error_errno("storage %s %s: cannot rename %s to %s", op, key, tmp,
				     path);
		goto out;
	}
	have_tmp = 0;
	rc = cst_fsync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	free(path);
	free(tmp);
	free(dir);
	return rc;
}

struct buf_src {
	const unsigned char *buf;
	size_t len;
};

/* In chunks, so the bandwidth limit paces a large buffer too. */
static int fill_buf(struct storage *s, int fd, const char *key, const char *tmp, void *arg)
{
	struct buf_src *src = arg;
	size_t off, n;

	for (off = 0; off < src->len; off += n) {
		n = src->len - off < LOCAL_CHUNK ? src->len - off : LOCAL_CHUNK;
		storage_throttle(s, n);
		if (cst_write_all(fd, src->buf + off, n) != 0)
			return cst_error_errno("storage put_buf %s: cannot write %s", key, tmp);
	}
	return 0;
}

static int local_put_buf(struct storage *s, const char *key, const void *buf, size_t len,
			 int flags)
{
	struct buf_src src = { buf, len };

	return local_put(s, "put_buf", key, flags, fill_buf, &src, NULL);
}

/* One chunk from src to dst in the kernel, without a pass through user
 * space; 0 at the end, -1 with errno (EXDEV, EINVAL, ENOSYS... when the
 * file systems cannot do it: the caller falls back to read/write). */
static ssize_t copy_chunk(int src, int dst)
{
	ssize_t n;

	do
		n = copy_file_range(src, NULL, dst, NULL, LOCAL_CHUNK, 0);
	while (n < 0 && errno == EINTR);
	return n;
}

int local_copy(struct storage *s, int src, int dst, int throttle, EVP_MD_CTX *md5,
	       uint64_t *copied, const char **failed)
{
	unsigned char *buf = NULL;
	ssize_t n;
	int rc = 0, kernel = md5 == NULL;

	*copied = 0;
	*failed = NULL;
	for (;;) {
		if (kernel) {
			if ((n = copy_chunk(src, dst)) > 0) {
				if (throttle)
					storage_throttle(s, (size_t)n);
				*copied += (uint64_t)n;
				continue;
			}
			if (n == 0)
				break;
			if (*copied > 0 || (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
					    errno != EOPNOTSUPP && errno != EBADF)) {
				*failed = "copy";
				rc = -1;
				break;
			}
			kernel = 0;	/* nothing copied yet: read/write from the start */
		}
		if (buf == NULL && (buf = cst_malloc(LOCAL_CHUNK)) == NULL)
			return CST_ENOMEM;
		if ((n = read(src, buf, LOCAL_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			*failed = "read";
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		if (throttle)
			storage_throttle(s, (size_t)n);
		if (md5 != NULL && EVP_DigestUpdate(md5, buf, (size_t)n) != 1) {
			free(buf);
			return cst_error(CST_ERROR, "MD5 failed");
		}
		if (cst_write_all(dst, buf, (size_t)n) != 0) {
			*failed = "write";
			rc = -1;
			break;
		}
		*copied += (uint64_t)n;
	}
	free(buf);
	return rc;
}

struct file_src {
	int fd;
	const char *path;
	const unsigned char *md5;	/* the caller's, or NULL */
	uint64_t copied;
};

static int fill_file(struct storage *s, int fd, const char *key, const char *tmp, void *arg)
{
	struct file_src *src = arg;
	EVP_MD_CTX *ctx = NULL;
	unsigned char sum[16];
	char want[33], got[33];
	const char *failed;
	int rc;

	if (src->md5 != NULL &&
	    ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)) {
		EVP_MD_CTX_free(ctx);
		return cst_error(CST_ERROR, "storage put_file %s: cannot start MD5", key);
	}
	if ((rc = local_copy(s, src->fd, fd, 1, ctx, &src->copied, &failed)) < 0 && failed)
		rc = cst_error_errno("storage put_file %s: cannot %s %s to %s", key, failed,
				     src->path, tmp);
	if (rc == 0 && ctx != NULL) {
		if (EVP_DigestFinal_ex(ctx, sum, NULL) != 1) {
			rc = cst_error(CST_ERROR, "storage put_file %s: MD5 failed", key);
		} else if (memcmp(sum, src->md5, 16) != 0) {
			cst_hex(want, src->md5, 16);
			cst_hex(got, sum, 16);
			rc = cst_error(CST_EINTEGRITY, "storage put_file %s: MD5 mismatch (sent %s, "
				       "received %s)", key, want, got);
		}
	}
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int local_put_file(struct storage *s, const char *key, const char *path, int flags,
			  const unsigned char *md5, struct storage_stat *out)
{
	struct file_src src = { -1, path, md5, 0 };
	struct stat st;
	int rc;

	/* Check the key and open the source before creating anything, so a
	 * bad call leaves no directory behind either. */
	if ((rc = local_check_key("put_file", key)) != 0)
		goto out;
	/* O_NONBLOCK: a FIFO must not hang us; it is refused below. */
	if ((src.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("storage put_file %s: cannot open source %s", key, path);
		goto out;
	}
	if (fstat(src.fd, &st) != 0) {
		rc = cst_error_errno("storage put_file %s: cannot stat source %s", key, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cst_error(CST_EINVALID, "storage put_file %s: source %s is not a regular file",
			       key, path);
		goto out;
	}
	if ((flags & STORAGE_PUT_HANDOVER) && md5 == NULL) {
		/* Same file system: the file itself goes into place. The
		 * limit is paid as if it had been copied. */
		if ((rc = local_put(s, "put_file", key, flags, NULL, NULL, path)) == 0) {
			storage_throttle(s, (size_t)st.st_size);
			out->size = (uint64_t)st.st_size;
		}
		if (rc != 1)
			goto out;
	}
	if ((rc = local_put(s, "put_file", key, flags, fill_file, &src, NULL)) == 0)
		out->size = src.copied;	/* no ETag: nothing here keeps an MD5 */
out:
	if (src.fd >= 0)
		close(src.fd);
	return rc;
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
};
