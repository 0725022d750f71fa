#!/usr/bin/python3
"""test_stop.py SLUICE MONGO_SERVER SERVERS [SCENARIO...]: SIGTERM stops
`sluice run` within a bound while a server does not answer (frozen with
SIGSTOP): ClickHouse during a snapshot and during CDC, the MongoDB test
server during a snapshot and during CDC. Each scenario checks that the
process ends within BOUND seconds of SIGTERM with status 0, that its log
names what it abandoned (at warn: the pipe, the plugin's call, the table),
and that after the server is thawed (SIGCONT) and sluice run started
again, every table equals its collection exactly: nothing was lost.

ClickHouse is a server of this test's own (SERVERS/clickhouse.sh starts it
in a temporary directory), since freezing it would hold up every other
test using the shared one; the store is a fresh SQLite file. Servers are
always thawed before the test ends, passing or not. The bound is generous:
a correctness bound (the stop does not wait for the server), not a speed
measurement. The scenarios of the frozen MongoDB need the test server (a
real replica set cannot be frozen); with SLUICE_TEST_MONGO_URI set they
are skipped.
"""
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  the end-to-end tests' servers, data and comparison
from e2e import Failure, Skip  # noqa: E402

BOUND = 15          # seconds from SIGTERM to the end of the process
FROZEN_FOR = 2      # seconds a server is frozen before SIGTERM
DOCS = 4000         # documents per collection
COLLS = ["a", "b"]
LATENCY_MS = 200    # per command of the test server: a snapshot of seconds


def frozen(pid):
    """SIGSTOP now; the caller thaws (thaw) in a finally."""
    os.kill(pid, signal.SIGSTOP)


def thaw(pid):
    try:
        os.kill(pid, signal.SIGCONT)
    except OSError:
        pass


def ch_pid(ch_dir):
    with open(os.path.join(ch_dir, "server.pid")) as f:
        return int(f.read())


def stop_within_bound(sl):
    """SIGTERM; the process must end within BOUND seconds, with status 0.
    The log lines written since the signal."""
    with open(sl.log) as f:
        f.seek(0, os.SEEK_END)
        since = f.tell()
    proc, sl.proc = sl.proc, None
    e2e.Sluice.running.discard(proc)
    if proc.poll() is not None:
        raise Failure("sluice run had exited with status %s before SIGTERM"
                      % proc.returncode)
    t0 = time.time()
    proc.send_signal(signal.SIGTERM)
    try:
        rc = proc.wait(timeout=BOUND)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise Failure("sluice run still running %d s after SIGTERM" % BOUND)
    e2e.log("stopped %.1f s after SIGTERM" % (time.time() - t0))
    with open(sl.log) as f:
        f.seek(since)
        lines = f.read()
    if rc != 0:
        raise Failure("sluice run exited with status %d after SIGTERM:\n%s"
                      % (rc, lines))
    return lines


def expect_abandoned(lines, pipe, what):
    """A warn line of `pipe` saying it abandoned something, which the
    regular expression `what` (the call, its table) matches."""
    for line in lines.splitlines():
        if (" warn " in line and " %s: stopping: abandoned " % pipe in line
                and re.search(what, line.split("abandoned", 1)[1].strip())
                and "done again after the restart" in line):
            e2e.log("the log: %s" % line.split(" warn ", 1)[1][:300])
            return
    raise Failure("no warn line of pipe %s saying it abandoned %s:\n%s"
                  % (pipe, what, lines))


def started(env, src, name, latency_ms=0):
    """Collections a and b of DOCS documents, a pipe of its own into a
    database of its own, started; the MongoDB test server answering every
    command latency_ms late (a snapshot that lasts)."""
    rng = random.Random(len(name))
    db = src.db(name)
    for c in COLLS:
        e2e.load(db[c], range(DOCS), rng)
    pipe = src.prefix
    sl = e2e.Sluice(env, name, e2e.pipe_ini(env, src, pipe, db.name, COLLS, pipe))
    if latency_ms:
        src.fault(sluiceFault="latency", ms=latency_ms)
    sl.start()
    return db, pipe, sl


def restarted_equal(env, src, db, pipe, sl):
    """The servers thawed: sluice run again, every table equal to its
    collection."""
    if src.is_test_server():
        src.fault(sluiceFault="latency", ms=0)
    sl.start()
    sl.wait_state(pipe, "running")
    e2e.wait_equal(env, e2e.mirror(env, db, pipe, COLLS), what="after the restart")
    sl.stop()


def snapshot_under_way(sl, pipe):
    """Until the snapshot's first rows have reached ClickHouse: its
    partitions are being read."""
    deadline = time.time() + e2e.STATE_TIMEOUT
    while True:
        st = sl.wait_state(pipe, "snapshot")
        if (st.get("rows") or 0) > 0:
            return
        if time.time() > deadline:
            raise Failure("pipe %s: no row of its snapshot after %d s"
                          % (pipe, e2e.STATE_TIMEOUT))
        time.sleep(0.1)


def scenario_clickhouse_snapshot(env, src):
    """ClickHouse frozen while the snapshot's rows are inserted."""
    db, pipe, sl = started(env, src, "clickhouse_snapshot", latency_ms=LATENCY_MS)
    pid = ch_pid(env.ch_dir)
    try:
        snapshot_under_way(sl, pipe)
        frozen(pid)
        time.sleep(FROZEN_FOR)
        if sl.state(pipe) != "snapshot":
            raise Failure("the snapshot ended with ClickHouse frozen")
        lines = stop_within_bound(sl)
    finally:
        thaw(pid)
    expect_abandoned(lines, pipe, r"^sink_clickhouse\.(write|flush) .*table(\(s\)|s)? [ab]")
    restarted_equal(env, src, db, pipe, sl)


def scenario_clickhouse_cdc(env, src):
    """ClickHouse frozen while changes wait (the case of the issue: an
    insert in flight waits out request_timeout, 5 minutes)."""
    db, pipe, sl = started(env, src, "clickhouse_cdc")
    sl.wait_state(pipe, "running")
    e2e.wait_equal(env, e2e.mirror(env, db, pipe, COLLS), what="before the freeze")
    writer = e2e.Writer(src, db.name, COLLS, 3, 10**6, pause=0.005).start(range(DOCS))
    pid = ch_pid(env.ch_dir)
    try:
        time.sleep(0.5)
        frozen(pid)
        time.sleep(FROZEN_FOR)
        lines = stop_within_bound(sl)
    finally:
        thaw(pid)
        writer.stop()
    expect_abandoned(lines, pipe, r"^sink_clickhouse\.(write|flush) .*table(\(s\)|s)? [ab]")
    restarted_equal(env, src, db, pipe, sl)


def mongo_pid(src):
    if not src.is_test_server():
        raise Skip("a real replica set (SLUICE_TEST_MONGO_URI) cannot be frozen")
    return src.proc.pid


def scenario_mongo_snapshot(env, src):
    """The MongoDB server frozen while the snapshot reads it: the reads
    block in libmongoc, which cannot be interrupted; the process ends
    without them."""
    pid = mongo_pid(src)
    db, pipe, sl = started(env, src, "mongo_snapshot", latency_ms=LATENCY_MS)
    try:
        snapshot_under_way(sl, pipe)
        frozen(pid)
        time.sleep(FROZEN_FOR)
        lines = stop_within_bound(sl)
    finally:
        thaw(pid)
    expect_abandoned(lines, pipe, r"^source_mongo\.snapshot_next of table [ab] "
                                  r"\(in the snapshot of table [ab], partition \d+\)")
    restarted_equal(env, src, db, pipe, sl)


def scenario_mongo_cdc(env, src):
    """The MongoDB server frozen during CDC: the change stream's read
    blocks; the process ends without it."""
    pid = mongo_pid(src)
    db, pipe, sl = started(env, src, "mongo_cdc")
    sl.wait_state(pipe, "running")
    writer = e2e.Writer(src, db.name, COLLS, 4, 10**6, pause=0.005).start(range(DOCS))
    time.sleep(1)
    writer.stop()           # its next write would wait on the frozen server
    try:
        frozen(pid)
        time.sleep(FROZEN_FOR)
        lines = stop_within_bound(sl)
    finally:
        thaw(pid)
    expect_abandoned(lines, pipe, r"^source_mongo\.cdc_poll \(in the changes of table\(s\) a, b\)")
    restarted_equal(env, src, db, pipe, sl)


SCENARIOS = [
    ("clickhouse_snapshot", scenario_clickhouse_snapshot),
    ("clickhouse_cdc", scenario_clickhouse_cdc),
    ("mongo_snapshot", scenario_mongo_snapshot),
    ("mongo_cdc", scenario_mongo_cdc),
]


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    sluice, mongo_server, servers = sys.argv[1:4]
    only = sys.argv[4:]
    work = tempfile.mkdtemp(prefix="sluice-stop-")
    ch_dir = os.path.join(work, "ch")
    script = os.path.join(servers, "clickhouse.sh")
    subprocess.run([script, "start", ch_dir], check=True)
    try:
        env = e2e.Env(sluice, mongo_server, ch_dir,
                      "sqlite:" + os.path.join(work, "store.db"))
        env.ch_dir = ch_dir

        def thaw_all(src):
            thaw(ch_pid(ch_dir))
            if src.proc:
                thaw(src.proc.pid)

        failed = [name for name, fn in SCENARIOS if (not only or name in only)
                  and not e2e.run_scenario(env, name, fn, cleanup=thaw_all)]
    finally:
        if os.path.exists(os.path.join(ch_dir, "server.pid")):
            thaw(ch_pid(ch_dir))
        subprocess.run([script, "stop", ch_dir])
    if failed:
        print("%d scenario(s) failed: %s; logs in %s" % (len(failed), ", ".join(failed), env.tmp))
        return 1
    shutil.rmtree(env.tmp, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    print("all stop scenarios passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
