#!/usr/bin/env bash
# test_logs.sh SLUICE STORE_URL: the log of sluice run. In its json form
# every line is one JSON object with time, level, component, pipe, table,
# message and fields, control characters escaped; every lifecycle
# transition is a line with its reason (a snapshot's end with its rows,
# bytes and duration; pause, resume, resync, completed, failed with its
# error), in the text form too; the form is chosen by --log-format,
# [service] log_format, SLUICE_LOG_FORMAT; under systemd (JOURNAL_STREAM
# naming standard error) the text form has the syslog priority and no
# time; libmicrohttpd's messages are log lines naming the port.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
unset SLUICE_LOG_FORMAT SLUICE_LOG_LEVEL JOURNAL_STREAM
# the plugins the pipes use, without source_mongo: libmongoc may print a
# line of its own as it loads, before any plugin code runs (see
# docs/operations.md, Logs)
plugins_only memory retention
esc=$'\x1b' del=$'\x7f' csi=$'\xc2\x9b'

# ---- the json form: transitions of a pipe through its life ----
# a: snapshot of 2 x 100 rows, then changes; b: a snapshot alone; c: fails
# in CDC; l: its sink says control characters when it opens, and fails
# its first write with a message of two lines
cat > "$tmp/p.ini" <<INI
[service]
progress = log
progress_interval = 1s

[pipe a]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe a.source]
tables = t, u
rows = 100
changes = 20

[pipe b]
source = memory_source
sink = memory_sink
mode = snapshot
[pipe b.source]
tables = v
rows = 30

[pipe c]
source = memory_source
sink = memory_sink
mode = cdc
[pipe c.source]
tables = w
changes = 10
misbehave = cdc_poll:fatal

[pipe l]
source = memory_source
sink = memory_sink
[pipe l.source]
tables = y
rows = 5
[pipe l.sink]
leak = said ${esc}[2J${del} and ${csi}31m
INI
"$sluice" run "$tmp/p.ini" --log-format json --log-level debug > "$tmp/run.out" 2> "$tmp/run.log" & pid=$!
wait_for "pipe a running" 30 is_state a running
wait_for "pipe b completed" 30 is_state b completed
wait_for "pipe c failed" 30 is_state c failed
wait_for "pipe l failed" 30 is_state l failed
"$sluice" pause a --wait --timeout 20s > /dev/null 2>&1 || fail "pause"
"$sluice" resume a --wait --timeout 20s > /dev/null 2>&1 || fail "resume"
"$sluice" resync a --wait --timeout 30s > /dev/null 2>&1 || fail "resync"
kill -TERM $pid; wait $pid; status=$?
[ $status = 0 ] || fail "sluice run exited $status: $(tail -5 "$tmp/run.log")"
[ -s "$tmp/run.out" ] && fail "sluice run wrote on stdout: $(head -3 "$tmp/run.out")"

/usr/bin/python3 - "$tmp/run.log" <<'PY' || fail "the json log (above)"
import json, re, sys
raw = open(sys.argv[1], "rb").read()
problems = []
def need(cond, what):
    if not cond:
        problems.append(what)
# no control character but the line ends, in any form
need(not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", raw),
     "a raw control character in the log")
lines = []
for n, text in enumerate(raw.decode("utf-8").splitlines(), 1):
    try:
        line = json.loads(text)
    except ValueError as e:
        problems.append("line %d is not JSON (%s): %r" % (n, e, text))
        continue
    need(isinstance(line, dict) and list(line) ==
         ["time", "level", "component", "pipe", "table", "message", "fields"],
         "line %d has other keys: %r" % (n, text))
    need(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"]),
         "line %d: time %r" % (n, line["time"]))
    need(line["level"] in ("error", "warn", "info", "debug"),
         "line %d: level %r" % (n, line["level"]))
    need(isinstance(line["fields"], dict), "line %d: fields" % n)
    lines.append(line)

ANY = object()
def find(pipe, frm, to, level="info", reason=None):
    for l in lines:
        f = l["fields"]
        if (l["pipe"] == pipe and frm in (ANY, f.get("from")) and f.get("to") == to
                and (reason is None or reason in f.get("reason", ""))):
            need(l["level"] == level, "%s %s -> %s at %s, not %s"
                 % (pipe, frm, to, l["level"], level))
            need(l["message"].startswith("%s -> %s: %s" % (f["from"], to, f["reason"]))
                 if f["from"] else l["message"] == "%s: %s" % (to, f["reason"]),
                 "%s %s -> %s: message %r" % (pipe, frm, to, l["message"]))
            need(l["component"] == "sluice" and l["table"] is None,
                 "%s %s -> %s: %r" % (pipe, frm, to, l))
            return l
    problems.append("no line for %s: %s -> %s (%s)" % (pipe, frm, to, reason))
    return None

def loaded(l, rows):
    if not l:
        return
    f = l["fields"]
    need(f.get("rows") == rows if rows else f.get("rows", 0) >= 200,
         "rows of %r" % l)
    need(isinstance(f.get("bytes"), int) and f["bytes"] > 0, "bytes of %r" % l)
    need(isinstance(f.get("duration_ms"), int) and f["duration_ms"] >= 0,
         "duration_ms of %r" % l)
    need(re.search(r": snapshot loaded: %d rows, %d bytes in [0-9hms]+$"
                   % (f["rows"], f["bytes"]), l["message"]),
         "the message of %r" % l)

find("a", None, "provisioning", reason="registered from")
find("a", "provisioning", "setup", reason="plugins loaded")
find("a", "setup", "snapshot", reason="destination tables ready")
loaded(find("a", "snapshot", "running", reason="snapshot loaded"), 200)
find("a", "running", "pausing", reason="pause requested (request")
find("a", "pausing", "paused")
find("a", "paused", "running", reason="resume requested (request")
l = find("a", "running", "setup", reason="resync requested (request")
need(l and l["fields"].get("context") == "resync", "the resync's context: %r" % l)
loaded(find("a", "snapshot", "resync", reason="snapshot loaded"), None)
find("a", "resync", "running", reason="resync tables swapped in")
loaded(find("b", "snapshot", "completed", reason="snapshot loaded"), 30)
l = find("c", "running", "failed", level="error", reason="cdc_poll fails on purpose")
need(l and l["message"].endswith("memory: cdc_poll fails on purpose (misbehave = cdc_poll:fatal)"),
     "c's failure: %r" % l)

# the sink's line: its plugin, its pipe, its control characters as they
# were; its failure of two lines, one line of the log
said = [l for l in lines if l["component"] == "memory_sink" and l["pipe"] == "l"
        and "said" in l["message"]]
need(said and "said \x1b[2J\x7f and \x9b31m" in said[0]["message"],
     "memory_sink's line: %r" % said)
l = find("l", ANY, "failed", level="error", reason="memory_sink.write: said \x1b[2J\x7f")
need(l and l["message"].endswith("\n2000-01-01T00:00:00.000Z error sluice: forged"),
     "l's failure: %r" % l)
# the core's lines about a pipe and a table, with their values
need(any(l["level"] == "debug" and l["pipe"] == "a" and
         l["message"].startswith("published ") and
         isinstance(l["fields"].get("records"), int) for l in lines),
     "no debug line of a publication with its records")
need(any(l["level"] == "debug" and l["pipe"] == "a" and
         l["message"].startswith("snapshot: ") and
         l["fields"] == {"partitions": 2, "tables": 2} for l in lines),
     "no debug line of the snapshot's partitions")
need(any(l["level"] == "debug" and l["pipe"] == "a" and
         l["message"].startswith("change stream of 2 table(s) opened from")
         for l in lines), "no debug line of the change stream opened")
need(any(l["level"] == "debug" and l["pipe"] == "a" and l["table"] == "t" and
         l["message"] == "table t: resync swapped in" for l in lines),
     "no debug line of the resync's swap")
need(any(l["pipe"] == "b" and l["table"] == "v" and
         l["message"].startswith("progress ") and
         l["fields"].get("rows") == 30 for l in lines),
     "no progress line of table v with its rows")
if problems:
    print("\n".join(problems[:20]))
    sys.exit(1)
PY

# ---- the text form: the same transitions, for people ----
printf '[pipe d]\nsource = memory_source\nsink = memory_sink\nmode = snapshot\n[pipe d.source]\ntables = x\nrows = 40\n' > "$tmp/d.ini"
"$sluice" run "$tmp/d.ini" 2> "$tmp/d.log" & pid=$!
wait_for "pipe d completed" 30 is_state d completed
kill -INT $pid; wait $pid
time_re='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
grep -Eq "^$time_re info  d: snapshot -> completed: snapshot loaded: 40 rows, [1-9][0-9]* bytes in [0-9hms]+$" "$tmp/d.log" ||
  fail "text: no snapshot end with rows, bytes and duration: $(cat "$tmp/d.log")"
grep -Eq "^$time_re info  d: setup -> snapshot: destination tables ready$" "$tmp/d.log" ||
  fail "text: no snapshot start: $(cat "$tmp/d.log")"
bad=$(grep -Ev "^$time_re (error|warn |info |debug) [^ ]+: " "$tmp/d.log") && fail "text: lines of another form: $bad"

# ---- the form's setting: flag, [service], environment, default ----
# each run has a pipe of its own, e1, e2..., with a table of its own (one
# destination has one owner): new, it loads its 5 rows
runs=0
new_pipe() { # new_pipe SERVICE_LINES: $tmp/e.ini, with the next pipe
  runs=$((runs + 1))
  printf '%s[pipe e%d]\nsource = memory_source\nsink = memory_sink\nmode = snapshot\n[pipe e%d.source]\ntables = x%d\nrows = 5\n' "$1" $runs $runs $runs > "$tmp/e.ini"
}
run_e() { # run_e ARGS...: sluice run e.ini ARGS until its pipe completed
  "$sluice" run "$tmp/e.ini" "$@" & local pid=$!
  wait_for "pipe e$runs completed" 30 is_state e$runs completed
  kill -INT $pid; wait $pid
}
logged_as() { # logged_as FORM SERVICE_LINES [ARGS...]: the run's lines are all FORM
  local form=$1 service=$2; shift 2
  new_pipe "$service"
  run_e "$@" 2> "$tmp/e.log"
  grep -q "snapshot -> completed: snapshot loaded: 5 rows" "$tmp/e.log" || { fail "$form $service $*: no snapshot end: $(cat "$tmp/e.log")"; return; }
  if [ "$form" = json ]; then
    /usr/bin/python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$tmp/e.log" ||
      fail "$service $*: not json: $(head -3 "$tmp/e.log")"
  else
    grep -q '^{' "$tmp/e.log" && fail "$service $*: not text: $(head -3 "$tmp/e.log")"
  fi
}
logged_as text ""
SLUICE_LOG_FORMAT=json logged_as json ""
SLUICE_LOG_FORMAT=text logged_as json $'[service]\nlog_format = json\n'
logged_as text $'[service]\nlog_format = json\n' --log-format text
SLUICE_LOG_FORMAT=json logged_as text "" --log-format=text
out=$(timeout 10 "$sluice" run "$tmp/e.ini" --log-format yaml 2>&1); status=$?
[ $status = 2 ] && grep -q "\--log-format: 'yaml' is not a log format (text, json)" <<<"$out" ||
  fail "--log-format yaml: exit $status: $out"
printf '[service]\nlog_format = yaml\n[pipe f]\nsource = memory_source\nsink = memory_sink\n' > "$tmp/bad.ini"
out=$(timeout 10 "$sluice" run "$tmp/bad.ini" 2>&1); status=$?
[ $status = 2 ] && grep -q "bad.ini:2: \[service\] log_format: 'yaml' is not one of" <<<"$out" ||
  fail "log_format = yaml: exit $status: $out"
out=$(SLUICE_LOG_FORMAT=yaml "$sluice" status 2>&1); status=$?
[ $status = 2 ] && grep -q "SLUICE_LOG_FORMAT: 'yaml' is not a log format" <<<"$out" ||
  fail "SLUICE_LOG_FORMAT=yaml: exit $status: $out"

# ---- under systemd: JOURNAL_STREAM names standard error ----
# the journal has the time; the priority prefix is what journald reads
journal_run() { # journal_run STREAM: the text log, JOURNAL_STREAM=STREAM
  : > "$tmp/j.log"
  local stream=${1:-$(stat -c '%d:%i' "$tmp/j.log")}
  new_pipe ""
  JOURNAL_STREAM=$stream run_e 2>> "$tmp/j.log"
}
journal_run
grep -Eq '^<6>info  e[0-9]+: snapshot -> completed: snapshot loaded: 5 rows' "$tmp/j.log" ||
  fail "journal: no line with its priority: $(cat "$tmp/j.log")"
grep -Eq "$time_re" "$tmp/j.log" && fail "journal: a time of its own: $(cat "$tmp/j.log")"
bad=$(grep -Ev '^<[3467]>(error|warn |info |debug) ' "$tmp/j.log") && fail "journal: a line without its priority: $bad"
# a stream that is not standard error (a child of a service whose own
# standard error goes elsewhere): the usual lines
journal_run 1:1
grep -Eq "^$time_re info  e[0-9]+: snapshot -> completed: snapshot loaded: 5 rows" "$tmp/j.log" ||
  fail "JOURNAL_STREAM of another stream: $(cat "$tmp/j.log")"

# ---- libmicrohttpd's messages: log lines with the port it was given ----
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True)
time.sleep(60)' > "$tmp/port" & holder=$!
wait_for "a port taken" 10 test -s "$tmp/port"
port=$(cat "$tmp/port")
printf '[service]\nhttp_listen = 127.0.0.1:%s\n[pipe h]\nsource = memory_source\nsink = memory_sink\n' "$port" > "$tmp/h.ini"
for form in text json; do
  out=$(timeout 10 "$sluice" run "$tmp/h.ini" --log-format $form 2>&1); status=$?
  [ $status = 1 ] || fail "$form: port taken: exit $status"
  grep -q "Failed to bind to port 0" <<<"$out" && fail "$form: port 0 in: $out"
  case $form in
  text)
    grep -Eq "^$time_re warn  http: 127\.0\.0\.1:$port: Failed to bind to port $port: " <<<"$out" ||
      fail "text: no log line of the bind failure: $out"
    bad=$(grep -Ev "^$time_re (error|warn ) [^ ]+: " <<<"$out") && fail "text: a raw line: $bad" ;;
  json)
    /usr/bin/python3 - "$port" "$out" <<'PY' || fail "json: the bind failure: $out"
import json, sys
port, lines = sys.argv[1], [json.loads(l) for l in sys.argv[2].splitlines()]
http = [l for l in lines if l["component"] == "http"]
assert http and http[0]["level"] == "warn", lines
assert http[0]["fields"] == {"listen": "127.0.0.1:" + port}, http
assert ("Failed to bind to port %s: " % port) in http[0]["message"], http
PY
    ;;
  esac
done
kill $holder

finish logs
