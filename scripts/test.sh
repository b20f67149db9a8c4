#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: once normally and
# once under AddressSanitizer + UndefinedBehaviorSanitizer. Then the fuzz
# stage: clang builds the libFuzzer targets of tests/fuzz (ASan + UBSan), and
# each runs over its seeds and fuzzes for CASSETTE_FUZZ_SECONDS (25 s here).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASSETTE_TESTS=ON >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCASSETTE_SANITIZE=ON -DCASSETTE_TESTS=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j"$jobs")
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCASSETTE_FUZZ=ON \
	-DCASSETTE_FUZZ_SECONDS=25 >/dev/null
cmake --build build-fuzz -j"$jobs"
(cd build-fuzz && ctest -L fuzz --output-on-failure -j"$jobs")
