#!/usr/bin/python3
"""hosts.py SLUICE: the multi-host scenarios, run by hosts.sh in the network
namespace of the bridge that joins the store (PostgreSQL), ClickHouse, the
MongoDB test server and two workers, each in namespaces of its own. The
addresses and names come from hosts.sh in HOSTS_* variables. Two workers
run one config of four pipes; each scenario ends with every destination
table equal to its collection (FINAL, deleted rows left out):

  a  the pipes spread two and two, `sluice status` naming each worker
  b  worker 1's links all cut while it streams: worker 2 takes its pipes
     within the lease time
  d  the links healed: worker 1 rejoins without a restart, two and two
  c  worker 1 cut from the store only, still reaching ClickHouse and
     MongoDB: its last write to ClickHouse comes by its local deadline,
     and nothing it sent after makes a stale row visible; healed, d again
  e  both workers cut from the store for longer than the lease: both stop,
     nothing is lost, both resume
"""
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import e2e  # noqa: E402 (the path above)
from e2e import Failure  # noqa: E402

LEASE_S = 15          # a pipe's lease (framework/runtime/pipe.h)
DEADLINE_S = 10       # the local deadline of a worker that cannot renew
LIVE_S = 15           # how long a worker's heartbeat counts
PIPES = ["hp1", "hp2", "hp3", "hp4"]
ROWS = 300

TAG = os.environ["HOSTS_TAG"]
TMP = os.environ["HOSTS_TMP"]
STORE = os.environ["HOSTS_STORE"]
WORKERS = {"w1": os.environ["HOSTS_W1_ADDR"], "w2": os.environ["HOSTS_W2_ADDR"]}
STORE_ADDR = os.environ["HOSTS_STORE_ADDR"]


def say(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def sh(*args):
    subprocess.run(list(args), check=True)


class Worker:
    """`sluice run` in a worker's namespaces, host name `worker1` or
    `worker2`, PID 1 of its own PID namespace."""

    def __init__(self, env, name, ini):
        self.env, self.name, self.ini = env, name, ini
        self.host = "worker" + name[1:]
        self.ns = "sl%s%s" % (TAG, name)
        self.log = os.path.join(TMP, name + ".log")
        self.proc = None

    def start(self):
        cmd = ("hostname %s && exec %s run %s --store '%s'"
               % (self.host, self.env.sluice, self.ini, STORE))
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, "unshare", "--uts", "--pid",
                 "--fork", "--kill-child", "sh", "-c", cmd],
                stdout=log, stderr=subprocess.STDOUT)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def sluice_pid(self):
        """The worker's sluice as this namespace sees it (the child of
        unshare)."""
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                             stdout=subprocess.PIPE, text=True).stdout.split()
        return int(out[0]) if out else None

    def stop(self):
        if not self.alive():
            return
        pid = self.sluice_pid()
        if pid:
            os.kill(pid, 15)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("%s did not stop within 30 s of SIGTERM" % self.name)

    def kill(self):
        if self.alive():
            pid = self.sluice_pid()
            if pid:
                os.kill(pid, 9)
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    # ---- its links: the bridge's end of its veth, or routes to the store

    def cut_all(self):
        sh("ip", "link", "set", "b" + self.name, "down")

    def heal_all(self):
        sh("ip", "link", "set", "b" + self.name, "up")

    def cut_store(self):
        """Packets between the worker and the store are dropped, both
        ways; ClickHouse and MongoDB still answer it."""
        sh("ip", "-n", self.ns, "route", "add", "blackhole", STORE_ADDR + "/32")
        sh("ip", "-n", "sl%spg" % TAG, "route", "add", "blackhole",
           WORKERS[self.name] + "/32")

    def heal_store(self):
        sh("ip", "-n", self.ns, "route", "del", "blackhole", STORE_ADDR + "/32")
        sh("ip", "-n", "sl%spg" % TAG, "route", "del", "blackhole",
           WORKERS[self.name] + "/32")


class Hosts:
    def __init__(self, sluice):
        self.env = e2e.Env.__new__(e2e.Env)
        self.env.sluice = sluice
        self.env.ch_url = os.environ["HOSTS_CH"]
        self.env.store = STORE
        self.env.tmp = TMP
        self.env.real_uri = ""
        self.sluice = sluice
        self.src = SourceAt(os.environ["HOSTS_MONGO"])
        self.db = self.src.client["hosts"]
        self.colls = ["c%d" % (i + 1) for i in range(len(PIPES))]
        ini = "".join(e2e.pipe_ini(self.env, self.src, p, "hosts", [c], "hosts_" + p)
                      for p, c in zip(PIPES, self.colls))
        path = os.path.join(TMP, "pipes.ini")
        with open(path, "w") as f:
            f.write(ini)
        self.workers = {n: Worker(self.env, n, path) for n in ("w1", "w2")}
        self.writer = None

    # ---- what the store says

    def holders(self):
        """{pipe: host of the worker holding it, or None}, from `sluice
        status --json`."""
        r = subprocess.run([self.sluice, "status", "--json", "--store", STORE],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, timeout=60)
        if r.returncode != 0:
            return {}
        out = {}
        for p in json.loads(r.stdout).get("pipes", []):
            w = p.get("worker")
            out[p["name"]] = w.split(":", 1)[0] if w else None
        return out

    def counts(self):
        h = self.holders()
        return {w.host: sum(1 for v in h.values() if v == w.host)
                for w in self.workers.values()}, h

    def wait(self, what, cond, timeout):
        start = time.time()
        while True:
            for w in self.workers.values():
                if w.proc and not w.alive():
                    raise Failure("%s exited (status %s) while waiting for %s:\n%s"
                                  % (w.name, w.proc.returncode, what,
                                     w.log_text()[-3000:]))
            if cond():
                return time.time() - start
            if time.time() - start > timeout:
                raise Failure("waited %ds for %s; status: %s"
                              % (timeout, what, self.holders()))
            time.sleep(0.3)

    def spread(self, a, b, timeout):
        want = {"worker1": a, "worker2": b}
        return self.wait("the pipes to spread %d and %d" % (a, b),
                         lambda: self.counts()[0] == want, timeout)

    def equal(self, what):
        """Every destination equal to its collection, the writer held."""
        self.writer.hold()
        try:
            e2e.wait_equal(self.env, lambda: [
                (e2e.read_source(self.db[c]), "hosts_" + p, c)
                for p, c in zip(PIPES, self.colls)], timeout=120, what=what)
        finally:
            self.writer.release()

    def last_insert_from(self, worker):
        """When ClickHouse last took an insert from the worker's address
        (seconds since the epoch, 0 when never)."""
        e2e.ch_query(self.env, "SYSTEM FLUSH LOGS")
        text = e2e.ch_query(
            self.env,
            "SELECT toUInt32(max(event_time)) FROM system.query_log WHERE "
            "type = 2 AND query LIKE 'INSERT%%' AND IPv6NumToString(address) "
            "= '::ffff:%s' FORMAT TabSeparated" % WORKERS[worker])
        return float(text.strip() or 0)

    # ---- the scenarios

    def run(self):
        rng = random.Random(19)
        for c in self.colls:
            e2e.load(self.db[c], list(range(1, ROWS + 1)), rng)
        self.writer = e2e.Writer(self.src, "hosts", self.colls, 19, ROWS + 1,
                                 pause=0.01).start(range(1, ROWS + 1))
        w1, w2 = self.workers["w1"], self.workers["w2"]
        try:
            self.scenario_a(w1, w2)
            self.scenario_b(w1, w2)
            self.scenario_d(w1, w2, "b")
            self.scenario_c(w1, w2)
            self.scenario_d(w1, w2, "c")
            self.scenario_e(w1, w2)
        finally:
            self.writer.stop()
            for w in self.workers.values():
                w.kill()

    def scenario_a(self, w1, w2):
        w1.start()
        w2.start()
        took = self.spread(2, 2, 90)
        say("a: the four pipes spread two and two (%.1f s)" % took)
        r = subprocess.run([self.sluice, "status", "--store", STORE],
                           stdout=subprocess.PIPE, text=True, timeout=60)
        for host in ("worker1 pid 1", "worker2 pid 1"):
            if host not in r.stdout:
                raise Failure("`sluice status` does not name %s:\n%s" % (host, r.stdout))
        self.equal("a: the tables after the spread")
        say("a: every table equals its collection")

    def scenario_b(self, w1, w2):
        time.sleep(3)  # the writer streams meanwhile
        w1.cut_all()
        took = self.spread(0, 4, LEASE_S + LIVE_S)
        say("b: worker1's links cut; worker2 holds the four pipes %.1f s later "
            "(the lease: %d s)" % (took, LEASE_S))
        if took > LEASE_S + 5:
            raise Failure("b: worker2 took worker1's pipes %.1f s after the cut, "
                          "more than the lease (%d s) and 5 s" % (took, LEASE_S))
        self.equal("b: the tables with worker1 cut off")
        say("b: every table equals its collection")

    def scenario_d(self, w1, w2, after):
        if after == "b":
            w1.heal_all()
        else:
            w1.heal_store()
        took = self.spread(2, 2, 90)
        if not w1.alive():
            raise Failure("d: worker1 is no longer running")
        say("d (after %s): links healed; worker1 rejoined without a restart, "
            "two and two again %.1f s later" % (after, took))
        self.equal("d: the tables after worker1 rejoined")
        say("d: every table equals its collection")

    def scenario_c(self, w1, w2):
        time.sleep(3)
        mark = len(w1.log_text())
        cut = time.time()
        w1.cut_store()
        took = self.spread(0, 4, LEASE_S + LIVE_S + 10)
        say("c: worker1 cut from the store only; worker2 holds the four pipes "
            "%.1f s later" % took)
        time.sleep(3)
        last = self.last_insert_from("w1")
        if not last:
            raise Failure("c: ClickHouse's query log has no insert of worker1's")
        if last > cut + DEADLINE_S + 2:  # event_time: whole seconds
            raise Failure("c: worker1 wrote to ClickHouse %.1f s after it was cut "
                          "from the store (its local deadline: %d s)"
                          % (last - cut, DEADLINE_S))
        say("c: worker1's last insert into ClickHouse came %.1f s after the cut "
            "(local deadline %d s)" % (max(last - cut, 0), DEADLINE_S))
        if not stopped(w1.log_text()[mark:]):
            raise Failure("c: worker1's log does not say its pipes' work stopped")
        self.equal("c: the tables with worker1 cut from the store")
        say("c: no stale row visible; every table equals its collection")

    def scenario_e(self, w1, w2):
        mark = {n: len(w.log_text()) for n, w in self.workers.items()}
        w1.cut_store()
        w2.cut_store()
        time.sleep(LEASE_S + 5)
        for n, w in self.workers.items():
            if not stopped(w.log_text()[mark[n]:]):
                raise Failure("e: %s's log does not say its pipes' work stopped:\n%s"
                              % (n, w.log_text()[mark[n]:][-2000:]))
        say("e: both workers cut from the store for %d s: both stopped their "
            "pipes' work" % (LEASE_S + 5))
        w1.heal_store()
        w2.heal_store()
        took = self.spread(2, 2, 90)
        say("e: healed; both resumed, two and two %.1f s later" % took)
        self.equal("e: the tables after both resumed")
        say("e: nothing lost; every table equals its collection")


def stopped(log):
    """Whether a worker's log says its pipes' work stopped, by the local
    deadline or for a lease lost."""
    return "its work stops" in log or "work here stops" in log


class SourceAt:
    """The MongoDB test server of the namespace, for e2e's helpers."""

    def __init__(self, uri):
        self.uri = uri
        self.client = self.connect()

    def connect(self):
        import pymongo
        return pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=10000)


def main():
    hosts = Hosts(sys.argv[1])
    try:
        hosts.run()
    except Failure as e:
        print("FAIL: %s" % e)
        for w in hosts.workers.values():
            print("---- %s's log (end)\n%s" % (w.name, w.log_text()[-4000:]))
        return 1
    for w in hosts.workers.values():  # a sanitizer build's reports
        for word in ("ThreadSanitizer", "AddressSanitizer", "runtime error:"):
            if word in w.log_text():
                print("FAIL: %s's log has a report of %s:\n%s"
                      % (w.name, word, w.log_text()[-6000:]))
                return 1
    print("all hosts checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
