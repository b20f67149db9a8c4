/* yaml_tokens: set a node's tokens in cassandra.yaml; see yaml_tokens.h. */
#define _GNU_SOURCE
#include "yaml_tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define MAX_YAML (16u << 20)
#define MAX_COPIES 100

enum { KEY_INITIAL_TOKEN, KEY_NUM_TOKENS, KEY_AUTO_BOOTSTRAP, N_KEYS };
static const char *const keys[N_KEYS] = { "initial_token", "num_tokens", "auto_bootstrap" };

/* The length of the line at p (with its '\n', if any). */
static size_t line_len(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
}

/* Which of our keys a top-level line sets ("key:" at column 0, then a
 * blank or the end of the line), or -1. */
static int key_of(const char *p, size_t n)
{
	size_t i, k, at;

	for (i = 0; i < N_KEYS; i++) {
		k = strlen(keys[i]);
		if (n <= k || memcmp(p, keys[i], k) != 0)
			continue;
		for (at = k; at < n && (p[at] == ' ' || p[at] == '\t'); at++)
			;
		if (at < n && p[at] == ':' &&
		    (at + 1 == n || p[at + 1] == ' ' || p[at + 1] == '\t' || p[at + 1] == '\n' ||
		     p[at + 1] == '\r'))
			return (int)i;
	}
	return -1;
}

/* A line that can only continue the value above it: indented, or a block
 * sequence item at column 0. Blank and comment-only lines are "maybe" (2). */
static int continues(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n || p[i] == '\n' || p[i] == '\r' || p[i] == '#')
		return 2;
	return i > 0 || (p[0] == '-' && (n == 1 || p[1] == ' ' || p[1] == '\n' || p[1] == '\r'));
}

/* The bytes after a replaced value's continuation lines (blank and comment
 * lines at the end of them stay: they lead to what follows). */
static const char *skip_value(const char *p, const char *end)
{
	const char *kept = p;
	size_t n;
	int c;

	while (p < end) {
		n = line_len(p, end);
		if ((c = continues(p, n)) == 0)
			break;
		p += n;
		if (c == 1)
			kept = p;
	}
	return kept;
}

int yaml_tokens_edit(char **out, size_t *out_len, const char *text, size_t len,
		     const char *initial_token, size_t num_tokens)
{
	char values[N_KEYS][32], *buf, *o;
	const char *value[N_KEYS], *p = text, *end = text + len;
	int seen[N_KEYS] = { 0 }, k;
	size_t n, cap;

	*out = NULL;
	*out_len = 0;
	snprintf(values[KEY_NUM_TOKENS], sizeof(values[0]), "%zu", num_tokens);
	value[KEY_INITIAL_TOKEN] = initial_token;
	value[KEY_NUM_TOKENS] = values[KEY_NUM_TOKENS];
	value[KEY_AUTO_BOOTSTRAP] = "false";
	/* each key line, replaced (a key may be given more than once) or added,
	 * is its key, ": ", its value and "\r\n": less than this */
	for (n = N_KEYS; p < end; p += line_len(p, end))
		if (key_of(p, line_len(p, end)) >= 0)
			n++;
	cap = len + 2 + n * (strlen(initial_token) + 64);
	if ((buf = o = cst_malloc(cap)) == NULL)
		return CST_ENOMEM;
	for (p = text; p < end;) {
		n = line_len(p, end);
		if ((k = key_of(p, n)) < 0) {
			memcpy(o, p, n);
			o += n;
			p += n;
			continue;
		}
		o += snprintf(o, cap - (size_t)(o - buf), "%s: %s", keys[k], value[k]);
		/* the line's own ending: "\r\n", "\n" or none at the end of the file */
		if (p[n - 1] == '\n')
			o = n >= 2 && p[n - 2] == '\r' ? stpcpy(o, "\r\n") : stpcpy(o, "\n");
		seen[k] = 1;
		p = skip_value(p + n, end);
	}
	for (k = 0; k < N_KEYS; k++) {
		if (seen[k])
			continue;
		if (o > buf && o[-1] != '\n')
			*o++ = '\n';
		o += snprintf(o, cap - (size_t)(o - buf), "%s: %s\n", keys[k], value[k]);
	}
	*o = '\0';
	*out = buf;
	*out_len = (size_t)(o - buf);
	return 0;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return cst_strdup(".");
	return slash == path ? cst_strdup("/") : cst_sprintf("%.*s", (int)(slash - path), path);
}

int yaml_tokens_check(const char *path)
{
	char *real = NULL, *dir = NULL, *text = NULL;
	size_t len;
	int rc;

	if ((real = realpath(path, NULL)) == NULL) {
		rc = cst_error_errno("config_file %s cannot be edited", path);
		goto out;
	}
	if ((rc = cst_read_file(&text, &len, real, MAX_YAML)) != 0) {
		rc = cst_error(rc, "config_file %s cannot be edited: %s", path, cst_error_msg());
		goto out;
	}
	if ((dir = dir_of(real)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (access(dir, W_OK) != 0)
		rc = cst_error_errno("config_file %s cannot be edited: its directory %s", path, dir);
out:
	free(real);
	free(dir);
	free(text);
	return rc;
}

/* rename, never over an existing file: -1 with errno EEXIST then */
static int place_new(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(tmp, path) != 0)	/* link() never replaces either */
		return -1;
	unlink(tmp);
	return 0;
}

/* A new file `path` holding buf, made like `like`: over the file with
 * `replace`, else never over an existing one (CST_EEXISTS, no message).
 * Nothing is left on failure. */
static int write_new(const char *path, const char *buf, size_t len, const struct stat *like,
		     int replace)
{
	char *tmp = NULL;
	int fd = -1, rc = 0;

	if ((tmp = cst_sprintf("%s.cassette-tmp-XXXXXX", path)) == NULL)
		return CST_ENOMEM;
	if ((fd = mkstemp(tmp)) < 0) {
		rc = cst_error_errno("cannot create %s", tmp);
		goto out;
	}
	if (cst_write_all(fd, buf, len) != 0 || fchmod(fd, like->st_mode & 07777) != 0 ||
	    ((like->st_uid != geteuid() || like->st_gid != getegid()) &&
	     fchown(fd, like->st_uid, like->st_gid) != 0) ||
	    fsync(fd) != 0) {
		rc = cst_error_errno("cannot write %s", tmp);
		goto out;
	}
	if (replace ? rename(tmp, path) != 0 : place_new(tmp, path) != 0)
		rc = errno == EEXIST ? CST_EEXISTS : cst_error_errno("cannot rename %s to %s", tmp, path);
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0 && fd >= 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* Keep `text` as <path>.cassette-<tag>[.N]: an identical copy is reused. */
static int keep_original(char **kept, const char *path, const char *tag, const char *text,
			 size_t len, const struct stat *st)
{
	char *name = NULL, *old = NULL;
	size_t old_len;
	int i, rc = CST_EEXISTS;

	for (i = 0; i < MAX_COPIES && rc == CST_EEXISTS; i++) {
		free(name);
		name = i == 0 ? cst_sprintf("%s.cassette-%s", path, tag) :
				cst_sprintf("%s.cassette-%s.%d", path, tag, i);
		if (name == NULL)
			return CST_ENOMEM;
		if (cst_read_file(&old, &old_len, name, MAX_YAML) == 0) {
			rc = old_len == len && memcmp(old, text, len) == 0 ? 0 : CST_EEXISTS;
			free(old);
			old = NULL;
			continue;
		}
		rc = write_new(name, text, len, st, 0);
	}
	if (rc == CST_EEXISTS)
		rc = cst_error(CST_EEXISTS, "cannot keep the original of %s: %s.cassette-%s up to .%d "
			       "are all taken", path, path, tag, MAX_COPIES - 1);
	if (rc == 0) {
		*kept = name;
		name = NULL;
	}
	free(name);
	return rc;
}

int yaml_tokens_apply(const char *path, const char *tag, const char *initial_token,
		      size_t num_tokens, char **kept)
{
	char *real = NULL, *dir = NULL, *text = NULL, *edited = NULL;
	size_t len, edited_len;
	struct stat st;
	int rc;

	*kept = NULL;
	if ((real = realpath(path, NULL)) == NULL) {
		rc = cst_error_errno("cannot edit config_file %s", path);
		goto out;
	}
	if ((rc = cst_read_file(&text, &len, real, MAX_YAML)) != 0 ||
	    (rc = yaml_tokens_edit(&edited, &edited_len, text, len, initial_token, num_tokens)) != 0)
		goto out;
	if (edited_len == len && memcmp(edited, text, len) == 0)
		goto out;	/* already so: nothing to keep, nothing to write */
	if (stat(real, &st) != 0) {
		rc = cst_error_errno("cannot stat %s", real);
		goto out;
	}
	if ((dir = dir_of(real)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = keep_original(kept, real, tag, text, len, &st)) != 0 ||
	    (rc = write_new(real, edited, edited_len, &st, 1)) != 0 || (rc = cst_fsync_dir(dir)) != 0)
		goto out;
out:
	free(real);
	free(dir);
	free(text);
	free(edited);
	return rc;
}
