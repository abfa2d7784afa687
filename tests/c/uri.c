/* Tests of the MSRP URI functions: parse, accessors, format, equality and
 * error reporting. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "msgwire.h"

#include "check.h"

static msgwire_msrp_uri *parse(const char *text)
{
    msgwire_msrp_uri *uri = NULL;
    CHECK_OK(msgwire_msrp_uri_parse(text, &uri));
    return uri;
}

static void test_accessors(void)
{
    const char *text = "msrps://alice@[2001:db8::1]:2855/s3ss10n;tcp;foo=bar;flag";
    msgwire_msrp_uri *uri = parse(text);
    msgwire_str s, name, value;
    bool b = false, has = true;
    uint16_t port = 0;
    size_t n = 0;

    CHECK_OK(msgwire_msrp_uri_secure(uri, &b));
    CHECK(b);
    CHECK_OK(msgwire_msrp_uri_host(uri, &s));
    CHECK(str_is(s, "2001:db8::1"));
    CHECK_OK(msgwire_msrp_uri_port(uri, &port, &has));
    CHECK(has && port == 2855);
    CHECK_OK(msgwire_msrp_uri_session_id(uri, &s));
    CHECK(str_is(s, "s3ss10n"));
    CHECK_OK(msgwire_msrp_uri_transport(uri, &s));
    CHECK(str_is(s, "tcp"));
    CHECK_OK(msgwire_msrp_uri_user(uri, &s));
    CHECK(str_is(s, "alice"));
    CHECK_OK(msgwire_msrp_uri_param_count(uri, &n));
    CHECK(n == 2);
    CHECK_OK(msgwire_msrp_uri_param(uri, 0, &name, &value, &has));
    CHECK(str_is(name, "foo") && str_is(value, "bar") && has);
    CHECK_OK(msgwire_msrp_uri_param(uri, 1, &name, &value, &has));
    CHECK(str_is(name, "flag") && str_is(value, "") && !has);
    CHECK_STATUS(msgwire_msrp_uri_param(uri, 2, &name, &value, &has),
                 MSGWIRE_INVALID_ARGUMENT);
    msgwire_msrp_uri_free(uri);

    /* Optional parts absent. */
    uri = parse("msrp://10.0.0.1;tcp");
    CHECK_OK(msgwire_msrp_uri_secure(uri, &b));
    CHECK(!b);
    port = 77;
    CHECK_OK(msgwire_msrp_uri_port(uri, &port, &has));
    CHECK(!has && port == 0);
    s.ptr = NULL;
    CHECK_STATUS(msgwire_msrp_uri_session_id(uri, &s), MSGWIRE_NOT_FOUND);
    CHECK(s.ptr == NULL); /* not written on failure */
    CHECK_STATUS(msgwire_msrp_uri_user(uri, &s), MSGWIRE_NOT_FOUND);
    CHECK_OK(msgwire_msrp_uri_param_count(uri, &n));
    CHECK(n == 0);
    msgwire_msrp_uri_free(uri);
}

static void test_format_round_trip(void)
{
    static const char *const texts[] = {
        "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
        "msrps://bob@relay.example.net:2855/s/x+y=z;tcp",
        "msrp://10.0.0.1;tcp",
        "msrp://[2001:db8::7]/abc;sctp;foo=bar;flag",
        "MSRP://Host.Example:9/CaSe;TCP",
    };
    char buf[128];
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        msgwire_msrp_uri *uri = parse(texts[i]);
        size_t len = 0;
        CHECK_OK(msgwire_msrp_uri_format(uri, buf, sizeof buf, &len));
        /* The scheme is case-insensitive and written in lower case. */
        if (i == 4) {
            CHECK(strcmp(buf, "msrp://Host.Example:9/CaSe;TCP") == 0);
        } else {
            CHECK(strcmp(buf, texts[i]) == 0);
        }
        CHECK(len == strlen(buf));
        msgwire_msrp_uri_free(uri);
    }
}

static void test_format_buffer_too_small(void)
{
    const char *text = "msrp://h.example:1/abc;tcp";
    size_t want = strlen(text);
    msgwire_msrp_uri *uri = parse(text);
    char buf[64];
    size_t len = 0;

    /* Size query. */
    CHECK_STATUS(msgwire_msrp_uri_format(uri, NULL, 0, &len), MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == want);
    /* Room for the text but not its NUL: nothing copied. */
    memset(buf, 'x', sizeof buf);
    len = 0;
    CHECK_STATUS(msgwire_msrp_uri_format(uri, buf, want, &len), MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == want);
    CHECK(buf[0] == 'x');
    CHECK(strstr(msgwire_last_error(), "too small") != NULL);
    /* Exactly enough. */
    CHECK_OK(msgwire_msrp_uri_format(uri, buf, want + 1, &len));
    CHECK(len == want && strcmp(buf, text) == 0);
    msgwire_msrp_uri_free(uri);
}

static bool equal(const char *a, const char *b)
{
    msgwire_msrp_uri *ua = parse(a), *ub = parse(b);
    bool eq = false;
    CHECK_OK(msgwire_msrp_uri_equal(ua, ub, &eq));
    msgwire_msrp_uri_free(ua);
    msgwire_msrp_uri_free(ub);
    return eq;
}

static void test_equality(void)
{
    /* RFC 4975 section 6.1: scheme, host, transport ignore case; userinfo
     * and parameters are ignored; session-id is case-sensitive; port must
     * match exactly. */
    CHECK(equal("msrp://Host.COM:1/abc;tcp", "MSRP://host.com:1/abc;TCP"));
    CHECK(equal("msrp://u@h:1/abc;tcp;a=b", "msrp://h:1/abc;tcp"));
    CHECK(equal("msrps://alice@[2001:db8::1]:2855/s3ss10n;tcp",
                "MSRPS://[2001:DB8::1]:2855/s3ss10n;TCP"));
    CHECK(!equal("msrp://h:1/abc;tcp", "msrp://h:1/ABC;tcp"));
    CHECK(!equal("msrp://h:1/abc;tcp", "msrp://h/abc;tcp"));
    CHECK(!equal("msrp://h:1/abc;tcp", "msrps://h:1/abc;tcp"));
    CHECK(!equal("msrp://h:1/abc;tcp", "msrp://h:2/abc;tcp"));
}

static void test_bad_uris(void)
{
    static const struct {
        const char *text;
        msgwire_status status;
        const char *in_message;
    } cases[] = {
        {"http://x;tcp", MSGWIRE_MSRP_URI_BAD_SCHEME, "http"},
        {"msrp:x;tcp", MSGWIRE_MSRP_URI_MISSING_SLASHES, "://"},
        {"msrp://;tcp", MSGWIRE_MSRP_URI_MISSING_HOST, "host"},
        {"msrp://ho st/s;tcp", MSGWIRE_MSRP_URI_BAD_HOST, "ho st"},
        {"msrp://h:99999/s;tcp", MSGWIRE_MSRP_URI_BAD_PORT, "99999"},
        {"msrp://u<>@h/s;tcp", MSGWIRE_MSRP_URI_BAD_USERINFO, "u<>"},
        {"msrp://h/a b;tcp", MSGWIRE_MSRP_URI_BAD_SESSION_ID, "a b"},
        {"msrp://h/s", MSGWIRE_MSRP_URI_MISSING_TRANSPORT, "transport"},
        {"msrp://h/s;t-c", MSGWIRE_MSRP_URI_BAD_TRANSPORT, "t-c"},
        {"msrp://h/s;tcp;a=b c", MSGWIRE_MSRP_URI_BAD_PARAMETER, "a=b c"},
    };
    static int marker;
    msgwire_msrp_uri *sentinel = (msgwire_msrp_uri *)(void *)&marker;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgwire_msrp_uri *uri = sentinel;
        msgwire_status st = msgwire_msrp_uri_parse(cases[i].text, &uri);
        if (st != cases[i].status) {
            fprintf(stderr, "%s: status %u (%s), want %u\n", cases[i].text, (unsigned)st,
                    msgwire_status_text(st), (unsigned)cases[i].status);
        }
        CHECK(st == cases[i].status);
        CHECK(uri == sentinel); /* *out is not written on failure */
        if (strstr(msgwire_last_error(), cases[i].in_message) == NULL) {
            fprintf(stderr, "%s: message %s lacks %s\n", cases[i].text,
                    msgwire_last_error(), cases[i].in_message);
        }
        CHECK(strstr(msgwire_last_error(), cases[i].in_message) != NULL);
    }

    /* Not UTF-8. */
    msgwire_msrp_uri *uri = NULL;
    CHECK_STATUS(msgwire_msrp_uri_parse("msrp://h\xff/s;tcp", &uri), MSGWIRE_INVALID_UTF8);
    CHECK(uri == NULL);
    CHECK(strstr(msgwire_last_error(), "text") != NULL);
}

int main(void)
{
    test_accessors();
    test_format_round_trip();
    test_format_buffer_too_small();
    test_equality();
    test_bad_uris();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
