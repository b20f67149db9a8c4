#!/usr/bin/env bash
# Medusa's S3 multipart ETags (issue 13, docs/FORMAT.md "Medusa and cassette"): a Medusa
# manifest whose "MD5" is "<md5 of the part MD5s>-<parts>" and that has no source_MD5
# (tests/support/medusa_store.py --etag-multipart-from):
# - lists with its counts, not damaged; restores byte for byte; verify --deep proves it;
#   the ETag is recomputed in the one read, over 8 MiB parts (boto3's) and the other
#   candidate part sizes;
# - a flipped byte in a multipart object, or an ETag with a wrong part count, is refused
#   naming the object, and nothing is left in the target;
# - a plaintext differential backup over it is not flagged damaged and references every
#   object: the ETag-only ones when the file gives the recorded ETag (computed in the one
#   hashing read), the new entry then with the file's source_MD5; a changed file of the
#   same size is stored again; an encrypted backup references none of them.
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
pool_sums() { (cd "$1/node1.example/data" && find . -type f ! -path '*/@*' -exec md5sum {} + | LC_ALL=C sort); }
comp "$D/ks0/$T1/nb-3-big-Data.db" 700                   # one new file
CASSETTE_STORAGE_TRACE=$W/trace-c1 cas 0 backup-node --backup-name c1
if grep -q damaged "$W/err"; then cat "$W/err"; fail "the backup over Medusa's ETag manifest flagged something damaged"; fi
[ ! -e "$S/index/backup_index/m1/damaged_node1.example" ] && ! ls "$S/index/node_index/node1.example/m1/" 2>/dev/null | grep -q damaged ||
	fail "m1 is flagged damaged"
# every object of m1 is referenced (by MD5, or by the file's multipart ETag); only the new file goes up
[ "$(data_puts "$W/trace-c1" | wc -l)" = 1 ] && data_puts "$W/trace-c1" | grep -q nb-3-big-Data ||
	{ data_puts "$W/trace-c1"; fail "c1 did not store exactly the one new file"; }
[ "$(pool_sums "$S" | grep -v nb-3-big-Data)" = "$(pool_sums "$W/pristine")" ] || fail "c1 changed one of Medusa's objects"
python3 - "$S/node1.example/c1/meta/manifest.json" "$MAN" "$D" <<'PY'
import hashlib, json, os, sys
c1 = {o["path"]: o for t in json.load(open(sys.argv[1])) for o in t["objects"]}
m1 = {o["path"]: o for t in json.load(open(sys.argv[2])) for o in t["objects"]}
assert set(m1) < set(c1) and len(c1) == len(m1) + 1, (sorted(c1), sorted(m1))
for p, o in m1.items():
    rel = p.split("/data/", 1)[1]
    data = open(os.path.join(sys.argv[3], rel), "rb").read()
    # the object's own MD5 (the ETag) and size, the file's own source_MD5 and source_size
    assert (c1[p]["MD5"], c1[p]["size"], c1[p]["source_MD5"], c1[p]["source_size"]) == \
        (o["MD5"], o["size"], hashlib.md5(data).hexdigest(), len(data)), (p, c1[p], o)
PY
cas 0 list-backups --output json
python3 -c 'import json,sys; bs = json.load(open(sys.argv[1])); assert [b["name"] for b in bs] == ["m1", "c1"] and not any(b.get("damaged") for b in bs), bs' "$W/out"
cas 0 restore-node --backup-name c1 --target-dir "$W/r3"
diff <(sstable_digest "$D") <(sstable_digest "$W/r3") || fail "restore of c1 differs"
cas 0 verify --backup-name c1 --deep
out_has "sound"
ok "a differential backup over it flags nothing damaged and references every object, the ETag-only ones with the file's source_MD5"

# control: a file of the same size with another content does not give the ETag: stored again
rm -rf "$S" && cp -a "$W/pristine" "$S"
cp -a "$D" "$W/data-orig"
flip_byte "$D/ks0/$T2/nb-1-big-Data.db" $((12 * MIB))
CASSETTE_STORAGE_TRACE=$W/trace-c2 cas 0 backup-node --backup-name c2
[ "$(data_puts "$W/trace-c2" | grep -c '@c2/nb-1-big-Data.db')" = 1 ] ||
	{ data_puts "$W/trace-c2"; fail "control: a changed file of the same size was referenced by its old ETag"; }
[ "$(data_puts "$W/trace-c2" | grep -c '/@c2/')" = 1 ] || { data_puts "$W/trace-c2"; fail "control: c2 stored more than the changed file"; }
cas 0 restore-node --backup-name c2 --target-dir "$W/r4"
diff <(sstable_digest "$D") <(sstable_digest "$W/r4") || fail "restore of c2 differs"
ok "control: a changed file of the same size does not give the recorded ETag and is stored again"

# an encrypted backup never references such an object
rm -rf "$S" "$D" && cp -a "$W/pristine" "$S" && cp -a "$W/data-orig" "$D"
"$CASSETTE" keygen > "$W/backup.key"
ECFG=$W/enc.ini
write_config "$ECFG" "$D" "$S" "key_secret_file = $W/backup.key"
CFG=$ECFG cas 0 backup-node --backup-name e1
python3 - "$S/node1.example/e1/meta/manifest.json" "$MAN" <<'PY'
import json, sys
objs = [o for t in json.load(open(sys.argv[1])) for o in t["objects"]]
m1 = {o["path"] for t in json.load(open(sys.argv[2])) for o in t["objects"]}
assert len(objs) == len(m1) + 1 and all("salt" in o and o["path"] not in m1 for o in objs), objs
PY
ok "an encrypted backup over it stores its own encrypted copy of every file"

echo "medusa_etag: $CHECKS checks passed"
