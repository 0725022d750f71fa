/* sluice/sluice.h: everything a plugin includes. A plugin includes nothing
 * of the framework; this folder is the whole SDK. */
#ifndef SLUICE_SLUICE_H
#define SLUICE_SLUICE_H

#include "version.h"
#include "status.h"
#include "options.h"
#include "record.h"
#include "host.h"
#include "module.h"
#include "plugin.h"
#include "source.h"
#include "sink.h"
#include "retention.h"

#endif
