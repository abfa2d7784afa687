//! serverResponse benchmark (`cargo bench -p msgwire --bench
//! serverresponse`), everything on 127.0.0.1 in one process:
//!
//! (a) `GET /status.xml` requests per second against our server, a
//!     connection per request (connect, send, read to end-of-file, close),
//!     from a Rust load generator of 8 client threads;
//! (b) the same load against a plain Rust TCP server (accept loop and the
//!     same number of worker threads) that answers every request with the
//!     fixed bytes of a status reply, and the ratio a/b;
//! (c) parse throughput of a 1 MiB table document (`parse`, building the
//!     whole `Response`), MB/s;
//! (e) the zero-copy view (`events`) over the same bytes, every id and
//!     value looked at, nothing built, MB/s;
//! (d) quick-xml's bare event loop over the same bytes, MB/s, and the
//!     ratios c/d and e/d.
//!
//! The bare loop (d) is the least a serverResponse parser built on
//! quick-xml must do, configured as ours is: a `Reader` over the byte
//! slice with `trim_text(true)`, every event read, and for every start
//! tag every attribute's key and raw value looked at (attribute iteration
//! without quick-xml's duplicate check, as ours). It checks nothing else:
//! no UTF-8, no entity decoding, no structure. Our parser does all of
//! that on top, so a ratio of 1 would mean its rules cost nothing.
//!
//! (a) and (b) run alternately, 1.5 s each, 5 times; (c), (e) and (d)
//! likewise; the medians and the ratios of the medians are printed.
//! Printed only, never asserted: these machines are shared and noisy.
//! `MSGWIRE_BENCH_SR=parse` runs (c), (e) and (d) only;
//! `MSGWIRE_BENCH_SR=count-parse` (`count-view`, `count-bare`) runs one of
//! them over the document (300 times, or `MSGWIRE_BENCH_SR_TIMES`) and
//! nothing else, for instruction counts (`perf stat -e instructions`, or
//! `valgrind --tool=cachegrind` where the machine has no counters), which
//! a busy machine does not disturb as it does wall-clock time.

use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use msgwire::serverresponse::{events, parse, EventRef, Server, ServerConfig, Writer};
use quick_xml::events::Event;
use quick_xml::Reader;

const RUNS: usize = 5;
const CLIENTS: usize = 8;
const WORKERS: usize = 16;
const ROUND: Duration = Duration::from_millis(1500);
const MB: f64 = 1_000_000.0;

fn main() {
    let only = std::env::var("MSGWIRE_BENCH_SR").unwrap_or_default();
    if only == "parse" {
        parse_figures();
        return;
    }
    if let Some(which) = only.strip_prefix("count-") {
        let doc = table_document(1 << 20);
        let f: fn(&[u8]) = match which {
            "parse" => |bytes| {
                black_box(parse(bytes).unwrap());
            },
            "view" => view_events,
            "bare" => bare_events,
            other => panic!("MSGWIRE_BENCH_SR=count-{other}: parse, view or bare"),
        };
        let times: usize = std::env::var("MSGWIRE_BENCH_SR_TIMES")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(300);
        for _ in 0..times {
            f(&doc);
        }
        return;
    }
    let ours = Server::bind(
        "127.0.0.1:0",
        ServerConfig {
            workers: WORKERS,
            ..ServerConfig::default()
        },
    )
    .unwrap();
    let ours_addr = ours.local_addr();
    // The fixed reply is what our server sends for the same request, so
    // both move the same bytes.
    let reply = fetch_raw(ours_addr);
    let fixed = FixedServer::start(reply.clone());

    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..RUNS {
        a.push(load(ours_addr));
        b.push(load(fixed.addr));
    }
    let (a, b) = (median(a), median(b));

    println!(
        "serverresponse benchmark (127.0.0.1, {CLIENTS} client threads, {WORKERS} workers, \
         medians of {RUNS})"
    );
    println!(
        "  (a) GET /status.xml, connection per request   {a:>9.0} requests/s ({} byte replies)",
        reply.len()
    );
    println!(
        "  (b) plain TCP server, fixed reply             {b:>9.0} requests/s   (ratio a/b {:.2})",
        a / b
    );
    fixed.stop();
    ours.shutdown();
    parse_figures();
}

/// (c), (e) and (d).
fn parse_figures() {
    let doc = table_document(1 << 20);
    let mut c = Vec::new();
    let mut d = Vec::new();
    let mut e = Vec::new();
    for _ in 0..RUNS {
        c.push(throughput(&doc, |bytes| {
            black_box(parse(bytes).unwrap());
        }));
        e.push(throughput(&doc, view_events));
        d.push(throughput(&doc, bare_events));
    }
    let (c, d, e) = (median(c), median(d), median(e));
    println!(
        "  (c) parse a {:.1} MiB table into a Response     {:>9.0} MB/s",
        doc.len() as f64 / (1 << 20) as f64,
        c / MB
    );
    println!(
        "  (e) zero-copy view (events), same bytes       {:>9.0} MB/s",
        e / MB
    );
    println!(
        "  (d) quick-xml bare event loop, same bytes     {:>9.0} MB/s   (ratio c/d {:.2}, e/d {:.2})",
        d / MB,
        c / d,
        e / d
    );
}

/// One request's raw reply.
fn fetch_raw(addr: SocketAddr) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(REQUEST).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    out
}

const REQUEST: &[u8] = b"GET /status.xml HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";

/// Requests per second from CLIENTS threads for one ROUND.
fn load(addr: SocketAddr) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let stop = stop.clone();
            let done = done.clone();
            thread::spawn(move || {
                let mut buf = vec![0u8; 16 * 1024];
                while !stop.load(Ordering::Relaxed) {
                    let Ok(mut s) = TcpStream::connect(addr) else {
                        continue;
                    };
                    let _ = s.set_nodelay(true);
                    if s.write_all(REQUEST).is_err() {
                        continue;
                    }
                    let mut got = 0;
                    loop {
                        match s.read(&mut buf) {
                            Ok(0) => break,
                            Ok(n) => got += n,
                            Err(_) => {
                                got = 0;
                                break;
                            }
                        }
                    }
                    if got > 0 {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    thread::sleep(ROUND);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

/// The baseline: accept, read the request head, write fixed bytes, close.
struct FixedServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl FixedServer {
    fn start(reply: Vec<u8>) -> FixedServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = crossbeam_channel::unbounded::<TcpStream>();
        let reply = Arc::new(reply);
        let mut threads = Vec::new();
        for _ in 0..WORKERS {
            let rx = rx.clone();
            let reply = reply.clone();
            threads.push(thread::spawn(move || {
                let mut buf = vec![0u8; 8192];
                for mut s in rx {
                    let _ = s.set_nodelay(true);
                    let mut len = 0;
                    while !buf[..len].windows(4).any(|w| w == b"\r\n\r\n") && len < buf.len() {
                        match s.read(&mut buf[len..]) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => len += n,
                        }
                    }
                    let _ = s.write_all(&reply);
                    let _ = s.shutdown(Shutdown::Write);
                }
            }));
        }
        let flag = stop.clone();
        threads.push(thread::spawn(move || {
            for s in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(s) = s {
                    let _ = tx.send(s);
                }
            }
        }));
        FixedServer {
            addr,
            stop,
            threads,
        }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// A table document of at least `size` bytes, written by our writer.
fn table_document(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 4096);
    let mut w = Writer::new(&mut out, "msgwire", "registrations");
    w.result("count", "many").unwrap();
    w.begin_lists("registrations").unwrap();
    let mut i = 0u64;
    while w.get_mut().len() < size {
        w.begin_row("registration").unwrap();
        w.item("driver", if i % 2 == 0 { "sip" } else { "h323" })
            .unwrap();
        w.item("server", &format!("192.168.{}.{}", i / 256 % 256, i % 256))
            .unwrap();
        w.item("userid", &i.to_string()).unwrap();
        w.item("access", "friend & family").unwrap();
        w.item("status", "active").unwrap();
        i += 1;
    }
    w.finish().unwrap();
    out
}

/// The baseline (d): see the module docs.
#[inline(never)]
fn bare_events(bytes: &[u8]) {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut n = 0u64;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e) | Event::Empty(e)) => {
                let mut attrs = e.attributes();
                attrs.with_checks(false);
                for a in attrs {
                    let a = a.unwrap();
                    black_box((a.key.as_ref(), &*a.value));
                }
                n += 1;
            }
            Ok(e) => {
                black_box(&e);
                n += 1;
            }
            Err(e) => panic!("{e}"),
        }
    }
    black_box(n);
}

/// (e): every event of the view, every id and value looked at.
#[inline(never)]
fn view_events(bytes: &[u8]) {
    let mut n = 0usize;
    for ev in events(bytes) {
        match ev.unwrap() {
            EventRef::Result(f) | EventRef::Item(f) | EventRef::Fault(f) => {
                n += f.id.len() + f.value.len();
            }
            EventRef::BeginLists(id) | EventRef::BeginRow(id) => n += id.len(),
            ev => {
                black_box(&ev);
            }
        }
    }
    black_box(n);
}

/// Bytes per second of `f` over `doc`, for one ROUND.
fn throughput(doc: &[u8], f: impl Fn(&[u8])) -> f64 {
    let start = Instant::now();
    let mut bytes = 0usize;
    while start.elapsed() < ROUND {
        f(doc);
        bytes += doc.len();
    }
    bytes as f64 / start.elapsed().as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}
