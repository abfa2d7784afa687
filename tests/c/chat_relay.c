/* Two C chats through an in-process msgwire relay (msgwire_relay_*): both
 * authenticate at it, advertise its reservation before their own URI in
 * a=path, bind through it (alice, outgoing, sends the bind SEND), exchange
 * CPIM-wrapped messages both ways and get the delivery notifications; then
 * both end, the relay shuts down, and valgrind checks nothing leaks. */
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

#define MAX_EVENTS 32
#define REALM "relay.c.test"

/* One event as the callback saw it (copied: the event is lent). */
struct seen {
    msgwire_chat_event_kind kind;
    char content[128];
    char from[96];
    char from_path[512]; /* the received SEND's From-Path */
    char message_id[40];
    uint16_t code;
};

struct side {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct seen events[MAX_EVENTS];
    int count;
};

static void record(void *user_data, const msgwire_chat_event *ev)
{
    struct side *s = user_data;
    pthread_mutex_lock(&s->lock);
    if (s->count < MAX_EVENTS) {
        struct seen *e = &s->events[s->count++];
        memset(e, 0, sizeof *e);
        e->kind = ev->kind;
        e->code = ev->code;
        copy_str(e->message_id, sizeof e->message_id, ev->message_id.ptr, ev->message_id.len);
        if (ev->kind == MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE) {
            copy_str(e->content, sizeof e->content, ev->content, ev->content_len);
            for (size_t i = 0; i < ev->cpim_header_count; i++) {
                if (str_is(ev->cpim_headers[i].name, "From")) {
                    copy_str(e->from, sizeof e->from, ev->cpim_headers[i].value.ptr,
                         ev->cpim_headers[i].value.len);
                }
            }
            msgwire_str fp = {0};
            if (msgwire_msrp_chunk_header(ev->message, "From-Path", &fp) == MSGWIRE_OK) {
                copy_str(e->from_path, sizeof e->from_path, fp.ptr, fp.len);
            }
        }
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Waits (at most 10 s) for the first event of `kind` after number `from`;
 * returns its index, or -1. */
static int wait_for(struct side *s, int from, msgwire_chat_event_kind kind, struct seen *out)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    int found = -1;
    pthread_mutex_lock(&s->lock);
    for (int i = from;;) {
        while (i < s->count && s->events[i].kind != kind) {
            i++;
        }
        if (i < s->count) {
            found = i;
            *out = s->events[i];
            break;
        }
        if (pthread_cond_timedwait(&s->changed, &s->lock, &deadline) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

static msgwire_chat *new_chat(bool outgoing, const char *relay_host, uint16_t relay_port,
                              struct side *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->count = 0;
    msgwire_chat_config c = {0};
    c.local_identity = outgoing ? "sip:alice@example.com" : "sip:bob@example.com";
    c.remote_identity = outgoing ? "sip:bob@example.com" : "sip:alice@example.com";
    c.outgoing = outgoing;
    c.local_address = "127.0.0.1";
    c.relay_domain = REALM;
    c.relay_username = outgoing ? "alice" : "bob";
    c.relay_password = outgoing ? "alice-pw" : "bob-pw";
    c.relay_host = relay_host;
    c.relay_port = relay_port;
    msgwire_chat *chat = NULL;
    CHECK_OK(msgwire_chat_new(&c, record, s, &chat));
    return chat;
}

struct start_args {
    msgwire_chat *chat;
    const msgwire_sdp_media *remote;
    msgwire_status status;
};

static void *start_thread(void *arg)
{
    struct start_args *a = arg;
    a->status = msgwire_chat_start(a->chat, a->remote);
    return NULL;
}

/* The i-th a=path URI of `media`, copied into buf. */
static void path_uri(const msgwire_sdp_media *media, size_t i, char *buf, size_t cap)
{
    msgwire_str u = {0};
    buf[0] = '\0';
    if (msgwire_sdp_media_path(media, i, &u) == MSGWIRE_OK) {
        copy_str(buf, cap, u.ptr, u.len);
    }
}

int main(void)
{
    msgwire_relay_config *config = NULL;
    msgwire_relay *relay = NULL;
    CHECK_OK(msgwire_relay_config_new(REALM, &config));
    CHECK_OK(msgwire_relay_config_add_user(config, "alice", "alice-pw"));
    CHECK_OK(msgwire_relay_config_add_user(config, "bob", "bob-pw"));
    CHECK_OK(msgwire_relay_config_plain_tcp(config, "127.0.0.1:0"));
    CHECK_OK(msgwire_relay_start(config, &relay));
    msgwire_relay_config_free(config);
    if (relay == NULL) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    char addr[64];
    size_t len = 0;
    CHECK_OK(msgwire_relay_plain_tcp_address(relay, addr, sizeof addr, &len));
    char *colon = strrchr(addr, ':');
    CHECK(colon != NULL);
    uint16_t port = colon ? (uint16_t)atoi(colon + 1) : 0;
    if (colon) {
        *colon = '\0';
    }

    struct side as, bs;
    msgwire_chat *alice = new_chat(true, addr, port, &as);
    msgwire_chat *bob = new_chat(false, addr, port, &bs);
    msgwire_sdp_media *am = NULL, *bm = NULL;
    CHECK_OK(msgwire_chat_initialize(alice, &am));
    CHECK_OK(msgwire_chat_initialize(bob, &bm));
    if (alice == NULL || bob == NULL || am == NULL || bm == NULL) {
        printf("%d passed, %d failed\n", passed, failed);
        return 1;
    }
    /* Each path: the relay's reservation, then the chat's own URI. */
    char a0[256], a1[256], b0[256], want[128];
    size_t count = 0;
    CHECK_OK(msgwire_sdp_media_path_count(am, &count));
    CHECK(count == 2);
    path_uri(am, 0, a0, sizeof a0);
    path_uri(am, 1, a1, sizeof a1);
    path_uri(bm, 0, b0, sizeof b0);
    snprintf(want, sizeof want, "msrp://%s:%u/", addr, (unsigned)port);
    CHECK(strncmp(a0, want, strlen(want)) == 0);
    CHECK(strncmp(b0, want, strlen(want)) == 0);
    CHECK(strncmp(a1, "msrp://127.0.0.1:", 17) == 0);

    struct start_args b = {bob, am, MSGWIRE_OK};
    pthread_t t;
    pthread_create(&t, NULL, start_thread, &b);
    CHECK_OK(msgwire_chat_start(alice, bm));
    pthread_join(t, NULL);
    CHECK_OK(b.status);
    struct seen e;
    CHECK(wait_for(&as, 0, MSGWIRE_CHAT_EVENT_KIND_DID_START, &e) >= 0);
    CHECK(wait_for(&bs, 0, MSGWIRE_CHAT_EVENT_KIND_DID_START, &e) >= 0);

    /* alice -> bob, wrapped in CPIM, with its delivery report. */
    const char *hello = "hello through the relay";
    msgwire_msrp_chunk *sent = NULL;
    CHECK_OK(msgwire_chat_send_message(alice, (const uint8_t *)hello, strlen(hello), NULL, NULL,
                                       NULL, &sent));
    msgwire_str mid = {0}, ctype = {0};
    CHECK_OK(msgwire_msrp_chunk_header(sent, "Message-ID", &mid));
    CHECK_OK(msgwire_msrp_chunk_header(sent, "Content-Type", &ctype));
    CHECK(str_is(ctype, "message/cpim"));
    CHECK(wait_for(&bs, 0, MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE, &e) >= 0);
    CHECK(strcmp(e.content, hello) == 0);
    CHECK(strcmp(e.from, "<sip:alice@example.com>") == 0);
    CHECK(mid.ptr != NULL && strcmp(e.message_id, mid.ptr) == 0);
    /* The SEND came through the relay: bob's relay hop, alice's, alice. */
    char want_path[1024];
    snprintf(want_path, sizeof want_path, "%s %s %s", b0, a0, a1);
    CHECK(strcmp(e.from_path, want_path) == 0);
    CHECK(wait_for(&as, 0, MSGWIRE_CHAT_EVENT_KIND_DID_DELIVER_MESSAGE, &e) >= 0);
    CHECK(e.code == 200 && mid.ptr != NULL && strcmp(e.message_id, mid.ptr) == 0);
    msgwire_msrp_chunk_free(sent);

    /* bob -> alice, and its report. */
    CHECK_OK(msgwire_chat_send_message(bob, (const uint8_t *)"and back", 8, NULL, NULL, NULL,
                                       NULL));
    CHECK(wait_for(&as, 0, MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE, &e) >= 0);
    CHECK(strcmp(e.content, "and back") == 0);
    CHECK(strcmp(e.from, "<sip:bob@example.com>") == 0);
    CHECK(wait_for(&bs, 0, MSGWIRE_CHAT_EVENT_KIND_DID_DELIVER_MESSAGE, &e) >= 0);

    CHECK_OK(msgwire_chat_end(alice));
    CHECK(wait_for(&as, 0, MSGWIRE_CHAT_EVENT_KIND_DID_END, &e) >= 0);
    msgwire_chat_free(alice);
    msgwire_chat_free(bob);
    msgwire_sdp_media_free(am);
    msgwire_sdp_media_free(bm);
    msgwire_relay_shutdown(relay);
    msgwire_relay_free(relay);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
