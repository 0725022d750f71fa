/* instance.c: plugin instances as the kit opens them, its retry policy
 * (RETRY answered by calling again after a pause), how a call's failure
 * reads in the report, and the shell commands of the kit file (--kit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "../plugin/host.h"
#include "../plugin/values.h"
#include "../util/clock.h"
#include "kit.h"

int kit_instance_open(const struct live *l, struct plugin_instance *in,
                      struct error *err)
{
    struct call_error e;
    sluice_status st;
    for (int try = 0;; try++)
        if (!kit_again(st = plugin_open(l->plugin, l->config, "conformance",
                                        in, &e),
                       try))
            break;
    if (st == SLUICE_OK)
        return 0;
    char why[1200];
    return error_set(err, "open %s", status_text(st, &e, why, sizeof why));
}

bool kit_again(sluice_status st, int attempt)
{
    if (st != SLUICE_RETRY || attempt >= KIT_RETRIES)
        return false;
    sleep_ms(100L << (attempt < 4 ? attempt : 4));
    return true;
}

const char *status_text(sluice_status st, const struct call_error *e,
                        char *out, size_t size)
{
    char name[32];
    const char *words = e->message + e->words_at;
    if (e->broken)
        snprintf(out, size, "%s", words);
    else if (st == SLUICE_RETRY)
        snprintf(out, size, "returned RETRY %d times: %s", KIT_RETRIES + 1,
                 words);
    else
        snprintf(out, size, "returned %s: %s",
                 status_name(st, name, sizeof name), words);
    return out;
}

int source_begin(struct plugin_instance *in, struct buf *out,
                 struct error *err)
{
    struct sluice_values v = {0};
    struct call_error ce;
    sluice_status st;
    char text[1200];
    for (int try = 0;; try++)
        if (!kit_again(st = source_snapshot_begin(in, &v, &ce), try))
            break;
    int rc = 0;
    if (st != SLUICE_OK)
        rc = error_set(err, "snapshot_begin %s",
                       status_text(st, &ce, text, sizeof text));
    else if (v.count != 1)
        rc = error_set(err, "snapshot_begin added %zu positions, not one",
                       v.count);
    else
        buf_append(out, v.items[0], v.lens[0]);
    values_free(&v);
    return rc;
}

int kit_run_command(const char *command, struct buf *out, struct error *err)
{
    fflush(NULL);
    FILE *p = popen(command, "r");
    if (!p)
        return error_set(err, "cannot run '%s'", command);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) {
        if (out)
            buf_append(out, chunk, n);
        else
            fwrite(chunk, 1, n, stderr);
    }
    int status = pclose(p);
    if (status == -1)
        return error_set(err, "'%s': cannot wait for it", command);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return error_set(err, "'%s' exited with status %d", command,
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 0;
}
