//! The one place where core errors become Python exceptions.
//!
//! The exception classes are defined in Python (`msrplib.protocol`) so that
//! `except ParsingError` and `isinstance` work exactly as with the legacy
//! library; they are imported lazily on first use, which also keeps the
//! import order free of cycles (`msrplib.protocol` itself imports this
//! module).
//!
//! | core error | Python exception |
//! |---|---|
//! | [`UriError`] | `msrplib.protocol.ParsingError(message)` |
//! | [`HeaderError`] | `msrplib.protocol.HeaderParsingError(header, reason)` |
//! | [`ParseError`] | `msrplib.protocol.ChunkParsingError(message, transaction_id, kind)` |
//!
//! Endpoint errors ([`endpoint::Error`]) map to the legacy classes of
//! `msrplib.connect`, `msrplib.transport` and `msrplib.session`:
//!
//! | core error | Python exception |
//! |---|---|
//! | `ConnectTimeout` / `IncomingConnectTimeout` / `BindTimeout` | `MSRPConnectTimeout` / `MSRPIncomingConnectTimeout` / `MSRPBindSessionTimeout` |
//! | `BindRejected`, `BindMismatch`, `BindUnexpected` | `msrplib.transport.MSRPNoSuchSessionError(comment)` |
//! | `BindProtocol` | `msrplib.transport.ChunkParseError` |
//! | `BindClosed`, `ConnectionClosed` | `msrplib.transport.ConnectionDone` |
//! | `Protocol` | `msrplib.transport.ChunkParseError` |
//! | `MidChunk` | `msrplib.session.MSRPSessionError` |
//! | `Connect`, `Listen`, `Io` | `OSError` (the subclass for the error kind) |
//! | `Closed`, `DuplicateTransaction` | `msrplib.session.MSRPSessionError` |
//! | `Response` (peer) / (`local`) | `MSRPTransactionError(comment, code)` / `msrplib.session.LocalResponse(comment, code)` |
//! | `Header` | `HeaderParsingError` |
//! | `EmptyPath`, `TlsNotConfigured` | `ValueError` |
//! | `Tls` (handshake, certificate not trusted, TLS I/O) | `msrplib.tls.TLSError` (an `OSError`) |
//!
//! `Server` (legacy `MSRPServer`, [`crate::server`]) maps the core's
//! `Closed` itself: `ConnectionDone` when the server was closed,
//! `MSRPNoSuchSessionError` for a local URI that is not expected.
//!
//! Values that Python code hands in and that cannot be encoded (a negative
//! `Expires`, a URI with a space in its host) are caller bugs and raise the
//! built-in `ValueError`.

use std::io;

use msgwire_core::msrp::endpoint;
use msgwire_core::msrp::{HeaderError, HeaderErrorKind, ParseError, ParseErrorKind, UriError};
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

pyo3::import_exception!(msrplib.protocol, ParsingError);
pyo3::import_exception!(msrplib.protocol, HeaderParsingError);
pyo3::import_exception!(msrplib.protocol, ChunkParsingError);
pyo3::import_exception!(msrplib.connect, MSRPConnectTimeout);
pyo3::import_exception!(msrplib.connect, MSRPIncomingConnectTimeout);
pyo3::import_exception!(msrplib.connect, MSRPBindSessionTimeout);
pyo3::import_exception!(msrplib.transport, MSRPTransactionError);
pyo3::import_exception!(msrplib.transport, MSRPNoSuchSessionError);
pyo3::import_exception!(msrplib.transport, ChunkParseError);
pyo3::import_exception!(msrplib.transport, ConnectionDone);
pyo3::import_exception!(msrplib.session, MSRPSessionError);
pyo3::import_exception!(msrplib.session, LocalResponse);
pyo3::import_exception!(msrplib.tls, TLSError);

/// Every core error the bindings can meet.
pub(crate) enum CoreError {
    /// A URI did not parse.
    Uri(UriError),
    /// A header value did not decode; `header` is the name as the caller
    /// spelled it.
    Header { header: String, error: HeaderError },
    /// The chunk parser rejected its input.
    Parse(ParseError),
    /// A value from Python cannot be encoded as the named header.
    Encode { header: String, reason: String },
    /// Binding or driving a session failed.
    Endpoint(endpoint::Error),
}

impl From<endpoint::Error> for CoreError {
    fn from(e: endpoint::Error) -> Self {
        CoreError::Endpoint(e)
    }
}

impl From<UriError> for CoreError {
    fn from(e: UriError) -> Self {
        CoreError::Uri(e)
    }
}

impl From<ParseError> for CoreError {
    fn from(e: ParseError) -> Self {
        CoreError::Parse(e)
    }
}

impl From<HeaderError> for CoreError {
    fn from(error: HeaderError) -> Self {
        CoreError::Header {
            header: error.header.clone(),
            error,
        }
    }
}

impl From<CoreError> for PyErr {
    fn from(e: CoreError) -> PyErr {
        match e {
            CoreError::Uri(e) => ParsingError::new_err(format!("Cannot parse URI: {e}")),
            CoreError::Header { header, error } => {
                HeaderParsingError::new_err((header, header_reason(&error)))
            }
            CoreError::Parse(e) => ChunkParsingError::new_err((
                e.to_string(),
                e.transaction_id.clone(),
                parse_error_kind(&e.kind),
            )),
            CoreError::Encode { header, reason } => {
                PyValueError::new_err(format!("cannot encode {header} header: {reason}"))
            }
            CoreError::Endpoint(e) => endpoint_error(e),
        }
    }
}

fn endpoint_error(e: endpoint::Error) -> PyErr {
    use endpoint::Error as E;
    let text = e.to_string();
    match e {
        E::ConnectTimeout(_) => MSRPConnectTimeout::new_err(text),
        E::IncomingConnectTimeout(_) => MSRPIncomingConnectTimeout::new_err(text),
        E::BindTimeout(_) => MSRPBindSessionTimeout::new_err(text),
        E::BindRejected { .. } | E::BindMismatch(_) | E::BindUnexpected(_) => {
            MSRPNoSuchSessionError::new_err(text)
        }
        E::BindProtocol(_) => ChunkParseError::new_err(text),
        E::BindClosed => ConnectionDone::new_err(text),
        E::ConnectionClosed => ConnectionDone::new_err(()),
        E::Protocol(_) => ChunkParseError::new_err(text),
        E::Connect { source, .. } | E::Listen { source, .. } => {
            PyErr::from(io::Error::new(source.kind(), text))
        }
        E::Io(source) => PyErr::from(source),
        E::Closed | E::DuplicateTransaction(_) | E::MidChunk => MSRPSessionError::new_err(text),
        E::Response {
            code,
            comment,
            local: true,
        } => LocalResponse::new_err((comment, code)),
        E::Response { code, comment, .. } => MSRPTransactionError::new_err((comment, code)),
        E::Header(error) => CoreError::from(error).into(),
        E::EmptyPath | E::TlsNotConfigured => PyValueError::new_err(text),
        E::Tls(_) => TLSError::new_err(text),
    }
}

/// The reason part of a header error, without the header name (the Python
/// exception adds `Error parsing <header> header: ` itself).
pub(crate) fn header_reason(e: &HeaderError) -> String {
    match &e.kind {
        HeaderErrorKind::Missing => "header is missing".to_string(),
        HeaderErrorKind::Uri(u) => u.to_string(),
        HeaderErrorKind::EmptyPath => "no URI in path".to_string(),
        HeaderErrorKind::ByteRange => format!("invalid byte range value {:?}", e.value),
        HeaderErrorKind::Status => format!("invalid status value {:?}", e.value),
        HeaderErrorKind::Choice => format!("invalid value {:?}", e.value),
        HeaderErrorKind::Integer => format!("invalid integer {:?}", e.value),
        HeaderErrorKind::Params => format!("invalid parameter list {:?}", e.value),
        HeaderErrorKind::Disposition => format!("invalid content disposition {:?}", e.value),
        HeaderErrorKind::Empty => "empty value".to_string(),
    }
}

/// A stable snake_case name for each parse error kind, exposed to Python as
/// `ChunkParsingError.kind` so callers can branch without matching text.
pub(crate) fn parse_error_kind(kind: &ParseErrorKind) -> &'static str {
    match kind {
        ParseErrorKind::BadStartLine => "bad_start_line",
        ParseErrorKind::BadTransactionId => "bad_transaction_id",
        ParseErrorKind::BadMethod => "bad_method",
        ParseErrorKind::BadStatusCode => "bad_status_code",
        ParseErrorKind::BadHeaderLine => "bad_header_line",
        ParseErrorKind::InvalidUtf8 => "invalid_utf8",
        ParseErrorKind::LineTooLong { .. } => "line_too_long",
        ParseErrorKind::TooManyHeaders { .. } => "too_many_headers",
        ParseErrorKind::BadByteRange => "bad_byte_range",
        ParseErrorKind::BadEndLine => "bad_end_line",
        ParseErrorKind::BodyTooLarge { .. } => "body_too_large",
        ParseErrorKind::BodyExceedsByteRange { .. } => "body_exceeds_byte_range",
        ParseErrorKind::UnexpectedEof => "unexpected_eof",
    }
}
