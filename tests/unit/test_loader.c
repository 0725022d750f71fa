/* test_loader.c: every refusal of the plugin loader, each with its
 * fixture shared object and the message asserted; what it accepts; and the
 * search-path rules (shadowing across directories, duplicates in one). */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../test.h"
#include "plugin/host.h"
#include "plugin/plugin.h"
#include "util/mem.h"

static char *fixture(const char *name)
{
    return xasprintf("%s/%s.so", FIXTURE_DIR, name);
}

/* Loads one fixture into a fresh registry; returns its message or "". */
static char *load_message(const char *name)
{
    struct registry reg;
    struct error err = {0};
    registry_init(&reg);
    char *path = fixture(name);
    int rc = registry_load_file(&reg, path, &err);
    char *message = xstrdup(rc == 0 ? "" : err.message);
    CHECK(rc == 0 || registry_find(&reg, name) == NULL);
    free(path);
    registry_free(&reg);
    return message;
}

#define CHECK_REFUSED(fixture_name, ...)                                      \
    do {                                                                      \
        char *m_ = load_message(fixture_name);                                \
        const char *needles_[] = {fixture_name ".so", __VA_ARGS__};           \
        CHECK(m_[0] != '\0');                                                 \
        for (size_t i_ = 0; i_ < sizeof needles_ / sizeof *needles_; i_++)    \
            CHECK_CONTAINS(m_, needles_[i_]);                                 \
        free(m_);                                                             \
    } while (0)

static void not_a_shared_object(void)
{
    CHECK_REFUSED("not_shared_object", "not a loadable shared object");
}

static void missing_file(void)
{
    CHECK_REFUSED("no_such_file", "not a loadable shared object",
                  "No such file");
}

static void no_descriptor(void)
{
    CHECK_REFUSED("no_descriptor", "not a sluice plugin",
                  "exports no sluice_module_descriptor()");
}

static void bad_magic(void)
{
    CHECK_REFUSED("bad_magic", "bad magic 0xdeadbeef");
}

static void other_major(void)
{
    CHECK_REFUSED("abi_major", "built for plugin ABI 2.0",
                  "loads only ABI 1.x plugins");
}

static void newer_minor(void)
{
    char want[64];
    snprintf(want, sizeof want, "built for plugin ABI %d.%d, newer than",
             SLUICE_ABI_MAJOR, SLUICE_ABI_MINOR + 1);
    CHECK_REFUSED("abi_minor_newer", want);
}

static void missing_capability_callback(void)
{
    CHECK_REFUSED("missing_callback", "sink 'missing_callback'",
                  "declares capability 'resync' but has no 'resync_swap' "
                  "callback");
}

static void missing_required_callback(void)
{
    CHECK_REFUSED("missing_required", "sink 'missing_required'",
                  "has no 'write' callback (required)");
}

static void init_fails(void)
{
    CHECK_REFUSED("init_fails", "init failed: libexample is too old");
}

static void bad_option_table(void)
{
    CHECK_REFUSED("bad_option", "sink 'bad_option'", "option 'level'",
                  "default is invalid", "11 is out of range");
}

/* Refused before anything allocates it: 1 TiB would end the process. */
static void huge_config_size(void)
{
    CHECK_REFUSED("huge_config", "sink 'huge_config'",
                  "config_size is 1099511627776 bytes, more than the "
                  "1048576 a config struct may have");
}

static void registers_nothing(void)
{
    CHECK_REFUSED("no_plugins", "registered no plugin");
}

static void twice_in_one_module(void)
{
    CHECK_REFUSED("twice_in_module", "registers 'twice' twice");
}

static void unknown_capability(void)
{
    CHECK_REFUSED("unknown_capability", "unknown capabilities 0x80");
}

static void two_files_one_name(void)
{
    struct registry reg;
    struct error err;
    registry_init(&reg);
    char *a = fixture("dup_a"), *b = fixture("dup_b");
    CHECK(registry_load_file(&reg, a, &err) == 0);
    CHECK(registry_load_file(&reg, b, &err) < 0);
    CHECK_CONTAINS(err.message, "dup_b.so: sink 'dup' is also provided by");
    CHECK_CONTAINS(err.message, "dup_a.so");
    CHECK(reg.count == 1);
    free(a);
    free(b);
    registry_free(&reg);
}

static void accepts_good_plugin(void)
{
    struct registry reg;
    struct error err = {0};
    registry_init(&reg);
    char *path = fixture("good_sink");
    CHECK(registry_load_file(&reg, path, &err) == 0);
    struct plugin *p = registry_find(&reg, "good_sink");
    CHECK(p != NULL);
    if (p) {
        CHECK(p->kind == PLUGIN_SINK);
        CHECK(p->capabilities == (SLUICE_SINK_RESYNC | SLUICE_SINK_DROP));
        CHECK(p->info.sink.resync_swap != NULL);
        CHECK_STR(p->module->desc.version, "1.0.0");
    }
    free(path);
    registry_free(&reg);
}

static void accepts_older_minor_reading_only_its_size(void)
{
    struct registry reg;
    struct error err = {0};
    registry_init(&reg);
    char *path = fixture("old_minor");
    int rc = registry_load_file(&reg, path, &err);
    CHECK(rc == 0);
    if (rc)
        fprintf(stderr, "  %s\n", err.message);
    struct plugin *p = registry_find(&reg, "old_minor");
    CHECK(p != NULL);
    if (p) {
        CHECK(p->module->desc.abi_minor == 0);
        CHECK(p->module->desc.fini == NULL);      /* beyond its descriptor */
        CHECK(p->info.sink.flush != NULL);        /* inside its info */
        CHECK(p->info.sink.resync_begin == NULL); /* beyond its info */
        CHECK(p->info.sink.drop_table == NULL);
    }
    free(path);
    registry_free(&reg);
}

static sluice_status open_nothing(sluice_context *ctx, const void *config,
                                  void **instance, sluice_error *err)
{
    (void)ctx, (void)config, (void)instance, (void)err;
    return SLUICE_OK;
}
static void close_nothing(void *instance)
{
    (void)instance;
}
static sluice_status plan_nothing(void *instance,
                                  const sluice_retention_input *input,
                                  sluice_retention_plan *plan,
                                  sluice_error *err)
{
    (void)instance, (void)input, (void)plan, (void)err;
    return SLUICE_OK;
}

/* `allowed` of a URL option lists its schemes from ABI 1.2; before, only
 * an ENUM had allowed values, and whatever an older plugin left there is
 * not read. */
static void url_schemes_from_minor_2(void)
{
    static const char *const schemes[] = {"Not a scheme", NULL};
    static const sluice_option options[] = {
        {SLUICE_OPTION_STRING, "url", NULL, SLUICE_OPTION_URL, 0, "A URL.", 0,
         0, schemes},
        {0},
    };
    sluice_retention_info info = {.size = sizeof info,
                                  .name = "schemes",
                                  .description = "",
                                  SLUICE_OPTION_TABLE(options),
                                  .config_size = sizeof(const char *),
                                  .open = open_nothing,
                                  .close = close_nothing,
                                  .plan = plan_nothing};
    struct plugin *p = NULL;
    struct error err;
    CHECK(plugin_from_info(PLUGIN_RETENTION, &info, sizeof info, 1, &p,
                           &err) == 0);
    CHECK(p && p->options[0].allowed == NULL);
    plugin_free(p);
    p = NULL;
    CHECK(plugin_from_info(PLUGIN_RETENTION, &info, sizeof info, 2, &p, &err) <
          0);
    CHECK_CONTAINS(err.message, "'Not a scheme' is not a URL scheme");
    plugin_free(p);
}

static char *make_dir(const char *base, const char *name)
{
    char *dir = xasprintf("%s/%s", base, name);
    mkdir(dir, 0700);
    return dir;
}

static void link_fixture(const char *dir, const char *name)
{
    char *from = fixture(name);
    char *to = xasprintf("%s/%s.so", dir, name);
    CHECK(symlink(from, to) == 0);
    free(from);
    free(to);
}

static void scan_shadows_and_refuses(void)
{
    char base[] = "/tmp/sluice-loader-XXXXXX";
    CHECK(mkdtemp(base) != NULL);
    char *first = make_dir(base, "first"), *second = make_dir(base, "second");
    link_fixture(first, "dup_a");
    link_fixture(first, "bad_magic");
    link_fixture(first, "huge_config");
    link_fixture(second, "dup_b"); /* shadowed by first/dup_a */
    link_fixture(second, "good_sink");
    const char *dirs[] = {first, second, "/nonexistent/sluice"};
    struct registry reg;
    registry_init(&reg);
    registry_scan(&reg, dirs, 3);
    CHECK(reg.count == 2);
    struct plugin *dup = registry_find(&reg, "dup");
    CHECK(dup && strstr(dup->module->path, "first/dup_a.so"));
    CHECK(registry_find(&reg, "good_sink") != NULL);
    CHECK(reg.shadowed_count == 1);
    if (reg.shadowed_count)
        CHECK_CONTAINS(reg.shadowed[0].path, "second/dup_b.so");
    CHECK(reg.refused_count == 2);
    if (reg.refused_count == 2) {
        CHECK_CONTAINS(reg.refused[0].reason, "bad magic");
        CHECK_CONTAINS(reg.refused[1].reason, "first/huge_config.so: sink "
                                              "'huge_config': config_size");
    }
    registry_free(&reg);

    /* two files of one directory: the later one is refused */
    char *same = make_dir(base, "same");
    link_fixture(same, "dup_a");
    link_fixture(same, "dup_b");
    const char *one[] = {same};
    registry_init(&reg);
    registry_scan(&reg, one, 1);
    CHECK(reg.count == 1);
    CHECK(reg.refused_count == 1);
    if (reg.refused_count) {
        CHECK_CONTAINS(reg.refused[0].reason, "same/dup_b.so: sink 'dup' is "
                                              "also provided by");
        CHECK_CONTAINS(reg.refused[0].reason, "same/dup_a.so");
    }
    registry_free(&reg);
    char *cmd = xasprintf("rm -rf %s", base);
    CHECK(system(cmd) == 0);
    free(cmd);
    free(first);
    free(second);
    free(same);
}

static void search_path_order(void)
{
    setenv("SLUICE_PLUGIN_PATH", "/env/a::/env/b", 1);
    const char *config_dirs[] = {"/config/x"};
    size_t n;
    char **dirs = plugin_search_path(config_dirs, 1, &n);
    CHECK(n == 4);
    if (n == 4) {
        CHECK_STR(dirs[0], "/config/x");
        CHECK_STR(dirs[1], "/env/a");
        CHECK_STR(dirs[2], "/env/b");
        CHECK_STR(dirs[3], plugin_install_dir());
    }
    for (size_t i = 0; i < n; i++)
        free(dirs[i]);
    free(dirs);
    unsetenv("SLUICE_PLUGIN_PATH");
}

/* The option table's length (ABI 1.2) bounds what the loader reads: a
 * terminator within it ends the table; none is a refusal, not a read past
 * the array; 0 (not said, an older plugin) reads up to the terminator. */
struct url_config {
    const char *url;
};

static void option_table_length(void)
{
    static const sluice_option options[] = {
        {SLUICE_OPTION_FIELD(STRING, struct url_config, url), .name = "url",
         .description = "A URL."},
        {0},
    };
    sluice_retention_info info = {.size = sizeof info,
                                  .name = "counted",
                                  .description = "",
                                  SLUICE_OPTION_TABLE(options),
                                  .config_size = sizeof(struct url_config),
                                  .open = open_nothing,
                                  .close = close_nothing,
                                  .plan = plan_nothing};
    CHECK(info.option_count == 2);
    struct plugin *p = NULL;
    struct error err;
    CHECK(plugin_from_info(PLUGIN_RETENTION, &info, sizeof info, 2, &p,
                           &err) == 0);
    CHECK(p && p->option_count == 1);
    plugin_free(p);
    info.option_count = 1; /* the {0} is outside what it says */
    CHECK(plugin_from_info(PLUGIN_RETENTION, &info, sizeof info, 2, &p, &err) <
          0);
    CHECK_CONTAINS(err.message, "retention 'counted': option table has no "
                                "end: none of its 1 entries is the {0}");
    plugin_free(p);
    /* an info of ABI 1.1 ends before option_count: not read */
    CHECK(plugin_from_info(PLUGIN_RETENTION, &info,
                           offsetof(sluice_retention_info, option_count), 1,
                           &p, &err) == 0);
    CHECK(p && p->option_count == 1);
    plugin_free(p);
}

/* A plugin's message, as the core shows it after naming the plugin. */
static void plugin_messages(void)
{
    CHECK_STR(plugin_message("my_sink", "my_sink: cannot write"),
              "cannot write");
    CHECK_STR(plugin_message("my_sink", "my_sink:cannot write"),
              "cannot write");
    CHECK_STR(plugin_message("my_sink", "cannot write"), "cannot write");
    CHECK_STR(plugin_message("my_sink", "my_sinker: x"), "my_sinker: x");
    CHECK_STR(plugin_message("my_sink", "my_sink: "), "my_sink: ");
    CHECK_STR(plugin_message("my_sink", ""), "(the plugin gave no message)");
    CHECK_STR(plugin_message(NULL, "x: y"), "x: y");
}

int main(void)
{
    RUN(not_a_shared_object);
    RUN(missing_file);
    RUN(no_descriptor);
    RUN(bad_magic);
    RUN(other_major);
    RUN(newer_minor);
    RUN(missing_capability_callback);
    RUN(missing_required_callback);
    RUN(init_fails);
    RUN(bad_option_table);
    RUN(huge_config_size);
    RUN(registers_nothing);
    RUN(twice_in_one_module);
    RUN(unknown_capability);
    RUN(two_files_one_name);
    RUN(accepts_good_plugin);
    RUN(accepts_older_minor_reading_only_its_size);
    RUN(url_schemes_from_minor_2);
    RUN(scan_shadows_and_refuses);
    RUN(search_path_order);
    RUN(option_table_length);
    RUN(plugin_messages);
    return TEST_RESULT();
}
