# Peak-RSS helpers for memory.sh and s3_memory.sh; source after lib.sh.
# Peak RSS comes from GNU time (%M, KiB). Under AddressSanitizer it means
# nothing (shadow memory, quarantine), so that build skips. fsync makes no
# difference to memory: eatmydata (when installed) turns it off for the
# measured commands.
LIMIT_KIB=$((64 * 1024))
if [ -n "${CASSETTE_SANITIZED:-}" ] || grep -q __asan_init "$CASSETTE"; then
	echo "skipped: peak RSS is meaningless in the sanitizer build"
	exit 77
fi
[ -x /usr/bin/time ] || fail "GNU time (/usr/bin/time) is missing: scripts/deps.sh installs it"
NOSYNC=()
command -v eatmydata >/dev/null && NOSYNC=(eatmydata)

# peak NAME ARGS... : run cassette with $CFG and print its peak RSS, left in
# $KIB. A failed command fails the test. A peak not under 64 MiB is printed,
# added to $OVER and returns 1: under set -e that ends the test at once, and
# `peak ... || UNDER=0` lets it go on so every measurement is still made
# (check $OVER at the end).
OVER=""
peak() {
	local name=$1; shift
	if ! "${NOSYNC[@]}" /usr/bin/time -f %M -o "$W/rss" "$CASSETTE" --config "$CFG" "$@" \
		>"$W/out" 2>"$W/err"; then
		cat "$W/out" "$W/err"
		fail "$name: cassette $* failed"
	fi
	KIB=$(tail -1 "$W/rss")
	echo "peak RSS $name: $KIB KiB"
	if [ "$KIB" -ge "$LIMIT_KIB" ]; then
		echo "FAIL: $name: peak RSS $KIB KiB is not under 64 MiB" >&2
		OVER="$OVER $name ($KIB KiB)"
		return 1
	fi
}
