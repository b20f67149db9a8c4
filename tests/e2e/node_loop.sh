#!/usr/bin/env bash
# End to end on local storage: keygen, two differential backups with a change
# in between, listing without a key, byte-identical restores, and every way a
# restore must refuse (tampered object, moved object, wrong key, missing key).
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
T3=empty_t-00000000000000000000000000000001
sstable() { # sstable DIR GEN SIZE_OF_DATA
	local d=$1 g=$2 n=$3
	mkdir -p "$d"
	head -c "$n" /dev/urandom > "$d/nb-$g-big-Data.db"
	printf 'SECRET-MARKER-%s-%s' "$g" "$(head -c 4000 /dev/urandom | base64 -w0)" >> "$d/nb-$g-big-Data.db"
	head -c 70000 /dev/urandom > "$d/nb-$g-big-Index.db"
	head -c 300 /dev/urandom > "$d/nb-$g-big-Summary.db"
	head -c 5000 /dev/urandom > "$d/nb-$g-big-Statistics.db"
	head -c 160 /dev/urandom > "$d/nb-$g-big-Filter.db"
	head -c 43 /dev/urandom > "$d/nb-$g-big-CompressionInfo.db"
	echo 1234567 > "$d/nb-$g-big-Digest.crc32"
	printf 'Data.db\nIndex.db\nSummary.db\nStatistics.db\nFilter.db\nCompressionInfo.db\nDigest.crc32\nTOC.txt\n' > "$d/nb-$g-big-TOC.txt"
}
D=$W/data
sstable "$D/ks1/$T1" 1 3145728          # 3 MiB: several 1 MiB segments
sstable "$D/ks1/$T1" 2 1048576          # exactly one segment
sstable "$D/ks1/$T2" 1 100000
sstable "$D/ks1/$T2/.t2_val_idx" 1 5000 # secondary index SSTable
mkdir -p "$D/ks2/$T3" && : > "$D/ks2/$T3/nb-1-big-Data.db"   # empty component
echo x > "$D/ks1/$T1/tmp-nb-9-big-Data.db"                  # in-flight files: never backed up
echo x > "$D/ks1/$T1/nb_txn_compaction_5f2a.log"
echo x > "$D/ks1/$T1/nb-8-big-Index.db.tmp"
mkdir -p "$D/ks1/$T1/snapshots/old" "$D/ks1/$T1/backups" && echo x > "$D/ks1/$T1/snapshots/old/x" && echo y > "$D/ks1/$T1/backups/y"
cp -a "$D" "$W/data-at-b1"
N_FILES_B1=$(( 8 * 4 + 1 ))

# ---- keys ------------------------------------------------------------------
run 0 "$CASSETTE" keygen
[ "$(head -c 44 "$W/out" | base64 -d | wc -c)" = 32 ] || fail "keygen output is not 32 bytes of base64"
"$CASSETTE" keygen > "$W/backup.key"
[ "$(stat -c %a "$W/backup.key")" = 600 ] || fail "keygen did not make its output file 0600"
"$CASSETTE" keygen > "$W/other.key"
cmp -s "$W/backup.key" "$W/other.key" && fail "two keygen runs gave the same key"
ok "keygen writes a fresh 0600 base64 key"

STORE=$W/store
CFG=$W/node.ini
write_config "$CFG" "$D" "$STORE" "key_secret_file = $W/backup.key"
chmod 644 "$W/backup.key"
cas 2 backup-node --backup-name b1
err_has "readable by group or others"; one_line_err
chmod 640 "$W/backup.key"; cas 2 backup-node --backup-name b1; err_has "readable by group or others"
chmod 600 "$W/backup.key"
[ ! -e "$STORE/node1.example/b1" ] || fail "a refused backup wrote to storage"
ok "key files readable by group or others are refused before anything is written"

NOKEY=$W/nokey.ini
write_config "$NOKEY" "$D" "$STORE"
CFG=$NOKEY cas 2 backup-node --backup-name b1
err_has "no encryption key configured"; err_has "encryption = none"
ok "a backup with no key and no 'encryption = none' is refused"

# ---- backup 1 ----------------------------------------------------------------
export CASSETTE_STORAGE_TRACE=$W/trace1 FAKE_NODETOOL_LOG=$W/nodetool.log
cas 0 backup-node --backup-name b1
unset CASSETTE_STORAGE_TRACE
out_has "backup b1 of node node1.example complete"
grep -q "^snapshot -t cassette-b1" "$W/nodetool.log" || fail "nodetool snapshot was not run"
grep -q "^clearsnapshot -t cassette-b1" "$W/nodetool.log" || fail "snapshot was not cleared"
[ -z "$(find "$D" -path '*snapshots/cassette-b1*')" ] || fail "snapshot left behind"
[ -d "$D/ks1/$T1/snapshots/old" ] || fail "an unrelated snapshot was removed"
M1=$STORE/node1.example/b1/meta/manifest.json
# data objects (the manifest goes up as a file too, under meta/ and index/)
[ "$(grep -c '^put_file .*/data/' "$W/trace1")" = "$N_FILES_B1" ] || fail "expected $N_FILES_B1 uploads, trace: $(grep -c '^put_file .*/data/' "$W/trace1")"
[ "$(pyjson "$M1" 'sum(len(t["objects"]) for t in m)')" = "$N_FILES_B1" ] || fail "manifest object count"
PATHS1=$(pyjson "$M1" '"\n".join(o["path"] for t in m for o in t["objects"])')
grep -E 'tmp-|_txn_|\.tmp$|snapshots|backups/' <<< "$PATHS1" && fail "temporary or snapshot files were backed up"
grep -q "ks1/$T2/.t2_val_idx/nb-1-big-Data.db" <<< "$PATHS1" || fail "secondary index SSTable missing"
for f in schema.cql tokenmap.json server_version.json manifest.json differential; do
	[ -s "$STORE/node1.example/b1/meta/$f" ] || fail "meta/$f missing"
done
# nodetool mode: the whole schema, from (fake) cqlsh's DESCRIBE SCHEMA (schema.sh)
grep -q "^CREATE KEYSPACE shop WITH replication" "$STORE/node1.example/b1/meta/schema.cql" || fail "schema.cql is not DESCRIBE SCHEMA"
grep -q '"release_version":"4.1.3"' "$STORE/node1.example/b1/meta/server_version.json" || fail "server version"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$STORE/node1.example/b1/meta/tokenmap.json"
pyjson "$M1" 'all(len(o["source_MD5"])==32 and o["MD5"]=="" and len(o["salt"])==64 for t in m for o in t["objects"])' | grep -qx True || fail "manifest fields (encrypted on local storage: MD5 \"\", see FORMAT.md)"
S1=$(md5sum < "$STORE/node1.example/data/ks1/$T1/nb-2-big-Summary.db" | cut -c1-32)  # b1's object, for later
ok "backup b1 stores every live component once, with plaintext meta"

# data objects are ciphertext, meta is not
grep -rqa "SECRET-MARKER" "$STORE/node1.example/data" && fail "plaintext found in a stored data object"
grep -qa "SECRET-MARKER" "$D/ks1/$T1/nb-1-big-Data.db" || fail "marker missing from the source (test bug)"
OBJ=$STORE/node1.example/data/ks1/$T1/nb-1-big-Data.db
SZ=$(stat -c %s "$D/ks1/$T1/nb-1-big-Data.db")
SEGS=$(( (SZ + 1048575) / 1048576 ))
[ "$(stat -c %s "$OBJ")" = $(( 64 + SZ + 16 * SEGS )) ] || fail "stored size is not header + data + 16 per segment"
# no CompressionInfo.db beside it: compression = auto gives it segment kinds,
# so one segment of length 1 (the kind byte) and its tag (FORMAT.md)
[ "$(stat -c %s "$STORE/node1.example/data/ks2/$T3/nb-1-big-Data.db")" = 85 ] || fail "empty file is not header + length + kind + one tag"
[ -z "$(ls -A "$W/enctmp" | grep -v '\.lock$')" ] || fail "temp files left in encryption_tmp_dir: $(ls -A "$W/enctmp")"
ok "stored objects are encrypted, overhead is 64 + 16 per MiB, temp files are gone"

run 0 "$CASSETTE" inspect "$OBJ"
out_has "version 1"; out_has "segment size:   1048576"; out_has "plaintext size: $SZ"
KEYID=$(grep '^key id:' "$W/out" | awk '{print $3}')
[ ${#KEYID} = 16 ] || fail "key id"
grep -q "$KEYID" "$W/backup.key" && fail "the key id reveals the key"
run 1 "$CASSETTE" inspect "$STORE/node1.example/b1/meta/manifest.json"
err_has "not a cassette object"
head -c $(( 64 + 1048576 + 16 + 5 )) "$OBJ" > "$W/truncated"   # 5 bytes: less than a tag
run 1 "$CASSETTE" inspect "$W/truncated"; err_has "matches no plaintext size"; out_has "key id:"
ok "inspect prints the header without a key and rejects non-objects"

# ---- change between backups --------------------------------------------------
sstable "$D/ks1/$T1" 3 200000                         # new generation
rm "$D/ks1/$T1"/nb-1-big-*                            # compacted away
head -c 300 /dev/urandom > "$D/ks1/$T1/nb-2-big-Summary.db.new"
mv "$D/ks1/$T1/nb-2-big-Summary.db.new" "$D/ks1/$T1/nb-2-big-Summary.db"   # rewritten, same size
cp -a "$D" "$W/data-at-b2"
export CASSETTE_STORAGE_TRACE=$W/trace2
cas 0 backup-node --backup-name b2
unset CASSETTE_STORAGE_TRACE
out_has "9 new"
grep '^put_file .*/data/' "$W/trace2" | sed 's/^put_file //' | LC_ALL=C sort > "$W/uploaded2"
[ "$(wc -l < "$W/uploaded2")" = 9 ] || { cat "$W/uploaded2"; fail "b2 should upload 8 new components + 1 rewritten Summary.db"; }
grep -q "/@b2/nb-2-big-Summary.db$" "$W/uploaded2" || fail "rewritten Summary.db must get a distinct key"
[ "$(grep -c 'nb-3-big-' "$W/uploaded2")" = 8 ] || fail "new generation not uploaded"
grep -q 'nb-2-big-Data.db' "$W/uploaded2" && fail "unchanged file uploaded again"
M2=$STORE/node1.example/b2/meta/manifest.json
grep -q "$T1/nb-1-big-" <<< "$(pyjson "$M2" '"\n".join(o["path"] for t in m for o in t["objects"])')" && fail "removed generation still in b2"
[ "$(md5sum < "$STORE/node1.example/data/ks1/$T1/nb-2-big-Summary.db" | cut -c1-32)" = "$S1" ] || fail "b1's Summary.db object was overwritten"
ok "b2 stores only what changed and never overwrites b1's objects"

# ---- listing without a key -----------------------------------------------------
unset CASSETTE_KEY_FILE || true
export CASSETTE_STORAGE_TRACE=$W/trace-list
CFG=$NOKEY cas 0 list-backups
out_has "b1"; out_has "b2"; out_has "differential"
CFG=$NOKEY cas 0 list-backups --output json --show-all
unset CASSETTE_STORAGE_TRACE
python3 - "$W/out" <<'PY'
import json, sys
bs = json.load(open(sys.argv[1]))
assert [b["name"] for b in bs] == ["b1", "b2"], bs
assert all(b["complete"] for b in bs), bs
assert bs[0]["files"] == 33 and bs[1]["files"] == 33, bs
PY
grep -v '^list ' "$W/trace-list" && fail "list-backups did more than list"
# two listings per run: the backup index, and the node index (the counts)
[ "$(wc -l < "$W/trace-list")" = 4 ] || { cat "$W/trace-list"; fail "expected two listings per list-backups run"; }
[ "$(grep -c 'index/backup_index/' "$W/trace-list")" = 2 ] &&
	[ "$(grep -c 'index/node_index/' "$W/trace-list")" = 2 ] || { cat "$W/trace-list"; fail "list-backups listed something else"; }
mv "$STORE/node1.example/data" "$W/pool-away"
CFG=$NOKEY cas 0 list-backups; out_has "b2"
mv "$W/pool-away" "$STORE/node1.example/data"
ok "list-backups works with no key and reads only the index listing"

# ---- restores ------------------------------------------------------------------
cas 0 restore-node --backup-name b1 --target-dir "$W/r1"
diff <(sstable_digest "$W/data-at-b1") <(sstable_digest "$W/r1") || fail "restore of b1 differs"
cas 0 restore-node --backup-name b2 --target-dir "$W/r2"
diff <(sstable_digest "$W/data-at-b2") <(sstable_digest "$W/r2") || fail "restore of b2 differs"
ok "restores of b1 and b2 are byte-identical to their snapshots"

# A manifest written before the MD5 rule (FORMAT.md) holds the ciphertext's
# MD5 for local encrypted objects: it still loads and restores.
mkdir -p "$STORE/node1.example/old1/meta"
python3 - "$M1" "$STORE" "$STORE/node1.example/old1/meta/manifest.json" <<'PY'
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
for t in m:
    for o in t["objects"]:
        o["MD5"] = hashlib.md5(open(sys.argv[2] + "/" + o["path"], "rb").read()).hexdigest()
json.dump(m, open(sys.argv[3], "w"), separators=(",", ":"))
PY
# (written before auth.json too: --allow-unauthenticated, one warning line)
cas 1 restore-node --backup-name old1 --target-dir "$W/rold"
one_line_err; err_has "old1/meta/auth.json: not found"; err_has "--allow-unauthenticated"
cas 0 restore-node --backup-name old1 --target-dir "$W/rold" --allow-unauthenticated
one_line_err; err_has "is not authenticated"
diff <(sstable_digest "$W/data-at-b1") <(sstable_digest "$W/rold") || fail "restore of an old-style manifest differs"
rm -r "$STORE/node1.example/old1"
ok "a manifest from before the MD5 rule (ciphertext MD5s) still restores"

cas 0 restore-node --backup-name b2 --target-dir "$W/r3" --keyspace ks1 --table t2
[ "$(find "$W/r3" -type f | wc -l)" = 16 ] || fail "--table t2 restored $(find "$W/r3" -type f | wc -l) files"
[ -z "$(find "$W/r3" -path "*$T1*")" ] || fail "--table restored another table"
cas 1 restore-node --backup-name b2 --target-dir "$W/r3" --keyspace ks1 --table t2
err_has "already exists"
cas 1 restore-node --backup-name nope --target-dir "$W/r4"; err_has "not found"
cas 1 restore-node --backup-name b2 --target-dir "$W/r4" --table nosuch; err_has "--table nosuch"
[ ! -e "$W/r4" ] || fail "a restore that matched nothing created the target"
ok "restore filters by keyspace/table, refuses to overwrite, reports a missing backup"

no_files() { [ -z "$(find "$1" -type f 2>/dev/null)" ] || { find "$1" -type f; fail "partial restore left files in $1"; }; }

# tampered object: one flipped byte
cp "$OBJ" "$W/saved-obj" 2>/dev/null || true
VICTIM=$STORE/node1.example/data/ks1/$T1/nb-2-big-Index.db
cp "$VICTIM" "$W/saved"
flip_byte "$VICTIM" 5000
cas 1 restore-node --backup-name b2 --target-dir "$W/t1"
err_has "nb-2-big-Index.db"; one_line_err
no_files "$W/t1"
cp "$W/saved" "$VICTIM"
ok "a flipped byte in a stored object fails the restore and leaves nothing"

# an object moved to another file's place (same size class, valid ciphertext)
DATA2=$STORE/node1.example/data/ks1/$T1/nb-2-big-Filter.db
cp "$DATA2" "$W/saved"
cp "$STORE/node1.example/data/ks1/$T2/nb-1-big-Filter.db" "$DATA2"
cas 1 restore-node --backup-name b2 --target-dir "$W/t2"; no_files "$W/t2"
cp "$W/saved" "$DATA2"
# two versions of the same file swapped (same identity, different salt)
A=$STORE/node1.example/data/ks1/$T1/nb-2-big-Summary.db
B=$STORE/node1.example/data/ks1/$T1/@b2/nb-2-big-Summary.db
cp "$A" "$W/sa"; cp "$B" "$A"
cas 1 restore-node --backup-name b1 --target-dir "$W/t3"; no_files "$W/t3"
cp "$W/sa" "$A"
ok "objects moved to another file's place or swapped between versions are refused"

# a hostile manifest cannot steer writes outside the target directory
cp "$M1" "$W/m1-saved"
for edit in 'm[0]["objects"][0]["path"] = m[0]["objects"][0]["path"].rsplit("/", 1)[0] + "/../../../../../../tmp/evil"' \
	    'm[0]["keyspace"] = "../../evil"' \
	    'm[0]["columnfamily"] = "../evil-0123456789abcdef0123456789abcdef"' \
	    'm[0]["objects"][0]["path"] = "node2/data/ks1/" + m[0]["columnfamily"] + "/nb-1-big-Data.db"'; do
	python3 -c "import json,sys; m=json.load(open(sys.argv[1])); $edit; json.dump(m, open(sys.argv[1],'w'))" "$M1"
	cas 1 restore-node --backup-name b1 --target-dir "$W/evil/t"
	err_has "nothing was written"
	[ ! -e "$W/evil" ] || { find "$W/evil"; fail "a hostile manifest made restore write something"; }
	[ ! -e /tmp/evil ] || fail "restore wrote outside the target"
	cp "$W/m1-saved" "$M1"
done
ok "paths from a tampered manifest are refused before anything is written"

CASSETTE_KEY_FILE=$W/other.key cas 1 restore-node --backup-name b1 --target-dir "$W/t4"
err_has "wrong key"; one_line_err; no_files "$W/t4"
CFG=$NOKEY cas 2 restore-node --backup-name b1 --target-dir "$W/t5"
err_has "no encryption key configured"; no_files "$W/t5"
ok "a wrong key and a missing key each fail cleanly"

# ---- failures during a backup leave nothing ------------------------------------
BEFORE=$(find "$STORE" -type f | LC_ALL=C sort)
sstable "$D/ks1/$T2" 4 50000
CASSETTE_STORAGE_FAULTS=put_file:3 cas 1 backup-node --backup-name b3
err_has "injected fault"
[ "$BEFORE" = "$(find "$STORE" -type f | LC_ALL=C sort)" ] || { diff <(echo "$BEFORE") <(find "$STORE" -type f | LC_ALL=C sort); fail "a failed backup left objects behind"; }
[ -z "$(find "$D" -path '*snapshots/cassette-b3*')" ] || fail "failed backup left its snapshot"
[ -z "$(ls -A "$W/enctmp" | grep -v '\.lock$')" ] || fail "failed backup left temp files"
FAKE_NODETOOL_FAIL=snapshot cas 1 backup-node --backup-name b3; err_has "snapshot"
[ "$BEFORE" = "$(find "$STORE" -type f | LC_ALL=C sort)" ] || fail "a failed snapshot left objects behind"
cas 0 backup-node --backup-name b3; out_has "8 new"
cas 1 backup-node --backup-name b3; err_has "already finished"
ok "a failed backup writes no manifest and leaves no object, snapshot or temp file"

# ---- the crash window: manifest written, finished marker not -------------------
sstable "$D/ks1/$T2" 5 30000
cp -a "$D" "$W/data-at-c1"
# put_buf calls: started, 4 meta, 3 index copies, then finished = 9th (manifest.json
# and its index copy go up with put_file: the manifest is never held in memory)
CASSETTE_STORAGE_FAULTS=put_buf:9 cas 1 backup-node --backup-name c1
[ -f "$STORE/node1.example/c1/meta/manifest.json" ] || fail "c1 should have its manifest"
cas 0 list-backups; grep -q '^c1 .*incomplete' "$W/out" || { cat "$W/out"; fail "c1 not listed as incomplete"; }
head -c 300 /dev/urandom > "$D/ks1/$T2/nb-5-big-Summary.db"   # rewritten; c1's object must survive
cas 0 backup-node --backup-name c2
[ -f "$STORE/node1.example/data/ks1/$T2/@c2/nb-5-big-Summary.db" ] || fail "c2 did not avoid c1's unindexed key"
cas 0 restore-node --backup-name c1 --target-dir "$W/rc1"
diff <(sstable_digest "$W/data-at-c1") <(sstable_digest "$W/rc1") || fail "c1 was damaged by c2"
ok "a backup cut off before its finished marker is listed incomplete, restorable, and never overwritten"

# ---- a key file replaced by an unrelated key ------------------------------------
KID=$(pyjson "$STORE/node1.example/b3/meta/manifest.json" 'sorted({o["key_id"] for t in m for o in t["objects"]})')
[ "$KID" = "['$KEYID']" ] || fail "manifest key_id $KID is not the key's id $KEYID"
"$CASSETTE" keygen > "$W/rotated.key"
# on a copy of the store: the rest of this test goes on with the old key
cp -a "$STORE" "$W/store-k"
CFG_MAIN=$CFG; CFG=$W/node-k.ini
sed "s|^base_path = .*|base_path = $W/store-k|" "$CFG_MAIN" > "$CFG"
# the node's data key is wrapped under the old key only: refused, not restarted
CASSETTE_KEY_FILE=$W/rotated.key cas 1 backup-node --backup-name k2
err_has "wrong key"; err_has "rotate-key --reencrypt"
# the old key lost: --reencrypt gives the node a new data key under the new one
CASSETTE_KEY_FILE=$W/rotated.key cas 1 rotate-key --reencrypt
err_has "could not be re-wrapped"; out_has "(generation 2) is current"
CASSETTE_KEY_FILE=$W/rotated.key cas 0 backup-node --backup-name k2
out_has "0 unchanged"
CASSETTE_KEY_FILE=$W/rotated.key cas 0 restore-node --backup-name k2 --target-dir "$W/rk"
diff <(sstable_digest "$D") <(sstable_digest "$W/rk") || fail "restore after key rotation differs"
cas 1 restore-node --backup-name k2 --target-dir "$W/rk-old"; err_has "wrong key"
ok "an unrelated new key is refused (wrong key); after rotate-key --reencrypt a backup stores every file again and restores with the new key alone"
CFG=$CFG_MAIN

# ---- full mode, hardlink mode, encryption = none --------------------------------
cas 0 backup-node --backup-name f1 --mode full
[ "$(find "$STORE/node1.example/f1/data" -type f | wc -l)" = "$(pyjson "$STORE/node1.example/f1/meta/manifest.json" 'sum(len(t["objects"]) for t in m)')" ] || fail "full backup does not store every file"
[ -e "$STORE/node1.example/f1/meta/differential" ] && fail "full backup marked differential"
cas 0 restore-node --backup-name f1 --target-dir "$W/rf"
diff <(sstable_digest "$D") <(sstable_digest "$W/rf") || fail "full restore differs"
ok "full mode stores every file under the backup and restores byte-identical"

# A differential run after a full one reuses pool objects only: an object in
# f1's own folder goes when f1 is deleted, and a restore of g1 would refuse it.
cas 0 backup-node --backup-name g1
grep -q '"path":"node1.example/f1/' "$STORE/node1.example/g1/meta/manifest.json" && fail "a differential backup references a full backup's own object"
cas 0 restore-node --backup-name g1 --target-dir "$W/rg"
diff <(sstable_digest "$D") <(sstable_digest "$W/rg") || fail "differential-after-full restore differs"
ok "a differential backup after a full one references only pool objects and restores"

HL=$W/hardlink.ini
SNAPSHOT_MODE=hardlink write_config "$HL" "$D" "$W/store-hl" "key_secret_file = $W/backup.key" "prefix = cluster-a/"
CFG=$HL cas 0 backup-node --backup-name h1 --keep-snapshot
[ -f "$D/ks1/$T2/snapshots/cassette-h1/.t2_val_idx/nb-1-big-Data.db" ] || fail "hardlink snapshot lacks the index SSTable"
[ "$(stat -c %i "$D/ks1/$T2/nb-1-big-Data.db")" = "$(stat -c %i "$D/ks1/$T2/snapshots/cassette-h1/nb-1-big-Data.db")" ] || fail "not a hard link"
[ -e "$D/ks1/$T1/snapshots/cassette-h1/tmp-nb-9-big-Data.db" ] && fail "hardlink snapshot took a temporary file"
grep -q 'nb-2-big-Data.db' "$D/ks1/$T1/snapshots/cassette-h1/manifest.json" || fail "snapshot manifest.json"
[ -d "$W/store-hl/cluster-a/node1.example/h1/meta" ] || fail "prefix not used"
CFG=$HL cas 0 restore-node --backup-name h1 --target-dir "$W/rh"
diff <(sstable_digest "$D") <(sstable_digest "$W/rh") || fail "hardlink restore differs"
rm -rf "$D"/*/*/snapshots/cassette-h1
ok "hardlink snapshots, --keep-snapshot and prefix work"

PLAIN=$W/plain.ini
write_config "$PLAIN" "$D" "$W/store-plain" "encryption = none"
CFG=$PLAIN cas 0 backup-node --backup-name p1
cmp "$D/ks1/$T2/nb-1-big-Data.db" "$W/store-plain/node1.example/data/ks1/$T2/nb-1-big-Data.db" || fail "encryption = none should store plaintext"
flip_byte "$W/store-plain/node1.example/data/ks1/$T2/nb-1-big-Index.db" 10
CFG=$PLAIN cas 1 restore-node --backup-name p1 --target-dir "$W/rp"; err_has "MD5"; no_files "$W/rp"
ok "encryption = none stores plaintext and restore still proves source_MD5"

# A data_dir one level too high or too low finds no table: a loud failure
# naming it, never an empty "complete" backup.
for wrong in "$W" "$D/ks1"; do
	SNAPSHOT_MODE=hardlink write_config "$W/wrong.ini" "$wrong" "$W/store-wrong" "encryption = none"
	find "$W" -path '*/snapshots/*' | sort > "$W/snaps.before"
	CFG=$W/wrong.ini cas 1 backup-node --backup-name w1
	err_has "no table directory under [cassandra] data_dir $wrong"
	err_has "expected <data_dir>/<keyspace>/<table>-<32 hex id>/"; one_line_err
	CFG=$W/wrong.ini cas 0 list-backups; out_has "no backups"
	find "$W" -path '*/snapshots/*' | sort | diff "$W/snaps.before" - || fail "a snapshot was left in $wrong"
done
ok "a data_dir one level too high or too low fails by name, with nothing listed"

echo "all $CHECKS checks passed"
