#!/usr/bin/python3
"""test_update_pymongo.py SERVER: the test server's update language driven
by PyMongo (Debian's python3-pymongo): the examples of MongoDB's
update-operator reference pages (each example's documents, update and
documented result), the errors MongoDB answers with (code and message),
and the change events' updateDescription as MongoDB 5.0 and later build
it."""
import datetime
import subprocess
import sys

import pymongo
from bson import Int64, ObjectId, Timestamp
from pymongo.errors import WriteError

failures = []


def check(name, got, want):
    if got != want:
        failures.append(f"{name}:\n  got  {got!r}\n  want {want!r}")


def example(db, name, docs, update, want, filter=None, array_filters=None,
            upsert=False, many=True):
    """Seeds a collection with `docs`, applies the update, compares every
    document with `want`."""
    coll = db[name]
    coll.drop()
    if docs:
        coll.insert_many(docs)
    call = coll.update_many if many else coll.update_one
    try:
        call({} if filter is None else filter, update,
             array_filters=array_filters, upsert=upsert)
    except Exception as e:  # noqa: BLE001 - reported as a failure
        failures.append(f"{name}: {e!r}")
        return
    check(name, list(coll.find({}, {"_id": 1}).sort("_id", 1)) and
          [coll.find_one({"_id": d["_id"]}) for d in want], want)


def reference_examples(db):
    # $set
    product = {"_id": 100, "quantity": 250, "instock": True, "reorder": False,
               "details": {"model": "14QQ", "make": "Clothes Corp"},
               "tags": ["apparel", "clothing"],
               "ratings": [{"by": "Customer007", "rating": 4}]}
    example(db, "set_top", [product],
            {"$set": {"quantity": 500,
                      "details": {"model": "2600", "make": "Fashionaires"},
                      "tags": ["coats", "outerwear", "clothing"]}},
            [dict(product, quantity=500,
                  details={"model": "2600", "make": "Fashionaires"},
                  tags=["coats", "outerwear", "clothing"])],
            filter={"_id": 100}, many=False)
    example(db, "set_embedded", [product],
            {"$set": {"details.make": "Kustom Kidz"}},
            [dict(product, details={"model": "14QQ", "make": "Kustom Kidz"})],
            filter={"_id": 100}, many=False)
    example(db, "set_array_elements", [product],
            {"$set": {"tags.1": "rain gear", "ratings.0.rating": 2}},
            [dict(product, tags=["apparel", "rain gear"],
                  ratings=[{"by": "Customer007", "rating": 2}])],
            filter={"_id": 100}, many=False)
    # $unset
    example(db, "unset",
            [{"_id": 1, "item": "chisel", "sku": "C001", "quantity": 4,
              "instock": True},
             {"_id": 2, "item": "hammer", "sku": "unknown", "quantity": 3,
              "instock": True},
             {"_id": 3, "item": "nails", "sku": "unknown", "quantity": 100,
              "instock": True}],
            {"$unset": {"quantity": "", "instock": ""}},
            [{"_id": 1, "item": "chisel", "sku": "C001", "quantity": 4,
              "instock": True},
             {"_id": 2, "item": "hammer", "sku": "unknown"},
             {"_id": 3, "item": "nails", "sku": "unknown"}],
            filter={"sku": "unknown"})
    # $inc
    example(db, "inc",
            [{"_id": 1, "sku": "abc123", "quantity": 10,
              "metrics": {"orders": 2, "ratings": 3.5}}],
            {"$inc": {"quantity": -2, "metrics.orders": 1}},
            [{"_id": 1, "sku": "abc123", "quantity": 8,
              "metrics": {"orders": 3, "ratings": 3.5}}],
            filter={"sku": "abc123"}, many=False)
    # $mul (the reference's first example multiplies decimals: refused)
    example(db, "mul_missing", [{"_id": 2, "item": "Unknown"}],
            {"$mul": {"price": Int64(100)}},
            [{"_id": 2, "item": "Unknown", "price": Int64(0)}],
            filter={"_id": 2}, many=False)
    example(db, "mul_mixed", [{"_id": 3, "item": "Scarf", "price": Int64(10)}],
            {"$mul": {"price": 5}},
            [{"_id": 3, "item": "Scarf", "price": Int64(50)}],
            filter={"_id": 3}, many=False)
    # $min / $max
    scores = {"_id": 1, "highScore": 800, "lowScore": 200}
    example(db, "min_lower", [scores], {"$min": {"lowScore": 150}},
            [dict(scores, lowScore=150)], filter={"_id": 1})
    example(db, "min_higher", [scores], {"$min": {"lowScore": 250}},
            [scores], filter={"_id": 1})
    example(db, "max_higher", [scores], {"$max": {"highScore": 950}},
            [dict(scores, highScore=950)], filter={"_id": 1})
    example(db, "max_lower", [dict(scores, highScore=950)],
            {"$max": {"highScore": 870}}, [dict(scores, highScore=950)],
            filter={"_id": 1})
    tags = {"_id": 1, "desc": "crafts",
            "dateEntered": datetime.datetime(2013, 10, 1, 5, 0),
            "dateExpired": datetime.datetime(2013, 10, 1, 16, 38, 16)}
    example(db, "min_max_dates", [tags],
            {"$min": {"dateEntered": datetime.datetime(2013, 9, 25)},
             "$max": {"dateExpired": datetime.datetime(2013, 10, 1, 16, 38, 17)}},
            [dict(tags, dateEntered=datetime.datetime(2013, 9, 25),
                  dateExpired=datetime.datetime(2013, 10, 1, 16, 38, 17))],
            filter={"_id": 1})
    # $rename
    george = {"_id": 1, "alias": ["The American Cincinnatus",
                                  "The American Fabius"],
              "mobile": "555-555-5555",
              "nmae": {"first": "george", "last": "washington"}}
    example(db, "rename", [george], {"$rename": {"nmae": "name"}},
            [{"_id": 1, "alias": george["alias"], "mobile": "555-555-5555",
              "name": {"first": "george", "last": "washington"}}])
    example(db, "rename_embedded",
            [dict(george, nmae=None) and {"_id": 1, "name": {"first": "george",
                                                             "last": "washington"}}],
            {"$rename": {"name.first": "name.fname"}},
            [{"_id": 1, "name": {"last": "washington", "fname": "george"}}])
    example(db, "rename_missing", [george], {"$rename": {"wife": "spouse"}},
            [george])
    # $push and its modifiers
    example(db, "push", [{"_id": 1, "scores": [44, 78, 38, 80]}],
            {"$push": {"scores": 89}},
            [{"_id": 1, "scores": [44, 78, 38, 80, 89]}], filter={"_id": 1})
    example(db, "push_each", [{"_id": 1, "scores": [44, 78, 38, 80]}],
            {"$push": {"scores": {"$each": [90, 92, 85]}}},
            [{"_id": 1, "scores": [44, 78, 38, 80, 90, 92, 85]}])
    quizzes = [{"wk": 1, "score": 10}, {"wk": 2, "score": 8},
               {"wk": 3, "score": 5}, {"wk": 4, "score": 6}]
    example(db, "push_modifiers", [{"_id": 5, "quizzes": quizzes}],
            {"$push": {"quizzes": {"$each": [{"wk": 5, "score": 8},
                                             {"wk": 6, "score": 7},
                                             {"wk": 7, "score": 6}],
                                   "$sort": {"score": -1}, "$slice": 3}}},
            [{"_id": 5, "quizzes": [{"wk": 1, "score": 10},
                                    {"wk": 2, "score": 8},
                                    {"wk": 5, "score": 8}]}])
    example(db, "position_0", [{"_id": 1, "scores": [100]}],
            {"$push": {"scores": {"$each": [50, 60, 70], "$position": 0}}},
            [{"_id": 1, "scores": [50, 60, 70, 100]}])
    example(db, "position_2", [{"_id": 2, "scores": [50, 60, 70, 100]}],
            {"$push": {"scores": {"$each": [20, 30], "$position": 2}}},
            [{"_id": 2, "scores": [50, 60, 20, 30, 70, 100]}])
    example(db, "position_negative",
            [{"_id": 3, "scores": [50, 60, 20, 30, 70, 100]}],
            {"$push": {"scores": {"$each": [90, 80], "$position": -2}}},
            [{"_id": 3, "scores": [50, 60, 20, 30, 90, 80, 70, 100]}])
    example(db, "slice_negative", [{"_id": 1, "scores": [40, 50, 60]}],
            {"$push": {"scores": {"$each": [80, 78, 86], "$slice": -5}}},
            [{"_id": 1, "scores": [50, 60, 80, 78, 86]}])
    example(db, "slice_positive", [{"_id": 2, "scores": [89, 90]}],
            {"$push": {"scores": {"$each": [100, 20], "$slice": 3}}},
            [{"_id": 2, "scores": [89, 90, 100]}])
    example(db, "slice_only", [{"_id": 3, "scores": [89, 70, 100, 20]}],
            {"$push": {"scores": {"$each": [], "$slice": -3}}},
            [{"_id": 3, "scores": [70, 100, 20]}])
    example(db, "sort_fields",
            [{"_id": 1, "quizzes": [{"id": 1, "score": 6},
                                    {"id": 2, "score": 9}]}],
            {"$push": {"quizzes": {"$each": [{"id": 3, "score": 8},
                                             {"id": 4, "score": 7},
                                             {"id": 5, "score": 6}],
                                   "$sort": {"score": 1}}}},
            [{"_id": 1, "quizzes": [{"id": 1, "score": 6},
                                    {"id": 5, "score": 6},
                                    {"id": 4, "score": 7},
                                    {"id": 3, "score": 8},
                                    {"id": 2, "score": 9}]}])
    example(db, "sort_values", [{"_id": 2, "tests": [89, 70, 89, 50]}],
            {"$push": {"tests": {"$each": [40, 60], "$sort": 1}}},
            [{"_id": 2, "tests": [40, 50, 60, 70, 89, 89]}])
    example(db, "sort_only", [{"_id": 3, "tests": [89, 70, 100, 20]}],
            {"$push": {"tests": {"$each": [], "$sort": -1}}},
            [{"_id": 3, "tests": [100, 89, 70, 20]}])
    # $addToSet
    example(db, "add_array", [{"_id": 1, "letters": ["a", "b"]}],
            {"$addToSet": {"letters": ["c", "d"]}},
            [{"_id": 1, "letters": ["a", "b", ["c", "d"]]}])
    filt = {"_id": 1, "item": "polarizing_filter",
            "tags": ["electronics", "camera"]}
    example(db, "add_value", [filt], {"$addToSet": {"tags": "accessories"}},
            [dict(filt, tags=["electronics", "camera", "accessories"])])
    example(db, "add_existing", [filt], {"$addToSet": {"tags": "camera"}},
            [filt])
    example(db, "add_each",
            [{"_id": 2, "item": "cable", "tags": ["electronics", "supplies"]}],
            {"$addToSet": {"tags": {"$each": ["camera", "electronics",
                                              "accessories"]}}},
            [{"_id": 2, "item": "cable",
              "tags": ["electronics", "supplies", "camera", "accessories"]}])
    # $pop
    example(db, "pop_first", [{"_id": 1, "scores": [8, 9, 10]}],
            {"$pop": {"scores": -1}}, [{"_id": 1, "scores": [9, 10]}])
    example(db, "pop_last", [{"_id": 10, "scores": [9, 10]}],
            {"$pop": {"scores": 1}}, [{"_id": 10, "scores": [9]}])
    # $pull
    example(db, "pull_in_and_value",
            [{"_id": 1, "fruits": ["apples", "pears", "oranges", "grapes",
                                   "bananas"],
              "vegetables": ["carrots", "celery", "squash", "carrots"]},
             {"_id": 2, "fruits": ["plums", "kiwis", "oranges", "bananas",
                                   "apples"],
              "vegetables": ["broccoli", "zucchini", "carrots", "onions"]}],
            {"$pull": {"fruits": {"$in": ["apples", "oranges"]},
                       "vegetables": "carrots"}},
            [{"_id": 1, "fruits": ["pears", "grapes", "bananas"],
              "vegetables": ["celery", "squash"]},
             {"_id": 2, "fruits": ["plums", "kiwis", "bananas"],
              "vegetables": ["broccoli", "zucchini", "onions"]}])
    example(db, "pull_condition", [{"_id": 1, "votes": [3, 5, 6, 7, 7, 8]}],
            {"$pull": {"votes": {"$gte": 6}}}, [{"_id": 1, "votes": [3, 5]}])
    example(db, "pull_documents",
            [{"_id": 1, "results": [{"item": "A", "score": 5},
                                    {"item": "B", "score": 8}]},
             {"_id": 2, "results": [{"item": "C", "score": 8},
                                    {"item": "B", "score": 4}]}],
            {"$pull": {"results": {"score": 8, "item": "B"}}},
            [{"_id": 1, "results": [{"item": "A", "score": 5}]},
             {"_id": 2, "results": [{"item": "C", "score": 8},
                                    {"item": "B", "score": 4}]}])
    example(db, "pull_nested",
            [{"_id": 1, "results": [
                {"item": "A", "score": 5,
                 "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]},
                {"item": "B", "score": 8,
                 "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 9}]}]},
             {"_id": 2, "results": [
                 {"item": "C", "score": 8,
                  "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 7}]},
                 {"item": "B", "score": 4,
                  "answers": [{"q": 1, "a": 0}, {"q": 2, "a": 8}]}]}],
            {"$pull": {"results": {"answers": {"$elemMatch": {
                "q": 2, "a": {"$gte": 8}}}}}},
            [{"_id": 1, "results": [
                {"item": "A", "score": 5,
                 "answers": [{"q": 1, "a": 4}, {"q": 2, "a": 6}]}]},
             {"_id": 2, "results": [
                 {"item": "C", "score": 8,
                  "answers": [{"q": 1, "a": 8}, {"q": 2, "a": 7}]}]}])
    example(db, "pull_all", [{"_id": 1, "scores": [0, 2, 5, 5, 1, 0]}],
            {"$pullAll": {"scores": [0, 5]}}, [{"_id": 1, "scores": [2, 1]}])
    # the positional $
    example(db, "positional",
            [{"_id": 1, "grades": [85, 80, 80]},
             {"_id": 2, "grades": [88, 90, 92]},
             {"_id": 3, "grades": [85, 100, 90]}],
            {"$set": {"grades.$": 82}},
            [{"_id": 1, "grades": [85, 82, 80]},
             {"_id": 2, "grades": [88, 90, 92]},
             {"_id": 3, "grades": [85, 100, 90]}],
            filter={"_id": 1, "grades": 80}, many=False)
    example(db, "positional_embedded",
            [{"_id": 4, "grades": [{"grade": 80, "mean": 75, "std": 8},
                                   {"grade": 85, "mean": 90, "std": 5},
                                   {"grade": 85, "mean": 85, "std": 8}]}],
            {"$set": {"grades.$.std": 6}},
            [{"_id": 4, "grades": [{"grade": 80, "mean": 75, "std": 8},
                                   {"grade": 85, "mean": 90, "std": 6},
                                   {"grade": 85, "mean": 85, "std": 8}]}],
            filter={"_id": 4, "grades.grade": 85}, many=False)
    example(db, "positional_comparison",
            [{"_id": 5, "grades": [{"grade": 80, "mean": 75, "std": 8},
                                   {"grade": 85, "mean": 90, "std": 5},
                                   {"grade": 90, "mean": 85, "std": 3}]}],
            {"$inc": {"grades.$.std": 1}},
            [{"_id": 5, "grades": [{"grade": 80, "mean": 75, "std": 8},
                                   {"grade": 85, "mean": 90, "std": 6},
                                   {"grade": 90, "mean": 85, "std": 3}]}],
            filter={"_id": 5, "grades": {"$elemMatch": {"grade": {"$lte": 90},
                                                        "mean": {"$gt": 80}}}},
            many=False)
    # $[] and $[<identifier>]
    three = [{"_id": 1, "grades": [85, 82, 80]},
             {"_id": 2, "grades": [88, 90, 92]},
             {"_id": 3, "grades": [85, 100, 90]}]
    example(db, "all_positional", three, {"$inc": {"grades.$[]": 10}},
            [{"_id": 1, "grades": [95, 92, 90]},
             {"_id": 2, "grades": [98, 100, 102]},
             {"_id": 3, "grades": [95, 110, 100]}])
    example(db, "all_positional_embedded",
            [{"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 8},
                                   {"grade": 85, "mean": 90, "std": 6},
                                   {"grade": 85, "mean": 85, "std": 8}]}],
            {"$inc": {"grades.$[].std": -2}},
            [{"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6},
                                   {"grade": 85, "mean": 90, "std": 4},
                                   {"grade": 85, "mean": 85, "std": 6}]}])
    example(db, "filtered_positional",
            [{"_id": 1, "grades": [95, 92, 90]},
             {"_id": 2, "grades": [98, 100, 102]},
             {"_id": 3, "grades": [95, 110, 100]}],
            {"$set": {"grades.$[element]": 100}},
            [{"_id": 1, "grades": [95, 92, 90]},
             {"_id": 2, "grades": [98, 100, 100]},
             {"_id": 3, "grades": [95, 100, 100]}],
            array_filters=[{"element": {"$gte": 100}}])
    example(db, "filtered_positional_embedded",
            [{"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6},
                                   {"grade": 85, "mean": 90, "std": 4},
                                   {"grade": 85, "mean": 85, "std": 6}]},
             {"_id": 2, "grades": [{"grade": 90, "mean": 75, "std": 6},
                                   {"grade": 87, "mean": 90, "std": 3},
                                   {"grade": 85, "mean": 85, "std": 4}]}],
            {"$set": {"grades.$[elem].mean": 100}},
            [{"_id": 1, "grades": [{"grade": 80, "mean": 75, "std": 6},
                                   {"grade": 85, "mean": 100, "std": 4},
                                   {"grade": 85, "mean": 100, "std": 6}]},
             {"_id": 2, "grades": [{"grade": 90, "mean": 100, "std": 6},
                                   {"grade": 87, "mean": 100, "std": 3},
                                   {"grade": 85, "mean": 100, "std": 4}]}],
            array_filters=[{"elem.grade": {"$gte": 85}}])
    example(db, "filtered_nested",
            [{"_id": 1, "grades": [{"type": "quiz", "questions": [10, 8, 5]},
                                   {"type": "quiz", "questions": [8, 9, 6]},
                                   {"type": "hw", "questions": [5, 4, 3]},
                                   {"type": "exam", "questions": [25, 10, 23, 0]}]}],
            {"$inc": {"grades.$[t].questions.$[score]": 2}},
            [{"_id": 1, "grades": [{"type": "quiz", "questions": [12, 10, 5]},
                                   {"type": "quiz", "questions": [10, 11, 6]},
                                   {"type": "hw", "questions": [5, 4, 3]},
                                   {"type": "exam", "questions": [25, 10, 23, 0]}]}],
            array_filters=[{"t.type": "quiz"}, {"score": {"$gte": 8}}])
    # a dotted path through missing documents, an index past the end
    example(db, "create_paths", [{"_id": 1, "a": [1]}],
            {"$set": {"x.y.z": 1, "a.3": 4}},
            [{"_id": 1, "a": [1, None, None, 4], "x": {"y": {"z": 1}}}])
    example(db, "unset_array_element", [{"_id": 1, "a": [1, 2, 3]}],
            {"$unset": {"a.1": ""}}, [{"_id": 1, "a": [1, None, 3]}])
    # $setOnInsert and upserts
    coll = db.upserts
    coll.drop()
    r = coll.update_one({"_id": 1}, {"$set": {"item": "apple"},
                                     "$setOnInsert": {"defaultQty": 100}},
                        upsert=True)
    check("setOnInsert upserted", r.upserted_id, 1)
    check("setOnInsert insert", coll.find_one({"_id": 1}),
          {"_id": 1, "item": "apple", "defaultQty": 100})
    coll.update_one({"_id": 1}, {"$set": {"item": "pear"},
                                 "$setOnInsert": {"defaultQty": 5}},
                    upsert=True)
    check("setOnInsert update", coll.find_one({"_id": 1}),
          {"_id": 1, "item": "pear", "defaultQty": 100})
    r = coll.update_one({"name": "Andy", "a.b": 1, "n": {"$gt": 3},
                         "$and": [{"c": {"$eq": 2}}]},
                        {"$inc": {"score": 1}}, upsert=True)
    doc = coll.find_one({"_id": r.upserted_id})
    check("upsert from the filter", doc,
          {"_id": r.upserted_id, "name": "Andy", "a": {"b": 1}, "c": 2,
           "score": 1})
    check("upsert _id first", list(doc)[0], "_id")
    r = coll.replace_one({"_id": 7, "x": 1}, {"y": 2}, upsert=True)
    check("replacement upsert", coll.find_one({"_id": 7}), {"_id": 7, "y": 2})
    # replacement
    coll.replace_one({"_id": 7}, {"z": 3})
    check("replace", coll.find_one({"_id": 7}), {"_id": 7, "z": 3})
    # pipeline-style updates
    example(db, "pipeline",
            [{"_id": 1, "member": "abc123", "status": "A", "points": 2,
              "misc1": "note to self: confirm status",
              "misc2": "Need to activate"}],
            [{"$set": {"status": "Modified",
                       "comments": ["$misc1", "$misc2"]}},
             {"$unset": ["misc1", "misc2"]}],
            [{"_id": 1, "member": "abc123", "status": "Modified", "points": 2,
              "comments": ["note to self: confirm status",
                           "Need to activate"]}], filter={"_id": 1})
    example(db, "pipeline_nested",
            [{"_id": 1, "specs": {"doors": 4}, "tests": [95, 92, 90]}],
            [{"$addFields": {"specs": {"fuel_type": "unleaded"},
                             "total": {"$add": ["$specs.doors", 1]}}}],
            [{"_id": 1, "specs": {"doors": 4, "fuel_type": "unleaded"},
              "tests": [95, 92, 90], "total": 5}])
    coll = db.pipeline_now
    coll.drop()
    coll.insert_one({"_id": 1})
    coll.update_one({"_id": 1}, [{"$set": {"at": "$$NOW"}}])
    check("$$NOW is a date",
          isinstance(coll.find_one({"_id": 1})["at"], datetime.datetime), True)
    # $currentDate
    coll = db.current_date
    coll.drop()
    coll.insert_one({"_id": 1, "status": "a",
                     "lastModified": datetime.datetime(2013, 10, 2, 1, 11, 18)})
    coll.update_one({"_id": 1}, {
        "$currentDate": {"lastModified": True,
                         "cancellation.date": {"$type": "timestamp"}},
        "$set": {"cancellation.reason": "user request", "status": "D"}})
    doc = coll.find_one({"_id": 1})
    check("currentDate date",
          doc["lastModified"] > datetime.datetime(2020, 1, 1), True)
    check("currentDate timestamp",
          isinstance(doc["cancellation"]["date"], Timestamp), True)
    check("currentDate others", (doc["status"], doc["cancellation"]["reason"],
                                 list(doc["cancellation"])),
          ("D", "user request", ["date", "reason"]))
    # fields created by one update come in MongoDB's order: by name
    coll = db.order
    coll.drop()
    coll.insert_one({"_id": 1})
    coll.update_one({"_id": 1}, {"$set": {"b": 1, "a": 1, "a10": 1, "a2": 1}})
    check("creation order", list(coll.find_one({"_id": 1})),
          ["_id", "a", "a10", "a2", "b"])
    # counts: matched and modified (a no-op is matched, not modified)
    coll = db.counts
    coll.drop()
    coll.insert_many([{"_id": i, "v": i % 2} for i in range(6)])
    r = coll.update_many({"v": 1}, {"$set": {"v": 1}})
    check("no-op counts", (r.matched_count, r.modified_count), (3, 0))
    r = coll.update_many({"v": {"$in": [0, 1]}}, {"$set": {"v": 1}})
    check("counts", (r.matched_count, r.modified_count), (6, 3))


ERRORS = [
    # (document, update, code, message, options)
    ({"a": 1}, {"$set": {"a": 2}, "$inc": {"a": 1}}, 40,
     "Updating the path 'a' would create a conflict at 'a'", {}),
    ({"a": 1}, {"$set": {"a.b": 2, "a": 1}}, 40,
     "Updating the path 'a' would create a conflict at 'a'", {}),
    ({"a": 1}, {"$set": {"a": 1, "a.b.c": 2}}, 40,
     "Updating the path 'a.b.c' would create a conflict at 'a'", {}),
    ({"a": [1]}, {"$set": {"a.$[]": 2, "a.0": 1}}, 40,
     "Updating the path 'a.0' would create a conflict at 'a'", {}),
    ({"a": [1]}, {"$set": {"a.0": 2, "a.$[]": 3}}, 40,
     "Updating the path 'a.$[]' would create a conflict at 'a'", {}),
    ({"a": [1]}, {"$set": {"a.$": 2, "a.0": 3}}, 40,
     "Update created a conflict at 'a.0'", {"filter": {"a": 1}}),
    ({"a": 1}, {"$foo": {"a": 1}}, 9,
     "Unknown modifier: $foo. Expected a valid update modifier or "
     "pipeline-style update specified as an array", {}),
    ({"a": 1}, {"$set": 1}, 9,
     "Modifiers operate on fields but we found type int instead. For "
     "example: {$mod: {<field>: ...}} not {$set: 1}", {}),
    ({"a": 1}, {"$inc": {"a": "x"}}, 14,
     "Cannot increment with non-numeric argument: {a: \"x\"}", {}),
    ({"a": "x"}, {"$inc": {"a": 1}}, 14,
     "Cannot apply $inc to a value of non-numeric type. {_id: 1} has the "
     "field 'a' of non-numeric type string", {}),
    ({"a": "x"}, {"$mul": {"a": 2}}, 14,
     "Cannot apply $mul to a value of non-numeric type. {_id: 1} has the "
     "field 'a' of non-numeric type string", {}),
    ({"a": 5}, {"$set": {"a.b": 1}}, 28,
     "Cannot create field 'b' in element {a: 5}", {}),
    ({"a": [1, 2]}, {"$set": {"a.x": 1}}, 28,
     "Cannot create field 'x' in element {a: [ 1, 2 ]}", {}),
    ({"a": 1}, {"$set": {"_id": 2}}, 66,
     "Performing an update on the path '_id' would modify the immutable "
     "field '_id'", {}),
    ({"a": 1}, {"$set": {"a..b": 1}}, 56,
     "The update path 'a..b' contains an empty field name, which is not "
     "allowed.", {}),
    ({"a": 5}, {"$push": {"a": 1}}, 2,
     "The field 'a' must be an array but is of type int in document {_id: 1}",
     {}),
    ({"a": 5}, {"$addToSet": {"a": 1}}, 2,
     "Cannot apply $addToSet to non-array field. Field named 'a' has "
     "non-array type int", {}),
    ({"a": 5}, {"$pull": {"a": 1}}, 2,
     "Cannot apply $pull to a non-array value", {}),
    ({"a": 5}, {"$pop": {"a": 1}}, 14,
     "Path 'a' contains an element of non-array type 'int'", {}),
    ({"a": [1]}, {"$pop": {"a": 2}}, 9, "$pop expects 1 or -1, found: 2", {}),
    ({"a": [1]}, {"$pullAll": {"a": 1}}, 2,
     "$pullAll requires an array argument but was given a int", {}),
    ({"a": [1]}, {"$push": {"a": {"$each": 1}}}, 2,
     "The argument to $each in $push must be an array but it was of type: "
     "int", {}),
    ({"a": [1]}, {"$push": {"a": {"$each": [2], "$bad": 1}}}, 2,
     "Unrecognized clause in $push: $bad", {}),
    ({"a": 1}, {"$rename": {"a": "a"}}, 2,
     "The source and target field for $rename must differ: a: \"a\"", {}),
    ({"a": 1}, {"$rename": {"a": 5}}, 2,
     "The 'to' field for $rename must be a string: a: 5", {}),
    ({"a": [1]}, {"$set": {"a.$": 2}}, 2,
     "The positional operator did not find the match needed from the query.",
     {}),
    ({"a": [1]}, {"$set": {"a.$[x]": 2}}, 2,
     "No array filter found for identifier 'x' in path 'a.$[x]'", {}),
    ({"a": [1]}, {"$set": {"a": [2]}}, 9,
     "The array filter for identifier 'x' was not used in the update "
     "{ $set: { a: [ 2 ] } }", {"array_filters": [{"x": 1}]}),
    ({"a": 1}, {"$set": {"b.$[]": 1}}, 2,
     "The path 'b' must exist in the document in order to apply array "
     "updates.", {}),
    ({"a": 1}, {"$set": {"a.$[]": 1}}, 2,
     "Cannot apply array updates to non-array element a: 1", {}),
    ({"a": 1}, {"$currentDate": {"a": {"$type": "bad"}}}, 2,
     "The '$type' string field is required to be 'date' or 'timestamp': "
     "{$currentDate: {field : {$type: 'date'}}}", {}),
    ({"a": 1}, {"$inc": {"a": Int64(2**63 - 1)}}, 2,
     "Failed to apply $inc operations to current value ((NumberLong)1) for "
     "document {_id: 1}", {}),
]


def errors(db):
    coll = db.errors
    for doc, update, code, message, options in ERRORS:
        coll.drop()
        coll.insert_one(dict(doc, _id=1))
        options = dict(options)
        filter = options.pop("filter", {"_id": 1})
        try:
            coll.update_one(filter, update, **options)
            failures.append(f"{update}: no error, want {code}")
        except WriteError as e:
            check(f"{update} code", e.code, code)
            check(f"{update} message", e.details.get("errmsg"), message)
        check(f"{update} leaves the document",
              coll.find_one({"_id": 1}), dict(doc, _id=1))
    coll.drop()
    coll.insert_one({"_id": 1})
    try:
        coll.replace_one({"_id": 1}, {"_id": 2, "x": 1})
        failures.append("replace altering _id: no error")
    except WriteError as e:
        check("replace _id code", e.code, 66)
        check("replace _id message", e.details.get("errmsg"),
              "After applying the update, the (immutable) field '_id' was "
              "found to have been altered to _id: 2")


def update_filters(db):
    """The query language behind update filters (match.c, which find
    uses too): how many documents each filter matches, as in MongoDB."""
    coll = db.filters
    coll.drop()
    coll.insert_many([
        {"_id": 1, "v": 5, "tags": ["a", "b"], "d": {"x": 1}},
        {"_id": 2, "v": 15, "tags": ["b"], "d": {"x": 2}},
        {"_id": 3, "v": "15", "tags": [], "items": [{"q": 1}, {"q": 3}]},
        {"_id": 4, "v": None},
        {"_id": 5},
    ])
    cases = [
        ({"v": {"$gt": 4}}, 2),            # numbers only: not "15"
        ({"v": {"$gte": 5, "$lt": 15}}, 1),
        ({"v": {"$ne": 5}}, 4),
        ({"v": None}, 2),                  # null, or missing
        ({"v": {"$exists": False}}, 1),
        ({"v": {"$in": [5, "15"]}}, 2),
        ({"v": {"$nin": [5, 15]}}, 3),
        ({"tags": "b"}, 2),                # an element equals
        ({"tags": ["b"]}, 1),              # the array equals
        ({"tags": {"$ne": "b"}}, 3),
        ({"d.x": {"$lte": 1}}, 1),
        ({"items.q": 3}, 1),               # through an array of documents
        ({"items": {"$elemMatch": {"q": {"$gt": 2}}}}, 1),
        ({"v": {"$regex": "^1"}}, 1),      # strings only: not 15
        ({"$or": [{"v": 5}, {"tags": {"$size": 0}}]}, 2),
        ({"$and": [{"v": {"$type": "x"}}]}, None),  # refused, not guessed
    ]
    for filter, want in cases:
        try:
            got = coll.update_many(filter, {"$inc": {"hits": 0}}).matched_count
        except WriteError as e:
            got = None if e.code == 2 else e.code
        check(f"filter {filter}", got, want)


def raw_errors(db):
    """Statements PyMongo's helpers would not send, sent as commands."""
    db.raw.drop()
    db.raw.insert_one({"_id": 1})
    cases = [
        ({"q": {}, "u": {"x": 1}, "multi": True}, 9,
         "multi update is not supported for replacement-style update"),
        ({"q": {"a": 1, "a.b": 2}, "u": {"$set": {"c": 1}}, "upsert": True},
         54, "cannot infer query fields to set, both paths 'a' and 'a.b' are "
         "matched"),
        ({"q": {"$and": [{"a": 1}, {"a": 2}]}, "u": {"$set": {"c": 1}},
          "upsert": True},
         54, "cannot infer query fields to set, path 'a' is matched twice"),
        ({"q": {"_id": 1}, "u": [{"$match": {}}]}, 72,
         "$match is not allowed to be used within an update"),
        ({"q": {"_id": 1}, "u": {"x": 1}, "arrayFilters": [{"i": 1}]}, 72,
         "arrayFilters may not be specified for replacement-style updates"),
        ({"q": {"a": {"$foo": "x"}}, "u": {"$set": {"c": 1}}}, 2,
         "unknown operator: $foo"),
    ]
    for statement, code, message in cases:
        reply = db.command({"update": "raw", "updates": [statement]})
        error = (reply.get("writeErrors") or [{}])[0]
        check(f"{statement} code", error.get("code"), code)
        if message:
            check(f"{statement} message", error.get("errmsg"), message)
    check("raw statements change nothing", list(db.raw.find()), [{"_id": 1}])


def change_events(db):
    """The updateDescription of each kind of change, as MongoDB builds it:
    an append to a non-empty array names the new index, most other array
    changes give the whole array, a pipeline update's diff can truncate."""
    coll = db.events
    coll.drop()
    coll.insert_one({"_id": 1, "details": {"make": "x", "model": "y"},
                     "scores": [1, 2, 3], "empty": [], "gone": 1,
                     "nmae": {"first": "g"}, "arr": [1, 2, 3, 4],
                     "long": list(range(10)),
                     "grades": [{"g": 1}, {"g": 2}]})
    cases = [
        ({"$set": {"details.make": "z"}},
         {"updatedFields": {"details.make": "z"}, "removedFields": [],
          "truncatedArrays": []}),
        ({"$push": {"scores": 4}},
         {"updatedFields": {"scores.3": 4}, "removedFields": [],
          "truncatedArrays": []}),
        ({"$push": {"scores": {"$each": [5, 6]}}},
         {"updatedFields": {"scores.4": 5, "scores.5": 6},
          "removedFields": [], "truncatedArrays": []}),
        ({"$push": {"empty": 1}},
         {"updatedFields": {"empty": [1]}, "removedFields": [],
          "truncatedArrays": []}),
        ({"$push": {"scores": {"$each": [0], "$position": 0}}},
         {"updatedFields": {"scores": [0, 1, 2, 3, 4, 5, 6]},
          "removedFields": [], "truncatedArrays": []}),
        ({"$pop": {"scores": 1}},
         {"updatedFields": {"scores": [0, 1, 2, 3, 4, 5]},
          "removedFields": [], "truncatedArrays": []}),
        ({"$unset": {"gone": ""}},
         {"updatedFields": {}, "removedFields": ["gone"],
          "truncatedArrays": []}),
        ({"$rename": {"nmae": "name"}},
         {"updatedFields": {"name": {"first": "g"}}, "removedFields": ["nmae"],
          "truncatedArrays": []}),
        ({"$set": {"new.deep.field": 1}},
         {"updatedFields": {"new": {"deep": {"field": 1}}},
          "removedFields": [], "truncatedArrays": []}),
        ({"$inc": {"grades.$[].g": 10}},
         {"updatedFields": {"grades.0.g": 11, "grades.1.g": 12},
          "removedFields": [], "truncatedArrays": []}),
        ({"$unset": {"arr.0": ""}},
         {"updatedFields": {"arr.0": None}, "removedFields": [],
          "truncatedArrays": []}),
        # a pipeline's diff: inside an array when that is smaller than the
        # array, else the array whole
        ([{"$set": {"long": list(range(8))}}],
         {"updatedFields": {}, "removedFields": [],
          "truncatedArrays": [{"field": "long", "newSize": 8}]}),
        ([{"$set": {"arr": [1, 9]}}],
         {"updatedFields": {"arr": [1, 9]}, "removedFields": [],
          "truncatedArrays": []}),
        ([{"$set": {"details.model": "w"}}, {"$unset": "name"}],
         {"updatedFields": {"details.model": "w"}, "removedFields": ["name"],
          "truncatedArrays": []}),
    ]
    with coll.watch(max_await_time_ms=300) as stream:
        for update, _ in cases:
            coll.update_one({"_id": 1}, update)
        coll.update_one({"_id": 1}, {"$set": {"details.make": "z"}})  # no-op
        coll.replace_one({"_id": 1}, {"replaced": True})
        # a pipeline diff larger than the small document: a replacement
        coll.update_one({"_id": 1}, [{"$set": {"replaced": 1}}])
        for update, want in cases:
            event = stream.next()
            check(f"event of {update}", (event["operationType"],
                                         event.get("updateDescription")),
                  ("update", want))
        event = stream.next()
        check("a no-op makes no event; a replacement a replace event",
              (event["operationType"], event["fullDocument"]),
              ("replace", {"_id": 1, "replaced": True}))
        event = stream.next()
        check("a pipeline whose diff outgrows the document",
              (event["operationType"], event["fullDocument"]),
              ("replace", {"_id": 1, "replaced": 1}))


def main():
    server = subprocess.Popen([sys.argv[1], "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        client = pymongo.MongoClient(
            f"mongodb://127.0.0.1:{port}/?replicaSet=rs0"
            "&serverSelectionTimeoutMS=5000")
        db = client.updates
        reference_examples(db)
        errors(db)
        update_filters(db)
        raw_errors(db)
        change_events(db)
        client.close()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
    for f in failures:
        print(f)
    print(f"{'FAILED' if failures else 'passed'}: update language "
          f"({len(failures)} failures)")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
