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
