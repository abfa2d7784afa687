//! `make bench`, session part: one MSRP session over TCP on 127.0.0.1.
//!
//! (a) 100,000 chat SENDs of 100 bytes, each answered 200, at most 64
//!     outstanding: messages/s, median of several runs;
//! (b) the same number of 100-byte writes over a plain TCP socket pair with
//!     std::net (no protocol), for a same-run ratio;
//! (c) the time to bind a session (prepare + complete, both sides), median.
//!
//! Printed only, never asserted: these machines are shared and noisy.
//!
//! `cargo bench -p msgwire --bench msrp_session -- session` runs only (a),
//! for profiling (`perf record` on the binary in target/release/deps).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Instant;

use msgwire::msrp::endpoint::{
    BindOptions, BoundTransport, DirectAcceptor, DirectConnector, MsrpSession,
};
use msgwire::msrp::session::SessionConfig;
use msgwire::msrp::Uri;

const MESSAGES: usize = 100_000;
const WINDOW: usize = 64;
const RUNS: usize = 5;

fn main() {
    // `-- session`: only the session runs (for profiling).
    if std::env::args().any(|a| a == "session") {
        let mut rates: Vec<f64> = (0..RUNS).map(|_| session_run()).collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "  (a) session only: {:>10.0} msg/s (median)",
            rates[RUNS / 2]
        );
        return;
    }
    let mut rates: Vec<f64> = (0..RUNS).map(|_| session_run()).collect();
    rates.sort_by(f64::total_cmp);
    let mut raw: Vec<f64> = (0..RUNS).map(|_| raw_tcp_run()).collect();
    raw.sort_by(f64::total_cmp);
    let mut binds: Vec<f64> = (0..200).map(|_| bind_once().0).collect();
    binds.sort_by(f64::total_cmp);
    let (a, b) = (rates[RUNS / 2], raw[RUNS / 2]);
    println!("msrp session benchmark (TCP on 127.0.0.1, medians)");
    println!(
        "  (a) 100-byte SEND + 200, {WINDOW} outstanding  {a:>10.0} msg/s   (target >= 150,000)"
    );
    println!(
        "  (b) raw TCP 100-byte writes, echoed         {b:>10.0} msg/s   (ratio a/b {:.2})",
        a / b
    );
    println!(
        "  (c) bind (prepare + complete)                {:>10.3} ms      (legacy ~1.6-2.3 ms)",
        binds[100]
    );
}

fn pair() -> (BoundTransport, BoundTransport) {
    bind_once().1
}

fn bind_once() -> (f64, (BoundTransport, BoundTransport)) {
    let t = Instant::now();
    let mut acceptor = DirectAcceptor::new(BindOptions::default());
    let b_path = acceptor
        .prepare(Some(
            "msrp://127.0.0.1:0/bench-b;tcp".parse::<Uri>().unwrap(),
        ))
        .unwrap();
    let mut connector = DirectConnector::new(BindOptions::default());
    let a_path = connector.prepare(Some("msrp://127.0.0.1/bench-a;tcp".parse::<Uri>().unwrap()));
    let accepting = thread::spawn(move || acceptor.complete(&a_path).unwrap());
    let a = connector.complete(&b_path).unwrap();
    let b = accepting.join().unwrap();
    (t.elapsed().as_secs_f64() * 1e3, (a, b))
}

/// Counts outstanding requests and lets the sender wait for room.
struct Window {
    count: Mutex<usize>,
    room: Condvar,
}

fn session_run() -> f64 {
    let (a, b) = pair();
    let config = SessionConfig {
        keepalive_interval: None,
        automatic_reports: false,
        ..SessionConfig::default()
    };
    let alice = MsrpSession::start(a, config.clone(), |_| {}).unwrap();
    let bob = MsrpSession::start(b, config, |_| {}).unwrap();
    let window = Arc::new(Window {
        count: Mutex::new(0),
        room: Condvar::new(),
    });
    let body = vec![b'x'; 100];
    let t = Instant::now();
    for _ in 0..MESSAGES {
        {
            let mut n = window.count.lock().unwrap();
            while *n >= WINDOW {
                n = window.room.wait(n).unwrap();
            }
            *n += 1;
        }
        let w = Arc::clone(&window);
        let msg = alice.make_message(body.clone(), "text/plain", None);
        alice
            .send_chunk(
                msg,
                Some(Box::new(move |outcome| {
                    assert_eq!(outcome.response.code(), Some(200));
                    *w.count.lock().unwrap() -= 1;
                    w.room.notify_one();
                })),
            )
            .unwrap();
    }
    let mut n = window.count.lock().unwrap();
    while *n > 0 {
        n = window.room.wait(n).unwrap();
    }
    let rate = MESSAGES as f64 / t.elapsed().as_secs_f64();
    drop(n);
    alice.shutdown(true);
    bob.shutdown(true);
    rate
}

/// 100-byte writes echoed back as 30-byte acknowledgements, the same window.
fn raw_tcp_run() -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_nodelay(true).unwrap();
        let mut buf = vec![0u8; 100 * WINDOW];
        let mut pending = 0usize;
        let mut received = 0usize;
        while received < MESSAGES * 100 {
            let n = s.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            received += n;
            pending += n;
            let acks = pending / 100;
            pending %= 100;
            if acks > 0 {
                s.write_all(&vec![b'a'; 30 * acks]).unwrap();
            }
        }
    });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_nodelay(true).unwrap();
    let mut reader = c.try_clone().unwrap();
    // The same window as the session: at most WINDOW messages written and
    // not yet acknowledged.
    let window = Arc::new(Window {
        count: Mutex::new(0),
        room: Condvar::new(),
    });
    let t = Instant::now();
    let acker = {
        let window = Arc::clone(&window);
        thread::spawn(move || {
            let mut buf = vec![0u8; 64 * 1024];
            let mut got = 0usize;
            while got < MESSAGES * 30 {
                let before = got / 30;
                got += reader.read(&mut buf).unwrap();
                let acked = got / 30 - before;
                if acked > 0 {
                    *window.count.lock().unwrap() -= acked;
                    window.room.notify_one();
                }
            }
        })
    };
    let msg = [b'x'; 100];
    for _ in 0..MESSAGES {
        {
            let mut n = window.count.lock().unwrap();
            while *n >= WINDOW {
                n = window.room.wait(n).unwrap();
            }
            *n += 1;
        }
        c.write_all(&msg).unwrap();
    }
    acker.join().unwrap();
    let rate = MESSAGES as f64 / t.elapsed().as_secs_f64();
    server.join().unwrap();
    rate
}
