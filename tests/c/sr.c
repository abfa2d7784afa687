/* Tests of the serverResponse C API: documents built and written byte for
 * byte as the spec's samples, parsed back through the accessors, parse
 * errors with their status and byte position, the streaming writer over
 * a callback (a long table, a failing callback, calls out of order), and
 * a server with C handlers fetched by the client over 127.0.0.1 (results,
 * a filtered table, handler faults, the 404, the built-in status), the
 * reply's write deadline (a client that never reads a 100,000-row table
 * frees its worker), a shutdown that returns while a handler is stuck,
 * plus NULL arguments and _free(NULL). Run under valgrind by
 * tests/c/run.sh. */
#define _POSIX_C_SOURCE 200809L

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "msgwire.h"

#include "check.h"
#include "tls_data.h"

static const char STATUS_XML[] = "<?xml version=\"1.0\"?>\n"
                                 "<serverResponse>\n"
                                 " <results server=\"bayonne\" service=\"status\">\n"
                                 "  <result id=\"status\" value=\"-- \"/>\n"
                                 " </results>\n"
                                 "</serverResponse>\n";

static const char UNKNOWN_XML[] = "<?xml version=\"1.0\"?>\n"
                                  "<serverResponse>\n"
                                  " <faults server=\"bayonne\" service=\"http\">\n"
                                  "  <fault id=\"code\" value=\"404\"/>\n"
                                  "  <fault id=\"text\" value=\"Not Found\"/>\n"
                                  " </faults>\n"
                                  "</serverResponse>\n";

static const char REGISTRATIONS_XML[] = "<?xml version=\"1.0\"?>\n"
                                        "<serverResponse>\n"
                                        " <results server=\"bayonne\" service=\"registrations\">\n"
                                        "  <lists id=\"registrations\">\n"
                                        "   <list id=\"registration\">\n"
                                        "    <item id=\"driver\" value=\"sip\"/>\n"
                                        "    <item id=\"server\" value=\"192.168.1.95\"/>\n"
                                        "    <item id=\"userid\" value=\"291\"/>\n"
                                        "    <item id=\"access\" value=\"friend\"/>\n"
                                        "    <item id=\"status\" value=\"active\"/>\n"
                                        "   </list>\n"
                                        "  </lists>\n"
                                        " </results>\n"
                                        "</serverResponse>\n";

/* Whether the written form of `r` is exactly `want`. */
static bool writes_as(const msgwire_sr_response *r, const char *want)
{
    size_t len = 0;
    if (msgwire_sr_response_write(r, NULL, 0, &len) != MSGWIRE_BUFFER_TOO_SMALL ||
        len != strlen(want)) {
        fprintf(stderr, "written size %zu, want %zu\n", len, strlen(want));
        return false;
    }
    char *buf = malloc(len);
    bool ok = buf != NULL && msgwire_sr_response_write(r, (uint8_t *)buf, len, &len) == MSGWIRE_OK &&
              memcmp(buf, want, len) == 0;
    if (!ok && buf != NULL) {
        fprintf(stderr, "written as %.*s\n", (int)len, buf);
    }
    free(buf);
    return ok;
}

static void test_build_and_write(void)
{
    msgwire_sr_response *r = NULL;
    CHECK_OK(msgwire_sr_response_new_results("bayonne", "status", &r));
    CHECK_OK(msgwire_sr_response_add_result(r, "status", "-- "));
    CHECK(writes_as(r, STATUS_XML));
    CHECK_STATUS(msgwire_sr_response_add_fault(r, "code", "1"), MSGWIRE_SR_WRITE_ORDER);
    msgwire_sr_response_free(r);

    r = NULL;
    CHECK_OK(msgwire_sr_response_new_faults("bayonne", "http", &r));
    CHECK_OK(msgwire_sr_response_add_fault(r, "code", "404"));
    CHECK_OK(msgwire_sr_response_add_fault(r, "text", "Not Found"));
    CHECK(writes_as(r, UNKNOWN_XML));
    CHECK_STATUS(msgwire_sr_response_add_result(r, "a", "b"), MSGWIRE_SR_WRITE_ORDER);
    msgwire_sr_response_free(r);

    r = NULL;
    CHECK_OK(msgwire_sr_response_new_results("bayonne", "registrations", &r));
    CHECK_STATUS(msgwire_sr_response_add_row(r, "registration"), MSGWIRE_SR_WRITE_ORDER);
    CHECK_OK(msgwire_sr_response_add_lists(r, "registrations"));
    CHECK_STATUS(msgwire_sr_response_add_item(r, "driver", "sip"), MSGWIRE_SR_WRITE_ORDER);
    CHECK_OK(msgwire_sr_response_add_row(r, "registration"));
    CHECK_OK(msgwire_sr_response_add_item(r, "driver", "sip"));
    CHECK_OK(msgwire_sr_response_add_item(r, "server", "192.168.1.95"));
    CHECK_OK(msgwire_sr_response_add_item(r, "userid", "291"));
    CHECK_OK(msgwire_sr_response_add_item(r, "access", "friend"));
    CHECK_OK(msgwire_sr_response_add_item(r, "status", "active"));
    CHECK(writes_as(r, REGISTRATIONS_XML));
    /* Too small a buffer: nothing written, the needed length given. */
    uint8_t small[8];
    size_t len = 0;
    CHECK_STATUS(msgwire_sr_response_write(r, small, sizeof small, &len), MSGWIRE_BUFFER_TOO_SMALL);
    CHECK(len == strlen(REGISTRATIONS_XML));
    msgwire_sr_response_free(r);

    /* Escaping. */
    r = NULL;
    CHECK_OK(msgwire_sr_response_new_results("s", "t", &r));
    CHECK_OK(msgwire_sr_response_add_result(r, "x", "a&b<c>\"d'\n"));
    CHECK(writes_as(r, "<?xml version=\"1.0\"?>\n<serverResponse>\n"
                       " <results server=\"s\" service=\"t\">\n"
                       "  <result id=\"x\" value=\"a&amp;b&lt;c&gt;&quot;d&apos;&#10;\"/>\n"
                       " </results>\n</serverResponse>\n"));
    msgwire_sr_response_free(r);
}

static void test_parse_and_read(void)
{
    msgwire_sr_response *r = NULL;
    CHECK_OK(msgwire_sr_parse((const uint8_t *)REGISTRATIONS_XML, strlen(REGISTRATIONS_XML), &r,
                              NULL));
    msgwire_str s, id, value;
    bool fault = true;
    size_t n = 0, rows = 0, items = 0;
    msgwire_sr_entry_kind kind;
    CHECK_OK(msgwire_sr_response_server(r, &s));
    CHECK(str_is(s, "bayonne"));
    CHECK_OK(msgwire_sr_response_service(r, &s));
    CHECK(str_is(s, "registrations"));
    CHECK_OK(msgwire_sr_response_is_fault(r, &fault));
    CHECK(!fault);
    CHECK_OK(msgwire_sr_response_entry_count(r, &n));
    CHECK(n == 1);
    CHECK_OK(msgwire_sr_response_entry_kind(r, 0, &kind));
    CHECK(kind == MSGWIRE_SR_ENTRY_KIND_LISTS);
    CHECK_STATUS(msgwire_sr_response_result(r, 0, &id, &value), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_sr_response_lists(r, 0, &id, &rows));
    CHECK(str_is(id, "registrations") && rows == 1);
    CHECK_OK(msgwire_sr_response_row(r, 0, 0, &id, &items));
    CHECK(str_is(id, "registration") && items == 5);
    CHECK_OK(msgwire_sr_response_item(r, 0, 0, 2, &id, &value));
    CHECK(str_is(id, "userid") && str_is(value, "291"));
    CHECK_STATUS(msgwire_sr_response_item(r, 0, 0, 5, &id, &value), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sr_response_row(r, 0, 1, &id, &items), MSGWIRE_INVALID_ARGUMENT);
    CHECK_STATUS(msgwire_sr_response_entry_kind(r, 1, &kind), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_sr_response_fault_count(r, &n));
    CHECK(n == 0);
    /* Modified after parsing: the accessors see the change. */
    CHECK_OK(msgwire_sr_response_add_result(r, "count", "1"));
    CHECK_OK(msgwire_sr_response_find(r, "count", &value));
    CHECK(str_is(value, "1"));
    CHECK_STATUS(msgwire_sr_response_find(r, "nothing", &value), MSGWIRE_NOT_FOUND);
    msgwire_sr_response_free(r);

    r = NULL;
    CHECK_OK(msgwire_sr_parse((const uint8_t *)UNKNOWN_XML, strlen(UNKNOWN_XML), &r, NULL));
    CHECK_OK(msgwire_sr_response_is_fault(r, &fault));
    CHECK(fault);
    CHECK_OK(msgwire_sr_response_fault_count(r, &n));
    CHECK(n == 2);
    CHECK_OK(msgwire_sr_response_fault(r, 1, &id, &value));
    CHECK(str_is(id, "text") && str_is(value, "Not Found"));
    CHECK_OK(msgwire_sr_response_find(r, "code", &value));
    CHECK(str_is(value, "404"));
    msgwire_sr_response_free(r);

    /* Unknown elements are skipped and counted; `remote` is just an id. */
    static const char quirky[] =
        "<serverResponse><results server='b' service='registrations' x='1'>"
        "<lists id='registrations'><list id='registration'>"
        "<item id='remote' value='10.0.0.1'/><extra/></list></lists>"
        "</results></serverResponse>";
    r = NULL;
    CHECK_OK(msgwire_sr_parse((const uint8_t *)quirky, strlen(quirky), &r, NULL));
    CHECK_OK(msgwire_sr_response_ignored_count(r, &n));
    CHECK(n == 2);
    CHECK_OK(msgwire_sr_response_item(r, 0, 0, 0, &id, &value));
    CHECK(str_is(id, "remote") && str_is(value, "10.0.0.1"));
    msgwire_sr_response_free(r);
}

static void test_parse_errors(void)
{
    struct {
        const char *xml;
        msgwire_status want;
    } cases[] = {
        {"", MSGWIRE_SR_PARSE_EMPTY},
        {"<html/>", MSGWIRE_SR_PARSE_NOT_SERVER_RESPONSE},
        {"<serverResponse></serverResponse>", MSGWIRE_SR_PARSE_STRUCTURE},
        {"<serverResponse><results><result value='1'/></results></serverResponse>",
         MSGWIRE_SR_PARSE_MISSING_ID},
        {"<serverResponse><results><result id=\"a\" value=\"1/></results></serverResponse>",
         MSGWIRE_SR_PARSE_XML},
        {"<serverResponse><results></faults></serverResponse>", MSGWIRE_SR_PARSE_XML},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgwire_sr_response *r = (msgwire_sr_response *)0x1;
        CHECK_STATUS(msgwire_sr_parse((const uint8_t *)cases[i].xml, strlen(cases[i].xml), &r, NULL),
                     cases[i].want);
        CHECK(r == (msgwire_sr_response *)0x1); /* untouched on failure */
    }
    /* The byte position of a missing id. */
    static const char no_id[] = "<serverResponse>\n <results>\n  <result value='1'/>";
    msgwire_sr_response *r = NULL;
    uint64_t pos = 0;
    CHECK_STATUS(msgwire_sr_parse((const uint8_t *)no_id, strlen(no_id), &r, &pos),
                 MSGWIRE_SR_PARSE_MISSING_ID);
    CHECK(pos == 30);
    CHECK(strstr(msgwire_last_error(), "at byte 30") != NULL);
    CHECK(msgwire_sr_parse((const uint8_t *)"\xff", 1, &r, &pos) != MSGWIRE_OK);
}

struct sink {
    size_t bytes;
    size_t calls;
    size_t fail_after; /* fail the call after this many bytes (0: never) */
};

static int32_t count_bytes(void *user_data, const uint8_t *data, size_t len)
{
    struct sink *s = user_data;
    (void)data;
    if (s->fail_after != 0 && s->bytes >= s->fail_after) {
        return -1;
    }
    s->bytes += len;
    s->calls++;
    return 0;
}

struct buffer {
    char data[4096];
    size_t len;
};

static int32_t append(void *user_data, const uint8_t *data, size_t len)
{
    struct buffer *b = user_data;
    if (b->len + len > sizeof b->data) {
        return 1;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

static void test_streaming_writer(void)
{
    /* The registrations sample, streamed. */
    struct buffer buf = {.len = 0};
    msgwire_sr_writer *w = NULL;
    CHECK_OK(msgwire_sr_writer_new("bayonne", "registrations", append, &buf, &w));
    CHECK_STATUS(msgwire_sr_writer_item(w, "a", "b"), MSGWIRE_SR_WRITE_ORDER);
    CHECK_OK(msgwire_sr_writer_begin_lists(w, "registrations"));
    CHECK_OK(msgwire_sr_writer_begin_row(w, "registration"));
    CHECK_OK(msgwire_sr_writer_item(w, "driver", "sip"));
    CHECK_OK(msgwire_sr_writer_item(w, "server", "192.168.1.95"));
    CHECK_OK(msgwire_sr_writer_item(w, "userid", "291"));
    CHECK_OK(msgwire_sr_writer_item(w, "access", "friend"));
    CHECK_OK(msgwire_sr_writer_item(w, "status", "active"));
    CHECK_OK(msgwire_sr_writer_end_row(w));
    CHECK_OK(msgwire_sr_writer_end_lists(w));
    CHECK_STATUS(msgwire_sr_writer_fault(w, "code", "1"), MSGWIRE_SR_WRITE_ORDER);
    CHECK_STATUS(msgwire_sr_writer_fail(w, 600, "x"), MSGWIRE_INVALID_ARGUMENT);
    CHECK_OK(msgwire_sr_writer_finish(w));
    CHECK(buf.len == strlen(REGISTRATIONS_XML) && memcmp(buf.data, REGISTRATIONS_XML, buf.len) == 0);
    CHECK_STATUS(msgwire_sr_writer_result(w, "late", "1"), MSGWIRE_SR_WRITE_ORDER);
    msgwire_sr_writer_free(w);

    /* 100,000 rows: each goes out as it is written. */
    struct sink s = {0};
    w = NULL;
    CHECK_OK(msgwire_sr_writer_new("s", "big", count_bytes, &s, &w));
    CHECK_OK(msgwire_sr_writer_begin_lists(w, "rows"));
    bool all_ok = true;
    char value[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(value, sizeof value, "%d", i);
        all_ok &= msgwire_sr_writer_begin_row(w, "row") == MSGWIRE_OK;
        all_ok &= msgwire_sr_writer_item(w, "n", value) == MSGWIRE_OK;
    }
    CHECK(all_ok);
    CHECK_OK(msgwire_sr_writer_finish(w));
    CHECK(s.calls > 200000);
    CHECK(s.bytes > 100000u * 40u);
    msgwire_sr_writer_free(w);

    /* A callback that stops. */
    struct sink failing = {.fail_after = 100};
    w = NULL;
    CHECK_OK(msgwire_sr_writer_new("s", "t", count_bytes, &failing, &w));
    msgwire_status st = MSGWIRE_OK;
    for (int i = 0; i < 100 && st == MSGWIRE_OK; i++) {
        st = msgwire_sr_writer_result(w, "k", "v");
    }
    CHECK(st == MSGWIRE_SR_WRITE);
    msgwire_sr_writer_free(w);

    /* A whole response through a callback. */
    msgwire_sr_response *r = NULL;
    CHECK_OK(msgwire_sr_parse((const uint8_t *)STATUS_XML, strlen(STATUS_XML), &r, NULL));
    buf.len = 0;
    CHECK_OK(msgwire_sr_response_write_to(r, append, &buf));
    CHECK(buf.len == strlen(STATUS_XML) && memcmp(buf.data, STATUS_XML, buf.len) == 0);
    msgwire_sr_response_free(r);
}

/* What msgwire_sr_parse_events reported, as one line of text. */
struct events_seen {
    char text[2048];
    int rows, stop_after, calls;
};

static bool on_event(void *user_data, msgwire_sr_event_kind kind, msgwire_str id,
                     msgwire_str value)
{
    struct events_seen *seen = user_data;
    size_t used = strlen(seen->text);
    /* The strings are NUL-terminated where their length says. */
    if (id.ptr[id.len] != '\0' || value.ptr[value.len] != '\0') {
        return false;
    }
    snprintf(seen->text + used, sizeof seen->text - used, "%d:%s=%s;", (int)kind, id.ptr, value.ptr);
    if (kind == MSGWIRE_SR_EVENT_KIND_END_ROW) {
        seen->rows++;
    }
    seen->calls++;
    return seen->stop_after == 0 || seen->calls < seen->stop_after;
}

static void test_parse_events(void)
{
    struct events_seen seen = {0};
    CHECK_OK(msgwire_sr_parse_events((const uint8_t *)REGISTRATIONS_XML, strlen(REGISTRATIONS_XML),
                                     on_event, &seen, NULL));
    CHECK(strcmp(seen.text, "0:bayonne=registrations;3:registrations=;4:registration=;"
                            "5:driver=sip;5:server=192.168.1.95;5:userid=291;5:access=friend;"
                            "5:status=active;6:=;7:=;10:=;") == 0);
    CHECK(seen.rows == 1);

    /* Decoded values, faults, and what was skipped. */
    static const char xml[] = "<serverResponse><faults server='b' service='s' extra='1'>"
                              "<fault id='text' value='a &amp; b'/><odd/></faults></serverResponse>";
    memset(&seen, 0, sizeof seen);
    CHECK_OK(msgwire_sr_parse_events((const uint8_t *)xml, strlen(xml), on_event, &seen, NULL));
    CHECK(strcmp(seen.text, "9:extra=;1:b=s;8:text=a & b;9:odd=;10:=;") == 0);

    /* The callback stops it. */
    memset(&seen, 0, sizeof seen);
    seen.stop_after = 2;
    CHECK_OK(msgwire_sr_parse_events((const uint8_t *)REGISTRATIONS_XML, strlen(REGISTRATIONS_XML),
                                     on_event, &seen, NULL));
    CHECK(seen.calls == 2);

    /* An error after some events: its status and position. */
    static const char bad[] = "<serverResponse><results><result id='a' value='1'/>"
                              "<result value='2'/></results></serverResponse>";
    memset(&seen, 0, sizeof seen);
    uint64_t at = 0;
    CHECK_STATUS(msgwire_sr_parse_events((const uint8_t *)bad, strlen(bad), on_event, &seen, &at),
                 MSGWIRE_SR_PARSE_MISSING_ID);
    CHECK(at == 51);
    CHECK(strcmp(seen.text, "0:=;2:a=1;") == 0);
    CHECK_STATUS(msgwire_sr_parse_events((const uint8_t *)bad, strlen(bad), NULL, NULL, NULL),
                 MSGWIRE_NULL_PARAMETER);
}

static atomic_int frees;

static void count_free(void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&frees, 1);
}

static void registrations(void *user_data, const msgwire_sr_request *req, msgwire_sr_writer *w)
{
    (void)user_data;
    static const char *rows[][2] = {{"sip", "291"}, {"h323", "292"}, {"sip", "293"}};
    msgwire_str driver;
    bool filter = msgwire_sr_request_get(req, "driver", &driver) == MSGWIRE_OK;
    msgwire_sr_writer_begin_lists(w, "registrations");
    for (size_t i = 0; i < 3; i++) {
        if (filter && !str_is(driver, rows[i][0])) {
            continue;
        }
        msgwire_sr_writer_begin_row(w, "registration");
        msgwire_sr_writer_item(w, "driver", rows[i][0]);
        msgwire_sr_writer_item(w, "userid", rows[i][1]);
    }
}

static void echo(void *user_data, const msgwire_sr_request *req, msgwire_sr_writer *w)
{
    (void)user_data;
    msgwire_str method, k, v;
    size_t n = 0;
    msgwire_sr_request_method(req, &method);
    msgwire_sr_writer_result(w, "method", method.ptr);
    msgwire_sr_request_arg_count(req, &n);
    for (size_t i = 0; i < n; i++) {
        msgwire_sr_request_arg(req, i, &k, &v);
        msgwire_sr_writer_result(w, k.ptr, v.ptr);
    }
    if (msgwire_sr_request_get(req, "need", &v) == MSGWIRE_NOT_FOUND) {
        msgwire_sr_writer_fail(w, 601, "argument missing: need");
    }
}

static void test_server_and_client(void)
{
    msgwire_sr_server_config cfg = {.workers = 4};
    msgwire_sr_server *server = NULL;
    CHECK_OK(msgwire_sr_server_bind("127.0.0.1:0", "bayonne", &cfg, &server));
    if (server == NULL) {
        return;
    }
    atomic_store(&frees, 0);
    CHECK_OK(msgwire_sr_server_method(server, "registrations", registrations, NULL, count_free));
    CHECK_OK(msgwire_sr_server_method(server, "echo", echo, NULL, count_free));
    uint16_t port = 0;
    CHECK_OK(msgwire_sr_server_local_port(server, &port));
    char url[256];
    msgwire_sr_response *r = NULL;
    msgwire_str id, value;
    size_t rows = 0, n = 0;
    bool fault = false;

    snprintf(url, sizeof url, "http://127.0.0.1:%u/registrations.xml?driver=sip", port);
    CHECK_OK(msgwire_sr_get(url, 10000, &r));
    CHECK_OK(msgwire_sr_response_lists(r, 0, &id, &rows));
    CHECK(rows == 2);
    CHECK_OK(msgwire_sr_response_item(r, 0, 1, 1, &id, &value));
    CHECK(str_is(value, "293"));
    CHECK_OK(msgwire_sr_response_server(r, &value));
    CHECK(str_is(value, "bayonne"));
    msgwire_sr_response_free(r);

    r = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo.xml?need=1&a=x+y&a=%%26", port);
    CHECK_OK(msgwire_sr_get(url, 10000, &r));
    CHECK_OK(msgwire_sr_response_entry_count(r, &n));
    CHECK(n == 4);
    CHECK_OK(msgwire_sr_response_result(r, 2, &id, &value));
    CHECK(str_is(id, "a") && str_is(value, "x y"));
    CHECK_OK(msgwire_sr_response_result(r, 3, &id, &value));
    CHECK(str_is(id, "a") && str_is(value, "&"));
    msgwire_sr_response_free(r);

    /* A handler fault of 600 and up: HTTP 200, the method as service. */
    r = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/echo.xml", port);
    CHECK_OK(msgwire_sr_get(url, 10000, &r));
    CHECK_OK(msgwire_sr_response_is_fault(r, &fault));
    CHECK(fault);
    CHECK_OK(msgwire_sr_response_service(r, &value));
    CHECK(str_is(value, "echo"));
    CHECK_OK(msgwire_sr_response_find(r, "code", &value));
    CHECK(str_is(value, "601"));
    msgwire_sr_response_free(r);

    /* Unknown method: the 404 fault is a response, not an error. */
    r = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%u/unknown.xml", port);
    CHECK_OK(msgwire_sr_get(url, 10000, &r));
    CHECK(writes_as(r, UNKNOWN_XML));
    msgwire_sr_response_free(r);

    /* The built-in status. */
    r = NULL;
    snprintf(url, sizeof url, "http://[::1]:%u/status.xml", port);
    msgwire_status v6 = msgwire_sr_get(url, 2000, &r);
    CHECK(v6 == MSGWIRE_SR_CONNECT); /* listening on IPv4 only */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/status.xml", port);
    CHECK_OK(msgwire_sr_get(url, 10000, &r));
    CHECK_OK(msgwire_sr_response_find(r, "version", &value));
    CHECK(value.len > 0);
    CHECK_OK(msgwire_sr_response_lists(r, 3, &id, &rows));
    CHECK(str_is(id, "protocols") && rows == 4);
    msgwire_sr_response_free(r);

    /* Re-registering releases the old user_data at once. */
    CHECK_OK(msgwire_sr_server_method(server, "echo", echo, NULL, count_free));
    CHECK(atomic_load(&frees) == 1);
    msgwire_sr_server_free(server);
    CHECK(atomic_load(&frees) == 3);

    /* Nothing listens there any more. */
    r = NULL;
    CHECK_STATUS(msgwire_sr_get(url, 2000, &r), MSGWIRE_SR_CONNECT);
    CHECK(r == NULL);
    CHECK_STATUS(msgwire_sr_get("ftp://example/x", 2000, &r), MSGWIRE_SR_BAD_URL);
    msgwire_sr_server *dup = NULL;
    CHECK_STATUS(msgwire_sr_server_bind("not an address", NULL, NULL, &dup), MSGWIRE_SR_LISTEN);
}

/* HTTPS: the server with the test certificate, the client trusting the
 * test CA; a client trusting another CA is refused with MSGWIRE_SR_TLS. */
static void test_tls(void)
{
    data_paths();
    msgwire_tls_server_config *server_tls = NULL;
    msgwire_tls_client_config *trusting = NULL, *other = NULL;
    CHECK_OK(msgwire_tls_server_config_from_files(cert_path, key_path, &server_tls));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(ca_path, &trusting));
    CHECK_OK(msgwire_tls_client_config_with_ca_file(other_ca_path, &other));
    if (server_tls == NULL || trusting == NULL || other == NULL) {
        return;
    }
    msgwire_sr_server *server = NULL;
    msgwire_sr_server_config cfg = {.workers = 2};
    CHECK_OK(msgwire_sr_server_bind_tls("127.0.0.1:0", "bayonne", &cfg, server_tls, &server));
    /* The server keeps its own reference. */
    msgwire_tls_server_config_free(server_tls);
    if (server == NULL) {
        return;
    }
    CHECK_OK(msgwire_sr_server_method(server, "registrations", registrations, NULL, NULL));
    uint16_t port = 0;
    CHECK_OK(msgwire_sr_server_local_port(server, &port));
    char url[256];
    msgwire_sr_response *r = NULL;
    msgwire_str id, value;
    size_t rows = 0;

    snprintf(url, sizeof url, "https://127.0.0.1:%u/registrations.xml?driver=h323", port);
    CHECK_OK(msgwire_sr_get_tls(url, 10000, trusting, &r));
    CHECK_OK(msgwire_sr_response_lists(r, 0, &id, &rows));
    CHECK(str_is(id, "registrations") && rows == 1);
    CHECK_OK(msgwire_sr_response_item(r, 0, 0, 1, &id, &value));
    CHECK(str_is(id, "userid") && str_is(value, "292"));
    msgwire_sr_response_free(r);

    /* The certificate is also issued for "localhost". */
    r = NULL;
    snprintf(url, sizeof url, "https://localhost:%u/status.xml", port);
    msgwire_status st = msgwire_sr_get_tls(url, 10000, trusting, &r);
    /* localhost may resolve to ::1 first, where nothing listens; either
     * way it is not a TLS failure. */
    CHECK(st == MSGWIRE_OK || st == MSGWIRE_SR_CONNECT);
    msgwire_sr_response_free(r);

    /* A CA that did not issue the certificate: refused, nothing returned. */
    r = NULL;
    snprintf(url, sizeof url, "https://127.0.0.1:%u/registrations.xml", port);
    CHECK_STATUS(msgwire_sr_get_tls(url, 10000, other, &r), MSGWIRE_SR_TLS);
    CHECK(r == NULL);
    CHECK(strstr(msgwire_last_error(), "TLS") != NULL);
    /* https:// without TLS settings is a bad URL for msgwire_sr_get. */
    CHECK_STATUS(msgwire_sr_get(url, 2000, &r), MSGWIRE_SR_BAD_URL);
    /* Plain HTTP to the HTTPS port: no serverResponse reply. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/registrations.xml", port);
    st = msgwire_sr_get(url, 5000, &r);
    CHECK(st != MSGWIRE_OK && r == NULL);
    /* TLS to a plain server: a handshake failure. */
    msgwire_sr_server *plain = NULL;
    CHECK_OK(msgwire_sr_server_bind("127.0.0.1:0", NULL, &cfg, &plain));
    uint16_t plain_port = 0;
    CHECK_OK(msgwire_sr_server_local_port(plain, &plain_port));
    snprintf(url, sizeof url, "https://127.0.0.1:%u/status.xml", plain_port);
    CHECK_STATUS(msgwire_sr_get_tls(url, 5000, trusting, &r), MSGWIRE_SR_TLS);
    /* http:// URLs need no TLS even when settings are given. */
    snprintf(url, sizeof url, "http://127.0.0.1:%u/status.xml", plain_port);
    CHECK_OK(msgwire_sr_get_tls(url, 10000, trusting, &r));
    msgwire_sr_response_free(r);
    msgwire_sr_server_free(plain);

    CHECK_STATUS(msgwire_sr_get_tls(url, 1000, NULL, &r), MSGWIRE_NULL_PARAMETER);
    msgwire_sr_server *none = NULL;
    CHECK_STATUS(msgwire_sr_server_bind_tls("127.0.0.1:0", NULL, NULL, NULL, &none),
                 MSGWIRE_NULL_PARAMETER);
    CHECK(none == NULL);
    msgwire_sr_server_free(server);
    msgwire_tls_client_config_free(trusting);
    msgwire_tls_client_config_free(other);
}

static void test_null_arguments(void)
{
    msgwire_sr_response *r = NULL;
    CHECK_STATUS(msgwire_sr_response_new_results(NULL, "x", &r), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_response_new_results("x", "y", NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_parse(NULL, 3, &r, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_response_add_result(NULL, "a", "b"), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_get(NULL, 0, &r), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_writer_new("a", "b", NULL, NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_server_method(NULL, "x", echo, NULL, NULL), MSGWIRE_NULL_PARAMETER);
    CHECK_STATUS(msgwire_sr_request_get(NULL, "x", NULL), MSGWIRE_NULL_PARAMETER);
    msgwire_sr_response_free(NULL);
    msgwire_sr_writer_free(NULL);
    msgwire_sr_server_free(NULL);
    CHECK(strcmp(msgwire_status_text(MSGWIRE_SR_PARSE_XML), "serverResponse: malformed XML") == 0);
}

static void sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Waits (bounded, 30 s) until *flag is non-zero; returns its value. */
static int wait_flag(atomic_int *flag)
{
    for (int i = 0; i < 3000 && atomic_load(flag) == 0; i++) {
        sleep_ms(10);
    }
    return atomic_load(flag);
}

/* A socket connected to 127.0.0.1:port that has sent `request`. */
static int raw_request(uint16_t port, const char *request)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    CHECK(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
    return fd;
}

/* A server on 127.0.0.1 serving `method`; NULL (a failed check) if it
 * cannot be made. */
static msgwire_sr_server *serve_method(const msgwire_sr_server_config *cfg, const char *method,
                                       msgwire_sr_handler handler,
                                       msgwire_sr_user_data_free user_data_free, uint16_t *port)
{
    msgwire_sr_server *server = NULL;
    CHECK_OK(msgwire_sr_server_bind("127.0.0.1:0", NULL, cfg, &server));
    if (server != NULL) {
        CHECK_OK(msgwire_sr_server_method(server, method, handler, NULL, user_data_free));
        CHECK_OK(msgwire_sr_server_local_port(server, port));
    }
    return server;
}

/* The status of the first failing writer call (-1: the table went out). */
static atomic_int table_outcome;

static void table(void *user_data, const msgwire_sr_request *req, msgwire_sr_writer *w)
{
    (void)user_data;
    msgwire_str n;
    long rows = msgwire_sr_request_get(req, "n", &n) == MSGWIRE_OK ? strtol(n.ptr, NULL, 10) : 0;
    msgwire_status st = msgwire_sr_writer_begin_lists(w, "rows");
    for (long i = 0; i < rows && st == MSGWIRE_OK; i++) {
        st = msgwire_sr_writer_begin_row(w, "row");
        if (st == MSGWIRE_OK) {
            st = msgwire_sr_writer_item(w, "text", "some padding to make the rows longer");
        }
    }
    atomic_store(&table_outcome, st == MSGWIRE_OK ? -1 : (int)st);
}

static void test_write_deadline(void)
{
    /* One worker; a reply gets 500 ms in all. */
    msgwire_sr_server_config cfg = {.workers = 1, .write_timeout_ms = 500};
    uint16_t port = 0;
    msgwire_sr_server *server = serve_method(&cfg, "table", table, NULL, &port);
    if (server == NULL) {
        return;
    }
    atomic_store(&table_outcome, 0);
    /* Megabytes asked for, nothing read: the only worker blocks writing
     * until the deadline cuts the connection. */
    int idle = raw_request(port, "GET /table.xml?n=100000 HTTP/1.0\r\n\r\n");
    CHECK(wait_flag(&table_outcome) == MSGWIRE_SR_WRITE);
    /* The worker is free again. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/table.xml?n=3", port);
    msgwire_sr_response *r = NULL;
    msgwire_str id;
    size_t rows = 0;
    atomic_store(&table_outcome, 0);
    CHECK_OK(msgwire_sr_get(url, 10000, &r));
    CHECK_OK(msgwire_sr_response_lists(r, 0, &id, &rows));
    CHECK(rows == 3);
    CHECK(atomic_load(&table_outcome) == -1);
    msgwire_sr_response_free(r);
    close(idle);
    msgwire_sr_server_free(server);
}

static atomic_int stuck_entered, stuck_release, stuck_frees;

static void stuck(void *user_data, const msgwire_sr_request *req, msgwire_sr_writer *w)
{
    (void)user_data;
    (void)req;
    (void)w;
    atomic_store(&stuck_entered, 1);
    /* Waits for what only comes after the server is freed. */
    while (atomic_load(&stuck_release) == 0) {
        sleep_ms(10);
    }
}

static void stuck_free(void *user_data)
{
    (void)user_data;
    atomic_fetch_add(&stuck_frees, 1);
}

static void test_shutdown_with_stuck_handler(void)
{
    msgwire_sr_server_config cfg = {.workers = 2, .shutdown_timeout_ms = 200};
    uint16_t port = 0;
    msgwire_sr_server *server = serve_method(&cfg, "stuck", stuck, stuck_free, &port);
    if (server == NULL) {
        return;
    }
    int client = raw_request(port, "GET /stuck.xml HTTP/1.0\r\n\r\n");
    CHECK(wait_flag(&stuck_entered) == 1);

    /* Returns although the handler has not; its user_data stays. */
    msgwire_sr_server_free(server);
    CHECK(atomic_load(&stuck_frees) == 0);
    /* The client's connection is closed without a reply. */
    char buf[256];
    CHECK(read(client, buf, sizeof buf) <= 0);
    close(client);
    /* Nothing listens any more. */
    msgwire_sr_response *r = NULL;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/status.xml", port);
    CHECK_STATUS(msgwire_sr_get(url, 2000, &r), MSGWIRE_SR_CONNECT);

    /* Once the handler returns, its thread ends and releases it. */
    atomic_store(&stuck_release, 1);
    CHECK(wait_flag(&stuck_frees) == 1);
    /* Let the detached thread finish exiting before the program does. */
    sleep_ms(200);
}

int main(void)
{
    test_build_and_write();
    test_parse_and_read();
    test_parse_errors();
    test_parse_events();
    test_streaming_writer();
    test_server_and_client();
    test_tls();
    test_write_deadline();
    test_shutdown_with_stuck_handler();
    test_null_arguments();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
