/* cassette: the command line. Parses options, loads the config, runs one
 * command, prints its error once. Exit: 0 ok, 1 failure, 2 usage/config. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "help.h"
#include "progress.h"
#include "util.h"



enum { OPT_CONFIG = 1000, OPT_FQDN, OPT_HELP, OPT_VERSION, OPT_NAME, OPT_MODE, OPT_KEEP,
       OPT_OUTPUT, OPT_SHOW_ALL, OPT_TARGET, OPT_KEYSPACE, OPT_TABLE, OPT_VERIFY_HASHES, OPT_PROGRESS,
       OPT_NO_PROGRESS, OPT_SNAPSHOT_ONLY, OPT_USE_SNAPSHOT, OPT_PAR_SNAPSHOTS, OPT_PAR_UPLOADS,
       OPT_HOST_LIST, OPT_ALLOW_INCOMPLETE, OPT_ALLOW_UNAUTH, OPT_DRY_RUN, OPT_IN_PLACE,
       OPT_DEEP, OPT_SAMPLE, OPT_PROMETHEUS, OPT_ALL_NODES, OPT_LABEL, OPT_REENCRYPT,
       OPT_ADD_TO, OPT_RECIPIENT, OPT_NODE_SIGNING };

struct cli {
	const char *config, *fqdn, *command;
	int help;
	struct backup_opts backup;
	struct restore_opts restore;
	const char **keyspaces, **tables;	/* restore's, argc long */
	struct list_opts list;
	struct backup_cluster_opts cluster;
	struct status_opts status;
	struct restore_cluster_opts rcluster;
	struct verify_opts verify;
	struct report_opts report;
	const char *sample;
	struct purge_opts purge;
	struct delete_backup_opts delete_backup;
	struct rotate_opts rotate;
	const char *add_to;
	int pk_kind;		/* keygen: 1 --recipient, 2 --node-signing */
	const char *output, *mode, *inspect_file, *par_snapshots, *par_uploads, *label;
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "cassette: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'cassette --help'.\n");
	return 2;
}

static const struct option long_opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "fqdn", required_argument, NULL, OPT_FQDN },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "backup-name", required_argument, NULL, OPT_NAME },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "keep-snapshot", no_argument, NULL, OPT_KEEP },
	{ "verify-hashes", no_argument, NULL, OPT_VERIFY_HASHES },
	{ "output", required_argument, NULL, OPT_OUTPUT },
	{ "show-all", no_argument, NULL, OPT_SHOW_ALL },
	{ "target-dir", required_argument, NULL, OPT_TARGET },
	{ "keyspace", required_argument, NULL, OPT_KEYSPACE },
	{ "table", required_argument, NULL, OPT_TABLE },
	{ "in-place", no_argument, NULL, OPT_IN_PLACE },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "snapshot-only", no_argument, NULL, OPT_SNAPSHOT_ONLY },
	{ "use-snapshot", no_argument, NULL, OPT_USE_SNAPSHOT },
	{ "parallel-snapshots", required_argument, NULL, OPT_PAR_SNAPSHOTS },
	{ "parallel-uploads", required_argument, NULL, OPT_PAR_UPLOADS },
	{ "host-list", required_argument, NULL, OPT_HOST_LIST },
	{ "allow-incomplete", no_argument, NULL, OPT_ALLOW_INCOMPLETE },
	{ "allow-unauthenticated", no_argument, NULL, OPT_ALLOW_UNAUTH },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "deep", no_argument, NULL, OPT_DEEP },
	{ "sample", required_argument, NULL, OPT_SAMPLE },
	{ "prometheus", required_argument, NULL, OPT_PROMETHEUS },
	{ "all-nodes", no_argument, NULL, OPT_ALL_NODES },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "reencrypt", no_argument, NULL, OPT_REENCRYPT },
	{ "add-to", required_argument, NULL, OPT_ADD_TO },
	{ "recipient", no_argument, NULL, OPT_RECIPIENT },
	{ "node-signing", no_argument, NULL, OPT_NODE_SIGNING },
	{ NULL, 0, NULL, 0 }
};

/* Which command options each command accepts. */
static int allowed(const char *cmd, int opt)
{
	if (opt == OPT_CONFIG || opt == OPT_FQDN || opt == OPT_HELP || opt == OPT_VERSION ||
	    opt == OPT_PROGRESS || opt == OPT_NO_PROGRESS)
		return 1;
	if (cmd == NULL)
		return 0;
	if (strcmp(cmd, "backup-node") == 0)
		return opt == OPT_NAME || opt == OPT_MODE || opt == OPT_KEEP || opt == OPT_VERIFY_HASHES ||
		       opt == OPT_SNAPSHOT_ONLY || opt == OPT_USE_SNAPSHOT;
	if (strcmp(cmd, "list-backups") == 0)
		return opt == OPT_OUTPUT || opt == OPT_SHOW_ALL;
	if (strcmp(cmd, "restore-node") == 0)
		return opt == OPT_NAME || opt == OPT_TARGET || opt == OPT_KEYSPACE || opt == OPT_TABLE ||
		       opt == OPT_IN_PLACE || opt == OPT_ALLOW_UNAUTH;
	if (strcmp(cmd, "backup-cluster") == 0)
		return opt == OPT_NAME || opt == OPT_MODE || opt == OPT_PAR_SNAPSHOTS ||
		       opt == OPT_PAR_UPLOADS;
	if (strcmp(cmd, "status") == 0)
		return opt == OPT_NAME || opt == OPT_OUTPUT;
	if (strcmp(cmd, "restore-cluster") == 0)
		return opt == OPT_NAME || opt == OPT_HOST_LIST || opt == OPT_KEYSPACE || opt == OPT_TABLE ||
		       opt == OPT_ALLOW_INCOMPLETE || opt == OPT_ALLOW_UNAUTH || opt == OPT_DRY_RUN;
	if (strcmp(cmd, "fetch-tokenmap") == 0)
		return opt == OPT_NAME;
	if (strcmp(cmd, "keygen") == 0)
		return opt == OPT_OUTPUT || opt == OPT_ADD_TO || opt == OPT_RECIPIENT ||
		       opt == OPT_NODE_SIGNING;	/* the key file, the keyring, a key pair */
	if (strcmp(cmd, "rotate-key") == 0)
		return opt == OPT_REENCRYPT || opt == OPT_DRY_RUN;
	if (strcmp(cmd, "encrypt") == 0 || strcmp(cmd, "decrypt") == 0)
		return opt == OPT_LABEL;
	if (strcmp(cmd, "verify") == 0)
		return opt == OPT_NAME || opt == OPT_DEEP || opt == OPT_SAMPLE || opt == OPT_OUTPUT ||
		       opt == OPT_ALLOW_UNAUTH;
	if (strcmp(cmd, "report-last-backup") == 0)
		return opt == OPT_PROMETHEUS || opt == OPT_OUTPUT;
	if (strcmp(cmd, "purge") == 0)
		return opt == OPT_DRY_RUN;
	if (strcmp(cmd, "delete-backup") == 0)
		return opt == OPT_NAME || opt == OPT_ALL_NODES || opt == OPT_DRY_RUN;
	return 0;
}

static int parse(struct cli *c, int argc, char **argv)
{
	int opt;

	opterr = 0;
	optind = 1;
	/* each --keyspace and --table value, at most one per argument */
	if ((c->keyspaces = calloc((size_t)argc, sizeof(*c->keyspaces))) == NULL ||
	    (c->tables = calloc((size_t)argc, sizeof(*c->tables))) == NULL) {
		fprintf(stderr, "cassette: out of memory\n");
		return 1;
	}
	c->restore.keyspaces = c->rcluster.keyspaces = c->keyspaces;
	c->restore.tables = c->rcluster.tables = c->tables;
	/* Permuting getopt: options may come before or after the command. */
	while ((opt = getopt_long(argc, argv, "-h", long_opts, NULL)) != -1) {
		if (opt == 1) {
			if (c->command == NULL)
				c->command = optarg;
			else if (strcmp(c->command, "inspect") == 0 && c->inspect_file == NULL)
				c->inspect_file = optarg;
			else
				return usage_error("unexpected argument '%s'", optarg);
			continue;
		}
		if (opt == '?')
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		if (opt == 'h')
			opt = OPT_HELP;
		if (!allowed(c->command, opt))
			return usage_error("option '%s' does not apply here", argv[optind - 1 - (optarg != NULL &&
				argv[optind - 1] == optarg)]);
		switch (opt) {
		case OPT_CONFIG: c->config = optarg; break;
		case OPT_FQDN: c->fqdn = optarg; break;
		case OPT_HELP: c->help = 1; break;
		case OPT_VERSION: printf("cassette %s\n", CASSETTE_VERSION); exit(0);
		case OPT_NAME:
			c->backup.name = c->restore.name = c->cluster.name = c->status.name = optarg;
			c->rcluster.name = c->verify.name = c->delete_backup.name = optarg;
			break;
		case OPT_DEEP: c->verify.deep = 1; break;
		case OPT_SAMPLE: c->sample = optarg; break;
		case OPT_PROMETHEUS: c->report.prometheus = optarg; break;
		case OPT_MODE: c->mode = optarg; break;
		case OPT_KEEP: c->backup.keep_snapshot = 1; break;
		case OPT_VERIFY_HASHES: c->backup.verify_hashes = 1; break;
		case OPT_SNAPSHOT_ONLY: c->backup.snapshot_only = 1; break;
		case OPT_USE_SNAPSHOT: c->backup.use_snapshot = 1; break;
		case OPT_PAR_SNAPSHOTS: c->par_snapshots = optarg; break;
		case OPT_PAR_UPLOADS: c->par_uploads = optarg; break;
		case OPT_OUTPUT: c->output = optarg; break;
		case OPT_SHOW_ALL: c->list.show_all = 1; break;
		case OPT_TARGET: c->restore.target_dir = optarg; break;
		case OPT_KEYSPACE:
			c->keyspaces[c->restore.n_keyspaces++] = optarg;
			c->rcluster.n_keyspaces = c->restore.n_keyspaces;
			break;
		case OPT_TABLE:
			c->tables[c->restore.n_tables++] = optarg;
			c->rcluster.n_tables = c->restore.n_tables;
			break;
		case OPT_IN_PLACE: c->restore.in_place = 1; break;
		case OPT_HOST_LIST: c->rcluster.host_list = optarg; break;
		case OPT_ALLOW_INCOMPLETE: c->rcluster.allow_incomplete = 1; break;
		case OPT_ALLOW_UNAUTH:
			c->restore.allow_unauthenticated = c->rcluster.allow_unauthenticated = 1;
			c->verify.allow_unauthenticated = 1;
			break;
		case OPT_LABEL: c->label = optarg; break;
		case OPT_DRY_RUN:
			c->rcluster.dry_run = c->purge.dry_run = c->delete_backup.dry_run = 1;
			c->rotate.dry_run = 1;
			break;
		case OPT_ALL_NODES: c->delete_backup.all_nodes = 1; break;
		case OPT_REENCRYPT: c->rotate.reencrypt = 1; break;
		case OPT_ADD_TO: c->add_to = optarg; break;
		case OPT_RECIPIENT: c->pk_kind |= 1; break;
		case OPT_NODE_SIGNING: c->pk_kind |= 2; break;
		case OPT_PROGRESS: progress_set_mode(PROGRESS_ON); break;
		case OPT_NO_PROGRESS: progress_set_mode(PROGRESS_OFF); break;
		}
	}
	return 0;
}


static int parse_count(const char *v, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *v == '-' || n == 0 || n > 1000)
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* Options that need a value check before any work starts. */
static int check_options(struct cli *c)
{
	if (c->mode != NULL) {
		if (strcmp(c->mode, "full") == 0)
			c->backup.full = c->cluster.full = 1;
		else if (strcmp(c->mode, "differential") != 0)
			return usage_error("--mode must be 'differential' or 'full', not '%s'", c->mode);
	}
	if (c->output != NULL && c->add_to != NULL)
		return usage_error("--output and --add-to exclude each other");
	if (c->pk_kind == 3)
		return usage_error("--recipient and --node-signing exclude each other");
	if (c->pk_kind != 0 && c->add_to != NULL)
		return usage_error("--add-to adds a master key; --recipient and --node-signing make "
				   "key pairs (--output FILE)");
	if (c->add_to != NULL && c->add_to[0] == '\0')
		return usage_error("--add-to needs a keyring file");
	if (c->output != NULL && strcmp(c->command, "keygen") == 0) {
		if (c->output[0] == '\0')
			return usage_error("--output needs a file name");
	} else if (c->output != NULL) {
		if (strcmp(c->output, "json") == 0)
			c->list.json = c->status.json = c->verify.json = c->report.json = 1;
		else if (strcmp(c->output, "text") != 0)
			return usage_error("--output must be 'text' or 'json', not '%s'", c->output);
	}
	if (strcmp(c->command, "restore-node") == 0) {
		if (c->restore.name == NULL)
			return usage_error("%s needs --backup-name NAME", c->command);
		if (c->restore.in_place && c->restore.target_dir != NULL)
			return usage_error("--in-place and --target-dir exclude each other: restore into "
					   "data_dir, or into another directory");
		if (!c->restore.in_place && (c->restore.target_dir == NULL || c->restore.target_dir[0] == '\0'))
			return usage_error("%s needs --target-dir DIR or --in-place", c->command);
	}
	c->cluster.parallel_uploads = 1;
	if (c->par_snapshots && parse_count(c->par_snapshots, &c->cluster.parallel_snapshots) != 0)
		return usage_error("--parallel-snapshots must be a whole number from 1 to 1000, not '%s'",
				   c->par_snapshots);
	if (c->par_uploads && parse_count(c->par_uploads, &c->cluster.parallel_uploads) != 0)
		return usage_error("--parallel-uploads must be a whole number from 1 to 1000, not '%s'",
				   c->par_uploads);
	if (strcmp(c->command, "restore-cluster") == 0 && c->rcluster.name == NULL)
		return usage_error("%s needs --backup-name NAME", c->command);
	if (strcmp(c->command, "status") == 0 && c->status.name == NULL)
		return usage_error("%s needs --backup-name NAME", c->command);
	if (c->backup.snapshot_only && c->backup.use_snapshot)
		return usage_error("--snapshot-only and --use-snapshot do not go together");
	if ((c->backup.snapshot_only || c->backup.use_snapshot) && c->backup.name == NULL)
		return usage_error("--%s needs --backup-name NAME",
				   c->backup.snapshot_only ? "snapshot-only" : "use-snapshot");
	if (strcmp(c->command, "fetch-tokenmap") == 0 && c->backup.name == NULL)
		return usage_error("%s needs --backup-name NAME", c->command);
	if (strcmp(c->command, "verify") == 0 && c->verify.name == NULL)
		return usage_error("%s needs --backup-name NAME", c->command);
	if (c->sample != NULL) {
		unsigned pct;

		if (parse_count(c->sample, &pct) != 0 || pct > 100)
			return usage_error("--sample must be a whole percentage from 1 to 100, not '%s'",
					   c->sample);
		c->verify.sample = pct;
	}
	if (c->report.prometheus != NULL && c->report.prometheus[0] == '\0')
		return usage_error("--prometheus needs a file name");
	if (strcmp(c->command, "delete-backup") == 0 && c->delete_backup.name == NULL)
		return usage_error("%s needs --backup-name NAME", c->command);
	if ((strcmp(c->command, "encrypt") == 0 || strcmp(c->command, "decrypt") == 0) &&
	    c->label == NULL)
		return usage_error("%s needs --label NAME", c->command);
	if (strcmp(c->command, "inspect") == 0 && c->inspect_file == NULL)
		return usage_error("%s needs a FILE", c->command);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	cassette_interrupted = 1;
}

static int run(struct cli *c)
{
	struct config *cfg = NULL;
	const char *path = c->config;
	int rc;

	if (strcmp(c->command, "keygen") == 0)
		return c->add_to ? cmd_keygen_add(c->add_to) :
		       c->pk_kind ? cmd_keygen_pk(c->output, c->pk_kind == 2, c->fqdn) :
				    cmd_keygen(c->output);
	if (strcmp(c->command, "inspect") == 0)
		return cmd_inspect(c->inspect_file);
	if (path == NULL)
		path = getenv("CASSETTE_CONFIG");
	if (path == NULL || path[0] == '\0')
		path = DEFAULT_CONFIG;
	if (strcmp(c->command, "encrypt") == 0 || strcmp(c->command, "decrypt") == 0) {
		/* a dump service may have no config, only $CASSETTE_KEY_FILE; a
		 * passphrase needs the store's key parameters, so a config */
		const char *env = getenv("CASSETTE_KEY_FILE");
		const char *pass = getenv("CASSETTE_PASSPHRASE_FILE");
		int key_env = env != NULL && env[0] != '\0', pass_env = pass != NULL && pass[0] != '\0';

		if (c->config == NULL && (key_env || pass_env) && access(path, F_OK) != 0)
			return cmd_stream(NULL, c->label, c->command[0] == 'd');
		if (config_load(&cfg, path) != 0)
			return CMD_USAGE;
		rc = cmd_stream(cfg, c->label, c->command[0] == 'd');
		config_free(cfg);
		return rc;
	}
	if (config_load(&cfg, path) != 0)
		return CMD_USAGE;
	if (c->fqdn != NULL && config_set_fqdn(cfg, c->fqdn) != 0) {
		config_free(cfg);
		return CMD_USAGE;
	}
	if (strcmp(c->command, "backup-node") == 0)
		rc = cmd_backup_node(cfg, &c->backup);
	else if (strcmp(c->command, "backup-cluster") == 0)
		rc = cmd_backup_cluster(cfg, &c->cluster);
	else if (strcmp(c->command, "restore-cluster") == 0)
		rc = cmd_restore_cluster(cfg, &c->rcluster);
	else if (strcmp(c->command, "status") == 0)
		rc = cmd_status(cfg, &c->status);
	else if (strcmp(c->command, "get-last-complete-cluster-backup") == 0)
		rc = cmd_last_complete_cluster_backup(cfg);
	else if (strcmp(c->command, "restore-node") == 0)
		rc = cmd_restore_node(cfg, &c->restore);
	else if (strcmp(c->command, "fetch-tokenmap") == 0)
		rc = cmd_fetch_tokenmap(cfg, c->backup.name);
	else if (strcmp(c->command, "verify") == 0)
		rc = cmd_verify(cfg, &c->verify);
	else if (strcmp(c->command, "report-last-backup") == 0)
		rc = cmd_report_last_backup(cfg, &c->report);
	else if (strcmp(c->command, "purge") == 0)
		rc = cmd_purge(cfg, &c->purge);
	else if (strcmp(c->command, "delete-backup") == 0)
		rc = cmd_delete_backup(cfg, &c->delete_backup);
	else if (strcmp(c->command, "rotate-key") == 0)
		rc = cmd_rotate_key(cfg, &c->rotate);
	else
		rc = cmd_list_backups(cfg, &c->list);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static struct cli c;	/* static: what it points to stays reachable until exit */
	struct sigaction sa;
	int rc;

	/* Buffers of 256 KiB and more (segment buffers, one per file in
	 * flight) come from mmap and go back to the system when freed. Left
	 * to itself glibc raises this threshold after the first large free,
	 * and then each of 32 restore threads keeps its own freed megabytes
	 * in its own arena: a restore with many workers peaked above 64 MiB. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	memset(&c, 0, sizeof(c));
	if ((rc = parse(&c, argc, argv)) != 0)
		return rc;
	if (c.help) {
		const char *text = cli_help_for(c.command);

		if (text == NULL)
			return usage_error("unknown command '%s'", c.command);
		fputs(text, stdout);
		return 0;
	}
	if (c.command == NULL) {
		fputs(cli_help_for(NULL), stderr);
		return 2;
	}
	if (cli_help_for(c.command) == NULL)
		return usage_error("unknown command '%s'", c.command);
	if ((rc = check_options(&c)) != 0)
		return rc;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	rc = run(&c);
	if (rc != 0)
		fprintf(stderr, "cassette: %s\n", cst_error_msg()[0] ? cst_error_msg() : cst_error_name(rc));
	return rc == 0 ? 0 : rc == CMD_USAGE ? 2 : 1;
}
