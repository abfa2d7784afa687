/* Tests of msrps (MSRP over TLS) through the C API, with the test-only
 * certificates of tests/data/tls (see the README there: a test CA, a
 * server certificate it issued for 127.0.0.1 and localhost, and an
 * unrelated CA): configuration errors and NULL arguments; a connector with
 * the insecure configuration and an acceptor exchanging messages in
 * sessions; a verifying connector trusting the test CA, exchanging chunks
 * on the raw transports; a connector trusting the unrelated CA, and a
 * plain TCP peer, failing with the TLS status; msrps without a
 * configuration failing with MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED; and
 * a server with TLS binding a session. Run under valgrind by
 * tests/c/run.sh, which sets MSGWIRE_TLS_TEST_DIR to that directory. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

#include "bind.h"
#include "check.h"
#include "recorder.h"
#include "tls_data.h"

/* ---- the test certificates ------------------------------------------- */

/* The whole file in a malloc'd buffer (release with free), or NULL. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    *len = 0;
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    buf = malloc(64 * 1024);
    if (buf != NULL) {
        *len = fread(buf, 1, 64 * 1024, f);
    }
    fclose(f);
    return buf;
}

static msgwire_tls_server_config *server_config(void)
{
    msgwire_tls_server_config *cfg = NULL;
    CHECK_OK(msgwire_tls_server_config_from_files(cert_path, key_path, &cfg));
    return cfg;
}

/* ---- configurations ---------------------------------------------------- */

static void test_configs(void)
{
    size_t cert_len = 0, key_len = 0, ca_len = 0;
    uint8_t *cert = read_file(cert_path, &cert_len);
    uint8_t *key = read_file(key_path, &key_len);
    uint8_t *ca = read_file(ca_path, &ca_len);
    CHECK(cert != NULL && key != NULL && ca != NULL);
    if (cert == NULL || key == NULL || ca == NULL) {
        free(cert);
        free(key);
        free(ca);
        return;
    }
    msgwire_tls_server_config *s = NULL;
    msgwire_tls_client_config *c = NULL;
    bool verifies = false;

    /* From memory (not NUL-terminated lengths) and from files. */
    CHECK_OK(msgwire_tls_server_config_from_pem(cert, cert_len, key, key_len, &s));
    CHECK(s != NULL);
    msgwire_tls_server_config_free(s);
    s = server_config();
    CHECK(s != NULL);
    msgwire_tls_server_config_free(s);
    s = NULL;

    CHECK_OK(msgwire_tls_client_config_with_ca_pem(ca, ca_len, &c));
    CHECK_OK(msgwire_tls_client_config_verifies(c, &verifies));
    CHECK(verifies);
    msgwire_tls_client_config_free(c);
    c = NULL;
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca_path, &c));
    msgwire_tls_client_config_free(c);
    c = NULL;
    CHECK_OK(msgwire_tls_client_config_insecure(&c));
    verifies = true;
    CHECK_OK(msgwire_tls_client_config_verifies(c, &verifies));
    CHECK(!verifies);
    msgwire_tls_client_config_free(c);
    c = NULL;

    /* What cannot make a configuration. A client needs at least one CA:
     * there is no verifying configuration without one. */
    const char *garbage = "not PEM at all\n";
    const char *bad_base64 = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    const char *not_a_cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    CHECK_STATUS(msgwire_tls_client_config_with_ca_pem(NULL, 0, &c), MSGWIRE_TLS_NO_CERTIFICATES);
    CHECK_STATUS(msgwire_tls_client_config_with_ca_pem((const uint8_t *)garbage, strlen(garbage),
                                                       &c),
                 MSGWIRE_TLS_NO_CERTIFICATES);
    CHECK_STATUS(msgwire_tls_client_config_with_ca_pem((const uint8_t *)bad_base64,
                                                       strlen(bad_base64), &c),
                 MSGWIRE_TLS_BAD_PEM);
    CHECK_STATUS(msgwire_tls_client_config_with_ca_pem((const uint8_t *)not_a_cert,
                                                       strlen(not_a_cert), &c),
                 MSGWIRE_TLS_BAD_CA_CERTIFICATE);
    CHECK_STATUS(msgwire_tls_client_config_with_ca_file("/nonexistent/ca.pem", &c),
                 MSGWIRE_TLS_FILE);
    CHECK(strstr(msgwire_last_error(), "/nonexistent/ca.pem") != NULL);
    /* The certificate where the key should be, and the other way round. */
    CHECK_STATUS(msgwire_tls_server_config_from_pem(cert, cert_len, cert, cert_len, &s),
                 MSGWIRE_TLS_NO_PRIVATE_KEY);
    CHECK_STATUS(msgwire_tls_server_config_from_pem(key, key_len, key, key_len, &s),
                 MSGWIRE_TLS_NO_CERTIFICATES);
    CHECK_STATUS(msgwire_tls_server_config_from_files(cert_path, "/nonexistent/key.pem", &s),
                 MSGWIRE_TLS_FILE);
    CHECK(s == NULL && c == NULL);

    /* NULL arguments. */
    CHECK_STATUS(msgwire_tls_server_config_from_pem(NULL, 1, key, key_len, &s),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_tls_server_config_from_pem(cert, cert_len, key, key_len, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_tls_server_config_from_files(NULL, key_path, &s), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_tls_client_config_with_ca_pem(NULL, 5, &c), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_tls_client_config_with_ca_file(NULL, &c), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_tls_client_config_insecure(NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_tls_client_config_verifies(NULL, &verifies), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_connector_set_tls(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_acceptor_set_tls(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_server_set_tls(NULL, NULL), MSGWIRE_NULL_PARAMETER);
    msgwire_msrp_connector *conn = NULL;
    CHECK_OK(msgwire_msrp_connector_new(NULL, &conn));
    CHECK_STATUS(msgwire_msrp_connector_set_tls(conn, NULL), MSGWIRE_NULL_PARAMETER);
    msgwire_msrp_connector_free(conn);
    CHECK(s == NULL && c == NULL);
    msgwire_tls_server_config_free(NULL);
    msgwire_tls_client_config_free(NULL);

    CHECK(strcmp(msgwire_status_text(MSGWIRE_TLS_BAD_PEM), "TLS: malformed PEM") == 0);
    free(cert);
    free(key);
    free(ca);
}

/* ---- binding over TLS ---------------------------------------------------- */

/* An acceptor with the test server certificate and a connector with `client`
 * (NULL: no TLS configuration), each made with short timeouts. The
 * configurations are freed right after they are attached: the endpoints
 * keep their own references. */
static void make_endpoints(msgwire_tls_client_config *client, msgwire_msrp_acceptor **a,
                           msgwire_msrp_connector **c)
{
    msgwire_msrp_bind_options opts;
    CHECK_OK(msgwire_msrp_bind_options_default(&opts));
    opts.connect_timeout_ms = opts.incoming_connect_timeout_ms = opts.bind_timeout_ms = 5000;
    CHECK_OK(msgwire_msrp_acceptor_new(&opts, a));
    CHECK_OK(msgwire_msrp_connector_new(&opts, c));
    msgwire_tls_server_config *server = server_config();
    CHECK_OK(msgwire_msrp_acceptor_set_tls(*a, server));
    msgwire_tls_server_config_free(server);
    if (client != NULL) {
        CHECK_OK(msgwire_msrp_connector_set_tls(*c, client));
        msgwire_tls_client_config_free(client);
    }
}

static bool is_tls(const msgwire_msrp_transport *t)
{
    bool tls = false;
    return msgwire_msrp_transport_is_tls(t, &tls) == MSGWIRE_OK && tls;
}

/* The insecure client configuration (no CA; for self-signed test setups):
 * sessions on both sides exchange a message and its REPORT. */
static void test_insecure_sessions(void)
{
    msgwire_tls_client_config *client = NULL;
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    struct bound_pair pair;
    CHECK_OK(msgwire_tls_client_config_insecure(&client));
    make_endpoints(client, &a, &c);
    bool bound = bind_transports(a, c, "msrps://127.0.0.1:0/tlsaccept;tcp", &pair);
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
    CHECK_OK(pair.passive_status);
    CHECK_OK(pair.active_status);
    CHECK(strncmp(pair.acceptor_path, "msrps://127.0.0.1:", 18) == 0);
    if (!bound) {
        msgwire_msrp_transport_free(pair.passive);
        msgwire_msrp_transport_free(pair.active);
        return;
    }
    CHECK(is_tls(pair.passive) && is_tls(pair.active));

    struct recorder bob, alice;
    recorder_init(&bob);
    recorder_init(&alice);
    msgwire_msrp_session *sb = NULL, *sa = NULL;
    CHECK_OK(msgwire_msrp_session_start(pair.passive, NULL, recorder_callbacks(), &bob, &sb));
    CHECK_OK(msgwire_msrp_session_start(pair.active, NULL, recorder_callbacks(), &alice, &sa));
    if (sb != NULL && sa != NULL) {
        const char *text = "hello over TLS";
        msgwire_msrp_chunk *m = NULL, *resp = NULL;
        CHECK_OK(msgwire_msrp_session_make_message(sa, (const uint8_t *)text, strlen(text),
                                                   "text/plain", &m));
        CHECK_OK(msgwire_msrp_chunk_set_header(m, "Success-Report", "yes"));
        CHECK_OK(msgwire_msrp_session_deliver_chunk(sa, m, &resp));
        uint16_t code = 0;
        CHECK(resp != NULL && msgwire_msrp_chunk_code(resp, &code) == MSGWIRE_OK && code == 200);
        msgwire_msrp_chunk_free(resp);
        msgwire_msrp_chunk_free(m);
        CHECK(wait_count(&bob, &bob.sends, 1));
        CHECK(wait_count(&alice, &alice.reports, 1));
        pthread_mutex_lock(&bob.lock);
        CHECK(strcmp(bob.last_body, text) == 0);
        pthread_mutex_unlock(&bob.lock);
        CHECK_OK(msgwire_msrp_session_shutdown(sa, true));
        CHECK(wait_count(&bob, &bob.closed, 1));
        CHECK(wait_count(&alice, &alice.closed, 1));
        CHECK(alice.close_reason == MSGWIRE_OK);
        CHECK_OK(msgwire_msrp_session_shutdown(sb, true));
    }
    msgwire_msrp_session_free(sa);
    msgwire_msrp_session_free(sb);
    CHECK(alice.freed && bob.freed);
    recorder_destroy(&bob);
    recorder_destroy(&alice);
}

/* Verification on, trusting the test CA: binding works, and
 * chunks go both ways on the raw transports. */
static void test_verified_transports(void)
{
    msgwire_tls_client_config *client = NULL;
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    struct bound_pair pair;
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca_path, &client));
    make_endpoints(client, &a, &c);
    bool bound = bind_transports(a, c, "msrps://127.0.0.1:0/verified;tcp", &pair);
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
    CHECK_OK(pair.passive_status);
    CHECK_OK(pair.active_status);
    if (bound) {
        CHECK(is_tls(pair.passive) && is_tls(pair.active));
        const char *text = "verified";
        msgwire_msrp_chunk *send = NULL, *got = NULL, *resp = NULL;
        CHECK_OK(msgwire_msrp_chunk_build_send(pair.acceptor_path, pair.connector_path,
                                               (const uint8_t *)text, strlen(text), "text/plain",
                                               &send));
        CHECK_OK(msgwire_msrp_transport_write_chunk(pair.active, send));
        CHECK_OK(msgwire_msrp_transport_read_chunk(pair.passive, SIZE_MAX, 5000, &got, NULL));
        const uint8_t *body = NULL;
        size_t len = 0;
        CHECK(got != NULL && msgwire_msrp_chunk_body(got, &body, &len) == MSGWIRE_OK &&
              len == strlen(text) && memcmp(body, text, len) == 0);
        bool written = false;
        CHECK_OK(msgwire_msrp_transport_write_response(pair.passive, got, 200, "OK", &written));
        CHECK(written);
        CHECK_OK(msgwire_msrp_transport_read_chunk(pair.active, SIZE_MAX, 5000, &resp, NULL));
        uint16_t code = 0;
        CHECK(resp != NULL && msgwire_msrp_chunk_code(resp, &code) == MSGWIRE_OK && code == 200);
        msgwire_msrp_chunk_free(send);
        msgwire_msrp_chunk_free(got);
        msgwire_msrp_chunk_free(resp);
    }
    msgwire_msrp_transport_free(pair.passive);
    msgwire_msrp_transport_free(pair.active);
}

/* Verification on, trusting an unrelated CA: the connector
 * refuses the server's certificate, and the acceptor sees the handshake
 * fail too. */
static void test_wrong_ca(void)
{
    msgwire_tls_client_config *client = NULL;
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    struct bound_pair pair;
    CHECK_OK(msgwire_tls_client_config_with_ca_file(other_ca_path, &client));
    make_endpoints(client, &a, &c);
    CHECK(!bind_transports(a, c, "msrps://127.0.0.1:0/wrongca;tcp", &pair));
    CHECK_STATUS(pair.active_status, MSGWIRE_MSRP_ENDPOINT_TLS);
    CHECK_STATUS(pair.passive_status, MSGWIRE_MSRP_ENDPOINT_TLS);
    CHECK(pair.active == NULL && pair.passive == NULL);
    msgwire_msrp_transport_free(pair.passive);
    msgwire_msrp_transport_free(pair.active);
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
}

/* A peer that speaks plain TCP to a TLS acceptor: the acceptor's handshake
 * fails with the TLS status (the peer gives up on its bind). */
static void test_plain_peer(void)
{
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    make_endpoints(NULL, &a, &c);
    char apath[PATH_CAP], cpath[PATH_CAP], plain[PATH_CAP];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_acceptor_prepare(a, "msrps://127.0.0.1:0/plainpeer;tcp", apath,
                                           sizeof apath, &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c, NULL, cpath, sizeof cpath, &len));
    /* The same address with the msrp scheme. */
    snprintf(plain, sizeof plain, "msrp%s", apath + strlen("msrps"));
    struct accept_job job = {.acceptor = a, .remote_path = cpath};
    pthread_t thread;
    if (pthread_create(&thread, NULL, accept_thread, &job) == 0) {
        msgwire_msrp_transport *t = NULL;
        CHECK(msgwire_msrp_connector_complete(c, plain, &t) != MSGWIRE_OK);
        pthread_join(thread, NULL);
        CHECK_STATUS(job.status, MSGWIRE_MSRP_ENDPOINT_TLS);
        CHECK(t == NULL && job.transport == NULL);
    }
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
}

/* TLS attached after _prepare (the acceptor keeps its listener and path;
 * the connector its path), and replaced by a second call. */
static void test_set_tls_after_prepare(void)
{
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    msgwire_tls_client_config *wrong = NULL, *right = NULL;
    char apath[PATH_CAP], cpath[PATH_CAP], again[PATH_CAP];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_acceptor_new(NULL, &a));
    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(other_ca_path, &wrong));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca_path, &right));
    if (a == NULL || c == NULL || wrong == NULL || right == NULL) {
        goto out;
    }
    CHECK_OK(msgwire_msrp_acceptor_prepare(a, "msrps://127.0.0.1:0/late;tcp", apath, sizeof apath,
                                           &len));
    CHECK_OK(msgwire_msrp_connector_prepare(c, "msrps://127.0.0.1:2855/latec;tcp", cpath,
                                            sizeof cpath, &len));
    msgwire_tls_server_config *server = server_config();
    CHECK_OK(msgwire_msrp_acceptor_set_tls(a, server));
    msgwire_tls_server_config_free(server);
    CHECK_OK(msgwire_msrp_connector_set_tls(c, wrong));
    CHECK_OK(msgwire_msrp_connector_set_tls(c, right));
    CHECK_OK(msgwire_msrp_acceptor_local_path(a, again, sizeof again, &len));
    CHECK(strcmp(again, apath) == 0);
    CHECK_OK(msgwire_msrp_connector_local_path(c, again, sizeof again, &len));
    CHECK(strcmp(again, cpath) == 0);
    struct accept_job job = {.acceptor = a, .remote_path = cpath};
    pthread_t thread;
    if (pthread_create(&thread, NULL, accept_thread, &job) == 0) {
        msgwire_msrp_transport *t = NULL;
        CHECK_OK(msgwire_msrp_connector_complete(c, apath, &t));
        pthread_join(thread, NULL);
        CHECK_OK(job.status);
        CHECK(t != NULL && is_tls(t) && job.transport != NULL && is_tls(job.transport));
        msgwire_msrp_transport_free(t);
        msgwire_msrp_transport_free(job.transport);
    }
out:
    msgwire_tls_client_config_free(wrong);
    msgwire_tls_client_config_free(right);
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
}

/* msrps without a TLS configuration fails before anything is sent. */
static void test_not_configured(void)
{
    msgwire_msrp_connector *c = NULL;
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_transport *t = NULL;
    char buf[PATH_CAP];
    size_t len = 0;

    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    CHECK_STATUS(msgwire_msrp_connector_complete(c, "msrps://127.0.0.1:9/nobody;tcp", &t),
                 MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED);
    msgwire_msrp_connector_free(c);

    CHECK_OK(msgwire_msrp_acceptor_new(NULL, &a));
    CHECK_OK(msgwire_msrp_acceptor_prepare(a, "msrps://127.0.0.1:0/notls;tcp", buf, sizeof buf,
                                           &len));
    CHECK_STATUS(msgwire_msrp_acceptor_complete(a, "msrps://127.0.0.1:2855/peer;tcp", &t),
                 MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED);
    msgwire_msrp_acceptor_free(a);

    CHECK_OK(msgwire_msrp_server_new(NULL, &server));
    CHECK_STATUS(msgwire_msrp_server_prepare(server, "msrps://127.0.0.1:0/notls;tcp", buf,
                                             sizeof buf, &len),
                 MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED);
    msgwire_msrp_server_free(server);
    CHECK(t == NULL);
}

/* ---- a server with TLS ------------------------------------------------- */

struct connect_job {
    msgwire_msrp_connector *connector;
    const char *remote_path;
    msgwire_msrp_transport *transport;
    msgwire_status status;
};

static void *connect_thread(void *arg)
{
    struct connect_job *job = arg;
    job->status =
        msgwire_msrp_connector_complete(job->connector, job->remote_path, &job->transport);
    return NULL;
}

static void test_server(void)
{
    msgwire_msrp_bind_options opts;
    CHECK_OK(msgwire_msrp_bind_options_default(&opts));
    opts.connect_timeout_ms = opts.incoming_connect_timeout_ms = opts.bind_timeout_ms = 5000;
    msgwire_msrp_server *server = NULL;
    msgwire_msrp_connector *c = NULL;
    msgwire_tls_client_config *client = NULL;
    CHECK_OK(msgwire_msrp_server_new(&opts, &server));
    CHECK_OK(msgwire_msrp_connector_new(&opts, &c));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca_path, &client));
    if (server == NULL || c == NULL || client == NULL) {
        goto out;
    }
    msgwire_tls_server_config *cfg = server_config();
    CHECK_OK(msgwire_msrp_server_set_tls(server, cfg));
    msgwire_tls_server_config_free(cfg);
    CHECK_OK(msgwire_msrp_connector_set_tls(c, client));

    char spath[PATH_CAP], cpath[PATH_CAP];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_server_prepare(server, "msrps://127.0.0.1:0/tlsserver;tcp", spath,
                                         sizeof spath, &len));
    CHECK(strncmp(spath, "msrps://127.0.0.1:", 18) == 0);
    CHECK_OK(msgwire_msrp_connector_prepare(c, NULL, cpath, sizeof cpath, &len));
    struct connect_job job = {.connector = c, .remote_path = spath};
    pthread_t thread;
    if (pthread_create(&thread, NULL, connect_thread, &job) != 0) {
        goto out;
    }
    msgwire_msrp_transport *t = NULL;
    CHECK_OK(msgwire_msrp_server_complete(server, spath, cpath, &t));
    pthread_join(thread, NULL);
    CHECK_OK(job.status);
    if (t == NULL || job.transport == NULL) {
        msgwire_msrp_transport_free(t);
        msgwire_msrp_transport_free(job.transport);
        goto out;
    }
    CHECK(is_tls(t) && is_tls(job.transport));

    struct recorder rec;
    recorder_init(&rec);
    msgwire_msrp_session *ss = NULL, *cs = NULL;
    CHECK_OK(msgwire_msrp_session_start(t, NULL, recorder_callbacks(), &rec, &ss));
    CHECK_OK(msgwire_msrp_session_start(job.transport, NULL, NULL, NULL, &cs));
    if (ss != NULL && cs != NULL) {
        const char *text = "to the TLS server";
        msgwire_msrp_chunk *m = NULL, *resp = NULL;
        CHECK_OK(msgwire_msrp_session_make_message(cs, (const uint8_t *)text, strlen(text),
                                                   "text/plain", &m));
        CHECK_OK(msgwire_msrp_session_deliver_chunk(cs, m, &resp));
        CHECK(resp != NULL);
        msgwire_msrp_chunk_free(resp);
        msgwire_msrp_chunk_free(m);
        CHECK(wait_count(&rec, &rec.sends, 1));
        pthread_mutex_lock(&rec.lock);
        CHECK(strcmp(rec.last_body, text) == 0);
        pthread_mutex_unlock(&rec.lock);
        CHECK_OK(msgwire_msrp_session_shutdown(cs, true));
        CHECK(wait_count(&rec, &rec.closed, 1));
    }
    msgwire_msrp_session_free(cs);
    msgwire_msrp_session_free(ss);
    recorder_destroy(&rec);
out:
    msgwire_tls_client_config_free(client);
    msgwire_msrp_connector_free(c);
    msgwire_msrp_server_free(server);
}

int main(void)
{
    data_paths();
    test_configs();
    test_not_configured();
    test_insecure_sessions();
    test_verified_transports();
    test_wrong_ca();
    test_plain_peer();
    test_set_tls_after_prepare();
    test_server();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
