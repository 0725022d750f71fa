/* cmd_store.c: the store as a whole. sluice store migrate: besides
 * sluice run and sluice topic create, the one command that creates a
 * store or upgrades its schema, for an operator who upgrades sluice
 * without running pipes (the other commands take the store as it is, see
 * store.h). sluice store check: every publication event's records
 * present and whole. sluice store backup: a consistent copy while others
 * write. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../hub/hub.h"
#include "../util/units.h"
#include "cli.h"

int cmd_store_migrate(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    struct flag flags[] = {STORE_FLAGS(sf)};
    size_t nargs;
    int rc = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    char *url = cli_store_url(&sf);
    if (!url)
        return EXIT_USAGE;
    /* the version it had, for the message: 0 when it could not be read as
     * it is (missing, never set up) */
    int before = 0, after = 0;
    struct store *s = NULL;
    struct error err;
    if (store_open(url, STORE_READ, &s, &err) == 0 &&
        store_schema_version(s, &before, &err) < 0)
        before = 0;
    store_close(s);
    s = NULL;
    int status = EXIT_OK;
    if (store_open(url, STORE_CREATE, &s, &err) < 0 ||
        store_schema_version(s, &after, &err) < 0) {
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    } else if (before == after) {
        printf("store %s: schema version %d, already current\n", store_name(s),
               after);
    } else if (before) {
        printf("store %s: schema version %d, was %d\n", store_name(s), after,
               before);
    } else {
        printf("store %s: schema version %d, set up new\n", store_name(s),
               after);
    }
    store_close(s);
    free(url);
    return status;
}

/* What sluice store check found. */
struct findings {
    int64_t events, records, bytes, in_segments;
    int64_t problems;
};

static void problem(struct findings *f, const char *fmt, ...)
    SLUICE_PRINTF(2, 3);
static void problem(struct findings *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("problem: ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    f->problems++;
}

#define CHECK_PAGE 1000

/* Every publication event's records: present, whole, as many as it says. */
static int check_events(struct store *s, struct findings *f, struct error *err)
{
    int64_t after = 0;
    struct sluice_batch b;
    batch_init(&b, 0, 0);
    for (;;) {
        struct db_value p[] = {DBV_INT(after), DBV_INT(CHECK_PAGE)};
        struct db_result r;
        if (store_exec(s,
                       "SELECT id, topic, records, bytes, segment FROM "
                       "publications WHERE id > $1 ORDER BY id LIMIT $2",
                       p, 2, &r, err) < 0) {
            batch_free(&b);
            return -1;
        }
        for (size_t i = 0; i < r.rows; i++) {
            int64_t id = db_int(&r, i, 0), records = db_int(&r, i, 2);
            const char *topic = db_text(&r, i, 1);
            struct error why;
            f->events++;
            f->records += records;
            f->bytes += db_int(&r, i, 3);
            f->in_segments += db_cell(&r, i, 4)->type != DB_NULL;
            if (hub_publication_load(s, id, &b, &why) < 0)
                problem(f, "topic '%s': %s", topic, why.message);
            else if ((int64_t)b.count != records)
                problem(f,
                        "topic '%s': publication %lld holds %zu record(s), "
                        "not the %lld it was published with",
                        topic, (long long)id, b.count, (long long)records);
            after = id;
        }
        size_t rows = r.rows;
        db_result_free(&r);
        if (rows < CHECK_PAGE)
            break;
    }
    batch_free(&b);
    /* blobs kept in the store whose event is gone */
    struct db_result r;
    if (store_exec(s,
                   "SELECT DISTINCT publication FROM publication_blobs WHERE "
                   "publication NOT IN (SELECT id FROM publications)",
                   NULL, 0, &r, err) < 0)
        return -1;
    for (size_t i = 0; i < r.rows; i++)
        problem(f, "blobs of publication %lld, which is no longer there",
                (long long)db_int(&r, i, 0));
    db_result_free(&r);
    return 0;
}

/* Segment files that no event refers to: what a crash between writing
 * and committing left, or events deleted since the last maintenance
 * run; listed, not problems (the next run deletes them). */
static int check_segments(struct store *s, int64_t *files, int64_t *bytes,
                          struct error *err)
{
    struct segment_file *list;
    size_t count;
    if (segments_list(s, &list, &count, err) < 0)
        return -1;
    *files = (int64_t)count;
    *bytes = 0;
    for (size_t i = 0; i < count; i++) {
        *bytes += list[i].bytes;
        if (!list[i].referenced && !list[i].held) {
            char size[32];
            format_bytes(list[i].bytes, size, sizeof size);
            printf("unreferenced: segment %s (%s): no publication event "
                   "refers to it; the next maintenance run deletes it\n",
                   list[i].name, size);
        }
    }
    free(list);
    return 0;
}

int cmd_store_check(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    struct flag flags[] = {STORE_FLAGS(sf)};
    size_t nargs;
    int status = CLI_ARGS(cmd, argc, argv, flags, 0, &nargs);
    if (status != CLI_GO_ON)
        return status;
    struct store *s;
    if ((status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    struct findings f = {0};
    int64_t files = 0, file_bytes = 0;
    struct error err;
    if (check_events(s, &f, &err) < 0 ||
        check_segments(s, &files, &file_bytes, &err) < 0) {
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    } else {
        char size[32], on_disk[32];
        format_bytes(f.bytes, size, sizeof size);
        format_bytes(file_bytes, on_disk, sizeof on_disk);
        printf("store %s: %lld publication event(s), %lld record(s), %s; "
               "%lld in %lld segment file(s) (%s), %lld in the store: ",
               store_name(s), (long long)f.events, (long long)f.records, size,
               (long long)f.in_segments, (long long)files, on_disk,
               (long long)(f.events - f.in_segments));
        if (f.problems)
            printf("%lld problem(s)\n", (long long)f.problems);
        else
            printf("every one present and whole\n");
        status = f.problems ? EXIT_RUNTIME : EXIT_OK;
    }
    return status;
}

int cmd_store_backup(const struct command *cmd, int argc, char **argv)
{
    struct store_flags sf = {0};
    struct flag flags[] = {STORE_FLAGS(sf)};
    size_t npos;
    int status = CLI_ARGS(cmd, argc, argv, flags, ARGS_ANY, &npos);
    if (status != CLI_GO_ON)
        return status;
    if (npos != 1)
        return cli_usage_error(cmd, "give the file to back the store up into");
    struct store *s;
    if ((status = cli_open_store(&sf, STORE_READ, &s)) != EXIT_OK)
        return status;
    int64_t files, bytes;
    struct error err;
    if (!segments_used(s)) {
        status = cli_error(EXIT_USAGE,
                           "store %s is a PostgreSQL database: back it up "
                           "with pg_dump (the hub's blobs are in it)",
                           store_name(s));
    } else if (segments_backup(s, argv[0], &files, &bytes, &err) < 0) {
        status = cli_error(EXIT_RUNTIME, "%s", err.message);
    } else {
        char size[32];
        format_bytes(bytes, size, sizeof size);
        printf("store %s backed up into sqlite:%s, with %lld segment "
               "file(s) of the hub (%s) in %s-segments\n",
               store_name(s), argv[0], (long long)files, size, argv[0]);
    }
    return status;
}
