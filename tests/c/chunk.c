/* Tests of MSRP chunks: parse_chunk and accessors, typed header readers,
 * byte-exact encoding, building, make_response/make_report.
 *
 * When MSGWIRE_RFC_FILES (and MSGWIRE_RFC_QUIRKY_FILES) name sample files,
 * separated by whitespace, every one is parsed and re-encoded byte for byte
 * (tests/c/run.sh sets them to core/tests/data/rfc). Quirky samples may be
 * rejected by the parser, but if accepted they must round-trip too. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

#include "check.h"

/* RFC 4975 section 4: Alice's SEND (its Byte-Range says 25 bytes for a
 * 23-byte body; the default parser tolerates that) and Bob's 200 OK. */
static const char SEND_S4[] =
    "MSRP a786hjs2 SEND\r\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "Message-ID: 87652491\r\n"
    "Byte-Range: 1-25/25\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hey Bob, are you there?\r\n"
    "-------a786hjs2$\r\n";

static const char OK_S4[] =
    "MSRP a786hjs2 200 OK\r\n"
    "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "-------a786hjs2$\r\n";

/* RFC 4975 section 11.6: a success REPORT. */
static const char REPORT_S11_6[] =
    "MSRP dkei38sd REPORT\r\n"
    "To-Path: msrp://alicepc.example.com:7777/iau39soe2843z;tcp\r\n"
    "From-Path: msrp://bob.example.com:8888/9di4eae923wzd;tcp\r\n"
    "Message-ID: 12339sdqwer\r\n"
    "Byte-Range: 1-106/106\r\n"
    "Status: 000 200 OK\r\n"
    "-------dkei38sd$\r\n";

static msgwire_msrp_chunk *parse(const char *text)
{
    msgwire_msrp_chunk *chunk = NULL;
    CHECK_OK(msgwire_msrp_chunk_parse((const uint8_t *)text, strlen(text), &chunk));
    return chunk;
}

/* Encodes `chunk` into a fresh malloc'd buffer (size queried first). */
static uint8_t *encode(const msgwire_msrp_chunk *chunk, size_t *len)
{
    size_t need = 0;
    CHECK_STATUS(msgwire_msrp_chunk_encode(chunk, NULL, 0, &need), MSGWIRE_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(need + 1);
    if (buf == NULL) {
        abort();
    }
    *len = 0;
    CHECK_OK(msgwire_msrp_chunk_encode(chunk, buf, need, len));
    CHECK(*len == need);
    return buf;
}

static bool encodes_to(const msgwire_msrp_chunk *chunk, const char *want)
{
    size_t len = 0;
    uint8_t *buf = encode(chunk, &len);
    bool same = len == strlen(want) && memcmp(buf, want, len) == 0;
    if (!same) {
        fprintf(stderr, "encoded:\n%.*s\nwanted:\n%s\n", (int)len, (const char *)buf, want);
    }
    free(buf);
    return same;
}

static void test_parse_and_accessors(void)
{
    msgwire_msrp_chunk *c = parse(SEND_S4);
    msgwire_str s, name, value;
    bool is_request = false;
    uint16_t code = 0;
    size_t n = 0;
    const uint8_t *body = NULL;
    char flag = 0;

    CHECK_OK(msgwire_msrp_chunk_transaction_id(c, &s));
    CHECK(str_is(s, "a786hjs2"));
    CHECK_OK(msgwire_msrp_chunk_is_request(c, &is_request));
    CHECK(is_request);
    CHECK_OK(msgwire_msrp_chunk_method(c, &s));
    CHECK(str_is(s, "SEND"));
    CHECK_STATUS(msgwire_msrp_chunk_code(c, &code), MSGWIRE_NOT_FOUND);
    CHECK_STATUS(msgwire_msrp_chunk_comment(c, &s), MSGWIRE_NOT_FOUND);

    /* Header lookup ignores case; absent headers are MSGWIRE_NOT_FOUND. */
    CHECK_OK(msgwire_msrp_chunk_header(c, "message-id", &s));
    CHECK(str_is(s, "87652491"));
    CHECK_OK(msgwire_msrp_chunk_header(c, "CONTENT-TYPE", &s));
    CHECK(str_is(s, "text/plain"));
    CHECK_STATUS(msgwire_msrp_chunk_header(c, "Status", &s), MSGWIRE_NOT_FOUND);
    CHECK(strstr(msgwire_last_error(), "Status") != NULL);

    CHECK_OK(msgwire_msrp_chunk_header_count(c, &n));
    CHECK(n == 5);
    CHECK_OK(msgwire_msrp_chunk_header_at(c, 0, &name, &value));
    CHECK(str_is(name, "To-Path"));
    CHECK(str_is(value, "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"));
    CHECK_OK(msgwire_msrp_chunk_header_at(c, 4, &name, &value));
    CHECK(str_is(name, "Content-Type") && str_is(value, "text/plain"));
    CHECK_STATUS(msgwire_msrp_chunk_header_at(c, 5, &name, &value), MSGWIRE_INVALID_ARGUMENT);

    CHECK_OK(msgwire_msrp_chunk_body(c, &body, &n));
    CHECK(n == 23 && memcmp(body, "Hey Bob, are you there?", 23) == 0);
    CHECK_OK(msgwire_msrp_chunk_flag(c, &flag));
    CHECK(flag == '$');
    CHECK_OK(msgwire_msrp_chunk_verify_headers(c));
    msgwire_msrp_chunk_free(c);

    /* A response. */
    c = parse(OK_S4);
    CHECK_OK(msgwire_msrp_chunk_is_request(c, &is_request));
    CHECK(!is_request);
    CHECK_OK(msgwire_msrp_chunk_code(c, &code));
    CHECK(code == 200);
    CHECK_OK(msgwire_msrp_chunk_comment(c, &s));
    CHECK(str_is(s, "OK"));
    CHECK_STATUS(msgwire_msrp_chunk_method(c, &s), MSGWIRE_NOT_FOUND);
    CHECK_OK(msgwire_msrp_chunk_body(c, &body, &n));
    CHECK(n == 0 && body != NULL);
    msgwire_msrp_chunk_free(c);
}

static void test_parse_errors(void)
{
    msgwire_msrp_chunk *c = NULL;
    const char *truncated = "MSRP a786hjs2 SEND\r\nTo-Path: msrp://a:1/b;tcp\r\n";
    CHECK_STATUS(msgwire_msrp_chunk_parse((const uint8_t *)truncated, strlen(truncated), &c),
                 MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF);
    CHECK(c == NULL);
    const char *bad_tid = "MSRP ab SEND\r\n-------ab$\r\n";
    CHECK_STATUS(msgwire_msrp_chunk_parse((const uint8_t *)bad_tid, strlen(bad_tid), &c),
                 MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID);
    const char *no_colon = "MSRP abcd SEND\r\nTo-Path msrp://a:1/b;tcp\r\n-------abcd$\r\n";
    CHECK_STATUS(msgwire_msrp_chunk_parse((const uint8_t *)no_colon, strlen(no_colon), &c),
                 MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE);
    CHECK(strstr(msgwire_last_error(), "abcd") != NULL);
    CHECK(c == NULL);
    CHECK_STATUS(msgwire_msrp_chunk_parse(NULL, 0, &c), MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF);
}

static void test_typed_readers(void)
{
    msgwire_msrp_chunk *c = parse(SEND_S4);
    msgwire_msrp_byte_range range;
    msgwire_msrp_failure_report fr = 99;
    msgwire_msrp_success_report sr = 99;
    uint16_t code = 0;
    msgwire_str comment;

    CHECK_OK(msgwire_msrp_chunk_byte_range(c, &range));
    CHECK(range.start == 1 && range.has_end && range.end == 25 && range.has_total &&
          range.total == 25);
    /* RFC defaults when the report headers are absent. */
    CHECK_OK(msgwire_msrp_chunk_failure_report(c, &fr));
    CHECK(fr == MSGWIRE_MSRP_FAILURE_REPORT_YES);
    CHECK_OK(msgwire_msrp_chunk_success_report(c, &sr));
    CHECK(sr == MSGWIRE_MSRP_SUCCESS_REPORT_NO);
    CHECK_STATUS(msgwire_msrp_chunk_status(c, &code, &comment), MSGWIRE_NOT_FOUND);

    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Byte-Range", "835-*/*"));
    CHECK_OK(msgwire_msrp_chunk_byte_range(c, &range));
    CHECK(range.start == 835 && !range.has_end && !range.has_total);
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Failure-Report", "partial"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Success-Report", "yes"));
    CHECK_OK(msgwire_msrp_chunk_failure_report(c, &fr));
    CHECK(fr == MSGWIRE_MSRP_FAILURE_REPORT_PARTIAL);
    CHECK_OK(msgwire_msrp_chunk_success_report(c, &sr));
    CHECK(sr == MSGWIRE_MSRP_SUCCESS_REPORT_YES);

    /* Bad values give header-error statuses and leave outputs alone. */
    range.start = 4242;
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Byte-Range", "banana"));
    CHECK_STATUS(msgwire_msrp_chunk_byte_range(c, &range), MSGWIRE_MSRP_HEADER_BYTE_RANGE);
    CHECK(range.start == 4242);
    CHECK(strstr(msgwire_last_error(), "banana") != NULL);
    CHECK_STATUS(msgwire_msrp_chunk_verify_headers(c), MSGWIRE_MSRP_HEADER_BYTE_RANGE);
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Byte-Range", "1-23/23"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "success-report", "maybe"));
    CHECK_STATUS(msgwire_msrp_chunk_success_report(c, &sr), MSGWIRE_MSRP_HEADER_CHOICE);
    CHECK(sr == MSGWIRE_MSRP_SUCCESS_REPORT_YES);
    CHECK_STATUS(msgwire_msrp_chunk_verify_headers(c), MSGWIRE_MSRP_HEADER_CHOICE);
    CHECK_OK(msgwire_msrp_chunk_remove_header(c, "Success-Report"));
    CHECK_OK(msgwire_msrp_chunk_verify_headers(c));
    CHECK_OK(msgwire_msrp_chunk_remove_header(c, "To-Path"));
    CHECK_STATUS(msgwire_msrp_chunk_verify_headers(c), MSGWIRE_MSRP_HEADER_MISSING);
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "To-Path", "http://x;tcp"));
    CHECK_STATUS(msgwire_msrp_chunk_verify_headers(c), MSGWIRE_MSRP_HEADER_URI);
    msgwire_msrp_chunk_free(c);

    /* The Status header of a REPORT. */
    c = parse(REPORT_S11_6);
    CHECK_OK(msgwire_msrp_chunk_status(c, &code, &comment));
    CHECK(code == 200 && str_is(comment, "OK"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Status", "000 408"));
    CHECK_OK(msgwire_msrp_chunk_status(c, &code, &comment));
    CHECK(code == 408 && comment.len == 0);
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Status", "200 OK"));
    CHECK_STATUS(msgwire_msrp_chunk_status(c, &code, &comment), MSGWIRE_MSRP_HEADER_STATUS);
    msgwire_msrp_chunk_free(c);
}

static void test_encode_round_trip(void)
{
    msgwire_msrp_chunk *c = parse(SEND_S4);
    CHECK(encodes_to(c, SEND_S4));
    msgwire_msrp_chunk_free(c);
    c = parse(REPORT_S11_6);
    CHECK(encodes_to(c, REPORT_S11_6));
    msgwire_msrp_chunk_free(c);
}

static void test_encode_buffer_too_small(void)
{
    msgwire_msrp_chunk *c = parse(OK_S4);
    size_t want = strlen(OK_S4), len = 0;
    uint8_t buf[256];

    memset(buf, 0xAA, sizeof buf);
    CHECK_STATUS(msgwire_msrp_chunk_encode(c, buf, want - 1, &len), MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == want);
    CHECK(buf[0] == 0xAA); /* nothing copied */
    /* No NUL is added, so exactly `want` bytes are enough. */
    CHECK_OK(msgwire_msrp_chunk_encode(c, buf, want, &len));
    CHECK(len == want && memcmp(buf, OK_S4, want) == 0);
    msgwire_msrp_chunk_free(c);
}

static void test_build_and_encode(void)
{
    msgwire_msrp_chunk *c = NULL;
    CHECK_OK(msgwire_msrp_chunk_new_request("a786hjs2", "SEND", &c));
    /* Added out of order: encoding puts them in RFC 4975 order. */
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Content-Type", "text/plain"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "To-Path", "msrp://b.example:1/s;tcp"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "From-Path", "msrp://a.example:2/t;tcp"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Message-ID", "87652491"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "Byte-Range", "1-2/2"));
    CHECK_OK(msgwire_msrp_chunk_set_body(c, (const uint8_t *)"hi", 2));
    CHECK(encodes_to(c, "MSRP a786hjs2 SEND\r\n"
                        "To-Path: msrp://b.example:1/s;tcp\r\n"
                        "From-Path: msrp://a.example:2/t;tcp\r\n"
                        "Message-ID: 87652491\r\n"
                        "Byte-Range: 1-2/2\r\n"
                        "Content-Type: text/plain\r\n"
                        "\r\n"
                        "hi\r\n"
                        "-------a786hjs2$\r\n"));

    /* set replaces, add appends, remove removes every copy. */
    size_t n = 0;
    msgwire_str s;
    CHECK_OK(msgwire_msrp_chunk_add_header(c, "X-Note", "one"));
    CHECK_OK(msgwire_msrp_chunk_add_header(c, "x-note", "two"));
    CHECK_OK(msgwire_msrp_chunk_header_count(c, &n));
    CHECK(n == 7);
    CHECK_OK(msgwire_msrp_chunk_header(c, "X-NOTE", &s));
    CHECK(str_is(s, "one"));
    CHECK_OK(msgwire_msrp_chunk_set_header(c, "X-Note", "three"));
    CHECK_OK(msgwire_msrp_chunk_header(c, "X-Note", &s));
    CHECK(str_is(s, "three"));
    CHECK_OK(msgwire_msrp_chunk_remove_header(c, "X-NOTE"));
    CHECK_OK(msgwire_msrp_chunk_remove_header(c, "X-Note")); /* absent: fine */
    CHECK_OK(msgwire_msrp_chunk_header_count(c, &n));
    CHECK(n == 5);

    /* Flag. */
    char flag = 0;
    CHECK_OK(msgwire_msrp_chunk_set_flag(c, '+'));
    CHECK_OK(msgwire_msrp_chunk_flag(c, &flag));
    CHECK(flag == '+');
    CHECK_STATUS(msgwire_msrp_chunk_set_flag(c, 'x'), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_msrp_chunk_flag(c, &flag));
    CHECK(flag == '+');

    /* Inputs that would break the framing are refused. */
    CHECK_STATUS(msgwire_msrp_chunk_set_header(c, "X-Evil", "a\r\nTo-Path: x"),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_chunk_set_header(c, "Bad Name", "v"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_chunk_add_header(c, "", "v"), MSGWIRE_INVALID_ARGUMENT);
    msgwire_msrp_chunk_free(c);

    msgwire_msrp_chunk *bad = NULL;
    CHECK_STATUS(msgwire_msrp_chunk_new_request("ab", "SEND", &bad), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_chunk_new_request("abcd", "send", &bad),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_chunk_new_response("abcd", 1000, NULL, &bad),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_msrp_chunk_new_response("abcd", 200, "O\nK", &bad),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK(bad == NULL);

    /* Responses, with and without comment. */
    CHECK_OK(msgwire_msrp_chunk_new_response("abcd", 200, "OK", &c));
    CHECK(encodes_to(c, "MSRP abcd 200 OK\r\n-------abcd$\r\n"));
    msgwire_msrp_chunk_free(c);
    CHECK_OK(msgwire_msrp_chunk_new_response("abcd", 408, NULL, &c));
    CHECK_STATUS(msgwire_msrp_chunk_comment(c, &s), MSGWIRE_NOT_FOUND);
    CHECK(encodes_to(c, "MSRP abcd 408\r\n-------abcd$\r\n"));
    msgwire_msrp_chunk_free(c);
}

static void test_build_send(void)
{
    msgwire_msrp_chunk *c = NULL, *again = NULL;
    msgwire_str s;
    const uint8_t *body = NULL;
    size_t n = 0, len = 0;
    char flag = 0;

    CHECK_OK(msgwire_msrp_chunk_build_send("msrp://b.example:1/s;tcp", "msrp://a.example:2/t;tcp",
                                           (const uint8_t *)"hello", 5, "text/plain", &c));
    CHECK_OK(msgwire_msrp_chunk_header(c, "Byte-Range", &s));
    CHECK(str_is(s, "1-5/5"));
    CHECK_OK(msgwire_msrp_chunk_header(c, "Content-Type", &s));
    CHECK(str_is(s, "text/plain"));
    CHECK_OK(msgwire_msrp_chunk_header(c, "Message-ID", &s));
    CHECK(s.len > 0);
    CHECK_OK(msgwire_msrp_chunk_transaction_id(c, &s));
    CHECK(s.len > 0 && s.len <= 16);
    CHECK_OK(msgwire_msrp_chunk_body(c, &body, &n));
    CHECK(n == 5 && memcmp(body, "hello", 5) == 0);
    CHECK_OK(msgwire_msrp_chunk_flag(c, &flag));
    CHECK(flag == '$');
    CHECK_OK(msgwire_msrp_chunk_verify_headers(c));

    /* What it encodes parses back to the same bytes. */
    uint8_t *wire = encode(c, &len);
    CHECK_OK(msgwire_msrp_chunk_parse(wire, len, &again));
    size_t len2 = 0;
    uint8_t *wire2 = encode(again, &len2);
    CHECK(len == len2 && memcmp(wire, wire2, len) == 0);
    free(wire);
    free(wire2);
    msgwire_msrp_chunk_free(again);
    msgwire_msrp_chunk_free(c);

    /* No content type, empty body. */
    c = NULL;
    CHECK_OK(msgwire_msrp_chunk_build_send("msrp://b:1/s;tcp", "msrp://a:1/t;tcp", NULL, 0, NULL,
                                           &c));
    CHECK_STATUS(msgwire_msrp_chunk_header(c, "Content-Type", &s), MSGWIRE_NOT_FOUND);
    CHECK_OK(msgwire_msrp_chunk_header(c, "Byte-Range", &s));
    CHECK(str_is(s, "1-0/0"));
    msgwire_msrp_chunk_free(c);

    /* Bad paths. */
    c = NULL;
    CHECK_STATUS(msgwire_msrp_chunk_build_send("garbage", "msrp://a:1/t;tcp",
                                               (const uint8_t *)"x", 1, NULL, &c),
                 MSGWIRE_MSRP_HEADER_URI);
    CHECK_STATUS(msgwire_msrp_chunk_build_send("", "msrp://a:1/t;tcp", (const uint8_t *)"x", 1,
                                               NULL, &c),
                 MSGWIRE_MSRP_HEADER_EMPTY_PATH);
    CHECK_STATUS(msgwire_msrp_chunk_build_send("msrp://b:1/s;tcp\r\nX: y", "msrp://a:1/t;tcp",
                                               (const uint8_t *)"x", 1, NULL, &c),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK(c == NULL);
}

static void test_make_response(void)
{
    msgwire_msrp_chunk *req = parse(SEND_S4);
    msgwire_msrp_chunk *resp = NULL;

    /* RFC 4975 section 4: Bob's answer to Alice's SEND, byte for byte. */
    CHECK_OK(msgwire_msrp_make_response(req, 200, "OK", &resp));
    CHECK(resp != NULL);
    if (resp != NULL) {
        CHECK(encodes_to(resp, OK_S4));
    }
    msgwire_msrp_chunk_free(resp);

    /* Failure-Report: no means no response at all. */
    static int marker;
    resp = (msgwire_msrp_chunk *)(void *)&marker;
    CHECK_OK(msgwire_msrp_chunk_set_header(req, "Failure-Report", "no"));
    CHECK_OK(msgwire_msrp_make_response(req, 400, NULL, &resp));
    CHECK(resp == NULL);
    /* partial: only failures are answered. */
    CHECK_OK(msgwire_msrp_chunk_set_header(req, "Failure-Report", "partial"));
    CHECK_OK(msgwire_msrp_make_response(req, 200, NULL, &resp));
    CHECK(resp == NULL);
    CHECK_OK(msgwire_msrp_make_response(req, 415, "Unsupported media type", &resp));
    CHECK(resp != NULL);
    uint16_t code = 0;
    CHECK_OK(msgwire_msrp_chunk_code(resp, &code));
    CHECK(code == 415);
    msgwire_msrp_chunk_free(resp);

    /* A response needs the paths (checked once one is due). */
    resp = NULL;
    CHECK_OK(msgwire_msrp_chunk_remove_header(req, "Failure-Report"));
    CHECK_OK(msgwire_msrp_chunk_remove_header(req, "From-Path"));
    CHECK_STATUS(msgwire_msrp_make_response(req, 200, NULL, &resp), MSGWIRE_MSRP_HEADER_MISSING);
    CHECK(strstr(msgwire_last_error(), "From-Path") != NULL);
    CHECK(resp == NULL);
    CHECK_STATUS(msgwire_msrp_make_response(req, 2000, NULL, &resp), MSGWIRE_INVALID_ARGUMENT);
    msgwire_msrp_chunk_free(req);
}

static void test_make_report(void)
{
    msgwire_msrp_chunk *req = parse(SEND_S4);
    msgwire_msrp_chunk *report = NULL;
    msgwire_str s;
    uint16_t code = 0;

    /* No Success-Report and a success: no REPORT. */
    CHECK_OK(msgwire_msrp_make_report(req, 200, "OK", &report));
    CHECK(report == NULL);

    CHECK_OK(msgwire_msrp_chunk_set_header(req, "Success-Report", "yes"));
    CHECK_OK(msgwire_msrp_chunk_set_header(req, "Byte-Range", "1-23/23"));
    CHECK_OK(msgwire_msrp_make_report(req, 200, "OK", &report));
    CHECK(report != NULL);
    if (report != NULL) {
        CHECK_OK(msgwire_msrp_chunk_method(report, &s));
        CHECK(str_is(s, "REPORT"));
        CHECK_OK(msgwire_msrp_chunk_header(report, "To-Path", &s));
        CHECK(str_is(s, "msrp://atlanta.example.com:7654/jshA7weztas;tcp"));
        CHECK_OK(msgwire_msrp_chunk_header(report, "From-Path", &s));
        CHECK(str_is(s, "msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp"));
        CHECK_OK(msgwire_msrp_chunk_header(report, "Message-ID", &s));
        CHECK(str_is(s, "87652491"));
        CHECK_OK(msgwire_msrp_chunk_header(report, "Byte-Range", &s));
        CHECK(str_is(s, "1-23/23"));
        CHECK_OK(msgwire_msrp_chunk_status(report, &code, &s));
        CHECK(code == 200 && str_is(s, "OK"));
        CHECK_OK(msgwire_msrp_chunk_transaction_id(report, &s));
        CHECK(!str_is(s, "a786hjs2"));
        CHECK_OK(msgwire_msrp_chunk_verify_headers(report));
    }
    msgwire_msrp_chunk_free(report);

    /* A failure is reported unless Failure-Report is no. */
    CHECK_OK(msgwire_msrp_chunk_remove_header(req, "Success-Report"));
    report = NULL;
    CHECK_OK(msgwire_msrp_make_report(req, 415, NULL, &report));
    CHECK(report != NULL);
    msgwire_msrp_chunk_free(report);
    CHECK_OK(msgwire_msrp_chunk_set_header(req, "Failure-Report", "no"));
    CHECK_OK(msgwire_msrp_make_report(req, 415, NULL, &report));
    CHECK(report == NULL);

    /* A REPORT needs the Message-ID. */
    CHECK_OK(msgwire_msrp_chunk_set_header(req, "Success-Report", "yes"));
    CHECK_OK(msgwire_msrp_chunk_remove_header(req, "Message-ID"));
    CHECK_STATUS(msgwire_msrp_make_report(req, 200, NULL, &report), MSGWIRE_MSRP_HEADER_MISSING);
    CHECK(strstr(msgwire_last_error(), "Message-ID") != NULL);
    msgwire_msrp_chunk_free(req);
}

/* Reads a whole file; NULL on error. */
static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, n = 0, got;
    uint8_t *buf = malloc(cap);
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            uint8_t *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Parses and re-encodes every file named in the environment variable. */
static int round_trip_files(const char *var, bool must_parse)
{
    const char *list = getenv(var);
    int files = 0;
    if (list == NULL) {
        return 0;
    }
    char *copy = malloc(strlen(list) + 1);
    if (copy == NULL) {
        abort();
    }
    strcpy(copy, list);
    for (char *path = strtok(copy, " \t\n"); path != NULL; path = strtok(NULL, " \t\n")) {
        size_t len = 0;
        uint8_t *data = read_file(path, &len);
        CHECK(data != NULL);
        if (data == NULL) {
            fprintf(stderr, "cannot read %s\n", path);
            continue;
        }
        files++;
        msgwire_msrp_chunk *c = NULL;
        msgwire_status st = msgwire_msrp_chunk_parse(data, len, &c);
        if (must_parse) {
            CHECK(st == MSGWIRE_OK);
        }
        if (st != MSGWIRE_OK) {
            fprintf(stderr, "%s: %s%s\n", path, must_parse ? "" : "(quirky, not accepted) ",
                    msgwire_last_error());
        } else {
            size_t out_len = 0;
            uint8_t *out = encode(c, &out_len);
            bool same = out_len == len && memcmp(out, data, len) == 0;
            if (!same) {
                fprintf(stderr, "%s: re-encoding differs\n", path);
            }
            CHECK(same);
            free(out);
        }
        msgwire_msrp_chunk_free(c);
        free(data);
    }
    free(copy);
    return files;
}

int main(void)
{
    test_parse_and_accessors();
    test_parse_errors();
    test_typed_readers();
    test_encode_round_trip();
    test_encode_buffer_too_small();
    test_build_and_encode();
    test_build_send();
    test_make_response();
    test_make_report();
    int files = round_trip_files("MSGWIRE_RFC_FILES", true);
    files += round_trip_files("MSGWIRE_RFC_QUIRKY_FILES", false);
    printf("round-tripped sample files: %d\n", files);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
