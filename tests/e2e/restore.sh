#!/usr/bin/env bash
# Parallel restore on local storage: a node of many files of mixed sizes (empty,
# small, several MiB, one multipart object) restores byte-exact, largest files
# first; filters still work; a tampered object in the middle, a wrong key, an
# existing file and SIGINT each leave nothing behind. Then the progress line:
# shown on a terminal (a pseudo-terminal from script(1)), silent otherwise.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
T3=t3-00000000000000000000000000000003
T4=t4-00000000000000000000000000000004
D=$W/data
comp() { # comp DIR GEN COMPONENT SIZE
	mkdir -p "$1"
	head -c "$4" /dev/urandom > "$1/nb-$2-big-$3"
}
sstable() { # sstable DIR GEN DATA_SIZE
	comp "$1" "$2" Data.db "$3"
	comp "$1" "$2" Index.db $(( ($2 * 7919) % 20000 ))
	comp "$1" "$2" Summary.db 0
	comp "$1" "$2" Filter.db $(( 16 + $2 ))
	printf 'Data.db\nIndex.db\nSummary.db\nFilter.db\nTOC.txt\n' > "$1/nb-$2-big-TOC.txt"
}
MIB=1048576
sstable "$D/ks1/$T1" 1 $(( 20 * MIB + 777 ))    # multipart: parts of 8 MiB
sstable "$D/ks1/$T1" 2 $(( 5 * MIB ))
sstable "$D/ks1/$T1" 3 $(( 3 * MIB + 1 ))
for g in 4 5 6 7 8 9 10 11 12; do sstable "$D/ks1/$T1" $g $(( (g * 104729) % 150000 )); done
for g in 1 2 3; do sstable "$D/ks1/$T2" $g $(( g * 40000 )); done
sstable "$D/ks1/$T2/.t2_idx" 1 5000
sstable "$D/ks2/$T3" 1 0
comp "$D/ks3/$T4" 1 Data.db 100                 # a table of one file
N_FILES=$(find "$D" -type f | wc -l)
WORKERS=$(( 2 * $(nproc) )); [ "$WORKERS" -gt 32 ] && WORKERS=32   # local storage: two a core (agent/restore/fetch.c)

"$CASSETTE" keygen > "$W/backup.key"
"$CASSETTE" keygen > "$W/other.key"
CFG=$W/node.ini
# Temp files on another file system than the store, so the multipart path
# (parts copied into place) runs too: on one file system the local store
# takes each temp file whole, by a hard link.
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" != "$(stat -f -c %T "$W")" ]; then
	ENCTMP=$(mktemp -d /dev/shm/cassette-restore.XXXXXX)
	trap 'rm -rf "$W" "$ENCTMP"' EXIT
	export ENCTMP
	PARTS=3
else
	PARTS=1
fi
write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/backup.key" \
	"multi_part_upload_threshold = 1MB"
M=$W/store/node1.example/b1/meta/manifest.json

CASSETTE_STORAGE_TRACE=$W/trace-b1 cas 0 backup-node --backup-name b1
[ ! -s "$W/err" ] || { cat "$W/err"; fail "backup without a terminal wrote to stderr"; }
if [ "$PARTS" = 3 ]; then
	[ "$(grep -c '^upload_part .*/nb-1-big-Data.db$' "$W/trace-b1")" = 3 ] || fail "the 20 MiB file did not go up in 3 parts"
else
	grep -q '^put_file .*/nb-1-big-Data.db$' "$W/trace-b1" || fail "the 20 MiB file was not stored whole"
fi
[ "$(pyjson "$M" 'sum(len(t["objects"]) for t in m)')" = "$N_FILES" ] || fail "manifest object count"
ok "backup of $N_FILES files (empty to 20 MiB, one multipart) with no terminal prints nothing on stderr"

# ---- byte-exact, largest first ---------------------------------------------------
CASSETTE_STORAGE_TRACE=$W/trace-r1 cas 0 restore-node --backup-name b1 --target-dir "$W/r1"
[ ! -s "$W/err" ] || { cat "$W/err"; fail "restore without a terminal wrote to stderr"; }
out_has "restored $N_FILES files"
diff <(sstable_digest "$D") <(sstable_digest "$W/r1") || fail "restore differs from the source"
[ -z "$(find "$W/r1" -name '*.cassette-tmp-*')" ] || fail "temp files left after a restore"
# Workers take jobs largest first, and each traces its get before it can take
# another, so the m-th get (from 0) is never behind more than m + WORKERS - 1
# larger objects. Each object is fetched exactly once.
python3 - "$M" "$W/trace-r1" "$WORKERS" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
size = {o["path"]: o["source_size"] for t in m for o in t["objects"]}
gets = [l.split(" ", 1)[1].rstrip("\n") for l in open(sys.argv[2]) if l.startswith("get ")]
gets = [g for g in gets if g in size]
assert sorted(gets) == sorted(size), "each object must be fetched exactly once"
w = int(sys.argv[3])
for i, g in enumerate(gets):
    larger = sum(1 for s in size.values() if s > size[g])
    assert larger <= i + w - 1, (i, g, larger, gets[:8])
PY
ok "parallel restore of $N_FILES files is byte-exact, fetches each object once, largest first"

cas 0 restore-node --backup-name b1 --target-dir "$W/r2" --keyspace ks1 --table t2
diff <(sstable_digest "$D" | grep " ks1/$T2/") <(sstable_digest "$W/r2") || fail "--table t2 restore differs"
cas 0 restore-node --backup-name b1 --target-dir "$W/r3" --keyspace ks2
diff <(sstable_digest "$D" | grep " ks2/") <(sstable_digest "$W/r3") || fail "--keyspace ks2 restore differs"
cas 0 restore-node --backup-name b1 --target-dir "$W/r4" --keyspace ks3
out_has "restored 1 file (100 B)"; cmp "$D/ks3/$T4/nb-1-big-Data.db" "$W/r4/ks3/$T4/nb-1-big-Data.db"
ok "--keyspace and --table restore exactly their files"

# ---- failures leave nothing ----------------------------------------------------------
nothing_in() { # nothing_in DIR: no file, no temp file, no directory below it
	[ -z "$(find "$1" -mindepth 1 2>/dev/null)" ] || { find "$1"; fail "a failed restore left something in $1"; }
}
# the object in the middle of the largest-first order
VICTIM_KEY=$(pyjson "$M" 'sorted((o for t in m for o in t["objects"]), key=lambda o: -o["source_size"])[len([1 for t in m for o in t["objects"]]) // 2]["path"]')
VICTIM=$W/store/$VICTIM_KEY
cp "$VICTIM" "$W/saved"
python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[70]^=1; open(p,'wb').write(b)" "$VICTIM"
cas 1 restore-node --backup-name b1 --target-dir "$W/t1"
one_line_err; err_has "${VICTIM_KEY##*/}"; err_has "$VICTIM_KEY"
[ ! -e "$W/t1" ] || { find "$W/t1"; fail "the target directory the restore created is still there"; }
mkdir -p "$W/t2/keep"
cas 1 restore-node --backup-name b1 --target-dir "$W/t2"
one_line_err; err_has "$VICTIM_KEY"
[ -d "$W/t2/keep" ] || fail "a directory the restore did not create was removed"
rmdir "$W/t2/keep"; nothing_in "$W/t2"
cp "$W/saved" "$VICTIM"
ok "a tampered object in the middle fails with one line naming it and leaves no file, temp file or new directory"

CASSETTE_KEY_FILE=$W/other.key CASSETTE_STORAGE_TRACE=$W/trace-wk cas 1 restore-node --backup-name b1 --target-dir "$W/t3"
one_line_err; err_has "wrong key"; err_has "nothing was written"
[ ! -e "$W/t3" ] || fail "a restore with the wrong key created the target"
[ "$(grep -c '^get ' "$W/trace-wk")" = 2 ] && [ "$(grep -c '^get .*/meta/\(manifest\|auth\).json$' "$W/trace-wk")" = 2 ] ||
	{ cat "$W/trace-wk"; fail "a restore with the wrong key read more than the manifest and its auth.json"; }
ok "a wrong key fails before any data object is read or any file written"

# A changed manifest fails its auth.json (e2e_auth). The checks behind the
# MAC are tested on a backup without one, with --allow-unauthenticated: its
# one warning line, then the error.
OTHER_ID=$(sed -n 's/.*key file [^ ]* holds \([0-9a-f]\{16\}\).*/\1/p' "$W/err")
[ ${#OTHER_ID} = 16 ] || fail "the wrong-key error does not name the configured key's id"
AUTH=$W/store/node1.example/b1/meta/auth.json
mv "$AUTH" "$W/auth-saved"
unauth_err() { [ "$(wc -l < "$W/err")" = 2 ] && grep -q "warning: .* is not authenticated" "$W/err" ||
	{ cat "$W/err"; fail "expected the unauthenticated warning and one error line"; }; }
# a manifest edited to name the other key: every object's header still says otherwise
cp "$M" "$W/m-saved"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); [o.update(key_id=sys.argv[2]) for t in m for o in t['objects']]; json.dump(m, open(sys.argv[1],'w'))" "$M" "$OTHER_ID"
CASSETTE_KEY_FILE=$W/other.key cas 1 restore-node --backup-name b1 --target-dir "$W/t3" --allow-unauthenticated
unauth_err; err_has "wrong key: the object was encrypted with key id"
[ ! -e "$W/t3" ] || { find "$W/t3"; fail "a restore with the wrong key left something"; }
# a manifest listing one file twice would make one write replace the other
cp "$W/m-saved" "$M"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); m[0]['objects'].append(dict(m[0]['objects'][0])); json.dump(m, open(sys.argv[1],'w'))" "$M"
cas 1 restore-node --backup-name b1 --target-dir "$W/t3" --allow-unauthenticated
unauth_err; err_has "twice"; err_has "nothing was written"
[ ! -e "$W/t3" ] || fail "a manifest naming one file twice made restore write"
# ... also when the two entries are in two listings of the same table
cp "$W/m-saved" "$M"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); t=dict(m[0]); t['objects']=[dict(m[0]['objects'][-1])]; m.append(t); json.dump(m, open(sys.argv[1],'w'))" "$M"
cas 1 restore-node --backup-name b1 --target-dir "$W/t3" --allow-unauthenticated
unauth_err; err_has "twice"; err_has "nothing was written"
[ ! -e "$W/t3" ] || fail "a manifest naming one file twice in two listings of its table made restore write"
cp "$W/m-saved" "$M"
mv "$W/auth-saved" "$AUTH"
ok "each object's header is checked too, and a manifest naming one destination twice is refused"

mkdir -p "$W/t4/ks1/$T1" && echo mine > "$W/t4/ks1/$T1/nb-5-big-Data.db"
cas 1 restore-node --backup-name b1 --target-dir "$W/t4"
one_line_err; err_has "already exists"
[ "$(find "$W/t4" -type f)" = "$W/t4/ks1/$T1/nb-5-big-Data.db" ] || { find "$W/t4"; fail "restore wrote beside an existing file"; }
[ "$(cat "$W/t4/ks1/$T1/nb-5-big-Data.db")" = mine ] || fail "an existing file was changed"
ok "an existing destination file is refused before anything is written"

# SIGINT while the workers are busy (the bandwidth cap keeps them busy): wait
# until every worker holds a temp file still being written (mode 0600: a
# proven one is made 0644 before its worker takes the next file), interrupt,
# and expect nothing left.
SLOW=$W/slow.ini
write_config "$SLOW" "$D" "$W/store" "key_secret_file = $W/backup.key" "transfer_max_bandwidth = 2MB/s"
"$CASSETTE" --config "$SLOW" restore-node --backup-name b1 --target-dir "$W/t5" >"$W/out" 2>"$W/err" &
PID=$!
in_flight() { find "$W/t5" -name '*.cassette-tmp-*' -perm 600 2>/dev/null | wc -l; }
for _ in $(seq 600); do
	[ "$(in_flight)" -ge "$WORKERS" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done
[ "$(in_flight)" -ge "$WORKERS" ] || fail "never saw $WORKERS files in flight at once"
kill -INT "$PID"
RC=0; wait "$PID" || RC=$?
[ "$RC" = 1 ] || { cat "$W/err"; fail "an interrupted restore exited $RC"; }
one_line_err; err_has "interrupted"
[ ! -e "$W/t5" ] || { find "$W/t5"; fail "an interrupted restore left something"; }
ok "$WORKERS files are fetched at once; SIGINT stops them and leaves nothing"

# ---- progress ------------------------------------------------------------------------
# on_tty OUT CMD...: run under a pseudo-terminal (stdin, stdout, stderr), transcript
# in OUT: script(1) from util-linux, else python3's pty module
on_tty() {
	local out=$1; shift
	local rc=0
	if command -v script >/dev/null; then
		script -qec "$(printf '%q ' "$@")" /dev/null </dev/null >"$out" || rc=$?
	else
		python3 -c 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))' \
			"$@" </dev/null >"$out" || rc=$?
	fi
	return $rc
}
LINE='[0-9]+/[0-9]+ files, [0-9.]+ [KMGT]?i?B of [0-9.]+ [KMGT]?i?B \([0-9]+%\), [0-9.]+ [KMGT]?i?B/s, ([0-9hms]+|--) left'
on_tty "$W/tty1" "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$W/p1" ||
	{ cat "$W/tty1"; fail "restore on a terminal failed"; }
diff <(sstable_digest "$D") <(sstable_digest "$W/p1") || fail "restore on a terminal differs"
tr '\r' '\n' < "$W/tty1" > "$W/tty1.lines"
grep -Eq "^restore: $LINE" "$W/tty1.lines" || { cat -A "$W/tty1"; fail "no progress line on a terminal"; }
grep -Eq "^restore: $N_FILES/$N_FILES files, .* \(100%\), .*/s, 0s left *$" "$W/tty1.lines" ||
	{ cat -A "$W/tty1"; fail "the final progress line is not complete"; }
grep -q "^restored $N_FILES files" "$W/tty1.lines" || fail "the summary is missing on a terminal"
ok "restore on a terminal shows files, bytes, rate and time left, ending complete"

cp -a "$D" "$W/data-copy"
write_config "$W/b2.ini" "$W/data-copy" "$W/store" "key_secret_file = $W/backup.key"
on_tty "$W/tty2" "$CASSETTE" --config "$W/b2.ini" backup-node --backup-name b2 ||
	{ cat "$W/tty2"; fail "backup on a terminal failed"; }
tr '\r' '\n' < "$W/tty2" > "$W/tty2.lines"
grep -Eq "^backup: $N_FILES/$N_FILES files, .* \(100%\), .*/s, 0s left *$" "$W/tty2.lines" ||
	{ cat -A "$W/tty2"; fail "no complete progress line for backup on a terminal"; }
ok "backup on a terminal shows the progress line too (unchanged files count as done)"

on_tty "$W/tty3" "$CASSETTE" --no-progress --config "$CFG" restore-node --backup-name b1 --target-dir "$W/p3"
grep -q "files, " "$W/tty3" && { cat -A "$W/tty3"; fail "--no-progress still drew a progress line"; }
CASSETTE_PROGRESS=0 on_tty "$W/tty4" "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$W/p4"
grep -q "files, " "$W/tty4" && { cat -A "$W/tty4"; fail "CASSETTE_PROGRESS=0 still drew a progress line"; }
cas 0 restore-node --backup-name b1 --target-dir "$W/p5" --progress
grep -Eq "restore: $N_FILES/$N_FILES files, .*\(100%\)" "$W/err" || { cat -A "$W/err"; fail "--progress without a terminal drew nothing"; }
CASSETTE_PROGRESS=1 cas 0 restore-node --backup-name b1 --target-dir "$W/p6"
grep -Eq "restore: $N_FILES/$N_FILES files" "$W/err" || fail "CASSETTE_PROGRESS=1 without a terminal drew nothing"
CASSETTE_PROGRESS=1 cas 0 restore-node --no-progress --backup-name b1 --target-dir "$W/p7"
[ ! -s "$W/err" ] || fail "--no-progress does not win over CASSETTE_PROGRESS=1"
ok "--no-progress and CASSETTE_PROGRESS=0 silence it on a terminal; --progress and CASSETTE_PROGRESS=1 force it on"

python3 -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[70]^=1; open(p,'wb').write(b)" "$VICTIM"
RC=0; on_tty "$W/tty5" "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$W/p8" || RC=$?
cp "$W/saved" "$VICTIM"
[ "$RC" = 1 ] || fail "a tampered restore on a terminal exited $RC"
# the line is blanked and the cursor back at its start before the error comes
python3 -c "import re,sys; sys.exit(not re.search(rb'\r +\rcassette: [^\r\n]*\r?\n\$', open(sys.argv[1],'rb').read()))" "$W/tty5" ||
	{ cat -A "$W/tty5"; fail "the progress line was not erased before the error"; }
tr '\r' '\n' < "$W/tty5" | grep -v '^ *$' > "$W/tty5.lines"
tail -n 1 "$W/tty5.lines" | grep -q "^cassette: .*$VICTIM_KEY" || { cat -A "$W/tty5"; fail "the error does not stand on a line of its own"; }
grep -q "(100%)" "$W/tty5.lines" && fail "a failed restore drew a complete progress line"
[ ! -e "$W/p8" ] || fail "a failed restore on a terminal left something"
ok "a failure on a terminal erases the progress line and prints the error on a clean line"

echo "all $CHECKS checks passed"
