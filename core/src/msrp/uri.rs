//! MSRP URIs (RFC 4975 §9).
//!
//! ```text
//! msrp[s]://[userinfo@]host[:port][/session-id];transport[;name[=value]]...
//! ```
//!
//! Parsing is strict about the grammar (a typed [`UriError`] names the part
//! that is wrong) but keeps the text of every part as written, so formatting a
//! parsed URI gives back the same string. Equality follows RFC 4975 §6.1.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::error::UriError;

/// An MSRP URI.
///
/// Fields are public: build one directly or with [`Uri::new`], then adjust.
/// The host is stored without the brackets of an IPv6 literal; [`fmt::Display`]
/// adds them back.
///
/// ```
/// use msgwire::msrp::Uri;
/// let uri: Uri = "msrps://alice@[2001:db8::1]:2855/s3ss10n;tcp;foo=bar".parse().unwrap();
/// assert!(uri.secure);
/// assert_eq!(uri.host, "2001:db8::1");
/// assert_eq!(uri.to_string(), "msrps://alice@[2001:db8::1]:2855/s3ss10n;tcp;foo=bar");
/// // RFC 4975 §6.1: scheme and host compare without case, userinfo is ignored.
/// assert_eq!(uri, "MSRPS://[2001:DB8::1]:2855/s3ss10n;TCP;foo=bar".parse().unwrap());
/// ```
#[derive(Debug, Clone)]
pub struct Uri {
    /// `true` for `msrps` (TLS), `false` for `msrp`.
    pub secure: bool,
    /// The userinfo before `@`, if any (ignored by equality).
    pub user: Option<String>,
    /// Host name, IPv4 address, or IPv6 address (without brackets).
    pub host: String,
    /// The port, if the URI names one.
    pub port: Option<u16>,
    /// The session-id after the authority, if any (compared case-sensitively).
    pub session_id: Option<String>,
    /// The transport token, normally `tcp`.
    pub transport: String,
    /// URI parameters in order; a parameter without `=` has `None` as value.
    pub params: Vec<(String, Option<String>)>,
}

/// What kind of host a [`Uri`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKind {
    /// A DNS name.
    Name,
    /// A dotted IPv4 address.
    Ipv4,
    /// An IPv6 address (bracketed in the URI text).
    Ipv6,
}

impl Uri {
    /// A `msrp://host[:port]/session_id;tcp` URI with no user and no parameters.
    pub fn new(host: impl Into<String>, port: Option<u16>, session_id: Option<String>) -> Self {
        Uri {
            secure: false,
            user: None,
            host: host.into(),
            port,
            session_id,
            transport: "tcp".to_string(),
            params: Vec::new(),
        }
    }

    /// The scheme: `msrps` when [`secure`](Self::secure), else `msrp`.
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "msrps"
        } else {
            "msrp"
        }
    }

    /// Whether the host is a name, an IPv4 or an IPv6 address.
    pub fn host_kind(&self) -> HostKind {
        if self.host.parse::<Ipv6Addr>().is_ok() {
            HostKind::Ipv6
        } else if self.host.parse::<Ipv4Addr>().is_ok() {
            HostKind::Ipv4
        } else {
            HostKind::Name
        }
    }

    /// Checks the fields against the RFC 4975 grammar; [`fmt::Display`] of a
    /// URI that passes parses back to an equal URI.
    pub fn validate(&self) -> Result<(), UriError> {
        if let Some(user) = &self.user {
            check_userinfo(user)?;
        }
        check_host(&self.host)?;
        if let Some(sid) = &self.session_id {
            check_session_id(sid)?;
        }
        check_transport(&self.transport)?;
        for (name, value) in &self.params {
            check_param(name, value.as_deref())?;
        }
        Ok(())
    }

    /// Writes the URI text into `out` (same as [`fmt::Display`], without a
    /// formatter).
    pub fn write_to(&self, out: &mut String) {
        out.push_str(self.scheme());
        out.push_str("://");
        if let Some(user) = &self.user {
            out.push_str(user);
            out.push('@');
        }
        if self.host.contains(':') {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if let Some(port) = self.port {
            out.push(':');
            out.push_str(itoa_u64(port as u64).as_str());
        }
        if let Some(sid) = &self.session_id {
            out.push('/');
            out.push_str(sid);
        }
        out.push(';');
        out.push_str(&self.transport);
        for (name, value) in &self.params {
            out.push(';');
            out.push_str(name);
            if let Some(v) = value {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

impl FromStr for Uri {
    type Err = UriError;

    fn from_str(s: &str) -> Result<Self, UriError> {
        let (scheme, rest) = match s.find(':') {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => return Err(UriError::BadScheme(s.to_string())),
        };
        let secure = if scheme.eq_ignore_ascii_case("msrp") {
            false
        } else if scheme.eq_ignore_ascii_case("msrps") {
            true
        } else {
            return Err(UriError::BadScheme(scheme.to_string()));
        };
        let rest = rest.strip_prefix("//").ok_or(UriError::MissingSlashes)?;
        // The authority runs to the first '/' (session-id) or ';' (transport).
        let auth_end = rest.find(['/', ';']).unwrap_or(rest.len());
        let authority = &rest[..auth_end];
        let mut rest = &rest[auth_end..];

        let (user, hostport) = match authority.rfind('@') {
            Some(i) => {
                let user = &authority[..i];
                check_userinfo(user)?;
                (Some(user.to_string()), &authority[i + 1..])
            }
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;

        let session_id = if let Some(r) = rest.strip_prefix('/') {
            let end = r.find(';').unwrap_or(r.len());
            let sid = &r[..end];
            check_session_id(sid)?;
            rest = &r[end..];
            Some(sid.to_string())
        } else {
            None
        };

        let r = rest.strip_prefix(';').ok_or(UriError::MissingTransport)?;
        let mut parts = r.split(';');
        let transport = parts.next().unwrap_or("");
        if transport.is_empty() {
            return Err(UriError::MissingTransport);
        }
        check_transport(transport)?;
        let mut params = Vec::new();
        for p in parts {
            let (name, value) = match p.find('=') {
                Some(i) => (&p[..i], Some(&p[i + 1..])),
                None => (p, None),
            };
            check_param(name, value)?;
            params.push((name.to_string(), value.map(str::to_string)));
        }
        Ok(Uri {
            secure,
            user,
            host: host.to_string(),
            port,
            session_id,
            transport: transport.to_string(),
            params,
        })
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        self.write_to(&mut s);
        f.write_str(&s)
    }
}

/// RFC 4975 §6.1: scheme, host and transport compare case-insensitively,
/// the port must match (an absent port never equals a present one), the
/// session-id compares case-sensitively, and userinfo and parameters are
/// ignored.
impl PartialEq for Uri {
    fn eq(&self, other: &Self) -> bool {
        self.secure == other.secure
            && self.host.eq_ignore_ascii_case(&other.host)
            && self.port == other.port
            && self.session_id == other.session_id
            && self.transport.eq_ignore_ascii_case(&other.transport)
    }
}

impl Eq for Uri {}

impl Hash for Uri {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.secure.hash(state);
        for b in self.host.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
        self.port.hash(state);
        self.session_id.hash(state);
        for b in self.transport.bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

/// Splits `host[:port]`, where host may be a bracketed IPv6 literal.
fn split_host_port(s: &str) -> Result<(&str, Option<u16>), UriError> {
    if s.is_empty() {
        return Err(UriError::MissingHost);
    }
    let (host, port) = if let Some(r) = s.strip_prefix('[') {
        let close = r
            .find(']')
            .ok_or_else(|| UriError::BadHost(s.to_string()))?;
        let host = &r[..close];
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(UriError::BadHost(host.to_string()));
        }
        let after = &r[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(UriError::BadHost(s.to_string())),
        };
        (host, port)
    } else {
        match s.rfind(':') {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        }
    };
    if !s.starts_with('[') {
        // An IPv6 address must be bracketed in URI text.
        if host.contains([':', '[', ']']) {
            return Err(UriError::BadHost(host.to_string()));
        }
        check_host(host)?;
    }
    let port = match port {
        Some(p) => Some(parse_port(p)?),
        None => None,
    };
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, UriError> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UriError::BadPort(p.to_string()));
    }
    p.parse::<u16>()
        .map_err(|_| UriError::BadPort(p.to_string()))
}

fn check_host(host: &str) -> Result<(), UriError> {
    if host.is_empty() {
        return Err(UriError::MissingHost);
    }
    if host.contains(':') {
        return if host.parse::<Ipv6Addr>().is_ok() {
            Ok(())
        } else {
            Err(UriError::BadHost(host.to_string()))
        };
    }
    // Something made only of digits and dots must be a valid IPv4 address.
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return if host.parse::<Ipv4Addr>().is_ok() {
            Ok(())
        } else {
            Err(UriError::BadHost(host.to_string()))
        };
    }
    // reg-name of RFC 3986, restricted to what a host name can hold.
    let ok = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'%'));
    if ok && !host.starts_with('.') && !host.contains("..") {
        Ok(())
    } else {
        Err(UriError::BadHost(host.to_string()))
    }
}

fn check_userinfo(user: &str) -> Result<(), UriError> {
    // RFC 3986 userinfo: unreserved / pct-encoded / sub-delims / ":"
    let ok = user.bytes().all(|b| {
        is_unreserved(b)
            || b == b'%'
            || b == b':'
            || matches!(
                b,
                b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'='
            )
    });
    if ok {
        Ok(())
    } else {
        Err(UriError::BadUserinfo(user.to_string()))
    }
}

fn check_session_id(sid: &str) -> Result<(), UriError> {
    // session-id = 1*( unreserved / "+" / "=" / "/" )
    if !sid.is_empty()
        && sid
            .bytes()
            .all(|b| is_unreserved(b) || matches!(b, b'+' | b'=' | b'/'))
    {
        Ok(())
    } else {
        Err(UriError::BadSessionId(sid.to_string()))
    }
}

fn check_transport(t: &str) -> Result<(), UriError> {
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(UriError::BadTransport(t.to_string()))
    }
}

fn check_param(name: &str, value: Option<&str>) -> Result<(), UriError> {
    let ok = is_token(name) && value.is_none_or(is_token);
    if ok {
        Ok(())
    } else {
        let text = match value {
            Some(v) => format!("{name}={v}"),
            None => name.to_string(),
        };
        Err(UriError::BadParameter(text))
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3261 token characters, as used by MSRP URI parameters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// Small integer formatting without going through `fmt`.
pub(crate) struct Itoa {
    buf: [u8; 20],
    start: usize,
}

impl Itoa {
    pub(crate) fn as_str(&self) -> &str {
        // Only ASCII digits are ever written.
        std::str::from_utf8(&self.buf[self.start..]).unwrap_or("0")
    }
}

pub(crate) fn itoa_u64(mut n: u64) -> Itoa {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Itoa { buf, start: i }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Uri {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn round_trips() {
        for s in [
            "msrp://atlanta.example.com:7654/jshA7weztas;tcp",
            "msrps://bob@relay.example.net:2855/s/x+y=z;tcp",
            "msrp://10.0.0.1;tcp",
            "msrp://[::1]:9/a;tcp",
            "msrp://[2001:db8::7]/abc;sctp;foo=bar;flag",
            "msrps://user:pw@host-1.example;tcp",
            "msrp://h:0/s;tcp",
        ] {
            assert_eq!(p(s).to_string(), s);
            assert!(p(s).validate().is_ok(), "{s}");
        }
    }

    #[test]
    fn fields() {
        let u = p("msrps://alice@example.com:2855/abc123;tcp;a=b");
        assert!(u.secure);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, Some(2855));
        assert_eq!(u.session_id.as_deref(), Some("abc123"));
        assert_eq!(u.transport, "tcp");
        assert_eq!(u.params, vec![("a".into(), Some("b".into()))]);
        assert_eq!(u.host_kind(), HostKind::Name);
        assert_eq!(p("msrp://1.2.3.4;tcp").host_kind(), HostKind::Ipv4);
        assert_eq!(p("msrp://[fe80::1];tcp").host_kind(), HostKind::Ipv6);
    }

    #[test]
    fn errors_name_the_part() {
        let cases: &[(&str, UriError)] = &[
            ("http://x;tcp", UriError::BadScheme("http".into())),
            ("nocolon", UriError::BadScheme("nocolon".into())),
            ("msrp:x;tcp", UriError::MissingSlashes),
            ("msrp://;tcp", UriError::MissingHost),
            ("msrp://h:99999/s;tcp", UriError::BadPort("99999".into())),
            ("msrp://h:x/s;tcp", UriError::BadPort("x".into())),
            ("msrp://h/s", UriError::MissingTransport),
            ("msrp://h/s;", UriError::MissingTransport),
            ("msrp://h/s;t-c", UriError::BadTransport("t-c".into())),
            ("msrp://h/;tcp", UriError::BadSessionId("".into())),
            ("msrp://h/a b;tcp", UriError::BadSessionId("a b".into())),
            (
                "msrp://h/s;tcp;a=b c",
                UriError::BadParameter("a=b c".into()),
            ),
            (
                "msrp://1.2.3.999/s;tcp",
                UriError::BadHost("1.2.3.999".into()),
            ),
            ("msrp://[zz::1]/s;tcp", UriError::BadHost("zz::1".into())),
            ("msrp://ho st/s;tcp", UriError::BadHost("ho st".into())),
            ("msrp://u<>@h/s;tcp", UriError::BadUserinfo("u<>".into())),
            // Found by fuzzing: an unbracketed IPv6-looking host.
            (
                "msrps://a8::1]:2855/s;tcp",
                UriError::BadHost("a8::1]".into()),
            ),
            ("msrp://::1/s;tcp", UriError::BadHost(":".into())),
        ];
        for (s, e) in cases {
            assert_eq!(s.parse::<Uri>().unwrap_err(), *e, "{s}");
        }
    }

    #[test]
    fn equality_rfc4975_6_1() {
        assert_eq!(
            p("msrp://Host.COM:1/abc;tcp"),
            p("MSRP://host.com:1/abc;TCP")
        );
        assert_eq!(p("msrp://u@h:1/abc;tcp"), p("msrp://h:1/abc;tcp"));
        assert_ne!(p("msrp://h:1/abc;tcp"), p("msrp://h:1/ABC;tcp"));
        assert_ne!(p("msrp://h:1/abc;tcp"), p("msrp://h/abc;tcp"));
        assert_ne!(p("msrp://h:1/abc;tcp"), p("msrps://h:1/abc;tcp"));
        use std::collections::hash_map::DefaultHasher;
        let h = |u: &Uri| {
            let mut s = DefaultHasher::new();
            u.hash(&mut s);
            s.finish()
        };
        assert_eq!(h(&p("msrp://HOST:1/a;TCP")), h(&p("msrp://host:1/a;tcp")));
    }

    #[test]
    fn itoa() {
        assert_eq!(itoa_u64(0).as_str(), "0");
        assert_eq!(itoa_u64(u64::MAX).as_str(), "18446744073709551615");
    }
}
