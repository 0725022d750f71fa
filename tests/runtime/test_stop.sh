#!/usr/bin/env bash
# test_stop.sh SLUICE STORE_URL: SIGTERM stops sluice run within a bound
# whatever its plugins wait on, with the in-memory test plugins standing
# in for servers that do not answer (misbehave = CALLBACK:hang waits until
# the core says to stop, CALLBACK:block waits for ever):
#   - the sink's flush hangs during the snapshot: given up when told, the
#     log names it (pipe, tables, what); after a restart every row arrives;
#   - the source's cdc_poll blocks for ever during CDC: the process ends
#     without it, the log names it; after a restart no change is missing;
#   - a second signal ends the process at once, by the signal.
# The bound is generous (a correctness bound, not a speed measurement).
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
BOUND=15
has_keys() { [ "$(sink_keys "$@" | wc -l)" = "$n_keys" ]; }

run() { "$sluice" run "$tmp/$1.ini" >> "$tmp/$1.log" 2>&1 & pid=$!; }

# ---- the sink hangs in its flush during the snapshot
cat > "$tmp/a.ini" <<INI
[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
pull_batch_size = 500
[pipe a.source]
tables = x, y
rows = 2000
partitions = 2
changes = 40
[pipe a.sink]
output = $tmp/a.jsonl
misbehave = flush:hang
misbehave_while = $tmp/a.hang
INI
n_keys=4040
touch "$tmp/a.hang"
run a
wait_for "the snapshot" 20 is_state a snapshot
wait_for "a delivery waiting in the sink's flush" 20 \
  sh -c "\"$sluice\" status a | grep -q 'waiting:    [1-9]'"
sleep 0.5
kill -TERM $pid
stops_within $BOUND $pid
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM, not 0"
grep -q "stopping (SIGTERM)" "$tmp/a.log" || fail "the stop is not in the log"
line=$(grep "abandoned memory_sink.flush" "$tmp/a.log")
[ -n "$line" ] || fail "the flush given up is not in the log"
case $line in
*" warn "*"a: stopping: abandoned memory_sink.flush (in the delivery of "*" of table(s) "[xy]*") after "*"nothing it carried was acknowledged"*) ;;
*) fail "the abandoned flush does not name pipe, table and what: $line" ;;
esac
grep -q "stopped without waiting" "$tmp/a.log" && fail "the flush given up was not waited for"
grep -q "retrying in" "$tmp/a.log" && fail "a retry logged while stopping"
[ -f "$tmp/a.jsonl" ] && fail "memory_sink flushed while it hung"
rm "$tmp/a.hang"
run a
wait_for "every row after the restart" 30 has_keys "$tmp/a.jsonl"
kill -TERM $pid; stops_within $BOUND $pid
[ "$rc" = 0 ] || fail "exit status $rc after the restart's SIGTERM"

# ---- the source blocks for ever in cdc_poll during CDC
cat > "$tmp/b.ini" <<INI
[pipe b]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe b.source]
tables = x
rows = 100
changes = 300
change_every = 20ms
misbehave = cdc_poll:block
misbehave_while = $tmp/b.block
[pipe b.sink]
output = $tmp/b.jsonl
INI
n_keys=400
run b
wait_for "changes flowing" 20 sh -c "[ \$(wc -l < '$tmp/b.jsonl') -gt 150 ]"
touch "$tmp/b.block"
sleep 1
kill -TERM $pid
stops_within $BOUND $pid
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM with a call blocked, not 0"
line=$(grep "abandoned memory_source.cdc_poll" "$tmp/b.log")
case $line in
*" warn "*"b: stopping: abandoned memory_source.cdc_poll (in the changes of table(s) x) after "*"it did not return"*) ;;
*) fail "the blocked cdc_poll is not named (pipe, table, what): ${line:-nothing in the log}" ;;
esac
grep -q "stopped without waiting for [1-9]" "$tmp/b.log" || fail "the end without waiting is not in the log"
cp "$tmp/b.jsonl" "$tmp/b1.jsonl"
rm "$tmp/b.block"
run b
# memory_sink keeps what its own process received: with what the first
# process's received, every key
wait_for "every change after the restart" 30 has_keys "$tmp/b1.jsonl" "$tmp/b.jsonl"
kill -TERM $pid; stops_within $BOUND $pid

# ---- a second signal ends the process at once
sed -e 's/cdc_poll:block/snapshot_next:block/' -e "s|b.block|c.block|" \
    -e "s|b.jsonl|c.jsonl|" -e 's/pipe b/pipe c/' "$tmp/b.ini" > "$tmp/c.ini"
touch "$tmp/c.block"
run c
wait_for "the snapshot" 20 is_state c snapshot
kill -TERM $pid
wait_for "the stop begun" 10 grep -q "stopping (SIGTERM)" "$tmp/c.log"
kill -INT $pid
stops_within $BOUND $pid
[ "$rc" = 130 ] || fail "exit status $rc after a second signal (SIGINT), not 130"
grep -q "stopped without waiting" "$tmp/c.log" && fail "the second signal did not end it at once"

[ $failures = 0 ] || tail -n 40 "$tmp"/*.log
finish stop
