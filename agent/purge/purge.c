/*
 * purge and delete-backup: retention and garbage collection of a node's
 * backups (retention.h chooses, remove.c removes, gc.c collects).
 *
 * Both hold the lock of each node whose objects they delete, finish first
 * any removal a deleting flag shows was interrupted, and with --dry-run
 * print the same report and delete nothing.
 */
#define _GNU_SOURCE
#include "purge_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "commands.h"
#include "config.h"
#include "lock.h"
#include "metrics.h"
#include "retention.h"
#include "storage.h"
#include "util.h"

static void run_free(struct purge_run *p)
{
	size_t i;

	for (i = 0; i < p->n_gone; i++)
		free(p->gone[i]);
	free(p->gone);
	storage_close(p->st);
}

static void summary(const struct purge_run *p)
{
	char size[32];

	printf("%s: %s %zu backup%s, %" PRIu64 " objects, %s%s\n", p->command,
	       p->dry_run ? "would remove" : "removed", p->backups, p->backups == 1 ? "" : "s",
	       p->total.objects, cmd_human_bytes(size, sizeof(size), p->total.bytes),
	       p->dry_run ? " (dry run: nothing was deleted)" : "");
}

/* Why a backup goes, for its line. */
static void reason(char *buf, size_t len, const struct config *cfg,
		   const struct retention_backup *b)
{
	char t[32];

	switch (b->verdict) {
	case RETAIN_AGE:
		snprintf(buf, len, "finished %s, older than max_backup_age = %u days",
			 cmd_fmt_time(t, sizeof(t), b->finished), cfg->max_backup_age_days);
		break;
	case RETAIN_COUNT:
		snprintf(buf, len, "beyond max_backup_count = %u", cfg->max_backup_count);
		break;
	case RETAIN_ABANDONED:
		snprintf(buf, len, "abandoned: started %s, never finished, older than "
			 "backup_grace_period_in_days = %u", cmd_fmt_time(t, sizeof(t), b->started),
			 cfg->grace_period_days);
		break;
	default:
		snprintf(buf, len, "%s", retention_reason(b->verdict));
	}
}

/* Apply the retention rules to node `fqdn`'s backups in `cat`. */
static int purge_by_rules(struct purge_run *p, const struct catalog *cat, const char *fqdn)
{
	struct retention_rules rules = { p->cfg->max_backup_age_days, p->cfg->max_backup_count,
					 p->cfg->grace_period_days };
	struct retention_backup *v;
	char why[256];
	size_t i, n = 0;
	int rc = 0;

	if ((v = cst_calloc(cat->n_backups ? cat->n_backups : 1, sizeof(*v))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < cat->n_backups; i++) {
		const struct catalog_node *nd = catalog_node_of(&cat->backups[i], fqdn);

		if (nd == NULL || nd->deleting || purge_is_gone(p, fqdn, cat->backups[i].name))
			continue;
		v[n].name = cat->backups[i].name;
		v[n].started = nd->started;
		v[n].finished = nd->finished;
		v[n].damaged = nd->damaged;
		n++;
	}
	retention_choose(v, n, p->now, &rules);
	/* Oldest first (the catalog's order), so an interrupted run has
	 * removed the oldest. */
	for (i = 0; i < n && rc == 0; i++) {
		if (v[i].verdict == RETAIN_KEEP)
			continue;
		reason(why, sizeof(why), p->cfg, &v[i]);
		rc = purge_remove_backup(p, fqdn, v[i].name, why);
	}
	free(v);
	return rc;
}

static int run_open(struct purge_run *p, const struct config *cfg, const char *command,
		    int dry_run)
{
	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->command = command;
	p->dry_run = dry_run;
	p->now = (int64_t)time(NULL);
	return cmd_open_storage(&p->st, cfg, 0);
}

int cmd_purge(const struct config *cfg, const struct purge_opts *o)
{
	struct node_lock *lock = NULL;
	struct catalog *cat = NULL;
	struct purge_run p;
	int rc;

	memset(&p, 0, sizeof(p));
	if ((rc = node_lock_take(&lock, cfg, cfg->fqdn, "purge")) != 0)
		goto out;
	if ((rc = run_open(&p, cfg, "purge", o->dry_run)) != 0 ||
	    (rc = catalog_load_with_deleting(&cat, p.st, cfg->prefix)) != 0 ||
	    (rc = purge_leftovers(&p, cat)) != 0 ||
	    (rc = purge_finish_interrupted(&p, cat, cfg->fqdn)) != 0 ||
	    (rc = purge_by_rules(&p, cat, cfg->fqdn)) != 0 ||
	    (rc = purge_gc_node(&p, cfg->fqdn)) != 0)
		goto out;
	summary(&p);
out:
	if (lock != NULL && !o->dry_run)
		metrics_record(cfg, p.st, -1, -1);
	catalog_free(cat);
	run_free(&p);
	node_lock_release(lock);
	return rc;
}

/* delete-backup for one node, under its lock. */
static int delete_on_node(struct purge_run *p, const char *fqdn, const char *name)
{
	struct node_lock *lock = NULL;
	struct catalog *cat = NULL;
	int rc;

	if ((rc = node_lock_take(&lock, p->cfg, fqdn, "delete-backup")) != 0)
		return rc;
	/* Read again under the lock: what the first listing saw may have
	 * changed while another command held it. */
	if ((rc = catalog_load_with_deleting(&cat, p->st, p->cfg->prefix)) != 0 ||
	    (rc = purge_finish_interrupted(p, cat, fqdn)) != 0)
		goto out;
	if (!purge_is_gone(p, fqdn, name) &&
	    (rc = purge_remove_backup(p, fqdn, name, NULL)) != 0)
		goto out;
	rc = purge_gc_node(p, fqdn);
out:
	catalog_free(cat);
	node_lock_release(lock);
	return rc;
}

int cmd_delete_backup(const struct config *cfg, const struct delete_backup_opts *o)
{
	struct catalog *cat = NULL;
	const struct catalog_backup *b = NULL;
	struct purge_run p;
	char **nodes = NULL;
	size_t i, n = 0;
	int rc;

	if ((rc = run_open(&p, cfg, "delete-backup", o->dry_run)) != 0 ||
	    (rc = catalog_load_with_deleting(&cat, p.st, cfg->prefix)) != 0)
		goto out;
	for (i = 0; i < cat->n_backups && b == NULL; i++)
		if (strcmp(cat->backups[i].name, o->name) == 0)
			b = &cat->backups[i];
	if (b != NULL && (nodes = cst_calloc(b->n_nodes, sizeof(*nodes))) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; b != NULL && i < b->n_nodes; i++)
		if (o->all_nodes || strcmp(b->nodes[i].fqdn, cfg->fqdn) == 0)
			nodes[n++] = b->nodes[i].fqdn;
	if (n == 0) {
		rc = o->all_nodes || b == NULL ?
		     cst_error(CST_ENOTFOUND, "backup %s not found%s%s (list-backups --show-all "
			       "lists every backup)", o->name, o->all_nodes ? "" : " for node ",
			       o->all_nodes ? "" : cfg->fqdn) :
		     cst_error(CST_ENOTFOUND, "backup %s has no node %s; it has %zu other node%s: "
			       "--all-nodes deletes theirs", o->name, cfg->fqdn, b->n_nodes,
			       b->n_nodes == 1 ? "" : "s");
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((rc = delete_on_node(&p, nodes[i], o->name)) != 0)
			goto out;
	summary(&p);
out:
	free(nodes);
	catalog_free(cat);
	run_free(&p);
	return rc;
}
