#!/usr/bin/env bash
# A store of version 2 (tests/fixtures/v2, written by commit aa75485, before
# compressed objects): every later binary restores both of its backups byte
# for byte, verifies them deeply, and writes a differential backup on top of
# it that restores too. A flipped byte in one of its objects is caught
# (the control: the digest comparison can fail).
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS
FIX=$SRC/tests/fixtures/v2
S=$W/store
cp -r "$FIX/store" "$S"
install -m 600 "$FIX/key" "$W/key"
D=$W/data
python3 "$FIX/data.py" "$D" 1; sstable_digest "$D" > "$W/digest-v2-first"
python3 "$FIX/data.py" "$D" 2; sstable_digest "$D" > "$W/digest-v2-second"
CFG=$W/node.ini
write_config "$CFG" "$D" "$S" "key_secret_file = $W/key" "encryption_segment_size = 4KiB"
restore_eq() { # restore_eq BACKUP: restores byte for byte
	rm -rf "$W/t"
	cas 0 restore-node --backup-name "$1" --target-dir "$W/t"
	diff <(sstable_digest "$W/t") "$W/digest-$1" >/dev/null || fail "backup $1 does not restore byte for byte"
}
OBJ=$S/node1.example/data/ks1/events-22222222222222222222222222222222/nb-1-big-Data.db
[ "$(od -An -tx1 -j6 -N2 "$OBJ" | tr -d ' ')" = 0000 ] || fail "the fixture's objects have zero header bytes 6..7"

restore_eq v2-first
restore_eq v2-second
ok "both backups of the version-2 fixture restore byte for byte"
cas 0 verify --deep --backup-name v2-first
cas 0 verify --deep --backup-name v2-second
ok "verify --deep passes on both"

cp "$OBJ" "$W/saved"
flip_byte "$OBJ" 200
rm -rf "$W/t"
cas 1 restore-node --backup-name v2-first --target-dir "$W/t"
err_has "nb-1-big-Data.db"
cp "$W/saved" "$OBJ"
find "$S/index/damaged_objects" -type f -delete 2>/dev/null || true
restore_eq v2-first
ok "control: a flipped byte in one of its objects fails the restore, naming the file; put back, it restores"

echo "extra" >> "$D/ks1/users-11111111111111111111111111111111/nb-1-big-Index.db"
sstable_digest "$D" > "$W/digest-v2-third"
cas 0 backup-node --backup-name v2-third
out_has "1 new"
restore_eq v2-third
restore_eq v2-second
ok "a differential backup on top of the version-2 store stores only the changed file and restores byte for byte"
echo "all $CHECKS checks passed"
