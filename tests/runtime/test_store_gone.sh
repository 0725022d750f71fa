#!/usr/bin/env bash
# test_store_gone.sh SLUICE deleted|unwritable: the SQLite store is
# deleted, or made read-only, under a running `sluice run` while changes
# stream. SQLite would go on writing through the file it has open; sluice
# notices at the next commit: the pipe stops with an error naming the
# store, /health answers 503 failing (and /metrics sluice_store_up 0), and the source is sent no acknowledgement
# for a batch after that (at most one, of a batch committed before).
# As root, sluice runs as nobody, for whom a read-only file is one.
set -u
sluice=$1 how=$2
here=$(dirname "$0")
. "$here/../lib.sh"
as=()
if [ "$(id -u)" = 0 ]; then
  as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  chmod 755 "$tmp"
fi
dir=$tmp/store; mkdir "$dir"; [ ${#as[@]} = 0 ] || chown nobody:nogroup "$dir"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
health() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port/health"; }
health_is() { [ "$(health)" = "$1" ]; }
acks() { if [ -f "$dir/acks" ]; then wc -l < "$dir/acks"; else echo 0; fi; }
acked_twice() { [ "$(acks)" -ge 2 ]; }

cat > "$tmp/p.ini" <<INI
[store]
url = sqlite:$dir/s.db
[service]
http_listen = 127.0.0.1:$port
progress = off
[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe a.source]
tables = x
rows = 100
changes = 600
change_every = 50ms
ack_output = $dir/acks
[pipe a.sink]
output = $dir/out.jsonl
INI
"${as[@]}" "$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "two acknowledged batches" 30 acked_twice || { tail -20 "$tmp/run.log"; exit 1; }
wait_for "/health 200" 10 health_is 200 || fail "/health: $(cat "$tmp/body")"

case $how in
deleted)    rm "$dir/s.db" "$dir/s.db-wal" "$dir/s.db-shm"
            error="a: failed: store sqlite:$dir/s.db: the file was deleted, moved or replaced" ;;
unwritable) chmod 400 "$dir/s.db"
            error="a: failed: store sqlite:$dir/s.db: sluice may no longer write the file (Permission denied)" ;;
*)          echo "test_store_gone.sh: deleted or unwritable, not '$how'"; exit 2 ;;
esac
before=$(acks)
wait_for "the pipe's error naming the store" 20 grep -qF "$error" "$tmp/run.log"
wait_for "/health 503" 20 health_is 503
grep -qF '{"status":"failing","reasons":["store sqlite:'"$dir/s.db"': ' "$tmp/body" || fail "/health body: $(cat "$tmp/body")"
grep -qF '"store":{"status":"failing","error":"store sqlite:' "$tmp/body" || fail "/health body: $(cat "$tmp/body")"
grep -qF '"pipes":{"a":{"status":"unknown"}}' "$tmp/body" || fail "/health body: $(cat "$tmp/body")"
# /metrics still answers, saying the store does not
curl -s "http://127.0.0.1:$port/metrics" > "$tmp/metrics"
grep -qxF 'sluice_store_up 0' "$tmp/metrics" || fail "/metrics: $(grep store_up "$tmp/metrics")"
/usr/bin/python3 "$here/prometheus_check.py" "$tmp/metrics" > "$tmp/check.out" ||
  fail "/metrics breaks Prometheus' rules: $(head -5 "$tmp/check.out")"
kill -0 $pid 2>/dev/null || fail "sluice run exited"
kill -TERM $pid; wait $pid
after=$(acks)
[ $((after - before)) -le 1 ] ||
  fail "$((after - before)) positions acknowledged after the store was $how (from $before to $after)"
[ "$how" = deleted ] && [ -e "$dir/s.db" ] && fail "a new store was created at the path of the deleted one"
[ $failures = 0 ] || tail -20 "$tmp/run.log"
finish "store_$how"
