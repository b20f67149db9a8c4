#!/usr/bin/env bash
# meta/schema.cql: in nodetool mode the whole schema from cqlsh's DESCRIBE
# SCHEMA (tests/support/fake-cqlsh), with cql_username/cql_password in a 0600
# cqlshrc that is gone after the run and never on cqlsh's command line; a
# config holding cql_password is refused when group or others can read it;
# every way cqlsh fails falls back to the snapshot's per-table schema.cql files
# with one warning naming the cause; hardlink mode runs cqlsh only when
# cqlsh_cmd is set in the config.
. "$(dirname "$0")/lib.sh"
unset CASSETTE_PROGRESS

T1=t1-0123456789abcdef0123456789abcdef
D=$W/data
mkdir -p "$D/ks1/$T1"
head -c 5000 /dev/urandom > "$D/ks1/$T1/nb-1-big-Data.db"
printf 'Data.db\nTOC.txt\n' > "$D/ks1/$T1/nb-1-big-TOC.txt"
S=$W/store
LOG=$W/cqlsh.log
PW='pa%ss:w0rd!x'
export FAKE_CQLSH_LOG=$LOG
"$FAKE_CQLSH" -e 'DESCRIBE SCHEMA' > "$W/described.cql"
: > "$LOG"
schema() { cat "$S/node1.example/$1/meta/schema.cql"; }
n=0
backup() { # backup EXPECTED_RC: a new backup b$n, its name in $B
	n=$((n + 1)); B=b$n; : > "$LOG"
	cas "$1" backup-node --backup-name "$B"
}

# ---- with credentials ----------------------------------------------------------
CFG=$W/auth.ini
write_config "$CFG" "$D" "$S" "encryption = none" "[cassandra]" "cql_username = cassandra" \
	"cql_password = $PW"
chmod 600 "$CFG"
export FAKE_CQLSH_PASSWORD=$PW
backup 0
cmp -s "$W/described.cql" <(schema "$B") || { diff "$W/described.cql" <(schema "$B") | head; fail "schema.cql is not cqlsh's DESCRIBE SCHEMA"; }
[ ! -s "$W/err" ] || { cat "$W/err"; fail "a backup whose cqlsh worked wrote to stderr"; }
grep -q "^CREATE TABLE IF NOT EXISTS ks1" <(schema "$B") && fail "the per-table files were stored too"
ok "nodetool mode: meta/schema.cql is exactly what cqlsh printed for DESCRIBE SCHEMA"

[ "$(grep '^argv: ' "$LOG")" = "$(printf 'argv: --cqlshrc\nargv: %s\nargv: -e\nargv: DESCRIBE SCHEMA' \
	"$(sed -n 's/^cqlshrc: \([^ ]*\) .*/\1/p' "$LOG")")" ] || { cat "$LOG"; fail "cqlsh's argv"; }
grep '^argv: ' "$LOG" | grep -qF -- "$PW" && fail "the password is on cqlsh's command line"
grep '^argv: ' "$LOG" | grep -qF -- "cassandra" && fail "the user name is on cqlsh's command line"
RC=$(sed -n 's/^cqlshrc: \([^ ]*\) .*/\1/p' "$LOG")
[ "$(sed -n 's/^cqlshrc: [^ ]* //p' "$LOG")" = 600 ] || { cat "$LOG"; fail "the cqlshrc is not 0600"; }
[ "$(grep '^rc: ' "$LOG")" = "$(printf 'rc: [authentication]\nrc: username = cassandra\nrc: password = %s' "$PW")" ] ||
	{ cat "$LOG"; fail "the cqlshrc's content"; }
case $RC in "$W/enctmp/cassette-cqlsh-"*/cqlshrc) ;; *) fail "the cqlshrc $RC is not in encryption_tmp_dir";; esac
[ ! -e "$RC" ] && [ ! -e "$(dirname "$RC")" ] || fail "the cqlshrc or its directory is left after the run"
grep -rqF -- "$PW" "$W/out" "$W/err" "$W/enctmp" "$S" "$W/state" && fail "the password was written out"
ok "credentials reach cqlsh in a 0600 cqlshrc (--cqlshrc) in a private directory, removed after; never in argv"

# control: the fake refuses a wrong password, so the check above is real
FAKE_CQLSH_PASSWORD=other backup 0
grep -q "^CREATE TABLE IF NOT EXISTS ks1.t1" <(schema "$B") || fail "no fallback to the per-table schema.cql"
grep -q "CREATE KEYSPACE" <(schema "$B") && fail "fallback schema.cql holds cqlsh's output"
one_line_err
err_has "warning: schema.cql: DESCRIBE SCHEMA through [cassandra] cqlsh_cmd"
err_has "(exit status 1): Connection error:"; err_has "Bad credentials"
err_has "storing the snapshot's per-table schema.cql files instead"
grep -qF -- "$PW" "$W/err" && fail "the warning shows the password"
ok "wrong credentials: the per-table files, with one warning naming cqlsh's exit status and its error"

chmod 640 "$CFG"
backup 2
err_has "config $CFG holds [cassandra] cql_password and is readable by group or others (mode 0640)"
one_line_err
[ -s "$LOG" ] && fail "cqlsh ran with a loose config"
chmod 600 "$CFG"
write_config "$W/nopw.ini" "$D" "$S" "encryption = none" "[cassandra]" "cql_username = cassandra"
chmod 644 "$W/nopw.ini"
CFG=$W/nopw.ini backup 0   # no password: a readable config is fine; the fake then refuses
err_has "Bad credentials"
grep -qx "rc: username = cassandra" "$LOG" || { cat "$LOG"; fail "cqlshrc without a password"; }
grep -q "^rc: password" "$LOG" && fail "a password line without cql_password"
ok "a config holding cql_password must be 0600 (refused like a loose key file); without one it need not"
unset FAKE_CQLSH_PASSWORD

# ---- failures: each falls back with one warning naming its cause ---------------
CFG=$W/plain.ini
write_config "$CFG" "$D" "$S" "encryption = none"
backup 0
cmp -s "$W/described.cql" <(schema "$B") || fail "schema.cql without credentials"
[ "$(grep '^argv: ' "$LOG" | tr '\n' '|')" = "argv: -e|argv: DESCRIBE SCHEMA|" ] || { cat "$LOG"; fail "argv without credentials"; }
ok "without credentials: no cqlshrc is passed (cqlsh's own ~/.cassandra/cqlshrc applies)"

fallback() { # fallback WHAT EXPECTED_CAUSE...
	local what=$1; shift
	backup 0
	grep -q "^CREATE TABLE IF NOT EXISTS ks1.t1" <(schema "$B") || fail "$what: no fallback"
	one_line_err
	err_has "warning: schema.cql: DESCRIBE SCHEMA"
	for c in "$@"; do err_has "$c"; done
	ok "$what: the per-table schema.cql files, one warning: $*"
}
FAKE_CQLSH_MODE=fail fallback "cqlsh cannot connect" "(exit status 1): Connection error:" "Connection refused"
FAKE_CQLSH_MODE=empty fallback "cqlsh prints nothing" "(it printed nothing)"
FAKE_CQLSH_MODE=nokeyspace fallback "cqlsh prints no keyspace" "(its output holds no CREATE KEYSPACE)"
CQLSH_CMD=$W/no-such-cqlsh write_config "$CFG" "$D" "$S" "encryption = none"
fallback "cqlsh_cmd does not exist" "cannot run $W/no-such-cqlsh ([cassandra] cqlsh_cmd): No such file or directory"
printf '#!/bin/sh\nkill -9 $$\n' > "$W/killed-cqlsh"; chmod +x "$W/killed-cqlsh"
CQLSH_CMD=$W/killed-cqlsh write_config "$CFG" "$D" "$S" "encryption = none"
fallback "cqlsh killed" "(signal 9)"

# ---- hardlink mode --------------------------------------------------------------
SNAPSHOT_MODE=hardlink write_config "$CFG" "$D" "$S" "encryption = none"
grep -q cqlsh_cmd "$CFG" && fail "test setup: hardlink config names cqlsh_cmd"
backup 0
[ -s "$LOG" ] && fail "hardlink mode ran cqlsh without cqlsh_cmd in its config"
[ "$(schema "$B")" = "-- no schema.cql in the snapshot" ] || { schema "$B"; fail "hardlink schema.cql"; }
[ ! -s "$W/err" ] || { cat "$W/err"; fail "hardlink backup wrote to stderr"; }
ok "hardlink mode without cqlsh_cmd: today's placeholder, cqlsh not run, no warning"
SNAPSHOT_MODE=hardlink CQLSH_CMD=$FAKE_CQLSH write_config "$CFG" "$D" "$S" "encryption = none"
backup 0
cmp -s "$W/described.cql" <(schema "$B") || fail "hardlink mode with cqlsh_cmd: not DESCRIBE SCHEMA"
ok "hardlink mode with cqlsh_cmd set: DESCRIBE SCHEMA too"
SNAPSHOT_MODE=hardlink CQLSH_CMD=$FAKE_CQLSH write_config "$CFG" "$D" "$S" "encryption = none"
FAKE_CQLSH_MODE=fail backup 0
[ "$(schema "$B")" = "-- no schema.cql in the snapshot" ] || fail "hardlink fallback"
one_line_err; err_has "Connection refused"
ok "hardlink mode with cqlsh_cmd set and cqlsh failing: the placeholder, one warning"

[ -z "$(ls -A "$W/enctmp" | grep cqlsh || true)" ] || { ls -la "$W/enctmp"; fail "cqlshrc directories left in encryption_tmp_dir"; }
ok "no cqlshrc directory left in encryption_tmp_dir"
echo "schema: $CHECKS checks passed"
