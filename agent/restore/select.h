/*
 * select: which tables of a backup a restore takes, from the --keyspace and
 * --table options (each may repeat) and, when a backup is restored in place
 * onto another host than its own, without the node-local `system` keyspace.
 *
 * A table is taken when no option is given; or when a --table KS.T names it;
 * or when it lies in one of the --keyspace KS (any keyspace when none is
 * given) and, if bare --table T (no keyspace) are given, is one of them. So
 * `--keyspace ks1 --table t2` is ks1.t2, as it always was, and
 * `--keyspace ks1 --table ks2.t3` is all of ks1 plus ks2.t3. T is a table's
 * name, or its directory name <name>-<32 hex id>.
 */
#ifndef CASSETTE_SELECT_H
#define CASSETTE_SELECT_H

#include <stddef.h>

struct select;

/*
 * A selector over the options' values (borrowed: they must outlive it).
 * `skip_system`: never take a table of the `system` keyspace. 0, or
 * CST_EINVALID naming a value of the wrong form, or CST_ENOMEM. *out is the
 * caller's (select_free).
 */
int select_new(struct select **out, const char *const *keyspaces, size_t n_keyspaces,
	       const char *const *tables, size_t n_tables, int skip_system);
/* NULL is a no-op. */
void select_free(struct select *s);

/* 1 when the table <ks>/<cf> (a directory name) is taken, else 0. Each
 * option that takes it is marked as used. */
int select_table(struct select *s, const char *ks, const char *cf);
/* How many tables select_table() left out only for being node-local. */
size_t select_skipped(const struct select *s);
/* 0 when every option took some table; else CST_ENOTFOUND with a message
 * naming the first that took none (and why, for the system keyspace). */
int select_check_used(const struct select *s, const char *backup);
/* " matching --keyspace a --table b" (or "") for messages; borrowed, valid
 * until select_free(). */
const char *select_describe(const struct select *s);

#endif
