//! Message/CPIM (RFC 3862): the wrapper chat messages travel in when the
//! peer's `accept-types` lists `message/cpim`.
//!
//! A CPIM body, as an MSRP SEND carries it, is three parts:
//!
//! ```text
//! From: MR SANDERS <im:piglet@100akerwood.com>      message headers, one per line,
//! NS: MyFeatures <mid:MessageFeatures@id.foo.com>   in their own namespaces
//! MyFeatures.VitalMessageOption: Confirmation-requested
//!                                                   an empty line
//! Content-type: text/xml; charset=utf-8             MIME headers of the payload
//!                                                   an empty line
//! <body>...</body>                                  the payload, to the end of the body
//! ```
//!
//! [`CpimMessage::parse`] reads such a body (without RFC 3862's outer
//! `Content-type: Message/CPIM` line, which MSRP carries as the chunk's own
//! Content-Type) and [`CpimMessage::encode`] writes it back. Lines end in
//! CRLF.
//!
//! # Round trips
//!
//! A parsed message keeps every header as written — names with their case,
//! prefixes, `;name=value` parameters and values untouched — so encoding it
//! gives back the same bytes, whether or not the payload ends in CRLF. The
//! one normalisation is the separator after a MIME header's colon, written
//! as one space (RFC 3862 requires exactly one space after a message
//! header's colon, and the parser insists on it there). Typed values
//! ([`CpimMessage::sender`], [`CpimMessage::timestamp`], ...) are decoded from
//! that text when asked for; the parser has already checked that they
//! decode.
//!
//! # Namespaces
//!
//! Every message header belongs to a namespace (RFC 3862 §3.4). A header
//! without a prefix belongs to the default namespace, the CPIM one
//! ([`CPIM_NAMESPACE`]) unless an `NS: <uri>` line without a prefix changed
//! it; `Prefix.Name` belongs to the namespace an earlier `NS: Prefix <uri>`
//! line declared. A prefix used before any NS line declared it is an error.
//! `From`, `To`, `cc`, `DateTime`, `Subject`, `NS` and `Require` mean what
//! RFC 3862 §4 says only in the CPIM namespace; every other header is an
//! *additional* header ([`CpimMessage::additional_headers`]).
//!
//! [`CpimBuilder`] writes headers in a fixed order (From, To, cc, DateTime,
//! Subject, NS, Require, then the additional headers) and declares each
//! namespace with an NS line before the first header that uses it. It
//! writes DateTime with at most microseconds, as python3-sipsimple does
//! (see [`DateTime::to_rfc3339_micros`]): `2026-11-24T16:18:03.123456Z`,
//! or `2026-11-24T16:18:03Z` when the fraction is zero.
//!
//! # Escapes
//!
//! RFC 3862 §2.3 lets header values escape control characters with
//! backslashes. Display names in quotes and Subject texts are unescaped when
//! read and escaped when built; every other value is kept and returned as
//! written (the raw wire text), since only the header's own specification
//! knows whether a backslash in it is an escape.
//!
//! # Cost
//!
//! Parsing copies the header text (small) and never the payload: the
//! message's [`content`](CpimMessage::content) is a slice of the input
//! [`Bytes`]. Encoding copies the payload once, into the output buffer.
//! There are no size limits: the input is a whole MSRP message that its
//! reader has already bounded, and RFC 3862 asks processors not to limit
//! line lengths.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// The namespace of the headers RFC 3862 defines (From, To, cc, DateTime,
/// Subject, NS, Require), and the default namespace of a message.
pub const CPIM_NAMESPACE: &str = "urn:ietf:params:cpim-headers:";

// =================================================================== errors

/// What was wrong with a CPIM body (see [`CpimError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CpimErrorKind {
    /// The input is empty.
    Empty,
    /// The message headers are not followed by an empty line (the input ends
    /// inside them).
    MissingHeaderEnd,
    /// The MIME headers of the payload are not followed by an empty line.
    MissingContentHeaderEnd,
    /// A line ends in LF without the CR before it.
    BareLineFeed,
    /// A header line is not valid UTF-8.
    InvalidUtf8,
    /// A header line has no colon.
    MissingColon,
    /// A header name is empty or holds characters RFC 3862 §3.1 (message
    /// headers) or RFC 5322 (MIME headers) does not allow, e.g. spaces.
    BadHeaderName,
    /// A message header's colon (and parameters) is not followed by the one
    /// space RFC 3862 §3 requires.
    MissingSpace,
    /// A `;name=value` header parameter is malformed.
    BadParameter,
    /// A header name uses a prefix that no earlier NS line declared.
    UndeclaredPrefix(String),
    /// An NS value is not `[prefix] <uri>`.
    BadNamespace,
    /// A From, To or cc value is not `[display name] <uri>`.
    BadAddress,
    /// A DateTime value is not an RFC 3339 date-time with a time zone.
    BadDateTime,
    /// A Require value is not a comma-separated list of header names.
    BadRequire,
}

/// A CPIM body could not be parsed. Always a problem with the input: the
/// same bytes fail again. The usual reaction of a chat receiver is a 415 or
/// 400 answer to the SEND that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimError {
    /// What is wrong.
    pub kind: CpimErrorKind,
    /// The offending line, counted from 1 at the start of the body.
    pub line: usize,
    /// The offending line's text (without its line end; invalid UTF-8
    /// replaced, cut to 200 characters).
    pub text: String,
}

impl CpimError {
    fn new(kind: CpimErrorKind, line: usize, text: &[u8]) -> Self {
        let text = String::from_utf8_lossy(text);
        let text = match text.char_indices().nth(MAX_ERROR_TEXT) {
            Some((i, _)) => format!("{}...", &text[..i]),
            None => text.into_owned(),
        };
        CpimError { kind, line, text }
    }
}

impl fmt::Display for CpimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            CpimErrorKind::Empty => "empty CPIM message",
            CpimErrorKind::MissingHeaderEnd => "the message headers are not ended by an empty line",
            CpimErrorKind::MissingContentHeaderEnd => {
                "the content headers are not ended by an empty line"
            }
            CpimErrorKind::BareLineFeed => "line ends in LF without CR",
            CpimErrorKind::InvalidUtf8 => "header line is not valid UTF-8",
            CpimErrorKind::MissingColon => "header line without a colon",
            CpimErrorKind::BadHeaderName => "invalid header name",
            CpimErrorKind::MissingSpace => "no space after the header name's colon",
            CpimErrorKind::BadParameter => "invalid header parameter",
            CpimErrorKind::UndeclaredPrefix(p) => {
                return write!(
                    f,
                    "line {}: namespace prefix {p:?} used before any NS header declared it: {:?}",
                    self.line, self.text
                )
            }
            CpimErrorKind::BadNamespace => "NS value is not '[prefix] <uri>'",
            CpimErrorKind::BadAddress => "address is not '[display name] <uri>'",
            CpimErrorKind::BadDateTime => "DateTime is not an RFC 3339 date-time with a time zone",
            CpimErrorKind::BadRequire => "Require value is not a list of header names",
        };
        write!(f, "line {}: {what}: {:?}", self.line, self.text)
    }
}

impl std::error::Error for CpimError {}

/// A [`CpimBuilder`] was given a value that cannot be encoded. A bug or bad
/// input in the caller: nothing was built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpimBuildError {
    /// A URI (of an address or a namespace) is not `scheme:rest` without
    /// spaces, `<` or `>`.
    #[error("invalid URI {0:?}")]
    BadUri(String),
    /// A header name or prefix is empty or not made of RFC 3862 name
    /// characters (or, for a MIME header, contains a colon or a space).
    #[error("invalid header name {0:?}")]
    BadName(String),
    /// A value contains CR, LF or another control character where the wire
    /// format has no escape for it.
    #[error("control character in {0:?}")]
    ControlCharacter(String),
    /// A DateTime has a field out of range (a 30th of February, an offset
    /// of a day or more, ...).
    #[error("date-time out of range: {0}")]
    BadDateTime(String),
    /// A language tag is not letters, digits and dashes.
    #[error("invalid language tag {0:?}")]
    BadLanguage(String),
    /// One prefix was asked for two different namespaces.
    #[error("prefix {prefix:?} used for {first:?} and {second:?}")]
    PrefixConflict {
        /// The prefix.
        prefix: String,
        /// The namespace it was first bound to.
        first: String,
        /// The other namespace.
        second: String,
    },
}

// ================================================================== headers

/// One message header as written: `[prefix.]name:[;param=value...] value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimHeader {
    /// The namespace prefix before the `.`, as written (`None` without one).
    pub prefix: Option<String>,
    /// The name after the prefix (`From`, `VitalMessageOption`).
    pub name: String,
    /// The namespace URI the header belongs to (resolved when parsed or
    /// built; [`CPIM_NAMESPACE`] for the standard headers).
    pub namespace: String,
    /// `;name=value` parameters between the colon and the value, as written
    /// (a quoted value keeps its quotes). `Subject:;lang=fr ...` has
    /// `[("lang", "fr")]`.
    pub params: Vec<(String, String)>,
    /// The value after the space, as written.
    pub value: String,
}

impl CpimHeader {
    /// Whether this is the standard header `name` of RFC 3862 §4 (in the
    /// CPIM namespace, case-sensitive).
    pub fn is_standard(&self, name: &str) -> bool {
        self.name == name && self.namespace == CPIM_NAMESPACE
    }

    /// The value of the parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The header name as written: `prefix.name` or `name`.
    pub fn full_name(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}.{}", self.name),
            None => self.name.clone(),
        }
    }

    fn write_to(&self, out: &mut BytesMut) {
        if let Some(p) = &self.prefix {
            out.put_slice(p.as_bytes());
            out.put_u8(b'.');
        }
        out.put_slice(self.name.as_bytes());
        out.put_u8(b':');
        for (n, v) in &self.params {
            out.put_u8(b';');
            out.put_slice(n.as_bytes());
            out.put_u8(b'=');
            out.put_slice(v.as_bytes());
        }
        out.put_u8(b' ');
        out.put_slice(self.value.as_bytes());
        out.put_slice(b"\r\n");
    }

    fn encoded_len(&self) -> usize {
        self.prefix.as_ref().map_or(0, |p| p.len() + 1)
            + self.name.len()
            + 1
            + self
                .params
                .iter()
                .map(|(n, v)| n.len() + v.len() + 2)
                .sum::<usize>()
            + 1
            + self.value.len()
            + 2
    }
}

/// A MIME header of the payload (`Content-Type`, `Content-ID`, ...), name
/// and value as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentHeader {
    /// The name, with its case.
    pub name: String,
    /// The value after the colon and its leading spaces.
    pub value: String,
}

/// A sender or recipient: `[display name] <uri>` (From, To and cc).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The URI between the angle brackets (`sip:alice@example.com`).
    pub uri: String,
    /// The display name, unquoted and unescaped; `None` without one.
    pub display_name: Option<String>,
}

impl Identity {
    /// An identity without a display name.
    pub fn new(uri: impl Into<String>) -> Self {
        Identity {
            uri: uri.into(),
            display_name: None,
        }
    }

    /// The same identity with a display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// Reads a From, To or cc value: `<uri>`, `Name With Tokens <uri>` or
    /// `"Quoted \"name\"" <uri>` (a space before `<` is optional).
    pub fn parse(value: &str) -> Option<Identity> {
        let (name, uri) = identity_parts(value)?;
        let display_name = name.map(|n| match n.strip_prefix('"') {
            // identity_parts checked the closing quote.
            Some(quoted) => unescape(&quoted[..quoted.len() - 1]),
            None => n.to_string(),
        });
        Some(Identity {
            uri: uri.to_string(),
            display_name,
        })
    }

    /// Checks that the identity can be written: a URI without spaces or
    /// angle brackets, a display name without characters the escape
    /// mechanism cannot carry.
    pub fn validate(&self) -> Result<(), CpimBuildError> {
        if !is_uri(&self.uri) {
            return Err(CpimBuildError::BadUri(self.uri.clone()));
        }
        Ok(())
    }

    /// Writes the header value: `<uri>` or `Name <uri>`; a display name that
    /// is not a sequence of tokens is quoted and escaped.
    pub fn to_value(&self) -> String {
        let mut out = String::new();
        if let Some(name) = &self.display_name {
            let plain = !name.is_empty()
                && name
                    .split(' ')
                    .all(|w| !w.is_empty() && w.chars().all(is_token_char));
            if plain {
                out.push_str(name);
            } else {
                out.push('"');
                escape_into(name, true, &mut out);
                out.push('"');
            }
            out.push(' ');
        }
        out.push('<');
        out.push_str(&self.uri);
        out.push('>');
        out
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_value())
    }
}

/// A Subject header: its text (unescaped) and optional language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The `lang` parameter, `None` without one.
    pub lang: Option<String>,
    /// The subject text.
    pub text: String,
}

// ================================================================ date-time

/// An RFC 3339 date-time with a time zone offset, as the DateTime header
/// carries it (`2000-12-13T13:40:00-08:00`).
///
/// A small value type of its own rather than a date crate: the header needs
/// parsing, formatting and conversion to and from Unix time, nothing more.
/// `second` may be 60 (a leap second), as RFC 3339 allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The year, 0 to 9999.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
    /// The day of the month, 1 to 31 (checked against the month).
    pub day: u8,
    /// The hour, 0 to 23.
    pub hour: u8,
    /// The minute, 0 to 59.
    pub minute: u8,
    /// The second, 0 to 60.
    pub second: u8,
    /// Fractions of a second in nanoseconds (finer digits are dropped).
    pub nanosecond: u32,
    /// The local time's offset from UTC in minutes (`-08:00` is -480; `Z`
    /// and `+00:00` are 0), -1439 to 1439.
    pub offset_minutes: i16,
}

impl DateTime {
    /// Parses an RFC 3339 `date-time`. `T` and `Z` may be lower case; a
    /// time zone is required.
    pub fn parse(text: &str) -> Option<DateTime> {
        let b = text.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            let digits = b.get(range)?;
            digits.iter().try_fold(0u32, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
            })
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        let mut nanosecond = 0u32;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanosecond = nanosecond * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return None;
            }
            for _ in digits..9 {
                nanosecond *= 10;
            }
        }
        let offset_minutes = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let d = |c: u8| c.is_ascii_digit().then(|| i16::from(c - b'0'));
                let (h, m) = (d(*h1)? * 10 + d(*h2)?, d(*m1)? * 10 + d(*m2)?);
                if h > 23 || m > 59 {
                    return None;
                }
                let total = h * 60 + m;
                if *sign == b'-' {
                    -total
                } else {
                    total
                }
            }
            _ => return None,
        };
        let dt = DateTime {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            nanosecond,
            offset_minutes,
        };
        dt.is_valid().then_some(dt)
    }

    /// Whether every field is in range (the day against its month, leap
    /// years included).
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(i64::from(self.year), self.month)
            && self.year <= 9999
            && self.hour <= 23
            && self.minute <= 59
            && self.second <= 60
            && self.nanosecond < 1_000_000_000
            && self.offset_minutes.abs() < 24 * 60
    }

    /// The date-time of a Unix timestamp (seconds and nanoseconds since
    /// 1970-01-01T00:00:00Z) seen from a time zone `offset_minutes` east of
    /// UTC. `None` outside the years 0 to 9999 or for an offset of a day or
    /// more.
    pub fn from_unix(seconds: i64, nanosecond: u32, offset_minutes: i16) -> Option<DateTime> {
        if nanosecond >= 1_000_000_000 || offset_minutes.abs() >= 24 * 60 {
            return None;
        }
        let local = seconds.checked_add(i64::from(offset_minutes) * 60)?;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        Some(DateTime {
            year: year as u16,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
            nanosecond,
            offset_minutes,
        })
    }

    /// The current time in UTC, from the system clock. (The codec itself
    /// never reads a clock; this is for callers that stamp messages.)
    pub fn now_utc() -> DateTime {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let seconds = i64::try_from(since.as_secs()).unwrap_or(0);
        DateTime::from_unix(seconds, since.subsec_nanos(), 0).unwrap_or(DateTime {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0,
            minute: 0,
            second: 0,
            nanosecond: 0,
            offset_minutes: 0,
        })
    }

    /// The text a built CPIM message's DateTime header carries:
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)` with at most microseconds
    /// -- the fraction truncated to six digits and written with all six
    /// when it is not zero, left out when it is -- which is what
    /// python3-sipsimple writes (Python's `isoformat()`), except that a
    /// zero offset is `Z`. (`Display` writes every digit parsed.)
    pub fn to_rfc3339_micros(&self) -> String {
        let (b, n) = self.rfc3339_micros_bytes();
        // Only ASCII digits and punctuation are in b[..n].
        b[..n].iter().map(|&c| char::from(c)).collect()
    }

    /// [`to_rfc3339_micros`](Self::to_rfc3339_micros) as bytes in a
    /// buffer and their length, for writers that copy them on.
    pub(crate) fn rfc3339_micros_bytes(&self) -> ([u8; 32], usize) {
        fn put(b: &mut [u8; 32], at: usize, value: u32, width: usize) -> usize {
            let mut v = value;
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            at + width
        }
        let mut b = *b"0000-00-00T00:00:00.000000+00:00";
        put(&mut b, 0, u32::from(self.year), 4);
        put(&mut b, 5, u32::from(self.month), 2);
        put(&mut b, 8, u32::from(self.day), 2);
        put(&mut b, 11, u32::from(self.hour), 2);
        put(&mut b, 14, u32::from(self.minute), 2);
        let mut n = put(&mut b, 17, u32::from(self.second), 2);
        let micros = self.nanosecond / 1000;
        if micros != 0 {
            n = put(&mut b, 20, micros, 6);
        }
        if self.offset_minutes == 0 {
            b[n] = b'Z';
            n += 1;
        } else {
            let m = self.offset_minutes.unsigned_abs();
            b[n] = if self.offset_minutes < 0 { b'-' } else { b'+' };
            put(&mut b, n + 1, u32::from(m / 60), 2);
            b[n + 3] = b':';
            n = put(&mut b, n + 4, u32::from(m % 60), 2);
        }
        (b, n)
    }

    /// Seconds since 1970-01-01T00:00:00Z (a leap second counts as the
    /// second after it, as in POSIX time).
    pub fn unix_seconds(&self) -> i64 {
        let days = days_from_civil(i64::from(self.year), self.month, self.day);
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
            - i64::from(self.offset_minutes) * 60
    }
}

impl fmt::Display for DateTime {
    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`: `Z` for a zero offset,
    /// the fraction only when not zero, without trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )?;
        if self.nanosecond != 0 {
            let digits = format!("{:09}", self.nanosecond);
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        if self.offset_minutes == 0 {
            f.write_str("Z")
        } else {
            let sign = if self.offset_minutes < 0 { '-' } else { '+' };
            let m = self.offset_minutes.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

// ================================================================= messages

/// A Message/CPIM message: message headers, MIME headers and payload.
///
/// Made by [`CpimMessage::parse`] or [`CpimBuilder::build`]; both check
/// every header, so the typed readers below never meet a malformed value.
///
/// ```
/// use bytes::Bytes;
/// use msgwire::msrp::cpim::CpimMessage;
///
/// let body = Bytes::from_static(b"From: Alice <sip:alice@example.com>\r\n\
/// To: <sip:bob@example.com>\r\n\
/// DateTime: 2024-05-01T10:00:00Z\r\n\
/// \r\n\
/// Content-Type: text/plain\r\n\
/// \r\n\
/// Hello");
/// let msg = CpimMessage::parse(body.clone()).unwrap();
/// assert_eq!(msg.sender().unwrap().display_name.as_deref(), Some("Alice"));
/// assert_eq!(msg.content_type(), Some("text/plain"));
/// assert_eq!(&msg.content()[..], b"Hello");
/// assert_eq!(msg.encode(), body);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpimMessage {
    headers: Vec<CpimHeader>,
    content_headers: Vec<ContentHeader>,
    content: Bytes,
}

impl CpimMessage {
    /// Parses a CPIM body (see the module docs). The payload of the result
    /// shares `body`'s memory.
    pub fn parse(body: Bytes) -> Result<CpimMessage, CpimError> {
        Parser::new().run(&body)
    }

    /// Parses a CPIM body from a slice, copying it once.
    pub fn parse_slice(body: &[u8]) -> Result<CpimMessage, CpimError> {
        Self::parse(Bytes::copy_from_slice(body))
    }

    /// Starts building a message whose payload is `content` of MIME type
    /// `content_type`.
    pub fn builder(content_type: impl Into<String>, content: impl Into<Bytes>) -> CpimBuilder {
        CpimBuilder::new(content_type, content)
    }

    /// The message headers in wire order, NS and Require lines included.
    pub fn headers(&self) -> &[CpimHeader] {
        &self.headers
    }

    /// The payload's MIME headers in wire order, Content-Type included.
    pub fn content_headers(&self) -> &[ContentHeader] {
        &self.content_headers
    }

    /// The payload: every byte after the empty line that ends the MIME
    /// headers.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The message taken apart: its message headers, MIME headers and
    /// payload (for readers that keep the values, without copying them).
    pub fn into_parts(self) -> (Vec<CpimHeader>, Vec<ContentHeader>, Bytes) {
        (self.headers, self.content_headers, self.content)
    }

    /// The payload's Content-Type value as written, parameters included
    /// (the header name is matched without case, as MIME does).
    pub fn content_type(&self) -> Option<&str> {
        self.content_header("Content-Type")
    }

    /// The first MIME header called `name` (ignoring ASCII case).
    pub fn content_header(&self, name: &str) -> Option<&str> {
        self.content_headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// The first From header's identity.
    pub fn sender(&self) -> Option<Identity> {
        self.standard("From")
            .next()
            .and_then(|h| Identity::parse(&h.value))
    }

    /// The identities of the To headers, in order.
    pub fn recipients(&self) -> Vec<Identity> {
        self.identities("To")
    }

    /// The identities of the cc headers, in order.
    pub fn courtesy_recipients(&self) -> Vec<Identity> {
        self.identities("cc")
    }

    /// The first DateTime header's value.
    pub fn timestamp(&self) -> Option<DateTime> {
        self.standard("DateTime")
            .next()
            .and_then(|h| DateTime::parse(&h.value))
    }

    /// The Subject headers in wire order.
    pub fn subjects(&self) -> Vec<Subject> {
        self.standard("Subject")
            .map(|h| Subject {
                lang: h.param("lang").map(str::to_string),
                text: unescape(&h.value),
            })
            .collect()
    }

    /// The NS declarations in wire order: `(prefix, uri)`, with `None` for a
    /// declaration of the default namespace.
    pub fn namespaces(&self) -> Vec<(Option<String>, String)> {
        self.standard("NS")
            .filter_map(|h| parse_ns(&h.value))
            .map(|(p, uri)| (p.map(str::to_string), uri.to_string()))
            .collect()
    }

    /// The header names of every Require header, as written, in order.
    pub fn required(&self) -> Vec<String> {
        self.standard("Require")
            .flat_map(|h| h.value.split(','))
            .map(|n| n.trim().to_string())
            .collect()
    }

    /// The headers that are not RFC 3862 §4 standard headers: those of other
    /// namespaces, and unknown names in the CPIM namespace, in wire order.
    pub fn additional_headers(&self) -> impl Iterator<Item = &CpimHeader> {
        self.headers.iter().filter(|h| {
            !(h.namespace == CPIM_NAMESPACE && STANDARD_HEADERS.contains(&h.name.as_str()))
        })
    }

    /// The number of bytes [`encode`](Self::encode) writes.
    pub fn encoded_len(&self) -> usize {
        self.headers
            .iter()
            .map(CpimHeader::encoded_len)
            .sum::<usize>()
            + 2
            + self
                .content_headers
                .iter()
                .map(|h| h.name.len() + h.value.len() + 4)
                .sum::<usize>()
            + 2
            + self.content.len()
    }

    /// Writes the message: a parsed message comes out as it was read.
    pub fn encode(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out.freeze()
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        for h in &self.headers {
            h.write_to(out);
        }
        out.put_slice(b"\r\n");
        for h in &self.content_headers {
            out.put_slice(h.name.as_bytes());
            out.put_slice(b": ");
            out.put_slice(h.value.as_bytes());
            out.put_slice(b"\r\n");
        }
        out.put_slice(b"\r\n");
        out.put_slice(&self.content);
    }

    fn standard<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a CpimHeader> + 'a {
        self.headers.iter().filter(move |h| h.is_standard(name))
    }

    fn identities(&self, name: &str) -> Vec<Identity> {
        self.standard(name)
            .filter_map(|h| Identity::parse(&h.value))
            .collect()
    }
}

// ================================================================== builder

/// An additional header for [`CpimBuilder::header`]: a name in a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacedHeader {
    /// The namespace URI.
    pub namespace: String,
    /// The prefix to write; `None` lets the builder choose (no prefix for
    /// the CPIM namespace, the prefix already bound to the namespace, or a
    /// new `nsN`).
    pub prefix: Option<String>,
    /// The name without its prefix.
    pub name: String,
    /// The value, written as given.
    pub value: String,
}

/// Builds a [`CpimMessage`] from typed values (see the module docs for the
/// header order). Nothing is checked until [`build`](Self::build).
///
/// ```
/// use msgwire::msrp::cpim::{CpimMessage, DateTime, Identity};
///
/// let msg = CpimMessage::builder("text/plain", &b"Hi"[..])
///     .sender(Identity::new("sip:alice@example.com").with_display_name("Alice"))
///     .recipient(Identity::new("sip:bob@example.com"))
///     .timestamp(DateTime::parse("2024-05-01T10:00:00+02:00").unwrap())
///     .build()
///     .unwrap();
/// assert_eq!(
///     &msg.encode()[..],
///     &b"From: Alice <sip:alice@example.com>\r\nTo: <sip:bob@example.com>\r\n\
/// DateTime: 2024-05-01T10:00:00+02:00\r\n\r\nContent-Type: text/plain\r\n\r\nHi"[..]
/// );
/// ```
#[derive(Debug, Clone)]
pub struct CpimBuilder {
    content_type: String,
    content: Bytes,
    sender: Option<Identity>,
    recipients: Vec<Identity>,
    courtesy: Vec<Identity>,
    timestamp: Option<DateTime>,
    subjects: Vec<Subject>,
    required: Vec<String>,
    headers: Vec<NamespacedHeader>,
    namespaces: Vec<(String, String)>,
    content_headers: Vec<ContentHeader>,
}

impl CpimBuilder {
    /// A builder for a payload of MIME type `content_type`.
    pub fn new(content_type: impl Into<String>, content: impl Into<Bytes>) -> CpimBuilder {
        CpimBuilder {
            content_type: content_type.into(),
            content: content.into(),
            sender: None,
            recipients: Vec::new(),
            courtesy: Vec::new(),
            timestamp: None,
            subjects: Vec::new(),
            required: Vec::new(),
            headers: Vec::new(),
            namespaces: Vec::new(),
            content_headers: Vec::new(),
        }
    }

    /// Sets the From identity.
    pub fn sender(mut self, identity: Identity) -> Self {
        self.sender = Some(identity);
        self
    }

    /// Adds a To identity.
    pub fn recipient(mut self, identity: Identity) -> Self {
        self.recipients.push(identity);
        self
    }

    /// Adds a cc identity.
    pub fn courtesy_recipient(mut self, identity: Identity) -> Self {
        self.courtesy.push(identity);
        self
    }

    /// Sets the DateTime.
    pub fn timestamp(mut self, dt: DateTime) -> Self {
        self.timestamp = Some(dt);
        self
    }

    /// Adds a Subject, with a language tag or without.
    pub fn subject(mut self, lang: Option<&str>, text: impl Into<String>) -> Self {
        self.subjects.push(Subject {
            lang: lang.map(str::to_string),
            text: text.into(),
        });
        self
    }

    /// Adds a header name (`Prefix.Name` or `Name`) to the Require header.
    pub fn require(mut self, name: impl Into<String>) -> Self {
        self.required.push(name.into());
        self
    }

    /// Declares `prefix` for `namespace` even if no header uses it (an
    /// NS line is written for it, e.g. for a Require of that prefix).
    pub fn namespace(mut self, prefix: impl Into<String>, namespace: impl Into<String>) -> Self {
        self.namespaces.push((prefix.into(), namespace.into()));
        self
    }

    /// Adds an additional header.
    pub fn header(mut self, header: NamespacedHeader) -> Self {
        self.headers.push(header);
        self
    }

    /// Adds a MIME header after Content-Type (`Content-ID`,
    /// `Content-Disposition`, ...).
    pub fn content_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.content_headers.push(ContentHeader {
            name: name.into(),
            value: value.into(),
        });
        self
    }

    /// Checks every value and assembles the message.
    pub fn build(self) -> Result<CpimMessage, CpimBuildError> {
        let mut headers = Vec::new();
        let std_header = |name: &str, params: Vec<(String, String)>, value: String| CpimHeader {
            prefix: None,
            name: name.to_string(),
            namespace: CPIM_NAMESPACE.to_string(),
            params,
            value,
        };
        let identities = std::iter::once(("From", self.sender.as_ref()))
            .chain(self.recipients.iter().map(|i| ("To", Some(i))))
            .chain(self.courtesy.iter().map(|i| ("cc", Some(i))));
        for (name, identity) in identities {
            let Some(identity) = identity else { continue };
            identity.validate()?;
            let value = identity.to_value();
            check_value(&value)?;
            headers.push(std_header(name, Vec::new(), value));
        }
        if let Some(dt) = self.timestamp {
            if !dt.is_valid() {
                return Err(CpimBuildError::BadDateTime(format!("{dt:?}")));
            }
            headers.push(std_header("DateTime", Vec::new(), dt.to_rfc3339_micros()));
        }
        for s in &self.subjects {
            let mut params = Vec::new();
            if let Some(lang) = &s.lang {
                let ok = !lang.is_empty()
                    && lang.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
                if !ok {
                    return Err(CpimBuildError::BadLanguage(lang.clone()));
                }
                params.push(("lang".to_string(), lang.clone()));
            }
            let mut text = String::new();
            escape_into(&s.text, false, &mut text);
            headers.push(std_header("Subject", params, text));
        }

        // Namespaces: explicit declarations first, then one per namespace
        // of the additional headers, in order of first use.
        let mut bound: Vec<(String, String)> = Vec::new();
        let mut bind = |prefix: &str, ns: &str| -> Result<bool, CpimBuildError> {
            if !is_name(prefix) {
                return Err(CpimBuildError::BadName(prefix.to_string()));
            }
            if !is_uri(ns) {
                return Err(CpimBuildError::BadUri(ns.to_string()));
            }
            match bound.iter().find(|(p, _)| p == prefix) {
                Some((_, first)) if first != ns => Err(CpimBuildError::PrefixConflict {
                    prefix: prefix.to_string(),
                    first: first.clone(),
                    second: ns.to_string(),
                }),
                Some(_) => Ok(false),
                None => {
                    bound.push((prefix.to_string(), ns.to_string()));
                    Ok(true)
                }
            }
        };
        let mut declared = Vec::new();
        for (prefix, ns) in &self.namespaces {
            if bind(prefix, ns)? {
                declared.push((prefix.clone(), ns.clone()));
            }
        }
        let mut extra = Vec::with_capacity(self.headers.len());
        let mut counter = 0usize;
        for h in &self.headers {
            if !is_name(&h.name) {
                return Err(CpimBuildError::BadName(h.name.clone()));
            }
            check_value(&h.value)?;
            let prefix = match &h.prefix {
                Some(p) => Some(p.clone()),
                None if h.namespace == CPIM_NAMESPACE => None,
                None => match declared.iter().find(|(_, ns)| *ns == h.namespace) {
                    Some((p, _)) => Some(p.clone()),
                    None => loop {
                        counter += 1;
                        let p = format!("ns{counter}");
                        if !declared.iter().any(|(q, _)| *q == p)
                            && !self.namespaces.iter().any(|(q, _)| *q == p)
                            && !self.headers.iter().any(|o| o.prefix.as_deref() == Some(&p))
                        {
                            break Some(p);
                        }
                    },
                },
            };
            if let Some(p) = &prefix {
                if bind(p, &h.namespace)? {
                    declared.push((p.clone(), h.namespace.clone()));
                }
            }
            extra.push(CpimHeader {
                prefix,
                name: h.name.clone(),
                namespace: h.namespace.clone(),
                params: Vec::new(),
                value: h.value.clone(),
            });
        }
        for (prefix, ns) in declared {
            headers.push(std_header("NS", Vec::new(), format!("{prefix} <{ns}>")));
        }
        if !self.required.is_empty() {
            for name in &self.required {
                if !is_header_name(name) {
                    return Err(CpimBuildError::BadName(name.clone()));
                }
            }
            headers.push(std_header("Require", Vec::new(), self.required.join(",")));
        }
        headers.extend(extra);

        let mut content_headers = Vec::with_capacity(self.content_headers.len() + 1);
        content_headers.push(ContentHeader {
            name: "Content-Type".to_string(),
            value: self.content_type,
        });
        content_headers.extend(self.content_headers);
        for h in &content_headers {
            if !is_mime_name(&h.name) {
                return Err(CpimBuildError::BadName(h.name.clone()));
            }
            check_value(&h.value)?;
        }
        Ok(CpimMessage {
            headers,
            content_headers,
            content: self.content,
        })
    }
}

/// The payload's Content-Type value (trimmed) in a CPIM body, found
/// without parsing the message: the first `Content-Type` line of the MIME
/// headers, which start after the first empty line. `None` when the body
/// is cut before that line or has none (e.g. the first chunk of a message
/// whose headers did not fit), or the value is not UTF-8. The receiving
/// chat uses it to decide on `accept-wrapped-types` from a message's
/// first chunk; [`CpimMessage::parse`] still checks the whole message.
pub fn peek_content_type(body: &[u8]) -> Option<&str> {
    let mut pos = if body.starts_with(b"\r\n") {
        2
    } else {
        memchr::memmem::find(body, b"\r\n\r\n")? + 4
    };
    loop {
        let rest = &body[pos..];
        let end = memchr::memmem::find(rest, b"\r\n")?;
        let line = &rest[..end];
        if line.is_empty() {
            return None;
        }
        const NAME: &[u8] = b"content-type:";
        if line.len() >= NAME.len() && line[..NAME.len()].eq_ignore_ascii_case(NAME) {
            return std::str::from_utf8(&line[NAME.len()..]).ok().map(str::trim);
        }
        pos += end + 2;
    }
}

// =================================================================== parser

struct Parser {
    /// The default namespace in force.
    default_ns: String,
    /// Declared prefixes, latest declaration last.
    prefixes: Vec<(String, String)>,
    line_no: usize,
}

impl Parser {
    fn new() -> Self {
        Parser {
            default_ns: CPIM_NAMESPACE.to_string(),
            prefixes: Vec::new(),
            line_no: 0,
        }
    }

    fn run(mut self, body: &Bytes) -> Result<CpimMessage, CpimError> {
        if body.is_empty() {
            return Err(CpimError::new(CpimErrorKind::Empty, 1, b""));
        }
        let mut pos = 0;
        // A chat message has From, To and DateTime, and one MIME header.
        let mut headers = Vec::with_capacity(4);
        loop {
            let line = self
                .next_line(body, &mut pos)?
                .ok_or_else(|| self.eof_error(body, pos, CpimErrorKind::MissingHeaderEnd))?;
            if line.is_empty() {
                break;
            }
            headers.push(self.message_header(line)?);
        }
        let mut content_headers = Vec::with_capacity(2);
        loop {
            let line = self
                .next_line(body, &mut pos)?
                .ok_or_else(|| self.eof_error(body, pos, CpimErrorKind::MissingContentHeaderEnd))?;
            if line.is_empty() {
                break;
            }
            content_headers.push(self.content_header(line)?);
        }
        Ok(CpimMessage {
            headers,
            content_headers,
            content: body.slice(pos..),
        })
    }

    /// The next CRLF-terminated line (without CRLF), or `None` when the input
    /// has no further complete line.
    fn next_line<'a>(
        &mut self,
        body: &'a [u8],
        pos: &mut usize,
    ) -> Result<Option<&'a [u8]>, CpimError> {
        let rest = &body[*pos..];
        let Some(lf) = memchr::memchr(b'\n', rest) else {
            return Ok(None);
        };
        self.line_no += 1;
        if lf == 0 || rest[lf - 1] != b'\r' {
            return Err(CpimError::new(
                CpimErrorKind::BareLineFeed,
                self.line_no,
                &rest[..lf],
            ));
        }
        *pos += lf + 1;
        Ok(Some(&rest[..lf - 1]))
    }

    /// The error for input that ends before an expected empty line. It
    /// names the unterminated last line (`body[pos..]`) if there is one, else
    /// the last complete line.
    fn eof_error(&self, body: &[u8], pos: usize, kind: CpimErrorKind) -> CpimError {
        if pos < body.len() {
            return CpimError::new(kind, self.line_no + 1, &body[pos..]);
        }
        let done = body[..pos].strip_suffix(b"\r\n").unwrap_or(&body[..pos]);
        let start = memchr::memrchr(b'\n', done).map_or(0, |i| i + 1);
        CpimError::new(kind, self.line_no.max(1), &done[start..])
    }

    fn err(&self, kind: CpimErrorKind, line: &[u8]) -> CpimError {
        CpimError::new(kind, self.line_no, line)
    }

    fn message_header(&mut self, raw: &[u8]) -> Result<CpimHeader, CpimError> {
        let line =
            std::str::from_utf8(raw).map_err(|_| self.err(CpimErrorKind::InvalidUtf8, raw))?;
        let colon = line
            .find(':')
            .ok_or_else(|| self.err(CpimErrorKind::MissingColon, raw))?;
        let full = &line[..colon];
        let (prefix, name) = match full.split_once('.') {
            Some((p, n)) => (Some(p), n),
            None => (None, full),
        };
        if !is_name(name) || !prefix.is_none_or(is_name) {
            return Err(self.err(CpimErrorKind::BadHeaderName, raw));
        }
        let namespace = match prefix {
            None => self.default_ns.clone(),
            Some(p) => match self.prefixes.iter().rev().find(|(q, _)| q == p) {
                Some((_, ns)) => ns.clone(),
                None => return Err(self.err(CpimErrorKind::UndeclaredPrefix(p.to_string()), raw)),
            },
        };
        let mut rest = &line[colon + 1..];
        let mut params = Vec::new();
        while let Some(after) = rest.strip_prefix(';') {
            let end = param_end(after).ok_or_else(|| self.err(CpimErrorKind::BadParameter, raw))?;
            let (pname, pvalue) = after[..end]
                .split_once('=')
                .ok_or_else(|| self.err(CpimErrorKind::BadParameter, raw))?;
            if !is_name(pname) || pvalue.is_empty() {
                return Err(self.err(CpimErrorKind::BadParameter, raw));
            }
            params.push((pname.to_string(), pvalue.to_string()));
            rest = &after[end..];
        }
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| self.err(CpimErrorKind::MissingSpace, raw))?;
        let header = CpimHeader {
            prefix: prefix.map(str::to_string),
            name: name.to_string(),
            namespace,
            params,
            value: value.to_string(),
        };
        if header.namespace == CPIM_NAMESPACE {
            self.check_standard(&header, raw)?;
        }
        Ok(header)
    }

    /// Checks the value of a standard header and applies NS declarations.
    fn check_standard(&mut self, h: &CpimHeader, raw: &[u8]) -> Result<(), CpimError> {
        match h.name.as_str() {
            "From" | "To" | "cc" => {
                identity_parts(&h.value).ok_or_else(|| self.err(CpimErrorKind::BadAddress, raw))?;
            }
            "DateTime" => {
                DateTime::parse(&h.value)
                    .ok_or_else(|| self.err(CpimErrorKind::BadDateTime, raw))?;
            }
            "NS" => {
                let (prefix, uri) =
                    parse_ns(&h.value).ok_or_else(|| self.err(CpimErrorKind::BadNamespace, raw))?;
                match prefix {
                    Some(p) => self.prefixes.push((p.to_string(), uri.to_string())),
                    None => self.default_ns = uri.to_string(),
                }
            }
            "Require" if !h.value.split(',').all(|n| is_header_name(n.trim())) => {
                return Err(self.err(CpimErrorKind::BadRequire, raw));
            }
            _ => {}
        }
        Ok(())
    }

    fn content_header(&self, raw: &[u8]) -> Result<ContentHeader, CpimError> {
        let line =
            std::str::from_utf8(raw).map_err(|_| self.err(CpimErrorKind::InvalidUtf8, raw))?;
        let colon = line
            .find(':')
            .ok_or_else(|| self.err(CpimErrorKind::MissingColon, raw))?;
        let name = &line[..colon];
        if !is_mime_name(name) {
            return Err(self.err(CpimErrorKind::BadHeaderName, raw));
        }
        Ok(ContentHeader {
            name: name.to_string(),
            value: line[colon + 1..]
                .trim_start_matches([' ', '\t'])
                .to_string(),
        })
    }
}

// ================================================================== helpers

/// The standard header names of RFC 3862 §4.
const STANDARD_HEADERS: [&str; 7] = ["From", "To", "cc", "DateTime", "Subject", "NS", "Require"];

/// Error texts quote at most this many characters of the offending line.
const MAX_ERROR_TEXT: usize = 200;

/// RFC 3862 NAMECHAR: US-ASCII except controls, SEPARATORS and `.`.
fn is_name_char(c: u8) -> bool {
    c.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}.".contains(&c)
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_name_char)
}

/// `[prefix.]name`.
fn is_header_name(s: &str) -> bool {
    match s.split_once('.') {
        Some((p, n)) => is_name(p) && is_name(n),
        None => is_name(s),
    }
}

/// RFC 3862 TOKENCHAR: a name character, `.` or any non-ASCII character.
fn is_token_char(c: char) -> bool {
    !c.is_ascii() || c == '.' || (c as u32) < 0x80 && is_name_char(c as u8)
}

/// An RFC 5322 field name: printable ASCII except `:`.
fn is_mime_name(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|c| c.is_ascii_graphic() && c != b':')
}

/// `scheme:rest` with no spaces, controls or angle brackets.
fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    scheme_ok
        && !rest.is_empty()
        && !s
            .chars()
            .any(|c| c.is_control() || c == ' ' || c == '<' || c == '>')
}

/// `[prefix] <uri>` (the space is optional).
fn parse_ns(value: &str) -> Option<(Option<&str>, &str)> {
    let inner = value.strip_suffix('>')?;
    let open = inner.find('<')?;
    let uri = &inner[open + 1..];
    if !is_uri(uri) {
        return None;
    }
    let prefix = inner[..open].trim_end_matches(' ');
    if prefix.is_empty() {
        Some((None, uri))
    } else if is_name(prefix) {
        Some((Some(prefix), uri))
    } else {
        None
    }
}

/// Where a `;name=value` parameter ends: at the next `;` or space outside
/// a quoted string. `None` for an unterminated quote.
fn param_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b';' | b' ' => return Some(i),
            b'"' => {
                let close = find_unquoted_end(&s[i + 1..])?;
                i += close + 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Some(b.len())
}

/// In text just after an opening quote, the index of the closing quote
/// (backslash escapes skipped).
fn find_unquoted_end(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// The first `c` outside double quotes.
/// A From, To or cc value taken apart without copying (see
/// [`Identity::parse`]): the display name as written (quotes included;
/// `None` without one) and the URI, or `None` when the value is malformed.
/// The parser checks values with it, so reading a message allocates no
/// identity it does not keep.
fn identity_parts(value: &str) -> Option<(Option<&str>, &str)> {
    let inner = value.strip_suffix('>')?;
    let open = find_unquoted(inner, b'<')?;
    let uri = &inner[open + 1..];
    if !is_uri(uri) {
        return None;
    }
    let name = inner[..open].trim_end_matches(' ');
    if name.is_empty() {
        return Some((None, uri));
    }
    if let Some(quoted) = name.strip_prefix('"') {
        quoted.strip_suffix('"')?;
        if find_unquoted_end(quoted)? != quoted.len() - 1 {
            return None;
        }
    } else if !name
        .split(' ')
        .all(|w| !w.is_empty() && w.chars().all(is_token_char))
    {
        return None;
    }
    Some((Some(name), uri))
}

fn find_unquoted(s: &str, c: u8) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            i += find_unquoted_end(&s[i + 1..])? + 2;
            continue;
        }
        if b[i] == c {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Applies the RFC 3862 §2.3 escapes: `\uXXXX`, `\b \t \n \r \" \' \\`;
/// any other escaped character stands for itself, and a lone backslash at
/// the end is dropped.
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            None => {}
            Some('b') => out.push('\u{8}'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                {
                    Some(decoded) => {
                        out.push(decoded);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    None => out.push('u'),
                }
            }
            Some(other) => out.push(other),
        }
    }
    out
}

/// Escapes backslashes and control characters (and `"` inside a quoted
/// string) as RFC 3862 §2.3.1 requires of a generator.
fn escape_into(s: &str, quoted: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '"' if quoted => out.push_str("\\\""),
            c if c.is_ascii_control() => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
}

/// Rejects CR, LF and other controls (TAB aside) in a value written raw.
fn check_value(v: &str) -> Result<(), CpimBuildError> {
    if v.chars().any(|c| c.is_ascii_control() && c != '\t') {
        Err(CpimBuildError::ControlCharacter(v.to_string()))
    } else {
        Ok(())
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date. Counts in 400-year
/// eras (146097 days each) of years starting in March, so that the leap day
/// falls at the end of its year.
fn days_from_civil(year: i64, month: u8, day: u8) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let march_month = (m + 9) % 12; // March = 0 ... February = 11
    let day_of_year = (153 * march_month + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * march_month + 2) / 5 + 1) as u8;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    } as u8;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
