/* test_keys.c: source_mongo's record keys (plugins/source_mongo/convert.c),
 * _id as the destination shows it: with id_format = natural an ObjectId's
 * hex, a string itself, the empty string and every other value as compact
 * canonical extended JSON; with id_format = extended that JSON for every
 * _id; a string that is not UTF-8 keyed by mg_malformed_key. Spaces inside
 * strings are kept, those between tokens are not. */
#include <stdlib.h>
#include <string.h>

#include "../../plugins/source_mongo/mongo.h"
#include "../test.h"

const sluice_host_api *mg_host; /* used by none of the functions tested */

/* The key of the first value of `json` (a document {"v": VALUE}). */
static void check_key(const char *json, int format, const char *want)
{
    bson_error_t e;
    bson_t *doc = bson_new_from_json((const uint8_t *)json, -1, &e);
    CHECK(doc != NULL);
    if (!doc)
        return;
    bson_iter_t it;
    CHECK(bson_iter_init_find(&it, doc, "v"));
    size_t len = 99;
    char *key = mg_key(bson_iter_value(&it), format, &len);
    CHECK_STR(key, want);
    CHECK(key && len == strlen(want));
    bson_free(key);
    bson_destroy(doc);
}

static void natural_keys(void)
{
    check_key("{\"v\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}}",
              MG_ID_NATURAL, "65a1b2c3d4e5f60718293a4b");
    check_key("{\"v\": \"new-150\"}", MG_ID_NATURAL, "new-150");
    check_key("{\"v\": \"a \\\"b\\\" c\"}", MG_ID_NATURAL, "a \"b\" c");
    check_key("{\"v\": \"\"}", MG_ID_NATURAL, "\"\"");
    check_key("{\"v\": \"\\u00e9 \\u2713\"}", MG_ID_NATURAL,
              "\xc3\xa9 \xe2\x9c\x93");
    check_key("{\"v\": {\"$numberInt\": \"42\"}}", MG_ID_NATURAL,
              "{\"$numberInt\":\"42\"}");
    check_key("{\"v\": {\"$numberLong\": \"1099511627776\"}}", MG_ID_NATURAL,
              "{\"$numberLong\":\"1099511627776\"}");
    check_key("{\"v\": {\"$numberDouble\": \"0.5\"}}", MG_ID_NATURAL,
              "{\"$numberDouble\":\"0.5\"}");
    check_key("{\"v\": {\"$numberDouble\": \"1.0\"}}", MG_ID_NATURAL,
              "{\"$numberDouble\":\"1.0\"}");
    check_key("{\"v\": {\"$numberDecimal\": \"1.50\"}}", MG_ID_NATURAL,
              "{\"$numberDecimal\":\"1.50\"}");
    check_key("{\"v\": {\"$binary\": {\"base64\": \"AAEA\", \"subType\": "
              "\"04\"}}}",
              MG_ID_NATURAL,
              "{\"$binary\":{\"base64\":\"AAEA\",\"subType\":\"04\"}}");
    check_key("{\"v\": {\"$date\": {\"$numberLong\": \"1704164645001\"}}}",
              MG_ID_NATURAL,
              "{\"$date\":{\"$numberLong\":\"1704164645001\"}}");
    /* a document: members in their order, strings with their spaces */
    check_key("{\"v\": {\"b\": \"x y\", \"a\": [1, {\"c\": \" \"}]}}",
              MG_ID_NATURAL,
              "{\"b\":\"x y\",\"a\":[{\"$numberInt\":\"1\"},{\"c\":\" \"}]}");
}

static void extended_keys(void)
{
    check_key("{\"v\": {\"$oid\": \"65a1b2c3d4e5f60718293a4b\"}}",
              MG_ID_EXTENDED, "{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}");
    check_key("{\"v\": \"new-150\"}", MG_ID_EXTENDED, "\"new-150\"");
    check_key("{\"v\": \"a \\\"b\\\" c\"}", MG_ID_EXTENDED,
              "\"a \\\"b\\\" c\"");
    check_key("{\"v\": {\"$numberInt\": \"42\"}}", MG_ID_EXTENDED,
              "{\"$numberInt\":\"42\"}");
}

/* 1, 1.0 and "1" (and an ObjectId and its hex) are four keys in extended
 * form; in natural form only the hex and the ObjectId meet (documented). */
static void distinct_keys(void)
{
    check_key("{\"v\": 1}", MG_ID_NATURAL, "{\"$numberInt\":\"1\"}");
    check_key("{\"v\": 1.0}", MG_ID_NATURAL, "{\"$numberDouble\":\"1.0\"}");
    check_key("{\"v\": \"1\"}", MG_ID_NATURAL, "1");
}

/* A string that is not UTF-8 has no natural key: the tagged key of
 * malformed.c, a document, stands for it in both forms. */
static void broken_string(void)
{
    bson_value_t v = {.value_type = BSON_TYPE_UTF8};
    v.value.v_utf8.str = "id\xff";
    v.value.v_utf8.len = 3;
    size_t len = 99;
    CHECK(mg_key(&v, MG_ID_NATURAL, &len) == NULL && len == 0);
    CHECK(mg_key(&v, MG_ID_EXTENDED, &len) == NULL && len == 0);
    char *tagged = mg_malformed_key(&v, &len);
    CHECK_STR(tagged, "{\"$malformedId\":{\"$binary\":{\"base64\":"
                      "\"EgAAAAJfaWQABAAAAGlk/wAA\",\"subType\":\"00\"}}}");
    bson_free(tagged);
}

int main(void)
{
    RUN(natural_keys);
    RUN(extended_keys);
    RUN(distinct_keys);
    RUN(broken_string);
    return TEST_RESULT();
}
