//! Ministreaming benchmark (`cargo bench -p msgwire --bench ministream`),
//! two TCP managers on 127.0.0.1:
//!
//! (a) one stream's bulk throughput: 256 MiB written in 1 MiB writes
//!     (32 KiB frames, the default) and read to the end, MB/s; and a plain
//!     std::net TCP copy of the same bytes with the same buffer sizes;
//!     each a median of 5, plus the median of the 5 paired ratios; then
//!     the same stream to a manager whose `buffer_size` is 1 MiB instead
//!     of the default 64 KiB (the receiving side's buffer decides how
//!     often its reader thread and the application hand over);
//! (b) 1,000 streams opened (without waiting for each ACK), used for 1 KiB
//!     each and closed, while the other side accepts and reads each to its
//!     end: streams per second from the first open to the last end of
//!     stream; median of 5.
//!
//! Figures (a) and (b) are also written to `$MSGWIRE_BENCH_DIR/ministream_a`
//! and `ministream_b` (when set). With `MSGWIRE_BENCH_ONE_A` set, only one
//! run of (a) is made and its bytes per second printed as the last word:
//! the Python benchmark runs it before each of its own runs of (a) and
//! reports the median of the paired ratios. Printed only, never asserted:
//! these machines are shared and noisy.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use msgwire::ministream::{ManagerConfig, SocketManager, SocketOptions};

const TOTAL: usize = 256 << 20;
const WRITE: usize = 1 << 20;
const STREAMS: usize = 1000;
const PER_STREAM: usize = 1024;
const RUNS: usize = 5;
const MB: f64 = 1_000_000.0;

fn main() {
    let a = SocketManager::listen_tcp("127.0.0.1:0", ManagerConfig::default()).unwrap();
    let b = SocketManager::listen_tcp("127.0.0.1:0", ManagerConfig::default()).unwrap();
    let mut big_buffers = ManagerConfig::default();
    big_buffers.options.buffer_size = 1 << 20;
    let c = SocketManager::listen_tcp("127.0.0.1:0", big_buffers).unwrap();
    let server_c = c.server_socket().unwrap();
    let server = b.server_socket().unwrap();
    let block = vec![0x5a_u8; WRITE];
    if std::env::var_os("MSGWIRE_BENCH_ONE_A").is_some() {
        println!(
            "ministream (a), one run, bytes/s: {:.0}",
            bulk(&a, &b, &server, &block)
        );
        return;
    }

    let mut ms = Vec::new();
    let mut raw = Vec::new();
    let mut ratios = Vec::new();
    let mut big = Vec::new();
    let mut big_ratios = Vec::new();
    for _ in 0..RUNS {
        let m = bulk(&a, &b, &server, &block);
        let r = raw_copy(&block);
        let m1 = bulk(&a, &c, &server_c, &block);
        ms.push(m);
        raw.push(r);
        ratios.push(m / r);
        big.push(m1);
        big_ratios.push(m1 / r);
    }
    let streams: Vec<f64> = (0..RUNS).map(|_| many(&a, &b, &server)).collect();
    let (m, r, ratio, s) = (median(ms), median(raw), median(ratios), median(streams));
    println!("ministream benchmark (two TCP managers on 127.0.0.1, medians of {RUNS})");
    println!(
        "  (a) one stream, 256 MiB, 32 KiB frames  {:>10.0} MB/s",
        m / MB
    );
    println!(
        "      plain TCP copy of the same bytes     {:>10.0} MB/s   (ratio {ratio:.2}, target >= 0.8)",
        r / MB
    );
    println!(
        "      same with buffer_size = 1 MiB        {:>10.0} MB/s   (ratio {:.2})",
        median(big) / MB,
        median(big_ratios)
    );
    println!("  (b) 1,000 streams of 1 KiB             {s:>10.0} streams/s (target >= 20,000)");
    if let Some(dir) = std::env::var_os("MSGWIRE_BENCH_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ministream_a"), format!("{m:.0}\n")).unwrap();
        std::fs::write(dir.join("ministream_b"), format!("{s:.0}\n")).unwrap();
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Bytes per second through one stream.
fn bulk(
    a: &SocketManager,
    b: &SocketManager,
    server: &msgwire::ministream::ServerSocket,
    block: &[u8],
) -> f64 {
    let server = server.clone();
    let reader = thread::spawn(move || {
        let mut s = server.accept(None).unwrap();
        let mut buf = vec![0u8; WRITE];
        let mut n = 0;
        loop {
            let k = s.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            n += k;
        }
        (n, Instant::now())
    });
    let started = Instant::now();
    let mut s = a
        .connect(b.destination(), &SocketOptions::default())
        .unwrap();
    for _ in 0..TOTAL / WRITE {
        s.write_all(block).unwrap();
    }
    s.close();
    let (n, ended) = reader.join().unwrap();
    assert_eq!(n, TOTAL);
    TOTAL as f64 / (ended - started).as_secs_f64()
}

/// Bytes per second through a plain TCP connection, same sizes.
fn raw_copy(block: &[u8]) -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let reader = thread::spawn(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; WRITE];
        let mut n = 0;
        loop {
            let k = tcp.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            n += k;
        }
        (n, Instant::now())
    });
    let started = Instant::now();
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    for _ in 0..TOTAL / WRITE {
        tcp.write_all(block).unwrap();
    }
    drop(tcp);
    let (n, ended) = reader.join().unwrap();
    assert_eq!(n, TOTAL);
    TOTAL as f64 / (ended - started).as_secs_f64()
}

/// Streams per second: opened, written 1 KiB, closed; accepted and read
/// to the end on the other side.
fn many(a: &SocketManager, b: &SocketManager, server: &msgwire::ministream::ServerSocket) -> f64 {
    // One thread accepts, another reads each accepted stream to its end,
    // so acceptances are not held up by reads.
    let server = server.clone();
    let (tx, rx) = crossbeam_channel::unbounded();
    let acceptor = thread::spawn(move || {
        for _ in 0..STREAMS {
            tx.send(server.accept(None).unwrap()).unwrap();
        }
    });
    let reader = thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        for mut s in rx {
            let mut n = 0;
            loop {
                let k = s.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            assert_eq!(n, PER_STREAM);
        }
        Instant::now()
    });
    let data = [0x42_u8; PER_STREAM];
    let options = SocketOptions::default();
    let started = Instant::now();
    for _ in 0..STREAMS {
        let s = a.open(b.destination(), &options).unwrap();
        (&s).write_all(&data).unwrap();
        s.close();
    }
    acceptor.join().unwrap();
    let ended = reader.join().unwrap();
    STREAMS as f64 / (ended - started).as_secs_f64()
}
