#!/usr/bin/env bash
# hosts.sh SLUICE MONGO_SERVER: workers on separate hosts, as far as one
# machine allows. Runs only when SLUICE_TEST_HOSTS=1 (tests/run.sh sets it
# where it can run: as root, with `ip netns` and `unshare --uts --pid`);
# else it says why and is skipped (status 77).
#
# Builds a bridge in a network namespace of its own and five namespaces
# joined to it by veth pairs, each an address of 10.77.0.0/24: the store
# (PostgreSQL, .1), ClickHouse (.2), the MongoDB test server (.3) and two
# workers (.11, .12), each worker also in UTS and PID namespaces of its
# own (its own host name, its own PIDs). The bridge's namespace (.254)
# observes: hosts.py runs there, starts the workers, cuts and heals their
# links, and checks the scenarios. Every namespace is deleted at exit.
set -u
sluice=$1 mongo_server=$2
here=$(cd "$(dirname "$0")" && pwd)
skip() { echo "SKIP: the multi-host test does not run here: $*"; exit 77; }

[ "${SLUICE_TEST_HOSTS:-}" = 1 ] ||
  skip "SLUICE_TEST_HOSTS is not 1 (tests/run.sh sets it as root where network namespaces work)"
[ "$(id -u)" = 0 ] || skip "it needs root (network namespaces)"
command -v ip > /dev/null || skip "no ip command (apt-get install iproute2)"
unshare --uts --pid --fork true 2> /dev/null || skip "unshare --uts --pid is not allowed"

tag=$$
br=sl${tag}br
declare -A addr=([pg]=10.77.0.1 [ch]=10.77.0.2 [mg]=10.77.0.3 [w1]=10.77.0.11 [w2]=10.77.0.12)
tmp=$(mktemp -d)
chmod 755 "$tmp" # the store's server runs as the postgres user
mongo_pid=

cleanup() {
  [ -n "$mongo_pid" ] && kill "$mongo_pid" 2> /dev/null
  for w in w1 w2; do # a worker hosts.py left behind
    for pid in $(ip netns pids "sl${tag}$w" 2> /dev/null); do kill -9 "$pid" 2> /dev/null; done
  done
  [ -d "$tmp/ch" ] && ip netns exec "sl${tag}ch" "$here/../servers/clickhouse.sh" stop "$tmp/ch" > /dev/null 2>&1
  [ -d "$tmp/pg" ] && ip netns exec "sl${tag}pg" "$here/../servers/postgres.sh" stop "$tmp/pg" > /dev/null 2>&1
  for n in pg ch mg w1 w2 br; do
    for pid in $(ip netns pids "sl${tag}$n" 2> /dev/null); do kill -9 "$pid" 2> /dev/null; done
    ip netns del "sl${tag}$n" 2> /dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$br" || skip "ip netns add is not allowed"
ip -n "$br" link set lo up
ip -n "$br" link add name br0 type bridge || { echo "FAIL: cannot create a bridge"; exit 1; }
ip -n "$br" addr add 10.77.0.254/24 dev br0
ip -n "$br" link set br0 up
for n in pg ch mg w1 w2; do
  ns=sl${tag}$n
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # the host's end, eth0 in its namespace; the bridge's end, b<name>
  ip link add name "h${tag}$n" type veth peer name "b${tag}$n" || { echo "FAIL: veth $n"; exit 1; }
  ip link set "h${tag}$n" netns "$ns"
  ip -n "$ns" link set "h${tag}$n" name eth0
  ip link set "b${tag}$n" netns "$br"
  ip -n "$br" link set "b${tag}$n" name "b$n" master br0 up
  ip -n "$ns" addr add "${addr[$n]}/24" dev eth0
  ip -n "$ns" link set eth0 up
done

SERVER_ADDRESS=${addr[pg]} ip netns exec "sl${tag}pg" "$here/../servers/postgres.sh" start "$tmp/pg" ||
  { echo "FAIL: the store's server did not start"; exit 1; }
SERVER_ADDRESS=${addr[ch]} ip netns exec "sl${tag}ch" "$here/../servers/clickhouse.sh" start "$tmp/ch" ||
  { echo "FAIL: ClickHouse did not start"; exit 1; }
ip netns exec "sl${tag}mg" "$mongo_server" --bind "${addr[mg]}" --port 27017 > "$tmp/mongo.out" 2>&1 &
mongo_pid=$!
for _ in $(seq 1 100); do grep -q "listening on" "$tmp/mongo.out" && break; sleep 0.1; done
grep -q "listening on ${addr[mg]}:27017" "$tmp/mongo.out" ||
  { echo "FAIL: mongo_test_server: $(cat "$tmp/mongo.out")"; exit 1; }

HOSTS_TAG=$tag HOSTS_TMP=$tmp HOSTS_STORE=$(cat "$tmp/pg/url") HOSTS_CH=$(cat "$tmp/ch/url") \
  HOSTS_MONGO="mongodb://${addr[mg]}:27017/?replicaSet=rs0" \
  HOSTS_STORE_ADDR=${addr[pg]} HOSTS_W1_ADDR=${addr[w1]} HOSTS_W2_ADDR=${addr[w2]} \
  ip netns exec "$br" /usr/bin/python3 "$here/hosts.py" "$sluice"
