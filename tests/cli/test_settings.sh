#!/usr/bin/env bash
# test_settings.sh SLUICE: the order in which a command takes a setting,
# its flag, else the config file, else the environment, else the default,
# for the store of `sluice run` and of a command that reads the store
# (each store is in a directory that does not exist: the error names the
# one chosen; a command that goes on regardless is stopped after 60s).
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
finish settings
