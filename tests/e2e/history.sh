#!/usr/bin/env bash
# A differential backup trusts nothing stale, and its cost stays flat:
# - a pool object deleted, truncated, or with a byte flipped (recorded as verify
#   would) is not reused: the next backup stores the file again under a new key,
#   says so, and restores byte for byte;
# - a truncated manifest is skipped with one warning and flagged damaged;
#   list-backups shows it; later differential backups succeed and restore;
# - with the state database warm, a backup GETs only the manifests it has not
#   read; with it deleted, every manifest is fetched again, with the same result.
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
for t in "$D/ks1/$T1" "$D/ks1/$T2"; do
	mkdir -p "$t"
	for g in 1 2 3; do
		head -c $((100000 + g * 1000)) /dev/urandom > "$t/nb-$g-big-Data.db"
		head -c 2000 /dev/urandom > "$t/nb-$g-big-Index.db"
	done
done
N=12
"$CASSETTE" keygen > "$W/backup.key"
STORE=$W/store
CFG=$W/node.ini
write_config "$CFG" "$D" "$STORE" "key_secret_file = $W/backup.key"
POOL=$STORE/node1.example/data/ks1
DAMAGED=$STORE/index/damaged_objects/node1.example/data/ks1
N_BACKUPS=0

# backup NAME: a differential backup, traced into $W/trace-NAME
backup() {
	CASSETTE_STORAGE_TRACE=$W/trace-$1 cas 0 backup-node --backup-name "$1"
	N_BACKUPS=$((N_BACKUPS + 1))
}
# restores NAME: restore-node gives back the data dir byte for byte
restores() {
	rm -rf "$W/r-$1"
	cas 0 restore-node --backup-name "$1" --target-dir "$W/r-$1"
	diff <(sstable_digest "$D") <(sstable_digest "$W/r-$1") || fail "restore of $1 differs"
}
# ref_of NAME TABLE REL: the manifest path of file REL of TABLE in backup NAME
ref_of() { pyjson "$STORE/node1.example/$1/meta/manifest.json" "[o['path'] for t in m if t['columnfamily'] == '$2' for o in t['objects'] if o['path'].endswith('/$3')][0]"; }
# GETs besides the one of the node's data key (its wrap, read by every run)
gets() { grep '^get ' "$W/trace-$1" | grep -vc '^get \(.*/\)\?index/data_keys/' || true; }
# each manifest read with the key is read with its auth.json (FORMAT.md)
auth_gets() { grep -c '^get .*/meta/auth.json$' "$W/trace-$1" || true; }
manifest_gets() { grep -c '^get .*/meta/manifest.json$' "$W/trace-$1" || true; }

backup b1
out_has "$N new"
backup b2
out_has "0 new"; out_has "$N unchanged"
grep -q 'stored again' "$W/err" && fail "nothing was lost, yet a file was stored again"
[ -z "$(grep 'warning' "$W/err")" ] || fail "a sound pool warned: $(cat "$W/err")"
ok "a sound pool: everything reused, no warning"

# ---- a pool object deleted, truncated, or corrupted ---------------------------
rm "$POOL/$T1/nb-1-big-Data.db"
backup b3
out_has "1 new"; err_has "1 file stored again"
err_has "1 missing, 0 of another size, 0 recorded damaged"
[ "$(ref_of b3 $T1 nb-1-big-Data.db)" = "node1.example/data/ks1/$T1/@b3/nb-1-big-Data.db" ] ||
	fail "the file stored again is not at b3's variant key: $(ref_of b3 $T1 nb-1-big-Data.db)"
[ -e "$POOL/$T1/@b3/nb-1-big-Data.db" ] || fail "the new object is not in storage"
[ ! -e "$POOL/$T1/nb-1-big-Data.db" ] || fail "the old key was written again (the pool's objects are immutable)"
grep -q "^put_file .*/$T1/nb-2-big-Data.db$" "$W/trace-b3" && fail "an intact object was uploaded again"
restores b3
ok "a deleted object: stored again under the backup's variant key, said so, restores"

OBJ=$POOL/$T2/nb-2-big-Data.db
head -c $(( $(stat -c %s "$OBJ") - 100 )) "$OBJ" > "$W/cut" && cat "$W/cut" > "$OBJ"
backup b4
out_has "1 new"; err_has "1 file stored again"
err_has "0 missing, 1 of another size, 0 recorded damaged"
[ "$(ref_of b4 $T2 nb-2-big-Data.db)" = "node1.example/data/ks1/$T2/@b4/nb-2-big-Data.db" ] || fail "truncated object reused"
restores b4
ok "a truncated object: stored again, restores"

# a byte flipped keeps the size: only verify can tell, and records it
OBJ=$POOL/$T1/nb-3-big-Index.db
flip_byte "$OBJ" 500
mkdir -p "$DAMAGED/$T1"
echo "fails authentication (segment 0)" > "$DAMAGED/$T1/nb-3-big-Index.db"
backup b5
out_has "1 new"; err_has "1 file stored again"
err_has "0 missing, 0 of another size, 1 recorded damaged"
[ "$(ref_of b5 $T1 nb-3-big-Index.db)" = "node1.example/data/ks1/$T1/@b5/nb-3-big-Index.db" ] || fail "damaged object reused"
restores b5
backup b6
out_has "0 new"; out_has "$N unchanged"
grep -q 'stored again' "$W/err" && fail "b6 stored again what b3..b5 already had"
restores b6
ok "a flipped byte recorded damaged: stored again; the backup after reuses the new objects"

# ---- a truncated manifest -------------------------------------------------
M=$STORE/node1.example/b2/meta/manifest.json
head -c $(( $(stat -c %s "$M") / 2 )) "$M" > "$W/cut" && cat "$W/cut" > "$M"
rm -rf "$W/state"	# a cold cache: b2's manifest is read again
backup b7
[ "$(grep -c 'warning' "$W/err")" = 1 ] || { cat "$W/err"; fail "expected one warning"; }
err_has "backup b2 manifest"; err_has "flagged damaged"
out_has "0 new"
grep -qx "backup b2 manifest: .*" "$STORE/index/node_index/node1.example/b2/damaged" ||
	fail "b2's damaged flag: $(cat "$STORE/index/node_index/node1.example/b2/damaged")"
cas 0 list-backups
grep -E '^b2 .* damaged \(1/1\)$' "$W/out" >/dev/null || { cat "$W/out"; fail "list-backups does not show b2 damaged"; }
grep -E '^b7 .* complete \(1/1\)$' "$W/out" >/dev/null || { cat "$W/out"; fail "list-backups: b7"; }
cas 0 list-backups --output json
python3 - "$W/out" <<'PY'
import json, sys
bs = {b["name"]: b for b in json.load(open(sys.argv[1]))}
assert bs["b2"]["damaged"] is True and bs["b2"]["nodes"][0]["damaged"] is True, bs["b2"]
assert not any(b["damaged"] for n, b in bs.items() if n != "b2"), bs
PY
backup b8
[ "$(grep -c 'warning' "$W/err")" = 1 ] || { cat "$W/err"; fail "expected one warning"; }
err_has "backup b2 of node node1.example is flagged damaged"
[ "$(manifest_gets b8)" = 1 ] || { cat "$W/trace-b8"; fail "b8 read more than b7's manifest"; }
restores b8
cas 0 backup-node --backup-name f1 --mode full
backup b9
restores b9
ok "a truncated manifest: skipped with one warning, flagged, listed damaged; later backups succeed and restore"

# ---- the cache of manifests already read --------------------------------------
# warm: b10 reads b9's manifest alone (b9 read f1's: a full backup's objects
# are not the pool's, but its manifest is one of the node's backups)
backup b10
[ "$(gets b10)" = 2 ] && [ "$(auth_gets b10)" = 1 ] ||
	{ cat "$W/trace-b10"; fail "with the cache warm, b10 should GET only b9's manifest (and its auth.json)"; }
grep -q "^get node1.example/b9/meta/manifest.json$" "$W/trace-b10" || fail "b10 did not read b9's manifest"
cp "$STORE/node1.example/b10/meta/manifest.json" "$W/m10"
# deleted: every manifest again (all but b2, flagged), in parallel, same result
rm -rf "$W/state"
backup b11
[ "$(manifest_gets b11)" = $((N_BACKUPS + 1 - 2)) ] ||
	{ cat "$W/trace-b11"; fail "with the state db deleted, b11 should read every usable manifest"; }
strip() { pyjson "$1" "sorted((o['path'], o['source_MD5']) for t in m for o in t['objects'])"; }
[ "$(strip "$W/m10")" = "$(strip "$STORE/node1.example/b11/meta/manifest.json")" ] ||
	fail "b11 (cold cache) references other objects than b10 (warm)"
out_has "0 new"
backup b12
[ "$(gets b12)" = 2 ] && [ "$(auth_gets b12)" = 1 ] || { cat "$W/trace-b12"; fail "the cache was not rebuilt"; }
restores b12
ok "warm cache: only new manifests are read; deleted: all again, same result"
