/*
 * restore-node --in-place: replace the tables of this node's data_dir with
 * a backup's, Cassandra stopped meanwhile.
 *
 *   1. check everything that can be checked: the config, the plan and the
 *      key (restore.c), each table's directories (swap.c), and onto another
 *      host the source's tokens and config_file;
 *   2. stop_cmd, then put right the temp and old dirs a killed restore left
 *      (swap_recover);
 *   3. table by table: fetch and prove its files into a temp dir beside it,
 *      then swap it in (swap.c); a failure puts that table back and stops;
 *   4. onto another host: the source's tokens into config_file;
 *   5. start_cmd, only when everything before succeeded.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "fetch.h"
#include "progress.h"
#include "restore_int.h"
#include "select.h"
#include "service.h"
#include "swap.h"
#include "util.h"
#include "yaml_tokens.h"

/* How much of the list of restored tables an error message names. */
#define LIST_BUDGET 300

struct inplace {
	struct restore *rs;
	struct swap_owner owner;
	int other_host;		/* the backup is another node's */
	char *tokens;		/* other_host: the source's, "t1,t2,..." */
	size_t n_tokens;
	size_t n_done;		/* tables[0..n_done) are restored */
	struct progress *progress;
};

/* Jobs grouped by table, each table's in manifest order (a table listed
 * twice may have had its files in two runs). */
static int group_jobs(struct restore *rs)
{
	struct fetch_job *grouped;
	struct rs_table *t;
	size_t i, at = 0;

	if ((grouped = cst_calloc(rs->n_jobs ? rs->n_jobs : 1, sizeof(*grouped))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < rs->n_tables; i++) {
		at += rs->tables[i]->n_jobs;
		rs->tables[i]->first = at;	/* its end, for now */
	}
	for (i = rs->n_jobs; i-- > 0;) {
		t = (struct rs_table *)rs->jobs[i].tab;
		grouped[--t->first] = rs->jobs[i];
	}
	free(rs->jobs);
	rs->jobs = grouped;
	rs->cap_jobs = rs->n_jobs;
	return 0;
}

/* Fetch a table's files into the swap's temp dir, name them, swap. */
static int fill_and_swap(struct inplace *ip, struct rs_table *t, struct swap *sw)
{
	struct restore *rs = ip->rs;
	struct fetch_job *jobs = rs->jobs + t->first;
	struct fetch_params fp;
	char *sub, *tmp, *dest;
	size_t i;
	int rc = 0;

	if ((t->ft.dir = cst_strdup(swap_dir(sw))) == NULL)
		return CST_ENOMEM;
	for (i = 0; i < t->n_jobs && rc == 0; i++) {	/* index dirs, ".<index>/" */
		const char *rel = fetch_rel(&jobs[i]), *slash = strchr(rel, '/');

		if (slash == NULL)
			continue;
		if ((sub = cst_sprintf("%.*s", (int)(slash - rel), rel)) == NULL)
			return CST_ENOMEM;
		rc = swap_mkdir(sw, sub);
		free(sub);
	}
	memset(&fp, 0, sizeof(fp));
	fp.st = rs->st;
	fp.keys = rs->keys;
	fp.medusa_key = rs->medusa_key;
	fp.fqdn = rs->cfg->fqdn;
	fp.target_dir = rs->target;
	fp.workers = restore_workers(rs, t->n_jobs);
	fp.progress = ip->progress;
	fp.chown = ip->owner.chown;
	fp.uid = ip->owner.uid;
	fp.gid = ip->owner.gid;
	if (rc != 0 || (t->n_jobs > 0 && (rc = fetch_all(jobs, t->n_jobs, &fp)) != 0))
		return rc;
	for (i = 0; i < t->n_jobs && rc == 0; i++) {
		tmp = fetch_tmp(rs->target, &jobs[i]);
		dest = fetch_dest(rs->target, &jobs[i]);
		if (tmp == NULL || dest == NULL)
			rc = CST_ENOMEM;
		else if (restore_place(tmp, dest) != 0)
			rc = cst_error_errno("cannot rename %s to %s", tmp, dest);
		else
			jobs[i].tmp_tag[0] = '\0';
		free(tmp);
		free(dest);
	}
	return rc ? rc : swap_commit(sw);
}

/* "a, b (and 3 more)" of the restored tables, within LIST_BUDGET. */
static char *done_list(const struct inplace *ip)
{
	char buf[LIST_BUDGET + 64];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < ip->n_done; i++) {
		const struct fetch_table *t = &ip->rs->tables[i]->ft;

		if (len + strlen(t->keyspace) + strlen(t->columnfamily) + 3 > LIST_BUDGET) {
			snprintf(buf + len, sizeof(buf) - len, " and %zu more (listed on stdout)",
				 ip->n_done - i);
			break;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s.%s", i ? ", " : "",
					t->keyspace, t->columnfamily);
	}
	return cst_strdup(buf);
}

/* The message of a table's failure: what is where, then the cause. */
static int table_failed(const struct inplace *ip, const struct rs_table *t, int rc, int committed,
			int abort_rc, const char *cause, const char *abort_msg)
{
	size_t rest = ip->rs->n_tables - ip->n_done - 1;
	char *list = done_list(ip);
	char state[700];

	snprintf(state, sizeof(state), "%s%s%s%s; %zu other table%s of the backup %s as before",
		 ip->n_done ? "restored before it: " : "no table was changed before it",
		 list ? list : "", abort_rc ? "; putting it back: " : "",
		 abort_rc ? abort_msg : "", rest, rest == 1 ? "" : "s", rest == 1 ? "is" : "are");
	free(list);
	if (committed)		/* only the old dir's removal failed: the table is restored */
		return cst_error(rc, "%s.%s: %s; %s; Cassandra is left stopped (start_cmd not run)",
				 t->ft.keyspace, t->ft.columnfamily, cause, state);
	return cst_error(rc, "%s.%s failed%s; %s; Cassandra is left stopped (start_cmd not run): %s",
			 t->ft.keyspace, t->ft.columnfamily, abort_rc ? "" : " and is as it was",
			 state, cause);
}

static int restore_table(struct inplace *ip, struct rs_table *t)
{
	struct swap *sw = NULL;
	char cause[600], abort_msg[400] = "";
	int rc, abort_rc = 0, committed = 0;

	if (cassette_interrupted)
		rc = cst_error(CST_ERROR, "interrupted");
	else if ((rc = swap_begin(&sw, ip->rs->target, t->ft.keyspace, t->ft.columnfamily,
				  &ip->owner)) == 0)
		rc = fill_and_swap(ip, t, sw);
	if (rc == 0) {
		swap_free(sw);
		return 0;
	}
	snprintf(cause, sizeof(cause), "%s", cst_error_msg()[0] ? cst_error_msg() : cst_error_name(rc));
	committed = sw != NULL && swap_committed(sw);
	if ((abort_rc = swap_abort(sw)) != 0)
		snprintf(abort_msg, sizeof(abort_msg), "%s", cst_error_msg());
	swap_free(sw);
	rc = table_failed(ip, t, rc, committed, abort_rc, cause, abort_msg);
	if (committed)
		ip->n_done++;	/* it is in place: listed with the restored ones */
	return rc;
}

static int restore_tables(struct inplace *ip)
{
	struct restore *rs = ip->rs;
	int rc = 0;

	ip->progress = progress_start("restore", rs->n_jobs, rs->bytes);
	for (ip->n_done = 0; ip->n_done < rs->n_tables; ip->n_done++)
		if ((rc = restore_table(ip, rs->tables[ip->n_done])) != 0)
			break;
	progress_end(ip->progress, rc == 0);
	ip->progress = NULL;
	return rc;
}

/* Cassandra is stopped: put right what a killed restore left (swap.h). */
static int recover_tables(const struct inplace *ip)
{
	const struct restore *rs = ip->rs;
	size_t i;
	int rc, recovered;

	for (i = 0; i < rs->n_tables; i++) {
		const struct fetch_table *t = &rs->tables[i]->ft;

		if ((rc = swap_recover(rs->target, t->keyspace, t->columnfamily, &recovered)) != 0)
			return cst_error(rc, "%s.%s: cannot put right what an interrupted restore left: %s; "
					 "no table was restored; Cassandra is left stopped (start_cmd not "
					 "run)", t->keyspace, t->columnfamily, cst_error_msg());
		if (recovered)
			printf("%s.%s: put right what an interrupted restore left (its temp and old "
			       "directories)\n", t->keyspace, t->columnfamily);
	}
	return 0;
}

static void print_done(const struct inplace *ip, size_t n)
{
	char human[32];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct rs_table *t = ip->rs->tables[i];

		printf("restored %s.%s: %zu file%s (%s)\n", t->ft.keyspace, t->ft.columnfamily, t->n_jobs,
		       t->n_jobs == 1 ? "" : "s", cmd_human_bytes(human, sizeof(human), t->bytes));
	}
}

static int set_tokens(const struct inplace *ip)
{
	const struct restore *rs = ip->rs;
	const char *path = rs->cfg->cassandra_config;
	char *kept = NULL;
	int rc;

	if ((rc = yaml_tokens_apply(path, rs->o->name, ip->tokens, ip->n_tokens, &kept)) != 0)
		return cst_error(rc, "every table was restored, but config_file %s was not changed: %s; "
				 "Cassandra is left stopped (start_cmd not run)", path, cst_error_msg());
	printf("config_file %s: initial_token (the %zu tokens of %s), num_tokens: %zu, "
	       "auto_bootstrap: false; %s%s\n", path, ip->n_tokens, rs->cfg->fqdn, ip->n_tokens,
	       kept ? "the original is kept as " : "it already said so", kept ? kept : "");
	free(kept);
	return 0;
}

/* Everything that can be checked before Cassandra is stopped. */
static int check_all(struct inplace *ip)
{
	struct restore *rs = ip->rs;
	int rc;

	if ((rc = preflight_config(rs->cfg)) != 0 || (rc = swap_owner_of(&ip->owner, rs->target)) != 0 ||
	    (rc = restore_prepare(rs)) != 0)
		return rc;
	if (ip->other_host) {
		if ((rc = preflight_tokens(rs, &ip->tokens, &ip->n_tokens)) != 0)
			return rc;
		if ((rc = yaml_tokens_check(rs->cfg->cassandra_config)) != 0)
			return cst_error(rc, "%s; nothing was changed", cst_error_msg());
		preflight_own_tokens(rs->target);
	}
	if ((rc = preflight_tables(rs)) != 0 || (rc = group_jobs(rs)) != 0)
		return rc;
	return 0;
}

int restore_in_place(struct restore *rs)
{
	const struct config *cfg = rs->cfg;
	struct inplace ip;
	char human[32];
	int rc;

	memset(&ip, 0, sizeof(ip));
	ip.rs = rs;
	ip.other_host = strcmp(cfg->fqdn, cfg->node_fqdn) != 0;
	if ((rc = check_all(&ip)) != 0)
		goto out;
	printf("running stop_cmd: %s\n", cfg->stop_cmd);
	if ((rc = service_run("stop_cmd", cfg->stop_cmd)) != 0) {
		rc = cst_error(rc, "%s; nothing was changed", cst_error_msg());
		goto out;
	}
	if (cassette_interrupted) {
		rc = cst_error(CST_ERROR, "interrupted after stop_cmd; nothing was changed; Cassandra "
			       "is left stopped (start_cmd not run)");
		goto out;
	}
	if ((rc = recover_tables(&ip)) != 0)
		goto out;
	rc = restore_tables(&ip);
	print_done(&ip, ip.n_done);
	if (rc == 0 && cassette_interrupted)	/* during the last swap, which completed */
		rc = cst_error(CST_ERROR, "interrupted after every table was restored%s; Cassandra is "
			       "left stopped (start_cmd not run)", ip.other_host ?
			       ", before config_file was changed" : "");
	if (rc != 0 || (ip.other_host && (rc = set_tokens(&ip)) != 0))
		goto out;
	if (select_skipped(rs->sel) > 0)
		printf("the system keyspace (%zu table%s) is node-local and was not copied from %s\n",
		       select_skipped(rs->sel), select_skipped(rs->sel) == 1 ? "" : "s", cfg->fqdn);
	printf("restored %zu file%s (%s) in %zu table%s of backup %s of node %s in place into %s\n",
	       rs->n_jobs, rs->n_jobs == 1 ? "" : "s", cmd_human_bytes(human, sizeof(human), rs->bytes),
	       rs->n_tables, rs->n_tables == 1 ? "" : "s", rs->o->name, cfg->fqdn, rs->target);
	printf("running start_cmd: %s\n", cfg->start_cmd);
	if ((rc = service_run("start_cmd", cfg->start_cmd)) != 0)
		rc = cst_error(rc, "%s; every table was restored", cst_error_msg());
out:
	free(ip.tokens);
	return rc;
}
