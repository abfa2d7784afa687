//! One STS/1.0 connection driven by the engine's threads ([`crate::net`]):
//! what both the client ([`super::client`]) and the server's connections
//! ([`super::server`]) are made of.
//!
//! A [`Peer`] can do everything the protocol allows on a connection, in
//! both directions:
//!
//! * send **simple messages** (no reply expected; [`Peer::send`]);
//! * send **requests** and collect their replies ([`Peer::request`]): a
//!   transaction id from [`Transactions`] goes in `Subject` (`s`); partial
//!   and final replies are matched by the id and checked against the
//!   python-sts sequence marks (`<id>r<n>`, `<id>R`, `<id>R<n>`); when no
//!   final reply comes within the timeout (30 s by default, the spec's
//!   "generally after 30 seconds") a [`ReplyItem::Timeout`] is synthesized
//!   and later replies are dropped silently;
//! * **receive** requests and messages ([`PeerEvent::Request`]) and answer
//!   a request through its [`Responder`] (partial replies, a final reply
//!   or an error reply);
//! * **fragments**: a body larger than
//!   [`PeerConfig::fragment_size`] is sent as several messages with
//!   `Content-Range: bytes START-END/TOTAL`, grouped by transaction id or,
//!   for a simple message, by an `X-Sequence` (`q`) number; incoming
//!   fragments are reassembled in any order ([`Reassembler`]) and delivered
//!   once;
//! * **keep-alive**: with [`PeerConfig::ping_interval`] (the client's
//!   default, python-sts's `AUTO_PING_SECONDS` = 5 s) a `P /Sts/Ping`
//!   goes out after that long without sending anything; incoming pings
//!   are swallowed. With [`PeerConfig::idle_timeout`] (the server's) a
//!   connection on which nothing arrived for that long is closed.
//!
//! # Threads
//!
//! The connection's reader thread parses, routes replies to their
//! requesters (through per-request queues: it never blocks on them) and calls the
//! peer's event callback; the shared timer thread handles deadlines. The
//! callback must not block; a [`Responder`] may be moved to another thread
//! and answer from there.
//!
//! # Errors on the wire
//!
//! A malformed message ends the connection (the stream cannot be trusted
//! after it, as python-sts also decides), except a body over the limit,
//! which is skipped and reported. A fragment error drops only its group.
//! Both are reported as [`PeerEvent::ProtocolError`] first.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::TcpStream;
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex};

use super::error::{ErrorReply, BAD_SERVER_DATA, PENDING};
use super::fragment::{self, ContentRange, FragmentKey, Reassembler, ReassemblerConfig};
use super::header::Headers;
use super::message::{EncodeOptions, Message, StartLine};
use super::parser::{ParseError, Parser, ParserConfig};
use super::subject::{parse_request_id, ReplyMark, ReplySubject};
use super::transaction::{ReplyOutcome, TransactionConfig, Transactions};
use crate::net::{self, Connection, DetachError, Incoming, Sender, Stream, Timer, TimerHandle};

/// Tunables of one connection.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Send a ping after this long without sending anything. The client's
    /// default is 5 s (python-sts); servers leave it off.
    pub ping_interval: Option<Duration>,
    /// Close the connection when nothing arrived for this long (pings
    /// count). Off for clients; servers set it.
    pub idle_timeout: Option<Duration>,
    /// How long a request waits for its next reply before it times out.
    /// Default 30 s (the spec).
    pub request_timeout: Duration,
    /// Limits on incoming messages (32 KiB of headers, 64 KiB of body).
    pub parser: ParserConfig,
    /// How messages are written (compact names by default).
    pub encode: EncodeOptions,
    /// Limits on fragmented content being reassembled (64 MiB per
    /// message, in each direction).
    pub fragments: ReassemblerConfig,
    /// Bodies larger than this go out as fragments of this size. Default
    /// 64 KiB, the largest body a peer must accept in one message.
    pub fragment_size: usize,
    /// The engine's connection tunables.
    pub connection: net::Config,
    /// The timer thread serving this connection's deadlines (pings, idle
    /// checks, request timeouts). `None`, the default, uses the
    /// process-wide [`Timer::shared`], whose thread never stops; a binding
    /// that must leave no thread behind (the C library, checked under
    /// valgrind) passes a timer of its own.
    pub timer: Option<Timer>,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            ping_interval: None,
            idle_timeout: None,
            request_timeout: Duration::from_secs(30),
            parser: ParserConfig::default(),
            encode: EncodeOptions::default(),
            fragments: ReassemblerConfig::default(),
            fragment_size: 64 * 1024,
            connection: net::Config::default(),
            timer: None,
        }
    }
}

/// What a peer's callback receives, on the reader thread.
#[derive(Debug)]
#[non_exhaustive]
pub enum PeerEvent {
    /// A request (with a transaction id: answer it through `responder`)
    /// or a simple message (`responder` is `None`), fragments already
    /// reassembled. Pings are not reported.
    Request {
        /// The message; for fragmented content, the headers of the last
        /// fragment (without `Content-Range`) and the whole body.
        message: Message,
        /// For a request expecting replies.
        responder: Option<Responder>,
    },
    /// Something the peer sent was refused: a malformed message (the
    /// connection closes after this), a body over the limit (skipped) or
    /// a bad fragment (its group dropped).
    ProtocolError(String),
    /// The connection ended; the last event. `None`: a clean end (the
    /// peer closed, or this side closed or detached).
    Closed(Option<CloseReason>),
}

/// Why a connection ended other than cleanly.
#[derive(Debug)]
#[non_exhaustive]
pub enum CloseReason {
    /// An I/O error.
    Io(io::Error),
    /// The peer sent something that is not STS/1.0.
    Protocol(ParseError),
    /// Nothing arrived within [`PeerConfig::idle_timeout`].
    Idle,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::Io(e) => write!(f, "I/O error: {e}"),
            CloseReason::Protocol(e) => write!(f, "protocol error: {e}"),
            CloseReason::Idle => f.write_str("idle for too long"),
        }
    }
}

/// One step of a request's outcome, in order; the last is a final
/// [`Reply`](ReplyItem::Reply), an [`Error`](ReplyItem::Error), a
/// [`Timeout`](ReplyItem::Timeout) or a [`Failed`](ReplyItem::Failed).
#[derive(Debug)]
#[non_exhaustive]
pub enum ReplyItem {
    /// A reply with a status below 400 (fragments reassembled).
    Reply {
        /// The reply; `body` is the whole content.
        message: Message,
        /// The final reply (`R`): nothing follows.
        is_final: bool,
    },
    /// An error reply (status 400 or above), which ends the transaction.
    Error {
        /// The status code.
        status: u16,
        /// The `<Error .../>` body (attributes missing read as 0).
        error: ErrorReply,
        /// The reply itself.
        message: Message,
    },
    /// No reply within the timeout (synthesized; later replies dropped).
    Timeout,
    /// The transaction broke: replies out of sequence, a bad fragment, a
    /// malformed error body, or the connection closing.
    Failed(String),
}

impl ReplyItem {
    /// Whether this is the transaction's last item.
    pub fn is_last(&self) -> bool {
        !matches!(
            self,
            ReplyItem::Reply {
                is_final: false,
                ..
            }
        )
    }
}

/// Why a message could not be sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    /// The message cannot be written as given.
    #[error("invalid message: {0}")]
    Invalid(String),
    /// The connection is closed.
    #[error("the connection is closed")]
    Closed,
    /// Every transaction id is in use.
    #[error("too many transactions in flight")]
    TooManyTransactions,
    /// The request was already answered with a final reply.
    #[error("the request was already answered")]
    Answered,
    /// The connection could not be set up.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// Where the reader leaves a request's replies for its [`Replies`]: one
/// small allocation per request (a channel would cost far more for the
/// usual single reply).
#[derive(Debug, Default)]
struct ReplySlot {
    items: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    items: std::collections::VecDeque<ReplyItem>,
    /// The peer dropped its end: nothing more will come.
    closed: bool,
}

/// The reader's end of a [`ReplySlot`].
#[derive(Debug)]
struct SlotSender(Arc<ReplySlot>);

impl SlotSender {
    fn send(&self, item: ReplyItem) {
        self.0.items.lock().items.push_back(item);
        self.0.ready.notify_one();
    }
}

impl Drop for SlotSender {
    fn drop(&mut self) {
        self.0.items.lock().closed = true;
        self.0.ready.notify_one();
    }
}

/// A reply callback of [`Peer::request_with`].
type ReplyCallback = Arc<Mutex<Box<dyn FnMut(ReplyItem) + Send>>>;

/// Reply callbacks waiting to run, in order, outside the state lock.
#[derive(Default)]
struct CallQueue {
    queue: Mutex<std::collections::VecDeque<(ReplyCallback, ReplyItem)>>,
    /// Held by the thread running callbacks (keeps them in order).
    running: Mutex<()>,
}

impl CallQueue {
    /// Runs what is queued, unless another thread is doing so (it will
    /// also run what was queued here).
    fn run(&self) {
        loop {
            let Some(guard) = self.running.try_lock() else {
                return;
            };
            loop {
                let next = self.queue.lock().pop_front();
                let Some((cb, item)) = next else { break };
                (cb.lock())(item);
            }
            drop(guard);
            if self.queue.lock().is_empty() {
                return;
            }
        }
    }
}

/// Where a request's replies go: a [`Replies`] iterator, or a callback.
enum Waiter {
    Slot(SlotSender),
    Callback(ReplyCallback, Arc<CallQueue>),
}

impl Waiter {
    fn send(&self, item: ReplyItem) {
        match self {
            Waiter::Slot(s) => s.send(item),
            Waiter::Callback(cb, calls) => calls.queue.lock().push_back((cb.clone(), item)),
        }
    }
}

/// The replies of one request, as they arrive: an iterator that blocks for
/// the next one and ends after the last (see [`ReplyItem::is_last`]).
#[derive(Debug)]
pub struct Replies {
    id: u64,
    slot: Arc<ReplySlot>,
    done: bool,
}

impl Replies {
    /// The request's transaction id.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl Iterator for Replies {
    type Item = ReplyItem;

    fn next(&mut self) -> Option<ReplyItem> {
        if self.done {
            return None;
        }
        // The peer always sends a last item (the timeout at the latest);
        // a closed slot means the peer itself is gone.
        let item = {
            let mut st = self.slot.items.lock();
            loop {
                if let Some(item) = st.items.pop_front() {
                    break item;
                }
                if st.closed {
                    break ReplyItem::Failed("the connection is closed".into());
                }
                self.slot.ready.wait(&mut st);
            }
        };
        self.done = item.is_last();
        Some(item)
    }
}

/// Answers one incoming request: any number of partial replies, then one
/// final reply or error reply. Cheap to clone; may be used from any
/// thread. Dropping every clone without a final reply leaves the
/// requester to its timeout.
#[derive(Debug, Clone)]
pub struct Responder {
    peer: Weak<Inner>,
    id: u64,
    /// Reply numbers used so far, and whether the final one went out.
    state: Arc<Mutex<(u64, bool)>>,
}

impl Responder {
    /// The request's transaction id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Sends a partial reply (status 200, `s: <id>r<n>`).
    pub fn partial(&self, headers: Headers, body: impl Into<Bytes>) -> Result<(), PeerError> {
        self.send(200, "OK", headers, body.into(), false)
    }

    /// Sends the final reply (status 200; `s: <id>R`, or `<id>R<n>` after
    /// partial replies).
    pub fn reply(&self, headers: Headers, body: impl Into<Bytes>) -> Result<(), PeerError> {
        self.send(200, "OK", headers, body.into(), true)
    }

    /// Sends a final reply with any status and reason.
    pub fn reply_with_status(
        &self,
        status: u16,
        reason: &str,
        headers: Headers,
        body: impl Into<Bytes>,
    ) -> Result<(), PeerError> {
        self.send(status, reason, headers, body.into(), true)
    }

    /// Sends a final error reply: `status` (400 or above) with the
    /// `<Error .../>` body.
    pub fn error(&self, status: u16, reason: &str, error: &ErrorReply) -> Result<(), PeerError> {
        if status < 400 {
            return Err(PeerError::Invalid(format!(
                "an error reply needs a status of 400 or more, not {status}"
            )));
        }
        self.send(
            status,
            reason,
            Headers::new(),
            Bytes::from(error.to_xml()),
            true,
        )
    }

    /// Whether the final reply went out.
    pub fn is_answered(&self) -> bool {
        self.state.lock().1
    }

    fn send(
        &self,
        status: u16,
        reason: &str,
        headers: Headers,
        body: Bytes,
        last: bool,
    ) -> Result<(), PeerError> {
        let peer = self.peer.upgrade().ok_or(PeerError::Closed)?;
        let mut st = self.state.lock();
        if st.1 {
            return Err(PeerError::Answered);
        }
        let mut message = Message::status(status, reason);
        message.headers = headers;
        message.body = body;
        // Each fragment takes a reply number of its own.
        let pieces = peer.pieces(&message);
        let first = st.0;
        let count = pieces.len() as u64;
        let mut out = Vec::with_capacity(pieces.len());
        for (i, (range, body)) in pieces.into_iter().enumerate() {
            let n = first + 1 + i as u64;
            let is_last_piece = i as u64 + 1 == count;
            let mark = if last && is_last_piece {
                // A sole final reply is `R`; after any other it is `R<n>`.
                if n == 1 {
                    ReplyMark::Final(None)
                } else {
                    ReplyMark::Final(Some(n))
                }
            } else {
                ReplyMark::Partial(n)
            };
            message
                .headers
                .set("Subject", ReplySubject { id: self.id, mark }.to_string());
            out.extend(match range {
                None => peer.encode(&message)?,
                Some(range) => peer.encode_fragment(&message, range, body)?,
            });
        }
        peer.send_encoded(out)?;
        st.0 = first + count;
        st.1 = last;
        Ok(())
    }
}

type Callback = Box<dyn FnMut(PeerEvent) + Send>;

struct State {
    parser: Parser,
    /// Fragments of incoming requests and messages.
    incoming: Reassembler,
    /// Fragments of replies to our requests.
    replies: Reassembler,
    transactions: Transactions,
    /// Where each transaction's replies go.
    waiters: HashMap<u64, Waiter>,
    last_sent: Instant,
    last_received: Instant,
    armed: Option<(Instant, TimerHandle)>,
    closed: bool,
}

/// The reader thread writes what it gathered once this many messages
/// are waiting (the engine's most buffers per vectored write).
const BATCH_MESSAGES: usize = 64;

struct Inner {
    state: Mutex<State>,
    callback: Mutex<Option<Callback>>,
    /// Queues for the writer thread, which coalesces what application
    /// threads send in bursts.
    sender: OnceLock<Sender>,
    /// Writes at once while the socket takes it: for replies made on the
    /// reader thread (handlers), which would otherwise wake the writer for
    /// each.
    direct: OnceLock<Sender>,
    /// While the reader thread handles one read: what it sends, written
    /// at the end in one vectored write (see [`Inner::on_incoming`]).
    batch: Mutex<Option<VecDeque<Bytes>>>,
    /// Reply callbacks to run once the state is unlocked.
    calls: Arc<CallQueue>,
    /// The connection's reader thread, known from its first call.
    reader: OnceLock<std::thread::ThreadId>,
    conn: OnceLock<Connection>,
    /// Counts this session as open in the status counters.
    _session: crate::net::stats::Open,
    timer: Timer,
    config: PeerConfig,
}

/// One STS connection; see the [module docs](self). Cheap to clone.
/// Dropping the last clone aborts the connection (close it first to let
/// queued messages out).
#[derive(Clone)]
pub struct Peer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl Peer {
    /// Starts driving `stream`; `callback` receives every [`PeerEvent`].
    pub fn start<F>(stream: impl Into<Stream>, config: PeerConfig, callback: F) -> io::Result<Peer>
    where
        F: FnMut(PeerEvent) + Send + 'static,
    {
        let now = Instant::now();
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                parser: Parser::with_config(config.parser.clone()),
                incoming: Reassembler::new(config.fragments.clone()),
                replies: Reassembler::new(config.fragments.clone()),
                transactions: Transactions::new(TransactionConfig {
                    timeout: config.request_timeout,
                }),
                waiters: HashMap::new(),
                last_sent: now,
                last_received: now,
                armed: None,
                closed: false,
            }),
            callback: Mutex::new(Some(Box::new(callback))),
            sender: OnceLock::new(),
            direct: OnceLock::new(),
            batch: Mutex::new(None),
            calls: Arc::new(CallQueue::default()),
            reader: OnceLock::new(),
            conn: OnceLock::new(),
            _session: crate::net::stats::counters(crate::net::stats::Protocol::Sts).open_session(),
            timer: match &config.timer {
                Some(t) => t.clone(),
                None => Timer::shared()?,
            },
            config,
        });
        let weak = Arc::downgrade(&inner);
        let mut connection = inner.config.connection.clone();
        connection
            .protocol
            .get_or_insert(crate::net::stats::Protocol::Sts);
        let conn = Connection::spawn_with(stream, connection, move |ev, _| {
            if let Some(inner) = weak.upgrade() {
                inner.on_incoming(ev);
            }
        })?;
        let _ = inner.sender.set(conn.sender());
        let _ = inner.direct.set(conn.direct_sender());
        let _ = inner.conn.set(conn);
        inner.rearm(&mut inner.state.lock());
        Ok(Peer { inner })
    }

    /// Sends a simple message: no reply is expected. A body larger than
    /// [`PeerConfig::fragment_size`] goes out as fragments grouped by an
    /// `X-Sequence` number (the caller's, if the message has one).
    pub fn send(&self, message: Message) -> Result<(), PeerError> {
        let out = self.inner.encode_simple(message)?;
        self.inner.send_encoded(out)
    }

    /// Sends a request and returns its replies as they come. `timeout`
    /// replaces [`PeerConfig::request_timeout`] for this request: the time
    /// allowed for each next reply.
    pub fn request(
        &self,
        message: Message,
        timeout: Option<Duration>,
    ) -> Result<Replies, PeerError> {
        let slot = Arc::new(ReplySlot::default());
        let id = self.start_request(message, timeout, Waiter::Slot(SlotSender(slot.clone())))?;
        Ok(Replies {
            id,
            slot,
            done: false,
        })
    }

    /// Sends a request whose replies go to `on_reply`, in order, the last
    /// one being [`ReplyItem::is_last`]; returns its transaction id. The
    /// callback runs on the connection's reader thread or the timer thread
    /// (never two at once) and must not block; it is dropped after its
    /// last item. Nothing is called when sending fails.
    pub fn request_with<F>(
        &self,
        message: Message,
        timeout: Option<Duration>,
        on_reply: F,
    ) -> Result<u64, PeerError>
    where
        F: FnMut(ReplyItem) + Send + 'static,
    {
        let cb: ReplyCallback = Arc::new(Mutex::new(Box::new(on_reply)));
        self.start_request(
            message,
            timeout,
            Waiter::Callback(cb, self.inner.calls.clone()),
        )
    }

    fn start_request(
        &self,
        message: Message,
        timeout: Option<Duration>,
        tx: Waiter,
    ) -> Result<u64, PeerError> {
        let mut message = message;
        let id = {
            let mut st = self.inner.state.lock();
            if st.closed {
                return Err(PeerError::Closed);
            }
            let now = Instant::now();
            let id = match timeout {
                Some(t) => st.transactions.begin_with_timeout(now, t),
                None => st.transactions.begin(now),
            }
            .map_err(|_| PeerError::TooManyTransactions)?;
            st.waiters.insert(id, tx);
            self.inner.rearm(&mut st);
            id
        };
        message.headers.set("Subject", id.to_string());
        let pieces = self.inner.pieces(&message);
        let sent = self
            .inner
            .encode_pieces(&message, pieces)
            .and_then(|out| self.inner.send_encoded(out));
        if let Err(e) = sent {
            let mut st = self.inner.state.lock();
            st.transactions.cancel(id);
            st.waiters.remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    /// Stops waiting for the replies of `id` (they are dropped when they
    /// come); its [`Replies`] ends with [`ReplyItem::Failed`].
    pub fn cancel(&self, id: u64) -> bool {
        let known = {
            let mut st = self.inner.state.lock();
            let known = st.transactions.cancel(id);
            if let Some(tx) = st.waiters.remove(&id) {
                tx.send(ReplyItem::Failed("cancelled".into()));
            }
            known
        };
        self.inner.calls.run();
        known
    }

    /// Waits for a reply callback running on another thread (see
    /// [`request_with`](Self::request_with)) to return, then runs any still
    /// queued. After [`close`](Self::close) this means no callback of the
    /// peer is running or will run.
    pub fn finish_callbacks(&self) {
        drop(self.inner.calls.running.lock());
        self.inner.calls.run();
    }

    /// Requests waiting for replies.
    pub fn in_flight(&self) -> usize {
        self.inner.state.lock().transactions.in_flight()
    }

    /// Whether the connection has ended (or is ending).
    pub fn is_closed(&self) -> bool {
        self.inner.state.lock().closed || self.inner.sender.get().is_none_or(|s| s.is_closed())
    }

    /// Closes gracefully: what is queued goes out, then the connection
    /// ends (requests in flight fail). Returns when both threads are done.
    pub fn close(&self) {
        // From a handler: what it sent before closing goes out first.
        self.inner.flush_on_reader();
        if let Some(c) = self.inner.conn.get() {
            let _ = c.close();
        }
    }

    /// Stops the threads and hands a plain TCP socket back (see
    /// [`Connection::detach`]; needs [`net::Config::detach_poll`]).
    /// Requests in flight fail.
    pub fn detach(&self) -> Result<TcpStream, DetachError> {
        self.inner.flush_on_reader();
        match self.inner.conn.get() {
            Some(c) => c.detach(),
            None => Err(DetachError::Closed),
        }
    }

    /// Encodes `message` once for sending to many peers with
    /// [`send_encoded`](Self::send_encoded) (the spec's multi-destination
    /// messages): no Subject, fragments as for [`send`](Self::send).
    pub fn encode_message(&self, message: &Message) -> Result<Vec<Bytes>, PeerError> {
        self.inner.encode_simple(message.clone())
    }

    /// Sends messages encoded by [`encode_message`](Self::encode_message)
    /// (shared buffers: nothing is copied per peer).
    pub fn send_encoded(&self, messages: Vec<Bytes>) -> Result<(), PeerError> {
        self.inner.send_encoded(messages)
    }
}

impl Inner {
    /// `message`'s body cut for sending: one piece without a range (the
    /// encoder adds an XML body's trailing LF), or fragments of the whole
    /// content, that LF included (fragments themselves get none).
    fn pieces(&self, message: &Message) -> Vec<(Option<ContentRange>, Bytes)> {
        let limit = self.config.fragment_size.max(1);
        let body = &message.body;
        let add_lf = self.config.encode.xml_trailing_lf
            && message.headers.is_xml()
            && !body.ends_with(b"\n");
        if body.len() + usize::from(add_lf) <= limit {
            return vec![(None, body.clone())];
        }
        let whole = if add_lf {
            let mut b = Vec::with_capacity(body.len() + 1);
            b.extend_from_slice(body);
            b.push(b'\n');
            Bytes::from(b)
        } else {
            body.clone()
        };
        fragment::split(&whole, limit)
            .into_iter()
            .map(|(r, b)| (Some(r), b))
            .collect()
    }

    fn encode(&self, message: &Message) -> Result<Vec<Bytes>, PeerError> {
        message
            .encode_parts(&self.config.encode)
            .map_err(|e| PeerError::Invalid(e.to_string()))
    }

    /// One fragment: its body is a slice of content already complete.
    fn encode_fragment(
        &self,
        message: &Message,
        range: ContentRange,
        body: Bytes,
    ) -> Result<Vec<Bytes>, PeerError> {
        let mut m = message.clone();
        m.headers.set("Content-Range", range.to_string());
        m.body = body;
        let options = EncodeOptions {
            xml_trailing_lf: false,
            ..self.config.encode.clone()
        };
        m.encode_parts(&options)
            .map_err(|e| PeerError::Invalid(e.to_string()))
    }

    /// A simple message (no Subject), fragmented when large; fragments
    /// are grouped by the message's own `X-Sequence` or a new one.
    fn encode_simple(&self, mut message: Message) -> Result<Vec<Bytes>, PeerError> {
        message.headers.remove("Subject");
        let pieces = self.pieces(&message);
        if pieces.len() > 1 && message.headers.sequence().is_none() {
            message
                .headers
                .set("X-Sequence", next_sequence().to_string());
        }
        self.encode_pieces(&message, pieces)
    }

    fn encode_pieces(
        &self,
        message: &Message,
        pieces: Vec<(Option<ContentRange>, Bytes)>,
    ) -> Result<Vec<Bytes>, PeerError> {
        let mut out = Vec::with_capacity(pieces.len());
        for (range, body) in pieces {
            out.extend(match range {
                None => self.encode(message)?,
                Some(range) => self.encode_fragment(message, range, body)?,
            });
        }
        Ok(out)
    }

    /// Whether the caller is this connection's reader thread.
    fn on_reader(&self) -> bool {
        self.reader.get() == Some(&std::thread::current().id())
    }

    fn send_encoded(&self, messages: Vec<Bytes>) -> Result<(), PeerError> {
        let on_reader = self.on_reader();
        if on_reader {
            let mut batch = self.batch.lock();
            if let Some(queue) = batch.as_mut() {
                queue.extend(messages);
                let full = queue.len() >= BATCH_MESSAGES;
                drop(batch);
                if full {
                    self.flush_batch(false);
                }
                self.state.lock().last_sent = Instant::now();
                return Ok(());
            }
        }
        let sender = if on_reader {
            self.direct.get()
        } else {
            self.sender.get()
        }
        .ok_or(PeerError::Closed)?;
        for m in messages {
            sender.send(m).map_err(|_| PeerError::Closed)?;
        }
        self.state.lock().last_sent = Instant::now();
        Ok(())
    }

    /// On the reader thread, writes what it gathered so far (before the
    /// connection closes from a handler).
    fn flush_on_reader(&self) {
        if self.on_reader() {
            self.flush_batch(false);
        }
    }

    /// Writes what the reader thread gathered; `last` ends the gathering.
    fn flush_batch(&self, last: bool) {
        let mut queue = {
            let mut batch = self.batch.lock();
            if last {
                batch.take().unwrap_or_default()
            } else {
                batch.as_mut().map(std::mem::take).unwrap_or_default()
            }
        };
        if queue.is_empty() {
            return;
        }
        if let Some(direct) = self.direct.get() {
            // A refusal means the connection is closing: those messages
            // are lost with it, as they would be if sent one by one.
            let _ = direct.send_all(&mut queue);
        }
    }

    /// Handles one read on the reader thread. Whatever the handlers send
    /// meanwhile (replies, mostly) is gathered and written at the end in
    /// one vectored write, instead of one system call per reply: a
    /// client with 64 requests in flight gets its 64 replies in one or two
    /// writes. The order of the reader thread's own messages is kept;
    /// there was never an order between them and other threads' sends.
    fn on_incoming(self: &Arc<Self>, ev: Incoming<'_>) {
        let _ = self.reader.set(std::thread::current().id());
        *self.batch.lock() = Some(VecDeque::new());
        struct Flush<'a>(&'a Inner);
        impl Drop for Flush<'_> {
            fn drop(&mut self) {
                self.0.flush_batch(true);
            }
        }
        let _flush = Flush(self);
        let mut events = Vec::new();
        let mut fatal = None;
        {
            let mut st = self.state.lock();
            match ev {
                Incoming::Data(data) => {
                    st.last_received = Instant::now();
                    st.parser.push(data);
                    loop {
                        match st.parser.next_message() {
                            Ok(Some(m)) => self.route(&mut st, m, &mut events),
                            Ok(None) => break,
                            Err(e) if !e.is_fatal() => {
                                events.push(PeerEvent::ProtocolError(e.to_string()));
                            }
                            Err(e) => {
                                events.push(PeerEvent::ProtocolError(e.to_string()));
                                fatal = Some(e);
                                break;
                            }
                        }
                    }
                }
                Incoming::Closed(err) => {
                    self.end(&mut st);
                    events.push(PeerEvent::Closed(err.map(CloseReason::Io)));
                }
            }
            if fatal.is_some() {
                self.end(&mut st);
            }
        }
        self.calls.run();
        if let Some(e) = fatal {
            events.push(PeerEvent::Closed(Some(CloseReason::Protocol(e))));
            self.deliver(events);
            self.flush_batch(false);
            if let Some(c) = self.conn.get() {
                // On the reader thread: stop the stream, and leave the
                // joining to whoever drops or closes the connection.
                c.abort_stream();
            }
            return;
        }
        self.deliver(events);
    }

    /// Hands events to the callback (on the reader or timer thread; the
    /// lock keeps them in order). After `Closed` the callback is dropped.
    fn deliver(&self, events: Vec<PeerEvent>) {
        if events.is_empty() {
            return;
        }
        let mut slot = self.callback.lock();
        for ev in events {
            let last = matches!(ev, PeerEvent::Closed(_));
            if let Some(cb) = slot.as_mut() {
                cb(ev);
            }
            if last {
                let cb = slot.take();
                drop(slot);
                drop(cb);
                return;
            }
        }
    }

    /// The connection is gone: every request in flight fails.
    fn end(&self, st: &mut State) {
        if st.closed {
            return;
        }
        st.closed = true;
        for (_, tx) in st.waiters.drain() {
            tx.send(ReplyItem::Failed("the connection closed".into()));
        }
        if let Some((_, h)) = st.armed.take() {
            h.cancel();
        }
    }

    fn route(self: &Arc<Self>, st: &mut State, m: Message, events: &mut Vec<PeerEvent>) {
        match &m.start {
            StartLine::Status { .. } => self.on_reply(st, m),
            StartLine::Request { .. } => {
                if is_ping(&m) {
                    return;
                }
                let id = parse_request_id(m.headers.subject());
                let Some(message) = self.reassemble_request(st, m, id, events) else {
                    return;
                };
                let responder = id.map(|id| Responder {
                    peer: Arc::downgrade(self),
                    id,
                    state: Arc::new(Mutex::new((0, false))),
                });
                events.push(PeerEvent::Request { message, responder });
            }
        }
    }

    /// A request or message, or `None` while its fragments are incomplete.
    fn reassemble_request(
        &self,
        st: &mut State,
        mut m: Message,
        id: Option<u64>,
        events: &mut Vec<PeerEvent>,
    ) -> Option<Message> {
        let Some(raw) = m.headers.content_range_raw().map(str::to_string) else {
            return Some(m);
        };
        let key = match (id, m.headers.sequence()) {
            (Some(id), _) => FragmentKey::Transaction(id),
            (None, Some(seq)) => FragmentKey::Sequence(seq.to_string()),
            (None, None) => {
                events.push(PeerEvent::ProtocolError(
                    "a fragment without Subject or X-Sequence cannot be grouped".into(),
                ));
                return None;
            }
        };
        let range = match ContentRange::parse(&raw) {
            Ok(r) => r,
            Err(e) => {
                events.push(PeerEvent::ProtocolError(format!("bad Content-Range: {e}")));
                st.incoming.discard(&key);
                return None;
            }
        };
        match st.incoming.add(key, range, &m.body) {
            Ok(Some(done)) => {
                m.headers.remove("Content-Range");
                m.body = done.content;
                Some(m)
            }
            Ok(None) => None,
            Err(e) => {
                events.push(PeerEvent::ProtocolError(format!("fragment refused: {e}")));
                None
            }
        }
    }

    fn on_reply(self: &Arc<Self>, st: &mut State, mut m: Message) {
        let Some(subject) = m.headers.subject().map(str::to_string) else {
            // Not matchable to anything: dropped, as the spec asks for
            // replies nobody waits for.
            return;
        };
        let now = Instant::now();
        let outcome = st.transactions.on_reply(&subject, now);
        let (id, is_final) = match outcome {
            ReplyOutcome::Accepted { id, is_final } => (id, is_final),
            ReplyOutcome::Failed { id, error } => {
                st.replies.discard(&FragmentKey::Transaction(id));
                if let Some(tx) = st.waiters.remove(&id) {
                    tx.send(ReplyItem::Failed(format!("bad reply: {error}")));
                }
                self.rearm(st);
                return;
            }
            // Late (timed out, cancelled), unknown or unreadable: dropped
            // silently.
            _ => return,
        };
        // Fragments: each carries its own reply number; the content is
        // delivered once whole.
        if let Some(raw) = m.headers.content_range_raw().map(str::to_string) {
            let key = FragmentKey::Transaction(id);
            let added = ContentRange::parse(&raw)
                .map_err(|e| e.to_string())
                .and_then(|range| {
                    st.replies
                        .add(key.clone(), range, &m.body)
                        .map_err(|e| e.to_string())
                });
            match added {
                Ok(Some(done)) => {
                    m.headers.remove("Content-Range");
                    m.body = done.content;
                }
                Ok(None) if !is_final => {
                    self.rearm(st);
                    return;
                }
                Ok(None) => {
                    let missing = st
                        .replies
                        .finish(&key)
                        .err()
                        .map_or_else(|| "incomplete".to_string(), |e| e.to_string());
                    self.fail(st, id, is_final, format!("fragmented reply: {missing}"));
                    return;
                }
                Err(e) => {
                    self.fail(st, id, is_final, format!("fragmented reply: {e}"));
                    return;
                }
            }
        }
        let item = match m.start {
            StartLine::Status { code, .. } if code >= 400 => match ErrorReply::parse(&m.body) {
                Ok(error) if error.code == PENDING => ReplyItem::Failed(format!(
                    "bad server data ({BAD_SERVER_DATA}): an error reply with code PENDING"
                )),
                Ok(error) => ReplyItem::Error {
                    status: code,
                    error,
                    message: m,
                },
                Err(e) => ReplyItem::Failed(format!(
                    "bad server data ({BAD_SERVER_DATA}): error reply body: {e}"
                )),
            },
            _ => ReplyItem::Reply {
                message: m,
                is_final,
            },
        };
        let last = item.is_last();
        if last && !is_final {
            // An error reply that was only partial still ends it.
            st.transactions.cancel(id);
        }
        if let Some(tx) = st.waiters.get(&id) {
            tx.send(item);
        }
        if last {
            st.waiters.remove(&id);
        }
        self.rearm(st);
    }

    fn fail(self: &Arc<Self>, st: &mut State, id: u64, already_removed: bool, why: String) {
        if !already_removed {
            st.transactions.cancel(id);
        }
        st.replies.discard(&FragmentKey::Transaction(id));
        if let Some(tx) = st.waiters.remove(&id) {
            tx.send(ReplyItem::Failed(why));
        }
        self.rearm(st);
    }

    /// The next thing the timer must do: a request deadline, a ping or
    /// the idle check, whichever comes first.
    fn next_deadline(&self, st: &State) -> Option<Instant> {
        let ping = self.config.ping_interval.map(|i| st.last_sent + i);
        let idle = self.config.idle_timeout.map(|i| st.last_received + i);
        [st.transactions.poll_timeout(), ping, idle]
            .into_iter()
            .flatten()
            .min()
    }

    fn rearm(self: &Arc<Self>, st: &mut State) {
        if st.closed {
            return;
        }
        let Some(at) = self.next_deadline(st) else {
            if let Some((_, h)) = st.armed.take() {
                h.cancel();
            }
            return;
        };
        if let Some((armed_at, _)) = &st.armed {
            if *armed_at <= at {
                // The armed entry fires first; it re-arms when it does.
                return;
            }
        }
        if let Some((_, h)) = st.armed.take() {
            h.cancel();
        }
        let weak = Arc::downgrade(self);
        let handle = self.timer.schedule(at, move || {
            if let Some(inner) = weak.upgrade() {
                inner.on_timer(at);
            }
        });
        st.armed = Some((at, handle));
    }

    fn on_timer(self: &Arc<Self>, at: Instant) {
        let now = Instant::now();
        let mut ping = false;
        let mut idle = false;
        {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            if st.armed.as_ref().is_some_and(|(a, _)| *a == at) {
                st.armed = None;
            }
            for id in st.transactions.handle_timeout(now) {
                st.replies.discard(&FragmentKey::Transaction(id));
                if let Some(tx) = st.waiters.remove(&id) {
                    tx.send(ReplyItem::Timeout);
                }
            }
            if let Some(i) = self.config.idle_timeout {
                idle = now.duration_since(st.last_received) >= i;
            }
            if let Some(i) = self.config.ping_interval {
                ping = !idle && now.duration_since(st.last_sent) >= i;
            }
            if idle {
                self.end(&mut st);
            } else {
                self.rearm(&mut st);
            }
        }
        self.calls.run();
        if idle {
            self.deliver(vec![PeerEvent::Closed(Some(CloseReason::Idle))]);
            if let Some(c) = self.conn.get() {
                c.abort();
            }
            return;
        }
        if ping {
            let mut m = Message::request("Sts", "Ping");
            m.body = Bytes::new();
            if let Ok(parts) = self.encode(&m) {
                if let Some(s) = self.sender.get() {
                    // Never block the timer thread: a full queue means the
                    // connection is busy, which keeps it alive anyway.
                    for p in parts {
                        let _ = s.try_send(p);
                    }
                }
                let mut st = self.state.lock();
                st.last_sent = Instant::now();
                self.rearm(&mut st);
            }
        }
    }
}

/// A new `X-Sequence` number. Process-wide, so that a message encoded once
/// for many peers ([`Peer::encode_message`]) never shares its number with
/// one a peer numbers itself, whose fragments may interleave with it.
fn next_sequence() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A keep-alive: `/Sts/Ping` without a transaction id.
fn is_ping(m: &Message) -> bool {
    m.start.protocol_command() == Some(("Sts", "Ping")) && m.headers.subject().is_none()
}
