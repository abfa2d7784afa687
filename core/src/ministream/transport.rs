//! Message transports a [`SocketManager`](super::SocketManager) runs over.
//!
//! A transport only opens and accepts byte streams ([`net::Stream`](crate::net::Stream):
//! TCP, TLS or an in-memory pipe); the manager drives each one with the
//! engine's [`Connection`](crate::net::Connection) and carries frames over
//! it in the length-prefixed framing of [`frame`](super::frame). Each
//! manager has one destination; one byte stream per pair of destinations
//! carries every stream between them, in both directions.
//!
//! * [`TcpTransport`]: destinations are `host:port` (UTF-8); optional TLS.
//!   There is no handshake beyond TLS: the first frame may be a SYN.
//! * [`MemoryTransport`]: managers in one process, found by name on a
//!   shared [`MemoryNetwork`].

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;

use super::error::Error;
use crate::net::{pipe_with_capacity, Stream, TlsClientConfig, TlsServerConfig};

/// What a transport calls with every byte stream a peer opened to us.
pub type IncomingFn = Arc<dyn Fn(Stream) + Send + Sync>;

/// Opens and accepts the byte streams a manager carries frames over.
///
/// Implementations must be usable from several threads at once. `dial`
/// blocks for at most `timeout`.
pub trait Transport: Send + Sync {
    /// This side's destination, sent as the payload of every SYN.
    fn local_destination(&self) -> Bytes;
    /// Opens a byte stream to `destination` within `timeout`.
    fn dial(&self, destination: &[u8], timeout: Duration) -> Result<Stream, Error>;
    /// Starts handing streams peers open to `incoming` (on any thread).
    /// Called once by the manager.
    fn start(&self, incoming: IncomingFn) -> io::Result<()>;
    /// Stops accepting and joins any thread the transport started. Called
    /// once, by `destroy`; must not block for long.
    fn shutdown(&self);
}

/// TCP (optionally TLS) transport: listens on one address; destinations
/// are `host:port`.
pub struct TcpTransport {
    addr: SocketAddr,
    destination: Bytes,
    listener: Mutex<Option<TcpListener>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    closed: Arc<AtomicBool>,
    tls_server: Option<TlsServerConfig>,
    tls_client: Option<TlsClientConfig>,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpTransport")
            .field("addr", &self.addr)
            .field("tls", &self.tls_server.is_some())
            .finish()
    }
}

impl TcpTransport {
    /// Binds `addr` (port 0 picks a free port). The destination is the
    /// bound address as `ip:port` (`[ip]:port` for IPv6). With
    /// `tls_server`, accepted connections must speak TLS; with
    /// `tls_client`, outgoing ones do (the host part of the destination is
    /// the name the certificate must match).
    pub fn bind(
        addr: impl ToSocketAddrs,
        tls_server: Option<TlsServerConfig>,
        tls_client: Option<TlsClientConfig>,
    ) -> io::Result<TcpTransport> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        Ok(TcpTransport {
            addr,
            destination: Bytes::from(addr.to_string()),
            listener: Mutex::new(Some(listener)),
            thread: Mutex::new(None),
            closed: Arc::new(AtomicBool::new(false)),
            tls_server,
            tls_client,
            handshake_timeout: Duration::from_secs(10),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Transport for TcpTransport {
    fn local_destination(&self) -> Bytes {
        self.destination.clone()
    }

    fn dial(&self, destination: &[u8], timeout: Duration) -> Result<Stream, Error> {
        let text = std::str::from_utf8(destination)
            .map_err(|_| Error::InvalidDestination("not UTF-8".into()))?;
        let (host, _) = text
            .rsplit_once(':')
            .ok_or_else(|| Error::InvalidDestination(format!("{text:?} is not host:port")))?;
        let addrs: Vec<SocketAddr> = text
            .to_socket_addrs()
            .map_err(|e| Error::InvalidDestination(format!("{text:?}: {e}")))?
            .collect();
        let deadline = Instant::now() + timeout;
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for addr in addrs {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::TimedOut);
            }
            match TcpStream::connect_timeout(&addr, left) {
                Ok(tcp) => {
                    return match &self.tls_client {
                        None => Ok(tcp.into()),
                        Some(tls) => {
                            let left = deadline.saturating_duration_since(Instant::now());
                            Stream::tls_connect(tcp, tls, host, left.max(Duration::from_millis(1)))
                                .map_err(|e| Error::Transport(io::Error::other(e)))
                        }
                    }
                }
                Err(e) => last = e,
            }
        }
        Err(match last.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::TimedOut,
            _ => Error::Transport(last),
        })
    }

    fn start(&self, incoming: IncomingFn) -> io::Result<()> {
        let Some(listener) = self.listener.lock().take() else {
            return Ok(());
        };
        let closed = self.closed.clone();
        let tls = self.tls_server.clone();
        let timeout = self.handshake_timeout;
        let handle = thread::Builder::new()
            .name("msgwire-ministream-accept".into())
            .spawn(move || run_listener(listener, closed, tls, timeout, incoming))?;
        *self.thread.lock() = Some(handle);
        Ok(())
    }

    fn shutdown(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        // Wake the blocking accept with a connection of our own.
        let wake = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let _ = TcpStream::connect_timeout(
            &SocketAddr::new(wake, self.addr.port()),
            Duration::from_secs(1),
        );
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
        self.listener.lock().take();
    }
}

fn run_listener(
    listener: TcpListener,
    closed: Arc<AtomicBool>,
    tls: Option<TlsServerConfig>,
    timeout: Duration,
    incoming: IncomingFn,
) {
    let mut handshakes: Vec<JoinHandle<()>> = Vec::new();
    loop {
        let accepted = listener.accept();
        if closed.load(Ordering::SeqCst) {
            break;
        }
        handshakes.retain(|h| !h.is_finished());
        match accepted {
            Ok((tcp, _)) => match &tls {
                None => incoming(tcp.into()),
                Some(tls) => {
                    let tls = tls.clone();
                    let incoming = incoming.clone();
                    let spawned = thread::Builder::new()
                        .name("msgwire-ministream-tls".into())
                        .spawn(move || match Stream::tls_accept(tcp, &tls, timeout) {
                            Ok(stream) => incoming(stream),
                            Err(e) => log::warn!("ministream: TLS handshake failed: {e}"),
                        });
                    if let Ok(h) = spawned {
                        handshakes.push(h);
                    }
                }
            },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                log::warn!("ministream: accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
            }
        }
    }
    for h in handshakes {
        let _ = h.join();
    }
}

/// A set of in-memory managers that can reach each other by name.
/// Cloning gives another handle to the same network.
#[derive(Clone, Default)]
pub struct MemoryNetwork {
    nodes: Arc<Mutex<HashMap<Bytes, IncomingFn>>>,
}

impl std::fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryNetwork")
            .field("nodes", &self.nodes.lock().len())
            .finish()
    }
}

impl MemoryNetwork {
    /// An empty network.
    pub fn new() -> MemoryNetwork {
        MemoryNetwork::default()
    }
}

/// One manager's place on a [`MemoryNetwork`].
#[derive(Debug)]
pub struct MemoryTransport {
    network: MemoryNetwork,
    name: Bytes,
}

impl MemoryTransport {
    /// A transport named `name` on `network`; `None` generates a unique
    /// name (`mem-<n>`). Fails if the name is taken.
    pub fn new(network: &MemoryNetwork, name: Option<&[u8]>) -> Result<MemoryTransport, Error> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let nodes = network.nodes.lock();
        let name = match name {
            Some([]) => return Err(Error::InvalidDestination("empty name".into())),
            Some(n) => Bytes::copy_from_slice(n),
            None => loop {
                let n = Bytes::from(format!("mem-{}", NEXT.fetch_add(1, Ordering::Relaxed)));
                if !nodes.contains_key(&n) {
                    break n;
                }
            },
        };
        if nodes.contains_key(&name) {
            return Err(Error::InvalidDestination(format!(
                "{} is already on this network",
                String::from_utf8_lossy(&name)
            )));
        }
        drop(nodes);
        Ok(MemoryTransport {
            network: network.clone(),
            name,
        })
    }
}

impl Transport for MemoryTransport {
    fn local_destination(&self) -> Bytes {
        self.name.clone()
    }

    fn dial(&self, destination: &[u8], _timeout: Duration) -> Result<Stream, Error> {
        let target = self.network.nodes.lock().get(destination).cloned();
        let target = target.ok_or_else(|| {
            Error::InvalidDestination(format!(
                "no manager named {} on this network",
                String::from_utf8_lossy(destination)
            ))
        })?;
        let (ours, theirs) = pipe_with_capacity(MEMORY_PIPE_CAPACITY);
        target(theirs.into());
        Ok(ours.into())
    }

    fn start(&self, incoming: IncomingFn) -> io::Result<()> {
        let mut nodes = self.network.nodes.lock();
        if nodes.contains_key(&self.name) {
            return Err(io::Error::new(io::ErrorKind::AddrInUse, "name taken"));
        }
        nodes.insert(self.name.clone(), incoming);
        Ok(())
    }

    fn shutdown(&self) {
        self.network.nodes.lock().remove(&self.name);
    }
}

/// Buffer per direction of an in-memory connection: 1 MiB, a few frames'
/// worth of slack so the writer rarely waits for the reader thread.
const MEMORY_PIPE_CAPACITY: usize = 1024 * 1024;
