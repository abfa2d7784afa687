//! An MSRP relay (RFC 4976): [`Relay`].
//!
//! # Modules
//!
//! * [`users`] — the users file and the per-connection digest
//!   [`Challenger`](users::Challenger) (nonces, expiry, nc replay).
//! * `route` — which URIs are ours, how a request's paths are rewritten
//!   and where it goes next.
//! * `peer` — one connection (accepted, or opened by us toward a next
//!   hop): parsing, AUTH, cut-through forwarding, responses back.
//! * `status` — the serverResponse pages.
//! * [`crate::net::listener`] — the accept loops (TLS, and plain TCP on
//!   request), with connection limits per address and in all.
//!
//! # What the relay does
//!
//! **AUTH.** An AUTH whose To-Path is a single URI naming the relay (its
//! domain, or the address the connection was made to; the port is not
//! compared, since clients name the domain with the port they were
//! configured with) is answered 401 with a digest challenge, then, with
//! right credentials, 200 with `Use-Path: <relay URI with a fresh
//! session id>` and `Expires`. The relay URI's host and port are those of
//! the local address the client connected to, so a peer given the
//! client's path can reach the relay; the scheme is `msrps` on the TLS
//! listener, `msrp` on the plain one. The session id names the client's
//! reservation: the AUTH's From-Path URI, on this connection, until
//! `Expires` runs out or the connection closes. An AUTH with To-Path
//! naming anything else is refused 403 (RFC 4976 lets a client
//! authenticate with a relay further along *through* its first relay; we
//! do not forward AUTH).
//!
//! **Forwarding.** A SEND, REPORT or NICKNAME whose first To-Path URI is
//! ours has that URI moved to the front of From-Path; while the next URI
//! is ours too (both clients on this relay) the step repeats. The request
//! then goes, with a new transaction id, to:
//!
//! * the client of the last reservation passed, when the next URI is that
//!   client's own URI (over the client's connection);
//! * otherwise the next URI's host and port, over a connection we already
//!   have with that authority (one we opened, or one a peer opened to us
//!   and sent requests from), or a new one (TLS for `msrps`, verified with
//!   [`RelayConfig::tls_client`]).
//!
//! SEND bodies are cut through: what each read brings of a body is
//! written to the next hop before the next read, by the reading thread
//! itself, straight from the read buffer (the rewritten heads and
//! end-lines go in the same vectored write), behind a per-connection
//! "outlet" that keeps one chunk at a time on each outgoing connection.
//! A next hop that does not take the bytes stops reading from the sender
//! (back-pressure), so a large transfer never sits in the relay: at most
//! one read buffer (16 KiB, growing to 256 KiB while a transfer fills it)
//! per connection. See `peer` for what this costs per byte. A chunk ended with `+`
//! (RFC 4975 §5.1 interruption) is forwarded ended with `+`, and the
//! continuation is a new transaction like any other. Bodies of other
//! requests are collected (at most [`RelayConfig::max_control_body`],
//! 10 KiB; more is answered 413) and forwarded whole.
//!
//! **Responses are hop by hop, but not early.** The relay never answers a
//! forwarded request itself with 200: it waits for the next hop's response
//! to the new transaction id and answers the previous hop with the same
//! code and comment (paths per RFC 4975 §7.2 from the request it
//! received). So a 200 at the sender means the chunk got to the far end,
//! as without a relay, and a relay never has to turn a late failure into
//! a REPORT: the failure travels back as the response itself, and
//! endpoints send the REPORTs Failure-Report asks for. With
//! `Failure-Report: no` nothing is expected back and nothing is tracked;
//! with `partial` only failures come back, so a silent next hop is not an
//! error.
//!
//! **Failures the relay itself answers**, each logged with its reason:
//!
//! | situation | code |
//! |---|---|
//! | malformed To-Path or From-Path, a To-Path ending at the relay | 400 |
//! | a first To-Path URI that is not ours; an unauthenticated connection sending anywhere but to one of our clients; a From-Path not starting with the connection's authenticated URI (spoofing); a request that would go back where it came from | 403 |
//! | no response from the next hop within [`RelayConfig::transaction_timeout`] (30 s), or the next hop's connection lost before it answered | 408 |
//! | a non-SEND body over [`RelayConfig::max_control_body`] | 413 |
//! | `Expires` out of bounds in AUTH (with `Min-Expires` or `Max-Expires`) | 423 |
//! | an unknown or expired session id in our URI; a client whose connection is gone; a next hop that cannot be reached | 481 |
//! | a method not in [`RelayConfig::methods`] (and not AUTH) | 501 |
//!
//! The relay's own 408s wait at most one second for the sender's
//! connection (a chunk from elsewhere may be under way to it); a sender
//! that has stopped reading misses them and relies on its own transaction
//! timeout, and never holds up the housekeeping that serves everyone else.
//!
//! An unauthenticated connection may only send toward one of our clients:
//! its first To-Path URI is a reservation of ours and the next URI is that
//! client's own URI (a direct peer, or another relay, answering a client
//! of ours). Responses are accepted on any connection for the
//! transactions we sent on it.
//!
//! **Shutdown** ([`Relay::shutdown`]): the listeners stop, new requests
//! are ignored, each chunk being forwarded is allowed to finish (bounded
//! by [`RelayConfig::shutdown_grace`]), then every connection is closed
//! after flushing what was queued.
//!
//! The relay uses two threads per connection (the engine's
//! [`Connection`](crate::net::Connection)) and one housekeeping thread
//! (transaction timeouts, expired reservations).

mod peer;
mod route;
mod status;
pub mod users;

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel as channel;
use parking_lot::Mutex;

use self::peer::Peer;
pub use self::users::{Users, UsersError};
use super::Uri;
use crate::net::{Listener, ListenerConfig, TlsClientConfig, TlsServerConfig};
use crate::serverresponse::Server;

/// Longest the relay waits for a connection to take an answer of its own
/// (a 408 for a transaction the next hop never answered): long enough for
/// a chunk under way to that connection to end on any usable link, short
/// enough that a peer that stopped reading cannot stall the housekeeping
/// that expires transactions and reservations for everyone.
const ANSWER_WAIT: Duration = Duration::from_secs(1);

/// Reservation time bounds, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiresBounds {
    /// Shortest `Expires` accepted (60).
    pub min: u32,
    /// What a client asking for none gets (600).
    pub default: u32,
    /// Longest `Expires` accepted (3600).
    pub max: u32,
}

impl Default for ExpiresBounds {
    fn default() -> Self {
        ExpiresBounds {
            min: 60,
            default: 600,
            max: 3600,
        }
    }
}

/// Everything a [`Relay`] needs; [`RelayConfig::new`] gives the
/// documented defaults.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The digest realm.
    pub realm: String,
    /// The relay's domain, as clients name it in AUTH (default: the realm).
    pub domain: String,
    /// Who may authenticate.
    pub users: Users,
    /// The TLS listening address (port 0: any free port). Needs
    /// [`tls`](Self::tls).
    pub listen: Option<SocketAddr>,
    /// The certificate and key for [`listen`](Self::listen).
    pub tls: Option<TlsServerConfig>,
    /// A plain TCP listening address: for tests and closed networks only
    /// (RFC 4976 makes TLS mandatory). Default none.
    pub plain_tcp: Option<SocketAddr>,
    /// Where to serve the status pages (`/status.xml`, `/sessions.xml`).
    /// Default none.
    pub status: Option<SocketAddr>,
    /// Reservation time bounds (60, 600, 3600 s).
    pub expires: ExpiresBounds,
    /// How long a digest nonce is good (15 s).
    pub nonce_lifetime: Duration,
    /// Failed AUTH attempts per connection before it is closed (3).
    pub auth_attempts: u32,
    /// The methods forwarded (SEND, REPORT, NICKNAME); others but AUTH get
    /// 501.
    pub methods: Vec<String>,
    /// Most connections from one IP address, per listener (64).
    pub max_per_address: usize,
    /// Most connections in all, per listener (10,000).
    pub max_connections: usize,
    /// How long a forwarded transaction may wait for its response before
    /// it is answered 408 (30 s).
    pub transaction_timeout: Duration,
    /// Largest body of a request other than SEND (10 KiB).
    pub max_control_body: usize,
    /// How long to wait for a next hop's TCP connection and TLS handshake
    /// (10 s).
    pub connect_timeout: Duration,
    /// How next hops reached over `msrps` are verified. `None` (default):
    /// `msrps` next hops cannot be reached (481).
    pub tls_client: Option<TlsClientConfig>,
    /// How long [`Relay::shutdown`] lets chunks in flight finish (5 s).
    pub shutdown_grace: Duration,
}

impl RelayConfig {
    /// A configuration for `realm` (also the domain) and `users`, with
    /// no listener yet and the documented defaults.
    pub fn new(realm: &str, users: Users) -> RelayConfig {
        RelayConfig {
            realm: realm.to_string(),
            domain: realm.to_string(),
            users,
            listen: None,
            tls: None,
            plain_tcp: None,
            status: None,
            expires: ExpiresBounds::default(),
            nonce_lifetime: Duration::from_secs(15),
            auth_attempts: 3,
            methods: vec!["SEND".into(), "REPORT".into(), "NICKNAME".into()],
            max_per_address: 64,
            max_connections: 10_000,
            transaction_timeout: Duration::from_secs(30),
            max_control_body: 10 * 1024,
            connect_timeout: Duration::from_secs(10),
            tls_client: None,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Why a relay could not start.
#[derive(Debug, thiserror::Error)]
pub enum RelayServerError {
    /// A listener or the status server could not bind, or a thread could
    /// not start.
    #[error("{what}: {source}")]
    Io {
        /// Which address or part.
        what: String,
        /// The cause.
        source: io::Error,
    },
    /// The configuration cannot work (no listener, TLS address without
    /// certificate, bad bounds).
    #[error("relay configuration: {0}")]
    Config(String),
}

/// Counters of a [`Relay`] since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayCounters {
    /// Connections open now (accepted and opened).
    pub connections: u64,
    /// Connections accepted or opened in all.
    pub connections_total: u64,
    /// Reservations held now.
    pub reservations: u64,
    /// AUTHs answered 200.
    pub auth_ok: u64,
    /// AUTHs with credentials refused.
    pub auth_failed: u64,
    /// Requests forwarded.
    pub forwarded: u64,
    /// Responses passed back.
    pub responses: u64,
    /// Requests refused by the relay (any error code it made itself).
    pub refused: u64,
    /// Transactions answered 408.
    pub timeouts: u64,
    /// Body bytes forwarded.
    pub bytes: u64,
}

impl RelayCounters {
    /// Every counter with its name, as the status page and the bindings
    /// show them.
    pub fn named(&self) -> [(&'static str, u64); 10] {
        [
            ("connections", self.connections),
            ("connections_total", self.connections_total),
            ("reservations", self.reservations),
            ("auth_ok", self.auth_ok),
            ("auth_failed", self.auth_failed),
            ("forwarded", self.forwarded),
            ("responses", self.responses),
            ("refused", self.refused),
            ("timeouts", self.timeouts),
            ("bytes", self.bytes),
        ]
    }
}

#[derive(Debug, Default)]
struct Counters {
    connections: AtomicU64,
    connections_total: AtomicU64,
    auth_ok: AtomicU64,
    auth_failed: AtomicU64,
    forwarded: AtomicU64,
    responses: AtomicU64,
    refused: AtomicU64,
    timeouts: AtomicU64,
    bytes: AtomicU64,
}

/// One reservation as the status page and [`Relay::reservations`] show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationInfo {
    /// The user who authenticated.
    pub user: String,
    /// The session id in the relay's URI.
    pub session_id: String,
    /// The relay URI given in Use-Path.
    pub uri: String,
    /// The client's own URI (the AUTH's From-Path).
    pub client: String,
    /// The client's address.
    pub peer: SocketAddr,
    /// Time left.
    pub expires_in: Duration,
    /// Body bytes relayed from and to this client.
    pub bytes: u64,
}

/// A reservation in the table.
#[derive(Debug)]
struct Reservation {
    user: String,
    uri: Uri,
    client: Uri,
    peer_addr: SocketAddr,
    expires: Instant,
    peer: Weak<Peer>,
    bytes: Arc<AtomicU64>,
}

/// A transaction forwarded and waiting for its response.
#[derive(Debug)]
struct Pending {
    source: Weak<Peer>,
    request: super::Chunk,
    /// Set once the chunk is fully forwarded (`None` while cutting
    /// through, or for `Failure-Report: partial`).
    deadline: Option<Instant>,
    partial: bool,
}

/// What the relay's connections share.
#[derive(Debug)]
struct Hub {
    config: RelayConfig,
    counters: Counters,
    reservations: Mutex<HashMap<String, Reservation>>,
    peers: Mutex<HashMap<u64, Arc<Peer>>>,
    /// Connections by the authority of the far end: `(host, port, tls)`.
    links: Mutex<HashMap<(String, u16, bool), Weak<Peer>>>,
    pending: Mutex<HashMap<(u64, String), Pending>>,
    /// Our listening addresses.
    bound: Mutex<Vec<SocketAddr>>,
    shutting_down: AtomicBool,
    next_id: AtomicU64,
}

impl Hub {
    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn counters(&self) -> RelayCounters {
        let c = &self.counters;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RelayCounters {
            connections: l(&c.connections),
            connections_total: l(&c.connections_total),
            reservations: self.reservations.lock().len() as u64,
            auth_ok: l(&c.auth_ok),
            auth_failed: l(&c.auth_failed),
            forwarded: l(&c.forwarded),
            responses: l(&c.responses),
            refused: l(&c.refused),
            timeouts: l(&c.timeouts),
            bytes: l(&c.bytes),
        }
    }

    fn reservations(&self) -> Vec<ReservationInfo> {
        let now = Instant::now();
        let mut v: Vec<ReservationInfo> = self
            .reservations
            .lock()
            .iter()
            .map(|(sid, r)| ReservationInfo {
                user: r.user.clone(),
                session_id: sid.clone(),
                uri: r.uri.to_string(),
                client: r.client.to_string(),
                peer: r.peer_addr,
                expires_in: r.expires.saturating_duration_since(now),
                bytes: r.bytes.load(Ordering::Relaxed),
            })
            .collect();
        v.sort_by(|a, b| a.session_id.cmp(&b.session_id));
        v
    }

    /// One round of housekeeping: transactions past their deadline get
    /// 408, expired reservations go.
    fn sweep(&self, now: Instant) {
        let late: Vec<Pending> = {
            let mut pending = self.pending.lock();
            let keys: Vec<(u64, String)> = pending
                .iter()
                .filter(|(_, p)| p.deadline.is_some_and(|d| d <= now))
                .map(|(k, _)| k.clone())
                .collect();
            keys.iter().filter_map(|k| pending.remove(k)).collect()
        };
        // Sources that could not take an answer in time this round: the
        // rest of theirs are dropped at once, so one peer that stopped
        // reading holds up the sweep for one ANSWER_WAIT at most.
        let mut stuck: Vec<Weak<Peer>> = Vec::new();
        for p in late {
            if p.partial {
                continue; // nothing was expected back
            }
            self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
            if stuck.iter().any(|s| s.ptr_eq(&p.source)) {
                log::info!(
                    "transaction {}: 408 dropped, its sender is not reading",
                    p.request.transaction_id
                );
                continue;
            }
            if !self.answer_pending(&p, 408, "no response from the next hop") {
                stuck.push(p.source.clone());
            }
        }
        self.reservations.lock().retain(|sid, r| {
            let keep = r.expires > now && r.peer.strong_count() > 0;
            if !keep {
                log::info!("reservation {sid} of {} ended", r.user);
            }
            keep
        });
    }

    /// Answers the sender of a forwarded transaction the relay could not
    /// complete, waiting at most [`ANSWER_WAIT`] for its connection to
    /// take the answer (another chunk may be under way to it, or it may
    /// have stopped reading). False when the answer could not go out; the
    /// sender's own transaction timeout then tells it.
    fn answer_pending(&self, p: &Pending, code: u16, reason: &str) -> bool {
        log::info!(
            "transaction {} answered {code}: {reason}",
            p.request.transaction_id
        );
        let Some(source) = p.source.upgrade() else {
            return true; // gone: nobody to tell
        };
        match super::make_response(&p.request, code, Some(reason)) {
            Ok(Some(r)) => source.send_whole_within(r.encode(), Some(ANSWER_WAIT)),
            _ => true,
        }
    }
}

/// A running relay; see the [module docs](self). Dropping it shuts it
/// down.
#[derive(Debug)]
pub struct Relay {
    hub: Arc<Hub>,
    tls: Option<Listener>,
    plain: Option<Listener>,
    status: Option<Server>,
    stop: Mutex<Option<channel::Sender<()>>>,
    sweeper: Mutex<Option<JoinHandle<()>>>,
}

impl Relay {
    /// Binds the listeners (and the status server) and starts serving.
    pub fn start(config: RelayConfig) -> Result<Relay, RelayServerError> {
        let bad = |s: &str| Err(RelayServerError::Config(s.to_string()));
        if config.listen.is_none() && config.plain_tcp.is_none() {
            return bad("neither a TLS nor a plain TCP listening address");
        }
        if config.listen.is_some() && config.tls.is_none() {
            return bad("a TLS listening address needs a certificate and key");
        }
        let e = config.expires;
        if !(e.min <= e.default && e.default <= e.max) {
            return bad("expires bounds must be MIN <= DEFAULT <= MAX");
        }
        if config.realm.is_empty() || config.realm.chars().any(|c| c.is_control() || c == '"') {
            return bad("the realm must be non-empty printable text without quotes");
        }
        let hub = Arc::new(Hub {
            counters: Counters::default(),
            reservations: Mutex::new(HashMap::new()),
            peers: Mutex::new(HashMap::new()),
            links: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            bound: Mutex::new(Vec::new()),
            shutting_down: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            config,
        });
        let io_err = |what: String| move |source| RelayServerError::Io { what, source };
        let listen = |addr: SocketAddr, tls: Option<TlsServerConfig>, name: &str| {
            let c = &hub.config;
            let lc = ListenerConfig {
                max_connections: c.max_connections,
                max_per_address: c.max_per_address,
                tls,
                handshake_timeout: c.connect_timeout,
            };
            let weak = Arc::downgrade(&hub);
            let secure = lc.tls.is_some();
            Listener::bind(addr, lc, name, move |accepted| {
                if let Some(hub) = weak.upgrade() {
                    peer::accept(&hub, accepted, secure);
                }
            })
            .map_err(io_err(format!("listening on {addr}")))
        };
        let tls = match hub.config.listen {
            Some(addr) => Some(listen(addr, hub.config.tls.clone(), "relay-tls")?),
            None => None,
        };
        let plain = match hub.config.plain_tcp {
            Some(addr) => Some(listen(addr, None, "relay-tcp")?),
            None => None,
        };
        {
            let mut bound = hub.bound.lock();
            bound.extend(tls.iter().chain(plain.iter()).map(Listener::local_addr));
        }
        let status = match hub.config.status {
            Some(addr) => Some(
                status::serve(&hub, addr).map_err(io_err(format!("status server on {addr}")))?,
            ),
            None => None,
        };
        let (stop_tx, stop_rx) = channel::bounded::<()>(0);
        let tick = (hub.config.transaction_timeout / 10)
            .clamp(Duration::from_millis(10), Duration::from_millis(250));
        let sweeper = {
            let weak = Arc::downgrade(&hub);
            thread::Builder::new()
                .name("msgwire-relay-sweep".into())
                .spawn(move || loop {
                    match stop_rx.recv_timeout(tick) {
                        Err(channel::RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                    let Some(hub) = weak.upgrade() else { return };
                    hub.sweep(Instant::now());
                })
                .map_err(io_err("the housekeeping thread".into()))?
        };
        let relay = Relay {
            hub,
            tls,
            plain,
            status,
            stop: Mutex::new(Some(stop_tx)),
            sweeper: Mutex::new(Some(sweeper)),
        };
        log::info!(
            "relay {} listening tls={} plain={} status={}",
            relay.hub.config.realm,
            fmt_addr(relay.tls_addr()),
            fmt_addr(relay.plain_addr()),
            fmt_addr(relay.status_addr()),
        );
        Ok(relay)
    }

    /// The bound TLS address.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(Listener::local_addr)
    }

    /// The bound plain TCP address.
    pub fn plain_addr(&self) -> Option<SocketAddr> {
        self.plain.as_ref().map(Listener::local_addr)
    }

    /// The bound status server address.
    pub fn status_addr(&self) -> Option<SocketAddr> {
        self.status.as_ref().map(Server::local_addr)
    }

    /// The counters now.
    pub fn counters(&self) -> RelayCounters {
        self.hub.counters()
    }

    /// The reservations held now, by session id.
    pub fn reservations(&self) -> Vec<ReservationInfo> {
        self.hub.reservations()
    }

    /// Graceful shutdown (see the [module docs](self)). Idempotent.
    pub fn shutdown(&self) {
        if self.hub.shutting_down.swap(true, Ordering::SeqCst) {
            return;
        }
        if let Some(l) = &self.tls {
            l.stop();
        }
        if let Some(l) = &self.plain {
            l.stop();
        }
        if let Some(s) = &self.status {
            s.shutdown();
        }
        drop(self.stop.lock().take());
        if let Some(t) = self.sweeper.lock().take() {
            let _ = t.join();
        }
        let peers: Vec<Arc<Peer>> = self.hub.peers.lock().drain().map(|(_, p)| p).collect();
        let grace = self.hub.config.shutdown_grace;
        let closers: Vec<_> = peers
            .into_iter()
            .map(|p| {
                thread::spawn(move || {
                    p.finish(grace);
                })
            })
            .collect();
        for c in closers {
            let _ = c.join();
        }
        self.hub.reservations.lock().clear();
        self.hub.links.lock().clear();
        self.hub.pending.lock().clear();
        log::info!("relay {} stopped", self.hub.config.realm);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `ADDR` or `-`.
pub fn fmt_addr(a: Option<SocketAddr>) -> String {
    a.map_or_else(|| "-".to_string(), |a| a.to_string())
}
