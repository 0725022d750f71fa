#!/usr/bin/env bash
# test_store_deleted.sh SLUICE: the SQLite store is deleted under a
# running `sluice run`, while changes stream. SQLite would go on writing
# into the deleted file; sluice notices at the next commit: the pipe stops
# with an error naming the store, /health answers 503, and the source is
# sent no acknowledgement for a batch that did not reach the store on
# disk (at most one, of a batch committed before the deletion).
set -u
sluice=$1
here=$(dirname "$0")
. "$here/../lib.sh"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
health() { curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port/health"; }
health_is() { [ "$(health)" = "$1" ]; }
acks() { if [ -f "$tmp/acks" ]; then wc -l < "$tmp/acks"; else echo 0; fi; }
acked_twice() { [ "$(acks)" -ge 2 ]; }

cat > "$tmp/p.ini" <<INI
[store]
url = sqlite:$tmp/s.db
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
ack_output = $tmp/acks
[pipe a.sink]
output = $tmp/out.jsonl
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
wait_for "two acknowledged batches" 30 acked_twice || { tail -20 "$tmp/run.log"; exit 1; }
wait_for "/health 200" 10 health_is 200 || fail "/health: $(cat "$tmp/body")"

rm "$tmp/s.db" "$tmp/s.db-wal" "$tmp/s.db-shm"
before=$(acks)
wait_for "the pipe's error naming the store" 20 \
  grep -qF "a: failed: store sqlite:$tmp/s.db: the file was deleted, moved or replaced" "$tmp/run.log"
wait_for "/health 503" 20 health_is 503
grep -qF '"status":"unavailable"' "$tmp/body" || fail "/health body: $(cat "$tmp/body")"
kill -0 $pid 2>/dev/null || fail "sluice run exited"
kill -TERM $pid; wait $pid
after=$(acks)
[ $((after - before)) -le 1 ] ||
  fail "$((after - before)) positions acknowledged after the store was deleted (from $before to $after)"
[ -e "$tmp/s.db" ] && fail "a new store was created at the path of the deleted one"
[ $failures = 0 ] || tail -20 "$tmp/run.log"
finish store_deleted
