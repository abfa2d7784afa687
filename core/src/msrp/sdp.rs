//! The SDP media description of an MSRP session (RFC 4975 §8, with the
//! `a=setup` attribute of RFC 6135).
//!
//! Two endpoints agree on an MSRP session by exchanging one media section
//! each through SIP offer/answer:
//!
//! ```text
//! m=message 7394 TCP/MSRP *
//! c=IN IP4 alice.example.com
//! a=path:msrp://alice.example.com:7394/2s93i9ek2a;tcp
//! a=accept-types:message/cpim text/plain
//! a=accept-wrapped-types:*
//! a=max-size:1048576
//! a=setup:actpass
//! ```
//!
//! [`MsrpMedia::parse`] reads one such section, starting at its `m=` line
//! (the session-level lines of the SDP are not its business), and
//! [`MsrpMedia::encode`] writes one. Line ends may be CRLF or LF on input;
//! output uses CRLF.
//!
//! The attributes MSRP defines become typed fields; every other `a=` line is
//! kept, name and value as written, in [`MsrpMedia::attributes`], and other
//! media-level lines (`i=`, `b=`, `k=`) in [`MsrpMedia::other_lines`], so a
//! description passes through unchanged in meaning. Encoding writes a fixed
//! order: `m=`, `i=`, `c=`, `b=`/`k=`, then `path`, `accept-types`,
//! `accept-wrapped-types`, `max-size`, `setup` and the other attributes, so
//! text in that order comes back byte for byte.
//!
//! Parsing does not demand `a=path` or `a=accept-types` (RFC 4975 does):
//! an absent one reads as an empty list, and whoever negotiates the session
//! decides what to do without it.

use std::fmt;

use super::error::UriError;
use super::uri::{HostKind, Uri};

/// The transport of the `m=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaProtocol {
    /// `TCP/MSRP`: `msrp://` URIs.
    Tcp,
    /// `TCP/TLS/MSRP`: `msrps://` URIs.
    Tls,
}

impl MediaProtocol {
    /// The protocol as the `m=` line spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaProtocol::Tcp => "TCP/MSRP",
            MediaProtocol::Tls => "TCP/TLS/MSRP",
        }
    }

    /// Reads `TCP/MSRP` or `TCP/TLS/MSRP` (exact case, as RFC 4975 writes
    /// them).
    pub fn parse(text: &str) -> Option<MediaProtocol> {
        match text {
            "TCP/MSRP" => Some(MediaProtocol::Tcp),
            "TCP/TLS/MSRP" => Some(MediaProtocol::Tls),
            _ => None,
        }
    }
}

/// The `a=setup` role of RFC 4145, as RFC 6135 applies it to MSRP: who
/// opens the TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`: this endpoint connects.
    Active,
    /// `passive`: this endpoint waits for the connection.
    Passive,
    /// `actpass`: either; the answerer chooses.
    ActPass,
    /// `holdconn`: no connection yet. RFC 6135 forbids sending it and asks
    /// a receiver to act as if no `a=setup` were present.
    HoldConn,
}

impl Setup {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::ActPass => "actpass",
            Setup::HoldConn => "holdconn",
        }
    }

    /// Reads one of the four values (exact case).
    pub fn parse(text: &str) -> Option<Setup> {
        match text {
            "active" => Some(Setup::Active),
            "passive" => Some(Setup::Passive),
            "actpass" => Some(Setup::ActPass),
            "holdconn" => Some(Setup::HoldConn),
            _ => None,
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `c=` line: `c=<net type> <address type> <address>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection {
    /// Normally `IN`.
    pub net_type: String,
    /// `IP4` or `IP6`.
    pub addr_type: String,
    /// An IP address or a fully qualified domain name.
    pub address: String,
}

impl Connection {
    /// `IN IP4 <host>` or, for an IPv6 address, `IN IP6 <host>`.
    pub fn for_host(host: &str) -> Connection {
        let ip6 = host.parse::<std::net::Ipv6Addr>().is_ok();
        Connection {
            net_type: "IN".to_string(),
            addr_type: if ip6 { "IP6" } else { "IP4" }.to_string(),
            address: host.to_string(),
        }
    }
}

/// An attribute line MSRP does not define: `a=name` or `a=name:value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    /// The name before the first colon.
    pub name: String,
    /// The text after the first colon; `None` for a flag attribute without
    /// a colon.
    pub value: Option<String>,
}

/// One MSRP media section.
///
/// ```
/// use msgwire::msrp::sdp::{MediaProtocol, MsrpMedia, Setup};
///
/// let text = "m=message 7394 TCP/MSRP *\r\n\
/// c=IN IP4 alice.example.com\r\n\
/// a=path:msrp://alice.example.com:7394/2s93i9ek2a;tcp\r\n\
/// a=accept-types:message/cpim text/plain\r\n\
/// a=setup:actpass\r\n";
/// let media = MsrpMedia::parse(text).unwrap();
/// assert_eq!(media.port, 7394);
/// assert_eq!(media.protocol, MediaProtocol::Tcp);
/// assert_eq!(media.path[0].to_string(), "msrp://alice.example.com:7394/2s93i9ek2a;tcp");
/// assert_eq!(media.accept_types, ["message/cpim", "text/plain"]);
/// assert_eq!(media.setup, Some(Setup::ActPass));
/// assert_eq!(media.encode().unwrap(), text);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsrpMedia {
    /// The `m=` port (RFC 4975: the port of the endpoint's URI; 0 rejects
    /// the stream in an answer).
    pub port: u16,
    /// `TCP/MSRP` or `TCP/TLS/MSRP`.
    pub protocol: MediaProtocol,
    /// The format list of the `m=` line; MSRP uses `["*"]`.
    pub formats: Vec<String>,
    /// The `c=` line, if the section has one.
    pub connection: Option<Connection>,
    /// `a=path`: the URIs to reach the endpoint, first hop first, the
    /// endpoint's own URI last.
    pub path: Vec<Uri>,
    /// `a=accept-types`, entries as written, in order.
    pub accept_types: Vec<String>,
    /// `a=accept-wrapped-types`, entries as written, in order.
    pub accept_wrapped_types: Vec<String>,
    /// `a=max-size` in octets.
    pub max_size: Option<u64>,
    /// `a=setup` (RFC 6135).
    pub setup: Option<Setup>,
    /// Every other `a=` line, in order.
    pub attributes: Vec<Attribute>,
    /// Other media-level lines (`i=`, `b=`, `k=`, ...) as written, without
    /// their line ends, in order.
    pub other_lines: Vec<String>,
}

impl MsrpMedia {
    /// The description a session advertises for `path` (its own URI last):
    /// the port, protocol and `c=` address come from that last URI, the
    /// format list is `*`, and the accept lists are `accept_types` and
    /// `["*"]` for wrapped types. Other fields are empty.
    pub fn for_path(path: Vec<Uri>, accept_types: Vec<String>) -> MsrpMedia {
        let own = path.last();
        MsrpMedia {
            port: own.and_then(|u| u.port).unwrap_or(0),
            protocol: if own.is_some_and(|u| u.secure) {
                MediaProtocol::Tls
            } else {
                MediaProtocol::Tcp
            },
            formats: vec!["*".to_string()],
            connection: own.map(|u| Connection::for_host(&u.host)),
            path,
            accept_types,
            accept_wrapped_types: vec!["*".to_string()],
            max_size: None,
            setup: None,
            attributes: Vec::new(),
            other_lines: Vec::new(),
        }
    }

    /// Whether a message of `content_type` may be sent to this endpoint
    /// unwrapped: it matches an entry of `accept_types` (see
    /// [`media_type_matches`]).
    pub fn accepts(&self, content_type: &str) -> bool {
        self.accept_types
            .iter()
            .any(|p| media_type_matches(p, content_type))
    }

    /// Whether `content_type` may be sent wrapped in a container this
    /// endpoint accepts (such as `message/cpim`): it matches an entry of
    /// `accept_wrapped_types` or of `accept_types` (RFC 4975 §8.6: a type
    /// acceptable as a root body is acceptable wrapped too).
    pub fn accepts_wrapped(&self, content_type: &str) -> bool {
        self.accepts(content_type)
            || self
                .accept_wrapped_types
                .iter()
                .any(|p| media_type_matches(p, content_type))
    }

    /// Parses one media section from its `m=` line to its end (see the
    /// module docs). Empty lines are skipped.
    pub fn parse(text: &str) -> Result<MsrpMedia, SdpError> {
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.is_empty());
        let Some((no, first)) = lines.next() else {
            return Err(SdpError::new(SdpErrorKind::MissingMediaLine, 1, ""));
        };
        let m = first
            .strip_prefix("m=")
            .ok_or_else(|| SdpError::new(SdpErrorKind::MissingMediaLine, no, first))?;
        let mut media = parse_media_line(m).map_err(|kind| SdpError::new(kind, no, first))?;
        for (no, line) in lines {
            let e = |kind| SdpError::new(kind, no, line);
            let b = line.as_bytes();
            if b.len() < 2 || b[1] != b'=' || !b[0].is_ascii_lowercase() {
                return Err(e(SdpErrorKind::BadLine));
            }
            let rest = &line[2..];
            match b[0] {
                b'm' => return Err(e(SdpErrorKind::ExtraMediaLine)),
                b'c' => {
                    if media.connection.is_some() {
                        return Err(e(SdpErrorKind::DuplicateLine("c".into())));
                    }
                    media.connection =
                        Some(parse_connection(rest).ok_or_else(|| e(SdpErrorKind::BadConnection))?);
                }
                b'a' => media.attribute(rest).map_err(e)?,
                _ => media.other_lines.push(line.to_string()),
            }
        }
        Ok(media)
    }

    /// Writes the section with CRLF line ends, `m=` first (see the module
    /// docs for the order). Fails, writing nothing, when a field would not
    /// survive the trip: a line break in a value, an attribute name that is
    /// empty or holds a colon, an invalid path URI, an empty format list.
    pub fn encode(&self) -> Result<String, SdpBuildError> {
        self.validate()?;
        let mut out = String::with_capacity(256);
        let line = |out: &mut String, parts: &[&str]| {
            for p in parts {
                out.push_str(p);
            }
            out.push_str("\r\n");
        };
        let port = self.port.to_string();
        line(
            &mut out,
            &[
                "m=message ",
                &port,
                " ",
                self.protocol.as_str(),
                " ",
                &self.formats.join(" "),
            ],
        );
        let (info, rest): (Vec<&String>, Vec<&String>) =
            self.other_lines.iter().partition(|l| l.starts_with("i="));
        for l in info {
            line(&mut out, &[l]);
        }
        if let Some(c) = &self.connection {
            line(
                &mut out,
                &["c=", &c.net_type, " ", &c.addr_type, " ", &c.address],
            );
        }
        for l in rest {
            line(&mut out, &[l]);
        }
        if !self.path.is_empty() {
            let uris: Vec<String> = self.path.iter().map(Uri::to_string).collect();
            line(&mut out, &["a=path:", &uris.join(" ")]);
        }
        if !self.accept_types.is_empty() {
            line(&mut out, &["a=accept-types:", &self.accept_types.join(" ")]);
        }
        if !self.accept_wrapped_types.is_empty() {
            line(
                &mut out,
                &[
                    "a=accept-wrapped-types:",
                    &self.accept_wrapped_types.join(" "),
                ],
            );
        }
        if let Some(n) = self.max_size {
            line(&mut out, &["a=max-size:", &n.to_string()]);
        }
        if let Some(s) = self.setup {
            line(&mut out, &["a=setup:", s.as_str()]);
        }
        for a in &self.attributes {
            match &a.value {
                Some(v) => line(&mut out, &["a=", &a.name, ":", v]),
                None => line(&mut out, &["a=", &a.name]),
            }
        }
        Ok(out)
    }

    /// Checks what [`encode`](Self::encode) checks.
    pub fn validate(&self) -> Result<(), SdpBuildError> {
        if self.formats.is_empty() {
            return Err(SdpBuildError::NoFormats);
        }
        for f in &self.formats {
            if f.is_empty() || f.contains([' ', '\r', '\n']) {
                return Err(SdpBuildError::BadValue(f.clone()));
            }
        }
        for uri in &self.path {
            uri.validate().map_err(SdpBuildError::BadUri)?;
        }
        let texts = self
            .accept_types
            .iter()
            .chain(&self.accept_wrapped_types)
            .chain(&self.other_lines);
        for t in texts {
            check_line_text(t)?;
        }
        for t in self.accept_types.iter().chain(&self.accept_wrapped_types) {
            if t.is_empty() {
                return Err(SdpBuildError::BadValue(t.clone()));
            }
        }
        if let Some(c) = &self.connection {
            for t in [&c.net_type, &c.addr_type, &c.address] {
                if t.is_empty() || t.contains([' ', '\r', '\n']) {
                    return Err(SdpBuildError::BadValue(t.clone()));
                }
            }
        }
        for a in &self.attributes {
            if a.name.is_empty() || a.name.contains([':', ' ', '\r', '\n']) {
                return Err(SdpBuildError::BadAttributeName(a.name.clone()));
            }
            if let Some(v) = &a.value {
                check_line_text(v)?;
            }
        }
        for l in &self.other_lines {
            let b = l.as_bytes();
            if b.len() < 2 || b[1] != b'=' || matches!(b[0], b'm' | b'c' | b'a') {
                return Err(SdpBuildError::BadValue(l.clone()));
            }
        }
        Ok(())
    }

    /// Applies one `a=` line (`rest` is the text after `a=`).
    fn attribute(&mut self, rest: &str) -> Result<(), SdpErrorKind> {
        let (name, value) = match rest.split_once(':') {
            Some((n, v)) => (n, Some(v)),
            None => (rest, None),
        };
        if name.is_empty() {
            return Err(SdpErrorKind::BadLine);
        }
        let known = matches!(
            name,
            "path" | "accept-types" | "accept-wrapped-types" | "max-size" | "setup"
        );
        let Some(value) = value.filter(|_| known) else {
            self.attributes.push(Attribute {
                name: name.to_string(),
                value: value.map(str::to_string),
            });
            return Ok(());
        };
        let duplicate = || SdpErrorKind::DuplicateLine(format!("a={name}"));
        match name {
            "path" => {
                if !self.path.is_empty() {
                    return Err(duplicate());
                }
                self.path = value
                    .split_ascii_whitespace()
                    .map(str::parse)
                    .collect::<Result<_, UriError>>()
                    .map_err(SdpErrorKind::BadPath)?;
                if self.path.is_empty() {
                    return Err(SdpErrorKind::EmptyValue);
                }
            }
            "accept-types" | "accept-wrapped-types" => {
                let list = if name == "accept-types" {
                    &mut self.accept_types
                } else {
                    &mut self.accept_wrapped_types
                };
                if !list.is_empty() {
                    return Err(duplicate());
                }
                *list = split_formats(value).ok_or(SdpErrorKind::BadFormatList)?;
                if list.is_empty() {
                    return Err(SdpErrorKind::EmptyValue);
                }
            }
            "max-size" => {
                if self.max_size.is_some() {
                    return Err(duplicate());
                }
                let digits = !value.is_empty() && value.bytes().all(|c| c.is_ascii_digit());
                self.max_size = Some(
                    digits
                        .then(|| value.parse().ok())
                        .flatten()
                        .ok_or(SdpErrorKind::BadMaxSize)?,
                );
            }
            _ => {
                if self.setup.is_some() {
                    return Err(duplicate());
                }
                self.setup = Some(Setup::parse(value).ok_or(SdpErrorKind::BadSetup)?);
            }
        }
        Ok(())
    }
}

/// What was wrong with a media section (see [`SdpError`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdpErrorKind {
    /// The text is empty or does not start with an `m=` line.
    MissingMediaLine,
    /// The `m=` line is not `message <port> <protocol> <format>...`.
    BadMediaLine,
    /// The `m=` line's media is not `message`.
    NotMessage(String),
    /// The `m=` line's protocol is neither `TCP/MSRP` nor `TCP/TLS/MSRP`.
    UnsupportedProtocol(String),
    /// A second `m=` line: the text holds more than one media section.
    ExtraMediaLine,
    /// A line is not `<letter>=<text>`, or an `a=` line has no name.
    BadLine,
    /// The `c=` line is not `<net type> <address type> <address>`.
    BadConnection,
    /// A line that may appear once appears again (`c`, `a=path`, ...).
    DuplicateLine(String),
    /// A URI of `a=path` is invalid.
    BadPath(UriError),
    /// An accept-types list has an unterminated quoted string.
    BadFormatList,
    /// `a=max-size` is not a number of octets.
    BadMaxSize,
    /// `a=setup` is not `active`, `passive`, `actpass` or `holdconn`.
    BadSetup,
    /// `a=path`, `a=accept-types` or `a=accept-wrapped-types` has no entry.
    EmptyValue,
}

/// A media section could not be parsed: a problem with the input text. In
/// SIP the usual answer is a 488 to the offer that carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError {
    /// What is wrong.
    pub kind: SdpErrorKind,
    /// The offending line, counted from 1 at the start of the text given.
    pub line: usize,
    /// The offending line's text without its line end.
    pub text: String,
}

impl SdpError {
    fn new(kind: SdpErrorKind, line: usize, text: &str) -> Self {
        SdpError {
            kind,
            line,
            text: text.to_string(),
        }
    }
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            SdpErrorKind::MissingMediaLine => f.write_str("expected an m= line")?,
            SdpErrorKind::BadMediaLine => f.write_str("malformed m= line")?,
            SdpErrorKind::NotMessage(m) => write!(f, "media {m:?} is not 'message'")?,
            SdpErrorKind::UnsupportedProtocol(p) => write!(f, "protocol {p:?} is not MSRP")?,
            SdpErrorKind::ExtraMediaLine => f.write_str("a second media section")?,
            SdpErrorKind::BadLine => f.write_str("malformed line")?,
            SdpErrorKind::BadConnection => f.write_str("malformed c= line")?,
            SdpErrorKind::DuplicateLine(l) => write!(f, "{l} appears twice")?,
            SdpErrorKind::BadPath(e) => write!(f, "invalid URI in a=path: {e}")?,
            SdpErrorKind::BadFormatList => f.write_str("malformed media type list")?,
            SdpErrorKind::BadMaxSize => f.write_str("a=max-size is not a number")?,
            SdpErrorKind::BadSetup => f.write_str("invalid a=setup value")?,
            SdpErrorKind::EmptyValue => f.write_str("attribute without entries")?,
        }
        write!(f, ": {:?}", self.text)
    }
}

impl std::error::Error for SdpError {}

/// An [`MsrpMedia`] cannot be encoded as it is. A bug or bad input in the
/// caller: the text would not parse back to the same description, or a
/// value would inject extra lines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpBuildError {
    /// The `m=` format list is empty.
    #[error("the m= line needs at least one format")]
    NoFormats,
    /// A path URI does not validate.
    #[error("invalid path URI: {0}")]
    BadUri(UriError),
    /// An attribute name is empty or holds a colon, space or line break.
    #[error("invalid attribute name {0:?}")]
    BadAttributeName(String),
    /// A value is empty where it cannot be, holds a line break, or (for
    /// single-word fields) a space; or an extra line is not `x=...`.
    #[error("invalid value {0:?}")]
    BadValue(String),
}

fn parse_media_line(m: &str) -> Result<MsrpMedia, SdpErrorKind> {
    let mut parts = m.split(' ');
    let (Some(media), Some(port), Some(proto)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(SdpErrorKind::BadMediaLine);
    };
    let formats: Vec<String> = parts.map(str::to_string).collect();
    if formats.is_empty() || formats.iter().any(String::is_empty) {
        return Err(SdpErrorKind::BadMediaLine);
    }
    if media != "message" {
        return Err(SdpErrorKind::NotMessage(media.to_string()));
    }
    let port_ok = !port.is_empty() && port.bytes().all(|c| c.is_ascii_digit());
    let port = port_ok
        .then(|| port.parse::<u16>().ok())
        .flatten()
        .ok_or(SdpErrorKind::BadMediaLine)?;
    let protocol = MediaProtocol::parse(proto)
        .ok_or_else(|| SdpErrorKind::UnsupportedProtocol(proto.to_string()))?;
    Ok(MsrpMedia {
        port,
        protocol,
        formats,
        connection: None,
        path: Vec::new(),
        accept_types: Vec::new(),
        accept_wrapped_types: Vec::new(),
        max_size: None,
        setup: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    })
}

fn parse_connection(rest: &str) -> Option<Connection> {
    let mut parts = rest.split(' ');
    let (net_type, addr_type, address) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || [net_type, addr_type, address].iter().any(|p| p.is_empty()) {
        return None;
    }
    Some(Connection {
        net_type: net_type.to_string(),
        addr_type: addr_type.to_string(),
        address: address.to_string(),
    })
}

/// Splits a format list at spaces outside quoted parameter values
/// (`text/plain;x="a b"` is one entry). `None` for an unterminated quote.
fn split_formats(value: &str) -> Option<Vec<String>> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        if quoted {
            current.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
        } else if c == ' ' || c == '\t' {
            if !current.is_empty() {
                entries.push(std::mem::take(&mut current));
            }
        } else {
            quoted = c == '"';
            current.push(c);
        }
    }
    if quoted {
        return None;
    }
    if !current.is_empty() {
        entries.push(current);
    }
    Some(entries)
}

fn check_line_text(t: &str) -> Result<(), SdpBuildError> {
    if t.contains(['\r', '\n']) {
        Err(SdpBuildError::BadValue(t.to_string()))
    } else {
        Ok(())
    }
}

/// Whether the media type `content_type` matches the accept-types entry
/// `pattern` (RFC 4975 §8.6): `*` matches every type, `type/*` every
/// subtype of `type`, anything else the same `type/subtype`. Case is
/// ignored, and so are parameters on either side (an entry with parameters
/// matches the same entry without them).
pub fn media_type_matches(pattern: &str, content_type: &str) -> bool {
    // Runs for every message sent and received: compared in place,
    // without lower-cased copies.
    fn bare(t: &str) -> &str {
        let end = t.bytes().position(|b| b == b';').unwrap_or(t.len());
        t[..end].trim()
    }
    let (pattern, ct) = (bare(pattern), bare(content_type));
    if pattern == "*" {
        return !ct.is_empty();
    }
    match (pattern.split_once('/'), ct.split_once('/')) {
        (Some((pt, "*")), Some((ct_type, _))) => pt.eq_ignore_ascii_case(ct_type),
        (Some(_), Some(_)) => pattern.eq_ignore_ascii_case(ct),
        _ => false,
    }
}

/// The host kind of a URI, for callers choosing `IP4`/`IP6` themselves.
pub fn address_type(uri: &Uri) -> &'static str {
    match uri.host_kind() {
        HostKind::Ipv6 => "IP6",
        HostKind::Ipv4 | HostKind::Name => "IP4",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OFFER: &str = "m=message 7394 TCP/MSRP *\r\n\
c=IN IP4 alice.example.com\r\n\
a=path:msrp://relay.example.net:2855/aa11;tcp msrp://alice.example.com:7394/2s93i93idj;tcp\r\n\
a=accept-types:message/cpim text/plain text/html\r\n\
a=accept-wrapped-types:*\r\n\
a=max-size:65536\r\n\
a=setup:actpass\r\n\
a=sendrecv\r\n\
a=file-selector:name:\"x y.txt\" size:12\r\n";

    #[test]
    fn rfc4975_offer_with_extras() {
        let m = MsrpMedia::parse(OFFER).unwrap();
        assert_eq!((m.port, m.protocol), (7394, MediaProtocol::Tcp));
        assert_eq!(m.formats, ["*"]);
        let c = m.connection.as_ref().unwrap();
        assert_eq!(
            (
                c.net_type.as_str(),
                c.addr_type.as_str(),
                c.address.as_str()
            ),
            ("IN", "IP4", "alice.example.com")
        );
        let path: Vec<String> = m.path.iter().map(Uri::to_string).collect();
        assert_eq!(
            path,
            [
                "msrp://relay.example.net:2855/aa11;tcp",
                "msrp://alice.example.com:7394/2s93i93idj;tcp"
            ]
        );
        assert_eq!(m.accept_types, ["message/cpim", "text/plain", "text/html"]);
        assert_eq!(m.accept_wrapped_types, ["*"]);
        assert_eq!(m.max_size, Some(65536));
        assert_eq!(m.setup, Some(Setup::ActPass));
        assert_eq!(
            m.attributes,
            [
                Attribute {
                    name: "sendrecv".into(),
                    value: None
                },
                Attribute {
                    name: "file-selector".into(),
                    value: Some("name:\"x y.txt\" size:12".into())
                },
            ]
        );
        assert_eq!(m.encode().unwrap(), OFFER);
    }

    #[test]
    fn lf_only_input_and_other_lines() {
        let text = "m=message 0 TCP/TLS/MSRP *\nb=AS:64\ni=chat\n\na=path:msrps://h:1/s;tcp\n";
        let m = MsrpMedia::parse(text).unwrap();
        assert_eq!((m.port, m.protocol), (0, MediaProtocol::Tls));
        assert_eq!(m.other_lines, ["b=AS:64", "i=chat"]);
        assert!(m.accept_types.is_empty() && m.accept_wrapped_types.is_empty());
        assert_eq!(m.setup, None);
        assert_eq!(
            m.encode().unwrap(),
            "m=message 0 TCP/TLS/MSRP *\r\ni=chat\r\nb=AS:64\r\na=path:msrps://h:1/s;tcp\r\n"
        );
    }

    #[test]
    fn quoted_accept_types() {
        let m = MsrpMedia::parse(
            "m=message 1 TCP/MSRP *\r\na=accept-types:text/plain;x=\"a b\"  text/html\r\n",
        )
        .unwrap();
        assert_eq!(m.accept_types, ["text/plain;x=\"a b\"", "text/html"]);
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, SdpErrorKind, usize)] = &[
            ("", SdpErrorKind::MissingMediaLine, 1),
            (
                "v=0\r\nm=message 1 TCP/MSRP *\r\n",
                SdpErrorKind::MissingMediaLine,
                1,
            ),
            ("m=message 1 TCP/MSRP\r\n", SdpErrorKind::BadMediaLine, 1),
            ("m=message x TCP/MSRP *\r\n", SdpErrorKind::BadMediaLine, 1),
            (
                "m=message 70000 TCP/MSRP *\r\n",
                SdpErrorKind::BadMediaLine,
                1,
            ),
            (
                "m=audio 1 TCP/MSRP *\r\n",
                SdpErrorKind::NotMessage("audio".into()),
                1,
            ),
            (
                "m=message 1 RTP/AVP 0\r\n",
                SdpErrorKind::UnsupportedProtocol("RTP/AVP".into()),
                1,
            ),
            (
                "m=message 1 TCP/MSRP *\r\nm=message 2 TCP/MSRP *\r\n",
                SdpErrorKind::ExtraMediaLine,
                2,
            ),
            (
                "m=message 1 TCP/MSRP *\r\nbogus\r\n",
                SdpErrorKind::BadLine,
                2,
            ),
            ("m=message 1 TCP/MSRP *\r\na=\r\n", SdpErrorKind::BadLine, 2),
            (
                "m=message 1 TCP/MSRP *\r\nc=IN IP4\r\n",
                SdpErrorKind::BadConnection,
                2,
            ),
            (
                "m=message 1 TCP/MSRP *\r\nc=IN IP4 a\r\nc=IN IP4 b\r\n",
                SdpErrorKind::DuplicateLine("c".into()),
                3,
            ),
            (
                "m=message 1 TCP/MSRP *\r\na=path:http://x\r\n",
                SdpErrorKind::BadPath(UriError::BadScheme("http".into())),
                2,
            ),
            (
                "m=message 1 TCP/MSRP *\r\na=path:\r\n",
                SdpErrorKind::EmptyValue,
                2,
            ),
            (
                "m=message 1 TCP/MSRP *\r\na=max-size:-1\r\n",
                SdpErrorKind::BadMaxSize,
                2,
            ),
            (
                "m=message 1 TCP/MSRP *\r\na=setup:both\r\n",
                SdpErrorKind::BadSetup,
                2,
            ),
            (
                "m=message 1 TCP/MSRP *\r\na=accept-types:a/b\r\na=accept-types:c/d\r\n",
                SdpErrorKind::DuplicateLine("a=accept-types".into()),
                3,
            ),
            (
                "m=message 1 TCP/MSRP *\r\na=accept-types:a/b;x=\"oops\r\n",
                SdpErrorKind::BadFormatList,
                2,
            ),
        ];
        for (text, kind, line) in cases {
            let e = MsrpMedia::parse(text).unwrap_err();
            assert_eq!((&e.kind, e.line), (kind, *line), "{text:?}");
        }
        let e = MsrpMedia::parse("m=message 1 TCP/MSRP *\r\na=setup:both\r\n").unwrap_err();
        assert_eq!(e.text, "a=setup:both");
        assert_eq!(
            e.to_string(),
            "line 2: invalid a=setup value: \"a=setup:both\""
        );
    }

    #[test]
    fn for_path_uses_the_endpoint_uri() {
        let path: Vec<Uri> = vec![
            "msrps://relay.example.net:2855/r;tcp".parse().unwrap(),
            "msrps://[2001:db8::1]:4321/abc;tcp".parse().unwrap(),
        ];
        let mut m = MsrpMedia::for_path(path, vec!["message/cpim".into(), "text/*".into()]);
        m.setup = Some(Setup::Active);
        assert_eq!(
            m.encode().unwrap(),
            "m=message 4321 TCP/TLS/MSRP *\r\n\
c=IN IP6 2001:db8::1\r\n\
a=path:msrps://relay.example.net:2855/r;tcp msrps://[2001:db8::1]:4321/abc;tcp\r\n\
a=accept-types:message/cpim text/*\r\n\
a=accept-wrapped-types:*\r\n\
a=setup:active\r\n"
        );
        assert_eq!(address_type(&m.path[1]), "IP6");
    }

    #[test]
    fn accept_type_matching() {
        for (pattern, ct, want) in [
            ("*", "text/plain", true),
            ("text/*", "text/html; charset=utf-8", true),
            ("text/*", "message/cpim", false),
            ("Message/CPIM", "message/cpim", true),
            ("text/plain;charset=utf-8", "text/plain", true),
            ("text/plain", "text/plain;charset=\"x\"", true),
            ("text/plain", "text/html", false),
            ("text/plain", "text", false),
            ("*", "", false),
        ] {
            assert_eq!(media_type_matches(pattern, ct), want, "{pattern} vs {ct}");
        }
        let m = MsrpMedia::parse(
            "m=message 1 TCP/MSRP *\r\na=accept-types:message/cpim text/plain\r\n\
             a=accept-wrapped-types:image/*\r\n",
        )
        .unwrap();
        assert!(m.accepts("message/cpim") && m.accepts("text/plain"));
        assert!(!m.accepts("image/png") && m.accepts_wrapped("image/png"));
        assert!(m.accepts_wrapped("text/plain") && !m.accepts_wrapped("application/json"));
    }

    #[test]
    fn encode_refuses_what_would_not_parse_back() {
        let base = MsrpMedia::parse("m=message 1 TCP/MSRP *\r\n").unwrap();
        let mut m = base.clone();
        m.accept_types = vec!["text/plain\r\na=evil".into()];
        assert!(matches!(m.encode(), Err(SdpBuildError::BadValue(_))));
        let mut m = base.clone();
        m.attributes.push(Attribute {
            name: "a:b".into(),
            value: None,
        });
        assert!(matches!(
            m.encode(),
            Err(SdpBuildError::BadAttributeName(_))
        ));
        let mut m = base.clone();
        m.formats.clear();
        assert_eq!(m.encode(), Err(SdpBuildError::NoFormats));
        let mut m = base.clone();
        m.other_lines.push("a=sneaky".into());
        assert!(matches!(m.encode(), Err(SdpBuildError::BadValue(_))));
        let mut m = base;
        let mut bad = Uri::new("host", Some(1), Some("s".into()));
        bad.host = "bad host".into();
        m.path.push(bad);
        assert!(matches!(m.encode(), Err(SdpBuildError::BadUri(_))));
    }

    proptest! {
        #[test]
        fn built_media_round_trip(
            port in any::<u16>(),
            tls in any::<bool>(),
            hosts in proptest::collection::vec("[a-z]{1,8}\\.example", 0..3),
            accept in proptest::collection::vec("[a-z]{1,6}/[a-z*]{1,6}", 0..4),
            wrapped in proptest::collection::vec("[a-z]{1,6}/[a-z*]{1,6}|\\*", 0..3),
            max_size in proptest::option::of(any::<u64>()),
            setup in proptest::option::of(prop_oneof![
                Just(Setup::Active), Just(Setup::Passive), Just(Setup::ActPass)]),
            attrs in proptest::collection::vec(("x-[a-z-]{1,8}", proptest::option::of("[ -~]{0,12}")), 0..3),
        ) {
            let path: Vec<Uri> = hosts
                .iter()
                .map(|h| {
                    let mut u = Uri::new(h.clone(), Some(port), Some("sess".into()));
                    u.secure = tls;
                    u
                })
                .collect();
            let mut m = MsrpMedia::for_path(path, accept);
            m.accept_wrapped_types = wrapped;
            m.max_size = max_size;
            m.setup = setup;
            m.attributes = attrs
                .into_iter()
                .map(|(name, value)| Attribute { name, value })
                .collect();
            let text = m.encode().unwrap();
            let back = MsrpMedia::parse(&text).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(back.encode().unwrap(), text);
        }

        #[test]
        fn any_text_parses_or_fails_without_panic(text in "(m=message [0-9]{1,5} TCP/MSRP \\*\r?\n)?([a-z=:; /*\"\r\n-]{0,60})") {
            if let Ok(m) = MsrpMedia::parse(&text) {
                // Encoding is a fixed point: what it writes reads back
                // and encodes to the same text.
                if let Ok(t) = m.encode() {
                    let parsed = MsrpMedia::parse(&t).unwrap();
                    prop_assert_eq!(parsed.encode().unwrap(), t);
                }
            }
        }
    }
}
