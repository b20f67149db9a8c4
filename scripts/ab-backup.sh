#!/usr/bin/env bash
# ab-backup.sh DIR RUNS CASSETTE_BIN...: the full encrypted backup-node of a
# ~1.5 GiB node of incompressible files (6 x 200 MiB Data.db, 30 x 10 MiB
# Data.db + 100 KiB Index.db) to local storage, run RUNS times per binary,
# the binaries interleaved so they share the machine's noise. Prints each
# binary's wall times and the medians of wall and CPU (user + sys) time.
# DIR holds the data, the key, the store and the temp dir (same file system).
# A quick A/B for the hot path; bench/ holds the benchmark against restic.
set -euo pipefail
B=$(realpath -m "$1"); RUNS=$2; shift 2
SRC=$(cd "$(dirname "$0")/.." && pwd)
t=$B/data/ks1/t1-0123456789abcdef0123456789abcdef
if [ ! -d "$t" ]; then
	mkdir -p "$t"
	for g in 1 2 3 4 5 6; do head -c 200M /dev/urandom > "$t/nb-$g-big-Data.db"; done
	for g in $(seq 7 36); do
		head -c 10M /dev/urandom > "$t/nb-$g-big-Data.db"
		head -c 100K /dev/urandom > "$t/nb-$g-big-Index.db"
	done
fi
[ -f "$B/key" ] || { (umask 077; "$1" keygen > "$B/key"); }
echo "bench1 dc1 rack1 up -4611686018427387904,0,4611686018427387904" > "$B/cluster"
printf '%s\n' "[cassandra]" "data_dir = $B/data" "snapshot_mode = nodetool" \
	"nodetool_cmd = $SRC/tests/support/fake-nodetool --cluster $B/cluster $B/data" \
	"resolve_ip_addresses = false" "[storage]" \
	"storage_provider = local" "base_path = $B/store" "fqdn = bench1" \
	"encryption_tmp_dir = $B/tmp" "key_secret_file = $B/key" > "$B/cfg.ini"
find "$B/data" -type f -name 'nb-*' -exec cat {} + > /dev/null   # warm the page cache
declare -A wall cpu
for i in $(seq 1 "$RUNS"); do
	for bin in "$@"; do
		rm -rf "$B/store"; sync
		/usr/bin/time -f "%e %U %S" -o "$B/t" "$bin" --config "$B/cfg.ini" backup-node \
			--mode full --backup-name "r$i" > /dev/null
		read -r e u s < "$B/t"
		wall[$bin]+="$e "; cpu[$bin]+="$(echo "$u + $s" | bc) "
	done
done
med() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for bin in "$@"; do
	echo "$bin: wall [${wall[$bin]}] median $(echo "${wall[$bin]}" | med) s; CPU median $(echo "${cpu[$bin]}" | med) s"
done
