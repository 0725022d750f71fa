#!/usr/bin/env bash
# test_schedule.sh HELPER SLUICE URL: the daily maintenance job as a
# long-running process runs it: once per daily slot (23:00 UTC by
# default), only by the worker holding the hub's lease, and a slot missed
# while nothing ran is run at the next tick, once.
set -u
helper=$1 sluice=$2 url=$3
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
echo "schedule ok"
