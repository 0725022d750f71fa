#!/usr/bin/env bash
# test_segments.sh SLUICE STORE_URL: where the hub keeps its records, and
# what crashes, a full disk, backups and upgrades leave of them
# (hub/segments.h). On both stores: a publication killed at each crash
# point leaves a hub that opens, that `sluice store check` finds whole,
# whose consumer reads exactly what committed, and whose next publication
# goes on. On SQLite also: the segment files themselves (one per
# publishing connection, freed by the maintenance job once no event
# refers to them, what a crash left included); a file too large to write
# (a full disk) fails the publication and leaves nothing torn; check
# names a torn, changed or missing segment; a backup taken while `sluice
# run` writes is whole; a store of schema 9 (blobs in the store) is read
# after its upgrade beside new events in segments.
set -u
sluice=$1 store=$2
. "$(dirname "$0")/../lib.sh"
export SLUICE_STORE=$store
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
sqlite=false
case $store in sqlite:*) sqlite=true; db=${store#sqlite:}; segs=$db-segments ;; esac

records() { # records FIRST LAST: JSON lines of keys FIRST..LAST
  local k
  for k in $(seq "$1" "$2"); do
    printf '{"table":"t","op":"insert","key":"%d","doc":{"n":%d,"pad":"%s"},"version":1}\n' "$k" "$k" "$(printf '%0200d' 0)"
  done
}
keys() { sed -n 's/.*"key":"\([0-9]*\)".*/\1/p' | sort -n | tr '\n' ' '; }
consumed_keys() { "$sluice" topic consume orders --subscription reader 2>/dev/null | keys; }
seg_files() { ls "$segs"/*.seg 2>/dev/null | wc -l; }

run 0 "$sluice" topic create orders
run 0 "$sluice" subscription create reader --topic orders
records 1 10 | "$sluice" topic publish orders >/dev/null || fail "first publication"
[ "$(consumed_keys)" = "$(seq 1 10 | tr '\n' ' ')" ] || fail "the first publication was not consumed whole"

# ---- a publication killed at each point ----
next=11
for point in segment.created segment.written segment.synced publication.committed; do
  records "$next" $((next + 9)) > "$tmp/in.jsonl"
  killed=$(SLUICE_TEST_CRASH=$point "$sluice" topic publish orders < "$tmp/in.jsonl" 2>&1; echo "exit $?")
  rc=${killed##*exit }
  # on PostgreSQL the bytes are written in the event's transaction: no
  # segment point is passed there
  if $sqlite || [ "$point" = publication.committed ]; then
    [ $rc = 137 ] || fail "$point: the publication was not killed there (exit $rc)"
  fi
  run 0 "$sluice" store check
  has "every one present and whole"
  got=$(consumed_keys)
  if [ "$point" = publication.committed ] || ! $sqlite; then
    want=$(seq "$next" $((next + 9)) | tr '\n' ' ')
  else
    want=""
  fi
  [ "$got" = "$want" ] || fail "$point: consumed '$got', expected '$want'"
  next=$((next + 10))
done
records "$next" $((next + 9)) | "$sluice" topic publish orders >/dev/null || fail "publication after the crashes"
[ "$(consumed_keys)" = "$(seq "$next" $((next + 9)) | tr '\n' ' ')" ] || fail "the publication after the crashes was not consumed whole"

# ---- bad input of the new commands ----
run 2 "$sluice" store backup
has "give the file to back the store up into"
run 2 "$sluice" store check extra
run 1 "$sluice" store check --store "sqlite:$tmp/none.db"
has "no such file"
if $sqlite; then
  run 1 "$sluice" store backup "$tmp/no/such/dir/b.db"
  has "$tmp/no/such/dir/b.db"
else
  run 2 "$sluice" store backup "$tmp/b.db"
  has "back it up with pg_dump"
fi

if $sqlite; then
  # each crash before a commit left a segment no event refers to
  run 0 "$sluice" store check
  has "unreferenced: segment"
  [ "$(grep -c '^unreferenced:' <<<"$out")" = 3 ] || { fail "expected 3 unreferenced segments"; echo "$out"; }
  # the maintenance job frees them, and only them; one killed between
  # finding one unreferenced and deleting it leaves it for the next run
  before=$(seg_files)
  killed=$(SLUICE_TEST_CRASH=segment.unreferenced "$sluice" maintenance run 2>&1; echo "exit $?")
  [ "${killed##*exit }" = 137 ] || fail "maintenance was not killed at segment.unreferenced: $killed"
  run 0 "$sluice" maintenance run
  has "3 segment file(s) of the hub, "
  [ "$(seg_files)" = $((before - 3)) ] || fail "maintenance left $(seg_files) segment files of $before, expected $((before - 3))"
  run 0 "$sluice" store check
  grep -q '^unreferenced' <<<"$out" && fail "unreferenced segments remain: $out"

  # ---- a full disk: the write fails, nothing torn is left ----
  records 100 1100 > "$tmp/big.jsonl"
  out=$( (trap '' XFSZ; ulimit -f 64; "$sluice" topic publish orders < "$tmp/big.jsonl") 2>&1)
  rc=$?
  [ $rc = 1 ] || fail "a publication past the file size limit exited $rc, expected 1"
  has "cannot write"
  has "File too large"
  for f in "$segs"/*.seg; do
    [ -s "$f" ] || continue
    size=$(stat -c %s "$f")
    # every segment ends at the 4 KiB block where its last event's bytes
    # end, or is empty
    end=$(sqlite3 "$db" "SELECT (COALESCE(MAX(segment_offset + blob_length), 0) + 4095) / 4096 * 4096 FROM publications WHERE segment = '$(basename "$f" .seg)'")
    [ "$size" = "$end" ] || fail "segment $f holds $size bytes, its events end at $end: torn bytes left"
  done
  "$sluice" topic publish orders < "$tmp/big.jsonl" > /dev/null || fail "the publication after the full disk"
  [ "$("$sluice" topic consume orders --subscription reader 2>/dev/null | wc -l)" = 1001 ] || fail "the publication after the full disk was not consumed whole"
  run 0 "$sluice" store check
  has "every one present and whole"

  # ---- check names what is wrong ----
  cp -a "$db" "$tmp/saved.db"; cp -a "$segs" "$tmp/saved-segments"
  first=$(sqlite3 "$db" "SELECT segment FROM publications WHERE segment IS NOT NULL ORDER BY id LIMIT 1")
  printf 'XX' | dd of="$segs/$first.seg" bs=1 seek=30 conv=notrunc 2>/dev/null
  run 1 "$sluice" store check
  has "are not those written (checksum"
  has "$first.seg"
  truncate -s 20 "$segs/$first.seg"
  run 1 "$sluice" store check
  has "torn: it ends before byte"
  rm "$segs/$first.seg"
  run 1 "$sluice" store check
  has "$first.seg: missing"
  has "1 problem(s)"
  rm -rf "$segs"; cp -a "$tmp/saved-segments" "$segs"
  run 0 "$sluice" store check

  # ---- sluice run killed at each point of its snapshot's publications ----
  # the pipe goes on from its checkpoints when started again: every row
  # in the sink, the hub whole, what the kills left freed by maintenance
  n=0
  for point in segment.created:1 segment.written:4 segment.synced:5 publication.committed:6; do
    n=$((n + 1))
    cat > "$tmp/crash$n.ini" <<INI
[store]
url = $store
[pipe crash$n]
source = memory_source
sink = memory_sink
mode = snapshot
[pipe crash$n.source]
tables = t
rows = 2000
batch_rows = 100
[pipe crash$n.sink]
output = $tmp/crash$n.jsonl
INI
    killed=$(SLUICE_TEST_CRASH=$point "$sluice" run "$tmp/crash$n.ini" 2>&1; echo "exit $?")
    [ "${killed##*exit }" = 137 ] || fail "sluice run was not killed at $point: ${killed: -300}"
    # memory_sink rewrites its output with what it holds: the rows the
    # killed process delivered are in this copy
    cp "$tmp/crash$n.jsonl" "$tmp/crash$n.before.jsonl" 2>/dev/null || : > "$tmp/crash$n.before.jsonl"
    run 0 "$sluice" store check
    has "every one present and whole"
    "$sluice" run "$tmp/crash$n.ini" > "$tmp/crash$n.log" 2>&1 &
    pid=$!
    wait_for "pipe crash$n completed after its restart" 60 is_state "crash$n" completed
    kill -TERM "$pid"; stops_within 30 "$pid"
    got=$(sink_keys "$tmp/crash$n.before.jsonl" "$tmp/crash$n.jsonl" | wc -l)
    [ "$got" = 2000 ] || fail "after a kill at $point the sink holds $got of 2000 rows"
  done
  run 0 "$sluice" maintenance run
  run 0 "$sluice" store check
  has "every one present and whole"
  grep -q '^unreferenced' <<<"$out" && fail "unreferenced segments remain after the kills: $out"

  # ---- a backup while sluice run writes ----
  cat > "$tmp/run.ini" <<INI
[store]
url = $store
[pipe live]
source = memory_source
sink = memory_sink
sync_interval = 1s
[pipe live.source]
tables = t
rows = 2000
changes = 1000000
change_every = 1ms
[pipe live.sink]
output = $tmp/live.jsonl
INI
  "$sluice" run "$tmp/run.ini" > "$tmp/run.log" 2>&1 &
  pid=$!
  wait_for "pipe live running" 30 is_state live running
  for n in 1 2 3; do
    sleep 0.5
    run 0 "$sluice" store backup "$tmp/backup$n.db"
    has "backed up into sqlite:$tmp/backup$n.db"
    run 0 "$sluice" store check --store "sqlite:$tmp/backup$n.db"
    has "every one present and whole"
    events=$(sqlite3 "$tmp/backup$n.db" "SELECT COUNT(*) FROM publications WHERE topic = 'live'")
    [ "$events" -gt 0 ] || fail "backup $n holds no event of the live pipe"
  done
  run 1 "$sluice" store backup "$tmp/backup1.db"
  has "exists"
  kill -TERM "$pid"; stops_within 30 "$pid"
  # a backup is a store: it is read, and goes on
  run 0 "$sluice" subscription create late --topic live --store "sqlite:$tmp/backup3.db"
  [ "$("$sluice" topic consume live --subscription late --store "sqlite:$tmp/backup3.db" 2>/dev/null | wc -l)" -gt 0 ] ||
    fail "the backup's events could not be consumed"

  # ---- a store of schema 9: its blobs stay in the store ----
  old=$tmp/v9.db
  sqlite3 "$old" < "$fixtures/store-v9.sql"
  run 0 "$sluice" store migrate --store "sqlite:$old"
  has "was 9"
  run 0 "$sluice" store check --store "sqlite:$old"
  has "2 publication event(s), 3 record(s)"
  has "0 in 0 segment file(s)"
  records 7 7 | "$sluice" topic publish orders --store "sqlite:$old" > /dev/null || fail "publishing into the upgraded store"
  run 0 "$sluice" store check --store "sqlite:$old"
  has "1 in 1 segment file(s)"
  has "2 in the store"
  run 0 "$sluice" subscription create all --topic orders --store "sqlite:$old"
  # a command-line subscription reads from the topic's first event
  got=$("$sluice" topic consume orders --subscription all --store "sqlite:$old" 2>/dev/null)
  [ "$(keys <<<"$got")" = "1 2 1 7 " ] || [ "$(keys <<<"$got")" = "1 1 2 7 " ] ||
    fail "the upgraded store gave '$(keys <<<"$got")', expected keys 1 2 (old), 1 (old delete), 7 (new)"
  grep -q '"op":"delete","key":"1"' <<<"$got" || fail "the old delete was not read"
  run 0 "$sluice" maintenance run --as-of 2099-01-01 --store "sqlite:$old"
  run 0 "$sluice" store check --store "sqlite:$old"
  has "0 publication event(s)"
  [ -z "$(ls "$old-segments"/*.seg 2>/dev/null)" ] || fail "segments remain after every event was deleted"
fi

finish segments
