/* cli.h: the command line. One table of commands (cli.c) holds each
 * command's name, usage, summary and help text, so that `sluice help X`,
 * `sluice X --help` and the overview are written from one place. Each
 * command group has its own file (cmd_*.c), made of command.h's parts. */
#ifndef SLUICE_CLI_CLI_H
#define SLUICE_CLI_CLI_H

#include "command.h"

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
int cmd_store_check(const struct command *cmd, int argc, char **argv);
int cmd_store_backup(const struct command *cmd, int argc, char **argv);

#endif
