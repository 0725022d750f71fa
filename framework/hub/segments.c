/* segments.c: publication events' bytes in append-only files beside an
 * SQLite store (see segments.h). The state of one connection (the
 * segment it appends to, the one it read last) is attached to its store
 * handle and closed with it. */
#include "segments.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "../util/clock.h"
#include "../util/crash.h"
#include "../util/mem.h"

#define LOCK_FILE ".lock"
#define SUFFIX ".seg"
/* Direct I/O moves whole blocks between memory and disk: each event's
 * bytes start at a multiple of ALIGN and are padded with zeros to one,
 * and go through an aligned buffer of BOUNCE_BYTES. */
#define ALIGN 4096
#define BOUNCE_BYTES ((size_t)4 << 20)

/* A segment file open for appending or reading. */
struct open_segment {
    int fd; /* -1: none */
    char name[SEGMENT_NAME_MAX];
    int64_t size; /* appending: where the next bytes go */
    int64_t opened_ms;
    bool direct; /* O_DIRECT: the file system took it */
};

/* One connection's segments (attached to its store). */
struct segments {
    char *dir;
    struct open_segment append, read;
    char *bounce; /* BOUNCE_BYTES, aligned; made at the first append */
};

static size_t aligned(size_t n)
{
    return (n + ALIGN - 1) / ALIGN * ALIGN;
}

/* Direct I/O where the file system has it (not tmpfs, say): the bytes
 * go between sluice's memory and the disk without a copy into the page
 * cache, which cost more CPU than anything else in a snapshot. */
static bool go_direct(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_DIRECT) == 0;
}

static void segment_close(struct open_segment *o)
{
    if (o->fd >= 0)
        close(o->fd); /* releases the flock */
    o->fd = -1;
    o->name[0] = '\0';
}

static void segments_free(void *arg)
{
    struct segments *g = arg;
    segment_close(&g->append);
    segment_close(&g->read);
    free(g->bounce);
    free(g->dir);
    free(g);
}

bool segments_used(const struct store *s)
{
    return store_sqlite_path(s) != NULL;
}

static char *dir_of(const struct store *s)
{
    return xasprintf("%s-segments", store_sqlite_path(s));
}

static struct segments *of(struct store *s)
{
    struct segments *g = store_attached(s);
    if (g)
        return g;
    g = xcalloc(1, sizeof *g);
    g->dir = dir_of(s);
    g->append.fd = g->read.fd = -1;
    store_attach(s, g, segments_free);
    return g;
}

static int sync_dir(const char *dir, struct error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return error_transient(err, "hub segments %s: cannot sync: %s", dir,
                               strerror(e));
    }
    close(fd);
    return 0;
}

static int make_dir(const char *dir, struct error *err)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    return error_transient(err, "hub segments %s: cannot create: %s", dir,
                           strerror(errno));
}

/* A new segment, held (flocked) by this connection. The sweep may
 * delete a file between its creation and the flock: then the path names
 * another file (or none), and the next name is tried. */
static int segment_begin(struct segments *g, struct error *err)
{
    static unsigned count;
    if (make_dir(g->dir, err) < 0)
        return -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        char name[SEGMENT_NAME_MAX];
        snprintf(name, sizeof name, "%04d%02d%02dT%02d%02d%02d-%ld-%u",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (long)getpid(),
                 __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED));
        char *path = xasprintf("%s/%s" SUFFIX, g->dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST) {
            free(path);
            continue;
        }
        if (fd < 0) {
            error_transient(err, "hub segment %s: cannot create: %s", path,
                            strerror(errno));
            free(path);
            return -1;
        }
        crash_point("segment.created");
        struct stat at_path, opened;
        bool kept = flock(fd, LOCK_EX) == 0 && fstat(fd, &opened) == 0 &&
                    stat(path, &at_path) == 0 &&
                    at_path.st_ino == opened.st_ino &&
                    at_path.st_dev == opened.st_dev;
        free(path);
        if (!kept) {
            close(fd);
            continue;
        }
        if (sync_dir(g->dir, err) < 0) {
            close(fd);
            return -1;
        }
        g->append = (struct open_segment){fd, "", 0, clock_monotonic_ms(),
                                          go_direct(fd)};
        memcpy(g->append.name, name, sizeof name);
        return 0;
    }
    return error_transient(err,
                           "hub segments %s: no new segment could be "
                           "made",
                           g->dir);
}

/* A segment given up (full, old, or failed) is closed, and so unheld,
 * only once the transaction of the events written there is over:
 * until then the sweep must not take it for one no event refers to. */
static void close_after(void *arg, bool committed)
{
    (void)committed;
    int *fd = arg;
    close(*fd);
    free(fd);
}

static void segment_give_up(struct store *s, struct open_segment *o)
{
    if (o->fd < 0)
        return;
    int *fd = xmalloc(sizeof *fd);
    *fd = o->fd;
    o->fd = -1;
    o->name[0] = '\0';
    store_after(s, close_after, fd);
}

static int write_all(int fd, const char *p, size_t len, int64_t at);

/* Writes `len` bytes at `at` (a multiple of ALIGN), the last block
 * padded with zeros: the whole blocks straight from `p` when it is
 * aligned (a batch's frames are, plugin/batch.h), else through the
 * bounce buffer. */
static int write_blocks(struct segments *g, const char *p, size_t len,
                        int64_t at)
{
    if ((uintptr_t)p % ALIGN == 0 && len >= ALIGN) {
        size_t whole = len / ALIGN * ALIGN;
        int e = write_all(g->append.fd, p, whole, at);
        if (e)
            return e;
        p += whole;
        len -= whole;
        at += (int64_t)whole;
    }
    while (len) {
        size_t n = len < BOUNCE_BYTES ? len : BOUNCE_BYTES;
        size_t whole = aligned(n);
        memcpy(g->bounce, p, n);
        memset(g->bounce + n, 0, whole - n);
        int e = write_all(g->append.fd, g->bounce, whole, at);
        if (e)
            return e;
        p += n;
        len -= n;
        at += (int64_t)whole;
    }
    return 0;
}

static int write_all(int fd, const char *p, size_t len, int64_t at)
{
    while (len) {
        ssize_t n = pwrite(fd, p, len, at);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? errno : ENOSPC;
        p += n;
        len -= (size_t)n;
        at += n;
    }
    return 0;
}

int segments_append(struct store *s, const void *data, size_t len,
                    struct segment_ref *ref, struct error *err)
{
    struct segments *g = of(s);
    struct open_segment *o = &g->append;
    if (o->fd >= 0 &&
        ((o->size > 0 &&
          o->size + (int64_t)aligned(len) > SEGMENT_BYTES_MAX) ||
         clock_monotonic_ms() - o->opened_ms > SEGMENT_AGE_MAX_MS))
        segment_give_up(s, o);
    if (o->fd < 0 && segment_begin(g, err) < 0)
        return -1;
    if (!g->bounce)
        g->bounce = xaligned(ALIGN, BOUNCE_BYTES);
    int e = write_blocks(g, data, len, o->size);
    if (e) { /* nothing torn is left behind */
        if (ftruncate(o->fd, o->size) < 0)
            segment_give_up(s, o);
        return error_transient(err,
                               "hub segment %s/%s" SUFFIX
                               ": cannot write %zu bytes: %s",
                               g->dir, o->name, len, strerror(e));
    }
    crash_point("segment.written");
    if (fdatasync(o->fd) < 0) {
        /* after a failed sync the kernel may have dropped the pages: the
         * segment is not trusted with more */
        e = errno;
        char name[SEGMENT_NAME_MAX];
        memcpy(name, o->name, sizeof name);
        segment_give_up(s, o);
        return error_transient(err,
                               "hub segment %s/%s" SUFFIX ": cannot sync: %s",
                               g->dir, name, strerror(e));
    }
    crash_point("segment.synced");
    memcpy(ref->name, o->name, sizeof ref->name);
    ref->offset = o->size;
    ref->length = (int64_t)len;
    ref->checksum = XXH3_64bits(data, len);
    o->size += (int64_t)aligned(len);
    return 0;
}

static int open_for_read(struct segments *g, const char *name,
                         struct error *err)
{
    struct open_segment *o = &g->read;
    if (o->fd >= 0 && strcmp(o->name, name) == 0)
        return 0;
    segment_close(o);
    char *path = xasprintf("%s/%s" SUFFIX, g->dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int e = errno;
    free(path);
    if (fd < 0)
        return error_set(err, "hub segment %s/%s" SUFFIX ": %s", g->dir, name,
                         e == ENOENT ? "missing" : strerror(e));
    o->fd = fd;
    o->direct = go_direct(fd);
    snprintf(o->name, sizeof o->name, "%s", name);
    return 0;
}

/* The bytes `ref` names, and its padding, into `p` (aligned). A read
 * shorter than asked for is the end of the file (reads go on from a
 * block's start only). */
static int read_blocks(struct segments *g, const struct segment_ref *ref,
                       char *p, struct error *err)
{
    size_t want = (size_t)ref->length, whole = aligned(want), got = 0;
    while (got < want) {
        ssize_t n =
            pread(g->read.fd, p + got, whole - got, ref->offset + (off_t)got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error_set(err, "hub segment %s/%s" SUFFIX ": %s", g->dir,
                             ref->name, strerror(errno));
        got += (size_t)n;
        if (got < want && (n == 0 || (size_t)n % ALIGN))
            return error_set(err,
                             "hub segment %s/%s" SUFFIX
                             ": torn: it ends before byte %lld (%lld "
                             "bytes at %lld expected)",
                             g->dir, ref->name,
                             (long long)(ref->offset + (int64_t)want),
                             (long long)ref->length, (long long)ref->offset);
    }
    return 0;
}

int segments_read(struct store *s, const struct segment_ref *ref,
                  struct buf *out, struct error *err)
{
    struct segments *g = of(s);
    if (open_for_read(g, ref->name, err) < 0)
        return -1;
    if (ref->offset < 0 || ref->offset % ALIGN || ref->length < 0)
        return error_set(err,
                         "hub segment %s/%s" SUFFIX
                         ": an event's bytes cannot start at %lld",
                         g->dir, ref->name, (long long)ref->offset);
    /* read straight into the memory the batch keeps */
    size_t want = (size_t)ref->length;
    char *p = xaligned(ALIGN, aligned(want) + ALIGN);
    if (read_blocks(g, ref, p, err) < 0) {
        free(p);
        return -1;
    }
    uint64_t sum = XXH3_64bits(p, want);
    if (sum != ref->checksum) {
        free(p);
        return error_set(err,
                         "hub segment %s/%s" SUFFIX
                         ": the %lld bytes at %lld are not those written "
                         "(checksum %016llx, not %016llx)",
                         g->dir, ref->name, (long long)ref->length,
                         (long long)ref->offset, (unsigned long long)sum,
                         (unsigned long long)ref->checksum);
    }
    p[want] = '\0';
    buf_free(out);
    *out = (struct buf){p, want, aligned(want) + ALIGN};
    return 0;
}

/* The segment names in the directory (without the suffix). */
static int list_names(const char *dir, char ***names, size_t *count,
                      struct error *err)
{
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        return error_set(err, "hub segments %s: cannot list: %s", dir,
                         strerror(errno));
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len <= strlen(SUFFIX) ||
            len - strlen(SUFFIX) >= SEGMENT_NAME_MAX ||
            strcmp(e->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
            continue;
        XGROW(*names, cap, *count + 1);
        (*names)[(*count)++] = xstrndup(e->d_name, len - strlen(SUFFIX));
    }
    closedir(d);
    return 0;
}

static void names_release(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

static int referenced(struct store *s, const char *name, bool *yes,
                      struct error *err)
{
    struct db_value p = DBV_TEXT(name);
    struct db_result r;
    if (store_exec(s, "SELECT 1 FROM publications WHERE segment = $1 LIMIT 1",
                   &p, 1, &r, err) < 0)
        return -1;
    *yes = r.rows > 0;
    db_result_free(&r);
    return 0;
}

/* The lock a backup holds shared and the sweep exclusive; -1 on error. */
static int lock_dir(const char *dir, int how, bool *got, struct error *err)
{
    if (make_dir(dir, err) < 0)
        return -1;
    char *path = xasprintf("%s/" LOCK_FILE, dir);
    int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    int e = errno;
    free(path);
    if (fd < 0)
        return error_set(err, "hub segments %s: cannot open its lock: %s", dir,
                         strerror(e));
    *got = flock(fd, how) == 0;
    if (!*got && errno != EWOULDBLOCK) {
        e = errno;
        close(fd);
        return error_set(err, "hub segments %s: cannot lock: %s", dir,
                         strerror(e));
    }
    return fd;
}

int segments_sweep(struct store *s, int64_t *files, int64_t *bytes, bool *busy,
                   struct error *err)
{
    *files = *bytes = 0;
    *busy = false;
    if (!segments_used(s))
        return 0;
    char *dir = dir_of(s);
    char **names;
    size_t count;
    bool got;
    int lock = -1, rc = list_names(dir, &names, &count, err);
    if (rc == 0 && count)
        rc = lock = lock_dir(dir, LOCK_EX | LOCK_NB, &got, err);
    if (lock >= 0 && !got)
        *busy = true;
    for (size_t i = 0; rc >= 0 && lock >= 0 && got && i < count; i++) {
        char *path = xasprintf("%s/%s" SUFFIX, dir, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        bool in_use = true;
        /* held: a connection appends to it, or its last events are not
         * yet committed; else the store says whether events remain */
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
            fstat(fd, &st) == 0 &&
            (rc = referenced(s, names[i], &in_use, err)) == 0 && !in_use) {
            crash_point("segment.unreferenced");
            if (unlink(path) == 0) {
                (*files)++;
                *bytes += st.st_size;
            }
        }
        if (fd >= 0)
            close(fd);
        free(path);
    }
    if (lock >= 0)
        close(lock);
    names_release(names, count);
    free(dir);
    return rc < 0 ? -1 : 0;
}

int segments_list(struct store *s, struct segment_file **out, size_t *count,
                  struct error *err)
{
    *out = NULL;
    *count = 0;
    if (!segments_used(s))
        return 0;
    char *dir = dir_of(s);
    char **names;
    size_t n;
    if (list_names(dir, &names, &n, err) < 0) {
        free(dir);
        return -1;
    }
    *out = n ? xcalloc(n, sizeof **out) : NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        struct segment_file *f = &(*out)[(*count)++];
        snprintf(f->name, sizeof f->name, "%s", names[i]);
        char *path = xasprintf("%s/%s" SUFFIX, dir, names[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0)
            f->bytes = st.st_size;
        f->held = fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) != 0;
        if (fd >= 0)
            close(fd);
        free(path);
        rc = referenced(s, names[i], &f->referenced, err);
    }
    names_release(names, n);
    free(dir);
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}

/* Copies the first `len` bytes of `from` into the new file `to`. */
static int copy_prefix(const char *from, const char *to, int64_t len,
                       struct error *err)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return error_set(err, "hub segment %s: %s", from, strerror(errno));
    int outfd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (outfd < 0) {
        int e = errno;
        close(in);
        return error_set(err, "%s: cannot create: %s", to, strerror(e));
    }
    int64_t done = 0;
    int e = 0;
    char block[1 << 16];
    while (done < len && !e) {
        size_t want = (size_t)(len - done) < sizeof block
                          ? (size_t)(len - done)
                          : sizeof block;
        ssize_t n = pread(in, block, want, done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n < 0 ? errno : EIO;
            break;
        }
        e = write_all(outfd, block, (size_t)n, done);
        done += n;
    }
    if (!e && fsync(outfd) < 0)
        e = errno;
    close(in);
    close(outfd);
    if (e)
        return error_set(err, "%s: cannot copy %s: %s", to, from,
                         e == EIO && done < len ? "it ends too soon"
                                                : strerror(e));
    return 0;
}

int segments_backup(struct store *s, const char *dest, int64_t *files,
                    int64_t *bytes, struct error *err)
{
    *files = *bytes = 0;
    char *dir = dir_of(s);
    bool got;
    /* shared: segments stay while the copy runs (the sweep waits) */
    int lock = lock_dir(dir, LOCK_SH, &got, err);
    if (lock < 0) {
        free(dir);
        return -1;
    }
    char *dest_dir = xasprintf("%s-segments", dest);
    struct store *copy = NULL;
    struct db_result r = {0};
    int rc = store_sqlite_backup(s, dest, err);
    if (rc == 0) {
        char *url = xasprintf("sqlite:%s", dest);
        rc = store_open(url, STORE_READ, &copy, err);
        free(url);
    }
    if (rc == 0)
        rc = store_exec(copy,
                        "SELECT segment, MAX(segment_offset + blob_length) "
                        "FROM publications WHERE segment IS NOT NULL GROUP "
                        "BY segment",
                        NULL, 0, &r, err);
    if (rc == 0 && r.rows && mkdir(dest_dir, 0700) < 0)
        rc =
            error_set(err, "%s: cannot create: %s", dest_dir, strerror(errno));
    for (size_t i = 0; rc == 0 && i < r.rows; i++) {
        const char *name = db_text(&r, i, 0);
        int64_t len = db_int(&r, i, 1);
        char *from = xasprintf("%s/%s" SUFFIX, dir, name);
        char *to = xasprintf("%s/%s" SUFFIX, dest_dir, name);
        rc = copy_prefix(from, to, len, err);
        if (rc == 0) {
            (*files)++;
            *bytes += len;
        }
        free(from);
        free(to);
    }
    if (rc == 0 && r.rows)
        rc = sync_dir(dest_dir, err);
    db_result_free(&r);
    store_close(copy);
    close(lock);
    free(dest_dir);
    free(dir);
    return rc;
}
