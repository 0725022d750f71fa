#!/usr/bin/env bash
# campaign.sh [N | --seed S[,S...]]: the fault campaign (bench/faults/
# campaign.py says what one seed does): seeds 1 to N (default 5), or the
# seeds named, each a pipe of two collections from the MongoDB test server
# through the hub into a ClickHouse of its own while a writer changes them
# and faults drawn from the seed strike; each table under FINAL must then
# equal its collection, and `sluice store check` find the store whole.
# Prints a line per seed and last
# `N seeds, M faults, L lost, E extra, S stale`; exits 1 when any seed failed.
#   STORE=sqlite (default) | postgresql: the hub's store; with postgresql a
#     PostgreSQL server is started for the campaign, and restarting it is
#     one of the faults.
#   BUILD_DIR (default build): the build used (built here first).
#   FAULTS=KIND[,KIND...]: only these kinds of fault (sluice_kill, ch_kill,
#     ch_stop, mongo_refuse, pg_restart), to chase one; the seeds then draw
#     other schedules than in the full campaign.
#   CRASH_AT=POINT[,POINT...]: sluice started again after a sluice_kill
#     also kills itself at one of these crash points (segment.written,
#     say: campaign.py says how), started again at once without it.
#   LOGS (default a new temporary directory): where a failing seed's logs
#     stay, in LOGS/seed-N.
# Opt-in: not in .ci/run (50 seeds take about half an hour per store); the
# ctest label `faults` runs a smoke of two seeds.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BUILD_DIR:-build}
store=${STORE:-sqlite}
case ${1:-5} in
--seed) seeds=${2:?--seed needs a seed}; seeds=${seeds//,/ } ;;
*[!0-9]*) echo "usage: campaign.sh [N | --seed S[,S...]]" >&2; exit 2 ;;
*) seeds=$(seq 1 "${1:-5}") ;;
esac
case $store in sqlite | postgresql) ;; *) echo "campaign.sh: STORE is sqlite or postgresql" >&2; exit 2 ;; esac
if [ -z "${NO_BUILD:-}" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j "$(nproc)" --target sluice sink_clickhouse source_mongo \
    retention mongo_test_server >/dev/null
fi
build=$(cd "$build" && pwd)
tmp=$(mktemp -d); chmod 755 "$tmp"
logs=${LOGS:-$(mktemp -d /tmp/sluice-faults-XXXXXX)}
mkdir -p "$logs"
cleanup() {
  [ "$store" = postgresql ] && tests/servers/postgres.sh stop "$tmp/pg" >/dev/null 2>&1
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
export SLUICE_PLUGIN_PATH=$build/plugins
tests/servers/clickhouse.sh start "$tmp/ch"
what=sqlite
if [ "$store" = postgresql ]; then
  tests/servers/postgres.sh start "$tmp/pg"
  what=postgresql:$tmp/pg
fi
echo "== fault campaign: store $store, ClickHouse $(cat "$tmp/ch/version"), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'); logs of failing seeds in $logs"
status=0
/usr/bin/python3 bench/faults/campaign.py "$build/sluice" \
  "$build/tests/mongo_server/mongo_test_server" "$PWD/tests/servers" "$tmp/ch" \
  "$what" "$logs" $seeds || status=$?
[ -z "${LOGS:-}" ] && [ $status = 0 ] && rm -rf "$logs"
exit $status
