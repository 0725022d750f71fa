/* test_json_writer.c: the JSON writer (util/json.h): commas and colons in
 * nested objects and arrays, every kind of value, null for what is unknown,
 * and strings that stay valid JSON and carry no secret, names included. */
#include <stdint.h>

#include "../test.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/redact.h"

static void nesting(void)
{
    struct buf b = {0};
    struct json j = JSON_INIT(&b);
    json_open_object(&j, NULL);
    json_add_string(&j, "a", "x");
    json_open_array(&j, "list");
    json_open_object(&j, NULL);
    json_add_int(&j, "n", 1);
    json_close_object(&j);
    json_open_object(&j, NULL);
    json_close_object(&j);
    json_add_int(&j, NULL, -2);
    json_open_array(&j, NULL);
    json_close_array(&j);
    json_close_array(&j);
    json_open_object(&j, "empty");
    json_close_object(&j);
    json_add_bool(&j, "b", false);
    json_close_object(&j);
    CHECK_STR(b.data, "{\"a\":\"x\",\"list\":[{\"n\":1},{},-2,[]],"
                      "\"empty\":{},\"b\":false}");
    buf_free(&b);
}

static void values(void)
{
    struct buf b = {0};
    struct json j = JSON_INIT(&b);
    json_open_array(&j, NULL);
    json_add_string(&j, NULL, NULL);
    json_add_count(&j, NULL, -1);
    json_add_count(&j, NULL, 0);
    json_add_int(&j, NULL, INT64_MIN);
    json_add_uint(&j, NULL, UINT64_MAX);
    json_add_bool(&j, NULL, true);
    json_add_null(&j, NULL);
    json_add_time(&j, NULL, -1);
    json_add_time(&j, NULL, 1708822800000);
    json_add_time(&j, NULL, 1708822800123);
    json_add_raw(&j, NULL, "{\"k\":[1]}", 9);
    json_add_raw(&j, NULL, NULL, 0);
    json_add_tenths(&j, NULL, -1);
    json_add_tenths(&j, NULL, 0);
    json_add_tenths(&j, NULL, 333);
    json_add_tenths(&j, NULL, 1000);
    json_close_array(&j);
    CHECK_STR(b.data, "[null,null,0,-9223372036854775808,"
                      "18446744073709551615,true,null,null,"
                      "\"2024-02-25T01:00:00Z\",\"2024-02-25T01:00:00.123Z\","
                      "{\"k\":[1]},null,null,0.0,33.3,100.0]");
    buf_free(&b);
}

/* Strings: escaped, UTF-8 kept, other bytes replaced; secrets masked in
 * strings and names, data written as it is. */
static void strings(void)
{
    redact_remember("Planted-Json-1");
    struct buf b = {0};
    struct json j = JSON_INIT(&b);
    json_open_object(&j, NULL);
    json_add_string(&j, "m", "a\"b\\c\n\x01\xc3\xbc\xff");
    json_add_string(&j, "controls", "\x7f\xc2\x9b[2J\xc2\x85\xc2\xa0\xc2");
    json_add_string(&j, "url", "http://u:Planted-Json-2@h/");
    json_add_string(&j, "key=Planted-Json-1", "said Planted-Json-1");
    json_add_data(&j, "data", "Planted-Json-1\xff", 15);
    json_close_object(&j);
    CHECK_STR(b.data,
              "{\"m\":\"a\\\"b\\\\c\\n\\u0001\xc3\xbc\xef\xbf\xbd\","
              "\"controls\":\"\\u007f\\u009b[2J\\u0085\xc2\xa0\xef\xbf\xbd\","
              "\"url\":\"http://u:********@h/\","
              "\"key=********\":\"said ********\","
              "\"data\":\"Planted-Json-1\xef\xbf\xbd\"}");
    redact_forget();
    buf_free(&b);
}

/* Two values written one after the other into one buffer, each its own
 * text: a writer starts without a comma. */
static void one_writer_per_text(void)
{
    struct buf b = {0};
    for (int i = 0; i < 2; i++) {
        struct json j = JSON_INIT(&b);
        json_open_object(&j, NULL);
        json_add_int(&j, "i", i);
        json_close_object(&j);
        buf_puts(&b, "\n");
    }
    CHECK_STR(b.data, "{\"i\":0}\n{\"i\":1}\n");
    buf_free(&b);
}

int main(void)
{
    RUN(nesting);
    RUN(values);
    RUN(strings);
    RUN(one_writer_per_text);
    return TEST_RESULT();
}
