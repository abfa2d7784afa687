//! The blocking I/O engine: transports, connections and a shared timer.
//!
//! This is the layer between the sans-IO protocol code and the operating
//! system. It moves bytes and never parses them:
//!
//! * [`stream`] — the transports a connection can run over: TCP (IPv4 and
//!   IPv6), TLS over TCP, and an in-memory duplex [`pipe`] for
//!   deterministic tests. A [`Stream`] splits into a reading half, a writing
//!   half and a [`Closer`] that can unblock both from any thread.
//!   [`default_ip`] is the local address endpoints use when a URI names no
//!   host.
//! * [`conn`] — a [`Connection`]: one reader thread that hands incoming bytes
//!   to a callback and one writer thread that drains a bounded send queue,
//!   coalescing small messages into one vectored write.
//! * [`tls`] — TLS configuration ([`TlsServerConfig`], [`TlsClientConfig`])
//!   and the handshake that turns a TCP stream into [`Stream::Tls`].
//! * [`listener`] — a bounded, stoppable accept loop ([`Listener`]),
//!   TLS optional.
//! * [`stats`] — process-wide counters per protocol (connections and
//!   sessions open, bytes in and out) for status pages.
//! * [`timer`] — one [`Timer`] thread serving any number of deadlines
//!   (transaction timeouts, keepalives).
//!
//! # The boundary protocol code sees
//!
//! Protocol layers see only three things: a callback receiving [`Incoming`]
//! events, a way to queue bytes ([`Sender::send`] / [`Sender::try_send`])
//! and [`Connection::close`]. Whether the bytes are moved by two threads per
//! connection (this driver, right for clients) or by a pool of workers each
//! polling thousands of sockets (a driver a relay will need later; a Linux
//! box may allow only ~32k threads in all) is invisible behind that
//! boundary, so such a driver can be added without touching protocol code.
//! Likewise TLS is just one more [`Stream`] variant.
//!
//! # Example
//!
//! Two peers over an in-memory pipe; one echoes what it receives.
//!
//! ```
//! use bytes::Bytes;
//! use msgwire::net::{pipe, Connection, Incoming};
//! use std::sync::mpsc;
//!
//! let (a, b) = pipe();
//! let _echo = Connection::spawn(b, |event, sender| {
//!     if let Incoming::Data(data) = event {
//!         // Runs on the reader thread: queue the reply, do not block.
//!         let _ = sender.try_send(Bytes::copy_from_slice(data));
//!     }
//! })?;
//! let (tx, rx) = mpsc::channel();
//! let client = Connection::spawn(a, move |event, _| {
//!     if let Incoming::Data(data) = event {
//!         let _ = tx.send(data.to_vec());
//!     }
//! })?;
//! client.send(Bytes::from_static(b"hello"))?;
//! assert_eq!(rx.recv().unwrap(), b"hello");
//! client.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! No async runtime is used: the engine is plain threads, `crossbeam-channel`
//! queues and `parking_lot` locks.

pub mod conn;
pub mod listener;
pub mod stats;
pub mod stream;
pub mod timer;
pub mod tls;

pub use conn::{
    CloseError, Config, Connection, DetachError, Incoming, Received, SendError, Sender,
};
pub use listener::{Accepted, Listener, ListenerConfig, Slot};
pub use stream::{
    default_ip, pipe, pipe_with_capacity, Closer, PipeEnd, ReadHalf, Split, Stream, WriteHalf,
};
pub use timer::{Deadline, Timer, TimerHandle};
pub use tls::{PemInput, TlsClientConfig, TlsError, TlsServerConfig, TlsStream};
