/* Tests of the STS/1.0 C API: messages built and encoded byte for byte,
 * header names in either form, every class of malformed input with its
 * status, error-reply XML both ways, and a client and a server in one
 * process over 127.0.0.1 (one reply, partial replies through a callback,
 * error replies, the automatic 404, a timeout with the late reply dropped,
 * simple messages both ways, a broadcast read with _client_read), NULL
 * arguments and _free(NULL). Run under valgrind by tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "msgwire.h"

#include "check.h"

static void sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Whether the encoding of `m` is exactly `want` (`want_len` bytes). */
static bool encodes_as(const msgwire_sts_message *m, const char *want, size_t want_len)
{
    size_t len = 0;
    if (msgwire_sts_message_encode(m, NULL, 0, &len) != MSGWIRE_BUFFER_TOO_SMALL ||
        len != want_len) {
        fprintf(stderr, "encoded size %zu, want %zu\n", len, want_len);
        return false;
    }
    char *buf = malloc(len);
    bool ok = buf != NULL &&
              msgwire_sts_message_encode(m, (uint8_t *)buf, len, &len) == MSGWIRE_OK &&
              len == want_len && memcmp(buf, want, len) == 0;
    if (!ok && buf != NULL) {
        fprintf(stderr, "encoded as %.*s\n", (int)len, buf);
    }
    free(buf);
    return ok;
}

static bool body_is(const msgwire_sts_message *m, const char *want)
{
    const uint8_t *body;
    size_t len;
    return msgwire_sts_message_body(m, &body, &len) == MSGWIRE_OK && len == strlen(want) &&
           memcmp(body, want, len) == 0;
}

/* ---- wire layer --------------------------------------------------------- */

static void test_build_and_encode(void)
{
    msgwire_sts_message *ping = NULL;
    CHECK_OK(msgwire_sts_message_new_request("Sts", "Ping", &ping));
    static const char want_ping[] = "P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n";
    CHECK(encodes_as(ping, want_ping, sizeof want_ping - 1));
    bool is_request = false;
    CHECK_OK(msgwire_sts_message_is_request(ping, &is_request));
    CHECK(is_request);
    msgwire_str s;
    CHECK_OK(msgwire_sts_message_method(ping, &s));
    CHECK(str_is(s, "P"));
    CHECK_OK(msgwire_sts_message_uri(ping, &s));
    CHECK(str_is(s, "/Sts/Ping"));
    CHECK_OK(msgwire_sts_message_protocol(ping, &s));
    CHECK(str_is(s, "Sts"));
    CHECK_OK(msgwire_sts_message_command(ping, &s));
    CHECK(str_is(s, "Ping"));
    uint16_t code = 0;
    CHECK_STATUS(msgwire_sts_message_status_code(ping, &code), MSGWIRE_NOT_FOUND);
    CHECK_STATUS(msgwire_sts_message_reason(ping, &s), MSGWIRE_NOT_FOUND);
    /* A buffer one byte short is refused and nothing is written. */
    char small[sizeof want_ping - 2];
    size_t len = 0;
    CHECK_STATUS(msgwire_sts_message_encode(ping, (uint8_t *)small, sizeof small, &len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == sizeof want_ping - 1);
    msgwire_sts_message_free(ping);

    /* A reply whose reason has spaces, a text body (no LF added) and a
     * header given by its full name, written compact. */
    msgwire_sts_message *reply = NULL;
    CHECK_OK(msgwire_sts_message_new_status(404, "Not Found Here", &reply));
    CHECK_OK(msgwire_sts_message_set_header(reply, "Content-Type", "text/plain"));
    CHECK_OK(msgwire_sts_message_append_header(reply, "X-Note", "a b"));
    CHECK_OK(msgwire_sts_message_set_body(reply, (const uint8_t *)"nope", 4));
    static const char want_reply[] =
        "STS/1.0 404 Not Found Here\r\nc: text/plain\r\nX-Note: a b\r\nl: 4\r\n\r\nnope";
    CHECK(encodes_as(reply, want_reply, sizeof want_reply - 1));
    CHECK_OK(msgwire_sts_message_status_code(reply, &code));
    CHECK(code == 404);
    CHECK_OK(msgwire_sts_message_reason(reply, &s));
    CHECK(str_is(s, "Not Found Here"));
    CHECK_STATUS(msgwire_sts_message_method(reply, &s), MSGWIRE_NOT_FOUND);
    CHECK_STATUS(msgwire_sts_message_protocol(reply, &s), MSGWIRE_NOT_FOUND);

    /* Round trip through the parser. */
    msgwire_sts_message *back = NULL;
    CHECK_OK(msgwire_sts_message_parse((const uint8_t *)want_reply, sizeof want_reply - 1, &back));
    if (back != NULL) {
        CHECK(encodes_as(back, want_reply, sizeof want_reply - 1));
        CHECK(body_is(back, "nope"));
        msgwire_sts_message_free(back);
    }
    msgwire_sts_message_free(reply);

    /* Arguments that cannot make a message. */
    msgwire_sts_message *bad = NULL;
    CHECK_STATUS(msgwire_sts_message_new_request("", "Ping", &bad), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_message_new_request("A/B", "Ping", &bad), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_message_new_request("Sts", "Pi ng", &bad), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_message_new_status(42, "OK", &bad), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_message_new_status(200, "O\r\nK", &bad), MSGWIRE_INVALID_ARGUMENT);
    CHECK(bad == NULL);
    msgwire_sts_message *ok = NULL;
    CHECK_OK(msgwire_sts_message_new_status(200, NULL, &ok));
    CHECK_STATUS(msgwire_sts_message_set_header(ok, "X-A", "1\r\nX-B: 2"),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_message_set_header(ok, "X A", "1"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_message_set_header(ok, "", "1"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_sts_message_reason(ok, &s));
    CHECK(str_is(s, ""));
    msgwire_sts_message_free(ok);
}

static void test_headers(void)
{
    static const char wire[] = "P /Chat/Send STS/1.0\r\n"
                               "s: 12\r\n"
                               "Content-Type: text/plain\r\n"
                               "Via: a\r\n"
                               "v: b\r\n"
                               "Content-Length: 5\r\n"
                               "\r\n"
                               "hello";
    msgwire_sts_message *m = NULL;
    CHECK_OK(msgwire_sts_message_parse((const uint8_t *)wire, sizeof wire - 1, &m));
    if (m == NULL) {
        return;
    }
    msgwire_str s, n;
    /* Compact and full names, any case, are the same header. */
    CHECK_OK(msgwire_sts_message_header(m, "Subject", &s));
    CHECK(str_is(s, "12"));
    CHECK_OK(msgwire_sts_message_header(m, "S", &s));
    CHECK(str_is(s, "12"));
    CHECK_OK(msgwire_sts_message_header(m, "l", &s));
    CHECK(str_is(s, "5"));
    CHECK_OK(msgwire_sts_message_header(m, "content-length", &s));
    CHECK(str_is(s, "5"));
    CHECK_OK(msgwire_sts_message_header(m, "c", &s));
    CHECK(str_is(s, "text/plain"));
    /* The last occurrence wins. */
    CHECK_OK(msgwire_sts_message_header(m, "VIA", &s));
    CHECK(str_is(s, "b"));
    CHECK_STATUS(msgwire_sts_message_header(m, "To", &s), MSGWIRE_NOT_FOUND);
    CHECK_OK(msgwire_sts_message_protocol(m, &s));
    CHECK(str_is(s, "Chat"));
    CHECK_OK(msgwire_sts_message_command(m, &s));
    CHECK(str_is(s, "Send"));
    CHECK(body_is(m, "hello"));

    /* Every line, in order, as spelled on the wire. */
    size_t count = 0;
    CHECK_OK(msgwire_sts_message_header_count(m, &count));
    CHECK(count == 5);
    CHECK_OK(msgwire_sts_message_header_at(m, 0, &n, &s));
    CHECK(str_is(n, "s") && str_is(s, "12"));
    CHECK_OK(msgwire_sts_message_header_at(m, 3, &n, &s));
    CHECK(str_is(n, "v") && str_is(s, "b"));
    CHECK_STATUS(msgwire_sts_message_header_at(m, 5, &n, &s), MSGWIRE_INVALID_ARGUMENT);

    /* Setting by one name replaces the other spelling in place. */
    CHECK_OK(msgwire_sts_message_set_header(m, "c", "application/json"));
    CHECK_OK(msgwire_sts_message_header_count(m, &count));
    CHECK(count == 5);
    CHECK_OK(msgwire_sts_message_header(m, "Content-Type", &s));
    CHECK(str_is(s, "application/json"));
    CHECK_OK(msgwire_sts_message_header_at(m, 1, &n, &s));
    CHECK(str_is(n, "c") && str_is(s, "application/json"));
    /* Removing by one name removes every line of the header. */
    CHECK_OK(msgwire_sts_message_remove_header(m, "via"));
    CHECK_OK(msgwire_sts_message_header_count(m, &count));
    CHECK(count == 3);
    CHECK_STATUS(msgwire_sts_message_remove_header(m, "V"), MSGWIRE_NOT_FOUND);

    /* Content-Length follows the body; the header keeps its place. */
    CHECK_OK(msgwire_sts_message_set_body(m, (const uint8_t *)"hi", 2));
    static const char want[] = "P /Chat/Send STS/1.0\r\ns: 12\r\nc: application/json\r\n"
                               "l: 2\r\n\r\nhi";
    CHECK(encodes_as(m, want, sizeof want - 1));

    msgwire_sts_message *copy = NULL;
    CHECK_OK(msgwire_sts_message_clone(m, &copy));
    msgwire_sts_message_free(m);
    if (copy != NULL) {
        CHECK(encodes_as(copy, want, sizeof want - 1));
        msgwire_sts_message_free(copy);
    }
}

static void expect_parse(const char *name, const char *wire, size_t len, msgwire_status want)
{
    msgwire_sts_message *m = NULL;
    msgwire_status got = msgwire_sts_message_parse((const uint8_t *)wire, len, &m);
    if (got == want && m == NULL) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "parse %s gave %u (%s), want %u (last error: %s)\n", name,
                (unsigned)got, msgwire_status_text(got), (unsigned)want, msgwire_last_error());
        msgwire_sts_message_free(m);
    }
}

#define EXPECT_PARSE(name, text, want) expect_parse(name, text, sizeof text - 1, want)

static void test_malformed(void)
{
    EXPECT_PARSE("garbage start line", "hello there\r\n\r\n", MSGWIRE_STS_PARSE_BAD_START_LINE);
    EXPECT_PARSE("three-letter code", "STS/1.0 abc OK\r\n\r\n", MSGWIRE_STS_PARSE_BAD_START_LINE);
    EXPECT_PARSE("other version", "P /a/b STS/2.0\r\n\r\n", MSGWIRE_STS_PARSE_BAD_VERSION);
    EXPECT_PARSE("HTTP", "HTTP/1.1 200 OK\r\n\r\n", MSGWIRE_STS_PARSE_BAD_VERSION);
    EXPECT_PARSE("header without colon", "P /a/b STS/1.0\r\nno colon\r\n\r\n",
                 MSGWIRE_STS_PARSE_BAD_HEADER_LINE);
    EXPECT_PARSE("folded header", "P /a/b STS/1.0\r\nX-A: 1\r\n  more\r\n\r\n",
                 MSGWIRE_STS_PARSE_BAD_HEADER_LINE);
    EXPECT_PARSE("body over 64 KiB", "P /a/b STS/1.0\r\nl: 100000\r\n\r\n",
                 MSGWIRE_STS_PARSE_BODY_TOO_LARGE);
    EXPECT_PARSE("length not a number", "P /a/b STS/1.0\r\nl: abc\r\n\r\n",
                 MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH);
    EXPECT_PARSE("lengths disagree", "P /a/b STS/1.0\r\nl: 1\r\nContent-Length: 2\r\n\r\nab",
                 MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH);
    EXPECT_PARSE("short body", "P /a/b STS/1.0\r\nl: 10\r\n\r\nabc", MSGWIRE_STS_PARSE_INCOMPLETE);
    EXPECT_PARSE("no blank line", "P /a/b STS/1.0\r\nl: 0\r\n", MSGWIRE_STS_PARSE_INCOMPLETE);
    EXPECT_PARSE("empty input", "", MSGWIRE_STS_PARSE_INCOMPLETE);
    EXPECT_PARSE("bytes after", "P /a/b STS/1.0\r\nl: 1\r\n\r\n\nXYZ",
                 MSGWIRE_STS_PARSE_TRAILING_DATA);

    /* A header section over 32 KiB. */
    size_t big = 40 * 1024;
    char *wire = malloc(big + 64);
    if (wire != NULL) {
        int n = snprintf(wire, 64, "P /a/b STS/1.0\r\nX-Big: ");
        memset(wire + n, 'x', big);
        memcpy(wire + n + big, "\r\n\r\n", 4);
        expect_parse("header section over 32 KiB", wire, (size_t)n + big + 4,
                     MSGWIRE_STS_PARSE_HEADER_TOO_LARGE);
        free(wire);
    }
    /* Leniency: bare LF line ends, a reason-less status line. */
    msgwire_sts_message *m = NULL;
    CHECK_OK(msgwire_sts_message_parse((const uint8_t *)"STS/1.0 200\nl: 2\n\nok", 20, &m));
    CHECK(m != NULL && body_is(m, "ok"));
    msgwire_sts_message_free(m);
}

static void test_error_xml(void)
{
    char buf[256];
    size_t len = 0;
    CHECK_OK(msgwire_sts_error_reply_to_xml(7, 0, 0, 0, "denied", buf, sizeof buf, &len));
    static const char want[] = "<Error code=\"7\" server=\"0\" module=\"0\" line=\"0\" "
                               "text=\"denied\"/>";
    CHECK(len == sizeof want - 1 && strcmp(buf, want) == 0);
    CHECK_STATUS(msgwire_sts_error_reply_to_xml(7, 0, 0, 0, "denied", NULL, 0, &len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == sizeof want - 1);

    /* Round trip with escapes and every field set. */
    const char *text = "a \"quoted\" <text> & more\ttab";
    CHECK_OK(msgwire_sts_error_reply_to_xml(-3, 11, 22, 33, text, buf, sizeof buf, &len));
    msgwire_sts_error_reply e = {0};
    CHECK_OK(msgwire_sts_error_reply_parse((const uint8_t *)buf, len, &e));
    CHECK(e.code == -3 && e.server == 11 && e.module == 22 && e.line == 33);
    CHECK(e.text != NULL && e.text_len == strlen(text) && strcmp(e.text, text) == 0);
    msgwire_sts_error_reply_clear(&e);
    CHECK(e.text == NULL && e.text_len == 0);
    msgwire_sts_error_reply_clear(&e); /* twice is harmless */

    /* Missing attributes read as zero, unknown ones are ignored. */
    static const char sparse[] = "<Error code=\"404\" extra=\"x\"/>\n";
    CHECK_OK(msgwire_sts_error_reply_parse((const uint8_t *)sparse, sizeof sparse - 1, &e));
    CHECK(e.code == 404 && e.server == 0 && e.text_len == 0 && e.text != NULL &&
          e.text[0] == '\0');
    msgwire_sts_error_reply_clear(&e);

    static const char broken[] = "<Error code=\"1\"";
    CHECK_STATUS(msgwire_sts_error_reply_parse((const uint8_t *)broken, sizeof broken - 1, &e),
                 MSGWIRE_STS_ERROR_XML);
    static const char two[] = "<A/><B/>";
    CHECK_STATUS(msgwire_sts_error_reply_parse((const uint8_t *)two, sizeof two - 1, &e),
                 MSGWIRE_STS_ERROR_XML);
    static const char bad_attr[] = "<Error code=\"seven\"/>";
    CHECK_STATUS(
        msgwire_sts_error_reply_parse((const uint8_t *)bad_attr, sizeof bad_attr - 1, &e),
        MSGWIRE_STS_ERROR_ATTRIBUTE);
    CHECK(e.text == NULL);
}

/* ---- client and server ---------------------------------------------------- */

/* What the routes share with the test. */
struct routes {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    msgwire_sts_responder *held[4]; /* responders kept by /Test/Slow */
    int held_count;
    int notes;      /* simple messages to /Test/Note */
    atomic_int freed; /* user_data_free calls */
};

static struct routes routes = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .changed = PTHREAD_COND_INITIALIZER,
};

static void free_routes(void *user_data)
{
    struct routes *r = user_data;
    atomic_fetch_add(&r->freed, 1);
}

static void on_echo(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    (void)user_data;
    if (responder == NULL) {
        return;
    }
    /* Echo headers and body with the request's own data in a new reply. */
    msgwire_sts_message *reply = NULL;
    msgwire_str ct;
    const uint8_t *body;
    size_t len;
    if (msgwire_sts_message_new_status(200, "OK", &reply) == MSGWIRE_OK) {
        if (msgwire_sts_message_header(request, "c", &ct) == MSGWIRE_OK) {
            msgwire_sts_message_set_header(reply, "Content-Type", ct.ptr);
        }
        msgwire_sts_message_body(request, &body, &len);
        msgwire_sts_message_set_body(reply, body, len);
        msgwire_sts_responder_reply_message(responder, reply);
        msgwire_sts_message_free(reply);
    }
    msgwire_sts_responder_free(responder);
}

static void on_count(void *user_data, const msgwire_sts_message *request,
                     msgwire_sts_responder *responder)
{
    (void)user_data;
    (void)request;
    if (responder == NULL) {
        return;
    }
    msgwire_sts_responder_partial(responder, (const uint8_t *)"1", 1, "text/plain");
    msgwire_sts_responder_partial(responder, (const uint8_t *)"2", 1, "text/plain");
    msgwire_sts_responder_partial(responder, (const uint8_t *)"3", 1, "text/plain");
    msgwire_sts_responder_reply(responder, (const uint8_t *)"done", 4, "text/plain");
    bool answered = false;
    msgwire_sts_responder_is_answered(responder, &answered);
    /* Nothing can follow the final reply. */
    if (!answered || msgwire_sts_responder_partial(responder, NULL, 0, NULL) !=
                         MSGWIRE_STS_ANSWERED) {
        fprintf(stderr, "count route: the responder accepted a reply after the final one\n");
        failed++;
    }
    msgwire_sts_responder_free(responder);
}

static void on_fail(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    (void)user_data;
    (void)request;
    if (responder == NULL) {
        return;
    }
    msgwire_sts_responder_error(responder, 500, "Server Error", 7, "it failed");
    msgwire_sts_responder_free(responder);
}

/* Keeps the responder; the test answers (or drops) it later. */
static void on_slow(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    struct routes *r = user_data;
    (void)request;
    pthread_mutex_lock(&r->lock);
    if (responder != NULL && r->held_count < 4) {
        r->held[r->held_count++] = responder;
    } else {
        msgwire_sts_responder_free(responder);
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void on_note(void *user_data, const msgwire_sts_message *request,
                    msgwire_sts_responder *responder)
{
    struct routes *r = user_data;
    pthread_mutex_lock(&r->lock);
    if (responder == NULL && body_is(request, "<Note/>\n")) {
        r->notes++;
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    msgwire_sts_responder_free(responder);
}

/* Waits (up to 10 s) until `*counter` reaches `want`; returns its value. */
static int wait_for(int *counter, int want)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&routes.lock);
    while (*counter < want) {
        if (pthread_cond_timedwait(&routes.changed, &routes.lock, &until) != 0) {
            break;
        }
    }
    int got = *counter;
    pthread_mutex_unlock(&routes.lock);
    return got;
}

/* The items a reply callback saw. */
struct recorded {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    msgwire_sts_reply_kind kinds[8];
    uint16_t statuses[8];
    char bodies[8][16];
    int64_t error_code;
    char error_text[64];
    int count;
    bool last;
    int released;
};

static void record_init(struct recorded *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
}

static void record_destroy(struct recorded *r)
{
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
}

static void on_item(void *user_data, const msgwire_sts_reply_item *item)
{
    struct recorded *r = user_data;
    pthread_mutex_lock(&r->lock);
    if (r->count < 8) {
        int i = r->count++;
        r->kinds[i] = item->kind;
        r->statuses[i] = item->status;
        const uint8_t *body;
        size_t len;
        if (item->message != NULL &&
            msgwire_sts_message_body(item->message, &body, &len) == MSGWIRE_OK &&
            len < sizeof r->bodies[i]) {
            memcpy(r->bodies[i], body, len);
        }
        if (item->error != NULL) {
            r->error_code = item->error->code;
            snprintf(r->error_text, sizeof r->error_text, "%s", item->error->text);
        }
    }
    if (item->kind != MSGWIRE_STS_REPLY_KIND_PARTIAL) {
        r->last = true;
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void on_item_released(void *user_data)
{
    struct recorded *r = user_data;
    pthread_mutex_lock(&r->lock);
    r->released++;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* Waits (up to 20 s) for the last item and the release of user_data. */
static bool record_wait(struct recorded *r)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&r->lock);
    while (!(r->last && r->released > 0)) {
        if (pthread_cond_timedwait(&r->changed, &r->lock, &until) != 0) {
            break;
        }
    }
    bool done = r->last && r->released == 1;
    pthread_mutex_unlock(&r->lock);
    return done;
}

static void test_client_server(void)
{
    msgwire_sts_server_config scfg;
    CHECK_OK(msgwire_sts_server_config_default(&scfg));
    CHECK(scfg.idle_timeout_ms == 30000 && scfg.request_timeout_ms == 30000 &&
          scfg.fragment_size == 65536);
    msgwire_sts_server *server = NULL;
    CHECK_OK(msgwire_sts_server_bind("127.0.0.1:0", &scfg, &server));
    if (server == NULL) {
        return;
    }
    struct {
        const char *command;
        msgwire_sts_route_callback callback;
    } table[] = {{"Echo", on_echo}, {"Count", on_count}, {"Fail", on_fail},
                 {"Slow", on_slow}, {"Note", on_note}};
    int route_count = (int)(sizeof table / sizeof table[0]);
    for (int i = 0; i < route_count; i++) {
        CHECK_OK(msgwire_sts_server_route(server, "Test", table[i].command, table[i].callback,
                                          &routes, free_routes));
    }
    /* Routing a command again replaces it and releases the old user_data. */
    CHECK_OK(msgwire_sts_server_route(server, "Test", "Echo", on_echo, &routes, free_routes));
    CHECK(atomic_load(&routes.freed) == 1);
    /* A NULL callback is refused, and its user_data released at once. */
    CHECK_STATUS(msgwire_sts_server_route(server, "Test", "X", NULL, &routes, free_routes),
                 MSGWIRE_NULL_PARAMETER);
    CHECK(atomic_load(&routes.freed) == 2);

    uint16_t port = 0;
    CHECK_OK(msgwire_sts_server_local_port(server, &port));
    CHECK(port != 0);
    char addr[64];
    size_t addr_len = 0;
    CHECK_OK(msgwire_sts_server_local_addr(server, addr, sizeof addr, &addr_len));
    char want_addr[64];
    snprintf(want_addr, sizeof want_addr, "127.0.0.1:%u", (unsigned)port);
    CHECK(strcmp(addr, want_addr) == 0 && addr_len == strlen(want_addr));

    msgwire_sts_client_config ccfg;
    CHECK_OK(msgwire_sts_client_config_default(&ccfg));
    CHECK(ccfg.ping_interval_ms == 5000 && ccfg.request_timeout_ms == 30000);
    ccfg.request_timeout_ms = 20000;
    msgwire_sts_client *client = NULL;
    CHECK_OK(msgwire_sts_client_connect(addr, &ccfg, &client));
    if (client == NULL) {
        msgwire_sts_server_free(server);
        return;
    }

    /* One reply: the echo of a text body. */
    msgwire_sts_message *request = NULL, *reply = NULL;
    CHECK_OK(msgwire_sts_message_new_request("Any", "Thing", &request));
    CHECK_OK(msgwire_sts_message_set_header(request, "c", "text/plain"));
    CHECK_OK(msgwire_sts_message_set_body(request, (const uint8_t *)"hello", 5));
    CHECK_OK(msgwire_sts_client_request_one(client, "Test", "Echo", request, 0, &reply, NULL));
    if (reply != NULL) {
        uint16_t code = 0;
        msgwire_str ct;
        CHECK_OK(msgwire_sts_message_status_code(reply, &code));
        CHECK(code == 200);
        CHECK(body_is(reply, "hello"));
        CHECK_OK(msgwire_sts_message_header(reply, "Content-Type", &ct));
        CHECK(str_is(ct, "text/plain"));
        msgwire_sts_message_free(reply);
        reply = NULL;
    }
    msgwire_sts_message_free(request);
    /* Without a message: an empty XML body, which travels as "\n". */
    CHECK_OK(msgwire_sts_client_request_one(client, "Test", "Echo", NULL, 0, &reply, NULL));
    CHECK(reply != NULL && body_is(reply, "\n"));
    msgwire_sts_message_free(reply);
    reply = NULL;

    /* Partial replies, in order, then the final one. */
    struct recorded rec;
    record_init(&rec);
    CHECK_OK(msgwire_sts_client_request(client, "Test", "Count", NULL, 0, on_item, &rec,
                                        on_item_released));
    CHECK(record_wait(&rec));
    CHECK(rec.count == 4);
    CHECK(rec.kinds[0] == MSGWIRE_STS_REPLY_KIND_PARTIAL && strcmp(rec.bodies[0], "1") == 0);
    CHECK(rec.kinds[1] == MSGWIRE_STS_REPLY_KIND_PARTIAL && strcmp(rec.bodies[1], "2") == 0);
    CHECK(rec.kinds[2] == MSGWIRE_STS_REPLY_KIND_PARTIAL && strcmp(rec.bodies[2], "3") == 0);
    CHECK(rec.kinds[3] == MSGWIRE_STS_REPLY_KIND_FINAL && strcmp(rec.bodies[3], "done") == 0);
    CHECK(rec.statuses[0] == 200 && rec.statuses[3] == 200);
    record_destroy(&rec);
    /* A request expecting one reply treats partial replies as bad data. */
    CHECK_STATUS(msgwire_sts_client_request_one(client, "Test", "Count", NULL, 0, &reply, NULL),
                 MSGWIRE_STS_BAD_SERVER_DATA);

    /* Error replies, blocking and through the callback. */
    msgwire_sts_error_reply error = {0};
    CHECK_STATUS(msgwire_sts_client_request_one(client, "Test", "Fail", NULL, 0, &reply, &error),
                 MSGWIRE_STS_ERROR_REPLY);
    CHECK(error.code == 7 && error.text != NULL && strcmp(error.text, "it failed") == 0);
    msgwire_sts_error_reply_clear(&error);
    record_init(&rec);
    CHECK_OK(msgwire_sts_client_request(client, "Test", "Fail", NULL, 0, on_item, &rec,
                                        on_item_released));
    CHECK(record_wait(&rec));
    CHECK(rec.count == 1 && rec.kinds[0] == MSGWIRE_STS_REPLY_KIND_ERROR);
    CHECK(rec.statuses[0] == 500 && rec.error_code == 7 && strcmp(rec.error_text, "it failed") == 0);
    record_destroy(&rec);

    /* A command without a route: msgwire's 404. */
    CHECK_STATUS(msgwire_sts_client_request_one(client, "Test", "Nope", NULL, 0, &reply, &error),
                 MSGWIRE_STS_ERROR_REPLY);
    CHECK(error.code == 404 && error.text != NULL && strstr(error.text, "/Test/Nope") != NULL);
    msgwire_sts_error_reply_clear(&error);
    CHECK(reply == NULL);

    /* A timeout; the late reply is dropped and the next request works. */
    CHECK_STATUS(msgwire_sts_client_request_one(client, "Test", "Slow", NULL, 300, &reply, NULL),
                 MSGWIRE_STS_TIMEOUT);
    CHECK(wait_for(&routes.held_count, 1) == 1);
    record_init(&rec);
    CHECK_OK(msgwire_sts_client_request(client, "Test", "Slow", NULL, 200, on_item, &rec,
                                        on_item_released));
    CHECK(record_wait(&rec));
    CHECK(rec.count == 1 && rec.kinds[0] == MSGWIRE_STS_REPLY_KIND_TIMEOUT &&
          rec.statuses[0] == 0);
    record_destroy(&rec);
    CHECK(wait_for(&routes.held_count, 2) == 2);
    pthread_mutex_lock(&routes.lock);
    CHECK_OK(msgwire_sts_responder_reply(routes.held[0], (const uint8_t *)"late", 4, NULL));
    CHECK_OK(msgwire_sts_responder_partial(routes.held[1], (const uint8_t *)"late", 4, NULL));
    pthread_mutex_unlock(&routes.lock);
    CHECK_OK(msgwire_sts_client_request_one(client, "Test", "Echo", NULL, 0, &reply, NULL));
    CHECK(reply != NULL && body_is(reply, "\n"));
    msgwire_sts_message_free(reply);
    reply = NULL;

    /* A simple message from the client: the route gets no responder. */
    msgwire_sts_message *note = NULL;
    CHECK_OK(msgwire_sts_message_new_request("X", "Y", &note));
    CHECK_OK(msgwire_sts_message_set_body(note, (const uint8_t *)"<Note/>", 7));
    CHECK_OK(msgwire_sts_client_send(client, "Test", "Note", note));
    CHECK(wait_for(&routes.notes, 1) == 1);
    msgwire_sts_message_free(note);

    /* From the server on its own: a broadcast read by the client. */
    size_t clients = 0;
    CHECK_OK(msgwire_sts_server_client_count(server, &clients));
    CHECK(clients == 1);
    msgwire_sts_message *notice = NULL;
    CHECK_OK(msgwire_sts_message_new_request("Demo", "Notice", &notice));
    CHECK_OK(msgwire_sts_message_set_body(notice, (const uint8_t *)"<Notice/>", 9));
    size_t sent = 0;
    CHECK_OK(msgwire_sts_server_broadcast(server, notice, &sent));
    CHECK(sent == 1);
    msgwire_sts_message_free(notice);
    msgwire_sts_message *got = NULL;
    msgwire_sts_responder *answer = (msgwire_sts_responder *)&got; /* must be overwritten */
    CHECK_OK(msgwire_sts_client_read(client, 10000, &got, &answer));
    CHECK(answer == NULL);
    if (got != NULL) {
        msgwire_str s;
        CHECK_OK(msgwire_sts_message_protocol(got, &s));
        CHECK(str_is(s, "Demo"));
        CHECK_OK(msgwire_sts_message_command(got, &s));
        CHECK(str_is(s, "Notice"));
        CHECK(body_is(got, "<Notice/>\n"));
        msgwire_sts_message_free(got);
        got = NULL;
    }
    CHECK_STATUS(msgwire_sts_client_read(client, 100, &got, NULL), MSGWIRE_STS_TIMEOUT);
    CHECK(got == NULL);

    /* NULL arguments. */
    CHECK_STATUS(msgwire_sts_client_request_one(NULL, "Test", "Echo", NULL, 0, &reply, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_client_request_one(client, NULL, "Echo", NULL, 0, &reply, NULL),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_client_request_one(client, "Test", "Echo", NULL, 0, NULL, NULL),
                 MSGWIRE_NULL_PARAMETER);
    int before = atomic_load(&routes.freed);
    CHECK_STATUS(msgwire_sts_client_request(client, "Test", "Echo", NULL, 0, NULL, &routes,
                                            free_routes),
                 MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_client_request(NULL, "Test", "Echo", NULL, 0, on_item, &routes,
                                            free_routes),
                 MSGWIRE_NULL_PARAMETER);
    CHECK(atomic_load(&routes.freed) == before + 2);
    CHECK_STATUS(msgwire_sts_client_send(client, "Test", NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_client_send(client, "Te st", "Echo", NULL), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_client_read(client, 0, NULL, NULL), MSGWIRE_NULL_PARAMETER);
    bool closed = true;
    CHECK_OK(msgwire_sts_client_is_closed(client, &closed));
    CHECK(!closed);
    CHECK_STATUS(msgwire_sts_client_is_closed(NULL, &closed), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_server_broadcast(server, NULL, &sent), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_server_local_port(NULL, &port), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_server_client_count(server, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_responder_reply(NULL, NULL, 0, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_responder_error(NULL, 500, NULL, 1, NULL), MSGWIRE_NULL_PARAMETER);

    /* Closing: later requests are refused. */
    CHECK_OK(msgwire_sts_client_close(client));
    CHECK_OK(msgwire_sts_client_is_closed(client, &closed));
    CHECK(closed);
    CHECK_STATUS(msgwire_sts_client_request_one(client, "Test", "Echo", NULL, 0, &reply, NULL),
                 MSGWIRE_STS_CLOSED);
    CHECK_STATUS(msgwire_sts_client_read(client, 50, &got, NULL), MSGWIRE_STS_CLOSED);
    msgwire_sts_client_free(client);

    /* The second held responder outlives the connection: answering is
     * refused, freeing is fine. */
    CHECK_OK(msgwire_sts_server_shutdown(server));
    CHECK_OK(msgwire_sts_server_shutdown(server));
    pthread_mutex_lock(&routes.lock);
    CHECK_STATUS(msgwire_sts_responder_reply(routes.held[1], NULL, 0, NULL), MSGWIRE_STS_CLOSED);
    for (int i = 0; i < routes.held_count; i++) {
        msgwire_sts_responder_free(routes.held[i]);
        routes.held[i] = NULL;
    }
    pthread_mutex_unlock(&routes.lock);
    msgwire_sts_server_free(server);
    /* Every route's user_data released once: the five routes, the replaced
     * one, the refused route and the two refused requests. */
    CHECK(atomic_load(&routes.freed) == route_count + 4);
}

static void test_connect_and_bind_errors(void)
{
    /* Take a free port, then stop listening on it. */
    msgwire_sts_server *server = NULL;
    uint16_t port = 0;
    CHECK_OK(msgwire_sts_server_bind("127.0.0.1:0", NULL, &server));
    CHECK_OK(msgwire_sts_server_local_port(server, &port));
    /* The port is in use. */
    char addr[64];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    msgwire_sts_server *second = NULL;
    CHECK_STATUS(msgwire_sts_server_bind(addr, NULL, &second), MSGWIRE_STS_LISTEN);
    CHECK(second == NULL);
    msgwire_sts_server_free(server);
    sleep_ms(50);
    msgwire_sts_client *client = NULL;
    CHECK_STATUS(msgwire_sts_client_connect(addr, NULL, &client), MSGWIRE_STS_CONNECT);
    CHECK(client == NULL);
    CHECK_STATUS(msgwire_sts_client_connect("no port here", NULL, &client), MSGWIRE_STS_CONNECT);
    CHECK_STATUS(msgwire_sts_server_bind("not an address", NULL, &second), MSGWIRE_STS_LISTEN);
    msgwire_sts_client_config ccfg;
    CHECK_OK(msgwire_sts_client_config_default(&ccfg));
    ccfg.request_timeout_ms = 0;
    CHECK_STATUS(msgwire_sts_client_connect(addr, &ccfg, &client), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sts_client_connect(NULL, NULL, &client), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_client_connect(addr, NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_server_bind(NULL, NULL, &second), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_server_config_default(NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_client_config_default(NULL), MSGWIRE_NULL_PARAMETER);
}

static void test_null_and_free(void)
{
    msgwire_sts_message *m = NULL;
    msgwire_str s;
    size_t len;
    CHECK_STATUS(msgwire_sts_message_new_request(NULL, "Ping", &m), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_new_request("Sts", "Ping", NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_new_status(200, "OK", NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_parse(NULL, 3, &m), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_header(NULL, "l", &s), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_encode(NULL, NULL, 0, &len), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_set_body(NULL, NULL, 0), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_error_reply_parse(NULL, 0, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_OK(msgwire_sts_message_new_request("Sts", "Ping", &m));
    CHECK_STATUS(msgwire_sts_message_header(m, NULL, &s), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_header(m, "l", NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_set_header(m, "X-A", NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_set_body(m, NULL, 4), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_encode(m, NULL, 4, &len), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sts_message_body(m, NULL, &len), MSGWIRE_NULL_PARAMETER);
    msgwire_sts_message_free(m);

    msgwire_sts_message_free(NULL);
    msgwire_sts_client_free(NULL);
    msgwire_sts_server_free(NULL);
    msgwire_sts_responder_free(NULL);
    msgwire_sts_error_reply_clear(NULL);
    passed++;
}

int main(void)
{
    test_build_and_encode();
    test_headers();
    test_malformed();
    test_error_xml();
    test_client_server();
    test_connect_and_bind_errors();
    test_null_and_free();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
