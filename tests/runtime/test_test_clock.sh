#!/usr/bin/env bash
# test_test_clock.sh SLUICE STORE_URL: under a test clock (SLUICE_TEST_CLOCK,
# 1 real second = 8 hours of sluice's time) `sluice run` warns of it at
# start and runs the daily maintenance once per day of sluice's time: each
# run as of its own day's slot, one day after the one before (a day may be
# skipped on a machine too busy to tick, never run twice), about as many
# runs as days went by. A wrong value is refused.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
printf '[hub]\nmaintenance_at = 23:00\n' > "$tmp/hub.ini"
"$sluice" topic create t >/dev/null || fail "topic create"

SLUICE_TEST_CLOCK=speed=nope "$sluice" run "$tmp/hub.ini" > "$tmp/bad.log" 2>&1 && fail "a wrong SLUICE_TEST_CLOCK ran"
grep -q "SLUICE_TEST_CLOCK: speed= expects a number" "$tmp/bad.log" || fail "bad value: $(cat "$tmp/bad.log")"

SLUICE_TEST_CLOCK=speed=28800 "$sluice" run "$tmp/hub.ini" > "$tmp/run.log" 2>&1 & pid=$!
start=$(date +%s%N)
four_runs() { [ "$(grep -c 'maintenance ran' "$tmp/run.log")" -ge 4 ]; }
wait_for "four maintenance runs" 60 four_runs
kill -TERM $pid; wait $pid
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
grep -q "warn.*SLUICE_TEST_CLOCK is set: sluice's clock runs 28800 times as fast.*never for production" "$tmp/run.log" ||
  fail "no warning: $(head -3 "$tmp/run.log")"
"$sluice" events | grep -o 'maintenance as of [^ ]* status=completed' | cut -d' ' -f4 > "$tmp/slots"
runs=$(wc -l < "$tmp/slots")
days=$((elapsed_ms * 28800 / 86400000))
[ "$runs" -ge 4 ] && [ "$runs" -le $((days + 2)) ] || fail "$runs runs in $days days of sluice's time"
prev=
while read -r slot; do
  case $slot in *T23:00:00Z) ;; *) fail "slot $slot is not at 23:00" ;; esac
  at=$(date -ud "$slot" +%s)
  if [ -n "$prev" ]; then
    [ $((at - prev)) -gt 0 ] && [ $(((at - prev) % 86400)) = 0 ] || fail "slots $(tr '\n' ' ' < "$tmp/slots")"
  fi
  prev=$at
done < "$tmp/slots"
[ $failures = 0 ] || tail -20 "$tmp/run.log"
finish test_clock
