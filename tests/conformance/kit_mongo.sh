#!/usr/bin/env bash
# kit_mongo.sh SLUICE SOURCE_MONGO.so MONGO_TEST_SERVER KIT_CASE: the
# conformance kit on source_mongo against the MongoDB wire-protocol test
# server: two collections (int and string _ids, one split into several
# partitions), and 17 changes made with PyMongo while the kit follows them.
set -u
sluice=$1 plugin=$2 server=$3 kit_case=$4
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
"$server" --port 0 --generate shop.orders=2500:64:int \
  --generate shop.customers=40:64:string > "$tmp/server.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$tmp/server.out")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "kit_mongo: the test server did not start: $(cat "$tmp/server.out")" >&2; exit 1; }
cat > "$tmp/kit.ini" <<INI
[source source_mongo]
uri = mongodb://127.0.0.1:$port/?replicaSet=rs0
database = shop
collections = orders, customers
partition_size = 1000

[conformance source_mongo]
batch_records = 5
max_resumes = 20
cdc_time = 10s
expect_changes = 17
changes = /usr/bin/python3 $here/mongo_changes.py $port
INI
"$kit_case" "$sluice" "$plugin" "$tmp/kit.ini" 0 \
  "^PASS source source_mongo: snapshot.complete: 2 tables, [0-9]+ partitions, 2540 records" \
  "^PASS source source_mongo: snapshot.resume: " \
  "^PASS source source_mongo: cdc.forward: 17 changes" \
  "^PASS source source_mongo: cdc.resume: " \
  ", 0 failed, 0 skipped$"
