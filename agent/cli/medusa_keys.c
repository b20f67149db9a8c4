/* medusa_keys: Medusa's medusa.ini keys that have no effect in cassette.
 * Those cassette applies are ordinary options of config.c; README's table
 * ("A medusa.ini as the config") lists both. */
#include "medusa_keys.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *section, *name, *note;
} keys[] = {
	/* [cassandra] */
	{ "cassandra", "cql_k8s_secrets_path", "CQL login from Kubernetes secrets" },
	{ "cassandra", "check_running", "command that tells whether Cassandra runs" },
	{ "cassandra", "is_ccm", "ccm test clusters" },
	{ "cassandra", "sstableloader_bin", "sstableloader restores" },
	{ "cassandra", "sstableloader_ts", "sstableloader restores" },
	{ "cassandra", "sstableloader_tspw", "sstableloader restores" },
	{ "cassandra", "sstableloader_ks", "sstableloader restores" },
	{ "cassandra", "sstableloader_kspw", "sstableloader restores" },
	{ "cassandra", "nodetool_username", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "nodetool_password", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "nodetool_password_file_path", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "nodetool_k8s_secrets_path", "nodetool login from Kubernetes secrets" },
	{ "cassandra", "nodetool_host", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "nodetool_port", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "nodetool_ssl", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "nodetool_flags", "nodetool options; put them in nodetool_cmd" },
	{ "cassandra", "certfile", "CQL client TLS" },
	{ "cassandra", "usercert", "CQL client TLS" },
	{ "cassandra", "userkey", "CQL client TLS" },
	{ "cassandra", "use_sudo", "sudo in front of commands" },
	/* [storage] */
	{ "storage", "host_file_separator", "host file separator" },
	{ "storage", "api_profile", "AWS profile; cassette reads $AWS_PROFILE" },
	{ "storage", "aws_cli_path", "aws command line tool" },
	{ "storage", "storage_class", "S3 storage class of uploads" },
	{ "storage", "kms_id", "S3 server-side encryption with KMS" },
	{ "storage", "sse_c_key", "S3 server-side encryption with a customer key" },
	{ "storage", "use_sudo_for_restore", "sudo when restoring files" },
	{ "storage", "k8s_mode", "Kubernetes deployments" },
	{ "storage", "read_timeout", "storage read timeout" },
	{ "storage", "multipart_chunksize", "multipart part size; cassette sizes parts itself" },
	/* [ssh] */
	{ "ssh", "cert_file", "SSH certificate; use remote_command" },
	/* [checks] */
	{ "checks", "health_check", "checks after a restore" },
	{ "checks", "query", "checks after a restore" },
	{ "checks", "expected_rows", "checks after a restore" },
	{ "checks", "expected_result", "checks after a restore" },
	{ "checks", "enable_md5_checks", "MD5 checks; cassette's verify --deep reads every object" },
	/* [monitoring] */
	{ "monitoring", "monitoring_provider", "metrics sink; cassette writes prometheus_textfile" },
	{ "monitoring", "send_backup_name_tag", "metrics tags" },
	/* [logging]: cassette logs to stderr */
	{ "logging", "enabled", "log file" },
	{ "logging", "file", "log file" },
	{ "logging", "format", "log file" },
	{ "logging", "level", "log file" },
	{ "logging", "maxBytes", "log file" },
	{ "logging", "backupCount", "log file" },
	/* [grpc] */
	{ "grpc", "enabled", "gRPC server" },
	{ "grpc", "max_send_message_length", "gRPC server" },
	{ "grpc", "max_receive_message_length", "gRPC server" },
	/* [kubernetes] */
	{ "kubernetes", "enabled", "Kubernetes deployments" },
	{ "kubernetes", "cassandra_url", "Kubernetes management API" },
	{ "kubernetes", "use_mgmt_api", "Kubernetes management API" },
	{ "kubernetes", "ca_cert", "Kubernetes management API" },
	{ "kubernetes", "tls_cert", "Kubernetes management API" },
	{ "kubernetes", "tls_key", "Kubernetes management API" },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= MEDUSA_KEYS_MAX, "config.c keeps a flag per key");

int medusa_section_is_known(const char *section)
{
	return strcmp(section, "checks") == 0 || strcmp(section, "logging") == 0 ||
	       strcmp(section, "grpc") == 0 || strcmp(section, "kubernetes") == 0;
}

int medusa_key_index(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(keys[i].section, section) == 0 && strcasecmp(keys[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t medusa_key_count(void)
{
	return N_KEYS;
}

const char *medusa_key_section(int i)
{
	return keys[i].section;
}

const char *medusa_key_name(int i)
{
	return keys[i].name;
}

const char *medusa_key_note(int i)
{
	return keys[i].note;
}
