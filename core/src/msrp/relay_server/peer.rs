//! One connection of the relay: the handler on its reader thread (AUTH,
//! refusals, cut-through forwarding, responses back) and its outlet, which
//! keeps one chunk at a time on the wire toward it.
//!
//! # The cost of a forwarded byte
//!
//! The reader thread writes what it forwards itself, straight from its
//! read buffer ([`Sender::send_slices`]): no copy into a buffer of its own,
//! no allocation, and no wake-up of the next hop's writer thread (which
//! only takes over what a transport that cannot wait, TLS, leaves). What
//! one read yields for the next hop (the rest of a body, its rewritten
//! end-line, the next chunk's rewritten head and the start of its body) is
//! gathered in an [`Outlet`] and goes out in one vectored write at the end
//! of the read, so a stream of chunks costs about one read and one write
//! per read buffer rather than three writes per chunk. The outlet of the
//! next hop stays held from a chunk's head until the write at the end of
//! the read that carried its end-line; anything else this handler sends
//! (a refusal, a response passed back) first writes out and releases it,
//! so two handlers never wait for each other's outlets.
//!
//! Responses passed back are gathered the same way: a run of them toward
//! one connection (a sender's chunks answered by the far end) goes out in
//! one write, when the next request starts or the read ends. No outlet is
//! held then: a response sets the body state to skipping, and a request
//! writes the gathered responses before it takes one.

use std::io::IoSlice;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use parking_lot::{Condvar, Mutex};

use super::route::{authority, Refusal};
use super::users::{Challenger, Verdict};
use super::{Hub, Pending, Reservation};
use crate::msrp::header::FailureReport;
use crate::msrp::relay::digest::Authorization;
use crate::msrp::{make_response, random_hex, Chunk, Event, Flag, Head, Parser, ParserConfig, Uri};
use crate::net::{Accepted, Config, Connection, Incoming, Sender, Slot, Stream};
use crate::slices::range_within;

/// A connection's first read buffer: small, since most of the relay's
/// connections carry chat (memory per session).
const READ_BUFFER: usize = 16 * 1024;

/// What the read buffer grows to while reads fill it (a transfer): 256 KiB
/// read and forwarded at a time cost the relay about 0.75 CPU s per GiB
/// against 1.05 s with 64 KiB (bench `msrp_relay` (e): fewer system calls
/// and a third of the context switches); 512 KiB and 1 MiB measured no
/// better.
const MAX_READ_BUFFER: usize = 256 * 1024;

/// Owners of outlets that are not a connection's own forwarding (whole
/// responses), counted down from the top so they never meet peer ids.
static WHOLE_OWNER: AtomicU64 = AtomicU64::new(u64::MAX);

/// A connection of the relay.
#[derive(Debug)]
pub(super) struct Peer {
    pub id: u64,
    pub addr: SocketAddr,
    pub local: SocketAddr,
    secure: bool,
    sender: Sender,
    conn: Mutex<Option<Connection>>,
    /// Who is writing a chunk to this peer now.
    outlet: Mutex<Option<u64>>,
    outlet_free: Condvar,
    closed: AtomicBool,
    /// The client URIs authenticated on this connection, with their
    /// session ids.
    clients: Mutex<Vec<(Uri, String)>>,
    _slot: Option<Slot>,
}

impl Peer {
    pub fn clients(&self) -> Vec<(Uri, String)> {
        self.clients.lock().clone()
    }

    /// Takes the outlet for `owner`, waiting while another owner holds it,
    /// at most `limit`. False when the peer closed or time ran out.
    fn lock_outlet(&self, owner: u64, limit: Option<Duration>) -> bool {
        let until = limit.map(|l| Instant::now() + l);
        let mut o = self.outlet.lock();
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return false;
            }
            match *o {
                None => {
                    *o = Some(owner);
                    return true;
                }
                Some(x) if x == owner => return true,
                Some(_) => {}
            }
            match until {
                Some(u) => {
                    if self.outlet_free.wait_until(&mut o, u).timed_out() {
                        return false;
                    }
                }
                None => {
                    // Wake now and then to see `closed` even if nobody
                    // notifies.
                    self.outlet_free
                        .wait_for(&mut o, Duration::from_millis(200));
                }
            }
        }
    }

    fn unlock_outlet(&self, owner: u64) {
        let mut o = self.outlet.lock();
        if *o == Some(owner) {
            *o = None;
            self.outlet_free.notify_all();
        }
    }

    /// Queues one whole message (a response), between chunks.
    pub fn send_whole(&self, bytes: Bytes) -> bool {
        self.send_whole_within(bytes, None)
    }

    /// Like [`send_whole`](Self::send_whole), but waits for the outlet and
    /// for room in the queue at most `limit` in all (`None`: without
    /// bound). False when the peer closed or time ran out; the message is
    /// then dropped.
    pub fn send_whole_within(&self, bytes: Bytes, limit: Option<Duration>) -> bool {
        let owner = WHOLE_OWNER.fetch_sub(1, Ordering::Relaxed);
        let deadline = limit.map(|l| Instant::now() + l);
        if !self.lock_outlet(owner, limit) {
            return false;
        }
        let ok = match deadline {
            Some(d) => self.sender.send_until(bytes, d).is_ok(),
            None => self.sender.send(bytes).is_ok(),
        };
        self.unlock_outlet(owner);
        ok
    }

    fn mark_closed(&self) {
        self.closed.store(true, Ordering::SeqCst);
        let _guard = self.outlet.lock();
        self.outlet_free.notify_all();
    }

    /// Shutdown: waits (at most `grace`) for the chunk being written to
    /// this peer to end, then closes the connection, flushing its queue.
    pub fn finish(&self, grace: Duration) {
        let owner = WHOLE_OWNER.fetch_sub(1, Ordering::Relaxed);
        let got = self.lock_outlet(owner, Some(grace));
        self.mark_closed();
        let conn = self.conn.lock().take();
        if let Some(conn) = conn {
            if got {
                let _ = conn.close();
            } else {
                conn.abort();
            }
        }
    }
}

/// Serves an accepted connection.
pub(super) fn accept(hub: &Arc<Hub>, a: Accepted, secure: bool) {
    if hub.shutting_down.load(Ordering::SeqCst) {
        return;
    }
    log::info!("connection from {} (to {})", a.peer, a.local);
    if let Err(e) = spawn_peer(hub, a.stream, a.peer, a.local, secure, Some(a.slot)) {
        log::warn!("cannot serve {}: {e}", a.peer);
    }
}

fn spawn_peer(
    hub: &Arc<Hub>,
    stream: Stream,
    addr: SocketAddr,
    local: SocketAddr,
    secure: bool,
    slot: Option<Slot>,
) -> std::io::Result<Arc<Peer>> {
    let id = hub.id();
    let config = Config {
        queue_capacity: 64,
        read_buffer_size: READ_BUFFER,
        max_read_buffer_size: MAX_READ_BUFFER,
        ..Config::default()
    };
    // The handler learns its peer once it exists: its first event waits
    // for it (the peer can only be made from the spawned connection).
    let (me_tx, me_rx) = crossbeam_channel::bounded::<Weak<Peer>>(1);
    let mut handler = Handler {
        parser: Parser::with_config(ParserConfig {
            max_body_len: u64::MAX,
            ..ParserConfig::default()
        }),
        state: State {
            hub: Arc::downgrade(hub),
            me: None,
            me_rx,
            body: Body::Idle,
            out: Outlet::default(),
            replies: Vec::new(),
            challenger: Challenger::new(&hub.config.realm, hub.config.nonce_lifetime),
            failures: 0,
        },
    };
    let conn = Connection::spawn_with(stream, config, move |event, _sender| {
        handler.on_event(event);
    })?;
    let peer = Arc::new(Peer {
        id,
        addr,
        local,
        secure,
        // Responses and refusals are written by the thread that makes
        // them when the stream is idle, instead of waking the writer.
        sender: conn.direct_sender(),
        conn: Mutex::new(Some(conn)),
        outlet: Mutex::new(None),
        outlet_free: Condvar::new(),
        closed: AtomicBool::new(false),
        clients: Mutex::new(Vec::new()),
        _slot: slot,
    });
    // Registered before the handler may run, so that a connection
    // closing at once is cleaned up like any other.
    hub.counters.connections.fetch_add(1, Ordering::Relaxed);
    hub.counters
        .connections_total
        .fetch_add(1, Ordering::Relaxed);
    hub.peers.lock().insert(id, peer.clone());
    let _ = me_tx.send(Arc::downgrade(&peer));
    Ok(peer)
}

/// Cleans up after a connection ended.
fn closed(hub: &Hub, peer: &Arc<Peer>) {
    peer.mark_closed();
    if hub.peers.lock().remove(&peer.id).is_none() {
        return; // already done (or shut down)
    }
    hub.counters.connections.fetch_sub(1, Ordering::Relaxed);
    log::info!("connection {} closed", peer.addr);
    for (_, sid) in peer.clients() {
        hub.reservations.lock().remove(&sid);
    }
    hub.links
        .lock()
        .retain(|_, w| w.strong_count() > 0 && !ptr_is(w, peer));
    let lost: Vec<Pending> = {
        let mut pending = hub.pending.lock();
        let keys: Vec<(u64, String)> = pending
            .keys()
            .filter(|(t, _)| *t == peer.id)
            .cloned()
            .collect();
        pending.retain(|_, p| !ptr_is(&p.source, peer));
        keys.iter().filter_map(|k| pending.remove(k)).collect()
    };
    for p in lost {
        if !p.partial || p.deadline.is_none() {
            hub.answer_pending(&p, 408, "the next hop's connection closed");
        }
    }
    // Closed by the peer: let the engine finish on its own.
    drop(peer.conn.lock().take());
}

fn ptr_is(w: &Weak<Peer>, p: &Arc<Peer>) -> bool {
    std::ptr::eq(w.as_ptr(), Arc::as_ptr(p))
}

impl Hub {
    /// The chunk of transaction `tid` toward `target` is fully forwarded:
    /// its response is now due within the transaction timeout.
    fn arm_deadline(&self, target: u64, tid: String) {
        if let Some(p) = self.pending.lock().get_mut(&(target, tid)) {
            if !p.partial {
                p.deadline = Some(Instant::now() + self.config.transaction_timeout);
            }
        }
    }

    /// The connection to `next`'s authority: an existing one, or a new
    /// one (481 when it cannot be made).
    pub(super) fn link_to(self: &Arc<Self>, next: &Uri) -> Result<Arc<Peer>, Refusal> {
        let key = authority(next);
        if let Some(p) = self.links.lock().get(&key).and_then(Weak::upgrade) {
            if !p.closed.load(Ordering::SeqCst) {
                return Ok(p);
            }
        }
        let unreachable = |why: String| (481, format!("next hop {next} unreachable: {why}"));
        let timeout = self.config.connect_timeout;
        let addrs: Vec<SocketAddr> = (key.0.as_str(), key.1)
            .to_socket_addrs()
            .map_err(|e| unreachable(e.to_string()))?
            .collect();
        let mut last = String::from("no address");
        for addr in addrs {
            let tcp = match TcpStream::connect_timeout(&addr, timeout) {
                Ok(t) => t,
                Err(e) => {
                    last = e.to_string();
                    continue;
                }
            };
            let local = tcp.local_addr().map_err(|e| unreachable(e.to_string()))?;
            let stream = if next.secure {
                let Some(tls) = &self.config.tls_client else {
                    return Err(unreachable("no TLS client configuration".into()));
                };
                Stream::tls_connect(tcp, tls, &next.host, timeout)
                    .map_err(|e| unreachable(e.to_string()))?
            } else {
                Stream::Tcp(tcp)
            };
            let peer = spawn_peer(self, stream, addr, local, next.secure, None)
                .map_err(|e| unreachable(e.to_string()))?;
            log::info!("opened a connection to {next} ({addr})");
            self.links.lock().insert(key, Arc::downgrade(&peer));
            return Ok(peer);
        }
        Err(unreachable(last))
    }
}

/// What the handler does with the body of the chunk being read.
#[derive(Debug)]
enum Body {
    /// Between chunks.
    Idle,
    /// Discarding the rest of the chunk (refused, or a response).
    Skip,
    /// Discarding everything: the connection is being closed.
    Ignore,
    /// Cutting a SEND through to the [`Outlet`]'s target as `tid`.
    Forward {
        tid: String,
        bytes: Vec<Arc<AtomicU64>>,
    },
    /// Collecting the body of another request (at most the control body
    /// limit).
    Collect {
        head: Chunk,
        raw: String,
        data: BytesMut,
        too_big: bool,
    },
}

/// What the handler has for the next hop whose outlet it holds, written
/// in one go at the end of each read (see the [module docs](self)).
#[derive(Debug, Default)]
struct Outlet {
    /// The next hop; its outlet is held while this is set.
    target: Option<Arc<Peer>>,
    /// A write to it failed: the rest of what it was to get is dropped.
    broken: bool,
    /// Rewritten heads and end-lines (and the rare body bytes that are
    /// not in the read buffer). Cleared, not freed, after each write.
    owned: BytesMut,
    /// What goes out, in order.
    pieces: Vec<Piece>,
    /// Transactions whose end-line is among the pieces: their response is
    /// due from the moment it is written.
    ended: Vec<String>,
}

/// One slice of what an [`Outlet`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// A range of the read buffer.
    Input(Range<usize>),
    /// A range of [`Outlet::owned`].
    Owned(Range<usize>),
}

/// Most pieces an outlet gathers before writing them: one vectored write
/// takes them all (Linux's `IOV_MAX` is 1024).
const MAX_PIECES: usize = 256;

impl Outlet {
    fn push(&mut self, piece: Piece) {
        // Adjacent ranges of the same memory go out as one slice.
        match (self.pieces.last_mut(), &piece) {
            (Some(Piece::Input(r)), Piece::Input(n)) | (Some(Piece::Owned(r)), Piece::Owned(n))
                if r.end == n.start =>
            {
                r.end = n.end;
            }
            _ => self.pieces.push(piece),
        }
    }

    /// Gathers a copy of `bytes`.
    fn stage(&mut self, bytes: &[u8]) {
        let start = self.owned.len();
        self.owned.put_slice(bytes);
        self.push(Piece::Owned(start..self.owned.len()));
    }

    /// Gathers `d`, without copying it when it lies in `input` (the read
    /// buffer; the parser hands out a few held-back bytes of its own).
    fn stage_data(&mut self, input: &[u8], d: &[u8]) {
        match range_within(input, d) {
            Some(r) => self.push(Piece::Input(r)),
            None => self.stage(d),
        }
    }

    /// Gathers `CRLF -------tid<flag> CRLF`.
    fn stage_end_line(&mut self, tid: &str, flag: Flag) {
        let start = self.owned.len();
        self.owned.put_slice(b"\r\n-------");
        self.owned.put_slice(tid.as_bytes());
        self.owned.put_u8(flag.as_byte());
        self.owned.put_slice(b"\r\n");
        self.push(Piece::Owned(start..self.owned.len()));
    }
}

struct Handler {
    parser: Parser,
    state: State,
}

struct State {
    hub: Weak<Hub>,
    me: Option<Weak<Peer>>,
    me_rx: crossbeam_channel::Receiver<Weak<Peer>>,
    body: Body,
    out: Outlet,
    /// Responses to pass back, per connection, in order (see the
    /// [module docs](self)).
    replies: Vec<(Arc<Peer>, BytesMut)>,
    challenger: Challenger,
    failures: u32,
}

impl Handler {
    fn on_event(&mut self, event: Incoming<'_>) {
        let st = &mut self.state;
        let Some(hub) = st.hub.upgrade() else {
            return;
        };
        if st.me.is_none() {
            // Set right after the spawn; an error means the spawn failed.
            st.me = st.me_rx.recv().ok();
        }
        let Some(me) = st.me.as_ref().and_then(Weak::upgrade) else {
            return;
        };
        match event {
            Incoming::Data(input) => {
                let mut rest = input;
                loop {
                    let (used, result) = self.parser.parse(rest);
                    rest = &rest[used..];
                    match result {
                        Ok(Some(Event::Start(head))) => st.on_start(&hub, &me, &head, input),
                        Ok(Some(Event::Data(d))) => st.on_data(&hub, &me, input, d),
                        Ok(Some(Event::End(flag))) => st.on_end(&hub, &me, input, flag),
                        Ok(None) => break,
                        Err(e) => {
                            // The parser skips the broken chunk by itself; a
                            // chunk being cut through ends aborted.
                            log::info!("{}: {e}", me.addr);
                            st.abort_forward(&hub, &me, input);
                        }
                    }
                }
                // The read buffer is about to be reused: what it holds for
                // the next hop goes now; its outlet stays held only in the
                // middle of a chunk.
                let in_chunk = matches!(st.body, Body::Forward { .. });
                st.flush(&hub, &me, input, !in_chunk);
                st.flush_replies();
            }
            Incoming::Closed(err) => {
                if let Some(e) = err {
                    log::info!("{}: {e}", me.addr);
                }
                st.abort_forward(&hub, &me, &[]);
                st.flush_replies();
                closed(&hub, &me);
            }
        }
    }
}

impl State {
    /// Writes what the outlet gathered (`input`: the read buffer its
    /// pieces point into) and, with `release`, gives the next hop's outlet
    /// back.
    fn flush(&mut self, hub: &Hub, me: &Peer, input: &[u8], release: bool) {
        let out = &mut self.out;
        let Some(target) = out.target.as_ref() else {
            return;
        };
        // At most MAX_PIECES at a time (the handler flushes when it has
        // gathered that many, so this is one write).
        for group in out.pieces.chunks(MAX_PIECES) {
            if out.broken {
                break;
            }
            let mut slices = [IoSlice::new(&[]); MAX_PIECES];
            for (slot, piece) in slices.iter_mut().zip(group) {
                *slot = IoSlice::new(match piece {
                    Piece::Input(r) => &input[r.clone()],
                    Piece::Owned(r) => &out.owned[r.clone()],
                });
            }
            if target
                .sender
                .send_slices(&slices[..group.len()], None)
                .is_err()
            {
                out.broken = true;
            }
        }
        out.pieces.clear();
        out.owned.clear();
        for tid in out.ended.drain(..) {
            hub.arm_deadline(target.id, tid);
        }
        if release {
            target.unlock_outlet(me.id);
            out.target = None;
            out.broken = false;
        }
    }

    /// Writes the responses gathered to pass back. Only while no outlet is
    /// held (see the [module docs](self)).
    fn flush_replies(&mut self) {
        if self.out.target.is_some() {
            // Not reached: gathering responses released the outlet, and a
            // request writes them before it takes one.
            return;
        }
        for (source, bytes) in self.replies.drain(..) {
            source.send_whole(bytes.freeze());
        }
    }

    /// Refuses the request `head` with `code`.
    fn refuse(&mut self, hub: &Hub, me: &Peer, head: &Chunk, (code, why): Refusal) {
        log::warn!(
            "{}: refused {} {} with {code}: {why}",
            me.addr,
            head.method().unwrap_or("?"),
            head.transaction_id
        );
        hub.counters.refused.fetch_add(1, Ordering::Relaxed);
        respond(me, head, code, Some(&why), &[]);
    }

    fn on_start(&mut self, hub: &Arc<Hub>, me: &Arc<Peer>, head: &Head<'_>, input: &[u8]) {
        if matches!(self.body, Body::Ignore) {
            return;
        }
        self.body = Body::Skip;
        let Some(method) = head.method() else {
            self.flush(hub, me, input, true);
            self.on_response(hub, me, head);
            return;
        };
        if !self.replies.is_empty() {
            self.flush(hub, me, input, true);
            self.flush_replies();
        }
        if hub.shutting_down.load(Ordering::SeqCst) {
            return;
        }
        let chunk = head.to_chunk();
        if method != "SEND" {
            // Only a SEND may go on to the next hop still held: anything
            // else may answer, and answering waits for an outlet.
            self.flush(hub, me, input, true);
        }
        if method != "AUTH" && !hub.config.methods.iter().any(|m| m == method) {
            self.refuse(
                hub,
                me,
                &chunk,
                (501, format!("method {method} not allowed")),
            );
            return;
        }
        if method != "SEND" {
            self.body = Body::Collect {
                head: chunk,
                raw: head.raw().to_string(),
                data: BytesMut::new(),
                too_big: false,
            };
            return;
        }
        match hub.route(me, head) {
            Err(r) => {
                self.flush(hub, me, input, true);
                self.refuse(hub, me, &chunk, r);
            }
            Ok(routed) => {
                if let Some(body) = self.start_forward(hub, me, input, chunk, routed) {
                    self.body = body;
                }
            }
        }
    }

    /// Takes the next hop's outlet (unless already held), gathers the
    /// routed head and records the transaction; the body state to go on
    /// with, or `None` when the next hop is gone (answered 481).
    fn start_forward(
        &mut self,
        hub: &Arc<Hub>,
        me: &Arc<Peer>,
        input: &[u8],
        request: Chunk,
        routed: super::route::Routed,
    ) -> Option<Body> {
        let target = routed.target;
        if self.out.target.as_ref().is_some_and(|t| t.id != target.id) {
            self.flush(hub, me, input, true);
        }
        if self.out.target.is_none() {
            if !target.lock_outlet(me.id, None) {
                self.refuse(
                    hub,
                    me,
                    &request,
                    (481, "the next hop's connection closed".into()),
                );
                return None;
            }
            self.out.target = Some(target.clone());
        }
        let report = request.failure_report().unwrap_or(FailureReport::Yes);
        if report != FailureReport::No {
            hub.pending.lock().insert(
                (target.id, routed.tid.clone()),
                Pending {
                    source: Arc::downgrade(me),
                    request,
                    deadline: None,
                    partial: report == FailureReport::Partial,
                },
            );
        }
        hub.counters.forwarded.fetch_add(1, Ordering::Relaxed);
        let bytes: Vec<Arc<AtomicU64>> = {
            let r = hub.reservations.lock();
            routed
                .sessions
                .iter()
                .filter_map(|s| r.get(s).map(|r| r.bytes.clone()))
                .collect()
        };
        self.out.stage(&routed.head);
        Some(Body::Forward {
            tid: routed.tid,
            bytes,
        })
    }

    fn on_data(&mut self, hub: &Hub, me: &Peer, input: &[u8], d: &[u8]) {
        match &mut self.body {
            Body::Forward { bytes, .. } => {
                if self.out.broken {
                    return;
                }
                self.out.stage_data(input, d);
                let n = d.len() as u64;
                hub.counters.bytes.fetch_add(n, Ordering::Relaxed);
                for b in bytes.iter() {
                    b.fetch_add(n, Ordering::Relaxed);
                }
                if self.out.pieces.len() >= MAX_PIECES {
                    self.flush(hub, me, input, false);
                }
            }
            Body::Collect { data, too_big, .. } => {
                if !*too_big && data.len() + d.len() <= hub.config.max_control_body {
                    data.put_slice(d);
                } else {
                    *too_big = true;
                    data.clear();
                }
            }
            Body::Idle | Body::Skip | Body::Ignore => {}
        }
    }

    fn on_end(&mut self, hub: &Arc<Hub>, me: &Arc<Peer>, input: &[u8], flag: Flag) {
        match std::mem::replace(&mut self.body, Body::Idle) {
            Body::Forward { tid, .. } => {
                self.out.stage_end_line(&tid, flag);
                self.out.ended.push(tid);
                if self.out.pieces.len() >= MAX_PIECES {
                    self.flush(hub, me, input, false);
                }
            }
            Body::Collect {
                head,
                raw,
                data,
                too_big,
            } => {
                if too_big {
                    let limit = hub.config.max_control_body;
                    self.refuse(hub, me, &head, (413, format!("a body over {limit} bytes")));
                } else if head.method() == Some("AUTH") {
                    self.on_auth(hub, me, &head);
                } else {
                    self.forward_whole(hub, me, input, head, &raw, &data, flag);
                }
            }
            Body::Ignore => self.body = Body::Ignore,
            Body::Idle | Body::Skip => {}
        }
    }

    /// Forwards a collected request (REPORT, NICKNAME, ...).
    #[allow(clippy::too_many_arguments)]
    fn forward_whole(
        &mut self,
        hub: &Arc<Hub>,
        me: &Arc<Peer>,
        input: &[u8],
        head: Chunk,
        raw: &str,
        data: &[u8],
        flag: Flag,
    ) {
        // Parse the head again to route it from its text.
        let mut p = Parser::new();
        let mut wire = raw.as_bytes().to_vec();
        if !raw.ends_with("\r\n\r\n") {
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(format!("-------{}$\r\n", head.transaction_id).as_bytes());
        let (_, result) = p.parse(&wire);
        let Ok(Some(Event::Start(h))) = result else {
            self.refuse(hub, me, &head, (400, "unreadable head".into()));
            return;
        };
        match hub.route(me, &h) {
            Err(r) => self.refuse(hub, me, &head, r),
            Ok(routed) => {
                let Some(Body::Forward { tid, .. }) =
                    self.start_forward(hub, me, input, head, routed)
                else {
                    return;
                };
                self.out.stage(data);
                self.out.stage_end_line(&tid, flag);
                self.out.ended.push(tid);
                hub.counters
                    .bytes
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
                self.flush(hub, me, input, true);
            }
        }
    }

    /// A response on this connection: passed back for a transaction we
    /// forwarded here, else ignored.
    fn on_response(&mut self, hub: &Hub, me: &Peer, head: &Head<'_>) {
        let key = (me.id, head.transaction_id().to_string());
        let Some(p) = hub.pending.lock().remove(&key) else {
            log::debug!("{}: a response to unknown {}", me.addr, key.1);
            return;
        };
        let Some(source) = p.source.upgrade() else {
            return;
        };
        let code = head.code().unwrap_or(200);
        if let Ok(Some(r)) = make_response(&p.request, code, head.comment()) {
            hub.counters.responses.fetch_add(1, Ordering::Relaxed);
            let at = match self.replies.iter().position(|(s, _)| s.id == source.id) {
                Some(at) => at,
                None => {
                    self.replies.push((source, BytesMut::new()));
                    self.replies.len() - 1
                }
            };
            r.encode_into(&mut self.replies[at].1);
        }
    }

    /// The connection broke off or sent garbage in the middle of a chunk
    /// being forwarded: the next hop gets the chunk ended as aborted
    /// (`#`).
    fn abort_forward(&mut self, hub: &Hub, me: &Peer, input: &[u8]) {
        if let Body::Forward { tid, .. } = std::mem::replace(&mut self.body, Body::Idle) {
            self.out.stage_end_line(&tid, Flag::Abort);
        }
        self.flush(hub, me, input, true);
    }

    /// Answers `req` 401 with a fresh challenge.
    fn challenge(&mut self, me: &Peer, req: &Chunk, stale: bool, comment: &str, now: Instant) {
        let c = self.challenger.challenge(stale, now);
        respond(
            me,
            req,
            401,
            Some(comment),
            &[("WWW-Authenticate", c.to_header())],
        );
    }

    fn on_auth(&mut self, hub: &Arc<Hub>, me: &Arc<Peer>, req: &Chunk) {
        let config = &hub.config;
        let to = req.headers.get("To-Path").unwrap_or("").trim().to_string();
        let to_uri: Option<Uri> = match to.split_ascii_whitespace().collect::<Vec<_>>()[..] {
            [one] => one.parse().ok(),
            _ => None,
        };
        if !to_uri.is_some_and(|u| hub.names_us(&u, me.local)) {
            self.refuse(
                hub,
                me,
                req,
                (403, format!("AUTH to {to:?}, not this relay")),
            );
            return;
        }
        let client: Option<Uri> = req.headers.get("From-Path").and_then(|f| {
            match f.split_ascii_whitespace().collect::<Vec<_>>()[..] {
                [one] => one.parse().ok(),
                _ => None,
            }
        });
        let Some(client) = client else {
            self.refuse(
                hub,
                me,
                req,
                (400, "AUTH needs a single From-Path URI".into()),
            );
            return;
        };
        let now = Instant::now();
        let Some(value) = req.headers.get("Authorization") else {
            self.challenge(me, req, false, "Unauthorized", now);
            return;
        };
        let verdict = match Authorization::parse(value) {
            Err(e) => {
                log::info!("{}: {e}", me.addr);
                Verdict::Wrong
            }
            Ok(auth) => {
                let uri = match &auth.uri {
                    Some(u) => {
                        // The digest URI must name us too.
                        match u.parse::<Uri>() {
                            Ok(parsed) if hub.names_us(&parsed, me.local) => u.clone(),
                            _ => String::new(),
                        }
                    }
                    None => to.clone(),
                };
                if uri.is_empty() {
                    Verdict::Wrong
                } else {
                    self.challenger.check(&auth, &config.users, &uri, now)
                }
            }
        };
        let user = match verdict {
            Verdict::Ok(user) => user,
            Verdict::Stale => {
                self.challenge(me, req, true, "Stale nonce", now);
                return;
            }
            Verdict::Replay | Verdict::Wrong => {
                hub.counters.auth_failed.fetch_add(1, Ordering::Relaxed);
                self.failures += 1;
                let why = if verdict == Verdict::Replay {
                    "a replayed nonce count"
                } else {
                    "wrong credentials"
                };
                log::warn!(
                    "{}: AUTH refused: {why} (attempt {})",
                    me.addr,
                    self.failures
                );
                if self.failures >= config.auth_attempts {
                    respond(me, req, 403, Some("Too many attempts"), &[]);
                    log::warn!("{}: closing after {} failed AUTHs", me.addr, self.failures);
                    // Closed from another thread: the 403 is flushed
                    // first, and this reader thread must not wait for
                    // itself.
                    me.mark_closed();
                    self.body = Body::Ignore;
                    if let Some(conn) = me.conn.lock().take() {
                        let _ = std::thread::Builder::new()
                            .name("msgwire-relay-close".into())
                            .spawn(move || {
                                let _ = conn.close();
                            });
                    }
                    return;
                }
                self.challenge(me, req, false, "Unauthorized", now);
                return;
            }
        };
        let e = config.expires;
        let asked = match req.headers.get("Expires").map(|v| v.trim().parse::<u32>()) {
            None => e.default,
            Some(Ok(v)) => v,
            Some(Err(_)) => {
                self.refuse(hub, me, req, (400, "a malformed Expires".into()));
                return;
            }
        };
        let bound = if asked < e.min {
            Some(("Min-Expires", e.min, "below"))
        } else if asked > e.max {
            Some(("Max-Expires", e.max, "above"))
        } else {
            None
        };
        if let Some((header, limit, side)) = bound {
            hub.counters.refused.fetch_add(1, Ordering::Relaxed);
            log::info!("{}: Expires {asked} {side} {limit}", me.addr);
            respond(
                me,
                req,
                423,
                Some("Interval Out-of-Bounds"),
                &[(header, limit.to_string())],
            );
            return;
        }
        let sid = random_hex(12);
        let mut uri = Uri::new(
            me.local.ip().to_string(),
            Some(me.local.port()),
            Some(sid.clone()),
        );
        uri.secure = me.secure;
        hub.reservations.lock().insert(
            sid.clone(),
            Reservation {
                user: user.clone(),
                uri: uri.clone(),
                client: client.clone(),
                peer_addr: me.addr,
                expires: now + Duration::from_secs(u64::from(asked)),
                peer: Arc::downgrade(me),
                bytes: Arc::new(AtomicU64::new(0)),
            },
        );
        me.clients.lock().push((client.clone(), sid.clone()));
        hub.counters.auth_ok.fetch_add(1, Ordering::Relaxed);
        log::info!(
            "{}: {user} reserved {uri} for {client} ({asked} s)",
            me.addr
        );
        respond(
            me,
            req,
            200,
            Some("OK"),
            &[
                ("Use-Path", uri.to_string()),
                ("Expires", asked.to_string()),
            ],
        );
    }
}

/// Answers `req` on `me` (nothing when its Failure-Report says not to).
fn respond(me: &Peer, req: &Chunk, code: u16, comment: Option<&str>, headers: &[(&str, String)]) {
    match make_response(req, code, comment) {
        Ok(Some(mut r)) => {
            for (n, v) in headers {
                r.headers.set(n, v.clone());
            }
            me.send_whole(r.encode());
        }
        Ok(None) => {}
        Err(e) => log::info!("{}: cannot answer {}: {e}", me.addr, req.transaction_id),
    }
}
