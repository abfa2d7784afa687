//! Transfer benchmark (`cargo bench -p msgwire --bench msrp_transfer`): one
//! large message over an MSRP session on 127.0.0.1, against a plain TCP
//! copy of the same bytes.
//!
//! (a) 1 GiB sent with `MsrpSession::send_message` (64 KiB chunks, 16 KiB
//!     pieces, every chunk answered 200) from a deterministic generator
//!     (not a file: the disk stays out of the figure); the receiver
//!     reassembles it in `Delivery::Messages` mode into a sink that counts
//!     and drops the bytes. MB/s from `send_message` to `Completed`,
//!     median of 3;
//! (b) the same bytes written by `io::copy` over a std::net TCP pair and
//!     read to the end, MB/s, median of 3, and the ratio a/b;
//! (c) the round trip of a chat SEND (answered 200) sent every 20 ms
//!     during the transfers of (a), median;
//! (d) peak resident memory (VmHWM from /proc/self/status, Linux only).
//!     Sender and receiver run in this one process, so it covers both
//!     sides (and the generator's buffers);
//! (e) as (a), but from a 1 GiB file into a `FileSink` (both in the temp
//!     directory): the work `python/benches/bench_transfer.py` does from
//!     Python, so that its figure can be compared with this one.
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
const RUNS: usize = 3;
const MB: f64 = 1_000_000.0;

fn main() {
    let mut msrp = Vec::new();
    let mut chat = Vec::new();
    for _ in 0..RUNS {
        let (rate, rtts) = msrp_run(None);
        msrp.push(rate);
        chat.extend(rtts);
    }
    let mut raw: Vec<f64> = (0..RUNS).map(|_| raw_run()).collect();
    msrp.sort_by(f64::total_cmp);
    raw.sort_by(f64::total_cmp);
    chat.sort();
    let (a, b) = (msrp[RUNS / 2], raw[RUNS / 2]);
    println!("msrp transfer benchmark (1 GiB, TCP on 127.0.0.1, medians of {RUNS})");
    println!("  (a) send_message 1 GiB          {:>8.0} MB/s", a / MB);
    println!(
        "  (b) plain TCP copy 1 GiB        {:>8.0} MB/s   (ratio a/b {:.2})",
        b / MB,
        a / b
    );
    match chat.get(chat.len() / 2) {
        Some(rtt) => println!(
            "  (c) chat RTT during transfer    {:>8.2} ms     ({} samples)",
            rtt.as_secs_f64() * 1e3,
            chat.len()
        ),
        None => println!("  (c) chat RTT during transfer    no samples"),
    }
    match peak_rss_kib() {
        Some(kib) => println!(
            "  (d) peak RSS, both sides        {:>8.1} MiB   (one process: sender + receiver)",
            kib as f64 / 1024.0
        ),
        None => println!("  (d) peak RSS                    n/a"),
    }
    let dir = std::env::temp_dir().join(format!("msgwire-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let files = (dir.join("source.bin"), dir.join("target.bin"));
    io::copy(
        &mut Noise {
            state: 0x2545_f491_4f6c_dd1d,
            left: SIZE,
        },
        &mut File::create(&files.0).unwrap(),
    )
    .unwrap();
    let mut with_files: Vec<f64> = (0..RUNS)
        .map(|_| {
            let rate = msrp_run(Some(&files)).0;
            // A fresh target each run, as the Python bench does.
            let _ = std::fs::remove_file(&files.1);
            rate
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    with_files.sort_by(f64::total_cmp);
    println!(
        "  (e) file -> FileSink 1 GiB      {:>8.0} MB/s   (the Python bench's work)",
        with_files[RUNS / 2] / MB
    );
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
        None => OutgoingMessage::from_reader(
            Noise {
                state: 0x9e37_79b9_7f4a_7c15,
                left: SIZE,
            },
            Some(SIZE),
        ),
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

/// The same bytes over a plain TCP pair; bytes/s.
fn raw_run() -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0u64;
        loop {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                return total;
            }
            total += n as u64;
        }
    });
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    let mut src = Noise {
        state: 0x9e37_79b9_7f4a_7c15,
        left: SIZE,
    };
    io::copy(&mut src, &mut s).unwrap();
    s.flush().unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let got = reader.join().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(got, SIZE);
    SIZE as f64 / elapsed.as_secs_f64()
}

/// VmHWM in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
