#!/usr/bin/env bash
# run.sh: installs what the tests need, builds sluice three times and
# runs the tests in each build, then the fuzzers. Exit status 0 only when
# all pass.
#   build/       plain (RelWithDebInfo): the whole ctest suite
#   build-asan/  AddressSanitizer + UndefinedBehaviorSanitizer
#                (-DSLUICE_SANITIZE=ON): the whole suite but the Debian
#                packages' test (label `package`), which builds its own
#                tree and needs root: build/ runs it as root, else skips it
#   build-tsan/  ThreadSanitizer (-DSLUICE_TSAN=ON): the tests that start
#                threads (ctest label `threads`: sluice run on both stores,
#                end to end, the sink, store and source tests with threads
#                of their own, the MongoDB test server). Any report fails
#                its test; tests/tsan.supp holds the only suppressions,
#                for libraries Debian builds without instrumentation.
#   build-fuzz/  the fuzzers (clang, -DSLUICE_FUZZ=ON, tests/fuzz/run.sh):
#                each corpus replayed, then each harness fuzzed 20 s under
#                ASan and UBSan; a crash fails the run.
# The multi-host test (labels `hosts` and `threads`) runs in build/ and
# build-tsan/ where network namespaces are allowed (SLUICE_TEST_HOSTS=1,
# set below), and is skipped elsewhere with a line saying why; build-asan/
# leaves it out (two minutes more for paths that store.balance already
# runs under AddressSanitizer).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps --test
jobs=$(nproc 2>/dev/null || echo 2)

# the multi-host test (label `hosts`, tests/hosts/hosts.sh) runs where
# network namespaces are allowed: as root, with `ip netns` and `unshare
# --uts --pid`; elsewhere it is skipped, and this says why
hosts_probe=sluice-probe-$$
if [ "$(id -u)" != 0 ]; then
  echo "run.sh: the multi-host test (label hosts) is skipped: it needs root"
elif ! ip netns add "$hosts_probe" 2>/dev/null; then
  echo "run.sh: the multi-host test (label hosts) is skipped: network namespaces are not allowed here (ip netns add failed)"
elif ! { ip netns del "$hosts_probe"; unshare --uts --pid --fork true 2>/dev/null; }; then
  echo "run.sh: the multi-host test (label hosts) is skipped: unshare --uts --pid is not allowed here"
else
  export SLUICE_TEST_HOSTS=1
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=ON
cmake --build build -j "$jobs"
(cd build && ctest --output-on-failure -j "$jobs")

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON -DSLUICE_TESTS=ON
cmake --build build-asan -j "$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$jobs" -LE 'package|hosts')

cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TSAN=ON -DSLUICE_TESTS=ON
cmake --build build-tsan -j "$jobs"
(cd build-tsan && ctest --output-on-failure -j "$jobs" -L threads)

bash tests/fuzz/run.sh 20
