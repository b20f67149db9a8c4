#!/usr/bin/env bash
# Medusa's encrypted backups (its client-side-encryption branch), written by
# an independent implementation (tests/support/medusa_fernet.py, with
# python3-cryptography's Fernet): restore-node restores them byte for byte
# (differential and full layouts, the key in either base64 alphabet) and
# verify --deep passes them. A flipped byte in a token, a truncated object
# (with and without the manifest's size fixed up), chunks swapped between two
# files and within one, a wrong key and no key are each refused, naming the
# object, with nothing left in the target.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS
python3 -c 'import cryptography.fernet' 2>/dev/null ||
	{ echo "SKIP: python3 cannot import cryptography (python3-cryptography)"; exit 77; }

MF=$SRC/tests/support/medusa_fernet.py
D=$W/data
S=$W/store
FQDN=node1.example
python3 "$SRC/tests/e2e/gen_node.py" "$D" 24 2 >/dev/null
# two multi-chunk files in one table: 2.5 MiB and 3 MiB (chunks of 1 MiB)
BIGT=big-00000000000000000000000000000007
mkdir -p "$D/ks0/$BIGT"
head -c $((5 << 19)) /dev/urandom > "$D/ks0/$BIGT/nb-1-big-Data.db"
head -c $((3 << 20)) /dev/urandom > "$D/ks0/$BIGT/nb-2-big-Data.db"
: > "$D/ks0/$BIGT/nb-2-big-Digest.crc32"	# an empty file: no chunk at all
FIX=${SHARED:-$SRC/../shared}/fixtures/sstables
if [ -d "$FIX/baselines" ]; then
	for t in "$FIX"/baselines/*/; do	# the SSTables, not their snapshots
		mkdir -p "$D/baselines/$(basename "$t")"
		find "$t" -maxdepth 1 -type f -exec cp {} "$D/baselines/$(basename "$t")/" \;
	done
	echo "# real SSTables from $FIX/baselines included"
else
	echo "# no real SSTables ($FIX/baselines absent): synthetic files only"
fi
N=$(find "$D" -type f | wc -l)

# a key with '-' or '_', so that its standard-alphabet form differs
python3 "$MF" keygen > "$W/mkey"
until grep -q '[-_]' "$W/mkey"; do python3 "$MF" keygen > "$W/mkey"; done
python3 "$MF" keygen > "$W/otherkey"
python3 "$MF" backup "$S" "$D" "$FQDN" b1 "$W/mkey" >/dev/null
python3 "$MF" backup "$S" "$D" "$FQDN" f1 "$W/mkey" --full >/dev/null
# full, so its plaintext objects do not overwrite b1's pool objects (Medusa would)
python3 "$MF" backup "$S" "$D" "$FQDN" p1 "$W/mkey" --full --plain ks0.t0 >/dev/null
cp -a "$S" "$W/pristine"
reset_store() { rm -rf "$S"; cp -a "$W/pristine" "$S"; }

conf() { # conf FILE KEYFILE|"" : a config (chmod 600, it holds a key)
	if [ -n "$2" ]; then
		write_config "$1" "$D" "$S" "encryption = none" "key_secret_base64 = $(cat "$2")"
	else
		write_config "$1" "$D" "$S" "encryption = none"
	fi
	chmod 600 "$1"
}
conf "$W/good.ini" "$W/mkey"
conf "$W/wrong.ini" "$W/otherkey"
conf "$W/nokey.ini" ""
CFG=$W/good.ini
A=$FQDN/data/ks0/$BIGT/nb-1-big-Data.db
B=$FQDN/data/ks0/$BIGT/nb-2-big-Data.db
CHUNK=$((4 + 1398200))	# one 1 MiB chunk: its length and its token's base64

# nothing_left TARGET: a refused restore leaves no file (nor a directory it made)
nothing_left() {
	[ ! -e "$1" ] || [ -z "$(find "$1" -mindepth 1 | head -1)" ] ||
		{ find "$1" | head; fail "restore left files in $1"; }
}
restore_refused() { # restore_refused TARGET WHAT [RC]: exit RC (1), the object named, nothing left
	cas "${3:-1}" restore-node --backup-name b1 --target-dir "$1"
	err_has "$2"
	one_line_err
	nothing_left "$1"
}

# ---- controls: Medusa's own reading, then cassette's ------------------------
python3 "$MF" decrypt "$W/mkey" "$S/$A" "$W/a.plain"
cmp -s "$W/a.plain" "$D/ks0/$BIGT/nb-1-big-Data.db" || fail "the fixture does not decrypt with Medusa's reading"
[ "$(python3 -c 'import struct,sys; print(struct.unpack(">I", open(sys.argv[1], "rb").read(4))[0])' "$S/$A")" = $((CHUNK - 4)) ] ||
	fail "a 1 MiB chunk is not $((CHUNK - 4)) bytes of base64"
ok "the fixture is Medusa's format: u32 BE length || URL-safe base64 Fernet token, 1 MiB chunks"

cas 0 restore-node --backup-name b1 --target-dir "$W/r1"
out_has "restored $N files"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r1")" ] || fail "restore of b1 differs"
ok "restore-node restores a Medusa encrypted differential backup byte for byte ($N files)"

cas 0 restore-node --backup-name f1 --target-dir "$W/r2"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r2")" ] || fail "restore of f1 differs"
ok "and a full one (objects under <fqdn>/<backup>/data/)"

cas 0 restore-node --backup-name p1 --target-dir "$W/r3"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r3")" ] || fail "restore of p1 differs"
ok "and one whose plaintext objects carry source_MD5/source_size null"

tr -- '-_' '+/' < "$W/mkey" > "$W/mkey.std"
! cmp -s "$W/mkey" "$W/mkey.std" || fail "the key's two forms are the same"
conf "$W/std.ini" "$W/mkey.std"
CFG=$W/std.ini cas 0 restore-node --backup-name b1 --target-dir "$W/r4"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r4")" ] || fail "restore with the standard-alphabet key differs"
ok "key_secret_base64 in the standard base64 alphabet names the same key"

cas 0 verify --backup-name b1 --deep
out_has "$N files deep"
out_has "sound"
ok "verify --deep decrypts and proves every object of a sound Medusa backup"

# ---- no key, wrong key -------------------------------------------------------
CFG=$W/nokey.ini restore_refused "$W/t1" "set [storage] key_secret_base64" 2
err_has "holds objects encrypted by Medusa ($FQDN/data/"
CFG=$W/nokey.ini cas 2 verify --backup-name b1 --deep
err_has "set [storage] key_secret_base64"
ok "no key_secret_base64: restore and verify --deep refused (exit 2), naming an object and the key"

CFG=$W/wrong.ini restore_refused "$W/t2" "fails Fernet authentication"
err_has "is [storage] key_secret_base64 the key Medusa wrote"
ok "a wrong key: refused, naming the object and the key to check"

# ---- tampering ---------------------------------------------------------------
# flip_letter FILE OFFSET: XOR 0x20 on the first letter at or after OFFSET
# (its other case), so the token stays base64 and only its HMAC can tell
flip_letter() {
	python3 - "$1" "$2" <<-'EOF'
	import sys
	with open(sys.argv[1], "r+b") as f:
	    off = int(sys.argv[2])
	    f.seek(off)
	    data = f.read(64)
	    i = next(i for i, c in enumerate(data) if chr(c).isalpha())
	    f.seek(off + i)
	    f.write(bytes([data[i] ^ 0x20]))
	EOF
}
reset_store
flip_letter "$S/$A" $((CHUNK + 500))
restore_refused "$W/t3" "$A: Fernet chunk 1 (at byte $CHUNK) fails Fernet authentication"
ok "a flipped bit in a token's second chunk: its HMAC refuses it before it is decrypted"

reset_store
flip_byte "$S/$A" $((CHUNK + 500))
restore_refused "$W/t3b" "$A: Fernet chunk 1 (at byte $CHUNK) is not URL-safe base64"
ok "a byte flipped out of the base64 alphabet: refused"

reset_store
flip_byte "$S/$A" 2
restore_refused "$W/t4" "$A: Fernet chunk 0 (at byte 0) has length"
ok "a flipped byte in a chunk length: refused by the length bound"

reset_store
truncate -s -10 "$S/$A"
restore_refused "$W/t5" "object $A is $(( $(stat -c %s "$W/pristine/$A") - 10 )) bytes, the manifest says"
ok "a truncated object: its size is not the manifest's"

# the manifest rewritten to the cut size: Fernet's own framing catches it
fix_size() { # fix_size KEY: the manifest's size of KEY set to the stored one
	python3 - "$S" "$1" <<-'EOF'
	import json, os, sys
	s, key = sys.argv[1], sys.argv[2]
	p = os.path.join(s, "node1.example/b1/meta/manifest.json")
	m = json.load(open(p))
	for t in m:
	    for o in t["objects"]:
	        if o["path"] == key:
	            o["size"] = os.path.getsize(os.path.join(s, key))
	json.dump(m, open(p, "w"))
	EOF
}
reset_store
truncate -s -10 "$S/$A"
fix_size "$A"
restore_refused "$W/t6" "$A: Fernet chunk 2 (at byte $((2 * CHUNK))) is cut"
ok "truncated inside a token, manifest size fixed up: Fernet's framing refuses it"

reset_store
truncate -s $CHUNK "$S/$A"
fix_size "$A"
restore_refused "$W/t7" "decodes to 1048576 bytes, the manifest says 2621440"
ok "truncated at a chunk boundary, manifest size fixed up: source_size refuses it"

# chunk 0 of A and chunk 0 of B exchanged: every token verifies, sizes hold
swap() { # swap FILE1 OFF1 FILE2 OFF2 LEN
	python3 - "$@" <<-'EOF'
	import sys
	f1, o1, f2, o2, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
	with open(f1, "r+b") as a, open(f2, "r+b") as b:
	    a.seek(o1); x = a.read(n); b.seek(o2); y = b.read(n)
	    assert len(x) == n and len(y) == n and x != y
	    a.seek(o1); a.write(y); b.seek(o2); b.write(x)
	EOF
}
reset_store
swap "$S/$A" 0 "$S/$B" 0 $CHUNK
restore_refused "$W/t8" "has MD5"
err_has "the manifest says"
ok "chunks swapped between two files: every token is authentic, the manifest's source_MD5 refuses it"

reset_store
swap "$S/$B" 0 "$S/$B" $CHUNK $CHUNK
cas 1 restore-node --backup-name b1 --target-dir "$W/t9"
err_has "object $B has MD5"
one_line_err
nothing_left "$W/t9"
ok "chunks swapped within a file (Fernet has no chunk counter): only source_MD5 catches it"

cas 1 verify --backup-name b1 --deep
out_has "$B"
out_has "wrong source MD5"
ok "verify --deep flags the reordered object by its source MD5"

reset_store
cas 0 restore-node --backup-name b1 --target-dir "$W/r5"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r5")" ] || fail "control after the tamper tests differs"
ok "control: the pristine store restores again"

echo "medusa_fernet: $CHECKS checks passed"
