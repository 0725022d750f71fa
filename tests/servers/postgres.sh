#!/usr/bin/env bash
# postgres.sh start|stop|kill|restart DIR: a PostgreSQL server of Debian's
# for the tests, on a free loopback port, with its data in DIR/data.
#
# start: initdb (as the postgres user when run as root: initdb refuses
#   root), password authentication, database `sluice` owned by user
#   `sluice` with password `sluice-test`; writes the URL to DIR/url.
# stop: a clean stop. kill: an immediate stop (the server goes away).
# restart: start an existing data directory again on the same port.
# SERVER_ADDRESS: the IPv4 address to listen on and to name in the URL
#   (127.0.0.1 when unset); any other than 127.0.0.1 is given password
#   access from every address (the multi-host test's namespaces).
# PG_FSYNC: the server's fsync setting, on or off (off when unset: the
#   tests need no durability against a power cut); read at start and
#   restart.
set -euo pipefail
cmd=$1 dir=$2
addr=${SERVER_ADDRESS:-127.0.0.1}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "postgres.sh: no PostgreSQL server installed (apt-get install postgresql)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

. "$(dirname "$0")/free_port.sh"

server_start() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=$addr -c fsync=${PG_FSYNC:-off}" start >/dev/null
}

case $cmd in
start)
  rm -rf "$dir"; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  echo sluice-test > "$dir/pwfile"
  as_owner "$bin/initdb" -D "$dir/data" -U sluice --pwfile="$dir/pwfile" \
    -A scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  [ "$addr" = 127.0.0.1 ] || echo "host all all 0.0.0.0/0 scram-sha-256" >> "$dir/data/pg_hba.conf"
  for attempt in 1 2 3; do # new port when one was taken meanwhile
    free_port > "$dir/port"
    server_start && break
    [ $attempt = 3 ] && { tail -5 "$dir/server.log" >&2; exit 1; }
  done
  PGPASSWORD=sluice-test "$bin/psql" -h "$addr" -p "$(cat "$dir/port")" -U sluice -d postgres \
    -qc "CREATE DATABASE sluice" >/dev/null
  echo "postgresql://sluice:sluice-test@$addr:$(cat "$dir/port")/sluice" > "$dir/url"
  ;;
restart) server_start ;;
stop) as_owner "$bin/pg_ctl" -D "$dir/data" -w -m fast stop >/dev/null 2>&1 || true; rm -rf "$dir" ;;
kill) as_owner "$bin/pg_ctl" -D "$dir/data" -w -m immediate stop >/dev/null 2>&1 || true ;;
*) echo "usage: postgres.sh start|stop|kill|restart DIR" >&2; exit 2 ;;
esac
