//! The incremental STS/1.0 parser.
//!
//! [`Parser`] is fed whatever bytes have arrived ([`Parser::push`]) and
//! hands out whole [`Message`]s ([`Parser::next_message`]); `Ok(None)` means
//! more input is needed. However the input is sliced, the same messages and
//! errors come out in the same order. Bodies are split off the internal
//! buffer as [`Bytes`](bytes::Bytes) without another copy.
//!
//! # Leniency
//!
//! * Every line, including the blank line that ends the headers, may end
//!   in a bare LF instead of CRLF (python-sts strips its lines, so it
//!   accepts a bare LF on header lines, just not on the blank line).
//! * Blank lines before a start line are skipped: a peer that appends one
//!   LF too many after a body does not kill the connection.
//! * A status line may have a reason with spaces (`STS/1.0 404 Not Found`,
//!   which python-sts rejects) or none at all (`STS/1.0 200`).
//!
//! Not accepted: obsolete line folding, header names with spaces, a
//! version other than `STS/1.0`, start lines or header sections that are
//! not UTF-8.
//!
//! # Errors
//!
//! [`ParseError::BodyTooLarge`] is recoverable: the parser reports it once,
//! then drops the announced body bytes as they arrive (without buffering
//! them) and carries on with the next message. Every other error is fatal:
//! the stream cannot be framed any more, and every later call returns the
//! same error; the endpoint should close the connection.

use bytes::{Buf, BytesMut};
use memchr::memchr;

use super::header::Headers;
use super::message::{Message, StartLine, PROTOCOL_VERSION};

/// Limits of a [`Parser`]; the defaults are the spec's per-message limits
/// ("individual messages are limited to a 32K header section and a 64K
/// body"). Larger content travels as several fragments, each a message of
/// its own within these limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParserConfig {
    /// Largest header section accepted, in bytes: start line, header lines
    /// and the blank line, line ends included. Default 32 KiB (32,768).
    pub max_header_bytes: usize,
    /// Largest `Content-Length` accepted. Default 64 KiB (65,536).
    pub max_body_bytes: usize,
}

impl Default for ParserConfig {
    fn default() -> Self {
        ParserConfig {
            max_header_bytes: 32 * 1024,
            max_body_bytes: 64 * 1024,
        }
    }
}

/// The kind of a [`ParseError`], for matching without the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The start line is neither a request nor a status line.
    BadStartLine,
    /// The start line names another protocol or version.
    BadVersion,
    /// A header line is malformed.
    BadHeaderLine,
    /// The header section exceeds [`ParserConfig::max_header_bytes`].
    HeaderTooLarge,
    /// The declared body exceeds [`ParserConfig::max_body_bytes`].
    BodyTooLarge,
    /// `Content-Length` is invalid or given twice with different values.
    BadContentLength,
    /// [`parse_message`] only: the input ends before the message does.
    Incomplete,
    /// [`parse_message`] only: bytes follow the message.
    TrailingData,
}

/// Why the input is not a valid STS/1.0 stream.
///
/// All variants but [`BodyTooLarge`](Self::BodyTooLarge) are fatal for the
/// stream (see [`is_fatal`](Self::is_fatal)). Texts quoted in the message
/// are truncated to about 80 characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The start line is neither `METHOD SP URI SP STS/1.0` nor
    /// `STS/1.0 SP CODE [SP REASON]` with a three-digit code.
    #[error("invalid start line {0:?}")]
    BadStartLine(String),
    /// The start line is for another protocol or version
    /// (`HTTP/1.1 200 OK`, `P /a/b STS/2.0`).
    #[error("unsupported protocol version in start line {0:?}")]
    BadVersion(String),
    /// A header line has no colon, an empty or spaced name, starts with
    /// whitespace (folding) or holds control characters.
    #[error("invalid header line {0:?}")]
    BadHeaderLine(String),
    /// The header section is larger than the limit.
    #[error("header section larger than {limit} bytes")]
    HeaderTooLarge {
        /// The configured limit.
        limit: usize,
    },
    /// The declared body is larger than the limit. Recoverable: the body
    /// is skipped and parsing continues with the next message.
    #[error("body of {declared} bytes larger than the limit of {limit} bytes")]
    BodyTooLarge {
        /// The `Content-Length` of the message.
        declared: u64,
        /// The configured limit.
        limit: usize,
    },
    /// `Content-Length` is not a decimal number of digits that fits in 64
    /// bits, or two occurrences disagree.
    #[error("invalid Content-Length: {0}")]
    BadContentLength(String),
    /// [`parse_message`] only: the input ends before the message does.
    #[error("incomplete message")]
    Incomplete,
    /// [`parse_message`] only: bytes follow the message.
    #[error("{extra} bytes after the message")]
    TrailingData {
        /// How many bytes follow.
        extra: usize,
    },
}

impl ParseError {
    /// The kind of error.
    pub fn kind(&self) -> ParseErrorKind {
        match self {
            ParseError::BadStartLine(_) => ParseErrorKind::BadStartLine,
            ParseError::BadVersion(_) => ParseErrorKind::BadVersion,
            ParseError::BadHeaderLine(_) => ParseErrorKind::BadHeaderLine,
            ParseError::HeaderTooLarge { .. } => ParseErrorKind::HeaderTooLarge,
            ParseError::BodyTooLarge { .. } => ParseErrorKind::BodyTooLarge,
            ParseError::BadContentLength(_) => ParseErrorKind::BadContentLength,
            ParseError::Incomplete => ParseErrorKind::Incomplete,
            ParseError::TrailingData { .. } => ParseErrorKind::TrailingData,
        }
    }

    /// Whether the stream is unusable after this error (everything but
    /// [`BodyTooLarge`](Self::BodyTooLarge)): close the connection.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ParseError::BodyTooLarge { .. })
    }
}

/// Parses exactly one complete message.
///
/// Uses the default [`ParserConfig`]. Input that ends early gives
/// [`ParseError::Incomplete`]; bytes after the body (even blank lines)
/// give [`ParseError::TrailingData`]. Blank lines before the start line are
/// skipped, as in a stream. A body over the default limit gives
/// [`ParseError::BodyTooLarge`].
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    let mut parser = Parser::new();
    parser.push(bytes);
    match parser.next_message()? {
        Some(m) if parser.buf.is_empty() => Ok(m),
        Some(_) => Err(ParseError::TrailingData {
            extra: parser.buf.len(),
        }),
        None => Err(ParseError::Incomplete),
    }
}

/// An incremental STS/1.0 stream parser (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Parser {
    config: ParserConfig,
    buf: BytesMut,
    state: State,
    /// In [`State::Head`]: how many bytes of `buf` are complete, checked
    /// lines of the header section.
    scanned: usize,
}

#[derive(Debug, Clone, Default)]
enum State {
    #[default]
    Head,
    Body {
        start: StartLine,
        headers: Headers,
        len: usize,
    },
    Skip {
        remaining: u64,
    },
    Failed(ParseError),
}

impl Parser {
    /// A parser with the default limits.
    pub fn new() -> Self {
        Parser::default()
    }

    /// A parser with the given limits.
    pub fn with_config(config: ParserConfig) -> Self {
        Parser {
            config,
            ..Parser::default()
        }
    }

    /// The parser's limits.
    pub fn config(&self) -> &ParserConfig {
        &self.config
    }

    /// Bytes received but not yet handed out.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// How many more input bytes the current body needs: `Some(n)` once a
    /// header section is complete and `n` bytes of its body (or of an
    /// over-limit body being skipped) have not arrived yet; `None` while a
    /// header section is being read and after a fatal error.
    ///
    /// For blocking readers that must not read past the message, such as
    /// python-sts's `read_message(fp)`, which reads lines up to the blank
    /// line and then exactly the body from a file object.
    pub fn body_remaining(&self) -> Option<u64> {
        match &self.state {
            State::Body { len, .. } => Some(len.saturating_sub(self.buf.len()) as u64),
            State::Skip { remaining } => Some(remaining.saturating_sub(self.buf.len() as u64)),
            State::Head | State::Failed(_) => None,
        }
    }

    /// Feeds received bytes. Bytes of a body being skipped after
    /// [`ParseError::BodyTooLarge`] are dropped at once, and after a fatal
    /// error all input is dropped.
    pub fn push(&mut self, mut data: &[u8]) {
        match &mut self.state {
            State::Failed(_) => return,
            State::Skip { remaining } if self.buf.is_empty() => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                data = data.get(n..).unwrap_or_default();
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::Head;
                }
            }
            _ => {}
        }
        self.buf.extend_from_slice(data);
    }

    /// The next complete message: `Ok(None)` when more input is needed.
    ///
    /// After a fatal error every call returns that error again.
    pub fn next_message(&mut self) -> Result<Option<Message>, ParseError> {
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                State::Skip { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(self.buf.len());
                    self.buf.advance(n);
                    *remaining -= n as u64;
                    if *remaining > 0 {
                        return Ok(None);
                    }
                    self.state = State::Head;
                }
                State::Body { len, .. } => {
                    if self.buf.len() < *len {
                        return Ok(None);
                    }
                    let len = *len;
                    let State::Body { start, headers, .. } =
                        std::mem::replace(&mut self.state, State::Head)
                    else {
                        continue;
                    };
                    let body = self.buf.split_to(len).freeze();
                    return Ok(Some(Message {
                        start,
                        headers,
                        body,
                    }));
                }
                State::Head => match self.read_head() {
                    Ok(None) => return Ok(None),
                    Ok(Some(())) => {}
                    Err(e) => {
                        if e.is_fatal() {
                            self.buf = BytesMut::new();
                            self.state = State::Failed(e.clone());
                        }
                        return Err(e);
                    }
                },
            }
        }
    }

    /// Scans the header section; on completion moves to `Body` or `Skip`.
    fn read_head(&mut self) -> Result<Option<()>, ParseError> {
        if self.scanned == 0 {
            // Blank lines between messages are skipped.
            loop {
                if self.buf.starts_with(b"\n") {
                    self.buf.advance(1);
                } else if self.buf.starts_with(b"\r\n") {
                    self.buf.advance(2);
                } else {
                    break;
                }
            }
        }
        let max = self.config.max_header_bytes;
        loop {
            let window = self.buf.get(self.scanned..max.min(self.buf.len()));
            let lf = window.and_then(|w| memchr(b'\n', w));
            let Some(lf) = lf else {
                if self.buf.len() >= max {
                    return Err(ParseError::HeaderTooLarge { limit: max });
                }
                return Ok(None);
            };
            let end = self.scanned + lf;
            let line = strip_cr(self.buf.get(self.scanned..end).unwrap_or_default());
            if self.scanned == 0 {
                parse_start_line(line)?;
            } else if line.is_empty() {
                let section = self.buf.split_to(end + 1);
                self.scanned = 0;
                return self.finish_head(&section).map(Some);
            } else {
                parse_header_line(line)?;
            }
            self.scanned = end + 1;
        }
    }

    fn finish_head(&mut self, section: &[u8]) -> Result<(), ParseError> {
        let mut lines = section.split(|&b| b == b'\n').map(strip_cr);
        let start = parse_start_line(lines.next().unwrap_or_default())?;
        let mut headers = Headers::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            let (name, value) = parse_header_line(line)?;
            headers.append(name, value);
        }
        let declared = headers
            .content_length()
            .map_err(|e| ParseError::BadContentLength(truncate(&e.to_string())))?
            .unwrap_or(0);
        match usize::try_from(declared) {
            Ok(len) if len <= self.config.max_body_bytes => {
                self.state = State::Body {
                    start,
                    headers,
                    len,
                };
                Ok(())
            }
            _ => {
                self.state = State::Skip {
                    remaining: declared,
                };
                // The buffered part of the body goes at once.
                let n = usize::try_from(declared)
                    .unwrap_or(usize::MAX)
                    .min(self.buf.len());
                self.buf.advance(n);
                if let State::Skip { remaining } = &mut self.state {
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        self.state = State::Head;
                    }
                }
                Err(ParseError::BodyTooLarge {
                    declared,
                    limit: self.config.max_body_bytes,
                })
            }
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Whether a byte is a control character not allowed in a line (all but
/// horizontal tab).
fn is_bad_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

fn parse_start_line(raw: &[u8]) -> Result<StartLine, ParseError> {
    let bad = || ParseError::BadStartLine(quote(raw));
    if raw.iter().copied().any(is_bad_control) {
        return Err(bad());
    }
    let line = std::str::from_utf8(raw).map_err(|_| bad())?;
    if let Some(rest) = line.strip_prefix("STS/1.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let code: u16 = code.parse().map_err(|_| bad())?;
        if code < 100 {
            return Err(bad());
        }
        return Ok(StartLine::Status {
            code,
            reason: reason.to_string(),
        });
    }
    let tokens: Vec<&str> = line.split(' ').collect();
    let first = tokens.first().copied().unwrap_or("");
    if first != PROTOCOL_VERSION && looks_like_version(first) {
        return Err(ParseError::BadVersion(quote(raw)));
    }
    match tokens.as_slice() {
        [method, uri, version] if !method.is_empty() && !uri.is_empty() => {
            if *version == PROTOCOL_VERSION {
                Ok(StartLine::Request {
                    method: method.to_string(),
                    uri: uri.to_string(),
                })
            } else if looks_like_version(version) {
                Err(ParseError::BadVersion(quote(raw)))
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

/// `NAME/digits.digits`, such as `HTTP/1.1` or `STS/2.0`.
fn looks_like_version(token: &str) -> bool {
    let Some((name, number)) = token.split_once('/') else {
        return false;
    };
    let Some((major, minor)) = number.split_once('.') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphabetic())
        && digits(major)
        && digits(minor)
}

fn parse_header_line(raw: &[u8]) -> Result<(&str, &str), ParseError> {
    let bad = || ParseError::BadHeaderLine(quote(raw));
    if raw.iter().copied().any(is_bad_control) {
        return Err(bad());
    }
    let line = std::str::from_utf8(raw).map_err(|_| bad())?;
    let (name, value) = line.split_once(':').ok_or_else(bad)?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return Err(bad());
    }
    Ok((name, value.trim_matches([' ', '\t'])))
}

/// The offending text for an error message, at most about 80 characters.
fn quote(raw: &[u8]) -> String {
    truncate(&String::from_utf8_lossy(raw))
}

fn truncate(text: &str) -> String {
    const MAX: usize = 80;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", text.get(..i).unwrap_or_default()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(input: &[u8]) -> Result<Message, ParseError> {
        parse_message(input)
    }

    #[test]
    fn body_remaining_counts_down() {
        let mut p = Parser::new();
        assert_eq!(p.body_remaining(), None);
        p.push(b"P /a/b STS/1.0\r\nl: 5\r\n");
        assert_eq!(p.next_message(), Ok(None));
        assert_eq!(p.body_remaining(), None);
        p.push(b"\r\nab");
        assert_eq!(p.next_message(), Ok(None));
        assert_eq!(p.body_remaining(), Some(3));
        p.push(b"cde");
        assert!(p.next_message().unwrap().is_some());
        assert_eq!(p.body_remaining(), None);
        let mut p = Parser::with_config(ParserConfig {
            max_body_bytes: 2,
            ..ParserConfig::default()
        });
        p.push(b"P /a/b STS/1.0\r\nl: 5\r\n\r\nab");
        assert!(p.next_message().is_err());
        assert_eq!(p.body_remaining(), Some(3));
    }

    #[test]
    fn request_and_status() {
        let m = one(b"P /Chat/Send STS/1.0\r\ns: 1\r\nl: 4\r\n\r\nabc\n").unwrap();
        assert_eq!(m.start.protocol_command(), Some(("Chat", "Send")));
        assert_eq!(m.headers.subject(), Some("1"));
        assert_eq!(&m.body[..], b"abc\n");
        let m = one(b"STS/1.0 404 Not Found  here\r\n\r\n").unwrap();
        assert_eq!(
            m.start,
            StartLine::Status {
                code: 404,
                reason: "Not Found  here".into()
            }
        );
        let m = one(b"STS/1.0 200\n\n").unwrap();
        assert_eq!(m.status_code(), Some(200));
    }

    #[test]
    fn error_kinds() {
        use ParseErrorKind::*;
        let cases: &[(&[u8], ParseErrorKind)] = &[
            (b"HTTP/1.1 200 OK\r\n\r\n", BadVersion),
            (b"STS/2.0 200 OK\r\n\r\n", BadVersion),
            (b"P /a/b STS/2.0\r\n\r\n", BadVersion),
            (b"P /a/b\r\n\r\n", BadStartLine),
            (b"STS/1.0 20 OK\r\n\r\n", BadStartLine),
            (b"STS/1.0 abc OK\r\n\r\n", BadStartLine),
            (b"P  /a/b STS/1.0\r\n\r\n", BadStartLine),
            (b"P /a/b STS/1.0\r\nnocolon\r\n\r\n", BadHeaderLine),
            (b"P /a/b STS/1.0\r\ns: 1\r\n folded\r\n\r\n", BadHeaderLine),
            (b"P /a/b STS/1.0\r\nbad name: 1\r\n\r\n", BadHeaderLine),
            (b"P /a/b STS/1.0\r\n: 1\r\n\r\n", BadHeaderLine),
            (b"P /a/b STS/1.0\r\nl: x\r\n\r\n", BadContentLength),
            (b"P /a/b STS/1.0\r\nl: 1\r\nl: 2\r\n\r\n", BadContentLength),
            (b"P /a/b STS/1.0\r\nl: 1", Incomplete),
            (b"P /a/b STS/1.0\r\nl: 1\r\n\r\nab", TrailingData),
        ];
        for (input, kind) in cases {
            let e = one(input).unwrap_err();
            assert_eq!(e.kind(), *kind, "{:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn fatal_error_sticks() {
        let mut p = Parser::new();
        p.push(b"HTTP/1.1 200 OK\r\n\r\nP /a/b STS/1.0\r\n\r\n");
        let e = p.next_message().unwrap_err();
        assert!(e.is_fatal());
        p.push(b"P /a/b STS/1.0\r\n\r\n");
        assert_eq!(p.next_message().unwrap_err(), e);
        assert_eq!(p.buffered(), 0);
    }

    #[test]
    fn body_too_large_is_skipped() {
        let mut p = Parser::with_config(ParserConfig {
            max_header_bytes: 1024,
            max_body_bytes: 4,
        });
        p.push(b"P /a/b STS/1.0\r\nl: 6\r\n\r\nab");
        let e = p.next_message().unwrap_err();
        assert_eq!(
            e,
            ParseError::BodyTooLarge {
                declared: 6,
                limit: 4
            }
        );
        assert!(!e.is_fatal());
        assert_eq!(p.next_message(), Ok(None));
        p.push(b"cdefP /x/y STS/1.0\r\nl: 1\r\n\r\nz");
        let m = p.next_message().unwrap().unwrap();
        assert_eq!(m.start.protocol_command(), Some(("x", "y")));
        assert_eq!(&m.body[..], b"z");
    }

    #[test]
    fn header_limit_exact() {
        // 16 + 6 + 2 = 24 bytes.
        let cfg = ParserConfig {
            max_header_bytes: 24,
            max_body_bytes: 10,
        };
        let mut p = Parser::with_config(cfg.clone());
        p.push(b"P /a/b STS/1.0\r\ns: 1\r\n\r\n");
        assert!(p.next_message().unwrap().is_some());
        let mut p = Parser::with_config(cfg);
        p.push(b"P /a/b STS/1.0\r\ns: 12\r\n\r\n");
        assert_eq!(
            p.next_message().unwrap_err().kind(),
            ParseErrorKind::HeaderTooLarge
        );
    }

    #[test]
    fn leading_blank_lines_skipped() {
        let m = one(b"\r\n\nP /a/b STS/1.0\nl: 0\n\n").unwrap();
        assert!(m.is_request());
    }

    #[test]
    fn long_text_truncated() {
        let line = vec![b'x'; 500];
        let e = one(&line).unwrap_err();
        assert_eq!(e.kind(), ParseErrorKind::Incomplete);
        let mut input = line.clone();
        input.extend_from_slice(b"\r\n\r\n");
        let e = one(&input).unwrap_err();
        assert!(e.to_string().len() < 120, "{e}");
    }
}
