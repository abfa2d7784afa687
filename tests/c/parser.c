/* Tests of the streaming MSRP parser: events and their order, feeding in
 * slices of any size, error statuses and transaction ids, recovery, finish
 * and configuration. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msgwire.h"

#include "check.h"

/* Three chunks back to back: a SEND with a body, its 200 OK (no body) and
 * a continued SEND ('+' flag) whose body contains a near end-line. */
static const char STREAM[] =
    "MSRP a786hjs2 SEND\r\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "Message-ID: 87652491\r\n"
    "Byte-Range: 1-23/23\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "Hey Bob, are you there?\r\n"
    "-------a786hjs2$\r\n"
    "MSRP a786hjs2 200 OK\r\n"
    "To-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "From-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "-------a786hjs2$\r\n"
    "MSRP dkei38sd SEND\r\n"
    "To-Path: msrp://biloxi.example.com:12763/kjhd37s2s20w2a;tcp\r\n"
    "From-Path: msrp://atlanta.example.com:7654/jshA7weztas;tcp\r\n"
    "Message-ID: 4564dpWd\r\n"
    "Byte-Range: 1-*/8\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "ab\r\n-------dkei38sX\r\ncd\r\n"
    "-------dkei38sd+\r\n";

/* The events of a run, written as text so runs can be compared. */
struct log {
    char text[8192];
    size_t len;
    int starts, ends;
    bool in_body;
    bool check_first_head; /* the run feeds STREAM: check its first head */
    msgwire_msrp_chunk *first_head; /* msgwire_msrp_head_to_chunk of chunk 1 */
};

static void log_bytes(struct log *log, const void *data, size_t len)
{
    if (log->len + len >= sizeof log->text) {
        len = sizeof log->text - 1 - log->len;
    }
    memcpy(log->text + log->len, data, len);
    log->len += len;
    log->text[log->len] = '\0';
}

static void log_text(struct log *log, const char *text)
{
    log_bytes(log, text, strlen(text));
}

static void log_str(struct log *log, msgwire_str s)
{
    log_bytes(log, s.ptr, s.len);
}

static void on_start(void *user_data, const msgwire_msrp_head *head)
{
    struct log *log = user_data;
    msgwire_str s, name, value;
    bool is_request = false;
    uint16_t code = 0;
    size_t count = 0;
    char num[16];

    log->starts++;
    log_text(log, "start ");
    CHECK_OK(msgwire_msrp_head_transaction_id(head, &s));
    log_str(log, s);
    CHECK_OK(msgwire_msrp_head_is_request(head, &is_request));
    if (is_request) {
        CHECK_OK(msgwire_msrp_head_method(head, &s));
        log_text(log, " ");
        log_str(log, s);
        CHECK_STATUS(msgwire_msrp_head_code(head, &code), MSGWIRE_NOT_FOUND);
    } else {
        CHECK_OK(msgwire_msrp_head_code(head, &code));
        snprintf(num, sizeof num, " %03u", (unsigned)code);
        log_text(log, num);
        if (msgwire_msrp_head_comment(head, &s) == MSGWIRE_OK) {
            log_text(log, " ");
            log_str(log, s);
        }
    }
    log_text(log, "\n");
    CHECK_OK(msgwire_msrp_head_header_count(head, &count));
    for (size_t i = 0; i < count; i++) {
        CHECK_OK(msgwire_msrp_head_header_at(head, i, &name, &value));
        log_str(log, name);
        log_text(log, ": ");
        log_str(log, value);
        log_text(log, "\n");
    }
    CHECK_STATUS(msgwire_msrp_head_header_at(head, count, &name, &value),
                 MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_msrp_head_header(head, "to-path", &s));
    CHECK(s.len > 0 && s.ptr[s.len] == '\0');
    CHECK_STATUS(msgwire_msrp_head_header(head, "X-Absent", &s), MSGWIRE_NOT_FOUND);

    if (log->starts == 1 && log->check_first_head) {
        /* The raw head is the wire text up to and including the blank line. */
        CHECK_OK(msgwire_msrp_head_raw(head, &s));
        const char *blank = strstr(STREAM, "\r\n\r\n");
        size_t raw_len = (size_t)(blank - STREAM) + 4;
        CHECK(s.len == raw_len && memcmp(s.ptr, STREAM, raw_len) == 0);
        /* A chunk copy outlives the callback. */
        if (log->first_head == NULL) {
            CHECK_OK(msgwire_msrp_head_to_chunk(head, &log->first_head));
        }
    }
    log_text(log, "body ");
    log->in_body = true;
}

static void on_data(void *user_data, const uint8_t *data, size_t len)
{
    struct log *log = user_data;
    CHECK(log->in_body);
    CHECK(len > 0);
    log_bytes(log, data, len);
}

static void on_end(void *user_data, char flag)
{
    struct log *log = user_data;
    char text[16];
    CHECK(log->in_body);
    log->in_body = false;
    log->ends++;
    snprintf(text, sizeof text, "\nend %c\n", flag);
    log_text(log, text);
}

static const msgwire_msrp_callbacks CALLBACKS = {on_start, on_data, on_end};

/* An on_end that only counts, for a callbacks struct without on_start. */
static void count_end(void *user_data, char flag)
{
    int *ends = user_data;
    CHECK(flag == '$' || flag == '+');
    (*ends)++;
}

/* Feeds `data` in slices of `step` bytes (0: all at once) into a new
 * parser, then finishes it. */
static void run(const char *data, size_t len, size_t step, struct log *log)
{
    msgwire_msrp_parser *parser = NULL;
    memset(log, 0, sizeof *log);
    log->check_first_head = data == STREAM;
    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    if (step == 0) {
        step = len;
    }
    for (size_t at = 0; at < len; at += step) {
        size_t n = len - at < step ? len - at : step;
        size_t consumed = 0;
        CHECK_OK(msgwire_msrp_parser_feed(parser, &CALLBACKS, log, (const uint8_t *)data + at, n,
                                          &consumed));
        CHECK(consumed == n);
    }
    CHECK_OK(msgwire_msrp_parser_finish(parser));
    msgwire_msrp_parser_free(parser);
}

static void test_events_whatever_the_slicing(void)
{
    static struct log whole, one, seven;
    size_t len = strlen(STREAM);

    run(STREAM, len, 0, &whole);
    CHECK(whole.starts == 3 && whole.ends == 3);
    CHECK(strstr(whole.text, "start a786hjs2 SEND\nTo-Path: msrp://biloxi") != NULL);
    CHECK(strstr(whole.text, "body Hey Bob, are you there?\nend $\n") != NULL);
    CHECK(strstr(whole.text, "start a786hjs2 200 OK\n") != NULL);
    CHECK(strstr(whole.text, "body ab\r\n-------dkei38sX\r\ncd\nend +\n") != NULL);

    run(STREAM, len, 1, &one);
    run(STREAM, len, 7, &seven);
    CHECK(one.len == whole.len && strcmp(one.text, whole.text) == 0);
    CHECK(seven.len == whole.len && strcmp(seven.text, whole.text) == 0);
    if (strcmp(one.text, whole.text) != 0) {
        fprintf(stderr, "one byte at a time:\n%s\nall at once:\n%s\n", one.text, whole.text);
    }

    /* The chunk taken from the head lives on after the run. */
    msgwire_str s;
    CHECK(whole.first_head != NULL);
    CHECK_OK(msgwire_msrp_chunk_transaction_id(whole.first_head, &s));
    CHECK(s.len == 8 && memcmp(s.ptr, "a786hjs2", 8) == 0);
    CHECK_OK(msgwire_msrp_chunk_verify_headers(whole.first_head));
    msgwire_msrp_chunk_free(whole.first_head);
    msgwire_msrp_chunk_free(one.first_head);
    msgwire_msrp_chunk_free(seven.first_head);
}

static void test_no_callbacks(void)
{
    msgwire_msrp_parser *parser = NULL;
    size_t consumed = 0;
    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    CHECK_OK(msgwire_msrp_parser_feed(parser, NULL, NULL, (const uint8_t *)STREAM,
                                      strlen(STREAM), &consumed));
    CHECK(consumed == strlen(STREAM));
    /* Only some callbacks. */
    static const msgwire_msrp_callbacks only_end = {NULL, NULL, count_end};
    int ends = 0;
    CHECK_OK(msgwire_msrp_parser_feed(parser, &only_end, &ends, (const uint8_t *)STREAM,
                                      strlen(STREAM), &consumed));
    CHECK(ends == 3);
    static struct log log;
    /* Empty input, also as NULL. */
    CHECK_OK(msgwire_msrp_parser_feed(parser, &CALLBACKS, &log, NULL, 0, &consumed));
    CHECK(consumed == 0);
    CHECK_OK(msgwire_msrp_parser_finish(parser));
    msgwire_msrp_parser_free(parser);
}

static const char GOOD[] = "MSRP good1234 SEND\r\n"
                           "To-Path: msrp://b:1/s;tcp\r\n"
                           "From-Path: msrp://a:1/t;tcp\r\n"
                           "Content-Type: text/plain\r\n"
                           "\r\n"
                           "fine\r\n"
                           "-------good1234$\r\n";

/* Feeds `bad` followed by GOOD: the first feed stops with `want` inside
 * `bad`, and the parser's error tid is `want_tid` (NULL: none known).
 * Feeding the rest then recovers and yields GOOD. */
static void check_error_and_recovery(const char *bad, msgwire_status want,
                                     const char *want_tid)
{
    static char input[1024];
    static struct log log;
    msgwire_msrp_parser *parser = NULL;
    size_t consumed = 12345, len;
    char tid[64];
    size_t tid_len = 0;

    snprintf(input, sizeof input, "%s%s", bad, GOOD);
    len = strlen(input);
    memset(&log, 0, sizeof log);
    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    CHECK_STATUS(msgwire_msrp_parser_feed(parser, &CALLBACKS, &log, (const uint8_t *)input, len,
                                          &consumed),
                 want);
    CHECK(consumed > 0 && consumed <= strlen(bad));
    CHECK(log.ends == 0);
    if (want_tid == NULL) {
        CHECK_STATUS(msgwire_msrp_parser_error_tid(parser, tid, sizeof tid, &tid_len),
                     MSGWIRE_NOT_FOUND);
    } else {
        CHECK_OK(msgwire_msrp_parser_error_tid(parser, tid, sizeof tid, &tid_len));
        CHECK(strcmp(tid, want_tid) == 0 && tid_len == strlen(want_tid));
        /* A successful call leaves the feed's message in place. */
        CHECK(strstr(msgwire_last_error(), want_tid) != NULL);
    }

    /* Go on with the rest: the parser has resynchronised. */
    size_t at = consumed;
    int rounds = 0;
    while (at < len && rounds++ < 10) {
        msgwire_status st = msgwire_msrp_parser_feed(
            parser, &CALLBACKS, &log, (const uint8_t *)input + at, len - at, &consumed);
        at += consumed;
        if (st == MSGWIRE_OK) {
            break;
        }
    }
    CHECK(at == len);
    CHECK(log.ends == 1 && strstr(log.text, "start good1234 SEND") != NULL);
    CHECK_OK(msgwire_msrp_parser_finish(parser));
    msgwire_msrp_parser_free(parser);
}

static void test_errors(void)
{
    /* Bad transaction id: no tid to report. */
    check_error_and_recovery("MSRP ab SEND\r\n", MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID, NULL);
    /* A header line without a colon: the tid is known. */
    check_error_and_recovery("MSRP abcd SEND\r\n"
                             "To-Path msrp://b:1/s;tcp\r\n"
                             "-------abcd$\r\n",
                             MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE, "abcd");
    check_error_and_recovery("HTTP/1.1 200 OK\r\n", MSGWIRE_MSRP_PARSE_BAD_START_LINE, NULL);
    check_error_and_recovery("MSRP abcd send\r\n-------abcd$\r\n",
                             MSGWIRE_MSRP_PARSE_BAD_METHOD, "abcd");
    check_error_and_recovery("MSRP abcd 20 OK\r\n-------abcd$\r\n",
                             MSGWIRE_MSRP_PARSE_BAD_STATUS_CODE, "abcd");
    check_error_and_recovery("MSRP abcd SEND\r\nByte-Range: 0-1/1\r\n-------abcd$\r\n",
                             MSGWIRE_MSRP_PARSE_BAD_BYTE_RANGE, "abcd");
    check_error_and_recovery("MSRP abcd SEND\r\nTo-Path: msrp://b:1/s;tcp\r\n-------wxyz$\r\n",
                             MSGWIRE_MSRP_PARSE_BAD_END_LINE, "abcd");

    /* The message of the first example names the problem. */
    msgwire_msrp_parser *parser = NULL;
    size_t consumed = 0;
    const char *bad = "MSRP ab SEND\r\n";
    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    CHECK_STATUS(msgwire_msrp_parser_feed(parser, NULL, NULL, (const uint8_t *)bad, strlen(bad),
                                          &consumed),
                 MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID);
    CHECK(consumed == strlen(bad));
    CHECK(strstr(msgwire_last_error(), "transaction id") != NULL);
    msgwire_msrp_parser_free(parser);
}

static void test_finish_mid_chunk(void)
{
    msgwire_msrp_parser *parser = NULL;
    size_t consumed = 0, tid_len = 0;
    char tid[64];
    const char *half = "MSRP abcd1234 SEND\r\nTo-Path: msrp://b:1/s;tcp\r\n";

    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    /* No error yet. */
    CHECK_STATUS(msgwire_msrp_parser_error_tid(parser, tid, sizeof tid, &tid_len),
                 MSGWIRE_NOT_FOUND);
    static struct log log;
    memset(&log, 0, sizeof log);
    CHECK_OK(msgwire_msrp_parser_finish(parser)); /* idle: fine */
    CHECK_OK(msgwire_msrp_parser_feed(parser, &CALLBACKS, &log, (const uint8_t *)half,
                                      strlen(half), &consumed));
    CHECK(log.starts == 0);
    CHECK_STATUS(msgwire_msrp_parser_finish(parser), MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF);
    CHECK(strstr(msgwire_last_error(), "abcd1234") != NULL);
    CHECK_OK(msgwire_msrp_parser_error_tid(parser, tid, sizeof tid, &tid_len));
    CHECK(strcmp(tid, "abcd1234") == 0 && tid_len == 8);

    /* Buffer too small for the tid: the length is reported, nothing copied. */
    char small[8];
    memset(small, 'x', sizeof small);
    tid_len = 0;
    CHECK_STATUS(msgwire_msrp_parser_error_tid(parser, small, sizeof small, &tid_len),
                 MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(tid_len == 8 && small[0] == 'x');

    /* The parser was reset and parses a new stream. */
    memset(&log, 0, sizeof log);
    CHECK_OK(msgwire_msrp_parser_feed(parser, &CALLBACKS, &log, (const uint8_t *)GOOD,
                                      strlen(GOOD), &consumed));
    CHECK(log.ends == 1);
    CHECK_OK(msgwire_msrp_parser_finish(parser));
    msgwire_msrp_parser_free(parser);
}

static void test_config(void)
{
    msgwire_msrp_parser_config cfg;
    msgwire_msrp_parser *parser = NULL;
    size_t consumed = 0;

    CHECK_OK(msgwire_msrp_parser_config_default(&cfg));
    CHECK(cfg.max_line_len == 16384);
    CHECK(cfg.max_headers == 64);
    CHECK(cfg.max_body_len == 64u * 1024u * 1024u);
    CHECK(!cfg.strict_byte_range);

    /* Too many headers. */
    cfg.max_headers = 2;
    CHECK_OK(msgwire_msrp_parser_new(&cfg, &parser));
    CHECK_STATUS(msgwire_msrp_parser_feed(parser, NULL, NULL, (const uint8_t *)GOOD, strlen(GOOD),
                                          &consumed),
                 MSGWIRE_MSRP_PARSE_TOO_MANY_HEADERS);
    msgwire_msrp_parser_free(parser);

    /* Body too large. */
    CHECK_OK(msgwire_msrp_parser_config_default(&cfg));
    cfg.max_body_len = 3;
    CHECK_OK(msgwire_msrp_parser_new(&cfg, &parser));
    static struct log log;
    memset(&log, 0, sizeof log);
    CHECK_STATUS(msgwire_msrp_parser_feed(parser, &CALLBACKS, &log, (const uint8_t *)GOOD,
                                          strlen(GOOD), &consumed),
                 MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE);
    /* The interrupted chunk was started but gets no on_end. */
    CHECK(log.starts == 1 && log.ends == 0);
    /* Its rest is skipped up to its end-line. */
    CHECK_OK(msgwire_msrp_parser_feed(parser, &CALLBACKS, &log, (const uint8_t *)GOOD + consumed,
                                      strlen(GOOD) - consumed, &consumed));
    CHECK(log.starts == 1 && log.ends == 0);
    CHECK_OK(msgwire_msrp_parser_finish(parser));
    msgwire_msrp_parser_free(parser);

    /* Line too long. */
    CHECK_OK(msgwire_msrp_parser_config_default(&cfg));
    cfg.max_line_len = 10;
    CHECK_OK(msgwire_msrp_parser_new(&cfg, &parser));
    CHECK_STATUS(msgwire_msrp_parser_feed(parser, NULL, NULL, (const uint8_t *)GOOD, strlen(GOOD),
                                          &consumed),
                 MSGWIRE_MSRP_PARSE_LINE_TOO_LONG);
    msgwire_msrp_parser_free(parser);

    /* Strict Byte-Range: a body longer than announced is an error. */
    const char *longer = "MSRP abcd SEND\r\n"
                         "Byte-Range: 1-2/2\r\n"
                         "Content-Type: text/plain\r\n"
                         "\r\n"
                         "hello\r\n"
                         "-------abcd$\r\n";
    CHECK_OK(msgwire_msrp_parser_config_default(&cfg));
    cfg.strict_byte_range = true;
    CHECK_OK(msgwire_msrp_parser_new(&cfg, &parser));
    CHECK_STATUS(msgwire_msrp_parser_feed(parser, NULL, NULL, (const uint8_t *)longer,
                                          strlen(longer), &consumed),
                 MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE);
    msgwire_msrp_parser_free(parser);
    /* The default tolerates it. */
    CHECK_OK(msgwire_msrp_parser_new(NULL, &parser));
    CHECK_OK(msgwire_msrp_parser_feed(parser, NULL, NULL, (const uint8_t *)longer, strlen(longer),
                                      &consumed));
    msgwire_msrp_parser_free(parser);
}

int main(void)
{
    test_events_whatever_the_slicing();
    test_no_callbacks();
    test_errors();
    test_finish_mid_chunk();
    test_config();
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
