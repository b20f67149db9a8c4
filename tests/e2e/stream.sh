#!/usr/bin/env bash
# encrypt / decrypt: standard input to standard output, bound to a label.
# Round trips through pipes and files of 0, 1, S-1, S, S+1 and 3S+5 bytes
# (S = the segment size, 4 KiB here); a wrong label, a wrong key, a cut stream
# (in the header, at a segment boundary, inside a segment), a flipped byte and
# trailing bytes each exit 1, and what decrypt wrote before is a prefix of the
# plaintext (it writes only segments whose tag verified). No config is needed
# when CASSETTE_KEY_FILE is set; inspect reads a stream's header.
. "$(dirname "$0")/lib.sh"
S=4096
"$CASSETTE" keygen --output "$W/k" 2>/dev/null
"$CASSETTE" keygen --output "$W/other" 2>/dev/null
# compression = none: the flagless format, whose sizes and offsets the
# checks below compute; compressed streams are checked at the end
printf '%s\n' "[storage]" "base_path = $W/unused" "key_secret_file = $W/k" \
	"encryption_segment_size = 4KiB" "encryption_tmp_dir = $W/tmp" "compression = none" > "$W/s.ini"
CFG=$W/s.ini
enc() { "$CASSETTE" --config "$CFG" encrypt --label "$1"; }
dec() { "$CASSETTE" --config "$CFG" decrypt --label "$1"; }

for n in 0 1 $((S - 1)) $S $((S + 1)) $((3 * S + 5)); do
	head -c "$n" /dev/urandom > "$W/p$n"
	# through pipes
	cat "$W/p$n" | enc dump-1 | cat > "$W/c$n" || fail "encrypt of $n bytes failed"
	cat "$W/c$n" | dec dump-1 | cmp -s - "$W/p$n" || fail "$n bytes: the pipe round trip differs"
	# from and to files
	dec dump-1 < "$W/c$n" > "$W/d$n" || fail "decrypt of $n bytes failed"
	cmp -s "$W/d$n" "$W/p$n" || fail "$n bytes: the file round trip differs"
	segs=$(( n == 0 ? 1 : (n + S - 1) / S ))
	[ "$(stat -c %s "$W/c$n")" = $((64 + n + 16 * segs)) ] || fail "$n bytes: stored size is not 64 + n + 16 per segment"
done
ok "round trips of 0, 1, S-1, S, S+1 and 3S+5 bytes, through pipes and files"

run 0 "$CASSETTE" inspect "$W/c$((3 * S + 5))"
out_has "cassette encrypted object, version 1"
ok "inspect reads a stream's header without a key"

# failures: exit 1, one message, and only a verified prefix on stdout
C=$W/c$((3 * S + 5)); P=$W/p$((3 * S + 5))
expect_fail() { # expect_fail WHAT LABEL < input
	local what=$1 label=$2 got=0
	dec "$label" > "$W/out" 2> "$W/err" || got=$?
	[ "$got" = 1 ] || fail "$what: exit $got, not 1"
	one_line_err
	err_has "decrypt --label $label"
	cmp -s -n "$(stat -c %s "$W/out")" "$W/out" "$P" || fail "$what: wrote bytes that are not the plaintext's"
	[ "$(stat -c %s "$W/out")" -lt "$(stat -c %s "$P")" ] || fail "$what: wrote the whole plaintext"
}
expect_fail "a wrong label" dump-2 < "$C"
head -c 40 "$C" > "$W/cut"; expect_fail "cut in the header" dump-1 < "$W/cut"
head -c $((64 + 2 * (S + 16))) "$C" > "$W/cut"; expect_fail "cut at a segment boundary" dump-1 < "$W/cut"
head -c $((64 + S + 100)) "$C" > "$W/cut"; expect_fail "cut inside a segment" dump-1 < "$W/cut"
cp "$C" "$W/flip"; flip_byte "$W/flip" $((64 + S + 16 + 7)); expect_fail "a flipped byte" dump-1 < "$W/flip"
{ cat "$C"; printf 'x'; } > "$W/trail"; expect_fail "a trailing byte" dump-1 < "$W/trail"
ok "a wrong label, a cut (header, boundary, inside), a flipped and a trailing byte: exit 1, a verified prefix only"

run 1 env CASSETTE_KEY_FILE="$W/other" "$CASSETTE" --config "$CFG" decrypt --label dump-1 < "$C"
err_has "wrong key"
ok "another key: 'wrong key', nothing written"

# no config at all: the key from the environment
run 0 env CASSETTE_KEY_FILE="$W/k" CASSETTE_CONFIG="$W/none.ini" "$CASSETTE" decrypt --label dump-1 < "$C"
cmp -s "$W/out" "$P" || fail "decrypt with CASSETTE_KEY_FILE and no config differs"
run 2 env -u CASSETTE_KEY_FILE CASSETTE_CONFIG="$W/none.ini" "$CASSETTE" encrypt --label x < /dev/null
run 2 "$CASSETTE" --config "$CFG" encrypt < /dev/null; err_has "encrypt needs --label NAME"
run 2 "$CASSETTE" --config "$CFG" encrypt --label "$(printf 'a\tb')" < /dev/null; err_has "--label must be"
ok "no config needed with CASSETTE_KEY_FILE; a missing or bad label is a usage error"

# compression = auto (the default): a text dump is stored in compressed
# segments (header byte 6 = 1), round trips, and inspect walks its segments
grep -v '^compression' "$W/s.ini" > "$W/auto.ini"
seq 1 20000 > "$W/text"
"$CASSETTE" --config "$W/auto.ini" encrypt --label dump-z < "$W/text" > "$W/ctext"
[ "$(od -An -tx1 -j6 -N1 "$W/ctext" | tr -d ' ')" = 01 ] || fail "auto: the stream has no segment kinds"
[ "$(stat -c %s "$W/ctext")" -lt $(( $(stat -c %s "$W/text") / 2 )) ] || fail "auto: the text dump did not shrink"
dec dump-z < "$W/ctext" | cmp -s - "$W/text" || fail "auto: the round trip differs"
run 0 "$CASSETTE" inspect "$W/ctext"
out_has "segment kinds"
out_has "segments:       $(( ($(stat -c %s "$W/text") + S - 1) / S ))"
P=$W/text; head -c -1 "$W/ctext" > "$W/cut"; expect_fail "a compressed stream cut by a byte" dump-z < "$W/cut"
ok "compression = auto: a text dump is stored compressed, round trips, inspect counts its segments, a cut is refused"
echo "all $CHECKS checks passed"
