//! HTTP digest authentication (RFC 2617) as MSRP relays use it (RFC 4976
//! §5): MD5, `qop=auth`, the `AUTH` method.
//!
//! Sans-IO and symmetric: [`Challenge`] is a `WWW-Authenticate` value (a
//! relay builds one, a client parses one), [`Authorization`] an
//! `Authorization` value (a client builds one from a challenge and its
//! credentials, a relay parses one and [verifies](Authorization::verify) it
//! against the user's HA1).
//!
//! The parameter syntax is RFC 2617's: `Digest` followed by
//! comma-separated `name=value` pairs whose values are tokens or quoted
//! strings (with `\` escapes). Deployed peers differ in which values they
//! quote (`qop="auth"` or `qop=auth`, `nc="00000001"`), so parsing accepts
//! both forms for every parameter; building quotes what RFC 2617 quotes
//! and leaves `qop`, `nc`, `algorithm` and `stale` bare.

use md5::{Digest as _, Md5};

use super::RelayError;
use crate::msrp::header::{self, DigestParams, TypedHeader};

/// A `WWW-Authenticate: Digest ...` challenge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Challenge {
    /// The protection space, shown to users and part of HA1.
    pub realm: String,
    /// The server's one-time value.
    pub nonce: String,
    /// Returned unchanged by the client when present.
    pub opaque: Option<String>,
    /// The qop options offered (`auth` must be among them when any are
    /// given; RFC 4976 requires `auth`).
    pub qop: Vec<String>,
    /// `MD5` (or absent, which means MD5).
    pub algorithm: Option<String>,
    /// The previous nonce was valid but expired: retry with this one
    /// without asking the user again.
    pub stale: bool,
}

/// An `Authorization: Digest ...` answer to a [`Challenge`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authorization {
    /// The user name.
    pub username: String,
    /// The challenge's realm.
    pub realm: String,
    /// The challenge's nonce.
    pub nonce: String,
    /// The digest URI: the relay's URI. `None` when the peer left it out
    /// (the legacy python-msrplib client does; see the relay server).
    pub uri: Option<String>,
    /// 32 lower-case hex digits.
    pub response: String,
    /// `auth`.
    pub qop: Option<String>,
    /// The nonce count, 8 hex digits.
    pub nc: Option<String>,
    /// The client's nonce.
    pub cnonce: Option<String>,
    /// The challenge's opaque value, echoed.
    pub opaque: Option<String>,
    /// `MD5` when the challenge named it.
    pub algorithm: Option<String>,
}

/// `MD5(text)` as 32 lower-case hex digits.
pub fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    let mut out = String::with_capacity(32);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether two hashes are equal, compared in constant time.
pub(crate) fn same_hash(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// HA1 = `MD5(username:realm:password)`, what a users file may store
/// instead of the password.
pub fn ha1(username: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{username}:{realm}:{password}"))
}

/// The `response` value for `qop=auth`:
/// `MD5(HA1:nonce:nc:cnonce:auth:MD5(method:uri))`. Without `qop` (RFC
/// 2069 peers) it is `MD5(HA1:nonce:MD5(method:uri))`.
pub fn response(
    ha1: &str,
    nonce: &str,
    qop: Option<(&str, &str)>,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = md5_hex(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        None => md5_hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// The parameters of a `Digest ...` value (names in lower case), read by
/// the header layer's parser.
fn parse_params<T: TypedHeader>(
    value: &str,
    params: impl FnOnce(&T) -> &DigestParams,
) -> Result<Vec<(String, String)>, RelayError> {
    let typed = T::decode_header(value).map_err(|e| RelayError::BadDigest(e.to_string()))?;
    Ok(params(&typed)
        .params
        .iter()
        .map(|(n, v, _)| (n.to_ascii_lowercase(), v.clone()))
        .collect())
}

/// The encoded value of a typed header.
fn encoded(h: &impl TypedHeader) -> String {
    let mut out = String::new();
    h.encode(&mut out);
    out
}

/// Whether `text` can be written as a quoted string in a header (no line
/// breaks or other control characters).
fn printable(text: &str) -> bool {
    !text.chars().any(|c| c.is_control())
}

impl Challenge {
    /// Reads a `WWW-Authenticate` value. Needs `realm` and `nonce`; an
    /// algorithm other than MD5 or a qop list without `auth` is refused
    /// ([`RelayError::BadDigest`]).
    pub fn parse(value: &str) -> Result<Challenge, RelayError> {
        let mut c = Challenge::default();
        let (mut realm, mut nonce) = (None, None);
        for (name, v) in parse_params::<header::WwwAuthenticate>(value, |h| &h.0)? {
            match name.as_str() {
                "realm" => realm = Some(v),
                "nonce" => nonce = Some(v),
                "opaque" => c.opaque = Some(v),
                "qop" => {
                    c.qop = v
                        .split(',')
                        .map(|q| q.trim().to_ascii_lowercase())
                        .filter(|q| !q.is_empty())
                        .collect()
                }
                "algorithm" => c.algorithm = Some(v),
                "stale" => c.stale = v.eq_ignore_ascii_case("true"),
                _ => {} // domain and extensions: nothing to do with them
            }
        }
        let bad = |why: &str| RelayError::BadDigest(format!("{why} in {value:?}"));
        c.realm = realm.ok_or_else(|| bad("no realm"))?;
        c.nonce = nonce.ok_or_else(|| bad("no nonce"))?;
        if c.algorithm
            .as_deref()
            .is_some_and(|a| !a.eq_ignore_ascii_case("md5"))
        {
            return Err(bad("an algorithm other than MD5"));
        }
        if !c.qop.is_empty() && !c.qop.iter().any(|q| q == "auth") {
            return Err(bad("no qop=auth"));
        }
        Ok(c)
    }

    /// The header value, e.g.
    /// `Digest realm="r", nonce="n", qop="auth", opaque="o", stale=true`
    /// (qop quoted, as RFC 2617 writes it in challenges).
    pub fn to_header(&self) -> String {
        let mut p = DigestParams::default();
        p.push_quoted("realm", &self.realm);
        p.push_quoted("nonce", &self.nonce);
        if !self.qop.is_empty() {
            p.push_quoted("qop", &self.qop.join(","));
        }
        if let Some(o) = &self.opaque {
            p.push_quoted("opaque", o);
        }
        if let Some(a) = &self.algorithm {
            p.push_token("algorithm", a);
        }
        if self.stale {
            p.push_token("stale", "true");
        }
        encoded(&header::WwwAuthenticate(p))
    }

    /// Answers this challenge for `AUTH` with `nc` (1 for a fresh nonce)
    /// and a client nonce `cnonce`. `uri` is the relay's URI, which the
    /// response always covers; `send_uri: false` leaves the `uri`
    /// parameter out of the answer (only for relays that will not answer
    /// otherwise; the legacy python-msrplib client never sent it).
    pub fn answer(
        &self,
        username: &str,
        password: &str,
        uri: &str,
        send_uri: bool,
        nc: u32,
        cnonce: &str,
    ) -> Result<Authorization, RelayError> {
        for (what, text) in [("user name", username), ("password", password)] {
            if !printable(text) {
                return Err(RelayError::BadDigest(format!(
                    "the {what} has control characters"
                )));
            }
        }
        let ha1 = ha1(username, &self.realm, password);
        let nc = format!("{nc:08x}");
        let with_qop = !self.qop.is_empty();
        let response = response(
            &ha1,
            &self.nonce,
            with_qop.then_some((nc.as_str(), cnonce)),
            "AUTH",
            uri,
        );
        Ok(Authorization {
            username: username.to_string(),
            realm: self.realm.clone(),
            nonce: self.nonce.clone(),
            uri: send_uri.then(|| uri.to_string()),
            response,
            qop: with_qop.then(|| "auth".to_string()),
            nc: with_qop.then_some(nc),
            cnonce: with_qop.then(|| cnonce.to_string()),
            opaque: self.opaque.clone(),
            algorithm: self.algorithm.clone(),
        })
    }
}

impl Authorization {
    /// Reads an `Authorization` value. Needs `username`, `realm`, `nonce`
    /// and `response`; with `qop` also `nc` and `cnonce`.
    pub fn parse(value: &str) -> Result<Authorization, RelayError> {
        let mut a = Authorization::default();
        let mut seen = [false; 4];
        for (name, v) in parse_params::<header::Authorization>(value, |h| &h.0)? {
            match name.as_str() {
                "username" => (a.username, seen[0]) = (v, true),
                "realm" => (a.realm, seen[1]) = (v, true),
                "nonce" => (a.nonce, seen[2]) = (v, true),
                "response" => (a.response, seen[3]) = (v.to_ascii_lowercase(), true),
                "uri" => a.uri = Some(v),
                "qop" => a.qop = Some(v.to_ascii_lowercase()),
                "nc" => a.nc = Some(v.to_ascii_lowercase()),
                "cnonce" => a.cnonce = Some(v),
                "opaque" => a.opaque = Some(v),
                "algorithm" => a.algorithm = Some(v),
                _ => {}
            }
        }
        let bad = |why: &str| RelayError::BadDigest(format!("{why} in {value:?}"));
        for (ok, name) in seen.iter().zip(["username", "realm", "nonce", "response"]) {
            if !ok {
                return Err(bad(&format!("no {name}")));
            }
        }
        if a.qop.is_some() && (a.nc.is_none() || a.cnonce.is_none()) {
            return Err(bad("qop without nc and cnonce"));
        }
        if a.qop.as_deref().is_some_and(|q| q != "auth") {
            return Err(bad("a qop other than auth"));
        }
        if a.nc
            .as_deref()
            .is_some_and(|nc| u32::from_str_radix(nc, 16).is_err())
        {
            return Err(bad("an nc that is not hex"));
        }
        Ok(a)
    }

    /// The nonce count as a number (0 without qop).
    pub fn nonce_count(&self) -> u32 {
        self.nc
            .as_deref()
            .and_then(|nc| u32::from_str_radix(nc, 16).ok())
            .unwrap_or(0)
    }

    /// Whether `response` is right for the user whose HA1 is `ha1`, with
    /// `uri` as the digest URI (the value the client sent, or the URI the
    /// relay expects when the client sent none). Compared in constant
    /// time.
    pub fn verify(&self, ha1: &str, uri: &str) -> bool {
        let qop = match (&self.qop, &self.nc, &self.cnonce) {
            (Some(_), Some(nc), Some(cnonce)) => Some((nc.as_str(), cnonce.as_str())),
            _ => None,
        };
        let expected = response(ha1, &self.nonce, qop, "AUTH", uri);
        same_hash(&expected, &self.response)
    }

    /// The header value: quoted strings for `username`, `realm`, `nonce`,
    /// `uri`, `response`, `cnonce` and `opaque`; `qop`, `nc` and
    /// `algorithm` bare.
    pub fn to_header(&self) -> String {
        let mut p = DigestParams::default();
        p.push_quoted("username", &self.username);
        p.push_quoted("realm", &self.realm);
        p.push_quoted("nonce", &self.nonce);
        if let Some(uri) = &self.uri {
            p.push_quoted("uri", uri);
        }
        p.push_quoted("response", &self.response);
        if let Some(a) = &self.algorithm {
            p.push_token("algorithm", a);
        }
        if let (Some(qop), Some(nc), Some(cnonce)) = (&self.qop, &self.nc, &self.cnonce) {
            p.push_token("qop", qop);
            p.push_token("nc", nc);
            p.push_quoted("cnonce", cnonce);
        }
        if let Some(o) = &self.opaque {
            p.push_quoted("opaque", o);
        }
        encoded(&header::Authorization(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_2617_example_response() {
        // RFC 2617 §3.5: Mufasa at testrealm@host.com, GET /dir/index.html.
        let ha1 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        let ha2 = md5_hex("GET:/dir/index.html");
        let r = md5_hex(&format!(
            "{ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:00000001:0a4f113b:auth:{ha2}"
        ));
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn challenge_round_trip_and_quirky_forms() {
        let c = Challenge {
            realm: "example.com".into(),
            nonce: "abc\"d".into(),
            opaque: Some("o1".into()),
            qop: vec!["auth".into()],
            algorithm: None,
            stale: true,
        };
        let text = c.to_header();
        assert_eq!(
            text,
            r#"Digest realm="example.com", nonce="abc\"d", qop="auth", opaque="o1", stale=true"#
        );
        assert_eq!(Challenge::parse(&text).unwrap(), c);
        // Bare tokens, odd spacing, upper case names, extra parameters.
        let c2 = Challenge::parse("digest REALM = r ,nonce=n,qop=auth,domain=\"x y\" ,STALE=TRUE")
            .unwrap();
        assert_eq!(
            (c2.realm.as_str(), c2.nonce.as_str(), c2.stale),
            ("r", "n", true)
        );
        assert_eq!(c2.qop, ["auth"]);
    }

    #[test]
    fn bad_challenges_are_typed_errors() {
        for v in [
            "Basic realm=\"x\"",
            "Digest nonce=\"n\"",
            "Digest realm=\"r\"",
            "Digest realm=\"r, nonce=n",
            "Digest realm=\"r\" nonce=\"n\"",
            "Digest realm",
            "Digest realm=r, nonce=n, algorithm=SHA-256",
            "Digest realm=r, nonce=n, qop=auth-int",
            "",
        ] {
            assert!(
                matches!(Challenge::parse(v), Err(RelayError::BadDigest(_))),
                "{v:?}"
            );
        }
    }

    #[test]
    fn answer_verifies_and_parses_back() {
        let c = Challenge::parse(
            r#"Digest realm="relay.example", nonce="n1", qop="auth", opaque="op""#,
        )
        .unwrap();
        let uri = "msrps://relay.example:2855;tcp";
        let a = c.answer("alice", "secret", uri, true, 1, "c0ffee").unwrap();
        assert_eq!(a.nc.as_deref(), Some("00000001"));
        let text = a.to_header();
        assert_eq!(
            text,
            format!(
                r#"Digest username="alice", realm="relay.example", nonce="n1", uri="{uri}", response="{}", qop=auth, nc=00000001, cnonce="c0ffee", opaque="op""#,
                a.response
            )
        );
        let back = Authorization::parse(&text).unwrap();
        assert_eq!(back, a);
        let h = ha1("alice", "relay.example", "secret");
        assert!(back.verify(&h, uri));
        assert!(!back.verify(&h, "msrps://other:2855;tcp"));
        assert!(!back.verify(&ha1("alice", "relay.example", "wrong"), uri));
        assert_eq!(back.nonce_count(), 1);
        // The legacy client's form: quoted qop and nc, no uri.
        let legacy = c.answer("alice", "secret", uri, false, 1, "cc").unwrap();
        let text = legacy
            .to_header()
            .replace("qop=auth", "qop=\"auth\"")
            .replace("nc=00000001", "nc=\"00000001\"");
        let parsed = Authorization::parse(&text).unwrap();
        assert_eq!(parsed.uri, None);
        // Checked against the URI the AUTH was sent to.
        assert!(parsed.verify(&h, uri));
    }

    #[test]
    fn bad_authorizations_are_typed_errors() {
        for v in [
            "Digest realm=r, nonce=n, response=x",
            "Digest username=u, realm=r, nonce=n, response=x, qop=auth",
            "Digest username=u, realm=r, nonce=n, response=x, qop=auth, nc=zz, cnonce=c",
            "Digest username=u, realm=r, nonce=n, response=x, qop=auth-int, nc=1, cnonce=c",
        ] {
            assert!(
                matches!(Authorization::parse(v), Err(RelayError::BadDigest(_))),
                "{v:?}"
            );
        }
        let c = Challenge::parse("Digest realm=r, nonce=n").unwrap();
        assert!(c
            .answer("bad\nname", "p", "msrp://r;tcp", true, 1, "c")
            .is_err());
    }
}
