/* commands: one function per CLI command. Each returns 0, a negative CST_
 * code (runtime failure, exit 1) or CMD_USAGE (bad usage or configuration,
 * exit 2), with the message in the error slot. */
#ifndef CASSETTE_COMMANDS_H
#define CASSETTE_COMMANDS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stddef.h>

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
	int snapshot_only;	/* phase 1 of a cluster backup: take the snapshot, stop */
	int use_snapshot;	/* phase 2: back up the snapshot phase 1 left */
};

struct restore_opts {
	const char *name;
	const char *target_dir;	/* NULL with in_place */
	int in_place;		/* into [cassandra] data_dir, Cassandra stopped meanwhile */
	/* --keyspace and --table, each as often as given (none = every table);
	 * a table is "<name>", "<name>-<id>" or "<ks>.<name>[-<id>]" (select.h) */
	const char *const *keyspaces;
	size_t n_keyspaces;
	const char *const *tables;
	size_t n_tables;
	/* a backup without meta/auth.json is restored, with one warning */
	int allow_unauthenticated;
};

struct list_opts {
	int json;
	int show_all;
};

struct backup_cluster_opts {
	const char *name;		/* NULL = UTC time stamp */
	int full;
	unsigned parallel_snapshots;	/* 0 = every node at once */
	unsigned parallel_uploads;	/* default 1 */
};

struct restore_cluster_opts {
	const char *name;
	const char *host_list;		/* NULL = in place */
	/* --keyspace and --table, passed on to each node's restore-node */
	const char *const *keyspaces;
	size_t n_keyspaces;
	const char *const *tables;
	size_t n_tables;
	int allow_incomplete;
	int allow_unauthenticated;	/* also passed on to each restore-node */
	int dry_run;
};

struct status_opts {
	const char *name;
	int json;
};

struct rotate_opts {
	int reencrypt;		/* a new data key per node: for a leaked master key */
	int dry_run;
};

struct verify_opts {
	const char *name;
	int deep;		/* read, decrypt and hash every file (needs the key) */
	unsigned sample;	/* 1..100: deep-check that share of each table's files; 0 = none */
	int json;
	int allow_unauthenticated;	/* deep: a backup without meta/auth.json, one warning */
};

struct report_opts {
	const char *prometheus;	/* also write the textfile here; NULL = no */
	int json;
};

struct purge_opts {
	int dry_run;		/* print what would go, delete nothing */
};

struct delete_backup_opts {
	const char *name;
	int all_nodes;		/* every node's backup NAME, not only this node's */
	int dry_run;
};

int cmd_backup_node(const struct config *cfg, const struct backup_opts *o);
int cmd_restore_node(const struct config *cfg, const struct restore_opts *o);
int cmd_list_backups(const struct config *cfg, const struct list_opts *o);
/* Print the tokenmap.json of backup `name` of node cfg->fqdn to stdout. */
int cmd_fetch_tokenmap(const struct config *cfg, const char *name);
/* keygen: to a new 0600 file (O_EXCL) when `output` is set, else stdout. */
int cmd_keygen(const char *output);
/* The cluster commands (agent/cluster/). */
int cmd_backup_cluster(const struct config *cfg, const struct backup_cluster_opts *o);
int cmd_restore_cluster(const struct config *cfg, const struct restore_cluster_opts *o);
int cmd_status(const struct config *cfg, const struct status_opts *o);
int cmd_last_complete_cluster_backup(const struct config *cfg);
int cmd_inspect(const char *path);
/* encrypt (decrypt = 0) or decrypt stdin to stdout, bound to `label`
 * (agent/cli/stream.c). cfg may be NULL: the key from $CASSETTE_KEY_FILE. */
int cmd_stream(const struct config *cfg, const char *label, int decrypt);
int cmd_label_is_valid(const char *label);
/* verify (agent/verify/): exit 1 unless every file checked is sound. */
int cmd_verify(const struct config *cfg, const struct verify_opts *o);
int cmd_rotate_key(const struct config *cfg, const struct rotate_opts *o);
/* keygen --add-to FILE: a new newest key in a keyring file. */
int cmd_keygen_add(const char *path);
/* keygen --recipient|--node-signing --output FILE: a key pair (FILE, FILE.pub). */
int cmd_keygen_pk(const char *output, int signing, const char *fqdn);
/* report-last-backup (cli/report.c): exit 1 when the node's last finished
 * backup is older than [monitoring] max_backup_age_hours, or there is none. */
int cmd_report_last_backup(const struct config *cfg, const struct report_opts *o);
/* Retention and garbage collection (agent/purge/). */
int cmd_purge(const struct config *cfg, const struct purge_opts *o);
int cmd_delete_backup(const struct config *cfg, const struct delete_backup_opts *o);

/* Shared by the commands: open the configured storage; load the master
 * keys (NULL with rc 0 when none is configured and CMD_KEY_REQUIRED is not
 * set). They come from the key file (a keyring), or from the passphrase file
 * and the key parameters in `st` (keys/passphrase.h; CMD_KEY_MAY_CREATE: a
 * writing command, which stores new parameters when there are none): a
 * keyring of that one key. *source names the file for messages. Both set is
 * CMD_USAGE, as is a bad key or passphrase file. */
struct storage;
struct crypto_keyring;
#define CMD_KEY_REQUIRED 1
#define CMD_KEY_MAY_CREATE 2
int cmd_open_storage(struct storage **out, const struct config *cfg, int create);
int cmd_load_keyring(struct crypto_keyring **out, const char **source, const struct config *cfg,
		     struct storage *st, int flags);
/* The backup name: `given` when valid (else CMD_USAGE with the message
 * set), or the UTC time `now` as YYYYMMDDHHMMSS. buf holds at least 130. */
int cmd_backup_name(char *buf, size_t len, const char *given, int64_t now);
/* "2026-12-06 19:53:47" (UTC) into buf, or "-" for 0. */
const char *cmd_fmt_time(char *buf, size_t len, int64_t ts);
/* "1.5 MiB" into buf. */
const char *cmd_human_bytes(char *buf, size_t len, unsigned long long n);

#endif
