#!/usr/bin/env bash
# Memory stays bounded whatever the file size and count: the peak RSS of every
# command is under 64 MiB for a node of 100,000 small files (a full backup,
# differential backups with several earlier manifests, list-backups, restore)
# and for a node holding one 4 GiB file (encrypted backup, restore), and the
# restores are byte-exact. A differential run costs the same with 2 or 4
# earlier manifests: the history does not grow with the number of backups.
#
# Peak RSS comes from GNU time (%M, KiB); the sanitizer build skips (rss.sh).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rss.sh"

FILES=${MEMORY_FILES:-100000}
BIG=${MEMORY_BIG_BYTES:-4294967296}

# fsync makes 100,000 files slow on some disks: the small-file node lives in
# /dev/shm when it has room (and rss.sh turns fsync off with eatmydata).
S=$W
if [ -d /dev/shm ] && [ -w /dev/shm ] && \
   [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt $((4 * 1024 * 1024)) ]; then
	S=$(mktemp -d /dev/shm/cassette-memory.XXXXXX)
fi
trap 'rm -rf "$W" "$S"' EXIT
"$CASSETTE" keygen > "$W/backup.key"

# ---- 100,000 small files over 100 tables --------------------------------------
D=$S/data
python3 "$SRC/tests/e2e/gen_node.py" "$D" "$FILES" 100
[ "$(find "$D" -type f | wc -l)" = "$FILES" ] || fail "the generator did not write $FILES files"
CFG=$S/node.ini
SNAPSHOT_MODE=hardlink write_config "$CFG" "$D" "$S/store" "key_secret_file = $W/backup.key"
sed -i "s|^encryption_tmp_dir = .*|encryption_tmp_dir = $S/enctmp|" "$CFG"

peak full backup-node --backup-name m1 --mode full
out_has "$FILES files"
# a full backup's objects are not reused, so this one fills the pool
peak first-differential backup-node --backup-name m2
out_has "$FILES new"
peak differential-2-earlier backup-node --backup-name m3
out_has "0 new"; D2=$KIB
peak differential-3-earlier backup-node --backup-name m4
out_has "0 new"
peak differential-4-earlier backup-node --backup-name m5
out_has "0 new"; D4=$KIB
[ "$D4" -lt $((D2 + 4096)) ] || fail "a differential run grew from $D2 KiB (2 earlier manifests) to $D4 KiB (4)"
M5=$S/store/node1.example/m5/meta/manifest.json
[ "$(pyjson "$M5" 'sum(len(t["objects"]) for t in m)')" = "$FILES" ] || fail "m5 manifest does not list $FILES objects"
ok "backups of $FILES files (full, and differential after 1 to 4 manifests) stay under 64 MiB"

peak list list-backups
out_has "m5"
ok "list-backups of a $FILES-file node stays under 64 MiB"

peak restore restore-node --backup-name m5 --target-dir "$S/restored"
diff -r "$D" "$S/restored" >/dev/null || fail "the restore of m5 differs from the node"
ok "a restore of $FILES files stays under 64 MiB and is byte-exact"
rm -rf "$S/store" "$S/restored" "$D"

# ---- one 4 GiB file ----------------------------------------------------------------
# Sparse: cassette reads every byte and encrypts it, stores ~4 GiB and restores
# ~4 GiB; what the bytes are changes nothing in memory (compression = none:
# zstd would store the zeros in a few KiB).
need_kib=$(( BIG / 1024 * 3 + 1024 * 1024 ))
avail_kib=$(df -Pk "$W" | awk 'NR==2 {print $4}')
if [ "$avail_kib" -lt "$need_kib" ]; then
	echo "skipped: the 4 GiB case needs $((need_kib / 1024)) MiB free in $W, there are $((avail_kib / 1024))"
	exit 77
fi
D=$W/big
python3 "$SRC/tests/e2e/gen_node.py" "$D" 0 0 --big "$BIG" --sparse
CFG=$W/big.ini
SNAPSHOT_MODE=hardlink write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/backup.key" "compression = none"
peak big-backup backup-node --backup-name g1
out_has "1 new"
OBJ=$(find "$W/store/node1.example/data" -type f -name 'nb-1-big-Data.db')
[ "$(stat -c %s "$OBJ")" -gt "$BIG" ] || fail "the stored object is smaller than the file"
head -c 4 "$OBJ" | grep -q CSTE || fail "the stored object is not encrypted"
peak big-restore restore-node --backup-name g1 --target-dir "$W/restored"
cmp "$D/ks_big/big-00000000000000000000000000000b16/nb-1-big-Data.db" \
	"$W/restored/ks_big/big-00000000000000000000000000000b16/nb-1-big-Data.db" ||
	fail "the restored 4 GiB file differs"
ok "an encrypted backup and a restore of a $BIG-byte file stay under 64 MiB; the restore is byte-exact"

echo "all $CHECKS checks passed"
