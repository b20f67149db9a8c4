#!/usr/bin/env bash
# A medusa.ini as the config (issue 13): a full file in Medusa's example
# layout, plus the lines cassette needs (data_dir, nodetool_cmd, state). The
# keys cassette shares take effect (the store path, the retention, the
# addressing style), each Medusa-only key warns once on stderr (stdout stays
# JSON), a typo is refused naming it, and key_secret_base64 (Medusa's
# encryption key) is accepted only in a file that is not readable by others.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS AWS_PROFILE

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
for c in Data Index Summary Filter; do head -c 5000 /dev/urandom > "$D/ks1/$T1/nb-1-big-$c.db"; done
echo node1.example dc1 rack1 up -4611686018427387904,4611686018427387904 > "$W/cluster"
FERNET_KEY=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_')

# medusa_ini FILE [storage lines...]: Medusa's medusa-example.ini, filled in
medusa_ini() {
	local file=$1; shift
	cat > "$file" <<INI
; Copyright 2019 Spotify AB. All rights reserved. (layout of medusa-example.ini)
[cassandra]
stop_cmd = /etc/init.d/cassandra stop
start_cmd = /etc/init.d/cassandra start
config_file = $W/cassandra.yaml
cql_username = cassandra
cql_password = cassandra
nodetool_username = admin
nodetool_password = secret
nodetool_host = 127.0.0.1
nodetool_port = 7199
certfile = /etc/medusa/rootCa.crt
sstableloader_bin = /usr/bin/sstableloader
nodetool_ssl = false
check_running = nodetool version
resolve_ip_addresses = False
use_sudo = False
; cassette's own
data_dir = $D
nodetool_cmd = $FAKE_NODETOOL --cluster $W/cluster $D

[storage]
storage_provider = local
storage_class = STANDARD
bucket_name = cassandra_backups
key_file = /etc/medusa/credentials
base_path = $W/store
prefix = clusterA
fqdn = node1.example
max_backup_age = 0
max_backup_count = 1
transfer_max_bandwidth = 50MB/s
concurrent_transfers = 1
multi_part_upload_threshold = 20971520
backup_grace_period_in_days = 10
use_sudo_for_restore = True
api_profile = default
secure = True
s3_addressing_style = auto
aws_cli_path = aws
read_timeout = 60
k8s_mode = False
; cassette's own
encryption = none
state_dir = $W/state
encryption_tmp_dir = $W/enctmp
$(for l in "$@"; do echo "$l"; done)

[monitoring]
monitoring_provider = local

[ssh]
username = cassandra
key_file = $W/id_rsa
port = 22
cert_file = $W/id_rsa-cert.pub

[checks]
health_check = cql
query = SELECT * FROM ks1.t1 LIMIT 1
expected_rows = 1
expected_result = 1
enable_md5_checks = false

[logging]
enabled = 0
file = medusa.log
level = INFO
format = [%(asctime)s] %(levelname)s: %(message)s
maxBytes = 20000000
backupCount = 50

[grpc]
enabled = False

[kubernetes]
enabled = False
cassandra_url = http://127.0.0.1:8080/api/v0/ops/node/snapshots
use_mgmt_api = True
INI
	chmod 600 "$file"
}
# the Medusa-only keys of that file: one warning each
NOEFFECT="cassandra:check_running cassandra:sstableloader_bin
cassandra:nodetool_username cassandra:nodetool_password cassandra:nodetool_host cassandra:nodetool_port
cassandra:nodetool_ssl cassandra:certfile cassandra:use_sudo storage:api_profile storage:aws_cli_path
storage:storage_class storage:use_sudo_for_restore storage:k8s_mode storage:read_timeout
ssh:cert_file checks:health_check checks:query checks:expected_rows checks:expected_result
checks:enable_md5_checks monitoring:monitoring_provider logging:enabled logging:file logging:format
logging:level logging:maxBytes logging:backupCount grpc:enabled kubernetes:enabled
kubernetes:cassandra_url kubernetes:use_mgmt_api"
NWARN=$(echo $NOEFFECT | wc -w)
CFG=$W/medusa.ini
medusa_ini "$CFG"
# every warning names the file, its key, and says it has no effect
check_warnings() {
	local sk n
	for sk in $NOEFFECT; do
		n=$(grep -cF -- "cassette: $CFG: [${sk%%:*}] ${sk#*:} has no effect in cassette (Medusa's" "$W/err" || true)
		[ "$n" = 1 ] || { cat "$W/err"; fail "[${sk%%:*}] ${sk#*:}: $n warnings, want 1"; }
	done
	n=$(grep -c "has no effect in cassette" "$W/err" || true)
	[ "$n" = "$NWARN" ] || { cat "$W/err"; fail "$n no-effect warnings, want $NWARN"; }
}

# ---- applied keys, warnings -------------------------------------------------
cas 0 backup-node --backup-name b1
check_warnings
# base_path / bucket_name / prefix / fqdn: Medusa's layout of a local store
[ -d "$W/store/cassandra_backups/clusterA/node1.example/b1/meta" ] ||
	{ find "$W/store" -maxdepth 4; fail "b1 is not under base_path/bucket_name/prefix/fqdn"; }
ok "a medusa.ini drives backup-node: the store is base_path/bucket_name/prefix/fqdn; $NWARN Medusa-only keys warn once each"

cas 0 list-backups --output json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "b1" in json.dumps(d), d' "$W/out" ||
	{ cat "$W/out"; fail "list-backups --output json is not JSON naming b1"; }
check_warnings
ok "list-backups --output json: stdout is JSON, the warnings are on stderr, once each"

sleep 1.1
cas 0 backup-node --backup-name b2
cas 0 purge
cas 0 list-backups --output json
python3 -c 'import json,sys; s=json.dumps(json.load(open(sys.argv[1]))); assert "b2" in s and "b1" not in s, s' "$W/out" ||
	{ cat "$W/out"; fail "max_backup_count = 1 should leave b2 alone"; }
ok "max_backup_count (Medusa's key) takes effect: purge keeps the newest backup only"

# control: without the Medusa-only keys, no warning at all
grep -vE '^(cql_[a-z]+|nodetool_(username|password|host|port|ssl)|certfile|sstableloader_bin|check_running|use_sudo[a-z_]*|storage_class|api_profile|aws_cli_path|read_timeout|k8s_mode|cert_file|monitoring_provider|health_check|query|expected_[a-z]+|enable_md5_checks|enabled|file|format|level|maxBytes|backupCount|cassandra_url|use_mgmt_api) ' \
	"$CFG" > "$W/plain.ini"
chmod 600 "$W/plain.ini"
CFG=$W/plain.ini cas 0 list-backups
if grep -q "no effect" "$W/err"; then cat "$W/err"; fail "a config without Medusa-only keys warned"; fi
ok "control: the same file without the Medusa-only keys loads without a warning"

# ---- typos are still errors -------------------------------------------------
for typo in "bucket_nmae = x" "storage_clas = STANDARD" "k8smode = False"; do
	medusa_ini "$W/typo.ini" "$typo"
	CFG=$W/typo.ini cas 2 list-backups
	err_has "unknown option '${typo%% =*}' in [storage]"
	if grep -q "has no effect" "$W/err"; then cat "$W/err"; fail "warnings before a refused config"; fi
done
sed 's/^enabled = False$/enabeld = False/' "$CFG" > "$W/typo.ini"
CFG=$W/typo.ini cas 2 list-backups
err_has "unknown option 'enabeld' in [grpc]"
sed 's/^\[grpc\]$/[grcp]/' "$CFG" > "$W/typo.ini"
CFG=$W/typo.ini cas 2 list-backups
err_has "unknown section [grcp]"
medusa_ini "$W/typo.ini" "k8s_mode = True"
CFG=$W/typo.ini cas 2 list-backups
err_has "option 'k8s_mode' in [storage] is given twice"
ok "a typo'd key (also in a Medusa-only section), an unknown section, a repeated Medusa key: refused, named"

# ---- s3_addressing_style ----------------------------------------------------
s3_ini() { # s3_ini STYLE_LINES...: S3 on [::1]:1 (nothing listens there)
	medusa_ini "$W/s3.ini" "$@"
	sed -i -e 's/^storage_provider = local$/storage_provider = s3_compatible/' \
		-e 's/^secure = True$/secure = False/' \
		-e 's/^s3_addressing_style = auto$/host = ::1\nport = 1\nregion = default/' "$W/s3.ini"
}
export AWS_ACCESS_KEY_ID=AKIATEST AWS_SECRET_ACCESS_KEY=test-secret
s3_ini "s3_addressing_style = virtual"
CFG=$W/s3.ini cas 1 list-backups
err_has "virtual_host_style needs a host name, not '::1'"
s3_ini "s3_addressing_style = path"
CFG=$W/s3.ini cas 1 list-backups
if grep -q "virtual_host_style" "$W/err"; then cat "$W/err"; fail "path style was taken as virtual"; fi
s3_ini "addressing_style = virtual"
CFG=$W/s3.ini cas 1 list-backups
err_has "virtual_host_style needs a host name"
s3_ini "s3_addressing_style = virtual" "addressing_style = path"
CFG=$W/s3.ini cas 2 list-backups
err_has "addressing_style and s3_addressing_style (Medusa's name) are the same option"
s3_ini "s3_addressing_style = sideways"
CFG=$W/s3.ini cas 2 list-backups
err_has "s3_addressing_style must be 'path', 'virtual' or 'auto', not 'sideways'"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
ok "s3_addressing_style is addressing_style: virtual and path take effect, both at once or a bad value refused"

# ---- key_secret_base64 ------------------------------------------------------
medusa_ini "$W/enc.ini" "key_secret_base64 = $FERNET_KEY"
chmod 644 "$W/enc.ini"
CFG=$W/enc.ini cas 2 list-backups
err_has "$W/enc.ini holds [storage] key_secret_base64 (Medusa's encryption key) and is readable by group or others (mode 0644); chmod 600 it"
one_line_err
chmod 640 "$W/enc.ini"
CFG=$W/enc.ini cas 2 list-backups
err_has "(mode 0640); chmod 600 it"
chmod 600 "$W/enc.ini"
CFG=$W/enc.ini cas 0 list-backups
out_has b2
# control: the mode matters only with a secret in the file (plain.ini has
# neither key_secret_base64 nor cql_password, which is refused the same way)
chmod 644 "$W/plain.ini"
CFG=$W/plain.ini cas 0 list-backups
chmod 644 "$CFG"
cas 2 list-backups; err_has "holds [cassandra] cql_password"
chmod 600 "$CFG"
CFG=$W/enc.ini cas 0 backup-node --backup-name b3
if grep -rqF -- "$FERNET_KEY" "$W/out" "$W/err" "$W/store" "$W/state"; then
	fail "Medusa's key was written somewhere"
fi
medusa_ini "$W/enc.ini" "key_secret_base64 ="
CFG=$W/enc.ini cas 2 list-backups
err_has "key_secret_base64 in [storage] is empty"
ok "key_secret_base64: refused in a 0644 or 0640 file (chmod 600), accepted at 0600, never written out"

echo "medusa_ini: $CHECKS checks passed"
