#!/usr/bin/env bash
# run.sh: installs what the tests need, builds sluice twice (plain, and
# with AddressSanitizer + UndefinedBehaviorSanitizer), and runs the whole
# ctest suite in both builds. Exit status 0 only when both pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps --test
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=ON
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_TESTS=ON
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$jobs")
