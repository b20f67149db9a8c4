#!/usr/bin/env bash
# Medusa's S3 multipart ETags (issue 13, docs/FORMAT.md "Medusa and cassette"): a Medusa
# manifest whose "MD5" is "<md5 of the part MD5s>-<parts>" and that has no source_MD5
# (tests/support/medusa_store.py --etag-multipart-from):
# - lists with its counts, not damaged; restores byte for byte; verify --deep proves it;
#   the ETag is recomputed in the one read, over 8 MiB parts (boto3's) and the other
#   candidate part sizes;
# - a flipped byte in a multipart object, or an ETag with a wrong part count, is refused
#   naming the object, and nothing is left in the target;
# - a plaintext differential backup over it is not flagged damaged: the plain-MD5 objects
#   are referenced, the ETag-only ones stored again (their plaintext MD5 is unknown).
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
MIB=1048576
comp() { mkdir -p "$(dirname "$1")"; head -c "$2" /dev/urandom > "$1"; }
for g in 1 2; do
	comp "$D/ks0/$T1/nb-$g-big-Data.db" $((3000 + g * 1000))   # "-1" ETags (one part)
	comp "$D/ks0/$T1/nb-$g-big-Index.db" 1500                  # plain MD5s (below the threshold)
done
comp "$D/ks0/$T2/nb-1-big-Data.db" $((17 * MIB + 5))    # 3 parts of 8 MiB
comp "$D/ks0/$T2/nb-2-big-Data.db" $((16 * MIB))        # exactly 2 parts
comp "$D/ks0/$T2/.t2_idx/nb-1-big-Data.db" 3000
N=$(find "$D" -type f | wc -l)
BYTES=$(find "$D" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
MEDUSA="python3 $SRC/tests/support/medusa_store.py"
S=$W/store
BIG=node1.example/data/ks0/$T2/nb-1-big-Data.db
$MEDUSA "$S" node1.example m1 "$D" --time 1700000000 --etag-multipart-from 2000 --differential
cp -a "$S" "$W/pristine"
reset_store() { rm -rf "$S"; cp -a "$W/pristine" "$S"; }
MAN=$S/node1.example/m1/meta/manifest.json
CFG=$W/plain.ini
write_config "$CFG" "$D" "$S" "encryption = none"

# the fixture: Medusa's shape, ETags of 1, 2 and 3 parts, no source_*
python3 - "$MAN" <<'PY'
import json, sys
objs = [o for t in json.load(open(sys.argv[1])) for o in t["objects"]]
tails = sorted(o["MD5"].partition("-")[2] for o in objs)
assert tails == ["", "", "1", "1", "1", "2", "3"], tails
assert all(set(o) == {"path", "MD5", "size"} for o in objs), objs
PY
ok "the fixture: a Medusa manifest with multipart ETags of 1, 2 and 3 parts and no source_MD5"

# nothing_left TARGET: a refused restore leaves no file
nothing_left() {
	[ ! -e "$1" ] || [ -z "$(find "$1" -type f | head -1)" ] ||
		{ find "$1" -type f | head; fail "restore left files in $1"; }
}

# ---- list, restore, verify ------------------------------------------------------------
cas 0 list-backups --output json
python3 - "$W/out" "$N" "$BYTES" <<'PY'
import json, sys
b, = json.load(open(sys.argv[1]))
assert (b["name"], b["complete"], b["medusa"], b["files"], b["size"]) == \
    ("m1", True, True, int(sys.argv[2]), int(sys.argv[3])), b
assert not b.get("damaged"), b
PY
ok "the backup lists complete with $N files and $BYTES bytes, not damaged"

cas 0 restore-node --backup-name m1 --target-dir "$W/r1"
diff <(sstable_digest "$D") <(sstable_digest "$W/r1") || fail "restore of m1 differs"
ok "restore-node restores the multipart-ETag objects byte for byte"

cas 0 verify --backup-name m1 --deep
out_has "$N files deep"
out_has "sound"
ok "verify --deep proves every object, the ETag-only ones by their ETag"

# ---- tampering ---------------------------------------------------------------------------
flip_byte "$S/$BIG" $((9 * MIB))                  # in the second 8 MiB part
cas 1 restore-node --backup-name m1 --target-dir "$W/t1"
err_has "object $BIG does not give its multipart ETag"
one_line_err
nothing_left "$W/t1"
cas 1 verify --backup-name m1 --deep
out_has "$BIG"
out_has "wrong MD5"
ok "a flipped byte in a multipart object: restore refused naming it, nothing left; verify --deep flags it"
reset_store

set_md5() { # set_md5 KEY NEW_MD5: the manifest's MD5 of KEY
	python3 - "$MAN" "$1" "$2" <<-'PY'
	import json, sys
	p, key, md5 = sys.argv[1:]
	m = json.load(open(p))
	for t in m:
	    for o in t["objects"]:
	        if o["path"] == key:
	            o["MD5"] = md5
	json.dump(m, open(p, "w"))
	PY
}
etag=$(python3 -c 'import json,sys; print([o["MD5"] for t in json.load(open(sys.argv[1])) for o in t["objects"] if o["path"] == sys.argv[2]][0])' "$MAN" "$BIG")
case $etag in *-3) ;; *) fail "the 17 MiB object's ETag is $etag, not 3 parts";; esac
set_md5 "$BIG" "${etag%-3}-4"
cas 1 restore-node --backup-name m1 --target-dir "$W/t2"
err_has "object $BIG does not give its multipart ETag ${etag%-3}-4"
one_line_err
nothing_left "$W/t2"
set_md5 "$BIG" "${etag%-3}-99999"
cas 1 restore-node --backup-name m1 --target-dir "$W/t3"
err_has "a multipart ETag of 99999 parts cannot describe"
err_has "$BIG"
nothing_left "$W/t3"
set_md5 "$BIG" "${etag%-3}-0"
cas 1 restore-node --backup-name m1 --target-dir "$W/t4"
err_has "\"MD5\" must be 32 hex digits or an S3 multipart ETag"
nothing_left "$W/t4"
ok "an ETag with a wrong part count (4, 99999, 0) is refused"
reset_store

# control: the same store restores again
cas 0 restore-node --backup-name m1 --target-dir "$W/r2"
diff <(sstable_digest "$D") <(sstable_digest "$W/r2") || fail "control restore differs"
ok "control: the pristine store restores again"

# ---- a differential backup over it ------------------------------------------------------------
data_puts() { grep -E '^(put_file|put_buf|upload_begin|multipart_begin|begin) .*/data/' "$1" || true; }
CASSETTE_STORAGE_TRACE=$W/trace-c1 cas 0 backup-node --backup-name c1
if grep -q damaged "$W/err"; then cat "$W/err"; fail "the backup over Medusa's ETag manifest flagged something damaged"; fi
[ ! -e "$S/index/backup_index/m1/damaged_node1.example" ] && ! ls "$S/index/node_index/node1.example/m1/" 2>/dev/null | grep -q damaged ||
	fail "m1 is flagged damaged"
# the 2 plain-MD5 objects are referenced; the 5 ETag-only ones are stored again: their pool
# keys are tried create-only, found taken by Medusa's objects, and each goes to its @c1/ key
[ "$(data_puts "$W/trace-c1" | grep -c '/@c1/')" = 5 ] || { data_puts "$W/trace-c1"; fail "c1 did not store exactly the 5 ETag-only files"; }
[ "$(data_puts "$W/trace-c1" | grep -c -e nb-1-big-Index -e nb-2-big-Index)" = 0 ] || fail "c1 stored a plain-MD5 file again"
pool_sums() { (cd "$1/node1.example/data" && find . -type f ! -path '*/@*' -exec md5sum {} + | LC_ALL=C sort); }
[ "$(pool_sums "$S")" = "$(pool_sums "$W/pristine")" ] || fail "c1 changed one of Medusa's objects"
python3 - "$S/node1.example/c1/meta/manifest.json" "$MAN" <<'PY'
import json, sys
c1 = {o["path"]: o for t in json.load(open(sys.argv[1])) for o in t["objects"]}
m1 = {o["path"]: o for t in json.load(open(sys.argv[2])) for o in t["objects"]}
reused = [p for p in m1 if p in c1]
assert len(reused) == 2 and all("-" not in m1[p]["MD5"] for p in reused), reused
assert all("source_MD5" in o and "-" not in o["source_MD5"] for o in c1.values()), c1
PY
cas 0 list-backups --output json
python3 -c 'import json,sys; bs = json.load(open(sys.argv[1])); assert [b["name"] for b in bs] == ["m1", "c1"] and not any(b.get("damaged") for b in bs), bs' "$W/out"
cas 0 restore-node --backup-name c1 --target-dir "$W/r3"
diff <(sstable_digest "$D") <(sstable_digest "$W/r3") || fail "restore of c1 differs"
cas 0 verify --backup-name c1 --deep
out_has "sound"
ok "a differential backup over it: nothing flagged damaged, plain-MD5 objects referenced, ETag-only ones stored again"

echo "medusa_etag: $CHECKS checks passed"
