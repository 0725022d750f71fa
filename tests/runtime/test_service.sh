#!/usr/bin/env bash
# test_service.sh SLUICE STORE_URL: what sluice run shows while it runs:
# /metrics and /health over HTTP, structured progress lines, the figures
# of `sluice status` (rates, batches), a table the source stopped
# following, one sink instance shared by two pipes with the same sink
# options (and, memory_sink's check_callers, never called by one pipe
# between another's write and its flush: on PostgreSQL this fails
# without the subscriber holding the instance), and the errors of a bad
# http_listen.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
get() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }

cat > "$tmp/p.ini" <<INI
[service]
http_listen = 127.0.0.1:$port
progress = log
progress_interval = 1s

[pipe b]
source = memory_source
sink = memory_sink
sync_interval = 1s
pull_batch_size = 100
snapshot_parallelism = 3
[pipe b.source]
tables = x, y, z
rows = 400
partitions = 2
changes = 30
stop_table = y
[pipe b.sink]
output = $tmp/out.jsonl
check_callers = true
write_delay = 10ms

[pipe c]
source = memory_source
sink = memory_sink
pull_batch_size = 50
[pipe c.source]
tables = w
rows = 3000
partitions = 3
[pipe c.sink]
output = $tmp/out.jsonl
check_callers = true
write_delay = 10ms
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
table_status() { "$sluice" status b --json | /usr/bin/python3 -c '
import json, sys
t = {t["name"]: t for t in json.load(sys.stdin)["tables"]}[sys.argv[1]]
print(t["status"], t["note"] or "-")' "$1"; }
stopped() { [ "$(table_status y | cut -d" " -f1)" = stopped ]; }
if ! wait_for "table y stopped" 30 stopped; then
  echo "--- sluice run's log:"; tail -20 "$tmp/run.log"; exit 1
fi
table_status y | grep -q "dropped by the test" || fail "no reason for y: $(table_status y)"
[ "$(table_status x)" = "active -" ] || fail "x is not active: $(table_status x)"
# a stopped table can be added again: snapshotted anew (and, with this
# source, stopped again once CDC goes on)
"$sluice" tables add b y --wait --timeout 30s > "$tmp/add.out" 2>&1 || fail "tables add of a stopped table: $(cat "$tmp/add.out")"
wait_for "table y stopped again" 30 stopped

# /health: the pipes of this process and their states
code=$(get /health)
[ "$code" = 200 ] || fail "/health answered $code: $(cat "$tmp/body")"
grep -q '^{"status":"ok",' "$tmp/body" || fail "/health body: $(cat "$tmp/body")"
grep -q '"b":{"status":"ok","reasons":\[\],"state":"running"' "$tmp/body" || fail "/health lacks pipe b: $(cat "$tmp/body")"

# /metrics: Prometheus text with the figures of the store, once pipe c
# (no stop to wait for) has its snapshot in
has_metric() { [ "$(get /metrics)" = 200 ] && grep -qF "$1" "$tmp/body"; }
wait_for "pipe c's snapshot in /metrics" 60 has_metric 'sluice_table_rows_total{pipe="c",table="w"} 3000'
code=$(get /metrics)
[ "$code" = 200 ] || fail "/metrics answered $code"
m=$tmp/body
for want in 'sluice_pipe_state{pipe="b",state="running"} 1' \
            'sluice_pipe_state{pipe="b",state="failed"} 0' \
            'sluice_table_rows_total{pipe="b",table="x"} 410' \
            'sluice_table_rows_estimated{pipe="b",table="x"} 400' \
            'sluice_table_rows_total{pipe="c",table="w"} 3000' \
            '# TYPE sluice_pipe_batches_total counter' \
            'sluice_pipe_retries{pipe="b"} 0'; do
  grep -qF "$want" "$m" || fail "/metrics lacks: $want"
done
grep -qE '^sluice_table_bytes_total\{pipe="b",table="z"\} [1-9]' "$m" || fail "/metrics: no bytes for z"
grep -qE '^sluice_pipe_batches_total\{pipe="b"\} [1-9]' "$m" || fail "/metrics: no batches for b"
# the two pipes' sinks have the same options: one instance serves both
grep -qE '^sluice_plugin_memory_sink_open_sinks\{pipe="[bc]"\} 1$' "$m" ||
  fail "sink not shared: $(grep open_sinks "$m")"
[ "$(grep -c '^sluice_plugin_memory_sink_open_sinks' "$m")" = 1 ] || fail "more than one sink instance: $(grep open_sinks "$m")"
grep -qF '# HELP sluice_plugin_memory_sink_open_sinks memory_sink instances open.' "$m" ||
  fail "the plugin's own HELP: $(grep open_sinks "$m")"
grep -qE '^sluice_plugin_memory_sink_rows_written_total\{pipe="[bc]"\} [1-9]' "$m" ||
  fail "the plugin's counter: $(grep rows_written "$m")"

# a resync of pipe c: its snapshot's rows start again from 0, the
# counters of what it delivered never go down; every scrape, before,
# during and after, follows Prometheus' rules
scrapes=0
scrape() { scrapes=$((scrapes + 1)); get /metrics > /dev/null; cp "$tmp/body" "$tmp/m.$(printf %04d $scrapes)"; }
scraped() { scrape; grep -qxF "$1" "$tmp/body"; }
scrape
"$sluice" resync c > "$tmp/resync.out" 2>&1 || fail "resync c: $(cat "$tmp/resync.out")"
wait_for "c's resync delivered" 60 scraped 'sluice_table_rows_total{pipe="c",table="w"} 6000'
wait_for "c running after its resync" 20 scraped 'sluice_pipe_state{pipe="c",state="running"} 1'
grep -qxF 'sluice_table_snapshot_rows{pipe="c",table="w"} 3000' "$tmp/body" ||
  fail "c's snapshot rows after the resync: $(grep 'snapshot_rows{pipe="c"' "$tmp/body")"
/usr/bin/python3 "$(dirname "$0")/prometheus_check.py" "$tmp"/m.* > "$tmp/check.out" ||
  fail "/metrics breaks Prometheus' rules: $(head -20 "$tmp/check.out")"
code=$(get /nothing); [ "$code" = 404 ] || fail "/nothing answered $code"

# status: batches and rates are there; progress lines went to the log
"$sluice" status b --json | grep -q '"batches":[1-9]' || fail "status has no batches"
"$sluice" status b --json | grep -q '"rows_per_s":' || fail "status has no rates"
"$sluice" status b | grep -q "ROWS/S" || fail "status text has no rate column"
grep -q "b: progress state=running table=x status=active rows=410 rows_estimated=400" "$tmp/run.log" ||
  fail "no progress line: $(grep progress "$tmp/run.log" | tail -3)"

# a second sluice on the same port: a clear error, exit 1, nothing runs
cp "$tmp/p.ini" "$tmp/q.ini"
sed -i 's/^\[pipe b\]/[pipe b2]/; s/^\[pipe b\.source\]/[pipe b2.source]/; s/^\[pipe b\.sink\]/[pipe b2.sink]/' "$tmp/q.ini"
out=$("$sluice" run "$tmp/q.ini" --pipe b2 2>&1); status=$?
[ $status = 1 ] || fail "port taken: exit $status"
grep -q "http_listen 127.0.0.1:$port: cannot listen" <<<"$out" || fail "port taken: $out"
"$sluice" status b2 >/dev/null 2>&1 && fail "port taken: pipe b2 was registered all the same"

kill -TERM $pid; wait $pid; status=$?
[ $status = 0 ] || fail "sluice run exited $status after SIGTERM: $(tail -5 "$tmp/run.log")"

# a bad http_listen is a config error with its line
printf '[service]\nhttp_listen = localhost\n[pipe d]\nsource = memory_source\nsink = memory_sink\n' > "$tmp/bad.ini"
out=$("$sluice" check "$tmp/bad.ini" 2>&1); status=$?
[ $status = 2 ] || fail "bad http_listen: exit $status"
grep -q "bad.ini:2: \[service\] http_listen: 'localhost' is not HOST:PORT" <<<"$out" || fail "bad http_listen: $out"

finish service
