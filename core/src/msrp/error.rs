//! Error types of the MSRP wire layer.
//!
//! Each failure has its own small enum variant so callers can react to it
//! (answer 400, drop a line, close the connection) without matching on text.

use std::fmt;

/// Why an MSRP URI could not be parsed.
///
/// Always a problem with the input text: retrying with the same text fails
/// again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The text does not start with `msrp://` or `msrps://`.
    #[error("invalid URI scheme {0:?} (expected msrp or msrps)")]
    BadScheme(String),
    /// The `://` separator after the scheme is missing.
    #[error("missing '://' after the URI scheme")]
    MissingSlashes,
    /// The authority has no host.
    #[error("missing host")]
    MissingHost,
    /// The host is neither a valid name, IPv4 address nor bracketed IPv6 address.
    #[error("invalid host {0:?}")]
    BadHost(String),
    /// The port is not a number from 0 to 65535.
    #[error("invalid port {0:?}")]
    BadPort(String),
    /// The userinfo part contains characters RFC 3986 does not allow.
    #[error("invalid userinfo {0:?}")]
    BadUserinfo(String),
    /// The session-id contains characters RFC 4975 does not allow, or is empty.
    #[error("invalid session-id {0:?}")]
    BadSessionId(String),
    /// The mandatory `;transport` part is missing.
    #[error("missing transport (e.g. ';tcp')")]
    MissingTransport,
    /// The transport is not a token of letters and digits.
    #[error("invalid transport {0:?}")]
    BadTransport(String),
    /// A `;name=value` parameter is not made of tokens.
    #[error("invalid URI parameter {0:?}")]
    BadParameter(String),
}

/// A chunk cannot be put on the wire as it is (see
/// [`Chunk::validate`](super::Chunk::validate)). A bug or bad input in the
/// caller: encoding it anyway would produce a chunk the peer cannot frame,
/// or let a value inject extra header lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The transaction id is not 4 to 32 RFC 4975 `ident` characters.
    #[error("invalid transaction id {0:?}")]
    BadTransactionId(String),
    /// The method is empty or not made of upper-case letters (or `_`).
    #[error("invalid method {0:?}")]
    BadMethod(String),
    /// The status code is over 999.
    #[error("invalid status code {0}")]
    BadStatusCode(u16),
    /// A header name is not a token.
    #[error("invalid header name {0:?}")]
    BadHeaderName(String),
    /// A header value or the comment contains CR or LF.
    #[error("line break in {0}")]
    LineBreak(String),
}

/// What was wrong with a header (see [`HeaderError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderErrorKind {
    /// A header that the operation needs is absent.
    Missing,
    /// A URI in a path header (To-Path, From-Path, Use-Path) is invalid.
    Uri(UriError),
    /// The path header holds no URI at all.
    EmptyPath,
    /// Byte-Range is not `start-end/total` (numbers or `*`), or its numbers
    /// are inconsistent (start 0, end before start, end past total).
    ByteRange,
    /// Status is not `000 code [comment]` with a three-digit code.
    Status,
    /// The value is not one of the allowed words (e.g. `yes`/`no`).
    Choice,
    /// The value is not a non-negative integer that fits 32 bits.
    Integer,
    /// A parameter list (Digest challenge/credentials, Authentication-Info)
    /// is malformed, or a Digest header does not start with `Digest `.
    Params,
    /// Content-Disposition has no disposition type or bad parameters.
    Disposition,
    /// A header whose value must not be empty is empty.
    Empty,
}

/// A header value could not be decoded, or a required header is missing.
///
/// Raised only when the value is read: a chunk with a bad header can still be
/// parsed, forwarded and answered. For an incoming request the usual reaction
/// is a 400 response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    /// The header's name, as the caller asked for it (e.g. `Byte-Range`).
    pub header: String,
    /// What is wrong.
    pub kind: HeaderErrorKind,
    /// The offending encoded value (empty for [`HeaderErrorKind::Missing`]).
    pub value: String,
}

impl HeaderError {
    pub(crate) fn new(header: &str, kind: HeaderErrorKind, value: &str) -> Self {
        HeaderError {
            header: header.to_string(),
            kind,
            value: value.to_string(),
        }
    }

    pub(crate) fn missing(header: &str) -> Self {
        Self::new(header, HeaderErrorKind::Missing, "")
    }
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error parsing {} header: ", self.header)?;
        match &self.kind {
            HeaderErrorKind::Missing => f.write_str("header is missing"),
            HeaderErrorKind::Uri(e) => write!(f, "{e}"),
            HeaderErrorKind::EmptyPath => f.write_str("no URI in path"),
            HeaderErrorKind::ByteRange => write!(f, "invalid byte range value {:?}", self.value),
            HeaderErrorKind::Status => write!(f, "invalid status value {:?}", self.value),
            HeaderErrorKind::Choice => write!(f, "invalid value {:?}", self.value),
            HeaderErrorKind::Integer => write!(f, "invalid integer {:?}", self.value),
            HeaderErrorKind::Params => write!(f, "invalid parameter list {:?}", self.value),
            HeaderErrorKind::Disposition => {
                write!(f, "invalid content disposition {:?}", self.value)
            }
            HeaderErrorKind::Empty => f.write_str("empty value"),
        }
    }
}

impl std::error::Error for HeaderError {}

/// What the incremental parser rejected (see [`ParseError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A line where a start line was expected is not `MSRP <tid> <method>` or
    /// `MSRP <tid> <code> [comment]`.
    BadStartLine,
    /// The transaction id is not 4 to 32 characters of the RFC 4975 `ident`
    /// grammar.
    BadTransactionId,
    /// The method is not made of upper-case letters (or `_`).
    BadMethod,
    /// The status code is not three digits.
    BadStatusCode,
    /// A header line has no `:`, or its name is not a token.
    BadHeaderLine,
    /// A line of the start line or headers is not valid UTF-8.
    InvalidUtf8,
    /// A line is longer than [`ParserConfig::max_line_len`](super::ParserConfig::max_line_len).
    LineTooLong {
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The chunk has more header lines than
    /// [`ParserConfig::max_headers`](super::ParserConfig::max_headers).
    TooManyHeaders {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The Byte-Range header is malformed.
    BadByteRange,
    /// A line starting with seven dashes ends the header block but is not this
    /// chunk's end-line (wrong transaction id, or a bad flag character).
    BadEndLine,
    /// The body is larger than
    /// [`ParserConfig::max_body_len`](super::ParserConfig::max_body_len).
    BodyTooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// The body runs past what its Byte-Range header announced without an
    /// end-line: the end-line is missing or carries another transaction id.
    BodyExceedsByteRange {
        /// The length the Byte-Range header announced, in bytes.
        declared: u64,
    },
    /// The input ended in the middle of a chunk.
    UnexpectedEof,
}

/// The parser rejected part of its input.
///
/// The parser recovers by itself: after a chunk-level error whose transaction
/// id is known it skips to that chunk's end-line; otherwise it skips to the
/// next line that starts with `MSRP `. Feeding can continue after an error.
/// When [`transaction_id`](Self::transaction_id) is set, a receiver should
/// answer the request with 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// The transaction id of the chunk, when the start line had been read.
    pub transaction_id: Option<String>,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, transaction_id: Option<&str>) -> Self {
        ParseError {
            kind,
            transaction_id: transaction_id.map(str::to_string),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ParseErrorKind::BadStartLine => f.write_str("malformed start line")?,
            ParseErrorKind::BadTransactionId => f.write_str("invalid transaction id")?,
            ParseErrorKind::BadMethod => f.write_str("invalid method")?,
            ParseErrorKind::BadStatusCode => f.write_str("invalid status code")?,
            ParseErrorKind::BadHeaderLine => f.write_str("malformed header line")?,
            ParseErrorKind::InvalidUtf8 => f.write_str("header line is not valid UTF-8")?,
            ParseErrorKind::LineTooLong { limit } => write!(f, "line longer than {limit} bytes")?,
            ParseErrorKind::TooManyHeaders { limit } => {
                write!(f, "more than {limit} header lines")?
            }
            ParseErrorKind::BadByteRange => f.write_str("invalid Byte-Range header")?,
            ParseErrorKind::BadEndLine => f.write_str("malformed end-line")?,
            ParseErrorKind::BodyTooLarge { limit } => write!(f, "body larger than {limit} bytes")?,
            ParseErrorKind::BodyExceedsByteRange { declared } => write!(
                f,
                "body runs past its Byte-Range length of {declared} bytes without an end-line"
            )?,
            ParseErrorKind::UnexpectedEof => f.write_str("input ended inside a chunk")?,
        }
        if let Some(tid) = &self.transaction_id {
            write!(f, " (transaction {tid})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}
