#!/usr/bin/env bash
# The demo: installs what is missing, builds, makes a sample Cassandra node,
# takes an encrypted backup to a local directory, lists it without the key,
# restores it and compares the restore with the source.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target cassette >/dev/null
CASSETTE=$PWD/build/cassette
DEMO=$PWD/build/demo
rm -rf "$DEMO" && mkdir -p "$DEMO"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A sample node: 2 keyspaces, 3 tables, SSTables of 3 generations"
for t in shop/orders-8a1f3c2e9d4b4e6f8a1f3c2e9d4b4e6f shop/customers-1b2c3d4e5f60718293a4b5c6d7e8f901 \
	 metrics/samples-0f1e2d3c4b5a69788796a5b4c3d2e1f0; do
	for g in 1 2 3; do
		d=$DEMO/data/$t; mkdir -p "$d"
		head -c $((g * 700000)) /dev/urandom > "$d/nb-$g-big-Data.db"
		for c in Index Summary Statistics Filter CompressionInfo; do head -c 4096 /dev/urandom > "$d/nb-$g-big-$c.db"; done
		echo 0 > "$d/nb-$g-big-Digest.crc32"; printf 'Data.db\nTOC.txt\n' > "$d/nb-$g-big-TOC.txt"
	done
done
find "$DEMO/data" -type f | wc -l | xargs echo "files:"; du -sh "$DEMO/data" | cut -f1 | xargs echo "size:"

step "cassette keygen > backup.key"
"$CASSETTE" keygen > "$DEMO/backup.key"
ls -l "$DEMO/backup.key"

step "node.ini"
cat > "$DEMO/node.ini" <<INI
[cassandra]
data_dir = $DEMO/data
; no Cassandra is running here, so snapshot with hard links, as Cassandra does
snapshot_mode = hardlink

[storage]
storage_provider = local
base_path = $DEMO/backups
fqdn = demo-node-1
key_secret_file = $DEMO/backup.key
encryption_tmp_dir = $DEMO/tmp
state_dir = $DEMO/state
INI
cat "$DEMO/node.ini"

step "cassette backup-node (first backup: everything is new)"
"$CASSETTE" --config "$DEMO/node.ini" backup-node --backup-name monday

step "a compaction: generation 1 replaced by generation 4; backup again"
for t in "$DEMO"/data/*/*; do
	rm "$t"/nb-1-big-*
	head -c 500000 /dev/urandom > "$t/nb-4-big-Data.db"; printf 'Data.db\n' > "$t/nb-4-big-TOC.txt"
done
"$CASSETTE" --config "$DEMO/node.ini" backup-node --backup-name tuesday

step "list-backups with a config that has NO key"
grep -v key_secret_file "$DEMO/node.ini" > "$DEMO/nokey.ini"
env -u CASSETTE_KEY_FILE "$CASSETTE" --config "$DEMO/nokey.ini" list-backups

step "inspect one stored object (no key needed)"
obj=$(find "$DEMO/backups/demo-node-1/data" -name 'nb-4-big-Data.db' | head -1)
"$CASSETTE" inspect "$obj"

step "restore tuesday and compare with the node"
"$CASSETTE" --config "$DEMO/node.ini" restore-node --backup-name tuesday --target-dir "$DEMO/restore"
if diff -r -x snapshots "$DEMO/data" "$DEMO/restore"; then
	echo "the restore is byte-identical to the node's SSTables"
else
	echo "the restore differs from the node" >&2; exit 1
fi
echo; echo "demo files are in $DEMO"
