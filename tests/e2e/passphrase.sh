#!/usr/bin/env bash
# Passphrase keys ([storage] key_passphrase_file, $CASSETTE_PASSPHRASE_FILE):
#   - the first backup creates <store>/index/key_params.json (scrypt N=2^17,
#     r=8, p=1, a random salt, the key id); a second backup, a restore from a
#     fresh state dir and verify --deep reuse it unchanged; restores are byte
#     for byte; two nodes racing on a new store agree on one object;
#   - a wrong passphrase (or a salt or key id edited in the object) says
#     "wrong key" and never "corrupt", and writes nothing;
#   - costs edited below N=2^15, r=8, p=1 (or absurdly high), another version
#     or kdf, a bad field: refused, naming the object and the costs;
#   - a read-only command on a store without the object names it;
#   - a 0644 or empty passphrase file, a key file and a passphrase both set:
#     refused (exit 2);
#   - encrypt/decrypt with a passphrase, and without --config a clear error.
# Every command pays one scrypt (about a quarter of a second).
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS CASSETTE_KEY_FILE CASSETTE_PASSPHRASE_FILE

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
for g in 1 2 3; do
	head -c $((g * 50000)) /dev/urandom > "$D/ks1/$T1/nb-$g-big-Data.db"
	head -c 1000 /dev/urandom > "$D/ks1/$T1/nb-$g-big-Index.db"
done
PASS=$W/pass
printf 'correct horse battery staple\n' > "$PASS"; chmod 600 "$PASS"
CFG=$W/node.ini
write_config "$CFG" "$D" "$W/store" "key_passphrase_file = $PASS"
PARAMS=$W/store/index/key_params.json
PKEY=index/key_params.json   # its storage key, as messages name it
no_corrupt() { ! grep -qi corrupt "$W/err" || { cat "$W/err"; fail "the message says corrupt"; }; }
pj() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$PARAMS"; }

# ---- created once, then reused ------------------------------------------------
cas 0 backup-node --backup-name b1
err_has "created the store's key parameters $PKEY (scrypt N=131072, r=8, p=1; key id"
[ -f "$PARAMS" ] || fail "no $PARAMS after the first backup"
[ "$(pj '*(d["version"], d["kdf"], d["N"], d["r"], d["p"], len(d["salt"]), len(d["key_id"]), sorted(d))')" = \
  "1 scrypt 131072 8 1 64 16 ['N', 'kdf', 'key_id', 'p', 'r', 'salt', 'version']" ] ||
	{ cat "$PARAMS"; fail "the key parameters object is not as docs/FORMAT.md says"; }
KEYID=$(pj 'd["key_id"]')
OBJ=$W/store/node1.example/data/ks1/$T1/nb-1-big-Data.db
# the derived master key wraps the node's data key, which the objects name
DKID=$(od -An -tx1 -j12 -N8 "$OBJ" | tr -d ' \n')
[ -f "$W/store/index/data_keys/node1.example/000001_$DKID/master_$KEYID" ] ||
	fail "the objects' data key is not wrapped under the key parameters' key_id"
# the key id is the passphrase's: scrypt(passphrase, salt) then HKDF, here in Python
python3 - "$PARAMS" <<'EOF' || fail "the key id is not HKDF(scrypt(passphrase, salt))"
import hashlib, hmac, json, sys
d = json.load(open(sys.argv[1]))
raw = hashlib.scrypt(b"correct horse battery staple", salt=bytes.fromhex(d["salt"]), n=d["N"],
                     r=d["r"], p=d["p"], dklen=32, maxmem=1 << 28)
prk = hmac.new(b"\0" * 32, raw, hashlib.sha256).digest()
assert hmac.new(prk, b"cassette v1 key id\x01", hashlib.sha256).digest()[:8].hex() == d["key_id"]
EOF
cp "$PARAMS" "$W/params.first"
ok "the first backup creates the key parameters (N=2^17, r=8, p=1, 32-byte salt) and its objects carry their key id"

head -c 70000 /dev/urandom > "$D/ks1/$T1/nb-4-big-Data.db"
cas 0 backup-node --backup-name b2
! grep -q "created the store's key parameters" "$W/err" || fail "the second backup created key parameters again"
cmp -s "$PARAMS" "$W/params.first" || fail "the second backup changed the key parameters"
STATE_DIR=$W/fresh-state write_config "$W/fresh.ini" "$D" "$W/store" "key_passphrase_file = $PASS"
run 0 "$CASSETTE" --config "$W/fresh.ini" restore-node --backup-name b2 --target-dir "$W/r2"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r2")" ] || fail "the restore of b2 differs"
[ ! -e "$W/fresh-state" ] || [ -z "$(find "$W/fresh-state" -name '*key*')" ] || fail "a key landed in the state dir"
run 0 "$CASSETTE" --config "$W/fresh.ini" restore-node --backup-name b1 --target-dir "$W/r1"
[ "$(find "$W/r1" -type f | wc -l)" = 6 ] || fail "the restore of b1 has not its 6 files"
cmp -s "$PARAMS" "$W/params.first" || fail "a restore changed the key parameters"
cas 0 verify --backup-name b2 --deep
out_has "sound"
ok "a second backup, restores from a fresh state dir and verify --deep reuse them unchanged; byte for byte"

# the environment overrides the config; the first line counts, "\r\n" ends it
printf 'correct horse battery staple\r\nnot this line\n' > "$W/pass-crlf"; chmod 600 "$W/pass-crlf"
run 0 env CASSETTE_PASSPHRASE_FILE="$W/pass-crlf" "$CASSETTE" --config "$W/fresh.ini" \
	restore-node --backup-name b2 --target-dir "$W/r3"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r3")" ] || fail "the restore with a CRLF passphrase file differs"
printf 'correct horse battery staple' > "$W/pass-nonl"; chmod 600 "$W/pass-nonl"
run 0 env CASSETTE_PASSPHRASE_FILE="$W/pass-nonl" "$CASSETTE" --config "$CFG" verify --backup-name b2 --deep
ok "\$CASSETTE_PASSPHRASE_FILE works; the passphrase is the first line, without \\n or \\r\\n"

# ---- wrong passphrase ----------------------------------------------------------
printf 'correct horse battery stapler\n' > "$W/wrong"; chmod 600 "$W/wrong"
WRONG=(env CASSETTE_PASSPHRASE_FILE="$W/wrong")
run 1 "${WRONG[@]}" "$CASSETTE" --config "$W/fresh.ini" restore-node --backup-name b2 --target-dir "$W/rw"
err_has "wrong key: the passphrase in $W/wrong gives key id"
err_has "but the store's key parameters ($PKEY) belong to key id $KEYID"
no_corrupt; one_line_err
[ ! -e "$W/rw" ] || [ -z "$(find "$W/rw" -type f)" ] || fail "a restore with a wrong passphrase wrote files"
run 1 "${WRONG[@]}" "$CASSETTE" --config "$CFG" verify --backup-name b2 --deep
err_has "wrong key"; no_corrupt
run 1 "${WRONG[@]}" "$CASSETTE" --config "$CFG" backup-node --backup-name b3
err_has "wrong key"; no_corrupt
[ ! -e "$W/store/node1.example/b3" ] || fail "a backup with a wrong passphrase stored something"
cmp -s "$PARAMS" "$W/params.first" || fail "a wrong passphrase changed the key parameters"
ok "a wrong passphrase: 'wrong key' with both key ids, exit 1, never 'corrupt', nothing written"

# ---- the object edited ---------------------------------------------------------
edit() { # edit PYTHON_STATEMENTS: change the object (d) from the pristine copy
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1; open(sys.argv[2],'w').write(json.dumps(d))" \
		"$W/params.first" "$PARAMS"
}
refused() { # refused EXIT TEXT...: a restore is refused with these words
	local want=$1; shift
	run "$want" "$CASSETTE" --config "$CFG" restore-node --backup-name b2 --target-dir "$W/rt"
	err_has "$PKEY"
	for t in "$@"; do err_has "$t"; done
	no_corrupt
	[ ! -e "$W/rt" ] || fail "a refused restore wrote $W/rt"
}
edit 'd["N"] = 16384'; refused 1 "scrypt costs N=16384, r=8, p=1 are below the minimum N=32768, r=8, p=1"
edit 'd["r"] = 4'; refused 1 "N=131072, r=4, p=1 are below the minimum"
edit 'd["p"] = 0'; refused 1 "r=8, p=0 are below the minimum"
edit 'd["N"] = 16384; d["r"] = 4; d["p"] = 0'; refused 1 "N=16384, r=4, p=0 are below the minimum"
edit 'd["N"] = 3 << 15'; refused 1 "N=98304 is not a power of two"
edit 'd["N"] = 1 << 30'; refused 1 "N=1073741824, r=8, p=1 are above the maximum"
edit 'd["r"] = 1024'; refused 1 "r=1024, p=1 are above the maximum"
edit 'd["version"] = 2'; refused 1 "version 2 is not supported"
edit 'd["kdf"] = "argon2id"'; refused 1 'kdf "argon2id" is not supported'
edit 'd["salt"] = d["salt"][:62]'; refused 1 '"salt" is not 64 hex digits'
edit 'd["N"] = "131072"'; refused 1 '"N" is missing or not an integer'
edit 'del d["key_id"]'; refused 1 '"key_id" is not 16 hex digits'
edit 'd["extra"] = 1'; refused 1 'unknown field "extra"'
printf 'not json' > "$PARAMS"; refused 1 "not a JSON object"
# a salt or key id edited is a wrong key, not corrupt data
edit 'd["salt"] = ("0" if d["salt"][0] != "0" else "1") + d["salt"][1:]'; refused 1 "wrong key"
edit 'd["key_id"] = ("0" if d["key_id"][0] != "0" else "1") + d["key_id"][1:]'; refused 1 "wrong key"
cp "$W/params.first" "$PARAMS"
cas 0 restore-node --backup-name b2 --target-dir "$W/rt"   # control: the pristine object
ok "costs edited below or above the bounds, another version or kdf, bad fields: refused naming the object and costs; an edited salt or key id is a wrong key"

# ---- no object -------------------------------------------------------------------
mv "$PARAMS" "$W/params.away"
run 1 "$CASSETTE" --config "$CFG" restore-node --backup-name b2 --target-dir "$W/rn"
err_has "no key parameters in the store ($PKEY)"
[ ! -e "$W/rn" ] || fail "a restore without key parameters wrote $W/rn"
run 1 "$CASSETTE" --config "$CFG" verify --backup-name b2 --deep
err_has "no key parameters in the store ($PKEY)"
[ ! -e "$PARAMS" ] || fail "a read-only command created key parameters"
cas 0 list-backups   # listing needs no key
out_has "b2"
mv "$W/params.away" "$PARAMS"
ok "a read-only command on a store without key parameters names the object and creates none"

# purge and delete-backup never touch it
cas 0 delete-backup --backup-name b1
cas 0 purge
cmp -s "$PARAMS" "$W/params.first" || fail "delete-backup or purge changed the key parameters"
cas 0 restore-node --backup-name b2 --target-dir "$W/rd"
ok "delete-backup and purge leave the key parameters; the rest still restores"

# ---- the passphrase file and the key source --------------------------------------
chmod 644 "$PASS"
cas 2 restore-node --backup-name b2 --target-dir "$W/rp"
err_has "passphrase file $PASS is readable by group or others (mode 0644); chmod 600 it"
chmod 600 "$PASS"
: > "$W/empty"; chmod 600 "$W/empty"
run 2 env CASSETTE_PASSPHRASE_FILE="$W/empty" "$CASSETTE" --config "$CFG" backup-node --backup-name b4
err_has "passphrase file $W/empty is empty"
printf '\nsecond line\n' > "$W/empty"
run 2 env CASSETTE_PASSPHRASE_FILE="$W/empty" "$CASSETTE" --config "$CFG" backup-node --backup-name b4
err_has "passphrase file $W/empty is empty"
head -c 1025 /dev/zero | tr '\0' a > "$W/long"; chmod 600 "$W/long"
run 2 env CASSETTE_PASSPHRASE_FILE="$W/long" "$CASSETTE" --config "$CFG" backup-node --backup-name b4
err_has "longer than 1024 bytes"
[ ! -e "$W/store/node1.example/b4" ] || fail "a refused passphrase file stored a backup"
run 2 env CASSETTE_PASSPHRASE_FILE="$W/nowhere" "$CASSETTE" --config "$CFG" restore-node --backup-name b2 --target-dir "$W/rp"
err_has "cannot open passphrase file $W/nowhere"
"$CASSETTE" keygen --output "$W/k" 2>/dev/null
run 2 env CASSETTE_KEY_FILE="$W/k" "$CASSETTE" --config "$CFG" restore-node --backup-name b2 --target-dir "$W/rp"
err_has "\$CASSETTE_KEY_FILE and [storage] key_passphrase_file are both set"
write_config "$W/both.ini" "$D" "$W/store" "key_passphrase_file = $PASS" "key_secret_file = $W/k"
run 2 "$CASSETTE" --config "$W/both.ini" backup-node --backup-name b4
err_has "[storage] key_secret_file and [storage] key_passphrase_file are both set"
write_config "$W/keyonly.ini" "$D" "$W/store" "key_secret_file = $W/k"
run 2 env CASSETTE_PASSPHRASE_FILE="$PASS" "$CASSETTE" --config "$W/keyonly.ini" verify --backup-name b2 --deep
err_has "[storage] key_secret_file and \$CASSETTE_PASSPHRASE_FILE are both set"
run 2 env CASSETTE_PASSPHRASE_FILE="$PASS" CASSETTE_KEY_FILE="$W/k" CASSETTE_CONFIG="$W/none.ini" \
	"$CASSETTE" encrypt --label x < /dev/null
err_has "\$CASSETTE_KEY_FILE and \$CASSETTE_PASSPHRASE_FILE are both set"
[ ! -e "$W/store/node1.example/b4" ] || fail "a refused key source stored a backup"
ok "a 0644, empty, too long or missing passphrase file, and a key file set beside a passphrase: exit 2 naming them"

# ---- encrypt / decrypt -------------------------------------------------------------
head -c 10000 /dev/urandom > "$W/dump"
run 0 sh -c "'$CASSETTE' --config '$CFG' encrypt --label db-1 < '$W/dump' > '$W/dump.cst'"
run 0 sh -c "'$CASSETTE' --config '$W/fresh.ini' decrypt --label db-1 < '$W/dump.cst' > '$W/dump.out'"
cmp -s "$W/dump" "$W/dump.out" || fail "the stream round trip with a passphrase differs"
[ "$(od -An -tx1 -j12 -N8 "$W/dump.cst" | tr -d ' \n')" = "$KEYID" ] || fail "the stream's key id is not the store's"
run 1 sh -c "CASSETTE_PASSPHRASE_FILE='$W/wrong' '$CASSETTE' --config '$CFG' decrypt --label db-1 < '$W/dump.cst'"
err_has "wrong key"; no_corrupt
[ ! -s "$W/out" ] || fail "decrypt with a wrong passphrase wrote bytes"
run 2 env CASSETTE_PASSPHRASE_FILE="$PASS" CASSETTE_CONFIG="$W/none.ini" "$CASSETTE" decrypt --label db-1 < "$W/dump.cst"
err_has "decrypt with \$CASSETTE_PASSPHRASE_FILE needs --config"
ok "encrypt/decrypt with a passphrase; a wrong one says 'wrong key'; without a config, a clear error"

# ---- two nodes race on a new store -------------------------------------------------
# The loser's path, made certain: its first read of the object is made to miss
# (an injected "not found"), so it derives, tries its create-only put, finds
# the winner's object there, and uses it.
rm -f "$W/trace"
head -c 30000 /dev/urandom > "$D/ks1/$T1/nb-5-big-Data.db"
run 0 env CASSETTE_STORAGE_FAULTS=get:1:notfound CASSETTE_STORAGE_TRACE="$W/trace" \
	"$CASSETTE" --config "$CFG" backup-node --backup-name b5
grep -qx "put_buf $PKEY" "$W/trace" || { cat "$W/trace"; fail "the loser did not try to create the key parameters"; }
[ "$(grep -c "^get $PKEY\$" "$W/trace" || true)" = 2 ] || { cat "$W/trace"; fail "the loser did not read the object again"; }
! grep -q "created the store's key parameters" "$W/err" || fail "the loser says it created the key parameters"
cmp -s "$PARAMS" "$W/params.first" || fail "the loser replaced the key parameters"
[ "$(od -An -tx1 -j12 -N8 "$W/store/node1.example/data/ks1/$T1/nb-5-big-Data.db" | tr -d ' \n')" = "$DKID" ] ||
	fail "the loser's objects are not under the data key the winner's key unwraps"
cas 0 restore-node --backup-name b5 --target-dir "$W/r5"
[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/r5")" ] || fail "the loser's backup does not restore"
ok "a node that loses the create race uses the winner's key parameters (its put refused, the object re-read)"

for n in 1 2; do
	cp -a "$D" "$W/race-data$n"
	FQDN=node$n.example STATE_DIR=$W/race-state$n ENCTMP=$W/race-tmp$n \
		write_config "$W/race$n.ini" "$W/race-data$n" "$W/race-store" "key_passphrase_file = $PASS"
done
"$CASSETTE" --config "$W/race1.ini" backup-node --backup-name r1 >"$W/race1.out" 2>"$W/race1.err" & P1=$!
"$CASSETTE" --config "$W/race2.ini" backup-node --backup-name r1 >"$W/race2.out" 2>"$W/race2.err" & P2=$!
wait $P1 || { cat "$W/race1.err"; fail "node1's racing backup failed"; }
wait $P2 || { cat "$W/race2.err"; fail "node2's racing backup failed"; }
[ "$(cat "$W/race1.err" "$W/race2.err" | grep -c "created the store's key parameters" || true)" = 1 ] ||
	{ cat "$W/race1.err" "$W/race2.err"; fail "not exactly one racing node created the key parameters"; }
RID=$(python3 -c "import json; print(json.load(open('$W/race-store/index/key_params.json'))['key_id'])")
for n in 1 2; do
	dk=$(od -An -tx1 -j12 -N8 "$W/race-store/node$n.example/data/ks1/$T1/nb-1-big-Data.db" | tr -d ' \n')
	[ -f "$W/race-store/index/data_keys/node$n.example/000001_$dk/master_$RID" ] ||
		fail "node$n's data key is not wrapped under the stored key parameters' key"
	run 0 "$CASSETTE" --config "$W/race$n.ini" restore-node --backup-name r1 --target-dir "$W/race-r$n"
	[ "$(sstable_digest "$D")" = "$(sstable_digest "$W/race-r$n")" ] || fail "node$n's restore differs"
done
ok "two nodes racing on a new store: one creates the key parameters, both back up under them and restore"

run 0 "$CASSETTE" --help; out_has "CASSETTE_PASSPHRASE_FILE"; out_has "key_passphrase_file"
run 0 "$CASSETTE" encrypt --help; out_has "CASSETTE_PASSPHRASE_FILE"
ok "--help names the passphrase file where it names the key file"

echo "all $CHECKS checks passed"
