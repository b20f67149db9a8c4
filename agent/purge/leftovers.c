/*
 * leftovers: what killed runs of this node left behind, cleared by purge
 * under the node's lock (so no run of the node is active on this host):
 * - temp files in the node's work directory (<encryption_tmp_dir>/
 *   cassette-<fqdn>.work);
 * - multipart uploads begun and never finished under <prefix>/<fqdn>/;
 * - cassette-<backup> snapshots of backups this node never finished (a
 *   finished one's snapshot was kept on purpose, --keep-snapshot; one with
 *   a .ctimes file waits for the second phase of a cluster backup, and the
 *   node's next backup clears it if that never comes);
 * - restore temp files (*.cassette-tmp-*) in data_dir's tables, left by a
 *   killed in-place restore.
 * The journal of a backup never resumed stays: the next backup drops it.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "layout.h"
#include "pipeline.h"
#include "purge_int.h"
#include "restore_int.h"
#include "resume.h"
#include "snapshot.h"
#include "storage.h"
#include "util.h"

static size_t count_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* One directory's restore temp files: removed, or counted when dry. */
static int tmp_in(const char *dir, int dry_run, size_t *n)
{
	DIR *d;
	struct dirent *f;

	if (!dry_run)
		return restore_clean_tmp(dir, n);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((f = readdir(d)) != NULL)
		*n += strstr(f->d_name, ".cassette-tmp-") != NULL && f->d_type != DT_DIR;
	closedir(d);
	return 0;
}

/* Restore temp files in every table directory of data_dir and its
 * secondary index directories (.<index>/). */
static int clean_restore_tmp(const char *data_dir, int dry_run, size_t *n)
{
	DIR *kd = opendir(data_dir), *td, *id;
	struct dirent *k, *t, *x;
	int rc = 0;

	if (kd == NULL)
		return 0;
	while (rc == 0 && (k = readdir(kd)) != NULL) {
		char *ks;

		if (!layout_keyspace_is_valid(k->d_name) || (ks = cst_path_join(data_dir, k->d_name)) == NULL)
			continue;
		td = opendir(ks);
		while (td != NULL && rc == 0 && (t = readdir(td)) != NULL) {
			char *dir, *sub;

			if (!layout_table_dir_is_valid(t->d_name) || (dir = cst_path_join(ks, t->d_name)) == NULL)
				continue;
			rc = tmp_in(dir, dry_run, n);
			id = rc == 0 ? opendir(dir) : NULL;
			while (id != NULL && rc == 0 && (x = readdir(id)) != NULL) {
				if (!layout_index_dir_is_valid(x->d_name) || (sub = cst_path_join(dir, x->d_name)) == NULL)
					continue;
				rc = tmp_in(sub, dry_run, n);
				free(sub);
			}
			if (id != NULL)
				closedir(id);
			free(dir);
		}
		if (td != NULL)
			closedir(td);
		free(ks);
	}
	closedir(kd);
	return rc;
}

/* Whether this node finished backup `name`. */
static int finished(const struct catalog *cat, const char *fqdn, const char *name)
{
	size_t i;

	for (i = 0; i < cat->n_backups; i++)
		if (strcmp(cat->backups[i].name, name) == 0) {
			const struct catalog_node *n = catalog_node_of(&cat->backups[i], fqdn);

			return n != NULL && n->finished;
		}
	return 0;
}

static int clean_snapshots(struct purge_run *p, const struct catalog *cat, size_t *n)
{
	const struct config *cfg = p->cfg;
	char **tags = NULL;
	size_t count = 0, i;
	int rc;

	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0' || access(cfg->data_dir, X_OK) != 0)
		return 0;	/* not a Cassandra host: nothing of ours there */
	rc = snapshot_tags(cfg, "cassette-", &tags, &count);
	for (i = 0; i < count; i++) {
		char *ctimes = cst_sprintf("%s/cassette-%s-%s.ctimes", cfg->encryption_tmp_dir, cfg->fqdn,
					   tags[i]);

		if (rc == 0 && ctimes != NULL && access(ctimes, F_OK) != 0 &&
		    !finished(cat, cfg->fqdn, tags[i] + 9)) {
			if (!p->dry_run)
				rc = snapshot_discard(cfg, tags[i]);
			(*n)++;
		}
		free(ctimes);
		free(tags[i]);
	}
	free(tags);
	return rc;
}

int purge_leftovers(struct purge_run *p, const struct catalog *cat)
{
	const struct config *cfg = p->cfg;
	char *work = pipeline_workdir(cfg), *node;
	size_t temps = 0, uploads = 0, snaps = 0, restore_tmp = 0;
	int rc = 0;

	if (work == NULL)
		return CST_ENOMEM;
	node = cfg->prefix[0] ? cst_sprintf("%s/%s/", cfg->prefix, cfg->fqdn) : cst_sprintf("%s/", cfg->fqdn);
	if (node == NULL) {
		free(work);
		return CST_ENOMEM;
	}
	if (p->dry_run)
		temps = count_in(work);
	else
		rc = resume_clean_workdir(cfg, &temps);
	if (rc == 0 && !p->dry_run)
		rc = storage_clean_uploads(p->st, node, &uploads);
	if (rc == 0)
		rc = clean_snapshots(p, cat, &snaps);
	if (rc == 0 && cfg->data_dir != NULL && cfg->data_dir[0] != '\0')
		rc = clean_restore_tmp(cfg->data_dir, p->dry_run, &restore_tmp);
	if (temps + uploads + snaps + restore_tmp > 0)
		printf("%s %zu temp file%s, %zu unfinished upload%s, %zu snapshot%s and %zu restore temp "
		       "file%s that interrupted runs of node %s left\n", p->dry_run ? "would remove" : "removed",
		       temps, temps == 1 ? "" : "s", uploads, uploads == 1 ? "" : "s", snaps,
		       snaps == 1 ? "" : "s", restore_tmp, restore_tmp == 1 ? "" : "s", cfg->fqdn);
	free(work);
	free(node);
	return rc;
}
