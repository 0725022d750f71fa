#!/usr/bin/env bash
# test_secrets.sh SLUICE STORE_URL: what a careless plugin says never
# carries a secret out, whatever the surface, and never forges a line.
# memory_sink's `leak` logs and fails with its password, its url and a
# text that holds every form of secret (a URL's userinfo and secret query
# parameters, a libpq connection string, MongoDB authMechanismProperties,
# secrets repeated bare), and a forged log line after a newline; a table
# is named like a secret too. Every surface is then searched for them:
# the log, status, status --json, history, events, /health and /metrics
# (--print has its config cases). Names with control characters (a table
# named with an escape sequence, whose CDC stops) are escaped in the log
# and in status.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
esc=$'\x1b'
red="${esc}[31mred"

cat > "$tmp/p.ini" <<INI
[service]
http_listen = 127.0.0.1:$port
progress = log
progress_interval = 1s

[pipe leaky]
source = memory_source
sink = memory_sink
[pipe leaky.source]
tables = items, key=Planted-Name-6
rows = 3
[pipe leaky.sink]
password = Planted-Bare-1
url = http://ann:Planted-Userinfo-2@ch.example:8123/?token=Planted-Query-3
leak = conninfo host=db password=Planted-Libpq-4 dbname=x; mongodb://db/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:Planted-Mongo-5; bare Planted-Userinfo-2

[pipe names]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe names.source]
tables = plain, $red
rows = 5
changes = 4
stop_table = $red
INI

"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!
stopped() { "$sluice" status names --json | grep -q '"status":"stopped"'; }
wait_for "pipe leaky failed" 30 is_state leaky failed
wait_for "the table of pipe names stopped" 30 stopped
get() { curl -s "http://127.0.0.1:$port$1" > "$tmp/out/$2"; }
mkdir "$tmp/out"
get /health health
get /metrics metrics
"$sluice" status > "$tmp/out/status"
"$sluice" status leaky > "$tmp/out/status_leaky"
"$sluice" status names > "$tmp/out/status_names"
"$sluice" status --json > "$tmp/out/status.json"
"$sluice" status leaky --json > "$tmp/out/status_leaky.json"
"$sluice" history leaky > "$tmp/out/history"
"$sluice" history leaky --json > "$tmp/out/history.json"
"$sluice" events > "$tmp/out/events"
"$sluice" events --json > "$tmp/out/events.json"
kill -TERM $pid; wait $pid
cp "$tmp/run.log" "$tmp/out/log"

# the secrets: none anywhere (nor the store's password, when it has one)
planted=(Planted-)
pass=$(sed -n 's|^[a-z]*://[^:/@]*:\([^@]*\)@.*|\1|p' <<<"$store")
[ -n "$pass" ] && planted+=("$pass")
for f in "$tmp"/out/*; do
  for s in "${planted[@]}"; do
    grep -q -- "$s" "$f" && fail "$(basename "$f") shows a secret: $(grep -- "$s" "$f" | head -3)"
  done
done
# ... and what they were part of is there, masked: the test can fail
said='conninfo host=db password=******** dbname=x; mongodb://db/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:********; bare ********, password ********, url http://ann:********@ch.example:8123/?token=********'
for f in log status_leaky status_leaky.json history history.json events events.json health; do
  grep -qF -- "$said" "$tmp/out/$f" || fail "$f lacks the masked message: $(head -c 600 "$tmp/out/$f")"
done
grep -qF 'sluice_table_rows_total{pipe="leaky",table="key=********"}' "$tmp/out/metrics" ||
  fail "/metrics lacks the masked table name: $(grep leaky "$tmp/out/metrics" | head -5)"
grep -qF '"name":"key=********"' "$tmp/out/status_leaky.json" || fail "status --json: table name not masked"
/usr/bin/python3 "$(dirname "$0")/prometheus_check.py" "$tmp/out/metrics" > "$tmp/check.out" ||
  fail "/metrics breaks Prometheus' rules: $(head -5 "$tmp/check.out")"

# no line forged: a newline in a message, an escape sequence in a name
for f in log status status_leaky status_names history events; do
  grep -q '^2000-01-01T00:00:00.000Z error sluice: forged' "$tmp/out/$f" && fail "$f has a forged line"
  grep -q "$esc" "$tmp/out/$f" && fail "$f has an escape character: $(grep "$esc" "$tmp/out/$f" | cat -v | head -3)"
done
grep -qF '\n2000-01-01T00:00:00.000Z error sluice: forged' "$tmp/out/log" || fail "the log lacks the escaped newline"
grep -qF '\n2000-01-01T00:00:00.000Z error sluice: forged' "$tmp/out/history" || fail "history lacks the escaped newline"
grep -qF 'table \x1b[31mred stopped' "$tmp/out/log" || fail "the log lacks the escaped table name: $(grep stopped "$tmp/out/log")"
grep -qE '^    \\x1b\[31mred +stopped' "$tmp/out/status_names" || fail "status lacks the escaped table name: $(cat "$tmp/out/status_names")"
# JSON keeps the name as it is, escaped by JSON's own rules
grep -qF '"name":"\u001b[31mred"' "$tmp/out/status.json" || fail "status --json: $(grep -o '"name":"[^"]*red"' "$tmp/out/status.json")"
finish secrets
