/* test_redact.c: secrets out of text (util/redact.h): every form of
 * secret, alone and inside a message; remembered values, bare and
 * percent-encoded; nothing masked that is not a secret; and lines for
 * people with their control characters escaped. */
#include <stdlib.h>

#include "../test.h"
#include "util/buf.h"
#include "util/redact.h"

#define CHECK_MASKED(in, out)                                                 \
    do {                                                                      \
        char *got_ = redact_dup(in);                                          \
        CHECK_STR(got_, out);                                                 \
        free(got_);                                                           \
    } while (0)

static void urls(void)
{
    CHECK_MASKED("mongodb://user:s3cret@db:27017/?replicaSet=rs0",
                 "mongodb://user:********@db:27017/?replicaSet=rs0");
    CHECK_MASKED("postgresql://app@db/sluice", "postgresql://app@db/sluice");
    CHECK_MASKED("http://h:8123/?password=x&user=u",
                 "http://h:8123/?password=********&user=u");
    CHECK_MASKED("postgresql://u:p@h/db?sslpassword=k#x",
                 "postgresql://u:********@h/db?sslpassword=********#x");
    CHECK_MASKED("sqlite:./sluice.db", "sqlite:./sluice.db");
    /* the last '@' ends the userinfo; a port is not a password */
    CHECK_MASKED("mongodb://u:p@ss@h1,h2/db", "mongodb://u:********@h1,h2/db");
    CHECK_MASKED("http://h:8123/a@b", "http://h:8123/a@b");
    CHECK_MASKED("http://u:@h/", "http://u:@h/");
    /* inside a message */
    CHECK_MASKED("cannot reach \"https://ann:pw1@ch.example:8443/x\": refused",
                 "cannot reach \"https://ann:********@ch.example:8443/x\": "
                 "refused");
    CHECK_MASKED("url http://h/?token=abc&api_key=def#f, then",
                 "url http://h/?token=********&api_key=********#f, then");
}

static void connection_strings(void)
{
    CHECK_MASKED("host=db port=5432 password=s3cret dbname=x",
                 "host=db port=5432 password=******** dbname=x");
    CHECK_MASKED("host=db password = 'a b\\' c' user=u",
                 "host=db password = '********' user=u");
    CHECK_MASKED("PASSWORD=\"x y\"", "PASSWORD=\"********\"");
    CHECK_MASKED("store host=db sslpassword=k2: refused",
                 "store host=db sslpassword=******** refused");
    CHECK_MASKED("password=", "password=");
    /* what is not a secret stays */
    CHECK_MASKED("host=db port=5432 user=u dbname=keys",
                 "host=db port=5432 user=u dbname=keys");
    CHECK_MASKED("progress table=x rows=10 status=active",
                 "progress table=x rows=10 status=active");
    CHECK_MASKED("primary key of 'token' is _id",
                 "primary key of 'token' is _id");
}

static void mongodb_properties(void)
{
    CHECK_MASKED("mongodb://h/?authMechanism=MONGODB-AWS&"
                 "authMechanismProperties=AWS_SESSION_TOKEN:tok1,"
                 "SERVICE_NAME:svc&w=1",
                 "mongodb://h/?authMechanism=MONGODB-AWS&"
                 "authMechanismProperties=AWS_SESSION_TOKEN:********,"
                 "SERVICE_NAME:********&w=1");
    CHECK_MASKED("authmechanismproperties=ONLY",
                 "authmechanismproperties=********");
}

static void remembered_values(void)
{
    redact_remember("Hunter2-long");
    redact_remember("abc"); /* too short: it would mask words */
    redact_remember_in("http://u:p%40ss-word@h/?secret=Q9-value&x=plain");
    CHECK_MASKED("the server said: Hunter2-long is wrong",
                 "the server said: ******** is wrong");
    CHECK_MASKED("abc", "abc");
    CHECK_MASKED("login p@ss-word refused; p%40ss-word too",
                 "login ******** refused; ******** too");
    CHECK_MASKED("got Q9-value", "got ********");
    CHECK_MASKED("plain", "plain");
    CHECK_MASKED("Hunter2-longHunter2-long!", "********!");
    redact_forget();
    CHECK_MASKED("Hunter2-long", "Hunter2-long");
}

static void in_place(void)
{
    char message[24] = "a password=xyzw b";
    redact_in_place(message, sizeof message);
    CHECK_STR(message, "a password=******** b");
    char small[16] = "password=xy";
    redact_in_place(small, sizeof small);
    CHECK_STR(small, "password=******");
}

static void lines_for_people(void)
{
    struct buf b = {0};
    redact_line("orders\n2026-01-01T00:00:00Z error sluice: forged\x1b[2J"
                "\t\x7f\r password=x",
                &b);
    CHECK_STR(b.data, "orders\\n2026-01-01T00:00:00Z error sluice: "
                      "forged\\x1b[2J\\t\\x7f\\r password=********");
    buf_free(&b);
    redact_line("caf\xc3\xa9", &b);
    CHECK_STR(b.data, "caf\xc3\xa9");
    buf_free(&b);
    /* the C1 controls (a CSI, a NEL), not the letters after them */
    redact_line("a\xc2\x9b"
                "2Jb\xc2\x85"
                "c\xc2\xa0"
                "d\xc2",
                &b);
    CHECK_STR(b.data, "a\\u009b2Jb\\u0085c\xc2\xa0"
                      "d\xc2");
    buf_free(&b);
}

int main(void)
{
    RUN(urls);
    RUN(connection_strings);
    RUN(mongodb_properties);
    RUN(remembered_values);
    RUN(in_place);
    RUN(lines_for_people);
    return TEST_RESULT();
}
