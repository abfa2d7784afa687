/* Tests of the MSRP server through the C API: two sessions bound through
 * one server port at the same time (one _complete by local URI, one by
 * From-Path only) carrying a message each, the prepared-path retry after
 * MSGWIRE_BUFFER_TOO_SMALL, bindings for unknown or cleaned-up session ids
 * rejected with 481, _close waking a blocked _complete, the incoming
 * timeout, NULL arguments, and _free without _close while a binding waits.
 * Run under valgrind by tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

#include "check.h"
#include "recorder.h"

#define PATH_CAP 512

static void sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The port of a path "msrp://host:port/...", or 0. */
static unsigned port_of(const char *path)
{
    const char *at = strstr(path, "://");
    if (at == NULL || (at = strchr(at + 3, ':')) == NULL) {
        return 0;
    }
    return (unsigned)strtoul(at + 1, NULL, 10);
}

/* ---- blocking calls on threads ----------------------------------------- */

/* One blocking _complete, of a connector or of the server. */
struct job {
    msgwire_msrp_connector *connector; /* set: connector job */
    const msgwire_msrp_server *server; /* else: server job */
    const char *local_uri;             /* server job: NULL or a prepared URI */
    const char *remote_path;
    msgwire_msrp_transport *transport;
    msgwire_status status;
    pthread_t thread;
    bool started;
};

static void *job_thread(void *arg)
{
    struct job *j = arg;
    if (j->connector != NULL) {
        j->status = msgwire_msrp_connector_complete(j->connector, j->remote_path, &j->transport);
    } else {
        j->status =
            msgwire_msrp_server_complete(j->server, j->local_uri, j->remote_path, &j->transport);
    }
    return NULL;
}

static void job_start(struct job *j)
{
    j->started = pthread_create(&j->thread, NULL, job_thread, j) == 0;
    CHECK(j->started);
}

static void job_join(struct job *j)
{
    if (j->started) {
        pthread_join(j->thread, NULL);
        j->started = false;
    }
}

static msgwire_msrp_bind_options short_options(void)
{
    msgwire_msrp_bind_options opts;
    CHECK_OK(msgwire_msrp_bind_options_default(&opts));
    opts.connect_timeout_ms = opts.incoming_connect_timeout_ms = opts.bind_timeout_ms = 5000;
    return opts;
}

/* ---- tests ------------------------------------------------------------------ */

/* Sends `text` from `client` and checks that `server_side` got it as its
 * `nth` message. */
static void exchange(msgwire_msrp_session *client, struct recorder *server_side, const char *text,
                     int nth)
{
    msgwire_msrp_chunk *m = NULL, *resp = NULL;
    CHECK_OK(msgwire_msrp_session_make_message(client, (const uint8_t *)text, strlen(text),
                                               "text/plain", &m));
    if (m == NULL) {
        return;
    }
    CHECK_OK(msgwire_msrp_session_deliver_chunk(client, m, &resp));
    uint16_t code = 0;
    CHECK(resp != NULL && msgwire_msrp_chunk_code(resp, &code) == MSGWIRE_OK && code == 200);
    msgwire_msrp_chunk_free(resp);
    msgwire_msrp_chunk_free(m);
    CHECK(wait_count(server_side, &server_side->sends, nth));
    pthread_mutex_lock(&server_side->lock);
    CHECK(strcmp(server_side->last_body, text) == 0);
    pthread_mutex_unlock(&server_side->lock);
}

static void test_two_sessions(void)
{
    msgwire_msrp_bind_options opts = short_options();
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_connector *c[2] = {NULL, NULL};
    char spath[2][PATH_CAP], cpath[2][PATH_CAP], again[PATH_CAP];
    size_t len = 0;

    CHECK_OK(msgwire_msrp_server_new(&opts, &server));
    CHECK_OK(msgwire_msrp_connector_new(&opts, &c[0]));
    CHECK_OK(msgwire_msrp_connector_new(&opts, &c[1]));
    if (server == NULL || c[0] == NULL || c[1] == NULL) {
        goto out;
    }
    /* Before any prepare there is no path to fetch. */
    CHECK_STATUS(msgwire_msrp_server_local_path(server, again, sizeof again, &len),
                 MSGWIRE_NOT_FOUND);

    /* NULL: the default-route address, a free port, a random session-id. */
    char ip[64], prefix[96];
    CHECK_OK(msgwire_default_ip(ip, sizeof ip, &len));
    CHECK(len == strlen(ip) && len >= 7);
    snprintf(prefix, sizeof prefix, strchr(ip, ':') ? "msrp://[%s]:" : "msrp://%s:", ip);
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath[0], sizeof spath[0], &len));
    CHECK(len == strlen(spath[0]));
    CHECK(strncmp(spath[0], prefix, strlen(prefix)) == 0 && port_of(spath[0]) != 0);
    CHECK_OK(msgwire_msrp_server_local_path(server, again, sizeof again, &len));
    CHECK(strcmp(again, spath[0]) == 0);

    /* A too small buffer: registered anyway, the path is kept for this
     * thread, and port 0 reuses the running listener. */
    char tiny[8], same_host[128];
    snprintf(same_host, sizeof same_host, strchr(ip, ':') ? "msrp://[%s]:0;tcp" : "msrp://%s:0;tcp",
             ip);
    CHECK_STATUS(msgwire_msrp_server_prepare(server, same_host, tiny, sizeof tiny, &len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    size_t needed = len;
    CHECK_STATUS(msgwire_msrp_server_local_path(server, tiny, sizeof tiny, &len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == needed);
    CHECK_OK(msgwire_msrp_server_local_path(server, spath[1], sizeof spath[1], &len));
    CHECK(len == needed && strlen(spath[1]) == needed);
    CHECK(strcmp(spath[0], spath[1]) != 0);
    CHECK(port_of(spath[1]) == port_of(spath[0]));

    CHECK_OK(msgwire_msrp_connector_prepare(c[0], "msrp://127.0.0.1:2855/client0;tcp", cpath[0],
                                            sizeof cpath[0], &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c[1], "msrp://127.0.0.1:2855/client1;tcp", cpath[1],
                                            sizeof cpath[1], &len));

    /* Four blocking calls at once: two server completes on one server (the
     * first by local URI, the second by From-Path only) and two
     * connectors, binding in the opposite order. */
    struct job jobs[4] = {
        {.server = server, .local_uri = spath[0], .remote_path = cpath[0]},
        {.server = server, .local_uri = NULL, .remote_path = cpath[1]},
        {.connector = c[1], .remote_path = spath[1]},
        {.connector = c[0], .remote_path = spath[0]},
    };
    for (int i = 0; i < 4; i++) {
        job_start(&jobs[i]);
    }
    for (int i = 0; i < 4; i++) {
        job_join(&jobs[i]);
        CHECK_OK(jobs[i].status);
    }

    /* Bound URIs are unregistered: completing one again fails at once. */
    msgwire_msrp_transport *t = NULL;
    CHECK_STATUS(msgwire_msrp_server_complete(server, spath[0], cpath[0], &t),
                 MSGWIRE_MSRP_ENDPOINT_CLOSED);
    CHECK(t == NULL);

    /* A message on each session arrives on its own server side. */
    struct recorder rec[2];
    msgwire_msrp_session *ss[2] = {NULL, NULL}, *cs[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        recorder_init(&rec[i]);
        msgwire_msrp_transport *server_side = jobs[i].transport;
        msgwire_msrp_transport *client_side = jobs[3 - i].transport;
        jobs[i].transport = jobs[3 - i].transport = NULL;
        if (server_side == NULL || client_side == NULL) {
            msgwire_msrp_transport_free(server_side);
            msgwire_msrp_transport_free(client_side);
            continue;
        }
        CHECK_OK(msgwire_msrp_session_start(server_side, NULL, recorder_callbacks(), &rec[i], &ss[i]));
        CHECK_OK(msgwire_msrp_session_start(client_side, NULL, NULL, NULL, &cs[i]));
    }
    if (cs[0] != NULL && cs[1] != NULL && ss[0] != NULL && ss[1] != NULL) {
        exchange(cs[1], &rec[1], "to session one", 1);
        exchange(cs[0], &rec[0], "to session zero", 1);
        pthread_mutex_lock(&rec[1].lock);
        CHECK(rec[1].sends == 1);
        pthread_mutex_unlock(&rec[1].lock);
    }
    /* The server may go before the sessions it made. */
    CHECK_OK(msgwire_msrp_server_close(server));
    msgwire_msrp_server_free(server);
    server = NULL;
    if (cs[0] != NULL && ss[0] != NULL) {
        exchange(cs[0], &rec[0], "after the server closed", 2);
    }
    for (int i = 0; i < 2; i++) {
        if (cs[i] != NULL) {
            CHECK_OK(msgwire_msrp_session_shutdown(cs[i], true));
        }
        msgwire_msrp_session_free(cs[i]);
        msgwire_msrp_session_free(ss[i]);
        recorder_destroy(&rec[i]);
    }
out:
    msgwire_msrp_connector_free(c[0]);
    msgwire_msrp_connector_free(c[1]);
    msgwire_msrp_server_free(server);
}

/* Bindings the server does not expect get 481, which the connector reports
 * as MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED. */
static void test_rejections(void)
{
    msgwire_msrp_bind_options opts = short_options();
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_connector *c = NULL;
    msgwire_msrp_transport *t = NULL;
    char spath[PATH_CAP], cpath[PATH_CAP], unknown[PATH_CAP];
    size_t len = 0;

    CHECK_OK(msgwire_msrp_server_new(&opts, &server));
    CHECK_OK(msgwire_msrp_connector_new(&opts, &c));
    if (server == NULL || c == NULL) {
        goto out;
    }
    CHECK_OK(msgwire_msrp_server_prepare(server, "msrp://127.0.0.1:0/known;tcp", spath,
                                         sizeof spath, &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c, NULL, cpath, sizeof cpath, &len));

    /* Right port, unknown session id. */
    snprintf(unknown, sizeof unknown, "msrp://127.0.0.1:%u/nosuchsession;tcp", port_of(spath));
    CHECK_STATUS(msgwire_msrp_connector_complete(c, unknown, &t),
                 MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED);
    CHECK(strstr(msgwire_last_error(), "481") != NULL);
    CHECK(t == NULL);

    /* A cleaned-up session: later bindings are refused, and completing it
     * fails at once. Cleanup of an unknown URI is fine. */
    CHECK_OK(msgwire_msrp_server_cleanup(server, spath));
    CHECK_OK(msgwire_msrp_server_cleanup(server, "msrp://127.0.0.1:1/never;tcp"));
    CHECK_STATUS(msgwire_msrp_connector_complete(c, spath, &t),
                 MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED);
    CHECK_STATUS(msgwire_msrp_server_complete(server, spath, cpath, &t),
                 MSGWIRE_MSRP_ENDPOINT_CLOSED);
    CHECK(t == NULL);
out:
    msgwire_msrp_connector_free(c);
    msgwire_msrp_server_free(server);
}

/* The From-Path check of _complete with a local URI: a binding from
 * another peer is answered 481 on both sides. */
static void test_mismatch(void)
{
    msgwire_msrp_bind_options opts = short_options();
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_connector *c = NULL;
    char spath[PATH_CAP], cpath[PATH_CAP];
    size_t len = 0;

    CHECK_OK(msgwire_msrp_server_new(&opts, &server));
    CHECK_OK(msgwire_msrp_connector_new(&opts, &c));
    if (server == NULL || c == NULL) {
        goto out;
    }
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c, NULL, cpath, sizeof cpath, &len));
    struct job connect = {.connector = c, .remote_path = spath};
    job_start(&connect);
    msgwire_msrp_transport *t = NULL;
    CHECK_STATUS(
        msgwire_msrp_server_complete(server, spath, "msrp://127.0.0.1:2855/someoneelse;tcp", &t),
        MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH);
    CHECK(t == NULL);
    job_join(&connect);
    CHECK_STATUS(connect.status, MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED);
    msgwire_msrp_transport_free(connect.transport);
out:
    msgwire_msrp_connector_free(c);
    msgwire_msrp_server_free(server);
}

/* _close wakes a thread blocked in _complete; nothing works afterwards. */
static void test_close_wakes_complete(void)
{
    msgwire_msrp_server *server = NULL;
    char spath[PATH_CAP];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_server_new(NULL, &server)); /* 30 s timeouts */
    if (server == NULL) {
        return;
    }
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len));
    struct job waiting = {.server = server, .local_uri = NULL,
                          .remote_path = "msrp://127.0.0.1:2855/nobody;tcp"};
    struct job by_uri = {.server = server, .local_uri = spath,
                         .remote_path = "msrp://127.0.0.1:2855/nobody;tcp"};
    job_start(&waiting);
    job_start(&by_uri);
    sleep_ms(100);
    double t0 = now();
    CHECK_OK(msgwire_msrp_server_close(server));
    job_join(&waiting);
    job_join(&by_uri);
    CHECK(now() - t0 < 5.0);
    CHECK_STATUS(waiting.status, MSGWIRE_MSRP_ENDPOINT_CLOSED);
    CHECK_STATUS(by_uri.status, MSGWIRE_MSRP_ENDPOINT_CLOSED);
    CHECK_OK(msgwire_msrp_server_close(server)); /* again: no-op */
    CHECK_STATUS(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len),
                 MSGWIRE_MSRP_ENDPOINT_CLOSED);
    msgwire_msrp_server_free(server);
}

/* Nobody binds within the incoming-connect timeout. */
static void test_incoming_timeout(void)
{
    msgwire_msrp_bind_options opts = short_options();
    opts.incoming_connect_timeout_ms = 50;
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_transport *t = NULL;
    char spath[PATH_CAP];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_server_new(&opts, &server));
    if (server == NULL) {
        return;
    }
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len));
    double t0 = now();
    CHECK_STATUS(msgwire_msrp_server_complete(server, spath, "msrp://127.0.0.1:2855/x;tcp", &t),
                 MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT);
    CHECK(now() - t0 < 5.0);
    CHECK(t == NULL);
    msgwire_msrp_server_free(server);
}

/* _free without _close while a connection is parked, unclaimed, and its
 * connector still waits for the 200: returns quickly, the connector fails,
 * nothing leaks (valgrind). */
static void test_free_without_close(void)
{
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_connector *c = NULL;
    char spath[PATH_CAP], cpath[PATH_CAP];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_server_new(NULL, &server)); /* 30 s timeouts */
    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    if (server == NULL || c == NULL) {
        msgwire_msrp_server_free(server);
        msgwire_msrp_connector_free(c);
        return;
    }
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len));
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c, NULL, cpath, sizeof cpath, &len));
    struct job connect = {.connector = c, .remote_path = spath};
    job_start(&connect);
    sleep_ms(200); /* let the bind SEND arrive and park */
    double t0 = now();
    msgwire_msrp_server_free(server);
    CHECK(now() - t0 < 5.0);
    job_join(&connect);
    CHECK(connect.status != MSGWIRE_OK);
    CHECK(now() - t0 < 5.0);
    msgwire_msrp_transport_free(connect.transport);
    msgwire_msrp_connector_free(c);

    /* A server that never prepared, and one that only prepared. */
    CHECK_OK(msgwire_msrp_server_new(NULL, &server));
    msgwire_msrp_server_free(server);
    server = NULL;
    CHECK_OK(msgwire_msrp_server_new(NULL, &server));
    CHECK_OK(msgwire_msrp_server_prepare(server, NULL, spath, sizeof spath, &len));
    msgwire_msrp_server_free(server);
}

static void test_null_arguments(void)
{
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_transport *t = NULL;
    char buf[PATH_CAP];
    size_t len = 0;
    const char *remote = "msrp://127.0.0.1:2855/x;tcp";

    CHECK_STATUS(msgwire_msrp_server_new(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_prepare(NULL, NULL, buf, sizeof buf, &len),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_local_path(NULL, buf, sizeof buf, &len),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_complete(NULL, NULL, remote, &t), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_cleanup(NULL, remote), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_close(NULL), MSGWIRE_NULL_PARAMETER);
    msgwire_msrp_server_free(NULL);

    msgwire_msrp_bind_options opts = short_options();
    opts.incoming_connect_timeout_ms = 0;
    CHECK_STATUS(msgwire_msrp_server_new(&opts, &server), MSGWIRE_INVALID_ARGUMENT);
    CHECK(server == NULL);
    CHECK_OK(msgwire_msrp_server_new(NULL, &server));
    if (server == NULL) {
        return;
    }
    CHECK_STATUS(msgwire_msrp_server_prepare(server, NULL, buf, sizeof buf, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_prepare(server, NULL, NULL, 16, &len),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_prepare(server, "http://x/", buf, sizeof buf, &len),
                 MSGWIRE_MSRP_URI_BAD_SCHEME);
    CHECK_STATUS(msgwire_msrp_server_prepare(server, "msrps://127.0.0.1:0/s;tcp", buf, sizeof buf,
                                             &len),
                 MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED);
    /* None of the failures above prepared anything. */
    CHECK_STATUS(msgwire_msrp_server_local_path(server, buf, sizeof buf, &len),
                 MSGWIRE_NOT_FOUND);
    CHECK_STATUS(msgwire_msrp_server_local_path(server, buf, sizeof buf, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_complete(server, NULL, NULL, &t), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_complete(server, NULL, remote, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_complete(server, NULL, "  ", &t),
                 MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH);
    CHECK_STATUS(msgwire_msrp_server_complete(server, "nonsense", remote, &t),
                 MSGWIRE_MSRP_URI_BAD_SCHEME);
    CHECK_STATUS(msgwire_msrp_server_cleanup(server, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_cleanup(server, "msrp://h/s"),
                 MSGWIRE_MSRP_URI_MISSING_TRANSPORT);
    CHECK(t == NULL);
    msgwire_msrp_server_free(server);
}

int main(void)
{
    test_null_arguments();
    test_two_sessions();
    test_rejections();
    test_mismatch();
    test_close_wakes_complete();
    test_incoming_timeout();
    test_free_without_close();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
