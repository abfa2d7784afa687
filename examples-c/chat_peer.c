/*
 * chat_peer - two MSRP peers chatting over 127.0.0.1 in one process.
 *
 *     chat_peer
 *
 * Shows the whole life of an MSRP session through msgwire's C API:
 *
 *   1. "bob" is the passive side (an acceptor): it listens on a free port
 *      and gives the path to put in its SDP.
 *   2. "alice" is the active side (a connector): it chooses its own path.
 *   3. The two paths are exchanged (in real life through SIP/SDP; here
 *      they are just strings), then both sides complete the binding at the
 *      same time: bob waits for the connection on a second thread while
 *      alice connects and sends the bind request.
 *   4. Each side starts a session with its callbacks. Alice sends a few
 *      messages asking for success REPORTs, bob answers one; both print
 *      what they receive, from the callbacks.
 *   5. Alice shuts down gracefully, bob sees the connection end, and
 *      everything is freed.
 *
 * Callbacks run on msgwire's worker threads, so the counters they update
 * are protected by a mutex, and the main thread waits on a condition
 * variable for the REPORTs it expects.
 *
 * Exit status 0 when every message and REPORT arrived, 1 otherwise.
 *
 * Build, from a checkout after `make build` (which writes msgwire.pc):
 *     PKG_CONFIG_PATH=target/release \
 *     cc -std=c11 -pthread chat_peer.c $(pkg-config --cflags --libs msgwire)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

#define PATH_CAP 512

static const char *const ALICE_SAYS[] = {
    "Hi Bob, are you there?",
    "I have the slides ready.",
    "Talk to you later!",
};
#define ALICE_COUNT (sizeof ALICE_SAYS / sizeof ALICE_SAYS[0])

/* What the callbacks of both peers share with the main thread. */
struct chat {
    pthread_mutex_t lock;
    pthread_cond_t changed;
};

/* One peer; passed to its session's callbacks as user_data. */
struct peer {
    const char *name;
    struct chat *chat;
    int messages; /* SENDs received */
    int reports;  /* REPORTs received */
    bool closed;  /* on_closed was called */
};

static bool failed(msgwire_status status, const char *what)
{
    if (status == MSGWIRE_OK) {
        return false;
    }
    fprintf(stderr, "%s failed: %s (%s)\n", what, msgwire_status_text(status),
            msgwire_last_error());
    return true;
}

/* ---- callbacks (run on msgwire worker threads; must not block) --------- */

/* A request from the peer: a SEND (already answered 200, and its REPORT
 * already sent by msgwire) or a REPORT about one of our messages. The
 * chunk is only lent for the duration of the call. */
static void on_incoming(void *user_data, const msgwire_msrp_chunk *chunk)
{
    struct peer *p = user_data;
    msgwire_str method, value;
    const uint8_t *body = NULL;
    size_t len = 0;

    if (msgwire_msrp_chunk_method(chunk, &method) != MSGWIRE_OK) {
        return;
    }
    pthread_mutex_lock(&p->chat->lock);
    if (method.len == 4 && memcmp(method.ptr, "SEND", 4) == 0 &&
        msgwire_msrp_chunk_body(chunk, &body, &len) == MSGWIRE_OK) {
        p->messages++;
        printf("%s received message: %.*s\n", p->name, (int)len, (const char *)body);
    } else if (method.len == 6 && memcmp(method.ptr, "REPORT", 6) == 0) {
        p->reports++;
        printf("%s received REPORT", p->name);
        if (msgwire_msrp_chunk_header(chunk, "Status", &value) == MSGWIRE_OK) {
            printf(" Status: %s", value.ptr); /* NUL-terminated */
        }
        if (msgwire_msrp_chunk_header(chunk, "Message-ID", &value) == MSGWIRE_OK) {
            printf(" for Message-ID %s", value.ptr);
        }
        putchar('\n');
    } else {
        printf("%s received %.*s\n", p->name, (int)method.len, method.ptr);
    }
    fflush(stdout);
    pthread_cond_broadcast(&p->chat->changed);
    pthread_mutex_unlock(&p->chat->lock);
}

/* The connection ended; the session's last callback. */
static void on_closed(void *user_data, msgwire_status reason)
{
    struct peer *p = user_data;
    pthread_mutex_lock(&p->chat->lock);
    p->closed = true;
    printf("%s: session closed (%s)\n", p->name, msgwire_status_text(reason));
    fflush(stdout);
    pthread_cond_broadcast(&p->chat->changed);
    pthread_mutex_unlock(&p->chat->lock);
}

/* ---- binding ------------------------------------------------------------- */

/* What the acceptor thread needs and produces. */
struct accept_job {
    msgwire_msrp_acceptor *acceptor;
    const char *remote_path;
    msgwire_msrp_transport *transport;
    msgwire_status status;
};

/* Blocks until alice connects and binds (or the timeout passes). */
static void *accept_thread(void *arg)
{
    struct accept_job *job = arg;
    job->status =
        msgwire_msrp_acceptor_complete(job->acceptor, job->remote_path, &job->transport);
    if (job->status != MSGWIRE_OK) {
        failed(job->status, "bob: msgwire_msrp_acceptor_complete");
    }
    return NULL;
}

/* Sends one text message asking for a success REPORT, waiting for the 200. */
static bool say(msgwire_msrp_session *session, const char *who, const char *text)
{
    msgwire_msrp_chunk *msg = NULL, *response = NULL;
    bool ok = !failed(msgwire_msrp_session_make_message(session, (const uint8_t *)text,
                                                        strlen(text), "text/plain", &msg),
                      "make_message") &&
              !failed(msgwire_msrp_chunk_set_header(msg, "Success-Report", "yes"),
                      "set_header") &&
              !failed(msgwire_msrp_session_deliver_chunk(session, msg, &response),
                      "deliver_chunk");
    if (ok) {
        uint16_t code = 0;
        if (response != NULL) {
            msgwire_msrp_chunk_code(response, &code);
        }
        printf("%s sent \"%s\": %u\n", who, text, (unsigned)code);
        fflush(stdout);
    }
    msgwire_msrp_chunk_free(response);
    msgwire_msrp_chunk_free(msg);
    return ok;
}

/* Whether `p` has received at least `messages` messages and `reports`
 * REPORTs. Call with the chat locked. */
static bool has(const struct peer *p, int messages, int reports)
{
    return p->messages >= messages && p->reports >= reports;
}

/* Waits until every message and REPORT of the conversation has arrived, or
 * ten seconds pass. */
static bool wait_for_all(struct chat *chat, struct peer *alice, struct peer *bob)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    bool done = false;
    pthread_mutex_lock(&chat->lock);
    while (!(done = has(alice, 1, (int)ALICE_COUNT) && has(bob, (int)ALICE_COUNT, 1))) {
        if (pthread_cond_timedwait(&chat->changed, &chat->lock, &deadline) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&chat->lock);
    return done;
}

int main(void)
{
    struct chat chat;
    pthread_mutex_init(&chat.lock, NULL);
    pthread_cond_init(&chat.changed, NULL);
    struct peer alice = {.name = "alice", .chat = &chat};
    struct peer bob = {.name = "bob", .chat = &chat};

    msgwire_msrp_acceptor *acceptor = NULL;
    msgwire_msrp_connector *connector = NULL;
    msgwire_msrp_transport *alice_transport = NULL;
    msgwire_msrp_session *alice_session = NULL, *bob_session = NULL;
    char bob_path[PATH_CAP], alice_path[PATH_CAP];
    size_t len = 0;
    bool ok = false;
    struct accept_job job = {.acceptor = NULL, .remote_path = alice_path};
    pthread_t thread;
    msgwire_msrp_session_config cfg;
    msgwire_msrp_session_callbacks callbacks = {
        .on_incoming = on_incoming,
        .on_closed = on_closed,
    };

    msgwire_msrp_bind_options opts;
    msgwire_msrp_bind_options_default(&opts);
    opts.connect_timeout_ms = opts.incoming_connect_timeout_ms = opts.bind_timeout_ms = 5000;

    /* 1-2: both sides choose their paths (bob listens on a free port). */
    if (failed(msgwire_msrp_acceptor_new(&opts, &acceptor), "acceptor_new") ||
        failed(msgwire_msrp_acceptor_prepare(acceptor, "msrp://127.0.0.1:0/bobsession;tcp",
                                             bob_path, sizeof bob_path, &len),
               "acceptor_prepare") ||
        failed(msgwire_msrp_connector_new(&opts, &connector), "connector_new") ||
        failed(msgwire_msrp_connector_prepare(connector, NULL, alice_path, sizeof alice_path,
                                              &len),
               "connector_prepare")) {
        goto out;
    }
    printf("bob's path:   %s\nalice's path: %s\n", bob_path, alice_path);

    /* 3: bind. Bob waits on a thread while alice connects. */
    job.acceptor = acceptor;
    if (pthread_create(&thread, NULL, accept_thread, &job) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        goto out;
    }
    msgwire_status connected =
        msgwire_msrp_connector_complete(connector, bob_path, &alice_transport);
    pthread_join(thread, NULL);
    if (failed(connected, "alice: connector_complete") || job.status != MSGWIRE_OK) {
        msgwire_msrp_transport_free(job.transport);
        goto out;
    }

    /* 4: sessions. The transports are consumed by start. */
    msgwire_msrp_session_config_default(&cfg);
    cfg.accept_types = "text/plain";
    cfg.keepalive_interval_ms = 0;
    msgwire_status started =
        msgwire_msrp_session_start(alice_transport, &cfg, &callbacks, &alice, &alice_session);
    alice_transport = NULL;
    if (failed(started, "alice: session_start")) {
        msgwire_msrp_transport_free(job.transport);
        goto out;
    }
    if (failed(msgwire_msrp_session_start(job.transport, &cfg, &callbacks, &bob, &bob_session),
               "bob: session_start")) {
        goto out;
    }

    ok = true;
    for (size_t i = 0; i < ALICE_COUNT; i++) {
        ok = ok && say(alice_session, "alice", ALICE_SAYS[i]);
    }
    ok = ok && say(bob_session, "bob", "Yes, send them over.");
    ok = ok && wait_for_all(&chat, &alice, &bob);
    if (!ok) {
        fprintf(stderr, "not every message or REPORT arrived\n");
    }

    /* 5: alice hangs up gracefully; bob's side sees the connection end. */
    if (failed(msgwire_msrp_session_shutdown(alice_session, true), "alice: shutdown") ||
        failed(msgwire_msrp_session_shutdown(bob_session, true), "bob: shutdown")) {
        ok = false;
    }

    pthread_mutex_lock(&chat.lock);
    printf("alice: %d messages, %d REPORTs; bob: %d messages, %d REPORTs\n", alice.messages,
           alice.reports, bob.messages, bob.reports);
    ok = ok && alice.closed && bob.closed && has(&alice, 1, (int)ALICE_COUNT) &&
         has(&bob, (int)ALICE_COUNT, 1);
    pthread_mutex_unlock(&chat.lock);

out:
    msgwire_msrp_session_free(alice_session);
    msgwire_msrp_session_free(bob_session);
    msgwire_msrp_transport_free(alice_transport);
    msgwire_msrp_connector_free(connector);
    msgwire_msrp_acceptor_free(acceptor);
    pthread_cond_destroy(&chat.changed);
    pthread_mutex_destroy(&chat.lock);
    printf("%s\n", ok ? "chat finished" : "chat FAILED");
    return ok ? 0 : 1;
}
