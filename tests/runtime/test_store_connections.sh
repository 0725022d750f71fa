#!/usr/bin/env bash
# test_store_connections.sh SLUICE: a PostgreSQL store (a server of its
# own, max_connections 20, of which 3 for superusers) that takes fewer
# connections than the pipes of `sluice run` need: it says so at start-up
# with the figures (an error: 12 pipes need 24, the server takes fewer).
# 4 pipes in cdc fit: nothing said. 4 pipes started while other sessions
# hold all but 3 of the server's connections wait for theirs, and run once
# those sessions end.
set -u
sluice=$1
here=$(dirname "$0")
. "$here/../lib.sh"
pg=$tmp/pg
chmod 755 "$tmp" # the server runs as the postgres user
"$here/../servers/postgres.sh" start "$pg" > /dev/null || { fail "cannot start PostgreSQL"; finish store_connections; }
trap 'kill -9 $(jobs -p) 2>/dev/null; "$here/../servers/postgres.sh" stop "$pg" > /dev/null 2>&1; at_exit' EXIT
psql_su() { PGPASSWORD=sluice-test psql -h 127.0.0.1 -p "$(cat "$pg/port")" -U sluice -qtA "$@"; }
# sluice as a user who is no superuser, as deployed
psql_su -d postgres -c "ALTER SYSTEM SET max_connections = 20" \
  -c "CREATE ROLE w LOGIN PASSWORD 'w'" -c "ALTER DATABASE sluice OWNER TO w"
"$here/../servers/postgres.sh" kill "$pg" > /dev/null
"$here/../servers/postgres.sh" restart "$pg" > /dev/null || fail "cannot restart PostgreSQL"
export SLUICE_STORE="postgresql://w:w@127.0.0.1:$(cat "$pg/port")/sluice"

# pipes.ini N: N pipes of memory_source in cdc mode
pipes_ini() {
  printf '[service]\nprogress = off\n'
  for i in $(seq 1 "$1"); do
    printf '[pipe p%d]\nsource = memory_source\nsink = memory_sink\nmode = cdc\n' "$i"
    printf '[pipe p%d.source]\ntables = x\n[pipe p%d.sink]\noutput = %s/p%d.jsonl\n' "$i" "$i" "$tmp" "$i"
  done
}
said() { grep -q "$1" "$tmp/run.log"; }

pipes_ini 4 > "$tmp/few.ini"
"$sluice" run "$tmp/few.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "4 pipes running" 30 said "running 4 pipe(s)" || { tail -20 "$tmp/run.log"; exit 1; }
sleep 1
said "more connection" && fail "4 pipes fit, yet: $(grep 'more connection' "$tmp/run.log")"
kill -TERM $pid; wait $pid

pipes_ini 12 > "$tmp/many.ini"
"$sluice" run "$tmp/many.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "the shortfall said" 30 said "12 pipe(s) need 24 more connection(s)" ||
  { tail -20 "$tmp/run.log"; exit 1; }
grep -q " error sluice: store postgresql://w:\*\*\*\*\*\*\*\*@.*12 pipe(s) need 24 more connection(s) (2 a pipe) and 0 more while their snapshots load.*but PostgreSQL takes [0-9]* more (max_connections 20, 3 reserved for superusers, [0-9]* in use); pipes past that wait for a free connection: raise max_connections or spread the pipes over more workers with --pipe" "$tmp/run.log" ||
  fail "the start-up error: $(grep 'more connection' "$tmp/run.log")"
kill -TERM $pid; wait $pid

# 14 of the 17 connections held elsewhere: the pipes that find none wait
sessions() { psql_su -d sluice -c "SELECT count(*) FROM pg_stat_activity WHERE usename = 'w' AND query NOT LIKE '%pg_sleep%'"; }
sleepers() { psql_su -d sluice -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"; }
held() { [ "$(sleepers)" -ge 14 ]; }
all_connected() { [ "$(sessions)" -eq 9 ]; }
for _ in $(seq 1 14); do
  PGPASSWORD=w psql -h 127.0.0.1 -p "$(cat "$pg/port")" -U w -d sluice -qtA -c "SELECT pg_sleep(600)" > /dev/null 2>&1 &
done
wait_for "14 sessions held" 30 held
pipes_ini 4 | sed 's/pipe p/pipe q/' > "$tmp/wait.ini"
"$sluice" run "$tmp/wait.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "a pipe waiting for its connection" 30 said "no store connection for the pipe, retrying" ||
  { tail -20 "$tmp/run.log"; exit 1; }
psql_su -d postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'" > /dev/null
# every pipe holds its connection and its delivery's: 1 + 2 a pipe
wait_for "the 4 pipes' connections" 90 all_connected ||
  { echo "sessions of w: $(sessions)"; tail -20 "$tmp/run.log"; }
kill -0 $pid 2>/dev/null || fail "sluice run ended: $(tail -3 "$tmp/run.log")"
kill -TERM $pid; wait $pid
finish store_connections
