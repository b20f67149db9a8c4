/*
 * restore-node: every file to a temp name beside its destination, proven
 * against the manifest, then all renamed. On failure no file is left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "crypto.h"
#include "history.h"
#include "layout.h"
#include "manifest.h"
#include "storage.h"
#include "util.h"

struct job {
	const char *keyspace, *table;
	const struct manifest_object *obj;
	const char *rel;	/* the tail of dest */
	char *dest;
	/* mkstemp's 6 letters once the temp file exists ("" before and after):
	 * its name is tmp_name(), not kept, as a node may have 100,000 files */
	char tmp_tag[8];
};

#define TMP_SUFFIX ".cassette-tmp-"

/* The temp file's name (a fresh string, NULL when out of memory). */
static char *tmp_name(const struct job *j)
{
	return cst_sprintf("%s" TMP_SUFFIX "%s", j->dest, j->tmp_tag);
}

struct restore {
	const struct config *cfg;
	const struct restore_opts *o;
	struct storage *st;
	struct crypto_key *key;
	struct crypto_md5 *md5;
	struct job *jobs;
	size_t n_jobs;
	uint64_t bytes;
};

static int table_matches(const char *cf, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(cf, want) == 0)
		return 1;
	/* "<name>" matches "<name>-<32 hex id>" */
	return strncmp(cf, want, n) == 0 && cf[n] == '-' && strlen(cf + n + 1) == 32;
}

static int plan(struct restore *rs, const struct manifest *m)
{
	const struct restore_opts *o = rs->o;
	size_t t, i, total = manifest_object_count(m);
	int rc;

	if ((rs->jobs = cst_calloc(total, sizeof(*rs->jobs))) == NULL)
		return CST_ENOMEM;
	for (t = 0; t < manifest_table_count(m); t++) {
		const struct manifest_table *tab = manifest_table_at(m, t);

		if ((o->keyspace && strcmp(tab->keyspace, o->keyspace) != 0) ||
		    (o->table && !table_matches(tab->columnfamily, o->table)))
			continue;
		if (!layout_keyspace_is_valid(tab->keyspace) || !layout_table_dir_is_valid(tab->columnfamily))
			return cst_error(CST_EINVALID, "manifest of backup %s names an unsafe table '%s.%s'; "
					 "nothing was written", o->name, tab->keyspace, tab->columnfamily);
		for (i = 0; i < tab->n_objects; i++) {
			struct job *j = &rs->jobs[rs->n_jobs];
			char *rel = NULL;

			j->keyspace = tab->keyspace;
			j->table = tab->columnfamily;
			j->obj = &tab->objects[i];
			if ((rc = layout_rel_from_key(&rel, j->obj->path, rs->cfg->prefix, rs->cfg->fqdn,
						      o->name, tab->keyspace, tab->columnfamily)) != 0)
				return cst_error(rc, "manifest of backup %s: %s; nothing was written", o->name,
						 cst_error_msg());
			rs->n_jobs++;
			j->dest = cst_sprintf("%s/%s/%s/%s", o->target_dir, tab->keyspace, tab->columnfamily,
					      rel);
			if (j->dest != NULL)	/* one string a file: a node may have 100,000 */
				j->rel = j->dest + strlen(j->dest) - strlen(rel);
			free(rel);
			if (j->dest == NULL)
				return CST_ENOMEM;
			if (access(j->dest, F_OK) == 0)
				return cst_error(CST_EEXISTS, "%s already exists; restore into an empty "
						 "--target-dir (nothing was written)", j->dest);
			rs->bytes += j->obj->source_size;
		}
	}
	if (rs->n_jobs == 0)
		return cst_error(CST_ENOTFOUND, "backup %s has no files%s%s%s%s%s", o->name,
				 o->keyspace || o->table ? " matching" : "",
				 o->keyspace ? " --keyspace " : "", o->keyspace ? o->keyspace : "",
				 o->table ? " --table " : "", o->table ? o->table : "");
	return 0;
}

struct sink {
	int fd;
	const char *path;
	struct crypto_stream *dec;	/* NULL for plaintext objects */
	struct crypto_md5 *md5;		/* plaintext objects: prove source_MD5 */
	uint64_t stored, plain;
};

static int write_plain(void *arg, const unsigned char *buf, size_t len)
{
	struct sink *s = arg;
	int rc;

	if (s->md5 && (rc = crypto_md5_update(s->md5, buf, len)) != 0)
		return rc;
	if (cst_write_all(s->fd, buf, len) != 0)
		return cst_error_errno("cannot write %s", s->path);
	s->plain += len;
	return 0;
}

static int from_storage(void *arg, const unsigned char *buf, size_t len)
{
	struct sink *s = arg;

	s->stored += len;
	if (s->dec == NULL)
		return write_plain(s, buf, len);
	return crypto_stream_update(s->dec, buf, len, write_plain, s);
}

static int verify(const struct job *j, struct sink *s)
{
	const struct manifest_object *obj = j->obj;
	unsigned char md5[16];
	char hex[33];
	int rc;

	if (s->stored != obj->size)
		return cst_error(CST_EINTEGRITY, "object %s is %" PRIu64 " bytes, the manifest says %" PRIu64,
				 obj->path, s->stored, obj->size);
	if (s->plain != obj->source_size)
		return cst_error(CST_EINTEGRITY, "%s decodes to %" PRIu64 " bytes, the manifest says %" PRIu64,
				 obj->path, s->plain, obj->source_size);
	if (s->md5 != NULL) {
		if ((rc = crypto_md5_final(s->md5, md5)) != 0)
			return rc;
		cst_hex(hex, md5, 16);
		if (strcmp(hex, obj->source_md5) != 0)
			return cst_error(CST_EINTEGRITY, "object %s has MD5 %s, the manifest says %s",
					 obj->path, hex, obj->source_md5);
	}
	return 0;
}

static int fetch(struct restore *rs, struct job *j)
{
	struct crypto_identity id = { rs->cfg->fqdn, j->keyspace, j->table, j->rel };
	unsigned char salt[32];
	struct sink s;
	char *dir = NULL, *tmp = NULL;
	int rc;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	if ((dir = cst_strdup(j->dest)) == NULL)
		return CST_ENOMEM;
	*strrchr(dir, '/') = '\0';
	if ((rc = cst_mkdirs(dir)) != 0)
		goto out;
	if ((tmp = cst_sprintf("%s" TMP_SUFFIX "XXXXXX", j->dest)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((s.fd = mkstemp(tmp)) < 0) {
		rc = cst_error_errno("cannot create %s", tmp);
		goto out;
	}
	memcpy(j->tmp_tag, tmp + strlen(tmp) - 6, 7);
	s.path = tmp;
	if (j->obj->salt[0] != '\0') {
		if ((rc = cst_unhex(salt, sizeof(salt), j->obj->salt)) != 0 ||
		    (rc = crypto_decryptor_new(&s.dec, rs->key, &id, salt)) != 0)
			goto out;
	} else {
		s.md5 = rs->md5;
		if ((rc = crypto_md5_reset(rs->md5)) != 0)
			goto out;
	}
	if ((rc = storage_get(rs->st, j->obj->path, from_storage, &s)) != 0 ||
	    (s.dec && (rc = crypto_stream_final(s.dec, write_plain, &s)) != 0) ||
	    (rc = verify(j, &s)) != 0)
		goto out;
	if (fchmod(s.fd, 0644) != 0 || fsync(s.fd) != 0)
		rc = cst_error_errno("cannot write %s", tmp);
out:
	if (rc != 0 && rc != CST_ENOMEM && strstr(cst_error_msg(), j->obj->path) == NULL) {
		char saved[1024];

		snprintf(saved, sizeof(saved), "%s", cst_error_msg());
		rc = cst_error(rc, "%s.%s/%s (object %s): %s", j->keyspace, j->table, j->rel,
			       j->obj->path, saved);
	}
	if (s.fd >= 0 && close(s.fd) != 0 && rc == 0)
		rc = cst_error_errno("cannot write %s", tmp);
	crypto_stream_free(s.dec);
	free(dir);
	free(tmp);
	return rc;
}

static int commit(struct restore *rs)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < rs->n_jobs; i++) {
		struct job *j = &rs->jobs[i];
		char *slash, *tmp = tmp_name(j);

		if (tmp == NULL)
			return CST_ENOMEM;
		if (rename(tmp, j->dest) != 0) {
			rc = cst_error_errno("cannot rename %s to %s", tmp, j->dest);
			free(tmp);
			return rc;
		}
		free(tmp);
		j->tmp_tag[0] = '\0';
		slash = strrchr(j->dest, '/');
		*slash = '\0';
		rc = cst_fsync_dir(j->dest);
		*slash = '/';
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* After a failure: remove the directories this restore may have created
 * (rmdir only removes empty ones), from the file's up to target_dir. */
static void prune_dirs(char *dest, const char *target)
{
	size_t keep = strlen(target);
	char *slash;

	while ((slash = strrchr(dest, '/')) != NULL && (size_t)(slash - dest) > keep) {
		*slash = '\0';
		if (rmdir(dest) != 0)
			break;
	}
}

static int any_encrypted(const struct restore *rs)
{
	size_t i;

	for (i = 0; i < rs->n_jobs; i++)
		if (rs->jobs[i].obj->salt[0] != '\0')
			return 1;
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

int cmd_restore_node(const struct config *cfg, const struct restore_opts *o)
{
	struct restore rs;
	struct manifest *m = NULL;
	size_t i;
	char human[32];
	int rc;

	memset(&rs, 0, sizeof(rs));
	rs.cfg = cfg;
	rs.o = o;
	if (!config_backup_name_is_valid(o->name)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not a valid backup name", o->name);
		return CMD_USAGE;
	}
	if ((rc = cmd_open_storage(&rs.st, cfg, 0)) != 0 || (rc = load_manifest(&rs, &m)) != 0 ||
	    (rc = plan(&rs, m)) != 0 || (rc = crypto_md5_new(&rs.md5)) != 0)
		goto out;
	if (any_encrypted(&rs) && (rc = cmd_load_key(&rs.key, cfg, 1)) != 0)
		goto out;
	for (i = 0; rc == 0 && i < rs.n_jobs; i++) {
		if (cassette_interrupted)
			rc = cst_error(CST_ERROR, "interrupted");
		else
			rc = fetch(&rs, &rs.jobs[i]);
	}
	if (rc == 0 && (rc = commit(&rs)) == 0)
		printf("restored %zu files (%s) of backup %s of node %s into %s\n", rs.n_jobs,
		       cmd_human_bytes(human, sizeof(human), rs.bytes), o->name, cfg->fqdn, o->target_dir);
out:
	for (i = 0; i < rs.n_jobs; i++) {
		char *tmp;

		if (rs.jobs[i].tmp_tag[0] != '\0' && (tmp = tmp_name(&rs.jobs[i])) != NULL) {
			unlink(tmp);
			free(tmp);
		}
		if (rc != 0 && rs.jobs[i].dest)
			prune_dirs(rs.jobs[i].dest, o->target_dir);
		free(rs.jobs[i].dest);
	}
	free(rs.jobs);
	manifest_free(m);
	crypto_md5_free(rs.md5);
	crypto_key_free(rs.key);
	storage_close(rs.st);
	return rc;
}
