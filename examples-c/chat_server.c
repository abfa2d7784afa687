/*
 * chat_server - one MSRP server port shared by several chat sessions.
 *
 *     chat_server
 *
 * A conference-style server usually runs many MSRP sessions at once and
 * advertises one port for all of them. msgwire_msrp_server does that: each
 * session gets its own local URI (its own session-id) from
 * msgwire_msrp_server_prepare, every URI names the same host and port, and
 * the server sorts the incoming connections by the To-Path of their bind
 * request.
 *
 * This program plays both ends in one process:
 *
 *   1. It creates one server on 127.0.0.1 (port 0: the first prepare picks
 *      a free port, and the later ones reuse it).
 *   2. For each of CLIENTS calls it prepares a server-side path and a
 *      client (connector) path. In real life the two are exchanged through
 *      SIP/SDP; here they are strings in a struct.
 *   3. Each call runs on two threads: the server side blocks in
 *      msgwire_msrp_server_complete (several threads wait on the one server
 *      at the same time) while the client side connects and binds with
 *      msgwire_msrp_connector_complete.
 *   4. Each client starts a session, sends one message asking for a
 *      success REPORT, waits for the REPORT and hangs up. Each server-side
 *      session prints what it receives, from its callbacks, and ends when
 *      its client has hung up.
 *   5. Everything is freed: sessions, connectors, and the server.
 *
 * Exit status 0 when every message and REPORT arrived, 1 otherwise.
 *
 * Build, from a checkout after `make build` (which writes msgwire.pc):
 *     PKG_CONFIG_PATH=target/release \
 *     cc -std=c11 -pthread chat_server.c $(pkg-config --cflags --libs msgwire)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

#define CLIENTS 3
#define PATH_CAP 512
#define WAIT_SECONDS 10

/* One side of a call; passed to its session's callbacks as user_data. */
struct side {
    char name[32];
    pthread_mutex_t *lock; /* shared by every side; guards the counters */
    pthread_cond_t *changed;
    int messages; /* SENDs received */
    int reports;  /* REPORTs received */
    bool closed;  /* on_closed was called */
};

/* One call: a client session bound to the server through its own URI. */
struct call {
    int index;
    msgwire_msrp_server *server;
    msgwire_msrp_connector *connector;
    char server_path[PATH_CAP]; /* the server's SDP a=path for this call */
    char client_path[PATH_CAP]; /* the client's SDP a=path */
    struct side server_side, client_side;
    pthread_t server_thread, client_thread;
    bool server_started, client_started;
    bool server_ok, client_ok;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;

static bool failed(msgwire_status status, const char *who, const char *what)
{
    if (status == MSGWIRE_OK) {
        return false;
    }
    fprintf(stderr, "%s: %s failed: %s (%s)\n", who, what, msgwire_status_text(status),
            msgwire_last_error());
    return true;
}

/* ---- callbacks (run on msgwire worker threads; must not block) ------------ */

/* A SEND (already answered 200, its REPORT already sent) or a REPORT. The
 * chunk is only lent for the duration of the call. */
static void on_incoming(void *user_data, const msgwire_msrp_chunk *chunk)
{
    struct side *s = user_data;
    msgwire_str method, status;
    const uint8_t *body = NULL;
    size_t len = 0;

    if (msgwire_msrp_chunk_method(chunk, &method) != MSGWIRE_OK) {
        return;
    }
    pthread_mutex_lock(s->lock);
    if (method.len == 4 && memcmp(method.ptr, "SEND", 4) == 0 &&
        msgwire_msrp_chunk_body(chunk, &body, &len) == MSGWIRE_OK) {
        s->messages++;
        printf("%s received message: %.*s\n", s->name, (int)len, (const char *)body);
    } else if (method.len == 6 && memcmp(method.ptr, "REPORT", 6) == 0) {
        s->reports++;
        if (msgwire_msrp_chunk_header(chunk, "Status", &status) == MSGWIRE_OK) {
            printf("%s received REPORT Status: %s\n", s->name, status.ptr);
        }
    }
    fflush(stdout);
    pthread_cond_broadcast(s->changed);
    pthread_mutex_unlock(s->lock);
}

/* The connection ended; the session's last callback. */
static void on_closed(void *user_data, msgwire_status reason)
{
    struct side *s = user_data;
    pthread_mutex_lock(s->lock);
    s->closed = true;
    printf("%s: session closed (%s)\n", s->name, msgwire_status_text(reason));
    fflush(stdout);
    pthread_cond_broadcast(s->changed);
    pthread_mutex_unlock(s->lock);
}

static const msgwire_msrp_session_callbacks CALLBACKS = {
    .on_incoming = on_incoming,
    .on_closed = on_closed,
};

/* Waits until *count >= want (under the shared lock), or
 * WAIT_SECONDS pass. */
static bool wait_for(const int *count, int want)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&lock);
    while (*count < want) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) {
            break;
        }
    }
    bool done = *count >= want;
    pthread_mutex_unlock(&lock);
    return done;
}

static bool wait_closed(const bool *closed)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_SECONDS;
    pthread_mutex_lock(&lock);
    while (!*closed) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) {
            break;
        }
    }
    bool done = *closed;
    pthread_mutex_unlock(&lock);
    return done;
}

static msgwire_msrp_session_config session_config(void)
{
    msgwire_msrp_session_config cfg;
    msgwire_msrp_session_config_default(&cfg);
    cfg.accept_types = "text/plain";
    cfg.keepalive_interval_ms = 0;
    return cfg;
}

/* ---- the two ends of a call ---------------------------------------------- */

/* Server side: wait for this call's binding, then serve the session until
 * the client hangs up. */
static void *server_thread(void *arg)
{
    struct call *c = arg;
    const char *who = c->server_side.name;
    msgwire_msrp_transport *transport = NULL;
    msgwire_msrp_session *session = NULL;
    msgwire_msrp_session_config cfg = session_config();

    /* Blocks until the client binds to c->server_path; the server checks
     * that the binding comes from c->client_path. */
    if (failed(msgwire_msrp_server_complete(c->server, c->server_path, c->client_path,
                                            &transport),
               who, "msgwire_msrp_server_complete")) {
        return NULL;
    }
    /* start consumes the transport, whatever its outcome. */
    if (failed(msgwire_msrp_session_start(transport, &cfg, &CALLBACKS, &c->server_side,
                                          &session),
               who, "msgwire_msrp_session_start")) {
        return NULL;
    }
    c->server_ok = wait_for(&c->server_side.messages, 1) && wait_closed(&c->server_side.closed);
    msgwire_msrp_session_free(session);
    return NULL;
}

/* Client side: bind, send one message with a success REPORT, hang up. */
static void *client_thread(void *arg)
{
    struct call *c = arg;
    const char *who = c->client_side.name;
    msgwire_msrp_transport *transport = NULL;
    msgwire_msrp_session *session = NULL;
    msgwire_msrp_chunk *msg = NULL, *response = NULL;
    msgwire_msrp_session_config cfg = session_config();
    char text[64];

    if (failed(msgwire_msrp_connector_complete(c->connector, c->server_path, &transport), who,
               "msgwire_msrp_connector_complete") ||
        failed(msgwire_msrp_session_start(transport, &cfg, &CALLBACKS, &c->client_side,
                                          &session),
               who, "msgwire_msrp_session_start")) {
        return NULL;
    }
    snprintf(text, sizeof text, "Hello from client %d", c->index);
    bool ok = !failed(msgwire_msrp_session_make_message(session, (const uint8_t *)text,
                                                        strlen(text), "text/plain", &msg),
                      who, "make_message") &&
              !failed(msgwire_msrp_chunk_set_header(msg, "Success-Report", "yes"), who,
                      "set_header") &&
              !failed(msgwire_msrp_session_deliver_chunk(session, msg, &response), who,
                      "deliver_chunk");
    msgwire_msrp_chunk_free(response);
    msgwire_msrp_chunk_free(msg);
    ok = ok && wait_for(&c->client_side.reports, 1);
    if (!ok) {
        fprintf(stderr, "%s: no REPORT for the message\n", who);
    }
    /* Hang up gracefully: the server side sees its connection end. */
    ok = !failed(msgwire_msrp_session_shutdown(session, true), who, "shutdown") && ok;
    msgwire_msrp_session_free(session);
    c->client_ok = ok;
    return NULL;
}

/* ---- main ----------------------------------------------------------------- */

int main(void)
{
    struct call calls[CLIENTS];
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_bind_options opts;
    size_t len = 0;
    bool ok = true;

    memset(calls, 0, sizeof calls);
    msgwire_msrp_bind_options_default(&opts);
    opts.connect_timeout_ms = opts.incoming_connect_timeout_ms = opts.bind_timeout_ms = 5000;

    /* 1: the server; it listens once the first session is prepared. */
    if (failed(msgwire_msrp_server_new(&opts, &server), "main", "msgwire_msrp_server_new")) {
        return 1;
    }

    /* 2: one server-side URI and one client per call. Port 0 and no
     * session-id: the server fills in its port and a random id. */
    for (int i = 0; i < CLIENTS; i++) {
        struct call *c = &calls[i];
        c->index = i + 1;
        c->server = server;
        snprintf(c->server_side.name, sizeof c->server_side.name, "server session %d", c->index);
        snprintf(c->client_side.name, sizeof c->client_side.name, "client %d", c->index);
        c->server_side.lock = c->client_side.lock = &lock;
        c->server_side.changed = c->client_side.changed = &changed;
        if (failed(msgwire_msrp_server_prepare(server, "msrp://127.0.0.1:0;tcp", c->server_path,
                                               sizeof c->server_path, &len),
                   "main", "msgwire_msrp_server_prepare") ||
            failed(msgwire_msrp_connector_new(&opts, &c->connector), "main",
                   "msgwire_msrp_connector_new") ||
            failed(msgwire_msrp_connector_prepare(c->connector, NULL, c->client_path,
                                                  sizeof c->client_path, &len),
                   "main", "msgwire_msrp_connector_prepare")) {
            ok = false;
            break;
        }
        printf("call %d: server path %s, client path %s\n", c->index, c->server_path,
               c->client_path);
    }

    /* 3-4: run every call, each end on its own thread. */
    for (int i = 0; ok && i < CLIENTS; i++) {
        struct call *c = &calls[i];
        c->server_started = pthread_create(&c->server_thread, NULL, server_thread, c) == 0;
        c->client_started = pthread_create(&c->client_thread, NULL, client_thread, c) == 0;
        ok = c->server_started && c->client_started;
    }
    for (int i = 0; i < CLIENTS; i++) {
        struct call *c = &calls[i];
        if (c->client_started) {
            pthread_join(c->client_thread, NULL);
        }
        if (c->server_started) {
            pthread_join(c->server_thread, NULL);
        }
        ok = ok && c->client_ok && c->server_ok;
    }
    if (!ok) {
        fprintf(stderr, "not every call went through\n");
    }

    /* 5: no call is waiting any more; close and free the server. */
    if (failed(msgwire_msrp_server_close(server), "main", "msgwire_msrp_server_close")) {
        ok = false;
    }
    msgwire_msrp_server_free(server);
    int messages = 0, reports = 0;
    for (int i = 0; i < CLIENTS; i++) {
        msgwire_msrp_connector_free(calls[i].connector);
        messages += calls[i].server_side.messages;
        reports += calls[i].client_side.reports;
    }
    printf("server received %d messages, clients received %d REPORTs\n", messages, reports);
    ok = ok && messages == CLIENTS && reports == CLIENTS;
    printf("%s\n", ok ? "chat server finished" : "chat server FAILED");
    return ok ? 0 : 1;
}
