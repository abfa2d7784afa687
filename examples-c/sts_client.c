/* An STS/1.0 demo client for examples-c/sts_server.c.
 *
 *     sts_client PORT
 *
 * Connects to 127.0.0.1:PORT and
 *   1. asks /Demo/Echo for one reply and checks that it echoes the body,
 *   2. asks /Demo/Count and prints every partial reply and the final one
 *      (they arrive on a msgwire thread, through a callback),
 *   3. asks /Demo/Fail and prints the error reply's code and text,
 *   4. asks /Demo/Nope, a command the server does not know, expecting 404,
 *   5. sends /Demo/Quit, which stops the server.
 * Exits 0 when everything went as expected, 1 otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

static int problems;

static void complain(const char *what, msgwire_status status)
{
    fprintf(stderr, "error: %s: %s (%s)\n", what, msgwire_status_text(status),
            msgwire_last_error());
    problems++;
}

/* ---- the multi-part request ------------------------------------------- */

/* Filled by the reply callback on a msgwire thread, read by main. */
struct parts {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int partial;  /* partial replies seen */
    bool done;    /* the last item came */
    bool ok;      /* it was the final reply, with the expected texts */
};

static void on_reply(void *user_data, const msgwire_sts_reply_item *item)
{
    struct parts *p = user_data;
    const uint8_t *body = (const uint8_t *)"";
    size_t len = 0;
    if (item->message != NULL) {
        msgwire_sts_message_body(item->message, &body, &len);
    }
    pthread_mutex_lock(&p->lock);
    switch (item->kind) {
    case MSGWIRE_STS_REPLY_KIND_PARTIAL: {
        char want[32];
        snprintf(want, sizeof want, "part %d", p->partial + 1);
        printf("count: partial reply %d: %.*s\n", p->partial + 1, (int)len, (const char *)body);
        if (len != strlen(want) || memcmp(body, want, len) != 0) {
            p->ok = false;
        }
        p->partial++;
        break;
    }
    case MSGWIRE_STS_REPLY_KIND_FINAL:
        printf("count: final reply: %.*s\n", (int)len, (const char *)body);
        if (p->partial != 3 || len != 4 || memcmp(body, "done", 4) != 0) {
            p->ok = false;
        }
        p->done = true;
        break;
    default:
        printf("count: request ended with kind %u (%.*s)\n", (unsigned)item->kind,
               (int)item->failure.len, item->failure.ptr);
        p->ok = false;
        p->done = true;
        break;
    }
    pthread_cond_signal(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    char address[64];
    snprintf(address, sizeof address, "127.0.0.1:%s", argv[1]);

    msgwire_sts_client *client = NULL;
    msgwire_status s = msgwire_sts_client_connect(address, NULL, &client);
    if (s != MSGWIRE_OK) {
        complain("connect", s);
        return 1;
    }
    printf("connected to %s\n", address);

    /* 1. Echo: one request, one reply. */
    const char *text = "hello, STS";
    msgwire_sts_message *request = NULL;
    msgwire_sts_message *reply = NULL;
    s = msgwire_sts_message_new_request("Demo", "Echo", &request);
    if (s == MSGWIRE_OK) {
        s = msgwire_sts_message_set_header(request, "Content-Type", "text/plain");
    }
    if (s == MSGWIRE_OK) {
        s = msgwire_sts_message_set_body(request, (const uint8_t *)text, strlen(text));
    }
    if (s == MSGWIRE_OK) {
        s = msgwire_sts_client_request_one(client, "Demo", "Echo", request, 10000, &reply, NULL);
    }
    if (s != MSGWIRE_OK) {
        complain("echo", s);
    } else {
        const uint8_t *body;
        size_t len;
        uint16_t code = 0;
        msgwire_sts_message_status_code(reply, &code);
        msgwire_sts_message_body(reply, &body, &len);
        printf("echo: %u %.*s\n", (unsigned)code, (int)len, (const char *)body);
        if (code != 200 || len != strlen(text) || memcmp(body, text, len) != 0) {
            fprintf(stderr, "error: the echo does not match\n");
            problems++;
        }
    }
    msgwire_sts_message_free(reply);
    msgwire_sts_message_free(request);

    /* 2. Count: partial replies through a callback. */
    struct parts parts = {.ok = true};
    pthread_mutex_init(&parts.lock, NULL);
    pthread_cond_init(&parts.changed, NULL);
    s = msgwire_sts_client_request(client, "Demo", "Count", NULL, 10000, on_reply, &parts, NULL);
    if (s != MSGWIRE_OK) {
        complain("count", s);
    } else {
        /* The request's timeout guarantees a last item. */
        pthread_mutex_lock(&parts.lock);
        while (!parts.done) {
            pthread_cond_wait(&parts.changed, &parts.lock);
        }
        pthread_mutex_unlock(&parts.lock);
        if (!parts.ok) {
            fprintf(stderr, "error: the count replies are not as expected\n");
            problems++;
        }
    }

    /* 3. Fail: an error reply. */
    msgwire_sts_error_reply error = {0};
    reply = NULL;
    s = msgwire_sts_client_request_one(client, "Demo", "Fail", NULL, 10000, &reply, &error);
    if (s == MSGWIRE_STS_ERROR_REPLY) {
        printf("fail: error code %lld: %s\n", (long long)error.code, error.text);
        if (error.code != 7) {
            fprintf(stderr, "error: expected code 7\n");
            problems++;
        }
    } else {
        complain("fail (expected an error reply)", s);
        msgwire_sts_message_free(reply);
    }
    msgwire_sts_error_reply_clear(&error);

    /* 4. A command the server has no route for. */
    reply = NULL;
    s = msgwire_sts_client_request_one(client, "Demo", "Nope", NULL, 10000, &reply, &error);
    if (s == MSGWIRE_STS_ERROR_REPLY) {
        printf("nope: error code %lld: %s\n", (long long)error.code, error.text);
        if (error.code != 404) {
            fprintf(stderr, "error: expected code 404\n");
            problems++;
        }
    } else {
        complain("nope (expected 404)", s);
        msgwire_sts_message_free(reply);
    }
    msgwire_sts_error_reply_clear(&error);

    /* 5. Stop the server: a simple message, no reply. */
    s = msgwire_sts_client_send(client, "Demo", "Quit", NULL);
    if (s != MSGWIRE_OK) {
        complain("quit", s);
    }

    /* Closing lets the Quit message out before the connection ends;
     * freeing waits for the reply thread of the Count request. */
    msgwire_sts_client_close(client);
    msgwire_sts_client_free(client);
    pthread_cond_destroy(&parts.changed);
    pthread_mutex_destroy(&parts.lock);

    printf("%s\n", problems == 0 ? "sts_client ok" : "sts_client FAILED");
    return problems == 0 ? 0 : 1;
}
