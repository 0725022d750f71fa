/* errors.c: an error of libmongoc as the core needs it: retry what may
 * pass (the network, server selection, a primary stepping down, a
 * shutdown), give up on what will not, always with the server's words; a
 * change stream whose history is lost (286) says how to recover. */
#include "mongo.h"

sluice_status mg_fail(const bson_error_t *e, const char *what,
                      sluice_error *err)
{
    bool transient = e->domain == MONGOC_ERROR_STREAM ||
                     e->domain == MONGOC_ERROR_SERVER_SELECTION ||
                     e->code == 6 || e->code == 7 || e->code == 89 ||
                     e->code == 91 || e->code == 189 || e->code == 262 ||
                     e->code == 9001 || e->code == 10107 || e->code == 11600 ||
                     e->code == 11602 || e->code == 13435 ||
                     e->code == 13436 || e->code == 63 || e->code == 150 ||
                     e->code == 234 || e->code == 133 || e->code == 43;
    if (e->code == 286)
        return sluice_fail(err, SLUICE_FATAL,
                           "source_mongo: %s: the oplog no longer holds the "
                           "position to resume from (error 286, "
                           "ChangeStreamHistoryLost: %s); changes were lost: "
                           "enlarge the oplog window, then resync the pipe",
                           what, e->message);
    return sluice_fail(err, transient ? SLUICE_RETRY : SLUICE_FATAL,
                       "source_mongo: %s: %s (error %u)", what, e->message,
                       e->code);
}
