#!/usr/bin/env bash
# clickhouse.sh start|stop|kill|restart DIR: a ClickHouse server of Debian's
# for the tests, on free loopback ports, with its data in DIR.
#
# Users: `default` without a password, and `sluice` with the password
# `sluice-test`. start writes the HTTP URL to DIR/url and the server's
# version to DIR/version. stop: a clean stop that removes DIR; kill: the
# server goes away at once (kill -9); restart: starts DIR again on its
# ports. SERVER_ADDRESS: the IPv4 address to listen on and to name in the
# URL (127.0.0.1 when unset); any other than 127.0.0.1 lets both users in
# from every address and keeps a query log (system.query_log), which
# the multi-host test reads to tell when a worker last wrote.
set -euo pipefail
cmd=$1 dir=$2
addr=${SERVER_ADDRESS:-127.0.0.1}
nets="<ip>127.0.0.1</ip><ip>::1</ip>"
query_log= log_queries=
if [ "$addr" != 127.0.0.1 ]; then
  nets="$nets<ip>0.0.0.0/0</ip>"
  log_queries="<log_queries>1</log_queries>"
  query_log="<query_log><database>system</database><table>query_log</table><flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>"
fi
server=$(command -v clickhouse-server || echo /usr/bin/clickhouse-server)
[ -x "$server" ] || { echo "clickhouse.sh: no ClickHouse server installed (apt-get install clickhouse-server)" >&2; exit 1; }

. "$(dirname "$0")/free_port.sh"

write_config() {
  local http tcp inter
  http=$(free_port); tcp=$(free_port); inter=$(free_port)
  echo "$http" > "$dir/port"
  cat > "$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$dir/log/server.log</log><errorlog>$dir/log/error.log</errorlog><console>0</console></logger>
  <http_port>$http</http_port>
  <tcp_port>$tcp</tcp_port>
  <interserver_http_port>$inter</interserver_http_port>
  <listen_host>$addr</listen_host>
  <path>$dir/data/</path>
  <tmp_path>$dir/tmp/</tmp_path>
  <user_files_path>$dir/user_files/</user_files_path>
  <format_schema_path>$dir/format_schemas/</format_schema_path>
  <users_config>$dir/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <max_concurrent_queries>50</max_concurrent_queries>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  $query_log
</yandex>
XML
  cat > "$dir/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage>$log_queries</default></profiles>
  <users>
    <default><password></password><networks>$nets</networks><profile>default</profile><quota>default</quota></default>
    <sluice><password>sluice-test</password><networks>$nets</networks><profile>default</profile><quota>default</quota></sluice>
  </users>
  <quotas><default></default></quotas>
</yandex>
XML
}

# server_start: false when the server did not come up (said on stderr)
server_start() {
  mkdir -p "$dir/log" "$dir/data" "$dir/tmp"
  rm -f "$dir/server.pid"
  "$server" --config-file="$dir/config.xml" --pid-file="$dir/server.pid" --daemon
  local url="http://$addr:$(cat "$dir/port")"
  for _ in $(seq 1 300); do
    if curl -sf "$url/ping" >/dev/null 2>&1; then
      echo "$url" > "$dir/url"
      curl -sf "$url/?query=SELECT%20version()" > "$dir/version"
      return 0
    fi
    # gone already (a port taken meanwhile): no use waiting
    [ -f "$dir/server.pid" ] && ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null && break
    sleep 0.1
  done
  echo "clickhouse.sh: the server did not answer on $url; its log:" >&2
  tail -20 "$dir/log/error.log" >&2 2>/dev/null || true
  return 1
}

stop_server() {
  local signal=$1
  [ -f "$dir/server.pid" ] || return 0
  local pid; pid=$(cat "$dir/server.pid")
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/server.pid"
}

case $cmd in
start)
  for attempt in 1 2 3; do # new ports when one was taken meanwhile
    rm -rf "$dir"; mkdir -p "$dir"; write_config
    server_start && exit 0
    echo "clickhouse.sh: start $attempt of 3 failed" >&2
  done
  exit 1 ;;
restart) server_start ;;
stop) stop_server TERM; rm -rf "$dir" ;;
kill) stop_server KILL ;;
*) echo "usage: clickhouse.sh start|stop|kill|restart DIR" >&2; exit 2 ;;
esac
