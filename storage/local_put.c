/*
 * The local backend's write path: a temp file beside the object, filled,
 * fsynced, renamed (or linked, to refuse an overwrite) into place, then the
 * directory fsynced (see local.c for what that promises). put_buf and
 * put_file fill it from a buffer or a file; local_copy() is shared with
 * local_mpu.c.
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

int local_put_buf(struct storage *s, const char *key, const void *buf, size_t len, int flags)
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

int local_put_file(struct storage *s, const char *key, const char *path, int flags,
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
