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
 */
#define _GNU_SOURCE
#include "backend.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOCAL_CHUNK (1024 * 1024)
#define TMP_MARK ".cassette-tmp-"
#define TMP_SUFFIX TMP_MARK "XXXXXX"
/* Long basenames are cut in the temp name so it still fits NAME_MAX. */
#define TMP_BASE_MAX (NAME_MAX - (int)(sizeof(TMP_SUFFIX) - 1))
/* put retries creating the temp file when a concurrent delete prunes the
 * directory between our mkdir and our mkstemp. */
#define PUT_ATTEMPTS 4

struct local_storage {
	struct storage parent;
	char *root; /* absolute, resolved at open */
};

static struct local_storage *local_of(struct storage *s)
{
	return (struct local_storage *)s;
}

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
static int local_check_key(const char *op, const char *key)
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

/* root/key, after the local key checks. */
static int object_path(char **out, struct local_storage *ls, const char *op, const char *key)
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

/* Writes the object's bytes into the temp file `fd` and sets the error slot
 * on failure. */
typedef int (*fill_fn)(int fd, const char *key, const char *tmp, void *arg);

static int parent_is_object(const char *op, const char *key)
{
	return cst_error(CST_EINVALID, "storage %s %s: a parent of the key is an object", op,
			 key);
}

static int make_parents(const char *op, const char *key, const char *dir)
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

static int local_put(struct local_storage *ls, const char *op, const char *key, int flags,
		     fill_fn fill, void *arg)
{
	char *path = NULL, *tmp = NULL, *dir = NULL;
	const char *base;
	size_t dirlen, baselen;
	int fd = -1, rc, attempt, have_tmp = 0;

	if ((rc = object_path(&path, ls, op, key)) != 0)
		goto out;
	base = strrchr(path, '/') + 1;
	dirlen = (size_t)(base - path) - 1;
	baselen = strlen(base);
	if ((dir = cst_sprintf("%.*s", (int)(dirlen > 0 ? dirlen : 1), path)) == NULL ||
	    (tmp = cst_sprintf("%.*s%.*s" TMP_SUFFIX, (int)(base - path), path,
			       (int)(baselen < TMP_BASE_MAX ? baselen : TMP_BASE_MAX),
			       base)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
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
		if ((rc = make_parents(op, key, dir)) != 0)
			goto out;
	}
	have_tmp = 1;
	if (fchmod(fd, 0644) != 0) {
		rc = cst_error_errno("storage %s %s: cannot chmod %s", op, key, tmp);
		goto out;
	}
	if ((rc = fill(fd, key, tmp, arg)) != 0)
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
	const void *buf;
	size_t len;
};

static int fill_buf(int fd, const char *key, const char *tmp, void *arg)
{
	struct buf_src *src = arg;

	if (cst_write_all(fd, src->buf, src->len) != 0)
		return cst_error_errno("storage put_buf %s: cannot write %s", key, tmp);
	return 0;
}

static int local_put_buf(struct storage *s, const char *key, const void *buf, size_t len,
			 int flags)
{
	struct buf_src src = { buf, len };

	return local_put(local_of(s), "put_buf", key, flags, fill_buf, &src);
}

struct file_src {
	int fd;
	const char *path;
};

static int fill_file(int fd, const char *key, const char *tmp, void *arg)
{
	struct file_src *src = arg;
	unsigned char *buf;
	ssize_t n;
	int rc = 0;

	if ((buf = cst_malloc(LOCAL_CHUNK)) == NULL)
		return CST_ENOMEM;
	for (;;) {
		if ((n = read(src->fd, buf, LOCAL_CHUNK)) < 0) {
			if (errno == EINTR)
				continue;
			rc = cst_error_errno("storage put_file %s: cannot read %s", key, src->path);
			break;
		}
		if (n == 0)
			break;
		if (cst_write_all(fd, buf, (size_t)n) != 0) {
			rc = cst_error_errno("storage put_file %s: cannot write %s", key, tmp);
			break;
		}
	}
	free(buf);
	return rc;
}

static int local_put_file(struct storage *s, const char *key, const char *path, int flags)
{
	struct file_src src = { -1, path };
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
	rc = local_put(local_of(s), "put_file", key, flags, fill_file, &src);
out:
	if (src.fd >= 0)
		close(src.fd);
	return rc;
}

/* ---- get / head / delete ---- */

static int local_get(struct storage *s, const char *key, storage_sink_fn sink, void *arg)
{
	unsigned char *buf = NULL;
	char *path = NULL;
	struct stat st;
	ssize_t n;
	int fd = -1, rc;

	if ((rc = object_path(&path, local_of(s), "get", key)) != 0)
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

static int local_head(struct storage *s, const char *key, uint64_t *size)
{
	char *path = NULL;
	struct stat st;
	int rc;

	if ((rc = object_path(&path, local_of(s), "head", key)) != 0)
		goto out;
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = not_found(key);
		else
			rc = cst_error_errno("storage head %s: cannot stat %s", key, path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = not_found(key);
		goto out;
	}
	*size = (uint64_t)st.st_size;
out:
	free(path);
	return rc;
}

/* Remove the directories of `key` that are now empty, deepest first, up to
 * but not including the root. `path` is root/key. Stops at the first rmdir
 * that fails: a non-empty directory ends the walk, and a concurrent put that
 * loses its directory recreates it. */
static void prune_parents(char *path, size_t key_off)
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

	if ((rc = object_path(&path, local_of(s), "delete", key)) != 0)
		goto out;
	/* Missing is success; so is a directory, which is no object. */
	if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR) {
		rc = cst_error_errno("storage delete %s: cannot remove %s", key, path);
		goto out;
	}
	prune_parents(path, strlen(path) - strlen(key));
out:
	free(path);
	return rc;
}

/* ---- list ---- */

struct list_entry {
	char *key;
	uint64_t size;
};

struct list_state {
	struct local_storage *ls;
	const char *prefix;
	size_t prefix_len;
	struct list_entry *v; /* the matching objects */
	size_t n, cap;
	char **dirs; /* directory keys still to read ("" is the root) */
	size_t ndirs, dirs_cap;
};

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
	size_t want;
	void *p;

	if (need <= *cap)
		return 0;
	want = *cap > 0 ? *cap * 2 : 64;
	if (want < need)
		want = need;
	if ((p = cst_realloc(*v, want * elem)) == NULL)
		return CST_ENOMEM;
	*v = p;
	*cap = want;
	return 0;
}

static int push_dir(struct list_state *st, char *dirkey)
{
	int rc;

	if ((rc = grow((void **)&st->dirs, &st->dirs_cap, st->ndirs + 1, sizeof(char *))) != 0) {
		free(dirkey);
		return rc;
	}
	st->dirs[st->ndirs++] = dirkey;
	return 0;
}

static int add_entry(struct list_state *st, char *key, uint64_t size)
{
	int rc;

	if ((rc = grow((void **)&st->v, &st->cap, st->n + 1, sizeof(*st->v))) != 0) {
		free(key);
		return rc;
	}
	st->v[st->n].key = key;
	st->v[st->n].size = size;
	st->n++;
	return 0;
}

/* One directory entry of `dirkey`. Takes ownership of nothing. */
static int scan_entry(struct list_state *st, int dfd, const char *dirkey, struct dirent *e)
{
	struct stat sb;
	char *key;
	int dir;

	if (e->d_type == DT_DIR) {
		dir = 1;
	} else if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN) {
		if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
			/* Deleted while we looked: not listed. */
			return errno == ENOENT ? 0 :
			       cst_error_errno("storage list %s: cannot stat %s/%s", st->prefix,
					       dirkey, e->d_name);
		if (!S_ISDIR(sb.st_mode) && !S_ISREG(sb.st_mode))
			return 0;
		dir = S_ISDIR(sb.st_mode);
	} else {
		return 0;
	}
	key = *dirkey != '\0' ? cst_sprintf("%s/%s", dirkey, e->d_name) : cst_strdup(e->d_name);
	if (key == NULL)
		return CST_ENOMEM;
	if (dir)
		return push_dir(st, key);
	/* Only what storage_put could have stored. */
	if (strncmp(key, st->prefix, st->prefix_len) != 0 || !storage_key_is_valid(key)) {
		free(key);
		return 0;
	}
	return add_entry(st, key, (uint64_t)sb.st_size);
}

/* Read one directory. Entries are filtered by `filter` (the part of the
 * prefix after the directory), which is "" below the first level. */
static int scan_dir(struct list_state *st, const char *dirkey, const char *filter)
{
	size_t flen = strlen(filter);
	struct dirent *e;
	char *path = NULL;
	DIR *d = NULL;
	int fd = -1, rc = 0;

	path = *dirkey != '\0' ? cst_path_join(st->ls->root, dirkey) : cst_strdup(st->ls->root);
	if (path == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		/* Nothing there (or not a directory): no keys below it. */
		if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
			rc = cst_error_errno("storage list %s: cannot open %s", st->prefix, path);
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		rc = cst_error_errno("storage list %s: cannot read %s", st->prefix, path);
		goto out;
	}
	fd = -1;
	for (;;) {
		errno = 0;
		if ((e = readdir(d)) == NULL) {
			if (errno != 0)
				rc = cst_error_errno("storage list %s: cannot read %s", st->prefix,
						     path);
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strncmp(e->d_name, filter, flen) != 0 || strstr(e->d_name, TMP_MARK) != NULL)
			continue;
		if ((rc = scan_entry(st, dirfd(d), dirkey, e)) != 0)
			break;
	}
out:
	if (d != NULL)
		closedir(d);
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->key, ((const struct list_entry *)b)->key);
}

static int local_list(struct storage *s, const char *prefix, storage_list_fn cb, void *arg)
{
	struct list_state st = { .ls = local_of(s), .prefix = prefix };
	const char *slash = strrchr(prefix, '/');
	char *start = NULL, *dirkey;
	size_t i;
	int rc = 0;

	st.prefix_len = strlen(prefix);
	/*
	 * Every key with this prefix lies below the directory named by the
	 * prefix up to its last '/' ("a/b" -> "a", holding "a/b/c" and "a/bc").
	 * When that part is no valid key ("/x", "a//b"), no key can match.
	 */
	if (slash != NULL) {
		if ((start = cst_sprintf("%.*s", (int)(slash - prefix), prefix)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		if (!storage_key_is_valid(start))
			goto out;
	}
	if ((rc = scan_dir(&st, start != NULL ? start : "", slash != NULL ? slash + 1 : prefix)) != 0)
		goto out;
	/* Depth-first with an explicit stack: no recursion, one open
	 * directory at a time. */
	while (st.ndirs > 0) {
		dirkey = st.dirs[--st.ndirs];
		rc = scan_dir(&st, dirkey, "");
		free(dirkey);
		if (rc != 0)
			goto out;
	}
	if (st.n > 1)
		qsort(st.v, st.n, sizeof(*st.v), entry_cmp);
	for (i = 0; i < st.n; i++)
		if ((rc = cb(arg, st.v[i].key, st.v[i].size)) < 0)
			goto out;
	rc = 0;
out:
	for (i = 0; i < st.n; i++)
		free(st.v[i].key);
	free(st.v);
	for (i = 0; i < st.ndirs; i++)
		free(st.dirs[i]);
	free(st.dirs);
	free(start);
	return rc;
}

const struct storage_ops storage_local_ops = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.put_file = local_put_file,
	.put_buf = local_put_buf,
	.get = local_get,
	.head = local_head,
	.list = local_list,
	.del = local_del,
};
