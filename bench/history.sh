#!/usr/bin/env bash
# The cost of a nightly run over years: on a throw-away radosgw
# (tests/support/rgw.sh), N differential backups of an unchanged one-file
# node, one after the other. Prints the time of the 10th and the Nth backup
# and their ratio (issue 11's goal: at most 1.5x for N = 1000), and the time
# of list-backups over the N backups (goal: under 1 s). Not a test: it prints
# what it measured and exits 0 either way (1 only if a run failed).
#
#   bench/history.sh [--backups N] [--cassette PATH] [--workdir DIR] [--keep]
#
#   --backups N      how many backups (1000)
#   --cassette PATH  the binary to measure (default: a Release build in
#                    build-bench/, as bench/run.sh makes)
#   --workdir DIR    scratch space (build-bench-history/); every run's time
#                    is kept in DIR/times.txt
#   --keep           keep the work dir (default: only times.txt is kept)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=1000 CASSETTE="" W=$ROOT/build-bench-history KEEP=0
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
ARGS=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--backups) N=$2; shift ;;
	--cassette) CASSETTE=$2; shift ;;
	--workdir) W=$2; shift ;;
	--keep) KEEP=1 ;;
	-h|--help) usage 0 ;;
	*) echo "bench/history.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case "$N" in ''|*[!0-9]*) echo "bench/history.sh: --backups must be a number" >&2; exit 2 ;; esac
[ "$N" -ge 10 ] || { echo "bench/history.sh: --backups must be at least 10" >&2; exit 2; }

# Inside a radosgw of our own: rgw.sh run starts one, runs us again, stops it.
if [ -z "${CASSETTE_TEST_S3_PORT:-}" ]; then
	exec bash "$ROOT/tests/support/rgw.sh" run -- bash "$0" "${ARGS[@]}"
fi

if [ -z "$CASSETTE" ]; then
	echo "== build (Release) in build-bench/" >&2
	cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release -DCASSETTE_TESTS=OFF >/dev/null
	cmake --build "$ROOT/build-bench" -j"$(nproc)" --target cassette >/dev/null
	CASSETTE=$ROOT/build-bench/cassette
fi

rm -rf "$W/data" "$W/state" "$W/enctmp"
mkdir -p "$W/data/ks1/t1-0123456789abcdef0123456789abcdef" "$W/enctmp"
head -c 100000 /dev/urandom > "$W/data/ks1/t1-0123456789abcdef0123456789abcdef/nb-1-big-Data.db"
"$CASSETTE" keygen > "$W/k"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
chmod 600 "$W/creds"
CFG=$W/bench.ini
printf '%s\n' "[cassandra]" "data_dir = $W/data" "snapshot_mode = hardlink" "[storage]" \
	"storage_provider = s3" "host = 127.0.0.1" "port = $CASSETTE_TEST_S3_PORT" "secure = false" \
	"bucket_name = $CASSETTE_TEST_S3_BUCKET" "prefix = bench-history" "fqdn = node1" \
	"key_file = $W/creds" "key_secret_file = $W/k" "encryption_tmp_dir = $W/enctmp" \
	"state_dir = $W/state" > "$CFG"

now() { date +%s.%N; }
: > "$W/times.txt"
echo "== $N differential backups of an unchanged one-file node on radosgw" >&2
for i in $(seq 1 "$N"); do
	name=$(printf 'h%05d' "$i")
	t0=$(now)
	"$CASSETTE" --config "$CFG" backup-node --backup-name "$name" > "$W/out" 2> "$W/err" ||
		{ cat "$W/out" "$W/err"; echo "bench/history.sh: backup $i failed" >&2; exit 1; }
	t1=$(now)
	echo "$i $(echo "$t1 - $t0" | bc)" >> "$W/times.txt"
	[ $((i % 100)) -ne 0 ] || echo "   $i: $(tail -1 "$W/times.txt" | cut -d' ' -f2) s" >&2
done
grep -q "0 new" "$W/out" || { cat "$W/out"; echo "bench/history.sh: the last backup stored something" >&2; exit 1; }

# list-backups: the best of 3 (the first may pay for cold caches)
best=""
for r in 1 2 3; do
	t0=$(now)
	"$CASSETTE" --config "$CFG" list-backups > "$W/list" 2>&1 || { cat "$W/list"; exit 1; }
	t1=$(now)
	t=$(echo "$t1 - $t0" | bc)
	if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
[ "$(grep -c '^h' "$W/list")" = "$N" ] || { echo "bench/history.sh: list-backups shows $(grep -c '^h' "$W/list") backups, not $N" >&2; exit 1; }

t10=$(awk '$1 == 10 { print $2 }' "$W/times.txt")
tn=$(awk -v n="$N" '$1 == n { print $2 }' "$W/times.txt")
# the median of the last 10, so that one slow run does not decide
tlast=$(awk -v n="$N" '$1 > n - 10 { print $2 }' "$W/times.txt" | sort -n | sed -n 5p)
t10m=$(awk '$1 >= 6 && $1 <= 15 { print $2 }' "$W/times.txt" | sort -n | sed -n 5p)
ratio=$(echo "scale=2; $tn / $t10" | bc)
mratio=$(echo "scale=2; $tlast / $t10m" | bc)
printf 'backup 10:          %.3f s (median of 6..15: %.3f s)\n' "$t10" "$t10m"
printf 'backup %d:        %.3f s (median of the last 10: %.3f s)\n' "$N" "$tn" "$tlast"
printf 'ratio:              %sx (medians: %sx; goal: at most 1.5x)\n' "$ratio" "$mratio"
printf 'list-backups (%d):  %.3f s (best of 3; goal: under 1 s)\n' "$N" "$best"
for k in 100 500; do
	[ "$k" -le "$N" ] && printf 'backup %d:          %.3f s\n' "$k" "$(awk -v k=$k '$1 == k { print $2 }' "$W/times.txt")"
done
if [ "$KEEP" = 0 ]; then
	rm -rf "$W/data" "$W/state" "$W/enctmp" "$W/k" "$W/creds" "$W/out" "$W/err" "$W/list" "$CFG"
fi
