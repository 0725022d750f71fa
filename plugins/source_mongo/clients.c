/* clients.c: MongoDB connections shared by every instance of source_mongo
 * in a process: one client pool per URI, kept while an instance uses it.
 * An instance takes a client for its life and gives it back when it
 * closes, so the pipes of a worker share one topology monitor per
 * deployment, and the readers of a snapshot, which come and go, reuse
 * connections instead of opening new ones. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mongo.h"

const sluice_host_api *mg_host;

struct mg_pool {
    char *uri;
    mongoc_client_pool_t *pool;
    int users;
    struct mg_pool *next;
};

static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mg_pool *pools;

static struct mg_pool *new_pool(const char *uri_text, sluice_error *err)
{
    bson_error_t error;
    mongoc_uri_t *uri = mongoc_uri_new_with_error(uri_text, &error);
    if (!uri) {
        sluice_fail(err, SLUICE_FATAL, "source_mongo: uri: %s", error.message);
        return NULL;
    }
    mongoc_uri_set_option_as_utf8(uri, MONGOC_URI_APPNAME, "sluice");
    /* a pooled client waits this long for a server before it gives up:
     * short, so that a stop is never held up by a server that is down
     * (the core retries with backoff) */
    if (!mongoc_uri_has_option(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
        mongoc_uri_set_option_as_int32(uri,
                                       MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                       MG_SERVER_SELECTION_MS);
    mongoc_client_pool_t *pool =
        mongoc_client_pool_new_with_error(uri, &error);
    mongoc_uri_destroy(uri);
    if (!pool) {
        sluice_fail(err, SLUICE_FATAL, "source_mongo: uri: %s", error.message);
        return NULL;
    }
    mongoc_client_pool_set_error_api(pool, MONGOC_ERROR_API_VERSION_2);
    struct mg_pool *p = calloc(1, sizeof *p);
    if (p)
        p->uri = strdup(uri_text);
    if (!p || !p->uri) {
        free(p);
        mongoc_client_pool_destroy(pool);
        sluice_fail(err, SLUICE_FATAL, "source_mongo: out of memory");
        return NULL;
    }
    p->pool = pool;
    return p;
}

sluice_status mg_client_take(const char *uri, struct mg_pool **pool,
                             mongoc_client_t **client, sluice_error *err)
{
    pthread_mutex_lock(&pools_lock);
    struct mg_pool *p = pools;
    while (p && strcmp(p->uri, uri) != 0)
        p = p->next;
    if (!p && (p = new_pool(uri, err)) != NULL) {
        p->next = pools;
        pools = p;
    }
    if (!p) {
        pthread_mutex_unlock(&pools_lock);
        return SLUICE_FATAL;
    }
    *client = mongoc_client_pool_try_pop(p->pool);
    if (*client)
        p->users++;
    pthread_mutex_unlock(&pools_lock);
    if (!*client)
        return sluice_fail(err, SLUICE_RETRY,
                           "source_mongo: every connection of the pool is in "
                           "use (maxPoolSize of the uri, 100 by default); "
                           "lower snapshot_parallelism or raise maxPoolSize");
    *pool = p;
    return SLUICE_OK;
}

void mg_client_give(struct mg_pool *p, mongoc_client_t *client)
{
    if (!p)
        return;
    pthread_mutex_lock(&pools_lock);
    mongoc_client_pool_push(p->pool, client);
    if (--p->users == 0) {
        struct mg_pool **at = &pools;
        while (*at != p)
            at = &(*at)->next;
        *at = p->next;
        mongoc_client_pool_destroy(p->pool);
        free(p->uri);
        free(p);
    }
    pthread_mutex_unlock(&pools_lock);
}

bool mg_should_stop(const struct mg_source *s)
{
    return SLUICE_HOST_HAS(mg_host, should_stop) &&
           mg_host->should_stop(s->ctx);
}

/* libmongoc's own log lines go to the core's log: errors and warnings as
 * such, the rest (its monitors' chatter) only at debug level. */
static void forward_log(mongoc_log_level_t level, const char *domain,
                        const char *message, void *data)
{
    (void)data;
    sluice_log_level to = level <= MONGOC_LOG_LEVEL_CRITICAL ? SLUICE_LOG_ERROR
                          : level == MONGOC_LOG_LEVEL_WARNING
                              ? SLUICE_LOG_WARN
                              : SLUICE_LOG_DEBUG;
    if (level >= MONGOC_LOG_LEVEL_DEBUG)
        return;
    sluice_log(mg_host, NULL, to, "libmongoc %s: %s", domain, message);
}

void mg_clients_init(void)
{
    mongoc_log_set_handler(forward_log, NULL);
}

sluice_status mg_admin(struct mg_source *s, const char *command, bson_t *reply,
                       const char *what, sluice_error *err)
{
    bson_t cmd = BSON_INITIALIZER;
    bson_error_t e;
    BSON_APPEND_INT32(&cmd, command, 1);
    bool ok = mongoc_client_command_simple(s->client, "admin", &cmd, NULL,
                                           reply, &e);
    bson_destroy(&cmd);
    if (ok)
        return SLUICE_OK;
    bson_destroy(reply);
    return mg_fail(&e, what, err);
}
