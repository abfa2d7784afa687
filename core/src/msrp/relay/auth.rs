//! The client side of the AUTH exchange (RFC 4976 §5), sans-IO.
//!
//! [`AuthClient`] makes the AUTH requests and reads the relay's answers;
//! the caller moves the chunks (see [`super::RelayConnection`]). The
//! exchange:
//!
//! 1. AUTH without credentials → 401 with `WWW-Authenticate`;
//! 2. AUTH with `Authorization` (nonce count 1, a fresh cnonce) → 200 with
//!    `Use-Path` and `Expires`: the reservation.
//!
//! What deployed relays do, and how it is handled:
//!
//! * A 401 with `stale=true` after our credentials: the nonce expired,
//!   the password was right. Retried once with the new nonce.
//! * Any other 401 after our credentials: [`RelayError::AuthRejected`].
//! * 423 (Interval Out of Bounds) names `Min-Expires` or `Max-Expires`:
//!   retried once with `Expires` inside the bound. `Expires` is sent only
//!   when configured, because deployed Kamailio relays answer any
//!   `Expires` with 423.
//! * The digest `uri` is the relay's URI, as RFC 2617 requires, and
//!   Kamailio refuses an `Authorization` without it. AGProjects msrprelay
//!   1.4 never answers an `Authorization` that carries it: when an AUTH
//!   with credentials gets no answer in time ([`AuthClient::on_silence`]),
//!   it is sent once more without `uri`, and [`AuthClient::sends_uri`]
//!   tells the caller to remember that for this relay.

use std::time::Duration;

use super::digest::Challenge;
use super::RelayError;
use crate::msrp::header::UsePath;
use crate::msrp::{random_hex, random_id, Chunk, Uri};

/// What to do after a response.
#[derive(Debug)]
pub enum AuthStep {
    /// Send this AUTH next.
    Send(Chunk),
    /// The relay took us: the reservation.
    Done(Reservation),
}

/// A relay's answer to a successful AUTH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The `Use-Path` URIs, nearest relay first: prepended to our URI they
    /// are the path we advertise.
    pub use_path: Vec<Uri>,
    /// How long the reservation lasts (`Expires`), if the relay said.
    pub expires: Option<Duration>,
}

/// The AUTH exchange of one client with one relay.
#[derive(Debug)]
pub struct AuthClient {
    username: String,
    password: String,
    relay_uri: Uri,
    local_uri: Uri,
    expires: Option<u32>,
    send_uri: bool,
    challenge: Option<Challenge>,
    /// Nonce count for the current challenge's nonce.
    nc: u32,
    credentials_sent: bool,
    stale_retried: bool,
    expires_retried: bool,
    silence_retried: bool,
    pending: Option<String>,
}

impl AuthClient {
    /// An exchange for `username`/`password` with the relay at `relay_uri`
    /// (the To-Path of the AUTH and the digest URI), from `local_uri` (the
    /// From-Path). `expires`: the reservation time to ask for (`None`: the
    /// relay's default, no `Expires` header). `send_uri`: false for a
    /// relay known to need the digest URI left out.
    pub fn new(
        username: &str,
        password: &str,
        relay_uri: Uri,
        local_uri: Uri,
        expires: Option<u32>,
        send_uri: bool,
    ) -> Self {
        AuthClient {
            username: username.to_string(),
            password: password.to_string(),
            relay_uri,
            local_uri,
            expires,
            send_uri,
            challenge: None,
            nc: 0,
            credentials_sent: false,
            stale_retried: false,
            expires_retried: false,
            silence_retried: false,
            pending: None,
        }
    }

    /// A fresh exchange with the same user, relay and local URI, keeping
    /// what this one learnt: the `Expires` a 423 asked for and whether the
    /// relay wants the digest URI left out. Used to renew a reservation
    /// (see [`super::refresh`]).
    pub fn renewal(&self) -> AuthClient {
        let mut next = AuthClient::new(
            &self.username,
            &self.password,
            self.relay_uri.clone(),
            self.local_uri.clone(),
            self.expires,
            self.send_uri,
        );
        // A relay that needed the URI left out needs it left out again.
        next.silence_retried = !self.send_uri;
        next
    }

    /// Whether the digest URI is (still) sent: false after the relay did
    /// not answer an AUTH that carried it.
    pub fn sends_uri(&self) -> bool {
        self.send_uri
    }

    /// The first AUTH (no credentials).
    pub fn start(&mut self) -> Result<Chunk, RelayError> {
        self.challenge = None;
        self.credentials_sent = false;
        self.request()
    }

    /// The next AUTH: with an `Authorization` when a challenge is known.
    fn request(&mut self) -> Result<Chunk, RelayError> {
        let tid = random_id();
        let mut chunk = Chunk::request(tid.clone(), "AUTH");
        chunk.headers.set("To-Path", self.relay_uri.to_string());
        chunk.headers.set("From-Path", self.local_uri.to_string());
        if let Some(challenge) = &self.challenge {
            self.nc += 1;
            let uri = self.relay_uri.to_string();
            let auth = challenge.answer(
                &self.username,
                &self.password,
                &uri,
                self.send_uri,
                self.nc,
                &random_hex(8),
            )?;
            chunk.headers.set("Authorization", auth.to_header());
            self.credentials_sent = true;
        }
        if let Some(e) = self.expires {
            chunk.headers.set("Expires", e.to_string());
        }
        self.pending = Some(tid);
        Ok(chunk)
    }

    /// The transaction id of the AUTH waiting for its answer.
    pub fn pending(&self) -> Option<&str> {
        self.pending.as_deref()
    }

    /// Reads a response. `Ok(None)`: not the answer to our AUTH (ignored).
    pub fn on_response(&mut self, response: &Chunk) -> Result<Option<AuthStep>, RelayError> {
        let Some(code) = response.code() else {
            return Ok(None);
        };
        if self.pending.as_deref() != Some(response.transaction_id.as_str()) {
            return Ok(None);
        }
        self.pending = None;
        let rejected = || RelayError::AuthRejected {
            code,
            comment: response.comment().map(str::to_string),
        };
        match code {
            200 => {
                let use_path = response
                    .headers
                    .get_typed::<UsePath>()
                    .map_err(|e| RelayError::BadResponse(e.to_string()))?
                    .map(|p| p.0)
                    .unwrap_or_default();
                if use_path.is_empty() {
                    return Err(RelayError::BadResponse(
                        "a 200 to AUTH without Use-Path".into(),
                    ));
                }
                let expires = match response.headers.get("Expires") {
                    None => None,
                    Some(v) => {
                        Some(Duration::from_secs(v.trim().parse().map_err(|_| {
                            RelayError::BadResponse(format!("Expires: {v:?}"))
                        })?))
                    }
                };
                Ok(Some(AuthStep::Done(Reservation { use_path, expires })))
            }
            401 => {
                let value = response.headers.get("WWW-Authenticate").ok_or_else(|| {
                    RelayError::BadResponse("a 401 without WWW-Authenticate".into())
                })?;
                let challenge = Challenge::parse(value)?;
                if self.credentials_sent {
                    if !challenge.stale || self.stale_retried {
                        return Err(rejected());
                    }
                    self.stale_retried = true;
                }
                self.challenge = Some(challenge);
                self.nc = 0;
                self.request().map(|c| Some(AuthStep::Send(c)))
            }
            423 if !self.expires_retried => {
                self.expires_retried = true;
                let bound = |name| {
                    response
                        .headers
                        .get(name)
                        .and_then(|v| v.trim().parse::<u32>().ok())
                };
                let wanted = self.expires.unwrap_or(0);
                self.expires = match (bound("Min-Expires"), bound("Max-Expires")) {
                    (Some(min), _) if wanted < min => Some(min),
                    (_, Some(max)) if self.expires.is_none() || wanted > max => Some(max),
                    (Some(min), _) => Some(min),
                    _ => return Err(rejected()),
                };
                self.request().map(|c| Some(AuthStep::Send(c)))
            }
            _ => Err(rejected()),
        }
    }

    /// No answer to the pending AUTH in time. An AUTH with credentials and
    /// the digest URI is sent once more without the URI (see the module
    /// docs); otherwise the exchange fails with
    /// [`RelayError::AuthTimeout`].
    pub fn on_silence(&mut self, waited: Duration) -> Result<Chunk, RelayError> {
        if self.credentials_sent && self.send_uri && !self.silence_retried {
            self.silence_retried = true;
            self.send_uri = false;
            // The same nonce, the next count.
            return self.request();
        }
        Err(RelayError::AuthTimeout(waited))
    }
}
