/* A serverResponse demo server, in the manner of GNU Bayonne's embedded
 * status service.
 *
 *     sr_server [PORT [SECONDS]]
 *
 * Listens on 127.0.0.1:PORT (default 0: any free port), prints
 * "listening on port N" and answers HTTP GETs:
 *
 *   /status.xml                    msgwire's built-in status (version,
 *                                  uptime, per-protocol counters)
 *   /registrations.xml[?driver=D]  the registrations table, only the rows
 *                                  of driver D when given
 *   /quit.xml                      an empty <results></results>, then the
 *                                  server stops
 *
 * Anything else gets the 404 fault. The server stops after /quit.xml or
 * after SECONDS (default 60), whichever comes first, and exits 0.
 *
 * Handlers run on the server's worker threads; each writes its reply
 * through the streaming writer it is given. */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

struct registration {
    const char *driver, *server, *userid, *access, *status;
};

static const struct registration REGISTRATIONS[] = {
    {"sip", "192.168.1.95", "291", "friend", "active"},
    {"sip", "192.168.1.97", "293", "user", "idle"},
    {"h323", "192.168.1.96", "292", "peer", "active"},
};

static atomic_bool quit;

static void fail(const char *what, msgwire_status status)
{
    fprintf(stderr, "error: %s: %s (%s)\n", what, msgwire_status_text(status),
            msgwire_last_error());
}

/* Whether a borrowed string equals a C string. */
static bool same(msgwire_str s, const char *c)
{
    return s.len == strlen(c) && memcmp(s.ptr, c, s.len) == 0;
}

static void on_registrations(void *user_data, const msgwire_sr_request *request,
                             msgwire_sr_writer *writer)
{
    (void)user_data;
    msgwire_str driver;
    bool filtered = msgwire_sr_request_get(request, "driver", &driver) == MSGWIRE_OK;
    msgwire_sr_writer_begin_lists(writer, "registrations");
    for (size_t i = 0; i < sizeof REGISTRATIONS / sizeof REGISTRATIONS[0]; i++) {
        const struct registration *r = &REGISTRATIONS[i];
        if (filtered && !same(driver, r->driver)) {
            continue;
        }
        /* Each row goes out as it is written: a long table never needs to
         * be held in memory. */
        msgwire_sr_writer_begin_row(writer, "registration");
        msgwire_sr_writer_item(writer, "driver", r->driver);
        msgwire_sr_writer_item(writer, "server", r->server);
        msgwire_sr_writer_item(writer, "userid", r->userid);
        msgwire_sr_writer_item(writer, "access", r->access);
        msgwire_sr_writer_item(writer, "status", r->status);
    }
}

static void on_quit(void *user_data, const msgwire_sr_request *request, msgwire_sr_writer *writer)
{
    (void)user_data;
    (void)request;
    (void)writer; /* nothing written: the "done" reply */
    atomic_store(&quit, true);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *port = argc > 1 ? argv[1] : "0";
    double seconds = argc > 2 ? atof(argv[2]) : 60.0;
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%s", port);

    msgwire_sr_server *server = NULL;
    msgwire_status status = msgwire_sr_server_bind(address, "bayonne", NULL, &server);
    if (status != MSGWIRE_OK) {
        fail("bind", status);
        return 1;
    }
    status = msgwire_sr_server_method(server, "registrations", on_registrations, NULL, NULL);
    if (status == MSGWIRE_OK) {
        status = msgwire_sr_server_method(server, "quit", on_quit, NULL, NULL);
    }
    uint16_t bound = 0;
    if (status == MSGWIRE_OK) {
        status = msgwire_sr_server_local_port(server, &bound);
    }
    if (status != MSGWIRE_OK) {
        fail("setup", status);
        msgwire_sr_server_free(server);
        return 1;
    }
    printf("listening on port %u\n", bound);
    fflush(stdout);

    double deadline = now() + seconds;
    while (!atomic_load(&quit) && now() < deadline) {
        struct timespec t = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
        nanosleep(&t, NULL);
    }
    bool asked = atomic_load(&quit);
    msgwire_sr_server_free(server);
    printf("%s\n", asked ? "quit requested" : "time is up");
    return 0;
}
