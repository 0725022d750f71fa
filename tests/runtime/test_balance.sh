#!/usr/bin/env bash
# test_balance.sh SLUICE STORE_URL: two workers on one store share its
# pipes. One worker alone runs the four pipes; a second started beside it
# takes two of them (the first hands them over), and `sluice status`
# shows which worker holds which pipe; when the second stops, the first
# takes its pipes back. Every pipe loads all its rows throughout.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store

for p in p1 p2 p3 p4; do
  cat <<INI
[pipe $p]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe $p.source]
tables = t_$p
rows = 40
[pipe $p.sink]
output = $tmp/$p.jsonl
INI
done > "$tmp/pipes.ini"

# held WORKER_PID: how many pipes the list of `sluice status` shows held
# by that worker (its WORKER column)
held() { "$sluice" status 2>/dev/null | grep -c " pid $1 "; }
held_is() { [ "$(held "$1")" = "$2" ]; }
all_running() { for p in p1 p2 p3 p4; do is_state $p running || return 1; done; }

"$sluice" run "$tmp/pipes.ini" > "$tmp/a.log" 2>&1 & a=$!
wait_for "the four pipes running" 60 all_running
wait_for "worker A holding the four pipes" 30 held_is $a 4

"$sluice" run "$tmp/pipes.ini" > "$tmp/b.log" 2>&1 & b=$!
wait_for "worker B holding two pipes" 60 held_is $b 2
held_is $a 2 || fail "worker A holds $(held $a) pipes, not 2: $("$sluice" status)"
"$sluice" status | head -1 | grep -q "WORKER" || fail "no WORKER column: $("$sluice" status | head -1)"
grep -q "goes to worker" "$tmp/a.log" || fail "A does not say it hands pipes over"
sleep 5 # the shares hold: no pipe moves back and forth
held_is $b 2 && held_is $a 2 || fail "the pipes moved on: $("$sluice" status)"
wait_for "the four pipes running on two workers" 30 all_running

kill -TERM $b
stops_within 30 $b
[ "$rc" = 0 ] || fail "worker B exited with status $rc after SIGTERM: $(tail -5 "$tmp/b.log")"
wait_for "worker A holding the four pipes again" 60 held_is $a 4
wait_for "the four pipes running" 30 all_running
for p in p1 p2 p3 p4; do
  n=$(sink_keys "$tmp/$p.jsonl" | wc -l)
  [ "$n" = 40 ] || fail "pipe $p delivered $n distinct rows, not 40"
done
kill -TERM $a
stops_within 30 $a
[ "$rc" = 0 ] || fail "worker A exited with status $rc after SIGTERM: $(tail -5 "$tmp/a.log")"
[ $failures = 0 ] || { tail -20 "$tmp/a.log"; tail -20 "$tmp/b.log"; }
finish balance
