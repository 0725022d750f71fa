#!/usr/bin/env bash
# idle.sh BUILD_DIR [RATE] [SECONDS]: sluice's own CPU per API request, on
# a pipe with nothing else to do. A snapshot of 10k documents (MongoDB
# test server -> ClickHouse of Debian's, SQLite hub) runs to completed
# with [service] http_listen on a free loopback port and api_token_file;
# then bench/api/load.py offers RATE (200) requests a second for SECONDS
# (10) on GET /v1/pipes/NAME and on /health, one after another, with 8
# connections and with 1, and prints for each sluice's CPU seconds (from
# /proc before and after) per request beside the load's latencies; last,
# sluice's CPU over as many seconds without requests. PERF=1: a `perf
# record` of sluice during a status load, its hottest symbols.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
rate=${2:-200}
seconds=${3:-10}
export SLUICE_PLUGIN_PATH=$build/plugins
tmp=$(mktemp -d); chmod 755 "$tmp"
mongo_pid= run_pid= load_pid=
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
cleanup() {
  stop_pid "$load_pid"; stop_pid "$run_pid"; stop_pid "$mongo_pid"
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

tests/servers/clickhouse.sh start "$tmp/ch" > /dev/null
"$build/tests/mongo_server/mongo_test_server" --port 0 --generate bench.docs=10000:1024 > "$tmp/mongo.out" &
mongo_pid=$!
until grep -q "^listening on 127.0.0.1:[0-9][0-9]*$" "$tmp/mongo.out" 2>/dev/null; do sleep 0.2; done
mongo_port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/token"
chmod 600 "$tmp/token"
cat > "$tmp/idle.ini" <<EOF
[store]
url = sqlite:$tmp/idle.db
[service]
http_listen = 127.0.0.1:$port
api_token_file = $tmp/token
[pipe idle]
source = source_mongo
sink = sink_clickhouse
mode = snapshot
[pipe idle.source]
uri = mongodb://127.0.0.1:$mongo_port/?replicaSet=rs0
database = bench
collections = docs
[pipe idle.sink]
url = $(cat "$tmp/ch/url")
database = idle
EOF
"$build/sluice" run "$tmp/idle.ini" > "$tmp/run.log" 2>&1 &
run_pid=$!
state() {
  "$build/sluice" status idle --json --config "$tmp/idle.ini" 2>/dev/null |
    sed -n 's/^{"name":"[^"]*","state":"\([a-z]*\)".*/\1/p' || true
}
until [ "$(state)" = completed ]; do
  kill -0 "$run_pid" 2>/dev/null || { cat "$tmp/run.log"; exit 1; }
  [ "$(state)" = failed ] && { cat "$tmp/run.log"; exit 1; }
  sleep 0.3
done
sleep 1

# cpu_s: sluice's CPU seconds (user + system) so far
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / hz }' "/proc/$run_pid/stat"
}
echo "== $rate requests a second for $seconds s on an idle pipe (snapshot of 10k completed)"
for what in "--pipe idle" "--path /health" "--pipe idle --connections 1" "--path /health --connections 1"; do
  c0=$(cpu_s)
  # shellcheck disable=SC2086 # the options of the load, split
  python3 bench/api/load.py "http://127.0.0.1:$port" $what --token-file "$tmp/token" \
    --rate "$rate" --seconds "$seconds" > "$tmp/load.out"
  c1=$(cpu_s)
  awk -v what="$what" -v c0="$c0" -v c1="$c1" '
    { v[$1] = $2 }
    END {
      printf "%s: %d requests, %d errors; sluice CPU %.2f s, %.3f ms a request; p50 %s ms, p99 %s ms, max %s ms\n",
        what, v["count"], v["errors"], c1 - c0, (c1 - c0) * 1000 / v["count"], v["p50_ms"], v["p99_ms"], v["max_ms"]
    }' "$tmp/load.out"
done
c0=$(cpu_s); sleep "$seconds"
echo "no requests: sluice CPU $(awk -v a="$c0" -v b="$(cpu_s)" 'BEGIN { printf "%.2f", b - a }') s in $seconds s"

if [ "${PERF:-0}" = 1 ]; then
  python3 bench/api/load.py "http://127.0.0.1:$port" --pipe idle --token-file "$tmp/token" \
    --rate "$rate" --seconds "$((seconds + 2))" > /dev/null &
  load_pid=$!
  sleep 1
  perf record -q -g -p "$run_pid" -o "$tmp/perf.data" -- sleep "$seconds" > /dev/null 2>&1 || true
  wait "$load_pid"; load_pid=
  echo "== perf: sluice's hottest symbols during the status load"
  perf report -i "$tmp/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
    grep -E '^ +[0-9]' | head -25
fi
