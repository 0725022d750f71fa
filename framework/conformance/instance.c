/* instance.c: plugin instances as the kit opens them, callbacks called as
 * the core calls them (a caller-owned error buffer, RETRY answered by
 * calling again after a pause), and the shell commands of the --config
 * file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "../plugin/host.h"
#include "../util/clock.h"
#include "kit.h"

int kit_instance_open(const struct live *l, struct kit_instance *in,
                  struct error *err)
{
    memset(in, 0, sizeof *in);
    in->plugin = l->plugin;
    in->ctx = context_new(l->plugin->name, "conformance");
    struct call_error ce;
    sluice_status st;
    KIT_CALL(st, &ce, "open",
             l->plugin->open(in->ctx, l->config, &in->handle,
                             call_error(&ce)));
    if (st == SLUICE_OK)
        return 0;
    char why[1200];
    error_set(err, "open %s", status_text(st, &ce, why, sizeof why));
    context_free(in->ctx);
    memset(in, 0, sizeof *in);
    return -1;
}

void kit_instance_close(struct kit_instance *in)
{
    if (!in->ctx)
        return;
    kit_calling("close");
    in->plugin->close(in->handle);
    kit_calling(NULL);
    context_free(in->ctx);
    memset(in, 0, sizeof *in);
}

sluice_error *call_error(struct call_error *ce)
{
    ce->message[0] = '\0';
    ce->e = (sluice_error){ce->message, sizeof ce->message};
    return &ce->e;
}

void kit_backoff(int attempt)
{
    sleep_ms(100L << (attempt < 4 ? attempt : 4));
}

const char *status_text(sluice_status st, struct call_error *ce, char *out,
                        size_t size)
{
    static const char *const names[] = {"OK", "DONE", "RETRY", "FATAL"};
    const char *name = (unsigned)st < 4 ? names[st] : "an unknown status";
    const char *message = ce->message[0] ? ce->message
                                         : "(the plugin gave no message)";
    if (st == SLUICE_RETRY)
        snprintf(out, size, "returned RETRY %d times: %s", KIT_RETRIES + 1,
                 message);
    else
        snprintf(out, size, "returned %s: %s", name, message);
    return out;
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
