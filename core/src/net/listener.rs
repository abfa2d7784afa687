//! A listening socket with a bounded, stoppable accept loop.
//!
//! [`Listener::bind`] binds a TCP address (IPv4 or IPv6, port 0 for any
//! free port) and starts one thread that accepts connections and hands
//! each to a callback as an [`Accepted`]: the [`Stream`] (plain TCP, or
//! TLS once the handshake is done), the peer and local addresses, and a
//! [`Slot`] that keeps the connection counted until it is dropped.
//!
//! * **Limits.** At most [`ListenerConfig::max_connections`] slots are
//!   held in all and [`ListenerConfig::max_per_address`] per peer IP;
//!   a connection over either limit is closed at once and logged.
//! * **TLS** ([`ListenerConfig::tls`]): the handshake runs on a thread of
//!   its own, bounded by [`ListenerConfig::handshake_timeout`], so a
//!   client that stalls in the handshake never holds up the accept loop.
//!   Its slot is taken before the handshake, so handshakes count against
//!   the limits too.
//! * **Stopping.** [`Listener::stop`] (and `Drop`) sets a flag and wakes
//!   the blocked `accept` with a connection to the listening address; the
//!   thread is joined before `stop` returns. Connections already handed
//!   out are the callback's to close.
//!
//! The callback runs on the accept thread (or a handshake thread) and must
//! not block: it should start whatever serves the connection and return.
//! The relay server and the STS server accept through it; the
//! serverResponse HTTP server and the ministream transport still have
//! accept loops of their own that could be moved onto this one.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::Mutex;

use super::{Stream, TlsServerConfig};

/// Tunables of a [`Listener`].
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Most connections held at once (including TLS handshakes under
    /// way). Default 10,000.
    pub max_connections: usize,
    /// Most connections held at once from one peer IP address. Default 64.
    pub max_per_address: usize,
    /// Run a TLS server handshake on each connection before handing it
    /// out. `None` (default): plain TCP.
    pub tls: Option<TlsServerConfig>,
    /// Longest a TLS handshake may take. Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            max_connections: 10_000,
            max_per_address: 64,
            tls: None,
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// A connection handed out by a [`Listener`].
#[derive(Debug)]
pub struct Accepted {
    /// The connection: TCP, or TLS after a completed handshake.
    pub stream: Stream,
    /// The peer's address.
    pub peer: SocketAddr,
    /// Our end's address (the address the peer connected to).
    pub local: SocketAddr,
    /// Keeps the connection counted against the limits; drop it when the
    /// connection is finished.
    pub slot: Slot,
}

/// One connection counted by a [`Listener`]'s limits, released on drop.
#[derive(Debug)]
pub struct Slot {
    counts: Arc<Counts>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut per = self.counts.per_ip.lock();
        if let Some(n) = per.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.ip);
            }
        }
        drop(per);
        *self.counts.total.lock() -= 1;
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: Mutex<usize>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

impl Counts {
    fn take(self: &Arc<Self>, ip: IpAddr, config: &ListenerConfig) -> Option<Slot> {
        let mut total = self.total.lock();
        let mut per = self.per_ip.lock();
        let n = per.get(&ip).copied().unwrap_or(0);
        if *total >= config.max_connections || n >= config.max_per_address {
            return None;
        }
        *total += 1;
        per.insert(ip, n + 1);
        Some(Slot {
            counts: self.clone(),
            ip,
        })
    }
}

/// A listening socket and its accept thread; see the [module docs](self).
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    counts: Arc<Counts>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Listener {
    /// Binds `addr` and starts accepting; `on_accept` gets every
    /// connection within the limits. `name` names the thread and the log
    /// lines.
    pub fn bind<F>(
        addr: impl ToSocketAddrs,
        config: ListenerConfig,
        name: &str,
        on_accept: F,
    ) -> io::Result<Listener>
    where
        F: Fn(Accepted) + Send + Sync + 'static,
    {
        let socket = TcpListener::bind(addr)?;
        let addr = socket.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let thread = {
            let stopping = stopping.clone();
            let counts = counts.clone();
            let name = name.to_string();
            let on_accept = Arc::new(on_accept);
            thread::Builder::new()
                .name(format!("msgwire-listen-{name}"))
                .spawn(move || {
                    accept_loop(&socket, &config, &name, &stopping, &counts, on_accept)
                })?
        };
        Ok(Listener {
            addr,
            stopping,
            counts,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections are counted now.
    pub fn connections(&self) -> usize {
        *self.counts.total.lock()
    }

    /// Stops accepting and joins the accept thread. Idempotent.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let Some(thread) = self.thread.lock().take() else {
            return;
        };
        // Wake the blocked accept with a connection of our own.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        let _ = thread.join();
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

fn accept_loop<F>(
    socket: &TcpListener,
    config: &ListenerConfig,
    name: &str,
    stopping: &AtomicBool,
    counts: &Arc<Counts>,
    on_accept: Arc<F>,
) where
    F: Fn(Accepted) + Send + Sync + 'static,
{
    loop {
        let accepted = socket.accept();
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of descriptors and the like: back off a little
                // instead of spinning.
                log::warn!("{name}: accept failed: {e}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let Some(slot) = counts.take(peer.ip(), config) else {
            log::warn!("{name}: refused {peer}: connection limit reached");
            continue;
        };
        let local = match tcp.local_addr() {
            Ok(a) => a,
            Err(e) => {
                log::warn!("{name}: {peer}: {e}");
                continue;
            }
        };
        match &config.tls {
            None => on_accept(Accepted {
                stream: Stream::Tcp(tcp),
                peer,
                local,
                slot,
            }),
            Some(tls) => {
                let tls = tls.clone();
                let timeout = config.handshake_timeout;
                let on_accept = on_accept.clone();
                let label = name.to_string();
                let spawned = thread::Builder::new()
                    .name("msgwire-tls-accept".into())
                    .spawn(move || match Stream::tls_accept(tcp, &tls, timeout) {
                        Ok(stream) => on_accept(Accepted {
                            stream,
                            peer,
                            local,
                            slot,
                        }),
                        Err(e) => log::info!("{label}: TLS handshake with {peer} failed: {e}"),
                    });
                if let Err(e) = spawned {
                    log::warn!("{name}: no thread for the handshake with {peer}: {e}");
                }
            }
        }
    }
}
