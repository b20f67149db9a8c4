/* Helpers shared by the commands. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "crypto.h"
#include "passphrase.h"
#include "storage.h"
#include "util.h"

atomic_int cassette_interrupted;

int cmd_open_storage(struct storage **out, const struct config *cfg, int create)
{
	struct storage_config sc;

	memset(&sc, 0, sizeof(sc));
	sc.provider = cfg->storage_provider;
	sc.base_path = cfg->base_path;
	sc.bucket_name = cfg->bucket_name;
	sc.create = create;
	sc.host = cfg->host;
	sc.port = (int)cfg->port;
	sc.secure = cfg->secure;
	sc.ssl_verify = cfg->ssl_verify;
	sc.ca_file = cfg->ca_file;
	sc.region = cfg->region;
	sc.access_key_id = cfg->access_key_id;
	sc.secret_access_key = cfg->secret_access_key;
	sc.virtual_host_style = cfg->virtual_host_style;
	sc.max_bandwidth = cfg->max_bandwidth;
	return storage_open(out, &sc);
}

int cmd_load_keyring(struct crypto_keyring **out, const char **source, const struct config *cfg,
		     struct storage *st, int flags)
{
	const char *path = config_key_file(cfg);
	struct crypto_key *key = NULL;
	int rc;

	*out = NULL;
	*source = NULL;
	if (config_check_key_source(cfg) != 0)
		return CMD_USAGE;
	if (config_passphrase_file(cfg) != NULL) {
		/* a passphrase file that is missing, too open or empty is a
		 * setup error; the store's side (no parameters, wrong key) is not */
		rc = passphrase_master_key(&key, cfg, st, (flags & CMD_KEY_MAY_CREATE) != 0);
		if (rc != 0)
			return rc == CST_EINVALID ? CMD_USAGE : rc;
		*source = config_passphrase_file(cfg);
		return crypto_keyring_from_key(out, key);
	}
	if (path == NULL) {
		if (!(flags & CMD_KEY_REQUIRED))
			return 0;
		cst_error(CST_EINVALID, "%s: no encryption key configured: set [storage] key_secret_file "
			  "or CASSETTE_KEY_FILE, or a passphrase with [storage] key_passphrase_file or "
			  "CASSETTE_PASSPHRASE_FILE (or encryption = none to store backups unencrypted)",
			  cfg->path);
		return CMD_USAGE;
	}
	/* A key file that is missing, unreadable or too open is a setup error. */
	*source = path;
	return crypto_keyring_load_file(out, path) == 0 ? 0 : CMD_USAGE;
}

const char *cmd_human_bytes(char *buf, size_t len, unsigned long long n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

int cmd_backup_name(char *buf, size_t len, const char *given, int64_t now)
{
	if (given == NULL) {
		struct tm tm;
		time_t t = (time_t)now;

		gmtime_r(&t, &tm);
		strftime(buf, len, "%Y%m%d%H%M%S", &tm);
		return 0;
	}
	if (!config_backup_name_is_valid(given)) {
		cst_error(CST_EINVALID, "--backup-name '%s' is not valid: use letters, digits, '.', '_' "
			  "and '-' (at most 128, starting with a letter or digit; not 'data' or 'index')",
			  given);
		return CMD_USAGE;
	}
	snprintf(buf, len, "%s", given);
	return 0;
}

const char *cmd_fmt_time(char *buf, size_t len, int64_t ts)
{
	struct tm tm;
	time_t t = (time_t)ts;

	if (ts == 0) {
		snprintf(buf, len, "-");
		return buf;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}
