/* Tests of MSRPChat through the C API: two chats on 127.0.0.1 exchange
 * CPIM-wrapped messages (with delivery reports), plain ones when the peer
 * lacks message/cpim (a private message is then refused), is-composing
 * indications with their refresh expiry, messages over TLS (msrps, with
 * the test certificates of tests/data/tls, whose directory run.sh passes
 * in MSGWIRE_TLS_TEST_DIR), a wrapped type the receiver does not accept
 * (refused 415), and the typed statuses of calls out of order. */
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

#define MAX_EVENTS 64

/* One event as recorded by the callback (copied: the event is lent). */
struct seen {
    msgwire_chat_event_kind kind;
    char text[128];     /* content, reason or context */
    char type[64];      /* content_type */
    char from[96];      /* the CPIM From value */
    char message_id[40];
    uint16_t code;
    uint32_t refresh;
    msgwire_chat_composing_state state;
    bool local;
    bool has_chunk;
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
        if (ev->kind == MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE) {
            copy_str(e->text, sizeof e->text, ev->content, ev->content_len);
        } else if (ev->kind == MSGWIRE_CHAT_EVENT_KIND_DID_FAIL) {
            copy_str(e->text, sizeof e->text, ev->context.ptr, ev->context.len);
        } else {
            copy_str(e->text, sizeof e->text, ev->reason.ptr, ev->reason.len);
        }
        copy_str(e->type, sizeof e->type, ev->content_type.ptr, ev->content_type.len);
        for (size_t i = 0; i < ev->cpim_header_count; i++) {
            if (str_is(ev->cpim_headers[i].name, "From")) {
                copy_str(e->from, sizeof e->from, ev->cpim_headers[i].value.ptr,
                     ev->cpim_headers[i].value.len);
            }
        }
        copy_str(e->message_id, sizeof e->message_id, ev->message_id.ptr, ev->message_id.len);
        e->code = ev->code;
        e->refresh = ev->refresh;
        e->state = ev->state;
        e->local = ev->local;
        e->has_chunk = ev->message != NULL;
        if (ev->kind == MSGWIRE_CHAT_EVENT_KIND_DID_INITIALIZE) {
            e->has_chunk = ev->media != NULL;
        }
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Waits (at most 10 s) for event number `index` (from 0) and returns a copy
 * of it; kind is set to 999 when it never came. */
static struct seen event_at(struct side *s, int index)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10;
    struct seen out;
    memset(&out, 0, sizeof out);
    out.kind = (msgwire_chat_event_kind)999;
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while (s->count <= index && rc == 0) {
        rc = pthread_cond_timedwait(&s->changed, &s->lock, &deadline);
    }
    if (s->count > index) {
        out = s->events[index];
    }
    pthread_mutex_unlock(&s->lock);
    return out;
}

static void side_init(struct side *s)
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->count = 0;
}

static msgwire_chat *new_chat(bool outgoing, const char *accept, struct side *s)
{
    msgwire_chat_config c = {0};
    c.local_identity = outgoing ? "sip:alice@example.com" : "sip:bob@example.com";
    c.remote_identity = outgoing ? "sip:bob@example.com" : "sip:alice@example.com";
    c.outgoing = outgoing;
    c.accept_types = accept;
    c.local_address = "127.0.0.1";
    msgwire_chat *chat = NULL;
    CHECK_OK(msgwire_chat_new(&c, record, s, &chat));
    return chat;
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

/* Initializes and starts alice (outgoing) and bob; events 0 and 1 of each
 * are DID_INITIALIZE and DID_START. */
static bool start_pair(msgwire_chat *alice, msgwire_chat *bob, struct side *as, struct side *bs)
{
    msgwire_sdp_media *am = NULL, *bm = NULL;
    CHECK_OK(msgwire_chat_initialize(alice, &am));
    CHECK_OK(msgwire_chat_initialize(bob, &bm));
    if (am == NULL || bm == NULL) {
        return false;
    }
    struct start_args b = {bob, am, MSGWIRE_OK};
    pthread_t t;
    pthread_create(&t, NULL, start_thread, &b);
    CHECK_OK(msgwire_chat_start(alice, bm));
    pthread_join(t, NULL);
    CHECK_OK(b.status);
    msgwire_sdp_media_free(am);
    msgwire_sdp_media_free(bm);
    struct seen e = event_at(as, 0);
    CHECK(e.kind == MSGWIRE_CHAT_EVENT_KIND_DID_INITIALIZE && e.has_chunk);
    CHECK(event_at(as, 1).kind == MSGWIRE_CHAT_EVENT_KIND_DID_START);
    CHECK(event_at(bs, 1).kind == MSGWIRE_CHAT_EVENT_KIND_DID_START);
    return true;
}

static void cpim_and_reports(void)
{
    struct side as, bs;
    side_init(&as);
    side_init(&bs);
    msgwire_chat *alice = new_chat(true, NULL, &as);
    msgwire_chat *bob = new_chat(false, NULL, &bs);
    if (alice == NULL || bob == NULL || !start_pair(alice, bob, &as, &bs)) {
        return;
    }
    const char *text = "hello bob";
    msgwire_msrp_chunk *sent = NULL;
    CHECK_OK(msgwire_chat_send_message(alice, (const uint8_t *)text, strlen(text), "text/plain",
                                       NULL, "2024-05-01T10:00:00Z", &sent));
    msgwire_str mid = {0};
    msgwire_str ctype = {0};
    CHECK_OK(msgwire_msrp_chunk_header(sent, "Message-ID", &mid));
    CHECK_OK(msgwire_msrp_chunk_header(sent, "Content-Type", &ctype));
    CHECK(str_is(ctype, "message/cpim"));

    struct seen got = event_at(&bs, 2);
    CHECK(got.kind == MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE);
    CHECK(strcmp(got.text, "hello bob") == 0);
    CHECK(strcmp(got.type, "text/plain") == 0);
    CHECK(strcmp(got.from, "<sip:alice@example.com>") == 0);
    CHECK(got.has_chunk && mid.ptr != NULL && strcmp(got.message_id, mid.ptr) == 0);

    struct seen report = event_at(&as, 2);
    CHECK(report.kind == MSGWIRE_CHAT_EVENT_KIND_DID_DELIVER_MESSAGE);
    CHECK(report.code == 200 && !report.local && report.has_chunk);
    CHECK(mid.ptr != NULL && strcmp(report.message_id, mid.ptr) == 0);
    msgwire_msrp_chunk_free(sent);

    /* is-composing: active with a 1 s refresh, then the local idle. */
    CHECK_OK(msgwire_chat_send_composing_indication(alice, MSGWIRE_CHAT_COMPOSING_STATE_ACTIVE, 1,
                                                    NULL, NULL));
    struct seen c = event_at(&bs, 3);
    CHECK(c.kind == MSGWIRE_CHAT_EVENT_KIND_GOT_COMPOSING_INDICATION);
    CHECK(c.state == MSGWIRE_CHAT_COMPOSING_STATE_ACTIVE && c.refresh == 1 && !c.local);
    CHECK(strcmp(c.type, "text/plain") == 0);
    c = event_at(&bs, 4);
    CHECK(c.kind == MSGWIRE_CHAT_EVENT_KIND_GOT_COMPOSING_INDICATION);
    CHECK(c.state == MSGWIRE_CHAT_COMPOSING_STATE_IDLE && c.local);
    CHECK_STATUS(msgwire_chat_send_composing_indication(alice, MSGWIRE_CHAT_COMPOSING_STATE_IDLE,
                                                        0, "yesterday", NULL),
                 MSGWIRE_INVALID_ARGUMENT);

    CHECK_OK(msgwire_chat_end(alice));
    CHECK(event_at(&as, 3).kind == MSGWIRE_CHAT_EVENT_KIND_WILL_END);
    CHECK(event_at(&as, 4).kind == MSGWIRE_CHAT_EVENT_KIND_DID_END);
    struct seen end = event_at(&bs, 5);
    CHECK(end.kind == MSGWIRE_CHAT_EVENT_KIND_DID_END ||
          (end.kind == MSGWIRE_CHAT_EVENT_KIND_DID_FAIL && strcmp(end.text, "reading") == 0));
    CHECK_STATUS(msgwire_chat_send_message(alice, (const uint8_t *)"x", 1, NULL, NULL, NULL, NULL),
                 MSGWIRE_CHAT_CLOSED);
    msgwire_chat_free(alice);
    msgwire_chat_free(bob);
}

static void plain_without_cpim(void)
{
    struct side as, bs;
    side_init(&as);
    side_init(&bs);
    msgwire_chat *alice = new_chat(true, NULL, &as);
    msgwire_chat *bob = new_chat(false, "text/plain", &bs);
    if (alice == NULL || bob == NULL || !start_pair(alice, bob, &as, &bs)) {
        return;
    }
    msgwire_msrp_chunk *sent = NULL;
    CHECK_OK(msgwire_chat_send_message(alice, (const uint8_t *)"plain", 5, NULL, NULL, NULL, &sent));
    msgwire_str ctype = {0};
    CHECK_OK(msgwire_msrp_chunk_header(sent, "Content-Type", &ctype));
    CHECK(str_is(ctype, "text/plain"));
    msgwire_msrp_chunk_free(sent);
    struct seen got = event_at(&bs, 2);
    CHECK(got.kind == MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE && strcmp(got.text, "plain") == 0);
    CHECK(got.from[0] == '\0');
    CHECK_STATUS(msgwire_chat_send_message(alice, (const uint8_t *)"psst", 4, NULL,
                                           "sip:carol@example.com", NULL, NULL),
                 MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM);
    CHECK_STATUS(msgwire_chat_send_message(alice, (const uint8_t *)"x", 1, "image/png", NULL, NULL,
                                           NULL),
                 MSGWIRE_CHAT_NOT_ACCEPTED);
    msgwire_chat_free(alice);
    msgwire_chat_free(bob);
}

static void out_of_order(void)
{
    CHECK_STATUS(msgwire_chat_new(NULL, NULL, NULL, NULL), MSGWIRE_NULL_PARAMETER);
    msgwire_chat_config c = {0};
    c.local_identity = "sip:a@example.com";
    c.remote_identity = "sip:b@example.com";
    c.outgoing = true;
    c.local_address = "127.0.0.1";
    msgwire_chat *chat = NULL;
    CHECK_OK(msgwire_chat_new(&c, NULL, NULL, &chat));
    msgwire_sdp_media *remote = NULL;
    CHECK_OK(msgwire_sdp_media_parse("m=message 9 TCP/MSRP *\r\na=path:msrp://127.0.0.1:9/x;tcp\r\n",
                                     &remote));
    CHECK_STATUS(msgwire_chat_start(chat, remote), MSGWIRE_CHAT_STATE);
    CHECK_OK(msgwire_chat_initialize(chat, NULL));
    CHECK_STATUS(msgwire_chat_initialize(chat, NULL), MSGWIRE_CHAT_STATE);
    CHECK_OK(msgwire_sdp_media_set_setup(remote, MSGWIRE_SDP_SETUP_ACTIVE, true));
    CHECK_STATUS(msgwire_chat_start(chat, remote), MSGWIRE_CHAT_NEGOTIATION);
    msgwire_sdp_media_free(remote);
    msgwire_chat_free(chat);
    msgwire_chat_free(NULL);
}

/* Starts alice and bob with the media each is given (`for_alice` is what
 * alice sees of bob). */
static void start_with(msgwire_chat *alice, msgwire_chat *bob, const msgwire_sdp_media *for_alice,
                       const msgwire_sdp_media *for_bob)
{
    struct start_args b = {bob, (msgwire_sdp_media *)for_bob, MSGWIRE_OK};
    pthread_t t;
    pthread_create(&t, NULL, start_thread, &b);
    CHECK_OK(msgwire_chat_start(alice, for_alice));
    pthread_join(t, NULL);
    CHECK_OK(b.status);
}

static msgwire_chat *new_tls_chat(bool outgoing, msgwire_tls_server_config *server,
                                  msgwire_tls_client_config *client, struct side *s)
{
    msgwire_chat_config c = {0};
    c.local_identity = outgoing ? "sip:alice@example.com" : "sip:bob@example.com";
    c.remote_identity = outgoing ? "sip:bob@example.com" : "sip:alice@example.com";
    c.outgoing = outgoing;
    c.local_address = "127.0.0.1";
    c.tls_server = server;
    c.tls_client = client;
    msgwire_chat *chat = NULL;
    CHECK_OK(msgwire_chat_new(&c, record, s, &chat));
    return chat;
}

static void over_tls(void)
{
    const char *dir = getenv("MSGWIRE_TLS_TEST_DIR");
    if (dir == NULL) {
        dir = "tests/data/tls";
    }
    char cert[512], key[512], ca[512];
    snprintf(cert, sizeof cert, "%s/server.pem", dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    msgwire_tls_server_config *server = NULL;
    msgwire_tls_client_config *client = NULL;
    CHECK_OK(msgwire_tls_server_config_from_files(cert, key, &server));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca, &client));
    if (server == NULL || client == NULL) {
        return;
    }
    struct side as, bs, ns;
    side_init(&as);
    side_init(&bs);
    side_init(&ns);
    msgwire_chat *alice = new_tls_chat(true, NULL, client, &as);
    msgwire_chat *bob = new_tls_chat(false, server, NULL, &bs);
    /* An incoming chat with TLS listens: without a certificate it cannot. */
    msgwire_chat *nocert = new_tls_chat(false, NULL, client, &ns);
    /* The chats hold their own references. */
    msgwire_tls_server_config_free(server);
    msgwire_tls_client_config_free(client);
    CHECK_STATUS(msgwire_chat_initialize(nocert, NULL), MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED);
    CHECK(event_at(&ns, 0).kind == MSGWIRE_CHAT_EVENT_KIND_DID_FAIL);
    msgwire_chat_free(nocert);

    msgwire_sdp_media *am = NULL, *bm = NULL;
    CHECK_OK(msgwire_chat_initialize(alice, &am));
    CHECK_OK(msgwire_chat_initialize(bob, &bm));
    if (am == NULL || bm == NULL) {
        return;
    }
    const msgwire_sdp_media *both[2] = {am, bm};
    for (int i = 0; i < 2; i++) {
        char text[1024];
        size_t len = 0;
        CHECK_OK(msgwire_sdp_media_encode(both[i], text, sizeof text, &len));
        CHECK(strstr(text, " TCP/TLS/MSRP *\r\n") != NULL);
        CHECK(strstr(text, "a=path:msrps://127.0.0.1:") != NULL);
        msgwire_sdp_protocol proto = MSGWIRE_SDP_PROTOCOL_TCP;
        CHECK_OK(msgwire_sdp_media_protocol(both[i], &proto));
        CHECK(proto == MSGWIRE_SDP_PROTOCOL_TLS);
    }
    start_with(alice, bob, bm, am);
    msgwire_sdp_media_free(am);
    msgwire_sdp_media_free(bm);
    CHECK(event_at(&as, 1).kind == MSGWIRE_CHAT_EVENT_KIND_DID_START);
    CHECK(event_at(&bs, 1).kind == MSGWIRE_CHAT_EVENT_KIND_DID_START);
    CHECK_OK(msgwire_chat_send_message(alice, (const uint8_t *)"over tls", 8, NULL, NULL, NULL,
                                       NULL));
    struct seen got = event_at(&bs, 2);
    CHECK(got.kind == MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE && strcmp(got.text, "over tls") == 0);
    CHECK(strcmp(got.from, "<sip:alice@example.com>") == 0);
    CHECK(event_at(&as, 2).kind == MSGWIRE_CHAT_EVENT_KIND_DID_DELIVER_MESSAGE);
    msgwire_chat_free(alice);
    msgwire_chat_free(bob);
}

static void wrapped_type_refused(void)
{
    struct side as, bs;
    side_init(&as);
    side_init(&bs);
    msgwire_chat *alice = new_chat(true, NULL, &as);
    msgwire_chat_config c = {0};
    c.local_identity = "sip:bob@example.com";
    c.remote_identity = "sip:alice@example.com";
    c.local_address = "127.0.0.1";
    c.accept_wrapped_types = "text/plain";
    msgwire_chat *bob = NULL;
    CHECK_OK(msgwire_chat_new(&c, record, &bs, &bob));
    if (alice == NULL || bob == NULL) {
        return;
    }
    msgwire_sdp_media *am = NULL, *bm = NULL;
    CHECK_OK(msgwire_chat_initialize(alice, &am));
    CHECK_OK(msgwire_chat_initialize(bob, &bm));
    if (am == NULL || bm == NULL) {
        return;
    }
    /* Alice is told bob takes anything wrapped; he does not. */
    CHECK_OK(msgwire_sdp_media_set_types(bm, MSGWIRE_SDP_TYPES_ACCEPT_WRAPPED, "*"));
    start_with(alice, bob, bm, am);
    msgwire_sdp_media_free(am);
    msgwire_sdp_media_free(bm);
    msgwire_msrp_chunk *sent = NULL;
    CHECK_OK(msgwire_chat_send_message(alice, (const uint8_t *)"\x89PNG", 4, "image/png", NULL,
                                       NULL, &sent));
    msgwire_str mid = {0};
    CHECK_OK(msgwire_msrp_chunk_header(sent, "Message-ID", &mid));
    struct seen e = event_at(&as, 2);
    CHECK(e.kind == MSGWIRE_CHAT_EVENT_KIND_DID_NOT_DELIVER_MESSAGE);
    CHECK(e.code == 415 && !e.local && strcmp(e.text, "Unsupported media type") == 0);
    CHECK(mid.ptr != NULL && strcmp(e.message_id, mid.ptr) == 0);
    msgwire_msrp_chunk_free(sent);
    /* A wrapped type bob accepts still arrives, and is his first message. */
    CHECK_OK(msgwire_chat_send_message(alice, (const uint8_t *)"fine", 4, NULL, NULL, NULL, NULL));
    struct seen got = event_at(&bs, 2);
    CHECK(got.kind == MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE && strcmp(got.text, "fine") == 0);
    msgwire_chat_free(alice);
    msgwire_chat_free(bob);
}

int main(void)
{
    cpim_and_reports();
    plain_without_cpim();
    over_tls();
    wrapped_type_refused();
    out_of_order();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
