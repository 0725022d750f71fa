#!/usr/bin/python3
"""test_pymongo.py SERVER: the test server driven by another driver,
PyMongo (Debian's python3-pymongo), so that it is not shaped around
libmongoc alone: the handshake, writes, finds, counts, aggregate, a
change stream resumed from a token by a new client; transactions as
PyMongo runs them (commit, abort, their change events, write conflicts,
NoSuchTransaction, a write outside waiting for one), retryable writes
applied once (also when sent twice at once), and --dbpath: killed with
SIGKILL and started again, the data, the indexes and a change stream
resumed from a token taken before; a transaction through the update and
query languages and unique indexes; change streams as MongoDB 5.0/6.0
runs them: dropDatabase's events and invalidations, $match stages in the
whole query language (the invalidate subject to them too), and
renameCollection onto an existing collection."""
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pymongo
from bson import ObjectId
from bson.int64 import Int64
from pymongo.errors import OperationFailure


def start(*args):
    """A server and its URI."""
    server = subprocess.Popen([sys.argv[1], "--port", "0", *args],
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline().strip()
    assert line.startswith("listening on"), line
    port = int(line.rsplit(":", 1)[1])
    return server, f"mongodb://127.0.0.1:{port}/?replicaSet=rs0&serverSelectionTimeoutMS=5000"


def main():
    server, uri = start()
    try:
        client = pymongo.MongoClient(uri)
        assert client.admin.command("ping")["ok"] == 1
        coll = client.shop.orders
        coll.insert_many([{"_id": i, "v": i} for i in range(50)])
        oid = coll.insert_one({"x": 1}).inserted_id
        assert isinstance(oid, ObjectId)
        assert [d["_id"] for d in coll.find({"_id": {"$gte": 10, "$lt": 13}})] == [10, 11, 12]
        assert [d["_id"] for d in coll.find({"_id": {"$lt": 40}}).sort("_id", -1).limit(2)] == [39, 38]
        assert len(list(coll.find({}, batch_size=7))) == 51
        assert coll.find_one({"_id": 3}, {"v": 0}) == {"_id": 3}
        assert coll.update_one({"_id": 3}, {"$inc": {"v": 5}}).modified_count == 1
        assert coll.find_one({"_id": 3})["v"] == 8
        assert coll.replace_one({"_id": 4}, {"r": True}).modified_count == 1
        assert coll.update_one({"_id": 999}, {"$set": {"u": 1}}, upsert=True).upserted_id == 999
        assert coll.delete_many({"_id": {"$gte": 45, "$lt": 100}}).deleted_count == 5
        assert coll.count_documents({"_id": {"$lt": 10}}) == 10
        assert coll.estimated_document_count() == 47
        assert len(list(coll.aggregate([{"$sample": {"size": 5}}]))) == 5
        assert "orders" in client.shop.list_collection_names()
        assert "shop" in client.list_database_names()

        with coll.watch(full_document="updateLookup", max_await_time_ms=300) as stream:
            coll.insert_one({"_id": 1000})
            coll.update_one({"_id": 1000}, {"$set": {"w": 1}})
            first = stream.next()
            assert first["operationType"] == "insert", first
            token = stream.resume_token
            second = stream.next()
            assert second["operationType"] == "update"
            assert second["fullDocument"] == {"_id": 1000, "w": 1}
        client.close()

        again = pymongo.MongoClient(uri)
        with again.shop.orders.watch(resume_after=token, max_await_time_ms=300) as stream:
            resumed = stream.next()
            assert resumed["operationType"] == "update", resumed
            assert resumed["documentKey"] == {"_id": 1000}
        again.close()
        sessions_and_transactions(uri)
        write_conflicts(uri)
        transactions_through_the_languages(uri)
        retryable_writes(uri)
        dropped_databases(uri)
        change_stream_filters(uri)
        renamed_onto(uri)
        renamed_to_itself(uri)
        print("pymongo checks passed")
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
    killed_and_restarted()
    print("pymongo --dbpath checks passed")


def ids(cursor):
    return [d["_id"] for d in cursor]


def next_event(stream):
    """The stream's next change; an error when none comes in ~10 s."""
    for _ in range(30):
        event = stream.try_next()
        if event is not None:
            return event
    raise AssertionError("no change event came")


def until_closed(stream):
    """The stream's events until its cursor closes (it was invalidated);
    an error when it is still open after ~10 s."""
    got = []
    for _ in range(30):
        event = stream.try_next()
        if event is not None:
            got.append(event)
        if not stream.alive:
            return got
    raise AssertionError("the stream was not closed; it gave %r" % got)


def kinds(events):
    return [(e["operationType"], e.get("ns"), e.get("to")) for e in events]


def refused(code, call):
    """`call()` fails with OperationFailure `code`; its message."""
    try:
        call()
    except OperationFailure as e:
        assert e.code == code, e.details
        return str(e)
    raise AssertionError("not refused: expected error %d" % code)


def duplicate_aborts(client, first, duplicate):
    """In one transaction `first(s)` is taken and `duplicate(s)` refused
    with 11000; the transaction is aborted: its commit fails with 251."""
    with client.start_session() as s:
        s.start_transaction()
        first(s)
        try:
            duplicate(s)
            raise AssertionError("a duplicate key was taken in a transaction")
        except OperationFailure as e:
            assert e.code == 11000, e.details
        try:
            s.commit_transaction()
            raise AssertionError("committed an aborted transaction")
        except OperationFailure as e:
            assert e.code == 251 and e.has_error_label("TransientTransactionError"), e.details


def uuid_bytes(v):
    """A session id's 16 bytes, read as a UUID or as Binary."""
    return v.bytes if hasattr(v, "bytes") else bytes(v)


def sessions_and_transactions(uri):
    """Commit makes a transaction's writes visible at once, abort leaves
    nothing, and its change events come together, at one cluster time,
    with lsid and txnNumber."""
    client = pymongo.MongoClient(uri)
    other = pymongo.MongoClient(uri)  # another application's view
    assert client.admin.command("hello")["logicalSessionTimeoutMinutes"] == 30
    coll = client.txn.items
    seen = other.txn.items
    coll.insert_many([{"_id": 1, "n": 1}, {"_id": 2, "n": 2}])
    with coll.watch(max_await_time_ms=300) as stream:
        before = coll.insert_one({"_id": 0}).inserted_id
        with client.start_session() as s:
            with s.start_transaction():
                coll.insert_one({"_id": 3, "n": 3}, session=s)
                coll.update_one({"_id": 1}, {"$set": {"n": 10}}, session=s)
                coll.delete_one({"_id": 2}, session=s)
                coll.update_one({"_id": 3}, {"$inc": {"n": 1}}, session=s)
                # the transaction sees its writes; nobody else does
                assert ids(coll.find({}, session=s)) == [0, 1, 3]
                assert coll.find_one({"_id": 3}, session=s)["n"] == 4
                assert ids(seen.find()) == [0, 1, 2]
                assert seen.find_one({"_id": 1})["n"] == 1
                lsid = s.session_id["id"]
            assert ids(seen.find()) == [0, 1, 3]
            assert seen.find_one({"_id": 1})["n"] == 10
            assert seen.find_one({"_id": 3})["n"] == 4
        first = next_event(stream)
        assert first["documentKey"] == {"_id": before} and "lsid" not in first, first
        events = [next_event(stream) for _ in range(4)]
    assert [e["operationType"] for e in events] == ["insert", "update", "delete", "update"], events
    assert [e["documentKey"]["_id"] for e in events] == [3, 1, 2, 3]
    assert len({e["clusterTime"] for e in events}) == 1, events
    assert events[0]["clusterTime"] > first["clusterTime"]
    assert all(uuid_bytes(e["lsid"]["id"]) == uuid_bytes(lsid) for e in events), events
    assert len({e["txnNumber"] for e in events}) == 1
    assert len({e["_id"]["_data"] for e in events}) == 4  # each its token

    # an aborted transaction leaves no trace: no document, no collection,
    # no change event
    with coll.watch(max_await_time_ms=300) as stream:
        with client.start_session() as s:
            s.start_transaction()
            client.txn.fresh.insert_one({"_id": 1}, session=s)
            coll.update_one({"_id": 1}, {"$set": {"n": 99}}, session=s)
            coll.insert_one({"_id": 50}, session=s)
            s.abort_transaction()
            # an exception in the block aborts too
            try:
                with s.start_transaction():
                    coll.insert_one({"_id": 51}, session=s)
                    raise KeyError("leave")
            except KeyError:
                pass
        coll.insert_one({"_id": 52})
        after = next_event(stream)
    assert after["documentKey"] == {"_id": 52}, after
    assert "fresh" not in client.txn.list_collection_names()
    assert ids(seen.find()) == [0, 1, 3, 52]
    assert seen.find_one({"_id": 1})["n"] == 10

    # NoSuchTransaction where MongoDB gives it, with its label
    with client.start_session() as s:
        s.start_transaction()
        coll.insert_one({"_id": 60}, session=s)
        s.commit_transaction()
        s.commit_transaction()  # committing again is answered the same
        try:  # no transaction: PyMongo sends no txnNumber
            client.admin.command("abortTransaction", session=s)
            raise AssertionError("abortTransaction outside a transaction")
        except OperationFailure as e:
            assert e.code == 72, e.details
    with client.start_session() as s:
        try:
            client.txn.command("find", "items", session=s,
                               txnNumber=Int64(7), autocommit=False)
            raise AssertionError("a transaction never started")
        except OperationFailure as e:
            assert e.code == 251 and e.has_error_label("TransientTransactionError"), e.details
    # the same in a transaction an error aborted: commit fails with 251
    duplicate_aborts(client, lambda s: coll.insert_one({"_id": 70}, session=s),
                     lambda s: coll.insert_one({"_id": 70}, session=s))
    assert seen.find_one({"_id": 70}) is None
    # what a transaction may not run
    with client.start_session() as s:
        s.start_transaction()
        try:
            client.txn.command("count", "items", session=s)
            raise AssertionError("count in a transaction")
        except OperationFailure as e:
            assert e.code == 263, e.details
        s.abort_transaction()
    client.close()
    other.close()


def write_conflicts(uri):
    """First writer wins: a transaction that writes a document another
    open transaction wrote, or one committed since it began, fails with
    WriteConflict (112) and TransientTransactionError, and is aborted;
    with_transaction runs again; writes and drops outside transactions
    wait for the transaction that wrote the document to end."""
    client = pymongo.MongoClient(uri)
    other = pymongo.MongoClient(uri)
    coll = client.txn.conflicts
    coll.insert_many([{"_id": i, "n": 0} for i in range(3)])
    s1, s2 = client.start_session(), client.start_session()
    s1.start_transaction()
    s2.start_transaction()
    coll.update_one({"_id": 0}, {"$set": {"n": 1}}, session=s1)
    try:
        coll.update_one({"_id": 0}, {"$set": {"n": 2}}, session=s2)
        raise AssertionError("two transactions wrote one document")
    except OperationFailure as e:
        assert e.code == 112 and e.has_error_label("TransientTransactionError"), e.details
    try:
        s2.commit_transaction()
        raise AssertionError("committed the transaction that lost")
    except OperationFailure as e:
        assert e.code == 251, e.details
    s1.commit_transaction()
    assert coll.find_one({"_id": 0})["n"] == 1

    # a document committed since the transaction began
    s1.start_transaction()
    assert coll.find_one({"_id": 1}, session=s1)["n"] == 0
    other.txn.conflicts.update_one({"_id": 1}, {"$set": {"n": 5}})
    try:
        coll.update_one({"_id": 1}, {"$inc": {"n": 1}}, session=s1)
        raise AssertionError("wrote over a newer commit")
    except OperationFailure as e:
        assert e.code == 112 and e.has_error_label("TransientTransactionError"), e.details
    s1.abort_transaction()
    assert coll.find_one({"_id": 1})["n"] == 5

    # with_transaction runs its callback again after a write conflict
    s3 = client.start_session()
    attempts = []

    def callback(s):
        attempts.append(len(attempts))
        if len(attempts) == 1:  # another transaction writes _id 2 first
            s3.start_transaction()
            coll.update_one({"_id": 2}, {"$set": {"n": 100}}, session=s3)
        else:
            s3.commit_transaction()
        coll.update_one({"_id": 2}, {"$inc": {"n": 1}}, session=s)

    s1.with_transaction(callback)
    assert len(attempts) == 2 and coll.find_one({"_id": 2})["n"] == 101

    # a write outside transactions waits for the transaction to end
    s1.start_transaction()
    coll.update_one({"_id": 0}, {"$set": {"n": 10}}, session=s1)
    done = []
    writer = threading.Thread(target=lambda: done.append(
        other.txn.conflicts.update_one({"_id": 0}, {"$inc": {"n": 1}}).modified_count))
    writer.start()
    time.sleep(0.5)  # lets it reach the server first (not checked)
    s1.commit_transaction()
    writer.join(30)
    assert done == [1] and coll.find_one({"_id": 0})["n"] == 11

    # so does a drop of its collection
    client.txn.dropped.insert_one({"_id": 1})
    s1.start_transaction()
    client.txn.dropped.update_one({"_id": 1}, {"$set": {"n": 1}}, session=s1)
    dropper = threading.Thread(target=other.txn.dropped.drop)
    dropper.start()
    time.sleep(0.5)
    s1.commit_transaction()
    dropper.join(30)
    assert "dropped" not in client.txn.list_collection_names()
    for s in (s1, s2, s3):
        s.end_session()
    client.close()
    other.close()


def transactions_through_the_languages(uri):
    """A transaction's writes go through the whole update and query
    languages (array operators, findAndModify, upserts, filters on other
    fields than _id) and its unique indexes; an abort undoes each of them,
    a commit publishes each, and a unique key refused in a transaction
    aborts it."""
    client = pymongo.MongoClient(uri)
    coll = client.lang.carts
    coll.drop()
    coll.create_index("sku", unique=True)
    coll.insert_many([{"_id": 1, "sku": "a", "items": [1, 2], "n": 0},
                      {"_id": 2, "sku": "b", "items": [], "n": 5}])
    before = list(coll.find().sort("_id", 1))

    def change_all(s):
        coll.update_one({"sku": "a"}, {"$push": {"items": {"$each": [3, 4]}}, "$inc": {"n": 1}},
                        session=s)
        coll.update_many({"n": {"$gte": 0}}, {"$set": {"seen": True}}, session=s)
        got = coll.find_one_and_update({"items": {"$size": 0}}, {"$addToSet": {"items": 9}},
                                       return_document=pymongo.ReturnDocument.AFTER, session=s)
        assert got["items"] == [9], got
        coll.update_one({"sku": "c"}, {"$setOnInsert": {"_id": 3, "items": []}}, upsert=True,
                        session=s)
        coll.update_one({"_id": 1}, {"$pull": {"items": {"$lt": 2}}}, session=s)
        coll.find_one_and_delete({"sku": "b"}, session=s)
        # the transaction reads its own writes through any filter
        assert ids(coll.find({"seen": True}, session=s).sort("_id", 1)) == [1]
        assert ids(coll.find({"items": {"$size": 0}}, session=s)) == [3]
        assert coll.count_documents({"items": 4}, session=s) == 1

    with client.start_session() as s:
        s.start_transaction()
        change_all(s)
        assert list(coll.find().sort("_id", 1)) == before  # others see nothing yet
        s.abort_transaction()
    assert list(coll.find().sort("_id", 1)) == before

    with coll.watch(max_await_time_ms=300) as stream:
        with client.start_session() as s:
            with s.start_transaction():
                change_all(s)
        got = list(coll.find().sort("_id", 1))
        assert got == [{"_id": 1, "sku": "a", "items": [2, 3, 4], "n": 1, "seen": True},
                       {"_id": 3, "sku": "c", "items": []}], got
        events = [next_event(stream) for _ in range(7)]
    ops = [e["operationType"] for e in events]
    assert ops == ["update", "update", "update", "update", "insert", "update", "delete"], ops
    assert len({e["clusterTime"] for e in events}) == 1 and len({e["txnNumber"] for e in events}) == 1
    assert events[0]["updateDescription"]["updatedFields"] == {"items.2": 3, "items.3": 4, "n": 1}

    # a unique key refused in a transaction fails it, and aborts it
    duplicate_aborts(client, lambda s: coll.insert_one({"_id": 4, "sku": "d"}, session=s),
                     lambda s: coll.update_one({"_id": 4}, {"$set": {"sku": "a"}}, session=s))
    assert coll.find_one({"_id": 4}) is None
    client.close()


def retryable_writes(uri):
    """A retryable write whose answer was lost is sent again by the driver
    with the same lsid and txnNumber: it is applied once and answered as
    the first time."""
    client = pymongo.MongoClient(uri)  # retryWrites: PyMongo's default
    coll = client.txn.retried
    coll.insert_one({"_id": 1, "n": 0})
    lose = {"sluiceFault": "failCommands", "count": 1, "mode": "lostReply"}
    client.admin.command(lose)
    assert coll.update_one({"_id": 1}, {"$inc": {"n": 1}}).modified_count == 1
    assert coll.find_one({"_id": 1})["n"] == 1
    client.admin.command(lose)
    coll.insert_one({"_id": 2})  # no duplicate key: the first answer
    client.admin.command(lose)
    assert coll.delete_one({"_id": 2}).deleted_count == 1
    assert ids(coll.find()) == [1]
    # without retryable writes the lost answer is the caller's error
    once = pymongo.MongoClient(uri, retryWrites=False)
    once.admin.command(lose)
    try:
        once.txn.retried.update_one({"_id": 1}, {"$inc": {"n": 1}})
        raise AssertionError("an answer that was lost arrived")
    except pymongo.errors.AutoReconnect:
        pass
    assert coll.find_one({"_id": 1})["n"] == 2
    once.close()
    # the same write sent twice at once (a retry while the first waits for
    # a transaction that wrote its document): one runs, the other waits
    # for the session, then gets its answer; applied once
    raw = pymongo.MongoClient(uri)  # its session's txnNumber set by hand
    retried = raw.start_session()
    answers = []

    def send():
        answers.append(raw.txn.command(
            "update", "retried", updates=[{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}],
            txnNumber=Int64(5), session=retried))

    with client.start_session() as s:
        s.start_transaction()
        coll.update_one({"_id": 1}, {"$set": {"m": 1}}, session=s)
        twice = [threading.Thread(target=send) for _ in range(2)]
        for t in twice:
            t.start()
        time.sleep(0.5)  # lets both reach the server first (not checked)
        s.commit_transaction()
        for t in twice:
            t.join(30)
    assert len(answers) == 2 and all(a["nModified"] == 1 for a in answers), answers
    assert coll.find_one({"_id": 1}) == {"_id": 1, "n": 3, "m": 1}, coll.find_one({"_id": 1})
    raw.close()
    try:
        client.admin.command({"sluiceFault": "failCommands", "mode": "sometimes"})
        raise AssertionError("an unknown fault mode was taken")
    except OperationFailure as e:
        assert "network, retryable or lostReply" in str(e), e.details
    client.close()


def dropped_databases(uri):
    """dropDatabase as MongoDB documents it: a drop event for each
    collection, then a dropDatabase event (ns {db} only); a database
    stream is then invalidated, a stream on one of its collections after
    that collection's drop, a cluster stream never. Resuming after the
    invalidate takes startAfter. A database that does not exist: ok, no
    event. In a transaction: refused (263)."""
    client = pymongo.MongoClient(uri)
    db = client.dd
    db.b.insert_one({"_id": 1})
    db.a.insert_one({"_id": 1})
    client.other.keep.insert_one({"_id": 1})
    wait = {"max_await_time_ms": 300}
    whole = client.watch(**wait)
    of_db = db.watch(**wait)
    of_a = db.a.watch(**wait)
    of_other = client.other.watch(**wait)
    # the filter source_mongo opens its database stream with: the
    # dropDatabase event and the invalidate have no ns.coll
    as_source = db.watch([{"$match": {
        "ns.coll": {"$in": ["a"]},
        "operationType": {"$in": ["insert", "update", "replace", "delete", "drop",
                                  "rename", "invalidate"]}}}], **wait)
    client.drop_database("nothing")  # no such database: no event
    client.drop_database("dd")
    assert "dd" not in client.list_database_names()
    assert db.list_collection_names() == []
    drops = [("drop", {"db": "dd", "coll": "a"}, None),
             ("drop", {"db": "dd", "coll": "b"}, None),
             ("dropDatabase", {"db": "dd"}, None)]
    shown = until_closed(of_db)
    assert kinds(shown) == drops + [("invalidate", None, None)], shown
    invalidate = shown[-1]
    assert set(invalidate) == {"_id", "operationType", "clusterTime", "wallTime"}, invalidate
    assert shown[0]["clusterTime"] < shown[1]["clusterTime"] < shown[2]["clusterTime"]
    assert invalidate["clusterTime"] == shown[2]["clusterTime"]
    assert of_db.resume_token == invalidate["_id"]
    assert kinds(until_closed(of_a)) == [drops[0], ("invalidate", None, None)]
    assert kinds(until_closed(as_source)) == [drops[0]]
    assert as_source.resume_token == invalidate["_id"]
    db.a.insert_one({"_id": 2})  # the database again
    client.other.keep.insert_one({"_id": 2})
    assert kinds([next_event(whole) for _ in range(5)]) == drops + [
        ("insert", {"db": "dd", "coll": "a"}, None),
        ("insert", {"db": "other", "coll": "keep"}, None)]
    assert whole.alive
    assert next_event(of_other)["documentKey"] == {"_id": 2}  # nothing before
    for stream in (whole, of_db, of_a, of_other, as_source):
        stream.close()
    # after the invalidate: startAfter, not resumeAfter
    assert "not allowed from an invalidate notification" in refused(
        260, lambda: db.watch(resume_after=invalidate["_id"]))
    with db.watch(start_after=invalidate["_id"], **wait) as again:
        assert next_event(again)["documentKey"] == {"_id": 2}
    with client.start_session() as s:
        s.start_transaction()
        refused(263, lambda: client.other.command("dropDatabase", session=s))
    client.close()


def change_stream_filters(uri):
    """$match stages after $changeStream take the whole query language,
    on the event as the client sees it (fullDocument looked up, the
    updateDescription, the rename's `to`); several are ANDed; a bad filter
    is refused with the query language's error; the invalidate is subject
    to them too (MongoDB's start_after_invalidation_exception.js): the
    stream closes without showing it, its resume token the invalidate's."""
    client = pymongo.MongoClient(uri)
    db = client.filt
    wait = {"max_await_time_ms": 300}
    moved = db.watch([{"$match": {"$or": [
        {"ns.coll": {"$in": ["x1", "x2"]}},
        {"operationType": "rename", "to.coll": {"$in": ["x1", "x2"]}}]}}], **wait)
    big = db.watch([{"$match": {"fullDocument.x": {"$gt": 5}}}],
                   full_document="updateLookup", **wait)
    touched = db.watch([{"$match": {"updateDescription.updatedFields.a": {"$exists": True}}}],
                       **wait)
    kept = db.watch([{"$match": {"operationType": "insert"}},
                     {"$match": {"fullDocument.k": "keep"}}], **wait)
    db.x1.insert_one({"_id": 1, "x": 3, "k": "keep"})
    db.y.insert_one({"_id": 2, "x": 7, "k": "drop"})
    db.y.update_one({"_id": 2}, {"$set": {"b": 1}})
    db.x1.update_one({"_id": 1}, {"$set": {"a": 1, "x": 10}})
    client.admin.command("renameCollection", "filt.y", to="filt.x2")
    db.x2.insert_one({"_id": 3, "k": "keep"})
    db.z.insert_one({"_id": 4, "k": "keep", "x": 9})
    marker = {"_id": "end", "a": 0, "k": "keep", "x": 99}
    db.x1.insert_one(marker)
    assert kinds([next_event(moved) for _ in range(5)]) == [
        ("insert", {"db": "filt", "coll": "x1"}, None),
        ("update", {"db": "filt", "coll": "x1"}, None),
        ("rename", {"db": "filt", "coll": "y"}, {"db": "filt", "coll": "x2"}),
        ("insert", {"db": "filt", "coll": "x2"}, None),
        ("insert", {"db": "filt", "coll": "x1"}, None)]
    # the update of 2 is looked up in filt.y, renamed since: null
    assert [(e["operationType"], e["documentKey"]) for e in
            [next_event(big) for _ in range(4)]] == [
        ("insert", {"_id": 2}), ("update", {"_id": 1}), ("insert", {"_id": 4}),
        ("insert", {"_id": "end"})]
    assert [e["documentKey"] for e in [next_event(touched) for _ in range(1)]] == [{"_id": 1}]
    assert [e["documentKey"] for e in [next_event(kept) for _ in range(4)]] == [
        {"_id": 1}, {"_id": 3}, {"_id": 4}, {"_id": "end"}]
    db.x1.update_one({"_id": "end"}, {"$set": {"a": 1}})  # a second for `touched`
    assert next_event(touched)["documentKey"] == {"_id": "end"}
    for stream in (moved, big, touched, kept):
        stream.close()

    # what the server reads of ns.coll and operationType to pass over
    # entries never changes what a filter matches
    pre = client.pre
    pre.p.insert_one({"_id": 0})
    streams = [pre.watch([{"$match": m}], **wait) for m in (
        {"ns.coll": {"$eq": "p", "$in": ["p", "q"]}},
        {"ns.coll": ""},
        {"ns.coll": {"$in": []}},
        {"operationType": {"$in": ["insert", "drop"]}, "documentKey._id": 2},
        {"ns.coll": {"$exists": False}})]
    pre.p.insert_one({"_id": 1})
    pre.q.insert_one({"_id": 2})
    client.drop_database("pre")
    p_, q_ = {"db": "pre", "coll": "p"}, {"db": "pre", "coll": "q"}
    assert [kinds(until_closed(s)) for s in streams] == [
        [("insert", p_, None), ("drop", p_, None)], [], [], [("insert", q_, None)],
        [("dropDatabase", {"db": "pre"}, None), ("invalidate", None, None)]]

    # refused as the query language refuses them
    assert "unknown operator: $foo" in refused(
        2, lambda: db.watch([{"$match": {"a": {"$foo": 1}}}]))
    assert "$and/$or/$nor must be a nonempty array" in refused(
        2, lambda: db.watch([{"$match": {"$or": []}}]))
    refused(238, lambda: db.watch([{"$match": {"$where": "true"}}]))
    refused(15959, lambda: db.watch([{"$match": 5}]))
    refused(40324, lambda: db.watch([{"$project": {"a": 1}}]))
    refused(40323, lambda: db.watch([{"$match": {}, "$limit": 1}]))

    # the invalidate passes the $match stages or is not shown; the stream
    # closes either way
    db.inv.insert_one({"_id": 0})
    inserts = db.inv.watch([{"$match": {"operationType": "insert"}}], **wait)
    both = db.inv.watch([{"$match": {"operationType": {"$in": ["insert", "invalidate"]}}}],
                        **wait)
    by_ns = db.inv.watch([{"$match": {"ns.coll": "inv"}}], **wait)
    db.inv.insert_one({"_id": 1})
    db.inv.drop()
    assert kinds(until_closed(inserts)) == [("insert", {"db": "filt", "coll": "inv"}, None)]
    assert kinds(until_closed(both)) == [("insert", {"db": "filt", "coll": "inv"}, None),
                                         ("invalidate", None, None)]
    shown = until_closed(by_ns)  # the invalidate has no ns
    assert [e["operationType"] for e in shown] == ["insert", "drop"], shown
    assert inserts.resume_token == both.resume_token != shown[-1]["_id"]
    db.inv.insert_one({"_id": 2})
    with db.inv.watch([{"$match": {"operationType": "insert"}}],
                      start_after=inserts.resume_token, **wait) as again:
        assert next_event(again)["documentKey"] == {"_id": 2}
    refused(260, lambda: db.inv.watch(resume_after=inserts.resume_token))
    # resuming at the drop itself gives its invalidate again
    with db.inv.watch(resume_after=shown[-1]["_id"], **wait) as again:
        assert kinds(until_closed(again)) == [("invalidate", None, None)]
    client.close()


def renamed_onto(uri):
    """renameCollection with dropTarget onto an existing collection, as
    MongoDB 4.2 on: one rename event (ns the source, `to` the target), no
    drop event for the target (SERVER-53478); a stream on the source and
    one on the target each see it, then an invalidate (MongoDB's
    metadata_notifications.js and ddl_rename_cross_db.js); a database
    stream sees only the rename."""
    client = pymongo.MongoClient(uri)
    db = client.rn
    db.src.insert_many([{"_id": 1}, {"_id": 2}])
    db.dst.insert_one({"_id": "old"})
    wait = {"max_await_time_ms": 300}
    on_src, on_dst, of_db = db.src.watch(**wait), db.dst.watch(**wait), db.watch(**wait)
    refused(48, lambda: client.admin.command("renameCollection", "rn.src", to="rn.dst"))
    client.admin.command("renameCollection", "rn.src", to="rn.dst", dropTarget=True)
    assert sorted(d["_id"] for d in db.dst.find()) == [1, 2]
    assert db.list_collection_names() == ["dst"]
    rename = ("rename", {"db": "rn", "coll": "src"}, {"db": "rn", "coll": "dst"})
    assert kinds(until_closed(on_src)) == [rename, ("invalidate", None, None)]
    assert kinds(until_closed(on_dst)) == [rename, ("invalidate", None, None)]
    db.dst.insert_one({"_id": 3})
    assert kinds([next_event(of_db) for _ in range(2)]) == [
        rename, ("insert", {"db": "rn", "coll": "dst"}, None)]
    of_db.close()
    client.close()


def renamed_to_itself(uri):
    """renameCollection onto its own name is refused, with dropTarget too,
    as MongoDB refuses it (20), and the collection stays."""
    client = pymongo.MongoClient(uri)
    client.rn.self.insert_one({"_id": 1})
    for drop_target in (False, True):
        try:
            client.admin.command("renameCollection", "rn.self", to="rn.self",
                                 dropTarget=drop_target)
            raise AssertionError("renamed a collection to itself")
        except OperationFailure as e:
            assert e.code == 20 and "to itself" in str(e), e.details
    assert client.rn.self.find_one() == {"_id": 1}
    client.close()


def killed_and_restarted():
    """--dbpath: documents, collections, indexes and the change history outlive a
    SIGKILL; a change stream resumes from a token taken before it;
    cluster times keep increasing; a retryable write's answer is kept
    (the same client retries it across the restart, on the same port);
    --generate applies only to a DIR that holds nothing; a second server
    on the same DIR is refused."""
    tmp = tempfile.mkdtemp(prefix="sluice-dbpath-")
    try:
        server, uri = start("--dbpath", tmp)
        port = uri.split(":")[2].split("/")[0]
        client = pymongo.MongoClient(uri)
        coll = client.keep.items
        with coll.watch(max_await_time_ms=300) as stream:
            coll.insert_many([{"_id": i, "v": i} for i in range(5)])
            for _ in range(2):
                next_event(stream)
            token = stream.resume_token
            coll.update_one({"_id": 1}, {"$set": {"v": "one"}})
            coll.delete_one({"_id": 4})
            with client.start_session() as s:
                with s.start_transaction():
                    coll.insert_one({"_id": 10}, session=s)
                    coll.update_one({"_id": 0}, {"$inc": {"v": 100}}, session=s)
            client.keep.gone.insert_one({"_id": 1})
            client.keep.gone.create_index("x")
            client.keep.gone.drop()
            client.keep.old.insert_one({"_id": "r"})
            client.keep.old.create_index("email", unique=True)
            coll.create_index([("v", -1), ("w", 1)], name="v_w", sparse=True)
            coll.create_index("gone_soon")
            coll.drop_index("gone_soon_1")
            client.admin.command("renameCollection", "keep.old", to="keep.new")
            coll.insert_one({"_id": 11})
            events = [next_event(stream) for _ in range(8)]  # after the token
        assert [e["operationType"] for e in events] == ["insert", "insert", "insert", "update",
                                                        "delete", "insert", "update", "insert"], events
        assert events[5]["documentKey"] == {"_id": 10} and events[7]["documentKey"] == {"_id": 11}
        before = client.admin.command("ping")["operationTime"]
        client.gonedb.a.insert_one({"_id": 1})
        client.gonedb.b.insert_one({"_id": 1})
        client.drop_database("gonedb")
        # its own client: its session's txnNumber is set by hand here
        rclient = pymongo.MongoClient(uri)
        retried = rclient.start_session()
        first = rclient.keep.command("insert", "items", documents=[{"_id": 20}],
                                    txnNumber=Int64(7), session=retried)
        assert first["n"] == 1 and "writeErrors" not in first, first
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)

        server, _ = start("--port", port, "--dbpath", tmp,
                          "--generate", "keep.items=1000")
        try:
            try:  # the connections to the server killed are gone
                rclient.admin.command("ping")
            except pymongo.errors.AutoReconnect:
                pass
            again = rclient.keep.command("insert", "items", documents=[{"_id": 20}],
                                         txnNumber=Int64(7), session=retried)
            assert again["n"] == 1 and "writeErrors" not in again, again
            rclient.close()
            got = {d["_id"]: d.get("v") for d in coll.find()}
            assert got == {0: 100, 1: "one", 2: 2, 3: 3, 10: None, 11: None, 20: None}, got
            names = sorted(client.keep.list_collection_names())
            assert names == ["items", "new"], names
            assert client.keep.new.find_one() == {"_id": "r"}
            # indexes: kept, in order, with their options; moved by the
            # rename; gone with a drop or dropIndexes
            shown = [(i["name"], dict(i["key"]), i.get("unique"), i.get("sparse"))
                     for i in coll.list_indexes()]
            assert shown == [("_id_", {"_id": 1}, None, None),
                             ("v_w", {"v": -1, "w": 1}, None, True)], shown
            assert [i["name"] for i in client.keep.new.list_indexes()] == ["_id_", "email_1"]
            try:
                client.keep.new.insert_one({"_id": "s"})  # a second missing email
                raise AssertionError("the unique index was lost with the restart")
            except pymongo.errors.DuplicateKeyError:
                pass
            client.keep.gone.insert_one({"_id": 1})
            assert [i["name"] for i in client.keep.gone.list_indexes()] == ["_id_"]
            client.keep.gone.drop()
            with coll.watch(resume_after=token, max_await_time_ms=300) as stream:
                resumed = [next_event(stream) for _ in range(len(events) + 1)]
            assert resumed[:-1] == events, resumed
            assert resumed[-1]["documentKey"] == {"_id": 20}
            assert resumed[5]["clusterTime"] == resumed[6]["clusterTime"]
            assert "lsid" in resumed[5] and resumed[5]["txnNumber"] == resumed[6]["txnNumber"]
            # a dropDatabase's events too
            gone = [("insert", {"db": "gonedb", "coll": "a"}, None),
                    ("insert", {"db": "gonedb", "coll": "b"}, None),
                    ("drop", {"db": "gonedb", "coll": "a"}, None),
                    ("drop", {"db": "gonedb", "coll": "b"}, None),
                    ("dropDatabase", {"db": "gonedb"}, None)]
            with client.watch([{"$match": {"ns.db": "gonedb"}}], start_at_operation_time=before,
                              max_await_time_ms=300) as stream:
                assert kinds([next_event(stream) for _ in range(5)]) == gone
            with client.gonedb.watch(start_at_operation_time=before,
                                     max_await_time_ms=300) as stream:
                assert kinds(until_closed(stream)) == gone + [("invalidate", None, None)]
            coll.insert_one({"_id": 12})
            now = client.admin.command("ping")["operationTime"]
            assert now > before, (now, before)
        finally:
            client.close()
            server.terminate()
            assert server.wait(timeout=10) == 0
        # a second server on the same DIR is refused
        server, uri = start("--dbpath", tmp)
        try:
            refused = subprocess.run([sys.argv[1], "--port", "0", "--dbpath", tmp],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, timeout=10)
            assert refused.returncode == 1 and "in use by another" in refused.stderr, refused
        finally:
            server.terminate()
            assert server.wait(timeout=10) == 0
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
