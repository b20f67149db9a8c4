#!/usr/bin/env bash
# Installs what cassette needs to build and test on Debian 12, only what is missing.
set -euo pipefail
pkgs=(gcc make cmake pkg-config libssl-dev libjansson-dev libinih-dev libcmocka-dev
      libcurl4-openssl-dev libexpat1-dev libsqlite3-dev libzstd-dev
      python3 python3-cryptography
      # the reference reader decodes compressed segments (tests/crypto/ref_cassette.py)
      python3-zstandard zstd
      # the S3 tests: a throw-away radosgw (tests/support/rgw.sh), awscli to
      # cross-check, curl and openssl for the harness
      ceph-mon ceph-osd radosgw ceph-common uuid-runtime awscli curl openssl
      # the cluster tests run node commands through a throw-away sshd
      openssh-server openssh-client
      # the hash cache test proves with strace that unchanged files are not read
      strace
      # the memory test: GNU time for peak RSS, eatmydata to skip fsync there
      time eatmydata
      # the monitoring test checks the textfile with Prometheus' own parser
      python3-prometheus-client
      # the key test takes a core of a running restore (gcore) and searches it
      gdb
      # the units test: systemd-analyze verify on conf/*.service and *.timer
      systemd
      # the fuzz stage: clang 14 and its libFuzzer (libclang_rt.fuzzer, only
      # recommended by clang, so named here), llvm-symbolizer for its traces
      clang libclang-rt-14-dev llvm-14)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
