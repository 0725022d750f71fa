#!/usr/bin/env bash
# scale.sh SLUICE STORE_URL EVENTS: the hub at scale (issue 19). Fills the
# store with EVENTS publication events of one topic, then times
# `sluice status` (all pipes, and the pipe, which counts its waiting
# events), `sluice events` (the last hour, and everything) and a
# maintenance run (a dry run, then the real one), printing one line per
# figure: wall seconds, the command's CPU seconds and its peak memory
# (maximum resident set size, from /usr/bin/time).
#
# The fill is direct SQL in the store's schema (framework/store/schema.c),
# not the hub's API, so that 10 million events take a minute: topic `big`
# (consumed 7 days, unconsumed 30), one subscription `big_s` owed every
# event, EVENTS events of one record spread evenly over the 60 days before
# the job time J = 2026-11-30T23:00Z; those published up to 20 days
# before J are completed by the subscription an hour after publication,
# whose pipe `big_s` (a row, for `sluice status`) has the rest waiting.
# The maintenance run as of J then deletes about 45% of them (the
# consumed rule up to 27 days before J). SLUICE is the binary to measure
# (its plugins from SLUICE_PLUGIN_PATH); the schema is made by it.
set -euo pipefail
sluice=$1 url=$2 n=$3
day=86400000
job=1796079600000                    # 2026-11-30T23:00Z
t0=$((job - 60 * day)) step=$((60 * day / n))
done_before=$((job - 20 * day))
store=(--store "$url")

"$sluice" topic create big --consumed-retention-days 7 \
  --unconsumed-retention-days 30 "${store[@]}" >/dev/null
echo "== $("$sluice" --version | head -1), $url, $n events"
"$sluice" subscription create big_s --topic big --at 2026-01-01 "${store[@]}" >/dev/null

fill_sql() { # $1: the SQL of the numbers 1..n as a table c(i)
  cat <<SQL
INSERT INTO publications (id, topic, published_at, records, bytes, status)
  SELECT i, 'big', $t0 + i * $step, 1, 100, 'completed' FROM $1;
INSERT INTO owed (publication, subscription) SELECT i, 'big_s' FROM $1;
INSERT INTO subscription_events (subscription, publication, status,
    started_at, finished_at)
  SELECT 'big_s', i, 'completed', $t0 + i * $step + 3600000,
         $t0 + i * $step + 3600000 FROM $1 WHERE $t0 + i * $step <= $done_before;
UPDATE subscriptions SET pipe = 'big_s', cursor = (SELECT MAX(publication)
  FROM subscription_events) WHERE name = 'big_s';
INSERT INTO pipes (name, source, sink, topic, mode, settings, state,
    state_since, created_at)
  VALUES ('big_s', 'source_mongo', 'sink_clickhouse', 'big', 'cdc', '{}',
    'running', $job, $job);
SQL
}

start=$(date +%s.%N)
case $url in
sqlite:*)
  db=${url#sqlite:}
  { echo "PRAGMA journal_mode=WAL; BEGIN;"
    fill_sql "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n) SELECT i FROM n) c"
    echo "COMMIT; ANALYZE;"; } | sqlite3 "$db" ;;
postgres*)
  { echo "BEGIN;"
    fill_sql "generate_series(1::bigint, $n) AS c(i)"
    echo "SELECT setval(pg_get_serial_sequence('publications', 'id'), $n);"
    echo "COMMIT; ANALYZE;"; } | psql -q -o /dev/null -v ON_ERROR_STOP=1 "$url" ;;
esac
echo "fill $n events: $(echo "$(date +%s.%N) - $start" | bc) s"

# measure NAME COMMAND...: wall seconds, CPU seconds of the command (user
# + system; a PostgreSQL server's work is not in them) and peak memory.
measure() {
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o /tmp/scale.$$ "$@" >/dev/null
  read -r secs user sys kb </tmp/scale.$$
  rm -f /tmp/scale.$$
  printf '%-28s %8s s wall %8s s cpu %8d MB\n' "$name" "$secs" \
    "$(echo "$user + $sys" | bc)" $((kb / 1024))
}
measure "status" "$sluice" status "${store[@]}"
measure "status big_s" "$sluice" status big_s "${store[@]}"
measure "events --since (1 hour)" "$sluice" events --topic big \
  --since 2026-11-30T22:00Z "${store[@]}"
measure "events (all)" "$sluice" events --topic big "${store[@]}"
"$sluice" maintenance run --dry-run --as-of 2026-11-30T23:00Z "${store[@]}" |
  tail -n +2
measure "maintenance --dry-run" "$sluice" maintenance run --dry-run \
  --as-of 2026-11-30T23:00Z "${store[@]}"
measure "maintenance" "$sluice" maintenance run --as-of 2026-11-30T23:00Z \
  "${store[@]}"
