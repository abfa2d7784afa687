/*
 * chat_cpim - two MSRP chats (MSRPChat) talking over 127.0.0.1.
 *
 *     chat_cpim
 *
 * The high-level chat API: msgwire sets up the connection, wraps messages
 * in Message/CPIM when the peer's SDP accepts it, and reports delivery.
 *
 *   1. "alice" (outgoing, connects) and "bob" (incoming, listens) are
 *      created with one notification callback each and initialized: each
 *      gets the SDP media it would put in its offer or answer.
 *   2. Each starts with the other's media; bob waits for alice's
 *      connection on a second thread.
 *   3. Alice sends a few messages. Bob's callback prints each message with
 *      its CPIM headers; alice's prints the delivery reports. Bob answers.
 *   4. Alice ends the chat; bob sees it end; both are freed.
 *
 * Callbacks run on msgwire's threads, so the counters they update are
 * protected by a mutex and the main thread waits on a condition variable.
 *
 * Exit status 0 when every message and report arrived, 1 otherwise.
 *
 * Build, from a checkout after `make build` (which writes msgwire.pc):
 *     PKG_CONFIG_PATH=target/release \
 *     cc -std=c11 -pthread chat_cpim.c $(pkg-config --cflags --libs msgwire)
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

static const char *const ALICE_SAYS[] = {
    "Hi Bob, are you there?",
    "The slides are ready.",
    "See you at ten.",
};
#define ALICE_COUNT (int)(sizeof ALICE_SAYS / sizeof ALICE_SAYS[0])

/* One chat's side, passed to its callback as user_data. */
struct side {
    const char *name;
    pthread_mutex_t *lock;
    pthread_cond_t *changed;
    int messages;  /* MSRPChatGotMessage */
    int delivered; /* MSRPChatDidDeliverMessage */
    int failed;    /* DidFail or DidNotDeliverMessage */
    bool ended;    /* DidEnd, or DidFail while reading */
};

static void on_event(void *user_data, const msgwire_chat_event *ev)
{
    struct side *s = user_data;
    pthread_mutex_lock(s->lock);
    switch (ev->kind) {
    case MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE:
        printf("%s got %.*s: \"%.*s\"\n", s->name, (int)ev->content_type.len, ev->content_type.ptr,
               (int)ev->content_len, (const char *)ev->content);
        for (size_t i = 0; i < ev->cpim_header_count; i++) {
            printf("    %.*s: %.*s\n", (int)ev->cpim_headers[i].name.len,
                   ev->cpim_headers[i].name.ptr, (int)ev->cpim_headers[i].value.len,
                   ev->cpim_headers[i].value.ptr);
        }
        s->messages++;
        break;
    case MSGWIRE_CHAT_EVENT_KIND_DID_DELIVER_MESSAGE:
        printf("%s: message %.*s delivered (%u)\n", s->name, (int)ev->message_id.len,
               ev->message_id.ptr, (unsigned)ev->code);
        s->delivered++;
        break;
    case MSGWIRE_CHAT_EVENT_KIND_DID_NOT_DELIVER_MESSAGE:
        printf("%s: message %.*s NOT delivered (%u %.*s)\n", s->name, (int)ev->message_id.len,
               ev->message_id.ptr, (unsigned)ev->code, (int)ev->reason.len, ev->reason.ptr);
        s->failed++;
        break;
    case MSGWIRE_CHAT_EVENT_KIND_DID_FAIL:
        printf("%s failed (%s): %s\n", s->name, ev->context.ptr, ev->reason.ptr);
        if (strcmp(ev->context.ptr, "reading") == 0) {
            s->ended = true;
        } else {
            s->failed++;
        }
        break;
    case MSGWIRE_CHAT_EVENT_KIND_DID_END:
        s->ended = true;
        printf("%s: %s\n", s->name, ev->name.ptr);
        break;
    default:
        printf("%s: %s\n", s->name, ev->name.ptr);
        break;
    }
    pthread_cond_broadcast(s->changed);
    pthread_mutex_unlock(s->lock);
}

/* Waits (at most 10 s) until *counter reaches want. */
static bool wait_for(pthread_mutex_t *lock, pthread_cond_t *changed, int *counter, int want)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    pthread_mutex_lock(lock);
    int rc = 0;
    while (*counter < want && rc == 0) {
        rc = pthread_cond_timedwait(changed, lock, &deadline);
    }
    bool ok = *counter >= want;
    pthread_mutex_unlock(lock);
    return ok;
}

struct start_args {
    msgwire_chat *chat;
    msgwire_sdp_media *remote;
    msgwire_status status;
};

static void *start_thread(void *arg)
{
    struct start_args *a = arg;
    a->status = msgwire_chat_start(a->chat, a->remote);
    return NULL;
}

static msgwire_chat *new_chat(const char *me, const char *peer, bool outgoing, struct side *s)
{
    msgwire_chat_config config = {0};
    config.local_identity = me;
    config.remote_identity = peer;
    config.outgoing = outgoing;
    config.local_address = "127.0.0.1";
    msgwire_chat *chat = NULL;
    if (msgwire_chat_new(&config, on_event, s, &chat) != MSGWIRE_OK) {
        fprintf(stderr, "chat: %s\n", msgwire_last_error());
    }
    return chat;
}

int main(void)
{
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
    struct side alice_side = {"alice", &lock, &changed, 0, 0, 0, false};
    struct side bob_side = {"bob", &lock, &changed, 0, 0, 0, false};
    int status = 1;

    msgwire_chat *alice = new_chat("Alice <sip:alice@example.com>", "sip:bob@example.com", true,
                                   &alice_side);
    msgwire_chat *bob = new_chat("sip:bob@example.com", "sip:alice@example.com", false, &bob_side);
    msgwire_sdp_media *alice_media = NULL, *bob_media = NULL;
    if (alice == NULL || bob == NULL || msgwire_chat_initialize(alice, &alice_media) != MSGWIRE_OK ||
        msgwire_chat_initialize(bob, &bob_media) != MSGWIRE_OK) {
        fprintf(stderr, "initialize: %s\n", msgwire_last_error());
        goto out;
    }

    /* Bob waits for alice's connection on his own thread. */
    struct start_args bob_start = {bob, alice_media, MSGWIRE_OK};
    pthread_t t;
    if (pthread_create(&t, NULL, start_thread, &bob_start) != 0) {
        goto out;
    }
    msgwire_status alice_started = msgwire_chat_start(alice, bob_media);
    pthread_join(t, NULL);
    if (alice_started != MSGWIRE_OK || bob_start.status != MSGWIRE_OK) {
        fprintf(stderr, "start: %s\n", msgwire_last_error());
        goto out;
    }

    for (int i = 0; i < ALICE_COUNT; i++) {
        const char *text = ALICE_SAYS[i];
        if (msgwire_chat_send_message(alice, (const uint8_t *)text, strlen(text), "text/plain",
                                      NULL, NULL, NULL) != MSGWIRE_OK) {
            fprintf(stderr, "send: %s\n", msgwire_last_error());
            goto out;
        }
    }
    bool ok = wait_for(&lock, &changed, &bob_side.messages, ALICE_COUNT) &&
              wait_for(&lock, &changed, &alice_side.delivered, ALICE_COUNT);
    const char *reply = "Yes, see you!";
    ok = ok && msgwire_chat_send_message(bob, (const uint8_t *)reply, strlen(reply), NULL, NULL,
                                         NULL, NULL) == MSGWIRE_OK;
    ok = ok && wait_for(&lock, &changed, &alice_side.messages, 1) &&
         wait_for(&lock, &changed, &bob_side.delivered, 1);

    msgwire_chat_end(alice);
    int ended = 0;
    struct timespec pause = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 500 && !ended; i++) {
        pthread_mutex_lock(&lock);
        ended = bob_side.ended;
        pthread_mutex_unlock(&lock);
        if (!ended) {
            nanosleep(&pause, NULL);
        }
    }
    ok = ok && ended && alice_side.failed == 0 && bob_side.failed == 0;
    printf("%s\n", ok ? "all messages delivered" : "something was lost");
    status = ok ? 0 : 1;

out:
    msgwire_chat_free(alice);
    msgwire_chat_free(bob);
    msgwire_sdp_media_free(alice_media);
    msgwire_sdp_media_free(bob_media);
    return status;
}
