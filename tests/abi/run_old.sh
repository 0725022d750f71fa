#!/usr/bin/env bash
# run_old.sh SLUICE DIR SHIPPED MINOR: `sluice run` with the memory plugins
# of DIR (built against the frozen SDK of ABI MINOR, say 1.0) and the
# shipped retention policy of SHIPPED, nothing else: a snapshot of two
# tables and their changes reach the sink, and SIGTERM stops the run
# cleanly.
set -u
sluice=$1 dir=$2 shipped=$3 minor=$4
. "$(dirname "$0")/../lib.sh"
cat > "$tmp/p.ini" <<INI
[store]
url = sqlite:$tmp/sluice.db
[plugins]
path = $dir, $shipped
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
kill -TERM $pid
wait $pid
status=$?
[ "$lines" = 120 ] || { echo "run_old: $lines rows in the sink, not 120"; cat "$tmp/run.log"; exit 1; }
[ $status = 0 ] || { echo "run_old: sluice run exited $status after SIGTERM"; cat "$tmp/run.log"; exit 1; }
SLUICE_PLUGIN_PATH= "$sluice" plugins list --config "$tmp/p.ini" |
  grep -Eq "^memory_source +source +[^ ]+ +${minor//./\\.} " ||
  { echo "run_old: memory is not the $minor build"; exit 1; }
echo "run_old: 120 rows through plugins of ABI $minor"
finish run_old
