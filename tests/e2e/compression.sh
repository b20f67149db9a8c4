#!/usr/bin/env bash
# [storage] compression on a node with a table Cassandra compressed (Data.db
# beside a CompressionInfo.db) and an uncompressed one (tests/fixtures/v2's
# data): auto stores that Data.db flagless (header byte 6 zero) and the rest
# with segment kinds, smaller; everything restores byte for byte and
# verifies; the reference reader (ref_cassette.py) decrypts an object the
# binary wrote. compression = none writes flagless objects of the exact
# uncompressed size; encryption = none stores the files as they are.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS
REF=$SRC/tests/crypto/ref_cassette.py
/usr/bin/python3 -c 'import cryptography, zstandard' 2>/dev/null ||
	{ echo "SKIP: /usr/bin/python3 cannot import cryptography and zstandard"; exit 77; }
D=$W/data
python3 "$SRC/tests/fixtures/v2/data.py" "$D" 1
python3 "$SRC/tests/fixtures/v2/data.py" "$D" 2
# a bigger uncompressed Data.db: several 64 KiB segments
python3 -c "import sys; sys.stdout.write(''.join('%08d,event,%d\n' % (i, i % 13) for i in range(60000)))" \
	> "$D/ks1/events-22222222222222222222222222222222/nb-3-big-Data.db"
sstable_digest "$D" > "$W/digest"
"$CASSETTE" keygen > "$W/k"
CFG=$W/auto.ini
write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/k" "encryption_segment_size = 64KiB"
S=$W/store/node1.example/data
CT=ks1/users-11111111111111111111111111111111
UT=ks1/events-22222222222222222222222222222222
flag() { od -An -tx1 -j6 -N1 "$1" | tr -d ' '; }
restore_eq() { # restore_eq BACKUP
	rm -rf "$W/t"
	cas 0 restore-node --backup-name "$1" --target-dir "$W/t"
	diff <(sstable_digest "$W/t") "$W/digest" >/dev/null || fail "backup $1 does not restore byte for byte"
}

cas 0 backup-node --backup-name auto1
restore_eq auto1
ok "compression = auto (the default): the backup restores byte for byte"

[ "$(flag "$S/$CT/nb-1-big-Data.db")" = 00 ] || fail "a compressed table's Data.db should be flagless"
[ "$(flag "$S/$CT/nb-2-big-Data.db")" = 00 ] || fail "a compressed table's Data.db should be flagless"
[ "$(flag "$S/$CT/nb-1-big-Index.db")" = 01 ] || fail "the compressed table's Index.db should have segment kinds"
[ "$(flag "$S/$UT/nb-3-big-Data.db")" = 01 ] || fail "an uncompressed table's Data.db should have segment kinds"
src=$(stat -c %s "$D/$UT/nb-3-big-Data.db"); st=$(stat -c %s "$S/$UT/nb-3-big-Data.db")
[ "$st" -lt $((src / 3)) ] || fail "the uncompressed table's Data.db: $st stored bytes for $src"
ratio="$st of $src bytes"
# the flagless one is exactly the uncompressed format's size
src=$(stat -c %s "$D/$CT/nb-1-big-Data.db"); st=$(stat -c %s "$S/$CT/nb-1-big-Data.db")
[ "$st" = $((64 + src + 16)) ] || fail "the flagless Data.db is $st bytes, not 64 + $src + 16"
ok "auto: Data.db beside CompressionInfo.db is stored flagless, other components and the uncompressed table compressed ($ratio)"

cas 0 verify --backup-name auto1
NOKEY=$W/nokey.ini
write_config "$NOKEY" "$D" "$W/store" "encryption_segment_size = 64KiB"
CFG=$NOKEY cas 0 verify --backup-name auto1
cas 0 verify --deep --backup-name auto1
ok "verify (with and without the key) and verify --deep pass on compressed objects"
# control: a compressed object cut by one byte is caught without the key
cp "$S/$UT/nb-3-big-Data.db" "$W/saved"
head -c -1 "$W/saved" > "$S/$UT/nb-3-big-Data.db"
CFG=$NOKEY cas 1 verify --backup-name auto1
cat "$W/out" "$W/err" > "$W/all"; cp "$W/all" "$W/err"
err_has "nb-3-big-Data.db"
cp "$W/saved" "$S/$UT/nb-3-big-Data.db"
find "$W/store/index/damaged_objects" -type f -delete 2>/dev/null || true
ok "control: verify without the key names a compressed object one byte short"

run 0 /usr/bin/python3 "$REF" unwrap "$W/k" "$(find "$W/store/index/data_keys/node1.example" -type f)" "$W/dk"
REF_KINDS=1 run 0 /usr/bin/python3 "$REF" dec "$W/dk" node1.example ks1 events-22222222222222222222222222222222 \
	nb-3-big-Data.db "$S/$UT/nb-3-big-Data.db" "$W/ref.out"
cmp -s "$W/ref.out" "$D/$UT/nb-3-big-Data.db" || fail "the reference decrypts another plaintext"
grep -q "^kinds z" "$W/err" || fail "the reference saw no compressed segment: $(cat "$W/err")"
REF_KINDS=1 run 0 /usr/bin/python3 "$REF" dec "$W/dk" node1.example ks1 users-11111111111111111111111111111111 \
	nb-1-big-Data.db "$S/$CT/nb-1-big-Data.db" "$W/ref.out"
cmp -s "$W/ref.out" "$D/$CT/nb-1-big-Data.db" || fail "the reference decrypts another plaintext (flagless)"
grep -q "^kinds flagless" "$W/err" || fail "the reference saw kinds in the flagless object"
# control: the reference refuses the compressed object under another file name
run 2 /usr/bin/python3 "$REF" dec "$W/dk" node1.example ks1 events-22222222222222222222222222222222 \
	nb-1-big-Data.db "$S/$UT/nb-3-big-Data.db" "$W/ref.out"
ok "the reference reader decrypts a compressed object the binary wrote (and refuses it under another name)"

# compression = zstd: the compressed table's Data.db gets kinds too (noise: raw segments)
CFG=$W/zstd.ini
write_config "$CFG" "$D" "$W/zstore" "key_secret_file = $W/k" "encryption_segment_size = 64KiB" "compression = zstd"
cas 0 backup-node --backup-name z1
[ "$(flag "$W/zstore/node1.example/data/$CT/nb-1-big-Data.db")" = 01 ] || fail "zstd: Data.db should have kinds"
restore_eq z1
ok "compression = zstd: every object has segment kinds, and restores byte for byte"

CFG=$W/none.ini
write_config "$CFG" "$D" "$W/nstore" "key_secret_file = $W/k" "encryption_segment_size = 64KiB" "compression = none"
cas 0 backup-node --backup-name n1
(cd "$D" && find . -mindepth 3 -type f -printf '%P\n') | while read -r f; do
	o=$W/nstore/node1.example/data/$f
	[ "$(flag "$o")" = 00 ] || fail "none: $f has segment kinds"
	n=$(stat -c %s "$D/$f"); segs=$(( n == 0 ? 1 : (n + 65535) / 65536 ))
	[ "$(stat -c %s "$o")" = $((64 + n + 16 * segs)) ] || fail "none: $f is not the uncompressed format's size"
done
restore_eq n1
ok "compression = none: flagless objects of exactly the uncompressed format's size"

CFG=$W/plain.ini
write_config "$CFG" "$D" "$W/pstore" "encryption = none"
cas 0 backup-node --backup-name p1
cmp -s "$W/pstore/node1.example/data/$UT/nb-3-big-Data.db" "$D/$UT/nb-3-big-Data.db" ||
	fail "encryption = none: the object is not the file as it is"
ok "encryption = none: objects stay the files as they are (Medusa reads them), never compressed"

CFG=$W/bad.ini
write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/k" "compression = lz4"
cas 2 backup-node --backup-name x
err_has "compression must be 'auto', 'zstd' or 'none', not 'lz4'"
ok "an unknown compression is refused, naming the three values"
echo "all $CHECKS checks passed"
