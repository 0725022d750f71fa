#!/usr/bin/python3
"""campaign.py SLUICE MONGO_SERVER SERVERS CH_DIR STORE LOGS SEED...: the
fault campaign (driven by bench/faults/campaign.sh, which starts the servers).

For each seed: a mongo_test_server with two collections, a pipe
(snapshot+cdc) through the hub into a database of its own in the ClickHouse
of CH_DIR, a writer making inserts, updates, replaces and deletes all along,
and a schedule drawn from the seed that injects faults at random moments of
the snapshot and of CDC:

  sluice_kill   SIGKILL of `sluice run`, started again after a moment
  ch_kill       ClickHouse SIGKILL, restarted after a moment
  ch_stop       ClickHouse SIGSTOP for longer than the sink's
                request_timeout (3 s here), then SIGCONT
  mongo_refuse  the test server drops every connection and refuses new ones
                for a while (sluiceFault refuseConnections)
  pg_restart    PostgreSQL killed (immediate stop) and started again: only
                when STORE is "postgresql" (its server in the directory
                PG_DIR given as STORE=postgresql:PG_DIR)

With CRASH_AT=POINT[,POINT...] (crash points of sluice, util/crash.h:
segment.created, segment.written, segment.synced, publication.committed),
the `sluice run` started again after each sluice_kill also kills itself
at one of those points, at its 1st to 3rd pass (SLUICE_TEST_CRASH, drawn
from the seed), and is started again at once without it: a kill that
lands exactly between a segment's write and its event's commit, counted
as a fault `crash@POINT:N`. The seeds' schedules stay those of the full
campaign.

Then the writer stops, the pipe catches up, and every table under FINAL
(without deleted rows) must equal its collection document for document:
lost = an _id of the collection not in the table, extra = an _id in the
table not in the collection (a deleted one still live, or a key twice),
stale = a document that differs. Once sluice has stopped, `sluice store
check` must find every publication event's records present and whole
(the hub's segments after SIGKILLs between a segment's write and its
event's commit). One line per seed; the last line is
`N seeds, M faults, L lost, E extra, S stale`. A failing seed (anything
lost, extra or stale, or sluice exiting by itself, or the pipe failing,
or the store check failing)
keeps its logs in LOGS/seed-N, which the line names; a passing seed's are
removed. The schedule and the writer's choices come from the seed; the
moments they land on depend on the machine's timing, so a replay injects
the same faults in the same phases, not at the same instant.
"""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pymongo

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "e2e"))
import e2e  # noqa: E402  the end-to-end tests' data and comparison

REQUEST_TIMEOUT_S = 3      # the sink's request_timeout in the pipe's config
CATCH_UP_TIMEOUT = 120     # seconds for the copy to equal the source at the end
STATE_TIMEOUT = 60         # seconds for the snapshot to start, CDC to run
KINDS = ["sluice_kill", "ch_kill", "ch_stop", "mongo_refuse"]
COLLS = ["a", "b"]


class Failure(Exception):
    """Something that ends a seed early; the message says what."""


# ---------------------------------------------------------------- schedule

def schedule(seed, pg):
    """The seed's plan: documents per collection and the faults, each
    {kind, phase, at (snapshot: share of its rows; cdc: seconds after the
    previous fault), down (seconds the fault lasts)}."""
    rng = random.Random(seed)
    kinds = KINDS + (["pg_restart"] if pg else [])
    only = os.environ.get("FAULTS")   # a narrower campaign, to chase one kind
    if only:
        kinds = [k for k in kinds if k in only.split(",")]
        if not kinds:
            raise Failure("FAULTS=%s names none of %s" % (only, ", ".join(
                KINDS + (["pg_restart"] if pg else []))))
    plan = {"docs": rng.randrange(6000, 12000), "faults": []}
    for phase, count in (("snapshot", rng.randint(1, 2)), ("cdc", rng.randint(1, 3))):
        shares = sorted(rng.uniform(0.05, 0.9) for _ in range(count))
        for i in range(count):
            kind = rng.choice(kinds)
            down = {"sluice_kill": rng.uniform(0, 2),
                    "ch_kill": rng.uniform(0, 3),
                    "ch_stop": REQUEST_TIMEOUT_S + rng.uniform(0.5, 3),
                    "mongo_refuse": rng.uniform(0.5, 6),
                    "pg_restart": rng.uniform(0, 3)}[kind]
            at = shares[i] if phase == "snapshot" else rng.uniform(0.5, 4)
            plan["faults"].append({"kind": kind, "phase": phase, "at": at, "down": down})
    return plan


# ---------------------------------------------------------------- servers

class Servers:
    """The ClickHouse (and PostgreSQL) of the campaign, shared by the seeds,
    and the faults on them."""

    def __init__(self, scripts, ch_dir, pg_dir):
        self.scripts = scripts
        self.ch_dir = ch_dir
        self.pg_dir = pg_dir
        with open(os.path.join(ch_dir, "url")) as f:
            self.ch_url = f.read().strip()
        self.ch = e2e.Env.__new__(e2e.Env)   # what e2e's ClickHouse helpers read
        self.ch.ch_url = self.ch_url

    def script(self, name, *args):
        r = subprocess.run([os.path.join(self.scripts, name)] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            raise Failure("%s %s: %s" % (name, " ".join(args), r.stdout.strip()))

    def ch_pid(self):
        with open(os.path.join(self.ch_dir, "server.pid")) as f:
            return int(f.read())

    def ch_alive(self):
        try:
            with urllib.request.urlopen(self.ch_url + "/ping", timeout=5) as r:
                return r.status == 200
        except OSError:
            return False

    def ch_ensure(self):
        """ClickHouse up (a seed that failed midway may have left it down)."""
        if not self.ch_alive():
            try:
                os.kill(self.ch_pid(), signal.SIGCONT)
            except (OSError, ValueError):
                pass
            if not self.ch_alive():
                self.script("clickhouse.sh", "kill", self.ch_dir)
                self.script("clickhouse.sh", "restart", self.ch_dir)

    def ch_kill(self, down):
        self.script("clickhouse.sh", "kill", self.ch_dir)
        time.sleep(down)
        self.script("clickhouse.sh", "restart", self.ch_dir)

    def ch_stop(self, down):
        pid = self.ch_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(down)
        finally:
            os.kill(pid, signal.SIGCONT)

    def pg_restart(self, down):
        self.script("postgres.sh", "kill", self.pg_dir)
        time.sleep(down)
        self.script("postgres.sh", "restart", self.pg_dir)

    def pg_url(self):
        with open(os.path.join(self.pg_dir, "url")) as f:
            return f.read().strip()

    def psql(self, sql):
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql"))
        psql = "/usr/lib/postgresql/%s/bin/psql" % bins[-1]
        return subprocess.run([psql, "-q", self.pg_url(), "-c", sql], check=True,
                              stdout=subprocess.PIPE, text=True).stdout


class Mongo:
    """One seed's mongo_test_server, its log in the seed's directory."""

    def __init__(self, program, logs):
        self.out = os.path.join(logs, "mongo.log")
        with open(self.out, "w") as f:
            self.proc = subprocess.Popen([program, "--port", "0", "--oplog-size", "1000000"],
                                         stdout=f, stderr=subprocess.STDOUT)
        deadline = time.time() + 10
        line = ""
        while "listening on" not in line:
            if time.time() > deadline or self.proc.poll() is not None:
                raise Failure("mongo_test_server did not start: %r" % line)
            time.sleep(0.05)
            with open(self.out) as f:
                line = f.readline()
        port = int(line.strip().rsplit(":", 1)[1])
        self.uri = "mongodb://127.0.0.1:%d/?replicaSet=rs0" % port

    def connect(self):
        """A client that gives up soon while the server refuses (the writer
        counts the failure and goes on)."""
        return pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=2000,
                                   connectTimeoutMS=2000, socketTimeoutMS=10000)

    def refuse(self, down):
        c = self.connect()
        try:
            c.admin.command({"sluiceFault": "refuseConnections", "ms": int(down * 1000)})
        finally:
            c.close()
        time.sleep(down)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Writer(e2e.Writer):
    """e2e's writer, going on through the source's outages: a write that
    fails is counted and the next one tried (what it did is read back from
    the source at the end, so a write of unknown outcome does no harm)."""

    failed = 0

    def run(self):
        while not self.stopping.is_set():
            try:
                with self.writing:
                    self.step(self.rng.choice(self.colls))
                self.ops += 1
            except pymongo.errors.PyMongoError:
                self.failed += 1
                time.sleep(0.2)
            time.sleep(self.pause)


# ---------------------------------------------------------------- sluice

class Sluice:
    """`sluice run` of one seed; SIGKILL and start again; its status."""

    def __init__(self, program, ini, store, log, crash_at=(), rng=None):
        self.program, self.ini, self.store, self.log = program, ini, store, log
        self.proc = None
        self.exits = []     # statuses of exits that no fault caused
        self.crash_at, self.rng = crash_at, rng   # CRASH_AT's points
        self.crash = None   # SLUICE_TEST_CRASH of the running process
        self.crashes = []   # the crash points it died at, as faults

    def start(self, crash=None):
        self.crash = crash
        env = dict(os.environ, SLUICE_TEST_CRASH=crash) if crash else None
        with open(self.log, "a") as log:
            log.write("==== %s start%s\n" % (time.strftime("%H:%M:%S"),
                                            " to crash at " + crash if crash else ""))
            log.flush()
            self.proc = subprocess.Popen([self.program, "run", self.ini, "--store", self.store],
                                         stdout=log, stderr=subprocess.STDOUT, env=env)

    def exited(self):
        """Notes how the process that has exited ended: at its crash point
        (a fault) or by itself (a failure)."""
        if self.crash and self.proc.returncode == -signal.SIGKILL:
            self.crashes.append("crash@" + self.crash)
        else:
            self.exits.append(self.proc.returncode)

    def check(self):
        """Started again when it had exited (at its crash point, or by
        itself)."""
        if self.proc.poll() is not None:
            self.exited()
            self.start()

    def kill(self, down):
        self.check()
        with open(self.log, "a") as log:
            log.write("==== %s SIGKILL\n" % time.strftime("%H:%M:%S"))
        self.proc.kill()
        self.proc.wait()
        time.sleep(down)
        self.start("%s:%d" % (self.rng.choice(self.crash_at), self.rng.randint(1, 3))
                   if self.crash_at else None)

    def stop(self):
        if self.proc.poll() is not None:
            self.exited()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "no exit within 30 s of SIGTERM"
            self.proc.wait()
        if rc != 0:
            self.exits.append(rc)

    def status(self, pipe):
        r = subprocess.run([self.program, "status", pipe, "--json", "--store", self.store],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           timeout=60)
        try:
            return json.loads(r.stdout) if r.returncode == 0 else {}
        except ValueError:
            return {}

    def check_store(self, result):
        """`sluice store check` of the seed's store once sluice has stopped:
        every event's records present and whole (how many, into result);
        its output among the problems when not."""
        r = subprocess.run([self.program, "store", "check", "--store", self.store],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        with open(self.log, "a") as log:
            log.write("==== %s store check: exit %d\n%s" % (time.strftime("%H:%M:%S"),
                                                          r.returncode, r.stdout))
        found = re.search(r"(\d+) publication event", r.stdout)
        result["events_checked"] = int(found.group(1)) if found else 0
        if r.returncode != 0:
            result["problems"].append("sluice store check exited %d:" % r.returncode)
            result["problems"] += ["  " + line for line in r.stdout.splitlines()]

    def wait(self, pipe, ready, timeout=STATE_TIMEOUT):
        """Until ready(status) holds; the last status either way."""
        deadline = time.time() + timeout
        while True:
            self.check()
            st = self.status(pipe)
            if ready(st) or time.time() > deadline:
                return st
            time.sleep(0.1)


def pipe_ini(servers, mongo, pipe, ch_db):
    """e2e's pipe, its sink's request timeout short, its progress logged."""
    return ("[service]\nprogress = log\nprogress_interval = 5s\n\n" +
            e2e.pipe_ini(servers.ch, mongo, pipe, "camp", COLLS, ch_db, batch=500) +
            "request_timeout = %ds\nconnect_timeout = 1s\n" % REQUEST_TIMEOUT_S)


# ---------------------------------------------------------------- comparison

def count_differences(servers, src_db, ch_db):
    """{lost, extra, stale} over every collection and its table, and up to
    a few lines naming them."""
    n = {"lost": 0, "extra": 0, "stale": 0}
    lines = []
    tables = e2e.ch_tables(servers.ch, ch_db) if ch_db in databases(servers) else []
    for coll in COLLS:
        expected = e2e.read_source(src_db[coll])
        actual = {}
        rows = e2e.ch_rows(servers.ch, ch_db, coll) if coll in tables else []
        for key_text, doc_text in rows:
            key = e2e.norm_key(key_text)
            doc = e2e.parse(doc_text)
            if key in actual:
                n["extra"] += 1
                lines.append("%s key %s: more than one row under FINAL" % (coll, key))
            actual[key] = (doc, doc_text)
        for key in sorted(set(expected) | set(actual)):
            if key not in actual:
                n["lost"] += 1
                what = "lost"
            elif key not in expected:
                n["extra"] += 1
                what = "extra: %s" % e2e.short(actual[key][1], 120)
            elif (not e2e.same_doc(expected[key], actual[key][0]) or
                  not e2e.doc_id_is_key(key, actual[key][0])):
                n["stale"] += 1
                what = "stale: source %s, ClickHouse %s" % (
                    e2e.short(e2e.json_util.dumps(expected[key]), 120),
                    e2e.short(actual[key][1], 120))
            else:
                continue
            lines.append("%s key %s %s" % (coll, key, what))
    return n, lines


def databases(servers):
    return e2e.ch_query(servers.ch, "SELECT name FROM system.databases "
                                    "FORMAT TabSeparated").split()


# ---------------------------------------------------------------- one seed

def inject(fault, servers, mongo, sl, pipe):
    """Carries the fault out; where it landed (the pipe's state, rows)."""
    st = sl.status(pipe)
    where = "%s@%s/%s" % (fault["kind"], st.get("state", "?"), st.get("rows", "?"))
    down = fault["down"]
    with open(sl.log, "a") as log:
        log.write("==== %s fault %s for %.1fs\n" % (time.strftime("%H:%M:%S"), where, down))
    {"sluice_kill": sl.kill, "ch_kill": servers.ch_kill, "ch_stop": servers.ch_stop,
     "mongo_refuse": mongo.refuse, "pg_restart": servers.pg_restart}[fault["kind"]](down)
    return where


def inject_all(plan, servers, mongo, sl, pipe, result):
    """The plan's faults, each when its phase and moment come."""
    total = plan["docs"] * len(COLLS)
    for fault in plan["faults"]:
        if fault["phase"] == "snapshot":   # or at once when it has ended
            sl.wait(pipe, lambda st: st.get("state") not in (None, "provisioning", "setup") and
                    (st.get("state") != "snapshot" or
                     (st.get("rows") or 0) >= fault["at"] * total))
        else:
            sl.wait(pipe, lambda st: st.get("state") == "running")
            time.sleep(fault["at"])
        result["faults"].append(inject(fault, servers, mongo, sl, pipe))
    sl.wait(pipe, lambda st: st.get("state") == "running")
    time.sleep(1)


def keep_evidence(servers, sl):
    """What a copy that does not catch up leaves to look at, beside the
    logs: the threads of `sluice run` (gdb) and the store's sessions."""
    where = os.path.dirname(sl.log)
    if sl.proc.poll() is None and shutil.which("gdb"):
        with open(os.path.join(where, "sluice-threads.txt"), "w") as f:
            subprocess.run(["gdb", "-p", str(sl.proc.pid), "-batch", "-ex",
                            "thread apply all bt"], stdout=f, stderr=subprocess.STDOUT,
                           timeout=120)
    if servers.pg_dir:
        with open(os.path.join(where, "pg_stat_activity.txt"), "w") as f:
            f.write(servers.psql("SELECT pid, datname, state, wait_event_type, "
                                 "wait_event, xact_start, left(query, 300) FROM "
                                 "pg_stat_activity WHERE datname LIKE 'faults_%'"))


def catch_up(servers, src_db, ch_db, sl, pipe, result):
    """Until the copy equals the source (or CATCH_UP_TIMEOUT); then stops
    sluice and puts the differences and anything amiss into result."""
    t0 = time.time()
    while True:
        sl.check()
        counts, lines = count_differences(servers, src_db, ch_db)
        if not any(counts.values()) or time.time() - t0 > CATCH_UP_TIMEOUT:
            break
        time.sleep(1)
    result["catch_up_s"] = time.time() - t0
    if any(counts.values()):
        keep_evidence(servers, sl)
    st = sl.status(pipe)
    sl.stop()
    result["faults"] += sl.crashes
    result.update(counts)
    result["problems"] += lines
    sl.check_store(result)
    if st.get("state") != "running":
        result["problems"].append("pipe %s at the end, last error: %s"
                                  % (st.get("state"), st.get("last_error")))
    if sl.exits:
        result["problems"].append("sluice run exited by itself: %s" % sl.exits)


def run_seed(seed, args, servers, logs):
    plan = schedule(seed, servers.pg_dir is not None)
    rng = random.Random(seed * 7919 + 1)
    pipe = "faults_%d" % seed
    ch_db = "faults_%d" % seed
    if servers.pg_dir:
        db = "faults_%d_%d" % (os.getpid(), seed)
        servers.psql("CREATE DATABASE %s" % db)
        store = servers.pg_url().rsplit("/", 1)[0] + "/" + db
    else:
        store = "sqlite:" + os.path.join(logs, "store.db")
    servers.ch_ensure()
    e2e.ch_query(servers.ch, "DROP DATABASE IF EXISTS `%s`" % ch_db)
    mongo = Mongo(args["mongo_server"], logs)
    client = mongo.connect()
    sl = writer = None
    result = {"faults": [], "writes": 0, "failed_writes": 0, "problems": []}
    try:
        src_db = client["camp"]
        for c in COLLS:
            e2e.load(src_db[c], range(plan["docs"]), rng)
        ini = os.path.join(logs, "pipe.ini")
        with open(ini, "w") as f:
            f.write(pipe_ini(servers, mongo, pipe, ch_db))
        sl = Sluice(args["sluice"], ini, store, os.path.join(logs, "sluice.log"),
                    args["crash_at"], random.Random(seed * 7919 + 3))
        writer = Writer(mongo, "camp", COLLS, seed * 7919 + 2, 10**6, pause=0.01)
        writer.start(range(plan["docs"]))
        sl.start()
        try:
            inject_all(plan, servers, mongo, sl, pipe, result)
        finally:
            writer.stop()
            result["writes"], result["failed_writes"] = writer.ops, writer.failed
        catch_up(servers, src_db, ch_db, sl, pipe, result)
    finally:
        if sl and sl.proc and sl.proc.poll() is None:
            sl.proc.kill()
            sl.proc.wait()
        client.close()
        mongo.close()
    if not result["problems"]:
        e2e.ch_query(servers.ch, "DROP DATABASE IF EXISTS `%s`" % ch_db)
        if servers.pg_dir:
            servers.psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
    return result


def main():
    if len(sys.argv) < 8:
        print(__doc__)
        return 2
    sluice, mongo_server, scripts, ch_dir, store, logs = sys.argv[1:7]
    seeds = [int(s) for s in sys.argv[7:]]
    pg_dir = store.split(":", 1)[1] if store.startswith("postgresql:") else None
    servers = Servers(scripts, ch_dir, pg_dir)
    args = {"sluice": sluice, "mongo_server": mongo_server,
            "crash_at": [p for p in os.environ.get("CRASH_AT", "").split(",") if p]}
    totals = {"lost": 0, "extra": 0, "stale": 0}
    by_kind = {}
    failed = []
    t_all = time.time()
    for seed in seeds:
        seed_logs = os.path.join(logs, "seed-%d" % seed)
        shutil.rmtree(seed_logs, ignore_errors=True)
        os.makedirs(seed_logs)
        t0 = time.time()
        try:
            r = run_seed(seed, args, servers, seed_logs)
        except Exception as e:  # the seed could not be carried out
            r = {"faults": [], "writes": 0, "failed_writes": 0, "catch_up_s": 0,
                 "lost": 0, "extra": 0, "stale": 0,
                 "problems": ["the campaign failed: %s: %s" % (type(e).__name__, e)]}
        for k in totals:
            totals[k] += r[k]
        for f in r["faults"]:
            kind = f.split("@")[0]
            by_kind[kind] = by_kind.get(kind, 0) + 1
        line = ("seed %d: %s; %d writes (%d failed); %d lost, %d extra, %d stale; "
                "caught up in %.0fs; %d events checked; %.0fs"
                % (seed, ", ".join(r["faults"]) or "no fault", r["writes"],
                   r["failed_writes"], r["lost"], r["extra"], r["stale"],
                   r["catch_up_s"], r.get("events_checked", 0), time.time() - t0))
        if r["problems"]:
            failed.append(seed)
            print("%s\n  FAILED (replay: %sbench/faults/campaign.sh --seed %d; logs in %s)\n  %s"
                  % (line, "STORE=postgresql " if pg_dir else "", seed, seed_logs, "\n  ".join(r["problems"][:12])), flush=True)
            with open(os.path.join(seed_logs, "result.txt"), "w") as f:
                f.write(line + "\n" + "\n".join(r["problems"]) + "\n")
        else:
            print(line, flush=True)
            shutil.rmtree(seed_logs, ignore_errors=True)
    nfaults = sum(by_kind.values())
    print("faults by kind: %s; wall time %.0fs"
          % (", ".join("%s %d" % kv for kv in sorted(by_kind.items())) or "none",
             time.time() - t_all))
    if failed:
        print("failed seeds (replay: %sbench/faults/campaign.sh --seed %s): %s"
              % ("STORE=postgresql " if pg_dir else "", ",".join(map(str, failed)),
                 " ".join(map(str, failed))))
    print("%d seeds, %d faults, %d lost, %d extra, %d stale"
          % (len(seeds), nfaults, totals["lost"], totals["extra"], totals["stale"]), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
