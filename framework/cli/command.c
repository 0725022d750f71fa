/* command.c: flags, the store, errors and shown texts of a command (see
 * command.h). */
#include "command.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../lifecycle/pipes.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/mem.h"
#include "../util/redact.h"
#include "settings.h"

/* What the command being run got here, freed when it returns. */
static struct store *command_store;
static char **shown;
static size_t shown_count, shown_cap;

/* The options every command takes, after its own. */
static const char *log_level_flag, *log_format_flag;
static const struct flag common_flags[] = {
    OPTION("--log-level", &log_level_flag),
    OPTION("--log-format", &log_format_flag),
};

const char command_common_help[] =
    "  --log-level L   the least important log lines written: error,\n"
    "                  warn, info or debug (else [service] log_level\n"
    "                  of the config file it runs, SLUICE_LOG_LEVEL,\n"
    "                  info)\n"
    "  --log-format F  the form of the log lines: text or json (else\n"
    "                  [service] log_format of the config file it\n"
    "                  runs, SLUICE_LOG_FORMAT, text)\n";

void command_print_help(const struct command *cmd, FILE *out)
{
    fprintf(out, "Usage: sluice %s %s\n\n%s\n%s", cmd->name, cmd->args,
            cmd->summary, cmd->help[0] ? "\n" : "");
    fputs(cmd->help, out);
    fprintf(out, "\nEvery command also takes:\n%s", command_common_help);
}

/* `prefix` and the message as one line, secrets masked, on stderr. */
static void say(const char *prefix, const char *fmt, va_list ap)
    SLUICE_PRINTF(2, 0);
static void say(const char *prefix, const char *fmt, va_list ap)
{
    struct buf message = {0}, line = {0};
    buf_vprintf(&message, fmt, ap);
    buf_puts(&line, prefix);
    redact_line(message.data, &line);
    buf_puts(&line, "\n");
    fputs(line.data, stderr);
    buf_free(&message);
    buf_free(&line);
}

int cli_usage_error(const struct command *cmd, const char *fmt, ...)
{
    char *prefix = xasprintf("sluice %s: ", cmd->name);
    va_list ap;
    va_start(ap, fmt);
    say(prefix, fmt, ap);
    va_end(ap);
    free(prefix);
    fprintf(stderr, "Usage: sluice %s %s\nSee 'sluice help %s'.\n", cmd->name,
            cmd->args, cmd->name);
    return EXIT_USAGE;
}

int cli_error(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("error: ", fmt, ap);
    va_end(ap);
    return status;
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("warning: ", fmt, ap);
    va_end(ap);
}

void cli_print_diags(const struct diags *diags)
{
    for (size_t i = 0; i < diags->warning_count; i++)
        cli_warning("%s", diags->warnings[i]);
    for (size_t i = 0; i < diags->count; i++)
        cli_error(EXIT_USAGE, "%s", diags->errors[i]);
}

static const struct flag *find_flag(const struct flag *flags, size_t count,
                                    const char *arg, size_t name_len)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(flags[i].name) == name_len &&
            strncmp(flags[i].name, arg, name_len) == 0)
            return &flags[i];
    return NULL;
}

/* The options of the table and the common ones, for completions/sluice:
 * one a line, '=' after those that take a value. */
static void print_flags(const struct flag *flags, size_t count)
{
    const struct flag *tables[] = {flags, common_flags};
    size_t counts[] = {count, sizeof common_flags / sizeof common_flags[0]};
    for (size_t t = 0; t < 2; t++)
        for (size_t i = 0; i < counts[t]; i++)
            printf("%s%s\n", tables[t][i].name, tables[t][i].value ? "=" : "");
}

/* Stores the value of an option that takes one. */
static void set_value(const struct flag *f, const char *value)
{
    if (f->count)
        f->value[(*f->count)++] = value;
    else
        *f->value = value;
}

int cli_args(const struct command *cmd, int argc, char **argv,
             const struct flag *flags, size_t flag_count, size_t max,
             size_t *count)
{
    size_t npos = 0;
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            argv[npos++] = argv[i]; /* npos <= i: nothing unread is lost */
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            command_print_help(cmd, stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--completion-helper") == 0) {
            print_flags(flags, flag_count);
            return EXIT_OK;
        }
        const char *eq = strchr(arg, '=');
        size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
        const struct flag *f = find_flag(flags, flag_count, arg, name_len);
        if (!f)
            f = find_flag(common_flags,
                          sizeof common_flags / sizeof common_flags[0], arg,
                          name_len);
        if (!f)
            return cli_usage_error(cmd, "unknown option '%.*s'", (int)name_len,
                                   arg);
        if (f->value) {
            if (eq)
                set_value(f, eq + 1);
            else if (i + 1 < argc)
                set_value(f, argv[++i]);
            else
                return cli_usage_error(cmd, "option '%s' needs a value",
                                       f->name);
        } else if (eq) {
            return cli_usage_error(cmd, "option '%s' takes no value", f->name);
        }
        if (f->set)
            *f->set = true;
    }
    if (npos > max)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[max]);
    *count = npos;
    return cli_log_settings(cmd, NULL);
}

int cli_config_path(const struct command *cmd, const char *flag, size_t count,
                    char **argv, const char **path)
{
    if (count && flag)
        return cli_usage_error(cmd,
                               "the config file is given twice, as '%s' "
                               "and with -c/--config '%s'; give it once",
                               argv[0], flag);
    if (!count && !flag)
        return cli_usage_error(cmd, "which config file? give CONFIG.ini or "
                                    "-c CONFIG.ini");
    *path = flag ? flag : argv[0];
    return CLI_GO_ON;
}

int cli_log_settings(const struct command *cmd,
                     const struct service_settings *service)
{
    sluice_log_level level;
    enum log_format format;
    struct error err;
    if (log_settings_choose(log_level_flag, log_format_flag, service, &level,
                            &format, &err) < 0)
        return cli_usage_error(cmd, "%s", err.message);
    log_set_level(level);
    log_set_format(format);
    return CLI_GO_ON;
}

bool cli_store_url_ok(const char *url)
{
    struct error err;
    if (store_url_check(url, &err) == 0)
        return true;
    cli_error(EXIT_USAGE, "%s", err.message);
    return false;
}

char *cli_store_url(const struct store_flags *sf)
{
    struct diags diags = {0};
    struct error err;
    char *url;
    if (store_url_for(sf->url, sf->config, &url, &diags, &err) < 0) {
        if (diags.count)
            cli_print_diags(&diags);
        else
            cli_error(EXIT_USAGE, "%s", err.message);
    }
    diags_free(&diags);
    if (url && !cli_store_url_ok(url)) {
        free(url);
        url = NULL;
    }
    return url;
}

int cli_open_store(const struct store_flags *sf, enum store_intent intent,
                   struct store **out)
{
    char *url = cli_store_url(sf);
    if (!url)
        return EXIT_USAGE;
    struct error err;
    int rc = store_open(url, intent, out, &err);
    free(url);
    if (rc < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    store_close(command_store);
    command_store = *out;
    return EXIT_OK;
}

int cli_pipe(struct store *s, const char *name, struct pipe_row *row)
{
    bool found;
    struct error err;
    if (pipe_load(s, name, row, &found, &err) < 0)
        return cli_error(EXIT_RUNTIME, "%s", err.message);
    if (!found)
        return cli_error(EXIT_USAGE, "there is no pipe named '%s'", name);
    return EXIT_OK;
}

const char *cli_shown(const char *text)
{
    struct buf b = {0};
    redact_line(text, &b);
    buf_puts(&b, "");
    XGROW(shown, shown_cap, shown_count + 1);
    return shown[shown_count++] = buf_take(&b);
}

void cli_shown_forget(void)
{
    for (size_t i = 0; i < shown_count; i++)
        free(shown[i]);
    shown_count = 0;
}

void command_finish(void)
{
    store_close(command_store);
    command_store = NULL;
    for (size_t i = 0; i < shown_count; i++)
        free(shown[i]);
    free(shown);
    shown = NULL;
    shown_count = shown_cap = 0;
}
