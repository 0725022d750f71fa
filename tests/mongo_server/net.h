/* net.h: the listener (net.c). */
#ifndef MONGO_TEST_SERVER_NET_H
#define MONGO_TEST_SERVER_NET_H

/* Listens on srv.address:port (0: any free port); -1 on failure (an
 * address that is not IPv4's among them). */
int net_listen(int port, int *bound);
/* Accepts connections until SIGTERM or SIGINT, then closes them all. */
void net_serve(int listener);

#endif
