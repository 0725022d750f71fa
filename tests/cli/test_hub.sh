#!/usr/bin/env bash
# test_hub.sh SLUICE URL: the hub from the command line, under
# TZ=Asia/Tokyo: the worked example of spec/hub.md with its cutoffs,
# retention as of the job's day (consumed on the job's day, stopped and
# caught up, a back-fill as of a past date), then final and non-final
# events, subscriptions lagging, late, paused, a topic with no events, bad
# retention values and bad input.
set -u
sluice=$1
export SLUICE_STORE=$2 TZ=Asia/Tokyo
failures=0
run() {
  local want=$1; shift
  out=$("$@" 2>&1); local status=$?
  if [ "$status" != "$want" ]; then
    echo "FAIL: '$*' exited $status, expected $want"; echo "$out" | head -20
    failures=$((failures + 1))
  fi
}
has() { grep -qF -- "$1" <<<"$out" || { echo "FAIL: output lacks '$1'"; echo "$out" | head -40; failures=$((failures + 1)); }; }
lacks() { grep -qF -- "$1" <<<"$out" && { echo "FAIL: output shows '$1'"; failures=$((failures + 1)); }; }
record() { echo "{\"table\":\"o\",\"op\":\"insert\",\"key\":$1,\"doc\":{\"n\":$1},\"version\":$1}"; }
publish() { record "$3" | "$sluice" topic publish "$1" --at "$2" >/dev/null || { echo "FAIL: publish $*"; failures=$((failures + 1)); }; }

# --- the worked example: two topics, C = 1, U = 3, publications at 03:00
# and 15:00 UTC; `orders` has one subscription that consumes at once
run 0 "$sluice" topic create orders_raw --consumed-retention-days 1 --unconsumed-retention-days 3
run 0 "$sluice" topic create orders --consumed-retention-days 1 --unconsumed-retention-days 3
run 0 "$sluice" subscription create loader --topic orders --at 2023-11-19T00:00:00Z
n=0
for d in 20 21 22 23 24 25 26 27 28 29; do
  for h in 03 15; do
    n=$((n + 1))
    publish orders_raw "2023-11-${d}T$h:00:00Z" $n
    publish orders "2023-11-${d}T$h:00:00Z" $n
    "$sluice" topic consume orders --subscription loader --at "2023-11-${d}T$h:30:00Z" >/dev/null 2>&1
  done
done
run 0 "$sluice" events --topic orders --json
has '"type":"publication"'; has '"consumption":"final"'; lacks '"consumption":"processing"'
has '"consumption":"final","owed":1,"consumed":1,"final_at":"2023-11-29T15:30:00Z"}'
run 0 "$sluice" events --topic orders_raw --json
has '"consumption":"processing","owed":0,"consumed":0,"final_at":null}'
run 0 "$sluice" events --topic orders_raw
has "consumption=processing"; lacks "consumption=final"
run 0 "$sluice" maintenance run --as-of 2023-11-29T23:00:00Z --dry-run --json
has '"dry_run":true'
run 0 "$sluice" maintenance run --as-of 2023-11-29T23:00:00Z --json
has '{"topic":"orders","cutoff":"2023-11-27T00:00:00Z","rule":"consumed","events_deleted":14,"records_deleted":14'
has '{"topic":"orders_raw","cutoff":"2023-11-26T00:00:00Z","rule":"unconsumed","events_deleted":12,"records_deleted":12'
has '{"rule":"unconsumed","cutoff":"2023-11-26T00:00:00Z","events_deleted":0'
event=$(sed -n 's/^{"event":\([0-9]*\),.*/\1/p' <<<"$out")
run 0 "$sluice" maintenance report "$event"
has "orders                   2023-11-27T00:00:00Z   consumed             14           14"
has "orders_raw               2023-11-26T00:00:00Z   unconsumed           12           12"
run 0 "$sluice" events --since 2023-11-26T00:00:00Z
has "system"; has "maintenance as of 2023-11-29T23:00:00Z status=completed"
lacks "2023-11-25T"
run 0 "$sluice" topic describe orders
has "publication events:        6 (6 records"
run 2 "$sluice" maintenance report 999999; has "is not a maintenance run"

# --- retention as of the job's day. example TOPIC N: the worked
# example's publications to a new topic (C = 1, U = 3) with one
# subscription, which consumes the first N at once and the rest only at
# 2023-11-29 22:00 UTC, an hour before the job (2023-11-29 23:00).
example() {
  run 0 "$sluice" topic create "$1" --consumed-retention-days 1 --unconsumed-retention-days 3
  run 0 "$sluice" subscription create "$1_reader" --topic "$1" --at 2023-11-19T00:00:00Z
  local i=0 d h
  for d in 20 21 22 23 24 25 26 27 28 29; do
    for h in 03 15; do
      i=$((i + 1))
      publish "$1" "2023-11-${d}T$h:00:00Z" $i
      [ $i -le "$2" ] && run 0 "$sluice" topic consume "$1" --subscription "$1_reader" --at "2023-11-${d}T$h:30:00Z"
    done
  done
}
catch_up() { run 0 "$sluice" topic consume "$1" --subscription "$1_reader" --at 2023-11-29T22:00:00Z; }
# consumed on the job's day only: nothing was final before D = 11-29, so
# no consumed rule; rule 1 alone deletes the 20th to the 25th
example sameday 0
catch_up sameday
run 0 "$sluice" events --topic sameday
lacks "consumption=processing"; has "consumption=final final_at=2023-11-29T22:00:00Z"
run 0 "$sluice" events --topic sameday --json
has '"consumption":"final","owed":1,"consumed":1,"final_at":"2023-11-29T22:00:00Z"}'
# spec/hub.md: stopped since 11-27 12:00, caught up at 11-29 22:00: the
# newest event final before D is of 11-27 03:00, so P = 11-27 and C_cut =
# 11-26; the events consumed on the 29th stay
example stopped 15
catch_up stopped
# a back-fill as of 2023-11-25 23:00 of a subscription stopped since
# 11-23 12:00 plans what a job run then planned, before and after the
# catch-up of the 29th: P = 11-23 (not 11-24), C_cut = 11-22
example backfill 7
run 0 "$sluice" maintenance run --as-of 2023-11-25T23:00:00Z --dry-run --json
before=$(grep -o '{"topic":"backfill"[^]]*]' <<<"$out")
has '{"topic":"backfill","cutoff":"2023-11-22T00:00:00Z","rule":"unconsumed","events_deleted":4,"records_deleted":4,"rules":[{"rule":"unconsumed","cutoff":"2023-11-22T00:00:00Z","events_deleted":0,"records_deleted":0},{"rule":"consumed","cutoff":"2023-11-22T00:00:00Z","events_deleted":4,"records_deleted":4}]'
catch_up backfill
run 0 "$sluice" events --topic backfill
lacks "consumption=processing"
run 0 "$sluice" maintenance run --as-of 2023-11-25T23:00:00Z --dry-run --json
after=$(grep -o '{"topic":"backfill"[^]]*]' <<<"$out")
[ -n "$before" ] && [ "$before" = "$after" ] || { echo "FAIL: the back-fill planned $after, a run then $before"; failures=$((failures + 1)); }
run 0 "$sluice" maintenance run --as-of 2023-11-29T23:00:00Z --json
has '{"topic":"sameday","cutoff":"2023-11-26T00:00:00Z","rule":"unconsumed","events_deleted":12,"records_deleted":12,"rules":[{"rule":"unconsumed","cutoff":"2023-11-26T00:00:00Z","events_deleted":12,"records_deleted":12}]'
has '{"topic":"stopped","cutoff":"2023-11-26T00:00:00Z","rule":"unconsumed","events_deleted":12,"records_deleted":12,"rules":[{"rule":"unconsumed","cutoff":"2023-11-26T00:00:00Z","events_deleted":0,"records_deleted":0},{"rule":"consumed","cutoff":"2023-11-26T00:00:00Z","events_deleted":12,"records_deleted":12}]'
# the seed example is unchanged: 11-27 for orders, 11-26 for orders_raw
has '{"topic":"orders","cutoff":"2023-11-27T00:00:00Z","rule":"consumed","events_deleted":0'
has '{"topic":"orders_raw","cutoff":"2023-11-26T00:00:00Z","rule":"unconsumed","events_deleted":0'
run 0 "$sluice" topic describe stopped
has "publication events:        8 (8 records"

# --- a mix: one subscription lagging behind another, one created late,
# one paused
run 0 "$sluice" topic create mix --consumed-retention-days 1 --unconsumed-retention-days 5
run 0 "$sluice" subscription create fast --topic mix
run 0 "$sluice" subscription create slow --topic mix
publish mix 2024-02-20T10:00:00Z 1
publish mix 2024-02-21T10:00:00Z 2
run 0 "$sluice" subscription create late --topic mix
publish mix 2024-02-22T10:00:00Z 3
publish mix 2024-02-23T10:00:00Z 4
run 0 "$sluice" topic consume mix --subscription fast --at 2024-02-23T11:00:00Z
has '{"table":"o","op":"insert","key":4,"doc":{ "n" : 4 },"version":4}'
run 0 "$sluice" topic consume mix --subscription slow --max-events 1 --at 2024-02-23T11:00:00Z
has '"key":1,'; lacks '"key":2,'
# the late one reads older events, but they are not owed to it
run 0 "$sluice" topic consume mix --subscription late --max-events 2 --at 2024-02-23T11:00:00Z
has '"key":1,'; has '"key":2,'
run 0 "$sluice" events --topic mix --json
has '"id":'; has '"consumption":"final","owed":2,"consumed":2'   # event 1: fast + slow
has '"consumption":"processing","owed":2,"consumed":1'            # event 2: slow lags
run 0 "$sluice" subscription pause slow
run 0 "$sluice" events --topic mix
has "consumption=delayed"
run 1 "$sluice" topic consume mix --subscription slow; has "subscription 'slow' is paused"
run 0 "$sluice" subscription list; has "slow"; has "paused"
run 2 "$sluice" topic consume mix --subscription nope; has "there is no subscription named 'nope'"
run 2 "$sluice" topic consume orders --subscription fast; has "reads topic 'mix', not 'orders'"
run 0 "$sluice" subscription resume slow
run 0 "$sluice" topic consume mix --subscription slow --at 2024-02-24T11:00:00Z
run 0 "$sluice" subscription pause late
# as of 2024-02-27 23:00: D = 02-27, U = 5, so U_cut = 02-22. Events 1
# and 2 are final (owed to fast and slow, both done); 3 and 4 are also
# owed to late, which read only 1 and 2 (not owed to it) and is paused:
# delayed. So P = 02-21 and C_cut = 02-20, which deletes nothing; rule 1
# deletes 1 and 2; 3 and 4 stay.
run 0 "$sluice" maintenance run --as-of 2024-02-27T23:00:00Z --json
has '{"topic":"mix","cutoff":"2024-02-22T00:00:00Z","rule":"unconsumed","events_deleted":2,"records_deleted":2'
has '{"rule":"consumed","cutoff":"2024-02-20T00:00:00Z","events_deleted":0,"records_deleted":0}'
run 0 "$sluice" events --topic mix
has "records=1 status=completed consumption=delayed"; lacks "consumption=final"

# --- a topic with no events: the cutoff is reported, nothing deleted
run 0 "$sluice" topic create empty
run 0 "$sluice" maintenance run --as-of 2024-03-01T23:00:00Z
has "empty                    2024-02-23T00:00:00Z   unconsumed            0            0"

# --- bad retention values: property, value and range named
run 2 "$sluice" topic create bad --consumed-retention-days 0
has "consumed_retention_days = 0 is out of range: must be from 1 to 90"
run 2 "$sluice" topic create bad --consumed-retention-days 91
has "consumed_retention_days = 91 is out of range: must be from 1 to 90"
run 2 "$sluice" topic create bad --consumed-retention-days 5 --unconsumed-retention-days 4
has "unconsumed_retention_days = 4 is out of range: must be from consumed_retention_days (5) to 90"
run 2 "$sluice" topic create bad --unconsumed-retention-days 91
run 2 "$sluice" topic create bad --consumed-retention-days x; has "expected an integer"
run 2 "$sluice" topic create bad --retention nope; has "'nope' is not a retention plugin"
run 2 "$sluice" topic create "bad name"; has "must be 1 to 64 letters"
run 1 "$sluice" topic create orders; has "topic 'orders' exists already"
run 0 "$sluice" topic list; lacks "bad "

# --- bad input: every bad line named, nothing published
before=$("$sluice" events --topic mix | grep -c publication)
out=$(printf '%s\n' "$(record 10)" '{"table":"o","op":"insert","key":11,"doc":{"n":1},"version":1,}' \
      "" '{"table":"o","op":"upsert","key":1,"doc":{},"version":1}' \
      '{"table":"o","op":"delete","key":1,"doc":{"a":1},"version":1}' \
      '{"table":"o","op":"insert","key":1,"doc":{},"version":-1}' \
      '{"table":"o","op":"insert","doc":{},"version":1}' \
      '{"table":"o","op":"insert","key":1,"doc":{},"version":1,"extra":1}' \
      '[1, 2]' | "$sluice" topic publish mix 2>&1); status=$?
[ $status = 2 ] || { echo "FAIL: bad input exited $status"; failures=$((failures + 1)); }
has "standard input, line 2: invalid JSON"
has "line 4: \"op\" must be one of snapshot, insert, update, replace, delete"
has "line 5: \"doc\" must be null for a delete"
has "line 6: \"version\" must be a non-negative integer"
has "line 7: missing field \"key\""
has "line 8: unknown field \"extra\""
has "line 9: expected a JSON object"
has "nothing was published"
after=$("$sluice" events --topic mix | grep -c publication)
[ "$before" = "$after" ] || { echo "FAIL: something was published"; failures=$((failures + 1)); }
out=$(printf '' | "$sluice" topic publish mix 2>&1); has "no records on standard input"
out=$(record 1 | "$sluice" topic publish nope 2>&1); has "there is no topic named 'nope'"
out=$(record 1 | "$sluice" topic publish mix --at yesterday 2>&1); has "--at: 'yesterday': expected an ISO 8601 time"

# --- round trip of every operation
run 0 "$sluice" topic create trip
run 0 "$sluice" subscription create reader --topic trip
printf '%s\n' '{"table":"t","op":"snapshot","key":{"$oid":"5f0000000000000000000001"},"doc":{"a":[1,2],"s":"x\"y"},"version":1}' \
  '{"table":"t","op":"update","key":"k","doc":{"b":null},"version":18446744073}' \
  '{"table":"t","op":"delete","key":"k","doc":null,"version":3}' \
  '{"table":"t","op":"replace","key":2,"doc":{},"version":4}' | "$sluice" topic publish trip >/dev/null
run 0 "$sluice" topic consume trip --subscription reader
has '{"table":"t","op":"snapshot","key":{ "$oid" : "5f0000000000000000000001" },"doc":{ "a" : [ 1, 2 ], "s" : "x\"y" },"version":1}'
has '"op":"update","key":"k","doc":{ "b" : null },"version":18446744073}'
has '{"table":"t","op":"delete","key":"k","doc":null,"version":3}'
has '"op":"replace","key":2,"doc":{},"version":4}'
has "consumed 1 publication event(s), 4 record(s)"

if [ $failures != 0 ]; then echo "$failures failures"; exit 1; fi
echo "all hub checks passed"
