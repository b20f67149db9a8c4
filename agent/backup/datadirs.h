/*
 * datadirs: refuse a backup that would miss SSTables: cassandra.yaml's
 * data_file_directories names a directory other than [cassandra] data_dir,
 * or a keyspace holds a directory of SSTables not named <table>-<id>.
 */
#ifndef CASSETTE_DATADIRS_H
#define CASSETTE_DATADIRS_H

#include <stddef.h>

#include "config.h"

/* 1 when dir holds a "*-Data.db" file (not looking into subdirectories). */
int datadirs_holds_sstables(const char *dir);

/* The data_file_directories entries of a cassandra.yaml text, in order
 * (block list "- dir" lines, or a flow list "[a, b]"; quotes removed).
 * *n = 0 when the key is absent or commented out. Caller frees each and v. */
int datadirs_parse(char ***v, size_t *n, const char *text, size_t len);

/* CST_EINVALID naming a directory of a keyspace under data_dir that holds
 * "*-Data.db" files and is not named <table>-<32 hex id>. Then 0 when
 * cfg->cassandra_config does not exist, lists no data_file_directories,
 * or lists exactly data_dir (compared after realpath). Otherwise CST_EINVALID
 * naming every listed directory: each one's SSTables would be missing. */
int datadirs_check(const struct config *cfg);

#endif
