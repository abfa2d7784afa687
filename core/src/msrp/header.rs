//! Typed MSRP header values.
//!
//! A chunk stores every header as text ([`super::Header`]); the types here
//! decode that text on demand and encode values back. Each type implements
//! [`TypedHeader`], which ties it to its header name, so
//! `chunk.headers.get_typed::<ByteRange>()` reads and
//! `chunk.headers.set_typed(&ByteRange { .. })` writes.
//!
//! Decoding is strict about the RFC 4975 / RFC 4976 grammar; the error says
//! which header and which value failed.

use super::error::{HeaderError, HeaderErrorKind};
use super::uri::{itoa_u64, Uri};

/// Header names used by MSRP, spelled as RFC 4975 and RFC 4976 print them.
pub mod names {
    /// `To-Path`
    pub const TO_PATH: &str = "To-Path";
    /// `From-Path`
    pub const FROM_PATH: &str = "From-Path";
    /// `Message-ID`
    pub const MESSAGE_ID: &str = "Message-ID";
    /// `Success-Report`
    pub const SUCCESS_REPORT: &str = "Success-Report";
    /// `Failure-Report`
    pub const FAILURE_REPORT: &str = "Failure-Report";
    /// `Byte-Range`
    pub const BYTE_RANGE: &str = "Byte-Range";
    /// `Status`
    pub const STATUS: &str = "Status";
    /// `Expires` (RFC 4976)
    pub const EXPIRES: &str = "Expires";
    /// `Min-Expires` (RFC 4976)
    pub const MIN_EXPIRES: &str = "Min-Expires";
    /// `Max-Expires` (RFC 4976)
    pub const MAX_EXPIRES: &str = "Max-Expires";
    /// `Use-Path` (RFC 4976)
    pub const USE_PATH: &str = "Use-Path";
    /// `WWW-Authenticate` (RFC 4976)
    pub const WWW_AUTHENTICATE: &str = "WWW-Authenticate";
    /// `Authorization` (RFC 4976)
    pub const AUTHORIZATION: &str = "Authorization";
    /// `Authentication-Info` (RFC 4976)
    pub const AUTHENTICATION_INFO: &str = "Authentication-Info";
    /// `Content-Type`
    pub const CONTENT_TYPE: &str = "Content-Type";
    /// `Content-ID`
    pub const CONTENT_ID: &str = "Content-ID";
    /// `Content-Description`
    pub const CONTENT_DESCRIPTION: &str = "Content-Description";
    /// `Content-Disposition`
    pub const CONTENT_DISPOSITION: &str = "Content-Disposition";
    /// `Use-Nickname` (RFC 7701)
    pub const USE_NICKNAME: &str = "Use-Nickname";
}

/// A header value type bound to one header name.
pub trait TypedHeader: Sized {
    /// The header's name.
    const NAME: &'static str;
    /// Decodes the encoded header text.
    fn decode(value: &str) -> Result<Self, HeaderErrorKind>;
    /// Appends the encoded header text to `out`.
    fn encode(&self, out: &mut String);

    /// Decodes, wrapping a failure in a [`HeaderError`] that names the header.
    fn decode_header(value: &str) -> Result<Self, HeaderError> {
        Self::decode(value).map_err(|kind| HeaderError::new(Self::NAME, kind, value))
    }

    /// The encoded header text as a new string.
    fn encoded(&self) -> String {
        let mut s = String::new();
        self.encode(&mut s);
        s
    }
}

macro_rules! path_header {
    ($(#[$doc:meta])* $ty:ident, $name:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub Vec<Uri>);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
                decode_path(value).map($ty)
            }
            fn encode(&self, out: &mut String) {
                encode_path(&self.0, out)
            }
        }
    };
}

path_header!(
    /// `To-Path`: the URIs the request travels to, next hop first.
    ToPath,
    names::TO_PATH
);
path_header!(
    /// `From-Path`: the URIs the request came through, sender last.
    FromPath,
    names::FROM_PATH
);
path_header!(
    /// `Use-Path` (RFC 4976): the relay path a relay hands to a client.
    UsePath,
    names::USE_PATH
);

macro_rules! text_header {
    ($(#[$doc:meta])* $ty:ident, $name:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $ty(pub String);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
                if value.is_empty() {
                    Err(HeaderErrorKind::Empty)
                } else {
                    Ok($ty(value.to_string()))
                }
            }
            fn encode(&self, out: &mut String) {
                out.push_str(&self.0)
            }
        }
    };
}

text_header!(
    /// `Message-ID`: identifies the message a chunk belongs to.
    MessageId,
    names::MESSAGE_ID
);
text_header!(
    /// `Content-Type`: the MIME type of the body (e.g. `text/plain`).
    ContentType,
    names::CONTENT_TYPE
);
text_header!(
    /// `Content-ID`.
    ContentId,
    names::CONTENT_ID
);
text_header!(
    /// `Content-Description`.
    ContentDescription,
    names::CONTENT_DESCRIPTION
);
text_header!(
    /// `Use-Nickname` (RFC 7701): the nickname a NICKNAME request asks for.
    UseNickname,
    names::USE_NICKNAME
);

macro_rules! int_header {
    ($(#[$doc:meta])* $ty:ident, $name:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $ty(pub u32);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
                parse_u64(value)
                    .and_then(|n| u32::try_from(n).ok())
                    .map($ty)
                    .ok_or(HeaderErrorKind::Integer)
            }
            fn encode(&self, out: &mut String) {
                out.push_str(itoa_u64(self.0 as u64).as_str())
            }
        }
    };
}

int_header!(
    /// `Expires` (RFC 4976): seconds an AUTH grant lasts.
    Expires,
    names::EXPIRES
);
int_header!(
    /// `Min-Expires` (RFC 4976).
    MinExpires,
    names::MIN_EXPIRES
);
int_header!(
    /// `Max-Expires` (RFC 4976).
    MaxExpires,
    names::MAX_EXPIRES
);

/// `Success-Report`: whether the sender wants a REPORT on success.
/// Absent means [`SuccessReport::No`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SuccessReport {
    /// `yes`
    Yes,
    /// `no` (the default)
    #[default]
    No,
}

impl SuccessReport {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            SuccessReport::Yes => "yes",
            SuccessReport::No => "no",
        }
    }
}

impl TypedHeader for SuccessReport {
    const NAME: &'static str = names::SUCCESS_REPORT;
    fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
        match value {
            "yes" => Ok(SuccessReport::Yes),
            "no" => Ok(SuccessReport::No),
            _ => Err(HeaderErrorKind::Choice),
        }
    }
    fn encode(&self, out: &mut String) {
        out.push_str(self.as_str())
    }
}

/// `Failure-Report`: how failures are reported. Absent means
/// [`FailureReport::Yes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureReport {
    /// `yes` (the default): responses and failure REPORTs.
    #[default]
    Yes,
    /// `no`: no responses, no REPORTs.
    No,
    /// `partial`: only failure responses and failure REPORTs.
    Partial,
}

impl FailureReport {
    /// The wire word.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReport::Yes => "yes",
            FailureReport::No => "no",
            FailureReport::Partial => "partial",
        }
    }
}

impl TypedHeader for FailureReport {
    const NAME: &'static str = names::FAILURE_REPORT;
    fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
        match value {
            "yes" => Ok(FailureReport::Yes),
            "no" => Ok(FailureReport::No),
            "partial" => Ok(FailureReport::Partial),
            _ => Err(HeaderErrorKind::Choice),
        }
    }
    fn encode(&self, out: &mut String) {
        out.push_str(self.as_str())
    }
}

/// `Byte-Range: start-end/total`, where `end` and `total` may be `*`
/// (unknown). Positions count from 1 and `end` is inclusive, so an empty
/// chunk is `1-0/0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Position of the chunk's first byte in the message (1-based).
    pub start: u64,
    /// Position of its last byte, `None` for `*`.
    pub end: Option<u64>,
    /// Size of the whole message, `None` for `*`.
    pub total: Option<u64>,
}

impl ByteRange {
    /// The number of body bytes the range announces, when `end` is known.
    pub fn len(&self) -> Option<u64> {
        self.end.map(|e| (e + 1).saturating_sub(self.start))
    }

    /// Whether the range announces an empty body (`end == start - 1`).
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl TypedHeader for ByteRange {
    const NAME: &'static str = names::BYTE_RANGE;
    fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
        decode_byte_range(value).ok_or(HeaderErrorKind::ByteRange)
    }
    fn encode(&self, out: &mut String) {
        out.push_str(itoa_u64(self.start).as_str());
        out.push('-');
        match self.end {
            Some(e) => out.push_str(itoa_u64(e).as_str()),
            None => out.push('*'),
        }
        out.push('/');
        match self.total {
            Some(t) => out.push_str(itoa_u64(t).as_str()),
            None => out.push('*'),
        }
    }
}

pub(crate) fn decode_byte_range(value: &str) -> Option<ByteRange> {
    decode_byte_range_bytes(value.as_bytes())
}

/// `start-end/total` with `*` allowed for end and total. Works on bytes:
/// the parser calls it for every chunk.
pub(crate) fn decode_byte_range_bytes(value: &[u8]) -> Option<ByteRange> {
    let dash = value.iter().position(|&b| b == b'-')?;
    let slash = dash + 1 + value[dash + 1..].iter().position(|&b| b == b'/')?;
    let start = digits(&value[..dash])?;
    let end = match &value[dash + 1..slash] {
        b"*" => None,
        e => Some(digits(e)?),
    };
    let total = match &value[slash + 1..] {
        b"*" => None,
        t => Some(digits(t)?),
    };
    if start == 0 {
        return None;
    }
    if let Some(e) = end {
        if e + 1 < start {
            return None;
        }
        if let Some(t) = total {
            if e > t {
                return None;
            }
        }
    }
    Some(ByteRange { start, end, total })
}

/// Strict decimal on bytes: 1 to 19 digits (always fits u64).
fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + (d - b'0') as u64)
    })
}

/// `Status: 000 code [comment]`, carried by REPORT requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Three-digit status code.
    pub code: u16,
    /// Reason text, if any.
    pub comment: Option<String>,
}

impl TypedHeader for Status {
    const NAME: &'static str = names::STATUS;
    fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
        // Only the MSRP namespace "000" is defined (RFC 4975 §14.4).
        let rest = value.strip_prefix("000 ").ok_or(HeaderErrorKind::Status)?;
        let (code, comment) = match rest.split_once(' ') {
            Some((c, t)) => (c, if t.is_empty() { None } else { Some(t) }),
            None => (rest, None),
        };
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(HeaderErrorKind::Status);
        }
        Ok(Status {
            code: code.parse().map_err(|_| HeaderErrorKind::Status)?,
            comment: comment.map(str::to_string),
        })
    }
    fn encode(&self, out: &mut String) {
        out.push_str("000 ");
        push_code(self.code, out);
        if let Some(c) = &self.comment {
            out.push(' ');
            out.push_str(c);
        }
    }
}

/// A comma-separated `name=value` list as used by HTTP Digest (RFC 2617).
///
/// Each parameter remembers whether its value was quoted so a decoded list
/// encodes back to the same text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DigestParams {
    /// `(name, value, quoted)` in order.
    pub params: Vec<(String, String, bool)>,
}

impl DigestParams {
    /// The value of the first parameter called `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v, _)| v.as_str())
    }

    /// Appends a parameter whose value is written as a quoted string.
    pub fn push_quoted(&mut self, name: &str, value: &str) {
        self.params
            .push((name.to_string(), value.to_string(), true));
    }

    /// Appends a parameter whose value is written as a bare token.
    pub fn push_token(&mut self, name: &str, value: &str) {
        self.params
            .push((name.to_string(), value.to_string(), false));
    }

    fn decode_list(s: &str) -> Option<Self> {
        let mut params = Vec::new();
        let mut rest = s.trim_start();
        if rest.is_empty() {
            return Some(DigestParams { params });
        }
        loop {
            let eq = rest.find('=')?;
            let name = rest[..eq].trim();
            if !super::uri::is_token(name) {
                return None;
            }
            let after = rest[eq + 1..].trim_start();
            let (value, quoted, remaining) = if let Some(q) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = q.char_indices();
                let mut end = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => value.push(chars.next()?.1),
                        '"' => {
                            end = Some(i + 1);
                            break;
                        }
                        _ => value.push(c),
                    }
                }
                (value, true, &q[end?..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                let v = after[..end].trim_end();
                if v.is_empty() || v.contains([' ', '\t', '"']) {
                    return None;
                }
                (v.to_string(), false, &after[end..])
            };
            params.push((name.to_string(), value, quoted));
            let remaining = remaining.trim_start();
            if remaining.is_empty() {
                return Some(DigestParams { params });
            }
            rest = remaining.strip_prefix(',')?.trim_start();
        }
    }

    fn encode_list(&self, out: &mut String) {
        for (i, (name, value, quoted)) in self.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            out.push('=');
            if *quoted {
                out.push('"');
                for c in value.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            } else {
                out.push_str(value);
            }
        }
    }
}

macro_rules! digest_header {
    ($(#[$doc:meta])* $ty:ident, $name:expr, $prefix:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Default)]
        pub struct $ty(pub DigestParams);

        impl TypedHeader for $ty {
            const NAME: &'static str = $name;
            fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
                let list = match $prefix {
                    Some(p) => value
                        .split_once(' ')
                        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case(p))
                        .map(|(_, rest)| rest)
                        .ok_or(HeaderErrorKind::Params)?,
                    None => value,
                };
                DigestParams::decode_list(list).map($ty).ok_or(HeaderErrorKind::Params)
            }
            fn encode(&self, out: &mut String) {
                let prefix: Option<&str> = $prefix;
                if let Some(p) = prefix {
                    out.push_str(p);
                    out.push(' ');
                }
                self.0.encode_list(out)
            }
        }
    };
}

digest_header!(
    /// `WWW-Authenticate: Digest ...` (RFC 4976 challenge).
    WwwAuthenticate,
    names::WWW_AUTHENTICATE,
    Some("Digest")
);
digest_header!(
    /// `Authorization: Digest ...` (RFC 4976 credentials).
    Authorization,
    names::AUTHORIZATION,
    Some("Digest")
);
digest_header!(
    /// `Authentication-Info: ...` (RFC 4976), a bare parameter list.
    AuthenticationInfo,
    names::AUTHENTICATION_INFO,
    None
);

/// `Content-Disposition: type; name=value; ...` (RFC 2183).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentDisposition {
    /// The disposition type, e.g. `inline`, `attachment`, `render`.
    pub disposition: String,
    /// Parameters in order, values unquoted.
    pub params: Vec<(String, String)>,
}

impl TypedHeader for ContentDisposition {
    const NAME: &'static str = names::CONTENT_DISPOSITION;
    fn decode(value: &str) -> Result<Self, HeaderErrorKind> {
        let mut parts = split_params(value).ok_or(HeaderErrorKind::Disposition)?;
        let disposition = parts.remove(0).trim().to_string();
        if !super::uri::is_token(&disposition) {
            return Err(HeaderErrorKind::Disposition);
        }
        let mut params = Vec::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (n, v) = p.split_once('=').ok_or(HeaderErrorKind::Disposition)?;
            let n = n.trim();
            let v = v.trim();
            let v = match v.strip_prefix('"') {
                Some(q) => q
                    .strip_suffix('"')
                    .ok_or(HeaderErrorKind::Disposition)?
                    .replace("\\\"", "\"")
                    .replace("\\\\", "\\"),
                None => v.to_string(),
            };
            if !super::uri::is_token(n) {
                return Err(HeaderErrorKind::Disposition);
            }
            params.push((n.to_string(), v));
        }
        Ok(ContentDisposition {
            disposition,
            params,
        })
    }
    fn encode(&self, out: &mut String) {
        out.push_str(&self.disposition);
        for (n, v) in &self.params {
            out.push_str("; ");
            out.push_str(n);
            out.push_str("=\"");
            for c in v.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
}

/// Splits on `;` outside quoted strings. `None` for an unterminated quote.
fn split_params(s: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quote = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match b {
            b'\\' if in_quote => escaped = true,
            b'"' => in_quote = !in_quote,
            b';' if !in_quote => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quote {
        return None;
    }
    out.push(&s[start..]);
    Some(out)
}

/// Decodes a space-separated URI list (To-Path, From-Path, Use-Path).
pub(crate) fn decode_path(value: &str) -> Result<Vec<Uri>, HeaderErrorKind> {
    let uris = value
        .split_ascii_whitespace()
        .map(|u| u.parse::<Uri>().map_err(HeaderErrorKind::Uri))
        .collect::<Result<Vec<_>, _>>()?;
    if uris.is_empty() {
        return Err(HeaderErrorKind::EmptyPath);
    }
    Ok(uris)
}

pub(crate) fn encode_path(uris: &[Uri], out: &mut String) {
    for (i, u) in uris.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        u.write_to(out);
    }
}

/// Writes a status code as three digits.
pub(crate) fn push_code(code: u16, out: &mut String) {
    let code = code.min(999);
    out.push((b'0' + (code / 100) as u8) as char);
    out.push((b'0' + (code / 10 % 10) as u8) as char);
    out.push((b'0' + (code % 10) as u8) as char);
}

/// Strict decimal: digits only, no sign, no spaces, fits u64.
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt<T: TypedHeader + PartialEq + std::fmt::Debug>(s: &str) -> T {
        let v = T::decode(s).unwrap_or_else(|e| panic!("{s}: {e:?}"));
        assert_eq!(v.encoded(), s, "re-encode of {s}");
        v
    }

    #[test]
    fn byte_range() {
        assert_eq!(
            rt::<ByteRange>("1-25/25"),
            ByteRange {
                start: 1,
                end: Some(25),
                total: Some(25)
            }
        );
        assert_eq!(rt::<ByteRange>("835-*/2500").end, None);
        assert_eq!(rt::<ByteRange>("1-*/*").total, None);
        assert!(rt::<ByteRange>("1-0/0").is_empty());
        assert_eq!(rt::<ByteRange>("11-20/*").len(), Some(10));
        for bad in [
            "banana", "1-5", "0-5/5", "5-3/9", "1-10/5", "-1-2/3", "1 -2/3", "1-2/3x", "",
        ] {
            assert_eq!(
                ByteRange::decode(bad),
                Err(HeaderErrorKind::ByteRange),
                "{bad}"
            );
        }
    }

    #[test]
    fn status() {
        assert_eq!(
            rt::<Status>("000 200 OK"),
            Status {
                code: 200,
                comment: Some("OK".into())
            }
        );
        assert_eq!(rt::<Status>("000 408").comment, None);
        assert_eq!(rt::<Status>("000 413 Message too big, sorry").code, 413);
        for bad in ["200 OK", "000 20 OK", "001 200 OK", "000 abc", ""] {
            assert_eq!(Status::decode(bad), Err(HeaderErrorKind::Status), "{bad}");
        }
    }

    #[test]
    fn choices() {
        assert_eq!(rt::<SuccessReport>("yes"), SuccessReport::Yes);
        assert_eq!(rt::<FailureReport>("partial"), FailureReport::Partial);
        assert_eq!(
            SuccessReport::decode("partial"),
            Err(HeaderErrorKind::Choice)
        );
        assert_eq!(FailureReport::decode("maybe"), Err(HeaderErrorKind::Choice));
    }

    #[test]
    fn integers() {
        assert_eq!(rt::<Expires>("900"), Expires(900));
        assert_eq!(MinExpires::decode("-1"), Err(HeaderErrorKind::Integer));
        assert_eq!(
            MaxExpires::decode("99999999999"),
            Err(HeaderErrorKind::Integer)
        );
    }

    #[test]
    fn paths() {
        let p = rt::<ToPath>("msrp://a.example:1/x;tcp msrps://b.example/y;tcp");
        assert_eq!(p.0.len(), 2);
        assert_eq!(FromPath::decode(""), Err(HeaderErrorKind::EmptyPath));
        assert!(matches!(
            UsePath::decode("http://x;tcp"),
            Err(HeaderErrorKind::Uri(_))
        ));
    }

    #[test]
    fn digest() {
        let s = "Digest realm=\"relay.example.net\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", qop=\"auth\"";
        let w = rt::<WwwAuthenticate>(s);
        assert_eq!(w.0.get("nonce"), Some("dcd98b7102dd2f0e8b11d0f600bfb0c093"));
        let a = rt::<Authorization>(
            "Digest username=\"Alice\", nc=00000001, qop=auth, response=\"a\\\"b\"",
        );
        assert_eq!(a.0.get("nc"), Some("00000001"));
        assert_eq!(a.0.get("response"), Some("a\"b"));
        assert_eq!(
            rt::<AuthenticationInfo>("nextnonce=\"x\"")
                .0
                .get("NEXTNONCE"),
            Some("x")
        );
        assert_eq!(
            WwwAuthenticate::decode("Basic realm=\"x\""),
            Err(HeaderErrorKind::Params)
        );
        assert_eq!(
            Authorization::decode("Digest user"),
            Err(HeaderErrorKind::Params)
        );
        assert_eq!(
            Authorization::decode("Digest a=\"open"),
            Err(HeaderErrorKind::Params)
        );
    }

    #[test]
    fn disposition() {
        let d = rt::<ContentDisposition>("attachment; filename=\"My cat.jpeg\"; size=\"10\"");
        assert_eq!(d.disposition, "attachment");
        assert_eq!(d.params[0], ("filename".into(), "My cat.jpeg".into()));
        let d = ContentDisposition::decode("inline; filename=a.txt").unwrap();
        assert_eq!(d.params, vec![("filename".into(), "a.txt".into())]);
        assert_eq!(
            ContentDisposition::decode(""),
            Err(HeaderErrorKind::Disposition)
        );
        assert_eq!(
            ContentDisposition::decode("inline; x=\"open"),
            Err(HeaderErrorKind::Disposition)
        );
    }

    #[test]
    fn text() {
        assert_eq!(rt::<MessageId>("87652491"), MessageId("87652491".into()));
        assert_eq!(ContentType::decode(""), Err(HeaderErrorKind::Empty));
        let e = MessageId::decode_header("").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error parsing Message-ID header: empty value"
        );
    }
}
