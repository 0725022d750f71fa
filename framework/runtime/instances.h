/* instances.h: plugin instances of one worker process. Pipes whose sinks
 * are the same plugin with the same options share one instance, and so
 * its connections; everything else has an instance of its own. Calls go
 * through the wrappers of plugin/calls.h, which hold the instance's lock
 * (a plugin that is not SLUICE_PLUGIN_THREAD_SAFE is called by one thread
 * at a time); a subscriber holds it from its writes to the flush that
 * ends them. */
#ifndef SLUICE_RUNTIME_INSTANCES_H
#define SLUICE_RUNTIME_INSTANCES_H

#include <pthread.h>
#include <stdbool.h>

#include "../config/config.h"
#include "../plugin/calls.h"

struct instance {
    struct plugin_instance plugin; /* what the wrappers call */
    char *key; /* the plugin and its options; NULL: private */
    int refs;
};

/* Opens an instance of `pc` for `pipe`, or takes a reference to the one
 * already open with the same plugin and options when `shared`. The status
 * and message are the plugin's open's. */
sluice_status instance_open(const struct plugin_config *pc, const char *pipe,
                            bool shared, struct instance **out,
                            struct call_error *e);
/* Drops a reference; the last one closes the instance. NULL is ignored. */
void instance_close(struct instance *in);

#endif
