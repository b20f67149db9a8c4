/*
 * restore-node: check the whole plan, then fetch every file in parallel to
 * a temp name beside its destination (fetch.c), proven against the
 * manifest. With --target-dir, rename them all once every file passed; on
 * failure no file is left, nor any directory this restore created. With
 * --in-place, inplace.c takes over once the plan and the key are checked.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "fernet.h"
#include "fetch.h"
#include "layout.h"
#include "manifest.h"
#include "meta_auth.h"
#include "lock.h"
#include "progress.h"
#include "restore_int.h"
#include "select.h"
#include "keys.h"
#include "storage.h"
#include "util.h"

/* The jobs' storage keys, pooled: one malloc per 256 KiB, not per file. */
#define NAMES_BLOCK (256 * 1024)

/* The manifest streams through the plan: no copy of it is ever held. */
static int on_table(void *arg, const char *ks, const char *cf)
{
	struct restore *rs = arg;
	const struct restore_opts *o = rs->o;
	struct rs_table *t, **grown;
	size_t i;

	rs->cur = NULL;
	if (!select_table(rs->sel, ks, cf))
		return 0;
	if (!layout_keyspace_is_valid(ks) || !layout_table_dir_is_valid(cf))
		return cst_error(CST_EINVALID, "manifest of backup %s names an unsafe table '%s.%s'; "
				 "nothing was written", o->name, ks, cf);
	for (i = 0; i < rs->n_tables; i++)	/* a table listed twice is one table */
		if (strcmp(rs->tables[i]->ft.keyspace, ks) == 0 &&
		    strcmp(rs->tables[i]->ft.columnfamily, cf) == 0) {
			rs->cur = rs->tables[i];
			return 0;
		}
	if ((grown = cst_grow(rs->tables, &rs->cap_tables, rs->n_tables, sizeof(*grown), 16)) == NULL)
		return CST_ENOMEM;
	rs->tables = grown;
	if ((t = cst_calloc(1, sizeof(*t))) == NULL)
		return CST_ENOMEM;
	rs->tables[rs->n_tables++] = t;
	if ((t->ft.keyspace = cst_strdup(ks)) == NULL || (t->ft.columnfamily = cst_strdup(cf)) == NULL)
		return CST_ENOMEM;
	rs->cur = t;
	return 0;
}

/* Each destination directory once in a row (files come grouped by table). */
static int add_dir(struct restore *rs, char *dest)
{
	char **grown, *slash = strrchr(dest, '/');
	int rc = 0;

	*slash = '\0';
	if (rs->n_dirs > 0 && strcmp(rs->dirs[rs->n_dirs - 1], dest) == 0)
		goto out;
	if ((grown = cst_grow(rs->dirs, &rs->cap_dirs, rs->n_dirs, sizeof(*grown), 64)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	rs->dirs = grown;
	if ((rs->dirs[rs->n_dirs] = cst_strdup(dest)) == NULL)
		rc = CST_ENOMEM;
	else
		rs->n_dirs++;
out:
	*slash = '/';
	return rc;
}

static int on_object(void *arg, const struct manifest_object *obj)
{
	struct restore *rs = arg;
	const struct restore_opts *o = rs->o;
	struct fetch_job *j, *grown;
	char *rel = NULL, *dest = NULL;
	int rc;

	if (rs->cur == NULL)
		return 0;
	if ((rc = layout_rel_from_key(&rel, obj->path, rs->cfg->prefix, rs->cfg->fqdn, o->name,
				      rs->cur->ft.keyspace, rs->cur->ft.columnfamily)) != 0)
		return cst_error(rc, "manifest of backup %s: %s; nothing was written", o->name,
				 cst_error_msg());
	if ((grown = cst_grow(rs->jobs, &rs->cap_jobs, rs->n_jobs, sizeof(*grown), 1024)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	rs->jobs = grown;
	j = &rs->jobs[rs->n_jobs];
	memset(j, 0, sizeof(*j));
	if ((rc = manifest_rec_pack(&j->rec, obj)) != 0)
		goto out;
	if ((j->rec.path = cst_strpool_dup(&rs->names, obj->path)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	j->tab = &rs->cur->ft;
	j->rel = (uint32_t)(strlen(obj->path) - strlen(rel));	/* rel is the key's tail */
	rs->n_jobs++;
	rs->cur->n_jobs++;
	rs->cur->bytes += j->rec.source_size;
	rs->bytes += j->rec.source_size;
	rs->encrypted |= j->rec.encrypted;
	if (j->rec.fernet && rs->medusa_object == NULL)
		rs->medusa_object = j->rec.path;
	if (rs->in_place)	/* what is there is replaced, table by table */
		goto out;
	if ((dest = fetch_dest(rs->target, j)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if (access(dest, F_OK) == 0) {
		rc = cst_error(CST_EEXISTS, "%s already exists; restore into an empty --target-dir "
			       "(nothing was written)", dest);
		goto out;
	}
	rc = add_dir(rs, dest);
out:
	free(rel);
	free(dest);
	return rc;
}

/* The storage sink: every byte of the manifest into the reader. */
static int to_reader(void *arg, const unsigned char *buf, size_t len)
{
	return manifest_reader_feed(arg, buf, len);
}

/* With a key configured, the backup's meta must be authenticated: load the
 * key (a plaintext restore too: a manifest stripped of its salts must not
 * pass as a plaintext one) and auth.json. */
static int authenticate(struct restore *rs)
{
	int rc;

	if (!config_has_key(rs->cfg))
		return 0;	/* no key: nothing to check with (FORMAT.md) */
	if ((rc = keys_open(&rs->keys, rs->cfg, rs->st, rs->cfg->fqdn, 0)) != 0)
		return rc;
	return meta_auth_require(&rs->auth, rs->st, rs->cfg->prefix, rs->cfg->fqdn, rs->o->name,
				 keys_meta_key, rs->keys, rs->o->allow_unauthenticated);
}

static int plan(struct restore *rs)
{
	const struct restore_opts *o = rs->o;
	struct manifest_sink sink = { on_table, on_object, rs };
	struct manifest_reader *r = NULL;
	struct meta_tee tee;
	unsigned char sha[CRYPTO_SHA256_LEN];
	char *key, *origin;
	int rc;

	memset(&tee, 0, sizeof(tee));
	key = layout_meta_key(rs->cfg->prefix, rs->cfg->fqdn, o->name, "manifest.json");
	origin = cst_sprintf("backup %s manifest", o->name);
	if (key == NULL || origin == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = manifest_reader_new(&r, origin, &sink)) != 0 ||
	    (rc = meta_tee_init(&tee, to_reader, r)) != 0)
		goto out;
	if ((rc = storage_get(rs->st, key, meta_tee_sink, &tee)) == CST_ENOTFOUND)
		rc = cst_error(CST_ENOTFOUND, "backup '%s' of node %s not found (or not complete): no %s",
			       o->name, rs->cfg->fqdn, key);
	if (rc != 0 || (rc = meta_tee_digest(&tee, sha)) != 0)
		goto out;
	/* the manifest's bytes are proven before anything it says is acted on */
	if ((rc = authenticate(rs)) != 0 || (rc = meta_auth_check(rs->auth, "manifest.json", sha, key)) != 0) {
		if (rc != CMD_USAGE)	/* a key file that cannot be loaded says so itself */
			rc = cst_error(rc, "%s; nothing was written", cst_error_msg());
		goto out;
	}
	if ((rc = meta_tee_rethrow(&tee)) != 0 || (rc = manifest_reader_finish(r)) != 0 ||
	    (rc = select_check_used(rs->sel, o->name)) != 0)
		goto out;
	/* in place, a table listed without files is restored empty */
	if (rs->in_place ? rs->n_tables == 0 : rs->n_jobs == 0)
		rc = cst_error(CST_ENOTFOUND, "backup %s has no %s%s", o->name,
			       rs->in_place ? "tables" : "files", select_describe(rs->sel));
out:
	meta_tee_free(&tee);
	manifest_reader_free(r);
	free(key);
	free(origin);
	return rc;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Same table and same path below it is the same destination. */
static int by_dest(const void *a, const void *b)
{
	const struct fetch_job *x = *(const struct fetch_job *const *)a;
	const struct fetch_job *y = *(const struct fetch_job *const *)b;

	if (x->tab != y->tab)
		return (uintptr_t)x->tab < (uintptr_t)y->tab ? -1 : 1;
	return strcmp(fetch_rel(x), fetch_rel(y));
}

/* Two entries with one destination would make one file overwrite the
 * other; and the distinct directories are what to create and fsync. */
static int check_plan(struct restore *rs)
{
	const struct fetch_job **sorted;
	size_t i, kept;
	char *dest;
	int rc = 0;

	if ((sorted = cst_calloc(rs->n_jobs, sizeof(*sorted))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < rs->n_jobs; i++)
		sorted[i] = &rs->jobs[i];
	qsort(sorted, rs->n_jobs, sizeof(*sorted), by_dest);
	for (i = 1; i < rs->n_jobs; i++)
		if (by_dest(&sorted[i - 1], &sorted[i]) == 0) {
			dest = fetch_dest(rs->target, sorted[i]);
			rc = dest == NULL ? CST_ENOMEM :
			     cst_error(CST_EINVALID, "manifest of backup %s lists %s twice; nothing was "
				       "written", rs->o->name, dest);
			free(dest);
			goto out;
		}
	if (rs->n_dirs > 0)	/* none in place */
		qsort(rs->dirs, rs->n_dirs, sizeof(*rs->dirs), by_string);
	for (i = 1, kept = rs->n_dirs ? 1 : 0; i < rs->n_dirs; i++) {
		if (strcmp(rs->dirs[kept - 1], rs->dirs[i]) == 0)
			free(rs->dirs[i]);
		else
			rs->dirs[kept++] = rs->dirs[i];
	}
	rs->n_dirs = kept;
out:
	free(sorted);
	return rc;
}

/* A wrong key shows in the manifest, which records each object's key id:
 * find every key (unwrapping the node's data keys) before a data object is
 * even read. The decryptor checks every header again. */
static int check_key(struct restore *rs)
{
	const struct crypto_key *key;
	const unsigned char *last = NULL;
	size_t i;
	int rc;

	for (i = 0; i < rs->n_jobs; i++) {
		const struct fetch_job *j = &rs->jobs[i];

		if (!j->rec.encrypted || (last && memcmp(last, j->rec.key_id, CRYPTO_KEYID_LEN) == 0))
			continue;
		if ((rc = keys_resolve(rs->keys, j->rec.key_id, &key)) != 0)
			return cst_error(rc, "backup %s (%s.%s/%s): %s; nothing was written", rs->o->name,
					 j->tab->keyspace, j->tab->columnfamily, fetch_rel(j),
					 cst_error_msg());
		last = j->rec.key_id;
	}
	return 0;
}

/* mkdir -p that remembers what it made, to take it away after a failure. */
static int make_dir(struct restore *rs, char *path)
{
	struct stat st;
	char **grown, *p, c;
	int rc = 0;

	for (p = path + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (stat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode))
				rc = cst_error(CST_EEXISTS, "%s exists and is not a directory", path);
		} else if (errno != ENOENT || mkdir(path, 0755) != 0) {
			rc = cst_error_errno("cannot create directory %s", path);
		} else if ((grown = cst_grow(rs->created, &rs->cap_created, rs->n_created,
					     sizeof(*grown), 8)) == NULL ||
			   (rs->created = grown, rs->created[rs->n_created] = cst_strdup(path)) == NULL) {
			rmdir(path);
			rc = CST_ENOMEM;
		} else {
			rs->n_created++;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return rc;
}

static int make_dirs(struct restore *rs)
{
	size_t i, left = 0;
	int rc;

	for (i = 0; i < rs->n_dirs; i++) {
		if ((rc = make_dir(rs, rs->dirs[i])) != 0)
			return rc;
		/* the node's lock is ours: temp files there, a killed restore left */
		if ((rc = restore_clean_tmp(rs->dirs[i], &left)) != 0)
			return rc;
	}
	if (left > 0)
		fprintf(stderr, "cassette: removed %zu temp file%s (" FETCH_TMP_SUFFIX "*) that an "
			"interrupted restore left in %s\n", left, left == 1 ? "" : "s", rs->target);
	return 0;
}

int restore_clean_tmp(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT || errno == ENOTDIR ? 0 : cst_error_errno("cannot read %s", dir);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, FETCH_TMP_SUFFIX) == NULL || e->d_type == DT_DIR)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) {
			rc = cst_error_errno("cannot remove %s/%s", dir, e->d_name);
			break;
		}
		(*n)++;
	}
	closedir(d);
	return rc;
}

/* Never over an existing file, even one that appeared since the plan. */
int restore_place(const char *tmp, const char *dest)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a file system without RENAME_NOREPLACE: link() refuses to replace too */
	if (link(tmp, dest) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP)
		return -1;
	/* nor hard links: the plan's check is all there is */
	if (access(dest, F_OK) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, dest);
}

static int commit(struct restore *rs)
{
	const char *target = rs->target;
	size_t i;
	int rc = 0;

	for (i = 0; i < rs->n_jobs && rc == 0; i++) {
		struct fetch_job *j = &rs->jobs[i];
		char *tmp = fetch_tmp(target, j), *dest = fetch_dest(target, j);

		if (tmp == NULL || dest == NULL) {
			rc = CST_ENOMEM;
		} else if (restore_place(tmp, dest) != 0) {
			rc = cst_error_errno("cannot rename %s to %s", tmp, dest);
		} else {
			j->tmp_tag[0] = '\0';
			rs->n_renamed = i + 1;
		}
		free(tmp);
		free(dest);
	}
	for (i = 0; i < rs->n_dirs && rc == 0; i++)
		rc = cst_fsync_dir(rs->dirs[i]);
	/* a new directory's entry lives in its parent */
	for (i = 0; i < rs->n_created && rc == 0; i++) {
		char *slash = strrchr(rs->created[i], '/');

		if (slash == NULL || slash == rs->created[i])
			continue;
		*slash = '\0';
		rc = cst_fsync_dir(rs->created[i]);
		*slash = '/';
	}
	return rc;
}

unsigned restore_workers(const struct restore *rs, size_t n_jobs)
{
	const char *provider = storage_provider(rs->st);

	return fetch_worker_count(strcmp(provider, "local") != 0, rs->cfg->concurrent_transfers, n_jobs);
}

static int fetch_files(struct restore *rs)
{
	struct fetch_params fp;
	int rc;

	memset(&fp, 0, sizeof(fp));
	fp.st = rs->st;
	fp.keys = rs->keys;
	fp.medusa_key = rs->medusa_key;
	fp.fqdn = rs->cfg->fqdn;
	fp.target_dir = rs->target;
	fp.workers = restore_workers(rs, rs->n_jobs);
	fp.progress = progress_start("restore", rs->n_jobs, rs->bytes);
	rc = fetch_all(rs->jobs, rs->n_jobs, &fp);
	progress_end(fp.progress, rc == 0);
	return rc;
}

/* Take away everything this restore wrote, newest first. */
static void undo(struct restore *rs)
{
	const char *target = rs->target;
	char *name;
	size_t i;

	for (i = 0; i < rs->n_jobs; i++)
		if ((name = fetch_tmp(target, &rs->jobs[i])) != NULL) {
			unlink(name);
			free(name);
		}
	for (i = 0; i < rs->n_renamed; i++)
		if ((name = fetch_dest(target, &rs->jobs[i])) != NULL) {
			unlink(name);
			free(name);
		}
	for (i = rs->n_created; i-- > 0;)
		rmdir(rs->created[i]);	/* only empty ones go */
}

static void free_restore(struct restore *rs)
{
	size_t i;

	cst_strpool_free(&rs->names);
	free(rs->jobs);
	for (i = 0; i < rs->n_tables; i++) {
		free(rs->tables[i]->ft.keyspace);
		free(rs->tables[i]->ft.columnfamily);
		free(rs->tables[i]->ft.dir);
		free(rs->tables[i]);
	}
	free(rs->tables);
	for (i = 0; i < rs->n_dirs; i++)
		free(rs->dirs[i]);
	free(rs->dirs);
	for (i = 0; i < rs->n_created; i++)
		free(rs->created[i]);
	free(rs->created);
	keys_free(rs->keys);
	fernet_key_free(rs->medusa_key);
	meta_auth_free(rs->auth);
	select_free(rs->sel);
	storage_close(rs->st);
}

int restore_prepare(struct restore *rs)
{
	const struct restore_opts *o = rs->o;
	int rc;

	if ((rc = select_new(&rs->sel, o->keyspaces, o->n_keyspaces, o->tables, o->n_tables,
			     rs->in_place && strcmp(rs->cfg->fqdn, rs->cfg->node_fqdn) != 0)) != 0)
		return rc == CST_EINVALID ? CMD_USAGE : rc;
	if ((rc = cmd_open_storage(&rs->st, rs->cfg, 0)) != 0 || (rc = plan(rs)) != 0 ||
	    (rc = check_plan(rs)) != 0)
		return rc;
	if (rs->encrypted && ((rs->keys == NULL && (rc = keys_open(&rs->keys, rs->cfg, rs->st, rs->cfg->fqdn, 0)) != 0) ||
			      (rc = check_key(rs)) != 0))
		return rc;
	if (rs->medusa_object != NULL &&
	    (rc = fetch_medusa_key(&rs->medusa_key, rs->cfg, o->name, rs->medusa_object)) != 0) {
		char saved[900];

		snprintf(saved, sizeof(saved), "%s", cst_error_msg());
		cst_error(cst_error_code(), "%s; nothing was written", saved);
		return rc;
	}
	return 0;
}

int cmd_restore_node(const struct config *cfg, const struct restore_opts *o)
{
	struct restore rs;
	struct node_lock *lock = NULL;
	char human[32];
	int rc;

	memset(&rs, 0, sizeof(rs));
	cst_strpool_init(&rs.names, NAMES_BLOCK);
	rs.cfg = cfg;
	rs.o = o;
	rs.in_place = o->in_place;
	rs.target = o->in_place ? cfg->data_dir : o->target_dir;
	if (!config_backup_name_is_valid(o->name)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not a valid backup name", o->name);
		return CMD_USAGE;
	}
	/* purge and delete-backup of this node wait meanwhile */
	if ((rc = node_lock_take(&lock, cfg, cfg->fqdn, "restore-node")) != 0)
		return rc;
	if (o->in_place) {
		rc = restore_in_place(&rs);
		free_restore(&rs);
		node_lock_release(lock);
		return rc;
	}
	/* nothing is written until the whole plan and the key passed */
	if ((rc = restore_prepare(&rs)) != 0)
		goto out;
	if ((rc = make_dirs(&rs)) != 0 || (rc = fetch_files(&rs)) != 0 || (rc = commit(&rs)) != 0)
		goto out;
	printf("restored %zu file%s (%s) of backup %s of node %s into %s\n", rs.n_jobs,
	       rs.n_jobs == 1 ? "" : "s", cmd_human_bytes(human, sizeof(human), rs.bytes), o->name,
	       cfg->fqdn, o->target_dir);
out:
	if (rc != 0)
		undo(&rs);
	free_restore(&rs);
	node_lock_release(lock);
	return rc;
}
