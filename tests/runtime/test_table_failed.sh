#!/usr/bin/env bash
# test_table_failed.sh SLUICE STORE_HELPER STORE_URL: one table that the sink refuses
# (memory_sink refuse_tables: SLUICE_FATAL_TABLE) fails on its own, as
# spec/lifecycle.md says: its status says failed with the reason, /health
# shows it, the pipe's other tables load and stream and the pipe can be
# paused; a resync tries it again; `tables remove` of it is carried out
# at once, with no worker running and in any state of the pipe.
set -u
sluice=$1 helper=$2 store=$3
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
. "$(dirname "$0")/../servers/free_port.sh"
port=$(free_port)
get() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port$1"; }
json() { "$sluice" status a --json; }
state() { json | sed -n 's/^{"name":"a","state":"\([a-z]*\)".*/\1/p'; }
is_state() { [ "$(state)" = "$1" ]; }
rows_in() { [ -f "$tmp/out.jsonl" ] && [ "$(wc -l < "$tmp/out.jsonl")" = "$1" ]; }
table_status() { json | grep -o "{\"name\":\"$1\",\"status\":\"[a-z]*\"" | sed 's/.*"status":"//; s/"$//'; }

cat > "$tmp/p.ini" <<INI
[service]
http_listen = 127.0.0.1:$port
[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
pull_batch_size = 200
[pipe a.source]
tables = x, bad, y
rows = 500
changes = 40
[pipe a.sink]
output = $tmp/out.jsonl
refuse_tables = bad
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!

# the other tables load and stream; the pipe runs
wait_for "x and y loaded with their changes" 30 rows_in 1040
wait_for "running" 20 is_state running
[ "$(table_status bad)" = failed ] || fail "table bad is $(table_status bad), not failed"
[ "$(table_status x)" = active ] || fail "table x is $(table_status x)"
json | grep -q '"name":"bad","status":"failed".*"note":"memory_sink.setup_table: the destination refuses table '"'"'bad'"'"'"' ||
  fail "status --json does not give the reason: $(json)"
"$sluice" status a | grep -A1 -E "^ +bad +failed" | grep -q "the destination refuses table 'bad'" ||
  fail "status does not show the failed table and why: $("$sluice" status a)"
grep -q "table bad failed; the pipe's other tables go on" "$tmp/run.log" || fail "the failure is not in the log"
grep -q '"bad"' "$tmp/out.jsonl" && fail "the sink received rows of the refused table"
code=$(get /health)
[ "$code" = 200 ] || fail "/health answered $code with a failed table (degraded: the pipe goes on)"
grep -q '^{"status":"degraded","reasons":\["pipe a: table bad failed: memory_sink.setup_table: the destination refuses table' "$tmp/body" ||
  fail "/health body: $(cat "$tmp/body")"
grep -q '"failed_tables":{"bad":"memory_sink.setup_table: the destination refuses table' "$tmp/body" ||
  fail "/health does not name the failed table: $(cat "$tmp/body")"

# a pipe with a failed table is not wedged: it pauses and resumes
"$sluice" pause a --wait --timeout 20s > "$tmp/req.out" 2>&1 || fail "pause: $(cat "$tmp/req.out")"
"$sluice" resume a --wait --timeout 20s > "$tmp/req.out" 2>&1 || fail "resume: $(cat "$tmp/req.out")"

# a resync tries every table again: bad fails again, the others reload
"$sluice" resync a --wait --timeout 30s > "$tmp/req.out" 2>&1 || fail "resync: $(cat "$tmp/req.out")"
wait_for "running after the resync" 20 is_state running
[ "$(grep -c "table bad failed" "$tmp/run.log")" -ge 2 ] || fail "the resync did not try table bad again"
[ "$(table_status bad)" = failed ] || fail "after the resync, bad is $(table_status bad)"

kill -TERM $pid; wait $pid || fail "sluice run exit status after SIGTERM"

# no worker runs: removing the failed table needs none, and is done at once
"$sluice" tables remove a bad > "$tmp/req.out" 2>&1 || fail "tables remove bad: $(cat "$tmp/req.out")"
[ -z "$(table_status bad)" ] || fail "bad still in the pipe: $(json)"
"$sluice" status a | grep -q "tables remove *done.*failed tables removed at once" ||
  fail "the request is not done: $("$sluice" status a)"
# the other tables are not removed that way
"$sluice" tables remove a y > "$tmp/req.out" 2>&1 || fail "tables remove y: $(cat "$tmp/req.out")"
[ "$(table_status y)" = active ] || fail "y, not failed, was removed without a worker"

# in a state where tables remove is otherwise refused: pipe f, its table
# worse refused, then the pipe failed
cat > "$tmp/q.ini" <<INI
[pipe f]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe f.source]
tables = good, worse, fine
rows = 50
[pipe f.sink]
output = $tmp/f.jsonl
refuse_tables = worse
INI
f_running() { "$sluice" status f --json | grep -q '^{"name":"f","state":"running"'; }
"$sluice" run "$tmp/q.ini" >> "$tmp/run.log" 2>&1 & pid=$!
wait_for "pipe f running" 30 f_running
kill -TERM $pid; wait $pid
"$helper" "$store" step f fail "a fatal error, for the test" || fail "store_helper fail"
"$sluice" status f --json | grep -q '^{"name":"f","state":"failed"' || fail "f is not failed: $("$sluice" status f --json)"
"$sluice" tables remove f worse > "$tmp/req.out" 2>&1 || fail "tables remove of a failed table of a failed pipe: $(cat "$tmp/req.out")"
"$sluice" status f --json | grep -q '"name":"worse"' && fail "worse still in pipe f"
"$sluice" tables remove f fine > "$tmp/req.out" 2>&1 && fail "a table that did not fail removed from a failed pipe"
grep -q "cannot tables remove pipe 'f': it is failed" "$tmp/req.out" || fail "refusal: $(cat "$tmp/req.out")"

[ $failures = 0 ] || tail -30 "$tmp/run.log"
finish table_failed
