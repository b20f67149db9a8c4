#!/usr/bin/env bash
# Authenticated meta (docs/FORMAT.md, "auth.json") against the real store: each
# attack an attacker who can write to the bucket could make on the plaintext
# meta is refused with exit 1 by restore-node, restore-cluster and verify
# --deep, before anything is written, naming the file. A control restore of
# the untouched store is byte for byte, and the first attack, with auth.json
# deleted and --allow-unauthenticated, does restore the old file (so the MAC
# is what stops it). The independent reader (ref_cassette.py) verifies the
# auth.json the binary wrote, and refuses it tampered.
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
S=$W/store
N1=$S/node1.example
mkdir -p "$D/ks1/$T1" "$D/ks1/$T2"
for c in Data.db Index.db Statistics.db; do head -c 4000 /dev/urandom > "$D/ks1/$T1/nb-1-big-$c"; done
head -c 3000 /dev/urandom > "$D/ks1/$T2/nb-1-big-Data.db"
"$CASSETTE" keygen > "$W/k"
chmod 600 "$W/k"
cat > "$W/cluster" <<'EOF'
node1.example dc1 rack1 up -9223372036854775808,-3074457345618258603
node2.example dc1 rack2 up 0,3074457345618258602
EOF
export CLUSTER=$W/cluster
CFG=$W/node1.ini
write_config "$CFG" "$D" "$S" "key_secret_file = $W/k"

# b1, then Statistics.db rewritten in place (Cassandra does that), then b2:
# b2's entry for it is a new object under @b2/, b1's the old one.
cas 0 backup-node --backup-name b1
cp -a "$D" "$W/data.b1"
head -c 4100 /dev/urandom > "$D/ks1/$T1/nb-1-big-Statistics.db"
cas 0 backup-node --backup-name b2
grep -q "warning" "$W/err" && fail "unexpected warning: $(cat "$W/err")"
M2=$N1/b2/meta/manifest.json
STAT_KEY=node1.example/data/ks1/$T1/nb-1-big-Statistics.db
[ "$(pyjson "$M2" "[o['path'] for t in m for o in t['objects'] if o['path'].endswith('Statistics.db')][0]")" = \
	"node1.example/data/ks1/$T1/@b2/nb-1-big-Statistics.db" ] || fail "b2 did not store the new Statistics.db under @b2/"
for b in b1 b2; do
	[ -f "$N1/$b/meta/auth.json" ] || fail "backup $b has no meta/auth.json"
done
pyjson "$N1/b2/meta/auth.json" "sorted(m['objects'])" | grep -qF "['differential', 'manifest.json', 'schema.cql', 'server_version.json', 'tokenmap.json']" ||
	fail "auth.json of b2 does not list the five meta objects: $(cat "$N1/b2/meta/auth.json")"
[ -z "$(find "$S/index" -name '*auth*')" ] || fail "something of auth.json went into the index"
ok "every backup writes meta/auth.json over its five meta objects, and nothing new in the index"

# ---- the independent reader agrees ---------------------------------------------------
REF=$SRC/tests/crypto/ref_cassette.py
if /usr/bin/python3 -c 'import cryptography' 2>/dev/null; then
	# the MAC key derives from the node's data key: unwrapped with the key file
	run 0 /usr/bin/python3 "$REF" unwrap "$W/k" "$(find "$S/index/data_keys/node1.example" -type f)" "$W/dk"
	for b in b1 b2; do
		run 0 /usr/bin/python3 "$REF" verify-auth "$W/dk" node1.example "$b" "$N1/$b/meta"
	done
	run 2 /usr/bin/python3 "$REF" verify-auth "$W/dk" node1.example b1 "$N1/b2/meta"
	cp "$N1/b2/meta/tokenmap.json" "$W/tm.save"
	flip_byte "$N1/b2/meta/tokenmap.json" 3
	run 2 /usr/bin/python3 "$REF" verify-auth "$W/dk" node1.example b2 "$N1/b2/meta"
	err_has "tokenmap.json"
	cp "$W/tm.save" "$N1/b2/meta/tokenmap.json"
	ok "ref_cassette.py verifies the auth.json the binary wrote, and refuses another backup's or a changed tokenmap"
else
	echo "# skipped the reference check: /usr/bin/python3 cannot import cryptography"
fi

# ---- the control: untouched, a restore is byte for byte ---------------------------------
cas 0 restore-node --backup-name b2 --target-dir "$W/ctl"
[ ! -s "$W/err" ] || fail "a restore of an authenticated backup warned: $(cat "$W/err")"
diff <(sstable_digest "$D") <(sstable_digest "$W/ctl") || fail "the control restore differs"
cas 0 verify --backup-name b2 --deep
ok "control: the untouched backup restores byte for byte and verifies deep, silently"

# refused ATTACK CMD...: exit 1, one line naming the file, nothing in the target
TARGET=$W/target
refused() {
	local what=$1 file=$2; shift 2
	rm -rf "$TARGET"
	cas 1 "$@"
	one_line_err
	err_has "$file"
	err_has "authentication failed"
	[ ! -e "$TARGET" ] || { find "$TARGET"; fail "$what: the refused restore wrote into the target"; }
}
# save_meta DIR / restore_meta DIR: a copy of a meta folder, one per backup
save_meta() { rm -rf "$W/save.${1//\//_}"; cp -a "$1" "$W/save.${1//\//_}"; }
restore_meta() { rm -rf "$1"; cp -a "$W/save.${1//\//_}" "$1"; }
edit_manifest() { # edit_manifest FILE PYTHON (over m, the parsed manifest)
	python3 - "$1" "$2" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(m, open(sys.argv[1], "w"), separators=(",", ":"))
PY
}
save_meta "$N1/b2/meta"

# ---- (1) b2's entry pointed at b1's genuine older object of the same file ----------------
OLD_STAT="[o for t in json.load(open('$N1/b1/meta/manifest.json')) for o in t['objects'] if o['path'].endswith('Statistics.db')][0]"
POINT_OLD="old = $OLD_STAT
for t in m:
    for i, o in enumerate(t['objects']):
        if o['path'].endswith('Statistics.db'):
            t['objects'][i] = old"
edit_manifest "$M2" "$POINT_OLD"
grep -qF "\"$STAT_KEY\"" "$M2" || fail "attack 1 did not point the entry at b1's object"
refused "attack 1" "node1.example/b2/meta/manifest.json" restore-node --backup-name b2 --target-dir "$TARGET"
err_has "the manifest was changed after the backup wrote it"
refused "attack 1" "node1.example/b2/meta/manifest.json" verify --backup-name b2 --deep
[ -z "$(find "$S/index" -name 'damaged*')" ] || fail "a refused verify --deep wrote damage records"
# the attack is real: without auth.json and with the flag, the old file comes back
rm "$N1/b2/meta/auth.json"
cas 0 restore-node --backup-name b2 --target-dir "$W/attack1" --allow-unauthenticated
cmp -s "$W/attack1/ks1/$T1/nb-1-big-Statistics.db" "$W/data.b1/ks1/$T1/nb-1-big-Statistics.db" ||
	fail "attack 1 without the MAC did not restore the old version: is the test's attack real?"
restore_meta "$N1/b2/meta"
ok "(1) an entry pointed at the older genuine object (salt, sizes, MD5s to match) is refused by restore and verify --deep; without auth.json and with --allow-unauthenticated it restores the old file"

# ---- (2) an entry deleted -----------------------------------------------------------------
edit_manifest "$M2" "m[0]['objects'].pop()"
refused "attack 2" "node1.example/b2/meta/manifest.json" restore-node --backup-name b2 --target-dir "$TARGET"
refused "attack 2" "node1.example/b2/meta/manifest.json" verify --backup-name b2 --deep
restore_meta "$N1/b2/meta"
ok "(2) a manifest with an entry deleted is refused"

# ---- (3) an old object copied under a new @backup key, the manifest edited to match -------
NEW_KEY=node1.example/data/ks1/$T1/@b9/nb-1-big-Statistics.db
mkdir -p "$(dirname "$S/$NEW_KEY")"
cp "$S/$STAT_KEY" "$S/$NEW_KEY"
edit_manifest "$M2" "$POINT_OLD
for t in m:
    for o in t['objects']:
        if o['path'] == '$STAT_KEY':
            o['path'] = '$NEW_KEY'"
grep -qF "\"$NEW_KEY\"" "$M2" || fail "attack 3 did not edit the manifest"
refused "attack 3" "node1.example/b2/meta/manifest.json" restore-node --backup-name b2 --target-dir "$TARGET"
refused "attack 3" "node1.example/b2/meta/manifest.json" verify --backup-name b2 --deep
# auth.json rewritten to the new manifest's digest: its MAC no longer matches
python3 - "$N1/b2/meta/auth.json" "$M2" <<'PY'
import hashlib, json, sys
a = json.load(open(sys.argv[1]))
a["objects"]["manifest.json"] = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
json.dump(a, open(sys.argv[1], "w"), separators=(",", ":"))
PY
refused "attack 3" "node1.example/b2/meta/auth.json" restore-node --backup-name b2 --target-dir "$TARGET"
err_has "MAC does not match"
restore_meta "$N1/b2/meta"
rm -rf "$S/node1.example/data/ks1/$T1/@b9"
ok "(3) an old object copied under a new @backup key with the manifest to match is refused; so is auth.json with the digest to match (MAC)"

# ---- (4) the tokenmap edited to move tokens between the nodes ------------------------------------
SWAP='t = m["node1.example"]["tokens"]; m["node1.example"]["tokens"] = m["node2.example"]["tokens"]; m["node2.example"]["tokens"] = t'
# restore-cluster plans with the index copy (node2 never backed up: --allow-incomplete)
IDX_TM=$S/index/backup_index/b2/tokenmap_node1.example.json
cp "$IDX_TM" "$W/idx_tm.save"
cas 0 restore-cluster --backup-name b2 --allow-incomplete --dry-run
out_has "the plan (dry run"
edit_manifest "$IDX_TM" "$SWAP"
cas 1 restore-cluster --backup-name b2 --allow-incomplete --dry-run
one_line_err; err_has "index/backup_index/b2/tokenmap_node1.example.json"; err_has "authentication failed"
err_has "the tokenmap was changed"
grep -q "TARGET" "$W/out" && fail "restore-cluster printed a plan from a changed tokenmap"
cp "$W/idx_tm.save" "$IDX_TM"
# restore-node --in-place onto another host takes the source's tokens from meta/tokenmap.json
mkdir -p "$W/n2data"
printf 'cluster_name: test\nnum_tokens: 2\n' > "$W/n2.yaml"
FQDN=node2.example write_config "$W/node2.ini" "$W/n2data" "$S" "key_secret_file = $W/k"
sed -i "s|^\[cassandra\]|[cassandra]\nstop_cmd = echo stop >> $W/calls\nstart_cmd = echo start >> $W/calls\nconfig_file = $W/n2.yaml|" "$W/node2.ini"
edit_manifest "$N1/b2/meta/tokenmap.json" "$SWAP"
CFG=$W/node2.ini cas 1 restore-node --in-place --fqdn node1.example --backup-name b2
one_line_err; err_has "node1.example/b2/meta/tokenmap.json"; err_has "authentication failed"
[ ! -e "$W/calls" ] || fail "stop_cmd ran although the tokenmap was refused"
[ -z "$(find "$W/n2data" -mindepth 1)" ] || fail "the refused in-place restore wrote into data_dir"
restore_meta "$N1/b2/meta"
CFG=$W/node2.ini cas 0 restore-node --in-place --fqdn node1.example --backup-name b2
grep -q "^initial_token: -9223372036854775808,-3074457345618258603" "$W/n2.yaml" || fail "the control in-place restore did not set node1's tokens: $(cat "$W/n2.yaml")"
ok "(4) a tokenmap with tokens moved between nodes is refused: restore-cluster (index copy) and restore-node --in-place (meta/tokenmap.json), before any stop_cmd; untouched, it restores node1's tokens"

# ---- (5) a manifest moved to another backup, or to another node --------------------------------
save_meta "$N1/b1/meta"
cp "$N1/b2/meta/manifest.json" "$N1/b1/meta/manifest.json"
refused "attack 5" "node1.example/b1/meta/manifest.json" restore-node --backup-name b1 --target-dir "$TARGET"
cp "$N1/b2/meta/auth.json" "$N1/b1/meta/auth.json"	# with its auth.json too
refused "attack 5" "node1.example/b1/meta/auth.json" restore-node --backup-name b1 --target-dir "$TARGET"
err_has "moved from another backup or node"
refused "attack 5" "node1.example/b1/meta/auth.json" verify --backup-name b1 --deep
# its fields edited to the new place: the MAC binds them
python3 - "$N1/b1/meta/auth.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); a["backup"] = "b1"
json.dump(a, open(sys.argv[1], "w"), separators=(",", ":"))
PY
refused "attack 5" "node1.example/b1/meta/auth.json" restore-node --backup-name b1 --target-dir "$TARGET"
err_has "MAC does not match"
restore_meta "$N1/b1/meta"
# another node: node1's meta folder copied as node2's
mkdir -p "$S/node2.example/b2"
cp -a "$N1/b2/meta" "$S/node2.example/b2/meta"
refused "attack 5" "node2.example/b2/meta/auth.json" restore-node --fqdn node2.example --backup-name b2 --target-dir "$TARGET"
python3 - "$S/node2.example/b2/meta/auth.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1])); a["fqdn"] = "node2.example"
json.dump(a, open(sys.argv[1], "w"), separators=(",", ":"))
PY
rm -rf "$TARGET"
cas 1 restore-node --fqdn node2.example --backup-name b2 --target-dir "$TARGET"
one_line_err; err_has "node2.example/b2/meta/auth.json"
[ ! -e "$TARGET" ] || fail "attack 5: the refused restore wrote into the target"
# the MAC key is node1's data key, which node2 does not have (data keys are
# per node, their wraps bound to it: e2e_rotate); the MAC binds the fqdn too
err_has "neither a data key of node node2.example"
rm -rf "$S/node2.example"
ok "(5) a manifest moved to another backup or node is refused, with or without its auth.json, its fields edited or not"

# ---- (6) auth.json deleted ---------------------------------------------------------------------
rm "$N1/b2/meta/auth.json"
rm -rf "$TARGET"
cas 1 restore-node --backup-name b2 --target-dir "$TARGET"
one_line_err; err_has "node1.example/b2/meta/auth.json: not found"; err_has "--allow-unauthenticated"
[ ! -e "$TARGET" ] || fail "a restore without auth.json wrote into the target"
cas 1 verify --backup-name b2 --deep
one_line_err; err_has "node1.example/b2/meta/auth.json: not found"
cas 0 restore-node --backup-name b2 --target-dir "$TARGET" --allow-unauthenticated
one_line_err; err_has "warning: backup b2 of node node1.example is not authenticated"
diff <(sstable_digest "$D") <(sstable_digest "$TARGET") || fail "the --allow-unauthenticated restore differs"
cas 0 verify --backup-name b2 --deep --allow-unauthenticated
one_line_err; err_has "is not authenticated"
# the flag never excuses a wrong MAC
restore_meta "$N1/b2/meta"
flip_byte "$M2" 5
rm -rf "$TARGET"
cas 1 restore-node --backup-name b2 --target-dir "$TARGET" --allow-unauthenticated
one_line_err; err_has "node1.example/b2/meta/manifest.json: authentication failed"
[ ! -e "$TARGET" ] || fail "--allow-unauthenticated let a changed manifest write"
restore_meta "$N1/b2/meta"
ok "(6) without auth.json: refused (exit 1), and with --allow-unauthenticated one warning line and a byte-for-byte restore; a changed manifest is refused even with the flag"

# ---- (7) an index copy edited ---------------------------------------------------------------------
flip_byte "$IDX_TM" 2
cas 1 restore-cluster --backup-name b2 --allow-incomplete --dry-run --allow-unauthenticated
one_line_err; err_has "index/backup_index/b2/tokenmap_node1.example.json: authentication failed"
cp "$W/idx_tm.save" "$IDX_TM"
cas 0 restore-cluster --backup-name b2 --allow-incomplete --dry-run
ok "(7) a flipped byte in an index copy is refused (even with --allow-unauthenticated); restored, the plan is made"

# ---- without a key nothing changes --------------------------------------------------------------
write_config "$W/nokey.ini" "$D" "$S"
CFG=$W/nokey.ini cas 0 list-backups
out_has "b1"; out_has "b2"
grep -q "auth" "$W/out" && fail "list-backups shows auth.json"
CFG=$W/nokey.ini cas 0 verify --backup-name b2
ok "list-backups and verify without a key are unchanged"

# plaintext backups: no key, no auth.json, nothing to check
write_config "$W/plain.ini" "$D" "$W/plainstore" "encryption = none"
CFG=$W/plain.ini cas 0 backup-node --backup-name p1
[ ! -e "$W/plainstore/node1.example/p1/meta/auth.json" ] || fail "a plaintext backup wrote auth.json"
CFG=$W/plain.ini cas 0 restore-node --backup-name p1 --target-dir "$W/plain"
[ ! -s "$W/err" ] || fail "a plaintext restore without a key warned: $(cat "$W/err")"
diff <(sstable_digest "$D") <(sstable_digest "$W/plain") || fail "the plaintext restore differs"
ok "encryption = none: no auth.json, and its restore without a key is as before"

# ---- a differential backup trusts only authenticated manifests ------------------------------------
# b2's manifest changed: the next backup skips it as damaged and stores its files again
edit_manifest "$M2" "m[0]['objects'][0]['source_MD5'] = m[0]['objects'][0]['source_MD5']"
echo >> "$M2"	# same entries, other bytes: still not what auth.json proves
cas 0 backup-node --backup-name b3
err_has "node1.example/b2/meta/manifest.json: authentication failed"
[ -e "$S/index/node_index/node1.example/b2/damaged" ] || fail "the changed manifest of b2 was not flagged damaged"
restore_meta "$N1/b2/meta"
rm -rf "$S/index/node_index/node1.example/b2/damaged"
ok "a differential backup skips an earlier manifest that fails authentication, with a warning, and flags it damaged"

# ---- a killed run's orphan manifest is completed only when authentic -------------------------------
orphan() { # make backup $1 look killed between its manifest and its index
	rm -f "$S"/index/backup_index/"$1"/finished_* "$S"/index/backup_index/"$1"/manifest_* \
		"$S"/index/backup_index/"$1"/tokenmap_* "$S"/index/backup_index/"$1"/schema_*
	rm -rf "$S/index/node_index/node1.example/$1"
}
# full backups: only objects of their own (a differential one's unchanged
# files are earlier backups' objects, which FORMAT.md's check does not take)
cas 0 backup-node --backup-name b4 --mode full
orphan b4
flip_byte "$N1/b4/meta/schema.cql" 0
cas 0 backup-node --backup-name b4 --mode full
err_has "node1.example/b4/meta/schema.cql: authentication failed"; err_has "taken again"
out_has "backup b4 of node node1.example complete (full)"
cas 0 restore-node --backup-name b4 --target-dir "$W/b4"
diff <(sstable_digest "$D") <(sstable_digest "$W/b4") || fail "b4, taken again, differs"
cas 0 backup-node --backup-name b5 --mode full
orphan b5
cas 0 backup-node --backup-name b5 --mode full
err_has "completing the index"
out_has "(its index completed)"
ok "an orphan manifest is completed only when auth.json proves its meta; a changed one is dropped and the backup taken again"

# ---- purge and delete-backup take auth.json with the backup ------------------------------------------
cas 0 delete-backup --backup-name b1
[ ! -e "$N1/b1" ] || { find "$N1/b1"; fail "delete-backup left b1's folder (auth.json?)"; }
ok "delete-backup removes auth.json with the backup's folder"

echo "1..$CHECKS"
