/* test_ch_columns.c: sink_clickhouse's typed columns without a server:
 * the option `columns` read and every bad item refused with why; each
 * type converted from every JSON form a source writes (plain JSON,
 * ClickPipes' mapping, MongoDB's relaxed and canonical extended JSON) to
 * the same value, in JSONEachRow and RowBinary; what does not convert
 * kept in _malformed with the column's default; missing fields, nulls,
 * Nullable, arrays, paths into documents and arrays, documents that are
 * no JSON, deleted rows; ISO 8601 dates. */
#include <stdlib.h>

#include "../../plugins/sink_clickhouse/clickhouse.h"
#include "../test.h"

/* ---- the option ---- */

static struct ch_config config_of(const char *const *items, size_t n,
                                  bool keep_doc)
{
    struct ch_config cfg = {.keep_doc = keep_doc};
    cfg.columns.count = n;
    cfg.columns.items = items;
    return cfg;
}

/* The message parsing `item` gives; "" when it is accepted. */
static const char *refusal(const char *item)
{
    static char message[1024];
    const char *items[] = {item};
    struct ch_config cfg = config_of(items, 1, true);
    struct ch_fields f;
    sluice_error err = {message, sizeof message};
    message[0] = '\0';
    sluice_status st = ch_fields_parse(&cfg, &f, &err);
    CHECK((st == SLUICE_OK) == (message[0] == '\0'));
    ch_fields_free(&f);
    return message;
}

static void items_are_read(void)
{
    const char *items[] = {"orders.total       = total Float64",
                           "orders.customer_id = customer.id String",
                           "shop.orders.tags = tags Array( String )",
                           "orders.maybe = a.b.c Nullable(Int64)",
                           "orders.created = created_at DateTime64(3)"};
    struct ch_config cfg = config_of(items, 5, false);
    struct ch_fields f;
    char message[256];
    sluice_error err = {message, sizeof message};
    CHECK(ch_fields_parse(&cfg, &f, &err) == SLUICE_OK);
    CHECK(f.count == 5);
    CHECK_STR(f.items[0].table, "orders");
    CHECK_STR(f.items[0].name, "total");
    CHECK_STR(f.items[0].path, "total");
    CHECK(f.items[0].type.kind == CH_FLOAT64 && !f.items[0].type.nullable);
    CHECK_STR(f.items[1].path, "customer.id");
    CHECK(f.items[1].depth == 2);
    CHECK_STR(f.items[1].segments[1], "id");
    /* the table is all before the last dot: collections have dots */
    CHECK_STR(f.items[2].table, "shop.orders");
    CHECK_STR(f.items[2].name, "tags");
    CHECK(f.items[2].type.array && f.items[2].type.kind == CH_STRING);
    CHECK(f.items[3].type.nullable && f.items[3].type.kind == CH_INT64);
    CHECK(f.items[3].depth == 3);
    char type[48];
    ch_type_text(f.items[2].type, NULL, type, sizeof type);
    CHECK_STR(type, "Array(String)");
    ch_type_text(f.items[4].type, NULL, type, sizeof type);
    CHECK_STR(type, "DateTime64(3)");
    ch_fields_free(&f);
}

static void bad_items_are_refused(void)
{
    CHECK_STR(refusal("orders.total = total Float64"), "");
    CHECK_CONTAINS(refusal("orders.total total Float64"),
                   "item 1, 'orders.total total Float64': expected "
                   "TABLE.COLUMN = PATH TYPE");
    CHECK_CONTAINS(refusal("total = total Float64"),
                   "expected TABLE.COLUMN on the left");
    CHECK_CONTAINS(refusal(".total = total Float64"),
                   "expected TABLE.COLUMN on the left");
    CHECK_CONTAINS(refusal("orders. = total Float64"), "has no name");
    CHECK_CONTAINS(refusal("orders.1x = total Float64"),
                   "a column's name is a letter or '_'");
    CHECK_CONTAINS(refusal("orders.to-tal = total Float64"),
                   "a column's name is a letter or '_'");
    CHECK_CONTAINS(refusal("orders.total = total"),
                   "expected PATH TYPE on the right");
    CHECK_CONTAINS(refusal("orders.total ="), "expected PATH TYPE");
    CHECK_CONTAINS(refusal("orders.total = a..b Float64"),
                   "a path is names separated by single dots");
    CHECK_CONTAINS(refusal("orders.total = .a Float64"),
                   "a path is names separated by single dots");
    CHECK_CONTAINS(refusal("orders.total = a. Float64"),
                   "a path is names separated by single dots");
    const char *types[] = {"Float32",
                           "float64",
                           "Nullable(Array(String))",
                           "Array(Nullable(String))",
                           "Array(UInt64)",
                           "Array(Date)",
                           "Nullable(Nullable(Int64))",
                           "DateTime64(6)",
                           "Int64 Int64",
                           "LowCardinality(String)"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        char item[96];
        snprintf(item, sizeof item, "orders.total = total %s", types[i]);
        CHECK_CONTAINS(refusal(item), "the type is not one of String, Int64");
    }
    const char *reserved[] = {"_id",
                              "doc",
                              "_malformed",
                              "_version",
                              "_is_deleted",
                              "_synced_at",
                              "_sluice_x",
                              "_peerdb_version",
                              "_peerdb_is_deleted"};
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++) {
        char item[96];
        snprintf(item, sizeof item, "orders.%s = x String", reserved[i]);
        const char *why = refusal(item);
        CHECK(strstr(why, "the sink's own") ||
              strstr(why, "kept for metadata columns"));
    }
    /* every bad item named, with its number; a column twice */
    const char *items[] = {"a.x = x String", "a.y = y Float32",
                           "a.x = z Int64", "b.x = x Int64"};
    struct ch_config cfg = config_of(items, 4, true);
    struct ch_fields f;
    char message[1024];
    sluice_error err = {message, sizeof message};
    CHECK(ch_fields_parse(&cfg, &f, &err) == SLUICE_FATAL);
    CHECK_CONTAINS(message, "sink_clickhouse: columns: item 2, 'a.y = y "
                            "Float32': the type is not one of");
    CHECK_CONTAINS(message, "; item 3, 'a.x = z Int64': the table has a "
                            "column of that name already (each item is "
                            "TABLE.COLUMN = PATH TYPE)");
    CHECK_NOT_CONTAINS(message, "item 4");
    ch_fields_free(&f);
    /* keep_doc = false only with columns */
    cfg = config_of(NULL, 0, false);
    CHECK(ch_fields_parse(&cfg, &f, &err) == SLUICE_FATAL);
    CHECK_CONTAINS(message, "keep_doc: false drops the document");
    ch_fields_free(&f);
}

/* ---- conversions ---- */

static struct ch_features server = {.major = 18, .minor = 16};

/* What the column "c = v TYPE" and _malformed get from the document
 * `doc` (NULL: a deleted row): in JSONEachRow, ',"c":VALUE,"_malformed":
 * "..."', or in RowBinary. */
static struct ch_buf project(const char *type, const char *doc, bool json)
{
    char item[96];
    snprintf(item, sizeof item, "t.c = v %s", type);
    const char *items[] = {item};
    struct ch_config cfg = config_of(items, 1, true);
    struct ch_fields f;
    char message[256];
    sluice_error err = {message, sizeof message};
    CHECK(ch_fields_parse(&cfg, &f, &err) == SLUICE_OK);
    struct ch_shape sh;
    CHECK(ch_shape_init(&sh, CH_NAMES_SLUICE, &server, &f, "t", true));
    struct ch_projector *p = ch_projector_new();
    struct ch_buf out = {0};
    CHECK(ch_project(p, &out, &sh, json, doc, doc ? strlen(doc) : 0));
    ch_projector_free(p);
    ch_shape_free(&sh);
    ch_fields_free(&f);
    return out;
}

static char *project_json(const char *type, const char *doc)
{
    return project(type, doc, true).data;
}

/* The column's value from {"v": value}, and what _malformed got. */
static void check_value(const char *type, const char *value, const char *want,
                        bool malformed, int line)
{
    char doc[256], expected[512], kept[256];
    snprintf(doc, sizeof doc, "{\"v\":%s}", value);
    struct ch_buf esc = {0};
    snprintf(kept, sizeof kept, "{\"v\":%s}", value);
    ch_put_json_string(&esc, malformed ? kept : "",
                       malformed ? strlen(kept) : 0);
    snprintf(expected, sizeof expected, ",\"c\":%s,\"_malformed\":%s", want,
             esc.data);
    char *got = project_json(type, doc);
    if (!got || strcmp(got, expected) != 0) {
        fprintf(stderr, "line %d: %s from %s: want %s, got %s\n", line, type,
                value, expected, got ? got : "(null)");
        test_failures++;
    }
    free(got);
    ch_buf_free(&esc);
}
#define VALUE(type, value, want)                                              \
    check_value(type, value, want, false, __LINE__)
#define MALFORMED(type, value, want)                                          \
    check_value(type, value, want, true, __LINE__)

/* One value as each form writes it: plain JSON and ClickPipes' mapping,
 * MongoDB's relaxed and canonical extended JSON. */
struct forms {
    const char *clickpipes, *relaxed, *canonical;
};

static void in_every_form(const char *type, struct forms f, const char *want,
                          int line)
{
    check_value(type, f.clickpipes, want, false, line);
    check_value(type, f.relaxed, want, false, line);
    check_value(type, f.canonical, want, false, line);
}
#define EVERY_FORM(type, clickpipes, relaxed, canonical, want)                \
    in_every_form(type, (struct forms){clickpipes, relaxed, canonical}, want, \
                  __LINE__)

static void strings_from_every_form(void)
{
    EVERY_FORM("String", "\"abc\"", "\"abc\"", "\"abc\"", "\"abc\"");
    EVERY_FORM("String", "\"65a1b2c3d4e5f60718293a4b\"",
               "{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}",
               "{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"}",
               "\"65a1b2c3d4e5f60718293a4b\"");
    EVERY_FORM("String", "\"2024-01-02T03:04:05.678Z\"",
               "{\"$date\":\"2024-01-02T03:04:05.678Z\"}",
               "{\"$date\":{\"$numberLong\":\"1704164645678\"}}",
               "\"2024-01-02T03:04:05.678Z\"");
    EVERY_FORM("String", "42", "42", "{\"$numberLong\":\"42\"}", "\"42\"");
    EVERY_FORM("String", "42", "42", "{\"$numberInt\":\"42\"}", "\"42\"");
    EVERY_FORM("String", "1.5", "1.5", "{\"$numberDouble\":\"1.5\"}",
               "\"1.5\"");
    EVERY_FORM("String", "\"NaN\"", "{\"$numberDouble\":\"NaN\"}",
               "{\"$numberDouble\":\"NaN\"}", "\"NaN\"");
    EVERY_FORM("String", "\"12.50\"", "{\"$numberDecimal\":\"12.50\"}",
               "{\"$numberDecimal\":\"12.50\"}", "\"12.50\"");
    EVERY_FORM("String", "\"sym\"", "{\"$symbol\":\"sym\"}",
               "{\"$symbol\":\"sym\"}", "\"sym\"");
    EVERY_FORM("String", "true", "true", "true", "\"true\"");
    /* documents and arrays as their JSON */
    VALUE("String", "{\"a\":1,\"b\":[1,2]}",
          "\"{\\\"a\\\":1,\\\"b\\\":[1,2]}\"");
    VALUE("String", "[\"x\",{\"y\":null}]",
          "\"[\\\"x\\\",{\\\"y\\\":null}]\"");
    VALUE("String", "\"tab\\there \\u00e9\"", "\"tab\\u0009here \xc3\xa9\"");
    VALUE("String", "{\"$binary\":{\"base64\":\"AA==\",\"subType\":\"00\"}}",
          "\"{\\\"$binary\\\":{\\\"base64\\\":\\\"AA==\\\",\\\"subType\\\":"
          "\\\"00\\\"}}\"");
}

static void integers_from_every_form(void)
{
    EVERY_FORM("Int64", "42", "42", "{\"$numberLong\":\"42\"}", "42");
    EVERY_FORM("Int64", "-7", "-7", "{\"$numberInt\":\"-7\"}", "-7");
    EVERY_FORM("Int64", "9223372036854775807", "9223372036854775807",
               "{\"$numberLong\":\"9223372036854775807\"}",
               "9223372036854775807");
    EVERY_FORM("Int64", "3.0", "3.0", "{\"$numberDouble\":\"3.0\"}", "3");
    MALFORMED("Int64", "3.5", "0");
    MALFORMED("Int64", "{\"$numberDouble\":\"3.5\"}", "0");
    MALFORMED("Int64", "\"42\"", "0"); /* a string is not a number */
    MALFORMED("Int64", "{\"$numberDecimal\":\"42\"}", "0");
    MALFORMED("Int64", "9223372036854775808", "0");
    MALFORMED("Int64", "true", "0");
    MALFORMED("Int64", "{\"a\":1}", "0");
    MALFORMED("Int64", "[1]", "0");
    MALFORMED("Int64", "{\"$numberLong\":\"12x\"}", "0");
    MALFORMED("Int64", "{\"$numberDouble\":\"Infinity\"}", "0");
    EVERY_FORM("UInt64", "42", "42", "{\"$numberLong\":\"42\"}", "42");
    VALUE("UInt64", "18446744073709551615", "18446744073709551615");
    VALUE("UInt64", "9223372036854775808", "9223372036854775808");
    MALFORMED("UInt64", "-1", "0");
    MALFORMED("UInt64", "{\"$numberLong\":\"-1\"}", "0");
    EVERY_FORM("UInt8", "200", "200", "{\"$numberInt\":\"200\"}", "200");
    EVERY_FORM("UInt8", "true", "true", "true", "1");
    MALFORMED("UInt8", "256", "0");
    MALFORMED("UInt8", "-1", "0");
    EVERY_FORM("Bool", "true", "true", "true", "1");
    EVERY_FORM("Bool", "false", "false", "false", "0");
    EVERY_FORM("Bool", "1", "1", "{\"$numberInt\":\"1\"}", "1");
    MALFORMED("Bool", "2", "0");
    MALFORMED("Bool", "\"true\"", "0");
}

static void floats_from_every_form(void)
{
    EVERY_FORM("Float64", "1.5", "1.5", "{\"$numberDouble\":\"1.5\"}", "1.5");
    EVERY_FORM("Float64", "42", "42", "{\"$numberLong\":\"42\"}", "42");
    EVERY_FORM("Float64", "-0.25", "-0.25", "{\"$numberDouble\":\"-0.25\"}",
               "-0.25");
    EVERY_FORM("Float64", "1e+300", "1e+300", "{\"$numberDouble\":\"1e+300\"}",
               "1.0000000000000001e+300");
    EVERY_FORM("Float64", "\"NaN\"", "{\"$numberDouble\":\"NaN\"}",
               "{\"$numberDouble\":\"NaN\"}", "\"nan\"");
    EVERY_FORM("Float64", "\"Infinity\"", "{\"$numberDouble\":\"Infinity\"}",
               "{\"$numberDouble\":\"Infinity\"}", "\"inf\"");
    EVERY_FORM("Float64", "\"-Infinity\"", "{\"$numberDouble\":\"-Infinity\"}",
               "{\"$numberDouble\":\"-Infinity\"}", "\"-inf\"");
    MALFORMED("Float64", "\"1.5\"", "0");
    MALFORMED("Float64", "{\"$numberDecimal\":\"1.5\"}", "0");
    MALFORMED("Float64", "false", "0");
}

static void dates_from_every_form(void)
{
    EVERY_FORM("DateTime", "\"2024-01-02T03:04:05.678Z\"",
               "{\"$date\":\"2024-01-02T03:04:05.678Z\"}",
               "{\"$date\":{\"$numberLong\":\"1704164645678\"}}",
               "1704164645");
    EVERY_FORM("Date", "\"2024-01-02T03:04:05.678Z\"",
               "{\"$date\":\"2024-01-02T03:04:05.678Z\"}",
               "{\"$date\":{\"$numberLong\":\"1704164645678\"}}",
               "\"2024-01-02\"");
    EVERY_FORM("DateTime64(3)", "\"2024-01-02T03:04:05.678Z\"",
               "{\"$date\":\"2024-01-02T03:04:05.678Z\"}",
               "{\"$date\":{\"$numberLong\":\"1704164645678\"}}",
               "1704164645.678");
    /* relaxed extended JSON writes dates outside 1970-9999 canonically */
    VALUE("DateTime64(3)", "{\"$date\":{\"$numberLong\":\"-1\"}}", "-0.001");
    VALUE("DateTime64(3)", "\"1969-12-31T23:59:58.999Z\"", "-1.001");
    MALFORMED("Date", "\"1969-12-31T23:59:59.999Z\"", "\"1970-01-01\"");
    VALUE("DateTime", "{\"$date\":1704164645678}", "1704164645");
    VALUE("DateTime", "\"2024-01-02\"", "1704153600");
    VALUE("DateTime", "\"2024-01-02 03:04:05\"", "1704164645");
    VALUE("DateTime", "\"2024-01-02T05:04:05+02:00\"", "1704164645");
    VALUE("DateTime", "\"2024-01-02T00:04:05-0300\"", "1704164645");
    VALUE("Date", "\"2149-06-06\"", "\"2149-06-06\"");
    MALFORMED("Date", "\"2149-06-07\"", "\"1970-01-01\"");
    VALUE("DateTime", "\"2106-02-07T06:28:15Z\"", "4294967295");
    MALFORMED("DateTime", "\"2106-02-07T06:28:16Z\"", "0");
    MALFORMED("DateTime", "\"1969-12-31T23:59:59Z\"", "0");
    MALFORMED("DateTime64(3)", "\"1899-12-31T23:59:59Z\"", "0.000");
    MALFORMED("DateTime", "1704164645", "0"); /* a number: no date */
    MALFORMED("DateTime", "\"yesterday\"", "0");
    MALFORMED("DateTime", "\"2024-02-30\"", "0");
    MALFORMED("DateTime", "\"2024-01-02T25:00:00Z\"", "0");
    MALFORMED("DateTime", "\"2024-01-02T03:04:05Zx\"", "0");
    MALFORMED("DateTime", "{\"$timestamp\":{\"t\":1,\"i\":2}}", "0");
}

static void nullable_missing_and_null(void)
{
    const char *types[] = {"String",  "Int64",    "UInt64",
                           "Float64", "UInt8",    "Bool",
                           "Date",    "DateTime", "DateTime64(3)"};
    const char *defaults[] = {"\"\"",           "0", "0",    "0", "0", "0",
                              "\"1970-01-01\"", "0", "0.000"};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        char nullable[48], want[64];
        snprintf(nullable, sizeof nullable, "Nullable(%s)", types[i]);
        /* missing, null: the default, or NULL; nothing malformed */
        snprintf(want, sizeof want, ",\"c\":%s,\"_malformed\":\"\"",
                 defaults[i]);
        char *got = project_json(types[i], "{\"w\":1}");
        CHECK_STR(got, want);
        free(got);
        got = project_json(types[i], "{\"v\":null}");
        CHECK_STR(got, want);
        free(got);
        got = project_json(nullable, "{\"v\":null}");
        CHECK_STR(got, ",\"c\":null,\"_malformed\":\"\"");
        free(got);
        got = project_json(nullable, "{}");
        CHECK_STR(got, ",\"c\":null,\"_malformed\":\"\"");
        free(got);
        /* malformed: NULL, and kept (a String takes any value) */
        got = project_json(nullable, "{\"v\":{\"x\":[]}}");
        CHECK_STR(got, i == 0 ? ",\"c\":\"{\\\"x\\\":[]}\",\"_malformed\":\"\""
                              : ",\"c\":null,\"_malformed\":\"{\\\"v\\\":"
                                "{\\\"x\\\":[]}}\"");
        free(got);
    }
    VALUE("Nullable(Int64)", "{\"$numberLong\":\"5\"}", "5");
    VALUE("Nullable(String)", "\"x\"", "\"x\"");
}

static void arrays(void)
{
    VALUE("Array(String)", "[\"a\",\"b\"]", "[\"a\",\"b\"]");
    VALUE("Array(String)", "[]", "[]");
    VALUE("Array(String)", "[{\"$oid\":\"65a1b2c3d4e5f60718293a4b\"},1]",
          "[\"65a1b2c3d4e5f60718293a4b\",\"1\"]");
    EVERY_FORM("Array(Int64)", "[1,2]", "[1,2]",
               "[{\"$numberInt\":\"1\"},{\"$numberLong\":\"2\"}]", "[1,2]");
    EVERY_FORM("Array(Float64)", "[1.5,\"NaN\"]",
               "[1.5,{\"$numberDouble\":\"NaN\"}]",
               "[{\"$numberDouble\":\"1.5\"},{\"$numberDouble\":\"NaN\"}]",
               "[1.5,\"nan\"]");
    /* one element that does not convert: the whole array is kept */
    MALFORMED("Array(Int64)", "[1,\"two\",3]", "[]");
    MALFORMED("Array(Int64)", "[1,null]", "[]");
    MALFORMED("Array(String)", "\"a\"", "[]"); /* no array */
    MALFORMED("Array(Float64)", "{\"a\":1}", "[]");
    char *got = project_json("Array(Int64)", "{}");
    CHECK_STR(got, ",\"c\":[],\"_malformed\":\"\"");
    free(got);
}

#define CHECK_BYTES(type, doc, bytes)                                         \
    do {                                                                      \
        struct ch_buf b_ = project(type, doc, false);                         \
        static const char want_[] = bytes;                                    \
        CHECK(b_.len == sizeof want_ - 1 &&                                   \
              memcmp(b_.data, want_, sizeof want_ - 1) == 0);                 \
        ch_buf_free(&b_);                                                     \
    } while (0)

static void rowbinary(void)
{
    /* each value, then _malformed "" (a varint 0) */
    CHECK_BYTES("String", "{\"v\":\"ab\"}",
                "\x02"
                "ab\x00");
    CHECK_BYTES("Int64", "{\"v\":-2}", "\xfe\xff\xff\xff\xff\xff\xff\xff\x00");
    CHECK_BYTES("UInt64", "{\"v\":258}", "\x02\x01\0\0\0\0\0\0\x00");
    CHECK_BYTES("Float64", "{\"v\":1.5}", "\0\0\0\0\0\0\xf8\x3f\x00");
    CHECK_BYTES("UInt8", "{\"v\":7}", "\x07\x00");
    CHECK_BYTES("Bool", "{\"v\":true}", "\x01\x00");
    CHECK_BYTES("Date", "{\"v\":\"1970-01-03\"}", "\x02\x00\x00");
    CHECK_BYTES("DateTime", "{\"v\":\"1970-01-01T00:01:00Z\"}",
                "\x3c\0\0\0\x00");
    CHECK_BYTES("DateTime64(3)", "{\"v\":\"1970-01-01T00:00:01.5Z\"}",
                "\xdc\x05\0\0\0\0\0\0\x00");
    CHECK_BYTES("Nullable(Int64)", "{\"v\":1}", "\x00\x01\0\0\0\0\0\0\0\x00");
    CHECK_BYTES("Nullable(Int64)", "{}", "\x01\x00");
    CHECK_BYTES("Array(String)", "{\"v\":[\"a\",\"\"]}",
                "\x02\x01"
                "a\x00\x00");
    CHECK_BYTES("Array(Int64)", "{\"v\":[\"x\"]}", "\x00\x0b{\"v\":[\"x\"]}");
    CHECK_BYTES("Int64", NULL, "\0\0\0\0\0\0\0\0\x00"); /* a deleted row */
}

static void paths_and_documents(void)
{
    const char *items[] = {"t.id = customer.id String",
                           "t.first = items.0.sku String",
                           "t.deep = a.b.c Int64",
                           "t.n = n Int64",
                           "t.n_text = n String",
                           "t.again = n Float64"};
    struct ch_config cfg = config_of(items, 6, false);
    struct ch_fields f;
    char message[256];
    sluice_error err = {message, sizeof message};
    CHECK(ch_fields_parse(&cfg, &f, &err) == SLUICE_OK);
    struct ch_shape sh;
    CHECK(ch_shape_init(&sh, CH_NAMES_CLICKPIPES, &server, &f, "t", false));
    CHECK(!ch_shape_column(&sh, CH_DOC)); /* keep_doc = false */
    struct ch_projector *p = ch_projector_new();
    struct ch_buf out = {0};
    const char *doc = "{\"customer\":{\"id\":\"c1\"},\"items\":[{\"sku\":"
                      "\"A\"},{\"sku\":\"B\"}],\"a\":{\"b\":\"x\"},"
                      "\"n\":\"seven\"}";
    CHECK(ch_project(p, &out, &sh, true, doc, strlen(doc)));
    /* a path through a string finds nothing: the default; two columns
     * of one malformed field keep it once */
    CHECK_STR(out.data, ",\"id\":\"c1\",\"first\":\"A\",\"deep\":0,\"n\":0,"
                        "\"n_text\":\"seven\",\"again\":0,\"_malformed\":"
                        "\"{\\\"n\\\":\\\"seven\\\"}\"");
    /* a document that is no JSON: every default, its text kept whole */
    out.len = 0;
    CHECK(ch_project(p, &out, &sh, true, "{\"n\": 1", 7));
    CHECK_STR(out.data, ",\"id\":\"\",\"first\":\"\",\"deep\":0,\"n\":0,"
                        "\"n_text\":\"\",\"again\":0,\"_malformed\":\"{\\\""
                        "\\\":\\\"{\\\\\\\"n\\\\\\\": 1\\\"}\"");
    /* the parser goes on from one document to the next: neither a
     * second value nor nothing at all is a document */
    const char *not_one[] = {"{} x", "{}{}", "5 7", "5", "  ", ""};
    for (size_t i = 0; i < sizeof not_one / sizeof *not_one; i++) {
        out.len = 0;
        CHECK(ch_project(p, &out, &sh, true, not_one[i], strlen(not_one[i])));
        CHECK_CONTAINS(out.data, i == 3 ? "\"_malformed\":\"\""
                                        : "\"_malformed\":\"{\\\"\\\":");
    }
    /* the projector keeps nothing from one row to the next */
    out.len = 0;
    CHECK(ch_project(p, &out, &sh, true, "{\"n\":5}", 7));
    CHECK_STR(out.data, ",\"id\":\"\",\"first\":\"\",\"deep\":0,\"n\":5,"
                        "\"n_text\":\"5\",\"again\":5,\"_malformed\":\"\"");
    /* extended JSON with spaces, as libbson writes it */
    out.len = 0;
    doc = "{ \"n\" : { \"$numberLong\" : \"6\" } }";
    CHECK(ch_project(p, &out, &sh, true, doc, strlen(doc)));
    CHECK_CONTAINS(out.data, "\"n\":6,\"n_text\":\"6\",\"again\":6,");
    ch_buf_free(&out);
    ch_projector_free(p);
    ch_shape_free(&sh);
    ch_fields_free(&f);
}

/* ',"name":value,...' of the columns `items` (keep_doc = false) from
 * one document; the caller frees it. */
static char *project_items(const char **items, size_t n, const char *doc,
                           size_t len)
{
    struct ch_config cfg = config_of(items, n, false);
    struct ch_fields f;
    char message[256];
    sluice_error err = {message, sizeof message};
    CHECK(ch_fields_parse(&cfg, &f, &err) == SLUICE_OK);
    struct ch_shape sh;
    CHECK(ch_shape_init(&sh, CH_NAMES_SLUICE, &server, &f, "t", false));
    struct ch_projector *p = ch_projector_new();
    struct ch_buf out = {0};
    CHECK(ch_project(p, &out, &sh, true, doc, len));
    ch_projector_free(p);
    ch_shape_free(&sh);
    ch_fields_free(&f);
    return out.data;
}

#define CHECK_ITEMS(items, doc, want)                                         \
    do {                                                                      \
        char *got_ = project_items(items, sizeof items / sizeof *items, doc,  \
                                   strlen(doc));                              \
        CHECK_STR(got_, want);                                                \
        free(got_);                                                           \
    } while (0)

/* The values are found while the document is parsed: paths that leave a
 * level and come back, a path inside another column's value, keys given
 * twice, arrays at every level, and documents too deep to read. */
static void paths_while_parsing(void)
{
    const char *nested[] = {"t.a = a String", "t.ab = a.b Int64",
                            "t.n = n Int64", "t.deep = x.y.n Int64"};
    CHECK_ITEMS(nested,
                "{ \"x\" : {\"y\": {\"n\": 9}, \"n\": 8}, \"a\" : "
                "{ \"b\" : 2, \"s\": \"q\\u0041\\n\", \"l\": [ 1, {} ] }, "
                "\"n\": 3}",
                ",\"a\":\"{\\\"b\\\":2,\\\"s\\\":\\\"qA\\\\u000a\\\","
                "\\\"l\\\":[1,{}]}\",\"ab\":2,\"n\":3,\"deep\":9,"
                "\"_malformed\":\"\"");
    /* a key given twice keeps its last value, as a parser into a tree */
    CHECK_ITEMS(nested, "{\"n\":1,\"a\":{\"b\":1},\"n\":2,\"a\":{\"c\":1}}",
                ",\"a\":\"{\\\"c\\\":1}\",\"ab\":1,\"n\":2,\"deep\":0,"
                "\"_malformed\":\"\"");
    const char *arrays[] = {"t.first = items.1.sku String",
                            "t.none = items.sku String", "t.m = m.0.1 Int64",
                            "t.root = 0 Int64"};
    CHECK_ITEMS(
        arrays,
        "{\"items\":[{\"sku\":\"A\",\"l\":[0,1]},{\"x\":[1],\"sku\":\"B\"}],"
        "\"m\":[[5,6],[7]]}",
        ",\"first\":\"B\",\"none\":\"\",\"m\":6,\"root\":0,"
        "\"_malformed\":\"\"");
    /* a document may be an array; a path of digits reads it */
    CHECK_ITEMS(arrays, "[4, {\"m\": 1}]",
                ",\"first\":\"\",\"none\":\"\",\"m\":0,\"root\":4,"
                "\"_malformed\":\"\"");
    /* elements wrapped as extended JSON, and integers beyond 64 bits */
    const char *numbers[] = {"t.l = l Array(Int64)", "t.u = big UInt64",
                             "t.i = big Int64"};
    CHECK_ITEMS(numbers,
                "{\"l\":[{\"$numberLong\":\"1\"},2,3.0],"
                "\"big\":184467440737095516160}",
                ",\"l\":[1,2,3],\"u\":18446744073709551615,\"i\":0,"
                "\"_malformed\":\"{\\\"big\\\":184467440737095516160}\"");
    /* two documents in one, or one nested deeper than 256 levels: no
     * JSON, kept whole */
    CHECK_ITEMS(numbers, "{}{}",
                ",\"l\":[],\"u\":0,\"i\":0,\"_malformed\":"
                "\"{\\\"\\\":\\\"{}{}\\\"}\"");
    for (int levels = 256; levels <= 257; levels++) {
        char deep[600] = "{\"l\":";
        size_t len = strlen(deep);
        for (int i = 1; i < levels; i++)
            deep[len++] = '[';
        for (int i = 1; i < levels; i++)
            deep[len++] = ']';
        deep[len++] = '}';
        deep[len] = '\0';
        char *got = project_items(numbers, 3, deep, len);
        /* 256 levels are read ("l" is malformed, its elements arrays);
         * 257 are not */
        CHECK_CONTAINS(got, levels == 256
                                ? "\"_malformed\":\"{\\\"l\\\":[[["
                                : "\"_malformed\":\"{\\\"\\\":\\\"{");
        free(got);
    }
}

static void iso_dates(void)
{
    int64_t ms = 0;
    CHECK(ch_iso_parse("1970-01-01", 10, &ms) && ms == 0);
    CHECK(ch_iso_parse("2000-02-29T12:00:00Z", 20, &ms) &&
          ms == 951825600000LL);
    CHECK(!ch_iso_parse("2001-02-29", 10, &ms));
    CHECK(ch_iso_parse("2024-01-02T03:04:05.6789Z", 25, &ms) &&
          ms == 1704164645678LL);
    CHECK(ch_iso_parse("0001-01-01T00:00:00Z", 20, &ms) &&
          ms == -62135596800000LL);
    CHECK(!ch_iso_parse("2024-1-02", 9, &ms));
    CHECK(!ch_iso_parse("2024-01-02T03", 13, &ms));
    CHECK(!ch_iso_parse("2024-01-02T03:04:05.Z", 21, &ms));
    char text[40];
    ch_iso_format(-1, text, sizeof text);
    CHECK_STR(text, "1969-12-31T23:59:59.999Z");
    ch_iso_format(1704164645678LL, text, sizeof text);
    CHECK_STR(text, "2024-01-02T03:04:05.678Z");
    ch_date_format(ch_days_of(-1), text, sizeof text);
    CHECK_STR(text, "1969-12-31");
}

/* Bool is UInt8 on servers without it; an existing UInt8 column holds a
 * Bool column's values. */
static void bool_on_each_server(void)
{
    struct ch_type t = {.kind = CH_BOOL, .nullable = true};
    char text[48];
    ch_type_text(t, &server, text, sizeof text);
    CHECK_STR(text, "Nullable(UInt8)");
    struct ch_features newer = {.major = 24, .minor = 3, .bool_type = true};
    ch_type_text(t, &newer, text, sizeof text);
    CHECK_STR(text, "Nullable(Bool)");
    CHECK(ch_type_holds(t, "Nullable(Bool)"));
    CHECK(ch_type_holds(t, "Nullable(UInt8)"));
    CHECK(!ch_type_holds(t, "UInt8"));
    struct ch_type i = {.kind = CH_INT64};
    CHECK(ch_type_holds(i, "Int64"));
    CHECK(!ch_type_holds(i, "Nullable(Int64)"));
}

int main(void)
{
    RUN(items_are_read);
    RUN(bad_items_are_refused);
    RUN(strings_from_every_form);
    RUN(integers_from_every_form);
    RUN(floats_from_every_form);
    RUN(dates_from_every_form);
    RUN(nullable_missing_and_null);
    RUN(arrays);
    RUN(rowbinary);
    RUN(paths_and_documents);
    RUN(paths_while_parsing);
    RUN(iso_dates);
    RUN(bool_on_each_server);
    return TEST_RESULT();
}
