//! STS/1.0 messages: start lines, the message value and its encoding.
//!
//! A message is an HTTP-like start line, header lines and a body whose
//! length is given by `Content-Length`:
//!
//! ```text
//! P /Chat/Send STS/1.0\r\n         request:  METHOD SP URI SP STS/1.0
//! s: 1\r\n
//! l: 14\r\n
//! \r\n
//! <Msg>hi</Msg>\n
//! ```
//!
//! A reply starts with `STS/1.0 SP CODE SP REASON` instead.
//!
//! # Example
//!
//! ```
//! use msgwire::sts::message::{EncodeOptions, Message};
//!
//! let ping = Message::request("Sts", "Ping");
//! let wire = ping.encode(&EncodeOptions::default()).unwrap();
//! assert_eq!(&wire[..], b"P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n");
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::header::{names, Headers, NameStyle};

/// The protocol token of every start line.
pub const PROTOCOL_VERSION: &str = "STS/1.0";

/// The method python-sts uses for every request it sends.
pub const DEFAULT_METHOD: &str = "P";

/// The first line of a message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StartLine {
    /// `METHOD SP URI SP STS/1.0`.
    Request {
        /// The method (python-sts always sends `P`; any token is accepted).
        method: String,
        /// The request URI, normally `/Protocol/Command`.
        uri: String,
    },
    /// `STS/1.0 SP CODE SP REASON`.
    Status {
        /// The three-digit status code; 400 and above is an error reply.
        code: u16,
        /// The reason phrase; may contain spaces or be empty.
        reason: String,
    },
}

impl StartLine {
    /// The `(protocol, command)` of a request whose URI is exactly
    /// `/Protocol/Command` (two non-empty segments); `None` otherwise.
    pub fn protocol_command(&self) -> Option<(&str, &str)> {
        let StartLine::Request { uri, .. } = self else {
            return None;
        };
        let rest = uri.strip_prefix('/')?;
        let (protocol, command) = rest.split_once('/')?;
        if protocol.is_empty() || command.is_empty() || command.contains('/') {
            return None;
        }
        Some((protocol, command))
    }
}

/// One STS message: start line, headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The request or status line.
    pub start: StartLine,
    /// The header lines, in order.
    pub headers: Headers,
    /// The body (its length is written as `Content-Length` on encoding).
    pub body: Bytes,
}

impl Message {
    /// A request `P /{protocol}/{command} STS/1.0`, as python-sts sends
    /// every request, with no headers and an empty body.
    pub fn request(protocol: &str, command: &str) -> Self {
        Message::request_with_method(DEFAULT_METHOD, format!("/{protocol}/{command}"))
    }

    /// A request with any method and URI.
    pub fn request_with_method(method: impl Into<String>, uri: impl Into<String>) -> Self {
        Message {
            start: StartLine::Request {
                method: method.into(),
                uri: uri.into(),
            },
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// A reply `STS/1.0 {code} {reason}`.
    pub fn status(code: u16, reason: impl Into<String>) -> Self {
        Message {
            start: StartLine::Status {
                code,
                reason: reason.into(),
            },
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Appends a header (see [`Headers::append`]).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Whether this is a request (or notification) rather than a reply.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The status code of a reply.
    pub fn status_code(&self) -> Option<u16> {
        match self.start {
            StartLine::Status { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// Whether this is an error reply (status 400 or above), whose body is
    /// an `<Error .../>` element (see [`super::error::ErrorReply`]).
    pub fn is_error_reply(&self) -> bool {
        self.status_code().is_some_and(|c| c >= 400)
    }

    /// Encodes the message into new bytes (see [`encode_into`](Self::encode_into)).
    pub fn encode(&self, opts: &EncodeOptions) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(64 + self.body.len());
        self.encode_into(&mut out, opts)?;
        Ok(out.freeze())
    }

    /// Appends the wire form of the message to `out`.
    ///
    /// The start line, then the headers in insertion order (names written
    /// per [`EncodeOptions::names`]), then `Content-Length` computed from
    /// the final body — in place of the caller's own `Content-Length` if
    /// there is one (extra occurrences are dropped), otherwise last — then
    /// the blank line and the body. `Content-Length` is always written,
    /// also as `0`. Nothing is written when the message is invalid.
    pub fn encode_into(&self, out: &mut BytesMut, opts: &EncodeOptions) -> Result<(), EncodeError> {
        let add_lf = self.encode_head_into(out, opts)?;
        out.put_slice(&self.body);
        if add_lf {
            out.put_u8(b'\n');
        }
        Ok(())
    }

    /// The wire form as buffers to write in order, without copying a large
    /// body: the start line and headers, then the body itself (shared),
    /// then its trailing LF when one is added. A body under 4 KiB is
    /// copied into one buffer instead, which is cheaper than another
    /// buffer to gather.
    pub fn encode_parts(&self, opts: &EncodeOptions) -> Result<Vec<Bytes>, EncodeError> {
        if self.body.len() < 4096 {
            return Ok(vec![self.encode(opts)?]);
        }
        let mut head = BytesMut::with_capacity(256);
        let add_lf = self.encode_head_into(&mut head, opts)?;
        let mut parts = vec![head.freeze(), self.body.clone()];
        if add_lf {
            parts.push(Bytes::from_static(b"\n"));
        }
        Ok(parts)
    }

    /// Writes everything up to the body; returns whether the body gets a
    /// trailing LF.
    fn encode_head_into(
        &self,
        out: &mut BytesMut,
        opts: &EncodeOptions,
    ) -> Result<bool, EncodeError> {
        self.validate()?;
        let add_lf = opts.xml_trailing_lf && self.headers.is_xml() && !self.body.ends_with(b"\n");
        let body_len = self.body.len() + usize::from(add_lf);
        let len_text = body_len.to_string();

        match &self.start {
            StartLine::Request { method, uri } => {
                put(out, method);
                put(out, " ");
                put(out, uri);
                put(out, " ");
                put(out, PROTOCOL_VERSION);
            }
            StartLine::Status { code, reason } => {
                put(out, PROTOCOL_VERSION);
                put(out, " ");
                put(out, &code.to_string());
                put(out, " ");
                put(out, reason);
            }
        }
        put(out, "\r\n");

        // Without `content_length` the caller's headers are written as
        // they are, and none is added.
        let mut length_written = !opts.content_length;
        for (name, value) in self.headers.iter() {
            let value =
                if opts.content_length && super::header::same_name(name, names::CONTENT_LENGTH) {
                    if length_written {
                        continue;
                    }
                    length_written = true;
                    len_text.as_str()
                } else {
                    value
                };
            put(out, opts.names.wire_name(name));
            put(out, ": ");
            put(out, value);
            put(out, "\r\n");
        }
        if !length_written {
            // AsGiven has no caller spelling here: use python-sts's own `l`.
            let name = match opts.names {
                NameStyle::Full => names::CONTENT_LENGTH,
                NameStyle::Compact | NameStyle::AsGiven => "l",
            };
            put(out, name);
            put(out, ": ");
            put(out, &len_text);
            put(out, "\r\n");
        }
        put(out, "\r\n");
        Ok(add_lf)
    }

    /// Checks that the message can be put on the wire unambiguously (see
    /// [`EncodeError`]).
    pub fn validate(&self) -> Result<(), EncodeError> {
        match &self.start {
            StartLine::Request { method, uri } => {
                check_token("method", method)?;
                check_token("URI", uri)?;
            }
            StartLine::Status { code, reason } => {
                if !(100..=999).contains(code) {
                    return Err(EncodeError::BadStatusCode(*code));
                }
                check_text("reason", reason)?;
            }
        }
        for (name, value) in self.headers.iter() {
            if name.is_empty()
                || name
                    .chars()
                    .any(|c| c == ':' || c.is_whitespace() || c.is_control())
            {
                return Err(EncodeError::BadHeaderName(name.to_string()));
            }
            check_text(name, value)?;
        }
        Ok(())
    }
}

/// How [`Message::encode`] writes a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeOptions {
    /// How header names are spelt; default [`NameStyle::Compact`] (see
    /// there for why).
    pub names: NameStyle,
    /// Append `\n` to an XML body that does not already end with one
    /// (default `true`).
    ///
    /// The spec requires XML bodies to end with LF, and the content type
    /// defaults to `application/xml`, so a message without `Content-Type`
    /// counts as XML: an empty body becomes `\n`, which makes the ping
    /// byte-exact with python-sts (`P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n`).
    /// Unlike python-sts, a body that already ends with LF is left alone
    /// instead of getting a second one.
    pub xml_trailing_lf: bool,
    /// Write `Content-Length` computed from the body (default `true`).
    ///
    /// With `false`, nothing is added or replaced: the headers go out
    /// exactly as the message holds them, a caller's own `Content-Length`
    /// included. That is python-sts's `build_message`, which leaves the
    /// length to its socket layer; a message written this way is only
    /// framed correctly if the caller supplies the header.
    pub content_length: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            names: NameStyle::Compact,
            xml_trailing_lf: true,
            content_length: true,
        }
    }
}

/// A message cannot be encoded: written out, it would be misframed by the
/// peer or let a value inject extra lines. Always a bug or unchecked input
/// in the caller; the message must be fixed, not re-sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The method or URI is empty.
    #[error("empty {0}")]
    Empty(&'static str),
    /// The method or URI contains a space.
    #[error("space in {what}: {value:?}")]
    Space {
        /// `"method"` or `"URI"`.
        what: &'static str,
        /// The offending text.
        value: String,
    },
    /// CR, LF or NUL in the method, URI, reason or a header value.
    #[error("CR, LF or NUL in {what}: {value:?}")]
    LineBreak {
        /// What holds the character (`method`, `URI`, `reason` or the
        /// header's name).
        what: String,
        /// The offending text.
        value: String,
    },
    /// The status code is not within 100..=999 (three digits).
    #[error("status code {0} is not three digits")]
    BadStatusCode(u16),
    /// A header name is empty or contains `:`, whitespace or a control
    /// character.
    #[error("invalid header name {0:?}")]
    BadHeaderName(String),
}

fn put(out: &mut BytesMut, s: &str) {
    out.put_slice(s.as_bytes());
}

fn check_token(what: &'static str, value: &str) -> Result<(), EncodeError> {
    if value.is_empty() {
        return Err(EncodeError::Empty(what));
    }
    check_text(what, value)?;
    if value.contains(' ') {
        return Err(EncodeError::Space {
            what,
            value: value.to_string(),
        });
    }
    Ok(())
}

fn check_text(what: &str, value: &str) -> Result<(), EncodeError> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(EncodeError::LineBreak {
            what: what.to_string(),
            value: value.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(m: &Message) -> Vec<u8> {
        m.encode(&EncodeOptions::default()).unwrap().to_vec()
    }

    #[test]
    fn ping_is_byte_exact() {
        assert_eq!(
            enc(&Message::request("Sts", "Ping")),
            b"P /Sts/Ping STS/1.0\r\nl: 1\r\n\r\n\n"
        );
    }

    #[test]
    fn request_with_subject() {
        let m = Message::request("Chat", "Send")
            .with_header("Subject", "1")
            .with_body(&b"<Msg>hi</Msg>"[..]);
        assert_eq!(
            enc(&m),
            b"P /Chat/Send STS/1.0\r\ns: 1\r\nl: 14\r\n\r\n<Msg>hi</Msg>\n"
        );
    }

    #[test]
    fn reason_with_spaces_and_full_names() {
        let m = Message::status(404, "Not Found").with_header("s", "2R");
        let opts = EncodeOptions {
            names: NameStyle::Full,
            xml_trailing_lf: true,
            ..EncodeOptions::default()
        };
        assert_eq!(
            &m.encode(&opts).unwrap()[..],
            b"STS/1.0 404 Not Found\r\nSubject: 2R\r\nContent-Length: 1\r\n\r\n\n"
        );
    }

    #[test]
    fn user_content_length_replaced_in_place() {
        let m = Message::status(200, "OK")
            .with_header("Content-Length", "99")
            .with_header("s", "1R")
            .with_header("l", "5")
            .with_header("c", "text/plain")
            .with_body(&b"abc"[..]);
        let opts = EncodeOptions {
            names: NameStyle::AsGiven,
            xml_trailing_lf: true,
            ..EncodeOptions::default()
        };
        assert_eq!(
            &m.encode(&opts).unwrap()[..],
            b"STS/1.0 200 OK\r\nContent-Length: 3\r\ns: 1R\r\nc: text/plain\r\n\r\nabc"
        );
    }

    #[test]
    fn non_xml_empty_body_has_zero_length() {
        let m = Message::status(200, "OK").with_header("c", "text/plain");
        assert_eq!(enc(&m), b"STS/1.0 200 OK\r\nc: text/plain\r\nl: 0\r\n\r\n");
    }

    #[test]
    fn existing_lf_not_doubled() {
        let m = Message::request("A", "B").with_body(&b"<x/>\n"[..]);
        assert_eq!(enc(&m), b"P /A/B STS/1.0\r\nl: 5\r\n\r\n<x/>\n");
        let opts = EncodeOptions {
            names: NameStyle::Compact,
            xml_trailing_lf: false,
            ..EncodeOptions::default()
        };
        let m = Message::request("A", "B");
        assert_eq!(
            &m.encode(&opts).unwrap()[..],
            b"P /A/B STS/1.0\r\nl: 0\r\n\r\n"
        );
    }

    #[test]
    fn without_content_length_headers_go_out_as_given() {
        let opts = EncodeOptions {
            names: NameStyle::AsGiven,
            xml_trailing_lf: false,
            content_length: false,
        };
        let m = Message::status(200, "OK")
            .with_header("s", "1R")
            .with_body(&b"body"[..]);
        assert_eq!(
            &m.encode(&opts).unwrap()[..],
            b"STS/1.0 200 OK\r\ns: 1R\r\n\r\nbody"
        );
        // A caller's own length is kept as given, not recomputed.
        let m = Message::request("A", "B")
            .with_header("l", "99")
            .with_body(&b"x"[..]);
        assert_eq!(
            &m.encode(&opts).unwrap()[..],
            b"P /A/B STS/1.0\r\nl: 99\r\n\r\nx"
        );
    }

    #[test]
    fn protocol_command() {
        let m = Message::request("Sts", "Connect");
        assert_eq!(m.start.protocol_command(), Some(("Sts", "Connect")));
        for uri in ["/a", "/a/", "//b", "a/b", "/a/b/c", "/"] {
            let m = Message::request_with_method("P", uri);
            assert_eq!(m.start.protocol_command(), None, "{uri}");
        }
        assert_eq!(Message::status(200, "OK").start.protocol_command(), None);
    }

    #[test]
    fn accessors() {
        assert!(Message::request("a", "b").is_request());
        let e = Message::status(400, "Error");
        assert_eq!(e.status_code(), Some(400));
        assert!(e.is_error_reply());
        assert!(!Message::status(399, "x").is_error_reply());
    }

    #[test]
    fn invalid_messages_rejected() {
        let o = EncodeOptions::default();
        let bad = [
            Message::request_with_method("", "/a/b"),
            Message::request_with_method("P", ""),
            Message::request_with_method("P Q", "/a/b"),
            Message::request_with_method("P", "/a b/c"),
            Message::request_with_method("P", "/a\r\n/b"),
            Message::status(99, "x"),
            Message::status(1000, "x"),
            Message::status(200, "O\nK"),
            Message::status(200, "OK").with_header("a:b", "1"),
            Message::status(200, "OK").with_header("a b", "1"),
            Message::status(200, "OK").with_header("", "1"),
            Message::status(200, "OK").with_header("s", "1\r\nx: y"),
            Message::status(200, "OK").with_header("s", "1\0"),
        ];
        for m in bad {
            assert!(m.encode(&o).is_err(), "{m:?}");
            let mut out = BytesMut::new();
            assert!(m.encode_into(&mut out, &o).is_err());
            assert!(out.is_empty());
        }
    }
}
