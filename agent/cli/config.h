/* config: the INI file (Medusa's medusa.ini names where one exists). */
#ifndef CASSETTE_CONFIG_H
#define CASSETTE_CONFIG_H

#include <stdint.h>

enum snapshot_mode { SNAPSHOT_NODETOOL, SNAPSHOT_HARDLINK };

struct config {
	char *path;			/* the file it came from */
	/* [cassandra] */
	char *data_dir;
	enum snapshot_mode snapshot_mode;
	char *nodetool_cmd;		/* split on blanks; no shell */
	int resolve_ip_addresses;	/* tokenmap names: reverse lookup (default on) */
	char *stop_cmd;			/* restore --in-place: stop Cassandra (shell) */
	char *start_cmd;		/* ... and start it again (shell) */
	char *cassandra_config;		/* config_file: cassandra.yaml */
	char *cqlsh_cmd;		/* DESCRIBE SCHEMA; split on blanks; default cqlsh */
	int cqlsh_cmd_set;		/* cqlsh_cmd was in the file (hardlink mode uses it) */
	char *cql_username;		/* Medusa's keys: to cqlsh in a 0600 cqlshrc */
	char *cql_password;		/* wiped by config_free(); never logged */
	/* [storage] */
	char *storage_provider;		/* "local" */
	char *base_path;
	char *bucket_name;
	char *prefix;			/* "" or "a/b" without outer slashes */
	char *fqdn;			/* default: the host name; --fqdn overrides */
	char *node_fqdn;		/* this host's own name: fqdn before --fqdn */
	char *key_secret_file;		/* CASSETTE_KEY_FILE overrides */
	char *key_passphrase_file;	/* CASSETTE_PASSPHRASE_FILE overrides */
	/* public-key mode: backups wrap their data keys to this recipient and
	 * sign their meta with the node's key (keys.h) */
	char *recipient_public_key_file;
	char *node_signing_key_file;
	char *encryption_tmp_dir;	/* default: $TMPDIR or /tmp */
	char *state_dir;		/* the hash cache; default /var/lib/cassette */
	int encrypt;			/* encryption = aes-256-gcm (1) | none (0) */
	uint32_t segment_size;		/* encryption_segment_size, default 1 MiB */
	int compression;		/* compression: an enum crypto_compress, default auto */
	/* [storage], S3 */
	char *host;			/* default s3.<region>.amazonaws.com */
	unsigned port;			/* 0 = 443 or 80 */
	int secure;			/* default on */
	int ssl_verify;			/* default on */
	char *ca_file;
	char *region;			/* default us-east-1 */
	char *key_file;			/* AWS credentials file */
	int virtual_host_style;		/* addressing_style (or Medusa's s3_addressing_style)
					 * = virtual; auto: chosen by validate() */
	char *access_key_id;		/* resolved from the environment or key_file */
	char *secret_access_key;	/* wiped by config_free() */
	/* [storage] key_secret_base64: Medusa's client-side-encryption key, as
	 * written (base64), for reading Medusa's encrypted backups; not
	 * cassette's master key. Only from a config file no one else can read;
	 * never logged, wiped by config_free(). NULL = none. */
	char *medusa_key_base64;
	/* [storage], transfers */
	unsigned concurrent_transfers;	/* default 4 */
	uint64_t multipart_threshold;	/* multi_part_upload_threshold, default 100 MiB */
	uint64_t max_bandwidth;		/* transfer_max_bandwidth bytes/s, 0 = none */
	/* [storage], retention (Medusa's keys; 0 = no limit) */
	unsigned max_backup_age_days;	/* max_backup_age: purge backups older (days) */
	unsigned max_backup_count;	/* purge all but the newest N finished backups */
	unsigned grace_period_days;	/* backup_grace_period_in_days, default 10: an
					 * unreferenced object younger than this is kept */
	/* [monitoring] */
	unsigned monitor_max_age_hours;	/* max_backup_age_hours, default 26 */
	char *prometheus_textfile;	/* NULL = none */
	/* [ssh]: how the cluster commands reach each node */
	char *ssh_username;		/* NULL = ssh's own default */
	char *ssh_key_file;
	unsigned ssh_port;		/* 0 = ssh's own default */
	char *remote_command;		/* template with {host}; NULL = built from the above */
	char *cassette_cmd;		/* the agent on the nodes, default "cassette" */
};

/*
 * Read and validate `path`. It may be Medusa's medusa.ini: each Medusa key
 * that has no effect here gets one warning line on stderr once the file has
 * loaded (medusa_keys.h). Errors (CST_ENOTFOUND / CST_EINVALID) carry one
 * line naming the file, the line or the option. *out is owned by the caller.
 */
int config_load(struct config **out, const char *path);
void config_free(struct config *cfg);
/* Replace the fqdn (the --fqdn option); validated like the config value. */
int config_set_fqdn(struct config *cfg, const char *fqdn);
/* The key file to use: CASSETTE_KEY_FILE, else key_secret_file, else NULL. */
const char *config_key_file(const struct config *cfg);
/* The passphrase file to use: CASSETTE_PASSPHRASE_FILE, else
 * key_passphrase_file, else NULL. cfg may be NULL (the environment only). */
const char *config_passphrase_file(const struct config *cfg);
/* A key file or a passphrase file is configured (config or environment). */
int config_has_key(const struct config *cfg);
/* 0, or CST_EINVALID when both a key file and a passphrase file are set
 * (config or environment, in any combination); the message names the two.
 * cfg may be NULL. */
int config_check_key_source(const struct config *cfg);

/* Name rules shared by the commands. */
int config_fqdn_is_valid(const char *fqdn);
int config_backup_name_is_valid(const char *name);

#endif
