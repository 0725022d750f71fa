#!/usr/bin/env bash
# e2e.sh BUILD_DIR [RECORDS]: the end-to-end benchmarks of `sluice run`,
# MongoDB wire-protocol test server -> sluice (SQLite or PostgreSQL hub)
# -> ClickHouse of Debian's, each beside its baseline in the same run:
#   snapshot of RECORDS documents of 1 KiB in one collection, then split
#     over 4 collections: documents/s and MB/s from the start of `sluice run`
#     until every row is visible in ClickHouse (active parts' rows in
#     system.parts), sluice's CPU seconds per million documents until
#     then, and the sluice process's peak RSS; baselines: the same rows
#     (exported from ClickHouse as RowBinary) streamed from files into the
#     HTTP interface by curl, timed until visible in the same way, the
#     tables at once: one request per table (bench/clickhouse's direct
#     load), then 100k-row files (split by ClickHouse on ranges of _id)
#     one request after another per table, ClickHouse's own advice.
#     Each load waits until ClickHouse merges nothing. Printed last:
#     sluice_vs_best_direct, sluice's documents/s over those of the faster
#     direct load, the figure changes are judged by.
#   CDC latency with sync_interval = 1s: bench_e2e_cdc writes at a rate
#     and polls ClickHouse: inserts at 1k and 10k changes/s, then 10k
#     changes/s mixed (a third $set of a.b.c, a third $push/$pull, a sixth
#     inserts, a sixth deletes, on existing documents; every fifth group of
#     10 in a transaction), whose destination must equal the collection at
#     the end; each phase's CPU seconds of sluice, the test server and
#     ClickHouse.
# MB are 10^6 bytes of RowBinary (the rows as ClickHouse stores them).
#   typed columns: the snapshot of one collection with five typed columns
#     (sink_clickhouse's `columns`) beside the same without, COLUMN_ROUNDS
#     times (default 4), which first in turn: the ratio of their
#     documents/s, each round's and that of their sums.
# SOURCE_OPTIONS and SINK_OPTIONS (INI lines) go into the pipe's source and
# sink sections: SOURCE_OPTIONS="doc_format = relaxed", say.
# STAGES (default "one four cdc") picks the runs: the snapshot of one
# collection, of four, the CDC phases (cdc: all three; cdc_insert: the
# inserts only; cdc_mixed: the mixed phase only, on 20k documents it
# inserts first), and (columns) the snapshot with typed columns against
# none.
# RUNS=N (default 1): the snapshot of one collection N times in a row
# (a new test server and new databases each, the direct loads measured in
# each run), then the min, median and max of sluice's CPU seconds per
# million documents, its seconds and sluice_vs_best_direct.
# STORE=postgres (default sqlite): the hub on a PostgreSQL test server
# (tests/servers/postgres.sh, a database per pipe), its fsync setting
# PG_FSYNC=on|off (default off, as the tests'); the header names both.
# PHASES=1 (root, perf): uprobes on sluice and its plugins during the first
# snapshot, and the time per thread and phase (bench/e2e/phases.py).
# API_RATE=N: during each snapshot, N requests a second for the pipe's
# status (GET /v1/pipes/NAME with the token of [service] api_token_file,
# the service on a free loopback port) by bench/api/load.py, open loop,
# from the moment the pipe answers until every row is visible; then
# api_requests, api_errors, api_p50_ms, api_p99_ms, api_max_ms (latency
# from each request's due time) and the load's own CPU seconds, which it
# takes from the same two cores.
# API_PATH=PATH: the same load on PATH instead (/health, say: the
# service's page of before the API, a control with the same client and
# HTTP cost; it reads the pipes' view from the store too, not the API's).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
records=${2:-1000000}
cdc_seconds=${CDC_SECONDS:-20}
export SLUICE_PLUGIN_PATH=$build/plugins
tmp=$(mktemp -d); chmod 755 "$tmp"
mongo_pid= run_pid= api_pid=
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
probes_off() {
  for p in sluice sink_clickhouse source_mongo; do perf probe -q -d "probe_$p:*" 2>/dev/null || true; done
}
cleanup() {
  stop_pid "$api_pid"; stop_pid "$run_pid"; stop_pid "$mongo_pid"
  [ "${PHASES:-0}" = 1 ] && probes_off
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1 || true
  [ -d "$tmp/pg" ] && tests/servers/postgres.sh stop "$tmp/pg" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }
ch() { curl -sS --fail-with-body "$ch_url/" --data-binary "$1"; }
# ch_to FILE QUERY: the answer into FILE; ClickHouse's error on failure
ch_to() {
  curl -sS --fail-with-body "$ch_url/" -o "$1" --data-binary "$2" ||
    { echo "ClickHouse: $(head -c 1000 "$1") (query: $2)" >&2; exit 1; }
}

echo "== ClickHouse $(tests/servers/clickhouse.sh start "$tmp/ch"; cat "$tmp/ch/version")"
ch_url=$(cat "$tmp/ch/url")

# the hub: a SQLite file per pipe, or a database per pipe on one
# PostgreSQL test server (STORE=postgres; PG_FSYNC its fsync setting)
store=${STORE:-sqlite}
case $store in
sqlite) echo "== store: SQLite, a file per pipe in $tmp" ;;
postgres)
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  PG_FSYNC=${PG_FSYNC:-off} tests/servers/postgres.sh start "$tmp/pg"
  pg_url=$(cat "$tmp/pg/url")
  echo "== store: PostgreSQL $("$pg_bin/psql" -qAt "$pg_url" -c "SHOW server_version"), a database per pipe, fsync=$("$pg_bin/psql" -qAt "$pg_url" -c "SHOW fsync")"
  ;;
*) echo "e2e.sh: STORE is sqlite or postgres, not '$store'" >&2; exit 2 ;;
esac
# store_url NAME: a new, empty store for the pipe NAME; store_drop NAME
store_url() {
  if [ "$store" = sqlite ]; then echo "sqlite:$tmp/$1.db"; return; fi
  "$pg_bin/psql" -q "$pg_url" -c "CREATE DATABASE $1" > /dev/null
  echo "${pg_url%/*}/$1"
}
store_drop() {
  if [ "$store" = sqlite ]; then rm -rf "$tmp/$1.db"*; return; fi
  "$pg_bin/psql" -q "$pg_url" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" > /dev/null
}

start_mongo() {
  # the last server's "listening" line must not be read for this one's: the
  # background shell truncates the file only when it gets to run
  rm -f "$tmp/mongo.out"
  "$build/tests/mongo_server/mongo_test_server" --port 0 "$@" > "$tmp/mongo.out" &
  mongo_pid=$!
  until grep -q "^listening on 127.0.0.1:[0-9][0-9]*$" "$tmp/mongo.out" 2>/dev/null; do sleep 0.2; done
  mongo_uri="mongodb://127.0.0.1:$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")/?replicaSet=rs0"
}

# write_ini NAME MODE COLLECTIONS [PIPE OPTION LINES] [SINK OPTION LINES]
write_ini() {
  local url; url=$(store_url "$1")
  cat > "$tmp/$1.ini" <<EOF
[store]
url = $url
[service]
progress = log
progress_interval = 5s
${service_lines:-}
[pipe $1]
source = source_mongo
sink = sink_clickhouse
mode = $2
pull_batch_size = 100000
${4:-}
[pipe $1.source]
uri = $mongo_uri
database = bench
collections = $3
${SOURCE_OPTIONS:-}
[pipe $1.sink]
url = $ch_url
database = $1
${SINK_OPTIONS:-}
${5:-}
EOF
}

state() {
  "$build/sluice" status "$1" --json --config "$tmp/$1.ini" 2>/dev/null |
    sed -n 's/^{"name":"[^"]*","state":"\([a-z]*\)".*/\1/p' || true
}

# cpu_s PID: the CPU seconds (user + system) the process has used so far
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat"
}
ch_cpu_s() { cpu_s "$(cat "$tmp/ch/server.pid")"; }
# pg_cpu_s: the CPU seconds of the PostgreSQL test server so far: the
# postmaster with the backends it has reaped, and those still running
pg_cpu_s() {
  local pm; pm=$(head -1 "$tmp/pg/data/postmaster.pid")
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v hz="$(getconf CLK_TCK)" -v pm="$pm" '
    { pid = $1; sub(/^.*\) /, "") } # fields from the state on: ppid is $2
    pid == pm { t += $12 + $13 + $14 + $15 }
    $2 == pm { t += $12 + $13 }
    END { printf "%.2f", t / hz }'
}

peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# probes_on: entry and return probes on the functions of each phase
probes_on() {
  local f lib
  probes_off
  for f in hub_take_after hub_blob_write hub_complete publish store_commit; do
    perf probe -q -x "$build/sluice" -a "$f" -a "${f}_ret=$f%return"
  done
  for lib in sink_clickhouse:ch_write sink_clickhouse:ch_flush source_mongo:mg_snapshot_next; do
    f=${lib#*:}
    perf probe -q -x "$build/plugins/${lib%%:*}.so" -a "$f" -a "${f}_ret=$f%return"
  done
  perf record -q -a -e 'probe_sluice:*' -e 'probe_sink_clickhouse:*' \
    -e 'probe_source_mongo:*' -o "$tmp/probes.data" > /dev/null 2>&1 &
  perf_pid=$!
  sleep 1
}

probes_report() {
  kill -INT "$perf_pid"; wait "$perf_pid" || true
  echo "time per thread and phase (uprobes):"
  perf script -i "$tmp/probes.data" 2>/dev/null | python3 bench/e2e/phases.py
  probes_off
}

chunk_rows=100000
# export_rows DB.TABLE PREFIX: the table's rows as RowBinary, all in
# PREFIX.rowbinary and in PREFIX.chunkNNN of chunk_rows rows each: the
# ranges of _id (the sorting key) between every chunk_rows-th _id in order,
# so ClickHouse reads each chunk through its index
export_rows() {
  local rows k where
  rows=$(ch "SELECT count() FROM $1")
  ch_to "$2.rowbinary" "SELECT * FROM $1 FORMAT RowBinary"
  for ((k = 0; k * chunk_rows < rows; k++)); do
    where="_id >= (SELECT _id FROM $1 ORDER BY _id LIMIT 1 OFFSET $((k * chunk_rows)))"
    [ $(((k + 1) * chunk_rows)) -lt "$rows" ] &&
      where="$where AND _id < (SELECT _id FROM $1 ORDER BY _id LIMIT 1 OFFSET $(((k + 1) * chunk_rows)))"
    ch_to "$(printf '%s.chunk%03d' "$2" "$k")" "SELECT * FROM $1 WHERE $where FORMAT RowBinary"
  done
}

# quiet: wait (at most 2 minutes) until ClickHouse merges nothing, twice
# in a row, so a load does not pay for the merges of the one before
quiet() {
  local idle=0
  for _ in $(seq 1 240); do
    if [ "$(ch "SELECT count() FROM system.merges")" = 0 ]; then
      idle=$((idle + 1)); [ $idle = 2 ] && return
    else
      idle=0
    fi
    sleep 0.5
  done
}

# load_files DB.TABLE FILE...: each file in one INSERT, one after another
load_files() {
  local dest=$1 f code; shift
  for f in "$@"; do
    code=$(curl -sS -o "$f.answer" -w '%{http_code}' -X POST -T "$f" \
      "$ch_url/?query=INSERT%20INTO%20$dest%20FORMAT%20RowBinary&max_memory_usage=8000000000")
    [ "$code" = 200 ] || { echo "curl: $code $(cat "$f.answer")" >&2; return 1; }
    rm -f "$f.answer"
  done
}

# direct_load DB LIKE COLLECTIONS ROWS SUFFIX: the tables of COLLECTIONS
# (created as those of the database LIKE) loaded at once by curl from the
# files $tmp/TABLE.SUFFIX, one after another per table, until ROWS rows
# are visible; seconds in $load_s, ClickHouse's CPU seconds in $load_cpu
direct_load() {
  local db=$1 like=$2 colls=$3 rows=$4 suffix=$5 c t0 ch0 pids=() p
  ch "CREATE DATABASE $db"
  for c in ${colls//,/ }; do ch "CREATE TABLE $db.$c AS $like.$c"; done
  quiet
  ch0=$(ch_cpu_s)
  t0=$(now)
  for c in ${colls//,/ }; do
    # shellcheck disable=SC2086 # the suffix may be a pattern
    load_files "$db.$c" "$tmp"/$c.$suffix &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || exit 1; done
  local seen
  until seen=$(ch "SELECT sum(rows) FROM system.parts WHERE database = '$db' AND active") &&
    [ "$seen" -ge "$rows" ]; do
    sleep 0.02
  done
  load_s=$(since "$t0")
  [ "$seen" = "$rows" ] || { echo "direct load into $db: $seen rows, not $rows" >&2; exit 1; }
  load_cpu=$(awk -v a="$ch0" -v b="$(ch_cpu_s)" 'BEGIN { printf "%.1f", b - a }')
}

# API_RATE: the service's lines of the snapshots' INI, with a free
# loopback port (asked of the kernel, then let go) and a token only the
# owner may read; api_start NAME puts the load on the pipe NAME in the
# background, api_stop ends it, api_report prints its figures as api_*
# lines and a row of the summary
api_rate=${API_RATE:-}
service_lines=
if [ -n "$api_rate" ]; then
  head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp/api_token"
  chmod 600 "$tmp/api_token"
  echo "== API load: $api_rate GET ${API_PATH:-/v1/pipes/NAME} a second during each snapshot (bench/api/load.py)"
fi
api_service_lines() {
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  api_url=http://127.0.0.1:$port
  service_lines="http_listen = 127.0.0.1:$port
api_token_file = $tmp/api_token"
}
api_start() {
  rm -f "$tmp/api_stop"
  local what=(--pipe "$1"); [ -n "${API_PATH:-}" ] && what=(--path "$API_PATH")
  python3 bench/api/load.py "$api_url" "${what[@]}" --token-file "$tmp/api_token" \
    --rate "$api_rate" --stop-file "$tmp/api_stop" --wait-ready 60 \
    > "$tmp/api.out" 2> "$tmp/api.err" &
  api_pid=$!
}
api_stop() {
  touch "$tmp/api_stop"
  wait "$api_pid" || { cat "$tmp/api.out" "$tmp/api.err" >&2; exit 1; }
  api_pid=
}
# api_fig KEY: the figure KEY of the last load
api_fig() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/api.out"; }
api_report() {
  echo "api_requests $(api_fig count) api_rate_achieved $(api_fig rate_achieved) per s (offered $(api_fig rate_offered); it waited $(api_fig ready_s) s for the first answer)"
  echo "api_errors $(api_fig errors)$(awk '/^status_/ { printf " %s", $0 }' "$tmp/api.out")"
  echo "api_p50_ms $(api_fig p50_ms)"
  echo "api_p99_ms $(api_fig p99_ms)"
  echo "api_max_ms $(api_fig max_ms)"
  echo "api_late_p99_ms $(api_fig late_p99_ms) (how late the load sent, p99); api_answer_p99_ms $(api_fig answer_p99_ms) (from sending); api_load_cpu_s $(api_fig cpu_s)"
  if [ -s "$tmp/api.err" ]; then head -3 "$tmp/api.err"; fi
  summary+=("| API load during the snapshot above, $api_rate GET ${API_PATH:-/v1/pipes/NAME} a second | $(api_fig count) requests, $(api_fig errors) errors; latency p50 $(api_fig p50_ms) ms, p99 $(api_fig p99_ms) ms, max $(api_fig max_ms) ms | | | | | | |")
}

# snapshot NAME COLLECTIONS DOCS_PER_COLLECTION [SINK OPTION LINES]: sluice,
# then the direct loads; sluice's documents/s in $last_rate, its seconds in
# $last_secs, CPU seconds per million documents in $last_cpu_m, and the
# ratio to the best direct load in $last_best
snapshot() {
  local name=$1 colls=$2 per=$3 gen=() c n=0 total t0 secs rss completed=
  for c in ${colls//,/ }; do gen+=(--generate "bench.$c=$per:1024"); n=$((n + 1)); done
  total=$((per * n))
  echo "== snapshot of $total documents of 1 KiB in $n collection(s): sluice run"
  start_mongo "${gen[@]}"
  [ -n "$api_rate" ] && api_service_lines
  write_ini "$name" snapshot "$colls" "" "${4:-}"
  service_lines=
  local phases=${PHASES:-0}
  [ "$phases" = 1 ] && [ "$n" = 1 ] && probes_on
  quiet
  local ch0 pg0=0; ch0=$(ch_cpu_s)
  [ "$store" = postgres ] && pg0=$(pg_cpu_s)
  t0=$(now)
  "$build/sluice" run "$tmp/$name.ini" > "$tmp/$name.log" 2>&1 &
  run_pid=$!
  [ -n "$api_rate" ] && api_start "$name"
  # visible rows: active parts' rows, cheap to ask every 250 ms
  until [ "$(ch "SELECT sum(rows) FROM system.parts WHERE database = '$name' AND active")" -ge "$total" ]; do
    kill -0 "$run_pid" 2>/dev/null || { cat "$tmp/$name.log"; exit 1; }
    if [ -z "$completed" ]; then
      case $(state "$name") in
      completed) completed=$(since "$t0") ;;
      failed) grep -v ' progress ' "$tmp/$name.log" | tail -20; exit 1 ;;
      esac
    fi
    sleep 0.25
  done
  secs=$(since "$t0")
  local sluice_cpu; sluice_cpu=$(cpu_s "$run_pid")
  [ -n "$api_rate" ] && api_stop
  local cpu="sluice $sluice_cpu s, test server $(cpu_s "$mongo_pid") s, ClickHouse $(awk -v a="$ch0" -v b="$(ch_cpu_s)" 'BEGIN { printf "%.1f", b - a }') s"
  [ "$store" = postgres ] &&
    cpu="$cpu, PostgreSQL $(awk -v a="$pg0" -v b="$(pg_cpu_s)" 'BEGIN { printf "%.1f", b - a }') s"
  for _ in $(seq 1 240); do [ "$(state "$name")" = completed ] && break; sleep 0.25; done
  [ -z "$completed" ] && completed=$(since "$t0")
  rss=$(peak_rss_mib "$run_pid")
  [ "$phases" = 1 ] && [ "$n" = 1 ] && probes_report
  stop_pid "$run_pid"; run_pid=
  stop_pid "$mongo_pid"; mongo_pid=
  local final=0 bytes=0
  for c in ${colls//,/ }; do
    final=$((final + $(ch "SELECT count() FROM $name.$c FINAL WHERE _is_deleted = 0")))
  done
  echo "pipe state $(state "$name") after ${completed} s; rows in ClickHouse (FINAL) $final of $total"
  grep -E ' (warn|error) ' "$tmp/$name.log" | head -5 || true

  for c in ${colls//,/ }; do
    export_rows "$name.$c" "$tmp/$c"
    bytes=$((bytes + $(stat -c %s "$tmp/$c.rowbinary")))
  done
  store_drop "$name"
  # the direct loads of the same rows, each into a database of its own
  # once ClickHouse has merged what came before: one request per table,
  # then 100k-row requests one after another per table; the tables at once
  local direct direct_cpu chunked chunked_cpu nchunks
  nchunks=$(ls "$tmp"/*.chunk* | wc -l)
  direct_load "direct_$name" "$name" "$colls" "$total" rowbinary
  direct=$load_s direct_cpu=$load_cpu
  direct_load "chunked_$name" "$name" "$colls" "$total" "chunk*"
  chunked=$load_s chunked_cpu=$load_cpu
  ch "DROP DATABASE chunked_$name"
  rm -f "$tmp"/*.rowbinary "$tmp"/*.chunk*
  local sl_rate cu_rate ck_rate best best_rate cpu_m
  sl_rate=$(rate "$total" "$secs"); cu_rate=$(rate "$total" "$direct")
  ck_rate=$(rate "$total" "$chunked")
  if awk -v a="$chunked" -v b="$direct" 'BEGIN { exit !(a < b) }'; then
    best="chunked, $chunked s" best_rate=$ck_rate
  else
    best="one request per table, $direct s" best_rate=$cu_rate
  fi
  cpu_m=$(awk -v c="$sluice_cpu" -v n="$total" 'BEGIN { printf "%.2f", c * 1e6 / n }')
  echo "rows $total, RowBinary bytes $bytes"
  echo "sluice_snapshot_s $secs docs_per_s $sl_rate MB_per_s $(mbps "$bytes" "$secs")"
  echo "curl_rowbinary_s $direct docs_per_s $cu_rate MB_per_s $(mbps "$bytes" "$direct")"
  echo "sluice_vs_curl $(ratio "$sl_rate" "$cu_rate")"
  echo "curl_rowbinary_chunked_s $chunked docs_per_s $ck_rate MB_per_s $(mbps "$bytes" "$chunked") ($nchunks requests of at most $chunk_rows rows, one after another per table)"
  echo "sluice_vs_curl_chunked $(ratio "$sl_rate" "$ck_rate")"
  echo "sluice_peak_rss_MiB $rss"
  echo "cpu: sluice run until visible: $cpu; direct load: ClickHouse $direct_cpu s; chunked: ClickHouse $chunked_cpu s"
  echo "sluice_cpu_s_per_M_docs $cpu_m"
  echo "best_direct $best"
  echo "sluice_vs_best_direct $(ratio "$sl_rate" "$best_rate")"
  last_rate=$sl_rate last_secs=$secs last_cpu_m=$cpu_m
  last_best=$(ratio "$sl_rate" "$best_rate")
  local at_once=""; [ "$n" -gt 1 ] && at_once=" ($n curls at once)"
  summary+=("| snapshot, $n x $((per / 1000))k${4:+, five typed columns} | $sl_rate docs/s, $(mbps "$bytes" "$secs") MB/s | $cu_rate docs/s, $(mbps "$bytes" "$direct") MB/s$at_once | $(ratio "$sl_rate" "$cu_rate") | $ck_rate docs/s, $(mbps "$bytes" "$chunked") MB/s${at_once/curls/curl sequences} | $(ratio "$sl_rate" "$ck_rate") | $rss MiB | $last_best |")
  if [ -n "$api_rate" ]; then api_report; fi
}

# cdc_latency PHASE...: bench_e2e_cdc's phases (RATE:SECONDS of inserts,
# mixed:RATE:SECONDS of changes to existing documents) on one pipe
cdc_latency() {
  echo "== CDC latency, sync_interval = 1s"
  # an oplog of 2M changes, as a real replica set's would hold: the test
  # server's default (100k) rolls over within seconds at 10k changes/s
  start_mongo --oplog-size 2000000 --generate bench.cdc=0
  write_ini e2e_cdc cdc cdc "sync_interval = 1s"
  "$build/sluice" run "$tmp/e2e_cdc.ini" > "$tmp/e2e_cdc.log" 2>&1 &
  run_pid=$!
  until [ "$(state e2e_cdc)" = running ]; do
    kill -0 "$run_pid" 2>/dev/null || { cat "$tmp/e2e_cdc.log"; exit 1; }
    sleep 0.2
  done
  local cpu0; cpu0="$(cpu_s "$run_pid") $(cpu_s "$mongo_pid") $(ch_cpu_s)"
  "$build/bench/bench_e2e_cdc" --cpu "sluice=$run_pid" --cpu "test server=$mongo_pid" \
    --cpu "ClickHouse=$(cat "$tmp/ch/server.pid")" \
    "$mongo_uri" bench cdc "$ch_url" e2e_cdc.cdc "$@" | tee "$tmp/cdc.out"
  echo "$cpu0 $(cpu_s "$run_pid") $(cpu_s "$mongo_pid") $(ch_cpu_s)" | awk -v p="$*" \
    '{ printf "cpu: during all the CDC phases (%s): sluice %.1f s, test server %.1f s, ClickHouse %.1f s\n", p, $4 - $1, $5 - $2, $6 - $3 }'
  rss=$(peak_rss_mib "$run_pid")
  echo "sluice_peak_rss_MiB $rss; pipe state $(state e2e_cdc)"
  local r achieved p50 p99 lost server sluice diff what
  while read -r r _ achieved _ p50 _ p99 _ lost _ server _ sluice _ diff; do
    if [ "$r" = "${r#mixed_}" ]; then what="$r changes/s, inserts"; else what="${r#mixed_} changes/s, mixed"; fi
    summary+=("| CDC, $what (achieved $achieved) | p50 $p50 ms, p99 $p99 ms, lost $lost${diff:+, documents differing at the end $diff}; CPU during the writes: test server $server s, sluice $sluice s | | | | | $rss MiB | |")
  done < <(grep '^cdc_' "$tmp/cdc.out" | sed 's/^cdc_//')
  grep -E ' (warn|error) ' "$tmp/e2e_cdc.log" | head -5 || true
}
# typed_columns: the snapshot of one collection with five typed columns
# and without, alternating; the generated documents are {_id, n, pad}, so
# the columns read the ObjectId, the number three ways, and a field no
# document has (the default: NULL)
typed_columns() {
  local r none five bad
  local columns="columns = docs.id = _id String, docs.n = n Int64, docs.n_u = n UInt64,
  docs.n_f = n Float64, docs.created = created_at Nullable(DateTime)"
  local sum_none=0 sum_five=0
  for r in $(seq 1 "${COLUMN_ROUNDS:-4}"); do
    # in turn first and second: what runs after a load pays its merges
    if [ $((r % 2)) = 1 ]; then
      snapshot "e2e_none$r" docs "$records"; none=$last_rate
      snapshot "e2e_columns$r" docs "$records" "$columns"; five=$last_rate
    else
      snapshot "e2e_columns$r" docs "$records" "$columns"; five=$last_rate
      snapshot "e2e_none$r" docs "$records"; none=$last_rate
    fi
    bad=$(ch "SELECT count() FROM e2e_columns$r.docs WHERE _malformed != '' OR length(id) != 24 OR n_f != n OR created IS NOT NULL")
    echo "typed_columns_vs_none $(ratio "$five" "$none") (rows with a wrong column: $bad)"
    summary+=("| five typed columns / none, round $r | $(ratio "$five" "$none") | | | | | | |")
    sum_none=$((sum_none + none)); sum_five=$((sum_five + five))
    for db in e2e_none$r direct_e2e_none$r e2e_columns$r direct_e2e_columns$r; do ch "DROP DATABASE $db"; done
  done
  echo "typed_columns_vs_none_mean $(ratio "$sum_five" "$sum_none")"
  summary+=("| five typed columns / none, mean docs/s | $(ratio "$sum_five" "$sum_none") | | | | | | |")
}
# spread VALUES...: min, median and max
spread() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
    END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "%.2f / %.2f / %.2f", v[1], m, v[NR] }'
}

# one_runs N: the snapshot of one collection N times in a row, each with a
# new test server and new databases; with N > 1 each run's figures and
# their spread
one_runs() {
  local r name cpus=() walls=() bests=() p99s=()
  for r in $(seq 1 "$1"); do
    name=e2e_one; [ "$r" -gt 1 ] && name=e2e_one_$r
    snapshot "$name" docs "$records"
    [ "$1" = 1 ] && return
    echo "run $r of $1: sluice_cpu_s_per_M_docs $last_cpu_m wall_s $last_secs sluice_vs_best_direct $last_best"
    cpus+=("$last_cpu_m") walls+=("$last_secs") bests+=("$last_best")
    if [ -n "$api_rate" ]; then p99s+=("$(api_fig p99_ms)"); fi
    # keep the disk as it was: this run's rows are measured
    ch "DROP DATABASE $name"; ch "DROP DATABASE direct_$name"
  done
  echo "== $1 runs of the snapshot of 1 x $records: min / median / max"
  echo "runs_sluice_cpu_s_per_M_docs $(spread "${cpus[@]}")"
  echo "runs_wall_s $(spread "${walls[@]}")"
  echo "runs_sluice_vs_best_direct $(spread "${bests[@]}")"
  if [ -n "$api_rate" ]; then echo "runs_api_p99_ms $(spread "${p99s[@]}")"; fi
  summary+=("| snapshot, 1 x $((records / 1000))k, $1 runs: min / median / max | CPU s per 1M docs $(spread "${cpus[@]}"); wall s $(spread "${walls[@]}") | | | | | | $(spread "${bests[@]}") |")
}

summary=()
last_rate=0 last_secs=0 last_cpu_m=0 last_best=0
runs=${RUNS:-1}
stages=" ${STAGES:-one four cdc} "
[[ $stages == *" one "* ]] && one_runs "$runs"
[[ $stages == *" four "* ]] && snapshot e2e_four c1,c2,c3,c4 $((records / 4))
cdc_phases=()
[[ $stages == *" cdc "* || $stages == *" cdc_insert "* ]] &&
  cdc_phases+=("1000:$cdc_seconds" "10000:$cdc_seconds")
[[ $stages == *" cdc "* || $stages == *" cdc_mixed "* ]] &&
  cdc_phases+=("mixed:10000:$cdc_seconds")
[ ${#cdc_phases[@]} -gt 0 ] && cdc_latency "${cdc_phases[@]}"
[[ $stages == *" columns "* ]] && typed_columns

echo "== summary"
echo "| run | sluice | direct load (curl, RowBinary file) | sluice / direct | direct load, chunked (curl, 100k-row files one after another) | sluice / chunked | sluice peak RSS | sluice / best direct |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
