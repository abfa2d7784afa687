/* Tests of the MSRP relay client through the C API (RFC 4976), against a
 * scripted relay made of a plain socket on 127.0.0.1 so the AUTH bytes are
 * visible: the first AUTH without credentials, the digest answer to the
 * 401 (user, realm, nonce, uri, qop, nc, opaque), the full local path
 * (Use-Path, then our URI), the active bind SEND through the relay and a
 * chunk written on the resulting transport; a second 401 as
 * MSGWIRE_MSRP_RELAY_AUTH_REJECTED, a silent relay as
 * MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT (after the retry without the digest
 * uri), a closed port, _complete before _prepare, and argument errors.
 * Run under valgrind by tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
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

#include "check.h"

#define REALM "relay.test"
#define BUF_CAP 16384

/* How the scripted relay answers the AUTH that carries credentials. */
enum script {
    GRANT,   /* 200 with Use-Path; then answers the bind SEND 200 */
    REFUSE,  /* another 401 */
    SILENT,  /* nothing at all */
    RENEW,   /* as GRANT with Expires: 2; then answers the renewal AUTHs */
};

struct relay {
    int listener;
    uint16_t port;
    enum script script;
    pthread_t thread;
    /* What it saw, NUL-terminated: the two AUTHs and (GRANT) the bind SEND
     * and the chunk after it. */
    char first_auth[BUF_CAP], second_auth[BUF_CAP], bind[BUF_CAP], chunk[BUF_CAP];
    int auths_seen;
    /* RENEW: the last renewal AUTH with credentials, and how many were
     * granted (read by the test thread with __atomic_load_n). */
    char renewal[BUF_CAP];
    int renewals;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reads one MSRP request (through its end-line) into out; false on EOF or
 * after 10 s. `pending` holds bytes read past earlier requests. */
static bool read_request(int fd, char *pending, size_t *plen, char *out)
{
    double deadline = now() + 10.0;
    for (;;) {
        pending[*plen] = '\0';
        char tid[64];
        if (sscanf(pending, "MSRP %63s", tid) == 1) {
            char end[80];
            snprintf(end, sizeof end, "-------%s", tid);
            char *at = strstr(pending, end);
            if (at != NULL && (size_t)(at - pending) + strlen(end) + 3 <= *plen) {
                size_t n = (size_t)(at - pending) + strlen(end) + 3;
                memcpy(out, pending, n);
                out[n] = '\0';
                memmove(pending, pending + n, *plen - n);
                *plen -= n;
                return true;
            }
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - now()) * 1000);
        if (left <= 0 || poll(&p, 1, left) != 1 || *plen + 1 >= BUF_CAP) {
            return false;
        }
        ssize_t n = read(fd, pending + *plen, BUF_CAP - 1 - *plen);
        if (n <= 0) {
            return false;
        }
        *plen += (size_t)n;
    }
}

/* The value of header `name` in `req` (up to its CRLF) into out. */
static bool header(const char *req, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *at = strstr(req, key);
    if (at == NULL) {
        return false;
    }
    at += strlen(key);
    const char *end = strstr(at, "\r\n");
    size_t n = (size_t)(end - at);
    if (n >= cap) {
        return false;
    }
    memcpy(out, at, n);
    out[n] = '\0';
    return true;
}

/* Writes a response to `req` with `code` and extra header lines. */
static void respond(int fd, const char *req, int code, const char *reason, const char *extra)
{
    char tid[64], from[256], out[1024];
    sscanf(req, "MSRP %63s", tid);
    header(req, "From-Path", from, sizeof from);
    /* Responses go back to the first hop: the sender. */
    char *space = strchr(from, ' ');
    if (space != NULL) {
        *space = '\0';
    }
    int n = snprintf(out, sizeof out,
                     "MSRP %s %d %s\r\nTo-Path: %s\r\nFrom-Path: msrp://127.0.0.1/relay;tcp\r\n%s"
                     "-------%s$\r\n",
                     tid, code, reason, from, extra, tid);
    if (write(fd, out, (size_t)n) != n) {
        perror("write");
    }
}

static void *relay_thread(void *arg)
{
    struct relay *r = arg;
    int fd = accept(r->listener, NULL, NULL);
    if (fd < 0) {
        return NULL;
    }
    char *pending = calloc(1, BUF_CAP);
    size_t plen = 0;
    char challenge[256];
    snprintf(challenge, sizeof challenge,
             "WWW-Authenticate: Digest realm=\"" REALM "\", nonce=\"n%d\", qop=\"auth\", "
             "opaque=\"op1\"\r\n",
             1);
    if (!read_request(fd, pending, &plen, r->first_auth)) {
        goto out;
    }
    r->auths_seen++;
    respond(fd, r->first_auth, 401, "Unauthorized", challenge);
    while (read_request(fd, pending, &plen, r->second_auth)) {
        r->auths_seen++;
        if (r->script == SILENT) {
            continue;
        }
        if (r->script == REFUSE) {
            respond(fd, r->second_auth, 401, "Unauthorized", challenge);
            continue;
        }
        char extra[256];
        snprintf(extra, sizeof extra, "Use-Path: msrp://127.0.0.1:%u/relayed1;tcp\r\nExpires: %d\r\n",
                 r->port, r->script == RENEW ? 2 : 600);
        respond(fd, r->second_auth, 200, "OK", extra);
        if (read_request(fd, pending, &plen, r->bind)) {
            respond(fd, r->bind, 200, "OK", "");
            if (r->script == GRANT) {
                read_request(fd, pending, &plen, r->chunk);
            }
        }
        /* RENEW: every AUTH on the connection from now on is a renewal,
         * challenged and then granted for another 2 s, until it closes. */
        char req[BUF_CAP];
        while (r->script == RENEW && read_request(fd, pending, &plen, req)) {
            char value[512];
            if (strstr(req, " AUTH\r\n") == NULL) {
                continue;
            }
            if (!header(req, "Authorization", value, sizeof value)) {
                respond(fd, req, 401, "Unauthorized", challenge);
                continue;
            }
            memcpy(r->renewal, req, strlen(req) + 1);
            respond(fd, req, 200, "OK", extra);
            __atomic_add_fetch(&r->renewals, 1, __ATOMIC_SEQ_CST);
        }
        break;
    }
out:
    free(pending);
    close(fd);
    return NULL;
}

static void relay_start(struct relay *r, enum script script)
{
    memset(r, 0, sizeof *r);
    r->script = script;
    r->listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    bind(r->listener, (struct sockaddr *)&a, sizeof a);
    listen(r->listener, 4);
    getsockname(r->listener, (struct sockaddr *)&a, &len);
    r->port = ntohs(a.sin_port);
    pthread_create(&r->thread, NULL, relay_thread, r);
}

static void relay_stop(struct relay *r)
{
    shutdown(r->listener, SHUT_RDWR);
    pthread_join(r->thread, NULL);
    close(r->listener);
}

static msgwire_msrp_relay_settings *settings_for(uint16_t port)
{
    msgwire_msrp_relay_settings *s = NULL;
    CHECK_OK(msgwire_msrp_relay_settings_new(REALM, "alice", "secret", &s));
    CHECK_OK(msgwire_msrp_relay_settings_set_host(s, "127.0.0.1"));
    CHECK_OK(msgwire_msrp_relay_settings_set_port(s, port));
    CHECK_OK(msgwire_msrp_relay_settings_set_auth_timeouts(s, 2000, 300));
    return s;
}

/* An active relay connection to the scripted relay on `port`. */
static msgwire_msrp_relay_connection *active_connection(uint16_t port)
{
    msgwire_msrp_relay_settings *s = settings_for(port);
    msgwire_msrp_relay_connection *c = NULL;
    CHECK_OK(msgwire_msrp_relay_connection_new(s, MSGWIRE_MSRP_RELAY_MODE_ACTIVE, NULL, &c));
    /* The connection copied the settings. */
    msgwire_msrp_relay_settings_free(s);
    return c;
}

static void test_grant_and_bind(void)
{
    struct relay r;
    relay_start(&r, GRANT);
    msgwire_msrp_relay_connection *c = active_connection(r.port);

    char path[512], again[512];
    size_t len = 0;
    CHECK_STATUS(msgwire_msrp_relay_connection_local_path(c, path, sizeof path, &len),
                 MSGWIRE_NOT_FOUND);
    CHECK_OK(msgwire_msrp_relay_connection_prepare(c, "msrp://127.0.0.1:0/mine1;tcp", path,
                                                   sizeof path, &len));
    char want_prefix[128];
    snprintf(want_prefix, sizeof want_prefix, "msrp://127.0.0.1:%u/relayed1;tcp msrp://127.0.0.1:",
             r.port);
    CHECK(strncmp(path, want_prefix, strlen(want_prefix)) == 0);
    CHECK(strstr(path, "/mine1;tcp") != NULL);
    CHECK(len == strlen(path));
    CHECK_OK(msgwire_msrp_relay_connection_local_path(c, again, sizeof again, &len));
    CHECK(strcmp(path, again) == 0);

    /* The AUTHs on the wire. */
    char value[512], want[256];
    snprintf(want, sizeof want, "msrp://" REALM ":%u;tcp", r.port);
    CHECK(strncmp(r.first_auth, "MSRP ", 5) == 0 && strstr(r.first_auth, " AUTH\r\n") != NULL);
    CHECK(header(r.first_auth, "To-Path", value, sizeof value) && strcmp(value, want) == 0);
    CHECK(!header(r.first_auth, "Authorization", value, sizeof value));
    CHECK(header(r.second_auth, "Authorization", value, sizeof value));
    CHECK(strncmp(value, "Digest ", 7) == 0);
    CHECK(strstr(value, "username=\"alice\"") != NULL);
    CHECK(strstr(value, "realm=\"" REALM "\"") != NULL);
    CHECK(strstr(value, "nonce=\"n1\"") != NULL);
    CHECK(strstr(value, "opaque=\"op1\"") != NULL);
    CHECK(strstr(value, "nc=00000001") != NULL);
    CHECK(strstr(value, "qop=auth") != NULL);
    snprintf(want, sizeof want, "uri=\"msrp://" REALM ":%u;tcp\"", r.port);
    CHECK(strstr(value, want) != NULL);
    CHECK(!header(r.second_auth, "Expires", value, sizeof value));

    /* Binding actively: the bind SEND goes over the relay connection with
     * our relay in front of the peer's path, and our URI as From-Path. */
    msgwire_msrp_transport *t = NULL;
    CHECK_OK(msgwire_msrp_relay_connection_complete(c, "msrp://127.0.0.1:2999/peer1;tcp", &t));
    CHECK(t != NULL);
    snprintf(want, sizeof want, "msrp://127.0.0.1:%u/relayed1;tcp msrp://127.0.0.1:2999/peer1;tcp",
             r.port);
    CHECK(header(r.bind, "To-Path", value, sizeof value) && strcmp(value, want) == 0);
    CHECK(header(r.bind, "From-Path", value, sizeof value) && strstr(value, "/mine1;tcp") != NULL);
    /* Used up: completing again needs a new _prepare. */
    msgwire_msrp_transport *t2 = NULL;
    CHECK_STATUS(msgwire_msrp_relay_connection_complete(c, "msrp://127.0.0.1:2999/peer1;tcp", &t2),
                 MSGWIRE_MSRP_RELAY_NOT_PREPARED);

    /* The transport writes over the same relay connection. */
    static const char raw[] = "MSRP abc SEND\r\nTo-Path: x\r\nFrom-Path: y\r\n-------abc$\r\n";
    CHECK_OK(msgwire_msrp_transport_write(t, (const uint8_t *)raw, strlen(raw)));
    msgwire_msrp_transport_free(t);
    msgwire_msrp_relay_connection_free(c);
    relay_stop(&r);
    CHECK(strncmp(r.chunk, "MSRP abc SEND\r\n", 15) == 0);
    CHECK(r.auths_seen == 2);
}

/* A session started on a relayed transport keeps its 2 s reservation:
 * it authenticates again over the relay connection before it runs out,
 * and the relay's answers never reach the session's callbacks. */
static int renewal_chunks_seen;

static void renewal_on_chunk(void *user_data, const msgwire_msrp_chunk *chunk)
{
    (void)user_data;
    (void)chunk;
    __atomic_add_fetch(&renewal_chunks_seen, 1, __ATOMIC_SEQ_CST);
}

static void renewal_on_response(void *user_data, const char *tid,
                                const msgwire_msrp_chunk *response, bool local)
{
    (void)tid;
    renewal_on_chunk(user_data, response);
    (void)local;
}

static void test_renewal(void)
{
    struct relay r;
    relay_start(&r, RENEW);
    msgwire_msrp_relay_connection *c = active_connection(r.port);
    char path[512];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_relay_connection_prepare(c, "msrp://127.0.0.1:0/renew1;tcp", path,
                                                   sizeof path, &len));
    msgwire_msrp_transport *t = NULL;
    CHECK_OK(msgwire_msrp_relay_connection_complete(c, "msrp://127.0.0.1:2999/peer1;tcp", &t));
    msgwire_msrp_session_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.on_incoming = renewal_on_chunk;
    cbs.on_response = renewal_on_response;
    msgwire_msrp_session *session = NULL;
    CHECK_OK(msgwire_msrp_session_start(t, NULL, &cbs, NULL, &session));
    /* Renewed at 3/4 of each reservation: twice within about 3 s. */
    double deadline = now() + 20.0;
    while (__atomic_load_n(&r.renewals, __ATOMIC_SEQ_CST) < 2 && now() < deadline) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    CHECK(__atomic_load_n(&r.renewals, __ATOMIC_SEQ_CST) >= 2);
    char value[512];
    CHECK(header(r.renewal, "From-Path", value, sizeof value) &&
          strstr(value, "/renew1;tcp") != NULL);
    CHECK(header(r.renewal, "Authorization", value, sizeof value) &&
          strstr(value, "username=\"alice\"") != NULL);
    CHECK(__atomic_load_n(&renewal_chunks_seen, __ATOMIC_SEQ_CST) == 0);
    CHECK_OK(msgwire_msrp_session_shutdown(session, true));
    msgwire_msrp_session_free(session);
    msgwire_msrp_relay_connection_free(c);
    relay_stop(&r);
}

static void test_refused(void)
{
    struct relay r;
    relay_start(&r, REFUSE);
    msgwire_msrp_relay_settings *s = settings_for(r.port);
    msgwire_msrp_relay_connection *c = NULL;
    CHECK_OK(msgwire_msrp_relay_connection_new(s, MSGWIRE_MSRP_RELAY_MODE_PASSIVE, NULL, &c));
    char path[512];
    size_t len = 0;
    CHECK_STATUS(msgwire_msrp_relay_connection_prepare(c, NULL, path, sizeof path, &len),
                 MSGWIRE_MSRP_RELAY_AUTH_REJECTED);
    CHECK(strstr(msgwire_last_error(), "401") != NULL);
    CHECK_STATUS(msgwire_msrp_relay_connection_local_path(c, path, sizeof path, &len),
                 MSGWIRE_NOT_FOUND);
    msgwire_msrp_relay_connection_free(c);
    msgwire_msrp_relay_settings_free(s);
    relay_stop(&r);
}

static void test_silent(void)
{
    struct relay r;
    relay_start(&r, SILENT);
    msgwire_msrp_relay_settings *s = settings_for(r.port);
    msgwire_msrp_relay_connection *c = NULL;
    CHECK_OK(msgwire_msrp_relay_connection_new(s, MSGWIRE_MSRP_RELAY_MODE_ACTIVE, NULL, &c));
    char path[512];
    size_t len = 0;
    double t0 = now();
    CHECK_STATUS(msgwire_msrp_relay_connection_prepare(c, NULL, path, sizeof path, &len),
                 MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT);
    /* Not a timing assertion: it ended on its own, within the test's time. */
    CHECK(now() - t0 < 30.0);
    relay_stop(&r);
    /* The AUTH with the digest uri, then once more without it. */
    CHECK(r.auths_seen == 3);
    char value[512];
    CHECK(header(r.second_auth, "Authorization", value, sizeof value));
    CHECK(strstr(value, "uri=") == NULL);
    CHECK(strstr(value, "nc=00000002") != NULL);
    msgwire_msrp_relay_connection_free(c);
    msgwire_msrp_relay_settings_free(s);
}

static void test_errors(void)
{
    msgwire_msrp_relay_settings *s = NULL;
    CHECK_STATUS(msgwire_msrp_relay_settings_new(NULL, "a", "b", &s), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_relay_settings_new(" ", "a", "b", &s), MSGWIRE_INVALID_ARGUMENT);
    CHECK(s == NULL);
    CHECK_OK(msgwire_msrp_relay_settings_new(REALM, "alice", "secret", &s));
    CHECK_STATUS(msgwire_msrp_relay_settings_set_auth_timeouts(s, 0, 10),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_relay_settings_add_nameserver(s, "not an address", 100),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_msrp_relay_settings_add_nameserver(s, "127.0.0.1:1", 100));
    CHECK_OK(msgwire_msrp_relay_settings_set_expires(s, 300));
    CHECK_OK(msgwire_msrp_relay_settings_set_tls(s, NULL));

    /* A port nobody listens on. */
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    bind(probe, (struct sockaddr *)&a, sizeof a);
    getsockname(probe, (struct sockaddr *)&a, &alen);
    close(probe);
    CHECK_OK(msgwire_msrp_relay_settings_set_host(s, "127.0.0.1"));
    CHECK_OK(msgwire_msrp_relay_settings_set_port(s, ntohs(a.sin_port)));
    msgwire_msrp_relay_connection *c = NULL;
    CHECK_OK(msgwire_msrp_relay_connection_new(s, MSGWIRE_MSRP_RELAY_MODE_ACTIVE, NULL, &c));
    msgwire_msrp_transport *t = NULL;
    CHECK_STATUS(msgwire_msrp_relay_connection_complete(c, "msrp://127.0.0.1:2999/p;tcp", &t),
                 MSGWIRE_MSRP_RELAY_NOT_PREPARED);
    char path[512];
    size_t len = 0;
    CHECK_STATUS(msgwire_msrp_relay_connection_prepare(c, NULL, path, sizeof path, &len),
                 MSGWIRE_MSRP_ENDPOINT_CONNECT);
    CHECK_STATUS(msgwire_msrp_relay_connection_prepare(c, "not a uri", path, sizeof path, &len),
                 MSGWIRE_MSRP_URI_BAD_SCHEME);
    CHECK_OK(msgwire_msrp_relay_connection_cleanup(c));
    CHECK_STATUS(msgwire_msrp_relay_connection_cleanup(NULL), MSGWIRE_NULL_PARAMETER);
    msgwire_msrp_relay_connection_free(c);
    msgwire_msrp_relay_connection_free(NULL);
    msgwire_msrp_relay_settings_free(s);
    msgwire_msrp_relay_settings_free(NULL);
    CHECK(strcmp(msgwire_status_text(MSGWIRE_MSRP_RELAY_AUTH_REJECTED),
                 "MSRP relay: authentication refused") == 0);
}

int main(void)
{
    test_grant_and_bind();
    test_renewal();
    test_refused();
    test_silent();
    test_errors();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
