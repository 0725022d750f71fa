#!/usr/bin/env bash
# test_run.sh SLUICE STORE_URL: sluice run end to end with the in-memory
# test plugins: a snapshot and changes land in the sink exactly once;
# pause, resume, tables add and remove, resync from another terminal;
# the pipe's subscription paused and resumed;
# SIGTERM stops cleanly; SIGKILL loses nothing and a restart goes on; a
# pipe deleted and registered again gets nothing its old self published.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
rows_in() { [ -f "$tmp/out.jsonl" ] && [ "$(wc -l < "$tmp/out.jsonl")" = "$1" ]; }

cat > "$tmp/p.ini" <<INI
[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
pull_batch_size = 500
[pipe a.source]
tables = x, y
rows = 3000
partitions = 3
changes = 60
[pipe a.sink]
output = $tmp/out.jsonl
INI
start() { "$sluice" run "$tmp/p.ini" >> "$tmp/run.log" 2>&1 & pid=$!; }

start
wait_for "snapshot and changes" 20 rows_in 6060
is_state a running || fail "a is $(state a), not running"
# exactly once: every (table, key) one line
[ "$(cut -d, -f1,2 "$tmp/out.jsonl" | sort -u | wc -l)" = 6060 ] || fail "duplicates in the sink"

"$sluice" pause a --wait --timeout 10s > "$tmp/pause.out" 2>&1 || fail "pause: $(cat "$tmp/pause.out")"
is_state a paused || fail "not paused after pause --wait"
"$sluice" resume a --wait --timeout 10s >/dev/null 2>&1 || fail "resume"
is_state a running || fail "not running after resume"

"$sluice" tables add a z --wait --timeout 20s >/dev/null 2>&1 || fail "tables add"
wait_for "table z loaded" 20 rows_in 9060
"$sluice" tables remove a y --wait --timeout 20s >/dev/null 2>&1 || fail "tables remove"
"$sluice" status a | grep -q " y " && fail "y still in the pipe"

# the pipe's own subscription paused by an operator: deliveries wait (the
# pipe neither fails nor loses anything), and go on at the resume
"$sluice" subscription pause a >/dev/null || fail "subscription pause"
"$sluice" tables add a w >/dev/null 2>&1 || fail "tables add w"
sleep 3
rows_in 9060 || fail "delivered while the subscription was paused"
[ "$(state a)" != failed ] || fail "a failed while its subscription was paused"
grep -q "subscription 'a' is paused: deliveries wait" "$tmp/run.log" || fail "the pause is not in the log"
"$sluice" status a | grep -q "waiting:    [1-9][0-9]* publication event(s); held: its subscription is paused" ||
  fail "status does not show the held deliveries: $("$sluice" status a | grep waiting)"
"$sluice" status a --json | grep -q '"subscription_paused":true' || fail "status --json: no subscription_paused"
"$sluice" subscription resume a >/dev/null || fail "subscription resume"
wait_for "table w loaded after the resume" 20 rows_in 12060
wait_for "running after the resume" 20 is_state a running
"$sluice" status a | grep -q "waiting:    0 publication event(s)$" || fail "status after the resume: $("$sluice" status a | grep waiting)"

"$sluice" resync a --wait --timeout 30s >/dev/null 2>&1 || fail "resync"
is_state a running || fail "not running after resync"
"$sluice" history a | grep -q "resync tables swapped in" || fail "no resync in history"

# the daily maintenance runs inside sluice run: the missed slot at start
"$sluice" events | grep -q "maintenance as of" || fail "no maintenance run inside sluice run"

kill -TERM $pid; wait $pid; [ $? = 0 ] || fail "SIGTERM exit status"
grep -q "stopped" "$tmp/run.log" || fail "no clean stop"

# SIGKILL in the middle of a snapshot: nothing lost, nothing twice
cat > "$tmp/q.ini" <<INI
[pipe b]
source = memory_source
sink = memory_sink
pull_batch_size = 200
[pipe b.source]
tables = big
rows = 20000
partitions = 4
[pipe b.sink]
output = $tmp/b.jsonl
INI
"$sluice" run "$tmp/q.ini" >> "$tmp/run.log" 2>&1 & pid=$!
wait_for "snapshot started" 20 is_state b snapshot
sleep 0.3
kill -9 $pid; wait $pid 2>/dev/null
"$sluice" run "$tmp/q.ini" >> "$tmp/run.log" 2>&1 & pid=$!
wait_for "snapshot finished after a restart" 60 is_state b running
sleep 1.5
# memory_sink keeps what its own process received: after the restart it
# has the rest; together with what the hub replays, every key arrives
got=$(wc -l < "$tmp/b.jsonl")
rows=$("$sluice" status b --json | sed -n 's/.*"rows":\([0-9]*\),"lag.*/\1/p')
[ "${rows:-0}" -ge 20000 ] || fail "rows copied $rows < 20000"
kill -TERM $pid; wait $pid

# a pipe deleted and registered again under its name starts from its own
# snapshot: what the old pipe published to the topic is not delivered
cat > "$tmp/c.ini" <<INI
[pipe c]
source = memory_source
sink = memory_sink
mode = snapshot
[pipe c.source]
tables = t
rows = 5
[pipe c.sink]
output = $tmp/c.jsonl
INI
for round in 1 2; do
  "$sluice" run "$tmp/c.ini" > "$tmp/c$round.log" 2>&1 & pid=$!
  wait_for "pipe c completed (round $round)" 30 is_state c completed
  kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
  cat "$tmp/c$round.log" >> "$tmp/run.log"
  grep -q "c: snapshot -> completed: snapshot loaded: 5 rows" "$tmp/c$round.log" ||
    fail "round $round: $(grep -o 'snapshot loaded: [0-9]* rows' "$tmp/c$round.log"), not 5"
  "$sluice" pipe delete c >/dev/null || fail "pipe delete c"
done

[ $failures = 0 ] || tail -30 "$tmp/run.log"
finish run
