/* owners.c: who owns a destination table, recorded in the destination
 * database itself, so that deployments with stores of their own never
 * write into one table.
 *
 * Each destination database has a table _sluice_owners (name, store_id,
 * store, pipe, source_table, claimed_at), a ReplacingMergeTree on
 * claimed_at ordered by name: the latest row of a name is its owner, and
 * an empty store_id means none (the table was dropped). A pipe claims its
 * table before the table is set up: a table with another owner, or one
 * that exists without an owner (not created by sluice for this pipe), is
 * refused unless the sink says `adopt = true` or the core says the pipe
 * set it up before owners were recorded. ClickHouse has no transactions:
 * the claim is read back after it is written, so two claims at once see
 * the same winner, unless they fall in the same millisecond. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"

/* Called with the config alone (`sluice check`): the options that open
 * would refuse are refused here too, so the check finds them. */
sluice_status ch_destination(const void *config, const char *table,
                             sluice_values *name, sluice_error *err)
{
    const struct ch_config *cfg = config;
    struct ch_url url;
    struct ch_fields fields;
    sluice_status st = ch_fields_parse(cfg, &fields, err);
    ch_fields_free(&fields);
    if (st != SLUICE_OK)
        return st;
    st = ch_url_parse(cfg->url, &url, err);
    if (st != SLUICE_OK)
        return st;
    /* the host in lower case: two spellings of one server name it once */
    for (char *c = url.host; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    struct ch_buf out = {0};
    bool ok = ch_buf_printf(&out, "%s:%d ", url.host, url.port) &&
              ch_qualified_name(cfg, table, NULL, &out);
    ch_url_free(&url);
    st = ok ? ch_host->values_add(name, out.data, out.len, err)
            : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    ch_buf_free(&out);
    return st;
}

/* An owner as recorded. */
struct owner_row {
    char *store_id, *store, *pipe, *source_table;
    uint64_t claimed_at;
};

static void owner_row_free(struct owner_row *o)
{
    free(o->store_id);
    free(o->store);
    free(o->pipe);
    free(o->source_table);
    memset(o, 0, sizeof *o);
}

static sluice_status ensure_owners_table(struct ch_sink *s, sluice_error *err)
{
    if (s->owners_ready)
        return SLUICE_OK;
    struct ch_buf sql = {0};
    bool ok = CH_LIT(&sql, "CREATE TABLE IF NOT EXISTS ") &&
              ch_quote(&sql, s->cfg->database, strlen(s->cfg->database)) &&
              CH_LIT(&sql, "." CH_OWNERS " (name String, store_id String, "
                           "store String, pipe String, source_table String, "
                           "claimed_at UInt64) ENGINE = "
                           "ReplacingMergeTree(claimed_at) ORDER BY name");
    sluice_status st =
        ok ? ch_request(s, sql.data, NULL, err)
           : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    ch_buf_free(&sql);
    s->owners_ready = st == SLUICE_OK;
    return st;
}

/* Hex digits back to the bytes they stand for (the fields are read as
 * hex, so no byte of theirs needs unescaping). */
static char *unhex(const char *hex, size_t len)
{
    char *out = malloc(len / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i + 1 < len; i += 2) {
        char pair[3] = {hex[i], hex[i + 1], 0};
        out[i / 2] = (char)strtol(pair, NULL, 16);
    }
    out[len / 2] = '\0';
    return out;
}

/* The owner of the bare name `bare`; *found false when it has none. */
static sluice_status read_owner(struct ch_sink *s, const char *bare,
                                struct owner_row *o, bool *found,
                                sluice_error *err)
{
    struct ch_buf q = {0}, answer = {0};
    bool ok = CH_LIT(&q, "SELECT hex(store_id), hex(store), hex(pipe), "
                         "hex(source_table), claimed_at FROM ") &&
              ch_quote(&q, s->cfg->database, strlen(s->cfg->database)) &&
              CH_LIT(&q, "." CH_OWNERS " FINAL WHERE name = ") &&
              ch_literal(&q, bare);
    sluice_status st =
        ok ? ch_request(s, q.data, &answer, err)
           : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    memset(o, 0, sizeof *o);
    *found = false;
    if (st == SLUICE_OK && answer.len) {
        char *field[5] = {0};
        char *p = answer.data;
        for (int i = 0; i < 5 && p; i++) {
            field[i] = p;
            p = strpbrk(p, "\t\n");
            if (p)
                *p++ = '\0';
        }
        if (field[4]) {
            o->store_id = unhex(field[0], strlen(field[0]));
            o->store = unhex(field[1], strlen(field[1]));
            o->pipe = unhex(field[2], strlen(field[2]));
            o->source_table = unhex(field[3], strlen(field[3]));
            o->claimed_at = strtoull(field[4], NULL, 10);
            *found = o->store_id && o->store_id[0];
        }
    }
    ch_buf_free(&q);
    ch_buf_free(&answer);
    return st;
}

/* Records `owner` (NULL: none) of the bare name, after `previous`. */
static sluice_status write_owner(struct ch_sink *s, const char *bare,
                                 const sluice_owner *owner, uint64_t previous,
                                 sluice_error *err)
{
    uint64_t at = (uint64_t)ch_host->now_ms();
    if (at <= previous)
        at = previous + 1;
    struct ch_buf sql = {0};
    bool ok =
        CH_LIT(&sql, "INSERT INTO ") &&
        ch_quote(&sql, s->cfg->database, strlen(s->cfg->database)) &&
        CH_LIT(&sql, "." CH_OWNERS " (name, store_id, store, pipe, "
                     "source_table, claimed_at) VALUES (") &&
        ch_literal(&sql, bare) && CH_LIT(&sql, ", ") &&
        ch_literal(&sql, owner ? owner->store_id : "") && CH_LIT(&sql, ", ") &&
        ch_literal(&sql, owner ? owner->store_name : "") &&
        CH_LIT(&sql, ", ") && ch_literal(&sql, owner ? owner->pipe : "") &&
        CH_LIT(&sql, ", ") && ch_literal(&sql, owner ? owner->table : "") &&
        ch_buf_printf(&sql, ", %llu)", (unsigned long long)at);
    sluice_status st =
        ok ? ch_request(s, sql.data, NULL, err)
           : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    ch_buf_free(&sql);
    return st;
}

static bool is(const struct owner_row *o, const sluice_owner *owner)
{
    return !strcmp(o->store_id, owner->store_id) &&
           !strcmp(o->pipe, owner->pipe);
}

static sluice_status owned_by_another(const char *name,
                                      const struct owner_row *o,
                                      sluice_error *err)
{
    return sluice_fail(
        err, SLUICE_FATAL_TABLE,
        "sink_clickhouse: table %s belongs to pipe '%s' (its table '%s') of "
        "another store (%s, id %s); a destination has one owner: give this "
        "pipe's sink another database or table_prefix, or set adopt = true "
        "in its [pipe NAME.sink] to take the table over",
        name, o->pipe, o->source_table, o->store, o->store_id);
}

/* The claim written and read back: still this owner's, or another's that
 * claimed at the same moment. */
static sluice_status take(struct ch_sink *s, const char *bare,
                          const char *name, const sluice_owner *owner,
                          uint64_t previous, sluice_error *err)
{
    struct owner_row o = {0};
    bool found = false;
    sluice_status st = write_owner(s, bare, owner, previous, err);
    if (st == SLUICE_OK)
        st = read_owner(s, bare, &o, &found, err);
    if (st == SLUICE_OK && found && !is(&o, owner))
        st = owned_by_another(name, &o, err);
    owner_row_free(&o);
    return st;
}

sluice_status ch_claim(void *instance, const sluice_owner *owner,
                       sluice_error *err)
{
    struct ch_sink *s = instance;
    struct ch_buf bare = {0}, name = {0};
    struct owner_row o = {0};
    bool found = false, exists = false;
    sluice_status st = ch_streams_finish(s, err);
    if (st == SLUICE_OK)
        st = ch_connect(s, err);
    if (st == SLUICE_OK && ch_reserved(s->cfg, owner->table))
        return ch_setup_table(s, owner->table, NULL, err); /* its refusal */
    if (st == SLUICE_OK && (!ch_bare_name(s->cfg, owner->table, NULL, &bare) ||
                            !ch_table_name(s, owner->table, NULL, &name)))
        st = sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    if (st == SLUICE_OK)
        st = ensure_owners_table(s, err);
    if (st == SLUICE_OK)
        st = read_owner(s, bare.data, &o, &found, err);
    if (st == SLUICE_OK && found && is(&o, owner)) {
        /* already this pipe's */
    } else if (st == SLUICE_OK && found && !s->cfg->adopt) {
        st = owned_by_another(name.data, &o, err);
    } else if (st == SLUICE_OK) {
        if (!found)
            st = ch_table_exists(s, owner->table, NULL, &exists, err);
        if (st == SLUICE_OK && exists && !s->cfg->adopt && !owner->upgrade)
            st = sluice_fail(
                err, SLUICE_FATAL_TABLE,
                "sink_clickhouse: table %s exists and was not created by "
                "sluice for pipe '%s': it is never written, swapped or "
                "dropped unless adopt = true in the pipe's sink section "
                "takes it over",
                name.data, owner->pipe);
        else if (st == SLUICE_OK)
            st = take(s, bare.data, name.data, owner, o.claimed_at, err);
    }
    if (st == SLUICE_OK && found && !is(&o, owner))
        sluice_log(ch_host, s->ctx, SLUICE_LOG_WARN,
                   "table %s: taken over from pipe '%s' of store %s "
                   "(adopt = true)",
                   name.data, o.pipe, o.store_id);
    owner_row_free(&o);
    ch_buf_free(&bare);
    ch_buf_free(&name);
    return st;
}

sluice_status ch_release(struct ch_sink *s, const char *table,
                         sluice_error *err)
{
    struct ch_buf bare = {0};
    struct owner_row o = {0};
    bool found = false;
    sluice_status st =
        ch_bare_name(s->cfg, table, NULL, &bare)
            ? ensure_owners_table(s, err)
            : sluice_fail(err, SLUICE_FATAL, "sink_clickhouse: out of memory");
    if (st == SLUICE_OK)
        st = read_owner(s, bare.data, &o, &found, err);
    if (st == SLUICE_OK && found)
        st = write_owner(s, bare.data, NULL, o.claimed_at, err);
    owner_row_free(&o);
    ch_buf_free(&bare);
    return st;
}
