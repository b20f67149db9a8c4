/* snapshot: take, enumerate and clear a snapshot of every table. */
#define _GNU_SOURCE
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadirs.h"
#include "layout.h"
#include "live_ctime.h"
#include "util.h"

typedef int (*table_fn)(void *arg, const char *ks, const char *table, const char *dir);

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int not_dot(const struct dirent *e)
{
	return strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
}

/* Sorted directory listing; *out and each entry are freed by free_names(). */
static int list_dir(struct dirent ***out, int *n, const char *dir)
{
	if ((*n = scandir(dir, out, not_dot, cmp_names)) < 0)
		return cst_error_errno("cannot list %s", dir);
	return 0;
}

static void free_names(struct dirent **names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Call fn for every <data_dir>/<ks>/<table>-<id>/ in sorted order. */
static int for_each_table(const char *data_dir, table_fn fn, void *arg)
{
	struct dirent **kss = NULL, **tables = NULL;
	int nks = 0, ntab = 0, i, j, rc;

	if ((rc = list_dir(&kss, &nks, data_dir)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < nks; i++) {
		char *ksdir;

		if (!layout_keyspace_is_valid(kss[i]->d_name))
			continue;
		if ((ksdir = cst_path_join(data_dir, kss[i]->d_name)) == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		if (!is_dir(ksdir) || (rc = list_dir(&tables, &ntab, ksdir)) != 0) {
			free(ksdir);
			continue;
		}
		for (j = 0; rc == 0 && j < ntab; j++) {
			char *tdir;

			if (!layout_table_dir_is_valid(tables[j]->d_name))
				continue;
			if ((tdir = cst_path_join(ksdir, tables[j]->d_name)) == NULL) {
				rc = CST_ENOMEM;
				break;
			}
			if (is_dir(tdir))
				rc = fn(arg, kss[i]->d_name, tables[j]->d_name, tdir);
			free(tdir);
		}
		free_names(tables, ntab);
		tables = NULL;
		free(ksdir);
	}
	free_names(kss, nks);
	return rc;
}

/* ---- hard-link snapshots (what Cassandra's snapshot does) ------------------ */

static int regular_file(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Link the live components of `src` into `dst`; append Data.db names to json. */
static int link_components(const char *src, const char *dst, const char *reldir, char **json)
{
	struct dirent **names = NULL;
	int n = 0, i, rc;

	if ((rc = list_dir(&names, &n, src)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		const char *name = names[i]->d_name;
		char *from = cst_path_join(src, name), *to = cst_path_join(dst, name);

		if (from == NULL || to == NULL) {
			rc = CST_ENOMEM;
		} else if (regular_file(from) && !layout_file_is_temporary(name) && name[0] != '.') {
			if (link(from, to) != 0)
				rc = cst_error_errno("cannot link %s to %s", from, to);
			else if (strstr(name, "-Data.db") != NULL && strchr(name, '"') == NULL &&
				 strchr(name, '\\') == NULL) {
				char *grown = cst_sprintf("%s%s\"%s%s%s\"", *json, strlen(*json) > 10 ? "," : "",
							  reldir ? reldir : "", reldir ? "/" : "", name);

				if (grown == NULL)
					rc = CST_ENOMEM;
				free(*json);
				*json = grown;
			}
		} else if (reldir == NULL && layout_index_dir_is_valid(name) && is_dir(from)) {
			if (mkdir(to, 0755) != 0)
				rc = cst_error_errno("cannot create %s", to);
			else
				rc = link_components(from, to, name, json);
		}
		free(from);
		free(to);
	}
	free_names(names, n);
	return rc;
}

static int hardlink_table(void *arg, const char *ks, const char *table, const char *dir)
{
	const char *tag = arg;
	char *snaps = cst_path_join(dir, "snapshots"), *snapdir = NULL, *json = NULL, *mpath = NULL;
	int rc = 0;

	(void)ks;
	(void)table;
	if (snaps == NULL || (snapdir = cst_path_join(snaps, tag)) == NULL ||
	    (json = cst_strdup("{\"files\":[")) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = cst_mkdirs(snaps)) != 0)
		goto out;
	if (mkdir(snapdir, 0755) != 0) {
		rc = cst_error_errno("cannot create snapshot %s", snapdir);
		goto out;
	}
	if ((rc = link_components(dir, snapdir, NULL, &json)) != 0)
		goto out;
	if ((mpath = cst_path_join(snapdir, "manifest.json")) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	{
		char *doc = cst_sprintf("%s]}\n", json);

		if (doc == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		rc = cst_write_file_atomic(mpath, doc, strlen(doc), 0644);
		free(doc);
	}
out:
	free(snaps);
	free(snapdir);
	free(json);
	free(mpath);
	return rc;
}

static int remove_table_snapshot(void *arg, const char *ks, const char *table, const char *dir)
{
	const char *tag = arg;
	char *snaps = cst_path_join(dir, "snapshots"), *snapdir = NULL;
	int rc = CST_ENOMEM;

	(void)ks;
	(void)table;
	if (snaps != NULL && (snapdir = cst_path_join(snaps, tag)) != NULL) {
		rc = cst_remove_tree(snapdir);
		rmdir(snaps);	/* only when empty; other snapshots stay */
	}
	free(snaps);
	free(snapdir);
	return rc;
}

static int tag_exists(void *arg, const char *ks, const char *table, const char *dir)
{
	char *snapdir = cst_sprintf("%s/snapshots/%s", dir, (const char *)arg);
	int found;

	if (snapdir == NULL)
		return CST_ENOMEM;
	found = access(snapdir, F_OK) == 0;
	free(snapdir);
	if (found)
		return cst_error(CST_EEXISTS, "snapshot '%s' already exists in %s.%s; clear it first "
				 "(nodetool clearsnapshot -t %s)", (const char *)arg, ks, table,
				 (const char *)arg);
	return 0;
}

/* ---- enumeration -------------------------------------------------------- */

/* 100,000 rels in 1 MiB blocks rather than one allocation each. */
#define SNAP_BLOCK (1u << 20)

struct collect {
	struct snapshot *snap;
	const char *dir;		/* the current table's snapshot directory */
	size_t cap;
	size_t schema_len;
};

static int add_file(struct collect *c, const char *ks, const char *table, const char *rel,
		    const char *path)
{
	struct snapshot *s = c->snap;
	const struct snap_file *prev;
	struct snap_file *f;
	struct stat st;

	if (lstat(path, &st) != 0)
		return cst_error_errno("cannot stat %s", path);
	if (!S_ISREG(st.st_mode))
		return 0;
	if ((f = cst_grow(s->files, &c->cap, s->n_files, sizeof(*f), 256)) == NULL)
		return CST_ENOMEM;
	s->files = f;
	f = &s->files[s->n_files];
	prev = s->n_files ? f - 1 : NULL;
	memset(f, 0, sizeof(*f));
	/* A node may hold 100,000 files: the files of one table share its
	 * names and directory, and rels live in blocks. */
	f->keyspace = prev && prev->keyspace && strcmp(prev->keyspace, ks) == 0 ? prev->keyspace :
		      cst_strdup(ks);
	f->table = prev && prev->table && prev->keyspace == f->keyspace &&
		   strcmp(prev->table, table) == 0 ? prev->table : cst_strdup(table);
	f->dir = prev && prev->dir && strcmp(prev->dir, c->dir) == 0 ? prev->dir :
		 cst_strdup(c->dir);
	f->rel = cst_strpool_dup(&s->rels, rel);
	s->n_files++;
	if (!f->keyspace || !f->table || !f->dir || !f->rel)
		return CST_ENOMEM;
	f->size = (uint64_t)st.st_size;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	f->ctime_ns = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
	return 0;
}

static int append_schema(struct collect *c, const char *path)
{
	char *text = NULL, *grown;
	size_t len = 0;
	int rc;

	if ((rc = cst_read_file(&text, &len, path, 16u << 20)) != 0)
		return rc;
	grown = cst_realloc(c->snap->schema, c->schema_len + len + 2);
	if (grown == NULL) {
		free(text);
		return CST_ENOMEM;
	}
	memcpy(grown + c->schema_len, text, len);
	c->schema_len += len;
	if (len > 0 && text[len - 1] != '\n')
		grown[c->schema_len++] = '\n';
	grown[c->schema_len] = '\0';
	c->snap->schema = grown;
	free(text);
	return 0;
}

static int collect_dir(struct collect *c, const char *ks, const char *table, const char *dir,
		       const char *reldir)
{
	struct dirent **names = NULL;
	int n = 0, i, rc;

	if ((rc = list_dir(&names, &n, dir)) != 0)
		return rc;
	for (i = 0; rc == 0 && i < n; i++) {
		const char *name = names[i]->d_name;
		char *path = cst_path_join(dir, name), *rel = NULL;

		if (path == NULL) {
			rc = CST_ENOMEM;
		} else if (reldir == NULL && layout_index_dir_is_valid(name) && is_dir(path)) {
			rc = collect_dir(c, ks, table, path, name);
		} else if (reldir == NULL && strcmp(name, "schema.cql") == 0) {
			rc = append_schema(c, path);
		} else if (strcmp(name, "manifest.json") == 0 || strcmp(name, "ephemeral.snapshot") == 0 ||
			   strcmp(name, "schema.cql") == 0) {
			/* snapshot bookkeeping, not data */
		} else if (cst_name_is_safe(name) && name[0] != '.' && name[0] != '@' &&
			   !layout_file_is_temporary(name)) {
			rel = reldir ? cst_sprintf("%s/%s", reldir, name) : cst_strdup(name);
			rc = rel ? add_file(c, ks, table, rel, path) : CST_ENOMEM;
		}
		free(rel);
		free(path);
	}
	free_names(names, n);
	return rc;
}

static int collect_table(void *arg, const char *ks, const char *table, const char *dir)
{
	struct collect *c = arg;
	char *snapdir = cst_sprintf("%s/snapshots/%s", dir, c->snap->tag);
	int rc = 0;

	if (snapdir == NULL)
		return CST_ENOMEM;
	c->dir = snapdir;
	if (is_dir(snapdir))
		rc = collect_dir(c, ks, table, snapdir, NULL);
	c->dir = NULL;
	free(snapdir);
	return rc;
}

static int snapshot_alloc(struct snapshot **out, const struct config *cfg, const char *tag)
{
	struct snapshot *snap;

	*out = NULL;
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0')
		return cst_error(CST_EINVALID, "%s: [cassandra] data_dir is required", cfg->path);
	if (!is_dir(cfg->data_dir))
		return cst_error(CST_ENOTFOUND, "%s: [cassandra] data_dir %s is not a directory",
				 cfg->path, cfg->data_dir);
	if ((snap = cst_calloc(1, sizeof(*snap))) == NULL)
		return CST_ENOMEM;
	cst_strpool_init(&snap->rels, SNAP_BLOCK);
	if ((snap->tag = cst_strdup(tag)) == NULL) {
		snapshot_free(snap);
		return CST_ENOMEM;
	}
	*out = snap;
	return 0;
}

static int count_table(void *arg, const char *ks, const char *table, const char *dir)
{
	(void)ks;
	(void)table;
	(void)dir;
	(*(size_t *)arg)++;
	return 0;
}

/* Every Cassandra node has tables (system ones at least): none means that
 * data_dir points one level too high or too low, and a backup of it would
 * be an empty "success". */
static int check_tables(const struct config *cfg)
{
	size_t n = 0;
	int rc;

	if ((rc = for_each_table(cfg->data_dir, count_table, &n)) != 0)
		return rc;
	if (n == 0)
		return cst_error(CST_EINVALID, "%s: no table directory under [cassandra] data_dir %s: "
				 "expected <data_dir>/<keyspace>/<table>-<32 hex id>/ (data_dir is "
				 "Cassandra's data_file_directories entry)", cfg->path, cfg->data_dir);
	return 0;
}

struct untaken {
	const char *tag;
	size_t tagged, missed;
	char first[300];
};

/* A table with live SSTables and no snapshots/<tag>/. */
static int count_untaken(void *arg, const char *ks, const char *table, const char *dir)
{
	struct untaken *u = arg;
	char *snapdir = cst_sprintf("%s/snapshots/%s", dir, u->tag);

	if (snapdir == NULL)
		return CST_ENOMEM;
	if (access(snapdir, F_OK) == 0)
		u->tagged++;
	else if (datadirs_holds_sstables(dir) && u->missed++ == 0 &&
		 snprintf(u->first, sizeof(u->first), "%s.%s", ks, table) >= (int)sizeof(u->first))
		strcpy(u->first + sizeof(u->first) - 4, "...");
	free(snapdir);
	return 0;
}

/* nodetool said yes: did Cassandra snapshot the tables under data_dir? None
 * means nodetool reached another Cassandra than the one of data_dir (a
 * backup of nothing that exits 0 is what this stops). A table left out,
 * which Cassandra does not know (a dropped table's leftover), is a warning. */
static int check_taken(const struct config *cfg, const char *tag)
{
	struct untaken u = { tag, 0, 0, "" };
	int rc;

	if ((rc = for_each_table(cfg->data_dir, count_untaken, &u)) != 0)
		return rc;
	if (u.tagged == 0)
		return cst_error(CST_EINVALID, "nodetool snapshot -t %s succeeded, but no table under "
				 "[cassandra] data_dir %s has snapshots/%s/: nodetool_cmd reaches "
				 "another Cassandra than the one whose data_dir this is (check its "
				 "-h/-p options, and data_dir against data_file_directories)", tag,
				 cfg->data_dir, tag);
	if (u.missed > 0)
		fprintf(stderr, "cassette: warning: %zu table director%s under data_dir hold%s SSTables "
			"that Cassandra did not snapshot (%s%s): not in this backup. A table dropped from "
			"the schema leaves such a directory; remove it once it is no longer needed\n",
			u.missed, u.missed == 1 ? "y" : "ies", u.missed == 1 ? "s" : "", u.first,
			u.missed > 1 ? ", ..." : "");
	return 0;
}

/* nodetool snapshot, or the same hard links in-process. The ctimes of the
 * live files are read first (live_ctime.h). */
static int take(struct snapshot *snap, const struct config *cfg, struct live_ctimes **live)
{
	int rc;

	if ((rc = datadirs_check(cfg)) != 0 || (rc = check_tables(cfg)) != 0 ||
	    (rc = for_each_table(cfg->data_dir, tag_exists, snap->tag)) != 0 ||
	    (rc = live_ctimes_collect(live, cfg->data_dir)) != 0)
		return rc;
	snap->taken = 1;	/* from here on, failure clears what was made */
	if (cfg->snapshot_mode == SNAPSHOT_NODETOOL) {
		const char *args[] = { "snapshot", "-t", snap->tag, NULL };

		if ((rc = nodetool_run(cfg, NULL, args)) != 0)
			return rc;
		return check_taken(cfg, snap->tag);
	}
	return for_each_table(cfg->data_dir, hardlink_table, snap->tag);
}

/* Enumerate the snapshot's files and give each its live ctime. */
static int collect(struct snapshot *snap, const struct config *cfg, const struct live_ctimes *live)
{
	struct collect c;
	int rc;

	memset(&c, 0, sizeof(c));
	c.snap = snap;
	rc = for_each_table(cfg->data_dir, collect_table, &c);
	if (rc == 0)
		live_ctimes_apply(live, snap);
	if (rc == 0 && snap->n_files > 0 && snap->n_files < c.cap) {
		/* give back the growth slack: 100,000 files leave up to 2 MiB */
		struct snap_file *f = realloc(snap->files, snap->n_files * sizeof(*f));

		if (f != NULL)
			snap->files = f;
	}
	return rc;
}

/* After a failure: clear what was taken, keep the first error. */
static void fail_clear(struct snapshot *snap, const struct config *cfg)
{
	char saved[1024];
	int saved_code = cst_error_code();

	if (snap == NULL || !snap->taken)
		return;
	snprintf(saved, sizeof(saved), "%s", cst_error_msg());
	snapshot_clear(snap, cfg);
	cst_error(saved_code, "%s", saved);
}

static int tables_with_tag(const struct config *cfg, const char *tag, size_t *n);

/* Our own tag ("cassette-<backup>", and the caller holds the node's lock):
 * a killed run of this backup left it, or a first phase that never got its
 * second. It is replaced, so a rerun takes a fresh snapshot. */
static int clear_stale(struct snapshot *snap, const struct config *cfg, const char *verb)
{
	size_t stale = 0;
	int rc;

	if ((rc = tables_with_tag(cfg, snap->tag, &stale)) != 0 || stale == 0)
		return rc;
	fprintf(stderr, "cassette: %s snapshot %s left by an earlier run (%zu table%s)\n", verb,
		snap->tag, stale, stale == 1 ? "" : "s");
	snap->taken = 1;
	rc = snapshot_clear(snap, cfg);
	snap->taken = 0;
	return rc;
}

struct tag_scan {
	const char *prefix;
	char **tags;
	size_t n, cap;
};

static int scan_tags(void *arg, const char *ks, const char *table, const char *dir)
{
	struct tag_scan *ts = arg;
	struct dirent **names = NULL;
	char *snapdir = cst_sprintf("%s/snapshots", dir);
	int n = 0, i, rc = 0;
	size_t k;

	(void)ks;
	(void)table;
	if (snapdir == NULL)
		return CST_ENOMEM;
	if (!is_dir(snapdir) || list_dir(&names, &n, snapdir) != 0) {
		free(snapdir);
		return 0;
	}
	for (i = 0; i < n && rc == 0; i++) {
		const char *name = names[i]->d_name;
		char **grown;

		if (strncmp(name, ts->prefix, strlen(ts->prefix)) != 0 || !cst_name_is_safe(name))
			continue;
		for (k = 0; k < ts->n && strcmp(ts->tags[k], name) != 0; k++)
			;
		if (k < ts->n)
			continue;
		if ((grown = cst_grow(ts->tags, &ts->cap, ts->n, sizeof(*grown), 8)) == NULL ||
		    (ts->tags = grown, ts->tags[ts->n] = cst_strdup(name)) == NULL)
			rc = CST_ENOMEM;
		else
			ts->n++;
	}
	free_names(names, n);
	free(snapdir);
	return rc;
}

int snapshot_tags(const struct config *cfg, const char *prefix, char ***tags, size_t *n)
{
	struct tag_scan ts = { prefix, NULL, 0, 0 };
	int rc = for_each_table(cfg->data_dir, scan_tags, &ts);

	*tags = ts.tags;
	*n = ts.n;
	return rc;
}

int snapshot_discard(const struct config *cfg, const char *tag)
{
	struct snapshot *snap = NULL;
	int rc;

	if ((rc = snapshot_alloc(&snap, cfg, tag)) == 0)
		rc = clear_stale(snap, cfg, "clearing");
	snapshot_free(snap);
	return rc;
}

int snapshot_take(struct snapshot **out, const struct config *cfg, const char *tag)
{
	struct snapshot *snap = NULL;
	struct live_ctimes *live = NULL;
	int rc;

	*out = NULL;
	if ((rc = snapshot_alloc(&snap, cfg, tag)) != 0)
		return rc;
	if ((rc = clear_stale(snap, cfg, "replacing")) == 0 && (rc = take(snap, cfg, &live)) == 0)
		rc = collect(snap, cfg, live);
	live_ctimes_free(live);
	if (rc != 0) {
		fail_clear(snap, cfg);
		snapshot_free(snap);
		return rc;
	}
	*out = snap;
	return 0;
}

static int count_tagged(void *arg, const char *ks, const char *table, const char *dir)
{
	struct { const char *tag; size_t n; } *c = arg;
	char *snapdir = cst_sprintf("%s/snapshots/%s", dir, c->tag);

	(void)ks;
	(void)table;
	if (snapdir == NULL)
		return CST_ENOMEM;
	c->n += is_dir(snapdir);
	free(snapdir);
	return 0;
}

static int tables_with_tag(const struct config *cfg, const char *tag, size_t *n)
{
	struct { const char *tag; size_t n; } c = { tag, 0 };
	int rc = for_each_table(cfg->data_dir, count_tagged, &c);

	*n = c.n;
	return rc;
}

int snapshot_prepare(const struct config *cfg, const char *tag, const char *ctimes_path,
		     size_t *n_tables)
{
	struct snapshot *snap = NULL;
	struct live_ctimes *live = NULL;
	int rc;

	*n_tables = 0;
	if ((rc = snapshot_alloc(&snap, cfg, tag)) != 0 || (rc = clear_stale(snap, cfg, "replacing")) != 0)
		goto out;
	if ((rc = take(snap, cfg, &live)) != 0 ||
	    (rc = live_ctimes_save(live, ctimes_path)) != 0 ||
	    (rc = tables_with_tag(cfg, tag, n_tables)) != 0)
		goto out;
	snap->taken = 0;	/* it stays for the second phase */
out:
	if (rc != 0)
		fail_clear(snap, cfg);
	live_ctimes_free(live);
	snapshot_free(snap);
	return rc;
}

int snapshot_open(struct snapshot **out, const struct config *cfg, const char *tag,
		  const char *ctimes_path)
{
	struct snapshot *snap = NULL;
	struct live_ctimes *live = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = snapshot_alloc(&snap, cfg, tag)) != 0)
		return rc;
	if ((rc = tables_with_tag(cfg, tag, &n)) != 0)
		goto out;
	if (n == 0) {
		rc = cst_error(CST_ENOTFOUND, "no snapshot '%s' under %s: take it first "
			       "(backup-node --snapshot-only)", tag, cfg->data_dir);
		goto out;
	}
	snap->taken = 1;	/* ours to clear from here on */
	if ((rc = live_ctimes_load(&live, ctimes_path)) != 0 || (rc = collect(snap, cfg, live)) != 0)
		goto out;
out:
	live_ctimes_free(live);
	if (rc != 0) {
		snapshot_free(snap);
		return rc;
	}
	*out = snap;
	return 0;
}

/* "<prefix><tag>.ctimes" -> tag, or NULL. */
static char *abandoned_tag(const char *name, const char *prefix)
{
	size_t lp = strlen(prefix), len = strlen(name);

	if (len <= lp + 7 || strncmp(name, prefix, lp) != 0 || strcmp(name + len - 7, ".ctimes") != 0)
		return NULL;
	return cst_sprintf("%.*s", (int)(len - lp - 7), name + lp);
}

int snapshot_clear_abandoned(const struct config *cfg, const char *dir, const char *prefix,
			     const char *keep, size_t *n)
{
	struct dirent **names = NULL;
	int count = 0, i, rc = 0;

	*n = 0;
	if ((count = scandir(dir, &names, not_dot, cmp_names)) < 0)
		return 0;	/* no temp dir yet: nothing was left */
	for (i = 0; i < count; i++) {
		char *tag = abandoned_tag(names[i]->d_name, prefix), *path = NULL;
		struct snapshot *snap = NULL;
		int r;

		size_t tables = 0;

		/* our tags are "cassette-<backup>" */
		if (tag == NULL || strcmp(tag, keep) == 0 || !cst_name_is_safe(tag) ||
		    strncmp(tag, "cassette-", 9) != 0) {
			free(tag);
			continue;
		}
		if ((path = cst_path_join(dir, names[i]->d_name)) == NULL ||
		    (r = snapshot_alloc(&snap, cfg, tag)) != 0) {
			r = CST_ENOMEM;
		} else if ((r = tables_with_tag(cfg, tag, &tables)) == 0 && tables == 0) {
			unlink(path);	/* its snapshot is gone already */
		} else if (r == 0) {
			snap->taken = 1;
			if ((r = snapshot_clear(snap, cfg)) == 0) {
				unlink(path);
				fprintf(stderr, "cassette: cleared snapshot %s: an earlier cluster backup "
					"took it and never backed it up\n", tag);
				(*n)++;
			}
		}
		if (r != 0 && rc == 0)
			rc = r;
		snapshot_free(snap);
		free(path);
		free(tag);
	}
	free_names(names, count);
	return rc;
}

int snapshot_file_path(char *buf, size_t len, const struct snap_file *f)
{
	int n = snprintf(buf, len, "%s/%s", f->dir, f->rel);

	if (n < 0 || (size_t)n >= len)
		return cst_error(CST_EINVALID, "path too long: %s/%s", f->dir, f->rel);
	return 0;
}

int snapshot_clear(struct snapshot *snap, const struct config *cfg)
{
	int rc;

	if (snap == NULL || !snap->taken)
		return 0;
	if (cfg->snapshot_mode == SNAPSHOT_NODETOOL) {
		const char *args[] = { "clearsnapshot", "-t", snap->tag, NULL };

		rc = nodetool_run(cfg, NULL, args);
	} else {
		rc = for_each_table(cfg->data_dir, remove_table_snapshot, snap->tag);
	}
	if (rc == 0)
		snap->taken = 0;
	return rc;
}

void snapshot_free(struct snapshot *snap)
{
	size_t i;

	if (snap == NULL)
		return;
	for (i = 0; i < snap->n_files; i++) {
		const struct snap_file *prev = i ? &snap->files[i - 1] : NULL;

		if (prev == NULL || snap->files[i].keyspace != prev->keyspace)
			free(snap->files[i].keyspace);
		if (prev == NULL || snap->files[i].table != prev->table)
			free(snap->files[i].table);
		if (prev == NULL || snap->files[i].dir != prev->dir)
			free(snap->files[i].dir);
	}
	cst_strpool_free(&snap->rels);
	free(snap->files);
	free(snap->schema);
	free(snap->tag);
	free(snap);
}
