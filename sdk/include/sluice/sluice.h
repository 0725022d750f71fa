/* sluice/sluice.h: everything a plugin includes. A plugin includes nothing
 * of the framework; this folder is the whole SDK.
 *
 * Where the rules are: results and messages in status.h; records (key,
 * version, what a sink may rely on) in record.h; the host functions, how
 * they return and which strings are NUL-terminated in host.h; instances
 * and what `open` may do in plugin.h; options in options.h; each kind's
 * callbacks in source.h, sink.h and retention.h. The smallest complete
 * plugin is the SDK's example count_source. */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include "host.h"
#include "module.h"
#include "options.h"
#include "plugin.h"
#include "record.h"
#include "retention.h"
#include "sink.h"
#include "source.h"
#include "status.h"
#include "version.h"

#endif
