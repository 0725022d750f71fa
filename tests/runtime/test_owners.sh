#!/usr/bin/env bash
# test_owners.sh SLUICE STORE_URL: one owner per destination in a store.
# Two config files whose pipes write one table into one destination
# (memory_sink's destination is its output file and the table): each file
# passes `sluice check` alone, both in one file do not (exit 2, naming
# both pipes and their lines); under `sluice run` the second pipe's table
# fails naming the first, its other tables go on; deleting the first pipe
# frees the destination, and a resync of the second takes it.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
status_of() { "$sluice" status "$1" --json; }
state_is() { status_of "$1" | grep -q "^{\"name\":\"$1\",\"state\":\"$2\""; }
table_is() { status_of "$1" | grep -q "{\"name\":\"$2\",\"status\":\"$3\""; }

pipe() { # NAME TABLES
  cat <<INI
[pipe $1]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe $1.source]
tables = $2
rows = 30
[pipe $1.sink]
output = $tmp/out.jsonl
INI
}
pipe a "x, y" > "$tmp/a.ini"
pipe b "z, x" > "$tmp/b.ini"
cat "$tmp/a.ini" "$tmp/b.ini" > "$tmp/both.ini"

"$sluice" check "$tmp/a.ini" > /dev/null || fail "check a.ini"
"$sluice" check "$tmp/b.ini" > /dev/null || fail "check b.ini"
"$sluice" check "$tmp/both.ini" > "$tmp/check.out" 2>&1
[ $? = 2 ] || fail "check of both pipes in one file: exit $?, not 2"
grep -qF "both.ini:15: pipe 'a' (table 'x', line 6) and pipe 'b' (table 'x', line 15) write into one destination, memory:$tmp/out.jsonl/x" "$tmp/check.out" ||
  fail "check does not name both pipes: $(cat "$tmp/check.out")"

"$sluice" run "$tmp/a.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "pipe a running" 30 state_is a running
kill -TERM $pid; wait $pid

"$sluice" run "$tmp/b.ini" >> "$tmp/run.log" 2>&1 & pid=$!
wait_for "pipe b running" 30 state_is b running
table_is b x failed || fail "b's table x did not fail: $(status_of b)"
table_is b z active || fail "b's table z: $(status_of b)"
status_of b | grep -qF "\"note\":\"destination memory:$tmp/out.jsonl/x of table x belongs to pipe 'a', table 'x' of this store" ||
  fail "the failure does not name the owner: $(status_of b)"
kill -TERM $pid; wait $pid

# the owner goes: the destination is free, and b's resync takes it
"$sluice" pipe delete a > /dev/null 2>&1 || fail "pipe delete a"
"$sluice" run "$tmp/b.ini" >> "$tmp/run.log" 2>&1 & pid=$!
"$sluice" resync b --wait --timeout 30s > "$tmp/req.out" 2>&1 || fail "resync b: $(cat "$tmp/req.out")"
wait_for "b's table x active after the resync" 20 table_is b x active
kill -TERM $pid; wait $pid

[ $failures = 0 ] || tail -30 "$tmp/run.log"
finish owners
