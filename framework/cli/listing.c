/* listing.c: a listing's output (see listing.h). */
#include "listing.h"

#include <stdio.h>
#include <string.h>

void listing_begin(struct listing *l, bool json, const char *key)
{
    memset(l, 0, sizeof *l);
    l->json = json;
    l->j.out = &l->out;
    if (json) {
        json_open_object(&l->j, NULL);
        json_open_array(&l->j, key);
    }
}

void listing_end(struct listing *l, bool print)
{
    if (l->json) {
        json_close_array(&l->j);
        json_close_object(&l->j);
        buf_puts(&l->out, "\n");
    }
    if (print && l->out.len)
        fputs(l->out.data, stdout);
    buf_free(&l->out);
}
