/* config: INI parsing (libinih) and validation of every option. */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
#include "crypto.h"
#include "medusa_keys.h"
#include "util.h"

struct parse_state {
	struct config *cfg;
	uint64_t seen;		/* bit per option, to catch repeats */
	int lineno;
	int addressing_seen;	/* addressing_style or s3_addressing_style */
	unsigned char medusa_seen[MEDUSA_KEYS_MAX];	/* per medusa_key_index(), for the warnings */
	char err[512];
};

enum opt_kind { OPT_STRING, OPT_SNAPSHOT_MODE, OPT_ENCRYPTION, OPT_SEGMENT, OPT_BOOL, OPT_COUNT,
		OPT_BYTES, OPT_RATE, OPT_ADDRESSING, OPT_NUMBER, OPT_SECRET, OPT_COMPRESSION };

struct option_def {
	const char *section, *name;
	enum opt_kind kind;
	size_t offset;		/* of the field in struct config */
};

#define STR(field) OPT_STRING, offsetof(struct config, field)
#define OPT(kind, field) kind, offsetof(struct config, field)
static const struct option_def options[] = {
	{ "cassandra", "data_dir", STR(data_dir) },
	{ "cassandra", "snapshot_mode", OPT_SNAPSHOT_MODE, 0 },
	{ "cassandra", "nodetool_cmd", STR(nodetool_cmd) },
	{ "cassandra", "resolve_ip_addresses", OPT(OPT_BOOL, resolve_ip_addresses) },
	{ "cassandra", "stop_cmd", STR(stop_cmd) },
	{ "cassandra", "start_cmd", STR(start_cmd) },
	{ "cassandra", "config_file", STR(cassandra_config) },
	{ "cassandra", "cqlsh_cmd", STR(cqlsh_cmd) },
	{ "cassandra", "cql_username", STR(cql_username) },
	{ "cassandra", "cql_password", STR(cql_password) },
	{ "storage", "storage_provider", STR(storage_provider) },
	{ "storage", "base_path", STR(base_path) },
	{ "storage", "bucket_name", STR(bucket_name) },
	{ "storage", "prefix", STR(prefix) },
	{ "storage", "fqdn", STR(fqdn) },
	{ "storage", "key_secret_file", STR(key_secret_file) },
	{ "storage", "key_passphrase_file", STR(key_passphrase_file) },
	{ "storage", "recipient_public_key_file", STR(recipient_public_key_file) },
	{ "storage", "node_signing_key_file", STR(node_signing_key_file) },
	{ "storage", "encryption_tmp_dir", STR(encryption_tmp_dir) },
	{ "storage", "state_dir", STR(state_dir) },
	{ "storage", "encryption", OPT_ENCRYPTION, 0 },
	{ "storage", "encryption_segment_size", OPT_SEGMENT, 0 },
	{ "storage", "compression", OPT_COMPRESSION, 0 },
	{ "storage", "host", STR(host) },
	{ "storage", "port", OPT(OPT_COUNT, port) },
	{ "storage", "secure", OPT(OPT_BOOL, secure) },
	{ "storage", "ssl_verify", OPT(OPT_BOOL, ssl_verify) },
	{ "storage", "ca_file", STR(ca_file) },
	{ "storage", "region", STR(region) },
	{ "storage", "key_file", STR(key_file) },
	{ "storage", "addressing_style", OPT_ADDRESSING, 0 },
	{ "storage", "s3_addressing_style", OPT_ADDRESSING, 0 },	/* Medusa's name */
	{ "storage", "key_secret_base64", OPT(OPT_SECRET, medusa_key_base64) },	/* Medusa's */
	{ "storage", "concurrent_transfers", OPT(OPT_COUNT, concurrent_transfers) },
	{ "storage", "multi_part_upload_threshold", OPT(OPT_BYTES, multipart_threshold) },
	{ "storage", "transfer_max_bandwidth", OPT(OPT_RATE, max_bandwidth) },
	{ "storage", "max_backup_age", OPT(OPT_NUMBER, max_backup_age_days) },
	{ "storage", "max_backup_count", OPT(OPT_NUMBER, max_backup_count) },
	{ "storage", "backup_grace_period_in_days", OPT(OPT_NUMBER, grace_period_days) },
	{ "monitoring", "max_backup_age_hours", OPT(OPT_NUMBER, monitor_max_age_hours) },
	{ "monitoring", "prometheus_textfile", STR(prometheus_textfile) },
	{ "ssh", "username", STR(ssh_username) },
	{ "ssh", "key_file", STR(ssh_key_file) },
	{ "ssh", "port", OPT(OPT_COUNT, ssh_port) },
	{ "ssh", "remote_command", STR(remote_command) },
	{ "ssh", "cassette_cmd", STR(cassette_cmd) },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))
_Static_assert(N_OPTIONS <= 64, "struct parse_state.seen has a bit per option");

static int set_error(struct parse_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int set_error(struct parse_state *st, const char *fmt, ...)
{
	va_list ap;

	if (st->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(st->err, sizeof(st->err), fmt, ap);
		va_end(ap);
	}
	return 0;		/* tells inih this line failed */
}

static int parse_segment(const char *v, uint32_t *out)
{
	char *end;
	unsigned long long n;
	int shift = 0;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v)
		return -1;
	if (strcasecmp(end, "KiB") == 0)
		shift = 10;
	else if (strcasecmp(end, "MiB") == 0)
		shift = 20;
	else if (*end != '\0')
		return -1;
	if (n == 0 || n > (1ull << 30) >> shift)
		return -1;
	n <<= shift;
	if (n < 4096 || (n & (n - 1)) != 0)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

/* "100MB", "8MiB", "1048576": bytes, 1024-based (KB = KiB). */
static int parse_bytes(const char *v, uint64_t *out, const char *suffix)
{
	static const struct { const char *unit; int shift; } units[] = {
		{ "", 0 }, { "B", 0 }, { "K", 10 }, { "KB", 10 }, { "KiB", 10 }, { "M", 20 },
		{ "MB", 20 }, { "MiB", 20 }, { "G", 30 }, { "GB", 30 }, { "GiB", 30 },
		{ "T", 40 }, { "TB", 40 }, { "TiB", 40 },
	};
	char unit[16], *end;
	unsigned long long n;
	size_t i, len;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *v == '-')
		return -1;
	while (*end == ' ')
		end++;
	len = strlen(end);
	if (suffix != NULL) {	/* "50MB/s" */
		size_t sl = strlen(suffix);

		if (len < sl || strcmp(end + len - sl, suffix) != 0)
			return n == 0 && len == 0 ? (*out = 0, 0) : -1;
		len -= sl;
	}
	if (len >= sizeof(unit))
		return -1;
	memcpy(unit, end, len);
	unit[len] = '\0';
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(unit, units[i].unit) == 0) {
			if (n > (UINT64_MAX >> units[i].shift))
				return -1;
			*out = (uint64_t)n << units[i].shift;
			return 0;
		}
	return -1;
}

static int parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") || !strcasecmp(v, "on"))
		*out = 1;
	else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") ||
		 !strcasecmp(v, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int on_option(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct config *cfg = st->cfg;
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].section, section) == 0 && strcmp(options[i].name, name) == 0)
			break;
	if (i == N_OPTIONS) {
		int m = medusa_key_index(section, name);

		if (m >= 0) {	/* Medusa's, no effect here: warned about once loaded */
			if (st->medusa_seen[m])
				return set_error(st, "option '%s' in [%s] is given twice", name, section);
			st->medusa_seen[m] = 1;
			return 1;
		}
		if (strcmp(section, "cassandra") != 0 && strcmp(section, "storage") != 0 &&
		    strcmp(section, "ssh") != 0 && strcmp(section, "monitoring") != 0 &&
		    !medusa_section_is_known(section))
			return set_error(st, "unknown section [%s]", section);
		return set_error(st, "unknown option '%s' in [%s]", name, section);
	}
	if (st->seen & (UINT64_C(1) << i))
		return set_error(st, "option '%s' in [%s] is given twice (an indented line continues the previous option)",
				 name, section);
	st->seen |= UINT64_C(1) << i;
	switch (options[i].kind) {
	case OPT_STRING: {
		char **field = (char **)((char *)cfg + options[i].offset);
		char *copy = strdup(value);

		if (copy == NULL)
			return set_error(st, "out of memory");
		free(*field);
		*field = copy;
		return 1;
	}
	case OPT_SNAPSHOT_MODE:
		if (strcmp(value, "nodetool") == 0)
			cfg->snapshot_mode = SNAPSHOT_NODETOOL;
		else if (strcmp(value, "hardlink") == 0)
			cfg->snapshot_mode = SNAPSHOT_HARDLINK;
		else
			return set_error(st, "snapshot_mode must be 'nodetool' or 'hardlink', not '%s'", value);
		return 1;
	case OPT_ENCRYPTION:
		if (strcmp(value, "aes-256-gcm") == 0)
			cfg->encrypt = 1;
		else if (strcmp(value, "none") == 0)
			cfg->encrypt = 0;
		else
			return set_error(st, "encryption must be 'aes-256-gcm' or 'none', not '%s'", value);
		return 1;
	case OPT_SEGMENT:
		if (parse_segment(value, &cfg->segment_size) != 0)
			return set_error(st, "encryption_segment_size must be a power of two from 4KiB to 1024MiB, not '%s'", value);
		return 1;
	case OPT_COMPRESSION:
		if (strcmp(value, "auto") == 0)
			cfg->compression = CRYPTO_COMPRESS_AUTO;
		else if (strcmp(value, "zstd") == 0)
			cfg->compression = CRYPTO_COMPRESS_ZSTD;
		else if (strcmp(value, "none") == 0)
			cfg->compression = CRYPTO_COMPRESS_NONE;
		else
			return set_error(st, "compression must be 'auto', 'zstd' or 'none', not '%s'", value);
		return 1;
	case OPT_BOOL:
		if (parse_bool(value, (int *)((char *)cfg + options[i].offset)) != 0)
			return set_error(st, "%s must be true or false, not '%s'", name, value);
		return 1;
	case OPT_COUNT: {
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || *value == '-' || n == 0 || n > 65535)
			return set_error(st, "%s must be a whole number from 1 to 65535, not '%s'", name, value);
		*(unsigned *)((char *)cfg + options[i].offset) = (unsigned)n;
		return 1;
	}
	case OPT_NUMBER: {	/* 0 allowed: "no limit" where it means that */
		char *end;
		unsigned long n;

		errno = 0;
		n = strtoul(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || *value == '-' || n > 1000000)
			return set_error(st, "%s must be a whole number from 0 to 1000000, not '%s'", name, value);
		*(unsigned *)((char *)cfg + options[i].offset) = (unsigned)n;
		return 1;
	}
	case OPT_BYTES:
		if (parse_bytes(value, (uint64_t *)((char *)cfg + options[i].offset), NULL) != 0)
			return set_error(st, "%s must be a size such as 100MB, not '%s'", name, value);
		return 1;
	case OPT_RATE:
		if (parse_bytes(value, (uint64_t *)((char *)cfg + options[i].offset), "/s") != 0)
			return set_error(st, "%s must be a rate such as 50MB/s (or 0 for no limit), not '%s'",
					 name, value);
		return 1;
	case OPT_ADDRESSING:
		if (st->addressing_seen)
			return set_error(st, "[storage] addressing_style and s3_addressing_style (Medusa's name) "
					 "are the same option: give one");
		st->addressing_seen = 1;
		if (strcmp(value, "path") == 0)
			cfg->virtual_host_style = 0;
		else if (strcmp(value, "virtual") == 0)
			cfg->virtual_host_style = 1;
		else if (strcmp(value, "auto") == 0)
			cfg->virtual_host_style = -1;
		else
			return set_error(st, "%s must be 'path', 'virtual' or 'auto', not '%s'", name, value);
		return 1;
	case OPT_SECRET: {	/* the value is never echoed */
		char **field = (char **)((char *)cfg + options[i].offset);

		if (value[0] == '\0')
			return set_error(st, "%s in [%s] is empty", name, section);
		if ((*field = strdup(value)) == NULL)
			return set_error(st, "out of memory");
		return 1;
	}
	}
	return 1;
}

int config_fqdn_is_valid(const char *fqdn)
{
	const char *p;

	if (fqdn == NULL || fqdn[0] == '\0' || fqdn[0] == '.' || fqdn[0] == '-' || strlen(fqdn) > 253)
		return 0;
	for (p = fqdn; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-_:", *p) == NULL)
			return 0;
	return 1;
}

int config_backup_name_is_valid(const char *name)
{
	const char *p;

	if (name == NULL || name[0] == '\0' || !isalnum((unsigned char)name[0]) || strlen(name) > 128)
		return 0;
	/* "data" is the node's object pool and "index" the listing index. */
	if (strcmp(name, "data") == 0 || strcmp(name, "index") == 0)
		return 0;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("._-", *p) == NULL)
			return 0;
	return 1;
}

static int set_default(char **field, const char *value)
{
	if (*field != NULL)
		return 0;
	return (*field = cst_strdup(value)) == NULL ? CST_ENOMEM : 0;
}

static int normalize_prefix(struct config *cfg)
{
	char *p = cfg->prefix, *end, *seg;

	while (*p == '/')
		p++;
	memmove(cfg->prefix, p, strlen(p) + 1);
	end = cfg->prefix + strlen(cfg->prefix);
	while (end > cfg->prefix && end[-1] == '/')
		*--end = '\0';
	for (seg = cfg->prefix; *seg; ) {
		size_t n = strcspn(seg, "/");
		char saved = seg[n];

		seg[n] = '\0';
		if (!cst_name_is_safe(seg) || strchr(seg, ' ') != NULL) {
			seg[n] = saved;
			return cst_error(CST_EINVALID, "%s: [storage] prefix '%s' is not a valid storage path",
					 cfg->path, cfg->prefix);
		}
		seg[n] = saved;
		seg += n + (saved ? 1 : 0);
	}
	return 0;
}

static int validate_s3(struct config *cfg)
{
	int rc;

	free(cfg->storage_provider);
	if ((cfg->storage_provider = cst_strdup("s3")) == NULL)
		return CST_ENOMEM;
	if (cfg->bucket_name[0] == '\0')
		return cst_error(CST_EINVALID, "%s: [storage] bucket_name is required for storage_provider = s3",
				 cfg->path);
	if (cfg->region != NULL && strcmp(cfg->region, "default") == 0) {
		free(cfg->region);	/* Medusa's default value: the SDK's region */
		cfg->region = NULL;
	}
	if ((rc = set_default(&cfg->region, "us-east-1")) != 0)
		return rc;
	if (cfg->virtual_host_style < 0)	/* auto, as the AWS SDK: virtual on AWS for a
						 * bucket name that is a valid host label */
		cfg->virtual_host_style = cfg->host == NULL && strchr(cfg->bucket_name, '.') == NULL &&
					  strchr(cfg->bucket_name, '_') == NULL;
	if (cfg->host == NULL) {
		if ((cfg->host = cst_sprintf("s3.%s.amazonaws.com", cfg->region)) == NULL)
			return CST_ENOMEM;
	}
	if (cfg->host[0] == '\0' || strpbrk(cfg->host, "/ ") != NULL)
		return cst_error(CST_EINVALID, "%s: [storage] host '%s' must be a host name or address "
				 "(no scheme, no path)", cfg->path, cfg->host);
	if (!cfg->ssl_verify && cfg->secure)
		fprintf(stderr, "cassette: warning: %s: ssl_verify = false: the S3 server's certificate "
			"is not checked\n", cfg->path);
	return credentials_load(cfg);
}

static int validate(struct config *cfg)
{
	char host[256];
	int rc;

	cfg->cqlsh_cmd_set = cfg->cqlsh_cmd != NULL;
	if ((rc = set_default(&cfg->nodetool_cmd, "nodetool")) != 0 ||
	    (rc = set_default(&cfg->cqlsh_cmd, "cqlsh")) != 0 ||
	    (rc = set_default(&cfg->storage_provider, "local")) != 0 ||
	    (rc = set_default(&cfg->prefix, "")) != 0 ||
	    (rc = set_default(&cfg->bucket_name, "")) != 0 ||
	    (rc = set_default(&cfg->state_dir, "/var/lib/cassette")) != 0 ||
	    (rc = set_default(&cfg->cassandra_config, "/etc/cassandra/cassandra.yaml")) != 0 ||
	    (rc = set_default(&cfg->cassette_cmd, "cassette")) != 0)
		return rc;
	if (cfg->cassette_cmd[0] == '\0')
		return cst_error(CST_EINVALID, "%s: [ssh] cassette_cmd is empty", cfg->path);
	if (cfg->state_dir[0] != '/')
		return cst_error(CST_EINVALID, "%s: [storage] state_dir '%s' must be an absolute path",
				 cfg->path, cfg->state_dir);
	if (cfg->encryption_tmp_dir == NULL) {
		const char *t = getenv("TMPDIR");

		if ((rc = set_default(&cfg->encryption_tmp_dir, t && *t ? t : "/tmp")) != 0)
			return rc;
	}
	if (cfg->fqdn == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			return cst_error_errno("cannot read the host name; set [storage] fqdn in %s", cfg->path);
		host[sizeof(host) - 1] = '\0';
		if ((rc = set_default(&cfg->fqdn, host)) != 0)
			return rc;
	}
	if (!config_fqdn_is_valid(cfg->fqdn))
		return cst_error(CST_EINVALID, "%s: [storage] fqdn '%s' is not a valid node name "
				 "(letters, digits, '.', '-', '_', ':')", cfg->path, cfg->fqdn);
	if ((cfg->node_fqdn = cst_strdup(cfg->fqdn)) == NULL)
		return CST_ENOMEM;
	if ((rc = normalize_prefix(cfg)) != 0)
		return rc;
	if (strcmp(cfg->storage_provider, "local") == 0) {
		if (cfg->base_path == NULL || cfg->base_path[0] == '\0')
			return cst_error(CST_EINVALID, "%s: [storage] base_path is required for storage_provider = local",
					 cfg->path);
	} else if (strcmp(cfg->storage_provider, "s3") == 0 ||
		   strcmp(cfg->storage_provider, "s3_compatible") == 0 ||
		   strcmp(cfg->storage_provider, "s3_rgw") == 0) {
		if ((rc = validate_s3(cfg)) != 0)
			return rc;
	} else {
		return cst_error(CST_EINVALID, "%s: [storage] storage_provider '%s' is not supported "
				 "(known: local, s3)", cfg->path, cfg->storage_provider);
	}
	if (cfg->virtual_host_style < 0)
		cfg->virtual_host_style = 0;
	if (cfg->bucket_name[0] != '\0' && !cst_name_is_safe(cfg->bucket_name))
		return cst_error(CST_EINVALID, "%s: [storage] bucket_name '%s' is not a valid name",
				 cfg->path, cfg->bucket_name);
	return 0;
}

/* libinih (Debian) reads lines into a 200-byte buffer and would report a
 * longer line as a confusing syntax error further down: check first. */
static int check_line_lengths(const char *path)
{
	char *text = NULL, *line, *nl;
	size_t len;
	int lineno = 1, rc;

	if ((rc = cst_read_file(&text, &len, path, 1u << 20)) != 0)
		return rc == CST_EINVALID ? cst_error(rc, "config %s is not a small regular file", path) : rc;
	for (line = text; *line; line = nl + 1, lineno++) {
		nl = strchr(line, '\n');
		if ((nl ? (size_t)(nl - line) : strlen(line)) > 198) {
			rc = cst_error(CST_EINVALID, "%s:%d: line is longer than 198 characters", path, lineno);
			break;
		}
		if (nl == NULL)
			break;
	}
	free(text);
	return rc;
}

/* One line per Medusa key that has no effect here, in table order. */
static void warn_medusa_keys(const struct parse_state *st, const char *path)
{
	size_t i;

	for (i = 0; i < medusa_key_count(); i++)
		if (st->medusa_seen[i])
			fprintf(stderr, "cassette: %s: [%s] %s has no effect in cassette (Medusa's %s)\n",
				path, medusa_key_section((int)i), medusa_key_name((int)i),
				medusa_key_note((int)i));
}

int config_load(struct config **out, const char *path)
{
	struct parse_state st;
	struct config *cfg;
	struct stat sb;
	int line, rc;

	*out = NULL;
	memset(&st, 0, sizeof(st));
	if (stat(path, &sb) != 0)
		return cst_error_errno("cannot read config %s", path);
	if (!S_ISREG(sb.st_mode))
		return cst_error(CST_EINVALID, "config %s is not a regular file", path);
	if ((rc = check_line_lengths(path)) != 0)
		return rc;
	if ((cfg = cst_calloc(1, sizeof(*cfg))) == NULL)
		return CST_ENOMEM;
	cfg->encrypt = 1;
	cfg->segment_size = 1u << 20;
	cfg->compression = CRYPTO_COMPRESS_AUTO;
	cfg->secure = 1;
	cfg->ssl_verify = 1;
	cfg->concurrent_transfers = 4;
	cfg->multipart_threshold = 100ull << 20;
	cfg->resolve_ip_addresses = 1;
	cfg->grace_period_days = 10;
	cfg->monitor_max_age_hours = 26;
	st.cfg = cfg;
	if ((cfg->path = cst_strdup(path)) == NULL) {
		rc = CST_ENOMEM;
		goto out;
	}
	line = ini_parse(path, on_option, &st);
	if (line < 0) {
		rc = cst_error_errno("cannot read config %s", path);
		goto out;
	}
	if (line > 0) {
		rc = cst_error(CST_EINVALID, "%s:%d: %s", path, line,
			       st.err[0] ? st.err : "syntax error (expected [section] or name = value)");
		goto out;
	}
	if (cfg->medusa_key_base64 != NULL && (sb.st_mode & 077) != 0) {
		rc = cst_error(CST_EINVALID, "%s holds [storage] key_secret_base64 (Medusa's encryption key) and "
			       "is readable by group or others (mode %04o); chmod 600 it", path,
			       (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	/* cql_password is a secret: like a key file, only in a private file */
	if (cfg->cql_password != NULL && (sb.st_mode & 077)) {
		rc = cst_error(CST_EINVALID, "config %s holds [cassandra] cql_password and is readable by "
			       "group or others (mode %04o); chmod 600 it", path,
			       (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	if ((rc = validate(cfg)) != 0)
		goto out;
	warn_medusa_keys(&st, path);
	*out = cfg;
	cfg = NULL;
out:
	config_free(cfg);
	return rc;
}

int config_set_fqdn(struct config *cfg, const char *fqdn)
{
	char *copy;

	if (!config_fqdn_is_valid(fqdn))
		return cst_error(CST_EINVALID, "--fqdn '%s' is not a valid node name", fqdn);
	if ((copy = cst_strdup(fqdn)) == NULL)
		return CST_ENOMEM;
	free(cfg->fqdn);
	cfg->fqdn = copy;
	return 0;
}

const char *config_key_file(const struct config *cfg)
{
	const char *env = getenv("CASSETTE_KEY_FILE");

	if (env != NULL && env[0] != '\0')
		return env;
	if (cfg != NULL && cfg->key_secret_file != NULL && cfg->key_secret_file[0] != '\0')
		return cfg->key_secret_file;
	return NULL;
}

const char *config_passphrase_file(const struct config *cfg)
{
	const char *env = getenv("CASSETTE_PASSPHRASE_FILE");

	if (env != NULL && env[0] != '\0')
		return env;
	if (cfg != NULL && cfg->key_passphrase_file != NULL && cfg->key_passphrase_file[0] != '\0')
		return cfg->key_passphrase_file;
	return NULL;
}

/* Where a key source is set: "$VAR" (env + 1 is its name), the option, or NULL. */
static const char *key_source_name(const char *env, const char *option, const char *cfg_value)
{
	const char *v = getenv(env + 1);

	if (v != NULL && v[0] != '\0')
		return env;
	return cfg_value != NULL && cfg_value[0] != '\0' ? option : NULL;
}

int config_check_key_source(const struct config *cfg)
{
	const char *key = key_source_name("$CASSETTE_KEY_FILE", "[storage] key_secret_file",
					  cfg != NULL ? cfg->key_secret_file : NULL);
	const char *pass = key_source_name("$CASSETTE_PASSPHRASE_FILE", "[storage] key_passphrase_file",
					   cfg != NULL ? cfg->key_passphrase_file : NULL);

	if (key == NULL || pass == NULL)
		return 0;
	return cst_error(CST_EINVALID, "%s%s%s and %s are both set: a key comes from a key file or "
			 "from a passphrase, not both; unset one", cfg != NULL ? cfg->path : "",
			 cfg != NULL ? ": " : "", key, pass);
}

void config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	if (cfg->cql_password != NULL)
		cst_wipe(cfg->cql_password, strlen(cfg->cql_password));
	for (i = 0; i < N_OPTIONS; i++)
		if (options[i].kind == OPT_STRING)
			free(*(char **)((char *)cfg + options[i].offset));
	if (cfg->secret_access_key != NULL)
		cst_wipe(cfg->secret_access_key, strlen(cfg->secret_access_key));
	free(cfg->secret_access_key);
	if (cfg->medusa_key_base64 != NULL)
		cst_wipe(cfg->medusa_key_base64, strlen(cfg->medusa_key_base64));
	free(cfg->medusa_key_base64);
	free(cfg->access_key_id);
	free(cfg->node_fqdn);
	free(cfg->path);
	free(cfg);
}

int config_has_key(const struct config *cfg)
{
	return config_key_file(cfg) != NULL || config_passphrase_file(cfg) != NULL;
}
