/* main.c: mongo_test_server [--port N] [--bind ADDR] [--oplog-size N]
 *                            [--dbpath DIR] [--seed DB.COLL=FILE.jsonl]...
 *                            [--generate DB.COLL=COUNT[:SIZE[:IDTYPE]]]...
 * Starts the test server on 127.0.0.1 (or the IPv4 address ADDR), prints
 * "listening on ADDR:PORT" once it accepts connections, and stops cleanly on
 * SIGTERM or SIGINT. With --dbpath it first loads what DIR holds, and
 * seeds only a DIR that holds nothing yet. See README.md. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"
#include "server.h"

struct server srv = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .grew = PTHREAD_COND_INITIALIZER,
    .log_max = 100000,
    .next_seq = 1,
    .lost_before = 1,
    .next_cursor_id = 1000,
    .address = "127.0.0.1",
};

static int usage(const char *why)
{
    fprintf(stderr,
            "mongo_test_server: %s\n"
            "usage: mongo_test_server [--port N] [--bind ADDR] "
            "[--oplog-size N] "
            "[--dbpath DIR] [--seed DB.COLL=FILE.jsonl]... [--generate "
            "DB.COLL=COUNT[:SIZE[:objectId|int|string]]]...\n",
            why);
    return 2;
}

/* "db.coll=rest" into its parts; false when malformed. */
static bool split_target(char *arg, char **db, char **coll, char **rest)
{
    char *eq = strchr(arg, '=');
    char *dot = strchr(arg, '.');
    if (!eq || !dot || dot > eq)
        return false;
    *dot = '\0';
    *eq = '\0';
    *db = arg;
    *coll = dot + 1;
    *rest = eq + 1;
    return **db && **coll && **rest;
}

static int seed(char *arg)
{
    char *db, *coll, *path;
    if (!split_target(arg, &db, &coll, &path))
        return usage("--seed takes DB.COLL=FILE.jsonl");
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "mongo_test_server: cannot read %s\n", path);
        return 1;
    }
    struct collection *c = coll_get(db, coll);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == (size_t)n)
            continue;
        bson_t doc;
        bson_error_t err;
        if (!bson_init_from_json(&doc, line, n, &err)) {
            fprintf(stderr, "mongo_test_server: %s:%ld: %s\n", path, lineno,
                    err.message);
            return 1;
        }
        bson_t *owned = bson_new();
        bson_iter_t it;
        if (!bson_iter_init_find(&it, &doc, "_id")) {
            bson_oid_t oid;
            bson_oid_init(&oid, NULL);
            BSON_APPEND_OID(owned, "_id", &oid);
        }
        bson_concat(owned, &doc);
        bson_destroy(&doc);
        if (!coll_insert(c, owned)) {
            fprintf(stderr, "mongo_test_server: %s:%ld: duplicate _id\n", path,
                    lineno);
            return 1;
        }
    }
    free(line);
    fclose(f);
    return 0;
}

static int generate_arg(char *arg)
{
    char *db, *coll, *spec;
    if (!split_target(arg, &db, &coll, &spec))
        return usage("--generate takes DB.COLL=COUNT[:SIZE[:IDTYPE]]");
    long long count = strtoll(spec, &spec, 10), size = 100;
    const char *type = "objectId";
    if (*spec == ':')
        size = strtoll(spec + 1, &spec, 10);
    if (*spec == ':')
        type = spec + 1;
    bool known = !strcmp(type, "objectId") || !strcmp(type, "int") ||
                 !strcmp(type, "string");
    if (count < 0 || size < 0 || !known)
        return usage("--generate: bad COUNT, SIZE or IDTYPE");
    generate(db, coll, count, size, type, 0);
    return 0;
}

/* --seed and --generate, in their order; with --dbpath, recorded in a
 * scope and written there. */
static int seed_all(int argc, char **argv, bool persisting)
{
    struct scope s;
    scope_open(&s);
    scope_active = persisting ? &s : NULL;
    int rc = 0;
    for (int i = 1; i + 1 < argc && !rc; i += 2) {
        if (!strcmp(argv[i], "--seed"))
            rc = seed(argv[i + 1]);
        else if (!strcmp(argv[i], "--generate"))
            rc = generate_arg(argv[i + 1]);
    }
    if (!rc)
        txn_publish(&s); /* and makes no scope active */
    return rc;
}

/* How the server's memory is kept. Every command runs under srv.lock, so
 * one arena serves all connection threads as well as one each would; a
 * thread's own arena grows a page or so at a time (an mprotect each: as
 * many as two per command under a steady stream of inserts), the main
 * one by M_TOP_PAD. What is freed is kept, not given back and faulted in
 * again zeroed, and replies of up to 32 MiB are built on the heap, not
 * mapped and unmapped each time. */
static void malloc_tune(void)
{
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_TOP_PAD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

int main(int argc, char **argv)
{
    malloc_tune();
    int port = 0;
    const char *dbpath = NULL;
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return usage("an option lacks its value");
        if (!strcmp(a, "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(a, "--bind") &&
                 strlen(argv[i + 1]) < sizeof srv.address)
            snprintf(srv.address, sizeof srv.address, "%s", argv[i + 1]);
        else if (!strcmp(a, "--bind"))
            return usage("--bind: the address is too long");
        else if (!strcmp(a, "--oplog-size"))
            srv.log_max = (size_t)atoll(argv[i + 1]);
        else if (!strcmp(a, "--dbpath"))
            dbpath = argv[i + 1];
        else if (strcmp(a, "--seed") != 0 && strcmp(a, "--generate") != 0)
            return usage("unknown option");
    }
    if (srv.log_max < 1)
        srv.log_max = 1;
    bool had_data = false;
    char err[1024] = "";
    if (dbpath && !persist_open(dbpath, &had_data, err, sizeof err)) {
        fprintf(stderr, "mongo_test_server: --dbpath: %s\n", err);
        return 1;
    }
    txn_load_sessions();
    int rc = had_data ? 0 : seed_all(argc, argv, dbpath != NULL);
    if (rc)
        return rc;
    int listener = net_listen(port, &srv.port);
    if (listener < 0) {
        fprintf(stderr,
                "mongo_test_server: cannot listen on %s:%d (--bind takes "
                "an IPv4 address of this host)\n",
                srv.address, port);
        return 1;
    }
    printf("listening on %s:%d\n", srv.address, srv.port);
    fflush(stdout);
    net_serve(listener);
    return 0;
}
