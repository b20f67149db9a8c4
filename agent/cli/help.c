/* help: the --help text of each command (help.h). */
#include <string.h>

#include "help.h"

static const char usage_main[] =
	"usage: cassette [--config FILE] [--fqdn NAME] [--[no-]progress] COMMAND [OPTIONS]\n"
	"\n"
	"Encrypted, differential backups of Apache Cassandra nodes.\n"
	"\n"
	"Commands:\n"
	"  keygen          print a new random 256-bit key (base64) for key_secret_file, or\n"
	"                  add one to a keyring (--add-to FILE)\n"
	"  rotate-key      re-wrap every node's data keys under the keyring's newest key\n"
	"                  (no data object is read or written)\n"
	"  backup-node     snapshot this node and back up new or changed SSTable files\n"
	"  list-backups    list backups from the index (no key needed)\n"
	"  restore-node    restore one backup of a node into a directory, or in place\n"
	"  fetch-tokenmap  print a backup's tokenmap.json: the cluster's nodes and tokens\n"
	"                  (no key needed)\n"
	"  inspect FILE    print the header of an encrypted object (no key needed)\n"
	"  encrypt, decrypt\n"
	"                  standard input to standard output in cassette's object format,\n"
	"                  bound to a --label (pg_dump | cassette encrypt --label db-1)\n"
	"  verify          check that a stored backup is whole (no key needed; --deep\n"
	"                  decrypts and hashes every file with the key)\n"
	"  report-last-backup\n"
	"                  the age, files and bytes of the node's last finished backup, for\n"
	"                  monitoring; exit 1 when it is too old (no key needed)\n"
	"  purge           remove this node's backups past the retention limits, then the\n"
	"                  objects no remaining backup needs (no key needed)\n"
	"  delete-backup   remove one backup, then the objects no remaining backup needs\n"
	"\n"
	"Cluster commands (each node's own cassette runs through [ssh] remote_command):\n"
	"  backup-cluster  snapshot every node, then back each one up, under one name\n"
	"  restore-cluster restore every node of a backup, in place or onto new hosts\n"
	"  status          which nodes of the cluster finished a backup (no key needed)\n"
	"  get-last-complete-cluster-backup\n"
	"                  print the name of the newest backup every node finished\n"
	"\n"
	"Global options (also accepted after the command):\n"
	"  --config FILE   configuration file (default: $CASSETTE_CONFIG, else " DEFAULT_CONFIG ")\n"
	"  --fqdn NAME     this node's name in storage (overrides [storage] fqdn); for\n"
	"                  restore-node, the node whose backup is restored\n"
	"  --progress      show a progress line on stderr (files, bytes, rate, time left)\n"
	"                  even when it is not a terminal\n"
	"  --no-progress   never show it (default: shown when stderr is a terminal, unless\n"
	"                  $CASSETTE_PROGRESS is 0; CASSETTE_PROGRESS=1 forces it on)\n"
	"  --help          show help; 'cassette COMMAND --help' shows a command's options\n"
	"  --version       print the version\n"
	"\n"
	"The key file is [storage] key_secret_file, or $CASSETTE_KEY_FILE. It must not be\n"
	"readable by group or others. Keys are never accepted on the command line. Or a\n"
	"passphrase: [storage] key_passphrase_file, or $CASSETTE_PASSPHRASE_FILE (a 0600 file;\n"
	"its first line; scrypt with the salt the store keeps in index/key_params.json). Not both.\n"
	"Exit status: 0 success, 1 failure, 2 usage or configuration error.\n";

static const char usage_backup[] =
	"usage: cassette [--config FILE] backup-node [--backup-name NAME] [--mode differential|full]\n"
	"                [--keep-snapshot] [--verify-hashes] [--snapshot-only | --use-snapshot]\n"
	"\n"
	"Snapshots every table under [cassandra] data_dir, encrypts each new or changed file\n"
	"chunk by chunk into encryption_tmp_dir (compressing each chunk with zstd where it pays,\n"
	"as [storage] compression = auto|zstd|none says), stores it, and writes the backup's\n"
	"manifest.\n"
	"Rerun with the name of a backup that was interrupted or killed, and it resumes: objects\n"
	"already stored whole are kept, the killed run's leftovers cleared. A finished name is\n"
	"refused. meta/schema.cql is the whole schema from [cassandra] cqlsh_cmd -e 'DESCRIBE\n"
	"SCHEMA' (nodetool mode, or hardlink mode with cqlsh_cmd set), or the snapshot's\n"
	"per-table schema.cql files with a warning when cqlsh fails.\n"
	"  --backup-name NAME  backup name (default: UTC time, YYYYMMDDHHMMSS)\n"
	"  --mode MODE         differential (default): files whose size and MD5 match this\n"
	"                      node's earlier manifests are referenced, not stored again,\n"
	"                      if one listing of the pool shows their object whole (a file\n"
	"                      whose object is missing, resized or recorded damaged by\n"
	"                      verify is stored again, with a warning); an unreadable\n"
	"                      manifest is skipped with a warning and flagged damaged;\n"
	"                      full: every file is stored again under the backup's folder\n"
	"  --keep-snapshot     leave the snapshot on disk afterwards\n"
	"  --verify-hashes     ignore the hash cache ([storage] state_dir): re-read and hash\n"
	"                      every file, and refresh the cache\n"
	"  --snapshot-only     take the snapshot (cassette-NAME) and stop, leaving it on disk;\n"
	"                      backup-cluster's first phase. Needs --backup-name. A snapshot\n"
	"                      of that name left by an earlier run is replaced\n"
	"  --use-snapshot      back up the snapshot that --snapshot-only took for NAME instead\n"
	"                      of taking one (backup-cluster's second phase), then clear it\n";

static const char usage_list[] =
	"usage: cassette [--config FILE] list-backups [--output text|json] [--show-all]\n"
	"\n"
	"Lists backups from two listings of the storage index (backups; and the counts,\n"
	"cluster markers and flags).\n"
	"Needs no key and reads no data object; a backup written by Medusa has no counts\n"
	"in the index, so its index copy of the manifest is read (json: \"medusa\": true).\n"
	"A backup whose manifest was found unreadable shows 'damaged' in the CLUSTER\n"
	"column (json: \"damaged\": true).\n"
	"  --output FORMAT  text (default) or json\n"
	"  --show-all       backups of every node, not only this node's\n";

static const char usage_restore[] =
	"usage: cassette [--config FILE] [--fqdn SOURCE] restore-node --backup-name NAME\n"
	"                (--target-dir DIR | --in-place) [--keyspace KS]... [--table TABLE]...\n"
	"                [--allow-unauthenticated]\n"
	"\n"
	"Restores the files of a backup of node SOURCE (default: this node; --fqdn names\n"
	"another). Every file is verified against the manifest (AEAD tags bound to its\n"
	"identity and salt, sizes; MD5 for unencrypted objects) before it is renamed into\n"
	"place. Medusa's encrypted objects (its client-side encryption: Fernet chunks)\n"
	"are decrypted with [storage] key_secret_base64 and proven by MD5 and size.\n"
	"A Medusa object known only by its S3 multipart ETag (no source_MD5) is proven\n"
	"by recomputing that ETag over a few candidate part sizes in the one read.\n"
	"Files are fetched in parallel, largest first. With a key configured, the\n"
	"manifest (and in place the tokenmap) must first pass the MAC of the backup's\n"
	"meta/auth.json, bound to the backup's name and node: a changed, moved or\n"
	"unauthenticated manifest is refused before anything is written.\n"
	"  --backup-name NAME  the backup to restore\n"
	"  --target-dir DIR    write DIR/<keyspace>/<table>-<id>/ (DIR is created if\n"
	"                      missing). Existing files are never overwritten; on failure\n"
	"                      no file is left.\n"
	"  --in-place          replace the tables of [cassandra] data_dir, Cassandra stopped:\n"
	"                      checks everything first, runs stop_cmd, then restores table\n"
	"                      by table (downloaded beside the table, then swapped in; the\n"
	"                      table's snapshots/ and backups/ are kept, tables not in the\n"
	"                      backup are left alone), then runs start_cmd. A failure puts\n"
	"                      the failing table back as it was, stops, and leaves\n"
	"                      Cassandra stopped. Files get data_dir's owner, mode 0644\n"
	"                      (directories 0755). From another node's backup (--fqdn\n"
	"                      SOURCE): its tokens go into config_file (initial_token,\n"
	"                      num_tokens, auto_bootstrap: false; the original is kept\n"
	"                      beside it), and the node-local system keyspace is not\n"
	"                      restored (system_schema, system_auth... are).\n"
	"  --keyspace KS       only this keyspace; repeat for more\n"
	"  --table TABLE       only this table; repeat for more. KS.NAME[-<id>] names one\n"
	"                      table; a bare NAME or NAME-<id> is looked for in the\n"
	"                      --keyspace given (in every keyspace without one)\n"
	"  --allow-unauthenticated  restore a backup that has no meta/auth.json (Medusa's,\n"
	"                      or cassette's before it wrote one), with one warning; a\n"
	"                      wrong MAC is refused all the same\n"
	"--target-dir and --in-place exclude each other; one of them is required.\n";

static const char usage_backup_cluster[] =
	"usage: cassette [--config FILE] backup-cluster [--backup-name NAME] [--mode differential|full]\n"
	"                [--parallel-snapshots N] [--parallel-uploads N]\n"
	"\n"
	"Backs up every node of the cluster under one name. The nodes are the ones this host's\n"
	"nodetool (ring, status) lists, named as in tokenmap.json. Phase 1 runs 'backup-node\n"
	"--snapshot-only' on every node, so the snapshots are close together in time; phase 2\n"
	"runs 'backup-node --use-snapshot' on each node whose snapshot was taken. Each node's\n"
	"command runs through [ssh] remote_command with [ssh] cassette_cmd, and its output goes\n"
	"to <encryption_tmp_dir>/cassette-cluster-NAME/<node>.{snapshot,backup}.log. A node\n"
	"that fails does not stop the others. Prints one line per node; exit 1 if any failed.\n"
	"  --backup-name NAME      backup name (default: UTC time, YYYYMMDDHHMMSS)\n"
	"  --mode MODE             differential (default) or full, for every node\n"
	"  --parallel-snapshots N  nodes snapshotted at once (default: all)\n"
	"  --parallel-uploads N    nodes backed up at once (default: 1)\n";

static const char usage_restore_cluster[] =
	"usage: cassette [--config FILE] restore-cluster --backup-name NAME [--host-list FILE]\n"
	"                [--keyspace KS]... [--table TABLE]... [--allow-incomplete] [--dry-run]\n"
	"                [--allow-unauthenticated]\n"
	"\n"
	"Restores every node of a cluster backup. Each target runs 'restore-node --in-place\n"
	"--fqdn SOURCE' through [ssh] remote_command: it checks the backup and the key, runs\n"
	"[cassandra] stop_cmd, swaps the tables in one by one, sets the source's tokens in\n"
	"cassandra.yaml when the host changes, and runs start_cmd. Seeds are restored (and\n"
	"started) first, then the others. The whole plan is checked before any node is\n"
	"touched. Output of each target: <encryption_tmp_dir>/cassette-cluster-NAME/<target>.\n"
	"restore.log. Prints one line per target; exit 1 naming those that failed.\n"
	"  --backup-name NAME  the backup (refused unless every node finished it)\n"
	"  --host-list FILE    Medusa's format, one line per target: is_seed,target,source\n"
	"                      (True,10.0.0.5,node3). Every source node maps to exactly one\n"
	"                      target. Without it: in place, each node onto the host of its name\n"
	"  --keyspace KS       only this keyspace; repeat for more\n"
	"  --table TABLE       only this table (KS.NAME, or as for restore-node); repeat\n"
	"  --allow-incomplete  restore the nodes that finished an incomplete backup\n"
	"  --dry-run           print the plan and stop\n"
	"  --allow-unauthenticated  plan with a tokenmap that no meta/auth.json\n"
	"                      authenticates, and pass the flag on to each restore-node\n"
	"With a key configured, the tokenmap the plan is made from must pass the MAC of its\n"
	"node's meta/auth.json; each target's restore-node checks its own manifest.\n";

static const char usage_status[] =
	"usage: cassette [--config FILE] status --backup-name NAME [--output text|json]\n"
	"\n"
	"Shows, for every node of the backup's cluster (its tokenmap), whether it finished,\n"
	"only started (or failed), or is missing, with its files and size. A backup is complete\n"
	"only when every node in its tokenmap finished. Needs no key and reads no data object\n"
	"(a node's backup written by Medusa: its index copy of the manifest, for the counts).\n"
	"  --output FORMAT  text (default) or json: {\"name\", \"complete\", \"nodes\": [{\"fqdn\",\n"
	"                   \"state\": finished|started|missing, \"files\", \"size\", \"started\",\n"
	"                   \"finished\", \"medusa\"}]}\n";

static const char usage_last_complete[] =
	"usage: cassette [--config FILE] get-last-complete-cluster-backup\n"
	"\n"
	"Prints the name of the newest backup that every node of its cluster finished. Exit 1\n"
	"when there is none. Needs no key.\n";

static const char usage_fetch_tokenmap[] =
	"usage: cassette [--config FILE] [--fqdn NAME] fetch-tokenmap --backup-name NAME\n"
	"\n"
	"Prints the tokenmap.json of this node's backup NAME (of node NAME with --fqdn): every\n"
	"node of the cluster when the backup ran, with its tokens, rack, data center and\n"
	"whether it was up. Needs no key and reads no data object.\n"
	"  --backup-name NAME  the backup\n";

static const char usage_verify[] =
	"usage: cassette [--config FILE] [--fqdn NAME] verify --backup-name NAME [--deep]\n"
	"                [--sample PERCENT] [--output text|json] [--allow-unauthenticated]\n"
	"\n"
	"Checks that backup NAME of this node (of node NAME with --fqdn) is still whole.\n"
	"Without a key: every object its manifest references exists with the recorded size\n"
	"(one listing of the node's pool and one of the backup's own folder), its ETag\n"
	"equals the manifest's MD5 where the store reports one (S3), and an encrypted\n"
	"object's 64-byte header holds the manifest's key id and salt and a segment size\n"
	"that gives the stored size, and its data key is still in the store.\n"
	"  --backup-name NAME  the backup to check\n"
	"  --deep              also read every object, decrypt it with the key as a restore\n"
	"                      does (Medusa's encrypted ones with key_secret_base64), and\n"
	"                      compare its plaintext MD5 and size with the manifest's\n"
	"                      source_MD5 and source_size (a Medusa object without\n"
	"                      source_MD5: its multipart ETag, recomputed)\n"
	"  --sample PERCENT    the --deep check for a random PERCENT (1 to 100) of each\n"
	"                      table's files, at least one per table; the rest get the\n"
	"                      checks without the key\n"
	"  --allow-unauthenticated  with --deep or --sample: check a backup that has no\n"
	"                      meta/auth.json, with one warning (else refused)\n"
	"  --output FORMAT     text (default) or json: {\"backup\", \"node\", \"ok\", \"manifest\",\n"
	"                      \"files\", \"checked\": {...}, \"bad\": [{\"file\", \"object\",\n"
	"                      \"problem\", \"detail\", ...}]}\n"
	"Each bad file is named (keyspace.table/file and its object) with why: missing,\n"
	"wrong size, wrong MD5, wrong key id, bad header, fails authentication, wrong\n"
	"source size, wrong source MD5 or data key missing. Each bad object is recorded under\n"
	"<prefix>/index/damaged_objects/<fqdn>/, so the next differential backup stores the\n"
	"file again. An unreadable manifest fails and flags the backup damaged in its index.\n"
	"With --deep or --sample and a key, the manifest must first pass the MAC of the\n"
	"backup's meta/auth.json: a changed, moved or unauthenticated manifest fails (exit 1)\n"
	"before anything is checked or recorded.\n"
	"Takes no lock. With [monitoring] prometheus_textfile, the run's result goes to\n"
	"cassette_last_verify_success. Exit 0 only when every file checked is sound.\n";

static const char usage_report[] =
	"usage: cassette [--config FILE] [--fqdn NAME] report-last-backup [--prometheus PATH]\n"
	"                [--output text|json]\n"
	"\n"
	"Prints this node's last finished backup and, where one exists, the last backup\n"
	"that every node of its cluster finished: name, finish time, age in seconds, files\n"
	"and bytes. Warns when the node's last backup holds less than half the bytes of\n"
	"the one before it. One listing of the index; needs no key. Exit 1 when the node\n"
	"has no finished backup or its last one is older than [monitoring]\n"
	"max_backup_age_hours (default 26; 0 = no limit).\n"
	"  --prometheus PATH  also write the metrics file that [monitoring]\n"
	"                     prometheus_textfile names (atomically) to PATH\n"
	"  --output FORMAT    text (default) or json: {\"node\", \"max_backup_age_hours\", \"ok\",\n"
	"                     \"last_backup\": {\"name\", \"finished\", \"age_seconds\", \"files\",\n"
	"                     \"bytes\", \"shrunk\", ...} or null, \"last_cluster_backup\": {...} or null}\n";

static const char usage_keygen[] =
	"usage: cassette keygen [--output FILE | --add-to KEYRING]\n"
	"       cassette [--fqdn NAME] keygen --recipient | --node-signing --output FILE\n"
	"\n"
	"Writes a new random 256-bit key as one line of base64.\n"
	"  --output FILE    create FILE, mode 0600, and write the key there; an existing FILE\n"
	"                   is never replaced\n"
	"  --add-to KEYRING append a new key to a keyring (or to a key file, which becomes\n"
	"                   one) as its newest: '<key id> <key>' lines; the file is replaced\n"
	"                   atomically, mode 0600. Then copy it to every host and run\n"
	"                   rotate-key.\n"
	"Public-key mode (README, docs/FORMAT.md): nodes back up with a recipient's public key\n"
	"and cannot read their backups; only the holder of its private key restores.\n"
	"  --recipient      an X25519 key pair: FILE (0600, 'x25519-private <key>': a line of\n"
	"                   the restoring hosts' keyring) and FILE.pub (for the nodes'\n"
	"                   [storage] recipient_public_key_file)\n"
	"  --node-signing   a node's Ed25519 signing key: FILE (0600, the node's [storage]\n"
	"                   node_signing_key_file) and FILE.pub ('ed25519-public <fqdn> <key>',\n"
	"                   to pin in the restoring hosts' keyring); the node name is --fqdn,\n"
	"                   else the host name\n"
	"Without --output the key goes to standard output: a regular file there is made mode\n"
	"0600 first; for a terminal or a pipe (keygen | ...) a warning says that the mode of\n"
	"wherever the key ends up is yours to set. Keep a copy of the key somewhere safe:\n"
	"without it no backup can be restored.\n";

static const char usage_rotate[] =
	"usage: cassette [--config FILE] rotate-key [--reencrypt] [--dry-run]\n"
	"\n"
	"Master keys only wrap data keys; the data keys encrypt. rotate-key wraps every\n"
	"node's data keys in the store under the newest key of the keyring (key_secret_file\n"
	"or $CASSETTE_KEY_FILE), reads each new wrap back, then deletes the wraps under\n"
	"other keys; no data object is read or written, and the next differential backup\n"
	"still reuses every unchanged file. A master key that encrypts version-1 backups\n"
	"(before envelope keys) directly becomes a data key of those nodes. Afterwards the\n"
	"keyring's other keys can leave it, and every backup still restores.\n"
	"  --reencrypt  for a leaked key: also a new data key for every node, so its next\n"
	"               backup stores every file again; the backups that still use older\n"
	"               data keys are listed (on every run) until purge removes them\n"
	"  --dry-run    print what would change, change nothing\n"
	"Exit 1 when a data key could not be unwrapped with any key of the keyring (its\n"
	"wraps are kept).\n";

static const char usage_encrypt[] =
	"usage: cassette [--config FILE] encrypt --label NAME < IN > OUT\n"
	"       cassette [--config FILE] decrypt --label NAME < IN > OUT\n"
	"\n"
	"Encrypts standard input to standard output in the object format of docs/FORMAT.md\n"
	"(AES-256-GCM in segments of encryption_segment_size, default 1 MiB, each compressed\n"
	"with zstd as [storage] compression says: auto, the default also without a config,\n"
	"when it saves 5%; zstd; none), bound to the label: decrypt needs the same label, and refuses a stream that was cut, altered or made\n"
	"with another label or key, exit 1. It writes only segments whose tag verified; after a\n"
	"failure, what it wrote is not to be used. 'inspect' reads the header without a key.\n"
	"The key: $CASSETTE_KEY_FILE, else [storage] key_secret_file of the config (which may\n"
	"then be missing when $CASSETTE_KEY_FILE is set). Or a passphrase: $CASSETTE_PASSPHRASE_FILE,\n"
	"else [storage] key_passphrase_file; its key parameters are in the store, so it needs the\n"
	"config (encrypt creates them when the store has none).\n"
	"  --label NAME  1 to 255 bytes, no control characters (a dump's name and date)\n";

static const char usage_inspect[] =
	"usage: cassette inspect FILE\n"
	"\n"
	"Prints an encrypted object's header: format version, key id, segment size, salt and\n"
	"sizes. Needs no key.\n";

static const char usage_purge[] =
	"usage: cassette [--config FILE] [--fqdn NAME] purge [--dry-run]\n"
	"\n"
	"Removes this node's backups that [storage] max_backup_age (days since the backup\n"
	"finished) or max_backup_count (the newest N finished backups are kept) rule out; 0,\n"
	"the default, is no limit. The newest finished backup not marked damaged is always\n"
	"kept. A backup that started but never finished, longer ago than\n"
	"backup_grace_period_in_days (default 10), is abandoned and removed too. Then it\n"
	"deletes this node's stored objects that no remaining backup references, once they\n"
	"are older than backup_grace_period_in_days, so a backup running meanwhile keeps its\n"
	"own. A removal that was interrupted is finished first. While a remaining backup's\n"
	"manifest cannot be read, no object is deleted (a warning names the backup: delete it\n"
	"with delete-backup). Holds the node's lock. Prints what it removed: backups,\n"
	"objects, bytes. Needs no key.\n"
	"  --dry-run  print the same report, delete nothing\n";

static const char usage_delete_backup[] =
	"usage: cassette [--config FILE] [--fqdn NAME] delete-backup --backup-name NAME\n"
	"                [--all-nodes] [--dry-run]\n"
	"\n"
	"Removes backup NAME of this node (finished, unfinished, or with a damaged manifest),\n"
	"then deletes the objects of the node that no remaining backup references and that\n"
	"are older than [storage] backup_grace_period_in_days (default 10). A removal that was\n"
	"interrupted is finished first. Holds the node's lock. Needs no key. An unknown name is\n"
	"an error.\n"
	"  --backup-name NAME  the backup\n"
	"  --all-nodes         every node's backup NAME, each under its node's lock on this\n"
	"                      host, and the objects of each of those nodes\n"
	"  --dry-run           print the same report, delete nothing\n";

const char *cli_help_for(const char *cmd)
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
	if (strcmp(cmd, "backup-cluster") == 0)
		return usage_backup_cluster;
	if (strcmp(cmd, "status") == 0)
		return usage_status;
	if (strcmp(cmd, "restore-cluster") == 0)
		return usage_restore_cluster;
	if (strcmp(cmd, "get-last-complete-cluster-backup") == 0)
		return usage_last_complete;
	if (strcmp(cmd, "inspect") == 0)
		return usage_inspect;
	if (strcmp(cmd, "encrypt") == 0 || strcmp(cmd, "decrypt") == 0)
		return usage_encrypt;
	if (strcmp(cmd, "verify") == 0)
		return usage_verify;
	if (strcmp(cmd, "report-last-backup") == 0)
		return usage_report;
	if (strcmp(cmd, "purge") == 0)
		return usage_purge;
	if (strcmp(cmd, "delete-backup") == 0)
		return usage_delete_backup;
	if (strcmp(cmd, "rotate-key") == 0)
		return usage_rotate;
	return NULL;
}
