//! The digest helpers of the legacy `msrplib.digest` module, for code that
//! calls them directly (relays and test tools written against
//! python-msrplib): the separate hashes of RFC 2617 with `qop=auth`, the
//! `rspauth` of an `Authentication-Info` header, and a challenger whose
//! nonces are bound to the peer's IP address and carry their issue time.
//!
//! msgwire's own client and relay do not use this module (see
//! [`super::digest`]); it exists so the legacy API keeps working, and its
//! formulas are the RFC's, so values match any other implementation.
//!
//! # The IP-bound nonce
//!
//! [`IpChallenger`] needs no memory of the nonces it issued: a nonce is
//! the hex encoding of `<16 random hex digits><issue time, seconds with
//! three decimals>:<peer IP>`, and the challenge's `opaque` is
//! `MD5(<that text><secret key>)`. An answer is accepted when its
//! response is right, its nonce decodes, names the answering peer's IP,
//! is younger than the challenger's lifetime, and comes with the opaque
//! made for it (so nonces cannot be forged without the key). This is the
//! legacy `AuthChallenger`'s design; replayed answers within the lifetime
//! are not detected (the relay server uses connection-bound nonces with
//! nonce-count checks instead).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::digest::{md5_hex, same_hash};
use crate::msrp::random_hex;
use crate::msrp::rules::fill_random;

/// `MD5(method:uri)`; with an empty method, `MD5(:uri)`, the HA2 of
/// `rspauth`.
pub fn ha2(method: &str, uri: &str) -> String {
    md5_hex(&format!("{method}:{uri}"))
}

/// `MD5(HA1:nonce:nc:cnonce:auth:HA2)`: a response (HA2 of the method and
/// URI) or an `rspauth` (HA2 of `:uri`).
pub fn auth_hash(ha1: &str, nonce: &str, nc: &str, cnonce: &str, ha2: &str) -> String {
    md5_hex(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
}

/// The `response` and `rspauth` for `method` on `uri`.
pub fn responses(
    ha1: &str,
    nonce: &str,
    nc: &str,
    cnonce: &str,
    method: &str,
    uri: &str,
) -> (String, String) {
    (
        auth_hash(ha1, nonce, nc, cnonce, &ha2(method, uri)),
        auth_hash(ha1, nonce, nc, cnonce, &ha2("", uri)),
    )
}

/// Why an answer was refused (the legacy `LoginFailed`), with the legacy
/// messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginFailed {
    /// The response does not match the password.
    #[error("Incorrect password")]
    IncorrectPassword,
    /// The nonce is not one of ours.
    #[error("Could not decode nonce")]
    BadNonce,
    /// The nonce was issued to another IP address.
    #[error("This challenge was not issued to you")]
    OtherPeer,
    /// The opaque value does not belong to the nonce.
    #[error("This nonce/opaque combination was not issued by me")]
    BadOpaque,
    /// The nonce is older than the challenger's lifetime.
    #[error("This challenge has expired")]
    Expired,
}

/// What a challenge holds (the `WWW-Authenticate` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedChallenge {
    /// The realm, as given.
    pub realm: String,
    /// Always `auth`.
    pub qop: String,
    /// The nonce.
    pub nonce: String,
    /// The opaque value made for the nonce.
    pub opaque: String,
}

/// An answer to check (the `Authorization` parameters that matter).
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    /// The nonce answered.
    pub nonce: &'a str,
    /// The opaque value echoed.
    pub opaque: &'a str,
    /// The response.
    pub response: &'a str,
    /// The nonce count, as sent.
    pub nc: &'a str,
    /// The client nonce.
    pub cnonce: &'a str,
}

/// The `Authentication-Info` parameters of an accepted answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticationInfo {
    /// Always `auth`.
    pub qop: String,
    /// The client nonce, echoed.
    pub cnonce: String,
    /// The nonce count, echoed.
    pub nc: String,
    /// Proof that the server knows the password too.
    pub rspauth: String,
}

/// Issues and checks IP-bound nonces (see the module docs).
#[derive(Debug, Clone)]
pub struct IpChallenger {
    lifetime: Duration,
    key: String,
}

impl IpChallenger {
    /// A challenger whose nonces are good for `lifetime`, with a fresh
    /// random key.
    pub fn new(lifetime: Duration) -> Self {
        IpChallenger {
            lifetime,
            key: random_hex(16),
        }
    }

    /// A challenge for `peer_ip` in `realm`.
    pub fn challenge(&self, realm: &str, peer_ip: &str) -> IssuedChallenge {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        // Exactly 16 hex digits (random_hex drops leading zeros).
        let mut salt = [0u8; 8];
        fill_random(&mut salt);
        let plain = format!("{}{now:.3}:{peer_ip}", hex_encode(&salt));
        IssuedChallenge {
            realm: realm.to_string(),
            qop: "auth".to_string(),
            nonce: hex_encode(plain.as_bytes()),
            opaque: md5_hex(&format!("{plain}{}", self.key)),
        }
    }

    /// Checks `answer` from `peer_ip`, for the user whose HA1 is `ha1`,
    /// to `method` on `uri`.
    pub fn check(
        &self,
        ha1: &str,
        method: &str,
        uri: &str,
        peer_ip: &str,
        answer: &Answer<'_>,
    ) -> Result<AuthenticationInfo, LoginFailed> {
        let (expected, rspauth) =
            responses(ha1, answer.nonce, answer.nc, answer.cnonce, method, uri);
        if !same_hash(&expected, answer.response) {
            return Err(LoginFailed::IncorrectPassword);
        }
        let plain = hex_decode(answer.nonce)
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(LoginFailed::BadNonce)?;
        let (issued, ip) = plain
            .get(16..)
            .and_then(|rest| rest.split_once(':'))
            .ok_or(LoginFailed::BadNonce)?;
        let issued: f64 = issued.parse().map_err(|_| LoginFailed::BadNonce)?;
        if ip != peer_ip {
            return Err(LoginFailed::OtherPeer);
        }
        if !same_hash(&md5_hex(&format!("{plain}{}", self.key)), answer.opaque) {
            return Err(LoginFailed::BadOpaque);
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        if !issued.is_finite() || issued + self.lifetime.as_secs_f64() < now {
            return Err(LoginFailed::Expired);
        }
        Ok(AuthenticationInfo {
            qop: "auth".to_string(),
            cnonce: answer.cnonce.to_string(),
            nc: answer.nc.to_string(),
            rspauth,
        })
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::relay::digest::{ha1, response};

    /// RFC 2617 §3.5's example (GET, "Circle Of Life").
    #[test]
    fn rfc_2617_example() {
        let h1 = ha1("Mufasa", "testrealm@host.com", "Circle Of Life");
        let (resp, _) = responses(
            &h1,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "00000001",
            "0a4f113b",
            "GET",
            "/dir/index.html",
        );
        assert_eq!(resp, "6629fae49393a05397450978507c4ef1");
        // The same formula as the client's.
        assert_eq!(
            resp,
            response(
                &h1,
                "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                Some(("00000001", "0a4f113b")),
                "GET",
                "/dir/index.html"
            )
        );
    }

    fn answer_for<'a>(c: &'a IssuedChallenge, response: &'a str) -> Answer<'a> {
        Answer {
            nonce: &c.nonce,
            opaque: &c.opaque,
            response,
            nc: "00000001",
            cnonce: "abcdef",
        }
    }

    #[test]
    fn nonces_carry_a_fixed_width_salt() {
        let ch = IpChallenger::new(Duration::from_secs(15));
        for _ in 0..200 {
            let c = ch.challenge("r", "10.0.0.1");
            let plain = String::from_utf8(hex_decode(&c.nonce).unwrap()).unwrap();
            assert!(
                plain[..16].bytes().all(|b| b.is_ascii_hexdigit()),
                "{plain}"
            );
            assert!(plain[16..].ends_with(":10.0.0.1"), "{plain}");
        }
    }

    #[test]
    fn a_right_answer_from_the_right_peer_passes() {
        let ch = IpChallenger::new(Duration::from_secs(15));
        let c = ch.challenge("example.com", "10.0.0.1");
        assert_eq!(c.qop, "auth");
        let h1 = ha1("bob", "example.com", "pw");
        let (resp, rspauth) = responses(&h1, &c.nonce, "00000001", "abcdef", "AUTH", "msrp://x");
        let info = ch
            .check(&h1, "AUTH", "msrp://x", "10.0.0.1", &answer_for(&c, &resp))
            .unwrap();
        assert_eq!(info.rspauth, rspauth);
        assert_eq!(
            (info.nc.as_str(), info.cnonce.as_str()),
            ("00000001", "abcdef")
        );
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let ch = IpChallenger::new(Duration::from_secs(15));
        let c = ch.challenge("example.com", "10.0.0.1");
        let h1 = ha1("bob", "example.com", "pw");
        let (resp, _) = responses(&h1, &c.nonce, "00000001", "abcdef", "AUTH", "u");
        let check = |ch: &IpChallenger, peer: &str, a: &Answer<'_>| {
            ch.check(&h1, "AUTH", "u", peer, a).unwrap_err()
        };
        assert_eq!(
            check(&ch, "10.0.0.1", &answer_for(&c, &"0".repeat(32))),
            LoginFailed::IncorrectPassword
        );
        assert_eq!(
            check(&ch, "10.0.0.2", &answer_for(&c, &resp)),
            LoginFailed::OtherPeer
        );
        let mut forged = answer_for(&c, &resp);
        forged.opaque = "00000000000000000000000000000000";
        assert_eq!(check(&ch, "10.0.0.1", &forged), LoginFailed::BadOpaque);
        // Another challenger (another key) did not issue it.
        let other = IpChallenger::new(Duration::from_secs(15));
        assert_eq!(
            check(&other, "10.0.0.1", &answer_for(&c, &resp)),
            LoginFailed::BadOpaque
        );
        // A lifetime of zero: expired at once.
        let short = IpChallenger {
            lifetime: Duration::ZERO,
            key: ch.key.clone(),
        };
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(
            check(&short, "10.0.0.1", &answer_for(&c, &resp)),
            LoginFailed::Expired
        );
        // A nonce that is not ours at all (its response made to match).
        let (resp2, _) = responses(&h1, "zz", "00000001", "abcdef", "AUTH", "u");
        let mut bogus = answer_for(&c, &resp2);
        bogus.nonce = "zz";
        assert_eq!(check(&ch, "10.0.0.1", &bogus), LoginFailed::BadNonce);
    }
}
