#!/usr/bin/env bash
# test_check_connect.sh SLUICE MONGO_SERVER CH_DIR: `sluice check
# --connect` opens each pipe's plugins and pings their servers: the
# MongoDB test server (or SLUICE_TEST_MONGO_URI) and the ClickHouse of the
# fixture answer; ports where nothing listens are reported, each by its
# plugin, and exit status 1; so is a wrong password in the sink's URL.
set -u
sluice=$1 mongo_server=$2 ch_dir=$3
. "$(dirname "$0")/../lib.sh"
if [ -n "${SLUICE_TEST_MONGO_URI:-}" ]; then
  uri=$SLUICE_TEST_MONGO_URI
else
  "$mongo_server" --port 0 > "$tmp/mongo.out" & 
  for _ in $(seq 1 50); do grep -q listening "$tmp/mongo.out" && break; sleep 0.1; done
  uri="mongodb://127.0.0.1:$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/mongo.out")/?replicaSet=rs0"
fi
write() {
  printf '[pipe p]\nsource = source_mongo\nsink = sink_clickhouse\n[pipe p.source]\nuri = %s\ndatabase = shop\n[pipe p.sink]\nurl = %s\ndatabase = shop\n' "$1" "$2" > "$tmp/c.ini"
}
write "$uri" "$(cat "$ch_dir/url")"
out=$("$sluice" check "$tmp/c.ini" --connect 2>&1); status=$?
[ $status = 0 ] || fail "servers up: exit $status: $out"
grep -q "pipe p: source source_mongo: connected" <<<"$out" || fail "source not connected: $out"
grep -q "pipe p: sink sink_clickhouse: connected" <<<"$out" || fail "sink not connected: $out"
# credentials in the sink's URL: a wrong password fails with
# ClickHouse's own message (never the password); the right one connects
ch=$(cat "$ch_dir/url")
write "$uri" "http://sluice:not-the-password@${ch#http://}"
out=$("$sluice" check "$tmp/c.ini" --connect 2>&1); status=$?
[ $status = 1 ] || fail "wrong password in the url: exit $status: $out"
grep -q "pipe p: sink sink_clickhouse: error: .*Wrong password for user sluice" <<<"$out" ||
  fail "wrong password in the url: $out"
grep -q "not-the-password" <<<"$out" && fail "the password was printed: $out"
write "$uri" "http://sluice:sluice-test@${ch#http://}"
out=$("$sluice" check "$tmp/c.ini" --connect 2>&1); status=$?
[ $status = 0 ] || fail "right password in the url: exit $status: $out"
grep -q "pipe p: sink sink_clickhouse: connected" <<<"$out" || fail "right password in the url: $out"
# a table whose typed column has another type than configured is said
# now, as its setup would refuse it; the right type connects
ch=$(cat "$ch_dir/url") db="check_connect_$$"
curl -sf "$ch/" --data-binary "CREATE DATABASE $db" >/dev/null || fail "cannot create $db"
curl -sf "$ch/" --data-binary "CREATE TABLE $db.orders (_id String, doc String, _version UInt64, _is_deleted UInt8, _synced_at DateTime, total Float64, _malformed String) ENGINE = ReplacingMergeTree(_version) ORDER BY _id" >/dev/null ||
  fail "cannot create $db.orders"
printf '[pipe p]\nsource = source_mongo\nsink = sink_clickhouse\n[pipe p.source]\nuri = %s\ndatabase = shop\ncollections = orders\n[pipe p.sink]\nurl = %s\ndatabase = %s\ncolumns = orders.total = total %s\n' "$uri" "$ch" "$db" Int64 > "$tmp/c.ini"
out=$("$sluice" check "$tmp/c.ini" --connect 2>&1); status=$?
[ $status = 1 ] || fail "a changed column type: exit $status: $out"
grep -q "pipe p: sink sink_clickhouse: error: sink_clickhouse.ping: table .*orders.*total.*Float64.*Int64\|Int64.*Float64.*resync" <<<"$out" ||
  fail "a changed column type: $out"
sed -i 's/total Int64/total Float64/' "$tmp/c.ini"
out=$("$sluice" check "$tmp/c.ini" --connect 2>&1); status=$?
[ $status = 0 ] || fail "the type the table has: exit $status: $out"
curl -sf "$ch/" --data-binary "DROP DATABASE $db" >/dev/null
# without --connect nothing is contacted
write "mongodb://127.0.0.1:1/?replicaSet=rs0&serverSelectionTimeoutMS=500" "http://127.0.0.1:1"
"$sluice" check "$tmp/c.ini" >/dev/null 2>&1 || fail "check without --connect contacted the servers"
out=$("$sluice" check "$tmp/c.ini" --connect 2>&1); status=$?
[ $status = 1 ] || fail "servers down: exit $status: $out"
# the plugin and the callback named once, by the core (the plugin's own
# "NAME: " left out)
grep -q "pipe p: source source_mongo: error: source_mongo.ping: connecting: " <<<"$out" || fail "source error: $out"
grep -q "pipe p: sink sink_clickhouse: error: sink_clickhouse.ping: " <<<"$out" || fail "sink error: $out"
grep -q "error: source_mongo:\|error: sink_clickhouse:" <<<"$out" && fail "a plugin named twice: $out"
finish "check --connect"
