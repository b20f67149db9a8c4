#!/usr/bin/env bash
# Monitoring: report-last-backup (text, json, exit codes, the age limit on a
# faked old backup, the shrink warning) and the Prometheus textfile, read by
# Prometheus' own parser after a backup, a failed backup, verify runs and
# report-last-backup --prometheus.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS
PY=
for p in python3 /usr/bin/python3; do
	if "$p" -c 'import prometheus_client.parser' 2>/dev/null; then PY=$p; break; fi
done
[ -n "$PY" ] || { echo "SKIP: no python3 with prometheus_client (scripts/deps.sh installs python3-prometheus-client)"; exit 77; }

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
for g in 1 2 3; do head -c $((g * 50000)) /dev/urandom > "$D/ks1/$T1/nb-$g-big-Data.db"; done
BYTES=$((50000 + 100000 + 150000))
"$CASSETTE" keygen > "$W/k"
PROM=$W/textfile/cassette.prom
mkdir -p "$W/textfile"
CFG=$W/node.ini
write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/k" "[monitoring]" \
	"prometheus_textfile = $PROM" "max_backup_age_hours = 26"

# prom FILE: the parsed samples as "name value" lines, sorted; fails on a
# sample without node="node1.example", a type other than gauge, no HELP.
prom() {
	"$PY" - "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    assert fam.type == "gauge" and fam.documentation, (fam.name, fam.type, fam.documentation)
    for s in fam.samples:
        assert s.labels == {"node": "node1.example"}, s
        out.append("%s %d" % (s.name, s.value))
print("\n".join(sorted(out)))
PY
}
val() { prom "$PROM" | sed -n "s/^$1 //p"; }

# ---- nothing yet --------------------------------------------------------------
mkdir -p "$W/store"
cas 1 report-last-backup
out_has "node node1.example: no finished backup"
err_has "node node1.example has no finished backup"
cas 1 report-last-backup --output json
[ "$(pyjson "$W/out" 'm["last_backup"], m["last_cluster_backup"], m["ok"]')" = "None None False" ] ||
	{ cat "$W/out"; fail "json with no backup"; }
[ ! -e "$PROM" ] || fail "report-last-backup wrote the textfile without --prometheus"
ok "no backup yet: report-last-backup says so and exits 1"

# ---- a backup --------------------------------------------------------------------
T0=$(date +%s)
cas 0 backup-node --backup-name b1
[ "$(stat -c %a "$PROM")" = 644 ] || fail "the textfile is not mode 0644"
[ -z "$(ls "$W/textfile" | grep -v '^cassette.prom$')" ] || fail "a temp file was left beside the textfile"
prom "$PROM" > "$W/m1"
[ "$(cut -d' ' -f1 "$W/m1" | tr '\n' ' ')" = "cassette_last_backup_bytes cassette_last_backup_duration_seconds cassette_last_backup_files cassette_last_backup_shrunk cassette_last_backup_success cassette_last_backup_timestamp_seconds " ] ||
	{ cat "$W/m1"; fail "metrics after a backup"; }
[ "$(val cassette_last_backup_files) $(val cassette_last_backup_bytes) $(val cassette_last_backup_success) $(val cassette_last_backup_shrunk)" = "3 $BYTES 1 0" ] ||
	{ cat "$W/m1"; fail "values after a backup"; }
TS=$(val cassette_last_backup_timestamp_seconds)
[ "$TS" -ge "$T0" ] && [ "$TS" -le "$(date +%s)" ] || fail "timestamp $TS is not the backup's finish"
[ "$(val cassette_last_backup_duration_seconds)" -ge 0 ] || fail "duration"
ok "backup-node rewrites the textfile (0644, parsed by prometheus_client): time, duration, files, bytes, success 1"

cas 0 report-last-backup
out_has "node node1.example: last backup b1, finished"
out_has "3 files"
out_has "cluster: last complete backup b1"
cas 0 report-last-backup --output json
pyjson "$W/out" 'm["ok"] and m["last_backup"]["name"] == "b1" and m["last_backup"]["files"] == 3 and m["last_backup"]["bytes"] == '$BYTES' and 0 <= m["last_backup"]["age_seconds"] < 600 and m["last_cluster_backup"]["name"] == "b1" and m["last_cluster_backup"]["nodes"] == 1' | grep -qx True ||
	{ cat "$W/out"; fail "json report of b1"; }
ok "report-last-backup: name, age, files, bytes of the node's and the cluster's last backup; exit 0"

# ---- a failed backup: success 0, the last finished backup's values stay --------
cas 1 backup-node --backup-name b1        # the name is taken: refused
[ "$(val cassette_last_backup_success) $(val cassette_last_backup_files) $(val cassette_last_backup_timestamp_seconds)" = "0 3 $TS" ] ||
	{ prom "$PROM"; fail "after a failed backup"; }
ok "a failed backup-node: cassette_last_backup_success 0, the last backup's values kept"

# ---- verify ------------------------------------------------------------------------
cas 0 verify --backup-name b1
[ "$(val cassette_last_verify_success) $(val cassette_last_backup_success)" = "1 0" ] ||
	{ prom "$PROM"; fail "after a verify"; }
rm "$W/store/node1.example/data/ks1/$T1/nb-2-big-Data.db"
cas 1 verify --backup-name b1
[ "$(val cassette_last_verify_success) $(val cassette_last_backup_files)" = "0 3" ] ||
	{ prom "$PROM"; fail "after a failed verify"; }
ok "verify sets cassette_last_verify_success (1, then 0 for a deleted object) and keeps the backup values"

# ---- a backup that shrank by more than half ---------------------------------------
rm "$D/ks1/$T1/nb-3-big-Data.db" "$D/ks1/$T1/nb-2-big-Data.db"
sleep 1
cas 0 backup-node --backup-name b2
err_has "warning: backup b2 of node node1.example holds 48.8 KiB, less than half the 293.0 KiB of the node's last backup"
[ "$(val cassette_last_backup_shrunk) $(val cassette_last_backup_bytes) $(val cassette_last_backup_success) $(val cassette_last_verify_success)" = "1 50000 1 0" ] ||
	{ prom "$PROM"; fail "after a shrunk backup"; }
cas 0 report-last-backup
err_has "warning: backup b2 of node node1.example holds 48.8 KiB, less than half the 293.0 KiB of backup b1"
ok "a backup under half the bytes of the one before: its summary warns, cassette_last_backup_shrunk 1, report-last-backup warns"

# ---- the age limit, on an index faked 30 hours old ---------------------------------
OLD=$(( $(date +%s) - 30 * 3600 ))
mkdir -p "$W/old/index/backup_index/old1"
echo "$OLD" > "$W/old/index/backup_index/old1/started_node1.example_$((OLD - 60)).timestamp"
echo "$OLD" > "$W/old/index/backup_index/old1/finished_node1.example_${OLD}_7_1234.timestamp"
write_config "$W/old.ini" "$D" "$W/old" "key_secret_file = $W/k" "[monitoring]" "max_backup_age_hours = 26"
CFG=$W/old.ini cas 1 report-last-backup --prometheus "$W/old.prom"
err_has "the last backup of node node1.example (old1) finished"
err_has "more than [monitoring] max_backup_age_hours = 26"
[ "$(prom "$W/old.prom" | tr '\n' ' ')" = "cassette_last_backup_bytes 1234 cassette_last_backup_duration_seconds 60 cassette_last_backup_files 7 cassette_last_backup_shrunk 0 cassette_last_backup_success 1 cassette_last_backup_timestamp_seconds $OLD " ] ||
	{ cat "$W/old.prom"; fail "report-last-backup --prometheus"; }
sed -i 's/^max_backup_age_hours = 26$/max_backup_age_hours = 31/' "$W/old.ini"
CFG=$W/old.ini cas 0 report-last-backup
sed -i 's/^max_backup_age_hours = 31$/max_backup_age_hours = 0/' "$W/old.ini"
CFG=$W/old.ini cas 0 report-last-backup
ok "a 30-hour-old backup: exit 1 over 26 hours, 0 under 31 or with no limit; --prometheus writes the file once"
echo "$CHECKS passed, 0 failed"
