#!/usr/bin/env bash
# test_requests.sh SLUICE HELPER URL: operator requests, status and history
# from the command line, with the test helper playing the worker.
set -u
sluice=$1 helper=$2 url=$3
failures=0
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
export SLUICE_STORE=$url

run() {
  local want=$1; shift
  out=$("$@" 2>&1); local status=$?
  if [ "$status" != "$want" ]; then
    echo "FAIL: '$*' exited $status, expected $want"; echo "$out" | head -20
    failures=$((failures + 1))
  fi
}
has() {
  if ! grep -qF -- "$1" <<<"$out"; then
    echo "FAIL: output lacks '$1'"; echo "$out" | head -30
    failures=$((failures + 1))
  fi
}
step() { "$helper" "$url" step "$@" >/dev/null 2>&1 || { echo "FAIL: step $*"; failures=$((failures + 1)); }; }

cat > "$tmp/p.ini" <<INI
[topic audit]
consumed_retention_days = 2
unconsumed_retention_days = 9
[pipe orders]
source = memory_source
sink = memory_sink
[pipe orders.source]
tables = orders, customers
INI
"$helper" "$url" register "$tmp/p.ini" || { echo "FAIL: register"; exit 1; }

run 0 "$sluice" status;               has "orders"; has "provisioning"
run 0 "$sluice" topic list;           has "orders"
has "$(printf '%-24s %8lldd %10lldd %-12s' audit 2 9 retention)"
run 0 "$sluice" subscription list;    has "$(printf '%-24s %-24s %-7s' orders orders active)"
run 0 "$sluice" status orders;        has "state:      provisioning since"
has "customers"; has "worker:     none"
run 2 "$sluice" status nope;          has "there is no pipe named 'nope'"
run 1 "$sluice" pause orders;         has "cannot pause pipe 'orders': it is provisioning; pause is possible only when running"
for s in provisioned setup_done snapshot_done; do step orders $s; done
run 0 "$sluice" status --json;        has '"pipes":[{"name":"orders","state":"running"'

# nobody runs the pipe: what needs no worker happens here and now
run 0 "$sluice" pause orders;         has "pause requested (request"; has "done: pipe 'orders' is paused (no worker was running it)"
run 1 "$sluice" pause orders;         has "it is paused; pause is possible only when running"
run 0 "$sluice" resume orders --wait; has "is running"
# what needs a worker waits for one
run 0 "$sluice" resync orders;        has "no worker runs pipe 'orders' now"
run 0 "$sluice" status orders;        has "resync"; has "pending"
step orders request
run 0 "$sluice" status orders --json; has '"state":"setup"'
for s in setup_done snapshot_done resync_done; do step orders $s; done
run 0 "$sluice" tables add orders invoices
run 1 "$sluice" tables add orders orders; has "cannot add table 'orders' to pipe 'orders': it is already there"
run 2 "$sluice" tables add orders;    has "give a pipe and tables"
run 2 "$sluice" tables remove orders nosuch; has "cannot remove table 'nosuch' from pipe 'orders': the pipe has no such table"
run 2 "$sluice" tables add nosuch t;  has "there is no pipe named 'nosuch'"
step orders request
run 0 "$sluice" status orders;        has "invoices"; has "adding"
step orders setup_done; step orders snapshot_done
run 1 "$sluice" tables remove orders orders customers invoices; has "cannot remove every table"
run 0 "$sluice" tables remove orders invoices --drop-destination
step orders request
run 0 "$sluice" status orders --json; has '"state":"modifying"'; has '"status":"removing"'
step orders modify_done
run 2 "$sluice" pause --bogus orders; has "unknown option '--bogus'"

# a worker holds the pipe: the request is left to it
"$helper" "$url" hold pipe:orders 5000 >/dev/null & holder=$!
sleep 0.5
# ... shown as host and process; in JSON as the lease names it
run 0 "$sluice" pause orders;         has "the worker running it ($(hostname) pid $holder)"
run 0 "$sluice" status orders;        has "pause"; has "pending"
has "worker:     $(hostname) pid $holder (lease for"
run 0 "$sluice" status orders --json; has "\"worker\":\"$(hostname):$holder:"
kill -9 $holder; wait $holder 2>/dev/null

run 0 "$sluice" history orders
has "provisioning"; has "registered from"; has "resync requested (request"
has "tables removed"
run 0 "$sluice" history orders --json; has '{"transitions":[{"at":"'; has '"from":null,"to":"provisioning"'
run 2 "$sluice" history nope;         has "there is no pipe named 'nope'"

step orders fail "sink: authentication failed"
run 0 "$sluice" status;               has "failed"; has "sink: authentication failed"
run 2 "$sluice" pipe delete nope;     has "there is no pipe named 'nope'"
sleep 5.2  # the killed holder's lease expires
run 0 "$sluice" pipe delete orders;   has "pipe 'orders' deleted; its destination tables are kept"
run 2 "$sluice" status orders
run 0 "$sluice" subscription list;    [ "$(grep -c orders <<<"$out")" = 0 ] || { echo "FAIL: subscription kept"; failures=$((failures + 1)); }

if [ $failures != 0 ]; then echo "$failures failures"; exit 1; fi
echo "all request checks passed"
