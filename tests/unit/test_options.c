/* test_options.c: the option-table engine on its own: defaults, every
 * type, every class of error with file, line, section and key, secrets
 * never echoed, table checks, and the generated documentation. */
#include <stdlib.h>
#include <unistd.h>

#include "../test.h"
#include "options/ini_doc.h"
#include "options/options.h"
#include "util/mem.h"
#include "util/redact.h"

struct cfg {
    const char *name;
    int64_t count;
    bool on;
    int64_t wait_ms;
    int64_t bytes;
    int color;
    sluice_string_list items;
    int64_t at;
    const char *token;
    int64_t pin;
};

static const char *const colors[] = {"red", "green", NULL};

#define F(f) offsetof(struct cfg, f)
static const sluice_option table[] = {
    {SLUICE_OPTION_STRING, "name", NULL, SLUICE_OPTION_REQUIRED, F(name),
     "A name.", 0, 0, NULL},
    {SLUICE_OPTION_INT, "count", "3", SLUICE_OPTION_RANGE, F(count),
     "A count.", 1, 10, NULL},
    {SLUICE_OPTION_BOOL, "on", "false", 0, F(on), "A switch.", 0, 0, NULL},
    {SLUICE_OPTION_DURATION, "wait", "60s", SLUICE_OPTION_RANGE, F(wait_ms),
     "A wait.", 1000, 3600000, NULL},
    {SLUICE_OPTION_SIZE, "bytes", "16MiB", 0, F(bytes), "A size.", 0, 0, NULL},
    {SLUICE_OPTION_ENUM, "color", "green", 0, F(color), "A color.", 0, 0,
     colors},
    {SLUICE_OPTION_LIST, "items", NULL, 0, F(items), "Some items.", 0, 0,
     NULL},
    {SLUICE_OPTION_TIME, "at", "23:00", 0, F(at), "A time.", 0, 0, NULL},
    {SLUICE_OPTION_STRING, "token", "", SLUICE_OPTION_SECRET, F(token),
     "A token.", 0, 0, NULL},
    {SLUICE_OPTION_INT, "pin", "0", SLUICE_OPTION_SECRET | SLUICE_OPTION_RANGE,
     F(pin), "A pin.", 0, 9999, NULL},
};
#define N (sizeof table / sizeof *table)

/* Writes `text` to a file, loads [s] and applies the table. */
static void apply(const char *text, struct cfg *out, struct diags *d,
                  char **path_out)
{
    char path[] = "/tmp/sluice-options-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    struct ini_doc doc;
    struct error err;
    CHECK(ini_doc_load(path, &doc, d, &err) == 0);
    struct option_source src = {path, "s", ini_doc_section(&doc, "s"), 1};
    memset(out, 0, sizeof *out);
    options_apply(table, N, &src, out, d);
    options_report_unknown(table, N, &src, d);
    ini_doc_free(&doc);
    unlink(path);
    *path_out = xstrdup(path);
}

static char *all(const struct diags *d)
{
    struct buf b = {0};
    for (size_t i = 0; i < d->count; i++)
        buf_printf(&b, "%s\n", d->errors[i]);
    return buf_take(&b);
}

static void defaults_and_values(void)
{
    struct cfg c;
    struct diags d = {0};
    char *path;
    apply("[s]\nname = x\nitems = a, b ,c\n  d\nwait = 59m30s\non = yes\n", &c,
          &d, &path);
    CHECK(d.count == 0);
    for (size_t i = 0; i < d.count; i++)
        fprintf(stderr, "  %s\n", d.errors[i]);
    CHECK_STR(c.name, "x");
    CHECK(c.count == 3 && c.on && c.wait_ms == 3570000);
    CHECK(c.bytes == 16 << 20 && c.color == 1 && c.at == 82800);
    CHECK(c.items.count == 4);
    if (c.items.count == 4) {
        CHECK_STR(c.items.items[1], "b");
        CHECK_STR(c.items.items[3], "d");
    }
    struct buf b = {0};
    option_format_value(&table[8], &c,
                        &b); /* no secret set: nothing to mask */
    CHECK(b.len == 0);
    buf_free(&b);
    options_free(table, N, &c);
    CHECK(c.name == NULL && c.items.count == 0);
    diags_free(&d);
    free(path);
}

static void every_error_named(void)
{
    struct cfg c;
    struct diags d = {0};
    char *path;
    apply("[s]\n"
          "count = 11\n"       /* 2: range */
          "on = perhaps\n"     /* 3: type */
          "wait = 5 minutes\n" /* 4: duration */
          "bytes = 3XB\n"      /* 5: size */
          "color = blue\n"     /* 6: enum */
          "items = a,,b\n"     /* 7: empty item */
          "at = 25:00\n"       /* 8: time */
          "colour = red\n"     /* 9: unknown, close to color */
          "zzz = 1\n"          /* 10: unknown */
          "count = 2\n",       /* 11: twice */
          &c, &d, &path);
    char *text = all(&d);
    char want[512];
#define EXPECT(line, key, what)                                               \
    snprintf(want, sizeof want, "%s:%d: [s] %s: %s", path, line, key, what);  \
    CHECK_CONTAINS(text, want)
    EXPECT(2, "count", "11 is out of range: must be from 1 to 10");
    EXPECT(3, "on", "expected true or false");
    EXPECT(4, "wait", "expected a duration");
    EXPECT(5, "bytes", "unknown size unit");
    EXPECT(6, "color", "'blue' is not one of: red, green");
    EXPECT(7, "items", "item 2 of the list is empty");
    EXPECT(8, "at", "time of day out of range");
    EXPECT(9, "colour", "unknown option; did you mean 'color'?");
    EXPECT(10, "zzz", "unknown option; known: name, count");
    EXPECT(11, "count", "set twice (first on line 2)");
    EXPECT(1, "name", "required option is missing");
    CHECK(d.count == 11);
    free(text);
    options_free(table, N, &c);
    diags_free(&d);
    free(path);
}

static void secrets_never_echoed(void)
{
    struct cfg c;
    struct diags d = {0};
    char *path;
    apply("[s]\nname = x\npin = 123456\n", &c, &d, &path);
    char *text = all(&d);
    CHECK_CONTAINS(text, "[s] pin: value is out of range: must be from 0 to "
                         "9999");
    CHECK_NOT_CONTAINS(text, "123456");
    free(text);
    options_free(table, N, &c);
    diags_free(&d);
    free(path);
}

/* A secret set is masked when shown, and remembered: masked wherever
 * else it appears (util/redact.h). */
static void secrets_masked_everywhere(void)
{
    struct cfg c;
    struct diags d = {0};
    char *path;
    apply("[s]\nname = x\ntoken = Tok-4f9a\n", &c, &d, &path);
    CHECK(d.count == 0);
    struct buf b = {0};
    option_format_value(&table[8], &c, &b);
    CHECK_STR(b.data, "********");
    buf_free(&b);
    char *said = redact_dup("the server said: Tok-4f9a is not valid");
    CHECK_STR(said, "the server said: ******** is not valid");
    free(said);
    redact_forget();
    options_free(table, N, &c);
    diags_free(&d);
    free(path);
}

/* A list's line breaks separate items; any other option's continued
 * pieces are joined with nothing between them. */
static void continued_values(void)
{
    struct cfg c;
    struct diags d = {0};
    char *path;
    apply("[s]\nname = a\n  b\ncount = 1\n  0\nitems = x\n  y\n", &c, &d,
          &path);
    CHECK(d.count == 0);
    CHECK_STR(c.name, "ab");
    CHECK(c.count == 10);
    CHECK(c.items.count == 2);
    options_free(table, N, &c);
    diags_free(&d);
    free(path);
}

static void table_checks(void)
{
    struct error err;
    CHECK(options_check_table(table, N, sizeof(struct cfg), &err) == 0);
    CHECK(options_check_table(table, N, 8, &err) < 0);
    CHECK_CONTAINS(err.message, "outside the config struct");
    sluice_option bad = table[1];
    bad.default_value = "0";
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "option 'count': default is invalid: 0 is "
                                "out of range");
    bad = table[1];
    bad.description = "";
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "has no description");
    bad = table[1];
    bad.name = "Count";
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    bad = table[0];
    bad.default_value = "x";
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "required and has a default");
    sluice_option twice[] = {table[1], table[1]};
    CHECK(options_check_table(twice, 2, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "declared twice");
    bad = table[1]; /* an integer */
    bad.flags |= SLUICE_OPTION_PATH;
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "option 'count': only a string can be a path");
}

/* A URL option that lists its schemes (ABI 1.2) takes only those; a
 * message names the scheme, never the rest of the URL. */
static void url_schemes(void)
{
    static const char *const web[] = {"http", "https", NULL};
    static const char *const none[] = {NULL};
    static const char *const upper[] = {"Http", NULL};
    sluice_option url = {SLUICE_OPTION_STRING,
                         "url",
                         "http://h:8123",
                         SLUICE_OPTION_URL,
                         F(name),
                         "A server.",
                         0,
                         0,
                         web};
    struct error err;
    CHECK(options_check_table(&url, 1, sizeof(struct cfg), &err) == 0);
    struct cfg c = {0};
    CHECK(option_parse(&url, "https://u:pw@h/", &c, &err) == 0);
    CHECK_STR(c.name, "https://u:pw@h/");
    CHECK(option_parse(&url, "ftp://u:pw@h/", &c, &err) < 0);
    CHECK_STR(err.message, "scheme 'ftp' is not one of: http, https");
    CHECK(option_parse(&url, "httpx://h/", &c, &err) < 0);
    CHECK(option_parse(&url, "h:pw@h2", &c, &err) < 0);
    CHECK_NOT_CONTAINS(err.message, "pw");
    CHECK(option_parse(&url, "h.example.com", &c, &err) < 0);
    CHECK_CONTAINS(err.message, "has no scheme");
    CHECK(option_parse(&url, "", &c, &err) < 0);
    options_free(&url, 1, &c);

    struct buf text = {0};
    options_describe(&url, 1, false, &text);
    CHECK_CONTAINS(text.data, "url (string, URL: http, https; default:");
    buf_free(&text);

    sluice_option bad = url;
    bad.default_value = "ftp://h/";
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "default is invalid: scheme 'ftp'");
    bad = url;
    bad.allowed = upper;
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "'Http' is not a URL scheme");
    bad = url;
    bad.allowed = none;
    CHECK(options_check_table(&bad, 1, sizeof(struct cfg), &err) < 0);
    CHECK_CONTAINS(err.message, "list of URL schemes is empty");
}

static void documentation(void)
{
    struct buf text = {0}, md = {0};
    options_describe(table, N, false, &text);
    options_describe(table, N, true, &md);
    CHECK_CONTAINS(text.data, "count (integer, 1 to 10; default: 3)");
    CHECK_CONTAINS(text.data, "name (string; required)");
    CHECK_CONTAINS(text.data, "wait (duration, 1s to 1h; default: 60s)");
    CHECK_CONTAINS(text.data, "color (enum: red, green; default: green)");
    CHECK_CONTAINS(text.data,
                   "Secret: never printed; can be read from a file with "
                   "NAME_file = PATH.");
    CHECK_CONTAINS(md.data, "| option | type | default | description |");
    CHECK_CONTAINS(md.data, "| `count` | integer, 1 to 10 | 3 | A count. |");
    buf_free(&text);
    buf_free(&md);
}

int main(void)
{
    RUN(defaults_and_values);
    RUN(every_error_named);
    RUN(secrets_never_echoed);
    RUN(secrets_masked_everywhere);
    RUN(continued_values);
    RUN(table_checks);
    RUN(url_schemes);
    RUN(documentation);
    return TEST_RESULT();
}
