#!/usr/bin/env bash
# test_store_open.sh SLUICE HELPER URL: what each command may do to a
# store (docs/operations.md, "What each command does to the store"). The
# commands that read never create a store nor migrate one, and read an
# older schema as far as they can; those that write need a store of the
# current schema; only run, topic create and store migrate create or
# upgrade one; a store of a newer sluice is refused by every command. A
# new SQLite store is mode 0600, its -wal and -shm files too; an existing
# file keeps its mode.
set -u
sluice=$1 helper=$2 store=$3
here=$(dirname "$0")
. "$here/../lib.sh"
export SLUICE_STORE=$store
psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
case $store in
sqlite:*) db=${store#sqlite:}
          sql() { sqlite3 "$db" "$1"; }
          set_up() { [ -e "$db" ]; }
          missing="$db: cannot open: no such file" ;;
*)        sql() { "$psql" -qAt "$store" -c "$1"; }
          set_up() { [ "$(sql "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'")" != 0 ]; }
          missing="holds no sluice schema" ;;
esac
version() { sql "SELECT value FROM meta WHERE key = 'schema_version'"; }
record='{"table":"o","op":"insert","key":1,"doc":{},"version":1}'
cat > "$tmp/c.ini" <<INI
[pipe a]
source = memory_source
sink = memory_sink
topic = t
INI

# --- no store yet: neither reading nor writing makes one
for cmd in "status" "status a" "history a" "events" "topic list" \
           "topic describe t" "subscription list" "maintenance report 1" \
           "maintenance run --dry-run" "pause a" "resume a" "resync a" \
           "tables add a x" "pipe delete a" "subscription create s --topic t" \
           "subscription pause s" "maintenance run"; do
  run 1 "$sluice" $cmd
  has "$missing"; has "sluice run, sluice topic create and sluice store migrate"
done
run 1 "$sluice" topic publish t <<<"$record"; has "$missing"
run 1 "$sluice" topic consume t --subscription s; has "$missing"
set_up && fail "a command that only reads or writes set up a store"

# --- topic create makes it: a new SQLite file is its owner's alone
run 0 "$sluice" topic create t
set_up || fail "topic create set up no store"
if [ "${store#sqlite:}" != "$store" ]; then
  [ "$(stat -c %a "$db")" = 600 ] || fail "the store file is mode $(stat -c %a "$db"), not 600"
  "$helper" "$store" hold modes 60000 > "$tmp/hold" 2>&1 & holder=$!
  wait_for "a transaction of the holder" 10 grep -q . "$tmp/hold"
  for f in "$db-wal" "$db-shm"; do
    [ "$(stat -c %a "$f" 2>&1)" = 600 ] || fail "$f is mode $(stat -c %a "$f" 2>&1), not 600"
  done
  kill $holder; wait $holder 2>/dev/null
  # a file the operator made keeps the mode the operator chose
  touch "$tmp/own.db"; chmod 640 "$tmp/own.db"
  run 0 "$sluice" store migrate --store "sqlite:$tmp/own.db"
  [ "$(stat -c %a "$tmp/own.db")" = 640 ] || fail "store migrate changed the mode of an existing file"
fi
run 0 "$helper" "$store" register "$tmp/c.ini"

# --- an older schema (2: before pipe_tables.rows_per_s and note, and
# pipes.batches, 4's destinations, 6's figures and 7's progress): read as
# it is where that works, never migrated
sql "DROP INDEX publications_by_segment; ALTER TABLE publications DROP COLUMN segment; ALTER TABLE publications DROP COLUMN segment_offset; ALTER TABLE publications DROP COLUMN blob_length; ALTER TABLE publications DROP COLUMN blob_checksum; DROP TABLE workers; ALTER TABLE leases DROP COLUMN wanted_by; ALTER TABLE pipe_tables DROP COLUMN rows_pending; ALTER TABLE pipe_tables DROP COLUMN bytes_pending; ALTER TABLE pipe_tables DROP COLUMN rate_steady; ALTER TABLE pipe_tables DROP COLUMN rows_delivered; ALTER TABLE pipe_tables DROP COLUMN bytes_delivered; ALTER TABLE pipes DROP COLUMN retrying_since; ALTER TABLE pipes DROP COLUMN last_error_at; ALTER TABLE pipe_tables DROP COLUMN form; ALTER TABLE pipe_tables DROP COLUMN swapping; DROP INDEX pipe_tables_by_destination; ALTER TABLE pipe_tables DROP COLUMN destination; ALTER TABLE pipe_tables DROP COLUMN set_up_before_owners; ALTER TABLE pipes DROP COLUMN batches; ALTER TABLE pipe_tables DROP COLUMN rows_per_s; ALTER TABLE pipe_tables DROP COLUMN note; UPDATE meta SET value = '2' WHERE key = 'schema_version'" ||
  fail "cannot make the store older"
run 0 "$sluice" topic list; has "t "
run 1 "$sluice" status
has "has schema version 2, older than this sluice's"; has "sluice store migrate, or sluice run, upgrades it"
run 1 "$sluice" pause a
has "this command writes only to a store of the current schema"; has "sluice store migrate"
run 1 "$sluice" topic publish t <<<"$record"; has "writes only to a store of the current schema"
[ "$(version)" = 2 ] || fail "a command that reads or writes migrated the store to $(version)"
run 0 "$sluice" store migrate; has "was 2"
run 0 "$sluice" status; has "provisioning"
run 0 "$sluice" store migrate; has "already current"

# --- a newer schema: refused by every command, run too
latest=$(version)
sql "UPDATE meta SET value = '99' WHERE key = 'schema_version'"
for cmd in "status" "topic list" "pause a" "topic create u" "store migrate" \
           "run $tmp/c.ini"; do
  run 1 "$sluice" $cmd; has "was written by a newer sluice (schema version 99"
done
[ "$(version)" = 99 ] || fail "a command changed a newer store"
sql "UPDATE meta SET value = '$latest' WHERE key = 'schema_version'"
finish store_open
