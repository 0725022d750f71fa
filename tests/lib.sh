# lib.sh: what the shell tests share; sourced. Sets up a temporary
# directory ($tmp, removed at exit with every background job killed) and
# counts failures.
#   fail MESSAGE...           reports one failure
#   wait_for WHAT SECS CMD... until CMD succeeds, else a failure
#   finish NAME               exit status from the failures, "all NAME
#                             checks passed" when there were none
#   stops_within SECS PID     the background job PID ends within SECS
#                             seconds (else a failure, and kill -9); its
#                             exit status in $rc
#   sink_keys FILE...         the "table,key" pairs of memory_sink output
#                             files, once each
#   plugins_only NAME...      SLUICE_PLUGIN_PATH cut down to these modules
#                             (a test that reads the log as JSON leaves
#                             source_mongo out: libmongoc may print a line
#                             of its own as it loads, docs/operations.md)
#   at_exit                   what the EXIT trap does; a test that sets a
#                             trap of its own ends it with at_exit
#   run STATUS CMD...         runs CMD, its output in $out; a failure
#                             unless it exits STATUS
#   has TEXT                  a failure unless $out holds TEXT
#   state PIPE                the pipe's state, from `sluice status`
#                             (its store: SLUICE_STORE), "" when none
#   is_state PIPE STATE       whether the pipe is in that state
# Under ThreadSanitizer (TSAN_OPTIONS set, as a SLUICE_TSAN build's tests
# have it) every process the test starts writes its reports to
# $tmp/tsan.PID: any report is a failure, and is shown at exit.
failures=0
tmp=$(mktemp -d)
if [ -n "${TSAN_OPTIONS:-}" ]; then
  export TSAN_OPTIONS="$TSAN_OPTIONS log_path=$tmp/tsan"
fi
tsan_reports() { compgen -G "$tmp/tsan.*" > /dev/null; }
at_exit() {
  kill -9 $(jobs -p) 2>/dev/null; wait 2>/dev/null
  if tsan_reports; then
    echo "FAIL: ThreadSanitizer reported:"; cat "$tmp"/tsan.*
  fi
  rm -rf "$tmp"
}
trap at_exit EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
state() { "$sluice" status "$1" --json 2>/dev/null | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
is_state() { [ "$(state "$1")" = "$2" ]; }
wait_for() {
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "waited ${secs}s for $what"; return 1
}
stops_within() {
  local secs=$1 pid=$2
  for _ in $(seq 1 $((secs * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "process $pid still running ${secs}s later"
    kill -9 "$pid"
  fi
  wait "$pid"; rc=$?
}
sink_keys() {
  cat "$@" 2>/dev/null | sed -n 's/^{"table":"\([^"]*\)","key":\([0-9]*\),.*/\1,\2/p' | sort -u
}
run() {
  local want=$1; shift
  out=$("$@" 2>&1); local status=$?
  [ "$status" = "$want" ] || { fail "'$*' exited $status, expected $want"; echo "$out" | head -5; }
}
has() { grep -qF -- "$1" <<<"$out" || { fail "output lacks '$1'"; echo "$out" | head -5; }; }
finish() {
  tsan_reports && fail "ThreadSanitizer reports (below)"
  [ "$failures" = 0 ] && echo "all $1 checks passed"
  exit $((failures > 0))
}
plugins_only() {
  mkdir -p "$tmp/plugins"
  local dirs d f
  IFS=: read -ra dirs <<<"$SLUICE_PLUGIN_PATH"
  for d in "${dirs[@]}"; do
    for f in "$@"; do [ -e "$d/$f.so" ] && ln -sf "$d/$f.so" "$tmp/plugins/"; done
  done
  export SLUICE_PLUGIN_PATH=$tmp/plugins
}
