#!/usr/bin/env bash
# test_health.sh SLUICE STORE_URL: /health tells the truth about each pipe
# of a running sluice, and /metrics says the same in figures:
#   - a pipe whose sink refuses every write (memory_sink misbehaving while
#     a file exists) is degraded once it has retried for longer than
#     health_max_retrying, with the sink's error; its events wait in the
#     hub (the backlog gauges count them and their records); ok again
#     once the sink takes them;
#   - a pipe whose ClickHouse refuses connections is degraded: stuck in
#     setup for longer than health_max_setup, and retrying;
#   - a pipe whose changes are older than health_max_lag is degraded;
#   - a healthy pipe is ok whatever the others are, and the process's
#     status is the worst of its pipes': 200 while it is degraded,
#   - 503 failing once a pipe has failed.
# Every scrape of /metrics passes prometheus_check.py.
set -u
sluice=$1 store=$2
here=$(dirname "$0")
. "$here/../lib.sh"
. "$here/../servers/free_port.sh"
export SLUICE_STORE=$store
port=$(free_port)
closed=$(free_port) # nothing listens there: connections are refused
get() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
# q EXPR: EXPR of the last /health body, parsed as d
q() { /usr/bin/python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/body" "$1"; }
pipe_is() { get /health > /dev/null; [ "$(q "d['pipes']['$1']['status']")" = "$2" ]; }
says() { q "'\n'.join(d['pipes']['$1']['reasons'])" | grep -F -- "$2" > /dev/null; }
scrapes=0
scrape() { scrapes=$((scrapes + 1)); get /metrics > /dev/null; m=$tmp/m.$(printf %04d $scrapes); cp "$tmp/body" "$m"; }
metric() { scrape; grep -qxF "$1" "$m"; }

touch "$tmp/stuck"
cat > "$tmp/p.ini" <<INI
[service]
http_listen = 127.0.0.1:$port
progress = off
health_max_retrying = 2s
health_max_setup = 2s
health_max_lag = 5m

[pipe fine]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe fine.source]
rows = 100
changes = 10
[pipe fine.sink]
output = $tmp/fine.jsonl

[pipe stuck]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe stuck.source]
rows = 100
changes = 10
[pipe stuck.sink]
output = $tmp/stuck.jsonl
misbehave = write:retry
misbehave_while = $tmp/stuck

[pipe setup]
source = memory_source
sink = sink_clickhouse
[pipe setup.sink]
url = http://127.0.0.1:$closed
database = refused

[pipe lagging]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe lagging.source]
rows = 10
changes = 5
change_age = 10m
[pipe lagging.sink]
output = $tmp/lagging.jsonl

[pipe doomed]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe doomed.source]
rows = 10
misbehave = cdc_poll:fatal
misbehave_while = $tmp/doom
[pipe doomed.sink]
output = $tmp/doomed.jsonl
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
if ! wait_for "pipe fine ok" 30 pipe_is fine ok; then
  tail -20 "$tmp/run.log"; cat "$tmp/body"; exit 1
fi

# --- degraded: each pipe for its reason, the process 200
wait_for "stuck degraded" 30 pipe_is stuck degraded
says stuck "retrying for" || fail "stuck: $(q "d['pipes']['stuck']")"
says stuck "health_max_retrying is 2s): memory_sink.write: memory: write fails on purpose" || fail "stuck: $(q "d['pipes']['stuck']")"
wait_for "setup degraded" 30 pipe_is setup degraded
says setup "in setup for" || fail "setup: $(q "d['pipes']['setup']")"
says setup "(health_max_setup is 2s)" || fail "setup: $(q "d['pipes']['setup']")"
says setup "retrying for" || fail "setup: $(q "d['pipes']['setup']")"
wait_for "lagging degraded" 30 pipe_is lagging degraded
says lagging "table items: lag 10m" || fail "lagging: $(q "d['pipes']['lagging']")"
says lagging "above health_max_lag (5m)" || fail "lagging: $(q "d['pipes']['lagging']")"
code=$(get /health)
[ "$code" = 200 ] || fail "/health answered $code while degraded: $(cat "$tmp/body")"
[ "$(q "d['status']")" = degraded ] || fail "/health status: $(cat "$tmp/body")"
q "'\n'.join(d['reasons'])" | grep "^pipe stuck: retrying for" > /dev/null || fail "no reason for stuck: $(q "d['reasons']")"
for p in fine doomed; do
  [ "$(q "d['pipes']['$p']['status']")" = ok ] || fail "$p is not ok: $(q "d['pipes']['$p']")"
  [ "$(q "d['pipes']['$p']['reasons']")" = "[]" ] || fail "$p has reasons: $(q "d['pipes']['$p']")"
done
[ "$(q "d['store']['status']")" = ok ] || fail "store: $(cat "$tmp/body")"
[ "$(q "d['pipes']['stuck']['retrying_since'] is not None")" = True ] || fail "stuck: no retrying_since"
[ "$(q "d['pipes']['stuck']['last_error_at'] is not None")" = True ] || fail "stuck: no last_error_at"

# /metrics: the stuck pipe's snapshot of 100 records waits in the hub
# (its end waits for them: no change is read); it retries; its last error
# has a time; the lagging table's lag is in seconds
wait_for "stuck's backlog of 100 records" 30 metric 'sluice_pipe_backlog_records{pipe="stuck"} 100'
grep -qE '^sluice_pipe_backlog_events\{pipe="stuck"\} [1-9]' "$m" || fail "no backlog of events: $(grep backlog "$m")"
grep -qE '^sluice_pipe_retrying_seconds\{pipe="stuck"\} ([2-9]|[1-9][0-9])' "$m" || fail "retrying seconds: $(grep retrying "$m")"
grep -qxF 'sluice_pipe_retrying_seconds{pipe="fine"} 0' "$m" || fail "fine retries: $(grep retrying "$m")"
grep -qE '^sluice_pipe_last_error_timestamp_seconds\{pipe="stuck"\} 1[0-9]{9}' "$m" || fail "last error time: $(grep last_error "$m")"
grep -q '^sluice_pipe_last_error_timestamp_seconds{pipe="fine"}' "$m" && fail "fine has a last error time"
grep -qE '^sluice_table_lag_seconds\{pipe="lagging",table="items"\} (6[0-9][0-9]|7[0-9][0-9])(\.|$)' "$m" ||
  fail "lag: $(grep lag_seconds "$m")"
grep -qxF 'sluice_pipe_state{pipe="setup",state="setup"} 1' "$m" || fail "setup's state: $(grep 'pipe="setup"' "$m")"
grep -qxF 'sluice_build_info{version="'"$("$sluice" --version | grep -o '[0-9][0-9.]*' | head -1)"'",abi="1.2"} 1' "$m" ||
  fail "build info: $(grep build_info "$m") for $("$sluice" --version)"

# --- the sink takes the writes again: ok, its retries over
rm "$tmp/stuck"
wait_for "stuck ok again" 30 pipe_is stuck ok
[ "$(q "d['pipes']['stuck']['retrying_since']")" = None ] || fail "stuck still retrying: $(q "d['pipes']['stuck']")"
wait_for "stuck's backlog delivered" 30 metric 'sluice_pipe_backlog_records{pipe="stuck"} 0'

# --- failing: a pipe failed; 503, and the others are as they were
touch "$tmp/doom"
wait_for "doomed failing" 30 pipe_is doomed failing
code=$(get /health)
[ "$code" = 503 ] || fail "/health answered $code with a failed pipe: $(cat "$tmp/body")"
[ "$(q "d['status']")" = failing ] || fail "/health status: $(cat "$tmp/body")"
q "'\n'.join(d['reasons'])" | grep -F "pipe doomed: failed: memory_source.cdc_poll: memory: cdc_poll fails on purpose" > /dev/null ||
  fail "no reason for doomed: $(q "d['reasons']")"
[ "$(q "d['pipes']['fine']['status']")" = ok ] || fail "fine is not ok: $(q "d['pipes']['fine']")"
scrape

kill -TERM $pid; wait $pid || fail "sluice run exited $? after SIGTERM"
/usr/bin/python3 "$here/prometheus_check.py" "$tmp"/m.* > "$tmp/check.out" ||
  fail "/metrics breaks Prometheus' rules: $(head -20 "$tmp/check.out")"
[ $failures = 0 ] || tail -20 "$tmp/run.log"
finish health
