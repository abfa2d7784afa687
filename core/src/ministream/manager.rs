//! The socket manager: streams multiplexed over transport connections,
//! with blocking sockets on top (the `I2PSocketManager` of the Java API).
//!
//! # Threads
//!
//! Every transport connection (a *link*) is driven by the engine's
//! [`Connection`]: its reader thread decodes frames and hands each to the
//! stream it names; its writer thread sends what sockets queue. Sockets are
//! used from application threads and block on a condition variable of their
//! stream. A TCP manager has one more thread accepting connections;
//! accept timeouts and non-blocking connects use the shared [`Timer`].
//!
//! The reader and timer threads never wait for a peer to read. What they
//! send (held data once the ACK comes, refusals) is queued at once, past a
//! full send queue if need be ([`Sender::send_beyond`]); so are the ACKs
//! `accept` sends, SYNs and Closes, which application threads send while
//! the link may be stalled. A reader thread that waited for room would
//! stop reading every stream of its link, and two managers whose peers do
//! not read would wait for each other forever. Control frames our own
//! application causes are bounded by its streams; refusals, which a peer
//! causes, may go at most 1,024 past the queue's capacity per link and
//! are dropped beyond (the peer's connect then times out). Only data
//! writes wait for room, up to [`SocketOptions::write_timeout`]. The one
//! wait of the reader thread is for room in a stream's receive buffer
//! (below).
//!
//! # Which link
//!
//! A link is found by the peer's destination. Links we dial are known by
//! the destination we dialled; links a peer dialled become known by the
//! destination in the first SYN they carry (there is no other handshake).
//! Either side opens streams over either kind. Replies (ACK, refusal, data)
//! always go back over the link the stream lives on.
//!
//! # Destinations are claims
//!
//! The protocol has no handshake and no proof of identity: the destination
//! in a SYN is whatever the peer writes there. Over TCP a peer may claim
//! any `host:port`, not only its own; [`Socket::peer_destination`] reports
//! the claim as it is (that is what the protocol defines it to be), and
//! when no live link to that destination exists yet, the link it arrived
//! on becomes the one our own streams to that destination use. Nothing
//! here checks the claim, with or without TLS (which authenticates the
//! server side of a connection, not the destination its peer names).
//! Applications that must know who is at the other end authenticate
//! inside their streams. (A live link we dialled is never replaced by a
//! claim, so streams to a peer we already reach go to that peer.)
//!
//! # Bad frames
//!
//! A frame that does not decode (shorter than 4 bytes, id `00 00 00`, a type
//! outside the ranges), a frame of an unknown type inside the ranges, and a
//! frame for a stream id this side does not know on that link (data or a
//! Close after the stream ended, or a made-up id) are dropped, logged at
//! debug level and counted in [`Stats`]. Nothing else happens: the link and
//! its other streams carry on. Only a broken length prefix (longer than
//! [`ManagerConfig::max_message`]) closes the link, because nothing after
//! it can be trusted; its streams end with [`Error::Transport`].
//!
//! # Back-pressure and head-of-line blocking
//!
//! Each stream buffers at most [`SocketOptions::buffer_size`] received
//! bytes (plus one frame). When a frame arrives for a stream whose buffer
//! is full, the link's reader thread waits until the application reads from
//! that stream (or closes it). Nothing is dropped, and TCP flow control
//! slows the sender down. The price: while it waits, no frame for *any*
//! stream on that link is read, so one stream whose reader stalls stalls
//! every stream to the same peer. Applications that may leave a stream
//! unread for long should read it on a thread of its own or close it.
//!
//! On the sending side, a write waits (up to
//! [`SocketOptions::write_timeout`]) for the transport to take its frames
//! or, before the ACK, while [`SocketOptions::buffer_size`] bytes are held.
//!
//! # Copies
//!
//! Received payloads are slices of the link's read buffers (the kernel
//! reads straight into them over TCP on Linux, see
//! [`Connection::spawn_owned`]); they are queued per stream as they are
//! and copied once, into the reader's buffer (or not at all with
//! [`Socket::read_chunks`]). Only a frame cut by the end of one read is
//! copied to join its halves. A write sends the frame headers and the
//! caller's bytes in one vectored write from the writing thread
//! ([`Sender::send_slices`]); when the transport is busy with other
//! senders' frames, the bytes are copied and queued instead.
//!
//! One received buffer stays in memory while any frame sliced from it is
//! unread: up to the read buffer size (256 KiB) per unread frame in the
//! worst case. Reads under an eighth of it are copied out instead, so
//! small frames never pin a whole buffer.

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Read, Write};
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel as channel;
use parking_lot::{Condvar, Mutex};

use super::error::Error;
use super::frame::{
    data_header, FrameReader, FrameType, Message, StreamId, DEFAULT_MAX_MESSAGE,
    DEFAULT_MAX_PAYLOAD, HEADER_LEN, PREFIX_LEN,
};
use super::stream::{random_id, End, Phase, Role, StreamState};
use super::transport::{IncomingFn, MemoryNetwork, MemoryTransport, TcpTransport, Transport};
use crate::net::stats::{self, Protocol};
use crate::net::{
    Config as ConnConfig, Connection, Received, SendError, Sender, Stream, Timer, TlsClientConfig,
    TlsServerConfig,
};

/// Per-socket options, named after the Java `I2PSocketOptions`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketOptions {
    /// How long `connect` waits for the ACK (and for the transport to come
    /// up). Default 60 s, the Java default.
    pub connect_timeout: Duration,
    /// How long a read waits for data; `None` (default) waits forever. A
    /// read that times out fails with `ErrorKind::TimedOut` and the socket
    /// stays usable.
    pub read_timeout: Option<Duration>,
    /// How long a write waits for room; `None` (default) waits forever.
    pub write_timeout: Option<Duration>,
    /// Most received bytes buffered per stream before the link stops
    /// reading (plus one frame), and most bytes a write holds before the
    /// ACK. Once established, a write hands the link up to this many
    /// bytes, at least 256 KiB, per vectored write. Default 64 KiB: two
    /// full frames.
    pub buffer_size: usize,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            connect_timeout: Duration::from_secs(60),
            read_timeout: None,
            write_timeout: None,
            buffer_size: 64 * 1024,
        }
    }
}

/// Tunables of a [`SocketManager`]. Start from [`ManagerConfig::default`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ManagerConfig {
    /// Default options for sockets this manager opens and accepts.
    pub options: SocketOptions,
    /// How long an incoming stream waits for `accept()` before it is
    /// refused with a Close. Default 5 s, as in the Java code.
    pub accept_timeout: Duration,
    /// Most incoming streams waiting for `accept()` at once; a SYN beyond
    /// them is refused at once with a Close, as when nobody listens.
    /// Default 4096 (a few hundred bytes each): far more than an
    /// application that accepts in a loop lets pile up, while a peer
    /// sending SYNs faster than they are accepted cannot grow memory
    /// without bound. At least 1.
    pub accept_backlog: usize,
    /// Largest data payload per frame; longer writes are split. Default
    /// 32 KiB.
    pub max_payload: usize,
    /// Largest message (frame) accepted from a peer; a longer length prefix
    /// closes the link. Default 64 KiB. Must be at least `max_payload + 4`.
    pub max_message: usize,
    /// How long `destroy` waits per link for queued frames (the Closes) to
    /// be written and the peer to close. Default 2 s.
    pub close_timeout: Duration,
    /// TCP only: accept TLS with this configuration.
    pub tls_server: Option<TlsServerConfig>,
    /// TCP only: dial with TLS using this configuration.
    pub tls_client: Option<TlsClientConfig>,
    /// The timer serving accept timeouts and [`SocketManager::open`]
    /// deadlines; `None` (default) uses [`Timer::shared`]. The C library
    /// passes a timer whose thread stops when its last handle is freed.
    pub timer: Option<Timer>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            options: SocketOptions::default(),
            accept_timeout: Duration::from_secs(5),
            accept_backlog: 4096,
            max_payload: DEFAULT_MAX_PAYLOAD,
            max_message: DEFAULT_MAX_MESSAGE,
            close_timeout: Duration::from_secs(2),
            tls_server: None,
            tls_client: None,
            timer: None,
        }
    }
}

/// Counts of frames the manager received and dropped (see the
/// [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages that are not frames: too short, id `00 00 00`, or a type
    /// outside the ranges.
    pub malformed: u64,
    /// Frames of an unknown type inside the ranges.
    pub unknown_type: u64,
    /// Frames for a stream id not open on that link (or not expecting
    /// that frame type).
    pub unknown_stream: u64,
    /// Ping probes (`FF`) and chaff received.
    pub pings: u64,
    /// Links closed because of a broken length prefix.
    pub framing_errors: u64,
}

/// A snapshot of one open stream, from [`SocketManager::list_sockets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketInfo {
    /// Whether we opened it (client side) or accepted it.
    pub role: Role,
    /// Our id.
    pub local_id: StreamId,
    /// The peer's id, once known.
    pub remote_id: Option<StreamId>,
    /// The peer's destination.
    pub peer_destination: Bytes,
    /// Where it is in its life.
    pub phase: Phase,
}

/// A ministreaming endpoint: one destination, any number of streams to
/// other destinations. See the [module docs](self).
///
/// Dropping the manager destroys it.
pub struct SocketManager {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SocketManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketManager")
            .field("destination", &String::from_utf8_lossy(&self.inner.local))
            .finish()
    }
}

impl SocketManager {
    /// A manager over TCP listening on `addr` (port 0 picks one); its
    /// destination is the bound `ip:port`.
    pub fn listen_tcp(
        addr: impl ToSocketAddrs,
        config: ManagerConfig,
    ) -> Result<SocketManager, Error> {
        let transport =
            TcpTransport::bind(addr, config.tls_server.clone(), config.tls_client.clone())
                .map_err(Error::Transport)?;
        SocketManager::with_transport(Box::new(transport), config)
    }

    /// A manager on an in-memory `network`, named `name` (or a generated
    /// unique name).
    pub fn in_memory(
        network: &MemoryNetwork,
        name: Option<&[u8]>,
        config: ManagerConfig,
    ) -> Result<SocketManager, Error> {
        let transport = MemoryTransport::new(network, name)?;
        SocketManager::with_transport(Box::new(transport), config)
    }

    /// Two in-memory managers that reach each other, on a network of their
    /// own.
    pub fn in_memory_pair(config: ManagerConfig) -> Result<(SocketManager, SocketManager), Error> {
        let network = MemoryNetwork::new();
        let a = SocketManager::in_memory(&network, None, config.clone())?;
        let b = SocketManager::in_memory(&network, None, config)?;
        Ok((a, b))
    }

    /// A manager over any [`Transport`].
    pub fn with_transport(
        transport: Box<dyn Transport>,
        config: ManagerConfig,
    ) -> Result<SocketManager, Error> {
        if config.max_payload == 0 || config.max_message < config.max_payload + HEADER_LEN {
            return Err(Error::Invalid(
                "max_message must be at least max_payload + 4, and max_payload at least 1".into(),
            ));
        }
        if config.accept_backlog == 0 {
            return Err(Error::Invalid("accept_backlog must be at least 1".into()));
        }
        let timer = match &config.timer {
            Some(timer) => timer.clone(),
            None => Timer::shared().map_err(Error::Transport)?,
        };
        let inner = Arc::new(Inner {
            local: transport.local_destination(),
            transport,
            config,
            state: Mutex::new(State::default()),
            accept_cv: Condvar::new(),
            destroyed: AtomicBool::new(false),
            stats: StatCounters::default(),
            timer,
        });
        let weak = Arc::downgrade(&inner);
        let incoming: IncomingFn = Arc::new(move |stream: Stream| {
            if let Some(inner) = weak.upgrade() {
                if let Err(e) = inner.add_link(stream, None) {
                    log::warn!("ministream: could not start an accepted connection: {e:?}");
                }
            }
        });
        inner.transport.start(incoming).map_err(Error::Transport)?;
        Ok(SocketManager { inner })
    }

    /// This manager's destination (for TCP, `ip:port` in UTF-8).
    pub fn destination(&self) -> &[u8] {
        &self.inner.local
    }

    /// Opens a stream to `destination` and waits for the peer to accept it
    /// (up to `options.connect_timeout`). Errors: [`Error::Refused`],
    /// [`Error::TimedOut`], [`Error::Transport`] (could not reach the
    /// peer), [`Error::InvalidDestination`], [`Error::Destroyed`].
    pub fn connect(&self, destination: &[u8], options: &SocketOptions) -> Result<Socket, Error> {
        let socket = self.open(destination, options)?;
        let cell = &socket.handle.cell;
        let mut st = cell.state.lock();
        loop {
            match st.phase() {
                Phase::Established => break,
                Phase::SynSent => {
                    // The stream's own deadline (set by `open`): a deadline
                    // taken here, a moment earlier, would come before it,
                    // and the timeout would never be seen while this loop
                    // holds the lock.
                    let now = Instant::now();
                    if !st.poll_timeout(now) {
                        match st.connect_deadline() {
                            Some(deadline) => {
                                cell.cv.wait_until(&mut st, deadline);
                            }
                            None => {
                                cell.cv.wait(&mut st);
                            }
                        }
                    }
                }
                _ => {
                    let end = st.end().unwrap_or(End::LocalClosed);
                    drop(st);
                    self.inner.forget(cell);
                    return Err(super::stream::end_error(end, false));
                }
            }
        }
        drop(st);
        Ok(socket)
    }

    /// Opens a stream to `destination` without waiting for the ACK: the
    /// SYN is queued and the socket returned at once. Writes are held and
    /// sent in order once the peer accepts; reads wait for data. If the
    /// peer refuses, or no ACK comes within `options.connect_timeout`,
    /// reads and writes fail with [`Error::Refused`] / [`Error::TimedOut`].
    pub fn open(&self, destination: &[u8], options: &SocketOptions) -> Result<Socket, Error> {
        let inner = &self.inner;
        inner.check_alive()?;
        let deadline = Instant::now() + options.connect_timeout;
        let link = inner.link_to(destination, options.connect_timeout)?;
        let cell = {
            let mut state = inner.state.lock();
            if inner.destroyed.load(Ordering::SeqCst) {
                return Err(Error::Destroyed);
            }
            let id = random_id(|id| state.clients.contains_key(&id));
            let mut st = StreamState::client(id, options.buffer_size, inner.config.max_payload);
            st.set_connect_deadline(Some(deadline));
            let cell = Arc::new(StreamCell::new(
                st,
                link.clone(),
                Bytes::copy_from_slice(destination),
                options,
            ));
            state.clients.insert(id, cell.clone());
            cell
        };
        let syn = cell.state.lock().syn(&inner.local);
        // Queued even on a congested link: `connect` waits for the ACK
        // (up to the connect timeout), not for room.
        if let Err(e) = link.sender.send_beyond(syn, UNBOUNDED) {
            inner.forget(&cell);
            return Err(Error::Transport(io::Error::new(
                io::ErrorKind::BrokenPipe,
                e.to_string(),
            )));
        }
        let weak = Arc::downgrade(&cell);
        let manager = Arc::downgrade(inner);
        inner.timer.schedule(deadline, move || {
            let Some(cell) = weak.upgrade() else {
                return;
            };
            let timed_out = cell.state.lock().poll_timeout(Instant::now());
            if timed_out {
                cell.cv.notify_all();
                if let Some(manager) = manager.upgrade() {
                    manager.forget(&cell);
                }
            }
        });
        Ok(Socket::new(cell, inner.clone()))
    }

    /// A handle to the manager's server socket, creating it: from now on
    /// incoming streams wait (up to the accept timeout) for
    /// [`ServerSocket::accept`] instead of being refused. While any handle
    /// is alive the manager accepts; when the last is closed or dropped,
    /// streams waiting for `accept()` are refused.
    pub fn server_socket(&self) -> Result<ServerSocket, Error> {
        self.inner.check_alive()?;
        let mut state = self.inner.state.lock();
        if let Some(existing) = state.server.upgrade() {
            if !existing.closed.load(Ordering::SeqCst) {
                return Ok(ServerSocket { inner: existing });
            }
        }
        let server = Arc::new(ServerInner {
            manager: self.inner.clone(),
            closed: AtomicBool::new(false),
        });
        state.server = Arc::downgrade(&server);
        state.listening = true;
        Ok(ServerSocket { inner: server })
    }

    /// Every stream currently open or being opened.
    pub fn list_sockets(&self) -> Vec<SocketInfo> {
        let state = self.inner.state.lock();
        let cells: Vec<Arc<StreamCell>> = state
            .clients
            .values()
            .chain(state.servers.values())
            .cloned()
            .collect();
        drop(state);
        cells
            .iter()
            .filter_map(|cell| {
                let st = cell.state.lock();
                (st.phase() != Phase::Closed).then(|| SocketInfo {
                    role: st.role(),
                    local_id: st.local_id(),
                    remote_id: st.remote_id(),
                    peer_destination: cell.peer.clone(),
                    phase: st.phase(),
                })
            })
            .collect()
    }

    /// Checks that `destination` is reachable: the link to it is up or
    /// comes up within `timeout`, and the one-byte `FF` probe was queued on
    /// it. `Ok(false)` when it cannot be reached in time.
    pub fn ping(&self, destination: &[u8], timeout: Duration) -> Result<bool, Error> {
        self.inner.check_alive()?;
        let link = match self.inner.link_to(destination, timeout) {
            Ok(link) => link,
            Err(Error::TimedOut | Error::Transport(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let probe = Bytes::from_static(&[0, 0, 0, 1, 0xFF]);
        Ok(send_until(&link.sender, probe, Some(Instant::now() + timeout)).is_ok())
    }

    /// Frames dropped so far (see the [module docs](self)).
    pub fn stats(&self) -> Stats {
        self.inner.stats.snapshot()
    }

    /// Closes every stream (with a Close frame to the peer), refuses
    /// streams waiting for `accept()`, stops the transport and closes every
    /// link, joining their threads. Blocked calls on sockets and the server
    /// socket return [`Error::Destroyed`] or [`Error::Closed`]. Bounded by
    /// [`ManagerConfig::close_timeout`] per link; calling it again does
    /// nothing.
    pub fn destroy(&self) {
        self.inner.destroy();
    }

    /// Whether [`destroy`](Self::destroy) has run.
    pub fn is_destroyed(&self) -> bool {
        self.inner.destroyed.load(Ordering::SeqCst)
    }
}

impl Drop for SocketManager {
    fn drop(&mut self) {
        self.inner.destroy();
    }
}

/// The manager's server socket: [`accept`](ServerSocket::accept) takes
/// incoming streams. Clones share the same server socket.
#[derive(Clone)]
pub struct ServerSocket {
    inner: Arc<ServerInner>,
}

impl std::fmt::Debug for ServerSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSocket").finish_non_exhaustive()
    }
}

impl ServerSocket {
    /// Waits for an incoming stream (up to `timeout`; `None` waits until
    /// one comes, the server socket is closed or the manager destroyed),
    /// sends its ACK and returns it. Errors: [`Error::TimedOut`],
    /// [`Error::Closed`], [`Error::Destroyed`].
    pub fn accept(&self, timeout: Option<Duration>) -> Result<Socket, Error> {
        let manager = &self.inner.manager;
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut state = manager.state.lock();
        loop {
            if manager.destroyed.load(Ordering::SeqCst) {
                return Err(Error::Destroyed);
            }
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(Error::Closed);
            }
            while let Some(pending) = state.accept_queue.pop_front() {
                let cell = pending.cell;
                let ack = cell.state.lock().accept();
                let Some(ack) = ack else {
                    continue; // refused or failed meanwhile
                };
                drop(state);
                // Never waits for a congested link: the peer reads the
                // ACK when it reads again.
                if let Err(e) = cell.link.sender.send_beyond(ack, UNBOUNDED) {
                    cell.state.lock().fail(End::TransportFailed);
                    manager.forget(&cell);
                    log::debug!("ministream: ACK not sent: {e}");
                    state = manager.state.lock();
                    continue;
                }
                return Ok(Socket::new(cell, manager.clone()));
            }
            match deadline {
                Some(d) => {
                    if manager.accept_cv.wait_until(&mut state, d).timed_out()
                        && state.accept_queue.is_empty()
                    {
                        return Err(Error::TimedOut);
                    }
                }
                None => manager.accept_cv.wait(&mut state),
            }
        }
    }

    /// Closes the server socket for every handle: later incoming streams
    /// are refused, so are those waiting for `accept()`, and blocked
    /// `accept` calls return [`Error::Closed`].
    pub fn close(&self) {
        self.inner.close();
    }
}

/// One stream, as the application uses it: blocking [`Read`] and
/// [`Write`] (also on `&Socket`, so one thread may read while another
/// writes through [`try_clone`](Socket::try_clone) or a shared
/// reference).
///
/// Dropping the last handle of a stream closes it.
pub struct Socket {
    handle: Arc<Handle>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.handle.cell.state.lock();
        f.debug_struct("Socket")
            .field("role", &st.role())
            .field("local_id", &st.local_id())
            .field("phase", &st.phase())
            .finish()
    }
}

impl Socket {
    fn new(cell: Arc<StreamCell>, manager: Arc<Inner>) -> Socket {
        Socket {
            handle: Arc::new(Handle {
                cell,
                manager,
                _session: stats::counters(Protocol::Ministream).open_session(),
            }),
        }
    }

    /// Another handle to the same stream (for reading on one thread and
    /// writing on another). Dropping the last handle closes the stream;
    /// [`close`](Self::close) on any handle closes it for all.
    pub fn try_clone(&self) -> io::Result<Socket> {
        Ok(Socket {
            handle: self.handle.clone(),
        })
    }

    /// Closes the stream: sends our Close (once), discards unread data and
    /// wakes blocked reads and writes (which fail with [`Error::Closed`]).
    /// A write already handing its frames to a peer that does not read
    /// cannot be cut short (the link would lose its framing): it goes on
    /// until the peer takes the frames, its write timeout passes or the
    /// link ends; `close` waits for it at most
    /// [`ManagerConfig::close_timeout`].
    pub fn close(&self) {
        self.handle.close();
    }

    /// The peer's destination: for an accepted stream, the SYN's payload
    /// (the peer's unchecked claim, see the [module docs](self)); for one
    /// we opened, the destination we connected to.
    pub fn peer_destination(&self) -> Bytes {
        self.handle.cell.peer.clone()
    }

    /// This manager's destination.
    pub fn local_destination(&self) -> Bytes {
        self.handle.manager.local.clone()
    }

    /// Our id for this stream.
    pub fn local_id(&self) -> StreamId {
        self.handle.cell.state.lock().local_id()
    }

    /// The peer's id, once known.
    pub fn remote_id(&self) -> Option<StreamId> {
        self.handle.cell.state.lock().remote_id()
    }

    /// Whether we opened the stream or accepted it.
    pub fn role(&self) -> Role {
        self.handle.cell.state.lock().role()
    }

    /// Data bytes written to the stream so far.
    pub fn bytes_sent(&self) -> u64 {
        self.handle.cell.sent.load(Ordering::Relaxed)
    }

    /// Data bytes received on the stream so far.
    pub fn bytes_received(&self) -> u64 {
        self.handle.cell.received.load(Ordering::Relaxed)
    }

    /// Sets how long reads wait; `None` waits forever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) {
        self.handle.cell.timeouts.lock().0 = timeout;
    }

    /// Sets how long writes wait for room; `None` waits forever.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) {
        self.handle.cell.timeouts.lock().1 = timeout;
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> Option<Duration> {
        self.handle.cell.timeouts.lock().0
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> Option<Duration> {
        self.handle.cell.timeouts.lock().1
    }

    /// Reads into `buf`; `Ok(0)` at the end of the stream (the peer
    /// closed it). Errors carry an [`Error`] ([`Error::from_io`] gets it
    /// back): `TimedOut` after the read timeout, `NotConnected` once closed
    /// here, `BrokenPipe` when the transport failed, `ConnectionRefused` /
    /// `TimedOut` for a refused or unanswered [`SocketManager::open`].
    pub fn read_bytes(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.read_with(|st| st.read(buf).map(|n| (n, n)))
    }

    /// Reads without copying: the received payloads themselves (slices of
    /// the link's read buffers), at most `max` bytes in all, waiting as
    /// [`read_bytes`](Self::read_bytes) does; an empty vector at the end
    /// of the stream. For bindings that copy received bytes into objects
    /// of their own (one copy instead of two).
    pub fn read_chunks(&self, max: usize) -> Result<Vec<Bytes>, Error> {
        self.read_with(|st| {
            st.read_chunks(max)
                .map(|chunks| (chunks.iter().map(Bytes::len).sum(), chunks))
        })
    }

    /// Runs `read` (which returns the bytes read and its result) until it
    /// has something, waiting for data up to the read timeout.
    fn read_with<T>(
        &self,
        mut read: impl FnMut(&mut StreamState) -> Result<(usize, T), Option<Error>>,
    ) -> Result<T, Error> {
        let cell = &self.handle.cell;
        let deadline = cell.timeouts.lock().0.map(|t| Instant::now() + t);
        let mut st = cell.state.lock();
        loop {
            match read(&mut st) {
                Ok((n, out)) => {
                    if n > 0 {
                        cell.received.fetch_add(n as u64, Ordering::Relaxed);
                        // Half the buffer free again: the link's reader
                        // thread may be waiting for room. (Waking it for
                        // every small read would cost a hand-over per
                        // read; it waits only while the buffer is full.)
                        if st.buffered() <= cell.buffer_size / 2 {
                            cell.cv.notify_all();
                        }
                    }
                    return Ok(out);
                }
                Err(Some(e)) => return Err(e),
                Err(None) => match deadline {
                    Some(d) => {
                        if cell.cv.wait_until(&mut st, d).timed_out()
                            && st.buffered() == 0
                            && st.end().is_none()
                        {
                            return Err(Error::TimedOut);
                        }
                    }
                    None => cell.cv.wait(&mut st),
                },
            }
        }
    }

    /// Writes all of `data` (split into frames), waiting for room (up to
    /// the write timeout). Errors: [`Error::Reset`] once the peer closed
    /// the stream, [`Error::Closed`], [`Error::TimedOut`] (the bytes of
    /// the chunk being handed over were not sent; earlier chunks were),
    /// [`Error::Transport`], [`Error::Refused`].
    pub fn write_bytes(&self, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let n = self.write_some(data)?;
            data = &data[n..];
        }
        Ok(())
    }

    fn write_some(&self, data: &[u8]) -> Result<usize, Error> {
        let cell = &self.handle.cell;
        let deadline = cell.timeouts.lock().1.map(|t| Instant::now() + t);
        let buffer = cell.buffer_size;
        // A closed stream fails at once, not after a write blocked on the
        // peer (which holds the send order).
        cell.state.lock().data_target()?;
        let mut order = cell.send_order.lock();
        let mut st = cell.state.lock();
        // Before the ACK: hold at most `buffer_size` bytes. Wait without
        // the send-order lock: the link's reader takes it to handle the
        // ACK that ends the wait.
        while st.phase() == Phase::SynSent && st.held() >= buffer {
            drop(order);
            match deadline {
                Some(d) => {
                    if cell.cv.wait_until(&mut st, d).timed_out() && st.phase() == Phase::SynSent {
                        return Err(Error::TimedOut);
                    }
                }
                None => cell.cv.wait(&mut st),
            }
            // Lock order: send order, then state.
            drop(st);
            order = cell.send_order.lock();
            st = cell.state.lock();
        }
        let room = if st.phase() == Phase::SynSent {
            buffer - st.held()
        } else {
            buffer.max(WRITE_CHUNK)
        };
        let n = data.len().min(room.max(1));
        let data = &data[..n];
        let Some((kind, peer)) = st.data_target()? else {
            st.write(data)?; // held until the ACK
            cell.sent.fetch_add(n as u64, Ordering::Relaxed);
            return Ok(n);
        };
        drop(st);
        // Frame headers here, payloads straight from `data`: one vectored
        // write, no copy (see `Sender::send_slices`).
        let max = self.handle.manager.config.max_payload;
        let headers: Vec<[u8; PREFIX_LEN + HEADER_LEN]> = data
            .chunks(max)
            .map(|piece| data_header(kind, peer, piece.len()))
            .collect();
        let slices: Vec<IoSlice<'_>> = headers
            .iter()
            .zip(data.chunks(max))
            .flat_map(|(header, piece)| [IoSlice::new(header), IoSlice::new(piece)])
            .collect();
        cell.link
            .sender
            .send_slices(&slices, deadline)
            .map_err(send_error)?;
        cell.sent.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_bytes(buf).map_err(io::Error::from)
    }
}

impl Read for &Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_bytes(buf).map_err(io::Error::from)
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Write for &Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.write_some(buf).map_err(io::Error::from)
    }
    /// Writes are handed to the link's writer thread as they are made;
    /// there is nothing to flush.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ------------------------------------------------------------------ internals

struct Handle {
    cell: Arc<StreamCell>,
    manager: Arc<Inner>,
    /// Counts the stream as an open session in the status counters.
    _session: stats::Open,
}

impl Handle {
    fn close(&self) {
        let cell = &self.cell;
        let deadline = Instant::now() + self.manager.config.close_timeout;
        let pending = {
            // In order after frames other threads are sending; but a
            // write blocked on a peer that does not read holds the order
            // for as long as that lasts, so wait for it only up to the
            // close timeout. (Our Close then goes out after that write's
            // frames anyway, since a message is never cut; only a write
            // about to start could follow it, and the peer drops it.)
            let _order = cell.send_order.try_lock_until(deadline);
            let mut st = cell.state.lock();
            let close = st.close();
            let pending = st.close_pending();
            drop(st);
            if let Some(close) = close {
                send_control(&cell.link.sender, close, UNBOUNDED, "a Close");
            }
            pending
        };
        cell.cv.notify_all();
        // Closed before the ACK: the stream stays registered until the ACK
        // (or a refusal, or the connect deadline) so its held data and our
        // Close still go out.
        if !pending {
            self.manager.forget(cell);
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.close();
    }
}

struct ServerInner {
    manager: Arc<Inner>,
    closed: AtomicBool,
}

impl ServerInner {
    fn close(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let refused = {
            let mut state = self.manager.state.lock();
            state.listening = false;
            state.accept_queue.drain(..).collect::<Vec<_>>()
        };
        for pending in refused {
            self.manager.refuse(&pending.cell);
        }
        self.manager.accept_cv.notify_all();
    }
}

impl Drop for ServerInner {
    fn drop(&mut self) {
        self.close();
    }
}

struct StreamCell {
    state: Mutex<StreamState>,
    cv: Condvar,
    /// Held while frames of this stream are encoded and queued, so they
    /// reach the link in the order they were made.
    send_order: Mutex<()>,
    link: Arc<Link>,
    peer: Bytes,
    buffer_size: usize,
    timeouts: Mutex<(Option<Duration>, Option<Duration>)>,
    sent: AtomicU64,
    received: AtomicU64,
}

impl StreamCell {
    fn new(st: StreamState, link: Arc<Link>, peer: Bytes, options: &SocketOptions) -> StreamCell {
        StreamCell {
            state: Mutex::new(st),
            cv: Condvar::new(),
            send_order: Mutex::new(()),
            link,
            peer,
            buffer_size: options.buffer_size.max(1),
            timeouts: Mutex::new((options.read_timeout, options.write_timeout)),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }
    }
}

struct Link {
    id: u64,
    /// Writes directly when the link is idle, else queues for the writer
    /// thread: socket writes are large (up to [`WRITE_CHUNK`]), so the
    /// hop to the writer thread would cost more than the system call.
    sender: Sender,
    conn: Mutex<Option<Connection>>,
}

struct Pending {
    cell: Arc<StreamCell>,
    deadline: Instant,
}

#[derive(Default)]
struct State {
    links: HashMap<u64, Arc<Link>>,
    by_dest: HashMap<Bytes, u64>,
    next_link: u64,
    clients: HashMap<StreamId, Arc<StreamCell>>,
    servers: HashMap<StreamId, Arc<StreamCell>>,
    listening: bool,
    server: Weak<ServerInner>,
    accept_queue: VecDeque<Pending>,
    /// Connections of links that ended, joined by the next `add_link` or
    /// by `destroy` (their reader cannot join itself).
    dead: Vec<Connection>,
}

#[derive(Default)]
struct StatCounters {
    malformed: AtomicU64,
    unknown_type: AtomicU64,
    unknown_stream: AtomicU64,
    pings: AtomicU64,
    framing_errors: AtomicU64,
}

impl StatCounters {
    fn snapshot(&self) -> Stats {
        Stats {
            malformed: self.malformed.load(Ordering::Relaxed),
            unknown_type: self.unknown_type.load(Ordering::Relaxed),
            unknown_stream: self.unknown_stream.load(Ordering::Relaxed),
            pings: self.pings.load(Ordering::Relaxed),
            framing_errors: self.framing_errors.load(Ordering::Relaxed),
        }
    }
}

struct Inner {
    local: Bytes,
    transport: Box<dyn Transport>,
    config: ManagerConfig,
    state: Mutex<State>,
    accept_cv: Condvar,
    destroyed: AtomicBool,
    stats: StatCounters,
    timer: Timer,
}

impl Inner {
    fn check_alive(&self) -> Result<(), Error> {
        if self.destroyed.load(Ordering::SeqCst) {
            Err(Error::Destroyed)
        } else {
            Ok(())
        }
    }

    /// The link to `dest`, dialling it if there is none.
    fn link_to(self: &Arc<Self>, dest: &[u8], timeout: Duration) -> Result<Arc<Link>, Error> {
        if let Some(link) = self.known_link(dest) {
            return Ok(link);
        }
        let stream = self.transport.dial(dest, timeout)?;
        let link = self.add_link(stream, Some(Bytes::copy_from_slice(dest)))?;
        // Another thread may have linked the same destination meanwhile;
        // both links work, later streams use whichever is registered.
        Ok(self.known_link(dest).unwrap_or(link))
    }

    fn known_link(&self, dest: &[u8]) -> Option<Arc<Link>> {
        let state = self.state.lock();
        let id = state.by_dest.get(dest)?;
        state
            .links
            .get(id)
            .filter(|l| !l.sender.is_closed())
            .cloned()
    }

    /// Starts driving `stream` as a link (to `dest` when we dialled it).
    fn add_link(self: &Arc<Self>, stream: Stream, dest: Option<Bytes>) -> Result<Arc<Link>, Error> {
        self.check_alive()?;
        let (id, dead) = {
            let mut state = self.state.lock();
            state.next_link += 1;
            (state.next_link, std::mem::take(&mut state.dead))
        };
        // Their threads have finished or are about to: joining is quick.
        drop(dead);
        let (ready_tx, ready_rx) = channel::bounded::<Arc<Link>>(1);
        let weak = Arc::downgrade(self);
        let mut reader = LinkReader {
            frames: FrameReader::new(self.config.max_message),
            woken: Vec::new(),
            link: None,
            ready: ready_rx,
            manager: weak,
        };
        let conn_config = ConnConfig {
            close_timeout: self.config.close_timeout,
            read_buffer_size: LINK_READ_BUFFER,
            protocol: Some(Protocol::Ministream),
            ..ConnConfig::default()
        };
        let conn = Connection::spawn_owned(stream, conn_config, move |event, direct| {
            reader.handle(event, direct)
        })
        .map_err(Error::Transport)?;
        let link = Arc::new(Link {
            id,
            sender: conn.direct_sender(),
            conn: Mutex::new(Some(conn)),
        });
        {
            let mut state = self.state.lock();
            if self.destroyed.load(Ordering::SeqCst) {
                drop(state);
                // The reader may be waiting for its link: release it
                // before joining it.
                drop(ready_tx);
                if let Some(conn) = link.conn.lock().take() {
                    conn.abort();
                }
                return Err(Error::Destroyed);
            }
            state.links.insert(id, link.clone());
            if let Some(dest) = dest {
                state.by_dest.entry(dest).or_insert(id);
            }
        }
        let _ = ready_tx.send(link.clone());
        Ok(link)
    }

    /// Handles one message from `link`; `direct` writes replies from the
    /// reader thread.
    ///
    /// A stream that received data is not woken at once but added to
    /// `woken`, which the caller wakes after the whole read (one wake-up
    /// per read instead of one per frame); waiting for room wakes them
    /// first.
    fn on_message(
        self: &Arc<Self>,
        link: &Arc<Link>,
        message: Bytes,
        direct: &Sender,
        woken: &mut Vec<Arc<StreamCell>>,
    ) {
        let frame = match Message::decode(message) {
            Ok(Message::Frame(frame)) => frame,
            Ok(Message::Ping | Message::Chaff) => {
                self.stats.pings.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(e) => {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                log::debug!("ministream: dropped a malformed frame: {e}");
                return;
            }
        };
        let table_is_server = match frame.kind {
            FrameType::Syn => return self.on_syn(link, frame.id, frame.payload, direct),
            FrameType::Unknown(t) => {
                self.stats.unknown_type.fetch_add(1, Ordering::Relaxed);
                log::debug!("ministream: dropped a frame of unknown type {t:#04x}");
                return;
            }
            FrameType::Chaff => return,
            kind => kind.towards_server(),
        };
        let cell = {
            let state = self.state.lock();
            let table = if table_is_server {
                &state.servers
            } else {
                &state.clients
            };
            table
                .get(&frame.id)
                .filter(|c| c.link.id == link.id)
                .cloned()
        };
        let Some(cell) = cell else {
            self.stats.unknown_stream.fetch_add(1, Ordering::Relaxed);
            log::debug!(
                "ministream: dropped a {:#04x} frame for unknown stream {}",
                frame.kind.to_byte(),
                frame.id
            );
            return;
        };
        let is_data = matches!(
            frame.kind,
            FrameType::DataToClient | FrameType::DataToServer
        );
        // An ACK that establishes the stream releases held data: keep it
        // in order with writes. Only then: before the ACK no write holds
        // the order for long (they hold their data), while on an
        // established stream a write holds it for as long as the peer
        // does not read, and this thread must not wait for that.
        let establishes =
            frame.kind == FrameType::Ack && cell.state.lock().phase() == Phase::SynSent;
        let _order = establishes.then(|| cell.send_order.lock());
        let mut st = cell.state.lock();
        if is_data && !st.has_room() {
            // Back-pressure: wait for the application to read (it wakes
            // us once half the buffer is free; see `Socket::read_bytes`).
            drop(st);
            wake(woken);
            st = cell.state.lock();
            while !st.has_room() && !self.destroyed.load(Ordering::SeqCst) {
                cell.cv.wait(&mut st);
            }
        }
        let handled = st.on_frame(&frame);
        let ended = st.end();
        drop(st);
        if handled.ignored {
            self.stats.unknown_stream.fetch_add(1, Ordering::Relaxed);
            log::debug!(
                "ministream: stream {} ignored a {:#04x} frame",
                frame.id,
                frame.kind.to_byte()
            );
        }
        if let Some(bytes) = handled.transmit {
            // Held data (and a Close) once per stream we opened: bounded
            // by our own writes, queued past a full queue.
            send_control(direct, bytes, UNBOUNDED, "held data");
        }
        drop(_order);
        if handled.changed {
            if is_data {
                if !woken.iter().any(|c| Arc::ptr_eq(c, &cell)) {
                    woken.push(cell.clone());
                }
            } else {
                cell.cv.notify_all();
            }
        }
        if matches!(
            ended,
            Some(End::PeerClosed | End::Refused | End::LocalClosed)
        ) {
            self.forget(&cell);
        }
    }

    fn on_syn(self: &Arc<Self>, link: &Arc<Link>, client: StreamId, dest: Bytes, direct: &Sender) {
        let mut state = self.state.lock();
        if !dest.is_empty() {
            let live = state
                .by_dest
                .get(&dest)
                .and_then(|id| state.links.get(id))
                .is_some_and(|l| !l.sender.is_closed());
            if !live {
                state.by_dest.insert(dest.clone(), link.id);
            }
        }
        let server_id = random_id(|id| state.servers.contains_key(&id));
        let options = &self.config.options;
        let mut st = StreamState::server(
            server_id,
            client,
            options.buffer_size,
            self.config.max_payload,
        );
        let full = state.accept_queue.len() >= self.config.accept_backlog;
        if !state.listening || full || self.destroyed.load(Ordering::SeqCst) {
            drop(state);
            if let Some(close) = st.refuse() {
                send_control(direct, close, REFUSAL_SLACK, "a refusal");
            }
            let why = if full {
                "the accept backlog is full"
            } else {
                "nobody is listening"
            };
            log::debug!("ministream: refused stream {client}: {why}");
            return;
        }
        let deadline = Instant::now() + self.config.accept_timeout;
        let cell = Arc::new(StreamCell::new(st, link.clone(), dest, options));
        state.servers.insert(server_id, cell.clone());
        state.accept_queue.push_back(Pending {
            cell: cell.clone(),
            deadline,
        });
        drop(state);
        self.accept_cv.notify_all();
        let weak = Arc::downgrade(self);
        self.timer.schedule(deadline, move || {
            if let Some(inner) = weak.upgrade() {
                inner.expire_accepts();
            }
        });
    }

    /// Refuses streams that waited for `accept()` past their deadline.
    fn expire_accepts(&self) {
        let now = Instant::now();
        let expired: Vec<Arc<StreamCell>> = {
            let mut state = self.state.lock();
            let mut expired = Vec::new();
            state.accept_queue.retain(|p| {
                if p.deadline <= now {
                    expired.push(p.cell.clone());
                    false
                } else {
                    true
                }
            });
            expired
        };
        for cell in expired {
            log::debug!("ministream: refused a stream nobody accepted in time");
            self.refuse(&cell);
        }
    }

    /// Refuses a stream waiting for `accept()`. Never waits: it runs on
    /// the timer thread (accept timeouts), which serves every deadline of
    /// the process.
    fn refuse(&self, cell: &Arc<StreamCell>) {
        let close = cell.state.lock().refuse();
        cell.cv.notify_all();
        self.forget(cell);
        if let Some(close) = close {
            send_control(&cell.link.sender, close, REFUSAL_SLACK, "a refusal");
        }
    }

    /// Removes `cell` from the id tables (if it is still the one there).
    fn forget(&self, cell: &Arc<StreamCell>) {
        let (role, id) = {
            let st = cell.state.lock();
            (st.role(), st.local_id())
        };
        let mut state = self.state.lock();
        let table = match role {
            Role::Client => &mut state.clients,
            Role::Server => &mut state.servers,
        };
        if table.get(&id).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            table.remove(&id);
        }
    }

    /// The link ended: its streams fail with a transport error.
    fn link_closed(&self, link: &Arc<Link>, error: Option<io::Error>) {
        if let Some(e) = &error {
            log::debug!("ministream: link closed: {e}");
        }
        let cells: Vec<Arc<StreamCell>> = {
            let mut guard = self.state.lock();
            let state = &mut *guard;
            state.links.remove(&link.id);
            if let Some(conn) = link.conn.lock().take() {
                state.dead.push(conn);
            }
            state.by_dest.retain(|_, id| *id != link.id);
            state.accept_queue.retain(|p| p.cell.link.id != link.id);
            let mut cells = Vec::new();
            for table in [&mut state.clients, &mut state.servers] {
                table.retain(|_, c| {
                    if c.link.id == link.id {
                        cells.push(c.clone());
                        false
                    } else {
                        true
                    }
                });
            }
            cells
        };
        for cell in cells {
            cell.state.lock().fail(End::TransportFailed);
            cell.cv.notify_all();
        }
    }

    fn destroy(&self) {
        if self.destroyed.swap(true, Ordering::SeqCst) {
            return;
        }
        self.transport.shutdown();
        let (cells, pending, links) = {
            let mut guard = self.state.lock();
            let state = &mut *guard;
            state.listening = false;
            let pending: Vec<_> = state.accept_queue.drain(..).map(|p| p.cell).collect();
            let cells: Vec<_> = state
                .clients
                .drain()
                .chain(state.servers.drain())
                .map(|(_, c)| c)
                .collect();
            let links: Vec<_> = state.links.drain().map(|(_, l)| l).collect();
            state.by_dest.clear();
            (cells, pending, links)
        };
        let dead = std::mem::take(&mut self.state.lock().dead);
        drop(dead);
        self.accept_cv.notify_all();
        // Queued past full queues: closing the links below bounds the
        // wait for them to go out.
        for cell in pending {
            if let Some(close) = cell.state.lock().refuse() {
                send_control(&cell.link.sender, close, UNBOUNDED, "a refusal");
            }
        }
        for cell in &cells {
            let close = {
                let mut st = cell.state.lock();
                let close = st.close();
                st.fail(End::Destroyed);
                close
            };
            cell.cv.notify_all();
            if let Some(close) = close {
                send_control(&cell.link.sender, close, UNBOUNDED, "a Close");
            }
        }
        for link in links {
            let conn = link.conn.lock().take();
            if let Some(conn) = conn {
                if conn.close().is_err() {
                    log::debug!("ministream: a link did not close cleanly");
                }
            }
        }
        for cell in &cells {
            cell.cv.notify_all();
        }
        // Links that ended while we closed the others.
        let dead = std::mem::take(&mut self.state.lock().dead);
        drop(dead);
    }
}

/// The per-link reader state living in the reader thread's handler.
struct LinkReader {
    frames: FrameReader,
    /// Streams that received data during the current read.
    woken: Vec<Arc<StreamCell>>,
    link: Option<Arc<Link>>,
    ready: channel::Receiver<Arc<Link>>,
    manager: Weak<Inner>,
}

impl LinkReader {
    fn handle(&mut self, event: Received, direct: &Sender) {
        if self.link.is_none() {
            // Registered right after the connection starts.
            match self.ready.recv() {
                Ok(link) => self.link = Some(link),
                Err(_) => return,
            }
        }
        let (Some(link), Some(manager)) = (self.link.clone(), self.manager.upgrade()) else {
            return;
        };
        match event {
            Received::Data(data) => {
                self.frames.push_bytes(data);
                loop {
                    match self.frames.next_message() {
                        Ok(Some(message)) => {
                            manager.on_message(&link, message, direct, &mut self.woken);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            manager.stats.framing_errors.fetch_add(1, Ordering::Relaxed);
                            log::warn!("ministream: closing a link: {e}");
                            if let Some(conn) = link.conn.lock().as_ref() {
                                conn.abort_stream();
                            }
                            break;
                        }
                    }
                }
                wake(&mut self.woken);
            }
            Received::Closed(error) => manager.link_closed(&link, error),
        }
    }
}

/// Wakes the readers of `cells` (and forgets them).
fn wake(cells: &mut Vec<Arc<StreamCell>>) {
    for cell in cells.drain(..) {
        cell.cv.notify_all();
    }
}

/// Most bytes one write hands to the link once the stream is established
/// (at least `buffer_size`): 256 KiB, eight 32 KiB frames per system call.
const WRITE_CHUNK: usize = 256 * 1024;

/// The engine's read buffer for links: 256 KiB, so a bulk stream costs
/// few reads (the engine's default is 64 KiB).
const LINK_READ_BUFFER: usize = 256 * 1024;

/// How many refusals may wait in a link's send queue beyond its capacity
/// (the engine's 128 messages): a peer sends SYNs faster than it reads our
/// replies only by not reading, and each refusal is a dozen bytes, so
/// 1,024 of them keep memory small. Past that, refusals are dropped
/// (logged): such a peer's connects time out instead.
const REFUSAL_SLACK: usize = 1024;

/// For control frames our own application causes (SYN, ACK, Close, held
/// data): one or two per stream it opens or accepts, so the queue may
/// grow past its capacity by as many as there are.
const UNBOUNDED: usize = usize::MAX;

/// Queues a control frame without ever waiting for room (see
/// [`Sender::send_beyond`]): it is sent from the link's reader thread, the
/// timer thread, or while a blocked write holds the stream's send order;
/// waiting there for a peer that does not read would stop reading every
/// stream of the link (and two peers doing so would wait for each other
/// forever). `what` names it in the log when it is dropped.
fn send_control(sender: &Sender, frame: Bytes, extra: usize, what: &str) {
    match sender.send_beyond(frame, extra) {
        Ok(()) => {}
        Err(SendError::Full(_)) => {
            log::debug!("ministream: {what} not sent: the link's queue is full")
        }
        Err(SendError::Closed(_)) => log::debug!("ministream: {what} not sent: the link closed"),
    }
}

/// Queues `bytes` on `sender`, waiting for room until `deadline` (forever
/// with `None`).
fn send_until(sender: &Sender, bytes: Bytes, deadline: Option<Instant>) -> Result<(), Error> {
    match deadline {
        Some(deadline) => sender.send_until(bytes, deadline),
        None => sender.send(bytes),
    }
    .map_err(send_error)
}

/// `Full` means the deadline passed before there was room.
fn send_error(e: SendError) -> Error {
    match e {
        SendError::Full(_) => Error::TimedOut,
        SendError::Closed(_) => {
            Error::Transport(io::Error::new(io::ErrorKind::BrokenPipe, e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_send_and_sync() {
        fn is<T: Send + Sync>() {}
        is::<SocketManager>();
        is::<Socket>();
        is::<ServerSocket>();
    }

    #[test]
    fn config_is_checked() {
        let mut config = ManagerConfig::default();
        config.max_message = config.max_payload;
        let network = MemoryNetwork::new();
        assert!(matches!(
            SocketManager::in_memory(&network, None, config),
            Err(Error::Invalid(_))
        ));
    }
}
