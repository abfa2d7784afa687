//! Process-wide traffic counters per protocol, for status pages (the
//! serverResponse `status` method reports them).
//!
//! Every counter is a relaxed atomic: the data path pays one uncontended
//! atomic add per read or write and never takes a lock. The numbers are
//! therefore only loosely consistent with each other (a snapshot may show
//! the bytes of a connection that is already counted as closed), which is
//! all a status page needs.
//!
//! * Connections are counted by the engine: a [`Connection`] spawned with
//!   [`Config::protocol`] set counts as open while its reader runs, and
//!   its bytes in and out are added as they pass.
//! * Sessions are counted by the protocol layers, each with its own idea
//!   of a session (an MSRP session, an STS peer, a serverResponse request
//!   being served), by holding an [`Open`] guard.
//!
//! [`Connection`]: super::Connection
//! [`Config::protocol`]: super::Config::protocol
//!
//! ```
//! use msgwire::net::stats::{self, Protocol};
//!
//! let before = stats::snapshot(Protocol::Ministream);
//! let session = stats::counters(Protocol::Ministream).open_session();
//! assert_eq!(stats::snapshot(Protocol::Ministream).sessions_open, before.sessions_open + 1);
//! drop(session);
//! ```

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The protocols msgwire keeps counters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// MSRP (RFC 4975).
    Msrp,
    /// STS/1.0.
    Sts,
    /// I2P ministreaming.
    Ministream,
    /// serverResponse over HTTP.
    ServerResponse,
}

impl Protocol {
    /// Every protocol, in a stable order.
    pub const ALL: [Protocol; 4] = [
        Protocol::Msrp,
        Protocol::Sts,
        Protocol::Ministream,
        Protocol::ServerResponse,
    ];

    /// A short lowercase name (`msrp`, `sts`, `ministream`,
    /// `serverresponse`).
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Msrp => "msrp",
            Protocol::Sts => "sts",
            Protocol::Ministream => "ministream",
            Protocol::ServerResponse => "serverresponse",
        }
    }

    fn index(self) -> usize {
        match self {
            Protocol::Msrp => 0,
            Protocol::Sts => 1,
            Protocol::Ministream => 2,
            Protocol::ServerResponse => 3,
        }
    }
}

/// The counters of one protocol.
#[derive(Debug)]
pub struct Counters {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    sessions_open: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// The counters of `protocol`.
pub fn counters(protocol: Protocol) -> &'static Counters {
    &COUNTERS[protocol.index()]
}

/// A copy of the counters of `protocol`.
pub fn snapshot(protocol: Protocol) -> Snapshot {
    counters(protocol).snapshot()
}

/// Counters copied at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Connections open now.
    pub connections_open: u64,
    /// Connections opened since the process started.
    pub connections_total: u64,
    /// Sessions open now.
    pub sessions_open: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
}

impl Counters {
    const fn new() -> Counters {
        Counters {
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            sessions_open: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
        }
    }

    /// Adds received bytes.
    pub fn add_in(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Relaxed);
    }

    /// Adds sent bytes.
    pub fn add_out(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Relaxed);
    }

    /// Counts a connection as open until the guard drops.
    pub fn open_connection(&'static self) -> Open {
        self.connections_open.fetch_add(1, Relaxed);
        self.connections_total.fetch_add(1, Relaxed);
        Open {
            counter: &self.connections_open,
        }
    }

    /// Counts a session as open until the guard drops.
    pub fn open_session(&'static self) -> Open {
        self.sessions_open.fetch_add(1, Relaxed);
        Open {
            counter: &self.sessions_open,
        }
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            connections_open: self.connections_open.load(Relaxed),
            connections_total: self.connections_total.load(Relaxed),
            sessions_open: self.sessions_open.load(Relaxed),
            bytes_in: self.bytes_in.load(Relaxed),
            bytes_out: self.bytes_out.load(Relaxed),
        }
    }
}

/// Keeps one connection or session counted as open; dropping it counts it
/// closed.
#[derive(Debug)]
pub struct Open {
    counter: &'static AtomicU64,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Relaxed);
    }
}

static COUNTERS: [Counters; 4] = [
    Counters::new(),
    Counters::new(),
    Counters::new(),
    Counters::new(),
];
