/* test_names.c: the name index (util/names.h): every name of many found
 * at its position, a name not added not found, a name added twice found
 * at its first position; and a config of many pipes and topics, each
 * found by name (config_pipe, config_topic, ini_doc_section). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../test.h"
#include "config/config.h"
#include "util/mem.h"
#include "util/names.h"

static const char *name_at(const void *items, size_t at)
{
    return ((char *const *)items)[at];
}

static void many_names(void)
{
    enum { N = 5000 };
    char **names = xcalloc(N + 1, sizeof *names);
    struct name_index ix = {0};
    size_t at = 0;
    CHECK(!name_index_find(&ix, "n0", names, name_at, &at));
    for (size_t i = 0; i < N; i++) {
        names[i] = xasprintf("n%zu", i);
        name_index_add(&ix, names[i], i, names, name_at);
    }
    for (size_t i = 0; i < N; i++) {
        char key[32];
        snprintf(key, sizeof key, "n%zu", i);
        CHECK(name_index_find(&ix, key, names, name_at, &at) && at == i);
    }
    CHECK(!name_index_find(&ix, "n5000", names, name_at, &at));
    CHECK(!name_index_find(&ix, "", names, name_at, &at));
    names[N] = xstrdup("n7"); /* again, at another position */
    name_index_add(&ix, names[N], N, names, name_at);
    CHECK(name_index_find(&ix, "n7", names, name_at, &at) && at == 7);
    CHECK(ix.count == N);
    name_index_free(&ix);
    for (size_t i = 0; i <= N; i++)
        free(names[i]);
    free(names);
}

/* A file of `n` pipes, the odd ones with a declared topic "tN". */
static void config_of_many_pipes(void)
{
    enum { N = 300 };
    char path[] = "/tmp/test_names_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < N; i++) {
        fprintf(f, "[pipe p%d]\nsource = s\nsink = k\n", i);
        if (i % 2)
            fprintf(f, "topic = t%d\n[topic t%d]\n", i, i);
    }
    fclose(f);
    struct config cfg;
    struct diags diags = {0};
    struct error err;
    CHECK(config_load(path, &cfg, &diags, &err) == 0);
    CHECK(diags.count == 0);
    CHECK(cfg.pipe_count == N && cfg.topic_count == N);
    for (int i = 0; i < N; i++) {
        char name[32];
        snprintf(name, sizeof name, "p%d", i);
        const struct pipe_config *p = config_pipe(&cfg, name);
        CHECK(p && !strcmp(p->name, name));
        snprintf(name, sizeof name, i % 2 ? "t%d" : "p%d", i);
        const struct topic_config *t = config_topic(&cfg, name);
        CHECK(t && !strcmp(t->name, name) && t->declared == (i % 2 == 1));
        CHECK(p && !strcmp(p->topic, name));
        snprintf(name, sizeof name, "pipe p%d", i);
        CHECK(ini_doc_section(&cfg.doc, name) == p->section);
    }
    CHECK(!config_pipe(&cfg, "t1") && !config_topic(&cfg, "p1"));
    CHECK(!ini_doc_section(&cfg.doc, "pipe p300"));
    config_free(&cfg);
    diags_free(&diags);
    unlink(path);
}

int main(void)
{
    RUN(many_names);
    RUN(config_of_many_pipes);
    return TEST_RESULT();
}
