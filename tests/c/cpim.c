/* Tests of Message/CPIM (RFC 3862): the RFC 3862 section 5 example parses,
 * its parts read back, it re-encodes byte for byte; malformed bodies give
 * their typed status; a built message has the documented header order and
 * parses back. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

#include "check.h"

static const char RFC_EXAMPLE[] =
    "From: MR SANDERS <im:piglet@100akerwood.com>\r\n"
    "To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n"
    "DateTime: 2000-12-13T13:40:00-08:00\r\n"
    "Subject: the weather will be fine today\r\n"
    "Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n"
    "NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"
    "Require: MyFeatures.VitalMessageOption\r\n"
    "MyFeatures.VitalMessageOption: Confirmation-requested\r\n"
    "MyFeatures.WackyMessageOption: Use-silly-font\r\n"
    "\r\n"
    "Content-type: text/xml; charset=utf-8\r\n"
    "Content-ID: <1234567890@foo.com>\r\n"
    "\r\n"
    "<body>\r\n"
    "Here is the text of my message.\r\n"
    "</body>";

static bool encodes_to(const msgwire_cpim_message *msg, const char *want, size_t want_len)
{
    size_t need = 0;
    CHECK_STATUS(msgwire_cpim_message_encode(msg, NULL, 0, &need), MSGWIRE_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(need ? need : 1);
    if (buf == NULL) {
        return false;
    }
    size_t len = 0;
    CHECK_OK(msgwire_cpim_message_encode(msg, buf, need, &len));
    bool same = len == want_len && memcmp(buf, want, len) == 0;
    if (!same) {
        fprintf(stderr, "encoded:\n%.*s\n", (int)len, (const char *)buf);
    }
    free(buf);
    return same;
}

static void rfc_example(void)
{
    msgwire_cpim_message *msg = NULL;
    CHECK_OK(msgwire_cpim_message_parse((const uint8_t *)RFC_EXAMPLE, strlen(RFC_EXAMPLE), &msg));
    if (msg == NULL) {
        return;
    }
    CHECK(encodes_to(msg, RFC_EXAMPLE, strlen(RFC_EXAMPLE)));

    msgwire_cpim_identity id;
    CHECK_OK(msgwire_cpim_message_sender(msg, &id));
    CHECK(str_is(id.uri, "im:piglet@100akerwood.com"));
    CHECK(id.has_display_name && str_is(id.display_name, "MR SANDERS"));

    size_t n = 99;
    CHECK_OK(msgwire_cpim_message_recipient_count(msg, false, &n));
    CHECK(n == 1);
    CHECK_OK(msgwire_cpim_message_recipient(msg, false, 0, &id));
    CHECK(str_is(id.uri, "im:eeyore@100akerwood.com"));
    CHECK(str_is(id.display_name, "Depressed Donkey"));
    CHECK_STATUS(msgwire_cpim_message_recipient(msg, false, 1, &id), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_cpim_message_recipient_count(msg, true, &n));
    CHECK(n == 0);

    msgwire_cpim_datetime dt;
    CHECK_OK(msgwire_cpim_message_datetime(msg, &dt));
    CHECK(dt.year == 2000 && dt.month == 12 && dt.day == 13);
    CHECK(dt.hour == 13 && dt.minute == 40 && dt.second == 0 && dt.nanosecond == 0);
    CHECK(dt.offset_minutes == -480);

    CHECK_OK(msgwire_cpim_message_subject_count(msg, &n));
    CHECK(n == 2);
    msgwire_str lang, text;
    bool has_lang = true;
    CHECK_OK(msgwire_cpim_message_subject(msg, 0, &lang, &has_lang, &text));
    CHECK(!has_lang && lang.len == 0 && str_is(text, "the weather will be fine today"));
    CHECK_OK(msgwire_cpim_message_subject(msg, 1, &lang, &has_lang, &text));
    CHECK(has_lang && str_is(lang, "fr"));
    CHECK(str_is(text, "beau temps prevu pour aujourd'hui"));

    CHECK_OK(msgwire_cpim_message_namespace_count(msg, &n));
    CHECK(n == 1);
    msgwire_str prefix, uri;
    bool has_prefix = false;
    CHECK_OK(msgwire_cpim_message_namespace(msg, 0, &prefix, &has_prefix, &uri));
    CHECK(has_prefix && str_is(prefix, "MyFeatures"));
    CHECK(str_is(uri, "mid:MessageFeatures@id.foo.com"));

    CHECK_OK(msgwire_cpim_message_required_count(msg, &n));
    CHECK(n == 1);
    msgwire_str name;
    CHECK_OK(msgwire_cpim_message_required(msg, 0, &name));
    CHECK(str_is(name, "MyFeatures.VitalMessageOption"));

    CHECK_OK(msgwire_cpim_message_header_count(msg, &n));
    CHECK(n == 9);
    msgwire_cpim_header h;
    CHECK_OK(msgwire_cpim_message_header(msg, 4, &h));
    CHECK(!h.has_prefix && str_is(h.name, "Subject") && str_is(h.params, ";lang=fr"));
    CHECK(str_is(h.namespace_uri, "urn:ietf:params:cpim-headers:"));
    CHECK(str_is(h.value, "beau temps prevu pour aujourd'hui"));
    CHECK_OK(msgwire_cpim_message_header(msg, 8, &h));
    CHECK(h.has_prefix && str_is(h.prefix, "MyFeatures"));
    CHECK(str_is(h.name, "WackyMessageOption") && str_is(h.value, "Use-silly-font"));
    CHECK(str_is(h.namespace_uri, "mid:MessageFeatures@id.foo.com"));
    CHECK(h.params.len == 0);
    CHECK_STATUS(msgwire_cpim_message_header(msg, 9, &h), MSGWIRE_INVALID_ARGUMENT);

    msgwire_str ct;
    CHECK_OK(msgwire_cpim_message_content_type(msg, &ct));
    CHECK(str_is(ct, "text/xml; charset=utf-8"));
    CHECK_OK(msgwire_cpim_message_content_header_count(msg, &n));
    CHECK(n == 2);
    msgwire_str hn, hv;
    CHECK_OK(msgwire_cpim_message_content_header(msg, 1, &hn, &hv));
    CHECK(str_is(hn, "Content-ID") && str_is(hv, "<1234567890@foo.com>"));

    const uint8_t *content = NULL;
    size_t content_len = 0;
    CHECK_OK(msgwire_cpim_message_content(msg, &content, &content_len));
    const char *body = "<body>\r\nHere is the text of my message.\r\n</body>";
    CHECK(content_len == strlen(body) && memcmp(content, body, content_len) == 0);

    msgwire_cpim_message_free(msg);
}

static void malformed(void)
{
    static const struct {
        const char *input;
        msgwire_status want;
        const char *line; /* "line N" expected in the error message */
    } cases[] = {
        {"", MSGWIRE_CPIM_EMPTY, "line 1"},
        {"From: <sip:a@b>\r\nTo: <sip:c@d>\r\n", MSGWIRE_CPIM_MISSING_HEADER_END, "line 2"},
        {"From: <sip:a@b>\r\n\r\nContent-Type: text/plain\r\nhi",
         MSGWIRE_CPIM_MISSING_CONTENT_HEADER_END, "line 4"},
        {"From: <sip:a@b>\r\nno colon here\r\n\r\n\r\n", MSGWIRE_CPIM_MISSING_COLON, "line 2"},
        {"X.Name: v\r\n\r\n\r\n", MSGWIRE_CPIM_UNDECLARED_PREFIX, "line 1"},
        {"DateTime: yesterday\r\n\r\n\r\n", MSGWIRE_CPIM_BAD_DATETIME, "line 1"},
        {"From: piglet\r\n\r\n\r\n", MSGWIRE_CPIM_BAD_ADDRESS, "line 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgwire_cpim_message *msg = (msgwire_cpim_message *)&cases[i];
        CHECK_STATUS(msgwire_cpim_message_parse((const uint8_t *)cases[i].input,
                                                strlen(cases[i].input), &msg),
                     cases[i].want);
        CHECK(msg == (msgwire_cpim_message *)&cases[i]); /* untouched on failure */
        CHECK(strstr(msgwire_last_error(), cases[i].line) != NULL);
    }
    CHECK_STATUS(msgwire_cpim_message_parse(NULL, 1, NULL), MSGWIRE_NULL_PARAMETER);
}

static void build(void)
{
    const char payload[] = "Hello, Bob";
    msgwire_cpim_builder *b = NULL;
    CHECK_OK(msgwire_cpim_builder_new("text/plain", (const uint8_t *)payload, strlen(payload), &b));
    if (b == NULL) {
        return;
    }
    CHECK_OK(msgwire_cpim_builder_add_identity(b, MSGWIRE_CPIM_ROLE_FROM, "sip:alice@example.com",
                                               "Alice"));
    CHECK_OK(msgwire_cpim_builder_add_identity(b, MSGWIRE_CPIM_ROLE_TO, "sip:bob@example.com",
                                               NULL));
    msgwire_cpim_datetime dt = {.year = 2024, .month = 5, .day = 1, .hour = 10, .offset_minutes = 120};
    CHECK_OK(msgwire_cpim_builder_set_datetime(b, &dt));
    CHECK_OK(msgwire_cpim_builder_add_header(b, "urn:x-test", NULL, "Flag", "on"));
    CHECK_OK(msgwire_cpim_builder_add_content_header(b, "Content-ID", "<1@x>"));

    msgwire_cpim_message *msg = NULL;
    CHECK_OK(msgwire_cpim_builder_build(b, &msg));
    const char want[] = "From: Alice <sip:alice@example.com>\r\n"
                        "To: <sip:bob@example.com>\r\n"
                        "DateTime: 2024-05-01T10:00:00+02:00\r\n"
                        "NS: ns1 <urn:x-test>\r\n"
                        "ns1.Flag: on\r\n"
                        "\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-ID: <1@x>\r\n"
                        "\r\n"
                        "Hello, Bob";
    if (msg != NULL) {
        CHECK(encodes_to(msg, want, strlen(want)));
        msgwire_cpim_message_free(msg);
    }

    /* A builder value that cannot be encoded fails at build time. */
    CHECK_OK(msgwire_cpim_builder_add_identity(b, MSGWIRE_CPIM_ROLE_CC, "not a uri", NULL));
    msg = NULL;
    CHECK_STATUS(msgwire_cpim_builder_build(b, &msg), MSGWIRE_CPIM_INVALID_MESSAGE);
    CHECK(msg == NULL);
    msgwire_cpim_datetime bad = {.year = 2023, .month = 2, .day = 30};
    CHECK_STATUS(msgwire_cpim_builder_set_datetime(b, &bad), MSGWIRE_INVALID_ARGUMENT);
    msgwire_cpim_builder_free(b);
    msgwire_cpim_builder_free(NULL);
    msgwire_cpim_message_free(NULL);

    msgwire_cpim_datetime now;
    CHECK_OK(msgwire_cpim_datetime_now(&now));
    CHECK(now.year >= 2024 && now.offset_minutes == 0);
}

int main(void)
{
    rfc_example();
    malformed();
    build();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
