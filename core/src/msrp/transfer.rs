//! Large messages and file transfer in the sans-IO session (RFC 4975 §5.1,
//! §7.1): chunked sending with interleaving and back-pressure, and
//! whole-message reassembly on receipt.
//!
//! # Sending
//!
//! [`Session::send_message`](super::session::Session::send_message) queues an
//! [`OutgoingMessage`]: extra headers, an optional Message-ID, the total
//! size (or `None` when unknown), a resume position and a [`BodySource`].
//! The session reads the source only for the bytes it is about to hand to
//! the driver, so a 4 GiB file never sits in memory.
//!
//! * **Chunks.** Every chunk is a new SEND transaction carrying To-Path,
//!   From-Path, `Byte-Range: start-*/total` (`*` total when the size is
//!   unknown), Message-ID and the message's own headers; its end-line flag
//!   is `+` when more chunks follow, `$` for the last and `#` for an
//!   abandoned message. A chunk holds at most
//!   [`SessionConfig::chunk_size`](super::session::SessionConfig::chunk_size)
//!   body bytes (default 64 KiB: per-chunk headers and response stay under
//!   1 % of the traffic, progress is reported often enough for a UI, and
//!   receivers that collect each chunk in memory — as the legacy library
//!   does — are never asked to hold much; it is also a size many MSRP
//!   clients use).
//! * **Known end for single pieces.** The range end is written as `*` so
//!   that any chunk can be interrupted. The one exception is a chunk that
//!   finishes the message, has a known total and goes out in a single piece
//!   (so it can never be interrupted): it is written with its real end, e.g.
//!   `1-5/5` for a small message, exactly as [`Chunk`]s built by
//!   [`ChunkBuilder`](super::ChunkBuilder) look.
//! * **Pieces and interleaving.** [`poll_transmit`] returns a body in
//!   pieces of at most
//!   [`SessionConfig::piece_size`](super::session::SessionConfig::piece_size)
//!   bytes (default 64 KiB, one default chunk: see that setting for why),
//!   the first one prefixed by the
//!   chunk's start line and headers. Before every piece the session looks
//!   at its other output: when responses, REPORTs or
//!   [`send_chunk`](super::session::Session::send_chunk) requests are
//!   waiting, the open chunk is ended with `+` at once, they go out, and the
//!   message continues in a new chunk whose Byte-Range starts at the next
//!   byte. A chat message therefore waits for at most one piece. Several
//!   messages in progress take turns chunk by chunk.
//! * **Back-pressure.** The session never reads ahead: a driver calls
//!   [`poll_transmit`] (or [`poll_transmit_at`]) only when its writer can
//!   take more bytes, and writes each returned buffer completely and in
//!   order before asking for the next. [`has_transmit`] tells whether
//!   anything is ready, so a driver knows when to wake its writer. A driver
//!   that drains `poll_transmit` unconditionally still works, but then holds
//!   every message in memory.
//! * **Send window.** At most
//!   [`SessionConfig::send_window`](super::session::SessionConfig::send_window)
//!   body bytes (default 4 MiB) may be in chunks written and not yet
//!   answered; past that no new chunk starts until a 200 arrives. Without
//!   it a receiver slower than the sender (one writing to a disk) lets the
//!   kernel's socket buffers on both sides fill, and a chat message queued
//!   behind them waits for all of it to drain: 8–15 ms on loopback here,
//!   seconds on a slow link. With it the bytes ahead of a chat message are
//!   bounded by the window (2–5 ms on loopback). It also limits one
//!   transfer to `send_window` per round trip (40 MB/s at 100 ms); raise it
//!   for long fat links, or set 0 for no limit. Chunks sent with
//!   `Failure-Report: partial` or `no` expect no 200 and are not counted.
//! * **Responses.** A chunk's 200 acknowledges its bytes
//!   ([`TransferEvent::Progress`]); when the last chunk is acknowledged the
//!   message is [`TransferEvent::Completed`]. Any other response (or a
//!   local 408 after the response timeout) stops the message: a chunk of it
//!   still being written is ended with `#` at once, nothing more is sent,
//!   and [`TransferEvent::Failed`] carries the code and comment. This holds
//!   for a 413 that arrives while its chunk is still being written (RFC 4975
//!   §7.1.2). With `Failure-Report: partial` or `no` no 200 is expected: a
//!   chunk counts as acknowledged once written and the message completes
//!   when its last chunk is written (`partial` failures still stop it).
//! * **Cancel and local failures.** [`Session::cancel`] and a failing source
//!   end an open chunk with `#` before the next piece. Between chunks, when
//!   part of the message was already sent, an empty chunk with `#` tells the
//!   receiver to discard what it has; when nothing was sent, nothing goes
//!   out. The codes of local failures are [`CANCELLED`] (487),
//!   [`SOURCE_FAILED`] (500) and [`CONNECTION_CLOSED`] (408, from
//!   [`handle_close`]); a response timeout is 408 with
//!   [`TIMEOUT_COMMENT`]. Local failures
//!   have `local: true`.
//!
//! The transaction ids of chunks are random 64-bit ids; the sender does not
//! scan bodies for its own end-line, whose chance of appearing in data is
//! negligible.
//!
//! # Receiving
//!
//! By default ([`Delivery::Chunks`]) every SEND chunk is answered and handed
//! to the application on its own, as the legacy library does. With
//! [`Delivery::Messages`] the session reassembles messages by Message-ID
//! from their Byte-Ranges: chunks may come out of order and in any sizes,
//! overlap or repeat. The body streams, slice by slice as the parser yields
//! it, into memory (bounded by
//! [`SessionConfig::max_message_size`](super::session::SessionConfig::max_message_size))
//! or into a [`MessageSink`] made by the configured [`SinkFactory`]. A
//! message is complete when every byte `1..=total` arrived and its `$`
//! chunk was seen (with an unknown total, when the `$` chunk arrived and no
//! byte before it is missing). Then:
//!
//! * in memory: [`SessionEvent::Incoming`](super::session::SessionEvent::Incoming)
//!   with one [`Chunk`] holding the whole body, the headers of the chunk
//!   that arrived first, `Byte-Range: 1-N/N` and flag `$` — the same shape
//!   as a message sent in one chunk, so code written for chunks keeps
//!   working;
//! * through a sink: [`TransferEvent::MessageStored`] with those headers
//!   and the size, no body.
//!
//! A success REPORT, when asked for, is sent once for the whole message with
//! `Byte-Range: 1-N/N`. A message over the size limit is answered 413 as soon
//! as that is known — from the first chunk's total, or mid-chunk when the
//! bytes exceed it — its data is dropped and later chunks of its Message-ID
//! are answered 413 as well. A message abandoned with `#`, refused, or cut
//! off by the connection closing is dropped ([`MessageSink::abort`]) and
//! reported as [`TransferEvent::MessageAborted`].
//!
//! What incomplete messages hold is bounded, so that a peer opening
//! messages it never finishes cannot make the session hold more than one
//! largest message: at most [`MAX_PARTIAL_MESSAGES`] are reassembled at
//! once (one more pushes out the one that started first), and those kept
//! in memory hold at most `max_message_size` body bytes together. A
//! message growing past what is left pushes out the messages in memory
//! that started before it, oldest first; when that is not enough (newer
//! ones hold the rest) it is dropped itself, answered 413. A message
//! pushed out is reported with [`AbortReason::Crowded`] and its later
//! chunks are answered 413 `Too many incomplete messages`, which stops
//! the sender. SENDs without a
//! Message-ID and keep-alives are delivered per chunk in either mode. A
//! chunk arriving after its message was delivered starts a new message
//! (Message-IDs are unique per session, so this only happens with a peer
//! that reuses them).
//!
//! [`poll_transmit`]: super::session::Session::poll_transmit
//! [`poll_transmit_at`]: super::session::Session::poll_transmit_at
//! [`has_transmit`]: super::session::Session::has_transmit
//! [`Session::cancel`]: super::session::Session::cancel
//! [`handle_close`]: super::session::Session::handle_close

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::chunk::{check_header, check_known_header, Chunk, Flag, Headers};
use super::header::{names, ByteRange, FailureReport, TypedHeader};
use super::rules::random_id;
use super::session::{SessionConfig, SharedLogger, TidMap, TIMEOUT_COMMENT};

// ===== public API =====

/// Where the body of an [`OutgoingMessage`] comes from.
///
/// The session calls [`read`](Self::read) only for bytes it is about to
/// transmit, from whichever thread polls it. A source must block until data
/// is available (a `WouldBlock` error fails the message like any other).
pub trait BodySource: Send {
    /// Fills the start of `buf` with the next bytes of the body and returns
    /// how many; 0 means the body ended.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
}

/// An in-memory body.
impl BodySource for Bytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.len());
        buf[..n].copy_from_slice(&self[..n]);
        self.advance(n);
        Ok(n)
    }
}

/// A [`BodySource`] over any [`Read`] (a [`std::fs::File`], a cursor, a
/// pipe).
#[derive(Debug)]
pub struct ReadSource<R>(pub R);

impl<R: Read + Send> BodySource for ReadSource<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

/// A message to send in chunks with
/// [`Session::send_message`](super::session::Session::send_message) (the
/// legacy `OutgoingFile`).
///
/// ```
/// use msgwire::msrp::transfer::OutgoingMessage;
/// let msg = OutgoingMessage::from_bytes("hello")
///     .content_type("text/plain")
///     .header("Success-Report", "yes");
/// assert_eq!(msg.size, Some(5));
/// ```
pub struct OutgoingMessage {
    /// Headers sent with every chunk: Content-Type, Success-Report,
    /// Failure-Report, Content-Disposition, anything else. To-Path,
    /// From-Path, Byte-Range and Message-ID are written by the session and
    /// may not be given here.
    pub headers: Headers,
    /// The Message-ID; a random one when `None`.
    pub message_id: Option<String>,
    /// The size of the whole message, `None` when unknown (written `*`;
    /// the message then ends when the source does).
    pub size: Option<u64>,
    /// Bytes of the message already delivered earlier (resuming): the
    /// first chunk starts at `position + 1` and the source must already be
    /// positioned there.
    pub position: u64,
    /// The body, from `position` on.
    pub source: Box<dyn BodySource>,
}

impl OutgoingMessage {
    /// A message read from `source`, of `size` bytes (`None`: unknown).
    pub fn new(source: impl BodySource + 'static, size: Option<u64>) -> Self {
        OutgoingMessage {
            headers: Headers::new(),
            message_id: None,
            size,
            position: 0,
            source: Box::new(source),
        }
    }

    /// A message whose body is in memory.
    pub fn from_bytes(data: impl Into<Bytes>) -> Self {
        let data: Bytes = data.into();
        let size = data.len() as u64;
        OutgoingMessage::new(data, Some(size))
    }

    /// A message read from `reader` (e.g. a [`std::fs::File`]).
    pub fn from_reader(reader: impl Read + Send + 'static, size: Option<u64>) -> Self {
        OutgoingMessage::new(ReadSource(reader), size)
    }

    /// Sets the Content-Type header.
    pub fn content_type(self, content_type: &str) -> Self {
        self.header(names::CONTENT_TYPE, content_type)
    }

    /// Sets a header (replacing one of the same name).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.set(name, value);
        self
    }

    /// Sets the Message-ID.
    pub fn message_id(mut self, message_id: &str) -> Self {
        self.message_id = Some(message_id.to_string());
        self
    }

    /// Sets the resume position (see [`position`](Self::position)).
    pub fn position(mut self, position: u64) -> Self {
        self.position = position;
        self
    }
}

impl fmt::Debug for OutgoingMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingMessage")
            .field("headers", &self.headers)
            .field("message_id", &self.message_id)
            .field("size", &self.size)
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

/// Why [`Session::send_message`](super::session::Session::send_message)
/// refused a message. The message is handed back.
#[derive(Debug, thiserror::Error)]
pub enum SendMessageError {
    /// The session is closed; nothing more can be sent.
    #[error("the session is closed")]
    Closed(Box<OutgoingMessage>),
    /// The message cannot be sent as given (a bad or reserved header, a
    /// bad Message-ID, a position past the size). Fix it and retry.
    #[error("invalid message: {reason}")]
    Invalid {
        /// The message.
        message: Box<OutgoingMessage>,
        /// What is wrong with it.
        reason: String,
    },
}

impl SendMessageError {
    /// The message that was not queued.
    pub fn into_message(self) -> OutgoingMessage {
        match self {
            SendMessageError::Closed(m) | SendMessageError::Invalid { message: m, .. } => *m,
        }
    }
}

/// Identifies a message queued with
/// [`Session::send_message`](super::session::Session::send_message) within
/// its session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(u64);

impl TransferId {
    /// The number (sequential from 1 within a session).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TransferId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transfer {}", self.0)
    }
}

/// Local failure code: the application cancelled the message
/// ([`Session::cancel`](super::session::Session::cancel)). The SIP code for
/// a request terminated by its sender.
pub const CANCELLED: u16 = 487;
/// Local failure code: the [`BodySource`] failed, or ended before the
/// message's size.
pub const SOURCE_FAILED: u16 = 500;
/// Local failure code: the connection closed
/// ([`Session::handle_close`](super::session::Session::handle_close)); the
/// code a transaction cut short by a close gets.
pub const CONNECTION_CLOSED: u16 = 408;

/// How incoming SEND chunks reach the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// Every chunk on its own, as received (the legacy behaviour).
    #[default]
    Chunks,
    /// Whole messages, reassembled by Message-ID (see the
    /// [module docs](self#receiving)).
    Messages,
}

/// Receives the body of one incoming message in
/// [`Delivery::Messages`] mode, as it arrives.
///
/// Called from [`Session::handle_input`](super::session::Session::handle_input)
/// (the driver's reader), so it should not block for long; writing to a
/// local file is fine. An error from `write_at` or `finish` drops the
/// message: it is answered 413 and reported as
/// [`TransferEvent::MessageAborted`] with [`AbortReason::Storage`].
pub trait MessageSink: Send {
    /// Writes `data` at byte `offset` of the message (0-based). Chunks may
    /// come out of order, and ranges may overlap or repeat.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Every byte arrived: make the message durable.
    fn finish(&mut self) -> io::Result<()>;
    /// The message was abandoned, refused or cut off: discard it.
    fn abort(&mut self);
}

/// A [`MessageSink`] over any `Write + Seek` (seeks only when writes are
/// not contiguous). [`abort`](MessageSink::abort) leaves the data as it is;
/// [`FileSink`] removes its file instead.
#[derive(Debug)]
pub struct WriteSeekSink<W> {
    inner: W,
    /// Where the writer stands, when known.
    pos: Option<u64>,
}

impl<W: Write + Seek + Send> WriteSeekSink<W> {
    /// A sink writing to `inner`.
    pub fn new(inner: W) -> Self {
        WriteSeekSink { inner, pos: None }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write + Seek + Send> MessageSink for WriteSeekSink<W> {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        if self.pos.take() != Some(offset) {
            self.inner.seek(SeekFrom::Start(offset))?;
        }
        self.inner.write_all(data)?;
        self.pos = Some(offset + data.len() as u64);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    fn abort(&mut self) {}
}

/// A [`MessageSink`] writing to a new file, which it deletes when the
/// message is aborted. Not buffered: the session hands it the slices of
/// body it reads from the connection (up to the read buffer, 64 KiB), and
/// one `write` each costs less than copying them through a buffer.
#[derive(Debug)]
pub struct FileSink {
    /// `None` once aborted.
    sink: Option<WriteSeekSink<File>>,
    path: PathBuf,
}

impl FileSink {
    /// Creates (or truncates) the file at `path`.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let file = File::create(&path)?;
        Ok(FileSink {
            sink: Some(WriteSeekSink::new(file)),
            path,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl MessageSink for FileSink {
    fn write_at(&mut self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.sink_mut()?.write_at(offset, data)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.sink_mut()?.finish()
    }

    fn abort(&mut self) {
        if let Some(sink) = self.sink.take() {
            // Close the file before removing it, which some systems
            // require.
            drop(sink.into_inner());
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl FileSink {
    fn sink_mut(&mut self) -> io::Result<&mut WriteSeekSink<File>> {
        self.sink
            .as_mut()
            .ok_or_else(|| io::Error::other("the message was aborted"))
    }
}

/// What a [`SinkFactory`] is told about a new incoming message: the head
/// of the first of its chunks to arrive.
#[derive(Debug, Clone, Copy)]
pub struct MessageHead<'a> {
    /// The Message-ID.
    pub message_id: &'a str,
    /// The Content-Type, if any.
    pub content_type: Option<&'a str>,
    /// The total size from the Byte-Range, `None` when `*`.
    pub total: Option<u64>,
    /// The whole chunk head (no body).
    pub chunk: &'a Chunk,
}

/// The signature of a [`SinkFactory`].
pub type SinkFactoryFn =
    dyn Fn(&MessageHead<'_>) -> io::Result<Option<Box<dyn MessageSink>>> + Send + Sync;

/// Chooses where each incoming message goes in [`Delivery::Messages`] mode
/// (`SessionConfig::sink_factory`): called once per message, with the head
/// of its first chunk; `Ok(Some(sink))` streams the body into the sink,
/// `Ok(None)` reassembles it in memory, and an error refuses the message
/// (413, [`AbortReason::Storage`]). Runs on the driver's reader, like
/// [`MessageSink`].
#[derive(Clone)]
pub struct SinkFactory(Arc<SinkFactoryFn>);

impl SinkFactory {
    /// A factory calling `f`.
    pub fn new(
        f: impl Fn(&MessageHead<'_>) -> io::Result<Option<Box<dyn MessageSink>>> + Send + Sync + 'static,
    ) -> Self {
        SinkFactory(Arc::new(f))
    }

    fn make(&self, head: &MessageHead<'_>) -> io::Result<Option<Box<dyn MessageSink>>> {
        (self.0)(head)
    }
}

impl fmt::Debug for SinkFactory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SinkFactory")
    }
}

/// Why an incoming message was dropped (see
/// [`TransferEvent::MessageAborted`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AbortReason {
    /// The sender ended a chunk with `#`.
    Sender,
    /// The message exceeds `SessionConfig::max_message_size`, or arrived in
    /// too many disjoint pieces; it was answered 413.
    TooLarge,
    /// The sink factory or the sink failed (the error's text); answered 413.
    Storage(String),
    /// A chunk of it was rejected (e.g. 415 for its Content-Type, 400
    /// for running past the message's total size).
    Invalid,
    /// The connection closed before the message was complete.
    Closed,
    /// Pushed out to bound what incomplete messages hold: more than
    /// [`MAX_PARTIAL_MESSAGES`] were being reassembled at once, or those
    /// kept in memory came to more than `SessionConfig::max_message_size`
    /// bytes together. Its later chunks are answered 413.
    Crowded,
}

/// Progress of messages sent with
/// [`Session::send_message`](super::session::Session::send_message), and
/// whole-message receipt events (see
/// [`Session::poll_transfer_event`](super::session::Session::poll_transfer_event)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferEvent {
    /// More of a message was acknowledged (once per chunk).
    Progress {
        /// The message.
        id: TransferId,
        /// Bytes of the message acknowledged so far, counting the
        /// `position` a resumed message started at.
        acknowledged_bytes: u64,
        /// The message's size, `None` when unknown.
        total: Option<u64>,
    },
    /// Every chunk of a message was written and acknowledged.
    Completed {
        /// The message.
        id: TransferId,
    },
    /// A message was stopped: by the peer's failure response, a local
    /// timeout, [`Session::cancel`](super::session::Session::cancel), a
    /// failing source, or the connection closing.
    Failed {
        /// The message.
        id: TransferId,
        /// The response code, or a local one ([`CANCELLED`],
        /// [`SOURCE_FAILED`], [`CONNECTION_CLOSED`], 408 for a timeout).
        code: u16,
        /// The response comment, or a local explanation.
        comment: String,
        /// Whether the failure was decided locally.
        local: bool,
    },
    /// An incoming message was written completely to its [`MessageSink`]
    /// (which was finished).
    MessageStored {
        /// The headers of the message's first chunk to arrive, with
        /// `Byte-Range: 1-N/N`; no body.
        head: Chunk,
        /// The message's size.
        size: u64,
    },
    /// An incomplete incoming message was dropped.
    MessageAborted {
        /// Its Message-ID.
        message_id: String,
        /// Why.
        reason: AbortReason,
    },
}

// ===== sending =====

/// What the sender needs from the session for one poll.
pub(crate) struct TxContext<'a> {
    pub to_path: &'a str,
    pub from_path: &'a str,
    pub config: &'a SessionConfig,
    /// The session's paths name relays (see
    /// [`SessionConfig::relayed_chunk_size`]).
    pub relayed: bool,
    pub now: Instant,
}

impl TxContext<'_> {
    fn chunk_size(&self) -> u64 {
        let size = if self.relayed {
            self.config.chunk_size.min(self.config.relayed_chunk_size)
        } else {
            self.config.chunk_size
        };
        size.max(1)
    }

    fn piece_size(&self) -> u64 {
        self.config.piece_size.max(1) as u64
    }

    fn logger(&self) -> Option<&SharedLogger> {
        self.config.logger.as_ref()
    }
}

/// A message being sent.
struct OutTransfer {
    message_id: String,
    headers: Headers,
    failure_report: FailureReport,
    total: Option<u64>,
    source: Box<dyn BodySource>,
    /// Bytes of the message read so far (resume position included): the
    /// next byte to send is `position + 1`.
    position: u64,
    /// Bytes acknowledged (resume position included).
    acknowledged: u64,
    /// Chunks written and still waiting for their 200.
    unacknowledged: usize,
    /// A chunk head was written.
    sent_any: bool,
    /// The `$` chunk was written.
    written_all: bool,
}

/// The chunk whose body is being written.
struct OpenChunk {
    id: TransferId,
    tid: String,
    /// Body bytes written so far.
    written: u64,
    /// End it with `#` before anything else.
    abort: bool,
    /// A 200 arrived before the end-line was written.
    early_ok: bool,
}

/// An empty `#` chunk owed for a message abandoned between chunks.
struct PendingAbort {
    message_id: String,
    headers: Headers,
    start: u64,
    total: Option<u64>,
}

/// A written chunk waiting for its response.
struct Awaiting {
    id: TransferId,
    len: u64,
    deadline: Instant,
    /// `Failure-Report: partial`: only a failure is expected.
    partial: bool,
}

/// The sending half: messages in progress and the chunk being written.
#[derive(Default)]
pub(crate) struct Outgoing {
    transfers: HashMap<TransferId, OutTransfer>,
    /// Messages with bytes left to send, in turn order.
    ready: VecDeque<TransferId>,
    open: Option<OpenChunk>,
    aborts: VecDeque<PendingAbort>,
    awaiting: TidMap<Awaiting>,
    /// Body bytes of the `awaiting` chunks that expect a 200 (not
    /// `partial`): what the send window counts.
    awaiting_bytes: u64,
    /// `(deadline, tid)` of `awaiting`, oldest first; entries already
    /// removed from `awaiting` are skipped.
    deadlines: VecDeque<(Instant, String)>,
    next_id: u64,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("transfers", &self.transfers.len())
            .field("open", &self.open.as_ref().map(|o| &o.tid))
            .field("awaiting", &self.awaiting.len())
            .finish_non_exhaustive()
    }
}

type Events = VecDeque<TransferEvent>;

impl Outgoing {
    /// Whether nothing is being or can now be sent (the fast path of
    /// `poll_transmit`): messages waiting for the send window `window`
    /// (0: none) to open count as idle.
    pub(crate) fn is_idle(&self, window: u64) -> bool {
        self.open.is_none()
            && self.aborts.is_empty()
            && (self.ready.is_empty() || self.window_full(window))
    }

    fn window_full(&self, window: u64) -> bool {
        window != 0 && self.awaiting_bytes >= window
    }

    /// Stops waiting for responses to the chunks of `id`.
    fn forget_awaiting(&mut self, id: TransferId) {
        let bytes = &mut self.awaiting_bytes;
        self.awaiting.retain(|_, a| {
            let keep = a.id != id;
            if !keep && !a.partial {
                *bytes -= a.len;
            }
            keep
        });
        self.prune();
    }

    /// Takes `tid` out of `awaiting`.
    fn take_awaiting(&mut self, tid: &str) -> Option<Awaiting> {
        let a = self.awaiting.remove(tid)?;
        if !a.partial {
            self.awaiting_bytes -= a.len;
        }
        Some(a)
    }

    /// Messages not yet completed or failed.
    pub(crate) fn active(&self) -> usize {
        self.transfers.len()
    }

    /// Queues `msg` after checking it.
    pub(crate) fn send(&mut self, msg: OutgoingMessage) -> Result<TransferId, SendMessageError> {
        if let Err(reason) = check_message(&msg) {
            return Err(SendMessageError::Invalid {
                message: Box::new(msg),
                reason,
            });
        }
        let failure_report = msg
            .headers
            .get_typed::<FailureReport>()
            .ok()
            .flatten()
            .unwrap_or_default();
        self.next_id += 1;
        let id = TransferId(self.next_id);
        self.transfers.insert(
            id,
            OutTransfer {
                message_id: msg.message_id.unwrap_or_else(random_id),
                headers: msg.headers,
                failure_report,
                total: msg.size,
                source: msg.source,
                position: msg.position,
                acknowledged: msg.position,
                unacknowledged: 0,
                sent_any: false,
                written_all: false,
            },
        );
        self.ready.push_back(id);
        Ok(id)
    }

    /// Cancels `id`; `false` when it is not in progress.
    pub(crate) fn cancel(&mut self, id: TransferId, events: &mut Events) -> bool {
        if !self.transfers.contains_key(&id) {
            return false;
        }
        self.fail(id, CANCELLED, "Cancelled", true, true, events);
        true
    }

    /// Ends the open chunk at once (`+`, or `#` when it is being
    /// abandoned) because other output is waiting; `None` without one.
    pub(crate) fn interrupt(&mut self, ctx: &TxContext<'_>, events: &mut Events) -> Option<Bytes> {
        let flag = if self.open.as_ref()?.abort {
            Flag::Abort
        } else {
            Flag::Continue
        };
        Some(self.close_open(flag, ctx, events))
    }

    /// The next bytes of the messages in progress: an end-line, an empty
    /// `#` chunk, or a piece of body (with the chunk's head before it and
    /// its end-line after it where they fall).
    pub(crate) fn poll(&mut self, ctx: &TxContext<'_>, events: &mut Events) -> Option<Bytes> {
        loop {
            if let Some(open) = &self.open {
                if open.abort || !self.aborts.is_empty() {
                    return self.interrupt(ctx, events);
                }
                return Some(self.continue_open(ctx, events));
            }
            if let Some(a) = self.aborts.pop_front() {
                return Some(encode_abort(&a, ctx));
            }
            if self.window_full(ctx.config.send_window) {
                return None;
            }
            let id = self.ready.pop_front()?;
            if let Some(bytes) = self.start_chunk(id, ctx, events) {
                return Some(bytes);
            }
        }
    }

    /// A response to one of our chunks; `false` when `tid` is not one.
    pub(crate) fn on_response(
        &mut self,
        tid: &str,
        code: u16,
        comment: Option<&str>,
        events: &mut Events,
    ) -> bool {
        if self.open.is_none() && self.awaiting.is_empty() {
            return false;
        }
        let ok = (200..300).contains(&code);
        if let Some(open) = self.open.as_mut().filter(|o| o.tid == tid) {
            // Answered before we finished writing it: a 413 (or any other
            // refusal) stops the message now.
            if ok {
                open.early_ok = true;
            } else {
                let id = open.id;
                self.fail(id, code, comment.unwrap_or(""), false, false, events);
            }
            return true;
        }
        let Some(a) = self.take_awaiting(tid) else {
            return false;
        };
        self.prune();
        if !ok {
            self.fail(a.id, code, comment.unwrap_or(""), false, false, events);
        } else if !a.partial {
            if let Some(t) = self.transfers.get_mut(&a.id) {
                t.unacknowledged = t.unacknowledged.saturating_sub(1);
                acknowledge(a.id, t, a.len, events);
            }
            self.check_complete(a.id, events);
        }
        true
    }

    /// Response timeouts due at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant, events: &mut Events) {
        while let Some((deadline, _)) = self.deadlines.front() {
            if *deadline > now {
                break;
            }
            let Some((deadline, tid)) = self.deadlines.pop_front() else {
                break;
            };
            if self
                .awaiting
                .get(&tid)
                .is_some_and(|a| a.deadline == deadline)
            {
                if let Some(a) = self.take_awaiting(&tid) {
                    if !a.partial {
                        self.fail(a.id, 408, TIMEOUT_COMMENT, true, false, events);
                    }
                }
            }
        }
        self.prune();
    }

    /// The next response deadline.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.front().map(|(d, _)| *d)
    }

    /// The connection is gone: every message fails.
    pub(crate) fn handle_close(&mut self, events: &mut Events) {
        let mut ids: Vec<TransferId> = self.transfers.keys().copied().collect();
        ids.sort();
        for id in ids {
            events.push_back(TransferEvent::Failed {
                id,
                code: CONNECTION_CLOSED,
                comment: "Connection closed".to_string(),
                local: true,
            });
        }
        *self = Outgoing {
            next_id: self.next_id,
            ..Outgoing::default()
        };
    }

    // ----- internals -----

    /// Stops `id`: a chunk of it being written is marked for `#`; with
    /// `abort_chunk`, a message interrupted between chunks gets an empty
    /// `#` chunk.
    fn fail(
        &mut self,
        id: TransferId,
        code: u16,
        comment: &str,
        local: bool,
        abort_chunk: bool,
        events: &mut Events,
    ) {
        let Some(t) = self.transfers.remove(&id) else {
            return;
        };
        self.ready.retain(|&r| r != id);
        self.forget_awaiting(id);
        if let Some(open) = self.open.as_mut().filter(|o| o.id == id) {
            open.abort = true;
        } else if abort_chunk && t.sent_any && !t.written_all {
            self.aborts.push_back(PendingAbort {
                message_id: t.message_id,
                headers: t.headers,
                start: t.position + 1,
                total: t.total,
            });
        }
        events.push_back(TransferEvent::Failed {
            id,
            code,
            comment: comment.to_string(),
            local,
        });
    }

    /// Drops deadlines at the front whose chunk is no longer awaited.
    fn prune(&mut self) {
        while let Some((d, tid)) = self.deadlines.front() {
            if self.awaiting.get(tid).is_some_and(|a| a.deadline == *d) {
                break;
            }
            self.deadlines.pop_front();
        }
    }

    fn check_complete(&mut self, id: TransferId, events: &mut Events) {
        let done = self
            .transfers
            .get(&id)
            .is_some_and(|t| t.written_all && t.unacknowledged == 0);
        if done {
            self.transfers.remove(&id);
            self.forget_awaiting(id);
            events.push_back(TransferEvent::Completed { id });
        }
    }

    /// Starts a chunk of `id`. `None` when the message failed with nothing
    /// to write (its empty `#` chunk, if owed, is queued).
    fn start_chunk(
        &mut self,
        id: TransferId,
        ctx: &TxContext<'_>,
        events: &mut Events,
    ) -> Option<Bytes> {
        let chunk_size = ctx.chunk_size();
        let piece = ctx.piece_size();
        let t = self.transfers.get_mut(&id)?;
        let start = t.position + 1;
        let remaining = t.total.map(|total| total.saturating_sub(t.position));
        let tid = random_id();
        if let Some(rest) = remaining.filter(|&r| r <= piece.min(chunk_size)) {
            // The rest of the message in one piece: a known end.
            let range = ByteRange {
                start,
                end: Some(t.position + rest),
                total: t.total,
            };
            let mut out = encode_head(t, &tid, range, rest > 0, ctx);
            let head_len = out.len();
            out.resize(head_len + rest as usize, 0);
            let failure = match read_full(&mut *t.source, &mut out[head_len..]) {
                Ok(n) if n as u64 == rest => None,
                Ok(n) => Some(early_end(t.position + n as u64, t.total)),
                Err(e) => Some(read_failure(&e)),
            };
            if let Some(comment) = failure {
                self.fail(id, SOURCE_FAILED, &comment, true, true, events);
                return None;
            }
            t.position += rest;
            t.sent_any = true;
            log_sent(ctx, &tid, &out[..head_len], &out[head_len..]);
            let open = OpenChunk {
                id,
                tid,
                written: rest,
                abort: false,
                early_ok: false,
            };
            self.end_chunk(open, Flag::End, &mut out, ctx, events);
            return Some(out.freeze());
        }
        let want = piece.min(chunk_size).min(remaining.unwrap_or(u64::MAX)) as usize;
        let range = ByteRange {
            start,
            end: None,
            total: t.total,
        };
        let mut out = encode_head(t, &tid, range, true, ctx);
        let head_len = out.len();
        out.resize(head_len + want, 0);
        let n = match read_some(&mut *t.source, &mut out[head_len..]) {
            Ok(n) => n,
            Err(e) => {
                let comment = read_failure(&e);
                self.fail(id, SOURCE_FAILED, &comment, true, true, events);
                return None;
            }
        };
        if n == 0 {
            if t.total.is_some() {
                let comment = early_end(t.position, t.total);
                self.fail(id, SOURCE_FAILED, &comment, true, true, events);
                return None;
            }
            // A message of unknown size ended at a chunk boundary: an empty
            // final chunk, which also tells the total.
            let size = t.position;
            let range = ByteRange {
                start,
                end: Some(size),
                total: Some(size),
            };
            let mut out = encode_head(t, &tid, range, false, ctx);
            t.sent_any = true;
            log_sent(ctx, &tid, &out, &[]);
            let open = OpenChunk {
                id,
                tid,
                written: 0,
                abort: false,
                early_ok: false,
            };
            self.end_chunk(open, Flag::End, &mut out, ctx, events);
            return Some(out.freeze());
        }
        out.truncate(head_len + n);
        t.position += n as u64;
        t.sent_any = true;
        log_sent(ctx, &tid, &out[..head_len], &out[head_len..]);
        let open = OpenChunk {
            id,
            tid,
            written: n as u64,
            abort: false,
            early_ok: false,
        };
        if remaining == Some(n as u64) {
            self.end_chunk(open, Flag::End, &mut out, ctx, events);
        } else if n as u64 >= chunk_size {
            self.end_chunk(open, Flag::Continue, &mut out, ctx, events);
        } else {
            self.open = Some(open);
        }
        Some(out.freeze())
    }

    /// The next piece of the open chunk (or its end-line).
    fn continue_open(&mut self, ctx: &TxContext<'_>, events: &mut Events) -> Bytes {
        let chunk_size = ctx.chunk_size();
        let piece = ctx.piece_size();
        let Some(open) = self.open.as_ref() else {
            return Bytes::new();
        };
        let id = open.id;
        let written = open.written;
        let Some(t) = self.transfers.get_mut(&id) else {
            return self.close_open(Flag::Abort, ctx, events);
        };
        let remaining = t.total.map(|total| total.saturating_sub(t.position));
        let room = chunk_size.saturating_sub(written);
        if remaining == Some(0) {
            return self.close_open(Flag::End, ctx, events);
        }
        if room == 0 {
            return self.close_open(Flag::Continue, ctx, events);
        }
        let want = piece.min(room).min(remaining.unwrap_or(u64::MAX)) as usize;
        let mut out = BytesMut::with_capacity(want + 64);
        out.resize(want, 0);
        let n = match read_some(&mut *t.source, &mut out[..]) {
            Ok(n) => n,
            Err(e) => {
                let comment = read_failure(&e);
                self.fail(id, SOURCE_FAILED, &comment, true, true, events);
                return self.close_open(Flag::Abort, ctx, events);
            }
        };
        if n == 0 {
            if t.total.is_some() {
                let comment = early_end(t.position, t.total);
                self.fail(id, SOURCE_FAILED, &comment, true, true, events);
                return self.close_open(Flag::Abort, ctx, events);
            }
            return self.close_open(Flag::End, ctx, events);
        }
        out.truncate(n);
        t.position += n as u64;
        let Some(mut open) = self.open.take() else {
            return Bytes::new();
        };
        open.written += n as u64;
        if let Some(l) = ctx.logger() {
            l.logger.sent_chunk_data(&l.label, &open.tid, &out);
        }
        if remaining == Some(n as u64) {
            self.end_chunk(open, Flag::End, &mut out, ctx, events);
        } else if open.written >= chunk_size {
            self.end_chunk(open, Flag::Continue, &mut out, ctx, events);
        } else {
            self.open = Some(open);
        }
        out.freeze()
    }

    /// The end-line of the open chunk, alone.
    fn close_open(&mut self, flag: Flag, ctx: &TxContext<'_>, events: &mut Events) -> Bytes {
        let Some(open) = self.open.take() else {
            return Bytes::new();
        };
        let mut out = BytesMut::with_capacity(open.tid.len() + 12);
        self.end_chunk(open, flag, &mut out, ctx, events);
        out.freeze()
    }

    /// Appends the end-line of `open` with `flag` and books the chunk:
    /// waiting for its response, acknowledged, the message's turn passed
    /// on or its end reached.
    fn end_chunk(
        &mut self,
        open: OpenChunk,
        flag: Flag,
        out: &mut BytesMut,
        ctx: &TxContext<'_>,
        events: &mut Events,
    ) {
        let end_at = out.len();
        push_end_line(out, &open.tid, flag);
        if let Some(l) = ctx.logger() {
            l.logger.sent_chunk_end(&l.label, &open.tid, &out[end_at..]);
        }
        if flag == Flag::Abort {
            return;
        }
        let id = open.id;
        let Some(t) = self.transfers.get_mut(&id) else {
            return;
        };
        let deadline = ctx.now + ctx.config.response_timeout;
        match t.failure_report {
            FailureReport::Yes if open.early_ok => acknowledge(id, t, open.written, events),
            FailureReport::Yes => {
                t.unacknowledged += 1;
                self.awaiting_bytes += open.written;
                self.awaiting.insert(
                    open.tid.clone(),
                    Awaiting {
                        id,
                        len: open.written,
                        deadline,
                        partial: false,
                    },
                );
                self.deadlines.push_back((deadline, open.tid));
            }
            FailureReport::Partial => {
                acknowledge(id, t, open.written, events);
                self.awaiting.insert(
                    open.tid.clone(),
                    Awaiting {
                        id,
                        len: open.written,
                        deadline,
                        partial: true,
                    },
                );
                self.deadlines.push_back((deadline, open.tid));
            }
            FailureReport::No => acknowledge(id, t, open.written, events),
        }
        if flag == Flag::End {
            t.written_all = true;
            self.check_complete(id, events);
        } else {
            self.ready.push_back(id);
        }
    }
}

fn acknowledge(id: TransferId, t: &mut OutTransfer, len: u64, events: &mut Events) {
    if len == 0 {
        return;
    }
    t.acknowledged += len;
    events.push_back(TransferEvent::Progress {
        id,
        acknowledged_bytes: t.acknowledged,
        total: t.total,
    });
}

/// Checks what the application gave [`Outgoing::send`].
fn check_message(msg: &OutgoingMessage) -> Result<(), String> {
    for h in &msg.headers {
        for reserved in [
            names::TO_PATH,
            names::FROM_PATH,
            names::BYTE_RANGE,
            names::MESSAGE_ID,
        ] {
            if h.name.eq_ignore_ascii_case(reserved) {
                return Err(format!("{reserved} is written by the session"));
            }
        }
        check_header(&h.name, &h.value).map_err(|e| e.to_string())?;
        check_known_header(&h.name, &h.value).map_err(|e| e.to_string())?;
    }
    if let Some(id) = &msg.message_id {
        check_header(names::MESSAGE_ID, id).map_err(|e| e.to_string())?;
        check_known_header(names::MESSAGE_ID, id).map_err(|e| e.to_string())?;
    }
    if let Some(size) = msg.size {
        if msg.position > size {
            return Err(format!("position {} is past the size {size}", msg.position));
        }
    }
    Ok(())
}

/// The start line and headers of a chunk of `t`, and the blank line that
/// opens a body when `body` (or when a Content-Type asks for one).
fn encode_head(
    t: &OutTransfer,
    tid: &str,
    range: ByteRange,
    body: bool,
    ctx: &TxContext<'_>,
) -> BytesMut {
    head_bytes(
        tid,
        &t.message_id,
        &t.headers,
        range,
        body,
        ctx,
        ctx.piece_size() as usize,
    )
}

fn head_bytes(
    tid: &str,
    message_id: &str,
    headers: &Headers,
    range: ByteRange,
    body: bool,
    ctx: &TxContext<'_>,
    room: usize,
) -> BytesMut {
    let mut c = Chunk::request(tid, "SEND");
    let mut h = Headers::from_iter([
        (names::TO_PATH.to_string(), ctx.to_path.to_string()),
        (names::FROM_PATH.to_string(), ctx.from_path.to_string()),
        (names::BYTE_RANGE.to_string(), range.encoded()),
        (names::MESSAGE_ID.to_string(), message_id.to_string()),
    ]);
    for x in headers {
        h.append(&x.name, x.value.clone());
    }
    c.headers = h;
    let mut out = BytesMut::with_capacity(256 + headers.len() * 32 + room + tid.len() + 12);
    c.encode_start_into(&mut out);
    if body && !c.has_body() {
        out.put_slice(b"\r\n\r\n");
    }
    out
}

/// The empty `#` chunk of a message abandoned between chunks.
fn encode_abort(a: &PendingAbort, ctx: &TxContext<'_>) -> Bytes {
    let tid = random_id();
    let range = ByteRange {
        start: a.start,
        end: Some(a.start - 1),
        total: a.total,
    };
    let mut out = head_bytes(&tid, &a.message_id, &a.headers, range, false, ctx, 0);
    let head_len = out.len();
    log_sent(ctx, &tid, &out, &[]);
    push_end_line(&mut out, &tid, Flag::Abort);
    if let Some(l) = ctx.logger() {
        l.logger.sent_chunk_end(&l.label, &tid, &out[head_len..]);
    }
    out.freeze()
}

fn push_end_line(out: &mut BytesMut, tid: &str, flag: Flag) {
    out.reserve(tid.len() + 12);
    out.put_slice(b"\r\n-------");
    out.put_slice(tid.as_bytes());
    out.put_u8(flag.as_byte());
    out.put_slice(b"\r\n");
}

fn log_sent(ctx: &TxContext<'_>, tid: &str, head: &[u8], data: &[u8]) {
    if let Some(l) = ctx.logger() {
        l.logger.sent_new_chunk(&l.label, tid, head);
        if !data.is_empty() {
            l.logger.sent_chunk_data(&l.label, tid, data);
        }
    }
}

/// One read, retried when interrupted; a source claiming more than it was
/// given is an error.
fn read_some(source: &mut dyn BodySource, buf: &mut [u8]) -> io::Result<usize> {
    loop {
        match source.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Ok(n) if n > buf.len() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the body source reported more bytes than it was given room for",
                ))
            }
            r => return r,
        }
    }
}

/// Reads until `buf` is full or the source ends.
fn read_full(source: &mut dyn BodySource, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match read_some(source, &mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn read_failure(e: &io::Error) -> String {
    format!("Cannot read the message body: {e}")
}

fn early_end(at: u64, total: Option<u64>) -> String {
    match total {
        Some(t) => format!("The message body ended after {at} of {t} bytes"),
        None => format!("The message body ended after {at} bytes"),
    }
}

// ===== receiving =====

/// Most disjoint byte ranges one incoming message may have; more is taken
/// as an attack on the reassembly bookkeeping (413).
const MAX_RANGES: usize = 4096;
/// How many refused Message-IDs are remembered (to answer their later
/// chunks 413).
const MAX_REFUSED: usize = 1024;

/// Most incoming messages reassembled at once with [`Delivery::Messages`];
/// one more pushes out the one that started first
/// ([`AbortReason::Crowded`]). Each holds its head and the bookkeeping
/// of its pieces (and a sink, perhaps an open file), so without a cap a
/// peer opening messages it never finishes could make the session hold
/// any amount; 16 is far more than senders interleave (one chat message
/// beside a file or two).
pub const MAX_PARTIAL_MESSAGES: usize = 16;

/// The received parts of a message: sorted, disjoint, non-adjacent
/// half-open ranges of 0-based offsets.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RangeSet(Vec<(u64, u64)>);

impl RangeSet {
    pub(crate) fn insert(&mut self, a: u64, b: u64) {
        if a >= b {
            return;
        }
        if let Some(last) = self.0.last_mut() {
            // In-order data extends the last range.
            if last.0 <= a && a <= last.1 {
                last.1 = last.1.max(b);
                return;
            }
        }
        let i = self.0.partition_point(|r| r.1 < a);
        let (mut lo, mut hi) = (a, b);
        let mut j = i;
        while j < self.0.len() && self.0[j].0 <= hi {
            lo = lo.min(self.0[j].0);
            hi = hi.max(self.0[j].1);
            j += 1;
        }
        self.0.splice(i..j, [(lo, hi)]);
    }

    /// Whether every offset in `0..total` is present.
    pub(crate) fn covers(&self, total: u64) -> bool {
        total == 0 || self.0.first().is_some_and(|&(a, b)| a == 0 && b >= total)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

enum Store {
    Memory(Vec<u8>),
    Sink(Box<dyn MessageSink>),
}

impl Store {
    /// The body bytes held in memory (none for a sink).
    fn held(&self) -> u64 {
        match self {
            Store::Memory(v) => v.len() as u64,
            Store::Sink(_) => 0,
        }
    }

    fn write(&mut self, offset: u64, data: &[u8], total: Option<u64>) -> io::Result<()> {
        match self {
            Store::Sink(s) => s.write_at(offset, data),
            Store::Memory(v) => {
                let too_big = || io::Error::new(io::ErrorKind::OutOfMemory, "message too large");
                let off = usize::try_from(offset).map_err(|_| too_big())?;
                let end = off.checked_add(data.len()).ok_or_else(too_big)?;
                if end > v.len() {
                    if end > v.capacity() {
                        // Grow geometrically, but never past the announced
                        // total: a 10 MiB message takes 10 MiB.
                        let cap = total
                            .and_then(|t| usize::try_from(t).ok())
                            .unwrap_or(usize::MAX)
                            .max(end);
                        let want = end.max(v.capacity().saturating_mul(2)).min(cap);
                        v.reserve_exact(want - v.len());
                    }
                    v.resize(end, 0);
                }
                v[off..end].copy_from_slice(data);
                Ok(())
            }
        }
    }

    fn abort(self) {
        if let Store::Sink(mut s) = self {
            s.abort();
        }
    }
}

/// An incoming message being reassembled.
struct RxMessage {
    /// When it started, in arrivals of new messages (oldest first).
    seq: u64,
    /// The head of its first chunk to arrive (set when that chunk ends,
    /// so that the head is moved, not copied; `None` until then), and
    /// whether its paths are the session's own text.
    head: Option<(Chunk, bool)>,
    total: Option<u64>,
    store: Store,
    have: RangeSet,
    /// Where the `$` chunk ended (its last byte's position).
    end: Option<u64>,
}

impl RxMessage {
    /// The size, once the message is complete.
    fn complete(&self) -> Option<u64> {
        let end = self.end?;
        let total = self.total.unwrap_or(end);
        self.have.covers(total).then_some(total)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RxState {
    /// Not yet tied to a message (no body byte seen).
    Unattached,
    /// Its bytes go to the message.
    Attached,
    /// To be answered with this failure at its end; bytes are dropped.
    Rejected(u16, String),
    /// Already answered (413 mid-chunk); bytes are dropped.
    Answered,
}

/// The messages being reassembled, by Message-ID. There are at most
/// [`MAX_PARTIAL_MESSAGES`] (usually none or one), so a list searched in
/// order is cheaper than hashing the peer's ids.
#[derive(Default)]
struct Partials(Vec<(String, RxMessage)>);

impl Partials {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn position(&self, message_id: &str) -> Option<usize> {
        self.0.iter().position(|(id, _)| id == message_id)
    }

    fn contains_key(&self, message_id: &str) -> bool {
        self.position(message_id).is_some()
    }

    fn get(&self, message_id: &str) -> Option<&RxMessage> {
        self.position(message_id).map(|i| &self.0[i].1)
    }

    fn get_mut(&mut self, message_id: &str) -> Option<&mut RxMessage> {
        self.position(message_id).map(|i| &mut self.0[i].1)
    }

    /// Adds a message whose id is not there yet.
    fn insert(&mut self, message_id: String, m: RxMessage) {
        self.0.push((message_id, m));
    }

    fn remove(&mut self, message_id: &str) -> Option<RxMessage> {
        self.position(message_id).map(|i| self.0.swap_remove(i).1)
    }
}

/// The SEND chunk being streamed into a message.
struct RxChunk {
    head: Chunk,
    /// Its paths are spelled as the session spells them (a 200 is then
    /// written from the session's own text).
    exact_paths: bool,
    message_id: String,
    /// 0-based offset of its first byte.
    offset: u64,
    total: Option<u64>,
    received: u64,
    /// A rejection that applies only if the chunk has a body (415s).
    body_problem: Option<(u16, &'static str)>,
    state: RxState,
}

/// What the session must do for the reassembler.
#[derive(Debug)]
pub(crate) enum RxOutput {
    /// Answer the chunk `head` (200 or a failure).
    Respond {
        head: Chunk,
        code: u16,
        comment: String,
    },
    /// Answer the chunk `tid`, whose paths are the session's own, 200.
    Ok { tid: String },
    /// A message is complete: `body` when it was kept in memory.
    Complete {
        head: Chunk,
        /// The head's paths are the session's own text.
        exact_paths: bool,
        body: Option<Bytes>,
        size: u64,
    },
    /// An event for the application.
    Event(TransferEvent),
}

/// The receiving half in [`Delivery::Messages`] mode.
pub(crate) struct Reassembly {
    max_message_size: u64,
    sink_factory: Option<SinkFactory>,
    messages: Partials,
    /// The `seq` of the next message to start.
    next_seq: u64,
    /// Body bytes held in memory by `messages`, in all (at most
    /// `max_message_size`).
    held: u64,
    /// Refused Message-IDs, with why (their later chunks are refused).
    refused: HashMap<String, AbortReason>,
    refused_order: VecDeque<String>,
    current: Option<RxChunk>,
    pub(crate) out: VecDeque<RxOutput>,
}

impl fmt::Debug for Reassembly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reassembly")
            .field("messages", &self.messages.len())
            .field("refused", &self.refused.len())
            .field("current", &self.current.as_ref().map(|c| &c.message_id))
            .finish_non_exhaustive()
    }
}

impl Reassembly {
    pub(crate) fn new(config: &SessionConfig) -> Self {
        Reassembly {
            max_message_size: config.max_message_size,
            sink_factory: config.sink_factory.clone(),
            messages: Partials::default(),
            next_seq: 0,
            held: 0,
            refused: HashMap::new(),
            refused_order: VecDeque::new(),
            current: None,
            out: VecDeque::new(),
        }
    }

    /// The transaction id of the chunk being streamed.
    pub(crate) fn current_tid(&self) -> Option<&str> {
        self.current
            .as_ref()
            .map(|c| c.head.transaction_id.as_str())
    }

    /// A SEND chunk starts. `rejection`: answer it with this at its end
    /// (bad headers or paths); `body_problem`: the same, if it has a body;
    /// `exact_paths`: its paths are spelled as the session's.
    pub(crate) fn begin(
        &mut self,
        head: Chunk,
        exact_paths: bool,
        message_id: String,
        range: ByteRange,
        rejection: Option<(u16, String)>,
        body_problem: Option<(u16, &'static str)>,
    ) {
        let offset = range.start - 1;
        let mut c = RxChunk {
            head,
            exact_paths,
            message_id,
            offset,
            total: range.total,
            received: 0,
            body_problem,
            state: RxState::Unattached,
        };
        if let Some((code, comment)) = rejection {
            c.state = RxState::Rejected(code, comment);
        } else if let Some(reason) = self.refused_reason(&c.message_id) {
            let reason = reason.clone();
            self.refuse_now(&mut c, reason);
        } else if range.total.is_some_and(|t| t > self.max_message_size)
            || offset > self.max_message_size
        {
            self.refuse_now(&mut c, AbortReason::TooLarge);
        }
        self.current = Some(c);
    }

    /// Body bytes of the current chunk.
    pub(crate) fn data(&mut self, d: &[u8]) {
        let Some(mut c) = self.current.take() else {
            return;
        };
        if !d.is_empty() {
            self.take_data(&mut c, d);
        }
        self.current = Some(c);
    }

    fn take_data(&mut self, c: &mut RxChunk, d: &[u8]) {
        if c.state == RxState::Unattached {
            if let Some((code, comment)) = c.body_problem {
                c.state = RxState::Rejected(code, comment.to_string());
                return;
            }
            self.attach(c);
        }
        if c.state != RxState::Attached {
            return;
        }
        let at = c.offset + c.received;
        let end = at.checked_add(d.len() as u64);
        if end.is_none_or(|e| e > self.max_message_size) {
            self.refuse_now(c, AbortReason::TooLarge);
            return;
        }
        let end = end.unwrap_or(u64::MAX);
        let Some(m) = self.messages.get(&c.message_id) else {
            return;
        };
        if m.total.is_some_and(|t| end > t) {
            self.drop_message(&c.message_id, AbortReason::Invalid);
            self.remember_refused(&c.message_id, AbortReason::TooLarge);
            c.state = RxState::Rejected(400, "Byte-Range exceeded".to_string());
            return;
        }
        let before = m.store.held();
        let growth = match m.store {
            Store::Memory(_) => end.saturating_sub(before),
            Store::Sink(_) => 0,
        };
        if self.held + growth > self.max_message_size && !self.make_room(c, growth) {
            return;
        }
        let Some(m) = self.messages.get_mut(&c.message_id) else {
            return;
        };
        if let Err(e) = m.store.write(at, d, m.total) {
            self.refuse_now(c, AbortReason::Storage(e.to_string()));
            return;
        }
        self.held += m.store.held() - before;
        m.have.insert(at, end);
        if m.have.len() > MAX_RANGES {
            self.refuse_now(c, AbortReason::TooLarge);
            return;
        }
        c.received += d.len() as u64;
    }

    /// The current chunk ended with `flag`.
    pub(crate) fn end(&mut self, flag: Flag) {
        let Some(mut c) = self.current.take() else {
            return;
        };
        if c.state == RxState::Unattached {
            self.attach(&mut c);
        }
        let (code, comment) = match &c.state {
            RxState::Answered => return,
            RxState::Rejected(code, comment) => (*code, comment.clone()),
            RxState::Attached | RxState::Unattached => (200, "OK".to_string()),
        };
        let attached = c.state == RxState::Attached;
        let mid = std::mem::take(&mut c.message_id);
        let chunk_end = c.offset + c.received;
        let head = if code == 200 && c.exact_paths {
            // What make_response would answer, from the session's text.
            if c.head.failure_report() == Ok(FailureReport::Yes) {
                let tid = c.head.transaction_id.clone();
                self.out.push_back(RxOutput::Ok { tid });
            }
            c.head
        } else {
            self.out.push_back(RxOutput::Respond {
                head: c.head.clone(),
                code,
                comment,
            });
            c.head
        };
        if !attached {
            // The sender stops a message when one of its chunks fails.
            self.drop_message(&mid, AbortReason::Invalid);
            return;
        }
        if flag == Flag::Abort {
            self.drop_message(&mid, AbortReason::Sender);
            return;
        }
        let Some(m) = self.messages.get_mut(&mid) else {
            return;
        };
        m.head.get_or_insert((head, c.exact_paths));
        if flag == Flag::End {
            m.end = Some(chunk_end);
        }
        let Some(size) = m.complete() else {
            return;
        };
        let Some(RxMessage {
            head: Some((head, exact_paths)),
            store,
            ..
        }) = self.take_message(&mid)
        else {
            return;
        };
        match store {
            Store::Memory(mut v) => {
                v.truncate(size as usize);
                self.out.push_back(RxOutput::Complete {
                    head,
                    exact_paths,
                    body: Some(Bytes::from(v)),
                    size,
                });
            }
            Store::Sink(mut s) => match s.finish() {
                Ok(()) => self.out.push_back(RxOutput::Complete {
                    head,
                    exact_paths,
                    body: None,
                    size,
                }),
                Err(e) => {
                    s.abort();
                    self.out
                        .push_back(RxOutput::Event(TransferEvent::MessageAborted {
                            message_id: mid,
                            reason: AbortReason::Storage(e.to_string()),
                        }));
                }
            },
        }
    }

    /// The chunk being parsed was cut short by a parse error.
    pub(crate) fn reset_chunk(&mut self) {
        self.current = None;
    }

    /// The connection is gone: incomplete messages are dropped.
    pub(crate) fn handle_close(&mut self) {
        self.current = None;
        let mut ids: Vec<String> = self.messages.0.iter().map(|(id, _)| id.clone()).collect();
        ids.sort();
        for id in ids {
            self.drop_message(&id, AbortReason::Closed);
        }
    }

    /// Ties `c` to its message, creating it (and its sink) if new.
    fn attach(&mut self, c: &mut RxChunk) {
        if let Some(m) = self.messages.get_mut(&c.message_id) {
            if m.total.is_none() {
                m.total = c.total;
            }
            c.state = RxState::Attached;
            return;
        }
        if self.messages.len() >= MAX_PARTIAL_MESSAGES {
            if let Some(oldest) = self.oldest(|_| true) {
                self.push_out(&oldest);
            }
        }
        let store = match &self.sink_factory {
            None => Store::Memory(Vec::new()),
            Some(factory) => {
                let head = MessageHead {
                    message_id: &c.message_id,
                    content_type: c.head.content_type(),
                    total: c.total,
                    chunk: &c.head,
                };
                match factory.make(&head) {
                    Ok(Some(sink)) => Store::Sink(sink),
                    Ok(None) => Store::Memory(Vec::new()),
                    Err(e) => {
                        self.refuse_now(c, AbortReason::Storage(e.to_string()));
                        return;
                    }
                }
            }
        };
        self.next_seq += 1;
        self.messages.insert(
            c.message_id.clone(),
            RxMessage {
                seq: self.next_seq,
                head: None,
                total: c.total,
                store,
                have: RangeSet::default(),
                end: None,
            },
        );
        c.state = RxState::Attached;
    }

    /// Answers `c` 413 at once, drops its message and refuses its later
    /// chunks.
    fn refuse_now(&mut self, c: &mut RxChunk, reason: AbortReason) {
        let comment = match &reason {
            AbortReason::Storage(_) => "Cannot store the message",
            AbortReason::Crowded => "Too many incomplete messages",
            _ => "Message too large",
        };
        self.out.push_back(RxOutput::Respond {
            head: c.head.clone(),
            code: 413,
            comment: comment.to_string(),
        });
        c.state = RxState::Answered;
        if self.messages.contains_key(&c.message_id) {
            self.drop_message(&c.message_id, reason.clone());
        } else if !self.refused.contains_key(&c.message_id) {
            self.out
                .push_back(RxOutput::Event(TransferEvent::MessageAborted {
                    message_id: c.message_id.clone(),
                    reason: reason.clone(),
                }));
        }
        self.remember_refused(&c.message_id, reason);
    }

    /// Makes room in memory for `c`'s message to grow by `growth` bytes
    /// (more than is left):
    /// messages in memory that started before it are pushed out, oldest
    /// first, while the bytes held together would go over the limit;
    /// when that is not enough, `c` is answered 413 and its message
    /// dropped (`false`). A message never pushes out newer ones, so a
    /// peer cannot starve the messages that follow with one it keeps
    /// growing.
    fn make_room(&mut self, c: &mut RxChunk, growth: u64) -> bool {
        let Some(seq) = self.messages.get(&c.message_id).map(|m| m.seq) else {
            return false;
        };
        while self.held + growth > self.max_message_size {
            let older = |m: &RxMessage| m.seq < seq && m.store.held() > 0;
            let Some(oldest) = self.oldest(older) else {
                self.refuse_now(c, AbortReason::Crowded);
                return false;
            };
            self.push_out(&oldest);
        }
        true
    }

    /// The Message-ID of the message that started first among those
    /// `pick` accepts.
    fn oldest(&self, pick: impl Fn(&RxMessage) -> bool) -> Option<String> {
        self.messages
            .0
            .iter()
            .filter(|(_, m)| pick(m))
            .min_by_key(|(_, m)| m.seq)
            .map(|(id, _)| id.clone())
    }

    /// Drops `message_id` to bound what incomplete messages hold, and
    /// refuses its later chunks.
    fn push_out(&mut self, message_id: &str) {
        log::warn!("msrp: dropped incomplete message {message_id}: too many or too large together");
        self.drop_message(message_id, AbortReason::Crowded);
        self.remember_refused(message_id, AbortReason::Crowded);
    }

    /// Removes `message_id` from the messages being reassembled.
    fn take_message(&mut self, message_id: &str) -> Option<RxMessage> {
        let m = self.messages.remove(message_id)?;
        self.held -= m.store.held();
        Some(m)
    }

    fn drop_message(&mut self, message_id: &str, reason: AbortReason) {
        if let Some(m) = self.take_message(message_id) {
            m.store.abort();
            self.out
                .push_back(RxOutput::Event(TransferEvent::MessageAborted {
                    message_id: message_id.to_string(),
                    reason,
                }));
        }
    }

    /// Why `message_id` was refused, if it was (not hashing the id when
    /// nothing was).
    fn refused_reason(&self, message_id: &str) -> Option<&AbortReason> {
        if self.refused.is_empty() {
            return None;
        }
        self.refused.get(message_id)
    }

    fn remember_refused(&mut self, message_id: &str, reason: AbortReason) {
        if self
            .refused
            .insert(message_id.to_string(), reason)
            .is_none()
        {
            self.refused_order.push_back(message_id.to_string());
            if self.refused_order.len() > MAX_REFUSED {
                if let Some(old) = self.refused_order.pop_front() {
                    self.refused.remove(&old);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msrp::parser::{Event, Parser, ParserConfig};
    use crate::msrp::session::{Session, SessionEvent, SessionPaths};
    use crate::msrp::uri::Uri;
    use std::time::Duration;

    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;

    fn uri(s: &str) -> Uri {
        s.parse().unwrap()
    }

    /// The tests' sessions: pieces of 16 KiB, a quarter of a default
    /// chunk, so that chunks are written in several pieces and can be
    /// interrupted between them.
    fn config() -> SessionConfig {
        SessionConfig {
            keepalive_interval: None,
            piece_size: 16 * 1024,
            ..SessionConfig::default()
        }
    }

    fn whole() -> SessionConfig {
        SessionConfig {
            delivery: Delivery::Messages,
            ..config()
        }
    }

    /// Two sessions joined in memory on a virtual clock.
    struct Pump {
        a: Session,
        b: Session,
        now: Instant,
        /// Everything `a` wrote.
        a_wire: Vec<u8>,
    }

    impl Pump {
        fn new(a: SessionConfig, b: SessionConfig) -> Pump {
            let ua = uri("msrp://127.0.0.1:2855/alice01;tcp");
            let ub = uri("msrp://127.0.0.1:2856/bob01;tcp");
            let now = Instant::now();
            Pump {
                a: Session::new(
                    SessionPaths::new(ua.clone(), std::slice::from_ref(&ub)).unwrap(),
                    a,
                    now,
                ),
                b: Session::new(SessionPaths::new(ub, &[ua]).unwrap(), b, now),
                now,
                a_wire: Vec::new(),
            }
        }

        /// One buffer from `a` to `b`, if `a` has one.
        fn step_a(&mut self) -> Option<Bytes> {
            let bytes = self.a.poll_transmit_at(self.now)?;
            self.a_wire.extend_from_slice(&bytes);
            self.b.handle_input(&bytes, self.now);
            Some(bytes)
        }

        /// Everything `b` has for `a`.
        fn flush_b(&mut self) -> bool {
            let mut moved = false;
            while let Some(bytes) = self.b.poll_transmit_at(self.now) {
                self.a.handle_input(&bytes, self.now);
                moved = true;
            }
            moved
        }

        /// Alternates: one buffer from `a`, then all of `b`'s answers, as a
        /// writer with a small window would, until both are quiet.
        fn run(&mut self) {
            loop {
                let a = self.step_a().is_some();
                let b = self.flush_b();
                if !a && !b {
                    return;
                }
            }
        }

        fn advance(&mut self, by: Duration) {
            self.now += by;
            self.a.handle_timeout(self.now);
            self.b.handle_timeout(self.now);
        }

        /// A SEND of `b`'s session along `a`'s paths, with `range` and `flag`.
        fn part(&self, mid: &str, range: &str, data: &[u8], flag: Flag) -> Bytes {
            let mut c = self
                .a
                .make_message(Bytes::copy_from_slice(data), "text/plain", Some(mid));
            c.headers.set("Byte-Range", range);
            c.flag = flag;
            c.encode()
        }
    }

    fn events(s: &mut Session) -> Vec<SessionEvent> {
        std::iter::from_fn(|| s.poll_event()).collect()
    }

    fn transfer_events(s: &mut Session) -> Vec<TransferEvent> {
        std::iter::from_fn(|| s.poll_transfer_event()).collect()
    }

    /// The chunks in a byte stream.
    fn chunks_of(wire: &[u8]) -> Vec<Chunk> {
        let mut parser = Parser::with_config(ParserConfig {
            max_body_len: u64::MAX,
            ..ParserConfig::default()
        });
        let mut out = Vec::new();
        let mut cur: Option<(Chunk, Vec<u8>)> = None;
        parser.feed(wire, |ev| match ev.unwrap() {
            Event::Start(h) => cur = Some((h.to_chunk(), Vec::new())),
            Event::Data(d) => cur.as_mut().unwrap().1.extend_from_slice(d),
            Event::End(flag) => {
                let (mut c, body) = cur.take().unwrap();
                c.data = body.into();
                c.flag = flag;
                out.push(c);
            }
        });
        assert!(parser.finish().is_ok());
        out
    }

    fn sends(wire: &[u8]) -> Vec<Chunk> {
        chunks_of(wire)
            .into_iter()
            .filter(|c| c.method() == Some("SEND"))
            .collect()
    }

    fn pattern(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i.wrapping_mul(31) ^ (i >> 9)) as u8)
            .collect()
    }

    fn range(c: &Chunk) -> ByteRange {
        c.byte_range().unwrap().unwrap()
    }

    fn first_line(b: &[u8]) -> String {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        String::from_utf8(b[..end].to_vec()).unwrap()
    }

    fn incoming(s: &mut Session) -> Vec<Chunk> {
        events(s)
            .into_iter()
            .filter_map(|e| match e {
                SessionEvent::Incoming(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    fn failed(events: &[TransferEvent]) -> Option<(u16, String, bool)> {
        events.iter().find_map(|e| match e {
            TransferEvent::Failed {
                code,
                comment,
                local,
                ..
            } => Some((*code, comment.clone(), *local)),
            _ => None,
        })
    }

    /// Gives `ok` bytes, then fails.
    struct Failing {
        left: usize,
    }

    impl BodySource for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.left);
            buf[..n].fill(b'z');
            self.left -= n;
            Ok(n)
        }
    }

    /// The SEND body sizes a session sends for a 20 KiB message when its
    /// paths name relays (`local` or `remote`).
    fn relayed_sizes(config: SessionConfig, local: bool) -> Vec<usize> {
        let me = uri("msrp://127.0.0.1:2855/alice01;tcp");
        let relay = uri("msrp://127.0.0.1:2857/relay01;tcp");
        let peer = uri("msrp://127.0.0.1:2856/bob01;tcp");
        let mut paths = if local {
            SessionPaths::new(me, std::slice::from_ref(&peer)).unwrap()
        } else {
            SessionPaths::new(me, &[relay.clone(), peer]).unwrap()
        };
        if local {
            paths.local_path = vec![relay];
        }
        let now = Instant::now();
        let mut s = Session::new(paths, config, now);
        s.send_message(OutgoingMessage::from_bytes(pattern(20 * 1024)), now)
            .unwrap();
        let mut wire = Vec::new();
        while let Some(bytes) = s.poll_transmit_at(now) {
            wire.extend_from_slice(&bytes);
        }
        sends(&wire).iter().map(|c| c.data.len()).collect()
    }

    #[test]
    fn relayed_sessions_send_chunks_of_at_most_eight_kib() {
        assert_eq!(relayed_sizes(config(), true), [8192, 8192, 4096]);
        assert_eq!(relayed_sizes(config(), false), [8192, 8192, 4096]);
        // chunk_size still caps a larger relayed limit.
        let small = SessionConfig {
            chunk_size: 6 * 1024,
            relayed_chunk_size: 64 * 1024,
            ..config()
        };
        assert_eq!(relayed_sizes(small, true), [6144, 6144, 6144, 2048]);
    }

    #[test]
    fn ten_mib_from_a_reader_reassembles() {
        let data = pattern(10 * MIB);
        let len = data.len() as u64;
        let mut p = Pump::new(config(), whole());
        let msg = OutgoingMessage::from_reader(io::Cursor::new(data.clone()), Some(len))
            .content_type("application/octet-stream")
            .message_id("file0001");
        let id = p.a.send_message(msg, p.now).unwrap();
        assert_eq!(p.a.active_transfers(), 1);
        p.run();
        let sent = sends(&p.a_wire);
        assert_eq!(sent.len(), 160);
        let mut tids = std::collections::HashSet::new();
        for (i, c) in sent.iter().enumerate() {
            assert!(tids.insert(c.transaction_id.clone()));
            assert_eq!(c.message_id(), Some("file0001"));
            assert_eq!(c.content_type(), Some("application/octet-stream"));
            let r = range(c);
            assert_eq!(r.start, (i * 64 * KIB) as u64 + 1);
            assert_eq!((r.end, r.total), (None, Some(len)));
            assert_eq!(c.data.len(), 64 * KIB);
            let last = i == sent.len() - 1;
            assert_eq!(c.flag, if last { Flag::End } else { Flag::Continue });
        }
        let got = incoming(&mut p.b);
        assert_eq!(got.len(), 1);
        assert!(got[0].data == data, "bodies differ");
        assert_eq!(
            got[0].headers.get("Byte-Range"),
            Some("1-10485760/10485760")
        );
        assert_eq!(got[0].message_id(), Some("file0001"));
        assert_eq!(got[0].flag, Flag::End);
        let ev = transfer_events(&mut p.a);
        assert_eq!(ev.len(), 161);
        assert_eq!(
            ev[159],
            TransferEvent::Progress {
                id,
                acknowledged_bytes: len,
                total: Some(len)
            }
        );
        assert_eq!(ev[160], TransferEvent::Completed { id });
        assert_eq!(p.a.active_transfers(), 0);
        assert!(!p.a.has_transmit());
        assert_eq!(p.a.poll_timeout(), None);
    }

    #[test]
    fn send_window_holds_new_chunks_until_a_200() {
        let mut p = Pump::new(
            SessionConfig {
                send_window: MIB as u64,
                ..config()
            },
            whole(),
        );
        let data = pattern(4 * MIB);
        let len = data.len() as u64;
        let msg =
            OutgoingMessage::from_bytes(data.clone()).content_type("application/octet-stream");
        p.a.send_message(msg, p.now).unwrap();
        // Written but not answered: `b` has not been asked to respond yet.
        while p.step_a().is_some() {}
        assert_eq!(sends(&p.a_wire).len(), 16, "1 MiB of 64 KiB chunks");
        assert!(!p.a.has_transmit(), "the window is full");
        // One 200 opens room for one more chunk.
        let first = p.b.poll_transmit_at(p.now).unwrap();
        p.a.handle_input(&first, p.now);
        assert!(p.a.has_transmit());
        while p.step_a().is_some() {}
        assert_eq!(sends(&p.a_wire).len(), 17);
        // A window of 0 is no limit; the rest goes out and completes.
        p.run();
        assert_eq!(sends(&p.a_wire).len(), 64);
        let got = incoming(&mut p.b);
        assert!(got.len() == 1 && got[0].data == data && got[0].data.len() as u64 == len);
        assert_eq!(p.a.active_transfers(), 0);
        let mut q = Pump::new(
            SessionConfig {
                send_window: 0,
                ..config()
            },
            whole(),
        );
        q.a.send_message(OutgoingMessage::from_bytes(data), q.now)
            .unwrap();
        while q.step_a().is_some() {}
        assert_eq!(sends(&q.a_wire).len(), 64, "no window: everything written");
    }

    #[test]
    fn small_message_is_one_chunk_with_a_known_end() {
        let mut p = Pump::new(config(), config());
        let msg = OutgoingMessage::from_bytes("hello").content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        assert!(p.a.has_transmit());
        let wire = p.step_a().unwrap();
        let c = crate::msrp::parse_chunk(&wire).unwrap();
        assert_eq!(c.headers.get("Byte-Range"), Some("1-5/5"));
        assert_eq!((&c.data[..], c.flag), (&b"hello"[..], Flag::End));
        assert!(p.a.poll_transmit().is_none());
        p.run();
        assert_eq!(incoming(&mut p.b)[0].data, "hello");
        assert_eq!(
            transfer_events(&mut p.a),
            [
                TransferEvent::Progress {
                    id,
                    acknowledged_bytes: 5,
                    total: Some(5)
                },
                TransferEvent::Completed { id }
            ]
        );
        // An empty message is a `1-0/0` chunk.
        let id =
            p.a.send_message(OutgoingMessage::from_bytes(""), p.now)
                .unwrap();
        let wire = p.step_a().unwrap();
        let c = crate::msrp::parse_chunk(&wire).unwrap();
        assert_eq!(c.headers.get("Byte-Range"), Some("1-0/0"));
        p.run();
        assert_eq!(transfer_events(&mut p.a), [TransferEvent::Completed { id }]);
    }

    #[test]
    fn chat_interrupts_a_chunk_between_pieces() {
        let data = pattern(100_000);
        let mut p = Pump::new(config(), config());
        let msg = OutgoingMessage::from_bytes(data.clone()).content_type("text/plain");
        p.a.send_message(msg, p.now).unwrap();
        let first = p.step_a().unwrap();
        assert!(first.len() > 16 * KIB && first.len() < 17 * KIB);
        let head = String::from_utf8_lossy(&first[..400]).to_string();
        assert!(head.contains("Byte-Range: 1-*/100000\r\n"), "{head}");
        let tid = first_line(&first).split(' ').nth(1).unwrap().to_string();
        // A chat message queued while the chunk is open.
        let chat = p.a.make_message("hi", "text/plain", None);
        p.a.send_chunk(chat, true, p.now).unwrap();
        let end = p.step_a().unwrap();
        assert_eq!(&end[..], format!("\r\n-------{tid}+\r\n").as_bytes());
        let chat = p.step_a().unwrap();
        assert_eq!(crate::msrp::parse_chunk(&chat).unwrap().data, "hi");
        let next = p.step_a().unwrap();
        let text = String::from_utf8_lossy(&next[..400]).to_string();
        assert!(text.contains("Byte-Range: 16385-*/100000\r\n"), "{text}");
        p.run();
        // The receiver (per-chunk delivery) saw: part 1, the chat, the rest.
        let got = incoming(&mut p.b);
        assert_eq!(got[0].data.len(), 16 * KIB);
        assert_eq!(got[0].flag, Flag::Continue);
        assert_eq!(got[1].data, "hi");
        let mut body = got[0].data.to_vec();
        for c in &got[2..] {
            assert_eq!(range(c).start as usize, body.len() + 1);
            body.extend_from_slice(&c.data);
        }
        assert_eq!(body, data);
        assert_eq!(got.last().unwrap().flag, Flag::End);
    }

    #[test]
    fn transfers_take_turns_per_chunk() {
        let mut p = Pump::new(config(), whole());
        let x = pattern(200_000);
        let y: Vec<u8> = x.iter().rev().copied().collect();
        for (d, mid) in [(&x, "mx000001"), (&y, "my000001")] {
            let msg = OutgoingMessage::from_bytes(d.clone())
                .content_type("text/plain")
                .message_id(mid);
            p.a.send_message(msg, p.now).unwrap();
        }
        p.run();
        let order: Vec<_> = sends(&p.a_wire)
            .iter()
            .map(|c| c.message_id().unwrap().to_string())
            .collect();
        assert_eq!(order.len(), 8);
        for pair in order.chunks(2) {
            assert_ne!(pair[0], pair[1], "{order:?}");
        }
        let got = incoming(&mut p.b);
        assert_eq!(got.len(), 2);
        assert!(got.iter().any(|c| c.data == x) && got.iter().any(|c| c.data == y));
    }

    #[test]
    fn resume_from_a_position() {
        let data = pattern(200_000);
        let mut p = Pump::new(config(), config());
        let msg =
            OutgoingMessage::from_reader(io::Cursor::new(data[50_000..].to_vec()), Some(200_000))
                .content_type("text/plain")
                .position(50_000);
        let id = p.a.send_message(msg, p.now).unwrap();
        p.run();
        let sent = sends(&p.a_wire);
        assert_eq!(sent[0].headers.get("Byte-Range"), Some("50001-*/200000"));
        let body: Vec<u8> = sent.iter().flat_map(|c| c.data.to_vec()).collect();
        assert_eq!(body, &data[50_000..]);
        let ev = transfer_events(&mut p.a);
        assert_eq!(
            ev[0],
            TransferEvent::Progress {
                id,
                acknowledged_bytes: 50_000 + 65_536,
                total: Some(200_000)
            }
        );
        assert_eq!(ev.last(), Some(&TransferEvent::Completed { id }));
        // A position past the size is refused, the message handed back.
        let bad = OutgoingMessage::from_bytes("abc").position(4);
        let err = p.a.send_message(bad, p.now).unwrap_err();
        assert!(matches!(err, SendMessageError::Invalid { .. }));
        assert_eq!(err.into_message().position, 4);
    }

    #[test]
    fn cancel_mid_chunk_sends_abort_and_receiver_discards() {
        let mut p = Pump::new(config(), whole());
        let msg = OutgoingMessage::from_bytes(pattern(100_000)).content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        let first = p.step_a().unwrap();
        let tid = first_line(&first).split(' ').nth(1).unwrap().to_string();
        assert!(p.a.cancel(id));
        assert!(!p.a.cancel(id), "already gone");
        let end = p.step_a().unwrap();
        assert_eq!(&end[..], format!("\r\n-------{tid}#\r\n").as_bytes());
        p.run();
        assert!(p.a.poll_transmit().is_none());
        assert_eq!(
            failed(&transfer_events(&mut p.a)),
            Some((CANCELLED, "Cancelled".to_string(), true))
        );
        assert!(incoming(&mut p.b).is_empty());
        assert_eq!(
            transfer_events(&mut p.b),
            [TransferEvent::MessageAborted {
                message_id: sends(&p.a_wire)[0].message_id().unwrap().to_string(),
                reason: AbortReason::Sender
            }]
        );
    }

    #[test]
    fn cancel_between_chunks_sends_an_empty_abort_chunk() {
        let cfg = SessionConfig {
            chunk_size: 16 * 1024,
            ..config()
        };
        let mut p = Pump::new(cfg, whole());
        let msg = OutgoingMessage::from_bytes(pattern(100_000)).content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        let first = p.step_a().unwrap();
        assert!(first.ends_with(b"+\r\n"), "one piece fills the chunk");
        p.a.cancel(id);
        let abort = crate::msrp::parse_chunk(&p.step_a().unwrap()).unwrap();
        assert_eq!(abort.flag, Flag::Abort);
        assert!(abort.data.is_empty());
        assert_eq!(abort.headers.get("Byte-Range"), Some("16385-16384/100000"));
        p.run();
        assert!(matches!(
            &transfer_events(&mut p.b)[..],
            [TransferEvent::MessageAborted {
                reason: AbortReason::Sender,
                ..
            }]
        ));
        // Cancelled before anything was sent: nothing goes out.
        let msg = OutgoingMessage::from_bytes(pattern(100)).content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        assert!(p.a.cancel(id));
        assert!(!p.a.has_transmit());
        assert!(p.a.poll_transmit().is_none());
    }

    #[test]
    fn failure_response_stops_the_transfer() {
        // 415 from the receiver at the end of the first chunk.
        let b = SessionConfig {
            accept_types: vec!["text/plain".into()],
            ..config()
        };
        let mut p = Pump::new(config(), b);
        let msg = OutgoingMessage::from_bytes(pattern(300_000)).content_type("image/png");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        assert_eq!(sends(&p.a_wire).len(), 1);
        assert_eq!(
            failed(&transfer_events(&mut p.a)),
            Some((415, "Unsupported media type".to_string(), false))
        );
        assert_eq!(p.a.active_transfers(), 0);

        // A 403 arriving while a chunk is being written ends it with `#`.
        let mut p = Pump::new(config(), config());
        let msg = OutgoingMessage::from_bytes(pattern(300_000)).content_type("text/plain");
        p.a.send_message(msg, p.now).unwrap();
        let first = p.a.poll_transmit().unwrap();
        let tid = first_line(&first).split(' ').nth(1).unwrap().to_string();
        let resp = format!(
            "MSRP {tid} 403 Forbidden\r\nTo-Path: msrp://127.0.0.1:2855/alice01;tcp\r\n\
             From-Path: msrp://127.0.0.1:2856/bob01;tcp\r\n-------{tid}$\r\n"
        );
        p.a.handle_input(resp.as_bytes(), p.now);
        let end = p.a.poll_transmit().unwrap();
        assert_eq!(&end[..], format!("\r\n-------{tid}#\r\n").as_bytes());
        assert!(p.a.poll_transmit().is_none());
        assert_eq!(
            failed(&transfer_events(&mut p.a)),
            Some((403, "Forbidden".to_string(), false))
        );
        assert!(events(&mut p.a).is_empty(), "not a SessionEvent::Response");
    }

    #[test]
    fn response_timeout_fails_the_transfer() {
        let mut p = Pump::new(config(), config());
        let msg = OutgoingMessage::from_bytes(pattern(1000)).content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        p.a.poll_transmit().unwrap(); // the peer never sees it
        assert_eq!(p.a.poll_timeout(), Some(p.now + Duration::from_secs(30)));
        p.advance(Duration::from_secs(29));
        assert!(transfer_events(&mut p.a).is_empty());
        p.advance(Duration::from_secs(1));
        assert_eq!(
            transfer_events(&mut p.a),
            [TransferEvent::Failed {
                id,
                code: 408,
                comment: TIMEOUT_COMMENT.to_string(),
                local: true
            }]
        );
        assert_eq!(p.a.poll_timeout(), None);
    }

    #[test]
    fn failure_report_partial_and_no() {
        for fr in ["partial", "no"] {
            let mut p = Pump::new(config(), whole());
            let data = pattern(150_000);
            let msg = OutgoingMessage::from_bytes(data.clone())
                .content_type("text/plain")
                .header("Failure-Report", fr);
            let id = p.a.send_message(msg, p.now).unwrap();
            // Written is acknowledged: done without hearing from the peer.
            while p.a.poll_transmit().is_some() {}
            let ev = transfer_events(&mut p.a);
            assert_eq!(ev.len(), 4, "{ev:?}");
            assert_eq!(ev[3], TransferEvent::Completed { id });
            assert_eq!(p.a.poll_timeout(), None, "nothing awaited after completion");
        }
        // partial: a failure still stops the message.
        let b = SessionConfig {
            accept_types: vec!["text/plain".into()],
            ..config()
        };
        let mut p = Pump::new(config(), b);
        let msg = OutgoingMessage::from_bytes(pattern(300_000))
            .content_type("image/png")
            .header("Failure-Report", "partial");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        assert_eq!(sends(&p.a_wire).len(), 1);
        let ev = transfer_events(&mut p.a);
        assert_eq!(failed(&ev).map(|f| f.0), Some(415));
        assert!(!ev
            .iter()
            .any(|e| matches!(e, TransferEvent::Completed { .. })));
    }

    #[test]
    fn max_message_size_is_answered_413() {
        let b = SessionConfig {
            max_message_size: 20_000,
            ..whole()
        };
        // Known total over the limit: refused at the first chunk's start,
        // which the sender hears while still writing that chunk.
        let mut p = Pump::new(config(), b.clone());
        let msg = OutgoingMessage::from_bytes(pattern(100_000))
            .content_type("text/plain")
            .message_id("big00001");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        let sent = chunks_of(&p.a_wire);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].flag, Flag::Abort);
        assert_eq!(
            failed(&transfer_events(&mut p.a)),
            Some((413, "Message too large".to_string(), false))
        );
        assert_eq!(
            transfer_events(&mut p.b),
            [TransferEvent::MessageAborted {
                message_id: "big00001".into(),
                reason: AbortReason::TooLarge
            }]
        );
        // Later chunks of that message are refused too.
        let late = p.part("big00001", "65537-*/100000", b"more", Flag::Continue);
        p.b.handle_input(&late, p.now);
        let r = crate::msrp::parse_chunk(&p.b.poll_transmit().unwrap()).unwrap();
        assert_eq!(r.code(), Some(413));

        // Unknown total: refused mid-chunk once the bytes exceed the limit.
        let mut p = Pump::new(config(), b);
        let msg = OutgoingMessage::from_reader(io::Cursor::new(pattern(100_000)), None)
            .content_type("text/plain");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        let sent = chunks_of(&p.a_wire);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].flag, Flag::Abort);
        assert_eq!(
            sent[0].data.len(),
            32 * KIB,
            "stopped after the second piece"
        );
        assert_eq!(failed(&transfer_events(&mut p.a)).map(|f| f.0), Some(413));
        assert!(incoming(&mut p.b).is_empty());
    }

    #[test]
    fn out_of_order_overlapping_chunks_reassemble() {
        let data = pattern(1000);
        let mut p = Pump::new(config(), whole());
        let parts: [(usize, usize, Flag, bool); 5] = [
            (500, 1000, Flag::End, false),
            (0, 300, Flag::Continue, true),
            (0, 300, Flag::Continue, false), // a duplicate
            (200, 450, Flag::Continue, true),
            (440, 510, Flag::Continue, false), // overlaps both sides
        ];
        for (i, &(a, b, flag, star)) in parts.iter().enumerate() {
            let end = if star { "*".to_string() } else { b.to_string() };
            let total = if i % 2 == 0 { "1000" } else { "*" };
            let wire = p.part(
                "ooo00001",
                &format!("{}-{end}/{total}", a + 1),
                &data[a..b],
                flag,
            );
            // Fed in odd slices to exercise streaming.
            for s in wire.chunks(7) {
                p.b.handle_input(s, p.now);
            }
            let got = incoming(&mut p.b);
            if i + 1 < parts.len() {
                assert!(got.is_empty(), "complete too early at part {i}");
            } else {
                assert_eq!(got.len(), 1);
                assert!(got[0].data == data);
                assert_eq!(got[0].headers.get("Byte-Range"), Some("1-1000/1000"));
            }
        }
        let mut codes = Vec::new();
        while let Some(b) = p.b.poll_transmit() {
            codes.extend(chunks_of(&b).iter().map(|c| c.code()));
        }
        assert_eq!(codes, [Some(200); 5]);
    }

    /// The codes of `b`'s answers to `wire`.
    fn answer_codes(p: &mut Pump, wire: &[u8]) -> Vec<(u16, String)> {
        p.b.handle_input(wire, p.now);
        let mut codes = Vec::new();
        while let Some(b) = p.b.poll_transmit() {
            codes.extend(
                chunks_of(&b)
                    .iter()
                    .filter_map(|c| Some((c.code()?, c.comment()?.to_string()))),
            );
        }
        codes
    }

    fn crowded(mid: &str) -> TransferEvent {
        TransferEvent::MessageAborted {
            message_id: mid.into(),
            reason: AbortReason::Crowded,
        }
    }

    #[test]
    fn at_most_sixteen_incomplete_messages_at_once() {
        let mut p = Pump::new(config(), whole());
        let ok = vec![(200, "OK".to_string())];
        for i in 0..=MAX_PARTIAL_MESSAGES {
            let wire = p.part(&format!("m{i}"), "1-*/4", b"ab", Flag::Continue);
            assert_eq!(answer_codes(&mut p, &wire), ok, "m{i}");
        }
        // The seventeenth pushed out the first.
        assert_eq!(transfer_events(&mut p.b), [crowded("m0")]);
        let wire = p.part("m0", "3-4/4", b"cd", Flag::End);
        assert_eq!(
            answer_codes(&mut p, &wire),
            [(413, "Too many incomplete messages".to_string())]
        );
        assert!(incoming(&mut p.b).is_empty());
        assert!(transfer_events(&mut p.b).is_empty(), "reported once");
        // The others are still there.
        for i in 1..=MAX_PARTIAL_MESSAGES {
            let wire = p.part(&format!("m{i}"), "3-4/4", b"cd", Flag::End);
            assert_eq!(answer_codes(&mut p, &wire), ok);
            let got = incoming(&mut p.b);
            assert_eq!(got.len(), 1);
            assert_eq!(&got[0].data[..], b"abcd");
        }
    }

    #[test]
    fn incomplete_messages_in_memory_share_one_budget() {
        let b = SessionConfig {
            max_message_size: 10,
            ..whole()
        };
        let mut p = Pump::new(config(), b);
        let ok = vec![(200, "OK".to_string())];
        for mid in ["a", "b"] {
            let wire = p.part(mid, "1-*/*", b"four", Flag::Continue);
            assert_eq!(answer_codes(&mut p, &wire), ok);
        }
        assert!(transfer_events(&mut p.b).is_empty());
        // c needs 4 more bytes than the 2 left: a, the oldest, makes room.
        let wire = p.part("c", "1-*/*", b"cccc", Flag::Continue);
        assert_eq!(answer_codes(&mut p, &wire), ok);
        assert_eq!(transfer_events(&mut p.b), [crowded("a")]);
        // b cannot grow by 6 with c, newer, holding 4: b goes itself.
        let wire = p.part("b", "5-*/*", b"bbbbbb", Flag::Continue);
        assert_eq!(
            answer_codes(&mut p, &wire),
            [(413, "Too many incomplete messages".to_string())]
        );
        assert_eq!(transfer_events(&mut p.b), [crowded("b")]);
        // c alone may take the whole budget.
        let wire = p.part("c", "5-10/10", b"cccccc", Flag::End);
        assert_eq!(answer_codes(&mut p, &wire), ok);
        let got = incoming(&mut p.b);
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].data[..], b"cccccccccc");
        // With nothing held, the budget is whole again.
        let wire = p.part("d", "1-10/10", b"dddddddddd", Flag::End);
        assert_eq!(answer_codes(&mut p, &wire), ok);
        assert_eq!(incoming(&mut p.b).len(), 1);
    }

    #[test]
    fn unknown_total() {
        for len in [150_000, 2 * 64 * KIB] {
            let data = pattern(len);
            let mut p = Pump::new(config(), whole());
            let msg = OutgoingMessage::from_reader(io::Cursor::new(data.clone()), None)
                .content_type("text/plain");
            let id = p.a.send_message(msg, p.now).unwrap();
            p.run();
            let sent = sends(&p.a_wire);
            assert!(sent.iter().all(|c| c.flag != Flag::Abort));
            let last = sent.last().unwrap();
            assert_eq!(last.flag, Flag::End);
            if len % (64 * KIB) == 0 {
                // Ended at a chunk boundary: an empty final chunk.
                assert!(last.data.is_empty());
                assert_eq!(
                    last.headers.get("Byte-Range"),
                    Some(format!("{}-{len}/{len}", len + 1).as_str())
                );
            } else {
                assert_eq!(range(last).total, None);
            }
            assert!(sent[..sent.len() - 1].iter().all(|c| c
                .headers
                .get("Byte-Range")
                .unwrap()
                .ends_with("-*/*")));
            let got = incoming(&mut p.b);
            assert_eq!(got.len(), 1);
            assert!(got[0].data == data);
            let ev = transfer_events(&mut p.a);
            assert_eq!(ev.last(), Some(&TransferEvent::Completed { id }));
        }
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("msgwire-{}-{name}", std::process::id()))
    }

    fn file_sinks(dir_name: &'static str) -> SinkFactory {
        SinkFactory::new(move |head| {
            let sink = FileSink::create(temp_path(&format!("{dir_name}-{}", head.message_id)))?;
            Ok(Some(Box::new(sink) as Box<dyn MessageSink>))
        })
    }

    #[test]
    fn sink_factory_writes_to_a_file() {
        let data = pattern(300_000);
        let b = SessionConfig {
            sink_factory: Some(file_sinks("sink")),
            ..whole()
        };
        let mut p = Pump::new(config(), b);
        let msg = OutgoingMessage::from_bytes(data.clone())
            .content_type("application/octet-stream")
            .message_id("sink0001");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        let path = temp_path("sink-sink0001");
        let stored = std::fs::read(&path);
        let _ = std::fs::remove_file(&path);
        assert!(stored.unwrap() == data);
        assert!(incoming(&mut p.b).is_empty(), "no body in memory");
        let ev = transfer_events(&mut p.b);
        let [TransferEvent::MessageStored { head, size }] = &ev[..] else {
            panic!("{ev:?}")
        };
        assert_eq!(*size, 300_000);
        assert!(head.data.is_empty());
        assert_eq!(head.headers.get("Byte-Range"), Some("1-300000/300000"));
        assert_eq!(head.message_id(), Some("sink0001"));

        // An aborted message's file is removed.
        let b = SessionConfig {
            sink_factory: Some(file_sinks("sink")),
            ..whole()
        };
        let mut p = Pump::new(config(), b);
        let msg = OutgoingMessage::from_bytes(data)
            .content_type("application/octet-stream")
            .message_id("sink0002");
        let id = p.a.send_message(msg, p.now).unwrap();
        p.step_a();
        let path = temp_path("sink-sink0002");
        assert!(path.exists());
        p.a.cancel(id);
        p.run();
        assert!(!path.exists());
    }

    #[test]
    fn close_fails_transfers_and_drops_partial_messages() {
        let mut p = Pump::new(config(), whole());
        let msg = OutgoingMessage::from_bytes(pattern(100_000)).content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        let msg = OutgoingMessage::from_bytes(pattern(10)).content_type("text/plain");
        let id2 = p.a.send_message(msg, p.now).unwrap();
        p.step_a();
        p.a.handle_close();
        assert!(p.a.poll_transmit().is_none());
        assert!(!p.a.has_transmit());
        let ev = transfer_events(&mut p.a);
        let closed = |id| TransferEvent::Failed {
            id,
            code: CONNECTION_CLOSED,
            comment: "Connection closed".into(),
            local: true,
        };
        assert_eq!(ev, [closed(id), closed(id2)]);
        assert_eq!(p.a.active_transfers(), 0);
        let msg = OutgoingMessage::from_bytes("x");
        assert!(matches!(
            p.a.send_message(msg, p.now),
            Err(SendMessageError::Closed(_))
        ));
        p.b.handle_close();
        assert!(matches!(
            &transfer_events(&mut p.b)[..],
            [TransferEvent::MessageAborted {
                reason: AbortReason::Closed,
                ..
            }]
        ));
    }

    fn reports(s: &mut Session) -> Vec<String> {
        incoming(s)
            .into_iter()
            .filter(|c| c.method() == Some("REPORT"))
            .map(|c| c.headers.get("Byte-Range").unwrap().to_string())
            .collect()
    }

    #[test]
    fn success_reports_per_chunk_and_per_message() {
        for (b, want) in [
            (config(), vec!["1-65536/100000", "65537-100000/100000"]),
            (whole(), vec!["1-100000/100000"]),
        ] {
            let mut p = Pump::new(config(), b);
            let msg = OutgoingMessage::from_bytes(pattern(100_000))
                .content_type("text/plain")
                .header("Success-Report", "yes");
            p.a.send_message(msg, p.now).unwrap();
            p.run();
            assert_eq!(reports(&mut p.a), want);
        }
    }

    #[test]
    fn source_errors_fail_the_transfer() {
        let mut p = Pump::new(config(), whole());
        let msg = OutgoingMessage::new(Failing { left: 20_000 }, Some(100_000))
            .content_type("text/plain");
        let id = p.a.send_message(msg, p.now).unwrap();
        p.run();
        let sent = chunks_of(&p.a_wire);
        assert_eq!(sent.len(), 1);
        assert_eq!((sent[0].data.len(), sent[0].flag), (20_000, Flag::Abort));
        let ev = transfer_events(&mut p.a);
        let Some((code, comment, true)) = failed(&ev) else {
            panic!("{ev:?}")
        };
        assert_eq!(code, SOURCE_FAILED);
        assert!(comment.contains("disk on fire"), "{comment}");
        assert!(matches!(ev[..], [TransferEvent::Failed { id: i, .. }] if i == id));
        assert!(matches!(
            &transfer_events(&mut p.b)[..],
            [TransferEvent::MessageAborted {
                reason: AbortReason::Sender,
                ..
            }]
        ));
        // A source shorter than the announced size.
        let mut p = Pump::new(config(), config());
        let msg = OutgoingMessage::new(Bytes::from(pattern(70_000)), Some(100_000))
            .content_type("text/plain");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        let sent = chunks_of(&p.a_wire);
        assert_eq!(sent.last().unwrap().flag, Flag::Abort);
        let (code, comment, _) = failed(&transfer_events(&mut p.a)).unwrap();
        assert_eq!(code, SOURCE_FAILED);
        assert!(comment.contains("70000 of 100000"), "{comment}");
    }

    #[test]
    fn reserved_and_bad_headers_are_refused() {
        let mut p = Pump::new(config(), config());
        for (name, value) in [
            ("Byte-Range", "1-2/2"),
            ("message-id", "x1234"),
            ("Failure-Report", "maybe"),
            ("Bad Name", "x"),
            ("X-Thing", "a\r\nb"),
        ] {
            let msg = OutgoingMessage::from_bytes("x").header(name, value);
            assert!(
                matches!(
                    p.a.send_message(msg, p.now),
                    Err(SendMessageError::Invalid { .. })
                ),
                "{name}"
            );
        }
        let msg = OutgoingMessage::from_bytes("x").message_id("");
        assert!(p.a.send_message(msg, p.now).is_err());
        assert_eq!(p.a.active_transfers(), 0);
    }

    #[test]
    fn whole_mode_keeps_limits_for_collected_chunks() {
        let b = SessionConfig {
            parser: ParserConfig {
                max_body_len: 100,
                ..ParserConfig::default()
            },
            ..whole()
        };
        let mut p = Pump::new(config(), b);
        // A SEND without Message-ID is collected per chunk, under the limit.
        let mut m = p.a.make_message(vec![b'x'; 500], "text/plain", None);
        m.headers.remove("Message-ID");
        p.a.send_chunk(m, true, p.now).unwrap();
        // Messages stream past it.
        let msg = OutgoingMessage::from_bytes(pattern(5000)).content_type("text/plain");
        p.a.send_message(msg, p.now).unwrap();
        p.run();
        let got = incoming(&mut p.b);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data.len(), 5000);
        assert!(events(&mut p.a).iter().any(|e| matches!(
            e,
            SessionEvent::Response { response, .. } if response.code() == Some(413)
        )));
    }

    #[test]
    fn pieces_and_streamed_chunks_reach_the_logger() {
        use crate::msrp::session::SharedLogger;
        use crate::msrp::trafficlog::TrafficLogger;
        use std::sync::Mutex;
        #[derive(Default)]
        struct Rec(Mutex<Vec<String>>);
        impl TrafficLogger for Rec {
            fn received_new_chunk(&self, _: &str, _: &crate::msrp::Head<'_>) {
                self.0.lock().unwrap().push("rx start".into());
            }
            fn received_chunk_data(&self, _: &str, _: &str, data: &[u8]) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("rx data {}", data.len()));
            }
            fn received_chunk_end(&self, _: &str, tid: &str, end: &[u8]) {
                assert!(end.starts_with(b"-------") && end[7..].starts_with(tid.as_bytes()));
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("rx end {}", end[end.len() - 1] as char));
            }
            fn sent_new_chunk(&self, _: &str, _: &str, head: &[u8]) {
                assert!(head.starts_with(b"MSRP "));
                let body = if head.ends_with(b"\r\n\r\n") {
                    " body"
                } else {
                    ""
                };
                self.0.lock().unwrap().push(format!("tx start{body}"));
            }
            fn sent_chunk_data(&self, _: &str, _: &str, data: &[u8]) {
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("tx data {}", data.len()));
            }
            fn sent_chunk_end(&self, _: &str, tid: &str, end: &[u8]) {
                assert!(end.starts_with(b"\r\n-------") && end[9..].starts_with(tid.as_bytes()));
                self.0
                    .lock()
                    .unwrap()
                    .push(format!("tx end {}", end[end.len() - 3] as char));
            }
        }
        let tx = Arc::new(Rec::default());
        let rx = Arc::new(Rec::default());
        let a = SessionConfig {
            logger: Some(SharedLogger {
                logger: tx.clone(),
                label: "a".into(),
            }),
            ..config()
        };
        let b = SessionConfig {
            logger: Some(SharedLogger {
                logger: rx.clone(),
                label: "b".into(),
            }),
            ..whole()
        };
        let mut p = Pump::new(a, b);
        let msg = OutgoingMessage::from_bytes(pattern(40_000)).content_type("text/plain");
        p.a.send_message(msg, p.now).unwrap();
        while p.step_a().is_some() {}
        let want = [
            "tx start body",
            "tx data 16384",
            "tx data 16384",
            "tx data 7232",
            "tx end $",
        ];
        assert_eq!(*tx.0.lock().unwrap(), want);
        let got: Vec<String> =
            rx.0.lock()
                .unwrap()
                .iter()
                .filter(|l| l.starts_with("rx"))
                .cloned()
                .collect();
        assert_eq!(got.first().map(String::as_str), Some("rx start"));
        assert_eq!(got.last().map(String::as_str), Some("rx end $"));
        let n: usize = got
            .iter()
            .filter_map(|l| l.strip_prefix("rx data "))
            .map(|n| n.parse::<usize>().unwrap())
            .sum();
        assert_eq!(n, 40_000);
    }

    #[test]
    fn range_set_merges() {
        let mut r = RangeSet::default();
        r.insert(10, 20);
        r.insert(30, 40);
        r.insert(0, 5);
        assert_eq!(r.0, [(0, 5), (10, 20), (30, 40)]);
        r.insert(5, 10);
        assert_eq!(r.0, [(0, 20), (30, 40)]);
        r.insert(15, 35);
        assert_eq!(r.0, [(0, 40)]);
        assert!(r.covers(40) && !r.covers(41));
        r.insert(50, 50);
        assert_eq!(r.0, [(0, 40)]);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Any split, in any order, with repeats, reassembles.
            #[test]
            fn any_split_reassembles(
                (data, parts) in (1usize..3000, prop::collection::vec(0usize..3000, 0..8))
                    .prop_flat_map(|(len, cuts)| {
                        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % len).collect();
                        cuts.push(0);
                        cuts.push(len);
                        cuts.sort_unstable();
                        cuts.dedup();
                        let parts: Vec<(usize, usize)> =
                            cuts.windows(2).map(|w| (w[0], w[1])).collect();
                        (Just(pattern(len)), Just(parts).prop_shuffle())
                    })
                    .prop_map(|(data, mut parts)| {
                        // A repeat, before the message can be complete.
                        if parts.len() > 1 {
                            parts.insert(1, parts[0]);
                        }
                        (data, parts)
                    }),
                slice in 1usize..64,
            ) {
                let mut p = Pump::new(config(), whole());
                let len = data.len();
                let mut got = Vec::new();
                for &(a, b) in &parts {
                    let flag = if b == len { Flag::End } else { Flag::Continue };
                    let wire = p.part("prop0001", &format!("{}-*/{len}", a + 1), &data[a..b], flag);
                    for s in wire.chunks(slice) {
                        p.b.handle_input(s, p.now);
                    }
                    got.extend(incoming(&mut p.b));
                }
                prop_assert_eq!(got.len(), 1);
                prop_assert!(got[0].data == data);
            }

            /// Arbitrary ranges and flags never panic the receiver.
            #[test]
            fn arbitrary_ranges_do_not_panic(
                parts in prop::collection::vec(
                    (0u64..5000, prop::option::of(0u64..5000), prop::option::of(0u64..6000),
                     0usize..200, 0u8..3),
                    1..12),
                max in 1u64..4000,
            ) {
                let b = SessionConfig { max_message_size: max, ..whole() };
                let mut p = Pump::new(config(), b);
                for (start, end, total, len, flag) in parts {
                    let flag = [Flag::End, Flag::Continue, Flag::Abort][flag as usize];
                    let end = end.map_or("*".to_string(), |e| e.to_string());
                    let total = total.map_or("*".to_string(), |t| t.to_string());
                    let wire = p.part("any00001", &format!("{}-{end}/{total}", start + 1),
                        &pattern(len), flag);
                    p.b.handle_input(&wire, p.now);
                    while p.b.poll_transmit().is_some() {}
                    for c in incoming(&mut p.b) {
                        prop_assert!(c.data.len() as u64 <= max);
                    }
                }
                p.b.handle_close();
            }
        }
    }
}
