#!/usr/bin/env bash
# cassette and Medusa's index, both ways (issue 13, docs/FORMAT.md "Medusa and cassette"):
# - cassette's finished marker is Medusa's finished_<fqdn>_<ts>.timestamp, content the time;
#   Medusa's own name parsing reads it right; the counts come from the node index, and an
#   old finished_<fqdn>_<ts>_<files>_<bytes> marker still lists, for a node whose name
#   ends in "_<digits>" too;
# - each finished backup points index/latest_backup/<fqdn>/ at itself; delete-backup of
#   the latest points it at the newest one left, or removes it;
# - backups written by Medusa (tests/support/medusa_store.py) list with their real counts,
#   marked "medusa": true, and restore byte for byte;
# - a plaintext differential backup over them reuses Medusa's pool objects (plain MD5; the
#   multipart md5-N form is medusa_etag.sh's); an encrypted one stores its own encrypted copy of each.
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
MIB=1048576
comp() { mkdir -p "$(dirname "$1")"; head -c "$2" /dev/urandom > "$1"; }
for g in 1 2 3; do
	comp "$D/ks0/$T1/nb-$g-big-Data.db" $((30000 + g * 1000))
	comp "$D/ks0/$T1/nb-$g-big-Index.db" 2000
done
comp "$D/ks0/$T2/nb-1-big-Data.db" $((17 * MIB + 5))    # Medusa's S3 ETag: 3 parts of 8 MiB
comp "$D/ks0/$T2/.t2_idx/nb-1-big-Data.db" 3000
N=$(find "$D" -type f | wc -l)
BYTES=$(find "$D" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
MEDUSA="python3 $SRC/tests/support/medusa_store.py"
IDX=index/backup_index

# ---- 1. the finished marker ------------------------------------------------------
S=$W/store
CFG=$W/plain.ini
write_config "$CFG" "$D" "$S" "encryption = none"
cas 0 backup-node --backup-name c1
f=$(cd "$S/$IDX/c1" && ls finished_*)
ts=$(cat "$S/$IDX/c1/$f")
[ "$f" = "finished_node1.example_$ts.timestamp" ] || fail "finished marker $f (content $ts) is not Medusa's form"
# Medusa's own reading (medusa/storage/__init__.py INDEX_BLOB_WITH_TIMESTAMP_PATTERN)
medusa_reads() { # medusa_reads NAME: "<fqdn> <timestamp>" as Medusa parses the name
	python3 -c 'import re,sys; m = re.match(r".*(started|finished)_(.*)_([0-9]+).timestamp$", sys.argv[1]); print(m.group(2), m.group(3))' "$1"
}
[ "$(medusa_reads "$f")" = "node1.example $ts" ] || fail "Medusa misreads $f"
# control: the old form is what Medusa misread
[ "$(medusa_reads "finished_node1.example_${ts}_${N}_$BYTES.timestamp")" != "node1.example $ts" ] ||
	fail "control: Medusa's pattern reads the old form right"
cas 0 list-backups --output json
python3 - "$W/out" "$N" "$BYTES" <<'PY'
import json, sys
b, = json.load(open(sys.argv[1]))
n = b["nodes"][0]
assert (b["files"], b["size"], b["complete"], b["medusa"]) == (int(sys.argv[2]), int(sys.argv[3]), True, False), b
assert (n["files"], n["size"], n["medusa"]) == (int(sys.argv[2]), int(sys.argv[3]), False), n
PY
ok "the finished marker is Medusa's finished_<fqdn>_<ts>.timestamp holding <ts>; the counts come from the node index"

# the old form, from a store of cassette before it; for a node named "n_7" too
mkdir -p "$S/$IDX/old1" "$S/$IDX/old2"
echo 1700000000 > "$S/$IDX/old1/started_n_7_1700000000.timestamp"
echo 1700000100 > "$S/$IDX/old1/finished_n_7_1700000100_12_3456.timestamp"
echo 1700000000 > "$S/$IDX/old2/started_n_7_1700000000.timestamp"
echo 1700000100 > "$S/$IDX/old2/finished_n_7_1700000100.timestamp"      # the new form, same node
echo 1700000000 > "$S/$IDX/old2/started_n_7_12_1700000000.timestamp"    # and node "n_7_12"
echo 1700000200 > "$S/$IDX/old2/finished_n_7_12_1700000200.timestamp"
cas 0 list-backups --output json --show-all
python3 - "$W/out" <<'PY'
import json, sys
bs = {b["name"]: b for b in json.load(open(sys.argv[1]))}
o1 = {n["fqdn"]: n for n in bs["old1"]["nodes"]}
assert list(o1) == ["n_7"] and (o1["n_7"]["finished"], o1["n_7"]["files"], o1["n_7"]["size"]) == (1700000100, 12, 3456), o1
o2 = {n["fqdn"]: n for n in bs["old2"]["nodes"]}
assert sorted(o2) == ["n_7", "n_7_12"], o2
assert o2["n_7"]["finished"] == 1700000100 and o2["n_7_12"]["finished"] == 1700000200, o2
assert bs["old2"]["complete"], bs["old2"]
PY
rm -r "$S/$IDX/old1" "$S/$IDX/old2"
ok "an old finished_<fqdn>_<ts>_<files>_<bytes> marker still lists with its counts; names ending in _<digits> are told apart"

# ---- 2. latest_backup --------------------------------------------------------------
L=$S/index/latest_backup/node1.example
[ "$(cat "$L/backup_name.txt")" = c1 ] || fail "latest_backup names $(cat "$L/backup_name.txt")"
cmp -s "$L/tokenmap.json" "$S/node1.example/c1/meta/tokenmap.json" || fail "latest_backup/tokenmap.json is not c1's"
comp "$D/ks0/$T1/nb-4-big-Data.db" 500
cas 0 backup-node --backup-name c2
[ "$(cat "$L/backup_name.txt")" = c2 ] || fail "latest_backup does not follow c2"
# a run killed after its finished marker: no node entry, no pointer. It lists with the
# manifest's counts; the rerun of its name is refused and writes both.
rm -r "$S/index/node_index/node1.example/c2" "$L"
cas 0 list-backups --output json
python3 - "$W/out" $((N + 1)) $((BYTES + 500)) <<'PY'
import json, sys
b = {b["name"]: b for b in json.load(open(sys.argv[1]))}["c2"]
assert (b["medusa"], b["files"], b["size"]) == (True, int(sys.argv[2]), int(sys.argv[3])), b
PY
cas 1 backup-node --backup-name c2
err_has "already finished"
ls "$S/index/node_index/node1.example/c2/" | grep -q "^finished_[0-9]*_[0-9]*_$((N + 1))_$((BYTES + 500))_[0-9]*\$" ||
	fail "the rerun did not write c2's node entry with its counts: $(ls "$S/index/node_index/node1.example/c2/")"
[ "$(cat "$L/backup_name.txt")" = c2 ] || fail "the rerun did not write latest_backup"
cas 0 delete-backup --backup-name c1                   # not the latest: left alone
[ "$(cat "$L/backup_name.txt")" = c2 ] || fail "deleting c1 moved latest_backup"
cas 0 delete-backup --backup-name c2                   # the latest, the last one
[ ! -e "$L/backup_name.txt" ] && [ ! -e "$L/tokenmap.json" ] || fail "latest_backup names a deleted backup"
rm "$D/ks0/$T1/nb-4-big-Data.db"
ok "index/latest_backup/<fqdn>/{backup_name.txt,tokenmap.json} name the newest backup, and go with it"

# ---- 3. Medusa's own backups ---------------------------------------------------------
M=$W/mstore
$MEDUSA "$M" node1.example m1 "$D" --time 1700000000
$MEDUSA "$M" node1.example m2 "$D" --time 1700001000 --differential
$MEDUSA "$M" node1.example m3 "$D" --time 1700002000 --differential
[ "$(cat "$M/index/latest_backup/node1.example/backup_name.txt")" = m3 ] || fail "medusa_store.py: latest_backup"
MCFG=$W/medusa.ini
write_config "$MCFG" "$D" "$M" "encryption = none"
CFG=$MCFG cas 0 list-backups --output json
python3 - "$W/out" "$N" "$BYTES" <<'PY'
import json, sys
bs = json.load(open(sys.argv[1]))
assert [b["name"] for b in bs] == ["m1", "m2", "m3"], bs
for b in bs:
    assert (b["complete"], b["medusa"], b["files"], b["size"]) == (True, True, int(sys.argv[2]), int(sys.argv[3])), b
    assert b["nodes"][0]["medusa"] is True and b["nodes"][0]["finished"] == b["started"] + 1, b
assert [b["mode"] for b in bs] == ["full", "differential", "differential"], bs
PY
# report-last-backup (and its Prometheus file) count the node's last backup from its manifest too
# (exit 1: its 2023 timestamps are older than max_backup_age_hours)
CFG=$MCFG cas 1 report-last-backup --prometheus "$W/m.prom"
out_has "last backup m3,"; out_has " $N files"
grep -q "^cassette_last_backup_files{[^}]*} $N\$" "$W/m.prom" || { cat "$W/m.prom"; fail "the metrics do not count Medusa's last backup"; }
# control: without its index copy of the manifest, nothing counts it
mv "$M/$IDX/m1/manifest_node1.example.json" "$W/m1.json"
CFG=$MCFG cas 0 list-backups --output json
err_has "cannot count the files of backup m1 of node node1.example"
python3 -c 'import json,sys; b = json.load(open(sys.argv[1]))[0]; assert b["files"] == 0, b' "$W/out"
mv "$W/m1.json" "$M/$IDX/m1/manifest_node1.example.json"
for b in m1 m3; do
	rm -rf "$W/r-$b"
	CFG=$MCFG cas 0 restore-node --backup-name "$b" --target-dir "$W/r-$b"
	diff <(sstable_digest "$D") <(sstable_digest "$W/r-$b") || fail "restore of Medusa's $b differs"
done
ok "Medusa's backups list complete with their manifest's counts, marked medusa, and restore byte for byte"

# ---- 4. reuse of Medusa's objects ------------------------------------------------------
# Medusa's differential backups hold every file in the node's pool (m2 uploaded them, m3
# referenced them). A plaintext differential backup references them; one new file goes up.
comp "$D/ks0/$T1/nb-5-big-Data.db" 700
data_puts() { grep -cE '^(put_file|put_buf|upload_begin|multipart_begin|begin) .*/data/' "$1" || true; }
CASSETTE_STORAGE_TRACE=$W/trace-c1 CFG=$MCFG cas 0 backup-node --backup-name c1
[ "$(data_puts "$W/trace-c1")" = 1 ] || { grep /data/ "$W/trace-c1"; fail "the backup over Medusa's store uploaded $(data_puts "$W/trace-c1") files, not 1"; }
python3 - "$M/node1.example/c1/meta/manifest.json" "$M/node1.example/m3/meta/manifest.json" <<'PY'
import json, sys
c1 = {o["path"]: o for t in json.load(open(sys.argv[1])) for o in t["objects"]}
m3 = {o["path"]: o for t in json.load(open(sys.argv[2])) for o in t["objects"]}
assert set(m3) <= set(c1) and len(c1) == len(m3) + 1, (sorted(c1), sorted(m3))
for p, o in m3.items():
    assert (c1[p]["MD5"], c1[p]["size"], c1[p]["source_MD5"], c1[p]["source_size"]) == \
        (o["MD5"], o["size"], o["MD5"], o["size"]) and "salt" not in c1[p], (p, c1[p], o)
PY
rm -rf "$W/r-c1"
CFG=$MCFG cas 0 restore-node --backup-name c1 --target-dir "$W/r-c1"
diff <(sstable_digest "$D") <(sstable_digest "$W/r-c1") || fail "restore of c1 differs"
# control: one of Medusa's objects cut short is no longer reused
head -c 100 "$M/node1.example/data/ks0/$T1/nb-1-big-Index.db" > "$W/short" && cp "$W/short" "$M/node1.example/data/ks0/$T1/nb-1-big-Index.db"
CASSETTE_STORAGE_TRACE=$W/trace-c2 CFG=$MCFG cas 0 backup-node --backup-name c2
[ "$(data_puts "$W/trace-c2")" = 1 ] && grep -q "@c2/nb-1-big-Index.db" "$W/trace-c2" ||
	{ grep /data/ "$W/trace-c2"; fail "control: a damaged Medusa object was reused"; }
ok "a plaintext differential backup over Medusa's backups references their unchanged objects and uploads the rest"

# An encrypted backup never references a plaintext object: it stores its own encrypted copy.
"$CASSETTE" keygen > "$W/backup.key"
ECFG=$W/enc.ini
write_config "$ECFG" "$D" "$M" "key_secret_file = $W/backup.key"
pool_sums() { (cd "$M/node1.example/data" && find . -type f ! -path '*/@*' -exec md5sum {} + | LC_ALL=C sort); }
pool_sums > "$W/pool-before"
CASSETTE_STORAGE_TRACE=$W/trace-e1 CFG=$ECFG cas 0 backup-node --backup-name e1
# Medusa's manifests are not authenticated, so not read: the first pool keys are tried
# create-only, found taken, and each file goes to its @e1/ key
[ "$(grep -c '^put_file .*/data/.*/@e1/' "$W/trace-e1" || true)" = "$(find "$D" -type f | wc -l)" ] ||
	{ grep /data/ "$W/trace-e1"; fail "the encrypted backup did not store every file under @e1/"; }
pool_sums | cmp -s - "$W/pool-before" || fail "the encrypted backup changed one of Medusa's objects"
python3 - "$M/node1.example/e1/meta/manifest.json" "$M" <<'PY'
import json, os, sys
objs = [o for t in json.load(open(sys.argv[1])) for o in t["objects"]]
for o in objs:
    assert "salt" in o and "@e1/" in o["path"], o        # Medusa holds every first pool key
    with open(os.path.join(sys.argv[2], o["path"]), "rb") as f:
        head = f.read(64)
    assert o["size"] == os.path.getsize(os.path.join(sys.argv[2], o["path"])) != o["source_size"], o
PY
rm -rf "$W/r-e1"
CFG=$ECFG cas 0 restore-node --backup-name e1 --target-dir "$W/r-e1"
diff <(sstable_digest "$D") <(sstable_digest "$W/r-e1") || fail "restore of e1 differs"
ok "an encrypted backup over Medusa's store references none of its plaintext objects"
