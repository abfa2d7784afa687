//! STS benchmark (`cargo bench -p msgwire --bench sts`), one client
//! connection to a server on 127.0.0.1:
//!
//! (a) request round trips per second with 64 requests in flight
//!     (`request_many`, a window of 64: a new request as each reply
//!     arrives), 200,000 requests of a small XML body answered by an echo
//!     route; median of 5;
//! (b) a 64 MiB reply sent as 1,024 fragments of 64 KiB and reassembled,
//!     MB/s from the request to the whole content; median of 5;
//! (c) a plain std::net TCP copy of 64 MiB over loopback, MB/s, median of
//!     5, and the ratio b/c.
//!
//! Printed only, never asserted: these machines are shared and noisy.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use bytes::Bytes;
use msgwire::sts::client::{ClientConfig, StsClient};
use msgwire::sts::header::Headers;
use msgwire::sts::peer::ReplyItem;
use msgwire::sts::server::{ServerConfig, StsServer};

const REQUESTS: usize = 200_000;
const WINDOW: usize = 64;
const BIG: usize = 64 << 20;
const RUNS: usize = 5;
const MB: f64 = 1_000_000.0;

fn main() {
    let server = StsServer::bind("127.0.0.1:0", ServerConfig::default()).unwrap();
    server.route("Bench", "Echo", |req| {
        if let Some(r) = req.responder {
            let _ = r.reply(Headers::new(), req.message.body.clone());
        }
    });
    let big = Bytes::from(vec![0x5a; BIG]);
    server.route("Bench", "Big", move |req| {
        let mut h = Headers::new();
        h.set("Content-Type", "application/octet-stream");
        if let Some(r) = req.responder {
            let _ = r.reply(h, big.clone());
        }
    });
    let client = StsClient::connect(server.local_addr(), ClientConfig::default()).unwrap();

    let rps = median((0..RUNS).map(|_| round_trips(&client)).collect());
    let frag = median((0..RUNS).map(|_| fragmented(&client)).collect());
    let raw = median((0..RUNS).map(|_| raw_copy()).collect());
    println!("sts benchmark (one connection, TCP on 127.0.0.1, medians of {RUNS})");
    println!("  (a) request round trips, 64 in flight  {rps:>10.0} requests/s");
    println!(
        "  (b) 64 MiB fragmented reply            {:>10.0} MB/s",
        frag / MB
    );
    println!(
        "  (c) plain TCP copy of 64 MiB           {:>10.0} MB/s   (ratio b/c {:.2})",
        raw / MB,
        frag / raw
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Requests per second with a window of [`WINDOW`] in flight.
fn round_trips(client: &StsClient) -> f64 {
    let started = Instant::now();
    let mut window = VecDeque::with_capacity(WINDOW);
    let mut sent = 0;
    let mut done = 0;
    while done < REQUESTS {
        while sent < REQUESTS && window.len() < WINDOW {
            window.push_back(
                client
                    .request_many("Bench", "Echo", Headers::new(), "<Ping/>", None)
                    .unwrap(),
            );
            sent += 1;
        }
        let mut replies = window.pop_front().unwrap();
        match replies.next() {
            Some(ReplyItem::Reply { is_final: true, .. }) => done += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    REQUESTS as f64 / started.elapsed().as_secs_f64()
}

/// Bytes per second of one 64 MiB fragmented reply.
fn fragmented(client: &StsClient) -> f64 {
    let started = Instant::now();
    let reply = client
        .request_one("Bench", "Big", Headers::new(), "", None)
        .unwrap();
    let elapsed = started.elapsed();
    assert_eq!(reply.body.len(), BIG);
    BIG as f64 / elapsed.as_secs_f64()
}

/// Bytes per second of a plain TCP copy of [`BIG`] bytes.
fn raw_copy() -> f64 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let data = vec![0x5a; BIG];
    let started = Instant::now();
    let writer = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for piece in data.chunks(64 * 1024) {
            s.write_all(piece).unwrap();
        }
    });
    let mut s = TcpStream::connect(addr).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::with_capacity(BIG);
    loop {
        let n = s.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    writer.join().unwrap();
    assert_eq!(got.len(), BIG);
    BIG as f64 / started.elapsed().as_secs_f64()
}
