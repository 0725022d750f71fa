#!/usr/bin/env bash
# run.sh [hub]: builds and runs the benchmarks, printing their figures.
#   hub: bench_hub on SQLite (a file in a temporary directory) and on a
#        PostgreSQL server of Debian's started for the run.
# Figures are meant to be compared with the baseline printed beside them
# in the same run: these machines are noisy.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target bench_hub sluice retention >/dev/null
tmp=$(mktemp -d); chmod 755 "$tmp"
trap 'tests/servers/postgres.sh stop "$tmp/pg" 2>/dev/null; rm -rf "$tmp"' EXIT
export SLUICE_PLUGIN_PATH=$PWD/build/plugins
records=${RECORDS:-1000000}
echo "== hub, SQLite"
build/bench/bench_hub "sqlite:$tmp/bench.db" "$records"
echo "== hub, PostgreSQL"
tests/servers/postgres.sh start "$tmp/pg"
build/bench/bench_hub "$(cat "$tmp/pg/url")" "$records"
