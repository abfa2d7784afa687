/* Binding helpers shared by the C tests: an acceptor's blocking _complete
 * on a thread of its own, and bind_transports(), which prepares an
 * acceptor and a connector and binds them to each other over 127.0.0.1.
 * The including program links with -pthread. */
#ifndef MSGWIRE_TEST_BIND_H
#define MSGWIRE_TEST_BIND_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "check.h"
#include "msgwire.h"

#define PATH_CAP 512

/* One msgwire_msrp_acceptor_complete, run by accept_thread. */
struct accept_job {
    msgwire_msrp_acceptor *acceptor;
    const char *remote_path;
    msgwire_msrp_transport *transport;
    msgwire_status status;
};

static inline void *accept_thread(void *arg)
{
    struct accept_job *job = arg;
    job->status =
        msgwire_msrp_acceptor_complete(job->acceptor, job->remote_path, &job->transport);
    return NULL;
}

/* What bind_transports did: both paths as advertised, both transports
 * (NULL on failure; the caller owns them) and both _complete statuses. */
struct bound_pair {
    char acceptor_path[PATH_CAP], connector_path[PATH_CAP];
    msgwire_msrp_transport *passive, *active;
    msgwire_status passive_status, active_status;
};

/* Prepares `a` with `acceptor_uri` (NULL: defaults) and `c` with defaults,
 * then completes both at once: the acceptor on a thread, the connector on
 * the calling one. Returns whether both transports were made; the statuses
 * are in *out either way. Prepare failures are counted as failed checks. */
static inline bool bind_transports(msgwire_msrp_acceptor *a, msgwire_msrp_connector *c,
                                   const char *acceptor_uri, struct bound_pair *out)
{
    size_t len = 0;
    memset(out, 0, sizeof *out);
    out->passive_status = out->active_status = MSGWIRE_INVALID_ARGUMENT;
    CHECK_OK(msgwire_msrp_acceptor_prepare(a, acceptor_uri, out->acceptor_path,
                                           sizeof out->acceptor_path, &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c, NULL, out->connector_path,
                                            sizeof out->connector_path, &len));
    if (out->acceptor_path[0] == '\0' || out->connector_path[0] == '\0') {
        return false;
    }
    struct accept_job job = {.acceptor = a, .remote_path = out->connector_path};
    pthread_t thread;
    if (pthread_create(&thread, NULL, accept_thread, &job) != 0) {
        CHECK(false); /* pthread_create failed */
        return false;
    }
    out->active_status = msgwire_msrp_connector_complete(c, out->acceptor_path, &out->active);
    pthread_join(thread, NULL);
    out->passive_status = job.status;
    out->passive = job.transport;
    return out->active != NULL && out->passive != NULL;
}

#endif
