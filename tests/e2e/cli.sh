#!/usr/bin/env bash
# The command line and the config file: help that tells the truth, and one
# clear line plus exit 2 for every kind of bad usage or bad configuration.
. "$(dirname "$0")/lib.sh"

run 0 "$CASSETTE" --help
for c in keygen backup-node list-backups restore-node inspect backup-cluster restore-cluster status \
	get-last-complete-cluster-backup fetch-tokenmap; do out_has "$c"; done
out_has "--config FILE"; out_has "CASSETTE_KEY_FILE"
for c in backup-node list-backups restore-node keygen inspect backup-cluster restore-cluster status \
	get-last-complete-cluster-backup; do
	run 0 "$CASSETTE" "$c" --help; out_has "usage: cassette"
done
run 0 "$CASSETTE" backup-node --help; out_has "--backup-name"; out_has "--mode"; out_has "--keep-snapshot"
run 0 "$CASSETTE" list-backups --help; out_has "--output"; out_has "--show-all"
run 0 "$CASSETTE" restore-node --help; out_has "--target-dir"; out_has "--keyspace"; out_has "--table"
out_has "--in-place"; out_has "stop_cmd"; out_has "start_cmd"; out_has "repeat for more"
run 0 "$CASSETTE" backup-node --help; out_has "--snapshot-only"; out_has "--use-snapshot"
run 0 "$CASSETTE" backup-cluster --help; out_has "--parallel-snapshots"; out_has "--parallel-uploads"
out_has "remote_command"; out_has "cassette_cmd"
run 0 "$CASSETTE" restore-cluster --help; out_has "--host-list"; out_has "is_seed,target,source"
out_has "--allow-incomplete"; out_has "--dry-run"; out_has "restore-node --in-place"
run 0 "$CASSETTE" status --help; out_has "--output"; out_has "missing"
run 0 "$CASSETTE" --version; out_has "cassette "
ok "--help and --version"

run 2 "$CASSETTE"; err_has "usage:"
run 2 "$CASSETTE" frobnicate; err_has "unknown command 'frobnicate'"
run 2 "$CASSETTE" list-backups --bogus; err_has "--bogus"
run 2 "$CASSETTE" list-backups --backup-name x; err_has "does not apply"
run 2 "$CASSETTE" restore-node --backup-name x; err_has "--target-dir DIR or --in-place"
run 2 "$CASSETTE" restore-node --backup-name x --in-place --target-dir /tmp/x; err_has "exclude each other"
run 2 "$CASSETTE" restore-node --target-dir /tmp/x; err_has "--backup-name"
run 2 "$CASSETTE" backup-node --mode sometimes; err_has "--mode"
run 2 "$CASSETTE" list-backups --output xml; err_has "--output"
run 2 "$CASSETTE" backup-node --snapshot-only; err_has "--snapshot-only needs --backup-name"
run 2 "$CASSETTE" backup-node --use-snapshot --snapshot-only --backup-name x; err_has "do not go together"
run 2 "$CASSETTE" backup-cluster --parallel-uploads 0; err_has "--parallel-uploads must be"
run 2 "$CASSETTE" backup-cluster --parallel-snapshots x; err_has "--parallel-snapshots must be"
run 2 "$CASSETTE" backup-cluster --target-dir x; err_has "does not apply"
run 2 "$CASSETTE" restore-cluster --dry-run; err_has "restore-cluster needs --backup-name"
run 2 "$CASSETTE" status; err_has "status needs --backup-name"
run 2 "$CASSETTE" status --backup-name x --output xml; err_has "--output"
run 2 "$CASSETTE" inspect; err_has "FILE"
run 2 "$CASSETTE" keygen --key abc; err_has "does not apply"
ok "usage errors exit 2 with a clear message"

# inspect on a file that is no cassette object: its error once, whole
head -c 200 /dev/urandom > "$W/not-ours"
printf 'not ours' | dd of="$W/not-ours" conv=notrunc status=none
run 1 "$CASSETTE" inspect "$W/not-ours"
one_line_err; err_has "$W/not-ours: not a cassette object: bad magic"
[ "$(grep -o 'not a cassette' "$W/err" | wc -l)" = 1 ] || fail "inspect repeats its error: $(cat "$W/err")"
ok "inspect of a non-cassette file prints one whole error line"

CFG=$W/missing.ini
cas 2 list-backups; err_has "$W/missing.ini"; one_line_err
CASSETTE_CONFIG=$W/missing-env.ini run 2 "$CASSETTE" list-backups; err_has "missing-env.ini"
bad() { # bad EXPECTED-MESSAGE LINES... : a config with these lines must be refused
	local msg=$1; shift
	printf '%s\n' "$@" > "$W/bad.ini"
	run 2 "$CASSETTE" --config "$W/bad.ini" list-backups
	err_has "$msg"; one_line_err
}
bad "bad.ini:2: unknown option 'base_pth'" "[storage]" "base_pth = /x"
bad "unknown section [stroage]" "[stroage]" "base_path = /x"
bad "base_path is required" "[storage]" "fqdn = n1"
bad "storage_provider 'ftp' is not supported" "[storage]" "storage_provider = ftp" "base_path = /x"
bad "snapshot_mode must be" "[cassandra]" "snapshot_mode = magic" "[storage]" "base_path = /x"
bad "bad.ini:4: unknown option 'hosts' in [ssh]" "[storage]" "base_path = /x" "[ssh]" "hosts = a,b"
bad "bad.ini:4: port must be a whole number" "[storage]" "base_path = /x" "[ssh]" "port = 0"
bad "resolve_ip_addresses must be true or false" "[cassandra]" "resolve_ip_addresses = maybe" "[storage]" "base_path = /x"
bad "[ssh] cassette_cmd is empty" "[storage]" "base_path = /x" "[ssh]" "cassette_cmd ="
bad "encryption must be" "[storage]" "base_path = /x" "encryption = rot13"
bad "encryption_segment_size" "[storage]" "base_path = /x" "encryption_segment_size = 1000"
bad "given twice" "[storage]" "base_path = /x" "   fqdn = indented"
bad "fqdn 'bad/name' is not a valid" "[storage]" "base_path = /x" "fqdn = bad/name"
bad "prefix" "[storage]" "base_path = /x" "prefix = a/../b"
bad "longer than 198" "[storage]" "base_path = /$(printf 'x%.0s' $(seq 1 250))"
bad "bad.ini:1: syntax error" "this is not ini"
bad "bucket_name is required for storage_provider = s3" "[storage]" "storage_provider = s3"
bad "secure must be true or false" "[storage]" "base_path = /x" "secure = maybe"
bad "transfer_max_bandwidth must be a rate" "[storage]" "base_path = /x" "transfer_max_bandwidth = fast"
bad "multi_part_upload_threshold must be a size" "[storage]" "base_path = /x" "multi_part_upload_threshold = 5 parsecs"
bad "concurrent_transfers must be a whole number" "[storage]" "base_path = /x" "concurrent_transfers = 0"
bad "addressing_style must be" "[storage]" "base_path = /x" "addressing_style = sideways"
bad "host 'http://h' must be a host name" "[storage]" "storage_provider = s3" "bucket_name = b" "host = http://h"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_PROFILE || true
bad "no S3 credentials" "[storage]" "storage_provider = s3" "bucket_name = b"
printf '[default]\naws_access_key_id = AKID\naws_secret_access_key = SECRET\n' > "$W/creds"
chmod 644 "$W/creds"
bad "key_file $W/creds is readable by group or others" "[storage]" "storage_provider = s3" "bucket_name = b" "key_file = $W/creds"
chmod 600 "$W/creds"
printf '[other]\naws_access_key_id = AKID\n' > "$W/creds2"; chmod 600 "$W/creds2"
bad "profile [default] lacks" "[storage]" "storage_provider = s3" "bucket_name = b" "key_file = $W/creds2"
ok "bad config files are refused with file, line and option named"

mkdir -p "$W/data"
printf '%s\n' "[cassandra]" "data_dir = $W/data" "snapshot_mode = hardlink" "[storage]" "base_path = $W/store" \
	"fqdn = n1" "encryption = none" "encryption_tmp_dir = $W/tmp" "state_dir = $W/state" > "$W/ok.ini"
CFG=$W/ok.ini
cas 1 list-backups; err_has "$W/store (base_path) does not exist"
[ ! -e "$W/store" ] || fail "list-backups created the storage directory"
mkdir "$W/store"
cas 0 list-backups; out_has "no backups of node n1"
run 2 "$CASSETTE" --config "$CFG" --fqdn 'x y' list-backups; err_has "--fqdn"
cas 2 backup-node --backup-name ../etc; err_has "--backup-name '../etc' is not valid"
cas 2 backup-node --backup-name data; err_has "not 'data' or 'index'"
printf '%s\n' "[cassandra]" "data_dir = $W/nowhere" "[storage]" "base_path = $W/store" "encryption = none" > "$W/nodata.ini"
run 2 "$CASSETTE" --config "$W/nodata.ini" backup-node; err_has "data_dir $W/nowhere"
ok "bad names and a missing data_dir are refused before any work"

mkdir -p "$W/data/ks/t-0123456789abcdef0123456789abcdef" && echo hi > "$W/data/ks/t-0123456789abcdef0123456789abcdef/nb-1-big-Data.db"
cas 0 backup-node --fqdn other-node --backup-name x1
[ -d "$W/store/other-node/x1/meta" ] || fail "--fqdn did not override the config"
cas 0 list-backups; out_has "no backups of node n1"
cas 0 list-backups --show-all; out_has "x1"; out_has "1/1"
cas 0 list-backups --fqdn other-node; out_has "x1"
cas 0 restore-node --backup-name x1 --target-dir "$W/r" --fqdn other-node
cmp "$W/r/ks/t-0123456789abcdef0123456789abcdef/nb-1-big-Data.db" "$W/data/ks/t-0123456789abcdef0123456789abcdef/nb-1-big-Data.db"
ok "--fqdn selects the node for backup, listing and restore; options work after the command"

# cassandra.yaml naming a data directory that data_dir is not: its SSTables would be missing
mkdir -p "$W/disk2/ks/t-0123456789abcdef0123456789abcdef"
printf '%s\n' "cluster_name: c" "data_file_directories:" "    - $W/data" "    - $W/disk2" > "$W/cassandra.yaml"
cp "$CFG" "$W/yaml.ini" && sed -i "s|^\[cassandra\]|[cassandra]\nconfig_file = $W/cassandra.yaml|" "$W/yaml.ini"
run 1 "$CASSETTE" --config "$W/yaml.ini" backup-node --backup-name y1
err_has "lists 2 data_file_directories, and $W/disk2 is not [cassandra] data_dir $W/data"
[ ! -e "$W/store/n1/y1" ] || fail "a refused backup stored something"
printf '%s\n' "cluster_name: c" "data_file_directories:" "    - $W/data" > "$W/cassandra.yaml"
run 0 "$CASSETTE" --config "$W/yaml.ini" backup-node --backup-name y1
ok "a data_file_directories entry that data_dir is not refuses the backup (control: data_dir alone backs up)"

# a second concurrent backup of the same node is refused
exec 9>"$W/tmp/cassette-n1.lock"
flock -n 9
echo "$$ backup-node" >&9
cas 1 backup-node --backup-name x2; err_has "node n1 is busy: backup-node (pid $$) holds"
cas 1 restore-node --backup-name x1 --target-dir "$W/r2"; err_has "node n1 is busy: backup-node (pid $$)"
exec 9>&-
# the words of a holder that died (its flock went with it): taken over
echo "999999999 backup-node" > "$W/tmp/cassette-n1.lock"
cas 0 backup-node --backup-name x2; err_has "taking over the stale lock"; err_has "pid 999999999"
[ ! -s "$W/tmp/cassette-n1.lock" ] || fail "the lock file still names a holder after the run"
ok "one command per node at a time; a live holder is named, a dead one's lock taken over"
# transfer_max_bandwidth reaches the storage layer: 3 MiB at 2MB/s cannot
# take less than ~1.5 s (a lower bound only: a slow machine cannot fail it)
mkdir -p "$W/bw/ks/t-0123456789abcdef0123456789abcdef"
head -c $((3 * 1024 * 1024)) /dev/urandom > "$W/bw/ks/t-0123456789abcdef0123456789abcdef/nb-1-big-Data.db"
printf '%s\n' "[cassandra]" "data_dir = $W/bw" "snapshot_mode = hardlink" "[storage]" "base_path = $W/bwstore" \
	"fqdn = n1" "encryption = none" "encryption_tmp_dir = $W/tmp" "state_dir = $W/state" "transfer_max_bandwidth = 2MB/s" > "$W/bw.ini"
t0=$(date +%s%N)
run 0 "$CASSETTE" --config "$W/bw.ini" backup-node --backup-name slow
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$ms" -ge 1200 ] || fail "3 MiB at 2MB/s took only ${ms} ms: the cap is not applied"
ok "transfer_max_bandwidth caps the agent's transfers (${ms} ms for 3 MiB at 2MB/s)"

# nodetool snapshot says yes, but Cassandra snapshotted no table of data_dir
# (nodetool reached another node): no empty backup "succeeds"
python3 "$SRC/tests/e2e/gen_node.py" "$W/nt-data" 16 2 >/dev/null
write_config "$W/nt.ini" "$W/nt-data" "$W/nt-store" "encryption = none"
mkdir -p "$W/nt-store"
FAKE_NODETOOL_UNKNOWN='*' run 1 "$CASSETTE" --config "$W/nt.ini" backup-node --backup-name nt1
err_has "nodetool snapshot -t cassette-nt1 succeeded, but no table under [cassandra] data_dir $W/nt-data has snapshots/cassette-nt1/"
run 0 "$CASSETTE" --config "$W/nt.ini" list-backups; out_has "no backups of node"
# one table left out (Cassandra does not know it): the backup runs, and says so
FAKE_NODETOOL_UNKNOWN='ks0/t1-*' run 0 "$CASSETTE" --config "$W/nt.ini" backup-node --backup-name nt2
err_has "warning: 1 table directory under data_dir holds SSTables that Cassandra did not snapshot (ks0.t1-"
run 0 "$CASSETTE" --config "$W/nt.ini" backup-node --backup-name nt3
grep -q "did not snapshot" "$W/err" && fail "a full snapshot warned of a table left out"
ok "a snapshot that holds no table of data_dir fails the backup; one table left out is named"

# conf/cassette.ini stays true to the code: it parses, with every commented
# option switched on too.
sed -e "s|/var/lib/cassandra/data|$W/data|; s|/var/backups/cassandra|$W/conf-store|" \
    -e "s|/var/tmp/cassette|$W/conf-tmp|; s|^;\([a-z_]* =\)|\1|" "$SRC/conf/cassette.ini" > "$W/example.ini"
[ "$(grep -c '^[a-z_]* =' "$W/example.ini")" -ge 12 ] || fail "the example config lost options"
mkdir -p "$W/conf-store/cassandra-backups"
chmod 600 "$W/example.ini"   # it holds cql_password: refused when others can read it
run 0 "$CASSETTE" --config "$W/example.ini" list-backups
out_has "no backups of node cass-node-1.example.com"
ok "conf/cassette.ini parses with every option set"
echo "all $CHECKS checks passed"
