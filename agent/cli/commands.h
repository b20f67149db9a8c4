/* commands: one function per CLI command. Each returns 0, a negative CST_
 * code (runtime failure, exit 1) or CMD_USAGE (bad usage or configuration,
 * exit 2), with the message in the error slot. */
#ifndef CASSETTE_COMMANDS_H
#define CASSETTE_COMMANDS_H

#include <stdatomic.h>

#include "config.h"

#define CMD_USAGE 2

/* Set by SIGINT/SIGTERM; long loops stop cleanly when it is set. Atomic (and
 * lock-free, so the handler may store it): worker threads read it. */
extern atomic_int cassette_interrupted;

struct backup_opts {
	const char *name;	/* NULL = UTC time stamp */
	int full;
	int keep_snapshot;
	int verify_hashes;	/* ignore the hash cache, re-read every file */
};

struct restore_opts {
	const char *name;
	const char *target_dir;
	const char *keyspace;	/* NULL = all */
	const char *table;	/* NULL = all; "<name>" or "<name>-<id>" */
};

struct list_opts {
	int json;
	int show_all;
};

int cmd_backup_node(const struct config *cfg, const struct backup_opts *o);
int cmd_restore_node(const struct config *cfg, const struct restore_opts *o);
int cmd_list_backups(const struct config *cfg, const struct list_opts *o);
/* Print the tokenmap.json of backup `name` of node cfg->fqdn to stdout. */
int cmd_fetch_tokenmap(const struct config *cfg, const char *name);
int cmd_keygen(void);
int cmd_inspect(const char *path);

/* Shared by the commands: open the configured storage; load the key (NULL
 * with rc 0 when none is configured and `required` is 0). */
struct storage;
struct crypto_key;
int cmd_open_storage(struct storage **out, const struct config *cfg, int create);
int cmd_load_key(struct crypto_key **out, const struct config *cfg, int required);
/* "1.5 MiB" into buf. */
const char *cmd_human_bytes(char *buf, size_t len, unsigned long long n);

#endif
