/* datadirs: data_file_directories against data_dir; see datadirs.h. */
#define _GNU_SOURCE
#include "datadirs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "layout.h"
#include "util.h"

#define MAX_YAML (16u << 20)
#define KEY "data_file_directories"

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Append p[0..n) with blanks, a trailing comment and quotes removed. */
static int add(char ***v, size_t *n, size_t *cap, const char *p, size_t len)
{
	char **grown;
	const char *hash;

	if ((hash = memchr(p, '#', len)) != NULL && (hash == p || is_blank(hash[-1])))
		len = (size_t)(hash - p);
	while (len > 0 && is_blank(*p))
		p++, len--;
	while (len > 0 && is_blank(p[len - 1]))
		len--;
	if (len >= 2 && (p[0] == '"' || p[0] == '\'') && p[len - 1] == p[0])
		p++, len -= 2;
	if (len == 0)
		return 0;
	if ((grown = cst_grow(*v, cap, *n, sizeof(*grown), 4)) == NULL)
		return CST_ENOMEM;
	*v = grown;
	if (((*v)[*n] = cst_sprintf("%.*s", (int)len, p)) == NULL)
		return CST_ENOMEM;
	(*n)++;
	return 0;
}

/* "[a, b]": the flow list after the key. */
static int flow(char ***v, size_t *n, size_t *cap, const char *p, const char *end)
{
	const char *close = memchr(p, ']', (size_t)(end - p)), *comma;
	int rc;

	if (close == NULL)
		return cst_error(CST_EINVALID, KEY ": a '[' list without its ']'");
	for (p++; p < close; p = comma + 1) {
		if ((comma = memchr(p, ',', (size_t)(close - p))) == NULL)
			comma = close;
		if ((rc = add(v, n, cap, p, (size_t)(comma - p))) != 0)
			return rc;
	}
	return 0;
}

int datadirs_parse(char ***v, size_t *n, const char *text, size_t len)
{
	const char *p = text, *end = text + len, *nl, *q;
	size_t cap = 0, klen = strlen(KEY);
	int rc = 0, in = 0;

	*v = NULL;
	*n = 0;
	for (; p < end && rc == 0; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (!in) {
			if ((size_t)(nl - p) < klen || memcmp(p, KEY, klen) != 0)
				continue;
			for (q = p + klen; q < nl && is_blank(*q); q++)
				;
			if (q == nl || *q != ':')
				continue;
			for (q++; q < nl && is_blank(*q); q++)
				;
			if (q < nl && *q == '[')
				return flow(v, n, &cap, q, nl);
			if (q < nl && *q != '#')	/* a lone scalar */
				return add(v, n, &cap, q, (size_t)(nl - q));
			in = 1;
			continue;
		}
		for (q = p; q < nl && is_blank(*q); q++)
			;
		if (q == nl || *q == '#')
			continue;		/* blank or comment line */
		if (*q != '-' || (q + 1 < nl && !is_blank(q[1])))
			break;			/* the next key: the list ended */
		rc = add(v, n, &cap, q + 1, (size_t)(nl - q - 1));
	}
	return rc;
}

static void free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Listed directories that are not data_dir, as one "a, b" string. */
static char *others(char **v, size_t n, const char *data_dir)
{
	char real_data[PATH_MAX], real[PATH_MAX], *out = NULL, *next;
	size_t i;

	if (realpath(data_dir, real_data) == NULL)
		snprintf(real_data, sizeof(real_data), "%s", data_dir);
	for (i = 0; i < n; i++) {
		if (realpath(v[i], real) == NULL)
			snprintf(real, sizeof(real), "%s", v[i]);
		if (strcmp(real, real_data) == 0)
			continue;
		next = cst_sprintf("%s%s%s", out ? out : "", out ? ", " : "", v[i]);
		free(out);
		if ((out = next) == NULL)
			return NULL;
	}
	return out ? out : cst_strdup("");
}

int datadirs_holds_sstables(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n;
	int found = 0;

	while (d != NULL && !found && (e = readdir(d)) != NULL)
		found = (n = strlen(e->d_name)) > 8 && strcmp(e->d_name + n - 8, "-Data.db") == 0;
	if (d != NULL)
		closedir(d);
	return found;
}

/* A directory of SSTables in a keyspace whose name is not <table>-<id>
 * (a table created before Cassandra 2.1 keeps such a name) would be
 * skipped: refuse instead. */
static int check_unnamed(const char *data_dir)
{
	DIR *top = opendir(data_dir), *ks = NULL;
	struct dirent *k, *t;
	char *ksdir = NULL, *tdir = NULL;
	int rc = 0;

	while (top != NULL && rc == 0 && (k = readdir(top)) != NULL) {
		if (!layout_keyspace_is_valid(k->d_name))
			continue;
		if ((ksdir = cst_path_join(data_dir, k->d_name)) == NULL)
			rc = CST_ENOMEM;
		else if ((ks = opendir(ksdir)) != NULL) {
			while (rc == 0 && (t = readdir(ks)) != NULL) {
				if (t->d_name[0] == '.' || layout_table_dir_is_valid(t->d_name))
					continue;
				if ((tdir = cst_path_join(ksdir, t->d_name)) == NULL)
					rc = CST_ENOMEM;
				else if (datadirs_holds_sstables(tdir))
					rc = cst_error(CST_EINVALID, "%s holds SSTables, but its name is not "
						       "<table>-<32 hex id>, so cassette cannot back it up "
						       "and refuses to leave it out", tdir);
				free(tdir);
			}
			closedir(ks);
		}
		free(ksdir);
	}
	if (top != NULL)
		closedir(top);
	return rc;
}

int datadirs_check(const struct config *cfg)
{
	const char *path = cfg->cassandra_config;
	char *text = NULL, **v = NULL, *extra = NULL;
	size_t len, n = 0;
	int rc;

	if ((rc = check_unnamed(cfg->data_dir)) != 0)
		return rc;
	if (path == NULL || access(path, F_OK) != 0)
		return 0;	/* no cassandra.yaml here (a container, a test): nothing to compare */
	if ((rc = cst_read_file(&text, &len, path, MAX_YAML)) != 0)
		return cst_error(rc, "[cassandra] config_file %s: %s (it is read to check that "
				 "data_dir is Cassandra's only data directory)", path, cst_error_msg());
	if ((rc = datadirs_parse(&v, &n, text, len)) != 0)
		rc = cst_error(rc, "[cassandra] config_file %s: %s", path, cst_error_msg());
	else if (n > 0 && (extra = others(v, n, cfg->data_dir)) == NULL)
		rc = CST_ENOMEM;
	else if (extra != NULL && extra[0] != '\0')
		rc = cst_error(CST_EINVALID, "%s: Cassandra's config_file %s lists %zu "
			       "data_file_directories, and %s %s not [cassandra] data_dir %s: cassette "
			       "backs up data_dir only, so the SSTables there would be missing from the "
			       "backup. Set data_dir to Cassandra's data directory (a node with several "
			       "is not supported)", cfg->path, path, n, extra,
			       strchr(extra, ',') ? "are" : "is", cfg->data_dir);
	free(extra);
	free_list(v, n);
	free(text);
	return rc;
}
