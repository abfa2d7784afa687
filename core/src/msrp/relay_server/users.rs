//! The users file and the digest challenger: who may reserve sessions, and
//! the nonces a connection is challenged with.
//!
//! # Users file
//!
//! One user per line, in either form:
//!
//! ```text
//! # comments and blank lines are ignored
//! alice:relay.example:5f4dcc3b5aa765d61d8327deb882cf99
//! bob:secret password
//! ```
//!
//! * `user:realm:HA1` — HA1 is `MD5(user:realm:password)` as 32 hex
//!   digits; the line counts only for that realm.
//! * `user:password` — the password in clear; everything after the first
//!   `:` is the password (so it may hold `:` itself, unless the whole line
//!   would read as the first form).
//!
//! A line in neither form is an error naming the line number.
//!
//! # Nonces
//!
//! A [`Challenger`] belongs to one connection: a nonce is only good on
//! the connection it was issued on. Each nonce lives
//! [`RelayConfig::nonce_lifetime`](super::RelayConfig::nonce_lifetime)
//! (15 s); a correct answer with an expired nonce gets a fresh challenge
//! with `stale=true`. Each use must carry a nonce count above the last
//! one seen for that nonce (a replayed `nc` is refused). The challenge
//! always carries an `opaque` value, which the legacy client requires,
//! and `qop="auth"`.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::msrp::random_hex;
use crate::msrp::relay::digest::{ha1, Authorization, Challenge};

/// Why a users file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// The file could not be read.
    #[error("reading the users file: {0}")]
    Io(#[from] std::io::Error),
    /// A line in neither form.
    #[error("users file line {line}: expected user:realm:HA1 or user:password")]
    Syntax {
        /// The line number, from 1.
        line: usize,
    },
}

/// The users a relay accepts; see the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct Users {
    /// user → (realm or `None` for any, HA1 or password).
    entries: HashMap<String, Vec<Entry>>,
}

#[derive(Debug, Clone)]
enum Entry {
    Ha1 { realm: String, ha1: String },
    Password(String),
}

fn is_ha1(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Users {
    /// No users.
    pub fn new() -> Users {
        Users::default()
    }

    /// Reads a users file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Users, UsersError> {
        Users::parse(&std::fs::read_to_string(path)?)
    }

    /// Reads the text of a users file.
    pub fn parse(text: &str) -> Result<Users, UsersError> {
        let mut users = Users::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let syntax = || UsersError::Syntax { line: i + 1 };
            let (user, rest) = line.split_once(':').ok_or_else(syntax)?;
            if user.is_empty() || rest.is_empty() {
                return Err(syntax());
            }
            match rest.split_once(':') {
                Some((realm, h)) if is_ha1(h) && !realm.is_empty() => users.add_ha1(user, realm, h),
                _ => users.add_password(user, rest),
            }
        }
        Ok(users)
    }

    /// Adds a user with a clear password (good in any realm).
    pub fn add_password(&mut self, user: &str, password: &str) {
        self.entries
            .entry(user.to_string())
            .or_default()
            .push(Entry::Password(password.to_string()));
    }

    /// Adds a user by `HA1 = MD5(user:realm:password)` for `realm`.
    pub fn add_ha1(&mut self, user: &str, realm: &str, ha1: &str) {
        self.entries
            .entry(user.to_string())
            .or_default()
            .push(Entry::Ha1 {
                realm: realm.to_string(),
                ha1: ha1.to_ascii_lowercase(),
            });
    }

    /// Adds every user of `other`.
    pub fn extend(&mut self, other: Users) {
        for (user, entries) in other.entries {
            self.entries.entry(user).or_default().extend(entries);
        }
    }

    /// How many users are known.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no user is known.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The HA1 values `user` may authenticate with in `realm`.
    pub fn ha1s(&self, user: &str, realm: &str) -> Vec<String> {
        self.entries
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                Entry::Ha1 { realm: r, ha1 } if r == realm => Some(ha1.clone()),
                Entry::Ha1 { .. } => None,
                Entry::Password(p) => Some(ha1(user, realm, p)),
            })
            .collect()
    }
}

/// What a [`Challenger`] makes of an `Authorization`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Right credentials, fresh nonce, new nonce count: the user name.
    Ok(String),
    /// Right credentials but the nonce expired: challenge again with
    /// `stale=true`.
    Stale,
    /// A nonce count not above the last one seen for this nonce.
    Replay,
    /// Wrong user, password, realm, URI or a nonce not issued here.
    Wrong,
}

#[derive(Debug)]
struct Issued {
    nonce: String,
    opaque: String,
    at: Instant,
    last_nc: u32,
}

/// The nonces issued on one connection; see the [module docs](self).
#[derive(Debug)]
pub struct Challenger {
    realm: String,
    lifetime: Duration,
    issued: Vec<Issued>,
}

/// Most nonces remembered per connection (the oldest is forgotten).
const MAX_NONCES: usize = 4;

impl Challenger {
    /// A challenger for `realm` whose nonces live `lifetime`.
    pub fn new(realm: &str, lifetime: Duration) -> Challenger {
        Challenger {
            realm: realm.to_string(),
            lifetime,
            issued: Vec::new(),
        }
    }

    /// A fresh challenge (a new nonce and opaque value), issued `now`.
    pub fn challenge(&mut self, stale: bool, now: Instant) -> Challenge {
        if self.issued.len() >= MAX_NONCES {
            self.issued.remove(0);
        }
        let issued = Issued {
            nonce: random_hex(16),
            opaque: random_hex(8),
            at: now,
            last_nc: 0,
        };
        let c = Challenge {
            realm: self.realm.clone(),
            nonce: issued.nonce.clone(),
            opaque: Some(issued.opaque.clone()),
            qop: vec!["auth".into()],
            algorithm: None,
            stale,
        };
        self.issued.push(issued);
        c
    }

    /// Checks `auth` against `users`, with `uri` as the digest URI (the
    /// one the client sent, or the AUTH's To-Path when it sent none), at
    /// `now`.
    pub fn check(
        &mut self,
        auth: &Authorization,
        users: &Users,
        uri: &str,
        now: Instant,
    ) -> Verdict {
        if auth.realm != self.realm {
            return Verdict::Wrong;
        }
        let Some(issued) = self.issued.iter_mut().find(|i| i.nonce == auth.nonce) else {
            return Verdict::Wrong;
        };
        if auth.opaque.as_deref().is_some_and(|o| o != issued.opaque) {
            return Verdict::Wrong;
        }
        let right = users
            .ha1s(&auth.username, &self.realm)
            .iter()
            .any(|h| auth.verify(h, uri));
        if !right {
            return Verdict::Wrong;
        }
        if now.duration_since(issued.at) > self.lifetime {
            return Verdict::Stale;
        }
        let nc = auth.nonce_count();
        if auth.qop.is_some() && nc <= issued.last_nc {
            return Verdict::Replay;
        }
        if auth.qop.is_none() && issued.last_nc > 0 {
            // Without qop there is no count: one use per nonce.
            return Verdict::Replay;
        }
        issued.last_nc = nc.max(1);
        Verdict::Ok(auth.username.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_file_forms_and_errors() {
        let h = ha1("alice", "r1", "pw");
        let text = format!("# c\n\nalice:r1:{h}\nbob:se:cret\ncarol:x:y:z\n");
        let u = Users::parse(&text).unwrap();
        assert_eq!(u.len(), 3);
        assert_eq!(u.ha1s("alice", "r1"), [h]);
        assert!(u.ha1s("alice", "r2").is_empty());
        assert_eq!(u.ha1s("bob", "r2"), [ha1("bob", "r2", "se:cret")]);
        assert_eq!(u.ha1s("carol", "r"), [ha1("carol", "r", "x:y:z")]);
        for bad in ["nocolon", ":pw", "user:"] {
            assert!(matches!(
                Users::parse(&format!("ok:pw\n{bad}\n")),
                Err(UsersError::Syntax { line: 2 })
            ));
        }
    }

    #[test]
    fn nonces_expire_replays_fail_and_other_connections_cannot_use_them() {
        let mut users = Users::new();
        users.add_password("alice", "pw");
        let t0 = Instant::now();
        let mut ch = Challenger::new("r", Duration::from_secs(15));
        let c = ch.challenge(false, t0);
        assert!(c.opaque.as_deref().is_some_and(|o| !o.is_empty()));
        let uri = "msrp://r:2855;tcp";
        let a1 = c.answer("alice", "pw", uri, true, 1, "cn").unwrap();
        assert_eq!(ch.check(&a1, &users, uri, t0), Verdict::Ok("alice".into()));
        assert_eq!(ch.check(&a1, &users, uri, t0), Verdict::Replay);
        let a2 = c.answer("alice", "pw", uri, true, 2, "cn").unwrap();
        assert_eq!(ch.check(&a2, &users, uri, t0), Verdict::Ok("alice".into()));
        let bad = c.answer("alice", "no", uri, true, 3, "cn").unwrap();
        assert_eq!(ch.check(&bad, &users, uri, t0), Verdict::Wrong);
        let a3 = c.answer("alice", "pw", uri, true, 3, "cn").unwrap();
        let later = t0 + Duration::from_secs(16);
        assert_eq!(ch.check(&a3, &users, uri, later), Verdict::Stale);
        // The same answer on another connection's challenger.
        let mut other = Challenger::new("r", Duration::from_secs(15));
        other.challenge(false, t0);
        assert_eq!(other.check(&a3, &users, uri, t0), Verdict::Wrong);
    }
}
