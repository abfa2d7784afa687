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
//! (e) CPU time (user + system, getrusage of each process, every thread
//!     included) per GiB moved in (a) and (b): the relay's, the
//!     endpoints' (sender and receiver share this process) relayed and
//!     direct, and the relay's per endpoint side (r/c); context switches
//!     per GiB the same way. Medians of the runs. Unlike (a) and (b) these
//!     hardly move with the load of other processes on the machine: on
//!     a machine with two cores the ratio a/b is about 2c / (2c + r), so
//!     the target 0.8 needs r/c <= 0.5.
//!
//! `MSGWIRE_BENCH_RELAY_MIB` (default 1024) and `MSGWIRE_BENCH_RELAY_RUNS`
//! (default 3) change the transfer size and the number of runs,
//! `MSGWIRE_BENCH_RELAY_WINDOW` the sender's `send_window` in bytes (both
//! runs; default the session's 4 MiB, 0 for none);
//! `MSGWIRE_BENCH_RELAY_NO_CHAT` skips (d) (for profiling the transfer).
//!
//! Printed only, never asserted: these machines are shared and noisy.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
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

const GIB: f64 = (1u64 << 30) as f64;
const MB: f64 = 1_000_000.0;
const CHUNK: u64 = 64 * 1024;
const SESSIONS: usize = 1_000;
const MESSAGES: usize = 20;
const REALM: &str = "bench.relay";

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::var_os("MSGWIRE_BENCH_RELAY").is_some() {
        return relay_child();
    }
    let size = env_number("MSGWIRE_BENCH_RELAY_MIB", 1024).max(1) << 20;
    let runs = env_number("MSGWIRE_BENCH_RELAY_RUNS", 3).max(1) as usize;
    let mut relay = RelayProcess::start();
    println!("relay (child pid {}) on {}", relay.child.id(), relay.addr);

    let mut relayed = Vec::new();
    let mut direct = Vec::new();
    let mut ratios = Vec::new();
    let mut cost = Costs::default();
    for _ in 0..runs {
        let (relay_before, own_before) = (relay.usage(), Usage::own());
        let r = transfer(Some(relay.addr), size);
        let (relay_used, own_used) = (
            relay.usage().since(relay_before),
            Usage::own().since(own_before),
        );
        let own_before = Usage::own();
        let d = transfer(None, size);
        let direct_used = Usage::own().since(own_before);
        let gib = size as f64 / GIB;
        cost.relay.push(relay_used.per(gib));
        cost.relayed_ends.push(own_used.per(gib));
        cost.direct_ends.push(direct_used.per(gib));
        ratios.push(r / d);
        relayed.push(r);
        direct.push(d);
    }
    let peak = relay.kib("VmHWM");
    println!(
        "(a) {} MiB through the relay ({} KiB chunks): {:.0} MB/s (median of {runs})",
        size >> 20,
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
    cost.print();

    if std::env::var_os("MSGWIRE_BENCH_RELAY_NO_CHAT").is_none() {
        let before = relay.kib("VmRSS");
        let (rate, open) = chat_sessions(relay.addr, &relay);
        println!(
            "(d) {SESSIONS} relayed chat sessions, {MESSAGES} SENDs each in flight together: \
             {rate:.0} messages/s through the relay"
        );
        if let (Some(b), Some(o)) = (before, open) {
            println!(
                "    relay RSS {:.1} MiB idle, {:.1} MiB with the sessions open: {:.1} KiB per \
                 session (goal < 16)",
                b as f64 / 1024.0,
                o as f64 / 1024.0,
                (o.saturating_sub(b)) as f64 / SESSIONS as f64
            );
        }
    }
    relay.stop();
}

/// CPU seconds and context switches of a whole process (every thread,
/// running or ended), from getrusage(2).
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    cpu: f64,
    switches: f64,
}

impl Usage {
    /// This process's.
    fn own() -> Usage {
        // SAFETY: getrusage only writes the struct it is given.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
        assert_eq!(rc, 0, "getrusage fails");
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Usage {
            cpu: secs(ru.ru_utime) + secs(ru.ru_stime),
            switches: (ru.ru_nvcsw + ru.ru_nivcsw) as f64,
        }
    }

    fn to_line(self) -> String {
        format!("{} {}", self.cpu, self.switches)
    }

    fn from_line(line: &str) -> Usage {
        let mut it = line.split_whitespace().map(|v| v.parse::<f64>().unwrap());
        Usage {
            cpu: it.next().unwrap(),
            switches: it.next().unwrap(),
        }
    }

    fn since(self, before: Usage) -> Usage {
        Usage {
            cpu: self.cpu - before.cpu,
            switches: self.switches - before.switches,
        }
    }

    fn per(self, gib: f64) -> Usage {
        Usage {
            cpu: self.cpu / gib,
            switches: self.switches / gib,
        }
    }
}

/// (e): per GiB, one entry per run.
#[derive(Default)]
struct Costs {
    relay: Vec<Usage>,
    relayed_ends: Vec<Usage>,
    direct_ends: Vec<Usage>,
}

impl Costs {
    fn print(&self) {
        let cpu = |v: &[Usage]| median(v.iter().map(|u| u.cpu).collect());
        let switches = |v: &[Usage]| median(v.iter().map(|u| u.switches).collect());
        // The relay's CPU against one endpoint side's (half the two
        // endpoints' in the same run).
        let r_over_c: Vec<f64> = self
            .relay
            .iter()
            .zip(&self.relayed_ends)
            .map(|(r, e)| r.cpu / (e.cpu / 2.0))
            .collect();
        println!(
            "(e) CPU s per GiB: relay {:.3}, endpoints relayed {:.3}, endpoints direct {:.3}; \
             relay per endpoint side r/c {:.2} (<= 0.5 for 0.8 on 2 cores)",
            cpu(&self.relay),
            cpu(&self.relayed_ends),
            cpu(&self.direct_ends),
            median(r_over_c)
        );
        println!(
            "    context switches per GiB: relay {:.0}, endpoints relayed {:.0}, endpoints \
             direct {:.0}",
            switches(&self.relay),
            switches(&self.relayed_ends),
            switches(&self.direct_ends)
        );
    }
}

/// The relay child: starts a relay on 127.0.0.1 (plain TCP), prints its
/// address, answers each line `usage` on its stdin with its [`Usage`],
/// and runs until its stdin closes.
fn relay_child() {
    let mut users = Users::new();
    users.add_password("bench", "secret");
    let mut config = RelayConfig::new(REALM, users);
    config.plain_tcp = Some("127.0.0.1:0".parse().unwrap());
    config.max_per_address = 10 * SESSIONS;
    config.max_connections = 10 * SESSIONS;
    let relay = Relay::start(config).expect("the relay starts");
    let mut out = io::stdout();
    writeln!(out, "{}", relay.plain_addr().unwrap()).unwrap();
    out.flush().unwrap();
    for line in io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "usage" {
            writeln!(out, "{}", Usage::own().to_line()).unwrap();
            out.flush().unwrap();
        }
    }
    relay.shutdown();
}

struct RelayProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
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
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line.trim().parse().expect("the child prints its address");
        RelayProcess {
            child,
            stdin,
            stdout,
            addr,
        }
    }

    /// The child's CPU time and context switches so far.
    fn usage(&mut self) -> Usage {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(b"usage\n").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        Usage::from_line(&line)
    }

    /// A field of the child's /proc status, in KiB.
    fn kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn stop(mut self) {
        drop(self.stdin.take());
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

/// One transfer of `size` bytes, bytes/s.
fn transfer(relay: Option<SocketAddr>, size: u64) -> f64 {
    let (a, b) = bind_pair(relay);
    let mut sender = SessionConfig {
        chunk_size: CHUNK,
        relayed_chunk_size: CHUNK,
        ..SessionConfig::default()
    };
    if let Ok(w) = std::env::var("MSGWIRE_BENCH_RELAY_WINDOW") {
        sender.send_window = w.parse().expect("a send window in bytes");
    }
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
    let msg = OutgoingMessage::from_reader(Zeros(size), Some(size))
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
    size as f64 / elapsed.as_secs_f64()
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
