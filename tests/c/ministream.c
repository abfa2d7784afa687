/* The ministreaming C API: config defaults, an in-memory pair, TCP
 * managers, connect/accept/read/write/close, refusal, timeouts, ping,
 * counters, destroy, the raw wire bytes of a refusal (sample a), and
 * TLS managers. */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "tls_data.h"

struct accept_job {
    msgwire_ministream_manager *manager;
    int64_t timeout_ms;
    msgwire_ministream_socket *socket;
    msgwire_status status;
};

static void *accept_one(void *arg)
{
    struct accept_job *job = arg;
    job->status = msgwire_ministream_manager_accept(job->manager, job->timeout_ms, &job->socket);
    return NULL;
}

/* Connects a to b while b accepts on a thread; both sockets out. */
static bool connect_pair(msgwire_ministream_manager *a, msgwire_ministream_manager *b,
                         msgwire_ministream_socket **client, msgwire_ministream_socket **server)
{
    char dest[64];
    size_t len = 0;
    if (msgwire_ministream_manager_destination(b, dest, sizeof dest, &len) != MSGWIRE_OK) {
        return false;
    }
    /* Accepting starts before the SYN can arrive: a SYN nobody accepts
     * is refused at once. */
    if (msgwire_ministream_manager_accept_streams(b) != MSGWIRE_OK) {
        return false;
    }
    struct accept_job job = {b, 20000, NULL, MSGWIRE_OK};
    pthread_t t;
    pthread_create(&t, NULL, accept_one, &job);
    msgwire_status st = msgwire_ministream_manager_connect(a, (const uint8_t *)dest, len, 20000, client);
    pthread_join(t, NULL);
    *server = job.socket;
    return st == MSGWIRE_OK && job.status == MSGWIRE_OK;
}

static void test_config(void)
{
    msgwire_ministream_config c;
    CHECK_OK(msgwire_ministream_config_default(&c));
    CHECK(c.connect_timeout_ms == 60000);
    CHECK(c.accept_timeout_ms == 5000);
    CHECK(c.buffer_size == 65536);
    CHECK(c.max_payload == 32768);
    CHECK(c.read_timeout_ms == 0 && c.write_timeout_ms == 0);
    CHECK(c.accept_backlog == 4096);
    msgwire_ministream_manager *a = NULL, *b = NULL;
    c.buffer_size = 0;
    CHECK_STATUS(msgwire_ministream_manager_pair(&c, &a, &b), MSGWIRE_INVALID_ARGUMENT);
    CHECK(a == NULL && b == NULL);
    CHECK_OK(msgwire_ministream_config_default(&c));
    c.accept_backlog = 0;
    CHECK_STATUS(msgwire_ministream_manager_pair(&c, &a, &b), MSGWIRE_INVALID_ARGUMENT);
    CHECK(a == NULL && b == NULL);
    CHECK_STATUS(msgwire_ministream_manager_pair(NULL, NULL, &b), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_ministream_manager_listen("not an address", NULL, &a),
                 MSGWIRE_MINISTREAM_LISTEN);
    msgwire_ministream_manager_free(NULL);
    msgwire_ministream_socket_free(NULL);
}

static void test_in_memory(void)
{
    msgwire_ministream_manager *a = NULL, *b = NULL;
    CHECK_OK(msgwire_ministream_manager_pair(NULL, &a, &b));
    char dest_b[64];
    size_t len = 0;
    CHECK_OK(msgwire_ministream_manager_destination(b, dest_b, sizeof dest_b, &len));
    char tiny[2];
    size_t need = 0;
    CHECK_STATUS(msgwire_ministream_manager_destination(b, tiny, sizeof tiny, &need),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(need == len);

    /* Nobody accepts on b yet: refused at once. */
    msgwire_ministream_socket *s = NULL;
    CHECK_STATUS(msgwire_ministream_manager_connect(a, (const uint8_t *)dest_b, len, 0, &s),
                 MSGWIRE_MINISTREAM_REFUSED);
    CHECK(s == NULL);
    CHECK_STATUS(msgwire_ministream_manager_connect(a, (const uint8_t *)"nobody", 6, 0, &s),
                 MSGWIRE_MINISTREAM_DESTINATION);

    /* accept with a short timeout and nothing coming. */
    CHECK_STATUS(msgwire_ministream_manager_accept(b, 20, &s), MSGWIRE_MINISTREAM_TIMEOUT);

    msgwire_ministream_socket *c = NULL, *srv = NULL;
    CHECK(connect_pair(a, b, &c, &srv));
    size_t count = 0;
    CHECK_OK(msgwire_ministream_manager_socket_count(a, &count));
    CHECK(count == 1);
    CHECK_OK(msgwire_ministream_socket_write(c, (const uint8_t *)"hello", 5));
    uint8_t buf[16];
    size_t n = 0;
    CHECK_OK(msgwire_ministream_socket_read(srv, buf, sizeof buf, &n));
    CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
    char peer[64];
    CHECK_OK(msgwire_ministream_socket_peer_destination(srv, peer, sizeof peer, &len));
    char dest_a[64];
    size_t len_a = 0;
    CHECK_OK(msgwire_ministream_manager_destination(a, dest_a, sizeof dest_a, &len_a));
    CHECK(len == len_a && strcmp(peer, dest_a) == 0);

    /* A read timeout, then the socket still works. */
    CHECK_OK(msgwire_ministream_socket_set_timeouts(c, 30, 0));
    CHECK_STATUS(msgwire_ministream_socket_read(c, buf, sizeof buf, &n), MSGWIRE_MINISTREAM_TIMEOUT);
    CHECK_OK(msgwire_ministream_socket_write(srv, (const uint8_t *)"back", 4));
    CHECK_OK(msgwire_ministream_socket_read(c, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "back", 4) == 0);
    uint64_t sent = 0, received = 0;
    CHECK_OK(msgwire_ministream_socket_counters(c, &sent, &received));
    CHECK(sent == 5 && received == 4);

    /* The server closes: the client reads end of stream, and its writes
     * are reset. */
    CHECK_OK(msgwire_ministream_socket_close(srv));
    CHECK_OK(msgwire_ministream_socket_set_timeouts(c, 0, 0));
    CHECK_OK(msgwire_ministream_socket_read(c, buf, sizeof buf, &n));
    CHECK(n == 0);
    CHECK_STATUS(msgwire_ministream_socket_write(c, (const uint8_t *)"x", 1), MSGWIRE_MINISTREAM_RESET);
    CHECK_STATUS(msgwire_ministream_socket_write(srv, (const uint8_t *)"x", 1), MSGWIRE_MINISTREAM_CLOSED);
    msgwire_ministream_socket_free(c);
    msgwire_ministream_socket_free(srv);

    /* destroy with an open stream: the peer sees the Close. */
    CHECK(connect_pair(a, b, &c, &srv));
    CHECK_OK(msgwire_ministream_manager_destroy(a));
    CHECK_OK(msgwire_ministream_socket_read(srv, buf, sizeof buf, &n));
    CHECK(n == 0);
    CHECK_STATUS(msgwire_ministream_socket_write(c, (const uint8_t *)"x", 1), MSGWIRE_MINISTREAM_CLOSED);
    CHECK_STATUS(msgwire_ministream_manager_connect(a, (const uint8_t *)dest_b, strlen(dest_b), 0, &s),
                 MSGWIRE_MINISTREAM_CLOSED);
    msgwire_ministream_socket_free(c);
    msgwire_ministream_socket_free(srv);
    msgwire_ministream_manager_free(a);
    msgwire_ministream_manager_free(b);
}

/* A raw TCP client speaking the length-prefixed framing. */
static int raw_connect(const char *dest)
{
    char host[64];
    snprintf(host, sizeof host, "%s", dest);
    char *colon = strrchr(host, ':');
    if (colon == NULL) {
        return -1;
    }
    *colon = '\0';
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(colon + 1));
    inet_pton(AF_INET, host, &addr.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool read_full(int fd, uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = read(fd, buf, len);
        if (n <= 0) {
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static void test_tcp(void)
{
    msgwire_ministream_manager *a = NULL, *b = NULL;
    CHECK_OK(msgwire_ministream_manager_listen("127.0.0.1:0", NULL, &a));
    CHECK_OK(msgwire_ministream_manager_listen("127.0.0.1:0", NULL, &b));
    char dest_b[64];
    size_t len = 0;
    CHECK_OK(msgwire_ministream_manager_destination(b, dest_b, sizeof dest_b, &len));
    CHECK(strncmp(dest_b, "127.0.0.1:", 10) == 0);

    /* Sample (a) on the wire: a SYN nobody accepts gets 52 + the id. */
    int fd = raw_connect(dest_b);
    CHECK(fd >= 0);
    if (fd >= 0) {
        const uint8_t syn[] = {0, 0, 0, 7, 0xA1, 0x12, 0x34, 0x56, 'k', 'e', 'y'};
        CHECK(write(fd, syn, sizeof syn) == (ssize_t)sizeof syn);
        uint8_t reply[8];
        CHECK(read_full(fd, reply, sizeof reply));
        const uint8_t want[] = {0, 0, 0, 4, 0x52, 0x12, 0x34, 0x56};
        CHECK(memcmp(reply, want, sizeof want) == 0);
        /* A frame with the zero id is dropped and counted. */
        const uint8_t zero[] = {0, 0, 0, 5, 0xA0, 0, 0, 0, 'z'};
        CHECK(write(fd, zero, sizeof zero) == (ssize_t)sizeof zero);
        const uint8_t ping[] = {0, 0, 0, 1, 0xFF};
        CHECK(write(fd, ping, sizeof ping) == (ssize_t)sizeof ping);
        msgwire_ministream_stats stats = {0};
        for (int i = 0; i < 2000 && stats.pings == 0; i++) {
            CHECK_OK(msgwire_ministream_manager_stats(b, &stats));
            if (stats.pings == 0) {
                struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
            }
        }
        CHECK(stats.malformed == 1 && stats.pings == 1);
        close(fd);
    }

    bool up = false;
    CHECK_OK(msgwire_ministream_manager_ping(a, (const uint8_t *)dest_b, len, 5000, &up));
    CHECK(up);

    msgwire_ministream_socket *c = NULL, *srv = NULL;
    CHECK(connect_pair(a, b, &c, &srv));
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++) {
        big[i] = (uint8_t)(i % 253);
    }
    CHECK_OK(msgwire_ministream_socket_write(c, big, sizeof big));
    CHECK_OK(msgwire_ministream_socket_close(c));
    static uint8_t got[300000];
    size_t total = 0, n = 0;
    do {
        CHECK_OK(msgwire_ministream_socket_read(srv, got + total, sizeof got - total + 0, &n));
        total += n;
    } while (n > 0 && total < sizeof got);
    CHECK_OK(msgwire_ministream_socket_read(srv, got, 1, &n));
    CHECK(n == 0);
    CHECK(total == sizeof big && memcmp(big, got, sizeof big) == 0);
    msgwire_ministream_socket_free(c);
    msgwire_ministream_socket_free(srv);
    msgwire_ministream_manager_free(a);
    msgwire_ministream_manager_free(b);
}

/* A stream nobody accepts: with a long accept timeout, connect times out
 * (its connect timeout); with a short one, the peer refuses it. */
static void test_connect_timeout_and_accept_timeout(void)
{
    msgwire_ministream_config cfg;
    CHECK_OK(msgwire_ministream_config_default(&cfg));
    cfg.accept_timeout_ms = 60000;
    msgwire_ministream_manager *a = NULL, *b = NULL;
    CHECK_OK(msgwire_ministream_manager_pair(&cfg, &a, &b));
    char dest_b[64];
    size_t len = 0;
    CHECK_OK(msgwire_ministream_manager_destination(b, dest_b, sizeof dest_b, &len));
    CHECK_OK(msgwire_ministream_manager_accept_streams(b));
    msgwire_ministream_socket *s = NULL;
    CHECK_STATUS(msgwire_ministream_manager_connect(a, (const uint8_t *)dest_b, len, 100, &s),
                 MSGWIRE_MINISTREAM_TIMEOUT);
    CHECK(s == NULL);
    msgwire_ministream_manager_free(a);
    msgwire_ministream_manager_free(b);

    cfg.accept_timeout_ms = 100;
    CHECK_OK(msgwire_ministream_manager_pair(&cfg, &a, &b));
    CHECK_OK(msgwire_ministream_manager_destination(b, dest_b, sizeof dest_b, &len));
    CHECK_OK(msgwire_ministream_manager_accept_streams(b));
    CHECK_STATUS(msgwire_ministream_manager_connect(a, (const uint8_t *)dest_b, len, 20000, &s),
                 MSGWIRE_MINISTREAM_REFUSED);
    CHECK(s == NULL);
    msgwire_ministream_manager_free(a);
    msgwire_ministream_manager_free(b);
}

/* Two managers speaking TLS both ways (each accepts TLS and dials with
 * TLS): a stream works in both directions; a plain SYN gets no reply (the
 * handshake fails and the connection is dropped); a manager that trusts
 * another CA cannot connect. */
static void test_tls(void)
{
    data_paths();
    msgwire_tls_server_config *srv_tls = NULL;
    msgwire_tls_client_config *cli_tls = NULL, *other_tls = NULL;
    CHECK_OK(msgwire_tls_server_config_from_files(cert_path, key_path, &srv_tls));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca_path, &cli_tls));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(other_ca_path, &other_tls));
    msgwire_ministream_manager *a = NULL, *b = NULL, *stranger = NULL;
    CHECK_OK(msgwire_ministream_manager_listen_tls("127.0.0.1:0", NULL, srv_tls, cli_tls, &a));
    CHECK_OK(msgwire_ministream_manager_listen_tls("127.0.0.1:0", NULL, srv_tls, cli_tls, &b));
    CHECK_OK(msgwire_ministream_manager_listen_tls("127.0.0.1:0", NULL, NULL, other_tls, &stranger));
    /* The managers keep their own references. */
    msgwire_tls_server_config_free(srv_tls);
    msgwire_tls_client_config_free(cli_tls);
    msgwire_tls_client_config_free(other_tls);
    if (a == NULL || b == NULL || stranger == NULL) {
        msgwire_ministream_manager_free(a);
        msgwire_ministream_manager_free(b);
        msgwire_ministream_manager_free(stranger);
        return;
    }

    msgwire_ministream_socket *c = NULL, *s = NULL;
    CHECK(connect_pair(a, b, &c, &s));
    if (c != NULL && s != NULL) {
        uint8_t buf[16];
        size_t n = 0;
        CHECK_OK(msgwire_ministream_socket_write(c, (const uint8_t *)"over tls", 8));
        CHECK_OK(msgwire_ministream_socket_read(s, buf, sizeof buf, &n));
        CHECK(n == 8 && memcmp(buf, "over tls", 8) == 0);
        CHECK_OK(msgwire_ministream_socket_write(s, (const uint8_t *)"back", 4));
        CHECK_OK(msgwire_ministream_socket_read(c, buf, sizeof buf, &n));
        CHECK(n == 4 && memcmp(buf, "back", 4) == 0);
    }
    msgwire_ministream_socket_free(c);
    msgwire_ministream_socket_free(s);

    char dest_b[64];
    size_t len = 0;
    CHECK_OK(msgwire_ministream_manager_destination(b, dest_b, sizeof dest_b, &len));
    int fd = raw_connect(dest_b);
    CHECK(fd >= 0);
    if (fd >= 0) {
        struct timeval tv = {20, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        const uint8_t syn[] = {0, 0, 0, 7, 0xA1, 0x12, 0x34, 0x56, 'k', 'e', 'y'};
        CHECK(write(fd, syn, sizeof syn) == (ssize_t)sizeof syn);
        uint8_t reply[8];
        CHECK(!read_full(fd, reply, sizeof reply));
        close(fd);
    }

    msgwire_ministream_socket *refused = NULL;
    CHECK_STATUS(msgwire_ministream_manager_connect(stranger, (const uint8_t *)dest_b, len, 20000,
                                                    &refused),
                 MSGWIRE_MINISTREAM_TRANSPORT);
    CHECK(refused == NULL);
    msgwire_ministream_manager_free(a);
    msgwire_ministream_manager_free(b);
    msgwire_ministream_manager_free(stranger);
}

int main(void)
{
    test_config();
    test_in_memory();
    test_tcp();
    test_connect_timeout_and_accept_timeout();
    test_tls();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
