/*
 * restore-cluster: every source node of a backup onto its target host,
 * through each target's own `restore-node --in-place` (which stops
 * Cassandra, swaps the tables in, sets the tokens when the host changes, and
 * starts it). The plan is checked whole first; seeds go first, then the rest.
 */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cluster_int.h"
#include "commands.h"
#include "crypto.h"
#include "layout.h"
#include "keys.h"
#include "meta_auth.h"
#include "plan.h"
#include "progress.h"
#include "remote.h"
#include "storage.h"
#include "util.h"

/* restore-node --in-place --fqdn S --backup-name N [--allow-unauthenticated] --no-progress NULL */
#define FIXED_ARGS 9

struct rc_run {
	const struct config *cfg;
	const struct restore_cluster_opts *o;
	struct storage *st;
	struct catalog *cat;
	char **names;
	size_t n_names;
	json_t *tokenmap;
	struct plan_source *sources;
	struct plan *plan;
	struct remote_job *jobs;	/* one per plan entry */
	const char **args;		/* each job's argv, one block of n_args a job */
	size_t n_args;
};

/* With a key configured, the index copy the plan is made from must be the
 * tokenmap.json that node's meta/auth.json authenticates (FORMAT.md). */
static int authenticate(struct rc_run *r, const char *fqdn, const char *text, size_t len,
			const char *key)
{
	struct keyset *k = NULL;
	struct meta_auth *auth = NULL;
	int rc;

	if (!config_has_key(r->cfg))
		return 0;	/* no key: nothing to check with */
	if ((rc = keys_open(&k, r->cfg, r->st, fqdn, 0)) != 0)
		return rc;
	if ((rc = meta_auth_require(&auth, r->st, r->cfg->prefix, fqdn, r->o->name, keys_meta_key, k,
				    r->o->allow_unauthenticated)) == 0)
		rc = meta_auth_check_buf(auth, "tokenmap.json", text, len, key);
	if (rc != 0 && rc != CMD_USAGE)
		rc = cst_error(rc, "%s; no node was touched", cst_error_msg());
	meta_auth_free(auth);
	keys_free(k);
	return rc;
}

/* The tokenmap of the backup, from the index copy of a finished node. */
static int load_tokenmap(struct rc_run *r, const struct catalog_backup *b)
{
	char *name = NULL, *key = NULL, *text = NULL;
	size_t i, len = 0;
	int rc = CST_ENOTFOUND;

	for (i = 0; i < b->n_nodes && rc == CST_ENOTFOUND; i++) {
		if (!b->nodes[i].finished)
			continue;
		free(name);
		free(key);
		name = cst_sprintf("tokenmap_%s.json", b->nodes[i].fqdn);
		key = name ? layout_index_key(r->cfg->prefix, b->name, name) : NULL;
		if (key == NULL) {
			rc = CST_ENOMEM;
			break;
		}
		rc = storage_get_buf(r->st, key, &text, &len, 16u << 20);
	}
	if (rc == CST_ENOTFOUND && i == b->n_nodes)
		rc = cst_error(CST_ENOTFOUND, "backup %s has no finished node with a tokenmap", b->name);
	if (rc == 0)
		rc = authenticate(r, b->nodes[i - 1].fqdn, text, len, key);
	if (rc == 0) {
		/* json_is_object() is a macro that evaluates its argument twice */
		r->tokenmap = json_loads(text, 0, NULL);
		if (!json_is_object(r->tokenmap))
			rc = cst_error(CST_EINTEGRITY, "%s is not a JSON object", key);
	}
	free(text);
	free(key);
	free(name);
	return rc;
}

static const char *str_or_null(json_t *node, const char *field)
{
	json_t *v = json_object_get(node, field);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int make_sources(struct rc_run *r, const struct catalog_backup *b)
{
	size_t i;

	if ((r->sources = cst_calloc(r->n_names ? r->n_names : 1, sizeof(*r->sources))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < r->n_names; i++) {
		struct plan_source *s = &r->sources[i];
		const struct catalog_node *c = catalog_node_of(b, r->names[i]);
		json_t *node = json_object_get(r->tokenmap, r->names[i]);

		s->name = r->names[i];
		s->finished = c != NULL && c->finished != 0;
		s->dc = str_or_null(node, "dc");
		s->rack = str_or_null(node, "rack");
		s->n_tokens = json_array_size(json_object_get(node, "tokens"));
	}
	return 0;
}

static int read_plan(struct rc_run *r)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (r->o->host_list != NULL &&
	    (rc = cst_read_file(&text, &len, r->o->host_list, 1u << 20)) != 0)
		return rc;
	rc = plan_build(&r->plan, r->sources, r->n_names, text, r->o->host_list,
			r->o->allow_incomplete);
	free(text);
	return rc;
}

static void print_plan(const struct rc_run *r)
{
	size_t i, w = 6, ws = 6;

	for (i = 0; i < r->plan->n; i++) {
		if (strlen(r->plan->entries[i].target) > w)
			w = strlen(r->plan->entries[i].target);
		if (strlen(r->plan->entries[i].source->name) > ws)
			ws = strlen(r->plan->entries[i].source->name);
	}
	printf("%-4s  %-*s  %-*s  %-12s  %-12s  %s\n", "SEED", (int)w, "TARGET", (int)ws, "SOURCE",
	       "DC", "RACK", "TOKENS");
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->entries[i];

		printf("%-4s  %-*s  %-*s  %-12s  %-12s  %zu\n", e->seed ? "yes" : "no", (int)w,
		       e->target, (int)ws, e->source->name, e->source->dc ? e->source->dc : "?",
		       e->source->rack ? e->source->rack : "?", e->source->n_tokens);
	}
}

static int set_jobs(struct rc_run *r, const char *name)
{
	char *dir = cst_sprintf("%s/cassette-cluster-%s", r->cfg->encryption_tmp_dir, name);
	size_t i;
	int rc;

	if (dir == NULL)
		return CST_ENOMEM;
	if ((rc = cst_mkdirs(dir)) != 0)
		goto out;
	r->n_args = FIXED_ARGS + 2 * (r->o->n_keyspaces + r->o->n_tables);
	r->jobs = cst_calloc(r->plan->n, sizeof(*r->jobs));
	r->args = cst_calloc(r->plan->n * r->n_args, sizeof(*r->args));
	if (r->jobs == NULL || r->args == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	for (i = 0; i < r->plan->n; i++) {
		const struct plan_entry *e = &r->plan->entries[i];
		const char **a = r->args + i * r->n_args;
		size_t k = 0, f;

		a[k++] = "restore-node";
		a[k++] = "--in-place";
		a[k++] = "--fqdn";
		a[k++] = e->source->name;
		a[k++] = "--backup-name";
		a[k++] = name;
		if (r->o->allow_unauthenticated)
			a[k++] = "--allow-unauthenticated";
		for (f = 0; f < r->o->n_keyspaces; f++) {
			a[k++] = "--keyspace";
			a[k++] = r->o->keyspaces[f];
		}
		for (f = 0; f < r->o->n_tables; f++) {
			a[k++] = "--table";
			a[k++] = r->o->tables[f];
		}
		a[k++] = "--no-progress";
		a[k] = NULL;
		r->jobs[i].host = e->target;
		r->jobs[i].args = a;
		r->jobs[i].status = -1;
		if ((r->jobs[i].log_path = cst_sprintf("%s/%s.restore.log", dir, e->target)) == NULL) {
			rc = CST_ENOMEM;
			goto out;
		}
	}
out:
	free(dir);
	return rc;
}

static void on_done(void *arg, const struct remote_job *job)
{
	(void)arg;
	if (progress_enabled())
		fprintf(stderr, "restore-cluster: %s %s\n", job->host,
			job->ran && job->status == 0 ? "restored" : "FAILED");
}

/* Seeds first, all at once, then the others. */
static int run(struct rc_run *r)
{
	size_t seeds = 0;
	int rc;

	while (seeds < r->plan->n && r->plan->entries[seeds].seed)
		seeds++;
	if ((rc = remote_run_all(r->jobs, seeds, 0, r->cfg, on_done, r)) != 0)
		return rc;
	return remote_run_all(r->jobs + seeds, r->plan->n - seeds, 0, r->cfg, on_done, r);
}

static int report(const struct rc_run *r, const char *name)
{
	size_t i, failed = 0, w = 6;
	char t[32], list[512] = "";

	for (i = 0; i < r->plan->n; i++)
		if (strlen(r->plan->entries[i].target) > w)
			w = strlen(r->plan->entries[i].target);
	for (i = 0; i < r->plan->n; i++) {
		const struct remote_job *j = &r->jobs[i];
		const struct plan_entry *e = &r->plan->entries[i];

		if (j->ran && j->status == 0) {
			printf("%-*s  from %s: restored in %s\n", (int)w, e->target, e->source->name,
			       progress_duration(t, sizeof(t), j->seconds));
			continue;
		}
		printf("%-*s  from %s: FAILED: %s (log: %s)\n", (int)w, e->target, e->source->name,
		       j->last_line[0] ? j->last_line : j->ran ? "failed without a message" :
		       "not run (interrupted)", j->log_path);
		if (strlen(list) + strlen(e->target) + 3 < sizeof(list))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				 failed ? ", " : "", e->target);
		failed++;
	}
	if (failed)
		return cst_error(CST_ERROR, "restore of backup %s failed on %zu of %zu target%s: %s",
				 name, failed, r->plan->n, r->plan->n == 1 ? "" : "s", list);
	printf("restore-cluster %s complete: %zu node%s restored\n", name, r->plan->n,
	       r->plan->n == 1 ? "" : "s");
	return 0;
}

int cmd_restore_cluster(const struct config *cfg, const struct restore_cluster_opts *o)
{
	struct rc_run r;
	const struct catalog_backup *b;
	size_t expected, i;
	int rc;

	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.o = o;
	if ((rc = cmd_open_storage(&r.st, cfg, 0)) != 0 ||
	    (rc = catalog_load_backup(&r.cat, r.st, cfg->prefix, o->name)) != 0)
		goto out;
	if (r.cat->n_backups == 0) {
		rc = cst_error(CST_ENOTFOUND, "no backup '%s' in the index", o->name);
		goto out;
	}
	b = &r.cat->backups[0];
	if ((rc = cluster_expected_nodes(&r.names, &r.n_names, r.st, cfg, b)) != 0)
		goto out;
	if (!catalog_cluster_complete(b, &expected) && !o->allow_incomplete) {
		size_t done = 0;

		for (i = 0; i < b->n_nodes; i++)
			done += b->nodes[i].finished != 0;
		rc = cst_error(CST_EINVALID, "backup %s is incomplete: %zu of %zu nodes finished (see "
			       "'cassette status --backup-name %s'); --allow-incomplete restores the "
			       "finished ones", o->name, done, r.n_names, o->name);
		goto out;
	}
	if ((rc = load_tokenmap(&r, b)) != 0 || (rc = make_sources(&r, b)) != 0 ||
	    (rc = read_plan(&r)) != 0)
		goto out;
	if (o->dry_run) {
		printf("restore-cluster %s: the plan (dry run: nothing was touched)\n", o->name);
		print_plan(&r);
		goto out;
	}
	print_plan(&r);
	if ((rc = set_jobs(&r, o->name)) != 0 || (rc = run(&r)) != 0)
		goto out;
	rc = report(&r, o->name);
out:
	for (i = 0; r.jobs != NULL && r.plan != NULL && i < r.plan->n; i++)
		remote_job_clear(&r.jobs[i]);
	free(r.jobs);
	free(r.args);
	plan_free(r.plan);
	free(r.sources);
	json_decref(r.tokenmap);
	cluster_names_free(r.names, r.n_names);
	catalog_free(r.cat);
	storage_close(r.st);
	return rc;
}
