#!/usr/bin/env bash
# A throw-away Ceph radosgw on 127.0.0.1 for the S3 tests: one monitor, one
# OSD on memstore (objects live in RAM), cephx off. It holds the user
# AKIDTEST / SECRETTEST and one bucket ($RGW_BUCKET, default "cassette").
#
#   rgw.sh start DIR PORT [MON_PORT]   start it; prints the endpoint
#                                      (http://127.0.0.1:PORT) on stdout
#   rgw.sh stop DIR                    stop what start began (by pid file)
#   rgw.sh run -- CMD [ARG...]         start one on free ports in a fresh
#                                      temp dir, run CMD with the endpoint in
#                                      the environment, stop it (also when
#                                      CMD fails or we are killed); exits
#                                      with CMD's status
#
# run exports CASSETTE_TEST_S3_ENDPOINT, CASSETTE_TEST_S3_HOST,
# CASSETTE_TEST_S3_PORT, CASSETTE_TEST_S3_BUCKET, CASSETTE_TEST_S3_KEY_ID,
# CASSETTE_TEST_S3_SECRET and CASSETTE_TEST_S3_DIR, and for https on the
# next port but one CASSETTE_TEST_S3_TLS_PORT with CASSETTE_TEST_S3_CA (a
# self-signed certificate for 127.0.0.1 to trust). With CASSETTE_SKIP_S3=1 it
# prints SKIP and exits 77 (for developers without Ceph); without radosgw it
# fails. MON_PORT defaults to PORT+1. A DIR that holds a running cluster, or
# anything not made by this script, is refused; so is a busy port.
set -euo pipefail

ACCESS_KEY=AKIDTEST
SECRET_KEY=SECRETTEST
BUCKET=${RGW_BUCKET:-cassette}
MARKER=.cassette-rgw
SELF=$(realpath "$0")

die() { echo "rgw.sh: $*" >&2; exit 1; }

need_tools() {
	local t missing=()
	for t in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool uuidgen curl; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	die "missing ${missing[*]}: the S3 tests need a local radosgw (run scripts/deps.sh," \
	    "or apt-get install ceph-mon ceph-osd radosgw ceph-common uuid-runtime);" \
	    "set CASSETTE_SKIP_S3=1 to skip them"
}

# 0 when something accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_port() {
	case "$1" in '' | *[!0-9]*) die "bad port '$1'" ;; esac
	if [ "$1" -lt 1024 ] || [ "$1" -gt 65535 ]; then die "port $1 out of range 1024-65535"; fi
	! port_busy "$1" || die "port $1 on 127.0.0.1 is already in use"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

show_logs() {
	local f
	for f in "$1"/log/*.log; do
		[ -f "$f" ] || continue
		echo "--- tail of $f" >&2
		tail -n 15 "$f" >&2
	done
}

write_conf() {
	local d=$1 port=$2 monport=$3 fsid=$4 tlsport=$5
	cat >"$d/ceph.conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$monport
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
# Without these radosgw cannot reach the monitor (it retries for 300 s).
ms mon client mode = crc
ms client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
run dir = $d/run
log file = $d/log/\$name.log
admin socket = $d/run/\$name.asok
pid file = $d/run/\$name.pid
keyring = $d/keyring
[mon]
mon data = $d/mon/\$id
[osd]
osd data = $d/osd\$id
osd objectstore = memstore
memstore device bytes = 1073741824
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:$port ssl_endpoint=127.0.0.1:$tlsport ssl_certificate=$d/tls/cert.pem ssl_private_key=$d/tls/key.pem
rgw data = $d/rgw
# Virtual-host style: http://BUCKET.localhost:PORT/ (curl resolves
# *.localhost itself); other Host names stay path style.
rgw dns name = localhost
EOF
}

# A signed request with curl's own SigV4 (x-amz-content-sha256 by hand, as
# curl 7.88 does not add it).
s3_curl() {
	curl -sS -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:us-east-1:s3" \
		--user "$ACCESS_KEY:$SECRET_KEY" \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		"$@"
}

cmd_start() {
	local d port monport tlsport fsid ouid id code i
	[ $# -ge 2 ] || die "usage: rgw.sh start DIR PORT [MON_PORT]"
	need_tools
	d=$(realpath -m "$1"); port=$2
	case "$port" in '' | *[!0-9]*) die "bad port '$port'" ;; esac
	monport=${3:-$((port + 1))}
	tlsport=$((port + 2))
	for i in "$d"/run/*.pid; do
		! alive "$i" || die "$d already runs a cluster ($(basename "$i" .pid) pid $(cat "$i")); run 'rgw.sh stop $d' first"
	done
	if [ -e "$d" ] && [ -n "$(ls -A "$d")" ] && [ ! -e "$d/$MARKER" ]; then
		die "$d is not empty and was not made by rgw.sh; refusing to wipe it"
	fi
	check_port "$port"
	check_port "$monport"
	check_port "$tlsport"
	[ "$port" != "$monport" ] || die "PORT and MON_PORT must differ"
	rm -rf "$d"
	mkdir -p "$d"/{mon,osd0,run,log,rgw,tls}
	touch "$d/$MARKER"
	# https beside http, with a throw-away self-signed certificate for
	# 127.0.0.1 that is also the CA file clients trust (tls/cert.pem).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 7 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$d/tls/key.pem" -out "$d/tls/cert.pem" 2>/dev/null || die "openssl req failed"
	fsid=$(uuidgen)
	write_conf "$d" "$port" "$monport" "$fsid" "$tlsport"
	cd "$d"
	ceph-authtool --create-keyring keyring --gen-key -n mon. --cap mon 'allow *' >/dev/null
	monmaptool --create --clobber --fsid "$fsid" --addv a "[v2:127.0.0.1:$monport]" monmap >/dev/null
	ceph-mon -c ceph.conf --mkfs -i a --monmap monmap --keyring keyring
	ceph-mon -c ceph.conf -i a || { show_logs "$d"; die "ceph-mon did not start"; }
	ouid=$(uuidgen)
	id=$(timeout 30 ceph -c ceph.conf osd new "$ouid") || { show_logs "$d"; die "the monitor did not answer"; }
	ceph-osd -c ceph.conf -i "$id" --mkfs --osd-uuid "$ouid" >/dev/null 2>&1 ||
		{ show_logs "$d"; die "ceph-osd --mkfs failed"; }
	ceph-osd -c ceph.conf -i "$id" >/dev/null 2>&1 || { show_logs "$d"; die "ceph-osd did not start"; }
	timeout 60 radosgw-admin -c ceph.conf user create --uid=test --display-name=test \
		--access-key="$ACCESS_KEY" --secret="$SECRET_KEY" >/dev/null ||
		{ show_logs "$d"; die "radosgw-admin user create failed"; }
	radosgw -c ceph.conf -n client.rgw || { show_logs "$d"; die "radosgw did not start"; }
	code=000
	for i in $(seq 1 240); do
		code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/" || true)
		[ "$code" = 200 ] && break
		alive "$d/run/client.rgw.pid" || break
		sleep 0.25
	done
	[ "$code" = 200 ] || { show_logs "$d"; die "radosgw did not answer on 127.0.0.1:$port"; }
	code=$(s3_curl -X PUT "http://127.0.0.1:$port/$BUCKET")
	[ "$code" = 200 ] || { show_logs "$d"; die "creating bucket $BUCKET failed: HTTP $code"; }
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$d/tls/cert.pem" "https://127.0.0.1:$tlsport/" || true)
	[ "$code" = 200 ] || { show_logs "$d"; die "radosgw did not answer https on 127.0.0.1:$tlsport"; }
	echo "http://127.0.0.1:$port"
}

cmd_stop() {
	local d p f pid i
	[ $# -ge 1 ] || die "usage: rgw.sh stop DIR"
	d=$(realpath -m "$1")
	for p in client.rgw osd.0 mon.a; do
		f="$d/run/$p.pid"
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill "$pid" 2>/dev/null || continue
		for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
		kill -9 "$pid" 2>/dev/null || true
	done
}

# Three free ports next to each other (http, monitor, https), starting from a PID-derived base so that
# parallel runs start apart. They stay below Linux's ephemeral range (32768 and up by default), where
# the client sockets of the tests running beside us come and go: a port seen free there can be taken
# by an outgoing connection before radosgw binds it.
pick_ports() {
	local base i p
	base=$((10000 + ($$ * 7 + ${1:-0} * 131) % 20000))
	for i in $(seq 0 200); do
		p=$((base + i * 3))
		port_busy "$p" || port_busy "$((p + 1))" || port_busy "$((p + 2))" || { echo "$p"; return 0; }
	done
	die "no free port pair found"
}

cmd_run() {
	local d port attempt rc=0 out
	[ "${1:-}" = "--" ] && shift
	[ $# -ge 1 ] || die "usage: rgw.sh run -- CMD [ARG...]"
	if [ "${CASSETTE_SKIP_S3:-}" = 1 ]; then
		echo "SKIP: CASSETTE_SKIP_S3=1 (the S3 tests need a local radosgw)"
		exit 77
	fi
	need_tools
	d=$(mktemp -d "${TMPDIR:-/tmp}/cst-rgw.XXXXXX")
	touch "$d/$MARKER"
	# shellcheck disable=SC2064
	trap "'$SELF' stop '$d'; [ \"\${CASSETTE_KEEP_RGW:-}\" = 1 ] || rm -rf '$d'" EXIT
	trap 'exit 130' INT TERM HUP
	# The daemons fork away from us: if we are killed outright (SIGKILL
	# from a test timeout) no trap runs, so a detached watchdog stops them
	# once we are gone.
	(setsid bash -c "while kill -0 $$ 2>/dev/null; do sleep 1; done
		'$SELF' stop '$d'; [ \"\${CASSETTE_KEEP_RGW:-}\" = 1 ] || rm -rf '$d'" \
		</dev/null >/dev/null 2>&1 &)
	for attempt in 1 2 3; do
		port=$(pick_ports "$attempt")
		if out=$(cmd_start_sub "$d" "$port"); then
			out=${out##*$'\n'} # the endpoint is the last line
			break
		fi
		cmd_stop "$d"
		[ "$attempt" -lt 3 ] || die "radosgw did not start (3 attempts)"
	done
	export CASSETTE_TEST_S3_ENDPOINT="$out" CASSETTE_TEST_S3_HOST=127.0.0.1 \
		CASSETTE_TEST_S3_PORT="$port" CASSETTE_TEST_S3_BUCKET="$BUCKET" \
		CASSETTE_TEST_S3_KEY_ID="$ACCESS_KEY" CASSETTE_TEST_S3_SECRET="$SECRET_KEY" \
		CASSETTE_TEST_S3_DIR="$d" CASSETTE_TEST_S3_TLS_PORT=$((port + 2)) \
		CASSETTE_TEST_S3_CA="$d/tls/cert.pem"
	echo "rgw.sh: radosgw on $out (dir $d)" >&2
	"$@" || rc=$?
	exit "$rc"
}

# start in a subshell, so a failure (die) comes back as a status.
cmd_start_sub() { (cmd_start "$@"); }

case "${1:-}" in
start) shift; cmd_start "$@" ;;
stop) shift; cmd_stop "$@" ;;
run) shift; cmd_run "$@" ;;
*) die "usage: rgw.sh start DIR PORT [MON_PORT] | stop DIR | run -- CMD [ARG...]" ;;
esac
