#!/usr/bin/env bash
# Key files and key memory:
#   - keygen --output FILE creates FILE 0600 and never replaces one; to a pipe
#     it warns that the mode is the user's job; to a file on stdout it makes it
#     0600;
#   - a core of a running restore (gcore, Debian's gdb) holds no byte of the
#     master key nor of the node's data key (unwrapped by ref_cassette.py):
#     each key's page is left out of dumps (MADV_DONTDUMP). A control search
#     of the same core for the backup's name proves the search sees the
#     process's memory.
. "$(dirname "$0")/lib.sh"

run 0 "$CASSETTE" keygen --output "$W/k1"
[ "$(stat -c %a "$W/k1")" = 600 ] || fail "keygen --output made mode $(stat -c %a "$W/k1")"
[ "$(wc -c < "$W/k1")" = 45 ] || fail "the key file is not one line of 44 characters"
cp "$W/k1" "$W/k1.before"
run 1 "$CASSETTE" keygen --output "$W/k1"; err_has "exists: keygen never replaces a key file"
cmp -s "$W/k1" "$W/k1.before" || fail "keygen --output changed an existing key file"
run 0 sh -c "'$CASSETTE' keygen | cat > '$W/k2'"; err_has "the key goes to a pipe"
run 0 sh -c "'$CASSETTE' keygen > '$W/k3'"
[ "$(stat -c %a "$W/k3")" = 600 ] || fail "keygen > file left mode $(stat -c %a "$W/k3")"
run 2 "$CASSETTE" keygen --output ""; err_has "--output needs a file name"
ok "keygen --output creates a 0600 file and never replaces one; a pipe gets a warning; stdout files are made 0600"

# ---- a core of a running restore -----------------------------------------------
if [ -n "${CASSETTE_SANITIZED:-}" ]; then
	# ASan reserves terabytes of shadow memory: a core of it fills the disk
	echo "skip: a sanitizer build: the core-dump check runs in the plain build only"
	echo "all $CHECKS checks passed"
	exit 0
fi
if ! command -v gcore >/dev/null; then
	echo "skip: no gcore (Debian's gdb): the core-dump check did not run"
	echo "all $CHECKS checks passed"
	exit 0
fi
T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
for g in 1 2 3 4; do head -c $((8 * 1024 * 1024)) /dev/urandom > "$D/ks1/$T1/nb-$g-big-Data.db"; done
CFG=$W/node.ini
SNAPSHOT_MODE=hardlink write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/k1" \
	"transfer_max_bandwidth = 8MB/s" "concurrent_transfers = 1"
NAME=core-check-backup-name-5f3a
SNAPSHOT_MODE=hardlink write_config "$W/fast.ini" "$D" "$W/store" "key_secret_file = $W/k1"
run 0 "$CASSETTE" --config "$W/fast.ini" backup-node --backup-name "$NAME"
# the node's data key, which the restore unwraps and holds: the reference
# reader (docs/FORMAT.md) unwraps it too, for the search below
DK=$W/none
if python3 -c 'import cryptography' 2>/dev/null; then
	DK=$W/dk
	run 0 python3 "$SRC/tests/crypto/ref_cassette.py" unwrap "$W/k1" \
		"$(find "$W/store/index/data_keys" -type f)" "$DK"
fi
# the restore reads 32 MiB at 8 MB/s: about four seconds to take its core in
"$CASSETTE" --config "$CFG" restore-node --backup-name "$NAME" --target-dir "$W/r" >"$W/rout" 2>&1 &
PID=$!
sleep 1.5
kill -0 "$PID" 2>/dev/null || { cat "$W/rout"; fail "the restore ended before its core was taken"; }
if ! gcore -o "$W/core" "$PID" >"$W/gcore.log" 2>&1; then
	wait "$PID" || true
	echo "skip: gcore could not attach here (ptrace not allowed?): $(tail -1 "$W/gcore.log")"
	echo "all $CHECKS checks passed"
	exit 0
fi
wait "$PID" || { cat "$W/rout"; fail "the restore failed after its core was taken"; }
CORE=$W/core.$PID
[ -s "$CORE" ] || fail "gcore wrote no core"
python3 - "$CORE" "$W/k1" "$NAME" "$DK" <<'EOF' || fail "the core of a running restore holds a key"
import base64, os, sys
core = open(sys.argv[1], "rb").read()
# control: the core is the process's memory, and a search finds what is there
assert sys.argv[3].encode() in core, "control failed: the backup name is not in the core"
for what, path in (("master key", sys.argv[2]), ("data key", sys.argv[4])):
    if not os.path.exists(path):
        print("skip: no python3-cryptography: the data key was not searched for")
        continue
    text = open(path, "rb").read().strip()
    raw = base64.b64decode(text)
    assert len(raw) == 32
    assert raw not in core, "the raw %s is in the core" % what
    assert text not in core, "the %s's base64 is in the core" % what
EOF
ok "a core of a running restore holds no byte of the master key nor of the data key it unwrapped (and the control string is found)"

echo "all $CHECKS checks passed"
