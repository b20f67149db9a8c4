#!/usr/bin/env bash
# The systemd units of conf/: systemd-analyze verify finds nothing to say
# (an unknown key is only a warning there, so any output fails the test), and
# they hold what the README promises: nightly and weekly timers with a random
# delay, Persistent, and the hardening. ExecStart points at the binary under
# test, since verify wants an executable there.
. "$(dirname "$0")/lib.sh"
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed"; exit 77; }
U=$W/units
mkdir -p "$U"
cp "$SRC"/conf/cassette-*.service "$SRC"/conf/cassette-*.timer "$U/"
sed -i "s#^ExecStart=/usr/local/bin/cassette #ExecStart=$CASSETTE #" "$U"/*.service
grep -q "^ExecStart=$CASSETTE " "$U/cassette-backup.service" || fail "ExecStart is not /usr/local/bin/cassette ..."

analyze() { # analyze UNIT...: rc 0 and not a word
	(cd "$U" && systemd-analyze verify "$@") >"$W/out" 2>&1 || { cat "$W/out"; fail "systemd-analyze verify $*"; }
	[ ! -s "$W/out" ] || { cat "$W/out"; fail "systemd-analyze verify $* has warnings"; }
}
analyze ./cassette-backup.service ./cassette-backup.timer ./cassette-purge.service ./cassette-purge.timer
ok "systemd-analyze verify passes the four units without a warning"

sed 's/^ProtectSystem=/ProtectSytem=/' "$U/cassette-purge.service" > "$U/broken.service"
if (cd "$U" && systemd-analyze verify ./broken.service) >"$W/out" 2>&1 && [ ! -s "$W/out" ]; then
	fail "a misspelled key went unnoticed: the check above proves nothing"
fi
ok "the same check catches a misspelled key"

key() { sed -n "s/^$2=//p" "$U/$1"; }
for s in cassette-backup.service cassette-purge.service; do
	[ "$(key $s ProtectSystem)" = strict ] || fail "$s: ProtectSystem=strict"
	[ "$(key $s PrivateTmp)" = true ] || fail "$s: PrivateTmp"
	[ "$(key $s NoNewPrivileges)" = true ] || fail "$s: NoNewPrivileges"
	[ -n "$(key $s ProtectHome)" ] || fail "$s: ProtectHome"
	for p in /var/lib/cassette /var/lib/cassandra/data /var/lib/prometheus/node-exporter; do
		key $s ReadWritePaths | tr ' ' '\n' | grep -qx "$p" || fail "$s: $p is not writable"
	done
	[ "$(key $s Type)" = oneshot ] || fail "$s: Type=oneshot"
done
key cassette-backup.service ExecStart | grep -q -- "--config /etc/cassette/cassette.ini --no-progress backup-node$" ||
	fail "the backup service does not run backup-node with /etc/cassette/cassette.ini"
key cassette-purge.service ExecStart | grep -q -- "--config /etc/cassette/cassette.ini --no-progress purge$" ||
	fail "the purge service does not run purge"
for t in cassette-backup.timer cassette-purge.timer; do
	[ "$(key $t Persistent)" = true ] || fail "$t: Persistent=true"
	[ -n "$(key $t RandomizedDelaySec)" ] || fail "$t: RandomizedDelaySec"
done
# nightly: the next two runs a day apart; weekly: a week apart
gap() { # gap CALENDAR: seconds between its next two elapses
	TZ=UTC systemd-analyze calendar --iterations=2 "$1" |
		sed -n -E 's/^ *(Next elapse|Iter\. #2): [A-Za-z]+ (.*) UTC$/\2/p' |
		while read -r d; do date -u -d "$d" +%s; done | awk 'NR==1{a=$1} NR==2{print $1-a}'
}
[ "$(gap "$(key cassette-backup.timer OnCalendar)")" = 86400 ] || fail "the backup timer is not nightly"
[ "$(gap "$(key cassette-purge.timer OnCalendar)")" = 604800 ] || fail "the purge timer is not weekly"
ok "the services are hardened and run backup-node / purge; the timers: nightly and weekly, random delay, Persistent"
echo "$CHECKS passed, 0 failed"
