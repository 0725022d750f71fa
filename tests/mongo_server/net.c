/* net.c: the wire protocol: the listener, a thread per connection, and
 * the messages: OP_MSG (kind 0 body, kind 1 document sequences, the
 * checksum and moreToCome flags) and the legacy OP_QUERY with its
 * OP_REPLY, which drivers use for the first handshake. Every command goes
 * to command_run. While the refuseConnections fault lasts, the listener is
 * closed (connecting is refused) and a command that arrives on a
 * connection still open closes it unanswered. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "server.h"
#include "wire.h"

#define OP_REPLY 1

static pthread_mutex_t conns_lock = PTHREAD_MUTEX_INITIALIZER;
static int *conns;
static size_t nconns, conns_cap;
static int32_t next_request_id = 1;

static void conn_add(int fd)
{
    pthread_mutex_lock(&conns_lock);
    if (nconns == conns_cap) {
        conns_cap = conns_cap ? conns_cap * 2 : 16;
        conns = realloc(conns, conns_cap * sizeof *conns);
    }
    conns[nconns++] = fd;
    pthread_mutex_unlock(&conns_lock);
}

static void conn_remove(int fd)
{
    pthread_mutex_lock(&conns_lock);
    for (size_t i = 0; i < nconns; i++)
        if (conns[i] == fd) {
            conns[i] = conns[--nconns];
            break;
        }
    pthread_mutex_unlock(&conns_lock);
}

void net_close_all(void)
{
    pthread_mutex_lock(&conns_lock);
    for (size_t i = 0; i < nconns; i++)
        shutdown(conns[i], SHUT_RDWR);
    pthread_mutex_unlock(&conns_lock);
}

int64_t net_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool refusing(void)
{
    return net_now_ms() <
           __atomic_load_n(&srv.faults.refuse_until_ms, __ATOMIC_RELAXED);
}

/* A connection's bytes read ahead: one read takes whatever has arrived
 * (a request's header and body together, as a rule), where reading the
 * header and then the body took two system calls per request. */
#define CONN_BUF (64 * 1024)
struct conn {
    int fd;
    size_t at, end; /* buf[at..end) is read and not yet taken */
    uint8_t buf[CONN_BUF];
};

/* The next n bytes of the connection into out; false at its end or on
 * an error. What does not fit the buffer is read into out directly. */
static bool read_all(struct conn *c, void *out, size_t n)
{
    uint8_t *p = out;
    while (n) {
        if (c->at == c->end) {
            bool direct = n >= sizeof c->buf;
            ssize_t got =
                read(c->fd, direct ? p : c->buf, direct ? n : sizeof c->buf);
            if (got <= 0) {
                if (got < 0 && errno == EINTR)
                    continue;
                return false;
            }
            if (direct) {
                p += got;
                n -= (size_t)got;
                continue;
            }
            c->at = 0;
            c->end = (size_t)got;
        }
        size_t take = c->end - c->at < n ? c->end - c->at : n;
        memcpy(p, c->buf + c->at, take);
        c->at += take;
        p += take;
        n -= take;
    }
    return true;
}

/* A message's header and body in one system call (two sends made two
 * packets, each woken for, on a TCP_NODELAY socket). */
static bool write_all(int fd, const void *head, size_t head_len,
                      const bson_t *doc)
{
    struct iovec iov[2] = {{(void *)head, head_len},
                           {(void *)bson_get_data(doc), doc->len}};
    struct iovec *v = iov;
    int left = 2;
    while (left) {
        struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)left};
        ssize_t put = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (put <= 0) {
            if (put < 0 && errno == EINTR)
                continue;
            return false;
        }
        while (left && (size_t)put >= v->iov_len) {
            put -= (ssize_t)v->iov_len;
            v++;
            left--;
        }
        if (left) {
            v->iov_base = (char *)v->iov_base + put;
            v->iov_len -= (size_t)put;
        }
    }
    return true;
}

static int32_t le32(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static void put32(uint8_t *p, int32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)((uint32_t)v >> (8 * i));
}

static bool send_msg(int fd, int32_t response_to, const bson_t *doc)
{
    uint8_t head[21];
    int32_t len = 21 + (int32_t)doc->len;
    put32(head, len);
    put32(head + 4, __atomic_fetch_add(&next_request_id, 1, __ATOMIC_RELAXED));
    put32(head + 8, response_to);
    put32(head + 12, OP_MSG);
    put32(head + 16, 0); /* flags */
    head[20] = 0;        /* kind 0 */
    return write_all(fd, head, sizeof head, doc);
}

static bool send_reply(int fd, int32_t response_to, const bson_t *doc)
{
    uint8_t head[36] = {0};
    put32(head, 36 + (int32_t)doc->len);
    put32(head + 4, __atomic_fetch_add(&next_request_id, 1, __ATOMIC_RELAXED));
    put32(head + 8, response_to);
    put32(head + 12, OP_REPLY);
    /* responseFlags 0, cursorID 0, startingFrom 0 */
    put32(head + 32, 1); /* numberReturned */
    return write_all(fd, head, sizeof head, doc);
}

/* The fault counter that closes every connection, read after every
 * command: an atomic, not srv.lock taken once more per command. */
static int64_t close_generation(void)
{
    return __atomic_load_n(&srv.faults.close_generation, __ATOMIC_ACQUIRE);
}

static void *serve(void *arg)
{
    int fd = (int)(intptr_t)arg;
    int64_t generation = close_generation();
    struct conn *c = malloc(sizeof *c);
    c->fd = fd;
    c->at = c->end = 0;
    conn_add(fd);
    for (;;) {
        uint8_t head[16];
        if (!read_all(c, head, sizeof head))
            break;
        int32_t len = le32(head), request_id = le32(head + 4);
        int32_t opcode = le32(head + 12);
        if (len < 16 || len > MAX_MESSAGE_SIZE)
            break;
        size_t n = (size_t)len - 16;
        const uint8_t *body = c->buf + c->at;
        uint8_t *owned = NULL; /* a body the buffer does not hold whole */
        if (c->end - c->at >= n) {
            c->at += n; /* parsed where it is, until the next read */
        } else {
            body = owned = malloc(n ? n : 1);
            if (!read_all(c, owned, n)) {
                free(owned);
                break;
            }
        }
        bson_t cmd, reply = BSON_INITIALIZER;
        bool more = false, parsed;
        bson_init(&cmd);
        parsed = wire_parse(opcode, body, n, &cmd, &more);
        bool keep = parsed && !refusing() && command_run(&cmd, &reply);
        bool sent =
            keep &&
            (more || (opcode == OP_MSG ? send_msg(fd, request_id, &reply)
                                       : send_reply(fd, request_id, &reply)));
        bson_destroy(&cmd);
        bson_destroy(&reply);
        free(owned);
        if (!sent)
            break;
        if (close_generation() != generation) {
            net_close_all();
            break;
        }
    }
    conn_remove(fd);
    close(fd);
    free(c);
    return NULL;
}

/* Set by the handler in whichever thread takes the signal (a connection's,
 * as often as not), read by the listener: an atomic, not a volatile
 * sig_atomic_t, which only its own thread may share with a handler. */
static atomic_bool stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = true;
}

int net_listen(int port, int *bound)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, srv.address, &a.sin_addr) != 1) {
        close(fd);
        return -1;
    }
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        close(fd);
        return -1;
    }
    getsockname(fd, (struct sockaddr *)&a, &len);
    *bound = ntohs(a.sin_port);
    return fd;
}

void net_serve(int listener)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    while (!stop_requested) {
        if (refusing() && listener >= 0) {
            close(listener);
            listener = -1;
        } else if (!refusing() && listener < 0) {
            int port;
            listener = net_listen(srv.port, &port); /* next turn if taken */
        }
        if (listener < 0) {
            usleep(20000);
            continue;
        }
        struct pollfd p = {listener, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(listener, NULL, NULL);
        if (c < 0)
            continue;
        int one = 1;
        setsockopt(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
        pthread_t t;
        if (pthread_create(&t, NULL, serve, (void *)(intptr_t)c) == 0)
            pthread_detach(t);
        else
            close(c);
    }
    if (listener >= 0)
        close(listener);
    pthread_mutex_lock(&srv.lock);
    srv.stopping = true;
    pthread_cond_broadcast(&srv.grew);
    pthread_mutex_unlock(&srv.lock);
    net_close_all();
}
