/*
 * relay_chat - two MSRP endpoints chatting through an MSRP relay (RFC 4976),
 * all in one process on 127.0.0.1.
 *
 *     relay_chat
 *
 *   1. An in-process relay starts (plain TCP on a free port: TLS is what
 *      RFC 4976 asks for, plain TCP is for tests and closed networks),
 *      with two users, alice and bob.
 *   2. Both endpoints authenticate at the relay (digest AUTH) and get their
 *      paths: the relay's reservation for them, then their own URI. These
 *      are what would go into SDP a=path.
 *   3. They bind through the relay: alice (active) sends the bind SEND,
 *      bob (passive) waits for it; the relay moves its URI from To-Path to
 *      From-Path at each hop.
 *   4. Sessions start on the bound transports. Alice sends messages asking
 *      for success REPORTs, bob answers; both print what arrives, with the
 *      From-Path showing the relay hops.
 *   5. Both sessions shut down, then the relay (gracefully) and
 *      everything is freed.
 *
 * Exit status 0 when every message and REPORT arrived, 1 otherwise.
 *
 * Build, from a checkout after `make build` (which writes msgwire.pc):
 *     PKG_CONFIG_PATH=target/release \
 *     cc -std=c11 -pthread relay_chat.c $(pkg-config --cflags --libs msgwire)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

#define PATH_CAP 1024
#define REALM "relay.example"

static const char *const ALICE_SAYS[] = {
    "Hi Bob, this goes through the relay.",
    "Neither of us needs an open port.",
};
#define ALICE_COUNT (int)(sizeof ALICE_SAYS / sizeof ALICE_SAYS[0])

struct peer {
    const char *name;
    pthread_mutex_t *lock;
    pthread_cond_t *changed;
    int messages;
    int reports;
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

/* Runs on a msgwire worker thread; the chunk is lent for the call. */
static void on_incoming(void *user_data, const msgwire_msrp_chunk *chunk)
{
    struct peer *p = user_data;
    msgwire_str method, from;
    const uint8_t *body = NULL;
    size_t len = 0;
    if (msgwire_msrp_chunk_method(chunk, &method) != MSGWIRE_OK) {
        return;
    }
    pthread_mutex_lock(p->lock);
    if (method.len == 4 && memcmp(method.ptr, "SEND", 4) == 0 &&
        msgwire_msrp_chunk_body(chunk, &body, &len) == MSGWIRE_OK) {
        p->messages++;
        printf("%s received message: %.*s\n", p->name, (int)len, (const char *)body);
        if (msgwire_msrp_chunk_header(chunk, "From-Path", &from) == MSGWIRE_OK) {
            printf("%s   From-Path: %s\n", p->name, from.ptr);
        }
    } else if (method.len == 6 && memcmp(method.ptr, "REPORT", 6) == 0) {
        p->reports++;
        printf("%s received REPORT\n", p->name);
    }
    fflush(stdout);
    pthread_cond_broadcast(p->changed);
    pthread_mutex_unlock(p->lock);
}

/* One endpoint's relay connection, prepared: its path for SDP. */
struct endpoint {
    const char *name;
    msgwire_msrp_relay_connection *conn;
    char path[PATH_CAP];
    const char *remote_path;
    msgwire_msrp_transport *transport;
    msgwire_status status;
};

static bool prepare(struct endpoint *e, const char *relay_address, const char *user,
                    const char *password, msgwire_msrp_relay_mode mode)
{
    char host[64];
    const char *colon = strrchr(relay_address, ':');
    size_t hlen = (size_t)(colon - relay_address);
    if (colon == NULL || hlen >= sizeof host) {
        return false;
    }
    memcpy(host, relay_address, hlen);
    host[hlen] = '\0';

    msgwire_msrp_relay_settings *settings = NULL;
    size_t len = 0;
    bool ok = !failed(msgwire_msrp_relay_settings_new(REALM, user, password, &settings),
                      "relay_settings_new") &&
              !failed(msgwire_msrp_relay_settings_set_host(settings, host), "set_host") &&
              !failed(msgwire_msrp_relay_settings_set_port(settings, (uint16_t)atoi(colon + 1)),
                      "set_port") &&
              !failed(msgwire_msrp_relay_connection_new(settings, mode, NULL, &e->conn),
                      "relay_connection_new") &&
              !failed(msgwire_msrp_relay_connection_prepare(e->conn, "msrp://127.0.0.1:0;tcp",
                                                            e->path, sizeof e->path, &len),
                      "relay_connection_prepare");
    msgwire_msrp_relay_settings_free(settings);
    if (ok) {
        printf("%s authenticated; path for SDP: %s\n", e->name, e->path);
    }
    return ok;
}

static void *complete_thread(void *arg)
{
    struct endpoint *e = arg;
    e->status = msgwire_msrp_relay_connection_complete(e->conn, e->remote_path, &e->transport);
    return NULL;
}

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

int main(void)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
    struct peer alice_peer = {.name = "alice", .lock = &lock, .changed = &changed};
    struct peer bob_peer = {.name = "bob", .lock = &lock, .changed = &changed};
    struct endpoint alice = {.name = "alice"}, bob = {.name = "bob"};
    msgwire_relay_config *config = NULL;
    msgwire_relay *relay = NULL;
    msgwire_msrp_session *alice_session = NULL, *bob_session = NULL;
    char relay_address[64];
    size_t len = 0;
    bool ok = false;

    /* 1: the relay. */
    if (failed(msgwire_relay_config_new(REALM, &config), "relay_config_new") ||
        failed(msgwire_relay_config_add_user(config, "alice", "alice-secret"), "add_user") ||
        failed(msgwire_relay_config_add_user(config, "bob", "bob-secret"), "add_user") ||
        failed(msgwire_relay_config_plain_tcp(config, "127.0.0.1:0"), "plain_tcp") ||
        failed(msgwire_relay_start(config, &relay), "relay_start") ||
        failed(msgwire_relay_plain_tcp_address(relay, relay_address, sizeof relay_address, &len),
               "plain_tcp_address")) {
        goto out;
    }
    printf("relay listening on %s (plain TCP)\n", relay_address);

    /* 2: both endpoints authenticate and learn their paths. */
    if (!prepare(&alice, relay_address, "alice", "alice-secret",
                 MSGWIRE_MSRP_RELAY_MODE_ACTIVE) ||
        !prepare(&bob, relay_address, "bob", "bob-secret", MSGWIRE_MSRP_RELAY_MODE_PASSIVE)) {
        goto out;
    }

    /* 3: bind through the relay; bob waits on a thread. */
    alice.remote_path = bob.path;
    bob.remote_path = alice.path;
    pthread_t thread;
    if (pthread_create(&thread, NULL, complete_thread, &bob) != 0) {
        goto out;
    }
    complete_thread(&alice);
    pthread_join(thread, NULL);
    if (failed(alice.status, "alice: relay_connection_complete") ||
        failed(bob.status, "bob: relay_connection_complete")) {
        goto out;
    }

    /* 4: sessions; the transports are consumed by start. */
    msgwire_msrp_session_config cfg;
    msgwire_msrp_session_config_default(&cfg);
    cfg.keepalive_interval_ms = 0;
    msgwire_msrp_session_callbacks callbacks = {.on_incoming = on_incoming};
    msgwire_status a = msgwire_msrp_session_start(alice.transport, &cfg, &callbacks, &alice_peer,
                                                  &alice_session);
    msgwire_status b =
        msgwire_msrp_session_start(bob.transport, &cfg, &callbacks, &bob_peer, &bob_session);
    alice.transport = bob.transport = NULL;
    if (failed(a, "alice: session_start") || failed(b, "bob: session_start")) {
        goto out;
    }
    ok = true;
    for (int i = 0; i < ALICE_COUNT; i++) {
        ok = ok && say(alice_session, "alice", ALICE_SAYS[i]);
    }
    ok = ok && say(bob_session, "bob", "Got them both, through the relay.");

    /* Wait (at most 10 s) for every message and REPORT. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(&lock);
    while (ok && !(bob_peer.messages >= ALICE_COUNT && alice_peer.reports >= ALICE_COUNT &&
                   alice_peer.messages >= 1 && bob_peer.reports >= 1)) {
        if (pthread_cond_timedwait(&changed, &lock, &deadline) != 0) {
            ok = false;
        }
    }
    printf("alice: %d messages, %d REPORTs; bob: %d messages, %d REPORTs\n",
           alice_peer.messages, alice_peer.reports, bob_peer.messages, bob_peer.reports);
    pthread_mutex_unlock(&lock);

    /* 5: shut down. */
    if (failed(msgwire_msrp_session_shutdown(alice_session, true), "alice: shutdown") ||
        failed(msgwire_msrp_session_shutdown(bob_session, true), "bob: shutdown")) {
        ok = false;
    }

out:
    msgwire_msrp_session_free(alice_session);
    msgwire_msrp_session_free(bob_session);
    msgwire_msrp_transport_free(alice.transport);
    msgwire_msrp_transport_free(bob.transport);
    msgwire_msrp_relay_connection_free(alice.conn);
    msgwire_msrp_relay_connection_free(bob.conn);
    if (relay != NULL) {
        msgwire_relay_shutdown(relay);
    }
    msgwire_relay_free(relay);
    msgwire_relay_config_free(config);
    printf("%s\n", ok ? "relay chat finished" : "relay chat FAILED");
    return ok ? 0 : 1;
}
