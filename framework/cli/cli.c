/* cli.c: the command table, dispatch, help and option parsing. */
#include "cli.h"

#include <sluice/version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/clock.h"
#include "../util/log.h"
#include "man.h"

static int cmd_help(const struct command *cmd, int argc, char **argv);

/* The help texts' parts; their option lines are as command.h says. */
#define STORE_HELP                                                            \
    "  --store URL     the store (sqlite:PATH or postgresql://...); else\n"   \
    "                  [store] url of the config file, else SLUICE_STORE,\n"  \
    "                  else sqlite:./sluice.db\n"                             \
    "  -c, --config FILE\n"                                                   \
    "                  the config file whose [store] url to use\n"
#define STORE_ARGS "[--store URL] [-c FILE]"

#define REQUEST_HELP(what, legal)                                               \
    what                                                                        \
        "\n"                                                                    \
        "The request is recorded in the store and carried out by the worker\n"  \
        "that runs the pipe, within one sync interval. It is refused at once\n" \
        "when the pipe's state does not allow it (" legal ").\n"                \
        "\n" STORE_HELP                                                         \
        "  --wait          wait until the request is carried out\n"             \
        "  --timeout D     how long --wait waits (default 10m)\n"

#define REQUEST_EXIT                                                          \
    "\nExit status: 0 recorded (with --wait: carried out), 1 refused or\n"    \
    "failed, 2 bad usage, a bad URL, no such pipe, or (tables remove) no\n"   \
    "such table in the pipe.\n"

/* Exit status of a command that reads the store and names nothing. */
#define READ_EXIT                                                             \
    "\nExit status: 0, 1 when the store cannot be read, 2 bad usage or a\n"   \
    "bad URL.\n"

static const struct command commands[] = {
    {"check", "CONFIG.ini | -c CONFIG.ini [--print] [--connect]",
     "validate a config file and the plugins it names",
     "Reads CONFIG.ini, checks every section and option against the\n"
     "framework's and the plugins' option tables, and loads the plugins the\n"
     "pipes and topics name. Every problem is reported, each with file,\n"
     "line, section and key. Plugin files that sluice refuses are reported\n"
     "as warnings.\n"
     "\n"
     "  -c, --config FILE\n"
     "                  the config file (or give it as the argument)\n"
     "  --print         print the effective configuration, defaults\n"
     "                  applied (secrets are masked)\n"
     "  --connect       also open each pipe's source and sink and check\n"
     "                  that their servers answer (the plugins' ping);\n"
     "                  nothing is changed\n"
     "\n"
     "Exit status: 0 valid, 1 a server does not answer, 2 invalid or\n"
     "unreadable.\n",
     cmd_check},
    {"run",
     "CONFIG.ini | -c CONFIG.ini [--pipe NAME]... [--store URL] [--bytes]",
     "run the pipes of a config file until stopped",
     "Registers the file's topics and pipes in the store (creating it, or\n"
     "upgrading its schema, when needed), then runs each pipe (or only\n"
     "those named by --pipe) through its states: setup, snapshot, change\n"
     "data capture, and the operator requests of other terminals. Each\n"
     "pipe is leased by this worker while it runs it. The hub's daily\n"
     "maintenance runs here too. SIGINT or SIGTERM stops it within 6 s,\n"
     "with every checkpoint consistent: what a server does not answer in\n"
     "time is abandoned (the log names it) and done again after a restart,\n"
     "which continues from the store. A second signal stops it at once.\n"
     "Progress: a live block on a terminal, else a log line per table\n"
     "every progress_interval ([service] progress).\n"
     "\n"
     "  -c, --config FILE\n"
     "                  the config file (or give it as the argument)\n"
     "  --pipe NAME     run only this pipe (repeatable)\n"
     "  --store URL     the store (else [store] url, SLUICE_STORE,\n"
     "                  sqlite:./sluice.db)\n"
     "  --bytes         show bytes in the progress as raw numbers, not\n"
     "                  in units of 1024 (54.9MiB)\n"
     "\nExit status: 0 stopped, 1 runtime failure, 2 bad config, a bad URL\n"
     "or no such pipe; after a second signal, killed by it (a shell shows\n"
     "143 for SIGTERM, 130 for SIGINT).\n",
     cmd_run},
    {"plugins list", "[--json] [-c FILE]",
     "list the plugins found on the search path",
     "Lists every plugin found: name, kind, version, the ABI it was built\n"
     "for, its capabilities and its file. The search path is [plugins]\n"
     "path of FILE, then SLUICE_PLUGIN_PATH (':'-separated), then the\n"
     "install directory. Where two directories provide one name, the first\n"
     "wins and the other is listed as shadowed. Refused files are listed\n"
     "with the reason on standard error.\n"
     "\n"
     "  -c, --config FILE\n"
     "                  take [plugins] path from FILE\n"
     "  --json          print JSON: {\"plugins\": [...]}\n"
     "\n"
     "Exit status: 0, or 1 when a plugin file was refused, 2 bad usage or\n"
     "a bad config file.\n",
     cmd_plugins_list},
    {"plugins describe", "NAME [--json | --markdown] [-c FILE]",
     "show a plugin's options",
     "Prints a plugin's kind, module, capabilities and every option: type,\n"
     "default, range or allowed values, and description, all from the\n"
     "plugin's option table.\n"
     "\n"
     "  -c, --config FILE\n"
     "                  take [plugins] path from FILE\n"
     "  --json          print the plugin as a JSON object\n"
     "  --markdown      print Markdown, for documentation\n"
     "\n"
     "Exit status: 0, or 2 when there is no such plugin.\n",
     cmd_plugins_describe},
    {"plugin test", "FILE.so [--kit KIT.ini]",
     "run a plugin file through the conformance kit",
     "Loads FILE.so as sluice run would and runs every plugin it registers\n"
     "through its contract: descriptor and ABI, option table, and with\n"
     "--kit, a live instance: a source's snapshot resumed from every\n"
     "position and its change stream; a sink's setup and replayed batches;\n"
     "a retention policy's plans. One line per check: PASS, FAIL or SKIP\n"
     "with the reason. See docs/conformance.md for the checks and the file.\n"
     "\n"
     "  --kit KIT.ini   the kit file: options per plugin, [source NAME],\n"
     "                  [sink NAME], [retention NAME]; the kit's own in\n"
     "                  [conformance NAME]\n"
     "  --config KIT.ini\n"
     "                  the same as --kit; deprecated (a kit file is not a\n"
     "                  sluice config), and says so on standard error\n"
     "\n"
     "Exit status: 0 every check passed (or was skipped), 1 a check failed,\n"
     "2 bad usage, no such FILE.so or a bad kit file.\n",
     cmd_plugin_test},
    {"status", "[PIPE] [--json] [--bytes] " STORE_ARGS,
     "show the state of the pipes",
     "Without PIPE: one line per pipe (state, since when, rows copied, lag,\n"
     "retry count, the worker that holds it as host pid N, last error).\n"
     "With PIPE: everything about it, its tables with their progress, the\n"
     "worker that runs it (host pid N) and its recent requests.\n"
     "\n" STORE_HELP
     "  --json          print JSON: {\"pipes\": [...]}, or with PIPE the\n"
     "                  pipe's object, the worker's full identity in it\n"
     "                  (docs/operations.md)\n"
     "  --bytes         show bytes as raw numbers, not in units of 1024\n"
     "                  (54.9MiB)\n"
     "\nExit status: 0, 1 when the store cannot be read, 2 bad usage, a bad\n"
     "URL or no such pipe.\n",
     cmd_status},
    {"history", "PIPE [--json] " STORE_ARGS, "show a pipe's state transitions",
     "Every transition of the pipe, oldest first: when (UTC), from, to,\n"
     "and why.\n"
     "\n" STORE_HELP "  --json          print JSON: {\"transitions\": [...]}\n"
     "\nExit status: 0, 1 when the store cannot be read, 2 bad usage, a bad\n"
     "URL or no such pipe.\n",
     cmd_history},
    {"pause", "PIPE [--wait] [--timeout D] " STORE_ARGS, "pause a pipe",
     REQUEST_HELP(
         "Stops reading changes: the batch in flight is finished and\n"
         "checkpointed, then the pipe is paused. Data already in the\n"
         "sink stays; settings can be changed while paused.",
         "only a running pipe can be paused") REQUEST_EXIT,
     cmd_pause},
    {"resume", "PIPE [--wait] [--timeout D] " STORE_ARGS,
     "resume a paused pipe",
     REQUEST_HELP("Resumes change data capture from the checkpoint.",
                  "only a paused pipe can be resumed") REQUEST_EXIT,
     cmd_resume},
    {"resync", "PIPE [--wait] [--timeout D] " STORE_ARGS,
     "reload every table of a pipe",
     REQUEST_HELP("Loads every table again into <table>_resync shadows, then\n"
                  "swaps them in atomically, keeping deletes. The way back\n"
                  "from failed.",
                  "running, paused, completed or failed") REQUEST_EXIT,
     cmd_resync},
    {"tables add", "PIPE TABLE... [--wait] [--timeout D] " STORE_ARGS,
     "add tables to a pipe",
     REQUEST_HELP(
         "Snapshots the new tables while change capture of the others\n"
         "waits, then captures changes of all. With a sink that can\n"
         "resync, each table loads into a shadow that then replaces its\n"
         "destination, as a resync does: rows kept there from before (a\n"
         "table removed and added again, a collection made anew) go.",
         "running or paused") REQUEST_EXIT,
     cmd_tables_add},
    {"tables remove",
     "PIPE TABLE... [--drop-destination] [--wait] [--timeout D] " STORE_ARGS,
     "remove tables from a pipe",
     REQUEST_HELP(
         "Stops capturing the tables. Their destination tables are\n"
         "kept unless --drop-destination is given.",
         "running or paused") "  --drop-destination\n"
                              "                  drop the destination tables "
                              "too\n" REQUEST_EXIT,
     cmd_tables_remove},
    {"pipe delete", "PIPE [--wait] [--timeout D] " STORE_ARGS, "delete a pipe",
     REQUEST_HELP(
         "Stops the pipe and removes it with its checkpoints and its\n"
         "subscription. Its destination tables are kept.",
         "any state") REQUEST_EXIT,
     cmd_pipe_delete},
    {"topic create",
     "NAME [--consumed-retention-days N] [--unconsumed-retention-days N] "
     "[--retention PLUGIN] " STORE_ARGS,
     "create a hub topic",
     "Creates a topic with its retention properties: consumed data is kept\n"
     "N days (1 to 90, default 1), unconsumed data N days (from the\n"
     "consumed days to 90, default 7 or the consumed days if more). The\n"
     "retention plugin (default: retention) decides what the daily\n"
     "maintenance job deletes. A missing store is created, an older one\n"
     "upgraded, as by 'sluice store migrate'.\n"
     "\n"
     "  --consumed-retention-days N\n"
     "                  days consumed data is kept\n"
     "  --unconsumed-retention-days N\n"
     "                  days unconsumed data is kept\n"
     "  --retention PLUGIN\n"
     "                  the retention plugin\n" STORE_HELP
     "\nExit status: 0, 1 when it exists, 2 bad values, a bad URL or no such\n"
     "plugin.\n",
     cmd_topic_create},
    {"topic list", "[--json] " STORE_ARGS, "list the hub's topics",
     "Every topic with its retention and how much it holds.\n"
     "\n" STORE_HELP
     "  --json          print JSON: {\"topics\": [...]}\n" READ_EXIT,
     cmd_topic_list},
    {"topic describe", "NAME [--json] " STORE_ARGS, "show a topic",
     "Retention, publication events by consumption status, and the\n"
     "subscriptions of one topic.\n"
     "\n" STORE_HELP "  --json          print the topic as a JSON object\n"
     "\nExit status: 0, 1 when the store cannot be read, 2 bad usage, a bad\n"
     "URL or no such topic.\n",
     cmd_topic_describe},
    {"topic publish", "TOPIC [--at TIME] " STORE_ARGS " < records.jsonl",
     "publish records from standard input",
     "Reads JSON lines, one record each:\n"
     "  {\"table\": T, \"op\": OP, \"key\": K, \"doc\": {...}, \"version\": N}\n"
     "OP is snapshot, insert, update, replace or delete; doc is null for a\n"
     "delete; version is a non-negative integer. The whole input is one\n"
     "publication event; a bad line is reported with its number and then\n"
     "nothing is published.\n"
     "\n"
     "  --at TIME       publish as of TIME (ISO 8601, UTC), not now\n" STORE_HELP
     "\nExit status: 0, 1 store failure, 2 bad input, a bad URL or no such\n"
     "topic.\n",
     cmd_topic_publish},
    {"topic consume",
     "TOPIC --subscription NAME [--max-events N] [--at TIME] " STORE_ARGS,
     "print and consume a subscription's records",
     "Prints the records of the subscription's next publication events as\n"
     "JSON lines (the format of topic publish), completing each event once\n"
     "its records are written.\n"
     "\n"
     "  --subscription NAME\n"
     "                  the subscription to read with\n"
     "  --max-events N  stop after N publication events\n"
     "  --at TIME       consume as of TIME (ISO 8601, UTC), not now\n" STORE_HELP
     "\nExit status: 0, 1 store failure or standard output failed, 2 bad\n"
     "usage, a bad URL, no such subscription or one of another topic.\n",
     cmd_topic_consume},
    {"subscription create", "NAME --topic TOPIC [--at TIME] " STORE_ARGS,
     "create a subscription",
     "Creates a reader of TOPIC. Publication events published from now on\n"
     "are owed to it; it may also read the older ones still in the hub.\n"
     "\n"
     "  --topic TOPIC   the topic it reads\n"
     "  --at TIME       create it as of TIME (ISO 8601, UTC), not now\n" STORE_HELP
     "\nExit status: 0, 1 when it exists or the store failed, 2 bad usage,\n"
     "a bad URL or no such topic.\n",
     cmd_subscription_create},
    {"subscription pause", "NAME " STORE_ARGS, "pause a subscription",
     "A paused subscription reads nothing; the events owed to it are\n"
     "`delayed`.\n"
     "\n" STORE_HELP
     "\nExit status: 0, 1 store failure, 2 bad usage, a bad URL or no such\n"
     "subscription.\n",
     cmd_subscription_pause},
    {"subscription resume", "NAME " STORE_ARGS, "resume a subscription",
     "Lets a paused subscription read again.\n"
     "\n" STORE_HELP
     "\nExit status: 0, 1 store failure, 2 bad usage, a bad URL or no such\n"
     "subscription.\n",
     cmd_subscription_resume},
    {"subscription list", "[--json] " STORE_ARGS, "list the subscriptions",
     "Every subscription: topic, state, events left to read, owning pipe.\n"
     "\n" STORE_HELP
     "  --json          print JSON: {\"subscriptions\": [...]}\n" READ_EXIT,
     cmd_subscription_list},
    {"events", "[--topic T] [--since TIME] [--json] " STORE_ARGS,
     "list publication, subscription and system events",
     "Events in time order: publication events with their status and\n"
     "consumption status (final, processing, delayed, error), subscription\n"
     "events with theirs, and system events (maintenance runs).\n"
     "\n"
     "  --topic T       only events of topic T (system events always)\n"
     "  --since TIME    only events at or after TIME (ISO 8601, UTC)\n"
     "  --json          print JSON: {\"events\": [...]}\n" STORE_HELP
     "\nExit status: 0, 1 when the store cannot be read, 2 bad usage, a bad\n"
     "URL or no such topic.\n",
     cmd_events},
    {"maintenance run", "[--as-of TIME] [--dry-run] [--json] " STORE_ARGS,
     "run the hub's maintenance job now",
     "Asks each topic's retention plugin for a plan and deletes what it\n"
     "plans, one transaction per topic, then records the run as a system\n"
     "event with a report (see 'maintenance report'). sluice run does this\n"
     "every day at [hub] maintenance_at. With -c FILE, the retention\n"
     "options of the file's topics apply.\n"
     "\n"
     "  --as-of TIME    run as if at TIME (ISO 8601, UTC), for tests and\n"
     "                  back-fills\n"
     "  --dry-run       plan and report; delete nothing, record nothing\n"
     "  --json          print the report as a JSON object\n" STORE_HELP
     "\nExit status: 0, 1 when a topic failed, 2 bad usage, a bad URL or a\n"
     "bad config file.\n",
     cmd_maintenance_run},
    {"maintenance report", "EVENT_ID [--json] " STORE_ARGS,
     "show the report of a maintenance run",
     "Per topic: the cutoff used, the rule that set it, and the publication\n"
     "events and records deleted (per rule).\n"
     "\n" STORE_HELP "  --json          print the report as a JSON object\n"
     "\nExit status: 0, 1 when the store cannot be read, 2 bad usage, a bad\n"
     "URL or no such maintenance run.\n",
     cmd_maintenance_report},
    {"store migrate", STORE_ARGS, "create the store or upgrade its schema",
     "Creates the store when there is none (an SQLite file, mode 0600; the\n"
     "tables in an empty PostgreSQL database) and applies the schema\n"
     "migrations it lacks, under a lock. sluice run and sluice topic create\n"
     "do the same; every other command takes the store as it is: the\n"
     "commands that read it read an older schema as far as they can, those\n"
     "that write it refuse an older schema. A store of a newer sluice is\n"
     "refused by every command, this one too.\n"
     "\n" STORE_HELP
     "\nExit status: 0, 1 when the store cannot be opened or is newer, 2 bad\n"
     "usage or a bad URL.\n",
     cmd_store_migrate},
    {"store check", STORE_ARGS,
     "check that every publication event's records are present and whole",
     "Reads every publication event's records from where the store keeps\n"
     "them (an SQLite store: segment files in PATH-segments beside it;\n"
     "PostgreSQL: the database) and checks that each is there, as long as\n"
     "written, with its checksum and the number of records it was published\n"
     "with; each problem is a line naming the topic, the event and the\n"
     "file. Segment files no event refers to (what a crash between writing\n"
     "and committing left) are listed: the next maintenance run deletes\n"
     "them. Safe while sluice run writes.\n"
     "\n" STORE_HELP
     "\nExit status: 0 when every event is whole, 1 when one is not or the\n"
     "store cannot be read, 2 bad usage or a bad URL.\n",
     cmd_store_check},
    {"store backup", "DEST " STORE_ARGS,
     "copy an SQLite store, consistent while sluice run writes",
     "Copies the store as of one moment into the new file DEST, and the\n"
     "segment bytes its publication events refer to into DEST-segments;\n"
     "everything is synced before it returns. sluice run and other commands\n"
     "go on meanwhile; the maintenance job deletes no segment file while a\n"
     "backup runs. Restore by stopping sluice and putting DEST and\n"
     "DEST-segments in place of the store and its segments. A PostgreSQL\n"
     "store is backed up with pg_dump.\n"
     "\n" STORE_HELP
     "\nExit status: 0, 1 when the copy failed (DEST exists, a file is\n"
     "missing), 2 bad usage, a bad URL or a PostgreSQL store.\n",
     cmd_store_backup},
    {"help", "[COMMAND...]", "show help for sluice or one of its commands",
     "Without a command, lists the commands; with one, explains it.\n"
     "\nExit status: 0, 2 when there is no such command.\n",
     cmd_help},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_overview(FILE *out)
{
    int width = 0;
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if ((int)strlen(commands[i].name) > width)
            width = (int)strlen(commands[i].name);
    fprintf(out,
            "sluice %s: change data capture pipelines\n"
            "\n"
            "Usage: sluice COMMAND [ARGS...]\n"
            "       sluice --version | --help\n"
            "\n"
            "Commands:\n",
            SLUICE_VERSION);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        fprintf(out, "  %-*s  %s\n", width, commands[i].name,
                commands[i].summary);
    fprintf(out, "\nRun 'sluice help COMMAND' for the details of one.\n"
                 "Exit status: 0 success, 1 a failure while running, 2 bad "
                 "usage\n(a wrong command, option, URL or name) or a bad "
                 "config file.\n");
}

/* Commands whose name starts with the given words ("plugins"). */
static void print_group(const char *group, FILE *out)
{
    fprintf(out, "Commands of 'sluice %s':\n", group);
    size_t n = strlen(group);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strncmp(commands[i].name, group, n) == 0 &&
            commands[i].name[n] == ' ')
            fprintf(out, "  sluice %s %s\n", commands[i].name,
                    commands[i].args);
}

static bool is_group(const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strncmp(commands[i].name, word, n) == 0 &&
            commands[i].name[n] == ' ')
            return true;
    return false;
}

/* The command named by the leading words of argv, and how many words. */
static const struct command *find_command(int argc, char **argv, int *words)
{
    const struct command *best = NULL;
    int best_words = 0;
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const char *name = commands[i].name;
        int w = 0;
        const char *p = name;
        while (w < argc) {
            size_t len = strcspn(p, " ");
            if (strlen(argv[w]) != len || strncmp(argv[w], p, len) != 0)
                break;
            w++;
            p += len;
            if (!*p)
                break;
            p++;
        }
        if (!*p && w > best_words)
            best = &commands[i], best_words = w;
    }
    *words = best_words;
    return best;
}

/* The hidden forms of help: `--man 1`, `--man 5 [PLUGIN...]` (man.h),
 * and `--completion-helper` (command.h: help has no options). -1 when
 * argv is none of them. */
static int hidden_help(int argc, char **argv)
{
    if (argc == 1 && strcmp(argv[0], "--completion-helper") == 0)
        return EXIT_OK;
    if (argc < 2 || strcmp(argv[0], "--man") != 0)
        return -1;
    if (strcmp(argv[1], "1") == 0 && argc == 2) {
        man_program(commands, COMMAND_COUNT, stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "5") == 0)
        return man_config((const char *const *)argv + 2, (size_t)argc - 2,
                          stdout);
    fprintf(stderr, "sluice help --man: give 1 or 5 [PLUGIN...]\n");
    return EXIT_USAGE;
}

static int cmd_help(const struct command *cmd, int argc, char **argv)
{
    int hidden = hidden_help(argc, argv);
    if (hidden >= 0)
        return hidden;
    if (argc == 1 &&
        (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        command_print_help(cmd, stdout);
        return EXIT_OK;
    }
    if (argc == 0) {
        print_overview(stdout);
        return EXIT_OK;
    }
    int words;
    const struct command *c = find_command(argc, argv, &words);
    if (c && words == argc) {
        command_print_help(c, stdout);
        return EXIT_OK;
    }
    if (argc == 1 && is_group(argv[0])) {
        print_group(argv[0], stdout);
        return EXIT_OK;
    }
    fprintf(stderr, "sluice help: no command '");
    for (int i = 0; i < argc; i++)
        fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
    fprintf(stderr, "'; run 'sluice help' for the list\n");
    return EXIT_USAGE;
}

/* A wrong SLUICE_TEST_CLOCK is refused; a test clock is warned of. */
static bool test_clock_refused(void)
{
    bool on;
    struct error err;
    if (clock_test_check(&on, &err) < 0) {
        fprintf(stderr, "sluice: %s\n", err.message);
        return true;
    }
    int64_t start, offset;
    double speed;
    if (on && clock_test(&start, &speed, &offset))
        log_msg(SLUICE_LOG_WARN, NULL,
                "SLUICE_TEST_CLOCK is set: sluice's clock runs %g times as "
                "fast, offset by %lld ms; this is for tests and benchmarks "
                "only, never for production",
                speed, (long long)offset);
    return false;
}

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return EXIT_USAGE;
    }
    const char *first = argv[1];
    if (strcmp(first, "--help") == 0 || strcmp(first, "-h") == 0) {
        print_overview(stdout);
        return EXIT_OK;
    }
    if (strcmp(first, "--version") == 0 || strcmp(first, "-V") == 0) {
        printf("sluice %s (plugin ABI %d.%d)\n", SLUICE_VERSION,
               SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
        return EXIT_OK;
    }
    int words;
    const struct command *cmd = find_command(argc - 1, argv + 1, &words);
    if (!cmd) {
        if (is_group(first)) {
            if (argc > 2)
                fprintf(stderr, "sluice: unknown command '%s %s'\n", first,
                        argv[2]);
            print_group(first, stderr);
        } else {
            fprintf(stderr,
                    "sluice: unknown command '%s'; run 'sluice help' "
                    "for the list\n",
                    first);
        }
        return EXIT_USAGE;
    }
    if (test_clock_refused())
        return EXIT_USAGE;
    int status = cmd->run(cmd, argc - 1 - words, argv + 1 + words);
    command_finish();
    return status;
}
