/* errors.c: errors as MongoDB reports them (a code, its name and a
 * message), carried as values from where they arise to the reply. */
#include <stdarg.h>
#include <stdio.h>

#include "server.h"

void mongo_error_set(struct mongo_error *e, int code, const char *name,
                     const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    snprintf(e->name, sizeof e->name, "%s", name);
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

void reply_mongo_error(bson_t *reply, const struct mongo_error *e)
{
    reply_error(reply, e->code, e->name, "%s", e->msg);
}
