/*
 * msgwire.h - C API of msgwire (session-messaging protocols).
 *
 * GENERATED FILE - DO NOT EDIT.
 * Generated from ffi/src by tools/gen-header (cbindgen); run `make header`
 * to regenerate and `make check-header` to check it is current.
 *
 * Conventions:
 *  - Functions return msgwire_status (MSGWIRE_OK = 0) and write results
 *    through out-pointers, only on success unless documented otherwise.
 *    msgwire_last_error() describes the last failure on the calling thread.
 *  - Objects are opaque handles released by exactly one *_free function;
 *    *_free(NULL) does nothing.
 *  - Strings in are NUL-terminated UTF-8; strings out are borrowed
 *    msgwire_str views (lifetime documented per function) or copied into
 *    caller buffers (char *buf, size_t cap, size_t *out_len).
 */

#ifndef MSGWIRE_H
#define MSGWIRE_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/**
 * The result of a msgwire function. `MSGWIRE_OK` (0) is success; every other
 * value is an error whose message `msgwire_last_error()` returns.
 *
 * The numbers are stable: 1-99 generic errors, 1000-1099 MSRP URI errors,
 * 1100-1199 MSRP header errors, 1200-1299 MSRP parse errors.
 * `msgwire_status_text()` names any code.
 */
enum msgwire_status
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * Success.
   */
  MSGWIRE_OK = 0,
  /**
   * A required pointer argument was NULL.
   */
  MSGWIRE_NULL_PARAMETER = 1,
  /**
   * A string argument is not valid UTF-8.
   */
  MSGWIRE_INVALID_UTF8 = 2,
  /**
   * The caller's buffer is too small; the needed length was written to
   * `*out_len` (see the function's documentation).
   */
  MSGWIRE_BUFFER_TOO_SMALL = 3,
  /**
   * msgwire hit an internal bug (a Rust panic) and gave up on this call.
   * The objects passed in may be in an unspecified but safe-to-free state.
   */
  MSGWIRE_PANIC = 4,
  /**
   * The thing asked for is absent: a header that is not there, a comment
   * on a response without one, a method on a response, ...
   */
  MSGWIRE_NOT_FOUND = 5,
  /**
   * An argument has a value the function does not accept (an index past
   * the end, an invalid flag character, a header name that is not a token,
   * a value containing CR or LF, ...).
   */
  MSGWIRE_INVALID_ARGUMENT = 6,
  /**
   * MSRP URI: the scheme is not `msrp` or `msrps`.
   */
  MSGWIRE_MSRP_URI_BAD_SCHEME = 1000,
  /**
   * MSRP URI: `://` is missing after the scheme.
   */
  MSGWIRE_MSRP_URI_MISSING_SLASHES = 1001,
  /**
   * MSRP URI: the authority has no host.
   */
  MSGWIRE_MSRP_URI_MISSING_HOST = 1002,
  /**
   * MSRP URI: the host is not a valid name, IPv4 or bracketed IPv6 address.
   */
  MSGWIRE_MSRP_URI_BAD_HOST = 1003,
  /**
   * MSRP URI: the port is not a number from 0 to 65535.
   */
  MSGWIRE_MSRP_URI_BAD_PORT = 1004,
  /**
   * MSRP URI: the userinfo contains characters RFC 3986 does not allow.
   */
  MSGWIRE_MSRP_URI_BAD_USERINFO = 1005,
  /**
   * MSRP URI: the session-id is empty or contains invalid characters.
   */
  MSGWIRE_MSRP_URI_BAD_SESSION_ID = 1006,
  /**
   * MSRP URI: the mandatory `;transport` part is missing.
   */
  MSGWIRE_MSRP_URI_MISSING_TRANSPORT = 1007,
  /**
   * MSRP URI: the transport is not made of letters and digits.
   */
  MSGWIRE_MSRP_URI_BAD_TRANSPORT = 1008,
  /**
   * MSRP URI: a `;name=value` parameter is not made of tokens.
   */
  MSGWIRE_MSRP_URI_BAD_PARAMETER = 1009,
  /**
   * MSRP header: a header the operation needs is absent.
   */
  MSGWIRE_MSRP_HEADER_MISSING = 1100,
  /**
   * MSRP header: a URI in To-Path, From-Path or Use-Path is invalid.
   */
  MSGWIRE_MSRP_HEADER_URI = 1101,
  /**
   * MSRP header: a path header holds no URI.
   */
  MSGWIRE_MSRP_HEADER_EMPTY_PATH = 1102,
  /**
   * MSRP header: Byte-Range is malformed or inconsistent.
   */
  MSGWIRE_MSRP_HEADER_BYTE_RANGE = 1103,
  /**
   * MSRP header: Status is not `000 code [comment]`.
   */
  MSGWIRE_MSRP_HEADER_STATUS = 1104,
  /**
   * MSRP header: the value is not one of the allowed words (`yes`, `no`, ...).
   */
  MSGWIRE_MSRP_HEADER_CHOICE = 1105,
  /**
   * MSRP header: the value is not an integer that fits 32 bits.
   */
  MSGWIRE_MSRP_HEADER_INTEGER = 1106,
  /**
   * MSRP header: a Digest or Authentication-Info parameter list is malformed.
   */
  MSGWIRE_MSRP_HEADER_PARAMS = 1107,
  /**
   * MSRP header: Content-Disposition is malformed.
   */
  MSGWIRE_MSRP_HEADER_DISPOSITION = 1108,
  /**
   * MSRP header: a value that must not be empty is empty.
   */
  MSGWIRE_MSRP_HEADER_EMPTY = 1109,
  /**
   * MSRP parse: a start line is not `MSRP <tid> <method>` or
   * `MSRP <tid> <code> [comment]` (or bytes follow a complete chunk).
   */
  MSGWIRE_MSRP_PARSE_BAD_START_LINE = 1200,
  /**
   * MSRP parse: the transaction id is not 4 to 32 `ident` characters.
   */
  MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID = 1201,
  /**
   * MSRP parse: the method is not made of upper-case letters.
   */
  MSGWIRE_MSRP_PARSE_BAD_METHOD = 1202,
  /**
   * MSRP parse: the status code is not three digits.
   */
  MSGWIRE_MSRP_PARSE_BAD_STATUS_CODE = 1203,
  /**
   * MSRP parse: a header line has no `:` or its name is not a token.
   */
  MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE = 1204,
  /**
   * MSRP parse: the start line or a header line is not valid UTF-8.
   */
  MSGWIRE_MSRP_PARSE_INVALID_UTF8 = 1205,
  /**
   * MSRP parse: a line is longer than the parser's `max_line_len`.
   */
  MSGWIRE_MSRP_PARSE_LINE_TOO_LONG = 1206,
  /**
   * MSRP parse: a chunk has more header lines than `max_headers`.
   */
  MSGWIRE_MSRP_PARSE_TOO_MANY_HEADERS = 1207,
  /**
   * MSRP parse: the Byte-Range header is malformed.
   */
  MSGWIRE_MSRP_PARSE_BAD_BYTE_RANGE = 1208,
  /**
   * MSRP parse: a line of seven dashes is not this chunk's end-line.
   */
  MSGWIRE_MSRP_PARSE_BAD_END_LINE = 1209,
  /**
   * MSRP parse: a body is larger than `max_body_len`.
   */
  MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE = 1210,
  /**
   * MSRP parse: a body runs past its Byte-Range length without an end-line.
   */
  MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE = 1211,
  /**
   * MSRP parse: the input ended inside a chunk.
   */
  MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF = 1212,
};
#ifndef __cplusplus
typedef uint32_t msgwire_status;
#endif // __cplusplus

/**
 * The value of a `Failure-Report` header (RFC 4975 section 7.1.2).
 */
enum msgwire_msrp_failure_report
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `yes` (also when the header is absent): responses and failure REPORTs.
   */
  MSGWIRE_MSRP_FAILURE_REPORT_YES = 0,
  /**
   * `no`: no responses, no REPORTs.
   */
  MSGWIRE_MSRP_FAILURE_REPORT_NO = 1,
  /**
   * `partial`: only failure responses and failure REPORTs.
   */
  MSGWIRE_MSRP_FAILURE_REPORT_PARTIAL = 2,
};
#ifndef __cplusplus
typedef uint32_t msgwire_msrp_failure_report;
#endif // __cplusplus

/**
 * The value of a `Success-Report` header (RFC 4975 section 7.1.2).
 */
enum msgwire_msrp_success_report
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `yes`: the sender wants a REPORT when the message arrives.
   */
  MSGWIRE_MSRP_SUCCESS_REPORT_YES = 0,
  /**
   * `no` (also when the header is absent).
   */
  MSGWIRE_MSRP_SUCCESS_REPORT_NO = 1,
};
#ifndef __cplusplus
typedef uint32_t msgwire_msrp_success_report;
#endif // __cplusplus

/**
 * One MSRP request or response: start line, headers, body and
 * continuation flag.
 *
 * Created by `msgwire_msrp_chunk_parse`, `msgwire_msrp_chunk_new_request`,
 * `msgwire_msrp_chunk_new_response`, `msgwire_msrp_chunk_build_send`,
 * `msgwire_msrp_make_response`, `msgwire_msrp_make_report` or
 * `msgwire_msrp_head_to_chunk`; released by `msgwire_msrp_chunk_free`.
 *
 * Strings and body pointers read from a chunk stay valid until the chunk
 * is modified (any `_set_`/`_add_`/`_remove_` function) or freed. Several
 * threads may read one chunk at once; modifying it needs exclusive access.
 */
typedef struct msgwire_msrp_chunk msgwire_msrp_chunk;

/**
 * The start line and headers of a chunk being parsed, lent to the
 * `on_start` callback.
 *
 * Valid only during that callback call: neither the head nor any string
 * read from it may be used after the callback returns (copy what you need,
 * or take a chunk with `msgwire_msrp_head_to_chunk`). Never freed by the
 * caller.
 */
typedef struct msgwire_msrp_head msgwire_msrp_head;

/**
 * An incremental MSRP parser: feed it bytes as they arrive, in slices of
 * any size, and it reports chunks through callbacks.
 *
 * Created by `msgwire_msrp_parser_new`, released by
 * `msgwire_msrp_parser_free`. It holds at most one start line and header
 * block plus a few bytes of a possible end-line, never a body. Use one
 * parser per connection, from one thread at a time.
 */
typedef struct msgwire_msrp_parser msgwire_msrp_parser;

/**
 * A parsed MSRP URI (`msrp[s]://[user@]host[:port][/session-id];transport[;params]`).
 *
 * Created by `msgwire_msrp_uri_parse`, released by `msgwire_msrp_uri_free`.
 * It never changes after parsing, so several threads may read it at once.
 * Strings read from it stay valid until it is freed.
 */
typedef struct msgwire_msrp_uri msgwire_msrp_uri;

/**
 * A borrowed string handed out by msgwire: `ptr` points at `len` bytes of
 * UTF-8 followed by a NUL byte, so `ptr` can be used as a C string.
 *
 * `len` is authoritative: text received from the network may itself
 * contain NUL bytes, which a C-string reading would cut short. The memory
 * belongs to the object it was read from; the function that returns a
 * `msgwire_str` says how long it stays valid.
 */
typedef struct msgwire_str {
  /**
   * The first byte; never NULL; `ptr[len]` is `'\0'`.
   */
  const char *ptr;
  /**
   * The number of bytes before the terminating NUL.
   */
  size_t len;
} msgwire_str;

/**
 * A decoded `Byte-Range: start-end/total` header. Positions count from 1
 * and `end` is inclusive, so an empty chunk is `1-0/0`.
 */
typedef struct msgwire_msrp_byte_range {
  /**
   * Position of the chunk's first body byte in the whole message.
   */
  uint64_t start;
  /**
   * Position of its last byte; meaningful only when `has_end`.
   */
  uint64_t end;
  /**
   * `false` when the end is `*` (unknown).
   */
  bool has_end;
  /**
   * Size of the whole message; meaningful only when `has_total`.
   */
  uint64_t total;
  /**
   * `false` when the total is `*` (unknown).
   */
  bool has_total;
} msgwire_msrp_byte_range;

/**
 * Limits and leniency of a streaming parser (the core's `ParserConfig`).
 * Fill it with `msgwire_msrp_parser_config_default` and adjust.
 */
typedef struct msgwire_msrp_parser_config {
  /**
   * Longest start line or header line accepted, in bytes, CRLF excluded.
   * Default 16384.
   */
  size_t max_line_len;
  /**
   * Most header lines accepted in one chunk. Default 64.
   */
  size_t max_headers;
  /**
   * Largest body accepted in one chunk, in bytes. Default 64 MiB. The
   * parser never holds a body, so streaming consumers may raise it.
   */
  uint64_t max_body_len;
  /**
   * `false` (default): a body may run up to four times past the length
   * its Byte-Range announces (senders that count characters instead of
   * bytes, and several RFC 4975 examples, get it wrong). `true`: not at
   * all. Past the limit the parser reports
   * `MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE` and resynchronises.
   */
  bool strict_byte_range;
} msgwire_msrp_parser_config;

/**
 * Called when the start line and headers of a chunk are complete.
 *
 * `user_data` is the pointer given to `msgwire_msrp_parser_feed`. `head` is
 * lent for this call only (see `msgwire_msrp_head`). Called on the thread
 * that called `msgwire_msrp_parser_feed`, from inside that call, never
 * concurrently for one parser. The callback must not call functions on the
 * parser that is running it.
 */
typedef void (*msgwire_msrp_start_callback)(void *user_data, const struct msgwire_msrp_head *head);

/**
 * Called with each slice of the current chunk's body, in order; the slices
 * of one chunk concatenated are its body. A body may arrive in any number
 * of slices (or none for an empty body), whatever the feed sizes.
 *
 * `data` points at `len` bytes lent for this call only (they may be inside
 * the caller's input or the parser's buffer). Same thread rules as
 * `msgwire_msrp_start_callback`.
 */
typedef void (*msgwire_msrp_data_callback)(void *user_data, const uint8_t *data, size_t len);

/**
 * Called when a chunk's end-line has been read, with its flag: `'$'`
 * (message complete), `'+'` (more chunks follow) or `'#'` (aborted). Same
 * thread rules as `msgwire_msrp_start_callback`.
 */
typedef void (*msgwire_msrp_end_callback)(void *user_data, char flag);

/**
 * The callbacks `msgwire_msrp_parser_feed` reports to. Each may be NULL to
 * ignore that kind of event. For every chunk the parser calls `on_start`
 * once, `on_data` zero or more times, then `on_end` once, unless a parse
 * error interrupts the chunk: `msgwire_msrp_parser_feed` then returns the
 * error and that chunk gets no `on_end` (the next event, if any, is the
 * `on_start` of a later chunk).
 */
typedef struct msgwire_msrp_callbacks {
  /**
   * The head of a chunk is complete (may be NULL).
   */
  msgwire_msrp_start_callback on_start;
  /**
   * A slice of body bytes (may be NULL).
   */
  msgwire_msrp_data_callback on_data;
  /**
   * The chunk ended (may be NULL).
   */
  msgwire_msrp_end_callback on_end;
} msgwire_msrp_callbacks;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The library version, e.g. `"msgwire/0.1.0"`.
 *
 * Returns a static NUL-terminated string; never NULL, never freed.
 */
const char *msgwire_version(void);

/**
 * A message describing the last failure of a msgwire function on the
 * calling thread, or an empty string when nothing has failed yet.
 *
 * Never NULL. The string belongs to msgwire: do not free it. It stays valid
 * until the next msgwire call on the same thread (copy it to keep it).
 * Successful calls do not clear it, so check the status first.
 */
const char *msgwire_last_error(void);

/**
 * A short fixed description of a status code (e.g. `"not found"`).
 *
 * Takes the code as an integer so that any value is safe to pass; unknown
 * codes give `"unknown status"`. Returns a static NUL-terminated string:
 * never NULL, never freed, valid forever.
 */
const char *msgwire_status_text(uint32_t status);

/**
 * Parses an MSRP URI (RFC 4975 section 9).
 *
 * `text` is a NUL-terminated UTF-8 string. On success `*out` receives a new
 * URI to release with `msgwire_msrp_uri_free`. On failure a
 * `MSGWIRE_MSRP_URI_*` status names the part that is wrong and
 * `msgwire_last_error()` quotes it; `*out` is not written.
 */
msgwire_status msgwire_msrp_uri_parse(const char *text, struct msgwire_msrp_uri **out);

/**
 * Releases a URI. NULL is ignored. The URI and every string read from it
 * must not be used afterwards.
 */
void msgwire_msrp_uri_free(struct msgwire_msrp_uri *uri);

/**
 * Writes `true` to `*out` for `msrps` (TLS), `false` for `msrp`.
 */
msgwire_status msgwire_msrp_uri_secure(const struct msgwire_msrp_uri *uri, bool *out);

/**
 * The host: a name, an IPv4 address, or an IPv6 address without brackets.
 *
 * `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
 */
msgwire_status msgwire_msrp_uri_host(const struct msgwire_msrp_uri *uri, struct msgwire_str *out);

/**
 * The port. When the URI names one, `*out_port` receives it and
 * `*out_has_port` is `true`; otherwise `*out_port` is 0 and `*out_has_port`
 * is `false` (RFC 4975 gives no default: an absent port is not 2855 for
 * comparisons).
 */
msgwire_status msgwire_msrp_uri_port(const struct msgwire_msrp_uri *uri,
                                     uint16_t *out_port,
                                     bool *out_has_port);

/**
 * The session-id (the part after the authority's `/`).
 *
 * `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
 * Returns `MSGWIRE_NOT_FOUND` when the URI has no session-id.
 */
msgwire_status msgwire_msrp_uri_session_id(const struct msgwire_msrp_uri *uri,
                                           struct msgwire_str *out);

/**
 * The transport token (normally `tcp`), as written.
 *
 * `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
 */
msgwire_status msgwire_msrp_uri_transport(const struct msgwire_msrp_uri *uri,
                                          struct msgwire_str *out);

/**
 * The userinfo before `@`.
 *
 * `*out` borrows from the URI (valid until `msgwire_msrp_uri_free`).
 * Returns `MSGWIRE_NOT_FOUND` when the URI has none.
 */
msgwire_status msgwire_msrp_uri_user(const struct msgwire_msrp_uri *uri, struct msgwire_str *out);

/**
 * The number of `;name[=value]` parameters after the transport.
 */
msgwire_status msgwire_msrp_uri_param_count(const struct msgwire_msrp_uri *uri, size_t *out);

/**
 * The parameter at `index` (0-based, in URI order).
 *
 * `*out_name` and `*out_value` borrow from the URI (valid until
 * `msgwire_msrp_uri_free`). A parameter without `=` has an empty
 * `*out_value` and `*out_has_value` set to `false`. Returns
 * `MSGWIRE_INVALID_ARGUMENT` when `index` is not below the count.
 */
msgwire_status msgwire_msrp_uri_param(const struct msgwire_msrp_uri *uri,
                                      size_t index,
                                      struct msgwire_str *out_name,
                                      struct msgwire_str *out_value,
                                      bool *out_has_value);

/**
 * Writes the URI text (as parsed: the same spelling) into `buf`.
 *
 * Copies into the caller's buffer: on success `buf` holds the text and a
 * NUL, and `*out_len` its length without the NUL. When `cap` is less than
 * that length + 1, nothing is copied, `*out_len` still receives the length
 * and `MSGWIRE_BUFFER_TOO_SMALL` is returned. `buf` may be NULL when `cap`
 * is 0, to ask for the length.
 */
msgwire_status msgwire_msrp_uri_format(const struct msgwire_msrp_uri *uri,
                                       char *buf,
                                       size_t cap,
                                       size_t *out_len);

/**
 * Compares two URIs by the rules of RFC 4975 section 6.1: scheme, host and
 * transport without case, port exactly (absent never equals present),
 * session-id with case; userinfo and parameters are ignored.
 * Writes the answer to `*out_equal`.
 */
msgwire_status msgwire_msrp_uri_equal(const struct msgwire_msrp_uri *a,
                                      const struct msgwire_msrp_uri *b,
                                      bool *out_equal);

/**
 * Parses one complete chunk from `data[0..len]` with the default parser
 * limits.
 *
 * The bytes must hold exactly one chunk, end-line included (blank lines
 * after it are tolerated). A missing end-line is
 * `MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF`; extra bytes after it are
 * `MSGWIRE_MSRP_PARSE_BAD_START_LINE`; other `MSGWIRE_MSRP_PARSE_*`
 * statuses describe malformed input. Header values are not decoded here
 * (see `msgwire_msrp_chunk_verify_headers`). The bytes are copied: `data`
 * may be reused as soon as the call returns. On success `*out` receives a
 * new chunk to release with `msgwire_msrp_chunk_free`.
 */
msgwire_status msgwire_msrp_chunk_parse(const uint8_t *data,
                                        size_t len,
                                        struct msgwire_msrp_chunk **out);

/**
 * Releases a chunk. NULL is ignored. The chunk and every string or body
 * pointer read from it must not be used afterwards.
 */
void msgwire_msrp_chunk_free(struct msgwire_msrp_chunk *chunk);

/**
 * The transaction id of the start line.
 *
 * `*out` borrows from the chunk (valid until it is modified or freed).
 */
msgwire_status msgwire_msrp_chunk_transaction_id(const struct msgwire_msrp_chunk *chunk,
                                                 struct msgwire_str *out);

/**
 * Writes `true` to `*out` for a request (`MSRP <tid> <METHOD>`), `false`
 * for a response (`MSRP <tid> <code> [comment]`).
 */
msgwire_status msgwire_msrp_chunk_is_request(const struct msgwire_msrp_chunk *chunk, bool *out);

/**
 * The method of a request (e.g. `SEND`, `REPORT`).
 *
 * `*out` borrows from the chunk (valid until it is modified or freed).
 * Returns `MSGWIRE_NOT_FOUND` for a response.
 */
msgwire_status msgwire_msrp_chunk_method(const struct msgwire_msrp_chunk *chunk,
                                         struct msgwire_str *out);

/**
 * The three-digit status code of a response.
 *
 * Returns `MSGWIRE_NOT_FOUND` for a request.
 */
msgwire_status msgwire_msrp_chunk_code(const struct msgwire_msrp_chunk *chunk, uint16_t *out);

/**
 * The comment (reason phrase) of a response, e.g. `OK`.
 *
 * `*out` borrows from the chunk (valid until it is modified or freed).
 * Returns `MSGWIRE_NOT_FOUND` for a request or a response without comment.
 */
msgwire_status msgwire_msrp_chunk_comment(const struct msgwire_msrp_chunk *chunk,
                                          struct msgwire_str *out);

/**
 * The value of the first header called `name` (compared without ASCII
 * case), as encoded on the wire, without the `: ` separator.
 *
 * `*out` borrows from the chunk (valid until it is modified or freed).
 * Returns `MSGWIRE_NOT_FOUND` when there is no such header.
 */
msgwire_status msgwire_msrp_chunk_header(const struct msgwire_msrp_chunk *chunk,
                                         const char *name,
                                         struct msgwire_str *out);

/**
 * The number of headers.
 */
msgwire_status msgwire_msrp_chunk_header_count(const struct msgwire_msrp_chunk *chunk, size_t *out);

/**
 * The header at `index` (0-based), in the order the headers were received
 * or added. (Encoding writes them in RFC 4975 order: To-Path, From-Path,
 * the others, the `Content-*` headers, Content-Type last.)
 *
 * `*out_name` and `*out_value` borrow from the chunk (valid until it is
 * modified or freed). Returns `MSGWIRE_INVALID_ARGUMENT` when `index` is not
 * below the count.
 */
msgwire_status msgwire_msrp_chunk_header_at(const struct msgwire_msrp_chunk *chunk,
                                            size_t index,
                                            struct msgwire_str *out_name,
                                            struct msgwire_str *out_value);

/**
 * The body: `*out_data` points at `*out_len` bytes (an empty body gives a
 * non-NULL pointer and length 0).
 *
 * The bytes belong to the chunk (valid until it is modified or freed). The
 * body is binary: it is not NUL-terminated.
 */
msgwire_status msgwire_msrp_chunk_body(const struct msgwire_msrp_chunk *chunk,
                                       const uint8_t **out_data,
                                       size_t *out_len);

/**
 * The continuation flag of the end-line: `'$'` (message complete), `'+'`
 * (more chunks follow) or `'#'` (message aborted).
 */
msgwire_status msgwire_msrp_chunk_flag(const struct msgwire_msrp_chunk *chunk, char *out);

/**
 * Decodes the Byte-Range header into `*out`.
 *
 * Returns `MSGWIRE_NOT_FOUND` when the header is absent and
 * `MSGWIRE_MSRP_HEADER_BYTE_RANGE` when its value is malformed or
 * inconsistent (start 0, end before start, end past total).
 */
msgwire_status msgwire_msrp_chunk_byte_range(const struct msgwire_msrp_chunk *chunk,
                                             struct msgwire_msrp_byte_range *out);

/**
 * Decodes the Failure-Report header into `*out`; an absent header gives
 * the RFC default `MSGWIRE_MSRP_FAILURE_REPORT_YES`.
 *
 * Returns `MSGWIRE_MSRP_HEADER_CHOICE` when the value is not `yes`, `no`
 * or `partial`.
 */
msgwire_status msgwire_msrp_chunk_failure_report(const struct msgwire_msrp_chunk *chunk,
                                                 msgwire_msrp_failure_report *out);

/**
 * Decodes the Success-Report header into `*out`; an absent header gives
 * the RFC default `MSGWIRE_MSRP_SUCCESS_REPORT_NO`.
 *
 * Returns `MSGWIRE_MSRP_HEADER_CHOICE` when the value is not `yes` or `no`.
 */
msgwire_status msgwire_msrp_chunk_success_report(const struct msgwire_msrp_chunk *chunk,
                                                 msgwire_msrp_success_report *out);

/**
 * Decodes the Status header of a REPORT (`000 <code> [comment]`).
 *
 * `*out_code` receives the code and `*out_comment` the comment (length 0
 * when there is none); the comment borrows from the chunk (valid until it
 * is modified or freed). Returns `MSGWIRE_NOT_FOUND` when the header is
 * absent and `MSGWIRE_MSRP_HEADER_STATUS` when it is malformed.
 */
msgwire_status msgwire_msrp_chunk_status(const struct msgwire_msrp_chunk *chunk,
                                         uint16_t *out_code,
                                         struct msgwire_str *out_comment);

/**
 * Checks that To-Path and From-Path are present and that every header
 * whose type msgwire knows (paths, Byte-Range, Status, the report headers,
 * Expires, Digest headers, Content-*, ...) decodes.
 *
 * Returns `MSGWIRE_OK`, or the `MSGWIRE_MSRP_HEADER_*` status of the first
 * problem (`msgwire_last_error()` names the header and value). A receiver
 * usually answers a request that fails this with 400.
 */
msgwire_status msgwire_msrp_chunk_verify_headers(const struct msgwire_msrp_chunk *chunk);

/**
 * Creates a request `MSRP <tid> <method>` with no headers, no body and
 * flag `'$'`.
 *
 * `transaction_id` must follow RFC 4975 (4 to 32 letters, digits or
 * `.-+%=`, starting with a letter or digit) and `method` be upper-case
 * letters (or `_`); otherwise `MSGWIRE_INVALID_ARGUMENT`. On success `*out`
 * receives a new chunk to release with `msgwire_msrp_chunk_free`.
 */
msgwire_status msgwire_msrp_chunk_new_request(const char *transaction_id,
                                              const char *method,
                                              struct msgwire_msrp_chunk **out);

/**
 * Creates a response `MSRP <tid> <code> [comment]` with no headers and
 * flag `'$'`.
 *
 * `code` must be at most 999; `comment` may be NULL (no comment) and must
 * not contain CR or LF; `transaction_id` as for
 * `msgwire_msrp_chunk_new_request`. On success `*out` receives a new chunk
 * to release with `msgwire_msrp_chunk_free`.
 */
msgwire_status msgwire_msrp_chunk_new_response(const char *transaction_id,
                                               uint16_t code,
                                               const char *comment,
                                               struct msgwire_msrp_chunk **out);

/**
 * Sets header `name` to `value`: replaces the value of the first header of
 * that name (compared without ASCII case) in place, or appends a new
 * header.
 *
 * `name` must be a token (letters, digits, `-.!%*_+`'~`) and `value` must
 * not contain CR or LF; otherwise `MSGWIRE_INVALID_ARGUMENT`. The value is
 * stored as given; typed headers are checked when read or by
 * `msgwire_msrp_chunk_verify_headers`. Invalidates strings previously read
 * from the chunk.
 */
msgwire_status msgwire_msrp_chunk_set_header(struct msgwire_msrp_chunk *chunk,
                                             const char *name,
                                             const char *value);

/**
 * Appends header `name: value`, even when a header of that name exists.
 *
 * Same checks as `msgwire_msrp_chunk_set_header`. Invalidates strings
 * previously read from the chunk.
 */
msgwire_status msgwire_msrp_chunk_add_header(struct msgwire_msrp_chunk *chunk,
                                             const char *name,
                                             const char *value);

/**
 * Removes every header called `name` (compared without ASCII case).
 * Removing a header that is not there is not an error. Invalidates strings
 * previously read from the chunk.
 */
msgwire_status msgwire_msrp_chunk_remove_header(struct msgwire_msrp_chunk *chunk, const char *name);

/**
 * Replaces the body with a copy of `data[0..len]` (`data` may be NULL when
 * `len` is 0). The body may hold any bytes.
 *
 * Note that a chunk is encoded with a body part (a blank line after the
 * headers) when it has data or a Content-Type header. Invalidates strings
 * and body pointers previously read from the chunk.
 */
msgwire_status msgwire_msrp_chunk_set_body(struct msgwire_msrp_chunk *chunk,
                                           const uint8_t *data,
                                           size_t len);

/**
 * Sets the continuation flag: `'$'`, `'+'` or `'#'`; any other character
 * is `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_chunk_set_flag(struct msgwire_msrp_chunk *chunk, char flag);

/**
 * Encodes the whole chunk (start line, headers in RFC 4975 order, body,
 * end-line) into `buf`, byte for byte as the core's `Chunk::encode`.
 *
 * Copies into the caller's buffer: on success `*out_len` receives the
 * number of bytes written (no NUL is added: the chunk may hold binary
 * data). When `cap` is smaller than the encoding, nothing is copied,
 * `*out_len` still receives the needed size and `MSGWIRE_BUFFER_TOO_SMALL`
 * is returned; `buf` may be NULL when `cap` is 0, to ask for the size.
 */
msgwire_status msgwire_msrp_chunk_encode(const struct msgwire_msrp_chunk *chunk,
                                         uint8_t *buf,
                                         size_t cap,
                                         size_t *out_len);

/**
 * The response a receiver owes for `request` after handling it with
 * `code` (RFC 4975 section 7.2), as the core's `make_response`.
 *
 * On success `*out` receives a new chunk to release with
 * `msgwire_msrp_chunk_free`, or NULL when no response is due
 * (`Failure-Report: no`, or `partial` with code 200); both return
 * `MSGWIRE_OK`. `comment` may be NULL. Fails with a
 * `MSGWIRE_MSRP_HEADER_*` status when To-Path, From-Path or Failure-Report
 * is missing or malformed, and with `MSGWIRE_INVALID_ARGUMENT` for a code
 * above 999 or a comment containing CR or LF.
 */
msgwire_status msgwire_msrp_make_response(const struct msgwire_msrp_chunk *request,
                                          uint16_t code,
                                          const char *comment,
                                          struct msgwire_msrp_chunk **out);

/**
 * The REPORT a receiver owes for `request` after handling it with `code`
 * (RFC 4975 section 7.1.2), as the core's `make_report`: when Success-Report is
 * `yes`, or for a failure (`code` other than 200) unless Failure-Report is
 * `no`. The REPORT gets a fresh random transaction id.
 *
 * On success `*out` receives a new chunk to release with
 * `msgwire_msrp_chunk_free`, or NULL when no REPORT is due; both return
 * `MSGWIRE_OK`. `comment` may be NULL. Fails with a
 * `MSGWIRE_MSRP_HEADER_*` status when a header it needs (To-Path,
 * From-Path, Message-ID, the report headers, Byte-Range) is missing or
 * malformed, and with `MSGWIRE_INVALID_ARGUMENT` for a code above 999 or a
 * comment containing CR or LF.
 */
msgwire_status msgwire_msrp_make_report(const struct msgwire_msrp_chunk *request,
                                        uint16_t code,
                                        const char *comment,
                                        struct msgwire_msrp_chunk **out);

/**
 * Builds a SEND carrying the whole message `data[0..len]` in one chunk,
 * as the core's `ChunkBuilder`: random transaction id and Message-ID,
 * To-Path and From-Path as given (encoded path values: URIs separated by
 * spaces), `Byte-Range: 1-len/len`, Content-Type when `content_type` is not
 * NULL, and flag `'$'`.
 *
 * `data` may be NULL when `len` is 0. The paths and the content type must
 * not contain CR or LF (`MSGWIRE_INVALID_ARGUMENT`) and the result must
 * pass `msgwire_msrp_chunk_verify_headers` (else its
 * `MSGWIRE_MSRP_HEADER_*` status). On success `*out` receives a new chunk
 * to release with `msgwire_msrp_chunk_free`.
 */
msgwire_status msgwire_msrp_chunk_build_send(const char *to_path,
                                             const char *from_path,
                                             const uint8_t *data,
                                             size_t len,
                                             const char *content_type,
                                             struct msgwire_msrp_chunk **out);

/**
 * The transaction id. `*out` is valid during the `on_start` call only.
 */
msgwire_status msgwire_msrp_head_transaction_id(const struct msgwire_msrp_head *head,
                                                struct msgwire_str *out);

/**
 * Writes `true` to `*out` for a request, `false` for a response.
 */
msgwire_status msgwire_msrp_head_is_request(const struct msgwire_msrp_head *head, bool *out);

/**
 * The method of a request; `MSGWIRE_NOT_FOUND` for a response. `*out` is
 * valid during the `on_start` call only.
 */
msgwire_status msgwire_msrp_head_method(const struct msgwire_msrp_head *head,
                                        struct msgwire_str *out);

/**
 * The status code of a response; `MSGWIRE_NOT_FOUND` for a request.
 */
msgwire_status msgwire_msrp_head_code(const struct msgwire_msrp_head *head, uint16_t *out);

/**
 * The comment of a response; `MSGWIRE_NOT_FOUND` for a request or a
 * response without one. `*out` is valid during the `on_start` call only.
 */
msgwire_status msgwire_msrp_head_comment(const struct msgwire_msrp_head *head,
                                         struct msgwire_str *out);

/**
 * The value of the first header called `name` (compared without ASCII
 * case); `MSGWIRE_NOT_FOUND` when absent. `*out` is valid during the
 * `on_start` call only.
 */
msgwire_status msgwire_msrp_head_header(const struct msgwire_msrp_head *head,
                                        const char *name,
                                        struct msgwire_str *out);

/**
 * The number of header lines.
 */
msgwire_status msgwire_msrp_head_header_count(const struct msgwire_msrp_head *head, size_t *out);

/**
 * The header at `index` (0-based, in the order received);
 * `MSGWIRE_INVALID_ARGUMENT` when `index` is not below the count. The
 * strings are valid during the `on_start` call only.
 */
msgwire_status msgwire_msrp_head_header_at(const struct msgwire_msrp_head *head,
                                           size_t index,
                                           struct msgwire_str *out_name,
                                           struct msgwire_str *out_value);

/**
 * The start line and header lines exactly as received, CRLFs included
 * (and the blank line that opens a body, when there is one). `*out` is
 * valid during the `on_start` call only.
 */
msgwire_status msgwire_msrp_head_raw(const struct msgwire_msrp_head *head, struct msgwire_str *out);

/**
 * Copies the head into a new chunk (start line and headers, empty body,
 * flag `'$'`) that outlives the callback, e.g. to pass to
 * `msgwire_msrp_make_response` or to collect the body into with
 * `msgwire_msrp_chunk_set_body`. Release it with `msgwire_msrp_chunk_free`.
 */
msgwire_status msgwire_msrp_head_to_chunk(const struct msgwire_msrp_head *head,
                                          struct msgwire_msrp_chunk **out);

/**
 * Fills `*cfg` with the default limits (those used when
 * `msgwire_msrp_parser_new` gets NULL).
 */
msgwire_status msgwire_msrp_parser_config_default(struct msgwire_msrp_parser_config *cfg);

/**
 * Creates a parser with the limits in `*cfg`, or the defaults when `cfg`
 * is NULL. The configuration is copied. On success `*out` receives a new
 * parser to release with `msgwire_msrp_parser_free`.
 */
msgwire_status msgwire_msrp_parser_new(const struct msgwire_msrp_parser_config *cfg,
                                       struct msgwire_msrp_parser **out);

/**
 * Releases a parser, discarding any partial chunk. NULL is ignored. Must
 * not be called from one of the parser's own callbacks.
 */
void msgwire_msrp_parser_free(struct msgwire_msrp_parser *parser);

/**
 * Parses `data[0..len]`, calling the callbacks in `*callbacks` (NULL: no
 * callbacks) with `user_data` for every event, until the input is used up.
 *
 * On `MSGWIRE_OK` all `len` bytes were consumed and `*consumed` is `len`;
 * a chunk may be left incomplete, to be continued by the next call.
 *
 * On the first protocol error it stops and returns that
 * `MSGWIRE_MSRP_PARSE_*` status; `*consumed` tells how many bytes were
 * used (the events for them have been delivered), `msgwire_last_error()`
 * describes the error and `msgwire_msrp_parser_error_tid` gives the
 * transaction id when the start line had been read (a receiver should
 * then answer that request with 400). The parser recovers by itself
 * (skipping the rest of the bad chunk, or up to the next line starting
 * with `MSRP `): call again with the remaining
 * `data + *consumed, len - *consumed` to go on. `*consumed` is written on
 * both of these outcomes, and not for NULL arguments.
 *
 * `data` may be NULL when `len` is 0. The callbacks run on the calling
 * thread, inside this call; they must not call functions on this parser.
 */
msgwire_status msgwire_msrp_parser_feed(struct msgwire_msrp_parser *parser,
                                        const struct msgwire_msrp_callbacks *callbacks,
                                        void *user_data,
                                        const uint8_t *data,
                                        size_t len,
                                        size_t *consumed);

/**
 * Tells the parser the input has ended (e.g. the connection closed).
 *
 * Returns `MSGWIRE_OK` when it was between chunks, or
 * `MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF` when a chunk was left incomplete
 * (`msgwire_msrp_parser_error_tid` then gives its transaction id). Either
 * way the parser is reset and can parse a new stream.
 */
msgwire_status msgwire_msrp_parser_finish(struct msgwire_msrp_parser *parser);

/**
 * Copies the transaction id of the chunk in which the parser's last error
 * (from `msgwire_msrp_parser_feed` or `msgwire_msrp_parser_finish`)
 * occurred into `buf`.
 *
 * Returns `MSGWIRE_NOT_FOUND` when there was no error yet or the error
 * came before a transaction id was read (e.g. a malformed start line).
 * Copies into the caller's buffer like `msgwire_msrp_uri_format`: text plus
 * NUL, `*out_len` the length without the NUL, `MSGWIRE_BUFFER_TOO_SMALL`
 * (with `*out_len` set) when `cap` is not above it. Transaction ids are at
 * most 32 bytes.
 */
msgwire_status msgwire_msrp_parser_error_tid(const struct msgwire_msrp_parser *parser,
                                             char *buf,
                                             size_t cap,
                                             size_t *out_len);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* MSGWIRE_H */
