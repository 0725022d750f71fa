"""mongo_changes.py PORT: the changes the conformance kit follows in
source_mongo's test: 17 change events in shop.orders and shop.customers
(inserts, updates, a replace, deletes), made with a second driver."""
import sys

from pymongo import MongoClient

client = MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/?replicaSet=rs0",
                     directConnection=True)
db = client.shop
db.orders.insert_many([{"_id": 100000 + i, "n": i} for i in range(10)])
for i in range(3):
    # each update changes its document: one that does not (n: 0 set to
    # -0) is no change to MongoDB, and makes no event
    db.orders.update_one({"_id": 100000 + i}, {"$set": {"n": -i - 1}})
db.orders.replace_one({"_id": 100005}, {"_id": 100005, "replaced": True})
db.orders.delete_one({"_id": 100008})
db.customers.insert_one({"_id": "zz-new", "name": "new"})
db.customers.delete_one({"_id": "zz-new"})
