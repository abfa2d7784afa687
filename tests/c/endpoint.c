/* Tests of MSRP endpoints through the C API: binding an acceptor and a
 * connector on 127.0.0.1, exchanging messages and REPORTs through the
 * session callbacks, 415 through accept_types, NULL arguments, freeing a
 * session without shutdown, and the bind timeout against a listener that
 * never answers. Run under valgrind by tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msgwire.h"

#include "bind.h"
#include "check.h"
#include "recorder.h"

/* ---- binding a pair ------------------------------------------------------ */

/* Binds an acceptor and a connector on 127.0.0.1 and writes both
 * transports; returns whether it worked. */
static bool bind_pair(msgwire_msrp_transport **passive, msgwire_msrp_transport **active)
{
    msgwire_msrp_acceptor *acceptor = NULL;
    msgwire_msrp_connector *connector = NULL;
    char apath[PATH_CAP], cpath[PATH_CAP], again[PATH_CAP];
    size_t len = 0;
    bool ok = false;

    CHECK_OK(msgwire_msrp_acceptor_new(NULL, &acceptor));
    CHECK_OK(msgwire_msrp_connector_new(NULL, &connector));
    if (acceptor == NULL || connector == NULL) {
        goto out;
    }
    CHECK_OK(msgwire_msrp_acceptor_prepare(acceptor, NULL, apath, sizeof apath, &len));
    CHECK(len == strlen(apath));
    /* Port 0 became the real port; the session-id is random. */
    /* No URI: the default-route address (as the legacy library chose it). */
    char ip[64], prefix[96];
    CHECK_OK(msgwire_default_ip(ip, sizeof ip, &len));
    snprintf(prefix, sizeof prefix, strchr(ip, ':') ? "msrp://[%s]:" : "msrp://%s:", ip);
    CHECK(strncmp(apath, prefix, strlen(prefix)) == 0 && strstr(apath, ":0/") == NULL);
    CHECK(strstr(apath, ";tcp") != NULL);
    CHECK_OK(msgwire_msrp_acceptor_local_path(acceptor, again, sizeof again, &len));
    CHECK(strcmp(again, apath) == 0);

    /* A too small buffer still prepares, and reports the length. */
    char tiny[4];
    CHECK_STATUS(msgwire_msrp_connector_prepare(connector, "msrp://127.0.0.1:0/alice1;tcp", tiny,
                                                sizeof tiny, &len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == strlen("msrp://127.0.0.1:2855/alice1;tcp"));
    CHECK_OK(msgwire_msrp_connector_local_path(connector, cpath, sizeof cpath, &len));
    CHECK(strcmp(cpath, "msrp://127.0.0.1:2855/alice1;tcp") == 0);

    struct accept_job job = {.acceptor = acceptor, .remote_path = cpath};
    pthread_t thread;
    if (pthread_create(&thread, NULL, accept_thread, &job) != 0) {
        goto out;
    }
    CHECK_OK(msgwire_msrp_connector_complete(connector, apath, active));
    pthread_join(thread, NULL);
    CHECK_OK(job.status);
    *passive = job.transport;
    ok = *active != NULL && *passive != NULL;
out:
    msgwire_msrp_connector_free(connector);
    msgwire_msrp_acceptor_free(acceptor);
    return ok;
}

static msgwire_msrp_chunk *message(msgwire_msrp_session *s, const char *text, bool report)
{
    msgwire_msrp_chunk *chunk = NULL;
    CHECK_OK(msgwire_msrp_session_make_message(s, (const uint8_t *)text, strlen(text),
                                               "text/plain", &chunk));
    if (chunk != NULL && report) {
        CHECK_OK(msgwire_msrp_chunk_set_header(chunk, "Success-Report", "yes"));
    }
    return chunk;
}

/* ---- tests ---------------------------------------------------------------- */

/* Counts what a session's traffic logger reports. */
struct traffic {
    pthread_mutex_t lock;
    int rx_start, rx_end, tx_start, tx_end;
    size_t rx_data;
    char connection[160];
};

static struct traffic *traffic_note(void *ud, const char *connection)
{
    struct traffic *t = ud;
    pthread_mutex_lock(&t->lock);
    snprintf(t->connection, sizeof t->connection, "%s", connection);
    return t;
}

static void traffic_rx_start(void *ud, const char *c, const char *tid, const uint8_t *b, size_t n)
{
    struct traffic *t = traffic_note(ud, c);
    (void)tid;
    if (n >= 5 && memcmp(b, "MSRP ", 5) == 0) {
        t->rx_start++;
    }
    pthread_mutex_unlock(&t->lock);
}

static void traffic_rx_data(void *ud, const char *c, const char *tid, const uint8_t *b, size_t n)
{
    struct traffic *t = traffic_note(ud, c);
    (void)tid;
    (void)b;
    t->rx_data += n;
    pthread_mutex_unlock(&t->lock);
}

static void traffic_rx_end(void *ud, const char *c, const char *tid, const uint8_t *b, size_t n)
{
    struct traffic *t = traffic_note(ud, c);
    if (n == strlen(tid) + 8 && memcmp(b, "-------", 7) == 0) {
        t->rx_end++;
    }
    pthread_mutex_unlock(&t->lock);
}

static void traffic_tx_start(void *ud, const char *c, const char *tid, const uint8_t *b, size_t n)
{
    struct traffic *t = traffic_note(ud, c);
    (void)tid;
    if (n >= 5 && memcmp(b, "MSRP ", 5) == 0) {
        t->tx_start++;
    }
    pthread_mutex_unlock(&t->lock);
}

static void traffic_tx_end(void *ud, const char *c, const char *tid, const uint8_t *b, size_t n)
{
    struct traffic *t = traffic_note(ud, c);
    if (n == strlen(tid) + 12 && memcmp(b, "\r\n-------", 9) == 0) {
        t->tx_end++;
    }
    pthread_mutex_unlock(&t->lock);
}

static const msgwire_msrp_traffic_callbacks TRAFFIC = {
    .received_new_chunk = traffic_rx_start,
    .received_chunk_data = traffic_rx_data,
    .received_chunk_end = traffic_rx_end,
    .sent_new_chunk = traffic_tx_start,
    .sent_chunk_end = traffic_tx_end,
};

static void test_exchange(void)
{
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (!bind_pair(&tp, &ta)) {
        msgwire_msrp_transport_free(tp);
        msgwire_msrp_transport_free(ta);
        return;
    }
    struct recorder bob, alice;
    recorder_init(&bob);
    recorder_init(&alice);
    msgwire_msrp_session *sb = NULL, *sa = NULL;
    msgwire_msrp_session_config cfg;
    CHECK_OK(msgwire_msrp_session_config_default(&cfg));
    CHECK(cfg.accept_types == NULL && cfg.automatic_reports && cfg.response_timeout_ms == 30000);
    CHECK(cfg.traffic == NULL && cfg.traffic_user_data == NULL);
    cfg.keepalive_interval_ms = 0;
    struct traffic traffic;
    memset(&traffic, 0, sizeof traffic);
    pthread_mutex_init(&traffic.lock, NULL);
    cfg.traffic = &TRAFFIC;
    cfg.traffic_user_data = &traffic;
    CHECK_OK(msgwire_msrp_session_start(tp, &cfg, recorder_callbacks(), &bob, &sb));
    CHECK_OK(msgwire_msrp_session_start(ta, NULL, recorder_callbacks(), &alice, &sa));
    if (sb == NULL || sa == NULL) {
        goto out;
    }

    /* deliver_chunk: a 200 response and a REPORT. */
    msgwire_msrp_chunk *m = message(sa, "hello bob", true), *resp = NULL;
    CHECK_OK(msgwire_msrp_session_deliver_chunk(sa, m, &resp));
    uint16_t code = 0;
    CHECK(resp != NULL && msgwire_msrp_chunk_code(resp, &code) == MSGWIRE_OK && code == 200);
    msgwire_msrp_chunk_free(resp);
    msgwire_msrp_chunk_free(m);
    CHECK(wait_count(&bob, &bob.sends, 1));
    CHECK(wait_count(&alice, &alice.reports, 1));
    pthread_mutex_lock(&bob.lock);
    CHECK(strcmp(bob.last_body, "hello bob") == 0);
    pthread_mutex_unlock(&bob.lock);
    /* Bob's traffic logger saw the SEND come in and the 200 + REPORT go out. */
    pthread_mutex_lock(&traffic.lock);
    CHECK(traffic.rx_start >= 1 && traffic.rx_end >= 1 && traffic.rx_data >= strlen("hello bob"));
    CHECK(traffic.tx_start >= 2 && traffic.tx_end >= 2);
    CHECK(strstr(traffic.connection, " <-> ") != NULL);
    {
        char ip[64], label[96];
        size_t n = 0;
        CHECK_OK(msgwire_default_ip(ip, sizeof ip, &n));
        snprintf(label, sizeof label, strchr(ip, ':') ? " <-> [%s]:" : " <-> %s:", ip);
        CHECK(strstr(traffic.connection, label) != NULL);
    }
    pthread_mutex_unlock(&traffic.lock);

    /* send_chunk: the response goes to on_response. */
    m = message(sb, "hi alice", false);
    CHECK_OK(msgwire_msrp_session_send_chunk(sb, m));
    /* The same transaction again while the first waits, or after: either a
     * duplicate error or accepted; never a crash. */
    msgwire_msrp_chunk_free(m);
    CHECK(wait_count(&bob, &bob.responses, 1));
    CHECK(wait_count(&alice, &alice.sends, 1));
    pthread_mutex_lock(&bob.lock);
    CHECK(bob.last_code == 200);
    pthread_mutex_unlock(&bob.lock);

    /* Failure-Report: no -> no response, OK and NULL. */
    m = message(sa, "fire and forget", false);
    CHECK_OK(msgwire_msrp_chunk_set_header(m, "Failure-Report", "no"));
    resp = (msgwire_msrp_chunk *)&resp; /* must be overwritten with NULL */
    CHECK_OK(msgwire_msrp_session_deliver_chunk(sa, m, &resp));
    CHECK(resp == NULL);
    msgwire_msrp_chunk_free(m);
    CHECK(wait_count(&bob, &bob.sends, 2));

    /* Graceful end: both see on_closed with MSGWIRE_OK. */
    CHECK_OK(msgwire_msrp_session_shutdown(sa, true));
    CHECK(wait_count(&alice, &alice.closed, 1));
    CHECK(wait_count(&bob, &bob.closed, 1));
    CHECK(alice.close_reason == MSGWIRE_OK);
    CHECK_OK(msgwire_msrp_session_shutdown(sb, true));
    CHECK_OK(msgwire_msrp_session_shutdown(sa, true)); /* again: no-op */

    /* Sending after shutdown is refused. */
    m = message(sa, "too late", false);
    CHECK_STATUS(msgwire_msrp_session_send_chunk(sa, m), MSGWIRE_MSRP_ENDPOINT_CLOSED);
    msgwire_msrp_chunk_free(m);
out:
    msgwire_msrp_session_free(sa);
    msgwire_msrp_session_free(sb);
    CHECK(alice.freed && bob.freed);
    CHECK(alice.closed == 1 && bob.closed == 1);
    pthread_mutex_destroy(&traffic.lock);
    recorder_destroy(&bob);
    recorder_destroy(&alice);
}

static void test_unsupported_type(void)
{
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (!bind_pair(&tp, &ta)) {
        msgwire_msrp_transport_free(tp);
        msgwire_msrp_transport_free(ta);
        return;
    }
    struct recorder bob, alice;
    recorder_init(&bob);
    recorder_init(&alice);
    msgwire_msrp_session *sb = NULL, *sa = NULL;
    msgwire_msrp_session_config cfg;
    CHECK_OK(msgwire_msrp_session_config_default(&cfg));
    cfg.accept_types = "message/cpim, text/html";
    CHECK_OK(msgwire_msrp_session_start(tp, &cfg, recorder_callbacks(), &bob, &sb));
    CHECK_OK(msgwire_msrp_session_start(ta, NULL, recorder_callbacks(), &alice, &sa));
    if (sb != NULL && sa != NULL) {
        msgwire_msrp_chunk *m = message(sa, "plain text", true), *resp = NULL;
        CHECK_STATUS(msgwire_msrp_session_deliver_chunk(sa, m, &resp),
                     MSGWIRE_MSRP_ENDPOINT_RESPONSE);
        CHECK(strstr(msgwire_last_error(), "415") != NULL);
        CHECK(resp == NULL);
        msgwire_msrp_chunk_free(m);
        pthread_mutex_lock(&bob.lock);
        CHECK(bob.sends == 0);
        pthread_mutex_unlock(&bob.lock);
    }
    msgwire_msrp_session_free(sa);
    msgwire_msrp_session_free(sb);
    CHECK(alice.freed && bob.freed);
    recorder_destroy(&bob);
    recorder_destroy(&alice);
}

/* Freeing sessions that were never shut down returns at once, releases
 * user_data and leaks nothing (valgrind checks that). */
static void test_free_without_shutdown(void)
{
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (!bind_pair(&tp, &ta)) {
        msgwire_msrp_transport_free(tp);
        msgwire_msrp_transport_free(ta);
        return;
    }
    struct recorder bob, alice;
    recorder_init(&bob);
    recorder_init(&alice);
    msgwire_msrp_session *sb = NULL, *sa = NULL;
    CHECK_OK(msgwire_msrp_session_start(tp, NULL, recorder_callbacks(), &bob, &sb));
    CHECK_OK(msgwire_msrp_session_start(ta, NULL, recorder_callbacks(), &alice, &sa));
    if (sa != NULL) {
        /* A request in flight at free time. */
        msgwire_msrp_chunk *m = message(sa, "going away", true);
        CHECK_OK(msgwire_msrp_session_send_chunk(sa, m));
        msgwire_msrp_chunk_free(m);
    }
    time_t start = time(NULL);
    msgwire_msrp_session_free(sa);
    msgwire_msrp_session_free(sb);
    CHECK(time(NULL) - start < 5);
    CHECK(alice.freed && bob.freed);

    /* A bound transport may be freed without starting a session. */
    tp = ta = NULL;
    if (bind_pair(&tp, &ta)) {
        msgwire_msrp_transport_free(tp);
        msgwire_msrp_transport_free(ta);
    }
    recorder_destroy(&bob);
    recorder_destroy(&alice);
}

/* shutdown(false) returns at once and the session still ends: on_closed
 * comes, a waiting shutdown returns, and free releases user_data. (Freeing
 * right after shutdown(false) is allowed too, but leaves the background
 * close running at that moment, which valgrind would see at exit.) */
static void test_shutdown_no_wait(void)
{
    msgwire_msrp_transport *tp = NULL, *ta = NULL;
    if (!bind_pair(&tp, &ta)) {
        msgwire_msrp_transport_free(tp);
        msgwire_msrp_transport_free(ta);
        return;
    }
    struct recorder a, b;
    recorder_init(&a);
    recorder_init(&b);
    msgwire_msrp_session *sa = NULL, *sb = NULL;
    CHECK_OK(msgwire_msrp_session_start(ta, NULL, recorder_callbacks(), &a, &sa));
    CHECK_OK(msgwire_msrp_session_start(tp, NULL, recorder_callbacks(), &b, &sb));
    if (sa != NULL && sb != NULL) {
        CHECK_OK(msgwire_msrp_session_shutdown(sa, false));
        CHECK(wait_count(&a, &a.closed, 1));
        CHECK(wait_count(&b, &b.closed, 1));
        CHECK_OK(msgwire_msrp_session_shutdown(sa, true));
    }
    msgwire_msrp_session_free(sa);
    msgwire_msrp_session_free(sb);
    CHECK(a.freed && b.freed);
    recorder_destroy(&a);
    recorder_destroy(&b);
}

static void test_null_arguments(void)
{
    char buf[PATH_CAP];
    size_t len = 0;
    msgwire_msrp_connector *c = NULL;
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_transport *t = NULL;
    msgwire_msrp_session *s = NULL;
    msgwire_msrp_chunk *chunk = NULL;

    CHECK_STATUS(msgwire_msrp_bind_options_default(NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_session_config_default(NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_connector_new(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_acceptor_new(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_connector_prepare(NULL, NULL, buf, sizeof buf, &len),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_acceptor_prepare(NULL, NULL, buf, sizeof buf, &len),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_connector_complete(NULL, "msrp://a:1/x;tcp", &t),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_acceptor_complete(NULL, "msrp://a:1/x;tcp", &t),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_session_start(NULL, NULL, NULL, NULL, &s), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_session_send_chunk(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_session_deliver_chunk(NULL, NULL, &chunk), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_session_make_message(NULL, NULL, 0, "text/plain", &chunk),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_session_shutdown(NULL, true), MSGWIRE_NULL_PARAMETER);
    CHECK(t == NULL && s == NULL && chunk == NULL);

    /* A failing start still releases user_data. */
    struct recorder r;
    recorder_init(&r);
    CHECK_STATUS(msgwire_msrp_session_start(NULL, NULL, recorder_callbacks(), &r, &s),
                 MSGWIRE_NULL_PARAMETER);
    CHECK(r.freed);
    recorder_destroy(&r);

    /* Every _free accepts NULL. */
    msgwire_msrp_connector_free(NULL);
    msgwire_msrp_acceptor_free(NULL);
    msgwire_msrp_transport_free(NULL);
    msgwire_msrp_session_free(NULL);

    /* Bad arguments on live objects. */
    msgwire_msrp_bind_options opts;
    CHECK_OK(msgwire_msrp_bind_options_default(&opts));
    CHECK(opts.connect_timeout_ms == 30000 && !opts.use_sessmatch);
    opts.bind_timeout_ms = 0;
    CHECK_STATUS(msgwire_msrp_connector_new(&opts, &c), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    CHECK_OK(msgwire_msrp_acceptor_new(NULL, &a));
    CHECK_STATUS(msgwire_msrp_connector_local_path(c, buf, sizeof buf, &len), MSGWIRE_NOT_FOUND);
    CHECK_STATUS(msgwire_msrp_connector_prepare(c, "http://x/", buf, sizeof buf, &len),
                 MSGWIRE_MSRP_URI_BAD_SCHEME);
    CHECK_STATUS(msgwire_msrp_connector_prepare(c, NULL, buf, sizeof buf, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_connector_complete(c, NULL, &t), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_connector_complete(c, "   ", &t), MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH);
    CHECK_STATUS(msgwire_msrp_connector_complete(c, "msrp://127.0.0.1:9/x;tcp", NULL),
                 MSGWIRE_NULL_PARAMETER);
    /* Completing an acceptor that was never prepared. */
    CHECK_STATUS(msgwire_msrp_acceptor_complete(a, "msrp://127.0.0.1:9/x;tcp", &t),
                 MSGWIRE_MSRP_ENDPOINT_CLOSED);
    CHECK(t == NULL);
    msgwire_msrp_connector_free(c);
    msgwire_msrp_acceptor_free(a);
}

/* A listener that accepts TCP (the kernel completes the handshake) but
 * never answers: the connector must give up after its bind timeout. */
static void test_bind_timeout(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t alen = sizeof addr;
    CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
    CHECK(listen(fd, 4) == 0);
    CHECK(getsockname(fd, (struct sockaddr *)&addr, &alen) == 0);

    char remote[128];
    snprintf(remote, sizeof remote, "msrp://127.0.0.1:%u/silent;tcp", ntohs(addr.sin_port));

    msgwire_msrp_bind_options opts;
    CHECK_OK(msgwire_msrp_bind_options_default(&opts));
    opts.bind_timeout_ms = 100;
    msgwire_msrp_connector *c = NULL;
    msgwire_msrp_transport *t = NULL;
    CHECK_OK(msgwire_msrp_connector_new(&opts, &c));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_STATUS(msgwire_msrp_connector_complete(c, remote, &t), MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(secs < 5.0);
    CHECK(t == NULL);
    msgwire_msrp_connector_free(c);

    /* The acceptor side: nobody connects within its incoming timeout. */
    msgwire_msrp_acceptor *a = NULL;
    char path[PATH_CAP];
    size_t len = 0;
    opts.incoming_connect_timeout_ms = 50;
    CHECK_OK(msgwire_msrp_acceptor_new(&opts, &a));
    CHECK_OK(msgwire_msrp_acceptor_prepare(a, NULL, path, sizeof path, &len));
    CHECK_STATUS(msgwire_msrp_acceptor_complete(a, remote, &t),
                 MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT);
    msgwire_msrp_acceptor_free(a);
    close(fd);
}

int main(void)
{
    /* First, so that its background shutdown thread is long gone at exit. */
    test_shutdown_no_wait();
    test_null_arguments();
    test_bind_timeout();
    test_exchange();
    test_unsupported_type();
    test_free_without_shutdown();
    CHECK(strcmp(msgwire_status_text(MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT),
                 "MSRP endpoint: binding timed out") == 0);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
