/* roff.h: text for a man page (the man(7) macros of groff). The pages are
 * written by sluice itself from its command table and option tables
 * (cli/man.c), so text meant for a terminal or Markdown goes through here
 * on its way into roff, and nothing in it reads as a request or an
 * escape. */
#ifndef SLUICE_UTIL_ROFF_H
#define SLUICE_UTIL_ROFF_H

#include "buf.h"

/* `text` as roff text: '\' as \e, '-' as \- (so that --flag can be found
 * and copied as typed), a '.' or '\'' at the start of a line behind \&,
 * characters outside ASCII as \[uXXXX], a tab as a space, the other
 * control characters but the newline dropped. */
void roff_text(const char *text, struct buf *out);

#endif
