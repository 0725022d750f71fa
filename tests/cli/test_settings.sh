#!/usr/bin/env bash
# test_settings.sh SLUICE: the order in which a command takes a setting,
# its flag, else the config file, else the environment, else the default,
# for the store of `sluice run` and of a command that reads the store
# (each store is in a directory that does not exist: the error names the
# one chosen; a command that goes on regardless is stopped after 60s); and
# the log level of `sluice run`, in the same order.
set -u
sluice=$1
. "$(dirname "$0")/../lib.sh"
unset SLUICE_STORE
cd "$tmp"
no=$tmp/none
# chose NAME CMD...: CMD fails naming the store NAME.db
chose() {
  local name=$1; shift
  out=$("$@" 2>&1) && fail "'$*' succeeded"
  grep -qF "store sqlite:$no/$name.db: cannot" <<<"$out" || fail "'$*' did not use $name.db: $out"
}
with_conf=$tmp/with.ini without_conf=$tmp/without.ini
printf '[store]\nurl = sqlite:%s/config.db\n[pipe a]\nsource = memory_source\nsink = memory_sink\n' "$no" > "$with_conf"
printf '[pipe a]\nsource = memory_source\nsink = memory_sink\n' > "$without_conf"
for run in "run CONF" "status --config CONF"; do
  cmd() { local c=${run/CONF/$1}; shift; timeout 60 "$sluice" $c "$@"; }
  SLUICE_STORE=sqlite:$no/env.db chose flag cmd "$with_conf" --store "sqlite:$no/flag.db"
  SLUICE_STORE=sqlite:$no/env.db chose config cmd "$with_conf"
  SLUICE_STORE=sqlite:$no/env.db chose env cmd "$without_conf"
  # the default, sqlite:./sluice.db, where a directory takes its name
  mkdir -p "$tmp/cwd/sluice.db"
  out=$(cd "$tmp/cwd" && SLUICE_STORE= cmd "$without_conf" 2>&1) && fail "$run: used a directory as its store"
  grep -qF "store sqlite:./sluice.db: cannot" <<<"$out" || fail "$run: not the default store: $out"
done

# the log level: --log-level, [service] log_level, SLUICE_LOG_LEVEL, info.
# A pipe of the test plugins runs for 3s; its lines say which levels pass.
unset SLUICE_LOG_LEVEL
logged() { # logged SERVICE_LINES [ARGS...]: the log of a 3s run
  local service=$1; shift
  rm -f "$tmp/log.db"
  printf '%s[pipe a]\nsource = memory_source\nsink = memory_sink\n[pipe a.source]\ntables = t\nrows = 10\n' "$service" > "$tmp/log.ini"
  timeout -s INT 3 "$sluice" run "$tmp/log.ini" --store "sqlite:$tmp/log.db" "$@" 2>&1
}
out=$(logged "")
grep -q " info  a: " <<<"$out" || fail "default: no info line: $out"
grep -q " debug " <<<"$out" && fail "default: a debug line: $out"
out=$(logged "" --log-level debug)
grep -q " debug a: published" <<<"$out" || fail "--log-level debug: no debug line: $out"
out=$(SLUICE_LOG_LEVEL=debug logged "")
grep -q " debug a: " <<<"$out" || fail "SLUICE_LOG_LEVEL=debug: no debug line: $out"
out=$(SLUICE_LOG_LEVEL=debug logged $'[service]\nlog_level = warn\n')
grep -q " info \| debug " <<<"$out" && fail "[service] log_level = warn: lines below warn: $out"
out=$(logged $'[service]\nlog_level = warn\n' --log-level debug)
grep -q " debug a: " <<<"$out" || fail "--log-level over [service]: no debug line: $out"
out=$(logged $'[service]\nlog_level = loud\n'); status=$?
[ $status = 2 ] || fail "log_level = loud: exit $status"
grep -q "log.ini:2: \[service\] log_level: 'loud' is not one of" <<<"$out" || fail "log_level = loud: $out"
out=$(logged "" --log-level loud); status=$?
[ $status = 2 ] && grep -q "\--log-level: 'loud' is not a log level" <<<"$out" || fail "--log-level loud: exit $status: $out"
out=$(SLUICE_LOG_LEVEL=loud "$sluice" status --store "sqlite:$tmp/log.db" 2>&1); status=$?
[ $status = 2 ] && grep -q "SLUICE_LOG_LEVEL: 'loud' is not a log level" <<<"$out" || fail "SLUICE_LOG_LEVEL=loud: exit $status: $out"
finish settings
