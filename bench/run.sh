#!/usr/bin/env bash
# The benchmark: cassette against restic on the same synthetic Cassandra node,
# in one run, side by side. Not a test: it prints what it measured and whether
# issue 4's targets are met, and exits 0 either way (1 only if a tool failed).
#
#   bench/run.sh [--quick] [--reps N] [--size BYTES] [--sstables N]
#                [--target-size BYTES] [--target-sstables N] [--no-target]
#                [--uncompressed-size BYTES] [--uncompressed-sstables N]
#                [--no-uncompressed] [--workdir DIR] [--keep] [--no-deps]
#
#   --quick            a smoke run of about 30 s: small sets, one repetition
#   --reps N           repetitions of each timing; the table shows medians (3)
#   --size BYTES       the throughput set: all files together (1.2G)
#   --sstables N       its SSTables, 8 files each (40: 320 files)
#   --target-size B    the set for the "unchanged run" target (2Gi)
#   --target-sstables  its SSTables (125: 1,000 files)
#   --no-target        skip that second set
#   --uncompressed-size B   the uncompressed-table node (compressible rows, no
#                      CompressionInfo.db): one full backup each, for the
#                      stored bytes (300M)
#   --uncompressed-sstables N  its SSTables (24: 192 files)
#   --no-uncompressed  skip that node
#   --workdir DIR      where data, stores and restores go (build-bench-work/)
#   --keep             keep them afterwards (default: only the report is kept)
#   --no-deps          do not install anything
# Sizes take SI or IEC suffixes (1.2G = 1.2e9, 2Gi = 2^31). Every option has
# an environment twin: BENCH_REPS, BENCH_SIZE, BENCH_SSTABLES,
# BENCH_TARGET_SIZE, BENCH_TARGET_SSTABLES, BENCH_UNCOMPRESSED_SIZE,
# BENCH_UNCOMPRESSED_SSTABLES, BENCH_WORKDIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

REPS=${BENCH_REPS:-3}
SIZE=${BENCH_SIZE:-1.2G}
SSTABLES=${BENCH_SSTABLES:-40}
T_SIZE=${BENCH_TARGET_SIZE:-2Gi}
T_SSTABLES=${BENCH_TARGET_SSTABLES:-125}
U_SIZE=${BENCH_UNCOMPRESSED_SIZE:-300M}
U_SSTABLES=${BENCH_UNCOMPRESSED_SSTABLES:-24}
W=${BENCH_WORKDIR:-$ROOT/build-bench-work}
QUICK=0 TARGET=1 UNCOMP=1 KEEP=0 DEPS=1
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) QUICK=1; REPS=1; SIZE=120M; SSTABLES=16; T_SIZE=100M; U_SIZE=30M; U_SSTABLES=8 ;;
	--reps) REPS=$2; shift ;;
	--size) SIZE=$2; shift ;;
	--sstables) SSTABLES=$2; shift ;;
	--target-size) T_SIZE=$2; shift ;;
	--target-sstables) T_SSTABLES=$2; shift ;;
	--no-target) TARGET=0 ;;
	--uncompressed-size) U_SIZE=$2; shift ;;
	--uncompressed-sstables) U_SSTABLES=$2; shift ;;
	--no-uncompressed) UNCOMP=0 ;;
	--workdir) W=$2; shift ;;
	--keep) KEEP=1 ;;
	--no-deps) DEPS=0 ;;
	-h|--help) usage 0 ;;
	*) echo "bench/run.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
SIZE=$(numfmt --from=auto "$SIZE") T_SIZE=$(numfmt --from=auto "$T_SIZE") U_SIZE=$(numfmt --from=auto "$U_SIZE")
case "$REPS" in ''|*[!0-9]*|0) echo "bench/run.sh: --reps must be a positive number, not '$REPS'" >&2; exit 2 ;; esac

say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

# --- what is needed, installed only when missing (as scripts/deps.sh does) ---
if [ "$DEPS" -eq 1 ]; then
	"$ROOT/scripts/deps.sh"
	missing=()
	for p in restic time python3-cryptography openssl coreutils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "installing: ${missing[*]}" >&2
		SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
		$SUDO apt-get update -qq
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	fi
fi
for t in restic /usr/bin/time python3 openssl; do
	command -v "$t" >/dev/null || { echo "bench/run.sh: $t is missing (run without --no-deps)" >&2; exit 1; }
done

# --- build, in its own build directory ---
say "build (Release) in build-bench/"
BUILD=$ROOT/build-bench
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCASSETTE_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target cassette >/dev/null
CASSETTE=$BUILD/cassette

# --- the work directory: made here, or one an earlier run made ---
if [ -e "$W" ] && [ ! -e "$W/.cassette-bench" ] && [ -n "$(ls -A "$W" 2>/dev/null)" ]; then
	echo "bench/run.sh: $W is not empty and not a benchmark work directory; choose another --workdir" >&2
	exit 2
fi
rm -rf "$W"
mkdir -p "$W/log" "$W/tmp"
touch "$W/.cassette-bench"
RES=$W/results.tsv
: > "$RES"
export RESTIC_PASSWORD=cassette-bench RESTIC_CACHE_DIR=$W/restic-cache
"$CASSETTE" keygen > "$W/backup.key"

# state_dir (the hash cache) goes wherever conf/cassette.ini says it goes,
# when this build has it; each store gets its own, removed with it.
STATE_SECTION=$(awk '/^\[/ { s = $0 } /^;?[ \t]*state_dir[ \t]*=/ { print s; exit }' "$ROOT/conf/cassette.ini")
write_ini() { # ini data_dir base_path
	local ini=$1 data=$2 base=$3 sec
	{
		for sec in "[cassandra]" "[storage]"; do
			echo "$sec"
			if [ "$sec" = "[cassandra]" ]; then
				printf 'data_dir = %s\nsnapshot_mode = hardlink\n' "$data"
			else
				printf 'storage_provider = local\nbase_path = %s\nfqdn = bench-node\n' "$base"
				printf 'key_secret_file = %s\nencryption_tmp_dir = %s\n' "$W/backup.key" "$W/tmp"
			fi
			[ "$sec" != "$STATE_SECTION" ] || printf 'state_dir = %s\n' "$base.state"
		done
		if [ -n "$STATE_SECTION" ] && [ "$STATE_SECTION" != "[cassandra]" ] && [ "$STATE_SECTION" != "[storage]" ]; then
			printf '%s\nstate_dir = %s\n' "$STATE_SECTION" "$base.state"
		fi
	} > "$ini"
}

# run_timed OP TOOL REP CMD...: wall time (µs), peak RSS (KiB, GNU time %M)
# and CPU time (user + system, s) into results.tsv. The page cache is warm;
# writeback is flushed first, so no run pays for the one before.
# WARM=DIR[:DIR...] in the environment: read those files first (not timed),
# because this VM's kernel pages out what was not touched for some seconds
# (DAMON "pageout"; /sys/kernel/mm/damon), so while one tool runs, the
# other's data and store would leave the page cache.
warm() {
	local IFS=: d
	for d in $1; do
		[ -e "$d" ] && find "$d" -type f -exec cat {} + > /dev/null
	done
}
run_timed() {
	local op=$1 tool=$2 rep=$3 log t0 t1 us kb cpu; shift 3
	log=$W/log/$op-$tool-$rep.log
	[ -z "${WARM:-}" ] || warm "$WARM"
	sync
	t0=$(date +%s%N)
	if ! /usr/bin/time -f '%M %U %S' -o "$W/rss" "$@" >"$log" 2>&1; then
		echo "bench/run.sh: $tool failed in '$op' (rep $rep): $*" >&2
		tail -5 "$log" >&2
		exit 1
	fi
	t1=$(date +%s%N)
	us=$(( (t1 - t0) / 1000 ))
	read -r kb cpu < <(tail -1 "$W/rss" | awk '{ print $1, $2 + $3 }')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$op" "$tool" "$rep" "$us" "$kb" "$cpu" >> "$RES"
	printf '  %-15s %-8s rep %s/%s: %8.3f s  CPU %7.2f s  peak RSS %6.1f MiB\n' "$op" "$tool" "$rep" "$REPS" \
		"$(echo "$us" | awk '{ print $1 / 1e6 }')" "$cpu" "$(echo "$kb" | awk '{ print $1 / 1024 }')" >&2
}
median() { # OP TOOL FIELD(4 = µs, 5 = KiB, 6 = CPU s): the median over the reps, or empty
	awk -F'\t' -v op="$1" -v tool="$2" -v f="$3" '$1 == op && $2 == tool { print $f }' "$RES" | sort -n |
		awk '{ v[++n] = $1 } END { if (n) print (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }'
}
spread() { # OP TOOL: " (min–max)" of the wall times in s, when there are several
	awk -F'\t' -v op="$1" -v tool="$2" '$1 == op && $2 == tool { if (!n++ || $4 < lo) lo = $4; if ($4 > hi) hi = $4 }
		END { if (n > 1) printf " (%.2f–%.2f)", lo / 1e6, hi / 1e6 }' "$RES"
}
# bytes_of DIR [PRUNE]: the sizes of the regular files under DIR, the bytes
# stored (not disk blocks, not directories); PRUNE names a folder to leave out
bytes_of() { find "$1" -name "${2:-/}" -prune -o -type f -printf '%s\n' | awk '{ n += $1 } END { print n + 0 }'; }

# --- the machine ---
say "machine"
speed() { openssl speed -evp "$1" -bytes 1048576 -seconds 1 2>/dev/null | tail -1 | awk '{ v = $NF; sub("k", "", v); printf "%.0f MB/s", v / 1000 }'; }
{
	echo "- CPU: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores online," \
	     "$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo)"
	echo "- kernel $(uname -r); work dir on $(findmnt -n -o FSTYPE,SOURCE -T "$W" | tr -s ' ')"
	echo "- $(openssl version | cut -d' ' -f1-2), one core, 1 MiB blocks: MD5 $(speed md5)," \
	     "AES-256-GCM $(speed aes-256-gcm), SHA-256 $(speed sha256)"
	echo "- $("$CASSETTE" --version | head -1) (git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD 2>/dev/null || echo ', modified')), Release build; $(restic version | cut -d' ' -f1-2) (Debian)"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$W/machine.md" >&2

# --- the data ---
# Each tool gets its own copy of the same bytes: cassette's hard-link snapshot
# changes the ctime of every file it links, and restic re-reads a file whose
# ctime changed, so on a shared copy restic's "unchanged" runs would re-read
# everything because of cassette, not because of anything restic did.
DATA=$W/node/data R_DATA=$W/node-restic/data
say "the throughput set: $(numfmt --round=nearest --to=si "$SIZE")B in $SSTABLES SSTables, one copy for each tool"
python3 "$ROOT/bench/gen_node.py" node "$DATA" --size "$SIZE" --sstables "$SSTABLES" --seed 1 >&2
mkdir -p "${R_DATA%/data}" && cp -a "$DATA" "$R_DATA"
PLAIN=$(bytes_of "$DATA" snapshots) FILES=$(find "$DATA" -type f | wc -l)
# the disk both tools write to: the largest Data.db (in the page cache) copied
# with one fsync at the end
big=$(find "$DATA" -name '*-Data.db' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
disk=$(dd if="$big" of="$W/tmp/dd" bs=1M conv=fsync 2>&1 | awk -F', ' 'END { print $NF }'); rm -f "$W/tmp/dd"
echo "- the work dir's disk: $disk writing $(numfmt --round=nearest --to=iec-i "$(stat -c %s "$big")")B and one fsync (dd)" | tee -a "$W/machine.md" >&2

C_INI=$W/cassette.ini C_BASE=$W/cassette-store
write_ini "$C_INI" "$DATA" "$C_BASE"
CAS=("$CASSETTE" --config "$C_INI")
export RESTIC_REPOSITORY=$W/restic-repo

say "full backup into an empty store, $REPS times each (restic init is not timed)"
for r in $(seq 1 "$REPS"); do
	rm -rf "$C_BASE" "$C_BASE.state"
	WARM=$DATA run_timed full cassette "$r" "${CAS[@]}" backup-node --backup-name full
	rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
	restic init --quiet >/dev/null
	WARM=$R_DATA run_timed full restic "$r" restic backup --quiet --tag full "$R_DATA"
done
C_STORED=$(bytes_of "$C_BASE") R_STORED=$(bytes_of "$RESTIC_REPOSITORY")
# the repository format restic chose (version 2 is the one that compresses)
R_REPO_VERSION=$(restic cat config 2>/dev/null | sed -n 's/^ *"version": *\([0-9]*\).*/\1/p')

say "the unchanged second run, $REPS times each"
for r in $(seq 1 "$REPS"); do
	WARM=$DATA:$C_BASE.state run_timed unchanged cassette "$r" "${CAS[@]}" backup-node --backup-name "unchanged-$r"
	WARM=$R_DATA:$RESTIC_CACHE_DIR run_timed unchanged restic "$r" restic backup --quiet --tag unchanged "$R_DATA"
done

say "after 5% new files (new SSTable generations), $REPS times each"
for r in $(seq 1 "$REPS"); do
	python3 "$ROOT/bench/gen_node.py" add "$DATA" --percent 5 --round "$r" --list "$W/added" >&2
	python3 "$ROOT/bench/gen_node.py" add "$R_DATA" --percent 5 --round "$r" --list "$W/added-r" >/dev/null
	WARM=$DATA:$C_BASE.state run_timed new5pct cassette "$r" "${CAS[@]}" backup-node --backup-name "added-$r"
	WARM=$R_DATA:$RESTIC_CACHE_DIR run_timed new5pct restic "$r" restic backup --quiet --tag added "$R_DATA"
	xargs -d '\n' rm -f < "$W/added"
	xargs -d '\n' rm -f < "$W/added-r"
done

# restic 0.14's restore does not fsync what it writes; cassette fsyncs every
# restored file before it renames any into place. So restic is timed twice:
# as is, and durable: its restore and then a sync, so that its data too is on
# the disk when the clock stops (nothing else runs here, so what sync flushes
# is restic's). cassette's command is the same in both rows, timed once.
#
# The disk's own floor for that, timed in the same repetitions: the same
# number of bytes written by 4 dd streams in parallel with direct I/O and an
# fsync each (no tool, no files to create, no decryption). No durable restore
# can be faster than this on this disk.
FLOOR_SRC=$W/tmp/floor-src
# (head stops the cat early: SIGPIPE is expected, so the size is what is checked)
{ find "$DATA" -name '*-Data.db' -exec cat {} + 2>/dev/null || true; } | head -c $(( PLAIN / 4 )) > "$FLOOR_SRC"
[ "$(stat -c %s "$FLOOR_SRC")" = $(( PLAIN / 4 )) ] || { echo "bench/run.sh: cannot make $FLOOR_SRC" >&2; exit 1; }
cat > "$W/floor.sh" <<'SH'
# floor.sh SRC DIR: 4 copies of SRC into DIR, in parallel, O_DIRECT, fsync each
mkdir -p "$2"
for i in 1 2 3 4; do dd if="$1" of="$2/f$i" bs=1M oflag=direct conv=fsync status=none & done
wait
SH
say "restore of the full backup into an empty directory, $REPS times each (restic also with a sync after; the disk's floor)"
for r in $(seq 1 "$REPS"); do
	rm -rf "$W/floor"
	WARM=$FLOOR_SRC run_timed floor disk "$r" bash "$W/floor.sh" "$FLOOR_SRC" "$W/floor"
	rm -rf "$W/restore-c" "$W/restore-r"
	WARM=$C_BASE run_timed restore cassette "$r" "${CAS[@]}" restore-node --backup-name full --target-dir "$W/restore-c"
	WARM=$RESTIC_REPOSITORY run_timed restore restic "$r" restic restore latest --tag full --quiet --target "$W/restore-r"
	rm -rf "$W/restore-r"
	WARM=$RESTIC_REPOSITORY run_timed restore_durable restic "$r" sh -c 'restic restore latest --tag full --quiet --target "$1" && sync' \
		sh "$W/restore-r"
done
# not timed: both restores must be the node's files, byte for byte
diff -r -x snapshots "$DATA" "$W/restore-c" >&2 || { echo "bench/run.sh: cassette's restore differs from the node" >&2; exit 1; }
diff -r "$R_DATA" "$W/restore-r$R_DATA" >&2 || { echo "bench/run.sh: restic's restore differs from the node" >&2; exit 1; }
echo "  both restores are byte-identical to the node" >&2
rm -rf "$W/restore-c" "$W/restore-r" "$W/floor" "$W/floor.sh" "$FLOOR_SRC"

if [ "$TARGET" -eq 1 ]; then
	T_DATA=$W/target/data T_INI=$W/target.ini T_BASE=$W/target-store
	say "the target set: $(numfmt --round=nearest --to=iec-i "$T_SIZE")B in $((T_SSTABLES * 8)) files; cassette only"
	rm -rf "$DATA" "$R_DATA" "$C_BASE" "$C_BASE.state" "$RESTIC_REPOSITORY"   # room
	python3 "$ROOT/bench/gen_node.py" node "$T_DATA" --size "$T_SIZE" --sstables "$T_SSTABLES" \
		--keyspaces 1 --tables 5 --seed 2 >&2
	T_PLAIN=$(bytes_of "$T_DATA" snapshots) T_FILES=$(find "$T_DATA" -type f | wc -l)
	write_ini "$T_INI" "$T_DATA" "$T_BASE"
	WARM=$T_DATA run_timed t_full cassette 1 "$CASSETTE" --config "$T_INI" backup-node --backup-name full
	for r in $(seq 1 "$REPS"); do
		WARM=$T_DATA:$T_BASE.state run_timed t_unchanged cassette "$r" "$CASSETTE" --config "$T_INI" backup-node --backup-name "unchanged-$r"
	done
fi

# The uncompressed-table node: tables created with compression disabled, so
# Data.db is raw row data beside CRC.db, and cassette's compression = auto
# (its default) compresses it, as restic's compression auto does. Each tool
# backs up its own copy once, into an empty store; the stored bytes are what
# this set is for, the timings are informative.
if [ "$UNCOMP" -eq 1 ]; then
	U_DATA=$W/uncompressed/data U_RDATA=$W/uncompressed-restic/data U_INI=$W/uncompressed.ini U_BASE=$W/uncompressed-store
	say "the uncompressed-table node: $(numfmt --round=nearest --to=si "$U_SIZE")B in $U_SSTABLES SSTables of compressible rows, one copy for each tool; one full backup each"
	rm -rf "$DATA" "$R_DATA" "$C_BASE" "$C_BASE.state" "$RESTIC_REPOSITORY" \
		"$W/target" "$W/target-store" "$W/target-store.state"   # room
	python3 "$ROOT/bench/gen_node.py" node "$U_DATA" --size "$U_SIZE" --sstables "$U_SSTABLES" --seed 3 --uncompressed >&2
	mkdir -p "${U_RDATA%/data}" && cp -a "$U_DATA" "$U_RDATA"
	U_PLAIN=$(bytes_of "$U_DATA" snapshots) U_FILES=$(find "$U_DATA" -type f | wc -l)
	write_ini "$U_INI" "$U_DATA" "$U_BASE"
	WARM=$U_DATA run_timed u_full cassette 1 "$CASSETTE" --config "$U_INI" backup-node --backup-name full
	export RESTIC_REPOSITORY=$W/uncompressed-repo
	rm -rf "$RESTIC_CACHE_DIR"
	restic init --quiet >/dev/null
	WARM=$U_RDATA run_timed u_full restic 1 restic backup --quiet --tag full "$U_RDATA"
	U_C_STORED=$(bytes_of "$U_BASE") U_R_STORED=$(bytes_of "$RESTIC_REPOSITORY")
	# not timed: both restores must be the node's files, byte for byte
	"$CASSETTE" --config "$U_INI" restore-node --backup-name full --target-dir "$W/restore-c" > "$W/log/u_restore-cassette.log" 2>&1 ||
		{ echo "bench/run.sh: cassette's restore of the uncompressed-table node failed" >&2; tail -5 "$W/log/u_restore-cassette.log" >&2; exit 1; }
	restic restore latest --quiet --target "$W/restore-r" > "$W/log/u_restore-restic.log" 2>&1 ||
		{ echo "bench/run.sh: restic's restore of the uncompressed-table node failed" >&2; tail -5 "$W/log/u_restore-restic.log" >&2; exit 1; }
	diff -r -x snapshots "$U_DATA" "$W/restore-c" >&2 || { echo "bench/run.sh: cassette's restore differs from the uncompressed-table node" >&2; exit 1; }
	diff -r "$U_RDATA" "$W/restore-r$U_RDATA" >&2 || { echo "bench/run.sh: restic's restore differs from the uncompressed-table node" >&2; exit 1; }
	echo "  both restores are byte-identical to the node" >&2
	rm -rf "$W/restore-c" "$W/restore-r"
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the report ---
secs() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.3f", v / 1e6 }' || echo "—"; }
cpu() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.2f", v }' || echo "—"; }
mib() { [ -n "$1" ] && awk -v v="$1" 'BEGIN { printf "%.0f", v / 1024 }' || echo "—"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }' || echo "—"; }
rate() { awk -v b="$1" -v us="$2" 'BEGIN { printf "%.0f MB/s", b / us }'; }
row() { # LABEL OP [RESTIC_OP]: restic's timings from RESTIC_OP when given
	local c r ro=${3:-$2}; c=$(median "$2" cassette 4) r=$(median "$ro" restic 4)
	printf '| %s | %s%s | %s%s | %s | %s | %s | %s | %s |\n' "$1" "$(secs "$c")" "$(spread "$2" cassette)" \
		"$(secs "$r")" "$(spread "$ro" restic)" "$(ratio "$c" "$r")" \
		"$(cpu "$(median "$2" cassette 6)")" "$(cpu "$(median "$ro" restic 6)")" \
		"$(mib "$(median "$2" cassette 5)")" "$(mib "$(median "$ro" restic 5)")"
}
verdict() { [ "$1" -eq 1 ] && echo "**pass**" || echo "**FAIL**"; }
overhead() { awk -v s="$1" -v p="$2" 'BEGIN { printf "%+.4f%%", (s - p) * 100 / p }'; }
{
	echo "### Run of $(date -u '+%Y-%m-%d %H:%M UTC')$([ "$QUICK" -eq 0 ] || echo ' (--quick: sizes far below the issue'"'"'s, not a verdict)')"
	echo
	cat "$W/machine.md"
	echo "- load average at end: $LOAD_END"
	echo "- both tools warm-cache (the data sets fit in RAM; each tool's input is read just before it is timed, as this VM pages out idle memory);" \
	     "\`sync\` before every timed command; medians of $REPS; default settings of both tools" \
	     "(cassette: AES-256-GCM, compression = auto, local storage, snapshot_mode = hardlink;" \
	     "$(restic version | cut -d' ' -f1-2): repository version ${R_REPO_VERSION:-?}, compression auto; 0.14.0, Debian 12's, is the first restic that compresses)"
	echo
	echo "Throughput set: $FILES files, $PLAIN bytes ($(numfmt --round=nearest --to=si "$PLAIN")B)."
	echo
	echo "Wall time: median (min–max) in s. CPU: user + system s, median. RSS: peak, MiB, median."
	echo
	echo "| operation | cassette | restic | restic ÷ cassette | cassette CPU | restic CPU | cassette RSS | restic RSS |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	row "full backup, empty store" full
	row "unchanged second run" unchanged
	row "after 5% new files" new5pct
	row "restore into an empty dir (as is: restic does not fsync)" restore
	row "restore, durable (restic + \`sync\`; cassette as is)" restore restore_durable
	if [ "$TARGET" -eq 1 ]; then
		row "first backup, $T_FILES files / $(numfmt --round=nearest --to=iec-i "$T_PLAIN")B (once)" t_full
		row "unchanged run, $T_FILES files / $(numfmt --round=nearest --to=iec-i "$T_PLAIN")B" t_unchanged
	fi
	[ "$UNCOMP" -eq 0 ] ||
		row "full backup, uncompressed-table node, $U_FILES files / $(numfmt --round=nearest --to=si "$U_PLAIN")B (once; informative)" u_full
	echo
	echo "Full backup: cassette $(rate "$PLAIN" "$(median full cassette 4)"), restic $(rate "$PLAIN" "$(median full restic 4)")." \
	     "Restore: cassette $(rate "$PLAIN" "$(median restore cassette 4)"), restic $(rate "$PLAIN" "$(median restore restic 4)") as is," \
	     "$(rate "$PLAIN" "$(median restore_durable restic 4)") durable."
	fl=$(median floor disk 4)
	echo
	echo "The disk's floor: $(( PLAIN / 4 * 4 )) bytes written by 4 parallel \`dd oflag=direct conv=fsync\` streams took" \
	     "$(secs "$fl") s$(spread floor disk) (median, $(rate "$PLAIN" "$fl")). cassette's restore took" \
	     "$(awk -v c="$(median restore cassette 4)" -v f="$fl" 'BEGIN { printf "%.2f", c / f }')x that; a restore" \
	     "at the floor would be $(ratio "$fl" "$(median restore_durable restic 4)")x faster than restic's durable one."
	echo
	if [ "$UNCOMP" -eq 1 ]; then
		echo "Stored bytes, both tools compressing (cassette: compression = auto, zstd level 1 per segment, Data.db" \
		     "beside a CompressionInfo.db left as it is; restic: compression auto). The bench node's Data.db is" \
		     "incompressible, as compressed tables' are; the uncompressed-table node's is raw row data beside CRC.db."
		up=$U_PLAIN uc=$U_C_STORED ur=$U_R_STORED
	else
		echo "Stored bytes (cassette: compression = auto; restic: compression auto). The uncompressed-table node was not run (--no-uncompressed)."
		up="—" uc="—" ur="—"
	fi
	vs() { [ "$2" = "—" ] && echo "—" || overhead "$1" "$2"; }
	echo
	echo "| after the full backup | bench node: bytes | vs plaintext | uncompressed-table node: bytes | vs plaintext |"
	echo "|---|---:|---:|---:|---:|"
	echo "| plaintext (the node's files) | $PLAIN | | $up | |"
	echo "| cassette store (the files under base_path; compression = auto) | $C_STORED | $(overhead "$C_STORED" "$PLAIN") | $uc | $(vs "$uc" "$up") |"
	echo "| restic repository (its files; compression auto) | $R_STORED | $(overhead "$R_STORED" "$PLAIN") | $ur | $(vs "$ur" "$up") |"
	if [ "$UNCOMP" -eq 1 ]; then
		echo
		echo "Uncompressed-table node: cassette stores $(awk -v c="$uc" -v r="$ur" 'BEGIN { printf "%.3f", c / r }') bytes per byte" \
		     "restic stores; plaintext ÷ stored: cassette $(awk -v c="$uc" -v p="$up" 'BEGIN { printf "%.2f", p / c }')x," \
		     "restic $(awk -v r="$ur" -v p="$up" 'BEGIN { printf "%.2f", p / r }')x. Full backup: cassette" \
		     "$(rate "$up" "$(median u_full cassette 4)"), restic $(rate "$up" "$(median u_full restic 4)") of plaintext."
	fi
	echo
	echo "| target (issue 4) | measured | verdict |"
	echo "|---|---|---|"
	fc=$(median full cassette 4) fr=$(median full restic 4)
	echo "| full backup at least 4x faster than restic | $(ratio "$fc" "$fr")x | $(verdict "$(awk -v a="$fc" -v b="$fr" 'BEGIN { print (b >= 4 * a) }')") |"
	rc=$(median restore cassette 4) rr=$(median restore restic 4) rd=$(median restore_durable restic 4)
	echo "| restore at least 4x faster than restic, as is (restic's restore does not fsync; cassette's does) | $(ratio "$rc" "$rr")x | $(verdict "$(awk -v a="$rc" -v b="$rr" 'BEGIN { print (b >= 4 * a) }')") |"
	echo "| restore at least 4x faster than restic, durable (restic timed with a \`sync\` after; like for like) | $(ratio "$rc" "$rd")x | $(verdict "$(awk -v a="$rc" -v b="$rd" 'BEGIN { print (b >= 4 * a) }')") |"
	if [ "$TARGET" -eq 1 ]; then
		tu=$(median t_unchanged cassette 4)
		ok=$(awk -v u="$tu" -v f="$T_FILES" -v b="$T_PLAIN" 'BEGIN { print (u < 200000 && f >= 1000 && b >= 2e9) }')
		echo "| unchanged run under 0.2 s for 1,000 files / 2 GB | $(secs "$tu") s for $T_FILES files / $(numfmt --round=nearest --to=si "$T_PLAIN")B | $(verdict "$ok")$([ "$ok" -eq 1 ] || awk -v u="$tu" 'BEGIN { if (u < 200000) printf " (set below 1,000 files / 2 GB)" }') |"
	else
		echo "| unchanged run under 0.2 s for 1,000 files / 2 GB | not run (--no-target) | — |"
	fi
	# compression (auto) may store less than the plaintext: only the overhead counts
	echo "| bytes stored at most 0.1% above the plaintext | $(overhead "$C_STORED" "$PLAIN") | $(verdict "$(awk -v s="$C_STORED" -v p="$PLAIN" 'BEGIN { print (s - p <= p * 0.001) }')") |"
} > "$W/report.md"
cat "$W/report.md"

if [ "$KEEP" -eq 0 ]; then
	find "$W" -mindepth 1 -maxdepth 1 ! -name report.md ! -name results.tsv ! -name log ! -name .cassette-bench -exec rm -rf {} +
fi
echo >&2
echo "report: $W/report.md; every timing: $W/results.tsv; logs: $W/log/" >&2
