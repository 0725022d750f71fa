#!/usr/bin/env bash
# e2e.sh BUILD_DIR [RECORDS]: the end-to-end benchmarks of `sluice run`,
# MongoDB wire-protocol test server -> sluice (SQLite hub) -> ClickHouse of
# Debian's, each beside its baseline in the same run:
#   snapshot of RECORDS documents of 1 KiB in one collection, then split
#     over 4 collections: documents/s and MB/s from the start of `sluice run`
#     until every row is visible in ClickHouse, and the sluice process's
#     peak RSS; baseline: the same rows (exported from ClickHouse as
#     RowBinary) streamed from a file into the HTTP interface by curl, the
#     direct load of bench/clickhouse, one curl per table at once.
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
# PHASES=1 (root, perf): uprobes on sluice and its plugins during the first
# snapshot, and the time per thread and phase (bench/e2e/phases.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(cd "${1:-build}" && pwd)
records=${2:-1000000}
cdc_seconds=${CDC_SECONDS:-20}
export SLUICE_PLUGIN_PATH=$build/plugins
tmp=$(mktemp -d); chmod 755 "$tmp"
mongo_pid= run_pid=
stop_pid() { [ -n "$1" ] && kill "$1" 2>/dev/null && wait "$1" 2>/dev/null || true; }
probes_off() {
  for p in sluice sink_clickhouse source_mongo; do perf probe -q -d "probe_$p:*" 2>/dev/null || true; done
}
cleanup() {
  stop_pid "$run_pid"; stop_pid "$mongo_pid"
  [ "${PHASES:-0}" = 1 ] && probes_off
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
mbps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", n / s / 1e6 }'; }
ch() { curl -sS --fail-with-body "$ch_url/" --data-binary "$1"; }

echo "== ClickHouse $(tests/servers/clickhouse.sh start "$tmp/ch"; cat "$tmp/ch/version")"
ch_url=$(cat "$tmp/ch/url")

start_mongo() {
  "$build/tests/mongo_server/mongo_test_server" --port 0 "$@" > "$tmp/mongo.out" &
  mongo_pid=$!
  until grep -q "^listening on 127.0.0.1:[0-9][0-9]*$" "$tmp/mongo.out" 2>/dev/null; do sleep 0.2; done
  mongo_uri="mongodb://127.0.0.1:$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")/?replicaSet=rs0"
}

# write_ini NAME MODE COLLECTIONS [PIPE OPTION LINES] [SINK OPTION LINES]
write_ini() {
  cat > "$tmp/$1.ini" <<EOF
[store]
url = sqlite:$tmp/$1.db
[service]
progress = log
progress_interval = 5s
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
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.1f", ($12 + $13) / hz }' "/proc/$1/stat"
}
ch_cpu_s() { cpu_s "$(cat "$tmp/ch/server.pid")"; }

peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# probes_on: entry and return probes on the functions of each phase
probes_on() {
  local f lib
  probes_off
  for f in hub_take batch_load hub_complete publish store_begin store_commit; do
    perf probe -q -x "$build/sluice" -a "$f" -a "${f}_ret=$f%return"
  done
  for lib in sink_clickhouse:ch_write source_mongo:mg_snapshot_next; do
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

# snapshot NAME COLLECTIONS DOCS_PER_COLLECTION [SINK OPTION LINES]: sluice,
# then the direct load; sluice's documents/s in $last_rate
snapshot() {
  local name=$1 colls=$2 per=$3 gen=() c n=0 total t0 secs rss completed=
  for c in ${colls//,/ }; do gen+=(--generate "bench.$c=$per:1024"); n=$((n + 1)); done
  total=$((per * n))
  echo "== snapshot of $total documents of 1 KiB in $n collection(s): sluice run"
  start_mongo "${gen[@]}"
  write_ini "$name" snapshot "$colls" "" "${4:-}"
  local phases=${PHASES:-0}
  [ "$phases" = 1 ] && [ "$n" = 1 ] && probes_on
  local ch0; ch0=$(ch_cpu_s)
  t0=$(now)
  "$build/sluice" run "$tmp/$name.ini" > "$tmp/$name.log" 2>&1 &
  run_pid=$!
  # visible rows: active parts' rows, cheap to ask every 250 ms
  until [ "$(ch "SELECT sum(rows) FROM system.parts WHERE database = '$name' AND active")" -ge "$total" ]; do
    kill -0 "$run_pid" 2>/dev/null || { cat "$tmp/$name.log"; exit 1; }
    [ -z "$completed" ] && [ "$(state "$name")" = completed ] && completed=$(since "$t0")
    sleep 0.25
  done
  secs=$(since "$t0")
  local cpu="sluice $(cpu_s "$run_pid") s, test server $(cpu_s "$mongo_pid") s, ClickHouse $(awk -v a="$ch0" -v b="$(ch_cpu_s)" 'BEGIN { printf "%.1f", b - a }') s"
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

  # the direct load of the same rows: RowBinary files, streamed by curl
  ch "CREATE DATABASE direct_$name"
  for c in ${colls//,/ }; do
    ch "CREATE TABLE direct_$name.$c AS $name.$c"
    curl -sS --fail-with-body "$ch_url/" -o "$tmp/$c.rowbinary" \
      --data-binary "SELECT * FROM $name.$c FORMAT RowBinary"
    bytes=$((bytes + $(stat -c %s "$tmp/$c.rowbinary")))
  done
  local t1 pids=() code direct
  ch0=$(ch_cpu_s)
  t1=$(now)
  for c in ${colls//,/ }; do
    curl -sS -o "$tmp/$c.answer" -w '%{http_code}' -X POST -T "$tmp/$c.rowbinary" \
      "$ch_url/?query=INSERT%20INTO%20direct_$name.$c%20FORMAT%20RowBinary&max_memory_usage=8000000000" \
      > "$tmp/$c.code" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  direct=$(since "$t1")
  local direct_cpu; direct_cpu=$(awk -v a="$ch0" -v b="$(ch_cpu_s)" 'BEGIN { printf "%.1f", b - a }')
  for c in ${colls//,/ }; do
    code=$(cat "$tmp/$c.code")
    [ "$code" = 200 ] || { echo "curl: $code $(cat "$tmp/$c.answer")" >&2; exit 1; }
    rm -f "$tmp/$c.rowbinary"
  done
  rm -rf "$tmp/$name.db"*
  local sl_rate cu_rate
  sl_rate=$(rate "$total" "$secs"); cu_rate=$(rate "$total" "$direct")
  echo "rows $total, RowBinary bytes $bytes"
  echo "sluice_snapshot_s $secs docs_per_s $sl_rate MB_per_s $(mbps "$bytes" "$secs")"
  echo "curl_rowbinary_s $direct docs_per_s $cu_rate MB_per_s $(mbps "$bytes" "$direct")"
  echo "sluice_vs_curl $(ratio "$sl_rate" "$cu_rate")"
  echo "sluice_peak_rss_MiB $rss"
  echo "cpu: sluice run until visible: $cpu; direct load: ClickHouse $direct_cpu s"
  last_rate=$sl_rate
  summary+=("| snapshot, $n x $((per / 1000))k${4:+, five typed columns} | $sl_rate docs/s, $(mbps "$bytes" "$secs") MB/s | $cu_rate docs/s, $(mbps "$bytes" "$direct") MB/s | $(ratio "$sl_rate" "$cu_rate") | $rss MiB |")
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
    summary+=("| CDC, $what (achieved $achieved) | p50 $p50 ms, p99 $p99 ms, lost $lost${diff:+, documents differing at the end $diff}; CPU during the writes: test server $server s, sluice $sluice s | | | $rss MiB |")
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
    summary+=("| five typed columns / none, round $r | $(ratio "$five" "$none") | | | |")
    sum_none=$((sum_none + none)); sum_five=$((sum_five + five))
    for db in e2e_none$r direct_e2e_none$r e2e_columns$r direct_e2e_columns$r; do ch "DROP DATABASE $db"; done
  done
  echo "typed_columns_vs_none_mean $(ratio "$sum_five" "$sum_none")"
  summary+=("| five typed columns / none, mean docs/s | $(ratio "$sum_five" "$sum_none") | | | |")
}
summary=()
last_rate=0
stages=" ${STAGES:-one four cdc} "
[[ $stages == *" one "* ]] && snapshot e2e_one docs "$records"
[[ $stages == *" four "* ]] && snapshot e2e_four c1,c2,c3,c4 $((records / 4))
cdc_phases=()
[[ $stages == *" cdc "* || $stages == *" cdc_insert "* ]] &&
  cdc_phases+=("1000:$cdc_seconds" "10000:$cdc_seconds")
[[ $stages == *" cdc "* || $stages == *" cdc_mixed "* ]] &&
  cdc_phases+=("mixed:10000:$cdc_seconds")
[ ${#cdc_phases[@]} -gt 0 ] && cdc_latency "${cdc_phases[@]}"
[[ $stages == *" columns "* ]] && typed_columns

echo "== summary"
echo "| run | sluice | direct load (curl, RowBinary file) | sluice / direct | sluice peak RSS |"
echo "|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
