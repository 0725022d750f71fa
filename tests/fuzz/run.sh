#!/usr/bin/env bash
# run.sh [SECONDS]: the fuzzers as a test. Builds build-fuzz/ (clang,
# -DSLUICE_FUZZ=ON), replays every corpus (ctest -L fuzz: the seeds and
# the crash-* regression inputs), then fuzzes each harness SECONDS (20 by
# default), as many at a time as there are cores, from a copy of its
# corpus (bench/fuzz.sh). Fails on any crash, leak or undefined behaviour.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DSLUICE_TESTS=OFF -DSLUICE_FUZZ=ON >/dev/null
cmake --build build-fuzz -j "$(nproc)" --target fuzzers
(cd build-fuzz && ctest --output-on-failure -L fuzz)
JOBS=$(nproc) bash bench/fuzz.sh "$(awk "BEGIN { print $seconds / 60 }")"
