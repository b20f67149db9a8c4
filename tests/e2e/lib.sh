# Shared helpers for the end-to-end tests. They drive the real binary.
# Needs: CASSETTE (the binary), SRC (source dir). Each test gets a scratch dir $W.
set -euo pipefail
: "${CASSETTE:?set CASSETTE to build/cassette}"
: "${SRC:?set SRC to the source tree}"
W=$(mktemp -d "${TMPDIR:-/tmp}/cassette-e2e.XXXXXX")
trap 'rm -rf "$W"' EXIT
FAKE_NODETOOL="$SRC/tests/support/fake-nodetool"
FAKE_CQLSH="$SRC/tests/support/fake-cqlsh"
CHECKS=0

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); echo "ok $CHECKS - $*"; }

# run EXPECTED_RC CMD... : runs, keeps stdout in $W/out and stderr in $W/err
run() {
	local want=$1; shift
	local got=0
	"$@" >"$W/out" 2>"$W/err" || got=$?
	if [ "$got" != "$want" ]; then
		echo "--- stdout"; cat "$W/out"; echo "--- stderr"; cat "$W/err"
		fail "expected exit $want, got $got: $*"
	fi
}
# cas EXPECTED_RC ARGS... : run cassette with the current config
cas() { local want=$1; shift; run "$want" "$CASSETTE" --config "$CFG" "$@"; }
err_has() { grep -qF -- "$1" "$W/err" || { cat "$W/err"; fail "stderr lacks '$1'"; }; }
out_has() { grep -qF -- "$1" "$W/out" || { cat "$W/out"; fail "stdout lacks '$1'"; }; }
# flip_byte FILE OFFSET : inverts one byte in place, so the file surely changes
flip_byte() {
	local old
	old=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	[ -n "$old" ] || fail "flip_byte: $1 has no byte at $2"
	printf "\\x$(printf %02x $((old ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
one_line_err() { [ "$(wc -l < "$W/err")" -eq 1 ] || { cat "$W/err"; fail "stderr is not one line"; }; }

# write_config FILE DATA STORE [extra lines...]: a node of the fake nodetool.
# Its ring and status come from CLUSTER (a fake-nodetool --cluster file), by
# default FILE.cluster, written here: this node alone, named by its fqdn
# (resolve_ip_addresses = false), so the tokenmap's own-name check holds.
# The extra lines land in [storage]. cqlsh_cmd: $CQLSH_CMD when set (empty:
# none), else the fake cqlsh in nodetool mode (so no test runs a real cqlsh)
# and none in hardlink mode.
write_config() {
	local file=$1 data=$2 store=$3 cluster=${CLUSTER:-$1.cluster}; shift 3
	if [ -z "${CLUSTER:-}" ]; then
		echo "${FQDN:-node1.example} dc1 rack1 up -6917529027641081856,-2305843009213693952,2305843009213693952,6917529027641081856" > "$cluster"
	fi
	{
		echo "[cassandra]"
		echo "data_dir = $data"
		echo "snapshot_mode = ${SNAPSHOT_MODE:-nodetool}"
		echo "nodetool_cmd = $FAKE_NODETOOL --cluster $cluster $data"
		echo "resolve_ip_addresses = false"
		if [ -n "${CQLSH_CMD+set}" ]; then
			[ -z "$CQLSH_CMD" ] || echo "cqlsh_cmd = $CQLSH_CMD"
		elif [ "${SNAPSHOT_MODE:-nodetool}" = nodetool ]; then
			echo "cqlsh_cmd = $FAKE_CQLSH"
		fi
		echo
		echo "[storage]"
		echo "storage_provider = local"
		echo "base_path = $store"
		echo "fqdn = ${FQDN:-node1.example}"
		echo "encryption_tmp_dir = ${ENCTMP:-$W/enctmp}"
		echo "state_dir = ${STATE_DIR:-$W/state}"
		for line in "$@"; do echo "$line"; done
	} > "$file"
}

# SSTable-only view of a data dir: relative path + md5, skipping snapshots,
# backups and Cassandra's in-flight files.
sstable_digest() {
	(cd "$1" && find . -mindepth 3 -type f ! -path '*/snapshots/*' ! -path '*/backups/*' \
		! -name '*.tmp' ! -name 'tmp-*' ! -name 'tmplink-*' ! -name '*_txn_*.log' \
		-printf '%P\n' | LC_ALL=C sort | while read -r f; do echo "$(md5sum < "$f" | cut -c1-32) $f"; done)
}

# manifest_field BACKUP_DIR_MANIFEST PYTHON_EXPR: evaluate over the parsed manifest `m`
pyjson() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print($2)" "$1"; }
