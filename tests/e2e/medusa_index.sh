#!/usr/bin/env bash
# Medusa's list-backups over a store cassette wrote (issue 13, docs/FORMAT.md "The listing
# index"): it lists every key under <prefix>/index/backup_index (a prefix: backup_index_x/
# too), keeps those of exactly 4 path parts (5 with a prefix), and asserts that each name
# matches one of two patterns. So every key cassette leaves there must match, after a full
# and a differential backup, a backup of a 2-node cluster, a verify that flags damage and
# an interrupted delete-backup. The cluster marker, the damaged and the deleting flags live
# in index/node_index/<fqdn>/<backup>/ instead, and still do their jobs: completeness over
# both nodes' markers, a damaged backup listed so, a deleting one hidden and finished by a
# rerun. A store of before (tests/fixtures/v1: cluster_ markers in backup_index/, and a
# deleting_<fqdn> flag planted there) still lists, and purge and delete-backup remove them.
. "$(dirname "$0")/lib.sh"

# medusa_check STORE [PREFIX]: every key under STORE/[PREFIX/]index/backup_index* as
# Medusa 0.30 reads it. The two patterns restate Medusa's INDEX_BLOB_WITH_TIMESTAMP_PATTERN
# and INDEX_BLOB_NAME_PATTERN (medusa/storage/__init__.py), tried in that order with
# re.match on the whole key; the part count is its has_proper_name rule. A name it cannot
# place would be Medusa's "Encountered malformed index blob name" assertion. The fqdn it
# reads (its remove_extension on group 2) must be one of the backup's nodes, so a key never
# makes up a node either.
medusa_check() {
	python3 - "$1" "${2:-}" <<'PY'
import os, re, sys
TIMESTAMP = re.compile(r'.*(started|finished)_(.*)_([0-9]+).timestamp$')
NAME = re.compile(r'.*(tokenmap|schema|manifest|differential|incremental)_(.*)$')
store, prefix = sys.argv[1], sys.argv[2]
pre = prefix + "/" if prefix else ""
keys = []
for d, _, files in os.walk(store):
    for f in files:
        k = os.path.relpath(os.path.join(d, f), store)
        if k.startswith(pre + "index/backup_index"):
            keys.append(k)
bad, nodes = [], {}
for k in keys:
    parts = k.split("/")
    if len(parts) != (5 if prefix else 4):
        bad.append("%s: %d path parts" % (k, len(parts)))
        continue
    m = TIMESTAMP.match(k) or NAME.match(k)
    if m is None:
        bad.append("%s: matches neither pattern" % k)
        continue
    fqdn = m.group(2)
    for ext in (".json", ".cql", ".txt", ".timestamp"):
        fqdn = fqdn.replace(ext, "")
    nodes.setdefault(parts[-2], set()).add((fqdn, k))
for backup, seen in nodes.items():
    started = {f for f, k in seen if "/started_" in k}
    bad += ["%s: Medusa reads node %r, which never started backup %s" % (k, f, backup)
            for f, k in seen if f not in started]
if not keys:
    bad.append("no key under %sindex/backup_index at all (test bug)" % pre)
for b in bad:
    print("medusa:", b)
sys.exit(1 if bad else 0)
PY
}
# a store shaped like STORE whose backup_index holds NAME too: medusa_check must fail on it
caught() {
	rm -rf "$W/ctl"; cp -r "$1" "$W/ctl"
	mkdir -p "$(dirname "$W/ctl/${3:+$3/}index/backup_index/$2")"
	: > "$W/ctl/${3:+$3/}index/backup_index/$2"
	if medusa_check "$W/ctl" "${3:-}" > "$W/ctl.out"; then fail "control: medusa_check accepts $2"; fi
	grep -q "matches neither pattern\|path parts" "$W/ctl.out" || { cat "$W/ctl.out"; fail "control: $2 failed otherwise"; }
}

D=$W/data
mk() { mkdir -p "$(dirname "$1")"; head -c "$2" /dev/urandom > "$1"; }
T1=t1-0123456789abcdef0123456789abcdef
mk "$D/ks1/$T1/nb-1-big-Data.db" 4000
mk "$D/ks1/$T1/nb-1-big-Index.db" 300
S=$W/store
CFG=$W/node1.ini
write_config "$CFG" "$D" "$S" "encryption = none"
N1=index/node_index/node1.example

# ---- a full and a differential backup ------------------------------------------------
cas 0 backup-node --backup-name b1 --mode full
mk "$D/ks1/$T1/nb-2-big-Data.db" 2000
cas 0 backup-node --backup-name b2
[ -e "$S/index/backup_index/b2/differential_node1.example" ] || fail "b2 is not differential (test bug)"
ls "$S/$N1/b1"/cluster_1_* > /dev/null || fail "no cluster marker in b1's node index folder"
[ -z "$(ls "$S/index/backup_index/b1" | grep -v '^\(started\|finished\|manifest\|schema\|tokenmap\|differential\)_' || true)" ] ||
	fail "backup_index/b1 holds other names: $(ls "$S/index/backup_index/b1")"
medusa_check "$S" || fail "Medusa cannot list a full and a differential backup"
caught "$S" b1/cluster_1_0123456789abcdef
caught "$S" b1/deleting_node1.example
caught "$S" b1/damaged_node1.example
caught "$S" b1/x/started_node1.example_1.timestamp
ok "after a full and a differential backup every backup_index key is one Medusa places (controls: cluster_, deleting_, damaged_, a 5-part key are caught)"

# ---- a verify that flags damage ------------------------------------------------------
M=$S/node1.example/b1/meta/manifest.json
cp "$M" "$W/m1"
truncate -s $(( $(stat -c %s "$M") / 2 )) "$M"
cas 1 verify --backup-name b1
err_has "its manifest is unreadable"
[ -f "$S/$N1/b1/damaged" ] || fail "no damaged flag in b1's node index folder"
medusa_check "$S" || fail "Medusa cannot list after verify flagged a backup damaged"
cas 0 list-backups --output json
python3 - "$W/out" <<'PY'
import json, sys
bs = {b["name"]: b for b in json.load(open(sys.argv[1]))}
assert bs["b1"]["damaged"] and not bs["b2"]["damaged"], bs
PY
cp "$W/m1" "$M"; rm "$S/$N1/b1/damaged"
cas 0 list-backups --output json
python3 -c 'import json,sys; assert not any(b["damaged"] for b in json.load(open(sys.argv[1])))' "$W/out" ||
	fail "control: b1 still listed damaged without its flag"
ok "verify flags an unreadable manifest in index/node_index/<fqdn>/<backup>/damaged; list-backups shows it damaged (and not without the flag); Medusa still lists"

# ---- an interrupted delete-backup ----------------------------------------------------
CASSETTE_STORAGE_FAULTS=delete:3+:eio cas 1 delete-backup --backup-name b2
err_has "injected fault: delete"
[ -f "$S/$N1/b2/deleting" ] || fail "no deleting flag after the interruption: $(ls "$S/$N1/b2" 2>&1)"
[ -n "$(ls "$S/index/backup_index/b2")" ] || fail "the interruption came too late (test bug)"
medusa_check "$S" || fail "Medusa cannot list after an interrupted delete-backup"
cas 0 list-backups
grep -q '^b2 ' "$W/out" && fail "list-backups shows a backup being deleted"
# and a flag whose backup_index entries are all gone already (stopped before its last step)
mkdir -p "$S/$N1/bz"; echo "purge (pid 1) began removing this node's backup at 1" > "$S/$N1/bz/deleting"
cas 0 delete-backup --backup-name b1
out_has "removed backup b2 of node node1.example (an earlier removal was interrupted)"
out_has "removed backup bz of node node1.example (an earlier removal was interrupted)"
out_has "removed backup b1 of node node1.example"
[ ! -e "$S/index/backup_index/b2" ] && [ ! -e "$S/index/backup_index/b1" ] || fail "index entries left: $(find "$S/index/backup_index")"
[ -z "$(find "$S/$N1" -type f 2>/dev/null)" ] || fail "node index entries left: $(find "$S/$N1" -type f)"
ok "an interrupted delete-backup leaves node_index/<fqdn>/<backup>/deleting (not in backup_index/): the backup is hidden, the next run finishes it and the flag goes last"

# ---- a backup of a 2-node cluster, in a prefix ---------------------------------------
printf '%s\n' "node1.example dc1 rack1 up -6917529027641081856,2305843009213693952" \
	"node2.example dc1 rack1 up -2305843009213693952,6917529027641081856" > "$W/two.cluster"
S2=$W/store2
for n in 1 2; do
	mkdir -p "$W/d$n"; cp -r "$D/ks1" "$W/d$n/"
	CLUSTER=$W/two.cluster FQDN=node$n.example write_config "$W/n$n.ini" "$W/d$n" "$S2" \
		"encryption = none" "prefix = pre"
done
CFG=$W/n1.ini cas 0 backup-node --backup-name c1
CFG=$W/n1.ini cas 0 list-backups --output json
python3 - "$W/out" <<'PY'
import json, sys
b, = json.load(open(sys.argv[1]))
assert b["cluster"]["complete"] is False and b["cluster"]["nodes"] == 2, b
PY
# status reads node1's marker (in its node index folder) for the names: node2 is missing
CFG=$W/n1.ini cas 0 status --backup-name c1 --output json
python3 - "$W/out" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert not s["complete"] and [(n["fqdn"], n["state"]) for n in s["nodes"]] == \
    [("node1.example", "finished"), ("node2.example", "missing")], s
PY
CFG=$W/n2.ini cas 0 backup-node --backup-name c1
CFG=$W/n1.ini cas 0 list-backups --output json
python3 - "$W/out" <<'PY'
import json, sys
b, = json.load(open(sys.argv[1]))
assert b["cluster"] == {"complete": True, "nodes_finished": 2, "nodes": 2}, b
PY
for n in 1 2; do
	ls "$S2/pre/index/node_index/node$n.example/c1"/cluster_2_* > /dev/null || fail "node$n wrote no cluster marker"
done
medusa_check "$S2" pre || fail "Medusa cannot list a 2-node cluster backup in a prefix"
caught "$S2" c1/cluster_2_0123456789abcdef pre
CFG=$W/n1.ini cas 0 get-last-complete-cluster-backup
out_has "c1"
# either node's marker makes the set: without node1's, node2's still names both
rm "$S2/pre/index/node_index/node1.example/c1"/cluster_2_*
CFG=$W/n1.ini cas 0 list-backups --output json
python3 -c 'import json,sys; b, = json.load(open(sys.argv[1])); assert b["cluster"]["complete"], b' "$W/out" ||
	fail "the union of the nodes' markers does not decide completeness"
rm "$S2/pre/index/node_index/node2.example/c1"/cluster_2_*
CFG=$W/n1.ini cas 0 list-backups --output json
python3 -c 'import json,sys; b, = json.load(open(sys.argv[1])); assert b["cluster"]["nodes"] == 2 and b["cluster"]["complete"], b' "$W/out" ||
	fail "without any marker, every node listed finished is complete"
ok "a 2-node cluster backup: each node writes the cluster marker in its node index folder, completeness is over their union, and Medusa's 5-part rule with a prefix holds"

# ---- a store of before: names in backup_index/ still read, and removed ---------------
cp -r "$SRC/tests/fixtures/v1/store" "$W/v1"
chmod -R u+w "$W/v1"
install -m 600 "$SRC/tests/fixtures/v1/key" "$W/v1key"
CFG=$W/v1.ini
write_config "$CFG" "$W/d1" "$W/v1" "key_secret_file = $W/v1key"
V1=$W/v1/index/backup_index
if medusa_check "$W/v1" > "$W/v1.medusa"; then fail "control: the old layout passes medusa_check"; fi
grep -q "cluster_1_29e97ed70ab1ff4e: matches neither pattern" "$W/v1.medusa" || { cat "$W/v1.medusa"; fail "control: the old cluster_ marker is not what fails"; }
cas 0 list-backups --output json
python3 - "$W/out" <<'PY'
import json, sys
bs = {b["name"]: b for b in json.load(open(sys.argv[1]))}
assert sorted(bs) == ["v1-first", "v1-second"], bs
assert all(b["cluster"]["complete"] and b["cluster"]["nodes"] == 1 for b in bs.values()), bs
PY
echo "purge (pid 1) began removing this node's backup at 1" > "$V1/v1-first/deleting_node1.example"
cas 0 list-backups
grep -q '^v1-first ' "$W/out" && fail "an old deleting_ flag does not hide the backup"
out_has "v1-second"
cas 0 delete-backup --backup-name v1-second
out_has "removed backup v1-first of node node1.example (an earlier removal was interrupted)"
out_has "removed backup v1-second of node node1.example"
[ ! -e "$V1/v1-first" ] && [ ! -e "$V1/v1-second" ] || fail "old index names left: $(find "$V1")"
[ -z "$(find "$W/v1/index/node_index" -type f 2>/dev/null)" ] || fail "node index entries left"
ok "a store of before: its cluster_ markers count and its deleting_ flag hides; delete-backup finishes the old removal and removes the old names (control: medusa_check fails on that store)"
