#!/usr/bin/python3
"""e2e.py SLUICE MONGO_SERVER CH_DIR STORE_URL [SCENARIO...]: sluice run end
to end, from a MongoDB source through the hub (in the store STORE_URL) into
the ClickHouse server of CH_DIR (tests/servers/clickhouse.sh). This file owns
the end-to-end scenarios; each one checks that every destination table's
FINAL content without deleted rows equals its source collection exactly.

The source is a fresh mongo_test_server per scenario, or the replica set of
SLUICE_TEST_MONGO_URI when that is set (each scenario then uses databases of
its own and drops them; scenarios that need the test server's injected
faults are skipped and say so). Debian's python3 with python3-pymongo drives
the source; ClickHouse is read over HTTP.

Every scenario uses its own pipe, databases and sluice processes, so one
failure names itself. Set E2E_SEEDS (default "1,2,3") for the kill seeds.
"""
import base64
import datetime
import json
import struct
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
import uuid

import pymongo
from bson import json_util
from bson.binary import Binary
from bson.decimal128 import Decimal128
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "source"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "runtime"))
from doc_table import clickpipes, parse, same  # noqa: E402 (the path above)
import prometheus_check  # noqa: E402 (the path above)

SYNC_TIMEOUT = 60      # seconds for the destination to catch up
STATE_TIMEOUT = 60     # seconds for a pipe to reach a state (a lease is 15 s)


class Failure(Exception):
    """A check that did not hold; the message says what differed."""


class Skip(Exception):
    """A scenario that cannot run here; the message says why."""


# ---------------------------------------------------------------- context

class Env:
    """What every scenario shares: programs, servers, the store, a tag that
    makes database and pipe names unique per run."""

    def __init__(self, sluice, mongo_server, ch_dir, store):
        self.sluice = sluice
        self.mongo_server = mongo_server
        with open(os.path.join(ch_dir, "url")) as f:
            self.ch_url = f.read().strip()
        self.store = store
        self.real_uri = os.environ.get("SLUICE_TEST_MONGO_URI", "")
        self.tmp = tempfile.mkdtemp(prefix="sluice-e2e-")
        self.tsan_options = os.environ.get("TSAN_OPTIONS")
        kind = "pg" if store.startswith("postgres") else "lite"
        self.tag = "e2e_%s_%d" % (kind, os.getpid())


# ---------------------------------------------------------------- MongoDB

class Source:
    """One scenario's MongoDB: a test server of its own, or the replica set
    of SLUICE_TEST_MONGO_URI with databases named for this scenario."""

    def __init__(self, env, name):
        self.env = env
        self.proc = None
        self.dbs = []
        if env.real_uri:
            self.uri = env.real_uri
        else:
            self.proc = subprocess.Popen([env.mongo_server, "--port", "0"],
                                         stdout=subprocess.PIPE, text=True)
            line = self.proc.stdout.readline().strip()
            if "listening on" not in line:
                raise Failure("mongo_test_server did not start: %r" % line)
            port = int(line.rsplit(":", 1)[1])
            self.uri = "mongodb://127.0.0.1:%d/?replicaSet=rs0" % port
        self.client = self.connect()
        self.prefix = "%s_%s" % (env.tag, name)

    def connect(self):
        return pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=10000)

    def db(self, suffix):
        name = "%s_%s" % (self.prefix, suffix)
        if name not in self.dbs:
            self.dbs.append(name)
        return self.client[name]

    def is_test_server(self):
        return self.proc is not None

    def fault(self, **cmd):
        if not self.is_test_server():
            raise Skip("%s: sluiceFault exists only on mongo_test_server "
                       "(SLUICE_TEST_MONGO_URI is set)" % cmd)
        self.client.admin.command(cmd)

    def close(self):
        if self.env.real_uri:
            for name in self.dbs:
                self.client.drop_database(name)
        self.client.close()
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)


def read_source(coll):
    """{canonical key: document} of a whole collection."""
    out = {}
    for doc in coll.find({}):
        out[key_of(doc["_id"])] = doc
    return out


def key_of(value):
    """An _id as the sink's _id column has it (id_format = natural): an
    ObjectId's hex, a string itself, any other value its canonical
    extended JSON (so 1, 1.0 and "1" are different keys), that JSON
    normalised for comparison (norm_key)."""
    if isinstance(value, ObjectId):
        return str(value)
    if isinstance(value, str):
        return value if value else '""'
    if isinstance(value, uuid.UUID):  # PyMongo reads binary subtype 4 so
        value = Binary.from_uuid(value)
    return norm_key(json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS))


def norm_key(text):
    """A key of the _id column for comparison: JSON (a value that is neither
    an ObjectId nor a string) with its members sorted, the rest as it is."""
    if text.startswith("{"):
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    return text


# ---------------------------------------------------------------- ClickHouse

def ch_query(env, sql):
    req = urllib.request.Request(env.ch_url + "/", data=sql.encode())
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.read().decode()
    except urllib.error.HTTPError as e:
        raise Failure("ClickHouse refused %r: %s" % (sql, e.read().decode()[:500]))


def ch_tables(env, database):
    """The tables of a database, but the sink's record of their owners."""
    text = ch_query(env, "SELECT name FROM system.tables WHERE database = '%s' "
                         "FORMAT TabSeparated" % database)
    return sorted(t for t in text.split("\n") if t and t != "_sluice_owners")


def drop_ch_databases(env, prefix):
    text = ch_query(env, "SELECT name FROM system.databases WHERE startsWith(name, '%s') "
                         "FORMAT TabSeparated" % prefix)
    for name in text.split():
        ch_query(env, "DROP DATABASE IF EXISTS `%s`" % name)


def is_deleted_column(env, database, table):
    """_is_deleted, or _peerdb_is_deleted in a table of column_names =
    clickpipes."""
    text = ch_query(env, "SELECT name FROM system.columns WHERE database = '%s' "
                         "AND table = '%s' AND name = '_peerdb_is_deleted' "
                         "FORMAT TabSeparated" % (database, table))
    return text.strip() or "_is_deleted"


def ch_rows(env, database, table, deleted=False):
    """[(key text, doc text)] of SELECT ... FINAL WHERE _is_deleted = 0 (or
    = 1 with deleted), by the table's name of the column."""
    sql = ("SELECT _id, doc FROM `%s`.`%s` FINAL WHERE %s = %d "
           "FORMAT JSONEachRow" % (database, table,
                                   is_deleted_column(env, database, table),
                                   1 if deleted else 0))
    rows = []
    for line in ch_query(env, sql).splitlines():
        if line.strip():
            r = json.loads(line)
            rows.append((r["_id"], r["doc"]))
    return rows


def ch_content(env, database, table):
    """{canonical key: (doc as parsed, raw row)} and a list of problems
    (a key twice, a row whose document's _id is not its key). doc is in
    source_mongo's default form (clickpipes), parsed as doc_table.parse
    does."""
    out, problems = {}, []
    for key_text, doc_text in ch_rows(env, database, table):
        key = norm_key(key_text)
        doc = parse(doc_text)
        if not doc_id_is_key(key_text, doc):
            problems.append("%s.%s key %s: the document's _id is %s"
                            % (database, table, key, json.dumps(dict(doc).get("_id"))))
        if key in out:
            problems.append("%s.%s key %s: more than one row after FINAL"
                            % (database, table, key))
        out[key] = (doc, doc_text)
    return out, problems


# ---------------------------------------------------------------- comparison

def doc_id_is_key(key_text, doc):
    """Whether a row's parsed doc has the _id its key names (key_of: an
    ObjectId's hex or a string, both strings in the doc, the empty string
    as "", any other value its canonical extended JSON)."""
    _id = dict(doc).get("_id")
    if key_text.startswith("{"):
        return same(clickpipes(json_util.loads(key_text)), _id)
    return _id == ("" if key_text == '""' else key_text)


def same_doc(expected, actual):
    """Whether a document read from the source (PyMongo) is the parsed doc
    of a row: its clickpipes form, value for value and type for type."""
    return same(clickpipes(expected), actual)


def differences(expected, actual, where, limit=8):
    """Every way actual ({key: (doc, text)}) differs from expected
    ({key: doc}), at most limit of them, each naming table, key and what."""
    out = []
    for key in sorted(set(expected) | set(actual)):
        if key not in actual:
            out.append("%s key %s: missing in ClickHouse (source has %s)"
                       % (where, key, short(json_util.dumps(expected[key]))))
        elif key not in expected:
            out.append("%s key %s: in ClickHouse but not in the source: %s"
                       % (where, key, short(actual[key][1])))
        elif not same_doc(expected[key], actual[key][0]):
            out.append("%s key %s: source %s, ClickHouse %s"
                       % (where, key, short(json_util.dumps(expected[key])),
                          short(actual[key][1])))
    total = len(out)
    if total > limit:
        out = out[:limit] + ["... %d differences in all" % total]
    return out


def short(text, n=300):
    return text if len(text) <= n else text[:n] + "..."


def compare(env, pairs):
    """pairs: [(expected {key: doc}, ch database, ch table)]; the problems."""
    problems = []
    for expected, database, table in pairs:
        if table not in ch_tables(env, database):
            problems.append("%s.%s: no such ClickHouse table" % (database, table))
            continue
        actual, dup = ch_content(env, database, table)
        problems += dup
        problems += differences(expected, actual, "%s.%s" % (database, table))
    return problems


def wait_equal(env, pairs_fn, timeout=SYNC_TIMEOUT, what="destination"):
    """Until compare(pairs_fn()) finds nothing; fails with the last
    differences. pairs_fn re-reads the source each time."""
    deadline = time.time() + timeout
    while True:
        problems = compare(env, pairs_fn())
        if not problems:
            return
        if time.time() > deadline:
            raise Failure("%s not equal to the source after %ds:\n  %s"
                          % (what, timeout, "\n  ".join(problems)))
        time.sleep(0.5)


def mirror(env, src_db, ch_db, colls):
    """pairs_fn for: each collection of src_db equals the same-named table
    of ch_db."""
    return lambda: [(read_source(src_db[c]), ch_db, c) for c in colls]


# ---------------------------------------------------------------- sluice

class Sluice:
    """One scenario's config file and its `sluice run` processes."""

    running = set()     # every process started and not yet waited for

    def __init__(self, env, name, ini, store=None):
        self.env = env
        self.store = store or env.store
        self.name = name
        self.ini = os.path.join(env.tmp, name + ".ini")
        self.log = os.path.join(env.tmp, name + ".log")
        with open(self.ini, "w") as f:
            f.write(ini)
        self.proc = None

    def start(self, pipe=None):
        if self.proc and self.proc.poll() is None:
            raise Failure("%s: sluice run already running" % self.name)
        args = [self.env.sluice, "run", self.ini, "--store", self.store]
        if pipe:
            args += ["--pipe", pipe]
        with open(self.log, "a") as log:
            log.write("==== %s %s\n" % (time.strftime("%H:%M:%S"), " ".join(args)))
            log.flush()
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        Sluice.running.add(self.proc)

    def kill9(self):
        with open(self.log, "a") as log:
            log.write("==== %s SIGKILL\n" % time.strftime("%H:%M:%S"))
        self.proc.kill()
        self.proc.wait()
        Sluice.running.discard(self.proc)
        self.proc = None

    def stop(self):
        """SIGTERM; sluice must stop within a few seconds, with status 0."""
        if not self.proc:
            return
        proc, self.proc = self.proc, None
        Sluice.running.discard(proc)
        if proc.poll() is not None:
            raise Failure("%s: sluice run had exited with status %s"
                          % (self.name, proc.returncode))
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Failure("%s: sluice run did not stop within 20 s of SIGTERM"
                          % self.name)
        if rc != 0:
            raise Failure("%s: sluice run exited with status %d after SIGTERM"
                          % (self.name, rc))

    def check_alive(self):
        if self.proc and self.proc.poll() is not None:
            raise Failure("%s: sluice run exited with status %d"
                          % (self.name, self.proc.returncode))

    def cli(self, *args, ok=True):
        """Runs `sluice ARGS --store STORE`; its output; fails on a
        non-zero status unless ok is False."""
        cmd = [self.env.sluice] + list(args) + ["--store", self.store]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=180)
        if args[0] == "status":
            return r.returncode, r.stdout     # polled: too many to log
        with open(self.log, "a") as log:
            log.write("==== %s %s -> %d\n%s" % (time.strftime("%H:%M:%S"),
                                                " ".join(args), r.returncode, r.stdout))
        if ok and r.returncode != 0:
            raise Failure("`sluice %s` exited with %d: %s"
                          % (" ".join(args), r.returncode, r.stdout.strip()))
        return r.returncode, r.stdout

    def status(self, pipe):
        rc, out = self.cli("status", pipe, "--json", ok=False)
        if rc != 0:
            return {}
        return json.loads(out)

    def state(self, pipe):
        return self.status(pipe).get("state")

    def wait_worker(self, pipe, timeout=STATE_TIMEOUT):
        """Until the running process holds the pipe (after a SIGKILL, once
        the dead worker's lease has expired)."""
        mark = ":%d:" % self.proc.pid
        deadline = time.time() + timeout
        while mark not in (self.status(pipe).get("worker") or ""):
            self.check_alive()
            if time.time() > deadline:
                raise Failure("pipe %s not taken over by the new sluice run within %ds"
                              % (pipe, timeout))
            time.sleep(0.2)

    def wait_state(self, pipe, states, timeout=STATE_TIMEOUT):
        if isinstance(states, str):
            states = [states]
        deadline = time.time() + timeout
        while True:
            self.check_alive()
            st = self.status(pipe)
            if st.get("state") in states:
                return st
            if st.get("state") == "failed" and "failed" not in states:
                raise Failure("pipe %s failed: %s" % (pipe, st.get("last_error")))
            if time.time() > deadline:
                raise Failure("pipe %s is %s after %ds, not %s (last error: %s)"
                              % (pipe, st.get("state"), timeout, "/".join(states),
                                 st.get("last_error")))
            time.sleep(0.2)

    @staticmethod
    def tail_of(path, n=40):
        try:
            with open(path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def pipe_ini(env, src, pipe, src_db, colls, ch_db, mode="snapshot+cdc",
             batch=200, sink_extra="", source_extra="", source_batch=100, ch_url=None):
    return """[pipe {pipe}]
source = source_mongo
sink = sink_clickhouse
mode = {mode}
sync_interval = 1s
pull_batch_size = {batch}

[pipe {pipe}.source]
uri = {uri}
database = {db}
collections = {colls}
partition_size = 1000
batch_size = {source_batch}
max_await_time = 200ms
{source_extra}

[pipe {pipe}.sink]
url = {ch}
database = {ch_db}
{extra}
""".format(pipe=pipe, mode=mode, batch=batch, uri=src.uri, db=src_db,
           colls=", ".join(colls), ch=ch_url or env.ch_url, ch_db=ch_db, extra=sink_extra,
           source_extra=source_extra, source_batch=source_batch)


# ---------------------------------------------------------------- data

def sample_doc(rng, i):
    """A document with most BSON types sluice must carry."""
    return {
        "n": i,
        "name": "doc %d \"quoted\" \\ é ✓ \t" % i,
        "price": rng.choice([0.1, 1.0, 2.5, -3.75, 1e300, 123456.789]),
        "big": Int64(rng.randrange(-2**62, 2**62)),
        "flag": rng.random() < 0.5,
        "none": None,
        "at": datetime.datetime(2024, 1, 1) + datetime.timedelta(milliseconds=rng.randrange(10**10)),
        "ref": ObjectId(),
        "dec": Decimal128("%d.%02d" % (rng.randrange(1000), rng.randrange(100))),
        "bin": Binary(bytes(rng.randrange(256) for _ in range(5))),
        "tags": [rng.choice(["a", "b", "c"]) for _ in range(rng.randrange(4))],
        "sub": {"x": rng.randrange(100), "y": {"z": [1, {"w": "v"}]}},
        "pad": "p" * rng.randrange(50),
    }


def load(coll, ids, rng):
    docs = []
    for i, _id in enumerate(ids):
        d = {"_id": _id}
        d.update(sample_doc(rng, i))
        docs.append(d)
    for start in range(0, len(docs), 1000):
        coll.insert_many(docs[start:start + 1000])


class Writer:
    """Random inserts, updates ($set, $unset, $inc), replacements, deletes
    and re-inserts of deleted keys, on some collections, in a thread, until
    stopped. Integer _ids from next_id up are new keys."""

    def __init__(self, src, db_name, colls, seed, next_id, pause=0.003):
        self.client = src.connect()
        self.colls = [self.client[db_name][c] for c in colls]
        self.rng = random.Random(seed)
        self.next_id = next_id
        self.pause = pause
        self.known = {c.name: [] for c in self.colls}
        self.deleted = {c.name: [] for c in self.colls}
        self.touched = {c.name: set() for c in self.colls}
        self.ops = 0
        self.error = None
        self.stopping = threading.Event()
        self.writing = threading.Lock()     # held by hold()
        self.held = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self, existing=()):
        for c in self.colls:
            self.known[c.name] = list(existing)
        self.thread.start()
        return self

    def run(self):
        try:
            while not self.stopping.is_set():
                with self.writing:
                    self.step(self.rng.choice(self.colls))
                self.ops += 1
                time.sleep(self.pause)
        except Exception as e:  # reported by stop()
            self.error = e

    def step(self, coll):
        """One change; the key it changed is recorded before it is made."""
        rng, known, deleted = self.rng, self.known[coll.name], self.deleted[coll.name]
        touched = self.touched[coll.name]
        op = rng.random()
        if op < 0.3 or not known:
            _id = self.next_id
            self.next_id += 1
            d = {"_id": _id}
            d.update(sample_doc(rng, _id))
            touched.add(_id)
            coll.insert_one(d)
            known.append(_id)
        elif op < 0.45:
            _id = rng.choice(known)
            touched.add(_id)
            coll.update_one({"_id": _id},
                            {"$set": {"n": rng.randrange(10**6), "flag": "set",
                                      "added": [rng.random()]}})
        elif op < 0.55:
            _id = rng.choice(known)
            touched.add(_id)
            coll.update_one({"_id": _id},
                            {"$unset": {"pad": "", "tags": ""}, "$inc": {"n": 1}})
        elif op < 0.65:
            _id = rng.choice(known)
            touched.add(_id)
            coll.replace_one({"_id": _id}, {"replaced": True, "v": rng.randrange(100)})
        elif op < 0.85:
            _id = known.pop(rng.randrange(len(known)))
            touched.add(_id)
            coll.delete_one({"_id": _id})
            deleted.append(_id)
        elif deleted:
            _id = deleted.pop(rng.randrange(len(deleted)))
            touched.add(_id)
            coll.insert_one({"_id": _id, "reborn": True, "n": rng.randrange(100)})
            known.append(_id)

    def hold(self):
        """Stops writing after the change in progress, until release()."""
        self.writing.acquire()
        self.held = True

    def release(self):
        if self.held:
            self.held = False
            self.writing.release()

    def stop(self):
        self.stopping.set()
        self.release()
        self.thread.join(timeout=30)
        self.client.close()
        if self.error:
            raise Failure("the source writer failed: %r" % self.error)
        return self.ops


# ---------------------------------------------------------------- scenarios

def scenario_snapshot_cdc(env, src):
    """Snapshot, then CDC, with inserts, updates, replacements and deletes
    interleaved with both; _ids of several types."""
    rng = random.Random(11)
    db = src.db("s")
    load(db.ints, range(3000), rng)
    load(db.oids, [ObjectId() for _ in range(1500)], rng)
    # distinct in MongoDB too (there 10 and 10.0 are one key)
    mixed = ["a", "b", "10", 10, 10.5, Int64(2**40), -1, ObjectId(), "é", ""] + \
        ["k%03d" % i for i in range(300)]
    load(db.mixed, mixed, rng)
    ch_db = src.prefix
    sl = Sluice(env, "snapshot_cdc",
                pipe_ini(env, src, src.prefix, db.name, ["ints", "oids", "mixed"], ch_db))
    writers = [Writer(src, db.name, ["ints"], 12, 100000).start(range(3000)),
               Writer(src, db.name, ["mixed"], 13, 100000).start([10, -1])]
    try:
        sl.start()
        sl.wait_state(src.prefix, ["snapshot", "running"])
        # changes one batch sees together: insert, update, delete of one key
        db.ints.insert_one({"_id": 500000, "v": 1})
        db.ints.update_one({"_id": 500000}, {"$set": {"v": 2}})
        db.ints.delete_one({"_id": 500000})
        db.mixed.delete_one({"_id": 10.5})
        db.mixed.insert_one({"_id": 10.5, "again": True})
        sl.wait_state(src.prefix, "running")
        time.sleep(2)
    finally:
        ops = sum(w.stop() for w in writers)
    db.oids.delete_one({"_id": db.oids.find_one()["_id"]})
    log("%d writes during snapshot and CDC" % ops)
    wait_equal(env, mirror(env, db, ch_db, ["ints", "oids", "mixed"]))
    sl.stop()
    return sl


def id_of_every_type(i):
    """Distinct _ids of each type a key must carry (i: 0 or 1)."""
    return [ObjectId("65a1b2c3d4e5f6071829300%d" % i), "s%d" % i, " " * i, 7 + i,
            Int64(2**40 + i), 0.5 + i, Decimal128("1.%d" % i),
            Binary(b"\x00\x01" + bytes([i]), 0),
            Binary.from_uuid(uuid.UUID(int=i + 1)), {"a": i, "b": [i]},
            datetime.datetime(2024, 1, 2, 3, 4, 5, i * 1000)]


def scenario_id_types(env, src):
    """_ids of every type, keyed as the destination shows them (an
    ObjectId's hex, a string itself, any other value as canonical JSON):
    each one found by its natural key, updated, deleted, and carried
    across a resync with its deletes."""
    rng = random.Random(17)
    db = src.db("i")
    ids = id_of_every_type(0) + id_of_every_type(1)
    load(db.every, ids, rng)
    pipe, ch_db = src.prefix, src.prefix
    sl = Sluice(env, "id_types", pipe_ini(env, src, pipe, db.name, ["every"], ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["every"]), what="after the snapshot")
    # the natural keys, as a query finds them
    found = ch_query(env, "SELECT _id FROM `%s`.every FINAL WHERE _id IN "
                          "('65a1b2c3d4e5f60718293000', 's0', '\"\"', '{\"$numberInt\":\"7\"}') "
                          "ORDER BY _id FORMAT TabSeparated" % ch_db).split("\n")[:-1]
    if found != ['""', "65a1b2c3d4e5f60718293000", "s0", "{\"$numberInt\":\"7\"}"]:
        raise Failure("natural keys not found as such: %r" % found)
    for _id in id_of_every_type(0):
        db.every.update_one({"_id": _id}, {"$set": {"updated": True}})
    for _id in id_of_every_type(1):
        db.every.delete_one({"_id": _id})
    wait_equal(env, mirror(env, db, ch_db, ["every"]), what="after updates and deletes")
    sl.cli("resync", pipe, "--wait")  # a small resync may be over before a look
    sl.wait_state(pipe, "running")
    if "resync tables swapped in" not in sl.cli("history", pipe)[1]:
        raise Failure("the resync did not finish")
    wait_equal(env, mirror(env, db, ch_db, ["every"]), what="after the resync")
    deleted = {norm_key(k) for k, _ in ch_rows(env, ch_db, "every", deleted=True)}
    want = {key_of(i) for i in id_of_every_type(1)}
    if deleted != want:
        raise Failure("deleted rows after the resync: %s, want %s"
                      % (sorted(deleted), sorted(want)))
    sl.stop()


def kill_and_restart(sl, pipe, rng, states, rows):
    """SIGKILL at a random point while the pipe is in one of states: once
    a random share of rows has reached the sink (when rows), and a random
    moment more; then a new `sluice run`, which takes the pipe over when
    the dead worker's lease expires. Returns where the kill came."""
    share = rng.uniform(0.05, 0.7)
    deadline = time.time() + STATE_TIMEOUT
    while rows and time.time() < deadline:
        st = sl.status(pipe)
        if st.get("state") not in states or (st.get("rows") or 0) >= share * rows:
            break
        time.sleep(0.1)
    time.sleep(rng.uniform(0.0, 0.2) if rows else rng.uniform(0.2, 3.0))
    st = sl.status(pipe)
    sl.kill9()
    t0 = time.time()
    sl.start(pipe)
    sl.wait_worker(pipe)
    return "%s at %s rows (taken over in %.0fs)" % (st.get("state"), st.get("rows"),
                                                     time.time() - t0)


def kill_one(env, src, seed):
    """One seed of the SIGKILL scenario: killed at a random point of the
    snapshot, of CDC and of a resync, restarted after each."""
    rng = random.Random(seed)
    db = src.db("k%d" % seed)
    n = 8000
    load(db.x, range(n), rng)
    load(db.y, range(n), rng)
    pipe = "%s_%d" % (src.prefix, seed)
    ch_db = pipe
    sl = Sluice(env, "kill_%d" % seed,
                pipe_ini(env, src, pipe, db.name, ["x", "y"], ch_db, batch=300))
    writer = Writer(src, db.name, ["x", "y"], seed * 7, 10**6, pause=0.02).start(range(n))
    phases = []
    t0 = time.time()
    try:
        sl.start(pipe)
        sl.wait_state(pipe, "snapshot")
        phases.append(kill_and_restart(sl, pipe, rng, ["snapshot"], 2 * n))
        sl.wait_state(pipe, "running")
        phases.append(kill_and_restart(sl, pipe, rng, ["running"], 0))
        sl.wait_state(pipe, "running")
        sl.cli("resync", pipe)
        sl.wait_state(pipe, ["setup", "snapshot", "resync"], timeout=10)
        phases.append(kill_and_restart(sl, pipe, rng, ["setup", "snapshot"], 2 * n))
        sl.wait_state(pipe, "running")
        time.sleep(1)
    finally:
        ops = writer.stop()
    log("seed %d: killed in %s; %d writes in %.0fs" % (seed, ", ".join(phases), ops,
                                                        time.time() - t0))
    if not phases[0].startswith("snapshot"):
        log("seed %d: the first kill came after the snapshot had ended" % seed)
    t0 = time.time()
    wait_equal(env, mirror(env, db, ch_db, ["x", "y"]), what="seed %d" % seed)
    log("seed %d: equal after %.0fs" % (seed, time.time() - t0))
    if ch_tables(env, ch_db) != ["x", "y"]:
        raise Failure("seed %d: tables after the resync: %s (want x, y)"
                      % (seed, ch_tables(env, ch_db)))
    if "resync tables swapped in" not in sl.cli("history", pipe)[1]:
        raise Failure("seed %d: the resync did not finish" % seed)
    sl.stop()


def scenario_kill(env, src):
    """SIGKILL during the snapshot, during CDC and during a resync at random
    points, for several seeds at once (each its own pipe and process), restart: the
    same exact content."""
    seeds = [int(s) for s in os.environ.get("E2E_SEEDS", "1,2,3").split(",")]
    errors = {}

    def run(seed):
        try:
            kill_one(env, src, seed)
        except Exception as e:
            errors[seed] = e

    threads = [threading.Thread(target=run, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise Failure("\n".join("seed %d: %s" % (s, e) for s, e in sorted(errors.items())))


def started_pipe(env, src, name, seed, ids, colls=("a",)):
    """The usual start of a scenario: collections of documents with the
    given _ids, a pipe of its own into a database of its own, running and
    caught up. Returns (source database, pipe = ClickHouse database, Sluice)."""
    rng = random.Random(seed)
    db = src.db(name)
    for c in colls:
        load(db[c], ids, rng)
    pipe = src.prefix
    sl = Sluice(env, name, pipe_ini(env, src, pipe, db.name, list(colls), pipe))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, pipe, colls))
    return db, pipe, sl


def scenario_pause_resume(env, src):
    """Paused: nothing new reaches the destination; resumed: everything
    written meanwhile arrives."""
    db, pipe, sl = started_pipe(env, src, "pause_resume", 21, range(1000))
    ch_db = pipe
    w = Writer(src, db.name, ["a"], 22, 10**5).start(range(1000))
    time.sleep(1.5)
    w.stop()
    wait_equal(env, mirror(env, db, ch_db, ["a"]))
    sl.cli("pause", pipe, "--wait", "--timeout", "30s")
    if sl.state(pipe) != "paused":
        raise Failure("pipe is %s after pause --wait" % sl.state(pipe))
    before = ch_content(env, ch_db, "a")[0]
    w = Writer(src, db.name, ["a"], 23, 2 * 10**5).start(w.known["a"])
    time.sleep(1.0)
    ops = w.stop()
    time.sleep(3)       # three sync intervals
    after = ch_content(env, ch_db, "a")[0]
    if ops == 0 or {k: v[1] for k, v in before.items()} != {k: v[1] for k, v in after.items()}:
        raise Failure("the destination changed while the pipe was paused (%d writes)" % ops)
    sl.cli("resume", pipe, "--wait", "--timeout", "30s")
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after resume")
    sl.stop()


def scenario_resync(env, src):
    """Resync while changes go on: the shadows replace the tables, deleted
    rows of the old tables are carried across, the content is exact."""
    rng = random.Random(31)
    db = src.db("r")
    load(db.a, range(2000), rng)
    load(db.b, ["s%d" % i for i in range(500)], rng)
    pipe, ch_db = src.prefix, src.prefix
    sl = Sluice(env, "resync", pipe_ini(env, src, pipe, db.name, ["a", "b"], ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    gone = list(range(0, 2000, 7))
    db.a.delete_many({"_id": {"$in": gone}})
    db.b.delete_many({"_id": {"$in": ["s1", "s2", "s3"]}})
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]))
    w = Writer(src, db.name, ["a"], 32, 10**5, pause=0.005).start(
        [i for i in range(2000) if i % 7])
    try:
        sl.cli("resync", pipe, "--wait", "--timeout", "60s")
        time.sleep(1)
    finally:
        ops = w.stop()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]), what="after resync")
    tables = ch_tables(env, ch_db)
    if tables != ["a", "b"]:
        raise Failure("tables after the resync: %s (want a, b)" % tables)
    # the deletes made before the resync are still there as deleted rows
    carried = {json.loads(k).get("$numberInt") for k, _ in ch_rows(env, ch_db, "a", deleted=True)}
    lost = [i for i in gone if str(i) not in carried and not db.a.find_one({"_id": i})]
    if lost:
        raise Failure("%d deletes of %s.a not carried across the resync, e.g. key %d"
                      % (len(lost), ch_db, lost[0]))
    rc, hist = sl.cli("history", pipe)
    if "resync" not in hist:
        raise Failure("no resync in the history:\n" + hist)
    log("%d writes during the resync" % ops)
    sl.stop()


class Scraper:
    """Scrapes /metrics of a sluice run every 0.2 s in a thread: checks each
    scrape (prometheus_check: every line by Prometheus' rules) and that no
    counter went down since the scrape before, and notes the state the
    scrape shows the pipe in, under the phase the scenario says it is in.
    Across a restart of sluice run (restarted()), the plugins' counters,
    which live in the process, start again; the store's must not."""

    def __init__(self, port, pipe):
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.pipe = pipe
        self.phase = "start"
        self.seen = []              # (phase, state) of each scrape
        self.problems = []
        self.last = None            # the last Scrape
        self.fresh_process = False  # the next scrape is of a new process
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stopping.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:
                    text = resp.read().decode()
            except OSError:         # not listening yet, or stopping
                time.sleep(0.2)
                continue
            problems, scrape = prometheus_check.check(text)
            with self.lock:
                n = len(self.seen) + 1
                self.problems += ["scrape %d (%s): %s" % (n, self.phase, p) for p in problems]
                if self.last:
                    before = self.last
                    if self.fresh_process:
                        before = prometheus_check.Scrape()
                        before.types = self.last.types
                        before.values = {k: v for k, v in self.last.values.items()
                                         if not k[0].startswith("sluice_plugin_")}
                    self.problems += ["scrape %d (%s): %s" % (n, self.phase, p)
                                      for p in prometheus_check.went_down(before, scrape)]
                self.fresh_process = False
                self.last = scrape
                state = [dict(labels)["state"] for (name, labels), v in scrape.values.items()
                         if name == "sluice_pipe_state" and v == 1
                         and dict(labels)["pipe"] == self.pipe]
                self.seen.append((self.phase, state[0] if state else None))
            time.sleep(0.2)

    def enter(self, phase):
        with self.lock:
            self.phase = phase

    def restarted(self):
        with self.lock:
            self.fresh_process = True

    def states(self, phase):
        with self.lock:
            return [st for ph, st in self.seen if ph == phase]

    def wait_seen(self, phase, states, count=1, timeout=SYNC_TIMEOUT):
        """Until `count` scrapes of `phase` showed the pipe in one of
        `states`."""
        deadline = time.time() + timeout
        while sum(st in states for st in self.states(phase)) < count:
            if time.time() > deadline:
                raise Failure("no %d scrape(s) of /metrics in phase %s showed pipe %s %s: %s"
                              % (count, phase, self.pipe, "/".join(states),
                                 self.states(phase)))
            time.sleep(0.2)

    def value(self, name, **labels):
        with self.lock:
            return self.last.values.get((name, tuple(sorted(labels.items())))) if self.last else None

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=30)
        if self.problems:
            raise Failure("/metrics broke Prometheus' rules or a counter went down:\n  %s"
                          % "\n  ".join(self.problems[:20]))


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scenario_metrics(env, src):
    """/metrics while a pipe snapshots (the server made slow, so that scrapes
    see it), streams changes, resyncs and is restarted: every scrape follows
    Prometheus' rules, no counter ever goes down (the rows counter goes on
    through the resync, and through the restart from the store), the plugins'
    metrics carry their own HELP; /health is ok at the end."""
    rng = random.Random(41)
    db = src.db("m")
    load(db.a, range(6000), rng)
    pipe, ch_db = src.prefix, src.prefix
    port = free_port()
    ini = "[service]\nhttp_listen = 127.0.0.1:%d\nprogress = off\n\n" % port + \
        pipe_ini(env, src, pipe, db.name, ["a"], ch_db)
    sl = Sluice(env, "metrics", ini)
    scraper = Scraper(port, pipe)
    try:
        scraper.enter("snapshot")
        src.fault(sluiceFault="latency", ms=150)
        sl.start()
        scraper.wait_seen("snapshot", ["snapshot"])
        src.fault(sluiceFault="latency", ms=0)
        sl.wait_state(pipe, "running")
        scraper.enter("cdc")
        w = Writer(src, db.name, ["a"], 42, 10**5).start(range(6000))
        scraper.wait_seen("cdc", ["running"], count=5)
        w.stop()
        wait_equal(env, mirror(env, db, ch_db, ["a"]))

        scraper.enter("resync")
        src.fault(sluiceFault="latency", ms=150)
        sl.cli("resync", pipe)
        scraper.wait_seen("resync", ["snapshot", "resync"])
        src.fault(sluiceFault="latency", ms=0)
        sl.wait_state(pipe, "running")
        rc, hist = sl.cli("history", pipe)
        if "resync" not in hist:
            raise Failure("no resync in the history:\n" + hist)
        wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the resync")

        scraper.enter("restart")
        sl.stop()
        scraper.restarted()
        sl.start()
        sl.wait_state(pipe, "running")
        w = Writer(src, db.name, ["a"], 43, 2 * 10**5).start(w.known["a"])
        scraper.wait_seen("restart", ["running"], count=5)
        w.stop()
        wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the restart")
        scraper.wait_seen("restart", ["running"], count=10)
        rows = scraper.value("sluice_table_rows_total", pipe=pipe, table="a")
        if rows is None or rows < 12000:
            raise Failure("sluice_table_rows_total of a is %r after two snapshots of "
                          "6000 rows" % rows)
        with urllib.request.urlopen(scraper.url.replace("metrics", "health"), timeout=10) as r:
            health = json.loads(r.read().decode())
        if health["status"] != "ok" or health["pipes"][pipe]["status"] != "ok":
            raise Failure("/health at the end: %s" % health)
        with urllib.request.urlopen(scraper.url, timeout=10) as r:
            text = r.read().decode()
        for want in ["# HELP sluice_plugin_sink_clickhouse_rows_written_total Rows streamed",
                     "# TYPE sluice_plugin_sink_clickhouse_insert_requests_total counter",
                     "# HELP sluice_pipe_backlog_records ",
                     'sluice_build_info{version="']:
            if want not in text:
                raise Failure("/metrics lacks %r" % want)
        log("%d scrapes: %s" % (len(scraper.seen), ", ".join(
            "%s %d" % (ph, len(scraper.states(ph))) for ph in ("snapshot", "cdc", "resync", "restart"))))
    finally:
        src.fault(sluiceFault="latency", ms=0)
        scraper.stop()
    sl.stop()


def scenario_tables(env, src):
    """tables add loads the new table while the others go on; tables
    remove stops a table, keeping its destination or dropping it; a table
    removed and added again ends equal to its collection."""
    rng = random.Random(41)
    db = src.db("t")
    for c in ("a", "b", "c", "d"):
        load(db[c], range(800), rng)
    pipe, ch_db = src.prefix, src.prefix
    sl = Sluice(env, "tables", pipe_ini(env, src, pipe, db.name, ["a", "b", "d"], ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    w = Writer(src, db.name, ["a", "b", "c", "d"], 42, 10**5, pause=0.005).start(range(800))
    try:
        time.sleep(1)
        w.hold()    # caught up: equal once the writes stop a moment
        wait_equal(env, mirror(env, db, ch_db, ["a"]))
        w.release()
        if "c" in ch_tables(env, ch_db):
            raise Failure("table c exists before it was added")
        sl.cli("tables", "add", pipe, "c", "--wait", "--timeout", "60s")
        time.sleep(1)
    finally:
        w.stop()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b", "c", "d"]), what="after tables add")
    sl.cli("tables", "remove", pipe, "b", "--drop-destination", "--wait", "--timeout", "60s")
    sl.cli("tables", "remove", pipe, "d", "--wait", "--timeout", "60s")
    sl.wait_state(pipe, "running")
    if "b" in ch_tables(env, ch_db):
        raise Failure("table b still in ClickHouse after remove --drop-destination")
    if "d" not in ch_tables(env, ch_db):
        raise Failure("table d dropped by a remove without --drop-destination")
    kept = {k: v[1] for k, v in ch_content(env, ch_db, "d")[0].items()}
    w = Writer(src, db.name, ["a", "c", "d"], 43, 2 * 10**5).start(range(800))
    time.sleep(1.5)
    w.stop()
    wait_equal(env, mirror(env, db, ch_db, ["a", "c"]), what="after tables remove")
    time.sleep(2)
    now = {k: v[1] for k, v in ch_content(env, ch_db, "d")[0].items()}
    if now != kept:
        raise Failure("removed table d still receives changes")
    if "b" in ch_tables(env, ch_db):
        raise Failure("table b came back after it was removed")
    # d added again: its kept destination becomes what d is now (the
    # deletes made while it was out of the pipe too)
    sl.cli("tables", "add", pipe, "d", "--wait", "--timeout", "60s")
    wait_equal(env, mirror(env, db, ch_db, ["a", "c", "d"]), what="after d added again")
    sl.stop()


def wait_table(sl, pipe, table, check, what):
    """Until check(the table's row of `sluice status --json`) holds."""
    deadline = time.time() + STATE_TIMEOUT
    while True:
        sl.check_alive()
        row = ([t for t in sl.status(pipe).get("tables", []) if t["name"] == table]
               or [{}])[0]
        if check(row):
            return
        if time.time() > deadline:
            raise Failure("pipe %s table %s not %s after %ds: %s"
                          % (pipe, table, what, STATE_TIMEOUT, row))
        time.sleep(0.1)


def make_anew(sl, pipe, db, ids, rng):
    """Collection a dropped (its table stops, its destination kept as it
    was) and made again with documents of other content under `ids`."""
    db.a.drop()
    wait_table(sl, pipe, "a", lambda t: t.get("status") == "stopped", "stopped")
    load(db.a, ids, rng)


def scenario_add_again(env, src):
    """A table stopped because its collection was dropped; the collection
    made anew, with some of the old _ids (other content) and new ones,
    while writes to it go on; then `tables add`: the destination equals
    the new collection exactly (no row of the old one is left, as after a
    resync), the pipe's other table goes on untouched, and `sluice
    history` shows the add. Once more with sluice killed (SIGKILL) during
    the add's snapshot and started again."""
    db, pipe, sl = started_pipe(env, src, "add_again", 101, range(2000), ("a", "b"))
    ch_db, rng = pipe, random.Random(102)
    wb = Writer(src, db.name, ["b"], 102, 10**5).start(range(2000))
    try:
        make_anew(sl, pipe, db, range(1500, 3000), rng)
        wa = Writer(src, db.name, ["a"], 103, 10**6).start(range(1500, 3000))
        try:
            sl.cli("tables", "add", pipe, "a", "--wait", "--timeout", "60s")
            time.sleep(1)
        finally:
            wa.stop()
        wb.hold()
        wait_equal(env, mirror(env, db, ch_db, ["a", "b"]), what="after tables add")
        wb.release()

        # killed during the add's snapshot (made slow to be seen)
        make_anew(sl, pipe, db, range(2500, 6500), rng)
        wa = Writer(src, db.name, ["a"], 104, 2 * 10**6).start(range(2500, 6500))
        try:
            src.fault(sluiceFault="latency", ms=300)
            sl.cli("tables", "add", pipe, "a")
            sl.wait_state(pipe, "snapshot")
            wait_table(sl, pipe, "a", lambda t: (t.get("rows") or 0) >= 400,
                       "loading in the add's snapshot")
            sl.kill9()
            if since_add(sl, pipe)[-1]["to"] != "snapshot":
                raise Failure("the add's snapshot had ended before the kill: %s"
                              % since_add(sl, pipe))
            src.fault(sluiceFault="latency", ms=0)
            sl.start()
            sl.wait_worker(pipe)
            sl.wait_state(pipe, "running")
            time.sleep(1)
        finally:
            src.fault(sluiceFault="latency", ms=0)
            wa.stop()
    finally:
        wb.stop()
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]), what="after the restarted add")
    if ch_tables(env, ch_db) != ["a", "b"]:
        raise Failure("tables after the adds: %s (want a, b)" % ch_tables(env, ch_db))
    hist = sl.cli("history", pipe)[1]
    if hist.count("tables add requested") != 2:
        raise Failure("the history does not show the two adds:\n" + hist)
    if [t["to"] for t in since_add(sl, pipe)] != ["setup", "snapshot", "running"]:
        raise Failure("the transitions of the second add: %s" % since_add(sl, pipe))
    sl.stop()


def since_add(sl, pipe):
    """The pipe's transitions from its last `tables add` on."""
    t = json.loads(sl.cli("history", pipe, "--json")[1])["transitions"]
    adds = [i for i, x in enumerate(t) if "tables add requested" in (x["reason"] or "")]
    return t[adds[-1]:] if adds else []


def scenario_add_restart(env, src):
    """A restart in the middle of an add's swaps: collections a and b
    dropped and made anew, both added again; a swapped in, b's swap
    refused by the store (a trigger raising SQLSTATE 40001 while the swap
    is recorded), sluice killed; restarted, it swaps b and leaves a as it
    is (a's shadow begun again would be empty, and swapped in). c, never
    added, is untouched. Needs a PostgreSQL store, for the trigger."""
    if env.store.startswith("sqlite:"):
        raise Skip("needs a PostgreSQL store (a trigger that raises a "
                   "transient error)")
    db, pipe, sl = started_pipe(env, src, "add_restart", 111, range(400), ("a", "b", "c"))
    ch_db, rng = pipe, random.Random(112)
    for c in ("a", "b"):
        db[c].drop()
        wait_table(sl, pipe, c, lambda t: t.get("status") == "stopped", "stopped")
        load(db[c], range(200, 700), rng)
    kill_while_swap_refused(env, sl, pipe, ch_db, "b", ["tables", "add", pipe, "a", "b"])
    db.a.insert_one({"_id": -1, "after": "restart"})
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b", "c"]), what="after the restart")
    if ch_tables(env, ch_db) != ["a", "b", "c"]:
        raise Failure("tables after the add: %s (want a, b, c)" % ch_tables(env, ch_db))
    sl.stop()


def scenario_modes(env, src):
    """A cdc-only pipe copies only what changes after it starts; a
    snapshot-only pipe loads once, completes and copies no change; its
    resync loads it again."""
    rng = random.Random(51)
    db = src.db("m")
    load(db.c, range(1000), rng)
    load(db.s, range(1000), rng)
    cdc, snap = src.prefix + "_cdc", src.prefix + "_snap"
    sl = Sluice(env, "modes",
                pipe_ini(env, src, cdc, db.name, ["c"], cdc, mode="cdc") +
                pipe_ini(env, src, snap, db.name, ["s"], snap, mode="snapshot"))
    sl.start()
    sl.wait_state(cdc, "running")
    sl.wait_state(snap, "completed")
    loaded = read_source(db.s)
    wait_equal(env, lambda: [(loaded, snap, "s")], what="snapshot-only")
    # cdc-only: exactly the keys changed from now on, as the source has them
    touched = set()
    db.c.insert_many([{"_id": 5000 + i, "new": i} for i in range(50)])
    touched |= {5000 + i for i in range(50)}
    for i in range(0, 100, 3):
        db.c.update_one({"_id": i}, {"$set": {"changed": True}})
        touched.add(i)
    for i in range(100, 130):
        db.c.delete_one({"_id": i})
        touched.add(i)
    db.c.delete_many({"_id": {"$in": [5000, 5001]}})
    w = Writer(src, db.name, ["c", "s"], 52, 10**5).start(range(130, 1000))
    time.sleep(2)
    w.stop()
    touched = {key_of(i) for i in touched | w.touched["c"]}

    def cdc_pairs():
        changed = {k: d for k, d in read_source(db.c).items() if k in touched}
        return [(changed, cdc, "c")]

    wait_equal(env, cdc_pairs, what="cdc-only")
    # snapshot-only: the writes to s after completion never arrive
    time.sleep(2)
    wait_equal(env, lambda: [(loaded, snap, "s")], timeout=0, what="snapshot-only after writes")
    if sl.state(snap) != "completed":
        raise Failure("snapshot-only pipe is %s, not completed" % sl.state(snap))
    # a resync of a completed pipe loads the source as it is now, deletes
    # included, and completes again
    db.s.delete_many({"_id": {"$in": list(range(0, 1000, 10))}})
    sl.cli("resync", snap, "--wait", "--timeout", "60s")
    sl.wait_state(snap, "completed")
    wait_equal(env, mirror(env, db, snap, ["s"]), what="snapshot-only after a resync")
    sl.stop()


def scenario_oplog_truncated(env, src):
    """The change history lost while sluice was stopped: the pipe fails,
    saying so; a resync brings the exact content back."""
    if not src.is_test_server():
        raise Skip("needs {sluiceFault: 'truncateOplog'}, which only mongo_test_server has "
                   "(SLUICE_TEST_MONGO_URI is set)")
    db, pipe, sl = started_pipe(env, src, "oplog_truncated", 61, range(1500))
    ch_db = pipe
    sl.stop()
    w = Writer(src, db.name, ["a"], 62, 10**5, pause=0).start(range(1500))
    time.sleep(0.5)
    w.stop()
    src.fault(sluiceFault="truncateOplog")
    # the source goes on changing (and a real oplog always holds its newest
    # entry; the test server counts a start at the very time of the
    # truncation as lost, which a write after it rules out)
    db.a.insert_one({"_id": -1, "after": "truncation"})
    db.a.delete_one({"_id": 3})
    sl.start()
    st = sl.wait_state(pipe, "failed")
    reason = (st.get("last_error") or "") + sl.cli("history", pipe)[1]
    if "resync" not in reason.lower():
        raise Failure("the failure does not say to resync: %s" % reason)
    sl.cli("resync", pipe, "--wait", "--timeout", "60s")
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the resync")
    sl.stop()


def scenario_shared_sink(env, src):
    """Two pipes whose sinks have the same options share one sink instance.
    The destination of one breaks (a column of the wrong type) while both
    stream changes: that pipe fails, saying why; the other goes on, its
    copy exact. (The failure that would reach the other pipe without the
    instance held from a write to its flush needs a narrow interleaving:
    this checks the outcome, it does not force that race.)"""
    rng = random.Random(71)
    db = src.db("s")
    load(db.good, range(800), rng)
    load(db.bad, range(800), rng)
    ch_db = src.prefix
    good, bad = ch_db + "_good", ch_db + "_bad"
    sl = Sluice(env, "shared_sink",
                pipe_ini(env, src, good, db.name, ["good"], ch_db) +
                pipe_ini(env, src, bad, db.name, ["bad"], ch_db))
    sl.start()
    sl.wait_state(good, "running")
    sl.wait_state(bad, "running")
    wait_equal(env, mirror(env, db, ch_db, ["good", "bad"]))
    ch_query(env, "ALTER TABLE %s.bad MODIFY COLUMN _is_deleted Date" % ch_db)
    w = Writer(src, db.name, ["good", "bad"], 72, 10**5, pause=0.005).start(range(800))
    try:
        st = sl.wait_state(bad, "failed")
        if "INSERT INTO `%s`.`bad`" % ch_db not in (st.get("last_error") or ""):
            raise Failure("pipe %s failed without naming its insert: %s"
                          % (bad, st.get("last_error")))
        time.sleep(2)
    finally:
        w.stop()
    wait_equal(env, mirror(env, db, ch_db, ["good"]), what="the other pipe's copy")
    if sl.state(good) != "running":
        raise Failure("pipe %s is %s: the other pipe's failure reached it"
                      % (good, sl.state(good)))
    sl.stop()


def scenario_bad_table(env, src):
    """A collection whose name ClickHouse refuses (60 x "ü": 18.x answers
    code 1000, "Bad path syntax"): that table fails on its own, saying
    why; the other loads and streams, the pipe pauses and resumes, and
    `tables remove` of the failed table is done at once."""
    rng = random.Random(81)
    db = src.db("b")
    bad = "\u00fc" * 60
    load(db.a, range(500), rng)
    load(db[bad], range(20), rng)
    pipe = ch_db = src.prefix
    sl = Sluice(env, "bad_table", pipe_ini(env, src, pipe, db.name, ["a", bad], ch_db))
    sl.start()
    st = sl.wait_state(pipe, "running")
    if bad in ch_tables(env, ch_db):
        raise Skip("this ClickHouse server accepts the name")
    tables = {t["name"]: t for t in st["tables"]}
    if tables[bad]["status"] != "failed" or "Bad path syntax" not in (tables[bad]["note"] or ""):
        raise Failure("the refused table is %s: %s" % (tables[bad]["status"], tables[bad]["note"]))
    if tables["a"]["status"] != "active":
        raise Failure("table a is %s" % tables["a"]["status"])
    w = Writer(src, db.name, ["a"], 82, 10**5).start(range(500))
    time.sleep(1.5)
    w.stop()
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="the table that did not fail")
    sl.cli("pause", pipe, "--wait", "--timeout", "30s")
    sl.cli("resume", pipe, "--wait", "--timeout", "30s")
    sl.cli("tables", "remove", pipe, bad)
    if bad in [t["name"] for t in sl.status(pipe)["tables"]]:
        raise Failure("the failed table is still in the pipe after tables remove")
    db.a.insert_one({"_id": -5, "after": "remove"})
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the removal")
    sl.stop()


def table_status(sl, pipe, table):
    """(status, note) of a pipe's table."""
    for t in sl.status(pipe).get("tables", []):
        if t["name"] == table:
            return t["status"], t.get("note") or ""
    return None, ""


def expect_failed(sl, pipe, table, words):
    status, note = table_status(sl, pipe, table)
    if status != "failed" or words not in note:
        raise Failure("pipe %s table %s is %s (%s); want failed with %r"
                      % (pipe, table, status, note, words))


def scenario_owners(env, src):
    """One owner per destination table. shop.orders and shop2.orders into one
    ClickHouse database: a second pipe of the same store fails that table,
    naming the first pipe; a deployment with a store of its own fails it,
    naming the first pipe's store (the owner recorded in the database);
    both go on with their other tables, and the owner's copy stays exact
    through a resync. A table that exists but was not created by sluice
    is refused, and taken with adopt = true."""
    rng = random.Random(91)
    shop, shop2 = src.db("shop"), src.db("shop2")
    load(shop.orders, range(300), rng)
    load(shop.legacy, range(40), rng)
    load(shop2.orders, range(1000, 1200), rng)
    load(shop2.items, range(50), rng)
    ch_db = src.prefix
    pa, pb, pc = ch_db + "_a", ch_db + "_b", ch_db + "_c"
    ch_query(env, "CREATE DATABASE `%s`" % ch_db)
    ch_query(env, "CREATE TABLE `%s`.legacy (_id String, doc String, _version UInt64, "
                  "_is_deleted UInt8, _synced_at DateTime) ENGINE = "
                  "ReplacingMergeTree(_version) ORDER BY _id" % ch_db)
    ch_query(env, "INSERT INTO `%s`.legacy (_id, doc, _version) VALUES ('x', '{}', 1)" % ch_db)
    a_ini = pipe_ini(env, src, pa, shop.name, ["orders", "legacy"], ch_db)
    a = Sluice(env, "owners_a", a_ini)
    b = Sluice(env, "owners_b", pipe_ini(env, src, pb, shop2.name, ["orders", "items"], ch_db))
    other = "sqlite:" + os.path.join(env.tmp, "owners_other.db")
    c = Sluice(env, "owners_c", pipe_ini(env, src, pc, shop2.name, ["orders"], ch_db),
               store=other)
    a.start()
    a.wait_state(pa, "running")
    expect_failed(a, pa, "legacy", "exists and was not created by sluice for pipe")
    if ch_rows(env, ch_db, "legacy") != [("x", "{}")]:
        raise Failure("the table sluice did not create was written")
    wait_equal(env, mirror(env, shop, ch_db, ["orders"]))
    b.start()
    b.wait_state(pb, "running")
    expect_failed(b, pb, "orders", "belongs to pipe '%s', table 'orders' of this store" % pa)
    wait_equal(env, lambda: [(read_source(shop2.items), ch_db, "items"),
                             (read_source(shop.orders), ch_db, "orders")])
    c.start()
    c.wait_state(pc, "running")
    expect_failed(c, pc, "orders", "belongs to pipe '%s' (its table 'orders') of another store" % pa)
    a.cli("resync", pa, "--wait", "--timeout", "60s")
    wait_equal(env, mirror(env, shop, ch_db, ["orders"]), what="the owner after its resync")
    # adopt: settings change while paused; a resync takes the table over
    a.cli("pause", pa, "--wait", "--timeout", "30s")
    a.stop()
    with open(a.ini, "w") as f:
        f.write(pipe_ini(env, src, pa, shop.name, ["orders", "legacy"], ch_db,
                         sink_extra="adopt = true\n"))
    a.start()
    a.wait_worker(pa)   # registered with the new settings while paused
    a.cli("resume", pa, "--wait", "--timeout", "30s")
    a.cli("resync", pa, "--wait", "--timeout", "60s")
    a.wait_state(pa, "running")
    if table_status(a, pa, "legacy")[0] != "active":
        raise Failure("legacy not adopted: %s" % (table_status(a, pa, "legacy"),))
    wait_equal(env, mirror(env, shop, ch_db, ["orders", "legacy"]), what="after adopt")
    for sl in (a, b, c):
        sl.stop()


def store_sql(env, sql):
    """Runs one statement on the scenarios' store (sqlite3 or psql)."""
    if env.store.startswith("sqlite:"):
        import sqlite3
        path = env.store[len("sqlite:"):]
        with sqlite3.connect(path) as db:
            db.execute(sql)
    else:
        subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", env.store, "-c", sql],
                       check=True, stdout=subprocess.DEVNULL)


def scenario_upgrade(env, src):
    """A pipe set up by a sluice from before owners were recorded (the
    store migrated to schema 4 marks its tables; the destination database
    has no owners): restarted, it takes its tables as its own without a
    word; a table that is not marked so is refused."""
    rng = random.Random(95)
    db = src.db("u")
    load(db.a, range(200), rng)
    load(db.b, range(100), rng)
    pipe = ch_db = src.prefix
    sl = Sluice(env, "upgrade", pipe_ini(env, src, pipe, db.name, ["a", "b"], ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]))
    sl.stop()
    # as an older sluice left them: no owners in ClickHouse nor in the store
    ch_query(env, "DROP TABLE `%s`._sluice_owners" % ch_db)
    store_sql(env, "UPDATE pipe_tables SET destination = NULL, set_up_before_owners = "
                   "CASE WHEN name = 'a' THEN 1 ELSE 0 END WHERE pipe = '%s'" % pipe)
    db.a.insert_one({"_id": -1, "after": "upgrade"})
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the upgrade")
    if table_status(sl, pipe, "a")[0] != "active":
        raise Failure("table a after the upgrade: %s" % (table_status(sl, pipe, "a"),))
    deadline = time.time() + STATE_TIMEOUT
    while table_status(sl, pipe, "b")[0] != "failed" and time.time() < deadline:
        time.sleep(0.2)
    expect_failed(sl, pipe, "b", "exists and was not created by sluice")
    owners = ch_query(env, "SELECT name, pipe FROM `%s`._sluice_owners FINAL "
                           "FORMAT TabSeparated" % ch_db)
    if owners.split() != ["a", pipe]:
        raise Failure("owners after the upgrade: %r" % owners)
    sl.stop()


def scenario_forms(env, src):
    """A table is written in one form. Set up with id_format = extended, it
    fails alone once the pipe writes natural keys (its rows would mix the
    two) until a resync rewrites it; a table set up before forms were
    recorded is taken as written in the form no option names, so it too
    waits for a resync."""
    rng = random.Random(41)
    db = src.db("f")
    load(db.a, [ObjectId() for _ in range(100)], rng)
    load(db.b, range(50), rng)
    pipe = ch_db = src.prefix

    def ini(id_format):
        return pipe_ini(env, src, pipe, db.name, ["a", "b"], ch_db,
                        source_extra="id_format = %s" % id_format)

    def keys(table):
        return [k for k, _ in ch_rows(env, ch_db, table)]

    sl = Sluice(env, "forms", ini("extended"))
    sl.start()
    sl.wait_state(pipe, "running")
    deadline = time.time() + SYNC_TIMEOUT
    while len(keys("a")) < 100 and time.time() < deadline:
        time.sleep(0.2)
    if not all(k.startswith('{"$oid":"') for k in keys("a")):
        raise Failure("extended keys: %s" % keys("a")[:3])
    sl.cli("pause", pipe, "--wait")
    sl.stop()
    sl = Sluice(env, "forms", ini("natural"))
    sl.start()
    sl.wait_worker(pipe)  # registered, paused: the new settings taken
    sl.cli("resume", pipe, "--wait")
    deadline = time.time() + STATE_TIMEOUT
    while table_status(sl, pipe, "a")[0] != "failed" and time.time() < deadline:
        time.sleep(0.2)
    expect_failed(sl, pipe, "a", "is written in another form "
                  "(source.id_format = extended, source.doc_format = clickpipes, "
                  "sink.column_names = sluice, sink.keep_doc = true) than the "
                  "pipe writes now (source.id_format = natural, source.doc_format "
                  "= clickpipes, sink.column_names = sluice, sink.keep_doc = true)")
    expect_failed(sl, pipe, "b", "resync the pipe")
    if not all(k.startswith('{"$oid":"') for k in keys("a")):
        raise Failure("a table written in two forms: %s" % keys("a")[:3])
    sl.cli("resync", pipe, "--wait")
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]), what="after the resync")
    if table_status(sl, pipe, "a")[0] != "active":
        raise Failure("table a after the resync: %s" % (table_status(sl, pipe, "a"),))
    # as an older sluice left it: a table set up before forms were recorded
    sl.stop()
    store_sql(env, "UPDATE pipe_tables SET form = 'before forms were recorded' "
                   "WHERE pipe = '%s' AND name = 'b'" % pipe)
    sl.start()
    deadline = time.time() + STATE_TIMEOUT
    while table_status(sl, pipe, "b")[0] != "failed" and time.time() < deadline:
        time.sleep(0.2)
    expect_failed(sl, pipe, "b", "is written in another form (the form of the "
                  "sluice that set it up, before forms were recorded)")
    if table_status(sl, pipe, "a")[0] != "active":
        raise Failure("table a beside b: %s" % (table_status(sl, pipe, "a"),))
    sl.stop()


def kill_while_swap_refused(env, sl, pipe, ch_db, table, request):
    """Makes the request (`sluice REQUEST...`, one that ends in swaps) with
    the store refusing to record the swap of `table` (a trigger raising
    SQLSTATE 40001, a transient error: sluice retries it); once it was
    refused, and that shadow is the only one left, kills sluice run.
    Needs a PostgreSQL store."""
    store_sql(env, """
        CREATE FUNCTION refuse_swap() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.pipe = '%s' AND NEW.name = '%s' AND NEW.swapping <> 0 THEN
            RAISE EXCEPTION 'swap refused by the test' USING ERRCODE = '40001';
          END IF;
          RETURN NEW;
        END $$;
        CREATE TRIGGER refuse_swap BEFORE UPDATE ON pipe_tables
          FOR EACH ROW EXECUTE FUNCTION refuse_swap();""" % (pipe, table))
    try:
        sl.cli(*request)
        deadline = time.time() + STATE_TIMEOUT
        while "swap refused by the test" not in open(sl.log).read():
            sl.check_alive()
            if time.time() > deadline:
                raise Failure("the store never refused %s's swap" % table)
            time.sleep(0.2)
        shadows = [t for t in ch_tables(env, ch_db) if t.startswith("_sluice_resync_")]
        if shadows != ["_sluice_resync_" + table]:
            raise Failure("shadows while %s's swap is refused: %s (want its alone)"
                          % (table, shadows))
        sl.kill9()
    finally:
        store_sql(env, "DROP TRIGGER refuse_swap ON pipe_tables; "
                       "DROP FUNCTION refuse_swap()")


def scenario_resync_restart(env, src):
    """A restart in the middle of a resync's swaps: table a swapped, b's
    swap refused by the store (a trigger raising SQLSTATE 40001 while the
    swap is recorded), sluice killed; restarted, it swaps b and leaves a as
    it is (a's resync begun again would be an empty shadow swapped in).
    Needs a PostgreSQL store, for the trigger."""
    if env.store.startswith("sqlite:"):
        raise Skip("needs a PostgreSQL store (a trigger that raises a "
                   "transient error)")
    rng = random.Random(61)
    db = src.db("x")
    load(db.a, range(300), rng)
    load(db.b, range(200), rng)
    pipe = ch_db = src.prefix
    sl = Sluice(env, "resync_restart", pipe_ini(env, src, pipe, db.name, ["a", "b"], ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]))
    kill_while_swap_refused(env, sl, pipe, ch_db, "b", ["resync", pipe])
    db.a.insert_one({"_id": -1, "after": "restart"})
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a", "b"]), what="after the restart")
    if ch_tables(env, ch_db) != ["a", "b"]:
        raise Failure("tables after the resync: %s (want a, b)" % ch_tables(env, ch_db))
    sl.stop()


DOCS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs")


def documented_queries(section):
    """[(server, sql, expected lines)] of a section of docs/clickhouse.md:
    each ```sql block whose first line says "-- ClickHouse VERSION", with
    the ```text block after it; lines compared with their runs of white
    space (a tab between columns, two spaces in the docs) as one space."""
    with open(os.path.join(DOCS, "clickhouse.md")) as f:
        text = f.read()
    start = text.index("\n## %s\n" % section)
    end = text.find("\n## ", start + 1)
    text = text[start:end if end >= 0 else len(text)]
    found = []
    for m in re.finditer(r"```sql\n-- ClickHouse ([^\n]+)\n(.*?)```\s*```text\n(.*?)```",
                         text, re.S):
        expected = [" ".join(line.split()) for line in m.group(3).splitlines()]
        found.append((m.group(1), m.group(2).strip(), expected))
    return found


def scenario_documented_queries(env, src):
    """The queries docs/clickhouse.md shows under Querying, on the
    documents it shows, answer what it shows: those for 18.16 on the
    tests' server, those for 25.3+ on SLUICE_TEST_CLICKHOUSE_URL when
    given one (skipped, saying so, when not)."""
    db = src.db("q")
    db.orders.insert_many([
        {"_id": ObjectId("65a1b2c3d4e5f60718293a4b"), "status": "paid", "total": 12.5,
         "customer": {"id": "c1", "name": "alice"}, "items": ["a", "b"],
         "created_at": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000)},
        {"_id": "new-150", "status": "open", "total": 40,
         "customer": {"id": "c2", "name": "bob"}},
        {"_id": 42, "status": "paid", "total": 7.25, "customer": {"name": "carol"}}])
    queries = documented_queries("Querying")
    if len([q for q in queries if q[0] == "18.16"]) < 5:
        raise Failure("docs/clickhouse.md shows %d queries for 18.16" % len(queries))
    servers = [("18.16", env.ch_url)]
    newer = os.environ.get("SLUICE_TEST_CLICKHOUSE_URL")
    if newer:
        servers.append(("25.3+", newer))
    else:
        log("the queries for ClickHouse 25.3+ are not run: no SLUICE_TEST_CLICKHOUSE_URL")
    for version, url in servers:
        pipe = ch_db = "%s_%s" % (src.prefix, version.replace(".", "").replace("+", ""))
        ini = pipe_ini(env, src, pipe, db.name, ["orders"], ch_db).replace(
            "url = %s" % env.ch_url, "url = %s" % url)
        sl = Sluice(env, "documented_queries_" + version, ini)
        sl.start()
        sl.wait_state(pipe, "running")
        target = Env.__new__(Env)
        target.ch_url = url
        wait_equal(target, mirror(target, db, ch_db, ["orders"]))
        if db.orders.delete_one({"_id": 42}).deleted_count:  # a delete, as CDC
            wait_equal(target, mirror(target, db, ch_db, ["orders"]))
        for server, sql, expected in queries:
            if server != version:
                continue
            answer = ch_query(target, sql.replace("shop.", "`%s`." % ch_db) +
                              " FORMAT TabSeparated")
            got = [" ".join(line.replace(ch_db, "shop").split())
                   for line in answer.rstrip("\n").split("\n")]
            if got != expected:
                raise Failure("docs/clickhouse.md: %s\nanswered %s\nthe docs show %s"
                              % (sql, got, expected))
        sl.stop()
        ch_query(target, "DROP DATABASE IF EXISTS `%s`" % ch_db)


def scenario_typed_columns(env, src):
    """PyMongo writes documents with fields of many BSON types; sluice run
    projects them into typed columns; ClickHouse 18.16 reads each column's
    value, a missing field as the default or NULL, and a value that does
    not convert as the default with the field kept in _malformed."""
    db = src.db("t")
    oid = ObjectId("65a1b2c3d4e5f60718293a4b")
    db.o.insert_many([
        {"_id": 1, "total": 12.5, "qty": 3, "big": Int64(2**40), "ok": True,
         "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 678000), "ref": oid,
         "dec": Decimal128("1.50"), "tags": ["a", "b"], "c": {"id": "c1"}},
        {"_id": 2, "total": "12,50", "qty": Int64(-7), "ok": False, "tags": []},
        {"_id": 3}])
    columns = ",\n    ".join([  # one item a line: a line holds 199 bytes
        "o.total = total Float64", "o.qty = qty Int64", "o.big = big Nullable(Int64)",
        "o.ok = ok UInt8", "o.at = at DateTime", "o.ref = ref String",
        "o.dec = dec String", "o.tags = tags Array(String)",
        "o.customer = c.id Nullable(String)"])
    pipe = ch_db = src.prefix
    sl = Sluice(env, "typed_columns", pipe_ini(env, src, pipe, db.name, ["o"], ch_db,
                                               sink_extra="columns = " + columns))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["o"]))
    rows = ch_query(env, "SELECT _id, total, qty, big, ok, toUnixTimestamp(at), ref, dec, tags, "
                         "customer, _malformed FROM `%s`.o FINAL WHERE _is_deleted = 0 "
                         "ORDER BY _id FORMAT JSONCompact" % ch_db)
    got = json.loads(rows)["data"]
    want = [
        ['{"$numberInt":"1"}', 12.5, "3", "1099511627776", 1, 1704164645,
         "65a1b2c3d4e5f60718293a4b", "1.50", ["a", "b"], "c1", ""],
        ['{"$numberInt":"2"}', 0, "-7", None, 0, 0, "", "", [],
         None, '{"total":"12,50"}'],
        ['{"$numberInt":"3"}', 0, "0", None, 0, 0, "", "", [],
         None, ""]]
    if got != want:
        raise Failure("typed columns:\n got  %s\n want %s" % (got, want))
    sl.stop()


def scenario_resync_names(env, src):
    """Collections orders, orders_resync and orders_resync_old in one pipe: a
    resync writes no collection's rows into another and drops none of
    them."""
    rng = random.Random(97)
    db = src.db("n")
    colls = ["orders", "orders_resync", "orders_resync_old"]
    for i, c in enumerate(colls):
        load(db[c], range(i * 1000, i * 1000 + 300), rng)
    pipe = ch_db = src.prefix
    sl = Sluice(env, "resync_names", pipe_ini(env, src, pipe, db.name, colls, ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, colls))
    sl.cli("resync", pipe, "--wait", "--timeout", "60s")
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, colls), what="after the resync")
    if ch_tables(env, ch_db) != colls:
        raise Failure("tables after the resync: %s" % ch_tables(env, ch_db))
    sl.stop()

def scenario_resync_leftover(env, src):
    """A shadow left by a load cut short (a resync whose pipe then failed,
    say) holds rows the source no longer has: a new resync starts from an
    empty shadow, not from that one."""
    db, pipe, sl = started_pipe(env, src, "resync_leftover", 98, range(500))
    ch_db = pipe
    shadow = "`%s`.`_sluice_resync_a`" % ch_db
    ch_query(env, "CREATE TABLE %s AS `%s`.a" % (shadow, ch_db))
    ch_query(env, "INSERT INTO %s SELECT * FROM `%s`.a FINAL WHERE _id IN "
                  "('{\"$numberInt\":\"1\"}', '{\"$numberInt\":\"2\"}')" % (shadow, ch_db))
    db.a.delete_many({"_id": {"$in": [1, 2]}})
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the deletes")
    sl.cli("resync", pipe, "--wait", "--timeout", "60s")
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the resync")
    sl.stop()


def scenario_column_names(env, src):
    """A pipe's sink changed to column_names = clickpipes: its table, made
    with sluice's names, fails, saying to resync; the resync rebuilds it
    with ClickPipes' names, deleted rows carried across, and it streams
    on."""
    rng = random.Random(99)
    db = src.db("c")
    load(db.a, range(600), rng)
    pipe = ch_db = src.prefix
    sl = Sluice(env, "column_names", pipe_ini(env, src, pipe, db.name, ["a"], ch_db))
    sl.start()
    sl.wait_state(pipe, "running")
    db.a.delete_many({"_id": {"$in": list(range(0, 600, 10))}})
    wait_equal(env, mirror(env, db, ch_db, ["a"]))
    gone = len(ch_rows(env, ch_db, "a", deleted=True))
    sl.cli("pause", pipe, "--wait", "--timeout", "30s")
    sl.stop()
    with open(sl.ini, "w") as f:
        f.write(pipe_ini(env, src, pipe, db.name, ["a"], ch_db,
                         sink_extra="column_names = clickpipes\n"))
    sl.start()
    sl.wait_worker(pipe)
    sl.cli("resume", pipe, "--wait", "--timeout", "30s")
    deadline = time.time() + STATE_TIMEOUT
    while table_status(sl, pipe, "a")[0] != "failed" and time.time() < deadline:
        time.sleep(0.2)
    expect_failed(sl, pipe, "a", "sink.column_names = sluice, sink.keep_doc = true) "
                                 "than the pipe writes now (source.id_format = "
                                 "natural, source.doc_format = clickpipes, "
                                 "sink.column_names = clickpipes, sink.keep_doc = true)")
    expect_failed(sl, pipe, "a", "resync the pipe")
    sl.cli("resync", pipe, "--wait", "--timeout", "60s")
    sl.wait_state(pipe, "running")
    if table_status(sl, pipe, "a")[0] != "active":
        raise Failure("table a after the resync: %s" % (table_status(sl, pipe, "a"),))
    columns = ch_query(env, "SELECT name FROM system.columns WHERE database = '%s' "
                            "AND table = 'a' FORMAT TabSeparated" % ch_db).split()
    want = ["_id", "doc", "_peerdb_synced_at", "_peerdb_is_deleted", "_peerdb_version"]
    if columns != want:
        raise Failure("columns after the resync: %s (want %s)" % (columns, want))
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="after the resync")
    carried = len(ch_rows(env, ch_db, "a", deleted=True))
    if carried != gone:
        raise Failure("%d deleted rows after the resync, %d before" % (carried, gone))
    db.a.insert_one({"_id": -1, "after": "resync"})
    db.a.delete_one({"_id": 1})
    wait_equal(env, mirror(env, db, ch_db, ["a"]), what="streaming after the resync")
    sl.stop()


def raw_doc(*fields):
    """A document as raw BSON, from (name, value) pairs: bytes values are
    strings of those exact bytes (so text that is not UTF-8, which PyMongo
    would not encode), ints are int32. Built here, apart from libbson."""
    body = b""
    for name, value in fields:
        if isinstance(value, bytes):
            body += b"\x02" + name + b"\0" + struct.pack("<i", len(value) + 1) + value + b"\0"
        else:
            body += b"\x10" + name + b"\0" + struct.pack("<i", value)
    return RawBSONDocument(struct.pack("<i", len(body) + 5) + body + b"\0")


def original_bytes(doc, path):
    """The bytes that _sluice_malformed keeps for a path of a document."""
    kept = doc.get("_sluice_malformed", {}).get(path)
    if not kept:
        raise Failure("no _sluice_malformed.%s in %s" % (path, doc))
    return base64.b64decode(kept["Data"])


def scenario_malformed_utf8(env, src):
    """Text that is not valid UTF-8, in a value and in an _id, in the
    snapshot and in changes: every row arrives in ClickHouse with U+FFFD
    in doc and the original bytes beside it; the broken _id has a key of
    its own, apart from the valid _id whose text is the replacement's, and
    its update and delete reach its row; the table is logged once."""
    db = src.db("u")
    broken_id = raw_doc((b"_id", b"id\xff"))
    db.t.insert_one(raw_doc((b"_id", 1), (b"s", b"caf\xe9")))
    db.t.insert_one(raw_doc((b"_id", b"id\xff"), (b"v", 1)))
    db.t.insert_one({"_id": "id\ufffd", "v": 2})
    db.t.insert_one({"_id": 2, "s": "plain"})
    pipe = src.prefix
    sl = Sluice(env, "malformed_utf8", pipe_ini(env, src, pipe, db.name, ["t"], pipe))
    sl.start()
    sl.wait_state(pipe, "running")
    # the key of the broken _id: the BSON of {_id: "id\xff"}, as documented
    tagged = norm_key(json.dumps({"$malformedId": {"$binary": {
        "base64": base64.b64encode(broken_id.raw).decode(), "subType": "00"}}}))
    int_key = lambda i: norm_key(json.dumps({"$numberInt": str(i)}))

    def rows(deleted=False):
        return {norm_key(k): json.loads(d or "null")
                for k, d in ch_rows(env, pipe, "t", deleted)}

    def wait_rows(check, what):
        deadline = time.time() + SYNC_TIMEOUT
        while True:
            sl.check_alive()
            try:
                return check()
            except (Failure, KeyError) as e:
                if time.time() > deadline:
                    raise Failure("%s: %s; rows: %s" % (what, e, rows()))
            time.sleep(0.5)

    def snapshot_rows():
        got = rows()
        if len(got) != 4:
            raise Failure("%d rows, want 4" % len(got))
        return got

    got = wait_rows(snapshot_rows, "after the snapshot")
    one = got[int_key(1)]
    if one["s"] != "caf\ufffd" or original_bytes(one, "s") != b"caf\xe9":
        raise Failure("_id 1: %s" % one)
    bad = got[tagged]
    if bad["_id"] != "id\ufffd" or original_bytes(bad, "_id") != b"id\xff" or bad["v"] != 1:
        raise Failure("the broken _id's row: %s" % bad)
    if got["id\ufffd"]["v"] != 2:
        raise Failure("the valid _id \"id\ufffd\": %s" % got["id\ufffd"])
    # changes: a new broken value, an update and then a delete of the
    # broken _id (its row, not another), an update of the broken value
    db.t.insert_one(raw_doc((b"_id", 3), (b"s", b"\xff\xfeA")))
    db.t.update_one(broken_id, {"$set": {"v": 5}})
    db.t.update_one({"_id": 1}, {"$set": {"n": 7}})

    def changed():
        got = rows()
        three, one, bad = got[int_key(3)], got[int_key(1)], got[tagged]
        if three["s"] != "\ufffd\ufffdA" or original_bytes(three, "s") != b"\xff\xfeA":
            raise Failure("_id 3: %s" % three)
        if one.get("n") != 7 or original_bytes(one, "s") != b"caf\xe9":
            raise Failure("_id 1 after its update: %s" % one)
        if bad["v"] != 5 or len(got) != 5:
            raise Failure("the broken _id after its update: %s" % bad)

    wait_rows(changed, "after the changes")
    db.t.delete_one(broken_id)

    def deleted():
        if tagged in rows() or tagged not in rows(deleted=True):
            raise Failure("the broken _id's row is not deleted")

    wait_rows(deleted, "after the delete")
    sl.stop()
    with open(sl.log) as f:
        warned = [l for l in f if "not valid UTF-8" in l]
    if len(warned) != 1 or "%s.t" % db.name not in warned[0] or '"_id":1' not in warned[0]:
        raise Failure("want one warning naming the table and _id 1: %s" % warned)


SCENARIOS = [
    ("snapshot_cdc", scenario_snapshot_cdc),
    ("id_types", scenario_id_types),
    ("kill", scenario_kill),
    ("pause_resume", scenario_pause_resume),
    ("resync", scenario_resync),
    ("metrics", scenario_metrics),
    ("tables", scenario_tables),
    ("add_again", scenario_add_again),
    ("add_restart", scenario_add_restart),
    ("modes", scenario_modes),
    ("oplog_truncated", scenario_oplog_truncated),
    ("shared_sink", scenario_shared_sink),
    ("bad_table", scenario_bad_table),
    ("owners", scenario_owners),
    ("upgrade", scenario_upgrade),
    ("resync_names", scenario_resync_names),
    ("resync_leftover", scenario_resync_leftover),
    ("resync_restart", scenario_resync_restart),
    ("documented_queries", scenario_documented_queries),
    ("typed_columns", scenario_typed_columns),
    ("forms", scenario_forms),
    ("column_names", scenario_column_names),
    ("malformed_utf8", scenario_malformed_utf8),
]


def log(msg):
    print("    " + msg, flush=True)


def tsan_watch(env, name):
    """Under ThreadSanitizer (TSAN_OPTIONS set, as a SLUICE_TSAN build's
    tests have it), the processes of scenario `name` write their reports
    to files of their own."""
    if env.tsan_options is not None:
        os.environ["TSAN_OPTIONS"] = "%s log_path=%s" % (
            env.tsan_options, os.path.join(env.tmp, name + ".tsan"))


def tsan_reports(env, name):
    """The reports of scenario `name`'s processes, "" when there are none."""
    text = ""
    for f in sorted(os.listdir(env.tmp)):
        if f.startswith(name + ".tsan."):
            with open(os.path.join(env.tmp, f)) as report:
                text += report.read()
    return text


def run_scenario(env, name, fn, cleanup=None):
    """Runs fn(env, src) with a Source of its own, says PASS, SKIP or FAIL
    with the last lines of its logs, and kills what it left running
    (cleanup(src) first, when given); False when it failed."""
    t0 = time.time()
    print("== %s" % name, flush=True)
    tsan_watch(env, name)
    src = Source(env, name)
    ok = True
    try:
        fn(env, src)
        print("PASS %s (%.1fs)" % (name, time.time() - t0), flush=True)
        drop_ch_databases(env, src.prefix)
    except Skip as e:
        print("SKIP %s: %s" % (name, e), flush=True)
    except Exception as e:
        ok = False
        print("FAIL %s (%.1fs): %s" % (name, time.time() - t0, e), flush=True)
        if not isinstance(e, Failure):
            traceback.print_exc()
        for f in sorted(os.listdir(env.tmp)):
            if f.startswith(name) and f.endswith(".log"):
                print("---- %s (last lines)\n%s" % (f, Sluice.tail_of(os.path.join(env.tmp, f))))
    finally:
        if cleanup:
            cleanup(src)
        for p in list(Sluice.running):
            p.kill()
            p.wait()
        Sluice.running.clear()
        src.close()
    reports = tsan_reports(env, name)
    if reports:
        ok = False
        print("FAIL %s: ThreadSanitizer reported:\n%s" % (name, reports), flush=True)
    return ok


def main(scenarios=None, usage=__doc__):
    """Runs the scenarios named on the command line (all when none), of
    `scenarios` (this file's when None)."""
    scenarios = scenarios or SCENARIOS
    if len(sys.argv) < 5:
        print(usage)
        return 2
    env = Env(*sys.argv[1:5])
    only = sys.argv[5:]
    print("store %s; ClickHouse %s; MongoDB %s" %
          (env.store.split("@")[-1], env.ch_url,
           "SLUICE_TEST_MONGO_URI (a real replica set)" if env.real_uri else "mongo_test_server"),
          flush=True)
    failed = [name for name, fn in scenarios
              if (not only or name in only) and not run_scenario(env, name, fn)]
    if failed:
        print("%d scenario(s) failed: %s; logs and configs in %s"
              % (len(failed), ", ".join(failed), env.tmp), flush=True)
    else:
        shutil.rmtree(env.tmp, ignore_errors=True)
        print("all e2e scenarios passed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
