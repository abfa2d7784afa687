//! Connections: a reader thread and a writer thread around one [`Stream`].
//!
//! [`Connection::spawn`] splits the stream and starts two threads:
//!
//! * the **reader** reads into a reusable buffer and calls the handler with
//!   [`Incoming::Data`] for every read, then exactly once with
//!   [`Incoming::Closed`] when the stream ends;
//! * the **writer** drains a bounded queue of [`Bytes`]. Whatever is queued
//!   when it wakes up (up to [`Config::max_write_batch`] bytes) goes out in
//!   one vectored write, so a burst of small messages costs one system call
//!   and no copying.
//!
//! # Direct writes from the handler
//!
//! The [`Sender`] handed to the handler writes *directly* when the queue is
//! empty and nobody is writing: the reader thread is running anyway, its
//! replies come in batches (one per read), and waking the writer thread
//! for them would cost two context switches, more than the write itself on
//! a busy machine. The write never blocks (TCP on Linux: `sendmsg` with
//! `MSG_DONTWAIT | MSG_NOSIGNAL`; the in-memory pipe); whatever the stream
//! does not take at once goes to the front of the queue for the writer
//! thread. One flag under the queue's lock says who holds the stream (the
//! writer thread with a batch, or one sender), so bytes never interleave
//! and messages go out in the order they were accepted, exactly as if
//! every one had gone through the queue. No sender ever blocks in the
//! kernel: only the writer thread waits for a slow peer.
//!
//! Senders from [`Connection::sender`] (application threads) always queue.
//! An application sending a burst produces messages faster than the writer
//! wakes up, so the writer takes many of them per system call; writing
//! each directly cost a system call per message and measured slower (see
//! `benches/msrp_session.rs`). TLS streams, and TCP on systems other than
//! Linux, always use the queue.
//!
//! # Back-pressure
//!
//! The queue holds at most [`Config::queue_capacity`] messages (plus, at
//! most, the unwritten rest of one direct write).
//! [`Sender::send`] blocks while it is full; [`Sender::try_send`] hands the
//! message back instead. A peer that stops reading therefore stalls its
//! senders rather than growing memory without bound. Small replies that a
//! handler can neither wait for nor drop go past the capacity with
//! [`Sender::send_beyond`], by as many messages as its caller allows.
//!
//! # Closing
//!
//! * [`Connection::close`] is the graceful path: it stops accepting messages,
//!   lets the writer flush the queue, half-closes the stream (the peer reads
//!   end-of-file), then waits for the peer to close its side so that its
//!   last messages still reach the handler. All of this is bounded by
//!   [`Config::close_timeout`]; when time runs out the stream is aborted.
//! * Dropping a `Connection` without `close` aborts: queued messages are
//!   discarded and both threads stop at once. A destructor must not wait for
//!   a peer. Call `close` when queued data matters.
//! * When the peer closes (end-of-file or an error), the connection stops
//!   accepting messages, the writer still flushes what was queued, and the
//!   handler receives [`Incoming::Closed`].
//!
//! Either way both threads have been joined when `close` returns or the
//! `Connection` is dropped: no thread outlives its connection. (The one
//! exception is forced by the platform: when the last reference to a
//! connection is dropped *by its own handler*, the reader thread cannot join
//! itself; it is then left to finish, which it does right after the handler
//! returns.)
//!
//! # Why threads, and what a poll driver would change
//!
//! Two blocking threads per connection are the simplest correct driver and
//! fit clients well. Protocol code only sees the handler, [`Sender`] and
//! `close`, so a future driver that multiplexes many sockets on a few
//! threads can offer the same three things without protocol code noticing.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle, ThreadId};
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel as channel;
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::stream::{Closer, ReadHalf, Split, Stream, WriteHalf};

/// Tunables of a [`Connection`]. Start from [`Config::default`] and change
/// the fields you need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Most messages waiting in the send queue; at least 1 is used.
    /// Default 128: deep enough to absorb a burst of chat messages, shallow
    /// enough that a stalled peer with 64 KiB file chunks pins at most
    /// 8 MiB.
    pub queue_capacity: usize,
    /// Size of the reader's buffer, and so the largest slice one
    /// [`Incoming::Data`] carries. Default 64 KiB: a full loopback TCP
    /// segment batch per read, small enough to stay in cache.
    pub read_buffer_size: usize,
    /// For [`Connection::spawn`] and [`spawn_with`](Connection::spawn_with):
    /// the reader's buffer doubles, up to this size, each time a read
    /// fills it, so a connection carrying bulk data reads (and a relay
    /// forwards) in fewer, larger system calls while a quiet one keeps
    /// the small buffer. The buffer never shrinks back before the
    /// connection ends. Default 0: the buffer stays at
    /// [`read_buffer_size`](Self::read_buffer_size).
    pub max_read_buffer_size: usize,
    /// Most bytes the writer gathers into one vectored write. Default
    /// 256 KiB: large enough to amortise a system call over many small
    /// messages, small enough that one write does not hold up the next
    /// batch for long.
    pub max_write_batch: usize,
    /// How long [`Connection::close`] waits in total for the queue to drain
    /// and the peer to close before aborting. Default 5 s: plenty for a peer
    /// on a slow link, short enough for a shutdown path.
    pub close_timeout: Duration,
    /// For plain TCP: wake the reader this often when nothing arrives, so
    /// that [`Connection::detach`] can stop it without closing the socket
    /// (a read already waiting cannot be interrupted otherwise). `None`,
    /// the default, reads without a timeout and `detach` is refused. 50 ms
    /// costs 20 idle wake-ups a second and bounds how long `detach` takes.
    pub detach_poll: Option<Duration>,
    /// Count this connection and its bytes in the [`stats`](super::stats)
    /// of this protocol. `None`, the default, counts nothing.
    pub protocol: Option<super::stats::Protocol>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            queue_capacity: 128,
            read_buffer_size: 64 * 1024,
            max_read_buffer_size: 0,
            max_write_batch: 256 * 1024,
            close_timeout: Duration::from_secs(5),
            detach_poll: None,
            protocol: None,
        }
    }
}

/// Why [`Connection::detach`] could not hand the socket back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetachError {
    /// Only a plain TCP connection spawned with [`Config::detach_poll`]
    /// can be detached.
    #[error("only a plain TCP connection spawned with detach_poll can be detached")]
    NotDetachable,
    /// Called from the connection's own handler, which runs on the reader
    /// thread that has to stop.
    #[error("detach cannot be called from the connection's handler")]
    OnReader,
    /// The connection was already closed, detached or failed.
    #[error("the connection is closed")]
    Closed,
    /// The queue was not flushed within [`Config::close_timeout`]; the
    /// stream was aborted.
    #[error("the send queue was not flushed within the close timeout")]
    TimedOut,
    /// Setting up the socket failed (the connection is closed).
    #[error("detaching failed: {0}")]
    Io(#[source] io::Error),
}

/// What the reader thread reports to the handler.
#[derive(Debug)]
pub enum Incoming<'a> {
    /// Bytes from the peer, in order. The slice is only valid during the
    /// call; copy what you keep. Message boundaries are not preserved.
    Data(&'a [u8]),
    /// The stream has ended; this is the last call. `None`: a clean end (the
    /// peer closed its side, or this side called [`Connection::close`] or
    /// dropped the connection). `Some`: an I/O error ended it (reset by the
    /// peer, a failed write); messages still queued may not have been
    /// delivered. A handler that panics is not called again, not even with
    /// `Closed`.
    Closed(Option<io::Error>),
}

/// What the reader thread reports to a handler started with
/// [`Connection::spawn_owned`]: [`Incoming`], with the bytes owned.
#[derive(Debug)]
pub enum Received {
    /// Bytes from the peer, in order (message boundaries are not
    /// preserved), in memory of their own: slices of it may be kept
    /// without copying. A large read is handed over as the read buffer
    /// itself (the reader allocates a new one for the next read); a read
    /// under an eighth of [`Config::read_buffer_size`] is copied out, so
    /// that a few kept bytes never pin a whole buffer.
    Data(Bytes),
    /// As [`Incoming::Closed`]: the stream has ended; this is the last call.
    Closed(Option<io::Error>),
}

/// Why a message was not queued. Either way the message is handed back
/// ([`SendError::into_inner`]) so nothing is lost silently.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The connection is closed (by [`Connection::close`], by the peer or by
    /// an I/O error) and will never send again. Not worth retrying on this
    /// connection; the message can go out on a new one.
    #[error("the connection is closed")]
    Closed(Bytes),
    /// [`Sender::try_send`] only: the queue is full because the peer reads
    /// more slowly than messages are produced. Retry later, or use
    /// [`Sender::send`], which waits for space.
    #[error("the send queue is full")]
    Full(Bytes),
}

impl SendError {
    /// The message that was not queued.
    pub fn into_inner(self) -> Bytes {
        match self {
            SendError::Closed(data) | SendError::Full(data) => data,
        }
    }
}

/// Why [`Connection::close`] could not close cleanly. The connection is
/// closed and both threads are stopped in every case; the error only says
/// whether queued data may have been lost.
#[derive(Debug, thiserror::Error)]
pub enum CloseError {
    /// The queue was not flushed within [`Config::close_timeout`] (the peer
    /// stopped reading); the stream was aborted and queued messages were
    /// discarded.
    #[error("the send queue was not flushed within the close timeout")]
    TimedOut,
    /// The connection had already failed with this I/O error (or a handler
    /// panicked); messages queued at that time may not have been delivered.
    #[error("the connection failed: {0}")]
    Io(#[source] io::Error),
}

/// A cheap, cloneable handle that queues messages on a [`Connection`].
///
/// The sender handed to the handler (and its clones) may also write
/// directly, without blocking, when the stream is idle; see the
/// [module docs](self). A `Sender` does not keep the connection open: once
/// the connection is closed every send fails with [`SendError::Closed`].
#[derive(Debug, Clone)]
pub struct Sender {
    shared: Arc<Shared>,
    /// May write directly (see the [module docs](self)): the sender handed
    /// to the handler, whose thread is running anyway and whose replies
    /// come in batches (one per read). Senders from
    /// [`Connection::sender`] leave the writing to the writer thread, which
    /// coalesces a burst from an application thread into few writes.
    direct: bool,
}

impl Sender {
    /// Queues `data` for the writer thread, waiting while the queue is full.
    ///
    /// Returns once the message is accepted, not when it is written (the
    /// handler's sender may already have written it). Fails with
    /// [`SendError::Closed`] (handing the message back) if the connection
    /// is closed or closes while waiting. A message accepted here and lost
    /// because the stream then fails is reported like any queued one: to
    /// the handler ([`Incoming::Closed`]) and by [`Connection::close`].
    ///
    /// Calling this from a handler blocks the reader thread while the queue
    /// is full; if the peer does the same, both sides wait for each other
    /// forever. Handlers should prefer [`try_send`](Sender::try_send) or
    /// [`send_beyond`](Sender::send_beyond).
    pub fn send(&self, data: Bytes) -> Result<(), SendError> {
        self.shared.send_one(data, Wait::Forever, self.direct)
    }

    /// Queues `data` if there is room now; never blocks.
    pub fn try_send(&self, data: Bytes) -> Result<(), SendError> {
        self.shared.send_one(data, Wait::No, self.direct)
    }

    /// Queues `data` at once, never waiting, even when the queue is full,
    /// as long as it then holds at most `extra` messages beyond its
    /// capacity; past that, fails with [`SendError::Full`] like
    /// [`try_send`](Sender::try_send).
    ///
    /// For replies a handler must send without stopping its reader thread
    /// and must not lose because bulk data fills the queue (ministreaming's
    /// ACKs, refusals and Closes). The caller bounds how many it sends
    /// past the capacity: with `usize::MAX`, only the number of calls does.
    /// Senders waiting with [`send`](Sender::send) wait until the queue is
    /// back under its capacity.
    pub fn send_beyond(&self, data: Bytes, extra: usize) -> Result<(), SendError> {
        self.shared.send_one(data, Wait::Beyond(extra), self.direct)
    }

    /// Like [`send`](Sender::send), but waits for room only until
    /// `deadline`; then fails with [`SendError::Full`], handing `data`
    /// back.
    pub fn send_until(&self, data: Bytes, deadline: Instant) -> Result<(), SendError> {
        self.shared
            .send_one(data, Wait::Until(deadline), self.direct)
    }

    /// Sends the concatenation of `parts` as one message, without copying
    /// it when it can: for bulk data whose frame headers and payload live
    /// in different buffers (ministreaming's data frames).
    ///
    /// When nothing is queued and nobody is writing, the calling thread
    /// writes the message itself, straight from the borrowed memory, in
    /// vectored writes; over TCP on Linux it then waits for the peer to
    /// make room (`poll(2)`) as a blocking write would, while other
    /// senders queue behind it. Otherwise, and for what a transport that
    /// cannot wait (the in-memory pipe, TLS) does not take at once, the
    /// bytes are copied into one buffer and queued as [`send`](Sender::send)
    /// would. Messages keep the order they were accepted in, as with
    /// `send`.
    ///
    /// `deadline` bounds the wait (`None`: no bound): before anything was
    /// accepted it fails with [`SendError::Full`]; if it passes in the
    /// middle of a direct write, the unwritten rest is copied and queued
    /// and the call succeeds (a message is never cut short). Errors hand
    /// back an empty buffer: the caller still has its bytes.
    pub fn send_slices(
        &self,
        parts: &[IoSlice<'_>],
        deadline: Option<Instant>,
    ) -> Result<(), SendError> {
        self.shared.send_slices(parts, deadline)
    }

    /// Queues every message of `messages`, front first, waiting while the
    /// queue is full: the same as calling [`send`](Sender::send) for each,
    /// but when this sender writes directly (the handler's), up to 64 of
    /// them go out in one system call.
    ///
    /// On success `messages` is empty. On [`SendError::Closed`] the error
    /// holds the first message that was not accepted and `messages` the
    /// ones after it.
    pub fn send_all(&self, messages: &mut VecDeque<Bytes>) -> Result<(), SendError> {
        self.shared.send_all(messages, self.direct)
    }

    /// Waits until fewer than `limit` messages (at least 1) are queued for
    /// the writer thread, or the connection stops accepting messages, or
    /// `timeout` passes. Returns `false` only on the timeout.
    ///
    /// Lets a producer of bulk data (file pieces) keep only a few messages
    /// queued ahead of the writer, pulling the next one when the writer
    /// has taken the previous ones, so that later urgent messages do not
    /// wait behind a long queue. It does not reserve room: a following
    /// [`send`](Sender::send) may still wait if other senders filled the
    /// queue meanwhile.
    pub fn wait_for_room(&self, limit: usize, timeout: Duration) -> bool {
        let limit = limit.max(1);
        let deadline = Instant::now() + timeout;
        let mut ob = self.shared.outbox.lock();
        loop {
            if !ob.accepting || ob.queue.len() < limit {
                return true;
            }
            ob.senders_waiting += 1;
            let timed_out = self.shared.room.wait_until(&mut ob, deadline).timed_out();
            ob.senders_waiting -= 1;
            if timed_out {
                return !ob.accepting || ob.queue.len() < limit;
            }
        }
    }

    /// Whether the connection has stopped accepting messages.
    pub fn is_closed(&self) -> bool {
        !self.shared.outbox.lock().accepting
    }
}

/// A stream driven by a reader thread and a writer thread; see the
/// [module docs](self).
///
/// `Connection` is `Send + Sync`: share it (e.g. in an `Arc`) to send and
/// close from several threads.
#[derive(Debug)]
pub struct Connection {
    sender: Sender,
    closer: Closer,
    /// Spawned with [`Config::detach_poll`] over plain TCP.
    detachable: bool,
    close_timeout: Duration,
    threads: Mutex<Threads>,
    reader_id: ThreadId,
}

#[derive(Debug)]
struct Threads {
    reader: Option<JoinHandle<()>>,
    writer: Option<JoinHandle<()>>,
    /// Disconnected when the thread has finished (the sender is dropped on
    /// exit, also by a panic); lets `close` wait with a deadline.
    reader_done: channel::Receiver<()>,
    writer_done: channel::Receiver<()>,
}

/// State shared by the connection, its senders and its two threads.
#[derive(Debug)]
struct Shared {
    /// The send queue and who holds the stream.
    outbox: Mutex<Outbox>,
    /// The writer thread waits here for work.
    work: Condvar,
    /// Senders wait here for room in the queue.
    room: Condvar,
    /// The writing half. Only the holder of [`Outbox::writing`] locks it
    /// (the writer thread for a batch, or one sender for a direct write),
    /// so the lock is never contended; it hands the half over safely.
    writer: Mutex<WriteHalf>,
    /// Whether senders may write directly (the stream supports writes that
    /// do not block).
    direct: bool,
    /// Most messages in the queue.
    capacity: usize,
    closer: Closer,
    /// The first I/O error that ended the connection.
    error: Mutex<Option<(io::ErrorKind, String)>>,
    /// This side asked to close: a read ending now is not the peer's doing.
    closing: AtomicBool,
    /// [`Connection::detach`] is stopping the threads: the writer flushes
    /// without half-closing, the reader stops at its next poll.
    detaching: AtomicBool,
    /// Where bytes in and out are counted ([`Config::protocol`]).
    stats: Option<&'static super::stats::Counters>,
}

#[derive(Debug)]
struct Outbox {
    /// Messages for the writer thread, oldest first.
    queue: VecDeque<Bytes>,
    /// New messages are accepted. Once `false`, never `true` again; the
    /// writer flushes the queue, half-closes and exits.
    accepting: bool,
    /// The stream failed: the queue is discarded and the writer exits
    /// without flushing.
    failed: bool,
    /// Someone holds the stream's writing half (see [`Shared::writer`]).
    writing: bool,
    /// The writer thread waits on [`Shared::work`].
    writer_waiting: bool,
    /// Senders waiting on [`Shared::room`].
    senders_waiting: usize,
}

impl Shared {
    fn stop_accepting(&self) {
        let mut ob = self.outbox.lock();
        ob.accepting = false;
        self.wake_all(&ob);
    }

    /// Ends the connection after an I/O error: record it, drop the queue,
    /// abort the stream so the reader stops too.
    fn fail(&self, e: &io::Error) {
        self.record_error(e);
        let dropped = {
            let mut ob = self.outbox.lock();
            ob.accepting = false;
            ob.failed = true;
            self.wake_all(&ob);
            std::mem::take(&mut ob.queue)
        };
        drop(dropped);
        self.closer.abort();
    }

    /// Wakes the writer (when it waits) and every waiting sender.
    fn wake_all(&self, ob: &Outbox) {
        if ob.writer_waiting {
            self.work.notify_one();
        }
        if ob.senders_waiting > 0 {
            self.room.notify_all();
        }
    }

    /// Wakes the writer if it waits and has something to do.
    fn wake_writer(&self, ob: &Outbox) {
        if ob.writer_waiting && !ob.writing && (!ob.queue.is_empty() || !ob.accepting) {
            self.work.notify_one();
        }
    }

    /// Takes the stream for a direct write if nobody holds it and nothing
    /// is queued (so nothing accepted earlier can be overtaken).
    fn claim_direct(&self, ob: &mut Outbox) -> bool {
        if self.direct && ob.accepting && !ob.writing && ob.queue.is_empty() {
            ob.writing = true;
            true
        } else {
            false
        }
    }

    /// Writes what the stream takes of `slices` without blocking, with the
    /// stream claimed ([`claim_direct`](Self::claim_direct)) and the outbox
    /// unlocked. Returns how many bytes went out and the outbox, locked
    /// again and still claimed, so the caller can queue the rest before
    /// anyone else writes (or the writer, seeing nothing queued, shuts the
    /// stream down); then [`release`](Self::release) or
    /// [`release_failed`](Self::release_failed).
    fn write_direct(
        &self,
        slices: &mut [IoSlice<'_>],
    ) -> (io::Result<usize>, MutexGuard<'_, Outbox>) {
        let result = {
            let mut writer = self.writer.lock();
            let mut rest = slices;
            let mut written = 0;
            loop {
                if rest.is_empty() {
                    break Ok(written);
                }
                match writer.try_write_vectored(rest) {
                    Ok(0) => break Ok(written),
                    Ok(n) => {
                        written += n;
                        if let Some(stats) = self.stats {
                            stats.add_out(n);
                        }
                        IoSlice::advance_slices(&mut rest, n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(written),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            }
        };
        (result, self.outbox.lock())
    }

    /// Ends a direct write: the stream is free again.
    fn release(&self, ob: &mut Outbox) {
        ob.writing = false;
        self.wake_writer(ob);
    }

    /// Ends a direct write that failed: the connection fails with `e`.
    fn release_failed(&self, mut ob: MutexGuard<'_, Outbox>, e: &io::Error) {
        ob.writing = false;
        drop(ob);
        self.fail(e);
    }

    fn send_one(&self, data: Bytes, wait: Wait, direct: bool) -> Result<(), SendError> {
        let mut ob = self.outbox.lock();
        loop {
            if !ob.accepting {
                return Err(SendError::Closed(data));
            }
            if direct && !data.is_empty() && self.claim_direct(&mut ob) {
                drop(ob);
                let (result, mut ob) = self.write_direct(&mut [IoSlice::new(&data)]);
                match result {
                    Ok(written) => {
                        if written < data.len() && !ob.failed {
                            // The rest goes first: anything queued meanwhile
                            // was accepted after this message.
                            ob.queue.push_front(data.slice(written..));
                        }
                        self.release(&mut ob);
                    }
                    // Accepted and lost with the stream, like a queued
                    // message; the error reaches the handler and `close`.
                    Err(e) => self.release_failed(ob, &e),
                }
                return Ok(());
            }
            let extra = match wait {
                Wait::Beyond(extra) => extra,
                _ => 0,
            };
            if ob.queue.len() < self.capacity.saturating_add(extra) {
                ob.queue.push_back(data);
                self.wake_writer(&ob);
                return Ok(());
            }
            let deadline = match wait {
                Wait::No | Wait::Beyond(_) => return Err(SendError::Full(data)),
                Wait::Forever => None,
                Wait::Until(deadline) if Instant::now() >= deadline => {
                    return Err(SendError::Full(data))
                }
                Wait::Until(deadline) => Some(deadline),
            };
            ob.senders_waiting += 1;
            match deadline {
                Some(deadline) => {
                    self.room.wait_until(&mut ob, deadline);
                }
                None => self.room.wait(&mut ob),
            }
            ob.senders_waiting -= 1;
        }
    }

    fn send_slices(
        &self,
        parts: &[IoSlice<'_>],
        deadline: Option<Instant>,
    ) -> Result<(), SendError> {
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let wait = deadline.map_or(Wait::Forever, Wait::Until);
        let mut ob = self.outbox.lock();
        if !ob.accepting {
            return Err(SendError::Closed(Bytes::new()));
        }
        if total == 0 {
            return Ok(());
        }
        if !self.claim_direct(&mut ob) {
            drop(ob);
            return self.send_one(concat(parts, 0), wait, false);
        }
        drop(ob);
        let mut slices: Vec<IoSlice<'_>> =
            parts.iter().filter(|p| !p.is_empty()).copied().collect();
        let mut rest = &mut slices[..];
        let mut written = 0;
        let result = {
            let mut writer = self.writer.lock();
            loop {
                if rest.is_empty() {
                    break Ok(());
                }
                match writer.try_write_vectored(rest) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        written += n;
                        if let Some(stats) = self.stats {
                            stats.add_out(n);
                        }
                        IoSlice::advance_slices(&mut rest, n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        match writer.wait_writable(deadline) {
                            Ok(true) => {}
                            // Cannot wait (or the deadline passed): the
                            // writer thread takes the rest.
                            Ok(false) => break Ok(()),
                            Err(e) => break Err(e),
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            }
        };
        let mut ob = self.outbox.lock();
        match result {
            Ok(()) if written == 0 && deadline.is_some_and(|d| Instant::now() >= d) => {
                // Nothing accepted before the deadline.
                self.release(&mut ob);
                return Err(SendError::Full(Bytes::new()));
            }
            Ok(()) => {
                if written < total && !ob.failed {
                    // Goes first: anything queued meanwhile came later.
                    ob.queue.push_front(concat(parts, written));
                }
                self.release(&mut ob);
            }
            // Accepted and lost with the stream, like a queued message.
            Err(e) => self.release_failed(ob, &e),
        }
        Ok(())
    }

    fn send_all(&self, messages: &mut VecDeque<Bytes>, direct: bool) -> Result<(), SendError> {
        // After a direct write the stream did not fully take, the rest of
        // this call goes through the queue (trying again at once would
        // only spin).
        let mut may_write = direct;
        let mut ob = self.outbox.lock();
        loop {
            if !ob.accepting {
                return match messages.pop_front() {
                    Some(front) => Err(SendError::Closed(front)),
                    None => Ok(()),
                };
            }
            if messages.is_empty() {
                return Ok(());
            }
            if may_write && self.claim_direct(&mut ob) {
                drop(ob);
                let mut slices = [IoSlice::new(&[]); MAX_BATCH_BUFFERS];
                let mut count = 0;
                let mut taken = 0;
                for m in messages.iter() {
                    if count == MAX_BATCH_BUFFERS {
                        break;
                    }
                    taken += 1;
                    if !m.is_empty() {
                        slices[count] = IoSlice::new(m);
                        count += 1;
                    }
                }
                let (result, mut guard) = self.write_direct(&mut slices[..count]);
                let mut written = match result {
                    Ok(n) => n,
                    Err(e) => {
                        // The messages of the failed write were accepted
                        // and are lost with the stream; the rest are
                        // refused.
                        self.release_failed(guard, &e);
                        messages.drain(..taken);
                        ob = self.outbox.lock();
                        continue;
                    }
                };
                // Drop what went out whole; the rest of the first message
                // cut short goes to the front of the queue (anything queued
                // meanwhile was accepted after it).
                for _ in 0..taken {
                    let Some(m) = messages.pop_front() else { break };
                    if written < m.len() {
                        may_write = false;
                        if !guard.failed {
                            guard.queue.push_front(m.slice(written..));
                        }
                        break;
                    }
                    written -= m.len();
                }
                self.release(&mut guard);
                ob = guard;
                continue;
            }
            // Through the queue, waiting for room.
            while ob.queue.len() < self.capacity {
                let Some(m) = messages.pop_front() else { break };
                ob.queue.push_back(m);
            }
            self.wake_writer(&ob);
            if messages.is_empty() {
                return Ok(());
            }
            ob.senders_waiting += 1;
            self.room.wait(&mut ob);
            ob.senders_waiting -= 1;
        }
    }

    fn record_error(&self, e: &io::Error) {
        let mut slot = self.error.lock();
        if slot.is_none() {
            *slot = Some((e.kind(), e.to_string()));
        }
    }

    /// A copy of the recorded error (`io::Error` is not `Clone`).
    fn error(&self) -> Option<io::Error> {
        self.error
            .lock()
            .as_ref()
            .map(|(kind, msg)| io::Error::new(*kind, msg.clone()))
    }
}

impl Connection {
    /// Starts driving `stream` with the default [`Config`].
    ///
    /// `handler` is called **on the reader thread**, never concurrently with
    /// itself, with every [`Incoming`] event and a [`Sender`] for replies. It
    /// must not block: while it runs nothing else is read from this
    /// connection. Hand long work to another thread.
    ///
    /// The one deliberate exception is back-pressure: a handler may wait
    /// for room (ministreaming waits while a stream's receive buffer is
    /// full, so TCP slows the sender), provided whatever closes or drops
    /// the connection first wakes it; otherwise `close` and `Drop` would
    /// wait for it.
    ///
    /// Fails if the stream cannot be split or a thread cannot be started.
    pub fn spawn<H>(stream: impl Into<Stream>, handler: H) -> io::Result<Connection>
    where
        H: FnMut(Incoming<'_>, &Sender) + Send + 'static,
    {
        Connection::spawn_with(stream, Config::default(), handler)
    }

    /// Like [`spawn`](Connection::spawn) with explicit tunables.
    pub fn spawn_with<H>(
        stream: impl Into<Stream>,
        config: Config,
        handler: H,
    ) -> io::Result<Connection>
    where
        H: FnMut(Incoming<'_>, &Sender) + Send + 'static,
    {
        let sink = Borrowed {
            buf: vec![0; config.read_buffer_size.max(1)],
            max: config.max_read_buffer_size,
            handler,
        };
        Connection::spawn_sink(stream.into(), config, sink)
    }

    /// Like [`spawn_with`](Connection::spawn_with), but the handler owns
    /// what was read ([`Received::Data`] is a [`Bytes`]): a protocol that
    /// keeps received payloads (ministreaming queues them per stream)
    /// slices them out of the read buffer instead of copying. Over TCP on
    /// Linux the kernel reads straight into a fresh buffer of
    /// [`Config::read_buffer_size`] bytes, so nothing is copied or zeroed
    /// on the way; elsewhere each read fills a zeroed buffer.
    pub fn spawn_owned<H>(
        stream: impl Into<Stream>,
        config: Config,
        handler: H,
    ) -> io::Result<Connection>
    where
        H: FnMut(Received, &Sender) + Send + 'static,
    {
        let sink = Owned {
            buf: Vec::new(),
            size: config.read_buffer_size.max(1),
            handler,
        };
        Connection::spawn_sink(stream.into(), config, sink)
    }

    fn spawn_sink(
        stream: Stream,
        config: Config,
        mut sink: impl ReadSink + Send + 'static,
    ) -> io::Result<Connection> {
        let Split {
            reader,
            writer,
            closer,
        } = stream.split()?;
        let detachable = match (config.detach_poll, closer.tcp()) {
            (Some(poll), Some(tcp)) => {
                tcp.set_read_timeout(Some(poll.max(Duration::from_millis(1))))?;
                true
            }
            _ => false,
        };
        let shared = Arc::new(Shared {
            outbox: Mutex::new(Outbox {
                queue: VecDeque::new(),
                accepting: true,
                failed: false,
                writing: false,
                writer_waiting: false,
                senders_waiting: 0,
            }),
            work: Condvar::new(),
            room: Condvar::new(),
            direct: writer.supports_try_write(),
            writer: Mutex::new(writer),
            capacity: config.queue_capacity.max(1),
            closer: closer.clone(),
            error: Mutex::new(None),
            closing: AtomicBool::new(false),
            detaching: AtomicBool::new(false),
            stats: config.protocol.map(super::stats::counters),
        });
        let counted = shared.stats.map(|s| s.open_connection());
        let sender = Sender {
            shared: shared.clone(),
            direct: false,
        };

        let (writer_done_tx, writer_done) = channel::bounded::<()>(0);
        let writer_thread = {
            let shared = shared.clone();
            let max_batch = config.max_write_batch.max(1);
            thread::Builder::new()
                .name("msgwire-conn-writer".into())
                .spawn(move || {
                    let _done = writer_done_tx;
                    run_writer(&shared, max_batch);
                })?
        };

        let (reader_done_tx, reader_done) = channel::bounded::<()>(0);
        let reader_thread = {
            let shared = shared.clone();
            let closer = closer.clone();
            let sender = Sender {
                shared: shared.clone(),
                direct: true,
            };
            thread::Builder::new()
                .name("msgwire-conn-reader".into())
                .spawn(move || {
                    let _done = reader_done_tx;
                    let _counted = counted;
                    run_reader(reader, &mut sink, &sender, &shared, &closer);
                })
        };
        let reader_thread = match reader_thread {
            Ok(handle) => handle,
            Err(e) => {
                // Undo the writer: it flushes nothing (the queue is empty),
                // half-closes and exits.
                shared.stop_accepting();
                closer.abort();
                let _ = writer_thread.join();
                return Err(e);
            }
        };

        Ok(Connection {
            sender,
            closer,
            detachable,
            close_timeout: config.close_timeout,
            reader_id: reader_thread.thread().id(),
            threads: Mutex::new(Threads {
                reader: Some(reader_thread),
                writer: Some(writer_thread),
                reader_done,
                writer_done,
            }),
        })
    }

    /// Queues `data`, waiting while the queue is full; see [`Sender::send`].
    pub fn send(&self, data: Bytes) -> Result<(), SendError> {
        self.sender.send(data)
    }

    /// Queues `data` if there is room now; see [`Sender::try_send`].
    pub fn try_send(&self, data: Bytes) -> Result<(), SendError> {
        self.sender.try_send(data)
    }

    /// A cloneable handle for sending from other threads.
    pub fn sender(&self) -> Sender {
        self.sender.clone()
    }

    /// A sender that writes directly, without blocking, when the stream is
    /// idle and nothing is queued (as the handler's does); what the stream
    /// does not take goes to the writer thread. Saves waking the writer
    /// for each message of a request/reply exchange, at the cost of one
    /// system call per message on the sending thread: the writer's
    /// coalescing of bursts ([`sender`](Self::sender)) only happens once
    /// messages queue up.
    pub fn direct_sender(&self) -> Sender {
        Sender {
            shared: self.sender.shared.clone(),
            direct: true,
        }
    }

    /// Whether the connection has stopped accepting messages.
    pub fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }

    /// Closes gracefully: flushes the queue, half-closes the stream, waits
    /// for the peer to close its side, and joins both threads; all within
    /// [`Config::close_timeout`]. Later sends fail with
    /// [`SendError::Closed`].
    ///
    /// Returns `Ok` when everything queued was written. Calling `close`
    /// again returns `Ok(())` at once; concurrent calls wait for the first.
    /// It may be called from the handler (the reader thread is then not
    /// joined; it ends as soon as the handler returns).
    pub fn close(&self) -> Result<(), CloseError> {
        let mut threads = self.threads.lock();
        if threads.writer.is_none() && threads.reader.is_none() {
            return Ok(());
        }
        self.sender.shared.closing.store(true, Ordering::SeqCst);
        self.sender.shared.stop_accepting();
        let deadline = Instant::now() + self.close_timeout;
        let on_reader = thread::current().id() == self.reader_id;

        let timed_out = !wait_for(&threads.writer_done, deadline);
        if timed_out {
            self.closer.abort();
        }
        if !on_reader && !wait_for(&threads.reader_done, deadline) {
            // The peer never closed its side. Our data is out; stop waiting.
            self.closer.abort();
        }

        let writer_panicked = threads.writer.take().is_some_and(|h| h.join().is_err());
        let reader = threads.reader.take();
        if !on_reader {
            if let Some(handle) = reader {
                let _ = handle.join();
            }
        }
        if timed_out {
            return Err(CloseError::TimedOut);
        }
        if writer_panicked {
            return Err(CloseError::Io(io::Error::other(
                "the writer thread panicked",
            )));
        }
        match self.sender.shared.error() {
            Some(e) => Err(CloseError::Io(e)),
            None => Ok(()),
        }
    }
}

impl Connection {
    /// Stops both threads without closing the stream and hands the socket
    /// back: new sends are refused, the writer writes what is queued (no
    /// half-close), the reader stops at its next poll (within
    /// [`Config::detach_poll`]) and the handler gets
    /// [`Incoming::Closed(None)`](Incoming::Closed) as its last call. Bytes
    /// the handler was given are consumed: a message the peer was in the
    /// middle of sending is cut, so detach while the peer is quiet.
    ///
    /// Only for plain TCP connections spawned with `detach_poll`; not from
    /// the handler. Bounded by [`Config::close_timeout`] for the flush.
    pub fn detach(&self) -> Result<TcpStream, DetachError> {
        let tcp = match (self.detachable, self.closer.tcp()) {
            (true, Some(tcp)) => tcp,
            _ => return Err(DetachError::NotDetachable),
        };
        if thread::current().id() == self.reader_id {
            return Err(DetachError::OnReader);
        }
        let mut threads = self.threads.lock();
        if threads.writer.is_none() && threads.reader.is_none() {
            return Err(DetachError::Closed);
        }
        if self.sender.is_closed() {
            // Closing or failed already: not a socket anyone should reuse.
            drop(threads);
            self.abort();
            return Err(DetachError::Closed);
        }
        let shared = &self.sender.shared;
        shared.detaching.store(true, Ordering::SeqCst);
        shared.closing.store(true, Ordering::SeqCst);
        shared.stop_accepting();
        let deadline = Instant::now() + self.close_timeout;
        let flushed = wait_for(&threads.writer_done, deadline);
        if !flushed {
            self.closer.abort();
        }
        let writer_failed = threads.writer.take().is_some_and(|h| h.join().is_err());
        if let Some(h) = threads.reader.take() {
            let _ = h.join();
        }
        if !flushed {
            return Err(DetachError::TimedOut);
        }
        if let Some(e) = shared.error() {
            self.closer.abort();
            return Err(DetachError::Io(e));
        }
        if writer_failed {
            self.closer.abort();
            return Err(DetachError::Io(io::Error::other(
                "the writer thread panicked",
            )));
        }
        let handed = tcp.set_read_timeout(None).and_then(|()| tcp.try_clone());
        handed.map_err(|e| {
            self.closer.abort();
            DetachError::Io(e)
        })
    }

    /// Shuts the stream down at once without waiting for anything: queued
    /// messages are discarded and both threads end on their own; they are
    /// joined when the connection is closed, aborted or dropped. For the
    /// handler, which runs on the reader thread and so cannot join it.
    pub fn abort_stream(&self) {
        if self.sender.shared.detaching.load(Ordering::SeqCst) {
            return;
        }
        self.sender.shared.closing.store(true, Ordering::SeqCst);
        self.sender.shared.stop_accepting();
        self.closer.abort();
    }

    /// Aborts at once, as dropping the connection does: queued messages are
    /// discarded, the stream is shut down and both threads are joined
    /// (the reader is not joined when this runs on it: it ends as soon as
    /// the handler returns). A `close` running on another thread returns
    /// early. Calling it again does nothing.
    pub fn abort(&self) {
        if self.sender.shared.detaching.load(Ordering::SeqCst) {
            // The socket was handed back (or is being): not ours to shut.
            return;
        }
        self.sender.shared.closing.store(true, Ordering::SeqCst);
        self.sender.shared.stop_accepting();
        // Before taking the lock: a `close` holding it stops waiting.
        self.closer.abort();
        let mut threads = self.threads.lock();
        if let Some(handle) = threads.writer.take() {
            let _ = handle.join();
        }
        if let Some(handle) = threads.reader.take() {
            if handle.thread().id() != thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let threads = self.threads.get_mut();
        if threads.writer.is_none() && threads.reader.is_none() {
            return;
        }
        self.abort();
    }
}

/// Waits until the thread owning the other end of `done` has exited, or
/// `deadline` passes. Returns whether it exited.
fn wait_for(done: &channel::Receiver<()>, deadline: Instant) -> bool {
    // Nothing is ever sent: the only way the wait ends early is the sender
    // being dropped when the thread exits.
    matches!(
        done.recv_deadline(deadline),
        Err(channel::RecvTimeoutError::Disconnected) | Ok(())
    )
}

/// The reader thread: read, hand to the handler, repeat; then report the end.
/// How the reader thread reads and what it hands the handler: borrowed
/// slices of one reused buffer ([`Incoming`]) or owned buffers
/// ([`Received`]).
trait ReadSink {
    /// Reads once; the number of bytes read, 0 at end-of-file.
    fn read(&mut self, reader: &mut ReadHalf) -> io::Result<usize>;
    /// Hands the `n` bytes just read to the handler.
    fn deliver(&mut self, n: usize, sender: &Sender);
    /// Tells the handler the stream ended.
    fn closed(&mut self, report: Option<io::Error>, sender: &Sender);
}

struct Borrowed<H> {
    buf: Vec<u8>,
    /// [`Config::max_read_buffer_size`].
    max: usize,
    handler: H,
}

impl<H: FnMut(Incoming<'_>, &Sender)> ReadSink for Borrowed<H> {
    fn read(&mut self, reader: &mut ReadHalf) -> io::Result<usize> {
        reader.read(&mut self.buf)
    }
    fn deliver(&mut self, n: usize, sender: &Sender) {
        (self.handler)(Incoming::Data(&self.buf[..n]), sender);
        if n == self.buf.len() && n < self.max {
            // More was probably waiting: read more at once next time.
            self.buf = vec![0; (2 * n).min(self.max)];
        }
    }
    fn closed(&mut self, report: Option<io::Error>, sender: &Sender) {
        (self.handler)(Incoming::Closed(report), sender);
    }
}

struct Owned<H> {
    /// Empty between reads; its capacity is reused after a small read.
    buf: Vec<u8>,
    size: usize,
    handler: H,
}

impl<H: FnMut(Received, &Sender)> ReadSink for Owned<H> {
    fn read(&mut self, reader: &mut ReadHalf) -> io::Result<usize> {
        if self.buf.capacity() == 0 {
            self.buf.reserve_exact(self.size);
        }
        reader.read_append(&mut self.buf)
    }
    fn deliver(&mut self, _: usize, sender: &Sender) {
        let data = if self.buf.len() < self.size / 8 {
            let data = Bytes::copy_from_slice(&self.buf);
            self.buf.clear();
            data
        } else {
            Bytes::from(std::mem::take(&mut self.buf))
        };
        (self.handler)(Received::Data(data), sender);
    }
    fn closed(&mut self, report: Option<io::Error>, sender: &Sender) {
        (self.handler)(Received::Closed(report), sender);
    }
}

fn run_reader(
    mut reader: ReadHalf,
    sink: &mut impl ReadSink,
    sender: &Sender,
    shared: &Shared,
    closer: &Closer,
) {
    let ended = loop {
        match sink.read(&mut reader) {
            Ok(0) => break None,
            Ok(n) => {
                if let Some(stats) = shared.stats {
                    stats.add_in(n);
                }
                let call = catch_unwind(AssertUnwindSafe(|| sink.deliver(n, sender)));
                if call.is_err() {
                    // A broken handler cannot be trusted with more data, and
                    // the peer must not wait for replies that will never come.
                    let e = io::Error::other("the connection handler panicked");
                    shared.record_error(&e);
                    shared.stop_accepting();
                    closer.abort();
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // A `detach_poll` wake-up (only detachable connections have a
            // read timeout).
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                if shared.detaching.load(Ordering::SeqCst) {
                    break None;
                }
            }
            Err(e) => break Some(e),
        }
    };
    // Stop accepting before telling the handler, so a send made after it has
    // seen `Closed` is refused. The writer still flushes what is queued.
    shared.stop_accepting();
    let report = if shared.closing.load(Ordering::SeqCst) {
        None
    } else if let Some(e) = ended {
        shared.record_error(&e);
        Some(e)
    } else {
        // A clean end-of-file may be the echo of our writer failing and
        // aborting the stream; then the writer's error is the real story.
        shared.error()
    };
    let _ = catch_unwind(AssertUnwindSafe(|| sink.closed(report, sender)));
}

/// The writer thread: drain the queue in batches until the connection stops
/// accepting messages and the queue is empty, then half-close. On a write
/// error, fail the connection (record the error, drop the queue, abort the
/// stream so the reader stops too).
fn run_writer(shared: &Shared, max_batch: usize) {
    let mut batch: Vec<Bytes> = Vec::with_capacity(MAX_BATCH_BUFFERS);
    let mut ob = shared.outbox.lock();
    loop {
        if ob.failed {
            return;
        }
        if !ob.writing {
            if !ob.queue.is_empty() {
                let mut total = 0;
                while batch.len() < MAX_BATCH_BUFFERS && total < max_batch {
                    let Some(next) = ob.queue.pop_front() else {
                        break;
                    };
                    total += next.len();
                    batch.push(next);
                }
                ob.writing = true;
                if ob.senders_waiting > 0 {
                    shared.room.notify_all();
                }
                drop(ob);
                let written = write_all_vectored(&mut *shared.writer.lock(), &batch);
                if let (Some(stats), Ok(())) = (shared.stats, &written) {
                    stats.add_out(batch.iter().map(Bytes::len).sum());
                }
                batch.clear();
                ob = shared.outbox.lock();
                ob.writing = false;
                if let Err(e) = written {
                    drop(ob);
                    shared.fail(&e);
                    return;
                }
                continue;
            }
            if !ob.accepting {
                // Nobody can claim the stream any more: senders are refused.
                drop(ob);
                let detaching = shared.detaching.load(Ordering::SeqCst);
                let finished = {
                    let mut writer = shared.writer.lock();
                    // A detached socket lives on: no half-close.
                    writer
                        .flush()
                        .and_then(|()| if detaching { Ok(()) } else { writer.shutdown() })
                };
                if let Err(e) = finished {
                    shared.fail(&e);
                }
                return;
            }
        }
        // Nothing to do. Under load the next message usually comes within
        // microseconds, sooner than a parked thread wakes up: look again a
        // few times, spinning then yielding, before sleeping.
        let mut idle = true;
        for step in 0..=YIELD_LIMIT {
            MutexGuard::unlocked(&mut ob, || {
                if step <= SPIN_LIMIT {
                    for _ in 0..1u32 << step {
                        std::hint::spin_loop();
                    }
                } else {
                    thread::yield_now();
                }
            });
            if ob.failed || (!ob.writing && (!ob.queue.is_empty() || !ob.accepting)) {
                idle = false;
                break;
            }
        }
        if idle {
            ob.writer_waiting = true;
            shared.work.wait(&mut ob);
            ob.writer_waiting = false;
        }
    }
}

/// The writer's look-again schedule before sleeping: spin `2^step` times
/// for steps up to `SPIN_LIMIT`, then yield the processor until
/// `YIELD_LIMIT` (the schedule `crossbeam` uses for the same purpose).
const SPIN_LIMIT: u32 = 6;
const YIELD_LIMIT: u32 = 10;

/// Writes every buffer of `batch`, as few system calls as the stream allows.
fn write_all_vectored(writer: &mut impl Write, batch: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch
        .iter()
        .filter(|b| !b.is_empty())
        .map(|b| IoSlice::new(b))
        .collect();
    let mut rest = &mut slices[..];
    while !rest.is_empty() {
        match writer.write_vectored(rest) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the stream accepted no more bytes",
                ))
            }
            Ok(n) => IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// How long a send waits for room in the queue.
#[derive(Debug, Clone, Copy)]
enum Wait {
    No,
    Forever,
    Until(Instant),
    /// Not at all, but the queue may hold this many messages more than
    /// its capacity.
    Beyond(usize),
}

/// The bytes of `parts` after the first `skip`, in one buffer.
fn concat(parts: &[IoSlice<'_>], mut skip: usize) -> Bytes {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(total.saturating_sub(skip));
    for part in parts {
        let take = skip.min(part.len());
        skip -= take;
        out.extend_from_slice(&part[take..]);
    }
    Bytes::from(out)
}

/// Most buffers in one vectored write. Far below every platform's `IOV_MAX`
/// (1024 on Linux and macOS) and enough to coalesce a burst of small
/// messages into one system call.
const MAX_BATCH_BUFFERS: usize = 64;
