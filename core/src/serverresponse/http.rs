//! The embedded HTTP GET server and the client.
//!
//! # Server
//!
//! [`Server::bind`] listens (TCP over IPv4 or IPv6, optionally TLS) and
//! serves each connection on one of a fixed pool of worker threads: one
//! request per connection (`Connection: close`), as Bayonne does. A
//! request `GET /<method>.xml?<query>` (the `.xml` suffix is optional) is
//! dispatched to the handler registered for `<method>`, which receives the
//! decoded arguments ([`Request`]) and writes its results through a
//! streaming [`Reply`]. Nothing is buffered beyond 16 KiB, so a handler may
//! stream a table of any length; the reply carries no `Content-Length`
//! and the client reads to end-of-file.
//!
//! Replies start `HTTP/1.1 <code> <reason>` with `Connection: close`,
//! `Server: msgwire/<version>` and `Content-Type: text/xml` (the spec's
//! sample says `Connection-Type`, a typo). HEAD gets the same status and
//! headers without a body.
//!
//! Faults, in Bayonne's shape (`<faults server=… service=…>` with a `code`
//! and a `text` fault):
//!
//! | situation | HTTP status | service |
//! |---|---|---|
//! | unknown method | 404 | `http` |
//! | HTTP method other than GET/HEAD | 405, with `Allow: GET, HEAD` | `http` |
//! | malformed request line or headers | 400 | `http` |
//! | request head over [`ServerConfig::max_head`] | 431 | `http` |
//! | request not complete within [`ServerConfig::read_timeout`] | 408 | `http` |
//! | over [`ServerConfig::max_connections`] | 503 | `http` |
//! | handler [`Fault`] with a code from 400 to 599 | that code | `http` |
//! | handler [`Fault`] with a code below 400 (no HTTP error status) | 500 | `http` |
//! | handler [`Fault`] with a code of 600 or more | 200 | the method |
//!
//! A handler that panics answers a 600 fault; the server carries on. A
//! handler that fails after part of its reply already went out cannot
//! change the status any more: the connection is then cut without closing
//! the document, so the client sees a malformed (not a silently truncated)
//! reply.
//!
//! The built-in `status` method reports msgwire's version, the server's
//! uptime and, per protocol, the connections and sessions open and the
//! bytes in and out ([`crate::net::stats`]). Registering another `status`
//! handler replaces it.
//!
//! ## Limits
//!
//! Every limit is a [`ServerConfig`] field with a safe default: the request
//! head size (8 KiB), a total deadline for reading the request (10 s from
//! the connection, time waiting for a worker included, so a client
//! trickling bytes is cut off and a queue of such clients drains fast),
//! a total deadline for writing the reply (30 s from the end of the
//! request: a client that reads a long table slowly, or stops reading, is
//! cut off and its worker freed), the number of connections accepted
//! at once (256; the next one gets a 503 from a separate thread, so the
//! accept loop never waits on a client), and the number of worker threads
//! (16, so a few slow clients cannot starve the others).
//!
//! ## Shutdown
//!
//! [`Server::shutdown`] (or dropping the server) stops listening, cuts
//! every connection being served and waits up to
//! [`ServerConfig::shutdown_timeout`] (2 s) for the threads. It returns
//! then even if a handler is stuck (waiting for something that never
//! comes): that handler's thread is detached and keeps running until the
//! handler returns (a thread cannot be killed); whatever it writes then
//! goes nowhere, and the thread ends.
//!
//! # Client
//!
//! [`get`] fetches a URL with HTTP/1.0 and reads the reply to end-of-file
//! (or to its `Content-Length` when it has one). An error status whose
//! body is a faults document is not an error: the [`Response`] carries the
//! faults. A body that is not serverResponse, a malformed HTTP reply, a
//! timeout or a connection failure is a [`ClientError`].
//!
//! ```
//! use std::time::Duration;
//! use msgwire::serverresponse::{get, Fault, Server, ServerConfig};
//!
//! let server = Server::bind("127.0.0.1:0", ServerConfig::default())?;
//! server.method("echo", |req, reply| {
//!     let text = req.arg("text").ok_or_else(|| Fault::argument_missing("text"))?;
//!     reply.result("text", text)?;
//!     Ok(())
//! });
//! let url = format!("http://{}/echo.xml?text=hello+world", server.local_addr());
//! let response = get(&url, Duration::from_secs(5))?;
//! assert_eq!(response.find("text"), Some("hello world"));
//!
//! let url = format!("http://{}/echo.xml", server.local_addr());
//! let response = get(&url, Duration::from_secs(5))?;
//! assert_eq!(response.fault_code(), Some(601));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::io::{self, IoSlice, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel as channel;
use parking_lot::{Mutex, RwLock};

use super::doc::{parse_with, ParseConfig, ParseError, Response, WriteError, Writer};
use crate::net::stats::{self, Protocol};
use crate::net::{Stream, Timer, TlsClientConfig, TlsError, TlsServerConfig, WriteHalf};

/// msgwire's version, as sent in the `Server` and `User-Agent` headers.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

// ----------------------------------------------------------------- server

/// A server's settings. Start from [`ServerConfig::default`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The `server` attribute of every document. Default `msgwire`.
    pub server_name: String,
    /// Serve HTTPS with this TLS configuration.
    pub tls: Option<TlsServerConfig>,
    /// Largest request line plus headers, in bytes. Default 8 KiB: a
    /// GET with a long query fits many times over; larger heads get 431.
    pub max_head: usize,
    /// Total time a client has to deliver its request (and, for TLS, the
    /// handshake), however it spreads the bytes, counted from its
    /// connection: waiting for a free worker counts too (a client that
    /// waited longer still gets 1 s once a worker takes it). Default 10 s;
    /// then 408.
    pub read_timeout: Duration,
    /// Total time the reply may take, counted from the end of the
    /// request to the last byte taken by the client, however the client
    /// paces its reading (and however long the handler takes to produce
    /// it). Default 30 s; then the connection is cut (the client sees a
    /// reply cut short, not a complete document) and the worker is free
    /// again, so a client that reads a long table slowly, or not at all,
    /// holds a worker for this long at most.
    pub write_timeout: Duration,
    /// How long [`Server::shutdown`] (and dropping the server) waits for
    /// the worker threads once every connection is cut. A handler that
    /// still has not returned then (it waits on something that never
    /// comes) is left running on its detached thread until it returns,
    /// as threads cannot be killed; its connection is already closed to
    /// the client. Default 2 s.
    pub shutdown_timeout: Duration,
    /// Most connections accepted and not yet finished (queued or being
    /// served). Default 256; the next one gets a 503 fault.
    pub max_connections: usize,
    /// Worker threads serving connections. Default 16: a few slow clients
    /// (each held at most `read_timeout`) cannot starve the others.
    pub workers: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            server_name: "msgwire".to_string(),
            tls: None,
            max_head: 8 * 1024,
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(2),
            max_connections: 256,
            workers: 16,
        }
    }
}

/// A request as a handler sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The serverResponse method: the path without its `/` and `.xml`.
    pub method: String,
    /// The query arguments in order, percent-decoded (`+` is a space);
    /// repeated keys are all kept.
    pub args: Vec<(String, String)>,
    /// Whether this is a HEAD request (the reply body is discarded).
    pub head: bool,
    /// The client's address.
    pub peer: Option<SocketAddr>,
}

impl Request {
    /// The first value of argument `key`.
    pub fn arg(&self, key: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of argument `key`, in order.
    pub fn args_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.args
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// An application fault a handler returns.
///
/// Codes below 600 are HTTP statuses (service `http`; a code below 400,
/// which is no HTTP error status, is sent with status 500 and keeps its
/// code in the document); 600 and up are serverResponse application
/// faults sent with HTTP 200 under the method's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fault {code}: {text}")]
pub struct Fault {
    /// The fault code.
    pub code: u32,
    /// A description.
    pub text: String,
}

impl Fault {
    /// The command failed.
    pub const COMMAND_FAILED: u32 = 600;
    /// A required argument is missing.
    pub const ARGUMENT_MISSING: u32 = 601;
    /// The session named by the request is not valid.
    pub const SESSION_INVALID: u32 = 602;

    /// A fault with any code.
    pub fn new(code: u32, text: impl Into<String>) -> Fault {
        Fault {
            code,
            text: text.into(),
        }
    }

    /// A 600 fault.
    pub fn command_failed(text: impl Into<String>) -> Fault {
        Fault::new(Fault::COMMAND_FAILED, text)
    }

    /// A 601 fault naming the missing argument.
    pub fn argument_missing(name: &str) -> Fault {
        Fault::new(Fault::ARGUMENT_MISSING, format!("argument missing: {name}"))
    }

    /// A 602 fault.
    pub fn session_invalid(text: impl Into<String>) -> Fault {
        Fault::new(Fault::SESSION_INVALID, text)
    }
}

impl From<WriteError> for Fault {
    /// A failed write becomes a 600 fault (if the client is gone, nobody
    /// reads it anyway).
    fn from(e: WriteError) -> Fault {
        Fault::command_failed(e.to_string())
    }
}

/// The streaming writer a handler answers through.
pub type Reply = Writer<ReplySink>;

/// Handles one method; runs on a worker thread, may take its time (the
/// worker is its own) and may be called concurrently for different
/// requests.
pub type Handler = Arc<dyn Fn(&Request, &mut Reply) -> Result<(), Fault> + Send + Sync>;

/// Where a [`Reply`] goes: the HTTP head (sent before the first body
/// byte, or at the end) and the body, buffered up to 16 KiB.
pub struct ReplySink {
    out: Outgoing,
    head: Option<Vec<u8>>,
    buf: Vec<u8>,
    head_only: bool,
    /// Bytes have reached the connection: the status is decided.
    committed: bool,
    sent: usize,
}

impl std::fmt::Debug for ReplySink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplySink")
            .field("committed", &self.committed)
            .field("buffered", &self.buf.len())
            .finish_non_exhaustive()
    }
}

impl ReplySink {
    fn push(&mut self) -> io::Result<()> {
        let head = self.head.take().unwrap_or_default();
        let mut slices = [IoSlice::new(&head), IoSlice::new(&self.buf)];
        let total = head.len() + self.buf.len();
        if total > 0 {
            self.committed = true;
            self.out.write_all_slices(&mut slices)?;
            self.sent += total;
        }
        self.buf.clear();
        Ok(())
    }
}

impl Write for ReplySink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.head_only {
            self.buf.extend_from_slice(data);
            if self.buf.len() >= SINK_BUFFER {
                self.push()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.push()?;
        self.out.half.flush()
    }
}

/// The writing side of a connection being served, bounded by the reply's
/// total deadline ([`ServerConfig::write_timeout`]).
struct Outgoing {
    half: WriteHalf,
    /// The socket, to bound each blocking write by the time left.
    ctl: Arc<TcpStream>,
    deadline: Instant,
}

impl Outgoing {
    /// Writes everything before the deadline, or fails with `TimedOut`.
    /// (Over TLS a write may loop inside the TLS layer, with the timeout
    /// set before it; a timer cuts the socket at the deadline there, see
    /// `Shared::serve`.)
    fn write_all_slices(&mut self, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
        while slices.iter().any(|s| !s.is_empty()) {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::TimedOut.into());
            }
            self.ctl.set_write_timeout(Some(left.max(MIN_TIMEOUT)))?;
            match self.half.write_vectored(slices) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut slices, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Err(io::ErrorKind::TimedOut.into())
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A listening serverResponse server; see the [module docs](self).
/// Dropping it shuts it down.
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Disconnected once every thread has ended: each holds a sender
    /// until it returns, so shutdown can wait for them with a deadline.
    finished: channel::Receiver<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

struct Shared {
    config: ServerConfig,
    handlers: RwLock<HashMap<String, Handler>>,
    closed: AtomicBool,
    /// Connections accepted and not finished.
    active: AtomicUsize,
    /// Sockets being served, to cut them at shutdown.
    live: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
    started: Instant,
    requests: AtomicU64,
    /// Stops reading TLS requests at their deadline (see `serve`); the
    /// server's own, so its thread ends with the server.
    watchdog: Option<Timer>,
}

struct Job {
    tcp: TcpStream,
    peer: SocketAddr,
    /// When it was accepted: the client's time to send its request counts
    /// from here, also while it waits for a worker.
    accepted: Instant,
    /// Counted in `active` (the 503 path is not).
    counted: bool,
}

impl Server {
    /// Listens on `addr` (port 0: any free port, see
    /// [`local_addr`](Self::local_addr)) and starts the worker threads.
    /// The built-in `status` method is registered.
    pub fn bind(addr: impl ToSocketAddrs, config: ServerConfig) -> io::Result<Server> {
        let listener = TcpListener::bind(addr)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            handlers: RwLock::new(HashMap::new()),
            closed: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            started: Instant::now(),
            requests: AtomicU64::new(0),
            watchdog: match config.tls {
                Some(_) => Some(Timer::new()?),
                None => None,
            },
            config,
        });
        let weak = Arc::downgrade(&shared);
        shared.handlers.write().insert(
            "status".to_string(),
            Arc::new(move |_req: &Request, reply: &mut Reply| {
                let Some(shared) = weak.upgrade() else {
                    return Err(Fault::command_failed("server stopped"));
                };
                write_status(
                    reply,
                    shared.started,
                    shared.requests.load(Ordering::Relaxed),
                )?;
                Ok(())
            }),
        );
        let (done_tx, finished) = channel::bounded::<()>(0);
        let server = Server {
            shared: shared.clone(),
            addr,
            threads: Mutex::new(Vec::new()),
            finished,
        };
        let (jobs_tx, jobs_rx) = channel::unbounded::<Job>();
        let (reject_tx, reject_rx) = channel::bounded::<Job>(REJECT_QUEUE);
        let mut threads = server.threads.lock();
        // Each thread holds a clone of `done_tx` until it returns.
        let spawn = |name: String, body: Box<dyn FnOnce() + Send>| {
            let done = done_tx.clone();
            thread::Builder::new().name(name).spawn(move || {
                let _done = done;
                body();
            })
        };
        // Serves the jobs of `rx` (`overloaded`: with a 503) until the
        // accept loop ends.
        let serving = |rx: channel::Receiver<Job>, overloaded: bool| {
            let sh = shared.clone();
            Box::new(move || {
                for job in rx {
                    sh.serve(job, overloaded);
                }
            })
        };
        for i in 0..shared.config.workers.max(1) {
            threads.push(spawn(
                format!("msgwire-sr-worker-{i}"),
                serving(jobs_rx.clone(), false),
            )?);
        }
        threads.push(spawn("msgwire-sr-reject".into(), serving(reject_rx, true))?);
        let sh = shared.clone();
        threads.push(spawn(
            "msgwire-sr-listen".into(),
            Box::new(move || {
                sh.accept_loop(listener, jobs_tx, reject_tx);
                // Connections still queued (every worker busy, maybe
                // stuck in a handler) are closed now, not when a worker
                // comes back.
                jobs_rx.try_iter().for_each(drop);
            }),
        )?);
        drop(threads);
        Ok(server)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Registers (or replaces) the handler of `method` (`status` serves
    /// `/status.xml`).
    pub fn method<F>(&self, method: &str, handler: F)
    where
        F: Fn(&Request, &mut Reply) -> Result<(), Fault> + Send + Sync + 'static,
    {
        self.shared
            .handlers
            .write()
            .insert(method.to_string(), Arc::new(handler));
    }

    /// Removes the handler of `method`; returns whether there was one.
    pub fn remove_method(&self, method: &str) -> bool {
        self.shared.handlers.write().remove(method).is_some()
    }

    /// The methods served, sorted.
    pub fn methods(&self) -> Vec<String> {
        let mut v: Vec<String> = self.shared.handlers.read().keys().cloned().collect();
        v.sort();
        v
    }

    /// Stops listening, cuts the connections being served and joins every
    /// thread, waiting at most [`ServerConfig::shutdown_timeout`] for them:
    /// the thread of a handler that has not returned by then is detached
    /// (see the [module docs](self#shutdown)). The port is free when this
    /// returns. Calling it again does nothing.
    pub fn shutdown(&self) {
        if self.shared.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let wake = match self.addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let _ = TcpStream::connect_timeout(
            &SocketAddr::new(wake, self.addr.port()),
            Duration::from_secs(1),
        );
        for tcp in self.shared.live.lock().values() {
            let _ = tcp.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + self.shared.config.shutdown_timeout;
        // Every thread gone: the channel disconnects. A message never
        // comes (nobody sends), so any other outcome is the deadline.
        let all_done = matches!(
            self.finished.recv_deadline(deadline),
            Err(channel::RecvTimeoutError::Disconnected)
        );
        let threads: Vec<JoinHandle<()>> = self.threads.lock().drain(..).collect();
        let mut stuck = 0;
        for t in threads {
            if all_done || t.is_finished() {
                let _ = t.join();
            } else {
                // Detached: it ends when its handler returns.
                stuck += 1;
            }
        }
        if stuck > 0 {
            log::warn!(
                "serverResponse server {}: {stuck} handler(s) still running after shutdown; \
                 left to finish on their own",
                self.addr
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Shared {
    fn accept_loop(
        &self,
        listener: TcpListener,
        jobs: channel::Sender<Job>,
        reject: channel::Sender<Job>,
    ) {
        loop {
            let accepted = listener.accept();
            if self.closed.load(Ordering::SeqCst) {
                break;
            }
            match accepted {
                Ok((tcp, peer)) => {
                    let active = self.active.load(Ordering::SeqCst);
                    if active >= self.config.max_connections {
                        // Over the limit: a separate thread answers 503;
                        // when even its queue is full the connection is
                        // just closed. Either way accepting goes on.
                        let _ = reject.try_send(Job {
                            tcp,
                            peer,
                            accepted: Instant::now(),
                            counted: false,
                        });
                        continue;
                    }
                    self.active.fetch_add(1, Ordering::SeqCst);
                    if jobs
                        .send(Job {
                            tcp,
                            peer,
                            accepted: Instant::now(),
                            counted: true,
                        })
                        .is_err()
                    {
                        self.active.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("serverResponse server: accept failed: {e}");
                    thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Serves one connection; `overloaded` answers 503 whatever was asked.
    fn serve(&self, job: Job, overloaded: bool) {
        let Job {
            tcp,
            peer,
            accepted,
            counted,
        } = job;
        let _active = counted.then(|| ActiveGuard(&self.active));
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let counters = stats::counters(Protocol::ServerResponse);
        let _open = counters.open_connection();
        let Ok(ctl) = tcp.try_clone() else {
            return;
        };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(c) = tcp.try_clone() {
            self.live.lock().insert(id, c);
        }
        if self.closed.load(Ordering::SeqCst) {
            let _ = ctl.shutdown(Shutdown::Both);
        }
        let read_budget = if overloaded {
            self.config.read_timeout.min(OVERLOAD_READ)
        } else {
            self.config.read_timeout
        };
        // The budget counts from the connection, so clients that never
        // finish cannot each hold a worker for a whole budget after
        // waiting in the queue (with every worker busy, the queue would
        // drain one budget per worker at a time). Whoever waited longer
        // than its budget still gets a short grace from now: a request
        // already sent is read at once.
        let now = Instant::now();
        let deadline = (accepted + read_budget).max(now + read_budget.min(QUEUED_GRACE));
        let stream = match &self.config.tls {
            None => Stream::Tcp(tcp),
            Some(tls) => match Stream::tls_accept(tcp, tls, deadline - now) {
                Ok(s) => s,
                Err(e) => {
                    log::debug!("serverResponse server: TLS handshake with {peer} failed: {e}");
                    self.live.lock().remove(&id);
                    return;
                }
            },
        };
        // Over TLS a read waits for a whole TLS record, however long the
        // client takes to trickle it in, so the per-read socket timeouts
        // of `read_head` cannot enforce the deadline alone: a timer stops
        // the reading at the deadline (the reply still goes out).
        // Likewise a TLS write loops inside the TLS layer, so the reply's
        // deadline is enforced there by a timer that cuts the socket.
        let tls = matches!(stream, Stream::Tls(_));
        let ctl = Arc::new(ctl);
        let result = stream.split().map(|split| {
            let mut reader = split.reader;
            let watchdog = tls.then(|| self.watchdog(&ctl, deadline, Shutdown::Read));
            let head = read_head(&mut reader, &ctl, deadline, self.config.max_head);
            drop(watchdog);
            if let Ok(Some(h)) = &head {
                counters.add_in(h.len());
            }
            // The reply's deadline counts from the end of the request.
            let write_deadline = Instant::now() + self.config.write_timeout;
            let _watchdog = tls.then(|| self.watchdog(&ctl, write_deadline, Shutdown::Both));
            let out = Outgoing {
                half: split.writer,
                ctl: ctl.clone(),
                deadline: write_deadline,
            };
            let (sent, mut out) = self.answer(head, overloaded, peer, out);
            counters.add_out(sent);
            if Instant::now() < write_deadline {
                let _ = out.half.flush();
                let _ = out.half.shutdown();
            }
        });
        if let Err(e) = result {
            log::debug!("serverResponse server: cannot serve {peer}: {e}");
        }
        self.live.lock().remove(&id);
    }

    /// Shuts `sock` down (`how`) at `deadline` unless the returned guard
    /// is dropped first. The server's timer exists only with TLS.
    ///
    /// (The timer drops a cancelled callback only later: the socket it
    /// would stop is held in a slot emptied on cancelling, so no file
    /// descriptor outlives the connection.)
    fn watchdog(&self, sock: &TcpStream, deadline: Instant, how: Shutdown) -> Option<Watchdog> {
        let timer = self.watchdog.as_ref()?;
        let slot = Arc::new(Mutex::new(Some(sock.try_clone().ok()?)));
        let armed = slot.clone();
        let handle = timer.schedule(deadline, move || {
            if let Some(sock) = armed.lock().take() {
                let _ = sock.shutdown(how);
            }
        });
        Some(Watchdog { handle, slot })
    }

    /// Answers a request head; returns the bytes sent and the writing
    /// half back.
    fn answer(
        &self,
        head: Result<Option<Vec<u8>>, HeadError>,
        overloaded: bool,
        peer: SocketAddr,
        mut out: Outgoing,
    ) -> (usize, Outgoing) {
        let head = match head {
            Ok(Some(h)) => h,
            // Closed before sending anything: nobody to answer.
            Ok(None) | Err(HeadError::Io) => return (0, out),
            Err(HeadError::Timeout) => return (self.http_fault(&mut out, 408, &[], false), out),
            Err(HeadError::TooLarge) => return (self.http_fault(&mut out, 431, &[], false), out),
            Err(HeadError::Malformed) => return (self.http_fault(&mut out, 400, &[], false), out),
        };
        let parsed = match parse_request(&head) {
            Ok(p) => p,
            Err(()) => return (self.http_fault(&mut out, 400, &[], false), out),
        };
        let head_only = parsed.http_method == "HEAD";
        if overloaded {
            return (self.http_fault(&mut out, 503, &[], head_only), out);
        }
        if !head_only && parsed.http_method != "GET" {
            let n = self.http_fault(&mut out, 405, &[("Allow", "GET, HEAD")], false);
            return (n, out);
        }
        let Some((method, args)) = parsed.target else {
            return (self.http_fault(&mut out, 404, &[], head_only), out);
        };
        let handler = self.handlers.read().get(&method).cloned();
        let Some(handler) = handler else {
            return (self.http_fault(&mut out, 404, &[], head_only), out);
        };
        self.requests.fetch_add(1, Ordering::Relaxed);
        let _session = stats::counters(Protocol::ServerResponse).open_session();
        let request = Request {
            method,
            args,
            head: head_only,
            peer: Some(peer),
        };
        let sink = ReplySink {
            out,
            head: Some(http_head(200, "OK", &[])),
            buf: Vec::with_capacity(SINK_BUFFER + 256),
            head_only,
            committed: false,
            sent: 0,
        };
        let mut reply = Writer::new(sink, &self.config.server_name, &request.method);
        let outcome = catch_unwind(AssertUnwindSafe(|| handler(&request, &mut reply)))
            .unwrap_or_else(|_| {
                Err(Fault::command_failed(
                    "internal error: the handler panicked",
                ))
            });
        let outcome = outcome.and_then(|()| reply.finish().map_err(Fault::from));
        let mut sink = reply.into_inner();
        let sent = match outcome {
            Ok(()) => sink.sent,
            Err(fault) if !sink.committed => {
                sink.head = None;
                sink.buf.clear();
                let (status, service) = match fault.code {
                    400..=599 => (fault.code as u16, "http"),
                    // Not an HTTP error status: as a status line it would
                    // be malformed (below 100), not final (1xx) or read
                    // without its body (204, 304).
                    0..=399 => (500, "http"),
                    _ => (200, request.method.as_str()),
                };
                let reason = reason_phrase(status);
                let doc = Response::fault(
                    self.config.server_name.clone(),
                    service,
                    fault.code,
                    fault.text,
                );
                self.send_document(&mut sink.out, status, reason, &[], &doc, head_only)
            }
            Err(fault) => {
                log::warn!(
                    "serverResponse server: method {} failed after replying in part ({fault}); \
                     cutting the connection",
                    request.method
                );
                let _ = sink.out.ctl.shutdown(Shutdown::Both);
                sink.sent
            }
        };
        (sent, sink.out)
    }

    /// A fault of the HTTP layer (service `http`, text the reason).
    fn http_fault(
        &self,
        out: &mut Outgoing,
        status: u16,
        extra: &[(&str, &str)],
        head_only: bool,
    ) -> usize {
        let reason = reason_phrase(status);
        let doc = Response::fault(
            self.config.server_name.clone(),
            "http",
            u32::from(status),
            reason,
        );
        self.send_document(out, status, reason, extra, &doc, head_only)
    }

    fn send_document(
        &self,
        out: &mut Outgoing,
        status: u16,
        reason: &str,
        extra: &[(&str, &str)],
        doc: &Response,
        head_only: bool,
    ) -> usize {
        let head = http_head(status, reason, extra);
        let body = if head_only { Vec::new() } else { doc.to_xml() };
        let mut slices = [IoSlice::new(&head), IoSlice::new(&body)];
        match out.write_all_slices(&mut slices) {
            Ok(()) => head.len() + body.len(),
            Err(_) => 0,
        }
    }
}

struct ActiveGuard<'a>(&'a AtomicUsize);

/// An armed [`Shared::watchdog`]; dropping it disarms it.
struct Watchdog {
    handle: crate::net::TimerHandle,
    slot: Arc<Mutex<Option<TcpStream>>>,
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.handle.cancel();
        self.slot.lock().take();
    }
}

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn write_status(reply: &mut Reply, started: Instant, requests: u64) -> Result<(), WriteError> {
    reply.result("version", VERSION)?;
    reply.result("uptime", &started.elapsed().as_secs().to_string())?;
    reply.result("requests", &requests.to_string())?;
    reply.begin_lists("protocols")?;
    for p in Protocol::ALL {
        let s = stats::snapshot(p);
        reply.begin_row("protocol")?;
        reply.item("name", p.name())?;
        reply.item("connections", &s.connections_open.to_string())?;
        reply.item("sessions", &s.sessions_open.to_string())?;
        reply.item("bytes_in", &s.bytes_in.to_string())?;
        reply.item("bytes_out", &s.bytes_out.to_string())?;
        reply.end_row()?;
    }
    reply.end_lists()
}

fn http_head(status: u16, reason: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut h = format!(
        "HTTP/1.1 {status} {reason}\r\nConnection: close\r\nServer: msgwire/{VERSION}\r\n\
         Content-Type: text/xml\r\n"
    );
    for (k, v) in extra {
        h.push_str(k);
        h.push_str(": ");
        h.push_str(v);
        h.push_str("\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

/// The reason phrase of a status.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => match status / 100 {
            1 => "Informational",
            2 => "Success",
            3 => "Redirection",
            4 => "Client Error",
            _ => "Server Error",
        },
    }
}

enum HeadError {
    Timeout,
    TooLarge,
    Malformed,
    Io,
}

/// Reads up to the end of the request head within the deadline.
/// `Ok(None)`: the client closed without sending anything.
fn read_head(
    reader: &mut impl Read,
    ctl: &TcpStream,
    deadline: Instant,
    max: usize,
) -> Result<Option<Vec<u8>>, HeadError> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(HeadError::Timeout);
        }
        let _ = ctl.set_read_timeout(Some((deadline - now).max(MIN_TIMEOUT)));
        let want = chunk.len().min(max + 1 - buf.len());
        let read = reader.read(&mut chunk[..want]);
        // Reading stopped by the deadline (see `serve`) is a timeout,
        // whatever way the reader reports it.
        if !matches!(read, Ok(n) if n > 0) && Instant::now() >= deadline {
            return Err(HeadError::Timeout);
        }
        match read {
            Ok(0) if buf.is_empty() => return Ok(None),
            Ok(0) => return Err(HeadError::Malformed),
            Ok(n) => {
                let from = buf.len().saturating_sub(3);
                buf.extend_from_slice(&chunk[..n]);
                if let Some(end) = head_end(&buf, from) {
                    buf.truncate(end);
                    return Ok(Some(buf));
                }
                if buf.len() > max {
                    return Err(HeadError::TooLarge);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(HeadError::Timeout)
            }
            Err(_) => return Err(HeadError::Io),
        }
    }
}

/// The end of the head (after the blank line), searching from `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(p) = memchr::memchr(b'\n', &buf[i..]) {
        let nl = i + p;
        let rest = &buf[nl + 1..];
        if rest.first() == Some(&b'\n') {
            return Some(nl + 2);
        }
        if rest.starts_with(b"\r\n") {
            return Some(nl + 3);
        }
        i = nl + 1;
    }
    None
}

struct ParsedRequest {
    http_method: String,
    /// The serverResponse method and arguments; `None` when the path names
    /// no method.
    target: Option<(String, Vec<(String, String)>)>,
}

/// Parses a request head (request line and headers; the header values are
/// not needed, only their syntax is checked).
fn parse_request(head: &[u8]) -> Result<ParsedRequest, ()> {
    let text = std::str::from_utf8(head).map_err(|_| ())?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(())?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(());
    };
    if method.is_empty() || !method.bytes().all(is_tchar) {
        return Err(());
    }
    let v = version.strip_prefix("HTTP/").ok_or(())?;
    let vb = v.as_bytes();
    if !(vb.len() == 3 && vb[0].is_ascii_digit() && vb[1] == b'.' && vb[2].is_ascii_digit()) {
        return Err(());
    }
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, _value) = line.split_once(':').ok_or(())?;
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(());
        }
    }
    // Absolute form: drop the scheme and authority.
    let path = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        match rest.find('/') {
            Some(i) => &rest[i..],
            None => "/",
        }
    } else {
        target
    };
    if !path.starts_with('/') && path != "*" {
        return Err(());
    }
    if path.bytes().any(|b| b <= b' ' || b == 0x7F) {
        return Err(());
    }
    let path = path.split('#').next().unwrap_or("");
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, q),
        None => (path, ""),
    };
    let name = path.strip_prefix('/').unwrap_or(path);
    let name = name.strip_suffix(".xml").unwrap_or(name);
    let name = percent_decode(name, false).ok_or(())?;
    let args = parse_query(query).ok_or(())?;
    let target = if name.is_empty() || name.contains('/') {
        None
    } else {
        Some((name, args))
    };
    Ok(ParsedRequest {
        http_method: method.to_string(),
        target,
    })
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Splits a query into decoded pairs (`+` is a space; a key without `=`
/// has an empty value). `None` if a decoded part is not UTF-8.
pub fn parse_query(query: &str) -> Option<Vec<(String, String)>> {
    let mut args = Vec::new();
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        args.push((percent_decode(k, true)?, percent_decode(v, true)?));
    }
    Some(args)
}

/// Percent-decodes (a `%` not followed by two hex digits stays as is);
/// with `plus`, `+` becomes a space. `None` if the result is not UTF-8.
fn percent_decode(s: &str, plus: bool) -> Option<String> {
    if !s.bytes().any(|b| b == b'%' || (plus && b == b'+')) {
        return Some(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Percent-encodes a query key or value (unreserved characters stay).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

// ----------------------------------------------------------------- client

/// Settings of [`get_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GetOptions {
    /// Total time for connecting, sending and reading the whole reply.
    pub timeout: Duration,
    /// TLS settings for `https://` URLs (required for them: msgwire ships
    /// no CA roots).
    pub tls: Option<TlsClientConfig>,
    /// Limits of the document parser; its `max_size` (plus 64 KiB for the
    /// HTTP head, itself limited to 64 KiB) also bounds how much is read.
    pub parse: ParseConfig,
}

impl Default for GetOptions {
    fn default() -> Self {
        GetOptions {
            timeout: Duration::from_secs(10),
            tls: None,
            parse: ParseConfig::default(),
        }
    }
}

impl GetOptions {
    /// The defaults with another timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The defaults with TLS settings for `https://`.
    pub fn with_tls(mut self, tls: TlsClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// Why [`get`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `http://host[:port]/path[?query]` (or `https://`).
    /// A bug in the caller.
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// No connection could be made (refused, unreachable, name not
    /// found). May succeed later.
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    /// The TLS handshake failed, or `https://` without TLS settings.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// The connection failed while talking.
    #[error("I/O error: {0}")]
    Io(io::Error),
    /// The whole exchange did not finish within the timeout.
    #[error("timed out")]
    Timeout,
    /// The reply is not valid HTTP (or is larger than allowed).
    #[error("invalid HTTP reply: {0}")]
    BadReply(String),
    /// An HTTP error status whose body is not a serverResponse document.
    #[error("HTTP {status} {reason}")]
    Http {
        /// The status code.
        status: u16,
        /// The reason phrase.
        reason: String,
    },
    /// A success status whose body is not a serverResponse document.
    #[error("HTTP {status}: {error}")]
    Document {
        /// The status code.
        status: u16,
        /// Why the body was refused.
        error: ParseError,
    },
}

/// Fetches `url` with a total `timeout`; see the [module docs](self).
pub fn get(url: &str, timeout: Duration) -> Result<Response, ClientError> {
    get_with(url, &GetOptions::default().with_timeout(timeout))
}

/// Fetches `url` with explicit settings.
pub fn get_with(url: &str, options: &GetOptions) -> Result<Response, ClientError> {
    let deadline = Instant::now() + options.timeout;
    let url = Url::parse(url)?;
    let tls = match (url.tls, &options.tls) {
        (false, _) => None,
        (true, Some(tls)) => Some(tls),
        (true, None) => return Err(ClientError::BadUrl("https:// needs TLS settings".into())),
    };
    let tcp = connect(&url.host, url.port, deadline)?;
    let ctl = tcp.try_clone().map_err(ClientError::Io)?;
    let _ = tcp.set_nodelay(true);
    let mut stream = match tls {
        Some(tls) => Stream::tls_connect(tcp, tls, &url.host, remaining(deadline)?)?,
        None => Stream::Tcp(tcp),
    };
    let host_header = if url.default_port {
        url.host_for_header()
    } else {
        format!("{}:{}", url.host_for_header(), url.port)
    };
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {host_header}\r\nUser-Agent: msgwire/{VERSION}\r\n\
         Accept: text/xml\r\n\r\n",
        url.path
    );
    let _ = ctl.set_write_timeout(Some(remaining(deadline)?));
    stream
        .write_all(request.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| io_or_timeout(e, deadline))?;
    let limit = options.parse.max_size.saturating_add(64 * 1024);
    let mut data = Vec::with_capacity(8 * 1024);
    let mut chunk = vec![0u8; 64 * 1024];
    let mut body_at: Option<(usize, Head)> = None;
    loop {
        if let Some((start, head)) = &body_at {
            if let Some(len) = head.content_length {
                if (data.len() - start) as u64 >= len {
                    data.truncate(start + len as usize);
                    break;
                }
            }
        }
        ctl.set_read_timeout(Some(remaining(deadline)?))
            .map_err(ClientError::Io)?;
        let n = match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_or_timeout(e, deadline)),
        };
        // Search only what is new (and the 3 bytes before it, where the
        // blank line may start): scanning from 0 each time made a head
        // that never ends cost quadratic time.
        let from = data.len().saturating_sub(3);
        data.extend_from_slice(&chunk[..n]);
        if data.len() as u64 > limit {
            return Err(ClientError::BadReply(format!(
                "reply larger than {limit} bytes"
            )));
        }
        if body_at.is_none() {
            match head_end(&data, from) {
                Some(end) if end <= MAX_REPLY_HEAD => {
                    body_at = Some((end, parse_reply_head(&data[..end])?));
                }
                None if data.len() <= MAX_REPLY_HEAD => {}
                _ => {
                    return Err(ClientError::BadReply(format!(
                        "reply head larger than {MAX_REPLY_HEAD} bytes"
                    )))
                }
            }
        }
    }
    let (start, head) = match body_at {
        Some(b) => b,
        None if data.is_empty() => {
            return Err(ClientError::BadReply("the server sent nothing".into()))
        }
        None => return Err(ClientError::BadReply("incomplete reply head".into())),
    };
    if let Some(len) = head.content_length {
        if ((data.len() - start) as u64) < len {
            return Err(ClientError::BadReply(format!(
                "body shorter than its Content-Length ({len})"
            )));
        }
    }
    match parse_with(&data[start..], &options.parse) {
        Ok(doc) => Ok(doc),
        Err(error) if (200..300).contains(&head.status) => Err(ClientError::Document {
            status: head.status,
            error,
        }),
        Err(_) => Err(ClientError::Http {
            status: head.status,
            reason: head.reason,
        }),
    }
}

fn remaining(deadline: Instant) -> Result<Duration, ClientError> {
    let now = Instant::now();
    if now >= deadline {
        Err(ClientError::Timeout)
    } else {
        Ok((deadline - now).max(MIN_TIMEOUT))
    }
}

fn io_or_timeout(e: io::Error, deadline: Instant) -> ClientError {
    if matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    ) || Instant::now() >= deadline
    {
        ClientError::Timeout
    } else {
        ClientError::Io(e)
    }
}

fn connect(host: &str, port: u16, deadline: Instant) -> Result<TcpStream, ClientError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(ClientError::Connect)?
        .collect();
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}"));
    for a in addrs {
        match TcpStream::connect_timeout(&a, remaining(deadline)?) {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => return Err(ClientError::Timeout),
            Err(e) => last = e,
        }
    }
    Err(ClientError::Connect(last))
}

struct Head {
    status: u16,
    reason: String,
    content_length: Option<u64>,
}

fn parse_reply_head(head: &[u8]) -> Result<Head, ClientError> {
    let bad = |why: &str| ClientError::BadReply(why.to_string());
    let text = std::str::from_utf8(head).map_err(|_| bad("head not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let status_line = lines.next().ok_or_else(|| bad("no status line"))?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/") {
        return Err(bad("not an HTTP status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..1000).contains(s))
        .ok_or_else(|| bad("invalid status code"))?;
    let reason = parts.next().unwrap_or("").to_string();
    let mut content_length = None;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| bad("header line without a colon"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: u64 = value.parse().map_err(|_| bad("invalid Content-Length"))?;
            if content_length.is_some_and(|c| c != n) {
                return Err(bad("conflicting Content-Length headers"));
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && !value.eq_ignore_ascii_case("identity")
        {
            return Err(bad("a transfer encoding in a reply to HTTP/1.0"));
        }
    }
    Ok(Head {
        status,
        reason,
        content_length,
    })
}

struct Url {
    tls: bool,
    host: String,
    port: u16,
    default_port: bool,
    /// Path and query, as sent.
    path: String,
}

impl Url {
    fn parse(url: &str) -> Result<Url, ClientError> {
        let bad = || ClientError::BadUrl(url.to_string());
        let (tls, rest) = if let Some(r) = strip_prefix_ci(url, "http://") {
            (false, r)
        } else if let Some(r) = strip_prefix_ci(url, "https://") {
            (true, r)
        } else {
            return Err(bad());
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') || path.bytes().any(|b| b <= b' ' || b == 0x7F) {
            return Err(bad());
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(bad)?;
            h.parse::<Ipv6Addr>().map_err(|_| bad())?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(bad)?),
            };
            (h.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (authority.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(bad());
        }
        let default = if tls { 443 } else { 80 };
        let port = match port {
            None | Some("") => default,
            Some(p) => p.parse().map_err(|_| bad())?,
        };
        Ok(Url {
            tls,
            host,
            port,
            default_port: port == default,
            path,
        })
    }

    fn host_for_header(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// The largest reply head (status line and headers) the client reads.
const MAX_REPLY_HEAD: usize = 64 * 1024;
/// What the sink buffers before writing: 16 KiB, a few TCP segments.
const SINK_BUFFER: usize = 16 * 1024;
/// Connections waiting for their 503.
const REJECT_QUEUE: usize = 64;
/// The least time a client that waited for a worker gets from then on.
const QUEUED_GRACE: Duration = Duration::from_secs(1);
/// How long a rejected client has to send its request before its 503.
const OVERLOAD_READ: Duration = Duration::from_secs(1);
/// Socket timeouts of zero mean "none": never set less than this.
const MIN_TIMEOUT: Duration = Duration::from_millis(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            parse_query("a=1&b=x+y&a=%41%zz&c&&d=%C3%A9").unwrap(),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".into(), "x y".into()),
                ("a".into(), "A%zz".into()),
                ("c".into(), "".into()),
                ("d".into(), "é".into()),
            ]
        );
        assert_eq!(parse_query("a=%ff"), None);
        assert_eq!(parse_query("a=%4"), Some(vec![("a".into(), "%4".into())]));
    }

    #[test]
    fn request_lines() {
        let ok = parse_request(b"GET /status.xml?x=1 HTTP/1.0\r\nHost: a\r\n\r\n").unwrap();
        assert_eq!(ok.http_method, "GET");
        assert_eq!(
            ok.target,
            Some(("status".into(), vec![("x".into(), "1".into())]))
        );
        let abs = parse_request(b"GET http://h:1/reg?d=sip HTTP/1.1\n\n").unwrap();
        assert_eq!(abs.target.unwrap().0, "reg");
        assert!(parse_request(b"GET / HTTP/1.0\r\n\r\n")
            .unwrap()
            .target
            .is_none());
        for bad in [
            &b"GET /x.xml\r\n\r\n"[..],
            b"GET  /x.xml HTTP/1.0\r\n\r\n",
            b"GET /x.xml HTTP/1.0 extra\r\n\r\n",
            b"GET /x.xml FTP/1.0\r\n\r\n",
            b"G(T /x.xml HTTP/1.0\r\n\r\n",
            b"GET x.xml HTTP/1.0\r\n\r\n",
            b"GET /x.xml HTTP/1.0\r\nNoColon\r\n\r\n",
            b"GET /x.xml HTTP/1.0\r\n folded: x\r\n\r\n",
            b"GET /x.xml HTTP/1.0\r\nBad Name: x\r\n\r\n",
            b"\xff /x HTTP/1.0\r\n\r\n",
        ] {
            assert!(
                parse_request(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn head_ends() {
        assert_eq!(head_end(b"GET / HTTP/1.0\r\n\r\nrest", 0), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nrest", 0), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.0\r\nA: b\r\n", 0), None);
    }

    #[test]
    fn urls() {
        let u = Url::parse("http://127.0.0.1:8080/status.xml?a=1#frag").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/status.xml?a=1")
        );
        let u = Url::parse("HTTP://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        assert_eq!(u.host_for_header(), "[::1]");
        let u = Url::parse("https://example.org?q").unwrap();
        assert_eq!((u.port, u.path.as_str(), u.tls), (443, "/?q", true));
        for bad in [
            "ftp://x/",
            "http://",
            "http://h:port/",
            "http://[::1/",
            "http://u@h/",
            "http://h/a b",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reply_heads() {
        let h = parse_reply_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\n").unwrap();
        assert_eq!(
            (h.status, h.reason.as_str(), h.content_length),
            (404, "Not Found", Some(5))
        );
        assert!(parse_reply_head(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert!(parse_reply_head(b"SIP/2.0 200 OK\r\n\r\n").is_err());
        assert!(
            parse_reply_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err()
        );
    }

    #[test]
    fn encode_roundtrip() {
        let s = "a b&c=d/é+";
        assert_eq!(percent_encode(s), "a%20b%26c%3Dd%2F%C3%A9%2B");
        assert_eq!(percent_decode(&percent_encode(s), true).unwrap(), s);
    }
}
