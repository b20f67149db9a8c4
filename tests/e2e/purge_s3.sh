#!/usr/bin/env bash
# purge and delete-backup on a real S3 server (radosgw, started by
# tests/support/rgw.sh run): ages come from ListObjectsV2's LastModified, and
# awscli checks the store independently.
. "$(dirname "$0")/lib.sh"
: "${CASSETTE_TEST_S3_ENDPOINT:?run me through tests/support/rgw.sh run --}"
unset CASSETTE_STORAGE_FAULTS CASSETTE_STORAGE_TRACE
BUCKET=$CASSETTE_TEST_S3_BUCKET
awsenv() { AWS_ACCESS_KEY_ID=$CASSETTE_TEST_S3_KEY_ID AWS_SECRET_ACCESS_KEY=$CASSETTE_TEST_S3_SECRET \
	AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	/usr/bin/aws --endpoint-url "$CASSETTE_TEST_S3_ENDPOINT" "$@"; }

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
sstable() { mkdir -p "$D/ks1/$T1"; for c in Data Index; do head -c $((2000 + $1)) /dev/urandom > "$D/ks1/$T1/nb-$1-big-$c.db"; done; }
drop() { rm -f "$D/ks1/$T1"/nb-$1-big-*; }
"$CASSETTE" keygen > "$W/k"
printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
	"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
chmod 600 "$W/creds"
s3_config() { # s3_config FILE EXTRA...
	local file=$1; shift
	printf '%s\n' "[cassandra]" "data_dir = $D" "snapshot_mode = hardlink" "[storage]" \
		"storage_provider = s3" "host = 127.0.0.1" "port = $CASSETTE_TEST_S3_PORT" "secure = false" \
		"bucket_name = $BUCKET" "prefix = pg" "fqdn = node1" "key_file = $W/creds" \
		"key_secret_file = $W/k" "encryption_tmp_dir = $W/enctmp" "state_dir = $W/state" "$@" > "$file"
}
s3_config "$W/g0.ini" "backup_grace_period_in_days = 0"
s3_config "$W/g10.ini" "max_backup_count = 1"
s3_config "$W/c1.ini" "backup_grace_period_in_days = 0" "max_backup_count = 1"
CFG=$W/g0.ini
POOL=pg/node1/data/ks1/$T1

backup() { cas 0 backup-node --backup-name "$1"; sstable_digest "$D" > "$W/digest-$1"; }
listing() { awsenv s3api list-objects-v2 --bucket "$BUCKET" --prefix pg/ --query 'Contents[].[Key,Size,ETag]' --output text | LC_ALL=C sort; }
# Each listed backup restores byte for byte, and the pool holds exactly what
# the remaining manifests reference.
check_all() {
	local b names files=()
	cas 0 list-backups --output json
	names=$(python3 -c 'import json,sys; print(" ".join(b["name"] for b in json.load(open(sys.argv[1]))))' "$W/out")
	for b in $names; do
		rm -rf "$W/r"
		cas 0 restore-node --backup-name "$b" --target-dir "$W/r"
		[ "$(sstable_digest "$W/r")" = "$(cat "$W/digest-$b")" ] || fail "backup $b does not restore byte for byte after $1"
		awsenv s3 cp "s3://$BUCKET/pg/node1/$b/meta/manifest.json" "$W/m-$b.json" >/dev/null
		files+=("$W/m-$b.json")
	done
	listing > "$W/ls"
	python3 - "$W/ls" "${files[@]}" <<'PY' || fail "after $1: the pool is not exactly what the manifests reference"
import json, sys
pool = {l.split("\t")[0] for l in open(sys.argv[1]) if l.startswith("pg/node1/data/")}
refs = set()
for f in sys.argv[2:]:
    refs |= {o["path"] for t in json.load(open(f)) for o in t["objects"]}
assert pool == refs, (sorted(refs - pool), sorted(pool - refs))
PY
}

sstable 1; backup b1
drop 1; sstable 2; backup b2
sstable 3; backup b3
check_all "three backups"

listing > "$W/before"
CFG=$W/c1.ini cas 0 purge --dry-run
out_has "would remove 2 backups"
listing > "$W/after"
cmp -s "$W/before" "$W/after" || { diff "$W/before" "$W/after"; fail "purge --dry-run changed the bucket"; }
CFG=$W/c1.ini cas 0 purge
out_has "removed backup b1 of node node1 (beyond max_backup_count = 1)"
out_has "removed backup b2"
grep -q "pg/index/backup_index/b1/\|pg/node1/b1/\|pg/node1/b2/" "$W/after" || fail "listing helper saw nothing"
listing | grep -q "pg/index/backup_index/b[12]/\|pg/node1/b[12]/" && fail "b1/b2 objects left in the bucket"
check_all "purge by count"
ok "purge by count on radosgw: --dry-run changes nothing; the real run leaves exactly what b3 references"

# LastModified is the age: a fresh unreferenced object stays for 10 days...
awsenv s3 cp "$W/k" "s3://$BUCKET/$POOL/nb-9-big-Data.db" >/dev/null
CFG=$W/g10.ini cas 0 purge
out_has "kept 1 younger than backup_grace_period_in_days (10)"
listing | grep -q "$POOL/nb-9-big-Data.db" || fail "a young object was collected"
# ... and goes with a grace period of 0.
cas 0 purge
out_has "garbage-collected 1 unreferenced objects"
listing | grep -q "$POOL/nb-9-big-Data.db" && fail "an unreferenced object survived a grace period of 0"
ok "the grace period on radosgw follows the listing's LastModified"

sstable 4; backup b4
drop 2; backup b5
CASSETTE_STORAGE_FAULTS=delete:2+:eio CFG=$W/c1.ini cas 1 purge
cas 0 list-backups
grep -qE '^b3 ' "$W/out" && fail "list-backups shows a backup being deleted"
CFG=$W/c1.ini cas 0 purge
out_has "removed backup b3 of node node1 (an earlier removal was interrupted)"
out_has "removed backup b4"
check_all "an interrupted purge and its rerun"
cas 0 delete-backup --backup-name b5
out_has "delete-backup: removed 1 backup"
cas 0 list-backups
out_has "no backups"
[ -z "$(listing | grep '^pg/node1/')" ] || { listing; fail "objects of node1 left after its last backup was deleted"; }
ok "an interrupted purge reruns to the end; delete-backup of the last backup leaves nothing of the node"
echo "all $CHECKS checks passed"
