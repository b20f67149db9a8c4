#!/usr/bin/env bash
# run.sh FUZZER SEEDS SECONDS [EXTRA_DIR...]
#
# CTest's fuzz_<name>: run every input of SEEDS (and of each EXTRA_DIR that
# exists) once, then fuzz for SECONDS from them. SEEDS and EXTRA_DIRs are only
# read: what the fuzzer finds goes to a temp dir, removed at the end. Any
# crash, leak, sanitizer report, timeout or out-of-memory fails the test; the
# input that caused it is printed (base64) so that a CI log carries it, and
# copied to $CASSETTE_FUZZ_ARTIFACTS when that is set.
set -euo pipefail

fuzzer=$1 seeds=$2 seconds=$3
shift 3
dirs=("$seeds")
for d in "$@"; do
	if [ -d "$d" ]; then dirs+=("$d"); else echo "note: $d absent, not used"; fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/cst-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts" "$work/tmp"
export TMPDIR=$work/tmp	# what a target writes (fuzz_ini's input file) goes too

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ]; then
	for s in llvm-symbolizer llvm-symbolizer-14 /usr/lib/llvm-14/bin/llvm-symbolizer; do
		if command -v "$s" >/dev/null; then
			export ASAN_SYMBOLIZER_PATH=$(command -v "$s")
			break
		fi
	done
fi

# Bounds for one input and for the process: a parser that hangs or grows
# without limit on some input is a bug like a crash.
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -error_exitcode=1 -timeout_exitcode=1)
# New inputs stay small (a larger seed, such as a long ring, still runs whole).
max_len=-max_len=16384

report() {
	local f
	for f in "$work"/artifacts/*; do
		[ -e "$f" ] || continue
		echo "=== $(basename "$f") ($(stat -c %s "$f") bytes), base64:"
		head -c 65536 "$f" | base64
		if [ -n "${CASSETTE_FUZZ_ARTIFACTS:-}" ]; then
			mkdir -p "$CASSETTE_FUZZ_ARTIFACTS"
			cp "$f" "$CASSETTE_FUZZ_ARTIFACTS/$(basename "$fuzzer")-$(basename "$f")"
			echo "=== kept as $CASSETTE_FUZZ_ARTIFACTS/$(basename "$fuzzer")-$(basename "$f")"
		fi
	done
}

# 1. Every seed and regression input, once each.
inputs=()
for d in "${dirs[@]}"; do
	while IFS= read -r -d '' f; do inputs+=("$f"); done < <(find "$d" -type f -print0 | sort -z)
done
if [ ${#inputs[@]} -eq 0 ]; then
	echo "no seeds in $seeds" >&2
	exit 1
fi
echo "== $(basename "$fuzzer"): ${#inputs[@]} seed and regression inputs"
if ! "$fuzzer" "${limits[@]}" -artifact_prefix="$work/artifacts/" "${inputs[@]}" \
	>"$work/seeds.log" 2>&1; then
	cat "$work/seeds.log"
	report
	echo "FAIL: an input kept in $seeds (or an extra corpus) fails" >&2
	exit 1
fi

# 2. Fuzz for a bounded time; new inputs go to the temp corpus only.
echo "== $(basename "$fuzzer"): fuzzing for ${seconds}s"
if ! "$fuzzer" "${limits[@]}" "$max_len" -max_total_time="$seconds" -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" "${dirs[@]}" >"$work/fuzz.log" 2>&1; then
	tail -n 120 "$work/fuzz.log"
	report
	echo "FAIL: the fuzzer found an input that fails (above)" >&2
	exit 1
fi
grep -E '^(#[0-9]+.*DONE|Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$work/fuzz.log" || true
echo "corpus: $(find "$work/corpus" -type f | wc -l) new inputs (discarded)"
