/* Fetches serverResponse URLs and prints each reply as a table.
 *
 *     sr_get URL [URL...]
 *
 * For each URL: a heading with the service and server, then
 *   - results as "id: value" lines, and each <lists> table with a header
 *     line of its item ids and one tab-separated line per row;
 *   - faults as "fault id: value" lines.
 * Exits 0 when every URL gave a serverResponse document (faults
 * included), 1 otherwise (the error is printed on stderr). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "msgwire.h"

static void print_table(const msgwire_sr_response *r, size_t entry)
{
    msgwire_str id, item_id, value;
    size_t rows = 0, items = 0;
    msgwire_sr_response_lists(r, entry, &id, &rows);
    printf("table %s (%zu rows)\n", id.ptr, rows);
    for (size_t row = 0; row < rows; row++) {
        msgwire_sr_response_row(r, entry, row, &id, &items);
        if (row == 0) {
            /* The header: the item ids of the first row. */
            for (size_t i = 0; i < items; i++) {
                msgwire_sr_response_item(r, entry, row, i, &item_id, &value);
                printf("%s%s", i ? "\t" : "  ", item_id.ptr);
            }
            printf("\n");
        }
        for (size_t i = 0; i < items; i++) {
            msgwire_sr_response_item(r, entry, row, i, &item_id, &value);
            printf("%s%s", i ? "\t" : "  ", value.ptr);
        }
        printf("\n");
    }
}

static void print_response(const msgwire_sr_response *r)
{
    msgwire_str server, service, id, value;
    bool fault = false;
    size_t n = 0;
    msgwire_sr_response_server(r, &server);
    msgwire_sr_response_service(r, &service);
    msgwire_sr_response_is_fault(r, &fault);
    printf("%s from %s%s\n", service.ptr, server.ptr, fault ? " (fault)" : "");
    if (fault) {
        msgwire_sr_response_fault_count(r, &n);
        for (size_t i = 0; i < n; i++) {
            msgwire_sr_response_fault(r, i, &id, &value);
            printf("fault %s: %s\n", id.ptr, value.ptr);
        }
        return;
    }
    msgwire_sr_response_entry_count(r, &n);
    if (n == 0) {
        printf("done (empty results)\n");
    }
    for (size_t i = 0; i < n; i++) {
        msgwire_sr_entry_kind kind;
        msgwire_sr_response_entry_kind(r, i, &kind);
        if (kind == MSGWIRE_SR_ENTRY_KIND_RESULT) {
            msgwire_sr_response_result(r, i, &id, &value);
            printf("%s: %s\n", id.ptr, value.ptr);
        } else {
            print_table(r, i);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s URL [URL...]\n", argv[0]);
        return 2;
    }
    int failures = 0;
    for (int i = 1; i < argc; i++) {
        msgwire_sr_response *r = NULL;
        msgwire_status status = msgwire_sr_get(argv[i], 10000, &r);
        if (status != MSGWIRE_OK) {
            fprintf(stderr, "error: %s: %s (%s)\n", argv[i], msgwire_status_text(status),
                    msgwire_last_error());
            failures++;
            continue;
        }
        print_response(r);
        msgwire_sr_response_free(r);
    }
    return failures ? 1 : 0;
}
