/* instances.c: plugin instances of one worker process, shared between
 * pipes where the plugin and its options are the same (see instances.h). */
#include "instances.h"

#include <stdlib.h>
#include <string.h>

#include "../options/options.h"
#include "../util/buf.h"
#include "../util/mem.h"

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct instance **pool; /* every open one; shared: key != NULL */
static size_t pool_count, pool_cap;

/* The plugin's name and every option's value, one per line. Texts as
 * they are, not as option_format_value shows them: masked, two passwords
 * (or two URLs that differ in theirs) would look the same. */
static char *key_of(const struct plugin_config *pc)
{
    struct buf b = {0};
    buf_printf(&b, "%s\n", pc->plugin->name);
    for (size_t i = 0; i < pc->plugin->option_count; i++) {
        const sluice_option *o = &pc->plugin->options[i];
        const void *f = (const char *)pc->data + o->offset;
        buf_printf(&b, "%s=", o->name);
        if (o->type == SLUICE_OPTION_STRING) {
            const char *v = *(const char *const *)f;
            buf_printf(&b, "%c%s", v ? '=' : '-', v ? v : "");
        } else if (o->type == SLUICE_OPTION_LIST) {
            const sluice_string_list *l = f;
            for (size_t j = 0; j < l->count; j++)
                buf_printf(&b, "%zu:%s;", strlen(l->items[j]), l->items[j]);
        } else {
            option_format_value(o, pc->data, &b);
        }
        buf_puts(&b, "\n");
    }
    return buf_take(&b);
}

sluice_status instance_open(const struct plugin_config *pc, const char *pipe,
                            bool shared, struct instance **out,
                            struct call_error *e)
{
    char *key = shared ? key_of(pc) : NULL;
    pthread_mutex_lock(&pool_lock);
    for (size_t i = 0; key && i < pool_count; i++)
        if (pool[i]->key && !strcmp(pool[i]->key, key)) {
            pool[i]->refs++;
            *out = pool[i];
            pthread_mutex_unlock(&pool_lock);
            free(key);
            return SLUICE_OK;
        }
    struct instance *in = xcalloc(1, sizeof *in);
    in->key = key;
    in->refs = 1;
    /* opened under the pool's lock: a second pipe with the same options
     * waits for this one rather than opening its own */
    sluice_status st = plugin_open(pc->plugin, pc->data, pipe, &in->plugin, e);
    if (st != SLUICE_OK) {
        pthread_mutex_unlock(&pool_lock);
        free(in->key);
        free(in);
        *out = NULL;
        return st;
    }
    XGROW(pool, pool_cap, pool_count + 1);
    pool[pool_count++] = in;
    pthread_mutex_unlock(&pool_lock);
    *out = in;
    return SLUICE_OK;
}

void instance_close(struct instance *in)
{
    if (!in)
        return;
    pthread_mutex_lock(&pool_lock);
    bool last = --in->refs == 0;
    if (last) {
        for (size_t i = 0; i < pool_count; i++)
            if (pool[i] == in) {
                pool[i] = pool[--pool_count];
                break;
            }
        if (!pool_count) {
            free(pool);
            pool = NULL;
            pool_cap = 0;
        }
    }
    pthread_mutex_unlock(&pool_lock);
    if (!last)
        return;
    plugin_close(&in->plugin);
    free(in->key);
    free(in);
}
