//! The MSRP session as a deterministic state machine (sans-IO).
//!
//! A [`Session`] holds everything RFC 4975 asks of an endpoint once a
//! connection is bound: it parses incoming bytes, answers requests
//! (responses, automatic success REPORTs, 400/415/481/501 rejections), matches
//! responses to the transactions it sent, synthesizes local responses when a
//! peer stays silent, and sends keep-alives. It never touches a socket, a
//! thread or a clock: the driver (a connection with threads, a poll loop, a
//! test) feeds it bytes and the current time and polls it for bytes to send,
//! events and the next deadline:
//!
//! ```text
//! handle_input(bytes, now)   handle_timeout(now)   handle_close()
//!        │                          │                   │
//!        └────────────► Session ◄───┘───────────────────┘
//!                         │
//!  poll_transmit() → encoded chunks to write
//!  poll_event()    → incoming chunks, responses to our requests, errors
//!  poll_timeout()  → when to call handle_timeout next
//! ```
//!
//! Because time is an argument, a 30-second response timeout is a unit test
//! that runs in microseconds (see the tests at the bottom).
//!
//! The behaviour users of the legacy library rely on is kept (see
//! `shared/legacy/README.md`): 415 `Unsupported media type` without a
//! REPORT, 415 `Content-Type header missing`, 501 `Method unknown`, NICKNAME
//! handed to the application unless it lacks Use-Nickname or carries report
//! headers (400), keep-alive SENDs with `Keep-Alive: yes`, a local 408 after
//! the response timeout. Where the legacy library dropped or crashed on bad
//! input, the session answers 400 (413 for a body over the size limit) and
//! carries on.
//!
//! # Refusing messages by their content
//!
//! [`SessionConfig::send_filter`] lets the layer above (the chat, which
//! enforces `accept-wrapped-types`) decide on an incoming SEND that passed
//! the session's own checks before it is answered: a [`SendRefusal`]
//! answers the SEND with its status (no success REPORT, nothing reaches the
//! application). The filter sees the first chunk of each message (the one
//! whose Byte-Range starts at 1), body included, in either
//! [`Delivery`] mode; later chunks of a refused message are refused with
//! the same status without asking it again, and nothing of the message
//! is delivered (with [`Delivery::Messages`], what was already collected
//! of it is dropped). At most [`MAX_REFUSED_SENDS`] refused messages are
//! remembered.
//!
//! With [`Delivery::Messages`], where message bodies otherwise stream,
//! a message's first chunk is therefore collected whole when a filter is
//! set, and streams into its message once decided on. A first chunk
//! larger than the parser's body limit
//! ([`ParserConfig::max_body_len`], 16 MiB by default) is decided on
//! from its first `max_body_len` bytes, and the rest streams on; so the
//! filter holds at most one chunk of that size at a time, and messages
//! still stream whatever their size.
//!
//! # NICKNAME
//!
//! RFC 7701 NICKNAME requests reach the application, which answers them,
//! unless [`SessionConfig::handles_nickname`] is off: then the session
//! answers each one `501 Method unknown` at once, as it answers any method
//! it does not know (always, whatever the request's Failure-Report says:
//! that header governs SEND requests only).
//!
//! Large messages — chunked sending with [`Session::send_message`],
//! interleaving, back-pressure, and whole-message reassembly on receipt —
//! are described in [`super::transfer`]; their progress is read with
//! [`Session::poll_transfer_event`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};

use super::chunk::{Chunk, Flag, Headers};
use super::error::{HeaderError, ParseError, ParseErrorKind};
use super::header::{names, ByteRange, FailureReport, TypedHeader};
use super::parser::{Event, Parser, ParserConfig};
use super::relay::auth::{AuthClient, Reservation};
use super::relay::refresh::Renewal;
use super::rules::{
    make_report, make_report_on_known_paths, make_response, random_id, ChunkBuilder,
};
use super::trafficlog::{Level, TrafficLogger};
use super::transfer::{
    Delivery, Outgoing, OutgoingMessage, Reassembly, RxOutput, SendMessageError, SinkFactory,
    TransferEvent, TransferId, TxContext,
};
use super::uri::Uri;

/// The URIs that identify both ends of a bound session.
///
/// Outgoing requests carry `To-Path: local_path + remote_path + remote_uri`
/// and `From-Path: local_uri`; incoming SENDs must carry the mirror image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPaths {
    /// This endpoint's URI (the last entry of the path it advertised).
    pub local_uri: Uri,
    /// Relays on this endpoint's side, nearest first (empty without relays).
    pub local_path: Vec<Uri>,
    /// Relays on the peer's side (the peer's advertised path minus its URI).
    pub remote_path: Vec<Uri>,
    /// The peer's URI (the last entry of its advertised path).
    pub remote_uri: Uri,
}

impl SessionPaths {
    /// Paths for a direct connection from the peer's full advertised path.
    /// `None` when `full_remote_path` is empty.
    pub fn new(local_uri: Uri, full_remote_path: &[Uri]) -> Option<Self> {
        let (remote_uri, remote_path) = full_remote_path.split_last()?;
        Some(SessionPaths {
            local_uri,
            local_path: Vec::new(),
            remote_path: remote_path.to_vec(),
            remote_uri: remote_uri.clone(),
        })
    }

    /// The To-Path of outgoing requests.
    pub fn to_path(&self) -> Vec<Uri> {
        let mut v = self.local_path.clone();
        v.extend(self.remote_path.iter().cloned());
        v.push(self.remote_uri.clone());
        v
    }

    /// The encoded To-Path of outgoing requests.
    pub fn to_path_value(&self) -> String {
        join_uris(&self.to_path())
    }

    /// The encoded From-Path of outgoing requests.
    pub fn from_path_value(&self) -> String {
        self.local_uri.to_string()
    }
}

/// Tunables of a [`Session`]; every default is the legacy library's.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// MIME types accepted in incoming SENDs: full types, `type/*`
    /// patterns, or `*`. Default `["*"]`.
    pub accept_types: Vec<String>,
    /// Send a success REPORT for incoming SENDs that ask for one. Default on.
    pub automatic_reports: bool,
    /// How long to wait for a response before a local one is made up.
    /// Default 30 s.
    pub response_timeout: Duration,
    /// Interval of keep-alive SENDs; `None` disables them. Default 60 s.
    pub keepalive_interval: Option<Duration>,
    /// Match incoming paths on session-id only (RFC 6714 / sessmatch),
    /// for peers behind middleboxes that rewrite addresses. Default off.
    pub use_sessmatch: bool,
    /// Where traffic is reported: every chunk received (start, body
    /// slices, end) and sent, and protocol errors. `None` (the default)
    /// reports nothing and costs nothing.
    pub logger: Option<SharedLogger>,
    /// Parser limits. The session collects each chunk's body in memory, so
    /// the default body limit is 16 MiB (larger chunks are answered 413);
    /// file transfers chunk well below that. With [`Delivery::Messages`]
    /// the limit applies to the chunks still collected whole (REPORTs,
    /// NICKNAMEs, SENDs without Message-ID, and with a
    /// [`send_filter`](Self::send_filter) the start of each message's first
    /// chunk); message bodies stream and are bounded by
    /// [`max_message_size`](Self::max_message_size) instead.
    pub parser: ParserConfig,
    /// Most body bytes in one chunk of a message sent with
    /// [`Session::send_message`]. Default 64 KiB (see
    /// [`super::transfer`] for why).
    pub chunk_size: u64,
    /// The most body bytes per chunk when the session goes through a relay
    /// (on either side: the session's paths name relays): the smaller of
    /// this and [`chunk_size`](Self::chunk_size) applies. Default 8 KiB,
    /// because deployed Kamailio relays answer SEND bodies over about
    /// 10.9 KB with 501.
    pub relayed_chunk_size: u64,
    /// Most body bytes [`Session::poll_transmit`] hands out at once for a
    /// message sent with [`Session::send_message`]: how long a chat message
    /// may wait behind a transfer, and how much a driver holds per write.
    /// Default 64 KiB, one default chunk: each write wakes the receiving
    /// side once, and on loopback 16 KiB pieces cost 40 % more CPU per
    /// byte than 64 KiB ones for the wake-ups alone (`msrp_transfer`
    /// bench), while a chat message behind one 64 KiB piece still waits
    /// well under a millisecond at loopback or LAN speeds.
    pub piece_size: usize,
    /// Most body bytes of messages sent with [`Session::send_message`]
    /// in chunks written and not yet answered; no new chunk starts while
    /// that many are. Bounds how long a chat message waits behind a
    /// transfer to a slow receiver, and limits one transfer to
    /// `send_window` per round trip. Default 4 MiB; 0 for no limit (see
    /// [`super::transfer`]).
    pub send_window: u64,
    /// Whether incoming SENDs reach the application chunk by chunk
    /// (default, the legacy behaviour) or as reassembled messages.
    pub delivery: Delivery,
    /// With [`Delivery::Messages`]: the largest message accepted, in bytes;
    /// larger ones are answered 413. This also bounds the memory the
    /// messages reassembled in memory take together (see
    /// [`super::transfer`] for which one gives way). Default 16 MiB; raise it when a
    /// [`sink_factory`](Self::sink_factory) stores messages in files.
    pub max_message_size: u64,
    /// With [`Delivery::Messages`]: where message bodies go. `None` (the
    /// default) keeps them in memory.
    pub sink_factory: Option<SinkFactory>,
    /// Decides on incoming SENDs that passed the session's checks (see
    /// the [module docs](self#refusing-messages-by-their-content)). `None`
    /// (the default) accepts them all and costs nothing.
    pub send_filter: Option<SendFilter>,
    /// Whether NICKNAME requests (RFC 7701) go to the application, which
    /// must answer them (default, the legacy behaviour); off: the session
    /// answers them `501 Method unknown` itself.
    pub handles_nickname: bool,
}

/// How an incoming SEND is refused by a [`SendFilter`]: the status of the
/// response (e.g. 415 `Unsupported media type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRefusal {
    /// The status code (a failure: 400 to 699).
    pub code: u16,
    /// The status comment.
    pub comment: String,
}

/// The signature of a [`SendFilter`].
pub type SendFilterFn = dyn Fn(&Chunk) -> Option<SendRefusal> + Send + Sync;

/// Decides whether an incoming SEND is taken (`None`) or refused
/// ([`SessionConfig::send_filter`]). Called with the first chunk of each
/// message (see the module docs for what it holds), on the driver's
/// reader thread, before the SEND is answered: it must be quick and must
/// not block.
#[derive(Clone)]
pub struct SendFilter(std::sync::Arc<SendFilterFn>);

impl SendFilter {
    /// A filter calling `f`.
    pub fn new(f: impl Fn(&Chunk) -> Option<SendRefusal> + Send + Sync + 'static) -> Self {
        SendFilter(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for SendFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SendFilter(..)")
    }
}

/// How many refused messages a session remembers, to refuse their later
/// chunks (the oldest is forgotten first).
pub const MAX_REFUSED_SENDS: usize = 64;

/// Messages a [`SendFilter`] refused, by Message-ID, oldest first.
#[derive(Debug, Default)]
struct RefusedSends(VecDeque<(String, SendRefusal)>);

impl RefusedSends {
    fn get(&self, message_id: &str) -> Option<&SendRefusal> {
        self.0.iter().find(|(m, _)| m == message_id).map(|(_, r)| r)
    }

    fn remember(&mut self, message_id: &str, refusal: &SendRefusal) {
        if self.get(message_id).is_none() {
            if self.0.len() == MAX_REFUSED_SENDS {
                self.0.pop_front();
            }
            self.0.push_back((message_id.to_string(), refusal.clone()));
        }
    }

    fn forget(&mut self, message_id: &str) {
        self.0.retain(|(m, _)| m != message_id);
    }
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            accept_types: vec!["*".to_string()],
            automatic_reports: true,
            response_timeout: Duration::from_secs(30),
            keepalive_interval: Some(Duration::from_secs(60)),
            use_sessmatch: false,
            logger: None,
            parser: ParserConfig {
                max_body_len: 16 * 1024 * 1024,
                ..ParserConfig::default()
            },
            chunk_size: 64 * 1024,
            relayed_chunk_size: 8 * 1024,
            piece_size: 64 * 1024,
            send_window: 4 * 1024 * 1024,
            delivery: Delivery::Chunks,
            max_message_size: 16 * 1024 * 1024,
            sink_factory: None,
            send_filter: None,
            handles_nickname: true,
        }
    }
}

/// A [`TrafficLogger`] shared by sessions, with a label for the connection
/// it is reported under (e.g. `127.0.0.1:2855 -> 127.0.0.1:40123`).
#[derive(Clone)]
pub struct SharedLogger {
    /// The logger.
    pub logger: std::sync::Arc<dyn TrafficLogger>,
    /// The `connection` argument of every call.
    pub label: String,
}

impl std::fmt::Debug for SharedLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLogger")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Something the application must hear about (see [`Session::poll_event`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// A request for the application: a SEND that was accepted (already
    /// answered 200, REPORT sent if asked for), a REPORT, or a NICKNAME
    /// (which the application answers). With [`Delivery::Messages`], a
    /// SEND is a whole reassembled message (see [`super::transfer`]).
    Incoming(Chunk),
    /// The outcome of a request this session sent with a response expected.
    Response {
        /// The transaction id of our request.
        transaction_id: String,
        /// The response: from the peer, or made up locally (`local`).
        response: Chunk,
        /// `true` when no response came in time (or the connection closed)
        /// and the session made one up: 408 for `Failure-Report: yes`, 200
        /// for `partial` and `no`.
        local: bool,
    },
    /// The peer sent bytes that are not MSRP, or a malformed chunk. Requests
    /// with a known transaction id were answered 400 (413 when too large).
    ProtocolError(ParseError),
    /// A keep-alive got no response in time: the connection is dead and the
    /// driver should close it.
    KeepaliveTimeout,
}

/// Why a chunk could not be sent. The chunk is handed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The session is closed or shutting down; nothing more can be sent.
    #[error("the session is closed")]
    Closed(Box<Chunk>),
    /// A transaction with this id is still waiting for its response.
    #[error("transaction {} is already in progress", .0.transaction_id)]
    DuplicateTransaction(Box<Chunk>),
}

impl SessionError {
    /// The chunk that was not sent.
    pub fn into_chunk(self) -> Chunk {
        match self {
            SessionError::Closed(c) | SessionError::DuplicateTransaction(c) => *c,
        }
    }
}

#[derive(Debug)]
struct Pending {
    deadline: Instant,
    failure_report: FailureReport,
    keepalive: bool,
    /// For a SEND with `Failure-Report: partial`: its Message-ID and the
    /// bytes it carries, so a success REPORT covering them settles it.
    reported_by: Option<(String, u64, u64)>,
    /// Identifies the entry in [`Transactions::order`].
    seq: u64,
}

/// A hasher for maps keyed by transaction ids (FxHash's mixing step, a
/// word at a time). The keys are ids this side generated or accepted for
/// its own requests, so a peer cannot fill such a map with colliding keys;
/// SipHash's flooding resistance buys nothing here and costs a measurable
/// share of a small message's processing.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct TidHasher(u64);

impl TidHasher {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for TidHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.mix(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.mix(u64::from_le_bytes(b) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.mix(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by transaction id (see [`TidHasher`]).
pub(crate) type TidMap<V> = HashMap<String, V, BuildHasherDefault<TidHasher>>;

/// Requests waiting for their response, and their deadlines in order.
///
/// Deadlines are `now + response_timeout`, so they almost always arrive in
/// order and responses mostly come back in order: a queue sorted by
/// deadline gives the next deadline in O(1) where a scan of every pending
/// request (run after each send) would cost O(n). Entries removed out of
/// order stay in the queue, marked in `removed`, until they reach its front.
#[derive(Debug, Default)]
struct Transactions {
    by_tid: TidMap<Pending>,
    /// The transaction ids of `Failure-Report: partial` SENDs by their
    /// Message-ID (see [`Pending::reported_by`]), in the order sent: a
    /// success REPORT finds the SENDs it settles without a scan of every
    /// pending request (which made a busy chat quadratic).
    by_mid: TidMap<Vec<String>>,
    /// `(deadline, seq)` of every entry, earliest first. The front is
    /// always a live entry.
    order: VecDeque<(Instant, u64)>,
    /// Sequence numbers removed from `by_tid` but still in `order`.
    removed: HashSet<u64, BuildHasherDefault<TidHasher>>,
    next_seq: u64,
}

impl Transactions {
    fn len(&self) -> usize {
        self.by_tid.len()
    }

    fn contains(&self, tid: &str) -> bool {
        self.by_tid.contains_key(tid)
    }

    fn get(&self, tid: &str) -> Option<&Pending> {
        self.by_tid.get(tid)
    }

    fn insert(&mut self, tid: String, mut pending: Pending) {
        pending.seq = self.next_seq;
        self.next_seq += 1;
        let entry = (pending.deadline, pending.seq);
        if let Some((mid, _, _)) = &pending.reported_by {
            self.by_mid
                .entry(mid.clone())
                .or_default()
                .push(tid.clone());
        }
        if let Some(old) = self.by_tid.insert(tid.clone(), pending) {
            self.unindex(&tid, &old);
            self.forget(old.seq);
        }
        if self.order.back().is_none_or(|&(d, _)| d <= entry.0) {
            self.order.push_back(entry);
        } else {
            let at = self.order.partition_point(|&(d, _)| d <= entry.0);
            self.order.insert(at, entry);
        }
    }

    fn remove(&mut self, tid: &str) -> Option<Pending> {
        let pending = self.by_tid.remove(tid)?;
        self.unindex(tid, &pending);
        self.forget(pending.seq);
        Some(pending)
    }

    /// Drops `tid`'s entry in `by_mid` (the first one: a replaced entry's
    /// own, when the new one was indexed after it).
    fn unindex(&mut self, tid: &str, pending: &Pending) {
        let Some((mid, _, _)) = &pending.reported_by else {
            return;
        };
        if let Some(tids) = self.by_mid.get_mut(mid.as_str()) {
            if let Some(at) = tids.iter().position(|t| t == tid) {
                tids.remove(at);
            }
            if tids.is_empty() {
                self.by_mid.remove(mid.as_str());
            }
        }
    }

    /// The pending `partial` SENDs of message `mid` whose bytes lie in
    /// `start..=end`, in the order sent.
    fn covered(&self, mid: &str, start: u64, end: u64) -> Vec<String> {
        let Some(tids) = self.by_mid.get(mid) else {
            return Vec::new();
        };
        tids.iter()
            .filter(|tid| {
                self.by_tid
                    .get(tid.as_str())
                    .and_then(|p| p.reported_by.as_ref())
                    .is_some_and(|(_, s, e)| start <= *s && *e <= end)
            })
            .cloned()
            .collect()
    }

    fn forget(&mut self, seq: u64) {
        if self.order.front().is_some_and(|&(_, s)| s == seq) {
            self.order.pop_front();
            while let Some(&(_, s)) = self.order.front() {
                if !self.removed.remove(&s) {
                    break;
                }
                self.order.pop_front();
            }
        } else {
            self.removed.insert(seq);
        }
    }

    /// The earliest deadline.
    fn earliest(&self) -> Option<Instant> {
        self.order.front().map(|&(d, _)| d)
    }

    /// Transaction ids whose deadline is at or before `now`, earliest
    /// first (ties by id).
    fn due(&self, now: Instant) -> Vec<String> {
        if self.earliest().is_none_or(|d| d > now) {
            return Vec::new();
        }
        let mut due: Vec<(Instant, &String)> = self
            .by_tid
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(tid, p)| (p.deadline, tid))
            .collect();
        due.sort();
        due.into_iter().map(|(_, tid)| tid.clone()).collect()
    }

    fn tids(&self) -> Vec<String> {
        self.by_tid.keys().cloned().collect()
    }
}

/// The comment of the local response made up after a timeout.
pub const TIMEOUT_COMMENT: &str = "Timed out while waiting for transaction response";

/// An MSRP session (see the [module docs](self) for the driving loop).
#[derive(Debug)]
pub struct Session {
    paths: SessionPaths,
    /// Encoded To-Path of outgoing requests, which is also the From-Path
    /// incoming SENDs must carry.
    to_text: String,
    /// Encoded local URI: From-Path of outgoing requests, To-Path of
    /// incoming SENDs.
    from_text: String,
    /// The first hop towards the peer (To-Path of responses to SENDs).
    reply_to: String,
    config: SessionConfig,
    parser: Parser,
    /// The incoming chunk being collected.
    incoming: Option<(Chunk, BytesMut)>,
    /// `incoming` is the first chunk of a message, collected whole for the
    /// send filter ([`Delivery::Messages`]); its end hands it to the
    /// reassembly.
    incoming_first: bool,
    transmit: VecDeque<Bytes>,
    events: VecDeque<SessionEvent>,
    pending: Transactions,
    next_keepalive: Option<Instant>,
    closed: bool,
    /// The latest time the driver gave (for deadlines set while polling).
    clock: Instant,
    /// Messages being sent in chunks.
    outgoing: Outgoing,
    /// Messages being reassembled (with [`Delivery::Messages`]).
    reassembly: Reassembly,
    transfer_events: VecDeque<TransferEvent>,
    /// Renewing the reservation of the relay this session's connection
    /// goes to (see [`keep_reservation`](Self::keep_reservation)).
    renewal: Option<Renewal>,
    /// Messages the send filter refused (their later chunks are refused too).
    refused: RefusedSends,
}

impl Session {
    /// A bound session. `now` starts the keep-alive clock.
    pub fn new(paths: SessionPaths, config: SessionConfig, now: Instant) -> Self {
        let to_text = paths.to_path_value();
        let reply_to = to_text.split(' ').next().unwrap_or_default().to_string();
        // Whole-message delivery streams SEND bodies and enforces the
        // chunk limit itself for what it still collects (see `parser`).
        let mut parser_config = config.parser.clone();
        if config.delivery == Delivery::Messages {
            parser_config.max_body_len = u64::MAX;
        }
        Session {
            parser: Parser::with_config(parser_config),
            clock: now,
            outgoing: Outgoing::default(),
            reassembly: Reassembly::new(&config),
            transfer_events: VecDeque::new(),
            next_keepalive: config.keepalive_interval.map(|i| now + i),
            from_text: paths.from_path_value(),
            to_text,
            reply_to,
            paths,
            config,
            incoming: None,
            incoming_first: false,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            pending: Transactions::default(),
            closed: false,
            renewal: None,
            refused: RefusedSends::default(),
        }
    }

    /// Keeps the relay reservation `reservation`, granted at `now` by the
    /// AUTH exchange `auth` over this session's connection, alive: the
    /// session authenticates again, over its connection, three quarters
    /// into each reservation (see [`super::relay::refresh`]). The relay's
    /// answers are consumed here and never reach the application. A
    /// reservation without `Expires` needs nothing.
    pub fn keep_reservation(&mut self, auth: &AuthClient, reservation: &Reservation, now: Instant) {
        self.renewal = Renewal::new(auth, reservation, self.config.response_timeout, now);
    }

    /// Whether renewing the relay reservation was given up: the relay
    /// refused or ignored every attempt until the reservation ran out.
    pub fn reservation_lapsed(&self) -> bool {
        self.renewal.as_ref().is_some_and(Renewal::gave_up)
    }

    /// The session's paths.
    pub fn paths(&self) -> &SessionPaths {
        &self.paths
    }

    /// The session's configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Whether [`handle_close`](Self::handle_close) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Number of sent requests still waiting for a response.
    pub fn pending_transactions(&self) -> usize {
        self.pending.len()
    }

    /// A SEND carrying a whole message, addressed along the session's paths
    /// (random transaction id and Message-ID unless `message_id` is given).
    pub fn make_message(
        &self,
        data: impl Into<Bytes>,
        content_type: &str,
        message_id: Option<&str>,
    ) -> Chunk {
        build_message(
            &self.to_text,
            &self.from_text,
            data.into(),
            content_type,
            message_id,
        )
    }

    /// The encoded To-Path of outgoing requests and their From-Path (what
    /// [`make_message`](Self::make_message) addresses messages with).
    pub(crate) fn path_texts(&self) -> (&str, &str) {
        (&self.to_text, &self.from_text)
    }

    /// A request of `method` (no body) addressed along the session's paths.
    pub fn make_request(&self, method: &str) -> Chunk {
        let mut c = Chunk::request(random_id(), method);
        c.headers.set(names::TO_PATH, self.paths.to_path_value());
        c.headers
            .set(names::FROM_PATH, self.paths.from_path_value());
        c
    }

    /// Queues `chunk` for sending. With `expect_response`, the outcome
    /// arrives as [`SessionEvent::Response`]: the peer's response, or a
    /// local one after [`SessionConfig::response_timeout`].
    pub fn send_chunk(
        &mut self,
        chunk: Chunk,
        expect_response: bool,
        now: Instant,
    ) -> Result<(), SessionError> {
        let wire = chunk.encode();
        self.send_encoded(chunk, wire, expect_response, now)
            .map(drop)
    }

    /// [`send_chunk`](Self::send_chunk) with the chunk already encoded
    /// (`wire` must be `chunk.encode()`), so a driver can encode outside
    /// its lock. The chunk comes back, for the caller to drop outside it.
    pub(crate) fn send_encoded(
        &mut self,
        chunk: Chunk,
        wire: Bytes,
        expect_response: bool,
        now: Instant,
    ) -> Result<Chunk, SessionError> {
        if self.closed {
            return Err(SessionError::Closed(Box::new(chunk)));
        }
        if self.pending.contains(&chunk.transaction_id) {
            return Err(SessionError::DuplicateTransaction(Box::new(chunk)));
        }
        if expect_response {
            let failure_report = chunk.failure_report().unwrap_or_default();
            let reported_by = if failure_report == FailureReport::Partial {
                reported_bytes(&chunk)
            } else {
                None
            };
            self.pending.insert(
                chunk.transaction_id.clone(),
                Pending {
                    deadline: now + self.config.response_timeout,
                    failure_report,
                    keepalive: false,
                    reported_by,
                    seq: 0,
                },
            );
        }
        self.queue_wire(&chunk.transaction_id, wire, &chunk.data);
        Ok(chunk)
    }

    /// Sends the REPORT owed for `request` (a SEND) with `code`, if its
    /// report headers ask for one.
    pub fn send_report(
        &mut self,
        request: &Chunk,
        code: u16,
        comment: Option<&str>,
    ) -> Result<bool, HeaderError> {
        match make_report(request, code, comment)? {
            Some(report) => {
                self.queue(&report);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Sends the response owed for `request` (e.g. a NICKNAME the
    /// application decided on), if its Failure-Report asks for one.
    pub fn send_response(
        &mut self,
        request: &Chunk,
        code: u16,
        comment: Option<&str>,
    ) -> Result<bool, HeaderError> {
        match make_response(request, code, comment)? {
            Some(response) => {
                self.queue(&response);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Feeds bytes received from the peer.
    pub fn handle_input(&mut self, mut data: &[u8], now: Instant) {
        self.clock = self.clock.max(now);
        loop {
            let (used, result) = self.parser.parse(data);
            data = &data[used..];
            match result {
                Ok(Some(Event::Start(head))) => {
                    if let Some(l) = &self.config.logger {
                        l.logger.received_new_chunk(&l.label, &head);
                    }
                    // Message bodies stream into their reassembly (not
                    // keep-alives, nor SENDs without a Message-ID).
                    self.incoming_first = false;
                    if self.config.delivery == Delivery::Messages
                        && head.method() == Some("SEND")
                        && head.header(names::MESSAGE_ID).is_some()
                        && (head.has_body() || head.header("Keep-Alive").is_none())
                    {
                        let chunk = head.to_chunk();
                        if self.config.send_filter.is_some() && starts_message(&chunk) {
                            // Collected whole so that the filter sees its
                            // body (see the module docs).
                            self.incoming_first = true;
                            self.incoming = Some((chunk, BytesMut::new()));
                        } else {
                            self.stream_start(chunk, false);
                        }
                    } else {
                        self.incoming = Some((head.to_chunk(), BytesMut::new()));
                    }
                }
                Ok(Some(Event::Data(d))) => {
                    if let Some((chunk, body)) = &mut self.incoming {
                        if let Some(l) = &self.config.logger {
                            l.logger
                                .received_chunk_data(&l.label, &chunk.transaction_id, d);
                        }
                        if self.config.delivery == Delivery::Messages
                            && (body.len() + d.len()) as u64 > self.config.parser.max_body_len
                        {
                            if self.incoming_first {
                                body.extend_from_slice(d);
                                self.first_chunk_streams();
                            } else {
                                self.collected_too_large();
                            }
                        } else {
                            body.extend_from_slice(d);
                        }
                    } else if let Some(tid) = self.reassembly.current_tid() {
                        if let Some(l) = &self.config.logger {
                            l.logger.received_chunk_data(&l.label, tid, d);
                        }
                        self.reassembly.data(d);
                        self.drain_reassembly();
                    }
                }
                Ok(Some(Event::End(flag))) => {
                    if let Some((mut chunk, body)) = self.incoming.take() {
                        if let Some(l) = &self.config.logger {
                            let mut end = Vec::with_capacity(chunk.transaction_id.len() + 8);
                            end.extend_from_slice(b"-------");
                            end.extend_from_slice(chunk.transaction_id.as_bytes());
                            end.push(flag.as_byte());
                            l.logger
                                .received_chunk_end(&l.label, &chunk.transaction_id, &end);
                        }
                        chunk.data = body.freeze();
                        chunk.flag = flag;
                        if std::mem::take(&mut self.incoming_first) {
                            self.stream_whole(chunk);
                        } else {
                            self.on_chunk(chunk);
                        }
                    } else if let Some(tid) = self.reassembly.current_tid() {
                        if let Some(l) = &self.config.logger {
                            let mut end = Vec::with_capacity(tid.len() + 8);
                            end.extend_from_slice(b"-------");
                            end.extend_from_slice(tid.as_bytes());
                            end.push(flag.as_byte());
                            l.logger.received_chunk_end(&l.label, tid, &end);
                        }
                        self.reassembly.end(flag);
                        self.drain_reassembly();
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.incoming = None;
                    self.incoming_first = false;
                    self.reassembly.reset_chunk();
                    self.on_parse_error(e);
                }
            }
        }
    }

    /// The connection is gone: every transaction still waiting gets its
    /// local response at once (408 or 200, as for a timeout), and no more
    /// chunks can be sent.
    /// Messages in progress fail ([`TransferEvent::Failed`] with
    /// [`CONNECTION_CLOSED`](super::transfer::CONNECTION_CLOSED)) and
    /// incomplete incoming messages are dropped
    /// ([`TransferEvent::MessageAborted`]).
    pub fn handle_close(&mut self) {
        self.closed = true;
        self.next_keepalive = None;
        self.outgoing.handle_close(&mut self.transfer_events);
        self.reassembly.handle_close();
        self.drain_reassembly();
        let mut tids = self.pending.tids();
        tids.sort();
        for tid in tids {
            // A keep-alive cut short by the close is not a keep-alive failure.
            if self.pending.get(&tid).is_some_and(|p| p.keepalive) {
                self.pending.remove(&tid);
                continue;
            }
            self.expire(&tid);
        }
        self.transmit.clear();
    }

    /// Fires what is due at `now`: response timeouts and keep-alives.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.clock = self.clock.max(now);
        for tid in self.pending.due(now) {
            self.expire(&tid);
        }
        self.outgoing.handle_timeout(now, &mut self.transfer_events);
        if !self.closed {
            if let Some(auth) = self.renewal.as_mut().and_then(|r| r.handle_timeout(now)) {
                self.queue(&auth);
            }
        }
        if let (Some(at), Some(interval)) = (self.next_keepalive, self.config.keepalive_interval) {
            if at <= now && !self.closed {
                self.next_keepalive = Some(now + interval);
                self.send_keepalive(now);
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let response = self.pending.earliest();
        let next = match (response, self.next_keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let renewal = if self.closed {
            None
        } else {
            self.renewal.as_ref().and_then(Renewal::poll_timeout)
        };
        [next, self.outgoing.poll_timeout(), renewal]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next bytes to write to the connection: an encoded chunk, or a
    /// piece of a message sent with [`send_message`](Self::send_message).
    ///
    /// Write each buffer completely, in order. While messages are being
    /// sent, call this only when the writer can take more (see
    /// [`super::transfer`]): their bodies are read as they are polled.
    /// Deadlines of chunks ended by this call count from the latest time
    /// the session was given; [`poll_transmit_at`](Self::poll_transmit_at)
    /// passes the current one.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.outgoing.is_idle(self.config.send_window) {
            return self.transmit.pop_front();
        }
        let now = self.clock;
        self.poll_transmit_at(now)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Encodes `chunk` for sending, reporting it to the traffic logger.
    fn queue(&mut self, chunk: &Chunk) {
        self.queue_wire(&chunk.transaction_id, chunk.encode(), &chunk.data);
    }

    /// Queues an encoded chunk (`wire`, with transaction id `tid` and body
    /// `data`), reporting it to the traffic logger.
    fn queue_wire(&mut self, tid: &str, wire: Bytes, data: &[u8]) {
        if let Some(l) = &self.config.logger {
            let head_len = wire.len() - data.len() - (tid.len() + 12);
            l.logger.sent_new_chunk(&l.label, tid, &wire[..head_len]);
            if !data.is_empty() {
                l.logger.sent_chunk_data(&l.label, tid, data);
            }
            l.logger
                .sent_chunk_end(&l.label, tid, &wire[head_len + data.len()..]);
        }
        self.transmit.push_back(wire);
    }

    /// Queues `MSRP <tid> 200 OK` along the session's own paths: exactly
    /// the bytes `make_response(request, 200, Some("OK"))` encodes for a
    /// request whose paths are spelled as this session spells them, without
    /// building a chunk.
    fn queue_ok(&mut self, tid: &str) {
        const START: &[u8] = b"MSRP ";
        const OK: &[u8] = b" 200 OK\r\nTo-Path: ";
        const FROM: &[u8] = b"\r\nFrom-Path: ";
        const END: &[u8] = b"\r\n-------";
        let len = START.len()
            + tid.len()
            + OK.len()
            + self.reply_to.len()
            + FROM.len()
            + self.from_text.len()
            + END.len()
            + tid.len()
            + 3;
        let mut b = BytesMut::with_capacity(len);
        b.put_slice(START);
        b.put_slice(tid.as_bytes());
        b.put_slice(OK);
        b.put_slice(self.reply_to.as_bytes());
        b.put_slice(FROM);
        b.put_slice(self.from_text.as_bytes());
        b.put_slice(END);
        b.put_slice(tid.as_bytes());
        b.put_slice(b"$\r\n");
        self.queue_wire(tid, b.freeze(), &[]);
    }

    // ----- incoming -----

    fn on_chunk(&mut self, chunk: Chunk) {
        if chunk.code().is_some() {
            self.on_response(chunk);
            return;
        }
        let (exact_paths, verified) = self.verify_request(&chunk);
        if let Err(e) = verified {
            self.reject(&chunk, 400, &e.to_string());
            return;
        }
        match chunk.method().unwrap_or("") {
            "SEND" => self.on_send(chunk, exact_paths),
            "REPORT" => {
                self.settle_reported(&chunk);
                self.events.push_back(SessionEvent::Incoming(chunk));
            }
            "NICKNAME" if !self.config.handles_nickname => {
                self.reject(&chunk, 501, "Method unknown");
            }
            "NICKNAME" => {
                let h = &chunk.headers;
                if !h.contains(names::USE_NICKNAME)
                    || h.contains(names::SUCCESS_REPORT)
                    || h.contains(names::FAILURE_REPORT)
                {
                    self.reject(&chunk, 400, "Bad request");
                } else {
                    self.events.push_back(SessionEvent::Incoming(chunk));
                }
            }
            _ => self.reject(&chunk, 501, "Method unknown"),
        }
    }

    /// Whether a request's paths are spelled exactly as this session
    /// spells them, and whether its headers are valid.
    fn verify_request(&self, chunk: &Chunk) -> (bool, Result<(), HeaderError>) {
        // Fast path: paths spelled exactly as this session spells them are
        // valid and match, so they need not be parsed again.
        let exact_paths = chunk.headers.get(names::TO_PATH) == Some(self.from_text.as_str())
            && chunk.headers.get(names::FROM_PATH) == Some(self.to_text.as_str());
        let verified = if exact_paths {
            chunk.headers.iter().try_for_each(|h| {
                if h.name.eq_ignore_ascii_case(names::TO_PATH)
                    || h.name.eq_ignore_ascii_case(names::FROM_PATH)
                {
                    Ok(())
                } else {
                    super::chunk::check_known_header(&h.name, &h.value)
                }
            })
        } else {
            chunk.verify_headers()
        };
        (exact_paths, verified)
    }

    fn on_response(&mut self, response: Chunk) {
        // Answers to our reservation renewals are for the renewal alone.
        if let Some(renewal) = &mut self.renewal {
            let (consumed, next) = renewal.on_response(&response, self.clock);
            if let Some(auth) = next {
                self.queue(&auth);
            }
            if consumed {
                return;
            }
        }
        // Chunks of messages sent with send_message are booked apart.
        if self.outgoing.on_response(
            &response.transaction_id,
            response.code().unwrap_or(0),
            response.comment(),
            &mut self.transfer_events,
        ) {
            return;
        }
        // A response nobody waits for (late, after a local timeout) is dropped.
        let Some(pending) = self.pending.remove(&response.transaction_id) else {
            return;
        };
        if pending.keepalive {
            if response.code() == Some(408) {
                self.events.push_back(SessionEvent::KeepaliveTimeout);
            }
            return;
        }
        self.events.push_back(SessionEvent::Response {
            transaction_id: response.transaction_id.clone(),
            response,
            local: false,
        });
    }

    fn on_send(&mut self, chunk: Chunk, exact_paths: bool) {
        if let Some((code, comment)) = self.check_send(&chunk, exact_paths) {
            // Rejected SENDs get no REPORT (legacy behaviour for 415).
            self.reject(&chunk, code, comment);
            return;
        }
        if let Some(refusal) = self.filter_send(&chunk, true) {
            self.reject(&chunk, refusal.code, &refusal.comment);
            return;
        }
        if exact_paths {
            // The response make_response would build, from cached text.
            if chunk.failure_report() == Ok(FailureReport::Yes) {
                self.queue_ok(&chunk.transaction_id);
            }
        } else if let Ok(Some(r)) = make_response(&chunk, 200, Some("OK")) {
            self.queue(&r);
        }
        if let Some(report) = self.success_report(&chunk, exact_paths) {
            self.queue(&report);
        }
        // A peer's keep-alive (empty SEND with `Keep-Alive: yes`) is
        // answered but not passed to the application.
        if chunk.data.is_empty() && chunk.headers.get("Keep-Alive").is_some() {
            return;
        }
        self.events.push_back(SessionEvent::Incoming(chunk));
    }

    /// The success REPORT owed for `request` (a SEND, or a whole message's
    /// head), if automatic reports are on and it asks for one.
    /// `exact_paths`: its paths are this session's own text, so they need
    /// not be decoded again.
    fn success_report(&self, request: &Chunk, exact_paths: bool) -> Option<Chunk> {
        if !self.config.automatic_reports {
            return None;
        }
        let report = if exact_paths {
            make_report_on_known_paths(request, 200, Some("OK"))
        } else {
            make_report(request, 200, Some("OK"))
        };
        report.ok().flatten()
    }

    /// The rejection owed to an incoming SEND, if any.
    fn check_send(&self, chunk: &Chunk, exact_paths: bool) -> Option<(u16, &'static str)> {
        if !exact_paths {
            if let Some(rejection) = self.check_send_paths(chunk) {
                return Some(rejection);
            }
        }
        if !chunk.data.is_empty() {
            match chunk.content_type() {
                None => return Some((415, "Content-Type header missing")),
                Some(ct) if !accepts(&self.config.accept_types, ct) => {
                    return Some((415, "Unsupported media type"))
                }
                Some(_) => {}
            }
        }
        None
    }

    /// What the send filter says about `chunk` (see the module docs): its
    /// own verdict on a message's first chunk, the remembered one on later
    /// chunks of a refused message. `whole`: the chunk's body is there (so
    /// its flag tells whether more chunks follow).
    fn filter_send(&mut self, chunk: &Chunk, whole: bool) -> Option<SendRefusal> {
        let filter = self.config.send_filter.as_ref()?;
        let message_id = chunk.message_id()?;
        let last = whole && chunk.flag != Flag::Continue;
        if !starts_message(chunk) {
            let refusal = self.refused.get(message_id)?.clone();
            if last {
                self.refused.forget(message_id);
            }
            return Some(refusal);
        }
        let refusal = (filter.0)(chunk)?;
        if !last {
            self.refused.remember(message_id, &refusal);
        }
        Some(refusal)
    }

    /// RFC 4975 §7.3 path checks of an incoming SEND (481 on a mismatch).
    fn check_send_paths(&self, chunk: &Chunk) -> Option<(u16, &'static str)> {
        // verify_headers passed, so the paths decode.
        let to = chunk.to_path().ok().flatten().unwrap_or_default();
        let from = chunk.from_path().ok().flatten().unwrap_or_default();
        let mut expected_from = self.paths.local_path.clone();
        expected_from.extend(self.paths.remote_path.iter().cloned());
        expected_from.push(self.paths.remote_uri.clone());
        if self.config.use_sessmatch {
            if to.first().map(|u| &u.session_id) != Some(&self.paths.local_uri.session_id) {
                return Some((481, "Invalid To-Path"));
            }
            if from.first().map(|u| &u.session_id) != expected_from.first().map(|u| &u.session_id) {
                return Some((481, "Invalid From-Path"));
            }
        } else {
            if to != [self.paths.local_uri.clone()] {
                return Some((481, "Invalid To-Path"));
            }
            if from != expected_from {
                return Some((481, "Invalid From-Path"));
            }
        }
        None
    }

    /// Answers `request` with a failure. When its own paths are unusable,
    /// the response goes along the session's paths instead.
    fn reject(&mut self, request: &Chunk, code: u16, comment: &str) {
        match make_response(request, code, Some(comment)) {
            Ok(Some(r)) => self.queue(&r),
            Ok(None) => {}
            Err(_) => self.respond_by_paths(&request.transaction_id, code, comment),
        }
    }

    fn on_parse_error(&mut self, e: ParseError) {
        if let Some(l) = &self.config.logger {
            l.logger.message(Level::Warn, &format!("{}: {e}", l.label));
        }
        if let Some(tid) = &e.transaction_id {
            let (code, comment) = match e.kind {
                ParseErrorKind::BodyTooLarge { .. } => (413, "Message too large"),
                _ => (400, "Bad request"),
            };
            let tid = tid.clone();
            self.respond_by_paths(&tid, code, comment);
        }
        self.events.push_back(SessionEvent::ProtocolError(e));
    }

    /// A response built from the session's own paths, for requests whose
    /// headers could not be read.
    fn respond_by_paths(&mut self, tid: &str, code: u16, comment: &str) {
        let mut r = Chunk::response(tid, code, Some(comment));
        let first_hop = self
            .paths
            .local_path
            .first()
            .or(self.paths.remote_path.first())
            .unwrap_or(&self.paths.remote_uri);
        r.headers.set(names::TO_PATH, first_hop.to_string());
        r.headers
            .set(names::FROM_PATH, self.paths.local_uri.to_string());
        r.flag = Flag::End;
        // A transaction id that fails the grammar cannot be answered.
        if r.validate().is_ok() {
            self.queue(&r);
        }
    }

    // ----- outgoing transactions -----

    /// A success REPORT proves that the bytes it covers arrived: SENDs sent
    /// with `Failure-Report: partial` whose bytes it covers will get no
    /// response (RFC 4975 §7.1.1: a receiver answers those only on
    /// failure, and answers before it reports), so they end now with the
    /// local 200 they would get at their deadline. Without this a chat's
    /// graceful shutdown would wait the whole response timeout for them.
    fn settle_reported(&mut self, report: &Chunk) {
        let Ok(Some(status)) = report.status() else {
            return;
        };
        let (Some(mid), Ok(Some(range))) = (report.message_id(), report.byte_range()) else {
            return;
        };
        if !(200..300).contains(&status.code) {
            return;
        }
        let end = range.end.or(range.total).unwrap_or(u64::MAX);
        for tid in self.pending.covered(mid, range.start, end) {
            self.expire(&tid);
        }
    }

    fn expire(&mut self, tid: &str) {
        let Some(p) = self.pending.remove(tid) else {
            return;
        };
        let (code, comment) = match p.failure_report {
            FailureReport::Yes => (408, TIMEOUT_COMMENT),
            FailureReport::Partial | FailureReport::No => (200, "OK"),
        };
        if p.keepalive {
            if code == 408 {
                self.events.push_back(SessionEvent::KeepaliveTimeout);
            }
            return;
        }
        self.events.push_back(SessionEvent::Response {
            transaction_id: tid.to_string(),
            response: Chunk::response(tid, code, Some(comment)),
            local: true,
        });
    }

    fn send_keepalive(&mut self, now: Instant) {
        let mut chunk = ChunkBuilder::send(Bytes::new())
            .build(&self.paths.to_path_value(), &self.paths.from_path_value());
        chunk.headers.set("Keep-Alive", "yes");
        self.pending.insert(
            chunk.transaction_id.clone(),
            Pending {
                deadline: now + self.config.response_timeout,
                failure_report: FailureReport::Yes,
                keepalive: true,
                reported_by: None,
                seq: 0,
            },
        );
        self.queue(&chunk);
    }
}

/// Large messages: chunked sending and whole-message receipt (see
/// [`super::transfer`]).
impl Session {
    /// Queues `message` to be sent in chunks, interleaved with everything
    /// else the session sends. Its body is read only as
    /// [`poll_transmit`](Self::poll_transmit) hands it out; its progress
    /// and outcome arrive through
    /// [`poll_transfer_event`](Self::poll_transfer_event).
    pub fn send_message(
        &mut self,
        message: OutgoingMessage,
        now: Instant,
    ) -> Result<TransferId, SendMessageError> {
        self.clock = self.clock.max(now);
        if self.closed {
            return Err(SendMessageError::Closed(Box::new(message)));
        }
        self.outgoing.send(message)
    }

    /// Stops a message queued with [`send_message`](Self::send_message):
    /// a chunk of it being written ends with `#` before the next piece;
    /// between chunks an empty `#` chunk follows if part of it was sent.
    /// It fails with [`CANCELLED`](super::transfer::CANCELLED). `false`
    /// when it already completed or failed.
    pub fn cancel(&mut self, id: TransferId) -> bool {
        self.outgoing.cancel(id, &mut self.transfer_events)
    }

    /// [`poll_transmit`](Self::poll_transmit) at `now`: response deadlines
    /// of the chunks it ends count from `now`. Drivers sending messages
    /// call this one.
    pub fn poll_transmit_at(&mut self, now: Instant) -> Option<Bytes> {
        self.clock = self.clock.max(now);
        let ctx = TxContext {
            to_path: &self.to_text,
            from_path: &self.from_text,
            config: &self.config,
            relayed: !self.paths.local_path.is_empty() || !self.paths.remote_path.is_empty(),
            now: self.clock,
        };
        if !self.transmit.is_empty() {
            // Whatever else is waiting goes before the next piece: the
            // chunk being written ends here and resumes in a new one.
            if let Some(end) = self.outgoing.interrupt(&ctx, &mut self.transfer_events) {
                return Some(end);
            }
            return self.transmit.pop_front();
        }
        self.outgoing.poll(&ctx, &mut self.transfer_events)
    }

    /// [`poll_transmit_at`](Self::poll_transmit_at) restricted to the
    /// session's own output queue: chunks from
    /// [`send_chunk`](Self::send_chunk), responses, REPORTs and keep-alives
    /// (preceded by the end-line of a message chunk they interrupt). It
    /// never starts a new piece of a message, so a driver can drain it
    /// after every change without reading any message body, and pull
    /// message pieces with `poll_transmit_at` only when its writer has
    /// room. `None` when that queue is empty.
    pub fn poll_transmit_queued(&mut self, now: Instant) -> Option<Bytes> {
        if self.transmit.is_empty() {
            return None;
        }
        self.poll_transmit_at(now)
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has something to
    /// return (a driver wakes its writer on `true`). It may still return
    /// `None` when the only thing left was a message whose source just
    /// failed without anything to send.
    pub fn has_transmit(&self) -> bool {
        !self.transmit.is_empty() || !self.outgoing.is_idle(self.config.send_window)
    }

    /// The next event about messages sent with
    /// [`send_message`](Self::send_message), or about incoming messages
    /// in [`Delivery::Messages`] mode.
    pub fn poll_transfer_event(&mut self) -> Option<TransferEvent> {
        self.transfer_events.pop_front()
    }

    /// Messages queued with [`send_message`](Self::send_message) that have
    /// neither completed nor failed.
    pub fn active_transfers(&self) -> usize {
        self.outgoing.active()
    }

    /// The first chunk of a message, collected whole for the send filter
    /// ([`Delivery::Messages`]), ended: decided on with its body, which
    /// then goes into its message.
    fn stream_whole(&mut self, chunk: Chunk) {
        let flag = chunk.flag;
        let data = self.stream_start_with(chunk, true);
        self.reassembly.data(&data);
        self.reassembly.end(flag);
        self.drain_reassembly();
    }

    /// The first chunk of a message, collected for the send filter, grew
    /// past the limit of chunks collected whole: the filter decides on the
    /// body so far, and the chunk streams on into its message like any
    /// other.
    fn first_chunk_streams(&mut self) {
        self.incoming_first = false;
        let Some((mut chunk, body)) = self.incoming.take() else {
            return;
        };
        chunk.data = body.freeze();
        let data = self.stream_start_with(chunk, false);
        self.reassembly.data(&data);
        self.drain_reassembly();
    }

    /// A SEND chunk of a message starts ([`Delivery::Messages`]): checked
    /// like any SEND, then streamed into its message.
    fn stream_start(&mut self, chunk: Chunk, whole: bool) {
        self.stream_start_with(chunk, whole);
        self.drain_reassembly();
    }

    /// [`stream_start`](Self::stream_start) for a chunk whose body (all
    /// of it when `whole`, else its start) was already collected; the
    /// send filter sees it. Returns that body, for the caller to stream
    /// into the reassembly.
    fn stream_start_with(&mut self, mut chunk: Chunk, whole: bool) -> Bytes {
        let (exact_paths, verified) = self.verify_request(&chunk);
        let rejection = match verified {
            Err(e) => Some((400, e.to_string())),
            Ok(()) if !exact_paths => self
                .check_send_paths(&chunk)
                .map(|(code, comment)| (code, comment.to_string())),
            Ok(()) => None,
        };
        let body_problem = match chunk.content_type() {
            // A whole chunk without a body has no type to check.
            _ if whole && chunk.data.is_empty() => None,
            None => Some((415, "Content-Type header missing")),
            Some(ct) if !accepts(&self.config.accept_types, ct) => {
                Some((415, "Unsupported media type"))
            }
            Some(_) => None,
        };
        let rejection = match rejection {
            None if body_problem.is_none() => {
                self.filter_send(&chunk, whole).map(|r| (r.code, r.comment))
            }
            other => other,
        };
        let message_id = chunk.message_id().unwrap_or_default().to_string();
        let range = chunk.byte_range().ok().flatten().unwrap_or(ByteRange {
            start: 1,
            end: None,
            total: None,
        });
        let data = std::mem::take(&mut chunk.data);
        self.reassembly.begin(
            chunk,
            exact_paths,
            message_id,
            range,
            rejection,
            body_problem,
        );
        data
    }

    /// A chunk collected whole went over the parser's body limit (with
    /// [`Delivery::Messages`], where the parser does not check it): handled
    /// as the parser's own error would be.
    fn collected_too_large(&mut self) {
        let Some((chunk, _)) = self.incoming.take() else {
            return;
        };
        let kind = ParseErrorKind::BodyTooLarge {
            limit: self.config.parser.max_body_len,
        };
        self.on_parse_error(ParseError::new(kind, Some(&chunk.transaction_id)));
    }

    /// Carries out what the reassembly decided.
    fn drain_reassembly(&mut self) {
        while let Some(out) = self.reassembly.out.pop_front() {
            match out {
                RxOutput::Respond {
                    head,
                    code: 200,
                    comment,
                } => {
                    if let Ok(Some(r)) = make_response(&head, 200, Some(&comment)) {
                        self.queue(&r);
                    }
                }
                RxOutput::Respond {
                    head,
                    code,
                    comment,
                } => self.reject(&head, code, &comment),
                RxOutput::Ok { tid } => self.queue_ok(&tid),
                RxOutput::Complete {
                    mut head,
                    exact_paths,
                    body,
                    size,
                } => {
                    let range = ByteRange {
                        start: 1,
                        end: Some(size),
                        total: Some(size),
                    };
                    // A message sent in one chunk usually says so already.
                    if head.byte_range() != Ok(Some(range)) {
                        head.headers.set_typed(&range);
                    }
                    head.flag = Flag::End;
                    let in_memory = body.is_some();
                    if let Some(data) = body {
                        head.data = data;
                    }
                    // With the body in place, the report's range is the
                    // head's: 1-N/N.
                    if let Some(mut report) = self.success_report(&head, exact_paths) {
                        if !in_memory {
                            report.headers.set_typed(&range);
                        }
                        self.queue(&report);
                    }
                    if in_memory {
                        self.events.push_back(SessionEvent::Incoming(head));
                    } else {
                        self.transfer_events
                            .push_back(TransferEvent::MessageStored { head, size });
                    }
                }
                RxOutput::Event(e) => self.transfer_events.push_back(e),
            }
        }
    }
}

/// Whether a SEND chunk is its message's first: its Byte-Range starts at
/// 1 (or it has none).
fn starts_message(chunk: &Chunk) -> bool {
    chunk
        .byte_range()
        .ok()
        .flatten()
        .is_none_or(|r| r.start <= 1)
}

/// The chunk `ChunkBuilder::send(data).content_type(content_type)` with
/// `message_id` builds for `to_path`/`from_path`, assembled in one step
/// (every header allocated once, in their final order: To-Path, From-Path,
/// Byte-Range, Message-ID, Content-Type). A test checks the two agree.
pub(crate) fn build_message(
    to_path: &str,
    from_path: &str,
    data: Bytes,
    content_type: &str,
    message_id: Option<&str>,
) -> Chunk {
    let len = data.len() as u64;
    let mut chunk = Chunk::request(random_id(), "SEND");
    let range = ByteRange {
        start: 1,
        end: Some(len),
        total: Some(len),
    };
    chunk.headers = Headers::from_iter([
        (names::TO_PATH.to_string(), to_path.to_string()),
        (names::FROM_PATH.to_string(), from_path.to_string()),
        (names::BYTE_RANGE.to_string(), range.encoded()),
        (
            names::MESSAGE_ID.to_string(),
            message_id.map_or_else(random_id, str::to_string),
        ),
        (names::CONTENT_TYPE.to_string(), content_type.to_string()),
    ]);
    chunk.data = data;
    chunk.flag = Flag::End;
    chunk
}

/// The Message-ID and byte range of a SEND, for [`Pending::reported_by`].
fn reported_bytes(chunk: &Chunk) -> Option<(String, u64, u64)> {
    if chunk.method() != Some("SEND") {
        return None;
    }
    let mid = chunk.message_id()?.to_string();
    let range = chunk.byte_range().ok()??;
    let end = range
        .end
        .unwrap_or(range.start + chunk.data.len() as u64 - 1);
    Some((mid, range.start, end))
}

/// Whether `content_type` matches one of `patterns` (`*`, `type/*`, or a
/// full type; parameters after `;` and case are ignored).
pub fn accepts(patterns: &[String], content_type: &str) -> bool {
    // Runs for every incoming message: compare in place, no lower-cased
    // copies.
    let ct = content_type.split(';').next().unwrap_or("").trim();
    patterns.iter().any(|p| {
        let p = p.trim();
        p == "*"
            || p.eq_ignore_ascii_case(ct)
            || p.strip_suffix('*').is_some_and(|prefix| {
                prefix.ends_with('/')
                    && ct
                        .as_bytes()
                        .get(..prefix.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
            })
    })
}

fn join_uris(uris: &[Uri]) -> String {
    let mut s = String::new();
    super::header::encode_path(uris, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::parse_chunk;
    use crate::msrp::transfer::AbortReason;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    /// Two sessions wired back to back on a virtual clock.
    struct Pair {
        a: Session,
        b: Session,
        now: Instant,
    }

    impl Pair {
        fn new(config: SessionConfig) -> Pair {
            let ua = uri("msrp://127.0.0.1:2855/alice01;tcp");
            let ub = uri("msrp://127.0.0.1:2856/bob01;tcp");
            let now = Instant::now();
            Pair {
                a: Session::new(
                    SessionPaths::new(ua.clone(), std::slice::from_ref(&ub)).unwrap(),
                    config.clone(),
                    now,
                ),
                b: Session::new(SessionPaths::new(ub, &[ua]).unwrap(), config, now),
                now,
            }
        }

        /// Moves bytes both ways until both are quiet; returns what a sent.
        fn run(&mut self) -> Vec<Bytes> {
            let mut sent = Vec::new();
            loop {
                let mut moved = false;
                while let Some(bytes) = self.a.poll_transmit() {
                    self.b.handle_input(&bytes, self.now);
                    sent.push(bytes);
                    moved = true;
                }
                while let Some(bytes) = self.b.poll_transmit() {
                    self.a.handle_input(&bytes, self.now);
                    moved = true;
                }
                if !moved {
                    return sent;
                }
            }
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }
    }

    fn events(s: &mut Session) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn response_code(ev: &SessionEvent) -> (u16, bool) {
        match ev {
            SessionEvent::Response {
                response, local, ..
            } => (response.code().unwrap(), *local),
            other => panic!("not a response: {other:?}"),
        }
    }

    #[test]
    fn message_with_success_report() {
        let mut p = Pair::new(SessionConfig::default());
        let mut msg = p.a.make_message("hello", "text/plain", None);
        msg.headers.set("Success-Report", "yes");
        let tid = msg.transaction_id.clone();
        p.a.send_chunk(msg, true, p.now).unwrap();
        p.run();
        let got = events(&mut p.b);
        assert!(matches!(&got[..], [SessionEvent::Incoming(c)] if &c.data[..] == b"hello"));
        let got = events(&mut p.a);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            matches!(&got[0], SessionEvent::Response { transaction_id, local: false, .. } if *transaction_id == tid)
        );
        assert_eq!(response_code(&got[0]), (200, false));
        let SessionEvent::Incoming(report) = &got[1] else {
            panic!()
        };
        assert_eq!(report.method(), Some("REPORT"));
        assert_eq!(report.status().unwrap().unwrap().code, 200);
        assert_eq!(p.a.pending_transactions(), 0);
    }

    #[test]
    fn a_success_report_settles_partial_sends_it_covers() {
        let mut p = Pair::new(SessionConfig::default());
        let mut msg = p.a.make_message("hello", "text/plain", Some("mid-1"));
        msg.headers.set("Success-Report", "yes");
        msg.headers.set("Failure-Report", "partial");
        let tid = msg.transaction_id.clone();
        p.a.send_chunk(msg, true, p.now).unwrap();
        // A partial SEND that its REPORT does not cover stays pending.
        let mut other = p.a.make_message("other", "text/plain", Some("mid-2"));
        other.headers.set("Failure-Report", "partial");
        p.a.send_chunk(other, true, p.now).unwrap();
        p.run();
        let got = events(&mut p.a);
        // The local 200 comes before the REPORT that settled it, at once.
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            matches!(&got[0], SessionEvent::Response { transaction_id, local: true, .. } if *transaction_id == tid)
        );
        assert_eq!(response_code(&got[0]), (200, true));
        assert!(matches!(&got[1], SessionEvent::Incoming(r) if r.method() == Some("REPORT")));
        assert_eq!(p.a.pending_transactions(), 1);
        // A failure REPORT settles nothing.
        let mut report = Chunk::request("rep12345", "REPORT");
        report
            .headers
            .set("To-Path", "msrp://127.0.0.1:2855/alice01;tcp");
        report
            .headers
            .set("From-Path", "msrp://127.0.0.1:2856/bob01;tcp");
        report.headers.set("Message-ID", "mid-2");
        report.headers.set("Byte-Range", "1-5/5");
        report.headers.set("Status", "000 413 Too big");
        p.a.handle_input(&report.encode(), p.now);
        assert_eq!(p.a.pending_transactions(), 1);
        report.headers.set("Status", "000 200 OK");
        report.transaction_id = "rep67890".into();
        p.a.handle_input(&report.encode(), p.now);
        assert_eq!(p.a.pending_transactions(), 0);
    }

    #[test]
    fn rejections() {
        let config = SessionConfig {
            accept_types: vec!["text/*".into()],
            ..SessionConfig::default()
        };
        let mut p = Pair::new(config);
        // 415 for a type outside accept_types, no REPORT even if asked.
        let mut m = p.a.make_message("x", "image/png", None);
        m.headers.set("Success-Report", "yes");
        p.a.send_chunk(m, true, p.now).unwrap();
        // 415 for a body without Content-Type.
        let mut m = p.a.make_message("x", "text/plain", None);
        m.headers.remove("Content-Type");
        p.a.send_chunk(m, true, p.now).unwrap();
        // 481 for a wrong To-Path.
        let mut m = p.a.make_message("x", "text/plain", None);
        m.headers.set("To-Path", "msrp://127.0.0.1:2856/other;tcp");
        p.a.send_chunk(m, true, p.now).unwrap();
        // 501 for an unknown method; 400 for NICKNAME without Use-Nickname.
        p.a.send_chunk(p.a.make_request("FOOBAR"), true, p.now)
            .unwrap();
        p.a.send_chunk(p.a.make_request("NICKNAME"), true, p.now)
            .unwrap();
        // 400 for a bad header value.
        let mut m = p.a.make_message("x", "text/plain", None);
        m.headers.set("Failure-Report", "maybe");
        p.a.send_chunk(m, true, p.now).unwrap();
        p.run();
        assert!(events(&mut p.b).is_empty());
        let codes: Vec<_> = events(&mut p.a).iter().map(response_code).collect();
        assert_eq!(
            codes,
            [
                (415, false),
                (415, false),
                (481, false),
                (501, false),
                (400, false),
                (400, false)
            ]
        );
    }

    #[test]
    fn rejection_comments_match_legacy_wire() {
        let mut p = Pair::new(SessionConfig {
            accept_types: vec!["text/plain".into()],
            ..SessionConfig::default()
        });
        p.a.send_chunk(p.a.make_message("x", "image/png", None), true, p.now)
            .unwrap();
        p.a.send_chunk(p.a.make_request("FOOBAR"), true, p.now)
            .unwrap();
        p.run();
        let comments: Vec<_> = events(&mut p.a)
            .into_iter()
            .map(|e| match e {
                SessionEvent::Response { response, .. } => response.comment().unwrap().to_string(),
                _ => panic!(),
            })
            .collect();
        assert_eq!(comments, ["Unsupported media type", "Method unknown"]);
    }

    #[test]
    fn nickname_goes_to_the_application() {
        let mut p = Pair::new(SessionConfig::default());
        let mut n = p.a.make_request("NICKNAME");
        n.headers.set("Use-Nickname", "\"Alice\"");
        p.a.send_chunk(n, true, p.now).unwrap();
        p.run();
        let got = events(&mut p.b);
        let [SessionEvent::Incoming(nick)] = &got[..] else {
            panic!("{got:?}")
        };
        p.b.send_response(nick, 200, Some("OK")).unwrap();
        p.run();
        assert_eq!(response_code(&events(&mut p.a)[0]), (200, false));
    }

    #[test]
    fn timeouts_make_local_responses() {
        let mut p = Pair::new(SessionConfig {
            keepalive_interval: None,
            ..SessionConfig::default()
        });
        for fr in ["yes", "partial", "no"] {
            let mut m = p.a.make_message("x", "text/plain", None);
            m.headers.set("Failure-Report", fr);
            p.a.send_chunk(m, true, p.now).unwrap();
        }
        // The peer never answers: drop what a sends.
        while p.a.poll_transmit().is_some() {}
        assert_eq!(p.a.poll_timeout(), Some(p.now + Duration::from_secs(30)));
        p.advance(Duration::from_secs(29));
        assert!(events(&mut p.a).is_empty());
        p.advance(Duration::from_secs(1));
        let mut codes: Vec<_> = events(&mut p.a).iter().map(response_code).collect();
        codes.sort();
        assert_eq!(codes, [(200, true), (200, true), (408, true)]);
        assert_eq!(p.a.poll_timeout(), None);
    }

    #[test]
    fn late_response_is_dropped() {
        let mut p = Pair::new(SessionConfig {
            keepalive_interval: None,
            ..SessionConfig::default()
        });
        let m = p.a.make_message("x", "text/plain", None);
        p.a.send_chunk(m, true, p.now).unwrap();
        let wire = p.a.poll_transmit().unwrap();
        p.advance(Duration::from_secs(31));
        assert_eq!(response_code(&events(&mut p.a)[0]), (408, true));
        p.b.handle_input(&wire, p.now);
        p.run();
        assert!(events(&mut p.a).is_empty());
    }

    #[test]
    fn keepalive_and_its_timeout() {
        let mut p = Pair::new(SessionConfig::default());
        p.advance(Duration::from_secs(60));
        let sent = p.run();
        let ka = parse_chunk(&sent[0]).unwrap();
        assert_eq!(ka.headers.get("Keep-Alive"), Some("yes"));
        assert_eq!(ka.headers.get("Byte-Range"), Some("1-0/0"));
        assert!(
            events(&mut p.a).is_empty(),
            "answered keep-alives are silent"
        );
        // Now the peer goes silent.
        p.advance(Duration::from_secs(60));
        while p.a.poll_transmit().is_some() {}
        p.advance(Duration::from_secs(30));
        assert!(events(&mut p.a).contains(&SessionEvent::KeepaliveTimeout));
    }

    #[test]
    fn close_fails_pending_transactions_and_refuses_sends() {
        let mut p = Pair::new(SessionConfig::default());
        p.a.send_chunk(p.a.make_message("x", "text/plain", None), true, p.now)
            .unwrap();
        p.a.handle_close();
        assert_eq!(response_code(&events(&mut p.a)[0]), (408, true));
        let m = p.a.make_message("y", "text/plain", None);
        let err = p.a.send_chunk(m.clone(), true, p.now).unwrap_err();
        assert_eq!(err.into_chunk(), m);
        assert!(p.a.is_closed());
    }

    #[test]
    fn close_with_a_keepalive_in_flight_is_not_a_keepalive_failure() {
        let mut p = Pair::new(SessionConfig::default());
        p.advance(Duration::from_secs(60));
        assert_eq!(p.a.pending_transactions(), 1);
        p.a.handle_close();
        assert!(events(&mut p.a).is_empty());
        assert_eq!(p.a.pending_transactions(), 0);
    }

    /// Feeds each of `chunks` to `to` and returns what `to` answers, as
    /// the chunks it put on the wire.
    fn answers(to: &mut Session, chunks: &[Chunk], now: Instant) -> Vec<Chunk> {
        let mut wire = Vec::new();
        for c in chunks {
            to.handle_input(&c.encode(), now);
            while let Some(b) = to.poll_transmit() {
                wire.push(parse_chunk(&b).unwrap());
            }
        }
        wire
    }

    #[test]
    fn unknown_methods_get_501_whatever_their_failure_report() {
        let mut p = Pair::new(SessionConfig::default());
        let mut foo = p.a.make_request("FOOBAR");
        foo.headers.set("Failure-Report", "no");
        let got = answers(&mut p.b, &[foo.clone()], p.now);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(
            &got[0].encode()[..],
            format!(
                "MSRP {} 501 Method unknown\r\n\
                 To-Path: msrp://127.0.0.1:2855/alice01;tcp\r\n\
                 From-Path: msrp://127.0.0.1:2856/bob01;tcp\r\n\
                 -------{}$\r\n",
                foo.transaction_id, foo.transaction_id
            )
            .as_bytes()
        );
        assert!(events(&mut p.b).is_empty());
    }

    #[test]
    fn a_session_that_does_not_handle_nickname_answers_501() {
        let mut p = Pair::new(SessionConfig {
            handles_nickname: false,
            ..SessionConfig::default()
        });
        let mut n = p.a.make_request("NICKNAME");
        n.headers.set("Use-Nickname", "\"Alice\"");
        let got = answers(&mut p.b, &[n.clone()], p.now);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].transaction_id, n.transaction_id);
        assert_eq!(got[0].code(), Some(501));
        assert_eq!(got[0].comment(), Some("Method unknown"));
        assert!(events(&mut p.b).is_empty());
        // The sender sees the 501 at once, not a 408 later.
        p.a.send_chunk(n, true, p.now).unwrap();
        p.run();
        assert_eq!(response_code(&events(&mut p.a)[0]), (501, false));
    }

    /// A filter refusing bodies that start with "bad" -- or, given a head
    /// without its body (with `Delivery::Messages`), Message-ID `m-bad` --
    /// and counting calls.
    /// A filter refusing (415) the messages whose first chunk's body
    /// starts with `bad`; it records every body it is shown.
    fn bad_filter(seen: std::sync::Arc<std::sync::Mutex<Vec<Vec<u8>>>>) -> SendFilter {
        SendFilter::new(move |chunk| {
            seen.lock().unwrap().push(chunk.data.to_vec());
            chunk.data.starts_with(b"bad").then(|| SendRefusal {
                code: 415,
                comment: "Unsupported media type".into(),
            })
        })
    }

    /// The chunks of a message of `body` in pieces of `piece` bytes.
    fn pieces(s: &Session, body: &[u8], piece: usize, mid: &str) -> Vec<Chunk> {
        let total = body.len();
        body.chunks(piece)
            .enumerate()
            .map(|(i, part)| {
                let mut c = s.make_message(Bytes::copy_from_slice(part), "text/plain", Some(mid));
                let start = i * piece + 1;
                c.headers.set(
                    "Byte-Range",
                    format!("{start}-{}/{total}", start + part.len() - 1),
                );
                c.headers.set("Success-Report", "yes");
                c.flag = if start + part.len() - 1 == total {
                    Flag::End
                } else {
                    Flag::Continue
                };
                c
            })
            .collect()
    }

    #[test]
    fn the_send_filter_refuses_a_message_from_its_first_chunk() {
        for delivery in [Delivery::Chunks, Delivery::Messages] {
            let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut p = Pair::new(SessionConfig {
                send_filter: Some(bad_filter(seen.clone())),
                delivery,
                ..SessionConfig::default()
            });
            let refused = pieces(&p.a, b"bad message", 4, "m-bad");
            let taken = pieces(&p.a, b"good message", 5, "m-good");
            let got = answers(&mut p.b, &refused, p.now);
            // Each chunk of the refused message gets its 415 and nothing
            // else: no 200, no REPORT.
            let want: Vec<_> = refused
                .iter()
                .map(|c| (c.transaction_id.clone(), Some(415)))
                .collect();
            let seen_on_wire: Vec<_> = got
                .iter()
                .map(|c| (c.transaction_id.clone(), c.code()))
                .collect();
            assert_eq!(seen_on_wire, want, "{delivery:?}");
            assert!(got
                .iter()
                .all(|c| c.comment() == Some("Unsupported media type")));
            assert!(events(&mut p.b).is_empty(), "{delivery:?}");
            assert!(
                std::iter::from_fn(|| p.b.poll_transfer_event())
                    .all(|e| matches!(e, TransferEvent::MessageAborted { .. })),
                "{delivery:?}"
            );
            let got = answers(&mut p.b, &taken, p.now);
            assert!(got.iter().all(|c| c.code() != Some(415)), "{got:?}");
            assert!(got.iter().any(|c| c.method() == Some("REPORT")));
            let bodies: Vec<_> = events(&mut p.b)
                .into_iter()
                .map(|e| {
                    let SessionEvent::Incoming(c) = e else {
                        panic!("{e:?}")
                    };
                    assert_eq!(c.message_id(), Some("m-good"));
                    c.data
                })
                .collect();
            let want: Vec<&[u8]> = match delivery {
                Delivery::Chunks => vec![b"good ", b"messa", b"ge"],
                Delivery::Messages => vec![b"good message"],
            };
            assert_eq!(bodies, want, "{delivery:?}");
            // Asked once per message, on its first chunk, body included.
            assert_eq!(
                *seen.lock().unwrap(),
                [b"bad ".to_vec(), b"good ".to_vec()],
                "{delivery:?}"
            );
        }
    }

    /// With whole-message delivery, the first chunk reaches the filter
    /// whatever its neighbours: after a later chunk of its message (whose
    /// bytes a refusal then drops), and, over the limit of chunks
    /// collected whole, by its start, the rest streaming on.
    #[test]
    fn the_send_filter_sees_first_chunks_out_of_order_and_large_ones_by_their_start() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut config = SessionConfig {
            send_filter: Some(bad_filter(seen.clone())),
            delivery: Delivery::Messages,
            ..SessionConfig::default()
        };
        config.parser.max_body_len = 8;
        let mut p = Pair::new(config);
        let mut late = pieces(&p.a, b"bad news, all of it", 10, "m-late");
        late.rotate_right(1);
        let got = answers(&mut p.b, &late, p.now);
        let codes: Vec<_> = got.iter().map(Chunk::code).collect();
        assert_eq!(codes, [Some(200), Some(415)]);
        assert!(events(&mut p.b).is_empty());
        let aborted: Vec<_> = std::iter::from_fn(|| p.b.poll_transfer_event()).collect();
        assert!(matches!(
            &aborted[..],
            [TransferEvent::MessageAborted { message_id, reason: AbortReason::Invalid }]
                if message_id == "m-late"
        ));
        // A 20-byte first chunk over the 8-byte limit, fed in one go.
        let body = b"good, and long enough";
        let big = pieces(&p.a, body, body.len(), "m-big");
        let got = answers(&mut p.b, &big, p.now);
        assert_eq!(got[0].code(), Some(200), "{got:?}");
        let got = events(&mut p.b);
        let [SessionEvent::Incoming(c)] = &got[..] else {
            panic!("{got:?}")
        };
        assert_eq!(&c.data[..], &body[..]);
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0], b"bad news, ");
        assert!(seen[1].len() > 8 && body.starts_with(&seen[1]), "{seen:?}");
    }

    #[test]
    fn duplicate_transaction_is_refused() {
        let mut p = Pair::new(SessionConfig::default());
        let m = p.a.make_message("x", "text/plain", None);
        p.a.send_chunk(m.clone(), true, p.now).unwrap();
        assert!(matches!(
            p.a.send_chunk(m, true, p.now),
            Err(SessionError::DuplicateTransaction(_))
        ));
    }

    #[test]
    fn malformed_input_is_answered_and_the_session_goes_on() {
        let mut p = Pair::new(SessionConfig::default());
        let bad = b"MSRP mal00009 SEND\r\nTo-Path: msrp://127.0.0.1:2856/bob01;tcp\r\n\
From-Path: msrp://127.0.0.1:2855/alice01;tcp\r\nByte-Range: banana\r\n-------mal00009$\r\n";
        p.b.handle_input(bad, p.now);
        let answer = parse_chunk(&p.b.poll_transmit().unwrap()).unwrap();
        assert_eq!(
            (answer.transaction_id.as_str(), answer.code()),
            ("mal00009", Some(400))
        );
        assert_eq!(
            answer.headers.get("To-Path"),
            Some("msrp://127.0.0.1:2855/alice01;tcp")
        );
        assert!(matches!(
            &events(&mut p.b)[..],
            [SessionEvent::ProtocolError(_)]
        ));
        // Missing To-Path: answered 400 along the session's paths.
        let bad = b"MSRP mal00010 SEND\r\nFrom-Path: msrp://127.0.0.1:2855/alice01;tcp\r\n-------mal00010$\r\n";
        p.b.handle_input(bad, p.now);
        let answer = parse_chunk(&p.b.poll_transmit().unwrap()).unwrap();
        assert_eq!(answer.code(), Some(400));
        assert_eq!(
            answer.comment(),
            Some("Error parsing To-Path header: header is missing")
        );
        // The session still works.
        p.a.send_chunk(p.a.make_message("ok", "text/plain", None), true, p.now)
            .unwrap();
        p.run();
        assert_eq!(events(&mut p.b).len(), 1);
        assert_eq!(response_code(&events(&mut p.a)[0]), (200, false));
    }

    #[test]
    fn sessmatch_compares_session_ids_only() {
        let config = SessionConfig {
            use_sessmatch: true,
            ..SessionConfig::default()
        };
        let mut p = Pair::new(config);
        let mut m = p.a.make_message("x", "text/plain", None);
        // A middlebox rewrote the addresses, the session ids survive.
        m.headers.set("To-Path", "msrp://10.9.9.9:1/bob01;tcp");
        m.headers.set("From-Path", "msrp://10.8.8.8:2/alice01;tcp");
        p.a.send_chunk(m, true, p.now).unwrap();
        p.run();
        assert_eq!(events(&mut p.b).len(), 1);
    }

    #[test]
    fn traffic_is_reported_to_the_logger() {
        use std::sync::{Arc, Mutex};
        #[derive(Default)]
        struct Rec(Mutex<Vec<String>>);
        impl TrafficLogger for Rec {
            fn received_new_chunk(&self, c: &str, head: &crate::msrp::Head<'_>) {
                self.0.lock().unwrap().push(format!(
                    "{c} rx start {}",
                    head.method().or(head.comment()).unwrap_or("")
                ));
            }
            fn received_chunk_data(&self, c: &str, _: &str, data: &[u8]) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("{c} rx data {}", data.len()));
            }
            fn received_chunk_end(&self, c: &str, tid: &str, end: &[u8]) {
                assert!(
                    end.starts_with(b"-------")
                        && end.ends_with(b"$")
                        && end.len() == tid.len() + 8
                );
                self.0.lock().unwrap().push(format!("{c} rx end"));
            }
            fn sent_new_chunk(&self, c: &str, _: &str, head: &[u8]) {
                assert!(head.starts_with(b"MSRP "));
                self.0.lock().unwrap().push(format!("{c} tx start"));
            }
            fn sent_chunk_data(&self, c: &str, _: &str, data: &[u8]) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("{c} tx data {}", data.len()));
            }
            fn sent_chunk_end(&self, c: &str, tid: &str, end: &[u8]) {
                assert_eq!(end, format!("\r\n-------{tid}$\r\n").as_bytes());
                self.0.lock().unwrap().push(format!("{c} tx end"));
            }
        }
        let rec = Arc::new(Rec::default());
        let config = SessionConfig {
            logger: Some(SharedLogger {
                logger: rec.clone(),
                label: "b".into(),
            }),
            ..SessionConfig::default()
        };
        let mut p = Pair::new(SessionConfig::default());
        p.b = Session::new(p.b.paths.clone(), config, p.now);
        p.a.send_chunk(p.a.make_message("hello", "text/plain", None), true, p.now)
            .unwrap();
        p.run();
        assert_eq!(
            *rec.0.lock().unwrap(),
            [
                "b rx start SEND",
                "b rx data 5",
                "b rx end",
                "b tx start",
                "b tx end"
            ]
        );
    }

    #[test]
    fn build_message_matches_the_chunk_builder() {
        for (data, ct, mid) in [
            (&b"hello"[..], "text/plain", Some("m1")),
            (&b""[..], "", Some("m2")),
            (&[b'x'; 3000][..], "message/cpim", None),
        ] {
            let to = "msrp://b.example:1/s;tcp";
            let from = "msrp://a.example:2/t;tcp";
            let mut want = ChunkBuilder::send(Bytes::copy_from_slice(data)).content_type(ct);
            want.message_id = mid.map(str::to_string);
            let want = want.build(to, from);
            let mut got = build_message(to, from, Bytes::copy_from_slice(data), ct, mid);
            assert_ne!(got.transaction_id, want.transaction_id, "random ids");
            got.transaction_id = want.transaction_id.clone();
            if mid.is_none() {
                assert_ne!(got.message_id(), want.message_id(), "random ids");
                got.headers
                    .set(names::MESSAGE_ID, want.message_id().unwrap().to_string());
            }
            assert_eq!(got, want);
            assert_eq!(got.encode(), want.encode());
        }
    }

    #[test]
    fn ok_responses_are_the_bytes_make_response_encodes() {
        let mut p = Pair::new(SessionConfig::default());
        for _ in 0..3 {
            let msg = p.a.make_message("hi", "text/plain", None);
            p.b.handle_input(&msg.encode(), p.now);
            let sent = p.b.poll_transmit().unwrap();
            let want = make_response(&msg, 200, Some("OK")).unwrap().unwrap();
            assert_eq!(sent, want.encode());
        }
    }

    #[test]
    fn deadlines_stay_ordered_when_responses_come_out_of_order() {
        let mut p = Pair::new(SessionConfig {
            keepalive_interval: None,
            ..SessionConfig::default()
        });
        let mut wires = Vec::new();
        for i in 0..6u32 {
            let m = p.a.make_message("x", "text/plain", None);
            p.a.send_chunk(m, true, p.now + Duration::from_secs(u64::from(i)))
                .unwrap();
            wires.push(p.a.poll_transmit().unwrap());
        }
        // A request sent with an earlier clock (another thread's reading)
        // still gets the earliest deadline.
        let early = p.a.make_message("x", "text/plain", None);
        let early_tid = early.transaction_id.clone();
        p.a.send_chunk(early, true, p.now - Duration::from_secs(1))
            .unwrap();
        let early_wire = p.a.poll_transmit().unwrap();
        let timeout = Duration::from_secs(30);
        assert_eq!(
            p.a.poll_timeout(),
            Some(p.now - Duration::from_secs(1) + timeout)
        );
        // Answer the 2nd, 4th and the early one: the next deadline is the 1st's.
        for w in [&wires[1], &wires[3], &early_wire] {
            p.b.handle_input(w, p.now);
        }
        p.run();
        assert_eq!(p.a.poll_timeout(), Some(p.now + timeout));
        assert!(events(&mut p.a)
            .iter()
            .all(|e| response_code(e) == (200, false)));
        // Answer the 1st: the 3rd is next (the 2nd is gone).
        p.b.handle_input(&wires[0], p.now);
        p.run();
        assert_eq!(events(&mut p.a).len(), 1);
        assert_eq!(
            p.a.poll_timeout(),
            Some(p.now + Duration::from_secs(2) + timeout)
        );
        // The rest time out in deadline order.
        p.advance(timeout + Duration::from_secs(10));
        let expired: Vec<_> = events(&mut p.a)
            .into_iter()
            .map(|e| match e {
                SessionEvent::Response {
                    transaction_id,
                    local: true,
                    ..
                } => transaction_id,
                other => panic!("{other:?}"),
            })
            .collect();
        let want: Vec<String> = [2usize, 4, 5]
            .iter()
            .map(|&i| parse_chunk(&wires[i]).unwrap().transaction_id)
            .collect();
        assert_eq!(expired, want);
        assert_ne!(early_tid, want[0]);
        assert_eq!(p.a.poll_timeout(), None);
        assert_eq!(p.a.pending_transactions(), 0);
    }

    #[test]
    fn tid_hasher_spreads_similar_ids() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<TidHasher>::default();
        let hashes: HashSet<u64> = (0..1000)
            .map(|i| build.hash_one(format!("{i:x}")))
            .collect();
        assert_eq!(hashes.len(), 1000);
        assert_ne!(build.hash_one("abcd1234"), build.hash_one("abcd12345"));
    }

    #[test]
    fn accept_type_patterns() {
        let pats = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(accepts(&pats(&["*"]), "image/png"));
        assert!(accepts(&pats(&["text/*"]), "Text/Plain; charset=utf-8"));
        assert!(accepts(&pats(&["message/cpim"]), "message/CPIM"));
        assert!(!accepts(&pats(&["text/*"]), "textual/x"));
        assert!(!accepts(&pats(&["text/plain"]), "text/html"));
        assert!(!accepts(&[], "text/plain"));
        assert!(accepts(&pats(&[" TEXT/* "]), "text/html"));
        assert!(!accepts(&pats(&["text/*"]), "tex"));
        assert!(!accepts(&pats(&["text/*"]), "té"));
    }
}
