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
//! Values that Python code hands in and that cannot be encoded (a negative
//! `Expires`, a URI with a space in its host) are caller bugs and raise the
//! built-in `ValueError`.

use msgwire_core::msrp::{HeaderError, HeaderErrorKind, ParseError, ParseErrorKind, UriError};
use pyo3::exceptions::PyValueError;
use pyo3::PyErr;

pyo3::import_exception!(msrplib.protocol, ParsingError);
pyo3::import_exception!(msrplib.protocol, HeaderParsingError);
pyo3::import_exception!(msrplib.protocol, ChunkParsingError);

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
        }
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
