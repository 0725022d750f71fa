#!/usr/bin/env bash
# test_store_frozen.sh SLUICE: the store (a PostgreSQL server of its own)
# stops answering (every process of the server frozen with SIGSTOP) under
# a running `sluice run`: SIGTERM still stops it within a bound, status 0,
# the log naming the store statements it abandoned; once the server is
# thawed, a new `sluice run` delivers every change. The bound is generous:
# a correctness bound, not a speed measurement.
set -u
sluice=$1
here=$(dirname "$0")
. "$here/../lib.sh"
BOUND=15
pg=$tmp/pg
chmod 755 "$tmp" # the server runs as the postgres user
"$here/../servers/postgres.sh" start "$pg" > /dev/null || { fail "cannot start PostgreSQL"; finish store_frozen; }
# the server's processes: the postmaster and its children
server_pids() { local pm; pm=$(head -1 "$pg/data/postmaster.pid"); echo "$pm" $(pgrep -P "$pm"); }
thaw() { kill -CONT $(server_pids) 2>/dev/null; }
trap 'thaw; kill -9 $(jobs -p) 2>/dev/null; "$here/../servers/postgres.sh" stop "$pg" > /dev/null 2>&1; at_exit' EXIT
export SLUICE_STORE=$(cat "$pg/url")
has_keys() { [ "$(sink_keys "$@" | wc -l)" = 400 ]; }

cat > "$tmp/p.ini" <<INI
[service]
progress = log
progress_interval = 1s
[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe a.source]
tables = x
rows = 100
changes = 300
change_every = 20ms
[pipe a.sink]
output = $tmp/out.jsonl
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "changes flowing" 30 sh -c "[ \$(wc -l < '$tmp/out.jsonl') -gt 150 ]" ||
  { tail -20 "$tmp/run.log"; exit 1; }
kill -STOP $(server_pids)
sleep 2
kill -TERM $pid
stops_within $BOUND $pid
thaw
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM, not 0"
grep -qE " warn  a: stopping: abandoned store postgresql://[^ ]*: [A-Z]+ .* after [0-9.]+ s: it did not return" "$tmp/run.log" ||
  fail "no store statement of pipe a named as abandoned"
grep -q "sluice-test" "$tmp/run.log" && fail "the store's password in the log"
cp "$tmp/out.jsonl" "$tmp/out1.jsonl"
"$sluice" run "$tmp/p.ini" >> "$tmp/run.log" 2>&1 & pid=$!
# memory_sink keeps what its own process received: with what the first
# one's received, every key
wait_for "every change after the restart" 60 has_keys "$tmp/out1.jsonl" "$tmp/out.jsonl"
kill -TERM $pid; wait $pid || fail "exit status after the restart's SIGTERM"

[ $failures = 0 ] || tail -n 30 "$tmp/run.log"
finish store_frozen
