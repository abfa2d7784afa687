/* Ministreaming echo: a server manager and a client manager over TCP on
 * 127.0.0.1 in one process.
 *
 *     ministream_echo
 *
 * The server manager accepts streams and echoes each on a thread of its
 * own until the client closes it. The client opens 8 streams at once (one
 * thread each), sends a pattern of its own on each, reads the echo back,
 * checks it and closes. Exits 0 when every stream came back intact. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

#define STREAMS 8
#define BYTES_PER_STREAM (200 * 1000)

static void complain(const char *what, msgwire_status status)
{
    fprintf(stderr, "error: %s: %s (%s)\n", what, msgwire_status_text(status),
            msgwire_last_error());
}

/* ---- the server side ----------------------------------------------------- */

static void *echo_stream(void *arg)
{
    msgwire_ministream_socket *s = arg;
    uint8_t buf[16384];
    for (;;) {
        size_t n = 0;
        msgwire_status st = msgwire_ministream_socket_read(s, buf, sizeof buf, &n);
        if (st != MSGWIRE_OK) {
            complain("server read", st);
            break;
        }
        if (n == 0) {
            break; /* the client closed the stream */
        }
        st = msgwire_ministream_socket_write(s, buf, n);
        if (st != MSGWIRE_OK) {
            complain("server write", st);
            break;
        }
    }
    msgwire_ministream_socket_free(s);
    return NULL;
}

struct server {
    msgwire_ministream_manager *manager;
    pthread_t workers[STREAMS];
    int accepted;
};

static void *accept_loop(void *arg)
{
    struct server *srv = arg;
    while (srv->accepted < STREAMS) {
        msgwire_ministream_socket *s = NULL;
        msgwire_status st = msgwire_ministream_manager_accept(srv->manager, 30000, &s);
        if (st != MSGWIRE_OK) {
            complain("accept", st);
            break;
        }
        pthread_create(&srv->workers[srv->accepted], NULL, echo_stream, s);
        srv->accepted++;
    }
    return NULL;
}

/* ---- the client side ----------------------------------------------------- */

struct client {
    msgwire_ministream_manager *manager;
    const char *destination;
    int index;
    bool ok;
};

static uint8_t pattern(int stream, size_t i)
{
    return (uint8_t)(i * 7 + (size_t)stream * 31 + i / 251);
}

static void *client_stream(void *arg)
{
    struct client *c = arg;
    msgwire_ministream_socket *s = NULL;
    msgwire_status st = msgwire_ministream_manager_connect(
        c->manager, (const uint8_t *)c->destination, strlen(c->destination), 0, &s);
    if (st != MSGWIRE_OK) {
        complain("connect", st);
        return NULL;
    }
    uint8_t *data = malloc(BYTES_PER_STREAM);
    uint8_t *back = malloc(BYTES_PER_STREAM);
    for (size_t i = 0; i < BYTES_PER_STREAM; i++) {
        data[i] = pattern(c->index, i);
    }
    /* Write in pieces and read the echo as it comes, so neither side's
     * buffers need to hold the whole stream. */
    size_t sent = 0, got = 0;
    bool failed = false;
    while (got < BYTES_PER_STREAM && !failed) {
        if (sent < BYTES_PER_STREAM) {
            size_t k = BYTES_PER_STREAM - sent < 10000 ? BYTES_PER_STREAM - sent : 10000;
            st = msgwire_ministream_socket_write(s, data + sent, k);
            if (st != MSGWIRE_OK) {
                complain("client write", st);
                failed = true;
                break;
            }
            sent += k;
        }
        while (got < sent) {
            size_t n = 0;
            st = msgwire_ministream_socket_read(s, back + got, sent - got, &n);
            if (st != MSGWIRE_OK || n == 0) {
                complain("client read", st);
                failed = true;
                break;
            }
            got += n;
        }
    }
    uint64_t out_bytes = 0, in_bytes = 0;
    msgwire_ministream_socket_counters(s, &out_bytes, &in_bytes);
    c->ok = !failed && memcmp(data, back, BYTES_PER_STREAM) == 0 &&
            out_bytes == BYTES_PER_STREAM && in_bytes == BYTES_PER_STREAM;
    printf("stream %d: %zu bytes echoed %s\n", c->index, got, c->ok ? "intact" : "WRONG");
    msgwire_ministream_socket_close(s);
    msgwire_ministream_socket_free(s);
    free(data);
    free(back);
    return NULL;
}

int main(void)
{
    struct server srv = {0};
    msgwire_ministream_manager *client_manager = NULL;
    msgwire_status st = msgwire_ministream_manager_listen("127.0.0.1:0", NULL, &srv.manager);
    if (st != MSGWIRE_OK) {
        complain("server listen", st);
        return 1;
    }
    st = msgwire_ministream_manager_listen("127.0.0.1:0", NULL, &client_manager);
    if (st != MSGWIRE_OK) {
        complain("client listen", st);
        msgwire_ministream_manager_free(srv.manager);
        return 1;
    }
    char destination[64];
    size_t len = 0;
    msgwire_ministream_manager_destination(srv.manager, destination, sizeof destination, &len);
    printf("server destination %s\n", destination);

    /* Accept before anyone connects: a stream nobody accepts is refused. */
    msgwire_ministream_manager_accept_streams(srv.manager);
    pthread_t acceptor;
    pthread_create(&acceptor, NULL, accept_loop, &srv);

    struct client clients[STREAMS];
    pthread_t threads[STREAMS];
    for (int i = 0; i < STREAMS; i++) {
        clients[i] = (struct client){client_manager, destination, i, false};
        pthread_create(&threads[i], NULL, client_stream, &clients[i]);
    }
    int good = 0;
    for (int i = 0; i < STREAMS; i++) {
        pthread_join(threads[i], NULL);
        good += clients[i].ok;
    }
    pthread_join(acceptor, NULL);
    for (int i = 0; i < srv.accepted; i++) {
        pthread_join(srv.workers[i], NULL);
    }
    msgwire_ministream_manager_free(client_manager);
    msgwire_ministream_manager_free(srv.manager);
    printf("%d of %d streams echoed intact\n", good, STREAMS);
    return good == STREAMS ? 0 : 1;
}
