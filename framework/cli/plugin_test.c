/* plugin_test.c: `sluice plugin test FILE.so [--kit KIT.ini]`, the
 * conformance kit. Loads one plugin file with the core's own loader, then
 * runs every plugin it registers through its contract
 * (framework/conformance/), one report line per check. The checks that
 * need a live instance run only for plugins with a section in the kit
 * file.
 * Whatever calls the plugin's code runs in a child process first (its
 * init) or only (its instances): a plugin that crashes fails a check, not
 * the kit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../conformance/kit.h"
#include "../util/mem.h"
#include "cli.h"

static void plugin_checks(struct report *r, const struct plugin *p,
                          struct live *l)
{
    static_checks_plugin(r, p, l->subject);
    if (p->kind == PLUGIN_SOURCE)
        source_checks(l);
    else if (p->kind == PLUGIN_SINK)
        sink_checks(l);
    else
        retention_checks(l);
}

/* Fills one live setup per plugin; EXIT_OK, or EXIT_USAGE after printing
 * what is wrong with the file. */
static int prepare(const struct registry *reg, const struct kit_file *f,
                   struct report *r, struct live *lives)
{
    struct diags diags = {0};
    if (f)
        kit_file_check_names(f, reg, &diags);
    for (size_t i = 0; i < reg->count; i++)
        live_prepare(&lives[i], reg->plugins[i], f, r, &diags);
    int status = diags.count ? EXIT_USAGE : EXIT_OK;
    cli_print_diags(&diags);
    diags_free(&diags);
    return status;
}

/* In a child: the file loaded as the loader loads it, init included. */
static bool load_in_child(void *path)
{
    struct registry reg;
    struct error err;
    registry_init(&reg);
    kit_calling("init");
    registry_load_file(&reg, path, &err);
    kit_calling("fini");
    registry_free(&reg);
    kit_calling(NULL);
    return true;
}

static int test_file(const char *path, const struct kit_file *f)
{
    static const char *const loading[] = {"module.init", NULL};
    struct registry reg;
    struct error err;
    struct report *r = report_new(stdout);
    registry_init(&reg);
    /* a bare file name would make dlopen search the library path */
    char *file = strchr(path, '/') ? xstrdup(path) : xasprintf("./%s", path);
    char *subject = xasprintf("module %s", file);
    printf("sluice plugin test %s (this sluice: %s, plugin ABI %d.%d)\n", file,
           SLUICE_VERSION, SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR);
    int status = EXIT_OK;
    if (!kit_isolated(r, subject, loading, load_in_child, file)) {
        report_line(r, CHECK_SKIP, subject, "plugins",
                    "loading the module ended the process, so none of its "
                    "plugins can be tested");
    } else if (registry_load_file(&reg, file, &err) < 0) {
        static_checks_refused(r, file, err.message);
    } else {
        struct live *lives = xcalloc(reg.count, sizeof *lives);
        status = prepare(&reg, f, r, lives);
        if (status == EXIT_OK) {
            static_checks_module(r, reg.modules[0], reg.count);
            for (size_t i = 0; i < reg.count; i++)
                plugin_checks(r, reg.plugins[i], &lives[i]);
        }
        for (size_t i = 0; i < reg.count; i++)
            live_free(&lives[i]);
        free(lives);
    }
    if (status == EXIT_OK) {
        report_summary(r);
        status = r->failed ? EXIT_RUNTIME : EXIT_OK;
    }
    registry_free(&reg);
    report_free(r);
    free(subject);
    free(file);
    return status;
}

int cmd_plugin_test(const struct command *cmd, int argc, char **argv)
{
    const char *kit_path = NULL, *old_path = NULL;
    struct flag flags[] = {OPTION("--kit", &kit_path),
                           OPTION("--config", &old_path)};
    size_t nargs;
    int rc = CLI_ARGS(cmd, argc, argv, flags, 1, &nargs);
    if (rc != CLI_GO_ON)
        return rc;
    if (!nargs)
        return cli_usage_error(cmd, "which plugin file? give its path");
    if (kit_path && old_path)
        return cli_usage_error(cmd, "give the kit file once, with --kit");
    if (old_path)
        cli_warning("plugin test: --config is deprecated and will go; name "
                    "the kit file with --kit (a kit file is not a sluice "
                    "config)");
    const char *config_path = kit_path ? kit_path : old_path;
    const char *path = argv[0];
    struct stat st;
    if (stat(path, &st) < 0) /* a wrong name: nothing to test */
        return cli_error(EXIT_USAGE, "%s: %s", path, strerror(errno));
    struct kit_file f;
    if (config_path) {
        struct diags diags = {0};
        struct error err;
        rc = kit_file_load(config_path, &f, &diags, &err);
        if (rc < 0)
            cli_error(EXIT_USAGE, "%s", err.message);
        cli_print_diags(&diags);
        rc = rc < 0 || diags.count ? EXIT_USAGE : EXIT_OK;
        diags_free(&diags);
        if (rc != EXIT_OK) {
            kit_file_free(&f);
            return rc;
        }
    }
    rc = test_file(path, config_path ? &f : NULL);
    if (config_path)
        kit_file_free(&f);
    return rc;
}
