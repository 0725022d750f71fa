#!/usr/bin/env bash
# test_failures.sh SLUICE STORE_URL: sluice run with sources that break
# their contract and a store that refuses writes; each failure reaches
# the pipe's state or the log, naming what failed.
# - records of a table the pipe did not ask for (snapshot and CDC): the
#   pipe fails naming the plugin and the table; nothing is published
# - cdc_ack failing: the pipe fails naming cdc_ack
# - the store refusing to record a failure, a retry, the end of the
#   retries, the pipe's recovery at a restart, or to read the pipe: each
#   in the log, and the pipe goes on once the store takes it
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

# x and y load side by side: whichever gives the ghost first is named
has_error ghost_snapshot "source memory_source: snapshot_next of table '"
has_error ghost_snapshot "' gave a record of table 'ghost'; a source gives records only of the table it is asked for"
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
grep -q "ack: running -> failed: .*cdc_ack" "$tmp/run.log" || fail "the failed cdc_ack is not in the log"

kill -TERM $pid; wait $pid

# ---- a store that refuses what the runtime writes or reads ----
# sql STATEMENT: through the store's own client
sql() {
  case $store in
  sqlite:*) sqlite3 -cmd ".timeout 10000" "${store#sqlite:}" "$1" ;;
  *) "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -tAq "$store" -c "$1" ;;
  esac
}
# refuse_retry_count CONDITION / allow_retry_count: updates of
# pipes.retry_count that meet CONDITION fail, by a trigger
refuse_retry_count() {
  case $store in
  sqlite:*) sql "CREATE TRIGGER refuse_retry BEFORE UPDATE OF retry_count ON pipes
                 WHEN $1 BEGIN SELECT RAISE(ABORT, 'retry_count refused by the test'); END" ;;
  *) sql "CREATE OR REPLACE FUNCTION refuse_retry() RETURNS trigger LANGUAGE plpgsql AS
          \$\$BEGIN RAISE EXCEPTION 'retry_count refused by the test'; END\$\$;
          CREATE TRIGGER refuse_retry BEFORE UPDATE OF retry_count ON pipes
          FOR EACH ROW WHEN ($1) EXECUTE FUNCTION refuse_retry()" ;;
  esac
}
allow_retry_count() {
  case $store in
  sqlite:*) sql "DROP TRIGGER refuse_retry" ;;
  *) sql "DROP TRIGGER refuse_retry ON pipes" ;;
  esac
}
retries() { json "$1" | sed -n 's/.*"retry_count":\([0-9]*\).*/\1/p'; }
retries_above() { [ "$(retries "$1")" -gt "$2" ]; }
retries_are() { [ "$(retries "$1")" = "$2" ]; }
rows() { cat "$tmp/$1.jsonl" 2>/dev/null | wc -l; }
rows_above() { [ "$(rows "$1")" -gt "$2" ]; }
logged() { grep -Eq -- "$1" "$tmp/run2.log"; }

# cdc_ack fails (fatal / retry) while its file exists
{
  printf '[service]\nprogress = off\n'
  for p in fatal retry; do
    pipe $p cdc "tables = x" "changes = 100000" "change_every = 100ms" \
      "misbehave = cdc_ack:$p" "misbehave_while = $tmp/$p.now"
  done
  pipe load cdc "tables = x" "changes = 100000" "change_every = 100ms"
} > "$tmp/q.ini"
"$sluice" run "$tmp/q.ini" > "$tmp/run2.log" 2>&1 & pid=$!
for p in fatal retry load; do wait_for "$p delivering" 30 rows_above $p 0; done

# the failure not recorded (no transitions table): in the log, and the
# pipe fails once the store takes it
sql "ALTER TABLE transitions RENAME TO transitions_away"
touch "$tmp/fatal.now"
wait_for "the unrecorded failure in the log" 30 \
  logged "fatal: the failure is not recorded in the store: .*transitions"
is_state fatal running || fail "fatal is $(state fatal) with no transitions table"
sql "ALTER TABLE transitions_away RENAME TO transitions"
wait_for "fatal failed once the store takes it" 30 is_state fatal failed
has_error fatal "memory_source.cdc_ack: memory: cdc_ack fails on purpose"

# the retries not counted, then their end not recorded
refuse_retry_count "NEW.retry_count > OLD.retry_count"
touch "$tmp/retry.now"
wait_for "the uncounted retry in the log" 30 \
  logged "retry: the retry is not recorded in the store: .*retry_count refused by the test"
allow_retry_count
wait_for "the retries counted" 30 retries_above retry 0
refuse_retry_count "NEW.retry_count < OLD.retry_count"
rm "$tmp/retry.now"
wait_for "the end of the retries not recorded, in the log" 60 \
  logged "retry: the end of the retries is not recorded in the store: .*retry_count refused by the test"
allow_retry_count
wait_for "the retries cleared" 30 retries_are retry 0

# the pipe not readable: in the log, and the pipe goes on after
sql "ALTER TABLE pipes RENAME COLUMN created_at TO created_away"
wait_for "the unreadable pipe in the log" 30 logged "load: .*created_at"
sql "ALTER TABLE pipes RENAME COLUMN created_away TO created_at"
n=$(rows load)
wait_for "changes after the pipe is readable again" 30 rows_above load "$n"
is_state load running || fail "load is $(state load) after the store came back"
kill -TERM $pid; wait $pid

# a restart that cannot bring a pausing pipe to paused (no transitions
# table): in the log, tried again, and done once the store takes it
sql "UPDATE pipes SET state = 'pausing' WHERE name = 'load'"
sql "ALTER TABLE transitions RENAME TO transitions_away"
"$sluice" run "$tmp/q.ini" >> "$tmp/run2.log" 2>&1 & pid=$!
wait_for "the failed recovery in the log" 30 \
  logged "load: cannot bring the pipe back to work: .*transitions"
sql "ALTER TABLE transitions_away RENAME TO transitions"
wait_for "load paused once the store takes it" 30 is_state load paused
kill -TERM $pid; wait $pid

# a thread that cannot start: with a stack limit no thread's stack can be
# mapped at, the pipe's thread fails to start; said, and the run ends 1
# (not under a sanitizer, whose own start the limit would break)
if [ -z "${ASAN_OPTIONS:-}${TSAN_OPTIONS:-}" ]; then
  (ulimit -s 200000000 && exec timeout 30 "$sluice" run "$tmp/q.ini") > "$tmp/run3.log" 2>&1
  status=$?
  [ $status = 1 ] || fail "sluice run whose pipe thread cannot start exited $status, not 1"
  grep -q "load: cannot start the pipe's thread" "$tmp/run3.log" ||
    fail "no word of the thread: $(cat "$tmp/run3.log")"
fi

[ $failures = 0 ] || tail -30 "$tmp/run.log" "$tmp/run2.log"
finish failures
