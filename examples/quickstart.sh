#!/usr/bin/env bash
# quickstart.sh: installs what sluice needs (Debian), builds it, and runs
# the main job: the pipeline of examples/quickstart.ini, MongoDB
# collections into ClickHouse, for real. No MongoDB server is packaged by
# Debian, so the source is sluice's MongoDB wire-protocol test server with
# generated documents, then a stream of inserts, updates and deletes
# written with PyMongo; ClickHouse is Debian's. Both run on loopback in a
# temporary directory and are stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/install-deps --test
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=ON >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
export SLUICE_PLUGIN_PATH=$PWD/build/plugins

tmp=$(mktemp -d); chmod 755 "$tmp"
cleanup() {
  [ -n "${run_pid:-}" ] && kill "$run_pid" 2>/dev/null && wait "$run_pid" || true
  [ -n "${mongo_pid:-}" ] && kill "$mongo_pid" 2>/dev/null && wait "$mongo_pid" || true
  tests/servers/clickhouse.sh stop "$tmp/ch" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== starting a MongoDB wire-protocol test server with 25,000 documents"
build/tests/mongo_server/mongo_test_server --port 0 \
  --generate shop.orders=20000:512 --generate shop.customers=5000:256 > "$tmp/mongo.out" &
mongo_pid=$!
until grep -q listening "$tmp/mongo.out" 2>/dev/null; do sleep 0.1; done
mongo_port=$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")
echo "== starting ClickHouse"
tests/servers/clickhouse.sh start "$tmp/ch"
ch_url=$(cat "$tmp/ch/url")

metrics_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed -e "s|^uri = .*|uri = mongodb://127.0.0.1:$mongo_port/?replicaSet=rs0|" \
    -e "s|^url = http.*|url = $ch_url|" \
    -e "s|^url = sqlite:.*|url = sqlite:$tmp/sluice.db|" \
    -e "s|^sync_interval = .*|sync_interval = 2s|" \
    -e "s|^; http_listen = .*|http_listen = 127.0.0.1:$metrics_port|" \
    examples/quickstart.ini > "$tmp/quickstart.ini"
./build/sluice check "$tmp/quickstart.ini"

echo "== sluice run (snapshot, then change streams)"
./build/sluice run "$tmp/quickstart.ini" > "$tmp/run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 600); do
  rows=$(./build/sluice status orders --json --config "$tmp/quickstart.ini" 2>/dev/null |
         sed -n 's/.*"state":"running".*"rows":\([0-9]*\),"lag_ms".*/\1/p' || true)
  [ "${rows:-0}" -ge 25000 ] && break
  sleep 0.5
done
./build/sluice status orders --config "$tmp/quickstart.ini"
count() { curl -s "$ch_url/" --data-binary "SELECT count() FROM shop.$1 FINAL WHERE _is_deleted = 0"; }
for t in orders customers; do echo "ClickHouse shop.$t: $(count $t) rows"; done

echo "== a stream of changes on the source: 500 inserts, 200 updates, 100 deletes"
/usr/bin/python3 - "$mongo_port" <<'PY'
import sys, time, pymongo
orders = pymongo.MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/?replicaSet=rs0").shop.orders
for i in range(500):
    orders.insert_one({"_id": f"new-{i}", "item": "quickstart", "qty": i})
    if i < 200:
        orders.update_one({"_id": f"new-{i}"}, {"$set": {"qty": -i, "status": "updated"}})
    if i < 100:
        orders.delete_one({"_id": f"new-{i}"})
    time.sleep(0.005)
PY
for _ in $(seq 1 120); do [ "$(count orders)" = 20400 ] && break; sleep 0.5; done
echo "ClickHouse shop.orders: $(count orders) rows (20,000 + 500 inserted - 100 deleted)"
echo "== a document by its _id, fields read from doc (visitParamExtract*, ClickHouse 18.16)"
curl -s "$ch_url/" --data-binary "SELECT _id, visitParamExtractString(doc, 'item') AS item, visitParamExtractInt(doc, 'qty') AS qty, doc FROM shop.orders FINAL WHERE _id = 'new-150' FORMAT PrettyCompactNoEscapes"
echo "== the typed columns qty and status (columns = ... in examples/quickstart.ini)"
curl -s "$ch_url/" --data-binary "SELECT status, count() AS orders, sum(qty) AS total_qty FROM shop.orders FINAL WHERE _is_deleted = 0 AND qty IS NOT NULL GROUP BY status ORDER BY status FORMAT PrettyCompactNoEscapes"
echo "== /metrics of sluice run (http_listen = 127.0.0.1:$metrics_port)"
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^sluice_(table_rows_total|table_lag_seconds|pipe_state.*} 1)'
./build/sluice history orders --config "$tmp/quickstart.ini"
kill -TERM "$run_pid"; wait "$run_pid"; run_pid=
echo "== stopped cleanly"
