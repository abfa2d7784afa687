/* Tests of the MSRP SDP media description (RFC 4975 section 8, RFC 6135
 * a=setup): parse an offer and read every field, re-encode it, build one
 * for a path, and the typed statuses of malformed sections. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

#include "check.h"

static const char OFFER[] =
    "m=message 7394 TCP/MSRP *\r\n"
    "c=IN IP4 alice.example.com\r\n"
    "a=path:msrp://relay.example.net:2855/aa11;tcp msrp://alice.example.com:7394/2s93i93idj;tcp\r\n"
    "a=accept-types:message/cpim text/plain text/html\r\n"
    "a=accept-wrapped-types:*\r\n"
    "a=max-size:65536\r\n"
    "a=setup:actpass\r\n"
    "a=sendrecv\r\n"
    "a=chatroom:nickname private-messages\r\n";

/* Encodes into a malloc'd NUL-terminated string (size queried first). */
static char *encode(const msgwire_sdp_media *media)
{
    size_t need = 0;
    CHECK_STATUS(msgwire_sdp_media_encode(media, NULL, 0, &need), MSGWIRE_BUFFER_TOO_SMALL);
    char *buf = malloc(need + 1);
    if (buf == NULL) {
        return NULL;
    }
    size_t len = 0;
    CHECK_OK(msgwire_sdp_media_encode(media, buf, need + 1, &len));
    CHECK(len == need && buf[len] == '\0');
    return buf;
}

static void offer(void)
{
    msgwire_sdp_media *m = NULL;
    CHECK_OK(msgwire_sdp_media_parse(OFFER, &m));
    if (m == NULL) {
        return;
    }
    uint16_t port = 0;
    CHECK_OK(msgwire_sdp_media_port(m, &port));
    CHECK(port == 7394);
    msgwire_sdp_protocol proto = MSGWIRE_SDP_PROTOCOL_TLS;
    CHECK_OK(msgwire_sdp_media_protocol(m, &proto));
    CHECK(proto == MSGWIRE_SDP_PROTOCOL_TCP);

    msgwire_str net, type, addr;
    CHECK_OK(msgwire_sdp_media_connection(m, &net, &type, &addr));
    CHECK(str_is(net, "IN") && str_is(type, "IP4") && str_is(addr, "alice.example.com"));

    size_t n = 0;
    CHECK_OK(msgwire_sdp_media_path_count(m, &n));
    CHECK(n == 2);
    msgwire_str s;
    CHECK_OK(msgwire_sdp_media_path(m, 1, &s));
    CHECK(str_is(s, "msrp://alice.example.com:7394/2s93i93idj;tcp"));
    CHECK_STATUS(msgwire_sdp_media_path(m, 2, &s), MSGWIRE_INVALID_ARGUMENT);

    CHECK_OK(msgwire_sdp_media_type_count(m, MSGWIRE_SDP_TYPES_ACCEPT, &n));
    CHECK(n == 3);
    CHECK_OK(msgwire_sdp_media_type(m, MSGWIRE_SDP_TYPES_ACCEPT, 0, &s));
    CHECK(str_is(s, "message/cpim"));
    CHECK_OK(msgwire_sdp_media_type(m, MSGWIRE_SDP_TYPES_ACCEPT_WRAPPED, 0, &s));
    CHECK(str_is(s, "*"));

    uint64_t size = 0;
    bool has = false;
    CHECK_OK(msgwire_sdp_media_max_size(m, &size, &has));
    CHECK(has && size == 65536);
    msgwire_sdp_setup setup = MSGWIRE_SDP_SETUP_ACTIVE;
    CHECK_OK(msgwire_sdp_media_setup(m, &setup));
    CHECK(setup == MSGWIRE_SDP_SETUP_ACTPASS);

    CHECK_OK(msgwire_sdp_media_attribute_count(m, &n));
    CHECK(n == 2);
    msgwire_str name, value;
    bool has_value = true;
    CHECK_OK(msgwire_sdp_media_attribute(m, 0, &name, &value, &has_value));
    CHECK(str_is(name, "sendrecv") && !has_value && value.len == 0);
    CHECK_OK(msgwire_sdp_media_attribute(m, 1, &name, &value, &has_value));
    CHECK(str_is(name, "chatroom") && has_value);
    CHECK(str_is(value, "nickname private-messages"));

    bool ok = false;
    CHECK_OK(msgwire_sdp_media_accepts(m, "text/plain; charset=utf-8", false, &ok));
    CHECK(ok);
    CHECK_OK(msgwire_sdp_media_accepts(m, "image/png", false, &ok));
    CHECK(!ok);
    CHECK_OK(msgwire_sdp_media_accepts(m, "image/png", true, &ok));
    CHECK(ok); /* a=accept-wrapped-types:* */

    char *text = encode(m);
    CHECK(text != NULL && strcmp(text, OFFER) == 0);
    free(text);
    msgwire_sdp_media_free(m);
}

static void build(void)
{
    msgwire_sdp_media *m = NULL;
    CHECK_OK(msgwire_sdp_media_for_path("msrp://127.0.0.1:40000/s3ss;tcp",
                                        "message/cpim text/* application/im-iscomposing+xml", &m));
    if (m == NULL) {
        return;
    }
    CHECK_OK(msgwire_sdp_media_set_setup(m, MSGWIRE_SDP_SETUP_PASSIVE, true));
    CHECK_OK(msgwire_sdp_media_set_max_size(m, 1024, true));
    CHECK_OK(msgwire_sdp_media_add_attribute(m, "sendrecv", NULL));
    char *text = encode(m);
    const char *want = "m=message 40000 TCP/MSRP *\r\n"
                       "c=IN IP4 127.0.0.1\r\n"
                       "a=path:msrp://127.0.0.1:40000/s3ss;tcp\r\n"
                       "a=accept-types:message/cpim text/* application/im-iscomposing+xml\r\n"
                       "a=accept-wrapped-types:*\r\n"
                       "a=max-size:1024\r\n"
                       "a=setup:passive\r\n"
                       "a=sendrecv\r\n";
    CHECK(text != NULL && strcmp(text, want) == 0);
    if (text != NULL && strcmp(text, want) != 0) {
        fprintf(stderr, "encoded:\n%s\n", text);
    }
    free(text);

    CHECK_OK(msgwire_sdp_media_add_attribute(m, "bad name", "x"));
    size_t len = 0;
    CHECK_STATUS(msgwire_sdp_media_encode(m, NULL, 0, &len), MSGWIRE_SDP_INVALID_MEDIA);
    msgwire_sdp_media_free(m);

    m = NULL;
    CHECK_STATUS(msgwire_sdp_media_for_path("http://x", "text/plain", &m),
                 MSGWIRE_MSRP_URI_BAD_SCHEME);
    CHECK(m == NULL);
    msgwire_sdp_media_free(NULL);
}

static void malformed(void)
{
    static const struct {
        const char *text;
        msgwire_status want;
        const char *line;
    } cases[] = {
        {"", MSGWIRE_SDP_MISSING_MEDIA_LINE, "line 1"},
        {"m=audio 1 RTP/AVP 0\r\n", MSGWIRE_SDP_NOT_MESSAGE, "line 1"},
        {"m=message 1 UDP/MSRP *\r\n", MSGWIRE_SDP_UNSUPPORTED_PROTOCOL, "line 1"},
        {"m=message 1 TCP/MSRP *\r\na=path:msrp://h;tcp\r\na=path:msrp://h;tcp\r\n",
         MSGWIRE_SDP_DUPLICATE_LINE, "line 3"},
        {"m=message 1 TCP/MSRP *\r\na=path:nope\r\n", MSGWIRE_SDP_BAD_PATH, "line 2"},
        {"m=message 1 TCP/MSRP *\r\na=setup:later\r\n", MSGWIRE_SDP_BAD_SETUP, "line 2"},
        {"m=message 1 TCP/MSRP *\r\na=max-size:big\r\n", MSGWIRE_SDP_BAD_MAX_SIZE, "line 2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgwire_sdp_media *m = NULL;
        CHECK_STATUS(msgwire_sdp_media_parse(cases[i].text, &m), cases[i].want);
        CHECK(m == NULL);
        CHECK(strstr(msgwire_last_error(), cases[i].line) != NULL);
    }
}

int main(void)
{
    offer();
    build();
    malformed();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
