#!/usr/bin/env bash
# run.sh [hub|clickhouse]...: builds and runs the benchmarks (all by
# default), printing their figures.
#   hub: bench_hub on SQLite (a file in a temporary directory) and on a
#        PostgreSQL server of Debian's started for the run.
#   clickhouse: bench_clickhouse against a ClickHouse server of Debian's.
# Figures are meant to be compared with the baseline printed beside them
# in the same run: these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target bench_hub bench_clickhouse sluice \
  retention sink_clickhouse >/dev/null
tmp=$(mktemp -d); chmod 755 "$tmp"
trap 'tests/servers/postgres.sh stop "$tmp/pg" 2>/dev/null
      tests/servers/clickhouse.sh stop "$tmp/ch" 2>/dev/null; rm -rf "$tmp"' EXIT
export SLUICE_PLUGIN_PATH=$PWD/build/plugins
records=${RECORDS:-1000000}
which=${*:-hub clickhouse}
for bench in $which; do
  case $bench in
  hub)
    echo "== hub, SQLite"
    build/bench/bench_hub "sqlite:$tmp/bench.db" "$records"
    echo "== hub, PostgreSQL"
    tests/servers/postgres.sh start "$tmp/pg"
    build/bench/bench_hub "$(cat "$tmp/pg/url")" "$records"
    ;;
  clickhouse)
    echo "== sink_clickhouse, ClickHouse $(tests/servers/clickhouse.sh start "$tmp/ch"; cat "$tmp/ch/version")"
    build/bench/bench_clickhouse "$(cat "$tmp/ch/url")" "$records"
    ;;
  *) echo "run.sh: no benchmark '$bench'" >&2; exit 2 ;;
  esac
done
