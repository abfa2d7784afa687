//! Relay benchmark (`cargo bench -p msgwire --bench msrp_relay`): MSRP
//! through msgwire's own relay (RFC 4976) on 127.0.0.1, against the same
//! traffic sent directly, in one run.
//!
//! The relay runs in a child process (this same binary, started again
//! with `MSGWIRE_BENCH_RELAY=1`), so its memory is measured alone: the
//! child's VmHWM from /proc, read by the parent before it stops the
//! child. Plain TCP listener, one user.
//!
//! (a) 1 GiB from a generator with `MsrpSession::send_message`, the
//!     sender authenticated at the relay (active) and the receiver a
//!     direct acceptor, so the chunks cross one relay; both sessions
//!     with 64 KiB chunks (the relayed default is 8 KiB, raised here so
//!     the two runs differ only by the relay), received as a whole
//!     message into a sink that drops it. MB/s, median of 3;
//! (b) the same transfer between the same kinds of sessions bound
//!     directly, median of 3, and the ratio a/b (median of the ratios of
//!     runs made one after the other; target >= 0.8);
//! (c) the relay's peak RSS after (a) (target < 32 MiB);
//! (d) 1,000 relayed chat sessions open at once (each a relayed active
//!     endpoint and a direct acceptor), 20 chat SENDs each, all in flight
//!     together: messages/s through the relay, and the relay's RSS with
//!     the sessions open minus its RSS before, per session (goal < 16
//!     KiB).
//!
//! Printed only, never asserted: these machines are shared and noisy.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel as channel;
use msgwire::msrp::endpoint::{
    BindOptions, BoundTransport, DirectAcceptor, DirectConnector, MsrpSession, TransferUpdate,
};
use msgwire::msrp::relay::{Mode, RelayConnection, RelaySettings};
use msgwire::msrp::relay_server::{Relay, RelayConfig, Users};
use msgwire::msrp::session::SessionConfig;
use msgwire::msrp::transfer::{Delivery, MessageSink, OutgoingMessage, SinkFactory};
use msgwire::msrp::Uri;

const SIZE: u64 = 1 << 30;
const RUNS: usize = 3;
const MB: f64 = 1_000_000.0;
const CHUNK: u64 = 64 * 1024;
const SESSIONS: usize = 1_000;
const MESSAGES: usize = 20;
const REALM: &str = "bench.relay";

fn main() {
    if std::env::var_os("MSGWIRE_BENCH_RELAY").is_some() {
        return relay_child();
    }
    let relay = RelayProcess::start();
    println!("relay (child pid {}) on {}", relay.child.id(), relay.addr);

    let mut relayed = Vec::new();
    let mut direct = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..RUNS {
        let r = transfer(Some(relay.addr));
        let d = transfer(None);
        ratios.push(r / d);
        relayed.push(r);
        direct.push(d);
    }
    let peak = relay.kib("VmHWM");
    println!(
        "(a) 1 GiB through the relay ({} KiB chunks): {:.0} MB/s (median of {RUNS})",
        CHUNK / 1024,
        median(relayed) / MB
    );
    println!("(b) the same directly: {:.0} MB/s", median(direct) / MB);
    println!(
        "    ratio relayed/direct: {:.2} (median of paired runs; target >= 0.8)",
        median(ratios)
    );
    println!(
        "(c) relay peak RSS: {} (target < 32 MiB)",
        peak.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
    );

    let before = relay.kib("VmRSS");
    let (rate, open) = chat_sessions(relay.addr, &relay);
    println!(
        "(d) {SESSIONS} relayed chat sessions, {MESSAGES} SENDs each in flight together: \
         {rate:.0} messages/s through the relay"
    );
    if let (Some(b), Some(o)) = (before, open) {
        println!(
            "    relay RSS {:.1} MiB idle, {:.1} MiB with the sessions open: {:.1} KiB per session \
             (goal < 16)",
            b as f64 / 1024.0,
            o as f64 / 1024.0,
            (o.saturating_sub(b)) as f64 / SESSIONS as f64
        );
    }
    relay.stop();
}

/// The relay child: starts a relay on 127.0.0.1 (plain TCP), prints its
/// address, and runs until its stdin closes.
fn relay_child() {
    let mut users = Users::new();
    users.add_password("bench", "secret");
    let mut config = RelayConfig::new(REALM, users);
    config.plain_tcp = Some("127.0.0.1:0".parse().unwrap());
    config.max_per_address = 10 * SESSIONS;
    config.max_connections = 10 * SESSIONS;
    let relay = Relay::start(config).expect("the relay starts");
    println!("{}", relay.plain_addr().unwrap());
    io::stdout().flush().unwrap();
    let mut sink = Vec::new();
    let _ = io::stdin().read_to_end(&mut sink);
    relay.shutdown();
}

struct RelayProcess {
    child: Child,
    addr: SocketAddr,
}

impl RelayProcess {
    fn start() -> RelayProcess {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env("MSGWIRE_BENCH_RELAY", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the relay child starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.trim().parse().expect("the child prints its address");
        RelayProcess { child, addr }
    }

    /// A field of the child's /proc status, in KiB.
    fn kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn local() -> Option<Uri> {
    Some(Uri::new("127.0.0.1", Some(0), None))
}

/// A bound pair: the active side through the relay at `relay` (or a
/// direct connector), the passive side a direct acceptor.
fn bind_pair(relay: Option<SocketAddr>) -> (BoundTransport, BoundTransport) {
    let mut acceptor = DirectAcceptor::new(BindOptions::default());
    let acceptor_path = acceptor.prepare(local()).unwrap();
    match relay {
        Some(addr) => {
            let mut settings = RelaySettings::new(REALM, "bench", "secret");
            settings.host = Some(addr.ip().to_string());
            settings.port = Some(addr.port());
            let mut conn = RelayConnection::new(settings, Mode::Active, BindOptions::default());
            let path = conn.prepare(local()).unwrap();
            let passive = thread::spawn(move || acceptor.complete(&path));
            let active = conn.complete(&acceptor_path).unwrap();
            (active, passive.join().unwrap().unwrap())
        }
        None => {
            let mut connector = DirectConnector::new(BindOptions::default());
            let path = connector.prepare(None);
            let passive = thread::spawn(move || acceptor.complete(&path));
            let active = connector.complete(&acceptor_path).unwrap();
            (active, passive.join().unwrap().unwrap())
        }
    }
}

struct Discard;

impl MessageSink for Discard {
    fn write_at(&mut self, _: u64, _: &[u8]) -> io::Result<()> {
        Ok(())
    }
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }
    fn abort(&mut self) {}
}

/// Zeros, `left` of them (the relay never looks at the bytes).
struct Zeros(u64);

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.0) as usize;
        buf[..n].fill(0);
        self.0 -= n as u64;
        Ok(n)
    }
}

/// One 1 GiB transfer, bytes/s.
fn transfer(relay: Option<SocketAddr>) -> f64 {
    let (a, b) = bind_pair(relay);
    let sender = SessionConfig {
        chunk_size: CHUNK,
        relayed_chunk_size: CHUNK,
        ..SessionConfig::default()
    };
    let receiver = SessionConfig {
        delivery: Delivery::Messages,
        max_message_size: u64::MAX,
        sink_factory: Some(SinkFactory::new(|_| {
            Ok(Some(Box::new(Discard) as Box<dyn MessageSink>))
        })),
        ..SessionConfig::default()
    };
    let alice = MsrpSession::start(a, sender, |_| {}).unwrap();
    let bob = MsrpSession::start(b, receiver, |_| {}).unwrap();
    let (done_tx, done_rx) = channel::bounded(1);
    let msg = OutgoingMessage::from_reader(Zeros(SIZE), Some(SIZE))
        .content_type("application/octet-stream");
    let started = Instant::now();
    alice
        .send_message(msg, move |u| match u {
            TransferUpdate::Progress { .. } => {}
            other => {
                let _ = done_tx.send(other);
            }
        })
        .unwrap();
    let outcome = done_rx.recv().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(outcome, TransferUpdate::Completed, "the transfer failed");
    alice.shutdown(true);
    bob.shutdown(true);
    SIZE as f64 / elapsed.as_secs_f64()
}

/// (d): messages/s, and the relay's RSS (KiB) with every session open.
fn chat_sessions(relay: SocketAddr, process: &RelayProcess) -> (f64, Option<u64>) {
    let config = SessionConfig {
        keepalive_interval: None,
        ..SessionConfig::default()
    };
    let mut pairs = Vec::with_capacity(SESSIONS);
    for _ in 0..SESSIONS {
        let (a, b) = bind_pair(Some(relay));
        let alice = MsrpSession::start(a, config.clone(), |_| {}).unwrap();
        let bob = MsrpSession::start(b, config.clone(), |_| {}).unwrap();
        pairs.push((alice, bob));
    }
    let open = process.kib("VmRSS");
    let answered = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = channel::bounded(1);
    let total = SESSIONS * MESSAGES;
    let started = Instant::now();
    for (alice, _) in &pairs {
        for _ in 0..MESSAGES {
            let chat = alice.make_message("a chat line through the relay", "text/plain", None);
            let answered = answered.clone();
            let failed = failed.clone();
            let done = done_tx.clone();
            alice
                .send_chunk(
                    chat,
                    Some(Box::new(move |outcome| {
                        if outcome.response.code() != Some(200) {
                            failed.fetch_add(1, Ordering::SeqCst);
                        }
                        if answered.fetch_add(1, Ordering::SeqCst) + 1 == total {
                            let _ = done.send(());
                        }
                    })),
                )
                .unwrap();
        }
    }
    done_rx
        .recv_timeout(Duration::from_secs(300))
        .expect("every chat SEND answered");
    let rate = total as f64 / started.elapsed().as_secs_f64();
    let failed = failed.load(Ordering::SeqCst);
    assert_eq!(failed, 0, "{failed} chat SENDs through the relay failed");
    for (alice, bob) in pairs {
        alice.shutdown(false);
        bob.shutdown(false);
    }
    (rate, open)
}
