//! MSRP chunks: one request or response with its headers and body.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::{EncodeError, HeaderError};
use super::header::{self, names, TypedHeader};
use super::header::{ByteRange, FailureReport, FromPath, Status, SuccessReport, ToPath};
use super::uri::Uri;

/// The continuation flag that ends a chunk's end-line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flag {
    /// `$`: this chunk ends the message.
    #[default]
    End,
    /// `+`: more chunks of the message follow.
    Continue,
    /// `#`: the sender abandons the message; no more chunks follow.
    Abort,
}

impl Flag {
    /// The flag character.
    pub fn as_byte(self) -> u8 {
        match self {
            Flag::End => b'$',
            Flag::Continue => b'+',
            Flag::Abort => b'#',
        }
    }

    /// The flag for a character, if it is one of `$`, `+`, `#`.
    pub fn from_byte(b: u8) -> Option<Flag> {
        match b {
            b'$' => Some(Flag::End),
            b'+' => Some(Flag::Continue),
            b'#' => Some(Flag::Abort),
            _ => None,
        }
    }
}

/// Request or response, as told by the start line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkKind {
    /// `MSRP <tid> <METHOD>`
    Request {
        /// The method, e.g. `SEND`, `REPORT`, `AUTH`, `NICKNAME`.
        method: String,
    },
    /// `MSRP <tid> <code> [comment]`
    Response {
        /// Three-digit status code.
        code: u16,
        /// Reason phrase, if any.
        comment: Option<String>,
    },
}

/// One header as text: its name as written and its encoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name as written (lookups ignore case).
    pub name: String,
    /// The encoded value, without the `: ` separator.
    pub value: String,
}

/// The headers of a chunk, in the order they were added or received.
///
/// Names compare case-insensitively. Values stay text until read through
/// [`get_typed`](Self::get_typed), so a bad value is an error only for the
/// caller that reads it. Encoding sorts them into the RFC 4975 order (see
/// [`Chunk::encode_start`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Headers::default()
    }

    /// The value of the first header called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Whether a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value`: replaces the first header of that name in
    /// place, or appends a new one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .list
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case(name))
        {
            Some(h) => h.value = value,
            None => self.list.push(Header {
                name: name.to_string(),
                value,
            }),
        }
    }

    /// Appends a header even if one of that name exists.
    pub fn append(&mut self, name: &str, value: impl Into<String>) {
        self.list.push(Header {
            name: name.to_string(),
            value: value.into(),
        });
    }

    /// Removes every header called `name`; returns the first value removed.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        let mut first = None;
        self.list.retain_mut(|h| {
            if h.name.eq_ignore_ascii_case(name) {
                if first.is_none() {
                    first = Some(std::mem::take(&mut h.value));
                }
                false
            } else {
                true
            }
        });
        first
    }

    /// Decodes the header of type `T`; `Ok(None)` when it is absent.
    pub fn get_typed<T: TypedHeader>(&self) -> Result<Option<T>, HeaderError> {
        self.get(T::NAME).map(T::decode_header).transpose()
    }

    /// Encodes `value` and [`set`](Self::set)s it under its header name.
    pub fn set_typed<T: TypedHeader>(&mut self, value: &T) {
        self.set(T::NAME, value.encoded());
    }

    /// The headers in insertion order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.list.iter()
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The headers in RFC 4975 wire order: To-Path, From-Path, the others in
    /// insertion order, the `Content-*` headers, Content-Type last.
    pub fn in_wire_order(&self) -> Vec<&Header> {
        let mut v: Vec<&Header> = self.list.iter().collect();
        v.sort_by_key(|h| wire_rank(&h.name));
        v
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl FromIterator<(String, String)> for Headers {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Headers {
            list: iter
                .into_iter()
                .map(|(name, value)| Header { name, value })
                .collect(),
        }
    }
}

/// Sort rank of a header name on the wire (stable sort keeps insertion order
/// inside a rank). This is also the order the legacy library writes.
fn wire_rank(name: &str) -> u8 {
    if name.eq_ignore_ascii_case(names::TO_PATH) {
        0
    } else if name.eq_ignore_ascii_case(names::FROM_PATH) {
        1
    } else if name.eq_ignore_ascii_case(names::CONTENT_TYPE) {
        4
    } else if name.len() >= 8 && name[..8].eq_ignore_ascii_case("Content-") {
        3
    } else {
        2
    }
}

/// One MSRP chunk (the legacy library's `MSRPData`).
///
/// ```
/// use msgwire::msrp::{Chunk, Flag};
/// use msgwire::msrp::header::{ByteRange, MessageId};
/// let mut c = Chunk::request("a786hjs2", "SEND");
/// c.headers.set("To-Path", "msrp://b.example:1/s;tcp");
/// c.headers.set("From-Path", "msrp://a.example:2/t;tcp");
/// c.headers.set_typed(&MessageId("87652491".into()));
/// c.headers.set_typed(&ByteRange { start: 1, end: Some(2), total: Some(2) });
/// c.headers.set("Content-Type", "text/plain");
/// c.data = "hi".into();
/// assert_eq!(c.encode(), &b"MSRP a786hjs2 SEND\r\nTo-Path: msrp://b.example:1/s;tcp\r\n\
/// From-Path: msrp://a.example:2/t;tcp\r\nMessage-ID: 87652491\r\nByte-Range: 1-2/2\r\n\
/// Content-Type: text/plain\r\n\r\nhi\r\n-------a786hjs2$\r\n"[..]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The transaction id of the start line.
    pub transaction_id: String,
    /// Request (method) or response (code and comment).
    pub kind: ChunkKind,
    /// The headers.
    pub headers: Headers,
    /// The body (empty when the chunk has none).
    pub data: Bytes,
    /// The continuation flag of the end-line.
    pub flag: Flag,
}

impl Chunk {
    /// A request with no headers and no body, flag `$`.
    pub fn request(transaction_id: impl Into<String>, method: impl Into<String>) -> Self {
        Chunk {
            transaction_id: transaction_id.into(),
            kind: ChunkKind::Request {
                method: method.into(),
            },
            headers: Headers::new(),
            data: Bytes::new(),
            flag: Flag::End,
        }
    }

    /// A response with no headers, flag `$`.
    pub fn response(transaction_id: impl Into<String>, code: u16, comment: Option<&str>) -> Self {
        Chunk {
            transaction_id: transaction_id.into(),
            kind: ChunkKind::Response {
                code,
                comment: comment.map(str::to_string),
            },
            headers: Headers::new(),
            data: Bytes::new(),
            flag: Flag::End,
        }
    }

    /// The method of a request.
    pub fn method(&self) -> Option<&str> {
        match &self.kind {
            ChunkKind::Request { method } => Some(method),
            ChunkKind::Response { .. } => None,
        }
    }

    /// The status code of a response.
    pub fn code(&self) -> Option<u16> {
        match &self.kind {
            ChunkKind::Response { code, .. } => Some(*code),
            ChunkKind::Request { .. } => None,
        }
    }

    /// The comment of a response.
    pub fn comment(&self) -> Option<&str> {
        match &self.kind {
            ChunkKind::Response { comment, .. } => comment.as_deref(),
            ChunkKind::Request { .. } => None,
        }
    }

    /// The start line without its CRLF, e.g. `MSRP a786hjs2 SEND`.
    pub fn first_line(&self) -> String {
        let mut s = String::with_capacity(48);
        self.write_first_line(&mut s);
        s
    }

    /// The Content-Type header's value.
    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(names::CONTENT_TYPE)
    }

    /// The Message-ID header's value.
    pub fn message_id(&self) -> Option<&str> {
        self.headers.get(names::MESSAGE_ID)
    }

    /// The decoded Byte-Range header.
    pub fn byte_range(&self) -> Result<Option<ByteRange>, HeaderError> {
        self.headers.get_typed()
    }

    /// The decoded Status header.
    pub fn status(&self) -> Result<Option<Status>, HeaderError> {
        self.headers.get_typed()
    }

    /// Failure-Report, `yes` when absent (RFC 4975 §7.1.2).
    pub fn failure_report(&self) -> Result<FailureReport, HeaderError> {
        Ok(self.headers.get_typed()?.unwrap_or_default())
    }

    /// Success-Report, `no` when absent (RFC 4975 §7.1.2).
    pub fn success_report(&self) -> Result<SuccessReport, HeaderError> {
        Ok(self.headers.get_typed()?.unwrap_or_default())
    }

    /// The decoded To-Path.
    pub fn to_path(&self) -> Result<Option<Vec<Uri>>, HeaderError> {
        Ok(self.headers.get_typed::<ToPath>()?.map(|p| p.0))
    }

    /// The decoded From-Path.
    pub fn from_path(&self) -> Result<Option<Vec<Uri>>, HeaderError> {
        Ok(self.headers.get_typed::<FromPath>()?.map(|p| p.0))
    }

    /// The body size in bytes.
    pub fn size(&self) -> usize {
        self.data.len()
    }

    /// Checks that To-Path and From-Path are present and that every header
    /// with a known type decodes.
    pub fn verify_headers(&self) -> Result<(), HeaderError> {
        for name in [names::TO_PATH, names::FROM_PATH] {
            if !self.headers.contains(name) {
                return Err(HeaderError::missing(name));
            }
        }
        for h in &self.headers {
            check_known_header(&h.name, &h.value)?;
        }
        Ok(())
    }

    /// Checks that the chunk can be framed: a valid transaction id, a method
    /// of upper-case letters (or `_`) or a code up to 999, token header
    /// names, and no CR or LF in header values or the comment. Encoding does
    /// not check; callers that take these from untrusted input (user
    /// nicknames, file names) call this first.
    pub fn validate(&self) -> Result<(), EncodeError> {
        check_transaction_id(&self.transaction_id)?;
        match &self.kind {
            ChunkKind::Request { method } => check_method(method)?,
            ChunkKind::Response { code, comment } => {
                check_status_code(*code)?;
                if let Some(c) = comment {
                    check_text("the comment", c)?;
                }
            }
        }
        for h in &self.headers {
            check_header(&h.name, &h.value)?;
        }
        Ok(())
    }

    /// Whether the encoded chunk has a body part (a blank line after the
    /// headers): when it carries data or a Content-Type.
    pub fn has_body(&self) -> bool {
        !self.data.is_empty() || self.headers.contains(names::CONTENT_TYPE)
    }

    /// Appends the start line and headers, and the blank line that opens the
    /// body when [`has_body`](Self::has_body). The CRLF that ends the last
    /// header belongs to [`encode_end_into`](Self::encode_end_into) when
    /// there is no body, as RFC 4975 frames it.
    pub fn encode_start_into(&self, out: &mut BytesMut) {
        let mut s = String::with_capacity(256);
        self.write_first_line(&mut s);
        for h in self.headers.in_wire_order() {
            s.push_str("\r\n");
            s.push_str(&h.name);
            s.push_str(": ");
            s.push_str(&h.value);
        }
        if self.has_body() {
            s.push_str("\r\n\r\n");
        }
        out.put_slice(s.as_bytes());
    }

    /// Appends the end-line, `CRLF -------<tid><flag> CRLF`.
    pub fn encode_end_into(&self, flag: Flag, out: &mut BytesMut) {
        out.reserve(self.transaction_id.len() + 12);
        out.put_slice(b"\r\n-------");
        out.put_slice(self.transaction_id.as_bytes());
        out.put_u8(flag.as_byte());
        out.put_slice(b"\r\n");
    }

    /// The start line and headers (see [`encode_start_into`](Self::encode_start_into)).
    pub fn encode_start(&self) -> Bytes {
        let mut b = BytesMut::new();
        self.encode_start_into(&mut b);
        b.freeze()
    }

    /// The end-line with `flag`.
    pub fn encode_end(&self, flag: Flag) -> Bytes {
        let mut b = BytesMut::new();
        self.encode_end_into(flag, &mut b);
        b.freeze()
    }

    /// Appends the whole chunk: start, body, end-line with [`flag`](Self::flag).
    pub fn encode_into(&self, out: &mut BytesMut) {
        self.encode_start_into(out);
        out.put_slice(&self.data);
        self.encode_end_into(self.flag, out);
    }

    /// The whole chunk as bytes.
    pub fn encode(&self) -> Bytes {
        let mut b = BytesMut::with_capacity(256 + self.data.len());
        self.encode_into(&mut b);
        b.freeze()
    }

    fn write_first_line(&self, s: &mut String) {
        s.push_str("MSRP ");
        s.push_str(&self.transaction_id);
        s.push(' ');
        match &self.kind {
            ChunkKind::Request { method } => s.push_str(method),
            ChunkKind::Response { code, comment } => {
                header::push_code(*code, s);
                if let Some(c) = comment {
                    s.push(' ');
                    s.push_str(c);
                }
            }
        }
    }
}

/// RFC 4975 transaction id: 4 to 32 letters, digits or `.-+%=`, starting
/// with a letter or digit.
pub fn check_transaction_id(tid: &str) -> Result<(), EncodeError> {
    if super::parser::is_transaction_id(tid.as_bytes()) {
        Ok(())
    } else {
        Err(EncodeError::BadTransactionId(tid.to_string()))
    }
}

/// A method the parser accepts: upper-case letters (and `_`).
pub fn check_method(method: &str) -> Result<(), EncodeError> {
    if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        Ok(())
    } else {
        Err(EncodeError::BadMethod(method.to_string()))
    }
}

/// A status code that fits three digits.
pub fn check_status_code(code: u16) -> Result<(), EncodeError> {
    if code <= 999 {
        Ok(())
    } else {
        Err(EncodeError::BadStatusCode(code))
    }
}

/// Text that must stay on one line (`what` names it in the error).
pub fn check_text(what: &str, text: &str) -> Result<(), EncodeError> {
    if text.contains(['\r', '\n']) {
        Err(EncodeError::LineBreak(what.to_string()))
    } else {
        Ok(())
    }
}

/// A header that can be written: a token name and a one-line value.
pub fn check_header(name: &str, value: &str) -> Result<(), EncodeError> {
    if !super::uri::is_token(name) {
        return Err(EncodeError::BadHeaderName(name.to_string()));
    }
    check_text(&format!("header {name}"), value)
}

/// Decodes `value` if `name` is a header with a known type.
pub(crate) fn check_known_header(name: &str, value: &str) -> Result<(), HeaderError> {
    use header::*;
    fn check<T: TypedHeader>(value: &str) -> Result<(), HeaderError> {
        T::decode_header(value).map(drop)
    }
    type Check = fn(&str) -> Result<(), HeaderError>;
    let checks: [(&str, Check); 19] = [
        (names::TO_PATH, check::<ToPath>),
        (names::FROM_PATH, check::<FromPath>),
        (names::MESSAGE_ID, check::<MessageId>),
        (names::SUCCESS_REPORT, check::<SuccessReport>),
        (names::FAILURE_REPORT, check::<FailureReport>),
        (names::BYTE_RANGE, check::<ByteRange>),
        (names::STATUS, check::<Status>),
        (names::EXPIRES, check::<Expires>),
        (names::MIN_EXPIRES, check::<MinExpires>),
        (names::MAX_EXPIRES, check::<MaxExpires>),
        (names::USE_PATH, check::<UsePath>),
        (names::WWW_AUTHENTICATE, check::<WwwAuthenticate>),
        (names::AUTHORIZATION, check::<Authorization>),
        (names::AUTHENTICATION_INFO, check::<AuthenticationInfo>),
        (names::CONTENT_TYPE, check::<ContentType>),
        (names::CONTENT_ID, check::<ContentId>),
        (names::CONTENT_DESCRIPTION, check::<ContentDescription>),
        (names::CONTENT_DISPOSITION, check::<ContentDisposition>),
        (names::USE_NICKNAME, check::<UseNickname>),
    ];
    match checks.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        Some((_, f)) => f(value),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::HeaderErrorKind;

    #[test]
    fn wire_order_matches_legacy() {
        let mut c = Chunk::request("tid00001", "SEND");
        c.headers.set("Content-Type", "text/plain");
        c.headers.set("Content-Disposition", "inline");
        c.headers.set("X-Custom", "1");
        c.headers.set("From-Path", "msrp://a:1/b;tcp");
        c.headers.set("Message-ID", "m");
        c.headers.set("To-Path", "msrp://c:1/d;tcp");
        c.headers.set("Content-Description", "d");
        let names: Vec<_> = c
            .headers
            .in_wire_order()
            .iter()
            .map(|h| h.name.clone())
            .collect();
        assert_eq!(
            names,
            [
                "To-Path",
                "From-Path",
                "X-Custom",
                "Message-ID",
                "Content-Disposition",
                "Content-Description",
                "Content-Type"
            ]
        );
    }

    #[test]
    fn no_body_has_no_blank_line() {
        let mut c = Chunk::response("tid00001", 200, Some("OK"));
        c.headers.set("To-Path", "msrp://c:1/d;tcp");
        c.headers.set("From-Path", "msrp://a:1/b;tcp");
        assert_eq!(
            &c.encode()[..],
            b"MSRP tid00001 200 OK\r\nTo-Path: msrp://c:1/d;tcp\r\nFrom-Path: msrp://a:1/b;tcp\r\n-------tid00001$\r\n"
        );
        assert_eq!(&c.encode_end(Flag::Abort)[..], b"\r\n-------tid00001#\r\n");
        assert_eq!(
            Chunk::response("abcd", 7, None).first_line(),
            "MSRP abcd 007"
        );
    }

    #[test]
    fn validate_rejects_unframeable_chunks() {
        let mut c = Chunk::request("tid00001", "SEND");
        c.headers.set("To-Path", "msrp://c:1/d;tcp");
        assert_eq!(c.validate(), Ok(()));
        c.headers.set("Use-Nickname", "bob\r\nX-Injected: 1");
        assert_eq!(
            c.validate(),
            Err(EncodeError::LineBreak("header Use-Nickname".into()))
        );
        c.headers.remove("Use-Nickname");
        c.headers.set("Bad Name", "x");
        assert!(matches!(c.validate(), Err(EncodeError::BadHeaderName(_))));
        assert!(matches!(
            Chunk::request("ab", "SEND").validate(),
            Err(EncodeError::BadTransactionId(_))
        ));
        assert!(matches!(
            Chunk::request("abcd", "send").validate(),
            Err(EncodeError::BadMethod(_))
        ));
        assert_eq!(
            Chunk::response("abcd", 1000, None).validate(),
            Err(EncodeError::BadStatusCode(1000))
        );
        assert!(matches!(
            Chunk::response("abcd", 200, Some("a\nb")).validate(),
            Err(EncodeError::LineBreak(_))
        ));
    }

    #[test]
    fn accessors_and_defaults() {
        let mut c = Chunk::request("tid00001", "SEND");
        assert_eq!(c.failure_report().unwrap(), FailureReport::Yes);
        assert_eq!(c.success_report().unwrap(), SuccessReport::No);
        assert_eq!(c.byte_range().unwrap(), None);
        assert_eq!(c.to_path().unwrap(), None);
        assert_eq!(
            c.verify_headers().unwrap_err().kind,
            HeaderErrorKind::Missing
        );
        c.headers.set("To-Path", "msrp://c:1/d;tcp");
        c.headers.set("From-Path", "msrp://a:1/b;tcp");
        assert!(c.verify_headers().is_ok());
        c.headers.set("success-report", "maybe");
        let e = c.verify_headers().unwrap_err();
        assert_eq!(e.header, "Success-Report");
        assert_eq!(e.kind, HeaderErrorKind::Choice);
        assert!(c.success_report().is_err());
        c.headers.set("Failure-Report", "partial");
        assert_eq!(c.failure_report().unwrap(), FailureReport::Partial);
        assert_eq!(c.headers.remove("SUCCESS-REPORT").as_deref(), Some("maybe"));
        assert!(c.verify_headers().is_ok());
    }
}
