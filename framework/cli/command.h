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

/* Usage, summary and help of a command. */
void command_print_help(const struct command *cmd, FILE *out);

/* A command's options: a flag (value == NULL) or an option with a value.
 * A command declares them as a table, `struct flag flags[] = {...}`, that
 * CLI_ARGS counts. */
struct flag {
    const char *name;   /* "--markdown" */
    const char **value; /* set to the value; NULL for a plain flag */
    bool *set;          /* set to true when given; may be NULL */
};

/* Where a command of the store finds it, --store URL and --config FILE:
 * two entries of its table, {STORE_FLAGS(sf), ...}. */
struct store_flags {
    const char *url, *config;
};
#define STORE_FLAGS(sf)                                                       \
    {"--store", &(sf).url, NULL},                                             \
    {                                                                         \
        "--config", &(sf).config, NULL                                        \
    }

/* Parses argv (after the command's words) into the flags of the table
 * and the positional arguments, which it moves to the front of argv, in
 * order: argv[0..*count). More than `max` of them (ARGS_ANY: no limit) is
 * bad usage; `--help` prints the command's help. Returns CLI_GO_ON, or
 * the exit status to return at once (help printed, bad usage reported). */
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

/* The store's URL for the command (cli/settings.h: store_url_for), or
 * NULL after reporting why (a bad --config file); the caller frees it. */
char *cli_store_url(const struct store_flags *sf);
/* That store, opened with the command's intent (store.h) and closed when
 * the command returns. EXIT_OK with *out open, else the exit status to
 * return, after reporting why. */
int cli_open_store(const struct store_flags *sf, enum store_intent intent,
                   struct store **out);

/* `text` (NULL: "") as a cell of a table or a line for people: secrets
 * masked, control characters escaped (util/redact.h), so that a name or
 * a message is never more than its own line. The string is freed when
 * the command returns. */
const char *cli_shown(const char *text);

/* Frees what the command got here; cli_main calls it when the command
 * returns. */
void command_finish(void);

#endif
