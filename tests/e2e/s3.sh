#!/usr/bin/env bash
# The node loop against a real S3 server (Ceph radosgw on 127.0.0.1, started by
# tests/support/rgw.sh run), with a multipart object, checked with awscli.
. "$(dirname "$0")/lib.sh"
: "${CASSETTE_TEST_S3_ENDPOINT:?run me through tests/support/rgw.sh run --}"
AWS=/usr/bin/aws
export AWS_ACCESS_KEY_ID=$CASSETTE_TEST_S3_KEY_ID AWS_SECRET_ACCESS_KEY=$CASSETTE_TEST_S3_SECRET
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
BUCKET=$CASSETTE_TEST_S3_BUCKET
aws_() { "$AWS" --endpoint-url "$CASSETTE_TEST_S3_ENDPOINT" "$@"; }

T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
mk() { # mk DIR GEN DATA_SIZE
	mkdir -p "$1"
	head -c "$3" /dev/urandom > "$1/nb-$2-big-Data.db"
	for c in Index Summary Statistics Filter; do head -c 3000 /dev/urandom > "$1/nb-$2-big-$c.db"; done
	printf 'Data.db\nTOC.txt\n' > "$1/nb-$2-big-TOC.txt"
}
mk "$D/ks1/$T1" 1 $((20 * 1024 * 1024 + 12345))   # multipart: 3 parts of <= 8 MiB
mk "$D/ks1/$T1" 2 100000
mk "$D/ks1/$T2" 1 0
cp -a "$D" "$W/data-at-b1"

"$CASSETTE" keygen > "$W/k"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
chmod 600 "$W/creds"
s3_config() { # s3_config FILE PORT EXTRA...
	local file=$1 port=$2; shift 2
	printf '%s\n' "[cassandra]" "data_dir = $D" "snapshot_mode = hardlink" "[storage]" \
		"storage_provider = s3" "host = 127.0.0.1" "port = $port" "secure = false" \
		"bucket_name = $BUCKET" "prefix = ${S3_PREFIX:-e2e}" "fqdn = node1" "key_file = ${S3_KEYFILE:-$W/creds}" \
		"encryption_tmp_dir = $W/enctmp" "state_dir = $W/state" "multi_part_upload_threshold = 6MB" \
		"concurrent_transfers = 3" "$@" > "$file"
}
CFG=$W/s3.ini
s3_config "$CFG" "$CASSETTE_TEST_S3_PORT" "key_secret_file = $W/k"
NOKEY=$W/nokey.ini
s3_config "$NOKEY" "$CASSETTE_TEST_S3_PORT"
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY   # cassette reads key_file; awscli gets them per call
awsenv() { AWS_ACCESS_KEY_ID=$CASSETTE_TEST_S3_KEY_ID AWS_SECRET_ACCESS_KEY=$CASSETTE_TEST_S3_SECRET aws_ "$@"; }

# ---- backup 1, checked by an independent client ------------------------------
export CASSETTE_STORAGE_TRACE=$W/trace1
cas 0 backup-node --backup-name b1
unset CASSETTE_STORAGE_TRACE
out_has "18 new"
awsenv s3 ls --recursive "s3://$BUCKET/e2e/" > "$W/ls"
grep -q "e2e/node1/b1/meta/manifest.json" "$W/ls" || { cat "$W/ls"; fail "awscli does not see the manifest"; }
grep -q "e2e/index/backup_index/b1/finished_node1_" "$W/ls" || fail "awscli does not see the index"
awsenv s3 cp "s3://$BUCKET/e2e/node1/b1/meta/manifest.json" "$W/m1.json" >/dev/null
BIG=e2e/node1/data/ks1/$T1/nb-1-big-Data.db
ETAG=$(awsenv s3api head-object --bucket "$BUCKET" --key "$BIG" --query ETag --output text | tr -d '"')
case $ETAG in *-3) ;; *) fail "expected a 3-part multipart ETag, got $ETAG";; esac
[ "$(pyjson "$W/m1.json" '[o["MD5"] for t in m for o in t["objects"] if o["path"]=="'"$BIG"'"][0]')" = "$ETAG" ] || fail "manifest MD5 is not the object's ETag"
awsenv s3 cp "s3://$BUCKET/$BIG" "$W/big.obj" >/dev/null
# no CompressionInfo.db beside it: compression = auto gives it segment kinds
# (random bytes: every segment raw), so the header alone cannot tell its size
run 0 "$CASSETTE" inspect "$W/big.obj"; out_has "compression:    segment kinds"; out_has "segments:       21"
[ "$(stat -c %s "$W/big.obj")" = $((64 + 20 * 1024 * 1024 + 12345 + 21 * (4 + 1 + 16))) ] || fail "raw segments with kinds: not header + data + 21 per segment"
[ -z "$(ls -A "$W/enctmp" | grep -v '\.lock$')" ] || fail "temp files left behind"
awsenv s3api list-multipart-uploads --bucket "$BUCKET" --output text > "$W/mpu"
grep -q UPLOADS "$W/mpu" && fail "a multipart upload was left open"
ok "backup to radosgw: plain S3 objects (awscli lists and fetches them), multipart ETag recorded, nothing left open"

# The manifest's MD5 of every object is the ETag the server reports for it
# (FORMAT.md), and its size the size the server lists: one listing checks all.
awsenv s3api list-objects-v2 --bucket "$BUCKET" --prefix e2e/node1/data/ --output json > "$W/objs.json"
python3 - "$W/m1.json" "$W/objs.json" <<'PY' || fail "manifest MD5/size differ from what the server lists"
import json, sys
m = json.load(open(sys.argv[1]))
listed = {o["Key"]: (o["ETag"].strip('"'), o["Size"]) for o in json.load(open(sys.argv[2]))["Contents"]}
objs = [o for t in m for o in t["objects"]]
assert len(objs) == 18 and all(o.get("salt") for o in objs), objs
for o in objs:
    assert listed[o["path"]] == (o["MD5"], o["size"]), (o, listed.get(o["path"]))
    assert o["MD5"] != o["source_MD5"], o   # the ciphertext's, not the plaintext's
PY
ok "encrypted objects on S3: each manifest MD5 is the server's ETag, each size the listed size"

# encryption = none: the stored bytes are the source, so MD5 = source_MD5
# for a whole object and the server's multipart ETag for a multipart one.
S3_PREFIX=e2e-plain s3_config "$W/plain.ini" "$CASSETTE_TEST_S3_PORT" "encryption = none"
CFG=$W/plain.ini cas 0 backup-node --backup-name p1
awsenv s3 cp "s3://$BUCKET/e2e-plain/node1/p1/meta/manifest.json" "$W/mp.json" >/dev/null
awsenv s3api list-objects-v2 --bucket "$BUCKET" --prefix e2e-plain/node1/data/ --output json > "$W/pobjs.json"
python3 - "$W/mp.json" "$W/pobjs.json" "$D" <<'PY' || fail "plaintext manifest MD5 rule"
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
listed = {o["Key"]: (o["ETag"].strip('"'), o["Size"]) for o in json.load(open(sys.argv[2]))["Contents"]}
multi = 0
for t in m:
    for o in t["objects"]:
        assert "salt" not in o and listed[o["path"]] == (o["MD5"], o["size"]), o
        rel = o["path"].split("/data/", 1)[1]
        assert o["source_MD5"] == hashlib.md5(open(sys.argv[3] + "/" + rel, "rb").read()).hexdigest(), o
        if "-" in o["MD5"]:
            multi += 1
        else:
            assert o["MD5"] == o["source_MD5"], o
assert multi == 1, multi
PY
CFG=$W/plain.ini cas 0 restore-node --backup-name p1 --target-dir "$W/rp1"
diff <(sstable_digest "$W/data-at-b1") <(sstable_digest "$W/rp1") || fail "plaintext restore differs"
ok "plaintext objects on S3: MD5 = source_MD5 (whole) or the server's multipart ETag; restore proves source_MD5"

# Over https no encrypted body carries a Content-MD5 (TLS checks the bytes on
# the way): the manifest still records the server's ETags and sizes.
S3_PREFIX=e2e-tls s3_config "$W/tls.ini" "$CASSETTE_TEST_S3_TLS_PORT" "key_secret_file = $W/k" \
	"ca_file = $CASSETTE_TEST_S3_CA"
sed -i 's/^secure = false$/secure = true/' "$W/tls.ini"
CFG=$W/tls.ini cas 0 backup-node --backup-name t1
awsenv s3 cp "s3://$BUCKET/e2e-tls/node1/t1/meta/manifest.json" "$W/mt.json" >/dev/null
awsenv s3api list-objects-v2 --bucket "$BUCKET" --prefix e2e-tls/node1/data/ --output json > "$W/tobjs.json"
python3 - "$W/mt.json" "$W/tobjs.json" <<'PY' || fail "manifest MD5/size over https differ from the listing"
import json, sys
m = json.load(open(sys.argv[1]))
listed = {o["Key"]: (o["ETag"].strip('"'), o["Size"]) for o in json.load(open(sys.argv[2]))["Contents"]}
objs = [o for t in m for o in t["objects"]]
assert len(objs) == 18 and sum("-" in o["MD5"] for o in objs) == 1, objs
for o in objs:
    assert o.get("salt") and listed[o["path"]] == (o["MD5"], o["size"]), (o, listed.get(o["path"]))
PY
CFG=$W/tls.ini cas 0 restore-node --backup-name t1 --target-dir "$W/rt1"
diff <(sstable_digest "$W/data-at-b1") <(sstable_digest "$W/rt1") || fail "restore over https differs"
ok "over https (no Content-MD5 on encrypted bodies): manifest MD5s are the server's ETags; restore is byte-identical"

# ---- change, backup 2, listing without a key ------------------------------------
rm "$D/ks1/$T1"/nb-2-big-*
mk "$D/ks1/$T2" 3 50000
head -c 3000 /dev/urandom > "$D/ks1/$T1/nb-1-big-Summary.db"
cp -a "$D" "$W/data-at-b2"
export CASSETTE_STORAGE_TRACE=$W/trace2
cas 0 backup-node --backup-name b2
unset CASSETTE_STORAGE_TRACE
out_has "7 new"
grep -q "^put_file.*nb-1-big-Data.db" "$W/trace2" && fail "the unchanged multipart object was uploaded again"
CFG=$NOKEY CASSETTE_STORAGE_TRACE=$W/trace-list cas 0 list-backups --output json
python3 -c "import json,sys; b=json.load(open(sys.argv[1])); assert [x['name'] for x in b]==['b1','b2'] and all(x['complete'] for x in b), b" "$W/out"
grep -v '^list ' "$W/trace-list" && fail "list-backups did more than list"
ok "differential backup and keyless listing on S3"

cas 0 restore-node --backup-name b1 --target-dir "$W/r1"
diff <(sstable_digest "$W/data-at-b1") <(sstable_digest "$W/r1") || fail "restore of b1 differs"
cas 0 restore-node --backup-name b2 --target-dir "$W/r2"
diff <(sstable_digest "$W/data-at-b2") <(sstable_digest "$W/r2") || fail "restore of b2 differs"
ok "restores from S3 are byte-identical, multipart object included"

# tampered object (rewritten by another client) and a wrong key fail cleanly
VICTIM=e2e/node1/data/ks1/$T2/nb-1-big-Index.db
awsenv s3 cp "s3://$BUCKET/$VICTIM" "$W/v" >/dev/null
cp "$W/v" "$W/v.bad"; flip_byte "$W/v.bad" 100
awsenv s3 cp "$W/v.bad" "s3://$BUCKET/$VICTIM" >/dev/null
cas 1 restore-node --backup-name b2 --target-dir "$W/t1"; err_has "nb-1-big-Index.db"
[ -z "$(find "$W/t1" -type f 2>/dev/null)" ] || fail "partial restore"
# the same size, so only the AEAD tags can tell: the flipped byte is in the
# multipart object's last part this time
BIGV=e2e/node1/data/ks1/$T1/nb-1-big-Data.db
awsenv s3 cp "s3://$BUCKET/$BIGV" "$W/bv" >/dev/null
cp "$W/bv" "$W/bv.bad"; flip_byte "$W/bv.bad" $((20 * 1024 * 1024))
awsenv s3 cp "$W/bv.bad" "s3://$BUCKET/$BIGV" >/dev/null
cas 1 restore-node --backup-name b1 --target-dir "$W/t1b"; err_has "nb-1-big-Data.db"
[ -z "$(find "$W/t1b" -type f 2>/dev/null)" ] || fail "partial restore"
awsenv s3 cp "$W/bv" "s3://$BUCKET/$BIGV" >/dev/null
awsenv s3 cp "$W/v" "s3://$BUCKET/$VICTIM" >/dev/null
"$CASSETTE" keygen > "$W/k2"
CASSETTE_KEY_FILE=$W/k2 cas 1 restore-node --backup-name b2 --target-dir "$W/t2"; err_has "wrong key"
ok "a tampered S3 object and a wrong key fail the restore and leave nothing"

# ---- credentials and servers that fail -------------------------------------------
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = wrong\n' "$CASSETTE_TEST_S3_KEY_ID" > "$W/badcreds"
chmod 600 "$W/badcreds"
S3_KEYFILE=$W/badcreds s3_config "$W/bad.ini" "$CASSETTE_TEST_S3_PORT" "key_secret_file = $W/k"
SECONDS=0
CFG=$W/bad.ini cas 1 backup-node --backup-name x1; err_has "403"; err_has "credentials"; one_line_err
[ $SECONDS -lt 30 ] || fail "a wrong secret was retried instead of failing at once"
awsenv s3 ls --recursive "s3://$BUCKET/e2e/node1/x1/" > "$W/x1" || true
[ ! -s "$W/x1" ] || fail "a refused backup wrote objects"
ok "a wrong secret fails at once with the server's message"

# a server that answers 503 for a while is ridden out by retries
PROXY_LOG=$W/proxy.log
start_proxy() { # start_proxy ARGS...: sets PROXY_PORT and PROXY_PID
	coproc PROXY { exec python3 "$SRC/tests/support/fault_proxy.py" --target "127.0.0.1:$CASSETTE_TEST_S3_PORT" --log "$PROXY_LOG" "$@"; }
	read -r PROXY_PORT <&"${PROXY[0]}"
	PROXY_PID=$PROXY_PID
	[ -n "$PROXY_PORT" ] || fail "fault proxy did not start"
}
stop_proxy() { kill "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; }
mk "$D/ks1/$T2" 4 7000000
start_proxy --fail-first 4
s3_config "$W/flaky.ini" "$PROXY_PORT" "key_secret_file = $W/k"
CFG=$W/flaky.ini cas 0 backup-node --backup-name b3
stop_proxy
[ "$(grep -c ' fail' "$PROXY_LOG")" -ge 4 ] || { cat "$PROXY_LOG"; fail "the proxy did not fail 4 requests"; }
cas 0 restore-node --backup-name b3 --target-dir "$W/r3"
diff <(sstable_digest "$D") <(sstable_digest "$W/r3") || fail "restore of b3 differs"
ok "503 SlowDown for a while is ridden out by retries"

# a server that stays down fails the backup cleanly: no manifest, no object
: > "$PROXY_LOG"
start_proxy --fail-all --status 500 --code InternalError
s3_config "$W/down.ini" "$PROXY_PORT" "key_secret_file = $W/k"
CFG=$W/down.ini cas 1 backup-node --backup-name b4; err_has "gave up after"; err_has "HTTP 500"; one_line_err
stop_proxy
awsenv s3 ls --recursive "s3://$BUCKET/e2e/" > "$W/ls4"
grep -q "/b4/" "$W/ls4" && fail "a backup against a dead server wrote something"
ok "a server that stays down fails the backup with no manifest written"

# failing in the middle of a multipart upload: the upload is aborted and
# every object this run stored is removed
mk "$D/ks1/$T1" 5 $((18 * 1024 * 1024))
BEFORE=$(awsenv s3 ls --recursive "s3://$BUCKET/e2e/" | awk '{print $4}' | sort)
CASSETTE_STORAGE_FAULTS=upload_part:2:eio cas 1 backup-node --backup-name b5
err_has "injected fault"
AFTER=$(awsenv s3 ls --recursive "s3://$BUCKET/e2e/" | awk '{print $4}' | sort)
[ "$BEFORE" = "$AFTER" ] || { diff <(echo "$BEFORE") <(echo "$AFTER"); fail "a failed backup left objects in the bucket"; }
awsenv s3api list-multipart-uploads --bucket "$BUCKET" --output text > "$W/mpu"
grep -q UPLOADS "$W/mpu" && { cat "$W/mpu"; fail "the failed multipart upload was not aborted"; }
[ -z "$(ls -A "$W/enctmp" | grep -v '\.lock$')" ] || fail "temp files left behind"
cas 0 backup-node --backup-name b5
ok "a failure mid-multipart aborts the upload and removes what the run stored"

# an object no manifest references (a crashed run's) sits on a large new
# file's key: it is never overwritten; the file goes to the variant key
mk "$D/ks1/$T1" 6 $((9 * 1024 * 1024))
echo "left by a crashed run" > "$W/junk"
awsenv s3 cp "$W/junk" "s3://$BUCKET/e2e/node1/data/ks1/$T1/nb-6-big-Data.db" >/dev/null
cas 0 backup-node --backup-name b6
awsenv s3 cp "s3://$BUCKET/e2e/node1/data/ks1/$T1/nb-6-big-Data.db" "$W/junk.back" >/dev/null
cmp -s "$W/junk" "$W/junk.back" || fail "an unreferenced object was overwritten"
awsenv s3api head-object --bucket "$BUCKET" --key "e2e/node1/data/ks1/$T1/@b6/nb-6-big-Data.db" >/dev/null || fail "no variant object"
cas 0 restore-node --backup-name b6 --target-dir "$W/r6" --table t1
cmp "$W/r6/ks1/$T1/nb-6-big-Data.db" "$D/ks1/$T1/nb-6-big-Data.db" || fail "variant restore differs"
ok "a taken key is never overwritten by a multipart upload; the variant key is used"

echo "all $CHECKS checks passed"
