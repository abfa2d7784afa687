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

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use super::chunk::{Chunk, Flag};
use super::error::{HeaderError, ParseError, ParseErrorKind};
use super::header::{names, FailureReport};
use super::parser::{Event, Parser, ParserConfig};
use super::rules::{make_report, make_response, random_id, ChunkBuilder};
use super::trafficlog::{Level, TrafficLogger};
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
    /// file transfers chunk well below that.
    pub parser: ParserConfig,
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
    /// (which the application answers).
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
    transmit: VecDeque<Bytes>,
    events: VecDeque<SessionEvent>,
    pending: HashMap<String, Pending>,
    next_keepalive: Option<Instant>,
    closed: bool,
}

impl Session {
    /// A bound session. `now` starts the keep-alive clock.
    pub fn new(paths: SessionPaths, config: SessionConfig, now: Instant) -> Self {
        let to_text = paths.to_path_value();
        let reply_to = to_text.split(' ').next().unwrap_or_default().to_string();
        Session {
            parser: Parser::with_config(config.parser.clone()),
            next_keepalive: config.keepalive_interval.map(|i| now + i),
            from_text: paths.from_path_value(),
            to_text,
            reply_to,
            paths,
            config,
            incoming: None,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            pending: HashMap::new(),
            closed: false,
        }
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
        let mut b = ChunkBuilder::send(data).content_type(content_type);
        b.message_id = message_id.map(str::to_string);
        b.build(&self.to_text, &self.from_text)
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
        if self.closed {
            return Err(SessionError::Closed(Box::new(chunk)));
        }
        if self.pending.contains_key(&chunk.transaction_id) {
            return Err(SessionError::DuplicateTransaction(Box::new(chunk)));
        }
        if expect_response {
            self.pending.insert(
                chunk.transaction_id.clone(),
                Pending {
                    deadline: now + self.config.response_timeout,
                    failure_report: chunk.failure_report().unwrap_or_default(),
                    keepalive: false,
                },
            );
        }
        self.queue(&chunk);
        Ok(())
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
        let _ = now;
        loop {
            let (used, result) = self.parser.parse(data);
            data = &data[used..];
            match result {
                Ok(Some(Event::Start(head))) => {
                    if let Some(l) = &self.config.logger {
                        l.logger.received_new_chunk(&l.label, &head);
                    }
                    self.incoming = Some((head.to_chunk(), BytesMut::new()));
                }
                Ok(Some(Event::Data(d))) => {
                    if let Some((chunk, body)) = &mut self.incoming {
                        if let Some(l) = &self.config.logger {
                            l.logger
                                .received_chunk_data(&l.label, &chunk.transaction_id, d);
                        }
                        body.extend_from_slice(d);
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
                        self.on_chunk(chunk);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    self.incoming = None;
                    self.on_parse_error(e);
                }
            }
        }
    }

    /// The connection is gone: every transaction still waiting gets its
    /// local response at once (408 or 200, as for a timeout), and no more
    /// chunks can be sent.
    pub fn handle_close(&mut self) {
        self.closed = true;
        self.next_keepalive = None;
        let mut tids: Vec<String> = self.pending.keys().cloned().collect();
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
        let mut due: Vec<(Instant, String)> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(tid, p)| (p.deadline, tid.clone()))
            .collect();
        due.sort();
        for (_, tid) in due {
            self.expire(&tid);
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
        let response = self.pending.values().map(|p| p.deadline).min();
        match (response, self.next_keepalive) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next encoded chunk to write to the connection.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.transmit.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// Encodes `chunk` for sending, reporting it to the traffic logger.
    fn queue(&mut self, chunk: &Chunk) {
        let wire = chunk.encode();
        if let Some(l) = &self.config.logger {
            let tid = &chunk.transaction_id;
            let head_len = wire.len() - chunk.data.len() - (tid.len() + 12);
            l.logger.sent_new_chunk(&l.label, tid, &wire[..head_len]);
            if !chunk.data.is_empty() {
                l.logger.sent_chunk_data(&l.label, tid, &chunk.data);
            }
            l.logger
                .sent_chunk_end(&l.label, tid, &wire[head_len + chunk.data.len()..]);
        }
        self.transmit.push_back(wire);
    }

    // ----- incoming -----

    fn on_chunk(&mut self, chunk: Chunk) {
        if chunk.code().is_some() {
            self.on_response(chunk);
            return;
        }
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
        if let Err(e) = verified {
            self.reject(&chunk, 400, &e.to_string());
            return;
        }
        match chunk.method().unwrap_or("") {
            "SEND" => self.on_send(chunk, exact_paths),
            "REPORT" => self.events.push_back(SessionEvent::Incoming(chunk)),
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

    fn on_response(&mut self, response: Chunk) {
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
        if exact_paths {
            // The response make_response would build, from cached text.
            if chunk.failure_report() == Ok(FailureReport::Yes) {
                let mut r = Chunk::response(chunk.transaction_id.clone(), 200, Some("OK"));
                r.headers.set(names::TO_PATH, self.reply_to.as_str());
                r.headers.set(names::FROM_PATH, self.from_text.as_str());
                self.queue(&r);
            }
        } else if let Ok(Some(r)) = make_response(&chunk, 200, Some("OK")) {
            self.queue(&r);
        }
        if self.config.automatic_reports {
            if let Ok(Some(report)) = make_report(&chunk, 200, Some("OK")) {
                self.queue(&report);
            }
        }
        // A peer's keep-alive (empty SEND with `Keep-Alive: yes`) is
        // answered but not passed to the application.
        if chunk.data.is_empty() && chunk.headers.get("Keep-Alive").is_some() {
            return;
        }
        self.events.push_back(SessionEvent::Incoming(chunk));
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
            },
        );
        self.queue(&chunk);
    }
}

/// Whether `content_type` matches one of `patterns` (`*`, `type/*`, or a
/// full type; parameters after `;` and case are ignored).
pub fn accepts(patterns: &[String], content_type: &str) -> bool {
    let ct = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    patterns.iter().any(|p| {
        let p = p.trim().to_ascii_lowercase();
        p == "*"
            || p == ct
            || p.strip_suffix('*')
                .is_some_and(|prefix| prefix.ends_with('/') && ct.starts_with(prefix))
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
    fn accept_type_patterns() {
        let pats = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(accepts(&pats(&["*"]), "image/png"));
        assert!(accepts(&pats(&["text/*"]), "Text/Plain; charset=utf-8"));
        assert!(accepts(&pats(&["message/cpim"]), "message/CPIM"));
        assert!(!accepts(&pats(&["text/*"]), "textual/x"));
        assert!(!accepts(&pats(&["text/plain"]), "text/html"));
        assert!(!accepts(&[], "text/plain"));
    }
}
