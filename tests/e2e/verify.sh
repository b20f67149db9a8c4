#!/usr/bin/env bash
# verify on local storage: sound backups pass (keyless, --deep, --sample, json);
# a deleted, truncated, grown or body-flipped object, a flipped header byte and
# an unreadable manifest are each caught and named, exit 1, with their
# damaged_objects record or damaged_ flag written. On radosgw too when this
# runs under tests/support/rgw.sh (VERIFY_S3=1): the ETag catches a rewrite.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
mk() { # mk DIR GEN DATA_SIZE
	mkdir -p "$1"
	head -c "$3" /dev/urandom > "$1/nb-$2-big-Data.db"
	for c in Index Summary Filter; do head -c $((1000 + $2)) /dev/urandom > "$1/nb-$2-big-$c.db"; done
	printf 'Data.db\nTOC.txt\n' > "$1/nb-$2-big-TOC.txt"
}
for g in 1 2 3 4; do mk "$D/ks1/$T1" $g $((g * 70000)); done
mk "$D/ks1/$T2" 1 3000
N=$(find "$D" -type f | wc -l)      # 25 files in 2 tables
"$CASSETTE" keygen > "$W/k"
CFG=$W/node.ini
write_config "$CFG" "$D" "$W/store" "key_secret_file = $W/k"
NOKEY=$W/nokey.ini
write_config "$NOKEY" "$D" "$W/store"
S=$W/store
OBJ=node1.example/data/ks1/$T1/nb-2-big-Data.db
REC=$S/index/damaged_objects/node1.example/data/ks1/$T1/nb-2-big-Data.db

cas 0 backup-node --backup-name b1
cp -a "$S" "$W/pristine"
reset_store() { rm -rf "$S"; cp -a "$W/pristine" "$S"; }
jget() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$W/out"; }

# ---- sound ------------------------------------------------------------------
CFG=$NOKEY cas 0 verify --backup-name b1
out_has "backup b1 of node node1.example: $N files in 2 tables"
out_has "$N headers"
out_has "0 files deep"
out_has "sound"
ok "verify without a key passes a sound backup: every object listed, every header read"

cas 0 verify --backup-name b1 --deep
out_has "$N files deep"
out_has "sound"
ok "verify --deep decrypts and hashes every file of a sound backup"

cas 0 verify --backup-name b1 --deep --output json
[ "$(jget 'd["ok"], d["files"], d["tables"], d["checked"]["deep"], d["bad"]')" = "True $N 2 $N []" ] ||
	{ cat "$W/out"; fail "json report of a sound backup"; }
ok "--output json is one JSON object: ok, files, tables, checked, bad"

cas 0 verify --backup-name b1 --sample 1 --output json
[ "$(jget 'd["checked"]["deep"], d["checked"]["headers"]')" = "2 $((N - 2))" ] ||
	{ cat "$W/out"; fail "--sample 1 should deep-check one file per table"; }
cas 0 verify --backup-name b1 --sample 50 --output json
[ "$(jget 'd["checked"]["deep"]')" = $(( (20 + 1) / 2 + (5 + 1) / 2 )) ] ||
	{ cat "$W/out"; fail "--sample 50 should deep-check half of each table, rounded up"; }
ok "--sample: a share of each table's files deep (at least one per table), the rest by header"

CFG=$NOKEY cas 2 verify --backup-name b1 --deep
err_has "no encryption key configured"
cas 2 verify --backup-name b1 --sample 0
err_has "--sample must be a whole percentage from 1 to 100"
cas 2 verify --backup-name b1 --sample 101
cas 2 verify
err_has "verify needs --backup-name NAME"
cas 1 verify --backup-name nosuch
err_has "backup 'nosuch' of node node1.example not found"
ok "usage: --deep needs the key, --sample 1..100, --backup-name required; a missing backup fails"

# ---- damage, each on a fresh copy of the store ----------------------------
expect_bad() { # expect_bad PROBLEM [verify options...]
	local problem=$1; shift
	cas 1 verify --backup-name b1 "$@"
	out_has "BAD ks1.$T1/nb-2-big-Data.db (object $OBJ): $problem"
	[ "$(grep -c '^BAD ' "$W/out")" = 1 ] || { cat "$W/out"; fail "more than the one bad file reported"; }
	err_has "backup b1 of node node1.example: 1 of $N files is bad"
	[ -f "$REC" ] || fail "no damaged_objects record for $OBJ"
	grep -q "^$problem: " "$REC" || { cat "$REC"; fail "the record does not say '$problem'"; }
}

reset_store; rm "$S/$OBJ"
expect_bad missing
ok "a deleted object: missing, named, exit 1, recorded under index/damaged_objects/"

reset_store; truncate -s -10 "$S/$OBJ"
expect_bad "wrong size"
reset_store; head -c 7 /dev/urandom >> "$S/$OBJ"
expect_bad "wrong size"
ok "a truncated and a grown object: wrong size"

reset_store; flip_byte "$S/$OBJ" 1000
cas 0 verify --backup-name b1
[ ! -e "$REC" ] || fail "a record for an object that passed"
expect_bad "fails authentication" --deep
ok "a flipped byte in the body: unseen without the key on local storage, caught by --deep"

reset_store; flip_byte "$S/$OBJ" 12      # the key id
expect_bad "wrong key id"
reset_store; flip_byte "$S/$OBJ" 0       # the magic
expect_bad "bad header"
reset_store; flip_byte "$S/$OBJ" 40      # the salt
expect_bad "bad header"
ok "a flipped header byte (key id, magic, salt) is caught without the key"

reset_store; rm "$S/$OBJ"
cas 1 verify --backup-name b1 --output json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); b=d["bad"]
assert d["ok"] is False and len(b) == 1, d
assert b[0]["problem"] == "missing" and b[0]["object"] == sys.argv[2] and b[0]["recorded"], b
assert b[0]["file"] == "ks1." + sys.argv[3] + "/nb-2-big-Data.db", b' "$W/out" "$OBJ" "$T1" ||
	fail "json report of a missing object"
ok "--output json names the bad file, its object and why"

# ---- an unreadable manifest ---------------------------------------------------
reset_store
M=$S/node1.example/b1/meta/manifest.json
truncate -s $(( $(stat -c %s "$M") / 2 )) "$M"
cas 1 verify --backup-name b1
err_has "backup b1 of node node1.example: its manifest is unreadable"
[ -f "$S/index/node_index/node1.example/b1/damaged" ] || fail "no damaged flag in the node index"
[ -e "$S/index/backup_index/b1/damaged_node1.example" ] && fail "a damaged_ flag in backup_index (Medusa asserts on it)"
ok "an unreadable manifest fails, says so, and flags the backup damaged in its index"


# ---- what verify finds, the next backup stores again ---------------------------
for damage in delete truncate flip; do
	reset_store
	case $damage in
	delete) rm "$S/$OBJ"; cas 1 verify --backup-name b1 ;;
	truncate) truncate -s -10 "$S/$OBJ"; cas 1 verify --backup-name b1 ;;
	flip) flip_byte "$S/$OBJ" 1000; cas 1 verify --backup-name b1 --deep ;;
	esac
	cas 0 backup-node --backup-name "after-$damage"
	err_has "1 file stored again"
	NEWKEY=$(python3 -c "import json,sys; print([o['path'] for t in json.load(open(sys.argv[1])) for o in t['objects'] if o['path'].endswith('/nb-2-big-Data.db') and '$T1' in o['path']][0])" \
		"$S/node1.example/after-$damage/meta/manifest.json")
	[ "$NEWKEY" = "node1.example/data/ks1/$T1/@after-$damage/nb-2-big-Data.db" ] ||
		fail "$damage: the file went to $NEWKEY, not to a new key"
	cas 0 restore-node --backup-name "after-$damage" --target-dir "$W/ra-$damage"
	diff <(sstable_digest "$D") <(sstable_digest "$W/ra-$damage") >/dev/null ||
		fail "$damage: the backup after verify does not restore byte for byte"
	cas 0 verify --backup-name "after-$damage" --deep
done
ok "an object verify found deleted, truncated or flipped is stored again by the next backup, which restores"

# ---- plaintext backups: --deep proves the source MD5 ---------------------------
write_config "$W/plain.ini" "$D" "$W/pstore" "encryption = none"
CFG=$W/plain.ini cas 0 backup-node --backup-name p1
CFG=$W/plain.ini cas 0 verify --backup-name p1 --deep
out_has "0 headers"
flip_byte "$W/pstore/$OBJ" 5
CFG=$W/plain.ini cas 1 verify --backup-name p1 --deep
out_has "BAD ks1.$T1/nb-2-big-Data.db (object $OBJ): wrong source MD5"
ok "plaintext backup: --deep compares the MD5 of every file with source_MD5"

# ---- radosgw ------------------------------------------------------------------------
if [ -n "${CASSETTE_TEST_S3_ENDPOINT:-}" ]; then
	export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
	awsenv() { AWS_ACCESS_KEY_ID=$CASSETTE_TEST_S3_KEY_ID AWS_SECRET_ACCESS_KEY=$CASSETTE_TEST_S3_SECRET \
		/usr/bin/aws --endpoint-url "$CASSETTE_TEST_S3_ENDPOINT" "$@"; }
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
	chmod 600 "$W/creds"
	printf '%s\n' "[cassandra]" "data_dir = $D" "snapshot_mode = hardlink" "[storage]" \
		"storage_provider = s3" "host = 127.0.0.1" "port = $CASSETTE_TEST_S3_PORT" "secure = false" \
		"bucket_name = $CASSETTE_TEST_S3_BUCKET" "prefix = verify" "fqdn = node1" \
		"key_file = $W/creds" "encryption_tmp_dir = $W/enctmp" "state_dir = $W/s3state" \
		"key_secret_file = $W/k" > "$W/s3.ini"
	CFG=$W/s3.ini cas 0 backup-node --backup-name s1
	CFG=$W/s3.ini cas 0 verify --backup-name s1
	out_has "$N headers, $N ETags"
	KEY=verify/node1/data/ks1/$T1/nb-2-big-Data.db
	awsenv s3 cp "s3://$CASSETTE_TEST_S3_BUCKET/$KEY" "$W/s3obj" >/dev/null
	flip_byte "$W/s3obj" 1000                # same size: only the ETag tells
	awsenv s3 cp "$W/s3obj" "s3://$CASSETTE_TEST_S3_BUCKET/$KEY" >/dev/null
	CFG=$W/s3.ini cas 1 verify --backup-name s1
	out_has "BAD ks1.$T1/nb-2-big-Data.db (object $KEY): wrong MD5"
	awsenv s3api head-object --bucket "$CASSETTE_TEST_S3_BUCKET" \
		--key "verify/index/damaged_objects/node1/data/ks1/$T1/nb-2-big-Data.db" >/dev/null ||
		fail "no damaged_objects record on S3"
	awsenv s3 rm "s3://$CASSETTE_TEST_S3_BUCKET/$KEY" >/dev/null
	CFG=$W/s3.ini cas 1 verify --backup-name s1 --deep
	out_has "BAD ks1.$T1/nb-2-big-Data.db (object $KEY): missing"
	ok "radosgw: the ETag catches a same-size rewrite without the key; a deleted object is missing"
fi
echo "$CHECKS passed, 0 failed"
