#!/usr/bin/env bash
# run.sh [hub|hub_scale|clickhouse|mongo|e2e]...: builds and runs the
# benchmarks (all but hub_scale and e2e by default), printing their figures.
#   hub: bench_hub on SQLite (a file in a temporary directory) and on a
#        PostgreSQL server of Debian's started for the run.
#   clickhouse: bench_clickhouse against a ClickHouse server of Debian's.
#   mongo: bench_mongo against the MongoDB wire-protocol test server with
#        RECORDS generated documents of 1 KiB, bench_source_mongo in each
#        doc_format, and bench_json (the JSON writer alone).
#   hub_scale: bench/hub/scale.sh on SQLite and PostgreSQL with EVENTS
#        (default 1000000) publication events: status, events and
#        maintenance times and peak memory.
#   e2e: sluice run end to end (bench/e2e/e2e.sh): snapshot of RECORDS
#        documents beside the best direct load (one request or 100k-row
#        requests), CDC latency, peak RSS.
#   scale: how sluice grows with pipes, collections and document sizes
#        (bench/scale/scale.sh, each of its stages: check, run,
#        collections, bigdocs).
# BUILD_DIR (default build) is the build directory used.
# Figures are meant to be compared with the baseline printed beside them
# in the same run: these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target bench_hub bench_clickhouse bench_mongo bench_source_mongo bench_json \
  bench_e2e_cdc sluice retention sink_clickhouse source_mongo mongo_test_server >/dev/null
tmp=$(mktemp -d); chmod 755 "$tmp"
trap 'tests/servers/postgres.sh stop "$tmp/pg" 2>/dev/null
      tests/servers/clickhouse.sh stop "$tmp/ch" 2>/dev/null; rm -rf "$tmp"' EXIT
export SLUICE_PLUGIN_PATH=$PWD/$build/plugins
records=${RECORDS:-1000000}
which=${*:-hub clickhouse mongo}
for bench in $which; do
  case $bench in
  hub)
    echo "== hub, SQLite"
    "$build"/bench/bench_hub "sqlite:$tmp/bench.db" "$records"
    echo "== hub, PostgreSQL"
    tests/servers/postgres.sh start "$tmp/pg"
    "$build"/bench/bench_hub "$(cat "$tmp/pg/url")" "$records"
    ;;
  clickhouse)
    echo "== sink_clickhouse, ClickHouse $(tests/servers/clickhouse.sh start "$tmp/ch"; cat "$tmp/ch/version")"
    "$build"/bench/bench_clickhouse "$(cat "$tmp/ch/url")" "$records"
    ;;
  mongo)
    echo "== mongo_test_server, $records documents of 1 KiB"
    "$build"/tests/mongo_server/mongo_test_server --port 0 \
      --generate "bench.docs=$records:1024" > "$tmp/mongo.out" &
    mongo_pid=$!
    until grep -q listening "$tmp/mongo.out" 2>/dev/null; do sleep 0.2; done
    port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")
    "$build"/bench/bench_mongo "mongodb://127.0.0.1:$port/?replicaSet=rs0" bench docs
    for threads in 1 2; do
      for form in clickpipes relaxed canonical; do
        echo "doc_format $form"
        "$build"/bench/bench_source_mongo "mongodb://127.0.0.1:$port/?replicaSet=rs0" \
          bench docs $threads $form
      done
    done
    "$build"/bench/bench_json
    kill $mongo_pid; wait $mongo_pid || true
    ;;
  hub_scale)
    bench/hub/scale.sh "$build/sluice" "sqlite:$tmp/scale.db" "${EVENTS:-1000000}"
    tests/servers/postgres.sh start "$tmp/pg" 2>/dev/null || true
    bench/hub/scale.sh "$build/sluice" "$(cat "$tmp/pg/url")" "${EVENTS:-1000000}"
    ;;
  e2e)
    bash bench/e2e/e2e.sh "$build" "$records"
    ;;
  scale)
    for stage in check run collections bigdocs; do
      bash bench/scale/scale.sh "$build" "$stage"
    done
    ;;
  *) echo "run.sh: no benchmark '$bench'" >&2; exit 2 ;;
  esac
done
