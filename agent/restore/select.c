/* select: the tables a restore takes; see select.h. */
#define _GNU_SOURCE
#include "select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "util.h"

/* Node-local: its tables describe the node they were written on. */
#define NODE_LOCAL_KEYSPACE "system"

struct select {
	const char *const *keyspaces, *const *tables;
	size_t n_keyspaces, n_tables;
	size_t n_bare;			/* --table values without a keyspace */
	unsigned char *ks_used, *table_used;	/* 1: took some table */
	int skip_system;
	size_t skipped;
	char *describe;
};

/* "<name>" matches "<name>-<32 hex id>"; "<name>-<id>" only itself. */
static int table_matches(const char *cf, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(cf, want) == 0)
		return 1;
	return strncmp(cf, want, n) == 0 && cf[n] == '-' && strlen(cf + n + 1) == 32;
}

/* The table part of a --table value, and its keyspace's length (0: none). */
static const char *split(const char *value, size_t *ks_len)
{
	const char *dot = strchr(value, '.');

	*ks_len = dot ? (size_t)(dot - value) : 0;
	return dot ? dot + 1 : value;
}

static int table_value_is_valid(const char *value)
{
	size_t ks_len;
	const char *t = split(value, &ks_len);
	char ks[256];

	if (ks_len > 0) {
		if (ks_len >= sizeof(ks))
			return 0;
		memcpy(ks, value, ks_len);
		ks[ks_len] = '\0';
		if (!layout_keyspace_is_valid(ks))
			return 0;
	} else if (t != value) {
		return 0;	/* ".t" */
	}
	/* a table's name follows the keyspace rule; or the directory name */
	return layout_keyspace_is_valid(t) || layout_table_dir_is_valid(t);
}

static int describe(struct select *s)
{
	size_t i, len = 1;
	char *p;

	for (i = 0; i < s->n_keyspaces; i++)
		len += strlen(" --keyspace ") + strlen(s->keyspaces[i]);
	for (i = 0; i < s->n_tables; i++)
		len += strlen(" --table ") + strlen(s->tables[i]);
	len += strlen(" matching");
	if ((s->describe = p = cst_malloc(len)) == NULL)
		return CST_ENOMEM;
	*p = '\0';
	if (s->n_keyspaces + s->n_tables > 0)
		p = stpcpy(p, " matching");
	for (i = 0; i < s->n_keyspaces; i++)
		p = stpcpy(stpcpy(p, " --keyspace "), s->keyspaces[i]);
	for (i = 0; i < s->n_tables; i++)
		p = stpcpy(stpcpy(p, " --table "), s->tables[i]);
	return 0;
}

int select_new(struct select **out, const char *const *keyspaces, size_t n_keyspaces,
	       const char *const *tables, size_t n_tables, int skip_system)
{
	struct select *s;
	size_t i, ks_len;
	int rc = 0;

	*out = NULL;
	for (i = 0; i < n_keyspaces; i++)
		if (!layout_keyspace_is_valid(keyspaces[i]))
			return cst_error(CST_EINVALID, "--keyspace '%s' is not a keyspace name", keyspaces[i]);
	for (i = 0; i < n_tables; i++)
		if (!table_value_is_valid(tables[i]))
			return cst_error(CST_EINVALID, "--table '%s' is not a table (NAME, NAME-<id>, "
					 "KEYSPACE.NAME or KEYSPACE.NAME-<id>)", tables[i]);
	if ((s = cst_calloc(1, sizeof(*s))) == NULL)
		return CST_ENOMEM;
	s->keyspaces = keyspaces;
	s->n_keyspaces = n_keyspaces;
	s->tables = tables;
	s->n_tables = n_tables;
	s->skip_system = skip_system;
	for (i = 0; i < n_tables; i++)
		if (split(tables[i], &ks_len) == tables[i])
			s->n_bare++;
	if ((s->ks_used = cst_calloc(n_keyspaces + 1, 1)) == NULL ||
	    (s->table_used = cst_calloc(n_tables + 1, 1)) == NULL || (rc = describe(s)) != 0) {
		select_free(s);
		return rc ? rc : CST_ENOMEM;
	}
	*out = s;
	return 0;
}

void select_free(struct select *s)
{
	if (s == NULL)
		return;
	free(s->ks_used);
	free(s->table_used);
	free(s->describe);
	free(s);
}

/* 1 when the options take <ks>/<cf>; with `mark`, mark those that do. */
static int taken(struct select *s, const char *ks, const char *cf, int mark)
{
	size_t i, ks_len;
	int take = 0, hit = 0, in_scope = s->n_keyspaces == 0;

	for (i = 0; i < s->n_tables; i++) {	/* --table KS.T */
		const char *t = split(s->tables[i], &ks_len);

		if (ks_len > 0 && strlen(ks) == ks_len && strncmp(ks, s->tables[i], ks_len) == 0 &&
		    table_matches(cf, t)) {
			take = 1;
			s->table_used[i] |= mark;
		}
	}
	for (i = 0; i < s->n_keyspaces; i++)
		in_scope |= strcmp(ks, s->keyspaces[i]) == 0;
	if (!in_scope)
		return take;
	if (s->n_bare > 0) {			/* --table T, within the keyspaces */
		for (i = 0; i < s->n_tables; i++)
			if (split(s->tables[i], &ks_len) == s->tables[i] && table_matches(cf, s->tables[i])) {
				hit = 1;
				s->table_used[i] |= mark;
			}
	} else {				/* whole keyspaces, or no option at all */
		hit = s->n_keyspaces > 0 || s->n_tables == 0;
	}
	/* a --keyspace is used once it names a keyspace of the backup; with
	 * bare --table names, those must each find a table, not every pair */
	for (i = 0; i < s->n_keyspaces && (hit || s->n_bare > 0); i++)
		if (strcmp(ks, s->keyspaces[i]) == 0)
			s->ks_used[i] |= mark;
	return take || hit;
}

int select_table(struct select *s, const char *ks, const char *cf)
{
	if (s->skip_system && strcmp(ks, NODE_LOCAL_KEYSPACE) == 0) {
		if (taken(s, ks, cf, 0))
			s->skipped++;
		return 0;
	}
	return taken(s, ks, cf, 1);
}

size_t select_skipped(const struct select *s)
{
	return s->skipped;
}

int select_check_used(const struct select *s, const char *backup)
{
	const char *opt = NULL, *value = NULL;
	size_t i, ks_len;
	int node_local = 0;

	for (i = 0; i < s->n_keyspaces && opt == NULL; i++)
		if (!s->ks_used[i]) {
			opt = "--keyspace";
			value = s->keyspaces[i];
			node_local = strcmp(value, NODE_LOCAL_KEYSPACE) == 0;
		}
	for (i = 0; i < s->n_tables && opt == NULL; i++)
		if (!s->table_used[i]) {
			opt = "--table";
			value = s->tables[i];
			split(value, &ks_len);
			node_local = ks_len == strlen(NODE_LOCAL_KEYSPACE) &&
				     strncmp(value, NODE_LOCAL_KEYSPACE, ks_len) == 0;
		}
	if (opt == NULL)
		return 0;
	if (node_local && s->skip_system)
		return cst_error(CST_ENOTFOUND, "%s %s: the system keyspace is node-local and is never "
				 "restored onto another host; nothing was written", opt, value);
	return cst_error(CST_ENOTFOUND, "%s %s matches no table of backup %s; nothing was written",
			 opt, value, backup);
}

const char *select_describe(const struct select *s)
{
	return s->describe;
}
