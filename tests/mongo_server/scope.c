/* scope.c: what one command changes, recorded as data.c makes the
 * changes: each document's state before it changed (so that the change
 * can be undone), the collections created, dropped or renamed, and the
 * change events, held back until the command is done. txn.c decides what
 * becomes of a scope: published (the events go to the oplog, persist.c
 * writes the changes to --dbpath), kept in a transaction, or undone.
 * scope_active is the scope the running code records into; NULL: nothing
 * is recorded and the documents replaced are freed at once. Callers hold
 * srv.lock. This file calls nothing of the server's. */
#include <stdlib.h>
#include <string.h>

#include "server.h"

struct scope *scope_active;

void scope_open(struct scope *s)
{
    memset(s, 0, sizeof *s);
    s->first_seq = srv.next_seq;
}

void scope_note_doc(struct collection *c, const bson_value_t *id, bson_t *old)
{
    struct scope *s = scope_active;
    if (!s) {
        if (old)
            bson_destroy(old);
        return;
    }
    if (s->ndocs == s->docs_cap) {
        s->docs_cap = s->docs_cap ? s->docs_cap * 2 : 16;
        s->docs = realloc(s->docs, s->docs_cap * sizeof *s->docs);
    }
    struct scope_doc *d = &s->docs[s->ndocs++];
    d->c = c;
    bson_value_copy(id, &d->id);
    d->old = old;
}

void scope_note_coll(enum scope_coll_op op, const char *db, const char *name,
                     const char *to_db, const char *to_name)
{
    struct scope *s = scope_active;
    if (!s)
        return;
    s->colls = realloc(s->colls, (s->ncolls + 1) * sizeof *s->colls);
    struct scope_coll *c = &s->colls[s->ncolls++];
    c->op = op;
    c->db = strdup(db);
    c->name = strdup(name);
    c->to_db = to_db ? strdup(to_db) : NULL;
    c->to_name = to_name ? strdup(to_name) : NULL;
}

void scope_add_event(struct scope *s, char *db, char *coll, char *op,
                     bson_t *event)
{
    if (s->nevents == s->events_cap) {
        s->events_cap = s->events_cap ? s->events_cap * 2 : 16;
        s->events = realloc(s->events, s->events_cap * sizeof *s->events);
    }
    s->events[s->nevents++] = (struct scope_event){db, coll, op, event};
}

bool scope_stage(const char *db, const char *coll, const char *op,
                 bson_t *event)
{
    if (!scope_active)
        return false;
    scope_add_event(scope_active, strdup(db), strdup(coll), strdup(op), event);
    return true;
}

void scope_event_free(struct scope_event *e)
{
    free(e->db);
    free(e->coll);
    free(e->op);
    if (e->event)
        bson_destroy(e->event);
}

void scope_free(struct scope *s)
{
    for (size_t i = 0; i < s->ndocs; i++) {
        bson_value_destroy(&s->docs[i].id);
        if (s->docs[i].old)
            bson_destroy(s->docs[i].old);
    }
    for (size_t i = 0; i < s->ncolls; i++) {
        free(s->colls[i].db);
        free(s->colls[i].name);
        free(s->colls[i].to_db);
        free(s->colls[i].to_name);
    }
    for (size_t i = 0; i < s->nevents; i++)
        scope_event_free(&s->events[i]);
    free(s->docs);
    free(s->colls);
    free(s->events);
    scope_open(s);
}
