/*
 * parse_chunk - print the MSRP chunks found on standard input.
 *
 *     parse_chunk < capture.msrp
 *
 * Reads standard input in 4096-byte slices and feeds each slice to
 * msgwire's streaming parser, as a program reading a TCP connection would.
 * For every chunk it prints the start line, each header as "name: value",
 * the body length and the continuation flag. The body itself is never
 * buffered: the parser hands it over in slices and this program only
 * counts them.
 *
 * Exit status: 0 when the input ends cleanly between chunks; 1 on the first
 * parse error, which is printed to standard error as "error: <message>"
 * (plus the transaction id when the start line had been read).
 *
 * Build, from a checkout after `make build` (which writes msgwire.pc):
 *     PKG_CONFIG_PATH=target/release \
 *     cc -std=c11 parse_chunk.c $(pkg-config --cflags --libs msgwire)
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "msgwire.h"

/* What the callbacks share, passed to them as user_data. */
struct printer {
    unsigned long long body_len; /* bytes of the current chunk's body */
    unsigned long chunks;        /* chunks printed so far */
};

/* Writes a borrowed msgwire string; its length counts, not a NUL. */
static void print_str(msgwire_str s)
{
    fwrite(s.ptr, 1, s.len, stdout);
}

/* Called once per chunk, when its start line and headers are complete.
 * The head and its strings are only valid until this function returns. */
static void on_start(void *user_data, const msgwire_msrp_head *head)
{
    struct printer *p = user_data;
    msgwire_str tid, text, name, value;
    bool is_request = false;
    uint16_t code = 0;
    size_t count = 0;

    p->body_len = 0;
    if (msgwire_msrp_head_transaction_id(head, &tid) != MSGWIRE_OK ||
        msgwire_msrp_head_is_request(head, &is_request) != MSGWIRE_OK) {
        return; /* cannot happen for a head lent by the parser */
    }

    fputs("MSRP ", stdout);
    print_str(tid);
    if (is_request) {
        if (msgwire_msrp_head_method(head, &text) == MSGWIRE_OK) {
            putchar(' ');
            print_str(text);
        }
    } else {
        if (msgwire_msrp_head_code(head, &code) == MSGWIRE_OK) {
            printf(" %03u", (unsigned)code);
        }
        /* A response comment is optional: MSGWIRE_NOT_FOUND means none. */
        if (msgwire_msrp_head_comment(head, &text) == MSGWIRE_OK) {
            putchar(' ');
            print_str(text);
        }
    }
    putchar('\n');

    if (msgwire_msrp_head_header_count(head, &count) != MSGWIRE_OK) {
        count = 0;
    }
    for (size_t i = 0; i < count; i++) {
        if (msgwire_msrp_head_header_at(head, i, &name, &value) == MSGWIRE_OK) {
            print_str(name);
            fputs(": ", stdout);
            print_str(value);
            putchar('\n');
        }
    }
}

/* Called with each slice of the body; the slice is only lent for the call. */
static void on_data(void *user_data, const uint8_t *data, size_t len)
{
    struct printer *p = user_data;
    (void)data;
    p->body_len += len;
}

/* Called when the chunk's end-line has been read. */
static void on_end(void *user_data, char flag)
{
    struct printer *p = user_data;
    printf("body: %llu bytes\nflag: %c\n\n", p->body_len, flag);
    p->chunks++;
}

/* Prints the parser's last error to stderr. */
static void report_error(const msgwire_msrp_parser *parser)
{
    char tid[64];
    size_t tid_len = 0;

    fflush(stdout);
    /* Print the message first: the next msgwire call may replace it. */
    fprintf(stderr, "error: %s\n", msgwire_last_error());
    if (msgwire_msrp_parser_error_tid(parser, tid, sizeof tid, &tid_len) == MSGWIRE_OK) {
        fprintf(stderr, "error: in transaction %s\n", tid);
    }
}

int main(void)
{
    static uint8_t buf[4096];
    struct printer printer = {0, 0};
    const msgwire_msrp_callbacks callbacks = {on_start, on_data, on_end};
    msgwire_msrp_parser *parser = NULL;
    int exit_code = 0;
    size_t n;

    if (msgwire_msrp_parser_new(NULL, &parser) != MSGWIRE_OK) {
        fprintf(stderr, "error: %s\n", msgwire_last_error());
        return 1;
    }

    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
        size_t consumed = 0;
        /* One call parses the whole slice, calling back for every event.
         * On a protocol error it stops; a server would answer the
         * transaction with 400 and feed buf + consumed again (the parser
         * resynchronises by itself). This tool just reports and stops. */
        if (msgwire_msrp_parser_feed(parser, &callbacks, &printer, buf, n, &consumed) !=
            MSGWIRE_OK) {
            report_error(parser);
            exit_code = 1;
            goto done;
        }
    }
    if (ferror(stdin)) {
        perror("error: reading standard input");
        exit_code = 1;
        goto done;
    }
    /* End of input: fails if a chunk was left incomplete. */
    if (msgwire_msrp_parser_finish(parser) != MSGWIRE_OK) {
        report_error(parser);
        exit_code = 1;
        goto done;
    }
    printf("%lu chunk%s\n", printer.chunks, printer.chunks == 1 ? "" : "s");

done:
    msgwire_msrp_parser_free(parser);
    return exit_code;
}
