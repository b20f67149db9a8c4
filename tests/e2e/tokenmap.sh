#!/usr/bin/env bash
# tokenmap.json end to end: a backup records the whole cluster the fake
# nodetool's ring and status print (names, sorted tokens, data centers, racks,
# down nodes); this node's name must be among them; names by reverse lookup;
# the hardlink fallback and its warning; fetch-tokenmap, which needs no key.
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
head -c 5000 /dev/urandom > "$D/ks1/$T1/nb-1-big-Data.db"
"$CASSETTE" keygen > "$W/k"
STORE=$W/store
# tokenmap_is FILE PYTHON-DICT: the JSON in FILE is exactly that, keys sorted
tokenmap_is() {
	python3 - "$1" "$2" <<'PY' || fail "$1 is not the expected tokenmap: $(cat "$1")"
import json, sys
text = open(sys.argv[1]).read()
m = json.loads(text)
want = eval(sys.argv[2], {"true": True, "false": False, "null": None})
assert m == want, m
assert list(m) == sorted(m), list(m)
assert all(type(t) is int for n in m.values() for t in n["tokens"]), "tokens are not JSON integers"
PY
}

# ---- the cluster in the map ----------------------------------------------------
cat > "$W/cluster" <<'EOF'
# three nodes in two data centers, tokens in no order, one node down
node1.example  dc1  rack1             up    3074457345618258602,-9223372036854775808,-3074457345618258603
10.0.0.2       dc1  rack2             down  6148914691236517204,0,-6148914691236517206
10.0.0.3       dc2  us-east-1c-rack   up    1,-1   # a rack long enough to run into the ring's Status
EOF
CLUSTER3='{
 "10.0.0.2": {"tokens": [-6148914691236517206, 0, 6148914691236517204], "is_up": false, "rack": "rack2", "dc": "dc1"},
 "10.0.0.3": {"tokens": [-1, 1], "is_up": true, "rack": "us-east-1c-rack", "dc": "dc2"},
 "node1.example": {"tokens": [-9223372036854775808, -3074457345618258603, 3074457345618258602],
                   "is_up": true, "rack": "rack1", "dc": "dc1"}}'
CFG=$W/node.ini
CLUSTER=$W/cluster write_config "$CFG" "$D" "$STORE" "key_secret_file = $W/k"
FAKE_NODETOOL_LOG=$W/nodetool.log cas 0 backup-node --backup-name b1
grep -q "^ring" "$W/nodetool.log" && grep -q "^status" "$W/nodetool.log" || fail "nodetool ring and status were not run"
[ "$(awk '{ print $1 }' "$W/nodetool.log" | head -3 | tr '\n' ' ')" = "ring status snapshot " ] ||
	fail "the topology is not read before the snapshot: $(cat "$W/nodetool.log")"
grep -q "warning" "$W/err" && fail "unexpected warning: $(cat "$W/err")"
tokenmap_is "$STORE/node1.example/b1/meta/tokenmap.json" "$CLUSTER3"
cmp "$STORE/node1.example/b1/meta/tokenmap.json" "$STORE/index/backup_index/b1/tokenmap_node1.example.json" ||
	fail "the index copy of the tokenmap differs"
ok "a backup's tokenmap.json holds the 3-node cluster: sorted integer tokens, dc, rack, is_up false for the down node"

# In hardlink mode nodetool is asked too; when it answers, the map is the same.
SNAPSHOT_MODE=hardlink CLUSTER=$W/cluster write_config "$W/hl.ini" "$D" "$STORE" "key_secret_file = $W/k"
CFG=$W/hl.ini cas 0 backup-node --backup-name h1
grep -q "warning" "$W/err" && fail "unexpected warning: $(cat "$W/err")"
tokenmap_is "$STORE/node1.example/h1/meta/tokenmap.json" "$CLUSTER3"
ok "hardlink mode asks nodetool too and records the same cluster"

# ---- fetch-tokenmap ----------------------------------------------------------------
run 0 "$CASSETTE" --help; out_has "fetch-tokenmap"
run 0 "$CASSETTE" fetch-tokenmap --help; out_has "usage: cassette"; out_has "--backup-name"; out_has "no key"
CLUSTER=$W/cluster write_config "$W/nokey.ini" "$D" "$STORE"
CFG=$W/nokey.ini
unset CASSETTE_KEY_FILE
CASSETTE_STORAGE_TRACE=$W/trace cas 0 fetch-tokenmap --backup-name b1
cmp "$W/out" <(cat "$STORE/node1.example/b1/meta/tokenmap.json"; echo) || fail "fetch-tokenmap printed $(cat "$W/out")"
[ "$(cat "$W/trace")" = "get node1.example/b1/meta/tokenmap.json" ] || fail "fetch-tokenmap read more than the tokenmap: $(cat "$W/trace")"
cas 0 fetch-tokenmap --backup-name h1 --fqdn node1.example
tokenmap_is "$W/out" "$CLUSTER3"
cas 1 fetch-tokenmap --backup-name nope
err_has "backup 'nope' of node node1.example does not exist (no node1.example/nope/meta/tokenmap.json)"; one_line_err
cas 1 fetch-tokenmap --backup-name b1 --fqdn 10.0.0.2; err_has "backup 'b1' of node 10.0.0.2 does not exist"
cas 2 fetch-tokenmap; err_has "fetch-tokenmap needs --backup-name NAME"
cas 2 fetch-tokenmap --backup-name ../b1; err_has "'../b1' is not a valid backup name"
cas 2 fetch-tokenmap --backup-name b1 --mode full; err_has "does not apply"
ok "fetch-tokenmap prints a backup's tokenmap with no key, reading that one object; clear errors otherwise"

# ---- this node's name must be in the map ----------------------------------------------
FQDN=node9.example CLUSTER=$W/cluster write_config "$W/n9.ini" "$D" "$STORE" "key_secret_file = $W/k"
CFG=$W/n9.ini cas 1 backup-node --backup-name b2
err_has "this node's name node9.example ([storage] fqdn or --fqdn) is not in the cluster nodetool reports, whose nodes are named node1.example, 10.0.0.2, 10.0.0.3 (their addresses as nodetool prints them, [cassandra] resolve_ip_addresses = false)"
one_line_err
[ ! -e "$STORE/node9.example" ] && [ ! -e "$STORE/index/backup_index/b2" ] || fail "a refused backup wrote to storage"
[ -z "$(find "$D" -path '*snapshots*' -name '*b2*')" ] || fail "a refused backup took a snapshot"
CFG=$W/node.ini cas 1 backup-node --backup-name b2 --fqdn 10.0.0.9; err_has "this node's name 10.0.0.9"
ok "a backup whose node is not in the cluster fails before any work, naming the fqdn and the names found"

# ---- names by reverse lookup ---------------------------------------------------------
# The fake prints addresses as given; what they resolve to depends on the
# host, so ask the host first.
lookup() { python3 -c 'import socket, sys; print(socket.getnameinfo((sys.argv[1], 0), socket.NI_NAMEREQD)[0])' "$1" 2>/dev/null || true; }
LOCAL=$(lookup 127.0.0.1)
V6=$(lookup ::1)
resolving() { # resolving INI: the same config with resolve_ip_addresses = true
	sed -i 's/^resolve_ip_addresses = false$/resolve_ip_addresses = true/' "$1"
}
if [ -n "$LOCAL" ]; then
	printf '%s\n' "127.0.0.1:7000 dc1 r1 up 10,20" "db2.example:7000 dc1 r1 up 30" \
		"[0:0:0:0:0:0:0:1]:7000 dc1 r2 up 40" > "$W/c-names"
	FQDN=$LOCAL CLUSTER=$W/c-names write_config "$W/names.ini" "$D" "$STORE" "key_secret_file = $W/k"
	resolving "$W/names.ini"
	CFG=$W/names.ini cas 0 backup-node --backup-name r1
	if [ -n "$V6" ]; then
		V6KEY=$V6
	else
		V6KEY="[0:0:0:0:0:0:0:1]:7000"
		err_has "cassette: warning: reverse lookup found no host name for [0:0:0:0:0:0:0:1]:7000: tokenmap.json names each by its address"
	fi
	tokenmap_is "$STORE/$LOCAL/r1/meta/tokenmap.json" "{
		'$LOCAL': {'tokens': [10, 20], 'is_up': true, 'rack': 'r1', 'dc': 'dc1'},
		'db2.example': {'tokens': [30], 'is_up': true, 'rack': 'r1', 'dc': 'dc1'},
		'$V6KEY': {'tokens': [40], 'is_up': true, 'rack': 'r2', 'dc': 'dc1'}}"
	# two nodes on one IP (ports 7000 and 8000) get one name: an error naming both
	printf '%s\n' "127.0.0.1:7000 dc1 r1 up 10" "127.0.0.1:8000 dc1 r1 up 20" > "$W/c-same"
	FQDN=$LOCAL CLUSTER=$W/c-same write_config "$W/same.ini" "$D" "$STORE" "key_secret_file = $W/k"
	resolving "$W/same.ini"
	CFG=$W/same.ini cas 1 backup-node --backup-name r2
	err_has "two nodes of the cluster are both named $LOCAL: 127.0.0.1:7000 and 127.0.0.1:8000"
	# the same cluster named by address is fine
	FQDN=127.0.0.1:8000 CLUSTER=$W/c-same write_config "$W/same2.ini" "$D" "$STORE" "key_secret_file = $W/k"
	CFG=$W/same2.ini cas 0 backup-node --backup-name r2
	ok "resolve_ip_addresses: names by reverse lookup ($LOCAL), ports stripped, names kept; one name for two nodes is an error"
else
	echo "# skipped the reverse-lookup checks: 127.0.0.1 has no host name on this machine"
fi

# ---- nodetool failing ------------------------------------------------------------------
# hardlink mode (no Cassandra running): this node alone, tokens unknown, a warning
SNAPSHOT_MODE=hardlink CLUSTER=$W/cluster write_config "$W/hl.ini" "$D" "$STORE" "key_secret_file = $W/k"
FAKE_NODETOOL_FAIL=ring CFG=$W/hl.ini cas 0 backup-node --backup-name h2
out_has "backup h2 of node node1.example complete"
err_has "cassette: warning: tokenmap.json holds node node1.example alone, without tokens ("
err_has "ring' failed (exit status 1)): this backup cannot seed a new cluster"
tokenmap_is "$STORE/node1.example/h2/meta/tokenmap.json" \
	'{"node1.example": {"tokens": [], "is_up": true, "rack": null, "dc": null}}'
FAKE_NODETOOL_FAIL=status CFG=$W/hl.ini cas 0 backup-node --backup-name h3
err_has "status' failed (exit status 1)): this backup cannot seed a new cluster"
# the fake without --cluster fails its ring, as a stopped node's nodetool would
SNAPSHOT_MODE=hardlink write_config "$W/hl2.ini" "$D" "$STORE" "key_secret_file = $W/k"
sed -i "s|--cluster [^ ]* ||" "$W/hl2.ini"
CFG=$W/hl2.ini cas 0 backup-node --backup-name h4
err_has "fake-nodetool: ring needs --cluster FILE"; err_has "cannot seed a new cluster"
tokenmap_is "$STORE/node1.example/h4/meta/tokenmap.json" \
	'{"node1.example": {"tokens": [], "is_up": true, "rack": null, "dc": null}}'
CFG=$W/nokey.ini cas 0 fetch-tokenmap --backup-name h4; out_has '"tokens":[]'
ok "hardlink mode without nodetool: the node alone with tokens [] and a warning that it cannot seed a new cluster"

# nodetool mode: nodetool failing, or printing what is not a ring, fails the backup
FAKE_NODETOOL_FAIL=ring CFG=$W/node.ini cas 1 backup-node --backup-name b3
err_has "ring' failed (exit status 1)"
[ ! -e "$STORE/node1.example/b3" ] || fail "a failed backup wrote meta"
sed "s|^nodetool_cmd = .*|nodetool_cmd = echo|" "$W/hl.ini" > "$W/echo.ini"
CFG=$W/echo.ini cas 1 backup-node --backup-name b3
err_has "nodetool ring: no 'Datacenter:' line in its 1 line of output"
ok "nodetool failing in nodetool mode, or output that is not a ring in any mode, fails the backup"
echo "all $CHECKS checks passed"
