#!/usr/bin/env bash
# run_old.sh SLUICE DIR SHIPPED MINOR: `sluice run` with the memory plugins
# of DIR (built against the frozen SDK of ABI MINOR, say 1.0) and the
# shipped retention policy of SHIPPED, nothing else: a snapshot of two
# tables and their changes reach the sink, /metrics shows the plugin's
# metrics by Prometheus' rules though it cannot describe them (its
# counter, named without _total, gets it), and SIGTERM stops the run
# cleanly.
set -u
sluice=$1 dir=$2 shipped=$3 minor=$4
here=$(dirname "$0")
. "$here/../lib.sh"
. "$here/../servers/free_port.sh"
port=$(free_port)
cat > "$tmp/p.ini" <<INI
[store]
url = sqlite:$tmp/sluice.db
[plugins]
path = $dir, $shipped
[service]
http_listen = 127.0.0.1:$port
[pipe old]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe old.source]
tables = x, y
rows = 50
partitions = 2
changes = 20
[pipe old.sink]
output = $tmp/out.jsonl
INI
SLUICE_PLUGIN_PATH= "$sluice" check "$tmp/p.ini" || exit 1
SLUICE_PLUGIN_PATH= "$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  [ -f "$tmp/out.jsonl" ] && [ "$(wc -l < "$tmp/out.jsonl")" = 120 ] && break
  sleep 0.1
done
lines=$(wc -l < "$tmp/out.jsonl" 2>/dev/null || echo 0)
curl -s "http://127.0.0.1:$port/metrics" > "$tmp/metrics"
kill -TERM $pid
wait $pid
status=$?
[ "$lines" = 120 ] || { echo "run_old: $lines rows in the sink, not 120"; cat "$tmp/run.log"; exit 1; }
[ $status = 0 ] || { echo "run_old: sluice run exited $status after SIGTERM"; cat "$tmp/run.log"; exit 1; }
SLUICE_PLUGIN_PATH= "$sluice" plugins list --config "$tmp/p.ini" |
  grep -Eq "^memory_source +source +[^ ]+ +${minor//./\\.} " ||
  { echo "run_old: memory is not the $minor build"; exit 1; }
/usr/bin/python3 "$here/../runtime/prometheus_check.py" "$tmp/metrics" ||
  { echo "run_old: /metrics breaks Prometheus' rules"; exit 1; }
grep -qF '# HELP sluice_plugin_memory_sink_rows_written_total Metric rows_written of plugin memory_sink, which does not describe it.' "$tmp/metrics" &&
  grep -qE '^sluice_plugin_memory_sink_rows_written_total\{pipe="old"\} [1-9]' "$tmp/metrics" ||
  { echo "run_old: the plugin's counter: $(grep rows_written "$tmp/metrics")"; exit 1; }
echo "run_old: 120 rows through plugins of ABI $minor"
finish run_old
