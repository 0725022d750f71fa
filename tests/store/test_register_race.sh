#!/usr/bin/env bash
# test_register_race.sh SLUICE STORE_URL: two `sluice run` of one config
# started at the same moment on a new store (each round a fresh one, so
# that both wait out its creation and register together): both start,
# the one that registers second finding the pipe registered, as a worker
# started later would. PostgreSQL refused the second insert.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
cat > "$tmp/r.ini" <<INI
[pipe r]
source = memory_source
sink = memory_sink
[pipe r.source]
tables = t
rows = 10
INI
state() { "$sluice" status r --json --store "$1" 2>/dev/null | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
is_running() { [ "$(state "$1")" = running ]; }
for round in $(seq 1 8); do
  case $store in
  postgresql:*)
    db=race_$$_$round
    "$psql" -q "$store" -c "CREATE DATABASE $db" > /dev/null || { fail "create database $db"; break; }
    url="${store%/*}/$db" ;;
  *) url="sqlite:$tmp/race$round.db" ;;
  esac
  SLUICE_STORE=$url "$sluice" run "$tmp/r.ini" > "$tmp/a.log" 2>&1 & a=$!
  SLUICE_STORE=$url "$sluice" run "$tmp/r.ini" > "$tmp/b.log" 2>&1 & b=$!
  wait_for "round $round: pipe r running" 30 is_running "$url"
  for p in $a $b; do
    kill -0 $p 2>/dev/null ||
      fail "round $round: a worker ended: $(grep -h -m1 error "$tmp/a.log" "$tmp/b.log")"
  done
  kill -TERM $a $b 2>/dev/null; wait $a $b 2>/dev/null
  [ -n "${db:-}" ] && "$psql" -q "$store" -c "DROP DATABASE $db WITH (FORCE)" > /dev/null 2>&1
done
finish register_race
