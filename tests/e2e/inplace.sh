#!/usr/bin/env bash
# restore-node --in-place: (a) on the same host after a table's dir was
# lost: byte-identical SSTables, snapshots and other tables kept, cassandra.yaml
# untouched; (b) onto another host from node1's backup: data identical,
# the source's tokens in cassandra.yaml (every other line as it was, the
# original kept), the node-local system keyspace not copied, system_schema
# copied; (c) a corrupted object in the second table: exit 1, the first table
# restored, the second exactly as before, nothing left over, no start; (d)
# everything refused before stop_cmd runs. stop_cmd and start_cmd log the data
# dir's state when they run, so the order is proven: nothing changes before
# stop, nothing after start.
. "$(dirname "$0")/lib.sh"
export SNAPSHOT_MODE=hardlink
unset CASSETTE_PROGRESS

ID1=0123456789abcdef0123456789abcdef
T1=t1-$ID1
T2=t2-00000000000000000000000000000002
T3=t3-00000000000000000000000000000003
T4=t4-00000000000000000000000000000004
LOCAL=local-7ad54392bcdd35a684174e047860b377
PEERS=peers_v2-c4325fbb8e5e3bafbd070f9250ed818e
SCHEMA=tables-afddfb9dbc1e30688056eed6c302ba09
ROLES=roles-5bc52802de2535edaeab188eecebb090
sstable() { # sstable DIR GEN DATA_SIZE
	mkdir -p "$1"
	head -c "$3" /dev/urandom > "$1/nb-$2-big-Data.db"
	head -c $(( 100 + $2 * 37 )) /dev/urandom > "$1/nb-$2-big-Index.db"
	head -c 16 /dev/urandom > "$1/nb-$2-big-Filter.db"
	printf 'Data.db\nIndex.db\nFilter.db\nTOC.txt\n' > "$1/nb-$2-big-TOC.txt"
}
# the state of a directory: every path, inode, size, mode and owner
fp() { (cd "$1" && find . -printf '%p %i %s %m %u\n' | LC_ALL=C sort | md5sum | cut -c1-32); }
leftovers() { find "$1" -name '.cassette-restore-*' -o -name '.cassette-old-*' -o -name '*.cassette-tmp-*'; }

D=$W/node1/data
sstable "$D/ks1/$T1" 1 300000
sstable "$D/ks1/$T1" 2 5000
sstable "$D/ks1/$T2" 1 200000
sstable "$D/ks1/$T2/.t2_idx" 1 3000
sstable "$D/ks2/$T3" 1 70000
sstable "$D/ks2/$T4" 1 9000
sstable "$D/system/$LOCAL" 1 800
sstable "$D/system/$PEERS" 1 600
sstable "$D/system_schema/$SCHEMA" 1 4000
sstable "$D/system_auth/$ROLES" 1 500
sstable "$D/ks1/$T1/snapshots/mysnap" 1 1000   # the operator's snapshot
"$CASSETTE" keygen > "$W/backup.key"
"$CASSETTE" keygen > "$W/other.key"

# stop_cmd / start_cmd: log the action and the data dir's state; fail on demand
SVC=$W/svc.sh LOG=$W/service.log
cat > "$SVC" <<'EOF'
#!/bin/sh
# svc.sh ACTION DATA_DIR LOG
[ -e "$3.fail-$1" ] && { echo "$1 failed on purpose"; exit 3; }
echo "$1 $(cd "$2" && find . -printf '%p %i %s %m %u\n' | LC_ALL=C sort | md5sum | cut -c1-32)" >> "$3"
EOF
chmod +x "$SVC"
# write_config puts the extra lines in [storage]: move the [cassandra] ones
node_config() { # node_config FILE DATA YAML [extra lines]
	local file=$1 data=$2 yaml=$3; shift 3
	write_config "$file" "$data" "$W/store" "key_secret_file = $W/backup.key" "$@"
	python3 - "$file" "$SVC stop $data $LOG" "$SVC start $data $LOG" "$yaml" <<'PY'
import sys
f, stop, start, yaml = sys.argv[1:]
text = open(f).read()
extra = "stop_cmd = %s\nstart_cmd = %s\nconfig_file = %s\n" % (stop, start, yaml)
open(f, "w").write(text.replace("[cassandra]\n", "[cassandra]\n" + extra, 1))
PY
}
cat > "$W/cassandra.yaml" <<'EOF'
# Cassandra storage config YAML

# The name of the cluster. This is mainly used to prevent machines in
# one logical cluster from joining another.
cluster_name: 'Test Cluster'

# This defines the number of tokens randomly assigned to this node on the ring
# The more tokens, relative to other nodes, the larger the proportion of data
# that this node will store.
num_tokens: 16

# Triggers automatic allocation of num_tokens tokens for this node.
allocate_tokens_for_local_replication_factor: 3

# initial_token allows you to specify tokens manually.  While you can use it with
# vnodes (num_tokens > 1, above) -- in which case you should provide a
# comma-separated list -- it's primarily used when adding nodes to legacy clusters
# that do not have vnodes enabled.
# initial_token:

hinted_handoff_enabled: true

seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      # seeds is actually a comma-delimited list of addresses.
      - seeds: "127.0.0.1:7000"

endpoint_snitch: SimpleSnitch
EOF
mkdir -p "$W/node1" "$W/node2"
cp "$W/cassandra.yaml" "$W/node1/cassandra.yaml"
CFG=$W/node1.ini
node_config "$CFG" "$D" "$W/node1/cassandra.yaml"
M=$W/store/node1.example/b1/meta/manifest.json

cas 0 backup-node --backup-name b1
sstable_digest "$D" > "$W/b1.digest"
N=$(grep -c . "$W/b1.digest")
[ "$N" = 40 ] || { cat "$W/b1.digest"; fail "expected 40 SSTable components"; }
ok "node1 backed up: 8 tables, an index, an operator's snapshot"

if [ "$(id -u)" = 0 ]; then
	OWNER=65534:65534
	chown "$OWNER" "$D"        # only the top: whatever is restored must get it from there
else
	OWNER=
	echo "# not root: the owner check is skipped (restored files keep the restoring user)"
fi

# ---- (d) refused before stop_cmd runs: nothing changes, nothing is run -----------------
refused() { # refused RC MESSAGE ARGS... : with the current CFG
	local want=$1 msg=$2 before; shift 2
	before=$(fp "$D")
	: > "$LOG"
	cas "$want" "$@"
	one_line_err; err_has "$msg"
	[ ! -s "$LOG" ] || { cat "$LOG"; fail "stop_cmd or start_cmd ran for a refused restore ($msg)"; }
	[ "$(fp "$D")" = "$before" ] || fail "a refused restore changed the data dir ($msg)"
}
CASSETTE_KEY_FILE=$W/other.key refused 1 "wrong key" restore-node --in-place --backup-name b1
refused 1 "backup 'nope' of node node1.example not found" restore-node --in-place --backup-name nope
cas 2 restore-node --in-place --target-dir "$W/x" --backup-name b1; err_has "exclude each other"
[ ! -s "$LOG" ] && [ ! -e "$W/x" ] || fail "--in-place with --target-dir did something"
refused 1 "--table ks1.t9 matches no table of backup b1" restore-node --in-place --backup-name b1 \
	--table ks1.t9
GOOD=$CFG
CFG=$W/nostop.ini
node_config "$CFG" "$D" "$W/node1/cassandra.yaml"
sed -i '/^stop_cmd = /d' "$CFG"
refused 2 "[cassandra] stop_cmd is required for restore-node --in-place" restore-node --in-place --backup-name b1
CFG=$GOOD
# stop_cmd fails: quoted with its status, nothing changed, start not run
touch "$LOG.fail-stop"
refused 1 "stop_cmd '$SVC stop $D $LOG' exited with status 3; nothing was changed" \
	restore-node --in-place --backup-name b1
rm "$LOG.fail-stop"
ok "refused before stop_cmd: wrong key, unknown backup, --target-dir too, unknown --table, no stop_cmd, a failing stop_cmd"

# ---- (a) in place on the same host, after a table's dir was lost ------------------------
NEW=new-00000000000000000000000000000099
sstable "$D/ks1/$NEW" 1 1000                       # a table created since: not in the backup
sstable "$D/ks1/$T1" 3 2000                        # an SSTable written since: goes
rm -rf "${D:?}/ks1/$T2"                            # the lost table
NEW_FP=$(fp "$D/ks1/$NEW")
SNAP_INO=$(stat -c %i "$D/ks1/$T1/snapshots/mysnap/nb-1-big-Data.db")
BEFORE=$(fp "$D")
: > "$LOG"
(umask 077 && cas 0 restore-node --in-place --backup-name b1)
diff <(grep -v " ks1/$NEW/" <(sstable_digest "$D")) "$W/b1.digest" || fail "the restored node differs from the backup"
[ "$(fp "$D/ks1/$NEW")" = "$NEW_FP" ] || fail "a table that is not in the backup was touched"
[ "$(stat -c %i "$D/ks1/$T1/snapshots/mysnap/nb-1-big-Data.db")" = "$SNAP_INO" ] || fail "the operator's snapshot was not kept"
cmp "$W/cassandra.yaml" "$W/node1/cassandra.yaml" || fail "cassandra.yaml was changed on the same host"
[ "$(ls "$W/node1" | grep cassandra)" = cassandra.yaml ] || fail "something was written beside cassandra.yaml"
[ -z "$(leftovers "$D")" ] || { leftovers "$D"; fail "temp or old dirs left"; }
[ "$(cat "$LOG")" = "$(printf 'stop %s\nstart %s' "$BEFORE" "$(fp "$D")")" ] ||
	{ cat "$LOG"; echo "before $BEFORE after $(fp "$D")"; fail "stop_cmd was not first (before any change) or start_cmd not last"; }
out_has "restored ks1.$T2: 8 files"; out_has "restored $N files"; out_has "in 8 tables of backup b1 of node node1.example in place"
ok "in place: byte-identical, the lost table back, other tables and the snapshot kept, yaml untouched, stop first, start last"

# every restored file and dir: data_dir's owner, 0644 / 0755, whatever the umask
if [ -n "$OWNER" ]; then
	[ "$(find "$D/ks1/$T2" -type f -printf '%U:%G %m\n' | sort -u)" = "$OWNER 644" ] ||
		{ find "$D/ks1/$T2" -printf '%p %U:%G %m\n'; fail "restored files are not $OWNER 0644"; }
	[ "$(find "$D/ks1/$T2" -type d -printf '%U:%G %m\n' | sort -u)" = "$OWNER 755" ] ||
		{ find "$D/ks1/$T2" -type d -printf '%p %U:%G %m\n'; fail "restored dirs are not $OWNER 0755"; }
	[ "$(stat -c '%U %a' "$D/ks1/$T1/snapshots/mysnap")" = "root 755" ] || fail "the snapshot's owner changed"
	ok "restored files and dirs belong to data_dir's owner ($OWNER), modes 0644 and 0755 under umask 077"
else
	echo "# SKIP owner check: not root"
fi

# filters repeat, and take KS.T: only those tables are replaced
sstable "$D/ks1/$T1" 4 100; sstable "$D/ks2/$T3" 4 100; sstable "$D/ks2/$T4" 4 100
T4_FP=$(fp "$D/ks2/$T4")
cas 0 restore-node --in-place --backup-name b1 --table ks1.t1 --table "ks2.$T3"
[ ! -e "$D/ks1/$T1/nb-4-big-Data.db" ] && [ ! -e "$D/ks2/$T3/nb-4-big-Data.db" ] || fail "a selected table was not restored"
[ "$(fp "$D/ks2/$T4")" = "$T4_FP" ] || fail "a table left out by --table was touched"
out_has "in 2 tables"
cas 0 restore-node --in-place --backup-name b1 --keyspace ks2 --keyspace ks1 --table t4
[ ! -e "$D/ks2/$T4/nb-4-big-Data.db" ] || fail "--keyspace ks2 --table t4 did not restore ks2.t4"
out_has "in 1 table "
diff <(grep -v " ks1/$NEW/" <(sstable_digest "$D")) "$W/b1.digest" || fail "the filtered restores differ"
ok "--keyspace and --table repeat, and --table KS.T names a table: only those are replaced"

# ---- (c) a corrupted object in the second table ----------------------------------------
ORDER=$(pyjson "$M" '" ".join(t["keyspace"] + "/" + t["columnfamily"] for t in m)')
read -r FIRST SECOND REST <<< "$ORDER"
[ "$FIRST $SECOND" = "ks1/$T1 ks1/$T2" ] || fail "manifest order is $ORDER"
VICTIM_KEY=$(pyjson "$M" '[o for t in m if t["columnfamily"] == "'"$T2"'" for o in t["objects"] if o["path"].endswith("Data.db")][0]["path"]')
cp "$W/store/$VICTIM_KEY" "$W/saved"
flip_byte "$W/store/$VICTIM_KEY" 100
sstable "$D/ks1/$T1" 5 100        # so that the first table's restore shows
sstable "$D/ks1/$T2" 5 100        # and the second's absence of one
T2_FP=$(fp "$D/ks1/$T2")
REST_FP=$(for t in $REST; do fp "$D/$t"; done)
: > "$LOG"
cas 1 restore-node --in-place --backup-name b1
one_line_err
err_has "ks1.$T2 failed and is as it was"; err_has "restored before it: ks1.$T1"
err_has "6 other tables of the backup are as before"; err_has "Cassandra is left stopped (start_cmd not run)"
err_has "$VICTIM_KEY"
[ ! -e "$D/ks1/$T1/nb-5-big-Data.db" ] || fail "the first table was not restored"
diff <(sstable_digest "$D" | grep " ks1/$T1/") <(grep " ks1/$T1/" "$W/b1.digest") || fail "the first table differs from the backup"
[ "$(fp "$D/ks1/$T2")" = "$T2_FP" ] || fail "the failed table is not exactly as before"
[ "$(for t in $REST; do fp "$D/$t"; done)" = "$REST_FP" ] || fail "a later table was touched"
[ -z "$(leftovers "$D")" ] || { leftovers "$D"; fail "temp or old dirs left after a failure"; }
[ "$(cut -d' ' -f1 "$LOG")" = stop ] || { cat "$LOG"; fail "start_cmd ran after a failure"; }
out_has "restored ks1.$T1: 8 files"
cp "$W/saved" "$W/store/$VICTIM_KEY"
ok "a corrupted object in the second table: exit 1, the first restored, the second and the rest as before, nothing left, no start"

# SIGINT while the first table downloads (the bandwidth cap keeps it busy): that
# table is put back, nothing is left, Cassandra stays stopped
SLOW=$W/slow.ini
node_config "$SLOW" "$D" "$W/node1/cassandra.yaml" "transfer_max_bandwidth = 100KB/s"
sstable "$D/ks1/$T1" 6 100
T1_FP=$(fp "$D/ks1/$T1")
: > "$LOG"
"$CASSETTE" --config "$SLOW" restore-node --in-place --backup-name b1 >"$W/out" 2>"$W/err" &
PID=$!
for _ in $(seq 300); do
	[ -n "$(find "$D/ks1/.cassette-restore-$T1" -name '*.cassette-tmp-*' 2>/dev/null)" ] && break
	sleep 0.05
done
kill -INT "$PID"
RC=0; wait "$PID" || RC=$?
[ "$RC" = 1 ] || { cat "$W/err"; fail "an interrupted in-place restore exited $RC"; }
one_line_err; err_has "ks1.$T1 failed and is as it was; no table was changed before it"; err_has "interrupted"
[ "$(fp "$D/ks1/$T1")" = "$T1_FP" ] || fail "the interrupted table is not as before"
[ -z "$(leftovers "$D")" ] || { leftovers "$D"; fail "an interrupted restore left temp dirs"; }
[ "$(cut -d' ' -f1 "$LOG")" = stop ] || { cat "$LOG"; fail "start_cmd ran after an interruption"; }
ok "SIGINT during a table's download: that table as before, nothing left, no start"

# SIGKILL during the download: the temp dir stays behind; the next restore,
# once Cassandra is stopped, puts it right by itself and restores
mkdir -p "$D/ks1/$T1/snapshots/mine" && echo s > "$D/ks1/$T1/snapshots/mine/f"
: > "$LOG"
"$CASSETTE" --config "$SLOW" restore-node --in-place --backup-name b1 >"$W/out" 2>"$W/err" &
PID=$!
for _ in $(seq 300); do
	[ -n "$(find "$D/ks1/.cassette-restore-$T1" -name '*.cassette-tmp-*' 2>/dev/null)" ] && break
	sleep 0.05
done
kill -KILL "$PID"; wait "$PID" 2>/dev/null || true
[ -n "$(leftovers "$D")" ] || fail "SIGKILL left nothing to recover (the test did not kill mid-table)"
[ "$(cut -d' ' -f1 "$LOG")" = stop ] || { cat "$LOG"; fail "start_cmd ran after SIGKILL"; }
# ...and a crash between the two renames of another table: the table is aside
mkdir "$D/ks2/.cassette-restore-$T3"
mv "$D/ks2/$T3" "$D/ks2/.cassette-old-$T3"
: > "$LOG"
cas 0 restore-node --in-place --backup-name b1
out_has "ks1.$T1: put right what an interrupted restore left"
out_has "ks2.$T3: put right what an interrupted restore left"
[ -z "$(leftovers "$D")" ] || { leftovers "$D"; fail "the recovery left temp or old dirs"; }
[ "$(cat "$D/ks1/$T1/snapshots/mine/f")" = s ] || fail "the table's snapshot was lost"
rm -rf "$D/ks1/$T1/snapshots/mine" "$D/ks1/$T1/nb-6-big-"*
[ "$(cut -d' ' -f1 "$LOG" | tr '\n' ' ')" = "stop start " ] || { cat "$LOG"; fail "stop/start around the recovery"; }
ok "SIGKILL mid-table, or a crash between a swap's renames: the next restore puts it right by itself"

# start_cmd fails: exit 1 naming it; the data is restored
touch "$LOG.fail-start"
cas 1 restore-node --in-place --backup-name b1
rm "$LOG.fail-start"
one_line_err; err_has "start_cmd '$SVC start $D $LOG' exited with status 3; every table was restored"
diff <(grep -v " ks1/$NEW/" <(sstable_digest "$D")) "$W/b1.digest" || fail "not restored before start_cmd"
ok "a failing start_cmd: exit 1 naming it, after every table was restored"

# ---- (b) onto another host, from node1's backup -----------------------------------------
D2=$W/node2/data
sstable "$D2/system/$LOCAL" 1 700           # node2's own node-local tables
sstable "$D2/system_schema/$SCHEMA" 1 100   # node2's schema: replaced by node1's
sstable "$D2/ks1/$T1" 7 100                 # stale data: replaced
sstable "$D2/ks9/other-00000000000000000000000000000009" 1 100   # not in the backup: left
sstable "$D2/ks2/t3-99999999999999999999999999999999" 1 100       # t3 of another id: left
cp "$W/cassandra.yaml" "$W/node2/cassandra.yaml"
[ -n "$OWNER" ] && chown "$OWNER" "$D2"
LOCAL2_FP=$(fp "$D2/system")
OTHER_FP=$(fp "$D2/ks9")$(fp "$D2/ks2/t3-99999999999999999999999999999999")
CFG2=$W/node2.ini
FQDN=node2.example STATE_DIR=$W/state2 node_config "$CFG2" "$D2" "$W/node2/cassandra.yaml"
TM=$W/store/node1.example/b1/meta/tokenmap.json
# Until backups record real tokens, give node1 three by hand; keep real ones if there.
python3 - "$TM" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
e = m.setdefault("node1.example", {"is_up": True, "rack": None, "dc": None})
if not e.get("tokens"):
    e["tokens"] = [-9223372036854775808, -3074457345618258603, 3074457345618258602]
    json.dump(m, open(p, "w"))
PY
cp "$TM" "$W/tokenmap.good"
TOKENS=$(pyjson "$TM" '",".join(str(t) for t in m["node1.example"]["tokens"])')
N_TOKENS=$(pyjson "$TM" 'len(m["node1.example"]["tokens"])')

CFG=$CFG2 D=$D2
# an edited tokenmap fails its auth.json (e2e_auth); without one, and with
# --allow-unauthenticated (one warning line), the tokens are checked
AUTH=$W/store/node1.example/b1/meta/auth.json
mv "$AUTH" "$W/auth.good"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m['node1.example']['tokens']=[]; json.dump(m, open(sys.argv[1],'w'))" "$TM"
BEFORE=$(fp "$D"); : > "$LOG"
cas 1 --fqdn node1.example restore-node --in-place --backup-name b1 --allow-unauthenticated
[ "$(wc -l < "$W/err")" = 2 ] || { cat "$W/err"; fail "expected the unauthenticated warning and one error line"; }
err_has "is not authenticated"
err_has "records no tokens for node node1.example: this backup cannot seed a new node"
err_has "node1.example/b1/meta/tokenmap.json"
[ ! -s "$LOG" ] && [ "$(fp "$D")" = "$BEFORE" ] || fail "a refused restore ran stop_cmd or changed the data dir"
cp "$W/tokenmap.good" "$TM"
mv "$W/auth.good" "$AUTH"
sed -i "s|^config_file = .*|config_file = $W/node2/missing.yaml|" "$CFG2"
refused 1 "config_file $W/node2/missing.yaml cannot be edited" --fqdn node1.example restore-node --in-place --backup-name b1
sed -i "s|^config_file = .*|config_file = $W/node2/cassandra.yaml|" "$CFG2"
refused 1 "the system keyspace is node-local and is never restored onto another host" \
	--fqdn node1.example restore-node --in-place --backup-name b1 --keyspace system
ok "onto another host, refused before stop_cmd: no tokens in the source's tokenmap, a missing config_file, --keyspace system"

BEFORE=$(fp "$D2")
: > "$LOG"
cas 0 --fqdn node1.example restore-node --in-place --backup-name b1
NODE1_DATA='^[0-9a-f]* \(ks1\|ks2\|system_schema\|system_auth\)/'
diff <(sstable_digest "$D2" | grep "$NODE1_DATA" | grep -v /t3-9999) <(grep "$NODE1_DATA" "$W/b1.digest") ||
	fail "node2's restored tables differ from node1's"
[ "$(fp "$D2/system")" = "$LOCAL2_FP" ] || fail "node2's system keyspace was touched"
[ ! -e "$D2/system/$PEERS" ] || fail "node1's system.peers_v2 was copied onto node2"
[ "$(fp "$D2/ks9")$(fp "$D2/ks2/t3-99999999999999999999999999999999")" = "$OTHER_FP" ] ||
	fail "a keyspace or table dir that is not in the backup was touched"
err_has "warning: $D2/ks2/t3-99999999999999999999999999999999 has another id than the backup's $T3; it is left alone"
err_has "warning: $D2/system/$LOCAL holds this node's own system.local"
[ -z "$(leftovers "$D2")" ] || fail "temp or old dirs left on node2"
[ "$(cat "$LOG")" = "$(printf 'stop %s\nstart %s' "$BEFORE" "$(fp "$D2")")" ] || { cat "$LOG"; fail "node2: stop first, start last"; }
out_has "the system keyspace (2 tables) is node-local and was not copied from node1.example"
out_has "in 6 tables of backup b1 of node node1.example in place into $D2"
ok "onto another host: node1's tables identical, system_schema and system_auth copied, node2's system keyspace and other tables kept, warnings about both"

Y=$W/node2/cassandra.yaml
cmp "$W/cassandra.yaml" "$Y.cassette-b1" || fail "the original cassandra.yaml was not kept as $Y.cassette-b1"
python3 - "$W/cassandra.yaml" "$Y" "$TOKENS" "$N_TOKENS" <<'PY'
import sys
orig, new, tokens, n = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read(), sys.argv[3], sys.argv[4]
ours = (b"initial_token:", b"num_tokens:", b"auto_bootstrap:")
strip = lambda t: [l for l in t.split(b"\n") if not l.startswith(ours)]
assert strip(orig) == strip(new), "a line other than the three keys changed"
lines = new.split(b"\n")
assert lines.count(b"initial_token: " + tokens.encode()) == 1, "initial_token"
assert lines.count(b"num_tokens: " + n.encode()) == 1, "num_tokens"
assert lines.count(b"auto_bootstrap: false") == 1, "auto_bootstrap"
assert lines.index(b"num_tokens: " + n.encode()) == orig.split(b"\n").index(b"num_tokens: 16"), "num_tokens moved"
assert b"\n# initial_token:\n" in new, "the commented-out initial_token was touched"
PY
[ "$(stat -c %a "$Y")" = "$(stat -c %a "$Y.cassette-b1")" ] || fail "cassandra.yaml's mode changed"
out_has "config_file $Y: initial_token (the $N_TOKENS tokens of node1.example), num_tokens: $N_TOKENS, auto_bootstrap: false; the original is kept as $Y.cassette-b1"
ok "cassandra.yaml: initial_token ($N_TOKENS tokens), num_tokens: $N_TOKENS in place, auto_bootstrap: false; every other line byte for byte; the original kept"

# again: the yaml already says so, the first original is not overwritten
cas 0 --fqdn node1.example restore-node --in-place --backup-name b1
out_has "it already said so"
cmp "$W/cassandra.yaml" "$Y.cassette-b1" || fail "a second restore overwrote the kept original"
[ "$(ls "$W/node2" | grep -c cassandra.yaml)" = 2 ] || { ls "$W/node2"; fail "a second restore kept another copy"; }
ok "a second restore onto node2: the yaml already holds the tokens, the kept original stays"

# --target-dir works as before, with --fqdn of another node too
CFG=$CFG2 cas 0 --fqdn node1.example restore-node --backup-name b1 --target-dir "$W/r1"
diff <(sstable_digest "$W/r1") "$W/b1.digest" || fail "--target-dir restore differs"
ok "--target-dir restores every keyspace of the backup, as before"

# a table the manifest lists without files is restored empty (its snapshots kept)
CFG=$GOOD D=$W/node1/data
cp "$M" "$W/m-saved"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); [t.update(objects=[]) for t in m if t['columnfamily'] == sys.argv[2]]; json.dump(m, open(sys.argv[1],'w'))" "$M" "$T4"
mkdir -p "$D/ks2/$T4/snapshots/keep"
# (an edited manifest: only without its auth.json, and with the flag)
mv "$W/store/node1.example/b1/meta/auth.json" "$W/auth-saved"
cas 0 restore-node --in-place --backup-name b1 --table "ks2.$T4" --allow-unauthenticated
err_has "is not authenticated"
cp "$W/m-saved" "$M"
mv "$W/auth-saved" "$W/store/node1.example/b1/meta/auth.json"
out_has "restored ks2.$T4: 0 files (0 B)"
[ "$(find "$D/ks2/$T4" -mindepth 1 -printf '%P\n')" = "$(printf 'snapshots\nsnapshots/keep')" ] ||
	{ find "$D/ks2/$T4"; fail "a table listed without files is not restored empty"; }
ok "a table the manifest lists without files is restored empty, its snapshots kept"

echo "all $CHECKS checks passed"
