/* registration.c: pipes from a config file into the store (see
 * registration.h). */
#include "registration.h"

#include <stdlib.h>

#include "../hub/hub.h"
#include "../options/options.h"
#include "../util/buf.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "lifecycle.h"
#include "requests.h"

static void settings_of(struct buf *out, const char *prefix,
                        const sluice_option *opts, size_t count,
                        const void *values)
{
    for (size_t i = 0; i < count; i++) {
        if (opts[i].flags & SLUICE_OPTION_TABLES)
            continue;
        buf_printf(out, "%s%s = ", prefix, opts[i].name);
        /* a secret is never stored, nor whether it is set: it may change
         * at any time without being a change of settings */
        if (opts[i].flags & SLUICE_OPTION_SECRET)
            buf_puts(out, REDACT_MASK);
        else
            option_format_value(&opts[i], values, out);
        buf_puts(out, "\n");
    }
}

char *pipe_settings_text(const struct pipe_config *p)
{
    size_t n;
    const struct section_table *tables = config_section_tables(&n);
    const struct section_table *pipe_table = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(tables[i].section, "pipe NAME") == 0)
            pipe_table = &tables[i];
    struct buf out = {0};
    settings_of(&out, "", pipe_table->options, pipe_table->count,
                &p->settings);
    if (p->source.plugin)
        settings_of(&out, "source.", p->source.plugin->options,
                    p->source.plugin->option_count, p->source.data);
    if (p->sink.plugin)
        settings_of(&out, "sink.", p->sink.plugin->options,
                    p->sink.plugin->option_count, p->sink.data);
    return buf_take(&out);
}

/* The settings lines of one option table with every option at its
 * default. */
static void defaults_of(struct buf *out, const char *prefix,
                        const sluice_option *opts, size_t count,
                        size_t config_size)
{
    void *scratch = xcalloc(1, config_size ? config_size : 1);
    struct option_source none = {"", "", NULL, 0};
    struct diags ignored = {0}; /* required options have no default */
    options_apply(opts, count, &none, scratch, &ignored);
    settings_of(out, prefix, opts, count, scratch);
    options_free(opts, count, scratch);
    diags_free(&ignored);
    free(scratch);
}

/* The pipe's settings text with every option at its default. */
static char *defaults_text(const struct pipe_config *p)
{
    size_t n;
    const struct section_table *tables = config_section_tables(&n);
    struct buf out = {0};
    for (size_t i = 0; i < n; i++)
        if (strcmp(tables[i].section, "pipe NAME") == 0)
            defaults_of(&out, "", tables[i].options, tables[i].count,
                        sizeof p->settings);
    if (p->source.plugin)
        defaults_of(&out, "source.", p->source.plugin->options,
                    p->source.plugin->option_count,
                    p->source.plugin->config_size);
    if (p->sink.plugin)
        defaults_of(&out, "sink.", p->sink.plugin->options,
                    p->sink.plugin->option_count, p->sink.plugin->config_size);
    return buf_take(&out);
}

/* The line of `text` for the key that `line` (of `len` bytes) sets, or
 * NULL; *same when it is that very line. */
static const char *line_of_key(const char *text, const char *line, size_t len,
                               bool *same)
{
    const char *eq = memchr(line, '=', len);
    size_t key_len = eq ? (size_t)(eq - line) : len;
    for (const char *q = text; *q;) {
        size_t qlen = strcspn(q, "\n");
        if (qlen >= key_len && memcmp(q, line, key_len) == 0) {
            *same = qlen == len && memcmp(q, line, len) == 0;
            return q;
        }
        q += qlen + (q[qlen] == '\n');
    }
    *same = false;
    return NULL;
}

/* The value of a settings line ("key = value"), and its length. */
static const char *value_of(const char *line, size_t *len)
{
    size_t n = strcspn(line, "\n");
    const char *eq = memchr(line, '=', n);
    const char *v = eq ? eq + 1 + (eq[1] == ' ') : line + n;
    *len = (size_t)(line + n - v);
    return v;
}

/* The keys whose value differs, each with its stored and its new value
 * ("source.dir: 'in' -> '/srv/in'"), ", "-separated. A key the stored
 * settings lack is an option added by a newer sluice than the one that
 * stored them: at its default, it is no change (an upgrade changes
 * nothing an operator set); else it changed from that default. Secrets
 * are stored masked, so they never differ. */
static void describe_changes(const struct pipe_config *pc, const char *old,
                             const char *new, struct buf *out)
{
    char *defaults = defaults_text(pc);
    for (const char *p = new; *p;) {
        size_t len = strcspn(p, "\n");
        const char *eq = memchr(p, '=', len);
        size_t key_len = eq ? (size_t)(eq - p) : len;
        bool same, at_default;
        const char *was = line_of_key(old, p, len, &same);
        if (!was) {
            was = line_of_key(defaults, p, len, &at_default);
            same = was && at_default;
        }
        if (!same) {
            size_t was_len = 0, now_len;
            const char *was_value = was ? value_of(was, &was_len) : "";
            const char *now_value = value_of(p, &now_len);
            buf_printf(out, "%s%.*s: '%.*s' -> '%.*s'", out->len ? ", " : "",
                       (int)(key_len > 0 ? key_len - 1 : 0), p, (int)was_len,
                       was_value, (int)now_len, now_value);
        }
        p += len + (p[len] == '\n');
    }
    free(defaults);
}

static bool listed(const sluice_string_list *l, const char *name)
{
    for (size_t i = 0; l && i < l->count; i++)
        if (strcmp(l->items[i], name) == 0)
            return true;
    return false;
}

/* Tables named by pending add requests: not to be asked for twice. */
static bool pending_add(const struct request *reqs, size_t n,
                        const char *table)
{
    for (size_t i = 0; i < n; i++) {
        if (reqs[i].kind != REQUEST_TABLES_ADD &&
            reqs[i].kind != REQUEST_TABLES_REMOVE)
            continue;
        if (strcmp(reqs[i].status, REQUEST_PENDING) != 0)
            continue;
        for (size_t j = 0; j < reqs[i].table_count; j++)
            if (strcmp(reqs[i].tables[j], table) == 0)
                return true;
    }
    return false;
}

static void request_tables(struct store *s, const struct config *cfg,
                           const struct pipe_config *p,
                           const struct pipe_row *row,
                           const sluice_string_list *wanted,
                           struct diags *diags)
{
    struct request *reqs = NULL;
    size_t nreqs = 0;
    struct error err;
    if (requests_of(s, p->name, 1000, &reqs, &nreqs, &err) < 0) {
        diags_error(diags, "%s", err.message);
        return;
    }
    const char **add = xcalloc(wanted->count + 1, sizeof *add);
    const char **drop = xcalloc(row->table_count + 1, sizeof *drop);
    size_t nadd = 0, ndrop = 0;
    for (size_t i = 0; i < wanted->count; i++)
        if (!pipe_has_table(row, wanted->items[i]) &&
            !pending_add(reqs, nreqs, wanted->items[i]))
            add[nadd++] = wanted->items[i];
    for (size_t i = 0; i < row->table_count; i++)
        if (!listed(wanted, row->tables[i].name) &&
            row->tables[i].status != TABLE_REMOVING &&
            !pending_add(reqs, nreqs, row->tables[i].name))
            drop[ndrop++] = row->tables[i].name;
    int64_t id;
    if (nadd && request_submit(s, p->name, REQUEST_TABLES_ADD, add, nadd,
                               false, &id, &err) < 0)
        diags_error(diags, "%s:%d: [pipe %s]: the file adds tables: %s",
                    cfg->doc.path, p->line, p->name, err.message);
    else if (nadd)
        log_pipe(SLUICE_LOG_INFO, p->name, NULL, NULL,
                 "%zu table(s) added in %s (request %lld)", nadd,
                 cfg->doc.path, (long long)id);
    if (ndrop && request_submit(s, p->name, REQUEST_TABLES_REMOVE, drop, ndrop,
                                false, &id, &err) < 0)
        diags_error(diags, "%s:%d: [pipe %s]: the file removes tables: %s",
                    cfg->doc.path, p->line, p->name, err.message);
    else if (ndrop)
        log_pipe(SLUICE_LOG_INFO, p->name, NULL, NULL,
                 "%zu table(s) removed in %s (request %lld); their "
                 "destinations are kept",
                 ndrop, cfg->doc.path, (long long)id);
    free(add);
    free(drop);
    requests_free(reqs, nreqs);
}

static int update_settings(struct store *s, const struct pipe_config *p,
                           const char *settings, struct error *err)
{
    struct db_value v[] = {DBV_TEXT(p->settings.source),
                           DBV_TEXT(p->settings.sink),
                           DBV_TEXT(p->topic),
                           DBV_TEXT(pipe_mode_names[p->settings.mode]),
                           DBV_TEXT(settings),
                           DBV_TEXT(p->name)};
    return store_exec(s,
                      "UPDATE pipes SET source = $1, sink = $2, topic = $3, "
                      "mode = $4, settings = $5 WHERE name = $6",
                      v, 6, NULL, err);
}

static int apply_topic(struct store *s, const struct topic_config *tc,
                       bool *changed, struct error *err)
{
    struct topic t = {tc->name, tc->settings.consumed_retention_days,
                      tc->settings.unconsumed_retention_days,
                      (char *)tc->settings.retention, 0};
    return topic_apply(s, &t, changed, err);
}

int topics_register(struct store *s, const struct config *cfg,
                    struct diags *diags)
{
    int rc = 0;
    for (size_t i = 0; i < cfg->topic_count; i++) {
        const struct topic_config *tc = &cfg->topics[i];
        bool changed;
        struct error err;
        if (apply_topic(s, tc, &changed, &err) < 0) {
            diags_error(diags, "%s:%d: [topic %s]: %s", cfg->doc.path,
                        tc->line, tc->name, err.message);
            rc = -1;
        } else if (changed) {
            log_msg(SLUICE_LOG_INFO, NULL,
                    "topic %s: retention %lld/%lld days, plugin %s", tc->name,
                    (long long)tc->settings.consumed_retention_days,
                    (long long)tc->settings.unconsumed_retention_days,
                    tc->settings.retention);
        }
    }
    return rc;
}

/* A new pipe's registration (register_new). */
struct registering {
    const struct config *cfg;
    const struct pipe_def *def;
    const char *reason;
};

/* The pipe, its topic and its subscription, in one transaction. */
static int register_all(struct store *s, void *arg, struct error *err)
{
    const struct registering *g = arg;
    const struct config *cfg = g->cfg;
    const struct pipe_def *def = g->def;
    const char *reason = g->reason;
    struct db_value p[] = {DBV_TEXT(def->topic), DBV_TEXT(def->name)};
    struct db_result r;
    if (store_exec(s, "SELECT name FROM pipes WHERE topic = $1 AND name <> $2",
                   p, 2, &r, err) < 0)
        return -1;
    if (r.rows) {
        error_set(err,
                  "topic '%s' is already the topic of pipe '%s'; each "
                  "pipe publishes to a topic of its own",
                  def->topic, db_text(&r, 0, 0));
        db_result_free(&r);
        return -1;
    }
    db_result_free(&r);
    const struct topic_config *tc = config_topic(cfg, def->topic);
    bool changed;
    if ((tc && apply_topic(s, tc, &changed, err) < 0) ||
        lifecycle_register(s, def, reason, err) < 0)
        return -1;
    return subscription_create(s, def->name, def->topic, def->name,
                               clock_now_ms(), err);
}

static int register_new(struct store *s, const struct config *cfg,
                        const struct pipe_config *p, const char *settings,
                        struct error *err)
{
    const sluice_string_list *tables = config_pipe_tables(p);
    struct pipe_def def = {.name = p->name,
                           .source = p->settings.source,
                           .sink = p->settings.sink,
                           .topic = p->topic,
                           .mode = pipe_mode_names[p->settings.mode],
                           .settings = settings,
                           .tables = tables ? tables->items : NULL,
                           .table_count = tables ? tables->count : 0};
    char *reason = xasprintf("registered from %s", cfg->doc.path);
    struct registering g = {cfg, &def, reason};
    int rc = store_transaction(s, register_all, &g, err);
    free(reason);
    return rc;
}

static int register_existing(struct store *s, const struct config *cfg,
                             const struct pipe_config *p,
                             const struct pipe_row *row, const char *settings,
                             struct diags *diags)
{
    struct error err;
    if (strcmp(row->settings, settings) != 0) {
        struct buf changed = {0};
        describe_changes(p, row->settings, settings, &changed);
        bool editable = row->state == STATE_PAUSED ||
                        row->state == STATE_FAILED || changed.len == 0;
        if (!editable) {
            char *worker = NULL;
            bool unheld =
                pipe_worker(s, p->name, &worker, &err) == 0 && !worker;
            diags_error(diags,
                        "%s:%d: [pipe %s]: settings changed (%s), but the "
                        "pipe is %s%s%s; settings change only while a pipe "
                        "is paused: run 'sluice pause %s', wait until it is "
                        "paused, then start again",
                        cfg->doc.path, p->line, p->name, changed.data,
                        unheld ? "registered as " : "",
                        pipe_state_name(row->state),
                        unheld ? " (no worker runs it now)" : "", p->name);
            free(worker);
            buf_free(&changed);
            return -1;
        }
        if (update_settings(s, p, settings, &err) < 0) {
            diags_error(diags, "%s", err.message);
            buf_free(&changed);
            return -1;
        }
        if (changed.len)
            log_pipe(SLUICE_LOG_INFO, p->name, NULL, NULL,
                     "settings changed: %s", changed.data);
        buf_free(&changed);
    }
    const sluice_string_list *tables = config_pipe_tables(p);
    if (tables && tables->count)
        request_tables(s, cfg, p, row, tables, diags);
    return 0;
}

int pipe_register(struct store *s, const struct config *cfg,
                  const struct pipe_config *p, struct diags *diags)
{
    char *settings = pipe_settings_text(p);
    struct pipe_row row;
    bool found;
    struct error err;
    int rc = -1;
    size_t errors_before = diags->count;
    if (pipe_load(s, p->name, &row, &found, &err) < 0) {
        diags_error(diags, "%s", err.message);
    } else if (found) {
        rc = register_existing(s, cfg, p, &row, settings, diags);
        pipe_row_free(&row);
    } else if ((rc = register_new(s, cfg, p, settings, &err)) < 0) {
        /* another worker may have registered it at the same moment (the
         * store refused the second insert): then it is registered */
        struct error again;
        if (pipe_load(s, p->name, &row, &found, &again) == 0 && found) {
            rc = register_existing(s, cfg, p, &row, settings, diags);
            pipe_row_free(&row);
        } else {
            diags_error(diags, "%s:%d: [pipe %s]: %s", cfg->doc.path, p->line,
                        p->name, err.message);
        }
    }
    free(settings);
    return rc < 0 || diags->count > errors_before ? -1 : 0;
}
