/* Paths and durable file operations: temp file -> fsync -> rename -> fsync dir. */
#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *cst_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	while (la > 1 && a[la - 1] == '/')
		la--;
	while (*b == '/')
		b++;
	if (la == 0)
		return cst_strdup(b);
	if (la == 1 && a[0] == '/')
		return cst_sprintf("/%s", b);
	return cst_sprintf("%.*s/%s", (int)la, a, b);
}

int cst_name_is_safe(const char *name)
{
	const unsigned char *p;

	if (name == NULL || name[0] == '\0' || strlen(name) > 255)
		return 0;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	for (p = (const unsigned char *)name; *p; p++)
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int cst_mkdirs(const char *path)
{
	char *buf, *p;
	int rc = 0;

	if ((buf = cst_strdup(path)) == NULL)
		return CST_ENOMEM;
	for (p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
				rc = cst_error_errno("cannot create directory %s", buf);
				break;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	if (rc == 0) {
		struct stat st;

		if (stat(path, &st) != 0)
			rc = cst_error_errno("cannot create directory %s", path);
		else if (!S_ISDIR(st.st_mode))
			rc = cst_error(CST_EEXISTS, "%s exists and is not a directory", path);
	}
	free(buf);
	return rc;
}

int cst_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0)
		return cst_error_errno("cannot open directory %s", dir);
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = cst_error_errno("cannot fsync directory %s", dir);
	close(fd);
	return rc;
}

int cst_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return cst_strdup(".");
	if (slash == path)
		return cst_strdup("/");
	return cst_sprintf("%.*s", (int)(slash - path), path);
}

int cst_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode)
{
	char *tmp = NULL, *dir = NULL;
	int fd = -1, rc = 0;

	if ((tmp = cst_sprintf("%s.cassette-tmp-XXXXXX", path)) == NULL ||
	    (dir = dir_of(path)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		rc = cst_error_errno("cannot create %s", tmp);
		goto out;
	}
	if (fchmod(fd, mode) != 0 || cst_write_all(fd, buf, len) != 0 || fsync(fd) != 0) {
		rc = cst_error_errno("cannot write %s", tmp);
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = cst_error_errno("cannot write %s", tmp);
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = cst_error_errno("cannot rename %s to %s", tmp, path);
		goto out;
	}
	rc = cst_fsync_dir(dir);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && tmp != NULL)
		unlink(tmp);
	free(tmp);
	free(dir);
	return rc;
}

int cst_read_file(char **out, size_t *len, const char *path, size_t max)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc = 0;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cst_error_errno("cannot open %s", path);
	if (fstat(fd, &st) != 0) {
		rc = cst_error_errno("cannot stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = cst_error(CST_EINVALID, "%s is not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		rc = cst_error(CST_EINVALID, "%s is too large (%lld bytes, at most %zu)",
			       path, (long long)st.st_size, max);
		goto out;
	}
	if ((buf = cst_malloc((size_t)st.st_size + 1)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = cst_error_errno("cannot read %s", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	buf = NULL;
	if (len)
		*len = got;
out:
	free(buf);
	close(fd);
	return rc;
}

int cst_remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : cst_error_errno("cannot stat %s", path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlink(path) != 0 && errno != ENOENT)
			return cst_error_errno("cannot remove %s", path);
		return 0;
	}
	if ((d = opendir(path)) == NULL)
		return cst_error_errno("cannot open directory %s", path);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *child;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((child = cst_path_join(path, e->d_name)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		rc = cst_remove_tree(child);
		free(child);
	}
	closedir(d);
	if (rc == 0 && rmdir(path) != 0 && errno != ENOENT)
		rc = cst_error_errno("cannot remove %s", path);
	return rc;
}
