/* command.h: what every command is made of, so that each says only what
 * it does: its flags, declared as a table; its store, opened from --store
 * or --config and closed when it returns; its errors, each reported by
 * one function with the exit status. What a command gets here (the store,
 * the texts of cli_shown) belongs to the command being run and is freed
 * when it returns (command_finish). */
#ifndef SLUICE_CLI_COMMAND_H
#define SLUICE_CLI_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../store/store.h"
#include "../util/error.h"

/* Exit statuses. */
#define EXIT_OK 0
#define EXIT_RUNTIME 1 /* a runtime failure */
#define EXIT_USAGE 2   /* bad usage or bad config */

struct command {
    const char *name;    /* words: "plugins describe" */
    const char *args;    /* "NAME [--markdown] [--config FILE]" */
    const char *summary; /* one line */
    const char *help;    /* what it does, its options, exit statuses */
    int (*run)(const struct command *cmd, int argc, char **argv);
};

/* Usage, summary and help of a command, then command_common_help. */
void command_print_help(const struct command *cmd, FILE *out);
/* The help of the options every command takes (cli_args). A help text's
 * option lines are two spaces, the option, and its description from
 * column 18 (or, below a longer option, on lines of their own from column
 * 18): man.c reads them so. */
extern const char command_common_help[];

/* A command's options: a flag (value == NULL) or an option with a value.
 * A command declares them as a table, `struct flag flags[] = {...}`, that
 * CLI_ARGS counts. A repeatable option (`count` not NULL) appends each
 * value to the array `value`, which has room for one per argument. */
struct flag {
    const char *name;   /* "--markdown", or "-c" */
    const char **value; /* set to the value; NULL for a plain flag */
    bool *set;          /* set to true when given; may be NULL */
    size_t *count;      /* a repeatable option: values in `value` so far */
};

/* The entries of a table: a plain flag, an option with a value, a
 * repeatable option. */
#define FLAG(name, set)                                                       \
    {                                                                         \
        (name), NULL, (set), NULL                                             \
    }
#define OPTION(name, value)                                                   \
    {                                                                         \
        (name), (value), NULL, NULL                                           \
    }
#define REPEATED(name, values, count)                                         \
    {                                                                         \
        (name), (values), NULL, (count)                                       \
    }

/* The config file, -c FILE or --config FILE: two entries of a table. */
#define CONFIG_FLAGS(path) OPTION("--config", &(path)), OPTION("-c", &(path))

/* Where a command of the store finds it, --store URL and -c/--config
 * FILE: entries of its table, {STORE_FLAGS(sf), ...}. */
struct store_flags {
    const char *url, *config;
};
#define STORE_FLAGS(sf) OPTION("--store", &(sf).url), CONFIG_FLAGS((sf).config)

/* Parses argv (after the command's words) into the flags of the table
 * and the positional arguments, which it moves to the front of argv, in
 * order: argv[0..*count). More than `max` of them (ARGS_ANY: no limit) is
 * bad usage; `--help` prints the command's help; the hidden
 * `--completion-helper` prints the options the command takes, one a line,
 * those that take a value followed by '=' (completions/sluice reads it).
 * Returns CLI_GO_ON, or the exit status to return at once (help printed,
 * bad usage reported). */
#define CLI_GO_ON (-1)
#define ARGS_ANY ((size_t)-1)
int cli_args(const struct command *cmd, int argc, char **argv,
             const struct flag *flags, size_t flag_count, size_t max,
             size_t *count);
#define CLI_ARGS(cmd, argc, argv, flags, max, count)                          \
    cli_args((cmd), (argc), (argv), (flags),                                  \
             sizeof(flags) / sizeof((flags)[0]), (max), (count))

/* Sets the log's level and form (cli/settings.h: log_settings_choose)
 * from --log-level and --log-format, which every command takes, else
 * `service` (NULL: the command has no config file; cli_args passes NULL,
 * a command that loads one passes its [service]). CLI_GO_ON, or
 * EXIT_USAGE after saying which name is bad and where it came from. */
struct service_settings;
int cli_log_settings(const struct command *cmd,
                     const struct service_settings *service);

/* Prints "sluice NAME: message" and a pointer to the command's help on
 * stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct command *cmd, const char *fmt, ...)
    SLUICE_PRINTF(2, 3);

/* Prints "error: message" on stderr and returns `status`, the exit status
 * to return with: the one way a command reports an error. The message is
 * one line, its secrets masked and its control characters escaped
 * (util/redact.h, as in the log), whoever wrote it: a plugin, a server. */
int cli_error(int status, const char *fmt, ...) SLUICE_PRINTF(2, 3);
/* The same for "warning: message". */
void cli_warning(const char *fmt, ...) SLUICE_PRINTF(1, 2);
/* The warnings, then the errors, of `diags`, one per line. */
void cli_print_diags(const struct diags *diags);

/* The config file of a command that takes it as its one positional
 * argument or as -c/--config (run, check): `flag` or argv[0] of the
 * `count` positional ones. CLI_GO_ON with *path set, else EXIT_USAGE
 * after saying why (none given, or two). */
int cli_config_path(const struct command *cmd, const char *flag, size_t count,
                    char **argv, const char **path);

/* Whether `url` is a store URL sluice can open (store_url_check); else
 * reports why and returns false: a wrong URL is bad usage (EXIT_USAGE),
 * known before anything runs. */
bool cli_store_url_ok(const char *url);

/* The store's URL for the command (cli/settings.h: store_url_for), or
 * NULL after reporting why (a bad --config file, a URL that is no store's:
 * EXIT_USAGE); the caller frees it. */
char *cli_store_url(const struct store_flags *sf);
/* That store, opened with the command's intent (store.h) and closed when
 * the command returns. EXIT_OK with *out open, else the exit status to
 * return, after reporting why. */
int cli_open_store(const struct store_flags *sf, enum store_intent intent,
                   struct store **out);

/* The pipe named `name`, loaded into *row (the caller frees it):
 * EXIT_OK, else the exit status after reporting why: EXIT_USAGE when
 * there is no such pipe, EXIT_RUNTIME when the store failed. */
struct pipe_row;
int cli_pipe(struct store *s, const char *name, struct pipe_row *row);

/* `text` (NULL: "") as a cell of a table or a line for people: secrets
 * masked, control characters escaped (util/redact.h), so that a name or
 * a message is never more than its own line. The string is freed when
 * the command returns. */
const char *cli_shown(const char *text);
/* Frees the strings cli_shown returned so far, for a listing that prints
 * as it reads: call it when none of them is used any more. */
void cli_shown_forget(void);

/* Frees what the command got here; cli_main calls it when the command
 * returns. */
void command_finish(void);

#endif
