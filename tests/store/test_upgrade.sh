#!/usr/bin/env bash
# test_upgrade.sh SLUICE SLUICE_NEXT STORE_URL: upgrading the workers that
# share a store, as docs/operations.md ("Upgrading") says: stop them all,
# upgrade, start. SLUICE_NEXT is this sluice with one migration more (the
# next release, tests/store/schema_next.c). Two workers of this sluice run
# pipes a and b; the next release refuses to migrate the store while they
# hold its leases (run and store migrate, exit 1, the store unchanged).
# Once both have stopped, two workers of the next release start at once:
# one migrates the store, once, and the pipes go on from their
# checkpoints. This sluice then refuses the store, every command, naming
# the newer schema. A worker killed on this host (SIGKILL) holds nothing
# back.
set -u
sluice=$1 next=$2 store=$3
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
case $store in
sqlite:*) sql() { sqlite3 "${store#sqlite:}" "$1"; } ;;
*)        psql=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)/psql
          sql() { "$psql" -qAt "$store" -c "$1"; } ;;
esac
version() { sql "SELECT value FROM meta WHERE key = 'schema_version'"; }
state() { "$1" status "$2" --json | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
running() { [ "$(state "$1" a)" = running ] && [ "$(state "$1" b)" = running ]; }
rows() { "$1" status "$2" --json | sed -n 's/.*"rows":\([0-9]*\),"lag_ms".*/\1/p'; }
more_rows() { [ "$(rows "$1" a)" -gt "$2" ] && [ "$(rows "$1" b)" -gt "$3" ]; }

for pipe in a b; do
  cat <<INI
[pipe $pipe]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe $pipe.source]
tables = t$pipe
rows = 100
changes = 100000
change_every = 20ms
[pipe $pipe.sink]
output = $tmp/$pipe.jsonl
INI
done > "$tmp/p.ini"
# start BIN: one more worker of BIN; its pid appended to $workers
workers=""
start() { "$1" run "$tmp/p.ini" >> "$tmp/workers.log" 2>&1 & workers="$workers $!"; }
stop_all() {
  local pid
  for pid in $workers; do kill -TERM "$pid"; done
  for pid in $workers; do wait "$pid" || fail "a worker exited $? on SIGTERM"; done
  workers=""
}

# ---- two workers of this sluice (the second once the first has
# registered the pipes: two first starts at once race on PostgreSQL) ----
start "$sluice"; first=$!
wait_for "both pipes running" 30 running "$sluice"
start "$sluice"
wait_for "changes in both pipes" 30 more_rows "$sluice" 100 100
latest=$(version)

# ---- the next release refuses to migrate a store in use ----
# (a run that migrated would go on: timeout ends it, exit 124)
for cmd in "run $tmp/p.ini" "store migrate"; do
  run 1 timeout 30 "$next" $cmd
  has "has schema version $latest, older than this sluice's $((latest + 1)), and is in use"
  has "pipe:a by "; has "stop every worker of this store first"
done
[ "$(version)" = "$latest" ] || fail "the store was migrated to $(version) under running workers"
running "$sluice" || fail "the workers stopped running their pipes: $("$sluice" status)"

# ---- stop all, upgrade, start ----
# (the first worker, which holds the leases, is killed instead: a process
# of this host that is gone holds nothing back)
kill -9 "$first"; wait "$first" 2>/dev/null
workers=${workers/ $first/}
stop_all
rows_a=$(rows "$sluice" a) rows_b=$(rows "$sluice" b)
start "$next"; start "$next"
wait_for "both pipes running after the upgrade" 30 running "$next"
wait_for "the pipes going on after the upgrade" 30 more_rows "$next" "$rows_a" "$rows_b"
[ "$(version)" = $((latest + 1)) ] || fail "schema version $(version) after the upgrade, not $((latest + 1))"
[ "$(sql "SELECT count(*) FROM next_release")" = 1 ] || fail "the migration did not run once"
grep -q "error" "$tmp/workers.log" && fail "the workers logged errors: $(grep error "$tmp/workers.log")"

# ---- this sluice, now the older one, refuses the store ----
for cmd in "status" "status a" "history a" "pause a" "store migrate" "run $tmp/p.ini"; do
  run 1 timeout 30 "$sluice" $cmd
  has "was written by a newer sluice (schema version $((latest + 1)), by sluice "; has "upgrade sluice"
done
[ "$(version)" = $((latest + 1)) ] || fail "the older sluice changed the store's version to $(version)"
running "$next" || fail "the upgraded workers stopped: $("$next" status)"
stop_all
[ $failures = 0 ] || tail -20 "$tmp/workers.log"
finish upgrade
