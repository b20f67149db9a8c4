#!/usr/bin/env bash
# One pass: a first backup opens each new file once and reads its bytes once
# (strace). The hash cache ([storage] state_dir): an unchanged differential
# run reads no file data (strace shows no SSTable opened, and the summary
# counts say so), in
# both snapshot modes; a file rewritten in place with its size and mtime put
# back is caught by its ctime and stored again, and restores byte-exact;
# --verify-hashes re-reads everything; a damaged database never gives a wrong
# MD5; an unusable state_dir warns and the backup still completes; each node
# name has its own database, and another snapshot of the same files costs only
# a re-hash.
. "$(dirname "$0")/lib.sh"

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
HAVE_STRACE=1
if ! command -v strace >/dev/null || ! strace -f -o /dev/null true 2>/dev/null; then
	HAVE_STRACE=0
	echo "# strace is missing or cannot trace here: the no-read checks rely on the summary counts only"
fi

make_node() { # make_node DIR: 2 tables, one with a secondary index; 13 files
	local d=$1 t g
	for t in "$d/ks1/$T1" "$d/ks1/$T2" "$d/ks1/$T2/.t2_idx"; do
		mkdir -p "$t"
		for g in 1 2; do
			head -c $((200000 + g * 1000)) /dev/urandom > "$t/nb-$g-big-Data.db"
			head -c 3000 /dev/urandom > "$t/nb-$g-big-Index.db"
		done
	done
	printf 'Data.db\nIndex.db\n' > "$d/ks1/$T1/nb-1-big-TOC.txt"
}
N=13

# sql DB QUERY: the first column of the first row
sql() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"; }
# summary_is UNCHANGED FROM_CACHE REHASHED: the backup summary's counts
summary_is() {
	out_has "$1 unchanged ($2 from the hash cache, $3 re-hashed)"
}
# traced EXPECTED_RC ARGS...: cas under strace, its open, read and close calls in $W/trace
traced() {
	local want=$1; shift
	if [ "$HAVE_STRACE" = 1 ]; then
		# LeakSanitizer cannot run under ptrace; the untraced runs still check leaks
		run "$want" env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			strace -f -qq -e trace=open,openat,read,close -o "$W/trace" "$CASSETTE" --config "$CFG" "$@"
	else
		: > "$W/trace"; cas "$want" "$@"
	fi
}
# data_opens DIR: how many times a data file (not a directory) under DIR was opened
data_opens() {
	grep -F "\"$1/" "$W/trace" | grep -v O_DIRECTORY | grep -cE -- '-(Data|Index)\.db"|TOC\.txt"' || true
}
# data_bytes_read DIR: the bytes read(2) from data files under DIR, all told
data_bytes_read() {
	python3 - "$1/" "$W/trace" <<'PY'
import re, sys
top, fds, pending, total = sys.argv[1], {}, {}, 0
data = re.compile(r'-(Data|Index)\.db$|TOC\.txt$')
for line in open(sys.argv[2]):
    pid, _, rest = line.rstrip('\n').partition(' ')
    rest = rest.lstrip()
    m = re.match(r'<\.\.\. (\w+) resumed>(.*)', rest)
    if m:   # a call strace printed in two pieces (another thread ran)
        call, args = pending.pop(pid, (None, ''))
        if call != m.group(1):
            continue
        rest = call + '(' + args + m.group(2)
    elif rest.endswith('<unfinished ...>'):
        m = re.match(r'(\w+)\((.*)<unfinished \.\.\.>$', rest)
        if m and m.group(1) == 'close':
            # the fd is free from here on: another thread's open may return
            # it before this close's "resumed" line is printed
            fds.pop(int(m.group(2).strip(', ') or -1), None)
        elif m:
            pending[pid] = (m.group(1), m.group(2))
        continue
    m = re.match(r'(\w+)\((.*)\) += (-?\d+)', rest)
    if not m:
        continue
    call, args, ret = m.group(1), m.group(2), int(m.group(3))
    if call in ('open', 'openat') and ret >= 0:
        p = re.search(r'"([^"]*)"', args)
        fds[ret] = p is not None and p.group(1).startswith(top) and data.search(p.group(1)) is not None
    elif call == 'read' and ret > 0 and fds.get(int(args.split(',')[0]), False):
        total += ret
    elif call == 'close':
        fds.pop(int(args.split(',')[0] or -1), None)
print(total)
PY
}
# rewrite FILE: new bytes in place, same size and mtime; only the ctime moves.
# The loop makes sure the ctime really moved (the kernel's clock ticks in
# milliseconds), so the test checks the rule, not a race.
rewrite() {
	local f=$1 size mtime ctime
	size=$(stat -c %s "$f"); mtime=$(stat -c %y "$f"); ctime=$(stat -c %z "$f")
	touch -r "$f" "$W/mtime-ref"
	printf 'REWRITTEN-IN-PLACE' | dd of="$f" bs=1 seek=5000 conv=notrunc status=none
	touch -r "$W/mtime-ref" "$f"
	while [ "$(stat -c %z "$f")" = "$ctime" ]; do touch -r "$W/mtime-ref" "$f"; done
	[ "$(stat -c %s "$f")" = "$size" ] && [ "$(stat -c %y "$f")" = "$mtime" ] ||
		fail "rewrite did not keep size and mtime of $f"
}
# source_md5 MANIFEST REL: the source_MD5 recorded for file REL
source_md5() {
	python3 -c 'import json,re,sys
for t in json.load(open(sys.argv[1])):
    for o in t["objects"]:
        if re.sub("/@[^/]+/", "/", o["path"]).endswith("/" + sys.argv[2]): print(o["source_MD5"])' "$1" "$2"
}

"$CASSETTE" keygen > "$W/k"; chmod 600 "$W/k"
for mode in nodetool hardlink; do
	D=$W/data-$mode STATE=$W/state-$mode STORE=$W/store-$mode
	export SNAPSHOT_MODE=$mode STATE_DIR=$STATE
	make_node "$D"
	CFG=$W/$mode.ini
	write_config "$CFG" "$D" "$STORE" "key_secret_file = $W/k"

	traced 0 backup-node --backup-name b1
	out_has "$N new"; summary_is 0 0 0
	if [ "$HAVE_STRACE" = 1 ]; then
		# one pass: each new file opened once, and its bytes read once
		[ "$(data_opens "$D")" = "$N" ] || fail "$mode: the first run opened $(data_opens "$D") data files, not $N"
		want=$(find "$D" -path '*/snapshots' -prune -o -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')
		got=$(data_bytes_read "$D")
		[ "$got" = "$want" ] || fail "$mode: the first run read $got bytes of data files, the node holds $want"
		ok "$mode: the first run reads each new file once: $N opens, $want bytes read for $want bytes"
	fi
	DB=$STATE/node1.example.db
	[ "$(stat -c %a "$STATE")" = 700 ] || fail "state_dir is not 0700"
	[ "$(stat -c %a "$DB")" = 600 ] || fail "state db is not 0600"
	[ "$(sql "$DB" 'select count(*) from file_md5')" = "$N" ] || fail "the first run did not record $N MD5s"
	[ "$(sql "$DB" 'pragma journal_mode')" = wal ] || fail "state db is not in WAL mode"
	ok "$mode: the first run records every stored file's MD5 (db 0600 in a 0700 state_dir, WAL)"

	traced 0 backup-node --backup-name b2
	summary_is "$N" "$N" 0
	out_has "hash cache: $N files"; out_has "trusted without reading, 0 files (0 B) hashed to compare"
	[ "$(data_opens "$D")" = 0 ] || { grep -F "$D/" "$W/trace" | grep -v O_DIRECTORY; fail "$mode: an unchanged run opened data files"; }
	ok "$mode: the unchanged run reads no file data: all $N MD5s from the cache, no SSTable opened"

	traced 0 backup-node --backup-name b3 --verify-hashes
	summary_is "$N" 0 "$N"
	out_has "(ignored: --verify-hashes)"; out_has "$N files"; out_has "0 cached MD5s wrong"
	if [ "$HAVE_STRACE" = 1 ]; then
		[ "$(data_opens "$D")" = "$N" ] || fail "$mode: --verify-hashes opened $(data_opens "$D") data files, not $N"
	fi
	ok "$mode: --verify-hashes re-reads all $N files (strace sees each opened) and finds the cache right"

	cas 0 backup-node --backup-name b4
	summary_is "$N" "$N" 0
	ok "$mode: after --verify-hashes the cache is used again"

	F=ks1/$T1/nb-2-big-Data.db
	rewrite "$D/$F"
	cas 0 backup-node --backup-name b5
	out_has "1 new"; summary_is $((N - 1)) $((N - 1)) 0
	out_has "1 file ("; out_has "hashed to compare"
	[ "$(source_md5 "$STORE/node1.example/b5/meta/manifest.json" "$F")" = "$(md5sum < "$D/$F" | cut -c1-32)" ] ||
		fail "$mode: b5 records a stale MD5 for the rewritten file"
	cas 0 restore-node --backup-name b5 --target-dir "$W/r5-$mode"
	diff <(sstable_digest "$D") <(sstable_digest "$W/r5-$mode") || fail "$mode: restore of b5 differs"
	ok "$mode: an in-place rewrite keeping size and mtime is caught by the ctime, stored again, restored byte-exact"

	cas 0 backup-node --backup-name b6 --keep-snapshot
	summary_is "$N" "$N" 0
	cas 0 backup-node --backup-name b7
	summary_is "$N" "$N" 0
	rm -rf "$D"/ks1/*/snapshots/cassette-b6
	cas 0 backup-node --backup-name b8
	summary_is "$N" 0 "$N"
	ok "$mode: a kept snapshot keeps the cache valid; removing it (a link change) costs a re-hash, not a wrong hit"
done
unset STATE_DIR
D=$W/data-hardlink STATE=$W/state-hardlink STORE=$W/store-hardlink CFG=$W/hardlink.ini
DB=$STATE/node1.example.db

# ---- a damaged database ---------------------------------------------------
head -c 16384 /dev/urandom > "$DB"
cas 0 backup-node --backup-name c1
err_has "warning"; err_has "$DB"; err_has "moved aside"; one_line_err
summary_is "$N" 0 "$N"; out_has "0 new"
[ -f "$DB.corrupt" ] || fail "the damaged database was not kept aside"
cas 0 backup-node --backup-name c2
summary_is "$N" "$N" 0
[ ! -s "$W/err" ] || { cat "$W/err"; fail "the rebuilt database still warns"; }
ok "garbage in the state db: one warning, the run hashes everything and is right, the db is rebuilt"

# A row whose MD5 bytes are damaged where SQLite does not look: the row's
# checksum refuses it and the file is hashed, so no wrong MD5 is reused.
F=ks1/$T2/nb-1-big-Data.db
python3 - "$DB" "$(md5sum < "$D/$F" | cut -c1-32)" <<'EOF' || fail "could not find the MD5 in the db"
import sqlite3, sys
path, md5 = sys.argv[1], bytes.fromhex(sys.argv[2])
orig = open(path, "rb").read()
# the history cache's rows hold the same bytes: damage the hash cache's row
hits = [i for i in range(len(orig)) if orig.startswith(md5, i)]
for i in hits:
    b = bytearray(orig)
    b[i] ^= 0xff
    open(path, "wb").write(b)
    if sqlite3.connect(path).execute("select count(*) from file_md5 where md5 = ?", (md5,)).fetchone()[0] == 0:
        break
else:
    raise AssertionError("no file_md5 row holds the MD5")
EOF
[ "$(sql "$DB" 'pragma quick_check')" = ok ] || fail "the damage should pass SQLite's own check"
cas 0 backup-node --backup-name c3
err_has "fail their checksum"; one_line_err
summary_is "$N" $((N - 1)) 1; out_has "0 new"
[ "$(source_md5 "$STORE/node1.example/c3/meta/manifest.json" "$F")" = "$(md5sum < "$D/$F" | cut -c1-32)" ] ||
	fail "c3 recorded a wrong MD5"
cas 0 backup-node --backup-name c4
summary_is "$N" "$N" 0
ok "a damaged MD5 in a row passes quick_check but fails the row checksum: hashed, right, repaired"

# ---- state_dir unusable ---------------------------------------------------
# A warning, not an error: the cache only saves reading; a nightly backup
# that fails over it would be worse than one that reads every file.
: > "$W/not-a-dir"
write_config "$W/bad-state.ini" "$D" "$STORE" "key_secret_file = $W/k"
sed -i "s|^state_dir = .*|state_dir = $W/not-a-dir/state|" "$W/bad-state.ini"
CFG=$W/bad-state.ini cas 0 backup-node --backup-name d1
err_has "warning: hash cache:"; err_has "$W/not-a-dir/state"; err_has "running without it"; one_line_err
summary_is "$N" 0 "$N"; out_has "hash cache (unavailable)"
ok "an unusable state_dir: one warning naming it, the backup completes by hashing every file"
cas 0 backup-node --backup-name d3
summary_is "$N" 0 "$N"; out_has "0 new"
ok "the run without a cache moved the ctimes it did not record: the next run re-hashes, not trusts"
sed -i "s|^state_dir = .*|state_dir = relative/dir|" "$W/bad-state.ini"
CFG=$W/bad-state.ini cas 2 backup-node --backup-name d2
err_has "state_dir 'relative/dir' must be an absolute path"; one_line_err
ok "a relative state_dir is a configuration error"

# ---- one database per node name -------------------------------------------
cp -a "$D" "$W/data-n2"
rm -rf "$W/data-n2"/ks1/*/snapshots
FQDN=node2.example SNAPSHOT_MODE=hardlink STATE_DIR=$STATE \
	write_config "$W/n2.ini" "$W/data-n2" "$STORE" "key_secret_file = $W/k"
CFG=$W/n2.ini cas 0 backup-node --backup-name e1
out_has "$N new"
CFG=$W/n2.ini cas 0 backup-node --backup-name e2
summary_is "$N" "$N" 0
[ -f "$STATE/node2.example.db" ] || fail "node2 has no database of its own"
cas 0 backup-node --backup-name e3
summary_is "$N" "$N" 0
ok "two node names share a state_dir with one database each; neither disturbs the other"

# Another agent snapshotting node1's files links and unlinks them: their
# ctimes move, so node1's next run re-hashes instead of trusting.
FQDN=node3.example SNAPSHOT_MODE=hardlink STATE_DIR=$STATE \
	write_config "$W/n3.ini" "$D" "$STORE" "key_secret_file = $W/k"
CFG=$W/n3.ini cas 0 backup-node --backup-name f1
cas 0 backup-node --backup-name f2
summary_is "$N" 0 "$N"; out_has "0 new"
cas 0 backup-node --backup-name f3
summary_is "$N" "$N" 0
ok "a snapshot taken by someone else costs node1 one re-hash of every file, never a wrong hit"

echo "1..$CHECKS"
