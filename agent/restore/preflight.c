/*
 * preflight: what restore-node --in-place checks before stop_cmd runs,
 * besides the plan and the key (restore.c): the config, the source's
 * tokens, each table's directories; and what it warns about.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "layout.h"
#include "meta_auth.h"
#include "restore_int.h"
#include "storage.h"
#include "swap.h"
#include "tokenmap.h"
#include "util.h"

/* A tokenmap of 1,000 nodes of 256 tokens is about 6 MiB. */
#define MAX_TOKENMAP (64u << 20)

int preflight_config(const struct config *cfg)
{
	static const char *const what[] = { "data_dir", "stop_cmd", "start_cmd" };
	const char *value[] = { cfg->data_dir, cfg->stop_cmd, cfg->start_cmd };
	size_t i;

	for (i = 0; i < 3; i++)
		if (value[i] == NULL || value[i][0] == '\0') {
			cst_error(CST_EINVALID, "%s: [cassandra] %s is required for restore-node --in-place; "
				  "nothing was changed", cfg->path, what[i]);
			return CMD_USAGE;
		}
	return 0;
}

int preflight_tokens(const struct restore *rs, char **tokens, size_t *n_tokens)
{
	char *key, *json = NULL, *origin = NULL;
	size_t len;
	int rc;

	key = layout_meta_key(rs->cfg->prefix, rs->cfg->fqdn, rs->o->name, "tokenmap.json");
	if (key == NULL || (origin = cst_sprintf("the tokenmap of backup %s of node %s (%s)", rs->o->name,
						 rs->cfg->fqdn, key)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	if ((rc = storage_get_buf(rs->st, key, &json, &len, MAX_TOKENMAP)) == CST_ENOTFOUND)
		rc = cst_error(rc, "%s is missing: this backup cannot seed a new node", origin);
	if (rc == 0)
		rc = meta_auth_check_buf(rs->auth, "tokenmap.json", json, len, key);
	if (rc == 0)
		rc = tokenmap_tokens(tokens, n_tokens, json, len, rs->cfg->fqdn, origin);
	if (rc != 0)
		rc = cst_error(rc, "%s; nothing was changed", cst_error_msg());
out:
	free(key);
	free(json);
	free(origin);
	return rc;
}

/* Another directory of the same table name (another id) is left alone:
 * Cassandra reads the one its schema names. Say so, once per table. */
static void note_other_ids(const char *data_dir, const char *ks, const char *cf)
{
	size_t name_len = strlen(cf) - 33;	/* "<name>-<32 hex>" */
	struct dirent *e;
	char *ks_dir;
	DIR *d;

	if ((ks_dir = cst_path_join(data_dir, ks)) == NULL || (d = opendir(ks_dir)) == NULL) {
		free(ks_dir);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strncmp(e->d_name, cf, name_len + 1) == 0 && strcmp(e->d_name, cf) != 0 &&
		    layout_table_dir_is_valid(e->d_name) && strlen(e->d_name) == strlen(cf)) {
			fprintf(stderr, "cassette: warning: %s/%s has another id than the backup's %s; it "
				"is left alone and %s/%s is restored beside it\n", ks_dir, e->d_name, cf,
				ks_dir, cf);
			break;
		}
	closedir(d);
	free(ks_dir);
}

/* Onto another host, this node's own system keyspace stays. If this node
 * ever started, its system.local holds tokens of its own, and Cassandra
 * keeps those and ignores initial_token: say so before anything changes. */
void preflight_own_tokens(const char *data_dir)
{
	struct dirent *e, *f;
	char *sys, *table;
	DIR *d, *t;
	int found = 0;

	if ((sys = cst_path_join(data_dir, "system")) == NULL || (d = opendir(sys)) == NULL) {
		free(sys);
		return;
	}
	while (!found && (e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, "local-", 6) != 0 || (table = cst_path_join(sys, e->d_name)) == NULL)
			continue;
		if ((t = opendir(table)) != NULL) {
			while (!found && (f = readdir(t)) != NULL)
				found = strstr(f->d_name, "-Data.db") != NULL;
			closedir(t);
		}
		if (found)
			fprintf(stderr, "cassette: warning: %s holds this node's own system.local: a node "
				"that has bootstrapped keeps the tokens saved there and ignores initial_token, "
				"so the restored node takes the backup's tokens only if its system keyspace is "
				"empty (a node that never started)\n", table);
		free(table);
	}
	closedir(d);
	free(sys);
}

/* Every table's directories, and names that would collide with what a
 * table dir keeps. */
int preflight_tables(const struct restore *rs)
{
	size_t i;
	int rc;

	for (i = 0; i < rs->n_jobs; i++) {
		const char *rel = fetch_rel(&rs->jobs[i]);

		if (strcmp(rel, "snapshots") == 0 || strcmp(rel, "backups") == 0)
			return cst_error(CST_EINVALID, "manifest of backup %s names a file %s.%s/%s, which "
					 "is where a table keeps its %s; nothing was changed", rs->o->name,
					 rs->jobs[i].tab->keyspace, rs->jobs[i].tab->columnfamily, rel, rel);
	}
	for (i = 0; i < rs->n_tables; i++) {
		const struct fetch_table *t = &rs->tables[i]->ft;

		if ((rc = swap_check(rs->target, t->keyspace, t->columnfamily)) != 0)
			return rc;
		note_other_ids(rs->target, t->keyspace, t->columnfamily);
	}
	return 0;
}
