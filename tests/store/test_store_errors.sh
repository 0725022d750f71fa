#!/usr/bin/env bash
# test_store_errors.sh SLUICE HELPER PG_DIR: a store that cannot be used
# gives a clear message and loses nothing: bad URLs, an unwritable or
# foreign file, a newer store, a wrong password (never printed), a server
# that is not there, and one that goes away in the middle of a
# transaction.
set -u
sluice=$1 helper=$2 pgdir=$3
failures=0
tmp=$(mktemp -d)
chmod 755 "$tmp"  # the server runs as postgres and must reach its directory
cleanup() {
  [ -d "$tmp/pg" ] && "$(dirname "$0")/../servers/postgres.sh" stop "$tmp/pg"
  rm -rf "$tmp"
}
trap cleanup EXIT

run() {
  local want=$1; shift
  out=$("$@" 2>&1); local status=$?
  if [ "$status" != "$want" ]; then
    echo "FAIL: '$*' exited $status, expected $want"; echo "$out" | head -20
    failures=$((failures + 1))
  fi
}
has() { grep -qF -- "$1" <<<"$out" || { echo "FAIL: output lacks '$1'"; echo "$out"; failures=$((failures + 1)); }; }
lacks() { grep -qF -- "$1" <<<"$out" && { echo "FAIL: output shows '$1'"; echo "$out"; failures=$((failures + 1)); }; }

# a URL that is no store's is bad usage, known before anything runs
run 2 "$sluice" status --store mysql://u:hunter2@h/db
has "store URL 'mysql://u:********@h/db' is neither sqlite:PATH nor postgresql://"; lacks hunter2
run 2 "$sluice" status --store sqlite:
has "has no file path"
# a store that cannot be reached or read is a failure
run 1 "$sluice" status --store sqlite:/proc/no/such/dir/s.db
has "store sqlite:/proc/no/such/dir/s.db: cannot open"
run 1 "$sluice" store migrate --store sqlite:/proc/no/such/dir/s.db
has "store sqlite:/proc/no/such/dir/s.db: cannot create"
echo "not a database at all, but long enough to look like one........................................" > "$tmp/junk.db"
run 1 "$sluice" status --store "sqlite:$tmp/junk.db"
has "store sqlite:$tmp/junk.db"; has "file is not a database"

# a store written by a newer sluice
run 0 "$sluice" store migrate --store "sqlite:$tmp/s.db"
sqlite3 "$tmp/s.db" "UPDATE meta SET value = '99' WHERE key = 'schema_version'; UPDATE meta SET value = '9.0.0' WHERE key = 'written_by'"
run 1 "$sluice" status --store "sqlite:$tmp/s.db"
has "was written by a newer sluice (schema version 99, by sluice 9.0.0)"; has "upgrade sluice"

# PostgreSQL: wrong password, no server
base=$(cat "$pgdir/url")
wrong=${base/sluice-test@/not-the-password@}
run 1 "$sluice" status --store "$wrong"
has "password authentication failed"; has "postgresql://sluice:********@127.0.0.1"; lacks not-the-password
port=$(( $(cat "$pgdir/port") + 1 ))
run 1 "$sluice" status --store "postgresql://sluice@127.0.0.1:$port/sluice?connect_timeout=3"
has "cannot connect"

# the server goes away in the middle of a transaction: nothing of it is
# committed, the error says so and is transient; after a restart the same
# handle works again
pg="$(dirname "$0")/../servers/postgres.sh"
"$pg" start "$tmp/pg" || { echo "FAIL: private server"; exit 1; }
run 0 "$helper" "$(cat "$tmp/pg/url")" crash "$pg kill $tmp/pg" "$pg restart $tmp/pg"
has "commit: failed: "; has "[transient]"; has "while away: failed: "
has "after restart: before"

if [ $failures != 0 ]; then echo "$failures failures"; exit 1; fi
echo "all store error checks passed"
