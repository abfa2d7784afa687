//! One listening socket shared by many passive MSRP sessions (legacy
//! `MSRPServer`).
//!
//! A [`DirectAcceptor`](super::endpoint::DirectAcceptor) owns its listener,
//! so two of them cannot wait on the same port at once. [`MsrpServer`]
//! keeps one listener per `host:port` and sorts incoming connections by the
//! To-Path of their bind SEND:
//!
//! 1. [`prepare`](MsrpServer::prepare) starts a listener for the local URI's
//!    host and port unless one is already running there, registers the URI
//!    as *expected* and returns the full local path to advertise in SDP.
//! 2. Every accepted connection reads its first chunk (the bind SEND, within
//!    [`BindTimeouts::bind`](super::endpoint::BindTimeouts::bind)). If its
//!    To-Path names an expected URI (RFC 4975 §6.1 URI equality, or only the
//!    session id with [`BindOptions::use_sessmatch`]) the connection is
//!    *parked* for that URI, still unanswered; otherwise it is answered
//!    `481 Unknown To-Path` and dropped.
//! 3. [`complete`](MsrpServer::complete) waits (up to
//!    [`BindTimeouts::incoming_connect`](super::endpoint::BindTimeouts::incoming_connect))
//!    for a parked binding whose From-Path is the peer's path, answers it
//!    200 and returns the [`BoundTransport`]. [`complete_for`](MsrpServer::complete_for)
//!    names the local URI too and checks the From-Path exactly as the direct
//!    acceptor does (481 and [`Error::BindMismatch`] on a mismatch).
//!    A successful binding unregisters its local URI: one binding per
//!    `prepare`, like the legacy server.
//! 4. [`cleanup`](MsrpServer::cleanup) unregisters a local URI; bindings
//!    parked for it are answered 481 and dropped, later ones get 481 at once.
//! 5. [`close`](MsrpServer::close) (also run by `Drop`) stops every
//!    listener, drops connections still being bound, wakes every waiting
//!    `complete` with [`Error::Closed`] and joins all the server's threads.
//!    Sessions already returned by `complete` are not affected.
//!
//! # Choices
//!
//! * **Ports.** A local URI without a port or with port 0 asks for "any
//!   port": the first such `prepare` on a host binds a free port, and later
//!   ones on the same host and scheme reuse the listener already running
//!   there (as the legacy server did), so every session of a server can
//!   share one port without the caller carrying it around. An explicit port
//!   reuses the listener on exactly that `host:port`. A listener serves one
//!   scheme: asking for `msrps` on a port that is listening for `msrp` (or
//!   the reverse) fails with [`Error::Listen`] instead of restarting the
//!   listener under the sessions already using it.
//! * **Threads.** One thread per listener blocks in `accept` (no polling:
//!   an idle server costs nothing). Each accepted connection is bound on a
//!   short-lived thread of its own, so one slow or silent peer (or a slow
//!   TLS handshake) cannot hold up the others; those threads end when the
//!   binding is claimed, rejected or times out, and each listener thread
//!   joins its binding threads before it ends. At most
//!   [`MAX_PENDING_BINDINGS`] connections are being bound at once per
//!   server; further ones are closed at once. `close` wakes a listener
//!   blocked in `accept` by connecting to it.
//! * **Unclaimed bindings.** A parked binding that no `complete` claims
//!   within the bind timeout (counted from its connection) is answered 481
//!   and dropped; its peer has given up by then anyway.
//! * **Scale.** Threads suit the hundreds of sessions this is meant for; a
//!   server with tens of thousands of pending bindings wants the poll-based
//!   driver the design describes, and only this module's internals would
//!   change.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::chunk::Chunk;
use super::endpoint::{
    check_bind, complete_local_uri, write_before, BindOptions, BoundTransport, ChunkReader, Error,
};
use super::rules::make_response;
use super::session::SessionPaths;
use super::uri::Uri;
use crate::net::{Stream, TlsServerConfig};

/// How many connections one server binds at the same time (each on its own
/// short-lived thread); connections beyond this are closed when accepted.
pub const MAX_PENDING_BINDINGS: usize = 1024;

/// How long `close` tries to connect to a listener to wake its thread.
const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// Many passive sessions behind shared listening sockets (legacy
/// `MSRPServer`). See the [module docs](self).
///
/// All methods take `&self`; share the server between threads with an
/// [`Arc`]. Dropping it runs [`close`](Self::close).
///
/// ```no_run
/// use msgwire::msrp::server::MsrpServer;
/// use msgwire::msrp::endpoint::MsrpSession;
/// # fn sdp_exchange(_: &[msgwire::msrp::Uri]) -> Vec<msgwire::msrp::Uri> { vec![] }
/// let server = MsrpServer::new(Default::default());
/// let local_path = server.prepare(None)?;
/// let remote_path = sdp_exchange(&local_path);
/// let bound = server.complete(&remote_path)?;
/// let session = MsrpSession::start(bound, Default::default(), |event| println!("{event:?}"))?;
/// # Ok::<(), msgwire::msrp::endpoint::Error>(())
/// ```
pub struct MsrpServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for MsrpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.state.lock();
        f.debug_struct("MsrpServer")
            .field("closed", &st.closed)
            .field(
                "listening",
                &st.listeners
                    .iter()
                    .map(|l| (l.host.as_str(), l.port, l.secure))
                    .collect::<Vec<_>>(),
            )
            .field("expected", &st.expected.keys().collect::<Vec<_>>())
            .finish()
    }
}

struct Shared {
    options: BindOptions,
    state: Mutex<State>,
    /// Signalled when a binding is parked or taken, on cleanup and on close.
    changed: Condvar,
    /// Serialises `close`, so a second caller returns only when the threads
    /// are joined.
    close_lock: Mutex<()>,
}

#[derive(Default)]
struct State {
    closed: bool,
    tls: Option<TlsServerConfig>,
    listeners: Vec<ListenerEntry>,
    /// Registered local URIs and the bindings parked for each.
    expected: HashMap<Uri, Vec<Parked>>,
    /// Handles on the sockets of connections still being bound, so `close`
    /// can unblock their threads.
    binding: HashMap<u64, TcpStream>,
    next_id: u64,
}

struct ListenerEntry {
    /// Lower-cased host, as given in the local URI.
    host: String,
    port: u16,
    secure: bool,
    /// Where to connect to wake the thread blocked in `accept`.
    wake: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

/// A connection whose bind SEND named an expected URI, not yet answered.
struct Parked {
    id: u64,
    stream: Stream,
    ctl: TcpStream,
    reader: ChunkReader,
    chunk: Chunk,
}

/// What `complete` is waiting for.
enum Want<'a> {
    /// Any expected URI; the From-Path must match.
    FromPath(&'a [Uri]),
    /// The binding parked for this URI, whatever its From-Path.
    Local(&'a Uri),
}

impl MsrpServer {
    /// A server with the given options (timeouts, sessmatch). It listens
    /// nowhere until the first [`prepare`](Self::prepare).
    pub fn new(options: BindOptions) -> Self {
        MsrpServer {
            shared: Arc::new(Shared {
                options,
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
                close_lock: Mutex::new(()),
            }),
        }
    }

    /// The TLS server configuration used by listeners of `msrps` local URIs.
    /// Call before the first [`prepare`](Self::prepare).
    /// Connections accepted later use the new configuration.
    pub fn with_tls(self, config: TlsServerConfig) -> Self {
        self.set_tls(config);
        self
    }

    /// Replaces the TLS server configuration of a running server (what
    /// [`with_tls`](Self::with_tls) sets). Listeners already running keep
    /// listening; connections they accept from now on present the new
    /// certificate.
    pub fn set_tls(&self, config: TlsServerConfig) {
        self.shared.state.lock().tls = Some(config);
    }

    /// The options the server was made with.
    pub fn options(&self) -> &BindOptions {
        &self.shared.options
    }

    /// Registers `local_uri` as expected and makes sure a listener runs for
    /// its host and port; returns the full local path to advertise.
    ///
    /// A missing host is [`crate::net::default_ip`] (the default-route
    /// interface's address, or 127.0.0.1 without a route) and a missing
    /// session id a random one. A
    /// missing port or port 0 reuses the listener already running on that
    /// host for the same scheme, or binds a free port; the port in use is
    /// written into the returned URI. Preparing a URI that is already
    /// expected keeps its registration.
    ///
    /// Fails with [`Error::Closed`] after [`close`](Self::close),
    /// [`Error::TlsNotConfigured`] for `msrps` without
    /// [`with_tls`](Self::with_tls), and [`Error::Listen`] when the port
    /// cannot be bound or listens for the other scheme.
    pub fn prepare(&self, local_uri: Option<Uri>) -> Result<Vec<Uri>, Error> {
        let mut uri = complete_local_uri(local_uri);
        let host = uri.host.to_ascii_lowercase();
        let port = uri.port.unwrap_or(0);
        let mut st = self.shared.state.lock();
        if st.closed {
            return Err(Error::Closed);
        }
        if uri.secure && st.tls.is_none() {
            return Err(Error::TlsNotConfigured);
        }
        let existing = st.listeners.iter().find(|l| {
            l.host == host
                && if port == 0 {
                    l.secure == uri.secure
                } else {
                    l.port == port
                }
        });
        match existing {
            Some(l) if l.secure == uri.secure => uri.port = Some(l.port),
            Some(l) => {
                return Err(Error::Listen {
                    target: format!("{}:{}", uri.host, l.port),
                    source: io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "this server already listens there for {}",
                            if l.secure { "msrps" } else { "msrp" }
                        ),
                    ),
                })
            }
            None => {
                let entry = self.shared.listen(&uri, host, port)?;
                uri.port = Some(entry.port);
                st.listeners.push(entry);
            }
        }
        st.expected.entry(uri.clone()).or_default();
        Ok(vec![uri])
    }

    /// Waits for a binding whose From-Path is `full_remote_path` on any
    /// expected local URI, answers its bind SEND 200 and returns it (legacy
    /// `MSRPServer.complete`). The local URI it bound is unregistered.
    ///
    /// Fails with [`Error::IncomingConnectTimeout`] when no such binding
    /// arrives within the incoming-connect timeout, and [`Error::Closed`]
    /// when the server is closed meanwhile.
    pub fn complete(&self, full_remote_path: &[Uri]) -> Result<BoundTransport, Error> {
        if full_remote_path.is_empty() {
            return Err(Error::EmptyPath);
        }
        self.shared
            .claim(Want::FromPath(full_remote_path), full_remote_path)
    }

    /// Waits for the binding of `local_uri` (as returned by
    /// [`prepare`](Self::prepare)) and checks its From-Path against
    /// `full_remote_path` as [`DirectAcceptor`](super::endpoint::DirectAcceptor)
    /// does: a match is answered 200 and returned (and `local_uri`
    /// unregistered); a mismatch is answered 481, dropped, and fails with
    /// [`Error::BindMismatch`] (`local_uri` stays registered).
    ///
    /// Fails with [`Error::Closed`] when `local_uri` is not (or no longer)
    /// expected or the server closes, and [`Error::IncomingConnectTimeout`]
    /// when nothing binds in time.
    pub fn complete_for(
        &self,
        local_uri: &Uri,
        full_remote_path: &[Uri],
    ) -> Result<BoundTransport, Error> {
        if full_remote_path.is_empty() {
            return Err(Error::EmptyPath);
        }
        self.shared.claim(Want::Local(local_uri), full_remote_path)
    }

    /// Unregisters `local_uri`: bindings parked for it are answered 481 and
    /// dropped, and later connections naming it get 481. Unknown URIs are
    /// ignored. The listener keeps running for other sessions.
    pub fn cleanup(&self, local_uri: &Uri) {
        let parked = self.shared.state.lock().expected.remove(local_uri);
        self.shared.changed.notify_all();
        for p in parked.into_iter().flatten() {
            self.shared.reject(p, "Session closed");
        }
    }

    /// The local URIs currently expected.
    pub fn expected(&self) -> Vec<Uri> {
        self.shared.state.lock().expected.keys().cloned().collect()
    }

    /// The addresses the server listens on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        let st = self.shared.state.lock();
        st.listeners
            .iter()
            .map(|l| SocketAddr::new(l.wake.ip(), l.port))
            .collect()
    }

    /// Stops every listener, drops the connections still being bound,
    /// fails waiting `complete` calls with [`Error::Closed`] and joins all
    /// the server's threads. Later `prepare` calls fail with
    /// [`Error::Closed`]. Idempotent.
    pub fn close(&self) {
        self.shared.close();
    }
}

impl Drop for MsrpServer {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl Shared {
    /// Binds a listener and starts its thread. Called with the state locked.
    fn listen(
        self: &Arc<Self>,
        uri: &Uri,
        host: String,
        port: u16,
    ) -> Result<ListenerEntry, Error> {
        let target = format!("{}:{}", uri.host, port);
        let listen_err = |source| Error::Listen {
            target: target.clone(),
            source,
        };
        let listener = TcpListener::bind((uri.host.as_str(), port)).map_err(listen_err)?;
        let addr = listener.local_addr().map_err(listen_err)?;
        let wake_ip = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let secure = uri.secure;
        let shared = self.clone();
        let thread = thread::Builder::new()
            .name("msrp-srv-listen".into())
            .spawn(move || shared.run_listener(listener, secure))
            .map_err(listen_err)?;
        Ok(ListenerEntry {
            host,
            port: addr.port(),
            secure,
            wake: SocketAddr::new(wake_ip, addr.port()),
            thread: Some(thread),
        })
    }

    fn run_listener(self: Arc<Self>, listener: TcpListener, secure: bool) {
        let mut binders: Vec<JoinHandle<()>> = Vec::new();
        loop {
            let accepted = listener.accept();
            if self.state.lock().closed {
                break;
            }
            // Join the binding threads that are done.
            let (done, running): (Vec<_>, Vec<_>) =
                binders.into_iter().partition(JoinHandle::is_finished);
            binders = running;
            for h in done {
                let _ = h.join();
            }
            match accepted {
                Ok((tcp, _)) => {
                    if let Some(h) = self.start_binding(tcp, secure) {
                        binders.push(h);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors and the like: back off a little
                    // instead of spinning.
                    log::warn!("MSRP server: accept failed: {e}");
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
        drop(listener);
        for h in binders {
            let _ = h.join();
        }
    }

    /// Registers an accepted connection and starts its binding thread.
    fn start_binding(self: &Arc<Self>, tcp: TcpStream, secure: bool) -> Option<JoinHandle<()>> {
        let ctl = tcp.try_clone().ok()?;
        let id = {
            let mut st = self.state.lock();
            if st.closed || st.binding.len() >= MAX_PENDING_BINDINGS {
                return None;
            }
            let id = st.next_id;
            st.next_id += 1;
            st.binding.insert(id, ctl.try_clone().ok()?);
            id
        };
        let shared = self.clone();
        let spawned = thread::Builder::new()
            .name("msrp-srv-bind".into())
            .spawn(move || {
                shared.bind_incoming(id, tcp, ctl, secure);
                shared.state.lock().binding.remove(&id);
            });
        match spawned {
            Ok(h) => Some(h),
            Err(e) => {
                log::warn!("MSRP server: no thread to bind a connection: {e}");
                self.state.lock().binding.remove(&id);
                None
            }
        }
    }

    /// Reads the bind SEND of one connection and parks it for its local URI,
    /// or rejects it. Runs on the connection's binding thread.
    fn bind_incoming(&self, id: u64, tcp: TcpStream, ctl: TcpStream, secure: bool) {
        let timeout = self.options.timeouts.bind;
        let deadline = Instant::now() + timeout;
        let tls = self.state.lock().tls.clone();
        let mut stream = match (tls, secure) {
            (Some(tls), true) => match Stream::tls_accept(tcp, &tls, timeout) {
                Ok(s) => s,
                Err(e) => {
                    log::debug!("MSRP server: TLS handshake failed: {e}");
                    return;
                }
            },
            _ => Stream::Tcp(tcp),
        };
        let mut reader = ChunkReader::new();
        let chunk = match reader.read_chunk(&mut stream, &ctl, deadline, timeout) {
            Ok(c) => c,
            Err(e) => {
                log::debug!("MSRP server: no bind request: {e}");
                return;
            }
        };
        if chunk.method() != Some("SEND") {
            log::debug!("MSRP server: unexpected first chunk {}", chunk.first_line());
            return;
        }
        let to = match chunk.to_path() {
            Ok(Some(to)) if !to.is_empty() => to,
            _ => {
                answer(&mut stream, &ctl, &chunk, 400, "Invalid To-Path", timeout);
                return;
            }
        };
        {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            let key = self.lookup(&st, &to);
            let Some(key) = key else {
                drop(st);
                log::debug!("MSRP server: bind for unknown To-Path {}", to[0]);
                answer(&mut stream, &ctl, &chunk, 481, "Unknown To-Path", timeout);
                let _ = ctl.shutdown(Shutdown::Both);
                return;
            };
            if let Some(list) = st.expected.get_mut(&key) {
                list.push(Parked {
                    id,
                    stream,
                    ctl,
                    reader,
                    chunk,
                });
            }
            self.changed.notify_all();
            // Wait until a `complete` takes the binding, `cleanup` or
            // `close` removes it, or it has waited too long.
            loop {
                if st.closed || !is_parked(&st, &key, id) {
                    return;
                }
                if self.changed.wait_until(&mut st, deadline).timed_out() {
                    break;
                }
            }
            let parked = st.expected.get_mut(&key).and_then(|list| {
                let at = list.iter().position(|p| p.id == id)?;
                Some(list.remove(at))
            });
            drop(st);
            if let Some(p) = parked {
                log::debug!("MSRP server: nobody completed the binding for {key}");
                self.reject(p, "No session is waiting for this binding");
            }
        }
    }

    /// The expected URI a bind SEND's To-Path names, if any.
    fn lookup(&self, st: &State, to: &[Uri]) -> Option<Uri> {
        if self.options.use_sessmatch {
            let sid = &to[0].session_id;
            st.expected.keys().find(|u| &u.session_id == sid).cloned()
        } else if to.len() == 1 {
            st.expected.get_key_value(&to[0]).map(|(k, _)| k.clone())
        } else {
            None
        }
    }

    /// Answers a parked binding 481 and drops it.
    fn reject(&self, mut p: Parked, comment: &str) {
        self.state.lock().binding.remove(&p.id);
        answer(
            &mut p.stream,
            &p.ctl,
            &p.chunk,
            481,
            comment,
            self.options.timeouts.bind,
        );
        let _ = p.ctl.shutdown(Shutdown::Both);
    }

    fn claim(&self, want: Want<'_>, full_remote_path: &[Uri]) -> Result<BoundTransport, Error> {
        let timeout = self.options.timeouts.incoming_connect;
        let deadline = Instant::now() + timeout;
        let sessmatch = self.options.use_sessmatch;
        let mut st = self.state.lock();
        let (local_uri, parked, others) = loop {
            if st.closed {
                return Err(Error::Closed);
            }
            let found = match want {
                Want::Local(uri) => {
                    let Some((key, list)) = st.expected.get_key_value(uri) else {
                        return Err(Error::Closed);
                    };
                    (!list.is_empty()).then(|| (key.clone(), 0))
                }
                Want::FromPath(path) => st.expected.iter().find_map(|(key, list)| {
                    let paths = SessionPaths::new(key.clone(), path)?;
                    let at = list
                        .iter()
                        .position(|p| check_bind(&p.chunk, &paths, sessmatch).is_ok())?;
                    Some((key.clone(), at))
                }),
            };
            if let Some((key, at)) = found {
                let list = st.expected.get_mut(&key).expect("found above");
                let parked = list.remove(at);
                let matches = SessionPaths::new(key.clone(), full_remote_path)
                    .is_some_and(|paths| check_bind(&parked.chunk, &paths, sessmatch).is_ok());
                // A successful binding ends the registration; later
                // bindings for the same URI are refused.
                let others = if matches {
                    st.expected.remove(&key).unwrap_or_default()
                } else {
                    Vec::new()
                };
                st.binding.remove(&parked.id);
                break (key, parked, others);
            }
            if Instant::now() >= deadline {
                return Err(Error::IncomingConnectTimeout(timeout));
            }
            self.changed.wait_until(&mut st, deadline);
        };
        drop(st);
        // Wake the binding threads waiting on what was just taken.
        self.changed.notify_all();
        for p in others {
            self.reject(p, "Session already bound");
        }
        self.answer_bind(local_uri, parked, full_remote_path)
    }

    /// Checks a claimed binding and answers it (200, or 481 on a mismatch).
    fn answer_bind(
        &self,
        local_uri: Uri,
        mut p: Parked,
        full_remote_path: &[Uri],
    ) -> Result<BoundTransport, Error> {
        let timeout = self.options.timeouts.bind;
        let deadline = Instant::now() + timeout;
        let paths = SessionPaths::new(local_uri, full_remote_path).ok_or(Error::EmptyPath)?;
        let verdict = check_bind(&p.chunk, &paths, self.options.use_sessmatch);
        let (code, comment) = match &verdict {
            Ok(()) => (200, "OK"),
            Err(Error::BindMismatch(c)) => (481, c.as_str()),
            Err(_) => (400, "Bad request"),
        };
        let written = match make_response(&p.chunk, code, Some(comment)) {
            Ok(Some(r)) => write_before(&mut p.stream, &p.ctl, &r.encode(), deadline, timeout),
            Ok(None) => Ok(()),
            Err(e) => Err(Error::BindUnexpected(e.to_string())),
        };
        if verdict.is_err() || written.is_err() {
            let _ = p.ctl.shutdown(Shutdown::Both);
        }
        verdict?;
        written?;
        let chunk = p.chunk;
        let first_chunk =
            (!chunk.data.is_empty() || chunk.content_type().is_some()).then_some(chunk);
        Ok(BoundTransport::from_parts(
            p.stream,
            p.ctl,
            paths,
            p.reader.into_leftover(),
            first_chunk,
            self.options.use_sessmatch,
        ))
    }

    fn close(&self) {
        let _serial = self.close_lock.lock();
        let (listeners, parked) = {
            let mut st = self.state.lock();
            st.closed = true;
            // Unblock binding threads reading a bind SEND or in a TLS
            // handshake; parked ones wake on the condvar.
            for ctl in st.binding.values() {
                let _ = ctl.shutdown(Shutdown::Both);
            }
            let parked: Vec<Parked> = st.expected.drain().flat_map(|(_, v)| v).collect();
            let listeners: Vec<(SocketAddr, JoinHandle<()>)> = st
                .listeners
                .iter_mut()
                .filter_map(|l| Some((l.wake, l.thread.take()?)))
                .collect();
            (listeners, parked)
        };
        self.changed.notify_all();
        drop(parked);
        for (wake, thread) in listeners {
            match TcpStream::connect_timeout(&wake, WAKE_TIMEOUT) {
                Ok(_) => {
                    let _ = thread.join();
                }
                Err(e) => {
                    // The thread stays blocked in accept; joining it would
                    // hang. It ends with the process.
                    log::warn!("MSRP server: cannot wake the listener on {wake}: {e}");
                }
            }
        }
    }
}

fn is_parked(st: &State, key: &Uri, id: u64) -> bool {
    st.expected
        .get(key)
        .is_some_and(|list| list.iter().any(|p| p.id == id))
}

/// Answers `request` with `code`, best effort (the connection is dropped
/// right after a failure response anyway).
fn answer(
    stream: &mut Stream,
    ctl: &TcpStream,
    request: &Chunk,
    code: u16,
    comment: &str,
    timeout: Duration,
) {
    if let Ok(Some(r)) = make_response(request, code, Some(comment)) {
        let _ = write_before(stream, ctl, &r.encode(), Instant::now() + timeout, timeout);
    }
}
