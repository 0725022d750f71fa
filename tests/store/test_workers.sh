#!/usr/bin/env bash
# test_workers.sh HELPER URL: several processes on one store. Processes
# that open a new store at the same moment all get it. Two writers
# at once lose no write and no request; a worker killed while holding a
# pipe's lease is taken over by another, from the last committed
# checkpoint: at once on the same host, while a live holder keeps it.
set -u
helper=$1 url=$2
fail() { echo "FAIL: $*"; exit 1; }
tmp=$(mktemp -d)
trap 'kill -9 $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT

# count SQL: a number from the store, through its own client
count() {
  case $url in
  sqlite:*) sqlite3 "${url#sqlite:}" "$1" ;;
  *) "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/psql" -tAq "$url" -c "$1" ;;
  esac
}

pids=()
for i in 1 2 3 4 5 6 7 8; do "$helper" "$url" open 2> "$tmp/open.$i" & pids+=($!); done
for i in 1 2 3 4 5 6 7 8; do
  wait "${pids[$((i - 1))]}" || fail "opening a new store beside others: $(cat "$tmp/open.$i")"
done

cat > "$tmp/p.ini" <<INI
[pipe hammered]
source = memory_source
sink = memory_sink
[pipe hammered.source]
tables = a
INI
"$helper" "$url" register "$tmp/p.ini" || fail "register"
for s in provisioned setup_done snapshot_done; do
  "$helper" "$url" step hammered $s || fail "step $s"
done

rounds=60
"$helper" "$url" hammer A $rounds hammered & a=$!
"$helper" "$url" hammer B $rounds hammered & b=$!
wait $a || fail "writer A failed"
wait $b || fail "writer B failed"
[ "$(count "SELECT retry_count FROM pipes WHERE name = 'hammered'")" = $((2 * rounds)) ] ||
  fail "lost updates: retry_count is $(count "SELECT retry_count FROM pipes WHERE name = 'hammered'")"
[ "$(count "SELECT COUNT(*) FROM requests WHERE pipe = 'hammered'")" = $((2 * rounds)) ] ||
  fail "lost requests"
[ "$(count "SELECT COUNT(*) FROM checkpoints WHERE pipe = 'hammered'")" = 2 ] ||
  fail "checkpoints"
echo "two writers: $((2 * rounds)) updates and requests, none lost"

# a worker dies holding a lease; another takes over from its checkpoint
"$helper" "$url" hold pipe:x 1000 > "$tmp/progress" & holder=$!
for _ in $(seq 1 100); do
  [ "$(wc -l < "$tmp/progress")" -ge 10 ] && break
  sleep 0.1
done
kill -9 $holder; wait $holder 2>/dev/null
last=$(tail -1 "$tmp/progress")
[ -n "$last" ] || fail "the holder made no progress"
out=$("$helper" "$url" takeover pipe:x 1000) || fail "takeover: $out"
found=${out% *} waited=${out#* }
[ "$found" = "$last" ] || [ "$found" = $((last + 1)) ] ||
  fail "took over at checkpoint $found, the holder had committed $last"
[ "$waited" -le 5000 ] || fail "takeover took ${waited}ms for a 1s lease"
echo "lease taken over after ${waited}ms at checkpoint $found (holder said $last)"

# a live holder keeps its lease; one of this host that is gone (same boot,
# same PID namespace) is taken over at once, not when its 60 s run out
"$helper" "$url" hold pipe:y 60000 > "$tmp/progress_y" & holder=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/progress_y" ] && break
  sleep 0.1
done
[ "$("$helper" "$url" try pipe:y 60000)" = "not held" ] || fail "took the lease of a live holder"
kill -9 $holder; wait $holder 2>/dev/null
out=$("$helper" "$url" takeover pipe:y 60000) || fail "takeover from a gone holder: $out"
waited=${out#* }
[ "$waited" -le 2000 ] || fail "waited ${waited}ms for the lease of a process that is gone"
echo "lease of a gone process of this host taken over after ${waited}ms"

# only a name that says this host, this boot and this PID namespace is
# trusted to be gone: an older sluice's name, another PID namespace's and
# a name that is not a worker's wait for their lease to expire
here=$(uname -n)
place="$(cut -d- -f1 /proc/sys/kernel/random/boot_id).$(stat -L -c %i /proc/self/ns/pid)"
dead=99999999 # above any PID the kernel gives (pid_max is at most 2^22)
try_owner() { # LEASE OWNER: what a new worker gets of a lease OWNER holds
  count "INSERT INTO leases (name, owner, expires_at) VALUES ('$1', '$2', 4102444800000)" >/dev/null
  "$helper" "$url" try "$1" 60000
}
[ "$(try_owner w:old "$here:$dead:1")" = "not held" ] || fail "took the lease of an older sluice's name"
[ "$(try_owner w:ns "$here:$dead:1:${place%.*}.1")" = "not held" ] || fail "took the lease of another PID namespace's worker"
[ "$(try_owner w:junk "not a worker name")" = "not held" ] || fail "took the lease of a name that is not a worker's"
[ "$(try_owner w:here "$here:$dead:1:$place")" = "held" ] || fail "did not take the lease of a gone worker of this place"
