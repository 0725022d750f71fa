#!/usr/bin/env bash
# test_progress.sh SLUICE STORE_URL: the progress that sluice run prints
# tells the truth, as the sink's own log of its writes has it. A snapshot
# of 80000 rows goes into a throttled sink (memory_sink: 200 ms a write of
# 1000 rows, about 5000 rows/s, whatever the machine does besides), in
# deliveries of 50000 rows (10 s before each flush); then a resync loads
# them again. Through both loads, every progress line's rows are no more
# than the sink has written and no less than it had written 4 s before;
# after the first 3 s its rate is within a factor of two of the sink's
# over the 10 s before; every ETA it prints is within a factor of two of
# the time the load still took (give or take 2 s: the figures are taken
# once a second), and it prints some; its done share is its rows of the
# estimate. Bytes are in units of 1024, raw with --bytes, in the log and
# in sluice status; the json log has the figures as values.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
state() { "$sluice" status p --json | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p'; }
is_state() { [ "$(state)" = "$1" ]; }

cat > "$tmp/p.ini" <<INI
[service]
progress = log
progress_interval = 1s

[pipe p]
source = memory_source
sink = memory_sink
pull_batch_size = 50000
[pipe p.source]
tables = x
rows = 80000
partitions = 4
batch_rows = 1000
[pipe p.sink]
keep_rows = false
write_delay = 200ms
write_log = $tmp/writes.log
INI
"$sluice" run "$tmp/p.ini" > "$tmp/run.log" 2>&1 & pid=$!

# sluice status while the snapshot loads: the rows of the delivery under
# way, and the share of the estimate
loading() {
  "$sluice" status p --json > "$tmp/status.json" &&
    grep -q '"state":"snapshot"' "$tmp/status.json" &&
    grep -qE '"rows_written":[1-9][0-9]{4},' "$tmp/status.json"
}
if wait_for "10000 rows written in the snapshot" 60 loading; then
  /usr/bin/python3 - "$tmp/status.json" <<'PY' || fail "status --json while loading: $(cat "$tmp/status.json")"
import json, sys
t = json.load(open(sys.argv[1]))["tables"][0]
assert t["rows_written"] >= t["rows"], t
assert t["percent"] == int(t["rows_written"] * 1000 / 80000) / 10, t
assert t["bytes_written"] >= t["bytes"] > 0 or t["bytes_written"] > 0, t
PY
fi
wait_for "the snapshot loaded" 120 is_state running
"$sluice" resync p --wait --timeout 120s > "$tmp/resync.out" 2>&1 || fail "resync: $(cat "$tmp/resync.out")"
is_state running || fail "p is $(state) after the resync"
kill -TERM $pid; wait $pid
"$sluice" history p --json > "$tmp/history.json"

/usr/bin/python3 - "$tmp/run.log" "$tmp/writes.log" "$tmp/history.json" <<'PY' || fail "the progress lines lie (above)"
import bisect, datetime, json, re, sys

def ms(utc):  # 2026-12-02T07:43:50.123Z, or without ".123" on a whole second
    t = datetime.datetime.fromisoformat(utc.replace("Z", "+00:00"))
    return round(t.timestamp() * 1000)

def seconds(text):  # 1m20s, 41s, 0s
    if text == "-":
        return None
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text)
    assert parts, text
    h, m, s = (int(g or 0) for g in parts.groups())
    return h * 3600 + m * 60 + s

lines = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) info  p: progress state=(\w+) table=x .* rows=(\d+) "
                 r"rows_estimated=(-?\d+) done=(\S+) rows_per_s=(\d+) "
                 r"eta=(\S+) bytes=(\S+) ", line)
    if m:
        lines.append(dict(at=ms(m[1]), state=m[2], rows=int(m[3]), estimated=int(m[4]), done=m[5],
                          rate=int(m[6]), eta=seconds(m[7]), bytes=m[8]))
writes = [tuple(map(int, l.split())) for l in open(sys.argv[2])]
history = json.load(open(sys.argv[3]))
history = history.get("transitions", history) if isinstance(history, dict) else history
loads = [(ms(history[i]["at"]), ms(history[i + 1]["at"]))
         for i in range(len(history) - 1) if history[i]["to"] == "snapshot"]
bad = []
assert len(loads) == 2, "expected two loads: %s" % history
for n, (begin, end) in enumerate(loads):
    w = [(t, r) for t, r in writes if begin <= t <= end]
    times = [t for t, _ in w]
    total = [0]
    for _, r in w:
        total.append(total[-1] + r)
    written = lambda t: total[bisect.bisect_right(times, t)]
    assert total[-1] == 80000, "load %d: the sink wrote %d rows" % (n, total[-1])
    first, last = times[0], times[-1]
    seen = [l for l in lines if begin < l["at"] < end and l["state"] == "snapshot"]
    etas = 0
    for l in seen:
        at, where = l["at"], "load %d, %.1fs in" % (n, (l["at"] - first) / 1000)
        if l["rows"] > written(at + 1):
            bad.append("%s: rows %d, more than the sink wrote (%d)" % (where, l["rows"], written(at)))
        if at >= first + 4000 and l["rows"] < written(at - 4000):
            bad.append("%s: rows %d, the sink had written %d 4s before" % (where, l["rows"], written(at - 4000)))
        # no estimate yet (the first line may come before the count): "-"
        share = "%.1f%%" % (int(l["rows"] * 1000 / 80000) / 10) if l["estimated"] >= 0 else "-"
        if l["done"] != share:
            bad.append("%s: done=%s of rows %d" % (where, l["done"], l["rows"]))
        if not re.fullmatch(r"\d+B|\d+\.\dKiB|\d+\.\dMiB", l["bytes"]):
            bad.append("%s: bytes=%s" % (where, l["bytes"]))
        since = max(first, at - 10000)
        if first + 3000 <= at <= last and at > since:
            truth = (written(at) - written(since)) * 1000 / (at - since)
            if not truth / 2 <= l["rate"] <= truth * 2:
                bad.append("%s: %d rows/s, the sink wrote %.0f" % (where, l["rate"], truth))
        if l["eta"] is not None:
            etas += 1
            left = max(0, last - at) / 1000
            if not left / 2 - 2 <= l["eta"] <= left * 2 + 2:
                bad.append("%s: ETA %ds, the load took %.1fs more" % (where, l["eta"], left))
    if etas < 3:
        bad.append("load %d: %d line(s) with an ETA" % (n, etas))
    print("load %d: %d rows in %.1fs, %d progress lines, %d with an ETA"
          % (n, total[-1], (last - first) / 1000, len(seen), etas))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY

# sluice status: bytes in units of 1024, raw with --bytes
"$sluice" status p | grep -qE '^    x +active .* [0-9.]+MiB +' || fail "status: $("$sluice" status p | grep -A1 TABLE)"
"$sluice" status p --bytes | grep -qE '^    x +active .* [0-9]{7} +' || fail "status --bytes: $("$sluice" status p --bytes | grep -A1 TABLE)"
"$sluice" history p --bytes > "$tmp/out" 2>&1 && fail "history took --bytes"
# sluice run --bytes: raw bytes in its progress lines
"$sluice" run "$tmp/p.ini" --bytes > "$tmp/run2.log" 2>&1 & pid=$!
raw_line() { grep -qE "p: progress state=running table=x .* bytes=[0-9]{7} " "$tmp/run2.log"; }
wait_for "a progress line with raw bytes" 30 raw_line
kill -TERM $pid; wait $pid
grep -q "rows_per_s=[1-9]" "$tmp/run2.log" && fail "a rate in CDC with no changes: $(grep rows_per_s=[1-9] "$tmp/run2.log" | head -1)"
# the live block of a terminal: the same columns
sed -i 's/^progress = log/progress = terminal/' "$tmp/p.ini"
"$sluice" run "$tmp/p.ini" > "$tmp/run3.log" 2>&1 & pid=$!
block() { grep -qE "^  x +active +80000 +80000 +- +0 +- +[0-9.]+MiB +-" "$tmp/run3.log"; }
wait_for "the live block" 30 block
kill -TERM $pid; wait $pid
grep -qE "^  TABLE +STATUS +ROWS +OF +DONE +ROWS/S +ETA +BYTES +LAG" "$tmp/run3.log" ||
  fail "live block: $(grep -a TABLE "$tmp/run3.log" | head -1)"
# the json log: the progress figures as values, for machines (rows and
# bytes written, bytes raw, the done share as a number, the ETA in
# seconds or null), while a second pipe loads
cat > "$tmp/q.ini" <<INI
[service]
progress = log
progress_interval = 1s
log_format = json

[pipe q]
source = memory_source
sink = memory_sink
pull_batch_size = 5000
[pipe q.source]
tables = y
rows = 20000
batch_rows = 1000
[pipe q.sink]
keep_rows = false
write_delay = 200ms
INI
# read as JSON: without source_mongo, whose libmongoc may print a line of
# its own as it loads
plugins_only memory retention
"$sluice" run "$tmp/q.ini" > "$tmp/run4.log" 2>&1 & pid=$!
q_loaded() { "$sluice" status q --json | grep -q '"state":"running"'; }
wait_for "pipe q loaded" 60 q_loaded
kill -TERM $pid; wait $pid
/usr/bin/python3 - "$tmp/run4.log" <<'PY' || fail "json progress lines (above)"
import json, sys
seen = 0
for line in open(sys.argv[1]):
    l = json.loads(line)
    if l["pipe"] != "q" or not l["message"].startswith("progress "):
        continue
    f = l["fields"]
    assert l["table"] == "y", l
    assert set(f) == {"state", "status", "rows", "rows_estimated", "percent",
                      "rows_per_s", "eta_s", "bytes", "lag_ms",
                      "retries"}, f
    assert isinstance(f["rows"], int) and isinstance(f["bytes"], int), f
    assert f["eta_s"] is None or f["eta_s"] >= 0, f
    if f["state"] == "snapshot" and f["rows_estimated"] is not None:
        seen += 1
        assert f["rows_estimated"] == 20000, f
        assert f["percent"] == int(f["rows"] * 1000 / 20000) / 10, f
        assert f["rows"] == 0 or f["bytes"] > 0, f
        assert "done=%.1f%%" % f["percent"] in l["message"], l
    elif f["state"] != "snapshot":
        assert f["percent"] is None and f["eta_s"] is None, f
assert seen >= 2, "%d progress line(s) in the snapshot" % seen
print("%d json progress line(s) in the snapshot" % seen)
PY

finish progress
