/* man.c: the man pages, sluice(1) and sluice.ini(5), written by sluice
 * itself at build time (`sluice help --man 1 | 5`, hidden) from what the
 * program has: the command table's help texts and the option tables of
 * the framework's sections and of the plugins. So a page cannot say
 * other than `sluice help` and `sluice plugins describe` say. */
#include "man.h"

#include <sluice/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../options/options.h"
#include "../util/buf.h"
#include "../util/mem.h"
#include "../util/roff.h"
#include "load.h"

/* The column where an option's description starts in a help text (a
 * line no further indented is the next option or prose). */
#define HELP_DESCRIPTION_COLUMN 18

static void text(struct buf *out, const char *s)
{
    roff_text(s, out);
}

/* A help text (command.h) as roff: paragraphs filled, an option's line
 * ("  --store URL     the store...", or the option alone on its line and
 * its description below, from column 18) as a tagged paragraph, any other
 * indented line as it is. */
static void help_text(const char *help, struct buf *out)
{
    enum { PROSE, OPTION, VERBATIM } in = PROSE;
    const char *p = help;
    while (*p) {
        size_t len = strcspn(p, "\n");
        char *line = xstrndup(p, len);
        p += len + (p[len] == '\n');
        size_t indent = strspn(line, " ");
        if (!line[0]) {
            buf_puts(out, in == VERBATIM ? ".fi\n.RE\n" : "");
            buf_puts(out, ".PP\n");
            in = PROSE;
        } else if (indent == 2 && line[2] == '-') {
            char *gap = strstr(line + 2, "  ");
            if (gap)
                *gap = '\0';
            buf_puts(out, in == VERBATIM ? ".fi\n.RE\n" : "");
            buf_puts(out, ".TP\n\\fB");
            text(out, line + 2);
            buf_puts(out, "\\fR\n");
            if (gap) {
                text(out, gap + strspn(gap + 1, " ") + 1);
                buf_puts(out, "\n");
            }
            in = OPTION;
        } else if (indent == HELP_DESCRIPTION_COLUMN && in == OPTION) {
            text(out, line + indent);
            buf_puts(out, "\n");
        } else if (indent) {
            buf_puts(out, in != VERBATIM ? ".RS\n.nf\n" : "");
            text(out, line + indent);
            buf_puts(out, "\n");
            in = VERBATIM;
        } else {
            buf_puts(out, in == VERBATIM ? ".fi\n.RE\n"
                          : in == OPTION ? ".PP\n"
                                         : "");
            text(out, line);
            buf_puts(out, "\n");
            in = PROSE;
        }
        free(line);
    }
    if (in == VERBATIM)
        buf_puts(out, ".fi\n.RE\n");
}

static void header(struct buf *out, const char *title, int section,
                   const char *manual)
{
    buf_printf(
        out,
        ".\\\" Written by sluice %s (sluice help --man %d); do not edit.\n"
        ".TH %s %d \"\" \"sluice %s\" \"%s\"\n"
        ".nh\n.ad l\n",
        SLUICE_VERSION, section, title, section, SLUICE_VERSION, manual);
}

void man_program(const struct command *commands, size_t count, FILE *out)
{
    struct buf b = {0};
    header(&b, "SLUICE", 1, "User Commands");
    buf_puts(&b, ".SH NAME\nsluice \\- change data capture pipelines\n"
                 ".SH SYNOPSIS\n.B sluice\n.I COMMAND\n[\\fIARGS\\fR...]\n"
                 ".br\n.B sluice\n\\fB\\-\\-version\\fR | \\fB\\-\\-help\\fR\n"
                 ".SH DESCRIPTION\n"
                 "sluice runs change data capture pipelines written as INI "
                 "files (\\fBsluice.ini\\fR(5)): it takes a source's tables "
                 "through a snapshot, then streams their changes, through a "
                 "durable topic hub kept in its store, into a sink. Sources, "
                 "sinks and retention policies are plugins, shared objects "
                 "found on the plugin search path.\n"
                 ".PP\n"
                 "Every command that reads the config file takes it as "
                 "\\fB\\-c\\fR \\fIFILE\\fR or \\fB\\-\\-config\\fR "
                 "\\fIFILE\\fR (\\fBrun\\fR and \\fBcheck\\fR also as their "
                 "argument); every command of the store takes "
                 "\\fB\\-\\-store\\fR \\fIURL\\fR. Listings and descriptions "
                 "take \\fB\\-\\-json\\fR: a listing prints one object whose "
                 "plural key holds the items (\\fB{\"pipes\": [...]}\\fR), a "
                 "description the object itself.\n"
                 ".SH COMMANDS\n");
    for (size_t i = 0; i < count; i++) {
        const struct command *c = &commands[i];
        buf_puts(&b, ".SS \"");
        text(&b, c->name);
        buf_puts(&b, "\"\n.B sluice ");
        text(&b, c->name);
        buf_puts(&b, "\n");
        text(&b, c->args);
        buf_puts(&b, "\n.PP\n");
        text(&b, c->summary);
        buf_puts(&b, ".\n.PP\n");
        help_text(c->help, &b);
    }
    buf_puts(&b, ".SH OPTIONS\nThe options of one command are with the "
                 "command above. These work everywhere:\n");
    help_text(command_common_help, &b);
    buf_puts(&b, ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\n"
                 "after a command: its help; alone: the list of commands\n"
                 ".TP\n\\fB\\-V\\fR, \\fB\\-\\-version\\fR\n"
                 "the version of sluice and of the plugin ABI it loads\n");
    buf_puts(&b,
             ".SH \"EXIT STATUS\"\n"
             ".TP\n.B 0\nsuccess\n"
             ".TP\n.B 1\na failure while running: a server or the store did "
             "not answer, a check or a request failed\n"
             ".TP\n.B 2\nbad usage, found before anything runs: an unknown "
             "command or option, a missing or extra argument, a store URL "
             "that is no store's, the name of a pipe, topic, subscription or "
             "plugin that does not exist, or a config file with errors\n"
             ".PP\nEach command's section above says what its statuses "
             "mean.\n");
    buf_puts(&b,
             ".SH ENVIRONMENT\n"
             ".TP\n.B SLUICE_STORE\n"
             "the store's URL when neither \\fB\\-\\-store\\fR nor the "
             "config file's [store] url gives one\n"
             ".TP\n.B SLUICE_PLUGIN_PATH\n"
             "directories (':'-separated) searched for plugins after the "
             "config file's [plugins] path and before the install "
             "directory\n"
             ".TP\n.B SLUICE_LOG_LEVEL\n"
             "the log level (error, warn, info, debug) when neither "
             "\\fB\\-\\-log\\-level\\fR nor [service] log_level sets one\n"
             ".TP\n.B SLUICE_LOG_FORMAT\n"
             "the form of the log lines (text, json) when neither "
             "\\fB\\-\\-log\\-format\\fR nor [service] log_format sets one\n"
             ".TP\n.B SLUICE_TEST_CLOCK\n"
             "for tests and benchmarks only, never in production: "
             "speed=N and/or offset=[\\-]DURATION make sluice's wall "
             "clock run N times as fast from the offset (operations.md, "
             "\"The test clock\")\n"
             ".TP\n.B SLUICE_TEST_CRASH\n"
             "for tests only, never in production: POINT[:N] kills the "
             "process the Nth time it passes a named point of the hub "
             "(segment.created, segment.written, segment.synced, "
             "publication.committed, segment.unreferenced), to prove what "
             "a crash there leaves\n"
             ".TP\n.B JOURNAL_STREAM\n"
             "set by systemd when standard error is the journal: text log "
             "lines then carry a priority prefix (<3> to <7>) and no time of "
             "their own\n");
    buf_puts(&b, ".SH FILES\n.TP\n.I ./sluice.db\n"
                 "the store when nothing names one (sqlite:./sluice.db)\n"
                 ".TP\n.I ./sluice.db\\-segments/\n"
                 "the hub's records of an SQLite store, in segment files "
                 "beside it\n"
                 ".TP\n.I ");
    text(&b, plugin_configured_dir());
    buf_puts(&b, "\nthe install directory of plugins, searched last\n"
                 ".SH \"SEE ALSO\"\n\\fBsluice.ini\\fR(5); the docs "
                 "installed with sluice (operations.md, configuration.md, "
                 "hub.md, conformance.md)\n");
    fputs(b.data, out);
    buf_free(&b);
}

/* The forms of the values of each option type. */
static const struct {
    sluice_option_type type;
    const char *form;
} value_forms[] = {
    {SLUICE_OPTION_STRING, "any text"},
    {SLUICE_OPTION_INT, "a decimal integer, with an optional sign: 100000"},
    {SLUICE_OPTION_BOOL, "true or false, yes or no, on or off, 1 or 0"},
    {SLUICE_OPTION_DURATION,
     "numbers with units ms, s, m, h, d; a bare number is seconds: 500ms, "
     "60s, 1h30m"},
    {SLUICE_OPTION_SIZE,
     "bytes, with KiB, MiB, GiB, TiB (or K, M, G, T), or KB, MB, GB, TB for "
     "powers of 1000: 16MiB, 512, 10MB"},
    {SLUICE_OPTION_ENUM, "one of the values listed"},
    {SLUICE_OPTION_LIST, "items separated by commas or line breaks"},
    {SLUICE_OPTION_TIME, "HH:MM or HH:MM:SS, 24-hour clock, UTC: 23:00"},
};

static void config_intro(struct buf *b)
{
    buf_puts(b, ".SH NAME\nsluice.ini \\- the configuration file of sluice\n"
                ".SH SYNOPSIS\n.B sluice run\n.I FILE\n.br\n"
                ".B sluice check\n.I FILE\n[\\fB\\-\\-print\\fR]\n"
                ".SH DESCRIPTION\n"
                "An INI file names the store, the topics of the hub and the "
                "pipes, each a source plugin's tables through a topic into a "
                "sink plugin, with the plugins' own options. "
                "\\fBsluice check\\fR \\fIFILE\\fR reports every problem with "
                "file, line, section and key; \\fB\\-\\-print\\fR shows the "
                "effective configuration, defaults applied and secrets "
                "masked.\n"
                ".PP\n"
                "[section] headers and key = value lines; a line that starts "
                "with ; or # is a comment, and so is ; after white space at "
                "the end of a line. An indented line continues the value "
                "above it: a list takes it as its next item, any other value "
                "is joined to it with nothing between (a long URI). Values "
                "have no length limit. A key set twice in one section, an "
                "unknown section and an unknown key are errors. Relative "
                "paths are relative to the directory of the file. Names of "
                "pipes and topics are 1 to 64 letters, digits, _ or \\-. "
                "Secret options are never printed.\n"
                ".PP\n"
                "\\fB${NAME}\\fR in a value is replaced by the environment "
                "variable NAME (an unset one is an error), \\fB$$\\fR is one "
                "$, and any other $ stays as it is. A secret or URL option "
                "\\fIKEY\\fR can be given as \\fIKEY\\fB_file\\fR = "
                "\\fIPATH\\fR instead: the file's content, its trailing "
                "newline removed (systemd's LoadCredential= with "
                "${CREDENTIALS_DIRECTORY}). \\fBsluice check \\-\\-print\\fR "
                "says where each value came from.\n"
                ".SS \"Value types\"\n");
    for (size_t i = 0; i < sizeof value_forms / sizeof value_forms[0]; i++) {
        buf_puts(b, ".TP\n.B ");
        text(b, option_type_name(value_forms[i].type));
        buf_puts(b, "\n");
        text(b, value_forms[i].form);
        buf_puts(b, "\n");
    }
}

static void config_section(struct buf *b, const char *name,
                           const char *summary, const sluice_option *opts,
                           size_t count)
{
    buf_puts(b, ".SS \"");
    text(b, name);
    buf_puts(b, "\"\n");
    text(b, summary);
    buf_puts(b, "\n");
    options_describe(opts, count, OPTIONS_MAN, b);
}

static const char *plugin_section(const struct plugin *p)
{
    return p->kind == PLUGIN_SOURCE ? "[pipe NAME.source]"
           : p->kind == PLUGIN_SINK ? "[pipe NAME.sink]"
                                    : "[topic NAME.retention]";
}

int man_config(const char *const *names, size_t name_count, FILE *out)
{
    struct config cfg;
    struct registry reg;
    int status = load_reported(NULL, false, false, &cfg, &reg, NULL);
    const struct plugin **plugins =
        xcalloc(name_count ? name_count : reg.count + 1, sizeof *plugins);
    size_t count = name_count ? name_count : reg.count;
    for (size_t i = 0; status == EXIT_OK && i < count; i++) {
        plugins[i] =
            name_count ? registry_find(&reg, names[i]) : reg.plugins[i];
        if (!plugins[i])
            status =
                cli_error(EXIT_USAGE,
                          "no plugin named '%s' on the plugin path", names[i]);
    }
    if (status == EXIT_OK) {
        struct buf b = {0};
        size_t n;
        const struct section_table *tables = config_section_tables(&n);
        header(&b, "SLUICE.INI", 5, "File Formats");
        config_intro(&b);
        buf_puts(&b, ".SH SECTIONS\n");
        for (size_t i = 0; i < n; i++) {
            char *name = xasprintf("[%s]", tables[i].section);
            config_section(&b, name, tables[i].summary, tables[i].options,
                           tables[i].count);
            free(name);
        }
        buf_puts(&b, ".SH \"PLUGIN SECTIONS\"\n"
                     "The options of the plugin a pipe names as its source "
                     "or sink, or a topic as its retention, go in [pipe "
                     "NAME.source], [pipe NAME.sink] and [topic "
                     "NAME.retention]. \\fBsluice plugins describe\\fR "
                     "\\fINAME\\fR prints those of any plugin; these are the "
                     "plugins shipped with sluice.\n");
        for (size_t i = 0; i < count; i++) {
            char *name = xasprintf("%s, in %s", plugins[i]->name,
                                   plugin_section(plugins[i]));
            config_section(&b, name, plugins[i]->description,
                           plugins[i]->options, plugins[i]->option_count);
            free(name);
        }
        buf_puts(&b, ".SH EXAMPLE\n.RS\n.nf\n");
        text(&b, "[store]\nurl = sqlite:/var/lib/sluice/sluice.db\n\n"
                 "[pipe orders]\nsource = source_mongo\n"
                 "sink = sink_clickhouse\n\n"
                 "[pipe orders.source]\n"
                 "uri = mongodb://127.0.0.1:27017/?replicaSet=rs0\n"
                 "database = shop\ncollections = orders, customers\n\n"
                 "[pipe orders.sink]\nurl = http://127.0.0.1:8123\n"
                 "database = shop\n");
        buf_puts(&b, ".fi\n.RE\n.SH \"SEE ALSO\"\n\\fBsluice\\fR(1)\n");
        fputs(b.data, out);
        buf_free(&b);
    }
    free(plugins);
    config_free(&cfg);
    registry_free(&reg);
    return status;
}
