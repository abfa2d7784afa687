/* Tests of the API conventions: NULL arguments, _free(NULL), status texts,
 * the last-error message, outputs untouched on failure, the version. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "msgwire.h"

#include "check.h"

/* Checks that `call` returns MSGWIRE_NULL_PARAMETER and that the message
 * names the parameter. */
#define CHECK_NULL_ARG(call, param)                                                  \
    do {                                                                             \
        CHECK_STATUS(call, MSGWIRE_NULL_PARAMETER);                                  \
        CHECK(strstr(msgwire_last_error(), param " is NULL") != NULL);               \
    } while (0)

static const char SEND[] = "MSRP abcd SEND\r\n"
                           "To-Path: msrp://b:1/s;tcp\r\n"
                           "From-Path: msrp://a:1/t;tcp\r\n"
                           "Content-Type: text/plain\r\n"
                           "\r\n"
                           "hi\r\n"
                           "-------abcd$\r\n";

static void test_first_last_error_is_empty(void)
{
    const char *e = msgwire_last_error();
    CHECK(e != NULL && e[0] == '\0');
}

static void test_status_texts_and_version(void)
{
    CHECK(strcmp(msgwire_status_text(MSGWIRE_OK), "ok") == 0);
    CHECK(strcmp(msgwire_status_text(MSGWIRE_NOT_FOUND), "not found") == 0);
    CHECK(strstr(msgwire_status_text(MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF), "inside a chunk") !=
          NULL);
    CHECK(strcmp(msgwire_status_text(99999), "unknown status") == 0);
    CHECK(strcmp(msgwire_status_text(7), "unknown status") == 0);
    /* Every documented code has its own text. */
    static const msgwire_status codes[] = {
        MSGWIRE_NULL_PARAMETER,           MSGWIRE_INVALID_UTF8,
        MSGWIRE_BUFFER_TOO_SMALL,         MSGWIRE_PANIC,
        MSGWIRE_INVALID_ARGUMENT,         MSGWIRE_MSRP_URI_BAD_SCHEME,
        MSGWIRE_MSRP_URI_BAD_PARAMETER,   MSGWIRE_MSRP_HEADER_MISSING,
        MSGWIRE_MSRP_HEADER_EMPTY,        MSGWIRE_MSRP_PARSE_BAD_START_LINE,
        MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE,
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        CHECK(strcmp(msgwire_status_text(codes[i]), "unknown status") != 0);
    }
    CHECK(MSGWIRE_OK == 0);
    CHECK(MSGWIRE_MSRP_URI_BAD_SCHEME == 1000);
    CHECK(MSGWIRE_MSRP_HEADER_MISSING == 1100);
    CHECK(MSGWIRE_MSRP_PARSE_BAD_START_LINE == 1200);
    CHECK(strncmp(msgwire_version(), "msgwire/", 8) == 0);
}

static void test_free_null(void)
{
    /* Each is a no-op; valgrind would flag anything else. */
    msgwire_msrp_uri_free(NULL);
    msgwire_msrp_chunk_free(NULL);
    msgwire_msrp_parser_free(NULL);
    CHECK(true);
}

static void test_null_arguments(void)
{
    msgwire_msrp_uri *uri = NULL;
    msgwire_msrp_chunk *chunk = NULL;
    msgwire_msrp_parser *parser = NULL;
    msgwire_str s;
    bool b;
    uint16_t u16;
    size_t n;
    char c;
    uint8_t buf[256];

    /* URIs. */
    CHECK_NULL_ARG(msgwire_msrp_uri_parse(NULL, &uri), "text");
    CHECK_NULL_ARG(msgwire_msrp_uri_parse("msrp://h;tcp", NULL), "out");
    CHECK_OK(msgwire_msrp_uri_parse("msrp://h:1/s;tcp", &uri));
    CHECK_NULL_ARG(msgwire_msrp_uri_host(NULL, &s), "uri");
    CHECK_NULL_ARG(msgwire_msrp_uri_host(uri, NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_uri_port(uri, &u16, NULL), "out_has_port");
    CHECK_NULL_ARG(msgwire_msrp_uri_secure(NULL, &b), "uri");
    CHECK_NULL_ARG(msgwire_msrp_uri_param(uri, 0, NULL, &s, &b), "out_name");
    CHECK_NULL_ARG(msgwire_msrp_uri_format(uri, NULL, 10, &n), "buf");
    CHECK_NULL_ARG(msgwire_msrp_uri_format(uri, (char *)buf, sizeof buf, NULL), "out_len");
    CHECK_NULL_ARG(msgwire_msrp_uri_equal(uri, NULL, &b), "b");
    CHECK_NULL_ARG(msgwire_msrp_uri_equal(uri, uri, NULL), "out_equal");
    msgwire_msrp_uri_free(uri);

    /* Chunks. */
    CHECK_NULL_ARG(msgwire_msrp_chunk_parse(NULL, 5, &chunk), "data");
    CHECK_NULL_ARG(msgwire_msrp_chunk_parse((const uint8_t *)SEND, strlen(SEND), NULL), "out");
    CHECK(chunk == NULL);
    CHECK_OK(msgwire_msrp_chunk_parse((const uint8_t *)SEND, strlen(SEND), &chunk));
    CHECK_NULL_ARG(msgwire_msrp_chunk_transaction_id(NULL, &s), "chunk");
    CHECK_NULL_ARG(msgwire_msrp_chunk_header(chunk, NULL, &s), "name");
    CHECK_NULL_ARG(msgwire_msrp_chunk_header(chunk, "To-Path", NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_chunk_header_count(NULL, &n), "chunk");
    CHECK_NULL_ARG(msgwire_msrp_chunk_body(chunk, NULL, &n), "out_data");
    CHECK_NULL_ARG(msgwire_msrp_chunk_flag(chunk, NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_chunk_set_header(chunk, "X", NULL), "value");
    CHECK_NULL_ARG(msgwire_msrp_chunk_set_header(NULL, "X", "v"), "chunk");
    CHECK_NULL_ARG(msgwire_msrp_chunk_remove_header(chunk, NULL), "name");
    CHECK_NULL_ARG(msgwire_msrp_chunk_set_body(chunk, NULL, 3), "data");
    CHECK_OK(msgwire_msrp_chunk_set_body(chunk, NULL, 0));
    CHECK_NULL_ARG(msgwire_msrp_chunk_set_flag(NULL, '$'), "chunk");
    CHECK_NULL_ARG(msgwire_msrp_chunk_encode(chunk, NULL, 10, &n), "buf");
    CHECK_NULL_ARG(msgwire_msrp_chunk_encode(chunk, buf, sizeof buf, NULL), "out_len");
    CHECK_NULL_ARG(msgwire_msrp_chunk_verify_headers(NULL), "chunk");
    CHECK_NULL_ARG(msgwire_msrp_chunk_new_request(NULL, "SEND", &chunk), "transaction_id");
    CHECK_NULL_ARG(msgwire_msrp_chunk_new_response("abcd", 200, "OK", NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_make_response(NULL, 200, NULL, &chunk), "request");
    CHECK_NULL_ARG(msgwire_msrp_make_report(chunk, 200, NULL, NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_chunk_build_send(NULL, "msrp://a:1/t;tcp", NULL, 0, NULL, &chunk),
                   "to_path");
    CHECK_NULL_ARG(msgwire_msrp_chunk_byte_range(chunk, NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_chunk_status(chunk, &u16, NULL), "out_comment");

    /* Outputs are written only on success. */
    c = 'z';
    n = 77;
    s.ptr = NULL;
    s.len = 99;
    CHECK_STATUS(msgwire_msrp_chunk_flag(NULL, &c), MSGWIRE_NULL_PARAMETER);
    CHECK(c == 'z');
    CHECK_STATUS(msgwire_msrp_chunk_header_at(chunk, 100, &s, &s), MSGWIRE_INVALID_ARGUMENT);
    CHECK(s.ptr == NULL && s.len == 99);
    CHECK_STATUS(msgwire_msrp_chunk_code(chunk, &u16), MSGWIRE_NOT_FOUND);
    msgwire_msrp_chunk_free(chunk);

    /* Parser. */
    CHECK_NULL_ARG(msgwire_msrp_parser_new(NULL, NULL), "out");
    CHECK_NULL_ARG(msgwire_msrp_parser_config_default(NULL), "cfg");
    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    n = 1234;
    CHECK_NULL_ARG(msgwire_msrp_parser_feed(NULL, NULL, NULL, buf, 1, &n), "parser");
    CHECK(n == 1234);
    CHECK_NULL_ARG(msgwire_msrp_parser_feed(parser, NULL, NULL, NULL, 1, &n), "data");
    CHECK_NULL_ARG(msgwire_msrp_parser_feed(parser, NULL, NULL, buf, 0, NULL), "consumed");
    CHECK_NULL_ARG(msgwire_msrp_parser_finish(NULL), "parser");
    CHECK_NULL_ARG(msgwire_msrp_parser_error_tid(NULL, (char *)buf, sizeof buf, &n), "parser");
    CHECK_NULL_ARG(msgwire_msrp_parser_error_tid(parser, (char *)buf, sizeof buf, NULL),
                   "out_len");
    msgwire_msrp_parser_free(parser);

    /* Head accessors check their head too. */
    CHECK_NULL_ARG(msgwire_msrp_head_transaction_id(NULL, &s), "head");
    CHECK_NULL_ARG(msgwire_msrp_head_raw(NULL, &s), "head");
    CHECK_NULL_ARG(msgwire_msrp_head_to_chunk(NULL, &chunk), "head");
}

static void test_invalid_utf8_argument(void)
{
    msgwire_msrp_chunk *chunk = NULL;
    CHECK_OK(msgwire_msrp_chunk_new_request("abcd", "SEND", &chunk));
    CHECK_STATUS(msgwire_msrp_chunk_set_header(chunk, "X", "caf\xe9"), MSGWIRE_INVALID_UTF8);
    CHECK(strstr(msgwire_last_error(), "value") != NULL);
    CHECK_STATUS(msgwire_msrp_chunk_set_header(chunk, "X", "caf\xc3\xa9"), MSGWIRE_OK);
    msgwire_msrp_chunk_free(chunk);
}

int main(void)
{
    test_first_last_error_is_empty();
    test_status_texts_and_version();
    test_free_null();
    test_null_arguments();
    test_invalid_utf8_argument();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
