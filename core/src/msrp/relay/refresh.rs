//! Keeping a relay reservation alive while a session lives (sans-IO).
//!
//! A relay's 200 to AUTH says how long the reservation lasts (`Expires`).
//! RFC 4976 §5 has the client authenticate again before that time runs
//! out, over the same connection, or the relay forgets the session id in
//! its `Use-Path` and answers 481 to everything sent to it.
//!
//! A [`Renewal`] is driven by the session that owns the relay connection
//! (see [`crate::msrp::session::Session::keep_reservation`]):
//!
//! * three quarters into the reservation it makes a fresh AUTH exchange
//!   (the same user, relay, local URI, and what the first exchange learnt:
//!   whether the relay wants the digest URI left out and an `Expires`
//!   inside its bounds) and hands out its first AUTH;
//! * the relay's responses are routed to it by transaction id, and it
//!   hands out the next AUTH (the one with credentials) until the relay
//!   answers 200, which schedules the next renewal from the new `Expires`;
//! * a renewal that fails (refused, or no answer within the response
//!   timeout) is logged and tried again every [`RETRY`] while the old
//!   reservation lasts; after that it gives up (logged as an error), and
//!   the relay's 481s tell the application.
//!
//! A `Use-Path` that changes on renewal is logged: the peer only knows the
//! path advertised at the start, so the session keeps using it.

use std::time::{Duration, Instant};

use super::auth::{AuthClient, AuthStep, Reservation};
use crate::msrp::{Chunk, Uri};

/// How long after a failed renewal the next one starts.
pub const RETRY: Duration = Duration::from_secs(5);

/// The renewal state of one reservation.
#[derive(Debug)]
pub struct Renewal {
    /// A finished exchange, kept as the model for the next one.
    model: AuthClient,
    /// The exchange in progress, with the time its AUTH times out.
    current: Option<(AuthClient, Instant)>,
    /// When the next exchange starts (when none is in progress); `None`
    /// after giving up.
    next_at: Option<Instant>,
    /// When the reservation in force runs out.
    expires_at: Instant,
    use_path: Vec<Uri>,
    /// How long to wait for each answer to AUTH.
    timeout: Duration,
}

/// When to renew a reservation of `lifetime`: three quarters into it.
fn renew_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub(lifetime / 4)
}

impl Renewal {
    /// Renewals of `reservation`, granted at `now` to the exchange `auth`.
    /// `None` when the relay gave no `Expires` (nothing to renew).
    /// `timeout`: how long each AUTH may wait for its answer.
    pub fn new(
        auth: &AuthClient,
        reservation: &Reservation,
        timeout: Duration,
        now: Instant,
    ) -> Option<Renewal> {
        let lifetime = reservation.expires?;
        Some(Renewal {
            model: auth.renewal(),
            current: None,
            next_at: Some(now + renew_after(lifetime)),
            expires_at: now + lifetime,
            use_path: reservation.use_path.clone(),
            timeout,
        })
    }

    /// When [`handle_timeout`](Self::handle_timeout) should run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.current {
            Some((_, deadline)) => Some(*deadline),
            None => self.next_at,
        }
    }

    /// Starts a renewal when one is due, or moves on from an AUTH that got
    /// no answer. Returns the AUTH to send, if any.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Chunk> {
        let (auth, next) = match self.current.take() {
            Some((mut auth, deadline)) if deadline <= now => {
                let next = auth.on_silence(self.timeout);
                (auth, next)
            }
            Some(in_progress) => {
                self.current = Some(in_progress);
                return None;
            }
            None if self.next_at.is_some_and(|at| at <= now) => {
                let mut auth = self.model.renewal();
                let next = auth.start();
                (auth, next)
            }
            None => return None,
        };
        match next {
            Ok(chunk) => {
                self.current = Some((auth, now + self.timeout));
                Some(chunk)
            }
            Err(e) => {
                self.failed(&e.to_string(), now);
                None
            }
        }
    }

    /// Whether `response` answers the AUTH in progress. If it does, it is
    /// consumed, and the next AUTH to send (if any) is returned.
    pub fn on_response(&mut self, response: &Chunk, now: Instant) -> (bool, Option<Chunk>) {
        let Some((mut auth, deadline)) = self.current.take() else {
            return (false, None);
        };
        if auth.pending() != Some(response.transaction_id.as_str()) {
            self.current = Some((auth, deadline));
            return (false, None);
        }
        match auth.on_response(response) {
            Ok(Some(AuthStep::Send(next))) => {
                self.current = Some((auth, now + self.timeout));
                (true, Some(next))
            }
            Ok(Some(AuthStep::Done(reservation))) => {
                if reservation.use_path != self.use_path {
                    log::warn!(
                        "the relay renewed the reservation with another Use-Path ({:?}, \
                         was {:?}); the session keeps the one its peer knows",
                        reservation.use_path,
                        self.use_path
                    );
                }
                self.model = auth.renewal();
                let lifetime = reservation
                    .expires
                    .unwrap_or_else(|| self.expires_at.saturating_duration_since(now));
                log::debug!("relay reservation renewed for {lifetime:?}");
                self.expires_at = now + lifetime;
                self.next_at = Some(now + renew_after(lifetime));
                (true, None)
            }
            Ok(None) => {
                self.current = Some((auth, deadline));
                (false, None)
            }
            Err(e) => {
                self.failed(&e.to_string(), now);
                (true, None)
            }
        }
    }

    /// Whether renewing was given up (the reservation has run out or is
    /// about to).
    pub fn gave_up(&self) -> bool {
        self.current.is_none() && self.next_at.is_none()
    }

    fn failed(&mut self, why: &str, now: Instant) {
        let retry = now + RETRY;
        if retry < self.expires_at {
            log::warn!("renewing the relay reservation failed ({why}); trying again in {RETRY:?}");
            self.next_at = Some(retry);
        } else {
            log::error!(
                "renewing the relay reservation failed ({why}); it runs out and the relay \
                 will refuse this session's traffic"
            );
            self.next_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::relay::digest::{ha1, Authorization, Challenge};
    use crate::msrp::session::{Session, SessionConfig, SessionPaths};
    use crate::msrp::{make_response, parse_chunk};

    const REALM: &str = "relay.test";

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    /// A session through a relay whose reservation (`lifetime`) was
    /// granted at `now`, and the relay's use path.
    fn relayed_session(lifetime: u64, now: Instant) -> Session {
        let local = uri("msrp://127.0.0.1:40000/alice;tcp");
        let relay = uri("msrp://127.0.0.1:2855/r1;tcp");
        let mut paths =
            SessionPaths::new(local.clone(), &[uri("msrp://127.0.0.1:2856/bob;tcp")]).unwrap();
        paths.local_path = vec![relay.clone()];
        let config = SessionConfig {
            keepalive_interval: None,
            response_timeout: Duration::from_secs(10),
            ..SessionConfig::default()
        };
        let mut s = Session::new(paths, config, now);
        let auth = AuthClient::new(
            "alice",
            "secret",
            uri("msrp://relay.test:2855;tcp"),
            local,
            None,
            true,
        );
        let reservation = Reservation {
            use_path: vec![relay],
            expires: Some(Duration::from_secs(lifetime)),
        };
        s.keep_reservation(&auth, &reservation, now);
        s
    }

    fn sent(s: &mut Session) -> Vec<Chunk> {
        std::iter::from_fn(|| s.poll_transmit())
            .map(|b| parse_chunk(&b).unwrap())
            .collect()
    }

    fn answer(req: &Chunk, code: u16, headers: &[(&str, String)]) -> Vec<u8> {
        let mut r = make_response(req, code, None).unwrap().unwrap();
        for (n, v) in headers {
            r.headers.set(n, v.clone());
        }
        r.encode().to_vec()
    }

    fn challenge(nonce: &str) -> String {
        Challenge {
            realm: REALM.into(),
            nonce: nonce.into(),
            opaque: Some("op".into()),
            qop: vec!["auth".into()],
            algorithm: None,
            stale: false,
        }
        .to_header()
    }

    /// One full renewal at `now`: the first AUTH, the 401, the AUTH with
    /// credentials (checked), and a 200 granting `granted` seconds.
    fn renew(s: &mut Session, now: Instant, granted: u64) {
        s.handle_timeout(now);
        let first = sent(s);
        assert_eq!(first.len(), 1, "one AUTH");
        assert_eq!(first[0].method(), Some("AUTH"));
        assert!(first[0].headers.get("Authorization").is_none());
        assert_eq!(
            first[0].headers.get("To-Path"),
            Some("msrp://relay.test:2855;tcp")
        );
        s.handle_input(
            &answer(&first[0], 401, &[("WWW-Authenticate", challenge("n1"))]),
            now,
        );
        let second = sent(s);
        assert_eq!(second.len(), 1);
        let auth = Authorization::parse(second[0].headers.get("Authorization").unwrap()).unwrap();
        assert!(auth.verify(&ha1("alice", REALM, "secret"), "msrp://relay.test:2855;tcp"));
        s.handle_input(
            &answer(
                &second[0],
                200,
                &[
                    ("Use-Path", "msrp://127.0.0.1:2855/r1;tcp".into()),
                    ("Expires", granted.to_string()),
                ],
            ),
            now,
        );
        assert!(sent(s).is_empty());
        // The relay's answers are the renewal's, not the application's.
        assert_eq!(s.poll_event(), None);
    }

    #[test]
    fn renews_three_quarters_into_each_reservation() {
        let t0 = Instant::now();
        let mut s = relayed_session(40, t0);
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_secs(30)));
        s.handle_timeout(t0 + Duration::from_secs(29));
        assert!(sent(&mut s).is_empty(), "not before it is due");
        let t1 = t0 + Duration::from_secs(30);
        renew(&mut s, t1, 100);
        // The next one from the new Expires.
        assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(75)));
        renew(&mut s, t1 + Duration::from_secs(75), 100);
        assert!(!s.reservation_lapsed());
    }

    #[test]
    fn a_refused_renewal_is_retried_until_the_reservation_runs_out() {
        let t0 = Instant::now();
        let mut s = relayed_session(40, t0);
        let mut now = t0 + Duration::from_secs(30);
        let mut attempts = 0;
        while let Some(at) = s.poll_timeout() {
            now = now.max(at);
            s.handle_timeout(now);
            let reqs = sent(&mut s);
            assert_eq!(reqs.len(), 1);
            attempts += 1;
            s.handle_input(&answer(&reqs[0], 403, &[]), now);
            assert_eq!(s.poll_event(), None);
            assert!(attempts < 10, "retries are bounded by the reservation");
        }
        // 30, 35 s; at 40 s the reservation is over.
        assert_eq!(attempts, 2);
        assert!(s.reservation_lapsed());
    }

    #[test]
    fn an_unanswered_renewal_times_out_and_is_retried() {
        let t0 = Instant::now();
        let mut s = relayed_session(100, t0);
        let t1 = t0 + Duration::from_secs(75);
        s.handle_timeout(t1);
        let first = sent(&mut s);
        assert_eq!(first.len(), 1);
        // No answer within the response timeout (10 s): given up for now,
        // tried again 5 s later.
        assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(10)));
        s.handle_timeout(t1 + Duration::from_secs(10));
        assert!(sent(&mut s).is_empty());
        assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(15)));
        renew(&mut s, t1 + Duration::from_secs(15), 100);
        // A late answer to the abandoned AUTH goes nowhere.
        s.handle_input(
            &answer(&first[0], 401, &[("WWW-Authenticate", challenge("n9"))]),
            t1,
        );
        assert!(sent(&mut s).is_empty());
        assert_eq!(s.poll_event(), None);
    }

    #[test]
    fn nothing_is_renewed_after_close() {
        let t0 = Instant::now();
        let mut s = relayed_session(40, t0);
        s.handle_close();
        assert_eq!(s.poll_timeout(), None);
        s.handle_timeout(t0 + Duration::from_secs(31));
        assert!(sent(&mut s).is_empty());
    }
}
