/* node_index: a node's own list of its finished backups (node_index.h). */
#define _GNU_SOURCE
#include "node_index.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "storage.h"
#include "util.h"

static char *node_prefix(const char *prefix, const char *fqdn)
{
	return cst_sprintf("%s%sindex/node_index/%s/", prefix, prefix[0] ? "/" : "", fqdn);
}

char *node_index_root(const char *prefix)
{
	return cst_sprintf("%s%sindex/node_index/", prefix, prefix[0] ? "/" : "");
}

char *node_index_key(const char *prefix, const char *fqdn, const char *backup, const char *name)
{
	return cst_sprintf("%s%sindex/node_index/%s/%s/%s", prefix, prefix[0] ? "/" : "", fqdn, backup,
			   name);
}

int node_index_put_text(struct storage *st, const char *prefix, const char *fqdn,
			const char *backup, const char *name, const char *text)
{
	char *key = node_index_key(prefix, fqdn, backup, name);
	int rc;

	if (key == NULL)
		return CST_ENOMEM;
	rc = storage_put_buf(st, key, text, strlen(text), 0);
	free(key);
	return rc;
}

struct scan {
	size_t plen;
	struct node_backup *v;
	size_t n, cap;
};

/* "<digits>" groups of a finished entry name, after "finished_". */
static int parse_finished(const char *s, struct node_backup *b)
{
	unsigned long long f[5];
	char *end;
	int i;

	for (i = 0; i < 5; i++) {
		if (*s < '0' || *s > '9')
			return -1;
		errno = 0;
		f[i] = strtoull(s, &end, 10);
		if (errno != 0 || (i < 4 ? *end != '_' : *end != '\0'))
			return -1;
		s = end + 1;
	}
	if (f[0] > INT64_MAX || f[1] > INT64_MAX)
		return -1;
	b->started = (int64_t)f[0];
	b->finished = (int64_t)f[1];
	b->files = f[2];
	b->bytes = f[3];
	b->manifest_size = f[4];
	return 0;
}

int node_index_parse_entry(struct node_backup *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	if (strncmp(name, "finished_", 9) != 0 || parse_finished(name + 9, b) != 0)
		return CST_EINVALID;
	return 0;
}

static struct node_backup *entry_for(struct scan *sc, const char *name, size_t len)
{
	struct node_backup *b;

	/* sorted listing: a backup's entries are contiguous */
	if (sc->n > 0 && strlen(sc->v[sc->n - 1].name) == len &&
	    memcmp(sc->v[sc->n - 1].name, name, len) == 0)
		return &sc->v[sc->n - 1];
	if ((b = cst_grow(sc->v, &sc->cap, sc->n, sizeof(*b), 64)) == NULL)
		return NULL;
	sc->v = b;
	b = &sc->v[sc->n];
	memset(b, 0, sizeof(*b));
	b->finished = -1;	/* no finished entry seen yet */
	if ((b->name = cst_sprintf("%.*s", (int)len, name)) == NULL)
		return NULL;
	sc->n++;
	return b;
}

static int on_key(void *arg, const char *key, uint64_t size)
{
	struct scan *sc = arg;
	const char *rest = key + sc->plen, *slash = strchr(rest, '/');
	struct node_backup *b, parsed;
	char name[130];

	(void)size;
	if (slash == NULL || (size_t)(slash - rest) >= sizeof(name) || strchr(slash + 1, '/') != NULL)
		return 0;
	memcpy(name, rest, (size_t)(slash - rest));
	name[slash - rest] = '\0';
	if (!config_backup_name_is_valid(name))
		return 0;
	if (strcmp(slash + 1, NODE_INDEX_DAMAGED) == 0) {
		if ((b = entry_for(sc, rest, (size_t)(slash - rest))) == NULL)
			return CST_ENOMEM;
		b->damaged = 1;
	} else if (strcmp(slash + 1, NODE_INDEX_DELETING) == 0) {
		if ((b = entry_for(sc, rest, (size_t)(slash - rest))) == NULL)
			return CST_ENOMEM;
		b->deleting = 1;
	} else if (strncmp(slash + 1, "finished_", 9) == 0 && parse_finished(slash + 10, &parsed) == 0) {
		if ((b = entry_for(sc, rest, (size_t)(slash - rest))) == NULL)
			return CST_ENOMEM;
		b->started = parsed.started;
		b->finished = parsed.finished;
		b->files = parsed.files;
		b->bytes = parsed.bytes;
		b->manifest_size = parsed.manifest_size;
	}
	return 0;
}

static int by_start(const void *pa, const void *pb)
{
	const struct node_backup *a = pa, *b = pb;

	if (a->started != b->started)
		return a->started < b->started ? -1 : 1;
	return strcmp(a->name, b->name);
}

int node_index_load(struct node_backup **out, size_t *n, struct storage *st, const char *prefix,
		    const char *fqdn)
{
	struct scan sc;
	char *p = node_prefix(prefix, fqdn);
	size_t i, kept = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (p == NULL)
		return CST_ENOMEM;
	memset(&sc, 0, sizeof(sc));
	sc.plen = strlen(p);
	rc = storage_list(st, p, on_key, &sc);
	free(p);
	if (rc != 0) {
		node_index_free(sc.v, sc.n);
		return rc;
	}
	/* a damaged flag alone (its finished entry gone) is no backup, nor is
	 * one that delete-backup or purge began removing */
	for (i = 0; i < sc.n; i++) {
		if (sc.v[i].finished < 0 || sc.v[i].deleting)
			free(sc.v[i].name);
		else
			sc.v[kept++] = sc.v[i];
	}
	if (kept > 1)
		qsort(sc.v, kept, sizeof(*sc.v), by_start);
	*out = sc.v;
	*n = kept;
	return 0;
}

void node_index_free(struct node_backup *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].name);
	free(v);
}

int node_index_put(struct storage *st, const char *prefix, const char *fqdn,
		   const struct node_backup *b)
{
	char *p = node_prefix(prefix, fqdn), *key = NULL;
	int rc;

	if (p == NULL || (key = cst_sprintf("%s%s/finished_%" PRId64 "_%" PRId64 "_%" PRIu64 "_%" PRIu64
					    "_%" PRIu64, p, b->name, b->started, b->finished, b->files,
					    b->bytes, b->manifest_size)) == NULL)
		rc = CST_ENOMEM;
	else
		rc = storage_put_buf(st, key, "", 0, 0);
	free(p);
	free(key);
	return rc;
}

int node_index_flag_damaged(struct storage *st, const char *prefix, const char *fqdn,
			    const char *backup, const char *why)
{
	char *line = cst_sprintf("%s\n", why);
	int rc;

	if (line == NULL)
		return CST_ENOMEM;
	rc = node_index_put_text(st, prefix, fqdn, backup, NODE_INDEX_DAMAGED, line);
	free(line);
	return rc;
}

struct keys {
	char **v;
	size_t n, cap;
	const char *keep;	/* the deleting flag's key: it goes last, elsewhere */
};

static int collect(void *arg, const char *key, uint64_t size)
{
	struct keys *k = arg;
	char **grown;

	(void)size;
	if (strcmp(key, k->keep) == 0)
		return 0;
	if ((grown = cst_grow(k->v, &k->cap, k->n, sizeof(*grown), 4)) == NULL)
		return CST_ENOMEM;
	k->v = grown;
	if ((k->v[k->n] = cst_strdup(key)) == NULL)
		return CST_ENOMEM;
	k->n++;
	return 0;
}

int node_index_remove(struct storage *st, const char *prefix, const char *fqdn, const char *backup,
		      int dry_run, size_t *n)
{
	char *p = node_prefix(prefix, fqdn), *dir = NULL, *flag = NULL;
	struct keys k = { NULL, 0, 0, NULL };
	size_t i;
	int rc;

	if (p == NULL || (dir = cst_sprintf("%s%s/", p, backup)) == NULL ||
	    (flag = cst_sprintf("%s%s", dir, NODE_INDEX_DELETING)) == NULL) {
		free(p);
		free(dir);
		return CST_ENOMEM;
	}
	k.keep = flag;
	rc = storage_list(st, dir, collect, &k);
	for (i = 0; i < k.n; i++) {
		if (rc == 0 && (dry_run || (rc = storage_delete(st, k.v[i])) == 0) && n != NULL)
			(*n)++;
		free(k.v[i]);
	}
	free(k.v);
	free(p);
	free(dir);
	free(flag);
	return rc;
}
