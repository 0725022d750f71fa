# lib.sh: what the shell tests share; sourced. Sets up a temporary
# directory ($tmp, removed at exit with every background job killed) and
# counts failures.
#   fail MESSAGE...           reports one failure
#   wait_for WHAT SECS CMD... until CMD succeeds, else a failure
#   finish NAME               exit status from the failures, "all NAME
#                             checks passed" when there were none
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
wait_for() {
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "waited ${secs}s for $what"; return 1
}
finish() {
  [ "$failures" = 0 ] && echo "all $1 checks passed"
  exit $((failures > 0))
}
