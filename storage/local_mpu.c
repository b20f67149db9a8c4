/*
 * The local backend's multipart upload, emulated with a staging directory
 * beside the object: <dir of key>/<basename>.cassette-tmp-mpu-XXXXXX/. Its
 * name holds the temp marker, so listing never shows it or what it holds.
 *
 * A part is copied into the staging directory under a temp name (in the
 * kernel, copy_file_range, where the file systems allow). When the caller
 * gave its MD5, the copy goes through a buffer and is hashed, and checked
 * against it (what S3 does with Content-MD5: a mismatch is CST_EINTEGRITY and
 * nothing is kept). Then it is renamed to part-NNNNN, so a part is either
 * whole or absent and sending it again replaces it. Distinct parts never share a file, so they may be
 * copied from several threads at once.
 *
 * Commit is an ordinary local put whose bytes are parts 1..n in order: temp
 * file, fsync, rename (or link for STORAGE_PUT_NO_OVERWRITE, CST_EEXISTS when
 * the key exists), fsync the directory. Then the staging directory goes.
 * Abort removes it, then the directories the upload created if now empty.
 * Parts are not fsynced: a crash loses the upload anyway, and the committed
 * object is synced as a whole.
 */
#define _GNU_SOURCE
#include "local_int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MPU_SUFFIX TMP_MARK "mpu-XXXXXX"
/* begin retries when a concurrent delete prunes the directory between our
 * mkdir and our mkdtemp. */
#define BEGIN_ATTEMPTS 4

struct local_mpu {
	char *key;
	char *path;    /* root/key */
	char *staging; /* the staging directory */
	int flags;
};

static void mpu_release(struct local_mpu *m)
{
	if (m == NULL)
		return;
	free(m->key);
	free(m->path);
	free(m->staging);
	free(m);
}

int local_mpu_begin(struct storage *s, const char *key, int flags, void **upload)
{
	struct local_mpu *m = NULL;
	char *dir = NULL;
	int rc, attempt;

	*upload = NULL;
	if ((m = cst_calloc(1, sizeof(*m))) == NULL || (m->key = cst_strdup(key)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	m->flags = flags;
	if ((rc = local_object_path(&m->path, local_of(s), "upload_begin", key)) != 0 ||
	    (rc = local_temp_name(&m->staging, &dir, m->path, MPU_SUFFIX)) != 0)
		goto out;
	/* Fast path: the directory exists. Create parents only when missing. */
	for (attempt = 1;; attempt++) {
		memcpy(m->staging + strlen(m->staging) - 6, "XXXXXX", 6);
		if (mkdtemp(m->staging) != NULL)
			break;
		if ((errno != ENOENT && errno != ENOTDIR) || attempt == BEGIN_ATTEMPTS) {
			rc = cst_error_errno("storage upload_begin %s: cannot create %s", key,
					     m->staging);
			goto out;
		}
		if ((rc = local_make_parents("upload_begin", key, dir)) != 0)
			goto out;
	}
	*upload = m;
	m = NULL;
out:
	mpu_release(m);
	free(dir);
	return rc;
}

int local_mpu_part(struct storage *s, void *upload, unsigned part_no, const char *path,
		   const unsigned char md5[16])
{
	struct local_mpu *m = upload;
	char *final = NULL, *tmp = NULL, want[33], got[33];
	EVP_MD_CTX *ctx = NULL;
	unsigned char sum[16];
	const char *failed;
	uint64_t copied;
	int src = -1, fd = -1, rc = 0;

	if ((final = cst_sprintf("%s/part-%05u", m->staging, part_no)) == NULL ||
	    (tmp = cst_sprintf("%s.tmp-XXXXXX", final)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((src = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		rc = cst_error_errno("storage upload_part %s: part %u: cannot open %s", m->key,
				     part_no, path);
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = cst_error_errno("storage upload_part %s: cannot create %s", m->key, tmp);
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if ((m->flags & STORAGE_PUT_HANDOVER) && md5 == NULL) {
		/* The caller's file itself becomes the part: no copy. The
		 * limit is paid as if it had been copied. */
		struct stat sb;

		if ((rc = local_link_over(path, tmp)) == 0) {
			if (fstat(src, &sb) == 0)
				storage_throttle(s, (size_t)sb.st_size);
			goto placed;
		}
		if (rc != 1)
			goto out;
		rc = 0;
	}
	if (md5 != NULL &&
	    ((ctx = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1)) {
		rc = cst_error(CST_ERROR, "storage upload_part %s: cannot start MD5", m->key);
		goto out;
	}
	/* The bandwidth limit applies: this is the transfer an S3 part
	 * upload would be. */
	if ((rc = local_copy(s, src, fd, 1, ctx, &copied, &failed)) != 0) {
		if (rc < 0 && failed != NULL)
			rc = cst_error_errno("storage upload_part %s: part %u: cannot %s %s to %s",
					     m->key, part_no, failed, path, tmp);
		goto out;
	}
	if (ctx != NULL && EVP_DigestFinal_ex(ctx, sum, NULL) != 1) {
		rc = cst_error(CST_ERROR, "storage upload_part %s: MD5 failed", m->key);
		goto out;
	}
	if (ctx != NULL && memcmp(sum, md5, sizeof(sum)) != 0) {
		cst_hex(want, md5, 16);
		cst_hex(got, sum, 16);
		rc = cst_error(CST_EINTEGRITY, "storage upload_part %s: part %u: MD5 mismatch "
			       "(sent %s, received %s)", m->key, part_no, want, got);
		goto out;
	}
placed:
	rc = close(fd);
	fd = -1;
	if (rc != 0) {
		rc = cst_error_errno("storage upload_part %s: cannot write %s", m->key, tmp);
		goto out;
	}
	if (rename(tmp, final) != 0) {
		rc = cst_error_errno("storage upload_part %s: cannot rename %s", m->key, tmp);
		goto out;
	}
	free(tmp);
	tmp = NULL;
out:
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	if (src >= 0)
		close(src);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(final);
	return rc;
}

struct parts_src {
	const struct local_mpu *m;
	unsigned n;
	uint64_t size;
};

/* Append the file `part` to `fd` (the temp file `tmp`). */
static int append_part(struct storage *s, int fd, const char *key, const char *tmp,
		       const char *part, uint64_t *size)
{
	const char *failed;
	uint64_t copied;
	int in, rc;

	if ((in = open(part, O_RDONLY | O_CLOEXEC)) < 0)
		return cst_error_errno("storage upload_commit %s: cannot open %s", key, part);
	if ((rc = local_copy(s, in, fd, 0, NULL, &copied, &failed)) < 0 && failed != NULL)
		rc = cst_error_errno("storage upload_commit %s: cannot %s %s to %s", key, failed,
				     part, tmp);
	*size += copied;
	close(in);
	return rc;
}

/* The committed object's bytes: parts 1..n, in order. Joining them moves
 * nothing over the "network", so the bandwidth limit does not apply. */
static int fill_parts(struct storage *s, int fd, const char *key, const char *tmp, void *arg)
{
	struct parts_src *src = arg;
	char *part = NULL;
	unsigned i;
	int rc = 0;

	src->size = 0;
	for (i = 1; i <= src->n && rc == 0; i++) {
		if ((part = cst_sprintf("%s/part-%05u", src->m->staging, i)) == NULL)
			rc = CST_ENOMEM;
		else
			rc = append_part(s, fd, key, tmp, part, &src->size);
		free(part);
	}
	return rc;
}

int local_mpu_commit(struct storage *s, void *upload, unsigned n_parts,
		     struct storage_stat *out)
{
	struct local_mpu *m = upload;
	struct parts_src src = { m, n_parts, 0 };
	int rc;

	if ((rc = local_put(s, "upload_commit", m->key, m->flags & ~STORAGE_PUT_HANDOVER, fill_parts,
			    &src, NULL)) != 0)
		return rc;
	out->size = src.size;	/* no ETag: nothing here keeps an MD5 */
	/* The object is in place; a staging directory left by a failed
	 * removal is hidden from listings and harmless. */
	(void)cst_remove_tree(m->staging);
	return 0;
}

int local_mpu_abort(struct storage *s, void *upload)
{
	struct local_mpu *m = upload;
	char *path = NULL;
	int rc;

	if ((rc = cst_remove_tree(m->staging)) != 0)
		goto out;
	/* The directories begin made for the key, if nothing else is there. */
	if ((path = cst_strdup(m->path)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	local_prune_parents(path, strlen(path) - strlen(m->key));
out:
	free(path);
	(void)s;
	return rc;
}

void local_mpu_free(struct storage *s, void *upload)
{
	(void)s;
	mpu_release(upload);
}

/* Everything under root/prefix whose name holds the temp marker: staging
 * directories of uploads and temp files of puts whose process died. The
 * caller holds what makes them dead (the node's lock). */
static int clean_dir(const char *path, size_t *n)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 :
		       cst_error_errno("storage clean_uploads: cannot read %s", path);
	while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
		char *sub;
		struct stat sb;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((sub = cst_path_join(path, e->d_name)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		if (strstr(e->d_name, TMP_MARK) != NULL) {
			if ((rc = cst_remove_tree(sub)) == 0)
				(*n)++;
		} else if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			rc = clean_dir(sub, n);
		}
		free(sub);
	}
	closedir(d);
	return rc;
}

int local_mpu_clean(struct storage *s, const char *prefix, size_t *n)
{
	struct local_storage *ls = local_of(s);
	char *path;
	int rc;

	*n = 0;
	/* a prefix names a directory here ("a/b/"); anything else holds none */
	if (prefix[0] == '\0' || prefix[strlen(prefix) - 1] != '/')
		return 0;
	if ((path = cst_sprintf("%s/%.*s", ls->root, (int)strlen(prefix) - 1, prefix)) == NULL)
		return CST_ENOMEM;
	rc = clean_dir(path, n);
	free(path);
	return rc;
}
