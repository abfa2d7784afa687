//! Transfer benchmark (`cargo bench -p msgwire --bench msrp_transfer`): one
//! large message over an MSRP session on 127.0.0.1, against a plain TCP
//! copy of the same bytes.
//!
//! (a) a 1 GiB file sent with `MsrpSession::send_message` (64 KiB chunks,
//!     16 KiB pieces, every chunk answered 200); the receiver reassembles
//!     it in `Delivery::Messages` mode into a `FileSink` (both files in
//!     the temp directory, so in the page cache). MB/s from
//!     `send_message` to `Completed`, median of 5;
//! (b) a plain TCP copy of the same file over a std::net pair into another
//!     file (64 KiB reads and writes on both ends; no sendfile), MB/s,
//!     median of 5, and the ratio a/b (the median of the ratios of runs
//!     made one right after the other);
//! (c) the round trip of a chat SEND (answered 200) sent every 20 ms
//!     during the transfers of (a), median;
//! (d) peak resident memory (VmHWM from /proc/self/status, Linux only).
//!     Sender and receiver run in this one process, so it covers both
//!     sides;
//! (e) the transport alone, without files: (a) from a generator into a
//!     sink that drops the bytes, against (b) from the same generator to a
//!     reader that drops them;
//! (f) the CPU time (user + system, all threads) each run of (a) and (b)
//!     took, and their ratio: less sensitive than the rates to other work
//!     on the machine.
//!
//! With `MSGWIRE_BENCH_ONE_A=<file>`
//! the bench runs (a) once over that file and prints only its bytes/s: the
//! Python transfer bench (`python/benches/bench_transfer.py`) alternates
//! such runs with its own and reports the median of the paired ratios.
//!
//! Printed only, never asserted: these machines are shared and noisy.

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel as channel;
use msgwire::msrp::endpoint::{
    BindOptions, BoundTransport, DirectAcceptor, DirectConnector, MsrpSession, TransferUpdate,
};
use msgwire::msrp::session::SessionConfig;
use msgwire::msrp::transfer::{Delivery, FileSink, MessageSink, OutgoingMessage, SinkFactory};
use msgwire::msrp::Uri;

const SIZE: u64 = 1 << 30;
const RUNS: usize = 5;
const MB: f64 = 1_000_000.0;

fn main() {
    if let Some(source) = std::env::var_os("MSGWIRE_BENCH_ONE_A") {
        return one_a(PathBuf::from(source));
    }
    let dir = std::env::temp_dir().join(format!("msgwire-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = (dir.join("source.bin"), dir.join("target.bin"));
    io::copy(&mut noise(SIZE), &mut File::create(&files.0).unwrap()).unwrap();

    let mut chat = Vec::new();
    let mut msrp_files = Vec::new();
    let mut raw_files = Vec::new();
    let (mut msrp_cpu, mut raw_cpu) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let before = cpu_seconds();
        let (rate, rtts) = msrp_run(Some(&files));
        let between = cpu_seconds();
        msrp_files.push(rate);
        chat.extend(rtts);
        // A fresh target each run, as the Python bench does.
        let _ = std::fs::remove_file(&files.1);
        let between2 = cpu_seconds();
        raw_files.push(raw_run(Some(&files)));
        let after = cpu_seconds();
        let _ = std::fs::remove_file(&files.1);
        if let (Some(a), Some(b), Some(c), Some(d)) = (before, between, between2, after) {
            msrp_cpu.push(b - a);
            raw_cpu.push(d - c);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut msrp_mem = Vec::new();
    let mut raw_mem = Vec::new();
    for _ in 0..RUNS {
        msrp_mem.push(msrp_run(None).0);
        raw_mem.push(raw_run(None));
    }
    chat.sort();
    // Each MSRP run is paired with the TCP run right after it: the median
    // of the pairs' ratios is steadier on a shared machine than the ratio
    // of two medians taken minutes apart.
    let ratio = paired_ratio(&msrp_files, &raw_files);
    let e_ratio = paired_ratio(&msrp_mem, &raw_mem);
    let (a, b) = (median(msrp_files), median(raw_files));
    let (e_msrp, e_raw) = (median(msrp_mem), median(raw_mem));

    println!("msrp transfer benchmark (1 GiB, TCP on 127.0.0.1, medians of {RUNS})");
    println!("  (a) send_message, file -> FileSink  {:>8.0} MB/s", a / MB);
    println!(
        "  (b) plain TCP copy, file -> file    {:>8.0} MB/s   (ratio a/b {:.2}, median of paired runs)",
        b / MB,
        ratio
    );
    match chat.get(chat.len() / 2) {
        Some(rtt) => println!(
            "  (c) chat RTT during transfer        {:>8.2} ms     ({} samples)",
            rtt.as_secs_f64() * 1e3,
            chat.len()
        ),
        None => println!("  (c) chat RTT during transfer        no samples"),
    }
    if !msrp_cpu.is_empty() {
        let (m, r) = (median(msrp_cpu.clone()), median(raw_cpu.clone()));
        println!(
            "  (f) CPU per 1 GiB, file -> file     msrp {m:.2} s, TCP {r:.2} s (user+sys, both \
             sides; msrp/TCP {:.2}, median of paired runs; steadier than (a)/(b) on a busy \
             machine)",
            paired_ratio(&msrp_cpu, &raw_cpu)
        );
    }
    match peak_rss_kib() {
        Some(kib) => println!(
            "  (d) peak RSS, both sides            {:>8.1} MiB   (one process: sender + receiver)",
            kib as f64 / 1024.0
        ),
        None => println!("  (d) peak RSS                        n/a"),
    }
    println!(
        "  (e) no files: msrp {:.0} MB/s, TCP {:.0} MB/s (ratio {:.2})",
        e_msrp / MB,
        e_raw / MB,
        e_ratio
    );
}

/// One run of (a) over an existing `source` file (the target beside it,
/// removed afterwards), printing only its rate in bytes/s: the Python
/// transfer bench alternates these runs with its own, so that each of its
/// figures has a Rust figure taken right before it.
fn one_a(source: PathBuf) {
    let target = source.with_extension("rust-target");
    let files = (source, target);
    let (rate, _) = msrp_run(Some(&files));
    let _ = std::fs::remove_file(&files.1);
    println!("{rate:.0}");
}

/// The median of `a[i] / b[i]`.
fn paired_ratio(a: &[f64], b: &[f64]) -> f64 {
    median(a.iter().zip(b).map(|(x, y)| x / y).collect())
}

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn noise(len: u64) -> Noise {
    Noise {
        state: 0x9e37_79b9_7f4a_7c15,
        left: len,
    }
}

/// Deterministic pseudo-random bytes (xorshift64*), `left` of them.
struct Noise {
    state: u64,
    left: u64,
}

impl Read for Noise {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let w = self.state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// A sink that keeps nothing.
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

fn bind_pair() -> (BoundTransport, BoundTransport) {
    let mut acceptor = DirectAcceptor::new(BindOptions::default());
    let acceptor_path = acceptor
        .prepare(Some(Uri::new("127.0.0.1", Some(0), None)))
        .unwrap();
    let mut connector = DirectConnector::new(BindOptions::default());
    let connector_path = connector.prepare(None);
    let passive = thread::spawn(move || acceptor.complete(&connector_path));
    let active = connector.complete(&acceptor_path).unwrap();
    (active, passive.join().unwrap().unwrap())
}

/// One 1 GiB transfer: its rate in bytes/s and the chat RTTs seen during it.
/// With `files` (source, target), from the source file into a `FileSink`
/// on the target path; else from the generator into a sink that drops.
fn msrp_run(files: Option<&(PathBuf, PathBuf)>) -> (f64, Vec<Duration>) {
    let (a, b) = bind_pair();
    let target = files.map(|(_, target)| target.clone());
    let receiver = SessionConfig {
        delivery: Delivery::Messages,
        max_message_size: u64::MAX,
        // The big message is dropped as it arrives; chat stays in memory.
        sink_factory: Some(SinkFactory::new(move |head| {
            Ok(match (head.total, &target) {
                (Some(n), _) if n < 1 << 20 => None,
                (_, Some(path)) => Some(Box::new(FileSink::create(path)?) as Box<dyn MessageSink>),
                (_, None) => Some(Box::new(Discard) as Box<dyn MessageSink>),
            })
        })),
        ..SessionConfig::default()
    };
    let alice = MsrpSession::start(a, SessionConfig::default(), |_| {}).unwrap();
    let bob = MsrpSession::start(b, receiver, |_| {}).unwrap();
    let (done_tx, done_rx) = channel::bounded(1);
    let msg = match files {
        Some((source, _)) => OutgoingMessage::from_reader(File::open(source).unwrap(), Some(SIZE)),
        None => OutgoingMessage::from_reader(noise(SIZE), Some(SIZE)),
    }
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
    let alice = Arc::new(alice);
    let mut rtts = Vec::new();
    let outcome = loop {
        match done_rx.recv_timeout(Duration::from_millis(20)) {
            Ok(outcome) => break outcome,
            Err(channel::RecvTimeoutError::Timeout) => {
                let chat = alice.make_message("ping during the transfer", "text/plain", None);
                let sent = Instant::now();
                alice.deliver_chunk(chat).unwrap();
                rtts.push(sent.elapsed());
            }
            Err(e) => panic!("{e}"),
        }
    };
    let elapsed = started.elapsed();
    assert_eq!(outcome, TransferUpdate::Completed, "the transfer failed");
    alice.shutdown(true);
    bob.shutdown(true);
    (SIZE as f64 / elapsed.as_secs_f64(), rtts)
}

/// The same bytes over a plain TCP pair, bytes/s: with `files` (source,
/// target), read from the source file and written to the target file, 64
/// KiB at a time on both ends; else from the generator to a reader that
/// drops them.
fn raw_run(files: Option<&(PathBuf, PathBuf)>) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let target = files.map(|(_, t)| File::create(t).unwrap());
    let reader = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut target = target;
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                return total;
            }
            if let Some(t) = target.as_mut() {
                t.write_all(&buf[..n]).unwrap();
            }
            total += n as u64;
        }
    });
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    let mut src: Box<dyn Read> = match files {
        Some((source, _)) => Box::new(File::open(source).unwrap()),
        None => Box::new(noise(SIZE)),
    };
    // A plain loop, not `io::copy`: that would splice file to socket in
    // the kernel, which no message protocol can do.
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = src.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        s.write_all(&buf[..n]).unwrap();
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let got = reader.join().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(got, SIZE);
    SIZE as f64 / elapsed.as_secs_f64()
}

/// CPU time (user + system) of this process so far, in seconds, from
/// /proc/self/stat (Linux; clock ticks of 10 ms).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): state is the
    // first, utime the 12th and stime the 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// VmHWM in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
