/* cli.h: the command line. One table of commands (cli.c) holds each
 * command's name, usage, summary and help text, so that `sluice help X`,
 * `sluice X --help` and the overview are written from one place. Each
 * command group has its own file (cmd_*.c). */
#ifndef SLUICE_CLI_CLI_H
#define SLUICE_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

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

/* A command's options: a flag (value == NULL) or an option with a value. */
struct flag {
    const char *name; /* "--markdown" */
    const char **value; /* set to the value; NULL for a plain flag */
    bool *set;          /* set to true when given; may be NULL */
};

/* Parses argv (after the command's words) into flags and positional
 * arguments; `--help` prints the command's help. Returns -1 (after
 * printing why) on bad usage, 1 when help was printed, 0 otherwise.
 * `positional` receives pointers into argv; the caller frees the array. */
int cli_parse(const struct command *cmd, int argc, char **argv,
              const struct flag *flags, size_t flag_count,
              char ***positional, size_t *positional_count);

/* cli_parse for a command of at most `max` positional arguments: their
 * values go to args[0..*count). Returns CLI_GO_ON, or the exit status to
 * return at once (help printed, bad usage reported). */
#define CLI_GO_ON (-1)
int cli_args(const struct command *cmd, int argc, char **argv,
             const struct flag *flags, size_t flag_count, const char **args,
             size_t max, size_t *count);

/* Prints "sluice NAME: message" and a pointer to the command's help on
 * stderr; returns EXIT_USAGE. */
int cli_usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* `text` (NULL: "") as a cell of a table or a line for people: secrets
 * masked, control characters escaped (util/redact.h), so that a name or
 * a message is never more than its own line. The string is the CLI's,
 * freed when the command returns. */
const char *cli_shown(const char *text);

int cli_main(int argc, char **argv);

/* Command groups. */
int cmd_plugins_list(const struct command *cmd, int argc, char **argv);
int cmd_plugins_describe(const struct command *cmd, int argc, char **argv);
int cmd_plugin_test(const struct command *cmd, int argc, char **argv);
int cmd_check(const struct command *cmd, int argc, char **argv);
int cmd_run(const struct command *cmd, int argc, char **argv);
int cmd_pause(const struct command *cmd, int argc, char **argv);
int cmd_resume(const struct command *cmd, int argc, char **argv);
int cmd_resync(const struct command *cmd, int argc, char **argv);
int cmd_tables_add(const struct command *cmd, int argc, char **argv);
int cmd_tables_remove(const struct command *cmd, int argc, char **argv);
int cmd_pipe_delete(const struct command *cmd, int argc, char **argv);
int cmd_status(const struct command *cmd, int argc, char **argv);
int cmd_topic_create(const struct command *cmd, int argc, char **argv);
int cmd_topic_list(const struct command *cmd, int argc, char **argv);
int cmd_topic_describe(const struct command *cmd, int argc, char **argv);
int cmd_topic_publish(const struct command *cmd, int argc, char **argv);
int cmd_topic_consume(const struct command *cmd, int argc, char **argv);
int cmd_subscription_create(const struct command *cmd, int argc, char **argv);
int cmd_subscription_pause(const struct command *cmd, int argc, char **argv);
int cmd_subscription_resume(const struct command *cmd, int argc, char **argv);
int cmd_subscription_list(const struct command *cmd, int argc, char **argv);
int cmd_events(const struct command *cmd, int argc, char **argv);
int cmd_maintenance_run(const struct command *cmd, int argc, char **argv);
int cmd_maintenance_report(const struct command *cmd, int argc, char **argv);
int cmd_history(const struct command *cmd, int argc, char **argv);
int cmd_store_migrate(const struct command *cmd, int argc, char **argv);

#endif
