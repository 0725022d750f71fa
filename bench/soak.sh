#!/usr/bin/env bash
# soak.sh HOURS [sqlite|postgresql]: a pipe under a steady load for HOURS
# (fractional: 0.1 is six minutes) with sluice's clock running 1440 times
# as fast (SLUICE_TEST_CLOCK=speed=1440: a real minute is a day), so that
# the topic's retention (one day after consumption) and the daily
# maintenance job come round every minute.
#
# It starts ClickHouse and, for a postgresql store, PostgreSQL of Debian's
# (tests/servers), the MongoDB test server, `sluice run` of one pipe
# (source_mongo to sink_clickhouse, one collection) and bench/soak.py:
# the load (RATE changes a second, default 1000: inserts, updates and
# deletes of a set of about 10,000 documents) and a sample every minute
# of sluice's RSS, open descriptors, store size, lag and maintenance
# runs. At the end the load stops, the destination catches up and is
# compared with the source (count and a checksum, FINAL), and RSS,
# descriptors and store size must be flat: after a warm-up of four days
# of sluice's time (the store fills for three), the second half's maximum
# within FLAT_PCT (default 10) percent of the first half's (descriptors
# within 2); a run too short for four samples after the warm-up is judged
# on the comparison alone. Prints PASS or FAIL and exits 0 or 1.
#
# BUILD_DIR (default build), RATE, SPEED (default 1440), SAMPLE_SECONDS
# (default 60), FLAT_PCT; KEEP=1 keeps the temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:?usage: soak.sh HOURS [sqlite|postgresql]}
kind=${2:-sqlite}
build=$(realpath -m "${BUILD_DIR:-build}")
case $kind in sqlite | postgresql) ;; *) echo "soak.sh: the store is sqlite or postgresql, not '$kind'" >&2; exit 2 ;; esac
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target sluice retention sink_clickhouse source_mongo mongo_test_server >/dev/null
tmp=$(mktemp -d /tmp/soak.XXXXXX); chmod 755 "$tmp"
mongo_pid= sluice_pid=
cleanup() {
  [ -n "$sluice_pid" ] && kill -TERM "$sluice_pid" 2>/dev/null && wait "$sluice_pid" 2>/dev/null
  [ -n "$mongo_pid" ] && kill "$mongo_pid" 2>/dev/null && wait "$mongo_pid" 2>/dev/null
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1 || true
  [ "$kind" = postgresql ] && tests/servers/postgres.sh stop "$tmp/pg" >/dev/null 2>&1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
export SLUICE_PLUGIN_PATH=$build/plugins SPEED=${SPEED:-1440}

tests/servers/clickhouse.sh start "$tmp/ch" >/dev/null
ch_url=$(cat "$tmp/ch/url")
if [ "$kind" = postgresql ]; then
  tests/servers/postgres.sh start "$tmp/pg" >/dev/null
  store=$(cat "$tmp/pg/url")
else
  store=sqlite:$tmp/store.db
fi

"$build"/tests/mongo_server/mongo_test_server --port 0 > "$tmp/mongo.out" 2> "$tmp/mongo.err" & mongo_pid=$!
for _ in $(seq 100); do grep -q "listening on" "$tmp/mongo.out" && break; sleep 0.1; done
port=$(sed -n 's/.*listening on .*:\([0-9]*\)$/\1/p' "$tmp/mongo.out")
[ -n "$port" ] || { echo "soak.sh: mongo_test_server did not start" >&2; exit 1; }
mongo_uri="mongodb://127.0.0.1:$port/?replicaSet=rs0"

cat > "$tmp/soak.ini" <<INI
[hub]
maintenance_at = 23:00

[topic soak]
consumed_retention_days = 1
unconsumed_retention_days = 2

[pipe soak]
source = source_mongo
sink = sink_clickhouse
topic = soak
mode = snapshot+cdc
sync_interval = 1s

[pipe soak.source]
uri = $mongo_uri
database = soak
collections = items
max_await_time = 200ms

[pipe soak.sink]
url = $ch_url
database = soak
INI

# the documents the snapshot copies; the pipe is started on them
/usr/bin/python3 bench/soak.py seed "$mongo_uri"
SLUICE_TEST_CLOCK=speed=$SPEED "$build"/sluice run "$tmp/soak.ini" --store "$store" \
  > "$tmp/sluice.log" 2>&1 & sluice_pid=$!
echo "soak: ${hours} h, store $kind, sluice pid $sluice_pid, log $tmp/sluice.log"
/usr/bin/python3 bench/soak.py run "$mongo_uri" "$ch_url" "$hours" "$sluice_pid" "$store" "$tmp/sluice.log"
