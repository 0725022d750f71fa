#!/usr/bin/env bash
# test_schedule.sh HELPER SLUICE URL KIT_DIR: the daily maintenance job as
# a long-running process runs it: once per daily slot (23:00 UTC by
# default), only by the worker holding the hub's lease, and a slot missed
# while nothing ran is run at the next tick, once. A slot is done only by
# a completed run as of it or later, before the next slot, and not run
# ahead of its time: a failed run is retried at the next tick, and a run
# --as-of a later time does not stand for the slots before it. KIT_DIR
# holds correct_retention.so (the conformance kit's), a retention plugin
# the ticks can be made to miss.
set -u
helper=$1 sluice=$2 url=$3 kit=$4
export TZ=Asia/Tokyo
fail() { echo "FAIL: $*"; exit 1; }
tick() { "$helper" "$url" tick "$1" "$2" || fail "tick $*"; }

"$sluice" topic create t --store "$url" >/dev/null || fail "topic create"
[ "$(tick 2024-03-01T22:00:00Z w1)" = "ran as of 2024-02-29T23:00:00Z" ] || fail "first tick runs the slot it missed"
[ "$(tick 2024-03-01T22:30:00Z w1)" = "idle" ] || fail "no second run for one slot"
[ "$(tick 2024-03-01T23:05:00Z w2)" = "idle" ] || fail "w2 must not run while w1 holds the hub"
[ "$(tick 2024-03-01T23:05:00Z w1)" = "ran as of 2024-03-01T23:00:00Z" ] || fail "the 23:00 slot"

# two workers at once: one run between them
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$helper" "$url" tick 2024-03-03T10:00:00Z w1 > "$tmp/a" & a=$!
"$helper" "$url" tick 2024-03-03T10:00:00Z w3 > "$tmp/b" & b=$!
wait $a; wait $b
[ "$(cat "$tmp/a" "$tmp/b" | grep -c '^ran')" = 1 ] || fail "two workers ran $(cat "$tmp/a" "$tmp/b")"

# days missed: one run, as of the last missed slot
[ "$(tick 2024-03-06T08:00:00Z w1)" = "ran as of 2024-03-05T23:00:00Z" ] || fail "missed days"
[ "$("$sluice" events --store "$url" | grep -c 'maintenance as of')" = 4 ] || fail "four runs in all"

# a run as of a later time does not stand for the slots before it
"$sluice" maintenance run --as-of 2024-03-20T23:00:00Z --store "$url" >/dev/null || fail "run as of 03-20"
[ "$(tick 2024-03-07T08:00:00Z w1)" = "ran as of 2024-03-06T23:00:00Z" ] || fail "a run as of 03-20 kept the slot of 03-06 from running"
# one as of the slot or later, before the next slot, does
"$sluice" maintenance run --as-of 2024-03-07T23:30:00Z --store "$url" >/dev/null || fail "run as of 03-07 23:30"
[ "$(tick 2024-03-08T08:00:00Z w1)" = "idle" ] || fail "the run as of 03-07 23:30 covers the slot of 03-07"

# a failed run does not count: it is retried at the next tick, until one
# completes. Topic t2's retention plugin is found only with KIT_DIR.
SLUICE_PLUGIN_PATH="$kit:${SLUICE_PLUGIN_PATH:-}" "$sluice" topic create t2 --retention correct_retention \
  --store "$url" >/dev/null || fail "topic create t2"
for attempt in 1 2; do
  out=$("$helper" "$url" tick 2024-03-09T08:00:00Z w1 2>&1) && fail "tick $attempt without t2's plugin: $out"
  grep -qF "the run as of 2024-03-08T23:00:00Z failed" <<<"$out" || fail "tick $attempt: $out"
  grep -qF "topic 't2': retention plugin 'correct_retention' of topic 't2' is not found" <<<"$out" || fail "tick $attempt: $out"
done
[ "$("$sluice" events --store "$url" | grep -c 'maintenance as of 2024-03-08T23:00:00Z status=failed')" = 2 ] ||
  fail "two failed runs recorded"
export SLUICE_PLUGIN_PATH="$kit:${SLUICE_PLUGIN_PATH:-}"
[ "$(tick 2024-03-09T08:01:00Z w1)" = "ran as of 2024-03-08T23:00:00Z" ] || fail "the failed slot is run again"
[ "$(tick 2024-03-09T08:02:00Z w1)" = "idle" ] || fail "once it completed"

# a run ahead of its time (as of a time after it ran) did not see what
# happens until then: it does not stand for its slot either
"$sluice" maintenance run --as-of 2099-01-01T23:30:00Z --store "$url" >/dev/null || fail "run as of 2099"
[ "$(tick 2099-01-02T08:00:00Z w1)" = "ran as of 2099-01-01T23:00:00Z" ] || fail "a run ahead of its time covered its slot"
echo "schedule ok"
