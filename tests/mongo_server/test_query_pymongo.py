#!/usr/bin/python3
"""test_query_pymongo.py SERVER: the test server's query language and the
commands applications read and select with, driven by PyMongo (Debian's
python3-pymongo): the examples of MongoDB's query-operator reference
pages (each example's documents, filter and documented result), sort,
skip, limit and projection on find, count_documents, distinct,
find_one_and_* (with the whole update language), update and delete by
filter, $match in aggregate, the index commands with unique keys (held on
inserts, updates and upserts), and the errors MongoDB answers with (code
and message)."""
import re
import subprocess
import sys

import pymongo
from bson import Int64, MaxKey, MinKey, ObjectId, Regex
from pymongo import ReturnDocument
from pymongo.errors import (BulkWriteError, DuplicateKeyError,
                            OperationFailure, WriteError)

failures = []


def check(name, got, want):
    if got != want:
        failures.append(f"{name}:\n  got  {got!r}\n  want {want!r}")


def seeded(db, name, docs):
    coll = db[name]
    coll.drop()
    if docs:
        coll.insert_many(docs)
    return coll


def ids(cursor):
    return [d["_id"] for d in cursor]


def example(db, name, docs, filter, want):
    """A reference example: `docs`, the filter, the _ids it finds (in
    _id order)."""
    coll = seeded(db, name, docs)
    try:
        check(name, sorted(ids(coll.find(filter)), key=repr), sorted(want, key=repr))
    except Exception as e:  # noqa: BLE001 - reported as a failure
        failures.append(f"{name}: {e!r}")


def error(name, call, code, message=None):
    """`call` fails with `code` (and `message`, when given, as its
    errmsg)."""
    try:
        call()
    except OperationFailure as e:
        check(f"{name} code", e.code, code)
        if message is not None:
            check(f"{name} message", e.details.get("errmsg"), message)
        return
    failures.append(f"{name}: no error, expected code {code}")


def comparison_examples(db):
    # $eq
    inventory = [
        {"_id": 1, "item": {"name": "ab", "code": "123"}, "qty": 15,
         "tags": ["A", "B", "C"]},
        {"_id": 2, "item": {"name": "cd", "code": "123"}, "qty": 20,
         "tags": ["B"]},
        {"_id": 3, "item": {"name": "ij", "code": "456"}, "qty": 25,
         "tags": ["A", "B"]},
        {"_id": 4, "item": {"name": "xy", "code": "456"}, "qty": 30,
         "tags": ["B", "A"]},
        {"_id": 5, "item": {"name": "mn", "code": "000"}, "qty": 20,
         "tags": [["A", "B"], "C"]},
    ]
    example(db, "eq_field", inventory, {"qty": {"$eq": 20}}, [2, 5])
    example(db, "eq_implicit", inventory, {"qty": 20}, [2, 5])
    example(db, "eq_embedded", inventory, {"item.name": {"$eq": "ab"}}, [1])
    example(db, "eq_array_element", inventory, {"tags": {"$eq": "B"}},
            [1, 2, 3, 4])
    example(db, "eq_array_value", inventory, {"tags": {"$eq": ["A", "B"]}},
            [3, 5])
    example(db, "eq_whole_document", inventory,
            {"item": {"name": "ab", "code": "123"}}, [1])
    example(db, "eq_document_field_order", inventory,
            {"item": {"code": "123", "name": "ab"}}, [])
    companies = [{"_id": 1, "company": "MongoDB"},
                 {"_id": 2, "company": "MongoDB2"}]
    example(db, "eq_string", companies, {"company": "MongoDB"}, [1])
    example(db, "eq_regex_value", companies,
            {"company": {"$eq": Regex("MongoDB")}}, [])
    example(db, "regex_implicit", companies, {"company": Regex("MongoDB")},
            [1, 2])
    example(db, "in_regex", companies, {"company": {"$in": [Regex("MongoDB")]}},
            [1, 2])
    # $gt, $gte, $lt, $lte, $ne
    carriers = [
        {"_id": 1, "item": "nuts", "quantity": 30,
         "carrier": {"name": "Shipit", "fee": 3}},
        {"_id": 2, "item": "bolts", "quantity": 50,
         "carrier": {"name": "Shipit", "fee": 4}},
        {"_id": 3, "item": "washers", "quantity": 10,
         "carrier": {"name": "Shipit", "fee": 1}},
    ]
    example(db, "gt", carriers, {"quantity": {"$gt": 20}}, [1, 2])
    example(db, "gte", carriers, {"quantity": {"$gte": 30}}, [1, 2])
    example(db, "lt", carriers, {"quantity": {"$lt": 20}}, [3])
    example(db, "lte", carriers, {"quantity": {"$lte": 30}}, [1, 3])
    example(db, "gt_embedded", carriers, {"carrier.fee": {"$gt": 2}}, [1, 2])
    example(db, "ne", carriers, {"quantity": {"$ne": 30}}, [2, 3])
    example(db, "ne_missing", carriers, {"carrier.state": {"$ne": "NY"}},
            [1, 2, 3])
    # $in, $nin
    supplies = [
        {"_id": 1, "item": "Pens", "quantity": 350, "tags": ["school", "office"]},
        {"_id": 2, "item": "Erasers", "quantity": 15, "tags": ["school", "home"]},
        {"_id": 3, "item": "Maps", "tags": ["office", "storage"]},
        {"_id": 4, "item": "Books", "quantity": 5,
         "tags": ["school", "storage", "home"]},
    ]
    example(db, "in", supplies, {"quantity": {"$in": [5, 15]}}, [2, 4])
    example(db, "in_regexes", supplies,
            {"tags": {"$in": [Regex("^be"), Regex("^st")]}}, [3, 4])
    example(db, "nin", supplies, {"quantity": {"$nin": [5, 15]}}, [1, 3])
    example(db, "nin_array", supplies, {"tags": {"$nin": ["school"]}}, [3])
    example(db, "in_null_missing", supplies, {"quantity": {"$in": [None, 5]}},
            [3, 4])


def bracketing_examples(db):
    """Comparisons match only values of the query value's type class;
    null matches a missing field; MinKey and MaxKey bound every type."""
    mixed = [
        {"_id": 1, "x": 1}, {"_id": 2, "x": "a"}, {"_id": 3, "x": None},
        {"_id": 4}, {"_id": 5, "x": [1, 5]}, {"_id": 6, "x": 2.5},
        {"_id": 7, "x": Int64(10)}, {"_id": 8, "x": {"y": 1}},
        {"_id": 9, "x": True}, {"_id": 10, "x": ["b", 0]},
    ]
    example(db, "gt_numbers_only", mixed, {"x": {"$gt": 0}}, [1, 5, 6, 7])
    example(db, "gt_strings_only", mixed, {"x": {"$gt": ""}}, [2, 10])
    example(db, "lt_number_int64_double", mixed, {"x": {"$lt": 10}},
            [1, 5, 6, 10])
    example(db, "eq_null_missing", mixed, {"x": None}, [3, 4])
    example(db, "gte_null", mixed, {"x": {"$gte": None}}, [3, 4])
    example(db, "gt_null_nothing", mixed, {"x": {"$gt": None}}, [])
    example(db, "exists_false", mixed, {"x": {"$exists": False}}, [4])
    example(db, "ne_null", mixed, {"x": {"$ne": None}},
            [1, 2, 5, 6, 7, 8, 9, 10])
    example(db, "gt_minkey", mixed, {"x": {"$gt": MinKey()}},
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    example(db, "lt_maxkey", mixed, {"x": {"$lt": MaxKey()}},
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    example(db, "gte_document", mixed, {"x": {"$gte": {"y": 0}}}, [8])
    example(db, "bool_not_number", mixed, {"x": {"$gte": 1}},
            [1, 5, 6, 7])
    example(db, "numbers_equal_across_types", mixed, {"x": 10.0}, [7])


def element_examples(db):
    # $exists
    spices = [
        {"_id": 1, "saffron": 5, "cinnamon": 5, "mustard": None},
        {"_id": 2, "saffron": 3, "cinnamon": None, "mustard": 8},
        {"_id": 3, "saffron": None, "cinnamon": 3, "mustard": 9},
        {"_id": 4, "saffron": 1, "cinnamon": 2, "mustard": 3},
        {"_id": 5, "saffron": 2, "mustard": 5},
        {"_id": 6, "saffron": 3, "cinnamon": 2},
        {"_id": 7, "saffron": 4},
        {"_id": 8, "cinnamon": 2, "mustard": 4},
        {"_id": 9, "cinnamon": 2},
        {"_id": 10, "mustard": 6},
    ]
    example(db, "exists_true", spices, {"saffron": {"$exists": True}},
            [1, 2, 3, 4, 5, 6, 7])
    example(db, "exists_false_spices", spices, {"cinnamon": {"$exists": False}},
            [5, 7, 10])
    # $type
    addresses = [
        {"_id": 1, "address": "2030 Martian Way", "zipCode": "90698345"},
        {"_id": 2, "address": "156 Lunar Place", "zipCode": 43339374.0},
        {"_id": 3, "address": "2324 Pluto Place", "zipCode": Int64(3921412)},
        {"_id": 4, "address": "55 Saturn Ring", "zipCode": 88602117},
        {"_id": 5, "address": "104 Venus Drive",
         "zipCode": ["834847278", "1893289032"]},
    ]
    example(db, "type_number_code", addresses, {"zipCode": {"$type": 2}}, [1, 5])
    example(db, "type_alias", addresses, {"zipCode": {"$type": "string"}},
            [1, 5])
    example(db, "type_double", addresses, {"zipCode": {"$type": "double"}}, [2])
    example(db, "type_number", addresses, {"zipCode": {"$type": "number"}},
            [2, 3, 4])
    example(db, "type_long", addresses, {"zipCode": {"$type": 18}}, [3])
    grades = [
        {"_id": 1, "name": "Alice King", "classAverage": 87.333333333333333},
        {"_id": 2, "name": "Bob Jenkins", "classAverage": "83.52"},
        {"_id": 3, "name": "Cathy Hart", "classAverage": "94.06"},
        {"_id": 4, "name": "Drew Williams", "classAverage": 93},
    ]
    example(db, "type_list", grades, {"classAverage": {"$type": [2, 1]}},
            [1, 2, 3])
    example(db, "type_list_aliases", grades,
            {"classAverage": {"$type": ["string", "double"]}}, [1, 2, 3])
    readings = [
        {"_id": 1, "readings": [25, 23, ["Warn: High Temp!", 55],
                                ["ERROR: SYSTEM SHUTDOWN!", 66]]},
        {"_id": 2, "readings": [25, 25, 24, 23]},
        {"_id": 3, "readings": [22, 24, []]},
        {"_id": 4, "readings": []},
        {"_id": 5, "readings": 24},
    ]
    example(db, "type_array", readings, {"readings": {"$type": "array"}},
            [1, 2, 3, 4])
    restaurants = [
        {"_id": 1, "grades": [{"grade": "A", "score": 11},
                              {"grade": MinKey(), "score": 2}]},
        {"_id": 2, "grades": [{"grade": MaxKey(), "score": 6},
                              {"grade": "B", "score": 17}]},
    ]
    example(db, "type_minkey", restaurants,
            {"grades.grade": {"$type": "minKey"}}, [1])
    example(db, "type_maxkey", restaurants,
            {"grades.grade": {"$type": "maxKey"}}, [2])


def logical_examples(db):
    inventory = [
        {"_id": 1, "item": "pens", "qty": 5, "price": 1.99, "sale": True},
        {"_id": 2, "item": "paper", "qty": 60, "price": 4.5, "sale": False},
        {"_id": 3, "item": "pencils", "qty": 20, "price": 1.99},
        {"_id": 4, "item": "ink", "qty": 80, "price": 12, "sale": True},
        {"_id": 5, "item": "clips", "qty": 100},
        {"_id": 6, "item": "tape", "qty": 8, "price": 6, "sale": False},
    ]
    example(db, "and", inventory,
            {"$and": [{"price": {"$ne": 1.99}}, {"price": {"$exists": True}}]},
            [2, 4, 6])
    example(db, "and_of_ors", inventory,
            {"$and": [{"$or": [{"qty": {"$lt": 10}}, {"qty": {"$gt": 50}}]},
                      {"$or": [{"sale": True}, {"price": {"$lt": 5}}]}]},
            [1, 2, 4])
    example(db, "or", inventory,
            {"$or": [{"qty": {"$lt": 20}}, {"price": 12}]}, [1, 4, 6])
    example(db, "nor", inventory,
            {"$nor": [{"price": 1.99}, {"sale": True}]}, [2, 5, 6])
    example(db, "not", inventory, {"price": {"$not": {"$gt": 1.99}}},
            [1, 3, 5])
    example(db, "not_regex", inventory, {"item": {"$not": Regex("^p.*")}},
            [4, 5, 6])
    example(db, "not_regex_operator", inventory,
            {"item": {"$not": {"$regex": "^p.*"}}}, [4, 5, 6])
    example(db, "implicit_and", inventory,
            {"qty": {"$gt": 5, "$lt": 60}, "item": {"$ne": "tape"}}, [3])


def regex_examples(db):
    products = [
        {"_id": 100, "sku": "abc123", "description": "Single line description."},
        {"_id": 101, "sku": "abc789", "description": "First line\nSecond line"},
        {"_id": 102, "sku": "xyz456", "description": "Many spaces before     line"},
        {"_id": 103, "sku": "xyz789", "description": "Multiple\nline description"},
        {"_id": 104, "sku": "Abc789", "description": "SKU starts with A"},
    ]
    example(db, "regex_like", products, {"sku": {"$regex": Regex("789$")}},
            [101, 103, 104])
    example(db, "regex_i", products, {"sku": {"$regex": Regex("^ABC", "i")}},
            [100, 101, 104])
    example(db, "regex_i_options", products,
            {"sku": {"$regex": "^ABC", "$options": "i"}}, [100, 101, 104])
    example(db, "regex_m", products,
            {"description": {"$regex": "^S", "$options": "m"}}, [100, 101, 104])
    example(db, "regex_no_m", products, {"description": {"$regex": "^S"}},
            [100, 104])
    example(db, "regex_s", products,
            {"description": {"$regex": "m.*line", "$options": "si"}},
            [102, 103])
    example(db, "regex_no_s", products,
            {"description": {"$regex": "m.*line", "$options": "i"}}, [102])
    example(db, "regex_x", products,
            {"sku": {"$regex": "abc #category code\n123 #item number",
                     "$options": "x"}}, [100])
    example(db, "regex_python_pattern", products,
            {"sku": re.compile("^abc", re.IGNORECASE)}, [100, 101, 104])
    example(db, "regex_pcre_class", products,
            {"description": {"$regex": r"\s{5}line"}}, [102])
    example(db, "regex_utf8", [{"_id": 1, "s": "café"}, {"_id": 2, "s": "cafe"}],
            {"s": {"$regex": "^caf.$"}}, [1, 2])


def array_examples(db):
    scores = [{"_id": 1, "results": [82, 85, 88]},
              {"_id": 2, "results": [75, 88, 89]}]
    example(db, "elemmatch_values", scores,
            {"results": {"$elemMatch": {"$gte": 80, "$lt": 85}}}, [1])
    example(db, "range_without_elemmatch", scores,
            {"results": {"$gte": 80, "$lt": 85}}, [1, 2])
    surveys = [
        {"_id": 1, "results": [{"product": "abc", "score": 10},
                               {"product": "xyz", "score": 5}]},
        {"_id": 2, "results": [{"product": "abc", "score": 8},
                               {"product": "xyz", "score": 7}]},
        {"_id": 3, "results": [{"product": "abc", "score": 7},
                               {"product": "xyz", "score": 8}]},
        {"_id": 4, "results": [{"product": "abc", "score": 7},
                               {"product": "def", "score": 8}]},
    ]
    example(db, "elemmatch_documents", surveys,
            {"results": {"$elemMatch": {"product": "xyz", "score": {"$gte": 8}}}},
            [3])
    example(db, "elemmatch_single", surveys,
            {"results": {"$elemMatch": {"product": "xyz"}}}, [1, 2, 3])
    example(db, "dotted_single", surveys, {"results.product": "xyz"},
            [1, 2, 3])
    example(db, "elemmatch_ne", surveys,
            {"results": {"$elemMatch": {"product": {"$ne": "xyz"}}}},
            [1, 2, 3, 4])
    example(db, "dotted_ne", surveys, {"results.product": {"$ne": "xyz"}}, [4])
    example(db, "dotted_index", surveys, {"results.1.product": "def"}, [4])
    example(db, "dotted_index_value", scores, {"results.0": 75}, [2])
    fields = [{"_id": 1, "field": ["red", "green"]},
              {"_id": 2, "field": ["apple", "lime"]},
              {"_id": 3, "field": "fruit"},
              {"_id": 4, "field": ["orange", "lemon", "grapefruit"]}]
    example(db, "size", fields, {"field": {"$size": 2}}, [1, 2])
    example(db, "size_one", fields, {"field": {"$size": 1}}, [])
    tagged = [
        {"_id": 1, "code": "xyz",
         "tags": ["school", "book", "bag", "headphone", "appliance"],
         "qty": [{"size": "S", "num": 10, "color": "blue"},
                 {"size": "M", "num": 45, "color": "blue"},
                 {"size": "L", "num": 100, "color": "green"}]},
        {"_id": 2, "code": "abc", "tags": ["appliance", "school", "book"],
         "qty": [{"size": "6", "num": 100, "color": "green"},
                 {"size": "6", "num": 50, "color": "blue"},
                 {"size": "8", "num": 100, "color": "brown"}]},
        {"_id": 3, "code": "efg", "tags": ["school", "book"],
         "qty": [{"size": "S", "num": 10, "color": "blue"},
                 {"size": "M", "num": 100, "color": "blue"},
                 {"size": "L", "num": 100, "color": "green"}]},
        {"_id": 4, "code": "ijk", "tags": ["electronics", "school"],
         "qty": [{"size": "M", "num": 100, "color": "green"}]},
    ]
    example(db, "all", tagged, {"tags": {"$all": ["appliance", "school", "book"]}},
            [1, 2])
    example(db, "all_elemmatch", tagged,
            {"qty": {"$all": [
                {"$elemMatch": {"size": "M", "num": {"$gt": 50}}},
                {"$elemMatch": {"num": 100, "color": "green"}}]}}, [3, 4])
    example(db, "all_dotted", tagged, {"qty.num": {"$all": [50]}}, [2])
    example(db, "all_empty", tagged, {"tags": {"$all": []}}, [])
    nested = [{"_id": 1, "a": [{"b": [{"c": 1}, {"c": 2}]}, {"b": {"c": 3}}]},
              {"_id": 2, "a": {"b": [{"c": 4}]}},
              {"_id": 3, "a": [[{"b": {"c": 1}}]]},
              {"_id": 4, "a": [1, 2]},
              {"_id": 5, "a": [{"b": {"d": 1}}]}]
    example(db, "dotted_through_arrays", nested, {"a.b.c": 2}, [1])
    example(db, "dotted_through_array_and_document", nested, {"a.b.c": 4}, [2])
    example(db, "no_traversal_of_nested_arrays", nested, {"a.b.c": 1}, [1])
    example(db, "dotted_null_missing_in_elements", nested, {"a.b.c": None},
            [5])
    example(db, "mod", [{"_id": 1, "q": 0}, {"_id": 2, "q": 5}, {"_id": 3, "q": 12},
                        {"_id": 4, "q": 12.9}],
            {"q": {"$mod": [4, 0]}}, [1, 3, 4])


def sort_skip_limit_projection(db):
    restaurants = seeded(db, "restaurants", [
        {"_id": 1, "name": "Central Park Cafe", "borough": "Manhattan"},
        {"_id": 2, "name": "Rock A Feller Bar and Grill", "borough": "Queens"},
        {"_id": 3, "name": "Empire State Pub", "borough": "Brooklyn"},
        {"_id": 4, "name": "Stan's Pizzaria", "borough": "Manhattan"},
        {"_id": 5, "name": "Jane's Deli", "borough": "Brooklyn"},
    ])
    check("sort_two_keys",
          ids(restaurants.find().sort([("borough", 1), ("_id", 1)])),
          [3, 5, 1, 4, 2])
    check("sort_descending_then_ascending",
          ids(restaurants.find().sort([("borough", -1), ("name", 1)])),
          [2, 1, 4, 3, 5])
    check("skip_limit", ids(restaurants.find().sort("name", 1).skip(1).limit(2)),
          [3, 5])
    check("sort_batches", ids(restaurants.find(batch_size=2).sort("name", -1)),
          [4, 2, 5, 3, 1])
    check("limit_by_id", ids(restaurants.find().limit(3)), [1, 2, 3])
    check("skip_by_id_descending",
          ids(restaurants.find().sort("_id", -1).skip(3)), [2, 1])
    shoes = seeded(db, "shoes", [{"_id": "A", "sizes": [7, 11]},
                                 {"_id": "B", "sizes": [8, 9, 10]}])
    check("sort_array_ascending_by_min", ids(shoes.find().sort("sizes", 1)),
          ["A", "B"])
    check("sort_array_descending_by_max", ids(shoes.find().sort("sizes", -1)),
          ["A", "B"])
    order = seeded(db, "order", [
        {"_id": 1, "a": None}, {"_id": 2}, {"_id": 3, "a": []},
        {"_id": 4, "a": 1}, {"_id": 5, "a": "x"}, {"_id": 6, "a": {"b": 1}},
        {"_id": 7, "a": ObjectId("5f0000000000000000000000")},
        {"_id": 8, "a": True}, {"_id": 9, "a": MaxKey()},
        {"_id": 10, "a": MinKey()}, {"_id": 11, "a": 0.5},
    ])
    check("sort_type_order", ids(order.find().sort([("a", 1), ("_id", 1)])),
          [10, 3, 1, 2, 11, 4, 5, 6, 7, 8, 9])
    check("sort_dotted", ids(seeded(db, "dotted", [
        {"_id": 1, "p": {"q": 3}}, {"_id": 2, "p": {"q": 1}},
        {"_id": 3, "p": [{"q": 2}, {"q": 0.5}]}]).find().sort("p.q", 1)),
        [3, 2, 1])
    journal = seeded(db, "projection", [
        {"_id": 1, "item": "journal", "status": "A",
         "size": {"h": 14, "w": 21, "uom": "cm"},
         "instock": [{"warehouse": "A", "qty": 5}, 7]},
    ])
    check("project_include", journal.find_one({}, {"item": 1, "status": 1}),
          {"_id": 1, "item": "journal", "status": "A"})
    check("project_include_no_id",
          journal.find_one({}, {"item": 1, "status": 1, "_id": 0}),
          {"item": "journal", "status": "A"})
    check("project_exclude", journal.find_one({}, {"status": 0, "instock": 0}),
          {"_id": 1, "item": "journal", "size": {"h": 14, "w": 21, "uom": "cm"}})
    check("project_include_dotted",
          journal.find_one({}, {"item": 1, "size.uom": 1}),
          {"_id": 1, "item": "journal", "size": {"uom": "cm"}})
    check("project_include_nested_form",
          journal.find_one({}, {"size": {"uom": 1}, "_id": 0}),
          {"size": {"uom": "cm"}})
    check("project_exclude_dotted", journal.find_one({}, {"size.uom": 0}),
          {"_id": 1, "item": "journal", "status": "A",
           "size": {"h": 14, "w": 21},
           "instock": [{"warehouse": "A", "qty": 5}, 7]})
    check("project_include_through_array",
          journal.find_one({}, {"instock.qty": 1, "_id": 0}),
          {"instock": [{"qty": 5}]})
    check("project_only_id", journal.find_one({}, {"_id": 1}), {"_id": 1})
    check("project_exclude_only_id", journal.find_one({}, {"_id": 0, "size": 0,
                                                           "instock": 0}),
          {"item": "journal", "status": "A"})
    check("project_sorted", [d for d in restaurants.find(
        {"borough": "Brooklyn"}, {"name": 1, "_id": 0}).sort("name", 1)],
        [{"name": "Empire State Pub"}, {"name": "Jane's Deli"}])


def reads_and_writes_by_filter(db):
    orders = seeded(db, "orders", [
        {"_id": i, "m": i % 3, "tags": ["even" if i % 2 == 0 else "odd"],
         "who": {"name": f"n{i % 4}"}} for i in range(30)])
    check("count_documents", orders.count_documents({"m": 1}), 10)
    check("count_documents_skip_limit",
          orders.count_documents({"m": 1}, skip=2, limit=5), 5)
    check("count_documents_skip_past", orders.count_documents({"m": 1}, skip=9),
          1)
    check("count_command", db.command("count", "orders",
                                      query={"tags": "odd"})["n"], 15)
    check("count_command_limit", db.command("count", "orders",
                                            query={}, limit=4)["n"], 4)
    check("estimated", orders.estimated_document_count(), 30)
    check("distinct", orders.distinct("m"), [0, 1, 2])
    check("distinct_array", orders.distinct("tags"), ["even", "odd"])
    check("distinct_dotted_filtered", orders.distinct("who.name", {"m": 0}),
          ["n0", "n1", "n2", "n3"])
    check("distinct_missing", orders.distinct("nothing"), [])
    result = orders.update_many({"m": 2}, {"$set": {"flag": True}})
    check("update_many_matched", (result.matched_count, result.modified_count),
          (10, 10))
    check("update_many_applied", orders.count_documents({"flag": True}), 10)
    result = orders.update_one({"tags": "odd", "m": 0}, {"$inc": {"m": 10}})
    check("update_one_first", (result.matched_count,
                               orders.find_one({"m": 10})["_id"]), (1, 3))
    check("delete_many", orders.delete_many({"m": 1}).deleted_count, 10)
    check("delete_one", orders.delete_one({"tags": "even"}).deleted_count, 1)
    check("after_deletes", orders.count_documents({}), 19)
    check("aggregate_match_sort_limit",
          [d["_id"] for d in orders.aggregate([
              {"$match": {"flag": True, "_id": {"$gt": 10}}},
              {"$sort": {"_id": -1}}, {"$limit": 3}])], [29, 26, 23])
    check("aggregate_sort_dotted",
          [d["_id"] for d in orders.aggregate([
              {"$match": {"_id": {"$lt": 8}}},
              {"$sort": {"who.name": 1, "_id": -1}}])], [5, 6, 2, 3])
    check("upsert_by_filter", orders.update_one(
        {"_id": 100}, {"$set": {"m": 7}}, upsert=True).upserted_id, 100)
    with orders.watch(max_await_time_ms=300) as stream:
        orders.delete_many({"_id": {"$in": [2, 100, 3]}})
        check("delete_events_in_id_order",
              [stream.next()["documentKey"]["_id"] for _ in range(2)],
              [2, 3])


def find_and_modify(db):
    coll = seeded(db, "fam", [{"_id": i, "n": i, "g": i % 2} for i in range(6)])
    check("one_and_update_before",
          coll.find_one_and_update({"g": 1}, {"$inc": {"n": 100}},
                                   sort=[("n", -1)]),
          {"_id": 5, "n": 5, "g": 1})
    check("one_and_update_after",
          coll.find_one_and_update({"g": 1}, {"$set": {"x": 1}},
                                   sort=[("n", -1)],
                                   return_document=ReturnDocument.AFTER,
                                   projection={"_id": 0, "n": 1}),
          {"n": 105})
    check("one_and_replace",
          coll.find_one_and_replace({"n": 2}, {"n": 20},
                                    return_document=ReturnDocument.AFTER),
          {"_id": 2, "n": 20})
    check("one_and_delete",
          coll.find_one_and_delete({"g": 0}, sort=[("n", 1)]),
          {"_id": 0, "n": 0, "g": 0})
    check("one_and_delete_none", coll.find_one_and_delete({"g": 9}), None)
    check("one_and_update_none",
          coll.find_one_and_update({"g": 9}, {"$set": {"x": 1}}), None)
    check("upsert_before",
          coll.find_one_and_update({"_id": 50}, {"$set": {"n": 50}},
                                   upsert=True), None)
    check("upsert_after",
          coll.find_one_and_update({"_id": 51}, {"$set": {"n": 51}},
                                   upsert=True,
                                   return_document=ReturnDocument.AFTER),
          {"_id": 51, "n": 51})
    reply = db.command("findAndModify", "fam", query={"_id": 52},
                       update={"$set": {"n": 1}}, upsert=True)
    check("upsert_last_error_object", reply["lastErrorObject"],
          {"n": 1, "updatedExisting": False, "upserted": 52})
    reply = db.command("findAndModify", "fam", query={"_id": 52},
                       update={"$set": {"n": 2}})
    check("update_last_error_object", reply["lastErrorObject"],
          {"n": 1, "updatedExisting": True})
    error("fam_update_and_remove",
          lambda: db.command("findAndModify", "fam", query={},
                             update={"$set": {"n": 1}}, remove=True),
          9, "Cannot specify both an update and remove=true")
    error("fam_neither", lambda: db.command("findAndModify", "fam", query={}),
          9, "Either an update or remove=true must be specified")
    error("fam_remove_new",
          lambda: db.command("findAndModify", "fam", query={}, remove=True,
                             new=True),
          9, "Cannot specify both new=true and remove=true; 'remove' always "
             "returns the deleted document")
    error("fam_bad_filter",
          lambda: coll.find_one_and_delete({"n": {"$bad": 1}}), 2,
          "unknown operator: $bad")


def find_and_modify_update_language(db):
    """findAndModify updates with the whole update language (update.c):
    dotted paths, $push's modifiers, the positional $, arrayFilters,
    pipelines, upserts of the filter's fields, its errors, and the change
    events of the update command."""
    coll = seeded(db, "famu", [{"_id": 1, "a": {"b": 1}, "arr": [3, 1, 2],
                                "items": [{"k": 1, "v": 0}, {"k": 2, "v": 0}]}])
    after = ReturnDocument.AFTER
    with coll.watch(max_await_time_ms=300) as stream:
        check("fam_dotted_and_push", coll.find_one_and_update(
            {"_id": 1}, {"$set": {"a.c": 2},
                         "$push": {"arr": {"$each": [0], "$sort": 1}}},
            return_document=after, projection={"a": 1, "arr": 1}),
            {"_id": 1, "a": {"b": 1, "c": 2}, "arr": [0, 1, 2, 3]})
        check("fam_dotted_event",
              stream.next()["updateDescription"]["updatedFields"],
              {"a.c": 2, "arr": [0, 1, 2, 3]})
    check("fam_positional", coll.find_one_and_update(
        {"arr": 2}, {"$set": {"arr.$": 20}}, return_document=after)["arr"],
        [0, 1, 20, 3])
    check("fam_array_filters", coll.find_one_and_update(
        {"_id": 1}, {"$inc": {"items.$[i].v": 5}},
        array_filters=[{"i.k": 2}], return_document=after)["items"],
        [{"k": 1, "v": 0}, {"k": 2, "v": 5}])
    check("fam_pipeline", coll.find_one_and_update(
        {"_id": 1}, [{"$set": {"total": {"$add": ["$a.b", "$a.c"]}}},
                     {"$unset": ["items"]}],
        return_document=after, projection={"items": 1, "total": 1}),
        {"_id": 1, "total": 3})
    check("fam_upsert_filter_fields", coll.find_one_and_update(
        {"k.x": 7, "n": {"$gt": 1}}, {"$set": {"y": 1}}, upsert=True,
        return_document=after, projection={"_id": 0}),
        {"k": {"x": 7}, "y": 1})
    check("fam_upsert_replacement", coll.find_one_and_replace(
        {"_id": 9, "z": 1}, {"r": 1}, upsert=True, return_document=after),
        {"_id": 9, "r": 1})
    error("fam_immutable_id",
          lambda: coll.find_one_and_update({"_id": 1}, {"$set": {"_id": 2}}),
          66, "Performing an update on the path '_id' would modify the "
              "immutable field '_id'")
    error("fam_conflict",
          lambda: coll.find_one_and_update(
              {"_id": 1}, {"$set": {"a": 1}, "$inc": {"a": 1}}),
          40, "Updating the path 'a' would create a conflict at 'a'")
    error("fam_unused_array_filter",
          lambda: coll.find_one_and_update(
              {"_id": 1}, {"$set": {"a.b": 1}}, array_filters=[{"i": 1}]),
          9, "The array filter for identifier 'i' was not used in the "
             "update { $set: { a.b: 1 } }")
    check("fam_errors_change_nothing", coll.find_one({"_id": 1})["a"],
          {"b": 1, "c": 2})


def unique_keys_on_updates(db):
    """Unique indexes hold for every write of the update language: operator
    updates on dotted paths, replacements, pipelines, upserts (by update
    and by findAndModify); the document is left as it was."""
    coll = seeded(db, "uniq", [{"_id": 1, "p": {"email": "a"}},
                               {"_id": 2, "p": {"email": "b"}}])
    coll.create_index("p.email", unique=True)
    dup_a = ('E11000 duplicate key error collection: query.uniq index: '
             'p.email_1 dup key: { p.email: "a" }')
    for name, call in [
            ("operators", lambda: coll.update_one(
                {"_id": 2}, {"$set": {"p.email": "a"}})),
            ("replacement", lambda: coll.replace_one(
                {"_id": 2}, {"p": {"email": "a"}})),
            ("pipeline", lambda: coll.update_one(
                {"_id": 2}, [{"$set": {"p": {"email": "a"}}}])),
            ("upsert", lambda: coll.update_one(
                {"_id": 3}, {"$set": {"p.email": "a"}}, upsert=True)),
            ("fam", lambda: coll.find_one_and_update(
                {"_id": 2}, {"$set": {"p.email": "a"}})),
            ("fam_upsert", lambda: coll.find_one_and_update(
                {"_id": 3}, {"$set": {"p.email": "a"}}, upsert=True))]:
        error(f"unique_{name}", call, 11000, dup_a)
    error("unique_upsert_taken_id",
          lambda: coll.update_one({"_id": 1, "q": 5}, {"$set": {"y": 1}},
                                  upsert=True),
          11000, "E11000 duplicate key error collection: query.uniq index: "
                 "_id_ dup key: { _id: 1 }")
    check("unique_left_alone", list(coll.find()),
          [{"_id": 1, "p": {"email": "a"}}, {"_id": 2, "p": {"email": "b"}}])
    error("unique_update_many",
          lambda: coll.update_many({}, {"$set": {"p.email": "same"}}), 11000)
    check("unique_update_many_first_written",
          [d["p"]["email"] for d in coll.find()], ["same", "b"])
    check("unique_own_document", coll.update_one(
        {"_id": 2}, {"$set": {"p.email": "b", "n": 1}}).modified_count, 1)


def indexes(db):
    users = seeded(db, "users", [{"_id": 1, "email": "a@x", "tags": ["p", "q"]},
                                 {"_id": 2, "email": "b@x", "tags": ["r"]}])
    check("create_index_name", users.create_index("email", unique=True),
          "email_1")
    check("create_index_again", users.create_index("email", unique=True),
          "email_1")
    check("create_compound", users.create_index([("a", 1), ("b", -1)]),
          "a_1_b_-1")
    check("list_indexes", [(i["name"], dict(i["key"]), i.get("unique"))
                           for i in users.list_indexes()],
          [("_id_", {"_id": 1}, None), ("email_1", {"email": 1}, True),
           ("a_1_b_-1", {"a": 1, "b": -1}, None)])
    check("index_information", sorted(users.index_information()),
          ["_id_", "a_1_b_-1", "email_1"])
    try:
        users.insert_one({"_id": 3, "email": "a@x"})
        failures.append("unique insert: no error")
    except DuplicateKeyError as e:
        check("unique_insert_code", e.code, 11000)
        check("unique_insert_message", e.details["errmsg"],
              'E11000 duplicate key error collection: query.users index: '
              'email_1 dup key: { email: "a@x" }')
    try:
        users.insert_one({"_id": 1, "email": "z@x"})
        failures.append("duplicate _id: no error")
    except DuplicateKeyError as e:
        check("duplicate_id_message", e.details["errmsg"],
              'E11000 duplicate key error collection: query.users index: '
              '_id_ dup key: { _id: 1 }')
    try:
        users.update_one({"_id": 2}, {"$set": {"email": "a@x"}})
        failures.append("unique update: no error")
    except WriteError as e:
        check("unique_update_code", e.code, 11000)
    check("unique_update_left_alone", users.find_one({"_id": 2})["email"],
          "b@x")
    try:
        users.insert_many([{"_id": 10, "email": "c@x"},
                           {"_id": 11, "email": "c@x"},
                           {"_id": 12, "email": "d@x"}])
        failures.append("unique insert_many: no error")
    except BulkWriteError as e:
        check("unique_insert_many", (e.details["nInserted"],
                                     e.details["writeErrors"][0]["index"]),
              (1, 1))
    check("unique_own_update", users.update_one(
        {"_id": 1}, {"$set": {"email": "a@x", "v": 1}}).matched_count, 1)
    users.create_index("tags", unique=True)
    try:
        users.insert_one({"_id": 20, "email": "t@x", "tags": ["z", "q"]})
        failures.append("unique array element: no error")
    except DuplicateKeyError as e:
        check("unique_array_element", e.details["errmsg"].endswith(
            'index: tags_1 dup key: { tags: "q" }'), True)
    error("unique_build_over_duplicates",
          lambda: users.create_index("n", unique=True), 11000)
    check("sparse_unique", users.create_index("s", unique=True, sparse=True),
          "s_1")
    users.insert_one({"_id": 30, "email": "s@x", "s": 1, "tags": ["s"]})
    error("same_key_other_name",
          lambda: users.create_index("email", unique=True, name="mail"), 85,
          "Index already exists with a different name: email_1")
    error("same_name_other_key",
          lambda: users.create_index("other", name="email_1"), 86)
    error("same_name_other_options",
          lambda: users.create_index("email", name="email_1"), 85)
    error("drop_unknown", lambda: users.drop_index("nope"), 27,
          "index not found with name [nope]")
    error("drop_id", lambda: users.drop_index("_id_"), 72,
          "cannot drop _id index")
    users.drop_index("email_1")
    users.insert_one({"_id": 40, "email": "a@x", "tags": ["t"]})
    users.drop_index([("a", 1), ("b", -1)])
    check("after_drops", sorted(users.index_information()),
          ["_id_", "s_1", "tags_1"])
    users.drop_indexes()
    check("drop_all", sorted(users.index_information()), ["_id_"])
    check("hinted_find", ids(users.find({"_id": {"$lt": 3}}).hint("_id_")),
          [1, 2])
    error("bad_hint", lambda: list(users.find().hint("nope")), 2)
    fresh = db["fresh"]
    fresh.drop()
    check("create_index_creates", fresh.create_index("k"), "k_1")
    check("created", "fresh" in db.list_collection_names(), True)
    fresh.drop()
    check("indexes_dropped_with_collection", list(fresh.list_indexes()), [])


def errors(db):
    coll = seeded(db, "errs", [{"_id": 1, "a": 1}])

    def find(filter, **kw):
        return lambda: list(coll.find(filter, **kw))

    error("unknown_operator", find({"a": {"$foo": 1}}), 2,
          "unknown operator: $foo")
    error("unknown_top_level", find({"$foo": 1}), 2,
          "unknown top level operator: $foo. If you have a field name that "
          "starts with a '$' symbol, consider using $getField or $setField.")
    error("top_level_not", find({"$not": {"a": 1}}), 2,
          "unknown top level operator: $not. If you are trying to negate an "
          "entire expression, use $nor.")
    error("in_needs_array", find({"a": {"$in": 5}}), 2, "$in needs an array")
    error("nin_needs_array", find({"a": {"$nin": 5}}), 2,
          "$nin needs an array")
    error("in_nested_operator", find({"a": {"$in": [{"$gt": 1}]}}), 2,
          "cannot nest $ under $in")
    error("and_empty", find({"$and": []}), 2,
          "$and/$or/$nor must be a nonempty array")
    error("or_not_array", find({"$or": {"a": 1}}), 2, "$or must be an array")
    error("or_entries", find({"$or": [1]}), 2,
          "$or/$and/$nor entries need to be full objects")
    error("size_type", find({"a": {"$size": "x"}}), 2, "$size needs a number")
    error("size_negative", find({"a": {"$size": -1}}), 2,
          "$size may not be negative")
    error("regex_invalid", find({"a": {"$regex": "("}}), 51091)
    error("regex_flag", find({"a": {"$regex": "a", "$options": "z"}}), 51108,
          "$regex invalid flag in regex options: z")
    error("options_without_regex", find({"a": {"$options": "i"}}), 2,
          "$options needs a $regex")
    error("regex_type", find({"a": {"$regex": 5}}), 2,
          "$regex has to be a string")
    error("type_alias", find({"a": {"$type": "foo"}}), 2,
          "Unknown type name alias: foo")
    error("type_code", find({"a": {"$type": 42}}), 2,
          "Invalid numerical type code: 42")
    error("type_kind", find({"a": {"$type": {}}}), 14,
          "type must be represented as a number or a string")
    error("type_empty", find({"a": {"$type": []}}), 9,
          "a must match at least one type")
    error("not_kind", find({"a": {"$not": 5}}), 2,
          "$not needs a regex or a document")
    error("not_empty", find({"a": {"$not": {}}}), 2, "$not cannot be empty")
    error("elemmatch_kind", find({"a": {"$elemMatch": 1}}), 2,
          "$elemMatch needs an Object")
    error("all_kind", find({"a": {"$all": 1}}), 2, "$all needs an array")
    error("gt_regex", find({"a": {"$gt": Regex("x")}}), 2,
          "Can't have RegEx as arg to predicate over field 'a'.")
    error("ne_regex", find({"a": {"$ne": Regex("x")}}), 2,
          "Can't have regex as arg to $ne.")
    error("mod_kind", find({"a": {"$mod": 4}}), 2,
          "malformed mod, needs to be an array")
    error("mod_zero", find({"a": {"$mod": [0, 1]}}), 2, "divisor cannot be 0")
    error("where", find({"$where": "this.a == 1"}), 238)
    error("geo", find({"a": {"$near": [0, 0]}}), 238)
    error("sort_order", lambda: list(coll.find().sort("a", 2)), 15975,
          "$sort key ordering must be 1 (for ascending) or -1 (for "
          "descending)")
    error("projection_mixed",
          lambda: coll.find_one({}, {"a": 1, "b": 0}), 31254,
          "Cannot do exclusion on field b in inclusion projection")
    error("projection_mixed_exclusion",
          lambda: coll.find_one({}, {"b": 0, "a": 1}), 31253,
          "Cannot do inclusion on field a in exclusion projection")
    error("projection_collision",
          lambda: coll.find_one({}, {"a": 1, "a.b": 1}), 31249,
          "Path collision at a.b remaining portion b")
    error("projection_positional",
          lambda: coll.find_one({"a": 1}, {"a.$": 1}), 238)
    error("collation", lambda: list(coll.find(collation={"locale": "fr"})),
          238)
    error("count_bad_filter", lambda: coll.count_documents({"a": {"$x": 1}}),
          2)
    error("distinct_bad_filter",
          lambda: coll.distinct("a", {"a": {"$x": 1}}), 2)
    try:
        coll.delete_many({"a": {"$x": 1}})
        failures.append("delete with a bad filter: no error")
    except WriteError as e:
        check("delete_bad_filter", (e.code, e.details["errmsg"]),
              (2, "unknown operator: $x"))
    error("match_stage", lambda: list(coll.aggregate(
        [{"$match": {"a": {"$x": 1}}}])), 2, "unknown operator: $x")
    error("min_without_hint",
          lambda: db.command("find", "errs", min={"_id": 1}), 51173,
          "When using min()/max() a hint of which index to use must be "
          "provided")


def main():
    server = subprocess.Popen([sys.argv[1], "--port", "0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        uri = (f"mongodb://127.0.0.1:{port}/?replicaSet=rs0"
               "&serverSelectionTimeoutMS=5000")
        client = pymongo.MongoClient(uri)
        db = client.query
        comparison_examples(db)
        bracketing_examples(db)
        element_examples(db)
        logical_examples(db)
        regex_examples(db)
        array_examples(db)
        sort_skip_limit_projection(db)
        reads_and_writes_by_filter(db)
        find_and_modify(db)
        find_and_modify_update_language(db)
        unique_keys_on_updates(db)
        indexes(db)
        errors(db)
        client.close()
    finally:
        server.terminate()
        assert server.wait(timeout=10) == 0
    for f in failures:
        print(f, file=sys.stderr)
    if failures:
        print(f"{len(failures)} checks failed")
        sys.exit(1)
    print("pymongo query checks passed")


if __name__ == "__main__":
    main()
