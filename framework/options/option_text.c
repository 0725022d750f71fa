/* option_text.c: an option's text from its lines, the environment or a
 * file (see option_text.h). Never puts a value into a message: the value
 * may be a secret. */
#include "option_text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/mem.h"

#define FILE_SUFFIX "_file"

static bool name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Adds `name` to the ", "-separated `names` unless it is there. */
static void note_name(struct buf *names, const char *name, size_t len)
{
    for (const char *p = names->data; p && *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && strncmp(p, name, len) == 0)
            return;
        p += n;
        p += strspn(p, ", ");
    }
    buf_printf(names, "%s%.*s", names->len ? ", " : "", (int)len, name);
}

/* `text` with ${NAME} and $$ replaced; the names used go into `names`. */
static int expand(const char *text, struct buf *out, struct buf *names,
                  struct error *err)
{
    for (const char *p = text; *p; p++) {
        if (p[0] != '$' || (p[1] != '$' && p[1] != '{')) {
            buf_append(out, p, 1);
            continue;
        }
        if (p[1] == '$') {
            buf_append(out, "$", 1);
            p++;
            continue;
        }
        const char *name = p + 2;
        size_t len = 0;
        if (name_start(name[0]))
            while (name_char(name[len]))
                len++;
        if (!len || name[len] != '}')
            return error_set(err,
                             "'${' at character %td does not begin a "
                             "variable: write ${NAME} (letters, digits and "
                             "'_'), or $${ for a '${' of its own",
                             p - text + 1);
        char *key = xstrndup(name, len);
        const char *value = getenv(key);
        if (!value)
            error_set(err,
                      "environment variable %s is not set (the value names "
                      "${%s}; write $$ for a '$' of its own)",
                      key, key);
        else
            buf_puts(out, value);
        free(key);
        if (!value)
            return -1;
        note_name(names, name, len);
        p = name + len;
    }
    return 0;
}

char *option_path_near(const char *config_path, const char *path)
{
    if (path[0] == '/' || !config_path || !config_path[0])
        return xstrdup(path);
    const char *slash = strrchr(config_path, '/');
    char *dir = slash
                    ? xstrndup(config_path, (size_t)(slash - config_path + 1))
                    : xstrdup(".");
    char *real = realpath(dir, NULL);
    free(dir);
    if (!real)
        return NULL;
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    size_t n = strlen(real);
    char *full =
        xasprintf("%s%s%s", real, n && real[n - 1] == '/' ? "" : "/", path);
    free(real);
    return full;
}

/* The content of the regular file `path`, one trailing line break
 * removed. */
static int read_value_file(const char *path, char **out, struct error *err)
{
    /* O_NONBLOCK: a FIFO is refused below instead of waited on */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return error_set(err, "cannot read %s: %s", path, strerror(errno));
    struct stat st;
    const char *why = fstat(fd, &st) != 0    ? strerror(errno)
                      : S_ISDIR(st.st_mode)  ? "it is a directory"
                      : !S_ISREG(st.st_mode) ? "not a regular file"
                                             : NULL;
    if (why) {
        close(fd);
        return error_set(err, "cannot read %s: %s", path, why);
    }
    struct buf content = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0 &&
           content.len <= OPTION_FILE_MAX)
        buf_append(&content, chunk, (size_t)n);
    int read_errno = errno;
    close(fd);
    if (n < 0) {
        buf_free(&content);
        return error_set(err, "cannot read %s: %s", path,
                         strerror(read_errno));
    }
    if (content.len > OPTION_FILE_MAX) {
        buf_free(&content);
        return error_set(err,
                         "%s is larger than %d KiB; the file holds the "
                         "value alone",
                         path, OPTION_FILE_MAX / 1024);
    }
    if (content.len && memchr(content.data, '\0', content.len)) {
        buf_free(&content);
        return error_set(err,
                         "%s holds a NUL byte; the file holds the value "
                         "alone, as text",
                         path);
    }
    size_t len = content.len;
    if (len && content.data[len - 1] == '\n')
        len--;
    if (len && content.data[len - 1] == '\r')
        len--;
    *out = xstrndup(content.len ? content.data : "", len);
    buf_free(&content);
    return 0;
}

/* Whether `o` can be given as NAME_file (option_text_entry). */
static bool has_file_form(const sluice_option *opts, size_t count,
                          const sluice_option *o)
{
    if (!(o->flags & (SLUICE_OPTION_SECRET | SLUICE_OPTION_URL)))
        return false;
    size_t n = strlen(o->name);
    for (size_t i = 0; i < count; i++)
        if (strncmp(opts[i].name, o->name, n) == 0 &&
            strcmp(opts[i].name + n, FILE_SUFFIX) == 0)
            return false;
    return true;
}

/* The NAME_file line of `o`, where it can have one. */
static struct ini_entry *file_entry(const sluice_option *opts, size_t count,
                                    const sluice_option *o,
                                    const struct ini_section *section)
{
    if (!section || !has_file_form(opts, count, o))
        return NULL;
    char *key = xasprintf("%s" FILE_SUFFIX, o->name);
    struct ini_entry *f = ini_section_entry(section, key);
    free(key);
    return f;
}

struct ini_entry *option_text_entry(const sluice_option *opts, size_t count,
                                    const sluice_option *o,
                                    const struct ini_section *section)
{
    struct ini_entry *e = section ? ini_section_entry(section, o->name) : NULL;
    return e ? e : file_entry(opts, count, o, section);
}

static void set_origin(struct ini_entry *e, char *origin)
{
    free(e->origin);
    e->origin = origin;
}

/* The written text of `e` for option `o`: lines joined, names replaced. */
static int expand_entry(const sluice_option *o, struct ini_entry *e,
                        char **out, struct error *err)
{
    struct buf joined = {0}, text = {0}, names = {0};
    for (const char *p = e->value; *p; p++)
        if (*p != '\n' || o->type == SLUICE_OPTION_LIST)
            buf_append(&joined, p, 1);
    int rc = expand(joined.len ? joined.data : "", &text, &names, err);
    if (rc == 0) {
        *out = xstrdup(text.len ? text.data : "");
        set_origin(e,
                   names.len ? xasprintf("environment %s", names.data) : NULL);
    }
    buf_free(&joined);
    buf_free(&text);
    buf_free(&names);
    return rc;
}

int option_text_read(const sluice_option *opts, size_t count,
                     const sluice_option *o, struct ini_section *section,
                     const char *path, struct option_text *out,
                     struct error *err)
{
    memset(out, 0, sizeof *out);
    struct ini_entry *e = section ? ini_section_entry(section, o->name) : NULL;
    struct ini_entry *f = file_entry(opts, count, o, section);
    if (e)
        e->used = true;
    if (f)
        f->used = true;
    out->entry = f ? f : e;
    if (e && f)
        return error_set(err,
                         "%s is set too, on line %d; give the value or the "
                         "file, not both",
                         o->name, e->line);
    if (e)
        return expand_entry(o, e, &out->text, err);
    if (!f)
        return 0;
    /* the path, from its own line */
    static const sluice_option path_option = {.type = SLUICE_OPTION_STRING};
    char *written;
    if (expand_entry(&path_option, f, &written, err) < 0)
        return -1;
    if (!written[0]) {
        free(written);
        return error_set(err,
                         "no file named; give the path of the file that "
                         "holds %s",
                         o->name);
    }
    char *full = option_path_near(path, written);
    free(written);
    if (!full)
        return error_set(err,
                         "cannot resolve the directory of %s, that a "
                         "relative path is relative to",
                         path);
    int rc = read_value_file(full, &out->text, err);
    set_origin(f, rc == 0 ? xasprintf("file %s", full) : NULL);
    free(full);
    return rc;
}
