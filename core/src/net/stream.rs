//! Transports: the byte streams a connection runs over.
//!
//! A [`Stream`] is any bidirectional byte transport the engine knows how to
//! drive. It is an enum rather than a `Read + Write` trait object because the
//! engine needs more than reading and writing: it must split a stream into
//! halves usable from two threads, half-close the writing direction, and
//! unblock a thread stuck in `read` or `write` from outside. Each transport
//! does those differently (a TCP socket is cloned and `shutdown`, an
//! in-memory pipe flips flags under a lock), and an enum keeps that logic in
//! one place with no boxing. The enum is `#[non_exhaustive]` so further
//! transports can be added without breaking callers. TLS is one: see
//! [`tls`](super::tls) for how its two halves share one rustls session.
//!
//! [`Stream::split`] produces a [`Split`]:
//!
//! * [`ReadHalf`] — `Read`; returns end-of-file once the peer has shut its
//!   writing direction down or the stream was aborted locally.
//! * [`WriteHalf`] — `Write`; [`WriteHalf::shutdown`] half-closes, so the
//!   peer reads end-of-file after everything written before it.
//! * [`Closer`] — cloneable; [`Closer::abort`] shuts both directions down at
//!   once, waking any thread blocked on either half.
//!
//! Dropping every part of a stream closes it.
//!
//! # The in-memory pipe
//!
//! [`pipe`] returns two connected [`PipeEnd`]s that behave like a loopback
//! TCP connection with a small, fixed buffer per direction: writes block when
//! the buffer is full (so back-pressure is testable without sockets), a
//! half-close delivers end-of-file after the buffered bytes, and writing
//! towards an end whose reading side is gone fails with `BrokenPipe`. Tests of
//! protocol code can therefore run two peers in one process, deterministically
//! and without touching the network.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, TcpStream, UdpSocket};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::tls::{TlsCloser, TlsReader, TlsStream, TlsWriter};

/// The IPv4 address of the interface that holds the default route, or
/// 127.0.0.1 when there is none: the address to advertise (and listen on)
/// when a local URI names no host, as the legacy library did.
///
/// It asks the kernel which source address it would use towards
/// 192.0.2.1 (TEST-NET-1, a documentation address, port 9): a UDP socket
/// is "connected" there and its local address read. Connecting a UDP
/// socket only selects a route; no packet is sent. The address belongs to
/// a local interface, so it can be bound.
///
/// Nothing is cached, so a changed route (a laptop moving between
/// networks) is seen at the next call; a call costs a few system calls.
///
/// ```
/// let ip = msgwire::net::default_ip();
/// // Whatever it is, this machine can listen on it.
/// std::net::TcpListener::bind((ip, 0)).unwrap();
/// ```
pub fn default_ip() -> IpAddr {
    const PROBE: (Ipv4Addr, u16) = (Ipv4Addr::new(192, 0, 2, 1), 9);
    let routed = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|socket| {
            socket.connect(PROBE)?;
            socket.local_addr()
        })
        .map(|addr| addr.ip());
    match routed {
        Ok(ip) if !ip.is_unspecified() => ip,
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    }
}

/// A bidirectional byte transport the engine can drive.
///
/// `Stream` itself implements `Read` and `Write`, so it can also be used
/// directly on one thread; [`split`](Stream::split) is what the engine uses.
#[derive(Debug)]
#[non_exhaustive]
pub enum Stream {
    /// A TCP connection, IPv4 or IPv6.
    Tcp(TcpStream),
    /// One end of an in-memory [`pipe`].
    Pipe(PipeEnd),
    /// TLS over TCP, made by [`Stream::tls_connect`] or
    /// [`Stream::tls_accept`].
    Tls(TlsStream),
}

impl Stream {
    /// Splits the stream into a reading half, a writing half and a closer.
    ///
    /// For TCP this clones the socket handle (so it can fail, e.g. when the
    /// process is out of file descriptors) and disables Nagle's algorithm
    /// (`TCP_NODELAY`): the connection's writer already coalesces small
    /// messages, so Nagle would only add latency to chat messages.
    pub fn split(self) -> io::Result<Split> {
        match self {
            Stream::Tcp(tcp) => {
                tcp.set_nodelay(true)?;
                let reader = tcp.try_clone()?;
                let closer = tcp.try_clone()?;
                Ok(Split {
                    reader: ReadHalf(ReadInner::Tcp(reader)),
                    writer: WriteHalf(WriteInner::Tcp(tcp)),
                    closer: Closer(CloserInner::Tcp(Arc::new(closer))),
                })
            }
            Stream::Pipe(PipeEnd { reader, writer }) => {
                let closer = Closer(CloserInner::Pipe {
                    incoming: reader.0.clone(),
                    outgoing: writer.0.clone(),
                });
                Ok(Split {
                    reader: ReadHalf(ReadInner::Pipe(reader)),
                    writer: WriteHalf(WriteInner::Pipe(writer)),
                    closer,
                })
            }
            // Nagle is already off: the handshake turned it off.
            Stream::Tls(tls) => {
                let (reader, writer, closer) = tls.split();
                Ok(Split {
                    reader: ReadHalf(ReadInner::Tls(reader)),
                    writer: WriteHalf(WriteInner::Tls(writer)),
                    closer: Closer(CloserInner::Tls(closer)),
                })
            }
        }
    }
}

impl From<TcpStream> for Stream {
    fn from(tcp: TcpStream) -> Self {
        Stream::Tcp(tcp)
    }
}

impl From<PipeEnd> for Stream {
    fn from(end: PipeEnd) -> Self {
        Stream::Pipe(end)
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(tcp) => tcp.read(buf),
            Stream::Pipe(end) => end.read(buf),
            Stream::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(tcp) => tcp.write(buf),
            Stream::Pipe(end) => end.write(buf),
            Stream::Tls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(tcp) => tcp.write_vectored(bufs),
            Stream::Pipe(end) => end.write_vectored(bufs),
            Stream::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Stream::Tcp(tcp) => tcp.flush(),
            Stream::Pipe(end) => end.flush(),
            Stream::Tls(tls) => tls.flush(),
        }
    }
}

/// The parts of a split [`Stream`]; see [`Stream::split`].
#[derive(Debug)]
pub struct Split {
    /// Reads what the peer sends.
    pub reader: ReadHalf,
    /// Writes to the peer.
    pub writer: WriteHalf,
    /// Shuts both directions down from any thread.
    pub closer: Closer,
}

/// The reading half of a split [`Stream`].
///
/// `read` returns `Ok(0)` (end-of-file) once the peer has shut down its
/// writing direction and everything it sent has been read, or as soon as the
/// stream is aborted locally with [`Closer::abort`]. Over TLS, a peer that
/// closes the TCP connection without TLS `close_notify` is an
/// `UnexpectedEof` error instead (it could be a truncation attack).
#[derive(Debug)]
pub struct ReadHalf(ReadInner);

#[derive(Debug)]
enum ReadInner {
    Tcp(TcpStream),
    Pipe(PipeReader),
    Tls(TlsReader),
}

impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            ReadInner::Tcp(tcp) => tcp.read(buf),
            ReadInner::Pipe(pipe) => pipe.read(buf),
            ReadInner::Tls(tls) => tls.read(buf),
        }
    }
}

impl ReadHalf {
    /// Reads into the spare capacity of `buf` (which must have some) and
    /// appends what was read; `Ok(0)` at end-of-file, like `read`.
    ///
    /// Over TCP on Linux and Android the kernel writes straight into the
    /// unused capacity (`read(2)` through rustix, which sets the length
    /// safely), so a buffer handed on as [`Bytes`](bytes::Bytes) after
    /// each read costs no copy and no zeroing. Other transports read into
    /// zeroed capacity.
    pub(crate) fn read_append(&mut self, buf: &mut Vec<u8>) -> io::Result<usize> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let ReadInner::Tcp(tcp) = &self.0 {
            loop {
                match rustix::io::read(tcp, rustix::buffer::spare_capacity(buf)) {
                    Ok(n) => return Ok(n),
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        let len = buf.len();
        buf.resize(buf.capacity().max(len + 1), 0);
        let read = self.read(&mut buf[len..]);
        buf.truncate(len + *read.as_ref().unwrap_or(&0));
        read
    }
}

/// The writing half of a split [`Stream`].
#[derive(Debug)]
pub struct WriteHalf(WriteInner);

#[derive(Debug)]
enum WriteInner {
    Tcp(TcpStream),
    Pipe(PipeWriter),
    Tls(TlsWriter),
}

impl WriteHalf {
    /// Half-closes the stream: the peer reads end-of-file after everything
    /// written so far, while this side can still read. Later writes fail.
    ///
    /// A TCP peer that is already gone (`NotConnected`) is not an error:
    /// there is nobody left to tell. Over TLS this first sends
    /// `close_notify`, so the peer can tell the end from a truncation.
    pub fn shutdown(&mut self) -> io::Result<()> {
        match &mut self.0 {
            WriteInner::Tcp(tcp) => match tcp.shutdown(Shutdown::Write) {
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                other => other,
            },
            WriteInner::Pipe(pipe) => {
                pipe.0.close_writer();
                Ok(())
            }
            WriteInner::Tls(tls) => tls.shutdown(),
        }
    }

    /// Whether [`try_write_vectored`](Self::try_write_vectored) can ever
    /// write anything: TCP on Linux and Android, and the in-memory pipe.
    pub(crate) fn supports_try_write(&self) -> bool {
        match &self.0 {
            WriteInner::Tcp(_) => cfg!(any(target_os = "linux", target_os = "android")),
            WriteInner::Pipe(_) => true,
            WriteInner::Tls(_) => false,
        }
    }

    /// Waits until the transport would take bytes (or has failed, which
    /// the next write reports), until `deadline` (forever with `None`).
    /// `Ok(false)` when the deadline passed first, and at once for
    /// transports that cannot wait (all but TCP on Linux and Android).
    /// An aborted stream ([`Closer::abort`]) wakes it.
    pub(crate) fn wait_writable(&self, deadline: Option<std::time::Instant>) -> io::Result<bool> {
        match &self.0 {
            WriteInner::Tcp(tcp) => tcp_wait_writable(tcp, deadline),
            WriteInner::Pipe(_) | WriteInner::Tls(_) => Ok(false),
        }
    }

    /// Writes what the transport takes *without blocking* and returns how
    /// many bytes that was; `WouldBlock` when it takes nothing now (its
    /// buffer is full, or the transport cannot write without blocking, see
    /// [`supports_try_write`](Self::supports_try_write)).
    ///
    /// Over TCP this is `sendmsg` with `MSG_DONTWAIT | MSG_NOSIGNAL`: the
    /// socket stays blocking for the reader and writer threads, only this
    /// one call does not wait, and a reset peer is an `EPIPE` error rather
    /// than a SIGPIPE on the calling thread (a C program does not ignore
    /// the signal).
    pub(crate) fn try_write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.0 {
            WriteInner::Tcp(tcp) => tcp_try_write(tcp, bufs),
            WriteInner::Pipe(pipe) => pipe.0.try_write(bufs),
            WriteInner::Tls(_) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn tcp_try_write(tcp: &TcpStream, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendFlags};
    loop {
        let sent = sendmsg(
            tcp,
            bufs,
            &mut SendAncillaryBuffer::default(),
            SendFlags::DONTWAIT | SendFlags::NOSIGNAL,
        );
        match sent {
            Ok(n) => return Ok(n),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn tcp_wait_writable(tcp: &TcpStream, deadline: Option<std::time::Instant>) -> io::Result<bool> {
    use rustix::event::{poll, PollFd, PollFlags, Timespec};
    loop {
        let timeout = match deadline {
            None => None,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    return Ok(false);
                }
                // Rounded up to whole milliseconds by the kernel; a
                // duration too long for a timespec waits forever.
                Timespec::try_from(left).ok()
            }
        };
        let mut fds = [PollFd::new(tcp, PollFlags::OUT)];
        match poll(&mut fds, timeout.as_ref()) {
            Ok(0) => continue, // the deadline check above decides
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn tcp_wait_writable(_: &TcpStream, _: Option<std::time::Instant>) -> io::Result<bool> {
    Ok(false)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn tcp_try_write(_: &TcpStream, _: &[IoSlice<'_>]) -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

impl Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.0 {
            WriteInner::Tcp(tcp) => tcp.write(buf),
            WriteInner::Pipe(pipe) => pipe.write(buf),
            WriteInner::Tls(tls) => tls.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.0 {
            WriteInner::Tcp(tcp) => tcp.write_vectored(bufs),
            WriteInner::Pipe(pipe) => pipe.write_vectored(bufs),
            WriteInner::Tls(tls) => tls.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.0 {
            WriteInner::Tcp(tcp) => tcp.flush(),
            WriteInner::Pipe(_) => Ok(()),
            WriteInner::Tls(tls) => tls.flush(),
        }
    }
}

/// Shuts a split stream down from any thread.
///
/// Cloning is cheap; every clone acts on the same stream.
#[derive(Debug, Clone)]
pub struct Closer(CloserInner);

#[derive(Debug, Clone)]
enum CloserInner {
    Tcp(Arc<TcpStream>),
    Pipe {
        incoming: Arc<Direction>,
        outgoing: Arc<Direction>,
    },
    Tls(TlsCloser),
}

impl Closer {
    /// The socket of a plain TCP stream (what [`Connection::detach`] hands
    /// back, and where its read timeout is set); `None` for the others.
    ///
    /// [`Connection::detach`]: super::conn::Connection::detach
    pub(crate) fn tcp(&self) -> Option<&TcpStream> {
        match &self.0 {
            CloserInner::Tcp(tcp) => Some(tcp),
            _ => None,
        }
    }

    /// Shuts both directions down at once, without flushing anything the
    /// halves have not written yet.
    ///
    /// A `read` blocked on the [`ReadHalf`] returns end-of-file, a `write`
    /// blocked on the [`WriteHalf`] fails, and the peer reads end-of-file
    /// (over TLS, an `UnexpectedEof` error: no `close_notify` is sent).
    /// Calling it again, or on a stream the peer already closed, does
    /// nothing.
    pub fn abort(&self) {
        match &self.0 {
            // Errors only mean the socket is already shut down or was never
            // connected; either way there is nothing left to unblock.
            CloserInner::Tcp(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            CloserInner::Pipe { incoming, outgoing } => {
                incoming.close_reader();
                outgoing.close_writer();
            }
            CloserInner::Tls(tls) => tls.abort(),
        }
    }
}

/// Creates an in-memory duplex pipe: two connected ends, each buffering up
/// to [`DEFAULT_PIPE_CAPACITY`] bytes in the direction it receives.
pub fn pipe() -> (PipeEnd, PipeEnd) {
    pipe_with_capacity(DEFAULT_PIPE_CAPACITY)
}

/// Like [`pipe`] with `capacity` bytes of buffer per direction (at least 1).
/// A small capacity makes a writer block early, to test back-pressure.
pub fn pipe_with_capacity(capacity: usize) -> (PipeEnd, PipeEnd) {
    let a_to_b = Arc::new(Direction::new(capacity.max(1)));
    let b_to_a = Arc::new(Direction::new(capacity.max(1)));
    let a = PipeEnd {
        reader: PipeReader(b_to_a.clone()),
        writer: PipeWriter(a_to_b.clone()),
    };
    let b = PipeEnd {
        reader: PipeReader(a_to_b),
        writer: PipeWriter(b_to_a),
    };
    (a, b)
}

/// One end of an in-memory [`pipe`]. Dropping it closes both directions:
/// the peer reads end-of-file and its writes fail with `BrokenPipe`.
#[derive(Debug)]
pub struct PipeEnd {
    reader: PipeReader,
    writer: PipeWriter,
}

impl PipeEnd {
    /// Half-closes this end: the peer reads end-of-file after the bytes
    /// already written. This end can still read.
    pub fn shutdown_write(&self) {
        self.writer.0.close_writer();
    }
}

impl Read for PipeEnd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

impl Write for PipeEnd {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.writer.write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The receiving side of one pipe direction; closes it for reading on drop.
#[derive(Debug)]
struct PipeReader(Arc<Direction>);

impl PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.0.close_reader();
    }
}

/// The sending side of one pipe direction; closes it for writing on drop.
#[derive(Debug)]
struct PipeWriter(Arc<Direction>);

impl PipeWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.write(bufs)
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.0.close_writer();
    }
}

/// One direction of a pipe: a bounded byte queue and two "closed" flags.
/// One condition variable serves both "data arrived" and "space freed":
/// there is at most one reader and one writer per direction.
#[derive(Debug)]
struct Direction {
    state: Mutex<DirectionState>,
    changed: Condvar,
}

#[derive(Debug)]
struct DirectionState {
    buf: VecDeque<u8>,
    capacity: usize,
    /// The sender shut down: the receiver reads end-of-file once `buf` is
    /// empty, and further writes fail.
    writer_closed: bool,
    /// The receiver is gone: reads return end-of-file at once, buffered
    /// bytes are discarded and writes fail with `BrokenPipe`.
    reader_closed: bool,
}

impl DirectionState {
    /// Appends as much of `bufs` as fits; returns how many bytes.
    fn append(&mut self, bufs: &[IoSlice<'_>]) -> usize {
        let space = self.capacity.saturating_sub(self.buf.len());
        let mut written = 0;
        for buf in bufs {
            let take = buf.len().min(space - written);
            self.buf.extend(&buf[..take]);
            written += take;
            if written == space {
                break;
            }
        }
        written
    }
}

impl Direction {
    fn new(capacity: usize) -> Self {
        Direction {
            state: Mutex::new(DirectionState {
                buf: VecDeque::new(),
                capacity,
                writer_closed: false,
                reader_closed: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn read(&self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let mut state = self.state.lock();
        loop {
            if state.reader_closed {
                return Ok(0);
            }
            if !state.buf.is_empty() {
                let n = out.len().min(state.buf.len());
                for (dst, src) in out.iter_mut().zip(state.buf.drain(..n)) {
                    *dst = src;
                }
                self.changed.notify_all();
                return Ok(n);
            }
            if state.writer_closed {
                return Ok(0);
            }
            self.changed.wait(&mut state);
        }
    }

    fn write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        if wanted == 0 {
            return Ok(0);
        }
        let mut state = self.state.lock();
        loop {
            if state.reader_closed || state.writer_closed {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the pipe is closed",
                ));
            }
            if state.capacity > state.buf.len() {
                let written = state.append(bufs);
                self.changed.notify_all();
                return Ok(written);
            }
            self.changed.wait(&mut state);
        }
    }

    /// Like [`write`](Self::write), but `WouldBlock` instead of waiting
    /// when the buffer is full.
    fn try_write(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        if wanted == 0 {
            return Ok(0);
        }
        let mut state = self.state.lock();
        if state.reader_closed || state.writer_closed {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the pipe is closed",
            ));
        }
        if state.capacity <= state.buf.len() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let written = state.append(bufs);
        self.changed.notify_all();
        Ok(written)
    }

    fn close_writer(&self) {
        self.state.lock().writer_closed = true;
        self.changed.notify_all();
    }

    fn close_reader(&self) {
        let mut state = self.state.lock();
        state.reader_closed = true;
        state.buf = VecDeque::new();
        drop(state);
        self.changed.notify_all();
    }
}

/// Default buffer per pipe direction: 64 KiB, the size of a Linux pipe, so
/// pipe-based tests see back-pressure at roughly the same point as with
/// real pipes, while an 8 MiB transfer still takes only ~128 wake-ups.
pub const DEFAULT_PIPE_CAPACITY: usize = 64 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;
    use std::time::Duration;

    fn read_all(r: &mut impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn pipe_carries_bytes_both_ways() {
        let (mut a, mut b) = pipe();
        a.write_all(b"ping").unwrap();
        b.write_all(b"pong").unwrap();
        let mut buf = [0; 4];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"pong");
    }

    #[test]
    fn shutdown_write_gives_eof_after_buffered_bytes() {
        let (a, mut b) = pipe();
        let mut a = Stream::from(a);
        a.write_all(b"last words").unwrap();
        if let Stream::Pipe(end) = &a {
            end.shutdown_write();
        }
        assert_eq!(read_all(&mut b), b"last words");
        // The other direction still works after a half-close.
        b.write_all(b"reply").unwrap();
        let mut buf = [0; 5];
        a.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"reply");
    }

    #[test]
    fn dropping_an_end_closes_both_directions() {
        let (a, mut b) = pipe();
        drop(a);
        assert_eq!(read_all(&mut b), b"");
        let err = b.write_all(b"x").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn full_pipe_blocks_writer_until_read() {
        let (mut a, mut b) = pipe_with_capacity(4);
        let writer = thread::spawn(move || {
            a.write_all(b"0123456789").unwrap();
            a
        });
        let mut buf = [0; 10];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"0123456789");
        drop(writer.join().unwrap());
    }

    #[test]
    fn vectored_write_fills_available_space() {
        let (mut a, mut b) = pipe_with_capacity(5);
        let n = a
            .write_vectored(&[IoSlice::new(b"abc"), IoSlice::new(b"def")])
            .unwrap();
        assert_eq!(n, 5);
        let mut buf = [0; 5];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"abcde");
    }

    #[test]
    fn abort_wakes_blocked_reader_and_writer() {
        let (a, b) = pipe_with_capacity(1);
        let Split {
            mut reader,
            mut writer,
            closer,
        } = Stream::from(a).split().unwrap();
        let r = thread::spawn(move || read_all(&mut reader));
        let w = thread::spawn(move || writer.write_all(b"more than one byte"));
        // Give both threads a moment to block; correctness does not depend
        // on it, only what is being exercised does.
        thread::sleep(Duration::from_millis(20));
        closer.abort();
        assert_eq!(r.join().unwrap(), b"");
        assert!(w.join().unwrap().is_err());
        drop(b);
    }

    #[test]
    fn split_halves_work_from_two_threads() {
        let (a, mut b) = pipe();
        let Split {
            mut reader,
            mut writer,
            closer: _closer,
        } = Stream::from(a).split().unwrap();
        let w = thread::spawn(move || {
            writer.write_all(b"hello").unwrap();
            writer.shutdown().unwrap();
        });
        assert_eq!(read_all(&mut b), b"hello");
        w.join().unwrap();
        b.write_all(b"bye").unwrap();
        drop(b);
        assert_eq!(read_all(&mut reader), b"bye");
    }
}
