#!/usr/bin/env bash
# test_store_lost.sh SLUICE: the store (a PostgreSQL server of its own)
# goes away under a running `sluice run` and comes back: /health answers
# 503 with the reason while it is away and 200 again after; the process
# keeps running, and the changes made meanwhile all arrive.
set -u
sluice=$1
here=$(dirname "$0")
. "$here/../lib.sh"
pg=$tmp/pg
chmod 755 "$tmp" # the server runs as the postgres user
"$here/../servers/postgres.sh" start "$pg" > /dev/null || { fail "cannot start PostgreSQL"; finish store_lost; }
trap 'kill -9 $(jobs -p) 2>/dev/null; "$here/../servers/postgres.sh" stop "$pg" > /dev/null 2>&1; at_exit' EXIT
export SLUICE_STORE=$(cat "$pg/url")
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
health() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port/health"; }
health_is() { [ "$(health)" = "$1" ]; }
rows_in() { [ -f "$tmp/out.jsonl" ] && [ "$(wc -l < "$tmp/out.jsonl")" = "$1" ]; }

cat > "$tmp/p.ini" <<INI
[service]
http_listen = 127.0.0.1:$port
progress = off
[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe a.source]
tables = x
rows = 500
changes = 40
change_every = 250ms
[pipe a.sink]
output = $tmp/out.jsonl
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "the snapshot" 30 rows_in 500 || { tail -20 "$tmp/run.log"; exit 1; }
wait_for "/health 200" 10 health_is 200 || fail "/health: $(cat "$tmp/body")"

"$here/../servers/postgres.sh" kill "$pg" > /dev/null
wait_for "/health 503 with the store away" 10 health_is 503
grep -q '^{"status":"failing","reasons":\["store postgresql://' "$tmp/body" || fail "/health body: $(cat "$tmp/body")"
sleep 3
kill -0 $pid 2>/dev/null || { tail -20 "$tmp/run.log"; fail "sluice run exited with the store away"; }

"$here/../servers/postgres.sh" restart "$pg" > /dev/null || fail "cannot restart PostgreSQL"
wait_for "/health 200 with the store back" 30 health_is 200 || fail "/health: $(cat "$tmp/body")"
# memory_sink keeps what its own instance received, and the pipe opened
# it anew after losing its lease with the store: the last change in the
# sink, and every row counted as copied
last_change() { grep -q '"key":539,' "$tmp/out.jsonl"; }
wait_for "the last change, after the store came back" 60 last_change ||
  { tail -20 "$tmp/run.log"; exit 1; }
# (counted in the transaction that completes what the sink has flushed:
# a moment after the rows are in the sink's file)
rows() { "$sluice" status a --json | sed -n 's/.*"rows":\([0-9]*\),"lag.*/\1/p'; }
all_counted() { [ "$(rows)" -ge 540 ] 2>/dev/null; }
wait_for "every row counted as copied" 10 all_counted || fail "rows copied $(rows) < 540"
grep -qE ' (warn|error) .*(store|connection|server)' "$tmp/run.log" || fail "the store's absence is not in the log"
kill -TERM $pid; wait $pid || fail "exit status after SIGTERM"
finish store_lost
