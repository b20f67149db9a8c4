#!/usr/bin/env bash
# A backup killed with SIGKILL at many points, then rerun: the rerun resumes
# it. For each kill point (every storage call of a clean run, by op and
# count: before it reaches the store and right after it answered):
#   - no finished marker and no manifest pointing at a missing object;
#   - the same command finishes the backup, which restores byte for byte;
#   - no object was uploaded twice (each data key put at most once over both
#     runs) and storage holds no object that no manifest references;
#   - nothing left: no temp files, no unfinished uploads, no snapshot.
# RESUME_VARIANT=local (default) or s3 (through tests/support/rgw.sh run).
. "$(dirname "$0")/lib.sh"
VARIANT=${RESUME_VARIANT:-local}
MIB=1048576
T1=t1-0123456789abcdef0123456789abcdef
T2=t2-fedcba9876543210fedcba9876543210
D=$W/data
mk() { # mk DIR GEN DATA_SIZE
	mkdir -p "$1"
	head -c "$3" /dev/urandom > "$1/nb-$2-big-Data.db"
	head -c 3000 /dev/urandom > "$1/nb-$2-big-Index.db"
	printf 'Data.db\nIndex.db\nTOC.txt\n' > "$1/nb-$2-big-TOC.txt"
}
mk "$D/ks1/$T1" 1 $((9 * MIB + 4321))   # multipart above 6MB: 2 parts
mk "$D/ks1/$T1" 2 100000
mk "$D/ks1/$T2" 1 0
"$CASSETTE" keygen > "$W/k"
chmod 600 "$W/k"

node_prefix=""
case $VARIANT in
local)
	store_cfg() { printf '%s\n' "storage_provider = local" "base_path = $W/store/$1" "prefix = p"; }
	# every object under the node's folders: "key size"
	objects() { (cd "$W/store/$1" 2>/dev/null && find p -type f -printf '%p %s\n' | LC_ALL=C sort) || true; }
	leftovers() { (cd "$W/store/$1" 2>/dev/null && find . -name '*.cassette-tmp-*') || true; }
	store_cat() { cat "$W/store/$1/$2" 2>/dev/null; }
	;;
s3)
	: "${CASSETTE_TEST_S3_ENDPOINT:?run me through tests/support/rgw.sh run --}"
	export AWS_ACCESS_KEY_ID=$CASSETTE_TEST_S3_KEY_ID AWS_SECRET_ACCESS_KEY=$CASSETTE_TEST_S3_SECRET
	export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
	aws_() { /usr/bin/aws --endpoint-url "$CASSETTE_TEST_S3_ENDPOINT" "$@"; }
	printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
		"$CASSETTE_TEST_S3_KEY_ID" "$CASSETTE_TEST_S3_SECRET" > "$W/creds"
	chmod 600 "$W/creds"
	store_cfg() {
		printf '%s\n' "storage_provider = s3" "host = 127.0.0.1" "port = $CASSETTE_TEST_S3_PORT" \
			"secure = false" "bucket_name = $CASSETTE_TEST_S3_BUCKET" "prefix = resume/$1" \
			"key_file = $W/creds"
	}
	objects() {
		aws_ s3api list-objects-v2 --bucket "$CASSETTE_TEST_S3_BUCKET" --prefix "resume/$1/" \
			--query 'Contents[].[Key,Size]' --output text | grep -v '^None$' | sed 's/\t/ /' |
			sed "s#^resume/$1/#p/#" | LC_ALL=C sort || true
	}
	leftovers() {
		aws_ s3api list-multipart-uploads --bucket "$CASSETTE_TEST_S3_BUCKET" --prefix "resume/$1/" \
			--query 'Uploads[].Key' --output text | grep -v '^None$' || true
	}
	store_cat() { aws_ s3 cp "s3://$CASSETTE_TEST_S3_BUCKET/resume/$1/${2#p/}" - 2>/dev/null; }
	;;
*) fail "unknown RESUME_VARIANT '$VARIANT'" ;;
esac

# config for one trial: its own store, state and temp dirs
trial_cfg() { # trial_cfg NAME
	local c=$W/$1.ini
	mkdir -p "$W/state-$1" "$W/tmp-$1"
	{
		printf '%s\n' "[cassandra]" "data_dir = $D" "snapshot_mode = hardlink" "[storage]"
		store_cfg "$1"
		printf '%s\n' "fqdn = node1" "key_secret_file = $W/k" "encryption_tmp_dir = $W/tmp-$1" \
			"state_dir = $W/state-$1" "multi_part_upload_threshold = 6MB" "concurrent_transfers = 2"
	} > "$c"
	echo "$c"
}

# every data object key the store holds
data_keys() { objects "$1" | awk '{print $1}' | grep -E '^p/node1/(data/|[^/]+/data/)' | grep -v '\.cassette-tmp-' || true; }
# a killed run's manifest, if it stored one, names only stored objects
check_manifest() { # check_manifest TRIAL
	local m
	m=$(store_cat "$1" p/node1/b1/meta/manifest.json) || return 0
	python3 - "$m" "$(objects "$1")" <<'EOF'
import json, sys
stored = {l.split()[0] for l in sys.argv[2].splitlines() if l}
for t in json.loads(sys.argv[1]):
    for o in t["objects"]:
        k = "p/" + o["path"].split("/", 2)[2] if o["path"].startswith("resume/") else o["path"]
        assert k in stored, "manifest names missing object " + k
EOF
}

# A clean run, traced: the storage calls to kill at.
CFG=$(trial_cfg clean)
CASSETTE_STORAGE_TRACE=$W/clean.trace "$CASSETTE" --config "$CFG" backup-node --backup-name b1 \
	>/dev/null 2>&1 || fail "the clean backup failed"
# "op:N" for each call of the clean run, N counting that op's calls
mapfile -t POINTS < <(awk '{n[$1]++; print $1 ":" n[$1]}' "$W/clean.trace")
# the call that writes the finished marker (0-based)
FIN=$(awk '$2 ~ /index\/backup_index\/b1\/finished_/ {print NR - 1}' "$W/clean.trace")
[ -n "$FIN" ] || fail "the clean run wrote no finished marker"
[ "${#POINTS[@]}" -gt 10 ] || fail "the clean run made only ${#POINTS[@]} storage calls"
ok "a clean run makes ${#POINTS[@]} storage calls to kill at"

# Every call on local storage; on S3 (a radosgw round trip per call) every
# multipart call and every fourth other one.
trial=0
for ((i = 0; i < ${#POINTS[@]}; i++)); do
	case "$VARIANT:${POINTS[$i]}" in
	s3:upload_*) ;;
	s3:*) [ $((i % 4)) -eq 0 ] || continue ;;
	esac
	for kind in kill killafter; do
		point=${POINTS[$i]}
		trial=$((trial + 1))
		t=t$trial
		CFG=$(trial_cfg "$t")
		got=0
		CASSETTE_STORAGE_TRACE=$W/$t.crash CASSETTE_STORAGE_FAULTS="$point:$kind" \
			"$CASSETTE" --config "$CFG" backup-node --backup-name b1 >"$W/$t.out1" 2>&1 || got=$?
		[ "$got" = 137 ] || { cat "$W/$t.out1"; fail "$point:$kind: the first run was not killed (exit $got)"; }
		# killed: a manifest, if any, names stored objects only; no finished
		# marker unless the kill came right after writing it, the last call
		check_manifest "$t" || fail "$point:$kind: the killed run's manifest names a missing object"
		objects "$t" | awk '{print $1}' | LC_ALL=C sort > "$W/$t.after-crash"
		: > "$W/$t.resume"
		if grep -q 'index/backup_index/b1/finished_' "$W/$t.after-crash"; then
			{ [ "$kind" = killafter ] && [ "$i" -ge "$FIN" ]; } || [ "$i" -gt "$FIN" ] ||
				fail "$point:$kind: a killed run left a finished marker"
		else
			# the rerun resumes and finishes it
			run 0 env CASSETTE_STORAGE_TRACE="$W/$t.resume" "$CASSETTE" --config "$CFG" \
				backup-node --backup-name b1
			cp "$W/out" "$W/$t.out2"; cp "$W/err" "$W/$t.err2"
			out_has "backup b1 of node node1 complete"
		fi
		run 1 "$CASSETTE" --config "$CFG" backup-node --backup-name b1
		err_has "already finished"
		rm -rf "$W/r"
		run 0 "$CASSETTE" --config "$CFG" restore-node --backup-name b1 --target-dir "$W/r"
		diff <(sstable_digest "$D") <(sstable_digest "$W/r") >/dev/null ||
			fail "$point:$kind: the resumed backup does not restore byte for byte"
		# nothing uploaded twice: the rerun puts no key that the killed
		# run had stored (a put killed midway stored nothing), and puts no
		# second object for a file (the count below)
		again=$(awk '$1 == "put_file" || $1 == "upload_commit" {print $2}' "$W/$t.resume" |
			sed "s#^resume/$t/#p/#" | { grep -E '^p/node1/(data|b1/data)/' || true; } | LC_ALL=C sort |
			comm -12 - "$W/$t.after-crash")
		[ -z "$again" ] || fail "$point:$kind: uploaded again: $again"
		# no orphan: one data object per file
		stored=$(data_keys "$t" | wc -l)
		[ "$stored" -eq "$(find "$D" -type f | wc -l)" ] ||
			fail "$point:$kind: storage holds $stored data objects for $(find "$D" -type f | wc -l) files"
		[ -z "$(leftovers "$t")" ] || fail "$point:$kind: left: $(leftovers "$t")"
		[ -z "$(ls -A "$W/tmp-$t/cassette-node1.work" 2>/dev/null)" ] || fail "$point:$kind: temp files left"
		[ -z "$(find "$D" -path '*/snapshots/*' -print -quit)" ] || fail "$point:$kind: a snapshot was left"
		[ ! -e "$W/state-$t/node1.journal" ] || fail "$point:$kind: the journal was left"
	done
done
ok "killed at $trial points (before and after each call chosen): every rerun resumed, restored byte for byte, uploaded nothing twice, left nothing"

# The resumed run says what it kept: every data object the killed run had
# stored (a put in flight when it died stored nothing).
CFG=$(trial_cfg kept)
got=0
CASSETTE_STORAGE_FAULTS="put_file:3:killafter" "$CASSETTE" --config "$CFG" backup-node --backup-name b1 \
	>/dev/null 2>&1 || got=$?
[ "$got" = 137 ] || fail "not killed"
KEPT=$(data_keys kept | wc -l)
[ "$KEPT" -ge 1 ] || fail "the killed run stored no data object"
cas 0 backup-node --backup-name b1
err_has "resuming backup b1 of node node1"
out_has "resumed: $KEPT of the new files"
cas 0 list-backups; out_has "b1"
ok "a resumed run keeps and names the $KEPT objects the killed run stored"


# A manifest stored by a killed run is listed by no index, so nothing kept
# its objects meanwhile: when one is gone (a purge collected it), the rerun
# drops that manifest and takes the backup again, instead of completing an
# index over a missing object.
if [ "$VARIANT" = local ]; then
	CFG=$(trial_cfg orphan)
	MAN_PUT=$(awk '$1 == "put_file" {n++} $1 == "put_file" && $2 ~ /meta\/manifest.json$/ {print n}' "$W/clean.trace")
	got=0
	CASSETTE_STORAGE_FAULTS="put_file:$MAN_PUT:killafter" "$CASSETTE" --config "$CFG" backup-node \
		--backup-name b1 >/dev/null 2>&1 || got=$?
	[ "$got" = 137 ] || fail "not killed after the manifest"
	[ -e "$W/store/orphan/p/node1/b1/meta/manifest.json" ] || fail "the killed run stored no manifest"
	rm "$W/store/orphan/p/node1/data/ks1/$T1/nb-2-big-Data.db"
	cas 0 backup-node --backup-name b1
	err_has "the manifest is dropped and the backup taken again"
	rm -rf "$W/r"
	cas 0 restore-node --backup-name b1 --target-dir "$W/r"
	diff <(sstable_digest "$D") <(sstable_digest "$W/r") >/dev/null || fail "the retaken backup does not restore"
	ok "a killed run's manifest naming a collected object is dropped, and the backup taken again"
fi

echo "all $CHECKS checks passed"
