#!/usr/bin/env bash
# A simulated three-node cluster on one machine: each node a data dir, a
# config and a name (127.0.0.1-3), sharing one store and one key; the fake
# nodetool answers ring/status/snapshot/clearsnapshot as Cassandra 4.1 does;
# stop and start commands record their calls.
#
# CLUSTER_VARIANT picks how the nodes are reached and where the store is:
#   local  remote_command = env CASSETTE_CONFIG=<dir>/{host}.ini sh -c, local
#          storage: backup-cluster, status, listing, a node failing mid-backup,
#          restore-cluster in place and onto three new nodes, refusals
#   ssh    through a real sshd (tests/support/sshd.sh run): backup-cluster and
#          restore-cluster in place
#   s3     on radosgw (tests/support/rgw.sh run): backup-cluster, status and
#          restore-cluster onto new nodes
. "$(dirname "$0")/lib.sh"
VARIANT=${CLUSTER_VARIANT:-local}
NODES="127.0.0.1 127.0.0.2 127.0.0.3"
CALLS=$W/calls.log
: > "$CALLS"

case $VARIANT in
local) ;;
ssh) : "${SSHD_PORT:?run me through tests/support/sshd.sh run --}" ;;
s3) : "${CASSETTE_TEST_S3_ENDPOINT:?run me through tests/support/rgw.sh run --}" ;;
*) fail "unknown CLUSTER_VARIANT $VARIANT" ;;
esac

# ---- the cluster ---------------------------------------------------------------
# 4 vnodes a node, two racks, one DC.
cat > "$W/cluster.txt" <<'EOF'
# address   dc   rack  state tokens
127.0.0.1   dc1  r1    up    -9000000000000000000,-4000000000000000000,1000000000000000000,6000000000000000000
127.0.0.2   dc1  r2    up    -7500000000000000000,-2500000000000000000,2500000000000000000,7500000000000000000
127.0.0.3   dc1  r1    up    -6000000000000000000,-1000000000000000000,4000000000000000000,9000000000000000000
EOF
"$CASSETTE" keygen > "$W/key"

mk_table() { # mk_table DATA KS TABLE-ID GENERATIONS SEED
	local d=$1/$2/$3 g
	mkdir -p "$d"
	for g in $(seq 1 "$4"); do
		python3 -c "import os,sys,random; r=random.Random(sys.argv[2]); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(int(sys.argv[1]))))" \
			$((3000 + g * 517)) "$5-$3-$g" > "$d/nb-$g-big-Data.db"
		printf 'Data.db\nTOC.txt\n' > "$d/nb-$g-big-TOC.txt"
	done
}
mk_node() { # mk_node DATA SEED
	mk_table "$1" ks1 t1-0123456789abcdef0123456789abcdef 3 "$2"
	mk_table "$1" ks1 t2-fedcba9876543210fedcba9876543210 2 "$2"
	mk_table "$1" system local-7ad54392bcdd35a684174e047860b377 1 "$2"
	mk_table "$1" system_schema tables-afddfb9dbc1e30688056eed6c302ba09 1 "$2"
}

storage_lines() {
	if [ "$VARIANT" = s3 ]; then
		printf '%s\n' "storage_provider = s3" "host = 127.0.0.1" "port = $CASSETTE_TEST_S3_PORT" \
			"secure = false" "bucket_name = $CASSETTE_TEST_S3_BUCKET" "prefix = cluster" \
			"key_file = $W/creds"
	else
		printf '%s\n' "storage_provider = local" "base_path = $W/store"
	fi
}
if [ "$VARIANT" = s3 ]; then
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
	chmod 600 "$W/creds"
fi

remote_lines() {
	if [ "$VARIANT" = ssh ]; then
		echo "remote_command = ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$SSHD_KNOWN_HOSTS -p $SSHD_PORT -i $SSHD_KEY -l $SSHD_USER {host}"
		echo "cassette_cmd = $W/node-cassette"
	else
		echo "remote_command = env CASSETTE_CONFIG=$W/{host}.ini sh -c"
		echo "cassette_cmd = $CASSETTE"
	fi
}
# Over ssh, each "host" is an address of loopback: the node's cassette picks
# its config by the address the client connected to.
cat > "$W/node-cassette" <<EOF
#!/bin/sh
addr=\$(echo "\$SSH_CONNECTION" | cut -d' ' -f3)
echo "\$addr \$1" >> "$W/ssh-sessions.log"
exec env CASSETTE_CONFIG="$W/\$addr.ini" "$CASSETTE" "\$@"
EOF
chmod 755 "$W/node-cassette"

# node_config NAME [NODETOOL_PREFIX]: <name>.ini, data in $W/<name>/data
node_config() {
	local name=$1 data=$W/$1/data
	mkdir -p "$data"
	printf 'cluster_name: test\nnum_tokens: 16\n# initial_token:\nauto_bootstrap: true\nseed_provider: []\n' \
		> "$W/$name/cassandra.yaml"
	{
		echo "[cassandra]"
		echo "data_dir = $data"
		echo "snapshot_mode = nodetool"
		echo "nodetool_cmd = ${2:-}$FAKE_NODETOOL --cluster $W/cluster.txt $data"
		echo "resolve_ip_addresses = false"
		echo "stop_cmd = echo stop $name >> $CALLS"
		echo "start_cmd = echo start $name >> $CALLS"
		echo "config_file = $W/$name/cassandra.yaml"
		echo "[storage]"
		storage_lines
		echo "fqdn = $name"
		echo "key_secret_file = $W/key"
		echo "encryption_tmp_dir = $W/$name/tmp"
		echo "state_dir = $W/$name/state"
		echo "[ssh]"
		remote_lines
	} > "$W/$name.ini"
}
i=0
for n in $NODES; do
	i=$((i + 1))
	node_config "$n"
	mk_node "$W/$n/data" "seed$i"
done
# The coordinator: any host with the store and a nodetool that sees the ring.
CFG=$W/coord.ini
sed -e "s|^fqdn = .*|fqdn = coordinator|" -e "s|$W/127.0.0.1/tmp|$W/coord/tmp|" "$W/127.0.0.1.ini" > "$CFG"
snap_all() { for n in $NODES; do sstable_digest "$W/$n/data" > "$W/$n.$1.digest"; done; }
snap_all c1

# ---- backup-cluster, status, listing -------------------------------------------
cas 0 backup-cluster --backup-name c1
for n in $NODES; do grep -q "^$n  *ok  " "$W/out" || { cat "$W/out"; fail "no ok line for $n"; }; done
out_has "backup-cluster c1 complete: 3 nodes"
for n in $NODES; do
	[ -z "$(find "$W/$n/data" -path '*/snapshots/*' -print -quit)" ] || fail "$n: snapshot left behind"
done
cas 0 status --backup-name c1 --output json
python3 - "$W/out" <<'EOF' || fail "status json"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["name"] == "c1" and s["complete"] is True, s
assert [n["fqdn"] for n in s["nodes"]] == ["127.0.0.1", "127.0.0.2", "127.0.0.3"], s
assert all(n["state"] == "finished" and n["files"] == 14 and n["size"] > 0 and n["finished"] for n in s["nodes"]), s
EOF
cas 0 status --backup-name c1; out_has "backup c1: complete, 3 of 3 nodes finished"
cas 0 get-last-complete-cluster-backup; [ "$(cat "$W/out")" = c1 ] || fail "last complete is not c1"
cas 0 list-backups --show-all --output json
python3 -c "import json,sys; b=json.load(open(sys.argv[1])); assert b[0]['cluster']=={'complete':True,'nodes_finished':3,'nodes':3}, b" "$W/out" \
	|| fail "list-backups json cluster"
cas 0 fetch-tokenmap --backup-name c1 --fqdn 127.0.0.2
python3 - "$W/out" <<'EOF' || fail "tokenmap"
import json, sys
t = json.load(open(sys.argv[1]))
assert sorted(t) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"], t
assert t["127.0.0.2"] == {"tokens": [-7500000000000000000, -2500000000000000000, 2500000000000000000, 7500000000000000000], "is_up": True, "rack": "r2", "dc": "dc1"}, t
EOF
ok "backup-cluster backs up every node under one name; status, list-backups and get-last-complete-cluster-backup agree"
if [ "$VARIANT" = ssh ]; then
	# each node's two phases ran in an ssh session to that node's address
	for n in $NODES; do
		[ "$(grep -c "^$n backup-node$" "$W/ssh-sessions.log")" = 2 ] ||
			fail "$n: not two backup-node sessions over ssh: $(cat "$W/ssh-sessions.log")"
	done
	ok "every node command went through sshd, to the node's own address"
fi

if [ "$VARIANT" = local ]; then
	# The two phases keep the hash cache: a second run reads no unchanged file.
	cas 0 --progress backup-cluster --backup-name c2
	# the progress line (forced on: stderr is not a terminal here)
	tr '\r' '\n' < "$W/err" > "$W/progress"
	grep -q "^.*backup-cluster c2: snapshots: 3/3 nodes done, 0 running, 0 failed" "$W/progress" ||
		{ cat "$W/progress"; fail "no snapshot progress"; }
	grep -q "^.*backup-cluster c2: backups: 3/3 nodes done, 0 running, 0 failed, [0-9.]* KiB" "$W/progress" ||
		{ cat "$W/progress"; fail "no backup progress with bytes"; }
	for n in $NODES; do
		grep -q "^hash cache: 14 files (.*) trusted without reading, 0 files" \
			"$W/coord/tmp/cassette-cluster-c2/$n.backup.log" ||
			fail "$n: the second cluster backup did not trust the hash cache"
	done
	ok "a second backup-cluster trusts every node's hash cache across its two phases"

	# ---- a node that fails mid-backup --------------------------------------
	# Node 2's nodetool fails 'version', which only a backup's last step
	# asks: phase 1 passes, and phase 2 fails after its files were stored.
	node_config 127.0.0.2 "env FAKE_NODETOOL_FAIL=version "
	cas 1 backup-cluster --backup-name c3
	grep -q "^127.0.0.2  *FAILED  *backup: .*version.*(log: .*127.0.0.2.backup.log)" "$W/out" || { cat "$W/out"; fail "no FAILED line for node 2"; }
	grep -q "^127.0.0.1  *ok" "$W/out" && grep -q "^127.0.0.3  *ok" "$W/out" || fail "the other nodes did not finish"
	err_has "backup c3 is incomplete: 1 of 3 nodes failed"
	[ -z "$(find "$W/127.0.0.2/data" -path '*/snapshots/*' -print -quit)" ] || fail "node 2: snapshot left behind"
	node_config 127.0.0.2
	cas 0 status --backup-name c3 --output json
	python3 -c "import json,sys; s=json.load(open(sys.argv[1])); assert s['complete'] is False and [n['state'] for n in s['nodes']]==['finished','missing','finished'], s" "$W/out" \
		|| { cat "$W/out"; fail "status of c3"; }
	cas 0 get-last-complete-cluster-backup; [ "$(cat "$W/out")" = c2 ] || fail "last complete is not c2"
	cas 0 --fqdn 127.0.0.1 list-backups   # node 1's backups, and whether each one's cluster finished
	grep -q "^c1 .* complete (3/3)$" "$W/out" && grep -q "^c3 .* incomplete (2/3)$" "$W/out" ||
		{ cat "$W/out"; fail "list-backups text does not tell the cluster's completeness"; }
	cas 1 restore-cluster --backup-name c3
	err_has "backup c3 is incomplete: 2 of 3 nodes finished"
	[ ! -s "$CALLS" ] || fail "a refused restore ran a node command"
	ok "a node failing mid-backup: the others finish, the backup is incomplete, restore-cluster refuses it"

	# A node whose fqdn is not its name in the ring fails at once, by name.
	sed -i 's/^fqdn = 127.0.0.3$/fqdn = db-3.example/' "$W/127.0.0.3.ini"
	cas 1 backup-cluster --backup-name c4
	grep -q "^127.0.0.3  *FAILED  *snapshot: .*db-3.example .*not in the cluster" "$W/out" ||
		{ cat "$W/out"; fail "no FAILED line naming the wrong fqdn"; }
	node_config 127.0.0.3
	[ -z "$(find "$W/127.0.0.3/data" -path '*/snapshots/*' -print -quit)" ] || fail "node 3: snapshot left behind"
	ok "a node whose fqdn is not its ring name fails by name, and leaves no snapshot"

	rm -rf "$W/127.0.0.1/data/ks1/t2-fedcba9876543210fedcba9876543210"
	cas 0 restore-cluster --backup-name c3 --allow-incomplete
	out_has "restore-cluster c3 complete: 2 nodes restored"
	sstable_digest "$W/127.0.0.1/data" | diff - "$W/127.0.0.1.c1.digest" || fail "node 1 not restored"
	grep -q "stop 127.0.0.2" "$CALLS" && fail "node 2 was touched by --allow-incomplete"
	ok "--allow-incomplete restores the nodes that finished"
	: > "$CALLS"
fi

# ---- restore-cluster in place after one node lost a table ----------------------
if [ "$VARIANT" != s3 ]; then
	rm -rf "$W/127.0.0.3/data/ks1/t1-0123456789abcdef0123456789abcdef"
	cp "$W/127.0.0.3/cassandra.yaml" "$W/yaml.before"
	cas 0 restore-cluster --backup-name c1
	out_has "restore-cluster c1 complete: 3 nodes restored"
	for n in $NODES; do
		sstable_digest "$W/$n/data" | diff - "$W/$n.c1.digest" || fail "$n differs from its backup"
		grep -qx "stop $n" "$CALLS" && grep -qx "start $n" "$CALLS" || fail "$n not stopped and started"
	done
	cmp "$W/127.0.0.3/cassandra.yaml" "$W/yaml.before" || fail "an in-place restore edited cassandra.yaml"
	ok "restore-cluster in place puts back the lost table, byte for byte, stopping and starting each node"
	: > "$CALLS"
fi

# ---- refused before any node is touched ----------------------------------------
if [ "$VARIANT" = local ]; then
	printf 'True,new1,127.0.0.1\nFalse,new2,127.0.0.2\nFalse,new3,127.0.0.3\nFalse,new4,127.0.0.3\n' > "$W/hl4"
	cas 1 restore-cluster --backup-name c1 --host-list "$W/hl4"; err_has "hl4:4: source '127.0.0.3' appears twice"
	printf 'True,new1,127.0.0.1\nFalse,new2,127.0.0.9\nFalse,new3,127.0.0.3\n' > "$W/hlu"
	cas 1 restore-cluster --backup-name c1 --host-list "$W/hlu"; err_has "hlu:2: unknown host '127.0.0.9'"
	printf 'True,new1,127.0.0.1\nFalse,new1,127.0.0.2\nFalse,new3,127.0.0.3\n' > "$W/hld"
	cas 1 restore-cluster --backup-name c1 --host-list "$W/hld"; err_has "hld:2: target 'new1' appears twice"
	printf 'True,new1,127.0.0.1\nFalse,new3,127.0.0.3\n' > "$W/hl2"
	cas 1 restore-cluster --backup-name c1 --host-list "$W/hl2"; err_has "no target for source node '127.0.0.2'"
	printf 'True,127.0.0.2,127.0.0.1\nFalse,127.0.0.1,127.0.0.2\nFalse,127.0.0.3,127.0.0.3\n' > "$W/hlr"
	cas 1 restore-cluster --backup-name c1 --host-list "$W/hlr"; err_has "cannot take source 127.0.0.1 (dc dc1, rack r1"
	[ ! -s "$CALLS" ] || fail "a refused plan ran a node command: $(cat "$CALLS")"
	ok "4 targets for 3 sources, an unknown host, a duplicate target, a missing source, a rack mismatch: refused before any stop"
fi

# ---- restore-cluster onto three new nodes from a host list ---------------------
if [ "$VARIANT" != ssh ]; then
	for n in new1 new2 new3; do node_config "$n"; done
	printf '# seed, target, source\nFalse,new1,127.0.0.1\nTrue,new2,127.0.0.2\nFalse,new3,127.0.0.3\n' > "$W/hosts"
	cas 0 restore-cluster --backup-name c1 --host-list "$W/hosts" --dry-run
	out_has "dry run"; grep -q "^yes *new2 *127.0.0.2 *dc1 *r2 *4" "$W/out" || { cat "$W/out"; fail "dry-run plan"; }
	[ ! -s "$CALLS" ] || fail "--dry-run ran a node command"
	cas 0 restore-cluster --backup-name c1 --host-list "$W/hosts"
	out_has "restore-cluster c1 complete: 3 nodes restored"
	for pair in new1:127.0.0.1 new2:127.0.0.2 new3:127.0.0.3; do
		t=${pair%%:*} s=${pair#*:}
		grep -v ' system/' "$W/$s.c1.digest" > "$W/want"
		sstable_digest "$W/$t/data" | diff - "$W/want" || fail "$t is not $s's data (system excluded)"
		[ ! -d "$W/$t/data/system" ] || fail "$t: node-local system tables were copied"
		[ -d "$W/$t/data/system_schema" ] || fail "$t: system_schema was not restored"
		want=$(python3 -c "
import re,sys
for l in open(sys.argv[1]):
    f=l.split()
    if f and f[0]==sys.argv[2]: print(','.join(str(t) for t in sorted(int(x) for x in f[4].split(','))))" "$W/cluster.txt" "$s")
		grep -qx "initial_token: $want" "$W/$t/cassandra.yaml" || { cat "$W/$t/cassandra.yaml"; fail "$t: initial_token"; }
		grep -qx "num_tokens: 4" "$W/$t/cassandra.yaml" || fail "$t: num_tokens"
		grep -qx "auto_bootstrap: false" "$W/$t/cassandra.yaml" || fail "$t: auto_bootstrap"
		grep -qx "cluster_name: test" "$W/$t/cassandra.yaml" || fail "$t: other lines changed"
	done
	# seeds first: new2 was started before any other node was stopped
	[ "$(head -2 "$CALLS" | tr '\n' ' ')" = "stop new2 start new2 " ] || { cat "$CALLS"; fail "the seed did not go first"; }
	ok "restore-cluster onto three new nodes: each node's data from its source, its tokens in cassandra.yaml, seeds first"

	# A target that fails: the others go on; one line per target; exit 1 naming it.
	sed -i "s|^stop_cmd = .*|stop_cmd = echo cannot stop new3 >\&2; exit 3|" "$W/new3.ini"
	: > "$CALLS"
	cas 1 restore-cluster --backup-name c1 --host-list "$W/hosts"
	grep -q "^new3  *from 127.0.0.3: FAILED: .*exit.* 3.*(log: .*new3.restore.log)" "$W/out" ||
		{ cat "$W/out"; fail "no FAILED line for new3"; }
	grep -q "^new1  *from 127.0.0.1: restored" "$W/out" && grep -q "^new2  *from 127.0.0.2: restored" "$W/out" ||
		fail "the other targets were not restored"
	err_has "failed on 1 of 3 targets: new3"
	grep -qx "start new3" "$CALLS" && fail "new3 was started after its stop_cmd failed"
	ok "a target that fails: the others are restored, its line names the cause and log, exit 1 names it"
fi

# ---- a backup-cluster killed between its phases --------------------------------
if [ "$VARIANT" = local ]; then
	# what phase 1 leaves on a node when the coordinator dies before phase 2
	run 0 env CASSETTE_CONFIG="$W/127.0.0.1.ini" "$CASSETTE" backup-node --backup-name lost --snapshot-only
	[ -n "$(find "$W/127.0.0.1/data" -path '*/snapshots/cassette-lost/*' -print -quit)" ] || fail "no snapshot to lose"
	cas 0 backup-cluster --backup-name c5
	grep -q "cleared snapshot cassette-lost" "$W/coord/tmp/cassette-cluster-c5/127.0.0.1.snapshot.log" ||
		fail "the next run did not say it cleared the abandoned snapshot"
	[ -z "$(find "$W"/127.0.0.*/data -path '*/snapshots/*' -print -quit)" ] || fail "a snapshot is left behind"
	[ -z "$(ls "$W/127.0.0.1/tmp" | grep ctimes)" ] || fail "a ctimes file is left behind"
	ok "snapshots left by a backup-cluster killed between its phases are cleared by the next run"
fi

echo "cluster ($VARIANT): $CHECKS checks passed"
