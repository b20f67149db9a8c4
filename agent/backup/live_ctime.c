/* live_ctime: (dev, ino) -> ctime of the live table files, before a snapshot. */
#define _GNU_SOURCE
#include "live_ctime.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "layout.h"
#include "snapshot.h"
#include "util.h"

struct live_entry {
	uint64_t dev, ino;
	int64_t ctime_ns;
};

struct live_ctimes {
	struct live_entry *v;
	size_t n, cap;
};

static int add_entry(struct live_ctimes *lc, const struct stat *st)
{
	struct live_entry *v;

	if ((v = cst_grow(lc->v, &lc->cap, lc->n, sizeof(*v), 1024)) == NULL)
		return CST_ENOMEM;
	lc->v = v;
	v[lc->n].dev = (uint64_t)st->st_dev;
	v[lc->n].ino = (uint64_t)st->st_ino;
	v[lc->n].ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 + st->st_ctim.tv_nsec;
	lc->n++;
	return 0;
}

/* depth 0: data_dir, 1: keyspace, 2: table dir, 3: index dir. */
static int walk(struct live_ctimes *lc, const char *dir, int depth)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		const char *name = e->d_name;
		struct stat st;
		char *path;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if ((depth == 0 && !layout_keyspace_is_valid(name)) ||
		    (depth == 1 && !layout_table_dir_is_valid(name)))
			continue;
		if ((path = cst_path_join(dir, name)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		if (lstat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode) &&
			    (depth < 2 || (depth == 2 && layout_index_dir_is_valid(name))))
				rc = walk(lc, path, depth + 1);
			else if (S_ISREG(st.st_mode) && depth >= 2)
				rc = add_entry(lc, &st);
		}
		free(path);
	}
	closedir(d);
	return rc;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct live_entry *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

int live_ctimes_collect(struct live_ctimes **out, const char *data_dir)
{
	struct live_ctimes *lc;
	int rc;

	*out = NULL;
	if ((lc = cst_calloc(1, sizeof(*lc))) == NULL)
		return CST_ENOMEM;
	if ((rc = walk(lc, data_dir, 0)) != 0) {
		live_ctimes_free(lc);
		return rc;
	}
	if (lc->n > 1)
		qsort(lc->v, lc->n, sizeof(*lc->v), cmp_entry);
	*out = lc;
	return 0;
}

void live_ctimes_apply(const struct live_ctimes *lc, struct snapshot *snap)
{
	size_t i;

	for (i = 0; i < snap->n_files; i++) {
		struct snap_file *f = &snap->files[i];
		struct live_entry key = { (uint64_t)f->dev, (uint64_t)f->ino, 0 };
		const struct live_entry *hit = NULL;

		if (lc != NULL && lc->n > 0)
			hit = bsearch(&key, lc->v, lc->n, sizeof(*lc->v), cmp_entry);
		f->live_ctime_ns = hit ? hit->ctime_ns : -1;
	}
}

#define LIVE_MAGIC "cassette live ctimes 1\n"
#define LIVE_MAGIC_LEN (sizeof(LIVE_MAGIC) - 1)

int live_ctimes_save(const struct live_ctimes *lc, const char *path)
{
	size_t body = lc->n * sizeof(*lc->v), len = LIVE_MAGIC_LEN + body;
	char *buf;
	int rc;

	if ((buf = cst_malloc(len ? len : 1)) == NULL)
		return CST_ENOMEM;
	memcpy(buf, LIVE_MAGIC, LIVE_MAGIC_LEN);
	if (body > 0)
		memcpy(buf + LIVE_MAGIC_LEN, lc->v, body);
	rc = cst_write_file_atomic(path, buf, len, 0600);
	free(buf);
	return rc;
}

int live_ctimes_load(struct live_ctimes **out, const char *path)
{
	struct live_ctimes *lc;
	char *text = NULL;
	size_t len = 0, body;
	int rc;

	*out = NULL;
	if ((rc = cst_read_file(&text, &len, path, (size_t)1 << 30)) != 0) {
		cst_error_clear();
		return rc == CST_ENOMEM ? rc : 0;
	}
	body = len - (len < LIVE_MAGIC_LEN ? len : LIVE_MAGIC_LEN);
	if (len < LIVE_MAGIC_LEN || memcmp(text, LIVE_MAGIC, LIVE_MAGIC_LEN) != 0 ||
	    body % sizeof(struct live_entry) != 0) {
		free(text);
		return 0;
	}
	if ((lc = cst_calloc(1, sizeof(*lc))) == NULL ||
	    (body > 0 && (lc->v = cst_malloc(body)) == NULL)) {
		free(lc);
		free(text);
		return CST_ENOMEM;
	}
	if (body > 0)
		memcpy(lc->v, text + LIVE_MAGIC_LEN, body);
	lc->n = lc->cap = body / sizeof(struct live_entry);
	free(text);
	*out = lc;
	return 0;
}

void live_ctimes_free(struct live_ctimes *lc)
{
	if (lc == NULL)
		return;
	free(lc->v);
	free(lc);
}
