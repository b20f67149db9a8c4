/*
 * backup-cluster: every node's snapshot, close together in time (phase 1:
 * backup-node --snapshot-only on all nodes at once, or --parallel-snapshots
 * at a time), then every node's backup of it (phase 2: backup-node
 * --use-snapshot, --parallel-uploads at a time), one backup name for all.
 * Each node does its own encryption and upload; this only orchestrates. A
 * node that fails does not stop the others.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "cluster_int.h"
#include "commands.h"
#include "progress.h"
#include "remote.h"
#include "storage.h"
#include "util.h"

struct node {
	char *host;
	struct remote_job snap, backup;
	uint64_t files, bytes;
	int finished;			/* the index lists it finished */
};

struct bc {
	const struct config *cfg;
	const struct backup_cluster_opts *o;
	char name[130];
	struct storage *st;
	struct node *nodes;
	size_t n;
	int phase;			/* 1 or 2, for the progress line */
	size_t done, failed, scheduled;
	uint64_t bytes;
	int show;			/* a progress line on stderr */
};

static int ok(const struct remote_job *j)
{
	return j->ran && j->status == 0;
}

/* The index's view of this backup: files, bytes, finished per node. */
static int refresh(struct bc *bc)
{
	struct catalog *cat = NULL;
	size_t i;
	int rc;

	if ((rc = catalog_load_backup(&cat, bc->st, bc->cfg->prefix, bc->name)) != 0)
		return rc;
	bc->bytes = 0;
	for (i = 0; i < bc->n; i++) {
		const struct catalog_node *c = cat->n_backups ?
			catalog_node_of(&cat->backups[0], bc->nodes[i].host) : NULL;

		bc->nodes[i].finished = c && c->finished;
		bc->nodes[i].files = c ? c->files : 0;
		bc->nodes[i].bytes = c ? c->bytes : 0;
		bc->bytes += bc->nodes[i].bytes;
	}
	catalog_free(cat);
	return 0;
}

static void draw(const struct bc *bc)
{
	char b[32];
	size_t left = bc->scheduled - bc->done - bc->failed;
	unsigned par = bc->phase == 1 ? bc->o->parallel_snapshots : bc->o->parallel_uploads;

	if (!bc->show)
		return;
	fprintf(stderr, "\r\033[Kbackup-cluster %s: %s: %zu/%zu nodes done, %zu running, %zu failed",
		bc->name, bc->phase == 1 ? "snapshots" : "backups", bc->done, bc->scheduled,
		par == 0 || par > left ? left : par, bc->failed);
	if (bc->phase == 2)
		fprintf(stderr, ", %s", cmd_human_bytes(b, sizeof(b), bc->bytes));
	fflush(stderr);
}

static void on_done(void *arg, const struct remote_job *job)
{
	struct bc *bc = arg;

	if (ok(job))
		bc->done++;
	else
		bc->failed++;
	if (bc->phase == 2 && ok(job) && refresh(bc) != 0)
		cst_error_clear();	/* the count is cosmetic here */
	draw(bc);
}

static int run_phase(struct bc *bc, int phase, const char *const *args)
{
	struct remote_job *jobs;
	size_t i, k = 0;
	int rc;

	if ((jobs = cst_calloc(bc->n ? bc->n : 1, sizeof(*jobs))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < bc->n; i++) {
		struct node *nd = &bc->nodes[i];
		struct remote_job *j = phase == 1 ? &nd->snap : &nd->backup;

		if (phase == 2 && !ok(&nd->snap))
			continue;
		j->host = nd->host;
		j->args = args;
		j->status = -1;
		jobs[k++] = *j;
	}
	bc->phase = phase;
	bc->done = bc->failed = 0;
	bc->scheduled = k;
	draw(bc);
	rc = remote_run_all(jobs, k, phase == 1 ? bc->o->parallel_snapshots : bc->o->parallel_uploads,
			    bc->cfg, on_done, bc);
	for (i = 0, k = 0; i < bc->n; i++) {	/* results back into the nodes */
		struct node *nd = &bc->nodes[i];

		if (phase == 2 && !ok(&nd->snap))
			continue;
		*(phase == 1 ? &nd->snap : &nd->backup) = jobs[k++];
	}
	free(jobs);
	if (bc->show)
		fprintf(stderr, "\r\033[K");
	return rc;
}

static int set_logs(struct bc *bc)
{
	char *dir = cst_sprintf("%s/cassette-cluster-%s", bc->cfg->encryption_tmp_dir, bc->name);
	size_t i;
	int rc;

	if (dir == NULL)
		return CST_ENOMEM;
	if ((rc = cst_mkdirs(dir)) != 0) {
		free(dir);
		return rc;
	}
	for (i = 0; i < bc->n; i++) {
		struct node *nd = &bc->nodes[i];

		nd->snap.log_path = cst_sprintf("%s/%s.snapshot.log", dir, nd->host);
		nd->backup.log_path = cst_sprintf("%s/%s.backup.log", dir, nd->host);
		if (nd->snap.log_path == NULL || nd->backup.log_path == NULL) {
			free(dir);
			return CST_ENOMEM;
		}
	}
	free(dir);
	return 0;
}

static void report(const struct bc *bc)
{
	size_t i, w = 4;
	char sz[32], t[32];

	for (i = 0; i < bc->n; i++)
		if (strlen(bc->nodes[i].host) > w)
			w = strlen(bc->nodes[i].host);
	printf("%-*s  %-8s  %8s  %10s  %8s\n", (int)w, "NODE", "RESULT", "FILES", "SIZE", "TIME");
	for (i = 0; i < bc->n; i++) {
		const struct node *nd = &bc->nodes[i];
		const struct remote_job *bad = !ok(&nd->snap) ? &nd->snap : !ok(&nd->backup) ?
					       &nd->backup : NULL;

		if (bad == NULL && nd->finished) {
			printf("%-*s  %-8s  %8" PRIu64 "  %10s  %8s\n", (int)w, nd->host, "ok", nd->files,
			       cmd_human_bytes(sz, sizeof(sz), nd->bytes),
			       progress_duration(t, sizeof(t), nd->snap.seconds + nd->backup.seconds));
		} else if (bad == NULL) {
			printf("%-*s  %-8s  its backup exited 0, but the index lists no finished backup "
			       "of node %s: is [storage] fqdn on that host '%s'? (log: %s)\n", (int)w,
			       nd->host, "FAILED", nd->host, nd->host, nd->backup.log_path);
		} else {
			printf("%-*s  %-8s  %s: %s (log: %s)\n", (int)w, nd->host, "FAILED",
			       bad == &nd->snap ? "snapshot" : "backup",
			       !bad->ran && !bad->last_line[0] ? "not run (interrupted)" :
			       bad->last_line[0] ? bad->last_line : "failed without a message",
			       bad->log_path);
		}
	}
}

int cmd_backup_cluster(const struct config *cfg, const struct backup_cluster_opts *o)
{
	struct bc bc;
	char **hosts = NULL;
	size_t n_hosts = 0, i, failed = 0, expected = 0;
	struct catalog *cat = NULL;
	int rc, complete = 0;
	const char *snap_args[] = { "backup-node", "--backup-name", NULL, "--snapshot-only",
				    "--no-progress", NULL };
	const char *backup_args[] = { "backup-node", "--backup-name", NULL, "--use-snapshot",
				      "--no-progress", "--mode", NULL, NULL };

	memset(&bc, 0, sizeof(bc));
	bc.cfg = cfg;
	bc.o = o;
	if ((rc = cmd_backup_name(bc.name, sizeof(bc.name), o->name, (int64_t)time(NULL))) != 0)
		return rc;
	snap_args[2] = backup_args[2] = bc.name;
	backup_args[6] = o->full ? "full" : "differential";
	if ((rc = cluster_topology_names(&hosts, &n_hosts, cfg)) != 0 ||
	    (rc = cmd_open_storage(&bc.st, cfg, 1)) != 0)
		goto out;
	if ((bc.nodes = cst_calloc(n_hosts, sizeof(*bc.nodes))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < n_hosts; i++)
		bc.nodes[i].host = hosts[i];
	bc.n = n_hosts;
	bc.show = progress_enabled();
	if ((rc = set_logs(&bc)) != 0 || (rc = run_phase(&bc, 1, snap_args)) != 0 ||
	    (rc = run_phase(&bc, 2, backup_args)) != 0 || (rc = refresh(&bc)) != 0 ||
	    (rc = catalog_load_backup(&cat, bc.st, cfg->prefix, bc.name)) != 0)
		goto out;
	report(&bc);
	for (i = 0; i < bc.n; i++)
		failed += !(ok(&bc.nodes[i].snap) && ok(&bc.nodes[i].backup) && bc.nodes[i].finished);
	complete = cat->n_backups > 0 && catalog_cluster_complete(&cat->backups[0], &expected);
	if (failed > 0)
		rc = cst_error(CST_ERROR, "backup %s is incomplete: %zu of %zu node%s failed", bc.name,
			       failed, bc.n, bc.n == 1 ? "" : "s");
	else if (!complete)
		rc = cst_error(CST_ERROR, "backup %s is incomplete: every node finished, but the nodes' "
			       "tokenmaps name %zu node%s (see: cassette status --backup-name %s)",
			       bc.name, expected, expected == 1 ? "" : "s", bc.name);
	else
		printf("backup-cluster %s complete: %zu node%s\n", bc.name, bc.n, bc.n == 1 ? "" : "s");
out:
	for (i = 0; i < bc.n; i++) {
		remote_job_clear(&bc.nodes[i].snap);
		remote_job_clear(&bc.nodes[i].backup);
	}
	free(bc.nodes);
	cluster_names_free(hosts, n_hosts);
	catalog_free(cat);
	storage_close(bc.st);
	return rc;
}
