/* Tests of raw I/O on a bound transport through the C API (the legacy
 * MSRPTransport calls, before or instead of a session): chunks both ways
 * between a connector's and an acceptor's transports; and against a peer
 * made of a plain socket, so the bytes on the wire are visible: write,
 * write_chunk and write_response bytes, virtual segments with their
 * Byte-Range and flags, timeouts that lose nothing (also when a session
 * takes over), protocol errors, the peer closing, MID_CHUNK, and NULL
 * arguments. Run under valgrind by tests/c/run.sh. */
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

#include "bind.h"
#include "check.h"
#include "recorder.h"

#define PEER_PATH_FMT "msrp://127.0.0.1:%u/rawpeer;tcp"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- a peer made of a plain socket ----------------------------------- */

struct raw_peer {
    int fd;                   /* the connection, -1 when closed */
    char path[128];           /* its MSRP URI */
    char transport_path[128]; /* the connector's */
    msgwire_msrp_transport *t; /* the connector's transport */
};

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

/* Appends what arrives on `fd` to buf (NUL-terminated, `*len` bytes so
 * far) until it contains `needle`, for at most 5 s. */
static bool read_until(int fd, char *buf, size_t cap, size_t *len, const char *needle)
{
    double deadline = now() + 5.0;
    while (strstr(buf, needle) == NULL) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - now()) * 1000);
        if (left <= 0 || poll(&p, 1, left) != 1 || *len + 1 >= cap) {
            return false;
        }
        ssize_t n = read(fd, buf + *len, cap - 1 - *len);
        if (n <= 0) {
            return false;
        }
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return true;
}

/* Reads exactly `want` bytes (at most 5 s) and compares them. */
static bool read_exactly(int fd, const void *want, size_t n)
{
    char buf[4096];
    size_t len = 0;
    double deadline = now() + 5.0;
    if (n > sizeof buf) {
        return false;
    }
    while (len < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)((deadline - now()) * 1000);
        if (left <= 0 || poll(&p, 1, left) != 1) {
            return false;
        }
        ssize_t got = read(fd, buf + len, n - len);
        if (got <= 0) {
            return false;
        }
        len += (size_t)got;
    }
    if (memcmp(buf, want, n) != 0) {
        fprintf(stderr, "got on the wire: %.*s\nwant: %.*s\n", (int)n, buf, (int)n,
                (const char *)want);
        return false;
    }
    return true;
}

/* Whether nothing arrives on `fd` within `ms`. */
static bool silent(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, ms) == 0;
}

static bool write_all(int fd, const char *text)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(fd, text + done, len - done);
        if (n <= 0) {
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* Binds a connector to a plain socket that plays the acceptor: it reads
 * the bind SEND and answers it 200 by hand. */
static bool raw_peer_bind(struct raw_peer *peer)
{
    memset(peer, 0, sizeof *peer);
    peer->fd = -1;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0) {
        CHECK(false); /* no listening socket */
        if (lfd >= 0) {
            close(lfd);
        }
        return false;
    }
    snprintf(peer->path, sizeof peer->path, PEER_PATH_FMT, ntohs(addr.sin_port));

    msgwire_msrp_connector *c = NULL;
    size_t len = 0;
    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    CHECK_OK(msgwire_msrp_connector_prepare(c, "msrp://127.0.0.1:2855/rawclient;tcp",
                                            peer->transport_path, sizeof peer->transport_path,
                                            &len));
    struct connect_job job = {.connector = c, .remote_path = peer->path};
    pthread_t thread;
    bool started = pthread_create(&thread, NULL, connect_thread, &job) == 0;
    CHECK(started);
    if (started) {
        struct pollfd p = {.fd = lfd, .events = POLLIN};
        if (poll(&p, 1, 5000) == 1) {
            peer->fd = accept(lfd, NULL, NULL);
        }
        char buf[2048] = "";
        size_t got = 0, tid_len = 0;
        if (peer->fd >= 0 && read_until(peer->fd, buf, sizeof buf, &got, "-------") &&
            read_until(peer->fd, buf, sizeof buf, &got, "$\r\n")) {
            /* "MSRP <tid> SEND\r\n..." */
            const char *tid = buf + 5;
            tid_len = strcspn(tid, " ");
            char answer[512];
            snprintf(answer, sizeof answer,
                     "MSRP %.*s 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------%.*s$\r\n",
                     (int)tid_len, tid, peer->transport_path, peer->path, (int)tid_len, tid);
            CHECK(write_all(peer->fd, answer));
        }
        pthread_join(thread, NULL);
    }
    close(lfd);
    msgwire_msrp_connector_free(c);
    CHECK_OK(job.status);
    peer->t = job.transport;
    if (peer->t == NULL && peer->fd >= 0) {
        close(peer->fd);
        peer->fd = -1;
    }
    return peer->t != NULL;
}

static void raw_peer_close(struct raw_peer *peer)
{
    msgwire_msrp_transport_free(peer->t);
    peer->t = NULL;
    if (peer->fd >= 0) {
        close(peer->fd);
        peer->fd = -1;
    }
}

/* A SEND from the peer to the transport, as bytes. */
static void peer_send_text(const struct raw_peer *peer, char *out, size_t cap, const char *tid,
                           const char *extra_headers, const char *body)
{
    snprintf(out, cap,
             "MSRP %s SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: m-%s\r\n"
             "Byte-Range: 1-%zu/%zu\r\n%sContent-Type: text/plain\r\n\r\n%s\r\n-------%s$\r\n",
             tid, peer->transport_path, peer->path, tid, strlen(body), strlen(body),
             extra_headers, body, tid);
}

static bool body_is(const msgwire_msrp_chunk *chunk, const char *want)
{
    const uint8_t *body = NULL;
    size_t len = 0;
    return chunk != NULL && msgwire_msrp_chunk_body(chunk, &body, &len) == MSGWIRE_OK &&
           len == strlen(want) && (len == 0 || memcmp(body, want, len) == 0);
}

static bool tid_is(const msgwire_msrp_chunk *chunk, const char *want)
{
    msgwire_str tid;
    return chunk != NULL && msgwire_msrp_chunk_transaction_id(chunk, &tid) == MSGWIRE_OK &&
           str_is(tid, want);
}

/* ---- tests --------------------------------------------------------------- */

/* Two bound transports exchange a SEND and its response each way. */
static void test_transport_pair(void)
{
    msgwire_msrp_acceptor *a = NULL;
    msgwire_msrp_connector *c = NULL;
    struct bound_pair pair;
    CHECK_OK(msgwire_msrp_acceptor_new(NULL, &a));
    CHECK_OK(msgwire_msrp_connector_new(NULL, &c));
    bool bound = bind_transports(a, c, NULL, &pair);
    msgwire_msrp_acceptor_free(a);
    msgwire_msrp_connector_free(c);
    if (!bound) {
        msgwire_msrp_transport_free(pair.passive);
        msgwire_msrp_transport_free(pair.active);
        return;
    }
    bool tls = true;
    CHECK_OK(msgwire_msrp_transport_is_tls(pair.active, &tls));
    CHECK(!tls);

    /* Connector -> acceptor, and the 200 back. */
    msgwire_msrp_chunk *send = NULL, *got = NULL, *resp = NULL;
    uint32_t segment = 99;
    bool written = false;
    uint16_t code = 0;
    CHECK_OK(msgwire_msrp_chunk_build_send(pair.acceptor_path, pair.connector_path,
                                           (const uint8_t *)"ping", 4, "text/plain", &send));
    CHECK_OK(msgwire_msrp_transport_write_chunk(pair.active, send));
    CHECK_OK(msgwire_msrp_transport_read_chunk(pair.passive, SIZE_MAX, 5000, &got, &segment));
    CHECK(segment == 0 && body_is(got, "ping"));
    msgwire_str tid;
    if (send != NULL && msgwire_msrp_chunk_transaction_id(send, &tid) == MSGWIRE_OK) {
        CHECK(tid_is(got, tid.ptr));
    }
    CHECK_OK(msgwire_msrp_transport_write_response(pair.passive, got, 200, "OK", &written));
    CHECK(written);
    CHECK_OK(msgwire_msrp_transport_read_chunk(pair.active, SIZE_MAX, 5000, &resp, NULL));
    CHECK(resp != NULL && msgwire_msrp_chunk_code(resp, &code) == MSGWIRE_OK && code == 200);
    msgwire_msrp_chunk_free(send);
    msgwire_msrp_chunk_free(got);
    msgwire_msrp_chunk_free(resp);
    send = got = resp = NULL;

    /* Acceptor -> connector with Failure-Report: no: no response is due,
     * so write_response writes nothing and says so. */
    CHECK_OK(msgwire_msrp_chunk_build_send(pair.connector_path, pair.acceptor_path,
                                           (const uint8_t *)"pong", 4, "text/plain", &send));
    CHECK_OK(msgwire_msrp_chunk_set_header(send, "Failure-Report", "no"));
    CHECK_OK(msgwire_msrp_transport_write_chunk(pair.passive, send));
    CHECK_OK(msgwire_msrp_transport_read_chunk(pair.active, SIZE_MAX, 5000, &got, &segment));
    CHECK(segment == 0 && body_is(got, "pong"));
    written = true;
    CHECK_OK(msgwire_msrp_transport_write_response(pair.active, got, 200, NULL, &written));
    CHECK(!written);
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(pair.passive, SIZE_MAX, 100, &resp, NULL),
                 MSGWIRE_MSRP_ENDPOINT_TIMEOUT);
    CHECK(resp == NULL);
    msgwire_msrp_chunk_free(send);
    msgwire_msrp_chunk_free(got);
    msgwire_msrp_transport_free(pair.passive);
    msgwire_msrp_transport_free(pair.active);
}

/* What the write functions put on the wire. */
static void test_wire_bytes(void)
{
    struct raw_peer peer;
    if (!raw_peer_bind(&peer)) {
        raw_peer_close(&peer);
        return;
    }
    /* write: the bytes as given. */
    const char *raw = "not even MSRP\r\n";
    CHECK_OK(msgwire_msrp_transport_write(peer.t, (const uint8_t *)raw, strlen(raw)));
    CHECK(read_exactly(peer.fd, raw, strlen(raw)));
    CHECK_OK(msgwire_msrp_transport_write(peer.t, NULL, 0));

    /* write_chunk: the chunk's encoding. */
    msgwire_msrp_chunk *chunk = NULL;
    CHECK_OK(msgwire_msrp_chunk_build_send(peer.path, peer.transport_path,
                                           (const uint8_t *)"body", 4, "text/plain", &chunk));
    uint8_t encoded[1024];
    size_t len = 0;
    CHECK_OK(msgwire_msrp_chunk_encode(chunk, encoded, sizeof encoded, &len));
    CHECK_OK(msgwire_msrp_transport_write_chunk(peer.t, chunk));
    CHECK(read_exactly(peer.fd, encoded, len));
    msgwire_msrp_chunk_free(chunk);

    /* write_response: the response to a SEND read from the peer. */
    char text[1024], want[1024];
    peer_send_text(&peer, text, sizeof text, "wire1234", "", "hello");
    CHECK(write_all(peer.fd, text));
    msgwire_msrp_chunk *got = NULL;
    uint32_t segment = 99;
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 5000, &got, &segment));
    CHECK(segment == 0 && tid_is(got, "wire1234") && body_is(got, "hello"));
    bool written = false;
    CHECK_OK(msgwire_msrp_transport_write_response(peer.t, got, 200, "OK", &written));
    CHECK(written);
    snprintf(want, sizeof want,
             "MSRP wire1234 200 OK\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------wire1234$\r\n",
             peer.path, peer.transport_path);
    CHECK(read_exactly(peer.fd, want, strlen(want)));
    /* Another code, without a comment and without asking what was done. */
    CHECK_OK(msgwire_msrp_transport_write_response(peer.t, got, 486, NULL, NULL));
    snprintf(want, sizeof want,
             "MSRP wire1234 486\r\nTo-Path: %s\r\nFrom-Path: %s\r\n-------wire1234$\r\n",
             peer.path, peer.transport_path);
    CHECK(read_exactly(peer.fd, want, strlen(want)));
    /* Refused before anything is written. */
    CHECK_STATUS(msgwire_msrp_transport_write_response(peer.t, got, 1000, NULL, NULL),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_transport_write_response(peer.t, got, 200, "O\r\nK", NULL),
                 MSGWIRE_INVALID_ARGUMENT);
    msgwire_msrp_chunk_free(got);
    got = NULL;
    CHECK_OK(msgwire_msrp_chunk_new_request("nopaths1", "SEND", &got));
    CHECK_STATUS(msgwire_msrp_transport_write_response(peer.t, got, 200, NULL, NULL),
                 MSGWIRE_MSRP_HEADER_MISSING);
    msgwire_msrp_chunk_free(got);
    CHECK(silent(peer.fd, 50));
    raw_peer_close(&peer);
}

static void check_segment(const msgwire_msrp_chunk *chunk, const char *body, uint64_t start,
                          uint64_t end, char flag)
{
    msgwire_msrp_byte_range range;
    char got_flag = 0;
    CHECK(tid_is(chunk, "segs1234") && body_is(chunk, body));
    CHECK(chunk != NULL && msgwire_msrp_chunk_byte_range(chunk, &range) == MSGWIRE_OK &&
          range.start == start && range.has_end && range.end == end && range.has_total &&
          range.total == 15);
    CHECK(chunk != NULL && msgwire_msrp_chunk_flag(chunk, &got_flag) == MSGWIRE_OK &&
          got_flag == flag);
}

/* A 15-byte body read with max_size 4 arrives in segments of 4 bytes with
 * their own Byte-Range and flag '+', the last one with '$'. A timeout in
 * the middle loses nothing. */
static void test_segments(void)
{
    struct raw_peer peer;
    if (!raw_peer_bind(&peer)) {
        raw_peer_close(&peer);
        return;
    }
    char head[1024];
    snprintf(head, sizeof head,
             "MSRP segs1234 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: big\r\n"
             "Byte-Range: 1-15/15\r\nContent-Type: text/plain\r\n\r\n0123456789",
             peer.transport_path, peer.path);
    CHECK(write_all(peer.fd, head));

    msgwire_msrp_chunk *seg[4] = {NULL, NULL, NULL, NULL};
    uint32_t n[4] = {0, 0, 0, 0};
    bool mid = true;
    CHECK_OK(msgwire_msrp_transport_mid_chunk(peer.t, &mid));
    CHECK(!mid);
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, 4, 5000, &seg[0], &n[0]));
    CHECK_OK(msgwire_msrp_transport_mid_chunk(peer.t, &mid));
    CHECK(mid);
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, 4, 5000, &seg[1], &n[1]));
    /* Two bytes wait, fewer than max_size: nothing more to return yet. */
    msgwire_msrp_chunk *none = NULL;
    double t0 = now();
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, 4, 100, &none, NULL),
                 MSGWIRE_MSRP_ENDPOINT_TIMEOUT);
    CHECK(now() - t0 >= 0.09);
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, 4, 0, &none, NULL),
                 MSGWIRE_MSRP_ENDPOINT_TIMEOUT);
    CHECK(none == NULL);
    CHECK(write_all(peer.fd, "abcde\r\n-------segs1234$\r\n"));
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, 4, 5000, &seg[2], &n[2]));
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, 4, 5000, &seg[3], &n[3]));
    CHECK(n[0] == 1 && n[1] == 2 && n[2] == 3 && n[3] == 4);
    check_segment(seg[0], "0123", 1, 4, '+');
    check_segment(seg[1], "4567", 5, 8, '+');
    check_segment(seg[2], "89ab", 9, 12, '+');
    check_segment(seg[3], "cde", 13, 15, '$');
    CHECK_OK(msgwire_msrp_transport_mid_chunk(peer.t, &mid));
    CHECK(!mid);
    for (int i = 0; i < 4; i++) {
        msgwire_msrp_chunk_free(seg[i]);
    }

    /* A body that fits max_size comes whole, segment 0. */
    char text[1024];
    msgwire_msrp_chunk *whole = NULL;
    uint32_t segment = 99;
    peer_send_text(&peer, text, sizeof text, "small123", "", "tiny");
    CHECK(write_all(peer.fd, text));
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, 4, 5000, &whole, &segment));
    CHECK(segment == 0 && tid_is(whole, "small123") && body_is(whole, "tiny"));
    msgwire_msrp_chunk_free(whole);
    raw_peer_close(&peer);
}

/* A session cannot take over in the middle of a segmented chunk. */
static void test_mid_chunk(void)
{
    struct raw_peer peer;
    if (!raw_peer_bind(&peer)) {
        raw_peer_close(&peer);
        return;
    }
    char head[1024];
    snprintf(head, sizeof head,
             "MSRP segs1234 SEND\r\nTo-Path: %s\r\nFrom-Path: %s\r\nMessage-ID: big\r\n"
             "Byte-Range: 1-15/15\r\nContent-Type: text/plain\r\n\r\n0123456789",
             peer.transport_path, peer.path);
    CHECK(write_all(peer.fd, head));
    msgwire_msrp_chunk *seg = NULL;
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, 4, 5000, &seg, NULL));
    msgwire_msrp_chunk_free(seg);
    struct recorder r;
    recorder_init(&r);
    msgwire_msrp_session *s = NULL;
    CHECK_STATUS(msgwire_msrp_session_start(peer.t, NULL, recorder_callbacks(), &r, &s),
                 MSGWIRE_MSRP_ENDPOINT_MID_CHUNK);
    peer.t = NULL; /* consumed either way */
    CHECK(s == NULL && r.freed);
    recorder_destroy(&r);
    raw_peer_close(&peer);
}

/* A chunk half read when the read timed out is delivered whole by a
 * session started afterwards. */
static void test_handover_after_timeout(void)
{
    struct raw_peer peer;
    if (!raw_peer_bind(&peer)) {
        raw_peer_close(&peer);
        return;
    }
    char text[1024];
    peer_send_text(&peer, text, sizeof text, "half1234", "", "two halves");
    size_t half = strlen(text) - 20;
    char first[1024];
    memcpy(first, text, half);
    first[half] = '\0';
    CHECK(write_all(peer.fd, first));
    msgwire_msrp_chunk *none = NULL;
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 100, &none, NULL),
                 MSGWIRE_MSRP_ENDPOINT_TIMEOUT);
    struct recorder r;
    recorder_init(&r);
    msgwire_msrp_session *s = NULL;
    msgwire_msrp_session_config cfg;
    CHECK_OK(msgwire_msrp_session_config_default(&cfg));
    cfg.keepalive_interval_ms = 0;
    CHECK_OK(msgwire_msrp_session_start(peer.t, &cfg, recorder_callbacks(), &r, &s));
    peer.t = NULL;
    CHECK(write_all(peer.fd, text + half));
    CHECK(wait_count(&r, &r.sends, 1));
    pthread_mutex_lock(&r.lock);
    CHECK(strcmp(r.last_body, "two halves") == 0);
    pthread_mutex_unlock(&r.lock);
    msgwire_msrp_session_free(s);
    recorder_destroy(&r);
    raw_peer_close(&peer);
}

/* Bytes that are not MSRP: a protocol error, then reading goes on. */
static void test_protocol_error(void)
{
    struct raw_peer peer;
    if (!raw_peer_bind(&peer)) {
        raw_peer_close(&peer);
        return;
    }
    char text[1024];
    peer_send_text(&peer, text, sizeof text, "after123", "", "still here");
    CHECK(write_all(peer.fd, "HELLO WORLD\r\n"));
    CHECK(write_all(peer.fd, text));
    msgwire_msrp_chunk *got = NULL;
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 5000, &got, NULL),
                 MSGWIRE_MSRP_ENDPOINT_PROTOCOL);
    CHECK(got == NULL);
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 5000, &got, NULL));
    CHECK(tid_is(got, "after123") && body_is(got, "still here"));
    msgwire_msrp_chunk_free(got);
    raw_peer_close(&peer);
}

/* The peer closes: chunks already sent are still read, then the closed
 * status; writing fails with an I/O status (and no SIGPIPE kills us). */
static void test_peer_close(void)
{
    struct raw_peer peer;
    if (!raw_peer_bind(&peer)) {
        raw_peer_close(&peer);
        return;
    }
    char text[1024];
    peer_send_text(&peer, text, sizeof text, "last1234", "", "goodbye");
    CHECK(write_all(peer.fd, text));
    close(peer.fd);
    peer.fd = -1;
    msgwire_msrp_chunk *got = NULL;
    CHECK_OK(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 5000, &got, NULL));
    CHECK(tid_is(got, "last1234"));
    msgwire_msrp_chunk_free(got);
    got = NULL;
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 5000, &got, NULL),
                 MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED);
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, -1, &got, NULL),
                 MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED);
    CHECK(got == NULL);
    /* The first write may still be taken by the kernel; a later one meets
     * the reset connection. */
    msgwire_status st = MSGWIRE_OK;
    for (int i = 0; i < 20 && st == MSGWIRE_OK; i++) {
        st = msgwire_msrp_transport_write(peer.t, (const uint8_t *)"x\r\n", 3);
        if (st == MSGWIRE_OK) {
            struct timespec t = {.tv_sec = 0, .tv_nsec = 10000000L};
            nanosleep(&t, NULL);
        }
    }
    CHECK_STATUS(st, MSGWIRE_MSRP_ENDPOINT_IO);
    raw_peer_close(&peer);
}

static void test_null_arguments(void)
{
    msgwire_msrp_chunk *chunk = NULL;
    bool flag = false;
    uint32_t segment = 0;
    CHECK_OK(msgwire_msrp_chunk_new_request("null1234", "SEND", &chunk));
    CHECK_STATUS(msgwire_msrp_transport_write(NULL, (const uint8_t *)"x", 1),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_transport_write_chunk(NULL, chunk), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_transport_write_response(NULL, chunk, 200, NULL, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_transport_read_chunk(NULL, SIZE_MAX, 0, &chunk, &segment),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_transport_is_tls(NULL, &flag), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_msrp_transport_mid_chunk(NULL, &flag), MSGWIRE_NULL_PARAMETER);

    struct raw_peer peer;
    if (raw_peer_bind(&peer)) {
        msgwire_msrp_chunk *out = NULL;
        CHECK_STATUS(msgwire_msrp_transport_write(peer.t, NULL, 1), MSGWIRE_NULL_PARAMETER);
        CHECK_STATUS(msgwire_msrp_transport_write_chunk(peer.t, NULL), MSGWIRE_NULL_PARAMETER);
        CHECK_STATUS(msgwire_msrp_transport_write_response(peer.t, NULL, 200, NULL, NULL),
                     MSGWIRE_NULL_PARAMETER);
        CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 0, NULL, &segment),
                     MSGWIRE_NULL_PARAMETER);
        CHECK_STATUS(msgwire_msrp_transport_is_tls(peer.t, NULL), MSGWIRE_NULL_PARAMETER);
        CHECK_STATUS(msgwire_msrp_transport_mid_chunk(peer.t, NULL), MSGWIRE_NULL_PARAMETER);
        /* Nothing was written by the failures above. */
        CHECK(silent(peer.fd, 50));
        CHECK_STATUS(msgwire_msrp_transport_read_chunk(peer.t, SIZE_MAX, 0, &out, NULL),
                     MSGWIRE_MSRP_ENDPOINT_TIMEOUT);
        CHECK(out == NULL);
    }
    raw_peer_close(&peer);
    msgwire_msrp_chunk_free(chunk);
    CHECK(strcmp(msgwire_status_text(MSGWIRE_MSRP_ENDPOINT_TIMEOUT),
                 "MSRP endpoint: no chunk arrived in time") == 0);
}

int main(void)
{
    test_null_arguments();
    test_transport_pair();
    test_wire_bytes();
    test_segments();
    test_mid_chunk();
    test_handover_after_timeout();
    test_protocol_error();
    test_peer_close();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
