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
//!   thread is joined before `stop` returns. TLS handshakes still under
//!   way are cut short (their sockets are shut down) and their threads
//!   joined too, so the callback never runs once `stop` has returned.
//!   Connections already handed out are the callback's to close.
//!
//! The callback runs on the accept thread (or a handshake thread) and must
//! not block: it should start whatever serves the connection and return.
//! The relay server and the STS server accept through it; the
//! serverResponse HTTP server and the ministream transport still have
//! accept loops of their own that could be moved onto this one.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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

/// TLS handshakes under way: for each, a handle on its socket while the
/// handshake runs (to cut it short) and its thread (to join). A thread
/// removes its own entry when it is done; [`Listener::stop`] takes the
/// rest.
#[derive(Debug, Default)]
struct Handshakes {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Handshake>>,
}

#[derive(Debug)]
struct Handshake {
    /// `None` once the handshake is done and the connection is being
    /// handed out: it is then the callback's, not ours to shut down.
    socket: Option<TcpStream>,
    thread: Option<JoinHandle<()>>,
}

/// A listening socket and its accept thread; see the [module docs](self).
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    counts: Arc<Counts>,
    handshakes: Arc<Handshakes>,
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
        let handshakes = Arc::new(Handshakes::default());
        let thread = {
            let shared = Shared {
                config,
                name: name.to_string(),
                stopping: stopping.clone(),
                counts: counts.clone(),
                handshakes: handshakes.clone(),
                on_accept: Arc::new(on_accept),
            };
            thread::Builder::new()
                .name(format!("msgwire-listen-{name}"))
                .spawn(move || accept_loop(&socket, &shared))?
        };
        Ok(Listener {
            addr,
            stopping,
            counts,
            handshakes,
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

    /// Stops accepting, cuts short the TLS handshakes under way, and joins
    /// every thread the listener started. Idempotent.
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
        // No handshake starts now; end those under way and wait for them
        // (a handshake that just finished may be in the callback).
        let running = std::mem::take(&mut *self.handshakes.running.lock());
        for socket in running.values().filter_map(|h| h.socket.as_ref()) {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
        for thread in running.into_values().filter_map(|h| h.thread) {
            let _ = thread.join();
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the accept thread and the handshake threads share.
struct Shared<F> {
    config: ListenerConfig,
    name: String,
    stopping: Arc<AtomicBool>,
    counts: Arc<Counts>,
    handshakes: Arc<Handshakes>,
    on_accept: Arc<F>,
}

fn accept_loop<F>(socket: &TcpListener, shared: &Shared<F>)
where
    F: Fn(Accepted) + Send + Sync + 'static,
{
    let name = &shared.name;
    loop {
        let accepted = socket.accept();
        if shared.stopping.load(Ordering::SeqCst) {
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
        let Some(slot) = shared.counts.take(peer.ip(), &shared.config) else {
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
        match &shared.config.tls {
            None => (shared.on_accept)(Accepted {
                stream: Stream::Tcp(tcp),
                peer,
                local,
                slot,
            }),
            Some(tls) => start_handshake(shared, tls, tcp, peer, local, slot),
        }
    }
}

/// Runs the TLS handshake of an accepted connection on a thread of its
/// own, registered in [`Handshakes`] so that [`Listener::stop`] can end it
/// and join it.
fn start_handshake<F>(
    shared: &Shared<F>,
    tls: &TlsServerConfig,
    tcp: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    slot: Slot,
) where
    F: Fn(Accepted) + Send + Sync + 'static,
{
    let name = &shared.name;
    let handle = match tcp.try_clone() {
        Ok(h) => h,
        Err(e) => {
            log::warn!("{name}: {peer}: {e}");
            return;
        }
    };
    let id = shared.handshakes.next.fetch_add(1, Ordering::Relaxed);
    // Registered before the thread starts, so that its own removal always
    // comes after.
    let mut running = shared.handshakes.running.lock();
    running.insert(
        id,
        Handshake {
            socket: Some(handle),
            thread: None,
        },
    );
    let tls = tls.clone();
    let timeout = shared.config.handshake_timeout;
    let on_accept = shared.on_accept.clone();
    let stopping = shared.stopping.clone();
    let handshakes = shared.handshakes.clone();
    let label = name.clone();
    let spawned = thread::Builder::new()
        .name("msgwire-tls-accept".into())
        .spawn(move || {
            match Stream::tls_accept(tcp, &tls, timeout) {
                Ok(stream) => {
                    // Handed out only while `stop` has not taken this
                    // entry: it then joins this thread, so the callback
                    // is over before `stop` returns.
                    let hand_out = !stopping.load(Ordering::SeqCst)
                        && match handshakes.running.lock().get_mut(&id) {
                            Some(entry) => entry.socket.take().is_some(),
                            None => false,
                        };
                    if hand_out {
                        on_accept(Accepted {
                            stream,
                            peer,
                            local,
                            slot,
                        });
                    } else {
                        log::info!("{label}: dropped {peer}: the listener stopped");
                    }
                }
                Err(e) => log::info!("{label}: TLS handshake with {peer} failed: {e}"),
            }
            handshakes.running.lock().remove(&id);
        });
    match spawned {
        Ok(thread) => {
            if let Some(entry) = running.get_mut(&id) {
                entry.thread = Some(thread);
            }
        }
        Err(e) => {
            running.remove(&id);
            log::warn!("{name}: no thread for the handshake with {peer}: {e}");
        }
    }
}
