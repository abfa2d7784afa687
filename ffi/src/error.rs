//! Status codes, their texts, and the thread-local last-error message.
//!
//! There is one status enum for the whole library. Its numbers come in
//! blocks, one block per area, and a number once published never changes
//! meaning: new codes are appended inside their block.
//!
//! | block     | area                                          |
//! |-----------|-----------------------------------------------|
//! | 0         | success                                       |
//! | 1-99      | generic: arguments, buffers, panics           |
//! | 1000-1099 | MSRP URI errors (one per core `UriError`)      |
//! | 1100-1199 | MSRP header errors (one per `HeaderErrorKind`) |
//! | 1200-1299 | MSRP parse errors (one per `ParseErrorKind`)   |
//! | 1300-1399 | MSRP endpoint errors (one per core `endpoint::Error`, plus a read timeout) |
//! | 1400-1499 | TLS configuration errors (one per core `TlsError` a configuration can raise) |
//! | 1500-1599 | MSRP transfer errors (large messages: files, invalid messages) |
//! | 1600-1699 | STS/1.0 errors |
//! | 1700-1719 | serverResponse: document parse and write, server, client |
//! | 1720-1739 | serverResponse (continued): TLS |
//! | 1800-1819 | ministreaming: refused, timeouts, resets, transport, frames |
//! | 1900-1919 | Message/CPIM errors (one per core `CpimErrorKind`, plus building) |
//! | 1920-1939 | SDP media errors (one per core `SdpErrorKind`, plus encoding) |
//! | 2000-2019 | MSRP relay client: authentication, discovery (one per core `RelayError` of its own) |
//! | 2020-2039 | MSRP relay server: users file, configuration, listening, certificate |
//! | 2100-2139 | MSRP chat (MSRPChat): state, wrapping, negotiation, relay |
//!
//! A failing function also stores a message for [`msgwire_last_error`]; the
//! status says *what* went wrong, the message adds the details (the offending
//! value, the header name, the transaction id).

use std::cell::RefCell;
use std::ffi::{c_char, CString};

use msgwire_core::msrp::chat::ChatError;
use msgwire_core::msrp::cpim::{CpimBuildError, CpimError, CpimErrorKind};
use msgwire_core::msrp::endpoint::Error as EndpointError;
use msgwire_core::msrp::relay::discovery::DiscoveryError;
use msgwire_core::msrp::relay::RelayError;
use msgwire_core::msrp::sdp::{SdpBuildError, SdpError, SdpErrorKind};
use msgwire_core::msrp::{HeaderError, HeaderErrorKind, ParseError, ParseErrorKind, UriError};
use msgwire_core::net::TlsError;

use crate::guard;

/// cbindgen:prefix-with-name=false
/// The result of a msgwire function. `MSGWIRE_OK` (0) is success; every other
/// value is an error whose message `msgwire_last_error()` returns.
///
/// The numbers are stable: 1-99 generic errors, 1000-1099 MSRP URI errors,
/// 1100-1199 MSRP header errors, 1200-1299 MSRP parse errors, 1300-1399
/// MSRP endpoint errors (binding, transports and sessions), 1400-1499 TLS
/// configuration errors, 1500-1599 MSRP transfer errors, 1600-1699 STS/1.0
/// errors, 1700-1739 serverResponse errors, 1800-1819 ministreaming
/// errors, 1900-1919 Message/CPIM errors, 1920-1939 SDP media errors,
/// 2000-2019 MSRP relay client errors, 2020-2039 MSRP relay server
/// errors, 2100-2139 MSRP chat errors.
/// `msgwire_status_text()` names any code.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum msgwire_status {
    /// Success.
    MSGWIRE_OK = 0,
    /// A required pointer argument was NULL.
    MSGWIRE_NULL_PARAMETER = 1,
    /// A string argument is not valid UTF-8.
    MSGWIRE_INVALID_UTF8 = 2,
    /// The caller's buffer is too small; the needed length was written to
    /// `*out_len` (see the function's documentation).
    MSGWIRE_BUFFER_TOO_SMALL = 3,
    /// msgwire hit an internal bug (a Rust panic) and gave up on this call.
    /// The objects passed in may be in an unspecified but safe-to-free state.
    MSGWIRE_PANIC = 4,
    /// The thing asked for is absent: a header that is not there, a comment
    /// on a response without one, a method on a response, ...
    MSGWIRE_NOT_FOUND = 5,
    /// An argument has a value the function does not accept (an index past
    /// the end, an invalid flag character, a header name that is not a token,
    /// a value containing CR or LF, ...).
    MSGWIRE_INVALID_ARGUMENT = 6,

    /// MSRP URI: the scheme is not `msrp` or `msrps`.
    MSGWIRE_MSRP_URI_BAD_SCHEME = 1000,
    /// MSRP URI: `://` is missing after the scheme.
    MSGWIRE_MSRP_URI_MISSING_SLASHES = 1001,
    /// MSRP URI: the authority has no host.
    MSGWIRE_MSRP_URI_MISSING_HOST = 1002,
    /// MSRP URI: the host is not a valid name, IPv4 or bracketed IPv6 address.
    MSGWIRE_MSRP_URI_BAD_HOST = 1003,
    /// MSRP URI: the port is not a number from 0 to 65535.
    MSGWIRE_MSRP_URI_BAD_PORT = 1004,
    /// MSRP URI: the userinfo contains characters RFC 3986 does not allow.
    MSGWIRE_MSRP_URI_BAD_USERINFO = 1005,
    /// MSRP URI: the session-id is empty or contains invalid characters.
    MSGWIRE_MSRP_URI_BAD_SESSION_ID = 1006,
    /// MSRP URI: the mandatory `;transport` part is missing.
    MSGWIRE_MSRP_URI_MISSING_TRANSPORT = 1007,
    /// MSRP URI: the transport is not made of letters and digits.
    MSGWIRE_MSRP_URI_BAD_TRANSPORT = 1008,
    /// MSRP URI: a `;name=value` parameter is not made of tokens.
    MSGWIRE_MSRP_URI_BAD_PARAMETER = 1009,

    /// MSRP header: a header the operation needs is absent.
    MSGWIRE_MSRP_HEADER_MISSING = 1100,
    /// MSRP header: a URI in To-Path, From-Path or Use-Path is invalid.
    MSGWIRE_MSRP_HEADER_URI = 1101,
    /// MSRP header: a path header holds no URI.
    MSGWIRE_MSRP_HEADER_EMPTY_PATH = 1102,
    /// MSRP header: Byte-Range is malformed or inconsistent.
    MSGWIRE_MSRP_HEADER_BYTE_RANGE = 1103,
    /// MSRP header: Status is not `000 code [comment]`.
    MSGWIRE_MSRP_HEADER_STATUS = 1104,
    /// MSRP header: the value is not one of the allowed words (`yes`, `no`, ...).
    MSGWIRE_MSRP_HEADER_CHOICE = 1105,
    /// MSRP header: the value is not an integer that fits 32 bits.
    MSGWIRE_MSRP_HEADER_INTEGER = 1106,
    /// MSRP header: a Digest or Authentication-Info parameter list is malformed.
    MSGWIRE_MSRP_HEADER_PARAMS = 1107,
    /// MSRP header: Content-Disposition is malformed.
    MSGWIRE_MSRP_HEADER_DISPOSITION = 1108,
    /// MSRP header: a value that must not be empty is empty.
    MSGWIRE_MSRP_HEADER_EMPTY = 1109,

    /// MSRP parse: a start line is not `MSRP <tid> <method>` or
    /// `MSRP <tid> <code> [comment]` (or bytes follow a complete chunk).
    MSGWIRE_MSRP_PARSE_BAD_START_LINE = 1200,
    /// MSRP parse: the transaction id is not 4 to 32 `ident` characters.
    MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID = 1201,
    /// MSRP parse: the method is not made of upper-case letters.
    MSGWIRE_MSRP_PARSE_BAD_METHOD = 1202,
    /// MSRP parse: the status code is not three digits.
    MSGWIRE_MSRP_PARSE_BAD_STATUS_CODE = 1203,
    /// MSRP parse: a header line has no `:` or its name is not a token.
    MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE = 1204,
    /// MSRP parse: the start line or a header line is not valid UTF-8.
    MSGWIRE_MSRP_PARSE_INVALID_UTF8 = 1205,
    /// MSRP parse: a line is longer than the parser's `max_line_len`.
    MSGWIRE_MSRP_PARSE_LINE_TOO_LONG = 1206,
    /// MSRP parse: a chunk has more header lines than `max_headers`.
    MSGWIRE_MSRP_PARSE_TOO_MANY_HEADERS = 1207,
    /// MSRP parse: the Byte-Range header is malformed.
    MSGWIRE_MSRP_PARSE_BAD_BYTE_RANGE = 1208,
    /// MSRP parse: a line of seven dashes is not this chunk's end-line.
    MSGWIRE_MSRP_PARSE_BAD_END_LINE = 1209,
    /// MSRP parse: a body is larger than `max_body_len`.
    MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE = 1210,
    /// MSRP parse: a body runs past its Byte-Range length without an end-line.
    MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE = 1211,
    /// MSRP parse: the input ended inside a chunk.
    MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF = 1212,

    /// MSRP endpoint: the remote path given to `_complete` holds no URI.
    MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH = 1300,
    /// MSRP endpoint: the peer's host could not be resolved, or every
    /// address refused the TCP connection.
    MSGWIRE_MSRP_ENDPOINT_CONNECT = 1301,
    /// MSRP endpoint: the TCP connection was not established within the
    /// connect timeout.
    MSGWIRE_MSRP_ENDPOINT_CONNECT_TIMEOUT = 1302,
    /// MSRP endpoint: the acceptor could not listen (address in use, bad
    /// host, ...).
    MSGWIRE_MSRP_ENDPOINT_LISTEN = 1303,
    /// MSRP endpoint: no peer connected within the incoming-connect timeout.
    MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT = 1304,
    /// MSRP endpoint: the bind exchange did not finish within the bind
    /// timeout.
    MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT = 1305,
    /// MSRP endpoint: the peer answered the bind SEND with a failure (the
    /// code is in the message; 481 when it does not know our paths).
    MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED = 1306,
    /// MSRP endpoint: the peer's bind SEND does not name this session; it
    /// was answered 481.
    MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH = 1307,
    /// MSRP endpoint: the peer sent something other than the bind exchange.
    MSGWIRE_MSRP_ENDPOINT_BIND_UNEXPECTED = 1308,
    /// MSRP endpoint: the peer's bytes during binding are not MSRP.
    MSGWIRE_MSRP_ENDPOINT_BIND_PROTOCOL = 1309,
    /// MSRP endpoint: the peer closed the connection during binding.
    MSGWIRE_MSRP_ENDPOINT_BIND_CLOSED = 1310,
    /// MSRP endpoint: an I/O error on the socket.
    MSGWIRE_MSRP_ENDPOINT_IO = 1311,
    /// MSRP endpoint: the session is closed or shutting down, or the
    /// connection ended before the response came.
    MSGWIRE_MSRP_ENDPOINT_CLOSED = 1312,
    /// MSRP endpoint: a request with this transaction id is still waiting
    /// for its response.
    MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION = 1313,
    /// MSRP endpoint: the request was answered with a non-2xx status, by
    /// the peer or locally (408) after the response timeout; the message
    /// gives the code and comment.
    MSGWIRE_MSRP_ENDPOINT_RESPONSE = 1314,
    /// MSRP endpoint: the request's own headers are malformed (e.g. a bad
    /// Failure-Report), so it cannot be sent.
    MSGWIRE_MSRP_ENDPOINT_HEADER = 1315,
    /// MSRP endpoint: an `msrps` URI was used without a TLS configuration.
    MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED = 1316,
    /// MSRP endpoint: the TLS handshake failed (untrusted or mismatched
    /// certificate, a peer without TLS, timeout); the message says which.
    MSGWIRE_MSRP_ENDPOINT_TLS = 1317,
    /// MSRP endpoint: the peer closed the connection while a chunk was
    /// being read from a bound transport.
    MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED = 1318,
    /// MSRP endpoint: a bound transport read bytes that are not MSRP.
    MSGWIRE_MSRP_ENDPOINT_PROTOCOL = 1319,
    /// MSRP endpoint: a session cannot take over a transport in the middle
    /// of a chunk already partly read in segments.
    MSGWIRE_MSRP_ENDPOINT_MID_CHUNK = 1320,
    /// MSRP endpoint: no chunk arrived on a bound transport within the
    /// timeout given to `msgwire_msrp_transport_read_chunk`. Nothing is
    /// lost: a partly received chunk stays buffered for the next read.
    MSGWIRE_MSRP_ENDPOINT_TIMEOUT = 1321,

    /// TLS configuration: a certificate, key or CA file could not be read
    /// (the message names the file and the system error).
    MSGWIRE_TLS_FILE = 1400,
    /// TLS configuration: the input is not well-formed PEM (bad base64, a
    /// section without its end line, ...).
    MSGWIRE_TLS_BAD_PEM = 1401,
    /// TLS configuration: the certificate chain or CA input holds no
    /// `CERTIFICATE` section.
    MSGWIRE_TLS_NO_CERTIFICATES = 1402,
    /// TLS configuration: the key input holds no private key (`PRIVATE KEY`,
    /// `RSA PRIVATE KEY` or `EC PRIVATE KEY`).
    MSGWIRE_TLS_NO_PRIVATE_KEY = 1403,
    /// TLS configuration: a CA certificate cannot be used as a trust anchor.
    MSGWIRE_TLS_BAD_CA_CERTIFICATE = 1404,
    /// TLS configuration: the TLS library refused the configuration (an
    /// unsupported key type, a key that does not belong to the
    /// certificate, ...).
    MSGWIRE_TLS_CONFIG = 1405,

    /// MSRP transfer: a file to send could not be opened, read or
    /// positioned, or is not a regular file; or a sink directory is not a
    /// directory (the message names the path and the system error).
    MSGWIRE_MSRP_TRANSFER_FILE = 1500,
    /// MSRP transfer: the session refused a message as given (e.g. a
    /// malformed Failure-Report, a resume position past the size).
    MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE = 1501,

    /// STS parse: the start line is neither `METHOD SP URI SP STS/1.0` nor
    /// `STS/1.0 SP CODE [SP REASON]`.
    MSGWIRE_STS_PARSE_BAD_START_LINE = 1600,
    /// STS parse: the start line names another protocol or version
    /// (`HTTP/1.1 200 OK`, `STS/2.0`).
    MSGWIRE_STS_PARSE_BAD_VERSION = 1601,
    /// STS parse: a header line has no colon, an empty or spaced name, is
    /// folded or holds control characters.
    MSGWIRE_STS_PARSE_BAD_HEADER_LINE = 1602,
    /// STS parse: the header section is larger than the parser's limit
    /// (32 KiB).
    MSGWIRE_STS_PARSE_HEADER_TOO_LARGE = 1603,
    /// STS parse: the declared body is larger than the parser's limit
    /// (64 KiB).
    MSGWIRE_STS_PARSE_BODY_TOO_LARGE = 1604,
    /// STS parse: `Content-Length` is not a decimal number, or two
    /// occurrences disagree.
    MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH = 1605,
    /// STS parse: the input ends before the message does.
    MSGWIRE_STS_PARSE_INCOMPLETE = 1606,
    /// STS parse: bytes follow the message.
    MSGWIRE_STS_PARSE_TRAILING_DATA = 1607,
    /// STS: the message cannot be put on the wire as it is (an empty or
    /// spaced method or URI, CR or LF in a value, a status code outside
    /// 100-999, a bad header name); the message says which.
    MSGWIRE_STS_INVALID_MESSAGE = 1608,
    /// STS error reply: the body is not well-formed XML with exactly one
    /// root element.
    MSGWIRE_STS_ERROR_XML = 1609,
    /// STS error reply: an integer attribute (`code`, `server`, `module`,
    /// `line`) is not an integer.
    MSGWIRE_STS_ERROR_ATTRIBUTE = 1610,
    /// STS: the client could not connect (the host does not resolve, or
    /// every address refused the connection).
    MSGWIRE_STS_CONNECT = 1611,
    /// STS: the server could not listen on the address (in use, not
    /// local, malformed).
    MSGWIRE_STS_LISTEN = 1612,
    /// STS: the connection is closed (or the server shut down).
    MSGWIRE_STS_CLOSED = 1613,
    /// STS: every transaction id of the connection is in use.
    MSGWIRE_STS_TOO_MANY_TRANSACTIONS = 1614,
    /// STS: the request was already answered with a final reply.
    MSGWIRE_STS_ANSWERED = 1615,
    /// STS: the request was answered with an error reply (status 400 or
    /// above); the message gives the status, code and text.
    MSGWIRE_STS_ERROR_REPLY = 1616,
    /// STS: nothing arrived within the timeout (a request's reply, or a
    /// message for `msgwire_sts_client_read`).
    MSGWIRE_STS_TIMEOUT = 1617,
    /// STS: the peer's replies cannot be used: out of sequence, a broken
    /// fragment, a malformed error body, several replies where one was
    /// expected, or the connection closed during the request.
    MSGWIRE_STS_BAD_SERVER_DATA = 1618,
    /// STS: an I/O error outside connecting and listening (starting the
    /// connection's threads, reading the local address).
    MSGWIRE_STS_IO = 1619,

    /// serverResponse parse: the document is not well-formed XML (e.g. an
    /// attribute value missing its closing quote, mismatched tags).
    MSGWIRE_SR_PARSE_XML = 1700,
    /// serverResponse parse: the document is not UTF-8.
    MSGWIRE_SR_PARSE_NOT_UTF8 = 1701,
    /// serverResponse parse: there is no root element.
    MSGWIRE_SR_PARSE_EMPTY = 1702,
    /// serverResponse parse: the root element is not `<serverResponse>`.
    MSGWIRE_SR_PARSE_NOT_SERVER_RESPONSE = 1703,
    /// serverResponse parse: neither or both of `<results>` and `<faults>`,
    /// or content outside the root element.
    MSGWIRE_SR_PARSE_STRUCTURE = 1704,
    /// serverResponse parse: a result, item, fault, list or lists element
    /// has no `id`.
    MSGWIRE_SR_PARSE_MISSING_ID = 1705,
    /// serverResponse parse: the document is larger than the limit.
    MSGWIRE_SR_PARSE_TOO_LARGE = 1706,
    /// serverResponse parse: elements nest deeper than the limit.
    MSGWIRE_SR_PARSE_TOO_DEEP = 1707,
    /// serverResponse: writing the document failed (the write callback
    /// returned non-zero, or the client went away).
    MSGWIRE_SR_WRITE = 1708,
    /// serverResponse: the writer calls came in an impossible order (an
    /// item outside a row, a fault after results, anything after finish).
    MSGWIRE_SR_WRITE_ORDER = 1709,
    /// serverResponse: the server could not listen on the address.
    MSGWIRE_SR_LISTEN = 1710,
    /// serverResponse client: the URL is not `http://host[:port]/path`.
    MSGWIRE_SR_BAD_URL = 1711,
    /// serverResponse client: no connection could be made.
    MSGWIRE_SR_CONNECT = 1712,
    /// serverResponse client: the exchange did not finish within the timeout.
    MSGWIRE_SR_TIMEOUT = 1713,
    /// serverResponse client: the reply is not valid HTTP, too large, or the
    /// connection failed while talking (TLS handshakes: `MSGWIRE_SR_TLS`).
    MSGWIRE_SR_BAD_REPLY = 1714,
    /// serverResponse client: an HTTP error status whose body is not a
    /// serverResponse document (the message gives the status).
    MSGWIRE_SR_HTTP_ERROR = 1715,
    /// serverResponse client: a success status whose body is not a
    /// serverResponse document (the message says why).
    MSGWIRE_SR_DOCUMENT = 1716,
    /// serverResponse client: the TLS handshake with an `https://` server
    /// failed (a certificate not issued by a trusted CA or not for the
    /// host, a server without TLS, a handshake timeout); the message says
    /// which.
    MSGWIRE_SR_TLS = 1720,
    /// ministreaming: the peer refused the stream (nobody accepts streams there, or nobody called accept in time).
    MSGWIRE_MINISTREAM_REFUSED = 1800,
    /// ministreaming: a connect, accept, read, write or ping did not finish within its timeout. The stream (if any) is still usable.
    MSGWIRE_MINISTREAM_TIMEOUT = 1801,
    /// ministreaming: the peer closed the stream while we were still writing; the bytes will never be read.
    MSGWIRE_MINISTREAM_RESET = 1802,
    /// ministreaming: the stream was closed by this side, or the manager was destroyed.
    MSGWIRE_MINISTREAM_CLOSED = 1803,
    /// ministreaming: the transport connection carrying the stream failed (or could not be opened).
    MSGWIRE_MINISTREAM_TRANSPORT = 1804,
    /// ministreaming: a destination the transport cannot use (not `host:port` for TCP; no such manager in memory).
    MSGWIRE_MINISTREAM_DESTINATION = 1805,
    /// ministreaming: the manager could not listen on the address (in use, not local, malformed).
    MSGWIRE_MINISTREAM_LISTEN = 1806,
    /// ministreaming: bytes that are not a frame (too short, id 00 00 00, type outside the ranges).
    MSGWIRE_MINISTREAM_FRAME = 1807,
    /// CPIM parse: the CPIM body is empty.
    MSGWIRE_CPIM_EMPTY = 1900,
    /// CPIM parse: the message headers are not followed by an empty line.
    MSGWIRE_CPIM_MISSING_HEADER_END = 1901,
    /// CPIM parse: the payload's MIME headers are not followed by an empty line.
    MSGWIRE_CPIM_MISSING_CONTENT_HEADER_END = 1902,
    /// CPIM parse: a line ends in LF without CR.
    MSGWIRE_CPIM_BARE_LINE_FEED = 1903,
    /// CPIM parse: a header line is not valid UTF-8.
    MSGWIRE_CPIM_INVALID_UTF8 = 1904,
    /// CPIM parse: a header line has no colon.
    MSGWIRE_CPIM_MISSING_COLON = 1905,
    /// CPIM parse: a header name is empty or holds characters RFC 3862 does not allow.
    MSGWIRE_CPIM_BAD_HEADER_NAME = 1906,
    /// CPIM parse: a message header's colon is not followed by one space.
    MSGWIRE_CPIM_MISSING_SPACE = 1907,
    /// CPIM parse: a `;name=value` header parameter is malformed.
    MSGWIRE_CPIM_BAD_PARAMETER = 1908,
    /// CPIM parse: a header name uses a prefix no earlier NS header declared.
    MSGWIRE_CPIM_UNDECLARED_PREFIX = 1909,
    /// CPIM parse: an NS value is not `[prefix] <uri>`.
    MSGWIRE_CPIM_BAD_NAMESPACE = 1910,
    /// CPIM parse: a From, To or cc value is not `[display name] <uri>`.
    MSGWIRE_CPIM_BAD_ADDRESS = 1911,
    /// CPIM parse: a DateTime value is not an RFC 3339 date-time with a time zone.
    MSGWIRE_CPIM_BAD_DATETIME = 1912,
    /// CPIM parse: a Require value is not a comma-separated list of header names.
    MSGWIRE_CPIM_BAD_REQUIRE = 1913,
    /// CPIM build: a value cannot be encoded (a URI without a scheme, a bad
    /// header name, a control character, one prefix for two namespaces).
    MSGWIRE_CPIM_INVALID_MESSAGE = 1914,

    /// SDP parse: the text is empty or does not start with an `m=` line.
    MSGWIRE_SDP_MISSING_MEDIA_LINE = 1920,
    /// SDP parse: the `m=` line is not `message <port> <protocol> <format>...`.
    MSGWIRE_SDP_BAD_MEDIA_LINE = 1921,
    /// SDP parse: the `m=` line's media is not `message`.
    MSGWIRE_SDP_NOT_MESSAGE = 1922,
    /// SDP parse: the `m=` protocol is neither `TCP/MSRP` nor `TCP/TLS/MSRP`.
    MSGWIRE_SDP_UNSUPPORTED_PROTOCOL = 1923,
    /// SDP parse: a second `m=` line: the text holds more than one media section.
    MSGWIRE_SDP_EXTRA_MEDIA_LINE = 1924,
    /// SDP parse: a line is not `<letter>=<text>`, or an `a=` line has no name.
    MSGWIRE_SDP_BAD_LINE = 1925,
    /// SDP parse: the `c=` line is not `<net type> <address type> <address>`.
    MSGWIRE_SDP_BAD_CONNECTION = 1926,
    /// SDP parse: a line that may appear once appears again (`c=`, `a=path`, ...).
    MSGWIRE_SDP_DUPLICATE_LINE = 1927,
    /// SDP parse: a URI of `a=path` is invalid.
    MSGWIRE_SDP_BAD_PATH = 1928,
    /// SDP parse: an accept-types list has an unterminated quoted string.
    MSGWIRE_SDP_BAD_FORMAT_LIST = 1929,
    /// SDP parse: `a=max-size` is not a number of octets.
    MSGWIRE_SDP_BAD_MAX_SIZE = 1930,
    /// SDP parse: `a=setup` is not `active`, `passive`, `actpass` or `holdconn`.
    MSGWIRE_SDP_BAD_SETUP = 1931,
    /// SDP parse: `a=path` or an accept list has no entry.
    MSGWIRE_SDP_EMPTY_VALUE = 1932,
    /// SDP build: a media description cannot be encoded (a line break in a
    /// value, a bad attribute name, an invalid path URI, no format).
    MSGWIRE_SDP_INVALID_MEDIA = 1933,
    /// MSRP relay: a digest challenge or answer that cannot be read or
    /// used (e.g. an algorithm other than MD5).
    MSGWIRE_MSRP_RELAY_BAD_DIGEST = 2000,
    /// MSRP relay: the relay refused authentication (a second 401, 403, a
    /// 423 after the retry): legacy `MSRPRelayAuthError`.
    MSGWIRE_MSRP_RELAY_AUTH_REJECTED = 2001,
    /// MSRP relay: no answer to an AUTH in time: legacy `MSRPAuthTimeout`.
    MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT = 2002,
    /// MSRP relay: the connection to the relay was not made in time:
    /// legacy `MSRPRelayConnectTimeout`.
    MSGWIRE_MSRP_RELAY_CONNECT_TIMEOUT = 2003,
    /// MSRP relay: the relay's answer breaks the protocol (a 200 without
    /// Use-Path, an unreadable header).
    MSGWIRE_MSRP_RELAY_BAD_RESPONSE = 2004,
    /// MSRP relay: `_complete` without a successful `_prepare`.
    MSGWIRE_MSRP_RELAY_NOT_PREPARED = 2005,
    /// MSRP relay discovery: no DNS server answered.
    MSGWIRE_MSRP_RELAY_DNS_NO_ANSWER = 2006,
    /// MSRP relay discovery: the domain is not a valid DNS name.
    MSGWIRE_MSRP_RELAY_BAD_DOMAIN = 2007,
    /// MSRP relay discovery: neither SRV records nor addresses for the
    /// domain.
    MSGWIRE_MSRP_RELAY_NOT_FOUND = 2008,
    /// MSRP relay server: the users file cannot be read or has a line in
    /// neither `user:realm:HA1` nor `user:password` form.
    MSGWIRE_RELAY_SERVER_USERS = 2020,
    /// MSRP relay server: the configuration cannot work (no listener, a TLS
    /// address without certificate, expires bounds out of order, a bad
    /// realm or address).
    MSGWIRE_RELAY_SERVER_CONFIG = 2021,
    /// MSRP relay server: a listening address (or the status server's)
    /// cannot be bound.
    MSGWIRE_RELAY_SERVER_LISTEN = 2022,
    /// MSRP relay server: the certificate or key for the TLS listener
    /// cannot be read or used.
    MSGWIRE_RELAY_SERVER_TLS = 2023,

    /// MSRP chat: the call does not fit the chat's state (start before
    /// initialize, initialize twice).
    MSGWIRE_CHAT_STATE = 2100,
    /// MSRP chat: the chat has ended or failed; nothing more can be sent.
    MSGWIRE_CHAT_CLOSED = 2101,
    /// MSRP chat: the peer accepts neither message/cpim (with this type
    /// inside) nor this type.
    MSGWIRE_CHAT_NOT_ACCEPTED = 2102,
    /// MSRP chat: a private message needs message/cpim, which the peer does
    /// not accept.
    MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM = 2103,
    /// MSRP chat: the peer's media cannot be used (no a=path, both sides
    /// active).
    MSGWIRE_CHAT_NEGOTIATION = 2104,
    /// MSRP chat: the relay failed (authentication, discovery, timeout).
    MSGWIRE_CHAT_RELAY = 2105,
    /// MSRP chat: an is-composing document could not be built.
    MSGWIRE_CHAT_IS_COMPOSING = 2106,
}

use msgwire_status::*;

impl msgwire_status {
    /// Every status in numeric order, for turning a number from C back into
    /// the enum. A status missing here would read as "unknown status"; the
    /// unit tests check the list against the blocks.
    const ALL: [msgwire_status; 165] = [
        MSGWIRE_OK,
        MSGWIRE_NULL_PARAMETER,
        MSGWIRE_INVALID_UTF8,
        MSGWIRE_BUFFER_TOO_SMALL,
        MSGWIRE_PANIC,
        MSGWIRE_NOT_FOUND,
        MSGWIRE_INVALID_ARGUMENT,
        MSGWIRE_MSRP_URI_BAD_SCHEME,
        MSGWIRE_MSRP_URI_MISSING_SLASHES,
        MSGWIRE_MSRP_URI_MISSING_HOST,
        MSGWIRE_MSRP_URI_BAD_HOST,
        MSGWIRE_MSRP_URI_BAD_PORT,
        MSGWIRE_MSRP_URI_BAD_USERINFO,
        MSGWIRE_MSRP_URI_BAD_SESSION_ID,
        MSGWIRE_MSRP_URI_MISSING_TRANSPORT,
        MSGWIRE_MSRP_URI_BAD_TRANSPORT,
        MSGWIRE_MSRP_URI_BAD_PARAMETER,
        MSGWIRE_MSRP_HEADER_MISSING,
        MSGWIRE_MSRP_HEADER_URI,
        MSGWIRE_MSRP_HEADER_EMPTY_PATH,
        MSGWIRE_MSRP_HEADER_BYTE_RANGE,
        MSGWIRE_MSRP_HEADER_STATUS,
        MSGWIRE_MSRP_HEADER_CHOICE,
        MSGWIRE_MSRP_HEADER_INTEGER,
        MSGWIRE_MSRP_HEADER_PARAMS,
        MSGWIRE_MSRP_HEADER_DISPOSITION,
        MSGWIRE_MSRP_HEADER_EMPTY,
        MSGWIRE_MSRP_PARSE_BAD_START_LINE,
        MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID,
        MSGWIRE_MSRP_PARSE_BAD_METHOD,
        MSGWIRE_MSRP_PARSE_BAD_STATUS_CODE,
        MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE,
        MSGWIRE_MSRP_PARSE_INVALID_UTF8,
        MSGWIRE_MSRP_PARSE_LINE_TOO_LONG,
        MSGWIRE_MSRP_PARSE_TOO_MANY_HEADERS,
        MSGWIRE_MSRP_PARSE_BAD_BYTE_RANGE,
        MSGWIRE_MSRP_PARSE_BAD_END_LINE,
        MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE,
        MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE,
        MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF,
        MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH,
        MSGWIRE_MSRP_ENDPOINT_CONNECT,
        MSGWIRE_MSRP_ENDPOINT_CONNECT_TIMEOUT,
        MSGWIRE_MSRP_ENDPOINT_LISTEN,
        MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT,
        MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT,
        MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED,
        MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH,
        MSGWIRE_MSRP_ENDPOINT_BIND_UNEXPECTED,
        MSGWIRE_MSRP_ENDPOINT_BIND_PROTOCOL,
        MSGWIRE_MSRP_ENDPOINT_BIND_CLOSED,
        MSGWIRE_MSRP_ENDPOINT_IO,
        MSGWIRE_MSRP_ENDPOINT_CLOSED,
        MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION,
        MSGWIRE_MSRP_ENDPOINT_RESPONSE,
        MSGWIRE_MSRP_ENDPOINT_HEADER,
        MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED,
        MSGWIRE_MSRP_ENDPOINT_TLS,
        MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED,
        MSGWIRE_MSRP_ENDPOINT_PROTOCOL,
        MSGWIRE_MSRP_ENDPOINT_MID_CHUNK,
        MSGWIRE_MSRP_ENDPOINT_TIMEOUT,
        MSGWIRE_TLS_FILE,
        MSGWIRE_TLS_BAD_PEM,
        MSGWIRE_TLS_NO_CERTIFICATES,
        MSGWIRE_TLS_NO_PRIVATE_KEY,
        MSGWIRE_TLS_BAD_CA_CERTIFICATE,
        MSGWIRE_TLS_CONFIG,
        MSGWIRE_MSRP_TRANSFER_FILE,
        MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE,
        MSGWIRE_STS_PARSE_BAD_START_LINE,
        MSGWIRE_STS_PARSE_BAD_VERSION,
        MSGWIRE_STS_PARSE_BAD_HEADER_LINE,
        MSGWIRE_STS_PARSE_HEADER_TOO_LARGE,
        MSGWIRE_STS_PARSE_BODY_TOO_LARGE,
        MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH,
        MSGWIRE_STS_PARSE_INCOMPLETE,
        MSGWIRE_STS_PARSE_TRAILING_DATA,
        MSGWIRE_STS_INVALID_MESSAGE,
        MSGWIRE_STS_ERROR_XML,
        MSGWIRE_STS_ERROR_ATTRIBUTE,
        MSGWIRE_STS_CONNECT,
        MSGWIRE_STS_LISTEN,
        MSGWIRE_STS_CLOSED,
        MSGWIRE_STS_TOO_MANY_TRANSACTIONS,
        MSGWIRE_STS_ANSWERED,
        MSGWIRE_STS_ERROR_REPLY,
        MSGWIRE_STS_TIMEOUT,
        MSGWIRE_STS_BAD_SERVER_DATA,
        MSGWIRE_STS_IO,
        MSGWIRE_SR_PARSE_XML,
        MSGWIRE_SR_PARSE_NOT_UTF8,
        MSGWIRE_SR_PARSE_EMPTY,
        MSGWIRE_SR_PARSE_NOT_SERVER_RESPONSE,
        MSGWIRE_SR_PARSE_STRUCTURE,
        MSGWIRE_SR_PARSE_MISSING_ID,
        MSGWIRE_SR_PARSE_TOO_LARGE,
        MSGWIRE_SR_PARSE_TOO_DEEP,
        MSGWIRE_SR_WRITE,
        MSGWIRE_SR_WRITE_ORDER,
        MSGWIRE_SR_LISTEN,
        MSGWIRE_SR_BAD_URL,
        MSGWIRE_SR_CONNECT,
        MSGWIRE_SR_TIMEOUT,
        MSGWIRE_SR_BAD_REPLY,
        MSGWIRE_SR_HTTP_ERROR,
        MSGWIRE_SR_DOCUMENT,
        MSGWIRE_SR_TLS,
        MSGWIRE_MINISTREAM_REFUSED,
        MSGWIRE_MINISTREAM_TIMEOUT,
        MSGWIRE_MINISTREAM_RESET,
        MSGWIRE_MINISTREAM_CLOSED,
        MSGWIRE_MINISTREAM_TRANSPORT,
        MSGWIRE_MINISTREAM_DESTINATION,
        MSGWIRE_MINISTREAM_LISTEN,
        MSGWIRE_MINISTREAM_FRAME,
        MSGWIRE_CPIM_EMPTY,
        MSGWIRE_CPIM_MISSING_HEADER_END,
        MSGWIRE_CPIM_MISSING_CONTENT_HEADER_END,
        MSGWIRE_CPIM_BARE_LINE_FEED,
        MSGWIRE_CPIM_INVALID_UTF8,
        MSGWIRE_CPIM_MISSING_COLON,
        MSGWIRE_CPIM_BAD_HEADER_NAME,
        MSGWIRE_CPIM_MISSING_SPACE,
        MSGWIRE_CPIM_BAD_PARAMETER,
        MSGWIRE_CPIM_UNDECLARED_PREFIX,
        MSGWIRE_CPIM_BAD_NAMESPACE,
        MSGWIRE_CPIM_BAD_ADDRESS,
        MSGWIRE_CPIM_BAD_DATETIME,
        MSGWIRE_CPIM_BAD_REQUIRE,
        MSGWIRE_CPIM_INVALID_MESSAGE,
        MSGWIRE_SDP_MISSING_MEDIA_LINE,
        MSGWIRE_SDP_BAD_MEDIA_LINE,
        MSGWIRE_SDP_NOT_MESSAGE,
        MSGWIRE_SDP_UNSUPPORTED_PROTOCOL,
        MSGWIRE_SDP_EXTRA_MEDIA_LINE,
        MSGWIRE_SDP_BAD_LINE,
        MSGWIRE_SDP_BAD_CONNECTION,
        MSGWIRE_SDP_DUPLICATE_LINE,
        MSGWIRE_SDP_BAD_PATH,
        MSGWIRE_SDP_BAD_FORMAT_LIST,
        MSGWIRE_SDP_BAD_MAX_SIZE,
        MSGWIRE_SDP_BAD_SETUP,
        MSGWIRE_SDP_EMPTY_VALUE,
        MSGWIRE_SDP_INVALID_MEDIA,
        MSGWIRE_MSRP_RELAY_BAD_DIGEST,
        MSGWIRE_MSRP_RELAY_AUTH_REJECTED,
        MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT,
        MSGWIRE_MSRP_RELAY_CONNECT_TIMEOUT,
        MSGWIRE_MSRP_RELAY_BAD_RESPONSE,
        MSGWIRE_MSRP_RELAY_NOT_PREPARED,
        MSGWIRE_MSRP_RELAY_DNS_NO_ANSWER,
        MSGWIRE_MSRP_RELAY_BAD_DOMAIN,
        MSGWIRE_MSRP_RELAY_NOT_FOUND,
        MSGWIRE_RELAY_SERVER_USERS,
        MSGWIRE_RELAY_SERVER_CONFIG,
        MSGWIRE_RELAY_SERVER_LISTEN,
        MSGWIRE_RELAY_SERVER_TLS,
        MSGWIRE_CHAT_STATE,
        MSGWIRE_CHAT_CLOSED,
        MSGWIRE_CHAT_NOT_ACCEPTED,
        MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM,
        MSGWIRE_CHAT_NEGOTIATION,
        MSGWIRE_CHAT_RELAY,
        MSGWIRE_CHAT_IS_COMPOSING,
    ];

    /// The status with number `n`, if there is one.
    pub fn from_u32(n: u32) -> Option<msgwire_status> {
        Self::ALL.iter().copied().find(|s| *s as u32 == n)
    }

    /// A short fixed description, NUL-terminated for handing to C.
    fn text_nul(self) -> &'static str {
        match self {
            MSGWIRE_OK => "ok\0",
            MSGWIRE_NULL_PARAMETER => "a required pointer argument is NULL\0",
            MSGWIRE_INVALID_UTF8 => "a string argument is not valid UTF-8\0",
            MSGWIRE_BUFFER_TOO_SMALL => "the output buffer is too small\0",
            MSGWIRE_PANIC => "internal error (panic) in msgwire\0",
            MSGWIRE_NOT_FOUND => "not found\0",
            MSGWIRE_INVALID_ARGUMENT => "invalid argument\0",
            MSGWIRE_MSRP_URI_BAD_SCHEME => "MSRP URI: invalid scheme\0",
            MSGWIRE_MSRP_URI_MISSING_SLASHES => "MSRP URI: missing '://'\0",
            MSGWIRE_MSRP_URI_MISSING_HOST => "MSRP URI: missing host\0",
            MSGWIRE_MSRP_URI_BAD_HOST => "MSRP URI: invalid host\0",
            MSGWIRE_MSRP_URI_BAD_PORT => "MSRP URI: invalid port\0",
            MSGWIRE_MSRP_URI_BAD_USERINFO => "MSRP URI: invalid userinfo\0",
            MSGWIRE_MSRP_URI_BAD_SESSION_ID => "MSRP URI: invalid session-id\0",
            MSGWIRE_MSRP_URI_MISSING_TRANSPORT => "MSRP URI: missing transport\0",
            MSGWIRE_MSRP_URI_BAD_TRANSPORT => "MSRP URI: invalid transport\0",
            MSGWIRE_MSRP_URI_BAD_PARAMETER => "MSRP URI: invalid parameter\0",
            MSGWIRE_MSRP_HEADER_MISSING => "MSRP header: missing\0",
            MSGWIRE_MSRP_HEADER_URI => "MSRP header: invalid URI in path\0",
            MSGWIRE_MSRP_HEADER_EMPTY_PATH => "MSRP header: empty path\0",
            MSGWIRE_MSRP_HEADER_BYTE_RANGE => "MSRP header: invalid Byte-Range\0",
            MSGWIRE_MSRP_HEADER_STATUS => "MSRP header: invalid Status\0",
            MSGWIRE_MSRP_HEADER_CHOICE => "MSRP header: value is not an allowed word\0",
            MSGWIRE_MSRP_HEADER_INTEGER => "MSRP header: invalid integer\0",
            MSGWIRE_MSRP_HEADER_PARAMS => "MSRP header: invalid parameter list\0",
            MSGWIRE_MSRP_HEADER_DISPOSITION => "MSRP header: invalid Content-Disposition\0",
            MSGWIRE_MSRP_HEADER_EMPTY => "MSRP header: empty value\0",
            MSGWIRE_MSRP_PARSE_BAD_START_LINE => "MSRP parse: malformed start line\0",
            MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID => "MSRP parse: invalid transaction id\0",
            MSGWIRE_MSRP_PARSE_BAD_METHOD => "MSRP parse: invalid method\0",
            MSGWIRE_MSRP_PARSE_BAD_STATUS_CODE => "MSRP parse: invalid status code\0",
            MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE => "MSRP parse: malformed header line\0",
            MSGWIRE_MSRP_PARSE_INVALID_UTF8 => "MSRP parse: header line is not valid UTF-8\0",
            MSGWIRE_MSRP_PARSE_LINE_TOO_LONG => "MSRP parse: line too long\0",
            MSGWIRE_MSRP_PARSE_TOO_MANY_HEADERS => "MSRP parse: too many header lines\0",
            MSGWIRE_MSRP_PARSE_BAD_BYTE_RANGE => "MSRP parse: invalid Byte-Range header\0",
            MSGWIRE_MSRP_PARSE_BAD_END_LINE => "MSRP parse: malformed end-line\0",
            MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE => "MSRP parse: body too large\0",
            MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE => {
                "MSRP parse: body longer than its Byte-Range\0"
            }
            MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF => "MSRP parse: input ended inside a chunk\0",
            MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH => "MSRP endpoint: the remote path is empty\0",
            MSGWIRE_MSRP_ENDPOINT_CONNECT => "MSRP endpoint: cannot connect to the peer\0",
            MSGWIRE_MSRP_ENDPOINT_CONNECT_TIMEOUT => "MSRP endpoint: connecting timed out\0",
            MSGWIRE_MSRP_ENDPOINT_LISTEN => "MSRP endpoint: cannot listen\0",
            MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT => {
                "MSRP endpoint: no incoming connection in time\0"
            }
            MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT => "MSRP endpoint: binding timed out\0",
            MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED => "MSRP endpoint: the peer refused the binding\0",
            MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH => {
                "MSRP endpoint: the bind request does not match this session\0"
            }
            MSGWIRE_MSRP_ENDPOINT_BIND_UNEXPECTED => {
                "MSRP endpoint: unexpected chunk while binding\0"
            }
            MSGWIRE_MSRP_ENDPOINT_BIND_PROTOCOL => "MSRP endpoint: protocol error while binding\0",
            MSGWIRE_MSRP_ENDPOINT_BIND_CLOSED => {
                "MSRP endpoint: the peer closed the connection while binding\0"
            }
            MSGWIRE_MSRP_ENDPOINT_IO => "MSRP endpoint: I/O error\0",
            MSGWIRE_MSRP_ENDPOINT_CLOSED => "MSRP endpoint: the session is closed\0",
            MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION => {
                "MSRP endpoint: transaction already in progress\0"
            }
            MSGWIRE_MSRP_ENDPOINT_RESPONSE => "MSRP endpoint: the request failed\0",
            MSGWIRE_MSRP_ENDPOINT_HEADER => "MSRP endpoint: malformed request header\0",
            MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED => {
                "MSRP endpoint: msrps needs a TLS configuration\0"
            }
            MSGWIRE_MSRP_ENDPOINT_TLS => "MSRP endpoint: TLS handshake failed\0",
            MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED => {
                "MSRP endpoint: the peer closed the connection\0"
            }
            MSGWIRE_MSRP_ENDPOINT_PROTOCOL => "MSRP endpoint: protocol error\0",
            MSGWIRE_MSRP_ENDPOINT_MID_CHUNK => {
                "MSRP endpoint: the transport is in the middle of a chunk\0"
            }
            MSGWIRE_MSRP_ENDPOINT_TIMEOUT => "MSRP endpoint: no chunk arrived in time\0",
            MSGWIRE_TLS_FILE => "TLS: cannot read a certificate or key file\0",
            MSGWIRE_TLS_BAD_PEM => "TLS: malformed PEM\0",
            MSGWIRE_TLS_NO_CERTIFICATES => "TLS: no certificate in the PEM input\0",
            MSGWIRE_TLS_NO_PRIVATE_KEY => "TLS: no private key in the PEM input\0",
            MSGWIRE_TLS_BAD_CA_CERTIFICATE => "TLS: unusable CA certificate\0",
            MSGWIRE_TLS_CONFIG => "TLS: unusable configuration\0",
            MSGWIRE_MSRP_TRANSFER_FILE => "MSRP transfer: cannot use the file\0",
            MSGWIRE_MSRP_TRANSFER_INVALID_MESSAGE => {
                "MSRP transfer: the message cannot be sent as given\0"
            }
            MSGWIRE_STS_PARSE_BAD_START_LINE => "STS parse: malformed start line\0",
            MSGWIRE_STS_PARSE_BAD_VERSION => "STS parse: unsupported protocol version\0",
            MSGWIRE_STS_PARSE_BAD_HEADER_LINE => "STS parse: malformed header line\0",
            MSGWIRE_STS_PARSE_HEADER_TOO_LARGE => "STS parse: header section too large\0",
            MSGWIRE_STS_PARSE_BODY_TOO_LARGE => "STS parse: body too large\0",
            MSGWIRE_STS_PARSE_BAD_CONTENT_LENGTH => "STS parse: invalid Content-Length\0",
            MSGWIRE_STS_PARSE_INCOMPLETE => "STS parse: incomplete message\0",
            MSGWIRE_STS_PARSE_TRAILING_DATA => "STS parse: bytes after the message\0",
            MSGWIRE_STS_INVALID_MESSAGE => "STS: the message cannot be encoded\0",
            MSGWIRE_STS_ERROR_XML => "STS error reply: invalid XML\0",
            MSGWIRE_STS_ERROR_ATTRIBUTE => "STS error reply: invalid attribute\0",
            MSGWIRE_STS_CONNECT => "STS: cannot connect\0",
            MSGWIRE_STS_LISTEN => "STS: cannot listen\0",
            MSGWIRE_STS_CLOSED => "STS: the connection is closed\0",
            MSGWIRE_STS_TOO_MANY_TRANSACTIONS => "STS: too many requests in flight\0",
            MSGWIRE_STS_ANSWERED => "STS: the request was already answered\0",
            MSGWIRE_STS_ERROR_REPLY => "STS: error reply\0",
            MSGWIRE_STS_TIMEOUT => "STS: timed out\0",
            MSGWIRE_STS_BAD_SERVER_DATA => "STS: bad data from the peer\0",
            MSGWIRE_STS_IO => "STS: I/O error\0",
            MSGWIRE_SR_PARSE_XML => "serverResponse: malformed XML\0",
            MSGWIRE_SR_PARSE_NOT_UTF8 => "serverResponse: document not UTF-8\0",
            MSGWIRE_SR_PARSE_EMPTY => "serverResponse: empty document\0",
            MSGWIRE_SR_PARSE_NOT_SERVER_RESPONSE => {
                "serverResponse: not a serverResponse document\0"
            }
            MSGWIRE_SR_PARSE_STRUCTURE => "serverResponse: invalid document structure\0",
            MSGWIRE_SR_PARSE_MISSING_ID => "serverResponse: element without an id\0",
            MSGWIRE_SR_PARSE_TOO_LARGE => "serverResponse: document too large\0",
            MSGWIRE_SR_PARSE_TOO_DEEP => "serverResponse: document nested too deep\0",
            MSGWIRE_SR_WRITE => "serverResponse: write failed\0",
            MSGWIRE_SR_WRITE_ORDER => "serverResponse: writer calls out of order\0",
            MSGWIRE_SR_LISTEN => "serverResponse: cannot listen\0",
            MSGWIRE_SR_BAD_URL => "serverResponse: invalid URL\0",
            MSGWIRE_SR_CONNECT => "serverResponse: cannot connect\0",
            MSGWIRE_SR_TIMEOUT => "serverResponse: timed out\0",
            MSGWIRE_SR_BAD_REPLY => "serverResponse: invalid HTTP reply\0",
            MSGWIRE_SR_HTTP_ERROR => "serverResponse: HTTP error without a document\0",
            MSGWIRE_SR_DOCUMENT => "serverResponse: reply body is not serverResponse\0",
            MSGWIRE_SR_TLS => "serverResponse: TLS handshake failed\0",
            MSGWIRE_MINISTREAM_REFUSED => "ministream: the peer refused the stream\0",
            MSGWIRE_MINISTREAM_TIMEOUT => "ministream: timed out\0",
            MSGWIRE_MINISTREAM_RESET => "ministream: the peer closed the stream\0",
            MSGWIRE_MINISTREAM_CLOSED => "ministream: the stream or manager is closed\0",
            MSGWIRE_MINISTREAM_TRANSPORT => "ministream: transport failure\0",
            MSGWIRE_MINISTREAM_DESTINATION => "ministream: invalid destination\0",
            MSGWIRE_MINISTREAM_LISTEN => "ministream: cannot listen\0",
            MSGWIRE_MINISTREAM_FRAME => "ministream: malformed frame\0",
            MSGWIRE_CPIM_EMPTY => "CPIM: empty body\0",
            MSGWIRE_CPIM_MISSING_HEADER_END => "CPIM: no empty line after the message headers\0",
            MSGWIRE_CPIM_MISSING_CONTENT_HEADER_END => {
                "CPIM: no empty line after the content headers\0"
            }
            MSGWIRE_CPIM_BARE_LINE_FEED => "CPIM: line ends in LF without CR\0",
            MSGWIRE_CPIM_INVALID_UTF8 => "CPIM: header line is not valid UTF-8\0",
            MSGWIRE_CPIM_MISSING_COLON => "CPIM: header line without a colon\0",
            MSGWIRE_CPIM_BAD_HEADER_NAME => "CPIM: invalid header name\0",
            MSGWIRE_CPIM_MISSING_SPACE => "CPIM: no space after a header's colon\0",
            MSGWIRE_CPIM_BAD_PARAMETER => "CPIM: invalid header parameter\0",
            MSGWIRE_CPIM_UNDECLARED_PREFIX => "CPIM: undeclared namespace prefix\0",
            MSGWIRE_CPIM_BAD_NAMESPACE => "CPIM: invalid NS value\0",
            MSGWIRE_CPIM_BAD_ADDRESS => "CPIM: invalid address\0",
            MSGWIRE_CPIM_BAD_DATETIME => "CPIM: invalid DateTime\0",
            MSGWIRE_CPIM_BAD_REQUIRE => "CPIM: invalid Require value\0",
            MSGWIRE_CPIM_INVALID_MESSAGE => "CPIM: the message cannot be encoded\0",
            MSGWIRE_SDP_MISSING_MEDIA_LINE => "SDP: no m= line\0",
            MSGWIRE_SDP_BAD_MEDIA_LINE => "SDP: malformed m= line\0",
            MSGWIRE_SDP_NOT_MESSAGE => "SDP: media is not message\0",
            MSGWIRE_SDP_UNSUPPORTED_PROTOCOL => "SDP: protocol is not MSRP\0",
            MSGWIRE_SDP_EXTRA_MEDIA_LINE => "SDP: more than one media section\0",
            MSGWIRE_SDP_BAD_LINE => "SDP: malformed line\0",
            MSGWIRE_SDP_BAD_CONNECTION => "SDP: malformed c= line\0",
            MSGWIRE_SDP_DUPLICATE_LINE => "SDP: line appears twice\0",
            MSGWIRE_SDP_BAD_PATH => "SDP: invalid URI in a=path\0",
            MSGWIRE_SDP_BAD_FORMAT_LIST => "SDP: malformed media type list\0",
            MSGWIRE_SDP_BAD_MAX_SIZE => "SDP: invalid a=max-size\0",
            MSGWIRE_SDP_BAD_SETUP => "SDP: invalid a=setup\0",
            MSGWIRE_SDP_EMPTY_VALUE => "SDP: attribute without entries\0",
            MSGWIRE_SDP_INVALID_MEDIA => "SDP: the media description cannot be encoded\0",
            MSGWIRE_MSRP_RELAY_BAD_DIGEST => "MSRP relay: unusable digest challenge\0",
            MSGWIRE_MSRP_RELAY_AUTH_REJECTED => "MSRP relay: authentication refused\0",
            MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT => "MSRP relay: no answer to AUTH\0",
            MSGWIRE_MSRP_RELAY_CONNECT_TIMEOUT => "MSRP relay: connecting timed out\0",
            MSGWIRE_MSRP_RELAY_BAD_RESPONSE => "MSRP relay: unexpected answer\0",
            MSGWIRE_MSRP_RELAY_NOT_PREPARED => "MSRP relay: connection not prepared\0",
            MSGWIRE_MSRP_RELAY_DNS_NO_ANSWER => "MSRP relay: no DNS server answered\0",
            MSGWIRE_MSRP_RELAY_BAD_DOMAIN => "MSRP relay: invalid domain name\0",
            MSGWIRE_MSRP_RELAY_NOT_FOUND => "MSRP relay: no relay found for the domain\0",
            MSGWIRE_RELAY_SERVER_USERS => "MSRP relay: the users file is unreadable or malformed\0",
            MSGWIRE_RELAY_SERVER_CONFIG => "MSRP relay: invalid configuration\0",
            MSGWIRE_RELAY_SERVER_LISTEN => "MSRP relay: cannot listen\0",
            MSGWIRE_RELAY_SERVER_TLS => "MSRP relay: unusable certificate or key\0",
            MSGWIRE_CHAT_STATE => "chat: call out of order\0",
            MSGWIRE_CHAT_CLOSED => "chat: the chat has ended\0",
            MSGWIRE_CHAT_NOT_ACCEPTED => "chat: the peer does not accept the content type\0",
            MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM => "chat: a private message needs message/cpim\0",
            MSGWIRE_CHAT_NEGOTIATION => "chat: SDP negotiation failed\0",
            MSGWIRE_CHAT_RELAY => "chat: the relay failed\0",
            MSGWIRE_CHAT_IS_COMPOSING => "chat: invalid is-composing indication\0",
        }
    }

    /// The description without its NUL.
    pub fn text(self) -> &'static str {
        let t = self.text_nul();
        &t[..t.len() - 1]
    }
}

/// A failure on its way to C: the status to return and the message to store
/// for `msgwire_last_error()`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The status the C function returns.
    pub status: msgwire_status,
    /// The detailed message.
    pub message: String,
}

impl Error {
    /// An error with an explicit message.
    pub fn new(status: msgwire_status, message: impl Into<String>) -> Self {
        Error {
            status,
            message: message.into(),
        }
    }

    /// `MSGWIRE_NULL_PARAMETER` naming the parameter.
    pub fn null(param: &str) -> Self {
        Self::new(MSGWIRE_NULL_PARAMETER, format!("{param} is NULL"))
    }

    /// `MSGWIRE_NOT_FOUND` with a message.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(MSGWIRE_NOT_FOUND, message)
    }

    /// `MSGWIRE_INVALID_ARGUMENT` with a message.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(MSGWIRE_INVALID_ARGUMENT, message)
    }
}

impl From<UriError> for Error {
    fn from(e: UriError) -> Self {
        Self::new(uri_status(&e), format!("invalid MSRP URI: {e}"))
    }
}

impl From<HeaderError> for Error {
    fn from(e: HeaderError) -> Self {
        let status = match &e.kind {
            HeaderErrorKind::Missing => MSGWIRE_MSRP_HEADER_MISSING,
            HeaderErrorKind::Uri(_) => MSGWIRE_MSRP_HEADER_URI,
            HeaderErrorKind::EmptyPath => MSGWIRE_MSRP_HEADER_EMPTY_PATH,
            HeaderErrorKind::ByteRange => MSGWIRE_MSRP_HEADER_BYTE_RANGE,
            HeaderErrorKind::Status => MSGWIRE_MSRP_HEADER_STATUS,
            HeaderErrorKind::Choice => MSGWIRE_MSRP_HEADER_CHOICE,
            HeaderErrorKind::Integer => MSGWIRE_MSRP_HEADER_INTEGER,
            HeaderErrorKind::Params => MSGWIRE_MSRP_HEADER_PARAMS,
            HeaderErrorKind::Disposition => MSGWIRE_MSRP_HEADER_DISPOSITION,
            HeaderErrorKind::Empty => MSGWIRE_MSRP_HEADER_EMPTY,
        };
        Self::new(status, e.to_string())
    }
}

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        let status = match e.kind {
            ParseErrorKind::BadStartLine => MSGWIRE_MSRP_PARSE_BAD_START_LINE,
            ParseErrorKind::BadTransactionId => MSGWIRE_MSRP_PARSE_BAD_TRANSACTION_ID,
            ParseErrorKind::BadMethod => MSGWIRE_MSRP_PARSE_BAD_METHOD,
            ParseErrorKind::BadStatusCode => MSGWIRE_MSRP_PARSE_BAD_STATUS_CODE,
            ParseErrorKind::BadHeaderLine => MSGWIRE_MSRP_PARSE_BAD_HEADER_LINE,
            ParseErrorKind::InvalidUtf8 => MSGWIRE_MSRP_PARSE_INVALID_UTF8,
            ParseErrorKind::LineTooLong { .. } => MSGWIRE_MSRP_PARSE_LINE_TOO_LONG,
            ParseErrorKind::TooManyHeaders { .. } => MSGWIRE_MSRP_PARSE_TOO_MANY_HEADERS,
            ParseErrorKind::BadByteRange => MSGWIRE_MSRP_PARSE_BAD_BYTE_RANGE,
            ParseErrorKind::BadEndLine => MSGWIRE_MSRP_PARSE_BAD_END_LINE,
            ParseErrorKind::BodyTooLarge { .. } => MSGWIRE_MSRP_PARSE_BODY_TOO_LARGE,
            ParseErrorKind::BodyExceedsByteRange { .. } => {
                MSGWIRE_MSRP_PARSE_BODY_EXCEEDS_BYTE_RANGE
            }
            ParseErrorKind::UnexpectedEof => MSGWIRE_MSRP_PARSE_UNEXPECTED_EOF,
        };
        Self::new(status, e.to_string())
    }
}

impl From<RelayError> for Error {
    fn from(e: RelayError) -> Self {
        let status = match e {
            // Failures of the connection underneath read as the direct
            // endpoints' do.
            RelayError::Endpoint(inner) => return inner.into(),
            RelayError::BadDigest(_) => MSGWIRE_MSRP_RELAY_BAD_DIGEST,
            RelayError::AuthRejected { .. } => MSGWIRE_MSRP_RELAY_AUTH_REJECTED,
            RelayError::AuthTimeout(_) => MSGWIRE_MSRP_RELAY_AUTH_TIMEOUT,
            RelayError::ConnectTimeout(_) => MSGWIRE_MSRP_RELAY_CONNECT_TIMEOUT,
            RelayError::BadResponse(_) => MSGWIRE_MSRP_RELAY_BAD_RESPONSE,
            RelayError::NotPrepared => MSGWIRE_MSRP_RELAY_NOT_PREPARED,
            RelayError::Discovery(DiscoveryError::NoAnswer(_)) => MSGWIRE_MSRP_RELAY_DNS_NO_ANSWER,
            RelayError::Discovery(DiscoveryError::BadName(_)) => MSGWIRE_MSRP_RELAY_BAD_DOMAIN,
            RelayError::Discovery(DiscoveryError::NotFound(_)) => MSGWIRE_MSRP_RELAY_NOT_FOUND,
        };
        Self::new(status, e.to_string())
    }
}

impl From<EndpointError> for Error {
    fn from(e: EndpointError) -> Self {
        let status = match &e {
            EndpointError::EmptyPath => MSGWIRE_MSRP_ENDPOINT_EMPTY_PATH,
            EndpointError::Connect { .. } => MSGWIRE_MSRP_ENDPOINT_CONNECT,
            EndpointError::ConnectTimeout(_) => MSGWIRE_MSRP_ENDPOINT_CONNECT_TIMEOUT,
            EndpointError::Listen { .. } => MSGWIRE_MSRP_ENDPOINT_LISTEN,
            EndpointError::IncomingConnectTimeout(_) => {
                MSGWIRE_MSRP_ENDPOINT_INCOMING_CONNECT_TIMEOUT
            }
            EndpointError::BindTimeout(_) => MSGWIRE_MSRP_ENDPOINT_BIND_TIMEOUT,
            EndpointError::BindRejected { .. } => MSGWIRE_MSRP_ENDPOINT_BIND_REJECTED,
            EndpointError::BindMismatch(_) => MSGWIRE_MSRP_ENDPOINT_BIND_MISMATCH,
            EndpointError::BindUnexpected(_) => MSGWIRE_MSRP_ENDPOINT_BIND_UNEXPECTED,
            EndpointError::BindProtocol(_) => MSGWIRE_MSRP_ENDPOINT_BIND_PROTOCOL,
            EndpointError::BindClosed => MSGWIRE_MSRP_ENDPOINT_BIND_CLOSED,
            EndpointError::Io(_) => MSGWIRE_MSRP_ENDPOINT_IO,
            EndpointError::Closed => MSGWIRE_MSRP_ENDPOINT_CLOSED,
            EndpointError::DuplicateTransaction(_) => MSGWIRE_MSRP_ENDPOINT_DUPLICATE_TRANSACTION,
            EndpointError::Response { .. } => MSGWIRE_MSRP_ENDPOINT_RESPONSE,
            EndpointError::Header(_) => MSGWIRE_MSRP_ENDPOINT_HEADER,
            EndpointError::TlsNotConfigured => MSGWIRE_MSRP_ENDPOINT_TLS_NOT_CONFIGURED,
            EndpointError::Tls(_) => MSGWIRE_MSRP_ENDPOINT_TLS,
            EndpointError::ConnectionClosed => MSGWIRE_MSRP_ENDPOINT_CONNECTION_CLOSED,
            EndpointError::Protocol(_) => MSGWIRE_MSRP_ENDPOINT_PROTOCOL,
            EndpointError::MidChunk => MSGWIRE_MSRP_ENDPOINT_MID_CHUNK,
        };
        // The core's messages carry the details (the code and comment of a
        // failed response, the target of a failed connect, ...); add the
        // underlying cause where there is one.
        let message = match std::error::Error::source(&e) {
            Some(cause) if !e.to_string().contains(&cause.to_string()) => {
                format!("{e}: {cause}")
            }
            _ => e.to_string(),
        };
        Self::new(status, message)
    }
}

impl From<TlsError> for Error {
    /// For building a TLS configuration. Handshake failures do not come
    /// this way: they reach C as `MSGWIRE_MSRP_ENDPOINT_TLS` through the
    /// endpoint error that carries them.
    fn from(e: TlsError) -> Self {
        let status = match &e {
            TlsError::File { .. } => MSGWIRE_TLS_FILE,
            TlsError::BadPem { .. } => MSGWIRE_TLS_BAD_PEM,
            TlsError::NoCertificates(_) => MSGWIRE_TLS_NO_CERTIFICATES,
            TlsError::NoPrivateKey => MSGWIRE_TLS_NO_PRIVATE_KEY,
            TlsError::BadCaCertificate(_) => MSGWIRE_TLS_BAD_CA_CERTIFICATE,
            // `Config`, and anything a newer core adds (the enum is
            // non-exhaustive).
            _ => MSGWIRE_TLS_CONFIG,
        };
        Self::new(status, e.to_string())
    }
}

impl From<CpimError> for Error {
    fn from(e: CpimError) -> Self {
        let status = match &e.kind {
            CpimErrorKind::Empty => MSGWIRE_CPIM_EMPTY,
            CpimErrorKind::MissingHeaderEnd => MSGWIRE_CPIM_MISSING_HEADER_END,
            CpimErrorKind::MissingContentHeaderEnd => MSGWIRE_CPIM_MISSING_CONTENT_HEADER_END,
            CpimErrorKind::BareLineFeed => MSGWIRE_CPIM_BARE_LINE_FEED,
            CpimErrorKind::InvalidUtf8 => MSGWIRE_CPIM_INVALID_UTF8,
            CpimErrorKind::MissingColon => MSGWIRE_CPIM_MISSING_COLON,
            CpimErrorKind::BadHeaderName => MSGWIRE_CPIM_BAD_HEADER_NAME,
            CpimErrorKind::MissingSpace => MSGWIRE_CPIM_MISSING_SPACE,
            CpimErrorKind::BadParameter => MSGWIRE_CPIM_BAD_PARAMETER,
            CpimErrorKind::UndeclaredPrefix(_) => MSGWIRE_CPIM_UNDECLARED_PREFIX,
            CpimErrorKind::BadNamespace => MSGWIRE_CPIM_BAD_NAMESPACE,
            CpimErrorKind::BadAddress => MSGWIRE_CPIM_BAD_ADDRESS,
            CpimErrorKind::BadDateTime => MSGWIRE_CPIM_BAD_DATETIME,
            CpimErrorKind::BadRequire => MSGWIRE_CPIM_BAD_REQUIRE,
        };
        Self::new(status, format!("invalid CPIM message: {e}"))
    }
}

impl From<CpimBuildError> for Error {
    fn from(e: CpimBuildError) -> Self {
        Self::new(
            MSGWIRE_CPIM_INVALID_MESSAGE,
            format!("cannot build the CPIM message: {e}"),
        )
    }
}

impl From<SdpError> for Error {
    fn from(e: SdpError) -> Self {
        let status = match &e.kind {
            SdpErrorKind::MissingMediaLine => MSGWIRE_SDP_MISSING_MEDIA_LINE,
            SdpErrorKind::BadMediaLine => MSGWIRE_SDP_BAD_MEDIA_LINE,
            SdpErrorKind::NotMessage(_) => MSGWIRE_SDP_NOT_MESSAGE,
            SdpErrorKind::UnsupportedProtocol(_) => MSGWIRE_SDP_UNSUPPORTED_PROTOCOL,
            SdpErrorKind::ExtraMediaLine => MSGWIRE_SDP_EXTRA_MEDIA_LINE,
            SdpErrorKind::BadLine => MSGWIRE_SDP_BAD_LINE,
            SdpErrorKind::BadConnection => MSGWIRE_SDP_BAD_CONNECTION,
            SdpErrorKind::DuplicateLine(_) => MSGWIRE_SDP_DUPLICATE_LINE,
            SdpErrorKind::BadPath(_) => MSGWIRE_SDP_BAD_PATH,
            SdpErrorKind::BadFormatList => MSGWIRE_SDP_BAD_FORMAT_LIST,
            SdpErrorKind::BadMaxSize => MSGWIRE_SDP_BAD_MAX_SIZE,
            SdpErrorKind::BadSetup => MSGWIRE_SDP_BAD_SETUP,
            SdpErrorKind::EmptyValue => MSGWIRE_SDP_EMPTY_VALUE,
        };
        Self::new(status, format!("invalid SDP media: {e}"))
    }
}

impl From<SdpBuildError> for Error {
    fn from(e: SdpBuildError) -> Self {
        Self::new(
            MSGWIRE_SDP_INVALID_MEDIA,
            format!("cannot encode the SDP media: {e}"),
        )
    }
}

impl From<ChatError> for Error {
    fn from(e: ChatError) -> Self {
        let text = e.to_string();
        let status = match e {
            ChatError::Endpoint(e) => return e.into(),
            ChatError::Cpim(e) => return e.into(),
            ChatError::State(_) => MSGWIRE_CHAT_STATE,
            ChatError::Closed => MSGWIRE_CHAT_CLOSED,
            ChatError::NotAccepted { .. } => MSGWIRE_CHAT_NOT_ACCEPTED,
            ChatError::PrivateNeedsCpim => MSGWIRE_CHAT_PRIVATE_NEEDS_CPIM,
            ChatError::Negotiation(_) => MSGWIRE_CHAT_NEGOTIATION,
            ChatError::Relay(_) => MSGWIRE_CHAT_RELAY,
            ChatError::IsComposing(_) => MSGWIRE_CHAT_IS_COMPOSING,
            ChatError::InvalidArgument(_) => MSGWIRE_INVALID_ARGUMENT,
            // A later core variant: the closest generic status.
            _ => MSGWIRE_INVALID_ARGUMENT,
        };
        Self::new(status, text)
    }
}

fn uri_status(e: &UriError) -> msgwire_status {
    match e {
        UriError::BadScheme(_) => MSGWIRE_MSRP_URI_BAD_SCHEME,
        UriError::MissingSlashes => MSGWIRE_MSRP_URI_MISSING_SLASHES,
        UriError::MissingHost => MSGWIRE_MSRP_URI_MISSING_HOST,
        UriError::BadHost(_) => MSGWIRE_MSRP_URI_BAD_HOST,
        UriError::BadPort(_) => MSGWIRE_MSRP_URI_BAD_PORT,
        UriError::BadUserinfo(_) => MSGWIRE_MSRP_URI_BAD_USERINFO,
        UriError::BadSessionId(_) => MSGWIRE_MSRP_URI_BAD_SESSION_ID,
        UriError::MissingTransport => MSGWIRE_MSRP_URI_MISSING_TRANSPORT,
        UriError::BadTransport(_) => MSGWIRE_MSRP_URI_BAD_TRANSPORT,
        UriError::BadParameter(_) => MSGWIRE_MSRP_URI_BAD_PARAMETER,
    }
}

thread_local! {
    /// The message of the last failure on this thread ("" before any).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Stores `message` as this thread's last error. Interior NUL bytes (which
/// can come from parsed input) are replaced so the C string stays whole.
pub fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// A message describing the last failure of a msgwire function on the
/// calling thread, or an empty string when nothing has failed yet.
///
/// Never NULL. The string belongs to msgwire: do not free it. It stays valid
/// until the next msgwire call on the same thread (copy it to keep it).
/// Successful calls do not clear it, so check the status first.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_last_error() -> *const c_char {
    const EMPTY: *const c_char = c"".as_ptr();
    guard::guard_value(EMPTY, || {
        // The CString lives in the thread-local slot until the next failure
        // replaces it, which only a later msgwire call on this thread can do.
        LAST_ERROR.with(|slot| slot.borrow().as_ptr())
    })
}

/// A short fixed description of a status code (e.g. `"not found"`).
///
/// Takes the code as an integer so that any value is safe to pass; unknown
/// codes give `"unknown status"`. Returns a static NUL-terminated string:
/// never NULL, never freed, valid forever.
#[unsafe(no_mangle)]
pub extern "C" fn msgwire_status_text(status: u32) -> *const c_char {
    const UNKNOWN: &str = "unknown status\0";
    guard::guard_value(UNKNOWN.as_ptr().cast(), || {
        msgwire_status::from_u32(status)
            .map_or(UNKNOWN, msgwire_status::text_nul)
            .as_ptr()
            .cast()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::ffi::CStr;

    #[test]
    fn all_statuses_listed_once_with_distinct_texts() {
        let mut numbers = HashSet::new();
        let mut texts = HashSet::new();
        for s in msgwire_status::ALL {
            assert!(numbers.insert(s as u32), "{s:?} listed twice");
            assert!(texts.insert(s.text()), "{s:?} shares its text");
            assert_eq!(msgwire_status::from_u32(s as u32), Some(s));
        }
        assert_eq!(msgwire_status::from_u32(99), None);
    }

    #[test]
    fn blocks() {
        for s in msgwire_status::ALL {
            let n = s as u32;
            let name = format!("{s:?}");
            let block = match n {
                0 => "MSGWIRE_OK",
                1..=99 => "MSGWIRE_",
                1000..=1099 => "MSGWIRE_MSRP_URI_",
                1100..=1199 => "MSGWIRE_MSRP_HEADER_",
                1200..=1299 => "MSGWIRE_MSRP_PARSE_",
                1300..=1399 => "MSGWIRE_MSRP_ENDPOINT_",
                1400..=1499 => "MSGWIRE_TLS_",
                1500..=1599 => "MSGWIRE_MSRP_TRANSFER_",
                1600..=1699 => "MSGWIRE_STS_",
                1700..=1739 => "MSGWIRE_SR_",
                1800..=1819 => "MSGWIRE_MINISTREAM_",
                1900..=1919 => "MSGWIRE_CPIM_",
                1920..=1939 => "MSGWIRE_SDP_",
                2000..=2019 => "MSGWIRE_MSRP_RELAY_",
                2020..=2039 => "MSGWIRE_RELAY_SERVER_",
                2100..=2139 => "MSGWIRE_CHAT_",
                _ => panic!("{name} = {n} is outside every block"),
            };
            assert!(name.starts_with(block), "{name} = {n}");
        }
    }

    #[test]
    fn status_text_is_static_and_total() {
        // SAFETY: msgwire_status_text always returns a static C string.
        let t = unsafe { CStr::from_ptr(msgwire_status_text(5)) };
        assert_eq!(t.to_str().unwrap(), "not found");
        // SAFETY: as above.
        let t = unsafe { CStr::from_ptr(msgwire_status_text(123_456)) };
        assert_eq!(t.to_str().unwrap(), "unknown status");
    }

    #[test]
    fn last_error_keeps_nul_free_text() {
        set_last_error("bad\0value");
        // SAFETY: the pointer is valid until the next failure on this thread.
        let t = unsafe { CStr::from_ptr(msgwire_last_error()) };
        assert_eq!(t.to_str().unwrap(), "bad\\0value");
    }
}
