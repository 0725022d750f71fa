/* registration.h: the pipes of a config file, registered in the store.
 *
 * A new pipe is registered in `provisioning`. For a pipe the store
 * already has: its settings may change only while it is paused (or
 * failed: it moves no data, and a wrong setting is often why); otherwise
 * the pipe is refused with the settings that differ. A changed table list
 * becomes tables add / tables remove requests. Secrets are never stored:
 * they are read from the file at every start. */
#ifndef SLUICE_LIFECYCLE_REGISTRATION_H
#define SLUICE_LIFECYCLE_REGISTRATION_H

#include <stdbool.h>

#include "../config/config.h"
#include "../store/store.h"
#include "../util/error.h"

/* The pipe's settings as canonical text (key = value lines, secrets
 * masked, the table list left out); the caller frees it. */
char *pipe_settings_text(const struct pipe_config *p);

/* Creates the topics of the file, or brings them to the file's retention
 * properties. */
int topics_register(struct store *s, const struct config *cfg,
                    struct diags *diags);

/* Registers or updates one pipe; a new pipe gets its topic and its sink's
 * subscription (named after the pipe), so that everything it publishes
 * is owed to its sink. Problems go to `diags`; returns -1 when
 * the pipe cannot run as the file describes it. */
int pipe_register(struct store *s, const struct config *cfg,
                  const struct pipe_config *p, struct diags *diags);

#endif
