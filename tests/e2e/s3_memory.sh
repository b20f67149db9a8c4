#!/usr/bin/env bash
# Memory stays bounded on S3 with many workers: against a real radosgw
# (tests/support/rgw.sh run), with concurrent_transfers = 32 (the most
# workers a restore runs), an encrypted backup over https and restores over
# https and over plain http of a node that holds several multipart objects
# and some thousands of small files each peak under 64 MiB RSS, and every
# restore is byte-identical.
#
# Peak RSS comes from GNU time (%M, KiB), as in memory.sh. Under
# AddressSanitizer it means nothing (shadow memory, quarantine), so that build
# skips. Sizes are kept small enough for radosgw's 1 GiB memstore and a run
# of a minute or two; S3_MEMORY_WORKERS, S3_MEMORY_BIG (objects),
# S3_MEMORY_BIG_BYTES and S3_MEMORY_FILES change them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rss.sh"

WORKERS=${S3_MEMORY_WORKERS:-32}
NBIG=${S3_MEMORY_BIG:-20}
BIG=${S3_MEMORY_BIG_BYTES:-$((20 * 1024 * 1024 + 4321))}   # 3 parts of <= 8 MiB
FILES=${S3_MEMORY_FILES:-4000}

: "${CASSETTE_TEST_S3_ENDPOINT:?run me through tests/support/rgw.sh run --}"
AWS=/usr/bin/aws
[ -x "$AWS" ] || fail "awscli ($AWS) is missing: scripts/deps.sh installs it"
BUCKET=$CASSETTE_TEST_S3_BUCKET
awsenv() {
	AWS_ACCESS_KEY_ID=$CASSETTE_TEST_S3_KEY_ID AWS_SECRET_ACCESS_KEY=$CASSETTE_TEST_S3_SECRET \
	AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
		"$AWS" --endpoint-url "$CASSETTE_TEST_S3_ENDPOINT" "$@"
}

# ---- the node: small files over 40 tables, and $NBIG multipart-sized Data.db ----
D=$W/data
python3 "$SRC/tests/e2e/gen_node.py" "$D" "$FILES" 40
python3 - "$D/ks_big" "$NBIG" "$BIG" <<'PY'
import os, sys
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
block = os.urandom(1 << 20)
for i in range(n):
    d = os.path.join(root, "big%d-%032x" % (i % 4, 0xb16 + i % 4))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "nb-%d-big-Data.db" % (i + 1)), "wb") as f:
        left, k = size, 0
        while left > 0:
            # a distinct 16-byte header per file and MiB: a part put in the
            # wrong place, or a wrong object, cannot restore identical bytes
            chunk = i.to_bytes(8, "big") + k.to_bytes(8, "big") + block[16:]
            f.write(chunk[:left])
            left -= len(chunk)
            k += 1
PY
TOTAL=$((FILES + NBIG))
[ "$(find "$D" -type f | wc -l)" = "$TOTAL" ] || fail "the generators did not write $TOTAL files"

"$CASSETTE" keygen > "$W/k"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
chmod 600 "$W/creds"
# s3_config FILE PORT SECURE [EXTRA...]
s3_config() {
	local file=$1 port=$2 secure=$3; shift 3
	printf '%s\n' "[cassandra]" "data_dir = $D" "snapshot_mode = hardlink" "[storage]" \
		"storage_provider = s3" "host = 127.0.0.1" "port = $port" "secure = $secure" \
		"bucket_name = $BUCKET" "prefix = e2e-mem" "fqdn = node1" "key_file = $W/creds" \
		"key_secret_file = $W/k" "encryption_tmp_dir = $W/enctmp" "state_dir = $W/state" \
		"multi_part_upload_threshold = 8MB" "concurrent_transfers = $WORKERS" "$@" > "$file"
}
# https, as README recommends (a TLS connection per worker costs memory too),
# and plain http (every body with a Content-MD5), on the same objects
s3_config "$W/https.ini" "$CASSETTE_TEST_S3_TLS_PORT" true "ca_file = $CASSETTE_TEST_S3_CA"
s3_config "$W/http.ini" "$CASSETTE_TEST_S3_PORT" false

# ---- backup, over https -------------------------------------------------------------
CFG=$W/https.ini
UNDER=1
peak backup-https backup-node --backup-name s1 --mode full || UNDER=0
out_has "$TOTAL files"
awsenv s3 cp "s3://$BUCKET/e2e-mem/node1/s1/meta/manifest.json" "$W/m.json" >/dev/null
python3 - "$W/m.json" "$TOTAL" "$NBIG" <<'PY' || fail "the manifest does not hold the multipart objects expected"
import json, sys
m, total, nbig = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
objs = [o for t in m for o in t["objects"]]
assert len(objs) == total, len(objs)
multi = [o for o in objs if "-" in o["MD5"]]   # a multipart ETag: <md5>-<parts>
assert len(multi) == nbig and all("/ks_big/" in o["path"] for o in multi), [o["path"] for o in multi]
PY
awsenv s3api list-multipart-uploads --bucket "$BUCKET" --output text > "$W/mpu"
grep -q UPLOADS "$W/mpu" && fail "a multipart upload was left open"
[ "$UNDER" = 0 ] || ok "an encrypted backup of $TOTAL files ($NBIG multipart) over https with $WORKERS transfers stays under 64 MiB"

# ---- restores, over https and over http ------------------------------------------------
for proto in https http; do
	CFG=$W/$proto.ini
	UNDER=1
	peak "restore-$proto" restore-node --backup-name s1 --target-dir "$W/restored" || UNDER=0
	diff -r -x snapshots "$D" "$W/restored" >/dev/null || fail "the restore over $proto differs from the node"
	[ "$(find "$W/restored" -type f | wc -l)" = "$TOTAL" ] || fail "the restore over $proto does not hold $TOTAL files"
	rm -rf "$W/restored"
	[ "$UNDER" = 0 ] || ok "a restore of $TOTAL files ($NBIG multipart) over $proto with $WORKERS workers stays under 64 MiB and is byte-identical"
done

[ -z "$OVER" ] || fail "peak RSS not under 64 MiB:$OVER"
echo "all $CHECKS checks passed"
