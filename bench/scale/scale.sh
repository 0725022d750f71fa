#!/usr/bin/env bash
# scale.sh BUILD_DIR [STAGE [ARGS]]: how sluice grows with the number of
# pipes, of collections and with the size of documents (issue 19), printing
# a table of figures; STAGE is one of (default check):
#   check [COUNTS]: `sluice check` of a file of N pipes (source_mongo ->
#     sink_clickhouse, a database each), N in COUNTS (default "10 100 1000
#     2500 10000"); the wall time and peak RSS of each, and the ratios of
#     time and of pipes to the row before. SLUICE_BASE=PATH (a sluice built from
#     another commit) runs that one beside it.
#   run [COUNTS]: `sluice run` of N cdc pipes (default "10 100 500") on one
#     worker, PostgreSQL store: the time until every pipe is running, the
#     process's threads, its connections to PostgreSQL
#     (pg_stat_activity), RSS; at PostgreSQL's default max_connections
#     (100), then at 1,100 (or at MAX_CONNECTIONS alone).
#   collections [COLLS [DOCS]]: one snapshot pipe over COLLS collections
#     (default 1000) of DOCS documents of 1 KiB (default 1000): the time
#     until every row is in ClickHouse, peak RSS, ClickHouse's active
#     parts and tables of the database.
#   bigdocs [SIZES [BYTES]]: a snapshot of documents of each size in SIZES
#     (MiB; default "4 16"; 16 MiB is the largest a BSON document may be,
#     so that one is made 1 KiB short of it), BYTES of them (default 1 GiB)
#     at the default batch bounds: MB/s and peak RSS.
# MongoDB is the wire-protocol test server, ClickHouse and PostgreSQL are
# Debian's (tests/servers).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
shift || true
export SLUICE_PLUGIN_PATH=$build/plugins
tmp=$(mktemp -d); chmod 755 "$tmp"
mongo_pid= run_pid=
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
cleanup() {
  stop_pid "$run_pid"; stop_pid "$mongo_pid"
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1 || true
  tests/servers/postgres.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
ch() { curl -sS --fail-with-body "$ch_url/" --data-binary "$1"; }
summary=()

start_mongo() {
  "$build/tests/mongo_server/mongo_test_server" --port 0 "$@" > "$tmp/mongo.out" &
  mongo_pid=$!
  until grep -q "^listening on 127.0.0.1:[0-9][0-9]*$" "$tmp/mongo.out" 2>/dev/null; do
    kill -0 "$mongo_pid" 2>/dev/null || { cat "$tmp/mongo.out"; exit 1; }
    sleep 0.2
  done
  mongo_uri="mongodb://127.0.0.1:$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/mongo.out" | head -1)/?replicaSet=rs0"
}
start_ch() {
  [ -n "${ch_url:-}" ] && return
  tests/servers/clickhouse.sh start "$tmp/ch" >/dev/null
  ch_url=$(cat "$tmp/ch/url")
}

# pipes_ini FILE STORE_URL COUNT MODE: COUNT pipes p1..pN, each over the
# collection cN of database scale into the ClickHouse database pN; the
# pipes of a worker with one uri share a pool of MongoDB connections
# (maxPoolSize, 100 by default) and each pipe in CDC keeps one, hence
# maxPoolSize=1000
pipes_ini() {
  awk -v store="$2" -v n="$3" -v mode="$4" -v mongo="${mongo_uri:-mongodb://127.0.0.1:1/?replicaSet=rs0}&maxPoolSize=1000" \
      -v ch="${ch_url:-http://127.0.0.1:1}" 'BEGIN {
    printf "[store]\nurl = %s\n[service]\nprogress = log\nprogress_interval = 1d\n", store
    for (i = 1; i <= n; i++) {
      printf "[pipe p%d]\nsource = source_mongo\nsink = sink_clickhouse\nmode = %s\nsync_interval = 1s\n", i, mode
      printf "[pipe p%d.source]\nuri = %s\ndatabase = scale\ncollections = c%d\n", i, mongo, i
      printf "[pipe p%d.sink]\nurl = %s\ndatabase = p%d\n", i, ch, i
    }
  }' > "$1"
}

# check_once SLUICE FILE: "seconds peak_RSS_MiB" of `sluice check FILE`
check_once() {
  /usr/bin/time -f "%e %M" -o "$tmp/time" "$1" check "$2" > "$tmp/check.out" 2>&1 ||
    { cat "$tmp/check.out" >&2; exit 1; }
  awk '{ printf "%s %.0f\n", $1, $2 / 1024 }' "$tmp/time"
}

stage_check() {
  local counts=${1:-10 100 1000 2500 10000} n prev= t rss line base
  echo "== sluice check, N pipes (time ratio and pipes ratio: against the row before)"
  for n in $counts; do
    pipes_ini "$tmp/check$n.ini" "sqlite:$tmp/check.db" "$n" snapshot+cdc
    read -r t rss < <(check_once "$build/sluice" "$tmp/check$n.ini")
    line="| check, $n pipes | $t s | $rss MiB |"
    [ -n "$prev" ] && line+=" time x$(ratio "$t" "${prev#* }") for pipes x$(ratio "$n" "${prev% *}")"
    prev="$n $t"
    if [ -n "${SLUICE_BASE:-}" ]; then
      read -r base _ < <(check_once "$SLUICE_BASE" "$tmp/check$n.ini")
      line+=" | $SLUICE_BASE: $base s"
    fi
    echo "$line"
    summary+=("$line |")
  done
}

# pg_connections: the store connections sluice has open now
pg_connections() {
  pg -d sluice -tAc \
    "SELECT count(*) FROM pg_stat_activity WHERE usename = 'scale'"
}

pg() { PGPASSWORD=sluice-test psql -h 127.0.0.1 -p "$(cat "$tmp/pg/port")" -U sluice "$@"; }

# run_once N: sluice run of N cdc pipes until all are running (or sluice
# ended, or 3 minutes); its figures into the summary
run_once() {
  local n=$1 i t0 up= running=0 threads conns rss hwm gen=() max
  max=$(pg -d sluice -tAc 'SHOW max_connections')
  for i in $(seq 1 "$n"); do gen+=(--generate "scale.c$i=1:100"); done
  start_mongo "${gen[@]}"
  pg -d postgres -qc "DROP DATABASE IF EXISTS sluice WITH (FORCE)" -c "CREATE DATABASE sluice OWNER scale" >/dev/null
  pipes_ini "$tmp/run$n.ini" "$(sed 's|//sluice:sluice-test@|//scale:scale@|' "$tmp/pg/url")" "$n" cdc
  t0=$(now)
  "$build/sluice" run "$tmp/run$n.ini" > "$tmp/run$n.log" 2>&1 &
  run_pid=$!
  for _ in $(seq 1 180); do
    kill -0 "$run_pid" 2>/dev/null || break
    # the pipes' states from the store itself: `sluice status` may find
    # no free connection
    running=$(pg -d sluice -tAc "SELECT count(*) FROM pipes WHERE state = 'running'" 2>/dev/null || echo 0)
    [ "$running" -ge "$n" ] && { up=$(since "$t0"); break; }
    sleep 1
  done
  sleep 3 # settled: a few sync intervals
  threads=$(status_kib "$run_pid" Threads); conns=$(pg_connections)
  rss=$(mib "$(status_kib "$run_pid" VmRSS)"); hwm=$(mib "$(status_kib "$run_pid" VmHWM)")
  if [ -n "$up" ]; then up="running after $up s"; else up="$running of $n running after $(since "$t0") s"; fi
  echo "run $n pipes, max_connections $max: $up; threads $threads; store connections $conns; RSS $rss MiB (peak $hwm)"
  summary+=("| run, $n pipes, max_connections $max | $up | threads $threads | store connections $conns | RSS $rss MiB, peak $hwm MiB |")
  grep -E ' (warn|error) ' "$tmp/run$n.log" | cut -c26- | sed 's/p[0-9][0-9]*/pN/g; s/[0-9][0-9]*ms/Nms/g' |
    sort | uniq -c | sort -rn | head -4 || true
  stop_pid "$run_pid"; run_pid=
  stop_pid "$mongo_pid"; mongo_pid=
  for i in $(seq 1 "$n"); do ch "DROP DATABASE IF EXISTS p$i" >/dev/null; done
}

stage_run() {
  local counts=${1:-10 100 500} n
  echo "== sluice run, N cdc pipes on one worker, PostgreSQL store"
  start_ch
  tests/servers/postgres.sh start "$tmp/pg"
  # sluice as a user who is no superuser, as in a deployment: the
  # connections reserved for superusers stay free for the figures
  pg -d postgres -qc "CREATE ROLE scale LOGIN PASSWORD 'scale'"
  # at the server's default max_connections, then at enough for 500
  # pipes; MAX_CONNECTIONS=N: at N alone
  if [ -z "${MAX_CONNECTIONS:-}" ]; then
    for n in $counts; do run_once "$n"; done
  fi
  pg -d sluice -qc "ALTER SYSTEM SET max_connections = ${MAX_CONNECTIONS:-1100}" >/dev/null
  tests/servers/postgres.sh kill "$tmp/pg"; tests/servers/postgres.sh restart "$tmp/pg"
  for n in $counts; do
    [ -n "${MAX_CONNECTIONS:-}" ] || [ $((2 * n + 1)) -gt 97 ] && run_once "$n"
  done
  return 0
}

# snapshot_run NAME TOTAL_ROWS: sluice run of $tmp/NAME.ini until
# TOTAL_ROWS rows are in the ClickHouse database NAME; sets secs, hwm
snapshot_run() {
  local name=$1 total=$2 t0
  t0=$(now)
  "$build/sluice" run "$tmp/$name.ini" > "$tmp/$name.log" 2>&1 &
  run_pid=$!
  until [ "$(ch "SELECT sum(rows) FROM system.parts WHERE database = '$name' AND active")" -ge "$total" ] 2>/dev/null; do
    kill -0 "$run_pid" 2>/dev/null || { tail -20 "$tmp/$name.log"; exit 1; }
    sleep 0.5
  done
  secs=$(since "$t0")
  hwm=$(mib "$(status_kib "$run_pid" VmHWM)")
  stop_pid "$run_pid"; run_pid=
  grep -E ' (warn|error) ' "$tmp/$name.log" | head -3 || true
}

snapshot_ini() { # NAME COLLECTIONS
  cat > "$tmp/$1.ini" <<INI
[store]
url = sqlite:$tmp/$1.db
[service]
progress = log
progress_interval = 1d
[pipe $1]
source = source_mongo
sink = sink_clickhouse
mode = snapshot
[pipe $1.source]
uri = $mongo_uri
database = scale
collections = $2
[pipe $1.sink]
url = $ch_url
database = $1
INI
}

stage_collections() {
  local colls=${1:-1000} docs=${2:-1000} gen=() list i parts tables
  echo "== one pipe over $colls collections of $docs documents of 1 KiB"
  start_ch
  for i in $(seq 1 "$colls"); do gen+=(--generate "scale.c$i=$docs:1024"); done
  start_mongo "${gen[@]}"
  list=$(seq -s, -f 'c%.0f' 1 "$colls")
  snapshot_ini colls "$list"
  snapshot_run colls $((colls * docs))
  # the setup (a destination table made for each collection) apart
  local t_run t_snap setup
  t_run=$(date -d "$(grep -m1 ' running 1 pipe' "$tmp/colls.log" | sed 's/ .*//')" +%s.%N)
  t_snap=$(date -d "$(grep -m1 ' setup -> snapshot' "$tmp/colls.log" | sed 's/ .*//')" +%s.%N)
  setup=$(awk -v a="$t_run" -v b="$t_snap" 'BEGIN { printf "%.1f", b - a }')
  parts=$(ch "SELECT count() FROM system.parts WHERE database = 'colls' AND active")
  tables=$(ch "SELECT count() FROM system.tables WHERE database = 'colls'")
  echo "snapshot of $colls x $docs: $secs s (setup $setup s), ($(awk -v n=$((colls * docs)) -v s="$secs" 'BEGIN { printf "%.0f", n / s }') docs/s); peak RSS $hwm MiB; ClickHouse tables $tables, active parts $parts"
  summary+=("| snapshot, $colls collections x $docs docs | $secs s, of which setup $setup s | peak RSS $hwm MiB | tables $tables, active parts $parts | |")
  stop_pid "$mongo_pid"; mongo_pid=
}

stage_bigdocs() {
  local sizes=${1:-4 16} bytes=${2:-1073741824} mb size count
  start_ch
  for mb in $sizes; do
    size=$((mb * 1048576)); [ "$mb" -ge 16 ] && size=$((16777216 - 1024))
    count=$((bytes / size))
    echo "== snapshot of $count documents of $size bytes"
    start_mongo --generate "scale.big=$count:$size"
    snapshot_ini "big$mb" big
    snapshot_run "big$mb" "$count"
    echo "$mb MiB documents: $secs s, $(awk -v b=$((count * size)) -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }') MB/s; peak RSS $hwm MiB"
    summary+=("| snapshot, $count docs of $mb MiB | $secs s | $(awk -v b=$((count * size)) -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }') MB/s | peak RSS $hwm MiB | |")
    stop_pid "$mongo_pid"; mongo_pid=
    ch "DROP DATABASE big$mb" >/dev/null
  done
}

[ $# -gt 0 ] || set -- check
stage=$1; shift
case $stage in
check) stage_check "$@" ;;
run) stage_run "$@" ;;
collections) stage_collections "$@" ;;
bigdocs) stage_bigdocs "$@" ;;
*) echo "scale.sh: no stage '$stage' (check, run, collections, bigdocs)" >&2; exit 2 ;;
esac
echo "== summary"
printf '%s\n' "${summary[@]}"
