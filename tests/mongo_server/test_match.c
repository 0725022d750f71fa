/* test_match.c: the query language's entry points the update language
 * calls (match_doc for $pull's document conditions, match_path for its
 * other conditions and for arrayFilters), with the array index a match
 * reports for the positional $ operator as MongoDB reports it, and the
 * order of BSON values (value_compare) that sorts and comparisons share
 * (undefined before null, as MongoDB's canonical types). The commands
 * themselves are tested through drivers (test_mongo_server.c,
 * test_query_pymongo.py). */
#include <stdlib.h>

#include "../test.h"
#include "server.h"

struct server srv; /* the server's state: unused by what is tested here */

static bson_t *json(const char *text)
{
    bson_error_t e;
    bson_t *b = bson_new_from_json((const uint8_t *)text, -1, &e);
    if (!b)
        fprintf(stderr, "bad test JSON %s: %s\n", text, e.message);
    return b;
}

/* match_doc of `filter` on `doc`: 1, 0 or -1; `index` the array index. */
static int doc_matches(const char *doc, const char *filter, int *index,
                       struct mongo_error *e)
{
    bson_t *d = json(doc), *f = json(filter);
    bson_value_t root;
    value_of_doc(d, &root);
    *index = -1;
    int r = match_doc(&root, f, index, e);
    bson_destroy(d);
    bson_destroy(f);
    return r;
}

static void positional_index(void)
{
    struct mongo_error e = {0};
    int at;
    CHECK(doc_matches("{\"g\": [80, 85, 90]}", "{\"g\": {\"$gte\": 85}}", &at,
                      &e) == 1);
    CHECK(at == 1);
    CHECK(doc_matches("{\"g\": [{\"m\": 70}, {\"m\": 90}]}",
                      "{\"g.m\": {\"$gt\": 80}}", &at, &e) == 1);
    CHECK(at == 1);
    CHECK(doc_matches("{\"a\": [{\"b\": 1}, {\"b\": 2, \"c\": 3}]}",
                      "{\"a\": {\"$elemMatch\": {\"b\": 2, \"c\": 3}}}", &at,
                      &e) == 1);
    CHECK(at == 1);
    /* the outermost array traversed names the element */
    CHECK(doc_matches("{\"a\": [{\"b\": [7]}, {\"b\": [1, 5]}]}",
                      "{\"a.b\": 5}", &at, &e) == 1);
    CHECK(at == 1);
    CHECK(doc_matches("{\"a\": [{\"b\": [1, 7]}]}", "{\"a.b\": 7}", &at, &e) ==
          1);
    CHECK(at == 0);
    /* an array compared whole, or no array: no index */
    CHECK(doc_matches("{\"a\": [1, 2]}", "{\"a\": [1, 2]}", &at, &e) == 1);
    CHECK(at == -1);
    CHECK(doc_matches("{\"a\": 1}", "{\"a\": 1}", &at, &e) == 1);
    CHECK(at == -1);
    /* several conditions: the last one that went through an array */
    CHECK(doc_matches("{\"x\": [0, 9], \"y\": [3, 4, 5]}",
                      "{\"x\": 9, \"y\": 5}", &at, &e) == 1);
    CHECK(at == 2);
    CHECK(doc_matches("{\"a\": [1, 2]}", "{\"a\": 3}", &at, &e) == 0);
    CHECK(doc_matches("{\"a\": 1}", "{\"a\": {\"$foo\": 1}}", &at, &e) == -1);
    CHECK(e.code == 2);
    CHECK_STR(e.msg, "unknown operator: $foo");
}

/* match_path of `cond` on `value` (JSON of {v: value}; "{}": missing). */
static int value_matches(const char *holder, const char *cond)
{
    bson_t *h = json(holder), *c = json(cond);
    bson_iter_t v, k;
    struct mongo_error e = {0};
    int index = -1;
    bson_iter_init_find(&k, c, "c");
    int r = match_path(bson_iter_init_find(&v, h, "v") ? bson_iter_value(&v)
                                                       : NULL,
                       NULL, 0, bson_iter_value(&k), &index, &e);
    bson_destroy(h);
    bson_destroy(c);
    return r;
}

static void pull_conditions(void)
{
    CHECK(value_matches("{\"v\": 7}", "{\"c\": {\"$gte\": 6}}") == 1);
    CHECK(value_matches("{\"v\": 5}", "{\"c\": {\"$gte\": 6}}") == 0);
    CHECK(value_matches("{\"v\": \"x\"}", "{\"c\": {\"$gte\": 6}}") == 0);
    CHECK(value_matches("{\"v\": [1, 7]}", "{\"c\": {\"$gte\": 6}}") == 1);
    CHECK(value_matches("{\"v\": \"apples\"}",
                        "{\"c\": {\"$in\": [\"apples\", \"oranges\"]}}") == 1);
    CHECK(value_matches("{\"v\": \"carrot\"}",
                        "{\"c\": {\"$regex\": \"^c\"}}") == 1);
    CHECK(value_matches("{\"v\": {\"a\": 1}}", "{\"c\": {\"a\": 1}}") == 1);
    CHECK(value_matches("{}", "{\"c\": null}") == 1);
    CHECK(value_matches("{}", "{\"c\": {\"$exists\": true}}") == 0);
    CHECK(value_matches("{\"v\": 1}", "{\"c\": {\"$bad\": 1}}") == -1);
    /* arrayFilters' {"e.grade": {$gte: 85}}: a path below the element */
    bson_t *d = json("{\"grade\": 90, \"mean\": 80}"),
           *c = json("{\"c\": {\"$gte\": 85}}");
    bson_value_t root;
    bson_iter_t k;
    char grade[] = "grade", mean[] = "mean";
    char *parts[] = {grade};
    struct mongo_error e = {0};
    int index = -1;
    value_of_doc(d, &root);
    bson_iter_init_find(&k, c, "c");
    CHECK(match_path(&root, parts, 1, bson_iter_value(&k), &index, &e) == 1);
    parts[0] = mean;
    CHECK(match_path(&root, parts, 1, bson_iter_value(&k), &index, &e) == 0);
    bson_destroy(d);
    bson_destroy(c);
}

static void order_of_values(void)
{
    /* MongoDB's order: MinKey, undefined, null, numbers, strings,
     * documents, arrays, binary, ObjectId, bool, date, timestamp, regex,
     * MaxKey; numbers by value across their types */
    bson_t *v = json(
        "{\"a\": [{\"$minKey\": 1}, {\"$undefined\": true}, null, "
        "{\"$numberDecimal\": \"-1.5\"}, 1, {\"$numberLong\": \"2\"}, 2.5, "
        "\"a\", \"b\", {\"x\": 1}, {\"x\": 1, \"y\": 0}, {\"y\": 0}, [1], "
        "{\"$binary\": {\"base64\": \"AA==\", \"subType\": \"00\"}}, "
        "{\"$oid\": \"5f0000000000000000000000\"}, false, true, "
        "{\"$date\": {\"$numberLong\": \"0\"}}, "
        "{\"$timestamp\": {\"t\": 1, \"i\": 1}}, "
        "{\"$regularExpression\": {\"pattern\": \"a\", \"options\": \"\"}}, "
        "{\"$maxKey\": 1}]}");
    bson_iter_t it, arr;
    bson_value_t prev = {0};
    bool first = true;
    int n = 0;
    bson_iter_init_find(&it, v, "a");
    bson_iter_recurse(&it, &arr);
    while (bson_iter_next(&arr)) {
        const bson_value_t *x = bson_iter_value(&arr);
        if (!first && value_compare(&prev, x) >= 0)
            fprintf(stderr, "value %d is not above the one before\n", n);
        CHECK(first || value_compare(&prev, x) < 0);
        CHECK(value_compare(x, x) == 0);
        prev = *x;
        first = false;
        n++;
    }
    CHECK(n == 21);
    bson_destroy(v);
    bson_t *same = json("{\"a\": 1, \"b\": 1.0, \"c\": {\"$numberLong\": "
                        "\"1\"}, \"d\": {\"k\": 1}, \"e\": {\"k\": 1.0}}");
    bson_iter_t a, b;
    bson_iter_init_find(&a, same, "a");
    bson_iter_init_find(&b, same, "b");
    CHECK(value_compare(bson_iter_value(&a), bson_iter_value(&b)) == 0);
    bson_iter_init_find(&b, same, "c");
    CHECK(value_compare(bson_iter_value(&a), bson_iter_value(&b)) == 0);
    bson_iter_init_find(&a, same, "d");
    bson_iter_init_find(&b, same, "e");
    CHECK(value_compare(bson_iter_value(&a), bson_iter_value(&b)) == 0);
    bson_destroy(same);
}

int main(void)
{
    RUN(positional_index);
    RUN(pull_conditions);
    RUN(order_of_values);
    return TEST_RESULT();
}
