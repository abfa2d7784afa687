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
 * 1100-1199 MSRP header errors, 1200-1299 MSRP parse errors, 1300-1399
 * MSRP endpoint errors (binding, transports and sessions), 1400-1499 TLS
 * configuration errors, 1500-1599 MSRP transfer errors, 1600-1699 STS/1.0
 * errors, 1700-1739 serverResponse errors, 1800-1819 ministreaming
 * errors, 1900-1919 Message/CPIM errors, 1920-1939 SDP media errors,
 * 2000-2019 MSRP relay client errors, 2020-2039 MSRP relay server
 * errors, 2100-2139 MSRP chat errors.
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
  /**
   * MSRP endpoint: the remote path given to `_complete` holds no URI.
   */
  MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH = 1300,
  /**
   * MSRP endpoint: the peer's host could not be resolved, or every
   * address refused the TCP connection.
   */
  MSGWIRE_MSRP_ENDPOINT_CONNECT = 1301,
  /**
   * MSRP endpoint: the TCP connection was not established within the
   * connect timeout.
   */
  MSGWIRE_MSRP_ENDPOINT_CONNECT_TIMEOUT = 1302,
  /**
   * MSRP endpoint: the acceptor could not listen (address in use, bad
   * host, ...).
   */
  MSGWIRE_MSRP_ENDPOINT_LISTEN = 1303,
  /**
   * MSRP endpoint: no peer connected within the incoming-connect timeout.
   */
  MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT = 1304,
  /**
   * MSRP endpoint: the bind exchange did not finish within the bind
   * timeout.
   */
  MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT = 1305,
  /**
   * MSRP endpoint: the peer answered the bind SEND with a failure (the
   * code is in the message; 481 when it does not know our paths).
   */
  MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED = 1306,
  /**
   * MSRP endpoint: the peer's bind SEND does not name this session; it
   * was answered 481.
   */
  MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH = 1307,
  /**
   * MSRP endpoint: the peer sent something other than the bind exchange.
   */
  MSGWIRE_MSRP_ENDPOINT_BIND_UNEXPECTED = 1308,
  /**
   * MSRP endpoint: the peer's bytes during binding are not MSRP.
   */
  MSGWIRE_MSRP_ENDPOINT_BIND_PROTOCOL = 1309,
  /**
   * MSRP endpoint: the peer closed the connection during binding.
   */
  MSGWIRE_MSRP_ENDPOINT_BIND_CLOSED = 1310,
  /**
   * MSRP endpoint: an I/O error on the socket.
   */
  MSGWIRE_MSRP_ENDPOINT_IO = 1311,
  /**
   * MSRP endpoint: the session is closed or shutting down, or the
   * connection ended before the response came.
   */
  MSGWIRE_MSRP_ENDPOINT_CLOSED = 1312,
  /**
   * MSRP endpoint: a request with this transaction id is still waiting
   * for its response.
   */
  MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION = 1313,
  /**
   * MSRP endpoint: the request was answered with a non-2xx status, by
   * the peer or locally (408) after the response timeout; the message
   * gives the code and comment.
   */
  MSGWIRE_MSRP_ENDPOINT_RESPONSE = 1314,
  /**
   * MSRP endpoint: the request's own headers are malformed (e.g. a bad
   * Failure-Report), so it cannot be sent.
   */
  MSGWIRE_MSRP_ENDPOINT_HEADER = 1315,
  /**
   * MSRP endpoint: an `msrps` URI was used without a TLS configuration.
   */
  MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED = 1316,
  /**
   * MSRP endpoint: the TLS handshake failed (untrusted or mismatched
   * certificate, a peer without TLS, timeout); the message says which.
   */
  MSGWIRE_MSRP_ENDPOINT_TLS = 1317,
  /**
   * MSRP endpoint: the peer closed the connection while a chunk was
   * being read from a bound transport.
   */
  MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED = 1318,
  /**
   * MSRP endpoint: a bound transport read bytes that are not MSRP.
   */
  MSGWIRE_MSRP_ENDPOINT_PROTOCOL = 1319,
  /**
   * MSRP endpoint: a session cannot take over a transport in the middle
   * of a chunk already partly read in segments.
   */
  MSGWIRE_MSRP_ENDPOINT_MID_CHUNK = 1320,
  /**
   * MSRP endpoint: no chunk arrived on a bound transport within the
   * timeout given to `msgwire_msrp_transport_read_chunk`. Nothing is
   * lost: a partly received chunk stays buffered for the next read.
   */
  MSGWIRE_MSRP_ENDPOINT_TIMEOUT = 1321,
  /**
   * TLS configuration: a certificate, key or CA file could not be read
   * (the message names the file and the system error).
   */
  MSGWIRE_TLS_FILE = 1400,
  /**
   * TLS configuration: the input is not well-formed PEM (bad base64, a
   * section without its end line, ...).
   */
  MSGWIRE_TLS_BAD_PEM = 1401,
  /**
   * TLS configuration: the certificate chain or CA input holds no
   * `CERTIFICATE` section.
   */
  MSGWIRE_TLS_NO_CERTIFICATES = 1402,
  /**
   * TLS configuration: the key input holds no private key (`PRIVATE KEY`,
   * `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
   */
  MSGWIRE_TLS_NO_PRIVATE_KEY = 1403,
  /**
   * TLS configuration: a CA certificate cannot be used as a trust anchor.
   */
  MSGWIRE_TLS_BAD_CA_CERTIFICATE = 1404,
  /**
   * TLS configuration: the TLS library refused the configuration (an
   * unsupported key type, a key that does not belong to the
   * certificate, ...).
   */
  MSGWIRE_TLS_CONFIG = 1405,
  /**
   * MSRP transfer: a file to send could not be opened, read or
   * positioned, or is not a regular file; or a sink directory is not a
   * directory (the message names the path and the system error).
   */
  MSGWIRE_MSRP_TRANSFER_FILE = 1500,
  /**
   * MSRP transfer: the session refused a message as given (e.g. a
   * malformed Failure-Report, a resume position past the size).
   */
  MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE = 1501,
  /**
   * STS parse: the start line is neither `METHOD SP URI SP STS/1.0` nor
   * `STS/1.0 SP CODE [SP REASON]`.
   */
  MSGWIRE_STS_PARSE_BAD_START_LINE = 1600,
  /**
   * STS parse: the start line names another protocol or version
   * (`HTTP/1.1 200 OK`, `STS/2.0`).
   */
  MSGWIRE_STS_PARSE_BAD_VERSION = 1601,
  /**
   * STS parse: a header line has no colon, an empty or spaced name, is
   * folded or holds control characters.
   */
  MSGWIRE_STS_PARSE_BAD_HEADER_LINE = 1602,
  /**
   * STS parse: the header section is larger than the parser's limit
   * (32 KiB).
   */
  MSGWIRE_STS_PARSE_HEADER_TOO_LARGE = 1603,
  /**
   * STS parse: the declared body is larger than the parser's limit
   * (64 KiB).
   */
  MSGWIRE_STS_PARSE_BODY_TOO_LARGE = 1604,
  /**
   * STS parse: `Content-Length` is not a decimal number, or two
   * occurrences disagree.
   */
  MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH = 1605,
  /**
   * STS parse: the input ends before the message does.
   */
  MSGWIRE_STS_PARSE_INCOMPLETE = 1606,
  /**
   * STS parse: bytes follow the message.
   */
  MSGWIRE_STS_PARSE_TRAILING_DATA = 1607,
  /**
   * STS: the message cannot be put on the wire as it is (an empty or
   * spaced method or URI, CR or LF in a value, a status code outside
   * 100-999, a bad header name); the message says which.
   */
  MSGWIRE_STS_INVALID_MESSAGE = 1608,
  /**
   * STS error reply: the body is not well-formed XML with exactly one
   * root element.
   */
  MSGWIRE_STS_ERROR_XML = 1609,
  /**
   * STS error reply: an integer attribute (`code`, `server`, `module`,
   * `line`) is not an integer.
   */
  MSGWIRE_STS_ERROR_ATTRIBUTE = 1610,
  /**
   * STS: the client could not connect (the host does not resolve, or
   * every address refused the connection).
   */
  MSGWIRE_STS_CONNECT = 1611,
  /**
   * STS: the server could not listen on the address (in use, not
   * local, malformed).
   */
  MSGWIRE_STS_LISTEN = 1612,
  /**
   * STS: the connection is closed (or the server shut down).
   */
  MSGWIRE_STS_CLOSED = 1613,
  /**
   * STS: every transaction id of the connection is in use.
   */
  MSGWIRE_STS_TOO_MANY_TRANSACTIONS = 1614,
  /**
   * STS: the request was already answered with a final reply.
   */
  MSGWIRE_STS_ANSWERED = 1615,
  /**
   * STS: the request was answered with an error reply (status 400 or
   * above); the message gives the status, code and text.
   */
  MSGWIRE_STS_ERROR_REPLY = 1616,
  /**
   * STS: nothing arrived within the timeout (a request's reply, or a
   * message for `msgwire_sts_client_read`).
   */
  MSGWIRE_STS_TIMEOUT = 1617,
  /**
   * STS: the peer's replies cannot be used: out of sequence, a broken
   * fragment, a malformed error body, several replies where one was
   * expected, or the connection closed during the request.
   */
  MSGWIRE_STS_BAD_SERVER_DATA = 1618,
  /**
   * STS: an I/O error outside connecting and listening (starting the
   * connection's threads, reading the local address).
   */
  MSGWIRE_STS_IO = 1619,
  /**
   * serverResponse parse: the document is not well-formed XML (e.g. an
   * attribute value missing its closing quote, mismatched tags).
   */
  MSGWIRE_SR_PARSE_XML = 1700,
  /**
   * serverResponse parse: the document is not UTF-8.
   */
  MSGWIRE_SR_PARSE_NOT_UTF8 = 1701,
  /**
   * serverResponse parse: there is no root element.
   */
  MSGWIRE_SR_PARSE_EMPTY = 1702,
  /**
   * serverResponse parse: the root element is not `<serverResponse>`.
   */
  MSGWIRE_SR_PARSE_NOT_SERVER_RESPONSE = 1703,
  /**
   * serverResponse parse: neither or both of `<results>` and `<faults>`,
   * or content outside the root element.
   */
  MSGWIRE_SR_PARSE_STRUCTURE = 1704,
  /**
   * serverResponse parse: a result, item, fault, list or lists element
   * has no `id`.
   */
  MSGWIRE_SR_PARSE_MISSING_ID = 1705,
  /**
   * serverResponse parse: the document is larger than the limit.
   */
  MSGWIRE_SR_PARSE_TOO_LARGE = 1706,
  /**
   * serverResponse parse: elements nest deeper than the limit.
   */
  MSGWIRE_SR_PARSE_TOO_DEEP = 1707,
  /**
   * serverResponse: writing the document failed (the write callback
   * returned non-zero, or the client went away).
   */
  MSGWIRE_SR_WRITE = 1708,
  /**
   * serverResponse: the writer calls came in an impossible order (an
   * item outside a row, a fault after results, anything after finish).
   */
  MSGWIRE_SR_WRITE_ORDER = 1709,
  /**
   * serverResponse: the server could not listen on the address.
   */
  MSGWIRE_SR_LISTEN = 1710,
  /**
   * serverResponse client: the URL is not `http://host[:port]/path`.
   */
  MSGWIRE_SR_BAD_URL = 1711,
  /**
   * serverResponse client: no connection could be made.
   */
  MSGWIRE_SR_CONNECT = 1712,
  /**
   * serverResponse client: the exchange did not finish within the timeout.
   */
  MSGWIRE_SR_TIMEOUT = 1713,
  /**
   * serverResponse client: the reply is not valid HTTP, too large, or the
   * connection failed while talking (TLS handshakes: `MSGWIRE_SR_TLS`).
   */
  MSGWIRE_SR_BAD_REPLY = 1714,
  /**
   * serverResponse client: an HTTP error status whose body is not a
   * serverResponse document (the message gives the status).
   */
  MSGWIRE_SR_HTTP_ERROR = 1715,
  /**
   * serverResponse client: a success status whose body is not a
   * serverResponse document (the message says why).
   */
  MSGWIRE_SR_DOCUMENT = 1716,
  /**
   * serverResponse client: the TLS handshake with an `https://` server
   * failed (a certificate not issued by a trusted CA or not for the
   * host, a server without TLS, a handshake timeout); the message says
   * which.
   */
  MSGWIRE_SR_TLS = 1720,
  /**
   * ministreaming: the peer refused the stream (nobody accepts streams there, or nobody called accept in time).
   */
  MSGWIRE_MINISTREAM_REFUSED = 1800,
  /**
   * ministreaming: a connect, accept, read, write or ping did not finish within its timeout. The stream (if any) is still usable.
   */
  MSGWIRE_MINISTREAM_TIMEOUT = 1801,
  /**
   * ministreaming: the peer closed the stream while we were still writing; the bytes will never be read.
   */
  MSGWIRE_MINISTREAM_RESET = 1802,
  /**
   * ministreaming: the stream was closed by this side, or the manager was destroyed.
   */
  MSGWIRE_MINISTREAM_CLOSED = 1803,
  /**
   * ministreaming: the transport connection carrying the stream failed (or could not be opened).
   */
  MSGWIRE_MINISTREAM_TRANSPORT = 1804,
  /**
   * ministreaming: a destination the transport cannot use (not `host:port` for TCP; no such manager in memory).
   */
  MSGWIRE_MINISTREAM_DESTINATION = 1805,
  /**
   * ministreaming: the manager could not listen on the address (in use, not local, malformed).
   */
  MSGWIRE_MINISTREAM_LISTEN = 1806,
  /**
   * ministreaming: bytes that are not a frame (too short, id 00 00 00, type outside the ranges).
   */
  MSGWIRE_MINISTREAM_FRAME = 1807,
  /**
   * CPIM parse: the CPIM body is empty.
   */
  MSGWIRE_CPIM_EMPTY = 1900,
  /**
   * CPIM parse: the message headers are not followed by an empty line.
   */
  MSGWIRE_CPIM_MISSING_HEADER_END = 1901,
  /**
   * CPIM parse: the payload's MIME headers are not followed by an empty line.
   */
  MSGWIRE_CPIM_MISSING_CONTENT_HEADER_END = 1902,
  /**
   * CPIM parse: a line ends in LF without CR.
   */
  MSGWIRE_CPIM_BARE_LINE_FEED = 1903,
  /**
   * CPIM parse: a header line is not valid UTF-8.
   */
  MSGWIRE_CPIM_INVALID_UTF8 = 1904,
  /**
   * CPIM parse: a header line has no colon.
   */
  MSGWIRE_CPIM_MISSING_COLON = 1905,
  /**
   * CPIM parse: a header name is empty or holds characters RFC 3862 does not allow.
   */
  MSGWIRE_CPIM_BAD_HEADER_NAME = 1906,
  /**
   * CPIM parse: a message header's colon is not followed by one space.
   */
  MSGWIRE_CPIM_MISSING_SPACE = 1907,
  /**
   * CPIM parse: a `;name=value` header parameter is malformed.
   */
  MSGWIRE_CPIM_BAD_PARAMETER = 1908,
  /**
   * CPIM parse: a header name uses a prefix no earlier NS header declared.
   */
  MSGWIRE_CPIM_UNDECLARED_PREFIX = 1909,
  /**
   * CPIM parse: an NS value is not `[prefix] <uri>`.
   */
  MSGWIRE_CPIM_BAD_NAMESPACE = 1910,
  /**
   * CPIM parse: a From, To or cc value is not `[display name] <uri>`.
   */
  MSGWIRE_CPIM_BAD_ADDRESS = 1911,
  /**
   * CPIM parse: a DateTime value is not an RFC 3339 date-time with a time zone.
   */
  MSGWIRE_CPIM_BAD_DATETIME = 1912,
  /**
   * CPIM parse: a Require value is not a comma-separated list of header names.
   */
  MSGWIRE_CPIM_BAD_REQUIRE = 1913,
  /**
   * CPIM build: a value cannot be encoded (a URI without a scheme, a bad
   * header name, a control character, one prefix for two namespaces).
   */
  MSGWIRE_CPIM_INVALID_MESSAGE = 1914,
  /**
   * SDP parse: the text is empty or does not start with an `m=` line.
   */
  MSGWIRE_SDP_MISSING_MEDIA_LINE = 1920,
  /**
   * SDP parse: the `m=` line is not `message <port> <protocol> <format>...`.
   */
  MSGWIRE_SDP_BAD_MEDIA_LINE = 1921,
  /**
   * SDP parse: the `m=` line's media is not `message`.
   */
  MSGWIRE_SDP_NOT_MESSAGE = 1922,
  /**
   * SDP parse: the `m=` protocol is neither `TCP/MSRP` nor `TCP/TLS/MSRP`.
   */
  MSGWIRE_SDP_UNSUPPORTED_PROTOCOL = 1923,
  /**
   * SDP parse: a second `m=` line: the text holds more than one media section.
   */
  MSGWIRE_SDP_EXTRA_MEDIA_LINE = 1924,
  /**
   * SDP parse: a line is not `<letter>=<text>`, or an `a=` line has no name.
   */
  MSGWIRE_SDP_BAD_LINE = 1925,
  /**
   * SDP parse: the `c=` line is not `<net type> <address type> <address>`.
   */
  MSGWIRE_SDP_BAD_CONNECTION = 1926,
  /**
   * SDP parse: a line that may appear once appears again (`c=`, `a=path`, ...).
   */
  MSGWIRE_SDP_DUPLICATE_LINE = 1927,
  /**
   * SDP parse: a URI of `a=path` is invalid.
   */
  MSGWIRE_SDP_BAD_PATH = 1928,
  /**
   * SDP parse: an accept-types list has an unterminated quoted string.
   */
  MSGWIRE_SDP_BAD_FORMAT_LIST = 1929,
  /**
   * SDP parse: `a=max-size` is not a number of octets.
   */
  MSGWIRE_SDP_BAD_MAX_SIZE = 1930,
  /**
   * SDP parse: `a=setup` is not `active`, `passive`, `actpass` or `holdconn`.
   */
  MSGWIRE_SDP_BAD_SETUP = 1931,
  /**
   * SDP parse: `a=path` or an accept list has no entry.
   */
  MSGWIRE_SDP_EMPTY_VALUE = 1932,
  /**
   * SDP build: a media description cannot be encoded (a line break in a
   * value, a bad attribute name, an invalid path URI, no format).
   */
  MSGWIRE_SDP_INVALID_MEDIA = 1933,
  /**
   * MSRP relay: a digest challenge or answer that cannot be read or
   * used (e.g. an algorithm other than MD5).
   */
  MSGWIRE_MSRP_RELAY_BAD_DIGEST = 2000,
  /**
   * MSRP relay: the relay refused authentication (a second 401, 403, a
   * 423 after the retry): legacy `MSRPRelayAuthError`.
   */
  MSGWIRE_MSRP_RELAY_AUTH_REJECTED = 2001,
  /**
   * MSRP relay: no answer to an AUTH in time: legacy `MSRPAuthTimeout`.
   */
  MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT = 2002,
  /**
   * MSRP relay: the connection to the relay was not made in time:
   * legacy `MSRPRelayConnectTimeout`.
   */
  MSGWIRE_MSRP_RELAY_CONNECT_TIMEOUT = 2003,
  /**
   * MSRP relay: the relay's answer breaks the protocol (a 200 without
   * Use-Path, an unreadable header).
   */
  MSGWIRE_MSRP_RELAY_BAD_RESPONSE = 2004,
  /**
   * MSRP relay: `_complete` without a successful `_prepare`.
   */
  MSGWIRE_MSRP_RELAY_NOT_PREPARED = 2005,
  /**
   * MSRP relay discovery: no DNS server answered.
   */
  MSGWIRE_MSRP_RELAY_DNS_NO_ANSWER = 2006,
  /**
   * MSRP relay discovery: the domain is not a valid DNS name.
   */
  MSGWIRE_MSRP_RELAY_BAD_DOMAIN = 2007,
  /**
   * MSRP relay discovery: neither SRV records nor addresses for the
   * domain.
   */
  MSGWIRE_MSRP_RELAY_NOT_FOUND = 2008,
  /**
   * MSRP relay server: the users file cannot be read or has a line in
   * neither `user:realm:HA1` nor `user:password` form.
   */
  MSGWIRE_RELAY_SERVER_USERS = 2020,
  /**
   * MSRP relay server: the configuration cannot work (no listener, a TLS
   * address without certificate, expires bounds out of order, a bad
   * realm or address).
   */
  MSGWIRE_RELAY_SERVER_CONFIG = 2021,
  /**
   * MSRP relay server: a listening address (or the status server's)
   * cannot be bound.
   */
  MSGWIRE_RELAY_SERVER_LISTEN = 2022,
  /**
   * MSRP relay server: the certificate or key for the TLS listener
   * cannot be read or used.
   */
  MSGWIRE_RELAY_SERVER_TLS = 2023,
  /**
   * MSRP chat: the call does not fit the chat's state (start before
   * initialize, initialize twice).
   */
  MSGWIRE_CHAT_STATE = 2100,
  /**
   * MSRP chat: the chat has ended or failed; nothing more can be sent.
   */
  MSGWIRE_CHAT_CLOSED = 2101,
  /**
   * MSRP chat: the peer accepts neither message/cpim (with this type
   * inside) nor this type.
   */
  MSGWIRE_CHAT_NOT_ACCEPTED = 2102,
  /**
   * MSRP chat: a private message needs message/cpim, which the peer does
   * not accept.
   */
  MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM = 2103,
  /**
   * MSRP chat: the peer's media cannot be used (no a=path, both sides
   * active).
   */
  MSGWIRE_CHAT_NEGOTIATION = 2104,
  /**
   * MSRP chat: the relay failed (authentication, discovery, timeout).
   */
  MSGWIRE_CHAT_RELAY = 2105,
  /**
   * MSRP chat: an is-composing document could not be built.
   */
  MSGWIRE_CHAT_IS_COMPOSING = 2106,
};
#ifndef __cplusplus
typedef uint32_t msgwire_status;
#endif // __cplusplus

/**
 * What a chat notification is (`name` in the event spells the legacy
 * notification name).
 */
enum msgwire_chat_event_kind
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `MSRPChatDidInitialize`: `media` is the local media.
   */
  MSGWIRE_CHAT_EVENT_KIND_DID_INITIALIZE = 0,
  /**
   * `MSRPChatDidStart`.
   */
  MSGWIRE_CHAT_EVENT_KIND_DID_START = 1,
  /**
   * `MSRPChatWillEnd`.
   */
  MSGWIRE_CHAT_EVENT_KIND_WILL_END = 2,
  /**
   * `MSRPChatDidEnd`.
   */
  MSGWIRE_CHAT_EVENT_KIND_DID_END = 3,
  /**
   * `MSRPChatDidFail`: `context` and `reason`.
   */
  MSGWIRE_CHAT_EVENT_KIND_DID_FAIL = 4,
  /**
   * `MSRPChatGotMessage`: `content`, `content_type`, `cpim_headers`,
   * `message`, `message_id`.
   */
  MSGWIRE_CHAT_EVENT_KIND_GOT_MESSAGE = 5,
  /**
   * `MSRPChatDidDeliverMessage`: `message_id`, `code`, `reason`,
   * `message` (the REPORT).
   */
  MSGWIRE_CHAT_EVENT_KIND_DID_DELIVER_MESSAGE = 6,
  /**
   * `MSRPChatDidNotDeliverMessage`: as above; `message` is the REPORT or
   * the response; `local` when decided locally.
   */
  MSGWIRE_CHAT_EVENT_KIND_DID_NOT_DELIVER_MESSAGE = 7,
  /**
   * `MSRPChatGotComposingIndication`: `state`, `refresh`,
   * `last_active`, `content_type`; `local` for the idle posted when an
   * active indication's refresh passed.
   */
  MSGWIRE_CHAT_EVENT_KIND_GOT_COMPOSING_INDICATION = 8,
};
#ifndef __cplusplus
typedef uint32_t msgwire_chat_event_kind;
#endif // __cplusplus

/**
 * An is-composing state (RFC 3994).
 */
enum msgwire_chat_composing_state
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `idle`.
   */
  MSGWIRE_CHAT_COMPOSING_STATE_IDLE = 0,
  /**
   * `active`.
   */
  MSGWIRE_CHAT_COMPOSING_STATE_ACTIVE = 1,
};
#ifndef __cplusplus
typedef uint32_t msgwire_chat_composing_state;
#endif // __cplusplus

/**
 * Which header an identity goes to (`msgwire_cpim_builder_add_identity`).
 */
enum msgwire_cpim_role
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `From` (one; a second call replaces the first).
   */
  MSGWIRE_CPIM_ROLE_FROM = 0,
  /**
   * `To` (each call adds one).
   */
  MSGWIRE_CPIM_ROLE_TO = 1,
  /**
   * `cc` (each call adds one).
   */
  MSGWIRE_CPIM_ROLE_CC = 2,
};
#ifndef __cplusplus
typedef uint32_t msgwire_cpim_role;
#endif // __cplusplus

/**
 * Why an incoming message was dropped (`on_message_aborted`).
 */
enum msgwire_msrp_abort_reason
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * A reason this version of the header does not name.
   */
  MSGWIRE_MSRP_ABORT_REASON_OTHER = 0,
  /**
   * The sender abandoned it (a chunk ended with `#`).
   */
  MSGWIRE_MSRP_ABORT_REASON_SENDER = 1,
  /**
   * Larger than `max_message_size` (or in too many pieces); answered 413.
   */
  MSGWIRE_MSRP_ABORT_REASON_TOO_LARGE = 2,
  /**
   * The sink could not open, write or finish it; answered 413.
   */
  MSGWIRE_MSRP_ABORT_REASON_STORAGE = 3,
  /**
   * A chunk of it was rejected (e.g. 415 for its Content-Type).
   */
  MSGWIRE_MSRP_ABORT_REASON_INVALID = 4,
  /**
   * The connection closed before it was complete.
   */
  MSGWIRE_MSRP_ABORT_REASON_CLOSED = 5,
  /**
   * Pushed out to bound what incomplete messages hold (too many at
   * once, or those in memory too large together); answered 413.
   */
  MSGWIRE_MSRP_ABORT_REASON_CROWDED = 6,
};
#ifndef __cplusplus
typedef uint32_t msgwire_msrp_abort_reason;
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
 * Which side of the bind a relayed endpoint plays.
 */
enum msgwire_msrp_relay_mode
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * Sends the bind SEND through the relay (usually the SDP offerer).
   */
  MSGWIRE_MSRP_RELAY_MODE_ACTIVE = 0,
  /**
   * Waits for the peer's bind SEND, relayed to us.
   */
  MSGWIRE_MSRP_RELAY_MODE_PASSIVE = 1,
};
#ifndef __cplusplus
typedef uint32_t msgwire_msrp_relay_mode;
#endif // __cplusplus

/**
 * The protocol of the `m=` line.
 */
enum msgwire_sdp_protocol
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `TCP/MSRP` (`msrp://` URIs).
   */
  MSGWIRE_SDP_PROTOCOL_TCP = 0,
  /**
   * `TCP/TLS/MSRP` (`msrps://` URIs).
   */
  MSGWIRE_SDP_PROTOCOL_TLS = 1,
};
#ifndef __cplusplus
typedef uint32_t msgwire_sdp_protocol;
#endif // __cplusplus

/**
 * Which list of media types a function reads or extends.
 */
enum msgwire_sdp_types
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `a=accept-types`.
   */
  MSGWIRE_SDP_TYPES_ACCEPT = 0,
  /**
   * `a=accept-wrapped-types`.
   */
  MSGWIRE_SDP_TYPES_ACCEPT_WRAPPED = 1,
};
#ifndef __cplusplus
typedef uint32_t msgwire_sdp_types;
#endif // __cplusplus

/**
 * The `a=setup` role (RFC 6135).
 */
enum msgwire_sdp_setup
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * `active`: this endpoint opens the connection.
   */
  MSGWIRE_SDP_SETUP_ACTIVE = 0,
  /**
   * `passive`: this endpoint waits for it.
   */
  MSGWIRE_SDP_SETUP_PASSIVE = 1,
  /**
   * `actpass`: either; the answerer chooses.
   */
  MSGWIRE_SDP_SETUP_ACTPASS = 2,
  /**
   * `holdconn`: not to be sent; a receiver treats it as absent.
   */
  MSGWIRE_SDP_SETUP_HOLDCONN = 3,
};
#ifndef __cplusplus
typedef uint32_t msgwire_sdp_setup;
#endif // __cplusplus

/**
 * What a `msgwire_sr_parse_events` callback is told, and what its `id`
 * and `value` then hold (empty strings where nothing is said).
 */
typedef enum msgwire_sr_event_kind {
  /**
   * `<results>` opened: `id` is the `server` attribute, `value` the
   * `service`.
   */
  MSGWIRE_SR_EVENT_KIND_BEGIN_RESULTS = 0,
  /**
   * `<faults>` opened: `id` is the `server` attribute, `value` the
   * `service`.
   */
  MSGWIRE_SR_EVENT_KIND_BEGIN_FAULTS = 1,
  /**
   * A `<result id value/>`.
   */
  MSGWIRE_SR_EVENT_KIND_RESULT = 2,
  /**
   * A `<lists id>` table opened.
   */
  MSGWIRE_SR_EVENT_KIND_BEGIN_LISTS = 3,
  /**
   * A `<list id>` row of the open table opened.
   */
  MSGWIRE_SR_EVENT_KIND_BEGIN_ROW = 4,
  /**
   * An `<item id value/>` of the open row.
   */
  MSGWIRE_SR_EVENT_KIND_ITEM = 5,
  /**
   * The open row closed.
   */
  MSGWIRE_SR_EVENT_KIND_END_ROW = 6,
  /**
   * The open table closed.
   */
  MSGWIRE_SR_EVENT_KIND_END_LISTS = 7,
  /**
   * A `<fault id value/>`.
   */
  MSGWIRE_SR_EVENT_KIND_FAULT = 8,
  /**
   * Something skipped: `id` is the unknown element's or attribute's
   * name (empty for stray text).
   */
  MSGWIRE_SR_EVENT_KIND_IGNORED = 9,
  /**
   * `</serverResponse>`: the document is complete.
   */
  MSGWIRE_SR_EVENT_KIND_END = 10,
} msgwire_sr_event_kind;

/**
 * What an entry of a results document is.
 */
typedef enum msgwire_sr_entry_kind {
  /**
   * A `<result id value/>`.
   */
  MSGWIRE_SR_ENTRY_KIND_RESULT = 0,
  /**
   * A `<lists>` table of rows.
   */
  MSGWIRE_SR_ENTRY_KIND_LISTS = 1,
} msgwire_sr_entry_kind;

/**
 * What a reply-callback item is.
 */
enum msgwire_sts_reply_kind
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * A partial reply (status below 400); more items follow.
   */
  MSGWIRE_STS_REPLY_KIND_PARTIAL = 0,
  /**
   * The final reply (status below 400); the last item.
   */
  MSGWIRE_STS_REPLY_KIND_FINAL = 1,
  /**
   * An error reply (status 400 or above, e.g. 404 for an unknown
   * command); the last item.
   */
  MSGWIRE_STS_REPLY_KIND_ERROR = 2,
  /**
   * No reply came within the timeout; the last item. Replies arriving
   * later are dropped.
   */
  MSGWIRE_STS_REPLY_KIND_TIMEOUT = 3,
  /**
   * The request broke (replies out of sequence, a bad fragment, a
   * malformed error body, the connection closing); the last item.
   */
  MSGWIRE_STS_REPLY_KIND_FAILED = 4,
};
#ifndef __cplusplus
typedef uint32_t msgwire_sts_reply_kind;
#endif // __cplusplus

/**
 * What a `msgwire_msrp_transfer_update` reports.
 */
enum msgwire_msrp_transfer_update_kind
#ifdef __cplusplus
  : uint32_t
#endif // __cplusplus
 {
  /**
   * More of the message was acknowledged by the peer (about once per
   * chunk).
   */
  MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_PROGRESS = 0,
  /**
   * Every chunk was sent and acknowledged; the last update.
   */
  MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_COMPLETED = 1,
  /**
   * The message was stopped (`code`, `comment` and `local` say how); the
   * last update.
   */
  MSGWIRE_MSRP_TRANSFER_UPDATE_KIND_FAILED = 2,
};
#ifndef __cplusplus
typedef uint32_t msgwire_msrp_transfer_update_kind;
#endif // __cplusplus

/**
 * One chat. Created by `msgwire_chat_new`, released by
 * `msgwire_chat_free`. Its functions may be called from several threads
 * at once (e.g. `msgwire_chat_start` on one while another sends).
 */
typedef struct msgwire_chat msgwire_chat;

/**
 * Collects the parts of a CPIM message to build.
 *
 * Created by `msgwire_cpim_builder_new`, released by
 * `msgwire_cpim_builder_free`. Not for concurrent use. Values are checked
 * by `msgwire_cpim_builder_build`, which writes the headers in this order:
 * From, To, cc, DateTime, Subject, NS (one per namespace, before its first
 * use), Require, then the additional headers.
 */
typedef struct msgwire_cpim_builder msgwire_cpim_builder;

/**
 * A parsed or built Message/CPIM message.
 *
 * Created by `msgwire_cpim_message_parse` or `msgwire_cpim_builder_build`,
 * released by `msgwire_cpim_message_free`. It never changes; strings and
 * bytes read from it stay valid until it is freed.
 */
typedef struct msgwire_cpim_message msgwire_cpim_message;

/**
 * A ministreaming endpoint. Created by `msgwire_ministream_manager_listen`
 * or `msgwire_ministream_manager_pair`, released by
 * `msgwire_ministream_manager_free`. Every other function on it may be
 * called from any thread, also at the same time.
 */
typedef struct msgwire_ministream_manager msgwire_ministream_manager;

/**
 * One stream. Obtained from `msgwire_ministream_manager_connect` or
 * `msgwire_ministream_manager_accept`, released by
 * `msgwire_ministream_socket_free` (which closes it). One thread may read
 * while another writes.
 */
typedef struct msgwire_ministream_socket msgwire_ministream_socket;

/**
 * The passive side of a direct binding: listens, accepts one connection
 * and answers its bind SEND.
 *
 * Created by `msgwire_msrp_acceptor_new`, released by
 * `msgwire_msrp_acceptor_free`. Use it from one thread at a time (a typical
 * program prepares it on one thread and completes it on another; that is
 * fine as long as the calls do not overlap).
 */
typedef struct msgwire_msrp_acceptor msgwire_msrp_acceptor;

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
 * The active side of a direct binding: connects to the peer and sends the
 * bind SEND.
 *
 * Created by `msgwire_msrp_connector_new`, released by
 * `msgwire_msrp_connector_free`. Use it from one thread at a time.
 */
typedef struct msgwire_msrp_connector msgwire_msrp_connector;

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
 * A message to send with `msgwire_msrp_session_send_message`: its body
 * source, size, headers, Message-ID and resume position.
 *
 * Created by `msgwire_msrp_outgoing_from_path` or
 * `msgwire_msrp_outgoing_from_callback`; consumed by
 * `msgwire_msrp_session_send_message` or released by
 * `msgwire_msrp_outgoing_free`. Use it from one thread at a time.
 */
typedef struct msgwire_msrp_outgoing msgwire_msrp_outgoing;

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
 * A session endpoint reached through a relay. Created by
 * `msgwire_msrp_relay_connection_new`, released by
 * `msgwire_msrp_relay_connection_free`. Use it from one thread at a
 * time.
 */
typedef struct msgwire_msrp_relay_connection msgwire_msrp_relay_connection;

/**
 * Where and how to reach an MSRP relay. Created by
 * `msgwire_msrp_relay_settings_new`, released by
 * `msgwire_msrp_relay_settings_free`. A relay connection copies the
 * settings when it is made, so they can be freed or reused afterwards.
 */
typedef struct msgwire_msrp_relay_settings msgwire_msrp_relay_settings;

/**
 * Many passive MSRP sessions behind shared listening sockets: each session
 * is registered with `msgwire_msrp_server_prepare` and bound with
 * `msgwire_msrp_server_complete`, and incoming connections are sorted by
 * the To-Path of their bind SEND.
 *
 * Created by `msgwire_msrp_server_new`, released by
 * `msgwire_msrp_server_free`. Every other function on it may be called from
 * any thread, also concurrently.
 */
typedef struct msgwire_msrp_server msgwire_msrp_server;

/**
 * A running MSRP session over a bound transport.
 *
 * Created by `msgwire_msrp_session_start`, released by
 * `msgwire_msrp_session_free`. The functions on it may be called from any
 * thread, also concurrently (except `_free`, which must be the last call).
 */
typedef struct msgwire_msrp_session msgwire_msrp_session;

/**
 * A connected and bound MSRP connection, made by `_complete`.
 *
 * Pass it to `msgwire_msrp_session_start`, which consumes it, or release it
 * unused with `msgwire_msrp_transport_free` (which closes the connection).
 * Before that (or instead of a session), chunks can be exchanged on it
 * directly, without a session's transaction handling, like the legacy
 * `MSRPTransport`: `msgwire_msrp_transport_write`, `_write_chunk`,
 * `_write_response` and `_read_chunk`. These block the calling thread and
 * raise no SIGPIPE (a peer that is gone is an error status). Use a
 * transport from one thread at a time: a read and a write must not
 * overlap.
 */
typedef struct msgwire_msrp_transport msgwire_msrp_transport;

/**
 * A parsed MSRP URI (`msrp[s]://[user@]host[:port][/session-id];transport[;params]`).
 *
 * Created by `msgwire_msrp_uri_parse`, released by `msgwire_msrp_uri_free`.
 * It never changes after parsing, so several threads may read it at once.
 * Strings read from it stay valid until it is freed.
 */
typedef struct msgwire_msrp_uri msgwire_msrp_uri;

/**
 * A running MSRP relay (see `msgwire_relay_start`).
 */
typedef struct msgwire_relay msgwire_relay;

/**
 * The configuration of a relay (see `msgwire_relay_config_new`).
 */
typedef struct msgwire_relay_config msgwire_relay_config;

/**
 * One MSRP media section.
 *
 * Created by `msgwire_sdp_media_parse` or `msgwire_sdp_media_for_path`,
 * released by `msgwire_sdp_media_free`. Strings read from it stay valid
 * until it is modified (a `_set_`/`_add_` function) or freed. Several
 * threads may read it at once; modifying needs exclusive access.
 */
typedef struct msgwire_sdp_media msgwire_sdp_media;

/**
 * A request as a handler sees it: the method name and the decoded query
 * arguments, lent for the duration of the handler call.
 */
typedef struct msgwire_sr_request msgwire_sr_request;

/**
 * A serverResponse document.
 *
 * Made by `msgwire_sr_response_new_results`, `_new_faults`,
 * `msgwire_sr_parse` or `msgwire_sr_get`; released by
 * `msgwire_sr_response_free`. Reading it from several threads at once is
 * safe; modifying it is not.
 */
typedef struct msgwire_sr_response msgwire_sr_response;

/**
 * The embedded serverResponse HTTP server.
 *
 * Made by `msgwire_sr_server_bind`, released by `msgwire_sr_server_free`.
 * `_method` and the getters may be called from any thread.
 */
typedef struct msgwire_sr_server msgwire_sr_server;

/**
 * A streaming serverResponse writer: each call writes its piece at once.
 *
 * Either made by `msgwire_sr_writer_new` over a write callback (release
 * it with `msgwire_sr_writer_free`) or lent to a server handler for its
 * reply (valid during the call only; never freed by the handler).
 *
 * The first `_result` or `_begin_lists` opens `<results>`, the first
 * `_fault` opens `<faults>`; a new row closes the previous row, a result
 * or new table closes an open table; `_finish` closes everything (an
 * empty `<results></results>` when nothing was written). Not for use by
 * several threads at once.
 */
typedef struct msgwire_sr_writer msgwire_sr_writer;

/**
 * One STS client connection.
 *
 * Created by `msgwire_sts_client_connect`, released by
 * `msgwire_sts_client_free`. Every other function on it may be called
 * from any thread, also at the same time.
 */
typedef struct msgwire_sts_client msgwire_sts_client;

/**
 * One STS/1.0 message: a request line (`P /Protocol/Command STS/1.0`) or a
 * status line (`STS/1.0 200 OK`), headers in order, and a body.
 *
 * Created by `msgwire_sts_message_new_request`,
 * `msgwire_sts_message_new_status`, `msgwire_sts_message_parse`,
 * `msgwire_sts_message_clone`, `msgwire_sts_client_request_one` and
 * `msgwire_sts_client_read`; released by `msgwire_sts_message_free`.
 * Messages lent to a callback belong to msgwire and are not freed.
 *
 * Strings and body pointers read from a message stay valid until it is
 * modified (`_set_`/`_append_`/`_remove_`) or freed. Several threads may
 * read one message at once; modifying it needs exclusive access.
 */
typedef struct msgwire_sts_message msgwire_sts_message;

/**
 * Answers one request: any number of partial replies, then one final
 * reply or error reply.
 *
 * Given to a route callback (or by `msgwire_sts_client_read`), released
 * by `msgwire_sts_responder_free`. May be used from any thread, also
 * after the callback returned; it does not keep the connection open.
 */
typedef struct msgwire_sts_responder msgwire_sts_responder;

/**
 * A listening STS server.
 *
 * Created by `msgwire_sts_server_bind`, released by
 * `msgwire_sts_server_free`. Every other function on it may be called
 * from any thread, also at the same time.
 */
typedef struct msgwire_sts_server msgwire_sts_server;

/**
 * What a TLS client (a connector) trusts.
 *
 * Created by `msgwire_tls_client_config_with_ca_pem`,
 * `msgwire_tls_client_config_with_ca_file` or
 * `msgwire_tls_client_config_insecure`, released by
 * `msgwire_tls_client_config_free`. Immutable: several threads may use it
 * at once. Attach it with `msgwire_msrp_connector_set_tls`, which keeps its
 * own reference, or pass it to `msgwire_sr_get_tls`.
 */
typedef struct msgwire_tls_client_config msgwire_tls_client_config;

/**
 * What a TLS server presents: a certificate chain and its private key.
 *
 * Created by `msgwire_tls_server_config_from_pem` or
 * `msgwire_tls_server_config_from_files`, released by
 * `msgwire_tls_server_config_free`. Immutable: several threads may use it
 * at once. Attach it with `msgwire_msrp_acceptor_set_tls`,
 * `msgwire_msrp_server_set_tls` or `msgwire_sr_server_bind_tls`, which
 * keep their own reference.
 */
typedef struct msgwire_tls_server_config msgwire_tls_server_config;

/**
 * What a chat is made of. Strings are NUL-terminated UTF-8 and copied by
 * `msgwire_chat_new`; optional ones may be NULL.
 */
typedef struct msgwire_chat_config {
  /**
   * This side's identity (CPIM From): a SIP URI or name-address.
   */
  const char *local_identity;
  /**
   * The peer's identity (the default CPIM To).
   */
  const char *remote_identity;
  /**
   * Whether this side made the SDP offer: with a direct connection the
   * outgoing chat connects (`a=setup:active`) and the incoming one
   * listens (`a=setup:passive`), unless the peer's media says otherwise.
   */
  bool outgoing;
  /**
   * Accepted types separated by spaces; NULL: `message/cpim`, every
   * text type and `application/im-iscomposing+xml`.
   */
  const char *accept_types;
  /**
   * Accepted wrapped types separated by spaces; NULL: `*`.
   */
  const char *accept_wrapped_types;
  /**
   * The IP address to listen on and advertise; NULL: the default-route
   * interface's address.
   */
  const char *local_address;
  /**
   * The relay's domain; NULL: a direct connection.
   */
  const char *relay_domain;
  /**
   * The relay user name (with `relay_domain`).
   */
  const char *relay_username;
  /**
   * The relay password (with `relay_domain`).
   */
  const char *relay_password;
  /**
   * Where to connect to the relay; NULL: DNS discovery of the domain.
   */
  const char *relay_host;
  /**
   * The relay port; 0: discovered or 2855.
   */
  uint16_t relay_port;
  /**
   * TLS for a direct connection: when this or `tls_client` is not NULL
   * the chat advertises `TCP/TLS/MSRP` with an `msrps://` path and
   * listens with TLS presenting this certificate (needed by a chat that
   * listens: an incoming one). NULL with `tls_client` NULL: plain TCP.
   * `msgwire_chat_new` takes its own reference; the caller may free its
   * handle after the call. Not used with a relay.
   */
  const struct msgwire_tls_server_config *tls_server;
  /**
   * TLS for a direct connection: the CAs trusted when connecting
   * (needed by a chat that connects: an outgoing one, or an incoming
   * one whose peer says `a=setup:passive`). A chat with TLS lacking
   * the half it needs fails `msgwire_chat_initialize` (or `_start`)
   * with `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`. Referenced as
   * `tls_server` is.
   */
  const struct msgwire_tls_client_config *tls_client;
} msgwire_chat_config;

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
 * One CPIM header of a received message: the name as written (with its
 * prefix) and the value as written.
 */
typedef struct msgwire_chat_header {
  /**
   * The name, e.g. `From` or `MyFeatures.VitalMessageOption`.
   */
  struct msgwire_str name;
  /**
   * The value.
   */
  struct msgwire_str value;
} msgwire_chat_header;

/**
 * One notification. Every string and pointer is borrowed for the
 * callback's duration only. Fields that do not belong to `kind` are
 * empty strings, NULL, 0 or false.
 */
typedef struct msgwire_chat_event {
  /**
   * What happened.
   */
  msgwire_chat_event_kind kind;
  /**
   * The legacy notification name, e.g. `MSRPChatGotMessage`.
   */
  struct msgwire_str name;
  /**
   * DID_INITIALIZE: the local media to put in the SDP.
   */
  const struct msgwire_sdp_media *media;
  /**
   * DID_FAIL: `initialize`, `sdp_negotiation`, `start` or `reading`.
   */
  struct msgwire_str context;
  /**
   * DID_FAIL: what went wrong; (NOT_)DELIVER: the status comment.
   */
  struct msgwire_str reason;
  /**
   * GOT_MESSAGE: the payload (unwrapped from CPIM), `content_len` bytes.
   */
  const uint8_t *content;
  /**
   * The length of `content`.
   */
  size_t content_len;
  /**
   * GOT_MESSAGE: the payload's type; GOT_COMPOSING_INDICATION: the type
   * being composed (empty when not given).
   */
  struct msgwire_str content_type;
  /**
   * GOT_MESSAGE: the CPIM headers in wire order (none without CPIM).
   */
  const struct msgwire_chat_header *cpim_headers;
  /**
   * The number of `cpim_headers`.
   */
  size_t cpim_header_count;
  /**
   * GOT_MESSAGE: the SEND received; (NOT_)DELIVER: the REPORT or
   * response.
   */
  const struct msgwire_msrp_chunk *message;
  /**
   * GOT_MESSAGE and (NOT_)DELIVER: the Message-ID.
   */
  struct msgwire_str message_id;
  /**
   * (NOT_)DELIVER: the status code.
   */
  uint16_t code;
  /**
   * GOT_COMPOSING_INDICATION: the state.
   */
  msgwire_chat_composing_state state;
  /**
   * GOT_COMPOSING_INDICATION: the refresh interval in seconds; 0 when
   * not given.
   */
  uint32_t refresh;
  /**
   * GOT_COMPOSING_INDICATION: when the peer was last active (RFC 3339;
   * empty when not given).
   */
  struct msgwire_str last_active;
  /**
   * NOT_DELIVER and GOT_COMPOSING_INDICATION: decided locally.
   */
  bool local;
} msgwire_chat_event;

/**
 * Receives every notification of a chat, one call at a time, in order.
 * Runs on whichever thread produced the event: the caller of
 * `msgwire_chat_initialize`/`_start`/`_end`/`_send_*`, a connection's
 * reader thread, or the shared timer thread. It must not block, and must
 * not call `msgwire_chat_start`, `msgwire_chat_end` or `msgwire_chat_free`
 * (they wait for those threads). `event` and everything it points to are
 * lent for the call only.
 */
typedef void (*msgwire_chat_callback)(void *user_data, const struct msgwire_chat_event *event);

/**
 * One message header as written, borrowed from a message.
 */
typedef struct msgwire_cpim_header {
  /**
   * The namespace prefix before the `.` (empty without one).
   */
  struct msgwire_str prefix;
  /**
   * Whether the name has a prefix.
   */
  bool has_prefix;
  /**
   * The name after the prefix.
   */
  struct msgwire_str name;
  /**
   * The namespace URI the header belongs to.
   */
  struct msgwire_str namespace_uri;
  /**
   * The `;name=value` parameters between the colon and the value, as
   * written, leading `;` included (empty without any).
   */
  struct msgwire_str params;
  /**
   * The value as written.
   */
  struct msgwire_str value;
} msgwire_cpim_header;

/**
 * A sender or recipient (From, To, cc), borrowed from a message.
 */
typedef struct msgwire_cpim_identity {
  /**
   * The URI between the angle brackets.
   */
  struct msgwire_str uri;
  /**
   * The display name, unquoted and unescaped (empty without one).
   */
  struct msgwire_str display_name;
  /**
   * Whether the header has a display name.
   */
  bool has_display_name;
} msgwire_cpim_identity;

/**
 * An RFC 3339 date-time with its time zone offset (the CPIM DateTime).
 */
typedef struct msgwire_cpim_datetime {
  /**
   * The year, 0 to 9999.
   */
  uint16_t year;
  /**
   * The month, 1 to 12.
   */
  uint8_t month;
  /**
   * The day of the month, 1 to 31.
   */
  uint8_t day;
  /**
   * The hour, 0 to 23.
   */
  uint8_t hour;
  /**
   * The minute, 0 to 59.
   */
  uint8_t minute;
  /**
   * The second, 0 to 60 (60 is a leap second).
   */
  uint8_t second;
  /**
   * Fractions of a second, in nanoseconds.
   */
  uint32_t nanosecond;
  /**
   * The offset from UTC in minutes (`-08:00` is -480, `Z` is 0).
   */
  int16_t offset_minutes;
} msgwire_cpim_datetime;

/**
 * Deadlines and matching rule of a connector or acceptor.
 *
 * Fill it with `msgwire_msrp_bind_options_default` and change what you
 * need. Every timeout is in milliseconds and must be at least 1.
 */
typedef struct msgwire_msrp_bind_options {
  /**
   * Connector: establishing the TCP connection (default 30000).
   */
  uint32_t connect_timeout_ms;
  /**
   * Acceptor: waiting for the peer to connect (default 30000).
   */
  uint32_t incoming_connect_timeout_ms;
  /**
   * Both: the bind SEND and its 200 once connected (default 30000).
   */
  uint32_t bind_timeout_ms;
  /**
   * Compare only session ids when checking the bind SEND's paths (for
   * peers behind address-rewriting middleboxes, RFC 6714); the session
   * started on the resulting transport matches the same way. Default
   * `false`.
   */
  bool use_sessmatch;
} msgwire_msrp_bind_options;

/**
 * A traffic callback reporting a chunk's start line and headers, a body
 * slice, or its end-line, received or sent.
 *
 * `connection` names the connection (`local-address <-> peer-address`),
 * `transaction_id` the chunk; both are NUL-terminated and, like
 * `bytes[0..len]`, lent for the call only.
 *
 * Threads: runs on msgwire worker threads (the reader, the timer) or on
 * the thread that sends a chunk; calls for one session do not overlap in
 * practice but may come from different threads. It must not block and
 * must not call back into the session.
 */
typedef void (*msgwire_msrp_traffic_callback)(void *user_data,
                                              const char *connection,
                                              const char *transaction_id,
                                              const uint8_t *bytes,
                                              size_t len);

/**
 * A traffic callback for diagnostics: `level` is 0 debug, 1 info, 2 warn,
 * 3 error, 4 fatal; `text` is NUL-terminated and lent for the call. Same
 * threading rules as `msgwire_msrp_traffic_callback`.
 */
typedef void (*msgwire_msrp_traffic_message_callback)(void *user_data,
                                                      uint32_t level,
                                                      const char *text);

/**
 * The traffic logger of a session (the legacy Logger interface). Every
 * entry may be NULL.
 */
typedef struct msgwire_msrp_traffic_callbacks {
  /**
   * A chunk's start line and headers were received (`bytes` is the
   * exact text, blank line included when a body follows).
   */
  msgwire_msrp_traffic_callback received_new_chunk;
  /**
   * A slice of a received chunk's body.
   */
  msgwire_msrp_traffic_callback received_chunk_data;
  /**
   * A received chunk's end-line (`-------<tid><flag>`).
   */
  msgwire_msrp_traffic_callback received_chunk_end;
  /**
   * A chunk's start line and headers were queued for sending.
   */
  msgwire_msrp_traffic_callback sent_new_chunk;
  /**
   * The body of a chunk queued for sending.
   */
  msgwire_msrp_traffic_callback sent_chunk_data;
  /**
   * The end-line of a chunk queued for sending.
   */
  msgwire_msrp_traffic_callback sent_chunk_end;
  /**
   * A diagnostic message (e.g. a protocol error from the peer).
   */
  msgwire_msrp_traffic_message_callback message;
} msgwire_msrp_traffic_callbacks;

/**
 * Opens where one incoming message is stored (whole-message delivery with
 * a `sink`). `message_id` and `content_type` (NULL when absent) are
 * NUL-terminated and lent for the call; `total` is the message's size, -1
 * when the sender does not know it yet.
 *
 * Returns a sink handle of the application's choosing, passed back to the
 * other sink callbacks; NULL refuses the message (the peer gets 413 and
 * `on_message_aborted` reports `MSGWIRE_MSRP_ABORT_REASON_STORAGE`).
 *
 * Threads: every sink callback runs on the connection's reader thread
 * (`abort` also in `msgwire_msrp_session_free`, for messages still
 * incomplete then), one at a time for a session. They should not block
 * for long: nothing else is read meanwhile. Writing to a local file is
 * fine. They must not call back into the session.
 */
typedef void *(*msgwire_msrp_sink_open_callback)(void *user_data,
                                                 const char *message_id,
                                                 const char *content_type,
                                                 int64_t total);

/**
 * Writes `data[0..len]` at byte `offset` (0-based) of the message; pieces
 * may come out of order, overlap or repeat. Returns 0 on success; anything
 * else drops the message (413, `abort` follows). `data` is lent for the
 * call only.
 */
typedef int32_t (*msgwire_msrp_sink_write_callback)(void *user_data,
                                                    void *sink,
                                                    uint64_t offset,
                                                    const uint8_t *data,
                                                    size_t len);

/**
 * Every byte arrived: make the message durable and release `sink`.
 * Returns 0 on success (`on_message_stored` follows); anything else
 * drops the message (`abort` follows, and must release `sink`).
 */
typedef int32_t (*msgwire_msrp_sink_finish_callback)(void *user_data, void *sink);

/**
 * The message was abandoned, refused or cut off: discard what was written
 * and release `sink`.
 */
typedef void (*msgwire_msrp_sink_abort_callback)(void *user_data, void *sink);

/**
 * Where whole incoming messages are stored, through C callbacks. For each
 * sink handle `open` returned, msgwire calls `write_at` any number of
 * times, then `finish`; it calls `abort` when the message is dropped
 * (also after a failed `finish`). So each handle ends with a successful
 * `finish` or with exactly one `abort`. All four are required.
 */
typedef struct msgwire_msrp_sink_callbacks {
  /**
   * Opens a message's storage.
   */
  msgwire_msrp_sink_open_callback open;
  /**
   * Writes a piece of the body.
   */
  msgwire_msrp_sink_write_callback write_at;
  /**
   * Completes a message.
   */
  msgwire_msrp_sink_finish_callback finish;
  /**
   * Discards a message.
   */
  msgwire_msrp_sink_abort_callback abort;
} msgwire_msrp_sink_callbacks;

/**
 * Settings of a session, read only during `msgwire_msrp_session_start`.
 *
 * Fill it with `msgwire_msrp_session_config_default` and change what you
 * need.
 */
typedef struct msgwire_msrp_session_config {
  /**
   * MIME types accepted in incoming SENDs, separated by commas and/or
   * spaces (so an SDP `a=accept-types` value can be passed as is):
   * full types (`text/plain`), wildcard subtypes (`text/` followed by a
   * star), or a lone star for any type. SENDs of other types are answered
   * 415 and not delivered. NULL (the default) accepts any type; an empty
   * string accepts no typed SEND at all. The string is only read during
   * `msgwire_msrp_session_start`.
   */
  const char *accept_types;
  /**
   * Send the success REPORT asked for by incoming SENDs
   * (`Success-Report: yes`). Default `true`.
   */
  bool automatic_reports;
  /**
   * How long to wait for a response before a local 408 is made up, in
   * milliseconds (at least 1). Default 30000.
   */
  uint32_t response_timeout_ms;
  /**
   * Interval of keep-alive SENDs in milliseconds; 0 turns them off.
   * Default 60000.
   */
  uint32_t keepalive_interval_ms;
  /**
   * Match incoming paths on session-id only (RFC 6714). Default `false`;
   * also turned on by a transport bound with `use_sessmatch`.
   */
  bool use_sessmatch;
  /**
   * Traffic logging: called for every chunk the session receives and
   * sends, and for protocol errors. NULL (the default) logs nothing. The
   * table is copied by `msgwire_msrp_session_start`; `traffic_user_data`
   * must stay valid until the session is freed.
   */
  const struct msgwire_msrp_traffic_callbacks *traffic;
  /**
   * Passed as the first argument of every `traffic` callback.
   */
  void *traffic_user_data;
  /**
   * Most body bytes in one chunk of a message sent with
   * `msgwire_msrp_session_send_message` (at least 1). Default 65536.
   */
  uint64_t chunk_size;
  /**
   * Most body bytes of messages sent with
   * `msgwire_msrp_session_send_message` in chunks written and not yet
   * answered 200: no new chunk starts while that many are. It bounds how
   * long a chat message waits behind a transfer to a slow receiver, and
   * limits a transfer to this many bytes per round trip. Default
   * 4 MiB; 0 for no limit.
   */
  uint64_t send_window;
  /**
   * Deliver incoming SENDs as whole messages, reassembled by Message-ID
   * (to `on_incoming` as one chunk with `Byte-Range: 1-N/N`, or to a
   * sink, see `sink_directory` and `sink`), instead of chunk by chunk
   * as received (`false`, the default). SENDs without a Message-ID are
   * delivered per chunk either way.
   */
  bool whole_messages;
  /**
   * With `whole_messages`: the largest message accepted, in bytes;
   * larger ones are answered 413 and reported to `on_message_aborted`.
   * Also bounds the memory the incomplete messages kept in memory take
   * together (at most 16 are reassembled at once; one giving way is
   * reported with `MSGWIRE_MSRP_ABORT_REASON_CROWDED`). Default
   * 16 MiB; raise it when storing messages in files.
   */
  uint64_t max_message_size;
  /**
   * With `whole_messages`: store each message in this directory
   * (NUL-terminated, read only during `msgwire_msrp_session_start`),
   * as a file named after its Message-ID, written as the chunks arrive
   * and removed when the message is dropped; `on_message_stored`
   * reports a complete one. NULL (the default) keeps messages in memory.
   * A path that is not a directory is `MSGWIRE_MSRP_TRANSFER_FILE`.
   */
  const char *sink_directory;
  /**
   * With `whole_messages`: store messages through these callbacks
   * (copied by `msgwire_msrp_session_start`) instead; NULL (the
   * default) for none. Setting both `sink` and `sink_directory` is
   * `MSGWIRE_INVALID_ARGUMENT`.
   */
  const struct msgwire_msrp_sink_callbacks *sink;
  /**
   * Passed as the first argument of every `sink` callback; must stay
   * valid until the session is freed.
   */
  void *sink_user_data;
} msgwire_msrp_session_config;

/**
 * Called for each request the peer sends that the application must see:
 * a SEND that was accepted (already answered 200, its success REPORT
 * already sent when asked for and `automatic_reports` is on), a REPORT,
 * or another request such as NICKNAME.
 *
 * `chunk` is lent for this call only: copy what you need (or build a new
 * chunk) before returning; do not free it.
 *
 * Threads: runs on a msgwire worker thread (the connection's reader
 * thread), never concurrently with another callback of the same session.
 * It must not block: while it runs nothing else is read from the
 * connection. It may call `msgwire_msrp_session_send_chunk`,
 * `msgwire_msrp_session_make_message` and
 * `msgwire_msrp_session_shutdown(session, false)`; it must not call
 * `msgwire_msrp_session_deliver_chunk`, `shutdown(session, true)` or
 * `msgwire_msrp_session_free` (they are refused or deferred: they would
 * wait for this very thread).
 */
typedef void (*msgwire_msrp_incoming_callback)(void *user_data,
                                               const struct msgwire_msrp_chunk *chunk);

/**
 * Called with the outcome of a request sent by
 * `msgwire_msrp_session_send_chunk` that expects a response
 * (Failure-Report `yes`, the default, or `partial`): the peer's response,
 * or one made up by msgwire (`local` is `true`: 408 when none came within
 * the response timeout or the connection ended; 200 for `partial`).
 *
 * `transaction_id` (NUL-terminated) and `response` are lent for this call
 * only. Same thread rules as `msgwire_msrp_incoming_callback` (it may also
 * run on the shared timer thread).
 */
typedef void (*msgwire_msrp_response_callback)(void *user_data,
                                               const char *transaction_id,
                                               const struct msgwire_msrp_chunk *response,
                                               bool local);

/**
 * Called once when the connection has ended, as the session's last
 * callback: `reason` is `MSGWIRE_OK` for a clean end (the peer closed, or
 * `msgwire_msrp_session_shutdown`) and `MSGWIRE_MSRP_ENDPOINT_IO` when an
 * I/O error ended it. Requests still waiting have had their
 * `on_response` (with `local`) before it.
 *
 * Not called when the session is freed without a shutdown. Same thread
 * rules as `msgwire_msrp_incoming_callback` (it may also run inside
 * `msgwire_msrp_session_shutdown`'s worker).
 */
typedef void (*msgwire_msrp_closed_callback)(void *user_data, msgwire_status reason);

/**
 * Releases the `user_data` given to `msgwire_msrp_session_start`. Called
 * exactly once, from `msgwire_msrp_session_free` on the thread that calls
 * it, after the session's last callback has returned; or from
 * `msgwire_msrp_session_start` itself when it fails.
 */
typedef void (*msgwire_msrp_user_data_free)(void *user_data);

/**
 * With `whole_messages` and a sink (`sink_directory` or `sink`): an
 * incoming message was stored completely (its sink finished).
 * `message_id` and `content_type` (NULL when the message has none) are
 * NUL-terminated; they and `head` (the headers of its first chunk to
 * arrive, with `Byte-Range: 1-N/N` and no body) are lent for this call
 * only. Same thread rules as `msgwire_msrp_incoming_callback`.
 */
typedef void (*msgwire_msrp_message_stored_callback)(void *user_data,
                                                     const char *message_id,
                                                     const char *content_type,
                                                     uint64_t size,
                                                     const struct msgwire_msrp_chunk *head);

/**
 * With `whole_messages`: an incomplete incoming message was dropped, for
 * `reason`; `detail` says more (e.g. the sink's error). Both strings are
 * NUL-terminated and lent for this call only. Same thread rules as
 * `msgwire_msrp_incoming_callback`.
 */
typedef void (*msgwire_msrp_message_aborted_callback)(void *user_data,
                                                      const char *message_id,
                                                      msgwire_msrp_abort_reason reason,
                                                      const char *detail);

/**
 * The callbacks of a session; each may be NULL to ignore those events.
 * The struct is copied by `msgwire_msrp_session_start`.
 */
typedef struct msgwire_msrp_session_callbacks {
  /**
   * An incoming request (may be NULL).
   */
  msgwire_msrp_incoming_callback on_incoming;
  /**
   * The outcome of a request sent with `_send_chunk` (may be NULL).
   */
  msgwire_msrp_response_callback on_response;
  /**
   * The connection ended (may be NULL).
   */
  msgwire_msrp_closed_callback on_closed;
  /**
   * Releases `user_data` when the session is freed (may be NULL).
   */
  msgwire_msrp_user_data_free user_data_free;
  /**
   * A whole incoming message was stored by its sink (may be NULL).
   */
  msgwire_msrp_message_stored_callback on_message_stored;
  /**
   * An incomplete incoming message was dropped (may be NULL).
   */
  msgwire_msrp_message_aborted_callback on_message_aborted;
} msgwire_msrp_session_callbacks;

/**
 * Settings of a manager and the default options of its sockets. Fill it
 * with `msgwire_ministream_config_default` and change what you need.
 */
typedef struct msgwire_ministream_config {
  /**
   * How long `connect` waits for the peer to accept (and the transport
   * to come up). Default 60000; must be at least 1.
   */
  uint32_t connect_timeout_ms;
  /**
   * How long a read waits for data; 0 (default) waits forever.
   */
  uint32_t read_timeout_ms;
  /**
   * How long a write waits for room; 0 (default) waits forever.
   */
  uint32_t write_timeout_ms;
  /**
   * Most received bytes buffered per stream before the transport stops
   * being read (back-pressure). Default 65536; at least 1.
   */
  uint32_t buffer_size;
  /**
   * How long an incoming stream waits for `accept` before it is refused.
   * Default 5000; at least 1.
   */
  uint32_t accept_timeout_ms;
  /**
   * Largest data payload per frame; longer writes are split. Default
   * 32768; 1 to 65532.
   */
  uint32_t max_payload;
  /**
   * Most incoming streams waiting for `accept` at once; more are
   * refused at once. Default 4096; at least 1.
   */
  uint32_t accept_backlog;
} msgwire_ministream_config;

/**
 * Counts of frames a manager received and dropped.
 */
typedef struct msgwire_ministream_stats {
  /**
   * Messages that were not frames (too short, id 00 00 00, a type
   * outside the ranges).
   */
  uint64_t malformed;
  /**
   * Frames of an unknown type inside the ranges.
   */
  uint64_t unknown_type;
  /**
   * Frames for a stream not open on that connection.
   */
  uint64_t unknown_stream;
  /**
   * Ping probes and chaff received.
   */
  uint64_t pings;
  /**
   * Transport connections closed for a length prefix over the limit.
   */
  uint64_t framing_errors;
} msgwire_ministream_stats;

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

/**
 * Receives the bytes of a document as they are written. Returns 0 when
 * all `len` bytes were taken, anything else to stop writing (the writing
 * function then fails with `MSGWIRE_SR_WRITE`). `data` is lent for the
 * call only. Called on the thread of the writing function.
 */
typedef int32_t (*msgwire_sr_write_callback)(void *user_data, const uint8_t *data, size_t len);

/**
 * Receives the events of `msgwire_sr_parse_events`, on the calling
 * thread. `id` and `value` are lent for the call only (NUL-terminated;
 * copy them to keep them). Return `true` to go on, `false` to stop.
 */
typedef bool (*msgwire_sr_event_fn)(void *user_data,
                                    enum msgwire_sr_event_kind kind,
                                    struct msgwire_str id,
                                    struct msgwire_str value);

/**
 * Server settings; zero fields take the defaults.
 */
typedef struct msgwire_sr_server_config {
  /**
   * Total time a client has to send its request; 0: 10000 ms.
   */
  uint32_t read_timeout_ms;
  /**
   * Most connections at once (the next get a 503 fault); 0: 256.
   */
  uint32_t max_connections;
  /**
   * Worker threads; 0: 16.
   */
  uint32_t workers;
  /**
   * Largest request line plus headers in bytes; 0: 8192.
   */
  uint32_t max_head;
  /**
   * Total time a reply may take, from the end of the request to the
   * last byte taken by the client (a client reading slowly or not at
   * all is cut off then, freeing its worker); 0: 30000 ms.
   */
  uint32_t write_timeout_ms;
  /**
   * Longest wait of `msgwire_sr_server_free` for the worker threads
   * once the connections are cut; a handler still running then is left
   * to finish on its own (see `msgwire_sr_server_free`); 0: 2000 ms.
   */
  uint32_t shutdown_timeout_ms;
} msgwire_sr_server_config;

/**
 * Answers one request. Runs on one of the server's worker threads
 * (several calls may run at once, for different requests); it may take
 * its time, but must not call `msgwire_sr_server_free` of its server.
 * Write the reply through `writer` (lent for the call: do not free or
 * keep it); call `msgwire_sr_writer_fail` to answer with a fault. When
 * the handler returns the server finishes the document.
 */
typedef void (*msgwire_sr_handler)(void *user_data,
                                   const struct msgwire_sr_request *request,
                                   struct msgwire_sr_writer *writer);

/**
 * Releases a `user_data` given with a handler: called once, after the
 * last call of that handler, when the server is freed or the method is
 * registered again (or at once when registering fails).
 */
typedef void (*msgwire_sr_user_data_free)(void *user_data);

/**
 * The fields of an error reply body
 * `<Error code=".." server=".." module=".." line=".." text=".."/>`;
 * missing attributes read as 0 (or an empty text).
 *
 * Filled by `msgwire_sts_error_reply_parse` and
 * `msgwire_sts_client_request_one`: then `text` is owned by the struct and
 * released with `msgwire_sts_error_reply_clear`. A struct lent to a reply
 * callback belongs to msgwire and is not cleared.
 */
typedef struct msgwire_sts_error_reply {
  /**
   * The error code (0 is success, 42 a timeout, 4 bad server data, 404
   * an unknown command, or the server's own code).
   */
  int64_t code;
  /**
   * Which server raised it.
   */
  int64_t server;
  /**
   * Which module of the server raised it.
   */
  int64_t module;
  /**
   * The source line that raised it.
   */
  int64_t line;
  /**
   * The description, NUL-terminated; never NULL once filled.
   */
  char *text;
  /**
   * The length of `text` without its NUL (authoritative: the text may
   * contain NUL characters).
   */
  size_t text_len;
} msgwire_sts_error_reply;

/**
 * A client's settings. Fill it with `msgwire_sts_client_config_default`
 * and change what you need.
 */
typedef struct msgwire_sts_client_config {
  /**
   * Send a ping (`P /Sts/Ping`) after this many milliseconds without
   * sending anything; 0 turns pings off. Default 5000 (python-sts).
   */
  uint32_t ping_interval_ms;
  /**
   * How long a request waits for each next reply before it times out,
   * when the request call gives 0. Default 30000; must be at least 1.
   */
  uint32_t request_timeout_ms;
  /**
   * Bodies larger than this many bytes are sent as fragments. Default
   * 65536 (the largest body a peer must accept); must be at least 1.
   */
  uint32_t fragment_size;
} msgwire_sts_client_config;

/**
 * One step of a request's outcome, lent to a
 * `msgwire_sts_reply_callback` for the duration of the call.
 */
typedef struct msgwire_sts_reply_item {
  /**
   * What happened.
   */
  msgwire_sts_reply_kind kind;
  /**
   * The reply's status code (200 for partial and final replies); 0 for
   * `TIMEOUT` and `FAILED`.
   */
  uint16_t status;
  /**
   * The reply (`PARTIAL`, `FINAL`, `ERROR`), lent for the call (copy it
   * with `msgwire_sts_message_clone` to keep it); NULL otherwise.
   */
  const struct msgwire_sts_message *message;
  /**
   * The fields of the error body (`ERROR`), lent for the call (never
   * clear it); NULL otherwise.
   */
  const struct msgwire_sts_error_reply *error;
  /**
   * Why the request failed (`FAILED`); an empty string otherwise. Lent
   * for the call.
   */
  struct msgwire_str failure;
} msgwire_sts_reply_item;

/**
 * Receives the replies of a request sent with
 * `msgwire_sts_client_request`, in order: any number of `PARTIAL` items,
 * then exactly one last item (`FINAL`, `ERROR`, `TIMEOUT` or `FAILED`).
 * `item` and everything it points to are lent for this call only.
 *
 * Runs on a thread msgwire starts for the request (never on the caller's
 * thread), one item at a time. It may call any msgwire function except
 * `msgwire_sts_client_free` of the same client; it should return soon.
 */
typedef void (*msgwire_sts_reply_callback)(void *user_data,
                                           const struct msgwire_sts_reply_item *item);

/**
 * Releases a `user_data` given to msgwire with a callback. Called exactly
 * once, after the last callback that receives that `user_data` has
 * returned, or by the function that took it when that function fails.
 */
typedef void (*msgwire_sts_user_data_free)(void *user_data);

/**
 * A server's settings. Fill it with `msgwire_sts_server_config_default`
 * and change what you need.
 */
typedef struct msgwire_sts_server_config {
  /**
   * Close a connection on which nothing (not even a ping) arrived for
   * this many milliseconds; 0 keeps idle connections. Default 30000
   * (six missed client pings).
   */
  uint32_t idle_timeout_ms;
  /**
   * How long requests the server sends wait for replies. Default 30000;
   * must be at least 1.
   */
  uint32_t request_timeout_ms;
  /**
   * Reply bodies larger than this many bytes are sent as fragments.
   * Default 65536; must be at least 1.
   */
  uint32_t fragment_size;
} msgwire_sts_server_config;

/**
 * Handles the requests and simple messages of one `/Protocol/Command`.
 *
 * `request` is lent for this call only (copy it with
 * `msgwire_sts_message_clone` to keep it). `responder` is NULL for a
 * simple message (no reply expected); otherwise it belongs to the callback
 * from now on: answer through it (now, or later from any thread) and
 * release it with `msgwire_sts_responder_free`. A responder freed without
 * a final reply leaves the client to its timeout.
 *
 * Runs on the reader thread of the connection the request came on, so it
 * must not block: answer at once, or keep the responder and answer from
 * another thread. Callbacks for different connections may run at the
 * same time. It must not call `msgwire_sts_server_free` or
 * `_shutdown`.
 */
typedef void (*msgwire_sts_route_callback)(void *user_data,
                                           const struct msgwire_sts_message *request,
                                           struct msgwire_sts_responder *responder);

/**
 * Reads the next bytes of a message body into `buf[0..cap]`: returns how
 * many were written (at most `cap`), 0 at the end of the body, or a
 * negative number for an error (the message then fails with the local
 * code 500).
 *
 * Threads: runs on the session's transfer pump thread (a msgwire worker),
 * only for bytes about to be sent; it may block until data is available
 * but should not block for long, since the session's other messages wait
 * meanwhile. Calls for one message never overlap.
 */
typedef int64_t (*msgwire_msrp_read_callback)(void *user_data, uint8_t *buf, size_t cap);

/**
 * Releases a `user_data` given to msgwire together with callbacks. Called
 * exactly once, when msgwire no longer needs it; each function taking one
 * says when and on which thread.
 */
typedef void (*msgwire_user_data_free)(void *user_data);

/**
 * One update on a message sent with `msgwire_msrp_session_send_message`.
 */
typedef struct msgwire_msrp_transfer_update {
  /**
   * Progress, completion or failure.
   */
  msgwire_msrp_transfer_update_kind kind;
  /**
   * Bytes acknowledged so far, counting the resume position (for
   * `COMPLETED` and `FAILED`: as of the last progress update).
   */
  uint64_t acknowledged;
  /**
   * The message's size, -1 when unknown.
   */
  int64_t total;
  /**
   * `FAILED`: the response code (e.g. 413 from the peer) or a local one:
   * 487 cancelled, 500 the source failed, 408 a response timeout or the
   * connection closed. 0 otherwise.
   */
  uint16_t code;
  /**
   * `FAILED`: the response comment or a local explanation,
   * NUL-terminated, lent for the call only; NULL otherwise.
   */
  const char *comment;
  /**
   * `FAILED`: whether the failure was decided locally.
   */
  bool local;
} msgwire_msrp_transfer_update;

/**
 * Receives the updates of one message: any number of `PROGRESS`, then
 * exactly one `COMPLETED` or `FAILED` (unless the session is freed first).
 * `update` is lent for the call only.
 *
 * Threads: runs on a msgwire worker thread (the connection's reader, the
 * timer or the transfer pump), never concurrently with another callback of
 * the same session. It must not block. It may call
 * `msgwire_msrp_session_send_message`, `_cancel_transfer`, `_send_chunk`
 * and `_shutdown(session, false)`, with the same limits as
 * `msgwire_msrp_incoming_callback`.
 */
typedef void (*msgwire_msrp_transfer_callback)(void *user_data,
                                               const struct msgwire_msrp_transfer_update *update);

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
 * Creates a chat (nothing is connected until `msgwire_chat_initialize`).
 * `callback` may be NULL to ignore notifications. On success `*out`
 * receives the chat, to release with `msgwire_chat_free`.
 */
msgwire_status msgwire_chat_new(const struct msgwire_chat_config *config,
                                msgwire_chat_callback callback,
                                void *user_data,
                                struct msgwire_chat **out);

/**
 * Prepares the connection (listens, or reserves a path at the relay),
 * posts DID_INITIALIZE and writes the local media to `*out_media` (a new
 * media to release with `msgwire_sdp_media_free`; `out_media` may be NULL
 * to only get the notification). Failures post DID_FAIL (`initialize`).
 */
msgwire_status msgwire_chat_initialize(const struct msgwire_chat *chat,
                                       struct msgwire_sdp_media **out_media);

/**
 * Completes the connection with the peer's media, posts DID_START, then
 * sends the messages queued before. Blocks until the session is bound (an
 * incoming chat waits for its peer to connect: call it on its own thread
 * when both ends are in one program). Failures post DID_FAIL
 * (`sdp_negotiation` or `start`).
 */
msgwire_status msgwire_chat_start(const struct msgwire_chat *chat,
                                  const struct msgwire_sdp_media *remote_media);

/**
 * Sends a message of `content_type` (NULL: `text/plain`): wrapped in
 * Message/CPIM when the peer accepts it (To `to_uri`, NULL: the remote
 * identity; DateTime `datetime` in RFC 3339, NULL: now), else plainly.
 * Before `msgwire_chat_start` it is queued. `*out_chunk` (when
 * `out_chunk` is not NULL) receives the SEND, to release with
 * `msgwire_msrp_chunk_free`; its Message-ID identifies the message in
 * the delivery notifications. `MSGWIRE_CHAT_NOT_ACCEPTED` or
 * `MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM` when the started peer cannot take it.
 */
msgwire_status msgwire_chat_send_message(const struct msgwire_chat *chat,
                                         const uint8_t *content,
                                         size_t content_len,
                                         const char *content_type,
                                         const char *to_uri,
                                         const char *datetime,
                                         struct msgwire_msrp_chunk **out_chunk);

/**
 * Sends an is-composing indication (RFC 3994): `state`, `refresh` in
 * seconds (0: none), `last_active` in RFC 3339 (NULL: none). Queued
 * before start like a message. `*out_chunk` as for
 * `msgwire_chat_send_message`.
 */
msgwire_status msgwire_chat_send_composing_indication(const struct msgwire_chat *chat,
                                                      msgwire_chat_composing_state state,
                                                      uint32_t refresh,
                                                      const char *last_active,
                                                      struct msgwire_msrp_chunk **out_chunk);

/**
 * Ends the chat: posts WILL_END, closes the session gracefully, posts
 * DID_END. Does nothing when it has already ended (also by the peer).
 * Blocks; never call it from the callback.
 */
msgwire_status msgwire_chat_end(const struct msgwire_chat *chat);

/**
 * Ends the chat (as `msgwire_chat_end`) and releases it. No callback runs
 * after it returns. NULL is ignored. Never call it from the callback.
 */
void msgwire_chat_free(struct msgwire_chat *chat);

/**
 * Parses a CPIM body (RFC 3862) from `data[0..len]`: message headers, an
 * empty line, the payload's MIME headers, an empty line, the payload. The
 * body starts at the first message header (MSRP carries `Message/CPIM` as
 * the chunk's own Content-Type). Lines end in CRLF.
 *
 * The bytes are copied once; `data` may be reused when the call returns.
 * On success `*out` receives a new message to release with
 * `msgwire_cpim_message_free`. On failure a `MSGWIRE_CPIM_*` status says
 * what is wrong and `msgwire_last_error()` names the line; `*out` is not
 * written.
 */
msgwire_status msgwire_cpim_message_parse(const uint8_t *data,
                                          size_t len,
                                          struct msgwire_cpim_message **out);

/**
 * Releases a message. NULL is ignored. Nothing read from it may be used
 * afterwards.
 */
void msgwire_cpim_message_free(struct msgwire_cpim_message *msg);

/**
 * Encodes the message. A parsed message comes out byte for byte as it was
 * read (MIME headers with one space after their colon).
 *
 * Copies into the caller's buffer (no NUL is added: the payload may be
 * binary). When `cap` is smaller than the encoding, nothing is copied,
 * `*out_len` receives the needed size and `MSGWIRE_BUFFER_TOO_SMALL` is
 * returned; `buf` may be NULL when `cap` is 0, to ask for the size.
 */
msgwire_status msgwire_cpim_message_encode(const struct msgwire_cpim_message *msg,
                                           uint8_t *buf,
                                           size_t cap,
                                           size_t *out_len);

/**
 * The payload: `*out_data` points at `*out_len` bytes (never NULL, also
 * for an empty payload). Binary, not NUL-terminated; borrowed from the
 * message until it is freed.
 */
msgwire_status msgwire_cpim_message_content(const struct msgwire_cpim_message *msg,
                                            const uint8_t **out_data,
                                            size_t *out_len);

/**
 * The payload's Content-Type as written, parameters included.
 *
 * `*out` borrows from the message. `MSGWIRE_NOT_FOUND` when the payload
 * has no Content-Type header.
 */
msgwire_status msgwire_cpim_message_content_type(const struct msgwire_cpim_message *msg,
                                                 struct msgwire_str *out);

/**
 * The number of message headers (NS and Require lines included).
 */
msgwire_status msgwire_cpim_message_header_count(const struct msgwire_cpim_message *msg,
                                                 size_t *out);

/**
 * The message header at `index` (0-based, in wire order); its strings
 * borrow from the message. `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_cpim_message_header(const struct msgwire_cpim_message *msg,
                                           size_t index,
                                           struct msgwire_cpim_header *out);

/**
 * The number of MIME headers of the payload (Content-Type included).
 */
msgwire_status msgwire_cpim_message_content_header_count(const struct msgwire_cpim_message *msg,
                                                         size_t *out);

/**
 * The payload's MIME header at `index` (0-based, in wire order): name and
 * value as written, borrowed from the message. `MSGWIRE_INVALID_ARGUMENT`
 * past the end.
 */
msgwire_status msgwire_cpim_message_content_header(const struct msgwire_cpim_message *msg,
                                                   size_t index,
                                                   struct msgwire_str *out_name,
                                                   struct msgwire_str *out_value);

/**
 * The sender (the first From header), borrowed from the message.
 * `MSGWIRE_NOT_FOUND` without a From header.
 */
msgwire_status msgwire_cpim_message_sender(const struct msgwire_cpim_message *msg,
                                           struct msgwire_cpim_identity *out);

/**
 * The number of recipients: To headers when `courtesy` is false, cc
 * headers when it is true.
 */
msgwire_status msgwire_cpim_message_recipient_count(const struct msgwire_cpim_message *msg,
                                                    bool courtesy,
                                                    size_t *out);

/**
 * The recipient at `index` of the To headers (`courtesy` false) or the cc
 * headers (`courtesy` true), borrowed from the message.
 * `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_cpim_message_recipient(const struct msgwire_cpim_message *msg,
                                              bool courtesy,
                                              size_t index,
                                              struct msgwire_cpim_identity *out);

/**
 * The first DateTime header's value. `MSGWIRE_NOT_FOUND` without one.
 */
msgwire_status msgwire_cpim_message_datetime(const struct msgwire_cpim_message *msg,
                                             struct msgwire_cpim_datetime *out);

/**
 * The number of Subject headers.
 */
msgwire_status msgwire_cpim_message_subject_count(const struct msgwire_cpim_message *msg,
                                                  size_t *out);

/**
 * The Subject at `index` (wire order): its text, unescaped, and its
 * language (`*out_has_lang` false and `*out_lang` empty without one).
 * Borrowed from the message. `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_cpim_message_subject(const struct msgwire_cpim_message *msg,
                                            size_t index,
                                            struct msgwire_str *out_lang,
                                            bool *out_has_lang,
                                            struct msgwire_str *out_text);

/**
 * The number of NS declarations.
 */
msgwire_status msgwire_cpim_message_namespace_count(const struct msgwire_cpim_message *msg,
                                                    size_t *out);

/**
 * The NS declaration at `index` (wire order): the prefix
 * (`*out_has_prefix` false and `*out_prefix` empty for a default-namespace
 * declaration) and the namespace URI. Borrowed from the message.
 * `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_cpim_message_namespace(const struct msgwire_cpim_message *msg,
                                              size_t index,
                                              struct msgwire_str *out_prefix,
                                              bool *out_has_prefix,
                                              struct msgwire_str *out_uri);

/**
 * The number of header names listed by Require headers.
 */
msgwire_status msgwire_cpim_message_required_count(const struct msgwire_cpim_message *msg,
                                                   size_t *out);

/**
 * The required header name at `index`, as written
 * (`MyFeatures.VitalMessageOption`), borrowed from the message.
 * `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_cpim_message_required(const struct msgwire_cpim_message *msg,
                                             size_t index,
                                             struct msgwire_str *out);

/**
 * The current time in UTC from the system clock, for stamping a message
 * with `msgwire_cpim_builder_set_datetime`.
 */
msgwire_status msgwire_cpim_datetime_now(struct msgwire_cpim_datetime *out);

/**
 * Starts a message whose payload is a copy of `data[0..len]` of MIME type
 * `content_type` (written as the first MIME header). On success `*out`
 * receives a builder to release with `msgwire_cpim_builder_free`.
 */
msgwire_status msgwire_cpim_builder_new(const char *content_type,
                                        const uint8_t *data,
                                        size_t len,
                                        struct msgwire_cpim_builder **out);

/**
 * Releases a builder. NULL is ignored. Messages it built are not affected.
 */
void msgwire_cpim_builder_free(struct msgwire_cpim_builder *builder);

/**
 * Adds an identity: the sender (`MSGWIRE_CPIM_ROLE_FROM`), a recipient
 * (`_TO`) or a courtesy recipient (`_CC`). `uri` is required;
 * `display_name` may be NULL. A display name that is not plain words is
 * quoted and escaped when built.
 */
msgwire_status msgwire_cpim_builder_add_identity(struct msgwire_cpim_builder *builder,
                                                 msgwire_cpim_role role,
                                                 const char *uri,
                                                 const char *display_name);

/**
 * Sets the DateTime. `MSGWIRE_INVALID_ARGUMENT` when a field is out of
 * range (a 30th of February, an offset of a day, ...).
 */
msgwire_status msgwire_cpim_builder_set_datetime(struct msgwire_cpim_builder *builder,
                                                 const struct msgwire_cpim_datetime *datetime);

/**
 * Adds a Subject with an optional language tag (`lang` may be NULL).
 */
msgwire_status msgwire_cpim_builder_add_subject(struct msgwire_cpim_builder *builder,
                                                const char *lang,
                                                const char *text);

/**
 * Adds a header name (`Prefix.Name` or `Name`) to the Require header.
 */
msgwire_status msgwire_cpim_builder_add_require(struct msgwire_cpim_builder *builder,
                                                const char *name);

/**
 * Adds an additional header `name` in the namespace `namespace_uri`, with
 * `value` written as given. `prefix` may be NULL: the builder then writes
 * no prefix for the CPIM namespace, reuses the prefix already bound to the
 * namespace, or makes up `nsN`. An NS line declares each namespace before
 * its first header.
 */
msgwire_status msgwire_cpim_builder_add_header(struct msgwire_cpim_builder *builder,
                                               const char *namespace_uri,
                                               const char *prefix,
                                               const char *name,
                                               const char *value);

/**
 * Adds a MIME header of the payload after Content-Type (`Content-ID`,
 * `Content-Disposition`, ...).
 */
msgwire_status msgwire_cpim_builder_add_content_header(struct msgwire_cpim_builder *builder,
                                                       const char *name,
                                                       const char *value);

/**
 * Checks every value and builds a message; the builder stays usable. On
 * success `*out` receives a new message to release with
 * `msgwire_cpim_message_free`. `MSGWIRE_CPIM_INVALID_MESSAGE` when a value
 * cannot be encoded (a URI without a scheme, a bad name, a control
 * character, one prefix for two namespaces); the message says which.
 */
msgwire_status msgwire_cpim_builder_build(const struct msgwire_cpim_builder *builder,
                                          struct msgwire_cpim_message **out);

/**
 * Fills `*opts` with the defaults (those used when a `_new` function gets
 * NULL): 30 s for every step, no sessmatch.
 */
msgwire_status msgwire_msrp_bind_options_default(struct msgwire_msrp_bind_options *opts);

/**
 * Creates a connector with the options in `*opts`, or the defaults when
 * `opts` is NULL (the options are copied). A timeout of 0 is
 * `MSGWIRE_INVALID_ARGUMENT`. On success `*out` receives a new connector
 * to release with `msgwire_msrp_connector_free`.
 */
msgwire_status msgwire_msrp_connector_new(const struct msgwire_msrp_bind_options *opts,
                                          struct msgwire_msrp_connector **out);

/**
 * Attaches a TLS client configuration, used when the first URI of the
 * remote path given to `msgwire_msrp_connector_complete` is `msrps`: the
 * connector then runs the TLS handshake (bounded by the connect timeout)
 * and verifies the peer's certificate as `config` says, for the host
 * named in that URI. `msrp` peers are still reached over plain TCP.
 *
 * The connector keeps its own reference to the configuration: the caller
 * still owns `config` and may free it right after this call. Call it
 * before `_complete`; calling it again replaces the configuration. Without
 * one, completing towards an `msrps` URI fails with
 * `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`.
 */
msgwire_status msgwire_msrp_connector_set_tls(struct msgwire_msrp_connector *connector,
                                              const struct msgwire_tls_client_config *config);

/**
 * Copies the address used for a local URI without a host into `buf`:
 * the address of the interface that holds the default route (found
 * without sending anything), or `127.0.0.1` when there is none, as the
 * legacy library chose it. Written NUL-terminated with its length
 * (without the NUL) in `*out_len`; `MSGWIRE_BUFFER_TOO_SMALL` gives the
 * needed length. 46 bytes always suffice.
 */
msgwire_status msgwire_default_ip(char *buf, size_t cap, size_t *out_len);

/**
 * Chooses the local path to advertise and copies it into `buf`.
 *
 * `local_uri` is a NUL-terminated MSRP URI or NULL. What it leaves out is
 * filled in: a missing session-id becomes a random one; a port of 0
 * becomes 2855 (a connector never listens). NULL means
 * `msrp://<default ip>:2855/<random>;tcp` (see `msgwire_default_ip`).
 * When the peer's URI is `msrps`,
 * advertise an `msrps` URI too (whether TLS is used is decided by the
 * peer's URI, see `msgwire_msrp_connector_set_tls`).
 *
 * The path is written as its SDP `a=path` value (URIs separated by
 * spaces), NUL-terminated, with its length (without the NUL) in
 * `*out_len`. The connector is prepared even when the buffer is too small
 * (`MSGWIRE_BUFFER_TOO_SMALL`, needed length in `*out_len`): fetch the path
 * with `msgwire_msrp_connector_local_path` rather than preparing again,
 * which would choose a new session-id.
 */
msgwire_status msgwire_msrp_connector_prepare(struct msgwire_msrp_connector *connector,
                                              const char *local_uri,
                                              char *buf,
                                              size_t cap,
                                              size_t *out_len);

/**
 * Copies the path chosen by the last `msgwire_msrp_connector_prepare` into
 * `buf` (same buffer rules). Returns `MSGWIRE_NOT_FOUND` before the first
 * `_prepare`.
 */
msgwire_status msgwire_msrp_connector_local_path(const struct msgwire_msrp_connector *connector,
                                                 char *buf,
                                                 size_t cap,
                                                 size_t *out_len);

/**
 * Connects to the first URI of `remote_path` (the peer's SDP `a=path`
 * value: URIs separated by spaces), sends the bind SEND and waits for its
 * 200. Prepares with defaults first if `_prepare` was not called.
 *
 * Blocks the calling thread for up to the connect timeout plus the bind
 * timeout. On success `*transport_out` receives a bound transport to pass
 * to `msgwire_msrp_session_start` (or release with
 * `msgwire_msrp_transport_free`). Failures are `MSGWIRE_MSRP_URI_*` for a
 * malformed path and `MSGWIRE_MSRP_ENDPOINT_*` otherwise (e.g.
 * `_CONNECT`, `_CONNECT_TIMEOUT`, `_BIND_TIMEOUT`, `_BIND_REJECTED`; for
 * an `msrps` peer `_TLS_NOT_CONFIGURED` without
 * `msgwire_msrp_connector_set_tls`, and `_TLS` when the handshake fails,
 * e.g. a certificate the configuration does not trust).
 */
msgwire_status msgwire_msrp_connector_complete(struct msgwire_msrp_connector *connector,
                                               const char *remote_path,
                                               struct msgwire_msrp_transport **transport_out);

/**
 * Releases a connector. NULL is ignored. A transport it completed is not
 * affected.
 */
void msgwire_msrp_connector_free(struct msgwire_msrp_connector *connector);

/**
 * Creates an acceptor with the options in `*opts`, or the defaults when
 * `opts` is NULL (the options are copied). A timeout of 0 is
 * `MSGWIRE_INVALID_ARGUMENT`. On success `*out` receives a new acceptor to
 * release with `msgwire_msrp_acceptor_free`.
 */
msgwire_status msgwire_msrp_acceptor_new(const struct msgwire_msrp_bind_options *opts,
                                         struct msgwire_msrp_acceptor **out);

/**
 * Attaches a TLS server configuration (certificate and key), used when
 * the local URI given to `msgwire_msrp_acceptor_prepare` is `msrps`: the
 * acceptor then runs the TLS handshake on the incoming connection
 * (bounded by the bind timeout) before the bind exchange. With an `msrp`
 * local URI the configuration is not used.
 *
 * The acceptor keeps its own reference to the configuration: the caller
 * still owns `config` and may free it right after this call. Call it
 * before `_complete` (usually before `_prepare`); calling it again
 * replaces the configuration. Without one, completing an acceptor
 * prepared with an `msrps` URI fails with
 * `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`.
 */
msgwire_status msgwire_msrp_acceptor_set_tls(struct msgwire_msrp_acceptor *acceptor,
                                             const struct msgwire_tls_server_config *config);

/**
 * Starts listening and copies the local path to advertise into `buf`.
 *
 * `local_uri` is a NUL-terminated MSRP URI or NULL. The acceptor listens on
 * its host and port; port 0 picks a free port, which is written into the
 * returned path. A missing session-id becomes a random one. NULL means
 * `msrp://<default ip>:0/<random>;tcp` (see `msgwire_default_ip`). A
 * socket that cannot be bound is
 * `MSGWIRE_MSRP_ENDPOINT_LISTEN`. An `msrps` URI makes the connection run
 * over TLS, with the configuration of `msgwire_msrp_acceptor_set_tls`.
 *
 * Buffer rules as for `msgwire_msrp_connector_prepare`: on
 * `MSGWIRE_BUFFER_TOO_SMALL` the acceptor is listening already; fetch the
 * path with `msgwire_msrp_acceptor_local_path`. Preparing again replaces
 * the listener.
 */
msgwire_status msgwire_msrp_acceptor_prepare(struct msgwire_msrp_acceptor *acceptor,
                                             const char *local_uri,
                                             char *buf,
                                             size_t cap,
                                             size_t *out_len);

/**
 * Copies the path chosen by the last `msgwire_msrp_acceptor_prepare` into
 * `buf` (same buffer rules). Returns `MSGWIRE_NOT_FOUND` before the first
 * `_prepare`.
 */
msgwire_status msgwire_msrp_acceptor_local_path(const struct msgwire_msrp_acceptor *acceptor,
                                                char *buf,
                                                size_t cap,
                                                size_t *out_len);

/**
 * Waits for one incoming connection, checks that its bind SEND names our
 * URI and `remote_path` (the peer's SDP `a=path` value, URIs separated by
 * spaces), answers 200 and stops listening.
 *
 * Blocks the calling thread for up to the incoming-connect timeout plus the
 * bind timeout. On success `*transport_out` receives a bound transport. A
 * bind SEND for other paths is answered 481 and gives
 * `MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH`; no connection in time gives
 * `MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT`; without a successful
 * `_prepare` it is `MSGWIRE_MSRP_ENDPOINT_CLOSED`. Prepared with an `msrps`
 * URI, it fails with `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED` without
 * `msgwire_msrp_acceptor_set_tls` (before accepting anything) and with
 * `MSGWIRE_MSRP_ENDPOINT_TLS` when the handshake fails (e.g. the peer
 * does not trust our certificate, or speaks plain TCP). The listener is
 * used up either way: prepare again to retry.
 */
msgwire_status msgwire_msrp_acceptor_complete(struct msgwire_msrp_acceptor *acceptor,
                                              const char *remote_path,
                                              struct msgwire_msrp_transport **transport_out);

/**
 * Releases an acceptor, closing its listener if `_complete` did not use
 * it. NULL is ignored. Must not be called while `_complete` runs.
 */
void msgwire_msrp_acceptor_free(struct msgwire_msrp_acceptor *acceptor);

/**
 * Releases a transport that was not given to `msgwire_msrp_session_start`,
 * closing its connection. NULL is ignored.
 */
void msgwire_msrp_transport_free(struct msgwire_msrp_transport *transport);

/**
 * Writes to `*out` whether the transport runs over TLS (it was bound to
 * or from an `msrps` URI).
 */
msgwire_status msgwire_msrp_transport_is_tls(const struct msgwire_msrp_transport *transport,
                                             bool *out);

/**
 * Writes `data[0..len]` to the connection as is (`data` may be NULL when
 * `len` is 0) and returns once the operating system (or TLS) has taken all
 * of it. Nothing checks that the bytes are MSRP. A peer that is gone is
 * `MSGWIRE_MSRP_ENDPOINT_IO` (broken pipe, reset).
 */
msgwire_status msgwire_msrp_transport_write(struct msgwire_msrp_transport *transport,
                                            const uint8_t *data,
                                            size_t len);

/**
 * Encodes `chunk` and writes it (as `msgwire_msrp_transport_write`). The
 * chunk is sent as given and only read: the caller keeps it and frees it.
 * No transaction is tracked: a response the peer sends back is read with
 * `msgwire_msrp_transport_read_chunk` like any other chunk.
 */
msgwire_status msgwire_msrp_transport_write_chunk(struct msgwire_msrp_transport *transport,
                                                  const struct msgwire_msrp_chunk *chunk);

/**
 * Writes the response owed for `request` (a request read from this
 * transport) after handling it with `code`, built as by
 * `msgwire_msrp_make_response`: nothing is written when the request's
 * Failure-Report asks for no response (`no`, or `partial` with a 200).
 *
 * `comment` may be NULL. `written_out` may be NULL; otherwise it receives
 * whether a response was written. `request` is only read: the caller keeps
 * it and frees it. Fails with `MSGWIRE_INVALID_ARGUMENT` for a code above
 * 999 or a comment containing CR or LF, with a `MSGWIRE_MSRP_HEADER_*`
 * status when the request's To-Path, From-Path or Failure-Report is
 * missing or malformed, and with `MSGWIRE_MSRP_ENDPOINT_IO` when writing
 * fails.
 */
msgwire_status msgwire_msrp_transport_write_response(struct msgwire_msrp_transport *transport,
                                                     const struct msgwire_msrp_chunk *request,
                                                     uint16_t code,
                                                     const char *comment,
                                                     bool *written_out);

/**
 * Reads the next chunk from the connection, blocking for at most
 * `timeout_ms` milliseconds (negative: no limit; 0: only what has already
 * arrived).
 *
 * On success `*chunk_out` receives a new chunk to release with
 * `msgwire_msrp_chunk_free`, and `*segment_out` (when `segment_out` is not
 * NULL) the segment number: 0 for a whole chunk. A chunk whose body grows
 * past `max_size` bytes before its end-line arrives comes back in
 * "virtual" segments of exactly `max_size` bytes, numbered from 1: each
 * carries the chunk's start line and headers with its Byte-Range
 * rewritten to the segment's own bytes (start and end; the total is
 * kept), and every segment but the last has flag `'+'`; the last has the
 * chunk's own flag. `max_size` `SIZE_MAX` returns whole chunks only (up
 * to the parser's 64 MiB body limit); 0 returns whatever body has arrived
 * as a segment. A bind SEND that carried a body is returned first.
 *
 * Failures (`*chunk_out` and `*segment_out` are not written):
 *
 * * `MSGWIRE_MSRP_ENDPOINT_TIMEOUT`: nothing complete arrived in time.
 *   Nothing is lost: a partly received chunk stays buffered and the next
 *   call continues it.
 * * `MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED`: the peer closed the
 *   connection and every complete chunk was returned.
 * * `MSGWIRE_MSRP_ENDPOINT_PROTOCOL`: the bytes are not MSRP
 *   (`msgwire_last_error()` says why); the parser skips the bad chunk, so
 *   reading may go on.
 * * `MSGWIRE_MSRP_ENDPOINT_IO`: the socket failed.
 *
 * What was read and not returned stays in the transport, so a session
 * started on it afterwards loses nothing, a partly received chunk
 * included, unless segments of that chunk were already returned:
 * `msgwire_msrp_session_start` then fails with
 * `MSGWIRE_MSRP_ENDPOINT_MID_CHUNK` (see
 * `msgwire_msrp_transport_mid_chunk`).
 */
msgwire_status msgwire_msrp_transport_read_chunk(struct msgwire_msrp_transport *transport,
                                                 size_t max_size,
                                                 int64_t timeout_ms,
                                                 struct msgwire_msrp_chunk **chunk_out,
                                                 uint32_t *segment_out);

/**
 * Writes to `*out` whether `msgwire_msrp_transport_read_chunk` has
 * returned segments of a chunk whose last segment is still to come. A
 * session cannot take over in the middle of such a chunk:
 * `msgwire_msrp_session_start` refuses the transport with
 * `MSGWIRE_MSRP_ENDPOINT_MID_CHUNK`.
 */
msgwire_status msgwire_msrp_transport_mid_chunk(const struct msgwire_msrp_transport *transport,
                                                bool *out);

/**
 * Fills `*cfg` with the defaults (those used when
 * `msgwire_msrp_session_start` gets NULL).
 */
msgwire_status msgwire_msrp_session_config_default(struct msgwire_msrp_session_config *cfg);

/**
 * Starts a session on `transport`, which this call consumes whatever the
 * outcome (do not use or free it afterwards; NULL is
 * `MSGWIRE_NULL_PARAMETER`).
 *
 * `cfg` may be NULL for the defaults; it and its `accept_types` string are
 * only read during the call. `callbacks` may be NULL for none; the struct
 * is copied. `user_data` is passed to every callback and to
 * `callbacks->user_data_free`, which releases it when the session is freed
 * (or right away when this call fails, so the caller never has to).
 *
 * On success `*out` receives the session, to release with
 * `msgwire_msrp_session_free`. Callbacks may run before this function
 * returns (data that arrived with the bind exchange), on worker threads or
 * on the calling thread.
 */
msgwire_status msgwire_msrp_session_start(struct msgwire_msrp_transport *transport,
                                          const struct msgwire_msrp_session_config *cfg,
                                          const struct msgwire_msrp_session_callbacks *callbacks,
                                          void *user_data,
                                          struct msgwire_msrp_session **out);

/**
 * Queues `chunk` (a request or response along this session's paths,
 * usually from `msgwire_msrp_session_make_message`) for sending and
 * returns; blocks only while the connection's send queue is full.
 *
 * The chunk is copied: the caller keeps it and frees it. When it is a
 * request expecting a response (Failure-Report `yes` or `partial`), its
 * outcome is reported to `on_response`; with `Failure-Report: no` nothing
 * is reported. Returns `MSGWIRE_MSRP_ENDPOINT_CLOSED` once the session is
 * shutting down, `MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION` when a
 * request with the same transaction id is still waiting, and
 * `MSGWIRE_MSRP_ENDPOINT_HEADER` when its Failure-Report is malformed.
 * May be called from a callback.
 */
msgwire_status msgwire_msrp_session_send_chunk(const struct msgwire_msrp_session *session,
                                               const struct msgwire_msrp_chunk *chunk);

/**
 * Sends `chunk` and waits for its response (at most the response
 * timeout). The chunk is copied: the caller keeps it and frees it.
 *
 * * 2xx: `MSGWIRE_OK`, `*response_out` receives the response, a new chunk
 *   to release with `msgwire_msrp_chunk_free`.
 * * `Failure-Report: no`: `MSGWIRE_OK` at once and `*response_out` is set
 *   to NULL (no response will come).
 * * Any other code, from the peer or the local 408 after the timeout:
 *   `MSGWIRE_MSRP_ENDPOINT_RESPONSE`; `msgwire_last_error()` gives the code
 *   and comment (e.g. `"request failed: 415 ..."`). `*response_out` is not
 *   written.
 * * The connection ended first: `MSGWIRE_MSRP_ENDPOINT_CLOSED`.
 *
 * The outcome is not reported to `on_response`. Blocks the calling
 * thread; from a session callback it is refused with
 * `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_session_deliver_chunk(const struct msgwire_msrp_session *session,
                                                  const struct msgwire_msrp_chunk *chunk,
                                                  struct msgwire_msrp_chunk **response_out);

/**
 * Builds a SEND carrying a whole message along this session's paths, with
 * a random transaction id and Message-ID, `Byte-Range: 1-N/N` and the
 * given Content-Type (a NUL-terminated string such as `"text/plain"`).
 *
 * `data[0..len]` is copied (`data` may be NULL when `len` is 0). On success
 * `*chunk_out` receives a new chunk to release with
 * `msgwire_msrp_chunk_free`; adjust it (e.g. `Success-Report: yes` with
 * `msgwire_msrp_chunk_set_header`) before sending it. A Content-Type
 * containing CR or LF is `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_session_make_message(const struct msgwire_msrp_session *session,
                                                 const uint8_t *data,
                                                 size_t len,
                                                 const char *content_type,
                                                 struct msgwire_msrp_chunk **chunk_out);

/**
 * Ends the session gracefully: sends what was already queued, waits for
 * the responses to requests already sent (bounded by the response
 * timeout), then closes the connection; `on_closed` follows. New chunks
 * are refused from the first call on.
 *
 * With `wait` the call returns when the connection is closed (from a
 * session callback that is refused with `MSGWIRE_INVALID_ARGUMENT`);
 * without it the work goes on in the background and the call returns at
 * once. Calling it again only waits (with `wait`) for the first call's
 * work.
 */
msgwire_status msgwire_msrp_session_shutdown(const struct msgwire_msrp_session *session, bool wait);

/**
 * Releases a session and its `user_data` (through `user_data_free`),
 * and the `user_data` of messages sent with
 * `msgwire_msrp_session_send_message` that are still running (their
 * update callbacks get no final update). NULL is ignored.
 *
 * Does not wait for the peer: a session that was not shut down is aborted
 * (its connection reset, no `on_closed`), and the rest of a
 * `shutdown(session, false)` still in progress finishes in the
 * background. Either way, once this returns no callback of the session is
 * running or will run. It waits for a callback running on another thread
 * to return. Called from one of the session's own callbacks, the release
 * of `user_data` happens when that callback returns. The session must not
 * be used afterwards.
 */
void msgwire_msrp_session_free(struct msgwire_msrp_session *session);

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
 * Fills `*out` with the defaults (those used when a function gets a NULL
 * config).
 */
msgwire_status msgwire_ministream_config_default(struct msgwire_ministream_config *out);

/**
 * Creates a manager over TCP listening on `address` (`"127.0.0.1:0"`
 * picks a free port; `"[::1]:0"` for IPv6). Its destination, the bound
 * `ip:port`, is what peers connect to. `config` may be NULL for the
 * defaults (it is copied). On success `*out` receives a manager to
 * release with `msgwire_ministream_manager_free`.
 *
 * Errors: `MSGWIRE_MINISTREAM_LISTEN`, `MSGWIRE_INVALID_ARGUMENT` for a
 * bad config.
 */
msgwire_status msgwire_ministream_manager_listen(const char *address,
                                                 const struct msgwire_ministream_config *config,
                                                 struct msgwire_ministream_manager **out);

/**
 * `msgwire_ministream_manager_listen` over TLS. With `server_tls`
 * (NULL: plain TCP), connections peers open to this manager must speak
 * TLS and are shown its certificate; with `client_tls` (NULL: plain
 * TCP), the connections it opens speak TLS, and the host part of the
 * destination (`host:port`) is the name the peer's certificate must
 * match. Peers that reach each other both ways need both. The manager
 * keeps its own reference to each configuration: the caller may free
 * them right after this call.
 *
 * A connection whose TLS handshake fails carries no stream: `connect`
 * fails with `MSGWIRE_MINISTREAM_TRANSPORT`. Other errors as for
 * `msgwire_ministream_manager_listen`.
 */
msgwire_status msgwire_ministream_manager_listen_tls(const char *address,
                                                     const struct msgwire_ministream_config *config,
                                                     const struct msgwire_tls_server_config *server_tls,
                                                     const struct msgwire_tls_client_config *client_tls,
                                                     struct msgwire_ministream_manager **out);

/**
 * Creates two in-memory managers that reach each other (and nobody
 * else); their destinations are generated names. `config` may be NULL.
 * On success `*out_a` and `*out_b` each receive a manager to release with
 * `msgwire_ministream_manager_free`.
 */
msgwire_status msgwire_ministream_manager_pair(const struct msgwire_ministream_config *config,
                                               struct msgwire_ministream_manager **out_a,
                                               struct msgwire_ministream_manager **out_b);

/**
 * Copies the manager's destination (UTF-8 text, e.g. `"127.0.0.1:4711"`)
 * into `buf` with a terminating NUL and stores its length (without the
 * NUL) in `*out_len`. A buffer of 64 bytes holds any TCP destination;
 * when `buf` is too small `MSGWIRE_BUFFER_TOO_SMALL` is returned with the
 * needed length in `*out_len`.
 */
msgwire_status msgwire_ministream_manager_destination(const struct msgwire_ministream_manager *manager,
                                                      char *buf,
                                                      size_t cap,
                                                      size_t *out_len);

/**
 * Opens a stream to `destination` (`dest_len` bytes, e.g. the text
 * another manager's `_destination` gave) and waits until the peer accepts
 * it, for at most `timeout_ms` (0: the config's connect timeout). On
 * success `*out` receives a socket to release with
 * `msgwire_ministream_socket_free`.
 *
 * Errors: `MSGWIRE_MINISTREAM_REFUSED`, `MSGWIRE_MINISTREAM_TIMEOUT`,
 * `MSGWIRE_MINISTREAM_TRANSPORT` (cannot reach the peer),
 * `MSGWIRE_MINISTREAM_DESTINATION`, `MSGWIRE_MINISTREAM_CLOSED`
 * (destroyed). Blocks the calling thread.
 */
msgwire_status msgwire_ministream_manager_connect(const struct msgwire_ministream_manager *manager,
                                                  const uint8_t *destination,
                                                  size_t dest_len,
                                                  uint32_t timeout_ms,
                                                  struct msgwire_ministream_socket **out);

/**
 * Starts accepting incoming streams: from now on a stream a peer opens
 * waits (up to the accept timeout) for `msgwire_ministream_manager_accept`
 * instead of being refused at once. Calling it again does nothing.
 */
msgwire_status msgwire_ministream_manager_accept_streams(const struct msgwire_ministream_manager *manager);

/**
 * Waits for an incoming stream, sends its acceptance and stores a socket
 * in `*out` (release it with `msgwire_ministream_socket_free`). Waits at
 * most `timeout_ms`; a negative value waits until a stream comes or the
 * manager is destroyed. Starts accepting (as `_accept_streams`) if that
 * was not done yet.
 *
 * Errors: `MSGWIRE_MINISTREAM_TIMEOUT`, `MSGWIRE_MINISTREAM_CLOSED`.
 */
msgwire_status msgwire_ministream_manager_accept(const struct msgwire_ministream_manager *manager,
                                                 int64_t timeout_ms,
                                                 struct msgwire_ministream_socket **out);

/**
 * Checks whether `destination` is reachable: the transport connection to
 * it is up or comes up within `timeout_ms` (0: the connect timeout) and
 * the one-byte ping probe was queued. Stores the answer in `*out`.
 * Errors: `MSGWIRE_MINISTREAM_DESTINATION`, `MSGWIRE_MINISTREAM_CLOSED`.
 */
msgwire_status msgwire_ministream_manager_ping(const struct msgwire_ministream_manager *manager,
                                               const uint8_t *destination,
                                               size_t dest_len,
                                               uint32_t timeout_ms,
                                               bool *out);

/**
 * Stores in `*out` how many streams are open or being opened.
 */
msgwire_status msgwire_ministream_manager_socket_count(const struct msgwire_ministream_manager *manager,
                                                       size_t *out);

/**
 * Copies the manager's counts of dropped frames into `*out`.
 */
msgwire_status msgwire_ministream_manager_stats(const struct msgwire_ministream_manager *manager,
                                                struct msgwire_ministream_stats *out);

/**
 * Closes every stream (sending each peer a Close), refuses streams
 * waiting for accept, stops listening and closes every transport
 * connection. Blocked calls on the manager and its sockets return
 * `MSGWIRE_MINISTREAM_CLOSED`. Sockets stay valid handles (free them as
 * usual). Calling it again does nothing; `_free` does it too.
 */
msgwire_status msgwire_ministream_manager_destroy(const struct msgwire_ministream_manager *manager);

/**
 * Destroys the manager (as `_destroy`) and releases it. NULL does
 * nothing. No other call on it may be running or follow.
 */
void msgwire_ministream_manager_free(struct msgwire_ministream_manager *manager);

/**
 * Reads up to `cap` bytes of the stream into `buf` and stores how many in
 * `*out_len`; 0 means the peer closed the stream and everything was read.
 * Waits for data up to the socket's read timeout.
 *
 * Errors: `MSGWIRE_MINISTREAM_TIMEOUT` (nothing arrived in time; the
 * socket stays usable), `MSGWIRE_MINISTREAM_CLOSED`,
 * `MSGWIRE_MINISTREAM_TRANSPORT`.
 */
msgwire_status msgwire_ministream_socket_read(const struct msgwire_ministream_socket *socket,
                                              uint8_t *buf,
                                              size_t cap,
                                              size_t *out_len);

/**
 * Writes all `len` bytes of `data` to the stream (split into frames),
 * waiting for room up to the socket's write timeout.
 *
 * Errors: `MSGWIRE_MINISTREAM_RESET` (the peer closed the stream),
 * `MSGWIRE_MINISTREAM_TIMEOUT`, `MSGWIRE_MINISTREAM_CLOSED`,
 * `MSGWIRE_MINISTREAM_TRANSPORT`.
 */
msgwire_status msgwire_ministream_socket_write(const struct msgwire_ministream_socket *socket,
                                               const uint8_t *data,
                                               size_t len);

/**
 * Sets the socket's read and write timeouts in milliseconds (0: wait
 * forever).
 */
msgwire_status msgwire_ministream_socket_set_timeouts(const struct msgwire_ministream_socket *socket,
                                                      uint32_t read_timeout_ms,
                                                      uint32_t write_timeout_ms);

/**
 * Copies the peer's destination (for an accepted stream, the bytes its
 * opener sent; for TCP managers, their `ip:port`) into `buf`, followed by
 * a NUL, and stores its length (without the NUL) in `*out_len`. When
 * `buf` is too small `MSGWIRE_BUFFER_TOO_SMALL` is returned with the
 * needed length.
 */
msgwire_status msgwire_ministream_socket_peer_destination(const struct msgwire_ministream_socket *socket,
                                                          char *buf,
                                                          size_t cap,
                                                          size_t *out_len);

/**
 * Stores the data bytes written to and read from the stream so far.
 * Either pointer may be NULL.
 */
msgwire_status msgwire_ministream_socket_counters(const struct msgwire_ministream_socket *socket,
                                                  uint64_t *sent,
                                                  uint64_t *received);

/**
 * Closes the stream: the peer gets a Close, unread data is dropped, and
 * blocked reads and writes on this socket return
 * `MSGWIRE_MINISTREAM_CLOSED`. The handle stays valid until `_free`.
 */
msgwire_status msgwire_ministream_socket_close(const struct msgwire_ministream_socket *socket);

/**
 * Closes the stream (as `_close`) and releases the socket. NULL does
 * nothing. No other call on it may be running or follow.
 */
void msgwire_ministream_socket_free(struct msgwire_ministream_socket *socket);

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

/**
 * Settings for `username` with `password` at the relay of `domain`: the
 * domain names the relay in the AUTH (`msrp://<domain>:<port>;tcp`) and
 * is where it is looked up (DNS SRV `_msrp._tcp.<domain>`, or
 * `_msrps._tcp` with TLS, then the domain's own addresses on port 2855)
 * unless `msgwire_msrp_relay_settings_set_host` names a host. Plain TCP,
 * no `Expires` asked for, 30 s to wait for each answer to AUTH, DNS
 * servers from /etc/resolv.conf. On success `*out` receives the
 * settings.
 */
msgwire_status msgwire_msrp_relay_settings_new(const char *domain,
                                               const char *username,
                                               const char *password,
                                               struct msgwire_msrp_relay_settings **out);

/**
 * Connects to `host` (a name or an address) instead of looking the
 * domain up in DNS. NULL goes back to DNS discovery.
 */
msgwire_status msgwire_msrp_relay_settings_set_host(struct msgwire_msrp_relay_settings *settings,
                                                    const char *host);

/**
 * The relay's port (also in the AUTH's URI and the digest URI); 0 goes
 * back to the default: 2855, or what DNS SRV records say.
 */
msgwire_status msgwire_msrp_relay_settings_set_port(struct msgwire_msrp_relay_settings *settings,
                                                    uint16_t port);

/**
 * Uses TLS (`msrps`) to the relay, verifying its certificate as `config`
 * says (the trusted CAs, or the explicit opt-out
 * `msgwire_tls_client_config_insecure`). The settings keep their own
 * reference; the caller may free `config` afterwards. NULL goes back to
 * plain TCP.
 */
msgwire_status msgwire_msrp_relay_settings_set_tls(struct msgwire_msrp_relay_settings *settings,
                                                   const struct msgwire_tls_client_config *config);

/**
 * Asks the relay for a reservation of `seconds` (an `Expires` header); 0
 * sends none, the default, because deployed Kamailio relays answer any
 * `Expires` with 423. A 423 naming Min-Expires or Max-Expires is retried
 * once within that bound either way.
 */
msgwire_status msgwire_msrp_relay_settings_set_expires(struct msgwire_msrp_relay_settings *settings,
                                                       uint32_t seconds);

/**
 * How long to wait for each answer to AUTH (default 30000 ms), and how
 * long an AUTH carrying the digest `uri` may go unanswered before it is
 * sent again without it (default 5000 ms; AGProjects msrprelay 1.4 never
 * answers one with it). Both at least 1 ms.
 */
msgwire_status msgwire_msrp_relay_settings_set_auth_timeouts(struct msgwire_msrp_relay_settings *settings,
                                                             uint32_t auth_timeout_ms,
                                                             uint32_t quirk_wait_ms);

/**
 * Adds a DNS server (`"ip:port"`, or an IP for port 53) to ask for the
 * relay's SRV and address records, in the order added, instead of those
 * of /etc/resolv.conf. `timeout_ms` (at least 1) bounds each server's
 * answer.
 */
msgwire_status msgwire_msrp_relay_settings_add_nameserver(struct msgwire_msrp_relay_settings *settings,
                                                          const char *address,
                                                          uint32_t timeout_ms);

/**
 * Releases settings. NULL is ignored.
 */
void msgwire_msrp_relay_settings_free(struct msgwire_msrp_relay_settings *settings);

/**
 * Creates a relay connection with a copy of `settings`, binding as
 * `mode`, with the bind options in `*opts` or the defaults when `opts` is
 * NULL (its connect timeout bounds the TCP connection to the relay).
 */
msgwire_status msgwire_msrp_relay_connection_new(const struct msgwire_msrp_relay_settings *settings,
                                                 msgwire_msrp_relay_mode mode,
                                                 const struct msgwire_msrp_bind_options *opts,
                                                 struct msgwire_msrp_relay_connection **out);

/**
 * Connects to the relay (trying each target DNS gives, in order, until
 * one authenticates), authenticates, and copies the full local path to
 * advertise into `buf`: the relay's Use-Path, then our URI, separated by
 * spaces. `local_uri` (NULL or an MSRP URI) may fix our URI's session id;
 * its host and port are always our end of the relay connection.
 *
 * Blocks for up to the connect timeout plus the AUTH exchange. Failures:
 * `MSGWIRE_MSRP_RELAY_AUTH_REJECTED` (wrong credentials: a second 401,
 * 403, ...), `_AUTH_TIMEOUT` (no answer), `_CONNECT_TIMEOUT`,
 * `_DNS_NO_ANSWER` / `_NOT_FOUND` / `_BAD_DOMAIN` (discovery),
 * `_BAD_RESPONSE`, `_BAD_DIGEST`, and `MSGWIRE_MSRP_ENDPOINT_*` for the
 * connection itself (`_CONNECT`, `_TLS`, `_TLS_NOT_CONFIGURED`).
 * Buffer rules as for `msgwire_msrp_connector_prepare`: on
 * `MSGWIRE_BUFFER_TOO_SMALL` the connection is prepared; fetch the path
 * with `msgwire_msrp_relay_connection_local_path`.
 */
msgwire_status msgwire_msrp_relay_connection_prepare(struct msgwire_msrp_relay_connection *connection,
                                                     const char *local_uri,
                                                     char *buf,
                                                     size_t cap,
                                                     size_t *out_len);

/**
 * Copies the path of the last successful `_prepare` into `buf` (same
 * buffer rules). `MSGWIRE_NOT_FOUND` before one.
 */
msgwire_status msgwire_msrp_relay_connection_local_path(const struct msgwire_msrp_relay_connection *connection,
                                                        char *buf,
                                                        size_t cap,
                                                        size_t *out_len);

/**
 * Binds the session through the relay: `remote_path` is the peer's SDP
 * `a=path` value. The active side sends the bind SEND (our relay in
 * front of the peer's path) and waits for its 200; the passive side waits
 * for the peer's bind SEND, relayed to us, and answers it. On success
 * `*transport_out` receives a transport for `msgwire_msrp_session_start`
 * (a session started on it renews the relay reservation by itself).
 * Without a successful `_prepare` it is `MSGWIRE_MSRP_RELAY_NOT_PREPARED`;
 * bind failures are `MSGWIRE_MSRP_ENDPOINT_*` as for the direct
 * endpoints. The relay connection is used up either way.
 */
msgwire_status msgwire_msrp_relay_connection_complete(struct msgwire_msrp_relay_connection *connection,
                                                      const char *remote_path,
                                                      struct msgwire_msrp_transport **transport_out);

/**
 * Drops the relay connection of a `_prepare` that will not be completed
 * (legacy `cleanup()`); `_free` does it too.
 */
msgwire_status msgwire_msrp_relay_connection_cleanup(struct msgwire_msrp_relay_connection *connection);

/**
 * Releases a relay connection (closing a prepared, uncompleted one). NULL
 * is ignored. A transport it completed is not affected.
 */
void msgwire_msrp_relay_connection_free(struct msgwire_msrp_relay_connection *connection);

/**
 * A configuration for `realm` (the digest realm, also the domain clients
 * name the relay by) with no users and no listener yet, and the
 * documented defaults of the Rust `RelayConfig` (expires 60/600/3600 s,
 * nonces 15 s, 3 AUTH attempts, 30 s transaction timeout, 10 KiB
 * control bodies, 64 connections per address). `*out` receives a
 * configuration to release with `msgwire_relay_config_free`.
 */
msgwire_status msgwire_relay_config_new(const char *realm, struct msgwire_relay_config **out);

/**
 * Adds the users of a users file (one `user:realm:HA1` or
 * `user:password` per line, `#` comments). `MSGWIRE_RELAY_SERVER_USERS`
 * when it cannot be read or a line is in neither form (nothing is
 * added then).
 */
msgwire_status msgwire_relay_config_users_file(struct msgwire_relay_config *config,
                                               const char *path);

/**
 * Adds one user with a clear password (good in any realm).
 */
msgwire_status msgwire_relay_config_add_user(struct msgwire_relay_config *config,
                                             const char *user,
                                             const char *password);

/**
 * Listens with TLS on `address`, with the certificate chain and private
 * key of the PEM files `cert_path` and `key_path`.
 * `MSGWIRE_RELAY_SERVER_TLS` when they cannot be read or used,
 * `MSGWIRE_RELAY_SERVER_CONFIG` for an unusable address.
 */
msgwire_status msgwire_relay_config_listen_tls(struct msgwire_relay_config *config,
                                               const char *address,
                                               const char *cert_path,
                                               const char *key_path);

/**
 * Also listens on plain TCP at `address`: for tests and closed networks
 * only (RFC 4976 makes TLS mandatory).
 */
msgwire_status msgwire_relay_config_plain_tcp(struct msgwire_relay_config *config,
                                              const char *address);

/**
 * Serves the status pages (`/status.xml`, `/sessions.xml`) over HTTP at
 * `address`.
 */
msgwire_status msgwire_relay_config_status(struct msgwire_relay_config *config,
                                           const char *address);

/**
 * Sets the reservation time bounds in seconds (`min <= dflt <= max`,
 * checked by `msgwire_relay_start`).
 */
msgwire_status msgwire_relay_config_expires(struct msgwire_relay_config *config,
                                            uint32_t min,
                                            uint32_t dflt,
                                            uint32_t max);

/**
 * Sets how long a forwarded transaction may wait for its response before
 * the relay answers 408 (milliseconds, at least 1; default 30,000).
 */
msgwire_status msgwire_relay_config_transaction_timeout_ms(struct msgwire_relay_config *config,
                                                           uint32_t ms);

/**
 * Releases a configuration. NULL does nothing.
 */
void msgwire_relay_config_free(struct msgwire_relay_config *config);

/**
 * Binds the listeners of `config` and starts serving. `*out` receives a
 * relay to release with `msgwire_relay_free`. `MSGWIRE_RELAY_SERVER_CONFIG`
 * when the configuration cannot work, `MSGWIRE_RELAY_SERVER_LISTEN` when
 * an address cannot be bound.
 */
msgwire_status msgwire_relay_start(const struct msgwire_relay_config *config,
                                   struct msgwire_relay **out);

/**
 * Copies the bound TLS address (`"host:port"`, NUL-terminated) into
 * `buf` of `cap` bytes; `*out_len` receives its length without the NUL
 * (also when `buf` is too small: `MSGWIRE_BUFFER_TOO_SMALL`).
 * `MSGWIRE_NOT_FOUND` when the relay has no TLS listener.
 */
msgwire_status msgwire_relay_tls_address(const struct msgwire_relay *relay,
                                         char *buf,
                                         size_t cap,
                                         size_t *out_len);

/**
 * As `msgwire_relay_tls_address`, for the plain TCP listener.
 */
msgwire_status msgwire_relay_plain_tcp_address(const struct msgwire_relay *relay,
                                               char *buf,
                                               size_t cap,
                                               size_t *out_len);

/**
 * As `msgwire_relay_tls_address`, for the status server.
 */
msgwire_status msgwire_relay_status_address(const struct msgwire_relay *relay,
                                            char *buf,
                                            size_t cap,
                                            size_t *out_len);

/**
 * Shuts the relay down gracefully: the listeners stop, chunks in flight
 * finish (at most 5 s), then every connection is closed. Idempotent; the
 * relay must still be freed.
 */
msgwire_status msgwire_relay_shutdown(const struct msgwire_relay *relay);

/**
 * Shuts the relay down (when not done yet) and releases it; every
 * thread it started has ended when this returns. NULL does nothing.
 */
void msgwire_relay_free(struct msgwire_relay *relay);

/**
 * Parses one media section, from its `m=` line to the end of `text` (a
 * NUL-terminated string; CRLF or LF line ends). On success `*out` receives
 * a new media to release with `msgwire_sdp_media_free`. On failure a
 * `MSGWIRE_SDP_*` status says what is wrong and `msgwire_last_error()`
 * names the line; `*out` is not written.
 */
msgwire_status msgwire_sdp_media_parse(const char *text, struct msgwire_sdp_media **out);

/**
 * The media a session advertises for its path: `path` holds the MSRP URIs
 * separated by spaces, the session's own URI last, and `accept_types` the
 * media types it accepts, separated by spaces. The port, protocol and
 * `c=` address come from the last URI; the format list is `*` and
 * `a=accept-wrapped-types` is `*`. On success `*out` receives a new media
 * to release with `msgwire_sdp_media_free`. A URI that does not parse
 * gives its `MSGWIRE_MSRP_URI_*` status.
 */
msgwire_status msgwire_sdp_media_for_path(const char *path,
                                          const char *accept_types,
                                          struct msgwire_sdp_media **out);

/**
 * Releases a media. NULL is ignored. Nothing read from it may be used
 * afterwards.
 */
void msgwire_sdp_media_free(struct msgwire_sdp_media *media);

/**
 * Writes the section as text with CRLF line ends, `m=` first, then `c=`,
 * `a=path`, `a=accept-types`, `a=accept-wrapped-types`, `a=max-size`,
 * `a=setup` and the other attributes.
 *
 * Copies into the caller's buffer: on success `buf` holds the text and a
 * NUL, and `*out_len` its length without the NUL. When `cap` is less than
 * that length + 1, nothing is copied, `*out_len` still receives the length
 * and `MSGWIRE_BUFFER_TOO_SMALL` is returned; `buf` may be NULL when `cap`
 * is 0. `MSGWIRE_SDP_INVALID_MEDIA` when a field cannot be written.
 */
msgwire_status msgwire_sdp_media_encode(const struct msgwire_sdp_media *media,
                                        char *buf,
                                        size_t cap,
                                        size_t *out_len);

/**
 * The `m=` port.
 */
msgwire_status msgwire_sdp_media_port(const struct msgwire_sdp_media *media, uint16_t *out);

/**
 * The `m=` protocol.
 */
msgwire_status msgwire_sdp_media_protocol(const struct msgwire_sdp_media *media,
                                          msgwire_sdp_protocol *out);

/**
 * The `c=` line's fields (e.g. `IN`, `IP4`, `127.0.0.1`), borrowed from
 * the media. `MSGWIRE_NOT_FOUND` when the section has no `c=` line.
 */
msgwire_status msgwire_sdp_media_connection(const struct msgwire_sdp_media *media,
                                            struct msgwire_str *out_net_type,
                                            struct msgwire_str *out_addr_type,
                                            struct msgwire_str *out_address);

/**
 * Sets (or replaces) the `c=` line as `IN <addr_type> <address>`.
 */
msgwire_status msgwire_sdp_media_set_connection(struct msgwire_sdp_media *media,
                                                const char *addr_type,
                                                const char *address);

/**
 * The number of URIs in `a=path`.
 */
msgwire_status msgwire_sdp_media_path_count(const struct msgwire_sdp_media *media, size_t *out);

/**
 * The path URI at `index` (0 is the first hop, the last is the peer's own
 * URI), as written, borrowed from the media. `MSGWIRE_INVALID_ARGUMENT`
 * past the end.
 */
msgwire_status msgwire_sdp_media_path(const struct msgwire_sdp_media *media,
                                      size_t index,
                                      struct msgwire_str *out);

/**
 * The number of entries of `a=accept-types` or `a=accept-wrapped-types`.
 */
msgwire_status msgwire_sdp_media_type_count(const struct msgwire_sdp_media *media,
                                            msgwire_sdp_types which,
                                            size_t *out);

/**
 * The media type at `index` of `a=accept-types` or
 * `a=accept-wrapped-types`, as written, borrowed from the media.
 * `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_sdp_media_type(const struct msgwire_sdp_media *media,
                                      msgwire_sdp_types which,
                                      size_t index,
                                      struct msgwire_str *out);

/**
 * Replaces `a=accept-types` or `a=accept-wrapped-types` with the media
 * types in `types`, separated by spaces (an empty string removes the
 * attribute).
 */
msgwire_status msgwire_sdp_media_set_types(struct msgwire_sdp_media *media,
                                           msgwire_sdp_types which,
                                           const char *types);

/**
 * `a=max-size`: `*out_has` tells whether the section has it, and
 * `*out_size` receives it (0 without).
 */
msgwire_status msgwire_sdp_media_max_size(const struct msgwire_sdp_media *media,
                                          uint64_t *out_size,
                                          bool *out_has);

/**
 * Sets `a=max-size` to `size` octets, or removes it when `has` is false.
 */
msgwire_status msgwire_sdp_media_set_max_size(struct msgwire_sdp_media *media,
                                              uint64_t size,
                                              bool has);

/**
 * `a=setup`. `MSGWIRE_NOT_FOUND` when the section has none.
 */
msgwire_status msgwire_sdp_media_setup(const struct msgwire_sdp_media *media,
                                       msgwire_sdp_setup *out);

/**
 * Sets `a=setup`, or removes it when `has` is false.
 */
msgwire_status msgwire_sdp_media_set_setup(struct msgwire_sdp_media *media,
                                           msgwire_sdp_setup setup,
                                           bool has);

/**
 * The number of other `a=` lines (those MSRP does not define).
 */
msgwire_status msgwire_sdp_media_attribute_count(const struct msgwire_sdp_media *media,
                                                 size_t *out);

/**
 * The other `a=` line at `index`: its name and the text after its first
 * colon (`*out_has_value` false and `*out_value` empty for `a=name`
 * without a colon). Borrowed from the media. `MSGWIRE_INVALID_ARGUMENT`
 * past the end.
 */
msgwire_status msgwire_sdp_media_attribute(const struct msgwire_sdp_media *media,
                                           size_t index,
                                           struct msgwire_str *out_name,
                                           struct msgwire_str *out_value,
                                           bool *out_has_value);

/**
 * Appends an `a=name` (when `value` is NULL) or `a=name:value` line. The
 * values are checked when encoding.
 */
msgwire_status msgwire_sdp_media_add_attribute(struct msgwire_sdp_media *media,
                                               const char *name,
                                               const char *value);

/**
 * Whether a message of `content_type` may be sent to the endpoint this
 * media describes: unwrapped (`wrapped` false: it matches an entry of
 * `a=accept-types`) or inside an accepted container such as
 * `message/cpim` (`wrapped` true: it matches an entry of
 * `a=accept-wrapped-types` or `a=accept-types`). An entry `*` matches
 * every type and an entry whose subtype is `*` every subtype of its type
 * (RFC 4975 section 8.6); case and parameters are ignored.
 * Writes the answer to `*out`.
 */
msgwire_status msgwire_sdp_media_accepts(const struct msgwire_sdp_media *media,
                                         const char *content_type,
                                         bool wrapped,
                                         bool *out);

/**
 * Creates a server with the options in `*opts`, or the defaults when
 * `opts` is NULL (the options are copied). It listens nowhere until the
 * first `msgwire_msrp_server_prepare`.
 *
 * Of the options, `incoming_connect_timeout_ms` bounds how long
 * `_complete` waits for its binding, `bind_timeout_ms` how long a
 * connection may take to send its bind SEND and how long such a binding
 * waits for a `_complete` to claim it (it is answered 481 after that), and
 * `use_sessmatch` makes bindings match on session-ids only;
 * `connect_timeout_ms` is not used. A timeout of 0 is
 * `MSGWIRE_INVALID_ARGUMENT`. On success `*out` receives a new server to
 * release with `msgwire_msrp_server_free`.
 */
msgwire_status msgwire_msrp_server_new(const struct msgwire_msrp_bind_options *opts,
                                       struct msgwire_msrp_server **out);

/**
 * Attaches a TLS server configuration (certificate and key), used by the
 * listeners of `msrps` local URIs: each connection they accept runs the
 * TLS handshake (bounded by the bind timeout) before its bind SEND is
 * read; a connection whose handshake fails is dropped. `msrp` listeners
 * are not affected.
 *
 * The server keeps its own reference to the configuration: the caller
 * still owns `config` and may free it right after this call. Call it
 * before preparing the first `msrps` URI (without a configuration that is
 * `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED`). Calling it again replaces
 * the configuration: listeners keep running, and connections they accept
 * from then on present the new certificate (e.g. a renewed one). May be
 * called from any thread.
 */
msgwire_status msgwire_msrp_server_set_tls(const struct msgwire_msrp_server *server,
                                           const struct msgwire_tls_server_config *config);

/**
 * Registers a local URI for one incoming session and copies the path to
 * advertise into `buf`.
 *
 * `local_uri` is a NUL-terminated MSRP URI or NULL. A missing session-id
 * becomes a random one. A missing port or port 0 reuses the listener this
 * server already runs on that host (for the same scheme), or listens on a
 * free port; the port in use is written into the returned path, so every
 * session prepared with port 0 on one host shares one port. An explicit
 * port listens on (or reuses) exactly that port. NULL means
 * `msrp://<default ip>:0/<random>;tcp` (see `msgwire_default_ip`).
 * Preparing a URI that is already
 * registered keeps its registration.
 *
 * The path is written as its SDP `a=path` value, NUL-terminated, with its
 * length (without the NUL) in `*out_len`. On `MSGWIRE_BUFFER_TOO_SMALL`
 * (needed length in `*out_len`) the URI is registered all the same: do not
 * prepare again (that would register a second URI when the session-id is
 * random) but fetch the path with `msgwire_msrp_server_local_path`, from
 * the same thread, with a buffer of `*out_len + 1` bytes.
 *
 * Other failures: `MSGWIRE_MSRP_URI_*` for a malformed URI,
 * `MSGWIRE_MSRP_ENDPOINT_LISTEN` when the port cannot be bound or this
 * server listens there for the other scheme,
 * `MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED` for `msrps` without
 * `msgwire_msrp_server_set_tls`, `MSGWIRE_MSRP_ENDPOINT_CLOSED` after
 * `msgwire_msrp_server_close`. May be called from any thread.
 */
msgwire_status msgwire_msrp_server_prepare(const struct msgwire_msrp_server *server,
                                           const char *local_uri,
                                           char *buf,
                                           size_t cap,
                                           size_t *out_len);

/**
 * Copies the path chosen by the calling thread's last successful
 * `msgwire_msrp_server_prepare` on this server into `buf` (same buffer
 * rules). Returns `MSGWIRE_NOT_FOUND` when this thread has not prepared on
 * this server, or has prepared on another server since.
 *
 * Each thread keeps only its own last path, so this is the retry after
 * `MSGWIRE_BUFFER_TOO_SMALL` even when other threads prepare on the same
 * server meanwhile.
 */
msgwire_status msgwire_msrp_server_local_path(const struct msgwire_msrp_server *server,
                                              char *buf,
                                              size_t cap,
                                              size_t *out_len);

/**
 * Waits for the peer's binding and answers its bind SEND 200.
 *
 * `remote_path` is the peer's SDP `a=path` value (URIs separated by
 * spaces). `local_uri` selects the session:
 *
 * * NULL: the first binding, for any registered URI, whose From-Path is
 *   `remote_path`.
 * * A URI as returned by `_prepare`: the binding for that URI. When its
 *   From-Path is not `remote_path` it is answered 481 and the call fails
 *   with `MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH` (the URI stays registered).
 *
 * Blocks the calling thread for up to the incoming-connect timeout (plus
 * the bind timeout to write the 200). Several threads may wait on one
 * server at the same time, each for its own session. On success
 * `*transport_out` receives a bound transport to pass to
 * `msgwire_msrp_session_start` (or release with
 * `msgwire_msrp_transport_free`), and the URI is unregistered: one binding
 * per `_prepare`.
 *
 * Other failures: `MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT` when no
 * matching binding arrives in time (a connection whose TLS handshake
 * fails is dropped and never becomes a binding); `MSGWIRE_MSRP_ENDPOINT_CLOSED` when
 * the server is (or gets) closed, or `local_uri` is not registered (never
 * prepared, already bound or cleaned up); `MSGWIRE_MSRP_URI_*` and
 * `MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH` for malformed arguments.
 */
msgwire_status msgwire_msrp_server_complete(const struct msgwire_msrp_server *server,
                                            const char *local_uri,
                                            const char *remote_path,
                                            struct msgwire_msrp_transport **transport_out);

/**
 * Unregisters `local_uri` (as returned by `_prepare`), e.g. when the call
 * setup failed: a binding already waiting for it is answered 481 and
 * dropped, later ones get 481 at once, and a `_complete` waiting for it
 * returns `MSGWIRE_MSRP_ENDPOINT_CLOSED`. Unknown URIs are ignored
 * (`MSGWIRE_OK`). The listener keeps serving the other sessions. May be
 * called from any thread.
 */
msgwire_status msgwire_msrp_server_cleanup(const struct msgwire_msrp_server *server,
                                           const char *local_uri);

/**
 * Stops listening: closes every listener and the connections still being
 * bound, wakes every thread waiting in `_complete` (which returns
 * `MSGWIRE_MSRP_ENDPOINT_CLOSED`) and joins the server's threads before it
 * returns. Later `_prepare` and `_complete` calls fail with
 * `MSGWIRE_MSRP_ENDPOINT_CLOSED`. Sessions started on transports the
 * server gave out are not affected. Calling it again does nothing. May be
 * called from any thread, also while others wait in `_complete`.
 */
msgwire_status msgwire_msrp_server_close(const struct msgwire_msrp_server *server);

/**
 * Releases a server, closing it first if `_close` was not called (bounded:
 * it does not wait for peers). NULL is ignored. Must be the last call on
 * the server: no other thread may still be inside a function on it (to
 * stop threads blocked in `_complete`, call `msgwire_msrp_server_close`,
 * let them return, then free). Transports and sessions it gave out are not
 * affected.
 */
void msgwire_msrp_server_free(struct msgwire_msrp_server *server);

/**
 * A new, empty results document (`<results server service>`). Add to it
 * with `msgwire_sr_response_add_result`, `_add_lists`, `_add_row` and
 * `_add_item`; empty, it is the "done" reply `<results></results>`.
 * `*out` receives a response to release with `msgwire_sr_response_free`.
 */
msgwire_status msgwire_sr_response_new_results(const char *server,
                                               const char *service,
                                               struct msgwire_sr_response **out);

/**
 * A new, empty faults document (`<faults server service>`); add faults
 * with `msgwire_sr_response_add_fault` (Bayonne sends `code` and `text`).
 * `*out` receives a response to release with `msgwire_sr_response_free`.
 */
msgwire_status msgwire_sr_response_new_faults(const char *server,
                                              const char *service,
                                              struct msgwire_sr_response **out);

/**
 * Releases a response. NULL does nothing.
 */
void msgwire_sr_response_free(struct msgwire_sr_response *response);

/**
 * Appends `<result id value/>` to a results document.
 * `MSGWIRE_SR_WRITE_ORDER` for a faults document.
 */
msgwire_status msgwire_sr_response_add_result(struct msgwire_sr_response *response,
                                              const char *id,
                                              const char *value);

/**
 * Appends an empty `<lists id>` table to a results document; the rows
 * added next go into it. `MSGWIRE_SR_WRITE_ORDER` for a faults document.
 */
msgwire_status msgwire_sr_response_add_lists(struct msgwire_sr_response *response, const char *id);

/**
 * Appends an empty `<list id>` row to the last entry, which must be a
 * table (`MSGWIRE_SR_WRITE_ORDER` otherwise); the items added next go
 * into it.
 */
msgwire_status msgwire_sr_response_add_row(struct msgwire_sr_response *response, const char *id);

/**
 * Appends `<item id value/>` to the last row of the last table
 * (`MSGWIRE_SR_WRITE_ORDER` when there is none).
 */
msgwire_status msgwire_sr_response_add_item(struct msgwire_sr_response *response,
                                            const char *id,
                                            const char *value);

/**
 * Appends `<fault id value/>` to a faults document
 * (`MSGWIRE_SR_WRITE_ORDER` for a results document).
 */
msgwire_status msgwire_sr_response_add_fault(struct msgwire_sr_response *response,
                                             const char *id,
                                             const char *value);

/**
 * Writes the document (XML declaration, one-space indentation, LF line
 * ends) into `buf`, with its length in `*out_len`. Not NUL-terminated.
 * `MSGWIRE_BUFFER_TOO_SMALL` stores the needed length in `*out_len`
 * (pass `buf` NULL and `cap` 0 to ask).
 */
msgwire_status msgwire_sr_response_write(const struct msgwire_sr_response *response,
                                         uint8_t *buf,
                                         size_t cap,
                                         size_t *out_len);

/**
 * Writes the document through `callback` (see
 * `msgwire_sr_write_callback`), piece by piece, on the calling thread.
 */
msgwire_status msgwire_sr_response_write_to(const struct msgwire_sr_response *response,
                                            msgwire_sr_write_callback callback,
                                            void *user_data);

/**
 * Parses a document from `len` bytes at `data`. On success `*out`
 * receives a response to release with `msgwire_sr_response_free`. On a
 * parse error (`MSGWIRE_SR_PARSE_*`), `*error_position` (may be NULL)
 * receives the byte offset where the problem was found. Unknown elements
 * and attributes are skipped (`msgwire_sr_response_ignored_count` says
 * how many).
 */
msgwire_status msgwire_sr_parse(const uint8_t *data,
                                size_t len,
                                struct msgwire_sr_response **out,
                                uint64_t *error_position);

/**
 * Parses a document from `len` bytes at `data` without building it:
 * `on_event` is called for each piece in document order (see
 * `msgwire_sr_event_kind`), so a table of any length is read row by row
 * with no memory per row. The checks and errors are those of
 * `msgwire_sr_parse` (`*error_position`, may be NULL, receives the byte
 * offset of a parse error); events before an error have been delivered.
 * When `on_event` returns `false` parsing stops there and the call
 * returns `MSGWIRE_OK`.
 */
msgwire_status msgwire_sr_parse_events(const uint8_t *data,
                                       size_t len,
                                       msgwire_sr_event_fn on_event,
                                       void *user_data,
                                       uint64_t *error_position);

/**
 * The `server` attribute, lent until the response is modified or freed.
 */
msgwire_status msgwire_sr_response_server(const struct msgwire_sr_response *response,
                                          struct msgwire_str *out);

/**
 * The `service` attribute (the method, or `http` for HTTP-level faults),
 * lent until the response is modified or freed.
 */
msgwire_status msgwire_sr_response_service(const struct msgwire_sr_response *response,
                                           struct msgwire_str *out);

/**
 * Whether the document holds faults (`true`) or results (`false`).
 */
msgwire_status msgwire_sr_response_is_fault(const struct msgwire_sr_response *response, bool *out);

/**
 * How many entries (results and tables, in document order) a results
 * document has; 0 for faults.
 */
msgwire_status msgwire_sr_response_entry_count(const struct msgwire_sr_response *response,
                                               size_t *out);

/**
 * What entry `index` is. `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_sr_response_entry_kind(const struct msgwire_sr_response *response,
                                              size_t index,
                                              enum msgwire_sr_entry_kind *out);

/**
 * The id and value of entry `index`, which must be a result
 * (`MSGWIRE_INVALID_ARGUMENT` otherwise). Lent until the response is
 * modified or freed.
 */
msgwire_status msgwire_sr_response_result(const struct msgwire_sr_response *response,
                                          size_t index,
                                          struct msgwire_str *id,
                                          struct msgwire_str *value);

/**
 * The id and row count of entry `index`, which must be a table
 * (`MSGWIRE_INVALID_ARGUMENT` otherwise). The id is lent until the
 * response is modified or freed.
 */
msgwire_status msgwire_sr_response_lists(const struct msgwire_sr_response *response,
                                         size_t index,
                                         struct msgwire_str *id,
                                         size_t *row_count);

/**
 * The id and item count of row `row` of the table at entry `index`.
 * The id is lent until the response is modified or freed.
 */
msgwire_status msgwire_sr_response_row(const struct msgwire_sr_response *response,
                                       size_t index,
                                       size_t row,
                                       struct msgwire_str *id,
                                       size_t *item_count);

/**
 * The id and value of item `item` of row `row` of the table at entry
 * `index`, lent until the response is modified or freed.
 */
msgwire_status msgwire_sr_response_item(const struct msgwire_sr_response *response,
                                        size_t index,
                                        size_t row,
                                        size_t item,
                                        struct msgwire_str *id,
                                        struct msgwire_str *value);

/**
 * How many faults a faults document has; 0 for results.
 */
msgwire_status msgwire_sr_response_fault_count(const struct msgwire_sr_response *response,
                                               size_t *out);

/**
 * The id and value of fault `index`, lent until the response is
 * modified or freed. `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_sr_response_fault(const struct msgwire_sr_response *response,
                                         size_t index,
                                         struct msgwire_str *id,
                                         struct msgwire_str *value);

/**
 * The value of the first result (in a faults document: the first fault)
 * with this id, lent until the response is modified or freed.
 * `MSGWIRE_NOT_FOUND` when there is none.
 */
msgwire_status msgwire_sr_response_find(const struct msgwire_sr_response *response,
                                        const char *id,
                                        struct msgwire_str *value);

/**
 * How many unknown elements, attributes and text pieces the parser
 * skipped (0 for documents built here).
 */
msgwire_status msgwire_sr_response_ignored_count(const struct msgwire_sr_response *response,
                                                 size_t *out);

/**
 * A writer for a document from `server` answering `service`, sending its
 * bytes to `callback` (see `msgwire_sr_write_callback`) on the thread of
 * each writing call. `*out` receives a writer to release with
 * `msgwire_sr_writer_free` (after `msgwire_sr_writer_finish`).
 */
msgwire_status msgwire_sr_writer_new(const char *server,
                                     const char *service,
                                     msgwire_sr_write_callback callback,
                                     void *user_data,
                                     struct msgwire_sr_writer **out);

/**
 * Releases a writer made by `msgwire_sr_writer_new` (without finishing
 * the document). NULL does nothing. Never call it on a handler's writer.
 */
void msgwire_sr_writer_free(struct msgwire_sr_writer *writer);

/**
 * Writes `<result id value/>` (closing an open table first).
 * `MSGWIRE_SR_WRITE_ORDER` in a faults document, `MSGWIRE_SR_WRITE`
 * when the bytes could not be written.
 */
msgwire_status msgwire_sr_writer_result(struct msgwire_sr_writer *writer,
                                        const char *id,
                                        const char *value);

/**
 * Opens a `<lists id>` table (closing an open one first).
 */
msgwire_status msgwire_sr_writer_begin_lists(struct msgwire_sr_writer *writer, const char *id);

/**
 * Opens a `<list id>` row in the open table (closing the previous
 * row). `MSGWIRE_SR_WRITE_ORDER` outside a table.
 */
msgwire_status msgwire_sr_writer_begin_row(struct msgwire_sr_writer *writer, const char *id);

/**
 * Writes `<item id value/>` in the open row
 * (`MSGWIRE_SR_WRITE_ORDER` outside a row).
 */
msgwire_status msgwire_sr_writer_item(struct msgwire_sr_writer *writer,
                                      const char *id,
                                      const char *value);

/**
 * Closes the open row (`MSGWIRE_SR_WRITE_ORDER` if none).
 */
msgwire_status msgwire_sr_writer_end_row(struct msgwire_sr_writer *writer);

/**
 * Closes the open table (`MSGWIRE_SR_WRITE_ORDER` if none).
 */
msgwire_status msgwire_sr_writer_end_lists(struct msgwire_sr_writer *writer);

/**
 * Writes `<fault id value/>` (`MSGWIRE_SR_WRITE_ORDER` in a results
 * document). In a handler, prefer `msgwire_sr_writer_fail`, which
 * also sets the HTTP status.
 */
msgwire_status msgwire_sr_writer_fault(struct msgwire_sr_writer *writer,
                                       const char *id,
                                       const char *value);

/**
 * Closes the document. A handler's writer is finished by the server
 * when the handler returns; calling this earlier is allowed.
 */
msgwire_status msgwire_sr_writer_finish(struct msgwire_sr_writer *writer);

/**
 * In a handler: answer with a fault instead of results. Codes 400 to 599
 * become the HTTP status (service `http`; lower codes, which are no HTTP
 * error status, are sent with status 500); 600 and up (600 command
 * failed, 601 argument missing, 602 session invalid) are sent with HTTP
 * 200 under the method's name. Takes effect when the handler returns;
 * results written before are then discarded if they have not gone out
 * yet (otherwise the connection is cut). `MSGWIRE_INVALID_ARGUMENT` on a
 * writer that is not a handler's.
 */
msgwire_status msgwire_sr_writer_fail(struct msgwire_sr_writer *writer,
                                      uint32_t code,
                                      const char *text);

/**
 * The method name (`status` for `/status.xml`), lent for the call.
 */
msgwire_status msgwire_sr_request_method(const struct msgwire_sr_request *request,
                                         struct msgwire_str *out);

/**
 * Whether the request is a HEAD (the body written is discarded).
 */
msgwire_status msgwire_sr_request_is_head(const struct msgwire_sr_request *request, bool *out);

/**
 * How many query arguments there are (repeated keys count each time).
 */
msgwire_status msgwire_sr_request_arg_count(const struct msgwire_sr_request *request, size_t *out);

/**
 * Argument `index` (in query order), percent-decoded with `+` as a
 * space, lent for the call. `MSGWIRE_INVALID_ARGUMENT` past the end.
 */
msgwire_status msgwire_sr_request_arg(const struct msgwire_sr_request *request,
                                      size_t index,
                                      struct msgwire_str *key,
                                      struct msgwire_str *value);

/**
 * The first value of argument `key`, lent for the call;
 * `MSGWIRE_NOT_FOUND` when the query has no such key.
 */
msgwire_status msgwire_sr_request_get(const struct msgwire_sr_request *request,
                                      const char *key,
                                      struct msgwire_str *value);

/**
 * Listens on `address` (`"127.0.0.1:0"`: any free port, see
 * `_local_port`; `"[::1]:0"` for IPv6) and serves from background worker
 * threads. `server_name` (may be NULL: `"msgwire"`) is the `server`
 * attribute of every document; `config` may be NULL for the defaults.
 * The built-in `status` method is served until a handler replaces it.
 * `MSGWIRE_SR_LISTEN` when the address cannot be listened on. `*out`
 * receives a server to release with `msgwire_sr_server_free`.
 */
msgwire_status msgwire_sr_server_bind(const char *address,
                                      const char *server_name,
                                      const struct msgwire_sr_server_config *config,
                                      struct msgwire_sr_server **out);

/**
 * Like `msgwire_sr_server_bind`, serving HTTPS: every connection starts
 * with a TLS handshake presenting the certificate of `tls` (see
 * `msgwire_tls_server_config_from_pem`/`_from_files`; the server keeps
 * its own reference, so `tls` may be freed right after this call). The
 * handshake counts against `read_timeout_ms`; a client that fails it is
 * dropped without a reply.
 */
msgwire_status msgwire_sr_server_bind_tls(const char *address,
                                          const char *server_name,
                                          const struct msgwire_sr_server_config *config,
                                          const struct msgwire_tls_server_config *tls,
                                          struct msgwire_sr_server **out);

/**
 * The port the server listens on (the one chosen for port 0).
 */
msgwire_status msgwire_sr_server_local_port(const struct msgwire_sr_server *server, uint16_t *out);

/**
 * Serves `method` (`/<method>.xml`) with `handler` (see
 * `msgwire_sr_handler`), replacing an earlier handler of that name
 * (also the built-in `status`). `user_data` goes to every call and then
 * to `user_data_free` (may be NULL).
 */
msgwire_status msgwire_sr_server_method(const struct msgwire_sr_server *server,
                                        const char *method,
                                        msgwire_sr_handler handler,
                                        void *user_data,
                                        msgwire_sr_user_data_free user_data_free);

/**
 * Stops the server: no new connections, the ones being served are cut,
 * and the threads are joined, waiting at most `shutdown_timeout_ms`
 * (default 2000 ms) for them. It returns then even when a handler is
 * stuck (waits for something that never comes): that handler's thread
 * is detached and its connection already closed; the handler keeps
 * running until it returns (threads cannot be killed), its writes then
 * fail, and no handler of this server is called again. Each handler's
 * `user_data_free` runs once its last call has returned: before this
 * function returns, or for a stuck handler later, on its thread.
 * NULL does nothing. Not from a handler of this server.
 */
void msgwire_sr_server_free(struct msgwire_sr_server *server);

/**
 * Fetches `url` (`http://host[:port]/method.xml?arg=value`) with HTTP/1.0
 * and parses the reply, all within `timeout_ms` (0: 10000 ms), on the
 * calling thread. An HTTP error status whose body is a faults document
 * succeeds: read the faults from the response. `*out` receives a
 * response to release with `msgwire_sr_response_free`. For `https://`
 * URLs use `msgwire_sr_get_tls`.
 *
 * Errors: `MSGWIRE_SR_BAD_URL` (also for `https://`),
 * `MSGWIRE_SR_CONNECT`, `MSGWIRE_SR_TIMEOUT`, `MSGWIRE_SR_BAD_REPLY`,
 * `MSGWIRE_SR_HTTP_ERROR` (an error status without a document),
 * `MSGWIRE_SR_DOCUMENT` (a success status whose body is not
 * serverResponse).
 */
msgwire_status msgwire_sr_get(const char *url,
                              uint32_t timeout_ms,
                              struct msgwire_sr_response **out);

/**
 * Like `msgwire_sr_get`, also for `https://` URLs: the server must
 * present a certificate that `tls` trusts (see
 * `msgwire_tls_client_config_with_ca_pem`/`_with_ca_file`) for the URL's
 * host; `tls` is only read during the call. A failed handshake (an
 * untrusted certificate, a server that does not speak TLS) is
 * `MSGWIRE_SR_TLS`; the other errors are those of `msgwire_sr_get`.
 * `http://` URLs are fetched without TLS.
 */
msgwire_status msgwire_sr_get_tls(const char *url,
                                  uint32_t timeout_ms,
                                  const struct msgwire_tls_client_config *tls,
                                  struct msgwire_sr_response **out);

/**
 * Creates a request `P /<protocol>/<command> STS/1.0` with no headers and
 * an empty body. `protocol` and `command` are NUL-terminated, non-empty,
 * without `/`, spaces or control characters (`MSGWIRE_INVALID_ARGUMENT`
 * otherwise). On success `*out` receives a new message to release with
 * `msgwire_sts_message_free`.
 */
msgwire_status msgwire_sts_message_new_request(const char *protocol,
                                               const char *command,
                                               struct msgwire_sts_message **out);

/**
 * Creates a reply `STS/1.0 <code> <reason>` with no headers and an empty
 * body. `code` must be 100 to 999; `reason` may be NULL (empty) and may
 * contain spaces, not CR or LF (`MSGWIRE_INVALID_ARGUMENT` otherwise). On
 * success `*out` receives a new message to release with
 * `msgwire_sts_message_free`.
 */
msgwire_status msgwire_sts_message_new_status(uint16_t code,
                                              const char *reason,
                                              struct msgwire_sts_message **out);

/**
 * Copies a message (e.g. one lent to a callback, to keep it). On success
 * `*out` receives a new message to release with `msgwire_sts_message_free`.
 */
msgwire_status msgwire_sts_message_clone(const struct msgwire_sts_message *message,
                                         struct msgwire_sts_message **out);

/**
 * Parses exactly one complete message from `data[0..len]` (copied; `data`
 * may be NULL when `len` is 0). Header lines may end in CRLF or LF; blank
 * lines before the start line are skipped. The body is `Content-Length`
 * bytes (none without the header), at most 64 KiB; headers at most 32 KiB.
 *
 * Errors, one status per kind of problem: `MSGWIRE_STS_PARSE_BAD_START_LINE`,
 * `_BAD_VERSION`, `_BAD_HEADER_LINE`, `_HEADER_TOO_LARGE`,
 * `_BODY_TOO_LARGE`, `_BAD_CONTENT_LENGTH`, `_INCOMPLETE` (the input
 * ends early) and `_TRAILING_DATA` (bytes follow the message). On success
 * `*out` receives a new message to release with `msgwire_sts_message_free`.
 */
msgwire_status msgwire_sts_message_parse(const uint8_t *data,
                                         size_t len,
                                         struct msgwire_sts_message **out);

/**
 * Releases a message; NULL is ignored. Never pass a message lent to a
 * callback.
 */
void msgwire_sts_message_free(struct msgwire_sts_message *message);

/**
 * Writes whether the message is a request (`true`) or a reply (`false`).
 */
msgwire_status msgwire_sts_message_is_request(const struct msgwire_sts_message *message, bool *out);

/**
 * The method of a request (`"P"` for every request msgwire builds).
 * `*out` borrows from the message. `MSGWIRE_NOT_FOUND` for a reply.
 */
msgwire_status msgwire_sts_message_method(const struct msgwire_sts_message *message,
                                          struct msgwire_str *out);

/**
 * The URI of a request (`"/Protocol/Command"`). `*out` borrows from the
 * message. `MSGWIRE_NOT_FOUND` for a reply.
 */
msgwire_status msgwire_sts_message_uri(const struct msgwire_sts_message *message,
                                       struct msgwire_str *out);

/**
 * The protocol of a request whose URI is `/Protocol/Command` (two
 * non-empty segments). `*out` borrows from the message.
 * `MSGWIRE_NOT_FOUND` for a reply or another kind of URI.
 */
msgwire_status msgwire_sts_message_protocol(const struct msgwire_sts_message *message,
                                            struct msgwire_str *out);

/**
 * The command of a request whose URI is `/Protocol/Command`. `*out`
 * borrows from the message. `MSGWIRE_NOT_FOUND` for a reply or another
 * kind of URI.
 */
msgwire_status msgwire_sts_message_command(const struct msgwire_sts_message *message,
                                           struct msgwire_str *out);

/**
 * The reason phrase of a reply (may be empty or contain spaces). `*out`
 * borrows from the message. `MSGWIRE_NOT_FOUND` for a request.
 */
msgwire_status msgwire_sts_message_reason(const struct msgwire_sts_message *message,
                                          struct msgwire_str *out);

/**
 * The status code of a reply (400 and above: an error reply).
 * `MSGWIRE_NOT_FOUND` for a request.
 */
msgwire_status msgwire_sts_message_status_code(const struct msgwire_sts_message *message,
                                               uint16_t *out);

/**
 * The value of header `name`. Names match without regard to letter case,
 * and a compact name equals its full name (`"l"`, `"Content-Length"` and
 * `"content-length"` find the same header). When the header appears more
 * than once the last occurrence wins (as python-sts reads it); use
 * `_header_at` to see every line. `*out` borrows from the message.
 * `MSGWIRE_NOT_FOUND` when there is no such header.
 */
msgwire_status msgwire_sts_message_header(const struct msgwire_sts_message *message,
                                          const char *name,
                                          struct msgwire_str *out);

/**
 * The number of header lines.
 */
msgwire_status msgwire_sts_message_header_count(const struct msgwire_sts_message *message,
                                                size_t *out);

/**
 * The name and value of header line `index` (0-based, in message order),
 * names spelled as given or received. Both borrow from the message. An
 * index past the end is `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_sts_message_header_at(const struct msgwire_sts_message *message,
                                             size_t index,
                                             struct msgwire_str *out_name,
                                             struct msgwire_str *out_value);

/**
 * Sets header `name` to `value`: the first line of that header (either
 * name form, any case) takes the new name and value and keeps its place,
 * later lines of it are removed; when absent it is appended. The name
 * must not be empty or contain `:`, spaces or control characters, the
 * value must not contain CR, LF or NUL (`MSGWIRE_INVALID_ARGUMENT`).
 * `Content-Length` is always recomputed on encoding.
 */
msgwire_status msgwire_sts_message_set_header(struct msgwire_sts_message *message,
                                              const char *name,
                                              const char *value);

/**
 * Appends a header line, keeping existing lines of the same header (for
 * multi-value headers such as `Via`). Same rules as `_set_header`.
 */
msgwire_status msgwire_sts_message_append_header(struct msgwire_sts_message *message,
                                                 const char *name,
                                                 const char *value);

/**
 * Removes every line of header `name` (either name form, any case).
 * `MSGWIRE_NOT_FOUND` when there was none.
 */
msgwire_status msgwire_sts_message_remove_header(struct msgwire_sts_message *message,
                                                 const char *name);

/**
 * Replaces the body with a copy of `data[0..len]` (`data` may be NULL
 * when `len` is 0).
 */
msgwire_status msgwire_sts_message_set_body(struct msgwire_sts_message *message,
                                            const uint8_t *data,
                                            size_t len);

/**
 * The body: `*out_data` points at `*out_len` bytes (never NULL, also for
 * an empty body). The bytes belong to the message (valid until it is
 * modified or freed) and are not NUL-terminated. A received XML body
 * usually ends with the LF the protocol puts after XML.
 */
msgwire_status msgwire_sts_message_body(const struct msgwire_sts_message *message,
                                        const uint8_t **out_data,
                                        size_t *out_len);

/**
 * Encodes the message as it goes on the wire: the start line, the headers
 * in order with the compact names python-sts writes (`l`, `s`, `c`, ...;
 * other names as given), `Content-Length` computed from the body (in
 * place of one already there, else last), a blank line and the body. An
 * XML body (no `Content-Type`, or an XML one) gets a final LF when it has
 * none, so an empty ping encodes as `P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n`.
 *
 * Copies into the caller's buffer: on success `*out_len` receives the
 * number of bytes written (no NUL is added). When `cap` is too small,
 * nothing is copied, `*out_len` receives the needed size and
 * `MSGWIRE_BUFFER_TOO_SMALL` is returned; `buf` may be NULL when `cap` is
 * 0, to ask for the size. A message that cannot be framed (e.g. a header
 * value with CR or LF set by other means) is `MSGWIRE_STS_INVALID_MESSAGE`.
 */
msgwire_status msgwire_sts_message_encode(const struct msgwire_sts_message *message,
                                          uint8_t *buf,
                                          size_t cap,
                                          size_t *out_len);

/**
 * Writes the XML body of an error reply,
 * `<Error code="7" server="0" module="0" line="0" text="denied"/>`, into
 * `buf` (NUL-terminated; `*out_len` is the length without the NUL;
 * `MSGWIRE_BUFFER_TOO_SMALL` gives the needed length). `text` may be NULL
 * (empty); its `& < > "`, tab, CR and LF are escaped.
 */
msgwire_status msgwire_sts_error_reply_to_xml(int64_t code,
                                              int64_t server,
                                              int64_t module,
                                              int64_t line,
                                              const char *text,
                                              char *buf,
                                              size_t cap,
                                              size_t *out_len);

/**
 * Reads an error reply body from `data[0..len]` (e.g. the body of a reply
 * with status 400 or above) into `*out`. The root element's name is not
 * checked, unknown attributes are ignored. Malformed XML (or not exactly
 * one root element) is `MSGWIRE_STS_ERROR_XML`, a non-integer `code`,
 * `server`, `module` or `line` is `MSGWIRE_STS_ERROR_ATTRIBUTE`. On success
 * `out->text` is owned by `*out`: release it with
 * `msgwire_sts_error_reply_clear`.
 */
msgwire_status msgwire_sts_error_reply_parse(const uint8_t *data,
                                             size_t len,
                                             struct msgwire_sts_error_reply *out);

/**
 * Releases the text of an error reply filled by msgwire and sets `text`
 * to NULL and `text_len` to 0; the numbers are left as they are. NULL, or
 * a struct whose `text` is already NULL, is ignored, so clearing twice is
 * harmless. Never clear a struct lent to a callback.
 */
void msgwire_sts_error_reply_clear(struct msgwire_sts_error_reply *reply);

/**
 * Fills `*out` with the client defaults (those used when `connect` gets
 * NULL).
 */
msgwire_status msgwire_sts_client_config_default(struct msgwire_sts_client_config *out);

/**
 * Connects to an STS server over TCP. `address` is `"host:port"`
 * (`"127.0.0.1:4000"`, `"example.net:4000"`, `"[::1]:4000"`); every
 * address the host resolves to is tried. `config` may be NULL for the
 * defaults (it is copied). Blocks until connected.
 *
 * Errors: `MSGWIRE_STS_CONNECT` when the address does not resolve or
 * nobody accepts, `MSGWIRE_INVALID_ARGUMENT` for a bad configuration. On
 * success `*out` receives a client to release with
 * `msgwire_sts_client_free`.
 */
msgwire_status msgwire_sts_client_connect(const char *address,
                                          const struct msgwire_sts_client_config *config,
                                          struct msgwire_sts_client **out);

/**
 * Sends a simple message `P /<protocol>/<command>` (no reply is
 * expected) with the headers and body of `message`, or none when
 * `message` is NULL (its start line is ignored; it is copied). Returns
 * once the message is queued. Errors: `MSGWIRE_STS_CLOSED`,
 * `MSGWIRE_STS_INVALID_MESSAGE`.
 */
msgwire_status msgwire_sts_client_send(const struct msgwire_sts_client *client,
                                       const char *protocol,
                                       const char *command,
                                       const struct msgwire_sts_message *message);

/**
 * Sends a request `P /<protocol>/<command>` with the headers and body of
 * `message` (or none when NULL; its start line is ignored, it is copied)
 * and returns at once; the replies go to `callback` (see
 * `msgwire_sts_reply_callback`) on the connection's reader thread (the
 * timer thread for a timeout), one at a time and in order: it must not
 * block.
 *
 * `timeout_ms` is how long to wait for each next reply; 0 uses the
 * client's `request_timeout_ms`. `user_data` is passed to every call of
 * `callback` and then to `user_data_free` (may be NULL), which runs once
 * after the last item, or before this function returns when it fails.
 *
 * Errors (no callback is called then): `MSGWIRE_STS_CLOSED`,
 * `MSGWIRE_STS_TOO_MANY_TRANSACTIONS`, `MSGWIRE_STS_INVALID_MESSAGE`,
 * `MSGWIRE_NULL_PARAMETER` for a NULL callback.
 */
msgwire_status msgwire_sts_client_request(const struct msgwire_sts_client *client,
                                          const char *protocol,
                                          const char *command,
                                          const struct msgwire_sts_message *message,
                                          uint32_t timeout_ms,
                                          msgwire_sts_reply_callback callback,
                                          void *user_data,
                                          msgwire_sts_user_data_free user_data_free);

/**
 * Sends a request and waits for its one reply (at most `timeout_ms`; 0
 * uses the client's `request_timeout_ms`). The headers and body come from
 * `message` as for `msgwire_sts_client_request`.
 *
 * * A final reply: `MSGWIRE_OK`, `*reply_out` receives it (a new message
 *   to release with `msgwire_sts_message_free`).
 * * An error reply (e.g. 404 for an unknown command):
 *   `MSGWIRE_STS_ERROR_REPLY`; when `error_out` is not NULL it receives
 *   the error body's fields (release its text with
 *   `msgwire_sts_error_reply_clear`), and `msgwire_last_error()` names the
 *   status, code and text.
 * * No reply in time: `MSGWIRE_STS_TIMEOUT` (a later reply is dropped).
 * * Partial replies, replies out of sequence, the connection closing:
 *   `MSGWIRE_STS_BAD_SERVER_DATA`.
 * * Not sent: `MSGWIRE_STS_CLOSED`, `MSGWIRE_STS_INVALID_MESSAGE`, ...
 *
 * Blocks the calling thread; do not call it from a route callback.
 */
msgwire_status msgwire_sts_client_request_one(const struct msgwire_sts_client *client,
                                              const char *protocol,
                                              const char *command,
                                              const struct msgwire_sts_message *message,
                                              uint32_t timeout_ms,
                                              struct msgwire_sts_message **reply_out,
                                              struct msgwire_sts_error_reply *error_out);

/**
 * Takes the next request or message the server sent on its own (not a
 * reply), waiting up to `timeout_ms` (0: only what has already arrived).
 * On success `*out` receives it (a new message to release with
 * `msgwire_sts_message_free`). When the server expects a reply, and
 * `responder_out` is not NULL, `*responder_out` receives a responder to
 * answer with and release with `msgwire_sts_responder_free`; otherwise it
 * is set to NULL (with a NULL `responder_out` such a request is never
 * answered and the server's request times out).
 *
 * Returns `MSGWIRE_STS_TIMEOUT` when nothing came in time and
 * `MSGWIRE_STS_CLOSED` when nothing is left and the connection has
 * ended. Blocks the calling thread.
 */
msgwire_status msgwire_sts_client_read(const struct msgwire_sts_client *client,
                                       uint32_t timeout_ms,
                                       struct msgwire_sts_message **out,
                                       struct msgwire_sts_responder **responder_out);

/**
 * Writes whether the connection has ended (closed by either side or
 * broken).
 */
msgwire_status msgwire_sts_client_is_closed(const struct msgwire_sts_client *client, bool *out);

/**
 * Closes the connection gracefully: what is queued goes out, then the
 * connection ends; requests still waiting end with a `FAILED` item (or
 * `MSGWIRE_STS_BAD_SERVER_DATA`). Waits for the connection's threads
 * (bounded by a few seconds). The client must still be freed.
 */
msgwire_status msgwire_sts_client_close(const struct msgwire_sts_client *client);

/**
 * Closes the connection (as `_close`, if not done yet), waits until every
 * reply callback has returned and every `user_data_free` has run, and
 * releases the client. NULL is ignored. Must be the last call on the
 * client, and not made from one of its reply callbacks.
 */
void msgwire_sts_client_free(struct msgwire_sts_client *client);

/**
 * Fills `*out` with the server defaults (those used when `bind` gets
 * NULL).
 */
msgwire_status msgwire_sts_server_config_default(struct msgwire_sts_server_config *out);

/**
 * Listens on `address` (`"127.0.0.1:0"`: any free port, see
 * `_local_port`; `"0.0.0.0:4000"`: every interface) and serves clients
 * from background threads. `config` may be NULL for the defaults (it is
 * copied). Requests for commands without a route get a 404 error reply
 * (`<Error code="404" text="unknown command /P/C"/>`); add routes with
 * `msgwire_sts_server_route`, before clients send requests.
 *
 * Errors: `MSGWIRE_STS_LISTEN` when the address cannot be listened on,
 * `MSGWIRE_INVALID_ARGUMENT` for a bad configuration. On success `*out`
 * receives a server to release with `msgwire_sts_server_free`.
 */
msgwire_status msgwire_sts_server_bind(const char *address,
                                       const struct msgwire_sts_server_config *config,
                                       struct msgwire_sts_server **out);

/**
 * The port the server listens on (the one chosen for port 0).
 */
msgwire_status msgwire_sts_server_local_port(const struct msgwire_sts_server *server,
                                             uint16_t *out);

/**
 * Copies the address the server listens on (`"127.0.0.1:40123"`,
 * `"[::1]:40123"`) into `buf`, NUL-terminated, with its length (without
 * the NUL) in `*out_len`; `MSGWIRE_BUFFER_TOO_SMALL` gives the needed
 * length. 64 bytes always suffice.
 */
msgwire_status msgwire_sts_server_local_addr(const struct msgwire_sts_server *server,
                                             char *buf,
                                             size_t cap,
                                             size_t *out_len);

/**
 * Calls `callback` for every request and simple message for
 * `/<protocol>/<command>` (see `msgwire_sts_route_callback`). Routing the
 * same command again replaces the route: the old callback is not called
 * any more and its `user_data_free` runs (after its running calls have
 * returned). `user_data` is passed to every call and released with
 * `user_data_free` (may be NULL) when the server is freed or the route
 * replaced, or before this function returns when it fails.
 *
 * May be called from any thread, also while clients are connected, but
 * not from the callback of the route it replaces (the replacement waits
 * for that callback to return).
 */
msgwire_status msgwire_sts_server_route(const struct msgwire_sts_server *server,
                                        const char *protocol,
                                        const char *command,
                                        msgwire_sts_route_callback callback,
                                        void *user_data,
                                        msgwire_sts_user_data_free user_data_free);

/**
 * Sends one simple message to every connected client (its start line, a
 * request line such as `P /Chat/Notice STS/1.0`, is sent as it is; the
 * message is copied and encoded once). `*count_out` (may be NULL)
 * receives how many clients took it. Errors: `MSGWIRE_STS_INVALID_MESSAGE`.
 */
msgwire_status msgwire_sts_server_broadcast(const struct msgwire_sts_server *server,
                                            const struct msgwire_sts_message *message,
                                            size_t *count_out);

/**
 * The number of clients connected now.
 */
msgwire_status msgwire_sts_server_client_count(const struct msgwire_sts_server *server,
                                               size_t *out);

/**
 * Stops listening and closes every client connection (waiting for their
 * threads, a few seconds at most). Calling it again does nothing. The
 * server must still be freed. Not from a route callback.
 */
msgwire_status msgwire_sts_server_shutdown(const struct msgwire_sts_server *server);

/**
 * Shuts the server down (as `_shutdown`), waits for running route
 * callbacks, releases every route's `user_data` and the server. NULL is
 * ignored. Must be the last call on the server, and not made from one of
 * its callbacks. Responders still held stay valid to free; answering
 * through them gives `MSGWIRE_STS_CLOSED`.
 */
void msgwire_sts_server_free(struct msgwire_sts_server *server);

/**
 * Sends a partial reply (status 200) carrying a copy of `data[0..len]`
 * (`data` may be NULL when `len` is 0) and, when `content_type` is not
 * NULL, that Content-Type (none means XML). Errors: `MSGWIRE_STS_ANSWERED`
 * after the final reply, `MSGWIRE_STS_CLOSED` when the connection is gone.
 */
msgwire_status msgwire_sts_responder_partial(const struct msgwire_sts_responder *responder,
                                             const uint8_t *data,
                                             size_t len,
                                             const char *content_type);

/**
 * Sends the final reply (status 200 OK), as `_partial` otherwise. Nothing
 * can be sent through the responder afterwards.
 */
msgwire_status msgwire_sts_responder_reply(const struct msgwire_sts_responder *responder,
                                           const uint8_t *data,
                                           size_t len,
                                           const char *content_type);

/**
 * Sends `reply` as the final reply: its status code and reason when it
 * has a status line (else 200 OK), its headers and body (copied).
 */
msgwire_status msgwire_sts_responder_reply_message(const struct msgwire_sts_responder *responder,
                                                   const struct msgwire_sts_message *reply);

/**
 * Sends a final error reply: status `status` (400 or above, else
 * `MSGWIRE_INVALID_ARGUMENT`) with reason `reason` (NULL: `"Error"`) and
 * the body `<Error code="<code>" server="0" module="0" line="0"
 * text="<text>"/>` (`text` NULL: empty).
 */
msgwire_status msgwire_sts_responder_error(const struct msgwire_sts_responder *responder,
                                           uint16_t status,
                                           const char *reason,
                                           int64_t code,
                                           const char *text);

/**
 * Writes whether the final reply (or error reply) went out.
 */
msgwire_status msgwire_sts_responder_is_answered(const struct msgwire_sts_responder *responder,
                                                 bool *out);

/**
 * Releases a responder; NULL is ignored. A request not answered yet is
 * left to the client's timeout.
 */
void msgwire_sts_responder_free(struct msgwire_sts_responder *responder);

/**
 * Builds a server configuration from PEM text: `cert_pem[0..cert_len]`
 * holds the server's certificate first, then any intermediates;
 * `key_pem[0..key_len]` holds its private key (PKCS#8, PKCS#1 or SEC1).
 * Both are copied; they need not be NUL-terminated. Client certificates
 * are not requested.
 *
 * On success `*out` receives a new configuration to release with
 * `msgwire_tls_server_config_free`. Failures: `MSGWIRE_TLS_BAD_PEM`,
 * `MSGWIRE_TLS_NO_CERTIFICATES`, `MSGWIRE_TLS_NO_PRIVATE_KEY`, and
 * `MSGWIRE_TLS_CONFIG` for a key that does not match the certificate or
 * is of an unsupported type.
 */
msgwire_status msgwire_tls_server_config_from_pem(const uint8_t *cert_pem,
                                                  size_t cert_len,
                                                  const uint8_t *key_pem,
                                                  size_t key_len,
                                                  struct msgwire_tls_server_config **out);

/**
 * Like `msgwire_tls_server_config_from_pem`, reading the PEM text from the
 * files `cert_path` and `key_path` (NUL-terminated UTF-8 paths; they may
 * name the same file). The files are read during the call only. A file
 * that cannot be read is `MSGWIRE_TLS_FILE`.
 */
msgwire_status msgwire_tls_server_config_from_files(const char *cert_path,
                                                    const char *key_path,
                                                    struct msgwire_tls_server_config **out);

/**
 * Releases a server configuration. NULL is ignored. Acceptors and servers
 * it was attached to keep working: they hold their own reference.
 */
void msgwire_tls_server_config_free(struct msgwire_tls_server_config *config);

/**
 * Builds a client configuration trusting exactly the certificate
 * authorities in `ca_pem[0..len]` (one or more `CERTIFICATE` sections;
 * copied, need not be NUL-terminated). A server must then present a
 * certificate that chains to one of them, is currently valid, and is
 * issued for the host of the URI connected to (a DNS name or an IP
 * address in its subjectAltName); otherwise binding fails with
 * `MSGWIRE_MSRP_ENDPOINT_TLS`.
 *
 * On success `*out` receives a new configuration to release with
 * `msgwire_tls_client_config_free`. Failures: `MSGWIRE_TLS_BAD_PEM`,
 * `MSGWIRE_TLS_NO_CERTIFICATES` (an empty input included), and
 * `MSGWIRE_TLS_BAD_CA_CERTIFICATE` when a certificate cannot serve as a
 * trust anchor (each one must; none is silently skipped).
 */
msgwire_status msgwire_tls_client_config_with_ca_pem(const uint8_t *ca_pem,
                                                     size_t len,
                                                     struct msgwire_tls_client_config **out);

/**
 * Like `msgwire_tls_client_config_with_ca_pem`, reading the CA
 * certificates from the file `path` (a NUL-terminated UTF-8 path, read
 * during the call only). A file that cannot be read is `MSGWIRE_TLS_FILE`.
 */
msgwire_status msgwire_tls_client_config_with_ca_file(const char *path,
                                                      struct msgwire_tls_client_config **out);

/**
 * **INSECURE: builds a client configuration that accepts any server
 * certificate, from anyone, for any name.** The connection is encrypted
 * but not authenticated: anyone on the network path can impersonate the
 * peer and read everything.
 *
 * Meant only for tests and lab setups with self-signed certificates. The
 * handshake is still a real one (the server must prove it holds the key of
 * the certificate it presents); only the question "is this the right
 * certificate?" is skipped. Anything else should use
 * `msgwire_tls_client_config_with_ca_pem` or `_with_ca_file`, with the
 * self-signed certificate itself as the CA if need be.
 *
 * On success `*out` receives a new configuration to release with
 * `msgwire_tls_client_config_free`.
 */
msgwire_status msgwire_tls_client_config_insecure(struct msgwire_tls_client_config **out);

/**
 * Writes to `*out` whether the configuration verifies server certificates:
 * `false` only for one made by `msgwire_tls_client_config_insecure`.
 */
msgwire_status msgwire_tls_client_config_verifies(const struct msgwire_tls_client_config *config,
                                                  bool *out);

/**
 * Releases a client configuration. NULL is ignored. Connectors it was
 * attached to keep working: they hold their own reference.
 */
void msgwire_tls_client_config_free(struct msgwire_tls_client_config *config);

/**
 * Creates a message whose body is the file at `path` (NUL-terminated),
 * opened now and read while it is sent; its size is the file's size at
 * this call. A path that cannot be opened, or is not a regular file, is
 * `MSGWIRE_MSRP_TRANSFER_FILE`.
 *
 * On success `*out` receives a new message, to pass to
 * `msgwire_msrp_session_send_message` or release with
 * `msgwire_msrp_outgoing_free`. The file is closed when the message
 * ends or is freed.
 */
msgwire_status msgwire_msrp_outgoing_from_path(const char *path,
                                               struct msgwire_msrp_outgoing **out);

/**
 * Creates a message whose body is read through `read` (see
 * `msgwire_msrp_read_callback`), of `size` bytes, or of unknown size when
 * `size` is -1 (the message then ends when `read` returns 0; the peer sees
 * a `*` total). Other negative sizes are `MSGWIRE_INVALID_ARGUMENT`; a
 * body that ends before `size` bytes fails the message (local 500).
 *
 * `user_data` is passed to every `read` call and then released with
 * `user_data_free` (may be NULL), exactly once: by
 * `msgwire_msrp_outgoing_free` or a failing
 * `msgwire_msrp_session_send_message` (on the calling thread), or once the
 * message has ended (on a msgwire worker thread, or in
 * `msgwire_msrp_session_free`). When this function fails it is released
 * right away. On success `*out` receives a new message, as for
 * `msgwire_msrp_outgoing_from_path`.
 */
msgwire_status msgwire_msrp_outgoing_from_callback(msgwire_msrp_read_callback read,
                                                   void *user_data,
                                                   msgwire_user_data_free user_data_free,
                                                   int64_t size,
                                                   struct msgwire_msrp_outgoing **out);

/**
 * Releases a message that was not sent (and its source: the file is
 * closed, a callback source's `user_data_free` runs on this thread). NULL
 * is ignored.
 */
void msgwire_msrp_outgoing_free(struct msgwire_msrp_outgoing *outgoing);

/**
 * Sets the Content-Type sent with every chunk (a NUL-terminated string
 * such as `"application/octet-stream"`, copied). An empty value or one
 * containing CR or LF is `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_outgoing_set_content_type(struct msgwire_msrp_outgoing *outgoing,
                                                      const char *content_type);

/**
 * Sets a header sent with every chunk, replacing one of the same name
 * (both strings NUL-terminated and copied), e.g. `Success-Report: yes`,
 * `Failure-Report: partial` or `Content-Disposition`. A name that is not a
 * token, a value that is empty or contains CR or LF, and the headers the
 * session writes itself (To-Path, From-Path, Byte-Range, Message-ID; see
 * `msgwire_msrp_outgoing_set_message_id`) are `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_outgoing_set_header(struct msgwire_msrp_outgoing *outgoing,
                                                const char *name,
                                                const char *value);

/**
 * Sets the Message-ID (NUL-terminated, copied): 4 to 32 letters, digits
 * and `-.+%=`, starting with a letter or digit. Without it a random one is
 * chosen. Anything else is `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_outgoing_set_message_id(struct msgwire_msrp_outgoing *outgoing,
                                                    const char *message_id);

/**
 * Sets the resume position: the number of bytes of the message the peer
 * already has (default 0). The first chunk then starts at byte
 * `position + 1`, and the source must already stand there: a file opened
 * by `msgwire_msrp_outgoing_from_path` is moved there by this call, a
 * callback source must start reading there itself. A position past a known
 * size is `MSGWIRE_INVALID_ARGUMENT`.
 */
msgwire_status msgwire_msrp_outgoing_set_position(struct msgwire_msrp_outgoing *outgoing,
                                                  uint64_t position);

/**
 * Queues `outgoing` (consumed whatever the outcome: do not use or free it
 * afterwards; NULL is `MSGWIRE_NULL_PARAMETER`) to be sent in chunks, and
 * returns at once with its transfer id in `*transfer_id_out` (sequential
 * from 1 within the session). The body is read later, piece by piece, by
 * the session's pump thread.
 *
 * `update` (may be NULL) hears the message's progress and outcome (see
 * `msgwire_msrp_transfer_callback`) with `user_data`, which
 * `user_data_free` (may be NULL) releases exactly once: after the final
 * update, on the thread that ran it; in `msgwire_msrp_session_free` when
 * the message is still running then; or before this function returns when
 * it fails. Updates may come before this function returns.
 *
 * Fails with `MSGWIRE_MSRP_ENDPOINT_CLOSED` once the session is shutting
 * down or closed, and `MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE` for a
 * message the session refuses as given (e.g. a malformed Failure-Report,
 * a position past the size). May be called from a session callback.
 */
msgwire_status msgwire_msrp_session_send_message(const struct msgwire_msrp_session *session,
                                                 struct msgwire_msrp_outgoing *outgoing,
                                                 msgwire_msrp_transfer_callback update,
                                                 void *user_data,
                                                 msgwire_user_data_free user_data_free,
                                                 uint64_t *transfer_id_out);

/**
 * Stops a message queued with `msgwire_msrp_session_send_message`: a chunk
 * of it being written ends with `#`, nothing more of it is sent, and its
 * update callback gets `FAILED` with the local code 487 (possibly before
 * this returns). `MSGWIRE_NOT_FOUND` when no message with this id is
 * running (unknown, completed or failed already). May be called from a
 * session callback.
 */
msgwire_status msgwire_msrp_session_cancel_transfer(const struct msgwire_msrp_session *session,
                                                    uint64_t transfer_id);

/**
 * Copies the number of messages sent with
 * `msgwire_msrp_session_send_message` that have neither completed nor
 * failed into `*out`.
 */
msgwire_status msgwire_msrp_session_active_transfers(const struct msgwire_msrp_session *session,
                                                     size_t *out);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* MSGWIRE_H */
