#!/usr/bin/python3
"""apps.py SLUICE MONGO_SERVER CH_DIR STORE_URL [SCENARIO...]: what
source_mongo makes of the changes applications make, written through
PyMongo, end to end into ClickHouse with e2e.py's harness (the same
arguments, SLUICE_TEST_MONGO_URI as there):

- transactions: two changes of one document in one transaction share a
  cluster time, so a _version; the destination must hold the later one
  (ReplacingMergeTree keeps the row inserted last among equal versions),
  also when the transaction is split across batches, when a batch is
  replayed (its insert applied, the reply lost), when sluice is killed
  with a batch applied and not acknowledged, and when a restart resumes
  from a position inside the transaction;
- an insert and a delete of one document in one transaction;
- updateMany over 50,000 documents, and deleteMany by another field;
- nested and array updates of every update operator;
- a document growing past 1 MiB by $push;
- a captured collection dropped and re-created while the pipe runs, a
  renameCollection onto a captured name, dropDatabase: the table stops,
  its destination holds the collection as it was at that change
  (docs/mongo.md), and `tables add` brings the new collection in.

Every check compares the destination (FINAL, without deleted rows) with
the collection, or with what docs/mongo.md says it holds."""
import random
import socket
import sys
import threading
import time
import urllib.parse

import bson

import e2e
from e2e import (Failure, Sluice, ch_query, key_of, log, mirror, pipe_ini, read_source,
                 table_status, wait_equal)


# ---------------------------------------------------------------- a proxy

class InsertProxy:
    """A TCP proxy in front of ClickHouse's HTTP port that loses the reply
    to chosen INSERTs (ClickHouse has applied the insert; the sink hears
    nothing back and sends the batch again) or holds one until released
    (so that sluice can be killed with a batch applied but not
    acknowledged). Everything else passes through."""

    def __init__(self, ch_url):
        parsed = urllib.parse.urlparse(ch_url)
        self.upstream = (parsed.hostname, parsed.port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = "http://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.to_lose = 0        # replies of the next INSERTs to lose
        self.to_hold = False    # hold the reply of the next INSERT
        self.lost = 0
        self.held = threading.Event()       # a reply is held
        self.released = threading.Event()
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    def lose(self, n):
        with self.lock:
            self.to_lose = n
            self.lost = 0

    def hold(self):
        with self.lock:
            self.to_hold = True
            self.held.clear()
            self.released.clear()

    def release(self):
        self.released.set()

    def close(self):
        self.closed = True
        self.released.set()
        self.listener.close()

    def accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client,), daemon=True).start()

    def serve(self, client):
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        fate = []   # what happens to the reply of each INSERT sent on
        threading.Thread(target=self.requests, args=(client, server, fate), daemon=True).start()
        try:
            while True:
                data = server.recv(65536)
                if not data:
                    break
                if fate and fate[0] in ("lose", "hold"):
                    if fate[0] == "hold":
                        self.held.set()
                        self.released.wait()
                    else:
                        with self.lock:
                            self.lost += 1
                    break       # the reply never reaches the sink
                if fate:
                    fate.pop(0)
                client.sendall(data)
        except OSError:
            pass
        for s in (client, server):  # shutdown wakes the other thread's recv
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def requests(self, client, server, fate):
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                if b"INSERT" in data:
                    with self.lock:
                        if self.to_lose > 0:
                            self.to_lose -= 1
                            fate.append("lose")
                        elif self.to_hold:
                            self.to_hold = False
                            fate.append("hold")
                        else:
                            fate.append("pass")
                server.sendall(data)
        except OSError:
            pass


# ---------------------------------------------------------------- helpers

def running_pipe(env, src, name, colls, docs, **ini):
    """Collections filled with docs (a list of documents, each collection
    the same), a pipe of its own, running and equal. Returns (database,
    pipe, Sluice); the pipe is also the ClickHouse database."""
    db = src.db(name)
    for c in colls:
        if docs:
            db[c].insert_many([dict(d) for d in docs])
    pipe = src.prefix
    sl = Sluice(env, name, pipe_ini(env, src, pipe, db.name, list(colls), pipe, **ini))
    sl.start()
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, pipe, colls), what="after the snapshot")
    return db, pipe, sl


def versions_of(env, ch_db, table, _id):
    """The _version of every row of one key, FINAL or not (merges may
    have folded some)."""
    text = ch_query(env, "SELECT _version FROM `%s`.`%s` WHERE _id = '%s' "
                         "FORMAT TabSeparated" % (ch_db, table, key_of(_id).replace("'", "\\'")))
    return [int(v) for v in text.split()]


def in_transaction(client, writes):
    """Runs writes(session) in one transaction, committed."""
    with client.start_session() as s:
        with s.start_transaction():
            writes(s)


def expect_stopped(sl, pipe, table, words, timeout=30):
    deadline = time.time() + timeout
    while True:
        status, note = table_status(sl, pipe, table)
        if status == "stopped" and words in note:
            return note
        if time.time() > deadline:
            raise Failure("table %s is %s (%s); want stopped with %r"
                          % (table, status, note, words))
        time.sleep(0.2)


def stays_equal(env, expected, ch_db, table, seconds=3):
    """The destination equals `expected` now and `seconds` later (a
    stopped table's changes must not arrive)."""
    wait_equal(env, lambda: [(expected, ch_db, table)], what="stopped table %s" % table)
    time.sleep(seconds)
    wait_equal(env, lambda: [(expected, ch_db, table)], timeout=0,
               what="stopped table %s, %ds later" % (table, seconds))


# ---------------------------------------------------------------- scenarios

def scenario_txn_versions(env, src):
    """Changes of one document in one transaction share its cluster time,
    so its _version: the destination holds the last (replace then
    replace; insert then delete; delete then insert), in one batch, split
    across batches of 3, with batches replayed (replies lost), killed
    with a batch applied and unacknowledged, and (test server only)
    killed with the position inside the transaction."""
    proxy = InsertProxy(env.ch_url)
    try:
        txn_versions(env, src, proxy)
    finally:
        proxy.close()


def txn_versions(env, src, proxy):
    docs = [{"_id": i, "step": 0} for i in range(200)]
    db, pipe, sl = running_pipe(env, src, "txn_versions", ["a"], docs, batch=3,
                                source_batch=3, ch_url=proxy.url)
    client = src.client
    a = db.a

    def one_batch(s):
        a.replace_one({"_id": 1}, {"step": 1}, session=s)
        a.replace_one({"_id": 1}, {"step": 2}, session=s)

    in_transaction(client, one_batch)
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="replace, replace")
    versions = versions_of(env, pipe, "a", 1)
    log("key 1: rows of versions %s" % versions)
    if len(versions) >= 3 and versions.count(max(versions)) < 2:  # not merged yet
        raise Failure("the two changes of one transaction have versions %s" % versions)

    def born_and_gone(s):
        a.insert_one({"_id": 1000, "brief": True}, session=s)
        a.delete_one({"_id": 1000}, session=s)
        a.delete_one({"_id": 2}, session=s)
        a.insert_one({"_id": 2, "reborn": True}, session=s)

    in_transaction(client, born_and_gone)
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="insert, delete; delete, insert")

    def many_steps(first):
        def writes(s):
            for step in range(1, 13):   # with others between: over many batches
                a.replace_one({"_id": first}, {"step": step}, session=s)
                a.update_one({"_id": first + 1}, {"$inc": {"step": 1}}, session=s)
        return writes

    in_transaction(client, many_steps(10))
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="a transaction over batches of 3")

    proxy.lose(3)
    in_transaction(client, many_steps(20))
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="batches replayed")
    if proxy.lost != 3:
        raise Failure("%d insert replies lost, want 3" % proxy.lost)

    proxy.hold()
    in_transaction(client, many_steps(30))
    if not proxy.held.wait(30):
        raise Failure("no insert came to hold")
    sl.kill9()
    proxy.release()
    sl.start(pipe)
    sl.wait_worker(pipe)
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="killed with a batch applied, restarted")

    if src.is_test_server():
        restart_inside(env, src, db, pipe, sl)
    else:
        log("SKIP the restart inside a transaction: it slows the server down with "
            "sluiceFault latency, which only mongo_test_server has")
    ch_query(env, "OPTIMIZE TABLE `%s`.a FINAL" % pipe)
    rows = versions_of(env, pipe, "a", 1)
    if len(rows) != 1:
        raise Failure("key 1 has %d rows after OPTIMIZE FINAL" % len(rows))
    wait_equal(env, mirror(env, db, pipe, ["a"]), timeout=0, what="after the merge")
    sl.stop()


def restart_inside(env, src, db, pipe, sl):
    """sluice killed while it has read part of a transaction of 60
    changes (each getMore slowed to 150 ms, 3 changes each), started
    again: it resumes from a position inside the transaction."""
    marked = lambda: int(ch_query(env, "SELECT count() FROM `%s`.a FINAL WHERE doc LIKE "
                                       "'%%\"inside\"%%' FORMAT TabSeparated" % pipe))

    def writes(s):
        for i in range(100, 160):
            db.a.replace_one({"_id": i}, {"inside": i}, session=s)

    for attempt in range(3):
        before = marked()
        in_transaction(src.client, writes)
        src.fault(sluiceFault="latency", ms=150)
        deadline, seen = time.time() + 30, 0
        while time.time() < deadline:
            seen = marked() - before if attempt == 0 else marked()
            if 0 < seen < 45:
                break
            time.sleep(0.05)
        sl.kill9()
        src.fault(sluiceFault="latency", ms=0)
        sl.start(pipe)
        sl.wait_worker(pipe)
        wait_equal(env, mirror(env, db, pipe, ["a"]), what="restarted inside a transaction")
        if 0 < seen < 45:
            log("killed with %d of the transaction's 60 changes in ClickHouse" % seen)
            return
        db.a.update_many({"inside": {"$exists": True}}, {"$unset": {"inside": ""}})
        wait_equal(env, mirror(env, db, pipe, ["a"]))
    raise Failure("the kill never came inside the transaction")


def scenario_update_many(env, src):
    """updateMany over 50,000 documents at once, then deleteMany by a
    field other than _id."""
    docs = [{"_id": i, "n": i, "sub": {"k": i % 7}, "tags": ["t"]} for i in range(50000)]
    db, pipe, sl = running_pipe(env, src, "update_many", ["a"], docs, batch=20000)
    r = db.a.update_many({}, {"$inc": {"n": 1}, "$set": {"sub.seen": True},
                              "$push": {"tags": "u"}})
    if r.modified_count != 50000:
        raise Failure("updateMany modified %d" % r.modified_count)
    wait_equal(env, mirror(env, db, pipe, ["a"]), timeout=180, what="after updateMany")
    r = db.a.delete_many({"sub.k": 3})
    log("deleteMany by sub.k deleted %d" % r.deleted_count)
    wait_equal(env, mirror(env, db, pipe, ["a"]), timeout=180, what="after deleteMany")
    sl.stop()


def operator_doc(i):
    return {"_id": i, "n": i, "price": 2.5, "lo": 5, "hi": 5, "name": "doc %d" % i,
            "arr": [1, 2, 3, 4], "tags": ["a", "b"],
            "sub": {"x": i, "y": {"deep": [1, {"w": "v"}]}},
            "items": [{"k": "a", "qty": 1}, {"k": "b", "qty": 2}, {"k": "c", "qty": 3}],
            "pad": "p" * 20}


# (filter, update, options): every operator of the update language
OPERATOR_UPDATES = [
    ({"_id": 1}, {"$set": {"a.b.c": 5, "arr.1": "x", "sub.y.deep.1.w": "changed"}}, {}),
    ({"_id": 1}, {"$unset": {"sub.y": "", "arr.0": ""}}, {}),
    ({"_id": 2}, {"$inc": {"n": 2, "sub.x": -1, "new.count": 1}, "$mul": {"price": 3}}, {}),
    ({"_id": 2}, {"$min": {"lo": 1}, "$max": {"hi": 100, "sub.top": 7}}, {}),
    ({"_id": 3}, {"$rename": {"name": "title", "sub.x": "sub.z"}}, {}),
    ({"_id": 3}, {"$currentDate": {"seen": True, "at.ts": {"$type": "timestamp"}}}, {}),
    ({"_id": 4}, {"$push": {"arr": {"$each": [5, 0, 9], "$position": 0, "$slice": 5,
                                    "$sort": -1}}}, {}),
    ({"_id": 4}, {"$push": {"items": {"$each": [{"k": "d", "qty": 0}], "$sort": {"qty": 1}}}}, {}),
    ({"_id": 4}, {"$addToSet": {"tags": {"$each": ["a", "z"]}, "sub.set": 1}}, {}),
    ({"_id": 5}, {"$pop": {"arr": 1, "items": -1}}, {}),
    ({"_id": 6}, {"$pull": {"items": {"qty": {"$lt": 2}}, "arr": {"$in": [3, 4]}}}, {}),
    ({"_id": 6}, {"$pullAll": {"tags": ["a", "b"]}}, {}),
    ({"_id": 7, "items.k": "b"}, {"$set": {"items.$.qty": 42}}, {}),
    ({"_id": 7}, {"$inc": {"items.$[].qty": 1}}, {}),
    ({"_id": 8}, {"$set": {"items.$[big].flag": True}},
     {"array_filters": [{"big.qty": {"$gte": 2}}]}),
    ({"_id": 50}, {"$setOnInsert": {"made": "upsert"}, "$set": {"v": 1}}, {"upsert": True}),
    ({"_id": 10}, [{"$set": {"total": {"$add": ["$n", 10]}}}, {"$unset": "pad"}], {}),
    ({"tags": "a"}, {"$set": {"had_a": True}}, {"many": True}),
]


def scenario_operators(env, src):
    """Nested and array updates of every operator (dotted paths, array
    indexes, the positional $, $[], $[name] with arrayFilters, upserts,
    pipelines, a replacement), each one then the destination compared."""
    docs = [operator_doc(i) for i in range(12)]
    db, pipe, sl = running_pipe(env, src, "operators", ["a"], docs)
    for query, update, opts in OPERATOR_UPDATES:
        opts = dict(opts)
        if opts.pop("many", False):
            db.a.update_many(query, update, **opts)
        else:
            db.a.update_one(query, update, **opts)
    db.a.replace_one({"_id": 9}, {"whole": "new", "nested": {"a": [1, [2, 3]]}})
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="after every operator")
    sl.stop()


def scenario_big_doc(env, src):
    """A document growing past 1 MiB by $push of 100 KiB strings, then
    shrinking by $pop."""
    db, pipe, sl = running_pipe(env, src, "big_doc", ["a"], [{"_id": "big", "parts": []}])
    for i in range(12):
        db.a.update_one({"_id": "big"}, {"$push": {"parts": ("%02d" % i) * 50000}})
    size = len(bson.encode(db.a.find_one({"_id": "big"})))
    if size <= 1 << 20:
        raise Failure("the document is only %d bytes" % size)
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="at %d bytes" % size)
    db.a.update_one({"_id": "big"}, {"$pop": {"parts": -1}})
    wait_equal(env, mirror(env, db, pipe, ["a"]), what="after $pop")
    sl.stop()


def new_docs(seed, old_ids):
    """Documents for a re-created collection: some _ids of the old one
    with other content, and new ones."""
    rng = random.Random(seed)
    kept = rng.sample(list(old_ids), len(old_ids) // 2)
    return [{"_id": i, "again": True, "r": rng.random()} for i in kept] + \
        [{"_id": 10000 + i, "new": i} for i in range(50)]


def add_back(env, sl, db, pipe, tables):
    """`tables add` of stopped tables: each destination then equals its
    collection, and changes flow again."""
    sl.cli("tables", "add", pipe, *tables, "--wait", "--timeout", "120s")
    sl.wait_state(pipe, "running")
    wait_equal(env, mirror(env, db, pipe, tables), what="after tables add")
    for t in tables:
        db[t].insert_one({"_id": 99999, "after_add": True})
        db[t].delete_one({"_id": 10000})
    wait_equal(env, mirror(env, db, pipe, tables), what="changes after tables add")


def scenario_drop_recreate(env, src):
    """A captured collection dropped and re-created with other documents
    while the pipe runs: its table stops at the drop and its destination
    holds the collection as it was then (docs/mongo.md); the other table
    goes on; `tables add` loads the new collection."""
    docs = [{"_id": i, "v": i} for i in range(300)]
    db, pipe, sl = running_pipe(env, src, "drop_recreate", ["a", "b"], docs)
    db.a.update_one({"_id": 5}, {"$set": {"v": "last before the drop"}})
    at_drop = read_source(db.a)
    db.a.drop()
    db.a.insert_many(new_docs(1, range(300)))
    db.a.update_one({"_id": 7}, {"$set": {"after": "the drop"}})
    db.b.update_one({"_id": 1}, {"$set": {"v": "b goes on"}})
    note = expect_stopped(sl, pipe, "a", "dropped")
    log("a: %s" % note)
    wait_equal(env, mirror(env, db, pipe, ["b"]), what="the other table")
    stays_equal(env, at_drop, pipe, "a")
    if sl.state(pipe) != "running":
        raise Failure("the pipe is %s after the drop" % sl.state(pipe))
    add_back(env, sl, db, pipe, ["a"])
    sl.stop()


def scenario_rename_onto(env, src):
    """renameCollection (dropTarget) of an uncaptured collection onto a
    captured name: that table stops (its collection now holds another's
    documents, which came without insert events) with the destination as
    it was; a captured collection renamed away stops too."""
    docs = [{"_id": i, "v": i} for i in range(200)]
    db, pipe, sl = running_pipe(env, src, "rename_onto", ["a", "b"], docs)
    db.staging.insert_many(new_docs(2, range(200)))
    at_rename = read_source(db.a)
    db.staging.rename("a", dropTarget=True)
    db.a.update_one({"_id": 10001}, {"$set": {"after": "the rename"}})
    b_before = read_source(db.b)
    db.b.rename("b_old")
    note = expect_stopped(sl, pipe, "a", "replaced by renameCollection")
    log("a: %s" % note)
    log("b: %s" % expect_stopped(sl, pipe, "b", "renamed to"))
    stays_equal(env, at_rename, pipe, "a")
    stays_equal(env, b_before, pipe, "b", seconds=0)
    add_back(env, sl, db, pipe, ["a"])
    sl.stop()


def scenario_drop_database(env, src):
    """dropDatabase under a running pipe: every table stops with its
    destination as it was, the pipe keeps running; the database made
    again and its tables added back, they load and follow it."""
    docs = [{"_id": i, "v": i} for i in range(200)]
    db, pipe, sl = running_pipe(env, src, "drop_database", ["a", "b"], docs)
    before = {c: read_source(db[c]) for c in ("a", "b")}
    src.client.drop_database(db.name)
    for c in ("a", "b"):
        log("%s: %s" % (c, expect_stopped(sl, pipe, c, "dropped")))
    db.a.insert_many(new_docs(3, range(200)))
    db.b.insert_many(new_docs(4, range(200)))
    for c in ("a", "b"):
        stays_equal(env, before[c], pipe, c, seconds=2 if c == "a" else 0)
    if sl.state(pipe) != "running":
        raise Failure("the pipe is %s after dropDatabase" % sl.state(pipe))
    add_back(env, sl, db, pipe, ["a", "b"])
    sl.stop()


SCENARIOS = [
    ("txn_versions", scenario_txn_versions),
    ("update_many", scenario_update_many),
    ("operators", scenario_operators),
    ("big_doc", scenario_big_doc),
    ("drop_recreate", scenario_drop_recreate),
    ("rename_onto", scenario_rename_onto),
    ("drop_database", scenario_drop_database),
]

if __name__ == "__main__":
    sys.exit(e2e.main(SCENARIOS, __doc__))
