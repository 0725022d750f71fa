#!/usr/bin/env bash
# test_publish_refused.sh SLUICE STORE_URL (a PostgreSQL store): the store
# refuses one publication of CDC with a transient error (a trigger that
# raises SQLSTATE 40001 once) and stays reachable, as when it restarts
# between the source's read and the publish: the pipe retries, reads those
# changes again from its checkpoint, and every change arrives.
set -u
sluice=$1 store=$2
here=$(dirname "$0")
. "$here/../lib.sh"
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
export SLUICE_STORE=$store
keys_in() { [ -f "$tmp/out.jsonl" ] && [ "$(grep -o '"key":[0-9]*,' "$tmp/out.jsonl" | sort -u | wc -l)" = "$1" ]; }

cat > "$tmp/p.ini" <<INI
[service]
progress = off
[pipe a]
source = memory_source
sink = memory_sink
mode = cdc
sync_interval = 1s
[pipe a.source]
tables = x
rows = 0
changes = 30
change_every = 100ms
[pipe a.sink]
output = $tmp/out.jsonl
INI
"$sluice" store migrate > /dev/null || fail "sluice store migrate of a new store"
"$psql" -q -v ON_ERROR_STOP=1 "$store" > /dev/null <<'SQL' || fail "cannot add the trigger"
CREATE SEQUENCE refusals;
CREATE FUNCTION refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('refusals') = 1 THEN
    RAISE EXCEPTION 'publication refused by the test' USING ERRCODE = '40001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER refuse_once BEFORE INSERT ON publications
  FOR EACH ROW EXECUTE FUNCTION refuse_once();
SQL
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "the 30 changes in the sink" 30 keys_in 30 ||
  { tail -20 "$tmp/run.log"; grep -o '"key":[0-9]*,' "$tmp/out.jsonl" | tr '\n' ' '; echo; }
grep -q 'retrying in .*publication refused by the test' "$tmp/run.log" ||
  fail "the refusal is not in the log: $(tail -5 "$tmp/run.log")"
kill -TERM $pid; wait $pid || fail "exit status after SIGTERM"
finish publish_refused
