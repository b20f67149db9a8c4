#!/usr/bin/env bash
# A throw-away OpenSSH server for the cluster tests: Debian's sshd on a free
# port of 127.0.0.1, 127.0.0.2 and 127.0.0.3 (three "hosts" on loopback), with
# its own host key and one client key made for the test, authorized for the
# user running the test. Password login is off.
#
#   sshd.sh run -- CMD [ARG...]   start it in a fresh temp dir, run CMD with
#                                 the variables below in its environment,
#                                 stop it (also when CMD fails or we are
#                                 killed); exits with CMD's status
#
# Exports SSHD_PORT, SSHD_KEY (the client's private key), SSHD_KNOWN_HOSTS (a
# known_hosts file that holds the host key for the three addresses, so ssh
# can run with StrictHostKeyChecking=yes and BatchMode=yes), SSHD_USER and
# SSHD_DIR. Without sshd it prints SKIP and exits 77.
set -euo pipefail

die() { echo "sshd.sh: $*" >&2; exit 1; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

[ "${1:-}" = run ] && [ "${2:-}" = -- ] && [ $# -ge 3 ] || die "usage: sshd.sh run -- CMD [ARG...]"
shift 2
SSHD=/usr/sbin/sshd
if [ ! -x "$SSHD" ] || ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
	echo "SKIP: no OpenSSH server or client (apt-get install openssh-server openssh-client)"
	exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/cassette-sshd.XXXXXX")
chmod 700 "$dir"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

ssh-keygen -q -t ed25519 -N '' -f "$dir/host_key" -C cassette-test-host
ssh-keygen -q -t ed25519 -N '' -f "$dir/client_key" -C cassette-test-client
cp "$dir/client_key.pub" "$dir/authorized_keys"
chmod 600 "$dir/authorized_keys"

# A port below the ephemeral range, apart from parallel runs (as rgw.sh).
base=$((12000 + ($$ * 11) % 18000))
port=
for i in $(seq 0 300); do
	p=$((base + i * 5))
	port_busy "$p" || { port=$p; break; }
done
[ -n "$port" ] || die "no free port found"

user=$(id -un)
cat > "$dir/sshd_config" <<EOF
Port $port
ListenAddress 127.0.0.1
ListenAddress 127.0.0.2
ListenAddress 127.0.0.3
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $dir/authorized_keys
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
LogLevel ERROR
EOF
# The privilege-separation directory sshd insists on when run as root.
[ "$(id -u)" -ne 0 ] || mkdir -p /run/sshd

"$SSHD" -D -e -f "$dir/sshd_config" 2>"$dir/sshd.log" &
pid=$!
for a in 127.0.0.1 127.0.0.2 127.0.0.3; do
	echo "[$a]:$port $(cut -d' ' -f1,2 "$dir/host_key.pub")"
done > "$dir/known_hosts"

ready=0
for i in $(seq 1 100); do
	kill -0 "$pid" 2>/dev/null || { cat "$dir/sshd.log" >&2; die "sshd exited at start"; }
	if ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$dir/known_hosts" \
		-o ConnectTimeout=2 -p "$port" -i "$dir/client_key" -l "$user" 127.0.0.3 true 2>/dev/null; then
		ready=1
		break
	fi
	sleep 0.1
done
[ "$ready" = 1 ] || { cat "$dir/sshd.log" >&2; die "sshd did not accept the test key on port $port"; }

export SSHD_PORT=$port SSHD_KEY=$dir/client_key SSHD_KNOWN_HOSTS=$dir/known_hosts \
	SSHD_USER=$user SSHD_DIR=$dir
rc=0
"$@" || rc=$?
exit "$rc"
