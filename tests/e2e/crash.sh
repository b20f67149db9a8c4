#!/usr/bin/env bash
# What a crash or a full disk leaves, and the longest file names:
#   - a file name of 255 bytes backs up and restores;
#   - a restore killed with SIGKILL leaves temp files, which the next restore
#     into that target removes, saying how many, and which purge removes from
#     data_dir;
#   - a full encryption_tmp_dir, and a full restore target, fail with one
#     message naming the directory and leave nothing behind (small tmpfs
#     mounts: skipped with a message where mounting is not allowed).
. "$(dirname "$0")/lib.sh"
T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
LONG=$(printf 'L%.0s' $(seq 1 251)).db       # 254 bytes
LONG="x$LONG"                                 # 255: NAME_MAX
[ ${#LONG} -eq 255 ] || fail "test bug: the long name has ${#LONG} bytes"
head -c 70000 /dev/urandom > "$D/ks1/$T1/$LONG"
for g in 1 2 3 4 5 6; do head -c $((g * 50000)) /dev/urandom > "$D/ks1/$T1/nb-$g-big-Data.db"; done
"$CASSETTE" keygen > "$W/k"
CFG=$W/node.ini
SNAPSHOT_MODE=hardlink write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/k"

cas 0 backup-node --backup-name b1
cas 0 restore-node --backup-name b1 --target-dir "$W/r1"
cmp "$D/ks1/$T1/$LONG" "$W/r1/ks1/$T1/$LONG" || fail "the 255-byte name did not restore byte for byte"
ok "a file name of 255 bytes backs up and restores"

# ---- a restore killed with SIGKILL -------------------------------------------
got=0
CASSETTE_STORAGE_FAULTS="get:5:kill" "$CASSETTE" --config "$CFG" restore-node --backup-name b1 \
	--target-dir "$W/r2" >/dev/null 2>&1 || got=$?
[ "$got" = 137 ] || fail "the restore was not killed (exit $got)"
LEFT=$(find "$W/r2" -name '*.cassette-tmp-*' | wc -l)
[ "$LEFT" -ge 1 ] || fail "the killed restore left no temp file (the test kills too early)"
cas 0 restore-node --backup-name b1 --target-dir "$W/r2"
err_has "removed $LEFT temp file"
[ -z "$(find "$W/r2" -name '*.cassette-tmp-*')" ] || fail "temp files left after the second restore"
diff <(sstable_digest "$D") <(sstable_digest "$W/r2") >/dev/null || fail "the second restore is not the data"
ok "a restore killed with SIGKILL left $LEFT temp files; the next restore removed them and restored"

# purge removes those of a killed restore in data_dir (in place: its tables)
touch "$D/ks1/$T1/nb-9-big-Data.db.cassette-tmp-AbC123"
cas 0 purge
out_has "1 restore temp file"
[ ! -e "$D/ks1/$T1/nb-9-big-Data.db.cassette-tmp-AbC123" ] || fail "purge left a restore temp file in data_dir"
ok "purge removes restore temp files from data_dir"

# ---- full disks -----------------------------------------------------------------
SMALL=$W/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=200k tmpfs "$SMALL" 2>/dev/null; then
	echo "skip: cannot mount a small tmpfs here (not root, or no CAP_SYS_ADMIN): the full-disk checks did not run"
	echo "all $CHECKS checks passed"
	exit 0
fi
trap 'umount "$SMALL" 2>/dev/null; rm -rf "$W"' EXIT
# the store on another file system, so every object goes through a temp file
# in encryption_tmp_dir first
FULL=$W/full.ini
ENCTMP=$SMALL SNAPSHOT_MODE=hardlink write_config "$FULL" "$D" "$W/store2" "key_secret_file = $W/k" \
	"concurrent_transfers = 1"
echo "more" >> "$D/ks1/$T1/nb-6-big-Data.db"
run 1 "$CASSETTE" --config "$FULL" backup-node --backup-name full1
one_line_err
err_has "encryption_tmp_dir $SMALL is full"
[ -z "$(ls -A "$SMALL" | grep -v '\.lock$')" ] || fail "temp files left in the full encryption_tmp_dir: $(ls -A "$SMALL")"
[ -z "$(find "$W/store2" -path '*/data/*' -type f 2>/dev/null)" ] || fail "objects of the failed backup were left"
[ -z "$(find "$W/store2" -name 'finished_*' 2>/dev/null)" ] || fail "the failed backup is listed as finished"
[ -z "$(find "$D" -path '*/snapshots/*' -print -quit)" ] || fail "the failed backup left its snapshot"
ok "a full encryption_tmp_dir fails with one message naming it, leaving nothing"

run 1 "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$SMALL/r"
one_line_err
err_has "restore target $SMALL/r is full"
[ -z "$(ls -A "$SMALL" | grep -v '\.lock$')" ] || fail "the failed restore left: $(find "$SMALL")"
ok "a full restore target fails with one message naming it, leaving nothing"

echo "all $CHECKS checks passed"
