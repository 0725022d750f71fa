/* pipe_runner.h: one pipe's worker loop (pipe_runner.c). */
#ifndef SLUICE_RUNTIME_PIPE_RUNNER_H
#define SLUICE_RUNTIME_PIPE_RUNNER_H

#include <stdatomic.h>
#include <stdbool.h>

#include "../config/config.h"

struct pipe_runner {
    const struct config *cfg;
    const struct pipe_config *pipe;
    const char *store_url;
    atomic_bool *stop;
    int status; /* the thread's exit status */
};

/* The thread body: runs the pipe until *stop, or until it is deleted. */
void *pipe_runner_main(void *arg);

#endif
