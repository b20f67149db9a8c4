#!/bin/bash
# Cross-check: the C stream and the independent Python reference
# (ref_cassette.py, written from docs/FORMAT.md) must read each other's
# objects byte for byte, and both must refuse a tampered or misattributed one.
# Usage: crosscheck.sh CST_CRYPT_TOOL REF_CASSETTE_PY
# Exits 77 (skipped) when /usr/bin/python3 cannot import `cryptography`.
set -euo pipefail

tool=$1
ref=$2
py=${CASSETTE_PYTHON:-/usr/bin/python3}  # override only to test the skip path

if ! "$py" -c 'import cryptography' 2>/dev/null; then
	echo "SKIP: $py cannot import cryptography (apt-get install python3-cryptography)"
	exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cassette-crosscheck-XXXXXX")
trap 'rm -rf "$work"' EXIT

# The key comes from the C keygen, so the reference also checks its base64.
"$tool" keygen >"$work/key"
chmod 600 "$work/key"
ident=(node7.dc2.example.net "metrics" "samples-0123456789abcdef0123456789abcdef" ".idx/nb-12-big-Data.db")

fail() { echo "FAIL: $*"; exit 1; }

n=0
for spec in 0:16 1:16 16:16 17:16 4096:64 5000:1000 65536:65536 1048576: 2621457: 3000000:131072; do
	size=${spec%%:*}
	seg=${spec#*:}
	head -c "$size" /dev/urandom >"$work/plain"

	# C encrypts, Python decrypts.
	"$tool" enc "$work/key" "${ident[@]}" "$work/plain" "$work/c.obj" $seg
	"$py" "$ref" dec "$work/key" "${ident[@]}" "$work/c.obj" "$work/c.out" ||
		fail "reference cannot decrypt the C object (size $size, seg ${seg:-default})"
	cmp -s "$work/plain" "$work/c.out" || fail "C->ref plaintext differs (size $size)"

	# Python encrypts, C decrypts.
	"$py" "$ref" enc "$work/key" "${ident[@]}" "$work/plain" "$work/py.obj" $seg
	"$tool" dec "$work/key" "${ident[@]}" "$work/py.obj" "$work/py.out" ||
		fail "C cannot decrypt the reference object (size $size, seg ${seg:-default})"
	cmp -s "$work/plain" "$work/py.out" || fail "ref->C plaintext differs (size $size)"

	# Same size on both sides, and the size formula of FORMAT.md.
	s1=$(stat -c %s "$work/c.obj")
	s2=$(stat -c %s "$work/py.obj")
	[ "$s1" = "$s2" ] || fail "object sizes differ: C $s1, ref $s2"

	# Both refuse a flipped byte and another identity (exit 2 = refused).
	cp "$work/py.obj" "$work/bad.obj"
	off=$(( (RANDOM * 32768 + RANDOM) % s2 ))
	old=$(od -An -tu1 -j "$off" -N1 "$work/bad.obj" | tr -d ' ')
	printf "\\x$(printf %02x $(( old ^ 0x10 )))" |
		dd of="$work/bad.obj" bs=1 seek="$off" conv=notrunc status=none
	cmp -s "$work/py.obj" "$work/bad.obj" && fail "the byte flip did not change the object"
	rc=0; "$tool" dec "$work/key" "${ident[@]}" "$work/bad.obj" "$work/x" 2>/dev/null || rc=$?
	[ $rc = 2 ] || fail "C accepted a reference object with byte $off flipped (rc $rc)"
	rc=0; "$py" "$ref" dec "$work/key" node8 "${ident[@]:1}" "$work/c.obj" "$work/x" 2>/dev/null || rc=$?
	[ $rc = 2 ] || fail "reference accepted a C object under another fqdn (rc $rc)"
	rc=0; "$tool" dec "$work/key" "${ident[@]:0:3}" other.db "$work/py.obj" "$work/x" 2>/dev/null || rc=$?
	[ $rc = 2 ] || fail "C accepted a reference object under another file name (rc $rc)"
	n=$((n + 1))
done
echo "ok: $n sizes cross-checked both ways"

# ---- objects with segment kinds (docs/FORMAT.md, "Compressed segments") ----
if ! "$py" -c 'import zstandard' 2>/dev/null; then
	echo "SKIP: $py cannot import zstandard (apt-get install python3-zstandard)"
	exit 77
fi
# text and noise in one file, so both kinds occur in one object
mixed() { # mixed FILE TEXT_BYTES NOISE_BYTES TEXT_BYTES
	{ { seq 1 1000000 | head -c "$2"; } || true; head -c "$3" /dev/urandom
	  { seq 7 1000000 | head -c "$4"; } || true; } > "$1"
}
m=0
for spec in 0:0:0:64 1:0:0:16 200000:0:0:4096 100000:70000:50000:65536 3000000:1500000:700000: 0:200000:0:4096; do
	IFS=: read -r t1 nz t2 seg <<<"$spec"
	mixed "$work/plain" "$t1" "$nz" "$t2"
	for mode in auto zstd; do
		CST_COMPRESS=$mode "$tool" enc "$work/key" "${ident[@]}" "$work/plain" "$work/c.obj" $seg
		[ "$(od -An -tx1 -j6 -N1 "$work/c.obj" | tr -d ' ')" = 01 ] || fail "C wrote no kinds flag ($mode)"
		REF_KINDS=1 "$py" "$ref" dec "$work/key" "${ident[@]}" "$work/c.obj" "$work/c.out" 2>"$work/c.kinds" ||
			fail "reference cannot decrypt the C object with kinds ($spec, $mode)"
		cmp -s "$work/plain" "$work/c.out" || fail "C->ref plaintext differs ($spec, $mode)"
		REF_COMPRESS=$mode "$py" "$ref" enc "$work/key" "${ident[@]}" "$work/plain" "$work/py.obj" $seg
		"$tool" dec "$work/key" "${ident[@]}" "$work/py.obj" "$work/py.out" ||
			fail "C cannot decrypt the reference object with kinds ($spec, $mode)"
		cmp -s "$work/plain" "$work/py.out" || fail "ref->C plaintext differs ($spec, $mode)"
		REF_KINDS=1 "$py" "$ref" dec "$work/key" "${ident[@]}" "$work/py.obj" /dev/null 2>"$work/py.kinds"
		cmp -s "$work/c.kinds" "$work/py.kinds" ||
			fail "C and the reference chose different kinds ($spec, $mode): $(cat "$work/c.kinds") / $(cat "$work/py.kinds")"
		m=$((m + 1))
	done
done
echo "ok: $m objects with segment kinds cross-checked both ways, same kinds chosen"

# The vectors' objects decrypt in C to their plaintext.
v=0
while read -r name; do
	"$py" - "$ref" "$(dirname "$ref")/vectors/cassette-v1-zstd.txt" "$name" "$work" <<'PY'
import sys, importlib.util
spec = importlib.util.spec_from_file_location("ref", sys.argv[1]); ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)
r = [r for r in ref.read_vectors(sys.argv[2]) if r["name"] == sys.argv[3]][0]
open(sys.argv[4] + "/v.obj", "wb").write(bytes.fromhex(r["object"]))
open(sys.argv[4] + "/v.plain", "wb").write(bytes.fromhex(r["plaintext"]))
open(sys.argv[4] + "/v.key", "w").write(__import__("base64").b64encode(bytes.fromhex(r["key"])).decode() + "\n")
open(sys.argv[4] + "/v.ident", "w").write("\n".join([r["fqdn"], r["keyspace"], r["table"], r["file"]]) + "\n")
PY
	chmod 600 "$work/v.key"
	mapfile -t vid < "$work/v.ident"
	"$tool" dec "$work/v.key" "${vid[@]}" "$work/v.obj" "$work/v.out" || fail "C cannot decrypt vector $name"
	cmp -s "$work/v.plain" "$work/v.out" || fail "vector $name: C plaintext differs"
	v=$((v + 1))
done < <(sed -n 's/^name = //p' "$(dirname "$ref")/vectors/cassette-v1-zstd.txt")
[ "$v" -ge 9 ] || fail "only $v zstd vectors"
echo "ok: $v vectors with segment kinds decrypt in C"

# A bomb from the reference writer: segment 0 a zstd frame of twice the
# segment size. C refuses it (exit 2) naming the bomb, before writing.
head -c 10000 /dev/urandom > "$work/plain"
REF_COMPRESS=bomb "$py" "$ref" enc "$work/key" "${ident[@]}" "$work/plain" "$work/bomb.obj" 4096
rc=0; "$tool" dec "$work/key" "${ident[@]}" "$work/bomb.obj" "$work/x" 2>"$work/err" || rc=$?
[ $rc = 2 ] || fail "C accepted a decompression bomb (rc $rc)"
grep -q "decompression bomb" "$work/err" || fail "C's refusal does not say bomb: $(cat "$work/err")"
grep -q "nb-12-big-Data.db" "$work/err" || fail "C's refusal does not name the object: $(cat "$work/err")"
rc=0; "$py" "$ref" dec "$work/key" "${ident[@]}" "$work/bomb.obj" "$work/x" 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -q "bomb" "$work/err" || fail "the reference accepted its own bomb"
# control: the same writer without the bomb is read
REF_COMPRESS=zstd "$py" "$ref" enc "$work/key" "${ident[@]}" "$work/plain" "$work/ok.obj" 4096
"$tool" dec "$work/key" "${ident[@]}" "$work/ok.obj" "$work/x" || fail "control object refused"
echo "ok: a decompression bomb is refused by both readers"
