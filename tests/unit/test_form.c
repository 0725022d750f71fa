/* test_form.c: the form a pipe writes its tables in (config/form.c): the
 * text of its plugins' SLUICE_OPTION_FORM options, and whether a recorded
 * form is the pipe's: the same values, an option the record lacks at its
 * default (a plugin that added it since), none recorded that the pipe no
 * longer has; a table from before forms only for a pipe without such
 * options. */
#include <stddef.h>
#include <stdlib.h>

#include "../../framework/config/config.h"
#include "../../framework/store/schema.h"
#include "../test.h"

struct source_config {
    int id_format, doc_format;
    int64_t batch;
};

static const char *const id_formats[] = {"natural", "extended", NULL};
static const char *const doc_formats[] = {"clickpipes", "relaxed", NULL};

static sluice_option source_options[] = {
    {.type = SLUICE_OPTION_ENUM,
     .name = "id_format",
     .default_value = "natural",
     .flags = SLUICE_OPTION_FORM,
     .offset = offsetof(struct source_config, id_format),
     .allowed = id_formats},
    {.type = SLUICE_OPTION_INT,
     .name = "batch",
     .default_value = "10",
     .offset = offsetof(struct source_config, batch)},
    {.type = SLUICE_OPTION_ENUM,
     .name = "doc_format",
     .default_value = "clickpipes",
     .flags = SLUICE_OPTION_FORM,
     .offset = offsetof(struct source_config, doc_format),
     .allowed = doc_formats},
};

static struct plugin source = {.options = source_options, .option_count = 3};
static struct plugin sink = {.option_count = 0};

static struct pipe_config pipe_with(struct source_config *c)
{
    struct pipe_config p = {0};
    p.source.plugin = &source;
    p.source.data = c;
    p.sink.plugin = &sink;
    return p;
}

static void form_text(void)
{
    struct source_config c = {0, 1, 10};
    struct pipe_config p = pipe_with(&c);
    char *form = config_pipe_form(&p);
    CHECK_STR(form, "source.id_format = natural, source.doc_format = relaxed");
    free(form);
    source.option_count = 2; /* batch is no form option */
    form = config_pipe_form(&p);
    CHECK_STR(form, "source.id_format = natural");
    free(form);
    source.option_count = 3;
}

static void same_forms(void)
{
    struct source_config c = {0, 0, 10};
    struct pipe_config p = pipe_with(&c);
    CHECK(config_form_same(
        &p, "source.id_format = natural, source.doc_format = clickpipes"));
    /* in another order, as a plugin may list them */
    CHECK(config_form_same(
        &p, "source.doc_format = clickpipes, source.id_format = natural"));
    /* doc_format added since, at its default */
    CHECK(config_form_same(&p, "source.id_format = natural"));
    c.doc_format = 1; /* ... but not at its default now */
    CHECK(!config_form_same(&p, "source.id_format = natural"));
    c.doc_format = 0;
    CHECK(!config_form_same(
        &p, "source.id_format = extended, source.doc_format = clickpipes"));
    /* a value that only starts like the one recorded */
    CHECK(!config_form_same(&p, "source.id_format = naturalish"));
    /* an option recorded that the pipe no longer has */
    CHECK(!config_form_same(&p, "source.id_format = natural, "
                                "source.doc_format = clickpipes, "
                                "sink.column_names = sluice"));
    /* before forms: the form of a pipe with no form options only */
    CHECK(!config_form_same(&p, FORM_BEFORE_FORMS));
    source.option_count = 0;
    CHECK(config_form_same(&p, FORM_BEFORE_FORMS));
    CHECK(config_form_same(&p, ""));
    source.option_count = 3;
}

int main(void)
{
    RUN(form_text);
    RUN(same_forms);
    return TEST_RESULT();
}
