"""soak.py: the load and the samples of bench/soak.sh.

  soak.py seed MONGO_URI
      SEED documents {_id: N, v: 0, pad} in soak.items, and the heartbeat
      document {_id: "heartbeat", t: ms}.
  soak.py run MONGO_URI CH_URL HOURS SLUICE_PID STORE_URL SLUICE_LOG
      RATE changes a second for HOURS, a sample every SAMPLE_SECONDS, then
      the catch-up, the comparison and the verdict (exit 0 PASS, 1 FAIL).

The load: every tenth of a second, one bulk write of RATE/10 changes:
inserts, updates ($inc of v) and deletes, 30/40/30 when the live set is
at its size, more inserts below it, more deletes above; and once a second
the heartbeat's t set to the real time in ms. Lag is the real time less
the latest heartbeat found in ClickHouse (a change's way through the pipe,
whatever sluice's test clock says)."""
import glob
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pymongo
from bson import json_util
from pymongo import DeleteOne, InsertOne, UpdateOne

SEED = 10000
RATE = int(os.environ.get("RATE", "1000"))
SAMPLE_SECONDS = float(os.environ.get("SAMPLE_SECONDS", "60"))
FLAT_PCT = float(os.environ.get("FLAT_PCT", "10"))
SPEED = float(os.environ.get("SPEED", "1440"))
# The store fills for about three days of sluice's time (retention keeps
# up to three days: docs/hub.md): samples before the fourth day are left
# out of the judgement of flatness.
WARM_UP_SECONDS = 4 * 86400 / SPEED
CATCH_UP_SECONDS = 900


def coll(uri):
    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000).soak.items


def seed(uri):
    c = coll(uri)
    c.insert_many([{"_id": i, "v": 0, "pad": "p" * 100} for i in range(SEED)])
    c.insert_one({"_id": "heartbeat", "t": int(time.time() * 1000)})


def ch(url, sql):
    req = urllib.request.Request(url + "/", data=sql.encode())
    with urllib.request.urlopen(req, timeout=120) as resp:
        return resp.read().decode()


class Load:
    def __init__(self, c):
        self.c = c
        self.live = list(range(SEED))
        self.index = {k: i for i, k in enumerate(self.live)}
        self.next_id = SEED
        self.rng = random.Random(19)
        self.done = 0

    def remove(self, k):
        i = self.index.pop(k)
        last = self.live.pop()
        if last != k:
            self.live[i] = last
            self.index[last] = i

    def batch(self, n):
        ops = []
        touched = set()
        for _ in range(n):
            r = self.rng.random()
            size = len(self.live)
            insert = 0.3 + (0.3 if size < SEED * 0.9 else 0) - (0.3 if size > SEED * 1.1 else 0)
            if r < insert or size < 100:
                k = self.next_id
                self.next_id += 1
                self.live.append(k)
                self.index[k] = len(self.live) - 1
                ops.append(InsertOne({"_id": k, "v": 0, "pad": "p" * 100}))
                touched.add(k)
                continue
            k = self.live[self.rng.randrange(size)]
            if k in touched:  # one change per document per batch
                continue
            touched.add(k)
            if r < insert + 0.4:
                ops.append(UpdateOne({"_id": k}, {"$inc": {"v": 1}}))
            else:
                self.remove(k)
                ops.append(DeleteOne({"_id": k}))
        if ops:
            self.c.bulk_write(ops, ordered=True)
        self.done += len(ops)

    def heartbeat(self):
        self.c.update_one({"_id": "heartbeat"}, {"$set": {"t": int(time.time() * 1000)}})
        self.done += 1


def proc_status(pid):
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def store_bytes(store):
    """The store's size: with SQLite, the file and its write-ahead log
    (the second figure, also in the first)."""
    if store.startswith("sqlite:"):
        path = store[len("sqlite:"):]
        wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
        return os.path.getsize(path) + wal, wal
    psql = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
    out = subprocess.run([psql, store, "-Atc", "SELECT pg_database_size(current_database())"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip()), 0


def ch_heartbeat(url):
    try:
        text = ch(url, "SELECT doc FROM soak.items WHERE _id = 'heartbeat' FORMAT JSONEachRow")
    except urllib.error.HTTPError as e:  # not there yet
        print("heartbeat: %s" % e.read().decode()[:300], file=sys.stderr)
        return 0
    return max([int(json_util.loads(json.loads(line)["doc"])["t"])
                for line in text.splitlines() if line.strip()] or [0])


def maintenance_runs(log):
    with open(log, errors="replace") as f:
        return sum(1 for line in f if "maintenance ran" in line)


def checksum(d):
    """What a document adds to the checksum: its _id and v (the heartbeat
    only counts)."""
    return d["_id"] * 7 + d["v"] if isinstance(d["_id"], int) else 0


def source_sum(c):
    n = total = 0
    for d in c.find({}, {"v": 1}):
        n += 1
        total += checksum(d)
    return n, total


def dest_sum(url):
    text = ch(url, "SELECT doc FROM soak.items FINAL WHERE _is_deleted = 0 FORMAT JSONEachRow")
    n = total = 0
    for line in text.splitlines():
        n += 1
        total += checksum(json_util.loads(json.loads(line)["doc"]))
    return n, total


def flat(name, samples, key, pct, slack=0):
    half = len(samples) // 2
    first = max(s[key] for s in samples[:half])
    second = max(s[key] for s in samples[half:])
    limit = first * (1 + pct / 100.0) + slack
    ok = second <= limit
    print("%-11s first half max %12d, second half max %12d (%+.1f%%): %s" %
          (name, first, second, 100.0 * (second - first) / max(first, 1),
           "flat" if ok else "GROWS"))
    return ok


def run(uri, ch_url, hours, pid, store, log):
    c = coll(uri)
    load = Load(c)
    start = time.monotonic()
    end = start + hours * 3600
    next_sample = start + SAMPLE_SECONDS
    next_beat = start
    last_done, last_t = 0, start
    samples = []
    per_tick = RATE / 10.0
    owed = 0.0
    tick = start
    print("%6s %9s %4s %12s %12s %7s %8s %5s" %
          ("min", "rss_kib", "fds", "store_bytes", "wal_bytes", "lag_s", "rate/s", "maint"),
          flush=True)
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except OSError:
            print("FAIL: sluice run (pid %d) ended; its log: %s" % (pid, log))
            return 1
        owed += per_tick
        n = int(owed)
        owed -= n
        load.batch(n)
        now = time.monotonic()
        if now >= next_beat:
            load.heartbeat()
            next_beat += 1
        if now >= next_sample:
            rss, fds = proc_status(pid)
            beat = ch_heartbeat(ch_url)
            s = {"min": (now - start) / 60, "rss": rss, "fds": fds,
                 "store": store_bytes(store)[0], "wal": store_bytes(store)[1],
                 "lag": (time.time() * 1000 - beat) / 1000 if beat else -1,
                 "rate": (load.done - last_done) / (now - last_t),
                 "maint": maintenance_runs(log)}
            samples.append(s)
            last_done, last_t = load.done, now
            print("%6.1f %9d %4d %12d %12d %7.1f %8.0f %5d" %
                  (s["min"], s["rss"], s["fds"], s["store"], s["wal"], s["lag"], s["rate"],
                   s["maint"]),
                  flush=True)
            next_sample += SAMPLE_SECONDS
        tick += 0.1
        pause = tick - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -5:  # behind: do not try to make up more than 5 s
            tick = time.monotonic()
    elapsed = time.monotonic() - start
    print("load: %d changes in %.0f s: %.0f a second (asked %d)" %
          (load.done, elapsed, load.done / elapsed, RATE))

    want = source_sum(c)
    waited = time.monotonic()
    got = dest_sum(ch_url)
    while got != want and time.monotonic() - waited < CATCH_UP_SECONDS:
        time.sleep(5)
        got = dest_sum(ch_url)
    print("caught up in %.0f s" % (time.monotonic() - waited) if got == want else
          "not caught up after %d s" % CATCH_UP_SECONDS)
    print("source: %d documents, checksum %d; destination (FINAL): %s" %
          (want[0], want[1], "%s documents, checksum %s" % got))
    ok = got == want
    judged = [s for s in samples if s["min"] * 60 >= WARM_UP_SECONDS]
    if len(judged) < 4:
        print("flatness not judged: fewer than 4 samples after the warm-up (%.0f s)" %
              WARM_UP_SECONDS)
    else:
        print("flatness from minute %.1f on (after the warm-up)" % judged[0]["min"])
        ok = flat("RSS (KiB)", judged, "rss", FLAT_PCT) and ok
        ok = flat("descriptors", judged, "fds", 0, slack=2) and ok
        ok = flat("store (B)", judged, "store", FLAT_PCT) and ok
    print("maintenance runs: %d" % maintenance_runs(log))
    with open(os.environ.get("SOAK_SAMPLES", "/dev/null"), "w") as f:
        json.dump(samples, f)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    if sys.argv[1] == "seed":
        seed(sys.argv[2])
        return 0
    uri, ch_url, hours, pid, store, log = sys.argv[2:8]
    return run(uri, ch_url, float(hours), int(pid), store, log)


if __name__ == "__main__":
    sys.exit(main())
