/*
 * The local backend's listing: a depth-first walk of the directories the
 * prefix can reach, then one sort, so keys come in bytewise order. Temp files
 * and staging directories (names holding ".cassette-tmp-") are skipped, and
 * so is anything that is not a regular file or a directory.
 */
#define _GNU_SOURCE
#include "local_int.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- list ---- */

struct list_entry {
	char *key;
	uint64_t size;
	int64_t mtime;
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

static int add_entry(struct list_state *st, char *key, uint64_t size, int64_t mtime)
{
	int rc;

	if ((rc = grow((void **)&st->v, &st->cap, st->n + 1, sizeof(*st->v))) != 0) {
		free(key);
		return rc;
	}
	st->v[st->n].key = key;
	st->v[st->n].size = size;
	st->v[st->n].mtime = mtime;
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
	return add_entry(st, key, (uint64_t)sb.st_size, (int64_t)sb.st_mtime);
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

int local_list(struct storage *s, const char *prefix, storage_entry_fn cb, void *arg)
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
	for (i = 0; i < st.n; i++) {
		struct storage_entry e = { st.v[i].key, st.v[i].size, st.v[i].mtime, "" };

		if ((rc = cb(arg, &e)) < 0)
			goto out;
	}
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
