/* An STS/1.0 demo server.
 *
 *     sts_server [PORT [SECONDS]]
 *
 * Listens on 127.0.0.1:PORT (default 0: any free port), prints
 * "listening on port N" and serves:
 *
 *   /Demo/Echo   a final reply carrying the request's body and Content-Type
 *   /Demo/Count  three partial replies ("part 1".."part 3"), then "done"
 *   /Demo/Fail   an error reply (status 500, code 7)
 *   /Demo/Quit   stops the server (a simple message; a request is answered)
 *
 * Any other command gets msgwire's automatic 404 error reply. The server
 * stops after /Demo/Quit or after SECONDS (default 60), whichever comes
 * first, and exits 0.
 *
 * Route callbacks run on msgwire's connection threads: they answer at once
 * and never block. */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

/* Shared by every route; released by the route's user_data_free. */
struct demo_state {
    atomic_int requests; /* requests and messages handled */
    atomic_bool quit;
};

static void fail(const char *what, msgwire_status status)
{
    fprintf(stderr, "error: %s: %s (%s)\n", what, msgwire_status_text(status),
            msgwire_last_error());
}

static void on_echo(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    struct demo_state *state = user_data;
    atomic_fetch_add(&state->requests, 1);
    if (responder == NULL) {
        return; /* a simple message: nobody to answer */
    }
    const uint8_t *body;
    size_t len;
    msgwire_str content_type;
    char type[128] = "";
    if (msgwire_sts_message_header(request, "Content-Type", &content_type) == MSGWIRE_OK &&
        content_type.len < sizeof type) {
        memcpy(type, content_type.ptr, content_type.len + 1);
    }
    msgwire_status s = msgwire_sts_message_body(request, &body, &len);
    if (s == MSGWIRE_OK) {
        s = msgwire_sts_responder_reply(responder, body, len, type[0] ? type : NULL);
    }
    if (s != MSGWIRE_OK) {
        fail("echo reply", s);
    }
    msgwire_sts_responder_free(responder);
}

static void on_count(void *user_data, const msgwire_sts_message *request,
                     msgwire_sts_responder *responder)
{
    struct demo_state *state = user_data;
    (void)request;
    atomic_fetch_add(&state->requests, 1);
    if (responder == NULL) {
        return;
    }
    for (int i = 1; i <= 3; i++) {
        char part[32];
        int n = snprintf(part, sizeof part, "part %d", i);
        msgwire_status s =
            msgwire_sts_responder_partial(responder, (const uint8_t *)part, (size_t)n, "text/plain");
        if (s != MSGWIRE_OK) {
            fail("partial reply", s);
        }
    }
    msgwire_status s = msgwire_sts_responder_reply(responder, (const uint8_t *)"done", 4, "text/plain");
    if (s != MSGWIRE_OK) {
        fail("final reply", s);
    }
    msgwire_sts_responder_free(responder);
}

static void on_fail(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    struct demo_state *state = user_data;
    (void)request;
    atomic_fetch_add(&state->requests, 1);
    if (responder == NULL) {
        return;
    }
    msgwire_status s = msgwire_sts_responder_error(responder, 500, "Server Error", 7,
                                                   "this command always fails");
    if (s != MSGWIRE_OK) {
        fail("error reply", s);
    }
    msgwire_sts_responder_free(responder);
}

static void on_quit(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    struct demo_state *state = user_data;
    (void)request;
    atomic_fetch_add(&state->requests, 1);
    if (responder != NULL) {
        msgwire_sts_responder_reply(responder, NULL, 0, NULL);
        msgwire_sts_responder_free(responder);
    }
    atomic_store(&state->quit, true);
}

/* main and each route hold one reference to the state; the last release
 * frees it. */
struct shared_state {
    struct demo_state state;
    atomic_int refs;
};

static void release_state(void *user_data)
{
    struct shared_state *shared = user_data;
    if (atomic_fetch_sub(&shared->refs, 1) == 1) {
        free(shared);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 60.0;
    if (port > 65535 || seconds <= 0) {
        fprintf(stderr, "usage: %s [PORT [SECONDS]]\n", argv[0]);
        return 2;
    }

    char address[32];
    snprintf(address, sizeof address, "127.0.0.1:%lu", port);
    msgwire_sts_server *server = NULL;
    msgwire_status s = msgwire_sts_server_bind(address, NULL, &server);
    if (s != MSGWIRE_OK) {
        fail("bind", s);
        return 1;
    }

    struct shared_state *shared = calloc(1, sizeof *shared);
    if (shared == NULL) {
        msgwire_sts_server_free(server);
        return 1;
    }
    /* main's own reference, dropped at the end */
    atomic_store(&shared->refs, 1);
    static const struct {
        const char *command;
        msgwire_sts_route_callback callback;
    } routes[] = {
        {"Echo", on_echo}, {"Count", on_count}, {"Fail", on_fail}, {"Quit", on_quit}};
    int status = 0;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        atomic_fetch_add(&shared->refs, 1);
        /* On failure msgwire releases the reference itself. */
        s = msgwire_sts_server_route(server, "Demo", routes[i].command, routes[i].callback,
                                     &shared->state, release_state);
        if (s != MSGWIRE_OK) {
            fail("route", s);
            status = 1;
        }
    }

    uint16_t bound = 0;
    s = msgwire_sts_server_local_port(server, &bound);
    if (s != MSGWIRE_OK) {
        fail("local port", s);
        status = 1;
    }
    printf("listening on port %u\n", (unsigned)bound);
    fflush(stdout);

    double deadline = now() + seconds;
    while (status == 0 && !atomic_load(&shared->state.quit) && now() < deadline) {
        struct timespec t = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
        nanosleep(&t, NULL);
    }
    bool asked = atomic_load(&shared->state.quit);
    int handled = atomic_load(&shared->state.requests);

    /* Closes every connection, waits for running callbacks and releases the
     * routes' references (and with the last one, the state). */
    msgwire_sts_server_free(server);

    release_state(shared);

    printf("%s after %d requests\n", asked ? "quit requested" : "time is up", handled);
    printf("sts_server finished\n");
    return status;
}
