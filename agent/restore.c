/*
 * restore-node: check the whole plan, then fetch every file in parallel to
 * a temp name beside its destination (agent/fetch.c), proven against the
 * manifest, then rename them all. On failure no file is left, nor any
 * directory this restore created.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "fetch.h"
#include "history.h"
#include "layout.h"
#include "manifest.h"
#include "progress.h"
#include "storage.h"
#include "util.h"

struct restore {
	const struct config *cfg;
	const struct restore_opts *o;
	struct storage *st;
	struct crypto_key *key;
	struct fetch_job *jobs;
	size_t n_jobs;
	uint64_t bytes;
	char **dirs;		/* each destination directory once, sorted */
	size_t n_dirs;
	char **created;		/* directories this restore made, parents first */
	size_t n_created, cap_created;
	size_t n_renamed;	/* jobs[0..n_renamed) are in place */
};

static int table_matches(const char *cf, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(cf, want) == 0)
		return 1;
	/* "<name>" matches "<name>-<32 hex id>" */
	return strncmp(cf, want, n) == 0 && cf[n] == '-' && strlen(cf + n + 1) == 32;
}

static int add_job(struct restore *rs, const struct manifest_table *tab, size_t i)
{
	const struct restore_opts *o = rs->o;
	struct fetch_job *j = &rs->jobs[rs->n_jobs];
	int rc;

	j->keyspace = tab->keyspace;
	j->table = tab->columnfamily;
	j->obj = &tab->objects[i];
	if ((rc = layout_rel_from_key(&j->rel, j->obj->path, rs->cfg->prefix, rs->cfg->fqdn, o->name,
				      tab->keyspace, tab->columnfamily)) != 0)
		return cst_error(rc, "manifest of backup %s: %s; nothing was written", o->name,
				 cst_error_msg());
	rs->n_jobs++;
	j->dest = cst_sprintf("%s/%s/%s/%s", o->target_dir, tab->keyspace, tab->columnfamily, j->rel);
	if (j->dest == NULL)
		return CST_ENOMEM;
	if (access(j->dest, F_OK) == 0)
		return cst_error(CST_EEXISTS, "%s already exists; restore into an empty --target-dir "
				 "(nothing was written)", j->dest);
	rs->bytes += j->obj->source_size;
	return 0;
}

static int plan(struct restore *rs, const struct manifest *m)
{
	const struct restore_opts *o = rs->o;
	size_t t, i;
	int rc;

	if ((rs->jobs = cst_calloc(manifest_object_count(m) + 1, sizeof(*rs->jobs))) == NULL)
		return CST_ENOMEM;
	for (t = 0; t < manifest_table_count(m); t++) {
		const struct manifest_table *tab = manifest_table_at(m, t);

		if ((o->keyspace && strcmp(tab->keyspace, o->keyspace) != 0) ||
		    (o->table && !table_matches(tab->columnfamily, o->table)))
			continue;
		if (!layout_keyspace_is_valid(tab->keyspace) || !layout_table_dir_is_valid(tab->columnfamily))
			return cst_error(CST_EINVALID, "manifest of backup %s names an unsafe table '%s.%s'; "
					 "nothing was written", o->name, tab->keyspace, tab->columnfamily);
		for (i = 0; i < tab->n_objects; i++)
			if ((rc = add_job(rs, tab, i)) != 0)
				return rc;
	}
	if (rs->n_jobs == 0)
		return cst_error(CST_ENOTFOUND, "backup %s has no files%s%s%s%s%s", o->name,
				 o->keyspace || o->table ? " matching" : "",
				 o->keyspace ? " --keyspace " : "", o->keyspace ? o->keyspace : "",
				 o->table ? " --table " : "", o->table ? o->table : "");
	return 0;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Two entries with one destination would make one file overwrite the
 * other; and the distinct directories are what to create and fsync. */
static int collect_dirs(struct restore *rs)
{
	char **dests;
	size_t i, kept;
	int rc = 0;

	if ((dests = cst_calloc(rs->n_jobs, sizeof(*dests))) == NULL ||
	    (rs->dirs = cst_calloc(rs->n_jobs, sizeof(*rs->dirs))) == NULL) {
		free(dests);
		return CST_ENOMEM;
	}
	for (i = 0; i < rs->n_jobs; i++)
		dests[i] = rs->jobs[i].dest;
	qsort(dests, rs->n_jobs, sizeof(*dests), by_string);
	for (i = 1; i < rs->n_jobs; i++)
		if (strcmp(dests[i - 1], dests[i]) == 0) {
			rc = cst_error(CST_EINVALID, "manifest of backup %s lists %s twice; nothing was "
				       "written", rs->o->name, dests[i]);
			goto out;
		}
	for (i = 0; i < rs->n_jobs; i++) {
		char *d = cst_strdup(rs->jobs[i].dest);

		if (d == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
		*strrchr(d, '/') = '\0';
		rs->dirs[rs->n_dirs++] = d;
	}
	qsort(rs->dirs, rs->n_dirs, sizeof(*rs->dirs), by_string);
	for (i = 1, kept = 1; i < rs->n_dirs; i++) {
		if (strcmp(rs->dirs[kept - 1], rs->dirs[i]) == 0)
			free(rs->dirs[i]);
		else
			rs->dirs[kept++] = rs->dirs[i];
	}
	rs->n_dirs = kept;
out:
	free(dests);
	return rc;
}

/* A wrong key shows in the manifest, which records each object's key id:
 * refuse before a data object is even read. The decryptor checks every
 * header again. */
static int check_key(const struct restore *rs)
{
	char want[2 * CRYPTO_KEYID_LEN + 1];
	size_t i;

	cst_hex(want, crypto_key_id(rs->key), CRYPTO_KEYID_LEN);
	for (i = 0; i < rs->n_jobs; i++) {
		const struct fetch_job *j = &rs->jobs[i];

		if (j->obj->key_id[0] != '\0' && strcmp(j->obj->key_id, want) != 0)
			return cst_error(CST_EAUTH, "wrong key: backup %s was encrypted with key id %s "
					 "(%s.%s/%s), the configured key has id %s; nothing was written",
					 rs->o->name, j->obj->key_id, j->keyspace, j->table, j->rel, want);
	}
	return 0;
}

/* mkdir -p that remembers what it made, to take it away after a failure. */
static int make_dir(struct restore *rs, char *path)
{
	struct stat st;
	char *p, c;
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
		} else if ((rs->created = cst_grow(rs->created, &rs->cap_created, rs->n_created,
						   sizeof(*rs->created), 8)) == NULL ||
			   (rs->created[rs->n_created] = cst_strdup(path)) == NULL) {
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
	size_t i;
	int rc;

	for (i = 0; i < rs->n_dirs; i++)
		if ((rc = make_dir(rs, rs->dirs[i])) != 0)
			return rc;
	return 0;
}

/* Never over an existing file, even one that appeared since the plan. */
static int place(const char *tmp, const char *dest)
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
	size_t i;
	int rc;

	for (i = 0; i < rs->n_jobs; i++) {
		struct fetch_job *j = &rs->jobs[i];

		if (place(j->tmp, j->dest) != 0)
			return cst_error_errno("cannot rename %s to %s", j->tmp, j->dest);
		free(j->tmp);
		j->tmp = NULL;
		rs->n_renamed = i + 1;
	}
	for (i = 0; i < rs->n_dirs; i++)
		if ((rc = cst_fsync_dir(rs->dirs[i])) != 0)
			return rc;
	/* a new directory's entry lives in its parent */
	for (i = 0; i < rs->n_created; i++) {
		char *slash = strrchr(rs->created[i], '/');

		if (slash == NULL || slash == rs->created[i])
			continue;
		*slash = '\0';
		rc = cst_fsync_dir(rs->created[i]);
		*slash = '/';
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int load_manifest(struct restore *rs, struct manifest **m)
{
	char *key, *origin;
	int rc;

	key = layout_meta_key(rs->cfg->prefix, rs->cfg->fqdn, rs->o->name, "manifest.json");
	origin = cst_sprintf("backup %s manifest", rs->o->name);
	if (key == NULL || origin == NULL) {
		rc = CST_ENOMEM;
	} else if ((rc = history_get_manifest(m, rs->st, key, origin)) == CST_ENOTFOUND) {
		/* streamed: a manifest of 100,000 files is ~30 MB of JSON */
		rc = cst_error(CST_ENOTFOUND, "backup '%s' of node %s not found (or not complete): no %s",
			       rs->o->name, rs->cfg->fqdn, key);
	}
	free(key);
	free(origin);
	return rc;
}

static int any_encrypted(const struct restore *rs)
{
	size_t i;

	for (i = 0; i < rs->n_jobs; i++)
		if (rs->jobs[i].obj->salt[0] != '\0')
			return 1;
	return 0;
}

static int fetch_files(struct restore *rs)
{
	const char *provider = storage_provider(rs->st);
	struct fetch_params fp;
	int rc;

	memset(&fp, 0, sizeof(fp));
	fp.st = rs->st;
	fp.key = rs->key;
	fp.fqdn = rs->cfg->fqdn;
	fp.workers = fetch_worker_count(strcmp(provider, "local") != 0, rs->cfg->concurrent_transfers,
					rs->n_jobs);
	fp.progress = progress_start("restore", rs->n_jobs, rs->bytes);
	rc = fetch_all(rs->jobs, rs->n_jobs, &fp);
	progress_end(fp.progress, rc == 0);
	return rc;
}

/* Take away everything this restore wrote, newest first. */
static void undo(struct restore *rs)
{
	size_t i;

	for (i = 0; i < rs->n_jobs; i++)
		if (rs->jobs[i].tmp != NULL)
			unlink(rs->jobs[i].tmp);
	for (i = 0; i < rs->n_renamed; i++)
		unlink(rs->jobs[i].dest);
	for (i = rs->n_created; i-- > 0;)
		rmdir(rs->created[i]);	/* only empty ones go */
}

static void free_restore(struct restore *rs)
{
	size_t i;

	for (i = 0; i < rs->n_jobs; i++) {
		free(rs->jobs[i].tmp);
		free(rs->jobs[i].rel);
		free(rs->jobs[i].dest);
	}
	free(rs->jobs);
	for (i = 0; i < rs->n_dirs; i++)
		free(rs->dirs[i]);
	free(rs->dirs);
	for (i = 0; i < rs->n_created; i++)
		free(rs->created[i]);
	free(rs->created);
	crypto_key_free(rs->key);
	storage_close(rs->st);
}

int cmd_restore_node(const struct config *cfg, const struct restore_opts *o)
{
	struct restore rs;
	struct manifest *m = NULL;
	char human[32];
	int rc;

	memset(&rs, 0, sizeof(rs));
	rs.cfg = cfg;
	rs.o = o;
	if (!config_backup_name_is_valid(o->name)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not a valid backup name", o->name);
		return CMD_USAGE;
	}
	/* nothing is written until the whole plan and the key passed */
	if ((rc = cmd_open_storage(&rs.st, cfg, 0)) != 0 || (rc = load_manifest(&rs, &m)) != 0 ||
	    (rc = plan(&rs, m)) != 0 || (rc = collect_dirs(&rs)) != 0)
		goto out;
	if (any_encrypted(&rs) && ((rc = cmd_load_key(&rs.key, cfg, 1)) != 0 || (rc = check_key(&rs)) != 0))
		goto out;
	if ((rc = make_dirs(&rs)) != 0 || (rc = fetch_files(&rs)) != 0 || (rc = commit(&rs)) != 0)
		goto out;
	printf("restored %zu files (%s) of backup %s of node %s into %s\n", rs.n_jobs,
	       cmd_human_bytes(human, sizeof(human), rs.bytes), o->name, cfg->fqdn, o->target_dir);
out:
	if (rc != 0)
		undo(&rs);
	free_restore(&rs);
	manifest_free(m);
	return rc;
}
