#!/usr/bin/env bash
# test_failures.sh SLUICE STORE_URL: sluice run with sources that break
# their contract and a store that refuses writes; each failure reaches
# the pipe's state or the log, naming what failed.
# - records of a table the pipe did not ask for (snapshot and CDC): the
#   pipe fails naming the plugin and the table; nothing is published
# - cdc_ack failing: the pipe fails naming cdc_ack
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
json() { "$sluice" status "$1" --json; }
state() { json "$1" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
is_state() { [ "$(state "$1")" = "$2" ]; }
# has_error PIPE TEXT: the pipe's last error holds TEXT
has_error() { json "$1" | grep -qF -- "$2" || fail "$1: last error lacks '$2': $(json "$1")"; }

# pipe NAME MODE SOURCE_OPTION...: a pipe of the memory plugins
pipe() {
  local name=$1 mode=$2; shift 2
  printf '[pipe %s]\nsource = memory_source\nsink = memory_sink\nmode = %s\n' "$name" "$mode"
  printf 'sync_interval = 1s\n[pipe %s.source]\n' "$name"
  printf '%s\n' "$@"
  printf '[pipe %s.sink]\noutput = %s/%s.jsonl\n' "$name" "$tmp" "$name"
}
{
  printf '[service]\nprogress = off\n'
  pipe ghost_snapshot snapshot+cdc "tables = x, y" "rows = 20" "extra_table = ghost"
  pipe ghost_cdc cdc "tables = x" "changes = 5" "extra_table = ghost"
  pipe ack cdc "tables = x" "changes = 5" "misbehave = cdc_ack:fatal"
} > "$tmp/p.ini"
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
for p in ghost_snapshot ghost_cdc ack; do wait_for "$p failed" 30 is_state $p failed; done

has_error ghost_snapshot "source memory_source: snapshot_next of table 'x' gave a record of table 'ghost'"
has_error ghost_cdc "source memory_source: cdc_poll gave a record of table 'ghost', which is not among the 1 table(s) the pipe follows"
# nothing of the batch was published: the topic has no record of ghost
# (nor of x: the first batch was refused whole)
for p in ghost_snapshot ghost_cdc; do
  "$sluice" subscription create "audit_$p" --topic $p > /dev/null || fail "subscription create on $p"
  "$sluice" topic consume $p --subscription "audit_$p" > "$tmp/$p.topic" 2> /dev/null || fail "consume $p"
  [ -s "$tmp/$p.topic" ] && fail "$p published: $(head -3 "$tmp/$p.topic")"
  grep -qs ghost "$tmp/$p.jsonl" && fail "$p: a ghost row reached the sink"
done

has_error ack "cdc_ack"
has_error ack "memory: cdc_ack fails on purpose"
grep -q "ack: failed: .*cdc_ack" "$tmp/run.log" || fail "the failed cdc_ack is not in the log"

kill -TERM $pid; wait $pid
[ $failures = 0 ] || tail -30 "$tmp/run.log"
finish failures
