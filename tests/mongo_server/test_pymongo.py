#!/usr/bin/python3
"""test_pymongo.py SERVER: the test server driven by another driver,
PyMongo (Debian's python3-pymongo), so that it is not shaped around
libmongoc alone: the handshake, writes, finds, counts, aggregate, and a
change stream resumed from a token by a new client."""
import subprocess
import sys

import pymongo
from bson import ObjectId


def main():
    server = subprocess.Popen([sys.argv[1], "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        uri = f"mongodb://127.0.0.1:{port}/?replicaSet=rs0&serverSelectionTimeoutMS=5000"
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
        print("pymongo checks passed")
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0


if __name__ == "__main__":
    main()
