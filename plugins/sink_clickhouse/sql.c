/* sql.c: SQL text: names quoted and strings as literals, so that any
 * database, table or column name goes into a statement as itself. */
#include <string.h>

#include "clickhouse.h"

bool ch_quote(struct ch_buf *out, const char *name, size_t len)
{
    bool ok = CH_LIT(out, "`");
    for (size_t i = 0; ok && i < len; i++) {
        if (name[i] == '`' || name[i] == '\\')
            ok = CH_LIT(out, "\\");
        ok = ok && ch_buf_append(out, &name[i], 1);
    }
    return ok && CH_LIT(out, "`");
}

bool ch_name(struct ch_buf *out, const char *name)
{
    return ch_quote(out, name, strlen(name));
}

bool ch_literal(struct ch_buf *out, const char *text)
{
    bool ok = CH_LIT(out, "'");
    for (const char *p = text; ok && *p; p++) {
        if (*p == '\'' || *p == '\\')
            ok = CH_LIT(out, "\\");
        ok = ok && ch_buf_append(out, p, 1);
    }
    return ok && CH_LIT(out, "'");
}
