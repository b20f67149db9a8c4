#!/usr/bin/env bash
# The node loop over real Cassandra SSTables (3.11 to 5.0, BIG and BTI) from
# ../shared/fixtures/sstables. Skipped, with a message, when that is absent.
. "$(dirname "$0")/lib.sh"
FIX=${SHARED:-$SRC/../shared}/fixtures/sstables
if [ ! -d "$FIX" ]; then
	echo "SKIP: $FIX not found (the shared fixtures live beside the project)"
	exit 77
fi

D=$W/data
cp -r "$FIX" "$D"
chmod -R u+w "$D"
N=$(sstable_digest "$D" | wc -l)
[ "$N" -gt 80 ] || fail "expected the fixture's ~94 SSTable components, found $N"
"$CASSETTE" keygen > "$W/k"

for mode in nodetool hardlink; do
	CFG=$W/$mode.ini
	SNAPSHOT_MODE=$mode write_config "$CFG" "$D" "$W/store-$mode" "key_secret_file = $W/k"
	export CASSETTE_STORAGE_TRACE=$W/trace-$mode
	cas 0 backup-node --backup-name real1
	[ "$(grep -c '^put_file .*/data/' "$W/trace-$mode")" = "$N" ] || fail "$mode: expected $N uploads"
	: > "$W/trace-$mode"
	cas 0 backup-node --backup-name real2
	unset CASSETTE_STORAGE_TRACE
	out_has "0 new"
	grep -q '^put_file .*/data/' "$W/trace-$mode" && fail "$mode: an unchanged node uploaded files again"
	for b in real1 real2; do
		cas 0 restore-node --backup-name "$b" --target-dir "$W/r-$mode-$b"
		diff <(sstable_digest "$D") <(sstable_digest "$W/r-$mode-$b") || fail "$mode $b: restore differs"
	done
	ok "$mode snapshot: $N real components backed up, unchanged second run uploads nothing, both restore byte-identical"
done

# Cassandra's own integrity oracle: Digest.crc32 holds the CRC32 of Data.db.
python3 - "$W/r-hardlink-real2" <<'PY'
import glob, os, sys, zlib
checked = 0
for digest in glob.glob(os.path.join(sys.argv[1], "*/*/*-Digest.crc32")):
    data = digest.replace("-Digest.crc32", "-Data.db")
    want = int(open(digest).read().strip())
    got = zlib.crc32(open(data, "rb").read()) & 0xffffffff
    assert got == want, (data, got, want)
    checked += 1
assert checked >= 10, checked
print("Digest.crc32 verified for", checked, "restored SSTables")
PY
ok "restored Data.db files match Cassandra's Digest.crc32"

[ -z "$(find "$D" -path '*/snapshots/cassette-*')" ] || fail "snapshots left in the fixture copy"
[ -d "$D/baselines/iot-5b608090e03d11ebb4c1d335f841c590/snapshots/truncated-1625783969724-iot" ] || fail "Cassandra's own snapshot was touched"
grep -q '"keyspace":"baselines","columnfamily":"iot-5b608090e03d11ebb4c1d335f841c590"' "$W/store-hardlink/node1.example/real1/meta/manifest.json" || fail "manifest shape"
grep -rq 'truncated-1625783969724' "$W/store-hardlink/node1.example/real1/meta/manifest.json" && fail "an old snapshot was backed up"
ok "only the live SSTables are backed up; existing snapshots and backups/ are left alone"
echo "all $CHECKS checks passed"
