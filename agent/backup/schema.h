/*
 * schema: the whole schema for meta/schema.cql, as Medusa stores it, from
 * "<cqlsh_cmd> -e 'DESCRIBE SCHEMA'" (CREATE KEYSPACE statements with their
 * replication, then types, tables, indexes and views).
 */
#ifndef CASSETTE_SCHEMA_H
#define CASSETTE_SCHEMA_H

#include "config.h"

/* Seconds cqlsh may take before it is killed and the fallback used. */
#ifndef SCHEMA_CQLSH_TIMEOUT
#define SCHEMA_CQLSH_TIMEOUT 120
#endif

/*
 * In snapshot_mode = nodetool, or when [cassandra] cqlsh_cmd is set in the
 * config (hardlink mode), run cqlsh and replace *schema (the snapshot's
 * per-table schema.cql files, concatenated; may be NULL) with its output.
 * cql_username and cql_password reach cqlsh in a cqlshrc ("--cqlshrc FILE",
 * mode 0600 in a private directory under encryption_tmp_dir, removed right
 * after), never on its command line. When cqlsh cannot run, fails, times
 * out, or prints no CREATE KEYSPACE, *schema is kept and one warning line on
 * stderr names the cause. Never fails the backup.
 */
void schema_describe(const struct config *cfg, char **schema);

#endif
