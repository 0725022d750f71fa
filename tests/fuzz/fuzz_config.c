/* fuzz_config.c: the INI config file (config_load: the INI reader, the
 * framework's option tables and the checks between sections). The bytes
 * are the file; every outcome but a crash, a leak or undefined behaviour
 * is fine, and a refusal must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/config.h"
#include "plugin/plugin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0])
        snprintf(path, sizeof path, "/tmp/fuzz_config.%d.ini", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    struct config cfg;
    struct diags diags = {0};
    struct error err = {0};
    int rc = config_load(path, &cfg, &diags, &err);
    if (rc < 0 && !err.message[0])
        abort(); /* refused without a word */
    if (rc == 0) {
        /* no plugin is known: every one named is an error, said */
        struct registry reg;
        registry_init(&reg);
        config_bind_plugins(&cfg, &reg, &diags);
        config_check_destinations(&cfg, &diags);
        config_free(&cfg);
        registry_free(&reg);
    } else {
        config_free(&cfg);
    }
    diags_free(&diags);
    unlink(path);
    return 0;
}
