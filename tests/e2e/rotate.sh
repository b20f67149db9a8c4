#!/usr/bin/env bash
# Envelope keys and key rotation:
#   - the first encrypted backup makes the node's data key, wrapped under the
#     key file's key; objects name the data key, never the master key;
#   - keygen --add-to turns a key file into a keyring and appends the newest;
#   - rotate-key re-wraps without reading or writing a data object; the next
#     differential backup reuses every unchanged file; the old master key then
#     leaves the keyring and every backup still restores; a keyring of only the
#     old key is refused with "wrong key";
#   - rotate-key --reencrypt makes a new data key: the next backup stores every
#     file again, and the backups on older data keys are listed until they go;
#   - a wrap object altered fails to unwrap (moved ones: test_crypto_keyring);
#   - a data key deleted from the store: verify without a key exits 1;
#   - a store of version 1 (tests/fixtures/v1, written before envelope keys)
#     restores, and after rotate-key restores without its old master key.
. "$(dirname "$0")/lib.sh"

STORE=$W/store D=$W/data CFG=$W/node.ini FQ=node1.example
python3 "$SRC/tests/e2e/gen_node.py" "$D" 24 3 >/dev/null
"$CASSETTE" keygen --output "$W/ring" 2>/dev/null
write_config "$CFG" "$D" "$STORE" "key_secret_file = $W/ring" "encryption_segment_size = 4KiB"
id_of() { tail -n1 "$1" | cut -d' ' -f1; }
restore_eq() { # restore_eq BACKUP [env...]: restores byte for byte
	local b=$1; shift
	rm -rf "$W/t"
	run 0 env "$@" "$CASSETTE" --config "$CFG" restore-node --backup-name "$b" --target-dir "$W/t" \
		$( [ "${b#v1-}" != "$b" ] && echo --allow-unauthenticated )
	diff <(sstable_digest "$W/t") <(cat "$W/digest-$b") >/dev/null || fail "backup $b does not restore byte for byte"
}
keys_of() { python3 -c "import json,sys; print(' '.join(sorted({o['key_id'] for t in json.load(open(sys.argv[1])) for o in t['objects'] if o.get('key_id')})))" "$STORE/$FQ/$1/meta/manifest.json"; }
wraps() { (cd "$STORE/index/data_keys/$FQ" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' '); }

cas 0 backup-node --backup-name b1
sstable_digest "$D" > "$W/digest-b1"
[ "$(ls "$STORE/index/data_keys/$FQ")" ] || fail "no data key was stored"
DK1=$(ls "$STORE/index/data_keys/$FQ" | sed 's/^000001_//')
[ ${#DK1} = 16 ] || fail "the data key folder is not 000001_<16 hex>: $(ls "$STORE/index/data_keys/$FQ")"
[ "$(keys_of b1)" = "$DK1" ] || fail "b1's objects name key $(keys_of b1), not the data key $DK1"
run 0 "$CASSETTE" inspect "$(find "$STORE/$FQ/data" -name '*Data.db' | head -n1)"
out_has "$DK1"
ok "the first backup makes a data key (generation 1); every object names it, not the master key"

# the independent reader (tests/crypto/ref_cassette.py, from docs/FORMAT.md)
# unwraps the data key and decrypts an object of the backup with it
if python3 -c 'import cryptography' 2>/dev/null; then
	REF=$SRC/tests/crypto/ref_cassette.py
	run 0 python3 "$REF" unwrap "$W/ring" "$(find "$STORE/index/data_keys/$FQ" -type f)" "$W/dk1"
	OBJ=$(find "$STORE/$FQ/data" -name '*Data.db' | head -n1)
	REL=${OBJ#"$STORE/$FQ/data/"}; KS=${REL%%/*}; REL=${REL#*/}; TB=${REL%%/*}; FN=${REL#*/}
	run 0 python3 "$REF" dec "$W/dk1" "$FQ" "$KS" "$TB" "$FN" "$OBJ" "$W/plain"
	cmp -s "$W/plain" "$D/$KS/$TB/$FN" || fail "the reference reader's plaintext differs"
	"$CASSETTE" keygen --output "$W/stranger" 2>/dev/null
	rm -f "$W/dk-x"
	run 2 python3 "$REF" unwrap "$W/stranger" "$(find "$STORE/index/data_keys/$FQ" -type f)" "$W/dk-x"
	ok "ref_cassette.py unwraps the data key from FORMAT.md alone and decrypts an object with it"
else
	echo "skip: no python3-cryptography: the reference reader's check did not run"
fi

# ---- keygen --add-to -----------------------------------------------------------
K1=$(cat "$W/ring")
run 0 "$CASSETTE" keygen --add-to "$W/ring"
err_has "now its newest of 2"
[ "$(stat -c %a "$W/ring")" = 600 ] || fail "keygen --add-to left mode $(stat -c %a "$W/ring")"
[ "$(grep -vc '^#' "$W/ring")" = 2 ] || fail "the keyring does not hold two key lines"
grep -q " $K1\$" "$W/ring" || fail "the old key lost its line"
M1=$(grep " $K1\$" "$W/ring" | cut -d' ' -f1); M2=$(id_of "$W/ring")
[ -e "$STORE/index/data_keys/$FQ/000001_$DK1/master_$M1" ] || fail "the data key is not wrapped under $M1"
cp "$W/ring" "$W/ring.644"; chmod 644 "$W/ring.644"
run 2 "$CASSETTE" keygen --add-to "$W/ring.644"; err_has "chmod 600"
cmp -s "$W/ring" "$W/ring.644" || fail "a refused --add-to changed the file"
printf '%s\n' "$M2 $K1" > "$W/bad-ring"; chmod 600 "$W/bad-ring"
run 2 env CASSETTE_KEY_FILE="$W/bad-ring" "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$W/t0"
err_has "is not its key's"
ok "keygen --add-to makes a keyring of two, 0600; a 0644 keyring and a key under another key's id are refused"

# ---- rotate-key ---------------------------------------------------------------
find "$STORE" -type f | sort > "$W/before"
cas 0 rotate-key --dry-run
out_has "would be wrapped under master key $M2 only"
find "$STORE" -type f | sort | cmp -s - "$W/before" || fail "--dry-run changed the store"
CASSETTE_STORAGE_TRACE=$W/trace-rot cas 0 rotate-key
out_has "data key $DK1 is wrapped under master key $M2 only"
[ "$(wraps)" = "000001_$DK1/master_$M2 " ] || fail "wraps after rotate-key: $(wraps)"
if grep -E '^(get|put_file|put_buf|delete) ' "$W/trace-rot" | grep -v -e 'index/data_keys/' -e '/meta/manifest.json$' | grep -q .; then
	cat "$W/trace-rot"; fail "rotate-key read or wrote something besides wraps and manifests"
fi
cas 0 rotate-key
out_has "1 already were"
ok "rotate-key re-wraps under the newest key, reading and writing no data object; a rerun changes nothing"

T=$(ls "$D/ks0" | head -n1)
F=$(ls "$D/ks0/$T" | head -n1)
printf 'changed' >> "$D/ks0/$T/$F"
CASSETTE_STORAGE_TRACE=$W/trace-b2 cas 0 backup-node --backup-name b2
sstable_digest "$D" > "$W/digest-b2"
out_has "1 new"
[ "$(grep -c '^put_file .*/data/' "$W/trace-b2")" = 1 ] || { cat "$W/trace-b2"; fail "b2 stored more than the changed file"; }
[ "$(keys_of b2)" = "$DK1" ] || fail "b2 is not under the same data key"
ok "after the rotation a differential backup reuses every unchanged file"

# the old master leaves the keyring
grep -v " $K1\$" "$W/ring" > "$W/ring2"; chmod 600 "$W/ring2"
restore_eq b1 CASSETTE_KEY_FILE="$W/ring2"
restore_eq b2 CASSETTE_KEY_FILE="$W/ring2"
printf '%s\n' "$K1" > "$W/old"; chmod 600 "$W/old"
rm -rf "$W/t"
run 1 env CASSETTE_KEY_FILE="$W/old" "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$W/t"
err_has "wrong key"; err_has "$M2"
[ ! -e "$W/t" ] || fail "a restore with only the old key wrote something"
ok "without the old master key both backups restore; with only the old key: wrong key, nothing written"
cp "$W/ring2" "$W/ring"

# ---- tampered wraps -----------------------------------------------------------
WR=$STORE/index/data_keys/$FQ/000001_$DK1/master_$M2
cp "$WR" "$W/wrap-saved"
python3 - "$WR" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
b = bytearray(base64.b64decode(d["wrapped"])); b[50] ^= 1
d["wrapped"] = base64.b64encode(bytes(b)).decode()
json.dump(d, open(sys.argv[1], "w"))
PY
rm -rf "$W/t"
cas 1 restore-node --backup-name b1 --target-dir "$W/t"
err_has "master_$M2"; err_has "failed authentication"
[ ! -e "$W/t" ] || fail "a restore with an altered wrap wrote something"
cp "$W/wrap-saved" "$WR"
ok "an altered wrap fails to unwrap, naming it; nothing is written (a wrap moved to another node: test_crypto_keyring)"

# ---- --reencrypt ---------------------------------------------------------------
run 0 "$CASSETTE" keygen --add-to "$W/ring"
M3=$(id_of "$W/ring")
cas 0 rotate-key --reencrypt
out_has "(generation 2) is current"
out_has "backup b1 of node $FQ still depends on key $DK1"
out_has "backup b2 of node $FQ still depends on key $DK1"
DK2=$(ls "$STORE/index/data_keys/$FQ" | sed -n 's/^000002_//p')
[ ${#DK2} = 16 ] || fail "no data key of generation 2"
[ "$(wraps)" = "000001_$DK1/master_$M3 000002_$DK2/master_$M3 " ] || fail "wraps after --reencrypt: $(wraps)"
N=$(find "$D" -type f ! -path '*/snapshots/*' | wc -l)
cas 0 backup-node --backup-name b3
sstable_digest "$D" > "$W/digest-b3"
out_has "$N new"
[ "$(keys_of b3)" = "$DK2" ] || fail "b3 is not under the new data key"
restore_eq b1; restore_eq b3
cas 0 delete-backup --backup-name b1
cas 0 delete-backup --backup-name b2
cas 0 rotate-key
grep -q 'still depends' "$W/out" && { cat "$W/out"; fail "deleted backups are still listed"; }
ok "--reencrypt: a new current data key, the next backup stores all $N files, older backups listed until deleted"

# ---- a data key deleted from the store: verify without a key sees it ----------
cas 0 verify --backup-name b3
mv "$STORE/index/data_keys/$FQ/000002_$DK2" "$W/dk2-saved"
cas 1 verify --backup-name b3
grep -q "data key missing" "$W/out" "$W/err" || { cat "$W/out" "$W/err"; fail "verify does not report the missing data key"; }
grep -q "$DK2" "$W/out" "$W/err" || fail "verify does not name the data key"
rm -rf "$W/t"
cas 1 restore-node --backup-name b3 --target-dir "$W/t"
err_has "wrong key"
mv "$W/dk2-saved" "$STORE/index/data_keys/$FQ/000002_$DK2"
find "$STORE/index/damaged_objects" -type f -delete 2>/dev/null || true
cas 0 verify --backup-name b3
ok "a data key deleted from the store: verify without a key exits 1 naming it (the objects all look whole); put back, it passes"

# ---- a store of version 1 --------------------------------------------------------
FIX=$SRC/tests/fixtures/v1
V1=$W/v1
cp -r "$FIX/store" "$V1"
install -m 600 "$FIX/key" "$W/v1key"
python3 "$FIX/data.py" "$W/v1data" 1; sstable_digest "$W/v1data" > "$W/digest-v1-first"
python3 "$FIX/data.py" "$W/v1data" 2; sstable_digest "$W/v1data" > "$W/digest-v1-second"
write_config "$CFG" "$W/v1data" "$V1" "key_secret_file = $W/v1key"
# version 1 wrote no auth.json: its manifests are trusted as stored, on request
restore_eq v1-first
err_has "not authenticated"
restore_eq v1-second
ok "a store of version 1 (objects under the master key itself) restores byte for byte, with --allow-unauthenticated"
VK=$(tr -d '\n' < "$W/v1key")
run 0 "$CASSETTE" keygen --add-to "$W/v1key"
cas 0 rotate-key
out_has "which encrypts backups of version 1, is now a data key"
grep -v " $VK\$" "$W/v1key" > "$W/v1new"; chmod 600 "$W/v1new"
[ "$(grep -vc '^#' "$W/v1new")" = 1 ] || fail "the new v1 keyring should hold the new key alone"
restore_eq v1-first CASSETTE_KEY_FILE="$W/v1new"
restore_eq v1-second CASSETTE_KEY_FILE="$W/v1new"
ok "after rotate-key the version-1 master key becomes a data key: the old backups restore without it"
echo "all $CHECKS checks passed"
