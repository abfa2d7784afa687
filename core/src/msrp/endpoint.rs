//! Blocking MSRP endpoints: direct session binding and a session driver.
//!
//! This is the endpoint layer on top of the sans-IO [`Session`] and the
//! blocking engine in [`crate::net`]. It has two halves:
//!
//! * **Binding** (RFC 4975 §5.4, no relays). A [`DirectConnector`] (the
//!   active side) and a [`DirectAcceptor`] (the passive side) each
//!   `prepare` a local path to advertise in SDP, then `complete` with the
//!   peer's path. The connector opens TCP to the peer and sends the empty
//!   bind SEND (`Byte-Range: 1-0/0`); the acceptor takes one incoming
//!   connection, checks the bind SEND's To-Path and From-Path (481 on a
//!   mismatch) and answers 200. Either side returns a [`BoundTransport`].
//! * **Driving.** [`MsrpSession::start`] runs a [`Session`] over a
//!   [`Connection`]: bytes the reader thread receives go into the session,
//!   what the session wants to send goes to the connection's queue, and its
//!   deadlines are served by one entry in a shared [`Timer`]. Events reach
//!   the application through one callback.
//!
//! # TLS
//!
//! `msrps` URIs run the session over TLS: give the connector a
//! [`TlsClientConfig`] and the acceptor a [`TlsServerConfig`] with
//! `with_tls`. The connector verifies the acceptor's certificate against
//! the configured CAs and the host of the peer's URI (unless the config
//! explicitly opts out); the bind exchange then runs inside TLS.
//!
//! # Naming
//!
//! The driver is called [`MsrpSession`], the legacy library's name for the
//! same object, so the Python shim can map one to one; the sans-IO state
//! machine keeps the name [`Session`]. A connector's result is
//! [`BoundTransport`] (the legacy `MSRPTransport` after `bind`).
//!
//! # Threads and callbacks
//!
//! The session callback runs on the connection's reader thread for
//! incoming data, on the shared timer thread for deadlines (local 408s,
//! keep-alive failures) and on the pump thread for events of outgoing
//! messages (e.g. a failing source); events already due when the session starts (data
//! that arrived with the bind exchange) are delivered by
//! [`MsrpSession::start`] itself. Calls never overlap and events arrive in the order
//! the session produced them: events are queued under the session lock and
//! delivered by whichever thread holds the dispatch lock, never while the
//! session lock is held, so a callback may call back into the session
//! (`send_chunk`, `send_response`, `shutdown(false)`). Callbacks must not
//! block: while one runs, nothing else is read from the connection. In
//! particular do not call [`MsrpSession::deliver_chunk`] or
//! `shutdown(true)` from a callback; they wait for the reader thread.
//!
//! # Ordering and back-pressure
//!
//! Encoded chunks move from the session to the connection under a write
//! lock, so they go out in the order the session produced them. An
//! application thread hands its chunks to the connection's bounded queue
//! (the writer thread coalesces a burst into few system calls); the reader
//! thread writes what it has (responses, and whatever else is waiting)
//! directly when the connection is idle, without waking the writer (see
//! [`crate::net::conn`]). Application threads block while the queue is
//! full (back-pressure on the sender).
//!
//! # Large messages
//!
//! [`MsrpSession::send_message`] queues a message in the session (see
//! [`super::transfer`]) and returns. After every change the driver takes
//! only the session's own output (chunks, responses, REPORTs:
//! [`Session::poll_transmit_queued`]); message pieces (64 KiB by default)
//! are pulled by a per-session **pump thread**, started with the first
//! message, one at a time and only while the connection holds fewer than
//! four queued messages ([`Sender::wait_for_room`]). So the body is read
//! as fast as the peer takes it and no faster (memory per transfer: a few
//! pieces plus the kernel's socket buffers), and anything else the session
//! sends — a chat message, the reader's responses and REPORTs — is queued
//! in the session ahead of the next piece and waits behind at most the
//! few pieces already handed to the connection. Transfer progress and
//! outcomes go to each message's [`TransferCallback`], in session order
//! with the other events; chunk response deadlines are part of the
//! session's timer entry like any other. The pump thread holds its
//! session only while moving pieces; it is joined when the shutdown ends
//! or the last handle is dropped (see [`MsrpSession`]), so no thread of a
//! session outlives it. The reader and timer threads never wait for
//! the write lock (which keeps chunks in order): when another thread
//! holds it, that thread sends
//! their output too before it lets go. This keeps the reader reading while
//! an application thread is stalled on a full queue, so two sessions
//! flooding each other do not deadlock.
//!
//! # Shutdown
//!
//! [`MsrpSession::shutdown`] walks the legacy states
//! [`Connected`](SessionState::Connected) → [`Flushing`](SessionState::Flushing)
//! (no new chunks or messages; everything already accepted is handed to the
//! connection, and messages in progress are sent to their end: completed,
//! or failed by the peer, a response timeout or the connection closing)
//! → [`Closing`](SessionState::Closing) (waits until every sent request has
//! its response, real or a local timeout) → [`Done`](SessionState::Done)
//! (the connection is closed gracefully: queue flushed, FIN, peer's FIN).
//! Incoming requests that arrive while closing are still answered and
//! delivered (the legacy library dropped them after answering 200).
//! Dropping the last [`MsrpSession`] handle without `shutdown` aborts the
//! connection without a final callback.
//!
//! # Timeouts while binding
//!
//! Each binding step has its own deadline and error variant
//! ([`BindTimeouts`]; 30 s each by default, like the legacy library):
//! TCP connect ([`Error::ConnectTimeout`]), waiting for the peer to connect
//! ([`Error::IncomingConnectTimeout`]) and the bind exchange itself
//! ([`Error::BindTimeout`]). Waiting for an incoming connection polls a
//! non-blocking listener with a back-off capped at 1 ms, because `std` has
//! no accept-with-timeout and the crate forbids `unsafe` (no raw `poll`).
//!
//! # No data loss at the hand-over
//!
//! The bind exchange is read with the same incremental [`Parser`] the
//! session uses, which stops exactly at the end-line of the bind chunk.
//! Any bytes read beyond it (a peer may send its first SEND in the same
//! segment as the bind 200) travel in the [`BoundTransport`] and are fed to
//! the session before the connection's reader starts. A bind SEND that
//! carries a body is delivered to the application as the first incoming
//! chunk, as the legacy library did.
//!
//! # Raw I/O before a session
//!
//! A [`BoundTransport`] can exchange chunks itself before (or instead of)
//! a session, like the legacy `MSRPTransport`: [`BoundTransport::write`],
//! [`write_chunk`](BoundTransport::write_chunk),
//! [`write_response`](BoundTransport::write_response) and
//! [`read_chunk`](BoundTransport::read_chunk) (blocking; chunks of any
//! size come back in "virtual" segments of `max_size` bytes). Reading goes
//! through the same parser and keeps every byte it read and did not
//! return, raw, so [`MsrpSession::start`] afterwards sees the stream from
//! the end of the last chunk returned, including a partly received chunk.
//! Only a chunk already partly returned in segments cannot be handed over:
//! `start` then fails with [`Error::MidChunk`].

use std::collections::{HashMap, VecDeque};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use parking_lot::{Condvar, Mutex};

use super::chunk::{Chunk, Flag};
use super::error::{HeaderError, ParseError};
use super::header::{ByteRange, FailureReport};
use super::parser::{Event, Parser, ParserConfig};
use super::relay::auth::{AuthClient, Reservation};
use super::rules::{make_response, random_hex, ChunkBuilder};
use super::session::{
    build_message, Session, SessionConfig, SessionError, SessionEvent, SessionPaths, TidMap,
};
use super::transfer::{AbortReason, OutgoingMessage, SendMessageError, TransferEvent, TransferId};
use super::uri::Uri;
use super::DEFAULT_PORT;
use crate::net::{
    self, Connection, Incoming, Sender, Stream, Timer, TimerHandle, TlsClientConfig, TlsError,
    TlsServerConfig,
};

/// Everything that can go wrong while binding or driving a session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The remote path given to `complete` is empty.
    #[error("the remote path is empty")]
    EmptyPath,
    /// An `msrps` URI needs TLS, but the connector or acceptor was given no
    /// TLS configuration (`with_tls`). A setup error: retrying fails again.
    #[error("msrps needs a TLS configuration (with_tls)")]
    TlsNotConfigured,
    /// The TLS handshake failed (untrusted or mismatched certificate, a
    /// peer that does not speak TLS, timeout). The connection is closed.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The host of the peer's first URI could not be resolved, or every
    /// address refused the TCP connection.
    #[error("cannot connect to {target}: {source}")]
    Connect {
        /// `host:port` that was tried.
        target: String,
        /// The last error seen.
        #[source]
        source: io::Error,
    },
    /// The TCP connection was not established within
    /// [`BindTimeouts::connect`].
    #[error("connecting to the peer timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The listener could not be set up (address in use, bad host, ...).
    #[error("cannot listen on {target}: {source}")]
    Listen {
        /// `host:port` that was asked for.
        target: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// No peer connected within [`BindTimeouts::incoming_connect`].
    #[error("no incoming connection within {0:?}")]
    IncomingConnectTimeout(Duration),
    /// The bind exchange did not finish within [`BindTimeouts::bind`].
    #[error("binding the session timed out after {0:?}")]
    BindTimeout(Duration),
    /// Connector side: the peer answered the bind SEND with a failure
    /// (481 when it does not recognise our paths).
    #[error("the peer refused the session binding: {code} {}", .comment.as_deref().unwrap_or(""))]
    BindRejected {
        /// The status code of the peer's response.
        code: u16,
        /// Its comment.
        comment: Option<String>,
    },
    /// Acceptor side: the bind SEND's paths do not name this session. It
    /// was answered 481 and the connection dropped.
    #[error("the bind request does not match this session: {0}")]
    BindMismatch(String),
    /// The peer sent something other than the bind exchange while binding
    /// (a request that is not an empty SEND, or a bind SEND whose headers
    /// cannot be read; the latter is answered 400).
    #[error("unexpected chunk while binding: {0}")]
    BindUnexpected(String),
    /// The peer's bytes during binding are not MSRP.
    #[error("protocol error while binding: {0}")]
    BindProtocol(#[source] ParseError),
    /// The connection ended during binding (end-of-file).
    #[error("the peer closed the connection while binding")]
    BindClosed,
    /// [`BoundTransport::read_chunk`]: the peer closed the connection
    /// (end-of-file) before another whole chunk or segment arrived.
    /// Chunks that arrived before the end were all returned first.
    #[error("the peer closed the connection")]
    ConnectionClosed,
    /// [`BoundTransport::read_chunk`]: the peer's bytes are not MSRP. The
    /// parser has already skipped the offending chunk (or resynchronised
    /// on the next start line); reading may go on.
    #[error("protocol error: {0}")]
    Protocol(#[source] ParseError),
    /// [`MsrpSession::start`] was given a transport in the middle of a
    /// chunk whose first segments [`BoundTransport::read_chunk`] already
    /// returned: the session could not parse the rest. Read on until the
    /// chunk's last segment first (see [`BoundTransport::mid_chunk`]).
    #[error("the transport is in the middle of a chunk already partly read")]
    MidChunk,
    /// An I/O error on the socket.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The session is closed or shutting down; nothing more can be sent,
    /// or a request was still waiting when the connection ended.
    #[error("the session is closed")]
    Closed,
    /// A request with this transaction id is still waiting for its response.
    #[error("transaction {0} is already in progress")]
    DuplicateTransaction(String),
    /// [`MsrpSession::deliver_chunk`]: the request was answered with a
    /// non-2xx status, by the peer or (`local`) made up after the response
    /// timeout (408).
    #[error("request failed: {code} {}", .comment.as_deref().unwrap_or(""))]
    Response {
        /// The status code.
        code: u16,
        /// The comment of the response.
        comment: Option<String>,
        /// `true` when no response came in time and it was made up locally.
        local: bool,
    },
    /// The request's own headers are malformed (e.g. a bad Failure-Report),
    /// so no response or report can be built for it.
    #[error("malformed header: {0}")]
    Header(#[from] HeaderError),
}

/// Deadlines of the binding steps. Every default is 30 s, like the legacy
/// `MSRPConnectTimeout`, `MSRPIncomingConnectTimeout` and
/// `MSRPBindSessionTimeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BindTimeouts {
    /// Establishing the TCP connection (connector).
    pub connect: Duration,
    /// Waiting for the peer to connect (acceptor).
    pub incoming_connect: Duration,
    /// The bind SEND and its 200, once connected (both sides).
    pub bind: Duration,
}

impl Default for BindTimeouts {
    fn default() -> Self {
        BindTimeouts {
            connect: Duration::from_secs(30),
            incoming_connect: Duration::from_secs(30),
            bind: Duration::from_secs(30),
        }
    }
}

/// Options of a connector or acceptor.
#[derive(Debug, Clone, Default)]
pub struct BindOptions {
    /// Deadlines of the binding steps.
    pub timeouts: BindTimeouts,
    /// Compare only session ids when checking the bind SEND's paths (for
    /// peers behind address-rewriting middleboxes); also turned on in the
    /// session's config by [`MsrpSession::start`].
    pub use_sessmatch: bool,
}

/// A connected, bound TCP connection, ready for [`MsrpSession::start`].
#[derive(Debug)]
pub struct BoundTransport {
    stream: Stream,
    /// A handle on the TCP socket under `stream` (for its address).
    tcp: TcpStream,
    paths: SessionPaths,
    /// Bytes read past the bind exchange or past the last chunk returned
    /// by [`read_chunk`](BoundTransport::read_chunk), with the parser that
    /// reads them; whatever it holds is fed to the session first.
    reader: ChunkReader,
    /// A bind SEND that carried a body (acceptor only), until
    /// `read_chunk` or the session takes it.
    first_chunk: Option<Chunk>,
    use_sessmatch: bool,
    /// The relay reservation this connection holds (relayed transports
    /// only), with the time it was granted: a session started on it keeps
    /// it alive.
    reservation: Option<(AuthClient, Reservation, Instant)>,
}

impl std::fmt::Debug for ChunkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkReader")
            .field("unparsed", &self.unparsed.len())
            .field("partial", &self.raw.len())
            .field("mid_chunk", &self.handed_out)
            .finish()
    }
}

/// One result of [`BoundTransport::read_chunk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadChunk {
    /// The chunk, or a "virtual" segment of one (see `segment`).
    pub chunk: Chunk,
    /// `None` for a whole chunk. `Some(n)` for the `n`th segment (from 1)
    /// of a chunk whose body grew past `max_size`: the segment carries the
    /// chunk's start line and headers with a `Byte-Range` rewritten to the
    /// segment's own bytes (start and end; the total is kept). Every
    /// segment but the last has flag `+`; the last has the chunk's own
    /// flag.
    pub segment: Option<u32>,
}

impl BoundTransport {
    /// Assembles a bound transport (for other binding code in the crate,
    /// such as [`super::server::MsrpServer`]).
    pub(crate) fn from_parts(
        stream: Stream,
        tcp: TcpStream,
        paths: SessionPaths,
        leftover: Bytes,
        first_chunk: Option<Chunk>,
        use_sessmatch: bool,
    ) -> Self {
        BoundTransport {
            stream,
            tcp,
            paths,
            reader: ChunkReader::resume(leftover),
            first_chunk,
            use_sessmatch,
            reservation: None,
        }
    }

    /// Marks the transport as holding the relay reservation `reservation`
    /// won by `auth` at `granted`, which a session started on it renews.
    pub(crate) fn with_reservation(
        mut self,
        auth: AuthClient,
        reservation: Reservation,
        granted: Instant,
    ) -> Self {
        self.reservation = Some((auth, reservation, granted));
        self
    }

    /// The paths of the bound session.
    pub fn paths(&self) -> &SessionPaths {
        &self.paths
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.peer_addr()
    }

    /// Whether the session runs over TLS (`msrps`).
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// Writes `data` as is and flushes it (legacy `MSRPTransport.write`).
    /// Blocks until the operating system (or TLS) has taken all of it.
    /// A peer that is gone shows as [`Error::Io`] (broken pipe, reset).
    pub fn write(&mut self, data: &[u8]) -> Result<(), Error> {
        self.stream.write_all(data)?;
        self.stream.flush()?;
        Ok(())
    }

    /// Encodes and writes one chunk (legacy `write_chunk`). The chunk is
    /// sent as given; no transaction is tracked.
    pub fn write_chunk(&mut self, chunk: &Chunk) -> Result<(), Error> {
        self.write(&chunk.encode())
    }

    /// Writes the response owed for `request` (see [`make_response`]):
    /// nothing when its Failure-Report asks for none. Returns whether a
    /// response was written. Unreadable path or report headers are
    /// [`Error::Header`].
    pub fn write_response(
        &mut self,
        request: &Chunk,
        code: u16,
        comment: Option<&str>,
    ) -> Result<bool, Error> {
        match make_response(request, code, comment)? {
            Some(response) => {
                self.write_chunk(&response)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Reads the next chunk, blocking (legacy `read_chunk`); see
    /// [`read_chunk_timeout`](Self::read_chunk_timeout).
    pub fn read_chunk(&mut self, max_size: Option<usize>) -> Result<ReadChunk, Error> {
        self.read_chunk_timeout(max_size, None)
    }

    /// Reads the next chunk, waiting at most `timeout` (`None`: forever).
    ///
    /// A bind SEND that carried a body comes first (as in the legacy
    /// library). Then chunks are returned whole, except that once the
    /// buffered body of a chunk exceeds `max_size` bytes, a segment of
    /// exactly `max_size` bytes (with `Some(0)`: everything buffered) is
    /// returned and the same chunk continues on the next call (see
    /// [`ReadChunk::segment`]). Body size is otherwise limited only by the
    /// parser's default limit (64 MiB per chunk).
    ///
    /// Errors: [`Error::ConnectionClosed`] once the peer has closed and
    /// every complete chunk was returned; [`Error::Protocol`] for bytes
    /// that are not MSRP (the parser recovers; reading may go on);
    /// [`Error::Io`] with [`io::ErrorKind::TimedOut`] when `timeout`
    /// passes. A timeout loses nothing: a partly received chunk stays
    /// buffered and the next call continues it.
    ///
    /// What was read and not returned stays in the transport: a later
    /// [`MsrpSession::start`] parses it first, including a partly
    /// received chunk, so nothing is lost. The one exception is a chunk
    /// whose first segments were already returned: the session cannot take
    /// over in its middle, and `start` fails with [`Error::MidChunk`] (see
    /// [`mid_chunk`](Self::mid_chunk)).
    pub fn read_chunk_timeout(
        &mut self,
        max_size: Option<usize>,
        timeout: Option<Duration>,
    ) -> Result<ReadChunk, Error> {
        if let Some(chunk) = self.first_chunk.take() {
            return Ok(ReadChunk {
                chunk,
                segment: None,
            });
        }
        let deadline = timeout.map(|t| Instant::now() + t);
        self.reader
            .read(&mut self.stream, &self.tcp, max_size, deadline)
            .map_err(|failure| match failure {
                ReadFailure::Protocol(e) => Error::Protocol(e),
                ReadFailure::Eof => Error::ConnectionClosed,
                ReadFailure::Timeout => Error::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no chunk arrived in time",
                )),
                ReadFailure::Io(e) => Error::Io(e),
            })
    }

    /// Whether [`read_chunk`](Self::read_chunk) has returned segments of a
    /// chunk whose last segment is still to come; [`MsrpSession::start`]
    /// refuses such a transport ([`Error::MidChunk`]).
    pub fn mid_chunk(&self) -> bool {
        self.reader.mid_chunk()
    }
}

/// Fills in what a local URI leaves out: the host becomes
/// [`net::default_ip`] (the address of the interface holding the default
/// route, 127.0.0.1 without one; as the legacy library did), the session id
/// a random 80-bit one, the transport `tcp`.
pub(crate) fn complete_local_uri(local_uri: Option<Uri>) -> Uri {
    let mut uri = local_uri.unwrap_or_else(|| Uri::new("", None, None));
    if uri.host.is_empty() {
        uri.host = net::default_ip().to_string();
    }
    if uri.session_id.as_deref().is_none_or(str::is_empty) {
        uri.session_id = Some(random_hex(10));
    }
    uri
}

/// The active side of a direct binding (legacy `DirectConnector`).
///
/// ```no_run
/// use msgwire::msrp::endpoint::{DirectConnector, MsrpSession};
/// # fn sdp_exchange(_: &[msgwire::msrp::Uri]) -> Vec<msgwire::msrp::Uri> { vec![] }
/// let mut connector = DirectConnector::new(Default::default());
/// let local_path = connector.prepare(None);
/// let remote_path = sdp_exchange(&local_path);
/// let bound = connector.complete(&remote_path)?;
/// let session = MsrpSession::start(bound, Default::default(), |event| println!("{event:?}"))?;
/// session.deliver_chunk(session.make_message("hi", "text/plain", None))?;
/// session.shutdown(true);
/// # Ok::<(), msgwire::msrp::endpoint::Error>(())
/// ```
#[derive(Debug)]
pub struct DirectConnector {
    options: BindOptions,
    local_uri: Option<Uri>,
    tls: Option<TlsClientConfig>,
}

impl DirectConnector {
    /// A connector with the given options.
    pub fn new(options: BindOptions) -> Self {
        DirectConnector {
            options,
            local_uri: None,
            tls: None,
        }
    }

    /// The TLS client configuration used when the peer's URI is `msrps`
    /// (certificate verification per the configuration; on by default).
    pub fn with_tls(mut self, config: TlsClientConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// The full local path to advertise. A missing port becomes 2855 (the
    /// connector never listens; the legacy library advertised the same);
    /// a missing host [`net::default_ip`]; a missing session id a random
    /// one.
    pub fn prepare(&mut self, local_uri: Option<Uri>) -> Vec<Uri> {
        let mut uri = complete_local_uri(local_uri);
        if uri.port.is_none_or(|p| p == 0) {
            uri.port = Some(DEFAULT_PORT);
        }
        self.local_uri = Some(uri.clone());
        vec![uri]
    }

    /// Connects to the first URI of `full_remote_path` (the next hop; for a
    /// direct peer the only one), sends the bind SEND and waits for its
    /// 200. Calls [`prepare`](Self::prepare) first if it was not.
    pub fn complete(&mut self, full_remote_path: &[Uri]) -> Result<BoundTransport, Error> {
        let local_uri = match &self.local_uri {
            Some(u) => u.clone(),
            None => self.prepare(None).remove(0),
        };
        let paths = SessionPaths::new(local_uri, full_remote_path).ok_or(Error::EmptyPath)?;
        let hop = &full_remote_path[0];
        if hop.secure && self.tls.is_none() {
            return Err(Error::TlsNotConfigured);
        }
        let tcp = connect(hop, self.options.timeouts.connect)?;
        let ctl = tcp.try_clone()?;
        let stream = if hop.secure {
            let tls = self.tls.as_ref().ok_or(Error::TlsNotConfigured)?;
            Stream::tls_connect(tcp, tls, &hop.host, self.options.timeouts.connect)?
        } else {
            Stream::Tcp(tcp)
        };
        let deadline = Instant::now() + self.options.timeouts.bind;
        let (stream, leftover) = bind_active(
            stream,
            &ctl,
            ChunkReader::new(),
            &paths,
            deadline,
            self.options.timeouts.bind,
        )?;
        Ok(BoundTransport::from_parts(
            stream,
            ctl,
            paths,
            leftover,
            None,
            self.options.use_sessmatch,
        ))
    }
}

/// Opens TCP to `uri` within `timeout`, trying each resolved address.
fn connect(uri: &Uri, timeout: Duration) -> Result<TcpStream, Error> {
    let port = uri.port.unwrap_or(DEFAULT_PORT);
    let target = format!("{}:{}", uri.host, port);
    let deadline = Instant::now() + timeout;
    let addrs = (uri.host.as_str(), port)
        .to_socket_addrs()
        .map_err(|source| Error::Connect {
            target: target.clone(),
            source,
        })?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::ConnectTimeout(timeout));
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => return Ok(s),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                return Err(Error::ConnectTimeout(timeout))
            }
            Err(e) => last = e,
        }
    }
    Err(Error::Connect {
        target,
        source: last,
    })
}

/// The connector's half of the bind exchange.
pub(crate) fn bind_active(
    mut stream: Stream,
    ctl: &TcpStream,
    mut reader: ChunkReader,
    paths: &SessionPaths,
    deadline: Instant,
    timeout: Duration,
) -> Result<(Stream, Bytes), Error> {
    let bind =
        ChunkBuilder::send(Bytes::new()).build(&paths.to_path_value(), &paths.from_path_value());
    write_before(&mut stream, ctl, &bind.encode(), deadline, timeout)?;
    loop {
        let chunk = reader.read_chunk(&mut stream, ctl, deadline, timeout)?;
        match chunk.code() {
            Some(_) if chunk.transaction_id != bind.transaction_id => {
                // A response to something we did not send: ignore it.
            }
            Some(200) => break,
            Some(code) => {
                return Err(Error::BindRejected {
                    code,
                    comment: chunk.comment().map(str::to_string),
                })
            }
            None if chunk.method() == Some("SEND") && chunk.data.is_empty() => {
                // Both sides believe they are active (seen with some SDP
                // implementations): accept the peer's bind too.
                if let Ok(Some(r)) = make_response(&chunk, 200, Some("OK")) {
                    write_before(&mut stream, ctl, &r.encode(), deadline, timeout)?;
                }
            }
            None => return Err(Error::BindUnexpected(chunk.first_line())),
        }
    }
    Ok((stream, reader.into_leftover()))
}

/// The passive side of a direct binding (legacy `DirectAcceptor`).
#[derive(Debug)]
pub struct DirectAcceptor {
    options: BindOptions,
    local_uri: Option<Uri>,
    listener: Option<TcpListener>,
    tls: Option<TlsServerConfig>,
}

impl DirectAcceptor {
    /// An acceptor with the given options.
    pub fn new(options: BindOptions) -> Self {
        DirectAcceptor {
            options,
            local_uri: None,
            listener: None,
            tls: None,
        }
    }

    /// The TLS server configuration (certificate and key) used when the
    /// local URI is `msrps`.
    pub fn with_tls(mut self, config: TlsServerConfig) -> Self {
        self.tls = Some(config);
        self
    }

    /// Starts listening on the local URI's host and port (port 0 or none:
    /// any free port, written back into the returned URI) and returns the
    /// full local path to advertise. A missing host is
    /// [`net::default_ip`] (the default-route interface's address, or
    /// 127.0.0.1 without a route).
    pub fn prepare(&mut self, local_uri: Option<Uri>) -> Result<Vec<Uri>, Error> {
        let mut uri = complete_local_uri(local_uri);
        let port = uri.port.unwrap_or(0);
        let target = format!("{}:{}", uri.host, port);
        let listener =
            TcpListener::bind((uri.host.as_str(), port)).map_err(|source| Error::Listen {
                target: target.clone(),
                source,
            })?;
        let listen_err = |source| Error::Listen {
            target: target.clone(),
            source,
        };
        uri.port = Some(listener.local_addr().map_err(listen_err)?.port());
        listener.set_nonblocking(true).map_err(listen_err)?;
        self.listener = Some(listener);
        self.local_uri = Some(uri.clone());
        Ok(vec![uri])
    }

    /// The options, adjustable between [`prepare`](Self::prepare) and
    /// [`complete`](Self::complete) (the legacy library reads its timeouts
    /// when `complete` is called).
    pub fn options_mut(&mut self) -> &mut BindOptions {
        &mut self.options
    }

    /// The address the acceptor listens on, after [`prepare`](Self::prepare).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.as_ref()?.local_addr().ok()
    }

    /// Accepts one connection, reads its bind SEND, checks that it names
    /// our URI (To-Path) and `full_remote_path` (From-Path), answers 200,
    /// and stops listening. A mismatch is answered 481 and fails with
    /// [`Error::BindMismatch`].
    pub fn complete(&mut self, full_remote_path: &[Uri]) -> Result<BoundTransport, Error> {
        let listener = self.listener.take().ok_or(Error::Closed)?;
        let local_uri = self.local_uri.clone().ok_or(Error::Closed)?;
        let paths = SessionPaths::new(local_uri, full_remote_path).ok_or(Error::EmptyPath)?;
        let timeouts = self.options.timeouts;
        if paths.local_uri.secure && self.tls.is_none() {
            return Err(Error::TlsNotConfigured);
        }
        let tcp = accept_before(&listener, timeouts.incoming_connect)?;
        drop(listener);
        let ctl = tcp.try_clone()?;
        let stream = match (&self.tls, paths.local_uri.secure) {
            (Some(tls), true) => Stream::tls_accept(tcp, tls, timeouts.bind)?,
            _ => Stream::Tcp(tcp),
        };
        bind_passive(
            stream,
            ctl,
            ChunkReader::new(),
            paths,
            self.options.use_sessmatch,
            timeouts.bind,
        )
    }
}

/// The passive half of the bind exchange over a connected `stream` (from a
/// listener, or to a relay): reads the bind SEND, checks that it names
/// `paths` (answering 481 if not), answers 200.
pub(crate) fn bind_passive(
    mut stream: Stream,
    ctl: TcpStream,
    mut reader: ChunkReader,
    paths: SessionPaths,
    use_sessmatch: bool,
    timeout: Duration,
) -> Result<BoundTransport, Error> {
    let deadline = Instant::now() + timeout;
    let chunk = reader.read_chunk(&mut stream, &ctl, deadline, timeout)?;
    if chunk.method() != Some("SEND") {
        return Err(Error::BindUnexpected(chunk.first_line()));
    }
    let verdict = check_bind(&chunk, &paths, use_sessmatch);
    let (code, comment) = match &verdict {
        Ok(()) => (200, "OK"),
        Err(Error::BindMismatch(c)) => (481, c.as_str()),
        Err(_) => (400, "Bad request"),
    };
    match make_response(&chunk, code, Some(comment)) {
        Ok(Some(r)) => write_before(&mut stream, &ctl, &r.encode(), deadline, timeout)?,
        Ok(None) => {}
        Err(e) => return Err(Error::BindUnexpected(e.to_string())),
    }
    verdict?;
    let first_chunk = (!chunk.data.is_empty() || chunk.content_type().is_some()).then_some(chunk);
    Ok(BoundTransport::from_parts(
        stream,
        ctl,
        paths,
        reader.into_leftover(),
        first_chunk,
        use_sessmatch,
    ))
}

/// Checks the bind SEND's paths against the session's.
pub(crate) fn check_bind(
    chunk: &Chunk,
    paths: &SessionPaths,
    sessmatch: bool,
) -> Result<(), Error> {
    let unreadable = |e: HeaderError| Error::BindUnexpected(e.to_string());
    let to = chunk.to_path().map_err(unreadable)?.unwrap_or_default();
    let from = chunk.from_path().map_err(unreadable)?.unwrap_or_default();
    let expected_from = paths.to_path();
    let (to_ok, from_ok) = if sessmatch {
        (
            to.first().map(|u| &u.session_id) == Some(&paths.local_uri.session_id),
            from.first().map(|u| &u.session_id) == expected_from.first().map(|u| &u.session_id),
        )
    } else {
        (to == [paths.local_uri.clone()], from == expected_from)
    };
    if !to_ok {
        return Err(Error::BindMismatch("Invalid To-Path".into()));
    }
    if !from_ok {
        return Err(Error::BindMismatch("Invalid From-Path".into()));
    }
    Ok(())
}

/// Waits for one connection on a non-blocking listener.
fn accept_before(listener: &TcpListener, timeout: Duration) -> Result<TcpStream, Error> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_micros(50);
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(Error::Io(e)),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Error::IncomingConnectTimeout(timeout));
        }
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(1));
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Writes all of `data` before `deadline`. Timeouts are set on `ctl`, a
/// handle on the TCP socket under `stream` (plain or TLS): socket options
/// are shared by every handle of one socket.
pub(crate) fn write_before(
    stream: &mut Stream,
    ctl: &TcpStream,
    data: &[u8],
    deadline: Instant,
    timeout: Duration,
) -> Result<(), Error> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(Error::BindTimeout(timeout));
    }
    ctl.set_write_timeout(Some(left))?;
    let result = stream.write_all(data).and_then(|()| stream.flush());
    ctl.set_write_timeout(None)?;
    result.map_err(|e| {
        if is_timeout(&e) {
            Error::BindTimeout(timeout)
        } else {
            Error::Io(e)
        }
    })
}

/// Why [`ChunkReader::read`] stopped without a chunk; each caller maps
/// these to its own error variants.
enum ReadFailure {
    Protocol(ParseError),
    Eof,
    Timeout,
    Io(io::Error),
}

/// The chunk being read, as far as it has arrived.
struct Partial {
    /// Start line and headers; no data.
    head: Chunk,
    /// Body bytes received and not yet returned.
    body: BytesMut,
    /// Body bytes already returned as segments.
    returned: u64,
    /// How many segments were returned.
    segments: u32,
}

/// Reads chunks from a blocking socket (the bind exchange and
/// [`BoundTransport::read_chunk`]) with the incremental [`Parser`], and
/// keeps every byte it has read but not returned, so that a session can
/// take over without losing any.
pub(crate) struct ChunkReader {
    parser: Parser,
    /// Read from the socket, not yet given to the parser.
    unparsed: BytesMut,
    /// What the parser consumed since it was last between chunks, as
    /// received: the partial chunk a session must re-parse. Not kept while
    /// `handed_out` (the partial chunk cannot be handed over then).
    raw: BytesMut,
    current: Option<Partial>,
    /// A segment of the current chunk was returned; cleared when the
    /// parser is back between chunks.
    handed_out: bool,
}

impl ChunkReader {
    /// A reader for the bind exchange.
    pub(crate) fn new() -> Self {
        // The bind exchange is tiny; a modest body limit keeps a hostile
        // peer from making us buffer much before the session exists.
        ChunkReader::with(
            ParserConfig {
                max_body_len: 1024 * 1024,
                ..ParserConfig::default()
            },
            Bytes::new(),
        )
    }

    /// A reader for a bound transport that starts with `leftover` (bytes
    /// read past the bind exchange). Same limits as a session's parser.
    pub(crate) fn resume(leftover: Bytes) -> Self {
        ChunkReader::with(ParserConfig::default(), leftover)
    }

    fn with(config: ParserConfig, leftover: Bytes) -> Self {
        ChunkReader {
            parser: Parser::with_config(config),
            unparsed: BytesMut::from(&leftover[..]),
            raw: BytesMut::new(),
            current: None,
            handed_out: false,
        }
    }

    /// Reads one chunk of the bind exchange before `deadline`.
    pub(crate) fn read_chunk(
        &mut self,
        stream: &mut Stream,
        ctl: &TcpStream,
        deadline: Instant,
        timeout: Duration,
    ) -> Result<Chunk, Error> {
        match self.read(stream, ctl, None, Some(deadline)) {
            Ok(r) => Ok(r.chunk),
            Err(ReadFailure::Protocol(e)) => Err(Error::BindProtocol(e)),
            Err(ReadFailure::Eof) => Err(Error::BindClosed),
            Err(ReadFailure::Timeout) => Err(Error::BindTimeout(timeout)),
            Err(ReadFailure::Io(e)) => Err(Error::Io(e)),
        }
    }

    /// Returns the next whole chunk or segment (see
    /// [`BoundTransport::read_chunk`]), reading from `stream` as needed.
    fn read(
        &mut self,
        stream: &mut Stream,
        ctl: &TcpStream,
        max_size: Option<usize>,
        deadline: Option<Instant>,
    ) -> Result<ReadChunk, ReadFailure> {
        let mut buf = [0u8; 16 * 1024];
        loop {
            if let Some(chunk) = self.parse_buffered(max_size)? {
                return Ok(chunk);
            }
            let read = match deadline {
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ReadFailure::Timeout);
                    }
                    ctl.set_read_timeout(Some(left)).map_err(ReadFailure::Io)?;
                    let read = stream.read(&mut buf);
                    ctl.set_read_timeout(None).map_err(ReadFailure::Io)?;
                    read
                }
                None => stream.read(&mut buf),
            };
            match read {
                Ok(0) => return Err(ReadFailure::Eof),
                Ok(n) => self.unparsed.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_timeout(&e) => return Err(ReadFailure::Timeout),
                Err(e) => return Err(ReadFailure::Io(e)),
            }
        }
    }

    /// Runs the parser over the buffered bytes until a chunk or segment is
    /// complete or it needs more input.
    fn parse_buffered(
        &mut self,
        max_size: Option<usize>,
    ) -> Result<Option<ReadChunk>, ReadFailure> {
        loop {
            if let Some(segment) = self.cut_segment(max_size) {
                return Ok(Some(segment));
            }
            let (used, result) = self.parser.parse(&self.unparsed);
            if !self.handed_out {
                self.raw.extend_from_slice(&self.unparsed[..used]);
            }
            let step = match result {
                Ok(Some(Event::Start(head))) => {
                    self.current = Some(Partial {
                        head: head.to_chunk(),
                        body: BytesMut::new(),
                        returned: 0,
                        segments: 0,
                    });
                    Ok(None)
                }
                Ok(Some(Event::Data(d))) => {
                    if let Some(p) = &mut self.current {
                        p.body.extend_from_slice(d);
                    }
                    Ok(None)
                }
                Ok(Some(Event::End(flag))) => Ok(self.current.take().map(|p| p.finish(flag))),
                Ok(None) => {
                    self.unparsed.advance(used);
                    self.note_boundary();
                    return Ok(None);
                }
                Err(e) => {
                    // The parser skips the rest of this chunk by itself.
                    self.current = None;
                    Err(ReadFailure::Protocol(e))
                }
            };
            self.unparsed.advance(used);
            self.note_boundary();
            if let Some(chunk) = step? {
                return Ok(Some(chunk));
            }
        }
    }

    /// Forgets the raw bytes of the last chunk once the parser is between
    /// chunks.
    fn note_boundary(&mut self) {
        if self.current.is_none() && self.parser.is_idle() {
            self.raw.clear();
            self.handed_out = false;
        }
    }

    /// Cuts a segment off the current chunk when its buffered body exceeds
    /// `max_size` (a segment then has exactly `max_size` bytes; with 0, all
    /// that is buffered).
    fn cut_segment(&mut self, max_size: Option<usize>) -> Option<ReadChunk> {
        let max = max_size?;
        let p = self.current.as_mut()?;
        if p.body.len() <= max {
            return None;
        }
        let take = if max == 0 { p.body.len() } else { max };
        let data = p.body.split_to(take).freeze();
        let chunk = segment_chunk(&p.head, data, p.returned, Flag::Continue);
        p.returned += take as u64;
        p.segments += 1;
        self.handed_out = true;
        self.raw.clear();
        Some(ReadChunk {
            chunk,
            segment: Some(p.segments),
        })
    }

    /// Whether a segment of a chunk that has not ended was returned.
    fn mid_chunk(&self) -> bool {
        self.handed_out
    }

    /// Everything read and not returned, as received: the partial chunk
    /// (when no segment of it was returned) and the unparsed bytes.
    pub(crate) fn into_leftover(self) -> Bytes {
        let mut out = self.raw;
        out.extend_from_slice(&self.unparsed);
        out.freeze()
    }
}

impl Partial {
    fn finish(self, flag: Flag) -> ReadChunk {
        if self.segments == 0 {
            let mut chunk = self.head;
            chunk.data = self.body.freeze();
            chunk.flag = flag;
            return ReadChunk {
                chunk,
                segment: None,
            };
        }
        ReadChunk {
            chunk: segment_chunk(&self.head, self.body.freeze(), self.returned, flag),
            segment: Some(self.segments + 1),
        }
    }
}

/// A "virtual" chunk: `head` with `data`, which starts `offset` bytes into
/// the chunk's body, and a Byte-Range covering exactly those bytes (the
/// message's total is kept).
fn segment_chunk(head: &Chunk, data: Bytes, offset: u64, flag: Flag) -> Chunk {
    let range = head.byte_range().ok().flatten();
    let start = range.map_or(1, |r| r.start) + offset;
    let end = (start + data.len() as u64).saturating_sub(1);
    let mut chunk = head.clone();
    chunk.headers.set_typed(&ByteRange {
        start,
        end: Some(end),
        total: range.and_then(|r| r.total),
    });
    chunk.data = data;
    chunk.flag = flag;
    chunk
}

// ------------------------------------------------------------------ driver

/// What the session callback receives.
#[derive(Debug)]
#[non_exhaustive]
pub enum EndpointEvent {
    /// An event of the session: an incoming request, a response to a
    /// request sent without its own callback, a protocol error, or a
    /// keep-alive failure (after which the connection is closed).
    Session(SessionEvent),
    /// The connection has ended; this is the last event. `None`: a clean
    /// end (the peer closed, or [`MsrpSession::shutdown`]); `Some`: the I/O
    /// error that ended it. Requests still waiting have already been
    /// answered locally (408, or 200 for `Failure-Report: partial`/`no`).
    Closed(Option<io::Error>),
    /// With [`Delivery::Messages`](super::transfer::Delivery::Messages)
    /// and a [`SinkFactory`](super::transfer::SinkFactory): an incoming
    /// message was written completely to its sink (and finished). Messages
    /// reassembled in memory arrive as
    /// [`SessionEvent::Incoming`] instead.
    MessageStored {
        /// Its Message-ID.
        message_id: String,
        /// Its Content-Type, if any.
        content_type: Option<String>,
        /// Its size in bytes.
        size: u64,
        /// The headers of its first chunk to arrive, with
        /// `Byte-Range: 1-N/N`; no body.
        head: Chunk,
    },
    /// With [`Delivery::Messages`](super::transfer::Delivery::Messages): an
    /// incomplete incoming message was dropped (abandoned by the sender
    /// with `#`, refused, too large, or cut off by the connection closing).
    MessageAborted {
        /// Its Message-ID.
        message_id: String,
        /// Why.
        reason: AbortReason,
    },
}

/// Progress and outcome of one message sent with
/// [`MsrpSession::send_message`], handed to its callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransferUpdate {
    /// More of the message was acknowledged by the peer (about once per
    /// chunk; with `Failure-Report: partial` or `no`, once written).
    Progress {
        /// Bytes acknowledged so far, counting the resume position the
        /// message started at.
        acknowledged: u64,
        /// The message's size, `None` when unknown.
        total: Option<u64>,
    },
    /// Every chunk was written and acknowledged; the last update.
    Completed,
    /// The message was stopped; the last update. By the peer's failure
    /// response (e.g. 413), a response timeout (local 408),
    /// [`MsrpSession::cancel_transfer`] (local
    /// [`CANCELLED`](super::transfer::CANCELLED), 487), a failing source
    /// (local 500), or the connection closing (local 408).
    Failed {
        /// The response code, or the local one.
        code: u16,
        /// The response comment, or a local explanation.
        comment: String,
        /// Whether the failure was decided locally.
        local: bool,
    },
}

/// Receives the [`TransferUpdate`]s of one message (see
/// [`MsrpSession::send_message`]). Runs on a core thread (the reader,
/// timer or transfer pump thread) in the order of the session's events,
/// never concurrently with the session callback, and must not block.
pub type TransferCallback = Box<dyn FnMut(TransferUpdate) + Send>;

/// The outcome of one request, handed to its [`ResponseCallback`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionOutcome {
    /// The transaction id of the request.
    pub transaction_id: String,
    /// The response, from the peer or made up locally.
    pub response: Chunk,
    /// `true` when no response came in time (or the connection closed) and
    /// the session made this one up.
    pub local: bool,
}

/// Called once with the outcome of one request (see
/// [`MsrpSession::send_chunk`]). Runs on the reader or timer thread and
/// must not block.
pub type ResponseCallback = Box<dyn FnOnce(TransactionOutcome) + Send>;

type MainCallback = Box<dyn FnMut(EndpointEvent) + Send>;

/// Where a session is in its life (the legacy library's states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    /// Sending and receiving.
    Connected,
    /// `shutdown` was called; chunks already accepted are being handed to
    /// the connection. New chunks are refused.
    Flushing,
    /// Waiting for the responses to requests already sent.
    Closing,
    /// The connection is closed.
    Done,
}

/// Engine-level tunables of [`MsrpSession::start_with`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The connection's queue, buffer and close-timeout settings. The
    /// default is [`net::Config`]'s with a read buffer of
    /// [`SESSION_READ_BUFFER`] bytes (see there for why).
    pub connection: net::Config,
    /// The timer serving the session's deadlines; `None` uses one
    /// process-wide timer thread shared by every session.
    pub timer: Option<Timer>,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            connection: net::Config {
                read_buffer_size: SESSION_READ_BUFFER,
                ..net::Config::default()
            },
            timer: None,
        }
    }
}

/// The read buffer of a session's connection: 256 KiB, four default
/// chunks. A receiver that falls behind a file transfer then takes several
/// chunks per read and answers them in one write, which on loopback cuts
/// the context switches of a transfer by more than half and its CPU per
/// byte by about a third against 64 KiB (`msrp_transfer` bench). The
/// memory is only touched as far as reads fill it: a chat session's reads
/// stay within its first pages.
pub const SESSION_READ_BUFFER: usize = 256 * 1024;

/// A bound MSRP session driven by a connection's threads (legacy
/// `MSRPSession`). Cheap to clone; every clone is the same session.
///
/// Dropping the last clone aborts a session that was not shut down (its
/// connection is reset) and joins the session's threads before it
/// returns; a [`shutdown(false)`](MsrpSession::shutdown) in progress is
/// left to finish on its own thread, which then joins them.
#[derive(Clone)]
pub struct MsrpSession {
    // Declared first so that it drops while `inner` still holds the session.
    _last: Arc<LastHandle>,
    inner: Arc<Inner>,
}

/// Shared by the clones of one [`MsrpSession`]; its drop is the drop of
/// the last application handle (the session's own threads hold `Inner`,
/// never this).
struct LastHandle(Weak<Inner>);

impl Drop for LastHandle {
    fn drop(&mut self) {
        if let Some(inner) = self.0.upgrade() {
            inner.on_last_handle();
        }
    }
}

impl std::fmt::Debug for MsrpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MsrpSession")
            .field("paths", &self.inner.paths)
            .field("state", &self.state())
            .finish()
    }
}

enum Routed {
    Main(EndpointEvent),
    One(ResponseCallback, TransactionOutcome),
    Transfer(TransferId, TransferUpdate),
}

/// Most messages the transfer pump keeps queued in the connection ahead
/// of the writer thread: enough to keep the writer busy (it takes them in
/// one vectored write), few enough that a response or chat message queued
/// behind them waits for at most a few pieces (4 × 64 KiB by default).
const PUMP_QUEUE_LIMIT: usize = 4;

/// How often a pump waiting for room in a stalled connection checks
/// whether it was told to stop.
const PUMP_STALL_CHECK: Duration = Duration::from_millis(100);

/// Wakes the transfer pump thread (see [`MsrpSession::send_message`]).
#[derive(Default)]
struct Pump {
    state: Mutex<PumpState>,
    wake: Condvar,
    /// The pump thread, once started; taken by whoever joins it.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Pump {
    fn stopping(&self) -> bool {
        self.state.lock().stop
    }

    /// Tells the pump thread to end and joins it, unless this is the pump
    /// thread itself (a transfer callback dropping the session), which then
    /// ends right after the callback returns.
    fn stop_and_join(&self) {
        {
            let mut p = self.state.lock();
            p.stop = true;
            self.wake.notify_all();
        }
        let handle = self.thread.lock().take();
        if let Some(h) = handle {
            if h.thread().id() != thread::current().id() {
                let _ = h.join();
            }
        }
    }
}

#[derive(Default)]
struct PumpState {
    started: bool,
    /// The session may have message pieces to send.
    work: bool,
    /// The session is gone: the pump thread ends.
    stop: bool,
}

struct State {
    session: Session,
    phase: SessionState,
    /// Encoded chunks not yet handed to the connection.
    out: VecDeque<Bytes>,
    /// The armed timer entry and its deadline.
    armed: Option<(Instant, TimerHandle)>,
    /// Per-request callbacks by transaction id.
    waiters: TidMap<ResponseCallback>,
}

struct Inner {
    state: Mutex<State>,
    /// Signalled after every change of `state`.
    changed: Condvar,
    /// Events in session order, waiting for the dispatcher.
    queue: Mutex<VecDeque<Routed>>,
    /// The dispatch lock; `None` once `Closed` was delivered (this also
    /// drops anything the callback captured, such as session clones).
    callback: Mutex<Option<MainCallback>>,
    /// Held while moving `state.out` to the connection (keeps order).
    write_lock: Mutex<()>,
    sender: OnceLock<Sender>,
    conn: OnceLock<Connection>,
    /// Counts this session as open in the status counters.
    _session: crate::net::stats::Open,
    timer: Timer,
    paths: SessionPaths,
    /// The session's encoded To-Path and From-Path, for `make_message`.
    to_text: String,
    from_text: String,
    /// Callbacks of messages in progress (taken out while one runs).
    transfer_callbacks: Mutex<HashMap<TransferId, TransferCallback>>,
    pump: Arc<Pump>,
    /// A thread closing the connection after a keep-alive failure.
    closer: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.pump.stop_and_join();
    }
}

/// The transfer pump thread: waits for work, then moves message pieces
/// (see [`Inner::pump_pieces`]). Holds its session only while working, so
/// dropping every handle still ends the session.
fn run_pump(weak: &Weak<Inner>, pump: &Pump) {
    loop {
        {
            let mut p = pump.state.lock();
            while !p.work && !p.stop {
                pump.wake.wait(&mut p);
            }
            if p.stop {
                return;
            }
            p.work = false;
        }
        let Some(inner) = weak.upgrade() else {
            return;
        };
        if !inner.pump_pieces(pump) {
            return;
        }
    }
}

impl MsrpSession {
    /// Starts driving a bound transport with the default engine options.
    /// `callback` receives every [`EndpointEvent`]; see the
    /// [module docs](self) for the threads it runs on. It must not block.
    pub fn start<F>(
        bound: BoundTransport,
        config: SessionConfig,
        callback: F,
    ) -> Result<Self, Error>
    where
        F: FnMut(EndpointEvent) + Send + 'static,
    {
        MsrpSession::start_with(bound, config, EngineOptions::default(), callback)
    }

    /// Like [`start`](Self::start) with explicit engine options.
    pub fn start_with<F>(
        bound: BoundTransport,
        mut config: SessionConfig,
        options: EngineOptions,
        callback: F,
    ) -> Result<Self, Error>
    where
        F: FnMut(EndpointEvent) + Send + 'static,
    {
        if bound.mid_chunk() {
            return Err(Error::MidChunk);
        }
        config.use_sessmatch |= bound.use_sessmatch;
        if let Some(logger) = &mut config.logger {
            if logger.label.is_empty() {
                // Name the connection by its addresses in the traffic log.
                let local = bound.tcp.local_addr().map(|a| a.to_string());
                let peer = bound.tcp.peer_addr().map(|a| a.to_string());
                logger.label = format!(
                    "{} <-> {}",
                    local.unwrap_or_else(|_| "?".into()),
                    peer.unwrap_or_else(|_| "?".into())
                );
            }
        }
        let timer = match options.timer {
            Some(t) => t,
            None => Timer::shared()?,
        };
        let now = Instant::now();
        let mut session = Session::new(bound.paths.clone(), config, now);
        if let Some((auth, reservation, granted)) = &bound.reservation {
            session.keep_reservation(auth, reservation, *granted);
        }
        let (to_text, from_text) = {
            let (to, from) = session.path_texts();
            (to.to_string(), from.to_string())
        };
        let mut queue = VecDeque::new();
        if let Some(first) = bound.first_chunk {
            queue.push_back(Routed::Main(EndpointEvent::Session(
                SessionEvent::Incoming(first),
            )));
        }
        // Bytes that arrived with the bind exchange, or were read by
        // `read_chunk` and not returned, go first.
        session.handle_input(&bound.reader.into_leftover(), now);
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                session,
                phase: SessionState::Connected,
                out: VecDeque::new(),
                armed: None,
                waiters: TidMap::default(),
            }),
            changed: Condvar::new(),
            queue: Mutex::new(queue),
            callback: Mutex::new(Some(Box::new(callback))),
            write_lock: Mutex::new(()),
            sender: OnceLock::new(),
            conn: OnceLock::new(),
            _session: crate::net::stats::counters(crate::net::stats::Protocol::Msrp).open_session(),
            timer,
            paths: bound.paths,
            to_text,
            from_text,
            transfer_callbacks: Mutex::new(HashMap::new()),
            pump: Arc::new(Pump::default()),
            closer: Mutex::new(None),
        });
        inner.after_change(&mut inner.state.lock());
        let weak = Arc::downgrade(&inner);
        let mut connection = options.connection;
        connection
            .protocol
            .get_or_insert(crate::net::stats::Protocol::Msrp);
        let conn = Connection::spawn_with(bound.stream, connection, move |ev, sender| {
            if let Some(inner) = weak.upgrade() {
                inner.on_incoming(ev, sender);
            }
        })?;
        let _ = inner.sender.set(conn.sender());
        let _ = inner.conn.set(conn);
        inner.flush(true, None);
        inner.dispatch();
        Ok(MsrpSession {
            _last: Arc::new(LastHandle(Arc::downgrade(&inner))),
            inner,
        })
    }

    /// The session's paths.
    pub fn paths(&self) -> &SessionPaths {
        &self.inner.paths
    }

    /// Where the session is in its life.
    pub fn state(&self) -> SessionState {
        self.inner.state.lock().phase
    }

    /// A SEND carrying a whole message along the session's paths (random
    /// transaction id; random Message-ID unless given).
    pub fn make_message(
        &self,
        data: impl Into<Bytes>,
        content_type: &str,
        message_id: Option<&str>,
    ) -> Chunk {
        // Built outside the session lock: only the (fixed) paths are needed.
        build_message(
            &self.inner.to_text,
            &self.inner.from_text,
            data.into(),
            content_type,
            message_id,
        )
    }

    /// A request of `method` without a body along the session's paths.
    pub fn make_request(&self, method: &str) -> Chunk {
        self.inner.state.lock().session.make_request(method)
    }

    /// Queues `chunk` for sending; blocks only while the connection's queue
    /// is full.
    ///
    /// For a request that gets a response (Failure-Report `yes`, the
    /// default, or `partial`), the outcome goes to `on_response` if given,
    /// else to the session callback as [`SessionEvent::Response`]. With
    /// `Failure-Report: no` there is no outcome and `on_response` is
    /// dropped uncalled.
    pub fn send_chunk(
        &self,
        chunk: Chunk,
        on_response: Option<ResponseCallback>,
    ) -> Result<(), Error> {
        let expect = chunk.method().is_some() && chunk.failure_report()? != FailureReport::No;
        // Encode before taking the session lock and drop the chunk after
        // releasing it: the reader thread waits for that lock.
        let wire = chunk.encode();
        let sent = {
            let mut st = self.inner.state.lock();
            if st.phase != SessionState::Connected {
                return Err(Error::Closed);
            }
            let chunk = st
                .session
                .send_encoded(chunk, wire, expect, Instant::now())
                .map_err(|e| match e {
                    SessionError::Closed(_) => Error::Closed,
                    SessionError::DuplicateTransaction(c) => {
                        Error::DuplicateTransaction(c.transaction_id)
                    }
                })?;
            if let (true, Some(cb)) = (expect, on_response) {
                st.waiters.insert(chunk.transaction_id.clone(), cb);
            }
            self.inner.after_change(&mut st);
            chunk
        };
        drop(sent);
        self.inner.flush(true, None);
        Ok(())
    }

    /// Sends `chunk` and waits for its response.
    ///
    /// Returns `Ok(Some(response))` for a 2xx response and `Ok(None)` at
    /// once for `Failure-Report: no` (the legacy library meant to return
    /// `None` there). A failure response, or the local 408 after the
    /// response timeout, is [`Error::Response`]; a connection that ends
    /// before the response is [`Error::Closed`].
    ///
    /// Blocks the calling thread; never call it from a session callback.
    pub fn deliver_chunk(&self, chunk: Chunk) -> Result<Option<Chunk>, Error> {
        if chunk.method().is_some() && chunk.failure_report()? == FailureReport::No {
            self.send_chunk(chunk, None)?;
            return Ok(None);
        }
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.send_chunk(
            chunk,
            Some(Box::new(move |outcome| {
                let _ = tx.send(outcome);
            })),
        )?;
        let outcome = rx.recv().map_err(|_| Error::Closed)?;
        let code = outcome.response.code().unwrap_or(0);
        if (200..300).contains(&code) {
            return Ok(Some(outcome.response));
        }
        if outcome.local && self.state() == SessionState::Done {
            return Err(Error::Closed);
        }
        Err(Error::Response {
            code,
            comment: outcome.response.comment().map(str::to_string),
            local: outcome.local,
        })
    }

    /// Sends the REPORT owed for an incoming SEND processed with `code`, if
    /// its report headers ask for one; returns whether one was sent.
    pub fn send_report(
        &self,
        request: &Chunk,
        code: u16,
        comment: Option<&str>,
    ) -> Result<bool, Error> {
        self.with_session(|s| s.send_report(request, code, comment))
    }

    /// Sends the response owed for an incoming request (e.g. a NICKNAME),
    /// if its Failure-Report asks for one; returns whether one was sent.
    pub fn send_response(
        &self,
        request: &Chunk,
        code: u16,
        comment: Option<&str>,
    ) -> Result<bool, Error> {
        self.with_session(|s| s.send_response(request, code, comment))
    }

    fn with_session(
        &self,
        f: impl FnOnce(&mut Session) -> Result<bool, HeaderError>,
    ) -> Result<bool, Error> {
        let sent = {
            let mut st = self.inner.state.lock();
            if st.phase == SessionState::Done {
                return Err(Error::Closed);
            }
            let sent = f(&mut st.session)?;
            self.inner.after_change(&mut st);
            sent
        };
        self.inner.flush(true, None);
        Ok(sent)
    }

    /// Queues a (large) message to be sent in chunks and returns at once;
    /// `on_update` hears its progress and outcome (see
    /// [`send_message_with`](Self::send_message_with)).
    pub fn send_message(
        &self,
        message: OutgoingMessage,
        on_update: impl FnMut(TransferUpdate) + Send + 'static,
    ) -> Result<TransferId, Error> {
        self.send_message_with(message, Some(Box::new(on_update)))
    }

    /// Queues a (large) message to be sent in chunks (see
    /// [`super::transfer`]) and returns at once, without reading its body.
    ///
    /// The body is read piece by piece (at most
    /// [`SessionConfig::piece_size`] bytes, 64 KiB by default) by a
    /// per-session pump thread, started on the first call, which pulls the
    /// next piece only when the connection's writer has taken all but a
    /// few of the previous ones: memory stays bounded whatever the
    /// message's size, chunks sent meanwhile with
    /// [`send_chunk`](Self::send_chunk) (and responses and REPORTs) go out
    /// after at most one piece, and a peer that stops reading stalls the
    /// transfer, not the other threads. Several messages take turns chunk
    /// by chunk.
    ///
    /// `on_update`, if given, receives [`TransferUpdate::Progress`] as the
    /// peer acknowledges chunks, then exactly one
    /// [`Completed`](TransferUpdate::Completed) or
    /// [`Failed`](TransferUpdate::Failed). It runs on a core thread (the
    /// reader, timer or pump thread; see [`TransferCallback`]) and must
    /// not block. [`shutdown`](Self::shutdown) waits for messages in
    /// progress. Fails with [`Error::Closed`] once `shutdown` was called or
    /// the connection ended, and [`Error::Io`] of kind
    /// [`InvalidInput`](io::ErrorKind::InvalidInput) for a message that
    /// cannot be sent as given (a bad or reserved header, a bad
    /// Message-ID, a position past the size).
    pub fn send_message_with(
        &self,
        message: OutgoingMessage,
        on_update: Option<TransferCallback>,
    ) -> Result<TransferId, Error> {
        let id = {
            let mut st = self.inner.state.lock();
            if st.phase != SessionState::Connected {
                return Err(Error::Closed);
            }
            let id = st
                .session
                .send_message(message, Instant::now())
                .map_err(|e| match e {
                    SendMessageError::Closed(_) => Error::Closed,
                    SendMessageError::Invalid { reason, .. } => Error::Io(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("invalid message: {reason}"),
                    )),
                })?;
            if let Some(cb) = on_update {
                // Under the session lock: no event of `id` exists before.
                self.inner.transfer_callbacks.lock().insert(id, cb);
            }
            self.inner.start_pump()?;
            self.inner.after_change(&mut st);
            id
        };
        self.inner.flush(true, None);
        self.inner.dispatch();
        Ok(id)
    }

    /// Stops a message queued with [`send_message`](Self::send_message):
    /// a chunk of it being written ends with `#`, nothing more of it is
    /// sent, and its callback gets [`TransferUpdate::Failed`] with the
    /// local code 487. `false` when it already completed or failed.
    pub fn cancel_transfer(&self, id: TransferId) -> bool {
        let cancelled = {
            let mut st = self.inner.state.lock();
            let cancelled = st.session.cancel(id);
            self.inner.after_change(&mut st);
            cancelled
        };
        self.inner.flush(true, None);
        self.inner.dispatch();
        cancelled
    }

    /// Messages queued with [`send_message`](Self::send_message) that have
    /// neither completed nor failed.
    pub fn active_transfers(&self) -> usize {
        self.inner.state.lock().session.active_transfers()
    }

    /// Sends what was already accepted, lets messages in progress
    /// ([`send_message`](Self::send_message)) finish or fail, waits for
    /// outstanding responses, then closes the connection gracefully (see
    /// the [module docs](self)).
    ///
    /// With `wait`, returns when the session is [`SessionState::Done`];
    /// otherwise the work continues on a new thread. A second call only
    /// waits (with `wait`) for the first to finish. From a callback, use
    /// `shutdown(false)`.
    pub fn shutdown(&self, wait: bool) {
        let first = {
            let mut st = self.inner.state.lock();
            if st.phase == SessionState::Connected {
                st.phase = SessionState::Flushing;
                true
            } else {
                false
            }
        };
        match (first, wait) {
            (true, true) => self.inner.run_shutdown(),
            (true, false) => {
                let inner = self.inner.clone();
                let spawned = thread::Builder::new()
                    .name("msgwire-msrp-shutdown".into())
                    .spawn(move || inner.run_shutdown());
                if spawned.is_err() {
                    // No thread to spare: do the work here.
                    self.inner.run_shutdown();
                }
            }
            (false, true) => {
                let mut st = self.inner.state.lock();
                while st.phase != SessionState::Done {
                    self.inner.changed.wait(&mut st);
                }
            }
            (false, false) => {}
        }
    }
}

impl Inner {
    fn wake_pump(&self) {
        let mut p = self.pump.state.lock();
        if p.started && !p.work {
            p.work = true;
            self.pump.wake.notify_one();
        }
    }

    /// Starts the pump thread unless it runs already.
    fn start_pump(self: &Arc<Self>) -> io::Result<()> {
        let mut p = self.pump.state.lock();
        if p.started {
            return Ok(());
        }
        let weak = Arc::downgrade(self);
        let pump = self.pump.clone();
        let handle = thread::Builder::new()
            .name("msgwire-msrp-pump".into())
            .spawn(move || run_pump(&weak, &pump))?;
        *self.pump.thread.lock() = Some(handle);
        p.started = true;
        Ok(())
    }

    /// The last application handle is gone. A session that is not being
    /// shut down in the background is aborted, and every thread of the
    /// session is joined (except the calling one, when a callback drops
    /// the last handle), so that nothing of it outlives the handle.
    fn on_last_handle(&self) {
        let phase = self.state.lock().phase;
        if matches!(phase, SessionState::Flushing | SessionState::Closing) {
            // `shutdown(false)` runs on its own thread and holds the
            // session; `run_shutdown` joins the pump when it is done.
            return;
        }
        self.pump.state.lock().stop = true;
        if let Some(c) = self.conn.get() {
            c.abort();
        }
        self.pump.stop_and_join();
        let closer = self.closer.lock().take();
        if let Some(h) = closer {
            if h.thread().id() != thread::current().id() {
                let _ = h.join();
            }
        }
    }

    /// Moves message pieces from the session to the connection, one at a
    /// time, each when the connection has fewer than [`PUMP_QUEUE_LIMIT`]
    /// messages queued. Returns when the session has nothing more to
    /// send; `false` when the pump should end for good.
    fn pump_pieces(self: &Arc<Self>, pump: &Pump) -> bool {
        let Some(sender) = self.sender.get() else {
            return true;
        };
        // Pieces are large: written by this thread while the stream is
        // idle (one system call each, as a plain copy loop would), they
        // skip the hand-over to the writer thread, which matters most
        // when the reader, the writer and this thread share few cores.
        // What the socket does not take at once queues for the writer.
        let direct = self.conn.get().map(Connection::direct_sender);
        loop {
            while !sender.wait_for_room(PUMP_QUEUE_LIMIT, PUMP_STALL_CHECK) {
                if pump.stopping() {
                    // The session is being released while the peer stalls.
                    return false;
                }
            }
            if pump.stopping() {
                return false;
            }
            let keepalive_failed = {
                let mut st = self.state.lock();
                if st.phase == SessionState::Done {
                    return false;
                }
                if !st.session.has_transmit() {
                    return true;
                }
                let piece = st.session.poll_transmit_at(Instant::now());
                let got = piece.is_some();
                st.out.extend(piece);
                let failed = self.after_change(&mut st);
                if !got {
                    // A source that failed without output; its events are
                    // routed, nothing is left to send.
                    drop(st);
                    self.flush(true, None);
                    self.dispatch();
                    return true;
                }
                failed
            };
            self.flush(true, direct.as_ref());
            self.dispatch();
            if keepalive_failed {
                self.close_in_background();
            }
        }
    }

    /// After any change of the session: route its events, collect its
    /// output, re-arm the timer, wake waiters. Call with the state locked,
    /// then [`flush`](Self::flush) and [`dispatch`](Self::dispatch) after
    /// unlocking. Returns whether a keep-alive failed.
    fn after_change(self: &Arc<Self>, st: &mut State) -> bool {
        let mut keepalive_failed = false;
        {
            let mut queue = self.queue.lock();
            while let Some(ev) = st.session.poll_event() {
                let routed = match ev {
                    SessionEvent::Response {
                        transaction_id,
                        response,
                        local,
                    } => {
                        let outcome = TransactionOutcome {
                            transaction_id,
                            response,
                            local,
                        };
                        match st.waiters.remove(&outcome.transaction_id) {
                            Some(cb) => Routed::One(cb, outcome),
                            None => Routed::Main(EndpointEvent::Session(SessionEvent::Response {
                                transaction_id: outcome.transaction_id,
                                response: outcome.response,
                                local: outcome.local,
                            })),
                        }
                    }
                    other => {
                        keepalive_failed |= other == SessionEvent::KeepaliveTimeout;
                        Routed::Main(EndpointEvent::Session(other))
                    }
                };
                queue.push_back(routed);
            }
            while let Some(ev) = st.session.poll_transfer_event() {
                let routed = match ev {
                    TransferEvent::Progress {
                        id,
                        acknowledged_bytes,
                        total,
                    } => Routed::Transfer(
                        id,
                        TransferUpdate::Progress {
                            acknowledged: acknowledged_bytes,
                            total,
                        },
                    ),
                    TransferEvent::Completed { id } => {
                        Routed::Transfer(id, TransferUpdate::Completed)
                    }
                    TransferEvent::Failed {
                        id,
                        code,
                        comment,
                        local,
                    } => Routed::Transfer(
                        id,
                        TransferUpdate::Failed {
                            code,
                            comment,
                            local,
                        },
                    ),
                    TransferEvent::MessageStored { head, size } => {
                        Routed::Main(EndpointEvent::MessageStored {
                            message_id: head.message_id().unwrap_or_default().to_string(),
                            content_type: head.content_type().map(str::to_string),
                            size,
                            head,
                        })
                    }
                    TransferEvent::MessageAborted { message_id, reason } => {
                        Routed::Main(EndpointEvent::MessageAborted { message_id, reason })
                    }
                    // Future kinds of transfer events have no route yet.
                    #[allow(unreachable_patterns)]
                    _ => continue,
                };
                queue.push_back(routed);
            }
        }
        // Only the session's own queue (responses, REPORTs, chunks):
        // message pieces are pulled by the pump when the writer has room.
        let now = Instant::now();
        while let Some(bytes) = st.session.poll_transmit_queued(now) {
            st.out.push_back(bytes);
        }
        if st.phase != SessionState::Done && st.session.has_transmit() {
            self.wake_pump();
        }
        self.rearm(st);
        self.changed.notify_all();
        keepalive_failed
    }

    fn rearm(self: &Arc<Self>, st: &mut State) {
        let next = if st.phase == SessionState::Done {
            None
        } else {
            st.session.poll_timeout()
        };
        if st.armed.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        if let Some((_, handle)) = st.armed.take() {
            handle.cancel();
        }
        if let Some(at) = next {
            let weak: Weak<Inner> = Arc::downgrade(self);
            let handle = self.timer.schedule(at, move || {
                if let Some(inner) = weak.upgrade() {
                    inner.on_timer(at);
                }
            });
            st.armed = Some((at, handle));
        }
    }

    fn on_timer(self: &Arc<Self>, at: Instant) {
        let keepalive_failed = {
            let mut st = self.state.lock();
            if st.armed.as_ref().is_some_and(|(a, _)| *a == at) {
                st.armed = None;
            }
            if st.phase == SessionState::Done {
                return;
            }
            st.session.handle_timeout(Instant::now());
            self.after_change(&mut st)
        };
        self.flush(false, None);
        self.dispatch();
        if keepalive_failed {
            self.close_in_background();
        }
    }

    fn on_incoming(self: &Arc<Self>, ev: Incoming<'_>, sender: &Sender) {
        match ev {
            Incoming::Data(data) => {
                let keepalive_failed = {
                    let mut st = self.state.lock();
                    st.session.handle_input(data, Instant::now());
                    self.after_change(&mut st)
                };
                self.flush(false, Some(sender));
                self.dispatch();
                if keepalive_failed {
                    self.close_in_background();
                }
            }
            Incoming::Closed(error) => {
                {
                    let mut st = self.state.lock();
                    st.session.handle_close();
                    st.phase = SessionState::Done;
                    st.out.clear();
                    self.after_change(&mut st);
                    // Requests that never expected a response may still
                    // have callbacks registered; nothing will call them.
                    st.waiters.clear();
                    self.queue
                        .lock()
                        .push_back(Routed::Main(EndpointEvent::Closed(error)));
                }
                self.wake_pump();
                self.dispatch();
            }
        }
    }

    /// Hands `state.out` to the connection, in order. `blocking`: wait for
    /// the write lock (application threads); otherwise leave the work to
    /// the thread holding it (reader and timer threads).
    /// `via`: the reader thread's own sender, which may write directly.
    fn flush(&self, blocking: bool, via: Option<&Sender>) {
        let Some(sender) = via.or_else(|| self.sender.get()) else {
            return;
        };
        loop {
            let guard = if blocking {
                self.write_lock.lock()
            } else {
                match self.write_lock.try_lock() {
                    Some(g) => g,
                    None => return,
                }
            };
            let mut batch = VecDeque::new();
            loop {
                std::mem::swap(&mut batch, &mut self.state.lock().out);
                if batch.is_empty() {
                    break;
                }
                // One vectored write when the connection is idle.
                if sender.send_all(&mut batch).is_err() {
                    // The connection is gone; nothing more will go out.
                    self.state.lock().out.clear();
                    return;
                }
            }
            drop(guard);
            // Output queued by a thread that found the lock taken after our
            // last look is ours to send.
            if self.state.lock().out.is_empty() {
                return;
            }
        }
    }

    /// Delivers queued events, in order, on whichever thread gets the
    /// dispatch lock first.
    fn dispatch(&self) {
        loop {
            let Some(mut callback) = self.callback.try_lock() else {
                return;
            };
            loop {
                let Some(next) = self.queue.lock().pop_front() else {
                    break;
                };
                match next {
                    Routed::One(cb, outcome) => cb(outcome),
                    Routed::Transfer(id, update) => {
                        // Taken out while it runs: it may send messages.
                        let taken = self.transfer_callbacks.lock().remove(&id);
                        if let Some(mut cb) = taken {
                            let last = !matches!(update, TransferUpdate::Progress { .. });
                            cb(update);
                            if !last {
                                self.transfer_callbacks.lock().insert(id, cb);
                            }
                        }
                    }
                    Routed::Main(ev) => {
                        let last = matches!(ev, EndpointEvent::Closed(_));
                        if let Some(cb) = callback.as_mut() {
                            cb(ev);
                        }
                        if last {
                            // Release whatever the callback holds (it may
                            // own clones of this session).
                            let cb = callback.take();
                            drop(callback);
                            drop(cb);
                            return;
                        }
                    }
                }
            }
            drop(callback);
            if self.queue.lock().is_empty() {
                return;
            }
        }
    }

    fn close_in_background(self: &Arc<Self>) {
        let mut slot = self.closer.lock();
        if slot.is_some() {
            return;
        }
        // Holds the session only weakly: the last handle's drop aborts the
        // connection and joins this thread.
        let weak = Arc::downgrade(self);
        *slot = thread::Builder::new()
            .name("msgwire-msrp-close".into())
            .spawn(move || {
                if let Some(inner) = weak.upgrade() {
                    if let Some(c) = inner.conn.get() {
                        let _ = c.close();
                    }
                }
            })
            .ok();
    }

    fn run_shutdown(self: &Arc<Self>) {
        self.flush(true, None);
        {
            let mut st = self.state.lock();
            // Messages already queued go out first and end (completed, or
            // failed: by the peer, a response timeout, cancel, or the
            // connection closing); the pump does the sending.
            while st.phase != SessionState::Done && st.session.active_transfers() > 0 {
                self.changed.wait(&mut st);
            }
        }
        self.flush(true, None);
        {
            let mut st = self.state.lock();
            if st.phase == SessionState::Flushing {
                st.phase = SessionState::Closing;
            }
            // Bounded by the response timeout: every pending request gets a
            // local response when it passes.
            while st.phase != SessionState::Done && st.session.pending_transactions() > 0 {
                self.changed.wait(&mut st);
            }
        }
        if let Some(c) = self.conn.get() {
            let _ = c.close();
        }
        let mut st = self.state.lock();
        if st.phase != SessionState::Done {
            // `close` joins the reader, which reports the end; this only
            // runs if `close` was called on the reader thread itself.
            st.phase = SessionState::Done;
            if let Some((_, h)) = st.armed.take() {
                h.cancel();
            }
        }
        self.changed.notify_all();
        drop(st);
        // Nothing is left to send; the pump must not outlive the session.
        self.pump.stop_and_join();
    }
}
