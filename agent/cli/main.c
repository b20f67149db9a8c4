/* cassette: the command line. Parses options, loads the config, runs one
 * command, prints its error once. Exit: 0 ok, 1 failure, 2 usage/config. */
#define _GNU_SOURCE
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "progress.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/cassette/cassette.ini"

static const char usage_main[] =
	"usage: cassette [--config FILE] [--fqdn NAME] [--[no-]progress] COMMAND [OPTIONS]\n"
	"\n"
	"Encrypted, differential backups of Apache Cassandra nodes.\n"
	"\n"
	"Commands:\n"
	"  keygen          print a new random 256-bit key (base64) for key_secret_file\n"
	"  backup-node     snapshot this node and back up new or changed SSTable files\n"
	"  list-backups    list backups from the index (no key needed)\n"
	"  restore-node    restore one backup of this node into a directory\n"
	"  fetch-tokenmap  print a backup's tokenmap.json: the cluster's nodes and tokens\n"
	"                  (no key needed)\n"
	"  inspect FILE    print the header of an encrypted object (no key needed)\n"
	"\n"
	"Global options (also accepted after the command):\n"
	"  --config FILE   configuration file (default: $CASSETTE_CONFIG, else " DEFAULT_CONFIG ")\n"
	"  --fqdn NAME     this node's name in storage (overrides [storage] fqdn)\n"
	"  --progress      show a progress line on stderr (files, bytes, rate, time left)\n"
	"                  even when it is not a terminal\n"
	"  --no-progress   never show it (default: shown when stderr is a terminal, unless\n"
	"                  $CASSETTE_PROGRESS is 0; CASSETTE_PROGRESS=1 forces it on)\n"
	"  --help          show help; 'cassette COMMAND --help' shows a command's options\n"
	"  --version       print the version\n"
	"\n"
	"The key file is [storage] key_secret_file, or $CASSETTE_KEY_FILE. It must not be\n"
	"readable by group or others. Keys are never accepted on the command line.\n"
	"Exit status: 0 success, 1 failure, 2 usage or configuration error.\n";

static const char usage_backup[] =
	"usage: cassette [--config FILE] backup-node [--backup-name NAME] [--mode differential|full]\n"
	"                [--keep-snapshot] [--verify-hashes]\n"
	"\n"
	"Snapshots every table under [cassandra] data_dir, encrypts each new or changed file\n"
	"chunk by chunk into encryption_tmp_dir, stores it, and writes the backup's manifest.\n"
	"  --backup-name NAME  backup name (default: UTC time, YYYYMMDDHHMMSS)\n"
	"  --mode MODE         differential (default): files whose size and MD5 match this\n"
	"                      node's earlier manifests are referenced, not stored again;\n"
	"                      full: every file is stored again under the backup's folder\n"
	"  --keep-snapshot     leave the snapshot on disk afterwards\n"
	"  --verify-hashes     ignore the hash cache ([storage] state_dir): re-read and hash\n"
	"                      every file, and refresh the cache\n";

static const char usage_list[] =
	"usage: cassette [--config FILE] list-backups [--output text|json] [--show-all]\n"
	"\n"
	"Lists backups from one listing of the storage index. Needs no key and reads no\n"
	"data object.\n"
	"  --output FORMAT  text (default) or json\n"
	"  --show-all       backups of every node, not only this node's\n";

static const char usage_restore[] =
	"usage: cassette [--config FILE] restore-node --backup-name NAME --target-dir DIR\n"
	"                [--keyspace KS] [--table TABLE]\n"
	"\n"
	"Restores this node's files of a backup into DIR/<keyspace>/<table>-<id>/. Every file is\n"
	"verified against the manifest (AEAD tags bound to its identity and salt, sizes; MD5 for\n"
	"unencrypted objects) before it is renamed into place; on failure no file is left.\n"
	"Existing files are never overwritten. Files are fetched in parallel, largest first.\n"
	"  --backup-name NAME  the backup to restore\n"
	"  --target-dir DIR    where to write (created if missing)\n"
	"  --keyspace KS       only this keyspace\n"
	"  --table TABLE       only this table (name, or name-<id>)\n";

static const char usage_fetch_tokenmap[] =
	"usage: cassette [--config FILE] [--fqdn NAME] fetch-tokenmap --backup-name NAME\n"
	"\n"
	"Prints the tokenmap.json of this node's backup NAME (of node NAME with --fqdn): every\n"
	"node of the cluster when the backup ran, with its tokens, rack, data center and\n"
	"whether it was up. Needs no key and reads no data object.\n"
	"  --backup-name NAME  the backup\n";

static const char usage_keygen[] =
	"usage: cassette keygen > backup.key\n"
	"\n"
	"Prints a new random 256-bit key as one line of base64. When standard output is a\n"
	"file, it is made mode 0600 first. Keep a copy of the key somewhere safe: without it\n"
	"no backup can be restored.\n";

static const char usage_inspect[] =
	"usage: cassette inspect FILE\n"
	"\n"
	"Prints an encrypted object's header: format version, key id, segment size, salt and\n"
	"sizes. Needs no key.\n";

enum { OPT_CONFIG = 1000, OPT_FQDN, OPT_HELP, OPT_VERSION, OPT_NAME, OPT_MODE, OPT_KEEP,
       OPT_OUTPUT, OPT_SHOW_ALL, OPT_TARGET, OPT_KEYSPACE, OPT_TABLE, OPT_VERIFY_HASHES, OPT_PROGRESS,
       OPT_NO_PROGRESS };

struct cli {
	const char *config, *fqdn, *command;
	int help;
	struct backup_opts backup;
	struct restore_opts restore;
	struct list_opts list;
	const char *output, *mode, *inspect_file;
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
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
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
		return opt == OPT_NAME || opt == OPT_MODE || opt == OPT_KEEP || opt == OPT_VERIFY_HASHES;
	if (strcmp(cmd, "list-backups") == 0)
		return opt == OPT_OUTPUT || opt == OPT_SHOW_ALL;
	if (strcmp(cmd, "restore-node") == 0)
		return opt == OPT_NAME || opt == OPT_TARGET || opt == OPT_KEYSPACE || opt == OPT_TABLE;
	if (strcmp(cmd, "fetch-tokenmap") == 0)
		return opt == OPT_NAME;
	return 0;
}

static int parse(struct cli *c, int argc, char **argv)
{
	int opt;

	opterr = 0;
	optind = 1;
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
		case OPT_NAME: c->backup.name = c->restore.name = optarg; break;
		case OPT_MODE: c->mode = optarg; break;
		case OPT_KEEP: c->backup.keep_snapshot = 1; break;
		case OPT_VERIFY_HASHES: c->backup.verify_hashes = 1; break;
		case OPT_OUTPUT: c->output = optarg; break;
		case OPT_SHOW_ALL: c->list.show_all = 1; break;
		case OPT_TARGET: c->restore.target_dir = optarg; break;
		case OPT_KEYSPACE: c->restore.keyspace = optarg; break;
		case OPT_TABLE: c->restore.table = optarg; break;
		case OPT_PROGRESS: progress_set_mode(PROGRESS_ON); break;
		case OPT_NO_PROGRESS: progress_set_mode(PROGRESS_OFF); break;
		}
	}
	return 0;
}

static const char *help_for(const char *cmd)
{
	if (cmd == NULL)
		return usage_main;
	if (strcmp(cmd, "backup-node") == 0)
		return usage_backup;
	if (strcmp(cmd, "list-backups") == 0)
		return usage_list;
	if (strcmp(cmd, "restore-node") == 0)
		return usage_restore;
	if (strcmp(cmd, "fetch-tokenmap") == 0)
		return usage_fetch_tokenmap;
	if (strcmp(cmd, "keygen") == 0)
		return usage_keygen;
	if (strcmp(cmd, "inspect") == 0)
		return usage_inspect;
	return NULL;
}

/* Options that need a value check before any work starts. */
static int check_options(struct cli *c)
{
	if (c->mode != NULL) {
		if (strcmp(c->mode, "full") == 0)
			c->backup.full = 1;
		else if (strcmp(c->mode, "differential") != 0)
			return usage_error("--mode must be 'differential' or 'full', not '%s'", c->mode);
	}
	if (c->output != NULL) {
		if (strcmp(c->output, "json") == 0)
			c->list.json = 1;
		else if (strcmp(c->output, "text") != 0)
			return usage_error("--output must be 'text' or 'json', not '%s'", c->output);
	}
	if (strcmp(c->command, "restore-node") == 0) {
		if (c->restore.name == NULL)
			return usage_error("%s needs --backup-name NAME", c->command);
		if (c->restore.target_dir == NULL || c->restore.target_dir[0] == '\0')
			return usage_error("%s needs --target-dir DIR", c->command);
	}
	if (strcmp(c->command, "fetch-tokenmap") == 0 && c->backup.name == NULL)
		return usage_error("%s needs --backup-name NAME", c->command);
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
		return cmd_keygen();
	if (strcmp(c->command, "inspect") == 0)
		return cmd_inspect(c->inspect_file);
	if (path == NULL)
		path = getenv("CASSETTE_CONFIG");
	if (path == NULL || path[0] == '\0')
		path = DEFAULT_CONFIG;
	if (config_load(&cfg, path) != 0)
		return CMD_USAGE;
	if (c->fqdn != NULL && config_set_fqdn(cfg, c->fqdn) != 0) {
		config_free(cfg);
		return CMD_USAGE;
	}
	if (strcmp(c->command, "backup-node") == 0)
		rc = cmd_backup_node(cfg, &c->backup);
	else if (strcmp(c->command, "restore-node") == 0)
		rc = cmd_restore_node(cfg, &c->restore);
	else if (strcmp(c->command, "fetch-tokenmap") == 0)
		rc = cmd_fetch_tokenmap(cfg, c->backup.name);
	else
		rc = cmd_list_backups(cfg, &c->list);
	config_free(cfg);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
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
		const char *text = help_for(c.command);

		if (text == NULL)
			return usage_error("unknown command '%s'", c.command);
		fputs(text, stdout);
		return 0;
	}
	if (c.command == NULL) {
		fputs(usage_main, stderr);
		return 2;
	}
	if (help_for(c.command) == NULL)
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
