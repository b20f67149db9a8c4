#!/usr/bin/env bash
# purge and delete-backup on local storage: retention by count and by age,
# abandoned runs, GC that keeps every referenced object (each remaining
# backup restores byte for byte after each step) and young ones, --dry-run,
# an interrupted purge rerun, delete-backup of one, of an unknown name and
# with --all-nodes, a damaged manifest that blocks GC until it is deleted,
# and the node lock.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_STORAGE_FAULTS CASSETTE_STORAGE_TRACE

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
S=$W/store
POOL=$S/node1.example/data/ks1/$T1
sstable() { # sstable GEN
	mkdir -p "$D/ks1/$T1"
	for c in Data Index Filter; do head -c $((1000 + $1 * 37)) /dev/urandom > "$D/ks1/$T1/nb-$1-big-$c.db"; done
}
drop() { rm -f "$D/ks1/$T1"/nb-$1-big-*; }

"$CASSETTE" keygen > "$W/k"
export SNAPSHOT_MODE=hardlink
base=("key_secret_file = $W/k")
CFG=$W/grace0.ini;  write_config "$CFG" "$D" "$S" "${base[@]}" "backup_grace_period_in_days = 0"
G10=$W/grace10.ini; write_config "$G10" "$D" "$S" "${base[@]}"
C2=$W/count2.ini;   write_config "$C2" "$D" "$S" "${base[@]}" "backup_grace_period_in_days = 0" "max_backup_count = 2"
A30=$W/age30.ini;   write_config "$A30" "$D" "$S" "${base[@]}" "backup_grace_period_in_days = 0" "max_backup_age = 30"
N2=$W/node2.ini;    FQDN=node2.example write_config "$N2" "$D" "$S" "${base[@]}" "backup_grace_period_in_days = 0"

backup() { # backup NAME [CONFIG]: a backup, and the digest of what it holds
	CFG=${2:-$W/grace0.ini} cas 0 backup-node --backup-name "$1"
	sstable_digest "$D" > "$W/digest-$1"
}
# Every backup of node1 that list-backups shows restores byte for byte, and
# the node's pool holds exactly what their manifests reference (grace 0).
check_all() {
	local b n=0
	CFG=$W/grace0.ini cas 0 list-backups --output json
	for b in $(python3 -c 'import json,sys; print(" ".join(b["name"] for b in json.load(open(sys.argv[1]))))' "$W/out"); do
		rm -rf "$W/r"
		CFG=$W/grace0.ini cas 0 restore-node --backup-name "$b" --target-dir "$W/r"
		[ "$(sstable_digest "$W/r")" = "$(cat "$W/digest-$b")" ] || fail "backup $b does not restore byte for byte after $1"
		n=$((n + 1))
	done
	[ "$n" = "$2" ] || fail "after $1: $n backups listed, expected $2"
	python3 - "$S" node1.example <<'PY' || fail "after $1: the pool is not exactly what the manifests reference"
import json, os, sys
root, node = sys.argv[1], sys.argv[2]
refs = set()
for b in os.listdir(os.path.join(root, node)):
    m = os.path.join(root, node, b, "meta", "manifest.json")
    if b != "data" and os.path.exists(m):
        refs |= {o["path"] for t in json.load(open(m)) for o in t["objects"]}
pool = set()
for d, _, files in os.walk(os.path.join(root, node, "data")):
    pool |= {os.path.relpath(os.path.join(d, f), root) for f in files}
missing, extra = refs - pool, {p for p in pool if p not in refs and "young" not in p}
assert not missing and not extra, (sorted(missing), sorted(extra))
PY
}
listing() { (cd "$S" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort); }
index_has() { [ -n "$(ls "$S/index/backup_index/$1" 2>/dev/null)" ]; }

# ---- four nightly backups --------------------------------------------------
sstable 1; backup b1
sstable 2; backup b2
drop 1; sstable 3; backup b3
sstable 4; backup b4
check_all "four backups" 4

# ---- --dry-run: the report, and not one byte changed --------------------------
listing > "$W/before"
CFG=$C2 cas 0 purge --dry-run
out_has "would remove backup b1 of node node1.example (beyond max_backup_count = 2)"
out_has "would remove backup b2 of node node1.example"
out_has "would remove 2 backups"
out_has "dry run: nothing was deleted"
grep -q "would garbage-collect [1-9]" "$W/out" || { cat "$W/out"; fail "dry run reports no object to collect"; }
cp "$W/out" "$W/dry-out"
listing > "$W/after"
cmp -s "$W/before" "$W/after" || { diff "$W/before" "$W/after"; fail "purge --dry-run changed the store"; }
ok "purge --dry-run prints what would go and deletes nothing"

# ---- purge by count ----------------------------------------------------------
CFG=$C2 cas 0 purge
out_has "removed backup b1 of node node1.example (beyond max_backup_count = 2)"
out_has "removed backup b2 of node node1.example"
out_has "purge: removed 2 backups"
# The same numbers as the dry run announced.
[ "$(grep '^purge:' "$W/out" | sed 's/removed/X/')" = "$(grep '^purge:' "$W/dry-out" | sed 's/would remove/X/; s/ (dry run.*//')" ] ||
	fail "the dry run announced other numbers: $(grep '^purge:' "$W/dry-out") / $(grep '^purge:' "$W/out")"
[ ! -e "$S/node1.example/b1" ] && [ ! -e "$S/node1.example/b2" ] || fail "b1/b2 folders left"
! index_has b1 && ! index_has b2 || fail "index entries of b1/b2 left"
ls "$POOL" | grep -q '^nb-1-' && fail "generation 1 (only b1 and b2 held it) is still in the pool"
ls "$POOL" | grep -q '^nb-2-' || fail "generation 2 (b3 and b4 reference it) was collected"
CFG=$C2 cas 0 list-backups
grep -qE '^b[12] ' "$W/out" && fail "list-backups still shows a purged backup"
check_all "purge by count" 2
ok "purge by max_backup_count: the oldest two go with their own objects; the rest restore"

# ---- the grace period keeps young unreferenced objects ----------------------
cp "$POOL/nb-2-big-Data.db" "$POOL/nb-97-big-Data.db"       # unreferenced, written now
cp "$POOL/nb-2-big-Data.db" "$POOL/nb-98-big-Data.db"
touch -d "20 days ago" "$POOL/nb-98-big-Data.db"             # unreferenced, 20 days old
mkdir -p "$S/node1.example/ghost/meta"                         # a folder no index knows
echo x > "$S/node1.example/ghost/meta/schema.cql"; touch -d "20 days ago" "$S/node1.example/ghost/meta/schema.cql"
# verify's records of damaged objects: they go with their object, or when
# their object is gone already; a record of an object that stays, stays.
R=$S/index/damaged_objects/node1.example/data/ks1/$T1
mkdir -p "$R"
for f in nb-98-big-Data.db nb-2-big-Data.db nb-95-big-Data.db; do echo "size differs" > "$R/$f"; done
CFG=$G10 cas 0 purge
out_has "dropped 2 damaged-object records"
[ -e "$R/nb-2-big-Data.db" ] || fail "the record of an object that stays was dropped"
[ ! -e "$R/nb-98-big-Data.db" ] && [ ! -e "$R/nb-95-big-Data.db" ] || fail "records of objects that are gone were kept"
rm "$R/nb-2-big-Data.db"
out_has "garbage-collected 2 unreferenced objects"
out_has "kept 1 younger than backup_grace_period_in_days (10)"
[ -e "$POOL/nb-97-big-Data.db" ] || fail "a young unreferenced object was collected"
[ ! -e "$POOL/nb-98-big-Data.db" ] || fail "an old unreferenced object survived"
[ ! -e "$S/node1.example/ghost" ] || fail "an old folder no backup owns survived"
mv "$POOL/nb-97-big-Data.db" "$POOL/nb-97-big-Data.young"   # (check_all ignores it)
check_all "purge with a grace period" 2
ok "GC: an unreferenced object younger than the grace period stays, older ones go, with their damaged-object records"
rm "$POOL/nb-97-big-Data.young"

# ---- purge by age (index markers' times rewritten) --------------------------
sstable 5; backup b5
age_marker() { # age_marker BACKUP DAYS: its finished marker says DAYS ago
	local f ts
	f=$(ls "$S/index/backup_index/$1"/finished_node1.example_*)
	ts=$(( $(date +%s) - $2 * 86400 ))
	mv "$f" "$(echo "$f" | sed -E "s/_[0-9]+\\.timestamp\$/_$ts.timestamp/")"
}
age_marker b3 40
age_marker b4 35
CFG=$A30 cas 0 purge
out_has "removed backup b3 of node node1.example (finished "
out_has "older than max_backup_age = 30 days)"
out_has "removed backup b4"
check_all "purge by age" 1
# The newest finished backup stays, however old.
age_marker b5 50
CFG=$A30 cas 0 purge
out_has "purge: removed 0 backups"
check_all "purge by age of the last backup" 1
ok "purge by max_backup_age: older backups go by their finish time; the newest always stays"

# ---- an abandoned run ---------------------------------------------------------
sstable 6; backup b6
rm "$S/index/backup_index/b6"/finished_node1.example_*       # as if killed before its end
CFG=$G10 cas 0 purge
out_has "removed 0 backups"
[ -e "$S/node1.example/b6" ] || fail "a run younger than the grace period was removed"
f=$(ls "$S/index/backup_index/b6"/started_node1.example_*)
mv "$f" "$(echo "$f" | sed -E "s/_[0-9]+\\.timestamp\$/_$(( $(date +%s) - 11 * 86400 )).timestamp/")"
find "$POOL" -name 'nb-6-*' -exec touch -d "11 days ago" {} +
CFG=$G10 cas 0 purge
out_has "removed backup b6 of node node1.example (abandoned: started "
[ ! -e "$S/node1.example/b6" ] && ! index_has b6 || fail "the abandoned run's folder or index is left"
ls "$POOL" | grep -q '^nb-6-' && fail "the abandoned run's objects were not collected"
check_all "an abandoned run" 1
ok "a run that never finished, older than the grace period, is removed with its objects"

# ---- an interrupted purge, rerun ---------------------------------------------
drop 5; sstable 7; backup b7
drop 6; sstable 8; backup b8
backup b9
CASSETTE_STORAGE_FAULTS=delete:3+:eio CFG=$C2 cas 1 purge
err_has "injected fault: delete"
[ -n "$(ls "$S/index/node_index/node1.example/b5"/deleting)" ] || fail "no deleting flag after the interruption"
CFG=$C2 cas 0 list-backups
grep -qE '^b5 ' "$W/out" && fail "list-backups shows a backup being deleted"
CFG=$C2 cas 0 purge
out_has "removed backup b5 of node node1.example (an earlier removal was interrupted)"
out_has "removed backup b7 of node node1.example (beyond max_backup_count = 2)"
! index_has b5 && ! index_has b7 || fail "an interrupted purge's rerun left index entries"
check_all "an interrupted purge and its rerun" 2
ok "a purge failed midway hides the backup; its rerun finishes the job"

# ---- delete-backup -----------------------------------------------------------
CFG=$G10 cas 1 delete-backup --backup-name nosuch
err_has "backup nosuch not found for node node1.example"
CFG=$G10 cas 2 delete-backup
err_has "needs --backup-name"
listing > "$W/before"
CFG=$CFG cas 0 delete-backup --backup-name b8 --dry-run
out_has "would remove backup b8"
listing > "$W/after"
cmp -s "$W/before" "$W/after" || fail "delete-backup --dry-run changed the store"
cas 0 delete-backup --backup-name b8
out_has "removed backup b8 of node node1.example"
out_has "delete-backup: removed 1 backup"
cas 0 list-backups
grep -qE '^b8 ' "$W/out" && fail "list-backups shows a deleted backup"
ls "$POOL" | grep -q '^nb-6-' && fail "objects only b8 held were not collected"
check_all "delete-backup" 1
ok "delete-backup removes one backup and the objects only it held; unknown names are errors"

# ---- two nodes on one store: --all-nodes -------------------------------------
backup shared
CFG=$N2 cas 0 backup-node --backup-name shared
CFG=$N2 cas 0 backup-node --backup-name only2
cas 1 delete-backup --backup-name only2
err_has "backup only2 has no node node1.example"
cas 0 delete-backup --backup-name shared
cas 0 list-backups --show-all
grep -E '^shared ' "$W/out" | grep -q '(1/1)' || { cat "$W/out"; fail "node2's part of 'shared' should be left alone"; }
[ -d "$S/node2.example/shared" ] || fail "node2's folder went without --all-nodes"
backup shared2
CFG=$N2 cas 0 backup-node --backup-name shared2
cas 0 delete-backup --backup-name shared2 --all-nodes
out_has "removed backup shared2 of node node1.example"
out_has "removed backup shared2 of node node2.example"
out_has "node node2.example: garbage-collected"
! index_has shared2 || fail "index entries of shared2 left (cluster markers?)"
[ ! -e "$S/node1.example/shared2" ] && [ ! -e "$S/node2.example/shared2" ] || fail "shared2 folders left"
CFG=$N2 cas 0 restore-node --backup-name only2 --target-dir "$W/r2"
ok "delete-backup --all-nodes removes every node's part; without it, only this node's"

# ---- a damaged manifest blocks GC until it is deleted ------------------------
drop 7; sstable 10; backup b10
backup b11
M=$S/node1.example/b10/meta/manifest.json
truncate -s $(( $(stat -c %s "$M") / 2 )) "$M"
# the flag as stores before 0.4 hold it (still read; cassette now writes node_index/<fqdn>/<backup>/damaged)
echo "manifest.json: cut short" > "$S/index/backup_index/b10/damaged_node1.example"
cp "$POOL/nb-2-big-Data.db" "$POOL/nb-99-big-Data.db"; touch -d "20 days ago" "$POOL/nb-99-big-Data.db"
cas 0 purge
err_has "warning: backup b10 of node node1.example: its manifest cannot be read"
err_has "delete-backup --backup-name b10"
[ -e "$POOL/nb-99-big-Data.db" ] || fail "GC ran past a damaged manifest"
cas 0 delete-backup --backup-name b10
out_has "removed backup b10"
[ -e "$POOL/nb-99-big-Data.db" ] && fail "GC did not run once the damaged backup was deleted"
# A manifest that cannot be parsed, without any flag, blocks it too.
M=$S/node1.example/b11/meta/manifest.json
cp "$M" "$W/m11"; truncate -s 10 "$M"
cp "$POOL/nb-2-big-Data.db" "$POOL/nb-96-big-Data.db"; touch -d "20 days ago" "$POOL/nb-96-big-Data.db"
cas 0 purge
err_has "warning: backup b11 of node node1.example: its manifest cannot be read (backup b11 manifest"
[ -e "$POOL/nb-96-big-Data.db" ] || fail "GC ran past an unparsable manifest"
cp "$W/m11" "$M"; rm "$POOL/nb-96-big-Data.db"
check_all "deleting a damaged backup" 2
ok "a damaged manifest: a warning names it, GC waits; delete-backup removes it, then GC runs"

# ---- the node lock ------------------------------------------------------------
LOCK=$W/enctmp/cassette-node1.example.lock
flock "$LOCK" sleep 30 & HOLDER=$!
for _ in $(seq 50); do flock -n "$LOCK" true 2>/dev/null || break; sleep 0.1; done
cas 1 purge
err_has "node node1.example is busy"
cas 1 delete-backup --backup-name b11
err_has "node node1.example is busy"
kill "$HOLDER"; wait "$HOLDER" 2>/dev/null || true
[ -d "$S/node1.example/b11" ] || fail "delete-backup deleted while the lock was held"
ok "a held node lock refuses purge and delete-backup, and nothing is deleted"

echo "all $CHECKS checks passed"
